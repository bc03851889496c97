/*
 * bench.c - libguestmm against this machine's kernel and against Unicorn,
 * measured side by side in one process, through the public API only.
 *
 *   bench                    the full table (median of 7 runs per figure)
 *   bench --quick            a fast smoke run (fewer runs, smaller sizes)
 *   bench --json             the same figures as JSON
 *   bench --only PART[,..]   only some parts: memory, mm, rw, fork, touch,
 *                            window (host windows, issue 11: own table),
 *                            snapshot (issue 14: restores, take, against fork)
 *   bench --snapshot-soak N  VmRSS and frames over N snapshot restores
 *   bench --callgrind OP [N] run one library hot path N times, untimed, for
 *                            valgrind --tool=callgrind (see callgrind.sh)
 *   bench --list             the OP names for --callgrind
 *   bench --only SECTION     one section of the table: memory, mm, rw
 *                            (gmm_read/gmm_write/gmm_translate), fork, touch
 *
 * Every timed figure is the median of the per-operation times of repeated
 * runs (7, or 3 with --quick), each run after an untimed warm-up.  "native"
 * is this kernel doing the same through raw syscalls; "Unicorn" is Unicorn's
 * C API (uc_mem_*) when the program was built with it (GMM_HAVE_UNICORN).
 * Ratios are peer / libguestmm: above 1, libguestmm is faster (or smaller).
 *
 * This is a benchmark, not a test: it is never run by ctest.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <guestmm.h>

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef GMM_HAVE_UNICORN
#include <unicorn/unicorn.h>
#endif

#if defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#elif defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline, noclone))
#else
#define BENCH_NOINLINE
#endif

#define PG 4096ull
#define MIB (1024ull * 1024)
#define MAX_REPEATS 15
#define NOFFS 65536u /* random offsets, cycled */
#define HOT_PAGES 16u
#define NAT_REGION_PROBE 50000u /* native regions for the slab probe */

#define LIB_RW (GMM_PROT_READ | GMM_PROT_WRITE)
#define LIB_ANON (GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS)

/* ------------------------------------------------------------------------
 * Configuration, timing, helpers.
 * ------------------------------------------------------------------------ */

struct config {
    int repeats;
    bool quick;
    uint64_t regions;     /* live regions for the "many regions" rows */
    uint64_t uc_regions;  /* the same for Unicorn (it aborts past 4095) */
    uint64_t max_regions; /* live regions for the "near max_map_count" row */
    uint64_t rw_bytes;    /* arena for random reads and writes */
    uint64_t fork_bytes;  /* touched memory of the forked space/process */
    uint64_t fork_big_bytes; /* the same, the large case (issue 15: 1 GiB) */
    uint64_t touch_pages; /* first-touch and COW runs */
    uint64_t mem_pages;   /* pages touched for the memory-per-page probe */
    double scale;         /* operation counts */
};

static struct config cfg = {
    .repeats = 7,
    .quick = false,
    .regions = 10000,
    .uc_regions = 1000,
    .max_regions = 60000,
    .rw_bytes = 64 * MIB,
    .fork_bytes = 256 * MIB,
    .fork_big_bytes = 1024 * MIB,
    .touch_pages = 16384,
    .mem_pages = 65536,
    .scale = 1.0,
};

static void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t ops(uint64_t base)
{
    uint64_t n = (uint64_t)((double)base * cfg.scale);
    return n ? n : 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef void (*op_fn)(void *ctx, uint64_t n);

/* One side of a comparison: n calls of fn(ctx) per run, the median ns per
 * call stored in *out.  fn NULL: not measured. */
struct peer {
    op_fn fn;
    void *ctx;
    uint64_t n;
    double *out;
};

/* Runs the peers in turn, cfg.repeats rounds, each run after an untimed
 * warm-up of n/10 calls, so that all of them see the same machine (this VM's
 * speed drifts by tens of percent over seconds); stores the medians. */
static void measure_peers(const struct peer *p, int np)
{
    double v[4][MAX_REPEATS];
    for (int r = 0; r < cfg.repeats; r++) {
        for (int k = 0; k < np; k++) {
            if (!p[k].fn)
                continue;
            p[k].fn(p[k].ctx, p[k].n / 10 ? p[k].n / 10 : 1);
            double t0 = now_ns();
            p[k].fn(p[k].ctx, p[k].n);
            v[k][r] = (now_ns() - t0) / (double)p[k].n;
        }
    }
    for (int k = 0; k < np; k++)
        if (p[k].fn)
            *p[k].out = median(v[k], cfg.repeats);
}

/* The loop that callgrind counts (--toggle-collect=bench_cg_loop). */
void bench_cg_loop(op_fn fn, void *ctx, uint64_t n);
BENCH_NOINLINE void bench_cg_loop(op_fn fn, void *ctx, uint64_t n)
{
    fn(ctx, n);
}
static void (*volatile cg_loop)(op_fn, void *, uint64_t) = bench_cg_loop;

static volatile uint64_t sink;
/* Called through a pointer so that the host anchor is a real memcpy call. */
static void *(*volatile host_memcpy)(void *, const void *, size_t) = memcpy;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Resident anonymous memory of this process, in bytes: "Anonymous" in
 * /proc/self/smaps_rollup, which walks the page tables and so is exact.
 * (statm and getrusage read the kernel's per-CPU batched RSS counters,
 * which lag by up to 32 pages per CPU on Linux >= 6.2, and they count
 * file-backed code pages, which a reclaim daemon may page out and back in
 * during a measurement.)  All that libguestmm and Unicorn allocate is
 * anonymous.  statm is the fallback for kernels without smaps_rollup. */
static uint64_t anon_bytes(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    uint64_t kb;
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "Anonymous: %" SCNu64, &kb) == 1) {
                fclose(f);
                return kb * 1024;
            }
        }
        fclose(f);
    }
    unsigned long size = 0, res = 0;
    f = fopen("/proc/self/statm", "r");
    if (!f)
        die("cannot open /proc/self/statm");
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
        die("cannot parse /proc/self/statm");
    fclose(f);
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* This process's page-table size (VmPTE), in bytes. */
static uint64_t vmpte_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    if (!f)
        die("cannot open /proc/self/status");
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmPTE: %" SCNu64, &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

/* Bytes of kernel slab held by vm_area_struct and maple_node objects
 * (system-wide), or -1 when /proc/slabinfo is not readable. */
static double slab_vma_bytes(void)
{
    FILE *f = fopen("/proc/slabinfo", "r");
    char line[512];
    double total = 0;
    int found = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        char name[64];
        unsigned long active, num, size;
        if (sscanf(line, "%63s %lu %lu %lu", name, &active, &num, &size) != 4)
            continue;
        if (!strcmp(name, "vm_area_struct") || !strcmp(name, "maple_node")) {
            total += (double)active * (double)size;
            found++;
        }
    }
    fclose(f);
    return found ? total : -1;
}

/* ---- libguestmm helpers ---- */

static gmm_system *lib_system(void)
{
    gmm_system *sys = gmm_system_create(NULL);
    if (!sys)
        die("gmm_system_create failed");
    return sys;
}

static gmm_space *lib_space(gmm_system *sys)
{
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    if (!s)
        die("gmm_space_create failed");
    return s;
}

static gmm_addr lib_map(gmm_space *s, uint64_t len, int prot)
{
    int64_t a = gmm_sys_mmap(s, 0, len, prot, LIB_ANON, -1, 0);
    if (a < 0)
        die("gmm_sys_mmap(%llu) failed: %s", (unsigned long long)len, gmm_errname((int)a));
    return (gmm_addr)a;
}

/* Writes one byte to each page through the CPU path. */
static void lib_touch(gmm_space *s, gmm_addr a, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; i++) {
        uint8_t *p = gmm_translate(s, a + i * PG, GMM_ACCESS_WRITE);
        if (!p)
            die("gmm_translate(write) failed");
        *p = (uint8_t)(i | 1);
    }
}

static size_t lib_count_regions(gmm_space *s)
{
    size_t len = gmm_space_maps(s, NULL, 0);
    char *buf = malloc(len + 1);
    size_t n = 0;
    if (!buf)
        die("out of memory");
    gmm_space_maps(s, buf, len + 1);
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\n';
    free(buf);
    return n;
}

/* n single-page regions that cannot merge: one RW block, every even page
 * (the lowest first) made read-only. */
static gmm_addr lib_make_regions(gmm_space *s, uint64_t n)
{
    gmm_addr a = lib_map(s, n * PG, LIB_RW);
    for (uint64_t i = 0; i < n; i += 2)
        if (gmm_sys_mprotect(s, a + i * PG, PG, GMM_PROT_READ))
            die("gmm_sys_mprotect failed while building regions");
    if (lib_count_regions(s) < n)
        die("expected %llu regions, have %zu", (unsigned long long)n, lib_count_regions(s));
    return a;
}

/* ---- native helpers (raw syscalls, so no libc wrapper cost) ---- */

static uint8_t *nat_map(uint64_t len, int prot)
{
    long a = syscall(SYS_mmap, 0L, (unsigned long)len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
    if (a == -1)
        die("native mmap(%llu) failed", (unsigned long long)len);
    return (uint8_t *)a;
}

static void nat_unmap(void *p, uint64_t len)
{
    if (syscall(SYS_munmap, p, (unsigned long)len))
        die("native munmap failed");
}

static void nat_touch(uint8_t *p, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; i++)
        ((volatile uint8_t *)p)[i * PG] = (uint8_t)(i | 1);
}

static size_t nat_count_regions(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    size_t n = 0;
    int c;
    if (!f)
        die("cannot open /proc/self/maps");
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* The same, or NULL (nothing left mapped) when the host refuses: 60,000
 * regions are near vm.max_map_count, which a host may have lowered. */
static uint8_t *nat_try_make_regions(uint64_t n)
{
    uint8_t *a = nat_map(n * PG, PROT_READ | PROT_WRITE);
    for (uint64_t i = 0; i < n; i += 2)
        if (syscall(SYS_mprotect, a + i * PG, (unsigned long)PG, PROT_READ)) {
            nat_unmap(a, n * PG);
            return NULL;
        }
    return a;
}

static uint8_t *nat_make_regions(uint64_t n)
{
    size_t before = nat_count_regions();
    uint8_t *a = nat_map(n * PG, PROT_READ | PROT_WRITE);
    for (uint64_t i = 0; i < n; i += 2)
        if (syscall(SYS_mprotect, a + i * PG, (unsigned long)PG, PROT_READ))
            die("native mprotect failed while building regions");
    if (nat_count_regions() < before + n - 1)
        die("native regions did not split as expected");
    return a;
}

/* ---- Unicorn helpers ---- */

#ifdef GMM_HAVE_UNICORN
#define UC_SCRATCH 0x10000000ull  /* map+unmap page */
#define UC_REGIONS 0x20000000ull  /* the many-regions block */
#define UC_PROTBOX 0x30000000ull  /* 3 pages for the protect toggle */
#define UC_RWBASE 0x40000000ull   /* the read/write arena */
#define UC_RW (UC_PROT_READ | UC_PROT_WRITE)

static uc_engine *uc_new(void)
{
    uc_engine *uc;
    uc_err e = uc_open(UC_ARCH_X86, UC_MODE_32, &uc);
    if (e != UC_ERR_OK)
        die("uc_open: %s", uc_strerror(e));
    return uc;
}

static void uc_check(uc_err e, const char *what)
{
    if (e != UC_ERR_OK)
        die("%s: %s", what, uc_strerror(e));
}

static void uc_make_regions(uc_engine *uc, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        uc_check(uc_mem_map(uc, UC_REGIONS + i * PG, PG, i % 2 ? UC_RW : UC_PROT_READ),
                 "uc_mem_map (building regions)");
}
#endif

/* ------------------------------------------------------------------------
 * Results.
 * ------------------------------------------------------------------------ */

enum uc_kind { UCK_NONE, UCK_ROW };

struct row {
    const char *id;
    const char *name;
    const char *unit;
    double lib, nat, uc; /* NAN: not measured */
    enum uc_kind uck;    /* UCK_ROW: Unicorn has a counterpart */
    bool ratios;         /* print peer / lib */
    /* A host-window row (its own table): lib is the window, nat the
     * kernel, tr the same through gmm_translate or gmm_cpu_translate. */
    bool window;
    double tr;
    char note[512];
};

#define MAX_ROWS 72
static struct row rows[MAX_ROWS];
static int nrows;

static struct row *add_row(const char *id, const char *name, const char *unit, bool uc_row,
                           bool ratios)
{
    if (nrows == MAX_ROWS)
        die("too many rows");
    struct row *r = &rows[nrows++];
    memset(r, 0, sizeof(*r));
    r->id = id;
    r->name = name;
    r->unit = unit;
    r->lib = r->nat = r->uc = r->tr = NAN;
    r->uck = uc_row ? UCK_ROW : UCK_NONE;
    r->ratios = ratios;
    return r;
}

static struct row *find_row(const char *id)
{
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].id, id))
            return &rows[i];
    return NULL;
}

static void progress(const char *what)
{
    fprintf(stderr, "bench: %s...\n", what);
}

/* ------------------------------------------------------------------------
 * mmap + munmap, mprotect split + merge.
 * ------------------------------------------------------------------------ */

struct mm_ctx {
    gmm_space *s;
    gmm_addr box; /* 3 RW pages for the mprotect toggle */
    uint8_t *nbox;
#ifdef GMM_HAVE_UNICORN
    uc_engine *uc;
#endif
};

static void op_lib_mmap(void *c, uint64_t n)
{
    struct mm_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        int64_t a = gmm_sys_mmap(x->s, 0, PG, LIB_RW, LIB_ANON, -1, 0);
        if (a < 0 || gmm_sys_munmap(x->s, (gmm_addr)a, PG))
            die("gmm mmap/munmap failed");
    }
}

static void op_nat_mmap(void *c, uint64_t n)
{
    (void)c;
    for (uint64_t i = 0; i < n; i++) {
        long a = syscall(SYS_mmap, 0L, (unsigned long)PG, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
        if (a == -1 || syscall(SYS_munmap, a, (unsigned long)PG))
            die("native mmap/munmap failed");
    }
}

static void op_lib_mprotect(void *c, uint64_t n)
{
    struct mm_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        if (gmm_sys_mprotect(x->s, x->box + PG, PG, GMM_PROT_READ) ||
            gmm_sys_mprotect(x->s, x->box + PG, PG, LIB_RW))
            die("gmm mprotect failed");
    }
}

