/*
 * proc.c - processes and threads in one host process: the kernel lock,
 * blocking and waking, pids, fork/vfork/clone, execve, exit, wait4 and
 * futexes.
 *
 * Lock order: klock, then the library's locks (the library is called with
 * klock held; its host callbacks never take klock).  Every field of struct
 * process and of struct thread that other threads read is written with
 * klock held; struct kthread's atomics are the exceptions (kernel.h).
 *
 * Lifetimes.  A thread is freed by its own host thread in thread_exit,
 * after it left every list.  A process is freed when it is reaped (wait4),
 * or at once when its parent does not wait (SIGCHLD ignored); its mm,
 * files, fs and sighand go when its last thread leaves.  The first process
 * is never reaped: when it ends, the runner ends with its status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unicorn/x86.h>

#include "kernel.h"

struct kernel K;
pthread_mutex_t klock = PTHREAD_MUTEX_INITIALIZER;
_Thread_local struct thread *current;
struct kthread *all_threads;

/* Every process that is not reaped, zombies included. */
static struct kprocess *all_procs;

void kunlock(void)
{
    pthread_mutex_unlock(&klock);
}

void krelock(void)
{
    pthread_mutex_lock(&klock);
}

/* ---- tables ---- */

struct process *process_find(int pid)
{
    for (struct kprocess *k = all_procs; k; k = k->next)
        if (k->p.pid == pid)
            return &k->p;
    return NULL;
}

struct thread *thread_find(int tid)
{
    for (struct kthread *k = all_threads; k; k = k->all_next)
        if (k->t.tid == tid)
            return &k->t;
    return NULL;
}

struct process *process_next(struct process *p)
{
    struct kprocess *k = p ? ((struct kprocess *)p)->next : all_procs;
    return k ? &k->p : NULL;
}

static int pid_alloc(void)
{
    for (;;) {
        int pid = K.next_pid++;
        if (K.next_pid >= 4194304)
            K.next_pid = 300;
        if (!process_find(pid) && !thread_find(pid))
            return pid;
    }
}

static struct process *process_new(void)
{
    struct kprocess *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->next = all_procs;
    all_procs = k;
    k->p.exit_signal = G_SIGCHLD;
    pthread_mutex_init(&k->run.m, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->run.cv, &ca);
    pthread_condattr_destroy(&ca);
    return &k->p;
}

/* Unlinks and frees a process that has no threads and no resources left. */
static void process_free(struct process *p)
{
    for (struct kprocess **pp = &all_procs; *pp; pp = &(*pp)->next) {
        if (&(*pp)->p == p) {
            *pp = (*pp)->next;
            break;
        }
    }
    if (p->parent) {
        for (struct process **c = &p->parent->children; *c; c = &(*c)->sibling) {
            if (*c == p) {
                *c = p->sibling;
                break;
            }
        }
    }
    free(p->exe_path);
    pthread_mutex_destroy(&kproc(p)->run.m);
    pthread_cond_destroy(&kproc(p)->run.cv);
    free(kproc(p));
}

static void child_link(struct process *parent, struct process *c)
{
    c->parent = parent;
    c->sibling = parent->children;
    parent->children = c;
}

static struct thread *thread_new(struct process *p, int tid)
{
    struct kthread *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->t.cv, &ca);
    pthread_condattr_destroy(&ca);
    k->intno = -1;
    struct thread *t = &k->t;
    t->tid = tid;
    t->proc = p;
    t->next_in_proc = p->threads;
    p->threads = t;
    p->nthreads++;
    k->all_next = all_threads;
    all_threads = k;
    return t;
}

static void thread_unlink(struct thread *t)
{
    struct process *p = t->proc;
    for (struct thread **pp = &p->threads; *pp; pp = &(*pp)->next_in_proc) {
        if (*pp == t) {
            *pp = t->next_in_proc;
            p->nthreads--;
            break;
        }
    }
    for (struct kthread **pp = &all_threads; *pp; pp = &(*pp)->all_next) {
        if (*pp == kth(t)) {
            *pp = kth(t)->all_next;
            break;
        }
    }
}

static void thread_free(struct thread *t)
{
    pthread_cond_destroy(&t->cv);
    free(kth(t));
}

static void wake_all_threads(struct process *p)
{
    for (struct thread *t = p->threads; t; t = t->next_in_proc)
        kernel_wake(t);
}

/* ---- blocking ---- */

static bool dying(struct thread *t)
{
    return t->exiting || t->proc->group_exiting;
}

static bool past(const struct timespec *dl)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

/* Waits on t->cv whatever is pending (vfork, exec's wait for threads). */
static void kwait_raw(struct thread *t)
{
    pthread_cond_wait(&t->cv, &klock);
}

int kernel_wait(struct thread *t, const struct timespec *deadline)
{
    if (signal_pending(t) || dying(t))
        return -ERESTARTSYS;
    if (deadline && past(deadline))
        return -ETIMEDOUT;
    if (deadline)
        pthread_cond_timedwait(&t->cv, &klock, deadline);
    else
        pthread_cond_wait(&t->cv, &klock);
    if (signal_pending(t) || dying(t))
        return -ERESTARTSYS;
    if (deadline && past(deadline))
        return -ETIMEDOUT;
    return 0;
}

void kernel_wake(struct thread *t)
{
    pthread_cond_broadcast(&t->cv);
}

/* The kick signal is blocked in every runner thread (main.c blocks it
 * before any thread exists) and unblocked only inside this ppoll: a kick
 * sent after the check under klock stays pending and ends the ppoll at
 * once, so no wakeup is lost. */
int wait_fd(struct thread *t, int hostfd, short events)
{
    sigset_t during;
    pthread_sigmask(SIG_SETMASK, NULL, &during);
    sigdelset(&during, kick_signal());
    for (;;) {
        if (signal_pending(t) || dying(t))
            return -ERESTARTSYS;
        struct pollfd pfd = {hostfd, events, 0};
        atomic_store(&kth(t)->in_waitfd, true);
        kunlock();
        int r = ppoll(&pfd, 1, NULL, &during);
        int e = errno;
        krelock();
        atomic_store(&kth(t)->in_waitfd, false);
        if (r > 0)
            return (pfd.revents & POLLNVAL) ? -EBADF : 0;
        if (r < 0 && e != EINTR)
            return -e;
    }
}

