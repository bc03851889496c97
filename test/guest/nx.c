/*
 * nx.c - execution rights and code that changes under the CPU.
 *
 *   nx code        code written into memory and run, rewritten and run
 *                  again: a PROT_READ|WRITE|EXEC page stored to by the CPU
 *                  and filled by read(2) (the kernel's store), and the
 *                  W^X way (RW, fill, mprotect RX, call; RW, refill by
 *                  read(2), RX, call).  The new code must run each time.
 *   nx catch       a SIGSEGV handler sees a call into a read-write page
 *                  (SEGV_ACCERR) and into a hole (SEGV_MAPERR), each with
 *                  si_addr the called address, and leaves by siglongjmp.
 *   nx die-data    no handler: a call into a read-write page kills the
 *                  process with SIGSEGV (status 139).
 *   nx die-hole    the same for a call into a hole.
 *   nx die-cross   the same for code that runs from the end of an
 *                  executable page into a read-write one (one translated
 *                  block may span both).
 *
 * Every mode also rewrites code behind the CPU's back in an rwx page that
 * follows an r-x one, with one readv(2) of 65 pieces (more changed ranges
 * than an emulator may keep apart), before calling it again; "catch" does
 * it again with the handler, and runs the crossing there (SEGV_ACCERR at
 * the read-write page).
 *
 * The "die" modes run before any handler exists, so an emulator that only
 * checks execution once the guest handles SIGSEGV is caught out; "code"
 * runs first in each of them too.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096

/* mov eax, imm32; ret */
static void put_code(unsigned char *p, uint32_t value)
{
    p[0] = 0xb8;
    memcpy(p + 1, &value, 4);
    p[5] = 0xc3;
}

static int call(void *p)
{
    return ((int (*)(void))p)();
}

/* Fills p with "return value" through a pipe: the kernel's store, not the
 * CPU's. */
static void read_code(unsigned char *p, uint32_t value)
{
    unsigned char code[6];
    int fds[2];
    put_code(code, value);
    if (pipe(fds) || write(fds[1], code, sizeof(code)) != (ssize_t)sizeof(code) ||
        read(fds[0], p, sizeof(code)) != (ssize_t)sizeof(code)) {
        perror("pipe");
        exit(2);
    }
    close(fds[0]);
    close(fds[1]);
}

static void *map(int prot)
{
    void *p = mmap(NULL, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

/* An r-x page, then an rwx one, both called; the rwx one's code is then
 * replaced by a readv(2) of 65 pieces and called again. */
static void rewritten_behind(void)
{
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(2);
    put_code(p, 1);
    put_code(p + PAGE, 2);
    if (mprotect(p, PAGE, PROT_READ | PROT_EXEC) ||
        mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC))
        exit(2);
    int first = call(p), second = call(p + PAGE);
    unsigned char buf[6 + 64];
    struct iovec iov[65];
    put_code(buf, 3);
    memset(buf + 6, 0xcc, 64);
    iov[0] = (struct iovec){p + PAGE, 6};
    for (int i = 0; i < 64; i++)
        iov[1 + i] = (struct iovec){p + PAGE + 100 + 2 * i, 1};
    int fds[2];
    if (pipe(fds) || write(fds[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
        readv(fds[0], iov, 65) != (ssize_t)sizeof(buf))
        exit(2);
    close(fds[0]);
    close(fds[1]);
    printf("r-x then rwx: %d %d, rwx rewritten by readv of 65 pieces: %d\n", first, second,
           call(p + PAGE));
}

static void code(void)
{
    unsigned char *rwx = map(PROT_READ | PROT_WRITE | PROT_EXEC);
    put_code(rwx, 42);
    printf("rwx page, stored by the CPU: %d\n", call(rwx));
    put_code(rwx, 43);
    printf("rwx page, stored again: %d\n", call(rwx));
    read_code(rwx, 44);
    printf("rwx page, filled by read: %d\n", call(rwx));

    unsigned char *jit = map(PROT_READ | PROT_WRITE);
    put_code(jit, 1);
    if (mprotect(jit, PAGE, PROT_READ | PROT_EXEC))
        exit(2);
    printf("W^X page, first code: %d\n", call(jit));
    if (mprotect(jit, PAGE, PROT_READ | PROT_WRITE))
        exit(2);
    read_code(jit, 2);
    if (mprotect(jit, PAGE, PROT_READ | PROT_EXEC))
        exit(2);
    printf("W^X page, code read in: %d\n", call(jit));
    /* Unmapped and mapped again at the same address, with other code. */
    munmap(jit, PAGE);
    unsigned char *again = mmap(jit, PAGE, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (again != jit)
        exit(2);
    put_code(again, 3);
    if (mprotect(again, PAGE, PROT_READ | PROT_EXEC))
        exit(2);
    printf("W^X page, mapped again: %d\n", call(again));
    rewritten_behind();
    fflush(stdout);
}

static sigjmp_buf back;
static void *expected_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    printf("handler: signal %d, %s, si_addr %s\n", sig,
           si->si_code == SEGV_ACCERR   ? "SEGV_ACCERR"
           : si->si_code == SEGV_MAPERR ? "SEGV_MAPERR"
                                        : "another code",
           si->si_addr == expected_addr ? "= the called address" : "wrong");
    siglongjmp(back, 1);
}

/* Two pages: the first r-x, ending in 16 nops, the second read-write,
 * beginning with "return 9".  Returns the address of the nops. */
static unsigned char *crossing(void)
{
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(2);
    memset(p + PAGE - 16, 0x90, 16);
    put_code(p + PAGE, 9);
    if (mprotect(p, PAGE, PROT_READ | PROT_EXEC))
        exit(2);
    return p + PAGE - 16;
}

static void *hole(void)
{
    void *p = map(PROT_READ | PROT_WRITE);
    munmap(p, PAGE);
    return p;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "code";
    code();
    if (!strcmp(mode, "code"))
        return 0;
    unsigned char *data = map(PROT_READ | PROT_WRITE);
    put_code(data, 5);
    if (!strcmp(mode, "catch")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
        expected_addr = data;
        if (!sigsetjmp(back, 1))
            printf("call into a read-write page returned %d\n", call(data));
        expected_addr = hole();
        if (!sigsetjmp(back, 1))
            printf("call into a hole returned %d\n", call(expected_addr));
        unsigned char *nops = crossing();
        expected_addr = nops + 16;
        if (!sigsetjmp(back, 1))
            printf("running into a read-write page returned %d\n", call(nops));
        rewritten_behind();
        /* The page made executable runs. */
        if (mprotect(data, PAGE, PROT_READ | PROT_EXEC))
            return 2;
        printf("the same page made executable: %d\n", call(data));
        return 0;
    }
    if (!strcmp(mode, "die-data")) {
        printf("calling into a read-write page\n");
        fflush(stdout);
        printf("returned %d\n", call(data));
        return 1;
    }
    if (!strcmp(mode, "die-hole")) {
        void *h = hole();
        printf("calling into a hole\n");
        fflush(stdout);
        printf("returned %d\n", call(h));
        return 1;
    }
    if (!strcmp(mode, "die-cross")) {
        unsigned char *nops = crossing();
        printf("running from an executable page into a read-write one\n");
        fflush(stdout);
        printf("returned %d\n", call(nops));
        return 1;
    }
    fprintf(stderr, "usage: nx [code|catch|die-data|die-hole|die-cross]\n");
    return 2;
}
