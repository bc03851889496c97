/*
 * test_allocfail.c - allocation failure at every allocation site in turn.
 *
 * Each scenario is a scripted sequence of calls (mmap, munmap, mprotect,
 * brk, fork, file mappings, user copies, translations, maps) on one ABI.
 * It runs once with an allocator that counts the allocations the calls
 * make; then, for k = 1 .. that count, again with the k-th allocation
 * failing.  The call that meets the failure must either succeed as it did
 * in the counting run or fail as Linux fails for lack of memory, having
 * changed nothing:
 *   - syscall entry points: -GMM_ENOMEM (brk: the old break);
 *   - gmm_space_fork: NULL;
 *   - gmm_read: -GMM_EFAULT; gmm_write: -GMM_EFAULT with the bytes before
 *     the page that could not be mapped copied (copy_to_user semantics),
 *     nothing after it;
 *   - gmm_translate: NULL after host->fault with GMM_SIGBUS/GMM_BUS_OOM.
 * "Nothing changed" is checked on every space: the maps text, every
 * readable byte, and the system's frame count.  After every call
 * gmm_space_check must pass, and at the end of every run every block must
 * be back with the allocator (and, in the sanitizer build, LeakSanitizer
 * sees no leak) and every file handle released.
 */
#include "memfile.h"

/* ---- the allocator ---- */

struct counting_alloc {
    bool armed;       /* count (and fail) only inside the call under test */
    uint64_t armed_calls, fail_at;
    bool fired;       /* the failure happened */
    uint64_t live_blocks;
};

static void *test_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct counting_alloc *a = ud;
    (void)old_size;
    if (new_size == 0) {
        assert_non_null(ptr);
        assert_true(a->live_blocks > 0);
        a->live_blocks--;
        free(ptr);
        return NULL;
    }
    assert_null(ptr); /* the library never resizes */
    if (a->armed && ++a->armed_calls == a->fail_at) {
        a->fired = true;
        return NULL;
    }
    void *p = malloc(new_size);
    assert_non_null(p);
    a->live_blocks++;
    return p;
}

/* ---- in-memory files (memfile.h), with handles that know whether the
 * library holds them ---- */

struct thandle {
    struct memfile *f; /* first: memfile_read and friends take the handle */
    int held;          /* handed out by get_file and not released */
};

static void tf_release(void *h)
{
    struct thandle *t = h;
    assert_true(t->held);
    t->held = 0;
}

static const gmm_file_ops tf_ops = {memfile_read, memfile_write, memfile_size, tf_release};

/* ---- one run of a scenario ---- */

#define MAX_SPACES 3
#define NREGS 8

struct run {
    struct counting_alloc alloc;
    struct memfile files[2];
    struct thandle handles[3]; /* fd 3: file 0 rw, fd 4: file 0 ro, fd 5: file 1 rw */
    gmm_system *sys;
    gmm_space *sp[MAX_SPACES];
    gmm_abi abi;
    uint64_t reg[NREGS];  /* addresses the calls returned */
    bool diverged;        /* an injected failure made a call fail */
    int faults;
    gmm_fault last_fault;
    /* Per call of the counting run: its result, to compare with. */
    int64_t *ref;
    size_t nref, step;
    bool counting;
    int failures_seen;    /* calls that failed cleanly */
};

static int run_get_file(void *user, int fd, gmm_file *out)
{
    struct run *r = user;
    if (fd < 3 || fd > 5)
        return -GMM_EBADF;
    struct thandle *h = &r->handles[fd - 3];
    memset(out, 0, sizeof(*out));
    out->ops = &tf_ops;
    out->handle = h;
    out->dev = 0x801;
    out->ino = h->f == &r->files[0] ? 11 : 12;
    out->path = h->f == &r->files[0] ? "/lib/a.so" : "/data/b";
    out->readable = 1;
    out->writable = fd != 4;
    h->held = 1;
    return 0;
}

static void run_fault(void *user, gmm_space *s, const gmm_fault *f)
{
    struct run *r = user;
    (void)s;
    r->faults++;
    r->last_fault = *f;
}

/* ---- snapshots: what "nothing changed" compares ---- */

struct snap {
    char maps[MAX_SPACES][4096];
    uint8_t *bytes; /* every readable byte of every space, in maps order */
    size_t nbytes;
    uint64_t frames;
};

