/* futex_handoff [ROUNDS] [FILE]: a futex handoff between two processes over
 * MAP_SHARED memory, with raw futex(2) calls and no FUTEX_PRIVATE_FLAG, so
 * the kernel (or the runner) must key the wait by the memory's backing
 * object, not by the process and address.
 *
 * 1. Anonymous MAP_SHARED memory inherited across fork (same address in
 *    both processes): ping-pong ROUNDS times on a turn word.
 * 2. A MAP_SHARED mapping of FILE that the child maps again after fork at
 *    another address: the child waits on its address, the parent wakes on
 *    its own; ping-pong ROUNDS times again.
 * 3. The calls' own answers: FUTEX_WAIT on a changed value is EAGAIN, a
 *    FUTEX_WAIT with a timeout is ETIMEDOUT, FUTEX_WAKE with no waiter is 0.
 *
 * Every printed count is exact: each side does ROUNDS turns, the shared
 * counter ends at 2 * ROUNDS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
    int turn;        /* 0: the parent's turn, 1: the child's */
    int counter;     /* incremented once per turn */
    int last;        /* who took the last turn */
    int mistakes;    /* a turn taken out of order */
};

static long futex(int *addr, int op, int val, const struct timespec *timeout)
{
    return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

static void die(const char *what)
{
    perror(what);
    exit(99);
}

static void wait_turn(int *turn, int me)
{
    int v;
    while ((v = __atomic_load_n(turn, __ATOMIC_SEQ_CST)) != me) {
        if (futex(turn, FUTEX_WAIT, v, NULL) != 0 && errno != EAGAIN && errno != EINTR)
            die("FUTEX_WAIT");
    }
}

static void give_turn(int *turn, int other)
{
    __atomic_store_n(turn, other, __ATOMIC_SEQ_CST);
    if (futex(turn, FUTEX_WAKE, 1, NULL) < 0)
        die("FUTEX_WAKE");
}

/* One side of the ping-pong: ROUNDS turns, each checking that the other
 * side took the previous one. */
static void play(struct shared *s, int me, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        wait_turn(&s->turn, me);
        if (s->counter > 0 && s->last == me)
            s->mistakes++;
        s->counter++;
        s->last = me;
        give_turn(&s->turn, 1 - me);
    }
}

static void report(const char *what, struct shared *s, int rounds, int status)
{
    printf("%s: counter %d (expected %d), out-of-order turns %d, child exit %d\n", what,
           s->counter, 2 * rounds, s->mistakes, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void anonymous(int rounds)
{
    struct shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        die("mmap");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        play(s, 1, rounds);
        _exit(0);
    }
    play(s, 0, rounds);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    report("anonymous MAP_SHARED, same address", s, rounds, status);
    munmap(s, 4096);
}

static void file_backed(int rounds, const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die(path);
    if (ftruncate(fd, 3 * 4096) != 0)
        die("ftruncate");
    /* The turn word sits on the file's second page. */
    char *map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        die("mmap file");
    struct shared *s = (struct shared *)(map + 4096);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* Only the second page, at an address the parent does not use. */
        char *mine = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
        if (mine == MAP_FAILED)
            die("child mmap");
        munmap(map, 3 * 4096);
        play((struct shared *)mine, 1, rounds);
        _exit((char *)mine != map + 4096 ? 0 : 1);
    }
    play(s, 0, rounds);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    report("file MAP_SHARED, different addresses", s, rounds, status);
    munmap(map, 3 * 4096);
    close(fd);
    unlink(path);
}

static void answers(void)
{
    int *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (word == MAP_FAILED)
        die("mmap");
    *word = 5;
    long r = futex(word, FUTEX_WAIT, 4, NULL);
    printf("FUTEX_WAIT on a changed value: %ld %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    struct timespec ts = {0, 20 * 1000 * 1000};
    r = futex(word, FUTEX_WAIT, 5, &ts);
    printf("FUTEX_WAIT for 20 ms: %ld %s\n", r, r < 0 && errno == ETIMEDOUT ? "ETIMEDOUT" : "?");
    r = futex(word, FUTEX_WAKE, 10, NULL);
    printf("FUTEX_WAKE with no waiter: %ld\n", r);
    r = futex(word, FUTEX_WAKE_PRIVATE, 10, NULL);
    printf("FUTEX_WAKE_PRIVATE with no waiter: %ld\n", r);
    munmap(word, 4096);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 1000;
    const char *path = argc > 2 ? argv[2] : "futex_handoff.data";
    printf("rounds: %d each side\n", rounds);
    anonymous(rounds);
    file_backed(rounds, path);
    answers();
    return 0;
}
