/*
 * sys_madvise.c - madvise(2) and prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME), as
 * mm/madvise.c does them.
 *
 * The advice is validated before the range (an unknown one is EINVAL even
 * with length 0), then applied region by region over the mapped parts of
 * the range; a hole gives ENOMEM at the end, an error of one region stops
 * the walk and wins.  Advice that changes region flags (NORMAL, RANDOM,
 * SEQUENTIAL, DONTFORK, DOFORK, WIPEONFORK, KEEPONFORK, DONTDUMP, DODUMP,
 * MERGEABLE, UNMERGEABLE, HUGEPAGE, NOHUGEPAGE) and anonymous names split
 * and merge regions through vma_modify; a split that runs out of memory is
 * EAGAIN.
 *
 * The kernel modelled is this machine's (6.18, x86-64) with what a
 * distribution kernel has: KSM, transparent huge pages in "madvise" mode,
 * swap, memory-failure injection (MADV_HWPOISON and MADV_SOFT_OFFLINE: EPERM
 * for an unprivileged process), anonymous VMA names.  Nothing is ever
 * reclaimed: MADV_FREE keeps the pages (as Linux does without memory
 * pressure), MADV_COLD and MADV_PAGEOUT keep them too (without a swap
 * device), but a MADV_PAGEOUT of droppable memory drops its pages, and one
 * of shared memory its clean pages (never written) mapped only there.
 */
#include "internal.h"

/* Linux's own value for the naming walk. */
#define MADV_SET_ANON_NAME (-1)
#define ANON_NAME_MAX 80 /* with the NUL */

static bool advice_valid(int advice)
{
    switch (advice) {
    case GMM_MADV_NORMAL:
    case GMM_MADV_RANDOM:
    case GMM_MADV_SEQUENTIAL:
    case GMM_MADV_WILLNEED:
    case GMM_MADV_DONTNEED:
    case GMM_MADV_FREE:
    case GMM_MADV_REMOVE:
    case GMM_MADV_DONTFORK:
    case GMM_MADV_DOFORK:
    case GMM_MADV_MERGEABLE:
    case GMM_MADV_UNMERGEABLE:
    case GMM_MADV_HUGEPAGE:
    case GMM_MADV_NOHUGEPAGE:
    case GMM_MADV_DONTDUMP:
    case GMM_MADV_DODUMP:
    case GMM_MADV_WIPEONFORK:
    case GMM_MADV_KEEPONFORK:
    case GMM_MADV_COLD:
    case GMM_MADV_PAGEOUT:
    case GMM_MADV_POPULATE_READ:
    case GMM_MADV_POPULATE_WRITE:
    case GMM_MADV_DONTNEED_LOCKED:
    case GMM_MADV_COLLAPSE:
    case GMM_MADV_HWPOISON:
    case GMM_MADV_SOFT_OFFLINE:
    case GMM_MADV_GUARD_INSTALL:
    case GMM_MADV_GUARD_REMOVE:
        return true;
    }
    return false;
}

/* Advice that changes region flags, splitting regions (madvise_update_vma()). */
static bool changes_flags(int advice)
{
    switch (advice) {
    case GMM_MADV_NORMAL:
    case GMM_MADV_RANDOM:
    case GMM_MADV_SEQUENTIAL:
    case GMM_MADV_DONTFORK:
    case GMM_MADV_DOFORK:
    case GMM_MADV_WIPEONFORK:
    case GMM_MADV_KEEPONFORK:
    case GMM_MADV_DONTDUMP:
    case GMM_MADV_DODUMP:
    case GMM_MADV_MERGEABLE:
    case GMM_MADV_UNMERGEABLE:
    case GMM_MADV_HUGEPAGE:
    case GMM_MADV_NOHUGEPAGE:
        return true;
    }
    return false;
}

