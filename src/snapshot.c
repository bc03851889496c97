/*
 * snapshot.c - snapshots of a space and their restore (gmm_snapshot_*).
 *
 * A snapshot is a frozen copy of a space made as gmm_space_fork makes a
 * child, but kept out of every list the host or the rmap sees:
 *   regions  an array of copies in address order, each holding its own
 *            references (file handle, anonymous name, and one count on its
 *            object, without a place in the object's rmap: truncation and
 *            writeback never look at a snapshot);
 *   pages    a page table with a copy of every entry, each holding a frame
 *            reference, so every private frame the live space had is
 *            shared from then on and its next store takes a copy-on-write
 *            fault.  Entries that mapped an object's own page (shared
 *            memory, a file page not yet copied) carry PTE_SNAP_OBJ: at
 *            restore they come back only if the object still holds that
 *            frame there;
 *   scalars  brk, the stack, text, limits, counters, peaks, def_flags,
 *            the task policy, the layout bases.
 *
 * Dirty tracking, with no hook on guest stores: while a snapshot is live
 * the space's page table records every entry it sets or clears (pt_set,
 * pt_clear, pt_clear_range: pagetable.c) and every translation shot down
 * (tlb_shootdown: every in-place replacement, copy on write first of all,
 * shoots its page down) into the space's log, a list of page ranges
 * (LOG_PAGES).  So the live page table differs from the snapshot's only
 * inside those ranges.  Every change of a region records its extent at
 * that moment (LOG_REGIONS: region_insert, region_remove,
 * region_bounds_changed, vma.c's set_attrs, anon_prepare, and the few
 * in-place flag changes elsewhere, through region_changed()), so a region
 * that differs from the snapshot's overlaps a recorded range, and the
 * snapshot region it came from overlaps one too (a split's lower part
 * keeps its start: the closure below reaches it through the snapshot's
 * region).  gmm_space_check verifies that promise while a snapshot is
 * live: a region outside every recorded range must be the snapshot's.  Each snapshot remembers where the log stood when it was taken
 * (pos); the ranges after the newest snapshot's pos (its segment) merge
 * with their neighbour when they touch, and a segment that grows past
 * LOG_MAX ranges (or cannot grow) collapses into the range that covers it.
 *
 * Restore of snapshot S:
 *   1. regions: each range recorded LOG_REGIONS since S.pos is widened
 *      until no live or snapshot region crosses its ends (its closure);
 *      inside it a live region equal in every attribute to S's region at
 *      the same start is kept, others are removed, S's missing ones
 *      inserted (O(regions in the closures), each O(log regions));
 *   2. pages: over each range logged since S.pos, the live page table is
 *      made equal to S's, walking both radix trees and skipping what is
 *      empty in both (O(entries present in the logged ranges));
 *   3. every range whose translations changed is passed to
 *      space_invalidate (TLBs, the shootdown log, windows, host->invalidate);
 *   4. scalars copied back, the log cut back to S.pos, newer snapshots
 *      discarded.
 * Everything that can fail (regions to insert, page-table nodes) is
 * allocated before the first change: a restore out of memory changes
 * nothing.
 *
 * Handles.  A gmm_snapshot * is an opaque token holding an id (never
 * reused), not a pointer: restore looks it up in its space's list, discard
 * in the process-wide list, so a stale or foreign handle is an error.
 * Locks: snap_lock (the process-wide list) is innermost, taken inside a
 * system's mm_lock, never around it.
 */
#include "internal.h"

/* In a snapshot's page table only: the entry maps its object's own page. */
#define PTE_SNAP_OBJ ((pte_t)8)
/* Ranges one segment of the log may hold before it collapses. */
#define LOG_MAX 16384

enum { LOG_PAGES = 1, LOG_REGIONS = 2 };
struct snap_range {
    uint64_t lo, hi; /* page numbers */
    int kind;        /* LOG_PAGES: entries changed; LOG_REGIONS: regions */
};

struct snap_log {
    struct snap_range *e;
    size_t len, cap;
    size_t seg; /* first range of the newest snapshot's segment */
    gmm_system *sys;
};

struct snap_scalars {
    gmm_addr mmap_base, legacy_base, mmap_min_addr, start_brk, brk;
    uint64_t max_map_count;
    bool execute_only;
    uint64_t total_vm, data_vm, stack_vm, locked_vm, exec_vm, hiwater_vm, hiwater_rss;
    uint64_t rlim[8];
    uint32_t def_flags;
    gmm_addr start_stack, start_code, end_code;
    struct vma_policy pol;
};

