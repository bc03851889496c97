/* processes: fork, vfork, execve and wait as Linux has them, all inside
 * one runner.  A pipe chain of three processes; vfork + execve of this
 * program; posix_spawn; a #! script whose interpreter is this program;
 * wait statuses for an exit, a signal and a thread group's exit_group;
 * waitid; ECHILD. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void *exit_from_thread(void *arg)
{
    (void)arg;
    usleep(20000);
    exit(11); /* while main blocks in read */
}

static int child_mode(int argc, char **argv)
{
    if (!strcmp(argv[1], "exec"))
        return 5;
    if (!strcmp(argv[1], "script")) {
        /* argv: this program, "script", the script's path, its arguments */
        printf("script ran with %d arguments:", argc - 3);
        for (int i = 3; i < argc; i++)
            printf(" %s", argv[i]);
        printf("\n");
        return 6;
    }
    if (!strcmp(argv[1], "threads")) {
        int fd[2];
        pipe(fd);
        pthread_t t;
        pthread_create(&t, NULL, exit_from_thread, NULL);
        char c;
        read(fd[0], &c, 1);
        return 1;
    }
    return 99;
}

static int status_of(pid_t p)
{
    int st;
    if (waitpid(p, &st, 0) != p)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child_mode(argc, argv);
    setvbuf(stdout, NULL, _IONBF, 0);

    int p1[2], p2[2];
    pipe(p1);
    pipe(p2);
    pid_t a = fork();
    if (a == 0) {
        close(p1[0]), close(p2[0]), close(p2[1]);
        for (int i = 0; i < 2000; i++)
            dprintf(p1[1], "line %d\n", i);
        _exit(0);
    }
    pid_t b = fork();
    if (b == 0) {
        close(p1[1]), close(p2[0]);
        char buf[4096];
        long n, bytes = 0;
        while ((n = read(p1[0], buf, sizeof buf)) > 0)
            bytes += write(p2[1], buf, (size_t)n);
        _exit(bytes == 18890 ? 0 : 1);
    }
    close(p1[0]), close(p1[1]), close(p2[1]);
    char buf[4096];
    long n, total = 0;
    while ((n = read(p2[0], buf, sizeof buf)) > 0)
        total += n;
    int sa = status_of(a), sb = status_of(b);
    printf("pipe chain: %ld bytes, statuses %d %d\n", total, sa, sb);

    char *av[] = {argv[0], "exec", NULL};
    pid_t v = vfork();
    if (v == 0) {
        execve(argv[0], av, environ);
        _exit(99);
    }
    printf("vfork + execve: status %d\n", status_of(v));

    pid_t s;
    int r = posix_spawn(&s, argv[0], NULL, NULL, av, environ);
    printf("posix_spawn: %d, status %d\n", r, status_of(s));

    char script[] = "/tmp/guestmm-processes-XXXXXX";
    int fd = mkstemp(script);
    dprintf(fd, "#!%s script\necho not a shell\n", argv[0]);
    close(fd);
    chmod(script, 0700);
    char *sv[] = {script, "one", "two", NULL};
    pid_t c = fork();
    if (c == 0) {
        execve(script, sv, environ);
        _exit(99);
    }
    printf("script: status %d\n", status_of(c));
    unlink(script);

    c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    usleep(10000);
    kill(c, SIGTERM);
    printf("killed by SIGTERM: status %d\n", status_of(c));

    char *tv[] = {argv[0], "threads", NULL};
    c = fork();
    if (c == 0) {
        execve(argv[0], tv, environ);
        _exit(99);
    }
    printf("exit(11) from a thread while main reads: status %d\n", status_of(c));

    c = fork();
    if (c == 0) {
        usleep(50000);
        _exit(4);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, c, &si, WEXITED | WNOHANG);
    printf("waitid WNOHANG before the exit: %d, pid %d\n", r, si.si_pid);
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid: %d, CLD_EXITED %s, status %d, the child %s\n", r,
           si.si_code == CLD_EXITED ? "yes" : "no", si.si_status, si.si_pid == c ? "yes" : "no");
    errno = 0;
    r = waitpid(-1, NULL, WNOHANG);
    printf("no children left: %d %s\n", r, errno == ECHILD ? "ECHILD" : "?");
    errno = 0;
    char *none[] = {"x", NULL};
    execve("/nonexistent/program", none, environ);
    printf("execve of a missing file: %s\n", errno == ENOENT ? "ENOENT" : "?");
    return 3;
}
