/*
 * test_maps.c - the /proc/self/maps text of anonymous memory
 * (CONFORMANCE.md section 13) and the snprintf contract of gmm_space_maps.
 *
 * The literal lines below were compared with what x86-64 Linux 6.18 prints
 * for the same mappings (static probe under `setarch -R`): 8-digit minimum
 * hex, "00:00 0 " with a trailing space for nameless anonymous lines, the
 * name starting at byte offset 73 (column 74), "00:01 <ino>" and
 * "/dev/zero (deleted)" for MAP_SHARED|MAP_ANONYMOUS, whose offset column is
 * the page offset into the shmem object.
 */
#include "memfile.h"

#define W 0x200000000ull

static gmm_addr map_fixed(gmm_space *s, gmm_addr a, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, a, len, prot, flags | GMM_MAP_FIXED, -1, 0);
    assert_int_equal(r, (int64_t)a);
    CHECK(s);
    return a;
}

static gmm_addr map_any(gmm_space *s, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, 0, len, prot, flags, -1, 0);
    assert_true(r > 0);
    CHECK(s);
    return (gmm_addr)r;
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

static const char *shm_line(gmm_addr start, gmm_addr end, const char *perms, uint64_t off,
                            unsigned long long ino)
{
    static char line[8][160];
    static int i;
    char *l = line[i++ & 7];
    int n = snprintf(l, 160, "%08llx-%08llx %s %08llx 00:01 %llu ", (unsigned long long)start,
                     (unsigned long long)end, perms, (unsigned long long)off, ino);
    while (n < 73)
        l[n++] = ' ';
    snprintf(l + n, 160 - (size_t)n, "/dev/zero (deleted)\n");
    return l;
}

/* The inode on maps line number idx (0-based). */
static unsigned long long ino_of_line(gmm_space *s, int idx)
{
    const char *p = maps_of(s);
    for (int i = 0; i < idx; i++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    unsigned long long a, b, off, ino;
    char perms[8];
    unsigned maj, min;
    assert_int_equal(sscanf(p, "%llx-%llx %7s %llx %x:%x %llu", &a, &b, perms, &off, &maj, &min, &ino), 7);
    assert_true(ino > 0);
    return ino;
}

static gmm_system *sys_;
static gmm_space *space(gmm_abi abi)
{
    sys_ = new_system(NULL);
    return new_space(sys_, abi);
}

static void done(gmm_space *s)
{
    gmm_space_destroy(s);
    gmm_system_destroy(sys_);
}

/* ---- line format ---- */

static void maps_empty_space_prints_nothing(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    char buf[8] = "xxxxxxx";
    assert_int_equal(gmm_space_maps(s, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    CHECK(s);
    done(s);
}

static void maps_first_mmap_line_exact_x86_64(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    assert_int_equal(map_any(s, PG, GMM_PROT_READ, ANON_PRIV), 0x7ffff7ffe000ull);
    ASSERT_MAPS(s, "7ffff7ffe000-7ffff7fff000 r--p 00000000 00:00 0 \n");
    done(s);
}

static void maps_first_mmap_line_exact_i386(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_I386);
    assert_int_equal(map_any(s, PG, GMM_PROT_READ, ANON_PRIV), 0xf7ffd000ull);
    ASSERT_MAPS(s, "f7ffd000-f7ffe000 r--p 00000000 00:00 0 \n");
    done(s);
}

static void maps_addresses_padded_to_8_hex_digits(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, 0x10000, PG, RW, ANON_PRIV);
    map_fixed(s, 0xfffff000, 2 * PG, GMM_PROT_READ, ANON_PRIV);
    /* 0x10000 is mmap_min_addr: the lowest page a process may map. */
    ASSERT_MAPS(s, "00010000-00011000 rw-p 00000000 00:00 0 \n"
                   "fffff000-100001000 r--p 00000000 00:00 0 \n");
    done(s);
}

static void maps_addresses_12_digits_at_the_top_of_x86_64(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    /* The last page below the 47-bit task size. */
    map_fixed(s, 0x7fffffffe000ull, PG, GMM_PROT_NONE, ANON_PRIV);
    ASSERT_MAPS(s, "7fffffffe000-7ffffffff000 ---p 00000000 00:00 0 \n");
    done(s);
}

static void maps_nameless_line_ends_with_space_newline(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, W, PG, RW, ANON_PRIV);
    const char *m = maps_of(s);
    size_t n = strlen(m);
    assert_int_equal(n, 43);
    assert_int_equal(m[n - 2], ' ');
    assert_int_equal(m[n - 1], '\n');
    assert_string_equal(m, "200000000-200001000 rw-p 00000000 00:00 0 \n");
    done(s);
}

