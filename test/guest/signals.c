/* signals: delivery between guest processes and threads as Linux does
 * it.  sigsuspend woken by another process; a blocked pipe read
 * interrupted with and without SA_RESTART; SA_ONSTACK on a sigaltstack;
 * the mask inside a handler and after it; SA_RESETHAND; sigtimedwait;
 * SIGCHLD; rt_sigqueueinfo's value. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int got, chld, masked_inside;
static volatile uintptr_t handler_sp;

static void on_sig(int sig)
{
    got = sig;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    masked_inside = sigismember(&now, sig) && sigismember(&now, SIGUSR2);
    int local;
    handler_sp = (uintptr_t)&local;
}

static void on_chld(int sig)
{
    (void)sig;
    chld++;
}

static pid_t kill_me_later(int sig, int delay_us, int pipe_fd)
{
    pid_t parent = getpid(), c = fork();
    if (c == 0) {
        usleep((unsigned)delay_us);
        kill(parent, sig);
        if (pipe_fd >= 0) {
            usleep(20000);
            write(pipe_fd, "x", 1);
        }
        _exit(0);
    }
    return c;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t c = kill_me_later(SIGUSR1, 10000, -1);
    sigsuspend(&old);
    sigset_t after;
    sigprocmask(SIG_BLOCK, NULL, &after);
    printf("sigsuspend woken by %d; masked inside the handler: %s; blocked again after: %s\n",
           got, masked_inside ? "yes" : "no", sigismember(&after, SIGUSR1) ? "yes" : "no");
    waitpid(c, NULL, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);

    int p[2];
    pipe(p);
    char ch = 0;
    got = 0;
    c = kill_me_later(SIGUSR1, 10000, p[1]);
    long r = read(p[0], &ch, 1);
    printf("read without SA_RESTART: %ld (%s), handler ran %s\n", r, r < 0 && errno == EINTR ? "EINTR" : "?",
           got ? "yes" : "no");
    waitpid(c, NULL, 0);
    read(p[0], &ch, 1);

    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    got = 0;
    c = kill_me_later(SIGUSR1, 10000, p[1]);
    r = read(p[0], &ch, 1);
    printf("read with SA_RESTART: %ld '%c', handler ran %s\n", r, ch, got ? "yes" : "no");
    waitpid(c, NULL, 0);

    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    sigaltstack(&ss, NULL);
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("SA_ONSTACK: the handler ran on the alternate stack: %s\n",
           handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt ? "yes" : "no");
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("SA_RESETHAND: back to SIG_DFL: %s\n", now.sa_handler == SIG_DFL ? "yes" : "no");

    sigprocmask(SIG_BLOCK, &block, NULL);
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 42});
    siginfo_t si;
    struct timespec ts = {1, 0};
    int s = sigtimedwait(&block, &si, &ts);
    printf("sigtimedwait: %d, SI_QUEUE %s, value %d\n", s, si.si_code == SI_QUEUE ? "yes" : "no",
           si.si_value.sival_int);
    ts.tv_sec = 0;
    ts.tv_nsec = 10000000;
    errno = 0;
    s = sigtimedwait(&block, &si, &ts);
    printf("sigtimedwait with nothing pending: %d %s\n", s, errno == EAGAIN ? "EAGAIN" : "?");

    signal(SIGCHLD, on_chld);
    for (int i = 0; i < 3; i++) {
        c = fork();
        if (c == 0)
            _exit(i);
        waitpid(c, NULL, 0);
    }
    printf("SIGCHLD handled %d times\n", chld);
    return 0;
}
