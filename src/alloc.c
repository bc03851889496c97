/*
 * alloc.c - every heap allocation of the library goes through here, to the
 * allocator of the system it is for (gmm_system_create_with_allocator; the
 * C library's by default).
 *
 * Each block starts with a header that names its system and its size, so
 * that gmm_free needs neither and the allocator is told the size it gave
 * (the lua_Alloc contract).  The header keeps the 16-byte alignment of the
 * allocator's blocks.  A system's own structure is a block of its own
 * allocator (its header points at the system itself).
 */
#include "internal.h"

#include <stdlib.h>

struct alloc_hdr {
    gmm_system *sys; /* whose allocator; NULL: the default one */
    size_t size;     /* bytes asked of the allocator, header included */
};
#define HDR_SIZE ((size_t)16)
_Static_assert(sizeof(struct alloc_hdr) <= HDR_SIZE, "allocation header too large");

void *gmm_default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud, (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

void *gmm_alloc_with(gmm_alloc_fn fn, void *ud, gmm_system *owner, size_t n)
{
    if (n > SIZE_MAX - HDR_SIZE)
        return NULL;
    struct alloc_hdr *h = fn(ud, NULL, 0, n + HDR_SIZE);
    if (!h)
        return NULL;
    h->sys = owner;
    h->size = n + HDR_SIZE;
    return (char *)h + HDR_SIZE;
}

void gmm_alloc_set_owner(void *p, gmm_system *owner)
{
    ((struct alloc_hdr *)(void *)((char *)p - HDR_SIZE))->sys = owner;
}

void *gmm_malloc(gmm_system *sys, size_t n)
{
    if (!sys)
        return gmm_alloc_with(gmm_default_alloc, NULL, NULL, n);
    return gmm_alloc_with(sys->alloc, sys->alloc_ud, sys, n);
}

void *gmm_calloc(gmm_system *sys, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = gmm_malloc(sys, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void gmm_free(void *p)
{
    if (!p)
        return;
    struct alloc_hdr *h = (struct alloc_hdr *)(void *)((char *)p - HDR_SIZE);
    /* Read the allocator first: the block may be the system itself. */
    gmm_alloc_fn fn = h->sys ? h->sys->alloc : gmm_default_alloc;
    void *ud = h->sys ? h->sys->alloc_ud : NULL;
    fn(ud, h, h->size, 0);
}

char *gmm_strdup(gmm_system *sys, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = gmm_malloc(sys, n);
    if (d)
        memcpy(d, s, n);
    return d;
}
