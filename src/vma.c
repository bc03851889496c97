/*
 * vma.c - operations on ranges of regions: merge rules, split, unmap, zap
 * and accounting, shared by the syscall families; and the limits layer:
 * the checks against RLIMIT_AS, RLIMIT_DATA and RLIMIT_MEMLOCK that every
 * way of adding memory (mmap, brk, mremap, mprotect, stack growth, exec)
 * asks.
 *
 * Merging follows Linux (mm/vma.c): two adjacent regions merge when their
 * flags are equal, they map the same object with contiguous page offsets,
 * and their anon identities are compatible (equal, or one not yet set).
 */
#include "internal.h"

static inline bool anon_compatible(uint64_t a, uint64_t b)
{
    return !a || !b || a == b;
}

/* Linux is_mergeable_anon_vma(): equal anon_vmas merge; when one side has
 * none it would take the other's, which Linux refuses when that one was
 * inherited from a fork parent (vma_had_uncowed_parents()). */
static inline bool anon_mergeable(const struct region *a, const struct region *b)
{
    if (a->anon == b->anon)
        return true;
    if (a->anon && b->anon)
        return false;
    return !(a->anon ? a->anon_forked : b->anon_forked);
}

static inline uint64_t region_pages(const struct region *r)
{
    return (r->end - r->start) >> PAGE_SHIFT;
}

static inline bool names_equal(const struct anon_name *a, const struct anon_name *b)
{
    return a == b || (a && b && strcmp(a->str, b->str) == 0);
}

static inline bool policies_equal(const struct vma_policy *a, const struct vma_policy *b)
{
    return a->mode == b->mode && a->flags == b->flags && a->nodes == b->nodes;
}

static inline bool mergeable(const struct region *a, const struct region *b)
{
    return a->end == b->start && ((a->flags ^ b->flags) & ~(uint32_t)VM_STICKY) == 0 &&
           a->obj == b->obj && a->file == b->file &&
           a->pgoff + region_pages(a) == b->pgoff && anon_mergeable(a, b) &&
           policies_equal(&a->pol, &b->pol) && names_equal(a->name, b->name);
}

bool vma_mergeable(const struct region *a, const struct region *b)
{
    return mergeable(a, b);
}

bool vma_may_expand(const gmm_space *s, uint32_t flags, uint64_t pages)
{
    if (s->total_vm + pages > s->rlim_as >> PAGE_SHIFT)
        return false;
    if (vma_is_data(flags) && s->data_vm + pages > s->rlim_data >> PAGE_SHIFT)
        /* "Workaround for Valgrind": a soft limit of 0 lets data grow up
         * to the hard limit. */
        return s->rlim_data == 0 && s->data_vm + pages <= s->rlim_max_data >> PAGE_SHIFT;
    return true;
}

bool mlock_allowed(const gmm_space *s)
{
    /* Read with or without the lock (gmm_space_setrlimit stores it atomically). */
    return __atomic_load_n(&s->rlim_memlock, __ATOMIC_RELAXED) != 0;
}

bool mlock_future_ok(const gmm_space *s, uint32_t flags, uint64_t len)
{
    if (!(flags & VM_LOCKED))
        return true;
    return s->locked_vm + (len >> PAGE_SHIFT) <= s->rlim_memlock >> PAGE_SHIFT;
}

struct region *vma_split_into(gmm_space *s, struct region *r, gmm_addr addr, struct region *q)
{
    *q = *r;
    q->start = addr;
    q->pgoff = r->pgoff + ((addr - r->start) >> PAGE_SHIFT);
    vma_get_refs(s, q);
    /* No gap changes: r's own gap is the same, and q takes the space r
     * gives up, so inserting q right after r is all the tree needs
     * (propagating r's new end first would show a gap that is not there
     * up to the root). */
    r->end = addr;
    region_insert_after(s, r, q);
    return q;
}

struct region *vma_split(gmm_space *s, struct region *r, gmm_addr addr)
{
    struct region *q = region_alloc_raw(s);
    return q ? vma_split_into(s, r, addr, q) : NULL;
}

void vma_get_refs(gmm_space *s, struct region *q)
{
    if (q->file)
        fileref_hold(s->sys, q->file);
    if (q->obj)
        object_attach(s->sys, q->obj, q);
    if (q->name)
        __atomic_add_fetch(&q->name->refs, 1, __ATOMIC_RELAXED);
}

