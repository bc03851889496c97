/*
 * sys_brk.c - brk(2) as mm/mmap.c does it.  The raw syscall never returns
 * an errno: on failure it returns the current break.
 */
#include "internal.h"

/* Linux's VM_DATA_DEFAULT_FLAGS on x86 plus VM_ACCOUNT. */
#define BRK_FLAGS (VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT)

/* do_brk_flags(): maps [addr, addr+len) as heap, extending prev when it
 * ends at addr and is compatible.  0 or -GMM_ENOMEM. */
static int do_brk(gmm_space *s, struct region *prev, gmm_addr addr, uint64_t len)
{
    uint64_t pages = len >> PAGE_SHIFT;
    /* mlockall(MCL_FUTURE) locks the heap too (mm->def_flags). */
    uint32_t flags = BRK_FLAGS | s->def_flags;
    if (!vma_may_expand(s, flags, pages))
        return -GMM_ENOMEM;
    if (s->map_count > s->max_map_count)
        return -GMM_ENOMEM;
    struct region probe = {.start = addr, .end = addr + len, .flags = flags,
                           .pgoff = addr >> PAGE_SHIFT};
    if (prev && prev->end == addr && vma_mergeable(prev, &probe)) {
        prev->end = addr + len;
        region_bounds_changed(s, prev);
    } else {
        struct region *r = region_alloc(s);
        if (!r)
            return -GMM_ENOMEM;
        *r = probe;
        region_insert(s, r);
        /* A region ending at start_brk is never extended (Linux looks for
         * the heap above start_brk only): the two stay apart even if
         * start_brk moves later (gmm_space_init_brk again; the checker's
         * hint, found by the fuzzer). */
        if (r->prev && r->prev->end == addr)
            r->linux_unmerged = true;
    }
    vma_account(s, flags, (int64_t)pages);
    return 0;
}

int64_t gmm_sys_brk(gmm_space *s, gmm_addr brk)
{
    brk = space_arg(s, brk);
    space_lock(s);
    gmm_addr origbrk = s->brk;
    if (brk < s->start_brk)
        goto out;
    /* check_data_rlimit() */
    if (s->rlim_data != RLIM_INFINITY && brk - s->start_brk > s->rlim_data)
        goto out;

    gmm_addr newbrk = PAGE_ALIGN(brk), oldbrk = PAGE_ALIGN(s->brk);
    if (newbrk < brk) /* wrapped */
        goto out;
    if (oldbrk == newbrk) {
        s->brk = brk;
        goto success;
    }

    if (brk <= s->brk) {
        /* Always allow shrinking, if something is mapped there. */
        struct region *r = region_find(s, newbrk);
        if (!r || r->start >= oldbrk)
            goto out;
        if (vma_unmap_splits(s, newbrk, oldbrk) && s->map_count >= s->max_map_count)
            goto out;
        if (vma_unmap(s, newbrk, oldbrk))
            goto out;
        s->brk = brk;
        goto success;
    }

    /* check_brk_limits(): the range must be a valid fixed mapping. */
    uint64_t len = newbrk - oldbrk;
    if (len > s->task_size || oldbrk > s->task_size - len || oldbrk < s->mmap_min_addr)
        goto out;
    /* ... and, under MCL_FUTURE, fit in RLIMIT_MEMLOCK. */
    if (!mlock_future_ok(s, s->def_flags, len))
        goto out;
    /* The next region must stay a page (and a stack guard gap) away. */
    struct region *next = region_find(s, oldbrk);
    if (next && newbrk + PAGE_SIZE > region_start_gap(next))
        goto out;
    /* The region just below oldbrk, if it reaches above start_brk. */
    struct region *prev = next ? next->prev : s->last;
    if (prev && prev->end <= s->start_brk)
        prev = NULL;
    if (do_brk(s, prev, oldbrk, len))
        goto out;
    s->brk = brk;
    if (s->def_flags & VM_LOCKED)
        space_populate(s, oldbrk, newbrk, true);
success:
    space_unlock(s);
    return (int64_t)brk;
out:
    s->brk = origbrk;
    space_unlock(s);
    return (int64_t)origbrk;
}
