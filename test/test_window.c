/*
 * test_window.c - host windows (issue 11): real loads and stores through
 * gmm_window_base(w) + guest address under a real SIGSEGV handler, and what
 * the guest sees of them, as Linux would show it: demand zero, copy on
 * write after a fork, the guest's SIGSEGV and SIGBUS with their si_code,
 * stack growth, shared file pages across spaces with writeback and clean
 * tracking, truncation, and the syscalls that change translations.  Then
 * the two ABIs, what gmm_window_create refuses, destruction in either
 * order, several windows on a space, and the budget of host mappings.
 * The mirror checker (gmm_window_check, gmm_system_check) runs after every
 * step.
 *
 * A guest fault reaches the system's host->fault from the ready-made
 * handler; the tests' fault callback records it and siglongjmps back to
 * the access that faulted (probe()).
 */
#include "memfile.h"
#include "mmhelp.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>

#if defined(__linux__) && defined(__x86_64__)

/* The window of the x86-64 tests: guest [LO, HI). */
#define LO 0x10000000ull
#define HI 0x40000000ull
#define A 0x20000000ull
#define B 0x30000000ull

#if defined(__SANITIZE_ADDRESS__)
#define GMM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GMM_TEST_ASAN 1
#endif
#endif

/* ---- real accesses that may fault ---- */

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_armed;
static gmm_fault probe_fault;    /* the guest fault of the last probe that faulted */
static gmm_space *probe_space;   /* and its space */
static int probe_faults;         /* host->fault calls */

static void on_guest_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)user;
    probe_faults++;
    probe_fault = *f;
    probe_space = space;
    if (probe_armed) {
        probe_armed = 0;
        siglongjmp(probe_jmp, 1);
    }
}

/* cmocka puts its own SIGSEGV and SIGBUS handlers around every test (and
 * restores them with signal(), without SA_SIGINFO), and the ready-made
 * handler installs once per process: main installs it and keeps its
 * sigaction, and each test puts it back. */
static struct sigaction window_segv, window_bus;

static void arm_window_handler(void)
{
    assert_int_equal(sigaction(SIGSEGV, &window_segv, NULL), 0);
    assert_int_equal(sigaction(SIGBUS, &window_bus, NULL), 0);
}

/* A load (write 0) or store (write 1, value v) of one byte at guest a
 * through w: 0 when it completed (*out holds the byte loaded), 1 when the
 * guest got a signal (probe_fault). */
static int probe(gmm_window *w, gmm_addr a, int write, uint8_t v, uint8_t *out)
{
    volatile uint8_t *p = gmm_window_base(w) + a;
    int before = probe_faults;
    if (sigsetjmp(probe_jmp, 1)) {
        assert_int_equal(probe_faults, before + 1);
        return 1;
    }
    probe_armed = 1;
    if (write)
        *p = v;
    else
        *out = *p;
    probe_armed = 0;
    assert_int_equal(probe_faults, before);
    return 0;
}

static uint8_t load(gmm_window *w, gmm_addr a)
{
    uint8_t v = 0xEE;
    if (probe(w, a, 0, 0, &v))
        fail_msg("load at %#llx: guest signal %d code %d", (unsigned long long)a,
                 probe_fault.signo, probe_fault.code);
    return v;
}

static void store(gmm_window *w, gmm_addr a, uint8_t v)
{
    if (probe(w, a, 1, v, NULL))
        fail_msg("store at %#llx: guest signal %d code %d", (unsigned long long)a,
                 probe_fault.signo, probe_fault.code);
}

/* The access faults with exactly this guest signal. */
static void expect_fault(gmm_window *w, gmm_addr a, int write, int signo, int code)
{
    uint8_t v;
    assert_int_equal(probe(w, a, write, 0x77, &v), 1);
    assert_ptr_equal(probe_space, gmm_window_space(w));
    assert_int_equal(probe_fault.signo, signo);
    assert_int_equal(probe_fault.code, code);
    assert_int_equal(probe_fault.addr, a);
    assert_int_equal(probe_fault.access, write ? GMM_ACCESS_WRITE : GMM_ACCESS_READ);
}

/* The mirror checker on one window, then the whole system's check (which
 * checks every window of every space again). */
#define WCHECK(sys, w)                                                                 \
    do {                                                                               \
        const char *wcheck_err_ = gmm_window_check(w);                                 \
        if (wcheck_err_)                                                               \
            fail_msg("window check: %s", wcheck_err_);                                 \
        wcheck_err_ = gmm_system_check(sys);                                           \
        if (wcheck_err_)                                                               \
            fail_msg("system check: %s", wcheck_err_);                                 \
    } while (0)

static uint8_t read_byte(gmm_space *s, gmm_addr a)
{
    uint8_t v = 0xEE;
    assert_int_equal(gmm_read(s, a, &v, 1), 0);
    return v;
}

/* ---- environments ---- */

static gmm_system *window_system(void)
{
    gmm_host host = {.fault = on_guest_fault};
    gmm_system *sys = gmm_system_create_mappable(&host);
    assert_non_null(sys);
    arm_window_handler();
    return sys;
}

/* A mappable system whose fd 3 (read-write) and 4 (read-only) open e's
 * memfile, size bytes of 'a' + page number. */
static gmm_system *file_system(struct memfile_env *e, uint64_t size)
{
    memset(e, 0, sizeof(*e));
    e->rw = e->ro = &e->file;
    e->file.size = size;
    for (uint64_t i = 0; i < size; i++)
        e->file.data[i] = (uint8_t)('a' + i / PG);
    gmm_host host = {.user = e, .get_file = memfile_get, .fault = on_guest_fault};
    gmm_system *sys = gmm_system_create_mappable(&host);
    assert_non_null(sys);
    arm_window_handler();
    return sys;
}

static gmm_window *new_window(gmm_space *s, gmm_addr lo, gmm_addr hi)
{
    gmm_window *w = gmm_window_create(s, lo, hi);
    assert_non_null(w);
    assert_ptr_equal(gmm_window_space(w), s);
    return w;
}

static void map_fixed(gmm_space *s, gmm_addr a, uint64_t len, int prot, int flags, int fd)
{
    assert_int_equal(gmm_sys_mmap(s, a, len, prot, flags | GMM_MAP_FIXED, fd, 0), (int64_t)a);
}

/* ---- loads and stores ---- */

static void untouched_anonymous_memory_reads_zero_and_stores_land(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 4 * PG, RW, ANON_PRIV, -1);
    WCHECK(sys, w);
    assert_int_equal(load(w, A), 0);
    assert_int_equal(load(w, A + PG + 5), 0);
    assert_int_equal(load(w, A + 4 * PG - 1), 0);
    WCHECK(sys, w);
    store(w, A + 10, 0x5A);
    store(w, A + 3 * PG + 4095, 0xA5);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 10), 0x5A);
    assert_int_equal(load(w, A + 3 * PG + 4095), 0xA5);
    assert_int_equal(read_byte(s, A + 10), 0x5A);
    assert_int_equal(read_byte(s, A + 3 * PG + 4095), 0xA5);
    assert_int_equal(read_byte(s, A + 11), 0);
    /* A user copy into a zero page the window maps read-only: the window
     * sees the new frame. */
    assert_int_equal(gmm_write(s, A + PG + 5, "w", 1), 0);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + PG + 5), 'w');
    gmm_window_stats st;
    gmm_window_get_stats(w, &st);
    assert_true(st.faults > 0);
    assert_int_equal(st.flushes, 0);
    assert_int_equal(st.budget, 8192);
    assert_int_equal(st.host_mappings, gmm_window_host_mappings(w));
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* A handler of the test's own: gmm_window_fault's three answers. */
static gmm_window *own_w;
static sigjmp_buf own_jmp;
static int own_ret[8], own_access[8], own_calls;
static int own_cap = 1000; /* calls after which the handler gives up */
static gmm_fault own_fault;

static void own_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    gmm_fault f;
    int access = gmm_window_access_from_ucontext(uc);
    int r = gmm_window_fault(own_w, (uintptr_t)si->si_addr, access, &f);
    if (own_calls < 8) {
        own_ret[own_calls] = r;
        own_access[own_calls] = access;
    }
    own_calls++;
    if (r == 0 && own_calls >= own_cap)
        siglongjmp(own_jmp, 2); /* resolved again and again: it never completes */
    if (r == 0)
        return; /* resolved: the access is retried */
    own_fault = f;
    siglongjmp(own_jmp, 1);
}

