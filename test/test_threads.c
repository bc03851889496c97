/*
 * test_threads.c - the thread model: several threads mapping, unmapping,
 * protecting, forking and accessing one space through their own CPU
 * objects; pointers that stay valid memory until the CPU quiesces; TLBs
 * that see other threads' changes; gmm_translate from several threads,
 * each through TLBs of its own; a host window that two threads load and
 * store through while a third changes the space; snapshot restores while
 * another thread uses a CPU object.  Run under
 * ThreadSanitizer by .ci/run (-DGMM_TSAN=ON) and under ASan+UBSan with the
 * rest.
 */
#include "testutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <time.h>

#define WINDOW 0x40000000ull
#define WINDOW_PAGES 64
#define THREADS 4

struct shared {
    gmm_system *sys;
    gmm_space *s;
    uint64_t deadline_ns;
    long faults;  /* atomic */
    long ops;     /* atomic */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Each worker's own region (OWN_PAGES pages at own_base(i), far from the
 * window and from each other): nobody else maps there, so its contents,
 * its maps lines and the faults its CPU accesses raise are the worker's
 * to predict while the others churn the window. */
#define OWN_BASE 0x70000000ull
#define OWN_STRIDE 0x100000ull
#define OWN_PAGES 4

static gmm_addr own_base(int i)
{
    return OWN_BASE + (uint64_t)i * OWN_STRIDE;
}

/* The faults host->fault reported on this thread in its own region (the
 * callback runs on the thread that made the access). */
static _Thread_local gmm_addr tl_own;
static _Thread_local int tl_own_faults;
static _Thread_local gmm_fault tl_own_last;

static void count_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)space;
    __atomic_add_fetch(&((struct shared *)user)->faults, 1, __ATOMIC_RELAXED);
    if (tl_own && f->addr >= tl_own && f->addr < tl_own + OWN_PAGES * PG) {
        tl_own_faults++;
        tl_own_last = *f;
    }
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Guest memory itself is shared like a real machine's: two threads storing
 * to one byte race in the guest, not in the library.  So that a race
 * ThreadSanitizer reports is the library's, the workers split the window:
 * each CPU thread stores only to pages of its own (in the upper half),
 * while the other threads map, unmap, protect and fork anywhere and copy
 * to and from the lower half only.  Their own regions are theirs alone. */
struct worker_arg {
    struct shared *sh;
    uint64_t seed;
    int cpu; /* -1: a syscall thread; else which CPU slice */
    int index;
    /* Results, read by the main thread after the join (cmocka's asserts
     * are for the main thread). */
    long cycles;   /* own-region cycles completed */
    int failures;
    char first[512]; /* the first failure */
};

static void failed(struct worker_arg *w, int line, const char *fmt, ...)
{
    if (w->failures++)
        return;
    int n = snprintf(w->first, sizeof(w->first), "worker %d, line %d: ", w->index, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first + n, sizeof(w->first) - (size_t)n, fmt, ap);
    va_end(ap);
}

#define EXPECT_EQ(w, got, want)                                                            \
    do {                                                                                   \
        long long got_ = (long long)(got), want_ = (long long)(want);                      \
        if (got_ != want_)                                                                 \
            failed(w, __LINE__, "%s = %lld, want %lld", #got, got_, want_);                \
    } while (0)

/* The maps lines of [lo, hi) in text (each "start-end ..." line whose start
 * is in the range), into out. */
static void lines_in(const char *text, gmm_addr lo, gmm_addr hi, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *l = text; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) + 1 : strlen(l);
        unsigned long long start = strtoull(l, NULL, 16);
        if (start >= lo && start < hi && n + len < cap) {
            memcpy(out + n, l, len);
            n += len;
            out[n] = '\0';
        }
        l += len;
    }
}

/* Asserts (into w) that the maps lines of w's own region are want. */
static void expect_own_maps(struct worker_arg *w, char *buf, size_t cap, int line,
                            const char *want)
{
    size_t n = gmm_space_maps(w->sh->s, buf, cap);
    if (n >= cap) {
        failed(w, line, "maps text of %zu bytes does not fit", n);
        return;
    }
    char mine[512];
    gmm_addr own = own_base(w->index);
    lines_in(buf, own, own + OWN_STRIDE, mine, sizeof(mine));
    if (strcmp(mine, want))
        failed(w, line, "own maps lines:\n%swant:\n%s", mine, want);
}

static void own_line(char *out, size_t cap, gmm_addr a, gmm_addr b, const char *perms)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%08llx-%08llx %s 00000000 00:00 0 \n", (unsigned long long)a,
             (unsigned long long)b, perms);
}

/* One step of the worker's cycle on its own region: map it, write a
 * pattern across a page boundary and read it back, make a page read-only,
 * unmap the last page, unmap it all; each with its exact results, maps
 * lines and (CPU threads) the faults of CPU accesses. */
