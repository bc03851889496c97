/*
 * test_fork.c - gmm_space_fork with shared page-table leaves (issue 15,
 * item 6): the child shares the parent's last-level tables and the first
 * change copies one.  Whatever space changes a shared leaf, by a store, an
 * unmap, an advice, a move, a snapshot restore or a window, the others see
 * what they saw before; the figures Linux shows (VmRSS, Rss, Pss,
 * Shared/Private, mincore) are those of a copied page table; and the
 * checkers (which count a shared leaf's frame references once and verify
 * the share counts) pass after every step.
 */
#include "memfile.h"

/* A 2 MiB-aligned address: page-table leaves cover 2 MiB. */
#define BASE 0x40000000ull
#define LEAF (2ull << 20)

#define SYSCHECK(sys)                                                                  \
    do {                                                                               \
        const char *syscheck_err_ = gmm_system_check(sys);                             \
        if (syscheck_err_)                                                             \
            fail_msg("system check: %s", syscheck_err_);                               \
    } while (0)

static void map_at(gmm_space *s, gmm_addr a, uint64_t len, int prot, int flags)
{
    assert_int_equal(gmm_sys_mmap(s, a, len, prot, flags | GMM_MAP_FIXED, -1, 0), (int64_t)a);
}

static void put(gmm_space *s, gmm_addr a, uint8_t v)
{
    assert_int_equal(gmm_write(s, a, &v, 1), 0);
}

static uint8_t get(gmm_space *s, gmm_addr a)
{
    uint8_t v = 0xEE;
    assert_int_equal(gmm_read(s, a, &v, 1), 0);
    return v;
}

/* Page i of [a, a + n pages) holds tag + i, written by gmm_write. */
static void fill(gmm_space *s, gmm_addr a, uint64_t n, uint8_t tag)
{
    for (uint64_t i = 0; i < n; i++)
        put(s, a + i * PG, (uint8_t)(tag + i));
}

static void expect_fill(gmm_space *s, gmm_addr a, uint64_t n, uint8_t tag)
{
    for (uint64_t i = 0; i < n; i++)
        if (get(s, a + i * PG) != (uint8_t)(tag + i))
            fail_msg("page %llu at %#llx: %#x, want %#x", (unsigned long long)i,
                     (unsigned long long)(a + i * PG), get(s, a + i * PG), (uint8_t)(tag + i));
}

/* A "Name: value kB" figure from a /proc-style text, after the first line
 * that starts with after (NULL: from the top). */
static uint64_t figure(const char *text, const char *after, const char *name)
{
    const char *p = text;
    if (after) {
        p = strstr(text, after);
        assert_non_null(p);
    }
    p = strstr(p, name);
    if (!p)
        fail_msg("no %s in:\n%s", name, text);
    p += strlen(name);
    while (*p == ' ' || *p == '\t' || *p == ':')
        p++;
    return strtoull(p, NULL, 10);
}

static uint64_t vmrss_kb(gmm_space *s)
{
    static char buf[8192];
    assert_true(gmm_space_status(s, buf, sizeof(buf)) < sizeof(buf));
    return figure(buf, NULL, "VmRSS:");
}

/* The smaps figure name of the region starting at a. */
static uint64_t smaps_kb(gmm_space *s, gmm_addr a, const char *name)
{
    static char buf[1 << 16], head[32];
    assert_true(gmm_space_smaps(s, buf, sizeof(buf)) < sizeof(buf));
    snprintf(head, sizeof(head), "%08llx-", (unsigned long long)a);
    return figure(buf, head, name);
}

static uint64_t resident_pages(gmm_space *s, gmm_addr a, uint64_t n)
{
    /* mincore writes into guest memory: a scratch page of the space. */
    int64_t vec = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    assert_true(vec > 0);
    assert_int_equal(gmm_sys_mincore(s, a, n * PG, (gmm_addr)vec), 0);
    uint8_t v[64];
    assert_true(n <= sizeof(v));
    assert_int_equal(gmm_read(s, (gmm_addr)vec, v, n), 0);
    assert_int_equal(gmm_sys_munmap(s, (gmm_addr)vec, PG), 0);
    uint64_t count = 0;
    for (uint64_t i = 0; i < n; i++)
        count += v[i] & 1;
    return count;
}

