/*
 * test_brk.c - the raw brk(2) syscall as Linux does it (CONFORMANCE.md
 * section 4) and the [heap] line of /proc/self/maps.
 *
 * Expectations checked on x86-64 Linux 6.18 with a static probe under
 * `setarch -R` (raw SYS_brk, /proc/self/maps around the break).
 */
#include "testutil.h"

/* start_brk of the probe (a static binary, ASLR off): page-aligned, right
 * after its bss. */
#define B 0x4be000ull

static gmm_addr map_fixed(gmm_space *s, gmm_addr a, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, a, len, prot, flags | GMM_MAP_FIXED, -1, 0);
    assert_int_equal(r, (int64_t)a);
    CHECK(s);
    return a;
}

static const char *cat(const char *first, ...)
{
    static char buf[8192];
    va_list ap;
    size_t n = 0;
    buf[0] = '\0';
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *)) {
        size_t l = strlen(p);
        assert_true(n + l < sizeof(buf));
        memcpy(buf + n, p, l + 1);
        n += l;
    }
    va_end(ap);
    return buf;
}
#define LINES(...) cat(__VA_ARGS__, (const char *)NULL)

/* A [heap] line: the prefix padded to 73 bytes, then the name. */
static const char *heap_line(gmm_addr start, gmm_addr end, const char *perms)
{
    static char line[8][160];
    static int i;
    char *l = line[i++ & 7];
    int n = snprintf(l, 160, "%08llx-%08llx %s 00000000 00:00 0 ", (unsigned long long)start,
                     (unsigned long long)end, perms);
    while (n < 73)
        l[n++] = ' ';
    snprintf(l + n, 160 - (size_t)n, "[heap]\n");
    return l;
}

#define BRK(s, v, expect)                                                              \
    do {                                                                               \
        assert_int_equal(gmm_sys_brk((s), (v)), (int64_t)(expect));                   \
        CHECK(s);                                                                      \
    } while (0)

static gmm_system *sys_;
static gmm_space *new_heap_space(gmm_abi abi, gmm_addr start)
{
    sys_ = new_system(NULL);
    gmm_space *s = new_space(sys_, abi);
    assert_int_equal(gmm_space_init_brk(s, start), 0);
    CHECK(s);
    return s;
}

static void done(gmm_space *s)
{
    gmm_space_destroy(s);
    gmm_system_destroy(sys_);
}

/* ---- queries and refusals return the current break ---- */

static void brk_zero_returns_current_break(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, 0, B);
    BRK(s, B + 3 * PG, B + 3 * PG);
    BRK(s, 0, B + 3 * PG);
    ASSERT_MAPS(s, heap_line(B, B + 3 * PG, "rw-p"));
    done(s);
}

static void brk_below_start_returns_current_break(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 2 * PG + 5, B + 2 * PG + 5);
    BRK(s, B - 1, B + 2 * PG + 5);
    BRK(s, 1, B + 2 * PG + 5);
    BRK(s, B - PG, B + 2 * PG + 5);
    ASSERT_MAPS(s, heap_line(B, B + 3 * PG, "rw-p"));
    done(s);
}

static void brk_minus_one_returns_current_break(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, UINT64_MAX, B);
    /* Rounding up wraps. */
    BRK(s, UINT64_MAX - PG, B);
    BRK(s, B + PG, B + PG);
    BRK(s, UINT64_MAX, B + PG);
    ASSERT_MAPS(s, heap_line(B, B + PG, "rw-p"));
    done(s);
}

static void brk_beyond_task_size_returns_old_break(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, 0x800000000000ull, B);
    BRK(s, 0x7ffffffff001ull, B);
    ASSERT_MAPS(s, "");
    done(s);
}

/* ---- exact values ---- */

static void brk_returns_exact_unaligned_value(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 1, B + 1);
    ASSERT_MAPS(s, heap_line(B, B + PG, "rw-p"));
    BRK(s, 0, B + 1);
    done(s);
}

