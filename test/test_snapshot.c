/*
 * test_snapshot.c - gmm_snapshot_take / restore / discard.
 *
 * The randomized tests build a random space, take a snapshot, run a random
 * sequence of entry points (mmap of every kind, munmap, mprotect, mremap,
 * madvise, brk, mlock, user copies, translations through the space and
 * through CPU objects, stack growth, fork, names, policies, exec reset,
 * limits), restore, and compare with the state saved at the snapshot: the
 * maps text, the status text, brk, every byte of every private page (shared
 * pages belong to their object and are not restored), and the addresses
 * that the same next mmap calls return.  gmm_space_check and
 * gmm_system_check run after every restore.
 */
#include "memfile.h"

/* ---- a small deterministic generator ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

#define SYSCHECK(sys)                                                                  \
    do {                                                                               \
        const char *e_ = gmm_system_check(sys);                                        \
        if (e_)                                                                        \
            fail_msg("system invariant broken: %s (seed %llu)", e_,                    \
                     (unsigned long long)seed);                                        \
    } while (0)

/* ---- the regions of a space, from its maps text ---- */

struct mregion {
    uint64_t start, end;
    char perms[5];
};

#define MAX_REGIONS 512

static size_t regions_of(gmm_space *s, struct mregion *out)
{
    static char buf[1 << 17];
    size_t len = gmm_space_maps(s, buf, sizeof(buf));
    assert_true(len < sizeof(buf));
    size_t n = 0;
    for (char *line = buf; *line && n < MAX_REGIONS;) {
        unsigned long long a, b;
        char perms[5];
        if (sscanf(line, "%llx-%llx %4s", &a, &b, perms) == 3) {
            out[n].start = a;
            out[n].end = b;
            memcpy(out[n].perms, perms, 5);
            n++;
        }
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return n;
}

/* ---- the saved state ---- */

#define MAX_PAGES (1 << 15)

struct state {
    char maps[1 << 17];
    char status[4096];
    uint64_t brk;
    size_t npages;
    uint64_t page_addr[MAX_PAGES];
    uint64_t page_hash[MAX_PAGES]; /* FNV-1a of the page, or 1: unreadable */
};

static uint64_t hash_page(const uint8_t *p)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < PG; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ? h : 2;
}

/* Reads every private readable page (which may fault pages in: call it
 * before saving the texts). */
static void save_pages(gmm_space *s, struct state *st)
{
    static struct mregion regs[MAX_REGIONS];
    static uint8_t page[PG];
    size_t n = regions_of(s, regs);
    st->npages = 0;
    for (size_t i = 0; i < n; i++) {
        if (regs[i].perms[3] == 's' || !strncmp(regs[i].perms, "---", 3))
            continue;
        for (uint64_t a = regs[i].start; a < regs[i].end && st->npages < MAX_PAGES; a += PG) {
            st->page_addr[st->npages] = a;
            st->page_hash[st->npages] = gmm_read(s, a, page, PG) ? 1 : hash_page(page);
            st->npages++;
        }
    }
}

static void save_texts(gmm_space *s, struct state *st)
{
    assert_true(gmm_space_maps(s, st->maps, sizeof(st->maps)) < sizeof(st->maps));
    assert_true(gmm_space_status(s, st->status, sizeof(st->status)) < sizeof(st->status));
    st->brk = (uint64_t)gmm_sys_brk(s, 0);
}

static void save_state(gmm_space *s, struct state *st)
{
    save_pages(s, st);
    save_texts(s, st);
}

static void assert_same_state(gmm_space *s, const struct state *want, uint64_t seed)
{
    static struct state now;
    save_texts(s, &now);
    if (strcmp(now.maps, want->maps))
        fail_msg("maps differ after restore (seed %llu)\nwant:\n%s\ngot:\n%s",
                 (unsigned long long)seed, want->maps, now.maps);
    if (strcmp(now.status, want->status))
        fail_msg("status differs after restore (seed %llu)\nwant:\n%s\ngot:\n%s",
                 (unsigned long long)seed, want->status, now.status);
    assert_int_equal(now.brk, want->brk);
    save_pages(s, &now);
    assert_int_equal(now.npages, want->npages);
    for (size_t i = 0; i < now.npages; i++) {
        assert_int_equal(now.page_addr[i], want->page_addr[i]);
        if (now.page_hash[i] != want->page_hash[i])
            fail_msg("page %llx differs after restore (seed %llu)\n%s",
                     (unsigned long long)now.page_addr[i], (unsigned long long)seed, now.maps);
    }
    /* Reading faulted nothing new in: the texts are still the same. */
    save_texts(s, &now);
    assert_string_equal(now.status, want->status);
}

/* The addresses a fixed series of mmap calls returns (the calls are
 * undone by the caller's restore). */
#define NPROBES 5
static void probe_mmaps(gmm_space *s, int64_t out[NPROBES])
{
    static const uint64_t len[NPROBES] = {PG, 3 * PG, 16 * PG, 300 * PG, 2 * PG};
    for (int i = 0; i < NPROBES; i++)
        out[i] = gmm_sys_mmap(s, 0, len[i], i == 4 ? GMM_PROT_READ : RW,
                              i == 3 ? ANON_SHARED : ANON_PRIV, -1, 0);
}

