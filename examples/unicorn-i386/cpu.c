/*
 * cpu.c - one Unicorn 2 engine per guest thread: the GDT and segments the
 * guest expects, the FPU as Linux starts a task, copying a CPU into a new
 * engine (fork, clone), and the loop that runs a thread: guest code with
 * klock released, then system calls, faults and signals with klock held.
 *
 * Unicorn runs the guest at CPL 0 with flat ring-0 code and data
 * descriptors; TLS descriptors live in GDT entries 6..8 as on Linux.  The
 * GDT is a host page of the thread's own, mapped read-only at GDT_ADDR by
 * mem_attach; accessed bits are preset so the CPU never writes it.  SS
 * must hold a 32-bit descriptor before the guest loads any segment:
 * otherwise its first `mov %ax,%gs` turns the stack 16-bit
 * (UNICORN-NOTES).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unicorn/x86.h>

#include "kernel.h"

#define GDT_CODE 4
#define GDT_DATA 5
#define GDT_TLS_MIN 6
#define GDT_TLS_MAX 8

uint32_t reg_get(struct thread *t, int reg)
{
    uint32_t v = 0;
    uc_reg_read(t->uc, reg, &v);
    return v;
}

void reg_set(struct thread *t, int reg, uint32_t v)
{
    uc_reg_write(t->uc, reg, &v);
}

static void reg_set16(struct thread *t, int reg, uint16_t v)
{
    uc_reg_write(t->uc, reg, &v);
}

static uint64_t flat_desc(unsigned type)
{
    /* base 0, limit 0xfffff pages, S=1, DPL 0, present, 32-bit, 4 KiB granularity */
    return 0xffffull | ((uint64_t)type << 40) | (1ull << 44) | (1ull << 47) | (0xfull << 48) |
           (1ull << 54) | (1ull << 55);
}

/* The int 0x80 hook and CPU exceptions: record and stop; cpu_run does the
 * work outside the engine (see kernel.h). */
static void hook_intr(uc_engine *uc, uint32_t intno, void *user)
{
    struct kthread *k = user;
    k->intno = (int)intno;
    if (intno != 0x80)
        k->fault_eip = reg_get(&k->t, UC_X86_REG_EIP);
    uc_emu_stop(uc);
}

/* Called by Unicorn before the exit check at the start of every block. */
static void hook_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    struct kthread *k = user;
    if (atomic_load_explicit(&k->kick, memory_order_relaxed) || !mem_fetch_ok(&k->t, addr, size))
        uc_emu_stop(uc);
}

static const int gprs[] = {UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
                           UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP, UC_X86_REG_ESP};

/* The FPU and SSE state of a new task (fninit; MXCSR as Linux sets it). */
static void fpu_reset(struct thread *t)
{
    reg_set16(t, UC_X86_REG_FPCW, 0x037f);
    reg_set16(t, UC_X86_REG_FPSW, 0);
    reg_set16(t, UC_X86_REG_FPTAG, 0xffff);
    reg_set(t, UC_X86_REG_MXCSR, 0x1f80);
    uint8_t zero[16] = {0};
    for (int i = 0; i < 8; i++)
        uc_reg_write(t->uc, UC_X86_REG_XMM0 + i, zero);
}

static int load_flat_segments(struct thread *t)
{
    uc_x86_mmr gdtr = {0, GDT_ADDR, 9 * 8 - 1, 0};
    if (uc_reg_write(t->uc, UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK)
        return -1;
    /* SS first (see the top of this file). */
    static const int data_regs[] = {UC_X86_REG_SS, UC_X86_REG_DS, UC_X86_REG_ES};
    for (int i = 0; i < 3; i++) {
        uint32_t sel = GDT_DATA << 3;
        if (uc_reg_write(t->uc, data_regs[i], &sel) != UC_ERR_OK)
            return -1;
    }
    uint32_t cs = GDT_CODE << 3;
    if (uc_reg_write(t->uc, UC_X86_REG_CS, &cs) != UC_ERR_OK)
        return -1;
    reg_set(t, UC_X86_REG_FS, 0);
    reg_set(t, UC_X86_REG_GS, 0);
    return 0;
}

int cpu_create(struct thread *t)
{
    uc_engine *uc;
    if (uc_open(UC_ARCH_X86, UC_MODE_32, &uc) != UC_ERR_OK)
        return -1;
    uint64_t *gdt = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (gdt == MAP_FAILED) {
        uc_close(uc);
        return -1;
    }
    gdt[GDT_CODE] = flat_desc(0xb); /* code, readable, accessed */
    gdt[GDT_DATA] = flat_desc(0x3); /* data, writable, accessed */
    t->uc = uc;
    t->gdt = gdt;
    t->precise = false;
    uc_hook h;
    if (uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)hook_intr, kth(t), 1, 0) != UC_ERR_OK ||
        uc_hook_add(uc, &h, UC_HOOK_BLOCK, (void *)hook_block, kth(t), 1, 0) != UC_ERR_OK)
        goto fail;
    if (mem_attach(t))
        goto fail;
    if (load_flat_segments(t))
        goto fail_attached;
    for (int i = 0; i < 8; i++)
        reg_set(t, gprs[i], 0);
    reg_set(t, UC_X86_REG_EFLAGS, 0x202);
    fpu_reset(t);
    return 0;
