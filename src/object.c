/*
 * object.c - shared backing objects and the page cache.
 *
 * An object is what Linux calls an inode's address space: a radix of frames
 * keyed by page offset, each holding one frame reference, shared by every
 * region (in any space) that maps it.  Two kinds:
 *   - shmem: MAP_SHARED|MAP_ANONYMOUS memory, one object per mmap, shown
 *     as "/dev/zero (deleted)" (dev 00:01, an inode number of its own);
 *   - file: the page cache of one host file, found by (dev, ino) in the
 *     system's uthash table, so every space that maps the file shares its
 *     pages.  Pages are read through the file's read callback on first
 *     touch and written back, dirty ones only, by msync, by the unmapping
 *     of the last region that maps the file, and at system destruction.
 *
 * Every object keeps the list of regions that map it (its rmap), so that
 * cleaning a page after writeback and truncating a file can reach the
 * translations of every space.
 *
 * File handles (gmm_fileref, Linux's struct file) are counted per handle
 * and rights: two fds of one file may share a handle but not their modes.
 * The host's release callback runs when the library holds the handle under
 * no rights at all.
 */
#include "internal.h"

#include <uthash.h>

/* Linux numbers shmem inodes from a per-boot counter; any increasing
 * sequence gives the same maps shape. */
#define SHMEM_FIRST_INO 1024
#define SHMEM_DEV 0x1 /* 00:01 */

/* ---- file handles ---- */

static struct fileref_key fileref_key_of(void *handle, bool readable, bool writable)
{
    struct fileref_key k;
    memset(&k, 0, sizeof(k));
    k.handle = handle;
    k.mode = (readable ? FILEREF_READ : 0) | (writable ? FILEREF_WRITE : 0);
    return k;
}

/* Does the library hold handle under any rights?  Caller holds sys->lock.
 * The host's release is per handle: it runs when the last fileref of the
 * handle goes, whatever the rights of each. */
static bool handle_held(gmm_system *sys, void *handle)
{
    for (uintptr_t mode = 0; mode <= (FILEREF_READ | FILEREF_WRITE); mode++) {
        struct fileref_key k = fileref_key_of(handle, mode & FILEREF_READ, mode & FILEREF_WRITE);
        struct gmm_fileref *fr;
        HASH_FIND(hh, sys->filerefs, &k, sizeof(k), fr);
        if (fr)
            return true;
    }
    return false;
}

struct gmm_fileref *fileref_get(gmm_system *sys, const gmm_file *f)
{
    struct fileref_key k = fileref_key_of(f->handle, f->readable != 0, f->writable != 0);
    struct gmm_fileref *fr;
    pthread_mutex_lock(&sys->lock);
    HASH_FIND(hh, sys->filerefs, &k, sizeof(k), fr);
    if (fr) {
        fr->refs++;
    } else if ((fr = gmm_calloc(sys, 1, sizeof(*fr)))) {
        fr->key = k;
        fr->ops = f->ops;
        fr->handle = f->handle;
        fr->refs = 1;
        fr->readable = f->readable != 0;
        fr->writable = f->writable != 0;
        HASH_ADD(hh, sys->filerefs, key, sizeof(fr->key), fr);
        if (!fr->hh.tbl) { /* the table could not grow: no memory */
            gmm_free(fr);
            fr = NULL;
        }
    }
    /* Out of memory for a handle the library did not hold yet: give it
     * back at once, as the last reference going would (the host counts on
     * one release for every handle get_file handed out). */
    bool release = !fr && !handle_held(sys, f->handle);
    pthread_mutex_unlock(&sys->lock);
    if (release && f->ops && f->ops->release)
        f->ops->release(f->handle);
    return fr;
}

void fileref_hold(gmm_system *sys, struct gmm_fileref *fr)
{
    pthread_mutex_lock(&sys->lock);
    fr->refs++;
    pthread_mutex_unlock(&sys->lock);
}

void fileref_put(gmm_system *sys, struct gmm_fileref *fr)
{
    pthread_mutex_lock(&sys->lock);
    bool last = --fr->refs == 0;
    if (last)
        HASH_DEL(sys->filerefs, fr);
    bool release = last && !handle_held(sys, fr->handle);
    pthread_mutex_unlock(&sys->lock);
    if (last) {
        if (release && fr->ops && fr->ops->release)
            fr->ops->release(fr->handle);
        gmm_free(fr);
    }
}

/* ---- objects ---- */

struct gmm_object *object_new_shmem(gmm_system *sys, uint64_t size)
{
    struct gmm_object *o = gmm_calloc(sys, 1, sizeof(*o));
    if (!o)
        return NULL;
    o->kind = OBJ_SHMEM;
    o->pages.sys = sys;
    o->dev = SHMEM_DEV;
    o->ino = SHMEM_FIRST_INO + __atomic_fetch_add(&sys->next_ino, 1, __ATOMIC_RELAXED);
    o->size = size;
    return o;
}

