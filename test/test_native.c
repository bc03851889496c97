/*
 * test_native.c - random sequences of mmap, munmap, mprotect, brk and user
 * copies run both on this machine's kernel and on a libguestmm space; every
 * return value, every byte read and the maps lines of two windows must be
 * the same.
 *
 * How: the test forks a child that re-executes this program with ASLR off
 * (personality ADDR_NO_RANDOMIZE), so its layout is Linux's no-ASLR layout,
 * the one libguestmm models.  The child snapshots its /proc/self/maps, then
 * runs the operations with raw syscalls (no libc allocation after the
 * snapshot, so its own layout holds still) and streams back each result and
 * the maps lines that overlap the windows: W1 right above its initial brk
 * (brk and MAP_FIXED compete there) and W2 at 0x200000000000.  The parent
 * mirrors the snapshot into a libguestmm space (placeholders with the same
 * addresses, the heap through gmm_space_init_brk and gmm_sys_brk), replays
 * the operations and compares.  User copies are done natively through a pipe
 * (read(2) into guest memory is copy_to_user, write(2) from it is
 * copy_from_user), so they fault in pages exactly as gmm_write/gmm_read do.
 *
 * The library's side also has host windows (guestmm.h, "Host windows")
 * over W1, W2 and the top of the mmap area, and the mirror checker runs
 * after every operation: every byte a successful user copy read is loaded
 * again through a window and must be the same, and every successful user
 * copy's bytes are stored again through one, which must not fault.  Only
 * after a successful copy, so that the window accesses find every page
 * present and change nothing Linux would see (fault-around 1: no
 * neighbour made present).
 *
 * Skipped where the host is not x86-64 Linux.
 */
#include "testutil.h"

#if defined(__linux__) && defined(__x86_64__)

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define W1_SIZE (2ull << 20)
#define W2_BASE 0x200000000000ull
#define W2_SIZE (4ull << 20)
#define MAX_OPS 4000
#define MAX_TEXT (1 << 20)

enum { OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_BRK, OP_WRITE, OP_READ, OP_FTRUNCATE, OP_PWRITE,
       OP_MREMAP };

/* File mappings: the child maps a real file (opened read-write and
 * read-only); the library maps an identical copy through callbacks that
 * pread/pwrite it, under the first file's identity (dev, inode, path) so
 * that maps lines compare.  Guest fds as the ops name them: */
enum { FD_RW = 100, FD_RO = 101, FD_BAD = 999 };
#define FILE_PAGES 6
#define FILE_SIZE (FILE_PAGES * PG + 123)
enum { BASE_ABS, BASE_W1, BASE_W2, BASE_RESULT, BASE_BRK };

struct op {
    int32_t kind, base;
    int32_t ref; /* BASE_RESULT: index of an earlier mmap */
    int32_t prot, flags;
    int32_t fd; /* OP_MMAP: -1, FD_RW, FD_RO or FD_BAD */
    uint32_t n;  /* bytes for OP_READ/OP_WRITE/OP_PWRITE */
    uint64_t off, len, pgoff;
    uint8_t val;
    /* OP_MREMAP: new length, and the new address as base + offset (base
     * BASE_ABS with offset 0: none). */
    int32_t new_base;
    uint64_t new_len, new_off;
};

/* madvise, the mlock family, mincore and msync (op.prot: the advice or
 * the flags; op.flags: which call of a family; op.n: mincore's vector
 * length; op.pgoff: a bad vector address when op.flags is set). */
enum { OP_MADVISE = 32, OP_MLOCK, OP_MLOCKALL, OP_MINCORE, OP_MSYNC };
enum { LOCK_MLOCK, LOCK_MLOCK2, LOCK_MLOCK2_ONFAULT, LOCK_MLOCK2_BADFLAGS, LOCK_MUNLOCK };
#define VEC_MAX 1024                    /* mincore vector bytes at most */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif
#define LIB_VEC 0x300000000000ull       /* the library's vector page(s) */

struct header {
    uint64_t start_brk, brk;
    uint32_t maps_len;
};

struct record {
    int64_t ret;
    uint32_t maps_len, data_len;
};

/* ---------------------------------------------------------------- child */

static struct op child_ops[MAX_OPS];
static int64_t child_results[MAX_OPS];
static char child_text[MAX_TEXT];
static char child_filtered[MAX_TEXT];
static uint8_t child_data[PG];
static uint8_t child_vec[VEC_MAX];