static void op_nat_mprotect(void *c, uint64_t n)
{
    struct mm_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        if (syscall(SYS_mprotect, x->nbox + PG, (unsigned long)PG, PROT_READ) ||
            syscall(SYS_mprotect, x->nbox + PG, (unsigned long)PG, PROT_READ | PROT_WRITE))
            die("native mprotect failed");
    }
}

#ifdef GMM_HAVE_UNICORN
static void op_uc_mmap(void *c, uint64_t n)
{
    struct mm_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        uc_check(uc_mem_map(x->uc, UC_SCRATCH, PG, UC_RW), "uc_mem_map");
        uc_check(uc_mem_unmap(x->uc, UC_SCRATCH, PG), "uc_mem_unmap");
    }
}

static void op_uc_mprotect(void *c, uint64_t n)
{
    struct mm_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        uc_check(uc_mem_protect(x->uc, UC_PROTBOX + PG, PG, UC_PROT_READ), "uc_mem_protect");
        uc_check(uc_mem_protect(x->uc, UC_PROTBOX + PG, PG, UC_RW), "uc_mem_protect");
    }
}
#endif

/* libguestmm context for mmap/mprotect with `regions` live regions
 * (0: an empty space).  The mmap pair is measured before lib_mm_box(). */
static void lib_mm_setup(struct mm_ctx *x, gmm_system *sys, uint64_t regions)
{
    memset(x, 0, sizeof(*x));
    x->s = lib_space(sys);
    if (regions)
        lib_make_regions(x->s, regions);
}

/* 3 RW pages for the mprotect pair: placed top-down just below the regions,
 * next to a read-only page, so they merge with nothing. */
static void lib_mm_box(struct mm_ctx *x)
{
    x->box = lib_map(x->s, 3 * PG, LIB_RW);
}

#ifdef GMM_HAVE_UNICORN
#define UC_PEER(fn, ctx, n, out) {fn, ctx, n, out}
#else
#define UC_PEER(fn, ctx, n, out) {NULL, NULL, 0, NULL}
#endif

static void bench_mm(void)
{
    struct mm_ctx x, x10;
    gmm_system *sys = lib_system();

    progress("mmap/mprotect, empty");
    struct row *mm = add_row("mmap_munmap", "mmap+munmap, 1 anon page, empty", "ns/op", true, true);
    struct row *mp = add_row("mprotect_split_merge", "mprotect split+merge, middle of 3 pages",
                             "ns/op", true, true);
    lib_mm_setup(&x, sys, 0);
#ifdef GMM_HAVE_UNICORN
    x.uc = uc_new();
#endif
    struct peer pmm[] = {
        {op_lib_mmap, &x, ops(200000), &mm->lib},
        {op_nat_mmap, &x, ops(5000), &mm->nat},
        UC_PEER(op_uc_mmap, &x, ops(300), &mm->uc),
    };
    measure_peers(pmm, 3);
    lib_mm_box(&x);
    x.nbox = nat_map(3 * PG, PROT_READ | PROT_WRITE);
#ifdef GMM_HAVE_UNICORN
    uc_check(uc_mem_map(x.uc, UC_PROTBOX, 3 * PG, UC_RW), "uc_mem_map");
#endif
    struct peer pmp[] = {
        {op_lib_mprotect, &x, ops(200000), &mp->lib},
        {op_nat_mprotect, &x, ops(5000), &mp->nat},
        UC_PEER(op_uc_mprotect, &x, ops(1000), &mp->uc),
    };
    measure_peers(pmp, 3);
    gmm_space_destroy(x.s);
    nat_unmap(x.nbox, 3 * PG);
#ifdef GMM_HAVE_UNICORN
    uc_close(x.uc);
#endif
    snprintf(mp->note, sizeof(mp->note),
             "pages untouched everywhere; Unicorn never re-merges: its first split (in the untimed "
             "warm-up) leaves 3 regions, and each timed pair then toggles the middle one");

    progress("mmap/mprotect with 10,000 regions");
    struct row *mm10 = add_row("mmap_munmap_10k", "mmap+munmap, 10,000 live regions", "ns/op",
                               true, true);
    struct row *mmg = add_row("mmap_munmap_growth", "  growth: 10,000 regions / empty", "x",
                              true, false);
    struct row *mp10 = add_row("mprotect_split_merge_10k",
                               "mprotect split+merge, 10,000 live regions", "ns/op", true, true);
    struct row *mpg = add_row("mprotect_split_merge_growth", "  growth: 10,000 regions / empty",
                              "x", true, false);
    lib_mm_setup(&x10, sys, cfg.regions);
    uint8_t *block = nat_make_regions(cfg.regions);
#ifdef GMM_HAVE_UNICORN
    x10.uc = uc_new();
    uc_make_regions(x10.uc, cfg.uc_regions);
#endif
    struct peer pmm10[] = {
        {op_lib_mmap, &x10, ops(200000), &mm10->lib},
        {op_nat_mmap, &x10, ops(5000), &mm10->nat},
        UC_PEER(op_uc_mmap, &x10, ops(4), &mm10->uc),
    };
    measure_peers(pmm10, 3);
    lib_mm_box(&x10);
    x10.nbox = nat_map(3 * PG, PROT_READ | PROT_WRITE);
#ifdef GMM_HAVE_UNICORN
    uc_check(uc_mem_map(x10.uc, UC_PROTBOX, 3 * PG, UC_RW), "uc_mem_map");
#endif
    struct peer pmp10[] = {
        {op_lib_mprotect, &x10, ops(200000), &mp10->lib},
        {op_nat_mprotect, &x10, ops(5000), &mp10->nat},
        UC_PEER(op_uc_mprotect, &x10, ops(10), &mp10->uc),
    };
    measure_peers(pmp10, 3);
    gmm_space_destroy(x10.s);
    nat_unmap(x10.nbox, 3 * PG);
    nat_unmap(block, cfg.regions * PG);

    /* Near Linux's default vm.max_map_count (65,530). */
    progress("mmap with 60,000 regions");
    struct mm_ctx x60;
    struct row *mm60 = add_row("mmap_munmap_60k", "mmap+munmap, 60,000 live regions", "ns/op",
                               false, true);
    struct row *mmg60 = add_row("mmap_munmap_growth_60k", "  growth: 60,000 regions / empty",
                                "x", false, false);
    lib_mm_setup(&x60, sys, cfg.max_regions);
    uint8_t *block60 = nat_try_make_regions(cfg.max_regions);
    struct peer pmm60[] = {
        {op_lib_mmap, &x60, ops(200000), &mm60->lib},
        {block60 ? op_nat_mmap : NULL, &x60, ops(5000), &mm60->nat},
    };
    measure_peers(pmm60, 2);
    gmm_space_destroy(x60.s);
    gmm_system_destroy(sys);
    if (block60)
        nat_unmap(block60, cfg.max_regions * PG);
    else
        snprintf(mm60->note, sizeof(mm60->note),
                 "native not measured: the host refused 60,000 regions (vm.max_map_count)");
    mmg60->lib = mm60->lib / mm->lib;
    mmg60->nat = mm60->nat / mm->nat;
#ifdef GMM_HAVE_UNICORN
    uc_close(x10.uc);
    snprintf(mm10->note, sizeof(mm10->note),
             "Unicorn measured with %llu live regions, not 10,000: Unicorn 2.0.1 aborts "
             "(assert in phys_section_add) past 4095 regions",
             (unsigned long long)cfg.uc_regions);
    snprintf(mp10->note, sizeof(mp10->note), "Unicorn measured with %llu live regions (see above)",
             (unsigned long long)cfg.uc_regions);
    snprintf(mmg->note, sizeof(mmg->note), "Unicorn column: %llu regions / empty",
             (unsigned long long)cfg.uc_regions);
    snprintf(mpg->note, sizeof(mpg->note), "Unicorn column: %llu regions / empty",
             (unsigned long long)cfg.uc_regions);
#endif
    mmg->lib = mm10->lib / mm->lib;
    mmg->nat = mm10->nat / mm->nat;
    mmg->uc = mm10->uc / mm->uc;
    mpg->lib = mp10->lib / mp->lib;
    mpg->nat = mp10->nat / mp->nat;
    mpg->uc = mp10->uc / mp->uc;
}

/* ------------------------------------------------------------------------
 * gmm_read / gmm_write / gmm_translate.
 * ------------------------------------------------------------------------ */

struct rw_ctx {
    gmm_space *s;
    gmm_addr a;
    uint8_t *host; /* native anchor: host memory of the same size */
    uint32_t *offs;
    uint8_t buf[2 * PG];
#ifdef GMM_HAVE_UNICORN
    uc_engine *uc;
#endif
};

static uint64_t hot_off(uint64_t i)
{
    return ((i % HOT_PAGES) << 12) + ((i * 8) & 0xff8);
}

static void op_lib_read(void *c, uint64_t n, size_t len)
{
    struct rw_ctx *x = c;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (gmm_read(x->s, x->a + x->offs[i % NOFFS], x->buf, len))
            die("gmm_read failed");
        acc += x->buf[0];
    }
    sink = acc;
}

static void op_lib_write(void *c, uint64_t n, size_t len)
{
    struct rw_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        x->buf[0] = (uint8_t)i;
        if (gmm_write(x->s, x->a + x->offs[i % NOFFS], x->buf, len))
            die("gmm_write failed");
    }
}

static void op_lib_read4(void *c, uint64_t n) { op_lib_read(c, n, 4); }
static void op_lib_write4(void *c, uint64_t n) { op_lib_write(c, n, 4); }
static void op_lib_read4k(void *c, uint64_t n) { op_lib_read(c, n, PG); }
static void op_lib_write4k(void *c, uint64_t n) { op_lib_write(c, n, PG); }

static void op_lib_read4_hot(void *c, uint64_t n)
{
    struct rw_ctx *x = c;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (gmm_read(x->s, x->a + hot_off(i), x->buf, 4))
            die("gmm_read failed");
        acc += x->buf[0];
    }
    sink = acc;
}

static void op_lib_translate(void *c, uint64_t n)
{
    struct rw_ctx *x = c;
    uintptr_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *p = gmm_translate(x->s, x->a + hot_off(i), GMM_ACCESS_READ);
        if (!p)
            die("gmm_translate failed");
        acc += (uintptr_t)p;
    }
    sink = acc;
}

static void op_nat_read(void *c, uint64_t n, size_t len)
{
    struct rw_ctx *x = c;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        host_memcpy(x->buf, x->host + x->offs[i % NOFFS], len);
        acc += x->buf[0];
    }
    sink = acc;
}

static void op_nat_write(void *c, uint64_t n, size_t len)
{
    struct rw_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        x->buf[0] = (uint8_t)i;
        host_memcpy(x->host + x->offs[i % NOFFS], x->buf, len);
    }
}

static void op_nat_read4(void *c, uint64_t n) { op_nat_read(c, n, 4); }
static void op_nat_write4(void *c, uint64_t n) { op_nat_write(c, n, 4); }
static void op_nat_read4k(void *c, uint64_t n) { op_nat_read(c, n, PG); }
static void op_nat_write4k(void *c, uint64_t n) { op_nat_write(c, n, PG); }

static void op_nat_read4_hot(void *c, uint64_t n)
{
    struct rw_ctx *x = c;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        host_memcpy(x->buf, x->host + hot_off(i), 4);
        acc += x->buf[0];
    }
    sink = acc;
}

#ifdef GMM_HAVE_UNICORN
static void op_uc_read(void *c, uint64_t n, size_t len)
{
    struct rw_ctx *x = c;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        uc_check(uc_mem_read(x->uc, UC_RWBASE + x->offs[i % NOFFS], x->buf, len), "uc_mem_read");
        acc += x->buf[0];
    }
    sink = acc;
}

static void op_uc_write(void *c, uint64_t n, size_t len)
{
    struct rw_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        x->buf[0] = (uint8_t)i;
        uc_check(uc_mem_write(x->uc, UC_RWBASE + x->offs[i % NOFFS], x->buf, len), "uc_mem_write");
    }
}

static void op_uc_read4(void *c, uint64_t n) { op_uc_read(c, n, 4); }
static void op_uc_write4(void *c, uint64_t n) { op_uc_write(c, n, 4); }
static void op_uc_read4k(void *c, uint64_t n) { op_uc_read(c, n, PG); }
static void op_uc_write4k(void *c, uint64_t n) { op_uc_write(c, n, PG); }

static void op_uc_read4_hot(void *c, uint64_t n)
{
    struct rw_ctx *x = c;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        uc_check(uc_mem_read(x->uc, UC_RWBASE + hot_off(i), x->buf, 4), "uc_mem_read");
        acc += x->buf[0];
    }
    sink = acc;
}
#endif

static uint32_t *random_offsets(uint64_t bytes)
{
    uint32_t *o = malloc(NOFFS * sizeof(*o));
    if (!o)
        die("out of memory");
    /* 4-byte aligned, anywhere a 4 KiB access still fits. */
    for (unsigned i = 0; i < NOFFS; i++)
        o[i] = (uint32_t)((rnd() % (bytes - PG)) & ~(uint64_t)3);
    return o;
}

/* A space with rw_bytes mapped RW and written, the hot pages translated. */
static void lib_rw_setup(struct rw_ctx *x, gmm_system *sys)
{
    x->s = lib_space(sys);
    x->a = lib_map(x->s, cfg.rw_bytes, LIB_RW);
    memset(x->buf, 0x5a, sizeof(x->buf));
    for (uint64_t off = 0; off < cfg.rw_bytes; off += PG)
        if (gmm_write(x->s, x->a + off, x->buf, PG))
            die("gmm_write failed while filling");
    for (unsigned i = 0; i < HOT_PAGES; i++)
        if (!gmm_translate(x->s, x->a + (uint64_t)i * PG, GMM_ACCESS_READ))
            die("gmm_translate failed");
}

