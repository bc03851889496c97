/*
 * sys_mmap.c - mmap, mmap2, old_mmap and munmap, in the order Linux checks
 * their arguments (arch/x86/kernel/sys_x86_64.c, sys_ia32.c, mm/mmap.c
 * do_mmap and __get_unmapped_area, mm/vma.c __mmap_region).
 */
#include "internal.h"

/* ---- placement ---- */

static bool hint_free(gmm_space *s, gmm_addr addr, uint64_t len)
{
    struct region *r = region_find(s, addr);
    return !r || addr + len <= region_start_gap(r);
}

/* arch_get_unmapped_area(): bottom-up from the legacy base (or the MAP_32BIT
 * window). */
static int64_t unmapped_area_bottomup(gmm_space *s, gmm_addr addr, uint64_t len, int flags)
{
    gmm_addr begin = s->legacy_base, end = s->task_size;
    if (s->abi == GMM_ABI_X86_64 && (flags & GMM_MAP_32BIT)) {
        begin = 0x40000000;
        end = 0x80000000;
    }
    if (len > end)
        return -GMM_ENOMEM;
    if (addr) {
        addr = PAGE_ALIGN(addr);
        if (end - len >= addr && hint_free(s, addr, len))
            return (int64_t)addr;
    }
    gmm_addr low = begin > s->mmap_min_addr ? begin : s->mmap_min_addr;
    gmm_addr a = region_gap_bottomup(s, len, low, end);
    return a ? (int64_t)a : -GMM_ENOMEM;
}

/* arch_get_unmapped_area_topdown(). */
static int64_t unmapped_area_topdown(gmm_space *s, gmm_addr addr, uint64_t len, int flags)
{
    if (len > s->task_size)
        return -GMM_ENOMEM;
    if (flags & GMM_MAP_FIXED)
        return (int64_t)addr;
    if (s->abi == GMM_ABI_X86_64 && (flags & GMM_MAP_32BIT))
        return unmapped_area_bottomup(s, addr, len, flags);
    if (addr) {
        gmm_addr hint = addr & PAGE_MASK;
        /* mmap_address_hint_valid(): the whole range inside the task. */
        if (s->task_size - len >= hint && hint_free(s, hint, len))
            return (int64_t)hint;
    }
    gmm_addr low = PAGE_SIZE > s->mmap_min_addr ? PAGE_SIZE : s->mmap_min_addr;
    gmm_addr a = region_gap_topdown(s, len, low, s->mmap_base);
    if (a)
        return (int64_t)a;
    /* "A failed mmap() very likely causes application failure": Linux
     * falls back to a bottom-up search. */
    return unmapped_area_bottomup(s, addr, len, flags);
}

/* Private anonymous mappings whose length is a multiple of 2 MiB, with no
 * hint, are placed 2 MiB-aligned on x86-64 (THP alignment): Linux searches
 * for len + 2 MiB and takes the highest aligned start inside. */
static int64_t thp_unmapped_area(gmm_space *s, uint64_t len, int flags)
{
    if (len + PMD_SIZE >= len) {
        int64_t a = unmapped_area_topdown(s, 0, len + PMD_SIZE, flags);
        if (a >= 0) {
            gmm_addr off_sub = (0 - (gmm_addr)a) & (PMD_SIZE - 1);
            return off_sub ? a + (int64_t)off_sub : a + (int64_t)PMD_SIZE;
        }
    }
    return unmapped_area_topdown(s, 0, len, flags);
}

/* __get_unmapped_area(). */
static int64_t get_unmapped_area(gmm_space *s, gmm_addr addr, uint64_t len, int flags)
{
    int64_t a;
    if (len > s->task_size)
        return -GMM_ENOMEM;
    if (!(flags & GMM_MAP_SHARED) && s->abi == GMM_ABI_X86_64 && !addr &&
        !(flags & GMM_MAP_FIXED) && (len & (PMD_SIZE - 1)) == 0)
        a = thp_unmapped_area(s, len, flags);
    else
        a = unmapped_area_topdown(s, addr, len, flags);
    if (a < 0)
        return a;
    if ((gmm_addr)a > s->task_size - len)
        return -GMM_ENOMEM;
    if (OFFSET_IN_PAGE((gmm_addr)a))
        return -GMM_EINVAL;
    /* security_mmap_addr(): an unprivileged process may not map below
     * mmap_min_addr. */
    if ((gmm_addr)a < s->mmap_min_addr)
        return -GMM_EPERM;
    return a;
}