void vma_put_refs(gmm_space *s, struct region *r)
{
    if (r->obj) {
        object_detach(s->sys, r->obj, r);
        r->obj = NULL;
    }
    if (r->file) {
        fileref_put(s->sys, r->file);
        r->file = NULL;
    }
    if (r->name) {
        if (__atomic_sub_fetch(&r->name->refs, 1, __ATOMIC_ACQ_REL) == 0)
            gmm_free(r->name);
        r->name = NULL;
    }
}

/* p absorbs its successor r (vma_mergeable(p, r)): p grows over r, which
 * is freed.  Nobody's free gap changes (they touched, and what follows r
 * sees the same end before it), so the tree repairs only its shape. */
static inline void absorb_next(gmm_space *s, struct region *p, struct region *r)
{
    p->end = r->end;
    p->flags |= r->flags & VM_STICKY;
    if (!p->anon)
        p->anon = r->anon;
    /* A region Linux left apart from a neighbour stays apart from it
     * when it grows (the checker's hint; found by the fuzzer). */
    p->linux_unmerged |= r->linux_unmerged;
    vma_put_refs(s, r);
    region_remove_absorbed(s, r);
    region_free(r);
}

/* Sets r's attributes (flags, policy, name) to want's. */
static void set_attrs(gmm_space *s, struct region *r, const struct region *want)
{
    region_changed(s, r);
    r->flags = want->flags;
    r->pol = want->pol;
    if (r->name != want->name) {
        struct anon_name *old = r->name;
        r->name = want->name;
        if (r->name)
            __atomic_add_fetch(&r->name->refs, 1, __ATOMIC_RELAXED);
        struct region tmp = {.name = old};
        vma_put_refs(s, &tmp);
    }
}

int vma_modify(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
               const struct region *want)
{
    bool left = start == r->start, right = end == r->end;
    bool merge_left = false, merge_right = false;
    uint64_t pgoff = r->pgoff + ((start - r->start) >> PAGE_SHIFT);
    if ((left && r->prev) || (right && r->next)) {
        /* [start, end) of r as it would be: what the merge rule reads. */
        struct region probe;
        probe.start = start;
        probe.end = end;
        probe.flags = want->flags;
        probe.obj = r->obj;
        probe.file = r->file;
        probe.pgoff = pgoff;
        probe.anon = r->anon;
        probe.anon_forked = r->anon_forked;
        probe.pol = want->pol;
        probe.name = want->name;
        if (left && r->prev)
            merge_left = mergeable(r->prev, &probe);
        if (right && r->next)
            merge_right = mergeable(&probe, r->next);
    }
    if (merge_left && merge_right && !anon_compatible(r->prev->anon, r->next->anon))
        merge_right = false;

    if (merge_left && !right) {
        /* prev grows over [start, end); r keeps the rest. */
        struct region *p = r->prev;
        p->end = end;
        p->flags |= want->flags & VM_STICKY;
        if (!p->anon)
            p->anon = r->anon;
        r->start = end;
        r->pgoff += (end - start) >> PAGE_SHIFT;
        region_bounds_changed(s, p);
        region_bounds_changed(s, r);
        return 0;
    }
    if (merge_right && !left) {
        /* next grows down over [start, end). */
        struct region *n = r->next;
        n->start = start;
        n->pgoff = pgoff;
        n->flags |= want->flags & VM_STICKY;
        if (!n->anon)
            n->anon = r->anon;
        r->end = start;
        region_bounds_changed(s, r);
        region_bounds_changed(s, n);
        return 0;
    }
    if (merge_left || merge_right) {
        /* The whole of r goes into its neighbour(s): r with want's
         * attributes is the probe, already found mergeable. */
        set_attrs(s, r, want);
        /* next into r first, then r into prev: the same result as the
         * other order (the union of sticky flags and unmerged marks, the
         * first anon identity set), but when the three came from one
         * split of r (its parent then), the regions taken out of the tree
         * are a leaf and a node with one child, not a node with two. */
        if (merge_right)
            absorb_next(s, r, r->next);
        if (merge_left)
            absorb_next(s, r->prev, r);
        return 0;
    }

    /* No merge: split off the parts outside [start, end), with every
     * region needed allocated first.  r keeps [start, end), as Linux's
     * vma keeps it (__split_vma() with new_below): the new regions go in
     * next to r, so a split in the middle leaves the tree as balanced as
     * it was. */
    int need = (start > r->start) + (end < r->end);
    if (need && s->map_count + (uint64_t)need > s->max_map_count)
        return -GMM_ENOMEM;
    struct region *lo = NULL, *hi = NULL;
    if ((start > r->start && !(lo = region_alloc_raw(s))) ||
        (end < r->end && !(hi = region_alloc_raw(s)))) {
        region_free(lo);
        return -GMM_ENOMEM;
    }
    if (lo) {
        *lo = *r;
        lo->end = start;
        vma_get_refs(s, lo);
        r->start = start;
        r->pgoff = pgoff;
        region_insert_before(s, r, lo);
    }
    if (hi)
        vma_split_into(s, r, end, hi);
    set_attrs(s, r, want);
    return 0;
}