static long raw(long nr, long a, long b, long c, long d, long e, long f)
{
    long r = syscall(nr, a, b, c, d, e, f);
    return r == -1 ? -errno : r;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        long w = raw(SYS_write, fd, (long)c, (long)n, 0, 0, 0);
        if (w == -EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        long r = raw(SYS_read, fd, (long)c, (long)n, 0, 0, 0);
        if (r == -EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static size_t read_maps(int fd)
{
    size_t len = 0;
    raw(SYS_lseek, fd, 0, SEEK_SET, 0, 0, 0);
    for (;;) {
        long r = raw(SYS_read, fd, (long)(child_text + len), (long)(MAX_TEXT - 1 - len), 0, 0, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    child_text[len] = 0;
    return len;
}

/* Keeps the lines of text that overlap [a1, a1+W1_SIZE) or W2. */
static size_t filter_windows(const char *text, char *out, uint64_t a1)
{
    size_t n = 0;
    const char *line = text;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);
        unsigned long long s = strtoull(line, NULL, 16);
        const char *dash = strchr(line, '-');
        unsigned long long e = dash ? strtoull(dash + 1, NULL, 16) : 0;
        bool in1 = s < a1 + W1_SIZE && e > a1;
        bool in2 = s < W2_BASE + W2_SIZE && e > W2_BASE;
        if (in1 || in2) {
            memcpy(out + n, line, len);
            n += len;
        }
        line += len;
    }
    out[n] = 0;
    return n;
}

static uint64_t op_addr(const struct op *o, uint64_t a1, uint64_t start_brk,
                        const int64_t *results)
{
    switch (o->base) {
    case BASE_W1:
        return a1 + o->off;
    case BASE_W2:
        return W2_BASE + o->off;
    case BASE_RESULT:
        return results[o->ref] > 0 ? (uint64_t)results[o->ref] + o->off : W2_BASE + o->off;
    case BASE_BRK:
        return start_brk + o->off;
    default:
        return o->off;
    }
}

static uint64_t start_brk_of_self(void)
{
    /* Field 47 of /proc/self/stat is start_brk. */
    static char buf[4096];
    int fd = (int)raw(SYS_open, (long)"/proc/self/stat", O_RDONLY, 0, 0, 0, 0);
    long n = raw(SYS_read, fd, (long)buf, sizeof(buf) - 1, 0, 0, 0);
    raw(SYS_close, fd, 0, 0, 0, 0, 0);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    int field = 2;
    while (p && *p && field < 47) {
        if (*p == ' ')
            field++;
        p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

static uint64_t op_new_addr(const struct op *o, uint64_t a1)
{
    switch (o->new_base) {
    case BASE_W1:
        return a1 + o->new_off;
    case BASE_W2:
        return W2_BASE + o->new_off;
    default:
        return o->new_off;
    }
}

static int run_child(int in, int out, const char *path)
{
    int fd_rw = (int)raw(SYS_open, (long)path, O_RDWR, 0, 0, 0, 0);
    int fd_ro = (int)raw(SYS_open, (long)path, O_RDONLY, 0, 0, 0, 0);
    if (fd_rw < 0 || fd_ro < 0)
        return 2;
    uint32_t nops;
    if (read_all(in, &nops, sizeof(nops)) || nops > MAX_OPS ||
        read_all(in, child_ops, nops * sizeof(struct op)))
        return 2;
    int maps = (int)raw(SYS_open, (long)"/proc/self/maps", O_RDONLY, 0, 0, 0, 0);
    int pipefd[2];
    if (maps < 0 || raw(SYS_pipe2, (long)pipefd, O_NONBLOCK, 0, 0, 0, 0) < 0)
        return 2;

    struct header h;
    h.start_brk = start_brk_of_self();
    h.brk = (uint64_t)raw(SYS_brk, 0, 0, 0, 0, 0, 0);
    /* From here on: raw syscalls and static buffers only. */
    h.maps_len = (uint32_t)read_maps(maps);
    if (write_all(out, &h, sizeof(h)) || write_all(out, child_text, h.maps_len))
        return 2;
    uint64_t a1 = (h.start_brk + PG - 1) & ~(PG - 1);

    for (uint32_t i = 0; i < nops; i++) {
        const struct op *o = &child_ops[i];
        uint64_t addr = op_addr(o, a1, h.start_brk, child_results);
        struct record rec = {0};
        switch (o->kind) {
        case OP_MMAP: {
            int fd = o->fd == FD_RW ? fd_rw : o->fd == FD_RO ? fd_ro : o->fd;
            rec.ret = raw(SYS_mmap, (long)addr, (long)o->len, o->prot, o->flags, fd, (long)o->pgoff);
            break;
        }
        case OP_FTRUNCATE:
            rec.ret = raw(SYS_ftruncate, fd_rw, (long)o->len, 0, 0, 0, 0);
            break;
        case OP_MREMAP:
            rec.ret = raw(SYS_mremap, (long)addr, (long)o->len, (long)o->new_len, o->flags,
                          (long)op_new_addr(o, a1), 0);
            break;
        case OP_PWRITE:
            memset(child_data, o->val, o->n);
            rec.ret = raw(SYS_pwrite64, fd_rw, (long)child_data, o->n, (long)o->off, 0, 0);
            break;
        case OP_MUNMAP:
            rec.ret = raw(SYS_munmap, (long)addr, (long)o->len, 0, 0, 0, 0);
            break;
        case OP_MPROTECT:
            rec.ret = raw(SYS_mprotect, (long)addr, (long)o->len, o->prot, 0, 0, 0);
            break;
        case OP_BRK:
            rec.ret = raw(SYS_brk, (long)addr, 0, 0, 0, 0, 0);
            break;
        case OP_WRITE:
            /* copy_to_user: read(2) from a pipe holding the bytes. */
            memset(child_data, o->val, o->n);
            raw(SYS_write, pipefd[1], (long)child_data, o->n, 0, 0, 0);
            rec.ret = raw(SYS_read, pipefd[0], (long)addr, o->n, 0, 0, 0);
            while (raw(SYS_read, pipefd[0], (long)child_data, sizeof(child_data), 0, 0, 0) > 0)
                ;
            break;
        case OP_READ:
            /* copy_from_user: write(2) of guest memory into a pipe. */
            rec.ret = raw(SYS_write, pipefd[1], (long)addr, o->n, 0, 0, 0);
            if (rec.ret > 0)
                rec.data_len = (uint32_t)raw(SYS_read, pipefd[0], (long)child_data,
                                             sizeof(child_data), 0, 0, 0);
            break;
        case OP_MADVISE:
            rec.ret = raw(SYS_madvise, (long)addr, (long)o->len, o->prot, 0, 0, 0);
            break;
        case OP_MLOCK:
            rec.ret = o->flags == LOCK_MUNLOCK ? raw(SYS_munlock, (long)addr, (long)o->len, 0, 0, 0, 0)
                      : o->flags == LOCK_MLOCK ? raw(SYS_mlock, (long)addr, (long)o->len, 0, 0, 0, 0)
                                               : raw(SYS_mlock2, (long)addr, (long)o->len, o->prot, 0, 0, 0);
            break;
        case OP_MLOCKALL:
            rec.ret = o->prot ? raw(SYS_mlockall, o->prot, 0, 0, 0, 0, 0)
                              : raw(SYS_munlockall, 0, 0, 0, 0, 0, 0);
            break;
        case OP_MINCORE:
            /* The vector is a static buffer; its bytes go back as data. */
            memset(child_vec, 0xEE, o->n);
            rec.ret = raw(SYS_mincore, (long)addr, (long)o->len,
                          o->flags ? (long)o->pgoff : (long)child_vec, 0, 0, 0);
            memcpy(child_data, child_vec, o->n);
            rec.data_len = o->n;
            break;
        case OP_MSYNC:
            rec.ret = raw(SYS_msync, (long)addr, (long)o->len, o->prot, 0, 0, 0);
            break;
        }
        child_results[i] = rec.ret;
        read_maps(maps);
        /* GMM_NATIVE_FULL_MAPS=1: send all lines, for a mismatch report. */
        if (getenv("GMM_NATIVE_FULL_MAPS"))
            rec.maps_len = (uint32_t)strlen(strcpy(child_filtered, child_text));
        else
            rec.maps_len = (uint32_t)filter_windows(child_text, child_filtered, a1);
        if (write_all(out, &rec, sizeof(rec)) ||
            write_all(out, child_filtered, rec.maps_len) ||
            write_all(out, child_data, rec.data_len))
            return 2;
    }
    return 0;
}

/* --------------------------------------------------------------- parent */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }
static bool chance(unsigned percent) { return below(100) < percent; }

static uint64_t rand_len(void)
{
    if (chance(3))
        return 0;
    if (chance(2))
        return chance(50) ? (uint64_t)-4095 : 1ull << 47;
    if (chance(4))
        return (1 + below(2)) * (2ull << 20); /* THP-sized */
    uint64_t len = (1 + below(16)) * PG;
    if (chance(15))
        len -= 1 + below(PG - 1); /* unaligned */
    return len;
}

static int rand_prot(void)
{
    int p = (int)below(8);
    if (chance(3))
        p |= GMM_PROT_SEM;
    if (chance(2))
        p |= 0x40; /* an unknown bit */
    return p;
}

static void rand_target(struct op *o, int nmmaps, const int *mmap_idx, const uint64_t *mmap_len)
{
    unsigned pick = (unsigned)below(100);
    if (pick < 35) {
        o->base = BASE_W1;
        o->off = below(W1_SIZE / PG) * PG;
    } else if (pick < 85 || nmmaps == 0) {
        o->base = BASE_W2;
        o->off = below(W2_SIZE / PG) * PG;
    } else {
        /* An earlier mmap's result, which may lie outside the windows:
         * stay inside its original length. */
        int k = (int)below((uint64_t)nmmaps);
        o->base = BASE_RESULT;
        o->ref = mmap_idx[k];
        o->off = 0;
        if (o->len > mmap_len[k] || o->len == 0)
            o->len = mmap_len[k];
    }
    if (chance(3))
        o->off += 1 + below(PG - 1); /* unaligned */
}

/* One of madvise, mlock/mlock2/munlock, mlockall/munlockall, mincore,
 * msync on a target as the other calls pick theirs.  Left out: advice
 * whose effect depends on this machine's memory state or configuration
 * rather than on the calls (HUGEPAGE and COLLAPSE: transparent huge
 * pages; HWPOISON, SOFT_OFFLINE: this kernel lacks memory-failure
 * injection; REMOVE: it would punch a hole in the real file). */
/* A huge length that fails before anything is populated (it wraps or
 * runs past the task) keeps its value; any other is cut to the windows. */
#define FAILS_BEFORE_POPULATING(len) ((len) >= (1ull << 47))

static void gen_mm_op(struct op *o, int nmmaps, const int *mmap_idx, const uint64_t *mmap_len)
{
    o->len = rand_len();
    if (o->len > W2_SIZE && !chance(30))
        o->len = (1 + below(8)) * PG;
    rand_target(o, nmmaps, mmap_idx, mmap_len);
    unsigned pick = (unsigned)below(100);
    if (pick < 45) {
        static const int advice[] = {
            GMM_MADV_NORMAL,        GMM_MADV_RANDOM,       GMM_MADV_SEQUENTIAL,  GMM_MADV_WILLNEED,
            GMM_MADV_DONTNEED,      GMM_MADV_DONTNEED,     GMM_MADV_FREE,        GMM_MADV_DONTFORK,
            GMM_MADV_DOFORK,        GMM_MADV_MERGEABLE,    GMM_MADV_UNMERGEABLE, GMM_MADV_NOHUGEPAGE,
            GMM_MADV_DONTDUMP,      GMM_MADV_DODUMP,       GMM_MADV_WIPEONFORK,  GMM_MADV_KEEPONFORK,
            GMM_MADV_COLD,          GMM_MADV_PAGEOUT,      GMM_MADV_POPULATE_READ,
            GMM_MADV_POPULATE_WRITE, GMM_MADV_DONTNEED_LOCKED, GMM_MADV_GUARD_INSTALL,
            GMM_MADV_GUARD_INSTALL, GMM_MADV_GUARD_REMOVE, 5, 1212};
        o->kind = OP_MADVISE;
        o->prot = advice[below(sizeof(advice) / sizeof(advice[0]))];
        /* madvise has no upper bound but the mappings: a huge range would
         * zap the child's own memory beyond the windows. */
        /* Populating a huge range would commit the child's own reserved
         * memory too (AddressSanitizer's terabytes of shadow: the OOM
         * killer ends the child). */
        bool destroys = o->prot == GMM_MADV_DONTNEED || o->prot == GMM_MADV_DONTNEED_LOCKED ||
                        o->prot == GMM_MADV_FREE || o->prot == GMM_MADV_PAGEOUT ||
                        o->prot == GMM_MADV_GUARD_INSTALL || o->prot == GMM_MADV_POPULATE_READ ||
                        o->prot == GMM_MADV_POPULATE_WRITE || o->prot == GMM_MADV_WILLNEED;
        if (destroys && o->len > W2_SIZE)
            o->len = (1 + below(8)) * PG;
        /* The library's mirror of the child's own mappings has no special
         * ones ([vvar], [vdso]: VM_PFNMAP/VM_IO, which refuse some advice
         * with EINVAL): a range stays short of them. */
        if (o->len > (1ull << 40) && o->len < (1ull << 63))
            o->len = 1ull << 40;
    } else if (pick < 62) {
        o->kind = OP_MLOCK;
        o->flags = (int)below(5);
        /* Locking populates: the same limit as for MADV_POPULATE_*. */
        if (o->len > W2_SIZE && !FAILS_BEFORE_POPULATING(o->len))
            o->len = (1 + below(8)) * PG;
        o->prot = o->flags == LOCK_MLOCK2_ONFAULT    ? GMM_MLOCK_ONFAULT
                  : o->flags == LOCK_MLOCK2_BADFLAGS ? 2 + (int)below(4)
                                                     : 0;
    } else if (pick < 65) {
        o->kind = OP_MLOCKALL;
        static const int flags[] = {0, 0, GMM_MCL_CURRENT, GMM_MCL_FUTURE,
                                    GMM_MCL_CURRENT | GMM_MCL_FUTURE, GMM_MCL_FUTURE | GMM_MCL_ONFAULT,
                                    GMM_MCL_CURRENT | GMM_MCL_ONFAULT, GMM_MCL_ONFAULT, 8};
        o->prot = flags[below(sizeof(flags) / sizeof(flags[0]))];
        /* Under AddressSanitizer MCL_CURRENT would lock and populate the
         * child's terabytes of shadow memory: munlockall instead. */
        if (UNDER_ASAN && (o->prot & GMM_MCL_CURRENT))
            o->prot = 0;
    } else if (pick < 85) {
        o->kind = OP_MINCORE;
        /* The vector holds VEC_MAX entries; huge lengths fail before it is
         * written. */
        uint64_t pages = (o->len + PG - 1) / PG;
        if (o->len < (1ull << 40) && pages > VEC_MAX)
            o->len = VEC_MAX * PG, pages = VEC_MAX;
        o->n = pages > VEC_MAX ? VEC_MAX : (uint32_t)pages;
        if (chance(5)) {
            o->flags = 1; /* a vector the kernel cannot write */
            o->pgoff = chance(50) ? 0x10 : (uint64_t)-PG;
        }
    } else {
        o->kind = OP_MSYNC;
        static const int flags[] = {0, GMM_MS_ASYNC, GMM_MS_SYNC, GMM_MS_SYNC, GMM_MS_INVALIDATE,
                                    GMM_MS_ASYNC | GMM_MS_INVALIDATE, GMM_MS_SYNC | GMM_MS_INVALIDATE,
                                    GMM_MS_SYNC | GMM_MS_ASYNC, 8};
        o->prot = flags[below(sizeof(flags) / sizeof(flags[0]))];
    }
}

static int gen_ops(struct op *ops, int n, uint64_t seed)
{
    static int mmap_idx[MAX_OPS];
    static uint64_t mmap_len[MAX_OPS];
    int nmmaps = 0;
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < n; i++) {
        struct op *o = &ops[i];
        memset(o, 0, sizeof(*o));
        if (chance(20)) {
            gen_mm_op(o, nmmaps, mmap_idx, mmap_len);
            continue;
        }
        unsigned pick = (unsigned)below(100);
        if (pick < 34) {
            o->kind = OP_MMAP;
            o->len = rand_len();
            o->prot = rand_prot();
            static const int types[] = {GMM_MAP_PRIVATE, GMM_MAP_PRIVATE, GMM_MAP_PRIVATE,
                                        GMM_MAP_PRIVATE, GMM_MAP_PRIVATE, GMM_MAP_SHARED,
                                        GMM_MAP_SHARED,  GMM_MAP_DROPPABLE, 0,
                                        GMM_MAP_SHARED_VALIDATE};
            o->flags = types[below(10)] | GMM_MAP_ANONYMOUS;
            static const int extra[] = {GMM_MAP_NORESERVE, GMM_MAP_POPULATE, GMM_MAP_STACK,
                                        GMM_MAP_GROWSDOWN, GMM_MAP_NONBLOCK, GMM_MAP_DENYWRITE,
                                        GMM_MAP_LOCKED,    GMM_MAP_32BIT};
            for (int k = 0; k < 8; k++)
                if (chance(6))
                    o->flags |= extra[k];
            o->fd = -1;
            if (chance(30)) {
                /* A file mapping. */
                o->flags &= ~GMM_MAP_ANONYMOUS;
                unsigned f = (unsigned)below(100);
                o->fd = f < 70 ? FD_RW : f < 95 ? FD_RO : FD_BAD;
                if ((o->flags & GMM_MAP_TYPE) == GMM_MAP_DROPPABLE)
                    o->flags = (o->flags & ~GMM_MAP_TYPE) | GMM_MAP_PRIVATE;
                o->pgoff = chance(3) ? 1 + below(PG - 1) : below(FILE_PAGES + 3) * PG;
            }
            if (chance(2) && o->fd < 0)
                o->pgoff = chance(50) ? 1 : PG * (1 + below(4));
            unsigned where = (unsigned)below(100);
            if (where < 15) {
                o->base = BASE_ABS; /* no hint */
                /* Writable private memory natively counts against
                 * overcommit; keep huge lengths inaccessible. */
                if (o->len > W2_SIZE * 4)
                    o->prot = 0, o->flags |= GMM_MAP_NORESERVE;
            } else {
                if (o->len > W2_SIZE * 4)
                    o->len = (1 + below(16)) * PG;
                rand_target(o, nmmaps, mmap_idx, mmap_len);
                if (where < 40)
                    ; /* a hint */
                else if (where < 85 && o->base != BASE_ABS)
                    o->flags |= GMM_MAP_FIXED;
                else
                    o->flags |= GMM_MAP_FIXED_NOREPLACE;
            }
            if (o->len && o->len < (1ull << 40)) {
                mmap_idx[nmmaps] = i;
                mmap_len[nmmaps++] = o->len;
            }
        } else if (pick < 56) {
            o->kind = OP_MUNMAP;
            o->len = rand_len();
            if (o->len > W2_SIZE && !chance(30))
                o->len = PG;
            rand_target(o, nmmaps, mmap_idx, mmap_len);
        } else if (pick < 76) {
            o->kind = OP_MPROTECT;
            o->len = rand_len();
            if (o->len > W2_SIZE && !chance(30))
                o->len = PG;
            o->prot = rand_prot();
            if (chance(4))
                o->prot |= GMM_PROT_GROWSDOWN;
            if (chance(1))
                o->prot |= GMM_PROT_GROWSUP;
            rand_target(o, nmmaps, mmap_idx, mmap_len);
        } else if (pick < 84) {
            o->kind = OP_BRK;
            o->base = BASE_BRK;
            unsigned b = (unsigned)below(100);
            if (b < 5)
                o->base = BASE_ABS, o->off = 0;
            else if (b < 10)
                o->off = (uint64_t)-(int64_t)(1 + below(3 * PG));
            else
                o->off = below(W1_SIZE + 64 * PG);
        } else if (pick < 92 && pick >= 86) {
            o->kind = OP_MREMAP;
            o->len = chance(5) ? 0 : rand_len();
            if (o->len > W2_SIZE && !chance(20))
                o->len = (1 + below(8)) * PG;
            rand_target(o, nmmaps, mmap_idx, mmap_len);
            unsigned f = (unsigned)below(100);
            o->flags = f < 20   ? 0
                       : f < 50 ? GMM_MREMAP_MAYMOVE
                       : f < 75 ? GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED
                       : f < 85 ? GMM_MREMAP_MAYMOVE | GMM_MREMAP_DONTUNMAP
                       : f < 93 ? GMM_MREMAP_MAYMOVE | GMM_MREMAP_DONTUNMAP | GMM_MREMAP_FIXED
                       : f < 97 ? GMM_MREMAP_FIXED
                                : (int)below(16);
            o->new_len = chance(40) ? o->len : (1 + below(12)) * PG - (chance(10) ? 1 : 0);
            if (o->new_len > W2_SIZE || chance(2))
                o->new_len = chance(50) ? 0 : o->new_len;
            if (o->flags & (GMM_MREMAP_FIXED | GMM_MREMAP_DONTUNMAP)) {
                /* A destination inside a window (FIXED replaces what is
                 * there natively too). */
                o->new_base = chance(40) ? BASE_W1 : BASE_W2;
                o->new_off = below((o->new_base == BASE_W1 ? W1_SIZE : W2_SIZE) / PG) * PG;
                if (chance(3))
                    o->new_off += 1 + below(PG - 1);
                if (!(o->flags & GMM_MREMAP_FIXED) && chance(30))
                    o->new_base = BASE_ABS, o->new_off = 0;
            }
            if (o->new_len && o->new_len < (1ull << 40)) {
                mmap_idx[nmmaps] = i;
                mmap_len[nmmaps++] = o->new_len;
            }
        } else if (pick < 86) {
            /* The file changes behind the mappings. */
            o->kind = chance(50) ? OP_FTRUNCATE : OP_PWRITE;
            o->len = chance(20) ? below(FILE_PAGES + 4) * PG : below((FILE_PAGES + 4) * PG);
            o->off = below((FILE_PAGES + 2) * PG);
            o->n = 1 + (uint32_t)below(64);
            o->val = (uint8_t)(1 + below(255));
        } else {
            o->kind = chance(55) ? OP_WRITE : OP_READ;
            o->n = 1 + (uint32_t)below(64);
            o->val = (uint8_t)(1 + below(255));
            o->len = o->n;
            rand_target(o, nmmaps, mmap_idx, mmap_len);
            /* Stay inside one page: the native copy is then all or nothing. */
            uint64_t in_page = o->off & (PG - 1);
            if (in_page + o->n > PG)
                o->off -= in_page + o->n - PG;
        }
    }
    return n;
}

static const char *op_name(int kind)
{
    static const char *mm_names[] = {"madvise", "mlock", "mlockall", "mincore", "msync"};
    if (kind >= OP_MADVISE)
        return mm_names[kind - OP_MADVISE];
    static const char *names[] = {"mmap",  "munmap", "mprotect",  "brk",   "write",
                                  "read",  "ftruncate", "pwrite", "mremap"};
    return names[kind];
}

/* Shared anonymous inode numbers differ between two kernels: replace the
 * inode and its padding by "# " on such lines. */
static void normalize(char *text)
{
    char *w = text;
    const char *line = text;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);
        const char *name = strstr(line, "/dev/zero (deleted)");
        if (name && name < line + len) {
            const char *p = line;
            for (int field = 0; field < 4; field++)
                p = strchr(p, ' ') + 1;
            size_t head = (size_t)(p - line);
            memmove(w, line, head);
            memcpy(w + head, "# ", 2);
            size_t tail = len - (size_t)(name - line);
            memmove(w + head + 2, name, tail);
            w += head + 2 + tail;
        } else {
            memmove(w, line, len);
            w += len;
        }
        line += len;
    }
    *w = 0;
}

static void mirror_layout(gmm_space *s, const char *text, uint64_t a1)
{
    const char *line = text;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) + 1 : strlen(line);
        unsigned long long st = strtoull(line, NULL, 16);
        unsigned long long en = strtoull(strchr(line, '-') + 1, NULL, 16);
        const char *perms = strchr(line, ' ') + 1;
        bool in_windows = (st < a1 + W1_SIZE && en > a1) ||
                          (st < W2_BASE + W2_SIZE && en > W2_BASE);
        bool is_heap = strstr(line, "[heap]") && strstr(line, "[heap]") < line + len;
        bool is_stack = strstr(line, "[stack]") && strstr(line, "[stack]") < line + len;
        if (!in_windows && !is_heap && en <= 0x7FFFFFFFF000ull) {
            int prot = (perms[0] == 'r' ? GMM_PROT_READ : 0) |
                       (perms[1] == 'w' ? GMM_PROT_WRITE : 0) |
                       (perms[2] == 'x' ? GMM_PROT_EXEC : 0);
            /* Private anonymous memory (the program's bss beyond its file,
             * right below the heap) is mirrored as such, already written,
             * so that a mapping next to it merges as it does natively.
             * Other placeholders never merge with what the test maps
             * (shared objects are all distinct); the stack keeps its guard
             * gap. */
            bool anon = perms[3] == 'p' && strncmp(perms + 5, "00000000 00:00 0 ", 17) == 0 &&
                        perms[22] == '\n';
            int flags = is_stack ? ANON_PRIV | GMM_MAP_GROWSDOWN : anon ? ANON_PRIV : ANON_SHARED;
            int64_t r = gmm_sys_mmap(s, st, en - st, prot, flags | GMM_MAP_FIXED, -1, 0);
            assert_int_equal(r, (int64_t)st);
            if (anon && (prot & GMM_PROT_WRITE))
                assert_int_equal(gmm_write(s, st, "", 1), 0);
        }
        line += len;
    }
}