/* ---- stores ---- */

static void stores_after_fork_stay_private_both_ways_in_one_leaf(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *p = new_space(sys, GMM_ABI_X86_64);
    map_at(p, BASE, 8 * PG, RW, ANON_PRIV);
    fill(p, BASE, 8, 0x10);
    gmm_space *c = gmm_space_fork(p);
    assert_non_null(c);
    SYSCHECK(sys);
    expect_fill(c, BASE, 8, 0x10);
    /* The parent's store: its own copy of the leaf and of the page. */
    put(p, BASE, 0xA0);
    SYSCHECK(sys);
    assert_int_equal(get(c, BASE), 0x10);
    assert_int_equal(get(p, BASE), 0xA0);
    /* The child's store to another page of the same leaf. */
    put(c, BASE + 3 * PG, 0xC3);
    SYSCHECK(sys);
    assert_int_equal(get(p, BASE + 3 * PG), 0x13);
    assert_int_equal(get(c, BASE + 3 * PG), 0xC3);
    /* And to the page the parent changed: the child's frame was its own
     * by then, or a copy; the parent's stays. */
    put(c, BASE, 0xC0);
    put(p, BASE + 3 * PG, 0xA3);
    SYSCHECK(sys);
    assert_int_equal(get(p, BASE), 0xA0);
    assert_int_equal(get(c, BASE), 0xC0);
    assert_int_equal(get(p, BASE + 3 * PG), 0xA3);
    assert_int_equal(get(c, BASE + 3 * PG), 0xC3);
    /* A load first (a read translation, which must not grant the store
     * while the leaf or the frame is shared), then a store. */
    assert_int_equal(get(p, BASE + 5 * PG), 0x15);
    put(p, BASE + 5 * PG, 0xA5);
    assert_int_equal(get(c, BASE + 6 * PG), 0x16);
    put(c, BASE + 6 * PG, 0xC6);
    SYSCHECK(sys);
    assert_int_equal(get(c, BASE + 5 * PG), 0x15);
    assert_int_equal(get(p, BASE + 6 * PG), 0x16);
    assert_int_equal(get(p, BASE + 5 * PG), 0xA5);
    assert_int_equal(get(c, BASE + 6 * PG), 0xC6);
    for (int i = 1; i < 8; i++) {
        if (i == 3 || i == 5 || i == 6)
            continue;
        assert_int_equal(get(p, BASE + i * PG), 0x10 + i);
        assert_int_equal(get(c, BASE + i * PG), 0x10 + i);
    }
    gmm_space_destroy(c);
    SYSCHECK(sys);
    gmm_space_destroy(p);
    SYSCHECK(sys);
    gmm_system_destroy(sys);
}

