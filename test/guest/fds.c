/* fds FILE: the guest's file descriptor table is its own.
 *
 * 1. /proc/self/fd lists exactly the descriptors this program holds: 0, 1,
 *    2 and the ones it opened (and the listing's own), none of the
 *    emulator's.  Lines starting with "~" say so; qemu-i386 may list fds of
 *    its own there, so run_guest.cmake leaves those lines out of the
 *    comparison, but test/guest/fds.expected holds the runner to them.
 * 2. dup, dup2, dup3 and fcntl(F_DUPFD / F_DUPFD_CLOEXEC): lowest free
 *    descriptor, shared offset, the close-on-exec flag each one sets or
 *    clears, their errors.
 * 3. close_range(2): a range closed, CLOSE_RANGE_CLOEXEC, up to ~0U.
 * 4. Close-on-exec across execve: this program re-executed through
 *    /proc/self/exe checks which descriptors survived and their offsets.
 * 5. A child closes every descriptor /proc/self/fd lists (what gpgme does
 *    when close_range is missing) and close_range(0, ~0U), then reads a
 *    file mapping it has never touched, private and shared: the pages come
 *    in with no SIGBUS, because the memory does not hang on guest fds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define MAXFD 1024

static void die(const char *what)
{
    perror(what);
    exit(99);
}

static const char *yes(int cond)
{
    return cond ? "yes" : "no";
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static int cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC);
}

static long close_range_(unsigned first, unsigned last, unsigned flags)
{
    return syscall(SYS_close_range, first, last, flags);
}

/* The descriptors /proc/self/fd lists, without the listing's own; returns
 * how many, or -1. */
static int list_fds(int *fds, int max)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0, own = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd != own && n < max)
            fds[n++] = fd;
    }
    closedir(d);
    return n;
}

/* Whether the listing is exactly the open descriptors 0..MAXFD-1 this
 * program can see with fcntl, and every listed one is usable. */
static int listing_matches(const char *when)
{
    static int fds[MAXFD * 2];
    int n = list_fds(fds, MAXFD * 2);
    if (n < 0) {
        printf("%s: /proc/self/fd cannot be read\n", when);
        return 0;
    }
    static char listed[MAXFD];
    int foreign = 0;
    memset(listed, 0, sizeof listed);
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0 && fds[i] < MAXFD && is_open(fds[i]))
            listed[fds[i]] = 1;
        else
            foreign++;
    }
    int missing = 0;
    for (int fd = 0; fd < MAXFD; fd++)
        if (is_open(fd) && !listed[fd])
            missing++;
    printf("~%s: /proc/self/fd lists exactly the open fds: %s\n", when, yes(!foreign && !missing));
    return !foreign && !missing;
}

static int lowest_free(void)
{
    int fd = 0;
    while (is_open(fd))
        fd++;
    return fd;
}

static void dups(const char *path)
{
    int f = open(path, O_RDONLY);
    if (f < 0)
        die(path);
    int expect = lowest_free();
    int d = dup(f);
    printf("dup gives the lowest free fd: %s\n", yes(d == expect));
    char buf[10];
    if (read(f, buf, sizeof buf) != sizeof buf)
        die("read");
    printf("dup shares the offset: %s\n", yes(lseek(d, 0, SEEK_CUR) == sizeof buf));

    int r = dup2(f, 40);
    printf("dup2(f, 40) = %d, close-on-exec %s\n", r, yes(cloexec(40)));
    printf("dup2(f, f) = f: %s\n", yes(dup2(f, f) == f));
    errno = 0;
    r = dup3(f, f, 0);
    printf("dup3(f, f, 0) = %d, EINVAL: %s\n", r, yes(errno == EINVAL));
    r = dup3(f, 41, O_CLOEXEC);
    printf("dup3(f, 41, O_CLOEXEC) = %d, close-on-exec %s\n", r, yes(cloexec(41)));
    r = dup2(f, 41);
    printf("dup2 over 41 clears close-on-exec: %s\n", yes(r == 41 && !cloexec(41)));
    r = fcntl(f, F_DUPFD_CLOEXEC, 50);
    printf("F_DUPFD_CLOEXEC from 50 = %d, close-on-exec %s\n", r, yes(cloexec(50)));
    r = fcntl(f, F_DUPFD, 50);
    printf("F_DUPFD from 50 = %d, close-on-exec %s\n", r, yes(cloexec(51)));
    errno = 0;
    r = dup2(63, 42);
    printf("dup2 of a closed fd = %d, EBADF: %s\n", r, yes(errno == EBADF));
    printf("close(40) = %d, ", close(40));
    errno = 0;
    r = close(40);
    printf("again = %d, EBADF: %s\n", r, yes(errno == EBADF));
    close(41);
    close(50);
    close(51);
    close(d);
    close(f);
}