static int reap(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static char *self_exe;

/* Linux makes PROT_EXEC-only memory execute-only where the CPU has
 * protection keys and the kernel enabled them. */
static bool host_has_pkeys(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f))
        if (strncmp(line, "flags", 5) == 0)
            found = strstr(line, " ospke") != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Runs ops natively in a child and returns the child's output stream. */
static char *run_native(const struct op *ops, uint32_t nops, const char *path, size_t *out_len)
{
    int to_child[2], from_child[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(from_child), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(to_child[1]);
        close(from_child[0]);
        /* Linux's no-ASLR layout as libguestmm models it: mmap_base is
         * 128 MiB below the task size with an 8 MiB stack limit. */
        struct rlimit stack = {8 << 20, 8 << 20};
        setrlimit(RLIMIT_STACK, &stack);
        personality(ADDR_NO_RANDOMIZE);
        char in[16], out[16];
        snprintf(in, sizeof(in), "%d", to_child[0]);
        snprintf(out, sizeof(out), "%d", from_child[1]);
        execl(self_exe, self_exe, "--native-child", in, out, path, (char *)NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    assert_int_equal(write_all(to_child[1], &nops, sizeof(nops)), 0);
    assert_int_equal(write_all(to_child[1], ops, nops * sizeof(struct op)), 0);
    close(to_child[1]);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = read(from_child[0], buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(from_child[0]);
    int status = reap(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("native child failed: status 0x%x", status);
    *out_len = len;
    return buf;
}

/* Is addr in a region of a file, by the library's maps text?  The page
 * cache of the kernel holds what its own reads and writes of the file
 * brought in, which the library's does not: mincore compares anonymous
 * memory only. */
static bool in_file_region(const char *maps, uint64_t addr)
{
    for (const char *line = maps; *line;) {
        unsigned long long st, en, off, ino;
        char perms[8];
        unsigned maj, mnr;
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &st, &en, perms, &off, &maj, &mnr, &ino) == 7 &&
            addr >= st && addr < en) {
            const char *eol = strchr(line, '\n');
            const char *shm = strstr(line, "/dev/zero (deleted)");
            return ino != 0 && !(shm && (!eol || shm < eol));
        }
        const char *eol = strchr(line, '\n');
        if (!eol)
            break;
        line = eol + 1;
    }
    return false;
}

/* mincore on the library: the vector at LIB_VEC (or the bad address the
 * op names), read back into out; entries of file pages take the kernel's
 * value. */
static int64_t mincore_op(gmm_space *s, const struct op *o, uint64_t addr, const uint8_t *native,
                          uint8_t *out)
{
    static char maps[1 << 16];
    memset(out, 0xEE, o->n);
    assert_int_equal(gmm_write(s, LIB_VEC, out, o->n), 0);
    int64_t ret = gmm_sys_mincore(s, addr, o->len, o->flags ? o->pgoff : LIB_VEC);
    assert_int_equal(gmm_read(s, LIB_VEC, out, o->n), 0);
    gmm_space_maps(s, maps, sizeof(maps));
    for (uint32_t i = 0; i < o->n; i++)
        if (in_file_region(maps, (addr & ~(PG - 1)) + (uint64_t)i * PG))
            out[i] = native[i];
    if (memcmp(out, native, o->n) != 0) {
        fprintf(stderr, "mincore vectors (libguestmm, Linux):\n");
        for (uint32_t i = 0; i < o->n; i++)
            fprintf(stderr, "%02x%c", out[i], i + 1 == o->n ? '\n' : ' ');
        for (uint32_t i = 0; i < o->n; i++)
            fprintf(stderr, "%02x%c", native[i], i + 1 == o->n ? '\n' : ' ');
        fprintf(stderr, "maps:\n%s", maps);
    }
    return ret;
}

static void describe(char *buf, size_t cap, const struct op *o, uint64_t addr)
{
    snprintf(buf, cap,
             "%s addr=0x%llx len=0x%llx prot=0x%x flags=0x%x pgoff=0x%llx n=%u new_len=0x%llx "
             "new=%d+0x%llx",
             op_name(o->kind), (unsigned long long)addr, (unsigned long long)o->len, o->prot,
             o->flags, (unsigned long long)o->pgoff, o->n, (unsigned long long)o->new_len,
             o->new_base, (unsigned long long)o->new_off);
}

static long total_ops;
static long file_maps_ok, file_bytes_read, truncations; /* what the runs covered */
/* madvise, mlock family, mincore, msync: calls made, and how many succeeded. */
static long mm_calls[5], mm_calls_ok[5];

/* ---- the files of the file mappings ---- */

struct files {
    char native_path[64], lib_path[64];
    int fd_rw, fd_ro; /* the library's copy */
    uint64_t dev, ino; /* the native file's identity */
};

static void fill_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static uint8_t buf[FILE_SIZE];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)('a' + i / PG + i % 7);
    assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    close(fd);
}