static void snap_take(struct run *r, struct snap *sn)
{
    bool armed = r->alloc.armed;
    r->alloc.armed = false;
    memset(sn, 0, sizeof(*sn));
    size_t cap = 0;
    for (int i = 0; i < MAX_SPACES; i++) {
        if (!r->sp[i])
            continue;
        size_t n = gmm_space_maps(r->sp[i], sn->maps[i], sizeof(sn->maps[i]));
        assert_true(n < sizeof(sn->maps[i]));
        for (const char *l = sn->maps[i]; *l; l = strchr(l, '\n') + 1) {
            unsigned long long a, b;
            char perms[5];
            assert_int_equal(sscanf(l, "%llx-%llx %4s", &a, &b, perms), 3);
            if (perms[0] != 'r')
                continue;
            for (uint64_t p = a; p < b; p += PG) {
                if (sn->nbytes + PG + 1 > cap) {
                    cap = cap ? 2 * cap : 64 * PG;
                    sn->bytes = realloc(sn->bytes, cap);
                    assert_non_null(sn->bytes);
                }
                /* A page that cannot be read (beyond a file's end) is a
                 * 0 marker byte; a readable one 1 and its contents. */
                int ok = gmm_read(r->sp[i], p, sn->bytes + sn->nbytes + 1, PG) == 0;
                sn->bytes[sn->nbytes] = (uint8_t)ok;
                sn->nbytes += ok ? PG + 1 : 1;
            }
        }
    }
    sn->frames = gmm_system_frames_used(r->sys);
    r->alloc.armed = armed;
}

static void snap_free(struct snap *sn) { free(sn->bytes); }

static void assert_unchanged(struct run *r, struct snap *before, const char *what)
{
    struct snap after;
    snap_take(r, &after);
    for (int i = 0; i < MAX_SPACES; i++)
        if (strcmp(before->maps[i], after.maps[i]) != 0)
            fail_msg("%s failed (allocation %llu) but changed the maps of space %d:\n%s---\n%s",
                     what, (unsigned long long)r->alloc.fail_at, i, before->maps[i],
                     after.maps[i]);
    if (before->nbytes != after.nbytes ||
        (after.nbytes && memcmp(before->bytes, after.bytes, after.nbytes) != 0))
        fail_msg("%s failed (allocation %llu) but changed memory contents", what,
                 (unsigned long long)r->alloc.fail_at);
    if (before->frames != after.frames)
        fail_msg("%s failed (allocation %llu) but frames went from %llu to %llu", what,
                 (unsigned long long)r->alloc.fail_at, (unsigned long long)before->frames,
                 (unsigned long long)after.frames);
    snap_free(&after);
}

static void check_spaces(struct run *r)
{
    for (int i = 0; i < MAX_SPACES; i++)
        if (r->sp[i])
            CHECK(r->sp[i]);
}

/* ---- the calls a scenario makes ---- */

/* An address: a register (what an earlier call returned) plus pages, or an
 * absolute address when reg is -1. */
static uint64_t at(struct run *r, int reg, int64_t pages)
{
    return (reg < 0 ? 0 : r->reg[reg]) + (uint64_t)(pages * (int64_t)PG);
}

/* Runs one call under the failing allocator: the result of the counting
 * run is recorded, or compared with. */
#define CALL_BEGIN(r, sn)                                                              \
    struct snap sn;                                                                    \
    snap_take(r, &sn);                                                                 \
    bool fired_before_ = (r)->alloc.fired;                                             \
    (r)->alloc.armed = true
#define CALL_END(r) ((r)->alloc.armed = false, !fired_before_ && (r)->alloc.fired)

/* The counting run's result of this call, or records it. */
static int64_t reference(struct run *r, int64_t ret)
{
    if (r->counting) {
        r->ref = realloc(r->ref, (r->nref + 1) * sizeof(*r->ref));
        assert_non_null(r->ref);
        r->ref[r->nref++] = ret;
        return ret;
    }
    assert_true(r->step < r->nref);
    return r->ref[r->step++];
}

/* A syscall-shaped call: its result must be the counting run's, or (when
 * this call met the failure) -GMM_ENOMEM with nothing changed. */
static int64_t finish_sys(struct run *r, struct snap *sn, bool hit, int64_t ret, int64_t fail,
                          const char *what)
{
    int64_t ref = reference(r, ret);
    if (hit && ret != ref) {
        /* Where Linux says EAGAIN for a split out of memory (madvise,
         * PR_SET_VMA_ANON_NAME) it still says ENOMEM for other
         * allocations (the name itself). */
        if (ret != fail && !(fail == -GMM_EAGAIN && ret == -GMM_ENOMEM))
            fail_msg("%s: allocation %llu failed and it returned %lld, not %lld or %lld", what,
                     (unsigned long long)r->alloc.fail_at, (long long)ret, (long long)ref,
                     (long long)fail);
        assert_unchanged(r, sn, what);
        r->diverged = true;
        r->failures_seen++;
    } else if (!r->diverged && ret != ref) {
        fail_msg("%s returned %lld, the counting run %lld (allocation %llu failing)", what,
                 (long long)ret, (long long)ref, (unsigned long long)r->alloc.fail_at);
    }
    snap_free(sn);
    check_spaces(r);
    return ret;
}