/* 0: completed, 1: the guest's signal or not the window's, 2: the
 * handler gave up after own_cap calls. */
static int own_access_byte(volatile uint8_t *p, int write)
{
    int r = sigsetjmp(own_jmp, 1);
    if (r)
        return r;
    if (write)
        *p = 0x42;
    else
        (void)*p;
    return 0;
}

static void own_handler_gets_0_1_and_efault_from_gmm_window_fault(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, PG, RW, ANON_PRIV, -1);
    map_fixed(s, A + PG, PG, GMM_PROT_READ, ANON_PRIV, -1);
    /* Host memory outside every window. */
    uint8_t *outside = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(outside != MAP_FAILED);
    assert_null(gmm_window_find((uintptr_t)outside));

    struct sigaction sa, old_segv;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    own_w = w;
    own_calls = 0;
    assert_int_equal(sigaction(SIGSEGV, &sa, &old_segv), 0);
    uint8_t *base = gmm_window_base(w);
    int load_a = own_access_byte(base + A, 0);
    int store_a = own_access_byte(base + A, 1);
    int store_ro = own_access_byte(base + A + PG + 3, 1);
    gmm_fault ro_fault = own_fault;
    int outside_load = own_access_byte(outside, 0);
    assert_int_equal(sigaction(SIGSEGV, &old_segv, NULL), 0);

    /* The load: demand zero, resolved; the store: the zero page read-only
     * in the window, resolved by a fresh frame; the store to read-only
     * memory: the guest's signal; the host page: not the window's. */
    assert_int_equal(load_a, 0);
    assert_int_equal(store_a, 0);
    assert_int_equal(store_ro, 1);
    assert_int_equal(outside_load, 1);
    assert_int_equal(own_calls, 4);
    assert_int_equal(own_ret[0], 0);
    assert_int_equal(own_access[0], GMM_ACCESS_READ);
    assert_int_equal(own_ret[1], 0);
    assert_int_equal(own_access[1], GMM_ACCESS_WRITE);
    assert_int_equal(own_ret[2], 1);
    assert_int_equal(own_access[2], GMM_ACCESS_WRITE);
    assert_int_equal(own_ret[3], -GMM_EFAULT);
    assert_int_equal(own_access[3], GMM_ACCESS_READ);
    assert_int_equal(ro_fault.signo, GMM_SIGSEGV);
    assert_int_equal(ro_fault.code, GMM_SEGV_ACCERR);
    assert_int_equal(ro_fault.addr, A + PG + 3);
    assert_int_equal(ro_fault.access, GMM_ACCESS_WRITE);
    assert_int_equal(read_byte(s, A), 0x42);
    assert_int_equal(read_byte(s, A + PG + 3), 0);
    WCHECK(sys, w);

    /* Called directly: an instruction fetch is refused (the host never
     * executes guest memory), an address outside the window is not its. */
    gmm_fault f;
    assert_int_equal(gmm_window_fault(w, (uintptr_t)(base + A), GMM_ACCESS_EXEC, &f), 1);
    assert_int_equal(f.signo, GMM_SIGSEGV);
    assert_int_equal(f.code, GMM_SEGV_ACCERR);
    assert_int_equal(f.addr, A);
    assert_int_equal(gmm_window_fault(w, (uintptr_t)(base + HI), GMM_ACCESS_READ, &f), -GMM_EFAULT);
    assert_int_equal(gmm_window_fault(w, (uintptr_t)outside, GMM_ACCESS_READ, &f), -GMM_EFAULT);
    WCHECK(sys, w);
    munmap(outside, PG);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* With the smallest budget (16 host mappings) and fault-around 16, a
 * block whose 16 frames lie at scattered memory-file offsets needs more
 * mappings than the budget: the fault must still leave the faulting page
 * mapped, or the access faults for ever. */
static void fault_around_over_the_budget_still_maps_the_faulting_page(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    gmm_window_set_budget(w, 16);
    map_fixed(s, A, 16 * PG, RW, ANON_PRIV, -1);
    /* Frames taken in reverse page order: no two neighbours follow. */
    for (int i = 15; i >= 0; i--)
        assert_int_equal(gmm_write(s, A + (uint64_t)i * PG, &(uint8_t){(uint8_t)('A' + i)}, 1), 0);
    CHECK(s);
    struct sigaction sa, old_segv;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    own_w = w;
    own_calls = 0;
    assert_int_equal(sigaction(SIGSEGV, &sa, &old_segv), 0);
    int first = own_access_byte(gmm_window_base(w) + A, 0);
    int first_calls = own_calls;
    own_calls = 0;
    int last = own_access_byte(gmm_window_base(w) + A + 15 * PG, 1);
    int last_calls = own_calls;
    assert_int_equal(sigaction(SIGSEGV, &old_segv, NULL), 0);
    assert_int_equal(first, 0);
    assert_int_equal(first_calls, 1);
    assert_int_equal(last, 0);
    assert_true(last_calls <= 1);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 7 * PG), 'H');
    gmm_window_stats st;
    gmm_window_get_stats(w, &st);
    assert_true(st.host_mappings <= 16);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void fork_child_and_parent_windows_do_not_see_each_others_stores(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *wp = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, RW, ANON_PRIV, -1);
    store(wp, A, 'p');
    store(wp, A + PG, 'q');
    gmm_space *c = gmm_space_fork(s);
    assert_non_null(c);
    gmm_window *wc = new_window(c, LO, HI);
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    assert_int_equal(load(wc, A), 'p');
    assert_int_equal(load(wc, A + PG), 'q');
    WCHECK(sys, wc);
    /* The parent's store breaks copy on write for the parent only. */
    store(wp, A, 'P');
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    assert_int_equal(load(wc, A), 'p');
    assert_int_equal(read_byte(c, A), 'p');
    assert_int_equal(load(wp, A), 'P');
    /* The child's store, for the child only. */
    store(wc, A + PG, 'C');
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    assert_int_equal(load(wp, A + PG), 'q');
    assert_int_equal(read_byte(s, A + PG), 'q');
    assert_int_equal(load(wc, A + PG), 'C');
    /* Now each has its own frame of A: stores go straight in. */
    store(wc, A, 'c');
    assert_int_equal(load(wp, A), 'P');
    assert_int_equal(read_byte(s, A), 'P');
    assert_int_equal(read_byte(c, A), 'c');
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    gmm_window_destroy(wc);
    gmm_space_destroy(c);
    WCHECK(sys, wp);
    gmm_window_destroy(wp);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Fork shares page-table leaves: a window's fault-around in either space,
 * over pages of a leaf both still share, maps them without the store
 * right, so each store faults and copies for its own space only. */
static void fork_shared_leaf_fault_around_grants_no_store_to_either_window(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *wp = new_window(s, LO, HI);
    map_fixed(s, A, 64 * PG, RW, ANON_PRIV, -1);
    for (int i = 0; i < 64; i++)
        store(wp, A + i * PG, (uint8_t)i);
    gmm_space *c = gmm_space_fork(s);
    assert_non_null(c);
    gmm_window *wc = new_window(c, LO, HI);
    /* Loads map blocks of pages in both windows. */
    assert_int_equal(load(wc, A + 10 * PG), 10);
    assert_int_equal(load(wp, A + 10 * PG), 10);
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    for (int i = 8; i < 16; i++) {
        store(wc, A + i * PG, (uint8_t)(0xC0 + i));
        WCHECK(sys, wc);
        assert_int_equal(load(wp, A + i * PG), i);
    }
    for (int i = 12; i < 20; i++) {
        store(wp, A + i * PG, (uint8_t)(0xA0 + i));
        WCHECK(sys, wp);
    }
    for (int i = 0; i < 64; i++) {
        uint8_t in_c = i >= 8 && i < 16 ? (uint8_t)(0xC0 + i) : (uint8_t)i;
        uint8_t in_p = i >= 12 && i < 20 ? (uint8_t)(0xA0 + i) : (uint8_t)i;
        assert_int_equal(load(wc, A + i * PG), in_c);
        assert_int_equal(load(wp, A + i * PG), in_p);
        assert_int_equal(read_byte(c, A + i * PG), in_c);
        assert_int_equal(read_byte(s, A + i * PG), in_p);
    }
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    gmm_window_destroy(wp);
    gmm_space_destroy(s);
    WCHECK(sys, wc);
    store(wc, A + 30 * PG, 0xCC);
    assert_int_equal(load(wc, A + 30 * PG), 0xCC);
    gmm_window_destroy(wc);
    gmm_space_destroy(c);
    gmm_system_destroy(sys);
}