static void files_open(struct files *f)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->native_path, sizeof(f->native_path), "%s/gmm-native-%d", dir, (int)getpid());
    snprintf(f->lib_path, sizeof(f->lib_path), "%s/gmm-lib-%d", dir, (int)getpid());
    fill_file(f->native_path);
    fill_file(f->lib_path);
    struct stat st;
    assert_int_equal(stat(f->native_path, &st), 0);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->fd_rw = open(f->lib_path, O_RDWR);
    f->fd_ro = open(f->lib_path, O_RDONLY);
    assert_true(f->fd_rw >= 0 && f->fd_ro >= 0);
}

static int64_t file_pread(void *h, uint64_t off, void *buf, size_t len)
{
    ssize_t n = pread(*(int *)h, buf, len, (off_t)off);
    return n < 0 ? -errno : n;
}

static int64_t file_pwrite(void *h, uint64_t off, const void *buf, size_t len)
{
    ssize_t n = pwrite(*(int *)h, buf, len, (off_t)off);
    return n < 0 ? -errno : n;
}

static int64_t file_size(void *h)
{
    struct stat st;
    return fstat(*(int *)h, &st) ? -errno : (int64_t)st.st_size;
}

static const gmm_file_ops file_ops = {file_pread, file_pwrite, file_size, NULL};

