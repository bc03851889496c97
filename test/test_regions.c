/*
 * test_regions.c - the region tree under stress: thousands of regions,
 * random mmap / munmap / mprotect, the invariant checker after every step,
 * and every result compared with a simple reference model kept by the test:
 *
 *   - a page array over a window right below mmap_base, each page free or
 *     mapped with a prot;
 *   - mmap(0, len) placement = Linux's top-down first fit: the highest
 *     page-aligned start whose [start, start+len) is free below mmap_base
 *     (mmap_min_addr is far below the window);
 *   - a hint without MAP_FIXED is taken when its whole range is free;
 *   - mprotect changes pages from the start up to the first hole and
 *     returns -ENOMEM when there is a hole (nothing when the start page is
 *     unmapped);
 *   - the maps text of never-written private anonymous memory is one line
 *     per maximal run of pages with equal prot (Linux merges such regions on
 *     mmap and mprotect: their flags depend on prot alone, VM_ACCOUNT going
 *     with PROT_WRITE, and their page offsets are contiguous).
 */
#include "testutil.h"

#define MMAP_BASE_64 0x7ffff7fff000ull
#define MMAP_BASE_32 0xf7ffe000ull

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static const char *const perms_p[8] = {"---p", "r--p", "-w-p", "rw-p", "--xp", "r-xp", "-wxp", "rwxp"};

/* ---- the reference model ---- */

struct model {
    gmm_addr base;   /* window start */
    uint64_t np;     /* pages in the window; base + np pages == mmap_base */
    uint8_t *pg;     /* 0: free, else 1 + prot */
    uint8_t *val;    /* expected byte at the page's probe offset */
    uint64_t mapped; /* mapped pages */
};

static void model_init(struct model *m, gmm_addr mmap_base, uint64_t np)
{
    m->np = np;
    m->base = mmap_base - np * PG;
    m->pg = calloc(np, 1);
    m->val = calloc(np, 1);
    m->mapped = 0;
    assert_non_null(m->pg);
    assert_non_null(m->val);
}

static void model_free(struct model *m)
{
    free(m->pg);
    free(m->val);
}

static gmm_addr page_addr(const struct model *m, uint64_t i) { return m->base + i * PG; }
/* Where in a page the content tests probe: varies by page. */
static uint64_t probe_off(uint64_t i) { return (i * 97) % PG; }

static void model_map(struct model *m, uint64_t first, uint64_t n, int prot)
{
    for (uint64_t i = first; i < first + n; i++) {
        if (!m->pg[i])
            m->mapped++;
        m->pg[i] = (uint8_t)(1 + prot);
        m->val[i] = 0;
    }
}

static void model_unmap(struct model *m, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++) {
        if (m->pg[i])
            m->mapped--;
        m->pg[i] = 0;
        m->val[i] = 0;
    }
}

static bool model_is_free(const struct model *m, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++)
        if (m->pg[i])
            return false;
    return true;
}

/* Top-down first fit: index of the highest free run of n pages. */
static uint64_t model_topdown(const struct model *m, uint64_t n)
{
    uint64_t run = 0;
    for (uint64_t i = m->np; i-- > 0;) {
        run = m->pg[i] ? 0 : run + 1;
        if (run == n)
            return i;
    }
    fail_msg("reference model: window full (test parameters too dense)");
    return 0;
}

static int64_t model_mprotect(struct model *m, uint64_t first, uint64_t n, int prot)
{
    if (!m->pg[first])
        return -GMM_ENOMEM;
    for (uint64_t i = first; i < first + n; i++) {
        if (!m->pg[i])
            return -GMM_ENOMEM;
        m->pg[i] = (uint8_t)(1 + prot);
    }
    return 0;
}

/* Expected maps text of an unwritten space: runs of equal prot. */
static char *model_maps(const struct model *m)
{
    size_t cap = 64 + (size_t)m->np * 64, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = '\0';
    for (uint64_t i = 0; i < m->np;) {
        if (!m->pg[i]) {
            i++;
            continue;
        }
        uint64_t j = i;
        while (j < m->np && m->pg[j] == m->pg[i])
            j++;
        n += (size_t)snprintf(out + n, cap - n, "%s",
                              anon_line(page_addr(m, i), page_addr(m, j), perms_p[m->pg[i] - 1]));
        i = j;
    }
    return out;
}

