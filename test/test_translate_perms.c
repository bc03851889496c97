/*
 * test_translate_perms.c - gmm_translate_perms, the translation an emulator
 * caches per page (Unicorn memory regions in examples/unicorn-i386): which
 * accesses the returned page grants, and that host->invalidate withdraws a
 * write grant before the library needs the store to come back (copy on
 * write, fork).
 */
#include "testutil.h"

#define A 0x10000000ull
#define R GMM_ACCESS_READ
#define WR GMM_ACCESS_WRITE
#define X GMM_ACCESS_EXEC

struct inval_log {
    int count;
    gmm_addr start;
    uint64_t len;
};

static void on_invalidate(void *user, gmm_space *s, gmm_addr start, uint64_t len)
{
    (void)s;
    struct inval_log *l = user;
    l->count++;
    l->start = start;
    l->len = len;
}

struct fixture {
    struct inval_log inval;
    gmm_system *sys;
    gmm_space *s;
};

static void setup(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    gmm_host host = {0};
    host.user = &f->inval;
    host.invalidate = on_invalidate;
    f->sys = gmm_system_create(&host);
    assert_non_null(f->sys);
    f->s = gmm_space_create(f->sys, GMM_ABI_I386);
    assert_non_null(f->s);
}

static void teardown(struct fixture *f)
{
    gmm_space_destroy(f->s);
    gmm_system_destroy(f->sys);
}

static void map(struct fixture *f, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(f->s, A, len, prot, flags | GMM_MAP_FIXED, -1, 0);
    assert_int_equal(r, (int64_t)A);
}

static void read_of_untouched_private_page_grants_read_not_write(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    map(&f, 4096, GMM_PROT_READ | GMM_PROT_WRITE, GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS);
    int allowed = -1;
    uint8_t *p = gmm_translate_perms(f.s, A + 5, R, &allowed);
    assert_non_null(p);
    assert_int_equal(*p, 0);
    /* The shared zero frame: a store must come back to allocate. */
    assert_int_equal(allowed, R);
    p = gmm_translate_perms(f.s, A + 5, WR, &allowed);
    assert_non_null(p);
    assert_int_equal(allowed, R | WR);
    *p = 7;
    assert_ptr_equal(gmm_translate(f.s, A + 5, R), p);
    teardown(&f);
}

static void exec_mapping_grants_exec_with_read(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    map(&f, 4096, GMM_PROT_READ | GMM_PROT_EXEC, GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS);
    int allowed = -1;
    assert_non_null(gmm_translate_perms(f.s, A, R, &allowed));
    assert_int_equal(allowed, R | X);
    teardown(&f);
}

static void fault_gives_null_and_no_grant(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    map(&f, 4096, GMM_PROT_READ, GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS);
    int allowed = -1;
    assert_null(gmm_translate_perms(f.s, A, WR, &allowed));
    assert_int_equal(allowed, 0);
    assert_null(gmm_translate_perms(f.s, A + 0x100000, R, &allowed));
    assert_int_equal(allowed, 0);
    /* allowed may be NULL. */
    assert_non_null(gmm_translate_perms(f.s, A, R, NULL));
    teardown(&f);
}

static void fork_withdraws_write_grant_of_parent_through_invalidate(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    map(&f, 2 * 4096, GMM_PROT_READ | GMM_PROT_WRITE, GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS);
    int allowed;
    uint8_t *p = gmm_translate_perms(f.s, A, WR, &allowed);
    assert_int_equal(allowed, R | WR);
    *p = 1;
    f.inval.count = 0;
    gmm_space *child = gmm_space_fork(f.s);
    assert_non_null(child);
    /* The parent's cached write pointer now aims at a frame the child
     * shares: the library must have told the host to drop it. */
    assert_true(f.inval.count >= 1);
    assert_true(f.inval.start <= A && f.inval.start + f.inval.len >= A + 4096);
    assert_ptr_equal(gmm_translate_perms(f.s, A, R, &allowed), p);
    assert_int_equal(allowed, R);
    uint8_t *q = gmm_translate_perms(f.s, A, WR, &allowed);
    assert_int_equal(allowed, R | WR);
    assert_ptr_not_equal(q, p);
    *q = 2;
    uint8_t v = 0;
    assert_int_equal(gmm_read(child, A, &v, 1), 0);
    assert_int_equal(v, 1);
    gmm_space_destroy(child);
    teardown(&f);
}

static void copy_on_write_invalidates_before_new_frame(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    map(&f, 4096, GMM_PROT_READ | GMM_PROT_WRITE, GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS);
    int allowed;
    assert_non_null(gmm_translate_perms(f.s, A, R, &allowed));
    f.inval.count = 0;
    assert_non_null(gmm_translate_perms(f.s, A + 8, WR, &allowed));
    assert_int_equal(f.inval.count, 1);
    assert_int_equal(f.inval.start, A);
    assert_int_equal(f.inval.len, 4096);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_of_untouched_private_page_grants_read_not_write),
        cmocka_unit_test(exec_mapping_grants_exec_with_read),
        cmocka_unit_test(fault_gives_null_and_no_grant),
        cmocka_unit_test(fork_withdraws_write_grant_of_parent_through_invalidate),
        cmocka_unit_test(copy_on_write_invalidates_before_new_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
