/*
 * sys_mprotect.c - mprotect(2), as mm/mprotect.c does it: the checks in
 * order, then region by region; a hole or a refused region stops the walk
 * with the regions before it already changed, as on Linux.
 */
#include "internal.h"

/* Applies newflags to [start, end) inside r: splits at the edges or merges
 * with a neighbour, as vma_modify_flags() does.  0 or -GMM_ENOMEM. */
static int modify_flags(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
                        uint32_t newflags)
{
    bool left = start == r->start, right = end == r->end;
    struct region probe = *r;
    probe.start = start;
    probe.end = end;
    probe.flags = newflags;
    probe.pgoff = r->pgoff + ((start - r->start) >> PAGE_SHIFT);
    bool merge_left = left && r->prev && vma_mergeable(r->prev, &probe);
    bool merge_right = right && r->next && vma_mergeable(&probe, r->next);
    if (merge_left && merge_right && r->prev->anon && r->next->anon &&
        r->prev->anon != r->next->anon)
        merge_right = false;

    if (merge_left || merge_right) {
        if (merge_left && !right) {
            /* prev grows over [start, end); r keeps the rest. */
            struct region *p = r->prev;
            p->end = end;
            if (!p->anon)
                p->anon = r->anon;
            r->start = end;
            r->pgoff += (end - start) >> PAGE_SHIFT;
            region_bounds_changed(s, p);
            region_bounds_changed(s, r);
            return 0;
        }
        if (merge_right && !left) {
            struct region *n = r->next;
            n->start = start;
            n->pgoff = probe.pgoff;
            if (!n->anon)
                n->anon = r->anon;
            r->end = start;
            region_bounds_changed(s, r);
            region_bounds_changed(s, n);
            return 0;
        }
        /* The whole of r goes into its neighbour(s). */
        r->flags = newflags;
        vma_merge_neighbours(s, r, merge_left, merge_right);
        return 0;
    }

    /* No merge: split off the parts outside [start, end). */
    int need = (start > r->start) + (end < r->end);
    if (need && s->map_count + (uint64_t)need > s->max_map_count)
        return -GMM_ENOMEM;
    if (start > r->start) {
        struct region *q = vma_split(s, r, start);
        if (!q)
            return -GMM_ENOMEM;
        r = q;
    }
    if (end < r->end && !vma_split(s, r, end))
        return -GMM_ENOMEM;
    r->flags = newflags;
    return 0;
}

static int mprotect_fixup(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
                          uint32_t newflags)
{
    uint32_t oldflags = r->flags;
    if (newflags == oldflags)
        return 0;
    uint64_t pages = (end - start) >> PAGE_SHIFT;
    if (newflags & VM_WRITE) {
        /* Check space limits when the area turns into data. */
        if (vma_is_data(newflags) && !vma_is_data(oldflags) &&
            s->data_vm + pages > s->rlim_data >> PAGE_SHIFT)
            return -GMM_ENOMEM;
        if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE)))
            newflags |= VM_ACCOUNT;
    } else if ((oldflags & VM_ACCOUNT) && !r->obj && !r->anon) {
        /* Never-faulted anonymous memory gives its charge back. */
        newflags &= ~(uint32_t)VM_ACCOUNT;
    }
    int err = modify_flags(s, r, start, end, newflags);
    if (err)
        return err;
    vma_account(s, oldflags, -(int64_t)pages);
    vma_account(s, newflags, (int64_t)pages);
    space_invalidate(s, start, end);
    /* A private locked region becoming writable is populated with write
     * faults (copy on write now rather than on access). */
    if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED && (newflags & VM_WRITE))
        for (gmm_addr a = start; a < end; a += PAGE_SIZE)
            if (!space_fault_in(s, a, GMM_ACCESS_WRITE))
                break;
    return 0;
}

int64_t gmm_sys_mprotect(gmm_space *s, gmm_addr start, uint64_t len, int prot)
{
    start = space_arg(s, start);
    len = space_arg(s, len);
    int grows = prot & (GMM_PROT_GROWSDOWN | GMM_PROT_GROWSUP);
    prot &= ~(GMM_PROT_GROWSDOWN | GMM_PROT_GROWSUP);
    if (grows == (GMM_PROT_GROWSDOWN | GMM_PROT_GROWSUP))
        return -GMM_EINVAL;
    if (OFFSET_IN_PAGE(start))
        return -GMM_EINVAL;
    if (!len)
        return 0;
    len = PAGE_ALIGN(len);
    gmm_addr end = start + len;
    if (end <= start)
        return -GMM_ENOMEM;
    if (prot & ~(GMM_PROT_READ | GMM_PROT_WRITE | GMM_PROT_EXEC | GMM_PROT_SEM))
        return -GMM_EINVAL;

    space_lock(s);
    int64_t err = -GMM_ENOMEM;
    struct region *r = region_find(s, start);
    if (!r || r->start >= end)
        goto out;
    if (grows & GMM_PROT_GROWSDOWN) {
        start = r->start;
        err = -GMM_EINVAL;
        if (!(r->flags & VM_GROWSDOWN))
            goto out;
    } else {
        if (r->start > start)
            goto out;
        if (grows & GMM_PROT_GROWSUP) {
            /* x86 has no grows-up regions. */
            err = -GMM_EINVAL;
            goto out;
        }
    }

    uint32_t bits = space_prot_bits(s, prot);
    gmm_addr addr = start;
    err = 0;
    while (addr < end) {
        r = region_find(s, addr);
        if (!r || r->start > addr) {
            err = -GMM_ENOMEM;
            break;
        }
        uint32_t newflags = bits | (r->flags & ~(uint32_t)(VM_ACCESS_FLAGS | VM_PKEY_EXEC));
        /* Each VM_MAY* bit sits 4 above its VM_* bit. */
        if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
            err = -GMM_EACCES;
            break;
        }
        gmm_addr piece_end = r->end < end ? r->end : end;
        err = mprotect_fixup(s, r, addr, piece_end, newflags);
        if (err)
            break;
        addr = piece_end;
    }
out:
    space_unlock(s);
    return err;
}
