/*
 * runner.h - guestmm-run-i386: i386 Linux programs under Unicorn 2, as a
 * small Linux in one host process.  Every guest process is a libguestmm
 * space mirrored into host memory by a window; every guest thread is a host
 * thread with its own Unicorn engine whose regions point into that window.
 *
 * The pieces, one file each:
 *   main.c     arguments, the kernel's start, the first process, the exit
 *   cpu.c      Unicorn engines: GDT, segment and FPU state, registers,
 *              copying a CPU between engines, the per-thread run loop
 *   mem.c      memory: spaces and windows (struct mm), Unicorn regions
 *              mirroring guest regions, fault hooks, the host SIGSEGV
 *              handler, user copies, the memory syscalls, the flat
 *              measurement mode, the library's host callbacks
 *   proc.c     processes and threads: fork, vfork, clone, execve, exit,
 *              wait4, pids, process groups, futexes
 *   signal.c   signals: actions, masks, pending sets, i386 frames,
 *              sigreturn, sigsuspend, sigaltstack, kill/tkill/tgkill,
 *              waking a thread blocked in the kernel
 *   loader.c   execve's image: ELF segments, brk, the initial stack
 *   files.c    per-process fd tables over host fds: open, close, dup,
 *              pipes, close-on-exec, close_range, read/write, fcntl, ioctl,
 *              poll/select, the virtual /proc/self files
 *   fs.c       path calls: stat family, statx, getdents64, readlink, cwd,
 *              chdir, umask, mkdir, rename, unlink, chmod, chown, utimensat
 *   misc.c     time, clocks, sleeping, uname, getrandom, rlimits, ids
 *   syscall.c  the table: number -> handler, built from each file's list
 *
 * Concurrency.  Guest code runs in parallel (each thread in its own
 * uc_emu_start).  Everything of the runner's own (process table, fd tables,
 * signal state, futex queues) is guarded by one kernel lock, `klock`: a
 * thread holds it from the start to the end of a system call, and drops it
 * only to block (kernel_wait, wait_fd) or around a host call that may block
 * (kunlock/krelock).  The library is thread-safe on its own; it is called
 * with or without klock, but never with klock from a host callback of the
 * library (callbacks run under the library's lock; see mem.c).
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "guestmm.h"

#define PAGE 4096u
/* Linux's i386 compat task size; nothing of the guest lives above it. */
#define TASK_TOP 0xFFFFE000u
/* Each engine's GDT, a "kernel" page above the task the guest cannot map. */
#define GDT_ADDR 0xFFFFF000u
/* uc_emu_start's until: above the task, never guest code. */
#define RUN_UNTIL 0xFFFFE800u

#define NSIG_G 64
/* Internal: the call is restarted when the signal's handler has
 * SA_RESTART (or no handler runs), else the guest sees -EINTR. */
#define ERESTARTSYS 512

/* ---- memory (mem.c) ---- */

/* A guest address space: a libguestmm space and its window.  Shared by the
 * processes of CLONE_VM (vfork) and the threads of a process. */
struct mm {
    atomic_int refs;
    gmm_space *space;
    gmm_window *win; /* NULL in flat mode */
    uint8_t *base;   /* host address of guest address 0 */
    /* Bumped by every call that changes regions (mmap, munmap, mprotect,
     * mremap, brk, madvise, exec, stack growth); an engine whose synced
     * generation is older rebuilds its Unicorn regions (mem_sync). */
    atomic_uint_fast64_t gen;
    /* A guest SIGSEGV/SIGBUS handler exists: engines need EIP-exact faults. */
    atomic_bool precise;
    struct mm_mem *mem; /* mem.c's own: attached engines, stale code, flat */
};

/* One Unicorn region of an engine: a run of guest regions with equal
 * rights, mapped at base + start. */
struct ucreg {
    uint32_t start, end; /* [start, end) */
    uint32_t perms;      /* UC_PROT_* */
};

/* ---- files (files.c) ---- */

struct file; /* an open file description: files.c */

struct fdent {
    struct file *f; /* NULL: free */
    bool cloexec;
};