static void do_mmap(struct run *r, int sp, int dst, int reg, int64_t pages, uint64_t len,
                    int prot, int flags, int fd, uint64_t off)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    uint64_t addr = reg == -2 ? 0 : at(r, reg, pages);
    CALL_BEGIN(r, sn);
    int64_t ret = gmm_sys_mmap(s, addr, len, prot, flags, fd, off);
    bool hit = CALL_END(r);
    ret = finish_sys(r, &sn, hit, ret, -GMM_ENOMEM, "mmap");
    if (ret >= 0 && dst >= 0)
        r->reg[dst] = (uint64_t)ret;
}

static void do_munmap(struct run *r, int sp, int reg, int64_t pages, uint64_t len)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    CALL_BEGIN(r, sn);
    int64_t ret = gmm_sys_munmap(s, at(r, reg, pages), len);
    bool hit = CALL_END(r);
    finish_sys(r, &sn, hit, ret, -GMM_ENOMEM, "munmap");
}

static void do_mprotect(struct run *r, int sp, int reg, int64_t pages, uint64_t len, int prot)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    CALL_BEGIN(r, sn);
    int64_t ret = gmm_sys_mprotect(s, at(r, reg, pages), len, prot);
    bool hit = CALL_END(r);
    finish_sys(r, &sn, hit, ret, -GMM_ENOMEM, "mprotect");
}

static void do_brk(struct run *r, int sp, int64_t delta)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    int64_t old = gmm_sys_brk(s, 0);
    CALL_BEGIN(r, sn);
    int64_t ret = gmm_sys_brk(s, (uint64_t)(old + delta));
    bool hit = CALL_END(r);
    /* brk fails by returning the old break. */
    finish_sys(r, &sn, hit, ret, old, "brk");
}

static void do_fork(struct run *r, int from, int to)
{
    if (!r->sp[from] || r->sp[to])
        return;
    CALL_BEGIN(r, sn);
    gmm_space *c = gmm_space_fork(r->sp[from]);
    bool hit = CALL_END(r);
    int64_t ref = reference(r, c != NULL);
    if (!c) {
        if (!hit && !r->diverged)
            fail_msg("fork failed without an injected failure");
        /* The parent is untouched, and no frame or block of the child
         * stays behind. */
        assert_unchanged(r, &sn, "fork");
        r->diverged |= ref != 0;
        r->failures_seen++;
    } else {
        assert_true(ref || r->diverged);
        r->sp[to] = c;
    }
    snap_free(&sn);
    check_spaces(r);
}

static void do_destroy(struct run *r, int sp)
{
    if (r->sp[sp]) {
        gmm_space_destroy(r->sp[sp]);
        r->sp[sp] = NULL;
        check_spaces(r);
    }
}

/* gmm_write of len bytes (a pattern from seed) at reg + pages + off. */
static void do_write(struct run *r, int sp, int reg, int64_t pages, uint64_t off, size_t len,
                     uint8_t seed)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    uint64_t addr = at(r, reg, pages) + off;
    uint8_t *src = malloc(len), *old = malloc(len), *now = malloc(len);
    assert_true(src && old && now);
    for (size_t i = 0; i < len; i++)
        src[i] = (uint8_t)(seed + i * 7 + (i >> 12));
    int old_ok = gmm_read(s, addr, old, len);
    CALL_BEGIN(r, sn);
    int ret = gmm_write(s, addr, src, len);
    bool hit = CALL_END(r);
    int64_t ref = reference(r, ret);
    if (hit && ret != ref) {
        assert_int_equal(ret, -GMM_EFAULT);
        assert_int_equal(old_ok, 0);
        /* A prefix of whole pages (from addr) took the new bytes, the rest
         * kept the old; the maps did not change. */
        assert_int_equal(gmm_read(s, addr, now, len), 0);
        bool prefix = false;
        for (size_t p = 0; p <= len && !prefix;
             p = p ? p + PG : (size_t)(PG - (addr & (PG - 1))))
            prefix = memcmp(now, src, p) == 0 && memcmp(now + p, old + p, len - p) == 0;
        if (!prefix)
            fail_msg("gmm_write failed (allocation %llu) but its bytes are not a copied "
                     "prefix of whole pages and the old rest",
                     (unsigned long long)r->alloc.fail_at);
        for (int i = 0; i < MAX_SPACES; i++) {
            char maps[4096];
            if (r->sp[i]) {
                gmm_space_maps(r->sp[i], maps, sizeof(maps));
                assert_string_equal(maps, sn.maps[i]);
            }
        }
        r->diverged = true;
        r->failures_seen++;
    } else if (!r->diverged) {
        assert_int_equal(ret, ref);
    }
    snap_free(&sn);
    free(src), free(old), free(now);
    check_spaces(r);
}

