/*
 * test_mprotect.c - mprotect(2) as Linux does it (CONFORMANCE.md section 3,
 * and the merge/split rules of section 12 that mprotect exercises).
 *
 * Every expectation here was checked on an x86-64 Linux 6.18 kernel with a
 * raw-syscall probe run under `setarch -R` (MAP_FIXED mappings at
 * 0x200000000, /proc/self/maps compared line by line).
 */
#include "testutil.h"

#define W 0x200000000ull

/* ---- helpers ---- */

static gmm_addr map_fixed(gmm_space *s, gmm_addr a, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, a, len, prot, flags | GMM_MAP_FIXED, -1, 0);
    assert_int_equal(r, (int64_t)a);
    CHECK(s);
    return a;
}

/* Concatenation of NULL-terminated strings, in a static buffer. */
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

/* A maps line of a shared anonymous mapping ("/dev/zero (deleted)"). */
static const char *shm_line(gmm_addr start, gmm_addr end, const char *perms, uint64_t off,
                            unsigned long long ino)
{
    static char line[4][160];
    static int i;
    char *l = line[i++ & 3];
    int n = snprintf(l, 160, "%08llx-%08llx %s %08llx 00:01 %llu ", (unsigned long long)start,
                     (unsigned long long)end, perms, (unsigned long long)off, ino);
    while (n < 73)
        l[n++] = ' ';
    snprintf(l + n, 160 - (size_t)n, "/dev/zero (deleted)\n");
    return l;
}

/* The inode printed on the first maps line (a shared anonymous mapping). */
static unsigned long long first_ino(gmm_space *s)
{
    unsigned long long a, b, off, ino;
    char perms[8];
    unsigned maj, min;
    assert_int_equal(sscanf(maps_of(s), "%llx-%llx %7s %llx %x:%x %llu", &a, &b, perms, &off,
                            &maj, &min, &ino),
                     7);
    return ino;
}

static void write_byte(gmm_space *s, gmm_addr a, uint8_t v)
{
    assert_int_equal(gmm_write(s, a, &v, 1), 0);
    CHECK(s);
}

static uint8_t read_byte(gmm_space *s, gmm_addr a)
{
    uint8_t v = 0xAA;
    assert_int_equal(gmm_read(s, a, &v, 1), 0);
    CHECK(s);
    return v;
}

#define MPROTECT(s, a, l, p, expect)                                                   \
    do {                                                                               \
        assert_int_equal(gmm_sys_mprotect((s), (a), (l), (p)), (expect));              \
        CHECK(s);                                                                      \
    } while (0)

struct fixture {
    struct fault_log log;
    gmm_system *sys;
    gmm_space *s;
};

static struct fixture *setup(gmm_abi abi)
{
    static struct fixture f;
    f.sys = new_system(&f.log);
    f.s = new_space(f.sys, abi);
    return &f;
}

static void teardown(struct fixture *f)
{
    gmm_space_destroy(f->s);
    gmm_system_destroy(f->sys);
}

/* ---- check order ---- */

static void mprotect_growsdown_and_growsup_together_einval_before_everything(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    int both = GMM_PROT_READ | GMM_PROT_GROWSDOWN | GMM_PROT_GROWSUP;
    /* Before the length check: len 0 would otherwise return 0. */
    MPROTECT(f->s, W, 0, both, -GMM_EINVAL);
    MPROTECT(f->s, W + 1, PG, both, -GMM_EINVAL);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, PG, both, -GMM_EINVAL);
    ASSERT_MAPS(f->s, anon_line(W, W + PG, "rw-p"));
    teardown(f);
}

static void mprotect_unaligned_start_einval_before_len_zero(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W + 1, 0, GMM_PROT_READ, -GMM_EINVAL);
    MPROTECT(f->s, W + 1, PG, GMM_PROT_READ, -GMM_EINVAL);
    MPROTECT(f->s, W + PG - 1, PG, GMM_PROT_READ, -GMM_EINVAL);
    /* Before the prot check too. */
    MPROTECT(f->s, W + 1, PG, 0x10, -GMM_EINVAL);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "rw-p"));
    teardown(f);
}

