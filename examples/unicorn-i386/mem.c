/*
 * mem.c - guest memory: one libguestmm space per address space, mirrored
 * into host memory by a window, and Unicorn regions pointing into it.
 *
 * Unicorn 2.0.1 cannot use the library as its page table (its x86 paging
 * ignores the PTE frame), each Unicorn region costs O(regions) to map, and
 * it aborts at about 4,096 regions.  So an engine mirrors guest REGIONS,
 * not pages.  Until the guest handles SIGSEGV or SIGBUS, one Unicorn region
 * with every right covers the window (uc_mem_map_ptr at its base) and the
 * block hook checks execution (mem_fetch_ok; desired_runs says why).  Once
 * it does, one Unicorn region per run of neighbouring guest regions with
 * the same x86 rights, holes left unmapped.  Then:
 *
 *   - In exact runs Unicorn checks the guest's rights itself: an access
 *     to a hole or without the right raises its UNMAPPED or PROT hook,
 *     where the library decides (stack growth is resolved and retried;
 *     anything else is the guest's SIGSEGV with the si_code the library
 *     gives).  Those faults are EIP-exact once the engine has the
 *     precise hooks (mem_sync adds them when the guest handles SIGSEGV or
 *     SIGBUS: Unicorn 2.0.1 writes EIP back before an access only when a
 *     memory hook exists).
 *   - Inside a run, pages come and go under Unicorn's feet: the host MMU
 *     and the window do the paging.  A host fault at a window address goes
 *     to gmm_window_fault from our SIGSEGV handler (demand zero, copy on
 *     write, file page-in) and the access is retried.  Unicorn's TLB holds
 *     host addresses that never change, so copy on write, fork and
 *     madvise need no Unicorn call at all.
 *   - A guest fault the host MMU finds inside a run (any read or write
 *     the guest may not make in the all-rights region; in exact runs a
 *     file page past the end of the file, a guard page, no memory, or
 *     regions another thread changed since this engine synced) cannot be
 *     turned into an EIP-exact one: Unicorn 2.0.1 has no way to unwind
 *     from a host fault.  The handler maps a scratch page there so that
 *     the access completes, stops the engine and queues the signal, which
 *     arrives at the end of the translated block; mem_sync restores the
 *     reservation.
 *   - Region changes (mmap, munmap, mprotect, mremap, brk, madvise, exec,
 *     stack growth) bump mm->gen; each engine rebuilds its Unicorn regions
 *     before it runs again (mem_sync: only the runs that changed), and the
 *     engines of other threads are stopped so that they do so promptly.
 *   - Translated code: Unicorn 2.0.1's uc_mem_unmap does not drop the code
 *     translated from a region, so mem_sync drops it (uc_ctl_remove_cache)
 *     before unmapping an executable run; and the library's invalidate and
 *     code_written callbacks record changed ranges that overlap executable
 *     memory, which each engine drops at its next sync.
 *
 * GUESTMM_RUN_FLAT=1 (K.flat) is a measurement mode with no library behind
 * the guest: one private anonymous 4 GiB reservation per address space,
 * mapped into Unicorn as one region with every right, and the memory
 * syscalls reduced to address bookkeeping.  Wrong for real use (no
 * protection, no sharing, no copy on write), right as a bound on what any
 * Unicorn 2.0.1 runner can reach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unicorn/x86.h>

#include "runner.h"

#define SPACE_SIZE (1ull << 32)
/* Unicorn 2.0.1 asserts at about 4,096 sections; stay clear of it. */
#define MAX_UCREGS 3500
/* Host mappings for all windows together stay below vm.max_map_count. */
#define MAPPING_BUDGET_ALL 48000u
#define CODE_RING 64
/* i386 mmap_base with ASLR off: task size - 128 MiB. */
#define FLAT_MMAP_BASE 0xF7FFE000u

struct range {
    uint32_t lo, hi;
};

/* What struct mm's users do not see: attached engines, the code ranges to
 * drop, the executable runs, flat-mode bookkeeping. */
struct mm_mem {
    pthread_mutex_t lock;
    struct thread **users;
    int nusers, capusers;
    /* Ranges whose translated code is stale: entry seq % CODE_RING. */
    struct range code[CODE_RING];
    uint64_t code_seq;
    /* Executable runs as the last sync saw them (for the callbacks). */
    struct range *exec;
    int nexec, capexec;
    /* Flat mode: mapped ranges, sorted; brk. */
    struct range *flat;
    int nflat, capflat;
    uint32_t start_brk, brk;
    uint8_t *resv;
};

static pthread_mutex_t mms_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mm **mms;
static int nmms, capmms;

/* Set by host_fault (the library's report of a CPU access that faulted)
 * for the hook that asked. */
static _Thread_local gmm_fault tl_fault;
static _Thread_local bool tl_faulted;
/* A scratch page the SIGSEGV handler mapped over the window. */
static _Thread_local uintptr_t tl_scratch;
/* mem_map: the loader maps host fds; get_file sees this guest fd number. */
#define LOADER_FD 0x7FFFFFF0
static _Thread_local int tl_loader_fd = -1;

static void fatal(const char *what, uc_err e)
{
    dprintf(K.logfd, "guestmm-run-i386: %s: %s\n", what, uc_strerror(e));
    _exit(127);
}

static bool grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return true;
    int n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, (size_t)n * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = n;
    return true;
}

/* ---- the host SIGSEGV handler ---- */

static struct sigaction old_segv, old_bus;

static void chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO && old->sa_sigaction) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN && old->sa_handler) {
        old->sa_handler(sig);
        return;
    }
    /* The runner's own bug: die of it (the access is retried and kills). */
    signal(sig, SIG_DFL);
}