static void bench_rw(void)
{
    struct rw_ctx x;
    memset(&x, 0, sizeof(x));
    progress("gmm_read/gmm_write/gmm_translate");
    x.offs = random_offsets(cfg.rw_bytes);
    gmm_system *sys = lib_system();
    lib_rw_setup(&x, sys);
    x.host = nat_map(cfg.rw_bytes, PROT_READ | PROT_WRITE);
    memset(x.host, 0x5a, cfg.rw_bytes);
#ifdef GMM_HAVE_UNICORN
    x.uc = uc_new();
    uc_check(uc_mem_map(x.uc, UC_RWBASE, cfg.rw_bytes, UC_RW), "uc_mem_map");
    for (uint64_t off = 0; off < cfg.rw_bytes; off += PG)
        uc_check(uc_mem_write(x.uc, UC_RWBASE + off, x.buf, PG), "uc_mem_write");
#endif

    static const char anchor[] =
        "native column: host memcpy (called through a pointer) at the same offsets in "
        "64 MiB of host memory, the floor for any software MMU";
    struct row *r4 = add_row("read4", "gmm_read 4 B, random addr in 64 MiB", "ns/op", true, true);
    struct row *w4 = add_row("write4", "gmm_write 4 B, random addr in 64 MiB", "ns/op", true, true);
    struct row *r4k = add_row("read4k", "gmm_read 4 KiB, random addr in 64 MiB", "ns/op", true, true);
    struct row *w4k = add_row("write4k", "gmm_write 4 KiB, random addr in 64 MiB", "ns/op", true, true);
    struct row *rh = add_row("read4_hot", "gmm_read 4 B, 16 hot pages (TLB hit)", "ns/op", true, true);
    struct row *th = add_row("translate_hit", "gmm_translate read, TLB hit", "ns/op", false, false);
    snprintf(r4->note, sizeof(r4->note), "%s; random 4-byte-aligned addresses, 4 KiB accesses "
             "usually span two pages; every page resident (written before timing)", anchor);

    struct peer p[][3] = {
        {{op_lib_read4, &x, ops(1000000), &r4->lib},
         {op_nat_read4, &x, ops(1000000), &r4->nat},
         UC_PEER(op_uc_read4, &x, ops(300000), &r4->uc)},
        {{op_lib_write4, &x, ops(1000000), &w4->lib},
         {op_nat_write4, &x, ops(1000000), &w4->nat},
         UC_PEER(op_uc_write4, &x, ops(300000), &w4->uc)},
        {{op_lib_read4k, &x, ops(100000), &r4k->lib},
         {op_nat_read4k, &x, ops(100000), &r4k->nat},
         UC_PEER(op_uc_read4k, &x, ops(50000), &r4k->uc)},
        {{op_lib_write4k, &x, ops(100000), &w4k->lib},
         {op_nat_write4k, &x, ops(100000), &w4k->nat},
         UC_PEER(op_uc_write4k, &x, ops(50000), &w4k->uc)},
        {{op_lib_read4_hot, &x, ops(5000000), &rh->lib},
         {op_nat_read4_hot, &x, ops(5000000), &rh->nat},
         UC_PEER(op_uc_read4_hot, &x, ops(1000000), &rh->uc)},
        {{op_lib_translate, &x, ops(20000000), &th->lib},
         {NULL, NULL, 0, NULL},
         {NULL, NULL, 0, NULL}},
    };
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        measure_peers(p[i], 3);

    gmm_space_destroy(x.s);
    gmm_system_destroy(sys);
    nat_unmap(x.host, cfg.rw_bytes);
#ifdef GMM_HAVE_UNICORN
    uc_close(x.uc);
#endif
    snprintf(th->note, sizeof(th->note),
             "16 resident pages already in the software TLB; Unicorn has no public "
             "translate call (uc_mem_read is the closest, see the row above)");
    free(x.offs);
}

/* ------------------------------------------------------------------------
 * fork, first touch, copy on write.
 * ------------------------------------------------------------------------ */

struct touch_ctx {
    gmm_space *s;
    gmm_addr a;
    uint64_t next; /* next page to touch */
};

static void op_lib_touch(void *c, uint64_t n)
{
    struct touch_ctx *x = c;
    for (uint64_t i = 0; i < n; i++, x->next++) {
        uint8_t *p = gmm_translate(x->s, x->a + x->next * PG, GMM_ACCESS_WRITE);
        if (!p)
            die("gmm_translate(write) failed");
        *p = (uint8_t)(x->next | 2);
    }
}

struct fork_ctx {
    gmm_space *s;
};

static void op_lib_fork(void *c, uint64_t n)
{
    struct fork_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        gmm_space *child = gmm_space_fork(x->s);
        if (!child)
            die("gmm_space_fork failed");
        gmm_space_destroy(child);
    }
}

/* fork of a space / a process with bytes touched: rows id (fork + destroy
 * / + _exit + wait) and id_return (fork alone, parent side).  With
 * first_write, also rows for the first store after a fork, in the parent
 * and in the child (the library: one store through gmm_translate, which
 * copies the page-table leaf it falls in and then the page; the kernel: a
 * copy-on-write fault of the parent or the child while the other waits). */
static void fork_case(uint64_t bytes, const char *id, const char *id_return, bool first_write)
{
    uint64_t pages = bytes / PG;
    double v[MAX_REPEATS], vf[MAX_REPEATS], wp[MAX_REPEATS], wc[MAX_REPEATS];
    char *name = malloc(96);
    if (!name)
        die("out of memory");
    snprintf(name, 96, "fork, %llu MiB touched (+destroy / +_exit+wait)",
             (unsigned long long)(bytes / MIB));
    struct row *f = add_row(id, name, "us", false, true);
    struct row *f0 = add_row(id_return, "  of which fork itself (parent side)", "us", false, true);
    struct row *fp = NULL, *fc = NULL;
    if (first_write) {
        fp = add_row("fork_write_parent", "  first store after fork, parent (one page)", "us",
                     false, true);
        fc = add_row("fork_write_child", "  first store after fork, child (one page)", "us",
                     false, true);
    }

    gmm_system *sys = lib_system();
    struct fork_ctx x = {lib_space(sys)};
    gmm_addr a = lib_map(x.s, bytes, LIB_RW);
    lib_touch(x.s, a, pages);
    op_lib_fork(&x, 1);
    for (int r = 0; r < cfg.repeats; r++) {
        double t0 = now_ns();
        gmm_space *child = gmm_space_fork(x.s);
        double t1 = now_ns();
        if (!child)
            die("gmm_space_fork failed");
        gmm_space_destroy(child);
        double t2 = now_ns();
        v[r] = (t2 - t0) / 1e3;
        vf[r] = (t1 - t0) / 1e3;
    }
    f->lib = median(v, cfg.repeats);
    f0->lib = median(vf, cfg.repeats);
    if (first_write) {
        /* A different page each run (a fresh leaf: the previous runs'
         * writes gave the parent its own copies of theirs). */
        for (int r = -1; r < cfg.repeats; r++) {
            gmm_space *child = gmm_space_fork(x.s);
            if (!child)
                die("gmm_space_fork failed");
            gmm_addr pa = a + (uint64_t)(r + 1) * 2 * MIB + 8 * PG;
            double t0 = now_ns();
            uint8_t *p = gmm_translate(x.s, pa, GMM_ACCESS_WRITE);
            if (!p)
                die("gmm_translate(write) failed");
            *p = 7;
            double t1 = now_ns();
            p = gmm_translate(child, pa + 2 * MIB, GMM_ACCESS_WRITE);
            if (!p)
                die("gmm_translate(write) failed");
            *p = 9;
            double t2 = now_ns();
            if (r >= 0) {
                wp[r] = (t1 - t0) / 1e3;
                wc[r] = (t2 - t1) / 1e3;
            }
            gmm_space_destroy(child);
        }
        fp->lib = median(wp, cfg.repeats);
        fc->lib = median(wc, cfg.repeats);
    }
    gmm_space_destroy(x.s);
    gmm_system_destroy(sys);

    uint8_t *p = nat_map(bytes, PROT_READ | PROT_WRITE);
    madvise(p, bytes, MADV_NOHUGEPAGE);
    nat_touch(p, pages);
    fflush(NULL);
    for (int r = -1; r < cfg.repeats; r++) {
        int st;
        double t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        double t1 = now_ns();
        if (pid < 0 || waitpid(pid, &st, 0) != pid)
            die("native fork/waitpid failed");
        double t2 = now_ns();
        if (r >= 0) {
            v[r] = (t2 - t0) / 1e3;
            vf[r] = (t1 - t0) / 1e3;
        }
    }
    f->nat = median(v, cfg.repeats);
    f0->nat = median(vf, cfg.repeats);
    if (first_write) {
        /* The child times its own first store and reports it through a
         * pipe; the parent stores while the child waits on another. */
        for (int r = -1; r < cfg.repeats; r++) {
            int go[2], res[2], st;
            if (pipe(go) || pipe(res))
                die("pipe failed");
            size_t off = ((size_t)(r + 1) * 2 * MIB + 8 * PG) % bytes;
            pid_t pid = fork();
            if (pid == 0) {
                char c;
                close(go[1]);
                close(res[0]);
                if (read(go[0], &c, 1) != 1)
                    _exit(1);
                double t0 = now_ns();
                ((volatile uint8_t *)p)[(off + 2 * MIB) % bytes] = 9;
                double t = (now_ns() - t0) / 1e3;
                if (write(res[1], &t, sizeof(t)) != sizeof(t))
                    _exit(1);
                _exit(0);
            }
            if (pid < 0)
                die("fork failed");
            close(go[0]);
            close(res[1]);
            double t0 = now_ns();
            ((volatile uint8_t *)p)[off] = 7;
            double t1 = now_ns();
            double tc = 0;
            if (write(go[1], "g", 1) != 1 || read(res[0], &tc, sizeof(tc)) != sizeof(tc))
                die("native first-write pipe failed");
            close(go[1]);
            close(res[0]);
            if (waitpid(pid, &st, 0) != pid)
                die("waitpid failed");
            if (r >= 0) {
                wp[r] = (t1 - t0) / 1e3;
                wc[r] = tc;
            }
        }
        fp->nat = median(wp, cfg.repeats);
        fc->nat = median(wc, cfg.repeats);
        snprintf(fp->note, sizeof(fp->note),
                 "one store to a page of the %llu MiB just after fork, in a 2 MiB leaf no "
                 "earlier store copied; native: the kernel's COW fault",
                 (unsigned long long)(bytes / MIB));
    }
    nat_unmap(p, bytes);
    snprintf(f->note, sizeof(f->note),
             "native: 4 KiB pages (MADV_NOHUGEPAGE), fork()+_exit(0)+waitpid; libguestmm: "
             "gmm_space_fork+gmm_space_destroy; Unicorn has no fork");
}

static void bench_fork(void)
{
    progress("fork");
    fork_case(cfg.fork_bytes, "fork", "fork_return", false);
    fork_case(cfg.fork_big_bytes, "fork_big", "fork_big_return", true);
}

static void bench_touch(void)
{
    uint64_t pages = cfg.touch_pages;
    double v[MAX_REPEATS];
    progress("first touch and COW");
    struct row *ft = add_row("first_touch", "first touch per page, fresh host memory", "ns/page",
                             false, true);
    struct row *fw = add_row("first_touch_recycled", "first touch per page, recycled frames",
                             "ns/page", false, true);
    struct row *cw = add_row("cow_break", "COW break per page (write after fork)", "ns/page",
                             false, true);

    /* Fresh system per run: its frames come from never-touched host memory,
     * so each includes a host page fault, as the native figure does. */
    for (int r = -1; r < cfg.repeats; r++) {
        gmm_system *sys = lib_system();
        struct touch_ctx x = {lib_space(sys), 0, 0};
        x.a = lib_map(x.s, pages * PG, LIB_RW);
        double t0 = now_ns();
        op_lib_touch(&x, pages);
        double t = (now_ns() - t0) / (double)pages;
        if (r >= 0)
            v[r] = t;
        gmm_space_destroy(x.s);
        gmm_system_destroy(sys);
    }
    ft->lib = median(v, cfg.repeats);

    /* One system: after the warm-up run its frames are all on the free list. */
    gmm_system *sys = lib_system();
    for (int r = -1; r < cfg.repeats; r++) {
        struct touch_ctx x = {lib_space(sys), 0, 0};
        x.a = lib_map(x.s, pages * PG, LIB_RW);
        double t0 = now_ns();
        op_lib_touch(&x, pages);
        double t = (now_ns() - t0) / (double)pages;
        if (r >= 0)
            v[r] = t;
        gmm_space_destroy(x.s);
    }
    fw->lib = median(v, cfg.repeats);

    /* COW: the child stays alive while the parent writes every page. */
    struct touch_ctx x = {lib_space(sys), 0, 0};
    x.a = lib_map(x.s, pages * PG, LIB_RW);
    lib_touch(x.s, x.a, pages);
    for (int r = -1; r < cfg.repeats; r++) {
        gmm_space *child = gmm_space_fork(x.s);
        if (!child)
            die("gmm_space_fork failed");
        x.next = 0;
        double t0 = now_ns();
        op_lib_touch(&x, pages);
        double t = (now_ns() - t0) / (double)pages;
        if (r >= 0)
            v[r] = t;
        gmm_space_destroy(child);
    }
    cw->lib = median(v, cfg.repeats);
    gmm_space_destroy(x.s);
    gmm_system_destroy(sys);

    /* Native first touch. */
    for (int r = -1; r < cfg.repeats; r++) {
        uint8_t *p = nat_map(pages * PG, PROT_READ | PROT_WRITE);
        madvise(p, pages * PG, MADV_NOHUGEPAGE);
        double t0 = now_ns();
        nat_touch(p, pages);
        double t = (now_ns() - t0) / (double)pages;
        if (r >= 0)
            v[r] = t;
        nat_unmap(p, pages * PG);
    }
    ft->nat = fw->nat = median(v, cfg.repeats);

    /* Native COW: a child blocked on a pipe keeps the pages shared. */
    uint8_t *p = nat_map(pages * PG, PROT_READ | PROT_WRITE);
    madvise(p, pages * PG, MADV_NOHUGEPAGE);
    nat_touch(p, pages);
    fflush(NULL);
    for (int r = -1; r < cfg.repeats; r++) {
        int fds[2], st;
        char c;
        if (pipe(fds))
            die("pipe failed");
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[1]);
            while (read(fds[0], &c, 1) > 0)
                ;
            _exit(0);
        }
        if (pid < 0)
            die("fork failed");
        close(fds[0]);
        double t0 = now_ns();
        for (uint64_t i = 0; i < pages; i++)
            ((volatile uint8_t *)p)[i * PG] = (uint8_t)(i | 2);
        double t = (now_ns() - t0) / (double)pages;
        close(fds[1]);
        if (waitpid(pid, &st, 0) != pid)
            die("waitpid failed");
        if (r >= 0)
            v[r] = t;
    }
    cw->nat = median(v, cfg.repeats);
    nat_unmap(p, pages * PG);

    snprintf(ft->note, sizeof(ft->note),
             "%llu pages written once each through gmm_translate(WRITE) (demand zero); a "
             "fresh gmm_system per run, so each frame's host page is faulted in by the host "
             "kernel too",
             (unsigned long long)pages);
    snprintf(fw->note, sizeof(fw->note),
             "same, with the frames freed by an earlier space (the library zeroes them); "
             "native column repeated from the row above");
    snprintf(cw->note, sizeof(cw->note),
             "%llu pages, child space/process alive; libguestmm frames come from the free "
             "list (untimed warm-up run first)",
             (unsigned long long)pages);
}

