/*
 * test_layout.c - where mmap(0, ...) puts things: Linux's no-ASLR layout
 * for x86-64 (mmap_base 0x7ffff7fff000) and for i386 compat tasks
 * (mmap_base 0xf7ffe000), the top-down search, its bottom-up fallback from
 * the legacy base when the space below mmap_base is full, the lowest
 * address (mmap_min_addr, never 0), and gmm_space_create's ABI check.
 *
 * The sequences were replayed natively under `setarch -R` (a static x86-64
 * program and a static i386 program on this 6.18 kernel): the native
 * addresses are these minus the pages vvar/vdso occupy just below
 * mmap_base, and the bottom-up fallback returns exactly these addresses.
 */
#include "testutil.h"

#define TASK64 0x7FFFFFFFF000ull
#define BASE64 0x7FFFF7FFF000ull
#define TASK32 0xFFFFE000ull
#define BASE32 0xF7FFE000ull
#define MB (1ull << 20)

struct env {
    struct fault_log log;
    gmm_system *sys;
    gmm_space *s;
};

static void env_open(struct env *e, gmm_abi abi)
{
    e->sys = new_system(&e->log);
    e->s = new_space(e->sys, abi);
    CHECK(e->s);
}

static void env_close(struct env *e)
{
    CHECK(e->s);
    gmm_space_destroy(e->s);
    gmm_system_destroy(e->sys);
}

static int64_t mm(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, addr, len, prot, flags, -1, 0);
    CHECK(s);
    return r;
}

static void map_at(gmm_space *s, gmm_addr addr, uint64_t len, int prot)
{
    assert_int_equal(mm(s, addr, len, prot, ANON_PRIV | GMM_MAP_FIXED), addr);
}

static int64_t unmap(gmm_space *s, gmm_addr addr, uint64_t len)
{
    int64_t r = gmm_sys_munmap(s, addr, len);
    CHECK(s);
    return r;
}

static const char *L(const char *first, ...)
{
    static char buf[4][8192];
    static int k;
    char *b = buf[k++ & 3];
    b[0] = '\0';
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        strcat(b, p);
    va_end(ap);
    return b;
}

/* ---- spaces ---- */

static void layout_space_create_invalid_abi_returns_null(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    assert_null(gmm_space_create(sys, (gmm_abi)0));
    assert_null(gmm_space_create(sys, (gmm_abi)3));
    assert_null(gmm_space_create(sys, (gmm_abi)-1));
    assert_null(gmm_space_create(sys, (gmm_abi)64));
    gmm_space *a = gmm_space_create(sys, GMM_ABI_I386);
    gmm_space *b = gmm_space_create(sys, GMM_ABI_X86_64);
    assert_non_null(a);
    assert_non_null(b);
    CHECK(a);
    CHECK(b);
    assert_int_equal(gmm_space_abi(a), GMM_ABI_I386);
    assert_int_equal(gmm_space_abi(b), GMM_ABI_X86_64);
    gmm_space_destroy(a);
    gmm_space_destroy(b);
    gmm_system_destroy(sys);
}

static void layout_new_space_is_empty(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        char buf[4] = "xyz";
        assert_int_equal(gmm_space_maps(e.s, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "");
        ASSERT_MAPS(e.s, "");
        env_close(&e);
    }
}