struct gmm_object *object_find_file(gmm_system *sys, uint64_t dev, uint64_t ino)
{
    struct obj_key key = {dev, ino};
    struct gmm_object *o;
    HASH_FIND(hh, sys->files, &key, sizeof(key), o);
    return o;
}

struct gmm_object *object_get_file(gmm_system *sys, const gmm_file *f, struct gmm_fileref *fr)
{
    struct gmm_object *o = object_find_file(sys, f->dev, f->ino);
    if (o)
        return o;
    o = gmm_calloc(sys, 1, sizeof(*o));
    if (!o)
        return NULL;
    o->path = gmm_strdup(sys, f->path ? f->path : "");
    if (!o->path) {
        gmm_free(o);
        return NULL;
    }
    o->kind = OBJ_FILE;
    o->pages.sys = sys;
    o->key.dev = o->dev = f->dev;
    o->key.ino = o->ino = f->ino;
    int64_t size = f->ops && f->ops->size ? f->ops->size(fr->handle) : 0;
    o->size = size > 0 ? (uint64_t)size : 0;
    HASH_ADD(hh, sys->files, key, sizeof(o->key), o);
    if (!o->hh.tbl) { /* the table could not grow: no memory */
        gmm_free(o->path);
        gmm_free(o);
        return NULL;
    }
    return o;
}

void object_attach(gmm_system *sys, struct gmm_object *o, struct region *r)
{
    o->refs++;
    if (r->flags & VM_SHARED)
        o->shared_refs++;
    r->obj_prev = NULL;
    r->obj_next = o->rmap;
    if (o->rmap)
        o->rmap->obj_prev = r;
    o->rmap = r;
    /* Writeback goes through a handle opened for writing, never through
     * a read-only one that shares it: the first shared writable mapping
     * (only those dirty pages; they need a writable fd) lends its own. */
    if ((r->flags & VM_SHARED) && r->file && r->file->writable && !o->wb) {
        fileref_hold(sys, r->file);
        o->wb = r->file;
    }
}

static void unref_frame(void *ctx, uint64_t pn, pte_t pte)
{
    (void)pn;
    frame_unref(ctx, pte_frame(pte));
}

void object_detach(gmm_system *sys, struct gmm_object *o, struct region *r)
{
    if (r->obj_prev)
        r->obj_prev->obj_next = r->obj_next;
    else
        o->rmap = r->obj_next;
    if (r->obj_next)
        r->obj_next->obj_prev = r->obj_prev;
    r->obj_next = r->obj_prev = NULL;
    /* The last shared mapping is gone: only it could dirty pages, so write
     * them back now rather than when a private mapping lets go. */
    bool last_shared = (r->flags & VM_SHARED) && --o->shared_refs == 0;
    if (--o->refs) {
        if (last_shared) {
            object_writeback(sys, o, 0, UINT64_MAX >> PAGE_SHIFT, true);
            /* Nothing can dirty a page now: the writable handle goes back
             * (as Linux's vma lets go of its file), and the next shared
             * writable mapping brings one. */
            if (o->wb) {
                fileref_put(sys, o->wb);
                o->wb = NULL;
            }
        }
        return;
    }
    /* The last mapping is gone: write back what is dirty, then let go. */
    if (o->kind == OBJ_FILE) {
        object_writeback(sys, o, 0, UINT64_MAX >> PAGE_SHIFT, true);
        HASH_DEL(sys->files, o);
    }
    pt_destroy(&o->pages, unref_frame, sys);
    if (o->wb)
        fileref_put(sys, o->wb);
    gmm_free(o->path);
    gmm_free(o);
}

/* ---- pages ---- */