static char *space_maps(gmm_space *s)
{
    size_t len = gmm_space_maps(s, NULL, 0);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    assert_int_equal(gmm_space_maps(s, buf, len + 1), len);
    return buf;
}

static size_t count_lines(const char *t)
{
    size_t n = 0;
    for (; *t; t++)
        n += *t == '\n';
    return n;
}

static void assert_maps_match_model(gmm_space *s, const struct model *m)
{
    CHECK(s);
    char *want = model_maps(m), *got = space_maps(s);
    if (strcmp(want, got) != 0) {
        /* Show the first differing line. */
        size_t k = 0;
        while (want[k] && want[k] == got[k])
            k++;
        while (k > 0 && want[k - 1] != '\n')
            k--;
        fail_msg("maps differ from the model at byte %zu:\n want: %.60s\n got:  %.60s", k, want + k,
                 got + k);
    }
    free(want);
    free(got);
}

/* ---- one random step ---- */

struct stress {
    gmm_space *s;
    struct model m;
    bool writes;        /* also write and read content */
    unsigned max_len;   /* pages per operation */
    uint64_t stats[8];
};

static int random_prot(const struct stress *st)
{
    int prot = (int)(rnd() % 8);
    /* Content runs avoid PROT_EXEC alone, whose readability depends on
     * the CPU (execute-only under x86 protection keys). */
    if (st->writes && prot == GMM_PROT_EXEC)
        prot = GMM_PROT_READ | GMM_PROT_EXEC;
    return prot;
}

static void random_range(const struct stress *st, uint64_t *first, uint64_t *n)
{
    *n = 1 + rnd() % st->max_len;
    *first = rnd() % (st->m.np - *n + 1);
}

static void step(struct stress *st)
{
    struct model *m = &st->m;
    gmm_space *s = st->s;
    uint64_t first, n;
    int prot = random_prot(st);
    unsigned op = (unsigned)(rnd() % 100);
    /* Keep the window at most about half full so placement stays in it. */
    if (m->mapped > m->np / 2 && op < 50)
        op += 50;

    if (op < 35) {
        /* mmap(0): top-down first fit. */
        n = 1 + rnd() % st->max_len;
        uint64_t want = model_topdown(m, n);
        int64_t got = gmm_sys_mmap(s, 0, n * PG, prot, ANON_PRIV, -1, 0);
        assert_int_equal(got, (int64_t)page_addr(m, want));
        model_map(m, want, n, prot);
        st->stats[0]++;
    } else if (op < 42) {
        /* A hint: taken when free, else the top-down search. */
        random_range(st, &first, &n);
        uint64_t want = model_is_free(m, first, n) ? first : model_topdown(m, n);
        int64_t got = gmm_sys_mmap(s, page_addr(m, first) + (rnd() % PG), n * PG, prot, ANON_PRIV, -1, 0);
        assert_int_equal(got, (int64_t)page_addr(m, want));
        model_map(m, want, n, prot);
        st->stats[1]++;
    } else if (op < 50) {
        /* MAP_FIXED replaces whatever is there. */
        random_range(st, &first, &n);
        int64_t got = gmm_sys_mmap(s, page_addr(m, first), n * PG, prot, ANON_PRIV | GMM_MAP_FIXED, -1, 0);
        assert_int_equal(got, (int64_t)page_addr(m, first));
        model_map(m, first, n, prot);
        st->stats[2]++;
    } else if (op < 72) {
        random_range(st, &first, &n);
        /* Unaligned lengths round up. */
        uint64_t len = n * PG - (rnd() % PG);
        assert_int_equal(gmm_sys_munmap(s, page_addr(m, first), len), 0);
        model_unmap(m, first, n);
        st->stats[3]++;
    } else if (op < 92) {
        random_range(st, &first, &n);
        int64_t want = model_mprotect(m, first, n, prot);
        assert_int_equal(gmm_sys_mprotect(s, page_addr(m, first), n * PG, prot), want);
        st->stats[want ? 5 : 4]++;
    } else if (st->writes && op < 96) {
        /* Write one byte to each page of a range, through gmm_write. */
        random_range(st, &first, &n);
        for (uint64_t i = first; i < first + n; i++) {
            uint8_t v = (uint8_t)(1 + rnd() % 255);
            bool ok = m->pg[i] && ((m->pg[i] - 1) & GMM_PROT_WRITE);
            assert_int_equal(gmm_write(s, page_addr(m, i) + probe_off(i), &v, 1), ok ? 0 : -GMM_EFAULT);
            if (ok)
                m->val[i] = v;
        }
        st->stats[6]++;
    } else if (st->writes) {
        /* Read them back, through gmm_read. */
        random_range(st, &first, &n);
        for (uint64_t i = first; i < first + n; i++) {
            uint8_t v = 0xEE;
            bool ok = m->pg[i] && (m->pg[i] - 1) != GMM_PROT_NONE;
            assert_int_equal(gmm_read(s, page_addr(m, i) + probe_off(i), &v, 1), ok ? 0 : -GMM_EFAULT);
            if (ok)
                assert_int_equal(v, m->val[i]);
        }
        st->stats[7]++;
    }
    CHECK(s);
}

