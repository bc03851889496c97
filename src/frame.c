/*
 * frame.c - 4 KiB host frames carved from 64 MiB arenas, reference counted.
 *
 * A frame is named by a 32-bit number: arena index in the high bits, index
 * in the arena in the low ARENA_SHIFT bits.  ref[] holds the reference count
 * of a live frame and the next free frame of a freed one.  Frame 0 is the
 * shared zero frame: never written, never freed, its count not kept.
 * Host pointers to frames stay valid for the life of the system.
 *
 * A mappable system (gmm_system_create_mappable) keeps its arenas in one
 * memory file, arena k at file offset k * ARENA_BYTES, so frame f is at
 * offset f * 4 KiB: windows map frames from there, and the arena bases are
 * the library's own view of the same memory.  A frame that becomes free
 * gives its memory back (a hole punched in the file) and reads as zero
 * until it is used again.
 */
#include "internal.h"
#include "host.h"

#include <stdlib.h>

#define ARENA_BYTES ((size_t)ARENA_FRAMES << PAGE_SHIFT)

static int arena_grow(gmm_system *sys)
{
    if (sys->narenas == MAX_ARENAS)
        return -GMM_ENOMEM;
    struct arena *a = &sys->arenas[sys->narenas];
    a->ref = gmm_calloc(sys, ARENA_FRAMES, sizeof(uint32_t));
    if (!a->ref)
        return -GMM_ENOMEM;
    if (sys->memfd >= 0) {
        uint64_t off = (uint64_t)sys->narenas * ARENA_BYTES;
        a->base = host_memfile_grow(sys->memfd, off + ARENA_BYTES) ? NULL
                                                                    : host_map_file(sys->memfd, off, ARENA_BYTES);
    } else {
        a->base = host_reserve(ARENA_BYTES);
    }
    if (!a->base) {
        gmm_free(a->ref);
        a->ref = NULL;
        return -GMM_ENOMEM;
    }
    sys->narenas++;
    return 0;
}

int frame_init(gmm_system *sys)
{
    sys->free_head = sys->limbo_new = sys->limbo_old = FRAME_NONE;
    if (arena_grow(sys))
        return -GMM_ENOMEM;
    sys->bump = 1; /* frame 0 is the zero frame */
    sys->arenas[0].ref[0] = 1;
    return 0;
}

void frame_fini(gmm_system *sys)
{
    for (uint32_t i = 0; i < sys->narenas; i++) {
        host_release(sys->arenas[i].base, ARENA_BYTES);
        gmm_free(sys->arenas[i].ref);
    }
    sys->narenas = 0;
    host_close(sys->memfd);
    sys->memfd = -1;
}

static int frame_cmp(const void *a, const void *b)
{
    frame_t x = *(const frame_t *)a, y = *(const frame_t *)b;
    return x < y ? -1 : x > y;
}

/* Gives back the memory of the frames waiting in sys->punch, one host call
 * per run of consecutive frames.  Caller holds sys->lock. */
static void punch_flush(gmm_system *sys)
{
    unsigned n = sys->npunch;
    if (!n)
        return;
    qsort(sys->punch, n, sizeof(frame_t), frame_cmp);
    for (unsigned i = 0; i < n;) {
        unsigned k = i + 1;
        while (k < n && sys->punch[k] == sys->punch[k - 1] + 1)
            k++;
        host_punch(sys->memfd, (uint64_t)sys->punch[i] << PAGE_SHIFT,
                   (uint64_t)(k - i) << PAGE_SHIFT);
        i = k;
    }
    sys->npunch = 0;
}

/* A frame goes on the free list: a mappable system gives its memory back
 * (in batches; punch_flush runs before a freed frame is reused).  Caller
 * holds sys->lock. */
static inline void frame_release_memory(gmm_system *sys, frame_t f)
{
    if (sys->memfd < 0)
        return;
    sys->punch[sys->npunch++] = f;
    if (sys->npunch == PUNCH_BATCH)
        punch_flush(sys);
}

frame_t frame_alloc(gmm_system *sys)
{
    return frame_alloc_uninit(sys, true);
}

/* The grace period: frames freed while CPUs run may still be behind a
 * pointer a CPU got from gmm_cpu_translate.  They wait in limbo_new; when
 * the free list runs dry, limbo_old (closed at epoch limbo_stamp) is
 * reused if every CPU has quiesced since, and limbo_new becomes the next
 * limbo_old.  Caller holds sys->lock. */
