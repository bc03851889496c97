/*
 * access.c - guest memory access: the page fault path (demand zero, shared
 * object pages, copy on write), the software TLB, gmm_translate, gmm_read
 * and gmm_write.
 *
 * Each TLB is direct-mapped by page number.  An entry keeps one tag per kind
 * of access and host-minus-guest, so a hit is a compare and an add.  A write
 * tag is only set when a store needs no further work (shared mapping, or a
 * private frame with no other user), so read-only and copy-on-write pages
 * take the slow path on their first store.  Failed translations are never
 * cached.
 *
 * User copies translate through the calling thread's copy TLB
 * (copy_tlb.c); gmm_read's hits take no lock (read_locked explains why
 * that is exact).
 */
#include "internal.h"

GMM_NO_COVERAGE void tlb_init(struct tlb *t)
{
    for (unsigned i = 0; i < TLB_SIZE; i++) {
        t->e[i].tag_r = t->e[i].tag_w = t->e[i].tag_x = TLB_INVALID;
        t->e[i].addend = 0;
    }
}

static void tlb_drop_range(struct tlb *t, gmm_addr start, gmm_addr end)
{
    if (((end - start) >> PAGE_SHIFT) >= TLB_SIZE) {
        tlb_init(t);
        return;
    }
    for (gmm_addr a = start; a < end; a += PAGE_SIZE) {
        struct tlb_entry *e = &t->e[(a >> PAGE_SHIFT) & (TLB_SIZE - 1)];
        if (e->tag_r == a || e->tag_w == a || e->tag_x == a)
            e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    }
}

/* Applies the invalidations t has not seen yet.  Only t's owner calls it. */
static void tlb_catch_up_slow(gmm_space *s, struct tlb *t)
{
    pthread_mutex_lock(&s->inval_lock);
    uint64_t seq = s->inval_seq;
    if (seq - t->seen >= INVAL_LOG) {
        tlb_init(t);
    } else {
        for (uint64_t k = t->seen + 1; k <= seq; k++)
            tlb_drop_range(t, s->inval[k % INVAL_LOG].start, s->inval[k % INVAL_LOG].end);
    }
    t->seen = seq;
    pthread_mutex_unlock(&s->inval_lock);
}

static inline void tlb_catch_up(gmm_space *s, struct tlb *t)
{
    if (unlikely(__atomic_load_n(&s->inval_seq, __ATOMIC_ACQUIRE) != t->seen))
        tlb_catch_up_slow(s, t);
}

/* Linux anon_vma_compatible(): a and b adjacent, same backing, flags equal
 * but for the access bits, contiguous offsets. */
static bool anon_neighbour(const struct region *a, const struct region *b)
{
    return a->end == b->start && a->obj == b->obj &&
           ((a->flags ^ b->flags) & ~(uint32_t)(VM_ACCESS_FLAGS | VM_STICKY)) == 0 &&
           a->pol.mode == b->pol.mode && a->pol.flags == b->pol.flags &&
           a->pol.nodes == b->pol.nodes &&
           b->pgoff == a->pgoff + ((a->end - a->start) >> PAGE_SHIFT);
}

/* Linux anon_vma_prepare(): the first write fault of a private region gives
 * it an anon identity, reusing a compatible neighbour's (next first). */
void anon_prepare(gmm_space *s, struct region *r)
{
    if (r->anon)
        return;
    region_changed(s, r);
    /* reusable_anon_vma(): only a neighbour's anon_vma with a singular
     * chain, never one inherited from a fork parent. */
    if (r->next && r->next->anon && !r->next->anon_forked && anon_neighbour(r, r->next))
        r->anon = r->next->anon;
    else if (r->prev && r->prev->anon && !r->prev->anon_forked && anon_neighbour(r->prev, r))
        r->anon = r->prev->anon;
    else
        r->anon = __atomic_add_fetch(&s->sys->next_anon, 1, __ATOMIC_RELAXED);
}

