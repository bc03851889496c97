/*
 * maps.c - /proc/PID/maps text, as fs/proc/task_mmu.c prints it on an
 * x86-64 kernel (also for i386 compat tasks): addresses and offset in hex
 * of at least 8 digits, dev as major:minor, the inode in decimal, a space,
 * and for a named line padding to column 73 before the name.
 */
#include "internal.h"

#include <stdio.h>

/* seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) on a 64-bit kernel. */
#define MAPS_NAME_COLUMN 72

void text_put(struct text *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

size_t text_finish(struct text *o)
{
    if (o->cap)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

/* Linux's new_encode_dev() halves of an st_dev value. */
static unsigned dev_major(uint64_t dev)
{
    return (unsigned)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~(uint64_t)0xfff));
}

static unsigned dev_minor(uint64_t dev)
{
    return (unsigned)((dev & 0xff) | ((dev >> 12) & ~(uint64_t)0xff));
}

/* Linux get_vma_name(); tmp holds a PR_SET_VMA_ANON_NAME name. */
static const char *region_name(gmm_space *s, const struct region *r, char *tmp, size_t n)
{
    if (r->obj) {
        if (r->obj->kind == OBJ_FILE)
            return r->obj->path;
        if (r->name) {
            snprintf(tmp, n, "[anon_shmem:%s]", r->name->str);
            return tmp;
        }
        return "/dev/zero (deleted)";
    }
    /* vma_is_initial_heap() */
    if (r->start < s->brk && r->end > s->start_brk)
        return "[heap]";
    /* vma_is_initial_stack() */
    if (r->start <= s->start_stack && r->end >= s->start_stack)
        return "[stack]";
    if (r->name) {
        snprintf(tmp, n, "[anon:%s]", r->name->str);
        return tmp;
    }
    return NULL;
}

void maps_show_region(gmm_space *s, const struct region *r, struct text *o)
{
    char line[256];
    uint64_t off = 0, dev = 0, ino = 0;
    if (r->obj) {
        off = r->pgoff << PAGE_SHIFT;
        dev = r->obj->dev;
        ino = r->obj->ino;
    }
    int n = snprintf(line, sizeof(line), "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu ",
                     (unsigned long long)r->start, (unsigned long long)r->end,
                     r->flags & VM_READ ? 'r' : '-', r->flags & VM_WRITE ? 'w' : '-',
                     r->flags & VM_EXEC ? 'x' : '-', r->flags & VM_MAYSHARE ? 's' : 'p',
                     (unsigned long long)off, dev_major(dev), dev_minor(dev),
                     (unsigned long long)ino);
    text_put(o, line, (size_t)n);
    char tmp[128];
    const char *name = region_name(s, r, tmp, sizeof(tmp));
    if (name) {
        static const char spaces[] = "                                                                        ";
        if (n < MAPS_NAME_COLUMN)
            text_put(o, spaces, (size_t)(MAPS_NAME_COLUMN - n));
        text_put(o, " ", 1);
        /* seq_file_path() escapes a newline in a path as \012. */
        for (const char *c = name; *c; c++) {
            if (*c == '\n')
                text_put(o, "\\012", 4);
            else
                text_put(o, c, 1);
        }
    }
    text_put(o, "\n", 1);
}

size_t gmm_space_maps(gmm_space *s, char *buf, size_t cap)
{
    struct text o = {buf, cap, 0};
    space_lock(s);
    for (struct region *r = s->first; r; r = r->next)
        maps_show_region(s, r, &o);
    space_unlock(s);
    return text_finish(&o);
}

int gmm_space_region_next(gmm_space *s, gmm_addr addr, gmm_region_info *out)
{
    space_lock(s);
    struct region *r = region_find(s, addr);
    if (r) {
        uint32_t f = r->flags;
        memset(out, 0, sizeof(*out));
        out->start = r->start;
        out->end = r->end;
        out->prot = (f & VM_READ ? GMM_PROT_READ : 0) | (f & VM_WRITE ? GMM_PROT_WRITE : 0) |
                    (f & VM_EXEC ? GMM_PROT_EXEC : 0);
        out->access = (vm_readable(f) ? GMM_ACCESS_READ : 0) | (f & VM_WRITE ? GMM_ACCESS_WRITE : 0) |
                      (f & VM_EXEC ? GMM_ACCESS_EXEC : 0);
        out->kind = !r->obj                  ? GMM_REGION_ANON
                    : r->obj->kind == OBJ_FILE ? GMM_REGION_FILE
                                               : GMM_REGION_SHARED_ANON;
        out->shared = (f & VM_MAYSHARE) != 0;
        out->growsdown = (f & VM_GROWSDOWN) != 0;
        if (r->obj) {
            out->dev = r->obj->dev;
            out->ino = r->obj->ino;
            if (r->obj->kind == OBJ_FILE)
                out->offset = r->pgoff << PAGE_SHIFT;
        }
    }
    space_unlock(s);
    return r != NULL;
}
