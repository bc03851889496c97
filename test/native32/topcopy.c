/*
 * topcopy.c - the native side of test_native_i386: an i386 program (built
 * with gcc -m32 -static, run on this machine's kernel as a compat task)
 * that makes user copies run past the top of its address space and prints
 * what the kernel did, for the test to compare with an i386 gmm_space.
 *
 * The last page of the task (0xFFFFD000) is mapped read-write, and each
 * copy covers 32 bytes from 0xFFFFDFF0, the page's last 16 bytes and 16
 * beyond the top.  Output, one line each:
 *   read RET ERRNO HEX     read(2) of 32 bytes (0x40, 0x41, ...) from a
 *                          pipe into 0xFFFFDFF0 (copy_to_user); HEX: the
 *                          16 bytes at 0xFFFFDFF0 afterwards (they were
 *                          0xAA)
 *   write RET ERRNO HEX    write(2) of 32 bytes from 0xFFFFDFF0 (its 16
 *                          bytes 0x60, 0x61, ...) to a memfd
 *                          (copy_from_user); HEX: what the file holds
 *   mincore RET ERRNO HEX  mincore(2) of 32 pages, the even ones touched,
 *                          its vector at 0xFFFFDFF0 (0x55 before); HEX: the
 *                          16 bytes there afterwards
 * or "busy" (exit 3) when something of the process's own already sits at
 * 0xFFFFD000 (its stack, when the randomised top lands there).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define TOP_PAGE 0xFFFFD000u
#define AT 0xFFFFDFF0u

static void hex(const unsigned char *p, long n)
{
    putchar(' ');
    for (long i = 0; i < n; i++)
        printf("%02x", p[i]);
    if (n <= 0)
        putchar('-');
    putchar('\n');
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Without randomisation the stack ends at the top of the task, on the
     * page this program needs: run again with it. */
    int pers = personality(0xffffffff);
    if (pers != -1 && (pers & ADDR_NO_RANDOMIZE)) {
        personality((unsigned long)(pers & ~ADDR_NO_RANDOMIZE));
        execv("/proc/self/exe", argv);
    }
    unsigned char *page = mmap((void *)TOP_PAGE, 4096, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (page != (unsigned char *)TOP_PAGE) {
        puts("busy");
        return 3;
    }
    unsigned char *at = (unsigned char *)AT;

    /* copy_to_user: read(2) from a pipe. */
    int p[2];
    if (pipe(p))
        return 1;
    unsigned char src[32];
    for (int i = 0; i < 32; i++)
        src[i] = (unsigned char)(0x40 + i);
    if (write(p[1], src, 32) != 32)
        return 1;
    memset(at, 0xAA, 16);
    errno = 0;
    long r = (long)read(p[0], at, 32);
    printf("read %ld %d", r, r < 0 ? errno : 0);
    hex(at, 16);

    /* copy_from_user: write(2) to a memfd. */
    for (int i = 0; i < 16; i++)
        at[i] = (unsigned char)(0x60 + i);
    int fd = memfd_create("topcopy", 0);
    if (fd < 0)
        return 1;
    errno = 0;
    r = (long)write(fd, at, 32);
    printf("write %ld %d", r, r < 0 ? errno : 0);
    unsigned char file[64];
    long n = (long)pread(fd, file, sizeof(file), 0);
    hex(file, n);

    /* mincore's vector. */
    unsigned char *m = mmap(NULL, 32 * 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    for (int i = 0; i < 32; i += 2)
        m[i * 4096] = 1;
    memset(at, 0x55, 16);
    errno = 0;
    r = mincore(m, 32 * 4096, at);
    printf("mincore %ld %d", r, r < 0 ? errno : 0);
    hex(at, 16);
    return 0;
}
