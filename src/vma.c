/*
 * vma.c - operations on ranges of regions: merge rules, split, unmap, zap
 * and accounting, shared by the syscall families.
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

static inline uint64_t region_pages(const struct region *r)
{
    return (r->end - r->start) >> PAGE_SHIFT;
}

bool vma_mergeable(const struct region *a, const struct region *b)
{
    return a->end == b->start && a->flags == b->flags && a->obj == b->obj &&
           a->pgoff + region_pages(a) == b->pgoff && anon_compatible(a->anon, b->anon);
}

bool vma_is_data(uint32_t flags)
{
    return (flags & (VM_WRITE | VM_SHARED | VM_GROWSDOWN)) == VM_WRITE;
}

void vma_account(gmm_space *s, uint32_t flags, int64_t pages)
{
    s->total_vm += (uint64_t)pages;
    if (vma_is_data(flags))
        s->data_vm += (uint64_t)pages;
    if (flags & VM_GROWSDOWN)
        s->stack_vm += (uint64_t)pages;
}

struct region *vma_split(gmm_space *s, struct region *r, gmm_addr addr)
{
    struct region *q = region_alloc();
    if (!q)
        return NULL;
    *q = *r;
    q->start = addr;
    q->pgoff = r->pgoff + ((addr - r->start) >> PAGE_SHIFT);
    if (q->obj)
        object_get(q->obj);
    r->end = addr;
    region_bounds_changed(s, r);
    region_insert(s, q);
    return q;
}

void vma_put_object(gmm_space *s, struct region *r)
{
    if (r->obj) {
        object_put(s->sys, r->obj);
        r->obj = NULL;
    }
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
    space_invalidate(s, start, end);
    pt_clear_range(&s->pt, start >> PAGE_SHIFT, end >> PAGE_SHIFT, zap_one, s);
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
    if (r->start < start && !(lo = region_alloc()))
        return -GMM_ENOMEM;
    struct region *last = r->end >= end ? r : region_find(s, end - 1);
    if (last && last->start < end && last->end > end && !(hi = region_alloc())) {
        region_free(lo);
        return -GMM_ENOMEM;
    }
    if (lo) {
        /* Keep [r->start, start) in r; the part above goes away. */
        *lo = *r;
        lo->start = start;
        lo->pgoff = r->pgoff + ((start - r->start) >> PAGE_SHIFT);
        if (lo->obj)
            object_get(lo->obj);
        r->end = start;
        region_bounds_changed(s, r);
        region_insert(s, lo);
        r = lo;
    }
    while (r && r->start < end) {
        struct region *next = r->next;
        if (r->end > end) {
            /* Keep [end, r->end) in hi. */
            *hi = *r;
            hi->start = end;
            hi->pgoff = r->pgoff + ((end - r->start) >> PAGE_SHIFT);
            if (hi->obj)
                object_get(hi->obj);
            r->end = end;
            region_bounds_changed(s, r);
            region_insert(s, hi);
            next = hi;
        }
        vma_zap(s, r->start, r->end);
        vma_account(s, r->flags, -(int64_t)region_pages(r));
        vma_put_object(s, r);
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
        p->end = r->end;
        if (!p->anon)
            p->anon = r->anon;
        vma_put_object(s, r);
        region_remove(s, r);
        region_free(r);
        region_bounds_changed(s, p);
        r = p;
    }
    if (n) {
        r->end = n->end;
        if (!r->anon)
            r->anon = n->anon;
        vma_put_object(s, n);
        region_remove(s, n);
        region_free(n);
        region_bounds_changed(s, r);
    }
    return r;
}