static void own_step(struct worker_arg *w, gmm_cpu *cpu, long step, uint64_t r, char *buf,
                     size_t cap, uint8_t pat[64])
{
    gmm_space *s = w->sh->s;
    const gmm_addr own = own_base(w->index);
    char want[512] = "";
    uint8_t got[64];
    switch (step % 5) {
    case 0:
        EXPECT_EQ(w, gmm_sys_mmap(s, own, OWN_PAGES * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                  own);
        own_line(want, sizeof(want), own, own + OWN_PAGES * PG, "rw-p");
        expect_own_maps(w, buf, cap, __LINE__, want);
        memset(got, 0xEE, sizeof(got));
        EXPECT_EQ(w, gmm_read(s, own + 2 * PG, got, sizeof(got)), 0);
        for (size_t i = 0; i < sizeof(got); i++)
            EXPECT_EQ(w, got[i], 0);
        break;
    case 1:
        for (int i = 0; i < 64; i++)
            pat[i] = (uint8_t)(r >> (i % 8 * 8)) ^ (uint8_t)i;
        EXPECT_EQ(w, gmm_write(s, own + PG - 32, pat, 64), 0);
        memset(got, 0xEE, sizeof(got));
        EXPECT_EQ(w, gmm_read(s, own + PG - 32, got, 64), 0);
        if (memcmp(got, pat, 64))
            failed(w, __LINE__, "pattern read back differs");
        if (cpu) {
            /* A store through the CPU path, seen by the copy path. */
            uint8_t *q = gmm_cpu_translate(cpu, own + 3 * PG + r % PG, GMM_ACCESS_WRITE);
            if (!q) {
                failed(w, __LINE__, "no write translation of an own rw page");
            } else {
                *q = (uint8_t)(r | 1);
                uint8_t b = 0;
                EXPECT_EQ(w, gmm_read(s, own + 3 * PG + r % PG, &b, 1), 0);
                EXPECT_EQ(w, b, (uint8_t)(r | 1));
            }
            const uint8_t *c = gmm_cpu_translate(cpu, own + PG - 32, GMM_ACCESS_READ);
            if (!c || memcmp(c, pat, 32))
                failed(w, __LINE__, "CPU read of the pattern differs");
            EXPECT_EQ(w, tl_own_faults, 0);
            gmm_cpu_quiesce(cpu);
        }
        break;
    case 2:
        EXPECT_EQ(w, gmm_sys_mprotect(s, own + PG, PG, GMM_PROT_READ), 0);
        own_line(want, sizeof(want), own, own + PG, "rw-p");
        own_line(want, sizeof(want), own + PG, own + 2 * PG, "r--p");
        own_line(want, sizeof(want), own + 2 * PG, own + OWN_PAGES * PG, "rw-p");
        expect_own_maps(w, buf, cap, __LINE__, want);
        EXPECT_EQ(w, gmm_write(s, own + PG, pat, 1), -GMM_EFAULT);
        /* The copy stopped at the read-only page: the bytes before it
         * landed, and they are the pattern's own. */
        EXPECT_EQ(w, gmm_write(s, own + PG - 32, pat, 64), -GMM_EFAULT);
        memset(got, 0xEE, sizeof(got));
        EXPECT_EQ(w, gmm_read(s, own + PG - 32, got, 64), 0);
        if (memcmp(got, pat, 64))
            failed(w, __LINE__, "pattern changed by a refused write");
        if (cpu) {
            EXPECT_EQ(w, gmm_cpu_translate(cpu, own + PG + 8, GMM_ACCESS_WRITE) == NULL, 1);
            EXPECT_EQ(w, tl_own_faults, 1);
            EXPECT_EQ(w, tl_own_last.signo, GMM_SIGSEGV);
            EXPECT_EQ(w, tl_own_last.code, GMM_SEGV_ACCERR);
            EXPECT_EQ(w, tl_own_last.addr, own + PG + 8);
            gmm_cpu_quiesce(cpu);
        }
        break;
    case 3:
        EXPECT_EQ(w, gmm_sys_munmap(s, own + 3 * PG, PG), 0);
        own_line(want, sizeof(want), own, own + PG, "rw-p");
        own_line(want, sizeof(want), own + PG, own + 2 * PG, "r--p");
        own_line(want, sizeof(want), own + 2 * PG, own + 3 * PG, "rw-p");
        expect_own_maps(w, buf, cap, __LINE__, want);
        EXPECT_EQ(w, gmm_read(s, own + 3 * PG, got, 1), -GMM_EFAULT);
        memset(got, 0xEE, sizeof(got));
        EXPECT_EQ(w, gmm_read(s, own + 3 * PG - 16, got, 32), -GMM_EFAULT);
        for (int i = 0; i < 32; i++)
            EXPECT_EQ(w, got[i], i < 16 ? 0 : 0xEE);
        if (cpu) {
            EXPECT_EQ(w, gmm_cpu_translate(cpu, own + 3 * PG, GMM_ACCESS_READ) == NULL, 1);
            EXPECT_EQ(w, tl_own_faults, 2);
            EXPECT_EQ(w, tl_own_last.code, GMM_SEGV_MAPERR);
            EXPECT_EQ(w, tl_own_last.addr, own + 3 * PG);
            gmm_cpu_quiesce(cpu);
        }
        break;
    default:
        EXPECT_EQ(w, gmm_sys_munmap(s, own, OWN_PAGES * PG), 0);
        expect_own_maps(w, buf, cap, __LINE__, "");
        EXPECT_EQ(w, gmm_read(s, own, got, 1), -GMM_EFAULT);
        EXPECT_EQ(w, gmm_write(s, own + PG - 1, got, 1), -GMM_EFAULT);
        tl_own_faults = 0;
        w->cycles++;
        break;
    }
}

static void *worker(void *p)
{
    struct worker_arg *w = p;
    struct shared *sh = w->sh;
    uint64_t seed = w->seed;
    gmm_cpu *cpu = w->cpu >= 0 ? gmm_cpu_create(sh->s) : NULL;
    const uint64_t half = WINDOW_PAGES / 2, slice = half / 2;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    uint8_t pat[64] = {0};
    if (!buf || (w->cpu >= 0 && !cpu)) {
        failed(w, __LINE__, "out of memory");
        free(buf);
        gmm_cpu_destroy(cpu);
        return NULL;
    }
    tl_own = own_base(w->index);
    long step = 0;
    /* Stop only between cycles, with the own region unmapped. */
    while (step % 5 || now_ns() < sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        own_step(w, cpu, step++, r, buf, cap, pat);
        if (cpu) {
            /* The CPU path: store through the pointer, load it back.  The
             * page may be anything the syscall threads left there. */
            gmm_addr a = WINDOW + (half + (uint64_t)w->cpu * slice + r % slice) * PG;
            uint8_t *q = gmm_cpu_translate(cpu, a + (r >> 20) % PG, GMM_ACCESS_WRITE);
            if (q) {
                *q = (uint8_t)r;
                if (*(volatile uint8_t *)q != (uint8_t)r)
                    failed(w, __LINE__, "a store through a CPU pointer did not hold");
            }
            gmm_cpu_quiesce(cpu);
            __atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
            continue;
        }
        gmm_addr a = WINDOW + (r % WINDOW_PAGES) * PG;
        gmm_addr low = WINDOW + (r % half) * PG;
        uint64_t len = (1 + (r >> 8) % 4) * PG;
        int64_t ret;
        switch ((r >> 16) % 6) {
        case 0:
            EXPECT_EQ(w, gmm_sys_mmap(sh->s, a, len, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), a);
            break;
        case 1:
            EXPECT_EQ(w, gmm_sys_munmap(sh->s, a, len), 0);
            break;
        case 2:
            /* A hole in the range: -ENOMEM after the part before it. */
            ret = gmm_sys_mprotect(sh->s, a, len, (int)((r >> 24) % 4));
            if (ret != 0 && ret != -GMM_ENOMEM)
                failed(w, __LINE__, "mprotect returned %lld", (long long)ret);
            break;
        case 3:
            EXPECT_EQ(w, gmm_sys_mmap(sh->s, a, len, RW, ANON_SHARED | GMM_MAP_FIXED, -1, 0), a);
            break;
        case 4: {
            /* The window page may be unmapped or protected by now. */
            uint8_t b = (uint8_t)r;
            ret = gmm_write(sh->s, low + (r >> 32) % PG, &b, 1);
            if (ret != 0 && ret != -GMM_EFAULT)
                failed(w, __LINE__, "gmm_write returned %lld", (long long)ret);
            ret = gmm_read(sh->s, low, &b, 1);
            if (ret != 0 && ret != -GMM_EFAULT)
                failed(w, __LINE__, "gmm_read returned %lld", (long long)ret);
            break;
        }
        default:
            if ((r >> 40) % 8 == 0) {
                gmm_space *child = gmm_space_fork(sh->s);
                if (!child) {
                    failed(w, __LINE__, "fork failed");
                    break;
                }
                /* The child sees the parent's own region as the parent
                 * left it: this worker is not running a step now. */
                uint8_t got[64];
                ret = gmm_read(child, own_base(w->index) + PG - 32, got, 64);
                if (step % 5 == 2 || step % 5 == 3 || step % 5 == 4) {
                    EXPECT_EQ(w, ret, 0);
                    if (!ret && memcmp(got, pat, 64))
                        failed(w, __LINE__, "the fork child's copy of the pattern differs");
                } else if (step % 5 == 1) {
                    /* Mapped, nothing written yet. */
                    EXPECT_EQ(w, ret, 0);
                    for (int i = 0; i < 64; i++)
                        EXPECT_EQ(w, got[i], 0);
                } else {
                    EXPECT_EQ(w, ret, -GMM_EFAULT);
                }
                uint8_t b = 1;
                ret = gmm_write(child, low, &b, 1);
                if (ret != 0 && ret != -GMM_EFAULT)
                    failed(w, __LINE__, "gmm_write to the child returned %lld", (long long)ret);
                gmm_space_destroy(child);
            }
            break;
        }
        __atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
    }
    free(buf);
    gmm_cpu_destroy(cpu);
    return NULL;
}

static void threads_map_unmap_protect_fork_and_access_one_space(void **state)
{
    (void)state;
    struct shared sh = {0};
    gmm_host host = {.user = &sh, .fault = count_fault};
    sh.sys = gmm_system_create(&host);
    sh.s = new_space(sh.sys, GMM_ABI_X86_64);
    /* Bounded in time (0.5 s) so that sanitizer builds stay quick. */
    sh.deadline_ns = now_ns() + 500000000u;
    pthread_t t[THREADS];
    static struct worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].sh = &sh;
        args[i].seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        args[i].cpu = i < 2 ? i : -1;
        args[i].index = i;
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        if (args[i].failures)
            fail_msg("%d failures; first: %s", args[i].failures, args[i].first);
        assert_true(args[i].cycles >= 10);
    }
    CHECK(sh.s);
    /* Every own region was unmapped at its last step: only window
     * regions (and up to 3 pages past it) remain. */
    const char *maps = maps_of(sh.s);
    for (const char *l = maps; *l; l = strchr(l, '\n') + 1) {
        unsigned long long start = strtoull(l, NULL, 16);
        assert_true(start >= WINDOW && start < WINDOW + (WINDOW_PAGES + 3) * PG);
    }
    assert_true(sh.ops > 1000);
    printf("[ threads ] %ld operations by %d threads (2 CPU threads), %ld own-region cycles, "
           "%ld faults reported\n",
           sh.ops, THREADS, args[0].cycles + args[1].cycles + args[2].cycles + args[3].cycles,
           sh.faults);
    gmm_space_destroy(sh.s);
    gmm_system_destroy(sh.sys);
}