static bool access_ok(uint32_t flags, int access)
{
    if ((access & GMM_ACCESS_READ) && !vm_readable(flags))
        return false;
    if ((access & GMM_ACCESS_WRITE) && !(flags & VM_WRITE))
        return false;
    if ((access & GMM_ACCESS_EXEC) && !(flags & VM_EXEC))
        return false;
    return true;
}

/* Linux expand_downwards(): a fault below a grows-down region extends it
 * down to the faulting page, unless that comes within stack_guard_gap of an
 * accessible region below, the region would exceed RLIMIT_STACK, or the
 * address space limits refuse.  0 or -1. */
static int expand_stack(gmm_space *s, struct region *r, gmm_addr page)
{
    if (!(r->flags & VM_GROWSDOWN) || page < s->mmap_min_addr)
        return -1;
    struct region *prev = r->prev;
    if (prev && !(prev->flags & VM_GROWSDOWN) && (prev->flags & VM_ACCESS_FLAGS) &&
        page - prev->end < STACK_GUARD_GAP)
        return -1;
    uint64_t grow = (r->start - page) >> PAGE_SHIFT;
    if (grow > r->pgoff || r->end - page > s->rlim_stack)
        return -1;
    /* acct_stack_growth(): the address-space limit, and a locked stack
     * (mlockall(MCL_FUTURE)) stays within RLIMIT_MEMLOCK. */
    if (!vma_may_expand(s, r->flags, grow) || !mlock_future_ok(s, r->flags, grow << PAGE_SHIFT))
        return -1;
    anon_prepare(s, r);
    vma_account(s, r->flags, (int64_t)grow);
    r->start = page;
    r->pgoff -= grow;
    region_bounds_changed(s, r);
    return 0;
}

enum fault_result space_fault_page(gmm_space *s, gmm_addr addr, int access, struct region **rp)
{
    gmm_addr page = addr & PAGE_MASK;
    struct region *r = region_find(s, page);
    if (!r || (r->start > page && expand_stack(s, r, page)))
        return FAULT_MAPERR;
    /* Data access to execute-only memory is refused by its protection
     * key before anything else is looked at. */
    if ((r->flags & VM_PKEY_EXEC) && (access & (GMM_ACCESS_READ | GMM_ACCESS_WRITE)))
        return FAULT_PKUERR;
    if (!access_ok(r->flags, access))
        return FAULT_ACCERR;

    gmm_system *sys = s->sys;
    uint64_t pn = page >> PAGE_SHIFT;
    bool shared = (r->flags & VM_SHARED) != 0;
    bool want_write = (access & GMM_ACCESS_WRITE) != 0;
    /* Looked at first without writing: a present page that needs no copy
     * leaves its leaf shared with a fork relative, if it is. */
    pte_t pte = pt_get(&s->pt, pn);
    if (!pte || (want_write && !shared && !(pte & PTE_GUARD))) {
        /* The slot to write, in a leaf of this table's own: from here on
         * frame_refcount counts every user of the frame. */
        pte_t *slot = pt_slot(&s->pt, pn, true);
        if (!slot)
            return FAULT_OOM;
        pte = *slot;
    }
    /* A guard marker: the access faults as if nothing were mapped. */
    if (pte & PTE_GUARD)
        return FAULT_MAPERR;

