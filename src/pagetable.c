/*
 * pagetable.c - a radix tree from guest page number to pte.
 *
 * Four levels of 512 entries cover 36 bits of page number (48-bit guest
 * addresses).  Nodes are allocated on first use and freed when their last
 * entry goes, so an untouched range costs nothing.  Leaves may be shared
 * between the tables of a fork parent and child (internal.h, struct
 * pt_node): every function here that writes an entry first makes the leaf
 * the writing table's own.
 */
#include "internal.h"

static inline unsigned pt_index(uint64_t pn, int level)
{
    return (unsigned)(pn >> (PT_BITS * (PT_LEVELS - 1 - level))) & (PT_ENTRIES - 1);
}

/* Does entry p hold a frame of its own (counted in a leaf's frames)? */
static inline bool holds_frame(pte_t p) { return pte_frame(p) != FRAME_ZERO; }

/* ---- shared leaves ----
 * A leaf shared by k tables (sharers == k - 1) may need k - 1 copies, one
 * for each table but the last to let it go, and some copies are made
 * where nothing may fail: a munmap after its checks, a truncation, a
 * snapshot restore.  A copy's node comes from the allocator; when that
 * fails, from the system's reserve, which fork keeps at least as large
 * as the sum of every leaf's sharers (sys->leaf_debt): so no copy ever
 * fails.  The reserve is a few large blocks of nodes (struct
 * leaf_block), allocated untouched, one allocation for many shares, and
 * freed once no longer needed. */
struct leaf_block {
    struct leaf_block *next;
    uint32_t n, nfree;
    struct pt_node *free; /* free nodes, through u.child[0] */
    struct pt_node nodes[];
};

/* Frees the blocks the reserve no longer needs (whole and unused). */
static void reserve_trim(gmm_system *sys)
{
    for (struct leaf_block **bp = &sys->leaf_blocks; *bp;) {
        struct leaf_block *b = *bp;
        if (b->nfree == b->n && sys->leaf_reserve - b->n >= sys->leaf_debt) {
            sys->leaf_reserve -= b->n;
            *bp = b->next;
            gmm_free(b);
        } else {
            bp = &b->next;
        }
    }
}

/* One more share: the reserve grows when it has no node to spare, by as
 * many nodes as are owed already (32 to 1024: a fork of n leaves makes
 * O(log n) blocks, then one per 4 MiB of nodes).  0 or -GMM_ENOMEM. */
static int reserve_share(gmm_system *sys)
{
    if (sys->leaf_reserve == sys->leaf_debt) {
        uint64_t n = sys->leaf_debt < 32 ? 32 : sys->leaf_debt > 1024 ? 1024 : sys->leaf_debt;
        struct leaf_block *b =
            gmm_malloc(sys, sizeof(*b) + (size_t)n * sizeof(struct pt_node));
        if (!b)
            return -GMM_ENOMEM;
        /* The nodes are linked as they are taken (b->free holds the
         * returned ones, then the never used from nodes[n - nfree]). */
        b->n = b->nfree = (uint32_t)n;
        b->free = NULL;
        b->next = sys->leaf_blocks;
        sys->leaf_blocks = b;
        sys->leaf_reserve += n;
    }
    sys->leaf_debt++;
    return 0;
}

/* A node of the reserve (there is one whenever a share is owed). */
static struct pt_node *reserve_take(gmm_system *sys)
{
    struct leaf_block *b = sys->leaf_blocks;
    while (!b->nfree)
        b = b->next;
    struct pt_node *n;
    if (b->free) {
        n = b->free;
        b->free = n->u.child[0];
    } else {
        /* Never taken yet: nodes taken so far are n - nfree, and the
         * returned ones are all on the free list. */
        n = &b->nodes[b->n - b->nfree];
    }
    b->nfree--;
    sys->leaf_reserve--;
    return n;
}

/* The reserve block holding node n, or NULL. */
static struct leaf_block *reserve_block_of(gmm_system *sys, const struct pt_node *n)
{
    for (struct leaf_block *b = sys->leaf_blocks; b; b = b->next)
        if ((uintptr_t)n >= (uintptr_t)b->nodes && (uintptr_t)n < (uintptr_t)(b->nodes + b->n))
            return b;
    return NULL;
}

void pt_node_free(struct pagetable *pt, struct pt_node *n)
{
    gmm_system *sys = pt->sys;
    struct leaf_block *b = sys && sys->leaf_blocks ? reserve_block_of(sys, n) : NULL;
    if (likely(!b)) {
        gmm_free(n);
        return;
    }
    /* Listed, unless it is the last node taken and none is listed: then
     * the never-taken tail grows over it. */
    if (b->free || n != &b->nodes[b->n - b->nfree - 1]) {
        n->u.child[0] = b->free;
        b->free = n;
    }
    b->nfree++;
    sys->leaf_reserve++;
    reserve_trim(sys);
}