static void brk_cycles_land_exactly(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    /* brk01: +(2 pages - 1), back, -(2 pages - 1), ... */
    gmm_addr cur = B;
    for (int i = 0; i < 6; i++) {
        gmm_addr want = i % 2 == 0 ? cur + 2 * PG - 1 : cur - (2 * PG - 1);
        BRK(s, want, want);
        cur = want;
        BRK(s, 0, cur);
    }
    BRK(s, B + 2 * PG - 1, B + 2 * PG - 1);
    ASSERT_MAPS(s, heap_line(B, B + 2 * PG, "rw-p"));
    BRK(s, B, B);
    ASSERT_MAPS(s, "");
    done(s);
}

static void brk_same_page_change_only_moves_the_value(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 1, B + 1);
    BRK(s, B + 100, B + 100);
    ASSERT_MAPS(s, heap_line(B, B + PG, "rw-p"));
    BRK(s, B + PG, B + PG);
    ASSERT_MAPS(s, heap_line(B, B + PG, "rw-p"));
    BRK(s, B + 7, B + 7);
    ASSERT_MAPS(s, heap_line(B, B + PG, "rw-p"));
    done(s);
}

/* ---- growth and shrink ---- */

static void brk_growth_extends_the_heap_region(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + PG, B + PG);
    BRK(s, B + 3 * PG, B + 3 * PG);
    BRK(s, B + 10 * PG + 1, B + 10 * PG + 1);
    ASSERT_MAPS(s, heap_line(B, B + 11 * PG, "rw-p"));
    done(s);
}

static void brk_heap_is_readable_and_writable(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 2 * PG, B + 2 * PG);
    uint8_t buf[16] = "heap contents!!";
    assert_int_equal(gmm_write(s, B + PG - 8, buf, sizeof(buf)), 0);
    uint8_t got[16] = {0};
    assert_int_equal(gmm_read(s, B + PG - 8, got, sizeof(got)), 0);
    assert_memory_equal(got, buf, sizeof(buf));
    /* Growth keeps what is there. */
    BRK(s, B + 5 * PG, B + 5 * PG);
    memset(got, 0, sizeof(got));
    assert_int_equal(gmm_read(s, B + PG - 8, got, sizeof(got)), 0);
    assert_memory_equal(got, buf, sizeof(buf));
    CHECK(s);
    done(s);
}

static void brk_shrink_unmaps_pages_above_new_break(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 3 * PG, B + 3 * PG);
    BRK(s, B + PG, B + PG);
    ASSERT_MAPS(s, heap_line(B, B + PG, "rw-p"));
    uint8_t v;
    assert_int_equal(gmm_read(s, B + PG, &v, 1), -GMM_EFAULT);
    /* Shrinking to an address inside a page keeps that page. */
    BRK(s, B + 3 * PG, B + 3 * PG);
    BRK(s, B + PG + 1, B + PG + 1);
    ASSERT_MAPS(s, heap_line(B, B + 2 * PG, "rw-p"));
    done(s);
}

static void brk_shrink_to_start_removes_the_heap(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 3 * PG, B + 3 * PG);
    BRK(s, B, B);
    ASSERT_MAPS(s, "");
    done(s);
}

static void brk_regrowth_is_zero_filled(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 3 * PG, B + 3 * PG);
    uint8_t v = 7;
    assert_int_equal(gmm_write(s, B + 2 * PG, &v, 1), 0);
    assert_int_equal(gmm_write(s, B + PG + 100, &v, 1), 0);
    BRK(s, B + PG + 1, B + PG + 1);
    BRK(s, B + 3 * PG, B + 3 * PG);
    /* The page still mapped keeps its byte; the unmapped one is new. */
    assert_int_equal(gmm_read(s, B + PG + 100, &v, 1), 0);
    assert_int_equal(v, 7);
    assert_int_equal(gmm_read(s, B + 2 * PG, &v, 1), 0);
    assert_int_equal(v, 0);
    CHECK(s);
    done(s);
}

/* ---- the next mapping ---- */