    uint64_t idx = r->pgoff + ((page - r->start) >> PAGE_SHIFT);
    if (!pte) {
        frame_t f = FRAME_ZERO;
        int err = 0;
        if (r->obj && (shared || !want_write)) {
            /* The object's own page: shared memory, or a read of a
             * private file mapping (copied on its first write). */
            err = object_page(sys, r->obj, r->file, idx, &f);
        } else if (r->obj) {
            /* First touch of a private file page is a store: copy it.
             * Linux's do_cow_fault() prepares the anon identity before it
             * reads the page, so even a store that SIGBUSes sets it. */
            anon_prepare(s, r);
            frame_t src;
            err = object_page(sys, r->obj, r->file, idx, &src);
            if (!err) {
                f = frame_alloc_uninit(sys, false);
                if (f == FRAME_NONE)
                    err = -GMM_ENOMEM;
                else
                    memcpy(frame_ptr(sys, f), frame_ptr(sys, src), PAGE_SIZE);
                frame_unref(sys, src);
            }
        } else if (want_write) {
            f = frame_alloc(sys);
            if (f == FRAME_NONE)
                err = -GMM_ENOMEM;
            else
                anon_prepare(s, r);
        }
        if (err) {
            pt_trim(&s->pt, pn);
            return err == -GMM_EFAULT ? FAULT_SIGBUS : FAULT_OOM;
        }
        if (f != FRAME_ZERO)
            s->rss++;
        pte = pte_make(f);
        pt_set(&s->pt, pn, pte);
    } else if (want_write && !shared) {
        frame_t old = pte_frame(pte);
        /* Copy on write when the frame has other users: a fork relative,
         * the page cache, or it is the zero frame. */
        if (old == FRAME_ZERO || frame_refcount(sys, old) > 1) {
            frame_t f = frame_alloc_uninit(sys, old == FRAME_ZERO);
            if (f == FRAME_NONE)
                return FAULT_OOM;
            if (old != FRAME_ZERO)
                memcpy(frame_ptr(sys, f), frame_ptr(sys, old), PAGE_SIZE);
            else
                s->rss++;
            anon_prepare(s, r);
            space_invalidate(s, page, page + PAGE_SIZE);
            pte = pte_make(f);
            pt_set(&s->pt, pn, pte);
            frame_unref(sys, old);
        }
    }
    /* Stores to a shared file or shared memory page make it dirty; until
     * then it is mapped without write permission, so the first store comes
     * here.  (A clean shared memory page is one MADV_PAGEOUT may drop.) */
    if (shared && r->obj && want_write)
        object_mark_dirty(r->obj, idx);
    *rp = r;
    return FAULT_OK;
}

int space_grant(gmm_space *s, const struct region *r, gmm_addr page, pte_t pte)
{
    int grant = 0;
    if (vm_readable(r->flags))
        grant |= GMM_ACCESS_READ;
    if (r->flags & VM_WRITE) {
        frame_t f = pte_frame(pte);
        bool writable;
        /* A frame in a leaf shared with a fork relative has the
         * relative as a user too. */
        if (!(r->flags & VM_SHARED))
            writable = f != FRAME_ZERO && frame_refcount(s->sys, f) == 1 &&
                       !pt_sharers(&s->pt, page >> PAGE_SHIFT);
        else if (r->obj)
            writable = object_page_dirty(r->obj, r->pgoff + ((page - r->start) >> PAGE_SHIFT));
        else
            writable = true;
        if (writable)
            grant |= GMM_ACCESS_WRITE;
    }
    if (r->flags & VM_EXEC)
        grant |= GMM_ACCESS_EXEC;
    return grant;
}

/* Makes the page at addr present for access and fills its TLB entry.
 * Caller holds the space lock. */
static enum fault_result handle_fault(gmm_space *s, struct tlb *t, gmm_addr addr, int access,
                                      struct tlb_entry **out)
{
    struct region *r;
    enum fault_result res = space_fault_page(s, addr, access, &r);
    if (res != FAULT_OK)
        return res;
    gmm_addr page = addr & PAGE_MASK;
    uint64_t pn = page >> PAGE_SHIFT;
    pte_t pte = pt_get(&s->pt, pn);
    int grant = space_grant(s, r, page, pte);
    struct tlb_entry *e = &t->e[pn & (TLB_SIZE - 1)];
    e->tag_r = grant & GMM_ACCESS_READ ? page : TLB_INVALID;
    e->tag_w = grant & GMM_ACCESS_WRITE ? page : TLB_INVALID;
    e->tag_x = grant & GMM_ACCESS_EXEC ? page : TLB_INVALID;
    e->addend = (intptr_t)frame_ptr(s->sys, pte_frame(pte)) - (intptr_t)page;
    *out = e;
    return FAULT_OK;
}

bool space_fault_in(gmm_space *s, gmm_addr addr, int access)
{
    struct tlb_entry *e;
    return handle_fault(s, &s->copy_tlb, addr, access, &e) == FAULT_OK;
}