/* gmm_write of the given bytes (setting up guest memory a call reads). */
static void do_write_bytes(struct run *r, int sp, int reg, int64_t pages, const void *src,
                           size_t len)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    CALL_BEGIN(r, sn);
    int ret = gmm_write(s, at(r, reg, pages), src, len);
    bool hit = CALL_END(r);
    finish_sys(r, &sn, hit, ret, -GMM_EFAULT, "gmm_write");
}

static void do_read(struct run *r, int sp, int reg, int64_t pages, uint64_t off, size_t len)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    uint8_t *dst = malloc(len);
    assert_non_null(dst);
    CALL_BEGIN(r, sn);
    int ret = gmm_read(s, at(r, reg, pages) + off, dst, len);
    bool hit = CALL_END(r);
    finish_sys(r, &sn, hit, ret, -GMM_EFAULT, "gmm_read");
    free(dst);
}

static void do_translate(struct run *r, int sp, int reg, int64_t pages, int access)
{
    gmm_space *s = r->sp[sp];
    if (!s)
        return;
    int faults = r->faults;
    CALL_BEGIN(r, sn);
    uint8_t *p = gmm_translate(s, at(r, reg, pages), access);
    bool hit = CALL_END(r);
    int64_t ref = reference(r, p != NULL);
    if (hit && !p && ref) {
        assert_int_equal(r->faults, faults + 1);
        assert_int_equal(r->last_fault.signo, GMM_SIGBUS);
        assert_int_equal(r->last_fault.code, GMM_BUS_OOM);
        assert_unchanged(r, &sn, "gmm_translate");
        r->diverged = true;
        r->failures_seen++;
    } else if (!r->diverged) {
        assert_int_equal(p != NULL, ref);
    }
    if (p && (access & GMM_ACCESS_WRITE))
        *p = 0x5a;
    snap_free(&sn);
    check_spaces(r);
}

static void do_maps(struct run *r, int sp)
{
    if (!r->sp[sp])
        return;
    char buf[4096];
    CALL_BEGIN(r, sn);
    size_t n = gmm_space_maps(r->sp[sp], buf, sizeof(buf));
    bool hit = CALL_END(r);
    assert_false(hit); /* it allocates nothing */
    assert_true(n < sizeof(buf));
    assert_string_equal(buf, sn.maps[sp]);
    snap_free(&sn);
}

/* ---- scenarios ---- */

#define ANON (GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS)
#define SHARED_ANON (GMM_MAP_SHARED | GMM_MAP_ANONYMOUS)

static void scenario_anon(struct run *r)
{
    do_mmap(r, 0, 0, -2, 0, 16 * PG, RW, ANON, -1, 0);
    do_mmap(r, 0, 1, -2, 0, 4 * PG, GMM_PROT_READ, ANON, -1, 0);
    do_write(r, 0, 0, 0, 100, 3 * PG, 1);
    do_read(r, 0, 0, 0, 0, 2 * PG);
    do_mprotect(r, 0, 0, 4, 2 * PG, GMM_PROT_READ);          /* split in three */
    do_mprotect(r, 0, 0, 4, 2 * PG, RW);                     /* merge back */
    do_mprotect(r, 0, 0, 2, 8 * PG, GMM_PROT_READ);
    do_mmap(r, 0, 2, 0, 6, 2 * PG, RW, ANON | GMM_MAP_FIXED, -1, 0); /* replace a middle */
    do_write(r, 0, 2, 0, 0, PG, 2);
    do_mmap(r, 0, 3, 0, 12, PG, RW, ANON | GMM_MAP_FIXED_NOREPLACE, -1, 0);
    do_munmap(r, 0, 0, 9, PG);                               /* punch a hole */
    do_mprotect(r, 0, 0, 8, 4 * PG, RW);                     /* over the hole */
    do_translate(r, 0, 0, 14, GMM_ACCESS_WRITE);
    do_translate(r, 0, 1, 1, GMM_ACCESS_READ);
    do_mmap(r, 0, 4, -2, 0, 2 * PG, RW, ANON | GMM_MAP_POPULATE, -1, 0);
    do_mmap(r, 0, 5, -2, 0, 64 * PG, GMM_PROT_NONE, ANON | GMM_MAP_NORESERVE, -1, 0);
    do_maps(r, 0);
    do_munmap(r, 0, 0, 0, 16 * PG);
    do_munmap(r, 0, 5, 10, 4 * PG);
    do_maps(r, 0);
}