uint64_t pt_reserve_free(gmm_system *sys)
{
    uint64_t n = 0;
    for (struct leaf_block *b = sys->leaf_blocks; b; b = b->next) {
        uint64_t listed = 0;
        for (const struct pt_node *f = b->free; f && listed <= b->n; f = f->u.child[0])
            listed++;
        if (listed > b->nfree)
            return UINT64_MAX; /* a list longer than the free count: corrupt */
        n += b->nfree;
    }
    return n;
}

void pt_spares_free(gmm_system *sys)
{
    while (sys->leaf_blocks) {
        struct leaf_block *b = sys->leaf_blocks;
        sys->leaf_blocks = b->next;
        gmm_free(b);
    }
    sys->leaf_reserve = 0;
}

/* The copy of a shared leaf: the copy holds its own reference on every
 * frame its entries map, and the shared one has a sharer less. */
static struct pt_node *leaf_copy(struct pagetable *pt, struct pt_node *old)
{
    gmm_system *sys = pt->sys;
    struct pt_node *n = gmm_malloc(sys, sizeof(*n));
    if (!n)
        n = reserve_take(sys);
    n->used = old->used;
    n->frames = old->frames;
    n->sharers = 0;
    memcpy(n->u.pte, old->u.pte, sizeof(n->u.pte));
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if (holds_frame(n->u.pte[i]))
            frame_ref(sys, pte_frame(n->u.pte[i]));
    old->sharers--;
    sys->leaf_debt--;
    if (sys->leaf_reserve > sys->leaf_debt)
        reserve_trim(sys);
    return n;
}

struct pt_node *pt_own_leaf(struct pagetable *pt, struct pt_node **link)
{
    if (likely(!(*link)->sharers))
        return *link;
    return *link = leaf_copy(pt, *link);
}

/* A table lets go of a shared leaf without copying it (pt_destroy; the
 * reserve is trimmed at the end). */
static void leaf_drop_share(struct pagetable *pt, struct pt_node *leaf)
{
    leaf->sharers--;
    pt->sys->leaf_debt--;
    pt->present -= leaf->used;
}

/* The node above the leaf of pn (level PT_LEVELS - 2), allocating the
 * path when alloc; NULL when absent or out of memory (the nodes just made
 * freed again). */
static struct pt_node *pt_parent(struct pagetable *pt, uint64_t pn, bool alloc)
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
    for (int level = 0; level < PT_LEVELS - 2; level++) {
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
    return n;
}

pte_t *pt_slot(struct pagetable *pt, uint64_t pn, bool alloc)
{
    struct pt_node *p = pt_parent(pt, pn, alloc);
    if (!p)
        return NULL;
    struct pt_node **link = &p->u.child[pt_index(pn, PT_LEVELS - 2)];
    struct pt_node *leaf = *link;
    if (!leaf) {
        if (!alloc)
            return NULL;
        if (!(leaf = gmm_calloc(pt->sys, 1, sizeof(struct pt_node)))) {
            pt_trim(pt, pn);
            return NULL;
        }
        *link = leaf;
        p->used++;
    } else {
        leaf = pt_own_leaf(pt, link);
    }
    return &leaf->u.pte[pt_index(pn, PT_LEVELS - 1)];
}

/* The leaf holding pn, or NULL; read only. */
static struct pt_node *leaf_get(const struct pagetable *pt, uint64_t pn)
{
    if (pn >> (PT_BITS * PT_LEVELS))
        return NULL;
    struct pt_node *n = pt->root;
    for (int level = 0; n && level < PT_LEVELS - 1; level++)
        n = n->u.child[pt_index(pn, level)];
    return n;
}

pte_t pt_get(const struct pagetable *pt, uint64_t pn)
{
    const struct pt_node *leaf = leaf_get(pt, pn);
    return leaf ? leaf->u.pte[pt_index(pn, PT_LEVELS - 1)] : 0;
}

uint32_t pt_sharers(const struct pagetable *pt, uint64_t pn)
{
    const struct pt_node *leaf = leaf_get(pt, pn);
    return leaf ? leaf->sharers : 0;
}

/* The leaf of pn (which must exist), made pt's own. */
static struct pt_node *pt_leaf(struct pagetable *pt, uint64_t pn)
{
    struct pt_node *p = pt->root;
    for (int level = 0; level < PT_LEVELS - 2; level++)
        p = p->u.child[pt_index(pn, level)];
    return pt_own_leaf(pt, &p->u.child[pt_index(pn, PT_LEVELS - 2)]);
}

