/*
 * window.c - host windows: a space's guest pages mirrored into host memory
 * at base + guest address, so that generated code loads and stores guest
 * memory directly and the host MMU enforces the guest's rights.
 *
 * A window is one more consumer of a space's translations, like a TLB whose
 * entries are host mappings.  The mirror rule: whenever no library call is
 * running, a host page of a window either maps nothing (PROT_NONE) or maps
 * exactly the frame the space's page table holds for that guest page (its
 * offset in the system's memory file; the zero frame as private zero pages),
 * with host rights no wider than space_grant() gives a TLB: read where the
 * guest may read, write only where a store needs no work first.  Host
 * execution is never granted.
 *
 *   - Pages are mapped only by gmm_window_fault (a host fault in the
 *     window), under the space lock.
 *   - Every change of a translation goes through tlb_shootdown, which calls
 *     window_shootdown before it returns: the pages go back to PROT_NONE.
 *     So the windows follow every rule the TLBs follow, synchronously.
 *
 * w->map records what is mapped: per guest page a WPTE (frame, write bit,
 * zero bit).  From it the number of host mappings in the reservation is
 * kept exactly (the kernel merges neighbours of one kind: unmapped pages,
 * zero pages, or frames at consecutive file offsets with the same rights),
 * so a window stays within its budget of host mappings: past the budget it
 * unmaps everything (one mapping again) and faults back what is used.
 *
 * Lock: w->map, w->host_maps and the space's window list are guarded by
 * the system's mm lock.  The registry of windows (for the ready-made
 * handler) is a fixed array read without locks from signal handlers.
 */
#include "internal.h"
#include "host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#define WPTE_WRITE ((pte_t)2)
#define WPTE_ZERO ((pte_t)4)
#define WINDOW_SLOTS 1024
#define DEFAULT_BUDGET 8192
#define DEFAULT_FAULT_AROUND 16
#define MAX_AROUND 512
#define I386_SPAN ((uint64_t)1 << 32)

struct gmm_window {
    gmm_space *space; /* NULL once the space is destroyed */
    gmm_system *sys;
    gmm_window *next; /* space->windows */
    uintptr_t base;   /* host address of guest address 0 */
    uintptr_t resv;   /* the reservation: [resv, resv + resv_len) */
    size_t resv_len;
    gmm_addr lo, hi;  /* the guest range mirrored */
    struct pagetable map;
    uint64_t host_maps; /* host mappings inside the reservation */
    uint64_t budget;
    unsigned fault_around;
    /* The block size in use: fault_around, doubled (up to MAX_AROUND) at
     * each fault on the page right after the previous block, as a
     * sequential reader's readahead grows. */
    unsigned around;
    uint64_t next_pn;
    /* While gmm_window_fault resolves page faulting - 1 (0: none), a
     * shootdown of that one page leaves the host page alone: the fault
     * maps the page's new state over it before it returns. */
    uint64_t faulting;
    int slot;
    gmm_window_stats stats;
};

/* ---- the registry: which host range belongs to which window ---- */