static void layout_spaces_have_independent_layouts(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *a = new_space(sys, GMM_ABI_X86_64);
    gmm_space *b = new_space(sys, GMM_ABI_X86_64);
    gmm_space *c = new_space(sys, GMM_ABI_I386);
    assert_int_equal(mm(a, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(b, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(c, 0, PG, RW, ANON_PRIV), BASE32 - PG);
    assert_int_equal(mm(a, 0, PG, GMM_PROT_READ, ANON_PRIV), BASE64 - 2 * PG);
    ASSERT_MAPS(b, anon_line(BASE64 - PG, BASE64, "rw-p"));
    ASSERT_MAPS(c, anon_line(BASE32 - PG, BASE32, "rw-p"));
    gmm_space_destroy(a);
    gmm_space_destroy(b);
    gmm_space_destroy(c);
    gmm_system_destroy(sys);
}

/* ---- top-down from mmap_base ---- */

static void layout_x86_64_successive_mmaps_go_down_from_mmap_base(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    /* mmap_base = 0x7ffffffff000 - 128 MiB. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0x7FFFF7FFE000);
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV), 0x7FFFF7FFC000);
    assert_int_equal(mm(e.s, 0, 3 * PG, GMM_PROT_READ, ANON_PRIV), 0x7FFFF7FF9000);
    /* 2 MiB: THP-aligned, leaving a gap above it ... */
    assert_int_equal(mm(e.s, 0, 2 * MB, RW, ANON_PRIV), 0x7FFFF7C00000);
    /* ... that the next small mappings fill first. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0x7FFFF7FF8000);
    /* 3 MiB does not fit the gap above the 2 MiB one: below it. */
    assert_int_equal(mm(e.s, 0, 3 * MB, RW, ANON_PRIV), 0x7FFFF7900000);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0x7FFFF7FF7000);
    ASSERT_MAPS(e.s, L(anon_line(0x7FFFF7900000, 0x7FFFF7E00000, "rw-p"),
                       anon_line(0x7FFFF7FF7000, 0x7FFFF7FF9000, "rw-p"),
                       anon_line(0x7FFFF7FF9000, 0x7FFFF7FFC000, "r--p"),
                       anon_line(0x7FFFF7FFC000, 0x7FFFF7FFF000, "rw-p"), NULL));
    env_close(&e);
}

static void layout_i386_successive_mmaps_go_down_from_mmap_base(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    /* Compat task: task size 0xffffe000, mmap_base 128 MiB below it. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0xF7FFD000);
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV), 0xF7FFB000);
    assert_int_equal(mm(e.s, 0, 3 * PG, GMM_PROT_READ, ANON_PRIV), 0xF7FF8000);
    /* No THP alignment for a compat syscall, no MAP_32BIT window. */
    assert_int_equal(mm(e.s, 0, 2 * MB, RW, ANON_PRIV), 0xF7DF8000);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV | GMM_MAP_32BIT), 0xF7DF7000);
    assert_int_equal(mm(e.s, 0, 4 * MB, RW, ANON_PRIV), 0xF79F7000);
    assert_int_equal(gmm_sys_mmap2(e.s, 0, PG, RW, ANON_PRIV, -1, 0xFFFFFFFF), 0xF79F6000);
    CHECK(e.s);
    assert_int_equal(mm(e.s, 0, 2 * MB, RW, ANON_SHARED), 0xF77F6000);
    char shm[160], prefix[100];
    snprintf(prefix, sizeof(prefix), "%08llx-%08llx rw-s 00000000 00:01 1024 ",
             0xF77F6000ull, 0xF79F6000ull);
    snprintf(shm, sizeof(shm), "%-72s /dev/zero (deleted)\n", prefix);
    ASSERT_MAPS(e.s, L(shm, anon_line(0xF79F6000, 0xF7FF8000, "rw-p"),
                       anon_line(0xF7FF8000, 0xF7FFB000, "r--p"),
                       anon_line(0xF7FFB000, 0xF7FFE000, "rw-p"), NULL));
    env_close(&e);
}