static void limbo_reclaim(gmm_system *sys)
{
    if (sys->limbo_old != FRAME_NONE) {
        /* Pairs with the fence of gmm_cpu_online: a CPU coming back either
         * shows here as not quiesced, or sees the shootdowns logged before
         * these frames were freed. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        for (struct gmm_cpu *c = sys->cpus; c; c = c->next)
            if (__atomic_load_n(&c->quiesced, __ATOMIC_ACQUIRE) < sys->limbo_stamp)
                return;
        /* Every CPU passed a quiescent point after the batch closed. */
        frame_t f = sys->limbo_old;
        while (f != FRAME_NONE) {
            frame_t next = *frame_ref_slot(sys, f);
            frame_release_memory(sys, f);
            *frame_ref_slot(sys, f) = sys->free_head;
            sys->free_head = f;
            f = next;
        }
        sys->limbo_old = FRAME_NONE;
        sys->limbo_frames -= sys->limbo_old_n;
        sys->limbo_old_n = 0;
    }
    if (sys->limbo_new != FRAME_NONE) {
        sys->limbo_old = sys->limbo_new;
        sys->limbo_old_n = sys->limbo_frames;
        sys->limbo_new = FRAME_NONE;
        sys->limbo_stamp = __atomic_add_fetch(&sys->epoch, 1, __ATOMIC_ACQ_REL);
        if (!sys->cpus)
            limbo_reclaim(sys);
    }
}

frame_t frame_alloc_uninit(gmm_system *sys, bool zero)
{
    frame_t f;
    bool recycled = false;
    pthread_mutex_lock(&sys->lock);
    /* The memory cap (gmm_system_set_frame_limit): a frame beyond it is
     * out of memory, as a memory cgroup at its limit. */
    if (sys->free_head == FRAME_NONE ||
        (sys->frame_limit && sys->frames_used + sys->limbo_frames >= sys->frame_limit))
        limbo_reclaim(sys);
    /* Frames waiting for a grace period count against the cap too. */
    if (sys->frame_limit && sys->frames_used + sys->limbo_frames >= sys->frame_limit) {
        pthread_mutex_unlock(&sys->lock);
        return FRAME_NONE;
    }
    if (sys->free_head != FRAME_NONE) {
        /* It may be waiting for its memory to be given back: that must
         * happen before the frame is used again. */
        punch_flush(sys);
        f = sys->free_head;
        sys->free_head = *frame_ref_slot(sys, f);
        recycled = true;
    } else {
        if ((sys->bump >> ARENA_SHIFT) >= sys->narenas && arena_grow(sys)) {
            pthread_mutex_unlock(&sys->lock);
            return FRAME_NONE;
        }
        f = sys->bump++;
    }
    *frame_ref_slot(sys, f) = 1;
    sys->frames_used++;
    pthread_mutex_unlock(&sys->lock);
    if (recycled && zero)
        memset(frame_ptr(sys, f), 0, PAGE_SIZE);
    return f;
}

frame_t frame_alloc_run(gmm_system *sys, uint32_t n)
{
    frame_t f = FRAME_NONE;
    pthread_mutex_lock(&sys->lock);
    if (sys->frame_limit && sys->frames_used + sys->limbo_frames + n > sys->frame_limit)
        goto out;
    /* Runs come from frames never used; freed ones are reused one by one
     * (frame_alloc).  While freed frames wait, fresh ones are taken only up
     * to twice the frames in use (plus an arena), so that churn cannot
     * make the arenas grow without bound. */
    if (sys->free_head != FRAME_NONE &&
        (uint64_t)sys->bump + n > 2 * (sys->frames_used + n) + ARENA_FRAMES)
        goto out;
    while ((((uint64_t)sys->bump + n - 1) >> ARENA_SHIFT) >= sys->narenas)
        if (arena_grow(sys))
            goto out;
    f = sys->bump;
    sys->bump += n;
    for (uint32_t i = 0; i < n; i++)
        *frame_ref_slot(sys, f + i) = 1;
    sys->frames_used += n;
out:
    pthread_mutex_unlock(&sys->lock);
    return f;
}

void frame_ref(gmm_system *sys, frame_t f)
{
    if (f != FRAME_ZERO)
        __atomic_add_fetch(frame_ref_slot(sys, f), 1, __ATOMIC_RELAXED);
}

void frame_unref(gmm_system *sys, frame_t f)
{
    if (f == FRAME_ZERO)
        return;
    uint32_t *slot = frame_ref_slot(sys, f);
    if (__atomic_sub_fetch(slot, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    pthread_mutex_lock(&sys->lock);
    if (sys->cpus) {
        /* A CPU may still use it: it waits for a grace period. */
        *slot = sys->limbo_new;
        sys->limbo_new = f;
        sys->limbo_frames++;
    } else {
        frame_release_memory(sys, f);
        *slot = sys->free_head;
        sys->free_head = f;
    }
    sys->frames_used--;
    pthread_mutex_unlock(&sys->lock);
}

uint32_t frame_refcount(gmm_system *sys, frame_t f)
{
    return __atomic_load_n(frame_ref_slot(sys, f), __ATOMIC_ACQUIRE);
}

int gmm_system_set_frame_limit(gmm_system *sys, uint64_t max_frames)
{
    pthread_mutex_lock(&sys->lock);
    sys->frame_limit = max_frames;
    pthread_mutex_unlock(&sys->lock);
    return 0;
}

uint64_t gmm_system_frames_used(gmm_system *sys)
{
    pthread_mutex_lock(&sys->lock);
    uint64_t n = sys->frames_used;
    pthread_mutex_unlock(&sys->lock);
    return n;
}