static void scenario_brk(struct run *r)
{
    gmm_space_init_brk(r->sp[0], r->abi == GMM_ABI_I386 ? 0x0804c000 : 0x555555558000);
    do_brk(r, 0, 5 * (int64_t)PG + 123);
    r->reg[0] = (uint64_t)gmm_sys_brk(r->sp[0], 0) & ~(PG - 1);
    do_write(r, 0, 0, -5, 0, 4 * PG, 3);
    do_brk(r, 0, -2 * (int64_t)PG);
    do_mprotect(r, 0, 0, -4, PG, GMM_PROT_READ);
    do_brk(r, 0, 3 * (int64_t)PG);
    do_brk(r, 0, -6 * (int64_t)PG);
    do_maps(r, 0);
}

static void scenario_fork(struct run *r)
{
    do_mmap(r, 0, 0, -2, 0, 8 * PG, RW, ANON, -1, 0);
    do_mmap(r, 0, 1, -2, 0, 4 * PG, RW, SHARED_ANON, -1, 0);
    do_write(r, 0, 0, 0, 0, 5 * PG, 4);
    do_write(r, 0, 1, 0, 10, 2 * PG, 5);
    do_mprotect(r, 0, 0, 6, PG, GMM_PROT_READ);
    do_fork(r, 0, 1);
    do_write(r, 1, 0, 1, 0, 2 * PG, 6);  /* copy on write in the child */
    do_write(r, 0, 0, 2, 0, PG, 7);      /* and in the parent */
    do_write(r, 1, 1, 0, 0, PG, 8);      /* shared: both see it */
    do_translate(r, 0, 0, 3, GMM_ACCESS_WRITE);
    do_munmap(r, 1, 0, 2, 2 * PG);
    do_fork(r, 1, 2);
    do_write(r, 2, 0, 0, 0, PG, 9);
    do_destroy(r, 1);
    do_read(r, 2, 1, 0, 0, 4 * PG);
    do_fork(r, 2, 1);
    do_destroy(r, 0);
    do_maps(r, 1);
}

/* mprotect that splits two different regions (at its start and at its
 * end; a shared page between them keeps them from merging), in a fresh
 * fork child whose regions all come from the allocator. */
static void scenario_mprotect_two_splits(struct run *r)
{
    do_mmap(r, 0, 0, -2, 0, 8 * PG, RW, ANON, -1, 0);
    do_mmap(r, 0, 1, 0, 4, PG, RW, SHARED_ANON | GMM_MAP_FIXED, -1, 0);
    do_write(r, 0, 0, 0, 0, 8 * PG, 17);
    do_fork(r, 0, 1);
    do_mprotect(r, 1, 0, 2, 5 * PG, GMM_PROT_NONE); /* [2, 7): splits [0, 4) and [5, 8) */
    do_fork(r, 0, 2);
    do_munmap(r, 2, 0, 2, 5 * PG);                  /* the same edges, unmapped */
    do_mprotect(r, 1, 0, 0, 8 * PG, RW);            /* merges everything back */
    do_maps(r, 1);
}

static void scenario_file(struct run *r)
{
    do_mmap(r, 0, 0, -2, 0, 5 * PG, RW, GMM_MAP_PRIVATE, 3, 0);
    do_mmap(r, 0, 1, -2, 0, 3 * PG, RW, GMM_MAP_SHARED, 3, PG);
    do_mmap(r, 0, 2, -2, 0, 2 * PG, GMM_PROT_READ, GMM_MAP_SHARED, 4, 0);
    do_mmap(r, 0, 3, -2, 0, 2 * PG, GMM_PROT_READ, GMM_MAP_PRIVATE, 5, 0); /* another file */
    do_read(r, 0, 0, 0, 0, 4 * PG);
    do_write(r, 0, 0, 1, 7, PG, 10);    /* private copy of a file page */
    do_write(r, 0, 1, 0, 0, 2 * PG, 11); /* shared: dirty page cache */
    do_read(r, 0, 2, 0, 0, 2 * PG);
    do_translate(r, 0, 3, 1, GMM_ACCESS_READ);
    do_mprotect(r, 0, 0, 1, 2 * PG, GMM_PROT_READ);
    do_fork(r, 0, 1);
    do_write(r, 1, 1, 2, 0, 16, 12);
    do_mmap(r, 1, 4, -2, 0, 2 * PG, RW, GMM_MAP_SHARED, 5, 0); /* the other file, shared */
    do_write(r, 1, 4, 0, 0, PG, 13);
    do_munmap(r, 0, 1, 0, 3 * PG); /* the parent's last shared mapping of file 0 stays in the child */
    do_destroy(r, 1);              /* the last one: written back */
    do_mmap(r, 0, 5, 0, 2, PG, RW, GMM_MAP_SHARED | GMM_MAP_FIXED, 3, 2 * PG);
    do_maps(r, 0);
}

