/* vforkexec: vfork + execve of this program, and what the parent sees.
 *
 * The parent vforks; the child execs /proc/self/exe (which must name this
 * program, not the emulator) with the argument "child", an argument with
 * spaces and an environment of its own; the new image prints what it got
 * and exits 42.  waitpid gives the parent exit status 42.  Then the same
 * through argv[0]'s path; then an execve of a missing file, after which the
 * vfork child _exits 127; then a child that the new image ends with a
 * signal. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_image(int argc, char **argv)
{
    printf("  new image: argc %d", argc);
    for (int i = 1; i < argc; i++)
        printf(", argv[%d] \"%s\"", i, argv[i]);
    const char *v = getenv("VFORKEXEC");
    printf(", VFORKEXEC=%s, HOME %s\n", v ? v : "(unset)", getenv("HOME") ? "set" : "unset");
    fflush(stdout);
    if (argc > 3 && strcmp(argv[3], "kill") == 0)
        raise(SIGTERM);
    exit(42);
}

static void show(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("%s: status %#x\n", what, status);
}

static void run(const char *path, const char *what, const char *extra)
{
    char *args[] = {"vforkexec", "child", "two words", (char *)extra, NULL};
    char *env[] = {"VFORKEXEC=from the parent", NULL};
    fflush(stdout);
    pid_t pid = vfork();
    if (pid < 0) {
        perror("vfork");
        exit(1);
    }
    if (pid == 0) {
        execve(path, args, env);
        /* Only async-signal-safe calls in a vfork child. */
        _exit(errno == ENOENT ? 127 : 126);
    }
    int status;
    pid_t got = waitpid(pid, &status, 0);
    if (got != pid) {
        printf("%s: waitpid returned %d\n", what, (int)got);
        return;
    }
    show(what, status);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        child_image(argc, argv);
        return 1;
    }
    printf("parent before vfork\n");
    run("/proc/self/exe", "execve /proc/self/exe", NULL);
    run(argv[0], "execve argv[0]", NULL);
    run("/nonexistent/vforkexec", "execve of a missing file", NULL);
    run("/proc/self/exe", "new image raises SIGTERM", "kill");
    printf("parent after the children\n");
    return 0;
}