/* ------------------------------------------------------------------------
 * Host windows (issue 11): first touch, copy on write, host mappings and
 * hot loads and stores through a window, against this kernel doing the
 * same to its own anonymous memory and against gmm_translate.
 *
 * Window accesses are plain host loads and stores at gmm_window_base(w) +
 * guest address; a missing or read-only page raises SIGSEGV, which
 * gmm_window_install_handler's handler resolves through gmm_window_fault
 * (which maps the page and its fault-around block) before the access is
 * retried.  So a first-touch figure holds the signal, the resolve, the
 * mmap of the block and the host's own fault on the memory file's page.
 * ------------------------------------------------------------------------ */

#define WIN_MAP_PAGES (1024ull * MIB / PG) /* the host-mappings runs: 1 GiB */

static gmm_system *win_system(void)
{
    gmm_system *sys = gmm_system_create_mappable(NULL);
    if (!sys)
        die("gmm_system_create_mappable failed");
    return sys;
}

static gmm_window *win_create(gmm_space *s, gmm_addr a, uint64_t pages, unsigned fault_around)
{
    gmm_window *w = gmm_window_create(s, a, a + pages * PG);
    if (!w)
        die("gmm_window_create failed");
    if (fault_around)
        gmm_window_set_fault_around(w, fault_around);
    return w;
}

/* A random permutation of 0..n-1: the random-order page sequence. */
static uint32_t *win_permutation(uint64_t n)
{
    uint32_t *o = malloc(n * sizeof(*o));
    if (!o)
        die("out of memory");
    for (uint64_t i = 0; i < n; i++)
        o[i] = (uint32_t)i;
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = rnd() % (i + 1);
        uint32_t t = o[i];
        o[i] = o[j];
        o[j] = t;
    }
    return o;
}

static inline uint64_t win_page(const uint32_t *order, uint64_t i)
{
    return order ? order[i] : i;
}

/* One store per page of p, in order (NULL: sequential); ns per page. */
static double win_store_pages(uint8_t *p, uint64_t pages, const uint32_t *order)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t pg = win_page(order, i);
        ((volatile uint8_t *)p)[pg * PG] = (uint8_t)(pg | 1);
    }
    return (now_ns() - t0) / (double)pages;
}

/* A trial: untimed set-up, a timed pass, untimed tear-down; ns per page. */
typedef double (*trial_fn)(void *ctx);

struct wt_ctx {
    uint64_t pages;
    const uint32_t *order;   /* NULL: sequential */
    unsigned fault_around;   /* 0: the window's default */
    bool mappable;           /* translate trials: on a mappable system */
    gmm_window_stats st;     /* the last window trial's */
};

/* First touch through a window of a fresh mappable system. */
static double wt_window_touch(void *c)
{
    struct wt_ctx *x = c;
    gmm_system *sys = win_system();
    gmm_space *s = lib_space(sys);
    gmm_addr a = lib_map(s, x->pages * PG, LIB_RW);
    gmm_window *w = win_create(s, a, x->pages, x->fault_around);
    double t = win_store_pages(gmm_window_base(w) + a, x->pages, x->order);
    gmm_window_get_stats(w, &x->st);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
    return t;
}

/* First touch of fresh native anonymous memory (4 KiB pages). */
static double wt_native_touch(void *c)
{
    struct wt_ctx *x = c;
    uint8_t *p = nat_map(x->pages * PG, PROT_READ | PROT_WRITE);
    madvise(p, x->pages * PG, MADV_NOHUGEPAGE);
    double t = win_store_pages(p, x->pages, x->order);
    nat_unmap(p, x->pages * PG);
    return t;
}

/* First touch of a fresh memory file mapped MAP_SHARED, the way a
 * window's frames are: the kernel's own floor for a window. */
static double wt_memfd_touch(void *c)
{
    struct wt_ctx *x = c;
    int fd = memfd_create("bench", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)(x->pages * PG)))
        die("memfd_create/ftruncate failed");
    void *p = mmap(NULL, x->pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        die("mmap of a memfd failed");
    double t = win_store_pages(p, x->pages, x->order);
    nat_unmap(p, x->pages * PG);
    close(fd);
    return t;
}

/* First touch through gmm_translate(WRITE) + a store, fresh system. */
static double wt_translate_touch(void *c)
{
    struct wt_ctx *x = c;
    gmm_system *sys = x->mappable ? win_system() : lib_system();
    gmm_space *s = lib_space(sys);
    gmm_addr a = lib_map(s, x->pages * PG, LIB_RW);
    double t0 = now_ns();
    for (uint64_t i = 0; i < x->pages; i++) {
        uint64_t pg = win_page(x->order, i);
        uint8_t *p = gmm_translate(s, a + pg * PG, GMM_ACCESS_WRITE);
        if (!p)
            die("gmm_translate(write) failed");
        *(volatile uint8_t *)p = (uint8_t)(pg | 1);
    }
    double t = (now_ns() - t0) / (double)x->pages;
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
    return t;
}

/* Runs the trials in turn, one warm-up round and cfg.repeats timed rounds,
 * so that all see the same machine, the first of a round changing every
 * round (a trial runs after the previous one's tear-down: freed memory,
 * punched holes); stores the medians. */
static void measure_trials(const trial_fn *fn, void *const *ctx, double *const *out, int n)
{
    double v[8][MAX_REPEATS];
    for (int r = -1; r < cfg.repeats; r++)
        for (int j = 0; j < n; j++) {
            int k = (j + r + 1) % n;
            double t = fn[k](ctx[k]);
            if (r >= 0)
                v[k][r] = t;
        }
    for (int k = 0; k < n; k++)
        *out[k] = median(v[k], cfg.repeats);
}

static void bench_window_touch(void)
{
    uint64_t pages = cfg.touch_pages;
    uint32_t *perm = win_permutation(pages);
    static const char *ids[2][4] = {
        {"win_touch_seq", "win_touch_seq_fa1", "win_touch_seq_fa512", "win_touch_seq_memfd"},
        {"win_touch_rand", "win_touch_rand_fa1", "win_touch_rand_fa512", "win_touch_rand_memfd"}};
    static char names[2][4][96];
    unsigned mib = (unsigned)(pages * PG / MIB);
    progress("host windows: first touch");
    for (int order = 0; order < 2; order++) {
        const uint32_t *ord = order ? perm : NULL;
        const char *how = order ? "random" : "sequential";
        snprintf(names[order][0], sizeof(names[order][0]),
                 "first touch, %s, %u MiB (fault-around 16)", how, mib);
        snprintf(names[order][1], sizeof(names[order][1]),
                 "first touch, %s, %u MiB (fault-around 1)", how, mib);
        struct row *r16 = add_row(ids[order][0], names[order][0], "ns/page", false, true);
        snprintf(names[order][2], sizeof(names[order][2]),
                 "first touch, %s, %u MiB (fault-around 512)", how, mib);
        struct row *r1 = add_row(ids[order][1], names[order][1], "ns/page", false, true);
        struct row *r512 = add_row(ids[order][2], names[order][2], "ns/page", false, true);
        snprintf(names[order][3], sizeof(names[order][3]),
                 "  the kernel's first touch of a memfd, %s", how);
        struct row *rmf = add_row(ids[order][3], names[order][3], "ns/page", false, false);
        r16->window = r1->window = r512->window = rmf->window = true;
        double plain;
        struct wt_ctx w16 = {pages, ord, 0, true, {0}}, w1 = {pages, ord, 1, true, {0}};
        struct wt_ctx w512 = {pages, ord, 512, true, {0}};
        struct wt_ctx nat = {pages, ord, 0, false, {0}}, trm = {pages, ord, 0, true, {0}};
        struct wt_ctx trp = {pages, ord, 0, false, {0}};
        trial_fn fn[] = {wt_window_touch, wt_window_touch,    wt_window_touch,   wt_native_touch,
                         wt_memfd_touch,  wt_translate_touch, wt_translate_touch};
        void *ctx[] = {&w16, &w1, &w512, &nat, &nat, &trm, &trp};
        double *out[] = {&r16->lib, &r1->lib, &r512->lib, &r16->nat, &rmf->nat, &r16->tr, &plain};
        measure_trials(fn, ctx, out, 7);
        r1->nat = r512->nat = r16->nat;
        r1->tr = r512->tr = r16->tr;
        snprintf(r16->note, sizeof(r16->note),
                 "one store per page, %s order, fresh memory every run: window = a fresh "
                 "mappable system (%llu faults, %llu host mappings at the end); kernel = fresh "
                 "MAP_ANONYMOUS, 4 KiB pages; translate = gmm_translate(WRITE) + store on a "
                 "mappable system (%.0f ns/page on gmm_system_create's)",
                 how, (unsigned long long)w16.st.faults, (unsigned long long)w16.st.host_mappings,
                 plain);
        snprintf(rmf->note, sizeof(rmf->note),
                 "the kernel's own first touch of a fresh memfd mapped MAP_SHARED, where a "
                 "window's frames live: what a window costs with no signal, resolve or mmap at "
                 "all (kernel column)");
        snprintf(r512->note, sizeof(r512->note),
                 "gmm_window_set_fault_around(w, 512): %llu faults, %llu host mappings at the end",
                 (unsigned long long)w512.st.faults, (unsigned long long)w512.st.host_mappings);
        snprintf(r1->note, sizeof(r1->note),
                 "the same with gmm_window_set_fault_around(w, 1): %llu faults, %llu whole-window "
                 "flushes, %llu host mappings at the end; kernel and translate columns repeated",
                 (unsigned long long)w1.st.faults, (unsigned long long)w1.st.flushes,
                 (unsigned long long)w1.st.host_mappings);
    }
    free(perm);
}

/* ---- copy on write ---- */

struct wcow_ctx {
    gmm_space *s;      /* the parent: pages written, a window on it */
    gmm_window *w;     /* NULL: stores through gmm_translate */
    gmm_addr a;
    uint64_t pages;
    gmm_window_stats st;
    uint8_t *np;       /* native: the parent's pages */
};

static double wc_window(void *c)
{
    struct wcow_ctx *x = c;
    gmm_space *child = gmm_space_fork(x->s);
    if (!child)
        die("gmm_space_fork failed");
    gmm_window_stats st0;
    gmm_window_get_stats(x->w, &st0);
    double t = win_store_pages(gmm_window_base(x->w) + x->a, x->pages, NULL);
    gmm_window_get_stats(x->w, &x->st);
    x->st.faults -= st0.faults;
    x->st.flushes -= st0.flushes;
    gmm_space_destroy(child);
    return t;
}

static double wc_translate(void *c)
{
    struct wcow_ctx *x = c;
    gmm_space *child = gmm_space_fork(x->s);
    if (!child)
        die("gmm_space_fork failed");
    double t0 = now_ns();
    for (uint64_t i = 0; i < x->pages; i++) {
        uint8_t *p = gmm_translate(x->s, x->a + i * PG, GMM_ACCESS_WRITE);
        if (!p)
            die("gmm_translate(write) failed");
        *(volatile uint8_t *)p = (uint8_t)(i | 2);
    }
    double t = (now_ns() - t0) / (double)x->pages;
    gmm_space_destroy(child);
    return t;
}

/* Native: a child blocked on a pipe keeps the pages shared while the
 * parent writes them. */
static double wc_native(void *c)
{
    struct wcow_ctx *x = c;
    int fds[2], st;
    char ch;
    if (pipe(fds))
        die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        while (read(fds[0], &ch, 1) > 0)
            ;
        _exit(0);
    }
    if (pid < 0)
        die("fork failed");
    close(fds[0]);
    double t = win_store_pages(x->np, x->pages, NULL);
    close(fds[1]);
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid failed");
    return t;
}

static void bench_window_cow(void)
{
    uint64_t pages = cfg.touch_pages;
    progress("host windows: copy on write");
    static char name[96];
    snprintf(name, sizeof(name), "COW break, store per page after fork, %u MiB",
             (unsigned)(pages * PG / MIB));
    struct row *r = add_row("win_cow", name, "ns/page", false, true);
    r->window = true;
    gmm_system *sys = win_system();
    struct wcow_ctx xw = {lib_space(sys), NULL, 0, pages, {0}, NULL};
    xw.a = lib_map(xw.s, pages * PG, LIB_RW);
    xw.w = win_create(xw.s, xw.a, pages, 0);
    win_store_pages(gmm_window_base(xw.w) + xw.a, pages, NULL);
    struct wcow_ctx xt = {lib_space(sys), NULL, 0, pages, {0}, NULL};
    xt.a = lib_map(xt.s, pages * PG, LIB_RW);
    lib_touch(xt.s, xt.a, pages);
    struct wcow_ctx xn = {NULL, NULL, 0, pages, {0}, nat_map(pages * PG, PROT_READ | PROT_WRITE)};
    madvise(xn.np, pages * PG, MADV_NOHUGEPAGE);
    nat_touch(xn.np, pages);
    trial_fn fn[] = {wc_window, wc_native, wc_translate};
    void *ctx[] = {&xw, &xn, &xt};
    double *out[] = {&r->lib, &r->nat, &r->tr};
    measure_trials(fn, ctx, out, 3);
    snprintf(r->note, sizeof(r->note),
             "the parent stores once to each page while the child (space or process) lives; "
             "window: gmm_space_fork, then stores through the parent's window (%llu faults, "
             "%llu flushes, %llu host mappings after the last run); translate: "
             "gmm_translate(WRITE) + store, same system; frames recycled after the warm-up run",
             (unsigned long long)xw.st.faults, (unsigned long long)xw.st.flushes,
             (unsigned long long)xw.st.host_mappings);
    gmm_window_destroy(xw.w);
    gmm_space_destroy(xw.s);
    gmm_space_destroy(xt.s);
    gmm_system_destroy(sys);
    nat_unmap(xn.np, pages * PG);
}

