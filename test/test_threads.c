/*
 * test_threads.c - the thread model: several threads mapping, unmapping,
 * protecting, forking and accessing one space through their own CPU
 * objects; pointers that stay valid memory until the CPU quiesces; TLBs
 * that see other threads' changes; gmm_translate from several threads,
 * each through TLBs of its own.  Run under ThreadSanitizer by .ci/run
 * (-DGMM_TSAN=ON) and under ASan+UBSan with the rest.
 */
#include "testutil.h"

#include <pthread.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_map_unmap_protect_fork_and_access_one_space),
        cmocka_unit_test(unmapped_frame_is_not_reused_before_the_cpu_quiesces),
        cmocka_unit_test(cpu_tlbs_see_unmap_and_mprotect_by_others),
        cmocka_unit_test(offline_cpu_lets_frames_be_reused_under_the_cap),
        cmocka_unit_test(translate_from_two_threads_while_a_third_maps_and_unmaps),
        cmocka_unit_test(translate_tlb_of_a_destroyed_space_is_not_used_for_one_at_its_address),
        cmocka_unit_test(translate_one_thread_many_spaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