static void mprotect_len_zero_returns_0_before_prot_check(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    /* Unknown prot bits and no mapping at all: still 0. */
    MPROTECT(f->s, W, 0, 0x10, 0);
    MPROTECT(f->s, W, 0, 0x00fffff0, 0);
    MPROTECT(f->s, 0, 0, GMM_PROT_READ, 0);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, 0, GMM_PROT_NONE, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + PG, "rw-p"));
    teardown(f);
}

static void mprotect_wrapping_len_enomem_before_prot_check(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    /* start + len wraps past 2^64. */
    MPROTECT(f->s, W, 0 - PG, GMM_PROT_READ, -GMM_ENOMEM);
    MPROTECT(f->s, W, 0 - PG, 0x10, -GMM_ENOMEM);
    /* len = SIZE_MAX page-aligns to 0, so end == start. */
    MPROTECT(f->s, W, UINT64_MAX, GMM_PROT_READ, -GMM_ENOMEM);
    MPROTECT(f->s, W, UINT64_MAX - PG + 2, GMM_PROT_READ, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, anon_line(W, W + PG, "rw-p"));
    teardown(f);
}

static void mprotect_unknown_prot_bits_einval_before_lookup(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    /* Nothing mapped: EINVAL (prot), not ENOMEM (lookup). */
    MPROTECT(f->s, W, PG, 0x10, -GMM_EINVAL);
    MPROTECT(f->s, W, PG, GMM_PROT_READ | 0x80, -GMM_EINVAL);
    MPROTECT(f->s, W, PG, (int)0x80000000u, -GMM_EINVAL);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, PG, GMM_PROT_READ | 0x10, -GMM_EINVAL);
    ASSERT_MAPS(f->s, anon_line(W, W + PG, "rw-p"));
    teardown(f);
}

static void mprotect_prot_sem_accepted_and_invisible(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, PG, GMM_PROT_READ | GMM_PROT_SEM, 0);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_SEM, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "r--p"), anon_line(W + PG, W + 2 * PG, "---p")));
    teardown(f);
}

/* ---- lookup ---- */

static void mprotect_unmapped_start_enomem(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    MPROTECT(f->s, 0, PG + 1, GMM_PROT_READ, -GMM_ENOMEM);
    MPROTECT(f->s, W, PG, GMM_PROT_READ, -GMM_ENOMEM);
    /* Beyond the task size: no region there either. */
    MPROTECT(f->s, 0x800000000000ull, PG, GMM_PROT_READ, -GMM_ENOMEM);
    MPROTECT(f->s, 0xfffffffffffff000ull, PG - 1, GMM_PROT_READ, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, "");
    teardown(f);
}

static void mprotect_start_in_hole_enomem_changes_nothing(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W + 2 * PG, 2 * PG, RW, ANON_PRIV);
    /* The range reaches the mapping, but its first page is a hole. */
    MPROTECT(f->s, W + PG, 3 * PG, GMM_PROT_READ, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, anon_line(W + 2 * PG, W + 4 * PG, "rw-p"));
    teardown(f);
}

static void mprotect_hole_enomem_after_changing_part_before_hole(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    map_fixed(f->s, W + 3 * PG, PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, 4 * PG, GMM_PROT_READ, -GMM_ENOMEM);
    /* Linux applies the change up to the hole, then fails. */
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "r--p"),
                            anon_line(W + 3 * PG, W + 4 * PG, "rw-p")));
    teardown(f);
}

static void mprotect_hole_enomem_splits_region_before_hole(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    map_fixed(f->s, W + 4 * PG, PG, RW, ANON_PRIV);
    MPROTECT(f->s, W + PG, 4 * PG, GMM_PROT_NONE, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 3 * PG, "---p"),
                            anon_line(W + 4 * PG, W + 5 * PG, "rw-p")));
    teardown(f);
}

static void mprotect_hole_after_unchanged_and_merged_regions(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, RW, ANON_PRIV);
    /* The first region already has the prot (skipped), the second changes
     * and merges into it, then the hole fails the call. */
    MPROTECT(f->s, W, 3 * PG, GMM_PROT_READ, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "r--p"));
    teardown(f);
}

