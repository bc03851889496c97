/*
 * exec.c - what execve does to an mm: an empty address space (the regions,
 * their locks, names, policies and WIPEONFORK settings gone, MCL_FUTURE
 * forgotten), a grows-down stack region right below the top of the ABI's
 * address space, and the program's text range for VmExe.
 */
#include "internal.h"

/* setup_arg_pages() leaves the stack 128 KiB larger than the pages the
 * arguments use: 132 KiB for a small program. */
#define DEFAULT_STACK_SIZE (132 * 1024)

int gmm_space_exec_reset(gmm_space *s)
{
    space_lock(s);
    /* Unmapping everything needs no split, so it cannot fail. */
    vma_unmap(s, 0, s->task_size);
    s->start_brk = s->brk = 0;
    s->start_stack = s->start_code = s->end_code = 0;
    s->def_flags = 0;
    s->hiwater_vm = s->hiwater_rss = 0;
    space_unlock(s);
    return 0;
}

int64_t gmm_space_setup_stack(gmm_space *s, uint64_t size)
{
    size = size ? PAGE_ALIGN(size) : DEFAULT_STACK_SIZE;
    /* STACK_TOP without randomisation: the top of the task. */
    gmm_addr top = s->task_size;
    if (!size || size > top - s->mmap_min_addr)
        return -GMM_ENOMEM;
    gmm_addr start = top - size;
    space_lock(s);
    uint32_t flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_GROWSDOWN |
                     VM_ACCOUNT | s->def_flags;
    int64_t ret = (int64_t)top;
    struct region *r = region_find(s, start);
    if (size > s->rlim_stack)
        ret = -GMM_ENOMEM;
    else if (r && r->start < top)
        ret = -GMM_EEXIST;
    else if (!vma_may_expand(s, flags, size >> PAGE_SHIFT) || !mlock_future_ok(s, flags, size) ||
             s->map_count >= s->max_map_count || !(r = region_alloc(s)))
        ret = -GMM_ENOMEM;
    if (ret > 0) {
        r->start = start;
        r->end = top;
        r->flags = flags;
        r->pgoff = start >> PAGE_SHIFT;
        region_insert(s, r);
        vma_account(s, flags, (int64_t)(size >> PAGE_SHIFT));
        s->start_stack = top;
        /* Under mlockall(MCL_FUTURE) it is locked, hence populated. */
        if (flags & VM_LOCKED)
            space_populate(s, start, top, true);
    }
    space_unlock(s);
    return ret;
}

int gmm_space_set_code(gmm_space *s, gmm_addr start_code, gmm_addr end_code)
{
    if (start_code > end_code || end_code > s->task_size)
        return -GMM_EINVAL;
    space_lock(s);
    s->start_code = start_code;
    s->end_code = end_code;
    space_unlock(s);
    return 0;
}