struct snapshot {
    uintptr_t id; /* the handle's value: never 0, never reused (but after
                     2^32 snapshots on a 32-bit host) */
    gmm_space *space;
    struct snapshot *prev, *next;         /* the space's, oldest first */
    struct snapshot *all_prev, *all_next; /* the process-wide list */
    size_t pos;                           /* the log's length when taken */
    struct region *regs;                  /* copies, in address order */
    size_t nregs;
    struct pagetable pt;
    struct snap_scalars sc;
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *snap_all; /* under snap_lock */
static uintptr_t snap_next_id;    /* under snap_lock */

static inline gmm_snapshot *handle_of(const struct snapshot *sn)
{
    return (gmm_snapshot *)sn->id;
}

static inline uintptr_t id_of(const gmm_snapshot *h)
{
    return (uintptr_t)h;
}

/* ---- the log ---- */

static void log_note(struct snap_log *l, uint64_t lo, uint64_t hi, int kind)
{
    if (lo >= hi)
        return;
    if (l->len > l->seg) {
        struct snap_range *last = &l->e[l->len - 1];
        if (last->kind == kind && lo <= last->hi && hi >= last->lo) {
            if (lo < last->lo)
                last->lo = lo;
            if (hi > last->hi)
                last->hi = hi;
            return;
        }
    }
    if (l->len == l->cap && l->len - l->seg < LOG_MAX) {
        struct snap_range *e = gmm_malloc(l->sys, 2 * l->cap * sizeof(*e));
        if (e) {
            memcpy(e, l->e, l->len * sizeof(*e));
            gmm_free(l->e);
            l->e = e;
            l->cap *= 2;
        }
    }
    if (l->len == l->cap || l->len - l->seg >= LOG_MAX) {
        /* Full (or no memory to grow): the segment becomes the one range
         * that covers it.  There is always room for that one: a snapshot
         * is taken only with a free slot after its pos. */
        for (size_t i = l->seg; i < l->len; i++) {
            if (l->e[i].lo < lo)
                lo = l->e[i].lo;
            if (l->e[i].hi > hi)
                hi = l->e[i].hi;
            kind |= l->e[i].kind;
        }
        l->len = l->seg;
    }
    l->e[l->len++] = (struct snap_range){lo, hi, kind};
}

void snap_log_note(struct snap_log *l, uint64_t lo, uint64_t hi)
{
    log_note(l, lo, hi, LOG_PAGES);
}

void snap_log_region(struct snap_log *l, gmm_addr start, gmm_addr end)
{
    log_note(l, start >> PAGE_SHIFT, PAGE_ALIGN(end) >> PAGE_SHIFT, LOG_REGIONS);
}

/* Room for one more range after the log's end (a new snapshot's first). */
static int log_reserve(gmm_space *s)
{
    struct snap_log *l = s->snap_log;
    if (!l) {
        l = gmm_calloc(s->sys, 1, sizeof(*l));
        if (!l)
            return -GMM_ENOMEM;
        l->sys = s->sys;
        s->snap_log = l;
    }
    if (l->len + 1 < l->cap)
        return 0;
    size_t cap = l->cap ? 2 * l->cap : 16;
    struct snap_range *e = gmm_malloc(s->sys, cap * sizeof(*e));
    if (!e)
        return -GMM_ENOMEM;
    if (l->len)
        memcpy(e, l->e, l->len * sizeof(*e));
    gmm_free(l->e);
    l->e = e;
    l->cap = cap;
    return 0;
}

static void log_free(gmm_space *s)
{
    if (s->snap_log) {
        gmm_free(s->snap_log->e);
        gmm_free(s->snap_log);
        s->snap_log = NULL;
    }
    s->pt.log = NULL;
}

/* ---- references a snapshot holds ---- */

/* Drops a snapshot's count on object o; the last one frees it as the
 * last region's object_detach does (o's rmap is empty then). */
static void obj_put(gmm_system *sys, struct gmm_object *o)
{
    if (o->refs > 1) {
        o->refs--;
        return;
    }
    struct region none;
    memset(&none, 0, sizeof(none));
    object_detach(sys, o, &none);
}

static void regs_put(gmm_system *sys, struct region *regs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct region *r = &regs[i];
        if (r->obj)
            obj_put(sys, r->obj);
        if (r->file)
            fileref_put(sys, r->file);
        if (r->name && __atomic_sub_fetch(&r->name->refs, 1, __ATOMIC_ACQ_REL) == 0)
            gmm_free(r->name);
    }
}