static void store_to_read_only_memory_gets_segv_accerr_and_changes_nothing(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, PG, GMM_PROT_READ, ANON_PRIV, -1);
    /* Untouched, and after a load mapped the zero page. */
    expect_fault(w, A + 7, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 7), 0);
    expect_fault(w, A + 7, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    WCHECK(sys, w);
    /* A page with data, made read-only after the store. */
    map_fixed(s, B, PG, RW, ANON_PRIV, -1);
    store(w, B + 1, 'd');
    assert_int_equal(gmm_sys_mprotect(s, B, PG, GMM_PROT_READ), 0);
    WCHECK(sys, w);
    expect_fault(w, B + 1, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_int_equal(load(w, B + 1), 'd');
    assert_int_equal(read_byte(s, A + 7), 0);
    assert_int_equal(read_byte(s, B + 1), 'd');
    ASSERT_MAPS(s, LINES(anon_line(A, A + PG, "r--p"), anon_line(B, B + PG, "r--p")));
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void unmapped_guest_address_gets_segv_maperr(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    expect_fault(w, A + 123, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    expect_fault(w, A + 123, 1, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    /* Just past a mapping. */
    map_fixed(s, A, PG, RW, ANON_PRIV, -1);
    store(w, A + PG - 1, 1);
    expect_fault(w, A + PG, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void prot_none_memory_gets_segv_accerr_until_mprotect(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, GMM_PROT_NONE, ANON_PRIV, -1);
    expect_fault(w, A, 0, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    expect_fault(w, A + PG + 9, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    WCHECK(sys, w);
    assert_int_equal(gmm_sys_mprotect(s, A, 2 * PG, RW), 0);
    assert_int_equal(load(w, A), 0);
    store(w, A + PG + 9, 'n');
    WCHECK(sys, w);
    /* And back: data kept, access refused. */
    assert_int_equal(gmm_sys_mprotect(s, A, 2 * PG, GMM_PROT_NONE), 0);
    expect_fault(w, A + PG + 9, 0, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    WCHECK(sys, w);
    assert_int_equal(gmm_sys_mprotect(s, A, 2 * PG, GMM_PROT_READ), 0);
    assert_int_equal(load(w, A + PG + 9), 'n');
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void pages_beyond_end_of_file_get_sigbus_adrerr(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = file_system(&e, PG + PG / 2);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 3 * PG, RW, GMM_MAP_SHARED, MEMFILE_FD_RW);
    map_fixed(s, B, 3 * PG, RW, GMM_MAP_PRIVATE, MEMFILE_FD_RW);
    for (gmm_addr m = A; m <= B; m += B - A) {
        assert_int_equal(load(w, m), 'a');
        assert_int_equal(load(w, m + PG + PG / 2 - 1), 'b');
        /* The rest of the last page reads zero. */
        assert_int_equal(load(w, m + PG + PG / 2), 0);
        expect_fault(w, m + 2 * PG, 0, GMM_SIGBUS, GMM_BUS_ADRERR);
        expect_fault(w, m + 3 * PG - 1, 1, GMM_SIGBUS, GMM_BUS_ADRERR);
        WCHECK(sys, w);
    }
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void store_just_below_a_growsdown_region_grows_it(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, B, 4 * PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN, -1);
    ASSERT_MAPS(s, anon_line(B, B + 4 * PG, "rw-p"));
    store(w, B - 1, 'g');
    WCHECK(sys, w);
    ASSERT_MAPS(s, anon_line(B - PG, B + 4 * PG, "rw-p"));
    assert_int_equal(read_byte(s, B - 1), 'g');
    assert_int_equal(load(w, B - 1), 'g');
    /* A load a few pages further down grows it again. */
    assert_int_equal(load(w, B - 3 * PG), 0);
    ASSERT_MAPS(s, anon_line(B - 3 * PG, B + 4 * PG, "rw-p"));
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* ---- shared file pages ---- */

static void shared_file_page_is_one_page_through_windows_of_two_spaces(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = file_system(&e, 2 * PG);
    gmm_space *s1 = new_space(sys, GMM_ABI_X86_64);
    gmm_space *s2 = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w1 = new_window(s1, LO, HI);
    gmm_window *w2 = new_window(s2, LO, HI);
    map_fixed(s1, A, 2 * PG, RW, GMM_MAP_SHARED, MEMFILE_FD_RW);
    map_fixed(s2, B, 2 * PG, RW, GMM_MAP_SHARED, MEMFILE_FD_RW);
    assert_int_equal(load(w1, A + 5), 'a');
    assert_int_equal(load(w2, B + 5), 'a');
    WCHECK(sys, w1);
    WCHECK(sys, w2);
    store(w1, A + 5, 'X');
    WCHECK(sys, w1);
    WCHECK(sys, w2);
    assert_int_equal(load(w2, B + 5), 'X');
    assert_int_equal(read_byte(s2, B + 5), 'X');
    assert_int_equal(read_byte(s1, A + 5), 'X');
    assert_int_equal(e.file.data[5], 'a'); /* not written back yet */
    assert_int_equal(e.file.writes, 0);

    /* msync writes the dirty page back, and only it. */
    assert_int_equal(gmm_sys_msync(s1, A, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.data[5], 'X');
    assert_int_equal(e.file.writes, 1);
    WCHECK(sys, w1);
    WCHECK(sys, w2);
    /* The page is clean again: the next store through either window
     * faults once, to record it dirty, and the next msync writes it. */
    gmm_window_stats before, after;
    gmm_window_get_stats(w1, &before);
    store(w1, A + 6, 'Y');
    gmm_window_get_stats(w1, &after);
    assert_int_equal(after.faults, before.faults + 1);
    store(w1, A + 7, 'Z');
    gmm_window_get_stats(w1, &before);
    assert_int_equal(before.faults, after.faults); /* dirty and writable now */
    WCHECK(sys, w1);
    WCHECK(sys, w2);
    assert_int_equal(e.file.data[6], 'a');
    assert_int_equal(gmm_sys_msync(s1, A, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 2);
    assert_int_equal(e.file.data[6], 'Y');
    assert_int_equal(e.file.data[7], 'Z');
    /* Through the other space's window, into the second page. */
    gmm_window_get_stats(w2, &before);
    store(w2, B + 6, 'y');
    store(w2, B + PG + 1, 'q');
    gmm_window_get_stats(w2, &after);
    assert_int_equal(after.faults, before.faults + 2);
    assert_int_equal(load(w1, A + 6), 'y');
    assert_int_equal(load(w1, A + PG + 1), 'q');
    WCHECK(sys, w1);
    WCHECK(sys, w2);
    assert_int_equal(gmm_sys_msync(s2, B, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 4);
    assert_int_equal(e.file.data[6], 'y');
    assert_int_equal(e.file.data[PG + 1], 'q');
    /* Clean: msync has nothing to write. */
    assert_int_equal(gmm_sys_msync(s1, A, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 4);
    WCHECK(sys, w1);
    WCHECK(sys, w2);
    gmm_window_destroy(w1);
    gmm_window_destroy(w2);
    gmm_space_destroy(s1);
    gmm_space_destroy(s2);
    gmm_system_destroy(sys);
}

static void truncated_file_page_faults_with_sigbus_through_the_window(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = file_system(&e, 2 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, RW, GMM_MAP_SHARED, MEMFILE_FD_RW);
    assert_int_equal(load(w, A), 'a');
    store(w, A + PG + 1, 'T');
    assert_int_equal(load(w, A + PG + 1), 'T');
    WCHECK(sys, w);
    /* The emulator's ftruncate to one page. */
    e.file.size = PG;
    gmm_file_resized(sys, 0x801, 77, PG);
    WCHECK(sys, w);
    expect_fault(w, A + PG + 1, 0, GMM_SIGBUS, GMM_BUS_ADRERR);
    expect_fault(w, A + PG, 1, GMM_SIGBUS, GMM_BUS_ADRERR);
    assert_int_equal(load(w, A), 'a');
    store(w, A + 1, 'k');
    WCHECK(sys, w);
    /* Shrinking into the page: its tail reads zero. */
    e.file.size = PG / 2;
    gmm_file_resized(sys, 0x801, 77, PG / 2);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 1), 'k');
    assert_int_equal(load(w, A + PG / 2), 0);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* ---- syscalls that change translations ---- */

static void window_follows_mprotect_munmap_mremap_and_dontneed(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 4 * PG, RW, ANON_PRIV, -1);
    for (int i = 0; i < 4; i++)
        store(w, A + (uint64_t)i * PG + 100, (uint8_t)('a' + i));
    WCHECK(sys, w);

    assert_int_equal(gmm_sys_mprotect(s, A, PG, GMM_PROT_READ), 0);
    WCHECK(sys, w);
    expect_fault(w, A + 100, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_int_equal(load(w, A + 100), 'a');
    assert_int_equal(gmm_sys_mprotect(s, A, PG, RW), 0);
    store(w, A + 100, 'A');
    assert_int_equal(read_byte(s, A + 100), 'A');
    WCHECK(sys, w);

    assert_int_equal(gmm_sys_munmap(s, A + 3 * PG, PG), 0);
    WCHECK(sys, w);
    expect_fault(w, A + 3 * PG + 100, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    expect_fault(w, A + 3 * PG + 100, 1, GMM_SIGSEGV, GMM_SEGV_MAPERR);

    /* A move: the bytes are at the new address, the old one is gone. */
    assert_int_equal(gmm_sys_mremap(s, A + PG, PG, PG, GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED, B),
                     (int64_t)B);
    WCHECK(sys, w);
    assert_int_equal(load(w, B + 100), 'b');
    expect_fault(w, A + PG + 100, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    store(w, B + 100, 'B');
    assert_int_equal(read_byte(s, B + 100), 'B');
    WCHECK(sys, w);

    /* DONTNEED: private anonymous memory reads zero again. */
    assert_int_equal(load(w, A + 2 * PG + 100), 'c');
    assert_int_equal(gmm_sys_madvise(s, A + 2 * PG, PG, GMM_MADV_DONTNEED), 0);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 2 * PG + 100), 0);
    store(w, A + 2 * PG + 100, 'C');
    assert_int_equal(read_byte(s, A + 2 * PG + 100), 'C');
    ASSERT_MAPS(s, LINES(anon_line(A, A + PG, "rw-p"), anon_line(A + 2 * PG, A + 3 * PG, "rw-p"),
                         anon_line(B, B + PG, "rw-p")));
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}


/* ---- more of what the guest sees through a window ---- */

static void shared_anonymous_memory_is_shared_with_the_fork_child_through_both_windows(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *wp = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, RW, ANON_SHARED, -1);
    map_fixed(s, B, PG, RW, ANON_PRIV, -1);
    store(wp, A, 's');
    store(wp, B, 'p');
    gmm_space *c = gmm_space_fork(s);
    assert_non_null(c);
    gmm_window *wc = new_window(c, LO, HI);
    store(wc, A + PG, 'c');
    assert_int_equal(load(wp, A + PG), 'c');
    store(wp, A, 'S');
    assert_int_equal(load(wc, A), 'S');
    /* The private page next to it is copied on write as ever. */
    store(wc, B, 'q');
    assert_int_equal(load(wp, B), 'p');
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    /* MADV_REMOVE: shared memory reads zero in every mapping. */
    assert_int_equal(gmm_sys_madvise(c, A, 2 * PG, GMM_MADV_REMOVE), 0);
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    assert_int_equal(load(wp, A), 0);
    assert_int_equal(load(wp, A + PG), 0);
    assert_int_equal(load(wc, A + PG), 0);
    store(wp, A + PG, 'r');
    assert_int_equal(load(wc, A + PG), 'r');
    WCHECK(sys, wp);
    WCHECK(sys, wc);
    gmm_window_destroy(wc);
    gmm_space_destroy(c);
    gmm_window_destroy(wp);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void store_to_a_private_file_page_copies_it_and_leaves_the_file(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = file_system(&e, 2 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, RW, GMM_MAP_PRIVATE, MEMFILE_FD_RW);
    map_fixed(s, B, 2 * PG, RW, GMM_MAP_SHARED, MEMFILE_FD_RW);
    assert_int_equal(load(w, A + 1), 'a');
    store(w, A + 1, 'P');
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 1), 'P');
    assert_int_equal(load(w, B + 1), 'a');
    assert_int_equal(gmm_sys_msync(s, A, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 0);
    assert_int_equal(e.file.data[1], 'a');
    /* The emulator's write(2) to the file: the shared page and the private
     * page not yet copied see it, the copy does not. */
    e.file.data[2] = 'W';
    e.file.data[PG + 2] = 'W';
    gmm_file_written(sys, 0x801, 77, 2, "W", 1);
    gmm_file_written(sys, 0x801, 77, PG + 2, "W", 1);
    WCHECK(sys, w);
    assert_int_equal(load(w, B + 2), 'W');
    assert_int_equal(load(w, A + 2), 'a');
    assert_int_equal(load(w, A + PG + 2), 'W');
    /* MADV_DONTNEED drops the copy: the file's page again. */
    assert_int_equal(gmm_sys_madvise(s, A, PG, GMM_MADV_DONTNEED), 0);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 1), 'a');
    assert_int_equal(load(w, A + 2), 'W');
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void brk_shrink_and_exec_reset_unmap_window_pages(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    assert_int_equal(gmm_space_init_brk(s, A), 0);
    assert_int_equal(gmm_sys_brk(s, A + 3 * PG), (int64_t)(A + 3 * PG));
    store(w, A, 'h');
    store(w, A + 2 * PG, 'i');
    WCHECK(sys, w);
    assert_int_equal(gmm_sys_brk(s, A + PG), (int64_t)(A + PG));
    WCHECK(sys, w);
    assert_int_equal(load(w, A), 'h');
    expect_fault(w, A + 2 * PG, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    assert_int_equal(gmm_sys_brk(s, A + 3 * PG), (int64_t)(A + 3 * PG));
    assert_int_equal(load(w, A + 2 * PG), 0);
    WCHECK(sys, w);
    assert_int_equal(gmm_space_exec_reset(s), 0);
    WCHECK(sys, w);
    expect_fault(w, A, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    assert_ptr_equal(gmm_window_space(w), s);
    map_fixed(s, A, PG, RW, ANON_PRIV, -1);
    assert_int_equal(load(w, A), 0);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void mmap_fixed_over_a_mapping_shows_the_new_one(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 4 * PG, RW, ANON_PRIV, -1);
    for (int i = 0; i < 4; i++)
        store(w, A + (uint64_t)i * PG, 'o');
    map_fixed(s, A + PG, 2 * PG, GMM_PROT_READ, ANON_PRIV, -1);
    WCHECK(sys, w);
    assert_int_equal(load(w, A), 'o');
    assert_int_equal(load(w, A + PG), 0);
    expect_fault(w, A + 2 * PG, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
    assert_int_equal(load(w, A + 3 * PG), 'o');
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void mremap_grow_and_dontunmap_through_the_window(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, PG, RW, ANON_PRIV, -1);
    store(w, A + 9, 'm');
    /* Grown in place: the new page is demand zero. */
    assert_int_equal(gmm_sys_mremap(s, A, PG, 3 * PG, 0, 0), (int64_t)A);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 9), 'm');
    assert_int_equal(load(w, A + 2 * PG), 0);
    store(w, A + 2 * PG, 'n');
    /* DONTUNMAP: the bytes move, the old range stays mapped and reads
     * zero (private anonymous). */
    assert_int_equal(gmm_sys_mremap(s, A, 3 * PG, 3 * PG,
                                    GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED | GMM_MREMAP_DONTUNMAP, B),
                     (int64_t)B);
    WCHECK(sys, w);
    assert_int_equal(load(w, B + 9), 'm');
    assert_int_equal(load(w, B + 2 * PG), 'n');
    assert_int_equal(load(w, A + 9), 0);
    assert_int_equal(load(w, A + 2 * PG), 0);
    ASSERT_MAPS(s, LINES(anon_line(A, A + 3 * PG, "rw-p"), anon_line(B, B + 3 * PG, "rw-p")));
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void guard_pages_fault_through_the_window_next_to_mapped_ones(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 16 * PG, RW, ANON_PRIV, -1);
    store(w, A + PG, 'x');
    assert_int_equal(gmm_sys_madvise(s, A + PG, PG, GMM_MADV_GUARD_INSTALL), 0);
    WCHECK(sys, w);
    /* Fault-around over the block maps its neighbours, never the guard. */
    assert_int_equal(load(w, A), 0);
    store(w, A + 2 * PG, 'y');
    WCHECK(sys, w);
    expect_fault(w, A + PG, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    expect_fault(w, A + PG + 5, 1, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    assert_int_equal(gmm_sys_madvise(s, A + PG, PG, GMM_MADV_GUARD_REMOVE), 0);
    assert_int_equal(load(w, A + PG), 0);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Fault-around makes the block present as the faulting access would, as
 * Linux's large folios do: a store gives the block fresh frames (rss), a
 * load zero pages (resident for mincore, not in rss). */
static void fault_around_pages_count_in_rss_and_mincore(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 32 * PG, RW, ANON_PRIV, -1);
    map_fixed(s, B, PG, RW, ANON_PRIV, -1);
    char v[40];
    store(w, A + 3 * PG, 1);
    WCHECK(sys, w);
    assert_int_equal(mincore_str(s, A, 32, B, v), 0);
    assert_string_equal(v, "11111111111111110000000000000000");
    assert_int_equal(status_kb(s, "RssAnon"), 16 * 4 + 4);
    assert_int_equal(load(w, A + 20 * PG), 0);
    WCHECK(sys, w);
    assert_int_equal(mincore_str(s, A, 32, B, v), 0);
    assert_string_equal(v, "11111111111111111111111111111111");
    assert_int_equal(status_kb(s, "RssAnon"), 16 * 4 + 4);
    /* Fault-around 1: only the faulting page. */
    gmm_window_set_fault_around(w, 1);
    map_fixed(s, A, 32 * PG, RW, ANON_PRIV, -1);
    store(w, A + 3 * PG, 1);
    assert_int_equal(load(w, A + 20 * PG), 0);
    assert_int_equal(mincore_str(s, A, 32, B, v), 0);
    assert_string_equal(v, "00010000000000000000100000000000");
    assert_int_equal(status_kb(s, "RssAnon"), 4 + 4);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void store_beyond_the_memory_cap_gets_sigbus_oom(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    gmm_window_set_fault_around(w, 1);
    map_fixed(s, A, 4 * PG, RW, ANON_PRIV, -1);
    assert_int_equal(gmm_system_set_frame_limit(sys, 2), 0);
    store(w, A, 1);
    store(w, A + PG, 2);
    expect_fault(w, A + 2 * PG, 1, GMM_SIGBUS, GMM_BUS_OOM);
    /* A load needs no frame. */
    assert_int_equal(load(w, A + 2 * PG), 0);
    expect_fault(w, A + 2 * PG, 1, GMM_SIGBUS, GMM_BUS_OOM);
    WCHECK(sys, w);
    assert_int_equal(gmm_sys_munmap(s, A, PG), 0);
    store(w, A + 2 * PG, 3);
    assert_int_equal(read_byte(s, A + 2 * PG), 3);
    assert_int_equal(read_byte(s, A + PG), 2);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}



static void droppable_pages_paged_out_read_zero_through_the_window(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS, -1);
    store(w, A + 3, 'd');
    store(w, A + PG + 3, 'e');
    assert_int_equal(gmm_sys_madvise(s, A, PG, GMM_MADV_PAGEOUT), 0);
    WCHECK(sys, w);
    assert_int_equal(load(w, A + 3), 0);
    assert_int_equal(load(w, A + PG + 3), 'e');
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void stack_growth_through_the_window_stops_at_rlimit_stack(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_STACK, 16 * PG, 16 * PG), 0);
    map_fixed(s, B, 4 * PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN, -1);
    store(w, B - 12 * PG, 1); /* 16 pages in all: the limit */
    ASSERT_MAPS(s, anon_line(B - 12 * PG, B + 4 * PG, "rw-p"));
    expect_fault(w, B - 12 * PG - 1, 1, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    ASSERT_MAPS(s, anon_line(B - 12 * PG, B + 4 * PG, "rw-p"));
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void truncation_removes_private_copies_of_file_pages_too(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = file_system(&e, 2 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, RW, GMM_MAP_PRIVATE, MEMFILE_FD_RW);
    store(w, A + PG, 'c');
    store(w, A, 'c');
    WCHECK(sys, w);
    e.file.size = PG;
    gmm_file_resized(sys, 0x801, 77, PG);
    WCHECK(sys, w);
    expect_fault(w, A + PG, 0, GMM_SIGBUS, GMM_BUS_ADRERR);
    assert_int_equal(load(w, A), 'c');
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void execute_only_memory_faults_pkuerr_on_a_load_through_the_window(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    assert_int_equal(gmm_space_set_execute_only(s, 1), 0);
    map_fixed(s, A, PG, GMM_PROT_EXEC, ANON_PRIV, -1);
    expect_fault(w, A, 0, GMM_SIGSEGV, GMM_SEGV_PKUERR);
    /* A store too: Linux checks the key's rights before reporting a
     * read-only mapping (bad_area_access_from_pkeys). */
    expect_fault(w, A, 1, GMM_SIGSEGV, GMM_SEGV_PKUERR);
    assert_int_equal(gmm_sys_mprotect(s, A, PG, GMM_PROT_READ | GMM_PROT_EXEC), 0);
    assert_int_equal(load(w, A), 0);
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}


/* Two windows whose reservations touch (the host places one right below
 * the other): the page at the end of one and the page at the start of the
 * other may map the same kind of thing, which the kernel merges into one
 * line of /proc/self/maps.  touching_windows makes them (fault-around off)
 * with a page mapped at both ends of [LO, HI), or skips the test where
 * the host placed them apart. */
struct touching {
    gmm_system *sys;
    gmm_space *s;
    gmm_window *below, *above;
};

static void touching_done(struct touching *t)
{
    gmm_window_destroy(t->below);
    gmm_window_destroy(t->above);
    gmm_space_destroy(t->s);
    gmm_system_destroy(t->sys);
}

static void touching_windows(struct touching *t)
{
    t->sys = window_system();
    t->s = new_space(t->sys, GMM_ABI_X86_64);
    gmm_window *w1 = new_window(t->s, LO, HI);
    gmm_window *w2 = new_window(t->s, LO, HI);
    uintptr_t b1 = (uintptr_t)gmm_window_base(w1), b2 = (uintptr_t)gmm_window_base(w2);
    t->below = b2 < b1 ? w2 : w1;
    t->above = b2 < b1 ? w1 : w2;
    if (b2 + HI != b1 + LO && b1 + HI != b2 + LO) {
        /* skip() leaves the test at once: free what it made first. */
        touching_done(t);
        skip();
    }
    gmm_window_set_fault_around(t->below, 1);
    gmm_window_set_fault_around(t->above, 1);
    map_fixed(t->s, LO, PG, RW, ANON_PRIV, -1);
    map_fixed(t->s, HI - PG, PG, RW, ANON_PRIV, -1);
}

static void touching_reservations_with_zero_pages_at_their_ends(void **state)
{
    (void)state;
    struct touching t;
    touching_windows(&t);
    gmm_window *below = t.below, *above = t.above;
    assert_int_equal(load(above, LO), 0);
    assert_int_equal(load(below, HI - PG), 0);
    WCHECK(t.sys, below);
    WCHECK(t.sys, above);
    touching_done(&t);
}

static void touching_reservations_with_consecutive_frames_at_their_ends(void **state)
{
    (void)state;
    struct touching t;
    touching_windows(&t);
    gmm_space *s = t.s;
    gmm_window *below = t.below, *above = t.above;
    /* Frames in this order: HI - PG gets frame f, LO frame f + 1. */
    assert_int_equal(gmm_write(s, HI - PG, "a", 1), 0);
    assert_int_equal(gmm_write(s, LO, "b", 1), 0);
    assert_int_equal(load(below, HI - PG), 'a');
    assert_int_equal(load(above, LO), 'b');
    WCHECK(t.sys, below);
    WCHECK(t.sys, above);
    touching_done(&t);
}

/* Holes punched in one large host mapping add mappings: past the budget
 * the window starts afresh instead, and stays exact. */
static void holes_punched_past_the_budget_flush_the_window(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    gmm_window_set_budget(w, 16);
    gmm_window_set_fault_around(w, 64);
    map_fixed(s, A, 64 * PG, RW, ANON_PRIV, -1);
    store(w, A, 1); /* 64 fresh frames in a row: one host mapping */
    gmm_window_stats st;
    gmm_window_get_stats(w, &st);
    assert_int_equal(st.pages_mapped, 64);
    assert_int_equal(st.host_mappings, 3);
    assert_int_equal(st.flushes, 0);
    WCHECK(sys, w);
    for (int i = 1; i < 64; i += 2) {
        assert_int_equal(gmm_sys_mprotect(s, A + (uint64_t)i * PG, PG, GMM_PROT_READ), 0);
        gmm_window_get_stats(w, &st);
        assert_true(st.host_mappings <= 16);
        assert_int_equal(gmm_window_host_mappings(w), st.host_mappings);
    }
    assert_true(st.flushes > 0);
    WCHECK(sys, w);
    for (int i = 0; i < 64; i++) {
        if (i % 2)
            expect_fault(w, A + (uint64_t)i * PG, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
        else
            store(w, A + (uint64_t)i * PG + 1, (uint8_t)i);
        gmm_window_get_stats(w, &st);
        assert_true(st.host_mappings <= 16);
    }
    WCHECK(sys, w);
    for (int i = 0; i < 64; i += 2)
        assert_int_equal(read_byte(s, A + (uint64_t)i * PG + 1), i);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void system_destroyed_before_the_window(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, PG, RW, ANON_PRIV, -1);
    store(w, A, 'z');
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
    assert_null(gmm_window_space(w));
    assert_null(gmm_window_check(w));
    assert_int_equal(gmm_window_host_mappings(w), 1);
    gmm_fault f;
    assert_int_equal(gmm_window_fault(w, (uintptr_t)(gmm_window_base(w) + A), GMM_ACCESS_READ, &f), 1);
    assert_int_equal(f.signo, GMM_SIGSEGV);
    assert_int_equal(f.code, GMM_SEGV_MAPERR);
    assert_int_equal(f.addr, A);
    gmm_window_destroy(w);
}

/* ---- the two ABIs and creation ---- */

static void i386_window_reserves_4_gib(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    gmm_window *w = new_window(s, 0, 1ull << 32);
    uint8_t *base = gmm_window_base(w);
    /* Every 32-bit address plus the base lies in the reservation. */
    assert_ptr_equal(gmm_window_find((uintptr_t)base), w);
    assert_ptr_equal(gmm_window_find((uintptr_t)base + 0xFFFFFFFFu), w);
    assert_null(gmm_window_find((uintptr_t)base + (1ull << 32)));
    map_fixed(s, 0x10000, PG, RW, ANON_PRIV, -1);
    map_fixed(s, 0xF7000000, PG, RW, ANON_PRIV, -1);
    store(w, 0x10000, 'l');
    store(w, 0xF7000FFF, 'h');
    assert_int_equal(load(w, 0x10000), 'l');
    assert_int_equal(load(w, 0xF7000FFF), 'h');
    assert_int_equal(read_byte(s, 0xF7000FFF), 'h');
    WCHECK(sys, w);
    /* Below mmap_min_addr's mappings, and beyond the task (0xFFFFE000). */
    expect_fault(w, 0, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    expect_fault(w, 0xFFFFE000, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    expect_fault(w, 0xFFFFFFFF, 1, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    WCHECK(sys, w);
    /* A second i386 window over a part still reserves the 4 GiB. */
    gmm_window *part = new_window(s, 0xF7000000, 0xF8000000);
    assert_ptr_equal(gmm_window_find((uintptr_t)gmm_window_base(part)), part);
    assert_int_equal(load(part, 0xF7000FFF), 'h');
    expect_fault(part, 0x10000, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    WCHECK(sys, part);
    gmm_window_destroy(part);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void x86_64_window_mirrors_only_its_sub_range(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    uint8_t *base = gmm_window_base(w);
    assert_ptr_equal(gmm_window_find((uintptr_t)(base + LO)), w);
    assert_ptr_equal(gmm_window_find((uintptr_t)(base + HI - 1)), w);
    assert_ptr_not_equal(gmm_window_find((uintptr_t)(base + HI)), w);
    assert_ptr_not_equal(gmm_window_find((uintptr_t)(base + LO - 1)), w);
    /* A region across the end: its part inside the window. */
    map_fixed(s, HI - PG, 2 * PG, RW, ANON_PRIV, -1);
    store(w, HI - 1, 'e');
    assert_int_equal(read_byte(s, HI - 1), 'e');
    assert_int_equal(gmm_write(s, HI, "f", 1), 0);
    gmm_fault f;
    assert_int_equal(gmm_window_fault(w, (uintptr_t)(base + HI), GMM_ACCESS_READ, &f), -GMM_EFAULT);
    assert_int_equal(gmm_window_fault(w, (uintptr_t)(base + LO - 1), GMM_ACCESS_READ, &f), -GMM_EFAULT);
    /* A region at the start. */
    map_fixed(s, LO, PG, RW, ANON_PRIV, -1);
    store(w, LO, 's');
    assert_int_equal(read_byte(s, LO), 's');
    WCHECK(sys, w);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void window_create_refuses_what_it_cannot_mirror(void **state)
{
    (void)state;
    gmm_system *plain = gmm_system_create(NULL);
    assert_non_null(plain);
    gmm_space *ps = new_space(plain, GMM_ABI_X86_64);
    assert_null(gmm_window_create(ps, LO, HI));
    gmm_space_destroy(ps);
    gmm_system_destroy(plain);

    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space *s32 = new_space(sys, GMM_ABI_I386);
    assert_null(gmm_window_create(NULL, LO, HI));
    assert_null(gmm_window_create(s, LO + 1, HI));
    assert_null(gmm_window_create(s, LO, HI - 1));
    assert_null(gmm_window_create(s, LO + 2048, HI));
    assert_null(gmm_window_create(s, LO, LO));
    assert_null(gmm_window_create(s, HI, LO));
    assert_null(gmm_window_create(s, LO, 0x7FFFFFFFF000ull + PG));
    assert_null(gmm_window_create(s, 0x7FFFFFFFF000ull, 0x800000000000ull));
    assert_null(gmm_window_create(s32, 0, (1ull << 32) + PG));
    assert_null(gmm_window_create(s32, 1ull << 32, (1ull << 32) + PG));
    assert_null(gmm_window_create(s32, 0x1000, 0x1800));
    CHECK(s);
    CHECK(s32);
    /* What it accepts: one page; the x86-64 task's last page. */
    gmm_window *one = gmm_window_create(s, LO, LO + PG);
    assert_non_null(one);
    gmm_window *top = gmm_window_create(s, 0x7FFFFFFFE000ull, 0x7FFFFFFFF000ull);
    assert_non_null(top);
    WCHECK(sys, one);
    WCHECK(sys, top);
    gmm_window_destroy(one);
    gmm_window_destroy(top);
    gmm_space_destroy(s);
    gmm_space_destroy(s32);
    gmm_system_destroy(sys);
}

/* ---- destruction and several windows ---- */

static void space_destroyed_first_leaves_a_window_that_reports_maperr(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space *other = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 4 * PG, RW, ANON_PRIV, -1);
    for (int i = 0; i < 4; i++)
        store(w, A + (uint64_t)i * PG, 'x');
    WCHECK(sys, w);
    assert_true(gmm_window_host_mappings(w) > 1);
    gmm_space_destroy(s);
    assert_null(gmm_window_space(w));
    assert_null(gmm_window_check(w));
    assert_null(gmm_system_check(sys));
    /* It maps nothing: one PROT_NONE mapping, the reservation. */
    assert_int_equal(gmm_window_host_mappings(w), 1);
    gmm_window_stats st;
    gmm_window_get_stats(w, &st);
    assert_int_equal(st.pages_mapped, 0);
    assert_int_equal(st.host_mappings, 1);
    gmm_fault f;
    assert_int_equal(gmm_window_fault(w, (uintptr_t)(gmm_window_base(w) + A + 5), GMM_ACCESS_WRITE, &f), 1);
    assert_int_equal(f.signo, GMM_SIGSEGV);
    assert_int_equal(f.code, GMM_SEGV_MAPERR);
    assert_int_equal(f.addr, A + 5);
    assert_int_equal(gmm_window_fault(w, (uintptr_t)(gmm_window_base(w) + A), GMM_ACCESS_READ, &f), 1);
    assert_int_equal(f.code, GMM_SEGV_MAPERR);
    assert_int_equal(gmm_window_host_mappings(w), 1);
    assert_null(gmm_window_check(w));
    gmm_window_destroy(w);
    CHECK(other);
    gmm_space_destroy(other);
    gmm_system_destroy(sys);
}

static void window_destroyed_first_leaves_the_space_working(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, LO, HI);
    map_fixed(s, A, 2 * PG, RW, ANON_PRIV, -1);
    store(w, A, 'w');
    uintptr_t host = (uintptr_t)(gmm_window_base(w) + A);
    gmm_window_destroy(w);
    assert_null(gmm_window_find(host));
    CHECK(s);
    assert_int_equal(read_byte(s, A), 'w');
    assert_int_equal(gmm_write(s, A + PG, "v", 1), 0);
    assert_int_equal(gmm_sys_munmap(s, A, PG), 0);
    assert_int_equal(read_byte(s, A + PG), 'v');
    CHECK(s);
    /* A new window sees the space as it is now. */
    gmm_window *w2 = new_window(s, LO, HI);
    assert_int_equal(load(w2, A + PG), 'v');
    expect_fault(w2, A, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
    WCHECK(sys, w2);
    gmm_window_destroy(w2);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void several_windows_on_one_space_see_one_memory(void **state)
{
    (void)state;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w[3] = {new_window(s, LO, HI), new_window(s, LO, HI), new_window(s, A, A + 16 * PG)};
    assert_ptr_not_equal(gmm_window_base(w[0]), gmm_window_base(w[1]));
    map_fixed(s, A, 4 * PG, RW, ANON_PRIV, -1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(load(w[i], A + PG), 0);
    store(w[0], A + PG, '0');
    for (int i = 0; i < 3; i++)
        assert_int_equal(load(w[i], A + PG), '0');
    store(w[2], A + PG, '2');
    for (int i = 0; i < 3; i++) {
        assert_int_equal(load(w[i], A + PG), '2');
        WCHECK(sys, w[i]);
    }
    assert_int_equal(gmm_sys_mprotect(s, A, 4 * PG, GMM_PROT_READ), 0);
    for (int i = 0; i < 3; i++) {
        expect_fault(w[i], A + PG, 1, GMM_SIGSEGV, GMM_SEGV_ACCERR);
        WCHECK(sys, w[i]);
    }
    assert_int_equal(gmm_sys_munmap(s, A, 4 * PG), 0);
    for (int i = 0; i < 3; i++) {
        expect_fault(w[i], A + PG, 0, GMM_SIGSEGV, GMM_SEGV_MAPERR);
        WCHECK(sys, w[i]);
    }
    gmm_window_destroy(w[1]);
    map_fixed(s, A, PG, RW, ANON_PRIV, -1);
    store(w[0], A, 'r');
    assert_int_equal(load(w[2], A), 'r');
    WCHECK(sys, w[0]);
    WCHECK(sys, w[2]);
    gmm_window_destroy(w[0]);
    gmm_window_destroy(w[2]);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* ---- host mappings and the budget ---- */

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t page_value(uint64_t i)
{
    return (uint8_t)(i * 0x9E3779B1u >> 13) | 1;
}

#define BIG_LO 0x100000000ull

static void random_touch_of_1_gib_stays_within_a_small_budget(void **state)
{
    (void)state;
#ifdef GMM_TEST_ASAN
    const uint64_t pages = (256ull << 20) / PG; /* ASan: 256 MiB */
#else
    const uint64_t pages = (1ull << 30) / PG;
#endif
    const uint64_t budget = 256;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, BIG_LO, BIG_LO + pages * PG);
    gmm_window_set_budget(w, budget);
    gmm_window_set_fault_around(w, 1);
    map_fixed(s, BIG_LO, pages * PG, RW, ANON_PRIV | GMM_MAP_NORESERVE, -1);
    uint32_t *order = malloc(pages * sizeof(*order));
    assert_non_null(order);
    for (uint64_t i = 0; i < pages; i++)
        order[i] = (uint32_t)i;
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    for (uint64_t i = pages - 1; i > 0; i--) {
        uint64_t j = next_rand(&seed) % (i + 1);
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    uint8_t *base = gmm_window_base(w);
    uint64_t most = 0;
    double t0 = seconds_now();
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t p = order[i];
        /* Plain stores: a guest fault here would fail the test. */
        base[BIG_LO + p * PG + (p % PG)] = page_value(p);
        if (i % (pages / 4) == pages / 4 - 1) {
            uint64_t n = gmm_window_host_mappings(w);
            gmm_window_stats st;
            gmm_window_get_stats(w, &st);
            assert_int_equal(st.host_mappings, n);
            assert_true(n <= budget);
            most = n > most ? n : most;
        }
    }
    double touch_s = seconds_now() - t0;
    free(order);
    WCHECK(sys, w);
    gmm_window_stats st;
    gmm_window_get_stats(w, &st);
    assert_true(st.host_mappings <= budget);
    assert_true(st.flushes > 0);
    assert_true(st.faults >= pages);
    /* Every byte where it was stored, read through the library. */
    uint64_t bad = 0;
    for (uint64_t p = 0; p < pages; p++) {
        uint8_t v[2];
        assert_int_equal(gmm_read(s, BIG_LO + p * PG + (p % PG), &v[0], 1), 0);
        assert_int_equal(gmm_read(s, BIG_LO + p * PG + ((p + 1) % PG), &v[1], 1), 0);
        bad += v[0] != page_value(p) || v[1] != 0;
    }
    assert_int_equal(bad, 0);
    /* And a sample through the window. */
    for (uint64_t p = 0; p < pages; p += 4099)
        assert_int_equal(base[BIG_LO + p * PG + (p % PG)], page_value(p));
    WCHECK(sys, w);
    gmm_window_get_stats(w, &st);
    printf("[ window ] random touch of %llu MiB, budget %llu: %llu faults, %llu flushes, "
           "at most %llu host mappings seen, %.1f s\n",
           (unsigned long long)(pages * PG >> 20), (unsigned long long)budget,
           (unsigned long long)st.faults, (unsigned long long)st.flushes,
           (unsigned long long)most, touch_s);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void sequential_touch_of_256_mib_needs_few_host_mappings(void **state)
{
    (void)state;
    const uint64_t pages = (256ull << 20) / PG;
    gmm_system *sys = window_system();
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_window *w = new_window(s, BIG_LO, BIG_LO + pages * PG);
    map_fixed(s, BIG_LO, pages * PG, RW, ANON_PRIV, -1);
    uint8_t *base = gmm_window_base(w);
    for (uint64_t p = 0; p < pages; p++)
        base[BIG_LO + p * PG] = page_value(p);
    uint64_t n = gmm_window_host_mappings(w);
    gmm_window_stats st;
    gmm_window_get_stats(w, &st);
    assert_int_equal(st.host_mappings, n);
    assert_int_equal(st.flushes, 0);
    assert_true(n <= 64);
    WCHECK(sys, w);
    for (uint64_t p = 0; p < pages; p += 511)
        assert_int_equal(read_byte(s, BIG_LO + p * PG), page_value(p));
    printf("[ window ] sequential touch of 256 MiB: %llu faults, %llu host mappings\n",
           (unsigned long long)st.faults, (unsigned long long)n);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* Every window can be found by the ready-made handler: at most 1,024 exist
 * at once, the next gmm_window_create is NULL, and one destroyed makes
 * room again. */
static void window_registry_is_bounded_and_every_window_is_found(void **state)
{
    (void)state;
    gmm_system *sys = gmm_system_create_mappable(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    enum { TRY = 1100 };
    static gmm_window *w[TRY];
    int made = 0;
    while (made < TRY && (w[made] = gmm_window_create(s, 0x7fff00000000ull, 0x7fff00010000ull)))
        made++;
    assert_int_equal(made, 1024);
    for (int i = 0; i < made; i++)
        assert_ptr_equal(gmm_window_find((uintptr_t)gmm_window_base(w[i]) + 0x7fff00000000ull +
                                         0x5000),
                         w[i]);
    gmm_window_destroy(w[17]);
    w[17] = gmm_window_create(s, 0x7fff00000000ull, 0x7fff00010000ull);
    assert_non_null(w[17]);
    assert_null(gmm_window_create(s, 0x7fff00000000ull, 0x7fff00010000ull));
    for (int i = 0; i < made; i++)
        gmm_window_destroy(w[i]);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* gmm_window_install_handler puts the handler back after another replaced
 * it, and is a no-op while it is there. */
static void install_handler_again_after_it_was_replaced(void **state)
{
    (void)state;
    struct sigaction before, now, dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    assert_int_equal(sigaction(SIGSEGV, &dfl, &before), 0);
    assert_int_equal(gmm_window_install_handler(), 0);
    assert_int_equal(sigaction(SIGSEGV, NULL, &now), 0);
    assert_true(now.sa_flags & SA_SIGINFO);
    assert_ptr_equal((void *)now.sa_sigaction, (void *)window_segv.sa_sigaction);
    assert_int_equal(gmm_window_install_handler(), 0);
    assert_int_equal(sigaction(SIGSEGV, NULL, &now), 0);
    assert_ptr_equal((void *)now.sa_sigaction, (void *)window_segv.sa_sigaction);
    /* And it works: a first touch through a window is resolved. */
    gmm_system *sys = gmm_system_create_mappable(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_I386);
    gmm_window *w = gmm_window_create(s, 0, 1ull << 32);
    int64_t a = gmm_sys_mmap(s, 0, PG, GMM_PROT_READ | GMM_PROT_WRITE,
                             GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS, -1, 0);
    assert_true(a > 0);
    gmm_window_base(w)[a + 7] = 42;
    uint8_t v = 0;
    assert_int_equal(gmm_read(s, (gmm_addr)a + 7, &v, 1), 0);
    assert_int_equal(v, 42);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* An allocator that fails its k-th allocation from now on (k 0: never). */
struct failing {
    long calls, fail_at;
};

static void *failing_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    struct failing *f = ud;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (!ptr && f->fail_at && ++f->calls == f->fail_at)
        return NULL;
    return realloc(ptr, new_size);
}

/* Out of memory inside a window fault (page tables, the window's own
 * record of what it maps): the fault reports SIGBUS/GMM_BUS_OOM or
 * succeeds, and the window never keeps a host mapping it has not
 * recorded (fuzzer finding: a run mapped, then its record failed with
 * nothing recorded yet, stayed mapped). */
static void window_fault_out_of_memory_leaves_no_unrecorded_mapping(void **state)
{
    (void)state;
    for (long k = 1; k <= 12; k++) {
        struct failing f = {0, 0};
        gmm_system *sys = gmm_system_create_mappable_with_allocator(NULL, failing_alloc, &f);
        assert_non_null(sys);
        gmm_space *s = gmm_space_create(sys, GMM_ABI_I386);
        gmm_window *w = gmm_window_create(s, 0, 1ull << 32);
        assert_non_null(w);
        int64_t a = gmm_sys_mmap(s, 0, 64 * PG, GMM_PROT_READ | GMM_PROT_WRITE,
                                 GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS, -1, 0);
        assert_true(a > 0);
        f.calls = 0;
        f.fail_at = k;
        gmm_fault out;
        int r = gmm_window_fault(w, (uintptr_t)gmm_window_base(w) + (uintptr_t)a + 5 * PG,
                                 GMM_ACCESS_WRITE, &out);
        f.fail_at = 0;
        if (r == 1) {
            assert_int_equal(out.signo, GMM_SIGBUS);
            assert_int_equal(out.code, GMM_BUS_OOM);
        } else {
            assert_int_equal(r, 0);
        }
        assert_null(gmm_window_check(w));
        assert_null(gmm_system_check(sys));
        gmm_window_destroy(w);
        gmm_space_destroy(s);
        gmm_system_destroy(sys);
    }
}

int main(void)
{
    /* The ready-made handler, installed once; each test puts it back. */
    assert_int_equal(gmm_window_install_handler(), 0);
    sigaction(SIGSEGV, NULL, &window_segv);
    sigaction(SIGBUS, NULL, &window_bus);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untouched_anonymous_memory_reads_zero_and_stores_land),
        cmocka_unit_test(own_handler_gets_0_1_and_efault_from_gmm_window_fault),
        cmocka_unit_test(fault_around_over_the_budget_still_maps_the_faulting_page),
        cmocka_unit_test(fork_child_and_parent_windows_do_not_see_each_others_stores),
        cmocka_unit_test(fork_shared_leaf_fault_around_grants_no_store_to_either_window),
        cmocka_unit_test(store_to_read_only_memory_gets_segv_accerr_and_changes_nothing),
        cmocka_unit_test(unmapped_guest_address_gets_segv_maperr),
        cmocka_unit_test(prot_none_memory_gets_segv_accerr_until_mprotect),
        cmocka_unit_test(pages_beyond_end_of_file_get_sigbus_adrerr),
        cmocka_unit_test(store_just_below_a_growsdown_region_grows_it),
        cmocka_unit_test(shared_file_page_is_one_page_through_windows_of_two_spaces),
        cmocka_unit_test(truncated_file_page_faults_with_sigbus_through_the_window),
        cmocka_unit_test(window_follows_mprotect_munmap_mremap_and_dontneed),
        cmocka_unit_test(shared_anonymous_memory_is_shared_with_the_fork_child_through_both_windows),
        cmocka_unit_test(store_to_a_private_file_page_copies_it_and_leaves_the_file),
        cmocka_unit_test(brk_shrink_and_exec_reset_unmap_window_pages),
        cmocka_unit_test(mmap_fixed_over_a_mapping_shows_the_new_one),
        cmocka_unit_test(mremap_grow_and_dontunmap_through_the_window),
        cmocka_unit_test(guard_pages_fault_through_the_window_next_to_mapped_ones),
        cmocka_unit_test(fault_around_pages_count_in_rss_and_mincore),
        cmocka_unit_test(store_beyond_the_memory_cap_gets_sigbus_oom),
        cmocka_unit_test(droppable_pages_paged_out_read_zero_through_the_window),
        cmocka_unit_test(stack_growth_through_the_window_stops_at_rlimit_stack),
        cmocka_unit_test(truncation_removes_private_copies_of_file_pages_too),
        cmocka_unit_test(execute_only_memory_faults_pkuerr_on_a_load_through_the_window),
        cmocka_unit_test(touching_reservations_with_zero_pages_at_their_ends),
        cmocka_unit_test(touching_reservations_with_consecutive_frames_at_their_ends),
        cmocka_unit_test(holes_punched_past_the_budget_flush_the_window),
        cmocka_unit_test(system_destroyed_before_the_window),
        cmocka_unit_test(i386_window_reserves_4_gib),
        cmocka_unit_test(x86_64_window_mirrors_only_its_sub_range),
        cmocka_unit_test(window_create_refuses_what_it_cannot_mirror),
        cmocka_unit_test(space_destroyed_first_leaves_a_window_that_reports_maperr),
        cmocka_unit_test(window_destroyed_first_leaves_the_space_working),
        cmocka_unit_test(several_windows_on_one_space_see_one_memory),
        cmocka_unit_test(random_touch_of_1_gib_stays_within_a_small_budget),
        cmocka_unit_test(sequential_touch_of_256_mib_needs_few_host_mappings),
        cmocka_unit_test(window_registry_is_bounded_and_every_window_is_found),
        cmocka_unit_test(install_handler_again_after_it_was_replaced),
        cmocka_unit_test(window_fault_out_of_memory_leaves_no_unrecorded_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    printf("test_window: skipped (host windows need x86-64 Linux)\n");
    return 0;
}

#endif