/* ---- random operations ---- */

struct world {
    gmm_system *sys;
    gmm_space *s;
    gmm_cpu *cpu; /* NULL: translations go through gmm_translate */
    gmm_window *win; /* a mappable system's window over the i386 task, or NULL */
    gmm_space *children[64];
    int nchildren;
    struct mregion regs[MAX_REGIONS];
};

static uint64_t window_stores; /* stores made through a window */

static const int prots[] = {GMM_PROT_READ, RW, RW, RW | GMM_PROT_EXEC, GMM_PROT_NONE,
                            GMM_PROT_EXEC};

/* An address near a random region (or anywhere in a small window). */
static uint64_t pick_addr(struct world *w, size_t n)
{
    if (!n || below(8) == 0)
        return (0x10000000ull + below(64) * PG) & (gmm_space_abi(w->s) == GMM_ABI_I386 ? 0xFFFFFFFF : ~0ull);
    const struct mregion *r = &w->regs[below(n)];
    uint64_t pages = (r->end - r->start) / PG;
    return r->start + (below(pages + 4)) * PG - 2 * PG;
}

static bool private_at(struct world *w, size_t n, uint64_t a)
{
    for (size_t i = 0; i < n; i++)
        if (w->regs[i].start <= a && a < w->regs[i].end)
            return w->regs[i].perms[3] == 'p';
    return true; /* nothing there: the call fails */
}

static void random_op_(struct world *w);

/* A random operation, then the invariant check: with a snapshot live it
 * also checks that every region changed was recorded. */
static void random_op(struct world *w)
{
    random_op_(w);
    const char *e = gmm_space_check(w->s);
    if (e)
        fail_msg("invariant broken after a random call: %s", e);
}

