/*
 * test_mlock.c - mlock, mlock2, munlock, mlockall, munlockall and
 * MAP_LOCKED (CONFORMANCE.md section 8, and the MCL_FUTURE rules of
 * sections 1.3 and 4).
 *
 * The space is an unprivileged process: the expectations were checked on
 * this machine's kernel (x86-64 Linux 6.18) by raw-syscall probes run as
 * uid 65534 with RLIMIT_MEMLOCK set for each case.
 */
#include "mmhelp.h"

static gmm_space *setup(gmm_system **sys, uint64_t memlock)
{
    *sys = new_system(NULL);
    gmm_space *s = new_space(*sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_MEMLOCK, memlock, memlock), 0);
    return s;
}

static void teardown(gmm_system *sys, gmm_space *s)
{
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* The locked-page probe the gVisor tests use: msync(MS_INVALIDATE) is
 * EBUSY on locked memory. */
static bool is_locked(gmm_space *s, gmm_addr a)
{
    int64_t r = gmm_sys_msync(s, a, PG, GMM_MS_ASYNC | GMM_MS_INVALIDATE);
    assert_true(r == 0 || r == -GMM_EBUSY);
    return r == -GMM_EBUSY;
}

/* ---- mlock ---- */

static void mlock_rounds_unaligned_address_and_length_to_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W + 100, 1), 0);
    assert_int_equal(status_kb(s, "VmLck"), 4);
    ASSERT_MAPS(s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 4 * PG, "rw-p")));
    assert_true(is_locked(s, W));
    assert_false(is_locked(s, W + PG));
    /* 2 bytes across a page boundary: two pages more. */
    assert_int_equal(gmm_sys_mlock(s, W + 2 * PG - 1, 2), 0);
    assert_int_equal(status_kb(s, "VmLck"), 12);
    teardown(sys, s);
}

static void mlock_populates_and_counts_in_vmlck(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 1 << 20, GMM_PROT_WRITE, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 1 << 20), 0);
    assert_string_equal(smaps_field(s, W, "Rss"), "1024 kB");
    assert_string_equal(smaps_field(s, W, "Locked"), "1024 kB");
    assert_string_equal(smaps_field(s, W, "VmFlags"), "wr mr mw me lo ac ");
    assert_int_equal(status_kb(s, "VmLck"), 1024);
    assert_int_equal(status_kb(s, "RssAnon"), 1024);
    teardown(sys, s);
}

static void mlock_of_read_only_memory_maps_zero_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    gmm_addr vec = map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    map_at(s, W, 4 * PG, GMM_PROT_READ, ANON_PRIV);
    map_at(s, W + 8 * PG, 2 * PG, GMM_PROT_WRITE, ANON_SHARED);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(gmm_sys_mlock(s, W + 8 * PG, 2 * PG), 0);
    char v[8];
    assert_int_equal(mincore_str(s, W, 4, vec, v), 0);
    assert_string_equal(v, "1111");
    assert_int_equal(mincore_str(s, W + 8 * PG, 2, vec, v), 0);
    assert_string_equal(v, "11");
    assert_string_equal(smaps_field(s, W, "Rss"), "0 kB");
    assert_int_equal(status_kb(s, "VmLck"), 24);
    teardown(sys, s);
}

static void mlock_range_with_hole_is_enomem_after_locking_before_it(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    map_at(s, W + 5 * PG, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W + 2 * PG, 5 * PG), -GMM_ENOMEM);
    assert_true(is_locked(s, W + 2 * PG));
    assert_false(is_locked(s, W + 5 * PG));
    assert_int_equal(status_kb(s, "VmLck"), 8);
    /* Not mapped at all. */
    assert_int_equal(gmm_sys_mlock(s, 0x10000, PG), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_mlock(s, W - PG, 2 * PG), -GMM_ENOMEM);
    assert_false(is_locked(s, W));
    teardown(sys, s);
}