/* A CPU that still holds a pointer to a page another thread unmapped can
 * only reach the old frame: new mappings never get it until the CPU
 * quiesces. */
static void unmapped_frame_is_not_reused_before_the_cpu_quiesces(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_cpu *cpu = gmm_cpu_create(s);
    assert_non_null(cpu);
    assert_ptr_equal(gmm_cpu_space(cpu), s);
    assert_int_equal(gmm_sys_mmap(s, WINDOW, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), WINDOW);
    uint8_t *held = gmm_cpu_translate(cpu, WINDOW, GMM_ACCESS_WRITE);
    assert_non_null(held);
    *held = 'h';
    /* Another thread (here: the same, through the syscall path) unmaps
     * it, then maps and fills many pages. */
    assert_int_equal(gmm_sys_munmap(s, WINDOW, PG), 0);
    gmm_addr b = 0x50000000;
    assert_int_equal(gmm_sys_mmap(s, b, 64 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), b);
    for (int i = 0; i < 64; i++) {
        uint8_t v = 'n';
        assert_int_equal(gmm_write(s, b + (uint64_t)i * PG, &v, 1), 0);
        assert_ptr_not_equal(gmm_translate(s, b + (uint64_t)i * PG, GMM_ACCESS_READ), held);
    }
    /* The stale store lands in the old frame, nowhere else. */
    *held = 'x';
    for (int i = 0; i < 64; i++) {
        uint8_t v = 0;
        assert_int_equal(gmm_read(s, b + (uint64_t)i * PG, &v, 1), 0);
        assert_int_equal(v, 'n');
    }
    /* After the grace period the frame is reused, zeroed. */
    gmm_cpu_quiesce(cpu);
    bool reused = false;
    gmm_addr c = 0x60000000;
    assert_int_equal(gmm_sys_mmap(s, c, 8 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), c);
    for (int i = 0; i < 8; i++) {
        uint8_t v = 1;
        assert_int_equal(gmm_write(s, c + (uint64_t)i * PG, &v, 1), 0);
        gmm_cpu_quiesce(cpu);
        if (gmm_translate(s, c + (uint64_t)i * PG, GMM_ACCESS_READ) == held)
            reused = true;
    }
    assert_true(reused);
    CHECK(s);
    gmm_cpu_destroy(cpu);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Each CPU's TLB sees what the others changed: a page unmapped or made
 * read-only by the syscall path faults on the next CPU access. */
static void cpu_tlbs_see_unmap_and_mprotect_by_others(void **state)
{
    (void)state;
    struct fault_log log;
    gmm_system *sys = new_system(&log);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_cpu *c1 = gmm_cpu_create(s), *c2 = gmm_cpu_create(s);
    assert_int_equal(gmm_sys_mmap(s, WINDOW, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), WINDOW);
    uint8_t *p1 = gmm_cpu_translate(c1, WINDOW, GMM_ACCESS_WRITE);
    uint8_t *p2 = gmm_cpu_translate(c2, WINDOW + PG, GMM_ACCESS_WRITE);
    assert_non_null(p1);
    assert_non_null(p2);
    /* A hit in one CPU's TLB is the same page for the other. */
    *p1 = 'a';
    assert_int_equal(*(uint8_t *)gmm_cpu_translate(c2, WINDOW, GMM_ACCESS_READ), 'a');
    assert_int_equal(gmm_sys_mprotect(s, WINDOW, PG, GMM_PROT_READ), 0);
    assert_null(gmm_cpu_translate(c1, WINDOW, GMM_ACCESS_WRITE));
    assert_int_equal(log.last.code, GMM_SEGV_ACCERR);
    assert_non_null(gmm_cpu_translate(c1, WINDOW, GMM_ACCESS_READ));
    assert_int_equal(gmm_sys_munmap(s, WINDOW + PG, PG), 0);
    assert_null(gmm_cpu_translate(c2, WINDOW + PG, GMM_ACCESS_READ));
    assert_int_equal(log.last.code, GMM_SEGV_MAPERR);
    /* Untouched pages still translate to the same frames. */
    uint8_t *q = gmm_cpu_translate(c2, WINDOW + 2 * PG, GMM_ACCESS_WRITE);
    assert_ptr_equal(gmm_cpu_translate(c1, WINDOW + 2 * PG, GMM_ACCESS_WRITE), q);
    /* Many changes at once (more than the log keeps) still reach a TLB. */
    for (int i = 0; i < 200; i++)
        gmm_sys_mprotect(s, WINDOW + 3 * PG, PG, i % 2 ? RW : GMM_PROT_READ);
    assert_int_equal(gmm_sys_mprotect(s, WINDOW + 2 * PG, PG, GMM_PROT_NONE), 0);
    assert_null(gmm_cpu_translate(c2, WINDOW + 2 * PG, GMM_ACCESS_READ));
    CHECK(s);
    gmm_cpu_destroy(c1);
    gmm_cpu_destroy(c2);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Touches and unmaps pages in rounds; the number of rounds that succeeded. */
static int churn(gmm_space *s, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        if (gmm_sys_mmap(s, WINDOW, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0) != (int64_t)WINDOW)
            return i;
        for (int p = 0; p < 4; p++)
            if (gmm_write(s, WINDOW + (uint64_t)p * PG, "x", 1))
                return i;
        assert_int_equal(gmm_sys_munmap(s, WINDOW, 4 * PG), 0);
    }
    return rounds;
}

/* Frames waiting for a grace period count against the memory cap, and a
 * CPU that is offline does not hold the grace periods back. */
static void offline_cpu_lets_frames_be_reused_under_the_cap(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_system_set_frame_limit(sys, 16), 0);
    gmm_cpu *cpu = gmm_cpu_create(s);
    /* Online and never quiescing: the freed frames stay in limbo, count
     * against the cap, and the cap is reached. */
    assert_true(churn(s, 100) < 100);
    CHECK(s);
    /* Offline: nothing is held back any more. */
    gmm_cpu_offline(cpu);
    assert_int_equal(churn(s, 100), 100);
    /* Back online and quiescing as it runs: reuse goes on. */
    gmm_cpu_online(cpu);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(churn(s, 1), 1);
        gmm_cpu_quiesce(cpu);
    }
    CHECK(s);
    gmm_cpu_destroy(cpu);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* ---- gmm_translate from any thread ----
 * Each calling thread translates through a TLB of its own, so threads
 * calling gmm_translate on one space never write a TLB another reads. */