static int files_get(void *user, int fd, gmm_file *out)
{
    struct files *f = user;
    if (fd != FD_RW && fd != FD_RO)
        return -GMM_EBADF;
    out->ops = &file_ops;
    out->handle = fd == FD_RW ? &f->fd_rw : &f->fd_ro;
    out->dev = f->dev;
    out->ino = f->ino;
    out->readable = 1;
    out->writable = fd == FD_RW;
    out->path = f->native_path;
    return 0;
}

static void files_compare_and_close(struct files *f, uint64_t seed)
{
    static uint8_t a[64 * PG], b[64 * PG];
    int fa = open(f->native_path, O_RDONLY);
    ssize_t na = read(fa, a, sizeof(a));
    ssize_t nb = pread(f->fd_rw, b, sizeof(b), 0);
    close(fa);
    if (na != nb || memcmp(a, b, (size_t)na) != 0) {
        ssize_t i = 0;
        while (i < na && i < nb && a[i] == b[i])
            i++;
        fail_msg("seed %llu: file contents differ (Linux %zd bytes, libguestmm %zd), first at %zd",
                 (unsigned long long)seed, na, nb, i);
    }
    close(f->fd_rw);
    close(f->fd_ro);
    unlink(f->native_path);
    unlink(f->lib_path);
}

