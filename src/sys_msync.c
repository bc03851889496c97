/*
 * sys_msync.c - msync(2) as mm/msync.c does it: the flag checks in Linux's
 * order, then a walk over the regions of the range.  MS_ASYNC and
 * MS_INVALIDATE have nothing to do on Linux (dirty pages are tracked, the
 * page cache is the file); here MS_ASYNC starts the writeback of a shared
 * file mapping and MS_SYNC waits for it (the file's write callback).
 * MS_INVALIDATE on locked memory is EBUSY.  A hole gives ENOMEM after the
 * mapped parts, except for MS_SYNC alone, which stops at it.
 */
#include "internal.h"

/* Writes back the pages of region r in [start, end) when it maps a file
 * shared. */
static int sync_region(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end, bool sync)
{
    if (!r->obj || r->obj->kind != OBJ_FILE || !(r->flags & VM_SHARED))
        return 0;
    uint64_t first = r->pgoff + ((start - r->start) >> PAGE_SHIFT);
    return object_writeback(s->sys, r->obj, first, (end - start) >> PAGE_SHIFT, sync);
}

int64_t gmm_sys_msync(gmm_space *s, gmm_addr start, uint64_t len, int flags)
{
    start = space_arg(s, start);
    len = space_arg(s, len);
    if (flags & ~(GMM_MS_ASYNC | GMM_MS_INVALIDATE | GMM_MS_SYNC))
        return -GMM_EINVAL;
    if (OFFSET_IN_PAGE(start))
        return -GMM_EINVAL;
    if ((flags & GMM_MS_ASYNC) && (flags & GMM_MS_SYNC))
        return -GMM_EINVAL;
    len = PAGE_ALIGN(len); /* may wrap to 0 */
    gmm_addr end = start + len;
    if (end < start)
        return -GMM_ENOMEM;
    if (end == start)
        return 0;

    space_lock(s);
    int64_t err = -GMM_ENOMEM, unmapped = 0;
    struct region *r = region_find(s, start);
    for (;;) {
        if (!r)
            break;
        if (start < r->start) {
            if (flags == GMM_MS_SYNC)
                break;
            start = r->start;
            if (start >= end)
                break;
            unmapped = -GMM_ENOMEM;
        }
        if ((flags & GMM_MS_INVALIDATE) && (r->flags & VM_LOCKED)) {
            err = -GMM_EBUSY;
            break;
        }
        gmm_addr piece_end = r->end < end ? r->end : end;
        int werr = sync_region(s, r, start, piece_end, (flags & GMM_MS_SYNC) != 0);
        start = r->end;
        /* vfs_fsync_range() reports an error of MS_SYNC. */
        if ((flags & GMM_MS_SYNC) && werr) {
            err = werr;
            break;
        }
        if (start >= end) {
            err = 0;
            break;
        }
        r = region_find(s, start);
    }
    space_unlock(s);
    return err ? err : unmapped;
}
