/*
 * test_madvise.c - madvise(2) (CONFORMANCE.md section 6, and the splits of
 * section 12 it makes).
 *
 * The expectations were checked on this machine's kernel (x86-64 Linux
 * 6.18) with raw-syscall probes under `setarch -R`, but for MADV_HWPOISON /
 * MADV_SOFT_OFFLINE (the probe kernel lacks CONFIG_MEMORY_FAILURE; a
 * distribution kernel has it and refuses an unprivileged caller: EPERM).
 */
#include "memfile.h"
#include "mmhelp.h"

static struct fault_log faults;

static gmm_space *setup(gmm_system **sys)
{
    *sys = new_system(&faults);
    return new_space(*sys, GMM_ABI_X86_64);
}

static void teardown(gmm_system *sys, gmm_space *s)
{
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Four written private pages at W. */
static gmm_space *four_pages(gmm_system **sys)
{
    gmm_space *s = setup(sys);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    for (int i = 0; i < 4; i++)
        put_byte(s, W + (uint64_t)i * PG, (uint8_t)(i + 1));
    return s;
}

/* ---- validation ---- */

static void madvise_unknown_advice_is_einval_before_alignment(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_madvise(s, 0, 0, 1212), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, 1, 0, 1212), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W, PG, 5), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, 1, 0, GMM_MADV_NORMAL), -GMM_EINVAL);
    teardown(sys, s);
}

static void madvise_len_zero_probes_each_supported_advice(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    static const int valid[] = {0,  1,  2,  3,  4,  8,  9,  10, 11,  12,  13,  14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 100, 101, 102, 103};
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        assert_int_equal(gmm_sys_madvise(s, 0, 0, valid[i]), 0);
    static const int invalid[] = {-1, 5, 6, 7, 26, 99, 104, 1212};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        assert_int_equal(gmm_sys_madvise(s, 0, 0, invalid[i]), -GMM_EINVAL);
    teardown(sys, s);
}

static void madvise_unaligned_start_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W + 100, PG, GMM_MADV_DONTNEED), -GMM_EINVAL);
    assert_int_equal(get_byte(s, W), 1);
    teardown(sys, s);
}

static void madvise_length_wrapping_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_madvise(s, 0, UINT64_MAX, GMM_MADV_NORMAL), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, PG, (uint64_t)-2048, GMM_MADV_NORMAL), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, PG, (uint64_t)-PG, GMM_MADV_NORMAL), -GMM_EINVAL);
    /* A length that does not wrap but leaves the address space finds no
     * mapping. */
    assert_int_equal(gmm_sys_madvise(s, PG, 1ull << 62, GMM_MADV_NORMAL), -GMM_ENOMEM);
    teardown(sys, s);
}

static void madvise_i386_length_does_not_wrap(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    /* The compat syscall computes in 64 bits: 0xFFFFFFFF rounds up to
     * 4 GiB, beyond every mapping. */
    assert_int_equal(gmm_sys_madvise(s, PG, 0xFFFFFFFFu, GMM_MADV_NORMAL), -GMM_ENOMEM);
    teardown(sys, s);
}

static void madvise_unaligned_length_is_rounded_up(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, 100, GMM_MADV_DONTNEED), 0);
    assert_int_equal(get_byte(s, W), 0);
    assert_int_equal(get_byte(s, W + PG), 2);
    teardown(sys, s);
}

static void madvise_range_past_task_size_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    assert_int_equal(gmm_sys_madvise(s, 0x7FFFFFFFF000ull, 2 * PG, GMM_MADV_NORMAL), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_madvise(s, 0x10000, PG, GMM_MADV_WILLNEED), -GMM_ENOMEM);
    teardown(sys, s);
}

static void madvise_hole_applies_to_mapped_parts_then_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    map_at(s, W + 5 * PG, 3 * PG, RW, ANON_PRIV);
    put_byte(s, W + 6 * PG, 7);
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, 5 * PG, GMM_MADV_RANDOM), -GMM_ENOMEM);
    ASSERT_MAPS(s, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 4 * PG, "rw-p"),
                         anon_line(W + 5 * PG, W + 7 * PG, "rw-p"),
                         anon_line(W + 7 * PG, W + 8 * PG, "rw-p")));
    assert_string_equal(smaps_field(s, W + 2 * PG, "VmFlags"), "rd wr mr mw me rr ac ");
    assert_string_equal(smaps_field(s, W + 5 * PG, "VmFlags"), "rd wr mr mw me rr ac ");
    assert_int_equal(gmm_sys_madvise(s, W, 8 * PG, GMM_MADV_DONTNEED), -GMM_ENOMEM);
    assert_int_equal(get_byte(s, W + PG), 0);
    assert_int_equal(get_byte(s, W + 6 * PG), 0);
    teardown(sys, s);
}

static void madvise_range_wholly_unmapped_is_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W + 8 * PG, 4 * PG, GMM_MADV_NORMAL), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_madvise(s, W - 4 * PG, 4 * PG, GMM_MADV_DONTNEED), -GMM_ENOMEM);
    assert_int_equal(get_byte(s, W), 1);
    teardown(sys, s);
}