static void random_op_(struct world *w)
{
    gmm_space *s = w->s;
    size_t n = regions_of(s, w->regs);
    uint64_t a = pick_addr(w, n);
    uint64_t len = (1 + below(below(4) == 0 ? 40 : 6)) * PG;
    int prot = prots[below(sizeof(prots) / sizeof(prots[0]))];
    static uint8_t buf[3 * PG];
    switch (below(23)) {
    case 0:
    case 1: {
        int flags = ANON_PRIV;
        if (below(3) == 0)
            flags |= GMM_MAP_FIXED;
        if (below(8) == 0)
            flags |= GMM_MAP_POPULATE;
        if (below(16) == 0)
            flags |= GMM_MAP_LOCKED;
        if (below(16) == 0)
            flags |= GMM_MAP_GROWSDOWN;
        gmm_sys_mmap(s, below(2) ? a : 0, len, prot, flags, -1, 0);
        break;
    }
    case 2:
        gmm_sys_mmap(s, below(2) ? a : 0, len, prot, ANON_SHARED | (below(2) ? GMM_MAP_FIXED : 0),
                     -1, 0);
        break;
    case 3: {
        int shared = below(2);
        gmm_sys_mmap(s, below(2) ? a : 0, len, prot,
                     (shared ? GMM_MAP_SHARED : GMM_MAP_PRIVATE) | (below(2) ? GMM_MAP_FIXED : 0),
                     below(2) ? MEMFILE_FD_RW : MEMFILE_FD_RDONLY, below(4) * PG);
        break;
    }
    case 4:
    case 5:
        gmm_sys_munmap(s, a, len);
        break;
    case 6:
        gmm_sys_mprotect(s, a, len, prot);
        break;
    case 7:
        gmm_sys_mremap(s, a, len, (1 + below(8)) * PG, (int)below(4) & 3,
                       pick_addr(w, n));
        break;
    case 8: {
        static const int adv[] = {GMM_MADV_DONTNEED,     GMM_MADV_FREE,        GMM_MADV_GUARD_INSTALL,
                                  GMM_MADV_GUARD_REMOVE, GMM_MADV_DONTFORK,    GMM_MADV_WIPEONFORK,
                                  GMM_MADV_HUGEPAGE,     GMM_MADV_MERGEABLE,   GMM_MADV_POPULATE_WRITE,
                                  GMM_MADV_POPULATE_READ, GMM_MADV_COLLAPSE,   GMM_MADV_DOFORK,
                                  GMM_MADV_RANDOM,       GMM_MADV_NORMAL};
        gmm_sys_madvise(s, a, len, adv[below(sizeof(adv) / sizeof(adv[0]))]);
        break;
    }
    case 9: {
        uint64_t b = (uint64_t)gmm_sys_brk(s, 0);
        gmm_sys_brk(s, below(2) ? b + below(20) * PG + below(PG) : b - below(10) * PG);
        break;
    }
    case 10:
        switch (below(5)) {
        case 0:
            gmm_sys_mlock(s, a, len);
            break;
        case 1:
            gmm_sys_munlock(s, a, len);
            break;
        case 2:
            gmm_sys_mlock2(s, a, len, GMM_MLOCK_ONFAULT);
            break;
        case 3:
            gmm_sys_mlockall(s, below(2) ? GMM_MCL_FUTURE : GMM_MCL_CURRENT | GMM_MCL_FUTURE);
            break;
        default:
            gmm_sys_munlockall(s);
        }
        break;
    case 11:
    case 12:
    case 13: {
        /* User copies into private memory only: shared pages belong to
         * their object, which a restore does not put back. */
        uint64_t dst = a + below(PG);
        size_t l = 1 + (size_t)below(sizeof(buf) - 1);
        bool ok = true;
        for (uint64_t pg = dst & ~(PG - 1); pg < dst + l; pg += PG)
            ok &= private_at(w, n, pg);
        if (!ok)
            break;
        for (size_t i = 0; i < l; i++)
            buf[i] = (uint8_t)rnd();
        gmm_write(s, dst, buf, l);
        break;
    }
    case 14:
    case 15: {
        uint64_t at = a + below(PG);
        if (!private_at(w, n, at))
            break;
        uint8_t *p = w->cpu ? gmm_cpu_translate(w->cpu, at, GMM_ACCESS_WRITE)
                            : gmm_translate(s, at, GMM_ACCESS_WRITE);
        if (p)
            *p = (uint8_t)rnd();
        if (w->cpu)
            gmm_cpu_quiesce(w->cpu);
        break;
    }
    case 16: {
        /* Stack growth: a store below a grows-down region. */
        for (size_t i = 0; i < n; i++) {
            if (w->regs[i].start >= 0x7ff000000000ull || gmm_space_abi(s) == GMM_ABI_I386) {
                uint64_t at = w->regs[i].start - (1 + below(4)) * PG;
                if (!private_at(w, n, at))
                    break;
                uint8_t *p = gmm_translate(s, at, GMM_ACCESS_WRITE);
                if (p)
                    *p = 0x5a;
                break;
            }
        }
        break;
    }
    case 17:
        if (w->nchildren < 64) {
            gmm_space *c = gmm_space_fork(s);
            assert_non_null(c);
            w->children[w->nchildren++] = c;
            /* The child lives on and writes to its copy. */
            uint8_t *p = private_at(w, n, a) ? gmm_translate(c, a, GMM_ACCESS_WRITE) : NULL;
            if (p)
                *p = 0x77;
        }
        break;
    case 18: {
        static const char name[] = "snapname";
        uint64_t at = 0x20000000;
        /* The name's bytes: a page of their own, mapped for the call. */
        if (gmm_sys_mmap(s, at, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE, -1, 0) == (int64_t)at &&
            gmm_write(s, at, name, sizeof(name)) == 0)
            gmm_sys_prctl_set_vma_anon_name(s, a, len, below(3) ? at : 0);
        break;
    }
    case 19: {
        uint64_t mask = 1;
        if (gmm_sys_mmap(s, 0x20001000, PG, RW, ANON_PRIV | GMM_MAP_FIXED_NOREPLACE, -1, 0) ==
                0x20001000 &&
            gmm_write(s, 0x20001000, &mask, sizeof(mask)) == 0)
            gmm_sys_mbind(s, a, len, below(2) ? GMM_MPOL_BIND : GMM_MPOL_DEFAULT,
                          below(2) ? 0x20001000 : 0, 64, 0);
        break;
    }
    case 20:
        switch (below(4)) {
        case 0:
            gmm_space_setrlimit(s, GMM_RLIMIT_STACK, (1 + below(16)) << 20, GMM_RLIM_INFINITY);
            break;
        case 1:
            gmm_space_setrlimit(s, GMM_RLIMIT_MEMLOCK, below(2) << 20, 8 << 20);
            break;
        case 2:
            gmm_space_set_code(s, 0x400000, 0x400000 + below(64) * PG);
            break;
        default:
            if (below(8) == 0)
                gmm_space_exec_reset(s);
        }
        break;
    case 21:
        if (w->win) {
            /* An access through the window, as its SIGSEGV handler would
             * resolve it, then the store itself (private memory only). */
            int access = below(2) ? GMM_ACCESS_WRITE : GMM_ACCESS_READ;
            uint64_t at = (a & 0xFFFFFFFF) + below(PG);
            uint8_t *host = gmm_window_base(w->win) + at;
            gmm_fault f;
            if (gmm_window_fault(w->win, (uintptr_t)host, access, &f) == 0 &&
                access == GMM_ACCESS_WRITE && private_at(w, n, at)) {
                *host = (uint8_t)rnd();
                window_stores++;
            }
            break;
        }
        /* fall through */
    default: {
        /* A read through the space (faults zero pages and file pages in). */
        uint8_t b;
        gmm_read(s, a + below(PG), &b, 1);
        break;
    }
    }
}

static void world_init(struct world *w, struct memfile_env *env, gmm_abi abi, bool cpu,
                       bool window)
{
    memset(w, 0, sizeof(*w));
    w->sys = memfile_system(env, 12 * PG);
    if (window) {
        /* The same files, on a mappable system. */
        gmm_system_destroy(w->sys);
        gmm_host host = {.user = env, .get_file = memfile_get};
        w->sys = gmm_system_create_mappable(&host);
        assert_non_null(w->sys);
    }
    w->s = new_space(w->sys, abi);
    if (window) {
        w->win = gmm_window_create(w->s, 0, 0x100000000ull);
        assert_non_null(w->win);
    }
    gmm_space_init_brk(w->s, abi == GMM_ABI_I386 ? 0x08100000 : 0x555555560000ull);
    assert_true(gmm_space_setup_stack(w->s, 0) > 0);
    if (cpu)
        w->cpu = gmm_cpu_create(w->s);
}

