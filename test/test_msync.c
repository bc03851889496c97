/*
 * test_msync.c - msync(2) (CONFORMANCE.md section 7).
 *
 * Checked on this machine's kernel (x86-64 Linux 6.18) with raw-syscall
 * probes: every flag value from -1 to 16 against mapped, unaligned,
 * unmapped and holed ranges, and MS_INVALIDATE on locked memory.
 */
#include "memfile.h"
#include "mmhelp.h"

static gmm_space *setup(gmm_system **sys)
{
    *sys = new_system(NULL);
    gmm_space *s = new_space(*sys, GMM_ABI_X86_64);
    map_at(s, W, 8 * PG, RW, ANON_PRIV);
    map_at(s, W + 8 * PG, 8 * PG, RW, ANON_SHARED);
    return s;
}

static void teardown(gmm_system *sys, gmm_space *s)
{
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void msync_sync_and_async_together_are_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_msync(s, W, 16 * PG, GMM_MS_SYNC | GMM_MS_ASYNC), -GMM_EINVAL);
    assert_int_equal(gmm_sys_msync(s, W, 16 * PG, GMM_MS_SYNC | GMM_MS_ASYNC | GMM_MS_INVALIDATE),
                     -GMM_EINVAL);
    /* Before the length: even len 0 or an unmapped range. */
    assert_int_equal(gmm_sys_msync(s, 0, 0, GMM_MS_SYNC | GMM_MS_ASYNC), -GMM_EINVAL);
    assert_int_equal(gmm_sys_msync(s, 0, PG, GMM_MS_SYNC | GMM_MS_ASYNC), -GMM_EINVAL);
    teardown(sys, s);
}

static void msync_unknown_flag_bits_are_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    static const int bad[] = {-1, 8, 16, GMM_MS_SYNC | 8};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(gmm_sys_msync(s, W, PG, bad[i]), -GMM_EINVAL);
        assert_int_equal(gmm_sys_msync(s, 0, 0, bad[i]), -GMM_EINVAL);
    }
    teardown(sys, s);
}

static void msync_unaligned_address_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_msync(s, W + 1, PG, GMM_MS_SYNC), -GMM_EINVAL);
    assert_int_equal(gmm_sys_msync(s, W + 1, 0, GMM_MS_ASYNC), -GMM_EINVAL);
    /* Checked before the length: an unaligned huge address too. */
    assert_int_equal(gmm_sys_msync(s, 0x7FFFFFFFFFFFull, PG, 0), -GMM_EINVAL);
    teardown(sys, s);
}

static void msync_zero_length_succeeds_anywhere(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    static const int ok[] = {0, GMM_MS_ASYNC, GMM_MS_SYNC, GMM_MS_INVALIDATE,
                             GMM_MS_ASYNC | GMM_MS_INVALIDATE, GMM_MS_SYNC | GMM_MS_INVALIDATE};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(gmm_sys_msync(s, 0, 0, ok[i]), 0);
    teardown(sys, s);
}

static void msync_unmapped_range_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_msync(s, 0, PG, GMM_MS_SYNC), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_msync(s, W + 16 * PG, PG, GMM_MS_ASYNC), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_msync(s, 0x7FFFFFFFF000ull, PG, GMM_MS_SYNC), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_msync(s, W, 1ull << 60, GMM_MS_SYNC), -GMM_ENOMEM);
    /* A hole first: ENOMEM too. */
    assert_int_equal(gmm_sys_msync(s, W - PG, 2 * PG, GMM_MS_SYNC), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_msync(s, W - PG, 2 * PG, 0), -GMM_ENOMEM);
    teardown(sys, s);
}

static void msync_range_with_hole_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_munmap(s, W + 4 * PG, PG), 0);
    static const int flags[] = {0, GMM_MS_ASYNC, GMM_MS_SYNC, GMM_MS_INVALIDATE};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        assert_int_equal(gmm_sys_msync(s, W, 16 * PG, flags[i]), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_msync(s, W, 4 * PG, GMM_MS_SYNC), 0);
    teardown(sys, s);
}

static void msync_any_mapping_and_flags_succeed(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W + 16 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    map_at(s, W + 17 * PG, PG, GMM_PROT_NONE, ANON_SHARED);
    static const int ok[] = {0, GMM_MS_ASYNC, GMM_MS_SYNC, GMM_MS_INVALIDATE,
                             GMM_MS_ASYNC | GMM_MS_INVALIDATE, GMM_MS_SYNC | GMM_MS_INVALIDATE};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(gmm_sys_msync(s, W, 18 * PG, ok[i]), 0);
    teardown(sys, s);
}