static void maps_heap_name_at_byte_74_x86_64(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    assert_int_equal(gmm_space_init_brk(s, 0x555555559000ull), 0);
    assert_int_equal(gmm_sys_brk(s, 0x55555557a000ull), 0x55555557a000ll);
    const char *want = "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n";
    ASSERT_MAPS(s, want);
    assert_int_equal(strchr(want, '[') - want, 73);
    done(s);
}

static void maps_heap_name_at_byte_74_i386(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_I386);
    assert_int_equal(gmm_space_init_brk(s, 0x0804c000), 0);
    assert_int_equal(gmm_sys_brk(s, 0x0804e000), 0x0804e000);
    /* An i386 task on an x86-64 kernel gets the 64-bit padding too. */
    const char *want = "0804c000-0804e000 rw-p 00000000 00:00 0                                  [heap]\n";
    ASSERT_MAPS(s, want);
    assert_int_equal(strchr(want, '[') - want, 73);
    done(s);
}

static void maps_shared_anon_is_dev_zero_deleted(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    assert_int_equal(map_any(s, PG, RW, ANON_SHARED), 0x7ffff7ffe000ull);
    unsigned long long ino = ino_of_line(s, 0);
    char want[160];
    snprintf(want, sizeof(want), "7ffff7ffe000-7ffff7fff000 rw-s 00000000 00:01 %llu", ino);
    size_t n = strlen(want);
    while (n < 73)
        want[n++] = ' ';
    snprintf(want + n, sizeof(want) - n, "/dev/zero (deleted)\n");
    ASSERT_MAPS(s, want);
    assert_int_equal(strchr(want, '/') - want, 73);
    done(s);
}

static void maps_shared_anon_offset_follows_the_object(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, W, 4 * PG, RW, ANON_SHARED);
    unsigned long long ino = ino_of_line(s, 0);
    /* Unmapping the head leaves the rest at page offset 1. */
    assert_int_equal(gmm_sys_munmap(s, W, PG), 0);
    ASSERT_MAPS(s, shm_line(W + PG, W + 4 * PG, "rw-s", PG, ino));
    assert_int_equal(gmm_sys_mprotect(s, W + 2 * PG, PG, GMM_PROT_NONE), 0);
    ASSERT_MAPS(s, LINES(shm_line(W + PG, W + 2 * PG, "rw-s", PG, ino),
                         shm_line(W + 2 * PG, W + 3 * PG, "---s", 2 * PG, ino),
                         shm_line(W + 3 * PG, W + 4 * PG, "rw-s", 3 * PG, ino)));
    done(s);
}

static void maps_two_shared_anon_mappings_stay_apart(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, W, PG, RW, ANON_SHARED);
    map_fixed(s, W + PG, PG, RW, ANON_SHARED);
    unsigned long long a = ino_of_line(s, 0), b = ino_of_line(s, 1);
    /* Two shmem objects: different inodes, both at offset 0, no merge. */
    assert_true(a != b);
    ASSERT_MAPS(s, LINES(shm_line(W, W + PG, "rw-s", 0, a), shm_line(W + PG, W + 2 * PG, "rw-s", 0, b)));
    done(s);
}

static void maps_shared_anon_next_to_private_stays_apart(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, W, PG, RW, ANON_PRIV);
    map_fixed(s, W + PG, PG, RW, ANON_SHARED);
    map_fixed(s, W + 2 * PG, PG, RW, ANON_PRIV);
    unsigned long long ino = ino_of_line(s, 1);
    ASSERT_MAPS(s, LINES(anon_line(W, W + PG, "rw-p"), shm_line(W + PG, W + 2 * PG, "rw-s", 0, ino),
                         anon_line(W + 2 * PG, W + 3 * PG, "rw-p")));
    done(s);
}