static void munlock_range_with_hole_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 8 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 8 * PG), 0);
    assert_int_equal(gmm_sys_munmap(s, W + 2 * PG, 4 * PG), 0);
    assert_int_equal(status_kb(s, "VmLck"), 16);
    assert_int_equal(gmm_sys_munlock(s, W, 8 * PG), -GMM_ENOMEM);
    assert_false(is_locked(s, W));
    assert_true(is_locked(s, W + 6 * PG));
    assert_int_equal(gmm_sys_munlock(s, 0x10000, PG), -GMM_ENOMEM);
    teardown(sys, s);
}

static void mlock_over_the_limit_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 * PG);
    map_at(s, W, 16 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 9 * PG), -GMM_ENOMEM);
    assert_int_equal(status_kb(s, "VmLck"), 0);
    assert_int_equal(gmm_sys_mlock(s, W, 8 * PG), 0);
    assert_int_equal(gmm_sys_mlock(s, W + 8 * PG, PG), -GMM_ENOMEM);
    /* A huge length is over any limit. */
    assert_int_equal(gmm_sys_mlock(s, W, 1ull << 46), -GMM_ENOMEM);
    teardown(sys, s);
}

static void mlock_already_locked_pages_count_once(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 * PG);
    map_at(s, W, 16 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 8 * PG), 0);
    assert_int_equal(gmm_sys_mlock(s, W, 8 * PG), 0);
    assert_int_equal(gmm_sys_mlock(s, W + 2 * PG, 4 * PG), 0);
    assert_int_equal(status_kb(s, "VmLck"), 32);
    /* Overlapping, but one page more than the limit. */
    assert_int_equal(gmm_sys_mlock(s, W + 4 * PG, 5 * PG), -GMM_ENOMEM);
    teardown(sys, s);
}

static void mlock_with_limit_zero_is_eperm_first(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 0);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, PG), -GMM_EPERM);
    assert_int_equal(gmm_sys_mlock(s, 0x10000, PG), -GMM_EPERM);
    assert_int_equal(gmm_sys_mlock(s, 1, UINT64_MAX), -GMM_EPERM);
    assert_int_equal(gmm_sys_mlock2(s, W, PG, 0), -GMM_EPERM);
    assert_int_equal(gmm_sys_mlock2(s, W, PG, -1), -GMM_EINVAL);
    /* Unlocking needs no privilege. */
    assert_int_equal(gmm_sys_munlock(s, W, PG), 0);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE), -GMM_EPERM);
    assert_int_equal(gmm_sys_mlockall(s, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_munlockall(s), 0);
    teardown(sys, s);
}

static void mlock_prot_none_is_enomem_but_locks(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 2 * PG, GMM_PROT_NONE, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 2 * PG), -GMM_ENOMEM);
    assert_int_equal(status_kb(s, "VmLck"), 8);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "mr mw me lo ");
    teardown(sys, s);
}

static void mlock_wrapping_length_locks_nothing(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    /* The page-aligned length wraps to 0: nothing to do. */
    assert_int_equal(gmm_sys_mlock(s, W, UINT64_MAX), 0);
    assert_int_equal(gmm_sys_mlock(s, W + 100, (uint64_t)-100), 0);
    assert_int_equal(gmm_sys_munlock(s, W, UINT64_MAX), 0);
    assert_int_equal(gmm_sys_mlock(s, 0x10000, 0), 0);
    assert_int_equal(status_kb(s, "VmLck"), 0);
    teardown(sys, s);
}

static void mlock_is_not_inherited_by_fork(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock2(s, W, 4 * PG, GMM_MLOCK_ONFAULT), 0);
    gmm_space *c = gmm_space_fork(s);
    assert_false(is_locked(c, W));
    assert_int_equal(status_kb(c, "VmLck"), 0);
    assert_string_equal(smaps_field(c, W, "VmFlags"), "rd wr mr mw me ac ");
    assert_true(is_locked(s, W));
    CHECK(c);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void munlock_of_never_locked_memory_returns_zero(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_munlock(s, W + 1, PG), 0);
    ASSERT_MAPS(s, anon_line(W, W + 4 * PG, "rw-p"));
    teardown(sys, s);
}

static void munlock_undoes_several_mlocks(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(gmm_sys_munlock(s, W, 4 * PG), 0);
    assert_false(is_locked(s, W));
    assert_int_equal(status_kb(s, "VmLck"), 0);
    ASSERT_MAPS(s, anon_line(W, W + 4 * PG, "rw-p"));
    teardown(sys, s);
}