/* check_input_range(): in 64-bit arithmetic, also for an i386 space. */
static int check_range(gmm_addr start, uint64_t len_in)
{
    if (OFFSET_IN_PAGE(start))
        return -GMM_EINVAL;
    uint64_t len = PAGE_ALIGN(len_in);
    if (len_in && !len)
        return -GMM_EINVAL;
    if (start + len < start)
        return -GMM_EINVAL;
    return 0;
}

/* ---- flag changes ---- */

/* The new flags of r for a flag-changing advice, or -GMM_EINVAL. */
static int64_t advised_flags(const struct region *r, int advice)
{
    uint32_t f = r->flags;
    switch (advice) {
    case GMM_MADV_NORMAL:
        return f & ~(uint32_t)(VM_RAND_READ | VM_SEQ_READ);
    case GMM_MADV_SEQUENTIAL:
        return (f & ~(uint32_t)VM_RAND_READ) | VM_SEQ_READ;
    case GMM_MADV_RANDOM:
        return (f & ~(uint32_t)VM_SEQ_READ) | VM_RAND_READ;
    case GMM_MADV_DONTFORK:
        return f | VM_DONTCOPY;
    case GMM_MADV_DOFORK:
        return f & ~(uint32_t)VM_DONTCOPY;
    case GMM_MADV_WIPEONFORK:
        /* Anonymous private memory only: shared memory is a file. */
        if (r->obj || (f & VM_SHARED))
            return -GMM_EINVAL;
        return f | VM_WIPEONFORK;
    case GMM_MADV_KEEPONFORK:
        if (f & VM_DROPPABLE)
            return -GMM_EINVAL;
        return f & ~(uint32_t)VM_WIPEONFORK;
    case GMM_MADV_DONTDUMP:
        return f | VM_DONTDUMP;
    case GMM_MADV_DODUMP:
        if (f & VM_DROPPABLE)
            return -GMM_EINVAL;
        return f & ~(uint32_t)VM_DONTDUMP;
    case GMM_MADV_MERGEABLE:
        /* ksm_madvise(): shared and droppable memory is silently left. */
        if (f & (VM_SHARED | VM_MAYSHARE | VM_DROPPABLE))
            return f;
        return f | VM_MERGEABLE;
    case GMM_MADV_UNMERGEABLE:
        return f & ~(uint32_t)VM_MERGEABLE;
    case GMM_MADV_HUGEPAGE:
        return (f & ~(uint32_t)VM_NOHUGEPAGE) | VM_HUGEPAGE;
    case GMM_MADV_NOHUGEPAGE:
        return (f & ~(uint32_t)VM_HUGEPAGE) | VM_NOHUGEPAGE;
    }
    return f;
}

/* madvise_update_vma(): [start, end) of r gets flags (and name, when
 * naming).  0 or -GMM_EAGAIN. */
static int update_region(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
                         uint32_t flags, bool naming, struct anon_name *name)
{
    const struct anon_name *old = r->name;
    bool same_name = old == name || (old && name && strcmp(old->str, name->str) == 0);
    if (flags == r->flags && (!naming || same_name))
        return 0;
    struct region want = *r;
    want.flags = flags;
    if (naming)
        want.name = name;
    return vma_modify(s, r, start, end, &want) ? -GMM_EAGAIN : 0;
}

/* ---- page-level advice ---- */

/* MADV_PAGEOUT reclaims what can go without a swap device, of the pages
 * mapped here and nowhere else: droppable pages (the zero frame and frames
 * shared with a fork relative stay), and clean shared memory pages (never
 * written: they hold zeros, and Linux frees a clean shmem folio). */
struct drop_ctx {
    gmm_space *s;
    const struct region *r;
    uint64_t *pns;
    size_t n, cap;
};

