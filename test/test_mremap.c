/*
 * test_mremap.c - mremap(2): argument errors in Linux's order, shrink /
 * same / grow x no flag / MAYMOVE / FIXED / DONTUNMAP, old_len 0 on shared
 * mappings, moves that keep frames, copy-on-write state and file offsets.
 * Expected values are Linux 6.18's (CONFORMANCE.md section 5; gVisor's
 * mremap tests and the kernel's mremap selftests).
 */
#include "testutil.h"

#define TOP 0x7ffff7fff000ull
#define MAYMOVE GMM_MREMAP_MAYMOVE
#define FIXED GMM_MREMAP_FIXED
#define DONTUNMAP GMM_MREMAP_DONTUNMAP

/* Maps text of two or three lines. */
static const char *cat(const char *a, const char *b, const char *c)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "%s%s%s", a, b, c);
    return buf;
}
#define L2(a, b) cat(a, b, "")
#define L3(a, b, c) cat(a, b, c)

struct env {
    struct fault_log faults;
    gmm_system *sys;
    gmm_space *s;
};

static void env_open(struct env *e)
{
    e->sys = new_system(&e->faults);
    e->s = new_space(e->sys, GMM_ABI_X86_64);
}

static void env_close(struct env *e)
{
    gmm_space_destroy(e->s);
    gmm_system_destroy(e->sys);
}

static gmm_addr map(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags)
{
    int64_t r = gmm_sys_mmap(s, addr, len, prot, flags | (addr ? GMM_MAP_FIXED : 0), -1, 0);
    assert_true(r > 0);
    CHECK(s);
    return (gmm_addr)r;
}

static void fill(gmm_space *s, gmm_addr a, uint64_t pages, char first)
{
    for (uint64_t i = 0; i < pages; i++) {
        char c = (char)(first + i);
        assert_int_equal(gmm_write(s, a + i * PG, &c, 1), 0);
    }
    CHECK(s);
}

static char byte_at(gmm_space *s, gmm_addr a)
{
    char c = 0;
    assert_int_equal(gmm_read(s, a, &c, 1), 0);
    return c;
}

static bool mapped(gmm_space *s, gmm_addr a)
{
    char c;
    return gmm_read(s, a, &c, 1) == 0;
}

static int64_t remap(gmm_space *s, gmm_addr a, uint64_t ol, uint64_t nl, int flags, gmm_addr na)
{
    int64_t r = gmm_sys_mremap(s, a, ol, nl, flags, na);
    CHECK(s);
    return r;
}

/* ---- argument errors ---- */

static void mremap_unknown_flags_are_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, PG, 8, 0), -GMM_EINVAL);
    assert_int_equal(remap(e.s, a, PG, PG, -1, 0), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_unaligned_old_address_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a + 1, PG, PG, 0, 0), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_new_size_zero_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, 0, 0, 0), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_new_size_beyond_task_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, 1ull << 47, MAYMOVE, 0), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_fixed_without_maymove_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, PG, FIXED, 0x30000000), -GMM_EINVAL);
    assert_int_equal(remap(e.s, a, PG, PG, DONTUNMAP, 0x30000000), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_fixed_unaligned_new_address_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, PG, FIXED | MAYMOVE, 0x30000001), -GMM_EINVAL);
    assert_int_equal(remap(e.s, a, PG, PG, DONTUNMAP | MAYMOVE, 0x30000001), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_dontunmap_with_different_sizes_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, 2 * PG, PG, DONTUNMAP | MAYMOVE, 0), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_fixed_overlapping_source_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, 2 * PG, RW, ANON_PRIV);
    fill(e.s, a, 2, 'a');
    assert_int_equal(remap(e.s, a, 2 * PG, 2 * PG, FIXED | MAYMOVE, a), -GMM_EINVAL);
    assert_int_equal(remap(e.s, a, 2 * PG, 2 * PG, FIXED | MAYMOVE, a + PG), -GMM_EINVAL);
    assert_int_equal(byte_at(e.s, a + PG), 'b');
    env_close(&e);
}

static void mremap_unmapped_old_address_is_efault(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    assert_int_equal(remap(e.s, 0x30000000, PG, PG, 0, 0), -GMM_EFAULT);
    assert_int_equal(remap(e.s, 0x30000000, PG, 2 * PG, MAYMOVE, 0), -GMM_EFAULT);
    env_close(&e);
}