static void mlock_split_beyond_map_count_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    gmm_addr base = 0x100000000ull;
    for (uint64_t i = 0; i < 65529; i++)
        assert_int_equal(gmm_sys_mmap(s, base + i * PG, PG, i & 1 ? GMM_PROT_READ : RW,
                                      ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                         (int64_t)(base + i * PG));
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, PG), -GMM_ENOMEM);
    assert_int_equal(status_kb(s, "VmLck"), 0);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(gmm_sys_munlock(s, W, PG), -GMM_ENOMEM);
    teardown(sys, s);
}

static void munmap_removes_the_lock(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(gmm_sys_munmap(s, W + PG, PG), 0);
    assert_int_equal(status_kb(s, "VmLck"), 12);
    map_at(s, W + PG, PG, RW, ANON_PRIV);
    assert_false(is_locked(s, W + PG));
    teardown(sys, s);
}

static void mprotect_writable_populates_locked_private_memory(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    gmm_addr vec = map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    map_at(s, W, 4 * PG, GMM_PROT_READ, ANON_PRIV);
    map_at(s, W + 8 * PG, 4 * PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_string_equal(smaps_field(s, W, "Rss"), "0 kB");
    assert_int_equal(gmm_sys_mprotect(s, W, 4 * PG, RW), 0);
    /* Write faults: copy on write of the zero pages now. */
    assert_string_equal(smaps_field(s, W, "Rss"), "16 kB");
    /* Not when the lock is on fault. */
    assert_int_equal(gmm_sys_mlock2(s, W + 8 * PG, 4 * PG, GMM_MLOCK_ONFAULT), 0);
    assert_int_equal(gmm_sys_mprotect(s, W + 8 * PG, 4 * PG, RW), 0);
    char v[8];
    assert_int_equal(mincore_str(s, W + 8 * PG, 4, vec, v), 0);
    assert_string_equal(v, "0000");
    teardown(sys, s);
}

static void mlock_of_droppable_memory_does_nothing(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(status_kb(s, "VmLck"), 0);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me nr wf dd dp ");
    teardown(sys, s);
}

static void mlock_of_execute_only_memory_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    gmm_space_set_execute_only(s, 1);
    map_at(s, W, 2 * PG, GMM_PROT_EXEC, ANON_PRIV);
    /* Populating reads it, which its protection key refuses. */
    assert_int_equal(gmm_sys_mlock(s, W, 2 * PG), -GMM_ENOMEM);
    assert_true(is_locked(s, W));
    teardown(sys, s);
}

/* ---- mlock2 ---- */

static void mlock2_unknown_flags_are_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock2(s, W, PG, -1), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mlock2(s, W, PG, 2), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mlock2(s, W, PG, ~GMM_MLOCK_ONFAULT), -GMM_EINVAL);
    assert_false(is_locked(s, W));
    teardown(sys, s);
}

static void mlock2_over_limit_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 2 * PG);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock2(s, W, 3 * PG, 0), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_mlock2(s, W, 3 * PG, GMM_MLOCK_ONFAULT), -GMM_ENOMEM);
    teardown(sys, s);
}

static void mlock2_rounds_lengths_to_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 8 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlock2(s, W, 2 * PG + 1, 0), 0);
    assert_int_equal(status_kb(s, "VmLck"), 12);
    assert_int_equal(status_kb(s, "VmRSS"), 12);
    assert_int_equal(gmm_sys_munlockall(s), 0);
    assert_int_equal(gmm_sys_mlock2(s, W, 2 * PG - 1, 0), 0);
    assert_int_equal(status_kb(s, "VmLck"), 8);
    teardown(sys, s);
}