static bool clean_object_page(const struct region *r, gmm_system *sys, uint64_t pn, frame_t f,
                              uint32_t sharers)
{
    uint64_t idx = r->pgoff + (pn - (r->start >> PAGE_SHIFT));
    pte_t *slot = pt_slot(&r->obj->pages, idx, false);
    /* The object's reference and this mapping's (not a leaf shared with
     * a fork relative, which maps it too). */
    return slot && *slot && pte_frame(*slot) == f && !(*slot & PTE_DIRTY) &&
           frame_refcount(sys, f) == 2 && !sharers;
}

static void note_reclaimable(void *ctx, uint64_t pn, pte_t pte)
{
    struct drop_ctx *c = ctx;
    frame_t f = pte_frame(pte);
    if (!(pte & PTE_PRESENT) || f == FRAME_ZERO)
        return;
    uint32_t sharers = pt_sharers(&c->s->pt, pn);
    if (c->r->obj ? !clean_object_page(c->r, c->s->sys, pn, f, sharers)
                  : frame_refcount(c->s->sys, f) != 1 || sharers)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        uint64_t *p = gmm_malloc(c->s->sys, cap * sizeof(*p));
        if (!p)
            return; /* advice: what cannot be noted stays */
        if (c->n)
            memcpy(p, c->pns, c->n * sizeof(*p));
        gmm_free(c->pns);
        c->pns = p;
        c->cap = cap;
    }
    c->pns[c->n++] = pn;
}

static void unref_object_frame(void *ctx, uint64_t idx, pte_t pte)
{
    (void)idx;
    frame_unref(ctx, pte_frame(pte));
}

static void pageout(gmm_space *s, const struct region *r, gmm_addr start, gmm_addr end)
{
    struct drop_ctx c = {s, r, NULL, 0, 0};
    pt_walk(&s->pt, start >> PAGE_SHIFT, end >> PAGE_SHIFT, note_reclaimable, &c);
    struct gmm_object *o = r->obj;
    uint64_t first_pn = r->start >> PAGE_SHIFT, pgoff = r->pgoff;
    for (size_t i = 0; i < c.n; i++) {
        gmm_addr a = c.pns[i] << PAGE_SHIFT;
        vma_zap_pages(s, a, a + PAGE_SIZE);
        if (o) {
            uint64_t idx = pgoff + (c.pns[i] - first_pn);
            pt_clear_range(&o->pages, idx, idx + 1, unref_object_frame, s->sys);
        }
    }
    gmm_free(c.pns);
}

/* MADV_REMOVE of shared memory: punches a hole in the object, so every
 * mapping of those pages, in any space, reads zeros afterwards. */
static void punch_hole(gmm_system *sys, struct gmm_object *o, uint64_t first, uint64_t last)
{
    for (struct region *m = o->rmap; m; m = m->obj_next) {
        uint64_t pages = (m->end - m->start) >> PAGE_SHIFT;
        uint64_t lo = first > m->pgoff ? first : m->pgoff;
        uint64_t hi = last < m->pgoff + pages ? last : m->pgoff + pages;
        if (lo >= hi || !m->space)
            continue;
        vma_zap_pages(m->space, m->start + ((lo - m->pgoff) << PAGE_SHIFT),
                      m->start + ((hi - m->pgoff) << PAGE_SHIFT));
    }
    pt_clear_range(&o->pages, first, last, unref_object_frame, sys);
}

static int madvise_remove(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end)
{
    if (r->flags & VM_LOCKED)
        return -GMM_EINVAL;
    if (!r->obj)
        return -GMM_EINVAL;
    if ((r->flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE))
        return -GMM_EACCES;
    /* The files of the host have no hole punching here. */
    if (r->obj->kind != OBJ_SHMEM)
        return -GMM_EOPNOTSUPP;
    uint64_t first = r->pgoff + ((start - r->start) >> PAGE_SHIFT);
    uint64_t last = first + ((end - start) >> PAGE_SHIFT);
    punch_hole(s->sys, r->obj, first, last);
    return 0;
}