static void on_host_fault(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    uintptr_t a = (uintptr_t)si->si_addr;
    gmm_window *w = gmm_window_find(a);
    struct thread *t = current;
    if (!w || !t || !t->proc || !t->proc->mm || t->proc->mm->win != w) {
        chain(sig, si, uc);
        errno = saved;
        return;
    }
    gmm_fault f;
    int rc = gmm_window_fault(w, a, gmm_window_access_from_ucontext(uc), &f);
    if (rc == 0) {
        t->faults++;
    } else {
        /* The guest's fault inside a run: see the top of this file. */
        uintptr_t page = a & ~(uintptr_t)(PAGE - 1);
        if (mmap((void *)page, PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            _exit(127);
        tl_scratch = page;
        signal_fault(t, rc == 1 ? f.signo : GMM_SIGSEGV, rc == 1 ? f.code : GMM_SEGV_MAPERR,
                     (uint32_t)(a - (uintptr_t)t->proc->mm->base));
        cpu_kick(t); /* at the end of the block (uc_emu_stop here: cpu.c) */
    }
    errno = saved;
}

/* After the engine stopped: the scratch page goes, the window's
 * reservation (PROT_NONE) comes back and faults there go to the library. */
static void drop_scratch(void)
{
    if (!tl_scratch)
        return;
    mmap((void *)tl_scratch, PAGE, PROT_NONE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    tl_scratch = 0;
}

static void host_code_written(void *user, gmm_space *space, gmm_addr start, uint64_t len);

int mem_global_init(void)
{
    if (!K.sys) {
        gmm_host host = {0};
        host.get_file = host_get_file;
        host.fault = host_fault;
        host.invalidate = host_invalidate;
        host.code_written = host_code_written;
        K.sys = K.flat ? gmm_system_create(&host) : gmm_system_create_mappable(&host);
        if (!K.sys)
            return -1;
    }
    if (K.flat)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_host_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_segv) || sigaction(SIGBUS, &sa, &old_bus))
        return -1;
    return 0;
}

/* ---- address spaces ---- */

static void rebudget(void)
{
    /* Called with mms_lock: every window gets an equal share. */
    if (!nmms || K.flat)
        return;
    uint64_t each = MAPPING_BUDGET_ALL / (unsigned)nmms;
    if (each > 8192)
        each = 8192;
    if (each < 256)
        each = 256;
    for (int i = 0; i < nmms; i++)
        gmm_window_set_budget(mms[i]->win, each);
}

static struct mm *mm_wrap(gmm_space *space)
{
    struct mm *mm = calloc(1, sizeof(*mm));
    struct mm_mem *mem = calloc(1, sizeof(*mem));
    if (!mm || !mem || !space)
        goto fail;
    pthread_mutex_init(&mem->lock, NULL);
    mm->space = space;
    mm->mem = mem;
    atomic_init(&mm->refs, 1);
    atomic_init(&mm->gen, 1);
    atomic_init(&mm->precise, false);
    gmm_space_set_user(space, mm);
    if (K.flat) {
        mem->resv = mmap(NULL, SPACE_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem->resv == MAP_FAILED)
            goto fail;
        mm->base = mem->resv;
    } else {
        mm->win = gmm_window_create(space, 0, SPACE_SIZE);
        if (!mm->win)
            goto fail;
        mm->base = gmm_window_base(mm->win);
    }
    pthread_mutex_lock(&mms_lock);
    if (!grow((void **)&mms, &capmms, nmms + 1, sizeof(*mms))) {
        pthread_mutex_unlock(&mms_lock);
        goto fail;
    }
    mms[nmms++] = mm;
    rebudget();
    pthread_mutex_unlock(&mms_lock);
    return mm;
fail:
    if (mm && mm->win)
        gmm_window_destroy(mm->win);
    if (mem && mem->resv && mem->resv != MAP_FAILED)
        munmap(mem->resv, SPACE_SIZE);
    if (space)
        gmm_space_destroy(space);
    free(mem);
    free(mm);
    return NULL;
}

struct mm *mm_create(void)
{
    return mm_wrap(gmm_space_create(K.sys, GMM_ABI_I386));
}

/* Flat mode: a copy of the pages the parent has touched. */
static int flat_copy(struct mm *to, const struct mm *from)
{
    struct mm_mem *d = to->mem, *s = from->mem;
    if (!grow((void **)&d->flat, &d->capflat, s->nflat, sizeof(struct range)))
        return -1;
    memcpy(d->flat, s->flat, (size_t)s->nflat * sizeof(struct range));
    d->nflat = s->nflat;
    d->start_brk = s->start_brk;
    d->brk = s->brk;
    static unsigned char vec[4096];
    for (uint64_t a = 0; a < TASK_TOP; a += (uint64_t)sizeof(vec) * PAGE) {
        uint64_t len = (uint64_t)sizeof(vec) * PAGE;
        if (a + len > TASK_TOP)
            len = TASK_TOP - a;
        if (mincore(s->resv + a, len, vec))
            continue;
        for (uint64_t i = 0; i < len / PAGE; i++)
            if (vec[i] & 1)
                memcpy(d->resv + a + i * PAGE, s->resv + a + i * PAGE, PAGE);
    }
    return 0;
}

struct mm *mm_fork(struct mm *parent)
{
    struct mm *mm;
    if (K.flat) {
        mm = mm_wrap(gmm_space_create(K.sys, GMM_ABI_I386));
        if (mm && flat_copy(mm, parent)) {
            mm_put(mm);
            return NULL;
        }
    } else {
        mm = mm_wrap(gmm_space_fork(parent->space));
    }
    if (mm)
        atomic_store(&mm->precise, atomic_load(&parent->precise));
    return mm;
}

struct mm *mm_get(struct mm *mm)
{
    atomic_fetch_add(&mm->refs, 1);
    return mm;
}

void mm_put(struct mm *mm)
{
    if (!mm || atomic_fetch_sub(&mm->refs, 1) != 1)
        return;
    pthread_mutex_lock(&mms_lock);
    for (int i = 0; i < nmms; i++)
        if (mms[i] == mm) {
            mms[i] = mms[--nmms];
            break;
        }
    rebudget();
    pthread_mutex_unlock(&mms_lock);
    if (mm->win)
        gmm_window_destroy(mm->win);
    gmm_space_destroy(mm->space);
    struct mm_mem *mem = mm->mem;
    if (mem->resv)
        munmap(mem->resv, SPACE_SIZE);
    pthread_mutex_destroy(&mem->lock);
    free(mem->users);
    free(mem->exec);
    free(mem->flat);
    free(mem);
    free(mm);
}

static void stop_users(struct mm *mm, struct thread *except)
{
    struct mm_mem *mem = mm->mem;
    pthread_mutex_lock(&mem->lock);
    for (int i = 0; i < mem->nusers; i++)
        if (mem->users[i] != except)
            cpu_kick(mem->users[i]);
    pthread_mutex_unlock(&mem->lock);
}

void mem_changed(struct mm *mm)
{
    atomic_fetch_add(&mm->gen, 1);
    /* The caller's own engine syncs before it runs again (system calls run
     * outside the engine; hook_fault syncs itself): stopping it from here,
     * inside a hook, would leave its block in the middle (cpu.c).  The
     * others stop at their next block. */
    stop_users(mm, current);
}

/* Records a range whose translated code may be stale, when it overlaps
 * executable memory.  Called from the library's callbacks (its lock held). */
static void code_changed(struct mm *mm, uint64_t start, uint64_t len)
{
    struct mm_mem *mem = mm->mem;
    uint64_t end = start + len;
    bool hit = false;
    pthread_mutex_lock(&mem->lock);
    for (int i = 0; i < mem->nexec && !hit; i++)
        hit = mem->exec[i].lo < end && start < mem->exec[i].hi;
    if (hit) {
        struct range *r = &mem->code[mem->code_seq % CODE_RING];
        r->lo = (uint32_t)start;
        r->hi = end > TASK_TOP ? TASK_TOP : (uint32_t)end;
        mem->code_seq++;
        for (int i = 0; i < mem->nusers; i++)
            cpu_kick(mem->users[i]);
    }
    pthread_mutex_unlock(&mem->lock);
}

/* ---- Unicorn regions ---- */

static uint32_t uc_perms(int access)
{
    return ((access & GMM_ACCESS_READ) ? UC_PROT_READ : 0) |
           ((access & GMM_ACCESS_WRITE) ? UC_PROT_WRITE : 0) |
           ((access & GMM_ACCESS_EXEC) ? UC_PROT_EXEC : 0);
}

static bool push_run(struct ucreg **v, int *nv, int *cap, uint32_t start, uint32_t end,
                     uint32_t perms)
{
    if (start >= end)
        return true;
    if (*nv && (*v)[*nv - 1].end == start && (*v)[*nv - 1].perms == perms) {
        (*v)[*nv - 1].end = end;
        return true;
    }
    if (!grow((void **)v, cap, *nv + 1, sizeof(**v)))
        return false;
    (*v)[(*nv)++] = (struct ucreg){start, end, perms};
    return true;
}

/* The Unicorn regions the guest's regions make now, into *out, and the
 * guest's executable memory, into *xout (both malloc'd, sorted).
 *
 * Precise (the guest handles SIGSEGV or SIGBUS): one run per stretch of
 * guest regions with equal rights, holes and PROT_NONE left out, so that
 * Unicorn itself faults, at the exact instruction, on every access the
 * guest may not make.
 *
 * Otherwise one run with every right covers the whole address space, as in
 * flat mode, and never changes.  The host MMU and the window refuse what
 * the guest may not read or write (the window maps nothing where there is
 * no region, and read-only what may not be written), and such a fault
 * arrives at the next block: with no handler it ends the process all the
 * same.  Execution is checked at the start of every block against the
 * executable runs (mem_fetch_ok).  So no guest call maps or unmaps a
 * Unicorn region: Unicorn 2.0.1's uc_mem_unmap flushes its TLB page by
 * page over the whole region (a third of a second for 4 GiB), and its
 * region lookup, done for every slow-path store (all of them in 2.0.1), is
 * cheapest with one region. */
static int desired_runs(struct thread *t, struct ucreg **out, int *n, struct ucreg **xout,
                        int *nx, bool *precise_out)
{
    struct mm *mm = t->proc->mm;
    struct ucreg *v = NULL, *x = NULL;
    int nv = 0, cap = 0, nxv = 0, capx = 0;
    bool ok = true;
    /* Read once: another thread may set it meanwhile (its bump of gen
     * brings this engine back here). */
    bool precise = atomic_load(&mm->precise);
    *precise_out = precise;
    if (K.flat || !precise)
        ok = push_run(&v, &nv, &cap, 0, TASK_TOP, UC_PROT_ALL);
    if (!K.flat) {
        gmm_region_info ri;
        gmm_addr a = 0;
        while (ok && a < TASK_TOP && gmm_space_region_next(mm->space, a, &ri)) {
            a = ri.end;
            uint32_t perms = uc_perms(ri.access);
            if (precise && perms) /* PROT_NONE: a hole, Unicorn faults there */
                ok = push_run(&v, &nv, &cap, (uint32_t)ri.start, (uint32_t)ri.end, perms);
            if (ok && (perms & UC_PROT_EXEC))
                ok = push_run(&x, &nxv, &capx, (uint32_t)ri.start, (uint32_t)ri.end,
                              UC_PROT_EXEC);
        }
    }
    if (!ok) {
        free(v);
        free(x);
        return -1;
    }
    *out = v;
    *n = nv;
    *xout = x;
    *nx = nxv;
    return 0;
}

/* Drops the code translated from [lo, hi), one Unicorn region at a time:
 * uc_ctl_remove_cache finds the region of its start address only and would
 * miss the rest of a range that spans two. */
static void remove_code(struct thread *t, uint32_t lo, uint32_t hi)
{
    for (int i = 0; i < t->nregs; i++) {
        struct ucreg *r = &t->regs[i];
        if (r->end <= lo || hi <= r->start || !(r->perms & UC_PROT_EXEC))
            continue;
        uint32_t a = lo > r->start ? lo : r->start, b = hi < r->end ? hi : r->end;
        uc_ctl_remove_cache(t->uc, a, b);
    }
}

/* Drops the code translated from the executable memory in [lo, hi). */
static void drop_code(struct thread *t, uint32_t lo, uint32_t hi)
{
    for (int i = 0; i < t->nxregs; i++) {
        struct ucreg *r = &t->xregs[i];
        if (r->end <= lo || hi <= r->start)
            continue;
        remove_code(t, lo > r->start ? lo : r->start, hi < r->end ? hi : r->end);
    }
}

static void unmap_run(struct thread *t, const struct ucreg *r)
{
    if (r->perms & UC_PROT_EXEC)
        uc_ctl_remove_cache(t->uc, r->start, r->end);
    uc_err e = uc_mem_unmap(t->uc, r->start, (size_t)r->end - r->start);
    if (e != UC_ERR_OK)
        fatal("uc_mem_unmap", e);
}

static bool map_run(struct thread *t, const struct ucreg *r)
{
    uc_err e = uc_mem_map_ptr(t->uc, r->start, (size_t)r->end - r->start, r->perms,
                              t->proc->mm->base + r->start);
    /* map_ptr does not mark a region read-only in QEMU's memory map;
     * uc_mem_protect does, so a store there raises the PROT hook. */
    if (e == UC_ERR_OK && !(r->perms & UC_PROT_WRITE))
        e = uc_mem_protect(t->uc, r->start, (size_t)r->end - r->start, r->perms);
    if (e != UC_ERR_OK)
        fatal("uc_mem_map_ptr", e);
    return true;
}

static bool same(const struct ucreg *a, const struct ucreg *b)
{
    return a->start == b->start && a->end == b->end && a->perms == b->perms;
}

/* Whether the sorted v[0, n) holds r as it is; *j walks v forward across
 * calls made in increasing r->start. */
static bool listed(const struct ucreg *v, int n, int *j, const struct ucreg *r)
{
    while (*j < n && v[*j].start < r->start)
        (*j)++;
    return *j < n && same(&v[*j], r);
}

static void noop_mem_hook(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                          int64_t value, void *user)
{
    (void)uc, (void)type, (void)addr, (void)size, (void)value, (void)user;
}

static void go_precise(struct thread *t)
{
    uc_hook h;
    if (uc_hook_add(t->uc, &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, (void *)noop_mem_hook, t,
                    RUN_UNTIL, RUN_UNTIL) != UC_ERR_OK)
        return;
    /* Code translated without the EIP updates goes. */
    remove_code(t, 0, TASK_TOP);
    t->precise = true;
}

static void sync_now(struct thread *t)
{
    struct mm *mm = t->proc->mm;
    struct mm_mem *mem = mm->mem;
    uint64_t gen = atomic_load(&mm->gen);
    if (t->synced_gen != gen) {
        struct ucreg *want, *xwant;
        int nwant, nxwant;
        bool precise;
        if (desired_runs(t, &want, &nwant, &xwant, &nxwant, &precise))
            fatal("mem_sync", UC_ERR_NOMEM);
        /* Executable memory that is gone or changed takes its translated
         * code along (a run unmapped below drops its own too): the one
         * all-rights run stays mapped and would keep it. */
        for (int i = 0, j = 0; i < t->nxregs; i++)
            if (!listed(xwant, nxwant, &j, &t->xregs[i]))
                remove_code(t, t->xregs[i].start, t->xregs[i].end);
        free(t->xregs);
        t->xregs = xwant;
        t->nxregs = nxwant;
        t->xhit = 0;
        if (nwant > MAX_UCREGS) {
            /* Past Unicorn 2.0.1's section cap: the highest runs stay
             * unmapped and accesses there fault (SIGSEGV). */
            if (K.debug)
                dprintf(K.logfd, "guestmm-run-i386: %d runs of rights, Unicorn gets %d\n",
                        nwant, MAX_UCREGS);
            nwant = MAX_UCREGS;
        }
        /* Unmap what is not wanted as it is, then map what is missing:
         * kept runs are wanted ones, so nothing overlaps. */
        int keep = 0;
        for (int i = 0, j = 0; i < t->nregs; i++) {
            if (listed(want, nwant, &j, &t->regs[i]))
                t->regs[keep++] = t->regs[i];
            else
                unmap_run(t, &t->regs[i]);
        }
        t->nregs = keep;
        if (!grow((void **)&t->regs, &t->capregs, nwant, sizeof(*t->regs)))
            fatal("mem_sync", UC_ERR_NOMEM);
        for (int j = 0, k = 0; j < nwant; j++)
            if (!listed(t->regs, keep, &k, &want[j]))
                map_run(t, &want[j]);
        if (nwant) /* an empty mm (execve) has no runs and maybe no array yet */
            memcpy(t->regs, want, (size_t)nwant * sizeof(*want));
        t->nregs = nwant;
        free(want);
        /* The executable runs, for the library's callbacks. */
        pthread_mutex_lock(&mem->lock);
        mem->nexec = 0;
        for (int i = 0; i < t->nxregs; i++)
            if (grow((void **)&mem->exec, &mem->capexec, mem->nexec + 1, sizeof(*mem->exec)))
                mem->exec[mem->nexec++] = (struct range){t->xregs[i].start, t->xregs[i].end};
        pthread_mutex_unlock(&mem->lock);
        t->synced_gen = gen;
        /* The hooks follow the runs just made, not a newer flag. */
        if (precise && !t->precise)
            go_precise(t);
    }
    pthread_mutex_lock(&mem->lock);
    if (mem->code_seq != t->code_seq) {
        if (mem->code_seq - t->code_seq > CODE_RING) {
            drop_code(t, 0, TASK_TOP);
        } else {
            for (uint64_t s = t->code_seq; s < mem->code_seq; s++)
                drop_code(t, mem->code[s % CODE_RING].lo, mem->code[s % CODE_RING].hi);
        }
        t->code_seq = mem->code_seq;
    }
    pthread_mutex_unlock(&mem->lock);
}

void mem_sync(struct thread *t)
{
    drop_scratch();
    struct mm *mm = t->proc->mm;
    if (t->synced_gen == atomic_load(&mm->gen) && t->code_seq == mm->mem->code_seq &&
        t->precise >= atomic_load(&mm->precise))
        return;
    sync_now(t);
}

void mem_enable_precise(struct thread *t)
{
    struct mm *mm = t->proc->mm;
    if (atomic_exchange(&mm->precise, true))
        return;
    /* The runs change (data split by rights, holes left out). */
    atomic_fetch_add(&mm->gen, 1);
    stop_users(mm, NULL);
}

/* ---- fault hooks ---- */

static int access_of(uc_mem_type type)
{
    switch (type) {
    case UC_MEM_WRITE_UNMAPPED:
    case UC_MEM_WRITE_PROT:
        return GMM_ACCESS_WRITE;
    case UC_MEM_FETCH_UNMAPPED:
    case UC_MEM_FETCH_PROT:
        return GMM_ACCESS_EXEC;
    default:
        return GMM_ACCESS_READ;
    }
}

static bool mapped_now(struct thread *t, uint64_t addr, uint32_t perms)
{
    for (int i = 0; i < t->nregs; i++)
        if (t->regs[i].start <= addr && addr < t->regs[i].end)
            return (t->regs[i].perms & perms) == perms;
    return false;
}

/* The guest's signal for the access at addr the library refused: what
 * its fault callback reported (tl_fault), else SEGV_MAPERR there. */
static void library_fault(struct thread *t, uint64_t addr)
{
    if (tl_faulted)
        signal_fault(t, tl_fault.signo, tl_fault.code, (uint32_t)tl_fault.addr);
    else
        signal_fault(t, GMM_SIGSEGV, GMM_SEGV_MAPERR, (uint32_t)addr);
}

/* Unicorn found a hole or a missing right at addr: regions this engine
 * has not seen yet, stack growth, or the guest's fault. */
static bool hook_fault(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                       int64_t value, void *user)
{
    (void)uc, (void)size, (void)value;
    struct thread *t = user;
    int access = access_of(type);
    uint32_t need = uc_perms(access);
    if (addr >= TASK_TOP || K.flat) {
        signal_fault(t, GMM_SIGSEGV, GMM_SEGV_MAPERR, (uint32_t)addr);
        return false;
    }
    struct mm *mm = t->proc->mm;
    if (t->synced_gen != atomic_load(&mm->gen)) {
        sync_now(t);
        if (mapped_now(t, addr, need))
            return true;
    }
    tl_faulted = false;
    int allowed = 0;
    /* Resolves stack growth (a new region) or reports the fault. */
    if (gmm_translate_perms(mm->space, addr, access, &allowed)) {
        mem_changed(mm);
        sync_now(t);
        if (mapped_now(t, addr, need))
            return true;
        /* The library allows what Unicorn cannot be given (more runs than
         * Unicorn takes): the guest gets SIGSEGV rather than a loop. */
        signal_fault(t, GMM_SIGSEGV, GMM_SEGV_MAPERR, (uint32_t)addr);
        return false;
    }
    library_fault(t, addr);
    return false;
}

/* The executable run holding addr, or -1. */
static int exec_run(struct thread *t, uint64_t addr)
{
    const struct ucreg *x = t->xregs;
    if (t->xhit < t->nxregs && x[t->xhit].start <= addr && addr < x[t->xhit].end)
        return t->xhit;
    int lo = 0, hi = t->nxregs;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (addr < x[mid].start)
            hi = mid;
        else if (addr >= x[mid].end)
            lo = mid + 1;
        else
            return t->xhit = mid;
    }
    return -1;
}