static void stores_after_fork_stay_private_across_leaves(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *p = new_space(sys, GMM_ABI_X86_64);
    uint64_t n = 4 * LEAF / PG;
    map_at(p, BASE, 4 * LEAF, RW, ANON_PRIV);
    for (uint64_t i = 0; i < n; i++)
        put(p, BASE + i * PG, (uint8_t)i);
    gmm_space *c = gmm_space_fork(p);
    assert_non_null(c);
    SYSCHECK(sys);
    /* A store in leaves 0 and 2 by the parent, in 1 and 2 by the child. */
    put(p, BASE + 5 * PG, 0xA5);
    put(p, BASE + 2 * LEAF + 7 * PG, 0xA7);
    put(c, BASE + LEAF + 9 * PG, 0xC9);
    put(c, BASE + 2 * LEAF + 7 * PG, 0xC7);
    SYSCHECK(sys);
    for (uint64_t i = 0; i < n; i++) {
        gmm_addr a = BASE + i * PG;
        uint8_t want_p = (uint8_t)i, want_c = (uint8_t)i;
        if (a == BASE + 5 * PG)
            want_p = 0xA5;
        if (a == BASE + 2 * LEAF + 7 * PG)
            want_p = 0xA7, want_c = 0xC7;
        if (a == BASE + LEAF + 9 * PG)
            want_c = 0xC9;
        if (get(p, a) != want_p || get(c, a) != want_c)
            fail_msg("page %#llx: parent %#x child %#x, want %#x %#x", (unsigned long long)a,
                     get(p, a), get(c, a), want_p, want_c);
    }
    /* Child first this time. */
    gmm_space_destroy(p);
    SYSCHECK(sys);
    assert_int_equal(get(c, BASE + LEAF + 9 * PG), 0xC9);
    assert_int_equal(get(c, BASE + 5 * PG), 5);
    put(c, BASE + 6 * PG, 0xC6);
    SYSCHECK(sys);
    gmm_space_destroy(c);
    SYSCHECK(sys);
    assert_int_equal(gmm_system_frames_used(sys), 0);
    gmm_system_destroy(sys);
}

static void grandchild_shares_a_leaf_three_ways(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *p = new_space(sys, GMM_ABI_X86_64);
    map_at(p, BASE, 16 * PG, RW, ANON_PRIV);
    fill(p, BASE, 16, 0x20);
    gmm_space *c = gmm_space_fork(p);
    assert_non_null(c);
    gmm_space *g = gmm_space_fork(c);
    assert_non_null(g);
    SYSCHECK(sys);
    expect_fill(g, BASE, 16, 0x20);
    put(c, BASE + PG, 0xC1);
    SYSCHECK(sys);
    put(g, BASE + 2 * PG, 0x62);
    SYSCHECK(sys);
    put(p, BASE + 3 * PG, 0xA3);
    SYSCHECK(sys);
    gmm_space *sp[3] = {p, c, g};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 16; i++) {
            uint8_t want = (uint8_t)(0x20 + i);
            if (k == 1 && i == 1)
                want = 0xC1;
            if (k == 2 && i == 2)
                want = 0x62;
            if (k == 0 && i == 3)
                want = 0xA3;
            assert_int_equal(get(sp[k], BASE + i * PG), want);
        }
    /* A fourth sharer, then the middle one goes first. */
    gmm_space *g2 = gmm_space_fork(g);
    assert_non_null(g2);
    SYSCHECK(sys);
    gmm_space_destroy(c);
    SYSCHECK(sys);
    assert_int_equal(get(g2, BASE + 2 * PG), 0x62);
    assert_int_equal(get(g2, BASE + PG), 0x21);
    gmm_space_destroy(g);
    SYSCHECK(sys);
    put(g2, BASE + 4 * PG, 0x64);
    assert_int_equal(get(p, BASE + 4 * PG), 0x24);
    gmm_space_destroy(p);
    SYSCHECK(sys);
    assert_int_equal(get(g2, BASE + 4 * PG), 0x64);
    assert_int_equal(get(g2, BASE + 3 * PG), 0x23);
    gmm_space_destroy(g2);
    SYSCHECK(sys);
    assert_int_equal(gmm_system_frames_used(sys), 0);
    gmm_system_destroy(sys);
}

/* ---- changes of the page table in one space ---- */

/* A parent with 32 pages (tag 0x30) in one leaf, and its child. */
struct pair {
    gmm_system *sys;
    gmm_space *p, *c;
};

static void pair_setup(struct pair *e)
{
    e->sys = new_system(NULL);
    e->p = new_space(e->sys, GMM_ABI_X86_64);
    map_at(e->p, BASE, 32 * PG, RW, ANON_PRIV);
    fill(e->p, BASE, 32, 0x30);
    e->c = gmm_space_fork(e->p);
    assert_non_null(e->c);
    SYSCHECK(e->sys);
}