static void unref_present(void *ctx, uint64_t pn, pte_t pte)
{
    (void)pn;
    if (pte & PTE_PRESENT)
        frame_unref(ctx, pte_frame(pte));
}

static void snapshot_free(struct snapshot *sn)
{
    gmm_system *sys = sn->space->sys;
    pt_destroy(&sn->pt, unref_present, sys);
    regs_put(sys, sn->regs, sn->nregs);
    gmm_free(sn->regs);
    gmm_free(sn);
}

/* The snapshot region holding page number pn (regions in order). */
static const struct region *snap_region(const struct snapshot *sn, uint64_t pn)
{
    gmm_addr a = pn << PAGE_SHIFT;
    size_t lo = 0, hi = sn->nregs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sn->regs[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sn->nregs && sn->regs[lo].start <= a ? &sn->regs[lo] : NULL;
}

/* Is frame f the page object region r maps at pn now? */
static bool object_holds(const struct region *r, uint64_t pn, frame_t f)
{
    if (!r || !r->obj)
        return false;
    uint64_t idx = r->pgoff + (pn - (r->start >> PAGE_SHIFT));
    pte_t *slot = pt_slot(&r->obj->pages, idx, false);
    return slot && (*slot & PTE_PRESENT) && pte_frame(*slot) == f;
}

/* ---- take ---- */

struct copy_ctx {
    gmm_space *s;
    struct snapshot *sn;
    const struct region *r; /* cursor */
    bool failed;
};

static void copy_pte(void *ctx, uint64_t pn, pte_t pte)
{
    struct copy_ctx *c = ctx;
    if (c->failed)
        return;
    gmm_addr a = pn << PAGE_SHIFT;
    while (c->r && c->r->end <= a)
        c->r = c->r->next;
    pte_t *slot = pt_slot(&c->sn->pt, pn, true);
    if (!slot) {
        c->failed = true;
        return;
    }
    if (pte & PTE_PRESENT) {
        frame_ref(c->s->sys, pte_frame(pte));
        if (c->r && c->r->start <= a && object_holds(c->r, pn, pte_frame(pte)))
            pte |= PTE_SNAP_OBJ;
    }
    pt_set(&c->sn->pt, pn, pte);
}

static void scalars_save(const gmm_space *s, struct snap_scalars *sc)
{
    sc->mmap_base = s->mmap_base;
    sc->legacy_base = s->legacy_base;
    sc->mmap_min_addr = s->mmap_min_addr;
    sc->start_brk = s->start_brk;
    sc->brk = s->brk;
    sc->max_map_count = s->max_map_count;
    sc->execute_only = s->execute_only;
    sc->total_vm = s->total_vm;
    sc->data_vm = s->data_vm;
    sc->stack_vm = s->stack_vm;
    sc->locked_vm = s->locked_vm;
    sc->exec_vm = s->exec_vm;
    sc->hiwater_vm = s->hiwater_vm;
    sc->hiwater_rss = s->hiwater_rss;
    const uint64_t rl[8] = {s->rlim_as,     s->rlim_data,     s->rlim_stack,     s->rlim_memlock,
                            s->rlim_max_as, s->rlim_max_data, s->rlim_max_stack, s->rlim_max_memlock};
    memcpy(sc->rlim, rl, sizeof(rl));
    sc->def_flags = s->def_flags;
    sc->start_stack = s->start_stack;
    sc->start_code = s->start_code;
    sc->end_code = s->end_code;
    sc->pol = s->pol;
}

static void scalars_load(gmm_space *s, const struct snap_scalars *sc)
{
    s->mmap_base = sc->mmap_base;
    s->legacy_base = sc->legacy_base;
    s->mmap_min_addr = sc->mmap_min_addr;
    s->start_brk = sc->start_brk;
    s->brk = sc->brk;
    s->max_map_count = sc->max_map_count;
    s->execute_only = sc->execute_only;
    s->total_vm = sc->total_vm;
    s->data_vm = sc->data_vm;
    s->stack_vm = sc->stack_vm;
    s->locked_vm = sc->locked_vm;
    s->exec_vm = sc->exec_vm;
    s->hiwater_vm = sc->hiwater_vm;
    s->hiwater_rss = sc->hiwater_rss;
    uint64_t *rl[8] = {&s->rlim_as,     &s->rlim_data,     &s->rlim_stack,     &s->rlim_memlock,
                       &s->rlim_max_as, &s->rlim_max_data, &s->rlim_max_stack, &s->rlim_max_memlock};
    for (int i = 0; i < 8; i++)
        __atomic_store_n(rl[i], sc->rlim[i], __ATOMIC_RELAXED);
    s->def_flags = sc->def_flags;
    s->start_stack = sc->start_stack;
    s->start_code = sc->start_code;
    s->end_code = sc->end_code;
    s->pol = sc->pol;
}

gmm_snapshot *gmm_snapshot_take(gmm_space *s)
{
    if (!s)
        return NULL;
    gmm_system *sys = s->sys;
    space_lock(s);
    struct snapshot *sn = gmm_calloc(sys, 1, sizeof(*sn));
    if (!sn)
        goto fail;
    sn->space = s;
    sn->pt.sys = sys;
    if (s->map_count && !(sn->regs = gmm_calloc(sys, s->map_count, sizeof(struct region))))
        goto fail;
    if (log_reserve(s))
        goto fail;
    /* The snapshot's own work is no change of the space: not logged. */
    s->pt.log = NULL;
    struct copy_ctx c = {s, sn, s->first, false};
    pt_walk(&s->pt, 0, UINT64_MAX >> PAGE_SHIFT, copy_pte, &c);
    if (c.failed)
        goto fail;
    for (struct region *r = s->first; r; r = r->next) {
        struct region *q = &sn->regs[sn->nregs++];
        *q = *r;
        q->left = q->right = q->parent = q->prev = q->next = NULL;
        q->obj_next = q->obj_prev = NULL;
        q->space = NULL;
        if (q->file)
            fileref_hold(sys, q->file);
        if (q->obj)
            q->obj->refs++;
        if (q->name)
            __atomic_add_fetch(&q->name->refs, 1, __ATOMIC_RELAXED);
    }
    scalars_save(s, &sn->sc);
    struct snap_log *l = s->snap_log;
    sn->pos = l->seg = l->len;
    sn->prev = s->snap_last;
    if (s->snap_last)
        s->snap_last->next = sn;
    else
        s->snap_first = sn;
    s->snap_last = sn;
    pthread_mutex_lock(&snap_lock);
    if (!++snap_next_id)
        snap_next_id++;
    sn->id = snap_next_id;
    sn->all_next = snap_all;
    if (snap_all)
        snap_all->all_prev = sn;
    snap_all = sn;
    pthread_mutex_unlock(&snap_lock);
    /* Private frames are shared with the snapshot now: stores must fault
     * to copy them, in every TLB, window and host cache. */
    for (struct region *r = s->first; r; r = r->next)
        if ((r->flags & (VM_SHARED | VM_WRITE)) == VM_WRITE)
            space_invalidate(s, r->start, r->end);
    s->pt.log = l;
    space_unlock(s);
    return handle_of(sn);

fail:
    if (sn) {
        pt_destroy(&sn->pt, unref_present, sys);
        gmm_free(sn->regs);
        gmm_free(sn);
    }
    if (!s->snap_first)
        log_free(s);
    else
        s->pt.log = s->snap_log;
    space_unlock(s);
    return NULL;
}

/* ---- the list of snapshots ---- */

/* Takes sn out of its space and of the process-wide list (its handle is
 * stale from now on) and frees it.  Caller holds the space lock. */
static void snapshot_drop(gmm_space *s, struct snapshot *sn)
{
    pthread_mutex_lock(&snap_lock);
    if (sn->all_prev)
        sn->all_prev->all_next = sn->all_next;
    else
        snap_all = sn->all_next;
    if (sn->all_next)
        sn->all_next->all_prev = sn->all_prev;
    pthread_mutex_unlock(&snap_lock);
    struct snap_log *l = s->snap_log;
    if (!sn->prev && sn->next) {
        /* The oldest goes: the ranges before the next one's pos serve
         * nobody any more. */
        size_t cut = sn->next->pos;
        memmove(l->e, l->e + cut, (l->len - cut) * sizeof(*l->e));
        l->len -= cut;
        l->seg -= cut;
        for (struct snapshot *t = sn->next; t; t = t->next)
            t->pos -= cut;
    } else if (sn->prev && !sn->next) {
        /* The newest goes: its ranges join the segment of the one before. */
        l->seg = sn->prev->pos;
    }
    if (sn->prev)
        sn->prev->next = sn->next;
    else
        s->snap_first = sn->next;
    if (sn->next)
        sn->next->prev = sn->prev;
    else
        s->snap_last = sn->prev;
    snapshot_free(sn);
    if (!s->snap_first)
        log_free(s);
}

void snapshot_destroy_all(gmm_space *s)
{
    space_lock(s);
    while (s->snap_last)
        snapshot_drop(s, s->snap_last);
    space_unlock(s);
}

void gmm_snapshot_discard(gmm_snapshot *h)
{
    uintptr_t id = id_of(h);
    if (!id)
        return;
    /* Find its system under snap_lock, then look again under the system's
     * mm lock (the order is mm_lock, then snap_lock). */
    pthread_mutex_lock(&snap_lock);
    struct snapshot *sn = snap_all;
    while (sn && sn->id != id)
        sn = sn->all_next;
    gmm_system *sys = sn ? sn->space->sys : NULL;
    pthread_mutex_unlock(&snap_lock);
    if (!sys)
        return;
    sys_mm_lock(sys);
    pthread_mutex_lock(&snap_lock);
    for (sn = snap_all; sn && sn->id != id;)
        sn = sn->all_next;
    pthread_mutex_unlock(&snap_lock);
    if (sn)
        snapshot_drop(sn->space, sn);
    sys_mm_unlock(sys);
}

/* ---- restore ---- */

enum sync_mode { SYNC_ALLOC, SYNC_SET, SYNC_PRUNE };

struct sync_ctx {
    gmm_space *s;
    const struct snapshot *sn;
    enum sync_mode mode;
    uint64_t chg_lo, chg_hi; /* page numbers whose entries changed */
};

static inline uint64_t level_span(int level)
{
    return (uint64_t)1 << (PT_BITS * (PT_LEVELS - 1 - level));
}

/* What the live entry at pn should be for snapshot entry p. */
static pte_t wanted(const struct sync_ctx *c, uint64_t pn, pte_t p)
{
    if (!(p & PTE_SNAP_OBJ))
        return p;
    /* An object's page comes back only if the object still has it there
     * (a file truncated, a hole punched since: the page faults anew). */
    return object_holds(snap_region(c->sn, pn), pn, pte_frame(p)) ? p & ~PTE_SNAP_OBJ : 0;
}

static void sync_pte(struct sync_ctx *c, struct pt_node *leaf, unsigned i, uint64_t pn, pte_t want)
{
    gmm_space *s = c->s;
    pte_t have = leaf ? leaf->u.pte[i] : 0;
    if (have == want)
        return;
    if (want & PTE_PRESENT) {
        frame_t f = pte_frame(want);
        frame_ref(s->sys, f);
        if (f != FRAME_ZERO)
            s->rss++;
    }
    if (have & PTE_PRESENT) {
        frame_t f = pte_frame(have);
        if (f != FRAME_ZERO)
            s->rss--;
        frame_unref(s->sys, f);
    }
    if (!have) {
        leaf->used++;
        s->pt.present++;
    } else if (!want) {
        leaf->used--;
        s->pt.present--;
    }
    leaf->frames += (uint16_t)((pte_frame(want) != FRAME_ZERO) - (pte_frame(have) != FRAME_ZERO));
    leaf->u.pte[i] = want;
    if (pn < c->chg_lo)
        c->chg_lo = pn;
    if (pn + 1 > c->chg_hi)
        c->chg_hi = pn + 1;
}

/* Might making live leaf d equal to snapshot leaf sn (may be NULL) over
 * [lo, hi) change an entry?  (An object's page may have gone since: an
 * entry that maps one counts as a change.) */
static bool leaf_may_change(const struct pt_node *d, const struct pt_node *sn, uint64_t base,
                            uint64_t lo, uint64_t hi)
{
    unsigned first = lo > base ? (unsigned)(lo - base) : 0;
    unsigned last = hi - base < PT_ENTRIES ? (unsigned)(hi - base) : PT_ENTRIES;
    for (unsigned i = first; i < last; i++) {
        pte_t p = sn ? sn->u.pte[i] : 0;
        if ((p & PTE_SNAP_OBJ) || d->u.pte[i] != p)
            return true;
    }
    return false;
}

/* One node of the live table (d, may be NULL but in SYNC_ALLOC) and the
 * snapshot's (sn, may be NULL) at level over [lo, hi).  SYNC_ALLOC makes
 * live nodes wherever the snapshot has some (false: out of memory);
 * SYNC_SET makes the entries equal; SYNC_PRUNE frees live nodes left
 * empty. */
static bool sync_node(struct sync_ctx *c, struct pt_node *d, const struct pt_node *sn, int level,
                      uint64_t base, uint64_t lo, uint64_t hi)
{
    uint64_t span = level_span(level);
    unsigned first = lo > base ? (unsigned)((lo - base) / span) : 0;
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t b = base + i * span;
        if (b >= hi)
            break;
        if (level == PT_LEVELS - 1) {
            pte_t p = sn ? sn->u.pte[i] : 0;
            if (d || p)
                sync_pte(c, d, i, b, p ? wanted(c, b, p) : 0);
            continue;
        }
        struct pt_node *dc = d ? d->u.child[i] : NULL;
        const struct pt_node *sc = sn ? sn->u.child[i] : NULL;
        switch (c->mode) {
        case SYNC_ALLOC:
            if (!sc)
                continue;
            if (!dc) {
                if (!(dc = gmm_calloc(c->s->sys, 1, sizeof(*dc))))
                    return false;
                d->u.child[i] = dc;
                d->used++;
            }
            if (level + 1 < PT_LEVELS - 1 && !sync_node(c, dc, sc, level + 1, b, lo, hi))
                return false;
            break;
        case SYNC_SET:
            /* A leaf shared with a fork relative is copied before a
             * change (the copy cannot fail); one that stays as it is
             * stays shared. */
            if (level + 1 == PT_LEVELS - 1 && dc && dc->sharers) {
                if (!leaf_may_change(dc, sc, b, lo, hi))
                    continue;
                dc = pt_own_leaf(&c->s->pt, &d->u.child[i]);
            }
            if (dc || sc)
                sync_node(c, dc, sc, level + 1, b, lo, hi);
            break;
        case SYNC_PRUNE:
            if (!dc)
                continue;
            if (level + 1 < PT_LEVELS - 1)
                sync_node(c, dc, NULL, level + 1, b, lo, hi);
            if (!dc->used) {
                pt_node_free(&c->s->pt, dc);
                d->u.child[i] = NULL;
                d->used--;
            }
            break;
        }
    }
    return true;
}