/* A process's fd table (shared by CLONE_FILES). */
struct files {
    int refs;
    struct fdent *fd;
    int nfd;
};

/* A process's filesystem context (shared by CLONE_FS). */
struct fsctx {
    int refs;
    int cwd_fd;       /* host O_PATH fd of the guest's working directory */
    unsigned umask;
};

/* ---- signals (signal.c) ---- */

struct guest_sigaction {
    uint32_t handler; /* 0 SIG_DFL, 1 SIG_IGN, else a guest address */
    uint32_t flags;
    uint32_t restorer;
    uint64_t mask;
};

/* Shared by CLONE_SIGHAND. */
struct sighand {
    int refs;
    struct guest_sigaction act[NSIG_G + 1];
};

struct siginfo_g {
    int signo;     /* 0: none */
    int code;      /* si_code */
    uint32_t addr; /* si_addr for faults */
    int pid, uid;  /* sender, for SI_USER/SI_TKILL; child for SIGCHLD */
    int status;    /* SIGCHLD: si_status */
    bool fault;    /* synchronous (cannot be blocked or ignored) */
};

struct sigqueue {
    uint64_t set;                    /* bit signo-1: pending */
    struct siginfo_g info[NSIG_G + 1];
};

/* ---- processes and threads (proc.c) ---- */

struct thread;

struct process {
    int pid, pgid, sid;
    struct process *parent;
    struct process *children, *sibling; /* list of children */
    struct mm *mm;
    struct files *files;
    struct fsctx *fs;
    struct sighand *sigh;
    struct sigqueue shared_pending; /* process-directed signals */
    struct thread *threads;         /* list through thread->next_in_proc */
    int nthreads;
    int exit_signal;                /* sent to the parent at exit (SIGCHLD) */
    bool zombie, reaped;
    int wait_status;                /* Linux wait status once zombie */
    bool group_exiting;             /* exit_group or a fatal signal */
    int group_exit_status;
    struct thread *vfork_parent;    /* blocked until exec or exit */
    char *exe_path;                 /* /proc/self/exe */
    char comm[16];
};

struct thread {
    int tid;
    struct process *proc;
    struct thread *next_in_proc;
    pthread_t host;
    uc_engine *uc;
    uint64_t *gdt;       /* this engine's GDT page (TLS entries 6..8) */
    /* mem.c: the engine's Unicorn regions, sorted, and the mm generation
     * they mirror. */
    struct ucreg *regs;
    int nregs, capregs;
    uint64_t synced_gen;
    /* The guest's executable memory at that generation: merged runs of
     * executable regions, sorted (their perms unused).  Until the engine
     * is precise, Unicorn's one region has every right and hook_block
     * checks each block's address against these (xhit: the last found). */
    struct ucreg *xregs;
    int nxregs, xhit;
    uint64_t fetch_retry; /* mem_fetch_ok: 1 + the fetch stopped for a sync, or 0 */
    uint64_t code_seq;   /* stale-code ranges of the mm dropped so far */
    bool precise;        /* engine has the EIP-exact hooks */
    uint64_t faults;     /* window faults resolved (statistics) */
    /* signal.c */
    uint64_t blocked;
    struct sigqueue pending;        /* thread-directed signals and faults */
    uint32_t altstack_sp, altstack_size;
    int altstack_flags;
    uint64_t saved_mask;            /* sigsuspend's mask to restore */
    bool restore_mask;
    /* proc.c */
    uint32_t clear_child_tid;       /* CLONE_CHILD_CLEARTID / set_tid_address */
    uint32_t robust_list;
    bool exiting;                   /* leave the run loop */
    int exit_code;
    /* kernel_wait: woken by signals, futex wakes, child exits */
    pthread_cond_t cv;
    bool in_syscall;
    uint32_t syscall_nr;            /* the current call, for restarts */
};

/* ---- the kernel (proc.c, main.c) ---- */