static void mprotect_trailing_hole_enomem_after_changing_mapped_part(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, 3 * PG, GMM_PROT_READ, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "r--p"));
    teardown(f);
}

static void mprotect_multiple_regions_without_hole_succeeds(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_NONE, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "r--p"), anon_line(W + PG, W + 2 * PG, "rw-p"),
                            anon_line(W + 2 * PG, W + 3 * PG, "---p")));
    MPROTECT(f->s, W, 3 * PG, GMM_PROT_READ | GMM_PROT_EXEC, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "r-xp"));
    teardown(f);
}

static void mprotect_unaligned_len_rounds_up_to_pages(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, PG + 1, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "r--p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    teardown(f);
}

/* ---- PROT_GROWSDOWN / PROT_GROWSUP ---- */

static void mprotect_growsdown_on_plain_region_einval(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ | GMM_PROT_GROWSDOWN, -GMM_EINVAL);
    MPROTECT(f->s, W, PG, GMM_PROT_READ | GMM_PROT_GROWSDOWN, -GMM_EINVAL);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "rw-p"));
    teardown(f);
}

static void mprotect_growsup_einval_on_x86(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    map_fixed(f->s, W + 0x100000, PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN);
    /* No x86 region grows up. */
    MPROTECT(f->s, W, PG, GMM_PROT_READ | GMM_PROT_GROWSUP, -GMM_EINVAL);
    MPROTECT(f->s, W + 0x100000, PG, GMM_PROT_READ | GMM_PROT_GROWSUP, -GMM_EINVAL);
    /* An unmapped start fails the lookup first. */
    MPROTECT(f->s, W + 2 * PG, PG, GMM_PROT_READ | GMM_PROT_GROWSUP, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "rw-p"),
                            anon_line(W + 0x100000, W + 0x101000, "rw-p")));
    teardown(f);
}

static void mprotect_growsdown_extends_range_to_region_start(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    gmm_addr g = W + 0x100000;
    map_fixed(f->s, g, 4 * PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN);
    MPROTECT(f->s, g + 2 * PG, PG, GMM_PROT_READ | GMM_PROT_GROWSDOWN, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(g, g + 3 * PG, "r--p"), anon_line(g + 3 * PG, g + 4 * PG, "rw-p")));
    /* The split-off upper part is still grows-down: the same again there
     * extends to its own start, and the result merges with the part below. */
    MPROTECT(f->s, g + 3 * PG, PG, GMM_PROT_READ | GMM_PROT_GROWSDOWN, 0);
    ASSERT_MAPS(f->s, anon_line(g, g + 4 * PG, "r--p"));
    teardown(f);
}

static void mprotect_growsdown_from_hole_below_applies_from_region_start(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    gmm_addr g = W + 0x100000;
    map_fixed(f->s, g, 4 * PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN);
    /* The range starts in the hole below; Linux takes the first region
     * that intersects it and starts at that region's start. */
    MPROTECT(f->s, g - 2 * PG, 3 * PG, GMM_PROT_NONE | GMM_PROT_GROWSDOWN, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(g, g + PG, "---p"), anon_line(g + PG, g + 4 * PG, "rw-p")));
    /* A range that ends before the region intersects nothing. */
    MPROTECT(f->s, g - 2 * PG, 2 * PG, GMM_PROT_NONE | GMM_PROT_GROWSDOWN, -GMM_ENOMEM);
    /* Without PROT_GROWSDOWN a range starting in the hole fails. */
    MPROTECT(f->s, g - PG, 2 * PG, GMM_PROT_READ, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, LINES(anon_line(g, g + PG, "---p"), anon_line(g + PG, g + 4 * PG, "rw-p")));
    teardown(f);
}

static void mprotect_plain_on_growsdown_region_splits_normally(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    gmm_addr g = W + 0x100000;
    map_fixed(f->s, g, 4 * PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN);
    MPROTECT(f->s, g + PG, PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(g, g + PG, "rw-p"), anon_line(g + PG, g + 2 * PG, "r--p"),
                            anon_line(g + 2 * PG, g + 4 * PG, "rw-p")));
    teardown(f);
}

