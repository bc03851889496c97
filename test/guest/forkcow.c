/*
 * forkcow.c - fork and copy-on-write: the child changes a heap buffer, a
 * private mapping and a global, and exits with a status that says what it
 * saw; the parent checks that its copies are unchanged.  A second child
 * checks that a store of the parent after the fork stays the parent's; a
 * third is killed by SIGSEGV and the parent sees that in its wait status.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int global = 1;

int main(void)
{
    size_t n = 256 * 1024;
    char *heap = malloc(n);
    char *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!heap || priv == MAP_FAILED)
        return 2;
    memset(heap, 'p', n);
    memset(priv, 'q', 8192);

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        int ok = heap[n - 1] == 'p' && priv[0] == 'q' && global == 1;
        memset(heap, 'c', n);
        memset(priv, 'c', 8192);
        global = 2;
        int ok2 = heap[12345] == 'c' && priv[8191] == 'c' && global == 2;
        _exit(ok && ok2 ? 42 : 1);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return 4;
    printf("child exited: %s, status %d\n", WIFEXITED(st) ? "yes" : "no", WEXITSTATUS(st));
    int heap_ok = 1;
    for (size_t i = 0; i < n; i++)
        heap_ok &= heap[i] == 'p';
    printf("parent heap unchanged: %s\n", heap_ok ? "yes" : "no");
    printf("parent private mapping unchanged: %s\n",
           priv[0] == 'q' && priv[8191] == 'q' ? "yes" : "no");
    printf("parent global unchanged: %s\n", global == 1 ? "yes" : "no");

    /* The parent writes after the fork too: the child must not see it. */
    pid = fork();
    if (pid == 0) {
        sleep(0);
        _exit(heap[0] == 'p' ? 7 : 8);
    }
    heap[0] = 'x';
    waitpid(pid, &st, 0);
    printf("second child status %d\n", WEXITSTATUS(st));

    pid = fork();
    if (pid == 0) {
        *(volatile int *)16 = 1;
        _exit(0);
    }
    waitpid(pid, &st, 0);
    printf("third child killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}
