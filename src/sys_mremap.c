/*
 * sys_mremap.c - mremap(2) as mm/mremap.c (6.17+) does it.
 *
 * The cases multiply; Linux's matrix, which this follows:
 *
 *                 no flag           MAYMOVE             FIXED|MAYMOVE (+DONTUNMAP)
 *   shrink        unmap the tail    unmap the tail      unmap dst, unmap the tail,
 *                                                       move
 *   same size     return old_addr   return old_addr     unmap dst, move (several
 *                                                       regions and the gaps
 *                                                       between them keep shape)
 *   grow          in place if the   in place, else      unmap dst, move
 *                 range ends its    move to a new
 *                 region and the    place
 *                 space after is
 *                 free, else ENOMEM
 *
 * DONTUNMAP (with MAYMOVE, equal sizes) moves the pages and leaves the old
 * range mapped and empty, and unlocked.  A move keeps the frames (page table entries are
 * moved, nothing is copied), the copy-on-write state and the offsets into
 * files; an untouched private anonymous region takes the page offset of its
 * new address so that it can merge there.  old_len 0 on a shared mapping
 * maps the same pages a second time.
 */
#include "internal.h"

struct remap {
    gmm_addr addr, new_addr;
    uint64_t old_len, new_len, delta;
    int flags;
    enum { REMAP_SAME, REMAP_SHRINK, REMAP_EXPAND } type;
    struct region *vma;
    bool populate;
};

static bool implies_new_addr(const struct remap *m)
{
    return (m->flags & (GMM_MREMAP_FIXED | GMM_MREMAP_DONTUNMAP)) != 0;
}

/* check_mremap_params() */
static int64_t check_params(gmm_space *s, struct remap *m)
{
    if (m->flags & ~(GMM_MREMAP_FIXED | GMM_MREMAP_MAYMOVE | GMM_MREMAP_DONTUNMAP))
        return -GMM_EINVAL;
    if (OFFSET_IN_PAGE(m->addr))
        return -GMM_EINVAL;
    /* A zero old length is allowed (duplicating a shared mapping); a zero
     * new length is not. */
    if (!m->new_len || m->new_len > s->task_size)
        return -GMM_EINVAL;
    if (!implies_new_addr(m))
        return 0;
    if (m->new_addr > s->task_size - m->new_len || OFFSET_IN_PAGE(m->new_addr))
        return -GMM_EINVAL;
    /* A new address means a move. */
    if (!(m->flags & GMM_MREMAP_MAYMOVE))
        return -GMM_EINVAL;
    if ((m->flags & GMM_MREMAP_DONTUNMAP) && m->old_len != m->new_len)
        return -GMM_EINVAL;
    /* The target may not overlap the source. */
    if (m->addr + m->old_len > m->new_addr && m->new_addr + m->new_len > m->addr)
        return -GMM_EINVAL;
    /* Stay clear of the map count limit before anything is unmapped: both
     * ranges may split a region in three. */
    if (s->map_count + 2 >= s->max_map_count - 3)
        return -GMM_ENOMEM;
    return 0;
}

static void set_type(struct remap *m)
{
    if (m->new_len == m->old_len) {
        m->type = REMAP_SAME;
        m->delta = 0;
    } else if (m->old_len > m->new_len) {
        m->type = REMAP_SHRINK;
        m->delta = m->old_len - m->new_len;
    } else {
        m->type = REMAP_EXPAND;
        m->delta = m->new_len - m->old_len;
    }
}