static void run_stress(gmm_abi abi, uint64_t seed, uint64_t np, unsigned max_len, bool writes,
                       int steps, int maps_every)
{
    rng_state = seed;
    gmm_system *sys = new_system(NULL);
    struct stress st = {0};
    st.s = new_space(sys, abi);
    st.writes = writes;
    st.max_len = max_len;
    model_init(&st.m, abi == GMM_ABI_I386 ? MMAP_BASE_32 : MMAP_BASE_64, np);
    for (int i = 0; i < steps; i++) {
        step(&st);
        if (!writes && (i % maps_every == 0 || i == steps - 1))
            assert_maps_match_model(st.s, &st.m);
    }
    /* Every kind of step happened. */
    for (int k = 0; k < (writes ? 8 : 6); k++)
        assert_true(st.stats[k] > 0);
    if (writes) {
        /* Final sweep of every page. */
        for (uint64_t i = 0; i < st.m.np; i++) {
            uint8_t v = 0xEE;
            bool ok = st.m.pg[i] && (st.m.pg[i] - 1) != GMM_PROT_NONE;
            assert_int_equal(gmm_read(st.s, page_addr(&st.m, i) + probe_off(i), &v, 1), ok ? 0 : -GMM_EFAULT);
            if (ok)
                assert_int_equal(v, st.m.val[i]);
        }
    }
    CHECK(st.s);
    model_free(&st.m);
    gmm_space_destroy(st.s);
    gmm_system_destroy(sys);
}

/* ---- tests ---- */