#define STABLE 0x30000000ull
#define STABLE_PAGES 16
#define TRANSLATORS 2

struct translator_arg {
    struct shared *sh;
    uint64_t seed;
    int id;
    long bad;         /* reads of a stable page that were not its byte */
    long translated;  /* translations of stable pages */
    uint8_t shadow[PG]; /* what its own page should hold */
};

/* Reads the read-only pages of the stable range (each holds its page
 * number) and stores to a page of its own there, while the mapper thread
 * changes the window: every change is an invalidation this thread's TLB
 * catches up with.  Window addresses are translated too (their pointers
 * are not used: the mapper may unmap them at any time). */
static void *translator(void *p)
{
    struct translator_arg *w = p;
    struct shared *sh = w->sh;
    uint64_t seed = w->seed;
    gmm_addr own = STABLE + (STABLE_PAGES - 1 - (uint64_t)w->id) * PG;
    while (now_ns() < sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        uint64_t pg = r % (STABLE_PAGES - TRANSLATORS);
        const uint8_t *q = gmm_translate(sh->s, STABLE + pg * PG + (r >> 20) % PG, GMM_ACCESS_READ);
        if (!q || *q != (uint8_t)pg)
            w->bad++;
        uint64_t off = (r >> 32) % PG;
        uint8_t *o = gmm_translate(sh->s, own + off, GMM_ACCESS_WRITE);
        if (!o || *o != w->shadow[off])
            w->bad++;
        else
            *o = w->shadow[off] = (uint8_t)r;
        (void)gmm_translate(sh->s, WINDOW + (r >> 40) % (WINDOW_PAGES * PG),
                            (r >> 8) % 2 ? GMM_ACCESS_WRITE : GMM_ACCESS_READ);
        w->translated += 2;
    }
    return NULL;
}

static void *mapper(void *p)
{
    struct shared *sh = p;
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    while (now_ns() < sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        gmm_addr a = WINDOW + (r % WINDOW_PAGES) * PG;
        uint64_t len = (1 + (r >> 8) % 4) * PG;
        switch ((r >> 16) % 3) {
        case 0:
            gmm_sys_mmap(sh->s, a, len, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0);
            break;
        case 1:
            gmm_sys_munmap(sh->s, a, len);
            break;
        default:
            gmm_sys_mprotect(sh->s, a, len, (int)((r >> 24) % 4));
            break;
        }
        __atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void translate_from_two_threads_while_a_third_maps_and_unmaps(void **state)
{
    (void)state;
    struct shared sh = {0};
    gmm_host host = {.user = &sh, .fault = count_fault};
    sh.sys = gmm_system_create(&host);
    sh.s = new_space(sh.sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(sh.s, STABLE, STABLE_PAGES * PG, RW, ANON_PRIV | GMM_MAP_FIXED,
                                  -1, 0),
                     (int64_t)STABLE);
    for (uint64_t i = 0; i < STABLE_PAGES; i++) {
        uint8_t page[PG];
        memset(page, (int)i, sizeof(page));
        if (i >= STABLE_PAGES - TRANSLATORS)
            memset(page, 0, sizeof(page));
        assert_int_equal(gmm_write(sh.s, STABLE + i * PG, page, PG), 0);
    }
    assert_int_equal(gmm_sys_mprotect(sh.s, STABLE, (STABLE_PAGES - TRANSLATORS) * PG,
                                      GMM_PROT_READ),
                     0);
    sh.deadline_ns = now_ns() + 500000000u;
    pthread_t t[TRANSLATORS + 1];
    struct translator_arg args[TRANSLATORS];
    for (int i = 0; i < TRANSLATORS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].sh = &sh;
        args[i].seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        args[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, translator, &args[i]), 0);
    }
    assert_int_equal(pthread_create(&t[TRANSLATORS], NULL, mapper, &sh), 0);
    for (int i = 0; i <= TRANSLATORS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < TRANSLATORS; i++) {
        assert_int_equal(args[i].bad, 0);
        assert_true(args[i].translated > 1000);
        /* Its stores reached its page of the space. */
        uint8_t page[PG];
        assert_int_equal(gmm_read(sh.s, STABLE + (STABLE_PAGES - 1 - (uint64_t)i) * PG, page, PG),
                         0);
        assert_memory_equal(page, args[i].shadow, PG);
    }
    assert_true(sh.ops > 100);
    CHECK(sh.s);
    gmm_space_destroy(sh.s);
    gmm_system_destroy(sh.sys);
}

/* An allocator that hands the last freed block of n bytes back for the
 * next request of n bytes, so that a space created after another is
 * destroyed gets the same address. */
struct recycler {
    void *block;
    size_t size;
};

static void *recycling_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct recycler *rc = ud;
    if (new_size == 0) {
        if (!rc->block && old_size >= 8192) {
            rc->block = ptr;
            rc->size = old_size;
        } else {
            free(ptr);
        }
        return NULL;
    }
    if (rc->block && rc->size == new_size) {
        void *p = rc->block;
        rc->block = NULL;
        return p;
    }
    return malloc(new_size);
}

/* A TLB is tagged with its space's id, never reused: a space created at
 * the address of a destroyed one does not see the old one's entries. */
