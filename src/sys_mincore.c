/*
 * sys_mincore.c - mincore(2) as mm/mincore.c does it: the range is checked
 * as access_ok() checks it, then the vector is filled region by region (at
 * most a page of it at a time) and copied to guest memory with
 * copy_to_user semantics, so a hole or a bad vector after the first piece
 * leaves the earlier entries written.
 *
 * A page is resident when a frame maps it (the shared zero frame of a read
 * but never written anonymous page counts, as Linux's zero page does), or,
 * for a region backed by an object (shared anonymous memory, a file), when
 * the object holds the page.  A guard marker is no mapping.
 */
#include "internal.h"

static uint8_t page_resident(gmm_space *s, const struct region *r, gmm_addr a)
{
    if (pt_get(&s->pt, a >> PAGE_SHIFT) & PTE_PRESENT)
        return 1;
    if (r->obj) {
        uint64_t idx = r->pgoff + ((a - r->start) >> PAGE_SHIFT);
        pte_t *o = pt_slot(&r->obj->pages, idx, false);
        return o && *o ? 1 : 0;
    }
    return 0;
}

/* do_mincore(): up to n entries for the region at addr; the count, or
 * -GMM_ENOMEM when nothing is mapped there. */
static int64_t mincore_piece(gmm_space *s, gmm_addr addr, uint64_t n, uint8_t *vec)
{
    struct region *r = region_find(s, addr);
    if (!r || r->start > addr)
        return -GMM_ENOMEM;
    uint64_t in_region = (r->end - addr) >> PAGE_SHIFT;
    if (n > in_region)
        n = in_region;
    for (uint64_t i = 0; i < n; i++)
        vec[i] = page_resident(s, r, addr + (i << PAGE_SHIFT));
    return (int64_t)n;
}

int64_t gmm_sys_mincore(gmm_space *s, gmm_addr start, uint64_t len, gmm_addr vec)
{
    start = space_arg(s, start);
    len = space_arg(s, len);
    vec = space_arg(s, vec);
    if (OFFSET_IN_PAGE(start))
        return -GMM_EINVAL;
    if (!user_range_ok(start, len))
        return -GMM_ENOMEM;
    uint64_t pages = (len >> PAGE_SHIFT) + (OFFSET_IN_PAGE(len) != 0);
    if (!user_range_ok(vec, pages))
        return -GMM_EFAULT;
    uint8_t tmp[PAGE_SIZE];
    while (pages) {
        space_lock(s);
        int64_t n = mincore_piece(s, start, pages < PAGE_SIZE ? pages : PAGE_SIZE, tmp);
        space_unlock(s);
        if (n < 0)
            return n;
        if (gmm_write(s, vec, tmp, (size_t)n))
            return -GMM_EFAULT;
        pages -= (uint64_t)n;
        vec += (uint64_t)n;
        start += (uint64_t)n << PAGE_SHIFT;
    }
    return 0;
}