int space_fault(gmm_space *s, gmm_addr addr, int access)
{
    struct tlb_entry *e;
    enum fault_result res = handle_fault(s, &s->copy_tlb, addr, access, &e);
    return res == FAULT_OK ? 0 : res == FAULT_OOM ? -GMM_ENOMEM : -GMM_EFAULT;
}

static inline bool tlb_hit(const struct tlb_entry *e, gmm_addr page, int access)
{
    return (!(access & GMM_ACCESS_READ) || e->tag_r == page) &&
           (!(access & GMM_ACCESS_WRITE) || e->tag_w == page) &&
           (!(access & GMM_ACCESS_EXEC) || e->tag_x == page);
}

/* The slow path of gmm_translate; with allowed, also the accesses the
 * page's fresh TLB entry grants (gmm_translate_perms). */
/* Kept out of line so that a TLB hit in gmm_translate costs no frame
 * set-up. */
__attribute__((noinline, cold)) static void *translate_slow(gmm_space *s, struct tlb *t,
                                                           gmm_addr addr, int access,
                                                           int *allowed)
{
    struct tlb_entry *e = NULL;
    space_lock(s);
    enum fault_result res =
        addr < s->task_size ? handle_fault(s, t, addr, access, &e) : FAULT_MAPERR;
    void *p = res == FAULT_OK ? (void *)(intptr_t)((intptr_t)addr + e->addend) : NULL;
    if (allowed) {
        gmm_addr page = addr & PAGE_MASK;
        *allowed = !p ? 0
                      : (e->tag_r == page ? GMM_ACCESS_READ : 0) |
                            (e->tag_w == page ? GMM_ACCESS_WRITE : 0) |
                            (e->tag_x == page ? GMM_ACCESS_EXEC : 0);
    }
    space_unlock(s);
    if (p)
        return p;
    gmm_system *sys = s->sys;
    if (sys->host.fault) {
        gmm_fault f;
        fault_signal(res, addr, access, &f);
        sys->host.fault(sys->host.user, s, &f);
    }
    return NULL;
}

void fault_signal(enum fault_result res, gmm_addr addr, int access, gmm_fault *f)
{
    *f = (gmm_fault){addr, access, GMM_SIGSEGV, GMM_SEGV_MAPERR};
    if (res == FAULT_ACCERR)
        f->code = GMM_SEGV_ACCERR;
    else if (res == FAULT_PKUERR)
        f->code = GMM_SEGV_PKUERR;
    else if (res == FAULT_SIGBUS) {
        f->signo = GMM_SIGBUS;
        f->code = GMM_BUS_ADRERR;
    } else if (res == FAULT_OOM) {
        /* No frame (the memory cap) or no memory for the page table.
         * Linux would OOM-kill; a library reports it, distinctly from a
         * bad access, and lets the embedder decide. */
        f->signo = GMM_SIGBUS;
        f->code = GMM_BUS_OOM;
    }
}

static inline int access_mask(int access)
{
    access &= GMM_ACCESS_READ | GMM_ACCESS_WRITE | GMM_ACCESS_EXEC;
    return likely(access) ? access : GMM_ACCESS_READ;
}

static inline void *translate(gmm_space *s, struct tlb *t, gmm_addr addr, int access)
{
    access = access_mask(access);
    tlb_catch_up(s, t);
    gmm_addr page = addr & PAGE_MASK;
    struct tlb_entry *e = &t->e[(page >> PAGE_SHIFT) & (TLB_SIZE - 1)];
    if (likely(tlb_hit(e, page, access)))
        return (void *)(intptr_t)((intptr_t)addr + e->addend);
    return translate_slow(s, t, addr, access, NULL);
}

/* gmm_translate when the thread's last TLB is not s's, is behind, or
 * misses.  Without memory for a TLB of its own, the thread uses the user
 * copies' TLB, filled under the lock like theirs: slow, but right. */
__attribute__((noinline)) static void *translate_thread_miss(gmm_space *s, gmm_addr addr,
                                                             int access)
{
    struct tlb *t = thread_tlb(s);
    if (unlikely(!t))
        return translate_slow(s, &s->copy_tlb, addr, access, NULL);
    return translate(s, t, addr, access);
}