static void maps_all_prot_combinations(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    static const char *priv[8] = {"---p", "r--p", "-w-p", "rw-p", "--xp", "r-xp", "-wxp", "rwxp"};
    static const char *shr[8] = {"---s", "r--s", "-w-s", "rw-s", "--xs", "r-xs", "-wxs", "rwxs"};
    for (int prot = 0; prot < 8; prot++) {
        map_fixed(s, W + 2 * (uint64_t)prot * PG, PG, prot, ANON_PRIV);
        map_fixed(s, W + 0x100000 + 2 * (uint64_t)prot * PG, PG, prot, ANON_SHARED);
    }
    static char want[8192];
    size_t n = 0;
    for (int prot = 0; prot < 8; prot++) {
        const char *l = anon_line(W + 2 * (uint64_t)prot * PG, W + 2 * (uint64_t)prot * PG + PG, priv[prot]);
        memcpy(want + n, l, strlen(l) + 1);
        n += strlen(l);
    }
    for (int prot = 0; prot < 8; prot++) {
        gmm_addr a = W + 0x100000 + 2 * (uint64_t)prot * PG;
        const char *l = shm_line(a, a + PG, shr[prot], 0, ino_of_line(s, 8 + prot));
        memcpy(want + n, l, strlen(l) + 1);
        n += strlen(l);
    }
    ASSERT_MAPS(s, want);
    done(s);
}

