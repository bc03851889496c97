/*
 * status.c - the memory lines of /proc/PID/status and /proc/PID/smaps, as
 * fs/proc/task_mmu.c renders them (task_mem(), show_smap()).
 *
 * What the library models is counted exactly: sizes, resident pages (the
 * zero frame is not one: Linux's zero page is no "normal" page), anonymous,
 * shared-memory and file pages, proportional shares of frames mapped more
 * than once, locked pages, the peaks, VmFlags.  What it does not model
 * reads as an idle Linux would show it: no swap, no KSM sharing, no
 * transparent huge pages in use, every resident page referenced, private
 * anonymous pages dirty (shared memory pages are dirty once written, shared
 * file pages when written since their last writeback).  VmPTE counts the
 * page-table pages of an x86-64 4-level table covering the pages in use.
 */
#include "internal.h"

#include <stdio.h>

static void putf_kb(struct text *t, const char *label, uint64_t kb, int width)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%s%*llu kB\n", label, width, (unsigned long long)kb);
    text_put(t, line, (size_t)n);
}

/* ---- page statistics of a region ---- */

enum { RSS_ANON, RSS_FILE, RSS_SHMEM };

struct page_stats {
    gmm_space *s;
    const struct region *r;
    uint64_t resident, anonymous, rss[3];
    uint64_t shared_clean, shared_dirty, private_clean, private_dirty;
    uint64_t pss, pss_dirty, pss_locked; /* bytes << 12 (Linux's PSS_SHIFT) */
};

/* Is frame f of page pn the object's own page (not a private copy)? */
static bool object_frame(const struct region *r, uint64_t pn, frame_t f)
{
    if (!r->obj)
        return false;
    uint64_t idx = r->pgoff + (pn - (r->start >> PAGE_SHIFT));
    pte_t *slot = pt_slot(&r->obj->pages, idx, false);
    return slot && *slot && pte_frame(*slot) == f;
}

static void count_page(void *ctx, uint64_t pn, pte_t pte)
{
    struct page_stats *st = ctx;
    const struct region *r = st->r;
    frame_t f = pte_frame(pte);
    if (!(pte & PTE_PRESENT) || f == FRAME_ZERO)
        return;
    bool in_object = object_frame(r, pn, f);
    int kind = !in_object ? RSS_ANON : r->obj->kind == OBJ_FILE ? RSS_FILE : RSS_SHMEM;
    st->rss[kind]++;
    if (kind == RSS_ANON)
        st->anonymous += PAGE_SIZE;
    st->resident += PAGE_SIZE;
    bool dirty = kind == RSS_ANON ||
                 object_page_dirty(r->obj, r->pgoff + (pn - (r->start >> PAGE_SHIFT)));
    /* The page cache holds one reference of its own; a leaf shared with
     * fork relatives holds one for all of them. */
    uint32_t mapcount = frame_refcount(st->s->sys, f) - (in_object ? 1 : 0) +
                        pt_sharers(&st->s->pt, pn);
    uint64_t pss = (PAGE_SIZE << 12) / (mapcount >= 2 ? mapcount : 1);
    st->pss += pss;
    if (dirty)
        st->pss_dirty += pss;
    if (r->flags & VM_LOCKED)
        st->pss_locked += pss;
    if (mapcount >= 2)
        *(dirty ? &st->shared_dirty : &st->shared_clean) += PAGE_SIZE;
    else
        *(dirty ? &st->private_dirty : &st->private_clean) += PAGE_SIZE;
}

static void region_stats(gmm_space *s, const struct region *r, struct page_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->s = s;
    st->r = r;
    pt_walk(&s->pt, r->start >> PAGE_SHIFT, r->end >> PAGE_SHIFT, count_page, st);
}

/* ---- /proc/PID/status ---- */

/* Page-table pages of an x86-64 table: PTE, PMD and PUD tables (the PGD is
 * not counted, as mm_pgtables_bytes() does not). */
