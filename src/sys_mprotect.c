/*
 * sys_mprotect.c - mprotect(2), as mm/mprotect.c does it: the checks in
 * order, then region by region; a hole or a refused region stops the walk
 * with the regions before it already changed, as on Linux.
 */
#include "internal.h"

static int mprotect_fixup(gmm_space *s, struct region *r, gmm_addr start, gmm_addr end,
                          uint32_t newflags)
{
    uint32_t oldflags = r->flags;
    if (newflags == oldflags)
        return 0;
    uint64_t pages = (end - start) >> PAGE_SHIFT;
    if (newflags & VM_WRITE) {
        /* Check space limits when the area turns into data.  Linux asks
         * !may_expand_vm(new) && may_expand_vm(old): so the soft-0
         * RLIMIT_DATA workaround applies, and nothing is refused when
         * RLIMIT_AS already fails both (verified natively). */
        if (!vma_may_expand(s, newflags, pages) && vma_may_expand(s, oldflags, pages))
            return -GMM_ENOMEM;
        if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE)))
            newflags |= VM_ACCOUNT;
    } else if ((oldflags & VM_ACCOUNT) && !r->obj && !r->anon) {
        /* Never-faulted anonymous memory gives its charge back. */
        newflags &= ~(uint32_t)VM_ACCOUNT;
    }
    /* What vma_modify reads of want: flags, policy, name. */
    struct region want;
    want.flags = newflags;
    want.pol = r->pol;
    want.name = r->name;
    int err = vma_modify(s, r, start, end, &want);
    if (err)
        return err;
    vma_account(s, oldflags, -(int64_t)pages);
    vma_account(s, newflags, (int64_t)pages);
    space_invalidate_rights(s, start, end);
    /* A private locked region becoming writable is populated with write
     * faults (copy on write now rather than on access), unless it locks
     * on fault. */
    if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) == VM_LOCKED && (newflags & VM_WRITE))
        space_populate(s, start, end, true);
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
    /* Linux allocates per region and can fail after changing the ones
     * before; the library allocates the (at most two) splits first, so
     * that out of memory changes nothing.  Within one region vma_modify
     * does that itself. */
    if (r->end < end) {
        err = vma_reserve_splits(s, start, end);
        if (err)
            goto out;
    }
    gmm_addr addr = start;
    while (addr < end) {
        /* r: the region at start, found above. */
        if (addr > start)
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
