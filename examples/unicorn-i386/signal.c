/*
 * signal.c - Linux signals for guest threads: actions (shared by
 * CLONE_SIGHAND), per-thread masks and pending sets, the process's shared
 * pending set, delivery on i386 frames (struct sigframe or rt_sigframe with
 * siginfo and ucontext, as the kernel's ia32 code lays them out), default
 * actions, sigreturn, sigsuspend, sigaltstack and the kill family.
 *
 * Everything here runs with klock held, except signal_fault, which only
 * the faulting thread calls (from mem.c's hooks or handler, or cpu.c): its
 * bit goes into t->pending.set with an atomic OR, and every change to a
 * thread's pending set is atomic for that reason.
 *
 * The FPU and SSE state goes in the frame as Linux's struct _fpstate_32
 * (fnsave image, then the fxsave image sigreturn restores from).
 *
 * Not done: real-time signals do not queue more than one instance, stop signals (SIGSTOP,
 * SIGTSTP, SIGTTIN, SIGTTOU) act as ignored (there is no job control) and
 * no default action dumps core (the wait status never has 0x80).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unicorn/x86.h>

#include "kernel.h"

#define SA_NOCLDSTOP_G 0x00000001u
#define SA_NOCLDWAIT_G 0x00000002u
#define SA_SIGINFO_G 0x00000004u
#define SA_ONSTACK_G 0x08000000u
#define SA_RESTART_G 0x10000000u
#define SA_RESTORER_G 0x04000000u
#define SA_NODEFER_G 0x40000000u
#define SA_RESETHAND_G 0x80000000u

#define SS_ONSTACK_G 1
#define SS_DISABLE_G 2
#define SS_AUTODISARM_G (1u << 31)
#define MINSIGSTKSZ_G 2048

#define SI_USER_G 0
#define SI_TKILL_G (-6)
#define SI_QUEUE_G (-1)

#define SIGCONTEXT_SIZE 88
#define SIGINFO_SIZE 128
#define UC_SIZE (20 + SIGCONTEXT_SIZE + 8)

#define UNBLOCKABLE (sigbit(G_SIGKILL) | sigbit(G_SIGSTOP))

/* ---- actions ---- */

struct sighand *sighand_new(void)
{
    struct sighand *s = calloc(1, sizeof(*s));
    if (s)
        s->refs = 1;
    return s;
}

struct sighand *sighand_copy(const struct sighand *from)
{
    struct sighand *s = malloc(sizeof(*s));
    if (s) {
        *s = *from;
        s->refs = 1;
    }
    return s;
}

void sighand_put(struct sighand *s)
{
    if (s && --s->refs == 0)
        free(s);
}

void signal_exec(struct process *p)
{
    if (p->sigh->refs > 1) {
        struct sighand *n = sighand_copy(p->sigh);
        if (n) {
            sighand_put(p->sigh);
            p->sigh = n;
        }
    }
    /* Handled signals go back to SIG_DFL; ignored ones stay ignored. */
    for (int i = 1; i <= NSIG_G; i++) {
        struct guest_sigaction *a = &p->sigh->act[i];
        uint32_t h = a->handler;
        memset(a, 0, sizeof(*a));
        if (h == 1)
            a->handler = 1;
    }
}

static bool default_ignores(int signo)
{
    /* The stop signals too: no job control here (see the top). */
    return signo == G_SIGCHLD || signo == G_SIGURG || signo == G_SIGWINCH ||
           signo == G_SIGCONT || signo == G_SIGSTOP || signo == G_SIGTSTP ||
           signo == G_SIGTTIN || signo == G_SIGTTOU;
}

/* sig_ignored(): discarded when sent, unless the target blocks it. */
static bool ignored(struct process *p, int signo)
{
    if (signo == G_SIGKILL || !p->sigh)
        return false;
    const struct guest_sigaction *a = &p->sigh->act[signo];
    return a->handler == 1 || (a->handler == 0 && default_ignores(signo));
}

bool signal_autoreap(struct process *parent)
{
    if (!parent || !parent->sigh)
        return false;
    const struct guest_sigaction *a = &parent->sigh->act[G_SIGCHLD];
    return a->handler == 1 || (a->flags & SA_NOCLDWAIT_G);
}

/* ---- pending sets ---- */

static uint64_t thread_pending(struct thread *t)
{
    return __atomic_load_n(&t->pending.set, __ATOMIC_ACQUIRE);
}

static void pend(struct sigqueue *q, const struct siginfo_g *info, bool atomic)
{
    /* One instance per signal; a fault keeps the first fault's details. */
    uint64_t bit = sigbit(info->signo);
    if (!(q->set & bit) || !q->info[info->signo].fault)
        q->info[info->signo] = *info;
    if (atomic)
        __atomic_fetch_or(&q->set, bit, __ATOMIC_RELEASE);
    else
        q->set |= bit;
}

static uint64_t thread_faults(struct thread *t)
{
    uint64_t set = thread_pending(t), f = 0;
    for (int s = 1; set >> (s - 1); s++)
        if ((set & sigbit(s)) && t->pending.info[s].fault)
            f |= sigbit(s);
    return f;
}