/* A syscall that returns 0 or an errno: the result of the counting run, or
 * (when this call met the failure) fail with nothing changed.  The
 * expression may use s, the space. */
#define SYS_STEP(r, idx, what, fail, expr)                                             \
    do {                                                                               \
        gmm_space *s = (r)->sp[idx];                                                   \
        if (s) {                                                                       \
            CALL_BEGIN(r, sn_);                                                        \
            int64_t ret_ = (expr);                                                     \
            bool hit_ = CALL_END(r);                                                   \
            finish_sys(r, &sn_, hit_, ret_, fail, what);                               \
        }                                                                              \
    } while (0)

/* The calls that change attributes over several regions (each range below
 * crosses two regions that cannot merge, so both edges split), and mremap.
 * Linux turns a split out of memory into -EAGAIN for madvise, -ENOMEM for
 * the others. */
static void scenario_attributes(struct run *r)
{
    do_mmap(r, 0, 0, -2, 0, 12 * PG, RW, ANON, -1, 0);
    do_mmap(r, 0, 1, 0, 6, PG, RW, SHARED_ANON | GMM_MAP_FIXED, -1, 0);
    do_write(r, 0, 0, 0, 0, 6 * PG, 18);
    uint64_t node0 = 1;
    char name[] = "heap-ish";
    do_write_bytes(r, 0, 0, 0, &node0, sizeof(node0));
    do_write_bytes(r, 0, 0, 1, name, sizeof(name));
    uint64_t mask = r->reg[0], str = r->reg[0] + PG;
    do_fork(r, 0, 1); /* a space with an empty region cache */
    SYS_STEP(r, 1, "madvise", -GMM_EAGAIN, gmm_sys_madvise(s, at(r, 0, 2), 8 * PG, GMM_MADV_DONTFORK));
    SYS_STEP(r, 1, "mlock", -GMM_ENOMEM, gmm_sys_mlock(s, at(r, 0, 3), 6 * PG));
    SYS_STEP(r, 1, "munlock", -GMM_ENOMEM, gmm_sys_munlock(s, at(r, 0, 4), 4 * PG));
    SYS_STEP(r, 1, "mbind", -GMM_ENOMEM,
             gmm_sys_mbind(s, at(r, 0, 1), 10 * PG, GMM_MPOL_BIND, mask, 64, 0));
    SYS_STEP(r, 1, "anon name", -GMM_EAGAIN,
             gmm_sys_prctl_set_vma_anon_name(s, at(r, 0, 5), 4 * PG, str));
    SYS_STEP(r, 1, "madvise", -GMM_ENOMEM, gmm_sys_madvise(s, at(r, 0, 1), 3 * PG, GMM_MADV_DONTNEED));
    SYS_STEP(r, 1, "madvise", -GMM_ENOMEM,
             gmm_sys_madvise(s, at(r, 0, 8), 2 * PG, GMM_MADV_GUARD_INSTALL));
    do_fork(r, 0, 2);
    SYS_STEP(r, 2, "mremap", -GMM_ENOMEM,
             gmm_sys_mremap(s, at(r, 0, 0), 4 * PG, 20 * PG, GMM_MREMAP_MAYMOVE, 0));
    SYS_STEP(r, 2, "mremap", -GMM_ENOMEM, gmm_sys_mremap(s, at(r, 0, 8), 4 * PG, 2 * PG, 0, 0));
    SYS_STEP(r, 2, "mremap", -GMM_ENOMEM,
             gmm_sys_mremap(s, at(r, 0, 4), PG, PG, GMM_MREMAP_MAYMOVE | GMM_MREMAP_DONTUNMAP, 0));
    SYS_STEP(r, 2, "msync", -GMM_ENOMEM, gmm_sys_msync(s, at(r, 1, 0), PG, GMM_MS_SYNC));
    do_maps(r, 1);
    do_maps(r, 2);
}

