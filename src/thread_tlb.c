/*
 * thread_tlb.c - gmm_translate's TLBs: one per calling thread and space.
 *
 * gmm_translate may be called from any thread, so its TLB cannot be the
 * space's: two threads filling one TLB could hand out a torn entry (the
 * tag of one page with the frame of another).  Instead each thread keeps
 * the TLBs of the last THREAD_TLBS spaces it translated for, the most
 * recent one behind a thread-local pointer, so that a hit costs one compare
 * more than a gmm_cpu's: the TLB's space id against the space's.
 *
 * A TLB is tagged with the space's id, not its address: ids come from one
 * process-wide counter and are never reused, so a space freed and another
 * created at the same address never finds the old one's entries.  A TLB
 * of a destroyed space is simply never matched again; it is reused for
 * another space or freed with its thread.  Nothing here belongs to a space
 * or a system, so destroying either has nothing to do here, and the blocks
 * come from the C library's allocator (they outlive any one system).  They
 * are freed when their thread exits (a pthread key destructor).
 *
 * A TLB here follows the rules of every TLB (struct tlb): only its thread
 * writes it, and it catches up with its space's invalidation log before
 * each use; entries are filled under the space lock by the fault path.
 *
 * Each slot also holds the thread's user-copy TLB for its space
 * (copy_tlb.c), made on the first gmm_read or gmm_write there: it goes
 * with the slot, emptied when the slot is taken for another space, and is
 * freed with it.
 */
#include "internal.h"

#define THREAD_TLBS 4

struct thread_tlbs {
    struct thread_tlb *slot[THREAD_TLBS]; /* most recently used first */
};

_Thread_local struct thread_tlb *gmm_thread_tlb; /* slot[0] of this thread's */
static _Thread_local struct thread_tlbs *thread_tlbs;

static pthread_key_t tlbs_key;
static pthread_once_t tlbs_once = PTHREAD_ONCE_INIT;
static bool tlbs_key_ok;
static uint64_t last_space_id; /* atomic */

uint64_t space_new_id(void)
{
    return __atomic_add_fetch(&last_space_id, 1, __ATOMIC_RELAXED);
}

/* The thread exits: its TLBs go with it. */
static void thread_tlbs_free(void *p)
{
    struct thread_tlbs *ts = p;
    gmm_thread_tlb = NULL;
    thread_tlbs = NULL;
    for (unsigned i = 0; i < THREAD_TLBS; i++) {
        if (ts->slot[i])
            copy_tlb_free(ts->slot[i]->copy);
        gmm_free(ts->slot[i]);
    }
    gmm_free(ts);
}

static void tlbs_key_create(void)
{
    tlbs_key_ok = pthread_key_create(&tlbs_key, thread_tlbs_free) == 0;
}

/* Unloading the library (dlclose) must not leave a destructor pointing
 * into it: threads still alive then keep their blocks (a leak, not a
 * crash). */
__attribute__((destructor)) static void tlbs_key_delete(void)
{
    if (tlbs_key_ok)
        pthread_key_delete(tlbs_key);
    tlbs_key_ok = false;
}

struct tlb *thread_tlb_slow(gmm_space *s)
{
    struct thread_tlbs *ts = thread_tlbs;
    if (!ts) {
        /* Nothing is allocated that could not be freed at thread exit. */
        pthread_once(&tlbs_once, tlbs_key_create);
        if (!tlbs_key_ok || !(ts = gmm_calloc(NULL, 1, sizeof(*ts))))
            return NULL;
        if (pthread_setspecific(tlbs_key, ts)) {
            gmm_free(ts);
            return NULL;
        }
        thread_tlbs = ts;
    }
    unsigned i = 0;
    while (i < THREAD_TLBS && ts->slot[i] && ts->slot[i]->space_id != s->id)
        i++;
    struct thread_tlb *t = i < THREAD_TLBS ? ts->slot[i] : NULL;
    if (!t || t->space_id != s->id) {
        /* Not cached: a free slot, else the least recently used one. */
        if (i == THREAD_TLBS)
            t = ts->slot[--i];
        else if ((t = gmm_malloc(NULL, sizeof(*t))))
            t->copy = NULL;
        else if (i == 0)
            return NULL;
        else
            t = ts->slot[--i];
        tlb_init(&t->tlb);
        t->tlb.seen = __atomic_load_n(&s->inval_seq, __ATOMIC_ACQUIRE);
        if (t->copy) {
            /* Kept for the new space, emptied. */
            copy_tlb_flush(t->copy);
            t->copy->seen = t->tlb.seen;
        }
        t->space_id = s->id;
    }
    memmove(&ts->slot[1], &ts->slot[0], i * sizeof(ts->slot[0]));
    ts->slot[0] = t;
    gmm_thread_tlb = t;
    return &t->tlb;
}

struct copy_tlb *thread_copy_tlb(gmm_space *s)
{
    struct thread_tlb *t = gmm_thread_tlb;
    if (!t || t->space_id != s->id) {
        if (!thread_tlb_slow(s))
            return NULL;
        t = gmm_thread_tlb;
    }
    if (!t->copy) {
        if (!(t->copy = copy_tlb_new()))
            return NULL;
        t->copy->seen = __atomic_load_n(&s->inval_seq, __ATOMIC_ACQUIRE);
    }
    copy_tlb_catch_up(s, t->copy);
    return t->copy;
}
