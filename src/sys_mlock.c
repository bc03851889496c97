/*
 * sys_mlock.c - mlock, mlock2, munlock, mlockall, munlockall as mm/mlock.c
 * does them, and the populate walk (Linux __mm_populate()) that locking,
 * MAP_LOCKED, MAP_POPULATE and brk under MCL_FUTURE share.
 *
 * The space is an unprivileged process (no CAP_IPC_LOCK): RLIMIT_MEMLOCK
 * applies.  A locked region has VM_LOCKED (and VM_LOCKONFAULT for
 * MLOCK_ONFAULT / MCL_ONFAULT); its pages count in locked_vm, which
 * vma_account keeps.  Locking a region populates it (write faults for
 * private writable memory, so copy on write happens now); frames are never
 * reclaimed, so nothing more is needed to keep them.  The limit checks
 * (mlock_allowed, mlock_future_ok) live in vma.c with the other limits,
 * since the fault path and every mapping call ask them too.
 */
#include "internal.h"

/* populate_vma_page_range(): faults in [start, end) of r as
 * get_user_pages with FOLL_FORCE does. */
static int populate_region(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end)
{
    /* "Rightly or wrongly", a lock-on-fault region is never populated. */
    if (r->flags & VM_LOCKONFAULT)
        return 0;
    /* Without any access right (PROT_NONE) there is no FOLL_FORCE and the
     * first page fails. */
    if (!(r->flags & VM_ACCESS_FLAGS))
        return -GMM_EFAULT;
    int access = (r->flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ? GMM_ACCESS_WRITE
                                                                  : GMM_ACCESS_READ;
    for (gmm_addr a = start; a < end; a += PAGE_SIZE) {
        int err = space_fault(s, a, access);
        if (err)
            return err;
    }
    return 0;
}

int space_populate(gmm_space *s, gmm_addr start, gmm_addr end, bool ignore_errors)
{
    gmm_addr a = start;
    while (a < end) {
        struct region *r = region_find(s, a);
        if (!r || r->start >= end)
            break;
        if (a < r->start)
            a = r->start;
        gmm_addr e = r->end < end ? r->end : end;
        int err = populate_region(s, r, a, e);
        if (err && !ignore_errors)
            return err;
        a = e;
    }
    return 0;
}

/* mlock_fixup(): gives [start, end) of r the lock flags of newflags,
 * splitting or merging as Linux does, and counts the change in locked_vm. */
static int mlock_fixup(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
                       uint32_t newflags)
{
    uint32_t oldflags = r->flags;
    /* A droppable region is never locked, nor counted. */
    if (newflags == oldflags || (oldflags & VM_DROPPABLE))
        return 0;
    struct region want = *r;
    want.flags = newflags;
    int err = vma_modify(s, r, start, end, &want);
    if (err)
        return err;
    int64_t pages = (int64_t)((end - start) >> PAGE_SHIFT);
    vma_account(s, oldflags, -pages);
    vma_account(s, newflags, pages);
    return 0;
}

/* apply_vma_lock_flags(): the range must be mapped without holes; the
 * regions before a hole keep their new flags. */
static int apply_lock_flags(gmm_space *s, gmm_addr start, uint64_t len, uint32_t flags)
{
    gmm_addr end = start + len;
    if (end < start)
        return -GMM_EINVAL;
    if (end == start)
        return 0;
    /* Linux can fail a split after changing the regions before it; the
     * splits are allocated first here, so that nothing changes. */
    if (vma_reserve_splits(s, start, end))
        return -GMM_ENOMEM;
    gmm_addr a = start;
    while (a < end) {
        struct region *r = region_find(s, a);
        if (!r || r->start > a)
            return -GMM_ENOMEM;
        gmm_addr e = r->end < end ? r->end : end;
        int err = mlock_fixup(s, r, a, e, (r->flags & ~(uint32_t)VM_LOCKED_MASK) | flags);
        if (err)
            return err;
        a = e;
    }
    return 0;
}

/* count_mm_mlocked_page_nr(): locked pages already inside the range. */
static uint64_t locked_pages_in(gmm_space *s, gmm_addr start, uint64_t len)
{
    gmm_addr end = start + len < start ? UINT64_MAX : start + len;
    uint64_t count = 0;
    for (struct region *r = region_find(s, start); r && r->start < end; r = r->next) {
        if (!(r->flags & VM_LOCKED))
            continue;
        if (start > r->start)
            count -= start - r->start;
        if (end < r->end) {
            count += end - r->start;
            break;
        }
        count += r->end - r->start;
    }
    return count >> PAGE_SHIFT;
}

/* __mlock_posix_error_return(): what populating gave, as POSIX wants it. */
static int64_t posix_error(int err)
{
    return err == -GMM_EFAULT ? -GMM_ENOMEM : err == -GMM_ENOMEM ? -GMM_EAGAIN : err;
}

static int64_t do_mlock(gmm_space *s, gmm_addr start, uint64_t len, uint32_t flags)
{
    start = space_arg(s, start);
    len = space_arg(s, len);
    if (!mlock_allowed(s))
        return -GMM_EPERM;
    len = PAGE_ALIGN(len + OFFSET_IN_PAGE(start)); /* may wrap to 0: nothing */
    start &= PAGE_MASK;
    space_lock(s);
    uint64_t limit = s->rlim_memlock >> PAGE_SHIFT;
    uint64_t locked = (len >> PAGE_SHIFT) + s->locked_vm;
    /* Pages locked already do not count twice. */
    if (locked > limit)
        locked -= locked_pages_in(s, start, len);
    int err = locked <= limit ? apply_lock_flags(s, start, len, flags) : -GMM_ENOMEM;
    if (!err)
        err = (int)posix_error(space_populate(s, start, start + len, false));
    space_unlock(s);
    return err;
}

int64_t gmm_sys_mlock(gmm_space *s, gmm_addr addr, uint64_t len)
{
    return do_mlock(s, addr, len, VM_LOCKED);
}

int64_t gmm_sys_mlock2(gmm_space *s, gmm_addr addr, uint64_t len, int flags)
{
    if (flags & ~GMM_MLOCK_ONFAULT)
        return -GMM_EINVAL;
    return do_mlock(s, addr, len, VM_LOCKED | (flags & GMM_MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
}

int64_t gmm_sys_munlock(gmm_space *s, gmm_addr addr, uint64_t len)
{
    addr = space_arg(s, addr);
    len = space_arg(s, len);
    len = PAGE_ALIGN(len + OFFSET_IN_PAGE(addr));
    addr &= PAGE_MASK;
    space_lock(s);
    int64_t ret = apply_lock_flags(s, addr, len, 0);
    space_unlock(s);
    return ret;
}

/* apply_mlockall_flags(): MCL_FUTURE goes to def_flags (a later mlockall
 * without it cancels it); MCL_CURRENT locks, and flags 0 unlocks, every
 * region.  Errors on single regions are ignored. */
static void apply_mlockall(gmm_space *s, int flags)
{
    s->def_flags &= ~(uint32_t)VM_LOCKED_MASK;
    if (flags & GMM_MCL_FUTURE) {
        s->def_flags |= VM_LOCKED | (flags & GMM_MCL_ONFAULT ? VM_LOCKONFAULT : 0);
        if (!(flags & GMM_MCL_CURRENT))
            return;
    }
    uint32_t to_add = 0;
    if (flags & GMM_MCL_CURRENT)
        to_add = VM_LOCKED | (flags & GMM_MCL_ONFAULT ? VM_LOCKONFAULT : 0);
    gmm_addr a = 0;
    for (struct region *r = region_find(s, a); r; r = region_find(s, a)) {
        a = r->end;
        mlock_fixup(s, r, r->start, r->end, (r->flags & ~(uint32_t)VM_LOCKED_MASK) | to_add);
    }
}

int64_t gmm_sys_mlockall(gmm_space *s, int flags)
{
    if (!flags || (flags & ~(GMM_MCL_CURRENT | GMM_MCL_FUTURE | GMM_MCL_ONFAULT)) ||
        flags == GMM_MCL_ONFAULT)
        return -GMM_EINVAL;
    if (!mlock_allowed(s))
        return -GMM_EPERM;
    space_lock(s);
    int64_t ret = -GMM_ENOMEM;
    if (!(flags & GMM_MCL_CURRENT) || s->total_vm <= s->rlim_memlock >> PAGE_SHIFT) {
        apply_mlockall(s, flags);
        ret = 0;
        if (flags & GMM_MCL_CURRENT)
            space_populate(s, 0, s->task_size, true);
    }
    space_unlock(s);
    return ret;
}

int64_t gmm_sys_munlockall(gmm_space *s)
{
    space_lock(s);
    apply_mlockall(s, 0);
    space_unlock(s);
    return 0;
}