static void mlock2_onfault_counts_the_range_but_populates_nothing(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    gmm_addr vec = map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    map_at(s, W, 8 * PG, RW, ANON_PRIV);
    put_byte(s, W + PG, 1);
    assert_int_equal(gmm_sys_mlock2(s, W, 8 * PG, GMM_MLOCK_ONFAULT), 0);
    assert_int_equal(status_kb(s, "VmLck"), 32);
    char v[16];
    assert_int_equal(mincore_str(s, W, 8, vec, v), 0);
    assert_string_equal(v, "01000000");
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me lo lf ac ");
    assert_string_equal(smaps_field(s, W, "Locked"), "4 kB");
    /* mlock2(0) on the same range: same count, now populated. */
    assert_int_equal(gmm_sys_mlock2(s, W, 8 * PG, 0), 0);
    assert_int_equal(status_kb(s, "VmLck"), 32);
    assert_int_equal(mincore_str(s, W, 8, vec, v), 0);
    assert_string_equal(v, "11111111");
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me lo ac ");
    teardown(sys, s);
}

/* ---- mlockall, munlockall ---- */

static void mlockall_invalid_flags_are_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    assert_int_equal(gmm_sys_mlockall(s, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_ONFAULT), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT | 8), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mlockall(s, ~(GMM_MCL_CURRENT | GMM_MCL_FUTURE)), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mlockall(s, -1), -GMM_EINVAL);
    teardown(sys, s);
}

static void mlockall_current_locks_and_populates_everything(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    map_at(s, W + 8 * PG, 2 * PG, GMM_PROT_NONE, ANON_PRIV);
    map_at(s, W + 12 * PG, 2 * PG, RW, ANON_SHARED);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT), 0);
    assert_int_equal(status_kb(s, "VmLck"), 32);
    assert_string_equal(smaps_field(s, W, "Rss"), "16 kB");
    assert_string_equal(smaps_field(s, W + 12 * PG, "Rss"), "8 kB");
    assert_true(is_locked(s, W + 8 * PG));
    /* Later mappings are not locked. */
    map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    assert_false(is_locked(s, W + 16 * PG));
    assert_int_equal(gmm_sys_munlockall(s), 0);
    assert_int_equal(status_kb(s, "VmLck"), 0);
    teardown(sys, s);
}

static void mlockall_current_over_the_limit_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 4 * PG);
    map_at(s, W, 5 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT | GMM_MCL_FUTURE), -GMM_ENOMEM);
    assert_int_equal(status_kb(s, "VmLck"), 0);
    /* MCL_FUTURE alone is not checked against what is mapped. */
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE), 0);
    teardown(sys, s);
}

static void mlockall_future_locks_later_mappings(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    gmm_addr vec = map_at(s, W + 64 * PG, PG, RW, ANON_PRIV);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE), 0);
    /* What is mapped stays unlocked. */
    assert_false(is_locked(s, W));
    map_at(s, W + 8 * PG, 4 * PG, GMM_PROT_READ, ANON_PRIV);
    map_at(s, W + 16 * PG, 2 * PG, GMM_PROT_NONE, ANON_PRIV);
    assert_true(is_locked(s, W + 8 * PG));
    char v[8];
    assert_int_equal(mincore_str(s, W + 8 * PG, 4, vec, v), 0);
    assert_string_equal(v, "1111");
    assert_string_equal(smaps_field(s, W + 16 * PG, "VmFlags"), "mr mw me lo ");
    assert_int_equal(status_kb(s, "VmLck"), 24);
    /* Droppable memory is never locked. */
    map_at(s, W + 20 * PG, 2 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    assert_int_equal(status_kb(s, "VmLck"), 24);
    assert_int_equal(gmm_sys_munlockall(s), 0);
    map_at(s, W + 24 * PG, PG, RW, ANON_PRIV);
    assert_false(is_locked(s, W + 24 * PG));
    teardown(sys, s);
}

static void mlockall_future_onfault_does_not_populate(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    gmm_addr vec = map_at(s, W + 64 * PG, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE | GMM_MCL_ONFAULT), 0);
    map_at(s, W, 2 * PG, RW, ANON_PRIV | GMM_MAP_POPULATE);
    char v[4];
    assert_int_equal(mincore_str(s, W, 2, vec, v), 0);
    assert_string_equal(v, "00");
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me lo lf ac ");
    teardown(sys, s);
}

