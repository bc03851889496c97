/*
 * kernel.h - what cpu.c, proc.c, signal.c, syscall.c and main.c share
 * beyond runner.h: the per-thread state runner.h's struct thread does not
 * carry, and the helpers one of these files gives the others.  Nothing
 * outside those five files includes it.
 *
 * Stopping a running engine.  uc_emu_stop from outside the engine's own
 * hooks is not safe in Unicorn 2.0.1: it makes the engine leave at the
 * check Unicorn puts after every guest load and store
 * (check_exit_request), in the middle of a translated block, with EIP at
 * the start of the block (EIP is written back before an access only with
 * memory hooks, and even then a read-modify-write would run twice); the
 * instructions of the block before the access then run again on resume (a
 * 2-thread test summed x87 values into inf after time-slice stops).  The
 * one safe place is the block hook, which Unicorn calls before the check
 * at the start of every block: cpu_kick only sets an atomic flag, and the
 * engine's own block hook stops it there, before the block runs.  Also
 * uc_emu_stop from another thread is lost when it lands between
 * uc_emu_start clearing emulation_done and clearing stop_request; the flag
 * is not.  System calls and signal frames never run inside a hook either:
 * the int 0x80 hook records the interrupt and stops the engine (an int
 * ends its block), and cpu_run does the rest between two uc_emu_start.
 *
 * One engine at a time per process.  Unicorn 2.0.1 never translates with
 * CF_PARALLEL (curr_cflags() is 0), so a guest's lock cmpxchg, xchg or
 * lock add is a plain load and store: two engines running threads of one
 * process in parallel lose updates and a pthread mutex deadlocks (seen
 * with 4 threads).  So a thread holds its process's run token while in
 * uc_emu_start; separate processes still run in parallel, but those with
 * writable MAP_SHARED memory (or an mm another process shares) also hold
 * one token common to all of them (two processes adding to a shared
 * counter with lock xadd lost about half of 400,000 increments).
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <signal.h>

#include "runner.h"

/* Every guest thread is one of these, allocated by proc.c; struct thread
 * is its first member. */
struct kthread {
    struct thread t;
    atomic_bool in_emu;   /* between uc_emu_start and its return */
    atomic_bool kick;     /* stop at the next block (cpu_kick) */
    atomic_bool in_waitfd; /* in wait_fd's ppoll */
    bool started;         /* the host thread exists (klock) */
    int intno;            /* cpu.c: the interrupt that stopped the engine, -1 none */
    bool held_shared;     /* cpu.c: run_acquire took the shared-memory token too */
    uint32_t fault_eip;   /* cpu.c: EIP of a CPU exception, read in its hook */
    struct kthread *all_next; /* every live thread (klock) */
};

static inline struct kthread *kth(struct thread *t)
{
    return (struct kthread *)t;
}

/* The right to run a process's guest code (cpu.c): one engine at a time,
 * first come first served, the holder stopped after a time slice when
 * others wait. */
struct runtoken {
    pthread_mutex_t m;
    pthread_cond_t cv;         /* CLOCK_MONOTONIC */
    struct thread *holder;     /* in uc_emu_start, or NULL */
    uint64_t next, serving;    /* tickets */
    struct timespec since;     /* when holder got it */
};

/* Every process is one of these, allocated by proc.c. */
struct kprocess {
    struct process p;
    struct kprocess *next; /* every process not reaped (klock) */
    struct runtoken run;
    /* cpu.c (klock): the mm has writable MAP_SHARED memory or another
     * process shares it, as of mm generation shared_gen. */
    atomic_bool shared_mem;
    uint64_t shared_gen;
};

static inline struct kprocess *kproc(struct process *p)
{
    return (struct kprocess *)p;
}

/* The host signal that interrupts wait_fd's ppoll: blocked in every
 * runner thread, unblocked only inside ppoll. */
static inline int kick_signal(void)
{
    return SIGRTMIN + 3;
}

/* ---- proc.c ---- */
extern struct kthread *all_threads;
/* Iterates every process not reaped (zombies too): NULL starts. */
struct process *process_next(struct process *p);
/* The first process with one thread (no engine yet): pid = getpid(). */
struct thread *proc_create_init(void);
/* execve of host strings (the first program): 0, or -errno before the
 * point of no return (nothing changed). */
int proc_exec(struct thread *t, const char *path, char *const argv[], char *const envp[]);
/* Wakes up to n waiters of the futex whose key is that of uaddr in t's
 * space (shared keying, as the kernel's clear_child_tid wake). */
int futex_wake_addr(struct thread *t, uint32_t uaddr, int n);

/* ---- signal.c ---- */
struct sighand *sighand_new(void);
struct sighand *sighand_copy(const struct sighand *from);
void sighand_put(struct sighand *s);
/* SIGCHLD to the parent of p, which just became a zombie. */
void signal_child_exit(struct process *p);
/* The parent will not wait for p (SIGCHLD ignored or SA_NOCLDWAIT). */
bool signal_autoreap(struct process *parent);

/* ---- cpu.c ---- */
void run_acquire(struct thread *t);
void run_release(struct thread *t);
/* set_thread_area's work: the struct user_desc at udesc into t's GDT
 * (entry -1: a free TLS entry, written back).  0 or -errno. */
int cpu_set_tls(struct thread *t, uint32_t udesc);

/* Linux's signal numbers on i386 (the host's are the same on x86-64). */
enum {
    G_SIGHUP = 1, G_SIGINT, G_SIGQUIT, G_SIGILL, G_SIGTRAP, G_SIGABRT, G_SIGBUS, G_SIGFPE,
    G_SIGKILL, G_SIGUSR1, G_SIGSEGV, G_SIGUSR2, G_SIGPIPE, G_SIGALRM, G_SIGTERM, G_SIGSTKFLT,
    G_SIGCHLD, G_SIGCONT, G_SIGSTOP, G_SIGTSTP, G_SIGTTIN, G_SIGTTOU, G_SIGURG, G_SIGXCPU,
    G_SIGXFSZ, G_SIGVTALRM, G_SIGPROF, G_SIGWINCH, G_SIGIO, G_SIGPWR, G_SIGSYS
};

static inline uint64_t sigbit(int signo)
{
    return 1ull << (signo - 1);
}

#endif
