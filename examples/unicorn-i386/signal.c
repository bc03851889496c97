/*
 * signal.c - a guest fault or a signal the guest sent itself becomes what
 * Linux does: the guest's handler runs on an i386 signal frame (struct
 * sigframe or rt_sigframe with siginfo and ucontext, as the kernel's
 * compat code lays them out), or the process ends with the signal.
 * The FPU state is not saved in the frame (fpstate is 0).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <unicorn/x86.h>

#include "runner.h"

#define SA_SIGINFO_G 0x00000004u
#define SA_ONSTACK_G 0x08000000u
#define SA_RESTORER_G 0x04000000u
#define SA_NODEFER_G 0x40000000u
#define SA_RESETHAND_G 0x80000000u

#define SIGCONTEXT_SIZE 88
#define SIGINFO_SIZE 128
#define UC_SIZE (20 + SIGCONTEXT_SIZE + 8)

void queue_signal(struct runner *r, int signo, int code, uint32_t addr, bool fault)
{
    /* The first fault of an access wins; a fault beats a sent signal. */
    if (r->pending.signo && (r->pending.fault || !fault))
        return;
    r->pending.signo = signo;
    r->pending.code = code;
    r->pending.addr = addr;
    r->pending.fault = fault;
}

_Noreturn void die_by_signal(struct runner *r, int signo)
{
    if (r->is_child) {
        /* The guest parent's wait status must say "killed by signo". */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(signo, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signo);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), signo);
    }
    runner_exit(r, 128 + signo);
}

static bool default_ignores(int signo)
{
    return signo == SIGCHLD || signo == SIGURG || signo == SIGWINCH || signo == SIGCONT;
}

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

/* struct sigcontext_32 */
static void save_sigcontext(struct runner *r, uint8_t *sc, uint64_t mask, uint32_t cr2)
{
    static const int regs[] = {UC_X86_REG_EDI, UC_X86_REG_ESI, UC_X86_REG_EBP, UC_X86_REG_ESP,
                               UC_X86_REG_EBX, UC_X86_REG_EDX, UC_X86_REG_ECX, UC_X86_REG_EAX};
    memset(sc, 0, SIGCONTEXT_SIZE);
    put32(sc, 0, reg_get(r, UC_X86_REG_GS));
    put32(sc, 4, reg_get(r, UC_X86_REG_FS));
    put32(sc, 8, reg_get(r, UC_X86_REG_ES));
    put32(sc, 12, reg_get(r, UC_X86_REG_DS));
    for (int i = 0; i < 8; i++)
        put32(sc, 16 + 4 * (size_t)i, reg_get(r, regs[i]));
    put32(sc, 48, r->pending.fault ? 14 : 0); /* trapno: page fault */
    put32(sc, 52, 0);                         /* err */
    put32(sc, 56, reg_get(r, UC_X86_REG_EIP));
    put32(sc, 60, reg_get(r, UC_X86_REG_CS));
    put32(sc, 64, reg_get(r, UC_X86_REG_EFLAGS));
    put32(sc, 68, reg_get(r, UC_X86_REG_ESP));
    put32(sc, 72, reg_get(r, UC_X86_REG_SS));
    put32(sc, 76, 0); /* fpstate */
    put32(sc, 80, (uint32_t)mask);
    put32(sc, 84, cr2);
}

static void restore_sigcontext(struct runner *r, const uint8_t *sc)
{
    static const int regs[] = {UC_X86_REG_EDI, UC_X86_REG_ESI, UC_X86_REG_EBP, UC_X86_REG_ESP,
                               UC_X86_REG_EBX, UC_X86_REG_EDX, UC_X86_REG_ECX, UC_X86_REG_EAX};
    for (int i = 0; i < 8; i++)
        reg_set(r, regs[i], get32(sc, 16 + 4 * (size_t)i));
    /* Arithmetic flags, TF, DF, OF, AC: FIX_EFLAGS of the kernel. */
    uint32_t fl = reg_get(r, UC_X86_REG_EFLAGS);
    fl = (fl & ~0x40dd5u) | (get32(sc, 64) & 0x40dd5u);
    reg_set(r, UC_X86_REG_EFLAGS, fl);
    reg_set(r, UC_X86_REG_EIP, get32(sc, 56));
}

