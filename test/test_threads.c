/*
 * test_threads.c - the thread model: several threads mapping, unmapping,
 * protecting, forking and accessing one space through their own CPU
 * objects; pointers that stay valid memory until the CPU quiesces; TLBs
 * that see other threads' changes; a host window that two threads load
 * and store through while a third changes the space.  Run under
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

static void count_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)space, (void)f;
    __atomic_add_fetch(&((struct shared *)user)->faults, 1, __ATOMIC_RELAXED);
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
 * to and from the lower half only. */
struct worker_arg {
    struct shared *sh;
    uint64_t seed;
    int cpu; /* -1: a syscall thread; else which CPU slice */
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    struct shared *sh = w->sh;
    uint64_t seed = w->seed;
    gmm_cpu *cpu = w->cpu >= 0 ? gmm_cpu_create(sh->s) : NULL;
    const uint64_t half = WINDOW_PAGES / 2, slice = half / 2;
    while (now_ns() < sh->deadline_ns) {
        uint64_t r = next_rand(&seed);
        if (cpu) {
            /* The CPU path: store through the pointer, load it back. */
            gmm_addr a = WINDOW + (half + (uint64_t)w->cpu * slice + r % slice) * PG;
            uint8_t *q = gmm_cpu_translate(cpu, a + (r >> 20) % PG, GMM_ACCESS_WRITE);
            if (q) {
                *q = (uint8_t)r;
                (void)*(volatile uint8_t *)q;
            }
            gmm_cpu_quiesce(cpu);
            __atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
            continue;
        }
        gmm_addr a = WINDOW + (r % WINDOW_PAGES) * PG;
        gmm_addr low = WINDOW + (r % half) * PG;
        uint64_t len = (1 + (r >> 8) % 4) * PG;
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
            gmm_sys_mmap(sh->s, a, len, RW, ANON_SHARED | GMM_MAP_FIXED, -1, 0);
            break;
        case 4: {
            uint8_t b = (uint8_t)r;
            gmm_write(sh->s, low + (r >> 32) % PG, &b, 1);
            gmm_read(sh->s, low, &b, 1);
            break;
        }
        default:
            if ((r >> 40) % 8 == 0) {
                gmm_space *child = gmm_space_fork(sh->s);
                if (child) {
                    uint8_t b = 1;
                    gmm_write(child, low, &b, 1);
                    gmm_space_destroy(child);
                }
            }
            break;
        }
        __atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
    }
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
    struct worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct worker_arg){&sh, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1),
                                      i < 2 ? i : -1};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(sh.s);
    assert_true(sh.ops > 1000);
    printf("[ threads ] %ld operations by %d threads (2 CPU threads), %ld faults reported\n",
           sh.ops, THREADS, sh.faults);
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
#if defined(__linux__) && defined(__x86_64__)
        cmocka_unit_test(window_loads_and_stores_from_two_threads_while_a_third_changes_the_space),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