/* ---- host mappings after touching 1 GiB ---- */

static void bench_window_mappings(void)
{
    uint64_t pages = cfg.quick ? WIN_MAP_PAGES / 8 : WIN_MAP_PAGES;
    unsigned mib = (unsigned)(pages * PG / MIB);
    uint32_t *perm = win_permutation(pages);
    static char names[4][96];
    static const char *ids[4] = {"win_maps_seq", "win_maps_rand", "win_maps_seq_fa1",
                                 "win_maps_rand_fa1"};
    progress("host windows: host mappings after touching 1 GiB");
    for (int k = 0; k < 4; k++) {
        bool random = k & 1;
        unsigned fa = k & 2 ? 1 : 0;
        if (mib % 1024)
            snprintf(names[k], sizeof(names[k]), "host mappings after %u MiB, %s (fault-around %u)",
                     mib, random ? "random" : "sequential", fa ? 1 : 16);
        else
            snprintf(names[k], sizeof(names[k]), "host mappings after %u GiB, %s (fault-around %u)",
                     mib / 1024, random ? "random" : "sequential", fa ? 1 : 16);
        struct row *r = add_row(ids[k], names[k], "maps", false, false);
        r->window = true;
        gmm_system *sys = win_system();
        gmm_space *s = lib_space(sys);
        gmm_addr a = lib_map(s, pages * PG, LIB_RW);
        gmm_window *w = win_create(s, a, pages, fa);
        double t = win_store_pages(gmm_window_base(w) + a, pages, random ? perm : NULL);
        gmm_window_stats st;
        gmm_window_get_stats(w, &st);
        uint64_t proc = gmm_window_host_mappings(w);
        r->lib = (double)st.host_mappings;
        snprintf(r->note, sizeof(r->note),
                 "one store per page through the window: gmm_window_get_stats says %llu host "
                 "mappings, /proc/self/maps %llu (budget %llu); %llu faults, %llu whole-window "
                 "flushes, %llu pages mapped at the end; %.0f ns/page",
                 (unsigned long long)st.host_mappings, (unsigned long long)proc,
                 (unsigned long long)st.budget, (unsigned long long)st.faults,
                 (unsigned long long)st.flushes, (unsigned long long)st.pages_mapped, t);
        gmm_window_destroy(w);
        gmm_space_destroy(s);
        gmm_system_destroy(sys);
    }
    free(perm);
}

/* ---- hot loads and stores ---- */

struct whot_ctx {
    uint8_t *win;   /* gmm_window_base(w) + a */
    uint8_t *host;  /* a plain host array of the same size */
    gmm_cpu *cpu;
    gmm_addr a;
    uint32_t *offs; /* random 4-byte-aligned offsets, cycled */
};

static void op_win_load4(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    uint32_t acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc += *(volatile uint32_t *)(x->win + x->offs[i % NOFFS]);
    sink = acc;
}

static void op_win_store4(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    for (uint64_t i = 0; i < n; i++)
        *(volatile uint32_t *)(x->win + x->offs[i % NOFFS]) = (uint32_t)i;
}

static void op_host_load4(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    uint32_t acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc += *(volatile uint32_t *)(x->host + x->offs[i % NOFFS]);
    sink = acc;
}

static void op_host_store4(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    for (uint64_t i = 0; i < n; i++)
        *(volatile uint32_t *)(x->host + x->offs[i % NOFFS]) = (uint32_t)i;
}

/* 4-byte-aligned offsets: an access never crosses a page. */
static void op_cpu_load4(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    uint32_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *p = gmm_cpu_translate(x->cpu, x->a + x->offs[i % NOFFS], GMM_ACCESS_READ);
        if (!p)
            die("gmm_cpu_translate failed");
        acc += *(volatile uint32_t *)p;
    }
    sink = acc;
}

static void op_cpu_store4(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        void *p = gmm_cpu_translate(x->cpu, x->a + x->offs[i % NOFFS], GMM_ACCESS_WRITE);
        if (!p)
            die("gmm_cpu_translate failed");
        *(volatile uint32_t *)p = (uint32_t)i;
    }
}

/* measure_peers, with the peer that runs first changing every round: a
 * random-access loop runs slower right after another peer's loop (it
 * evicted the page-table entries this one's walks need), which would
 * otherwise always count against the same peer. */
static void measure_peers_rotated(const struct peer *p, int np)
{
    double v[4][MAX_REPEATS];
    for (int r = 0; r < cfg.repeats; r++) {
        for (int j = 0; j < np; j++) {
            int k = (j + r) % np;
            p[k].fn(p[k].ctx, p[k].n / 10 ? p[k].n / 10 : 1);
            double t0 = now_ns();
            p[k].fn(p[k].ctx, p[k].n);
            v[k][r] = (now_ns() - t0) / (double)p[k].n;
        }
    }
    for (int k = 0; k < np; k++)
        *p[k].out = median(v[k], cfg.repeats);
}

/* The same on 16 hot pages (host and software TLB hits). */
static void op_win_load4_hot(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    uint32_t acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc += *(volatile uint32_t *)(x->win + hot_off(i));
    sink = acc;
}

static void op_host_load4_hot(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    uint32_t acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc += *(volatile uint32_t *)(x->host + hot_off(i));
    sink = acc;
}

static void op_cpu_load4_hot(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    uint32_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *p = gmm_cpu_translate(x->cpu, x->a + hot_off(i), GMM_ACCESS_READ);
        if (!p)
            die("gmm_cpu_translate failed");
        acc += *(volatile uint32_t *)p;
    }
    sink = acc;
}

static void op_win_store4_hot(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    for (uint64_t i = 0; i < n; i++)
        *(volatile uint32_t *)(x->win + hot_off(i)) = (uint32_t)i;
}

static void op_host_store4_hot(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    for (uint64_t i = 0; i < n; i++)
        *(volatile uint32_t *)(x->host + hot_off(i)) = (uint32_t)i;
}

static void op_cpu_store4_hot(void *c, uint64_t n)
{
    struct whot_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        void *p = gmm_cpu_translate(x->cpu, x->a + hot_off(i), GMM_ACCESS_WRITE);
        if (!p)
            die("gmm_cpu_translate failed");
        *(volatile uint32_t *)p = (uint32_t)i;
    }
}

static void bench_window_hot(void)
{
    uint64_t bytes = cfg.rw_bytes;
    progress("host windows: hot loads and stores");
    struct row *ld = add_row("win_load4", "4-byte load, random addr in 64 MiB, pages mapped",
                             "ns/op", false, true);
    struct row *stw = add_row("win_store4", "4-byte store, random addr in 64 MiB, pages mapped",
                              "ns/op", false, true);
    struct row *ldh = add_row("win_load4_hot", "4-byte load, 16 hot pages (TLB hits)", "ns/op",
                              false, true);
    struct row *sth = add_row("win_store4_hot", "4-byte store, 16 hot pages (TLB hits)", "ns/op",
                              false, true);
    ld->window = stw->window = ldh->window = sth->window = true;
    gmm_system *sys = win_system();
    gmm_space *s = lib_space(sys);
    struct whot_ctx x;
    memset(&x, 0, sizeof(x));
    x.a = lib_map(s, bytes, LIB_RW);
    gmm_window *w = win_create(s, x.a, bytes / PG, 0);
    x.win = gmm_window_base(w) + x.a;
    win_store_pages(x.win, bytes / PG, NULL);
    x.cpu = gmm_cpu_create(s);
    if (!x.cpu)
        die("gmm_cpu_create failed");
    x.host = nat_map(bytes, PROT_READ | PROT_WRITE);
    madvise(x.host, bytes, MADV_NOHUGEPAGE);
    memset(x.host, 0x5a, bytes);
    x.offs = random_offsets(bytes);
    gmm_window_stats st0, st1;
    gmm_window_get_stats(w, &st0);
    struct peer p[][3] = {
        {{op_win_load4, &x, ops(5000000), &ld->lib},
         {op_host_load4, &x, ops(5000000), &ld->nat},
         {op_cpu_load4, &x, ops(2000000), &ld->tr}},
        {{op_win_store4, &x, ops(5000000), &stw->lib},
         {op_host_store4, &x, ops(5000000), &stw->nat},
         {op_cpu_store4, &x, ops(2000000), &stw->tr}},
        {{op_win_load4_hot, &x, ops(20000000), &ldh->lib},
         {op_host_load4_hot, &x, ops(20000000), &ldh->nat},
         {op_cpu_load4_hot, &x, ops(20000000), &ldh->tr}},
        {{op_win_store4_hot, &x, ops(20000000), &sth->lib},
         {op_host_store4_hot, &x, ops(20000000), &sth->nat},
         {op_cpu_store4_hot, &x, ops(20000000), &sth->tr}},
    };
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        measure_peers_rotated(p[i], 3);
    gmm_window_get_stats(w, &st1);
    snprintf(ld->note, sizeof(ld->note),
             "every page written through the window before timing (so mapped writable): "
             "window = a plain load at gmm_window_base(w) + guest address (%llu window faults "
             "while timing); kernel = the same load in a host array (MAP_ANONYMOUS, 4 KiB "
             "pages); translate = gmm_cpu_translate + the load; %u random 4-byte-aligned "
             "addresses cycled",
             (unsigned long long)(st1.faults - st0.faults), NOFFS);
    snprintf(stw->note, sizeof(stw->note), "the same with stores");
    snprintf(ldh->note, sizeof(ldh->note),
             "the first 16 pages of the same memory, 8-byte steps: host TLB and gmm_cpu_translate's "
             "software TLB hit");
    gmm_cpu_destroy(x.cpu);
    gmm_window_destroy(w);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
    nat_unmap(x.host, bytes);
    free(x.offs);
}

static void bench_window(void)
{
    if (gmm_window_install_handler())
        die("gmm_window_install_handler failed");
    bench_window_touch();
    bench_window_cow();
    bench_window_mappings();
    bench_window_hot();
}

/* ------------------------------------------------------------------------
 * Host memory: each probe runs in a fresh exec of this program, so that no
 * free heap memory of earlier measurements hides an allocation.
 * ------------------------------------------------------------------------ */

static double probe_value(const char *kind, uint64_t n)
{
    if (!strcmp(kind, "lib_page")) {
        /* Memory growth while writing the last 3/4 of n mapped pages: page
         * table and frame metadata, none of the fixed costs (code faulted
         * in, first nodes, the system's first arena) that the first quarter
         * pays. */
        uint64_t n1 = n / 4;
        gmm_system *sys = lib_system();
        gmm_space *s = lib_space(sys);
        gmm_addr a = lib_map(s, n * PG, LIB_RW);
        lib_touch(s, a, n1);
        uint64_t r0 = anon_bytes();
        lib_touch(s, a + n1 * PG, n - n1);
        uint64_t r1 = anon_bytes();
        return ((double)r1 - (double)r0 - (double)((n - n1) * PG)) / (double)(n - n1);
    }
    if (!strcmp(kind, "lib_fixed")) {
        /* One empty system and space, in KiB. */
        uint64_t r0 = anon_bytes();
        gmm_system *sys = lib_system();
        gmm_space *s = lib_space(sys);
        uint64_t r1 = anon_bytes();
        (void)s;
        return ((double)r1 - (double)r0) / 1024;
    }
    if (!strcmp(kind, "lib_region")) {
        gmm_system *sys = lib_system();
        gmm_space *s = lib_space(sys);
        uint64_t r0 = anon_bytes();
        lib_make_regions(s, n);
        uint64_t r1 = anon_bytes();
        return ((double)r1 - (double)r0) / (double)n;
    }
    if (!strcmp(kind, "nat_page")) {
        /* Page tables (VmPTE) plus the 64-byte struct page every frame has. */
        uint8_t *p = nat_map(n * PG, PROT_READ | PROT_WRITE);
        madvise(p, n * PG, MADV_NOHUGEPAGE);
        uint64_t t0 = vmpte_bytes();
        nat_touch(p, n);
        uint64_t t1 = vmpte_bytes();
        return ((double)t1 - (double)t0) / (double)n + 64.0;
    }
    if (!strcmp(kind, "nat_region")) {
        double s0 = slab_vma_bytes();
        if (s0 < 0)
            return NAN;
        nat_make_regions(n);
        double s1 = slab_vma_bytes();
        return (s1 - s0) / (double)n;
    }
#ifdef GMM_HAVE_UNICORN
    if (!strcmp(kind, "uc_page")) {
        uc_engine *uc = uc_new();
        uint8_t b = 1;
        uint64_t n1 = n / 4, r0 = 0;
        uc_check(uc_mem_map(uc, UC_RWBASE, n * PG, UC_RW), "uc_mem_map");
        for (uint64_t i = 0; i < n; i++) {
            if (i == n1)
                r0 = anon_bytes();
            uc_check(uc_mem_write(uc, UC_RWBASE + i * PG, &b, 1), "uc_mem_write");
        }
        uint64_t r1 = anon_bytes();
        return ((double)r1 - (double)r0 - (double)((n - n1) * PG)) / (double)(n - n1);
    }
    if (!strcmp(kind, "uc_fixed")) {
        /* uc_open defers its set-up to the first call that needs it. */
        uint64_t r0 = anon_bytes();
        uc_engine *uc = uc_new();
        uc_check(uc_mem_map(uc, UC_SCRATCH, PG, UC_RW), "uc_mem_map");
        uc_check(uc_mem_unmap(uc, UC_SCRATCH, PG), "uc_mem_unmap");
        uint64_t r1 = anon_bytes();
        return ((double)r1 - (double)r0) / 1024;
    }
    if (!strcmp(kind, "uc_region")) {
        uc_engine *uc = uc_new();
        uint64_t r0 = anon_bytes();
        uc_make_regions(uc, n);
        uint64_t r1 = anon_bytes();
        return ((double)r1 - (double)r0) / (double)n;
    }
#endif
    return NAN;
}