static void regions_thousands_of_alternating_regions_stay_separate(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    struct model m;
    const uint64_t n = 5000;
    model_init(&m, MMAP_BASE_64, n);
    for (uint64_t i = 0; i < n; i++) {
        int prot = i & 1 ? GMM_PROT_READ : RW;
        int64_t a = gmm_sys_mmap(s, 0, PG, prot, ANON_PRIV, -1, 0);
        assert_int_equal(a, (int64_t)(MMAP_BASE_64 - (i + 1) * PG));
        model_map(&m, n - 1 - i, 1, prot);
        CHECK(s);
    }
    assert_maps_match_model(s, &m);
    char *t = space_maps(s);
    assert_int_equal(count_lines(t), n);
    free(t);
    /* Turning every R page RW merges everything into one region. */
    for (uint64_t i = 1; i < n; i += 2) {
        assert_int_equal(gmm_sys_mprotect(s, MMAP_BASE_64 - (i + 1) * PG, PG, RW), 0);
        model_map(&m, n - 1 - i, 1, RW);
        CHECK(s);
    }
    assert_maps_match_model(s, &m);
    t = space_maps(s);
    assert_int_equal(count_lines(t), 1);
    free(t);
    /* And splitting it again page by page. */
    for (uint64_t i = 0; i < n; i += 2) {
        assert_int_equal(gmm_sys_mprotect(s, MMAP_BASE_64 - (i + 1) * PG, PG, GMM_PROT_NONE), 0);
        model_map(&m, n - 1 - i, 1, GMM_PROT_NONE);
        CHECK(s);
    }
    assert_maps_match_model(s, &m);
    model_free(&m);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void regions_holes_filled_top_down_first_fit(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    const gmm_addr top = MMAP_BASE_64;
    /* 64 pages, alternating prot so that nothing merges. */
    for (int i = 0; i < 64; i++)
        assert_int_equal(gmm_sys_mmap(s, 0, PG, i & 1 ? GMM_PROT_READ : RW, ANON_PRIV, -1, 0),
                         (int64_t)(top - (uint64_t)(i + 1) * PG));
    CHECK(s);
    /* Holes, from the top: 1 page at page 3, 3 pages at 10..12, 2 pages at
     * 20..21, 5 pages at 40..44 (page k is [top-(k+1)*PG, top-k*PG)). */
    assert_int_equal(gmm_sys_munmap(s, top - 4 * PG, PG), 0);
    assert_int_equal(gmm_sys_munmap(s, top - 13 * PG, 3 * PG), 0);
    assert_int_equal(gmm_sys_munmap(s, top - 22 * PG, 2 * PG), 0);
    assert_int_equal(gmm_sys_munmap(s, top - 45 * PG, 5 * PG), 0);
    CHECK(s);
    /* 2 pages: the 1-page hole is too small; the 3-page hole is the
     * highest that fits and its top part is taken. */
    assert_int_equal(gmm_sys_mmap(s, 0, 2 * PG, GMM_PROT_NONE, ANON_PRIV, -1, 0), (int64_t)(top - 12 * PG));
    CHECK(s);
    /* 1 page: the highest hole. */
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_NONE, ANON_PRIV, -1, 0), (int64_t)(top - 4 * PG));
    CHECK(s);
    /* 4 pages: only the 5-page hole. */
    assert_int_equal(gmm_sys_mmap(s, 0, 4 * PG, GMM_PROT_NONE, ANON_PRIV, -1, 0), (int64_t)(top - 44 * PG));
    CHECK(s);
    /* 2 pages again: the 2-page hole at 20..21 (the rest of the 3-page
     * hole is only one page). */
    assert_int_equal(gmm_sys_mmap(s, 0, 2 * PG, GMM_PROT_NONE, ANON_PRIV, -1, 0), (int64_t)(top - 22 * PG));
    CHECK(s);
    /* 6 pages: nothing inside; below the lowest mapping. */
    assert_int_equal(gmm_sys_mmap(s, 0, 6 * PG, GMM_PROT_NONE, ANON_PRIV, -1, 0), (int64_t)(top - 70 * PG));
    CHECK(s);
    /* 1 page each: the last one-page holes, top first (page 12, page 44). */
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_EXEC, ANON_PRIV, -1, 0), (int64_t)(top - 13 * PG));
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_EXEC, ANON_PRIV, -1, 0), (int64_t)(top - 45 * PG));
    assert_int_equal(gmm_sys_mmap(s, 0, PG, GMM_PROT_EXEC, ANON_PRIV, -1, 0), (int64_t)(top - 71 * PG));
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void regions_random_ops_match_model_x86_64(void **state)
{
    (void)state;
    run_stress(GMM_ABI_X86_64, 0x9E3779B97F4A7C15ull, 4096, 16, false, 6000, 7);
}

static void regions_random_ops_match_model_small_ranges(void **state)
{
    (void)state;
    /* Short ranges keep many small regions alive: thousands at once. */
    run_stress(GMM_ABI_X86_64, 12345, 16384, 3, false, 8000, 50);
}

