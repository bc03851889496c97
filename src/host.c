/* host.c - reserving and releasing frame arenas (see host.h). */
#include "host.h"

#include <sys/mman.h>

void *host_reserve(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void host_release(void *p, size_t len)
{
    munmap(p, len);
}
