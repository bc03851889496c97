/* threads4: guest threads on one address space.
 *
 * 1. Four pthreads allocate and free under a mutex-protected counter:
 *    each keeps up to 64 live blocks of pseudo-random sizes (16 B to
 *    256 KiB, so both brk and mmap serve them), fills each with its own
 *    pattern and checks it before free.  pthread_join returns each
 *    thread's checksum; the counter and the checksums are exact.
 *    Each thread's __thread variable is its own (TLS through
 *    set_thread_area / CLONE_SETTLS).
 * 2. pthread_join itself waits on CLONE_CHILD_CLEARTID: the kernel clears
 *    the thread id word and wakes the futex when the thread exits.  A raw
 *    clone(2) with CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
 *    CLONE_CHILD_CLEARTID checks the same thing without glibc's help. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 20000
#define LIVE 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long allocations;     /* under lock */
static long long bytes;      /* under lock */
static int bad_patterns;     /* under lock */
static __thread int my_index = -1;
static pid_t main_tid;
static int tid_differs[THREADS];

static uint32_t next(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return *x >> 8;
}

static void *worker(void *arg)
{
    int index = (int)(intptr_t)arg;
    my_index = index;
    tid_differs[index] = syscall(SYS_gettid) != main_tid;
    uint32_t rng = 1000u + (uint32_t)index;
    unsigned char *blocks[LIVE] = {0};
    size_t sizes[LIVE] = {0};
    uint32_t checksum = 0;

    for (int round = 0; round < ROUNDS; round++) {
        int slot = (int)(next(&rng) % LIVE);
        if (blocks[slot]) {
            unsigned char want = (unsigned char)(index * 64 + slot);
            int bad = 0;
            for (size_t i = 0; i < sizes[slot]; i += 97)
                bad |= blocks[slot][i] != want;
            checksum = checksum * 31 + (uint32_t)sizes[slot];
            free(blocks[slot]);
            blocks[slot] = NULL;
            if (bad) {
                pthread_mutex_lock(&lock);
                bad_patterns++;
                pthread_mutex_unlock(&lock);
            }
        }
        /* Mostly small blocks, one in 16 large enough for mmap. */
        uint32_t r = next(&rng);
        size_t size = (r % 16 == 0) ? 128 * 1024 + r % (128 * 1024) : 16 + r % 4000;
        blocks[slot] = malloc(size);
        if (!blocks[slot])
            abort();
        memset(blocks[slot], index * 64 + slot, size);
        sizes[slot] = size;
        pthread_mutex_lock(&lock);
        allocations++;
        bytes += (long long)size;
        pthread_mutex_unlock(&lock);
        if (round % 1000 == 0)
            sched_yield();
    }
    for (int slot = 0; slot < LIVE; slot++)
        free(blocks[slot]);
    if (my_index != index)
        checksum = 0;       /* another thread's TLS: the join sees it */
    return (void *)(uintptr_t)checksum;
}

/* The raw clone: a thread that shares everything but has no TLS of its
 * own, so it touches only this word and returns (glibc's clone wrapper
 * then calls exit(2), which clears child_tid and wakes it). */
static volatile int clone_ran;

static int clone_child(void *arg)
{
    (void)arg;
    clone_ran = 1;
    return 0;
}

static void raw_clone(void)
{
    size_t stack_size = 64 * 1024;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        abort();
    pid_t parent_tid = 0;
    pid_t child_tid = -1;
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    int tid = clone(clone_child, stack + stack_size, flags, NULL, &parent_tid, NULL, &child_tid);
    if (tid < 0) {
        perror("clone");
        exit(1);
    }
    /* Wait as pthread_join does: until the kernel clears the word. */
    int v, waits = 0;
    while ((v = __atomic_load_n(&child_tid, __ATOMIC_SEQ_CST)) != 0) {
        syscall(SYS_futex, &child_tid, FUTEX_WAIT, v, NULL, NULL, 0);
        if (++waits > 100000)
            break;
    }
    printf("raw clone: returned tid is CLONE_PARENT_SETTID's: %s, child ran: %s, "
           "CLONE_CHILD_CLEARTID cleared the word: %s\n",
           parent_tid == tid ? "yes" : "no", clone_ran ? "yes" : "no", child_tid == 0 ? "yes" : "no");
    munmap(stack, stack_size);
}

int main(void)
{
    main_tid = (pid_t)syscall(SYS_gettid);
    my_index = 99;
    printf("main thread: gettid == getpid: %s\n", main_tid == getpid() ? "yes" : "no");

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        int rc = pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
        if (rc != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        int rc = pthread_join(threads[i], &ret);
        printf("thread %d: joined %s, checksum %08lx, own tid: %s\n", i, rc == 0 ? "ok" : "FAILED",
               (unsigned long)(uintptr_t)ret, tid_differs[i] ? "yes" : "no");
    }
    printf("allocations %ld (expected %d), bytes %lld, bad patterns %d\n", allocations,
           THREADS * ROUNDS, bytes, bad_patterns);
    printf("main thread's TLS kept: %s\n", my_index == 99 ? "yes" : "no");
    raw_clone();
    return 0;
}