bool mem_fetch_ok(struct thread *t, uint64_t addr, uint32_t size)
{
    /* Precise engines' runs carry the rights: Unicorn checks fetches. */
    if (K.flat || t->precise)
        return true;
    int i = exec_run(t, addr);
    uint64_t end = addr + (size ? size : 1);
    if (i >= 0 && end <= t->xregs[i].end) {
        if (t->fetch_retry) /* (a load, not a store, per block) */
            t->fetch_retry = 0;
        return true;
    }
    /* The first byte the guest may not execute: the block's start, or
     * where it runs out of executable memory (a block may cross a page
     * boundary; the guest would fault there, and with no handler the
     * process ends all the same, so the block's first part is not run). */
    uint64_t at = i >= 0 ? t->xregs[i].end : addr;
    struct mm *mm = t->proc->mm;
    if (t->synced_gen != atomic_load(&mm->gen) && t->fetch_retry != at + 1) {
        /* Stale runs: stop; cpu_run syncs and runs the block again (the
         * sync may unmap and map: not from inside a hook). */
        t->fetch_retry = at + 1;
        return false;
    }
    tl_faulted = false;
    int allowed = 0;
    bool may = at < TASK_TOP && gmm_translate_perms(mm->space, at, GMM_ACCESS_EXEC, &allowed);
    if (may && t->fetch_retry != at + 1) {
        /* A region this engine had not seen (stack growth made one). */
        t->fetch_retry = at + 1;
        mem_changed(mm);
        return false;
    }
    /* Linux's fault for this fetch: SEGV_MAPERR in a hole, SEGV_ACCERR in
     * a region without PROT_EXEC (the library's fault callback says
     * which); SEGV_MAPERR when the library allows what the runs still do
     * not after a sync (no loop). */
    t->fetch_retry = 0;
    library_fault(t, at);
    return false;
}

