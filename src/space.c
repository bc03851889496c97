/*
 * space.c - lifecycles of systems and spaces, brk initialisation and the
 * invariant checker.
 */
#include "internal.h"
#include "host.h"

/* Linux x86-64 with ASLR off; i386 tasks run as compat tasks. */
#define TASK_SIZE_64 0x7FFFFFFFF000ull
#define TASK_SIZE_32 0xFFFFE000ull
/* mmap_base = task size - 128 MiB (the stack gap, clamped to its minimum). */
#define MMAP_GAP (128ull << 20)

gmm_system *gmm_system_create(const gmm_host *host)
{
    return gmm_system_create_with_allocator(host, NULL, NULL);
}

static gmm_system *system_create(const gmm_host *host, gmm_alloc_fn alloc, void *ud, bool mappable);

gmm_system *gmm_system_create_with_allocator(const gmm_host *host, gmm_alloc_fn alloc, void *ud)
{
    return system_create(host, alloc, ud, false);
}

gmm_system *gmm_system_create_mappable(const gmm_host *host)
{
    return system_create(host, NULL, NULL, true);
}

gmm_system *gmm_system_create_mappable_with_allocator(const gmm_host *host, gmm_alloc_fn alloc,
                                                      void *ud)
{
    return system_create(host, alloc, ud, true);
}

static gmm_system *system_create(const gmm_host *host, gmm_alloc_fn alloc, void *ud, bool mappable)
{
    if (!alloc)
        alloc = gmm_default_alloc, ud = NULL;
    /* No system yet: its own structure is the first block of its
     * allocator, and owns itself. */
    gmm_system *sys = gmm_alloc_with(alloc, ud, NULL, sizeof(*sys));
    if (!sys)
        return NULL;
    memset(sys, 0, sizeof(*sys));
    sys->alloc = alloc;
    sys->alloc_ud = ud;
    gmm_alloc_set_owner(sys, sys);
    if (host) {
        sys->host = *host;
        sys->has_host = true;
    }
    sys->memfd = -1;
    if (mappable && (sys->memfd = host_memfile_create()) < 0) {
        gmm_free(sys);
        return NULL;
    }
    pthread_mutex_init(&sys->lock, NULL);
    pthread_mutex_init(&sys->mm_lock, NULL);
    if (frame_init(sys)) {
        host_close(sys->memfd);
        pthread_mutex_destroy(&sys->lock);
        pthread_mutex_destroy(&sys->mm_lock);
        gmm_free(sys);
        return NULL;
    }
    return sys;
}

void gmm_system_destroy(gmm_system *sys)
{
    if (!sys)
        return;
    while (sys->spaces)
        gmm_space_destroy(sys->spaces);
    pt_spares_free(sys);
    frame_fini(sys);
    pthread_mutex_destroy(&sys->lock);
    pthread_mutex_destroy(&sys->mm_lock);
    gmm_free(sys);
}

static void space_link(gmm_space *s)
{
    gmm_system *sys = s->sys;
    pthread_mutex_lock(&sys->lock);
    s->sys_next = sys->spaces;
    if (sys->spaces)
        sys->spaces->sys_prev = s;
    sys->spaces = s;
    pthread_mutex_unlock(&sys->lock);
}

static void space_unlink(gmm_space *s)
{
    gmm_system *sys = s->sys;
    pthread_mutex_lock(&sys->lock);
    if (s->sys_prev)
        s->sys_prev->sys_next = s->sys_next;
    else
        sys->spaces = s->sys_next;
    if (s->sys_next)
        s->sys_next->sys_prev = s->sys_prev;
    pthread_mutex_unlock(&sys->lock);
}

gmm_space *gmm_space_create(gmm_system *sys, gmm_abi abi)
{
    if (!sys || (abi != GMM_ABI_I386 && abi != GMM_ABI_X86_64))
        return NULL;
    gmm_space *s = gmm_calloc(sys, 1, sizeof(*s));
    if (!s)
        return NULL;
    s->sys = sys;
    s->pt.sys = sys;
    s->abi = abi;
    s->task_size = abi == GMM_ABI_I386 ? TASK_SIZE_32 : TASK_SIZE_64;
    s->mmap_base = s->task_size - MMAP_GAP;
    /* Linux's mmap_legacy_base without randomisation: task size / 3. */
    s->legacy_base = PAGE_ALIGN(s->task_size / 3);
    s->mmap_min_addr = DEFAULT_MMAP_MIN_ADDR;
    s->max_map_count = DEFAULT_MAX_MAP_COUNT;
    s->rlim_as = s->rlim_max_as = RLIM_INFINITY;
    s->rlim_data = s->rlim_max_data = RLIM_INFINITY;
    /* Linux's defaults: an 8 MiB stack (hard limit unlimited) and 8 MiB of
     * locked memory. */
    s->rlim_stack = 8ull << 20;
    s->rlim_max_stack = RLIM_INFINITY;
    s->rlim_memlock = s->rlim_max_memlock = 8ull << 20;
    tlb_init(&s->copy_tlb);
    s->id = space_new_id();
    pthread_mutex_init(&s->inval_lock, NULL);
    space_link(s);
    return s;
}