static void scenario_copies(struct run *r)
{
    do_mmap(r, 0, 0, -2, 0, 6 * PG, RW, ANON, -1, 0);
    do_mmap(r, 0, 1, -2, 0, 2 * PG, GMM_PROT_READ, ANON, -1, 0);
    do_read(r, 0, 0, 0, 0, 6 * PG);                  /* zero pages */
    do_write(r, 0, 0, 0, 2000, 3 * PG, 14);         /* zero page to private */
    do_translate(r, 0, 0, 4, GMM_ACCESS_READ);
    do_translate(r, 0, 0, 5, GMM_ACCESS_WRITE);
    do_translate(r, 0, 1, 0, GMM_ACCESS_READ);
    do_fork(r, 0, 1);
    do_write(r, 0, 0, 0, 0, 6 * PG, 15);             /* copy on write everywhere */
    do_read(r, 1, 0, 0, 0, 6 * PG);
    do_write(r, 1, 1, 0, 0, 16, 16);                 /* read-only: -EFAULT, always */
}

/* ---- the driver ---- */

typedef void (*scenario_fn)(struct run *);

static void run_init(struct run *r, gmm_abi abi, uint64_t fail_at, int64_t *ref, size_t nref)
{
    memset(r, 0, sizeof(*r));
    r->abi = abi;
    r->alloc.fail_at = fail_at;
    r->ref = ref;
    r->nref = nref;
    r->counting = fail_at == 0;
    for (int i = 0; i < 2; i++) {
        r->files[i].size = 5 * PG + 300 * (uint64_t)i;
        for (uint64_t j = 0; j < r->files[i].size; j++)
            r->files[i].data[j] = (uint8_t)(j * 13 + (uint64_t)i);
    }
    r->handles[0].f = r->handles[1].f = &r->files[0];
    r->handles[2].f = &r->files[1];
    gmm_host host = {.user = r, .get_file = run_get_file, .fault = run_fault};
    r->sys = gmm_system_create_with_allocator(&host, test_alloc, &r->alloc);
    assert_non_null(r->sys);
    r->sp[0] = gmm_space_create(r->sys, abi);
    assert_non_null(r->sp[0]);
}

/* Tears the run down: every block back, every file handle released. */
static void run_fini(struct run *r)
{
    for (int i = 0; i < MAX_SPACES; i++)
        gmm_space_destroy(r->sp[i]);
    gmm_system_destroy(r->sys);
    if (r->alloc.live_blocks)
        fail_msg("%llu blocks leaked (allocation %llu failing)",
                 (unsigned long long)r->alloc.live_blocks, (unsigned long long)r->alloc.fail_at);
    for (int i = 0; i < 3; i++)
        if (r->handles[i].held)
            fail_msg("file handle %d never released (allocation %llu failing)", i,
                     (unsigned long long)r->alloc.fail_at);
}

static void fail_each_allocation(scenario_fn fn, gmm_abi abi, const char *name)
{
    struct run r;
    run_init(&r, abi, 0, NULL, 0);
    fn(&r);
    uint64_t n = r.alloc.armed_calls;
    int64_t *ref = r.ref;
    size_t nref = r.nref;
    run_fini(&r);
    assert_true(n > 0);
    int failures = 0;
    for (uint64_t k = 1; k <= n; k++) {
        run_init(&r, abi, k, ref, nref);
        fn(&r);
        assert_true(r.alloc.fired);
        failures += r.failures_seen;
        run_fini(&r);
    }
    print_message("%s (%s): %llu allocations failed in turn, %d calls failed cleanly\n", name,
                  abi == GMM_ABI_I386 ? "i386" : "x86-64", (unsigned long long)n, failures);
    free(ref);
}

