/* pipechain: a pipe chain of three processes, this program in three roles.
 *
 *     pipechain gen 100000 | pipechain square | pipechain sum
 *
 * The parent makes two pipes, forks three children, dup2s each one's pipe
 * ends onto its stdin/stdout, closes every other end and execs itself in
 * the child's role.  gen writes 100,000 numbered lines (far more than a
 * pipe holds, so writers block), square keeps the multiples of 3 and
 * squares them, sum prints the count, the sum and the last line and exits
 * 3.  Each reader sees end-of-file only once every write end is closed:
 * a leaked write end (in the parent or a sibling) hangs the chain.  The
 * parent reports each child's exit status. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(99);
}

static int gen(long n)
{
    for (long i = 1; i <= n; i++)
        printf("%ld\n", i);
    return 0;
}

static int square(void)
{
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        long x = atol(line);
        if (x % 3 == 0)
            printf("%lld\n", (long long)x * x);
    }
    return 0;
}

static int sum(void)
{
    char line[64], last[64] = "";
    long count = 0;
    unsigned long long total = 0;
    while (fgets(line, sizeof line, stdin)) {
        count++;
        total += strtoull(line, NULL, 10);
        strcpy(last, line);
    }
    printf("sum: %ld lines, total %llu, last %s", count, total, last);
    return 3;
}

/* Forks a child that reads from in (or keeps stdin when in < 0), writes to
 * out (or keeps stdout), closes all four pipe ends and execs this program
 * with the given role. */
static pid_t spawn(const char *self, int in, int out, int fds[4], char *role, char *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (in >= 0 && dup2(in, 0) != 0)
            die("dup2 stdin");
        if (out >= 0 && dup2(out, 1) != 1)
            die("dup2 stdout");
        for (int i = 0; i < 4; i++)
            close(fds[i]);
        char *args[] = {(char *)self, role, arg, NULL};
        execv("/proc/self/exe", args);
        die("execv");
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "gen") == 0)
            return gen(argc > 2 ? atol(argv[2]) : 10);
        if (strcmp(argv[1], "square") == 0)
            return square();
        if (strcmp(argv[1], "sum") == 0)
            return sum();
        fprintf(stderr, "pipechain: unknown role %s\n", argv[1]);
        return 2;
    }
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0)
        die("pipe");
    int fds[4] = {a[0], a[1], b[0], b[1]};
    printf("chain: gen 100000 | square | sum\n");
    pid_t pids[3];
    pids[0] = spawn(argv[0], -1, a[1], fds, "gen", "100000");
    pids[1] = spawn(argv[0], a[0], b[1], fds, "square", NULL);
    pids[2] = spawn(argv[0], b[0], -1, fds, "sum", NULL);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    const char *names[3] = {"gen", "square", "sum"};
    for (int i = 0; i < 3; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) != pids[i])
            die("waitpid");
        printf("%s: %s %d\n", names[i], WIFEXITED(status) ? "exit" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    return 0;
}
