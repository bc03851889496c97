/*
 * region.c - the region tree: a red-black tree ordered by start address,
 * threaded by a prev/next list, each node augmented with the largest free
 * gap in its subtree (the gap of a node is the free space between its
 * predecessor's end and its own start).  So lookup, insert, remove and
 * free-range search are O(log n).
 *
 * Red-black rather than AVL: an AVL tree changes heights all the way up
 * the path when a leaf is added under a balanced path, and back when it
 * goes again, so an mmap/munmap pair at one place walked to the root twice
 * (45% of the pair's instructions with 10,000 regions).  A red-black tree's
 * repairs cost amortised O(1) for any mix of insertions and removals, and
 * the largest gaps are propagated only as far as they change.
 */
#include "internal.h"

gmm_addr region_start_gap(const struct region *r)
{
    if (r->flags & VM_GROWSDOWN)
        return r->start > STACK_GUARD_GAP ? r->start - STACK_GUARD_GAP : 0;
    return r->start;
}

static inline gmm_addr prev_end(const struct region *r)
{
    return r->prev ? r->prev->end : 0;
}

/* The gap a node contributes to the augmentation.  The free space below
 * the first region (usually the largest, from 0 up) is left out, and the
 * searches look at it themselves, like the space above the last one: so
 * that mapping below the lowest region -- where top-down placement puts
 * most mappings once the top is full -- does not change the largest gap
 * of every node up to the root. */
static inline uint64_t gap_before(const struct region *r)
{
    return r->prev ? r->start - r->prev->end : 0;
}

/* [low, high) intersected with the space below the first region: the
 * highest (or lowest) len-byte fit there, or 0. */
static gmm_addr bottom_gap_fit(gmm_space *s, uint64_t len, gmm_addr low, gmm_addr high,
                               bool highest)
{
    gmm_addr hi = s->first ? s->first->start : high;
    if (hi > high)
        hi = high;
    if (hi <= low || hi - low < len)
        return 0;
    return highest ? hi - len : low;
}

static inline bool is_red(const struct region *r) { return r && r->red; }
static inline uint64_t max_gap(const struct region *r) { return r ? r->max_gap : 0; }

static inline void update(struct region *n)
{
    uint64_t g = gap_before(n), gl = max_gap(n->left), gr = max_gap(n->right);
    if (gl > g)
        g = gl;
    if (gr > g)
        g = gr;
    n->max_gap = g;
}

/* Recomputes the largest gap of n and its ancestors, stopping where it
 * stays (an unchanged node leaves its ancestors unchanged). */
static void propagate(struct region *n)
{
    for (; n; n = n->parent) {
        uint64_t g = n->max_gap;
        update(n);
        if (n->max_gap == g)
            return;
    }
}

static void replace_child(gmm_space *s, struct region *parent, struct region *old,
                          struct region *new)
{
    if (!parent)
        s->root = new;
    else if (parent->left == old)
        parent->left = new;
    else
        parent->right = new;
    if (new)
        new->parent = parent;
}

/* The rotations keep the largest gaps right when the children's are: the
 * subtree as a whole holds the same nodes. */
static void rotate_left(gmm_space *s, struct region *x)
{
    struct region *y = x->right;
    x->right = y->left;
    if (y->left)
        y->left->parent = x;
    replace_child(s, x->parent, x, y);
    y->left = x;
    x->parent = y;
    y->max_gap = x->max_gap;
    update(x);
}

static void rotate_right(gmm_space *s, struct region *x)
{
    struct region *y = x->left;
    x->left = y->right;
    if (y->right)
        y->right->parent = x;
    replace_child(s, x->parent, x, y);
    y->right = x;
    x->parent = y;
    y->max_gap = x->max_gap;
    update(x);
}

/* Red-black repair after z was linked in as a red leaf under a red
 * parent (every largest gap already right). */
__attribute__((noinline)) static void insert_fixup_slow(gmm_space *s, struct region *z)
{
    struct region *p;
    while ((p = z->parent) && p->red) {
        struct region *g = p->parent; /* p is red: not the root */
        if (p == g->left) {
            struct region *u = g->right;
            if (is_red(u)) {
                p->red = u->red = false;
                g->red = true;
                z = g;
                continue;
            }
            if (z == p->right) {
                rotate_left(s, p);
                p = z;
            }
            p->red = false;
            g->red = true;
            rotate_right(s, g);
        } else {
            struct region *u = g->left;
            if (is_red(u)) {
                p->red = u->red = false;
                g->red = true;
                z = g;
                continue;
            }
            if (z == p->left) {
                rotate_right(s, p);
                p = z;
            }
            p->red = false;
            g->red = true;
            rotate_left(s, g);
        }
        break;
    }
    s->root->red = false;
}