int mem_attach(struct thread *t)
{
    struct mm *mm = t->proc->mm;
    struct mm_mem *mem = mm->mem;
    uc_hook h;
    if (uc_hook_add(t->uc, &h, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, (void *)hook_fault, t, 1,
                    0) != UC_ERR_OK)
        return -1;
    /* The descriptor table, read-only (the accessed bits are preset). */
    if (uc_mem_map_ptr(t->uc, GDT_ADDR, PAGE, UC_PROT_READ, t->gdt) != UC_ERR_OK ||
        uc_mem_protect(t->uc, GDT_ADDR, PAGE, UC_PROT_READ) != UC_ERR_OK)
        return -1;
    t->nregs = 0;
    t->nxregs = t->xhit = 0;
    t->synced_gen = 0;
    t->precise = false;
    pthread_mutex_lock(&mem->lock);
    bool ok = grow((void **)&mem->users, &mem->capusers, mem->nusers + 1, sizeof(*mem->users));
    if (ok)
        mem->users[mem->nusers++] = t;
    t->code_seq = mem->code_seq;
    pthread_mutex_unlock(&mem->lock);
    if (!ok)
        return -1;
    sync_now(t);
    return 0;
}

void mem_detach(struct thread *t)
{
    struct mm *mm = t->proc ? t->proc->mm : NULL;
    if (mm) {
        struct mm_mem *mem = mm->mem;
        pthread_mutex_lock(&mem->lock);
        for (int i = 0; i < mem->nusers; i++)
            if (mem->users[i] == t) {
                mem->users[i] = mem->users[--mem->nusers];
                break;
            }
        pthread_mutex_unlock(&mem->lock);
    }
    free(t->regs);
    t->regs = NULL;
    t->nregs = t->capregs = 0;
    free(t->xregs);
    t->xregs = NULL;
    t->nxregs = t->xhit = 0;
}