static uint64_t table_pages(const struct pt_node *n, int level)
{
    if (!n)
        return 0;
    uint64_t count = level > 0 ? 1 : 0;
    if (level < PT_LEVELS - 1)
        for (unsigned i = 0; i < PT_ENTRIES; i++)
            count += table_pages(n->u.child[i], level + 1);
    return count;
}

size_t gmm_space_status(gmm_space *s, char *buf, size_t cap)
{
    struct text t = {buf, cap, 0};
    space_lock(s);
    uint64_t rss[3] = {0, 0, 0};
    for (const struct region *r = s->first; r; r = r->next) {
        struct page_stats st;
        region_stats(s, r, &st);
        for (int k = 0; k < 3; k++)
            rss[k] += st.rss[k];
    }
    uint64_t total_rss = rss[RSS_ANON] + rss[RSS_FILE] + rss[RSS_SHMEM];
    uint64_t peak_vm = s->hiwater_vm > s->total_vm ? s->hiwater_vm : s->total_vm;
    uint64_t peak_rss = s->hiwater_rss > total_rss ? s->hiwater_rss : total_rss;
    /* The text is what lies between start_code and end_code; the rest of
     * the executable mappings are libraries. */
    uint64_t text = PAGE_ALIGN(s->end_code) - (s->start_code & PAGE_MASK);
    if (s->end_code < s->start_code)
        text = 0;
    if (text > s->exec_vm << PAGE_SHIFT)
        text = s->exec_vm << PAGE_SHIFT;
    uint64_t lib = (s->exec_vm << PAGE_SHIFT) - text;
    putf_kb(&t, "VmPeak:\t", peak_vm * 4, 8);
    putf_kb(&t, "VmSize:\t", s->total_vm * 4, 8);
    putf_kb(&t, "VmLck:\t", s->locked_vm * 4, 8);
    putf_kb(&t, "VmPin:\t", 0, 8);
    putf_kb(&t, "VmHWM:\t", peak_rss * 4, 8);
    putf_kb(&t, "VmRSS:\t", total_rss * 4, 8);
    putf_kb(&t, "RssAnon:\t", rss[RSS_ANON] * 4, 8);
    putf_kb(&t, "RssFile:\t", rss[RSS_FILE] * 4, 8);
    putf_kb(&t, "RssShmem:\t", rss[RSS_SHMEM] * 4, 8);
    putf_kb(&t, "VmData:\t", s->data_vm * 4, 8);
    putf_kb(&t, "VmStk:\t", s->stack_vm * 4, 8);
    putf_kb(&t, "VmExe:\t", text >> 10, 8);
    putf_kb(&t, "VmLib:\t", lib >> 10, 8);
    putf_kb(&t, "VmPTE:\t", table_pages(s->pt.root, 0) * 4, 8);
    putf_kb(&t, "VmSwap:\t", 0, 8);
    putf_kb(&t, "HugetlbPages:\t", 0, 8);
    space_unlock(s);
    return text_finish(&t);
}

/* ---- /proc/PID/smaps ---- */

/* show_smap_vma_flags(): in the order of Linux's bits. */
static const struct {
    uint32_t flag;
    char name[3];
} mnemonics[] = {
    {VM_READ, "rd"},         {VM_WRITE, "wr"},       {VM_EXEC, "ex"},
    {VM_SHARED, "sh"},       {VM_MAYREAD, "mr"},     {VM_MAYWRITE, "mw"},
    {VM_MAYEXEC, "me"},      {VM_MAYSHARE, "ms"},    {VM_GROWSDOWN, "gd"},
    {VM_MAYBE_GUARD, "gu"},  {VM_LOCKED, "lo"},      {VM_SEQ_READ, "sr"},
    {VM_RAND_READ, "rr"},    {VM_DONTCOPY, "dc"},    {VM_LOCKONFAULT, "lf"},
    {VM_ACCOUNT, "ac"},      {VM_NORESERVE, "nr"},   {VM_SYNC, "sf"},
    {VM_WIPEONFORK, "wf"},   {VM_DONTDUMP, "dd"},    {VM_HUGEPAGE, "hg"},
    {VM_NOHUGEPAGE, "nh"},   {VM_MERGEABLE, "mg"},   {VM_DROPPABLE, "dp"},
};

