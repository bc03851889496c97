/*
 * check.c - the full invariant checker (gmm_space_check, gmm_system_check),
 * for tests and fuzzers.  Not for hot paths: O(regions + pages + frames).
 * The caller must ensure no other thread uses the system meanwhile.
 */
#include "internal.h"

#include <stdlib.h>

struct pte_check {
    gmm_space *s;
    struct region *r; /* cursor: the region the next pte should be in */
    const char *err;
    uint32_t *counts;
    uint64_t nframes;
    uint64_t rss;
    uint64_t present; /* the space's entries, summed over its leaves */
    /* Every leaf of every space, once per space holding it. */
    const struct pt_node **leaves;
    size_t nleaves, cap;
};

static void check_pte(void *ctx, uint64_t pn, pte_t pte)
{
    struct pte_check *c = ctx;
    gmm_addr a = pn << PAGE_SHIFT;
    while (c->r && c->r->end <= a)
        c->r = c->r->next;
    if (!c->err && (!c->r || c->r->start > a))
        c->err = "page table: entry outside every region";
    frame_t f = pte_frame(pte);
    /* A guard marker holds no frame. */
    if (pte == PTE_GUARD)
        return;
    if (!(pte & PTE_PRESENT) && !c->err)
        c->err = "page table: entry without the present bit";
    if (f != FRAME_ZERO)
        c->rss++;
    if (f >= c->nframes && !c->err)
        c->err = "page table: frame number out of range";
}

/* A leaf of a space's table: its entries and counts.  Its frames are
 * counted later, once whatever the number of spaces sharing it. */
static void check_leaf(void *ctx, uint64_t base, struct pt_node *leaf)
{
    struct pte_check *c = ctx;
    unsigned used = 0, frames = 0;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t p = leaf->u.pte[i];
        if (!p)
            continue;
        used++;
        frames += pte_frame(p) != FRAME_ZERO;
        check_pte(c, base + i, p);
    }
    c->present += used;
    if (!c->err && (used != leaf->used || frames != leaf->frames))
        c->err = "page table: a leaf's counts do not match its entries";
    if (!c->err && !used)
        c->err = "page table: an empty leaf";
    if (c->nleaves == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        const struct pt_node **p = realloc(c->leaves, cap * sizeof(*p));
        if (!p) {
            if (!c->err)
                c->err = "checker: out of memory";
            return;
        }
        c->leaves = p;
        c->cap = cap;
    }
    c->leaves[c->nleaves++] = leaf;
}

static int leaf_order(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const struct pt_node *const *)a;
    uintptr_t y = (uintptr_t) * (const struct pt_node *const *)b;
    return x < y ? -1 : x > y;
}

/* Each leaf once: held by sharers + 1 spaces, its frames counted once;
 * the system keeps one spare node per share. */
static void count_leaves(gmm_system *sys, struct pte_check *c)
{
    if (c->nleaves)
        qsort(c->leaves, c->nleaves, sizeof(*c->leaves), leaf_order);
    uint64_t shares = 0;
    for (size_t i = 0, k; i < c->nleaves && !c->err; i = k) {
        const struct pt_node *leaf = c->leaves[i];
        for (k = i + 1; k < c->nleaves && c->leaves[k] == leaf; k++)
            ;
        if (k - i != (size_t)leaf->sharers + 1) {
            c->err = "page table: a leaf's share count does not match the spaces holding it";
            break;
        }
        shares += leaf->sharers;
        for (unsigned j = 0; j < PT_ENTRIES; j++) {
            frame_t f = pte_frame(leaf->u.pte[j]);
            if (leaf->u.pte[j] != PTE_GUARD && leaf->u.pte[j] && f < c->nframes)
                c->counts[f]++;
        }
    }
    if (!c->err && (shares != sys->leaf_debt || sys->leaf_reserve < sys->leaf_debt ||
                    pt_reserve_free(sys) != sys->leaf_reserve))
        c->err = "page table: the reserve of leaf nodes does not cover the shares";
}

static void count_frame(void *ctx, uint64_t pn, pte_t pte)
{
    struct pte_check *c = ctx;
    (void)pn;
    frame_t f = pte_frame(pte);
    if (f < c->nframes)
        c->counts[f]++;
    else if (!c->err)
        c->err = "object: frame number out of range";
}