static bool sync_range(struct sync_ctx *c, uint64_t lo, uint64_t hi)
{
    struct pagetable *pt = &c->s->pt;
    const struct pt_node *sroot = c->sn->pt.root;
    switch (c->mode) {
    case SYNC_ALLOC:
        if (!sroot)
            return true;
        if (!pt->root && !(pt->root = gmm_calloc(c->s->sys, 1, sizeof(struct pt_node))))
            return false;
        return sync_node(c, pt->root, sroot, 0, 0, lo, hi);
    case SYNC_SET:
        if (pt->root || sroot)
            sync_node(c, pt->root, sroot, 0, 0, lo, hi);
        return true;
    case SYNC_PRUNE:
        if (!pt->root)
            return true;
        sync_node(c, pt->root, NULL, 0, 0, lo, hi);
        if (!pt->root->used) {
            pt_node_free(pt, pt->root);
            pt->root = NULL;
        }
        return true;
    }
    return true;
}

static bool region_same(const struct region *a, const struct region *b)
{
    return a->start == b->start && a->end == b->end && a->flags == b->flags &&
           a->pgoff == b->pgoff && a->anon == b->anon && a->anon_forked == b->anon_forked &&
           a->obj == b->obj && a->file == b->file && a->name == b->name &&
           a->pol.mode == b->pol.mode && a->pol.flags == b->pol.flags &&
           a->pol.nodes == b->pol.nodes && a->linux_unmerged == b->linux_unmerged;
}