static void pair_done(struct pair *e)
{
    gmm_space_destroy(e->c);
    SYSCHECK(e->sys);
    gmm_space_destroy(e->p);
    SYSCHECK(e->sys);
    assert_int_equal(gmm_system_frames_used(e->sys), 0);
    gmm_system_destroy(e->sys);
}

static void munmap_in_one_space_leaves_the_other(void **state)
{
    (void)state;
    struct pair e;
    pair_setup(&e);
    assert_int_equal(gmm_sys_munmap(e.c, BASE + 4 * PG, 8 * PG), 0);
    SYSCHECK(e.sys);
    expect_fill(e.p, BASE, 32, 0x30);
    assert_int_equal(vmrss_kb(e.p), 32 * 4);
    assert_int_equal(vmrss_kb(e.c), 24 * 4);
    /* And the other way round, the whole range. */
    assert_int_equal(gmm_sys_munmap(e.p, BASE, 32 * PG), 0);
    SYSCHECK(e.sys);
    expect_fill(e.c, BASE, 4, 0x30);
    expect_fill(e.c, BASE + 12 * PG, 20, 0x3C);
    pair_done(&e);
}

static void madvise_dontneed_in_one_space_leaves_the_other(void **state)
{
    (void)state;
    struct pair e;
    pair_setup(&e);
    assert_int_equal(gmm_sys_madvise(e.p, BASE + 2 * PG, 3 * PG, GMM_MADV_DONTNEED), 0);
    SYSCHECK(e.sys);
    assert_int_equal(get(e.p, BASE + 2 * PG), 0);
    assert_int_equal(get(e.p, BASE + 5 * PG), 0x35);
    expect_fill(e.c, BASE, 32, 0x30);
    /* MADV_FREE keeps anonymous pages here; guard markers change entries. */
    assert_int_equal(gmm_sys_madvise(e.c, BASE, 32 * PG, GMM_MADV_FREE), 0);
    assert_int_equal(gmm_sys_madvise(e.c, BASE + 8 * PG, PG, GMM_MADV_GUARD_INSTALL), 0);
    SYSCHECK(e.sys);
    assert_int_equal(get(e.p, BASE + 8 * PG), 0x38);
    uint8_t v;
    assert_int_equal(gmm_read(e.c, BASE + 8 * PG, &v, 1), -GMM_EFAULT);
    gmm_space *g = gmm_space_fork(e.c); /* the marker is copied (shared) */
    assert_non_null(g);
    SYSCHECK(e.sys);
    assert_int_equal(gmm_read(g, BASE + 8 * PG, &v, 1), -GMM_EFAULT);
    assert_int_equal(gmm_sys_madvise(g, BASE + 8 * PG, PG, GMM_MADV_GUARD_REMOVE), 0);
    SYSCHECK(e.sys);
    assert_int_equal(get(g, BASE + 8 * PG), 0);
    assert_int_equal(gmm_read(e.c, BASE + 8 * PG, &v, 1), -GMM_EFAULT);
    assert_int_equal(get(g, BASE + 9 * PG), 0x39);
    gmm_space_destroy(g);
    pair_done(&e);
}

static void mprotect_in_one_space_leaves_the_other(void **state)
{
    (void)state;
    struct pair e;
    pair_setup(&e);
    assert_int_equal(gmm_sys_mprotect(e.c, BASE, 16 * PG, GMM_PROT_READ), 0);
    SYSCHECK(e.sys);
    uint8_t v = 1;
    assert_int_equal(gmm_write(e.c, BASE, &v, 1), -GMM_EFAULT);
    put(e.p, BASE, 0xA0);
    assert_int_equal(get(e.c, BASE), 0x30);
    assert_int_equal(gmm_sys_mprotect(e.c, BASE, 16 * PG, RW), 0);
    put(e.c, BASE + PG, 0xC1);
    assert_int_equal(get(e.p, BASE + PG), 0x31);
    SYSCHECK(e.sys);
    pair_done(&e);
}

