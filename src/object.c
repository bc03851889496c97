/*
 * object.c - shared backing objects.  A MAP_SHARED|MAP_ANONYMOUS mapping is
 * backed by one object (Linux backs it by a shmem file shown as
 * "/dev/zero (deleted)"): a radix of frames keyed by page offset, each
 * holding one frame reference, shared by every region that maps it.
 */
#include "internal.h"

/* Linux numbers shmem inodes from a per-boot counter; any stable
 * increasing sequence gives the same maps shape. */
#define SHMEM_FIRST_INO 1024
#define SHMEM_DEV 0x1 /* 00:01 */

struct gmm_object *object_new_shmem(gmm_system *sys)
{
    struct gmm_object *o = gmm_calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->refs = 1;
    o->dev = SHMEM_DEV;
    o->ino = SHMEM_FIRST_INO + __atomic_fetch_add(&sys->next_ino, 1, __ATOMIC_RELAXED);
    return o;
}

void object_get(struct gmm_object *o)
{
    __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
}

static void object_unref_frame(void *ctx, uint64_t pn, pte_t pte)
{
    (void)pn;
    frame_unref(ctx, pte_frame(pte));
}

void object_put(gmm_system *sys, struct gmm_object *o)
{
    if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    pt_destroy(&o->pages, object_unref_frame, sys);
    gmm_free(o);
}