/* gmm_translate goes through the calling thread's TLB for s (thread_tlb.c).
 * The hit is written out here, every miss in one tail call, so that it
 * needs no stack frame. */
void *gmm_translate(gmm_space *s, gmm_addr addr, int access)
{
    access = access_mask(access);
    struct thread_tlb *tt = gmm_thread_tlb;
    if (likely(tt && tt->space_id == s->id &&
               __atomic_load_n(&s->inval_seq, __ATOMIC_ACQUIRE) == tt->tlb.seen)) {
        gmm_addr page = addr & PAGE_MASK;
        const struct tlb_entry *e = &tt->tlb.e[(page >> PAGE_SHIFT) & (TLB_SIZE - 1)];
        if (likely(tlb_hit(e, page, access)))
            return (void *)(intptr_t)((intptr_t)addr + e->addend);
    }
    return translate_thread_miss(s, addr, access);
}

void *gmm_translate_perms(gmm_space *s, gmm_addr addr, int access, int *allowed)
{
    int dummy;
    struct tlb *t = thread_tlb(s);
    if (likely(t))
        tlb_catch_up(s, t);
    else
        t = &s->copy_tlb;
    return translate_slow(s, t, addr, access_mask(access), allowed ? allowed : &dummy);
}

/* ---- CPUs: one per emulator thread that runs guest code ---- */

gmm_cpu *gmm_cpu_create(gmm_space *s)
{
    gmm_system *sys = s->sys;
    gmm_cpu *c = gmm_calloc(sys, 1, sizeof(*c));
    if (!c)
        return NULL;
    c->space = s;
    tlb_init(&c->tlb);
    c->tlb.seen = __atomic_load_n(&s->inval_seq, __ATOMIC_ACQUIRE);
    pthread_mutex_lock(&sys->lock);
    c->quiesced = __atomic_load_n(&sys->epoch, __ATOMIC_ACQUIRE);
    c->next = sys->cpus;
    if (sys->cpus)
        sys->cpus->prev = c;
    sys->cpus = c;
    pthread_mutex_unlock(&sys->lock);
    return c;
}

void gmm_cpu_destroy(gmm_cpu *c)
{
    if (!c)
        return;
    gmm_system *sys = c->space->sys;
    pthread_mutex_lock(&sys->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        sys->cpus = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&sys->lock);
    gmm_free(c);
}

gmm_space *gmm_cpu_space(const gmm_cpu *c)
{
    return c->space;
}

void *gmm_cpu_translate(gmm_cpu *c, gmm_addr addr, int access)
{
    return translate(c->space, &c->tlb, addr, access);
}

void gmm_cpu_offline(gmm_cpu *c)
{
    /* Holding no pointer until gmm_cpu_online: never in anyone's way. */
    __atomic_store_n(&c->quiesced, UINT64_MAX, __ATOMIC_SEQ_CST);
}