static void mremap_in_one_space_leaves_the_other(void **state)
{
    (void)state;
    struct pair e;
    pair_setup(&e);
    /* Moved to another leaf, then back into the shared one's range. */
    gmm_addr to = BASE + 3 * LEAF;
    assert_int_equal(gmm_sys_mremap(e.c, BASE + 8 * PG, 8 * PG, 8 * PG,
                                    GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED, to),
                     (int64_t)to);
    SYSCHECK(e.sys);
    expect_fill(e.c, to, 8, 0x38);
    expect_fill(e.p, BASE, 32, 0x30);
    put(e.c, to, 0xC8);
    assert_int_equal(get(e.p, BASE + 8 * PG), 0x38);
    assert_int_equal(gmm_sys_mremap(e.c, to, 8 * PG, 8 * PG, GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED,
                                    BASE + 40 * PG),
                     (int64_t)(BASE + 40 * PG));
    SYSCHECK(e.sys);
    assert_int_equal(get(e.c, BASE + 40 * PG), 0xC8);
    expect_fill(e.c, BASE + 41 * PG, 7, 0x39);
    expect_fill(e.p, BASE, 32, 0x30);
    /* The parent moves within the leaf it shares. */
    gmm_space *g = gmm_space_fork(e.p);
    assert_non_null(g);
    assert_int_equal(gmm_sys_mremap(e.p, BASE, 4 * PG, 4 * PG, GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED,
                                    BASE + 100 * PG),
                     (int64_t)(BASE + 100 * PG));
    SYSCHECK(e.sys);
    expect_fill(e.p, BASE + 100 * PG, 4, 0x30);
    expect_fill(g, BASE, 32, 0x30);
    gmm_space_destroy(g);
    pair_done(&e);
}

static void populate_mlock_and_exec_reset_in_one_space_leave_the_other(void **state)
{
    (void)state;
    struct pair e;
    pair_setup(&e);
    /* A read of untouched pages next door, mlock (a write fault per
     * page of a private writable mapping), then exec. */
    map_at(e.p, BASE + 32 * PG, 8 * PG, RW, ANON_PRIV);
    assert_int_equal(get(e.p, BASE + 33 * PG), 0);
    assert_int_equal(gmm_sys_mlock(e.c, BASE, 32 * PG), 0);
    SYSCHECK(e.sys);
    put(e.c, BASE + 2 * PG, 0xC2);
    assert_int_equal(get(e.p, BASE + 2 * PG), 0x32);
    assert_int_equal(gmm_space_exec_reset(e.c), 0);
    SYSCHECK(e.sys);
    expect_fill(e.p, BASE, 32, 0x30);
    pair_done(&e);
}

/* ---- what Linux shows ---- */