static void madvise_region_error_wins_over_hole(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    map_at(s, W + 5 * PG, PG, RW, ANON_PRIV | GMM_MAP_LOCKED);
    assert_int_equal(gmm_sys_madvise(s, W, 6 * PG, GMM_MADV_DONTNEED), -GMM_EINVAL);
    /* The pages before the locked region were zapped already. */
    assert_int_equal(get_byte(s, W), 0);
    teardown(sys, s);
}

/* ---- advice that changes region flags ---- */

static void madvise_flag_advice_splits_region_in_three(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W + PG, 2 * PG, GMM_MADV_SEQUENTIAL), 0);
    ASSERT_MAPS(s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 3 * PG, "rw-p"),
                         anon_line(W + 3 * PG, W + 4 * PG, "rw-p")));
    /* Back to normal, the three merge again. */
    assert_int_equal(gmm_sys_madvise(s, W + PG, 2 * PG, GMM_MADV_NORMAL), 0);
    ASSERT_MAPS(s, anon_line(W, W + 4 * PG, "rw-p"));
    teardown(sys, s);
}

static void madvise_flag_advice_without_change_leaves_region_whole(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    static const int same[] = {GMM_MADV_NORMAL,       GMM_MADV_DOFORK,    GMM_MADV_KEEPONFORK,
                               GMM_MADV_DODUMP,       GMM_MADV_UNMERGEABLE, GMM_MADV_WILLNEED,
                               GMM_MADV_COLD,         GMM_MADV_PAGEOUT,   GMM_MADV_FREE,
                               GMM_MADV_POPULATE_READ, GMM_MADV_GUARD_REMOVE};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_int_equal(gmm_sys_madvise(s, W + PG, PG, same[i]), 0);
        ASSERT_MAPS(s, anon_line(W, W + 4 * PG, "rw-p"));
    }
    teardown(sys, s);
}

static void madvise_flag_advice_sets_its_vmflag(void **state)
{
    (void)state;
    static const struct {
        int advice;
        const char *flags;
    } cases[] = {
        {GMM_MADV_RANDOM, "rd wr mr mw me rr ac "},     {GMM_MADV_SEQUENTIAL, "rd wr mr mw me sr ac "},
        {GMM_MADV_DONTFORK, "rd wr mr mw me dc ac "},   {GMM_MADV_WIPEONFORK, "rd wr mr mw me ac wf "},
        {GMM_MADV_DONTDUMP, "rd wr mr mw me ac dd "},   {GMM_MADV_HUGEPAGE, "rd wr mr mw me ac hg "},
        {GMM_MADV_NOHUGEPAGE, "rd wr mr mw me ac nh "}, {GMM_MADV_MERGEABLE, "rd wr mr mw me ac mg "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gmm_system *sys;
        gmm_space *s = four_pages(&sys);
        assert_int_equal(gmm_sys_madvise(s, W + PG, PG, cases[i].advice), 0);
        ASSERT_MAPS(s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "rw-p"),
                             anon_line(W + 2 * PG, W + 4 * PG, "rw-p")));
        assert_string_equal(smaps_field(s, W + PG, "VmFlags"), cases[i].flags);
        assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me ac ");
        teardown(sys, s);
    }
}

static void madvise_opposite_advice_replaces_flag(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_HUGEPAGE), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_NOHUGEPAGE), 0);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me ac nh ");
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_RANDOM), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_SEQUENTIAL), 0);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me sr ac nh ");
    teardown(sys, s);
}

static void madvise_wipeonfork_on_shared_memory_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_SHARED);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_WIPEONFORK), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_KEEPONFORK), 0);
    teardown(sys, s);
}

static void madvise_wipeonfork_on_file_mapping_is_einval(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 2 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, W, 2 * PG, RW, GMM_MAP_PRIVATE | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)W);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_WIPEONFORK), -GMM_EINVAL);
    teardown(sys, s);
}

static void madvise_droppable_refuses_keeponfork_and_dodump(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_KEEPONFORK), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_DODUMP), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_WIPEONFORK), 0);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_DONTDUMP), 0);
    ASSERT_MAPS(s, anon_line(W, W + 2 * PG, "rw-p"));
    teardown(sys, s);
}

static void madvise_mergeable_on_shared_memory_changes_nothing(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 4 * PG, RW, ANON_SHARED);
    map_at(s, W + 8 * PG, 4 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_MERGEABLE), 0);
    assert_int_equal(gmm_sys_madvise(s, W + 9 * PG, PG, GMM_MADV_MERGEABLE), 0);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr sh mr mw me ms ");
    assert_string_equal(smaps_field(s, W + 8 * PG, "VmFlags"), "rd wr mr mw me nr wf dd dp ");
    /* HUGEPAGE does split shared memory. */
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_HUGEPAGE), 0);
    assert_string_equal(smaps_field(s, W + PG, "VmFlags"), "rd wr sh mr mw me ms hg ");
    teardown(sys, s);
}