void gmm_cpu_online(gmm_cpu *c)
{
    gmm_system *sys = c->space->sys;
    __atomic_store_n(&c->quiesced, __atomic_load_n(&sys->epoch, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
    /* Pairs with limbo_reclaim's fence: either the reclaimer sees this CPU
     * back, or this CPU's next translation sees every shootdown logged
     * before the frames it may reuse were freed. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void gmm_cpu_quiesce(gmm_cpu *c)
{
    gmm_system *sys = c->space->sys;
    __atomic_store_n(&c->quiesced, __atomic_load_n(&sys->epoch, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELEASE);
}

/* Host pointer for [addr, end of page) for a user copy, or NULL (EFAULT),
 * through the thread's copy TLB c (NULL: out of memory for one; every page
 * is looked up then).  Caller holds the space lock. */
static uint8_t *user_page(gmm_space *s, struct copy_tlb *c, gmm_addr addr, int access)
{
    gmm_addr page = addr & PAGE_MASK;
    struct copy_tlb_entry *e = c ? copy_tlb_entry(c, page) : NULL;
    if (likely(e && copy_tlb_hit(c, e, page, access)))
        return (uint8_t *)(intptr_t)((intptr_t)addr + e->addend);
    struct region *r;
    if (addr >= s->task_size || space_fault_page(s, addr, access, &r) != FAULT_OK)
        return NULL;
    pte_t pte = pt_get(&s->pt, page >> PAGE_SHIFT);
    uint8_t *host = frame_ptr(s->sys, pte_frame(pte));
    if (e)
        copy_tlb_fill(c, e, page, space_grant(s, r, page, pte), host);
    return host + OFFSET_IN_PAGE(addr);
}

/* Tells the host that the library wrote [start, end) of space s: every
 * executable mapping of those bytes -- s's own, and for shared memory or a
 * file every mapping of the same pages in any space (a W^X double mapping,
 * a fork relative). */
static void code_written(gmm_space *s, gmm_addr start, gmm_addr end)
{
    gmm_system *sys = s->sys;
    if (start >= end || !sys->host.code_written)
        return;
    for (struct region *r = region_find(s, start); r && r->start < end; r = r->next) {
        gmm_addr a = r->start > start ? r->start : start;
        gmm_addr b = r->end < end ? r->end : end;
        if (r->obj && (r->flags & VM_SHARED)) {
            uint64_t base = (r->pgoff << PAGE_SHIFT) - r->start;
            object_code_written(sys, r->obj, a + base, b + base);
        } else if (r->flags & VM_EXEC) {
            sys->host.code_written(sys->host.user, s, a, b - a);
        }
    }
}

/* The user copy under the lock; *done: the bytes copied. */
static int user_copy(gmm_space *s, gmm_addr gaddr, uint8_t *host, size_t len, bool to_guest,
                     size_t *done)
{
    *done = 0;
    int access = to_guest ? GMM_ACCESS_WRITE : GMM_ACCESS_READ;
    if (len == 0)
        return 0;
    /* access_ok(): a range that wraps or leaves the user address space is
     * refused before anything is copied.  For an x86-64 space that limit is
     * its task size; an i386 space copies up to its top, where the pages
     * fault (user_page), as a compat task does. */
    if (!user_range_ok(gaddr, len))
        return -GMM_EFAULT;
    space_lock(s);
    struct copy_tlb *c = thread_copy_tlb(s);
    int ret = 0;
    gmm_addr start = gaddr;
    while (len) {
        size_t n = PAGE_SIZE - OFFSET_IN_PAGE(gaddr);
        if (n > len)
            n = len;
        uint8_t *p = user_page(s, c, gaddr, access);
        if (!p) {
            ret = -GMM_EFAULT;
            break;
        }
        if (to_guest)
            memcpy(p, host, n);
        else
            memcpy(host, p, n);
        gaddr += n;
        host += n;
        len -= n;
    }
    *done = gaddr - start;
    if (to_guest)
        code_written(s, start, gaddr);
    space_unlock(s);
    return ret;
}

/* Guest memory read without the lock: other threads may be storing to it
 * (as to any memory a guest shares between threads), or reusing a frame a
 * change has just freed, in which case the copy is thrown away.
 * ThreadSanitizer knows nothing of that validation: its builds copy with
 * the thread's accesses ignored (its dynamic annotations), so that it
 * reports neither. */
#if defined(__SANITIZE_THREAD__)
#define GMM_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GMM_TSAN_BUILD 1
#endif
#endif

#ifdef GMM_TSAN_BUILD
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#endif

static inline void racy_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
#ifdef GMM_TSAN_BUILD
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    memcpy(dst, src, n);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#else
    memcpy(dst, src, n);
#endif
}

/* The same for n <= READ_SMALL without a call: two loads that may
 * overlap, then two stores. */
#define READ_SMALL 16
static inline void racy_copy_small(uint8_t *dst, const uint8_t *src, size_t n)
{
#ifdef GMM_TSAN_BUILD
    racy_copy(dst, src, n);
#else
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n) {
        uint8_t a = src[0], b = src[n / 2], c = src[n - 1];
        dst[0] = a;
        dst[n / 2] = b;
        dst[n - 1] = c;
    }
#endif
}

/* gmm_read without the lock: every page of [src, src + len) hits the
 * thread's copy TLB, which is up to date with the invalidation log, and no
 * translation of the space changed while the bytes were copied (the log
 * did not move: a seqlock whose writers are the shootdowns).  A frame is
 * freed only after the shootdown of every translation to it, and frames
 * stay host memory for the life of the system, so a copy that passes held
 * translations valid from its first load to its last, and one that raced
 * a change is repeated under the lock.
 *
 * A miss, or a race with a change: the copy under the lock.  unvalidated:
 * the bytes of dst the unlocked attempt wrote.  Those it leaves past a
 * fault may be another page's: they become zero, as Linux's
 * copy_from_user leaves them. */
__attribute__((noinline)) static int read_locked(gmm_space *s, gmm_addr src, uint8_t *dst,
                                                 size_t len, size_t unvalidated)
{
    size_t done;
    int ret = user_copy(s, src, dst, len, false, &done);
    if (unlikely(ret) && unvalidated > done)
        memset(dst + done, 0, unvalidated - done);
    return ret;
}

/* A copy of more than READ_SMALL bytes, or one that spans pages: each
 * page must hit. */
__attribute__((noinline)) static int read_pages(gmm_space *s, struct copy_tlb *c, uint64_t seq,
                                                gmm_addr src, uint8_t *dst, size_t len)
{
    size_t copied = 0;
    if (unlikely(!user_range_ok(src, len)))
        return read_locked(s, src, dst, len, 0);
    while (copied < len) {
        gmm_addr a = src + copied;
        gmm_addr page = a & PAGE_MASK;
        const struct copy_tlb_entry *e = copy_tlb_entry(c, page);
        if (!copy_tlb_hit(c, e, page, GMM_ACCESS_READ))
            return read_locked(s, src, dst, len, copied);
        size_t n = PAGE_SIZE - OFFSET_IN_PAGE(a);
        if (n > len - copied)
            n = len - copied;
        racy_copy(dst + copied, (const uint8_t *)(intptr_t)((intptr_t)a + e->addend), n);
        copied += n;
    }
    /* The loads of the copy come before the second look at the log. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (likely(__atomic_load_n(&s->inval_seq, __ATOMIC_RELAXED) == seq))
        return 0;
    return read_locked(s, src, dst, len, len);
}

int gmm_read(gmm_space *s, gmm_addr src, void *dst, size_t len)
{
    const struct thread_tlb *tt = gmm_thread_tlb;
    if (unlikely(!tt || tt->space_id != s->id || !tt->copy))
        return read_locked(s, src, dst, len, 0);
    struct copy_tlb *c = tt->copy;
    uint64_t seq = __atomic_load_n(&s->inval_seq, __ATOMIC_ACQUIRE);
    if (unlikely(seq != c->seen))
        return read_locked(s, src, dst, len, 0);
    if (unlikely(len > READ_SMALL) || unlikely(len > PAGE_SIZE - OFFSET_IN_PAGE(src)))
        return read_pages(s, c, seq, src, dst, len);
    /* A few bytes within one page (the common case: a system call's
     * argument), with no call on the way.  A hit means the page lies
     * below the task size, so the range is a user one (access_ok) without
     * looking. */
    gmm_addr page = src & PAGE_MASK;
    const struct copy_tlb_entry *e = copy_tlb_entry(c, page);
    if (unlikely(!copy_tlb_hit(c, e, page, GMM_ACCESS_READ)))
        return read_locked(s, src, dst, len, 0);
    racy_copy_small(dst, (const uint8_t *)(intptr_t)((intptr_t)src + e->addend), len);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (likely(__atomic_load_n(&s->inval_seq, __ATOMIC_RELAXED) == seq))
        return 0;
    return read_locked(s, src, dst, len, len);
}

/* gmm_write keeps the lock: a store cannot be taken back, so it must never
 * land in a frame that a change is freeing, and the host learns of stores
 * to executable mappings (code_written) as they happen. */
int gmm_write(gmm_space *s, gmm_addr dst, const void *src, size_t len)
{
    size_t done;
    return user_copy(s, dst, (uint8_t *)(uintptr_t)src, len, true, &done);
}