static void regions_random_ops_match_model_i386(void **state)
{
    (void)state;
    run_stress(GMM_ABI_I386, 0xC0FFEEull, 2048, 24, false, 4000, 5);
}

static void regions_random_ops_with_content_x86_64(void **state)
{
    (void)state;
    run_stress(GMM_ABI_X86_64, 0xDEADBEEFull, 2048, 12, true, 6000, 1);
}

static void regions_random_ops_with_content_i386(void **state)
{
    (void)state;
    run_stress(GMM_ABI_I386, 77, 1024, 8, true, 4000, 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void regions_random_fixed_inserts_and_removals_keep_tree_balanced(void **state)
{
    (void)state;
    rng_state = 424242;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    /* Single pages at random even page numbers over 4 TiB: never adjacent,
     * inserted in random order, so the tree is rebalanced all the time. */
    enum { N = 4000 };
    const gmm_addr lo = 0x100000000ull;
    static uint64_t addr[N];
    for (int i = 0; i < N; i++) {
    again:
        addr[i] = lo + (rnd() % (1ull << 29)) * 2 * PG;
        for (int j = 0; j < i; j++)
            if (addr[j] == addr[i])
                goto again;
        assert_int_equal(gmm_sys_mmap(s, addr[i], PG, (int)(rnd() % 8), ANON_PRIV | GMM_MAP_FIXED_NOREPLACE, -1, 0),
                         (int64_t)addr[i]);
        CHECK(s);
    }
    /* MAP_FIXED_NOREPLACE on any of them fails. */
    for (int i = 0; i < N; i += 97)
        assert_int_equal(gmm_sys_mmap(s, addr[i], PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE, -1, 0), -GMM_EEXIST);
    char *t = space_maps(s);
    assert_int_equal(count_lines(t), N);
    /* Lines in ascending address order. */
    static uint64_t sorted[N];
    memcpy(sorted, addr, sizeof(addr));
    qsort(sorted, N, sizeof(sorted[0]), cmp_u64);
    const char *p = t;
    for (int i = 0; i < N; i++) {
        unsigned long long a = strtoull(p, NULL, 16);
        assert_int_equal(a, sorted[i]);
        p = strchr(p, '\n') + 1;
    }
    free(t);
    /* Remove half, in another random order. */
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint64_t)(i + 1));
        uint64_t x = addr[i];
        addr[i] = addr[j];
        addr[j] = x;
    }
    for (int i = 0; i < N / 2; i++) {
        assert_int_equal(gmm_sys_munmap(s, addr[i], PG), 0);
        CHECK(s);
    }
    t = space_maps(s);
    assert_int_equal(count_lines(t), N / 2);
    free(t);
    /* Placement below mmap_base is unaffected by all of it. */
    assert_int_equal(gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0), (int64_t)(MMAP_BASE_64 - PG));
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void regions_unmap_everything_then_reuse(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2000; i++) {
            assert_int_equal(gmm_sys_mmap(s, 0, PG, i & 1 ? GMM_PROT_READ : GMM_PROT_NONE, ANON_PRIV, -1, 0),
                             (int64_t)(MMAP_BASE_64 - (uint64_t)(i + 1) * PG));
            CHECK(s);
        }
        /* One munmap over all of them (and the hole below). */
        assert_int_equal(gmm_sys_munmap(s, MMAP_BASE_64 - 4096 * PG, 4096 * PG), 0);
        ASSERT_MAPS(s, "");
    }
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regions_thousands_of_alternating_regions_stay_separate),
        cmocka_unit_test(regions_holes_filled_top_down_first_fit),
        cmocka_unit_test(regions_random_ops_match_model_x86_64),
        cmocka_unit_test(regions_random_ops_match_model_small_ranges),
        cmocka_unit_test(regions_random_ops_match_model_i386),
        cmocka_unit_test(regions_random_ops_with_content_x86_64),
        cmocka_unit_test(regions_random_ops_with_content_i386),
        cmocka_unit_test(regions_random_fixed_inserts_and_removals_keep_tree_balanced),
        cmocka_unit_test(regions_unmap_everything_then_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