static struct {
    uintptr_t lo, hi; /* atomic */
    gmm_window *w;    /* atomic */
} registry[WINDOW_SLOTS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static int registry_top; /* atomic: slots at or above it are empty */

static int registry_add(gmm_window *w)
{
    pthread_mutex_lock(&registry_lock);
    int slot = -1;
    for (int i = 0; i < WINDOW_SLOTS && slot < 0; i++)
        if (!__atomic_load_n(&registry[i].w, __ATOMIC_ACQUIRE))
            slot = i;
    if (slot >= 0) {
        if (slot >= __atomic_load_n(&registry_top, __ATOMIC_RELAXED))
            __atomic_store_n(&registry_top, slot + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&registry[slot].lo, w->resv, __ATOMIC_RELAXED);
        __atomic_store_n(&registry[slot].hi, w->resv + w->resv_len, __ATOMIC_RELAXED);
        __atomic_store_n(&registry[slot].w, w, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&registry_lock);
    return slot;
}

static void registry_remove(gmm_window *w)
{
    pthread_mutex_lock(&registry_lock);
    __atomic_store_n(&registry[w->slot].w, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&registry[w->slot].lo, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&registry[w->slot].hi, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&registry_lock);
}

gmm_window *gmm_window_find(uintptr_t host_addr)
{
    int top = __atomic_load_n(&registry_top, __ATOMIC_ACQUIRE);
    for (int i = 0; i < top; i++) {
        gmm_window *w = __atomic_load_n(&registry[i].w, __ATOMIC_ACQUIRE);
        if (w && host_addr >= __atomic_load_n(&registry[i].lo, __ATOMIC_RELAXED) &&
            host_addr < __atomic_load_n(&registry[i].hi, __ATOMIC_RELAXED))
            return w;
    }
    return NULL;
}

/* ---- what is mapped, and how many host mappings that makes ---- */

static inline pte_t map_get(gmm_window *w, uint64_t pn)
{
    pte_t *p = pt_slot(&w->map, pn, false);
    return p ? *p : 0;
}

/* Do the host pages of guest pages pn and pn+1 (states a and b) lie in one
 * host mapping?  Unmapped pages merge with each other, zero pages too, and
 * frames when their file offsets follow and their rights are equal. */
static inline bool same_mapping(pte_t a, pte_t b)
{
    if (!a || !b)
        return !a && !b;
    if ((a ^ b) & (WPTE_ZERO | WPTE_WRITE))
        return false;
    return (a & WPTE_ZERO) || pte_frame(b) == pte_frame(a) + 1;
}

/* The reservation's page numbers (guest page numbers) */
static inline uint64_t resv_first(const gmm_window *w)
{
    return (w->resv - w->base) >> PAGE_SHIFT;
}

static inline uint64_t resv_end(const gmm_window *w)
{
    return resv_first(w) + (w->resv_len >> PAGE_SHIFT);
}

/* Page pn goes from state old to state new: keeps host_maps exact. */
static void map_count(gmm_window *w, uint64_t pn, pte_t old, pte_t new)
{
    int64_t d = 0;
    if (pn > resv_first(w)) {
        pte_t l = map_get(w, pn - 1);
        d += !same_mapping(l, new) - !same_mapping(l, old);
    }
    if (pn + 1 < resv_end(w)) {
        pte_t r = map_get(w, pn + 1);
        d += !same_mapping(new, r) - !same_mapping(old, r);
    }
    w->host_maps += (uint64_t)d;
}

static void map_clear_visit(void *ctx, uint64_t pn, pte_t pte)
{
    gmm_window *w = ctx;
    map_count(w, pn, pte, 0);
}

static void map_drop_all(gmm_window *w)
{
    pt_destroy(&w->map, NULL, NULL);
    w->map.root = NULL;
    w->map.present = 0;
    w->host_maps = 1;
}

/* Unmaps the whole reservation: one host mapping again.  Failing here would
 * leave frames mapped that the page table no longer gives: the wall between
 * guest and host, so the process stops instead. */
static void window_flush(gmm_window *w)
{
    if (w->map.present && host_window_none(w->resv, w->resv_len))
        abort();
    map_drop_all(w);
    w->stats.flushes++;
}

struct span {
    uint64_t first, last;
    bool any;
};

static void span_visit(void *ctx, uint64_t pn, pte_t pte)
{
    (void)pte;
    struct span *sp = ctx;
    if (!sp->any)
        sp->first = pn;
    sp->last = pn;
    sp->any = true;
}

static void window_unmap(gmm_window *w, gmm_addr start, gmm_addr end)
{
    if (w->faulting && start == (w->faulting - 1) << PAGE_SHIFT && end - start == PAGE_SIZE)
        return; /* a copy on write of the faulting page: remapped at once */
    if (start < w->lo)
        start = w->lo;
    if (end > w->hi)
        end = w->hi;
    if (start >= end || !w->map.present)
        return;
    uint64_t lo = start >> PAGE_SHIFT, hi = (end + PAGE_SIZE - 1) >> PAGE_SHIFT;
    struct span sp = {0, 0, false};
    pt_walk(&w->map, lo, hi, span_visit, &sp);
    if (!sp.any)
        return;
    if (host_window_none(w->base + (sp.first << PAGE_SHIFT), (sp.last + 1 - sp.first) << PAGE_SHIFT)) {
        window_flush(w);
        return;
    }
    pt_clear_range(&w->map, sp.first, sp.last + 1, map_clear_visit, w);
    /* Holes punched in large mappings add host mappings: past the budget,
     * start afresh. */
    if (w->host_maps > w->budget)
        window_flush(w);
}

void window_shootdown(gmm_space *s, gmm_addr start, gmm_addr end)
{
    for (gmm_window *w = s->windows; w; w = w->next)
        window_unmap(w, start, end);
}

/* ---- creation and destruction ---- */

gmm_window *gmm_window_create(gmm_space *s, gmm_addr lo, gmm_addr hi)
{
    if (!s)
        return NULL;
    gmm_system *sys = s->sys;
    uint64_t span = s->abi == GMM_ABI_I386 ? I386_SPAN : s->task_size;
    if (sys->memfd < 0 || host_page_size() != PAGE_SIZE || OFFSET_IN_PAGE(lo) ||
        OFFSET_IN_PAGE(hi) || lo >= hi || hi > span)
        return NULL;
    if (hi > s->task_size)
        hi = s->task_size; /* an i386 window reserves 4 GiB, mirrors the task */
    gmm_window *w = gmm_calloc(NULL, 1, sizeof(*w));
    if (!w)
        return NULL;
    /* An i386 window reserves the whole 4 GiB, so that 32-bit guest
     * addresses never reach host memory outside it. */
    uint64_t rlo = s->abi == GMM_ABI_I386 ? 0 : lo;
    uint64_t rhi = s->abi == GMM_ABI_I386 ? I386_SPAN : hi;
    void *resv = host_reserve_none(rhi - rlo);
    if (!resv) {
        gmm_free(w);
        return NULL;
    }
    w->sys = sys;
    w->resv = (uintptr_t)resv;
    w->resv_len = rhi - rlo;
    w->base = w->resv - rlo;
    w->lo = lo;
    w->hi = hi;
    w->map.sys = sys;
    w->host_maps = 1;
    w->budget = DEFAULT_BUDGET;
    w->fault_around = w->around = DEFAULT_FAULT_AROUND;
    /* Every window can be found by the handler, or there is none. */
    w->slot = registry_add(w);
    if (w->slot < 0) {
        host_release(resv, w->resv_len);
        gmm_free(w);
        return NULL;
    }
    space_lock(s);
    w->space = s;
    w->next = s->windows;
    s->windows = w;
    space_unlock(s);
    return w;
}

static void window_unlink(gmm_space *s, gmm_window *w)
{
    for (gmm_window **p = &s->windows; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
}

void gmm_window_destroy(gmm_window *w)
{
    if (!w)
        return;
    registry_remove(w);
    gmm_space *s = w->space;
    if (s) {
        space_lock(s);
        window_unlink(s, w);
        map_drop_all(w);
        w->space = NULL;
        space_unlock(s);
    }
    host_release((void *)w->resv, w->resv_len);
    gmm_free(w);
}

void window_detach_all(gmm_space *s)
{
    while (s->windows) {
        gmm_window *w = s->windows;
        s->windows = w->next;
        window_flush(w);
        w->space = NULL;
    }
}

uint8_t *gmm_window_base(const gmm_window *w)
{
    return (uint8_t *)w->base;
}

gmm_space *gmm_window_space(const gmm_window *w)
{
    return w->space;
}

/* The lock of w's space, taken when it still has one (a detached window's
 * state changes no more): the space, or NULL. */
static gmm_space *window_lock(gmm_window *w)
{
    gmm_space *s = w->space;
    if (s)
        space_lock(s);
    return s;
}

static void window_unlock(gmm_space *s)
{
    if (s)
        space_unlock(s);
}

void gmm_window_set_budget(gmm_window *w, uint64_t max_host_mappings)
{
    gmm_space *s = window_lock(w);
    w->budget = max_host_mappings < 16 ? 16 : max_host_mappings;
    if (w->host_maps > w->budget)
        window_flush(w);
    window_unlock(s);
}

void gmm_window_set_fault_around(gmm_window *w, unsigned pages)
{
    gmm_space *s = window_lock(w);
    unsigned n = 1;
    while (n < pages && n < MAX_AROUND)
        n <<= 1;
    w->fault_around = w->around = n;
    window_unlock(s);
}

void gmm_window_get_stats(gmm_window *w, gmm_window_stats *out)
{
    gmm_space *s = window_lock(w);
    *out = w->stats;
    out->pages_mapped = w->map.present;
    out->host_mappings = w->host_maps;
    out->budget = w->budget;
    window_unlock(s);
}

/* ---- the fault ---- */

/* Maps guest pages [pn, pn + n) to the states st[] (all of one host
 * mapping kind: see same_mapping), recording them.  0 or -1. */
static int window_map_run(gmm_window *w, uint64_t pn, uint64_t n, const pte_t *st)
{
    /* A new mapping costs at most two more (it splits what it lands in). */
    if (w->host_maps + 2 > w->budget)
        window_flush(w);
    uintptr_t addr = w->base + (pn << PAGE_SHIFT);
    int err;
    if (st[0] & WPTE_ZERO)
        err = host_window_zero(addr, n << PAGE_SHIFT);
    else
        err = host_window_frames(addr, n << PAGE_SHIFT, st[0] & WPTE_WRITE, w->sys->memfd,
                                 (uint64_t)pte_frame(st[0]) << PAGE_SHIFT);
    if (err) {
        /* Out of host mappings or memory: the old state of the range is
         * unknown, so start afresh (which cannot need more mappings). */
        window_flush(w);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        pte_t *slot = pt_slot(&w->map, pn + i, true);
        if (!slot) {
            /* No memory to record it: the run just mapped goes (the
             * flush alone unmaps only when something is recorded), then
             * everything else. */
            if (host_window_none(addr, n << PAGE_SHIFT))
                abort();
            window_flush(w);
            return -1;
        }
        pte_t old = *slot;
        map_count(w, pn + i, old, st[i]);
        if (!old)
            pt_set(&w->map, pn + i, st[i]);
        else
            *slot = st[i];
    }
    return 0;
}

/* The window state for the present page (pte) at page of region r, or 0
 * when the window must not map it (no read right). */
static pte_t window_state(gmm_space *s, const struct region *r, gmm_addr page, pte_t pte)
{
    int grant = space_grant(s, r, page, pte);
    if (!(grant & GMM_ACCESS_READ))
        return 0;
    if (pte_frame(pte) == FRAME_ZERO)
        return WPTE_ZERO | PTE_PRESENT;
    return pte_make(pte_frame(pte)) | (grant & GMM_ACCESS_WRITE ? WPTE_WRITE : 0);
}

/* Maps guest pages [q, k) to the states st[] unless they are mapped so
 * already.  0 or -1 (window_map_run). */
static int window_map_new(gmm_window *w, uint64_t q, uint64_t k, const pte_t *st)
{
    for (uint64_t i = q; i < k; i++)
        if (map_get(w, i) != st[i - q])
            return window_map_run(w, q, k - q, st);
    return 0;
}

/* The aligned block of fault-around pages around page pn, clipped to the
 * region r and the window: [*first, *end). */
static void block_of(const gmm_window *w, const struct region *r, uint64_t pn, uint64_t *first,
                     uint64_t *end)
{
    uint64_t n = w->around;
    uint64_t lo = (r->start > w->lo ? r->start : w->lo) >> PAGE_SHIFT;
    uint64_t hi = (r->end < w->hi ? r->end : w->hi) >> PAGE_SHIFT;
    *first = pn & ~(n - 1);
    *end = *first + n;
    if (*first < lo)
        *first = lo;
    if (*end > hi)
        *end = hi;
}

/* Before the fault at page: in private anonymous memory, the empty pages
 * of its block become present as the faulting access would make them --
 * zero pages for a load; for a store fresh zeroed frames, for the zero
 * pages of the block too, taken as one run of consecutive frames so that
 * they share one host mapping (Linux's large anonymous folios do the
 * same).  Guard markers stay; nothing happens when the access will fault
 * anyway or memory is short (the fault itself then decides). */
static void window_populate(gmm_window *w, gmm_space *s, gmm_addr page, int access)
{
    struct region *r = region_find(s, page);
    if (!r || r->start > page || r->obj || (r->flags & (VM_SHARED | VM_PKEY_EXEC)) ||
        !(r->flags & VM_ACCESS_FLAGS) || (access & GMM_ACCESS_EXEC))
        return;
    bool store = (access & GMM_ACCESS_WRITE) != 0;
    if (store && !(r->flags & VM_WRITE))
        return;
    uint64_t first, end;
    block_of(w, r, page >> PAGE_SHIFT, &first, &end);
    /* Pages to fill: empty ones, and for a store zero pages too (a store
     * would copy them to a fresh frame anyway). */
    const pte_t zero = pte_make(FRAME_ZERO);
    uint32_t want = 0;
    for (uint64_t q = first; q < end; q++) {
        pte_t pte = pt_get(&s->pt, q);
        want += !pte || (store && pte == zero);
    }
    if (want < 2)
        return;
    frame_t run = FRAME_ZERO;
    if (store) {
        run = frame_alloc_run(s->sys, want);
        if (run == FRAME_NONE)
            return;
        anon_prepare(s, r);
    }
    uint32_t used = 0;
    bool replaced = false;
    for (uint64_t q = first; q < end && used < want; q++) {
        pte_t pte = pt_get(&s->pt, q);
        if (pte && !(store && pte == zero))
            continue;
        /* (The slot is written through pt_set, in a leaf of this table's
         * own.) */
        if (!pte && !pt_slot(&s->pt, q, true))
            break; /* no memory for the page table: the rest stay as they are */
        frame_t f = store ? run + used : FRAME_ZERO;
        used++;
        pt_set(&s->pt, q, pte_make(f));
        if (pte)
            replaced = true; /* a zero page became a fresh frame */
        if (store)
            s->rss++;
    }
    if (store)
        for (; used < want; used++)
            frame_unref(s->sys, run + used);
    /* Translations of the zero pages replaced are stale. */
    if (replaced)
        space_invalidate(s, first << PAGE_SHIFT, end << PAGE_SHIFT);
}

/* After the fault at page of region r: the present pages of its block are
 * mapped, in as few host mappings as their frames allow.  0, or -1 when
 * the faulting page could not be mapped. */
static int window_map_around(gmm_window *w, gmm_space *s, struct region *r, gmm_addr page)
{
    uint64_t pn = page >> PAGE_SHIFT, first, end;
    block_of(w, r, pn, &first, &end);
    pte_t st[MAX_AROUND];
    for (uint64_t q = first; q < end; q++) {
        pte_t pte = pt_get(&s->pt, q);
        st[q - first] = pte && !(pte & PTE_GUARD) ? window_state(s, r, q << PAGE_SHIFT, pte) : 0;
    }
    /* Runs of one host mapping kind, each mapped at once.  The faulting
     * page's run goes last: a run that would pass the budget flushes the
     * whole window first, and had it come after the faulting page's run,
     * the access would be retried against an unmapped page, fault again
     * and map the same block the same way, for ever. */
    uint64_t fq = pn, fk = pn;
    for (uint64_t q = first; q < end;) {
        uint64_t k = q + 1;
        if (st[q - first]) {
            while (k < end && st[k - first] && same_mapping(st[k - 1 - first], st[k - first]))
                k++;
            if (q <= pn && pn < k)
                fq = q, fk = k;
            else
                (void)window_map_new(w, q, k, &st[q - first]);
        }
        q = k;
    }
    return fk > fq ? window_map_new(w, fq, fk, &st[fq - first]) : 0;
}

int gmm_window_fault(gmm_window *w, uintptr_t host_addr, int access, gmm_fault *out)
{
    if (!w || host_addr < w->resv || host_addr - w->resv >= w->resv_len)
        return -GMM_EFAULT;
    gmm_addr addr = host_addr - w->base;
    access &= GMM_ACCESS_READ | GMM_ACCESS_WRITE | GMM_ACCESS_EXEC;
    if (!access)
        access = GMM_ACCESS_READ;
    gmm_space *s = w->space;
    if (!s) {
        fault_signal(FAULT_MAPERR, addr, access, out);
        return 1;
    }
    space_lock(s);
    enum fault_result res = FAULT_MAPERR;
    w->stats.faults++;
    struct region *r = NULL;
    if (addr >= w->lo && addr < w->hi) {
        uint64_t pn = addr >> PAGE_SHIFT;
        if (w->fault_around > 1) {
            if (pn == w->next_pn && w->around < MAX_AROUND)
                w->around *= 2;
            else if (pn != w->next_pn)
                w->around = w->fault_around;
            w->next_pn = (pn & ~(uint64_t)(w->around - 1)) + w->around;
            window_populate(w, s, addr & PAGE_MASK, access);
        }
        /* The host never executes guest memory through a window: such a
         * fault resolves nothing. */
        if (access & GMM_ACCESS_EXEC) {
            struct region *x = region_find(s, addr);
            res = x && x->start <= addr ? FAULT_ACCERR : FAULT_MAPERR;
        } else {
            /* A copy on write replaces the page's frame: instead of
             * unmapping it and mapping the new one (two host calls), the
             * new one is mapped over the old one below. */
            w->faulting = (addr >> PAGE_SHIFT) + 1;
            res = space_fault_page(s, addr, access, &r);
        }
    }
    if (res == FAULT_OK && window_map_around(w, s, r, addr & PAGE_MASK))
        res = FAULT_OOM;
    if (w->faulting && res != FAULT_OK) {
        /* Not remapped: the shootdown skipped must happen now. */
        uint64_t pn = w->faulting - 1;
        w->faulting = 0;
        window_unmap(w, pn << PAGE_SHIFT, (pn + 1) << PAGE_SHIFT);
    }
    w->faulting = 0;
    space_unlock(s);
    if (res == FAULT_OK)
        return 0;
    fault_signal(res, addr, access, out);
    return 1;
}

/* ---- the mirror checker ---- */

struct map_line {
    uintptr_t start, end;
    char perms[5];
    uint64_t off, ino;
};

static bool parse_line(const char *line, struct map_line *m)
{
    unsigned long long a, b, off, ino;
    unsigned maj, min;
    if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu", &a, &b, m->perms, &off, &maj, &min, &ino) != 7)
        return false;
    m->start = (uintptr_t)a;
    m->end = (uintptr_t)b;
    m->off = off;
    m->ino = ino;
    return true;
}

static const char *window_check(gmm_window *w, char *buf, size_t cap)
{
    gmm_space *s = w->space;
    if (!s)
        return w->map.present ? "a detached window records mapped pages" : NULL;
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return NULL; /* nothing to compare with */
    struct stat st_file;
    uint64_t memfile_ino = fstat(w->sys->memfd, &st_file) ? 0 : (uint64_t)st_file.st_ino;
    char line[512];
    uint64_t lines = 0, pages = 0;
    const char *err = NULL;
    while (!err && fgets(line, sizeof(line), f)) {
        struct map_line m;
        if (!parse_line(line, &m) || m.end <= w->resv || m.start >= w->resv + w->resv_len)
            continue;
        lines++;
        /* The kernel merges neighbouring mappings of one kind into one
         * line: the reservation's unmapped ends with any private anonymous
         * PROT_NONE memory next to it, and, where two reservations touch,
         * the zero pages or the frames at following memory-file offsets at
         * the end of one and the start of the other.  Such a line is one
         * mapping of the window; the part outside it is the neighbour's to
         * check.  Any other line that leaves the reservation is an error. */
        uintptr_t end = w->resv + w->resv_len;
        bool unmapped = !strcmp(m.perms, "---p") && m.ino == 0;
        if (!unmapped && ((m.start < w->resv && !gmm_window_find(m.start)) ||
                          (m.end > end && !gmm_window_find(m.end - 1)))) {
            snprintf(buf, cap, "a host mapping crosses the window's reservation: %s", line);
            err = buf;
            break;
        }
        if (m.start < w->resv) {
            m.off += w->resv - m.start;
            m.start = w->resv;
        }
        if (m.end > end)
            m.end = end;
        if (!strcmp(m.perms, "---p"))
            continue;
        bool zero = !strcmp(m.perms, "r--p") && m.ino == 0;
        bool frames = m.perms[3] == 's' && m.perms[2] == '-' && m.ino != 0;
        if (!zero && !frames) {
            snprintf(buf, cap, "a window page maps what the library never maps there: %s", line);
            err = buf;
            break;
        }
        if (frames) {
            if (m.ino != memfile_ino) {
                snprintf(buf, cap, "a window maps another file: %s", line);
                err = buf;
                break;
            }
        }
        for (uintptr_t h = m.start; h < m.end && !err; h += PAGE_SIZE) {
            gmm_addr a = h - w->base;
            uint64_t pn = a >> PAGE_SHIFT;
            pte_t st = map_get(w, pn);
            pages++;
            pte_t pte = pt_get(&s->pt, pn);
            struct region *r = region_find(s, a);
            if (!st)
                snprintf(buf, cap, "guest page %#llx is mapped in a window but not recorded",
                         (unsigned long long)a), err = buf;
            else if (zero != !!(st & WPTE_ZERO) ||
                     (frames && ((m.off + (h - m.start)) >> PAGE_SHIFT != pte_frame(st) ||
                                 (m.perms[1] == 'w') != !!(st & WPTE_WRITE))))
                snprintf(buf, cap, "guest page %#llx: the host mapping is not the recorded one: %s",
                         (unsigned long long)a, line), err = buf;
            else if (!pte || (pte & PTE_GUARD) || !r || r->start > a ||
                     pte_frame(pte) != (zero ? FRAME_ZERO : pte_frame(st)))
                snprintf(buf, cap, "guest page %#llx: a window maps a frame the page table does not hold",
                         (unsigned long long)a), err = buf;
            else {
                pte_t want = window_state(s, r, a, pte);
                if (!want || (st & ~WPTE_WRITE) != (want & ~WPTE_WRITE) ||
                    ((st & WPTE_WRITE) && !(want & WPTE_WRITE)))
                    snprintf(buf, cap, "guest page %#llx: a window grants more than the rule allows",
                             (unsigned long long)a), err = buf;
            }
        }
    }
    fclose(f);
    if (err)
        return err;
    if (pages != w->map.present) {
        snprintf(buf, cap, "a window records %llu mapped pages, the host maps %llu",
                 (unsigned long long)w->map.present, (unsigned long long)pages);
        return buf;
    }
    if (lines != w->host_maps) {
        snprintf(buf, cap, "a window counts %llu host mappings, the host has %llu",
                 (unsigned long long)w->host_maps, (unsigned long long)lines);
        return buf;
    }
    return NULL;
}

const char *window_check_space(gmm_space *s)
{
    static __thread char buf[600];
    for (gmm_window *w = s->windows; w; w = w->next) {
        const char *err = window_check(w, buf, sizeof(buf));
        if (err)
            return err;
    }
    return NULL;
}

const char *gmm_window_check(gmm_window *w)
{
    static __thread char buf[600];
    gmm_space *s = window_lock(w);
    const char *err = window_check(w, buf, sizeof(buf));
    window_unlock(s);
    return err;
}

uint64_t gmm_window_host_mappings(const gmm_window *w)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return 0;
    char line[512];
    uint64_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        struct map_line m;
        if (parse_line(line, &m) && m.end > w->resv && m.start < w->resv + w->resv_len)
            n++;
    }
    fclose(f);
    return n;
}

/* ---- the ready-made handler ---- */

static struct sigaction old_segv, old_bus;

int gmm_window_access_from_ucontext(const void *uc)
{
#if defined(__x86_64__) && defined(__linux__)
    const ucontext_t *u = uc;
    /* The page-fault error code: bit 1 a write, bit 4 an instruction fetch. */
    unsigned long long err = (unsigned long long)u->uc_mcontext.gregs[REG_ERR];
    if (err & 0x10)
        return GMM_ACCESS_EXEC;
    return err & 2 ? GMM_ACCESS_WRITE : GMM_ACCESS_READ;
#else
    (void)uc;
    return GMM_ACCESS_READ | GMM_ACCESS_WRITE;
#endif
}

/* A fault that is not the windows': to the handler there was before. */
static void chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* The default action: returning re-executes the access, which faults
     * again and now kills the process as it would have without us. */
    signal(sig, SIG_DFL);
}