static void mlockall_without_future_cancels_it(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE), 0);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT), 0);
    map_at(s, W, PG, RW, ANON_PRIV);
    assert_false(is_locked(s, W));
    /* A refused mlockall changes nothing. */
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE), 0);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_MEMLOCK, 0, 8 << 20), 0);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT), -GMM_EPERM);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_MEMLOCK, PG, 8 << 20), 0);
    map_at(s, W + 4 * PG, PG, RW, ANON_PRIV);
    assert_true(is_locked(s, W + 4 * PG));
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT), -GMM_ENOMEM);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_MEMLOCK, 8 << 20, 8 << 20), 0);
    map_at(s, W + 8 * PG, PG, RW, ANON_PRIV);
    assert_true(is_locked(s, W + 8 * PG));
    teardown(sys, s);
}

static void mlockall_future_mmap_over_the_limit_is_eagain(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 * PG);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE), 0);
    map_at(s, W, 4 * PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_sys_mmap(s, W + 8 * PG, 8 * PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                     -GMM_EAGAIN);
    assert_int_equal(gmm_sys_mmap(s, W + 8 * PG, 8 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS | GMM_MAP_FIXED,
                                  -1, 0),
                     -GMM_EAGAIN);
    map_at(s, W + 8 * PG, 4 * PG, GMM_PROT_NONE, ANON_PRIV);
    /* The limit is 0 now: EAGAIN, not EPERM, as MAP_LOCKED was not asked. */
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_MEMLOCK, 0, 8 * PG), 0);
    assert_int_equal(gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0), -GMM_EAGAIN);
    assert_int_equal(gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV | GMM_MAP_LOCKED, -1, 0), -GMM_EPERM);
    teardown(sys, s);
}

static void mlockall_future_locks_brk_growth_within_the_limit(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 * PG);
    const gmm_addr heap = 0x10000000;
    assert_int_equal(gmm_space_init_brk(s, heap), 0);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_FUTURE), 0);
    assert_int_equal(gmm_sys_brk(s, heap + 4 * PG), (int64_t)(heap + 4 * PG));
    assert_int_equal(status_kb(s, "VmLck"), 16);
    assert_string_equal(smaps_field(s, heap, "Rss"), "16 kB");
    assert_string_equal(smaps_field(s, heap, "VmFlags"), "rd wr mr mw me lo ac ");
    /* Over RLIMIT_MEMLOCK: brk fails and returns the old break. */
    assert_int_equal(gmm_sys_brk(s, heap + 9 * PG), (int64_t)(heap + 4 * PG));
    assert_int_equal(gmm_sys_brk(s, heap + 8 * PG), (int64_t)(heap + 8 * PG));
    teardown(sys, s);
}

static void mlockall_future_is_not_inherited_by_fork(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT | GMM_MCL_FUTURE), 0);
    map_at(s, W, PG, RW, ANON_PRIV);
    gmm_space *c = gmm_space_fork(s);
    map_at(c, W + 4 * PG, PG, RW, ANON_PRIV);
    assert_false(is_locked(c, W));
    assert_false(is_locked(c, W + 4 * PG));
    assert_int_equal(status_kb(c, "VmLck"), 0);
    CHECK(c);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void munlockall_unlocks_map_locked_mappings(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 4 * PG, RW, ANON_PRIV | GMM_MAP_LOCKED);
    assert_true(is_locked(s, W));
    assert_int_equal(status_kb(s, "VmLck"), 16);
    assert_int_equal(gmm_sys_munlockall(s), 0);
    assert_false(is_locked(s, W));
    assert_int_equal(status_kb(s, "VmLck"), 0);
    teardown(sys, s);
}

/* ---- MAP_LOCKED ---- */

static void map_locked_with_limit_zero_is_eperm(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 0);
    map_at(s, W, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mmap(s, W + PG, PG, RW, ANON_PRIV | GMM_MAP_LOCKED | GMM_MAP_FIXED, -1, 0),
                     -GMM_EPERM);
    /* Checked after the length and after MAP_FIXED_NOREPLACE. */
    assert_int_equal(gmm_sys_mmap(s, W, 0, RW, ANON_PRIV | GMM_MAP_LOCKED, -1, 0), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mmap(s, W, PG, RW, ANON_PRIV | GMM_MAP_LOCKED | GMM_MAP_FIXED_NOREPLACE, -1, 0),
                     -GMM_EEXIST);
    /* With PROT_NONE too. */
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_LOCKED, -1, 0), -GMM_EPERM);
    teardown(sys, s);
}

