/* sigchld_wait: children ended in different ways, seen through SIGCHLD,
 * rt_sigsuspend and waitpid(WNOHANG), with the wait status decoded.
 *
 * Five children: one exits 7, one is killed by the parent with kill(2)
 * (SIGTERM), one with tkill(2) (SIGUSR1), one with tgkill(2) (SIGKILL), and
 * one waits on a pipe, so that waitpid(WNOHANG) first finds it running,
 * and exits 0 once the parent closes the pipe.  SIGCHLD is blocked
 * throughout but in sigsuspend(2) (the rt_sigsuspend call): the parent
 * first waits there for the first child's exit, then after each wake-up reaps
 * with waitpid(-1, WNOHANG) until nothing is left: a lost SIGCHLD hangs
 * it, a missing rt_sigsuspend spins or fails.  The statuses are printed
 * in child order, raw and decoded. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 5

static volatile sig_atomic_t sigchld_seen;
static volatile sig_atomic_t sigchld_code_ok = 1;

static void on_sigchld(int sig, siginfo_t *info, void *context)
{
    (void)context;
    if (sig != SIGCHLD || info->si_signo != SIGCHLD ||
        (info->si_code != CLD_EXITED && info->si_code != CLD_KILLED && info->si_code != CLD_DUMPED))
        sigchld_code_ok = 0;
    sigchld_seen++;
}

static void die(const char *what)
{
    perror(what);
    exit(99);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigchld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        die("sigaction");

    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, &old) != 0)
        die("sigprocmask");

    int gate[2];
    if (pipe(gate) != 0)
        die("pipe");
    pid_t pids[CHILDREN];
    const char *what[CHILDREN] = {"exit(7)", "kill SIGTERM", "tkill SIGUSR1", "tgkill SIGKILL",
                                  "exits when the pipe closes"};
    fflush(stdout);
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork");
        if (pids[i] == 0) {
            close(gate[1]);
            if (i == 0)
                _exit(7);
            char c;
            /* All but the first wait here: killed while blocked in read,
             * or, for the last, until the parent closes the pipe. */
            ssize_t n = read(gate[0], &c, 1);
            _exit(n == 0 ? 0 : 50);
        }
    }
    close(gate[0]);

    /* Child 0 exits at once: its SIGCHLD, pending or still to come, ends
     * this sigsuspend (the others wait on the pipe until killed). */
    sigset_t waitmask = old;
    sigdelset(&waitmask, SIGCHLD);
    int s = sigsuspend(&waitmask);
    int e = errno;
    printf("sigsuspend until child 0 exits: %d %s, SIGCHLD handler ran: %s\n", s,
           e == EINTR ? "EINTR" : "?", sigchld_seen > 0 ? "yes" : "no");

    int status;
    pid_t r = waitpid(pids[4], &status, WNOHANG);
    printf("waitpid(WNOHANG) on a running child: %d\n", (int)r);

    if (kill(pids[1], SIGTERM) != 0)
        die("kill");
    if (syscall(SYS_tkill, pids[2], SIGUSR1) != 0)
        die("tkill");
    if (syscall(SYS_tgkill, pids[3], pids[3], SIGKILL) != 0)
        die("tgkill");
    close(gate[1]);

    int statuses[CHILDREN];
    int reaped = 0, suspend_eintr = 1;
    while (reaped < CHILDREN) {
        pid_t pid;
        while (reaped < CHILDREN && (pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < CHILDREN; i++)
                if (pids[i] == pid)
                    statuses[i] = status;
            reaped++;
        }
        if (reaped < CHILDREN && pid < 0)
            die("waitpid");
        if (reaped < CHILDREN) {
            /* SIGCHLD is blocked here, so none is lost between the
             * reaping above and the wait below. */
            s = sigsuspend(&waitmask);
            if (s != -1 || errno != EINTR)
                suspend_eintr = 0;
        }
    }
    for (int i = 0; i < CHILDREN; i++) {
        status = statuses[i];
        printf("child %d (%s): status 0x%04x, ", i, what[i], status);
        if (WIFEXITED(status))
            printf("WIFEXITED, WEXITSTATUS %d\n", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            printf("WIFSIGNALED, WTERMSIG %d (%s)\n", WTERMSIG(status),
                   WTERMSIG(status) == SIGTERM   ? "SIGTERM"
                   : WTERMSIG(status) == SIGUSR1 ? "SIGUSR1"
                   : WTERMSIG(status) == SIGKILL ? "SIGKILL"
                                                 : "?");
        else
            printf("neither exited nor signalled\n");
    }
    printf("siginfo codes CLD_*: %s, every sigsuspend returned -1/EINTR: %s\n",
           sigchld_code_ok ? "yes" : "no", suspend_eintr ? "yes" : "no");
    errno = 0;
    r = waitpid(-1, &status, WNOHANG);
    printf("waitpid with no children left: %d %s\n", (int)r, errno == ECHILD ? "ECHILD" : "?");
    return 0;
}
