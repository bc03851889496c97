/*
 * mallocstress.c - glibc's allocator drives brk (small blocks), mmap and
 * munmap (blocks over the mmap threshold) and mremap (realloc of mmapped
 * blocks); every block carries a pattern that is checked before it is
 * resized or freed (every 61st byte, and the last, to keep the run
 * short under an emulator).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64

static uint32_t rng = 12345;

static uint32_t next(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i += 61)
        p[i] = (unsigned char)(seed + i * 7);
    p[n - 1] = (unsigned char)(seed + (n - 1) * 7);
}

/* The first n bytes of a block filled with fill(p, len, seed). */
static int check(const unsigned char *p, size_t n, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < n; i += 61)
        if (p[i] != (unsigned char)(seed + i * 7))
            return 0;
    return n < len || p[len - 1] == (unsigned char)(seed + (len - 1) * 7);
}

int main(void)
{
    unsigned char *blk[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    uint32_t seed[SLOTS] = {0};
    unsigned long bad = 0, reallocs = 0, frees = 0, big = 0;

    for (int round = 0; round < 800; round++) {
        int i = (int)(next() % SLOTS);
        uint32_t kind = next() % 10;
        size_t n = kind < 6 ? 16 + next() % 4000          /* brk heap */
                   : kind < 9 ? 64 * 1024 + next() % (512 * 1024) /* mmap */
                              : 1024 * 1024 + next() % (2 * 1024 * 1024);
        if (!blk[i]) {
            blk[i] = malloc(n);
            if (!blk[i])
                return 2;
            len[i] = n;
            seed[i] = next();
            fill(blk[i], n, seed[i]);
            big += n >= 128 * 1024;
        } else if (next() % 2) {
            bad += !check(blk[i], len[i], len[i], seed[i]);
            unsigned char *q = realloc(blk[i], n);
            if (!q)
                return 3;
            size_t keep = n < len[i] ? n : len[i];
            bad += !check(q, keep, len[i], seed[i]);
            blk[i] = q;
            len[i] = n;
            fill(q, n, seed[i]);
            reallocs++;
        } else {
            bad += !check(blk[i], len[i], len[i], seed[i]);
            free(blk[i]);
            blk[i] = NULL;
            frees++;
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (blk[i]) {
            bad += !check(blk[i], len[i], len[i], seed[i]);
            free(blk[i]);
        }
    }
    /* calloc of a large block must read as zero, even after frees. */
    unsigned char *z = calloc(8, 1024 * 1024);
    unsigned long nonzero = 0;
    for (size_t i = 0; z && i < 8u * 1024 * 1024; i += 512)
        nonzero += z[i] != 0;
    free(z);
    printf("reallocs=%lu frees=%lu big=%lu\n", reallocs, frees, big);
    printf("pattern errors: %lu\n", bad);
    printf("calloc zero check: %s\n", z && !nonzero ? "ok" : "FAILED");
    return bad || nonzero ? 1 : 0;
}
