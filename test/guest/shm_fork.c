/* shm_fork FILE: MAP_SHARED memory between two guest processes.
 *
 * 1. Anonymous MAP_SHARED: the parent writes, the child sees it; the child
 *    writes, the parent sees it; both add to one counter with atomics.
 *    A MAP_PRIVATE neighbour stays private both ways.
 * 2. A shared mapping of FILE (created here, 2.5 pages) across fork: the
 *    parent writes, the child sees it through the inherited mapping, through
 *    a mapping of its own at another address, and through read(2); the child
 *    writes, the parent sees it.  After both have unmapped and the child has
 *    exited, read(2) of FILE returns every byte either of them stored.
 *
 * The two processes take turns over a pair of pipes, so the output is the
 * same on every run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define FILE_SIZE (2 * PAGE + PAGE / 2)
#define ADDS 100000

static int to_child[2], to_parent[2];

static void die(const char *what)
{
    perror(what);
    exit(99);
}

/* One byte over a pipe: "your turn". */
static void hand(int fd)
{
    if (write(fd, "t", 1) != 1)
        die("write");
}

static void await(int fd)
{
    char c;
    if (read(fd, &c, 1) != 1)
        die("read");
}

static unsigned sum_bytes(const unsigned char *p, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

static void anonymous(void)
{
    char *shared = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *private = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED || private == MAP_FAILED)
        die("mmap");
    int *counter = (int *)(shared + 2 * PAGE);
    strcpy(private, "private before fork");
    /* The first page is touched before fork, the second only after. */
    strcpy(shared, "untouched");
    fflush(stdout);

    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        await(to_child[0]);
        printf("child sees page 0: \"%s\"\n", shared);
        printf("child sees page 1: \"%s\"\n", shared + PAGE);
        strcpy(shared + PAGE, "written by the child");
        strcpy(private, "child's private copy");
        for (int i = 0; i < ADDS; i++)
            __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
        fflush(stdout);
        hand(to_parent[1]);
        _exit(0);
    }
    strcpy(shared, "written by the parent after fork");
    strcpy(shared + PAGE, "parent, page 1");
    for (int i = 0; i < ADDS; i++)
        __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
    hand(to_child[1]);
    await(to_parent[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("parent sees page 1: \"%s\"\n", shared + PAGE);
    printf("parent's private page: \"%s\"\n", private);
    printf("counter: %d (two processes, %d atomic adds each)\n", *counter, ADDS);
    printf("child exit status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    munmap(shared, 3 * PAGE);
    munmap(private, PAGE);
}

static void file_mapping(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die(path);
    if (ftruncate(fd, FILE_SIZE) != 0)
        die("ftruncate");
    unsigned char *map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        die("mmap file");
    fflush(stdout);

    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        await(to_child[0]);
        printf("child sees file byte 0..5: \"%.5s\"\n", (char *)map);
        /* A second mapping of its own, at another address. */
        unsigned char *again = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (again == MAP_FAILED)
            die("mmap again");
        printf("child's own mapping at another address: %s, same bytes: %s\n",
               again != map ? "yes" : "no", memcmp(again, map, FILE_SIZE) == 0 ? "yes" : "no");
        char buf[6] = {0};
        if (pread(fd, buf, 5, PAGE) != 5)
            die("pread");
        printf("child reads the parent's page-1 bytes with pread: \"%s\"\n", buf);
        /* The child writes through both of its mappings. */
        memcpy(map + 2 * PAGE, "CHILD", 5);
        for (int i = 0; i < PAGE / 2 - 5; i++)
            again[2 * PAGE + 5 + i] = (unsigned char)('a' + i % 26);
        munmap(again, FILE_SIZE);
        fflush(stdout);
        hand(to_parent[1]);
        munmap(map, FILE_SIZE);
        close(fd);
        _exit(0);
    }
    memcpy(map, "HELLO", 5);
    memcpy(map + PAGE, "WORLD", 5);
    hand(to_child[1]);
    await(to_parent[0]);
    printf("parent sees the child's bytes: \"%.5s\" ... \"%c%c\"\n", (char *)map + 2 * PAGE,
           map[FILE_SIZE - 2], map[FILE_SIZE - 1]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("mapping checksum: %08x\n", sum_bytes(map, FILE_SIZE));
    if (msync(map, FILE_SIZE, MS_SYNC) != 0)
        die("msync");
    munmap(map, FILE_SIZE);
    close(fd);

    /* Both gone: the file alone holds the bytes. */
    static unsigned char back[FILE_SIZE];
    fd = open(path, O_RDONLY);
    if (fd < 0 || read(fd, back, FILE_SIZE) != FILE_SIZE)
        die("read back");
    close(fd);
    printf("file after both exit: \"%.5s\" \"%.5s\" \"%.5s\", checksum %08x\n", (char *)back,
           (char *)back + PAGE, (char *)back + 2 * PAGE, sum_bytes(back, FILE_SIZE));
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: shm_fork FILE\n");
        return 2;
    }
    if (pipe(to_child) != 0 || pipe(to_parent) != 0)
        die("pipe");
    anonymous();
    file_mapping(argv[1]);
    return 0;
}