static void zap_one(void *ctx, uint64_t pn, pte_t pte)
{
    gmm_space *s = ctx;
    (void)pn;
    frame_t f = pte_frame(pte);
    if (f != FRAME_ZERO)
        s->rss--;
    frame_unref(s->sys, f);
}

void vma_zap(gmm_space *s, gmm_addr start, gmm_addr end)
{
    /* update_hiwater_rss(): VmHWM is sampled before pages go away. */
    if (s->hiwater_rss < s->rss)
        s->hiwater_rss = s->rss;
    space_invalidate(s, start, end);
    s->rss -= pt_zap_range(&s->pt, start >> PAGE_SHIFT, end >> PAGE_SHIFT, 0, zap_one, s);
}

void vma_zap_pages(gmm_space *s, gmm_addr start, gmm_addr end)
{
    if (s->hiwater_rss < s->rss)
        s->hiwater_rss = s->rss;
    space_invalidate(s, start, end);
    s->rss -= pt_zap_range(&s->pt, start >> PAGE_SHIFT, end >> PAGE_SHIFT, PTE_GUARD, zap_one, s);
}

int vma_reserve_splits(gmm_space *s, gmm_addr start, gmm_addr end)
{
    /* Two splits at most: a cache that holds two already will do. */
    if (s->region_cached >= 2)
        return 0;
    struct region *first = region_find(s, start);
    struct region *last = end > start ? region_find(s, end - 1) : NULL;
    unsigned n = (first && first->start < start) + (last && last->start < end && last->end > end);
    return n ? region_reserve(s, n) : 0;
}

bool vma_unmap_splits(gmm_space *s, gmm_addr start, gmm_addr end)
{
    struct region *r = region_find(s, start);
    return r && r->start < start && r->end > end;
}

int vma_unmap(gmm_space *s, gmm_addr start, gmm_addr end)
{
    struct region *r = region_find(s, start);
    if (!r || r->start >= end)
        return 0;
    /* Allocate what the splits need before changing anything. */
    struct region *lo = NULL, *hi = NULL;
    if (r->start < start && !(lo = region_alloc_raw(s)))
        return -GMM_ENOMEM;
    struct region *last = r->end >= end ? r : region_find(s, end - 1);
    if (last && last->start < end && last->end > end && !(hi = region_alloc_raw(s))) {
        region_free(lo);
        return -GMM_ENOMEM;
    }
    if (lo) {
        /* Keep [r->start, start) in r; the part above goes away. */
        r = vma_split_into(s, r, start, lo);
    }
    while (r && r->start < end) {
        struct region *next = r->next;
        if (r->end > end) {
            /* Keep [end, r->end) in hi. */
            next = vma_split_into(s, r, end, hi);
        }
        vma_zap(s, r->start, r->end);
        vma_account(s, r->flags, -(int64_t)region_pages(r));
        vma_put_refs(s, r);
        region_remove(s, r);
        region_free(r);
        r = next;
    }
    return 0;
}

struct region *vma_merge_neighbours(gmm_space *s, struct region *r, bool with_prev, bool with_next)
{
    struct region *p = with_prev ? r->prev : NULL;
    struct region *n = with_next ? r->next : NULL;
    if (p && !vma_mergeable(p, r))
        p = NULL;
    if (n && !vma_mergeable(r, n))
        n = NULL;
    if (p && n && !anon_compatible(p->anon, n->anon))
        n = NULL;
    if (p) {
        absorb_next(s, p, r);
        r = p;
    }
    if (n)
        absorb_next(s, r, n);
    return r;
}
