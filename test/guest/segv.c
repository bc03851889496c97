/*
 * segv.c - reads its own /proc/self/maps, mprotects a page read-only and
 * stores to it.  "catch": a SA_SIGINFO handler checks si_signo, si_code
 * and si_addr, makes the page writable again and returns, so the store is
 * redone.  "die": no handler, the process is killed (status 139).
 * Lines starting with "~" depend on the emulator's layout.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile char *page;
static volatile int handled;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    printf("handler: signal %d code %s addr %s\n", sig,
           si->si_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other",
           si->si_addr == (void *)(page + 100) ? "= the store" : "wrong");
    handled++;
    if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE) != 0)
        _exit(3);
}

/* The maps line of addr, without the emulator-dependent parts. */
static const char *perms_of(const char *maps, uintptr_t addr, char *out)
{
    const char *line = maps;
    while (*line) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi) {
            strcpy(out, perms);
            return out;
        }
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return "none";
}

static char *read_maps(void)
{
    static char buf[65536];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    int catch = argc > 1 && !strcmp(argv[1], "catch");
    page = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 2;
    page += 4096; /* the middle page */
    page[100] = 1;
    if (mprotect((void *)page, 4096, PROT_READ) != 0)
        return 2;
    char p1[8], p2[8];
    char *maps = read_maps();
    if (!maps)
        return 2;
    printf("maps: middle page %s, page before %s\n", perms_of(maps, (uintptr_t)page, p1),
           perms_of(maps, (uintptr_t)page - 4096, p2));
    int lines = 0;
    for (char *c = maps; *c; c++)
        lines += *c == '\n';
    printf("~maps: %d lines, heap %s, stack %s\n", lines, strstr(maps, "[heap]") ? "yes" : "no",
           strstr(maps, "[stack]") ? "yes" : "no");
    if (catch) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
    }
    printf("storing to the read-only page\n");
    fflush(stdout);
    page[100] = 42;
    printf("after the store: value %d, handler ran %d time(s)\n", page[100], handled);
    return 0;
}
