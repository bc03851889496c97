/* threads: guest threads as Linux runs them.  4 pthreads allocate under a
 * mutex, each with its own TLS; join returns each one's value; a signal
 * sent with tgkill runs in the thread it was sent to, even while that
 * thread spins; x87 and SSE start as Linux starts a task and keep their
 * state while threads take turns. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long total;
static __thread int mine = -1;

static void *allocate(void *arg)
{
    int id = (int)(long)arg;
    mine = id;
    for (int i = 0; i < 3000; i++) {
        pthread_mutex_lock(&lock);
        char *p = malloc(16 + (size_t)(i % 64) * 40);
        memset(p, id, 16);
        total += p[0];
        free(p);
        pthread_mutex_unlock(&lock);
    }
    /* Another thread's store to its own TLS never shows here. */
    return (void *)(long)(mine * 10 + (syscall(SYS_gettid) != getpid()));
}

static volatile int stop;
static volatile pid_t spinner_tid, handled_in;

static void on_usr1(int sig)
{
    (void)sig;
    handled_in = (pid_t)syscall(SYS_gettid);
}

static void *spin(void *arg)
{
    (void)arg;
    spinner_tid = (pid_t)syscall(SYS_gettid);
    while (!stop)
        ;
    return NULL;
}

/* x87 arithmetic that needs the 64-bit mantissa Linux's control word gives. */
__attribute__((noinline)) static double x87_sum(unsigned seed)
{
    double d = seed; /* kept on the x87 stack across blocks */
    unsigned long h = seed;
    for (int i = 0; i < 1000000; i++) {
        h = h * 31 + (i ^ (h >> 7));
        if (h & 1)
            d = d * 1.0000001 + 1;
    }
    return d;
}

static void *sum(void *arg)
{
    double *out = arg;
    *out = x87_sum(3);
    return NULL;
}

int main(void)
{
    unsigned short cw;
    unsigned mxcsr;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    printf("x87 control word %#x, mxcsr %#x\n", cw, mxcsr);

    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, allocate, (void *)(i + 1));
    long joined = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        joined += (long)r;
    }
    printf("total %ld, joined %ld, main's tls %d\n", total, joined, mine);

    signal(SIGUSR1, on_usr1);
    pthread_t s;
    pthread_create(&s, NULL, spin, NULL);
    while (!spinner_tid)
        usleep(1000);
    syscall(SYS_tgkill, getpid(), spinner_tid, SIGUSR1);
    while (!handled_in)
        usleep(1000);
    printf("tgkill: the handler ran in the target thread: %s\n",
           handled_in == spinner_tid ? "yes" : "no");
    stop = 1;
    pthread_join(s, NULL);

    double a = 0, b = 0;
    pthread_t s1, s2;
    pthread_create(&s1, NULL, sum, &a);
    pthread_create(&s2, NULL, sum, &b);
    double c = x87_sum(3);
    pthread_join(s1, NULL);
    pthread_join(s2, NULL);
    printf("three x87 sums in parallel agree: %s (%.6f)\n", a == b && b == c ? "yes" : "no", c);
    return 0;
}