/* MADV_WILLNEED of a file mapping reads its pages into the page cache
 * (readahead); for anonymous memory there is nothing to swap in. */
static void willneed(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end)
{
    if (!r->obj || r->obj->kind != OBJ_FILE)
        return;
    uint64_t first = r->pgoff + ((start - r->start) >> PAGE_SHIFT);
    uint64_t n = (end - start) >> PAGE_SHIFT;
    for (uint64_t i = 0; i < n; i++) {
        if (((first + i) << PAGE_SHIFT) >= r->obj->size)
            break;
        frame_t f;
        if (object_page(s->sys, r->obj, r->file, first + i, &f))
            break;
        frame_unref(s->sys, f);
    }
}

/* MADV_GUARD_INSTALL: the pages go and guard markers take their place.
 * The page-table entries are all allocated first, so that running out of
 * memory changes nothing. */
static int guard_install(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end)
{
    if (r->flags & VM_LOCKED)
        return -GMM_EINVAL;
    for (gmm_addr a = start; a < end; a += PAGE_SIZE) {
        if (!pt_slot(&s->pt, a >> PAGE_SHIFT, true)) {
            for (gmm_addr b = start; b <= a; b += PAGE_SIZE)
                pt_trim(&s->pt, b >> PAGE_SHIFT);
            return -GMM_ENOMEM;
        }
    }
    /* The flag is set on the whole region without a split; it never
     * stops a merge. */
    region_changed(s, r);
    r->flags |= VM_MAYBE_GUARD;
    if (!r->obj)
        anon_prepare(s, r);
    if (s->hiwater_rss < s->rss)
        s->hiwater_rss = s->rss;
    space_invalidate(s, start, end);
    for (gmm_addr a = start; a < end; a += PAGE_SIZE) {
        uint64_t pn = a >> PAGE_SHIFT;
        pte_t pte = pt_get(&s->pt, pn);
        if (pte & PTE_PRESENT) {
            /* (pt_set copies a shared leaf first: the frame's reference
             * dropped below is then this table's own.) */
            pt_set(&s->pt, pn, PTE_GUARD);
            frame_t f = pte_frame(pte);
            if (f != FRAME_ZERO)
                s->rss--;
            frame_unref(s->sys, f);
        } else if (!pte) {
            pt_set(&s->pt, pn, PTE_GUARD);
        }
    }
    return 0;
}

/* MADV_GUARD_REMOVE: the markers go (locked regions included); the pages
 * read as they would if never touched. */
static void guard_remove(gmm_space *s, gmm_addr start, gmm_addr end)
{
    pt_clear_range_keep(&s->pt, start >> PAGE_SHIFT, end >> PAGE_SHIFT, ~PTE_GUARD, NULL, NULL);
}

/* MADV_COLLAPSE: each 2 MiB-aligned piece becomes resident, as a
 * transparent huge page would make it (pages absent or shared read as
 * before, now in frames of their own).  A region that cannot hold a huge
 * page refuses; a piece with no page table at all stops the work. */