static void world_fini(struct world *w)
{
    for (int i = 0; i < w->nchildren; i++) {
        CHECK(w->children[i]);
        gmm_space_destroy(w->children[i]);
    }
    if (w->cpu)
        gmm_cpu_destroy(w->cpu);
    gmm_space_destroy(w->s);
    if (w->win)
        gmm_window_destroy(w->win);
    gmm_system_destroy(w->sys);
}

static struct state saved[3];

/* One randomized run: a random start, then rounds of snapshot, random
 * calls, restore, compare; nested snapshots in some rounds. */
static void random_run(gmm_abi abi, bool cpu, bool window, uint64_t seed)
{
    struct memfile_env env;
    struct world w;
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    world_init(&w, &env, abi, cpu, window);
    gmm_space *s = w.s;
    for (int i = 0; i < 30; i++)
        random_op(&w);
    for (int round = 0; round < 6; round++) {
        save_state(s, &saved[0]);
        gmm_snapshot *s0 = gmm_snapshot_take(s);
        assert_non_null(s0);
        int64_t probe0[NPROBES], probe[NPROBES];
        probe_mmaps(s, probe0);
        assert_int_equal(gmm_snapshot_restore(s, s0), 0);
        assert_same_state(s, &saved[0], seed);
        for (int rep = 0; rep < 3; rep++) {
            int nops = (int)below(40);
            for (int i = 0; i < nops; i++)
                random_op(&w);
            if (round & 1) {
                /* A nested snapshot, restored to itself, then the outer. */
                save_state(s, &saved[1]);
                gmm_snapshot *s1 = gmm_snapshot_take(s);
                assert_non_null(s1);
                for (int i = 0; i < 20; i++)
                    random_op(&w);
                assert_int_equal(gmm_snapshot_restore(s, s1), 0);
                CHECK(s);
                assert_same_state(s, &saved[1], seed);
                for (int i = 0; i < 10; i++)
                    random_op(&w);
                if (rep == 1) {
                    gmm_snapshot_discard(s1);
                    assert_int_equal(gmm_snapshot_restore(s, s1), -GMM_EINVAL);
                }
                assert_int_equal(gmm_snapshot_restore(s, s0), 0);
                /* Restoring the older one discarded the newer. */
                assert_int_equal(gmm_snapshot_restore(s, s1), -GMM_EINVAL);
            } else {
                assert_int_equal(gmm_snapshot_restore(s, s0), 0);
            }
            CHECK(s);
            SYSCHECK(w.sys);
            assert_same_state(s, &saved[0], seed);
            probe_mmaps(s, probe);
            for (int i = 0; i < NPROBES; i++)
                if (probe[i] != probe0[i])
                    fail_msg("mmap probe %d: %llx, at the snapshot %llx (seed %llu)", i,
                             (unsigned long long)probe[i], (unsigned long long)probe0[i],
                             (unsigned long long)seed);
            assert_int_equal(gmm_snapshot_restore(s, s0), 0);
            CHECK(s);
        }
        if (round & 2)
            gmm_snapshot_discard(s0);
        /* Move on from a new random state (with s0 live or not). */
        for (int i = 0; i < 10; i++)
            random_op(&w);
        SYSCHECK(w.sys);
    }
    world_fini(&w);
}

static uint64_t first_seed(void)
{
    const char *e = getenv("GMM_SNAPSHOT_FIRST");
    return e ? strtoull(e, NULL, 0) : 1;
}

static uint64_t seeds(void)
{
    const char *e = getenv("GMM_SNAPSHOT_SEEDS");
    return e ? strtoull(e, NULL, 0) : 40;
}

static void snapshot_random_x86_64(void **state)
{
    (void)state;
    for (uint64_t seed = first_seed(); seed <= seeds(); seed++)
        random_run(GMM_ABI_X86_64, false, false, seed);
}

static void snapshot_random_i386(void **state)
{
    (void)state;
    for (uint64_t seed = first_seed(); seed <= seeds(); seed++)
        random_run(GMM_ABI_I386, false, false, 1000 + seed);
}

static void snapshot_random_with_cpu_objects(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= seeds() / 2; seed++) {
        random_run(GMM_ABI_X86_64, true, false, 2000 + seed);
        random_run(GMM_ABI_I386, true, false, 3000 + seed);
    }
}

/* ---- fixed cases ---- */