static void *translate_in_a_reused_space(void *p)
{
    struct recycler *rc = p;
    gmm_system *sys = gmm_system_create_with_allocator(NULL, recycling_alloc, rc);
    assert_non_null(sys);
    gmm_space *a = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(a, WINDOW, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), WINDOW);
    assert_int_equal(gmm_write(a, WINDOW, "a", 1), 0);
    const char *q = gmm_translate(a, WINDOW, GMM_ACCESS_READ);
    assert_non_null(q);
    assert_int_equal(*q, 'a');
    gmm_space_destroy(a);
    gmm_space *b = new_space(sys, GMM_ABI_X86_64);
    assert_ptr_equal(b, a); /* the case under test */
    assert_int_equal(gmm_sys_mmap(b, WINDOW, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), WINDOW);
    /* b's page is demand zero: the zero page, not a's old frame. */
    q = gmm_translate(b, WINDOW, GMM_ACCESS_READ);
    assert_non_null(q);
    assert_int_equal(*q, 0);
    assert_ptr_not_equal(gmm_translate(b, WINDOW, GMM_ACCESS_WRITE), NULL);
    assert_int_equal(*(const char *)gmm_translate(b, WINDOW, GMM_ACCESS_READ), 0);
    gmm_space_destroy(b);
    gmm_system_destroy(sys);
    return NULL;
}

static void translate_tlb_of_a_destroyed_space_is_not_used_for_one_at_its_address(void **state)
{
    (void)state;
    struct recycler rc = {0};
    /* In a thread of its own, so that the thread's TLBs are freed at its
     * exit (the sanitizers' leak check sees any left). */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, translate_in_a_reused_space, &rc), 0);
    pthread_join(t, NULL);
    free(rc.block);
}

/* One thread translating in more spaces than it keeps TLBs for, round
 * robin: each space's own pages every time, and changes made while the
 * thread's TLB for a space was not its current one are seen. */
static void translate_one_thread_many_spaces(void **state)
{
    (void)state;
    enum { SPACES = 6 };
    gmm_system *sys = new_system(NULL);
    gmm_space *sp[SPACES];
    uint8_t want[SPACES][4];
    for (int i = 0; i < SPACES; i++) {
        sp[i] = new_space(sys, GMM_ABI_X86_64);
        assert_int_equal(gmm_sys_mmap(sp[i], WINDOW, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                         WINDOW);
        for (int k = 0; k < 4; k++) {
            want[i][k] = (uint8_t)(16 * i + k);
            assert_int_equal(gmm_write(sp[i], WINDOW + (uint64_t)k * PG, &want[i][k], 1), 0);
        }
    }
    for (int round = 0; round < 20; round++) {
        for (int j = 0; j < SPACES; j++) {
            /* Rounds 0-9: every space in turn; then the first three only,
             * which stay cached. */
            int i = round < 10 ? j : j % 3;
            int k = (round + j) % 4;
            uint8_t *q = gmm_translate(sp[i], WINDOW + (uint64_t)k * PG, GMM_ACCESS_WRITE);
            assert_non_null(q);
            assert_int_equal(*q, want[i][k]);
            *q = ++want[i][k];
        }
        if (round == 12) {
            /* Space 1 is remapped and refilled behind this thread's TLB. */
            assert_int_equal(gmm_sys_munmap(sp[1], WINDOW, 4 * PG), 0);
            assert_int_equal(gmm_sys_mmap(sp[1], WINDOW, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED,
                                          -1, 0),
                             WINDOW);
            for (int k = 0; k < 4; k++) {
                want[1][k] = (uint8_t)(200 + k);
                assert_int_equal(gmm_write(sp[1], WINDOW + (uint64_t)k * PG, &want[1][k], 1), 0);
            }
        }
    }
    for (int i = 0; i < SPACES; i++) {
        for (int k = 0; k < 4; k++) {
            uint8_t v = 0;
            assert_int_equal(gmm_read(sp[i], WINDOW + (uint64_t)k * PG, &v, 1), 0);
            assert_int_equal(v, want[i][k]);
        }
        CHECK(sp[i]);
        gmm_space_destroy(sp[i]);
    }
    gmm_system_destroy(sys);
}

#if defined(__linux__) && defined(__x86_64__)

/* ---- a host window shared by threads ---- */

#define WIN_LO 0x40000000ull
#define WIN_HI 0x50000000ull
#define CPU_PAGES 64
#define CPU_BYTES (CPU_PAGES * PG)
/* Each CPU thread's region, and the range the syscall thread changes. */
#define CPU_REGION(i) (WIN_LO + (uint64_t)(i) * 0x1000000ull)
#define CHURN 0x48000000ull
#define CHURN_PAGES 64

struct wshared {
    gmm_system *sys;
    gmm_space *s;
    gmm_window *w;
    uint64_t deadline_ns;
    long guest_faults;      /* atomic: guest signals the CPU threads got */
};

struct wcpu {
    struct wshared *sh;
    int index;
    uint8_t *shadow;        /* what the thread stored, byte for byte */
    long ops, mismatches;   /* the thread's own; read after join */
};

/* ThreadSanitizer reports a call to malloc from any signal handler: it
 * cannot tell a synchronous fault from an asynchronous signal.  A window
 * fault allocates (page tables) from the handler, which guestmm.h ("Host
 * windows") explains is safe: the fault happens at a guest load or store,
 * where the thread holds no lock of the library's or the allocator's. */
#if defined(__SANITIZE_THREAD__)
#define GMM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GMM_TEST_TSAN 1
#endif
#endif
#ifdef GMM_TEST_TSAN
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "report_signal_unsafe=0";
}
#endif

/* The ready-made handler's sigaction, kept by main: cmocka replaces the
 * SIGSEGV/SIGBUS handlers around every test. */
static struct sigaction window_segv, window_bus;
static __thread sigjmp_buf *guest_jmp;

static void window_guest_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)space, (void)f;
    __atomic_add_fetch(&((struct wshared *)user)->guest_faults, 1, __ATOMIC_RELAXED);
    if (guest_jmp)
        siglongjmp(*guest_jmp, 1);
}

/* A guest load or store through the window, as generated code makes it:
 * not instrumented, since ThreadSanitizer takes the library's remapping of
 * window pages (mmap over them, under the space lock) for a write to the
 * memory, and a load that completes just before another thread's remap
 * for a race with it.  The loads and stores are checked by value instead. */
__attribute__((noinline, no_sanitize("thread"))) static void guest_store(volatile uint8_t *p,
                                                                         uint8_t v)
{
    *p = v;
}

__attribute__((noinline, no_sanitize("thread"))) static uint8_t guest_load(volatile uint8_t *p)
{
    return *p;
}

/* Stores a random byte of its region through the window, loads another
 * back and compares it with what it stored there. */