#define SCENARIO_TESTS(name)                                                           \
    static void name##_i386(void **state)                                              \
    {                                                                                  \
        (void)state;                                                                   \
        fail_each_allocation(scenario_##name, GMM_ABI_I386, #name);                    \
    }                                                                                  \
    static void name##_x86_64(void **state)                                            \
    {                                                                                  \
        (void)state;                                                                   \
        fail_each_allocation(scenario_##name, GMM_ABI_X86_64, #name);                  \
    }

SCENARIO_TESTS(anon)
SCENARIO_TESTS(brk)
SCENARIO_TESTS(fork)
SCENARIO_TESTS(mprotect_two_splits)
SCENARIO_TESTS(file)
SCENARIO_TESTS(copies)
SCENARIO_TESTS(attributes)

/* The system itself (its structure, its first arena), a space and a CPU
 * object, created under failure: NULL, and nothing left behind. */
/* The steps of creation_steps, in order. */
enum { STEP_SYSTEM, STEP_SPACE, STEP_CPU, STEP_MMAP, STEP_WRITE, STEPS };

/* Creates a system, a space and a CPU, maps a page and writes it, with
 * allocator a; stops at the first step that fails and returns its index
 * (STEPS: none failed).  after[i]: a->armed_calls when step i was done.
 * *addr: what the mmap returned.  Everything is destroyed again. */
static int creation_steps(struct counting_alloc *a, uint64_t after[STEPS], int64_t *addr)
{
    int failed = STEPS;
    gmm_system *sys = gmm_system_create_with_allocator(NULL, test_alloc, a);
    after[STEP_SYSTEM] = a->armed_calls;
    gmm_space *s = NULL;
    gmm_cpu *cpu = NULL;
    if (!sys) {
        failed = STEP_SYSTEM;
        goto out;
    }
    s = gmm_space_create(sys, GMM_ABI_X86_64);
    after[STEP_SPACE] = a->armed_calls;
    if (!s) {
        failed = STEP_SPACE;
        goto out;
    }
    cpu = gmm_cpu_create(s);
    after[STEP_CPU] = a->armed_calls;
    if (!cpu) {
        failed = STEP_CPU;
        goto out;
    }
    *addr = gmm_sys_mmap(s, 0, PG, RW, ANON, -1, 0);
    after[STEP_MMAP] = a->armed_calls;
    if (*addr < 0) {
        assert_int_equal(*addr, -GMM_ENOMEM);
        failed = STEP_MMAP;
        goto out;
    }
    /* The first touch allocates the page-table nodes. */
    int w = gmm_write(s, (gmm_addr)*addr, "x", 1);
    after[STEP_WRITE] = a->armed_calls;
    if (w) {
        assert_int_equal(w, -GMM_EFAULT);
        failed = STEP_WRITE;
        goto out;
    }
    char c = 0;
    assert_int_equal(gmm_read(s, (gmm_addr)*addr, &c, 1), 0);
    assert_int_equal(c, 'x');
out:
    if (s)
        CHECK(s);
    gmm_cpu_destroy(cpu);
    if (s)
        gmm_space_destroy(s);
    gmm_system_destroy(sys);
    assert_int_equal(a->live_blocks, 0);
    return failed;
}

/* Every allocation of creating a system, a space and a CPU, mapping and
 * touching a page, fails in turn: the step that makes it fails (NULL,
 * -GMM_ENOMEM, -GMM_EFAULT), the steps before it succeed, nothing leaks;
 * one more than the allocations counted and everything succeeds. */
static void system_space_and_cpu_creation_fail_cleanly(void **state)
{
    (void)state;
    uint64_t count[STEPS];
    int64_t addr = 0;
    struct counting_alloc a = {.armed = true, .fail_at = 0};
    assert_int_equal(creation_steps(&a, count, &addr), STEPS);
    assert_false(a.fired);
    uint64_t n = a.armed_calls;
    /* Every step allocates (the system its own structure and more, the
     * space and the CPU theirs, mmap a region, the write page-table
     * nodes); a step that allocated nothing would test nothing here. */
    assert_true(count[STEP_SYSTEM] > 0);
    for (int i = 1; i < STEPS; i++)
        assert_true(count[i] > count[i - 1]);
    assert_int_equal(count[STEP_WRITE], n);
    for (uint64_t k = 1; k <= n + 1; k++) {
        struct counting_alloc f = {.armed = true, .fail_at = k};
        uint64_t after[STEPS];
        int64_t got = 0;
        int failed = creation_steps(&f, after, &got);
        int want = STEPS;
        for (int i = STEPS - 1; i >= 0; i--)
            if (k <= count[i])
                want = i;
        if (failed != want)
            fail_msg("allocation %llu of %llu failing: step %d failed, want step %d",
                     (unsigned long long)k, (unsigned long long)n, failed, want);
        assert_int_equal(f.fired, k <= n);
        if (k > n)
            assert_int_equal(got, addr);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(system_space_and_cpu_creation_fail_cleanly),
        cmocka_unit_test(anon_i386),   cmocka_unit_test(anon_x86_64),
        cmocka_unit_test(brk_i386),    cmocka_unit_test(brk_x86_64),
        cmocka_unit_test(fork_i386),   cmocka_unit_test(fork_x86_64),
        cmocka_unit_test(mprotect_two_splits_i386),
        cmocka_unit_test(mprotect_two_splits_x86_64),
        cmocka_unit_test(file_i386),   cmocka_unit_test(file_x86_64),
        cmocka_unit_test(copies_i386), cmocka_unit_test(copies_x86_64),
        cmocka_unit_test(attributes_i386), cmocka_unit_test(attributes_x86_64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