static void window_signal(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    uintptr_t addr = (uintptr_t)si->si_addr;
    gmm_window *w = gmm_window_find(addr);
    if (!w) {
        errno = saved;
        chain(sig, si, uc);
        return;
    }
    gmm_fault f;
    int res;
    if (sig == SIGBUS) {
        /* The memory file could not give memory for a mapped page. */
        f = (gmm_fault){addr - w->base, gmm_window_access_from_ucontext(uc), GMM_SIGBUS,
                        GMM_BUS_OOM};
        res = 1;
    } else {
        res = gmm_window_fault(w, addr, gmm_window_access_from_ucontext(uc), &f);
    }
    if (res == 0) {
        errno = saved;
        return;
    }
    gmm_space *s = w->space;
    gmm_system *sys = w->sys;
    if (s && sys->host.fault)
        sys->host.fault(sys->host.user, s, &f); /* usually does not return */
    errno = saved;
    chain(sig, si, uc);
}

int gmm_window_install_handler(void)
{
    pthread_mutex_lock(&registry_lock);
    int ret = 0;
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = window_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    /* Each signal whose handler is not ours (never installed, or replaced
     * since) gets ours, and what was there becomes the one chained to. */
    static const int sigs[2] = {SIGSEGV, SIGBUS};
    for (int i = 0; i < 2 && !ret; i++) {
        struct sigaction *old = sigs[i] == SIGBUS ? &old_bus : &old_segv;
        if (sigaction(sigs[i], NULL, &cur))
            ret = -GMM_EINVAL;
        else if (!((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == window_signal) &&
                 sigaction(sigs[i], &sa, old))
            ret = -GMM_EINVAL;
    }
    pthread_mutex_unlock(&registry_lock);
    return ret;
}