static void madvise_dontfork_range_is_absent_in_fork_child(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 3 * PG, RW, ANON_PRIV);
    for (int i = 0; i < 3; i++)
        put_byte(s, W + (uint64_t)i * PG, (uint8_t)(10 + i));
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_DONTFORK), 0);
    gmm_space *c = gmm_space_fork(s);
    assert_non_null(c);
    ASSERT_MAPS(c, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    uint8_t v;
    assert_int_equal(gmm_read(c, W + PG, &v, 1), -GMM_EFAULT);
    /* The child's writes stay in the child. */
    put_byte(c, W, 99);
    assert_int_equal(get_byte(s, W), 10);
    assert_int_equal(get_byte(c, W + 2 * PG), 12);
    gmm_space_destroy(c);
    /* DOFORK undoes it. */
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_DOFORK), 0);
    ASSERT_MAPS(s, anon_line(W, W + 3 * PG, "rw-p"));
    c = gmm_space_fork(s);
    assert_int_equal(get_byte(c, W + PG), 11);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void madvise_dontfork_shared_memory_child_keeps_the_rest_shared(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_SHARED);
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_DONTFORK), 0);
    gmm_space *c = gmm_space_fork(s);
    put_byte(c, W, 5);
    assert_int_equal(get_byte(s, W), 5);
    uint8_t v;
    assert_int_equal(gmm_read(c, W + PG, &v, 1), -GMM_EFAULT);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void madvise_wipeonfork_child_reads_zero_parent_keeps(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_WIPEONFORK), 0);
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(get_byte(c, W), 0);
    assert_int_equal(get_byte(c, W + PG), 0);
    assert_int_equal(get_byte(c, W + 2 * PG), 3);
    /* A grandchild too. */
    gmm_space *g = gmm_space_fork(c);
    assert_int_equal(get_byte(g, W), 0);
    gmm_space_destroy(g);
    gmm_space_destroy(c);
    assert_int_equal(get_byte(s, W), 1);
    /* KEEPONFORK: the next child sees the data. */
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_KEEPONFORK), 0);
    c = gmm_space_fork(s);
    assert_int_equal(get_byte(c, W), 1);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void madvise_split_out_of_regions_is_eagain(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    /* 65530 regions (vm.max_map_count), alternating protections. */
    gmm_addr base = 0x100000000ull;
    for (uint64_t i = 0; i < 65529; i++)
        assert_int_equal(gmm_sys_mmap(s, base + i * PG, PG, i & 1 ? GMM_PROT_READ : RW,
                                      ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                         (int64_t)(base + i * PG));
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    /* No region may be added: refused, nothing changed. */
    assert_int_equal(gmm_sys_madvise(s, W + PG, 2 * PG, GMM_MADV_RANDOM), -GMM_EAGAIN);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_RANDOM), -GMM_EAGAIN);
    static char text[1 << 23];
    assert_true(gmm_space_maps(s, text, sizeof(text)) < sizeof(text));
    assert_non_null(strstr(text, anon_line(W, W + 4 * PG, "rw-p")));
    /* One below the limit, a split at one end works. */
    assert_int_equal(gmm_sys_munmap(s, base, PG), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_RANDOM), 0);
    assert_true(gmm_space_maps(s, text, sizeof(text)) < sizeof(text));
    assert_non_null(strstr(text, anon_line(W, W + 2 * PG, "rw-p")));
    teardown(sys, s);
}

/* ---- MADV_DONTNEED, MADV_FREE ---- */

static void madvise_dontneed_private_anon_reads_zero(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(status_kb(s, "RssAnon"), 16);
    assert_int_equal(gmm_sys_madvise(s, W + PG, 2 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(get_byte(s, W), 1);
    assert_int_equal(get_byte(s, W + PG), 0);
    assert_int_equal(get_byte(s, W + 2 * PG), 0);
    assert_int_equal(get_byte(s, W + 3 * PG), 4);
    assert_int_equal(status_kb(s, "RssAnon"), 8);
    /* The high-water mark remembers. */
    assert_int_equal(status_kb(s, "VmHWM"), 16);
    ASSERT_MAPS(s, anon_line(W, W + 4 * PG, "rw-p"));
    teardown(sys, s);
}

static void madvise_dontneed_shared_anon_keeps_data(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_SHARED);
    put_byte(s, W, 42);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(get_byte(s, W), 42);
    teardown(sys, s);
}

static void madvise_dontneed_ignores_protection(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_mprotect(s, W, 4 * PG, GMM_PROT_NONE), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(gmm_sys_mprotect(s, W, 4 * PG, RW), 0);
    assert_int_equal(get_byte(s, W + 3 * PG), 0);
    teardown(sys, s);
}

static void madvise_dontneed_private_file_page_reverts_to_file(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 2 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, W, 2 * PG, RW, GMM_MAP_PRIVATE | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)W);
    put_byte(s, W, 'X');
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(get_byte(s, W), 'a');
    /* A shared file mapping keeps its data. */
    assert_int_equal(gmm_sys_mmap(s, W + 4 * PG, PG, RW, GMM_MAP_SHARED | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)(W + 4 * PG));
    put_byte(s, W + 4 * PG, 'Y');
    assert_int_equal(gmm_sys_madvise(s, W + 4 * PG, PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(get_byte(s, W + 4 * PG), 'Y');
    teardown(sys, s);
}

static void madvise_dontneed_on_locked_memory_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_mlock(s, W, PG), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_DONTNEED), -GMM_EINVAL);
    assert_int_equal(get_byte(s, W), 1);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_FREE), -GMM_EINVAL);
    /* MADV_DONTNEED_LOCKED zaps locked memory too. */
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_DONTNEED_LOCKED), 0);
    assert_int_equal(get_byte(s, W), 0);
    assert_int_equal(get_byte(s, W + 2 * PG), 0);
    teardown(sys, s);
}