static void ranges(const char *path)
{
    int f = open(path, O_RDONLY);
    if (f < 0)
        die(path);
    for (int fd = 30; fd <= 34; fd++)
        if (dup2(f, fd) != fd)
            die("dup2");
    long r = close_range_(30, 32, 0);
    printf("close_range(30, 32) = %ld: 30-32 closed %s, 33-34 open %s\n", r,
           yes(!is_open(30) && !is_open(31) && !is_open(32)), yes(is_open(33) && is_open(34)));
    r = close_range_(33, 34, CLOSE_RANGE_CLOEXEC);
    printf("close_range(33, 34, CLOEXEC) = %ld: open %s, close-on-exec %s\n", r,
           yes(is_open(33) && is_open(34)), yes(cloexec(33) && cloexec(34)));
    r = close_range_(33, ~0U, 0);
    printf("close_range(33, ~0U) = %ld: closed %s, fd %d still open %s\n", r,
           yes(!is_open(33) && !is_open(34)), 0, yes(is_open(0)));
    errno = 0;
    r = close_range_(5, 4, 0);
    printf("close_range(5, 4) = %ld, EINVAL: %s\n", r, yes(errno == EINVAL));
    close(f);
}

/* Part 4, in the new image: argv[2..] are "fd:expect" pairs, expect being
 * "open" or "closed"; an open one must be at offset 100. */
static int after_exec(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        int fd = atoi(argv[i]);
        int want_open = strncmp(strchr(argv[i], ':') + 1, "open", 4) == 0;
        int open_now = is_open(fd);
        printf("  after exec: %s fd %s", strchr(argv[i], '/') + 1, open_now ? "open" : "closed");
        if (open_now)
            printf(", offset %ld, close-on-exec %s", (long)lseek(fd, 0, SEEK_CUR), yes(cloexec(fd)));
        printf(" (%s)\n", open_now == want_open ? "as expected" : "WRONG");
    }
    listing_matches("  after exec");
    return 0;
}

static void exec_cloexec(const char *path)
{
    int a = open(path, O_RDONLY | O_CLOEXEC);
    int b = open(path, O_RDONLY);
    int c = open(path, O_RDONLY);
    if (a < 0 || b < 0 || c < 0)
        die(path);
    fcntl(c, F_SETFD, FD_CLOEXEC);
    int d = fcntl(b, F_DUPFD_CLOEXEC, 0);
    lseek(b, 100, SEEK_SET);
    char args[4][48];
    snprintf(args[0], sizeof args[0], "%d:closed/O_CLOEXEC", a);
    snprintf(args[1], sizeof args[1], "%d:open/plain", b);
    snprintf(args[2], sizeof args[2], "%d:closed/F_SETFD", c);
    snprintf(args[3], sizeof args[3], "%d:closed/F_DUPFD_CLOEXEC", d);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        char *argv[] = {"fds", "afterexec", args[0], args[1], args[2], args[3], NULL};
        execv("/proc/self/exe", argv);
        die("execv");
    }
    int status;
    waitpid(pid, &status, 0);
    printf("exec child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    close(a);
    close(b);
    close(c);
    close(d);
}

static unsigned checksum(const unsigned char *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

static void close_everything(const char *path)
{
    int f = open(path, O_RDONLY);
    struct stat st;
    if (f < 0 || fstat(f, &st) != 0)
        die(path);
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size);
    if (!buf || read(f, buf, size) != (ssize_t)size)
        die("read");
    unsigned want = checksum(buf, size);
    free(buf);
    /* Mapped, never touched before the fds go. */
    unsigned char *priv = mmap(NULL, size, PROT_READ, MAP_PRIVATE, f, 0);
    unsigned char *shared = mmap(NULL, size, PROT_READ, MAP_SHARED, f, 0);
    if (priv == MAP_FAILED || shared == MAP_FAILED)
        die("mmap");
    close(f);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int out = dup(1);
        static int fds[MAXFD * 2];
        int n = list_fds(fds, MAXFD * 2);
        int closed = 0;
        for (int i = 0; i < n; i++)
            if (fds[i] != out && close(fds[i]) == 0)
                closed++;
        long r = close_range_(0, ~0U, 0);
        /* Even out is gone now: the result travels in the exit status. */
        int ok = checksum(priv, size) == want && checksum(shared, size) == want;
        char *heap = malloc(1 << 20);
        if (heap)
            memset(heap, 1, 1 << 20);
        _exit(ok ? (r == 0 && n > 0 && closed > 0 ? 0 : 2) : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status))
        printf("child that closed every fd read both mappings: exit %d (%s)\n", WEXITSTATUS(status),
               WEXITSTATUS(status) == 0 ? "checksums match" : "WRONG");
    else
        printf("child that closed every fd: killed by signal %d\n", WTERMSIG(status));
    printf("the parent's mappings still read: %s\n",
           yes(checksum(priv, size) == want && checksum(shared, size) == want));
    munmap(priv, size);
    munmap(shared, size);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "afterexec") == 0)
        return after_exec(argc, argv);
    if (argc != 2) {
        fprintf(stderr, "usage: fds FILE\n");
        return 2;
    }
    printf("0, 1, 2 open at start: %s\n", yes(is_open(0) && is_open(1) && is_open(2)));
    int others = 0;
    for (int fd = 3; fd < MAXFD; fd++)
        others += is_open(fd);
    /* The runner gives a guest 0, 1 and 2 only; a native run or QEMU
     * inherits whatever its parent left open. */
    printf("~at start: open fds beyond 0, 1, 2: %d\n", others);
    listing_matches("at start");
    dups(argv[1]);
    listing_matches("after the dups");
    ranges(argv[1]);
    exec_cloexec(argv[1]);
    close_everything(argv[1]);
    listing_matches("at the end");
    return 0;
}