static void mremap_range_past_its_region_is_efault(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    /* mremap03: 1000 pages from a 1-page region. */
    assert_int_equal(remap(e.s, a, 1000 * PG, 1001 * PG, MAYMOVE, 0), -GMM_EFAULT);
    env_close(&e);
}

static void mremap_private_old_size_zero_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, 0, PG, MAYMOVE, 0), -GMM_EINVAL);
    env_close(&e);
}

static void mremap_grow_locked_beyond_rlimit_memlock_is_eagain(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    assert_int_equal(gmm_space_setrlimit(e.s, GMM_RLIMIT_MEMLOCK, 2 * PG, 2 * PG), 0);
    gmm_addr a = map(e.s, 0, 2 * PG, RW, ANON_PRIV | GMM_MAP_LOCKED);
    assert_int_equal(remap(e.s, a, 2 * PG, 3 * PG, MAYMOVE, 0), -GMM_EAGAIN);
    env_close(&e);
}

static void mremap_grow_beyond_rlimit_as_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_space_setrlimit(e.s, GMM_RLIMIT_AS, 2 * PG, 2 * PG), 0);
    assert_int_equal(remap(e.s, a, 2 * PG, 3 * PG, MAYMOVE, 0), -GMM_ENOMEM);
    env_close(&e);
}

/* ---- in place ---- */

static void mremap_same_size_returns_old_address(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, PG, 0, 0), (int64_t)a);
    assert_int_equal(remap(e.s, a, PG, PG, MAYMOVE, 0), (int64_t)a);
    env_close(&e);
}

static void mremap_shrink_whole_region_unmaps_the_tail(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, 2 * PG, PG, 0, 0), (int64_t)a);
    assert_true(mapped(e.s, a));
    assert_false(mapped(e.s, a + PG));
    env_close(&e);
}

static void mremap_shrink_part_of_region_keeps_the_rest(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, 3 * PG, RW, ANON_PRIV);
    fill(e.s, a, 3, 'a');
    assert_int_equal(remap(e.s, a, 2 * PG, PG, 0, 0), (int64_t)a);
    assert_false(mapped(e.s, a + PG));
    assert_int_equal(byte_at(e.s, a + 2 * PG), 'c');
    env_close(&e);
}

static void mremap_shrink_across_regions_succeeds(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, 3 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mprotect(e.s, a, PG, GMM_PROT_READ), 0);
    assert_int_equal(remap(e.s, a, 3 * PG, 2 * PG, 0, 0), (int64_t)a);
    assert_false(mapped(e.s, a + 2 * PG));
    ASSERT_MAPS(e.s, L2(anon_line(a, a + PG, "r--p"), anon_line(a + PG, a + 2 * PG, "rw-p")));
    env_close(&e);
}

static void mremap_grow_into_free_space_stays_in_place(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    fill(e.s, a, 1, 'x');
    assert_int_equal(remap(e.s, a, PG, 2 * PG, 0, 0), (int64_t)a);
    assert_int_equal(byte_at(e.s, a), 'x');
    assert_int_equal(byte_at(e.s, a + PG), 0);
    ASSERT_MAPS(e.s, anon_line(a, a + 2 * PG, "rw-p"));
    env_close(&e);
}

static void mremap_grow_blocked_without_maymove_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 3 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_munmap(e.s, a + PG, PG), 0);
    char before[4096];
    strcpy(before, maps_of(e.s));
    assert_int_equal(remap(e.s, a, PG, 3 * PG, 0, 0), -GMM_ENOMEM);
    assert_string_equal(maps_of(e.s), before);
    env_close(&e);
}

static void mremap_grow_of_range_not_ending_its_region_needs_a_move(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 2 * PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, 2 * PG, 0, 0), -GMM_ENOMEM);
    env_close(&e);
}

static void mremap_grow_in_place_merges_with_next_region(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    map(e.s, 0x30000000 + 2 * PG, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, 2 * PG, 0, 0), (int64_t)a);
    ASSERT_MAPS(e.s, anon_line(a, a + 3 * PG, "rw-p"));
    env_close(&e);
}

/* ---- moves ---- */

static void mremap_maymove_grow_moves_and_keeps_contents(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 3 * PG, RW, ANON_PRIV);
    fill(e.s, a, 3, 'a');
    assert_int_equal(gmm_sys_munmap(e.s, a + PG, PG), 0);
    void *frame = gmm_translate(e.s, a, GMM_ACCESS_READ);
    int64_t n = remap(e.s, a, PG, 3 * PG, MAYMOVE, 0);
    assert_int_equal(n, TOP - 3 * PG);
    assert_false(mapped(e.s, a));
    assert_int_equal(byte_at(e.s, a + 2 * PG), 'c'); /* untouched neighbour */
    assert_int_equal(byte_at(e.s, (gmm_addr)n), 'a');
    assert_int_equal(byte_at(e.s, (gmm_addr)n + 2 * PG), 0);
    /* The frame moved, nothing was copied. */
    assert_ptr_equal(gmm_translate(e.s, (gmm_addr)n, GMM_ACCESS_READ), frame);
    env_close(&e);
}