static void madvise_dontneed_in_fork_child_leaves_parent(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(gmm_sys_madvise(c, W, 4 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(get_byte(c, W), 0);
    assert_int_equal(get_byte(s, W), 1);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void madvise_free_keeps_private_data(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_FREE), 0);
    assert_int_equal(get_byte(s, W + 2 * PG), 3);
    put_byte(s, W + 2 * PG, 9);
    assert_int_equal(get_byte(s, W + 2 * PG), 9);
    teardown(sys, s);
}

static void madvise_free_on_shared_or_file_memory_is_einval(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 2 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    map_at(s, W, PG, RW, ANON_SHARED);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_FREE), -GMM_EINVAL);
    assert_int_equal(gmm_sys_mmap(s, W + 2 * PG, PG, RW, GMM_MAP_PRIVATE | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)(W + 2 * PG));
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, PG, GMM_MADV_FREE), -GMM_EINVAL);
    teardown(sys, s);
}

/* ---- MADV_REMOVE ---- */

static void madvise_remove_shared_memory_reads_zero_everywhere(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_SHARED);
    put_byte(s, W, 1);
    put_byte(s, W + PG, 2);
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(get_byte(c, W + PG), 2);
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_REMOVE), 0);
    assert_int_equal(get_byte(s, W + PG), 0);
    assert_int_equal(get_byte(c, W + PG), 0);
    assert_int_equal(get_byte(c, W), 1);
    CHECK(c);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void madvise_remove_read_only_shared_memory_works(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, PG, RW, ANON_SHARED);
    put_byte(s, W, 1);
    assert_int_equal(gmm_sys_mprotect(s, W, PG, GMM_PROT_READ), 0);
    /* Shared anonymous memory may always be written (VM_MAYWRITE). */
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_REMOVE), 0);
    assert_int_equal(get_byte(s, W), 0);
    teardown(sys, s);
}

static void madvise_remove_private_or_locked_memory_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_REMOVE), -GMM_EINVAL);
    map_at(s, W + 8 * PG, PG, RW, ANON_SHARED | GMM_MAP_LOCKED);
    assert_int_equal(gmm_sys_madvise(s, W + 8 * PG, PG, GMM_MADV_REMOVE), -GMM_EINVAL);
    map_at(s, W + 10 * PG, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    assert_int_equal(gmm_sys_madvise(s, W + 10 * PG, PG, GMM_MADV_REMOVE), -GMM_EINVAL);
    teardown(sys, s);
}

static void madvise_remove_file_mapping_not_shared_writable_is_eacces(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 2 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, W, PG, RW, GMM_MAP_PRIVATE | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)W);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_REMOVE), -GMM_EACCES);
    assert_int_equal(gmm_sys_mmap(s, W + PG, PG, GMM_PROT_READ, GMM_MAP_SHARED | GMM_MAP_FIXED,
                                  MEMFILE_FD_RDONLY, 0),
                     (int64_t)(W + PG));
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_REMOVE), -GMM_EACCES);
    teardown(sys, s);
}

/* ---- hints ---- */

static void madvise_hints_keep_data(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    map_at(s, W + 8 * PG, PG, RW, ANON_SHARED);
    put_byte(s, W + 8 * PG, 8);
    static const int hints[] = {GMM_MADV_WILLNEED, GMM_MADV_COLD, GMM_MADV_PAGEOUT};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, hints[i]), 0);
        assert_int_equal(gmm_sys_madvise(s, W + 8 * PG, PG, hints[i]), 0);
        assert_int_equal(get_byte(s, W + 3 * PG), 4);
        assert_int_equal(get_byte(s, W + 8 * PG), 8);
    }
    teardown(sys, s);
}

static void madvise_cold_and_pageout_on_locked_memory_are_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_mlock(s, W, 4 * PG), 0);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_COLD), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_PAGEOUT), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_WILLNEED), 0);
    teardown(sys, s);
}

static void madvise_pageout_drops_droppable_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    put_byte(s, W, 1);
    put_byte(s, W + PG, 2);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_PAGEOUT), 0);
    assert_int_equal(get_byte(s, W), 0);
    assert_int_equal(get_byte(s, W + PG), 2);
    teardown(sys, s);
}

/* Without swap Linux reclaims a clean shared memory page (read, never
 * written) mapped once; a written one, or one a fork child maps too, stays. */
static void madvise_pageout_drops_clean_shared_memory_pages_mapped_once(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    gmm_addr vec = map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    map_at(s, W, 4 * PG, RW, ANON_SHARED);
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(get_byte(s, W), 0);
    put_byte(s, W + PG, 7);
    assert_int_equal(get_byte(s, W + 2 * PG), 0);
    assert_int_equal(get_byte(c, W + 2 * PG), 0);
    char v[8];
    assert_int_equal(mincore_str(s, W, 4, vec, v), 0);
    assert_string_equal(v, "1110");
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_PAGEOUT), 0);
    assert_int_equal(mincore_str(s, W, 4, vec, v), 0);
    assert_string_equal(v, "0110");
    assert_int_equal(get_byte(s, W + PG), 7);
    assert_int_equal(get_byte(s, W), 0);
    CHECK(c);
    gmm_space_destroy(c);
    /* Read-only shared memory the same. */
    map_at(s, W + 8 * PG, 2 * PG, GMM_PROT_READ, ANON_SHARED);
    assert_int_equal(get_byte(s, W + 8 * PG), 0);
    assert_int_equal(gmm_sys_madvise(s, W + 8 * PG, 2 * PG, GMM_MADV_PAGEOUT), 0);
    assert_int_equal(mincore_str(s, W + 8 * PG, 2, vec, v), 0);
    assert_string_equal(v, "00");
    teardown(sys, s);
}