static void rss_pss_and_mincore_are_those_of_a_copied_table(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *p = new_space(sys, GMM_ABI_X86_64);
    map_at(p, BASE, 16 * PG, RW, ANON_PRIV);
    fill(p, BASE, 4, 0x40);
    assert_int_equal(get(p, BASE + 8 * PG), 0); /* the zero page: not resident */
    assert_int_equal(vmrss_kb(p), 16);
    gmm_space *c = gmm_space_fork(p);
    assert_non_null(c);
    SYSCHECK(sys);
    /* Four pages each, shared by two: Pss half of Rss. */
    for (int k = 0; k < 2; k++) {
        gmm_space *s = k ? c : p;
        assert_int_equal(vmrss_kb(s), 16);
        assert_int_equal(smaps_kb(s, BASE, "Rss:"), 16);
        assert_int_equal(smaps_kb(s, BASE, "Pss:"), 8);
        assert_int_equal(smaps_kb(s, BASE, "Shared_Dirty:"), 16);
        assert_int_equal(smaps_kb(s, BASE, "Private_Dirty:"), 0);
        assert_int_equal(smaps_kb(s, BASE, "Anonymous:"), 16);
        assert_int_equal(resident_pages(s, BASE, 16), 5); /* the zero page counts */
    }
    /* The child's store: one page its own. */
    put(c, BASE + PG, 0xC1);
    SYSCHECK(sys);
    assert_int_equal(vmrss_kb(c), 16);
    assert_int_equal(smaps_kb(c, BASE, "Private_Dirty:"), 4);
    assert_int_equal(smaps_kb(c, BASE, "Shared_Dirty:"), 12);
    assert_int_equal(smaps_kb(c, BASE, "Pss:"), 10);
    assert_int_equal(smaps_kb(p, BASE, "Private_Dirty:"), 4);
    assert_int_equal(smaps_kb(p, BASE, "Pss:"), 10);
    /* A grandchild: three users of three pages. */
    gmm_space *g = gmm_space_fork(c);
    assert_non_null(g);
    SYSCHECK(sys);
    assert_int_equal(smaps_kb(g, BASE, "Shared_Dirty:"), 16);
    assert_int_equal(smaps_kb(p, BASE, "Shared_Dirty:"), 12);
    assert_int_equal(smaps_kb(p, BASE, "Private_Dirty:"), 4);
    gmm_space_destroy(g);
    gmm_space_destroy(c);
    SYSCHECK(sys);
    assert_int_equal(smaps_kb(p, BASE, "Pss:"), 16);
    assert_int_equal(smaps_kb(p, BASE, "Private_Dirty:"), 16);
    gmm_space_destroy(p);
    gmm_system_destroy(sys);
}

static void leaf_with_a_region_fork_leaves_behind_is_copied_entry_by_entry(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *p = new_space(sys, GMM_ABI_X86_64);
    /* One leaf: private pages, shared memory, a MADV_DONTFORK range,
     * private again. */
    map_at(p, BASE, 4 * PG, RW, ANON_PRIV);
    map_at(p, BASE + 4 * PG, 4 * PG, RW, ANON_SHARED);
    map_at(p, BASE + 8 * PG, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_madvise(p, BASE + 8 * PG, 4 * PG, GMM_MADV_DONTFORK), 0);
    map_at(p, BASE + 12 * PG, 4 * PG, RW, ANON_PRIV | GMM_MAP_POPULATE);
    fill(p, BASE, 16, 0x50);
    gmm_space *c = gmm_space_fork(p);
    assert_non_null(c);
    SYSCHECK(sys);
    /* The child faults the shared pages in itself (not resident yet) and
     * has no DONTFORK range. */
    assert_int_equal(vmrss_kb(c), 8 * 4);
    assert_int_equal(smaps_kb(c, BASE + 4 * PG, "Rss:"), 0);
    expect_fill(c, BASE, 8, 0x50);
    uint8_t v;
    assert_int_equal(gmm_read(c, BASE + 8 * PG, &v, 1), -GMM_EFAULT);
    expect_fill(c, BASE + 12 * PG, 4, 0x5C);
    put(c, BASE + 5 * PG, 0xC5); /* shared memory: both see it */
    assert_int_equal(get(p, BASE + 5 * PG), 0xC5);
    put(c, BASE + 13 * PG, 0xCD);
    assert_int_equal(get(p, BASE + 13 * PG), 0x5D);
    SYSCHECK(sys);
    gmm_space_destroy(p);
    SYSCHECK(sys);
    gmm_space_destroy(c);
    gmm_system_destroy(sys);
}

/* ---- snapshots ---- */