void pt_set(struct pagetable *pt, uint64_t pn, pte_t pte)
{
    struct pt_node *leaf = pt_leaf(pt, pn);
    pte_t *slot = &leaf->u.pte[pt_index(pn, PT_LEVELS - 1)];
    if (!*slot) {
        leaf->used++;
        pt->present++;
    }
    leaf->frames += (uint16_t)(holds_frame(pte) - holds_frame(*slot));
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
        /* (A shared leaf is never empty.) */
        if (path[level]->used)
            return;
        pt_node_free(pt, path[level]);
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
    if (!pt_get(pt, pn))
        return;
    struct pt_node *leaf = pt_leaf(pt, pn);
    pte_t *slot = &leaf->u.pte[pt_index(pn, PT_LEVELS - 1)];
    if (unlikely(pt->log))
        snap_log_note(pt->log, pn, pn + 1);
    leaf->frames -= holds_frame(*slot);
    *slot = 0;
    leaf->used--;
    pt->present--;
    if (!leaf->used)
        pt_trim(pt, pn);
}

int pt_share_leaf(struct pagetable *dst, struct pt_node *leaf, uint64_t pn)
{
    gmm_system *sys = dst->sys;
    struct pt_node *p = pt_parent(dst, pn, true);
    if (!p)
        return -GMM_ENOMEM;
    if (reserve_share(sys)) {
        pt_trim(dst, pn);
        return -GMM_ENOMEM;
    }
    p->u.child[pt_index(pn, PT_LEVELS - 2)] = leaf;
    p->used++;
    leaf->sharers++;
    dst->present += leaf->used;
    if (unlikely(dst->log)) {
        uint64_t base = pn & ~(uint64_t)(PT_ENTRIES - 1);
        snap_log_note(dst->log, base, base + PT_ENTRIES);
    }
    return 0;
}

/* Page numbers covered by one entry at level. */
static inline uint64_t level_span(int level)
{
    return (uint64_t)1 << (PT_BITS * (PT_LEVELS - 1 - level));
}

enum walk_mode {
    WALK_READ,
    WALK_CLEAR,   /* entries cleared (a shared leaf is copied first) */
    WALK_ZAP,     /* the same, but a shared leaf wholly in the range, with
                     no entry to keep, is let go, not visited (its frame
                     entries counted in *dropped) */
    WALK_DESTROY, /* a shared leaf is let go, not visited */
};

/* Would clearing [lo, hi) of leaf n (from base), but for the entries with
 * a bit of keep, change anything? */
static bool leaf_clears(const struct pt_node *n, uint64_t base, uint64_t lo, uint64_t hi,
                        pte_t keep)
{
    unsigned first = lo > base ? (unsigned)(lo - base) : 0;
    unsigned last = hi - base < PT_ENTRIES ? (unsigned)(hi - base) : PT_ENTRIES;
    for (unsigned i = first; i < last; i++)
        if (n->u.pte[i] && !(n->u.pte[i] & keep))
            return true;
    return false;
}

/* Does an entry of leaf n have a bit of bits? */
static bool leaf_has_bits(const struct pt_node *n, pte_t bits)
{
    if (bits)
        for (unsigned i = 0; i < PT_ENTRIES; i++)
            if (n->u.pte[i] & bits)
                return true;
    return false;
}

/* Walks n (at level, covering page numbers from base) over [lo, hi).
 * Clearing, entries are cleared (but for those with a bit of keep, which
 * are left alone and not visited) and empty nodes freed; returns true when
 * n became empty (and was freed). */
static bool walk_node(struct pagetable *pt, struct pt_node *n, int level, uint64_t base,
                      uint64_t lo, uint64_t hi, pt_visit_fn fn, void *ctx, enum walk_mode mode,
                      pte_t keep, uint64_t *dropped)
{
    uint64_t span = level_span(level);
    unsigned first = lo > base ? (unsigned)((lo - base) / span) : 0;
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t b = base + i * span;
        if (b >= hi)
            break;
        if (level == PT_LEVELS - 1) {
            pte_t p = n->u.pte[i];
            if (!p || (mode != WALK_READ && (p & keep)))
                continue;
            if (fn)
                fn(ctx, b, p);
            if (mode != WALK_READ) {
                n->u.pte[i] = 0;
                n->used--;
                n->frames -= holds_frame(p);
                pt->present--;
            }
        } else {
            struct pt_node *c = n->u.child[i];
            if (!c)
                continue;
            if (level == PT_LEVELS - 2 && c->sharers && mode != WALK_READ) {
                /* Never a store into a leaf another table sees. */
                if (mode == WALK_DESTROY || (mode == WALK_ZAP && b >= lo && b + PT_ENTRIES <= hi &&
                                             !leaf_has_bits(c, keep))) {
                    leaf_drop_share(pt, c);
                    if (dropped)
                        *dropped += c->frames;
                    n->u.child[i] = NULL;
                    n->used--;
                    continue;
                }
                if (!leaf_clears(c, b, lo, hi, keep))
                    continue;
                c = pt_own_leaf(pt, &n->u.child[i]);
            }
            if (walk_node(pt, c, level + 1, b, lo, hi, fn, ctx, mode, keep, dropped)) {
                n->u.child[i] = NULL;
                n->used--;
            }
        }
    }
    if (mode != WALK_READ && !n->used) {
        pt_node_free(pt, n);
        return true;
    }
    return false;
}