static void madvise_willneed_reads_file_pages_in(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 3 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mmap(s, W, 4 * PG, GMM_PROT_READ, GMM_MAP_SHARED | GMM_MAP_FIXED,
                                  MEMFILE_FD_RW, 0),
                     (int64_t)W);
    char v[8];
    assert_int_equal(mincore_str(s, W, 4, W + 16 * PG, v), 0);
    assert_string_equal(v, "0000");
    assert_int_equal(gmm_sys_madvise(s, W + PG, 3 * PG, GMM_MADV_WILLNEED), 0);
    /* Up to the end of the file. */
    assert_int_equal(mincore_str(s, W, 4, W + 16 * PG, v), 0);
    assert_string_equal(v, "0110");
    teardown(sys, s);
}

/* ---- MADV_POPULATE_READ / MADV_POPULATE_WRITE ---- */

static void madvise_populate_read_maps_zero_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    map_at(s, W + 8 * PG, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_POPULATE_READ), 0);
    char v[8];
    assert_int_equal(mincore_str(s, W, 4, W + 8 * PG, v), 0);
    assert_string_equal(v, "1111");
    /* The zero page is no resident memory of the process. */
    assert_string_equal(smaps_field(s, W, "Rss"), "0 kB");
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_POPULATE_WRITE), 0);
    assert_string_equal(smaps_field(s, W, "Rss"), "16 kB");
    teardown(sys, s);
}

static void madvise_populate_needs_the_permission(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, PG, GMM_PROT_NONE, ANON_PRIV);
    map_at(s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    map_at(s, W + 4 * PG, PG, GMM_PROT_WRITE, ANON_PRIV);
    map_at(s, W + 6 * PG, PG, GMM_PROT_READ, ANON_SHARED);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_POPULATE_READ), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, PG, GMM_MADV_POPULATE_WRITE), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, PG, GMM_MADV_POPULATE_READ), 0);
    /* x86 reads write-only memory, but populating for reading needs
     * VM_READ. */
    assert_int_equal(gmm_sys_madvise(s, W + 4 * PG, PG, GMM_MADV_POPULATE_READ), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W + 4 * PG, PG, GMM_MADV_POPULATE_WRITE), 0);
    assert_int_equal(gmm_sys_madvise(s, W + 6 * PG, PG, GMM_MADV_POPULATE_WRITE), -GMM_EINVAL);
    teardown(sys, s);
}

static void madvise_populate_stops_at_a_hole_with_enomem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_PRIV);
    map_at(s, W + 3 * PG, PG, RW, ANON_PRIV);
    map_at(s, W + 8 * PG, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_POPULATE_WRITE), -GMM_ENOMEM);
    char v[8];
    assert_int_equal(mincore_str(s, W, 2, W + 8 * PG, v), 0);
    assert_string_equal(v, "11");
    assert_int_equal(mincore_str(s, W + 3 * PG, 1, W + 8 * PG, v), 0);
    assert_string_equal(v, "0");
    teardown(sys, s);
}

/* ---- guard regions ---- */

static void madvise_guard_install_makes_every_access_fault(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W + PG, 2 * PG, GMM_MADV_GUARD_INSTALL), 0);
    ASSERT_MAPS(s, anon_line(W, W + 4 * PG, "rw-p"));
    uint8_t v;
    assert_int_equal(gmm_read(s, W + PG, &v, 1), -GMM_EFAULT);
    assert_int_equal(gmm_write(s, W + 2 * PG, &v, 1), -GMM_EFAULT);
    faults.count = 0;
    assert_null(gmm_translate(s, W + PG + 5, GMM_ACCESS_READ));
    assert_int_equal(faults.count, 1);
    assert_int_equal(faults.last.signo, GMM_SIGSEGV);
    assert_int_equal(faults.last.code, GMM_SEGV_MAPERR);
    assert_int_equal(faults.last.addr, W + PG + 5);
    assert_null(gmm_translate(s, W + 2 * PG, GMM_ACCESS_WRITE));
    assert_int_equal(faults.last.code, GMM_SEGV_MAPERR);
    assert_int_equal(get_byte(s, W), 1);
    assert_int_equal(get_byte(s, W + 3 * PG), 4);
    teardown(sys, s);
}

static void madvise_guard_remove_leaves_zeroed_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_GUARD_INSTALL), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_GUARD_REMOVE), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(get_byte(s, W + (uint64_t)i * PG), 0);
    teardown(sys, s);
}

static void madvise_guard_survives_dontneed_free_and_mprotect(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_GUARD_INSTALL), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_FREE), 0);
    assert_int_equal(gmm_sys_mprotect(s, W, 4 * PG, GMM_PROT_READ), 0);
    assert_int_equal(gmm_sys_mprotect(s, W, 4 * PG, RW), 0);
    uint8_t v;
    assert_int_equal(gmm_read(s, W + PG, &v, 1), -GMM_EFAULT);
    assert_int_equal(get_byte(s, W + 2 * PG), 0);
    teardown(sys, s);
}

