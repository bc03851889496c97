/* alloc.c - every heap allocation of the library goes through here. */
#include "internal.h"

#include <stdlib.h>

void *gmm_malloc(size_t n) { return malloc(n); }
void *gmm_calloc(size_t n, size_t size) { return calloc(n, size); }
void gmm_free(void *p) { free(p); }

char *gmm_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = gmm_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