static void maps_lines_in_address_order(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, W + 8 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(s, W, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(s, W + 4 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(s, 0x10000, PG, GMM_PROT_READ, ANON_PRIV);
    ASSERT_MAPS(s, LINES(anon_line(0x10000, 0x11000, "r--p"), anon_line(W, W + PG, "r--p"),
                         anon_line(W + 4 * PG, W + 5 * PG, "r--p"), anon_line(W + 8 * PG, W + 9 * PG, "r--p")));
    done(s);
}

static void maps_line_disappears_after_munmap(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, W, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(s, W + 2 * PG, PG, RW, ANON_PRIV);
    map_fixed(s, W + 4 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    assert_int_equal(gmm_sys_munmap(s, W + 2 * PG, PG), 0);
    ASSERT_MAPS(s, LINES(anon_line(W, W + PG, "r--p"), anon_line(W + 4 * PG, W + 5 * PG, "r--p")));
    done(s);
}

static void maps_adjacent_compatible_mmaps_show_one_line(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    assert_int_equal(map_any(s, PG, RW, ANON_PRIV), 0x7ffff7ffe000ull);
    assert_int_equal(map_any(s, 2 * PG, RW, ANON_PRIV), 0x7ffff7ffc000ull);
    ASSERT_MAPS(s, "7ffff7ffc000-7ffff7fff000 rw-p 00000000 00:00 0 \n");
    /* A different prot starts a new line. */
    assert_int_equal(map_any(s, PG, GMM_PROT_READ, ANON_PRIV), 0x7ffff7ffb000ull);
    ASSERT_MAPS(s, "7ffff7ffb000-7ffff7ffc000 r--p 00000000 00:00 0 \n"
                   "7ffff7ffc000-7ffff7fff000 rw-p 00000000 00:00 0 \n");
    done(s);
}

/* ---- snprintf semantics ---- */

static const char *two_lines = "200000000-200001000 r--p 00000000 00:00 0 \n"
                               "200002000-200003000 rw-p 00000000 00:00 0 \n";

static gmm_space *two_line_space(void)
{
    gmm_space *s = space(GMM_ABI_X86_64);
    map_fixed(s, W, PG, GMM_PROT_READ, ANON_PRIV);
    map_fixed(s, W + 2 * PG, PG, RW, ANON_PRIV);
    ASSERT_MAPS(s, two_lines);
    return s;
}

static void maps_returns_full_length(void **state)
{
    (void)state;
    gmm_space *s = two_line_space();
    char buf[256];
    assert_int_equal(gmm_space_maps(s, buf, sizeof(buf)), strlen(two_lines));
    assert_int_equal(gmm_space_maps(s, buf, 5), strlen(two_lines));
    assert_int_equal(gmm_space_maps(s, NULL, 0), strlen(two_lines));
    done(s);
}

static void maps_small_cap_truncates_and_nul_terminates(void **state)
{
    (void)state;
    gmm_space *s = two_line_space();
    char buf[32];
    memset(buf, '#', sizeof(buf));
    assert_int_equal(gmm_space_maps(s, buf, 10), strlen(two_lines));
    assert_memory_equal(buf, two_lines, 9);
    assert_int_equal(buf[9], '\0');
    /* Nothing written past cap. */
    for (size_t i = 10; i < sizeof(buf); i++)
        assert_int_equal(buf[i], '#');
    memset(buf, '#', sizeof(buf));
    assert_int_equal(gmm_space_maps(s, buf, 1), strlen(two_lines));
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], '#');
    done(s);
}

static void maps_cap_zero_writes_nothing(void **state)
{
    (void)state;
    gmm_space *s = two_line_space();
    char buf[4] = "abc";
    assert_int_equal(gmm_space_maps(s, buf, 0), strlen(two_lines));
    assert_string_equal(buf, "abc");
    done(s);
}

static void maps_cap_equal_to_length_drops_last_byte(void **state)
{
    (void)state;
    gmm_space *s = two_line_space();
    size_t len = strlen(two_lines);
    char buf[256];
    memset(buf, '#', sizeof(buf));
    assert_int_equal(gmm_space_maps(s, buf, len), len);
    assert_memory_equal(buf, two_lines, len - 1);
    assert_int_equal(buf[len - 1], '\0');
    assert_int_equal(buf[len], '#');
    memset(buf, '#', sizeof(buf));
    assert_int_equal(gmm_space_maps(s, buf, len + 1), len);
    assert_string_equal(buf, two_lines);
    assert_int_equal(buf[len + 1], '#');
    done(s);
}

static void maps_truncation_inside_a_padded_name(void **state)
{
    (void)state;
    gmm_space *s = space(GMM_ABI_X86_64);
    assert_int_equal(gmm_space_init_brk(s, 0x555555559000ull), 0);
    assert_int_equal(gmm_sys_brk(s, 0x55555555a000ull), 0x55555555a000ll);
    const char *full = "555555559000-55555555a000 rw-p 00000000 00:00 0                          [heap]\n";
    for (size_t cap = 1; cap <= strlen(full) + 1; cap++) {
        char buf[128];
        memset(buf, '#', sizeof(buf));
        assert_int_equal(gmm_space_maps(s, buf, cap), strlen(full));
        assert_memory_equal(buf, full, cap - 1);
        assert_int_equal(buf[cap - 1], '\0');
        assert_int_equal(buf[cap], '#');
    }
    CHECK(s);
    done(s);
}

/* gmm_space_region_next: each region with its bounds, rights, kind and
 * backing, in address order, as an emulator rebuilds its own view (Unicorn
 * regions) after a call changed a range. */
static void region_next_walks_regions_with_rights_and_kind(void **state)
{
    (void)state;
    struct memfile_env env;
    gmm_system *sys = memfile_system(&env, 4 * PG);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    const gmm_addr base = 0x10000000;
    const int priv = GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS | GMM_MAP_FIXED;
    assert_int_equal(gmm_sys_mmap(s, base, 2 * PG, GMM_PROT_READ | GMM_PROT_WRITE, priv, -1, 0),
                     (int64_t)base);
    assert_int_equal(gmm_sys_mmap(s, base + 2 * PG, PG, GMM_PROT_WRITE, priv, -1, 0),
                     (int64_t)(base + 2 * PG));
    assert_int_equal(gmm_sys_mmap(s, base + 4 * PG, PG, GMM_PROT_READ | GMM_PROT_WRITE,
                                  GMM_MAP_SHARED | GMM_MAP_ANONYMOUS | GMM_MAP_FIXED, -1, 0),
                     (int64_t)(base + 4 * PG));
    assert_int_equal(gmm_sys_mmap(s, base + 6 * PG, 2 * PG, GMM_PROT_READ | GMM_PROT_EXEC,
                                  GMM_MAP_SHARED | GMM_MAP_FIXED, MEMFILE_FD_RDONLY, PG),
                     (int64_t)(base + 6 * PG));
    assert_int_equal(gmm_sys_mmap(s, base + 9 * PG, PG, GMM_PROT_NONE,
                                  priv | GMM_MAP_GROWSDOWN, -1, 0),
                     (int64_t)(base + 9 * PG));
    gmm_region_info r;
    /* Below the first region: the first one. */
    assert_int_equal(gmm_space_region_next(s, 0, &r), 1);
    assert_int_equal(r.start, base);
    assert_int_equal(r.end, base + 2 * PG);
    assert_int_equal(r.prot, GMM_PROT_READ | GMM_PROT_WRITE);
    assert_int_equal(r.access, GMM_ACCESS_READ | GMM_ACCESS_WRITE);
    assert_int_equal(r.kind, GMM_REGION_ANON);
    assert_int_equal(r.shared, 0);
    assert_int_equal(r.growsdown, 0);
    assert_int_equal(r.offset, 0);
    assert_int_equal(r.dev, 0);
    assert_int_equal(r.ino, 0);
    /* Inside a region: that region.  PROT_WRITE alone reads on x86. */
    assert_int_equal(gmm_space_region_next(s, base + 2 * PG + 5, &r), 1);
    assert_int_equal(r.start, base + 2 * PG);
    assert_int_equal(r.prot, GMM_PROT_WRITE);
    assert_int_equal(r.access, GMM_ACCESS_READ | GMM_ACCESS_WRITE);
    /* In a hole: the next region, shared anonymous memory. */
    assert_int_equal(gmm_space_region_next(s, base + 3 * PG, &r), 1);
    assert_int_equal(r.start, base + 4 * PG);
    assert_int_equal(r.kind, GMM_REGION_SHARED_ANON);
    assert_int_equal(r.shared, 1);
    assert_int_equal(r.dev, 1);
    assert_true(r.ino != 0);
    /* A read-only shared file mapping at offset one page. */
    assert_int_equal(gmm_space_region_next(s, r.end, &r), 1);
    assert_int_equal(r.start, base + 6 * PG);
    assert_int_equal(r.end, base + 8 * PG);
    assert_int_equal(r.kind, GMM_REGION_FILE);
    assert_int_equal(r.prot, GMM_PROT_READ | GMM_PROT_EXEC);
    assert_int_equal(r.access, GMM_ACCESS_READ | GMM_ACCESS_EXEC);
    assert_int_equal(r.shared, 1);
    assert_int_equal(r.offset, PG);
    assert_int_equal(r.dev, 0x801);
    assert_int_equal(r.ino, 77);
    /* A PROT_NONE stack. */
    assert_int_equal(gmm_space_region_next(s, r.end, &r), 1);
    assert_int_equal(r.start, base + 9 * PG);
    assert_int_equal(r.prot, 0);
    assert_int_equal(r.access, 0);
    assert_int_equal(r.growsdown, 1);
    /* Past the last region: none, and *out untouched. */
    r.start = 12345;
    assert_int_equal(gmm_space_region_next(s, base + 10 * PG, &r), 0);
    assert_int_equal(r.start, 12345);
    /* Execute-only memory is not readable. */
    assert_int_equal(gmm_space_set_execute_only(s, 1), 0);
    assert_int_equal(gmm_sys_mprotect(s, base, PG, GMM_PROT_EXEC), 0);
    assert_int_equal(gmm_space_region_next(s, base, &r), 1);
    assert_int_equal(r.end, base + PG);
    assert_int_equal(r.prot, GMM_PROT_EXEC);
    assert_int_equal(r.access, GMM_ACCESS_EXEC);
    /* A walk of [base, base + 8 pages) sees 5 regions (the split one is two). */
    int n = 0;
    for (gmm_addr a = base; gmm_space_region_next(s, a, &r) && r.start < base + 8 * PG; a = r.end)
        n++;
    assert_int_equal(n, 5);
    assert_null(gmm_space_check(s));
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(region_next_walks_regions_with_rights_and_kind),
        cmocka_unit_test(maps_empty_space_prints_nothing),
        cmocka_unit_test(maps_first_mmap_line_exact_x86_64),
        cmocka_unit_test(maps_first_mmap_line_exact_i386),
        cmocka_unit_test(maps_addresses_padded_to_8_hex_digits),
        cmocka_unit_test(maps_addresses_12_digits_at_the_top_of_x86_64),
        cmocka_unit_test(maps_nameless_line_ends_with_space_newline),
        cmocka_unit_test(maps_heap_name_at_byte_74_x86_64),
        cmocka_unit_test(maps_heap_name_at_byte_74_i386),
        cmocka_unit_test(maps_shared_anon_is_dev_zero_deleted),
        cmocka_unit_test(maps_shared_anon_offset_follows_the_object),
        cmocka_unit_test(maps_two_shared_anon_mappings_stay_apart),
        cmocka_unit_test(maps_shared_anon_next_to_private_stays_apart),
        cmocka_unit_test(maps_all_prot_combinations),
        cmocka_unit_test(maps_lines_in_address_order),
        cmocka_unit_test(maps_line_disappears_after_munmap),
        cmocka_unit_test(maps_adjacent_compatible_mmaps_show_one_line),
        cmocka_unit_test(maps_returns_full_length),
        cmocka_unit_test(maps_small_cap_truncates_and_nul_terminates),
        cmocka_unit_test(maps_cap_zero_writes_nothing),
        cmocka_unit_test(maps_cap_equal_to_length_drops_last_byte),
        cmocka_unit_test(maps_truncation_inside_a_padded_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