/* ---- split and merge ---- */

static void mprotect_middle_page_splits_into_three(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "r--p"),
                            anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    teardown(f);
}

static void mprotect_restore_remerges_untouched(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    MPROTECT(f->s, W + PG, PG, RW, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "rw-p"));
    teardown(f);
}

static void mprotect_restore_remerges_written(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    write_byte(f->s, W, 1);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "r--p"),
                            anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    MPROTECT(f->s, W + PG, PG, RW, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "rw-p"));
    /* The middle page written too: the halves share one anon identity. */
    write_byte(f->s, W + PG, 2);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    MPROTECT(f->s, W + PG, PG, RW, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "rw-p"));
    assert_int_equal(read_byte(f->s, W), 1);
    assert_int_equal(read_byte(f->s, W + PG), 2);
    teardown(f);
}

static void mprotect_same_prot_does_not_split(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W + PG, PG, RW, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "rw-p"));
    write_byte(f->s, W + PG, 1);
    MPROTECT(f->s, W + PG, PG, RW | GMM_PROT_SEM, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "rw-p"));
    map_fixed(f->s, W + 4 * PG, 3 * PG, GMM_PROT_NONE, ANON_PRIV);
    MPROTECT(f->s, W + 5 * PG, PG, GMM_PROT_NONE, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 3 * PG, "rw-p"), anon_line(W + 4 * PG, W + 7 * PG, "---p")));
    teardown(f);
}

static void mprotect_merges_with_both_neighbours(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "r--p"));
    teardown(f);
}

static void mprotect_partial_merges_into_left_neighbour(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(f->s, W + PG, 3 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "r--p"), anon_line(W + 2 * PG, W + 4 * PG, "rw-p")));
    /* And the tail into the right neighbour. */
    map_fixed(f->s, W + 4 * PG, PG, GMM_PROT_NONE, ANON_PRIV);
    MPROTECT(f->s, W + 3 * PG, PG, GMM_PROT_NONE, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "r--p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p"),
                            anon_line(W + 3 * PG, W + 5 * PG, "---p")));
    teardown(f);
}

/* ---- VM_ACCOUNT ---- */

static void mprotect_untouched_rw_to_r_merges_with_fresh_r_neighbour(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, W, 2 * PG, GMM_PROT_READ, 0);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    /* Never faulted: the VM_ACCOUNT charge was given back. */
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "r--p"));
    teardown(f);
}

static void mprotect_written_rw_to_r_keeps_account_and_does_not_merge(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    write_byte(f->s, W, 1);
    MPROTECT(f->s, W, 2 * PG, GMM_PROT_READ, 0);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "r--p"), anon_line(W + 2 * PG, W + 3 * PG, "r--p")));
    /* Both made writable again: the fresh one is charged now, and the
     * two merge. */
    MPROTECT(f->s, W, 3 * PG, RW, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "rw-p"));
    assert_int_equal(read_byte(f->s, W), 1);
    teardown(f);
}

static void mprotect_untouched_rw_to_r_merges_with_existing_r_next(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "r--p")));
    MPROTECT(f->s, W, 2 * PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "r--p"));
    teardown(f);
}

static void mprotect_written_rw_to_r_does_not_merge_with_existing_r_next(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    write_byte(f->s, W + PG, 1);
    MPROTECT(f->s, W, 2 * PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "r--p"), anon_line(W + 2 * PG, W + 3 * PG, "r--p")));
    teardown(f);
}

static void mprotect_read_touched_rw_to_r_still_merges(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    /* A read fault maps the zero page: no anon identity, no charge kept. */
    assert_int_equal(read_byte(f->s, W), 0);
    MPROTECT(f->s, W, 2 * PG, GMM_PROT_READ, 0);
    map_fixed(f->s, W + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(f->s, anon_line(W, W + 3 * PG, "r--p"));
    teardown(f);
}

static void mprotect_split_tail_of_written_region_keeps_account(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    /* Only the first page is written, but the whole region has the anon
     * identity, so the untouched tail keeps VM_ACCOUNT. */
    write_byte(f->s, W, 1);
    MPROTECT(f->s, W + 2 * PG, PG, GMM_PROT_READ, 0);
    map_fixed(f->s, W + 3 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "r--p"),
                            anon_line(W + 3 * PG, W + 4 * PG, "r--p")));
    teardown(f);
}