static double run_probe(const char *kind, uint64_t n)
{
    int fds[2];
    char nbuf[32], out[128];
    size_t got = 0;
    int st;
    snprintf(nbuf, sizeof(nbuf), "%llu", (unsigned long long)n);
    if (pipe(fds))
        die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "bench", "--mem-probe", kind, nbuf, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        die("fork failed");
    close(fds[1]);
    for (;;) {
        ssize_t k = read(fds[0], out + got, sizeof(out) - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fds[0]);
    out[got] = '\0';
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("memory probe %s failed", kind);
    return strtod(out, NULL);
}

static void bench_memory(void)
{
    progress("host memory per page and per region");
    struct row *mp = add_row("mem_per_page", "host bytes per resident page, beyond its 4 KiB",
                             "B/page", true, true);
    struct row *mr = add_row("mem_per_region", "host bytes per region", "B/region", true, true);
    struct row *mf = add_row("mem_fixed", "host memory of an empty system+space / engine", "KiB",
                             true, true);
    mp->lib = run_probe("lib_page", cfg.mem_pages);
    mp->nat = run_probe("nat_page", cfg.mem_pages);
    mr->lib = run_probe("lib_region", cfg.regions);
    /* System-wide slab counts: more regions drown the other tasks' noise. */
    mr->nat = run_probe("nat_region", NAT_REGION_PROBE);
    mf->lib = run_probe("lib_fixed", 0);
#ifdef GMM_HAVE_UNICORN
    mp->uc = run_probe("uc_page", cfg.mem_pages);
    mr->uc = run_probe("uc_region", cfg.uc_regions);
    mf->uc = run_probe("uc_fixed", 0);
#endif
    snprintf(mp->note, sizeof(mp->note),
             "resident anonymous memory (smaps_rollup) of a fresh process, mapping %llu pages "
             "and writing one byte to each: growth over the last 3/4 of them, minus 4 KiB per "
             "page, per page (the first quarter pays the fixed costs). Native: page-table "
             "growth (VmPTE) plus the 64-byte struct page of every frame",
             (unsigned long long)cfg.mem_pages);
    snprintf(mr->note, sizeof(mr->note),
             "resident anonymous memory growth over %llu single-page regions (Unicorn: %llu, "
             "untouched). Native: vm_area_struct + maple_node slab growth in /proc/slabinfo "
             "over %u regions (system-wide, so approximate)",
             (unsigned long long)cfg.regions, (unsigned long long)cfg.uc_regions,
             NAT_REGION_PROBE);
    snprintf(mf->note, sizeof(mf->note),
             "resident anonymous memory growth of gmm_system_create + gmm_space_create "
             "(Unicorn: uc_open + one uc_mem_map/uc_mem_unmap, which runs its deferred set-up); "
             "not in the per-page figure");
}

/* ------------------------------------------------------------------------
 * Snapshots (issue 14): restore after nothing, after pages written, after
 * region changes; a fuzz-style iteration against a native fork; take
 * against gmm_space_fork.  --snapshot-soak N: memory over N restores.
 * ------------------------------------------------------------------------ */

#define SNAP_BRK 0x555555560000ull
#define SNAP_FAR 0x600000000000ull /* free: where mremap moves pages to */

struct snap_ctx {
    gmm_space *s;
    gmm_snapshot *snap;
    gmm_addr base;      /* nregions regions of per pages each, from here */
    uint64_t nregions, per, touched;
    uint64_t k;         /* changes per restore */
    int kind;           /* which region change */
    double t_change;    /* ns spent changing (untimed part of a run) */
};

/* A space with nregions regions (alternating RW and RWX, so that they never
 * merge) of max(touched, nregions) / nregions pages each (rounded up), its first touched
 * pages written; a brk heap and a stack; one snapshot. */
static void snap_build(struct snap_ctx *x, gmm_system *sys, uint64_t touched, uint64_t nregions)
{
    memset(x, 0, sizeof(*x));
    x->s = lib_space(sys);
    if (gmm_space_init_brk(x->s, SNAP_BRK) || gmm_space_setup_stack(x->s, 0) < 0)
        die("brk/stack setup failed");
    uint64_t pages = touched > nregions ? touched : nregions;
    x->nregions = nregions;
    x->per = (pages + nregions - 1) / nregions;
    x->touched = touched;
    x->base = lib_map(x->s, x->per * nregions * PG, LIB_RW);
    lib_touch(x->s, x->base, touched);
    for (uint64_t r = 1; r < nregions; r += 2)
        if (gmm_sys_mprotect(x->s, x->base + r * x->per * PG, x->per * PG,
                             LIB_RW | GMM_PROT_EXEC))
            die("gmm_sys_mprotect failed while building regions");
    x->snap = gmm_snapshot_take(x->s);
    if (!x->snap)
        die("gmm_snapshot_take failed");
}

static void snap_free(struct snap_ctx *x)
{
    gmm_snapshot_discard(x->snap);
    gmm_space_destroy(x->s);
}

static void snap_restore(struct snap_ctx *x)
{
    if (gmm_snapshot_restore(x->s, x->snap))
        die("gmm_snapshot_restore failed");
}

static void op_snap_restore(void *c, uint64_t n)
{
    struct snap_ctx *x = c;
    for (uint64_t i = 0; i < n; i++)
        snap_restore(x);
}

static void snap_store_random(struct snap_ctx *x, uint64_t pages)
{
    for (uint64_t p = 0; p < pages; p++) {
        uint8_t *h = gmm_translate(x->s, x->base + (rnd() % x->touched) * PG, GMM_ACCESS_WRITE);
        if (!h)
            die("gmm_translate(write) failed");
        *h = (uint8_t)p;
    }
}

enum { SNAP_MUNMAP, SNAP_MPROTECT, SNAP_MREMAP, SNAP_BRK_GROW, SNAP_KINDS };
static const char *const snap_kind_name[SNAP_KINDS] = {"partial munmap", "mprotect split",
                                                       "mremap move", "brk grown"};

/* k region changes of one kind, in k distinct regions (the i-th of every
 * nregions/k), then the restore. */
static void snap_change(struct snap_ctx *x)
{
    uint64_t stride = x->nregions / x->k, off = rnd() % stride;
    for (uint64_t i = 0; i < x->k; i++) {
        gmm_addr r = x->base + (i * stride + off) * x->per * PG;
        int64_t e;
        switch (x->kind) {
        case SNAP_MUNMAP:
            e = gmm_sys_munmap(x->s, r + PG, PG);
            break;
        case SNAP_MPROTECT:
            e = gmm_sys_mprotect(x->s, r + PG, PG, GMM_PROT_READ);
            break;
        case SNAP_MREMAP:
            e = gmm_sys_mremap(x->s, r + 2 * PG, PG, PG, GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED,
                               SNAP_FAR + i * 2 * PG);
            e = e == (int64_t)(SNAP_FAR + i * 2 * PG) ? 0 : -1;
            break;
        default:
            e = gmm_sys_brk(x->s, SNAP_BRK + (i + 1) * PG) == (int64_t)(SNAP_BRK + (i + 1) * PG)
                    ? 0 : -1;
            break;
        }
        if (e)
            die("snapshot bench: %s failed", snap_kind_name[x->kind]);
    }
}

/* Timed: restores only, in ns per call (the changes before each are not). */
static double snap_time_restores(struct snap_ctx *x, uint64_t n, void (*change)(struct snap_ctx *))
{
    double v[MAX_REPEATS];
    for (int r = 0; r < cfg.repeats; r++) {
        for (uint64_t i = 0; i < n / 10 + 1; i++) {
            change(x);
            snap_restore(x);
        }
        double t = 0;
        for (uint64_t i = 0; i < n; i++) {
            change(x);
            double t0 = now_ns();
            snap_restore(x);
            t += now_ns() - t0;
        }
        v[r] = t / (double)n;
    }
    return median(v, cfg.repeats);
}

static void snap_change_pages(struct snap_ctx *x)
{
    snap_store_random(x, x->k);
}

/* A fuzz-style iteration: 64 scattered stores, an mmap (and a store into
 * it), a munmap of old memory, brk grown (and a store there); then the
 * restore.  The native one does the same in a forked child. */
static void op_snap_fuzz(void *c, uint64_t n)
{
    struct snap_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        snap_store_random(x, 64);
        gmm_addr m = lib_map(x->s, 16 * PG, LIB_RW);
        uint8_t *h = gmm_translate(x->s, m, GMM_ACCESS_WRITE);
        if (!h || gmm_sys_munmap(x->s, x->base + (rnd() % x->touched) * PG, PG))
            die("snapshot bench: fuzz iteration failed");
        *h = 1;
        if (gmm_sys_brk(x->s, SNAP_BRK + 8 * PG) != (int64_t)(SNAP_BRK + 8 * PG) ||
            !(h = gmm_translate(x->s, SNAP_BRK, GMM_ACCESS_WRITE)))
            die("snapshot bench: brk failed");
        *h = 2;
        snap_restore(x);
    }
}

struct nat_fork_ctx {
    uint8_t *mem;
    uint64_t pages;
};

static void op_nat_fuzz(void *c, uint64_t n)
{
    struct nat_fork_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        int st;
        pid_t pid = fork();
        if (pid == 0) {
            for (int p = 0; p < 64; p++)
                x->mem[(rnd() % x->pages) * PG] = 2;
            uint8_t *m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
            if (m == MAP_FAILED)
                _exit(1);
            m[0] = 1;
            munmap(x->mem + (rnd() % x->pages) * PG, PG);
            uint8_t *b = sbrk(8 * PG);
            if (b == (void *)-1)
                _exit(1);
            b[0] = 2;
            _exit(0);
        }
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
            die("native fork/waitpid failed");
    }
}

static void op_snap_take(void *c, uint64_t n)
{
    struct snap_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        gmm_snapshot *t = gmm_snapshot_take(x->s);
        if (!t)
            die("gmm_snapshot_take failed");
        gmm_snapshot_discard(t);
    }
}

static void op_snap_fork(void *c, uint64_t n)
{
    struct snap_ctx *x = c;
    for (uint64_t i = 0; i < n; i++) {
        gmm_space *child = gmm_space_fork(x->s);
        if (!child)
            die("gmm_space_fork failed");
        gmm_space_destroy(child);
    }
}

static void bench_snapshot(void)
{
    uint64_t small = 16 * MIB / PG, big = (cfg.quick ? 64 * MIB : 1024 * MIB) / PG;
    uint64_t nregions[2] = {10, cfg.regions};
    static char names[40][96];
    int nn = 0;
    gmm_system *sys = lib_system();
    struct snap_ctx x;

    /* Restore with nothing changed. */
    for (int b = 0; b < 2; b++)
        for (int j = 0; j < 2; j++) {
            uint64_t pages = b ? big : small;
            progress("snapshot: restore, nothing changed");
            snap_build(&x, sys, pages, nregions[j]);
            char *name = names[nn++];
            snprintf(name, 96, "snapshot restore, nothing changed, %llu MiB, %llu regions",
                     (unsigned long long)(pages * PG / MIB), (unsigned long long)nregions[j]);
            static const char *ids[4] = {"snap_noop_small_10", "snap_noop_small_many",
                                         "snap_noop_big_10", "snap_noop_big_many"};
            struct row *r = add_row(ids[b * 2 + j], name, "ns", false, false);
            struct peer p[1] = {{op_snap_restore, &x, ops(200000), &r->lib}};
            measure_peers(p, 1);
            snap_free(&x);
            gmm_system_destroy(sys);
            sys = lib_system();
        }

    /* Pages written since the snapshot: the restore's cost per page. */
    progress("snapshot: pages written");
    snap_build(&x, sys, small, 10);
    x.k = 64;
    struct row *rp = add_row("snap_page", "snapshot restore per page written (64 pages, 16 MiB)",
                             "ns", false, false);
    rp->lib = snap_time_restores(&x, ops(5000), snap_change_pages) / (double)x.k;
    {
        /* The whole cycle: the copy-on-write store and the restore. */
        struct row *rc = add_row("snap_page_cycle", "  with the store's copy on write", "ns",
                                 false, false);
        double v[MAX_REPEATS];
        uint64_t n = ops(5000);
        for (int r = 0; r < cfg.repeats; r++) {
            double t0 = now_ns();
            for (uint64_t i = 0; i < n; i++) {
                snap_store_random(&x, x.k);
                snap_restore(&x);
            }
            v[r] = (now_ns() - t0) / (double)(n * x.k);
        }
        rc->lib = median(v, cfg.repeats);
    }
    snap_free(&x);

    /* Region changes undone, at 10 and at cfg.regions regions of 4 pages:
     * one change in a random region, then the restore (timed alone).  mremap moves a region's third page out (MAYMOVE|FIXED,
     * to free space); brk grows by a page each time. */
    static const char *cids[2][SNAP_KINDS] = {
        {"snap_munmap_10", "snap_mprotect_10", "snap_mremap_10", "snap_brk_10"},
        {"snap_munmap_many", "snap_mprotect_many", "snap_mremap_many", "snap_brk_many"}};
    for (int j = 0; j < 2; j++) {
        progress("snapshot: region changes undone");
        snap_build(&x, sys, nregions[j] * 4, nregions[j]);
        x.k = 1;
        for (int kind = 0; kind < SNAP_KINDS; kind++) {
            char *name = names[nn++];
            snprintf(name, 96, "snapshot restore per %s undone, %llu regions",
                     snap_kind_name[kind], (unsigned long long)nregions[j]);
            struct row *r = add_row(cids[j][kind], name, "ns", false, false);
            x.kind = kind;
            r->lib = snap_time_restores(&x, ops(20000), snap_change) / (double)x.k;
        }
        snap_free(&x);
    }

    /* A fuzz-style iteration against a native fork of the same memory.  The
     * system that held the bigger spaces above goes first, and the native
     * side is measured with no guest memory in this process, so that the
     * forked process holds the stated memory and little more. */
    gmm_system_destroy(sys);
    uint64_t fsizes[2] = {small, cfg.fork_bytes / PG};
    static const char *fids[2] = {"snap_fuzz_small", "snap_fuzz_fork"};
    for (int j = 0; j < 2; j++) {
        progress("snapshot: fuzz iteration vs native fork");
        char *name = names[nn++];
        snprintf(name, 96, "fuzz iteration + restore vs fork+_exit+wait, %llu MiB",
                 (unsigned long long)(fsizes[j] * PG / MIB));
        struct row *r = add_row(fids[j], name, "us", false, true);
        struct nat_fork_ctx nx = {nat_map(fsizes[j] * PG, PROT_READ | PROT_WRITE), fsizes[j]};
        madvise(nx.mem, fsizes[j] * PG, MADV_NOHUGEPAGE);
        nat_touch(nx.mem, fsizes[j]);
        fflush(NULL);
        double lib_ns, nat_ns;
        struct peer pn[1] = {{op_nat_fuzz, &nx, ops(j ? 50 : 200), &nat_ns}};
        measure_peers(pn, 1);
        nat_unmap(nx.mem, fsizes[j] * PG);
        sys = lib_system();
        snap_build(&x, sys, fsizes[j], 10);
        struct peer pl[1] = {{op_snap_fuzz, &x, ops(20000), &lib_ns}};
        measure_peers(pl, 1);
        snap_free(&x);
        gmm_system_destroy(sys);
        r->lib = lib_ns / 1e3;
        r->nat = nat_ns / 1e3;
        if (j == 0)
            snprintf(r->note, sizeof(r->note),
                 "both fuzz rows: 64 random page stores, an mmap of 16 pages + a store, a munmap "
                 "of an old page, brk grown by 8 pages + a store; libguestmm: then "
                 "gmm_snapshot_restore; native: the same in a child of fork() (4 KiB pages), "
                 "_exit(0)+waitpid, measured with no guest memory in the process");
    }

    /* Take (+discard) against gmm_space_fork (+destroy). */
    progress("snapshot: take vs gmm_space_fork");
    sys = lib_system();
    snap_build(&x, sys, cfg.fork_bytes / PG, 10);
    char *name = names[nn++];
    snprintf(name, 96, "snapshot take + discard, %llu MiB touched",
             (unsigned long long)(cfg.fork_bytes / MIB));
    struct row *rt = add_row("snap_take", name, "us", false, false);
    name = names[nn++];
    snprintf(name, 96, "  gmm_space_fork + destroy of the same space");
    struct row *rf = add_row("snap_take_fork", name, "us", false, false);
    double t_ns, f_ns;
    struct peer p[2] = {{op_snap_take, &x, ops(20), &t_ns}, {op_snap_fork, &x, ops(20), &f_ns}};
    measure_peers(p, 2);
    rt->lib = t_ns / 1e3;
    rf->lib = f_ns / 1e3;
    snap_free(&x);
    gmm_system_destroy(sys);
}