static void map_locked_beyond_the_limit_is_eagain(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 * PG);
    assert_int_equal(gmm_sys_mmap(s, W, 9 * PG, RW, ANON_PRIV | GMM_MAP_LOCKED | GMM_MAP_FIXED, -1, 0),
                     -GMM_EAGAIN);
    map_at(s, W, 8 * PG, RW, ANON_PRIV | GMM_MAP_LOCKED);
    assert_int_equal(status_kb(s, "VmLck"), 32);
    assert_string_equal(smaps_field(s, W, "Rss"), "32 kB");
    /* Replacing locked pages still counts the whole new length. */
    assert_int_equal(gmm_sys_mmap(s, W, 8 * PG, RW, ANON_PRIV | GMM_MAP_LOCKED | GMM_MAP_FIXED, -1, 0),
                     -GMM_EAGAIN);
    teardown(sys, s);
}

static void map_locked_mapping_is_unlocked_by_munlock(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, 8 << 20);
    map_at(s, W, 2 * PG, GMM_PROT_NONE, ANON_PRIV | GMM_MAP_LOCKED);
    assert_true(is_locked(s, W));
    assert_int_equal(gmm_sys_munlock(s, W, 2 * PG), 0);
    assert_false(is_locked(s, W));
    teardown(sys, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mlock_rounds_unaligned_address_and_length_to_pages),
        cmocka_unit_test(mlock_populates_and_counts_in_vmlck),
        cmocka_unit_test(mlock_of_read_only_memory_maps_zero_pages),
        cmocka_unit_test(mlock_range_with_hole_is_enomem_after_locking_before_it),
        cmocka_unit_test(munlock_range_with_hole_is_enomem),
        cmocka_unit_test(mlock_over_the_limit_is_enomem),
        cmocka_unit_test(mlock_already_locked_pages_count_once),
        cmocka_unit_test(mlock_with_limit_zero_is_eperm_first),
        cmocka_unit_test(mlock_prot_none_is_enomem_but_locks),
        cmocka_unit_test(mlock_wrapping_length_locks_nothing),
        cmocka_unit_test(mlock_is_not_inherited_by_fork),
        cmocka_unit_test(munlock_of_never_locked_memory_returns_zero),
        cmocka_unit_test(munlock_undoes_several_mlocks),
        cmocka_unit_test(mlock_split_beyond_map_count_is_enomem),
        cmocka_unit_test(munmap_removes_the_lock),
        cmocka_unit_test(mprotect_writable_populates_locked_private_memory),
        cmocka_unit_test(mlock_of_droppable_memory_does_nothing),
        cmocka_unit_test(mlock_of_execute_only_memory_is_enomem),
        cmocka_unit_test(mlock2_unknown_flags_are_einval),
        cmocka_unit_test(mlock2_over_limit_is_enomem),
        cmocka_unit_test(mlock2_rounds_lengths_to_pages),
        cmocka_unit_test(mlock2_onfault_counts_the_range_but_populates_nothing),
        cmocka_unit_test(mlockall_invalid_flags_are_einval),
        cmocka_unit_test(mlockall_current_locks_and_populates_everything),
        cmocka_unit_test(mlockall_current_over_the_limit_is_enomem),
        cmocka_unit_test(mlockall_future_locks_later_mappings),
        cmocka_unit_test(mlockall_future_onfault_does_not_populate),
        cmocka_unit_test(mlockall_without_future_cancels_it),
        cmocka_unit_test(mlockall_future_mmap_over_the_limit_is_eagain),
        cmocka_unit_test(mlockall_future_locks_brk_growth_within_the_limit),
        cmocka_unit_test(mlockall_future_is_not_inherited_by_fork),
        cmocka_unit_test(munlockall_unlocks_map_locked_mappings),
        cmocka_unit_test(map_locked_with_limit_zero_is_eperm),
        cmocka_unit_test(map_locked_beyond_the_limit_is_eagain),
        cmocka_unit_test(map_locked_mapping_is_unlocked_by_munlock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