static void mprotect_none_to_rw_merges_with_rw_neighbour(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, GMM_PROT_NONE, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "---p")));
    /* Made writable, it is charged, so its flags equal its neighbour's. */
    MPROTECT(f->s, W + PG, PG, RW, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "rw-p"));
    teardown(f);
}

static void mprotect_noreserve_never_merges_with_accounted(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    map_fixed(f->s, W + PG, PG, RW, ANON_PRIV | GMM_MAP_NORESERVE);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "rw-p")));
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    MPROTECT(f->s, W + PG, PG, RW, 0);
    /* VM_NORESERVE stays, so no VM_ACCOUNT is added. */
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "rw-p")));
    teardown(f);
}

static void mprotect_middle_between_differently_written_regions_merges_left(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    write_byte(f->s, W, 1);
    map_fixed(f->s, W + 2 * PG, PG, RW, ANON_PRIV);
    write_byte(f->s, W + 2 * PG, 3);
    map_fixed(f->s, W + PG, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + PG, "rw-p"), anon_line(W + PG, W + 2 * PG, "r--p"),
                            anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    /* The outer two have different anon_vmas: only one merge is possible,
     * and Linux takes the left one. */
    MPROTECT(f->s, W + PG, PG, RW, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    assert_int_equal(read_byte(f->s, W), 1);
    assert_int_equal(read_byte(f->s, W + 2 * PG), 3);
    teardown(f);
}

static void mprotect_fresh_rw_between_differently_written_regions_merges_left(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    write_byte(f->s, W, 1);
    map_fixed(f->s, W + 2 * PG, PG, RW, ANON_PRIV);
    write_byte(f->s, W + 2 * PG, 3);
    map_fixed(f->s, W + PG, PG, RW, ANON_PRIV);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    teardown(f);
}

/* ---- shared anonymous memory ---- */

static void mprotect_shared_anon_split_and_remerge(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 4 * PG, RW, ANON_SHARED);
    unsigned long long ino = first_ino(f->s);
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(shm_line(W, W + PG, "rw-s", 0, ino),
                            shm_line(W + PG, W + 2 * PG, "r--s", PG, ino),
                            shm_line(W + 2 * PG, W + 4 * PG, "rw-s", 2 * PG, ino)));
    MPROTECT(f->s, W + PG, PG, RW, 0);
    ASSERT_MAPS(f->s, shm_line(W, W + 4 * PG, "rw-s", 0, ino));
    teardown(f);
}

static void mprotect_shared_anon_write_after_readonly_faults(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_SHARED);
    write_byte(f->s, W, 9);
    MPROTECT(f->s, W, PG, GMM_PROT_READ, 0);
    uint8_t v = 1;
    assert_int_equal(gmm_write(f->s, W, &v, 1), -GMM_EFAULT);
    assert_null(gmm_translate(f->s, W, GMM_ACCESS_WRITE));
    assert_int_equal(f->log.count, 1);
    assert_int_equal(f->log.last.code, GMM_SEGV_ACCERR);
    assert_int_equal(read_byte(f->s, W), 9);
    teardown(f);
}

/* ---- access after mprotect ---- */

static void mprotect_readonly_write_faults_accerr(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    uint8_t *p = gmm_translate(f->s, W + 8, GMM_ACCESS_WRITE);
    assert_non_null(p);
    *p = 42;
    MPROTECT(f->s, W, PG, GMM_PROT_READ, 0);
    assert_null(gmm_translate(f->s, W + 8, GMM_ACCESS_WRITE));
    assert_int_equal(f->log.count, 1);
    assert_int_equal(f->log.last.signo, GMM_SIGSEGV);
    assert_int_equal(f->log.last.code, GMM_SEGV_ACCERR);
    assert_int_equal(f->log.last.addr, W + 8);
    assert_int_equal(f->log.last.access, GMM_ACCESS_WRITE);
    uint8_t v = 7;
    assert_int_equal(gmm_write(f->s, W + 8, &v, 1), -GMM_EFAULT);
    assert_int_equal(read_byte(f->s, W + 8), 42);
    p = gmm_translate(f->s, W + 8, GMM_ACCESS_READ);
    assert_non_null(p);
    assert_int_equal(*p, 42);
    assert_int_equal(f->log.count, 1);
    teardown(f);
}