static void madvise_guard_goes_with_munmap_and_map_fixed(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_GUARD_INSTALL), 0);
    map_at(s, W + PG, PG, RW, ANON_PRIV);
    assert_int_equal(get_byte(s, W + PG), 0);
    assert_int_equal(gmm_sys_munmap(s, W, 4 * PG), 0);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(get_byte(s, W + 2 * PG), 0);
    teardown(sys, s);
}

static void madvise_guard_on_locked_memory_is_einval(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_GUARD_INSTALL), 0);
    assert_int_equal(gmm_sys_mlock(s, W + 2 * PG, 2 * PG), 0);
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, PG, GMM_MADV_GUARD_INSTALL), -GMM_EINVAL);
    /* Removing guards of locked memory is allowed. */
    assert_int_equal(gmm_sys_mlock(s, W, PG), -GMM_ENOMEM);
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_GUARD_REMOVE), 0);
    assert_int_equal(get_byte(s, W), 0);
    teardown(sys, s);
}

static void madvise_guard_blocks_mlock_population(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    gmm_addr vec = map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    map_at(s, W, 8 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, 2 * PG, GMM_MADV_GUARD_INSTALL), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 8 * PG, GMM_MADV_POPULATE_READ), -GMM_EFAULT);
    /* mlock locks the region but populates only up to the guard. */
    assert_int_equal(gmm_sys_mlock(s, W, 8 * PG), -GMM_ENOMEM);
    char v[16];
    assert_int_equal(mincore_str(s, W, 8, vec, v), 0);
    assert_string_equal(v, "11000000");
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me gu lo ac ");
    teardown(sys, s);
}

static void madvise_guard_sets_sticky_flag_without_split(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 2 * PG, RW, ANON_PRIV);
    map_at(s, W + 2 * PG, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, 2 * PG, GMM_MADV_RANDOM), 0);
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, PG, GMM_MADV_GUARD_INSTALL), 0);
    ASSERT_MAPS(s, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 4 * PG, "rw-p")));
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me ac ");
    assert_string_equal(smaps_field(s, W + 2 * PG, "VmFlags"), "rd wr mr mw me gu rr ac ");
    /* The flag does not stop a merge, and the merged region keeps it. */
    assert_int_equal(gmm_sys_madvise(s, W + 2 * PG, 2 * PG, GMM_MADV_NORMAL), 0);
    ASSERT_MAPS(s, anon_line(W, W + 4 * PG, "rw-p"));
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me gu ac ");
    /* Removing the guards leaves it. */
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_GUARD_REMOVE), 0);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me gu ac ");
    teardown(sys, s);
}

static void madvise_guard_gives_anonymous_memory_its_anon_vma(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    map_at(s, W + 8 * PG, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_GUARD_INSTALL), 0);
    assert_int_equal(gmm_sys_madvise(s, W + 9 * PG, PG, GMM_MADV_GUARD_INSTALL), 0);
    /* Filling the gap merges with one side only: two anon_vmas. */
    map_at(s, W + 4 * PG, 4 * PG, RW, ANON_PRIV);
    ASSERT_MAPS(s, LINES(anon_line(W, W + 8 * PG, "rw-p"), anon_line(W + 8 * PG, W + 12 * PG, "rw-p")));
    teardown(sys, s);
}

static void madvise_guard_mincore_private_absent_shared_cached(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    gmm_addr vec = map_at(s, W + 16 * PG, PG, RW, ANON_PRIV);
    map_at(s, W, 2 * PG, RW, ANON_PRIV);
    map_at(s, W + 4 * PG, 2 * PG, RW, ANON_SHARED);
    for (int i = 0; i < 2; i++) {
        put_byte(s, W + (uint64_t)i * PG, 1);
        put_byte(s, W + (uint64_t)(4 + i) * PG, 1);
    }
    assert_int_equal(gmm_sys_madvise(s, W, 6 * PG, GMM_MADV_GUARD_INSTALL), -GMM_ENOMEM);
    char v[8];
    assert_int_equal(mincore_str(s, W, 2, vec, v), 0);
    assert_string_equal(v, "00");
    assert_int_equal(mincore_str(s, W + 4 * PG, 2, vec, v), 0);
    assert_string_equal(v, "11");
    uint8_t b;
    assert_int_equal(gmm_read(s, W + 4 * PG, &b, 1), -GMM_EFAULT);
    teardown(sys, s);
}

static void madvise_guard_survives_fork(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W + PG, PG, GMM_MADV_GUARD_INSTALL), 0);
    gmm_space *c = gmm_space_fork(s);
    uint8_t v;
    assert_int_equal(gmm_read(c, W + PG, &v, 1), -GMM_EFAULT);
    assert_int_equal(get_byte(c, W), 1);
    CHECK(c);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void madvise_guard_in_prot_none_memory_faults_as_access_error(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys);
    map_at(s, W, PG, GMM_PROT_NONE, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_GUARD_INSTALL), 0);
    faults.count = 0;
    assert_null(gmm_translate(s, W, GMM_ACCESS_READ));
    assert_int_equal(faults.last.code, GMM_SEGV_ACCERR);
    teardown(sys, s);
}