static int collapse(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end)
{
    if (r->obj || (r->flags & VM_NOHUGEPAGE) || !region_holds_huge_page(r))
        return -GMM_EINVAL;
    gmm_addr hstart = (start + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
    gmm_addr hend = end & ~(PMD_SIZE - 1);
    int err = 0;
    gmm_system *sys = s->sys;
    for (gmm_addr h = hstart; h < hend; h += PMD_SIZE) {
        uint64_t pn0 = h >> PAGE_SHIFT;
        bool any = false, guarded = false;
        for (uint64_t i = 0; i < PMD_SIZE >> PAGE_SHIFT; i++) {
            pte_t pte = pt_get(&s->pt, pn0 + i);
            if (pte) {
                any = true;
                guarded |= (pte & PTE_GUARD) != 0;
            }
        }
        if (!any)
            return -GMM_EINVAL;
        if (guarded) {
            err = -GMM_EINVAL;
            continue;
        }
        anon_prepare(s, r);
        space_invalidate(s, h, h + PMD_SIZE);
        for (uint64_t i = 0; i < PMD_SIZE >> PAGE_SHIFT; i++) {
            pte_t *slot = pt_slot(&s->pt, pn0 + i, true);
            if (!slot)
                return -GMM_ENOMEM;
            frame_t old = *slot ? pte_frame(*slot) : FRAME_NONE;
            if (old != FRAME_NONE && old != FRAME_ZERO && frame_refcount(sys, old) == 1)
                continue;
            frame_t f = frame_alloc(sys);
            if (f == FRAME_NONE) {
                if (!*slot)
                    pt_trim(&s->pt, pn0 + i);
                return -GMM_ENOMEM;
            }
            if (old != FRAME_NONE && old != FRAME_ZERO)
                memcpy(frame_ptr(sys, f), frame_ptr(sys, old), PAGE_SIZE);
            else
                s->rss++;
            pt_set(&s->pt, pn0 + i, pte_make(f));
            if (old != FRAME_NONE)
                frame_unref(sys, old);
        }
    }
    return err;
}

/* madvise_vma_behavior(): one region's part [start, end). */
static int madvise_region(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
                          int advice, struct anon_name *name)
{
    switch (advice) {
    case GMM_MADV_REMOVE:
        return madvise_remove(s, r, start, end);
    case GMM_MADV_WILLNEED:
        willneed(s, r, start, end);
        return 0;
    case GMM_MADV_COLD:
        return r->flags & VM_LOCKED ? -GMM_EINVAL : 0;
    case GMM_MADV_PAGEOUT:
        if (r->flags & VM_LOCKED)
            return -GMM_EINVAL;
        if ((r->flags & VM_DROPPABLE) || (r->obj && r->obj->kind == OBJ_SHMEM))
            pageout(s, r, start, end);
        return 0;
    case GMM_MADV_FREE:
    case GMM_MADV_DONTNEED:
    case GMM_MADV_DONTNEED_LOCKED:
        if (advice != GMM_MADV_DONTNEED_LOCKED && (r->flags & VM_LOCKED))
            return -GMM_EINVAL;
        if (advice == GMM_MADV_FREE)
            /* Anonymous memory only; the pages stay until memory is short,
             * which it never is here. */
            return r->obj ? -GMM_EINVAL : 0;
        vma_zap_pages(s, start, end);
        return 0;
    case GMM_MADV_COLLAPSE:
        return collapse(s, r, start, end);
    case GMM_MADV_GUARD_INSTALL:
        return guard_install(s, r, start, end);
    case GMM_MADV_GUARD_REMOVE:
        guard_remove(s, start, end);
        return 0;
    case MADV_SET_ANON_NAME:
        /* Only anonymous memory, shared included, has a name. */
        if (r->obj && r->obj->kind != OBJ_SHMEM)
            return -GMM_EBADF;
        return update_region(s, r, start, end, r->flags, true, name);
    }
    int64_t flags = advised_flags(r, advice);
    if (flags < 0)
        return (int)flags;
    return update_region(s, r, start, end, (uint32_t)flags, false, NULL);
}

/* madvise_walk_vmas(): the mapped parts of [start, end), then ENOMEM for
 * a hole. */
static int madvise_walk(gmm_space *s, gmm_addr start, gmm_addr end, int advice,
                        struct anon_name *name)
{
    int unmapped = 0;
    gmm_addr a = start;
    while (a < end) {
        struct region *r = region_find(s, a);
        if (!r)
            return -GMM_ENOMEM;
        if (a < r->start) {
            unmapped = -GMM_ENOMEM;
            a = r->start;
            if (a >= end)
                break;
        }
        gmm_addr e = r->end < end ? r->end : end;
        int err = madvise_region(s, r, a, e, advice, name);
        if (err)
            return err;
        a = e;
    }
    return unmapped;
}

/* madvise_populate(): the whole range must be mapped, readable (or
 * writable) as asked; it is faulted in page by page. */
static int madvise_populate(gmm_space *s, gmm_addr start, gmm_addr end, bool write)
{
    gmm_addr a = start;
    while (a < end) {
        struct region *r = region_find(s, a);
        if (!r || r->start > a)
            return -GMM_ENOMEM;
        if (!(r->flags & (write ? VM_WRITE : VM_READ)))
            return -GMM_EINVAL;
        gmm_addr e = r->end < end ? r->end : end;
        for (; a < e; a += PAGE_SIZE) {
            int err = space_fault(s, a, write ? GMM_ACCESS_WRITE : GMM_ACCESS_READ);
            if (err)
                return err;
        }
    }
    return 0;
}

int64_t gmm_sys_madvise(gmm_space *s, gmm_addr start, uint64_t len, int advice)
{
    start = space_arg(s, start);
    len = space_arg(s, len);
    if (!advice_valid(advice))
        return -GMM_EINVAL;
    int err = check_range(start, len);
    if (err || !len)
        return err;
    /* madvise_inject_error(): CAP_SYS_ADMIN only. */
    if (advice == GMM_MADV_HWPOISON || advice == GMM_MADV_SOFT_OFFLINE)
        return -GMM_EPERM;
    gmm_addr end = start + PAGE_ALIGN(len);
    space_lock(s);
    if (advice == GMM_MADV_POPULATE_READ || advice == GMM_MADV_POPULATE_WRITE)
        err = madvise_populate(s, start, end, advice == GMM_MADV_POPULATE_WRITE);
    else if (changes_flags(advice) && vma_reserve_splits(s, start, end))
        err = -GMM_EAGAIN; /* the splits are allocated before any change */
    else
        err = madvise_walk(s, start, end, advice, NULL);
    space_unlock(s);
    return err;
}

/* ---- PR_SET_VMA_ANON_NAME ---- */

/* is_valid_name_char(): printable ASCII but for \ ` $ [ ]. */
static bool name_char_ok(char c)
{
    return c > 0x1f && c < 0x7f && !strchr("\\`$[]", c);
}

int64_t gmm_sys_prctl_set_vma_anon_name(gmm_space *s, gmm_addr addr, uint64_t len, gmm_addr uname)
{
    addr = space_arg(s, addr);
    len = space_arg(s, len);
    uname = space_arg(s, uname);
    struct anon_name *name = NULL;
    if (uname) {
        /* strndup_user(uname, 80): EFAULT when unreadable before its NUL,
         * EINVAL when longer than 79 characters. */
        char buf[ANON_NAME_MAX];
        size_t n = 0;
        for (; n < ANON_NAME_MAX; n++) {
            if (gmm_read(s, uname + n, &buf[n], 1))
                return -GMM_EFAULT;
            if (!buf[n])
                break;
        }
        if (n == ANON_NAME_MAX)
            return -GMM_EINVAL;
        for (size_t i = 0; i < n; i++)
            if (!name_char_ok(buf[i]))
                return -GMM_EINVAL;
        name = gmm_malloc(s->sys, sizeof(*name) + n + 1);
        if (!name)
            return -GMM_ENOMEM;
        name->refs = 1;
        memcpy(name->str, buf, n + 1);
    }
    /* madvise_set_anon_name(): the range as madvise checks it. */
    int err = check_range(addr, len);
    if (!err && len) {
        gmm_addr end = addr + PAGE_ALIGN(len);
        space_lock(s);
        err = vma_reserve_splits(s, addr, end) ? -GMM_EAGAIN
                                               : madvise_walk(s, addr, end, MADV_SET_ANON_NAME, name);
        space_unlock(s);
    }
    if (name) {
        struct region tmp = {.name = name};
        vma_put_refs(s, &tmp);
    }
    return err;
}
