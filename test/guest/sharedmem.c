/* sharedmem: MAP_SHARED memory between guest processes, as Linux shares
 * it.  Anonymous and file-backed shared mappings across fork; a futex
 * handoff between two processes; a counter both processes add to with
 * atomic instructions. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long futex(int *addr, int op, int val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char path[] = "/tmp/guestmm-sharedmem-XXXXXX";
    int fd = mkstemp(path);
    ftruncate(fd, 4096);
    int *file = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unlink(path);

    pid_t c = fork();
    if (c == 0) {
        anon[0] = 123;
        file[0] = 456;
        /* Wait for the parent's word, then answer through the same page. */
        while (__atomic_load_n(&anon[2], __ATOMIC_SEQ_CST) == 0)
            futex(&anon[2], FUTEX_WAIT, 0);
        anon[3] = anon[2] * 2;
        __atomic_store_n(&anon[4], 1, __ATOMIC_SEQ_CST);
        futex(&anon[4], FUTEX_WAKE, 1);
        for (int i = 0; i < 100000; i++)
            __atomic_fetch_add(&anon[1], 1, __ATOMIC_SEQ_CST);
        _exit(0);
    }
    usleep(20000);
    __atomic_store_n(&anon[2], 21, __ATOMIC_SEQ_CST);
    futex(&anon[2], FUTEX_WAKE, 1);
    while (__atomic_load_n(&anon[4], __ATOMIC_SEQ_CST) == 0)
        futex(&anon[4], FUTEX_WAIT, 0);
    printf("futex handoff between processes: %d\n", anon[3]);
    for (int i = 0; i < 100000; i++)
        __atomic_fetch_add(&anon[1], 1, __ATOMIC_SEQ_CST);
    waitpid(c, NULL, 0);
    int from_file;
    pread(fd, &from_file, 4, 0);
    printf("child's stores: anonymous %d, file mapping %d, file by read %d\n", anon[0], file[0],
           from_file);
    printf("atomic adds from both processes: %d\n", anon[1]);
    return 0;
}
