/*
 * file.c - what the emulator tells the library about files it changes
 * behind the mappings' back (its write(2) and ftruncate(2) paths), and the
 * flush it asks for before reading a file itself.  Linux's read, write and
 * truncate go through the page cache; an emulator's go to the host file,
 * so these calls keep the library's cache coherent with it.
 */
#include "internal.h"

/* Zeroes the cached bytes of page idx from byte offset 'from' in the page
 * to its end. */
static void zero_page_tail(gmm_system *sys, struct gmm_object *o, uint64_t idx, uint64_t from)
{
    pte_t *slot = pt_slot(&o->pages, idx, false);
    if (slot && *slot && from < PAGE_SIZE)
        memset(frame_ptr(sys, pte_frame(*slot)) + from, 0, PAGE_SIZE - from);
}

/* The file grows from old to new bytes: what a mapping stored beyond the
 * old end, in the old last page, must not show up in the file. */
static void extend(gmm_system *sys, struct gmm_object *o, uint64_t new_size)
{
    if (new_size <= o->size)
        return;
    if (OFFSET_IN_PAGE(o->size))
        zero_page_tail(sys, o, o->size >> PAGE_SHIFT, OFFSET_IN_PAGE(o->size));
    o->size = new_size;
}

static void file_written(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t off,
                         const void *buf, size_t len);
static void file_resized(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t new_size);

static void unref_frame(void *ctx, uint64_t pn, pte_t pte)
{
    (void)pn;
    frame_unref(ctx, pte_frame(pte));
}

void gmm_file_written(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t off, const void *buf,
                      size_t len)
{
    sys_mm_lock(sys);
    file_written(sys, dev, ino, off, buf, len);
    sys_mm_unlock(sys);
}

static void file_written(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t off,
                         const void *buf, size_t len)
{
    struct gmm_object *o = object_find_file(sys, dev, ino);
    if (!o || len == 0 || off + len < off)
        return;
    extend(sys, o, off + len);
    const uint8_t *src = buf;
    for (uint64_t pos = off; pos < off + len;) {
        uint64_t idx = pos >> PAGE_SHIFT, in = OFFSET_IN_PAGE(pos);
        uint64_t n = PAGE_SIZE - in < off + len - pos ? PAGE_SIZE - in : off + len - pos;
        pte_t *slot = pt_slot(&o->pages, idx, false);
        if (slot && *slot)
            memcpy(frame_ptr(sys, pte_frame(*slot)) + in, src + (pos - off), n);
        pos += n;
    }
    /* Executable mappings that show these bytes: a JIT drops its code. */
    object_code_written(sys, o, off, off + len);
}

void gmm_file_resized(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t new_size)
{
    sys_mm_lock(sys);
    file_resized(sys, dev, ino, new_size);
    sys_mm_unlock(sys);
}

static void file_resized(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t new_size)
{
    struct gmm_object *o = object_find_file(sys, dev, ino);
    if (!o)
        return;
    if (new_size >= o->size) {
        extend(sys, o, new_size);
        return;
    }
    /* Truncation: pages wholly beyond the new end leave every mapping,
     * private copies included, so that touching them raises SIGBUS.  Guard
     * markers stay (Linux's unmap_mapping_range() zaps without
     * ZAP_FLAG_DROP_MARKER): only munmap and MADV_GUARD_REMOVE drop them. */
    uint64_t first_gone = PAGE_ALIGN(new_size) >> PAGE_SHIFT;
    for (struct region *r = o->rmap; r; r = r->obj_next) {
        uint64_t pages = (r->end - r->start) >> PAGE_SHIFT;
        if (r->pgoff + pages <= first_gone)
            continue;
        gmm_addr from = first_gone > r->pgoff ? r->start + ((first_gone - r->pgoff) << PAGE_SHIFT)
                                              : r->start;
        vma_zap_pages(r->space, from, r->end);
    }
    pt_clear_range(&o->pages, first_gone, (uint64_t)1 << (PT_BITS * PT_LEVELS), unref_frame, sys);
    /* The rest of the new last page reads zero. */
    if (OFFSET_IN_PAGE(new_size))
        zero_page_tail(sys, o, new_size >> PAGE_SHIFT, OFFSET_IN_PAGE(new_size));
    o->size = new_size;
}

int gmm_file_sync(gmm_system *sys, uint64_t dev, uint64_t ino)
{
    sys_mm_lock(sys);
    struct gmm_object *o = object_find_file(sys, dev, ino);
    int ret = o ? object_writeback(sys, o, 0, UINT64_MAX >> PAGE_SHIFT, true) : 0;
    sys_mm_unlock(sys);
    return ret;
}