struct kernel {
    gmm_system *sys;
    bool flat;      /* GUESTMM_RUN_FLAT=1: measurement-only flat memory */
    bool debug;     /* GUESTMM_RUN_DEBUG */
    bool trace;     /* GUESTMM_RUN_TRACE */
    int logfd;      /* the runner's own messages: a private dup of stderr */
    struct process *init;   /* the first guest process */
    int next_pid;
    int init_status;        /* the runner's exit status once init is gone */
};
extern struct kernel K;
extern pthread_mutex_t klock;
/* The thread running guest code or a system call on this host thread. */
extern _Thread_local struct thread *current;

/* ---- cpu.c ---- */
/* A new engine for t with flat segments, the FPU as Linux starts it
 * (control word 0x037f, MXCSR 0x1f80), mem hooks, the int 0x80 hook;
 * t->gdt allocated and mapped.  0 or -1. */
int cpu_create(struct thread *t);
void cpu_destroy(struct thread *t);
/* Copies the CPU state (registers, segments, FPU/SSE, TLS descriptors)
 * of from into to's engine. */
int cpu_copy(struct thread *to, const struct thread *from);
/* Sets up the registers for a fresh program image. */
void cpu_reset_for_exec(struct thread *t, uint32_t entry, uint32_t sp);
uint32_t reg_get(struct thread *t, int reg);
void reg_set(struct thread *t, int reg, uint32_t v);
/* The thread's loop: runs guest code, system calls and signals until the
 * thread exits.  Returns on thread exit (the caller ends the host thread). */
void cpu_run(struct thread *t);
/* Stops t's uc_emu_start as soon as possible (any thread may call it). */
void cpu_kick(struct thread *t);

/* ---- mem.c ---- */
int mem_global_init(void);                 /* the handler, flat mode */
struct mm *mm_create(void);                /* an empty i386 space + window */
struct mm *mm_fork(struct mm *parent);     /* gmm_space_fork + a window */
struct mm *mm_get(struct mm *mm);
void mm_put(struct mm *mm);
/* After a call that changed regions of mm: bump gen, kick other engines. */
void mem_changed(struct mm *mm);
/* Attach t's new engine to its process's mm: hooks, GDT page, regions. */
int mem_attach(struct thread *t);
void mem_detach(struct thread *t);
/* Rebuild t's Unicorn regions if t->proc->mm changed since. */
void mem_sync(struct thread *t);
/* Called at the start of every block the engine runs (cpu.c's block hook):
 * true when the guest may execute the block [addr, addr + size); else the
 * engine must stop before the block runs, and either the guest's SIGSEGV
 * is queued (as Linux gives it for an instruction fetch there) or the
 * engine's regions are stale and cpu_run syncs them and runs it again. */
bool mem_fetch_ok(struct thread *t, uint64_t addr, uint32_t size);
/* Turn on EIP-exact faults for the engines of t's mm (the guest handles
 * SIGSEGV/SIGBUS): each engine adds its hooks at its next mem_sync. */
void mem_enable_precise(struct thread *t);
/* execve on an mm no other process shares: every region goes
 * (gmm_space_exec_reset; flat mode: its own bookkeeping), mem_changed. */
int mem_exec_reset(struct mm *mm);
/* The loader's calls (flat mode has no library behind them). */
int64_t mem_map(struct thread *t, uint32_t addr, uint32_t len, int prot, int flags, int hostfd,
                uint64_t off); /* gmm_sys_mmap of a HOST fd (the loader's) */
int mem_init_brk(struct thread *t, uint32_t brk);
int64_t mem_setup_stack(struct thread *t, uint32_t size);
/* User copies through the library: 0 or -EFAULT. */
int guest_read(struct thread *t, uint32_t addr, void *buf, size_t len);
int guest_write(struct thread *t, uint32_t addr, const void *buf, size_t len);
/* A NUL-terminated guest string: 0, -EFAULT or -ENAMETOOLONG. */
int guest_str(struct thread *t, uint32_t addr, char *buf, size_t cap);
/* Host callbacks of the library. */
void host_fault(void *user, gmm_space *space, const gmm_fault *f);
void host_invalidate(void *user, gmm_space *space, gmm_addr start, uint64_t len);
int host_get_file(void *user, int fd, gmm_file *out);