/* check_prep_vma(): the region at addr and what it allows. */
static int64_t check_vma(gmm_space *s, struct remap *m)
{
    struct region *r = region_find(s, m->addr);
    if (!r || r->start > m->addr)
        return -GMM_EFAULT;
    m->vma = r;
    set_type(m);
    if (!implies_new_addr(m))
        m->new_addr = m->addr;
    /* Only a growth or a move maps anything new. */
    if (m->type != REMAP_EXPAND && !implies_new_addr(m))
        return 0;
    uint64_t old_len = m->old_len;
    /* Duplicating a private mapping would make an unrelated one. */
    if (!old_len && !(r->flags & (VM_SHARED | VM_MAYSHARE)))
        return -GMM_EINVAL;
    /* A shrink may cross region boundaries in the part it unmaps. */
    if (m->type == REMAP_SHRINK)
        old_len = m->new_len;
    /* The range may not run past the end of its region. */
    if (old_len > r->end - m->addr)
        return -GMM_EFAULT;
    if (m->new_len == old_len)
        return 0;
    if (r->flags & VM_LOCKED)
        m->populate = true;
    uint64_t pgoff = r->pgoff + ((m->addr - r->start) >> PAGE_SHIFT);
    if (pgoff + (m->new_len >> PAGE_SHIFT) < pgoff)
        return -GMM_EINVAL;
    if (!mlock_future_ok(s, r->flags, m->delta))
        return -GMM_EAGAIN;
    if (!vma_may_expand(s, r->flags, m->delta >> PAGE_SHIFT))
        return -GMM_ENOMEM;
    return 0;
}

/* Moves the page table entries of [from, from+len) to [to, to+len).
 * Allocates every destination slot first: 0 or -GMM_ENOMEM with nothing
 * moved. */
struct move_ctx {
    gmm_space *s;
    int64_t shift; /* destination minus source, in pages */
    bool failed;
    bool commit;
};

static void move_pte(void *ctx, uint64_t pn, pte_t pte)
{
    struct move_ctx *c = ctx;
    if (c->failed)
        return;
    uint64_t dst = pn + (uint64_t)c->shift;
    if (!c->commit) {
        if (!pt_slot(&c->s->pt, dst, true))
            c->failed = true;
        return;
    }
    /* The source entry is cleared after the walk (pt_clear here could
     * free the leaf the walk is in: a use after free the fuzzer found). */
    pt_slot(&c->s->pt, dst, true);
    pt_set(&c->s->pt, dst, pte);
}

static void trim_dst(void *ctx, uint64_t pn, pte_t pte)
{
    struct move_ctx *c = ctx;
    (void)pte;
    pt_trim(&c->s->pt, pn + (uint64_t)c->shift);
}

static int move_pages(gmm_space *s, gmm_addr from, gmm_addr to, uint64_t len)
{
    if (!len)
        return 0;
    uint64_t lo = from >> PAGE_SHIFT, hi = (from + len) >> PAGE_SHIFT;
    struct move_ctx c = {s, (int64_t)(to >> PAGE_SHIFT) - (int64_t)lo, false, false};
    /* The entries move with their frame references: the source leaves
     * must hold them, not share them with a fork relative.  (A copy never
     * fails, and changes nothing anyone sees.) */
    pt_unshare_range(&s->pt, lo, hi);
    pt_walk(&s->pt, lo, hi, move_pte, &c);
    if (c.failed) {
        pt_walk(&s->pt, lo, hi, trim_dst, &c);
        return -GMM_ENOMEM;
    }
    space_invalidate(s, from, from + len);
    c.commit = true;
    /* The ranges do not overlap: the order of the walk does not matter. */
    pt_walk(&s->pt, lo, hi, move_pte, &c);
    pt_clear_range(&s->pt, lo, hi, NULL, NULL);
    return 0;
}

/* get_unmapped_area() for the new place, as vrm_set_new_addr() asks. */
static int64_t new_place(gmm_space *s, struct remap *m)
{
    struct region *r = m->vma;
    uint64_t pgoff = r->pgoff + ((m->addr - r->start) >> PAGE_SHIFT);
    int flags = 0;
    if (m->flags & GMM_MREMAP_FIXED)
        flags |= GMM_MAP_FIXED;
    if (r->flags & VM_MAYSHARE)
        flags |= GMM_MAP_SHARED;
    gmm_addr hint = implies_new_addr(m) ? m->new_addr : 0;
    return space_unmapped_area(s, hint, m->new_len, pgoff, flags, r->file != NULL);
}