/* ---- limits ---- */

static bool may_expand_vm(gmm_space *s, uint32_t flags, uint64_t pages)
{
    if (s->total_vm + pages > s->rlim_as >> PAGE_SHIFT)
        return false;
    if (vma_is_data(flags) && s->data_vm + pages > s->rlim_data >> PAGE_SHIFT)
        return false;
    return true;
}

static uint64_t pages_mapped_in(gmm_space *s, gmm_addr start, gmm_addr end)
{
    uint64_t n = 0;
    for (struct region *r = region_find(s, start); r && r->start < end; r = r->next) {
        gmm_addr a = r->start > start ? r->start : start;
        gmm_addr b = r->end < end ? r->end : end;
        n += (b - a) >> PAGE_SHIFT;
    }
    return n;
}

/* ---- populate ---- */

static void populate(gmm_space *s, gmm_addr start, gmm_addr end)
{
    for (gmm_addr a = start; a < end; a += PAGE_SIZE) {
        struct region *r = region_find(s, a);
        if (!r || r->start > a || !(r->flags & VM_ACCESS_FLAGS))
            return;
        /* Writable private mappings are populated with write faults. */
        int access = (r->flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ? GMM_ACCESS_WRITE
                                                                      : GMM_ACCESS_READ;
        /* Errors are swallowed, as Linux's populate does. */
        if (!space_fault_in(s, a, access))
            return;
    }
}

/* ---- mmap ---- */

static uint32_t calc_vm_flag_bits(int flags)
{
    return (flags & GMM_MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
           (flags & GMM_MAP_LOCKED ? VM_LOCKED : 0) |
           (flags & GMM_MAP_STACK ? VM_NOHUGEPAGE : 0);
}

/* __mmap_region(): maps [addr, addr+len) with flags, replacing what was
 * there.  Nothing changes on failure. */
static int64_t mmap_region(gmm_space *s, gmm_addr addr, uint64_t len, uint32_t vm_flags,
                           uint64_t pgoff)
{
    gmm_addr end = addr + len;
    uint64_t pages = len >> PAGE_SHIFT;

    /* Unmapping the old range may split a region in two. */
    if (vma_unmap_splits(s, addr, end) && s->map_count >= s->max_map_count)
        return -GMM_ENOMEM;
    uint64_t old = pages_mapped_in(s, addr, end);
    if (!may_expand_vm(s, vm_flags, pages - old))
        return -GMM_ENOMEM;
    /* Private writable memory is charged (VM_ACCOUNT). */
    if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE)
        vm_flags |= VM_ACCOUNT;

    struct region *r = region_alloc();
    struct gmm_object *obj = NULL;
    if (r && (vm_flags & VM_SHARED))
        obj = object_new_shmem(s->sys);
    if (!r || ((vm_flags & VM_SHARED) && !obj)) {
        region_free(r);
        return -GMM_ENOMEM;
    }
    if (vma_unmap(s, addr, end)) {
        region_free(r);
        if (obj)
            object_put(s->sys, obj);
        return -GMM_ENOMEM;
    }
    r->start = addr;
    r->end = end;
    r->flags = vm_flags;
    r->pgoff = pgoff;
    r->obj = obj;
    region_insert(s, r);
    vma_account(s, vm_flags, (int64_t)pages);
    vma_merge_neighbours(s, r, true, true);
    return (int64_t)addr;
}

/* do_mmap() for anonymous memory and the file checks before it. */
static int64_t do_mmap(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd,
                       uint64_t pgoff)
{
    (void)fd;
    if (!(flags & GMM_MAP_ANONYMOUS)) {
        /* ksys_mmap_pgoff(): the fd is looked up before anything else.
         * File mappings come with the page cache; without it no fd maps. */
        return -GMM_EBADF;
    }
    if (flags & GMM_MAP_HUGETLB) {
        /* hugetlb_file_setup(): the sizes x86 knows, with no huge pages
         * reserved (Linux's default), fail with ENOMEM. */
        int log = (flags >> GMM_MAP_HUGE_SHIFT) & GMM_MAP_HUGE_MASK;
        return log == 0 || log == 21 || log == 30 ? -GMM_ENOMEM : -GMM_EINVAL;
    }

    if (!len)
        return -GMM_EINVAL;
    if (flags & GMM_MAP_FIXED_NOREPLACE)
        flags |= GMM_MAP_FIXED;
    if (!(flags & GMM_MAP_FIXED)) {
        /* round_hint_to_min() */
        addr &= PAGE_MASK;
        if (addr && addr < s->mmap_min_addr)
            addr = PAGE_ALIGN(s->mmap_min_addr);
    }
    len = PAGE_ALIGN(len);
    if (!len)
        return -GMM_ENOMEM;
    if (pgoff + (len >> PAGE_SHIFT) < pgoff)
        return -GMM_EOVERFLOW;
    if (s->map_count > s->max_map_count)
        return -GMM_ENOMEM;

    uint32_t vm_flags = space_prot_bits(s, prot) | calc_vm_flag_bits(flags) | VM_MAYREAD |
                        VM_MAYWRITE | VM_MAYEXEC;
    int64_t a = get_unmapped_area(s, addr, len, flags);
    if (a < 0)
        return a;
    addr = (gmm_addr)a;

    if (flags & GMM_MAP_FIXED_NOREPLACE) {
        struct region *r = region_find(s, addr);
        if (r && r->start < addr + len)
            return -GMM_EEXIST;
    }

    switch (flags & GMM_MAP_TYPE) {
    case GMM_MAP_SHARED:
        if (vm_flags & VM_GROWSDOWN)
            return -GMM_EINVAL;
        pgoff = 0;
        vm_flags |= VM_SHARED | VM_MAYSHARE;
        break;
    case GMM_MAP_DROPPABLE:
        /* A locked, stack or hugetlb area makes no sense to be droppable. */
        if (flags & (GMM_MAP_LOCKED | GMM_MAP_HUGETLB))
            return -GMM_EINVAL;
        if (vm_flags & VM_GROWSDOWN)
            return -GMM_EINVAL;
        vm_flags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
        pgoff = addr >> PAGE_SHIFT;
        break;
    case GMM_MAP_PRIVATE:
        pgoff = addr >> PAGE_SHIFT;
        break;
    default:
        return -GMM_EINVAL;
    }
    if (flags & GMM_MAP_NORESERVE)
        vm_flags |= VM_NORESERVE;

    a = mmap_region(s, addr, len, vm_flags, pgoff);
    if (a >= 0 && ((vm_flags & VM_LOCKED) ||
                   (flags & (GMM_MAP_POPULATE | GMM_MAP_NONBLOCK)) == GMM_MAP_POPULATE))
        populate(s, addr, addr + len);
    return a;
}

int64_t gmm_sys_mmap2(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd,
                      uint64_t pgoff)
{
    addr = space_arg(s, addr);
    len = space_arg(s, len);
    pgoff = space_arg(s, pgoff);
    space_lock(s);
    int64_t ret = do_mmap(s, addr, len, prot, flags, fd, pgoff);
    space_unlock(s);
    return ret;
}

int64_t gmm_sys_mmap(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd,
                     uint64_t off)
{
    off = space_arg(s, off);
    /* The byte offset must be page-aligned, checked before the fd. */
    if (OFFSET_IN_PAGE(off))
        return -GMM_EINVAL;
    return gmm_sys_mmap2(s, addr, len, prot, flags, fd, off >> PAGE_SHIFT);
}

int64_t gmm_sys_old_mmap(gmm_space *s, gmm_addr args)
{
    uint32_t a[6];
    if (gmm_read(s, space_arg(s, args), a, sizeof(a)))
        return -GMM_EFAULT;
    if (OFFSET_IN_PAGE(a[5]))
        return -GMM_EINVAL;
    return gmm_sys_mmap2(s, a[0], a[1], (int)a[2], (int)a[3], (int)a[4], a[5] >> PAGE_SHIFT);
}

/* ---- munmap ---- */

int64_t gmm_sys_munmap(gmm_space *s, gmm_addr addr, uint64_t len)
{
    addr = space_arg(s, addr);
    len = space_arg(s, len);
    if (OFFSET_IN_PAGE(addr) || addr > s->task_size || len > s->task_size - addr)
        return -GMM_EINVAL;
    gmm_addr end = addr + PAGE_ALIGN(len);
    if (end == addr)
        return -GMM_EINVAL;
    space_lock(s);
    int64_t ret = 0;
    if (vma_unmap_splits(s, addr, end) && s->map_count >= s->max_map_count)
        ret = -GMM_ENOMEM;
    else
        ret = vma_unmap(s, addr, end);
    space_unlock(s);
    return ret;
}
