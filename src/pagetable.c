/*
 * pagetable.c - a radix tree from guest page number to pte.
 *
 * Four levels of 512 entries cover 36 bits of page number (48-bit guest
 * addresses).  Nodes are allocated on first use and freed when their last
 * entry goes, so an untouched range costs nothing.
 */
#include "internal.h"

static inline unsigned pt_index(uint64_t pn, int level)
{
    return (unsigned)(pn >> (PT_BITS * (PT_LEVELS - 1 - level))) & (PT_ENTRIES - 1);
}

pte_t *pt_slot(struct pagetable *pt, uint64_t pn, bool alloc)
{
    /* Beyond what four levels index (a file page offset of 2^36 pages or
     * more): no slot, rather than an alias of a low one. */
    if (pn >> (PT_BITS * PT_LEVELS))
        return NULL;
    if (!pt->root) {
        if (!alloc || !(pt->root = gmm_calloc(pt->sys, 1, sizeof(struct pt_node))))
            return NULL;
    }
    struct pt_node *n = pt->root;
    for (int level = 0; level < PT_LEVELS - 1; level++) {
        unsigned i = pt_index(pn, level);
        struct pt_node *c = n->u.child[i];
        if (!c) {
            if (!alloc)
                return NULL;
            if (!(c = gmm_calloc(pt->sys, 1, sizeof(struct pt_node)))) {
                /* Out of memory half way: free the nodes just made for
                 * this path, so that a failed call leaves the table as it
                 * was. */
                pt_trim(pt, pn);
                return NULL;
            }
            n->u.child[i] = c;
            n->used++;
        }
        n = c;
    }
    return &n->u.pte[pt_index(pn, PT_LEVELS - 1)];
}

/* The leaf node for pn (which must exist). */
static struct pt_node *pt_leaf(struct pagetable *pt, uint64_t pn)
{
    struct pt_node *n = pt->root;
    for (int level = 0; level < PT_LEVELS - 1; level++)
        n = n->u.child[pt_index(pn, level)];
    return n;
}

void pt_set(struct pagetable *pt, uint64_t pn, pte_t pte)
{
    struct pt_node *leaf = pt_leaf(pt, pn);
    pte_t *slot = &leaf->u.pte[pt_index(pn, PT_LEVELS - 1)];
    if (!*slot) {
        leaf->used++;
        pt->present++;
    }
    *slot = pte;
    if (unlikely(pt->log))
        snap_log_note(pt->log, pn, pn + 1);
}

/* Frees empty nodes on the path to pn, bottom up (after a pt_slot whose
 * entry was left empty, or the last pt_clear in a leaf). */
void pt_trim(struct pagetable *pt, uint64_t pn)
{
    if (pn >> (PT_BITS * PT_LEVELS))
        return;
    struct pt_node *path[PT_LEVELS];
    struct pt_node *n = pt->root;
    int depth = 0;
    while (n && depth < PT_LEVELS) {
        path[depth] = n;
        n = depth < PT_LEVELS - 1 ? n->u.child[pt_index(pn, depth)] : NULL;
        depth++;
    }
    for (int level = depth - 1; level >= 0; level--) {
        if (path[level]->used)
            return;
        gmm_free(path[level]);
        if (level == 0)
            pt->root = NULL;
        else {
            path[level - 1]->u.child[pt_index(pn, level - 1)] = NULL;
            path[level - 1]->used--;
        }
    }
}

void pt_clear(struct pagetable *pt, uint64_t pn)
{
    struct pt_node *leaf = pt_leaf(pt, pn);
    pte_t *slot = &leaf->u.pte[pt_index(pn, PT_LEVELS - 1)];
    if (!*slot)
        return;
    if (unlikely(pt->log))
        snap_log_note(pt->log, pn, pn + 1);
    *slot = 0;
    leaf->used--;
    pt->present--;
    if (!leaf->used)
        pt_trim(pt, pn);
}

/* Page numbers covered by one entry at level. */
static inline uint64_t level_span(int level)
{
    return (uint64_t)1 << (PT_BITS * (PT_LEVELS - 1 - level));
}

/* Walks n (at level, covering page numbers from base) over [lo, hi).
 * With clear, entries are cleared (but for those with a bit of keep, which
 * are left alone and not visited) and empty nodes freed; returns true when
 * n became empty (and was freed). */
static bool walk_node(struct pagetable *pt, struct pt_node *n, int level, uint64_t base,
                      uint64_t lo, uint64_t hi, pt_visit_fn fn, void *ctx, bool clear,
                      pte_t keep)
{
    uint64_t span = level_span(level);
    unsigned first = lo > base ? (unsigned)((lo - base) / span) : 0;
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t b = base + i * span;
        if (b >= hi)
            break;
        if (level == PT_LEVELS - 1) {
            pte_t p = n->u.pte[i];
            if (!p || (clear && (p & keep)))
                continue;
            if (fn)
                fn(ctx, b, p);
            if (clear) {
                n->u.pte[i] = 0;
                n->used--;
                pt->present--;
            }
        } else {
            struct pt_node *c = n->u.child[i];
            if (!c)
                continue;
            if (walk_node(pt, c, level + 1, b, lo, hi, fn, ctx, clear, keep)) {
                n->u.child[i] = NULL;
                n->used--;
            }
        }
    }
    if (clear && !n->used) {
        gmm_free(n);
        return true;
    }
    return false;
}

/* Does n (at level, from base) hold an entry in [lo, hi)? */
static bool node_used(const struct pt_node *n, int level, uint64_t base, uint64_t lo, uint64_t hi)
{
    uint64_t span = level_span(level);
    unsigned first = lo > base ? (unsigned)((lo - base) / span) : 0;
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t b = base + i * span;
        if (b >= hi)
            break;
        if (level == PT_LEVELS - 1 ? n->u.pte[i] != 0
                                   : n->u.child[i] && node_used(n->u.child[i], level + 1, b, lo, hi))
            return true;
    }
    return false;
}

bool pt_range_empty(const struct pagetable *pt, uint64_t lo, uint64_t hi)
{
    return !pt->present || !pt->root || lo >= hi || !node_used(pt->root, 0, 0, lo, hi);
}

void pt_walk(struct pagetable *pt, uint64_t lo, uint64_t hi, pt_visit_fn fn, void *ctx)
{
    if (pt->root && lo < hi)
        walk_node(pt, pt->root, 0, 0, lo, hi, fn, ctx, false, 0);
}

void pt_clear_range(struct pagetable *pt, uint64_t lo, uint64_t hi, pt_visit_fn fn, void *ctx)
{
    if (unlikely(pt->log) && pt->root)
        snap_log_note(pt->log, lo, hi);
    if (pt->root && lo < hi && walk_node(pt, pt->root, 0, 0, lo, hi, fn, ctx, true, 0))
        pt->root = NULL;
}

void pt_clear_range_keep(struct pagetable *pt, uint64_t lo, uint64_t hi, pte_t keep,
                         pt_visit_fn fn, void *ctx)
{
    if (unlikely(pt->log) && pt->root)
        snap_log_note(pt->log, lo, hi);
    if (pt->root && lo < hi && walk_node(pt, pt->root, 0, 0, lo, hi, fn, ctx, true, keep))
        pt->root = NULL;
}

void pt_destroy(struct pagetable *pt, pt_visit_fn fn, void *ctx)
{
    pt_clear_range(pt, 0, (uint64_t)1 << (PT_BITS * PT_LEVELS), fn, ctx);
}