static void mprotect_readonly_to_writable_allows_write(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, GMM_PROT_READ, ANON_PRIV);
    uint8_t v = 5;
    assert_int_equal(gmm_write(f->s, W, &v, 1), -GMM_EFAULT);
    assert_null(gmm_translate(f->s, W, GMM_ACCESS_WRITE));
    MPROTECT(f->s, W, PG, RW, 0);
    assert_int_equal(gmm_write(f->s, W, &v, 1), 0);
    uint8_t *p = gmm_translate(f->s, W + 1, GMM_ACCESS_WRITE);
    assert_non_null(p);
    *p = 6;
    assert_int_equal(read_byte(f->s, W), 5);
    assert_int_equal(read_byte(f->s, W + 1), 6);
    assert_int_equal(f->log.count, 1);
    teardown(f);
}

static void mprotect_prot_none_faults_and_keeps_contents(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, RW, ANON_PRIV);
    write_byte(f->s, W + PG + 3, 77);
    uint8_t *p = gmm_translate(f->s, W + PG, GMM_ACCESS_READ);
    assert_non_null(p);
    MPROTECT(f->s, W, 2 * PG, GMM_PROT_NONE, 0);
    assert_null(gmm_translate(f->s, W + PG, GMM_ACCESS_READ));
    assert_int_equal(f->log.last.code, GMM_SEGV_ACCERR);
    uint8_t v;
    assert_int_equal(gmm_read(f->s, W + PG + 3, &v, 1), -GMM_EFAULT);
    MPROTECT(f->s, W, 2 * PG, RW, 0);
    assert_int_equal(read_byte(f->s, W + PG + 3), 77);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "rw-p"));
    teardown(f);
}

static void mprotect_exec_allows_exec_translation(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, PG, RW, ANON_PRIV);
    write_byte(f->s, W, 0xc3);
    assert_null(gmm_translate(f->s, W, GMM_ACCESS_EXEC));
    assert_int_equal(f->log.last.code, GMM_SEGV_ACCERR);
    assert_int_equal(f->log.last.access, GMM_ACCESS_EXEC);
    MPROTECT(f->s, W, PG, GMM_PROT_READ | GMM_PROT_EXEC, 0);
    uint8_t *p = gmm_translate(f->s, W, GMM_ACCESS_EXEC);
    assert_non_null(p);
    assert_int_equal(*p, 0xc3);
    assert_int_equal(f->log.count, 1);
    /* And exec is taken away again. */
    MPROTECT(f->s, W, PG, GMM_PROT_READ, 0);
    assert_null(gmm_translate(f->s, W, GMM_ACCESS_EXEC));
    assert_int_equal(f->log.count, 2);
    teardown(f);
}

/* ---- limits ---- */