/* ---- exits ---- */

static void release_vfork(struct process *p)
{
    if (p->vfork_parent) {
        kernel_wake(p->vfork_parent);
        p->vfork_parent = NULL;
    }
}

static int runner_status(int wait_status)
{
    if ((wait_status & 0x7f) == 0)
        return (wait_status >> 8) & 0xff;
    return 128 + (wait_status & 0x7f);
}

_Noreturn static void runner_exit(int wait_status)
{
    K.init_status = runner_status(wait_status);
    if (K.debug)
        dprintf(K.logfd, "guestmm-run-i386: the first process ended (wait status %#x): exit %d\n",
                wait_status, K.init_status);
    _exit(K.init_status);
}

/* The last thread of p left: p becomes a zombie for its parent. */
static void process_exit(struct process *p, int wait_status)
{
    if (p == K.init)
        runner_exit(wait_status); /* orphans die with the runner */
    p->wait_status = wait_status;
    release_vfork(p);
    files_put(p->files);
    p->files = NULL;
    fs_put(p->fs);
    p->fs = NULL;
    mm_put(p->mm);
    p->mm = NULL;
    sighand_put(p->sigh);
    p->sigh = NULL;
    p->zombie = true;
    /* Children go to the first process. */
    while (p->children) {
        struct process *c = p->children;
        p->children = c->sibling;
        child_link(K.init, c);
        if (c->zombie)
            signal_child_exit(c);
    }
    wake_all_threads(K.init);
    struct process *parent = p->parent;
    if (p->exit_signal == G_SIGCHLD && signal_autoreap(parent)) {
        process_free(p);
    } else if (p->exit_signal) {
        signal_child_exit(p);
    }
    wake_all_threads(parent);
}

static _Thread_local jmp_buf thread_done;
static _Thread_local bool thread_done_set;

_Noreturn void thread_exit(struct thread *t, int code)
{
    struct process *p = t->proc;
    /* mm_release(): the tid word is cleared and woken while others use the mm. */
    if (t->clear_child_tid && p->mm && (p->nthreads > 1 || atomic_load(&p->mm->refs) > 1)) {
        uint32_t zero = 0;
        if (guest_write(t, t->clear_child_tid, &zero, 4) == 0)
            futex_wake_addr(t, t->clear_child_tid, 1);
    }
    cpu_destroy(t);
    thread_unlink(t);
    wake_all_threads(p); /* execve waits for the others to leave */
    if (p->nthreads == 0)
        process_exit(p, p->group_exiting ? p->group_exit_status : (code & 0xff) << 8);
    thread_free(t);
    current = NULL;
    kunlock();
    /* Back to thread_main without pthread_exit's unwinding (which loads
     * libgcc_s and walks the runner's frames).  The main host thread
     * (the first process's first thread) stays parked: the runner ends
     * with the first process, from whichever thread ends it. */
    if (thread_done_set)
        longjmp(thread_done, 1);
    for (;;)
        pause();
}

_Noreturn void process_exit_group(struct thread *t, int wait_status)
{
    struct process *p = t->proc;
    if (!p->group_exiting) {
        p->group_exiting = true;
        p->group_exit_status = wait_status;
    }
    if (p == K.init)
        runner_exit(p->group_exit_status);
    for (struct thread *o = p->threads; o; o = o->next_in_proc) {
        if (o != t) {
            o->exiting = true;
            kernel_wake(o);
            cpu_kick(o);
        }
    }
    thread_exit(t, 0);
}

static int64_t sys_exit(struct thread *t, const uint32_t a[6])
{
    thread_exit(t, (int)(a[0] & 0xff));
}

static int64_t sys_exit_group(struct thread *t, const uint32_t a[6])
{
    process_exit_group(t, (int)(a[0] & 0xff) << 8);
}

/* ---- ids ---- */

static int64_t sys_getpid(struct thread *t, const uint32_t a[6])
{
    (void)a;
    return t->proc->pid;
}

static int64_t sys_gettid(struct thread *t, const uint32_t a[6])
{
    (void)a;
    return t->tid;
}

static int64_t sys_getppid(struct thread *t, const uint32_t a[6])
{
    (void)a;
    struct process *p = t->proc;
    return p == K.init || !p->parent ? getppid() : p->parent->pid;
}

static int64_t sys_getpgid(struct thread *t, const uint32_t a[6])
{
    int pid = (int)a[0];
    struct process *p = pid ? process_find(pid) : t->proc;
    if (!p || p->zombie)
        return -ESRCH;
    return p->pgid;
}

static int64_t sys_getpgrp(struct thread *t, const uint32_t a[6])
{
    (void)a;
    return t->proc->pgid;
}

static int64_t sys_getsid(struct thread *t, const uint32_t a[6])
{
    int pid = (int)a[0];
    struct process *p = pid ? process_find(pid) : t->proc;
    if (!p || p->zombie)
        return -ESRCH;
    return p->sid;
}

static bool pgrp_in_session(int pgid, int sid)
{
    for (struct kprocess *k = all_procs; k; k = k->next)
        if (!k->p.zombie && k->p.pgid == pgid && k->p.sid == sid)
            return true;
    return false;
}

static int64_t sys_setpgid(struct thread *t, const uint32_t a[6])
{
    int pid = (int)a[0], pgid = (int)a[1];
    struct process *self = t->proc;
    if (pgid < 0)
        return -EINVAL;
    struct process *p = pid ? process_find(pid) : self;
    if (!p || p->zombie || (p != self && p->parent != self))
        return -ESRCH;
    if (p->sid != self->sid)
        return -EPERM;
    if (p->pid == p->sid)
        return -EPERM; /* a session leader */
    if (!pgid)
        pgid = p->pid;
    if (pgid != p->pid && !pgrp_in_session(pgid, self->sid))
        return -EPERM;
    p->pgid = pgid;
    return 0;
}

