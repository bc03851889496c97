/*
 * copy_tlb.c - the user copies' TLBs: one per thread and space.
 *
 * gmm_read and gmm_write translate through a TLB of the calling thread
 * (kept next to its gmm_translate TLB, thread_tlb.c) instead of walking the
 * page table: direct-mapped, COPY_TLB_SIZE entries, enough for every page
 * of 64 MiB, the working set of a guest's system calls.  It is a TLB like
 * the others (struct tlb): only its thread writes it, entries are filled
 * under the space lock, and it applies the space's invalidation log before
 * each use.  What differs is its size, so flushing it whole is a new
 * generation in its tags rather than a pass over 256 KiB, and a hit may be
 * used without the lock for a read (gmm_read's validation, access.c).
 *
 * The block belongs to the thread, not to a system, so it comes from the
 * host directly (host_reserve): committed on demand, entries never filled
 * cost no memory.
 */
#include "internal.h"
#include "host.h"

/* Past this many pages an invalidated range flushes the whole TLB: a new
 * generation costs less than looking at each page. */
#define COPY_DROP_PAGES 64

struct copy_tlb *copy_tlb_new(void)
{
    /* Zeroed: tag 0 matches nothing. */
    struct copy_tlb *c = host_reserve(sizeof(*c));
    if (c)
        c->gen = 1;
    return c;
}

void copy_tlb_free(struct copy_tlb *c)
{
    if (c)
        host_release(c, sizeof(*c));
}

void copy_tlb_flush(struct copy_tlb *c)
{
    if (++c->gen > COPY_GEN_MAX) {
        /* Tags of the generation about to come back may still be there. */
        memset(c->e, 0, sizeof(c->e));
        c->gen = 1;
    }
}

static void copy_tlb_drop_range(struct copy_tlb *c, gmm_addr start, gmm_addr end)
{
    if (((end - start) >> PAGE_SHIFT) >= COPY_DROP_PAGES) {
        copy_tlb_flush(c);
        return;
    }
    for (gmm_addr a = start; a < end; a += PAGE_SIZE) {
        struct copy_tlb_entry *e = copy_tlb_entry(c, a);
        if ((e->tag & PAGE_MASK) == a)
            e->tag = 0;
    }
}

void copy_tlb_catch_up_slow(gmm_space *s, struct copy_tlb *c)
{
    pthread_mutex_lock(&s->inval_lock);
    uint64_t seq = s->inval_seq;
    if (seq - c->seen >= INVAL_LOG) {
        copy_tlb_flush(c);
    } else {
        for (uint64_t k = c->seen + 1; k <= seq; k++)
            copy_tlb_drop_range(c, s->inval[k % INVAL_LOG].start, s->inval[k % INVAL_LOG].end);
    }
    c->seen = seq;
    pthread_mutex_unlock(&s->inval_lock);
}