int object_page(gmm_system *sys, struct gmm_object *o, struct gmm_fileref *fr, uint64_t idx,
                frame_t *out)
{
    pte_t *slot = pt_slot(&o->pages, idx, false);
    if (slot && *slot) {
        *out = pte_frame(*slot);
        frame_ref(sys, *out);
        return 0;
    }
    /* A page wholly beyond the end of the object faults with SIGBUS.  The
     * cached size of a file may be stale after an outside write: ask. */
    uint64_t off = idx << PAGE_SHIFT;
    if (off >= o->size && o->kind == OBJ_FILE && fr && fr->ops && fr->ops->size) {
        int64_t size = fr->ops->size(fr->handle);
        if (size > 0)
            o->size = (uint64_t)size;
    }
    if (off >= o->size || idx >= ((uint64_t)1 << (PT_BITS * PT_LEVELS)))
        return -GMM_EFAULT;
    frame_t f = frame_alloc(sys);
    if (f == FRAME_NONE)
        return -GMM_ENOMEM;
    if (o->kind == OBJ_FILE) {
        uint64_t want = o->size - off < PAGE_SIZE ? o->size - off : PAGE_SIZE;
        uint8_t *p = frame_ptr(sys, f);
        uint64_t got = 0;
        while (got < want) {
            int64_t n = fr && fr->ops && fr->ops->read
                            ? fr->ops->read(fr->handle, off + got, p + got, want - got)
                            : -GMM_EIO;
            if (n < 0) {
                /* A read error is a SIGBUS for the access, as on Linux. */
                frame_unref(sys, f);
                return -GMM_EFAULT;
            }
            if (n == 0)
                break; /* the file shrank: the rest reads zero */
            got += (uint64_t)n;
        }
    }
    slot = pt_slot(&o->pages, idx, true);
    if (!slot) {
        frame_unref(sys, f);
        return -GMM_ENOMEM;
    }
    pt_set(&o->pages, idx, pte_make(f));
    frame_ref(sys, f);
    *out = f;
    return 0;
}

bool object_page_dirty(struct gmm_object *o, uint64_t idx)
{
    pte_t *slot = pt_slot(&o->pages, idx, false);
    return slot && (*slot & PTE_DIRTY);
}

void object_mark_dirty(struct gmm_object *o, uint64_t idx)
{
    pte_t *slot = pt_slot(&o->pages, idx, false);
    if (slot && *slot)
        *slot |= PTE_DIRTY;
}

/* Drops the cached translations of page idx in every region mapping o. */
static void rmap_flush_page(struct gmm_object *o, uint64_t idx)
{
    for (struct region *r = o->rmap; r; r = r->obj_next) {
        uint64_t pages = (r->end - r->start) >> PAGE_SHIFT;
        if (idx < r->pgoff || idx - r->pgoff >= pages || !r->space)
            continue;
        gmm_addr a = r->start + ((idx - r->pgoff) << PAGE_SHIFT);
        space_invalidate(r->space, a, a + PAGE_SIZE);
    }
}

struct wb_ctx {
    gmm_system *sys;
    struct gmm_object *o;
    int err;
};

static void writeback_one(void *ctx, uint64_t idx, pte_t pte)
{
    struct wb_ctx *c = ctx;
    struct gmm_object *o = c->o;
    if (!(pte & PTE_DIRTY))
        return;
    pte_t *slot = pt_slot(&o->pages, idx, false);
    *slot &= ~PTE_DIRTY;
    /* The next store must fault again to mark the page dirty. */
    rmap_flush_page(o, idx);
    uint64_t off = idx << PAGE_SHIFT;
    if (off >= o->size)
        return;
    /* The tail of the last page, beyond the end of the file, never
     * reaches the file. */
    uint64_t len = o->size - off < PAGE_SIZE ? o->size - off : PAGE_SIZE;
    const uint8_t *p = frame_ptr(c->sys, pte_frame(pte));
    struct gmm_fileref *wb = o->wb;
    uint64_t done = 0;
    while (done < len) {
        int64_t n = wb && wb->writable && wb->ops && wb->ops->write
                        ? wb->ops->write(wb->handle, off + done, p + done, len - done)
                        : -GMM_EIO;
        if (n <= 0) {
            if (!c->err)
                c->err = n < 0 ? (int)n : -GMM_EIO;
            return;
        }
        done += (uint64_t)n;
    }
}

int object_writeback(gmm_system *sys, struct gmm_object *o, uint64_t first_page, uint64_t npages,
                     bool sync)
{
    (void)sync; /* the write callback is synchronous */
    if (o->kind != OBJ_FILE)
        return 0;
    struct wb_ctx c = {sys, o, 0};
    uint64_t end = first_page + npages < first_page ? UINT64_MAX : first_page + npages;
    pt_walk(&o->pages, first_page, end, writeback_one, &c);
    return c.err;
}

void object_code_written(gmm_system *sys, struct gmm_object *o, uint64_t lo, uint64_t hi)
{
    if (!sys->host.code_written)
        return;
    for (struct region *r = o->rmap; r; r = r->obj_next) {
        uint64_t first = r->pgoff << PAGE_SHIFT, last = first + (r->end - r->start);
        if (!(r->flags & VM_EXEC) || hi <= first || lo >= last || !r->space)
            continue;
        uint64_t a = lo > first ? lo : first, b = hi < last ? hi : last;
        sys->host.code_written(sys->host.user, r->space, r->start + (a - first), b - a);
    }
}
