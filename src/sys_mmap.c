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

/* __thp_get_unmapped_area(): on x86-64, a mapping that covers a whole
 * 2 MiB-aligned stretch of its object (offset off) is placed so that its
 * address and offset agree modulo 2 MiB: Linux searches for len + 2 MiB and
 * takes the highest suitable start inside.  A hint that fits len + 2 MiB is
 * kept.  0 when it does not apply or the padded search fails (the caller
 * then searches for len). */
static int64_t thp_unmapped_area(gmm_space *s, gmm_addr addr, uint64_t len, uint64_t off,
                                 int flags)
{
    uint64_t off_end = off + len, off_align = (off + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
    if (s->abi != GMM_ABI_X86_64 || off_end <= off_align || off_end - off_align < PMD_SIZE)
        return 0;
    uint64_t len_pad = len + PMD_SIZE;
    if (len_pad < len || off + len_pad < off)
        return 0;
    int64_t a = unmapped_area_topdown(s, addr, len_pad, flags);
    if (a < 0)
        return 0;
    if ((gmm_addr)a == addr)
        return a;
    gmm_addr off_sub = (off - (gmm_addr)a) & (PMD_SIZE - 1);
    return off_sub ? a + (int64_t)off_sub : a + (int64_t)PMD_SIZE;
}

/* The checks __get_unmapped_area() ends with, for a chosen address. */
static int64_t fixed_area_check(gmm_space *s, gmm_addr a, uint64_t len)
{
    if (a > s->task_size - len)
        return -GMM_ENOMEM;
    if (OFFSET_IN_PAGE(a))
        return -GMM_EINVAL;
    /* security_mmap_addr(): an unprivileged process may not map below
     * mmap_min_addr. */
    if (a < s->mmap_min_addr)
        return -GMM_EPERM;
    return (int64_t)a;
}

/* __get_unmapped_area(). */
static int64_t get_unmapped_area(gmm_space *s, gmm_addr addr, uint64_t len, uint64_t pgoff,
                                 int flags, bool file)
{
    int64_t a;
    if (len > s->task_size)
        return -GMM_ENOMEM;
    /* Linux fails a MAP_FIXED range beyond the task with ENOMEM (addr >
     * TASK_SIZE - len).  Checked here, before the address is carried in an
     * int64_t: one at or above 2^63 (mmap(-4096, ..., MAP_FIXED)) would
     * otherwise come back as a negative "errno". */
    if ((flags & GMM_MAP_FIXED) && addr > s->task_size - len)
        return -GMM_ENOMEM;
    if (flags & GMM_MAP_FIXED)
        return fixed_area_check(s, addr, len); /* any 64-bit value: checked, not searched */
    a = 0;
    if (file) {
        /* Regular files are placed as ext4 and xfs place them
         * (thp_get_unmapped_area), whatever the hint. */
        a = thp_unmapped_area(s, addr, len, pgoff << PAGE_SHIFT, flags);
    } else if (!(flags & GMM_MAP_SHARED) && !addr && (len & (PMD_SIZE - 1)) == 0) {
        /* Private anonymous memory with no hint and a 2 MiB-multiple
         * length ("larger anonymous mappings are THP aligned"); the
         * offset of anonymous memory counts as 0. */
        a = thp_unmapped_area(s, 0, len, 0, flags);
    }
    if (!a)
        a = unmapped_area_topdown(s, addr, len, flags);
    if (a < 0)
        return a;
    return fixed_area_check(s, (gmm_addr)a, len);
}

int64_t space_unmapped_area(gmm_space *s, gmm_addr addr, uint64_t len, uint64_t pgoff, int flags,
                            bool file)
{
    return get_unmapped_area(s, addr, len, pgoff, flags, file);
}

/* ---- limits ---- */

static bool may_expand_vm(gmm_space *s, uint32_t flags, uint64_t pages)
{
    if (s->total_vm + pages > s->rlim_as >> PAGE_SHIFT)
        return false;
    if (vma_is_data(flags) && s->data_vm + pages > s->rlim_data >> PAGE_SHIFT) {
        /* Linux's "Workaround for Valgrind": with a soft RLIMIT_DATA of 0
         * the hard limit applies (checked natively on 6.18). */
        if (s->rlim_data == 0 && s->data_vm + pages <= s->rlim_max_data >> PAGE_SHIFT)
            return true;
        return false;
    }
    return true;
}

/* do_mmap()'s MAP_LOCKED checks, after MAP_FIXED_NOREPLACE and before the
 * type checks: can_do_mlock() (a zero soft RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK: EPERM) and mlock_future_ok() (locked_vm plus the whole new
 * length, even the part replacing locked pages, within the limit, else
 * EAGAIN).  The space is an unprivileged process (checked natively on 6.18
 * as uid 65534 with the default 8 MiB limit). */
static int mlock_future_check(gmm_space *s, int flags, uint64_t len)
{
    if ((flags & GMM_MAP_LOCKED) && !mlock_allowed(s))
        return -GMM_EPERM;
    /* Locked by MAP_LOCKED or by mlockall(MCL_FUTURE) (mm->def_flags). */
    uint32_t vm_flags = (flags & GMM_MAP_LOCKED ? VM_LOCKED : 0) | s->def_flags;
    return mlock_future_ok(s, vm_flags, len) ? 0 : -GMM_EAGAIN;
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

/* ---- mmap ---- */

static uint32_t calc_vm_flag_bits(int flags)
{
    return (flags & GMM_MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
           (flags & GMM_MAP_LOCKED ? VM_LOCKED : 0) |
           /* calc_vm_flag_bits() sets VM_SYNC for MAP_SYNC on any mapping,
            * anonymous included (smaps "sf"), so such a region does not
            * merge with a plain one (checked natively on 6.18). */
           (flags & GMM_MAP_SYNC ? VM_SYNC : 0) |
           (flags & GMM_MAP_STACK ? VM_NOHUGEPAGE : 0);
}

/* __mmap_region(): maps [addr, addr+len) with flags, replacing what was
 * there.  file is the handle of a file mapping (the caller's reference
 * passes to the region) or NULL.  Nothing changes on failure. */
static int64_t mmap_region(gmm_space *s, gmm_addr addr, uint64_t len, uint32_t vm_flags,
                           uint64_t pgoff, const gmm_file *f, struct gmm_fileref *file)
{
    gmm_addr end = addr + len;
    uint64_t pages = len >> PAGE_SHIFT;

    /* What is there now (MAP_FIXED): unmapping it may split a region in
     * two.  A free range (every search result) skips all of that. */
    struct region *there = region_find(s, addr);
    bool occupied = there && there->start < end;
    if (occupied && vma_unmap_splits(s, addr, end) && s->map_count >= s->max_map_count)
        return -GMM_ENOMEM;
    uint64_t old = occupied ? pages_mapped_in(s, addr, end) : 0;
    if (!may_expand_vm(s, vm_flags, pages - old))
        return -GMM_ENOMEM;
    /* Private writable memory is charged (VM_ACCOUNT). */
    if ((vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE)
        vm_flags |= VM_ACCOUNT;

    struct region *r = region_alloc(s);
    struct gmm_object *obj = NULL;
    if (r && file)
        obj = object_get_file(s->sys, f, file);
    else if (r && (vm_flags & VM_SHARED))
        obj = object_new_shmem(s->sys, len);
    if (!r || ((file || (vm_flags & VM_SHARED)) && !obj)) {
        region_free(r);
        if (obj && obj->kind == OBJ_SHMEM)
            gmm_free(obj);
        return -GMM_ENOMEM;
    }
    r->start = addr;
    r->end = end;
    r->flags = vm_flags;
    r->pgoff = pgoff;
    r->file = file;
    r->obj = obj;
    /* Attach before unmapping what is there: a MAP_FIXED over the last
     * mapping of the same file must not free its page cache. */
    if (obj)
        object_attach(s->sys, obj, r);
    if (occupied && vma_unmap(s, addr, end)) {
        if (obj)
            object_detach(s->sys, obj, r);
        region_free(r);
        return -GMM_ENOMEM;
    }
    region_insert(s, r);
    vma_account(s, vm_flags, (int64_t)pages);
    vma_merge_neighbours(s, r, true, true);
    return (int64_t)addr;
}

/* Flags a MAP_SHARED file mapping keeps (Linux's LEGACY_MAP_MASK);
 * MAP_SHARED_VALIDATE refuses the others. */
#define LEGACY_MAP_MASK                                                                \
    (GMM_MAP_SHARED | GMM_MAP_PRIVATE | GMM_MAP_FIXED | GMM_MAP_ANONYMOUS |            \
     GMM_MAP_DENYWRITE | GMM_MAP_EXECUTABLE | GMM_MAP_UNINITIALIZED | GMM_MAP_GROWSDOWN | \
     GMM_MAP_LOCKED | GMM_MAP_NORESERVE | GMM_MAP_POPULATE | GMM_MAP_NONBLOCK |          \
     GMM_MAP_STACK | GMM_MAP_HUGETLB | LEGACY_MAP_MASK_X86)
/* Linux's mask also holds MAP_32BIT, MAP_ABOVE4G (0x80) and the MAP_HUGE_*
 * size bits: MAP_SHARED_VALIDATE accepts them on a regular file (checked
 * natively on 6.18; MAP_FIXED_NOREPLACE and MAP_SYNC give EOPNOTSUPP). */
#define LEGACY_MAP_MASK_X86                                                            \
    (GMM_MAP_32BIT | 0x80 | (int)((unsigned)GMM_MAP_HUGE_MASK << GMM_MAP_HUGE_SHIFT))

/* The largest file offset a regular file can have (MAX_LFS_FILESIZE). */
#define MAX_FILE_SIZE ((uint64_t)INT64_MAX)

/* do_mmap().  f/file: the resolved file of a file mapping, or NULL;
 * file_err: an error get_file gave for it (ENODEV, EACCES), returned where
 * Linux finds it. */
static int64_t do_mmap(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags,
                       uint64_t pgoff, const gmm_file *f, struct gmm_fileref *file, int file_err)
{
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

    uint32_t vm_flags = space_prot_bits(s, prot) | calc_vm_flag_bits(flags) | s->def_flags |
                        VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    bool is_file = file || file_err;
    int64_t a = get_unmapped_area(s, addr, len, pgoff, flags, is_file);
    if (a < 0)
        return a;
    addr = (gmm_addr)a;

    if (flags & GMM_MAP_FIXED_NOREPLACE) {
        struct region *r = region_find(s, addr);
        if (r && r->start < addr + len)
            return -GMM_EEXIST;
    }
    int err = mlock_future_check(s, flags, len);
    if (err)
        return err;

    if (is_file) {
        /* file_mmap_ok(): the range must fit in a file's offsets. */
        if (len > MAX_FILE_SIZE || pgoff > (MAX_FILE_SIZE - len) >> PAGE_SHIFT)
            return -GMM_EOVERFLOW;
        switch (flags & GMM_MAP_TYPE) {
        case GMM_MAP_SHARED:
            /* Unknown flags are dropped for MAP_SHARED ... */
            flags &= LEGACY_MAP_MASK;
            /* fallthrough */
        case GMM_MAP_SHARED_VALIDATE:
            /* ... and refused for MAP_SHARED_VALIDATE (MAP_SYNC included:
             * no file here is DAX). */
            if (flags & ~LEGACY_MAP_MASK)
                return -GMM_EOPNOTSUPP;
            if ((prot & GMM_PROT_WRITE) && !(file && file->writable))
                return -GMM_EACCES;
            vm_flags |= VM_SHARED | VM_MAYSHARE;
            if (!(file && file->writable))
                vm_flags &= ~(uint32_t)(VM_MAYWRITE | VM_SHARED);
            /* fallthrough */
        case GMM_MAP_PRIVATE:
            if (file_err == -GMM_EACCES || (file && !file->readable))
                return -GMM_EACCES;
            if (file_err)
                return file_err;
            if (vm_flags & VM_GROWSDOWN)
                return -GMM_EINVAL;
            /* VM_SYNC (from MAP_SYNC, whatever the type) on a file that is
             * not DAX: refused once the file checks passed (checked
             * natively on 6.18: private, shared and shared-validate). */
            if (vm_flags & VM_SYNC)
                return -GMM_EOPNOTSUPP;
            break;
        default:
            return -GMM_EINVAL;
        }
    } else {
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
    }
    if (flags & GMM_MAP_NORESERVE)
        vm_flags |= VM_NORESERVE;

    a = mmap_region(s, addr, len, vm_flags, pgoff, f, file);
    /* __mmap_complete(): droppable memory is never locked, mlockall
     * (MCL_FUTURE) or not; the merge was tried with VM_LOCKED (so none was
     * made), and it is populated as if locked (checked natively on 6.18). */
    if (a >= 0 && (vm_flags & VM_DROPPABLE) && (vm_flags & VM_LOCKED_MASK)) {
        struct region *r = region_find(s, addr);
        vma_account(s, r->flags, -(int64_t)(len >> PAGE_SHIFT));
        region_changed(s, r);
        r->flags &= ~(uint32_t)VM_LOCKED_MASK;
        vma_account(s, r->flags, (int64_t)(len >> PAGE_SHIFT));
        r->linux_unmerged = true;
    }
    if (a >= 0 && ((vm_flags & VM_LOCKED) ||
                   (flags & (GMM_MAP_POPULATE | GMM_MAP_NONBLOCK)) == GMM_MAP_POPULATE))
        space_populate(s, addr, addr + len, true); /* errors are swallowed */
    return a;
}

/* MAP_HUGETLB|MAP_ANONYMOUS.  ksys_mmap_pgoff() backs it with a hugetlbfs
 * file of the size asked (2 MiB by default; an unknown size is EINVAL) and
 * rounds the length up to whole huge pages; do_mmap() then checks it as a
 * file mapping.  With no huge pages reserved (Linux's default) the
 * reservation in hugetlbfs_file_mmap() fails: every call that gets that far
 * is ENOMEM.  Only the errors are modelled: MAP_NORESERVE, which skips the
 * reservation on Linux (the pages then SIGBUS on touch), is ENOMEM here too.
 * Checked natively on 6.18 (len 0, type, alignment, NOREPLACE, offset). */
static int64_t hugetlb_mmap(gmm_space *s, gmm_addr addr, uint64_t len, int flags, uint64_t pgoff)
{
    int log = (flags >> GMM_MAP_HUGE_SHIFT) & GMM_MAP_HUGE_MASK;
    if (log != 0 && log != 21 && log != 30)
        return -GMM_EINVAL;
    uint64_t hmask = ((uint64_t)1 << (log ? log : 21)) - 1;
    len = (len + hmask) & ~hmask; /* may wrap to 0 */
    if (!len)
        return -GMM_EINVAL;
    if (flags & GMM_MAP_FIXED_NOREPLACE)
        flags |= GMM_MAP_FIXED;
    if (!(flags & GMM_MAP_FIXED)) {
        addr &= PAGE_MASK;
        if (addr && addr < s->mmap_min_addr)
            addr = PAGE_ALIGN(s->mmap_min_addr);
    }
    if (pgoff + (len >> PAGE_SHIFT) < pgoff)
        return -GMM_EOVERFLOW;
    if (s->map_count > s->max_map_count)
        return -GMM_ENOMEM;
    /* hugetlb_get_unmapped_area(): a fixed address must be huge-aligned. */
    if ((flags & GMM_MAP_FIXED) && len <= s->task_size && (addr & hmask))
        return -GMM_EINVAL;
    int64_t a = get_unmapped_area(s, addr, len, 0, flags, true);
    if (a < 0)
        return a;
    if (flags & GMM_MAP_FIXED_NOREPLACE) {
        struct region *r = region_find(s, (gmm_addr)a);
        if (r && r->start < (gmm_addr)a + len)
            return -GMM_EEXIST;
    }
    int err = mlock_future_check(s, flags, len);
    if (err)
        return err;
    switch (flags & GMM_MAP_TYPE) {
    case GMM_MAP_SHARED:
        flags &= LEGACY_MAP_MASK;
        /* fallthrough */
    case GMM_MAP_SHARED_VALIDATE:
        if (flags & ~LEGACY_MAP_MASK)
            return -GMM_EOPNOTSUPP;
        /* fallthrough */
    case GMM_MAP_PRIVATE:
        if (flags & GMM_MAP_GROWSDOWN)
            return -GMM_EINVAL;
        break;
    default:
        return -GMM_EINVAL;
    }
    /* hugetlbfs_file_mmap(): the offset must be huge-aligned too. */
    if (pgoff & (hmask >> PAGE_SHIFT))
        return -GMM_EINVAL;
    return -GMM_ENOMEM;
}

/* ksys_mmap_pgoff(): the fd is looked up before anything else. */
static int64_t mmap_pgoff(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd,
                          uint64_t pgoff)
{
    gmm_system *sys = s->sys;
    gmm_file f;
    struct gmm_fileref *file = NULL;
    int file_err = 0;
    if (!(flags & GMM_MAP_ANONYMOUS)) {
        memset(&f, 0, sizeof(f));
        int err = sys->host.get_file ? sys->host.get_file(sys->host.user, fd, &f) : -GMM_EBADF;
        if (err == -GMM_ENODEV || err == -GMM_EACCES)
            file_err = err; /* found later, in Linux's order */
        else if (err)
            return err < 0 ? err : -GMM_EBADF;
        else if (!(file = fileref_get(sys, &f)))
            return -GMM_ENOMEM;
        /* A file is not on hugetlbfs. */
        if (flags & GMM_MAP_HUGETLB) {
            if (file)
                fileref_put(sys, file);
            return -GMM_EINVAL;
        }
    } else if (flags & GMM_MAP_HUGETLB) {
        return hugetlb_mmap(s, addr, len, flags, pgoff);
    }
    int64_t ret = do_mmap(s, addr, len, prot, flags, pgoff, file ? &f : NULL, file, file_err);
    /* On success the region holds the reference. */
    if (ret < 0 && file)
        fileref_put(sys, file);
    return ret;
}

int64_t gmm_sys_mmap2(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd,
                      uint64_t pgoff)
{
    addr = space_arg(s, addr);
    len = space_arg(s, len);
    pgoff = space_arg(s, pgoff);
    space_lock(s);
    int64_t ret = mmap_pgoff(s, addr, len, prot, flags, fd, pgoff);
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

int64_t space_munmap(gmm_space *s, gmm_addr addr, uint64_t len)
{
    /* do_vmi_munmap() */
    if (OFFSET_IN_PAGE(addr) || addr > s->task_size || len > s->task_size - addr)
        return -GMM_EINVAL;
    gmm_addr end = addr + PAGE_ALIGN(len);
    if (end == addr)
        return -GMM_EINVAL;
    /* Punching a hole needs one more region. */
    if (vma_unmap_splits(s, addr, end) && s->map_count >= s->max_map_count)
        return -GMM_ENOMEM;
    return vma_unmap(s, addr, end);
}

int64_t gmm_sys_munmap(gmm_space *s, gmm_addr addr, uint64_t len)
{
    addr = space_arg(s, addr);
    len = space_arg(s, len);
    space_lock(s);
    int64_t ret = space_munmap(s, addr, len);
    space_unlock(s);
    return ret;
}