/* Runs the guest's handler for signo, or ends the process. */
static void deliver(struct runner *r, int signo, int code, uint32_t addr, bool fault)
{
    struct guest_sigaction *a = &r->act[signo];
    bool blocked = (r->blocked >> (signo - 1)) & 1;
    if (a->handler == 0 || (fault && (a->handler == 1 || blocked))) {
        /* SIG_DFL; or a fault that cannot be delivered: force the default. */
        if (!fault && default_ignores(signo))
            return;
        die_by_signal(r, signo);
    }
    if (a->handler == 1)
        return;

    bool rt = (a->flags & SA_SIGINFO_G) != 0;
    uint32_t sp = reg_get(r, UC_X86_REG_ESP);
    uint8_t frame[4 + 4 + 4 + 4 + SIGINFO_SIZE + UC_SIZE + 8];
    memset(frame, 0, sizeof(frame));
    size_t size;
    uint32_t base;
    if (rt) {
        size = sizeof(frame);
        base = (uint32_t)(((sp - size) + 4) & ~15u) - 4; /* as get_sigframe() aligns */
        uint32_t info = base + 16, uc = info + SIGINFO_SIZE;
        put32(frame, 0, a->restorer);
        put32(frame, 4, (uint32_t)signo);
        put32(frame, 8, info);
        put32(frame, 12, uc);
        uint8_t *si = frame + 16;
        put32(si, 0, (uint32_t)signo);
        put32(si, 4, 0); /* si_errno */
        put32(si, 8, (uint32_t)code);
        if (fault)
            put32(si, 12, addr); /* si_addr */
        else {
            put32(si, 12, (uint32_t)getpid()); /* si_pid */
            put32(si, 16, (uint32_t)getuid()); /* si_uid */
        }
        uint8_t *ucp = si + SIGINFO_SIZE;
        /* uc_flags, uc_link, uc_stack (ss_sp, ss_flags SS_DISABLE, ss_size) */
        put32(ucp, 12, 2);
        save_sigcontext(r, ucp + 20, r->blocked, fault ? addr : 0);
        memcpy(ucp + 20 + SIGCONTEXT_SIZE, &r->blocked, 8);
    } else {
        /* struct sigframe_ia32: pretcode, sig, sigcontext, fpstate (unused
         * here), extramask, retcode */
        size = 4 + 4 + SIGCONTEXT_SIZE + 4 + 8;
        base = (uint32_t)(((sp - size) + 4) & ~15u) - 4;
        put32(frame, 0, a->restorer);
        put32(frame, 4, (uint32_t)signo);
        save_sigcontext(r, frame + 8, r->blocked, fault ? addr : 0);
        put32(frame, 8 + SIGCONTEXT_SIZE, (uint32_t)(r->blocked >> 32));
    }
    if (!(a->flags & SA_RESTORER_G) || guest_write(r, base, frame, size) != 0) {
        /* No way back from the handler, or no stack: force SIGSEGV. */
        if (r->debug)
            fprintf(stderr, "guestmm-run-i386: cannot build the frame of signal %d\n", signo);
        die_by_signal(r, SIGSEGV);
    }
    reg_set(r, UC_X86_REG_ESP, base);
    reg_set(r, UC_X86_REG_EIP, a->handler);
    reg_set(r, UC_X86_REG_EAX, (uint32_t)signo);
    reg_set(r, UC_X86_REG_EDX, rt ? base + 16 : 0);
    reg_set(r, UC_X86_REG_ECX, rt ? base + 16 + SIGINFO_SIZE : 0);
    uint32_t fl = reg_get(r, UC_X86_REG_EFLAGS);
    reg_set(r, UC_X86_REG_EFLAGS, fl & ~0x500u); /* TF, DF */
    r->blocked |= a->mask;
    if (!(a->flags & SA_NODEFER_G))
        r->blocked |= 1ull << (signo - 1);
    if (a->flags & SA_RESETHAND_G)
        memset(a, 0, sizeof(*a));
}

void deliver_pending(struct runner *r)
{
    struct pending_sig p = r->pending;
    memset(&r->pending, 0, sizeof(r->pending));
    if (!p.signo)
        return;
    if (!p.fault && ((r->blocked >> (p.signo - 1)) & 1) && p.signo != SIGKILL &&
        p.signo != SIGSTOP) {
        r->pending = p; /* stays pending until unblocked */
        return;
    }
    if (p.signo == SIGKILL || p.signo == SIGSTOP)
        die_by_signal(r, SIGKILL);
    deliver(r, p.signo, p.code, p.addr, p.fault);
}

void sys_sigreturn(struct runner *r, bool rt)
{
    uint32_t sp = reg_get(r, UC_X86_REG_ESP);
    uint8_t sc[SIGCONTEXT_SIZE];
    uint64_t mask;
    if (rt) {
        /* The restorer's ret popped pretcode: sp is &frame->sig. */
        uint32_t uc = sp - 4 + 16 + SIGINFO_SIZE;
        if (gmm_read(r->space, uc + 20, sc, sizeof(sc)) ||
            gmm_read(r->space, uc + 20 + SIGCONTEXT_SIZE, &mask, 8))
            die_by_signal(r, SIGSEGV);
    } else {
        /* __restore pops the signal number first: sp is &frame->sc. */
        uint32_t f = sp - 8;
        uint32_t hi;
        if (gmm_read(r->space, f + 8, sc, sizeof(sc)) ||
            gmm_read(r->space, f + 8 + SIGCONTEXT_SIZE, &hi, 4))
            die_by_signal(r, SIGSEGV);
        mask = get32(sc, 80) | (uint64_t)hi << 32;
    }
    r->blocked = mask & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
    restore_sigcontext(r, sc);
}