static void mremap_fixed_same_size_moves_into_a_hole(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 2 * PG, RW, ANON_PRIV);
    fill(e.s, a, 2, 'p');
    assert_int_equal(remap(e.s, a, 2 * PG, 2 * PG, FIXED | MAYMOVE, 0x40000000), 0x40000000);
    assert_false(mapped(e.s, a));
    assert_int_equal(byte_at(e.s, 0x40000000 + PG), 'q');
    env_close(&e);
}

static void mremap_fixed_replaces_what_is_at_the_destination(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    gmm_addr d = map(e.s, 0x40000000, 3 * PG, GMM_PROT_READ, ANON_PRIV);
    fill(e.s, a, 1, 's');
    assert_int_equal(remap(e.s, a, PG, PG, FIXED | MAYMOVE, d + PG), (int64_t)(d + PG));
    assert_int_equal(byte_at(e.s, d + PG), 's');
    ASSERT_MAPS(e.s, L3(anon_line(d, d + PG, "r--p"), anon_line(d + PG, d + 2 * PG, "rw-p"),
                        anon_line(d + 2 * PG, d + 3 * PG, "r--p")));
    env_close(&e);
}

static void mremap_fixed_shrink_moves_the_head(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 3 * PG, RW, ANON_PRIV);
    fill(e.s, a, 3, 'a');
    assert_int_equal(remap(e.s, a, 2 * PG, PG, FIXED | MAYMOVE, 0x40000000), 0x40000000);
    assert_int_equal(byte_at(e.s, 0x40000000), 'a');
    assert_false(mapped(e.s, 0x40000000 + PG));
    assert_false(mapped(e.s, a));
    assert_false(mapped(e.s, a + PG));
    assert_int_equal(byte_at(e.s, a + 2 * PG), 'c');
    env_close(&e);
}

static void mremap_fixed_grow_maps_the_whole_destination(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    fill(e.s, a, 1, 'g');
    assert_int_equal(remap(e.s, a, PG, 2 * PG, FIXED | MAYMOVE, 0x40000000), 0x40000000);
    assert_int_equal(byte_at(e.s, 0x40000000), 'g');
    assert_int_equal(byte_at(e.s, 0x40000000 + PG), 0);
    assert_false(mapped(e.s, a));
    env_close(&e);
}

static void mremap_fixed_same_size_moves_several_regions_and_their_gaps(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    map(e.s, 0x30000000 + 2 * PG, PG, GMM_PROT_READ, ANON_PRIV);
    fill(e.s, a, 1, 'm');
    assert_int_equal(remap(e.s, a, 3 * PG, 3 * PG, FIXED | MAYMOVE, 0x40000000), 0x40000000);
    ASSERT_MAPS(e.s, L2(anon_line(0x40000000, 0x40000000 + PG, "rw-p"),
                        anon_line(0x40000000 + 2 * PG, 0x40000000 + 3 * PG, "r--p")));
    assert_int_equal(byte_at(e.s, 0x40000000), 'm');
    env_close(&e);
}

static void mremap_move_keeps_copy_on_write_with_a_fork_child(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    fill(e.s, a, 1, 'o');
    gmm_space *child = gmm_space_fork(e.s);
    assert_non_null(child);
    assert_int_equal(remap(e.s, a, PG, PG, FIXED | MAYMOVE, 0x40000000), 0x40000000);
    char c = 'n';
    assert_int_equal(gmm_write(e.s, 0x40000000, &c, 1), 0);
    assert_int_equal(byte_at(child, a), 'o');
    assert_int_equal(byte_at(e.s, 0x40000000), 'n');
    CHECK(child);
    gmm_space_destroy(child);
    env_close(&e);
}

static void mremap_untouched_anonymous_move_merges_at_its_destination(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    map(e.s, 0x40000000, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, PG, FIXED | MAYMOVE, 0x40000000 + PG),
                     0x40000000 + PG);
    ASSERT_MAPS(e.s, anon_line(0x40000000, 0x40000000 + 2 * PG, "rw-p"));
    env_close(&e);
}