/* move_vma(): a new region at new_addr with r's attributes, the pages moved
 * there, the old range unmapped (or, with DONTUNMAP, left empty). */
static int64_t move_vma(gmm_space *s, struct remap *m)
{
    if (s->map_count >= s->max_map_count - 3)
        return -GMM_ENOMEM;
    /* The new region and the (at most two) splits of unmapping the old
     * range, before anything moves: out of memory then changes nothing. */
    if (region_reserve(s, 3))
        return -GMM_ENOMEM;
    struct region *r = m->vma;
    struct region *q = region_alloc(s);
    *q = *r;
    q->start = m->new_addr;
    q->end = m->new_addr + m->new_len;
    q->pgoff = r->pgoff + ((m->addr - r->start) >> PAGE_SHIFT);
    /* copy_vma(): an untouched private anonymous region takes the offset of
     * its new place, to merge there. */
    if (!r->obj && !r->anon)
        q->pgoff = m->new_addr >> PAGE_SHIFT;
    if (move_pages(s, m->addr, m->new_addr, m->old_len < m->new_len ? m->old_len : m->new_len)) {
        region_free(q);
        return -GMM_ENOMEM;
    }
    vma_get_refs(s, q);
    region_insert(s, q);
    vma_account(s, q->flags, (int64_t)(m->new_len >> PAGE_SHIFT));
    q = vma_merge_neighbours(s, q, true, true);

    if (m->flags & GMM_MREMAP_DONTUNMAP) {
        /* dontunmap_complete(): the old region stays, empty; it loses its
         * lock (not its charge, since the 6.17 stable fix), and its anon
         * identity when all of it moved elsewhere.  When the new region
         * merged with it (an untouched region moved within itself) that is
         * the merged region. */
        r = region_find(s, m->addr);
        uint32_t cleared = r->flags & ~(uint32_t)(VM_LOCKED | VM_LOCKONFAULT);
        int64_t pages = (int64_t)((r->end - r->start) >> PAGE_SHIFT);
        vma_account(s, r->flags, -pages);
        vma_account(s, cleared, pages);
        region_changed(s, r);
        r->flags = cleared;
        if (r != q && r->start == m->addr && r->end == m->addr + m->old_len)
            r->anon = 0;
        r->linux_unmerged = true;
    } else if (m->old_len) {
        /* Cannot fail: its splits were reserved above, and allowed for by
         * the map count check. */
        int err = vma_unmap(s, m->addr, m->addr + m->old_len);
        (void)err;
    }
    return (int64_t)m->new_addr;
}

/* expand_vma() and its in-place case. */
static int64_t expand(gmm_space *s, struct remap *m)
{
    struct region *r = m->vma;
    gmm_addr end = r->end + m->delta;
    if (r->end - m->addr == m->old_len && end > r->end && end <= s->task_size &&
        r->start >= s->mmap_min_addr) {
        struct region *n = region_find(s, r->end);
        if (!n || n->start >= end) {
            /* vma_merge_extend(): grow, then merge with the next region if
             * it is now adjacent and compatible. */
            r->end = end;
            region_bounds_changed(s, r);
            vma_account(s, r->flags, (int64_t)(m->delta >> PAGE_SHIFT));
            vma_merge_neighbours(s, r, false, true);
            return (int64_t)m->addr;
        }
    }
    if (!(m->flags & GMM_MREMAP_MAYMOVE))
        return -GMM_ENOMEM;
    int64_t a = new_place(s, m);
    if (a < 0)
        return a;
    m->new_addr = (gmm_addr)a;
    return move_vma(s, m);
}