static int64_t sys_setsid(struct thread *t, const uint32_t a[6])
{
    (void)a;
    struct process *p = t->proc;
    for (struct kprocess *k = all_procs; k; k = k->next)
        if (k->p.pgid == p->pid)
            return -EPERM;
    p->pgid = p->sid = p->pid;
    return p->pid;
}

static int64_t sys_set_tid_address(struct thread *t, const uint32_t a[6])
{
    t->clear_child_tid = a[0];
    return t->tid;
}

static int64_t sys_set_robust_list(struct thread *t, const uint32_t a[6])
{
    if (a[1] != 12) /* sizeof(struct robust_list_head) on i386 */
        return -EINVAL;
    t->robust_list = a[0];
    return 0;
}

static int64_t sys_set_thread_area(struct thread *t, const uint32_t a[6])
{
    return cpu_set_tls(t, a[0]);
}

static int64_t sys_sched_yield(struct thread *t, const uint32_t a[6])
{
    (void)t, (void)a;
    kunlock();
    sched_yield();
    krelock();
    return 0;
}

static int64_t sys_sched_getaffinity(struct thread *t, const uint32_t a[6])
{
    uint32_t len = a[1];
    if (a[0] && !thread_find((int)a[0]))
        return -ESRCH;
    if (len < 4 || (len & 3))
        return -EINVAL;
    uint32_t one = 1; /* one CPU */
    return guest_write(t, a[2], &one, 4) ? -EFAULT : 4;
}

static int64_t sys_sched_setaffinity(struct thread *t, const uint32_t a[6])
{
    (void)t;
    if (a[0] && !thread_find((int)a[0]))
        return -ESRCH;
    return 0;
}

static int64_t sys_getcpu(struct thread *t, const uint32_t a[6])
{
    uint32_t zero = 0;
    if (a[0] && guest_write(t, a[0], &zero, 4))
        return -EFAULT;
    if (a[1] && guest_write(t, a[1], &zero, 4))
        return -EFAULT;
    return 0;
}

/* ---- fork, vfork, clone ---- */

#define CLONE_NAMESPACES                                                                        \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
     CLONE_NEWNET)

/* Undoes a new process that never ran. */
static void process_abort(struct process *np)
{
    if (np->files)
        files_put(np->files);
    if (np->fs)
        fs_put(np->fs);
    if (np->sigh)
        sighand_put(np->sigh);
    if (np->mm)
        mm_put(np->mm);
    process_free(np);
}

static void *thread_main(void *arg)
{
    if (!setjmp(thread_done)) {
        thread_done_set = true;
        cpu_run(arg);
    }
    return NULL;
}

static int64_t do_clone(struct thread *t, uint32_t flags, uint32_t newsp, uint32_t ptid,
                        uint32_t tls, uint32_t ctid)
{
    struct process *p = t->proc;
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
        return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
        return -EINVAL;
    if (flags & CLONE_NAMESPACES)
        return -EPERM;
    if (flags & CLONE_PIDFD)
        return -EINVAL; /* not supported */
    if ((flags & CLONE_THREAD) && (flags & 0xff))
        return -EINVAL;
    struct process *np = p;
    int tid = pid_alloc();
    if (!(flags & CLONE_THREAD)) {
        np = process_new();
        if (!np)
            return -ENOMEM;
        np->pid = tid;
        np->pgid = p->pgid;
        np->sid = p->sid;
        child_link((flags & CLONE_PARENT) && p != K.init ? p->parent : p, np);
        np->exit_signal = (int)(flags & 0xff);
        np->exe_path = p->exe_path ? strdup(p->exe_path) : NULL;
        memcpy(np->comm, p->comm, sizeof(np->comm));
        np->mm = (flags & CLONE_VM) ? mm_get(p->mm) : mm_fork(p->mm);
        if (flags & CLONE_FILES) {
            np->files = p->files;
            np->files->refs++;
        } else {
            np->files = files_dup(p->files);
        }
        if (flags & CLONE_FS) {
            np->fs = p->fs;
            np->fs->refs++;
        } else {
            np->fs = fs_dup(p->fs);
        }
        if (flags & CLONE_SIGHAND) {
            np->sigh = p->sigh;
            np->sigh->refs++;
        } else {
            np->sigh = sighand_copy(p->sigh);
        }
        if (!np->mm || !np->files || !np->fs || !np->sigh) {
            process_abort(np);
            return -ENOMEM;
        }
    }
    struct thread *nt = thread_new(np, tid);
    if (!nt) {
        if (np != p)
            process_abort(np);
        return -ENOMEM;
    }
    nt->blocked = t->blocked;
    if (!(flags & CLONE_VM) || (flags & CLONE_VFORK)) {
        nt->altstack_sp = t->altstack_sp;
        nt->altstack_size = t->altstack_size;
        nt->altstack_flags = t->altstack_flags;
    }
    int64_t err = -ENOMEM;
    if (cpu_create(nt))
        goto fail;
    cpu_copy(nt, t);
    reg_set(nt, UC_X86_REG_EAX, 0);
    if (newsp)
        reg_set(nt, UC_X86_REG_ESP, newsp);
    if (flags & CLONE_SETTLS) {
        err = cpu_set_tls(nt, tls);
        if (err)
            goto fail;
    }
    uint32_t utid = (uint32_t)tid;
    if (flags & CLONE_PARENT_SETTID)
        guest_write(t, ptid, &utid, 4);
    if (flags & CLONE_CHILD_SETTID)
        guest_write(nt, ctid, &utid, 4);
    if (flags & CLONE_CHILD_CLEARTID)
        nt->clear_child_tid = ctid;
    if (np != p && (flags & CLONE_VFORK))
        np->vfork_parent = t;
    if (pthread_create(&nt->host, NULL, thread_main, nt) != 0) {
        np->vfork_parent = NULL;
        err = -EAGAIN;
        goto fail;
    }
    kth(nt)->started = true;
    pthread_detach(nt->host);
    if (np != p && (flags & CLONE_VFORK)) {
        /* Not interruptible by signals, as Linux's wait_for_vfork_done. */
        for (;;) {
            struct process *c = process_find(tid);
            if (!c || c->vfork_parent != t || dying(t))
                break;
            kwait_raw(t);
        }
    }
    return tid;
fail:
    cpu_destroy(nt);
    thread_unlink(nt);
    thread_free(nt);
    if (np != p)
        process_abort(np);
    return err;
}