static void snapshot_restore_around_fork_changes_only_its_space(void **state)
{
    (void)state;
    struct pair e;
    pair_setup(&e);
    /* A snapshot of the parent, taken after the fork; the child's own. */
    gmm_snapshot *sp = gmm_snapshot_take(e.p);
    gmm_snapshot *sc = gmm_snapshot_take(e.c);
    assert_non_null(sp);
    assert_non_null(sc);
    SYSCHECK(e.sys);
    put(e.p, BASE, 0xA0);
    assert_int_equal(gmm_sys_munmap(e.c, BASE + 16 * PG, 16 * PG), 0);
    put(e.c, BASE + PG, 0xC1);
    SYSCHECK(e.sys);
    gmm_space *g = gmm_space_fork(e.c);
    assert_non_null(g);
    assert_int_equal(gmm_snapshot_restore(e.c, sc), 0);
    SYSCHECK(e.sys);
    expect_fill(e.c, BASE, 32, 0x30);
    assert_int_equal(get(g, BASE + PG), 0xC1);
    assert_int_equal(get(e.p, BASE), 0xA0);
    assert_int_equal(gmm_snapshot_restore(e.p, sp), 0);
    SYSCHECK(e.sys);
    expect_fill(e.p, BASE, 32, 0x30);
    /* A snapshot taken before a fork, restored after the child wrote. */
    gmm_snapshot *s2 = gmm_snapshot_take(g);
    assert_non_null(s2);
    gmm_space *h = gmm_space_fork(g);
    assert_non_null(h);
    put(g, BASE + 2 * PG, 0x62);
    put(h, BASE + 3 * PG, 0x83);
    assert_int_equal(gmm_snapshot_restore(g, s2), 0);
    SYSCHECK(e.sys);
    assert_int_equal(get(g, BASE + 2 * PG), 0x32);
    assert_int_equal(get(h, BASE + 3 * PG), 0x83);
    assert_int_equal(get(h, BASE + PG), 0xC1);
    gmm_snapshot_discard(sp);
    gmm_snapshot_discard(sc);
    gmm_snapshot_discard(s2);
    gmm_space_destroy(h);
    gmm_space_destroy(g);
    pair_done(&e);
}

/* ---- files ---- */

static void truncation_zaps_private_copies_in_every_space_sharing_a_leaf(void **state)
{
    (void)state;
    struct memfile_env env;
    memset(&env, 0, sizeof(env));
    env.rw = env.ro = &env.file;
    env.file.size = 8 * PG;
    for (uint64_t i = 0; i < env.file.size; i++)
        env.file.data[i] = (uint8_t)('a' + i / PG);
    gmm_host host = {.user = &env, .get_file = memfile_get};
    gmm_system *sys = gmm_system_create(&host);
    assert_non_null(sys);
    gmm_space *p = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(p, BASE, 8 * PG, RW, GMM_MAP_PRIVATE | GMM_MAP_FIXED, 3, 0),
                     (int64_t)BASE);
    put(p, BASE, 'A');     /* a private copy */
    put(p, BASE + 6 * PG, 'G');
    assert_int_equal(get(p, BASE + 3 * PG), 'd');
    gmm_space *c = gmm_space_fork(p);
    assert_non_null(c);
    SYSCHECK(sys);
    env.file.size = 4 * PG;
    gmm_file_resized(sys, 0x801, 77, 4 * PG);
    SYSCHECK(sys);
    uint8_t v;
    for (int k = 0; k < 2; k++) {
        gmm_space *s = k ? c : p;
        assert_int_equal(get(s, BASE), 'A');
        assert_int_equal(get(s, BASE + 3 * PG), 'd');
        assert_int_equal(gmm_read(s, BASE + 6 * PG, &v, 1), -GMM_EFAULT);
    }
    gmm_space_destroy(c);
    gmm_space_destroy(p);
    SYSCHECK(sys);
    gmm_system_destroy(sys);
}

/* ---- out of memory ---- */

struct failing_alloc {
    bool fail; /* every allocation of a page's size or more fails (page-table
                  nodes: a region's structure is much smaller) */
};

static void *failing(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct failing_alloc *a = ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return a->fail && new_size >= 4096 ? NULL : realloc(ptr, new_size);
}

/* With no memory for page-table nodes, the first store into a shared leaf
 * and a munmap or MADV_DONTNEED of part of one still work: fork reserved
 * the copies' nodes. */