static void mprotect_split_beyond_max_map_count_enomem(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    /* Linux's default vm.max_map_count is 65530.  Fill the space with
     * unmergeable one-page regions (alternating prot) up to the limit. */
    const uint64_t max = 65530;
    const gmm_addr base = 0x100000000ull;
    map_fixed(f->s, W, 3 * PG, RW, ANON_PRIV);
    uint64_t count = 1;
    for (uint64_t i = 0; count < max - 1; i++, count++) {
        int prot = i & 1 ? GMM_PROT_READ : GMM_PROT_NONE;
        assert_int_equal(gmm_sys_mmap(f->s, base + 2 * i * PG, PG, prot, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                         (int64_t)(base + 2 * i * PG));
        if (i % 8192 == 0)
            CHECK(f->s);
    }
    CHECK(f->s);
    /* At max - 1: the middle needs two splits, so ENOMEM.  (Linux makes the
     * first split before failing the second; see the report.) */
    assert_int_equal(gmm_sys_mprotect(f->s, W + PG, PG, GMM_PROT_READ), -GMM_ENOMEM);
    CHECK(f->s);
    /* One split still fits... */
    MPROTECT(f->s, W, PG, GMM_PROT_READ, 0);
    /* ...and at max no split fits any more. */
    MPROTECT(f->s, W + 2 * PG, PG, GMM_PROT_READ, -GMM_ENOMEM);
    /* A change that merges instead of splitting needs no new region. */
    MPROTECT(f->s, W + PG, PG, GMM_PROT_READ, 0);
    MPROTECT(f->s, W, 3 * PG, RW, 0);
    teardown(f);
}

/* Linux: if (!may_expand_vm(new) && may_expand_vm(old)) -> ENOMEM.  Checked
 * natively with setrlimit: a tight RLIMIT_DATA refuses R -> RW; a soft
 * limit of 0 lets data grow up to the hard limit ("Workaround for
 * Valgrind"); and when RLIMIT_AS is exhausted too, both calls fail and the
 * change goes through. */
static void mprotect_rlimit_data_refuses_turning_memory_into_data(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_space_setrlimit(f->s, GMM_RLIMIT_DATA, PG, PG), 0);
    MPROTECT(f->s, W, 2 * PG, RW, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "r--p"));
    MPROTECT(f->s, W, PG, RW, 0);
    MPROTECT(f->s, W + PG, PG, RW, -GMM_ENOMEM);
    /* Already data: RW -> RWX is not new data. */
    MPROTECT(f->s, W, PG, RW | GMM_PROT_EXEC, 0);
    /* Shared memory is not data. */
    map_fixed(f->s, W + 4 * PG, 2 * PG, GMM_PROT_READ, ANON_SHARED);
    MPROTECT(f->s, W + 4 * PG, 2 * PG, RW, 0);
    teardown(f);
}

static void mprotect_rlimit_data_soft_zero_allows_up_to_hard_limit(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 4 * PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_space_setrlimit(f->s, GMM_RLIMIT_DATA, 0, 2 * PG), 0);
    MPROTECT(f->s, W, 2 * PG, RW, 0);
    MPROTECT(f->s, W + 2 * PG, PG, RW, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, LINES(anon_line(W, W + 2 * PG, "rw-p"), anon_line(W + 2 * PG, W + 4 * PG, "r--p")));
    teardown(f);
}

static void mprotect_rlimit_data_not_enforced_when_rlimit_as_is_full(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_X86_64);
    map_fixed(f->s, W, 2 * PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_space_setrlimit(f->s, GMM_RLIMIT_DATA, PG, PG), 0);
    /* total_vm (2 pages) + 2 pages is over RLIMIT_AS (3 pages). */
    assert_int_equal(gmm_space_setrlimit(f->s, GMM_RLIMIT_AS, 3 * PG, 3 * PG), 0);
    MPROTECT(f->s, W, 2 * PG, RW, 0);
    ASSERT_MAPS(f->s, anon_line(W, W + 2 * PG, "rw-p"));
    teardown(f);
}

/* ---- i386 ---- */