/* The same for any new leaf z: red, unless it is the root. */
static inline void insert_fixup(gmm_space *s, struct region *z)
{
    struct region *p = z->parent;
    z->red = p != NULL;
    if (p && p->red)
        insert_fixup_slow(s, z);
}

/* Red-black repair after a black node was taken out: x (maybe NULL), a
 * child of p, is one black short. */
__attribute__((noinline)) static void remove_fixup(gmm_space *s, struct region *x,
                                                   struct region *p)
{
    while (x != s->root && !is_red(x)) {
        if (x == p->left) {
            struct region *w = p->right;
            if (w->red) {
                w->red = false;
                p->red = true;
                rotate_left(s, p);
                w = p->right;
            }
            if (!is_red(w->left) && !is_red(w->right)) {
                w->red = true;
                x = p;
                p = x->parent;
                continue;
            }
            if (!is_red(w->right)) {
                w->left->red = false;
                w->red = true;
                rotate_right(s, w);
                w = p->right;
            }
            w->red = p->red;
            p->red = false;
            w->right->red = false;
            rotate_left(s, p);
        } else {
            struct region *w = p->left;
            if (w->red) {
                w->red = false;
                p->red = true;
                rotate_right(s, p);
                w = p->left;
            }
            if (!is_red(w->left) && !is_red(w->right)) {
                w->red = true;
                x = p;
                p = x->parent;
                continue;
            }
            if (!is_red(w->left)) {
                w->right->red = false;
                w->red = true;
                rotate_left(s, w);
                w = p->left;
            }
            w->red = p->red;
            p->red = false;
            w->left->red = false;
            rotate_right(s, p);
        }
        x = s->root;
        break;
    }
    if (x)
        x->red = false;
}

/* Freed regions are kept for reuse by their space (a bounded cache): an
 * mmap/munmap pair then costs no allocation. */
#define REGION_CACHE_MAX 32

struct region *region_alloc(gmm_space *s)
{
    struct region *r = s->region_cache;
    if (!r)
        return gmm_calloc(s->sys, 1, sizeof(struct region));
    s->region_cache = r->next;
    s->region_cached--;
    memset(r, 0, sizeof(*r));
    return r;
}

struct region *region_alloc_raw(gmm_space *s)
{
    struct region *r = s->region_cache;
    if (r) {
        s->region_cache = r->next;
        s->region_cached--;
    } else if (!(r = gmm_malloc(s->sys, sizeof(struct region)))) {
        return NULL;
    }
    /* So that region_free can take it back unused. */
    r->space = s;
    return r;
}

void region_free(struct region *r)
{
    gmm_space *s = r ? r->space : NULL;
    if (s && s->region_cached < REGION_CACHE_MAX) {
        r->next = s->region_cache;
        s->region_cache = r;
        s->region_cached++;
        return;
    }
    gmm_free(r);
}

int region_reserve(gmm_space *s, unsigned n)
{
    while (s->region_cached < n) {
        struct region *r = gmm_calloc(s->sys, 1, sizeof(*r));
        if (!r)
            return -GMM_ENOMEM;
        r->next = s->region_cache;
        s->region_cache = r;
        s->region_cached++;
    }
    return 0;
}

void region_cache_drain(gmm_space *s)
{
    while (s->region_cache) {
        struct region *r = s->region_cache;
        s->region_cache = r->next;
        gmm_free(r);
    }
    s->region_cached = 0;
}