/* mremap_to(): FIXED and/or DONTUNMAP. */
static int64_t remap_to(gmm_space *s, struct remap *m)
{
    /* Every region the steps below can need (destination unmap, shrink,
     * move), before the first of them changes anything. */
    if (region_reserve(s, 7))
        return -GMM_ENOMEM;
    if (m->flags & GMM_MREMAP_FIXED) {
        int64_t err = space_munmap(s, m->new_addr, m->new_len);
        if (err)
            return err;
        /* The source may have been split: look it up again. */
        struct region *r = region_find(s, m->addr);
        if (!r || r->start > m->addr)
            return -GMM_EFAULT;
        m->vma = r;
    }
    if (m->type == REMAP_SHRINK) {
        int64_t err = space_munmap(s, m->addr + m->new_len, m->delta);
        if (err)
            return err;
        m->old_len = m->new_len;
        m->vma = region_find(s, m->addr);
    }
    if ((m->flags & GMM_MREMAP_DONTUNMAP) &&
        !vma_may_expand(s, m->vma->flags, m->old_len >> PAGE_SHIFT))
        return -GMM_ENOMEM;
    int64_t a = new_place(s, m);
    if (a < 0)
        return a;
    m->new_addr = (gmm_addr)a;
    return move_vma(s, m);
}

/* remap_move(): a FIXED move of equal size may take several regions, and
 * the gaps between them keep their sizes at the destination. */
static int64_t remap_move(gmm_space *s, struct remap *whole)
{
    gmm_addr start = whole->addr, end = whole->addr + whole->old_len;
    gmm_addr target = whole->new_addr, last_end = 0;
    int64_t res = -GMM_EFAULT;
    bool seen = false;
    gmm_addr pos = start;
    for (;;) {
        struct region *r = region_find(s, pos);
        if (!r || r->start >= end)
            break;
        /* No gap at the start of the range. */
        if (!seen && start < r->start)
            return -GMM_EFAULT;
        gmm_addr a = r->start > start ? r->start : start;
        gmm_addr b = r->end < end ? r->end : end;
        uint64_t offset = seen ? r->start - last_end : 0;
        last_end = r->end;
        struct remap m = *whole;
        m.addr = a;
        m.new_addr = target + offset;
        m.old_len = m.new_len = b - a;
        m.populate = false;
        int64_t err = check_vma(s, &m);
        int64_t got = err ? err : remap_to(s, &m);
        if (got < 0)
            return got;
        if (!seen)
            res = got;
        seen = true;
        target = (gmm_addr)got + m.new_len;
        pos = b;
        if (pos >= end)
            break;
    }
    return res;
}

int64_t gmm_sys_mremap(gmm_space *s, gmm_addr old_addr, uint64_t old_len, uint64_t new_len,
                       int flags, gmm_addr new_addr)
{
    struct remap m = {0};
    m.addr = space_arg(s, old_addr);
    m.old_len = PAGE_ALIGN(space_arg(s, old_len));
    m.new_len = PAGE_ALIGN(space_arg(s, new_len));
    m.new_addr = space_arg(s, new_addr);
    m.flags = flags;
    /* Lengths are page-aligned first; one that wraps becomes 0 (an old
     * length of 0 is the duplicate case, a new one is EINVAL below). */
    space_lock(s);
    int64_t ret = check_params(s, &m);
    if (ret) {
        space_unlock(s);
        return ret;
    }
    if ((m.flags & GMM_MREMAP_FIXED) && m.old_len == m.new_len) {
        ret = remap_move(s, &m);
    } else {
        ret = check_vma(s, &m);
        if (!ret) {
            if (implies_new_addr(&m)) {
                ret = remap_to(s, &m);
            } else if (m.type == REMAP_SAME) {
                ret = (int64_t)m.addr;
            } else if (m.type == REMAP_SHRINK) {
                /* shrink_vma(): munmap the tail, with munmap's checks. */
                ret = space_munmap(s, m.addr + m.new_len, m.delta);
                if (!ret)
                    ret = (int64_t)m.addr;
            } else {
                ret = expand(s, &m);
            }
        }
    }
    /* A locked region that grew is populated (best effort). */
    if (ret >= 0 && m.populate)
        space_populate(s, (gmm_addr)ret + m.old_len, (gmm_addr)ret + m.new_len, true);
    space_unlock(s);
    return ret;
}