static void *window_cpu(void *p)
{
    struct wcpu *c = p;
    struct wshared *sh = c->sh;
    volatile uint8_t *mem = gmm_window_base(sh->w) + CPU_REGION(c->index);
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(c->index + 7);
    sigjmp_buf jb;
    guest_jmp = &jb;
    if (sigsetjmp(jb, 1))
        c->mismatches++; /* a guest fault: its region is always mapped */
    while (c->ops < 2000 || now_ns() < sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        uint64_t off = r % CPU_BYTES, back = (r >> 24) % CPU_BYTES;
        uint8_t v = (uint8_t)(r >> 56);
        guest_store(mem + off, v);
        c->shadow[off] = v;
        if (guest_load(mem + back) != c->shadow[back])
            c->mismatches++;
        c->ops++;
    }
    guest_jmp = NULL;
    return NULL;
}

/* Maps, unmaps, protects, discards and forks around the CPU threads. */
static void *window_syscalls(void *p)
{
    struct wshared *sh = p;
    uint64_t seed = 0xD1B54A32D192ED03ull;
    long ops = 0;
    while (ops < 500 || now_ns() < sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        gmm_addr a = CHURN + (r % CHURN_PAGES) * PG;
        uint64_t len = (1 + (r >> 8) % 8) * PG;
        switch ((r >> 16) % 6) {
        case 0:
            gmm_sys_mmap(sh->s, a, len, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0);
            break;
        case 1:
            gmm_sys_munmap(sh->s, a, len);
            break;
        case 2:
            gmm_sys_mprotect(sh->s, a, len, (int)((r >> 24) % 4));
            break;
        case 3:
            gmm_sys_madvise(sh->s, a, len, GMM_MADV_DONTNEED);
            break;
        case 4: {
            uint8_t b = (uint8_t)r;
            gmm_write(sh->s, a, &b, 1);
            break;
        }
        default:
            if ((r >> 40) % 16 == 0) {
                gmm_space *child = gmm_space_fork(sh->s);
                if (child)
                    gmm_space_destroy(child);
            }
            break;
        }
        ops++;
    }
    return (void *)ops;
}

static void window_loads_and_stores_from_two_threads_while_a_third_changes_the_space(void **state)
{
    (void)state;
    assert_int_equal(sigaction(SIGSEGV, &window_segv, NULL), 0);
    assert_int_equal(sigaction(SIGBUS, &window_bus, NULL), 0);
    struct wshared sh = {0};
    gmm_host host = {.user = &sh, .fault = window_guest_fault};
    sh.sys = gmm_system_create_mappable(&host);
    assert_non_null(sh.sys);
    sh.s = new_space(sh.sys, GMM_ABI_X86_64);
    sh.w = gmm_window_create(sh.s, WIN_LO, WIN_HI);
    assert_non_null(sh.w);
    /* A small budget, so that flushes happen under the CPU threads too. */
    gmm_window_set_budget(sh.w, 64);
    struct wcpu cpu[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gmm_sys_mmap(sh.s, CPU_REGION(i), CPU_BYTES, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                         (int64_t)CPU_REGION(i));
        cpu[i] = (struct wcpu){&sh, i, calloc(1, CPU_BYTES), 0, 0};
        assert_non_null(cpu[i].shadow);
    }
    sh.deadline_ns = now_ns() + 500000000u;
    pthread_t t[3];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, window_cpu, &cpu[i]), 0);
    assert_int_equal(pthread_create(&t[2], NULL, window_syscalls, &sh), 0);
    void *syscall_ops;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_join(t[2], &syscall_ops);
    /* Checked from this thread only, after the join. */
    const char *err = gmm_window_check(sh.w);
    if (err)
        fail_msg("window check: %s", err);
    err = gmm_system_check(sh.sys);
    if (err)
        fail_msg("system check: %s", err);
    assert_int_equal(sh.guest_faults, 0);
    gmm_window_stats st;
    gmm_window_get_stats(sh.w, &st);
    uint8_t *got = malloc(CPU_BYTES);
    assert_non_null(got);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cpu[i].mismatches, 0);
        assert_true(cpu[i].ops >= 2000);
        assert_int_equal(gmm_read(sh.s, CPU_REGION(i), got, CPU_BYTES), 0);
        assert_memory_equal(got, cpu[i].shadow, CPU_BYTES);
        free(cpu[i].shadow);
    }
    free(got);
    assert_true((long)syscall_ops >= 500);
    printf("[ threads ] window: %ld + %ld stores and loads, %ld syscalls; %llu faults, %llu flushes\n",
           cpu[0].ops, cpu[1].ops, (long)syscall_ops, (unsigned long long)st.faults,
           (unsigned long long)st.flushes);
    gmm_window_destroy(sh.w);
    gmm_space_destroy(sh.s);
    gmm_system_destroy(sh.sys);
}

#endif

/* gmm_read's unlocked path against a thread that unmaps pages, lets
 * another space of the system take their frames and fill them with
 * poison, and maps the pages again: a reader gets a page's own bytes (or
 * the zeros of a fresh page), or EFAULT while it is unmapped, never the
 * poison of a frame in other hands. */
#define RACE_BASE 0x50000000ull
#define RACE_PAGES 32
#define RACE_CHUNK 4
#define RACE_READERS 2
#define POISON 0xDEADDEADDEADDEADull
#define SENTINEL 0x5E5E5E5E5E5E5E5Eull

static uint64_t race_tag(uint64_t page)
{
    return 0x1111000000000000ull | page;
}

struct race_reader {
    struct shared *sh;
    uint64_t seed;
    long reads, efaults, bad;
};

static bool race_word_ok(uint64_t v, uint64_t page, bool may_be_untouched)
{
    return v == race_tag(page) || v == 0 || (may_be_untouched && v == SENTINEL);
}

static void *race_reader(void *p)
{
    struct race_reader *w = p;
    uint64_t seed = w->seed;
    while (now_ns() < w->sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        uint64_t pg = r % (RACE_PAGES - 1);
        uint64_t v[2] = {SENTINEL, SENTINEL};
        if ((r >> 32) % 2) {
            /* Within a page. */
            int ret = gmm_read(w->sh->s, RACE_BASE + pg * PG + ((r >> 40) % (PG / 8)) * 8, v, 8);
            if (ret == -GMM_EFAULT)
                w->efaults++;
            else if (ret || !race_word_ok(v[0], pg, false))
                w->bad++;
        } else {
            /* Across two pages: the second may fault alone. */
            int ret = gmm_read(w->sh->s, RACE_BASE + pg * PG + PG - 8, v, 16);
            if (ret == -GMM_EFAULT) {
                w->efaults++;
                if (!race_word_ok(v[0], pg, true) || !race_word_ok(v[1], pg + 1, true))
                    w->bad++;
            } else if (ret || !race_word_ok(v[0], pg, false) ||
                       !race_word_ok(v[1], pg + 1, false)) {
                w->bad++;
            }
        }
        w->reads++;
    }
    return NULL;
}

static void race_fill(gmm_space *s, gmm_addr a, uint64_t pages, bool poison, uint64_t first)
{
    static _Thread_local uint64_t page[PG / 8];
    for (uint64_t k = 0; k < pages; k++) {
        for (size_t i = 0; i < PG / 8; i++)
            page[i] = poison ? POISON : race_tag(first + k);
        assert_int_equal(gmm_write(s, a + k * PG, page, PG), 0);
    }
}

