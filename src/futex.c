/*
 * futex.c - futex keys: what makes two futex operations name the same
 * word, as Linux's get_futex_key() decides it.  The emulator keeps the
 * wait queues; the library knows which memory a guest address reaches.
 */
#include "internal.h"

int gmm_space_futex_key(gmm_space *s, gmm_addr uaddr, int shared, int write, gmm_futex_key *out)
{
    uaddr = space_arg(s, uaddr);
    if (uaddr & 3)
        return -GMM_EINVAL;
    if (!user_range_ok(uaddr, sizeof(uint32_t)))
        return -GMM_EFAULT;
    memset(out, 0, sizeof(*out));
    out->ino = s->id;
    out->offset = uaddr;
    if (!shared) {
        /* A private futex: the mm and the address, nothing looked up. */
        out->kind = GMM_FUTEX_KEY_PRIVATE;
        return 0;
    }
    space_lock(s);
    int err = uaddr < s->task_size
                  ? space_fault(s, uaddr, write ? GMM_ACCESS_WRITE : GMM_ACCESS_READ)
                  : -GMM_EFAULT;
    if (!err) {
        struct region *r = region_find(s, uaddr);
        pte_t pte = pt_get(&s->pt, uaddr >> PAGE_SHIFT);
        uint64_t idx = r->pgoff + ((uaddr - r->start) >> PAGE_SHIFT);
        bool object = false;
        if (r->obj && (r->flags & VM_MAYSHARE)) {
            object = true;
        } else if (r->obj) {
            /* A private file mapping: the page cache's own page until a
             * store copied it (Linux: !PageAnon), then this mm's. */
            pte_t *o = pt_slot(&r->obj->pages, idx, false);
            object = o && *o && pte_frame(*o) == pte_frame(pte);
        }
        if (object) {
            out->kind = GMM_FUTEX_KEY_OBJECT;
            out->dev = r->obj->dev;
            out->ino = r->obj->ino;
            out->offset = (idx << PAGE_SHIFT) + OFFSET_IN_PAGE(uaddr);
        } else {
            out->kind = GMM_FUTEX_KEY_MM;
        }
    }
    space_unlock(s);
    return err;
}