static const char *check_regions(gmm_space *s)
{
    const char *e = region_check_tree(s);
    if (e)
        return e;
    for (struct region *r = s->first; r; r = r->next) {
        /* Linux merges on mmap, mprotect and brk, but a grows-down region
         * that expands onto a neighbour stays apart from it, and the heap
         * never extends a region that ends at start_brk. */
        if (r->next && vma_mergeable(r, r->next) && !(r->next->flags & VM_GROWSDOWN) &&
            r->end != PAGE_ALIGN(s->start_brk) && !r->linux_unmerged && !r->next->linux_unmerged)
            return "regions: mergeable neighbours left unmerged";
        if ((r->flags & VM_SHARED) && !r->obj)
            return "region: shared without a backing object";
        if ((r->flags & VM_LOCKED_MASK) == VM_LOCKONFAULT)
            return "region: VM_LOCKONFAULT without VM_LOCKED";
        if (r->name && r->file)
            return "region: a file mapping with an anonymous name";
    }
    uint64_t locked = 0, exec = 0;
    for (struct region *r = s->first; r; r = r->next) {
        uint64_t pages = (r->end - r->start) >> PAGE_SHIFT;
        if (r->flags & VM_LOCKED)
            locked += pages;
        if ((r->flags & (VM_EXEC | VM_WRITE | VM_GROWSDOWN)) == VM_EXEC)
            exec += pages;
    }
    if (locked != s->locked_vm)
        return "space: locked_vm does not match its locked regions";
    if (exec != s->exec_vm)
        return "space: exec_vm does not match its executable regions";
    /* The mirror rule for every window of the space (window.c). */
    return s->windows ? window_check_space(s) : NULL;
}

static const char *frames_check(gmm_system *sys);

const char *gmm_space_check(gmm_space *s)
{
    space_lock(s);
    const char *e = check_regions(s);
    if (!e)
        e = frames_check(s->sys);
    space_unlock(s);
    return e;
}

const char *gmm_system_check(gmm_system *sys)
{
    pthread_mutex_lock(&sys->mm_lock);
    const char *e = NULL;
    for (gmm_space *t = sys->spaces; t && !e; t = t->sys_next)
        e = check_regions(t);
    if (!e)
        e = frames_check(sys);
    pthread_mutex_unlock(&sys->mm_lock);
    return e;
}

/* What the spaces of a system share: every page table's entries inside
 * their regions and counted in rss, and each frame's reference count equal
 * to its users (page tables and backing objects) or the frame on a free
 * list. */
static const char *frames_check(gmm_system *sys)
{
    struct pte_check c = {0};
    c.nframes = sys->bump;
    c.counts = calloc(c.nframes ? c.nframes : 1, sizeof(uint32_t));
    if (!c.counts)
        return "checker: out of memory";
    for (gmm_space *t = sys->spaces; t && !c.err; t = t->sys_next) {
        c.s = t;
        c.r = t->first;
        c.rss = 0;
        c.present = 0;
        pt_walk_leaves(&t->pt, 0, UINT64_MAX >> PAGE_SHIFT, check_leaf, &c);
        if (!c.err && c.rss != t->rss)
            c.err = "space: rss does not match its page table";
        if (!c.err && c.present != t->pt.present)
            c.err = "space: its page table's entry count does not match";
        /* Frames and objects the space's snapshots hold (snapshot.c). */
        if (!c.err && t->snap_first) {
            const char *e = snapshot_check(t, count_frame, &c);
            if (e)
                c.err = e;
        }
        /* Each object once: count it at the first region that maps it. */
        for (struct region *r = t->first; r && !c.err; r = r->next) {
            if (!r->obj)
                continue;
            bool seen = false;
            for (gmm_space *u = sys->spaces; u && !seen; u = u->sys_next)
                for (struct region *q = u->first; q; q = q->next) {
                    if (u == t && q == r)
                        goto first_seen;
                    if (q->obj == r->obj) {
                        seen = true;
                        break;
                    }
                }
        first_seen:
            if (!seen)
                pt_walk(&r->obj->pages, 0, UINT64_MAX >> PAGE_SHIFT, count_frame, &c);
        }
    }
    if (!c.err)
        count_leaves(sys, &c);
    free(c.leaves);
    if (!c.err) {
        /* Freed frames hold list links, not counts. */
        bool *is_free = calloc(c.nframes ? c.nframes : 1, sizeof(bool));
        if (!is_free) {
            free(c.counts);
            return "checker: out of memory";
        }
        uint64_t nfree = 0;
        /* The free list and the two grace-period lists. */
        frame_t heads[3] = {sys->free_head, sys->limbo_new, sys->limbo_old};
        for (int l = 0; l < 3; l++)
            for (frame_t f = heads[l]; f != FRAME_NONE && !c.err;
                 f = *frame_ref_slot(sys, f)) {
                if (f >= c.nframes || is_free[f] || ++nfree > c.nframes)
                    c.err = "frames: free list corrupt";
                else
                    is_free[f] = true;
            }
        /* Counts read inline, not through frame_refcount: this loop runs
         * after every fuzzer call, and this file is built without the
         * comparison tracing frame.c carries. */
        for (frame_t f = 1; f < c.nframes && !c.err; f++) {
            uint32_t ref = *frame_ref_slot(sys, f);
            if (is_free[f]) {
                if (c.counts[f])
                    c.err = "frames: a freed frame is still mapped";
            } else if (c.counts[f] != ref) {
                c.err = c.counts[f] < ref ? "frames: reference count above its users (leak)"
                                          : "frames: reference count below its users";
            }
        }
        if (!c.err && sys->frames_used != c.nframes - 1 - nfree)
            c.err = "frames: used count does not match";
        free(is_free);
    }
    free(c.counts);
    return c.err;
}