struct race_mapper {
    struct shared *sh;
    gmm_space *other;
};

static void *race_mapper(void *p)
{
    struct race_mapper *m = p;
    struct shared *sh = m->sh;
    uint64_t seed = 0xD1B54A32D192ED03ull;
    while (now_ns() < sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        uint64_t first = r % (RACE_PAGES - RACE_CHUNK + 1);
        gmm_addr a = RACE_BASE + first * PG;
        assert_int_equal(gmm_sys_munmap(sh->s, a, RACE_CHUNK * PG), 0);
        /* The freed frames go to the other space, poisoned, and back. */
        assert_int_equal(gmm_sys_mmap(m->other, RACE_BASE, 2 * RACE_CHUNK * PG, RW,
                                      ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                         (int64_t)RACE_BASE);
        race_fill(m->other, RACE_BASE, 2 * RACE_CHUNK, true, 0);
        assert_int_equal(gmm_sys_munmap(m->other, RACE_BASE, 2 * RACE_CHUNK * PG), 0);
        assert_int_equal(gmm_sys_mmap(sh->s, a, RACE_CHUNK * PG, RW, ANON_PRIV | GMM_MAP_FIXED,
                                      -1, 0),
                         (int64_t)a);
        race_fill(sh->s, a, RACE_CHUNK, false, first);
        __atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void read_from_two_threads_while_a_third_recycles_the_frames(void **state)
{
    (void)state;
    struct shared sh = {0};
    sh.sys = gmm_system_create(NULL);
    assert_non_null(sh.sys);
    sh.s = new_space(sh.sys, GMM_ABI_X86_64);
    struct race_mapper m = {&sh, new_space(sh.sys, GMM_ABI_X86_64)};
    assert_int_equal(gmm_sys_mmap(sh.s, RACE_BASE, RACE_PAGES * PG, RW, ANON_PRIV | GMM_MAP_FIXED,
                                  -1, 0),
                     (int64_t)RACE_BASE);
    race_fill(sh.s, RACE_BASE, RACE_PAGES, false, 0);
    sh.deadline_ns = now_ns() + 500000000u;
    pthread_t t[RACE_READERS + 1];
    struct race_reader w[RACE_READERS];
    for (int i = 0; i < RACE_READERS; i++) {
        w[i] = (struct race_reader){&sh, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 3), 0, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race_reader, &w[i]), 0);
    }
    assert_int_equal(pthread_create(&t[RACE_READERS], NULL, race_mapper, &m), 0);
    for (int i = 0; i <= RACE_READERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < RACE_READERS; i++) {
        assert_int_equal(w[i].bad, 0);
        assert_true(w[i].reads > 1000);
    }
    assert_true(sh.ops > 10);
    CHECK(sh.s);
    CHECK(m.other);
    gmm_space_destroy(m.other);
    gmm_space_destroy(sh.s);
    gmm_system_destroy(sh.sys);
}

/* Snapshot restores while another thread uses a CPU object.  The CPU
 * thread loads from private pages written before the snapshot (a restore
 * puts back exactly what they hold) and stores into MAP_SHARED memory
 * (never restored: its frames belong to the object, so a store that lands
 * after a restore is still seen); the main thread dirties other memory,
 * maps and unmaps, and restores. */
#define SNAP_RO 0x50000000ull
#define SNAP_SHM 0x50100000ull
#define SNAP_DIRTY 0x50200000ull
#define SNAP_PAGES 8

struct snap_cpu_arg {
    gmm_space *s;
    volatile int stop; /* atomic */
    long iters, bad;
    uint8_t last[SNAP_PAGES]; /* the last value stored in each shared page */
};

static void *snap_cpu_thread(void *p)
{
    struct snap_cpu_arg *a = p;
    gmm_cpu *cpu = gmm_cpu_create(a->s);
    if (!cpu) {
        a->bad++;
        return NULL;
    }
    uint64_t seed = 0xD1B54A32D192ED03ull;
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        uint64_t r = next_rand(&seed);
        uint64_t pg = r % SNAP_PAGES;
        const uint8_t *q = gmm_cpu_translate(cpu, SNAP_RO + pg * PG + (r >> 8) % PG,
                                             GMM_ACCESS_READ);
        if (!q || *q != (uint8_t)(0x40 + pg))
            a->bad++;
        uint8_t *o = gmm_cpu_translate(cpu, SNAP_SHM + pg * PG, GMM_ACCESS_WRITE);
        if (!o || *o != a->last[pg]) {
            a->bad++;
        } else {
            *o = a->last[pg] = (uint8_t)(r >> 32);
        }
        if (++a->iters % 16 == 0)
            gmm_cpu_quiesce(cpu);
    }
    gmm_cpu_destroy(cpu);
    return NULL;
}

static void snapshot_restores_while_another_thread_uses_a_cpu(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    uint8_t page[PG];
    assert_int_equal(gmm_sys_mmap(s, SNAP_RO, SNAP_PAGES * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1,
                                  0),
                     (int64_t)SNAP_RO);
    assert_int_equal(gmm_sys_mmap(s, SNAP_SHM, SNAP_PAGES * PG, RW,
                                  GMM_MAP_SHARED | GMM_MAP_ANONYMOUS | GMM_MAP_FIXED, -1, 0),
                     (int64_t)SNAP_SHM);
    assert_int_equal(gmm_sys_mmap(s, SNAP_DIRTY, SNAP_PAGES * PG, RW, ANON_PRIV | GMM_MAP_FIXED,
                                  -1, 0),
                     (int64_t)SNAP_DIRTY);
    for (uint64_t i = 0; i < SNAP_PAGES; i++) {
        memset(page, (int)(0x40 + i), sizeof(page));
        assert_int_equal(gmm_write(s, SNAP_RO + i * PG, page, PG), 0);
        memset(page, 0, sizeof(page));
        assert_int_equal(gmm_write(s, SNAP_SHM + i * PG, page, PG), 0);
        memset(page, (int)(0x80 + i), sizeof(page));
        assert_int_equal(gmm_write(s, SNAP_DIRTY + i * PG, page, PG), 0);
    }
    gmm_snapshot *snap = gmm_snapshot_take(s);
    assert_non_null(snap);
    struct snap_cpu_arg a;
    memset(&a, 0, sizeof(a));
    a.s = s;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, snap_cpu_thread, &a), 0);
    uint64_t seed = 0x8CB92BA72F3D8DD7ull, deadline = now_ns() + 500000000u;
    long restores = 0;
    while (now_ns() < deadline || restores < 100) {
        uint64_t r = next_rand(&seed);
        uint8_t v = (uint8_t)r;
        assert_int_equal(gmm_write(s, SNAP_DIRTY + (r >> 8) % (SNAP_PAGES * PG), &v, 1), 0);
        int64_t m = gmm_sys_mmap(s, 0, 4 * PG, RW, ANON_PRIV, -1, 0);
        assert_true(m > 0);
        assert_int_equal(gmm_write(s, (gmm_addr)m, &v, 1), 0);
        assert_int_equal(gmm_sys_munmap(s, SNAP_DIRTY + ((r >> 16) % SNAP_PAGES) * PG, PG), 0);
        assert_int_equal(gmm_snapshot_restore(s, snap), 0);
        restores++;
        uint8_t got;
        gmm_addr at = SNAP_DIRTY + ((r >> 24) % SNAP_PAGES) * PG + (r >> 32) % PG;
        assert_int_equal(gmm_read(s, at, &got, 1), 0);
        assert_int_equal(got, 0x80 + (at - SNAP_DIRTY) / PG);
    }
    __atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    print_message("[ threads ] snapshot: %ld restores, %ld CPU loads + stores\n", restores,
                  a.iters);
    assert_int_equal(a.bad, 0);
    assert_true(a.iters > 100);
    for (uint64_t i = 0; i < SNAP_PAGES; i++) {
        uint8_t got;
        assert_int_equal(gmm_read(s, SNAP_SHM + i * PG, &got, 1), 0);
        assert_int_equal(got, a.last[i]);
    }
    assert_int_equal(gmm_snapshot_restore(s, snap), 0);
    CHECK(s);
    gmm_snapshot_discard(snap);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* ---- fork relatives used from their own threads ---- */