fail_attached:
    mem_detach(t);
fail:
    uc_close(uc);
    munmap(gdt, PAGE);
    t->uc = NULL;
    t->gdt = NULL;
    return -1;
}

void cpu_destroy(struct thread *t)
{
    if (!t->uc)
        return;
    mem_detach(t);
    uc_close(t->uc);
    t->uc = NULL;
    if (t->gdt)
        munmap(t->gdt, PAGE);
    t->gdt = NULL;
}

/* Copied one by one: uc_context_save/restore is for one engine. */
int cpu_copy(struct thread *to, const struct thread *from_c)
{
    struct thread *from = (struct thread *)from_c; /* reg_get takes no const */
    for (int i = GDT_TLS_MIN; i <= GDT_TLS_MAX; i++)
        to->gdt[i] = from->gdt[i];
    for (int i = 0; i < 8; i++)
        reg_set(to, gprs[i], reg_get(from, gprs[i]));
    reg_set(to, UC_X86_REG_EIP, reg_get(from, UC_X86_REG_EIP));
    reg_set(to, UC_X86_REG_EFLAGS, reg_get(from, UC_X86_REG_EFLAGS));
    /* Selectors after the TLS entries: a write reloads the descriptor. */
    static const int segs[] = {UC_X86_REG_SS, UC_X86_REG_DS, UC_X86_REG_ES,
                               UC_X86_REG_CS, UC_X86_REG_FS, UC_X86_REG_GS};
    for (int i = 0; i < 6; i++) {
        uint32_t sel = reg_get(from, segs[i]);
        if (uc_reg_write(to->uc, segs[i], &sel) != UC_ERR_OK)
            reg_set(to, segs[i], 0);
    }
    /* x87: the physical registers, then the status word (its TOP field
     * says which is ST0) and the tags. */
    for (int i = 0; i < 8; i++) {
        uint8_t fp[16] = {0};
        uc_reg_read(from->uc, UC_X86_REG_FP0 + i, fp);
        uc_reg_write(to->uc, UC_X86_REG_FP0 + i, fp);
    }
    static const int fpu16[] = {UC_X86_REG_FPCW, UC_X86_REG_FPSW, UC_X86_REG_FPTAG};
    for (int i = 0; i < 3; i++) {
        uint16_t v = 0;
        uc_reg_read(from->uc, fpu16[i], &v);
        uc_reg_write(to->uc, fpu16[i], &v);
    }
    for (int i = 0; i < 8; i++) {
        uint8_t x[16] = {0};
        uc_reg_read(from->uc, UC_X86_REG_XMM0 + i, x);
        uc_reg_write(to->uc, UC_X86_REG_XMM0 + i, x);
    }
    reg_set(to, UC_X86_REG_MXCSR, reg_get(from, UC_X86_REG_MXCSR));
    return 0;
}

void cpu_reset_for_exec(struct thread *t, uint32_t entry, uint32_t sp)
{
    for (int i = GDT_TLS_MIN; i <= GDT_TLS_MAX; i++)
        t->gdt[i] = 0;
    load_flat_segments(t);
    for (int i = 0; i < 8; i++)
        reg_set(t, gprs[i], 0);
    reg_set(t, UC_X86_REG_ESP, sp);
    reg_set(t, UC_X86_REG_EFLAGS, 0x202);
    reg_set(t, UC_X86_REG_EIP, entry);
    fpu_reset(t);
}

