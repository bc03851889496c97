/*
 * bench_snapshot.c - what a restore costs (built, never run by ctest).
 *
 *   bench_snapshot [touched_MiB [regions]]   (default 16 MiB, 64 regions)
 *
 * A space with touched_MiB of written private memory in that many regions, one
 * snapshot, then:
 *   - restore with nothing changed;
 *   - restore after k pages written (k = 1, 64, 1024): the cost per page;
 *   - one fuzz-style iteration: 64 scattered stores, an mmap, a munmap of
 *     old memory, an mprotect, brk up, then the restore;
 *   - the native reference: fork() + _exit() + waitpid() of this process
 *     with the same memory touched (the child dirties 64 pages).
 */
#include <guestmm.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096ull
#define RW (GMM_PROT_READ | GMM_PROT_WRITE)
#define ANON_PRIV (GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 16;
    uint64_t pages = mib << 8, nregions = argc > 2 ? strtoull(argv[2], NULL, 0) : 64;
    if (nregions < 1 || nregions > pages)
        nregions = 64;
    uint64_t per = pages / nregions;
    gmm_system *sys = gmm_system_create(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    gmm_space_init_brk(s, 0x555555560000ull);
    gmm_space_setup_stack(s, 0);
    uint64_t *base = calloc(nregions, sizeof(*base));
    static uint8_t page[PG];
    for (uint64_t r = 0; r < nregions; r++) {
        /* Alternating rights keep the regions apart. */
        base[r] = (uint64_t)gmm_sys_mmap(s, 0, per * PG,
                                         r & 1 ? RW : RW | GMM_PROT_EXEC, ANON_PRIV, -1, 0);
        for (uint64_t i = 0; i < per; i++) {
            page[0] = (uint8_t)i;
            gmm_write(s, base[r] + i * PG, page, PG);
        }
    }
    gmm_snapshot *snap = gmm_snapshot_take(s);
    printf("space: %llu MiB written in %llu regions, frames %llu\n", (unsigned long long)mib,
           (unsigned long long)nregions, (unsigned long long)gmm_system_frames_used(sys));

    int n = 20000;
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        gmm_snapshot_restore(s, snap);
    printf("restore, nothing changed:        %8.0f ns\n", (now_ns() - t0) / n);

    static const int ks[] = {1, 64, 1024};
    for (int j = 0; j < 3; j++) {
        int k = ks[j], reps = 20000 / k + 20;
        double tw = 0, tr = 0;
        for (int i = 0; i < reps; i++) {
            double a = now_ns();
            for (int p = 0; p < k; p++) {
                uint64_t r = rnd() % nregions;
                uint8_t *h = gmm_translate(s, base[r] + (rnd() % per) * PG, GMM_ACCESS_WRITE);
                *h = 1;
            }
            double b = now_ns();
            gmm_snapshot_restore(s, snap);
            tr += now_ns() - b;
            tw += b - a;
        }
        printf("%4d pages written: stores %8.0f ns/page, restore %8.0f ns (%6.0f ns/page)\n", k,
               tw / reps / k, tr / reps, tr / reps / k);
    }

    n = 5000;
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < 64; p++) {
            uint64_t r = rnd() % nregions;
            uint8_t *h = gmm_translate(s, base[r] + (rnd() % per) * PG, GMM_ACCESS_WRITE);
            *h = 1;
        }
        int64_t m = gmm_sys_mmap(s, 0, 16 * PG, RW, ANON_PRIV, -1, 0);
        gmm_write(s, (uint64_t)m, page, 64);
        gmm_sys_munmap(s, base[rnd() % nregions] + PG, PG);
        gmm_sys_mprotect(s, base[rnd() % nregions], PG, GMM_PROT_READ);
        gmm_sys_brk(s, 0x555555560000ull + 8 * PG);
        gmm_snapshot_restore(s, snap);
    }
    printf("fuzz iteration (64 stores, mmap, munmap, mprotect, brk) + restore: %8.0f ns\n",
           (now_ns() - t0) / n);
    gmm_snapshot_discard(snap);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);

    /* Native: fork + _exit + waitpid with the same memory touched. */
    uint8_t *mem = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(mem, 1, pages * PG);
    n = 500;
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int p = 0; p < 64; p++)
                mem[(rnd() % pages) * PG] = 2;
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    printf("native fork + 64 stores + _exit + waitpid: %8.0f ns\n", (now_ns() - t0) / n);
    return 0;
}