static void unref_frame(void *ctx, uint64_t pn, pte_t pte)
{
    (void)pn;
    frame_unref(ctx, pte_frame(pte));
}

void gmm_space_destroy(gmm_space *s)
{
    if (!s)
        return;
    snapshot_destroy_all(s);
    space_unlink(s);
    space_lock(s);
    window_detach_all(s);
    struct region *r = s->first;
    while (r) {
        struct region *next = r->next;
        vma_put_refs(s, r);
        region_free(r);
        r = next;
    }
    s->root = s->first = s->last = NULL;
    region_cache_drain(s);
    pt_destroy(&s->pt, unref_frame, s->sys);
    space_unlock(s);
    pthread_mutex_destroy(&s->inval_lock);
    gmm_free(s);
}

void gmm_space_set_user(gmm_space *s, void *user) { s->user = user; }
void *gmm_space_user(const gmm_space *s) { return s->user; }
gmm_abi gmm_space_abi(const gmm_space *s) { return s->abi; }

int gmm_space_set_execute_only(gmm_space *s, int enabled)
{
    space_lock(s);
    s->execute_only = enabled != 0;
    space_unlock(s);
    return 0;
}

static int rlimit_slots(gmm_space *s, int resource, uint64_t **soft, uint64_t **hard)
{
    switch (resource) {
    case GMM_RLIMIT_AS:
        *soft = &s->rlim_as, *hard = &s->rlim_max_as;
        return 0;
    case GMM_RLIMIT_DATA:
        *soft = &s->rlim_data, *hard = &s->rlim_max_data;
        return 0;
    case GMM_RLIMIT_STACK:
        *soft = &s->rlim_stack, *hard = &s->rlim_max_stack;
        return 0;
    case GMM_RLIMIT_MEMLOCK:
        *soft = &s->rlim_memlock, *hard = &s->rlim_max_memlock;
        return 0;
    }
    return -GMM_EINVAL;
}

int gmm_space_setrlimit(gmm_space *s, int resource, uint64_t soft, uint64_t hard)
{
    uint64_t *ps, *ph;
    if (soft > hard || rlimit_slots(s, resource, &ps, &ph))
        return -GMM_EINVAL;
    /* Under the lock for every reader that holds it; atomic for the
     * argument checks that read a limit before taking it (can_do_mlock()). */
    space_lock(s);
    __atomic_store_n(ps, soft, __ATOMIC_RELAXED);
    __atomic_store_n(ph, hard, __ATOMIC_RELAXED);
    space_unlock(s);
    return 0;
}

int gmm_space_getrlimit(gmm_space *s, int resource, uint64_t *soft, uint64_t *hard)
{
    uint64_t *ps, *ph;
    if (rlimit_slots(s, resource, &ps, &ph))
        return -GMM_EINVAL;
    space_lock(s);
    if (soft)
        *soft = *ps;
    if (hard)
        *hard = *ph;
    space_unlock(s);
    return 0;
}

int gmm_space_init_brk(gmm_space *s, gmm_addr start)
{
    if (start > s->task_size)
        return -GMM_EINVAL;
    space_lock(s);
    s->start_brk = s->brk = start;
    space_unlock(s);
    return 0;
}

/* ---- fork ---- */

/* vma_needs_copy(): only a region with anonymous pages (or guard markers)
 * has entries a fault could not rebuild; shared memory, unwritten file
 * pages and the zero page the child faults in itself, as on Linux (which
 * keeps fork light and Rss exact). */
static bool fork_copies_pages(const struct region *r)
{
    return !(r->flags & (VM_DONTCOPY | VM_WIPEONFORK)) && (r->anon || (r->flags & VM_MAYBE_GUARD));
}

struct fork_ctx {
    gmm_space *parent, *child;
    struct region *r;    /* the parent's region being copied */
    uint64_t last_share; /* base of the leaf shared last, or UINT64_MAX */
    bool failed;
};

static void fork_pte(struct fork_ctx *c, uint64_t pn, pte_t pte)
{
    pte_t *slot = pt_slot(&c->child->pt, pn, true);
    if (!slot) {
        c->failed = true;
        return;
    }
    frame_t f = pte_frame(pte);
    frame_ref(c->child->sys, f);
    pt_set(&c->child->pt, pn, pte);
    if (f != FRAME_ZERO)
        c->child->rss++;
}

/* May the child share the parent's leaf from page number base: is every
 * entry of it in a region whose pages fork copies?  (Entries lie inside
 * regions, so only the regions the leaf overlaps are looked at.)  The
 * answer is the same whichever of those regions asks. */