static void layout_topdown_takes_the_highest_fitting_gap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - 3 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV), BASE64 - 4 * PG);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - 5 * PG);
    assert_int_equal(unmap(e.s, BASE64 - 2 * PG, PG), 0);
    assert_int_equal(unmap(e.s, BASE64 - 4 * PG, PG), 0);
    /* Two one-page holes: a two-page mapping fits only lower down ... */
    assert_int_equal(mm(e.s, 0, 2 * PG, GMM_PROT_NONE, ANON_PRIV), BASE64 - 7 * PG);
    /* ... and single pages go to the highest hole first. */
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_EXEC, ANON_PRIV), BASE64 - 2 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_EXEC, ANON_PRIV), BASE64 - 4 * PG);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_EXEC, ANON_PRIV), BASE64 - 8 * PG);
    ASSERT_MAPS(e.s, L(anon_line(BASE64 - 8 * PG, BASE64 - 7 * PG, "--xp"),
                       anon_line(BASE64 - 7 * PG, BASE64 - 5 * PG, "---p"),
                       anon_line(BASE64 - 5 * PG, BASE64 - 4 * PG, "rw-p"),
                       anon_line(BASE64 - 4 * PG, BASE64 - 3 * PG, "--xp"),
                       anon_line(BASE64 - 3 * PG, BASE64 - 2 * PG, "rw-p"),
                       anon_line(BASE64 - 2 * PG, BASE64 - PG, "--xp"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void layout_topdown_search_keeps_no_cursor(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    /* A hinted or fixed mapping elsewhere changes nothing at the top. */
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV), 0x30000000);
    map_at(e.s, 0x40000000, PG, RW);
    assert_int_equal(mm(e.s, 0, PG, GMM_PROT_READ, ANON_PRIV), BASE64 - 2 * PG);
    /* Freeing the top makes the next search start at mmap_base again. */
    assert_int_equal(unmap(e.s, BASE64 - 2 * PG, 2 * PG), 0);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64 - PG);
    ASSERT_MAPS(e.s, L(anon_line(0x30000000, 0x30001000, "rw-p"),
                       anon_line(0x40000000, 0x40001000, "rw-p"),
                       anon_line(BASE64 - PG, BASE64, "rw-p"), NULL));
    env_close(&e);
}

static void layout_topdown_never_goes_above_mmap_base(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    static const gmm_addr bases[] = {BASE64, BASE32};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        gmm_addr base = bases[i];
        /* The 128 MiB between mmap_base and the task end stay free. */
        map_at(e.s, base - PG, PG, GMM_PROT_READ);
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), base - 2 * PG);
        ASSERT_MAPS(e.s, L(anon_line(base - 2 * PG, base - PG, "rw-p"),
                           anon_line(base - PG, base, "r--p"), NULL));
        env_close(&e);
    }
}

/* ---- the bottom-up fallback ---- */

static void layout_x86_64_bottomup_fallback_when_topdown_space_is_full(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    map_at(e.s, 0x10000, BASE64 - 0x10000, GMM_PROT_NONE);
    /* arch_get_unmapped_area(): lowest fit above the legacy base
     * (0x2aaaaaaab000), which here is mmap_base itself. */
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), BASE64);
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV), BASE64 + PG);
    /* 2 MiB: the fit for len + 2 MiB at 0x7ffff8002000, rounded up. */
    assert_int_equal(mm(e.s, 0, 2 * MB, RW, ANON_PRIV), 0x7FFFF8200000);
    ASSERT_MAPS(e.s, L(anon_line(0x10000, BASE64, "---p"), anon_line(BASE64, BASE64 + 3 * PG, "rw-p"),
                       anon_line(0x7FFFF8200000, 0x7FFFF8400000, "rw-p"), NULL));
    env_close(&e);
}

static void layout_i386_bottomup_fallback_when_topdown_space_is_full(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    map_at(e.s, 0x10000, BASE32 - 0x10000, GMM_PROT_NONE);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0xF7FFE000);
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV), 0xF7FFF000);
    /* Holes below mmap_base are found by the top-down search again,
     * highest first; only then does the fallback continue upwards. */
    assert_int_equal(unmap(e.s, 0x60000000, PG), 0);
    assert_int_equal(unmap(e.s, 0x20000000, PG), 0);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0x60000000);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0x20000000);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0xF8001000);
    ASSERT_MAPS(e.s, L(anon_line(0x10000, 0x20000000, "---p"),
                       anon_line(0x20000000, 0x20001000, "rw-p"),
                       anon_line(0x20001000, 0x60000000, "---p"),
                       anon_line(0x60000000, 0x60001000, "rw-p"),
                       anon_line(0x60001000, BASE32, "---p"),
                       anon_line(BASE32, 0xF8002000, "rw-p"), NULL));
    env_close(&e);
}