/* set_thread_area(struct user_desc *): a TLS descriptor in GDT 6..8. */
int cpu_set_tls(struct thread *t, uint32_t udesc)
{
    uint32_t d[4];
    if (guest_read(t, udesc, d, 16))
        return -EFAULT;
    uint32_t entry = d[0], base = d[1], limit = d[2], fl = d[3];
    if (entry == 0xFFFFFFFFu) {
        for (entry = GDT_TLS_MIN; entry <= GDT_TLS_MAX; entry++)
            if (!t->gdt[entry])
                break;
        if (entry > GDT_TLS_MAX)
            return -ESRCH;
        if (guest_write(t, udesc, &entry, 4))
            return -EFAULT;
    }
    if (entry < GDT_TLS_MIN || entry > GDT_TLS_MAX)
        return -EINVAL;
    unsigned seg32 = fl & 1, contents = (fl >> 1) & 3, ro = (fl >> 3) & 1, pages = (fl >> 4) & 1,
             notpresent = (fl >> 5) & 1, useable = (fl >> 6) & 1;
    uint64_t desc = 0;
    /* LDT_empty(): base, limit 0, read-exec-only and not present clears it. */
    if (!(base == 0 && limit == 0 && ro && notpresent)) {
        if (contents == 3) /* a code segment that is not present: refused as Linux does */
            return -EINVAL;
        unsigned type = (contents << 2) | (ro ? 0 : 2) | 1; /* accessed preset */
        desc = (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) | ((uint64_t)type << 40) |
               (1ull << 44) | (3ull << 45) | ((uint64_t)!notpresent << 47) |
               ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)useable << 52) |
               ((uint64_t)seg32 << 54) | ((uint64_t)pages << 55) |
               ((uint64_t)(base >> 24) << 56);
    }
    t->gdt[entry] = desc;
    /* A segment register holding this entry is refreshed, as Linux's
     * do_set_thread_area does (the CPU caches descriptors). */
    static const int segs[] = {UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_FS, UC_X86_REG_GS};
    for (int i = 0; i < 4; i++) {
        uint32_t sel = reg_get(t, segs[i]);
        if ((sel >> 3) == entry && uc_reg_write(t->uc, segs[i], &sel) != UC_ERR_OK)
            reg_set(t, segs[i], 0);
    }
    return 0;
}

/* ---- stopping engines (see kernel.h) ---- */

/* Any thread, with or without klock, while t exists; async-signal-safe
 * (mem.c kicks from its fault handler).  A thread blocked in kernel_wait
 * needs kernel_wake as well. */
void cpu_kick(struct thread *t)
{
    struct kthread *k = kth(t);
    atomic_store(&k->kick, true);
    if (atomic_load(&k->in_waitfd) && k->started)
        pthread_kill(t->host, kick_signal());
}

/* ---- the run token (kernel.h) ---- */

#define TIME_SLICE_NS 5000000

static void ts_after(struct timespec *ts, long ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ns;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static bool ts_le(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* The token of the processes with shared writable memory. */
static struct runtoken shared_run = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0,
                                     {0, 0}};
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void shared_init(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&shared_run.cv);
    pthread_cond_init(&shared_run.cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void token_acquire(struct runtoken *r, struct thread *t)
{
    pthread_mutex_lock(&r->m);
    uint64_t ticket = r->next++;
    while (r->holder || ticket != r->serving) {
        /* Timed even when the token is free: an earlier ticket may take
         * it without waking us, and its slice must still end. */
        struct timespec dl;
        ts_after(&dl, TIME_SLICE_NS);
        if (pthread_cond_timedwait(&r->cv, &r->m, &dl) != ETIMEDOUT || !r->holder)
            continue;
        /* The holder's slice is over: it stops at its next block. */
        struct timespec end = r->since;
        end.tv_nsec += TIME_SLICE_NS;
        if (end.tv_nsec >= 1000000000)
            end.tv_sec++, end.tv_nsec -= 1000000000;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ts_le(&end, &now))
            atomic_store(&kth(r->holder)->kick, true);
    }
    r->holder = t;
    clock_gettime(CLOCK_MONOTONIC, &r->since);
    pthread_mutex_unlock(&r->m);
}

static void token_release(struct runtoken *r)
{
    pthread_mutex_lock(&r->m);
    r->holder = NULL;
    r->serving++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->m);
}

/* Does t's process share writable memory with others?  Recomputed when
 * its regions change (klock). */
static void update_shared(struct thread *t)
{
    struct kprocess *kp = kproc(t->proc);
    struct mm *mm = t->proc->mm;
    uint64_t gen = atomic_load(&mm->gen);
    if (kp->shared_gen == gen)
        return;
    kp->shared_gen = gen;
    bool shared = atomic_load(&mm->refs) > 1;
    gmm_region_info ri;
    for (gmm_addr a = 0; !shared && gmm_space_region_next(mm->space, a, &ri); a = ri.end)
        shared = ri.shared && (ri.prot & GMM_PROT_WRITE);
    atomic_store(&kp->shared_mem, shared);
}

