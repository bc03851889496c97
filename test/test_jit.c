/*
 * test_jit.c - what a JIT needs to drop exactly the code that changed:
 * host->code_written for library writes into executable memory (user copies
 * and file writes that show through a mapping), host->invalidate for
 * translations that change (unmap, mprotect, copy on write).
 */
#include "testutil.h"

struct events {
    int written, invalidated;
    gmm_addr w_start, i_start;
    uint64_t w_len, i_len;
};

static void on_code_written(void *user, gmm_space *s, gmm_addr start, uint64_t len)
{
    struct events *ev = user;
    (void)s;
    ev->written++;
    ev->w_start = start;
    ev->w_len = len;
}

static void on_invalidate(void *user, gmm_space *s, gmm_addr start, uint64_t len)
{
    struct events *ev = user;
    (void)s;
    ev->invalidated++;
    ev->i_start = start;
    ev->i_len = len;
}

static gmm_system *jit_system(struct events *ev)
{
    memset(ev, 0, sizeof(*ev));
    gmm_host host = {.user = ev, .invalidate = on_invalidate, .code_written = on_code_written};
    gmm_system *sys = gmm_system_create(&host);
    assert_non_null(sys);
    return sys;
}

#define RWX (GMM_PROT_READ | GMM_PROT_WRITE | GMM_PROT_EXEC)

static void jit_user_copy_into_code_reports_exactly_the_bytes(void **state)
{
    (void)state;
    struct events ev;
    gmm_system *sys = jit_system(&ev);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    gmm_addr code = (gmm_addr)gmm_sys_mmap(s, 0, 3 * PG, RWX, ANON_PRIV, -1, 0);
    assert_non_null(gmm_translate(s, code, GMM_ACCESS_EXEC));
    /* A syscall (read(2), say) stores 100 bytes across a page boundary. */
    uint8_t buf[100] = {0x90};
    assert_int_equal(gmm_write(s, code + PG - 50, buf, sizeof(buf)), 0);
    assert_int_equal(ev.written, 1);
    assert_int_equal(ev.w_start, code + PG - 50);
    assert_int_equal(ev.w_len, 100);
    /* Reads report nothing. */
    assert_int_equal(gmm_read(s, code, buf, sizeof(buf)), 0);
    assert_int_equal(ev.written, 1);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void jit_user_copy_into_data_reports_nothing(void **state)
{
    (void)state;
    struct events ev;
    gmm_system *sys = jit_system(&ev);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_addr data = (gmm_addr)gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    assert_int_equal(gmm_write(s, data, "x", 1), 0);
    assert_int_equal(ev.written, 0);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void jit_copy_spanning_code_and_data_reports_the_code_part(void **state)
{
    (void)state;
    struct events ev;
    gmm_system *sys = jit_system(&ev);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_addr a = 0x40000000;
    assert_int_equal(gmm_sys_mmap(s, a, 2 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), (int64_t)a);
    assert_int_equal(gmm_sys_mprotect(s, a + PG, PG, RWX), 0);
    uint8_t buf[64] = {0};
    assert_int_equal(gmm_write(s, a + PG - 16, buf, sizeof(buf)), 0);
    assert_int_equal(ev.written, 1);
    assert_int_equal(ev.w_start, a + PG);
    assert_int_equal(ev.w_len, 48);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void jit_unmap_and_mprotect_invalidate_only_their_range(void **state)
{
    (void)state;
    struct events ev;
    gmm_system *sys = jit_system(&ev);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_addr a = 0x40000000;
    assert_int_equal(gmm_sys_mmap(s, a, 4 * PG, RWX, ANON_PRIV | GMM_MAP_FIXED, -1, 0), (int64_t)a);
    ev.invalidated = 0;
    assert_int_equal(gmm_sys_munmap(s, a + PG, PG), 0);
    assert_int_equal(ev.invalidated, 1);
    assert_int_equal(ev.i_start, a + PG);
    assert_int_equal(ev.i_len, PG);
    assert_int_equal(gmm_sys_mprotect(s, a + 2 * PG, PG, GMM_PROT_READ), 0);
    assert_int_equal(ev.i_start, a + 2 * PG);
    assert_int_equal(ev.i_len, PG);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* A JIT's W^X double mapping: one shared page mapped writable at one address
 * and executable at another (mremap with old_size 0 duplicates a shared
 * mapping).  A write through the writable view changes the code. */
static void jit_write_through_a_writable_alias_reports_the_executable_view(void **state)
{
    (void)state;
    struct events ev;
    gmm_system *sys = jit_system(&ev);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_addr rw = (gmm_addr)gmm_sys_mmap(s, 0, 2 * PG, RW, ANON_SHARED, -1, 0);
    int64_t rx = gmm_sys_mremap(s, rw, 0, 2 * PG, GMM_MREMAP_MAYMOVE, 0);
    assert_true(rx > 0 && (gmm_addr)rx != rw);
    assert_int_equal(gmm_sys_mprotect(s, (gmm_addr)rx, 2 * PG, GMM_PROT_READ | GMM_PROT_EXEC), 0);
    assert_int_equal(gmm_write(s, rw + PG + 8, "\xc3\xc3\xc3", 3), 0);
    assert_int_equal(ev.written, 1);
    assert_int_equal(ev.w_start, (gmm_addr)rx + PG + 8);
    assert_int_equal(ev.w_len, 3);
    /* The executable view shows the bytes. */
    uint8_t b[3];
    assert_int_equal(gmm_read(s, (gmm_addr)rx + PG + 8, b, 3), 0);
    assert_memory_equal(b, "\xc3\xc3\xc3", 3);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Shared memory inherited across fork: a write in the parent changes the
 * code the child executes; a private page written after fork does not. */
static void jit_write_to_shared_memory_reports_the_childs_code(void **state)
{
    (void)state;
    struct events ev;
    gmm_system *sys = jit_system(&ev);
    gmm_space *parent = new_space(sys, GMM_ABI_X86_64);
    gmm_addr sh = (gmm_addr)gmm_sys_mmap(parent, 0, PG, RWX, ANON_SHARED, -1, 0);
    gmm_addr pv = (gmm_addr)gmm_sys_mmap(parent, 0, PG, RW, ANON_PRIV, -1, 0);
    assert_int_equal(gmm_write(parent, pv, "p", 1), 0);
    gmm_space *child = gmm_space_fork(parent);
    assert_non_null(child);
    assert_int_equal(gmm_sys_mprotect(parent, sh, PG, RW), 0);
    assert_int_equal(gmm_sys_mprotect(child, pv, PG, RWX), 0);
    ev.written = 0;
    assert_int_equal(gmm_write(parent, sh + 100, "ab", 2), 0);
    assert_int_equal(ev.written, 1);
    assert_int_equal(ev.w_start, sh + 100);
    assert_int_equal(ev.w_len, 2);
    assert_int_equal(gmm_write(parent, pv, "q", 1), 0);
    assert_int_equal(ev.written, 1);
    gmm_space_destroy(child);
    gmm_space_destroy(parent);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jit_user_copy_into_code_reports_exactly_the_bytes),
        cmocka_unit_test(jit_user_copy_into_data_reports_nothing),
        cmocka_unit_test(jit_copy_spanning_code_and_data_reports_the_code_part),
        cmocka_unit_test(jit_unmap_and_mprotect_invalidate_only_their_range),
        cmocka_unit_test(jit_write_through_a_writable_alias_reports_the_executable_view),
        cmocka_unit_test(jit_write_to_shared_memory_reports_the_childs_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