static void layout_bottomup_fallback_uses_a_gap_straddling_mmap_base(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    map_at(e.s, 0x10000, BASE32 - PG - 0x10000, GMM_PROT_NONE);
    map_at(e.s, BASE32 + PG, PG, GMM_PROT_READ);
    /* One free page below mmap_base, one above: the top-down search
     * (limited to mmap_base) cannot fit two pages, the bottom-up one can. */
    assert_int_equal(mm(e.s, 0, 2 * PG, RW, ANON_PRIV), BASE32 - PG);
    ASSERT_MAPS(e.s, L(anon_line(0x10000, BASE32 - PG, "---p"),
                       anon_line(BASE32 - PG, BASE32 + PG, "rw-p"),
                       anon_line(BASE32 + PG, BASE32 + 2 * PG, "r--p"), NULL));
    env_close(&e);
}

static void layout_bottomup_fallback_exhausted_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_I386);
    map_at(e.s, 0x10000, TASK32 - 0x10000, GMM_PROT_NONE);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0x30000000, PG, RW, ANON_PRIV), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, anon_line(0x10000, TASK32, "---p"));
    env_close(&e);

    env_open(&e, GMM_ABI_X86_64);
    map_at(e.s, 0x10000, TASK64 - 0x10000, GMM_PROT_NONE);
    assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), -GMM_ENOMEM);
    assert_int_equal(mm(e.s, 0, 2 * MB, RW, ANON_PRIV), -GMM_ENOMEM);
    ASSERT_MAPS(e.s, anon_line(0x10000, TASK64, "---p"));
    env_close(&e);
}

/* ---- the bottom of the space ---- */

static void layout_mmap_never_returns_zero(void **state)
{
    (void)state;
    static const gmm_abi abis[] = {GMM_ABI_X86_64, GMM_ABI_I386};
    static const gmm_addr tasks[] = {TASK64, TASK32};
    for (int i = 0; i < 2; i++) {
        struct env e;
        env_open(&e, abis[i]);
        /* All free space is below mmap_min_addr, plus one page at it. */
        map_at(e.s, 0x11000, tasks[i] - 0x11000, GMM_PROT_NONE);
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), 0x10000);
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_PRIV), -GMM_ENOMEM);
        assert_int_equal(mm(e.s, 0x1000, PG, RW, ANON_PRIV), -GMM_ENOMEM);
        assert_int_equal(mm(e.s, 0, PG, RW, ANON_SHARED), -GMM_ENOMEM);
        ASSERT_MAPS(e.s, L(anon_line(0x10000, 0x11000, "rw-p"),
                           anon_line(0x11000, tasks[i], "---p"), NULL));
        env_close(&e);
    }
}

static void layout_lowest_topdown_address_is_mmap_min_addr(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, GMM_ABI_X86_64);
    map_at(e.s, 0x20000, BASE64 - 0x20000, GMM_PROT_NONE);
    assert_int_equal(mm(e.s, 0, 0x10000, RW, ANON_PRIV), 0x10000);
    ASSERT_MAPS(e.s, L(anon_line(0x10000, 0x20000, "rw-p"), anon_line(0x20000, BASE64, "---p"),
                       NULL));
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_space_create_invalid_abi_returns_null),
        cmocka_unit_test(layout_new_space_is_empty),
        cmocka_unit_test(layout_spaces_have_independent_layouts),
        cmocka_unit_test(layout_x86_64_successive_mmaps_go_down_from_mmap_base),
        cmocka_unit_test(layout_i386_successive_mmaps_go_down_from_mmap_base),
        cmocka_unit_test(layout_topdown_takes_the_highest_fitting_gap),
        cmocka_unit_test(layout_topdown_search_keeps_no_cursor),
        cmocka_unit_test(layout_topdown_never_goes_above_mmap_base),
        cmocka_unit_test(layout_x86_64_bottomup_fallback_when_topdown_space_is_full),
        cmocka_unit_test(layout_i386_bottomup_fallback_when_topdown_space_is_full),
        cmocka_unit_test(layout_bottomup_fallback_uses_a_gap_straddling_mmap_base),
        cmocka_unit_test(layout_bottomup_fallback_exhausted_is_enomem),
        cmocka_unit_test(layout_mmap_never_returns_zero),
        cmocka_unit_test(layout_lowest_topdown_address_is_mmap_min_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
