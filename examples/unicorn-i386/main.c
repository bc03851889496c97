/*
 * main.c - guestmm-run-i386 [-L SYSROOT] PROGRAM [ARGS...]: runs a static
 * i386 Linux program, and every process and thread it starts, in this one
 * host process: each guest thread is a host thread with a Unicorn engine,
 * each guest process's memory a libguestmm space mirrored into host memory
 * by a window.  The guest's stdin, stdout and stderr are the runner's; the
 * exit status is the first process's, 128 + signal when a signal ends it.
 *
 * Environment:
 *   GUESTMM_RUN_DEBUG=1  log unknown syscalls, fatal signals, the exit
 *   GUESTMM_RUN_TRACE=1  log every system call
 *   GUESTMM_RUN_FLAT=1   measurement only: the whole guest address space as
 *                        one flat Unicorn region, no library behind it (mem.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "kernel.h"

extern char **environ;

/* -L: where the guest's absolute paths will resolve (the next issue's
 * dynamic programs; fs.c reads it). */
const char *guest_sysroot;

static bool env_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static void on_kick(int sig)
{
    (void)sig; /* only ends wait_fd's ppoll */
}

static int usage(int status)
{
    fprintf(stderr, "usage: guestmm-run-i386 [-L SYSROOT] PROGRAM [ARGS...]\n"
                    "Runs a static i386 Linux program under Unicorn with libguestmm memory.\n");
    return status;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(0);
        if (!strcmp(argv[i], "-L") && i + 1 < argc)
            guest_sysroot = argv[++i];
        else if (!strncmp(argv[i], "-L", 2) && argv[i][2])
            guest_sysroot = argv[i] + 2;
        else
            return usage(2);
    }
    if (i >= argc)
        return usage(2);

    K.debug = env_on("GUESTMM_RUN_DEBUG");
    K.trace = env_on("GUESTMM_RUN_TRACE");
    K.flat = env_on("GUESTMM_RUN_FLAT");
    K.logfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (K.logfd < 0)
        K.logfd = 2;
    signal(SIGPIPE, SIG_IGN); /* a guest's EPIPE is the guest's */
    /* No transparent huge pages in this process.  Unicorn asks for them on
     * each engine's 1 GiB code buffer (MADV_HUGEPAGE, as QEMU does), so
     * the first translated block of an engine makes 2 MiB resident; every
     * guest process and thread has an engine here, where qemu-i386 has one
     * a host process.  Without them an engine's first run costs about
     * 0.8 MiB instead of 2.9 (README.md here: what a guest process costs).
     * A host without THP refuses nothing here, so the result is not
     * checked. */
    (void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);

    /* The kick signal: blocked here, so in every thread made later, and
     * unblocked only inside wait_fd's ppoll. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    sigaction(kick_signal(), &sa, NULL);
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, kick_signal());
    pthread_sigmask(SIG_BLOCK, &kick, NULL);

    if (mem_global_init()) {
        dprintf(K.logfd, "guestmm-run-i386: cannot set up guest memory\n");
        return 127;
    }
    if (!K.sys) { /* flat mode made its own */
        gmm_host host;
        memset(&host, 0, sizeof(host));
        host.get_file = host_get_file;
        host.fault = host_fault;
        host.invalidate = host_invalidate;
        K.sys = gmm_system_create_mappable(&host);
    }
    if (!K.sys) {
        dprintf(K.logfd, "guestmm-run-i386: this host cannot mirror guest memory (windows)\n");
        return 127;
    }
    if (syscall_init()) {
        dprintf(K.logfd, "guestmm-run-i386: bad system call table\n");
        return 127;
    }

    pthread_mutex_lock(&klock);
    struct thread *t = proc_create_init();
    if (!t) {
        dprintf(K.logfd, "guestmm-run-i386: cannot create the first process\n");
        return 127;
    }
    current = t;
    int rc = proc_exec(t, argv[i], argv + i, environ);
    if (rc) {
        dprintf(K.logfd, "guestmm-run-i386: %s: %s\n", argv[i],
                rc == -ENOEXEC ? "not a static i386 ELF executable" : strerror(-rc));
        return 127;
    }
    pthread_mutex_unlock(&klock);
    cpu_run(t); /* the runner ends when the first process does */
    return 127;
}