bool signal_pending(struct thread *t)
{
    uint64_t th = thread_pending(t);
    if (!th && !t->proc->shared_pending.set)
        return false;
    if ((th | t->proc->shared_pending.set) & ~t->blocked)
        return true;
    return thread_faults(t) != 0;
}

static void pick_and_wake(struct process *p, int signo)
{
    /* Prefer the thread in a system call now, then any that takes it. */
    struct thread *target = NULL;
    if (current && current->proc == p && !(current->blocked & sigbit(signo)))
        target = current;
    for (struct thread *t = p->threads; t && !target; t = t->next_in_proc)
        if (!(t->blocked & sigbit(signo)) && !t->exiting)
            target = t;
    if (target && target != current) {
        kernel_wake(target);
        cpu_kick(target);
    }
}

void signal_thread(struct thread *t, const struct siginfo_g *info)
{
    int signo = info->signo;
    if (signo < 1 || signo > NSIG_G)
        return;
    struct process *p = t->proc;
    if (p->group_exiting || p->zombie)
        return;
    if (signo == G_SIGKILL) {
        signal_process(p, info);
        return;
    }
    if (!info->fault && !(t->blocked & sigbit(signo)) && ignored(p, signo))
        return;
    pend(&t->pending, info, true);
    if (!(t->blocked & sigbit(signo)) && t != current) {
        kernel_wake(t);
        cpu_kick(t);
    }
}

void signal_process(struct process *p, const struct siginfo_g *info)
{
    int signo = info->signo;
    if (signo < 1 || signo > NSIG_G || p->zombie || p->group_exiting)
        return;
    if (signo == G_SIGKILL) {
        /* Dies now: every thread leaves at its next stop. */
        p->group_exiting = true;
        p->group_exit_status = G_SIGKILL;
        for (struct thread *t = p->threads; t; t = t->next_in_proc) {
            if (t != current) {
                kernel_wake(t);
                cpu_kick(t);
            }
        }
        return;
    }
    bool blocked_by_all = true;
    for (struct thread *t = p->threads; t; t = t->next_in_proc)
        if (!(t->blocked & sigbit(signo)))
            blocked_by_all = false;
    if (!blocked_by_all && ignored(p, signo))
        return;
    pend(&p->shared_pending, info, false);
    pick_and_wake(p, signo);
}

void signal_fault(struct thread *t, int signo, int code, uint32_t addr)
{
    if (signo < 1 || signo > NSIG_G)
        return;
    struct siginfo_g info = {.signo = signo, .code = code, .addr = addr, .fault = true};
    pend(&t->pending, &info, true);
}

void signal_child_exit(struct process *c)
{
    struct process *parent = c->parent;
    if (!parent || !c->exit_signal)
        return;
    int st = c->wait_status;
    struct siginfo_g info = {.signo = c->exit_signal, .pid = c->pid, .uid = (int)getuid()};
    if ((st & 0x7f) == 0) {
        info.code = 1; /* CLD_EXITED */
        info.status = (st >> 8) & 0xff;
    } else {
        info.code = (st & 0x80) ? 3 /* CLD_DUMPED */ : 2 /* CLD_KILLED */;
        info.status = st & 0x7f;
    }
    signal_process(parent, &info);
}

/* Takes the next signal t should act on: a fault first, then the lowest
 * unblocked one of the thread, then of the process.  0 when none. */
static int dequeue(struct thread *t, uint64_t allowed, struct siginfo_g *out)
{
    uint64_t faults = thread_faults(t);
    uint64_t th = thread_pending(t), sh = t->proc->shared_pending.set;
    uint64_t mine = faults ? faults : th & allowed;
    if (mine) {
        int s = __builtin_ctzll(mine) + 1;
        *out = t->pending.info[s];
        __atomic_fetch_and(&t->pending.set, ~sigbit(s), __ATOMIC_ACQ_REL);
        return s;
    }
    if (sh & allowed) {
        int s = __builtin_ctzll(sh & allowed) + 1;
        *out = t->proc->shared_pending.info[s];
        t->proc->shared_pending.set &= ~sigbit(s);
        return s;
    }
    return 0;
}

_Noreturn void die_by_signal(struct thread *t, int signo)
{
    process_exit_group(t, signo);
}

/* ---- frames ---- */

static void put32(uint8_t *b, size_t off, uint32_t v)
{
    memcpy(b + off, &v, 4);
}