static void invalidate_pages(gmm_space *s, uint64_t lo, uint64_t hi)
{
    uint64_t top = s->task_size >> PAGE_SHIFT;
    if (hi > top)
        hi = top;
    if (lo < hi)
        space_invalidate(s, lo << PAGE_SHIFT, hi << PAGE_SHIFT);
}

/* The first snapshot region with end > a. */
static size_t snap_index(const struct snapshot *sn, gmm_addr a)
{
    size_t lo = 0, hi = sn->nregs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sn->regs[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Widens [*lo, *hi) until no live or snapshot region crosses its ends:
 * every region that changed since the snapshot overlaps a range the log
 * holds (its change was recorded with its extent then), and the closure
 * reaches the snapshot's region it came from. */
static void closure(gmm_space *s, const struct snapshot *sn, gmm_addr *lo, gmm_addr *hi)
{
    for (;;) {
        gmm_addr l0 = *lo, h0 = *hi;
        struct region *r = region_find(s, *lo);
        if (r && r->start < *lo)
            *lo = r->start;
        size_t i = snap_index(sn, *lo);
        if (i < sn->nregs && sn->regs[i].start < *lo)
            *lo = sn->regs[i].start;
        r = region_find(s, *hi - 1);
        if (r && r->start < *hi && r->end > *hi)
            *hi = r->end;
        i = snap_index(sn, *hi - 1);
        if (i < sn->nregs && sn->regs[i].start < *hi && sn->regs[i].end > *hi)
            *hi = sn->regs[i].end;
        if (*lo == l0 && *hi == h0)
            return;
    }
}

/* Makes the regions inside [lo, hi) (a closure) the snapshot's: those that
 * differ go, the missing ones come from *spare. */
static void regions_restore(gmm_space *s, const struct snapshot *sn, gmm_addr lo, gmm_addr hi,
                            struct region **spare)
{
    const struct region *regs = sn->regs;
    size_t n = sn->nregs, first = snap_index(sn, lo), i = first;
    struct region *r = region_find(s, lo);
    while (r && r->start < hi) {
        struct region *next = r->next;
        while (i < n && regs[i].start < r->start)
            i++;
        if (!(i < n && region_same(r, &regs[i]))) {
            space_invalidate(s, r->start, r->end);
            vma_put_refs(s, r);
            region_remove(s, r);
            region_free(r);
        }
        r = next;
    }
    r = region_find(s, lo);
    for (i = first; i < n && regs[i].start < hi; i++) {
        if (r && r->start < hi && region_same(r, &regs[i])) {
            r = r->next;
            continue;
        }
        struct region *q = *spare;
        *spare = q->next;
        *q = regs[i];
        vma_get_refs(s, q);
        region_insert(s, q);
        space_invalidate(s, q->start, q->end);
    }
}

int gmm_snapshot_restore(gmm_space *s, gmm_snapshot *h)
{
    if (!s || !h)
        return -GMM_EINVAL;
    uintptr_t id = id_of(h);
    space_lock(s);
    struct snapshot *sn = s->snap_first;
    while (sn && sn->id != id)
        sn = sn->next;
    if (!sn) {
        space_unlock(s);
        return -GMM_EINVAL;
    }
    struct snap_log *l = s->snap_log;
    s->pt.log = NULL;

    /* Everything that can fail first: the regions to insert (at most
     * those of the snapshot around each range where regions changed)... */
    size_t nins = 0;
    for (size_t k = sn->pos; k < l->len; k++) {
        if (!(l->e[k].kind & LOG_REGIONS))
            continue;
        gmm_addr lo = l->e[k].lo << PAGE_SHIFT, hi = l->e[k].hi << PAGE_SHIFT;
        closure(s, sn, &lo, &hi);
        for (size_t i = snap_index(sn, lo); i < sn->nregs && sn->regs[i].start < hi; i++)
            nins++;
    }
    struct region *spare = NULL;
    for (size_t i = 0; i < nins; i++) {
        struct region *q = region_alloc(s);
        if (!q)
            goto nomem;
        q->next = spare;
        spare = q;
    }
    /* ...and the page-table nodes the snapshot's entries need. */
    struct sync_ctx c = {s, sn, SYNC_ALLOC, 0, 0};
    for (size_t k = sn->pos; k < l->len; k++) {
        if ((l->e[k].kind & LOG_PAGES) && !sync_range(&c, l->e[k].lo, l->e[k].hi)) {
            c.mode = SYNC_PRUNE;
            for (size_t j = sn->pos; j <= k; j++)
                if (l->e[j].kind & LOG_PAGES)
                    sync_range(&c, l->e[j].lo, l->e[j].hi);
            goto nomem;
        }
    }

    /* Regions: around each range where they changed, those that differ
     * go and the snapshot's come back. */
    for (size_t k = sn->pos; k < l->len; k++) {
        if (!(l->e[k].kind & LOG_REGIONS))
            continue;
        gmm_addr lo = l->e[k].lo << PAGE_SHIFT, hi = l->e[k].hi << PAGE_SHIFT;
        closure(s, sn, &lo, &hi);
        regions_restore(s, sn, lo, hi, &spare);
    }
    while (spare) {
        struct region *q = spare;
        spare = q->next;
        q->space = s; /* back to the space's cache */
        region_free(q);
    }

    /* Pages: the logged ranges become the snapshot's again. */
    c.mode = SYNC_SET;
    for (size_t k = sn->pos; k < l->len; k++) {
        if (!(l->e[k].kind & LOG_PAGES))
            continue;
        c.chg_lo = UINT64_MAX;
        c.chg_hi = 0;
        sync_range(&c, l->e[k].lo, l->e[k].hi);
        if (c.chg_lo < c.chg_hi)
            invalidate_pages(s, c.chg_lo, c.chg_hi);
    }
    /* Nodes left empty go last: ranges may share nodes made above. */
    c.mode = SYNC_PRUNE;
    for (size_t k = sn->pos; k < l->len; k++)
        if (l->e[k].kind & LOG_PAGES)
            sync_range(&c, l->e[k].lo, l->e[k].hi);
    scalars_load(s, &sn->sc);
    if (s->hiwater_rss < s->rss)
        s->hiwater_rss = s->rss;

    /* Newer snapshots are discarded; the log starts again at sn. */
    while (s->snap_last != sn)
        snapshot_drop(s, s->snap_last);
    l->len = l->seg = sn->pos;
    s->pt.log = l;
    space_unlock(s);
    return 0;

nomem:
    while (spare) {
        struct region *q = spare;
        spare = q->next;
        region_free(q);
    }
    s->pt.log = l;
    space_unlock(s);
    return -GMM_ENOMEM;
}

/* ---- the checker's part ---- */

const char *snapshot_check(gmm_space *s, pt_visit_fn count, void *ctx)
{
    for (struct snapshot *sn = s->snap_first; sn; sn = sn->next) {
        pt_walk(&sn->pt, 0, UINT64_MAX >> PAGE_SHIFT, count, ctx);
        for (size_t i = 0; i < sn->nregs; i++) {
            struct gmm_object *o = sn->regs[i].obj;
            /* Objects no live region maps any more: their pages counted
             * once, at the first snapshot region that holds them. */
            if (!o || o->rmap)
                continue;
            bool seen = false;
            for (gmm_space *t = s->sys->spaces; t && !seen; t = t->sys_next)
                for (struct snapshot *u = t->snap_first; u && !seen; u = u->next)
                    for (size_t j = 0; j < u->nregs; j++) {
                        if (u == sn && j == i)
                            goto first_seen;
                        if (u->regs[j].obj == o) {
                            seen = true;
                            break;
                        }
                    }
        first_seen:
            if (!seen)
                pt_walk(&o->pages, 0, UINT64_MAX >> PAGE_SHIFT, count, ctx);
        }
        if (sn->prev && sn->pos < sn->prev->pos)
            return "snapshot: log positions out of order";
    }
    if (s->snap_last && s->snap_log && s->snap_log->len - s->snap_last->pos <= 256 &&
        s->map_count <= 4096) {
        /* The region log's promise: a region outside every range recorded
         * since the newest snapshot is one of that snapshot's, unchanged. */
        const struct snapshot *sn = s->snap_last;
        const struct snap_log *l = s->snap_log;
        for (struct region *r = s->first; r; r = r->next) {
            bool covered = false;
            for (size_t k = sn->pos; k < l->len && !covered; k++) {
                if (!(l->e[k].kind & LOG_REGIONS))
                    continue;
                gmm_addr lo = l->e[k].lo << PAGE_SHIFT, hi = l->e[k].hi << PAGE_SHIFT;
                closure(s, sn, &lo, &hi);
                covered = r->start < hi && r->end > lo;
            }
            if (covered)
                continue;
            size_t i = snap_index(sn, r->start);
            if (!(i < sn->nregs && region_same(r, &sn->regs[i])))
                return "snapshot: a region changed without being recorded";
        }
    }
    if (s->snap_first && (!s->snap_log || s->pt.log != s->snap_log ||
                          s->snap_log->seg != s->snap_last->pos ||
                          s->snap_log->len > s->snap_log->cap))
        return "snapshot: log not in step with the snapshots";
    return NULL;
}