/* ---- signal.c ---- */
/* Queue a signal for a thread (fault or tkill) or a process (kill):
 * wakes/kicks a thread that can take it.  Call with klock held. */
void signal_thread(struct thread *t, const struct siginfo_g *info);
void signal_process(struct process *p, const struct siginfo_g *info);
/* A fault of the running thread (no lock needed: current only).  Also
 * called from mem.c's host SIGSEGV handler: it must only store into t. */
void signal_fault(struct thread *t, int signo, int code, uint32_t addr);
/* A signal t could take now (not blocked, or a fault)? klock held. */
bool signal_pending(struct thread *t);
/* Delivers what is pending (frames, default actions), fixing up a
 * restartable result in EAX first.  klock held. */
void signal_deliver(struct thread *t);
/* Process exit by signal: the process dies with wait status signo. */
_Noreturn void die_by_signal(struct thread *t, int signo);
/* Reset handled actions to default (execve). */
void signal_exec(struct process *p);

/* ---- proc.c: blocking and the kernel lock ---- */
/* Block on t->cv (klock held; dropped while waiting) until woken, a signal
 * is pending or the deadline (NULL: none, CLOCK_MONOTONIC) passes:
 * 0, -ERESTARTSYS (signal) or -ETIMEDOUT. */
int kernel_wait(struct thread *t, const struct timespec *deadline);
void kernel_wake(struct thread *t);
/* Wait until host fd is ready for events (POLLIN/POLLOUT), klock dropped
 * meanwhile: 0, -ERESTARTSYS or -errno. */
int wait_fd(struct thread *t, int hostfd, short events);
void kunlock(void);
void krelock(void);
struct process *process_find(int pid);
struct thread *thread_find(int tid);
/* The thread leaves: CLONE_CHILD_CLEARTID, the last one ends the process. */
_Noreturn void thread_exit(struct thread *t, int code);
_Noreturn void process_exit_group(struct thread *t, int wait_status);

/* ---- files.c, fs.c ---- */
struct files *files_new(void);
struct files *files_dup(struct files *f);   /* fork: a copy */
void files_put(struct files *f);
void files_exec(struct files *f);           /* close the O_CLOEXEC ones */
struct fsctx *fs_new(void);
struct fsctx *fs_dup(struct fsctx *f);
void fs_put(struct fsctx *f);
/* The host fd behind guest fd gfd of p for the library's get_file (a new
 * host fd the caller owns, F_DUPFD_CLOEXEC), its open flags in *flags:
 * -EBADF if none. */
int files_host_dup(struct process *p, int gfd, int *flags);
/* Open a host path for execve as the guest's cwd sees it: host fd or -errno. */
int fs_open_exec(struct thread *t, const char *path);
/* -L SYSROOT (main.c sets it, NULL: none): absolute guest paths are looked
 * up there first (fs.c's fs_resolve is the one place that does). */
extern const char *guest_sysroot;

/* ---- loader.c ---- */
/* Checks the ELF header at host fd: 0 when it is an i386 executable this
 * loader takes, else -ENOEXEC (or -EIO); nothing changed. */
int elf_check(int fd);
/* Loads the ELF at host fd into t's process's space, which the caller has
 * just emptied (mm_create or gmm_space_exec_reset), and sets t's registers
 * (cpu_reset_for_exec).  0 or -errno; on failure after elf_check the image
 * is half built and the caller kills the process (as Linux does past the
 * point of no return).  path is the guest's path (AT_EXECFN). */
int load_elf(struct thread *t, int fd, const char *path, char *const argv[],
             char *const envp[]);

/* ---- syscall.c ---- */
typedef int64_t (*syscall_fn)(struct thread *t, const uint32_t a[6]);
struct syscall_def {
    unsigned nr;
    const char *name;
    syscall_fn fn;
};
/* Each file's calls, ended by {0, NULL, NULL}. */
extern const struct syscall_def mem_syscalls[], proc_syscalls[], signal_syscalls[],
    files_syscalls[], fs_syscalls[], misc_syscalls[];
int syscall_init(void);
/* int 0x80 of t: dispatch with klock held, result in EAX. */
void do_syscall(struct thread *t);

#endif
