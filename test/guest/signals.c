/* signals: delivery between guest processes and threads as Linux does
 * it.  sigsuspend woken by another process; a blocked pipe read
 * interrupted with and without SA_RESTART; SA_ONSTACK on a sigaltstack;
 * the mask inside a handler and after it; SA_RESETHAND; sigtimedwait;
 * SIGCHLD; rt_sigqueueinfo's value; the FPU and SSE state around a handler
 * that clobbers it (the "~" line: qemu-i386 loses the x87 stack there). */
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

__attribute__((target("sse2"))) static void clobber_fpu(int sig)
{
    (void)sig;
    __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tfldpi\n\tfldpi\n\tfstp %%st(0)\n\tfstp %%st(0)" ::
                         : "xmm0", "memory");
    unsigned short cw = 0x007f;
    __asm__ volatile("fldcw %0" ::"m"(cw));
}

/* kill(getpid(), SIGUSR2) from inside one asm block, so that xmm0 and
 * st(0) are live across the signal's delivery. */
__attribute__((target("sse2"))) static void fpu_across_handler(void)
{
    signal(SIGUSR2, clobber_fpu);
    unsigned x[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444}, y[4], r;
    double in = 2.5, out;
    unsigned short cw;
    __asm__ volatile("movdqu %[x], %%xmm0\n\tfldl %[in]\n\t"
                     "int $0x80\n\t"
                     "movdqu %%xmm0, %[y]\n\tfstpl %[out]\n\tfnstcw %[cw]"
                     : "=a"(r), [y] "=m"(y), [out] "=m"(out), [cw] "=m"(cw)
                     : "a"(37), "b"(getpid()), "c"(SIGUSR2), [x] "m"(x), [in] "m"(in)
                     : "xmm0", "memory");
    printf("~FPU state across a handler: xmm0 %s, st(0) %g, control word %#x\n",
           memcmp(x, y, 16) ? "clobbered" : "kept", out, cw);
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
    fpu_across_handler();
    return 0;
}