static void snapshot_restores_stores_layout_and_brk(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space_init_brk(s, 0x555555560000ull);
    int64_t a = gmm_sys_mmap(s, 0, 4 * PG, RW, ANON_PRIV, -1, 0);
    assert_true(a > 0);
    assert_int_equal(gmm_write(s, (uint64_t)a, "before", 7), 0);
    gmm_sys_brk(s, 0x555555560000ull + 3 * PG);
    char maps[4096];
    gmm_space_maps(s, maps, sizeof(maps));
    gmm_snapshot *snap = gmm_snapshot_take(s);
    assert_non_null(snap);
    uint64_t frames = gmm_system_frames_used(sys);

    assert_int_equal(gmm_write(s, (uint64_t)a, "after!", 7), 0);
    assert_int_equal(gmm_sys_munmap(s, (uint64_t)a + PG, PG), 0);
    assert_int_equal(gmm_sys_mprotect(s, (uint64_t)a, PG, GMM_PROT_READ), 0);
    int64_t b = gmm_sys_mmap(s, 0, 8 * PG, RW, ANON_PRIV, -1, 0);
    assert_int_equal(gmm_write(s, (uint64_t)b, "new", 4), 0);
    gmm_sys_brk(s, 0x555555560000ull);
    assert_true(gmm_system_frames_used(sys) > frames);

    assert_int_equal(gmm_snapshot_restore(s, snap), 0);
    CHECK(s);
    assert_string_equal(maps_of(s), maps);
    char buf[7];
    assert_int_equal(gmm_read(s, (uint64_t)a, buf, 7), 0);
    assert_string_equal(buf, "before");
    assert_int_equal(gmm_sys_brk(s, 0), 0x555555560000ull + 3 * PG);
    /* The copies made since are freed. */
    assert_int_equal(gmm_system_frames_used(sys), frames);
    /* The same call returns the same address. */
    assert_int_equal(gmm_sys_mmap(s, 0, 8 * PG, RW, ANON_PRIV, -1, 0), b);
    gmm_snapshot_discard(snap);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void snapshot_handles_are_checked(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space *t = new_space(sys, GMM_ABI_I386);
    gmm_snapshot *a = gmm_snapshot_take(s);
    gmm_snapshot *b = gmm_snapshot_take(t);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    /* Another space's snapshot, NULL, a handle never given out. */
    assert_int_equal(gmm_snapshot_restore(s, b), -GMM_EINVAL);
    assert_int_equal(gmm_snapshot_restore(t, a), -GMM_EINVAL);
    assert_int_equal(gmm_snapshot_restore(s, NULL), -GMM_EINVAL);
    assert_int_equal(gmm_snapshot_restore(s, (gmm_snapshot *)(uintptr_t)0xdeadbeef000ull),
                     -GMM_EINVAL);
    gmm_snapshot_discard((gmm_snapshot *)(uintptr_t)0xdeadbeef000ull);
    gmm_snapshot_discard(NULL);
    /* Discarded: an error, and discarding again does nothing. */
    gmm_snapshot_discard(a);
    assert_int_equal(gmm_snapshot_restore(s, a), -GMM_EINVAL);
    gmm_snapshot_discard(a);
    /* Handles are not reused. */
    gmm_snapshot *c = gmm_snapshot_take(s);
    assert_ptr_not_equal(c, a);
    assert_int_equal(gmm_snapshot_restore(s, a), -GMM_EINVAL);
    assert_int_equal(gmm_snapshot_restore(s, c), 0);
    /* The space goes with its snapshots: their handles go stale. */
    gmm_space_destroy(t);
    gmm_snapshot_discard(b);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_snapshot_discard(c);
    gmm_system_destroy(sys);
    gmm_snapshot_discard(c);
}

static void snapshot_nested_restore_discards_newer(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    int64_t a = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    char v;
    gmm_write(s, (uint64_t)a, "1", 1);
    gmm_snapshot *s1 = gmm_snapshot_take(s);
    gmm_write(s, (uint64_t)a, "2", 1);
    gmm_snapshot *s2 = gmm_snapshot_take(s);
    gmm_write(s, (uint64_t)a, "3", 1);
    gmm_snapshot *s3 = gmm_snapshot_take(s);
    gmm_write(s, (uint64_t)a, "4", 1);
    /* The newest, many times. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gmm_snapshot_restore(s, s3), 0);
        gmm_read(s, (uint64_t)a, &v, 1);
        assert_int_equal(v, '3');
        gmm_write(s, (uint64_t)a, "x", 1);
    }
    /* A middle one discarded: the others still restore. */
    gmm_snapshot_discard(s2);
    assert_int_equal(gmm_snapshot_restore(s, s3), 0);
    gmm_read(s, (uint64_t)a, &v, 1);
    assert_int_equal(v, '3');
    /* The oldest: the newer go. */
    assert_int_equal(gmm_snapshot_restore(s, s1), 0);
    gmm_read(s, (uint64_t)a, &v, 1);
    assert_int_equal(v, '1');
    assert_int_equal(gmm_snapshot_restore(s, s3), -GMM_EINVAL);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Shared pages belong to their object: their contents are not restored,
 * their mappings are. */
static void snapshot_shared_pages_follow_their_object(void **state)
{
    (void)state;
    struct memfile_env env;
    gmm_system *sys = memfile_system(&env, 4 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    int64_t sh = gmm_sys_mmap(s, 0, 2 * PG, RW, ANON_SHARED, -1, 0);
    int64_t pf = gmm_sys_mmap(s, 0, 2 * PG, RW, GMM_MAP_PRIVATE, MEMFILE_FD_RW, 0);
    int64_t an = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    gmm_write(s, (uint64_t)sh, "S", 1);
    gmm_write(s, (uint64_t)sh + PG, "T", 1);
    gmm_write(s, (uint64_t)pf, "P", 1);
    gmm_write(s, (uint64_t)an, "A", 1);
    char c;
    gmm_read(s, (uint64_t)pf + PG, &c, 1);
    assert_int_equal(c, 'b');
    char status[4096];
    gmm_space_status(s, status, sizeof(status));
    gmm_snapshot *snap = gmm_snapshot_take(s);
    gmm_write(s, (uint64_t)sh, "s", 1);
    gmm_write(s, (uint64_t)pf, "p", 1);
    gmm_write(s, (uint64_t)an, "a", 1);
    /* The shared page's last mapping goes, its object stays alive. */
    assert_int_equal(gmm_sys_munmap(s, (uint64_t)sh, 2 * PG), 0);
    assert_int_equal(gmm_sys_munmap(s, (uint64_t)pf, 2 * PG), 0);
    CHECK(s);
    assert_int_equal(gmm_snapshot_restore(s, snap), 0);
    CHECK(s);
    char now[4096];
    gmm_space_status(s, now, sizeof(now));
    assert_string_equal(now, status);
    gmm_read(s, (uint64_t)sh, &c, 1);
    assert_int_equal(c, 's'); /* the object's */
    gmm_read(s, (uint64_t)pf, &c, 1);
    assert_int_equal(c, 'P'); /* a private copy */
    gmm_read(s, (uint64_t)pf + PG, &c, 1);
    assert_int_equal(c, 'b'); /* the file's page */
    gmm_read(s, (uint64_t)an, &c, 1);
    assert_int_equal(c, 'A');
    /* A hole punched since: the page comes back unmapped and reads the
     * object, zero. */
    assert_int_equal(gmm_sys_madvise(s, (uint64_t)sh + PG, PG, GMM_MADV_REMOVE), 0);
    assert_int_equal(gmm_snapshot_restore(s, snap), 0);
    CHECK(s);
    gmm_read(s, (uint64_t)sh + PG, &c, 1);
    assert_int_equal(c, 0);
    gmm_snapshot_discard(snap);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static int releases;
static void count_release(void *h)
{
    (void)h;
    releases++;
}
static const gmm_file_ops release_ops = {memfile_read, memfile_write, memfile_size,
                                         count_release};
static int release_get(void *user, int fd, gmm_file *out)
{
    int r = memfile_get(user, fd, out);
    out->ops = &release_ops;
    return r;
}

/* A file truncated since the snapshot: its pages beyond the end come back
 * unmapped (they fault with SIGBUS as they would without the snapshot);
 * the snapshot holds the file's page cache and handle until discarded. */
static void snapshot_file_truncated_and_unmapped_since(void **state)
{
    (void)state;
    struct memfile_env env;
    gmm_system *tmp = memfile_system(&env, 3 * PG);
    gmm_system_destroy(tmp);
    gmm_host host = {.user = &env, .get_file = release_get};
    gmm_system *sys = gmm_system_create(&host);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    releases = 0;
    int64_t f = gmm_sys_mmap(s, 0, 3 * PG, GMM_PROT_READ, GMM_MAP_PRIVATE, MEMFILE_FD_RDONLY, 0);
    assert_true(f > 0);
    char c;
    for (int i = 0; i < 3; i++)
        assert_int_equal(gmm_read(s, (uint64_t)f + (uint64_t)i * PG, &c, 1), 0);
    char maps[4096];
    gmm_space_maps(s, maps, sizeof(maps));
    gmm_snapshot *snap = gmm_snapshot_take(s);
    env.file.size = PG;
    gmm_file_resized(sys, 0x801, 77, PG);
    assert_int_equal(gmm_read(s, (uint64_t)f + 2 * PG, &c, 1), -GMM_EFAULT);
    assert_int_equal(gmm_snapshot_restore(s, snap), 0);
    CHECK(s);
    assert_string_equal(maps_of(s), maps);
    assert_int_equal(gmm_read(s, (uint64_t)f, &c, 1), 0);
    assert_int_equal(c, 'a');
    assert_int_equal(gmm_read(s, (uint64_t)f + 2 * PG, &c, 1), -GMM_EFAULT);
    /* The last mapping goes: the snapshot keeps the handle. */
    assert_int_equal(gmm_sys_munmap(s, (uint64_t)f, 3 * PG), 0);
    CHECK(s);
    assert_int_equal(releases, 0);
    assert_int_equal(gmm_snapshot_restore(s, snap), 0);
    assert_string_equal(maps_of(s), maps);
    assert_int_equal(gmm_sys_munmap(s, (uint64_t)f, 3 * PG), 0);
    assert_int_equal(releases, 0);
    gmm_snapshot_discard(snap);
    assert_int_equal(releases, 1);
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Fork children live on through their parent's restore. */
static void snapshot_restore_leaves_fork_children(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    int64_t a = gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0);
    gmm_write(s, (uint64_t)a, "p", 1);
    gmm_snapshot *snap = gmm_snapshot_take(s);
    gmm_write(s, (uint64_t)a, "q", 1);
    gmm_space *child = gmm_space_fork(s);
    assert_non_null(child);
    gmm_write(s, (uint64_t)a, "r", 1);
    assert_int_equal(gmm_snapshot_restore(s, snap), 0);
    char c;
    gmm_read(child, (uint64_t)a, &c, 1);
    assert_int_equal(c, 'q');
    gmm_read(s, (uint64_t)a, &c, 1);
    assert_int_equal(c, 'p');
    assert_null(gmm_system_check(sys));
    gmm_space_destroy(s);
    CHECK(child);
    gmm_space_destroy(child);
    gmm_system_destroy(sys);
}

/* ---- an allocator that counts, and fails the k-th call when armed ---- */

struct calloc_state {
    bool armed;
    uint64_t calls, fail_at;
    bool fired;
    int64_t live;
};

static void *counting_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct calloc_state *a = ud;
    (void)old_size;
    if (new_size == 0) {
        a->live--;
        free(ptr);
        return NULL;
    }
    if (a->armed && ++a->calls == a->fail_at) {
        a->fired = true;
        return NULL;
    }
    a->live++;
    return malloc(new_size);
}

/* A space with some of everything, a snapshot, and changes since. */
static gmm_space *alloc_scene(gmm_system *sys, gmm_snapshot **snap, bool change,
                              struct state *at_snap)
{
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space_init_brk(s, 0x555555560000ull);
    assert_true(gmm_space_setup_stack(s, 0) > 0);
    for (int i = 0; i < 6; i++) {
        int64_t a = gmm_sys_mmap(s, 0x10000000 + (uint64_t)i * 0x200000, 8 * PG,
                                 i & 1 ? GMM_PROT_READ : RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0);
        assert_true(a > 0);
        if (!(i & 1))
            gmm_write(s, (uint64_t)a + (uint64_t)i * PG, "data", 4);
    }
    if (at_snap)
        save_state(s, at_snap);
    *snap = gmm_snapshot_take(s);
    if (!*snap || !change)
        return s;
    for (int i = 0; i < 6; i += 2)
        gmm_write(s, 0x10000000 + (uint64_t)i * 0x200000 + 0x100000, "more", 4);
    gmm_sys_munmap(s, 0x10000000 + PG, 2 * PG);
    gmm_sys_mprotect(s, 0x10200000, PG, RW);
    gmm_sys_mmap(s, 0x30000000, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED | GMM_MAP_POPULATE, -1, 0);
    gmm_sys_brk(s, 0x555555560000ull + 5 * PG);
    gmm_write(s, 0x555555560000ull, "heap", 4);
    return s;
}

static void snapshot_out_of_memory_changes_nothing(void **state)
{
    (void)state;
    static struct state before, at_snap;
    for (uint64_t k = 1;; k++) {
        struct calloc_state al = {0};
        gmm_system *sys = gmm_system_create_with_allocator(NULL, counting_alloc, &al);
        assert_non_null(sys);
        gmm_snapshot *snap;
        /* gmm_snapshot_take failing at its k-th allocation. */
        gmm_space *s = alloc_scene(sys, &snap, false, NULL);
        gmm_snapshot_discard(snap);
        save_state(s, &before);
        uint64_t frames = gmm_system_frames_used(sys);
        al.armed = true, al.calls = 0, al.fail_at = k, al.fired = false;
        snap = gmm_snapshot_take(s);
        al.armed = false;
        bool take_fired = al.fired;
        if (take_fired) {
            assert_null(snap);
            assert_int_equal(gmm_system_frames_used(sys), frames);
            CHECK(s);
            uint64_t seed = k;
            assert_same_state(s, &before, seed);
        } else {
            assert_non_null(snap);
            gmm_snapshot_discard(snap);
        }
        gmm_space_destroy(s);

        /* gmm_snapshot_restore failing at its k-th allocation. */
        s = alloc_scene(sys, &snap, true, &at_snap);
        save_state(s, &before);
        frames = gmm_system_frames_used(sys);
        al.armed = true, al.calls = 0, al.fail_at = k, al.fired = false;
        int ret = gmm_snapshot_restore(s, snap);
        al.armed = false;
        CHECK(s);
        uint64_t seed = k;
        if (al.fired) {
            assert_int_equal(ret, -GMM_ENOMEM);
            assert_int_equal(gmm_system_frames_used(sys), frames);
            assert_same_state(s, &before, seed);
            assert_int_equal(gmm_snapshot_restore(s, snap), 0);
        } else {
            assert_int_equal(ret, 0);
        }
        assert_same_state(s, &at_snap, seed);
        gmm_space_destroy(s);
        gmm_system_destroy(sys);
        assert_int_equal(al.live, 0);
        if (!take_fired && !al.fired)
            break;
    }
}

/* The main use: one snapshot, restored over and over.  Frames and the
 * library's own blocks stay flat. */
static void snapshot_thousand_restores_stay_flat(void **state)
{
    (void)state;
    struct calloc_state al = {0};
    gmm_system *sys = gmm_system_create_with_allocator(NULL, counting_alloc, &al);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space_init_brk(s, 0x555555560000ull);
    assert_true(gmm_space_setup_stack(s, 0) > 0);
    int64_t a = gmm_sys_mmap(s, 0, 64 * PG, RW, ANON_PRIV, -1, 0);
    for (int i = 0; i < 64; i += 3)
        gmm_write(s, (uint64_t)a + (uint64_t)i * PG, &i, sizeof(i));
    gmm_cpu *cpu = gmm_cpu_create(s);
    gmm_snapshot *snap = gmm_snapshot_take(s);
    uint64_t frames = 0;
    int64_t blocks = 0;
    rng_state = 12345;
    for (int cycle = 0; cycle < 1000; cycle++) {
        for (int i = 0; i < 16; i++) {
            uint8_t *p = gmm_cpu_translate(cpu, (uint64_t)a + below(64) * PG, GMM_ACCESS_WRITE);
            assert_non_null(p);
            *p = (uint8_t)cycle;
        }
        gmm_cpu_quiesce(cpu);
        int64_t b = gmm_sys_mmap(s, 0, 8 * PG, RW, ANON_PRIV | GMM_MAP_POPULATE, -1, 0);
        assert_true(b > 0);
        gmm_sys_munmap(s, (uint64_t)a + below(64) * PG, PG);
        gmm_sys_brk(s, 0x555555560000ull + below(32) * PG);
        gmm_write(s, 0x555555560000ull, "heap", 4);
        assert_int_equal(gmm_snapshot_restore(s, snap), 0);
        gmm_cpu_quiesce(cpu);
        if (cycle == 10) {
            frames = gmm_system_frames_used(sys);
            blocks = al.live;
        }
    }
    CHECK(s);
    assert_int_equal(gmm_system_frames_used(sys), frames);
    assert_int_equal(al.live, blocks);
    gmm_snapshot_discard(snap);
    gmm_cpu_destroy(cpu);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Stores through a host window (the mirror rule is checked by every
 * gmm_space_check). */
static void snapshot_random_with_window(void **state)
{
    (void)state;
    gmm_system *probe = gmm_system_create_mappable(NULL);
    if (!probe)
        skip();
    gmm_space *ps = gmm_space_create(probe, GMM_ABI_I386);
    gmm_window *pw = gmm_window_create(ps, 0, 0x100000000ull);
    gmm_space_destroy(ps);
    gmm_system_destroy(probe);
    if (!pw)
        skip();
    gmm_window_destroy(pw);
    for (uint64_t seed = first_seed(); seed <= seeds() / 2; seed++)
        random_run(GMM_ABI_I386, seed & 1, true, 4000 + seed);
    assert_true(window_stores > 0);
}

/* The change log cannot grow (no memory) or passes its bound: it widens
 * into one range, and the restore is still exact. */
static void snapshot_log_widens_when_full(void **state)
{
    (void)state;
    for (int full = 0; full < 2; full++) {
        struct calloc_state al = {0};
        gmm_system *sys = gmm_system_create_with_allocator(NULL, counting_alloc, &al);
        gmm_space *s = new_space(sys, GMM_ABI_X86_64);
        /* Enough scattered pages for 17,000 separate ranges, or 40. */
        uint64_t pages = full ? 34000 : 80;
        int64_t a = gmm_sys_mmap(s, 0, pages * PG, RW, ANON_PRIV, -1, 0);
        assert_true(a > 0);
        for (uint64_t i = 0; i < pages; i += 4)
            gmm_write(s, (uint64_t)a + i * PG, "old", 4);
        gmm_snapshot *snap = gmm_snapshot_take(s);
        uint64_t frames = gmm_system_frames_used(sys);
        if (!full) {
            /* Every allocation fails from now on (the log's growth). */
            al.armed = true, al.calls = 0, al.fail_at = 1;
        }
        for (uint64_t i = 0; i < pages; i += 2) {
            if (!full && al.fired)
                al.calls = 0; /* and the next one fails too */
            assert_int_equal(gmm_write(s, (uint64_t)a + i * PG, "new", 4), 0);
        }
        al.armed = false;
        assert_true(full || al.fired);
        assert_int_equal(gmm_snapshot_restore(s, snap), 0);
        CHECK(s);
        assert_int_equal(gmm_system_frames_used(sys), frames);
        for (uint64_t i = 0; i < pages; i += 2) {
            char b[4];
            assert_int_equal(gmm_read(s, (uint64_t)a + i * PG, b, 4), 0);
            assert_memory_equal(b, i % 4 ? "\0\0\0\0" : "old", 4);
        }
        gmm_snapshot_discard(snap);
        gmm_space_destroy(s);
        gmm_system_destroy(sys);
        assert_int_equal(al.live, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_restores_stores_layout_and_brk),
        cmocka_unit_test(snapshot_handles_are_checked),
        cmocka_unit_test(snapshot_nested_restore_discards_newer),
        cmocka_unit_test(snapshot_shared_pages_follow_their_object),
        cmocka_unit_test(snapshot_restore_leaves_fork_children),
        cmocka_unit_test(snapshot_file_truncated_and_unmapped_since),
        cmocka_unit_test(snapshot_out_of_memory_changes_nothing),
        cmocka_unit_test(snapshot_thousand_restores_stay_flat),
        cmocka_unit_test(snapshot_log_widens_when_full),
        cmocka_unit_test(snapshot_random_x86_64),
        cmocka_unit_test(snapshot_random_i386),
        cmocka_unit_test(snapshot_random_with_cpu_objects),
        cmocka_unit_test(snapshot_random_with_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
