/*
 * test_regressions.c - one test per bug the fuzzer (test/fuzz) or the
 * allocation-failure test found, named after the behaviour that broke, with
 * the shortest sequence of calls that showed it.  Most of them only fail
 * visibly under AddressSanitizer (the clang + GMM_SANITIZE configuration).
 */
#include "testutil.h"

/* mremap moving a range whose page table leaf held a single entry: the
 * move cleared the source entry inside the page-table walk, which freed
 * the leaf the walk was reading (heap use after free). */
static void mremap_move_of_a_lone_touched_page(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    int64_t a = gmm_sys_mmap(s, 0, 2 * PG, RW, ANON_PRIV, -1, 0);
    assert_true(a > 0);
    uint8_t v = 0x42, back = 0;
    assert_int_equal(gmm_write(s, (gmm_addr)a, &v, 1), 0);
    gmm_addr to = ((gmm_addr)a - (64ull << 20)) & ~((2ull << 20) - 1);
    int64_t b = gmm_sys_mremap(s, (gmm_addr)a, 2 * PG, 4 * PG,
                               GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED, to);
    assert_int_equal(b, (int64_t)to);
    CHECK(s);
    assert_int_equal(gmm_read(s, to, &back, 1), 0);
    assert_int_equal(back, 0x42);
    assert_int_equal(gmm_read(s, (gmm_addr)a, &back, 1), -GMM_EFAULT);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* fork drops the locks: a region split by mlock comes to the child as two
 * alike regions, which Linux leaves apart (dup_mmap never merges; checked
 * natively).  The checker used to call that a missed merge. */
static void fork_keeps_regions_split_by_mlock_apart(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    int64_t a = gmm_sys_mmap(s, 0, 4 * PG, RW, ANON_PRIV, -1, 0);
    assert_true(a > 0);
    /* Lock on fault: no page comes in, so no anon identity keeps the
     * child's regions apart. */
    assert_int_equal(gmm_sys_mlock2(s, (gmm_addr)a, 2 * PG, GMM_MLOCK_ONFAULT), 0);
    gmm_space *c = gmm_space_fork(s);
    assert_non_null(c);
    char want[256];
    snprintf(want, sizeof(want), "%s%s", anon_line((gmm_addr)a, (gmm_addr)a + 2 * PG, "rw-p"),
             anon_line((gmm_addr)a + 2 * PG, (gmm_addr)a + 4 * PG, "rw-p"));
    ASSERT_MAPS(c, want);
    /* A new mapping just below merges with the lower one and stays apart
     * from the upper one, as on Linux (the merged region kept no mark of
     * that: the checker complained again). */
    assert_int_equal(gmm_sys_mmap(c, (gmm_addr)a - PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                     a - (int64_t)PG);
    snprintf(want, sizeof(want), "%s%s", anon_line((gmm_addr)a - PG, (gmm_addr)a + 2 * PG, "rw-p"),
             anon_line((gmm_addr)a + 2 * PG, (gmm_addr)a + 4 * PG, "rw-p"));
    ASSERT_MAPS(c, want);
    gmm_space_destroy(c);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* brk never extends a region that ends at start_brk, so a heap begun at
 * the end of an earlier one is a region of its own; the checker accepted
 * that only while start_brk stayed there, and a later gmm_space_init_brk
 * made it call the pair a missed merge. */
static void brk_heap_after_a_heap_stays_apart_when_start_brk_moves(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_init_brk(s, 0x10000), 0);
    assert_int_equal(gmm_sys_brk(s, 0x14000), 0x14000);
    assert_int_equal(gmm_space_init_brk(s, 0x14000), 0);
    assert_int_equal(gmm_sys_brk(s, 0x16001), 0x16001);
    char want[256];
    snprintf(want, sizeof(want), "%s%s", anon_line(0x10000, 0x14000, "rw-p"),
             "00014000-00017000 rw-p 00000000 00:00 0                                  [heap]\n");
    ASSERT_MAPS(s, want);
    assert_int_equal(gmm_space_init_brk(s, 0x200000), 0);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mremap_move_of_a_lone_touched_page),
        cmocka_unit_test(fork_keeps_regions_split_by_mlock_apart),
        cmocka_unit_test(brk_heap_after_a_heap_stays_apart_when_start_brk_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
