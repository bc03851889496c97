/* host.c - the calls to the host operating system (see host.h). */
#include "host.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

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

int host_memfile_create(void)
{
#if defined(__linux__) && defined(MFD_CLOEXEC)
    return memfd_create("guestmm", MFD_CLOEXEC);
#else
    return -1;
#endif
}

int host_memfile_grow(int fd, uint64_t size)
{
    return ftruncate(fd, (off_t)size) ? -1 : 0;
}

void *host_map_file(int fd, uint64_t off, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
    return p == MAP_FAILED ? NULL : p;
}

void host_punch(int fd, uint64_t off, uint64_t len)
{
#if defined(__linux__)
    /* Best effort: a frame that keeps its memory is still zeroed by
     * frame_alloc before its next use. */
    (void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
#else
    (void)fd, (void)off, (void)len;
#endif
}

void host_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

void *host_reserve_none(size_t len)
{
    void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int host_window_frames(uintptr_t addr, size_t len, bool writable, int fd, uint64_t off)
{
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void *p = mmap((void *)addr, len, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)off);
    return p == MAP_FAILED ? -1 : 0;
}

int host_window_zero(uintptr_t addr, size_t len)
{
    /* Private anonymous read-only memory reads the kernel's zero page, and
     * neighbouring such mappings merge into one. */
    void *p = mmap((void *)addr, len, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? -1 : 0;
}

int host_window_none(uintptr_t addr, size_t len)
{
    void *p = mmap((void *)addr, len, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? -1 : 0;
}

size_t host_page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}