/* Truncation zaps the pages beyond the new end but keeps guard markers:
 * only munmap and MADV_GUARD_REMOVE drop them.  Checked on x86-64 Linux
 * 6.18 with a memfd of 4 pages mapped MAP_SHARED and MAP_PRIVATE, each
 * page written, a guard on the last one, ftruncate to 2 pages and back to
 * 4: the guard page gives SIGSEGV/SEGV_MAPERR (not SIGBUS, even while
 * beyond the end) and read(2) into it EFAULT, both times; page 2 gives
 * SIGBUS/BUS_ADRERR while beyond the end and reads 0 after (private copy
 * dropped too); page 1 keeps its byte; after MADV_GUARD_REMOVE the last
 * page reads 0. */
static void faults_of_memfile(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)user;
    record_fault(&faults, space, f);
}

static void assert_segv_maperr(gmm_space *s, gmm_addr a)
{
    uint8_t v = 0xEE;
    assert_int_equal(gmm_read(s, a, &v, 1), -GMM_EFAULT);
    assert_int_equal(gmm_write(s, a, &v, 1), -GMM_EFAULT);
    faults.count = 0;
    assert_null(gmm_translate(s, a, GMM_ACCESS_READ));
    assert_int_equal(faults.count, 1);
    assert_int_equal(faults.last.signo, GMM_SIGSEGV);
    assert_int_equal(faults.last.code, GMM_SEGV_MAPERR);
    assert_int_equal(faults.last.addr, a);
}

static void guard_survives_truncation(int type)
{
    struct memfile_env e;
    gmm_system *sys = memfile_system_faults(&e, 4 * PG, faults_of_memfile);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, W, 4 * PG, RW, type | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)W);
    for (int i = 0; i < 4; i++)
        put_byte(s, W + (uint64_t)i * PG, (uint8_t)('A' + i));
    assert_int_equal(gmm_sys_madvise(s, W + 3 * PG, PG, GMM_MADV_GUARD_INSTALL), 0);

    /* ftruncate(2) of the host file, reported. */
    e.file.size = 2 * PG;
    memset(e.file.data + 2 * PG, 0, 2 * PG);
    gmm_file_resized(sys, 0x801, 77, 2 * PG);
    CHECK(s);
    assert_segv_maperr(s, W + 3 * PG);
    faults.count = 0;
    assert_null(gmm_translate(s, W + 2 * PG, GMM_ACCESS_READ));
    assert_int_equal(faults.count, 1);
    assert_int_equal(faults.last.signo, GMM_SIGBUS);
    assert_int_equal(faults.last.code, GMM_BUS_ADRERR);

    e.file.size = 4 * PG;
    gmm_file_resized(sys, 0x801, 77, 4 * PG);
    CHECK(s);
    assert_segv_maperr(s, W + 3 * PG);
    assert_int_equal(get_byte(s, W + 2 * PG), 0);
    assert_int_equal(get_byte(s, W + PG), 'B');
    assert_int_equal(get_byte(s, W), 'A');

    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_GUARD_REMOVE), 0);
    assert_int_equal(get_byte(s, W + 3 * PG), 0);
    assert_int_equal(get_byte(s, W + PG), 'B');
    teardown(sys, s);
}

static void madvise_guard_survives_truncation_of_a_shared_file_mapping(void **state)
{
    (void)state;
    guard_survives_truncation(GMM_MAP_SHARED);
}

static void madvise_guard_survives_truncation_of_a_private_file_mapping(void **state)
{
    (void)state;
    guard_survives_truncation(GMM_MAP_PRIVATE);
}

/* ---- the rest ---- */

static void madvise_hwpoison_and_soft_offline_are_eperm(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_HWPOISON), -GMM_EPERM);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_SOFT_OFFLINE), -GMM_EPERM);
    /* Unmapped memory too: the privilege is checked first. */
    assert_int_equal(gmm_sys_madvise(s, 0x10000, PG, GMM_MADV_HWPOISON), -GMM_EPERM);
    assert_int_equal(gmm_sys_madvise(s, W + 1, PG, GMM_MADV_HWPOISON), -GMM_EINVAL);
    assert_int_equal(gmm_sys_madvise(s, W, 0, GMM_MADV_HWPOISON), 0);
    assert_int_equal(get_byte(s, W), 1);
    teardown(sys, s);
}