/* thp_vma_allowable_orders() for smaps, with THP in "madvise" mode. */
static bool thp_eligible(const struct region *r)
{
    return !r->obj && (r->flags & (VM_HUGEPAGE | VM_NOHUGEPAGE)) == VM_HUGEPAGE &&
           region_holds_huge_page(r);
}

static void show_smap(gmm_space *s, const struct region *r, struct text *t)
{
    maps_show_region(s, r, t);
    struct page_stats st;
    region_stats(s, r, &st);
    putf_kb(t, "Size:           ", (r->end - r->start) >> 10, 8);
    putf_kb(t, "KernelPageSize: ", 4, 8);
    putf_kb(t, "MMUPageSize:    ", 4, 8);
    putf_kb(t, "Rss:            ", st.resident >> 10, 8);
    putf_kb(t, "Pss:            ", (st.pss >> 12) >> 10, 8);
    putf_kb(t, "Pss_Dirty:      ", (st.pss_dirty >> 12) >> 10, 8);
    putf_kb(t, "Shared_Clean:   ", st.shared_clean >> 10, 8);
    putf_kb(t, "Shared_Dirty:   ", st.shared_dirty >> 10, 8);
    putf_kb(t, "Private_Clean:  ", st.private_clean >> 10, 8);
    putf_kb(t, "Private_Dirty:  ", st.private_dirty >> 10, 8);
    putf_kb(t, "Referenced:     ", st.resident >> 10, 8);
    putf_kb(t, "Anonymous:      ", st.anonymous >> 10, 8);
    putf_kb(t, "KSM:            ", 0, 8);
    putf_kb(t, "LazyFree:       ", 0, 8);
    putf_kb(t, "AnonHugePages:  ", 0, 8);
    putf_kb(t, "ShmemPmdMapped: ", 0, 8);
    putf_kb(t, "FilePmdMapped:  ", 0, 8);
    putf_kb(t, "Shared_Hugetlb: ", 0, 8);
    putf_kb(t, "Private_Hugetlb: ", 0, 7);
    putf_kb(t, "Swap:           ", 0, 8);
    putf_kb(t, "SwapPss:        ", 0, 8);
    putf_kb(t, "Locked:         ", (st.pss_locked >> 12) >> 10, 8);
    char line[64];
    int len = snprintf(line, sizeof(line), "THPeligible:    %8u\n", thp_eligible(r) ? 1u : 0u);
    text_put(t, line, (size_t)len);
    /* arch_pkeys_enabled(): the CPU the space models has protection keys;
     * the execute-only key is 1. */
    if (s->execute_only) {
        len = snprintf(line, sizeof(line), "ProtectionKey:  %8u\n",
                       r->flags & VM_PKEY_EXEC ? 1u : 0u);
        text_put(t, line, (size_t)len);
    }
    text_put(t, "VmFlags: ", 9);
    for (size_t i = 0; i < sizeof(mnemonics) / sizeof(mnemonics[0]); i++)
        if (r->flags & mnemonics[i].flag) {
            text_put(t, mnemonics[i].name, 2);
            text_put(t, " ", 1);
        }
    text_put(t, "\n", 1);
}

size_t gmm_space_smaps(gmm_space *s, char *buf, size_t cap)
{
    struct text t = {buf, cap, 0};
    space_lock(s);
    for (const struct region *r = s->first; r; r = r->next)
        show_smap(s, r, &t);
    space_unlock(s);
    return text_finish(&t);
}