struct region *region_find(gmm_space *s, gmm_addr addr)
{
    /* The region found last (Linux's vmacache): faults and copies tend to
     * stay in one region, and an mmap/munmap pair looks up the free range
     * before a region, then the region it put there.  So the cached region
     * answers for itself, the gap below it and its two neighbours. */
    struct region *c = s->find_cache;
    if (c) {
        if (addr < c->end) {
            struct region *p = c->prev;
            if (addr >= c->start || !p || addr >= p->end)
                return c;
            if (addr >= p->start) {
                s->find_cache = p;
                return p;
            }
        } else {
            struct region *n = c->next;
            if (!n)
                return NULL;
            if (addr < n->end) {
                s->find_cache = n;
                return n;
            }
        }
    }
    struct region *n = s->root, *best = NULL;
    while (n) {
        if (n->end > addr) {
            best = n;
            if (n->start <= addr)
                break;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    if (best)
        s->find_cache = best;
    return best;
}

/* Where r goes when it goes right before or after c in the order: its
 * parent and the link to set, or false (r belongs elsewhere). */
static bool place_near(struct region *c, const struct region *r, struct region **parent,
                       struct region ***link, struct region **pred)
{
    if (r->start < c->start) {
        struct region *p = c->prev;
        if (p && p->start > r->start)
            return false;
        /* Between p and c: c's left child, or else p has no right child
         * (p is the last node of c's left subtree). */
        *pred = p;
        *parent = c->left ? p : c;
        *link = c->left ? &p->right : &c->left;
        return true;
    }
    struct region *n = c->next;
    if (n && n->start <= r->start)
        return false;
    *pred = c;
    *parent = c->right ? n : c;
    *link = c->right ? &n->left : &c->right;
    return true;
}

void region_insert(gmm_space *s, struct region *r)
{
    struct region **link = &s->root, *parent = NULL, *pred = NULL;
    /* The region found last is usually a neighbour: mmap looked up the
     * free range it fills. */
    struct region *c = s->find_cache;
    if (!c || !place_near(c, r, &parent, &link, &pred)) {
        link = &s->root;
        parent = pred = NULL;
        while (*link) {
            parent = *link;
            if (r->start < parent->start) {
                link = &parent->left;
            } else {
                pred = parent;
                link = &parent->right;
            }
        }
    }
    r->left = r->right = NULL;
    r->parent = parent;
    r->space = s;
    *link = r;
    r->prev = pred;
    r->next = pred ? pred->next : s->first;
    if (r->prev)
        r->prev->next = r;
    else
        s->first = r;
    if (r->next)
        r->next->prev = r;
    else
        s->last = r;
    s->map_count++;
    region_changed(s, r);
    /* The new leaf first: its stored value means nothing yet. */
    r->max_gap = gap_before(r);
    propagate(r->parent);
    if (r->next)
        propagate(r->next);
    insert_fixup(s, r);
}

void region_insert_after(gmm_space *s, struct region *r, struct region *q)
{
    /* q's place in the order is right after r: the right child of r, or
     * the left child of the first node of r's right subtree.  q's gap is 0
     * and the region after it sees the end r had: no gap changes, so only
     * the colours need repair. */
    struct region *parent = r->right;
    if (!parent) {
        r->right = q;
        parent = r;
    } else {
        while (parent->left)
            parent = parent->left;
        parent->left = q;
    }
    q->left = q->right = NULL;
    q->parent = parent;
    q->max_gap = 0;
    q->space = s;
    q->prev = r;
    q->next = r->next;
    if (q->next)
        q->next->prev = q;
    else
        s->last = q;
    r->next = q;
    s->map_count++;
    region_changed(s, q);
    /* No other node's largest gap can change: q's gap is 0. */
    insert_fixup(s, q);
}

void region_insert_before(gmm_space *s, struct region *r, struct region *q)
{
    /* q's place in the order is right before r: the left child of r, or
     * the right child of the last node of r's left subtree.  q takes over
     * the gap before r, and r's own gap becomes 0: r's subtree, which
     * holds q, keeps its largest gap, so r and the nodes above it keep
     * theirs; the nodes between q and r now hold q's gap too. */
    struct region *parent = r->left;
    if (!parent) {
        r->left = q;
        parent = r;
    } else {
        while (parent->right)
            parent = parent->right;
        parent->right = q;
    }
    q->left = q->right = NULL;
    q->parent = parent;
    q->space = s;
    q->next = r;
    q->prev = r->prev;
    if (q->prev)
        q->prev->next = q;
    else
        s->first = q;
    r->prev = q;
    s->map_count++;
    region_changed(s, q);
    q->max_gap = gap_before(q);
    for (struct region *n = parent; n != r; n = n->parent)
        if (n->max_gap < q->max_gap)
            n->max_gap = q->max_gap;
    insert_fixup(s, q);
}

/* Takes z out of the tree and the list.  With gaps_kept the caller
 * promises that no node's own gap changes (z's was 0, and the gap after
 * it stays what it was): then only the nodes that held z, or the
 * successor moved into z's place, need their largest gaps again. */
static void unlink_node(gmm_space *s, struct region *z, bool gaps_kept)
{
    region_changed(s, z);
    struct region *next = z->next;
    /* A neighbour keeps the cache near where the work is. */
    if (s->find_cache == z)
        s->find_cache = next ? next : z->prev;

    if (z->prev)
        z->prev->next = z->next;
    else
        s->first = z->next;
    if (z->next)
        z->next->prev = z->prev;
    else
        s->last = z->prev;

    /* x (maybe NULL) takes the place of the node that leaves its place
     * (z, or z's successor y), under xp; removed_red is that node's
     * colour. */
    struct region *x, *xp, *moved = NULL;
    bool removed_red;
    if (!z->left || !z->right) {
        x = z->left ? z->left : z->right;
        xp = z->parent;
        removed_red = z->red;
        replace_child(s, z->parent, z, x);
    } else {
        struct region *y = z->right;
        while (y->left)
            y = y->left;
        removed_red = y->red;
        x = y->right;
        if (y->parent != z) {
            xp = y->parent;
            replace_child(s, y->parent, y, x);
            y->right = z->right;
            y->right->parent = y;
        } else {
            xp = y;
        }
        replace_child(s, z->parent, z, y);
        y->left = z->left;
        y->left->parent = y;
        /* y stands where z stood: it takes z's colour, and z's largest gap,
         * right for y's ancestors until the propagations below say
         * otherwise. */
        y->red = z->red;
        y->max_gap = z->max_gap;
        moved = y;
    }
    s->map_count--;
    /* Every largest gap right first, so that the rotations of the repair
     * can recompute theirs from their children. */
    propagate(xp);
    /* y's own gap changed (unless gaps_kept), and so did next's. */
    if (!gaps_kept) {
        if (moved)
            propagate(moved);
        if (next)
            propagate(next);
    }
    /* remove_fixup's loop, entered only when it has work. */
    if (!removed_red) {
        if (is_red(x))
            x->red = false;
        else if (x != s->root)
            remove_fixup(s, x, xp);
    }
    z->left = z->right = z->parent = z->prev = z->next = NULL;
}

void region_remove(gmm_space *s, struct region *z)
{
    unlink_node(s, z, false);
}

void region_remove_absorbed(gmm_space *s, struct region *z)
{
    /* z's predecessor ends where z ended: z's gap was 0 (they touched),
     * and the region after z sees the same end before it as before. */
    unlink_node(s, z, true);
}

void region_bounds_changed(gmm_space *s, struct region *r)
{
    region_changed(s, r);
    propagate(r);
    if (r->next)
        propagate(r->next);
}

/* The search works on raw gaps, as Linux's maple tree search does; the
 * stack guard gap of a grows-down region is applied afterwards by the
 * callers' retry (see region_gap_topdown). */

/* Highest fit in the gaps of subtree n: its start, and *next = the region
 * above the gap; 0 if none. */
static gmm_addr topdown(struct region *n, uint64_t len, gmm_addr low, gmm_addr high,
                        struct region **next)
{
    while (n && n->max_gap >= len) {
        /* Gaps of the right subtree lie above n->end. */
        if (n->right && n->end <= high - len) {
            gmm_addr a = topdown(n->right, len, low, high, next);
            if (a)
                return a;
        }
        gmm_addr lo = prev_end(n), hi = n->start;
        if (hi > high)
            hi = high;
        if (lo < low)
            lo = low;
        if (hi > lo && hi - lo >= len) {
            *next = n;
            return hi - len;
        }
        /* Gaps of the left subtree end at or below n->prev->start. */
        if (!n->prev || n->prev->start < low + len)
            return 0;
        n = n->left;
    }
    return 0;
}

gmm_addr region_gap_topdown(gmm_space *s, uint64_t len, gmm_addr low, gmm_addr high)
{
    for (;;) {
        if (len == 0 || high < len || high - len < low)
            return 0;
        gmm_addr top = s->last ? s->last->end : 0, a;
        struct region *next = NULL;
        if (top < low)
            top = low;
        if (high > top && high - top >= len) {
            a = high - len;
        } else if (!(a = topdown(s->root, len, low, high, &next))) {
            if (!(a = bottom_gap_fit(s, len, low, high, true)))
                return 0;
            next = s->first;
        }
        /* unmapped_area_topdown(): a gap under a grows-down region that
         * reaches into its guard gap sends the search below the guard. */
        if (next && (next->flags & VM_GROWSDOWN) && region_start_gap(next) < a + len) {
            high = region_start_gap(next);
            continue;
        }
        return a;
    }
}

/* Lowest fit in the gaps of subtree n, or 0; *next as for topdown(). */
static gmm_addr bottomup(struct region *n, uint64_t len, gmm_addr low, gmm_addr high,
                         struct region **next)
{
    while (n && n->max_gap >= len) {
        /* Gaps of the left subtree end at or below n->prev->start. */
        if (n->left && n->prev && n->prev->start >= low + len) {
            gmm_addr a = bottomup(n->left, len, low, high, next);
            if (a)
                return a;
        }
        gmm_addr lo = prev_end(n), hi = n->start;
        if (hi > high)
            hi = high;
        if (lo < low)
            lo = low;
        if (hi > lo && hi - lo >= len) {
            *next = n;
            return lo;
        }
        /* Gaps of the right subtree lie above n->end. */
        if (n->end > high - len)
            return 0;
        n = n->right;
    }
    return 0;
}

gmm_addr region_gap_bottomup(gmm_space *s, uint64_t len, gmm_addr low, gmm_addr high)
{
    for (;;) {
        if (len == 0 || high < len || high - len < low)
            return 0;
        struct region *next = s->first;
        gmm_addr a = bottom_gap_fit(s, len, low, high, false);
        if (!a)
            a = bottomup(s->root, len, low, high, &next);
        if (!a) {
            next = NULL;
            gmm_addr top = s->last ? s->last->end : 0;
            if (top < low)
                top = low;
            if (!(high > top && high - top >= len))
                return 0;
            a = top;
        }
        /* unmapped_area(): a gap that runs into the guard gap of the
         * grows-down region above it is skipped, past that region. */
        if (next && (next->flags & VM_GROWSDOWN) && region_start_gap(next) < a + len - 1) {
            low = next->end;
            continue;
        }
        return a;
    }
}

/* ---- invariant check ---- */

/* Checks the subtree n: links, order, ranges, colours and largest gaps;
 * *black is set to its black height (NULL leaves counted as 1). */
static const char *check_node(struct region *n, struct region *parent, struct region **prev,
                              uint64_t *count, int *black)
{
    if (!n) {
        *black = 1;
        return NULL;
    }
    if (n->parent != parent)
        return "region tree: bad parent link";
    if (n->red && is_red(parent))
        return "region tree: red node with a red parent";
    int bl, br;
    const char *e = check_node(n->left, n, prev, count, &bl);
    if (e)
        return e;
    if (n->prev != *prev)
        return "region list: prev link does not match tree order";
    if (*prev && (*prev)->next != n)
        return "region list: next link does not match tree order";
    if (n->start >= n->end)
        return "region: empty or inverted range";
    if (OFFSET_IN_PAGE(n->start) || OFFSET_IN_PAGE(n->end))
        return "region: bounds not page-aligned";
    if (*prev && (*prev)->end > n->start)
        return "region: overlaps its predecessor";
    *prev = n;
    (*count)++;
    e = check_node(n->right, n, prev, count, &br);
    if (e)
        return e;
    if (bl != br)
        return "region tree: unbalanced (black heights differ)";
    *black = bl + !n->red;
    uint64_t g = gap_before(n);
    if (max_gap(n->left) > g)
        g = max_gap(n->left);
    if (max_gap(n->right) > g)
        g = max_gap(n->right);
    if (n->max_gap != g)
        return "region tree: stale gap augmentation";
    return NULL;
}

const char *region_check_tree(gmm_space *s)
{
    struct region *prev = NULL;
    uint64_t count = 0;
    int black;
    const char *e = check_node(s->root, NULL, &prev, &count, &black);
    if (e)
        return e;
    if (is_red(s->root))
        return "region tree: red root";
    if (prev != s->last)
        return "region list: last does not match tree";
    if (count != s->map_count)
        return "region tree: map_count does not match";
    if (s->root ? s->first == NULL : s->first != NULL)
        return "region list: first does not match tree";
    if (s->last && s->last->end > s->task_size)
        return "region: beyond the task size";
    return NULL;
}