/* ---- user copies ---- */

int guest_read(struct thread *t, uint32_t addr, void *buf, size_t len)
{
    struct mm *mm = t->proc->mm;
    if (K.flat) {
        if ((uint64_t)addr + len > TASK_TOP)
            return -EFAULT;
        memcpy(buf, mm->base + addr, len);
        return 0;
    }
    return gmm_read(mm->space, addr, buf, len) ? -EFAULT : 0;
}

int guest_write(struct thread *t, uint32_t addr, const void *buf, size_t len)
{
    struct mm *mm = t->proc->mm;
    if (K.flat) {
        if ((uint64_t)addr + len > TASK_TOP)
            return -EFAULT;
        memcpy(mm->base + addr, buf, len);
        return 0;
    }
    /* Code translated from those bytes goes at each engine's next sync
     * (the library's code_written callback records the range). */
    return gmm_write(mm->space, addr, buf, len) ? -EFAULT : 0;
}

int guest_str(struct thread *t, uint32_t addr, char *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        size_t chunk = PAGE - (addr + n) % PAGE;
        if (chunk > cap - n)
            chunk = cap - n;
        if (guest_read(t, addr + (uint32_t)n, buf + n, chunk))
            return -EFAULT;
        if (memchr(buf + n, 0, chunk))
            return 0;
        n += chunk;
    }
    return -ENAMETOOLONG;
}