/* Resident set of this process (VmRSS), in KiB. */
static long vm_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* --snapshot-soak N: one snapshot of a small space, then N cycles of a few
 * pages written, an mmap (written) + munmap, and a restore; the RSS and
 * the frames in use at cycles 10, 100, ..., and N. */
static int snapshot_soak(uint64_t n)
{
    gmm_system *sys = lib_system();
    struct snap_ctx x;
    snap_build(&x, sys, 64, 4);
    printf("snapshot soak: %llu cycles (4 pages written, mmap of 4 pages + a store, munmap, "
           "restore)\n%12s %12s %12s\n",
           (unsigned long long)n, "cycle", "VmRSS KiB", "frames");
    printf("%12d %12ld %12llu\n", 0, vm_rss_kib(),
           (unsigned long long)gmm_system_frames_used(sys));
    uint64_t next = 10;
    for (uint64_t i = 1; i <= n; i++) {
        snap_store_random(&x, 4);
        gmm_addr m = lib_map(x.s, 4 * PG, LIB_RW);
        uint8_t *h = gmm_translate(x.s, m, GMM_ACCESS_WRITE);
        if (!h)
            die("gmm_translate(write) failed");
        *h = 1;
        if (gmm_sys_munmap(x.s, m, 4 * PG))
            die("gmm_sys_munmap failed");
        snap_restore(&x);
        if (i == next || i == n) {
            printf("%12llu %12ld %12llu\n", (unsigned long long)i, vm_rss_kib(),
                   (unsigned long long)gmm_system_frames_used(sys));
            fflush(stdout);
            if (i == next)
                next *= 10;
        }
    }
    const char *e = gmm_space_check(x.s);
    if (e)
        die("gmm_space_check after the soak: %s", e);
    snap_free(&x);
    gmm_system_destroy(sys);
    return 0;
}

/* ------------------------------------------------------------------------
 * Targets (DESIGN.md, issue 6).
 * ------------------------------------------------------------------------ */

struct target {
    char text[160];
    char value[64];
    bool met;
    double measured, limit;
};

#define MAX_TARGETS 64
static struct target targets[MAX_TARGETS];
static int ntargets;