static void brk_growth_keeps_one_page_gap_to_next_mapping(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    map_fixed(s, B + 6 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    BRK(s, B + 5 * PG, B + 5 * PG);
    /* One more byte needs the page right below the mapping: refused, and
     * the raw syscall returns the old break, not an errno. */
    BRK(s, B + 5 * PG + 1, B + 5 * PG);
    BRK(s, B + 8 * PG, B + 5 * PG);
    ASSERT_MAPS(s, LINES(heap_line(B, B + 5 * PG, "rw-p"), anon_line(B + 6 * PG, B + 7 * PG, "r--p")));
    done(s);
}

static void brk_growth_keeps_stack_guard_gap_to_growsdown_mapping(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    /* A grows-down region 300 pages up: its 256-page guard gap and one
     * page more must stay free. */
    map_fixed(s, B + 300 * PG, PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN);
    BRK(s, B + 43 * PG, B + 43 * PG);
    BRK(s, B + 43 * PG + 1, B + 43 * PG);
    ASSERT_MAPS(s, LINES(heap_line(B, B + 43 * PG, "rw-p"), anon_line(B + 300 * PG, B + 301 * PG, "rw-p")));
    done(s);
}

static void brk_growth_refused_over_existing_mapping(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + PG, B + PG);
    map_fixed(s, B + 2 * PG, PG, RW, ANON_PRIV);
    /* Adjacent now: the heap cannot grow at all. */
    BRK(s, B + PG + 1, B + PG);
    map_fixed(s, B + PG, PG, GMM_PROT_READ, ANON_PRIV);
    BRK(s, B + 4 * PG, B + PG);
    ASSERT_MAPS(s, LINES(heap_line(B, B + PG, "rw-p"), anon_line(B + PG, B + 2 * PG, "r--p"),
                         anon_line(B + 2 * PG, B + 3 * PG, "rw-p")));
    done(s);
}

static void brk_growth_below_mmap_min_addr_refused(void **state)
{
    (void)state;
    /* An unprivileged process may not map below mmap_min_addr (65536). */
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, 0x8000);
    BRK(s, 0x9000, 0x8000);
    BRK(s, 0, 0x8000);
    ASSERT_MAPS(s, "");
    done(s);
}

/* ---- several regions in the heap range ---- */

static void brk_heap_split_by_mprotect_shows_two_heap_lines(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 2 * PG, B + 2 * PG);
    assert_int_equal(gmm_sys_mprotect(s, B + PG, PG, GMM_PROT_READ), 0);
    ASSERT_MAPS(s, LINES(heap_line(B, B + PG, "rw-p"), heap_line(B + PG, B + 2 * PG, "r--p")));
    done(s);
}

static void brk_grow_after_mprotect_then_shrink_to_start(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    /* brk02: grow 2 pages, mprotect the new one read-only, grow again,
     * then go back to the start: the shrink unmaps several regions. */
    BRK(s, B + 2 * PG, B + 2 * PG);
    assert_int_equal(gmm_sys_mprotect(s, B + PG, PG, GMM_PROT_READ), 0);
    CHECK(s);
    BRK(s, B + 4 * PG, B + 4 * PG);
    ASSERT_MAPS(s, LINES(heap_line(B, B + PG, "rw-p"), heap_line(B + PG, B + 2 * PG, "r--p"),
                         heap_line(B + 2 * PG, B + 4 * PG, "rw-p")));
    BRK(s, B, B);
    ASSERT_MAPS(s, "");
    done(s);
}

static void brk_fixed_mmap_after_heap_merges_and_is_named_heap(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 2 * PG, B + 2 * PG);
    /* Same flags, contiguous: merged into the heap region. */
    map_fixed(s, B + 2 * PG, PG, RW, ANON_PRIV);
    ASSERT_MAPS(s, heap_line(B, B + 3 * PG, "rw-p"));
    /* A mapping further up is not the heap (start >= brk). */
    map_fixed(s, B + 4 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(s, LINES(heap_line(B, B + 3 * PG, "rw-p"), anon_line(B + 4 * PG, B + 5 * PG, "r--p")));
    /* Shrinking unmaps up to the old break only: the mmap'd page above it
     * stays, now unnamed. */
    BRK(s, B, B);
    ASSERT_MAPS(s, LINES(anon_line(B + 2 * PG, B + 3 * PG, "rw-p"), anon_line(B + 4 * PG, B + 5 * PG, "r--p")));
    done(s);
}