static void mremap_written_anonymous_move_keeps_its_offset_and_stays_apart(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV);
    fill(e.s, a, 1, 'w');
    map(e.s, 0x40000000, PG, RW, ANON_PRIV);
    assert_int_equal(remap(e.s, a, PG, PG, FIXED | MAYMOVE, 0x40000000 + PG),
                     0x40000000 + PG);
    ASSERT_MAPS(e.s, L2(anon_line(0x40000000, 0x40000000 + PG, "rw-p"),
                        anon_line(0x40000000 + PG, 0x40000000 + 2 * PG, "rw-p")));
    env_close(&e);
}

/* ---- old_len 0 and DONTUNMAP ---- */

static void mremap_shared_old_size_zero_in_place_is_enomem(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_SHARED);
    assert_int_equal(remap(e.s, a, 0, PG, 0, 0), -GMM_ENOMEM);
    env_close(&e);
}

static void mremap_shared_old_size_zero_maymove_duplicates_the_mapping(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0, PG, RW, ANON_SHARED);
    fill(e.s, a, 1, 'd');
    int64_t n = remap(e.s, a, 0, PG, MAYMOVE, 0);
    assert_true(n > 0 && (gmm_addr)n != a);
    assert_int_equal(byte_at(e.s, (gmm_addr)n), 'd');
    char c = 'e';
    assert_int_equal(gmm_write(e.s, (gmm_addr)n, &c, 1), 0);
    assert_int_equal(byte_at(e.s, a), 'e');
    /* And FIXED: the same pages at a chosen place, the source stays. */
    assert_int_equal(remap(e.s, a, 0, PG, FIXED | MAYMOVE, 0x40000000), 0x40000000);
    assert_int_equal(byte_at(e.s, 0x40000000), 'e');
    assert_true(mapped(e.s, a));
    env_close(&e);
}

static void mremap_shared_anonymous_growth_beyond_its_object_faults_sigbus(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 2 * PG, RW, ANON_SHARED);
    fill(e.s, a, 2, 'a');
    assert_int_equal(remap(e.s, a, 2 * PG, PG, 0, 0), (int64_t)a);
    assert_int_equal(remap(e.s, a, PG, 3 * PG, FIXED | MAYMOVE, a + PG), (int64_t)(a + PG));
    assert_int_equal(byte_at(e.s, a + PG), 'a');
    assert_int_equal(byte_at(e.s, a + 2 * PG), 'b');
    assert_null(gmm_translate(e.s, a + 3 * PG, GMM_ACCESS_READ));
    assert_int_equal(e.faults.last.signo, GMM_SIGBUS);
    env_close(&e);
}

static void mremap_dontunmap_moves_pages_and_leaves_the_source_empty(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 5 * PG, RW, ANON_PRIV);
    fill(e.s, a, 5, 'a');
    int64_t n = remap(e.s, a, 5 * PG, 5 * PG, DONTUNMAP | MAYMOVE, 0);
    assert_true(n > 0 && (gmm_addr)n != a);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(byte_at(e.s, (gmm_addr)n + (uint64_t)i * PG), 'a' + i);
        assert_int_equal(byte_at(e.s, a + (uint64_t)i * PG), 0);
    }
    env_close(&e);
}

static void mremap_dontunmap_part_of_a_region(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 10 * PG, RW, ANON_PRIV);
    fill(e.s, a, 10, 'a');
    assert_int_equal(remap(e.s, a + 5 * PG, 5 * PG, 5 * PG, DONTUNMAP | MAYMOVE | FIXED, 0x40000000),
                     0x40000000);
    assert_int_equal(byte_at(e.s, a + 4 * PG), 'e');
    assert_int_equal(byte_at(e.s, a + 5 * PG), 0);
    assert_int_equal(byte_at(e.s, 0x40000000), 'f');
    env_close(&e);
}

static void mremap_dontunmap_shared_source_still_shows_the_data(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, 2 * PG, RW, ANON_SHARED);
    fill(e.s, a, 2, 's');
    int64_t n = remap(e.s, a, 2 * PG, 2 * PG, DONTUNMAP | MAYMOVE, 0);
    assert_true(n > 0);
    assert_int_equal(byte_at(e.s, a + PG), 't');
    assert_int_equal(byte_at(e.s, (gmm_addr)n + PG), 't');
    env_close(&e);
}