static uint32_t get32(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

static const int sc_regs[] = {UC_X86_REG_EDI, UC_X86_REG_ESI, UC_X86_REG_EBP, UC_X86_REG_ESP,
                              UC_X86_REG_EBX, UC_X86_REG_EDX, UC_X86_REG_ECX, UC_X86_REG_EAX};

/* struct sigcontext_32 */
static void save_sigcontext(struct thread *t, uint8_t *sc, uint64_t mask, bool fault,
                            uint32_t cr2, uint32_t fpstate)
{
    memset(sc, 0, SIGCONTEXT_SIZE);
    put32(sc, 0, reg_get(t, UC_X86_REG_GS));
    put32(sc, 4, reg_get(t, UC_X86_REG_FS));
    put32(sc, 8, reg_get(t, UC_X86_REG_ES));
    put32(sc, 12, reg_get(t, UC_X86_REG_DS));
    for (int i = 0; i < 8; i++)
        put32(sc, 16 + 4 * (size_t)i, reg_get(t, sc_regs[i]));
    put32(sc, 48, fault ? 14 : 0); /* trapno: page fault */
    put32(sc, 52, 0);              /* err */
    put32(sc, 56, reg_get(t, UC_X86_REG_EIP));
    put32(sc, 60, reg_get(t, UC_X86_REG_CS));
    put32(sc, 64, reg_get(t, UC_X86_REG_EFLAGS));
    put32(sc, 68, reg_get(t, UC_X86_REG_ESP));
    put32(sc, 72, reg_get(t, UC_X86_REG_SS));
    put32(sc, 76, fpstate);
    put32(sc, 80, (uint32_t)mask);
    put32(sc, 84, cr2);
}

static void restore_sigcontext(struct thread *t, const uint8_t *sc)
{
    for (int i = 0; i < 8; i++)
        reg_set(t, sc_regs[i], get32(sc, 16 + 4 * (size_t)i));
    /* Arithmetic flags, TF, DF, OF, AC: FIX_EFLAGS of the kernel. */
    uint32_t fl = reg_get(t, UC_X86_REG_EFLAGS);
    fl = (fl & ~0x40dd5u) | (get32(sc, 64) & 0x40dd5u);
    reg_set(t, UC_X86_REG_EFLAGS, fl);
    reg_set(t, UC_X86_REG_EIP, get32(sc, 56));
}

/* struct _fpstate_32: the fnsave image (112 bytes with status and magic),
 * then the fxsave image (512 bytes), which Linux aligns to 64. */
#define FNSAVE_SIZE 112
#define FXSAVE_SIZE 512
#define FPSTATE_SIZE (FNSAVE_SIZE + FXSAVE_SIZE)

static void put16(uint8_t *b, size_t off, uint16_t v)
{
    memcpy(b + off, &v, 2);
}

static uint16_t get16(const uint8_t *b, size_t off)
{
    uint16_t v;
    memcpy(&v, b + off, 2);
    return v;
}

static void save_fpstate(struct thread *t, uint8_t *fp)
{
    memset(fp, 0, FPSTATE_SIZE);
    uint16_t cw = 0, sw = 0, tag = 0;
    uint32_t mxcsr = 0;
    uc_reg_read(t->uc, UC_X86_REG_FPCW, &cw);
    uc_reg_read(t->uc, UC_X86_REG_FPSW, &sw);
    uc_reg_read(t->uc, UC_X86_REG_FPTAG, &tag);
    uc_reg_read(t->uc, UC_X86_REG_MXCSR, &mxcsr);
    put32(fp, 0, 0xffff0000u | cw);
    put32(fp, 4, 0xffff0000u | sw);
    put32(fp, 8, 0xffff0000u | tag);
    uint8_t *fx = fp + FNSAVE_SIZE;
    uint8_t abridged = 0;
    for (int i = 0; i < 8; i++) {
        if (((tag >> (2 * i)) & 3) != 3)
            abridged |= (uint8_t)(1u << i);
        uint8_t st[16] = {0};
        uc_reg_read(t->uc, UC_X86_REG_ST0 + i, st); /* 80 bits, stack order */
        memcpy(fp + 28 + 10 * (size_t)i, st, 10);
        memcpy(fx + 32 + 16 * (size_t)i, st, 10);
        uc_reg_read(t->uc, UC_X86_REG_XMM0 + i, fx + 160 + 16 * (size_t)i);
    }
    put16(fp, 108, sw);  /* status */
    put16(fp, 110, 0);   /* magic: X86_FXSR_MAGIC, the fxsave image follows */
    put16(fx, 0, cw);
    put16(fx, 2, sw);
    fx[4] = abridged;
    put32(fx, 24, mxcsr);
    put32(fx, 28, 0xffff); /* MXCSR_MASK */
}

static void restore_fpstate(struct thread *t, const uint8_t *fx)
{
    uint16_t cw = get16(fx, 0), sw = get16(fx, 2), tag = 0;
    for (int i = 0; i < 8; i++)
        if (!(fx[4] & (1u << i)))
            tag |= (uint16_t)(3u << (2 * i));
    uint32_t mxcsr = get32(fx, 24) & 0xffff;
    uc_reg_write(t->uc, UC_X86_REG_FPCW, &cw);
    uc_reg_write(t->uc, UC_X86_REG_FPSW, &sw); /* TOP first: ST(i) depends on it */
    uc_reg_write(t->uc, UC_X86_REG_FPTAG, &tag);
    for (int i = 0; i < 8; i++) {
        uint8_t st[16] = {0};
        memcpy(st, fx + 32 + 16 * (size_t)i, 10);
        uc_reg_write(t->uc, UC_X86_REG_ST0 + i, st);
        uc_reg_write(t->uc, UC_X86_REG_XMM0 + i, fx + 160 + 16 * (size_t)i);
    }
    uc_reg_write(t->uc, UC_X86_REG_MXCSR, &mxcsr);
}

/* sigreturn: the FPU and SSE state the frame's fpstate points to. */
static bool restore_fpstate_at(struct thread *t, uint32_t fpstate)
{
    if (!fpstate)
        return true;
    uint8_t fx[FXSAVE_SIZE];
    if (guest_read(t, fpstate + FNSAVE_SIZE, fx, sizeof(fx)))
        return false;
    restore_fpstate(t, fx);
    return true;
}

static bool on_altstack(struct thread *t, uint32_t sp)
{
    return t->altstack_size && sp - t->altstack_sp < t->altstack_size;
}

static uint32_t altstack_flags(struct thread *t, uint32_t sp)
{
    if (!t->altstack_size)
        return SS_DISABLE_G;
    return (on_altstack(t, sp) ? SS_ONSTACK_G : 0) |
           ((uint32_t)t->altstack_flags & SS_AUTODISARM_G);
}

/* Builds the frame and points the CPU at the handler: false when the
 * frame cannot be written. */
static bool setup_frame(struct thread *t, int signo, const struct siginfo_g *info,
                        const struct guest_sigaction *a, uint64_t saved_mask)
{
    bool rt = (a->flags & SA_SIGINFO_G) != 0;
    uint32_t sp = reg_get(t, UC_X86_REG_ESP);
    uint32_t stack_sp = sp;
    if ((a->flags & SA_ONSTACK_G) && t->altstack_size && !on_altstack(t, sp))
        sp = t->altstack_sp + t->altstack_size;
    /* The FPU state right below the stack pointer, the frame below it. */
    uint32_t fx = (sp - FXSAVE_SIZE) & ~63u;
    uint32_t fpstate = fx - FNSAVE_SIZE;
    uint8_t fpbuf[FPSTATE_SIZE];
    save_fpstate(t, fpbuf);
    if (guest_write(t, fpstate, fpbuf, sizeof(fpbuf)))
        return false;
    sp = fpstate;
    uint8_t frame[4 + 4 + 4 + 4 + SIGINFO_SIZE + UC_SIZE + 8];
    memset(frame, 0, sizeof(frame));
    size_t size;
    uint32_t base;
    uint32_t cr2 = info->fault ? info->addr : 0;
    if (rt) {
        size = sizeof(frame);
        base = (uint32_t)(((sp - size) + 4) & ~15u) - 4; /* as get_sigframe() aligns */
        uint32_t uinfo = base + 16, uuc = uinfo + SIGINFO_SIZE;
        put32(frame, 0, a->restorer);
        put32(frame, 4, (uint32_t)signo);
        put32(frame, 8, uinfo);
        put32(frame, 12, uuc);
        uint8_t *si = frame + 16;
        put32(si, 0, (uint32_t)signo);
        put32(si, 4, 0); /* si_errno */
        put32(si, 8, (uint32_t)info->code);
        if (info->fault) {
            put32(si, 12, info->addr); /* si_addr */
        } else {
            put32(si, 12, (uint32_t)info->pid);
            put32(si, 16, (uint32_t)info->uid);
            /* SIGCHLD's si_status, or rt_sigqueueinfo's si_value */
            put32(si, 20, (uint32_t)info->status);
        }
        uint8_t *ucp = si + SIGINFO_SIZE;
        /* uc_flags, uc_link, uc_stack (ss_sp, ss_flags, ss_size) */
        put32(ucp, 8, t->altstack_sp);
        put32(ucp, 12, altstack_flags(t, stack_sp));
        put32(ucp, 16, t->altstack_size);
        save_sigcontext(t, ucp + 20, saved_mask, info->fault, cr2, fpstate);
        memcpy(ucp + 20 + SIGCONTEXT_SIZE, &saved_mask, 8);
    } else {
        /* struct sigframe_ia32: pretcode, sig, sigcontext, fpstate (unused
         * here), extramask, retcode */
        size = 4 + 4 + SIGCONTEXT_SIZE + 4 + 8;
        base = (uint32_t)(((sp - size) + 4) & ~15u) - 4;
        put32(frame, 0, a->restorer);
        put32(frame, 4, (uint32_t)signo);
        save_sigcontext(t, frame + 8, saved_mask, info->fault, cr2, fpstate);
        put32(frame, 8 + SIGCONTEXT_SIZE, (uint32_t)(saved_mask >> 32));
    }
    /* No way back from the handler without a restorer (glibc and musl
     * always give one: i386 has no vdso here). */
    if (!(a->flags & SA_RESTORER_G) || guest_write(t, base, frame, size) != 0)
        return false;
    if ((a->flags & SA_ONSTACK_G) && (t->altstack_flags & SS_AUTODISARM_G)) {
        t->altstack_sp = t->altstack_size = 0;
        t->altstack_flags = SS_DISABLE_G;
    }
    reg_set(t, UC_X86_REG_ESP, base);
    reg_set(t, UC_X86_REG_EIP, a->handler);
    reg_set(t, UC_X86_REG_EAX, (uint32_t)signo);
    reg_set(t, UC_X86_REG_EDX, rt ? base + 16 : 0);
    reg_set(t, UC_X86_REG_ECX, rt ? base + 16 + SIGINFO_SIZE : 0);
    uint32_t fl = reg_get(t, UC_X86_REG_EFLAGS);
    reg_set(t, UC_X86_REG_EFLAGS, fl & ~0x500u); /* TF, DF */
    return true;
}

/* A call that returned -ERESTARTSYS: restarted (EIP back over int 0x80,
 * EAX the call's number again) or -EINTR, as handle_signal() does. */
static void syscall_fixup(struct thread *t, bool restart)
{
    if (!t->in_syscall)
        return;
    t->in_syscall = false;
    if ((int32_t)reg_get(t, UC_X86_REG_EAX) != -ERESTARTSYS)
        return;
    if (restart) {
        reg_set(t, UC_X86_REG_EIP, reg_get(t, UC_X86_REG_EIP) - 2);
        reg_set(t, UC_X86_REG_EAX, t->syscall_nr);
    } else {
        reg_set(t, UC_X86_REG_EAX, (uint32_t)-EINTR);
    }
}

void signal_deliver(struct thread *t)
{
    struct process *p = t->proc;
    for (;;) {
        if (t->exiting || p->group_exiting)
            return;
        struct siginfo_g info;
        int signo = dequeue(t, ~t->blocked, &info);
        if (!signo)
            break;
        struct guest_sigaction *a = &p->sigh->act[signo];
        struct guest_sigaction act = *a;
        if (info.fault && (act.handler == 1 || (t->blocked & sigbit(signo)))) {
            /* force_sig_info(): a fault that cannot reach a handler kills. */
            act.handler = 0;
        }
        if (act.handler == 1)
            continue;
        if (act.handler == 0) {
            if (default_ignores(signo) && signo != G_SIGKILL)
                continue;
            if (K.debug)
                dprintf(K.logfd,
                        "guestmm-run-i386: [%d] killed by signal %d (code %d, addr %#x, eip %#x)\n",
                        t->tid, signo, info.code, info.addr, reg_get(t, UC_X86_REG_EIP));
            die_by_signal(t, signo);
        }
        syscall_fixup(t, (act.flags & SA_RESTART_G) != 0);
        uint64_t saved = t->restore_mask ? t->saved_mask : t->blocked;
        t->restore_mask = false;
        if (!setup_frame(t, signo, &info, &act, saved)) {
            if (K.debug)
                dprintf(K.logfd, "guestmm-run-i386: [%d] cannot build the frame of signal %d\n",
                        t->tid, signo);
            die_by_signal(t, G_SIGSEGV);
        }
        t->blocked |= act.mask;
        if (!(act.flags & SA_NODEFER_G))
            t->blocked |= sigbit(signo);
        t->blocked &= ~UNBLOCKABLE;
        if (act.flags & SA_RESETHAND_G)
            a->handler = 0, a->flags &= ~SA_SIGINFO_G;
        return;
    }
    /* No handler ran: a restartable call restarts, sigsuspend's mask goes. */
    syscall_fixup(t, true);
    if (t->restore_mask) {
        t->blocked = t->saved_mask;
        t->restore_mask = false;
    }
}

/* ---- system calls ---- */

static int64_t sys_sigreturn(struct thread *t, const uint32_t a[6])
{
    (void)a;
    uint32_t sp = reg_get(t, UC_X86_REG_ESP);
    uint8_t sc[SIGCONTEXT_SIZE];
    uint32_t hi;
    /* __restore pops the signal number first: sp is &frame->sc. */
    uint32_t f = sp - 8;
    if (guest_read(t, f + 8, sc, sizeof(sc)) ||
        guest_read(t, f + 8 + SIGCONTEXT_SIZE, &hi, 4) || !restore_fpstate_at(t, get32(sc, 76)))
        die_by_signal(t, G_SIGSEGV);
    uint64_t mask = get32(sc, 80) | (uint64_t)hi << 32;
    t->blocked = mask & ~UNBLOCKABLE;
    restore_sigcontext(t, sc);
    t->in_syscall = false; /* never restarted */
    return get32(sc, 16 + 4 * 7);
}

static int64_t sys_rt_sigreturn(struct thread *t, const uint32_t a[6])
{
    (void)a;
    uint32_t sp = reg_get(t, UC_X86_REG_ESP);
    uint8_t sc[SIGCONTEXT_SIZE];
    uint64_t mask;
    uint32_t st[3];
    /* The restorer's ret popped pretcode: sp is &frame->sig. */
    uint32_t uc = sp - 4 + 16 + SIGINFO_SIZE;
    if (guest_read(t, uc + 8, st, sizeof(st)) || guest_read(t, uc + 20, sc, sizeof(sc)) ||
        guest_read(t, uc + 20 + SIGCONTEXT_SIZE, &mask, 8) ||
        !restore_fpstate_at(t, get32(sc, 76)))
        die_by_signal(t, G_SIGSEGV);
    t->blocked = mask & ~UNBLOCKABLE;
    restore_sigcontext(t, sc);
    /* restore_altstack(): what the frame says, when it is valid. */
    uint32_t esp = get32(sc, 16 + 4 * 3);
    if (!on_altstack(t, esp)) {
        if (st[1] & SS_DISABLE_G) {
            t->altstack_sp = t->altstack_size = 0;
            t->altstack_flags = SS_DISABLE_G;
        } else if (st[2] >= MINSIGSTKSZ_G) {
            t->altstack_sp = st[0];
            t->altstack_size = st[2];
            t->altstack_flags = (int)(st[1] & SS_AUTODISARM_G);
        }
    }
    t->in_syscall = false;
    return get32(sc, 16 + 4 * 7);
}

static void precise_for_faults(struct thread *t, int signo, const struct guest_sigaction *a)
{
    /* A handler for a fault signal needs EIP-exact faults: mem.c gives
     * them to every engine of the mm at its next mem_sync. */
    if (a->handler <= 1 || (signo != G_SIGSEGV && signo != G_SIGBUS))
        return;
    if (!atomic_load(&t->proc->mm->precise))
        mem_enable_precise(t);
}

static int set_action(struct thread *t, int sig, const struct guest_sigaction *n,
                      struct guest_sigaction *old)
{
    if (sig < 1 || sig > NSIG_G)
        return -EINVAL;
    struct sighand *sh = t->proc->sigh;
    if (old)
        *old = sh->act[sig];
    if (!n)
        return 0;
    if (sig == G_SIGKILL || sig == G_SIGSTOP)
        return -EINVAL;
    sh->act[sig] = *n;
    sh->act[sig].mask &= ~UNBLOCKABLE;
    precise_for_faults(t, sig, n);
    /* Setting SIG_IGN (or SIG_DFL of an ignored-by-default signal)
     * discards what is pending. */
    if (ignored(t->proc, sig)) {
        t->proc->shared_pending.set &= ~sigbit(sig);
        for (struct thread *o = t->proc->threads; o; o = o->next_in_proc)
            if (!o->pending.info[sig].fault)
                __atomic_fetch_and(&o->pending.set, ~sigbit(sig), __ATOMIC_ACQ_REL);
    }
    return 0;
}

static int64_t sys_rt_sigaction(struct thread *t, const uint32_t a[6])
{
    int sig = (int)a[0];
    if (a[3] != 8)
        return -EINVAL;
    struct guest_sigaction n, o;
    if (a[1]) {
        uint32_t v[5];
        if (guest_read(t, a[1], v, 20))
            return -EFAULT;
        n = (struct guest_sigaction){v[0], v[1], v[2], v[3] | (uint64_t)v[4] << 32};
    }
    int r = set_action(t, sig, a[1] ? &n : NULL, &o);
    if (r)
        return r;
    if (a[2]) {
        uint32_t v[5] = {o.handler, o.flags, o.restorer, (uint32_t)o.mask,
                         (uint32_t)(o.mask >> 32)};
        if (guest_write(t, a[2], v, 20))
            return -EFAULT;
    }
    return 0;
}

/* sigaction(2) with struct old_sigaction: handler, mask, flags, restorer. */
static int64_t sys_sigaction(struct thread *t, const uint32_t a[6])
{
    int sig = (int)a[0];
    struct guest_sigaction n, o;
    if (a[1]) {
        uint32_t v[4];
        if (guest_read(t, a[1], v, 16))
            return -EFAULT;
        n = (struct guest_sigaction){v[0], v[2], v[3], v[1]};
    }
    int r = set_action(t, sig, a[1] ? &n : NULL, &o);
    if (r)
        return r;
    if (a[2]) {
        uint32_t v[4] = {o.handler, (uint32_t)o.mask, o.flags, o.restorer};
        if (guest_write(t, a[2], v, 16))
            return -EFAULT;
    }
    return 0;
}

static int64_t sys_signal(struct thread *t, const uint32_t a[6])
{
    /* signal(2) of the kernel: SA_ONESHOT | SA_NOMASK semantics. */
    struct guest_sigaction n = {a[1], SA_RESETHAND_G | SA_NODEFER_G, 0, 0}, o;
    int r = set_action(t, (int)a[0], &n, &o);
    return r ? (int64_t)r : (int64_t)o.handler;
}

static int change_mask(struct thread *t, int how, uint64_t set)
{
    set &= ~UNBLOCKABLE;
    switch (how) {
    case 0: t->blocked |= set; break;  /* SIG_BLOCK */
    case 1: t->blocked &= ~set; break; /* SIG_UNBLOCK */
    case 2: t->blocked = set; break;   /* SIG_SETMASK */
    default: return -EINVAL;
    }
    return 0;
}

static int64_t sys_rt_sigprocmask(struct thread *t, const uint32_t a[6])
{
    if (a[3] != 8)
        return -EINVAL;
    uint64_t old = t->blocked;
    if (a[1]) {
        uint64_t s;
        if (guest_read(t, a[1], &s, 8))
            return -EFAULT;
        int r = change_mask(t, (int)a[0], s);
        if (r)
            return r;
    }
    if (a[2] && guest_write(t, a[2], &old, 8))
        return -EFAULT;
    return 0;
}

static int64_t sys_sigprocmask(struct thread *t, const uint32_t a[6])
{
    uint32_t old = (uint32_t)t->blocked;
    if (a[1]) {
        uint32_t s;
        if (guest_read(t, a[1], &s, 4))
            return -EFAULT;
        uint64_t set = s;
        if (a[0] == 2) /* SIG_SETMASK keeps the upper half */
            set |= t->blocked & 0xffffffff00000000ull;
        int r = change_mask(t, (int)a[0], set);
        if (r)
            return r;
    }
    if (a[2] && guest_write(t, a[2], &old, 4))
        return -EFAULT;
    return 0;
}

static uint64_t pending_blocked(struct thread *t)
{
    return (thread_pending(t) | t->proc->shared_pending.set) & t->blocked;
}

static int64_t sys_rt_sigpending(struct thread *t, const uint32_t a[6])
{
    if (a[1] > 8)
        return -EINVAL;
    uint64_t s = pending_blocked(t);
    return guest_write(t, a[0], &s, a[1]) ? -EFAULT : 0;
}

static int64_t sys_sigpending(struct thread *t, const uint32_t a[6])
{
    uint32_t s = (uint32_t)pending_blocked(t);
    return guest_write(t, a[0], &s, 4) ? -EFAULT : 0;
}

static int64_t suspend(struct thread *t, uint64_t mask)
{
    t->saved_mask = t->blocked;
    t->restore_mask = true;
    t->blocked = mask & ~UNBLOCKABLE;
    while (kernel_wait(t, NULL) == 0)
        ;
    /* signal_deliver puts the mask back after the handler's frame. */
    return -EINTR;
}

static int64_t sys_rt_sigsuspend(struct thread *t, const uint32_t a[6])
{
    if (a[1] != 8)
        return -EINVAL;
    uint64_t m;
    if (guest_read(t, a[0], &m, 8))
        return -EFAULT;
    return suspend(t, m);
}

/* i386's old sigsuspend(int, int, old_sigset_t): the mask is the third. */
static int64_t sys_sigsuspend(struct thread *t, const uint32_t a[6])
{
    return suspend(t, (t->blocked & 0xffffffff00000000ull) | a[2]);
}

static int64_t sys_pause(struct thread *t, const uint32_t a[6])
{
    (void)a;
    while (kernel_wait(t, NULL) == 0)
        ;
    return -EINTR;
}

static int64_t do_sigtimedwait(struct thread *t, const uint32_t a[6], bool wide)
{
    if (a[3] != 8)
        return -EINVAL;
    uint64_t set;
    if (guest_read(t, a[0], &set, 8))
        return -EFAULT;
    set &= ~UNBLOCKABLE;
    struct timespec dl, *dlp = NULL;
    if (a[2]) {
        int64_t sec, nsec;
        if (wide) {
            int64_t v[2];
            if (guest_read(t, a[2], v, 16))
                return -EFAULT;
            sec = v[0], nsec = v[1];
        } else {
            int32_t v[2];
            if (guest_read(t, a[2], v, 8))
                return -EFAULT;
            sec = v[0], nsec = v[1];
        }
        if (sec < 0 || nsec < 0 || nsec >= 1000000000)
            return -EINVAL;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += (time_t)sec;
        dl.tv_nsec += (long)nsec;
        if (dl.tv_nsec >= 1000000000)
            dl.tv_sec++, dl.tv_nsec -= 1000000000;
        dlp = &dl;
    }
    struct siginfo_g info;
    int signo;
    for (;;) {
        signo = dequeue(t, set, &info);
        if (signo)
            break;
        /* The waited-for signals wake this thread while it waits. */
        uint64_t saved = t->blocked;
        t->blocked &= ~set;
        int r = kernel_wait(t, dlp);
        t->blocked = saved;
        if (r == -ETIMEDOUT)
            return -EAGAIN;
        if (r) {
            signo = dequeue(t, set, &info);
            if (signo)
                break;
            return -EINTR;
        }
    }
    if (a[1]) {
        uint32_t si[SIGINFO_SIZE / 4] = {0};
        si[0] = (uint32_t)signo;
        si[2] = (uint32_t)info.code;
        si[3] = info.fault ? info.addr : (uint32_t)info.pid;
        si[4] = (uint32_t)info.uid;
        si[5] = (uint32_t)info.status;
        if (guest_write(t, a[1], si, sizeof(si)))
            return -EFAULT;
    }
    return signo;
}

static int64_t sys_rt_sigtimedwait(struct thread *t, const uint32_t a[6])
{
    return do_sigtimedwait(t, a, false);
}

static int64_t sys_rt_sigtimedwait_time64(struct thread *t, const uint32_t a[6])
{
    return do_sigtimedwait(t, a, true);
}

static int64_t sys_sigaltstack(struct thread *t, const uint32_t a[6])
{
    uint32_t sp = reg_get(t, UC_X86_REG_ESP);
    uint32_t old[3] = {t->altstack_sp, altstack_flags(t, sp), t->altstack_size};
    if (a[0]) {
        uint32_t n[3];
        if (guest_read(t, a[0], n, 12))
            return -EFAULT;
        if (on_altstack(t, sp))
            return -EPERM;
        uint32_t mode = n[1] & ~(uint32_t)SS_AUTODISARM_G;
        if (mode != 0 && mode != SS_DISABLE_G && mode != SS_ONSTACK_G)
            return -EINVAL;
        if (mode == SS_DISABLE_G) {
            t->altstack_sp = t->altstack_size = 0;
        } else {
            if (n[2] < MINSIGSTKSZ_G)
                return -ENOMEM;
            t->altstack_sp = n[0];
            t->altstack_size = n[2];
        }
        t->altstack_flags = (int)(n[1] & (SS_AUTODISARM_G | (mode == SS_DISABLE_G ? SS_DISABLE_G : 0)));
    }
    if (a[1] && guest_write(t, a[1], old, 12))
        return -EFAULT;
    return 0;
}

static int check_sig(int sig)
{
    return sig < 0 || sig > NSIG_G ? -EINVAL : 0;
}

static struct siginfo_g user_info(struct thread *t, int sig, int code)
{
    return (struct siginfo_g){.signo = sig, .code = code, .pid = t->proc->pid,
                              .uid = (int)getuid()};
}

static int64_t sys_kill(struct thread *t, const uint32_t a[6])
{
    int pid = (int)a[0], sig = (int)a[1];
    if (check_sig(sig))
        return -EINVAL;
    struct siginfo_g info = user_info(t, sig, SI_USER_G);
    if (pid > 0) {
        struct process *p = process_find(pid);
        if (!p) {
            struct thread *th = thread_find(pid);
            p = th ? th->proc : NULL;
        }
        if (!p)
            return -ESRCH;
        if (sig)
            signal_process(p, &info);
        return 0;
    }
    if (pid == INT_MIN)
        return -ESRCH;
    /* A group (0: the caller's), or every process but the first and the caller (-1). */
    int pgid = pid == 0 ? t->proc->pgid : -pid;
    bool found = false, self_too = false;
    for (struct process *p = process_next(NULL); p; p = process_next(p)) {
        if (p->zombie)
            continue;
        bool hit = pid == -1 ? (p != K.init && p != t->proc) : p->pgid == pgid;
        if (!hit)
            continue;
        found = true;
        if (!sig)
            continue;
        /* The caller last: a fatal signal to itself must not stop the walk. */
        if (p == t->proc)
            self_too = true;
        else
            signal_process(p, &info);
    }
    if (self_too)
        signal_process(t->proc, &info);
    return found ? 0 : -ESRCH;
}

static int64_t do_tkill(struct thread *t, int tgid, int tid, int sig)
{
    if (check_sig(sig) || tid <= 0)
        return -EINVAL;
    struct thread *th = thread_find(tid);
    if (!th || (tgid > 0 && th->proc->pid != tgid))
        return -ESRCH;
    if (sig) {
        struct siginfo_g info = user_info(t, sig, SI_TKILL_G);
        signal_thread(th, &info);
    }
    return 0;
}

static int64_t sys_tkill(struct thread *t, const uint32_t a[6])
{
    return do_tkill(t, 0, (int)a[0], (int)a[1]);
}

static int64_t sys_tgkill(struct thread *t, const uint32_t a[6])
{
    if ((int)a[0] <= 0)
        return -EINVAL;
    return do_tkill(t, (int)a[0], (int)a[1], (int)a[2]);
}

static int64_t sys_rt_sigqueueinfo(struct thread *t, const uint32_t a[6])
{
    int pid = (int)a[0], sig = (int)a[1];
    if (check_sig(sig))
        return -EINVAL;
    int32_t si[6];
    if (guest_read(t, a[2], si, sizeof(si)))
        return -EFAULT;
    /* Only SI_QUEUE-like codes from user space, as Linux checks. */
    if ((si[2] >= 0 || si[2] == SI_TKILL_G) && pid != t->proc->pid)
        return -EPERM;
    struct process *p = process_find(pid);
    if (!p)
        return -ESRCH;
    if (sig) {
        /* si_value shares si_status's place (struct siginfo_g has no other) */
        struct siginfo_g info = {.signo = sig, .code = si[2], .pid = si[3], .uid = (int)getuid(),
                                 .status = si[5]};
        signal_process(p, &info);
    }
    return 0;
}

const struct syscall_def signal_syscalls[] = {
    {29, "pause", sys_pause},
    {37, "kill", sys_kill},
    {48, "signal", sys_signal},
    {67, "sigaction", sys_sigaction},
    {72, "sigsuspend", sys_sigsuspend},
    {73, "sigpending", sys_sigpending},
    {119, "sigreturn", sys_sigreturn},
    {126, "sigprocmask", sys_sigprocmask},
    {173, "rt_sigreturn", sys_rt_sigreturn},
    {174, "rt_sigaction", sys_rt_sigaction},
    {175, "rt_sigprocmask", sys_rt_sigprocmask},
    {176, "rt_sigpending", sys_rt_sigpending},
    {177, "rt_sigtimedwait", sys_rt_sigtimedwait},
    {178, "rt_sigqueueinfo", sys_rt_sigqueueinfo},
    {179, "rt_sigsuspend", sys_rt_sigsuspend},
    {186, "sigaltstack", sys_sigaltstack},
    {238, "tkill", sys_tkill},
    {270, "tgkill", sys_tgkill},
    {421, "rt_sigtimedwait_time64", sys_rt_sigtimedwait_time64},
    {0, NULL, NULL},
};