static void brk_shrink_fails_when_heap_was_unmapped(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 3 * PG, B + 3 * PG);
    assert_int_equal(gmm_sys_munmap(s, B, 3 * PG), 0);
    CHECK(s);
    /* Nothing between the new and the old break: refused. */
    BRK(s, B + PG, B + 3 * PG);
    ASSERT_MAPS(s, "");
    done(s);
}

static void brk_shrink_unmaps_any_region_below_old_break(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 3 * PG, B + 3 * PG);
    assert_int_equal(gmm_sys_munmap(s, B, 3 * PG), 0);
    /* A mapping inside [start_brk, brk) is named [heap] and is unmapped by
     * the next shrink, brk region or not. */
    map_fixed(s, B + PG, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(s, heap_line(B + PG, B + 2 * PG, "r--p"));
    BRK(s, B, B);
    ASSERT_MAPS(s, "");
    done(s);
}

/* ---- the [heap] name ---- */

static void brk_heap_name_needs_overlap_with_start_brk_to_brk(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 2 * PG + 1, B + 2 * PG + 1);
    /* Ends at start_brk: not the heap.  Starts in brk's page (start <
     * brk): the heap.  Starts above brk: not. */
    map_fixed(s, B - 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(s, B + 4 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(s, LINES(anon_line(B - 2 * PG, B - PG, "r--p"), heap_line(B, B + 3 * PG, "rw-p"),
                         anon_line(B + 4 * PG, B + 5 * PG, "r--p")));
    /* A region straddling start_brk overlaps: named. */
    map_fixed(s, B - PG, 2 * PG, GMM_PROT_NONE, ANON_PRIV);
    ASSERT_MAPS(s, LINES(anon_line(B - 2 * PG, B - PG, "r--p"), heap_line(B - PG, B + PG, "---p"),
                         heap_line(B + PG, B + 3 * PG, "rw-p"), anon_line(B + 4 * PG, B + 5 * PG, "r--p")));
    done(s);
}

static void brk_heap_name_follows_the_current_break(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    /* A mapping at start_brk before any growth: brk == start_brk, so
     * nothing overlaps [start_brk, brk). */
    map_fixed(s, B, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(s, anon_line(B, B + PG, "r--p"));
    done(s);
}

static void brk_does_not_merge_with_region_ending_at_start_brk(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    /* Like the bss of a static binary: an rw-p anonymous region ending at
     * start_brk.  Linux's brk only extends a region above start_brk, so
     * the heap is a separate line (as in every static binary's maps). */
    map_fixed(s, B - 2 * PG, 2 * PG, RW, ANON_PRIV);
    BRK(s, B + PG, B + PG);
    ASSERT_MAPS(s, LINES(anon_line(B - 2 * PG, B, "rw-p"), heap_line(B, B + PG, "rw-p")));
    BRK(s, B + 2 * PG, B + 2 * PG);
    ASSERT_MAPS(s, LINES(anon_line(B - 2 * PG, B, "rw-p"), heap_line(B, B + 2 * PG, "rw-p")));
    done(s);
}

/* ---- resource limits (checked natively with setrlimit + raw brk) ---- */

static void brk_rlimit_data_soft_zero_refuses_growth(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_DATA, 0, GMM_RLIM_INFINITY), 0);
    BRK(s, B + 8192, B);
    BRK(s, B + 1, B);
    BRK(s, B, B);
    ASSERT_MAPS(s, "");
    done(s);
}

static void brk_rlimit_data_bounds_break_minus_start(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_DATA, 2 * PG, 2 * PG), 0);
    BRK(s, B + 2 * PG, B + 2 * PG);
    /* Checked on the unaligned value: one byte more is over. */
    BRK(s, B + 2 * PG + 1, B + 2 * PG);
    ASSERT_MAPS(s, heap_line(B, B + 2 * PG, "rw-p"));
    done(s);
}

static void brk_rlimit_data_checked_before_shrinking(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    BRK(s, B + 4 * PG, B + 4 * PG);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_DATA, PG, GMM_RLIM_INFINITY), 0);
    /* Linux checks the limit before it looks at the direction: a shrink
     * that still ends above the limit is refused. */
    BRK(s, B + 2 * PG, B + 4 * PG);
    ASSERT_MAPS(s, heap_line(B, B + 4 * PG, "rw-p"));
    BRK(s, B + PG, B + PG);
    ASSERT_MAPS(s, heap_line(B, B + PG, "rw-p"));
    done(s);
}