/* cmocka truncates long messages: print the whole story first. */
#define FAIL_LONG(...)                                                                 \
    do {                                                                               \
        fprintf(stderr, __VA_ARGS__);                                                  \
        fail_msg("mismatch with the native kernel (details above)");                   \
    } while (0)


/* ---- the library's host windows ---- */

#define W3_LO 0x7FF000000000ull
#define W3_HI 0x7FFFFFFFF000ull
#define NWINDOWS 3

struct windows {
    gmm_window *w[NWINDOWS];
    gmm_addr lo[NWINDOWS], hi[NWINDOWS];
};

/* The ready-made handler's sigaction (main installs it; cmocka replaces
 * SIGSEGV/SIGBUS handlers around every test, so the test puts it back). */
static struct sigaction window_segv, window_bus;
static sigjmp_buf window_jmp;
static volatile sig_atomic_t window_armed;
static gmm_fault window_fault;
static long window_bytes_loaded, window_bytes_stored;

static void window_guest_fault(void *user, gmm_space *space, const gmm_fault *f)
{
    (void)user, (void)space;
    window_fault = *f;
    if (window_armed) {
        window_armed = 0;
        siglongjmp(window_jmp, 1);
    }
}

static void windows_open(struct windows *ws, gmm_space *s, uint64_t a1)
{
    const gmm_addr lo[NWINDOWS] = {a1, W2_BASE, W3_LO};
    const gmm_addr hi[NWINDOWS] = {a1 + W1_SIZE, W2_BASE + W2_SIZE, W3_HI};
    for (int i = 0; i < NWINDOWS; i++) {
        ws->w[i] = gmm_window_create(s, lo[i], hi[i]);
        assert_non_null(ws->w[i]);
        gmm_window_set_fault_around(ws->w[i], 1);
        ws->lo[i] = lo[i];
        ws->hi[i] = hi[i];
    }
}

static void windows_close(struct windows *ws)
{
    for (int i = 0; i < NWINDOWS; i++)
        gmm_window_destroy(ws->w[i]);
}

