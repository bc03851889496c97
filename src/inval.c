/*
 * inval.c - translation invalidation: the shootdown log that TLBs catch up
 * with, the host's invalidate callback, and the windows.
 *
 * Whoever changes what a guest page translates to (a zap, a copy on write,
 * a protection change, a move, a write-protect for writeback) logs the
 * range here, under the space lock.  The consumers of translations hear
 * of it three ways: the TLBs (access.c) read the log
 * lazily before their next use (tlb_catch_up), so no thread writes another
 * thread's TLB; the windows (window.c) are shot down synchronously, before
 * tlb_shootdown returns; the host is told through its invalidate callback.
 * This file calls nothing above it but those two: window_shootdown, which
 * itself only unmaps host pages (pagetable.c, host.c), and the callback.
 */
#include "internal.h"

void tlb_shootdown(gmm_space *s, gmm_addr start, gmm_addr end)
{
    /* Entries replaced in place (copy on write, guard markers) come here
     * first: the snapshots record them with the rest. */
    if (unlikely(s->pt.log))
        snap_log_note(s->pt.log, start >> PAGE_SHIFT, PAGE_ALIGN(end) >> PAGE_SHIFT);
    if (s->windows)
        window_shootdown(s, start, end);
    pthread_mutex_lock(&s->inval_lock);
    uint64_t seq = s->inval_seq + 1;
    s->inval[seq % INVAL_LOG] = (struct inval_range){start, end};
    __atomic_store_n(&s->inval_seq, seq, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->inval_lock);
}

void space_invalidate(gmm_space *s, gmm_addr start, gmm_addr end)
{
    tlb_shootdown(s, start, end);
    gmm_system *sys = s->sys;
    if (sys->host.invalidate)
        sys->host.invalidate(sys->host.user, s, start, end - start);
}

void space_invalidate_rights(gmm_space *s, gmm_addr start, gmm_addr end)
{
    /* Translations are made only of pages in the page table (a TLB entry
     * or a window mapping is filled from a present pte, under the space
     * lock), and whatever takes a pte away logs its range first.  So when
     * the page table holds nothing in the range, no TLB or window has
     * anything of it to drop, and the log is left alone: as Linux flushes
     * no TLB when change_protection() changed no pte.  The host is told
     * as always. */
    if (s->pt.present && !pt_range_empty(&s->pt, start >> PAGE_SHIFT, end >> PAGE_SHIFT))
        tlb_shootdown(s, start, end);
    gmm_system *sys = s->sys;
    if (sys->host.invalidate)
        sys->host.invalidate(sys->host.user, s, start, end - start);
}