static void brk_rlimit_as_refuses_growth(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_X86_64, B);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_AS, 2 * PG, 2 * PG), 0);
    BRK(s, B + PG, B + PG);
    BRK(s, B + 2 * PG, B + 2 * PG);
    BRK(s, B + 2 * PG + 1, B + 2 * PG);
    ASSERT_MAPS(s, heap_line(B, B + 2 * PG, "rw-p"));
    done(s);
}

/* ---- i386 ---- */

static void brk_i386_heap_and_truncated_argument(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_I386, 0x0804c000);
    BRK(s, 0x0804d123, 0x0804d123);
    /* The compat syscall sees a 32-bit register. */
    BRK(s, 0x10804e000ull, 0x0804e000);
    ASSERT_MAPS(s, heap_line(0x0804c000, 0x0804e000, "rw-p"));
    BRK(s, 0, 0x0804e000);
    done(s);
}

static void brk_i386_cannot_reach_past_task_size(void **state)
{
    (void)state;
    gmm_space *s = new_heap_space(GMM_ABI_I386, 0xfffe0000);
    BRK(s, 0xfffef000, 0xfffef000);
    /* The task ends at 0xffffe000: the new range must fit below it (a
     * 64-bit kernel rounds 0xffffffff up to 2^32, which does not). */
    BRK(s, 0xffffe001, 0xfffef000);
    BRK(s, 0xffffffff, 0xfffef000);
    ASSERT_MAPS(s, heap_line(0xfffe0000, 0xfffef000, "rw-p"));
    done(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(brk_zero_returns_current_break),
        cmocka_unit_test(brk_below_start_returns_current_break),
        cmocka_unit_test(brk_minus_one_returns_current_break),
        cmocka_unit_test(brk_beyond_task_size_returns_old_break),
        cmocka_unit_test(brk_returns_exact_unaligned_value),
        cmocka_unit_test(brk_cycles_land_exactly),
        cmocka_unit_test(brk_same_page_change_only_moves_the_value),
        cmocka_unit_test(brk_growth_extends_the_heap_region),
        cmocka_unit_test(brk_heap_is_readable_and_writable),
        cmocka_unit_test(brk_shrink_unmaps_pages_above_new_break),
        cmocka_unit_test(brk_shrink_to_start_removes_the_heap),
        cmocka_unit_test(brk_regrowth_is_zero_filled),
        cmocka_unit_test(brk_growth_keeps_one_page_gap_to_next_mapping),
        cmocka_unit_test(brk_growth_keeps_stack_guard_gap_to_growsdown_mapping),
        cmocka_unit_test(brk_growth_refused_over_existing_mapping),
        cmocka_unit_test(brk_growth_below_mmap_min_addr_refused),
        cmocka_unit_test(brk_heap_split_by_mprotect_shows_two_heap_lines),
        cmocka_unit_test(brk_grow_after_mprotect_then_shrink_to_start),
        cmocka_unit_test(brk_fixed_mmap_after_heap_merges_and_is_named_heap),
        cmocka_unit_test(brk_shrink_fails_when_heap_was_unmapped),
        cmocka_unit_test(brk_shrink_unmaps_any_region_below_old_break),
        cmocka_unit_test(brk_heap_name_needs_overlap_with_start_brk_to_brk),
        cmocka_unit_test(brk_heap_name_follows_the_current_break),
        cmocka_unit_test(brk_does_not_merge_with_region_ending_at_start_brk),
        cmocka_unit_test(brk_rlimit_data_soft_zero_refuses_growth),
        cmocka_unit_test(brk_rlimit_data_bounds_break_minus_start),
        cmocka_unit_test(brk_rlimit_data_checked_before_shrinking),
        cmocka_unit_test(brk_rlimit_as_refuses_growth),
        cmocka_unit_test(brk_i386_heap_and_truncated_argument),
        cmocka_unit_test(brk_i386_cannot_reach_past_task_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