/* The window holding all of [a, a + n), or NULL. */
static gmm_window *window_over(const struct windows *ws, gmm_addr a, uint64_t n)
{
    for (int i = 0; i < NWINDOWS; i++)
        if (a >= ws->lo[i] && a + n <= ws->hi[i])
            return ws->w[i];
    return NULL;
}

/* Loads (write 0) or stores (write 1) bytes[0..n) at guest a through w.
 * -1 when all completed, else the index of the byte that faulted. */
static int window_copy(gmm_window *w, gmm_addr a, uint8_t *bytes, uint32_t n, int write)
{
    /* In integers: W3's base (guest address 0) lies below the host's
     * address space, and a pointer there plus a would overflow. */
    volatile uint8_t *p = (volatile uint8_t *)((uintptr_t)gmm_window_base(w) + a);
    volatile uint32_t i = 0;
    if (sigsetjmp(window_jmp, 1))
        return (int)i;
    window_armed = 1;
    for (; i < n; i++) {
        if (write)
            p[i] = bytes[i];
        else
            bytes[i] = p[i];
    }
    window_armed = 0;
    return -1;
}

static void compare_run(uint64_t seed, uint32_t nops)
{
    static struct op ops[MAX_OPS];
    gen_ops(ops, (int)nops, seed);
    size_t len;
    struct files files;
    files_open(&files);
    char *stream = run_native(ops, nops, files.native_path, &len);
    size_t pos = 0;
    struct header h;
    assert_true(len >= sizeof(h));
    memcpy(&h, stream, sizeof(h));
    pos += sizeof(h);
    char *snapshot = calloc(1, h.maps_len + 1);
    memcpy(snapshot, stream + pos, h.maps_len);
    pos += h.maps_len;
    uint64_t a1 = (h.start_brk + PG - 1) & ~(PG - 1);

    gmm_host host = {.user = &files, .get_file = files_get, .fault = window_guest_fault};
    gmm_system *sys = gmm_system_create_mappable(&host);
    assert_non_null(sys);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    gmm_space_set_execute_only(s, host_has_pkeys());
    /* The child runs as root: CAP_IPC_LOCK lifts RLIMIT_MEMLOCK natively. */
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_MEMLOCK, GMM_RLIM_INFINITY, GMM_RLIM_INFINITY), 0);
    mirror_layout(s, snapshot, a1);
    /* mincore's vector, in guest memory no operation reaches. */
    assert_int_equal(gmm_sys_mmap(s, LIB_VEC, VEC_MAX, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                     (int64_t)LIB_VEC);
    assert_int_equal(gmm_space_init_brk(s, h.start_brk), 0);
    assert_int_equal(gmm_sys_brk(s, h.brk), (int64_t)h.brk);
    CHECK(s);
    struct windows ws;
    windows_open(&ws, s, a1);
    assert_int_equal(sigaction(SIGSEGV, &window_segv, NULL), 0);
    assert_int_equal(sigaction(SIGBUS, &window_bus, NULL), 0);

    static int64_t results[MAX_OPS];
    static char lib_maps[1 << 16], lib_filtered[1 << 16], native_maps[1 << 20];
    static char before[1 << 16];
    static uint8_t lib_data[PG];
    for (uint32_t i = 0; i < nops; i++) {
        const struct op *o = &ops[i];
        struct record rec;
        assert_true(pos + sizeof(rec) <= len);
        memcpy(&rec, stream + pos, sizeof(rec));
        pos += sizeof(rec);
        assert_true(rec.maps_len < sizeof(native_maps));
        memcpy(native_maps, stream + pos, rec.maps_len);
        native_maps[rec.maps_len] = 0;
        pos += rec.maps_len;
        static char native_full[MAX_TEXT];
        if (getenv("GMM_NATIVE_FULL_MAPS")) {
            strcpy(native_full, native_maps);
            filter_windows(native_full, native_maps, a1);
        }
        const uint8_t *native_data = (const uint8_t *)stream + pos;
        pos += rec.data_len;

        uint64_t addr = op_addr(o, a1, h.start_brk, results);
        int64_t ret = 0;
        uint32_t data_len = 0;
        switch (o->kind) {
        case OP_MMAP:
            ret = gmm_sys_mmap(s, addr, o->len, o->prot, o->flags, o->fd, o->pgoff);
            break;
        case OP_MUNMAP:
            ret = gmm_sys_munmap(s, addr, o->len);
            break;
        case OP_MPROTECT:
            ret = gmm_sys_mprotect(s, addr, o->len, o->prot);
            break;
        case OP_BRK:
            ret = gmm_sys_brk(s, addr);
            break;
        case OP_WRITE: {
            uint8_t bytes[64];
            memset(bytes, o->val, o->n);
            ret = gmm_write(s, addr, bytes, o->n);
            if (ret == 0)
                ret = o->n;
            gmm_window *w = ret > 0 ? window_over(&ws, addr, o->n) : NULL;
            if (w) {
                int at = window_copy(w, addr, bytes, o->n, 1);
                if (at >= 0)
                    fail_msg("seed %llu op %u: gmm_write of %u bytes at %#llx succeeded, a store "
                             "through the window at %#llx got signal %d code %d",
                             (unsigned long long)seed, i, o->n, (unsigned long long)addr,
                             (unsigned long long)addr + (unsigned)at, window_fault.signo,
                             window_fault.code);
                window_bytes_stored += o->n;
            }
            break;
        }
        case OP_MREMAP:
            ret = gmm_sys_mremap(s, addr, o->len, o->new_len, o->flags, op_new_addr(o, a1));
            break;
        case OP_FTRUNCATE:
            ret = ftruncate(files.fd_rw, (off_t)o->len) ? -errno : 0;
            if (ret == 0)
                gmm_file_resized(sys, files.dev, files.ino, o->len);
            break;
        case OP_PWRITE: {
            uint8_t bytes[64];
            memset(bytes, o->val, o->n);
            ret = pwrite(files.fd_rw, bytes, o->n, (off_t)o->off);
            if (ret < 0)
                ret = -errno;
            else
                gmm_file_written(sys, files.dev, files.ino, o->off, bytes, (size_t)ret);
            break;
        }
        case OP_READ:
            ret = gmm_read(s, addr, lib_data, o->n);
            if (ret == 0) {
                ret = o->n;
                data_len = o->n;
                gmm_window *w = window_over(&ws, addr, o->n);
                uint8_t loaded[PG];
                int at = w ? window_copy(w, addr, loaded, o->n, 0) : -1;
                if (at >= 0)
                    fail_msg("seed %llu op %u: gmm_read of %u bytes at %#llx succeeded, a load "
                             "through the window at %#llx got signal %d code %d",
                             (unsigned long long)seed, i, o->n, (unsigned long long)addr,
                             (unsigned long long)addr + (unsigned)at, window_fault.signo,
                             window_fault.code);
                if (w && memcmp(loaded, lib_data, o->n) != 0)
                    fail_msg("seed %llu op %u: bytes loaded through the window at %#llx differ "
                             "from gmm_read's",
                             (unsigned long long)seed, i, (unsigned long long)addr);
                if (w)
                    window_bytes_loaded += o->n;
            }
            break;
        case OP_MADVISE:
            ret = gmm_sys_madvise(s, addr, o->len, o->prot);
            break;
        case OP_MLOCK:
            ret = o->flags == LOCK_MUNLOCK ? gmm_sys_munlock(s, addr, o->len)
                  : o->flags == LOCK_MLOCK ? gmm_sys_mlock(s, addr, o->len)
                                           : gmm_sys_mlock2(s, addr, o->len, o->prot);
            break;
        case OP_MLOCKALL:
            ret = o->prot ? gmm_sys_mlockall(s, o->prot) : gmm_sys_munlockall(s);
            break;
        case OP_MINCORE:
            ret = mincore_op(s, o, addr, native_data, lib_data);
            data_len = o->n;
            break;
        case OP_MSYNC:
            ret = gmm_sys_msync(s, addr, o->len, o->prot);
            break;
        }
        results[i] = ret;
        /* GMM_NATIVE_TRACE=ADDR[-END]: the operations that touched it. */
        if (getenv("GMM_NATIVE_TRACE")) {
            char *dash;
            uint64_t t = strtoull(getenv("GMM_NATIVE_TRACE"), &dash, 16);
            uint64_t t_end = *dash == '-' ? strtoull(dash + 1, NULL, 16) : t + 1;
            uint64_t span = o->kind == OP_MMAP && ret > 0 ? o->len : o->len + o->n;
            gmm_addr at = o->kind == OP_MMAP && ret > 0 ? (gmm_addr)ret : addr;
            if (t_end > at && t < at + span) {
                char d[256];
                describe(d, sizeof(d), o, at);
                fprintf(stderr, "trace op %u: %s fd=%d -> %lld\n", i, d, o->fd, (long long)ret);
            }
        }
        if (o->kind >= OP_MADVISE) {
            mm_calls[o->kind - OP_MADVISE]++;
            mm_calls_ok[o->kind - OP_MADVISE] += ret == 0;
        }
        if (o->kind == OP_MMAP && o->fd >= 0 && ret > 0)
            file_maps_ok++;
        if (o->kind == OP_READ && ret > 0)
            file_bytes_read += ret;
        if (o->kind == OP_FTRUNCATE && ret == 0)
            truncations++;
        memcpy(before, lib_filtered, sizeof(before));
        const char *err = gmm_space_check(s);
        gmm_space_maps(s, lib_maps, sizeof(lib_maps));
        filter_windows(lib_maps, lib_filtered, a1);
        normalize(lib_filtered);
        normalize(native_maps);
        char what[256];
        describe(what, sizeof(what), o, addr);
        if (err)
            fail_msg("seed %llu op %u (%s): invariant broken: %s", (unsigned long long)seed, i,
                     what, err);
        if (ret != rec.ret && getenv("GMM_NATIVE_FULL_MAPS")) {
            gmm_space_maps(s, lib_maps, sizeof(lib_maps));
            fprintf(stderr, "libguestmm, all:\n%sLinux, all:\n%s", lib_maps, native_full);
        }
        if (ret != rec.ret)
            FAIL_LONG("seed %llu op %u (%s): libguestmm returned %lld (%s), Linux %lld (%s)\n"
                     "libguestmm maps:\n%sLinux maps:\n%s",
                     (unsigned long long)seed, i, what, (long long)ret,
                     ret < 0 && ret > -4096 ? gmm_errname((int)ret) : "value", (long long)rec.ret,
                     rec.ret < 0 && rec.ret > -4096 ? gmm_errname((int)rec.ret) : "value",
                     lib_filtered, native_maps);
        if (strcmp(lib_filtered, native_maps) != 0)
            FAIL_LONG("seed %llu op %u (%s) -> %lld: maps differ\nbefore:\n%slibguestmm:\n%s"
                      "Linux:\n%s",
                      (unsigned long long)seed, i, what, (long long)ret, before, lib_filtered,
                      native_maps);
        if (data_len != rec.data_len || memcmp(lib_data, native_data, data_len) != 0)
            fail_msg("seed %llu op %u (%s): bytes read differ", (unsigned long long)seed, i, what);
        total_ops++;
    }
    assert_int_equal(pos, len);
    windows_close(&ws);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
    /* Every store through a shared mapping reached the file, the same in
     * both: the kernel's page cache is the file, the library wrote back. */
    files_compare_and_close(&files, seed);
    free(snapshot);
    free(stream);
}