static void mprotect_i386_takes_arguments_modulo_2_32(void **state)
{
    (void)state;
    struct fixture *f = setup(GMM_ABI_I386);
    gmm_addr a = 0x10000000;
    map_fixed(f->s, a, 2 * PG, RW, ANON_PRIV);
    MPROTECT(f->s, a | 0x100000000ull, PG | 0x100000000ull, GMM_PROT_READ, 0);
    ASSERT_MAPS(f->s, LINES(anon_line(a, a + PG, "r--p"), anon_line(a + PG, a + 2 * PG, "rw-p")));
    /* A range running past 4 GiB does not wrap in a compat task: the
     * length is 32 bits and the sum is computed in 64. */
    map_fixed(f->s, 0xfff00000, PG, RW, ANON_PRIV);
    MPROTECT(f->s, 0xfff00000, 0x00200000, GMM_PROT_READ, -GMM_ENOMEM);
    ASSERT_MAPS(f->s, LINES(anon_line(a, a + PG, "r--p"), anon_line(a + PG, a + 2 * PG, "rw-p"),
                            anon_line(0xfff00000, 0xfff01000, "r--p")));
    teardown(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mprotect_growsdown_and_growsup_together_einval_before_everything),
        cmocka_unit_test(mprotect_unaligned_start_einval_before_len_zero),
        cmocka_unit_test(mprotect_len_zero_returns_0_before_prot_check),
        cmocka_unit_test(mprotect_wrapping_len_enomem_before_prot_check),
        cmocka_unit_test(mprotect_unknown_prot_bits_einval_before_lookup),
        cmocka_unit_test(mprotect_prot_sem_accepted_and_invisible),
        cmocka_unit_test(mprotect_unmapped_start_enomem),
        cmocka_unit_test(mprotect_start_in_hole_enomem_changes_nothing),
        cmocka_unit_test(mprotect_hole_enomem_after_changing_part_before_hole),
        cmocka_unit_test(mprotect_hole_enomem_splits_region_before_hole),
        cmocka_unit_test(mprotect_hole_after_unchanged_and_merged_regions),
        cmocka_unit_test(mprotect_trailing_hole_enomem_after_changing_mapped_part),
        cmocka_unit_test(mprotect_multiple_regions_without_hole_succeeds),
        cmocka_unit_test(mprotect_unaligned_len_rounds_up_to_pages),
        cmocka_unit_test(mprotect_growsdown_on_plain_region_einval),
        cmocka_unit_test(mprotect_growsup_einval_on_x86),
        cmocka_unit_test(mprotect_growsdown_extends_range_to_region_start),
        cmocka_unit_test(mprotect_growsdown_from_hole_below_applies_from_region_start),
        cmocka_unit_test(mprotect_plain_on_growsdown_region_splits_normally),
        cmocka_unit_test(mprotect_middle_page_splits_into_three),
        cmocka_unit_test(mprotect_restore_remerges_untouched),
        cmocka_unit_test(mprotect_restore_remerges_written),
        cmocka_unit_test(mprotect_same_prot_does_not_split),
        cmocka_unit_test(mprotect_merges_with_both_neighbours),
        cmocka_unit_test(mprotect_partial_merges_into_left_neighbour),
        cmocka_unit_test(mprotect_untouched_rw_to_r_merges_with_fresh_r_neighbour),
        cmocka_unit_test(mprotect_written_rw_to_r_keeps_account_and_does_not_merge),
        cmocka_unit_test(mprotect_untouched_rw_to_r_merges_with_existing_r_next),
        cmocka_unit_test(mprotect_written_rw_to_r_does_not_merge_with_existing_r_next),
        cmocka_unit_test(mprotect_read_touched_rw_to_r_still_merges),
        cmocka_unit_test(mprotect_split_tail_of_written_region_keeps_account),
        cmocka_unit_test(mprotect_none_to_rw_merges_with_rw_neighbour),
        cmocka_unit_test(mprotect_noreserve_never_merges_with_accounted),
        cmocka_unit_test(mprotect_middle_between_differently_written_regions_merges_left),
        cmocka_unit_test(mprotect_fresh_rw_between_differently_written_regions_merges_left),
        cmocka_unit_test(mprotect_shared_anon_split_and_remerge),
        cmocka_unit_test(mprotect_shared_anon_write_after_readonly_faults),
        cmocka_unit_test(mprotect_readonly_write_faults_accerr),
        cmocka_unit_test(mprotect_readonly_to_writable_allows_write),
        cmocka_unit_test(mprotect_prot_none_faults_and_keeps_contents),
        cmocka_unit_test(mprotect_exec_allows_exec_translation),
        cmocka_unit_test(mprotect_split_beyond_max_map_count_enomem),
        cmocka_unit_test(mprotect_rlimit_data_refuses_turning_memory_into_data),
        cmocka_unit_test(mprotect_rlimit_data_soft_zero_allows_up_to_hard_limit),
        cmocka_unit_test(mprotect_rlimit_data_not_enforced_when_rlimit_as_is_full),
        cmocka_unit_test(mprotect_i386_takes_arguments_modulo_2_32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