static void msync_unaligned_length_is_rounded_up(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_msync(s, W, PG - 1, GMM_MS_SYNC), 0);
    assert_int_equal(gmm_sys_msync(s, W + 15 * PG, PG + 1, GMM_MS_SYNC), -GMM_ENOMEM);
    /* A length whose rounding wraps is 0. */
    assert_int_equal(gmm_sys_msync(s, W, UINT64_MAX, GMM_MS_SYNC), 0);
    teardown(sys, s);
}

static void msync_invalidate_on_locked_memory_is_ebusy(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_mlock(s, W + 8 * PG, PG), 0);
    assert_int_equal(gmm_sys_msync(s, W + 8 * PG, PG, GMM_MS_INVALIDATE), -GMM_EBUSY);
    assert_int_equal(gmm_sys_msync(s, W + 8 * PG, PG, GMM_MS_INVALIDATE | GMM_MS_ASYNC), -GMM_EBUSY);
    assert_int_equal(gmm_sys_msync(s, W + 8 * PG, PG, GMM_MS_INVALIDATE | GMM_MS_SYNC), -GMM_EBUSY);
    assert_int_equal(gmm_sys_msync(s, W + 8 * PG, PG, GMM_MS_SYNC), 0);
    /* EBUSY wins over a hole before the locked region. */
    assert_int_equal(gmm_sys_munmap(s, W + 4 * PG, PG), 0);
    assert_int_equal(gmm_sys_msync(s, W, 16 * PG, GMM_MS_INVALIDATE), -GMM_EBUSY);
    /* MAP_LOCKED memory too; munlock ends it. */
    map_at(s, W + 20 * PG, PG, RW, ANON_PRIV | GMM_MAP_LOCKED);
    assert_int_equal(gmm_sys_msync(s, W + 20 * PG, PG, GMM_MS_INVALIDATE), -GMM_EBUSY);
    assert_int_equal(gmm_sys_munlock(s, W + 20 * PG, PG), 0);
    assert_int_equal(gmm_sys_msync(s, W + 20 * PG, PG, GMM_MS_INVALIDATE), 0);
    teardown(sys, s);
}

static void msync_invalidate_on_unlocked_memory_succeeds(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    put_byte(s, W, 3);
    assert_int_equal(gmm_sys_msync(s, W, 16 * PG, GMM_MS_INVALIDATE), 0);
    assert_int_equal(get_byte(s, W), 3);
    teardown(sys, s);
}

static void msync_sync_writes_shared_file_pages_back(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 4 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, W, 4 * PG, RW, GMM_MAP_SHARED | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)W);
    put_byte(s, W + PG, 'Q');
    put_byte(s, W + 3 * PG, 'R');
    assert_int_equal(e.file.data[PG], 'b');
    /* Part of the mapping: only that part is written. */
    assert_int_equal(gmm_sys_msync(s, W, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.data[PG], 'Q');
    assert_int_equal(e.file.data[3 * PG], 'd');
    assert_int_equal(gmm_sys_msync(s, W, 4 * PG, GMM_MS_ASYNC), 0);
    assert_int_equal(e.file.data[3 * PG], 'R');
    /* Clean pages are not written again. */
    int writes = e.file.writes;
    assert_int_equal(gmm_sys_msync(s, W, 4 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, writes);
    /* A private mapping never reaches the file. */
    assert_int_equal(gmm_sys_mmap(s, W + 8 * PG, PG, RW, GMM_MAP_PRIVATE | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)(W + 8 * PG));
    put_byte(s, W + 8 * PG, 'P');
    assert_int_equal(gmm_sys_msync(s, W + 8 * PG, PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.data[0], 'a');
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void msync_i386_length_does_not_wrap(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    map_at(s, W, PG, RW, ANON_PRIV);
    /* 64-bit arithmetic: 0xFFFFFFFF rounds to 4 GiB, past every mapping. */
    assert_int_equal(gmm_sys_msync(s, W, 0xFFFFFFFFu, GMM_MS_ASYNC), -GMM_ENOMEM);
    teardown(sys, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(msync_sync_and_async_together_are_einval),
        cmocka_unit_test(msync_unknown_flag_bits_are_einval),
        cmocka_unit_test(msync_unaligned_address_is_einval),
        cmocka_unit_test(msync_zero_length_succeeds_anywhere),
        cmocka_unit_test(msync_unmapped_range_is_enomem),
        cmocka_unit_test(msync_range_with_hole_is_enomem),
        cmocka_unit_test(msync_any_mapping_and_flags_succeed),
        cmocka_unit_test(msync_unaligned_length_is_rounded_up),
        cmocka_unit_test(msync_invalidate_on_locked_memory_is_ebusy),
        cmocka_unit_test(msync_invalidate_on_unlocked_memory_succeeds),
        cmocka_unit_test(msync_sync_writes_shared_file_pages_back),
        cmocka_unit_test(msync_i386_length_does_not_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