static void add_target(bool met, double measured, double limit, const char *value_fmt,
                       const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static void add_target(bool met, double measured, double limit, const char *value_fmt,
                       const char *fmt, ...)
{
    if (ntargets == MAX_TARGETS)
        die("too many targets");
    struct target *t = &targets[ntargets++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->text, sizeof(t->text), fmt, ap);
    va_end(ap);
    t->met = met && !isnan(measured);
    t->measured = measured;
    t->limit = limit;
    if (!strcmp(value_fmt, "x"))
        snprintf(t->value, sizeof(t->value), "%.2fx", measured);
    else
        snprintf(t->value, sizeof(t->value), "%.1f %s", measured, value_fmt);
}

static void eval_targets(void)
{
    struct row *r;
    double v;
    if ((r = find_row("mmap_munmap"))) {
        v = r->nat / r->lib;
        add_target(v >= 50, v, 50, "x", "mmap+munmap at least 50x faster than native");
    }
    if ((r = find_row("mmap_munmap_growth")))
        add_target(r->lib <= 1.5, r->lib, 1.5, "x", "mmap+munmap with 10,000 regions within 1.5x of empty");
    if ((r = find_row("mmap_munmap_growth_60k")))
        add_target(r->lib <= 2, r->lib, 2, "x", "mmap+munmap with 60,000 regions within 2x of empty");
    if ((r = find_row("mprotect_split_merge"))) {
        v = r->nat / r->lib;
        add_target(v >= 50, v, 50, "x", "mprotect split+merge at least 50x faster than native");
    }
    if ((r = find_row("mprotect_split_merge_growth")))
        add_target(r->lib <= 1.5, r->lib, 1.5, "x",
                   "mprotect split+merge with 10,000 regions within 1.5x of empty");
    if ((r = find_row("read4")))
        add_target(r->lib < 20, r->lib, 20, "ns", "gmm_read of 4 bytes under 20 ns (random, 64 MiB)");
    if ((r = find_row("read4_hot")))
        add_target(r->lib < 20, r->lib, 20, "ns",
                   "gmm_read of 4 bytes under 20 ns (TLB hit; informative)");
    if ((r = find_row("translate_hit")))
        add_target(r->lib <= 5, r->lib, 5, "ns", "TLB-hit gmm_translate a few ns (<= 5 ns)");
    if ((r = find_row("fork")))
        add_target(r->lib < r->nat, r->nat / r->lib, 1, "x",
                   "fork of 256 MiB touched faster than native fork (native/lib)");
    if ((r = find_row("fork_big_return")))
        add_target(r->lib * 200 <= r->nat, r->nat / r->lib, 200, "x",
                   "fork of 1 GiB touched at least 200x faster than native fork (native/lib)");
    if ((r = find_row("mem_per_page")))
        add_target(r->lib <= 16, r->lib, 16, "B", "16 bytes or less per resident page");
    /* Issue 11, host windows: window / kernel (below 1: the window faster). */
    if ((r = find_row("win_touch_seq")))
        add_target(r->lib <= 1.5 * r->nat, r->lib / r->nat, 1.5, "x",
                   "window first touch, sequential, within 1.5x of the kernel's (window/kernel)");
    if ((r = find_row("win_touch_rand")))
        add_target(r->lib <= 3 * r->nat, r->lib / r->nat, 3, "x",
                   "window first touch, random, within 3x of the kernel's (window/kernel)");
    if ((r = find_row("win_maps_seq")))
        add_target(r->lib <= 64, r->lib, 64, "maps",
                   "1 GiB touched sequentially through a window in at most 64 host mappings");
    /* "Host speed": within the noise of a plain host array (1.2x). */
    if ((r = find_row("win_load4")))
        add_target(r->lib <= 1.2 * r->nat, r->lib / r->nat, 1.2, "x",
                   "window 4-byte load at host speed (window/host array <= 1.2)");
    if ((r = find_row("win_store4")))
        add_target(r->lib <= 1.2 * r->nat, r->lib / r->nat, 1.2, "x",
                   "window 4-byte store at host speed (window/host array <= 1.2)");
    if ((r = find_row("win_load4_hot")))
        add_target(r->lib <= 1.2 * r->nat, r->lib / r->nat, 1.2, "x",
                   "window 4-byte load on TLB hits at host speed (window/host array <= 1.2)");
    if ((r = find_row("win_store4_hot")))
        add_target(r->lib <= 1.2 * r->nat, r->lib / r->nat, 1.2, "x",
                   "window 4-byte store on TLB hits at host speed (window/host array <= 1.2)");
    /* Issue 14, snapshots. */
    static const char *noop[4] = {"snap_noop_small_10", "snap_noop_small_many", "snap_noop_big_10",
                                  "snap_noop_big_many"};
    double worst = NAN;
    for (int i = 0; i < 4; i++)
        if ((r = find_row(noop[i])) && !(r->lib <= worst))
            worst = r->lib;
    if (!isnan(worst))
        add_target(worst <= 1000, worst, 1000, "ns",
                   "snapshot restore with nothing changed at most 1 us whatever the size (worst)");
    if ((r = find_row("snap_page")))
        add_target(r->lib <= 400, r->lib, 400, "ns", "snapshot restore at most 400 ns per page written");
    static const char *ch[2][4] = {
        {"snap_munmap_10", "snap_mprotect_10", "snap_mremap_10", "snap_brk_10"},
        {"snap_munmap_many", "snap_mprotect_many", "snap_mremap_many", "snap_brk_many"}};
    double worst_change = NAN, worst_growth = NAN;
    for (int k = 0; k < 4; k++) {
        struct row *a = find_row(ch[0][k]), *b = find_row(ch[1][k]);
        if (a && !(a->lib <= worst_change))
            worst_change = a->lib;
        if (b && !(b->lib <= worst_change))
            worst_change = b->lib;
        if (a && b && !(b->lib / a->lib <= worst_growth))
            worst_growth = b->lib / a->lib;
    }
    if (!isnan(worst_change))
        add_target(worst_change <= 2000, worst_change, 2000, "ns",
                   "snapshot restore at most 2 us per region change undone (worst kind)");
    if (!isnan(worst_growth))
        add_target(worst_growth <= 1.5, worst_growth, 1.5, "x",
                   "  the same at 10,000 regions as at 10 (within 1.5x, worst kind)");
    if ((r = find_row("snap_fuzz_small"))) {
        v = r->nat / r->lib;
        add_target(v >= 30, v, 30, "x",
                   "fuzz iteration + restore at least 30x faster than native fork, 16 MiB");
    }
    if ((r = find_row("snap_fuzz_fork"))) {
        v = r->nat / r->lib;
        add_target(v >= 300, v, 300, "x",
                   "fuzz iteration + restore at least 300x faster than native fork, %llu MiB",
                   (unsigned long long)(cfg.fork_bytes / MIB));
    }
    struct row *rf;
    if ((r = find_row("snap_take")) && (rf = find_row("snap_take_fork")))
        add_target(r->lib <= rf->lib, rf->lib / r->lib, 1, "x",
                   "snapshot take no slower than gmm_space_fork (fork/take)");
#ifdef GMM_HAVE_UNICORN
    for (int i = 0; i < nrows; i++) {
        r = &rows[i];
        if (r->uck != UCK_ROW || !r->ratios || isnan(r->uc))
            continue;
        v = r->uc / r->lib;
        add_target(v > 1, v, 1, "x", "faster/smaller than Unicorn: %s", r->name);
    }
#endif
}

/* ------------------------------------------------------------------------
 * Output.
 * ------------------------------------------------------------------------ */

#define UC_MISSING "n/a (Unicorn not installed)"

static void fmt_num(char *buf, size_t cap, double v, const char *unit)
{
    if (isnan(v)) {
        snprintf(buf, cap, "-");
        return;
    }
    if (!strcmp(unit, "x")) {
        snprintf(buf, cap, "%.2fx", v);
        return;
    }
    double a = fabs(v);
    if (a < 10)
        snprintf(buf, cap, "%.2f", v);
    else if (a < 1000)
        snprintf(buf, cap, "%.1f", v);
    else {
        /* Whole number with thousands separators. */
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%.0f", a);
        size_t len = strlen(tmp), o = 0;
        if (v < 0 && o + 1 < cap)
            buf[o++] = '-';
        for (size_t i = 0; i < len && o + 2 < cap; i++) {
            buf[o++] = tmp[i];
            if ((len - i - 1) % 3 == 0 && i + 1 < len)
                buf[o++] = ',';
        }
        buf[o] = '\0';
    }
}

static void fmt_ratio(char *buf, size_t cap, double peer, double lib)
{
    double v = peer / lib;
    if (isnan(v) || isinf(v))
        snprintf(buf, cap, "-");
    else if (v >= 100)
        snprintf(buf, cap, "%.0fx", v);
    else if (v >= 10)
        snprintf(buf, cap, "%.1fx", v);
    else
        snprintf(buf, cap, "%.2fx", v);
}

static void uc_version_text(char *buf, size_t cap)
{
#ifdef GMM_HAVE_UNICORN
    unsigned major = 0, minor = 0;
    uc_version(&major, &minor);
    snprintf(buf, cap, "%u.%u", major, minor);
#else
    snprintf(buf, cap, "none");
#endif
}

static void print_table(void)
{
    char ucv[32];
    uc_version_text(ucv, sizeof(ucv));
    printf("libguestmm %s benchmark%s: median of %d runs per figure\n", gmm_version(),
           cfg.quick ? " (--quick: smaller sizes, not comparable)" : "", cfg.repeats);
    printf("native = this kernel through raw syscalls; Unicorn = ");
#ifdef GMM_HAVE_UNICORN
    printf("Unicorn %s C API (UC_ARCH_X86, UC_MODE_32)\n", ucv);
#else
    printf("%s\n", UC_MISSING);
#endif
    printf("ratios = peer / libguestmm (above 1: libguestmm faster or smaller)\n\n");

    int notes = 0;
    bool any_main = false, any_window = false;
    for (int i = 0; i < nrows; i++)
        *(rows[i].window ? &any_window : &any_main) = true;
    if (any_main) {
        printf("%-58s %-8s %12s %12s %8s %12s %8s\n", "measurement", "unit", "libguestmm",
               "native", "nat/lib", "Unicorn", "uc/lib");
        for (int i = 0; i < 124; i++)
            putchar('-');
        putchar('\n');
    }
    for (int i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        char name[96], lib[32], nat[32], nr[16], uc[32], ur[16];
        if (r->window)
            continue;
        if (r->note[0])
            snprintf(name, sizeof(name), "%s [%d]", r->name, ++notes);
        else
            snprintf(name, sizeof(name), "%s", r->name);
        fmt_num(lib, sizeof(lib), r->lib, r->unit);
        fmt_num(nat, sizeof(nat), r->nat, r->unit);
        if (r->ratios)
            fmt_ratio(nr, sizeof(nr), r->nat, r->lib);
        else
            snprintf(nr, sizeof(nr), "-");
        printf("%-58s %-8s %12s %12s %8s ", name, r->unit, lib, nat, nr);
#ifdef GMM_HAVE_UNICORN
        if (r->uck == UCK_ROW) {
            fmt_num(uc, sizeof(uc), r->uc, r->unit);
            if (r->ratios)
                fmt_ratio(ur, sizeof(ur), r->uc, r->lib);
            else
                snprintf(ur, sizeof(ur), "-");
        } else {
            snprintf(uc, sizeof(uc), "-");
            snprintf(ur, sizeof(ur), "-");
        }
        printf("%12s %8s\n", uc, ur);
#else
        (void)ur;
        if (r->uck == UCK_ROW)
            printf("%s\n", UC_MISSING);
        else {
            snprintf(uc, sizeof(uc), "-");
            printf("%12s %8s\n", uc, "-");
        }
#endif
    }
    if (any_window) {
        if (any_main)
            printf("\n");
        printf("host windows: window = plain host loads/stores at gmm_window_base(w) + guest "
               "address,\nfaults resolved by gmm_window_install_handler's SIGSEGV handler; "
               "kernel = the same on\nthe host's own anonymous memory; translate = gmm_translate "
               "or gmm_cpu_translate + the access\nratios = peer / window (above 1: the window "
               "faster)\n\n");
        printf("%-64s %-8s %10s %10s %8s %10s %8s\n", "measurement", "unit", "window",
               "kernel", "kern/win", "translate", "tr/win");
        for (int i = 0; i < 124; i++)
            putchar('-');
        putchar('\n');
    }
    for (int i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        char name[96], win[32], nat[32], nr[16], tr[32], trr[16];
        if (!r->window)
            continue;
        if (r->note[0])
            snprintf(name, sizeof(name), "%s [%d]", r->name, ++notes);
        else
            snprintf(name, sizeof(name), "%s", r->name);
        fmt_num(win, sizeof(win), r->lib, r->unit);
        fmt_num(nat, sizeof(nat), r->nat, r->unit);
        fmt_num(tr, sizeof(tr), r->tr, r->unit);
        if (r->ratios) {
            fmt_ratio(nr, sizeof(nr), r->nat, r->lib);
            fmt_ratio(trr, sizeof(trr), r->tr, r->lib);
        } else {
            snprintf(nr, sizeof(nr), "-");
            snprintf(trr, sizeof(trr), "-");
        }
        printf("%-64s %-8s %10s %10s %8s %10s %8s\n", name, r->unit, win, nat, nr, tr, trr);
    }
    if (notes) {
        printf("\n");
        notes = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < nrows; i++)
                if (rows[i].note[0] && rows[i].window == (pass == 1))
                    printf("[%d] %s\n", ++notes, rows[i].note);
    }
    if (ntargets) {
        printf("\ntargets (DESIGN.md, issue 6; host windows: issue 11; snapshots: issue 14)\n");
        for (int i = 0; i < ntargets; i++)
            printf("  %-7s %-80s %s\n", targets[i].met ? "MET" : "MISSED", targets[i].text,
                   targets[i].value);
    }
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_num(double v)
{
    if (isnan(v) || isinf(v))
        printf("null");
    else
        printf("%.6g", v);
}

static void print_json(void)
{
    char ucv[32];
    uc_version_text(ucv, sizeof(ucv));
    printf("{\n  \"library\": \"libguestmm\",\n  \"version\": ");
    json_str(gmm_version());
    printf(",\n  \"unicorn\": ");
#ifdef GMM_HAVE_UNICORN
    json_str(ucv);
#else
    printf("null");
#endif
    printf(",\n  \"repeats\": %d,\n  \"quick\": %s,\n  \"statistic\": \"median\",\n"
           "  \"ratio\": \"peer / libguestmm\",\n  \"rows\": [\n",
           cfg.repeats, cfg.quick ? "true" : "false");
    for (int i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        printf("    {\"id\": ");
        json_str(r->id);
        printf(", \"name\": ");
        json_str(r->name);
        printf(", \"unit\": ");
        json_str(r->unit);
        printf(", \"libguestmm\": ");
        json_num(r->lib);
        printf(", \"native\": ");
        json_num(r->nat);
        printf(", \"native_ratio\": ");
        json_num(r->ratios ? r->nat / r->lib : NAN);
        printf(", \"unicorn\": ");
#ifdef GMM_HAVE_UNICORN
        json_num(r->uck == UCK_ROW ? r->uc : NAN);
        printf(", \"unicorn_ratio\": ");
        json_num(r->uck == UCK_ROW && r->ratios ? r->uc / r->lib : NAN);
        printf(", \"unicorn_status\": ");
        json_str(r->uck == UCK_ROW ? "measured" : "no counterpart");
#else
        printf("null, \"unicorn_ratio\": null, \"unicorn_status\": ");
        json_str(r->uck == UCK_ROW ? UC_MISSING : "no counterpart");
#endif
        printf(", \"section\": ");
        json_str(r->window ? "window" : "main");
        printf(", \"translate\": ");
        json_num(r->tr);
        printf(", \"translate_ratio\": ");
        json_num(r->ratios ? r->tr / r->lib : NAN);
        printf(", \"note\": ");
        json_str(r->note);
        printf("}%s\n", i + 1 < nrows ? "," : "");
    }
    printf("  ],\n  \"targets\": [\n");
    for (int i = 0; i < ntargets; i++) {
        struct target *t = &targets[i];
        printf("    {\"target\": ");
        json_str(t->text);
        printf(", \"measured\": ");
        json_num(t->measured);
        printf(", \"limit\": ");
        json_num(t->limit);
        printf(", \"met\": %s}%s\n", t->met ? "true" : "false", i + 1 < ntargets ? "," : "");
    }
    printf("  ]\n}\n");
}

/* ------------------------------------------------------------------------
 * --callgrind OP N: one library hot path, untimed.
 * ------------------------------------------------------------------------ */

struct cg_op {
    const char *name;
    uint64_t n;
    const char *what;
};

static const struct cg_op cg_ops[] = {
    {"mmap", 100000, "gmm_sys_mmap + gmm_sys_munmap of 1 page, empty space"},
    {"mmap10k", 100000, "the same with 10,000 live regions"},
    {"mmap60k", 100000, "the same with 60,000 live regions"},
    {"mprotect", 100000, "gmm_sys_mprotect split + merge of the middle of 3 pages"},
    {"mprotect10k", 100000, "the same with 10,000 live regions"},
    {"read4", 200000, "gmm_read 4 B at random addresses in 64 MiB"},
    {"write4", 200000, "gmm_write 4 B at random addresses in 64 MiB"},
    {"read4k", 20000, "gmm_read 4 KiB at random addresses in 64 MiB"},
    {"write4k", 20000, "gmm_write 4 KiB at random addresses in 64 MiB"},
    {"read4hot", 1000000, "gmm_read 4 B on 16 pages in the TLB"},
    {"translate", 1000000, "gmm_translate read, TLB hit"},
    {"touch", 16384, "first touch (demand zero) of one page, fresh frames"},
    {"touchwarm", 16384, "first touch of one page, recycled frames"},
    {"cow", 16384, "COW break of one page (child alive)"},
    {"fork", 3, "gmm_space_fork + gmm_space_destroy of 256 MiB touched"},
};

static int cg_main(const char *op, uint64_t n)
{
    const struct cg_op *o = NULL;
    for (size_t i = 0; i < sizeof(cg_ops) / sizeof(cg_ops[0]); i++)
        if (!strcmp(cg_ops[i].name, op))
            o = &cg_ops[i];
    if (!o) {
        fprintf(stderr, "bench: unknown --callgrind op '%s' (try --list)\n", op);
        return 2;
    }
    if (!n)
        n = o->n;
    gmm_system *sys = lib_system();
    if (!strcmp(op, "mmap") || !strcmp(op, "mmap10k") || !strcmp(op, "mmap60k") ||
        !strcmp(op, "mprotect") || !strcmp(op, "mprotect10k")) {
        struct mm_ctx x;
        lib_mm_setup(&x, sys, strstr(op, "10k")   ? cfg.regions
                              : strstr(op, "60k") ? cfg.max_regions
                                                  : 0);
        if (!strncmp(op, "mprotect", 8))
            lib_mm_box(&x);
        cg_loop(strncmp(op, "mmap", 4) ? op_lib_mprotect : op_lib_mmap, &x, n);
    } else if (!strncmp(op, "read", 4) || !strncmp(op, "write", 5) || !strcmp(op, "translate")) {
        struct rw_ctx x;
        memset(&x, 0, sizeof(x));
        x.offs = random_offsets(cfg.rw_bytes);
        lib_rw_setup(&x, sys);
        op_fn fn = !strcmp(op, "read4")       ? op_lib_read4
                   : !strcmp(op, "write4")    ? op_lib_write4
                   : !strcmp(op, "read4k")    ? op_lib_read4k
                   : !strcmp(op, "write4k")   ? op_lib_write4k
                   : !strcmp(op, "read4hot")  ? op_lib_read4_hot
                                              : op_lib_translate;
        cg_loop(fn, &x, n);
        free(x.offs);
    } else if (!strcmp(op, "touch") || !strcmp(op, "touchwarm")) {
        struct touch_ctx x = {lib_space(sys), 0, 0};
        if (!strcmp(op, "touchwarm")) {
            gmm_space *w = lib_space(sys);
            lib_touch(w, lib_map(w, n * PG, LIB_RW), n);
            gmm_space_destroy(w);
        }
        x.a = lib_map(x.s, n * PG, LIB_RW);
        cg_loop(op_lib_touch, &x, n);
    } else if (!strcmp(op, "cow")) {
        struct touch_ctx x = {lib_space(sys), 0, 0};
        x.a = lib_map(x.s, n * PG, LIB_RW);
        lib_touch(x.s, x.a, n);
        /* Warm-up: frames for the copies come from the free list. */
        gmm_space *w = gmm_space_fork(x.s);
        op_lib_touch(&x, n);
        gmm_space_destroy(w);
        gmm_space *child = gmm_space_fork(x.s);
        if (!child)
            die("gmm_space_fork failed");
        x.next = 0;
        cg_loop(op_lib_touch, &x, n);
        gmm_space_destroy(child);
    } else if (!strcmp(op, "fork")) {
        struct fork_ctx x = {lib_space(sys)};
        gmm_addr a = lib_map(x.s, cfg.fork_bytes, LIB_RW);
        lib_touch(x.s, a, cfg.fork_bytes / PG);
        cg_loop(op_lib_fork, &x, n);
    }
    gmm_system_destroy(sys);
    printf("%s %llu\n", op, (unsigned long long)n);
    return 0;
}

/* ------------------------------------------------------------------------ */

/* The parts of the benchmark, for --only. */
enum { PART_MEMORY = 1, PART_MM = 2, PART_RW = 4, PART_FORK = 8, PART_TOUCH = 16,
       PART_WINDOW = 32, PART_SNAPSHOT = 64, PART_ALL = 127 };
static const struct {
    const char *name;
    unsigned bit;
} parts[] = {{"memory", PART_MEMORY}, {"mm", PART_MM},       {"rw", PART_RW},
             {"fork", PART_FORK},     {"touch", PART_TOUCH}, {"window", PART_WINDOW},
             {"snapshot", PART_SNAPSHOT}};

/* "window,touch" -> the bits; 0 for an unknown name. */
static unsigned parse_parts(const char *list)
{
    unsigned bits = 0;
    while (*list) {
        size_t len = strcspn(list, ",");
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
            if (strlen(parts[i].name) == len && !strncmp(parts[i].name, list, len))
                bit = parts[i].bit;
        if (!bit)
            return 0;
        bits |= bit;
        list += len + (list[len] == ',');
    }
    return bits;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench [--quick] [--json] [--only PART[,PART...]]\n"
               "       PART: memory, mm, rw, fork, touch, window, snapshot (default: all)\n"
               "       bench --snapshot-soak N   (memory over N snapshot restores)\n"
               "       bench --callgrind OP [N]   (OP from --list)\n"
               "       bench --list\n");
}

int main(int argc, char **argv)
{
    bool json = false;
    unsigned only = PART_ALL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            if (!(only = parse_parts(argv[++i]))) {
                usage(stderr);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--quick")) {
            cfg.quick = true;
            cfg.repeats = 3;
            cfg.uc_regions = 200;
            cfg.fork_bytes = 32 * MIB;
            cfg.fork_big_bytes = 64 * MIB;
            cfg.touch_pages = 2048;
            cfg.mem_pages = 8192;
            cfg.scale = 0.05;
        } else if (!strcmp(argv[i], "--list")) {
            for (size_t k = 0; k < sizeof(cg_ops) / sizeof(cg_ops[0]); k++)
                printf("%-12s %8llu  %s\n", cg_ops[k].name, (unsigned long long)cg_ops[k].n,
                       cg_ops[k].what);
            return 0;
        } else if (!strcmp(argv[i], "--callgrind") && i + 1 < argc) {
            uint64_t n = i + 2 < argc ? strtoull(argv[i + 2], NULL, 0) : 0;
            return cg_main(argv[i + 1], n);
        } else if (!strcmp(argv[i], "--snapshot-soak") && i + 1 < argc) {
            return snapshot_soak(strtoull(argv[i + 1], NULL, 0));
        } else if (!strcmp(argv[i], "--mem-probe") && i + 2 < argc) {
            printf("%.3f\n", probe_value(argv[i + 1], strtoull(argv[i + 2], NULL, 0)));
            return 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    if (only & PART_MEMORY)
        bench_memory();
    if (only & PART_MM)
        bench_mm();
    if (only & PART_RW)
        bench_rw();
    if (only & PART_FORK)
        bench_fork();
    if (only & PART_TOUCH)
        bench_touch();
    if (only & PART_WINDOW)
        bench_window();
    if (only & PART_SNAPSHOT)
        bench_snapshot();
    eval_targets();
    if (json)
        print_json();
    else
        print_table();
    return 0;
}