/* The process's token, then (lock order) the shared-memory one. */
void run_acquire(struct thread *t)
{
    token_acquire(&kproc(t->proc)->run, t);
    kth(t)->held_shared = atomic_load(&kproc(t->proc)->shared_mem);
    if (kth(t)->held_shared) {
        pthread_once(&shared_once, shared_init);
        token_acquire(&shared_run, t);
    }
}

void run_release(struct thread *t)
{
    if (kth(t)->held_shared)
        token_release(&shared_run);
    token_release(&kproc(t->proc)->run);
}

/* ---- the run loop ---- */

/* A CPU exception of the int hook as the signal Linux sends for it. */
static void exception_signal(struct thread *t, int intno, uint32_t eip)
{
    if (K.debug)
        dprintf(K.logfd, "guestmm-run-i386: [%d] CPU exception %d at %#x\n", t->tid, intno, eip);
    switch (intno) {
    case 0: signal_fault(t, G_SIGFPE, 1 /* FPE_INTDIV */, eip); break;
    case 1:
    case 3: signal_fault(t, G_SIGTRAP, 0x80 /* SI_KERNEL */, 0); break;
    case 6: signal_fault(t, G_SIGILL, 2 /* ILL_ILLOPN */, eip); break;
    case 16:
    case 19: signal_fault(t, G_SIGFPE, 0x80, eip); break;
    case 17: signal_fault(t, G_SIGBUS, 0x80, 0); break;
    default: signal_fault(t, G_SIGSEGV, 0x80 /* SI_KERNEL: #GP, int n */, 0); break;
    }
}

/* uc_emu_start returned with no interrupt recorded. */
static void stopped(struct thread *t, uc_err e)
{
    if (signal_pending(t))
        return; /* a memory hook reported the fault, or a kick */
    uint32_t eip = reg_get(t, UC_X86_REG_EIP);
    switch (e) {
    case UC_ERR_OK:
        /* Stopped (a kick, a time slice, mem.c), or the guest jumped to
         * RUN_UNTIL.  (A guest hlt halts Unicorn's CPU: the next
         * uc_emu_start spins until a kick; Linux would send SIGSEGV.) */
        if (eip == RUN_UNTIL)
            signal_fault(t, G_SIGSEGV, 1 /* SEGV_MAPERR */, eip);
        return;
    case UC_ERR_INSN_INVALID: signal_fault(t, G_SIGILL, 2, eip); return;
    case UC_ERR_READ_PROT:
    case UC_ERR_WRITE_PROT:
    case UC_ERR_FETCH_PROT: signal_fault(t, G_SIGSEGV, 2 /* SEGV_ACCERR */, eip); return;
    default:
        if (K.debug)
            dprintf(K.logfd, "guestmm-run-i386: [%d] stopped at %#x: %s\n", t->tid, eip,
                    uc_strerror(e));
        signal_fault(t, G_SIGSEGV, 1, eip);
        return;
    }
}

void cpu_run(struct thread *t)
{
    struct kthread *k = kth(t);
    current = t;
    pthread_mutex_lock(&klock);
    for (;;) {
        if (t->exiting || t->proc->group_exiting)
            thread_exit(t, t->exit_code);
        if (signal_pending(t))
            signal_deliver(t); /* may end the thread */
        if (t->exiting || t->proc->group_exiting)
            continue;
        if (t->in_syscall) {
            /* Interrupted with nothing delivered: Linux restarts the call. */
            if ((int32_t)reg_get(t, UC_X86_REG_EAX) == -ERESTARTSYS) {
                reg_set(t, UC_X86_REG_EIP, reg_get(t, UC_X86_REG_EIP) - 2);
                reg_set(t, UC_X86_REG_EAX, t->syscall_nr);
            }
            t->in_syscall = false;
        }
        mem_sync(t);
        update_shared(t);
        k->intno = -1;
        atomic_store(&k->in_emu, true);
        /* A kick from now on stops the run below; earlier ones were for
         * what this iteration just handled. */
        atomic_store(&k->kick, false);
        pthread_mutex_unlock(&klock);

        run_acquire(t);
        uc_err e = UC_ERR_OK;
        if (!atomic_load(&k->kick)) /* kicked while waiting for the token */
            e = uc_emu_start(t->uc, reg_get(t, UC_X86_REG_EIP), RUN_UNTIL, 0, 0);
        run_release(t);

        atomic_store(&k->in_emu, false);
        if (k->intno == 0x80) {
            atomic_store(&k->kick, false);
            do_syscall(t);
            pthread_mutex_lock(&klock);
            continue;
        }
        pthread_mutex_lock(&klock);
        if (k->intno >= 0)
            exception_signal(t, k->intno, k->fault_eip);
        else
            stopped(t, e);
        atomic_store(&k->kick, false);
    }
}
