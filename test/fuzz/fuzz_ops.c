/*
 * fuzz_ops.c - the libFuzzer harness of libguestmm.
 *
 * The input bytes are decoded into a sequence of calls to every public
 * entry point, on up to MAX_SPACES spaces of one system (both ABIs, forks,
 * destruction), with the addresses and lengths a hostile guest would pass
 * (0, mmap_min_addr, the task sizes and mmap bases of both ABIs, 2^32,
 * 2^47, 2^63, ~0, unaligned values, addresses of live regions), every
 * PROT_ and MAP_ bit, file mappings of in-memory files behind the host
 * callbacks (fds that work, fail, or name unmappable or unreadable files;
 * reads that fail), the file notifications, user copies, CPU translations
 * (the pointer is dereferenced to the end of its page and compared with a
 * user copy of the same bytes), the maps, status and smaps texts, the
 * memory cap and injected allocation failures (through the allocator the
 * harness supplies).  Inputs whose last byte has bit 1 set run on a
 * mappable system, where host windows mirror spaces: faults resolved
 * through gmm_window_fault are followed by real loads and stores through
 * the window, compared with user copies, and the mirror checker runs on
 * every window after every call (inside gmm_system_check).
 *
 * After every call gmm_system_check runs on every live space, and the
 * harness checks what the API promises (a fault report for every NULL
 * translation, data written by gmm_write read back, the text functions'
 * snprintf semantics, callbacks only for live spaces, frames never growing
 * beyond the cap); any violation aborts, so libFuzzer reports it.  At the
 * end every block of the allocator must be back and every file handle
 * released.
 *
 * Build: cmake -DCMAKE_C_COMPILER=clang -DGMM_FUZZ=ON, target fuzz_ops.
 * Run:   ./fuzz_ops -runs=N test/fuzz/corpus   (see README, "Reliability").
 * The decoder is a stable format: a corpus file stays meaningful as long
 * as the opcode table below only grows at its end.
 */
#include <guestmm.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define MAX_SPACES 4
#define MAX_STEPS 128 /* calls per input: the checker after each is O(pages) */
#define BUF_SIZE (3 * PG + 512) /* user copies: lengths up to this */
#define FILE_MAX (64 * 1024)    /* an in-memory file never grows beyond */
#define ALLOC_BUDGET (512u << 10) /* bytes the allocator gives at most at once: bounds
                                   page tables (a huge MAP_POPULATE of the zero page),
                                   which the checker walks after every call */
#define DEFAULT_FRAME_CAP 2048  /* 8 MiB of guest memory */
#define MAX_FRAME_CAP 8192
#define NSNAPS 6 /* snapshot handles the harness keeps, live or stale */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_ops: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* FUZZ_OPS_TRACE=1 in the environment: each call and its result on stderr
 * (to turn a finding into a regression test). */
static int trace = -1;