/* Fork shares page-table leaves: parent and child, each stored to and read
 * from by a thread of its own, while a third thread forks either one and
 * stores into and unmaps parts of the grandchildren, keep every page as
 * their own thread left it.  (Every change of a leaf another space shares
 * copies it first, under the system's mm lock.) */
#define REL_BASE 0x60000000ull
#define REL_PAGES (3 * 512)

struct relative {
    gmm_space *s;
    uint64_t seed, deadline_ns;
    uint8_t shadow[REL_PAGES]; /* the first byte of each page */
    long bad, ops;
};

static void *relative_worker(void *p)
{
    struct relative *w = p;
    while (now_ns() < w->deadline_ns) {
        uint64_t r = next_rand(&w->seed);
        uint64_t pg = r % REL_PAGES;
        gmm_addr a = REL_BASE + pg * PG;
        if ((r >> 20) % 2) {
            uint8_t v = (uint8_t)(r >> 32);
            if (gmm_write(w->s, a, &v, 1))
                w->bad++;
            else
                w->shadow[pg] = v;
        } else {
            const uint8_t *q = gmm_translate(w->s, a, GMM_ACCESS_READ);
            if (!q || *q != w->shadow[pg])
                w->bad++;
        }
        w->ops++;
    }
    return NULL;
}

struct forker {
    gmm_space *from[2];
    uint64_t deadline_ns;
    long forks, bad;
};

static void *forker_worker(void *p)
{
    struct forker *f = p;
    uint64_t seed = 0xD1B54A32D192ED03ull;
    while (now_ns() < f->deadline_ns) {
        uint64_t r = next_rand(&seed);
        gmm_space *g = gmm_space_fork(f->from[r % 2]);
        if (!g) {
            f->bad++;
            continue;
        }
        for (int i = 0; i < 8; i++) {
            r = next_rand(&seed);
            gmm_addr a = REL_BASE + (r % REL_PAGES) * PG;
            uint8_t v = (uint8_t)r;
            if (gmm_write(g, a, &v, 1))
                f->bad++;
        }
        if (gmm_sys_munmap(g, REL_BASE + (r >> 24) % REL_PAGES * PG, 64 * PG))
            f->bad++;
        /* (-GMM_ENOMEM: the range met the hole just made, or the end.) */
        int64_t ret =
            gmm_sys_madvise(g, REL_BASE + (r >> 40) % REL_PAGES * PG, 16 * PG, GMM_MADV_DONTNEED);
        if (ret && ret != -GMM_ENOMEM)
            f->bad++;
        gmm_space_destroy(g);
        f->forks++;
    }
    return NULL;
}

static void fork_relatives_store_from_their_own_threads_while_a_third_forks_them(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create(NULL);
    assert_non_null(sys);
    static struct relative rel[2];
    memset(rel, 0, sizeof(rel));
    rel[0].s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(rel[0].s, REL_BASE, REL_PAGES * PG, RW,
                                  ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                     (int64_t)REL_BASE);
    for (uint64_t i = 0; i < REL_PAGES; i++) {
        uint8_t v = (uint8_t)(i * 7 + 1);
        assert_int_equal(gmm_write(rel[0].s, REL_BASE + i * PG, &v, 1), 0);
        rel[0].shadow[i] = rel[1].shadow[i] = v;
    }
    rel[1].s = gmm_space_fork(rel[0].s);
    assert_non_null(rel[1].s);
    uint64_t deadline = now_ns() + 500000000u;
    struct forker f = {{rel[0].s, rel[1].s}, deadline, 0, 0};
    pthread_t t[3];
    for (int i = 0; i < 2; i++) {
        rel[i].seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 3);
        rel[i].deadline_ns = deadline;
        assert_int_equal(pthread_create(&t[i], NULL, relative_worker, &rel[i]), 0);
    }
    assert_int_equal(pthread_create(&t[2], NULL, forker_worker, &f), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(f.bad, 0);
    assert_true(f.forks > 10);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rel[i].bad, 0);
        assert_true(rel[i].ops > 1000);
        for (uint64_t pg = 0; pg < REL_PAGES; pg++) {
            uint8_t v;
            assert_int_equal(gmm_read(rel[i].s, REL_BASE + pg * PG, &v, 1), 0);
            assert_int_equal(v, rel[i].shadow[pg]);
        }
    }
    const char *e = gmm_system_check(sys);
    if (e)
        fail_msg("system check: %s", e);
    gmm_space_destroy(rel[0].s);
    gmm_space_destroy(rel[1].s);
    gmm_system_destroy(sys);
}

int main(void)
{
#if defined(__linux__) && defined(__x86_64__)
    /* The ready-made handler, installed once; the window test puts it back. */
    assert_int_equal(gmm_window_install_handler(), 0);
    sigaction(SIGSEGV, NULL, &window_segv);
    sigaction(SIGBUS, NULL, &window_bus);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_map_unmap_protect_fork_and_access_one_space),
        cmocka_unit_test(unmapped_frame_is_not_reused_before_the_cpu_quiesces),
        cmocka_unit_test(cpu_tlbs_see_unmap_and_mprotect_by_others),
        cmocka_unit_test(offline_cpu_lets_frames_be_reused_under_the_cap),
        cmocka_unit_test(translate_from_two_threads_while_a_third_maps_and_unmaps),
        cmocka_unit_test(translate_tlb_of_a_destroyed_space_is_not_used_for_one_at_its_address),
        cmocka_unit_test(translate_one_thread_many_spaces),
        cmocka_unit_test(read_from_two_threads_while_a_third_recycles_the_frames),
        cmocka_unit_test(snapshot_restores_while_another_thread_uses_a_cpu),
        cmocka_unit_test(fork_relatives_store_from_their_own_threads_while_a_third_forks_them),
#if defined(__linux__) && defined(__x86_64__)
        cmocka_unit_test(window_loads_and_stores_from_two_threads_while_a_third_changes_the_space),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