static void mremap_i386_takes_arguments_modulo_2_32(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    int64_t a = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    assert_int_equal(a, 0xf7ffe000 - PG);
    assert_int_equal(gmm_sys_mremap(s, 0xffffffff00000000ull | (uint64_t)a, PG, PG, 0, 0), a);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void mremap_locked_mapping_grown_with_maymove_stays_locked(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    gmm_addr a = map(e.s, 0x30000000, PG, RW, ANON_PRIV | GMM_MAP_LOCKED);
    map(e.s, 0x30000000 + PG, PG, GMM_PROT_READ, ANON_PRIV);
    int64_t n = remap(e.s, a, PG, 3 * PG, MAYMOVE, 0);
    assert_true(n > 0 && (gmm_addr)n != a);
    /* Locked: msync(MS_INVALIDATE) is EBUSY on it, and it is populated. */
    assert_int_equal(gmm_sys_msync(e.s, (gmm_addr)n, 3 * PG, GMM_MS_INVALIDATE), -GMM_EBUSY);
    unsigned char vec[3];
    gmm_addr v = map(e.s, 0, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_mincore(e.s, (gmm_addr)n, 3 * PG, v), 0);
    assert_int_equal(gmm_read(e.s, v, vec, 3), 0);
    assert_int_equal(vec[0] & 1, 1);
    assert_int_equal(vec[1] & 1, 1);
    assert_int_equal(vec[2] & 1, 1);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mremap_unknown_flags_are_einval),
        cmocka_unit_test(mremap_unaligned_old_address_is_einval),
        cmocka_unit_test(mremap_new_size_zero_is_einval),
        cmocka_unit_test(mremap_new_size_beyond_task_is_einval),
        cmocka_unit_test(mremap_fixed_without_maymove_is_einval),
        cmocka_unit_test(mremap_fixed_unaligned_new_address_is_einval),
        cmocka_unit_test(mremap_dontunmap_with_different_sizes_is_einval),
        cmocka_unit_test(mremap_fixed_overlapping_source_is_einval),
        cmocka_unit_test(mremap_unmapped_old_address_is_efault),
        cmocka_unit_test(mremap_range_past_its_region_is_efault),
        cmocka_unit_test(mremap_private_old_size_zero_is_einval),
        cmocka_unit_test(mremap_grow_locked_beyond_rlimit_memlock_is_eagain),
        cmocka_unit_test(mremap_grow_beyond_rlimit_as_is_enomem),
        cmocka_unit_test(mremap_same_size_returns_old_address),
        cmocka_unit_test(mremap_shrink_whole_region_unmaps_the_tail),
        cmocka_unit_test(mremap_shrink_part_of_region_keeps_the_rest),
        cmocka_unit_test(mremap_shrink_across_regions_succeeds),
        cmocka_unit_test(mremap_grow_into_free_space_stays_in_place),
        cmocka_unit_test(mremap_grow_blocked_without_maymove_is_enomem),
        cmocka_unit_test(mremap_grow_of_range_not_ending_its_region_needs_a_move),
        cmocka_unit_test(mremap_grow_in_place_merges_with_next_region),
        cmocka_unit_test(mremap_maymove_grow_moves_and_keeps_contents),
        cmocka_unit_test(mremap_fixed_same_size_moves_into_a_hole),
        cmocka_unit_test(mremap_fixed_replaces_what_is_at_the_destination),
        cmocka_unit_test(mremap_fixed_shrink_moves_the_head),
        cmocka_unit_test(mremap_fixed_grow_maps_the_whole_destination),
        cmocka_unit_test(mremap_fixed_same_size_moves_several_regions_and_their_gaps),
        cmocka_unit_test(mremap_move_keeps_copy_on_write_with_a_fork_child),
        cmocka_unit_test(mremap_untouched_anonymous_move_merges_at_its_destination),
        cmocka_unit_test(mremap_written_anonymous_move_keeps_its_offset_and_stays_apart),
        cmocka_unit_test(mremap_shared_old_size_zero_in_place_is_enomem),
        cmocka_unit_test(mremap_shared_old_size_zero_maymove_duplicates_the_mapping),
        cmocka_unit_test(mremap_shared_anonymous_growth_beyond_its_object_faults_sigbus),
        cmocka_unit_test(mremap_dontunmap_moves_pages_and_leaves_the_source_empty),
        cmocka_unit_test(mremap_dontunmap_part_of_a_region),
        cmocka_unit_test(mremap_dontunmap_shared_source_still_shows_the_data),
        cmocka_unit_test(mremap_i386_takes_arguments_modulo_2_32),
        cmocka_unit_test(mremap_locked_mapping_grown_with_maymove_stays_locked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