static bool leaf_shareable(struct fork_ctx *c, uint64_t base)
{
    gmm_addr lo = base << PAGE_SHIFT, hi = (base + PT_ENTRIES) << PAGE_SHIFT;
    struct region *r = c->r;
    if (r->start <= lo && r->end >= hi)
        return true;
    while (r->prev && r->prev->end > lo)
        r = r->prev;
    for (; r && r->start < hi; r = r->next) {
        gmm_addr a = r->start > lo ? r->start : lo, b = r->end < hi ? r->end : hi;
        if (!fork_copies_pages(r) && !pt_range_empty(&c->parent->pt, a >> PAGE_SHIFT, b >> PAGE_SHIFT))
            return false;
    }
    return true;
}

/* One leaf of the parent under the region being copied: shared whole
 * (O(1): its references stay with it), or, when it also holds entries of
 * a region fork leaves behind, copied entry by entry. */
static void fork_leaf(void *ctx, uint64_t base, struct pt_node *leaf)
{
    struct fork_ctx *c = ctx;
    if (c->failed || base == c->last_share)
        return;
    if (leaf_shareable(c, base)) {
        if (pt_share_leaf(&c->child->pt, leaf, base)) {
            c->failed = true;
            return;
        }
        c->last_share = base;
        c->child->rss += leaf->frames;
        return;
    }
    uint64_t lo = c->r->start >> PAGE_SHIFT, hi = c->r->end >> PAGE_SHIFT;
    if (lo < base)
        lo = base;
    if (hi > base + PT_ENTRIES)
        hi = base + PT_ENTRIES;
    for (uint64_t pn = lo; pn < hi && !c->failed; pn++)
        if (leaf->u.pte[pn - base])
            fork_pte(c, pn, leaf->u.pte[pn - base]);
}

gmm_space *gmm_space_fork(gmm_space *parent)
{
    gmm_space *child = gmm_space_create(parent->sys, parent->abi);
    if (!child)
        return NULL;
    space_lock(parent);
    child->user = parent->user;
    child->start_brk = parent->start_brk;
    child->brk = parent->brk;
    child->rlim_as = parent->rlim_as;
    child->rlim_data = parent->rlim_data;
    child->rlim_stack = parent->rlim_stack;
    child->rlim_memlock = parent->rlim_memlock;
    child->rlim_max_as = parent->rlim_max_as;
    child->rlim_max_data = parent->rlim_max_data;
    child->rlim_max_stack = parent->rlim_max_stack;
    child->rlim_max_memlock = parent->rlim_max_memlock;
    child->max_map_count = parent->max_map_count;
    child->execute_only = parent->execute_only;
    /* The task's memory policy is inherited; mm->def_flags (MCL_FUTURE)
     * is not.  The text and stack addresses come with the copied mm. */
    child->pol = parent->pol;
    child->start_stack = parent->start_stack;
    child->start_code = parent->start_code;
    child->end_code = parent->end_code;
    struct fork_ctx c = {parent, child, NULL, UINT64_MAX, false};
    for (struct region *r = parent->first; r && !c.failed; r = r->next) {
        if (r->flags & VM_DONTCOPY)
            continue;
        struct region *q = region_alloc(child);
        if (!q) {
            c.failed = true;
            break;
        }
        *q = *r;
        q->flags &= ~(uint32_t)VM_LOCKED_MASK;
        /* dup_mmap() copies regions one by one and never merges: two that
         * fork made alike (locks dropped; VM_WIPEONFORK anon identities
         * dropped) stay apart in the child, as its maps show on Linux
         * (checked natively on 6.18).  Found by the fuzzer: the checker
         * wanted them merged. */
        if (r->flags & (VM_LOCKED_MASK | VM_WIPEONFORK))
            q->linux_unmerged = true;
        /* dup_mmap()/anon_vma_fork(): a child region that inherits an
         * anon_vma gets its own one, chained to the parent's, so pieces
         * split in the parent no longer share one; VM_WIPEONFORK starts
         * with none. */
        q->anon_forked = q->anon && !(r->flags & VM_WIPEONFORK);
        q->anon = q->anon_forked ? __atomic_add_fetch(&parent->sys->next_anon, 1, __ATOMIC_RELAXED) : 0;
        vma_get_refs(child, q);
        region_insert(child, q);
        vma_account(child, q->flags, (int64_t)((q->end - q->start) >> PAGE_SHIFT));
        if (fork_copies_pages(r)) {
            c.r = r;
            pt_walk_leaves(&parent->pt, r->start >> PAGE_SHIFT, r->end >> PAGE_SHIFT, fork_leaf, &c);
        }
    }
    /* dup_mm(): the child's peaks start at what it has. */
    child->hiwater_vm = child->total_vm;
    child->hiwater_rss = child->rss;
    /* Private frames are now shared (through shared leaves: space_grant
     * counts their sharers): stores must fault to copy them, in the
     * library's TLBs and in any write translation the host cached. */
    for (struct region *r = parent->first; r; r = r->next)
        if ((r->flags & (VM_SHARED | VM_WRITE | VM_DONTCOPY)) == VM_WRITE)
            space_invalidate(parent, r->start, r->end);
    space_unlock(parent);
    if (c.failed) {
        gmm_space_destroy(child);
        return NULL;
    }
    return child;
}