static int64_t sys_fork(struct thread *t, const uint32_t a[6])
{
    (void)a;
    return do_clone(t, G_SIGCHLD, 0, 0, 0, 0);
}

static int64_t sys_vfork(struct thread *t, const uint32_t a[6])
{
    (void)a;
    return do_clone(t, CLONE_VM | CLONE_VFORK | G_SIGCHLD, 0, 0, 0, 0);
}

/* i386 order: flags, newsp, parent_tidptr, tls, child_tidptr. */
static int64_t sys_clone(struct thread *t, const uint32_t a[6])
{
    return do_clone(t, a[0], a[1], a[2], a[3], a[4]);
}

static int64_t sys_clone3(struct thread *t, const uint32_t a[6])
{
    (void)t, (void)a;
    return -ENOSYS; /* glibc falls back to clone */
}

/* ---- execve ---- */

#define MAX_ARG_STRLEN (32 * PAGE)
#define MAX_ARG_TOTAL (2u << 20)
#define MAX_ARGS 0x7fff

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static char **strv_dup(char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(out[i] = strdup(v[i]))) {
            strv_free(out);
            return NULL;
        }
    }
    return out;
}

/* A guest char *[] (NULL: empty): 0 or -EFAULT / -E2BIG / -ENOMEM. */
static int read_strv(struct thread *t, uint32_t uv, char *scratch, size_t *total, char ***out)
{
    size_t n = 0, cap = 16;
    char **v = calloc(cap, sizeof(*v));
    if (!v)
        return -ENOMEM;
    int rc = 0;
    for (; uv; n++) {
        uint32_t sp;
        if (guest_read(t, uv + 4 * (uint32_t)n, &sp, 4)) {
            rc = -EFAULT;
            break;
        }
        if (!sp)
            break;
        if (n >= MAX_ARGS) {
            rc = -E2BIG;
            break;
        }
        rc = guest_str(t, sp, scratch, MAX_ARG_STRLEN);
        if (rc) {
            rc = rc == -ENAMETOOLONG ? -E2BIG : rc;
            break;
        }
        size_t len = strlen(scratch);
        *total += len + 1 + 4;
        if (*total > MAX_ARG_TOTAL) {
            rc = -E2BIG;
            break;
        }
        if (n + 1 >= cap) {
            char **nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            memset(nv + cap, 0, cap * sizeof(*v));
            v = nv;
            cap *= 2;
        }
        if (!(v[n] = strdup(scratch))) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc) {
        strv_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* binfmt_script: "#!interpreter [one argument]" in the first 256 bytes.
 * On success argv becomes interpreter, [argument,] script, argv[1..] and
 * *interp the path to open next.  -ENOEXEC when not a script. */
static int script_args(int fd, const char *script, char ***argv, char **interp)
{
    char buf[257];
    ssize_t n = pread(fd, buf, 256, 0);
    if (n < 2 || buf[0] != '#' || buf[1] != '!')
        return -ENOEXEC;
    buf[n] = 0;
    char *end = memchr(buf, '\n', (size_t)n);
    if (!end)
        end = buf + n;
    *end = 0;
    while (end > buf + 2 && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = 0;
    char *s = buf + 2;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return -ENOEXEC;
    char *name = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    char *arg = NULL;
    if (*s) {
        *s++ = 0;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s)
            arg = s;
    }
    size_t old = 0;
    while ((*argv)[old])
        old++;
    char **nv = calloc(old + 4, sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    size_t k = 0;
    nv[k++] = strdup(name);
    if (arg)
        nv[k++] = strdup(arg);
    nv[k++] = strdup(script);
    for (size_t i = 1; i < old; i++)
        nv[k++] = (*argv)[i];
    bool ok = nv[0] && (!arg || nv[1]) && nv[arg ? 2 : 1];
    char *ip = ok ? strdup(name) : NULL;
    if (!ip) {
        for (size_t i = 0; i < (arg ? 3u : 2u); i++)
            free(nv[i]);
        free(nv);
        return -ENOMEM;
    }
    if (old)
        free((*argv)[0]);
    free(*argv);
    *argv = nv;
    *interp = ip;
    return 0;
}

/* Past the point of no return: the process cannot continue its old image. */
_Noreturn static void exec_failed(struct thread *t, bool initial, const char *path, int err)
{
    if (initial) {
        dprintf(K.logfd, "guestmm-run-i386: %s: cannot load: %s\n", path, strerror(-err));
        _exit(127);
    }
    if (K.debug)
        dprintf(K.logfd, "guestmm-run-i386: [%d] execve %s failed late: %s\n", t->tid, path,
                strerror(-err));
    process_exit_group(t, G_SIGSEGV);
}

/* execve with argv and envp owned by the caller.  0 (the new image is
 * loaded) or -errno with nothing changed. */
static int exec_image(struct thread *t, const char *path, char ***argvp, char *const envp[],
                      bool initial)
{
    struct process *p = t->proc;
    char *open_path = strdup(path);
    if (!open_path)
        return -ENOMEM;
    int fd = -1, rc;
    for (int depth = 0;; depth++) {
        fd = fs_open_exec(t, open_path);
        if (fd < 0) {
            free(open_path);
            return fd;
        }
        rc = elf_check(fd);
        if (rc == 0)
            break;
        char *interp = NULL;
        if (rc == -ENOEXEC)
            rc = depth >= 4 ? -ELOOP : script_args(fd, open_path, argvp, &interp);
        close(fd);
        if (rc) {
            free(open_path);
            return rc;
        }
        free(open_path);
        open_path = interp;
    }
    free(open_path);
    char host_path[PATH_MAX];
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t hl = readlink(link, host_path, sizeof(host_path) - 1);
    host_path[hl > 0 ? hl : 0] = 0;

    /* The point of no return.  The other threads leave first. */
    for (struct thread *o = p->threads; o; o = o->next_in_proc) {
        if (o != t) {
            o->exiting = true;
            kernel_wake(o);
            cpu_kick(o);
        }
    }
    while (p->nthreads > 1)
        kwait_raw(t);
    t->tid = p->pid;
    if (t->clear_child_tid && p->mm && atomic_load(&p->mm->refs) > 1) {
        uint32_t zero = 0;
        if (guest_write(t, t->clear_child_tid, &zero, 4) == 0)
            futex_wake_addr(t, t->clear_child_tid, 1);
    }
    t->clear_child_tid = 0;
    t->robust_list = 0;
    cpu_destroy(t);
    if (atomic_load(&p->mm->refs) > 1) {
        /* A vfork child: the parent keeps the old mm. */
        struct mm *nm = mm_create();
        if (!nm) {
            close(fd);
            exec_failed(t, initial, path, -ENOMEM);
        }
        struct mm *old = p->mm;
        p->mm = nm;
        mm_put(old);
    } else {
        mem_exec_reset(p->mm);
        atomic_store(&p->mm->precise, false); /* the handlers are gone */
    }
    if (p->files->refs > 1) {
        struct files *nf = files_dup(p->files);
        if (nf) {
            files_put(p->files);
            p->files = nf;
        }
    }
    files_exec(p->files);
    signal_exec(p);
    t->altstack_sp = t->altstack_size = 0;
    t->altstack_flags = 0;
    if (cpu_create(t)) {
        close(fd);
        exec_failed(t, initial, path, -ENOMEM);
    }
    rc = load_elf(t, fd, path, *argvp, envp);
    close(fd);
    if (rc)
        exec_failed(t, initial, path, rc);
    mem_changed(p->mm);
    release_vfork(p);
    free(p->exe_path);
    p->exe_path = strdup(host_path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    memset(p->comm, 0, sizeof(p->comm));
    strncpy(p->comm, base, sizeof(p->comm) - 1);
    t->in_syscall = false;
    return 0;
}

int proc_exec(struct thread *t, const char *path, char *const argv[], char *const envp[])
{
    char **av = strv_dup(argv);
    if (!av)
        return -ENOMEM;
    int rc = exec_image(t, path, &av, envp, true);
    strv_free(av);
    return rc;
}

static int64_t do_execve(struct thread *t, const char *path, uint32_t uargv, uint32_t uenvp)
{
    char *scratch = malloc(MAX_ARG_STRLEN);
    if (!scratch)
        return -ENOMEM;
    size_t total = 0;
    char **argv = NULL, **envp = NULL;
    int rc = read_strv(t, uargv, scratch, &total, &argv);
    if (!rc)
        rc = read_strv(t, uenvp, scratch, &total, &envp);
    free(scratch);
    if (!rc)
        rc = exec_image(t, path, &argv, envp, false);
    strv_free(argv);
    strv_free(envp);
    return rc;
}

static int64_t sys_execve(struct thread *t, const uint32_t a[6])
{
    char path[PATH_MAX];
    int rc = guest_str(t, a[0], path, sizeof(path));
    if (rc)
        return rc;
    return do_execve(t, path, a[1], a[2]);
}

#define AT_EMPTY_PATH_G 0x1000
#define AT_SYMLINK_NOFOLLOW_G 0x100

/* execveat(dirfd, path, argv, envp, flags).  AT_EMPTY_PATH runs the file
 * of dirfd itself, through the guest's /proc/self/fd/N (fs.c's virtual
 * link to that fd); a path relative to a directory fd is joined to the
 * host path of that directory. */
static int64_t sys_execveat(struct thread *t, const uint32_t a[6])
{
    char path[PATH_MAX];
    int rc = guest_str(t, a[1], path, sizeof(path));
    if (rc)
        return rc;
    int dirfd = (int)a[0];
    uint32_t flags = a[4];
    if (flags & ~(AT_EMPTY_PATH_G | AT_SYMLINK_NOFOLLOW_G))
        return -EINVAL;
    if (path[0] == '/' || (dirfd == AT_FDCWD && path[0]))
        return do_execve(t, path, a[2], a[3]);
    if (!path[0]) {
        if (!(flags & AT_EMPTY_PATH_G))
            return -ENOENT;
        char self[64];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
        return do_execve(t, self, a[2], a[3]);
    }
    int fl;
    int hfd = files_host_dup(t->proc, dirfd, &fl);
    if (hfd < 0)
        return hfd;
    char link[64], dir[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", hfd);
    ssize_t n = readlink(link, dir, sizeof(dir) - 1);
    close(hfd);
    if (n <= 0)
        return -EBADF;
    dir[n] = 0;
    char full[2 * PATH_MAX];
    snprintf(full, sizeof(full), "%s/%s", dir, path);
    if (strlen(full) >= PATH_MAX)
        return -ENAMETOOLONG;
    return do_execve(t, full, a[2], a[3]);
}

/* ---- wait ---- */

#define WNOHANG_G 1
#define WUNTRACED_G 2
#define WEXITED_G 4
#define WCONTINUED_G 8
#define WNOWAIT_G 0x01000000
#define WNOTHREAD_G 0x20000000
#define WALL_G 0x40000000
#define WCLONE_G 0x80000000u

enum { P_ALL_G = 0, P_PID_G = 1, P_PGID_G = 2 };

static bool wait_matches(struct process *c, int which, int id, uint32_t options)
{
    if (which == P_PID_G && c->pid != id)
        return false;
    if (which == P_PGID_G && c->pgid != id)
        return false;
    /* __WCLONE waits for children that signal something else than SIGCHLD. */
    if (options & WALL_G)
        return true;
    return (c->exit_signal == G_SIGCHLD) != !!(options & WCLONE_G);
}

/* 0 and *out: a zombie child (NULL with WNOHANG when none yet); -ECHILD;
 * -ERESTARTSYS. */
static int wait_child(struct thread *t, int which, int id, uint32_t options, struct process **out)
{
    for (;;) {
        bool any = false;
        for (struct process *c = t->proc->children; c; c = c->sibling) {
            if (!wait_matches(c, which, id, options))
                continue;
            any = true;
            if (c->zombie) {
                *out = c;
                return 0;
            }
        }
        if (!any)
            return -ECHILD;
        if (options & WNOHANG_G) {
            *out = NULL;
            return 0;
        }
        int r = kernel_wait(t, NULL);
        if (r == -ERESTARTSYS)
            return r;
    }
}

static int64_t do_wait4(struct thread *t, int pid, uint32_t ustatus, uint32_t options,
                        uint32_t urusage)
{
    if (options & ~(WNOHANG_G | WUNTRACED_G | WCONTINUED_G | WNOTHREAD_G | WALL_G | WCLONE_G))
        return -EINVAL;
    if (pid == INT_MIN)
        return -ESRCH;
    int which = P_PID_G, id = pid;
    if (pid == -1)
        which = P_ALL_G;
    else if (pid == 0)
        which = P_PGID_G, id = t->proc->pgid;
    else if (pid < 0)
        which = P_PGID_G, id = -pid;
    struct process *c;
    int r = wait_child(t, which, id, options, &c);
    if (r)
        return r;
    if (!c)
        return 0;
    if (ustatus && guest_write(t, ustatus, &c->wait_status, 4))
        return -EFAULT;
    if (urusage) {
        static const uint8_t zeros[72]; /* struct rusage of i386 */
        if (guest_write(t, urusage, zeros, sizeof(zeros)))
            return -EFAULT;
    }
    int got = c->pid;
    process_free(c);
    return got;
}

static int64_t sys_wait4(struct thread *t, const uint32_t a[6])
{
    return do_wait4(t, (int)a[0], a[1], a[2], a[3]);
}

static int64_t sys_waitpid(struct thread *t, const uint32_t a[6])
{
    return do_wait4(t, (int)a[0], a[1], a[2], 0);
}

static int64_t sys_waitid(struct thread *t, const uint32_t a[6])
{
    int which = (int)a[0], id = (int)a[1];
    uint32_t infop = a[2], options = a[3], urusage = a[4];
    if (options & ~(WNOHANG_G | WUNTRACED_G | WEXITED_G | WCONTINUED_G | WNOWAIT_G |
                    WNOTHREAD_G | WALL_G | WCLONE_G))
        return -EINVAL;
    if (!(options & (WUNTRACED_G | WEXITED_G | WCONTINUED_G)))
        return -EINVAL;
    if (which == P_PID_G && id <= 0)
        return -EINVAL;
    if (which == P_PGID_G && id == 0)
        id = t->proc->pgid;
    else if (which == P_PGID_G && id < 0)
        return -EINVAL;
    if (which != P_ALL_G && which != P_PID_G && which != P_PGID_G)
        return -EINVAL;
    struct process *c = NULL;
    int r;
    if (options & WEXITED_G) {
        r = wait_child(t, which, id, options, &c);
    } else {
        /* Stops and continues are never reported (no job control). */
        r = wait_child(t, which, id, options | WNOHANG_G, &c);
        if (!r && !(options & WNOHANG_G)) {
            while ((r = kernel_wait(t, NULL)) == 0)
                ;
        }
        c = NULL;
    }
    if (r)
        return r;
    int32_t info[6] = {0};
    if (c) {
        int st = c->wait_status;
        info[0] = G_SIGCHLD;
        info[2] = (st & 0x7f) == 0 ? 1 /* CLD_EXITED */ : (st & 0x80) ? 3 /* CLD_DUMPED */ : 2;
        info[3] = c->pid;
        info[4] = (int32_t)getuid();
        info[5] = (st & 0x7f) == 0 ? (st >> 8) & 0xff : st & 0x7f;
    }
    if (infop && guest_write(t, infop, info, sizeof(info)))
        return -EFAULT;
    if (urusage) {
        static const uint8_t zeros[72];
        if (guest_write(t, urusage, zeros, sizeof(zeros)))
            return -EFAULT;
    }
    if (c && !(options & WNOWAIT_G))
        process_free(c);
    return 0;
}

/* ---- futexes ---- */

struct fwaiter {
    gmm_futex_key key;
    uint32_t bitset;
    struct thread *t;
    bool woken;
    struct fwaiter *next, *prev;
};
static struct fwaiter *fq_head, *fq_tail; /* FIFO: wakes go to the oldest waiters */

static void fq_add(struct fwaiter *w)
{
    w->next = NULL;
    w->prev = fq_tail;
    if (fq_tail)
        fq_tail->next = w;
    else
        fq_head = w;
    fq_tail = w;
}

static void fq_del(struct fwaiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        fq_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        fq_tail = w->prev;
    w->next = w->prev = NULL;
}

static bool key_eq(const gmm_futex_key *a, const gmm_futex_key *b)
{
    return a->kind == b->kind && a->dev == b->dev && a->ino == b->ino && a->offset == b->offset;
}

static int futex_key(struct thread *t, uint32_t uaddr, bool shared, bool write, gmm_futex_key *k)
{
    if (K.flat) {
        /* No library behind flat memory: every futex is private. */
        if (uaddr & 3)
            return -EINVAL;
        *k = (gmm_futex_key){GMM_FUTEX_KEY_PRIVATE, 0, (uintptr_t)t->proc->mm, uaddr};
        return 0;
    }
    return gmm_space_futex_key(t->proc->mm->space, uaddr, shared, write, k);
}

static int wake_key(const gmm_futex_key *k, int n, uint32_t bitset)
{
    int woken = 0;
    for (struct fwaiter *w = fq_head, *next; w; w = next) {
        next = w->next;
        if (!key_eq(&w->key, k) || !(w->bitset & bitset))
            continue;
        fq_del(w);
        w->woken = true;
        kernel_wake(w->t);
        /* As Linux: a count of 0 still wakes one. */
        if (++woken >= n)
            break;
    }
    return woken;
}

int futex_wake_addr(struct thread *t, uint32_t uaddr, int n)
{
    gmm_futex_key k;
    if (futex_key(t, uaddr, true, false, &k))
        return 0;
    return wake_key(&k, n, 0xffffffffu);
}

#define FUTEX_WAIT_G 0
#define FUTEX_WAKE_G 1
#define FUTEX_REQUEUE_G 3
#define FUTEX_CMP_REQUEUE_G 4
#define FUTEX_WAKE_OP_G 5
#define FUTEX_WAIT_BITSET_G 9
#define FUTEX_WAKE_BITSET_G 10
#define FUTEX_PRIVATE_G 128
#define FUTEX_CLOCK_REALTIME_G 256

/* A guest timespec (32- or 64-bit) into ts: 0, -EFAULT or -EINVAL. */
static int read_timespec(struct thread *t, uint32_t addr, bool wide, struct timespec *ts)
{
    int64_t sec, nsec;
    if (wide) {
        int64_t v[2];
        if (guest_read(t, addr, v, sizeof(v)))
            return -EFAULT;
        sec = v[0], nsec = v[1];
    } else {
        int32_t v[2];
        if (guest_read(t, addr, v, sizeof(v)))
            return -EFAULT;
        sec = v[0], nsec = v[1];
    }
    if (sec < 0 || nsec < 0 || nsec >= 1000000000)
        return -EINVAL;
    ts->tv_sec = (time_t)sec;
    ts->tv_nsec = (long)nsec;
    return 0;
}

static void ts_add(struct timespec *a, const struct timespec *b)
{
    a->tv_sec += b->tv_sec;
    a->tv_nsec += b->tv_nsec;
    if (a->tv_nsec >= 1000000000) {
        a->tv_sec++;
        a->tv_nsec -= 1000000000;
    }
}

/* The CLOCK_MONOTONIC deadline of a futex wait. */
static void futex_deadline(const struct timespec *ts, bool absolute, bool realtime,
                           struct timespec *dl)
{
    clock_gettime(CLOCK_MONOTONIC, dl);
    if (!absolute) {
        ts_add(dl, ts);
        return;
    }
    struct timespec now;
    clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
    int64_t left = ((int64_t)ts->tv_sec - now.tv_sec) * 1000000000 + (ts->tv_nsec - now.tv_nsec);
    if (left < 0)
        left = 0;
    struct timespec d = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
    ts_add(dl, &d);
}

static int futex_wait(struct thread *t, uint32_t uaddr, uint32_t val, bool shared,
                      const struct timespec *dl, uint32_t bitset)
{
    if (!bitset)
        return -EINVAL;
    struct fwaiter w = {.bitset = bitset, .t = t};
    int r = futex_key(t, uaddr, shared, false, &w.key);
    if (r)
        return r;
    /* Read under klock: a waker needs klock too, so none is lost. */
    uint32_t cur;
    if (guest_read(t, uaddr, &cur, 4))
        return -EFAULT;
    if (cur != val)
        return -EAGAIN;
    fq_add(&w);
    r = 0;
    while (!w.woken) {
        r = kernel_wait(t, dl);
        if (r)
            break;
    }
    if (w.woken)
        return 0;
    fq_del(&w);
    return r;
}

static int futex_requeue(struct thread *t, uint32_t uaddr, uint32_t uaddr2, int nwake,
                         int nrequeue, bool shared, bool cmp, uint32_t val3)
{
    if (nwake < 0 || nrequeue < 0)
        return -EINVAL;
    gmm_futex_key k1, k2;
    int r = futex_key(t, uaddr, shared, false, &k1);
    if (!r)
        r = futex_key(t, uaddr2, shared, false, &k2);
    if (r)
        return r;
    if (cmp) {
        uint32_t cur;
        if (guest_read(t, uaddr, &cur, 4))
            return -EFAULT;
        if (cur != val3)
            return -EAGAIN;
    }
    int done = 0, moved = 0;
    for (struct fwaiter *w = fq_head, *next; w; w = next) {
        next = w->next;
        if (!key_eq(&w->key, &k1))
            continue;
        if (done < nwake) {
            fq_del(w);
            w->woken = true;
            kernel_wake(w->t);
            done++;
        } else if (moved < nrequeue) {
            w->key = k2;
            moved++;
        } else {
            break;
        }
    }
    return done + moved;
}

static int futex_wake_op(struct thread *t, uint32_t uaddr, uint32_t uaddr2, int n1, int n2,
                         bool shared, uint32_t val3)
{
    unsigned op = (val3 >> 28) & 7, cmp = (val3 >> 24) & 15;
    uint32_t oparg = (val3 >> 12) & 0xfff, cmparg = val3 & 0xfff;
    if ((val3 >> 28) & 8) {
        if (oparg > 31)
            return -EINVAL;
        oparg = 1u << oparg;
    }
    if (op > 4 || cmp > 5)
        return -ENOSYS;
    gmm_futex_key k1, k2, store;
    int r = futex_key(t, uaddr, shared, false, &k1);
    if (!r)
        r = futex_key(t, uaddr2, shared, false, &k2);
    /* Faults the word in for a store (or fails with -EFAULT) so that
     * gmm_translate below finds it without reporting a guest fault. */
    if (!r)
        r = futex_key(t, uaddr2, true, true, &store);
    if (r)
        return r;
    uint32_t *w = K.flat ? (uint32_t *)(void *)(t->proc->mm->base + uaddr2)
                         : gmm_translate(t->proc->mm->space, uaddr2, GMM_ACCESS_WRITE);
    if (!w)
        return -EFAULT;
    uint32_t old;
    /* Atomic against this process's guest code (kernel.h); other
     * processes sharing the word only through the host's atomics. */
    run_acquire(t);
    switch (op) {
    case 0: old = __atomic_exchange_n(w, oparg, __ATOMIC_SEQ_CST); break;
    case 1: old = __atomic_fetch_add(w, oparg, __ATOMIC_SEQ_CST); break;
    case 2: old = __atomic_fetch_or(w, oparg, __ATOMIC_SEQ_CST); break;
    case 3: old = __atomic_fetch_and(w, ~oparg, __ATOMIC_SEQ_CST); break;
    default: old = __atomic_fetch_xor(w, oparg, __ATOMIC_SEQ_CST); break;
    }
    run_release(t);
    int32_t o = (int32_t)old, c = (int32_t)cmparg;
    bool hit = cmp == 0 ? o == c : cmp == 1 ? o != c : cmp == 2 ? o < c : cmp == 3 ? o <= c
             : cmp == 4 ? o > c : o >= c;
    int woken = wake_key(&k1, n1, 0xffffffffu);
    if (hit)
        woken += wake_key(&k2, n2, 0xffffffffu);
    return woken;
}

static int64_t do_futex(struct thread *t, const uint32_t a[6], bool wide)
{
    uint32_t uaddr = a[0], op = a[1], val = a[2], utime = a[3], uaddr2 = a[4], val3 = a[5];
    bool shared = !(op & FUTEX_PRIVATE_G), realtime = op & FUTEX_CLOCK_REALTIME_G;
    unsigned cmd = op & ~(FUTEX_PRIVATE_G | FUTEX_CLOCK_REALTIME_G);
    if (realtime && cmd != FUTEX_WAIT_G && cmd != FUTEX_WAIT_BITSET_G)
        return -ENOSYS;
    switch (cmd) {
    case FUTEX_WAIT_G:
    case FUTEX_WAIT_BITSET_G: {
        struct timespec ts, dl;
        const struct timespec *dlp = NULL;
        if (utime) {
            int r = read_timespec(t, utime, wide, &ts);
            if (r)
                return r;
            futex_deadline(&ts, cmd == FUTEX_WAIT_BITSET_G, realtime, &dl);
            dlp = &dl;
        }
        return futex_wait(t, uaddr, val, shared, dlp,
                          cmd == FUTEX_WAIT_G ? 0xffffffffu : val3);
    }
    case FUTEX_WAKE_G:
    case FUTEX_WAKE_BITSET_G: {
        uint32_t bitset = cmd == FUTEX_WAKE_G ? 0xffffffffu : val3;
        if (!bitset)
            return -EINVAL;
        gmm_futex_key k;
        int r = futex_key(t, uaddr, shared, false, &k);
        if (r)
            return r;
        return wake_key(&k, (int)val, bitset);
    }
    case FUTEX_REQUEUE_G:
    case FUTEX_CMP_REQUEUE_G:
        return futex_requeue(t, uaddr, uaddr2, (int)val, (int)utime, shared,
                             cmd == FUTEX_CMP_REQUEUE_G, val3);
    case FUTEX_WAKE_OP_G:
        return futex_wake_op(t, uaddr, uaddr2, (int)val, (int)utime, shared, val3);
    default:
        return -ENOSYS; /* FUTEX_FD, the PI operations */
    }
}

static int64_t sys_futex(struct thread *t, const uint32_t a[6])
{
    return do_futex(t, a, false);
}

static int64_t sys_futex_time64(struct thread *t, const uint32_t a[6])
{
    return do_futex(t, a, true);
}

/* ---- the first process ---- */

struct thread *proc_create_init(void)
{
    struct process *p = process_new();
    if (!p)
        return NULL;
    K.next_pid = (int)getpid();
    p->pid = pid_alloc();
    p->pgid = (int)getpgrp();
    p->sid = (int)getsid(0);
    K.init = p;
    p->files = files_new();
    p->fs = fs_new();
    p->sigh = sighand_new();
    p->mm = mm_create();
    if (!p->files || !p->fs || !p->sigh || !p->mm)
        return NULL;
    struct thread *t = thread_new(p, p->pid);
    if (!t)
        return NULL;
    t->host = pthread_self();
    kth(t)->started = true;
    return t;
}

const struct syscall_def proc_syscalls[] = {
    {1, "exit", sys_exit},
    {2, "fork", sys_fork},
    {7, "waitpid", sys_waitpid},
    {11, "execve", sys_execve},
    {20, "getpid", sys_getpid},
    {57, "setpgid", sys_setpgid},
    {64, "getppid", sys_getppid},
    {65, "getpgrp", sys_getpgrp},
    {66, "setsid", sys_setsid},
    {114, "wait4", sys_wait4},
    {120, "clone", sys_clone},
    {132, "getpgid", sys_getpgid},
    {147, "getsid", sys_getsid},
    {158, "sched_yield", sys_sched_yield},
    {190, "vfork", sys_vfork},
    {224, "gettid", sys_gettid},
    {240, "futex", sys_futex},
    {241, "sched_setaffinity", sys_sched_setaffinity},
    {242, "sched_getaffinity", sys_sched_getaffinity},
    {243, "set_thread_area", sys_set_thread_area},
    {252, "exit_group", sys_exit_group},
    {258, "set_tid_address", sys_set_tid_address},
    {284, "waitid", sys_waitid},
    {311, "set_robust_list", sys_set_robust_list},
    {318, "getcpu", sys_getcpu},
    {358, "execveat", sys_execveat},
    {422, "futex_time64", sys_futex_time64},
    {435, "clone3", sys_clone3},
    {0, NULL, NULL},
};