#define RUNS 4
#define OPS_PER_RUN 2600

static void random_ops_match_the_native_kernel(void **state)
{
    (void)state;
    /* GMM_NATIVE_RUNS and GMM_NATIVE_SEED explore further sequences. */
    const char *runs_env = getenv("GMM_NATIVE_RUNS"), *seed_env = getenv("GMM_NATIVE_SEED");
    uint64_t runs = runs_env ? strtoull(runs_env, NULL, 0) : RUNS;
    uint64_t first = seed_env ? strtoull(seed_env, NULL, 0) : 1;
    for (uint64_t seed = first; seed < first + runs; seed++)
        compare_run(seed, OPS_PER_RUN);
    printf("[ native ] %ld operations compared with this machine's kernel, 0 mismatches "
           "(%ld file mappings, %ld truncations, %ld bytes read back)\n",
           total_ops, file_maps_ok, truncations, file_bytes_read);
    printf("[ native ] of them madvise %ld (%ld succeeded), mlock/mlock2/munlock %ld (%ld), "
           "mlockall/munlockall %ld (%ld), mincore %ld (%ld), msync %ld (%ld)\n",
           mm_calls[0], mm_calls_ok[0], mm_calls[1], mm_calls_ok[1], mm_calls[2], mm_calls_ok[2],
           mm_calls[3], mm_calls_ok[3], mm_calls[4], mm_calls_ok[4]);
    printf("[ native ] through host windows: %ld bytes loaded, %ld bytes stored, the mirror "
           "checked after every operation\n",
           window_bytes_loaded, window_bytes_stored);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--native-child") == 0)
        return run_child(atoi(argv[2]), atoi(argv[3]), argv[4]);
    static char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return 1;
    exe[n] = 0;
    self_exe = exe;
    /* The ready-made window handler, installed once. */
    if (gmm_window_install_handler())
        return 1;
    sigaction(SIGSEGV, NULL, &window_segv);
    sigaction(SIGBUS, NULL, &window_bus);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_ops_match_the_native_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

static void random_ops_match_the_native_kernel(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_ops_match_the_native_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