static void madvise_collapse_needs_a_huge_page_worth_of_region(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = four_pages(&sys);
    const gmm_addr H = 0x40000000ull;
    assert_int_equal(gmm_sys_madvise(s, W, 4 * PG, GMM_MADV_COLLAPSE), -GMM_EINVAL);
    map_at(s, H, 4 << 20, RW, ANON_PRIV);
    /* Nothing touched: no page table to collapse. */
    assert_int_equal(gmm_sys_madvise(s, H, 4 << 20, GMM_MADV_COLLAPSE), -GMM_EINVAL);
    put_byte(s, H + 5 * PG, 5);
    assert_int_equal(gmm_sys_madvise(s, H, 2 << 20, GMM_MADV_COLLAPSE), 0);
    assert_int_equal(get_byte(s, H + 5 * PG), 5);
    assert_string_equal(smaps_field(s, H, "Rss"), "2048 kB");
    /* A range holding no aligned huge page has nothing to do. */
    assert_int_equal(gmm_sys_madvise(s, H + (2 << 20), 1 << 20, GMM_MADV_COLLAPSE), 0);
    assert_int_equal(gmm_sys_madvise(s, H, 4 << 20, GMM_MADV_NOHUGEPAGE), 0);
    assert_int_equal(gmm_sys_madvise(s, H, 4 << 20, GMM_MADV_COLLAPSE), -GMM_EINVAL);
    map_at(s, H + (8 << 20), 4 << 20, RW, ANON_SHARED);
    put_byte(s, H + (8 << 20), 1);
    assert_int_equal(gmm_sys_madvise(s, H + (8 << 20), 4 << 20, GMM_MADV_COLLAPSE), -GMM_EINVAL);
    teardown(sys, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(madvise_unknown_advice_is_einval_before_alignment),
        cmocka_unit_test(madvise_len_zero_probes_each_supported_advice),
        cmocka_unit_test(madvise_unaligned_start_is_einval),
        cmocka_unit_test(madvise_length_wrapping_is_einval),
        cmocka_unit_test(madvise_i386_length_does_not_wrap),
        cmocka_unit_test(madvise_unaligned_length_is_rounded_up),
        cmocka_unit_test(madvise_range_past_task_size_is_enomem),
        cmocka_unit_test(madvise_hole_applies_to_mapped_parts_then_enomem),
        cmocka_unit_test(madvise_range_wholly_unmapped_is_enomem),
        cmocka_unit_test(madvise_region_error_wins_over_hole),
        cmocka_unit_test(madvise_flag_advice_splits_region_in_three),
        cmocka_unit_test(madvise_flag_advice_without_change_leaves_region_whole),
        cmocka_unit_test(madvise_flag_advice_sets_its_vmflag),
        cmocka_unit_test(madvise_opposite_advice_replaces_flag),
        cmocka_unit_test(madvise_wipeonfork_on_shared_memory_is_einval),
        cmocka_unit_test(madvise_wipeonfork_on_file_mapping_is_einval),
        cmocka_unit_test(madvise_droppable_refuses_keeponfork_and_dodump),
        cmocka_unit_test(madvise_mergeable_on_shared_memory_changes_nothing),
        cmocka_unit_test(madvise_dontfork_range_is_absent_in_fork_child),
        cmocka_unit_test(madvise_dontfork_shared_memory_child_keeps_the_rest_shared),
        cmocka_unit_test(madvise_wipeonfork_child_reads_zero_parent_keeps),
        cmocka_unit_test(madvise_split_out_of_regions_is_eagain),
        cmocka_unit_test(madvise_dontneed_private_anon_reads_zero),
        cmocka_unit_test(madvise_dontneed_shared_anon_keeps_data),
        cmocka_unit_test(madvise_dontneed_ignores_protection),
        cmocka_unit_test(madvise_dontneed_private_file_page_reverts_to_file),
        cmocka_unit_test(madvise_dontneed_on_locked_memory_is_einval),
        cmocka_unit_test(madvise_dontneed_in_fork_child_leaves_parent),
        cmocka_unit_test(madvise_free_keeps_private_data),
        cmocka_unit_test(madvise_free_on_shared_or_file_memory_is_einval),
        cmocka_unit_test(madvise_remove_shared_memory_reads_zero_everywhere),
        cmocka_unit_test(madvise_remove_read_only_shared_memory_works),
        cmocka_unit_test(madvise_remove_private_or_locked_memory_is_einval),
        cmocka_unit_test(madvise_remove_file_mapping_not_shared_writable_is_eacces),
        cmocka_unit_test(madvise_hints_keep_data),
        cmocka_unit_test(madvise_cold_and_pageout_on_locked_memory_are_einval),
        cmocka_unit_test(madvise_pageout_drops_droppable_pages),
        cmocka_unit_test(madvise_pageout_drops_clean_shared_memory_pages_mapped_once),
        cmocka_unit_test(madvise_willneed_reads_file_pages_in),
        cmocka_unit_test(madvise_populate_read_maps_zero_pages),
        cmocka_unit_test(madvise_populate_needs_the_permission),
        cmocka_unit_test(madvise_populate_stops_at_a_hole_with_enomem),
        cmocka_unit_test(madvise_guard_install_makes_every_access_fault),
        cmocka_unit_test(madvise_guard_remove_leaves_zeroed_pages),
        cmocka_unit_test(madvise_guard_survives_dontneed_free_and_mprotect),
        cmocka_unit_test(madvise_guard_goes_with_munmap_and_map_fixed),
        cmocka_unit_test(madvise_guard_on_locked_memory_is_einval),
        cmocka_unit_test(madvise_guard_blocks_mlock_population),
        cmocka_unit_test(madvise_guard_sets_sticky_flag_without_split),
        cmocka_unit_test(madvise_guard_gives_anonymous_memory_its_anon_vma),
        cmocka_unit_test(madvise_guard_mincore_private_absent_shared_cached),
        cmocka_unit_test(madvise_guard_survives_fork),
        cmocka_unit_test(madvise_guard_in_prot_none_memory_faults_as_access_error),
        cmocka_unit_test(madvise_guard_survives_truncation_of_a_shared_file_mapping),
        cmocka_unit_test(madvise_guard_survives_truncation_of_a_private_file_mapping),
        cmocka_unit_test(madvise_hwpoison_and_soft_offline_are_eperm),
        cmocka_unit_test(madvise_collapse_needs_a_huge_page_worth_of_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