static void leaf_copies_never_run_out_of_memory(void **state)
{
    (void)state;
    struct failing_alloc a = {false};
    gmm_system *sys = gmm_system_create_with_allocator(NULL, failing, &a);
    assert_non_null(sys);
    gmm_space *p = new_space(sys, GMM_ABI_X86_64);
    map_at(p, BASE, 3 * LEAF, RW, ANON_PRIV);
    for (uint64_t i = 0; i < 3 * LEAF; i += 64 * PG)
        put(p, BASE + i, (uint8_t)(i / PG));
    gmm_space *c = gmm_space_fork(p);
    assert_non_null(c);
    gmm_space *g = gmm_space_fork(c);
    assert_non_null(g);
    /* No page-table node can be allocated from here. */
    a.fail = true;
    put(p, BASE + 64 * PG, 0xA1);
    put(c, BASE + 64 * PG, 0xC1);
    SYSCHECK(sys);
    /* The end of the region: leaf 2 in part. */
    assert_int_equal(gmm_sys_munmap(g, BASE + 2 * LEAF + 128 * PG, LEAF - 128 * PG), 0);
    assert_int_equal(gmm_sys_madvise(c, BASE + LEAF, 128 * PG, GMM_MADV_DONTNEED), 0);
    SYSCHECK(sys);
    /* A whole leaf let go without a copy: DONTNEED of leaf 1 in g. */
    assert_int_equal(gmm_sys_madvise(g, BASE + LEAF, LEAF, GMM_MADV_DONTNEED), 0);
    SYSCHECK(sys);
    assert_int_equal(get(p, BASE + LEAF + 64 * PG), (uint8_t)(LEAF / PG + 64));
    assert_int_equal(get(p, BASE + 64 * PG), 0xA1);
    assert_int_equal(get(c, BASE + 64 * PG), 0xC1);
    assert_int_equal(get(g, BASE + 64 * PG), 64);
    assert_int_equal(get(c, BASE + LEAF + 64 * PG), 0);
    assert_int_equal(get(p, BASE + 2 * LEAF + 192 * PG), (uint8_t)(2 * LEAF / PG + 192));
    a.fail = false;
    /* (Reading it again needs a page-table node.) */
    assert_int_equal(get(g, BASE + LEAF + 64 * PG), 0);
    /* An exec reset lets go of every leaf it shares. */
    gmm_space *x = gmm_space_fork(p);
    assert_non_null(x);
    a.fail = true;
    assert_int_equal(gmm_space_exec_reset(x), 0);
    SYSCHECK(sys);
    assert_int_equal(vmrss_kb(x), 0);
    a.fail = false;
    gmm_space_destroy(x);
    assert_int_equal(get(p, BASE + 2 * LEAF + 192 * PG), (uint8_t)(2 * LEAF / PG + 192));
    gmm_space_destroy(p);
    gmm_space_destroy(g);
    SYSCHECK(sys);
    gmm_space_destroy(c);
    SYSCHECK(sys);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stores_after_fork_stay_private_both_ways_in_one_leaf),
        cmocka_unit_test(stores_after_fork_stay_private_across_leaves),
        cmocka_unit_test(grandchild_shares_a_leaf_three_ways),
        cmocka_unit_test(munmap_in_one_space_leaves_the_other),
        cmocka_unit_test(madvise_dontneed_in_one_space_leaves_the_other),
        cmocka_unit_test(mprotect_in_one_space_leaves_the_other),
        cmocka_unit_test(mremap_in_one_space_leaves_the_other),
        cmocka_unit_test(populate_mlock_and_exec_reset_in_one_space_leave_the_other),
        cmocka_unit_test(rss_pss_and_mincore_are_those_of_a_copied_table),
        cmocka_unit_test(leaf_with_a_region_fork_leaves_behind_is_copied_entry_by_entry),
        cmocka_unit_test(snapshot_restore_around_fork_changes_only_its_space),
        cmocka_unit_test(truncation_zaps_private_copies_in_every_space_sharing_a_leaf),
        cmocka_unit_test(leaf_copies_never_run_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