/* Calls fn with the link to every leaf under n (at level, from base)
 * holding page numbers of [lo, hi). */
typedef void (*link_fn)(void *ctx, uint64_t base, struct pt_node **link);
static void each_leaf(struct pt_node *n, int level, uint64_t base, uint64_t lo, uint64_t hi,
                      link_fn fn, void *ctx)
{
    uint64_t span = level_span(level);
    unsigned first = lo > base ? (unsigned)((lo - base) / span) : 0;
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t b = base + i * span;
        if (b >= hi)
            break;
        if (!n->u.child[i])
            continue;
        if (level == PT_LEVELS - 2)
            fn(ctx, b, &n->u.child[i]);
        else
            each_leaf(n->u.child[i], level + 1, b, lo, hi, fn, ctx);
    }
}

struct leaf_walk {
    pt_leaf_fn fn;
    void *ctx;
    struct pagetable *pt;
};

static void visit_leaf(void *ctx, uint64_t base, struct pt_node **link)
{
    struct leaf_walk *w = ctx;
    w->fn(w->ctx, base, *link);
}

void pt_walk_leaves(const struct pagetable *pt, uint64_t lo, uint64_t hi, pt_leaf_fn fn, void *ctx)
{
    struct leaf_walk w = {fn, ctx, NULL};
    if (pt->root && lo < hi)
        each_leaf(pt->root, 0, 0, lo, hi, visit_leaf, &w);
}

static void own_leaf(void *ctx, uint64_t base, struct pt_node **link)
{
    struct leaf_walk *w = ctx;
    (void)base;
    pt_own_leaf(w->pt, link);
}

void pt_unshare_range(struct pagetable *pt, uint64_t lo, uint64_t hi)
{
    struct leaf_walk w = {NULL, NULL, pt};
    if (pt->root && lo < hi)
        each_leaf(pt->root, 0, 0, lo, hi, own_leaf, &w);
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
        walk_node(pt, pt->root, 0, 0, lo, hi, fn, ctx, WALK_READ, 0, NULL);
}

void pt_clear_range(struct pagetable *pt, uint64_t lo, uint64_t hi, pt_visit_fn fn, void *ctx)
{
    if (unlikely(pt->log) && pt->root)
        snap_log_note(pt->log, lo, hi);
    if (pt->root && lo < hi && walk_node(pt, pt->root, 0, 0, lo, hi, fn, ctx, WALK_CLEAR, 0, NULL))
        pt->root = NULL;
}

uint64_t pt_zap_range(struct pagetable *pt, uint64_t lo, uint64_t hi, pte_t keep, pt_visit_fn fn,
                      void *ctx)
{
    uint64_t dropped = 0;
    if (unlikely(pt->log) && pt->root)
        snap_log_note(pt->log, lo, hi);
    if (pt->root && lo < hi &&
        walk_node(pt, pt->root, 0, 0, lo, hi, fn, ctx, WALK_ZAP, keep, &dropped))
        pt->root = NULL;
    if (pt->sys && pt->sys->leaf_reserve > pt->sys->leaf_debt)
        reserve_trim(pt->sys);
    return dropped;
}

void pt_clear_range_keep(struct pagetable *pt, uint64_t lo, uint64_t hi, pte_t keep,
                         pt_visit_fn fn, void *ctx)
{
    if (unlikely(pt->log) && pt->root)
        snap_log_note(pt->log, lo, hi);
    if (pt->root && lo < hi && walk_node(pt, pt->root, 0, 0, lo, hi, fn, ctx, WALK_CLEAR, keep, NULL))
        pt->root = NULL;
}

void pt_destroy(struct pagetable *pt, pt_visit_fn fn, void *ctx)
{
    uint64_t end = (uint64_t)1 << (PT_BITS * PT_LEVELS);
    if (unlikely(pt->log) && pt->root)
        snap_log_note(pt->log, 0, end);
    if (pt->root && walk_node(pt, pt->root, 0, 0, 0, end, fn, ctx, WALK_DESTROY, 0, NULL))
        pt->root = NULL;
    if (pt->sys && pt->sys->leaf_reserve > pt->sys->leaf_debt)
        reserve_trim(pt->sys);
}