static void tr(const char *fmt, ...)
{
    if (trace < 0)
        trace = getenv("FUZZ_OPS_TRACE") != NULL;
    if (!trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

#define REQUIRE(cond, what)                                                            \
    do {                                                                               \
        if (!(cond))                                                                   \
            die(what, #cond);                                                          \
    } while (0)

/* ---- input ---- */

struct in {
    const uint8_t *p;
    size_t n;
};

static uint8_t u8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* Little-endian, low part first (each read in its own statement, so that
 * the order bytes are consumed in never depends on the compiler). */
static uint16_t u16(struct in *in)
{
    uint16_t lo = u8(in);
    return (uint16_t)(lo | u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
    uint32_t lo = u16(in);
    return lo | (uint32_t)u16(in) << 16;
}

static uint64_t u64(struct in *in)
{
    uint64_t lo = u32(in);
    return lo | (uint64_t)u32(in) << 32;
}

/* Values a hostile guest passes as addresses, lengths and offsets. */
static const uint64_t special[] = {
    0, 1, 0xfff, 0x1000, 0x1001, 0x2000, 0xf000, 0xffff, 0x10000, 0x10001, 0x11000,
    0x200000, 0x400000, 0x8048000, 0x40000000, 0x7fffffff, 0x80000000, 0xbffff000,
    0xf7ffd000, 0xf7ffe000, 0xf7fff000, 0xfffdd000, 0xfffde000, 0xfffff000 - 0x1000,
    0xffffe000, 0xffffefff, 0xfffff000, 0xffffffff, 0x100000000, 0x100001000, 0xfffff000ull << 4,
    0x555555554000, 0x7ffff7ff6000, 0x7ffff7ffe000, 0x7ffff7fff000, 0x7ffff8000000,
    0x7fffffffe000, 0x7ffffffff000, 0x7ffffffff001, 0x7fffffffffff, 0x800000000000,
    0x800000001000, 0xffff800000000000, 0x7ffffffffffff000, 0x7fffffffffffffff,
    0x8000000000000000, 0x8000000000001000, 0xfffffffffffff000, 0xffffffffffffe000,
    0xfffffffffffff001, 0xffffffffffffffff,
};
#define NSPECIAL (sizeof(special) / sizeof(special[0]))

/* ---- the allocator: counts, a budget, and one-shot failures ---- */

struct alloc_state {
    uint64_t live_blocks, live_bytes, calls;
    uint64_t fail_at; /* fail the allocation with this call number (0: none) */
    bool fail_all;    /* fail every allocation (one call of the sequence) */
};

static void *fz_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct alloc_state *a = ud;
    if (new_size == 0) {
        REQUIRE(ptr != NULL && old_size != 0, "allocator: free of nothing");
        REQUIRE(a->live_blocks > 0 && a->live_bytes >= old_size, "allocator: double free");
        a->live_blocks--;
        a->live_bytes -= old_size;
        free(ptr);
        return NULL;
    }
    REQUIRE(ptr == NULL && old_size == 0, "allocator: asked to resize");
    a->calls++;
    if (a->fail_all || a->calls == a->fail_at || a->live_bytes + new_size > ALLOC_BUDGET)
        return NULL;
    void *p = malloc(new_size);
    if (p) {
        a->live_blocks++;
        a->live_bytes += new_size;
    }
    return p;
}

/* ---- in-memory files behind the host callbacks ---- */

struct memfile {
    uint8_t data[FILE_MAX];
    uint64_t size;
    bool fail_io;   /* read, write and size fail with -EIO */
};

/* One open file: a handle the library counts. */
struct handle {
    struct memfile *f;
    int gets; /* handed out by get_file since the last release */
};

static int64_t mf_read(void *h, uint64_t off, void *buf, size_t len)
{
    struct memfile *f = ((struct handle *)h)->f;
    if (f->fail_io)
        return -GMM_EIO;
    if (off >= f->size)
        return 0;
    if (len > f->size - off)
        len = (size_t)(f->size - off);
    memcpy(buf, f->data + off, len);
    return (int64_t)len;
}

static int64_t mf_write(void *h, uint64_t off, const void *buf, size_t len)
{
    struct memfile *f = ((struct handle *)h)->f;
    if (f->fail_io)
        return -GMM_EIO;
    if (off > FILE_MAX || len > FILE_MAX - off)
        return -GMM_EFBIG;
    memcpy(f->data + off, buf, len);
    if (off + len > f->size)
        f->size = off + len;
    return (int64_t)len;
}

static int64_t mf_size(void *h)
{
    struct memfile *f = ((struct handle *)h)->f;
    return f->fail_io ? -GMM_EIO : (int64_t)f->size;
}

static void mf_release(void *h)
{
    struct handle *hd = h;
    /* Released once per time the library took it: never twice in a row. */
    REQUIRE(hd->gets > 0, "file handle released twice");
    hd->gets = 0;
}

static const gmm_file_ops mf_ops = {mf_read, mf_write, mf_size, mf_release};
/* A host that gives no callbacks but release. */
static const gmm_file_ops bare_ops = {NULL, NULL, NULL, mf_release};

enum { NFILES = 2, NHANDLES = 5 };
static const uint64_t file_dev[NFILES] = {0x801, 0xfd03};
static const uint64_t file_ino[NFILES] = {1234, 0x100000001ull};

/* ---- the world of one input ---- */

struct world {
    gmm_system *sys;
    gmm_space *sp[MAX_SPACES];
    gmm_abi abi[MAX_SPACES];
    gmm_space *dying; /* being destroyed: callbacks may still name it */
    struct alloc_state alloc;
    struct memfile files[NFILES];
    struct handle handles[NHANDLES];
    uint64_t recent[16]; /* addresses the library returned */
    unsigned nrecent;
    uint64_t cap, frames_seen;
    /* Translations the harness keeps, as an emulator's TLB would, until
     * host->invalidate covers them. */
    struct cached {
        gmm_space *s;
        uint64_t page;
        uint8_t *p;   /* host pointer to the page's first byte */
        int allowed;  /* GMM_ACCESS_* it may be used for */
        gmm_cpu *cpu; /* from gmm_cpu_translate, or NULL */
        bool stale;   /* invalidated, but valid memory until the CPU quiesces */
    } tlb[8];
    bool mappable;
    gmm_window *win[MAX_SPACES]; /* a window per space slot, or NULL */
    uint64_t win_lo[MAX_SPACES], win_hi[MAX_SPACES]; /* what it mirrors */
    gmm_cpu *cpu[2]; /* CPU objects (emulator threads) and their spaces */
    int cpu_slot[2];
    int faults;
    gmm_fault last_fault;
    gmm_space *last_fault_space;
    /* Snapshots, live or not: a handle stays here after its discard (or
     * its space's destruction, or a restore of an older one) so that it
     * can be used stale.  seq orders the takes (snapshots form a stack). */
    struct snaprec {
        gmm_snapshot *h;
        gmm_space *s;   /* its space while live, else NULL */
        char *maps;     /* the maps text at take time (malloc) */
        uint64_t seq;
    } snaps[NSNAPS];
    uint64_t snap_seq;
    uint8_t buf[BUF_SIZE], buf2[BUF_SIZE], expect[BUF_SIZE];
};

static bool live(struct world *w, gmm_space *s)
{
    for (int i = 0; i < MAX_SPACES; i++)
        if (w->sp[i] && w->sp[i] == s)
            return true;
    return s && s == w->dying;
}

static int get_file(void *user, int fd, gmm_file *out)
{
    struct world *w = user;
    memset(out, 0, sizeof(*out));
    out->ops = &mf_ops;
    out->readable = 1;
    out->writable = 1;
    int h;
    switch (fd) {
    case 3: h = 0; break;                       /* file 0, read-write */
    case 4: h = 1, out->writable = 0; break;    /* file 0, read-only */
    case 5: h = 2; break;                       /* file 1, read-write */
    case 6: h = 3, out->readable = 0; break;    /* file 1, write-only */
    case 7: h = 4, out->ops = &bare_ops; break; /* file 1, no callbacks */
    case 8: return -GMM_ENODEV;
    case 9: return -GMM_EACCES;
    case 10: return 5; /* a host bug: not an errno */
    default: return -GMM_EBADF;
    }
    int file = h < 2 ? 0 : 1;
    out->handle = &w->handles[h];
    out->dev = file_dev[file];
    out->ino = file_ino[file];
    out->path = file == 0 ? "/data/file0" : (h == 4 ? NULL : "/tmp/a file\nwith a newline");
    w->handles[h].gets++;
    return 0;
}

static void on_fault(void *user, gmm_space *s, const gmm_fault *f)
{
    struct world *w = user;
    REQUIRE(live(w, s), "fault callback for a space that is not live");
    REQUIRE(f->signo == GMM_SIGSEGV || f->signo == GMM_SIGBUS, "fault: bad signo");
    if (f->signo == GMM_SIGSEGV)
        REQUIRE(f->code == GMM_SEGV_MAPERR || f->code == GMM_SEGV_ACCERR ||
                    f->code == GMM_SEGV_PKUERR,
                "fault: bad SIGSEGV code");
    else
        REQUIRE(f->code == GMM_BUS_ADRERR || f->code == GMM_BUS_OOM, "fault: bad SIGBUS code");
    w->faults++;
    w->last_fault = *f;
    w->last_fault_space = s;
}

static void on_invalidate(void *user, gmm_space *s, gmm_addr start, uint64_t len)
{
    struct world *w = user;
    REQUIRE(live(w, s), "invalidate callback for a space that is not live");
    REQUIRE(start + len >= start, "invalidate: range wraps");
    for (int i = 0; i < 8; i++) {
        struct cached *c = &w->tlb[i];
        if (c->s == s && c->page + PG > start && c->page < start + len) {
            if (c->cpu)
                c->stale = true;
            else
                c->s = NULL;
        }
    }
}

static void on_code_written(void *user, gmm_space *s, gmm_addr start, uint64_t len)
{
    struct world *w = user;
    REQUIRE(live(w, s), "code_written callback for a space that is not live");
    REQUIRE(len > 0 && start + len >= start, "code_written: empty or wrapping range");
}

/* ---- decoding arguments ---- */

static void remember(struct world *w, int64_t v)
{
    if (v >= 0)
        w->recent[w->nrecent++ % 16] = (uint64_t)v;
}

/* A region boundary of s, from its maps text. */
static uint64_t region_edge(struct world *w, gmm_space *s, uint8_t pick)
{
    static char text[1 << 16];
    size_t n = gmm_space_maps(s, text, sizeof(text));
    if (n == 0 || n >= sizeof(text))
        return 0x10000;
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += text[i] == '\n';
    int want = lines ? (pick >> 1) % lines : 0;
    const char *l = text;
    for (int i = 0; i < want; i++)
        l = strchr(l, '\n') + 1;
    unsigned long long a = 0, b = 0;
    if (sscanf(l, "%llx-%llx", &a, &b) != 2)
        die("maps text: a line without a range", l);
    (void)w;
    return pick & 1 ? b : a;
}

static uint64_t addr_arg(struct world *w, struct in *in, gmm_space *s)
{
    uint8_t mode = u8(in);
    int8_t pages = (int8_t)u8(in);
    switch (mode % 9) {
    case 0:
        return special[u8(in) % NSPECIAL];
    case 1:
        return special[u8(in) % NSPECIAL] + (uint64_t)(int64_t)pages * PG;
    case 2:
    case 3:
        return w->recent[u8(in) % 16] + (uint64_t)(int64_t)pages * PG;
    case 4:
        return region_edge(w, s, u8(in)) + (uint64_t)(int64_t)pages * PG;
    case 5:
        return u64(in);
    case 6: /* near the mmap base of the ABI */
        return (gmm_space_abi(s) == GMM_ABI_I386 ? 0xf7ffe000ull : 0x7ffff7fff000ull) -
               (uint64_t)u16(in) * PG;
    case 7: { /* unaligned */
        uint64_t a = w->recent[u8(in) % 16];
        return a + u16(in);
    }
    default:
        return 0x10000 + (uint64_t)u8(in) * PG;
    }
}

static uint64_t len_arg(struct in *in)
{
    uint8_t mode = u8(in);
    switch (mode % 8) {
    case 0:
        return special[u8(in) % NSPECIAL];
    case 1:
    case 2:
        return ((uint64_t)(u8(in) % 32) + 1) * PG;
    case 3:
        return u16(in);
    case 4:
        return u64(in);
    case 5:
        return ((uint64_t)(u8(in) % 4) + 1) << 21;
    case 6:
        return (uint64_t)u16(in) * PG;
    default: {
        uint64_t l = (uint64_t)u8(in) * PG;
        return l + (u8(in) & 1 ? 0 : 1);
    }
    }
}

static int prot_arg(struct in *in)
{
    uint8_t b = u8(in);
    if (b < 224)
        return b & 15; /* READ, WRITE, EXEC, SEM */
    if (b < 240)
        return (b & 7) | (b & 8 ? GMM_PROT_GROWSDOWN : GMM_PROT_GROWSUP);
    return (int)u32(in);
}

static const int flag_bits[] = {
    GMM_MAP_FIXED,     GMM_MAP_FIXED_NOREPLACE, GMM_MAP_POPULATE,  GMM_MAP_LOCKED,
    GMM_MAP_NORESERVE, GMM_MAP_GROWSDOWN,       GMM_MAP_32BIT,     GMM_MAP_STACK,
    GMM_MAP_HUGETLB,   GMM_MAP_SYNC,            GMM_MAP_NONBLOCK,  GMM_MAP_UNINITIALIZED,
    GMM_MAP_DENYWRITE, GMM_MAP_EXECUTABLE,      GMM_MAP_HUGE_2MB,  GMM_MAP_HUGE_1GB,
};

static int flags_arg(struct in *in)
{
    static const int types[] = {
        GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS, GMM_MAP_SHARED | GMM_MAP_ANONYMOUS,
        GMM_MAP_PRIVATE, GMM_MAP_SHARED, GMM_MAP_SHARED_VALIDATE,
        GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS, GMM_MAP_SHARED_VALIDATE | GMM_MAP_ANONYMOUS, 0,
    };
    uint8_t b = u8(in);
    if (b >= 248)
        return (int)u32(in);
    int flags = types[b & 7];
    uint16_t extra = (b & 8) ? u16(in) : 0;
    for (unsigned i = 0; i < 16; i++)
        if (extra & (1u << i))
            flags |= flag_bits[i];
    return flags;
}

static int fd_arg(struct in *in)
{
    uint8_t b = u8(in);
    return b < 240 ? (int)(b % 12) - 1 : (int)u32(in);
}

/* A user-copy length: within the buffer, or one no address range can hold. */
static size_t copy_len(struct in *in)
{
    uint8_t b = u8(in);
    if (b >= 250)
        return (size_t)(special[u8(in) % NSPECIAL] | ((uint64_t)1 << 48));
    if (b >= 128)
        return (size_t)(u16(in) % (BUF_SIZE + 1));
    return (size_t)(b % 8) * 512;
}

/* Bytes for files and copies: a fixed pattern, copied from an offset
 * (no per-byte loop in the harness: the fuzzer traces every comparison). */
static uint8_t pattern[FILE_MAX + 256];

static void pattern_init(void)
{
    static bool done;
    if (done)
        return;
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 131 + (i >> 9) + (i >> 13));
    done = true;
}

static void fill(struct in *in, uint8_t *p, size_t n)
{
    memcpy(p, pattern + u8(in), n);
}

/* ---- checks after every call ---- */

static void check_all(struct world *w)
{
    /* Every space's regions, and the page tables and frames they share,
     * once (gmm_space_check on each space would redo the shared part). */
    const char *e = gmm_system_check(w->sys);
    if (e) {
        static char text[1 << 16];
        for (int i = 0; i < MAX_SPACES; i++)
            if (w->sp[i]) {
                gmm_space_maps(w->sp[i], text, sizeof(text));
                fprintf(stderr, "fuzz_ops: space %d:\n%s", i, text);
            }
        die("invariant broken", e);
    }
    for (int i = 0; i < MAX_SPACES; i++)
        if (w->sp[i])
            REQUIRE(gmm_space_abi(w->sp[i]) == w->abi[i], "the ABI of a space changed");
    /* Beyond the cap, frames never grow. */
    uint64_t used = gmm_system_frames_used(w->sys);
    if (w->cap && used > w->cap)
        REQUIRE(used <= w->frames_seen, "frames grew beyond the memory cap");
    w->frames_seen = used;
}

/* A text function: snprintf semantics at a cap from the input. */
typedef size_t (*text_fn)(gmm_space *, char *, size_t);

static void check_text(struct in *in, gmm_space *s, text_fn fn)
{
    size_t n = fn(s, NULL, 0);
    char *full = malloc(n + 1);
    REQUIRE(full != NULL, "harness out of memory");
    REQUIRE(fn(s, full, n + 1) == n, "text: length changed between calls");
    REQUIRE(strlen(full) == n, "text: length is not the text's");
    REQUIRE(n == 0 || full[n - 1] == '\n', "text: not whole lines");
    size_t cap = u8(in) % 64;
    char small[64];
    memset(small, 'x', sizeof(small));
    REQUIRE(fn(s, small, cap) == n, "text: length depends on the buffer");
    if (cap) {
        size_t k = n < cap ? n : cap - 1;
        REQUIRE(small[k] == '\0' && memcmp(small, full, k) == 0, "text: truncation");
    }
    if (cap < sizeof(small))
        REQUIRE(small[cap] == 'x', "text: wrote beyond the buffer");
    free(full);
}

/* ---- the operations ---- */

static gmm_space *pick_space(struct world *w, struct in *in, int *slot)
{
    uint8_t b = u8(in);
    int i = b % MAX_SPACES;
    if (!w->sp[i]) {
        w->abi[i] = b & 0x80 ? GMM_ABI_I386 : GMM_ABI_X86_64;
        w->sp[i] = gmm_space_create(w->sys, w->abi[i]);
        if (!w->sp[i])
            return NULL; /* out of memory: allowed */
    }
    if (slot)
        *slot = i;
    return w->sp[i];
}

/* gmm_translate, gmm_translate_perms, or gmm_cpu_translate when cpu. */
static void op_translate(struct world *w, struct in *in, gmm_space *s, gmm_cpu *cpu)
{
    uint64_t addr = addr_arg(w, in, s);
    uint8_t b = u8(in);
    int access = b & 7, allowed = -1;
    int before = w->faults;
    uint8_t *p = cpu      ? gmm_cpu_translate(cpu, addr, access)
                 : b & 8 ? gmm_translate_perms(s, addr, access, &allowed)
                         : gmm_translate(s, addr, access);
    tr("  %stranslate%s(%#llx, %d) = %p (allowed %d)\n", cpu ? "cpu_" : "",
       b & 8 ? "_perms" : "", (unsigned long long)addr, access, (void *)p, allowed);
    if (!p) {
        REQUIRE(w->faults == before + 1, "translate: NULL without one fault report");
        REQUIRE(w->last_fault.addr == addr && w->last_fault_space == s, "translate: fault report");
        REQUIRE(allowed == -1 || allowed == 0, "translate_perms: a grant with a fault");
        return;
    }
    REQUIRE(w->faults == before, "translate: a fault reported for a success");
    int asked = access ? access : GMM_ACCESS_READ;
    if (allowed == -1)
        allowed = asked;
    REQUIRE((allowed & asked) == asked, "translate_perms: less granted than asked");
    /* Keep it, as a TLB would, until host->invalidate covers it. */
    struct cached *c = &w->tlb[(b >> 4) & 7];
    c->s = s;
    c->page = addr & ~(PG - 1);
    c->p = p - (addr & (PG - 1));
    c->allowed = allowed;
    c->cpu = cpu;
    c->stale = false;
    /* The pointer is good to the end of its page: touch both ends and
     * check that they are the bytes a user copy sees. */
    size_t last = PG - 1 - (addr & (PG - 1));
    uint8_t v0 = p[0], v1 = p[last];
    if (access & GMM_ACCESS_WRITE) {
        v0 = (uint8_t)(v0 + 1);
        v1 = (uint8_t)(v1 ^ 0x5a);
        p[0] = v0;
        p[last] = v1;
        v0 = p[0]; /* the same byte when addr is the page's last */
    }
    uint8_t r0, r1;
    if (gmm_read(s, addr, &r0, 1) == 0)
        REQUIRE(r0 == v0, "translate: the pointer is not the page a user copy reads");
    if (gmm_read(s, addr + last, &r1, 1) == 0)
        REQUIRE(r1 == v1, "translate: the page end is not the page a user copy reads");
}

/* What a read of [addr, addr + len) returns right after gmm_write of src
 * there succeeded: src, except where two pages of the range are one page
 * (a file or shared object mapped twice, an mremap duplicate), where the
 * later store wins, since a copy goes in address order as Linux's does. */
static void expect_written(gmm_space *s, uint64_t addr, size_t len, const uint8_t *src,
                           uint8_t *out)
{
    enum { MAXP = BUF_SIZE / PG + 2 };
    const uint8_t *host[MAXP];
    uint64_t first = addr & ~(uint64_t)(PG - 1);
    size_t n = (size_t)((addr - first + len + PG - 1) / PG);
    memcpy(out, src, len);
    for (size_t i = 0; i < n; i++) {
        host[i] = gmm_translate(s, first + i * PG, GMM_ACCESS_READ);
        REQUIRE(host[i] != NULL, "a page gmm_write stored to cannot be read");
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (host[i] != host[j])
                continue;
            for (uint64_t o = 0; o < PG; o++) {
                uint64_t gi = first + i * PG + o, gj = first + j * PG + o;
                if (gi >= addr && gj < addr + len)
                    out[gi - addr] = src[gj - addr];
            }
        }
}

static void op_copy(struct world *w, struct in *in, gmm_space *s)
{
    uint64_t addr = addr_arg(w, in, s);
    size_t len = copy_len(in);
    bool big = len > BUF_SIZE;
    if (u8(in) & 1) {
        fill(in, w->buf, BUF_SIZE);
        int r = gmm_write(s, addr, w->buf, len);
        tr("  write(%#llx, %zu) = %d\n", (unsigned long long)addr, len, r);
        REQUIRE(r == 0 || r == -GMM_EFAULT, "gmm_write: not 0 or -EFAULT");
        REQUIRE(!big || r == -GMM_EFAULT, "gmm_write: a range no space holds");
        if (r == 0 && len) {
            /* What was written reads back (writable implies readable). */
            REQUIRE(gmm_read(s, addr, w->buf2, len) == 0, "gmm_read after gmm_write failed");
            expect_written(s, addr, len, w->buf, w->expect);
            REQUIRE(memcmp(w->expect, w->buf2, len) == 0, "gmm_read after gmm_write differs");
        }
    } else {
        int r = gmm_read(s, addr, w->buf2, len);
        tr("  read(%#llx, %zu) = %d\n", (unsigned long long)addr, len, r);
        REQUIRE(r == 0 || r == -GMM_EFAULT, "gmm_read: not 0 or -EFAULT");
        REQUIRE(!big || r == -GMM_EFAULT, "gmm_read: a range no space holds");
    }
}

/* A guest address holding data the harness wrote there (for the calls
 * that take a guest pointer), or a hostile one. */
static uint64_t guest_ptr(struct world *w, struct in *in, gmm_space *s, const void *data,
                          size_t len)
{
    uint64_t a = addr_arg(w, in, s);
    if (data && (u8(in) & 1))
        (void)gmm_write(s, a, data, len);
    return a;
}

static int64_t op_mmap(struct world *w, struct in *in, gmm_space *s)
{
    uint8_t kind = u8(in) % 3;
    uint64_t addr = addr_arg(w, in, s);
    uint64_t len = len_arg(in);
    int prot = prot_arg(in);
    int flags = flags_arg(in);
    int fd = fd_arg(in);
    uint64_t off = u8(in) & 1 ? len_arg(in) : (uint64_t)(u8(in) % 16) * PG;
    int64_t r;
    if (kind == 0) {
        r = gmm_sys_mmap(s, addr, len, prot, flags, fd, off);
    } else if (kind == 1) {
        off >>= u8(in) & 1 ? 12 : 0;
        r = gmm_sys_mmap2(s, addr, len, prot, flags, fd, off);
    } else {
        uint32_t args[6] = {(uint32_t)addr, (uint32_t)len, (uint32_t)prot, (uint32_t)flags,
                            (uint32_t)fd, (uint32_t)off};
        r = gmm_sys_old_mmap(s, guest_ptr(w, in, s, args, sizeof(args)));
    }
    tr("  mmap%d(%#llx, %#llx, %#x, %#x, %d, %#llx) = %#llx\n", kind, (unsigned long long)addr,
       (unsigned long long)len, prot, flags, fd, (unsigned long long)off, (long long)r);
    return r;
}

enum {
    OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_BRK, OP_MREMAP, OP_MADVISE, OP_MSYNC, OP_MLOCK,
    OP_MLOCK2, OP_MUNLOCK, OP_MLOCKALL, OP_MUNLOCKALL, OP_MINCORE, OP_MBIND,
    OP_GET_MEMPOLICY, OP_SET_MEMPOLICY, OP_ANON_NAME, OP_READ_WRITE, OP_TRANSLATE,
    OP_FORK, OP_DESTROY, OP_MAPS, OP_STATUS, OP_SMAPS, OP_RLIMIT, OP_INIT_BRK,
    OP_EXEC_ONLY, OP_EXEC_RESET, OP_SETUP_STACK, OP_SET_CODE, OP_FILE_WRITTEN,
    OP_FILE_RESIZED, OP_FILE_SYNC, OP_FILE_FAIL, OP_FRAME_CAP, OP_ALLOC_FAIL, OP_USER,
    OP_ERRORS, OP_CREATE, OP_CACHED, OP_CPU, OP_WINDOW, OP_WINDOW_TOUCH, OP_SNAPSHOT,
    OP_COUNT
};

/* Uses a kept translation: until host->invalidate covered it, it must
 * still be the page a user copy sees. */
static void op_cached(struct world *w, struct in *in)
{
    struct cached *c = &w->tlb[u8(in) & 7];
    size_t off = u16(in) % PG;
    if (!c->s)
        return;
    if (c->stale) {
        /* Invalidated, but its CPU has not quiesced: still memory (ASan
         * and the host MMU check that much). */
        volatile uint8_t *vp = c->p + off;
        (void)*vp;
        return;
    }
    uint8_t v = c->p[off], r;
    if (c->allowed & GMM_ACCESS_WRITE) {
        v = (uint8_t)(v + 1 + u8(in));
        c->p[off] = v;
    }
    tr("  kept translation %#llx+%zu (allowed %d)\n", (unsigned long long)c->page, off,
       c->allowed);
    if (gmm_read(c->s, c->page + off, &r, 1) == 0)
        REQUIRE(r == v, "a kept translation points elsewhere, yet was never invalidated");
    else
        REQUIRE(!(c->allowed & (GMM_ACCESS_READ | GMM_ACCESS_WRITE)),
                "a kept translation outlived its mapping, yet was never invalidated");
}

/* Destroys CPU i: its kept translations go. */
static void cpu_destroy(struct world *w, int i)
{
    if (!w->cpu[i])
        return;
    for (int j = 0; j < 8; j++)
        if (w->tlb[j].cpu == w->cpu[i])
            w->tlb[j].s = NULL;
    gmm_cpu_destroy(w->cpu[i]);
    w->cpu[i] = NULL;
}

/* The harness forgets a space: its CPUs (destroyed before the space, as
 * the API wants) and kept translations go too. */
static void forget_space(struct world *w, gmm_space *s)
{
    for (int i = 0; i < 2; i++)
        if (w->cpu[i] && gmm_cpu_space(w->cpu[i]) == s)
            cpu_destroy(w, i);
    for (int i = 0; i < 8; i++)
        if (w->tlb[i].s == s)
            w->tlb[i].s = NULL;
}

/* The CPU path: a CPU object per emulator thread. */
static void op_cpu(struct world *w, struct in *in, gmm_space *s, int slot)
{
    uint8_t b = u8(in);
    int i = b & 1;
    switch ((b >> 1) % 4) {
    case 0:
        if (!w->cpu[i]) {
            w->cpu[i] = gmm_cpu_create(s);
            w->cpu_slot[i] = slot;
            REQUIRE(!w->cpu[i] || gmm_cpu_space(w->cpu[i]) == s, "gmm_cpu_space");
        }
        break;
    case 1:
        if (w->cpu[i])
            op_translate(w, in, w->sp[w->cpu_slot[i]], w->cpu[i]);
        break;
    case 2:
        if (w->cpu[i]) {
            gmm_cpu_quiesce(w->cpu[i]);
            for (int j = 0; j < 8; j++)
                if (w->tlb[j].cpu == w->cpu[i])
                    w->tlb[j].s = NULL;
        }
        break;
    default:
        cpu_destroy(w, i);
        break;
    }
}

static void op_file_written(struct world *w, struct in *in)
{
    uint8_t b = u8(in);
    int file = b % NFILES;
    uint64_t off = b & 0x80 ? special[u8(in) % NSPECIAL] : (uint64_t)u16(in) * 16;
    size_t len = (size_t)(u16(in) % (BUF_SIZE + 1));
    fill(in, w->buf, len);
    struct memfile *f = &w->files[file];
    /* The emulator's write(2) went to the file; then it tells the library. */
    if (off <= FILE_MAX && len <= FILE_MAX - off) {
        memcpy(f->data + off, w->buf, len);
        if (off + len > f->size)
            f->size = off + len;
    }
    uint64_t dev = b & 0x40 ? 0x999 : file_dev[file];
    gmm_file_written(w->sys, dev, file_ino[file], off, w->buf, len);
}

static void op_file_resized(struct world *w, struct in *in)
{
    uint8_t b = u8(in);
    int file = b % NFILES;
    uint64_t size = b & 0x80 ? special[u8(in) % NSPECIAL] : (uint64_t)u16(in) * 8;
    struct memfile *f = &w->files[file];
    if (size <= FILE_MAX) {
        if (size > f->size)
            memset(f->data + f->size, 0, size - f->size);
        f->size = size;
    }
    gmm_file_resized(w->sys, file_dev[file], b & 0x40 ? 77 : file_ino[file], size);
}

/* Windows: created over a range from the input (invalid ones must be
 * refused), or destroyed. */
static void op_window(struct world *w, struct in *in, gmm_space *s, int slot)
{
    uint8_t b = u8(in);
    if (w->win[slot]) {
        if (b & 1) {
            gmm_window_destroy(w->win[slot]);
            w->win[slot] = NULL;
        } else {
            gmm_window_set_budget(w->win[slot], 16 + (uint64_t)u8(in) * (b & 2 ? 1 : 64));
            gmm_window_set_fault_around(w->win[slot], 1u << (u8(in) % 10));
        }
        return;
    }
    bool i386 = gmm_space_abi(s) == GMM_ABI_I386;
    uint64_t lo, hi;
    switch ((b >> 1) % 4) {
    case 0: /* the usual: the whole i386 span, or 4 GiB below the x86-64 mmap base */
        lo = i386 ? 0 : 0x7fff00000000ull;
        hi = i386 ? 1ull << 32 : 0x7ffffffff000ull;
        break;
    case 1:
        lo = (uint64_t)u16(in) * PG;
        hi = lo + (uint64_t)(1 + u16(in)) * PG;
        break;
    case 2: /* near the mmap base */
        hi = i386 ? 0xf8000000ull : 0x7ffff8000000ull;
        lo = hi - (uint64_t)(1 + u16(in)) * PG;
        break;
    default: /* anything: mostly refused */
        lo = special[u8(in) % NSPECIAL];
        hi = special[u8(in) % NSPECIAL];
        break;
    }
    gmm_window *win = gmm_window_create(s, lo, hi);
    tr("  window(%#llx, %#llx) = %p\n", (unsigned long long)lo, (unsigned long long)hi, (void *)win);
    bool valid = w->mappable && lo < hi && lo % PG == 0 && hi % PG == 0 &&
                 hi <= (i386 ? 1ull << 32 : 0x7ffffffff000ull);
    REQUIRE(valid || !win, "window: an invalid range accepted");
    if (!win)
        return;
    REQUIRE(gmm_window_space(win) == s, "window: its space");
    if (b & 0x80)
        gmm_window_set_fault_around(win, 1);
    w->win[slot] = win;
    w->win_lo[slot] = lo;
    /* An i386 window mirrors up to the task's end (0xFFFFE000). */
    w->win_hi[slot] = i386 && hi > 0xFFFFE000ull ? 0xFFFFE000ull : hi;
}

/* A guest access through a window: gmm_window_fault as a SIGSEGV handler
 * would call it, then the access itself, compared with a user copy; a
 * fault must be the one gmm_translate reports. */
static void op_window_touch(struct world *w, struct in *in, gmm_space *s, int slot)
{
    gmm_window *win = w->win[slot];
    uint8_t b = u8(in);
    /* Mostly where the library mapped something. */
    uint64_t addr = b & 2 ? w->recent[u8(in) % 16] + (uint64_t)u8(in) * PG + u8(in) * 16u
                          : addr_arg(w, in, s);
    if (!win)
        return;
    int access = b & 1 ? GMM_ACCESS_WRITE : GMM_ACCESS_READ;
    uint8_t *base = gmm_window_base(win);
    uintptr_t host = (uintptr_t)base + (uintptr_t)addr;
    gmm_fault f;
    memset(&f, 0, sizeof(f));
    int res = gmm_window_fault(win, host, access, &f);
    tr("  window_fault(%#llx, %d) = %d (%d/%d)\n", (unsigned long long)addr, access, res, f.signo,
       f.code);
    if (res < 0)
        return; /* outside the reservation */
    if (res == 1) {
        REQUIRE(f.addr == addr, "window fault: address");
        if (f.code == GMM_BUS_OOM)
            return;
        int before = w->faults;
        uint8_t *p = gmm_translate(s, addr, access);
        tr("  translate(%#llx, %d) = %p (faults %d, last %d/%d)\n", (unsigned long long)addr,
           access, (void *)p, w->faults - before, w->last_fault.signo, w->last_fault.code);
        /* The window mirrors [lo, hi) only: elsewhere it reports MAPERR. */
        if (addr < w->win_lo[slot] || addr >= w->win_hi[slot])
            REQUIRE(f.signo == GMM_SIGSEGV && f.code == GMM_SEGV_MAPERR,
                    "window fault outside its range is not MAPERR");
        else if (p)
            REQUIRE(f.signo == GMM_SIGSEGV && f.code == GMM_SEGV_MAPERR,
                    "window fault where translate succeeds");
        else
            REQUIRE(w->faults == before + 1 && w->last_fault.signo == f.signo &&
                        w->last_fault.code == f.code,
                    "window fault differs from translate's");
        return;
    }
    uint64_t page = addr & ~(PG - 1);
    uint8_t *hp = (uint8_t *)(uintptr_t)((uintptr_t)base + (uintptr_t)page);
    if (access == GMM_ACCESS_WRITE) {
        size_t off = addr - page;
        uint8_t v = (uint8_t)(u8(in) + 1);
        hp[off] = v;
        uint8_t got = 0;
        REQUIRE(gmm_read(s, addr, &got, 1) == 0 && got == v, "window store not seen by gmm_read");
    } else {
        REQUIRE(gmm_read(s, page, w->buf, PG) == 0, "window page unreadable by gmm_read");
        REQUIRE(memcmp(hp, w->buf, PG) == 0, "window bytes differ from gmm_read");
    }
}

/* ---- snapshots ---- */

static char *maps_dup(gmm_space *s)
{
    size_t n = gmm_space_maps(s, NULL, 0);
    char *t = malloc(n + 1);
    REQUIRE(t != NULL, "harness out of memory");
    REQUIRE(gmm_space_maps(s, t, n + 1) == n, "maps: length changed between calls");
    return t;
}

/* The snapshots of s are stale now: its destruction discarded them. */
static void snap_forget_space(struct world *w, gmm_space *s)
{
    for (int i = 0; i < NSNAPS; i++)
        if (w->snaps[i].s == s)
            w->snaps[i].s = NULL;
}

static void snap_drop(struct snaprec *r)
{
    free(r->maps);
    memset(r, 0, sizeof(*r));
}

/* A restore that did not succeed must change nothing. */
static void snap_require_unchanged(gmm_space *s, const char *before, const char *what)
{
    char *now = maps_dup(s);
    REQUIRE(strcmp(now, before) == 0, what);
    free(now);
}

/* Take, restore, discard, and a stale or foreign handle (-GMM_EINVAL). */
static void op_snapshot(struct world *w, struct in *in, gmm_space *s)
{
    uint8_t b = u8(in);
    struct snaprec *r = &w->snaps[(b >> 2) % NSNAPS];
    switch (b & 3) {
    case 0: { /* take, into a slot (a live snapshot there is discarded) */
        if (r->h && r->s)
            gmm_snapshot_discard(r->h);
        snap_drop(r);
        char *maps = maps_dup(s);
        gmm_snapshot *h = gmm_snapshot_take(s);
        tr("  snapshot_take = %p\n", (void *)h);
        if (!h) { /* out of memory: the space is unchanged */
            snap_require_unchanged(s, maps, "snapshot_take: failed, yet the space changed");
            free(maps);
            return;
        }
        snap_require_unchanged(s, maps, "snapshot_take changed the maps");
        r->h = h;
        r->s = s;
        r->maps = maps;
        r->seq = ++w->snap_seq;
        break;
    }
    case 1: { /* restore s with the slot's handle, live, stale or foreign */
        if (!r->h)
            return;
        char *before = maps_dup(s);
        int e = gmm_snapshot_restore(s, r->h);
        tr("  snapshot_restore(%llu, %s) = %d\n", (unsigned long long)r->seq,
           r->s == s ? "own" : r->s ? "foreign" : "stale", e);
        if (r->s != s) {
            REQUIRE(e == -GMM_EINVAL, "snapshot_restore: a stale or foreign handle accepted");
            snap_require_unchanged(s, before, "snapshot_restore: refused, yet the space changed");
        } else if (e == 0) {
            snap_require_unchanged(s, r->maps, "snapshot_restore: maps differ from take time");
            /* The snapshots of s taken after it are discarded. */
            for (int i = 0; i < NSNAPS; i++)
                if (w->snaps[i].s == s && w->snaps[i].seq > r->seq)
                    w->snaps[i].s = NULL;
        } else {
            REQUIRE(e == -GMM_ENOMEM, "snapshot_restore: unexpected result");
            snap_require_unchanged(s, before, "snapshot_restore: failed, yet the space changed");
        }
        free(before);
        break;
    }
    case 2: /* discard (twice, or after its space went: nothing happens) */
        if (!r->h)
            return;
        tr("  snapshot_discard(%llu, %s)\n", (unsigned long long)r->seq, r->s ? "live" : "stale");
        if (r->s) {
            gmm_snapshot_discard(r->h);
            r->s = NULL;
        } else {
            uint64_t blocks = w->alloc.live_blocks;
            gmm_snapshot_discard(r->h);
            REQUIRE(w->alloc.live_blocks == blocks, "snapshot_discard of a stale handle freed");
        }
        break;
    default: { /* a stale handle of any slot against s, or discard(NULL) */
        gmm_snapshot_discard(NULL);
        for (int i = 0; i < NSNAPS; i++) {
            struct snaprec *o = &w->snaps[i];
            if (o->h && o->s != s) {
                char *before = maps_dup(s);
                int e = gmm_snapshot_restore(s, o->h);
                tr("  snapshot_restore(%llu, %s) = %d\n", (unsigned long long)o->seq,
                   o->s ? "foreign" : "stale", e);
                REQUIRE(e == -GMM_EINVAL, "snapshot_restore: a stale or foreign handle accepted");
                snap_require_unchanged(s, before, "snapshot_restore: refused, yet the space changed");
                free(before);
                break;
            }
        }
        break;
    }
    }
}

/* The space in slot goes: its window is destroyed before or after it
 * (either order is allowed; after, the window must report MAPERR). */
static void destroy_space(struct world *w, int slot, bool window_first)
{
    gmm_space *s = w->sp[slot];
    gmm_window *win = w->win[slot];
    w->win[slot] = NULL;
    forget_space(w, s);
    snap_forget_space(w, s);
    w->sp[slot] = NULL;
    if (win && window_first)
        gmm_window_destroy(win);
    w->dying = s;
    gmm_space_destroy(s);
    w->dying = NULL;
    if (win && !window_first) {
        gmm_fault f;
        REQUIRE(gmm_window_space(win) == NULL, "window: space after its destruction");
        REQUIRE(gmm_window_fault(win, (uintptr_t)gmm_window_base(win) + 0x100000, GMM_ACCESS_READ,
                                 &f) != 0,
                "window: a fault resolved after its space was destroyed");
        gmm_window_destroy(win);
    }
}

static void run_op(struct world *w, struct in *in)
{
    uint8_t op = u8(in) % OP_COUNT;
    int slot = 0;
    gmm_space *s = pick_space(w, in, &slot);
    if (!s)
        return;
    tr("op %d on space %d (%s)\n", op, slot, w->abi[slot] == GMM_ABI_I386 ? "i386" : "x86-64");
    int64_t r;
    switch (op) {
    case OP_MMAP:
        remember(w, op_mmap(w, in, s));
        break;
    case OP_MUNMAP: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        r = gmm_sys_munmap(s, a, len);
        tr("  munmap(%#llx, %#llx) = %lld\n", (unsigned long long)a, (unsigned long long)len,
           (long long)r);
        REQUIRE(r == 0 || r == -GMM_EINVAL || r == -GMM_ENOMEM, "munmap: unexpected result");
        break;
    }
    case OP_MPROTECT: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        int prot = prot_arg(in);
        r = gmm_sys_mprotect(s, a, len, prot);
        tr("  mprotect(%#llx, %#llx, %#x) = %lld\n", (unsigned long long)a,
           (unsigned long long)len, prot, (long long)r);
        break;
    }
    case OP_BRK: {
        uint8_t b = u8(in);
        uint64_t v = b & 1 ? addr_arg(w, in, s) : (uint64_t)gmm_sys_brk(s, 0) + (uint64_t)(int16_t)u16(in) * (b & 2 ? PG : 1);
        r = gmm_sys_brk(s, v);
        tr("  brk(%#llx) = %#llx\n", (unsigned long long)v, (long long)r);
        remember(w, r);
        break;
    }
    case OP_MREMAP: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t old_len = len_arg(in), new_len = len_arg(in);
        uint8_t f = u8(in);
        int flags = f < 240 ? f & 7 : (int)u32(in);
        uint64_t na = addr_arg(w, in, s);
        r = gmm_sys_mremap(s, a, old_len, new_len, flags, na);
        tr("  mremap(%#llx, %#llx, %#llx, %#x, %#llx) = %#llx\n", (unsigned long long)a,
           (unsigned long long)old_len, (unsigned long long)new_len, flags,
           (unsigned long long)na, (long long)r);
        remember(w, r);
        break;
    }
    case OP_MADVISE: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        uint8_t b = u8(in);
        int advice = b < 200 ? b % 26 : b < 250 ? 100 + b % 4 : (int)u32(in);
        r = gmm_sys_madvise(s, a, len, advice);
        tr("  madvise(%#llx, %#llx, %d) = %lld\n", (unsigned long long)a,
           (unsigned long long)len, advice, (long long)r);
        break;
    }
    case OP_MSYNC: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        uint8_t b = u8(in);
        int fl = b < 240 ? b & 7 : (int)u32(in);
        r = gmm_sys_msync(s, a, len, fl);
        tr("  msync(%#llx, %#llx, %#x) = %lld\n", (unsigned long long)a,
           (unsigned long long)len, fl, (long long)r);
        break;
    }
    case OP_MLOCK: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        r = gmm_sys_mlock(s, a, len);
        tr("  mlock(%#llx, %#llx) = %lld\n", (unsigned long long)a, (unsigned long long)len,
           (long long)r);
        break;
    }
    case OP_MLOCK2: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        uint8_t b = u8(in);
        int fl = b < 240 ? b & 3 : (int)u32(in);
        r = gmm_sys_mlock2(s, a, len, fl);
        tr("  mlock2(%#llx, %#llx, %#x) = %lld\n", (unsigned long long)a, (unsigned long long)len,
           fl, (long long)r);
        break;
    }
    case OP_MUNLOCK: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        r = gmm_sys_munlock(s, a, len);
        tr("  munlock(%#llx, %#llx) = %lld\n", (unsigned long long)a, (unsigned long long)len,
           (long long)r);
        break;
    }
    case OP_MLOCKALL: {
        uint8_t b = u8(in);
        int fl = b < 240 ? b & 15 : (int)u32(in);
        r = gmm_sys_mlockall(s, fl);
        tr("  mlockall(%#x) = %lld\n", fl, (long long)r);
        break;
    }
    case OP_MUNLOCKALL:
        REQUIRE(gmm_sys_munlockall(s) == 0, "munlockall failed");
        break;
    case OP_MINCORE: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        gmm_sys_mincore(s, a, len, guest_ptr(w, in, s, NULL, 0));
        break;
    }
    case OP_MBIND: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        uint64_t mask = u8(in) & 1 ? 1 : u64(in);
        uint8_t m = u8(in);
        int mode = m < 200 ? (m % 8) | (m & 8 ? GMM_MPOL_F_STATIC_NODES : 0) |
                                 (m & 16 ? GMM_MPOL_F_RELATIVE_NODES : 0) |
                                 (m & 32 ? GMM_MPOL_F_NUMA_BALANCING : 0)
                             : (int)u32(in);
        uint64_t maxnode = u8(in) & 1 ? (uint64_t)u16(in) : len_arg(in);
        uint64_t nm = guest_ptr(w, in, s, &mask, sizeof(mask));
        gmm_sys_mbind(s, a, len, mode, nm, maxnode, u8(in) < 200 ? u8(in) & 15 : u32(in));
        break;
    }
    case OP_GET_MEMPOLICY: {
        uint64_t mode = guest_ptr(w, in, s, NULL, 0);
        uint64_t nm = guest_ptr(w, in, s, NULL, 0);
        uint64_t maxnode = u8(in) & 1 ? (uint64_t)u16(in) : len_arg(in);
        uint64_t a = addr_arg(w, in, s);
        gmm_sys_get_mempolicy(s, mode, nm, maxnode, a, u8(in) < 200 ? u8(in) & 7 : u32(in));
        break;
    }
    case OP_SET_MEMPOLICY: {
        uint64_t mask = u8(in) & 1 ? 1 : u64(in);
        uint8_t m = u8(in);
        int mode = m < 200 ? (m % 8) | (m & 8 ? GMM_MPOL_F_STATIC_NODES : 0) |
                                 (m & 16 ? GMM_MPOL_F_RELATIVE_NODES : 0)
                             : (int)u32(in);
        uint64_t maxnode = u8(in) & 1 ? (uint64_t)u16(in) : len_arg(in);
        gmm_sys_set_mempolicy(s, mode, guest_ptr(w, in, s, &mask, sizeof(mask)), maxnode);
        break;
    }
    case OP_ANON_NAME: {
        uint64_t a = addr_arg(w, in, s);
        uint64_t len = len_arg(in);
        char name[96];
        size_t n = u8(in) % sizeof(name);
        for (size_t i = 0; i < n; i++)
            name[i] = (char)(u8(in) % 4 ? 'a' + u8(in) % 26 : u8(in));
        name[n < sizeof(name) ? n : sizeof(name) - 1] = '\0';
        uint64_t p = u8(in) % 8 ? guest_ptr(w, in, s, name, n + 1) : 0;
        gmm_sys_prctl_set_vma_anon_name(s, a, len, p);
        break;
    }
    case OP_READ_WRITE:
        op_copy(w, in, s);
        break;
    case OP_TRANSLATE:
        op_translate(w, in, s, NULL);
        break;
    case OP_FORK: {
        int to = u8(in) % MAX_SPACES;
        if (w->sp[to])
            break;
        gmm_space *c = gmm_space_fork(s);
        tr("  fork -> space %d: %s\n", to, c ? "ok" : "NULL");
        if (c) {
            w->sp[to] = c;
            w->abi[to] = w->abi[slot];
            REQUIRE(gmm_space_user(c) == gmm_space_user(s), "fork: user pointer");
        }
        break;
    }
    case OP_DESTROY:
        destroy_space(w, slot, u8(in) & 1);
        break;
    case OP_CACHED:
        op_cached(w, in);
        break;
    case OP_CPU:
        op_cpu(w, in, s, slot);
        break;
    case OP_WINDOW:
        op_window(w, in, s, slot);
        break;
    case OP_WINDOW_TOUCH:
        op_window_touch(w, in, s, slot);
        break;
    case OP_SNAPSHOT:
        op_snapshot(w, in, s);
        break;
    case OP_MAPS:
        check_text(in, s, gmm_space_maps);
        break;
    case OP_STATUS:
        check_text(in, s, gmm_space_status);
        break;
    case OP_SMAPS:
        check_text(in, s, gmm_space_smaps);
        break;
    case OP_RLIMIT: {
        static const int res[] = {GMM_RLIMIT_AS, GMM_RLIMIT_DATA, GMM_RLIMIT_STACK,
                                  GMM_RLIMIT_MEMLOCK, 0, 7, -1};
        int rs = res[u8(in) % 7];
        uint64_t soft, hard;
        if (u8(in) & 1) {
            uint64_t nsoft = len_arg(in), nhard = u8(in) & 1 ? GMM_RLIM_INFINITY : len_arg(in);
            gmm_space_setrlimit(s, rs, nsoft, nhard);
        }
        if (gmm_space_getrlimit(s, rs, &soft, &hard) == 0)
            REQUIRE(soft <= hard, "getrlimit: soft above hard");
        break;
    }
    case OP_INIT_BRK:
        gmm_space_init_brk(s, addr_arg(w, in, s));
        break;
    case OP_EXEC_ONLY:
        REQUIRE(gmm_space_set_execute_only(s, u8(in) & 1) == 0, "set_execute_only failed");
        break;
    case OP_EXEC_RESET:
        REQUIRE(gmm_space_exec_reset(s) == 0, "exec_reset failed");
        break;
    case OP_SETUP_STACK:
        remember(w, gmm_space_setup_stack(s, u8(in) & 1 ? len_arg(in) : 0));
        break;
    case OP_SET_CODE: {
        uint64_t a = addr_arg(w, in, s);
        gmm_space_set_code(s, a, a + len_arg(in));
        break;
    }
    case OP_FILE_WRITTEN:
        op_file_written(w, in);
        break;
    case OP_FILE_RESIZED:
        op_file_resized(w, in);
        break;
    case OP_FILE_SYNC: {
        uint8_t b = u8(in);
        int err = gmm_file_sync(w->sys, file_dev[b % NFILES], file_ino[b % NFILES]);
        REQUIRE(err <= 0, "file_sync: positive result");
        break;
    }
    case OP_FILE_FAIL: {
        uint8_t b = u8(in);
        w->files[b % NFILES].fail_io = b & 2;
        break;
    }
    case OP_FRAME_CAP: {
        /* Always some cap: the harness must not run out of host memory. */
        uint8_t b = u8(in);
        uint64_t used = gmm_system_frames_used(w->sys);
        w->cap = b & 1 ? used + b / 8 : 1 + (uint64_t)u16(in) % MAX_FRAME_CAP;
        if (w->cap > MAX_FRAME_CAP)
            w->cap = MAX_FRAME_CAP;
        REQUIRE(gmm_system_set_frame_limit(w->sys, w->cap) == 0, "set_frame_limit failed");
        break;
    }
    case OP_ALLOC_FAIL: {
        /* One allocation of the next call fails, or all of them. */
        uint8_t b = u8(in);
        w->alloc.fail_all = b == 255;
        w->alloc.fail_at = w->alloc.calls + 1 + b % 16;
        run_op(w, in);
        w->alloc.fail_all = false;
        w->alloc.fail_at = 0;
        break;
    }
    case OP_USER: {
        void *p = u8(in) & 1 ? (void *)w : NULL;
        gmm_space_set_user(s, p);
        REQUIRE(gmm_space_user(s) == p, "space user pointer");
        break;
    }
    case OP_ERRORS: {
        int e = (int)(int16_t)u16(in);
        REQUIRE(gmm_strerror(e) != NULL && gmm_errname(e) != NULL, "error names");
        REQUIRE(gmm_version() != NULL, "version");
        /* A second system, the plain way (malloc, no host). */
        gmm_system *other = gmm_system_create(NULL);
        if (other) {
            gmm_space *o = gmm_space_create(other, GMM_ABI_I386);
            if (o)
                REQUIRE(gmm_sys_mmap(o, 0, PG, 3, GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS, -1, 0) > 0,
                        "mmap in a second system");
            gmm_system_destroy(other);
        }
        break;
    }
    case OP_CREATE: {
        /* Replace the space in the slot by a fresh one of the other ABI. */
        gmm_abi abi = w->abi[slot] == GMM_ABI_I386 ? GMM_ABI_X86_64 : GMM_ABI_I386;
        REQUIRE(gmm_space_create(w->sys, (gmm_abi)0) == NULL, "space of no ABI");
        gmm_space *n = gmm_space_create(w->sys, abi);
        if (n) {
            destroy_space(w, slot, true);
            w->sp[slot] = n;
            w->abi[slot] = abi;
        }
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct world w;
    memset(&w, 0, sizeof(w));
    for (int i = 0; i < NHANDLES; i++)
        w.handles[i].f = &w.files[i < 2 ? 0 : 1];
    struct in in = {data, size};
    /* The files start with some content. */
    pattern_init();
    for (int i = 0; i < NFILES; i++) {
        w.files[i].size = (uint64_t)u16(&in) % (8 * PG);
        memcpy(w.files[i].data, pattern + 7 * i, (size_t)w.files[i].size);
    }
    gmm_host host = {&w, get_file, on_fault, on_invalidate, on_code_written};
    w.mappable = size && (data[size - 1] & 2);
    w.sys = w.mappable ? gmm_system_create_mappable_with_allocator(&host, fz_alloc, &w.alloc)
                       : gmm_system_create_with_allocator(&host, fz_alloc, &w.alloc);
    if (!w.sys)
        die("system creation failed", NULL);
    w.cap = DEFAULT_FRAME_CAP;
    gmm_system_set_frame_limit(w.sys, w.cap);
    for (int steps = 0; in.n && steps < MAX_STEPS; steps++) {
        run_op(&w, &in);
        check_all(&w);
    }
    /* Tear down: CPUs first, then spaces one by one, or all with the
     * system. */
    cpu_destroy(&w, 0);
    cpu_destroy(&w, 1);
    if (size && (data[size - 1] & 1)) {
        for (int i = 0; i < MAX_SPACES; i++)
            if (w.sp[i])
                destroy_space(&w, i, i & 1);
    }
    /* The spaces left are destroyed by the system (their callbacks still
     * name spaces the harness holds as live); their windows after it. */
    gmm_system_destroy(w.sys);
    for (int i = 0; i < MAX_SPACES; i++)
        gmm_window_destroy(w.win[i]);
    for (int i = 0; i < NSNAPS; i++)
        snap_drop(&w.snaps[i]);
    if (w.alloc.live_blocks || w.alloc.live_bytes) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%llu blocks", (unsigned long long)w.alloc.live_blocks);
        die("allocator: blocks not given back after gmm_system_destroy", msg);
    }
    /* A file handle the library still held would have leaked its block,
     * so the check above covers handles too. */
    return 0;
}