/* ---- library callbacks ---- */

void host_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)user, (void)space;
    tl_fault = *f;
    tl_faulted = true;
}

void host_invalidate(void *user, gmm_space *space, gmm_addr start, uint64_t len)
{
    (void)user;
    struct mm *mm = gmm_space_user(space);
    if (mm && len)
        code_changed(mm, start, len);
}

static void host_code_written(void *user, gmm_space *space, gmm_addr start, uint64_t len)
{
    (void)user;
    struct mm *mm = gmm_space_user(space);
    if (mm && len)
        code_changed(mm, start, len);
}

struct hostfile {
    int fd;
};

static int64_t hf_read(void *h, uint64_t off, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(((struct hostfile *)h)->fd, (char *)buf + done, len - done,
                          (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

static int64_t hf_write(void *h, uint64_t off, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(((struct hostfile *)h)->fd, (const char *)buf + done, len - done,
                           (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)n;
    }
    return (int64_t)done;
}

static int64_t hf_size(void *h)
{
    struct stat st;
    if (fstat(((struct hostfile *)h)->fd, &st) < 0)
        return -errno;
    return st.st_size;
}

static void hf_release(void *h)
{
    close(((struct hostfile *)h)->fd);
    free(h);
}

static const gmm_file_ops hostfile_ops = {hf_read, hf_write, hf_size, hf_release};

/* The guest's fd at mmap time, from the calling thread's fd table (the
 * caller holds klock: it is in a system call). */
int host_get_file(void *user, int fd, gmm_file *out)
{
    (void)user;
    struct thread *t = current;
    int flags = 0;
    int hfd;
    if (fd == LOADER_FD && tl_loader_fd >= 0) {
        hfd = fcntl(tl_loader_fd, F_DUPFD_CLOEXEC, 3);
        flags = O_RDONLY;
        if (hfd < 0)
            return -GMM_ENOMEM;
    } else {
        hfd = t ? files_host_dup(t->proc, fd, &flags) : -EBADF;
    }
    if (hfd < 0)
        return hfd == -EBADF ? -GMM_EBADF : -GMM_ENODEV;
    struct stat st;
    if (fstat(hfd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(hfd);
        return -GMM_ENODEV;
    }
    struct hostfile *h = malloc(sizeof(*h));
    if (!h) {
        close(hfd);
        return -GMM_ENOMEM;
    }
    h->fd = hfd; /* the library's own reference: the guest may close its fd */
    static _Thread_local char path[4096];
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", hfd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    path[n > 0 ? n : 0] = 0;
    out->ops = &hostfile_ops;
    out->handle = h;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->readable = (flags & O_ACCMODE) != O_WRONLY;
    out->writable = (flags & O_ACCMODE) != O_RDONLY;
    out->path = path;
    return 0;
}

/* ---- flat mode's memory calls: bookkeeping only ---- */

static int flat_find(struct mm_mem *m, uint32_t addr)
{
    /* First range ending above addr. */
    int lo = 0, hi = m->nflat;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (m->flat[mid].hi <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void flat_remove(struct mm_mem *m, uint32_t lo, uint32_t hi)
{
    struct range *v = m->flat;
    int i = flat_find(m, lo), out = i;
    struct range tail = {0, 0};
    for (; i < m->nflat && v[i].lo < hi; i++) {
        if (v[i].lo < lo)
            v[out++] = (struct range){v[i].lo, lo};
        if (v[i].hi > hi)
            tail = (struct range){hi, v[i].hi};
    }
    int rest = m->nflat - i;
    if (tail.hi) {
        grow((void **)&m->flat, &m->capflat, out + 1 + rest, sizeof(*v));
        v = m->flat;
        memmove(&v[out + 1], &v[i], (size_t)rest * sizeof(*v));
        v[out++] = tail;
    } else {
        memmove(&v[out], &v[i], (size_t)rest * sizeof(*v));
    }
    m->nflat = out + rest;
}

static int flat_add(struct mm_mem *m, uint32_t lo, uint32_t hi)
{
    flat_remove(m, lo, hi);
    if (!grow((void **)&m->flat, &m->capflat, m->nflat + 1, sizeof(struct range)))
        return -ENOMEM;
    int i = flat_find(m, lo);
    memmove(&m->flat[i + 1], &m->flat[i], (size_t)(m->nflat - i) * sizeof(struct range));
    m->flat[i] = (struct range){lo, hi};
    m->nflat++;
    return 0;
}

/* Top-down first fit below FLAT_MMAP_BASE. */
static int64_t flat_gap(struct mm_mem *m, uint32_t len)
{
    uint32_t top = FLAT_MMAP_BASE;
    for (int i = m->nflat; i-- > 0;) {
        if (m->flat[i].lo >= top)
            continue;
        if (m->flat[i].hi <= top && top - m->flat[i].hi >= len)
            return top - len;
        top = m->flat[i].lo;
    }
    return top >= len + 0x10000u ? (int64_t)(top - len) : -ENOMEM;
}

static void flat_zero(struct mm *mm, uint32_t lo, uint32_t hi)
{
    madvise(mm->base + lo, (size_t)hi - lo, MADV_DONTNEED);
}

static int64_t flat_mmap(struct thread *t, uint32_t addr, uint32_t len, int flags, int fd,
                         uint64_t off, bool hostfd)
{
    struct mm *mm = t->proc->mm;
    struct mm_mem *m = mm->mem;
    if (!len)
        return -EINVAL;
    len = (len + PAGE - 1) & ~(PAGE - 1);
    int64_t at;
    if (flags & GMM_MAP_FIXED) {
        if (addr % PAGE || (uint64_t)addr + len > TASK_TOP)
            return -EINVAL;
        at = addr;
    } else {
        at = flat_gap(m, len);
        if (at < 0)
            return at;
    }
    flat_zero(mm, (uint32_t)at, (uint32_t)at + len);
    if (!(flags & GMM_MAP_ANONYMOUS)) {
        int hflags = 0;
        int hfd = hostfd ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : files_host_dup(t->proc, fd, &hflags);
        if (hfd < 0)
            return hostfd ? -EBADF : hfd;
        ssize_t n = pread(hfd, mm->base + at, len, (off_t)off);
        close(hfd);
        if (n < 0)
            return -errno;
    }
    if (flat_add(m, (uint32_t)at, (uint32_t)at + len))
        return -ENOMEM;
    return at;
}

static int64_t flat_munmap(struct thread *t, uint32_t addr, uint32_t len)
{
    struct mm *mm = t->proc->mm;
    if (addr % PAGE || !len || (uint64_t)addr + len > TASK_TOP)
        return -EINVAL;
    uint32_t hi = addr + ((len + PAGE - 1) & ~(PAGE - 1));
    flat_remove(mm->mem, addr, hi);
    flat_zero(mm, addr, hi);
    return 0;
}

static int64_t flat_brk(struct thread *t, uint32_t want)
{
    struct mm_mem *m = t->proc->mm->mem;
    if (want < m->start_brk || want >= FLAT_MMAP_BASE - (64u << 20))
        return m->brk;
    uint32_t old = (m->brk + PAGE - 1) & ~(PAGE - 1), now = (want + PAGE - 1) & ~(PAGE - 1);
    if (now < old)
        flat_zero(t->proc->mm, now, old);
    m->brk = want;
    return want;
}

static int64_t flat_mremap(struct thread *t, uint32_t old, uint32_t olen, uint32_t nlen,
                           int flags, uint32_t naddr)
{
    struct mm *mm = t->proc->mm;
    olen = (olen + PAGE - 1) & ~(PAGE - 1);
    nlen = (nlen + PAGE - 1) & ~(PAGE - 1);
    if (old % PAGE || !nlen)
        return -EINVAL;
    if (nlen <= olen) {
        if (nlen < olen)
            flat_munmap(t, old + nlen, olen - nlen);
        return old;
    }
    int64_t at = (flags & 2 /* MREMAP_FIXED */) ? naddr : flat_gap(mm->mem, nlen);
    if (at < 0)
        return at;
    if (!(flags & 1 /* MREMAP_MAYMOVE */))
        return -ENOMEM;
    memmove(mm->base + at, mm->base + old, olen);
    flat_munmap(t, old, olen);
    flat_add(mm->mem, (uint32_t)at, (uint32_t)at + nlen);
    return at;
}

int mem_exec_reset(struct mm *mm)
{
    if (K.flat) {
        struct mm_mem *m = mm->mem;
        flat_zero(mm, 0, TASK_TOP);
        m->nflat = 0;
        m->start_brk = m->brk = 0;
    } else {
        gmm_space_exec_reset(mm->space);
    }
    mem_changed(mm);
    return 0;
}

int64_t mem_map(struct thread *t, uint32_t addr, uint32_t len, int prot, int flags, int hostfd,
                uint64_t off)
{
    if (K.flat)
        return flat_mmap(t, addr, len, flags, hostfd, off, true);
    int fd = -1;
    if (!(flags & GMM_MAP_ANONYMOUS)) {
        tl_loader_fd = hostfd;
        fd = LOADER_FD;
    }
    int64_t r = gmm_sys_mmap(t->proc->mm->space, addr, len, prot, flags, fd, off);
    tl_loader_fd = -1;
    mem_changed(t->proc->mm);
    return r;
}

int mem_init_brk(struct thread *t, uint32_t brk)
{
    if (K.flat) {
        t->proc->mm->mem->start_brk = t->proc->mm->mem->brk = brk;
        return 0;
    }
    return gmm_space_init_brk(t->proc->mm->space, brk);
}

int64_t mem_setup_stack(struct thread *t, uint32_t size)
{
    if (K.flat) {
        flat_add(t->proc->mm->mem, TASK_TOP - size, TASK_TOP);
        return TASK_TOP;
    }
    int64_t r = gmm_space_setup_stack(t->proc->mm->space, size);
    mem_changed(t->proc->mm);
    return r;
}

/* ---- the memory system calls ---- */

#define A(i) (a[i])
#define SPACE (t->proc->mm->space)

static int64_t changed(struct thread *t, int64_t r)
{
    mem_changed(t->proc->mm);
    return r;
}

static int64_t sys_brk(struct thread *t, const uint32_t a[6])
{
    if (K.flat)
        return flat_brk(t, A(0));
    return changed(t, gmm_sys_brk(SPACE, A(0)));
}

static int64_t sys_old_mmap(struct thread *t, const uint32_t a[6])
{
    if (K.flat) {
        uint32_t v[6];
        if (guest_read(t, A(0), v, sizeof(v)))
            return -EFAULT;
        if (v[5] % PAGE)
            return -EINVAL;
        return flat_mmap(t, v[0], v[1], (int)v[3], (int)v[4], v[5], false);
    }
    return changed(t, gmm_sys_old_mmap(SPACE, A(0)));
}

static int64_t sys_mmap2(struct thread *t, const uint32_t a[6])
{
    if (K.flat)
        return flat_mmap(t, A(0), A(1), (int)A(3), (int)A(4), (uint64_t)A(5) * PAGE, false);
    return changed(t, gmm_sys_mmap2(SPACE, A(0), A(1), (int)A(2), (int)A(3), (int)A(4), A(5)));
}

static int64_t sys_munmap(struct thread *t, const uint32_t a[6])
{
    if (K.flat)
        return flat_munmap(t, A(0), A(1));
    return changed(t, gmm_sys_munmap(SPACE, A(0), A(1)));
}

static int64_t sys_mprotect(struct thread *t, const uint32_t a[6])
{
    if (K.flat)
        return 0;
    return changed(t, gmm_sys_mprotect(SPACE, A(0), A(1), (int)A(2)));
}

static int64_t sys_mremap(struct thread *t, const uint32_t a[6])
{
    if (K.flat)
        return flat_mremap(t, A(0), A(1), A(2), (int)A(3), A(4));
    return changed(t, gmm_sys_mremap(SPACE, A(0), A(1), A(2), (int)A(3), A(4)));
}

static int64_t sys_madvise(struct thread *t, const uint32_t a[6])
{
    if (K.flat)
        return 0;
    /* Guard pages and MADV_DONTNEED can change what a run maps. */
    return changed(t, gmm_sys_madvise(SPACE, A(0), A(1), (int)A(2)));
}

#define FLAT_ZERO(call) (K.flat ? 0 : (call))

static int64_t sys_msync(struct thread *t, const uint32_t a[6])
{
    return FLAT_ZERO(gmm_sys_msync(SPACE, A(0), A(1), (int)A(2)));
}

static int64_t sys_mlock(struct thread *t, const uint32_t a[6])
{
    return FLAT_ZERO(gmm_sys_mlock(SPACE, A(0), A(1)));
}

static int64_t sys_munlock(struct thread *t, const uint32_t a[6])
{
    return FLAT_ZERO(gmm_sys_munlock(SPACE, A(0), A(1)));
}

static int64_t sys_mlockall(struct thread *t, const uint32_t a[6])
{
    return FLAT_ZERO(gmm_sys_mlockall(SPACE, (int)A(0)));
}

static int64_t sys_munlockall(struct thread *t, const uint32_t a[6])
{
    (void)a;
    return FLAT_ZERO(gmm_sys_munlockall(SPACE));
}

static int64_t sys_mlock2(struct thread *t, const uint32_t a[6])
{
    return FLAT_ZERO(gmm_sys_mlock2(SPACE, A(0), A(1), (int)A(2)));
}

static int64_t sys_mincore(struct thread *t, const uint32_t a[6])
{
    return K.flat ? -ENOSYS : gmm_sys_mincore(SPACE, A(0), A(1), A(2));
}

static int64_t sys_mbind(struct thread *t, const uint32_t a[6])
{
    return FLAT_ZERO(gmm_sys_mbind(SPACE, A(0), A(1), (int)A(2), A(3), A(4), A(5)));
}

static int64_t sys_get_mempolicy(struct thread *t, const uint32_t a[6])
{
    return K.flat ? -ENOSYS : gmm_sys_get_mempolicy(SPACE, A(0), A(1), A(2), A(3), A(4));
}

static int64_t sys_set_mempolicy(struct thread *t, const uint32_t a[6])
{
    return FLAT_ZERO(gmm_sys_set_mempolicy(SPACE, (int)A(0), A(1), A(2)));
}

const struct syscall_def mem_syscalls[] = {
    {45, "brk", sys_brk},
    {90, "mmap", sys_old_mmap},
    {91, "munmap", sys_munmap},
    {125, "mprotect", sys_mprotect},
    {144, "msync", sys_msync},
    {150, "mlock", sys_mlock},
    {151, "munlock", sys_munlock},
    {152, "mlockall", sys_mlockall},
    {153, "munlockall", sys_munlockall},
    {163, "mremap", sys_mremap},
    {192, "mmap2", sys_mmap2},
    {218, "mincore", sys_mincore},
    {219, "madvise", sys_madvise},
    {274, "mbind", sys_mbind},
    {275, "get_mempolicy", sys_get_mempolicy},
    {276, "set_mempolicy", sys_set_mempolicy},
    {376, "mlock2", sys_mlock2},
    {0, NULL, NULL},
};
