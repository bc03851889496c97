/*
 * host.h - the host layer contract.  host.c is the only file that calls the
 * host operating system.
 *
 * host_reserve(len): len bytes of readable, writable host memory, aligned to
 * at least 4 KiB, reading as zero until written, or NULL.  Committed lazily
 * where the host allows it (untouched pages cost no host memory).
 * host_release(p, len): gives back a block from host_reserve or
 * host_map_file, or a reservation from host_reserve_none.
 *
 * Mappable frames (gmm_system_create_mappable) live in one memory file:
 * host_memfile_create() gives its descriptor (close-on-exec) or -1 where
 * the host has none; host_memfile_grow() sets its size (sparse);
 * host_map_file() maps len bytes of it at off, shared and writable, into
 * the library's own view (NULL on failure); host_punch() gives back the
 * memory of [off, off+len) (it reads as zero afterwards).
 *
 * Windows (window.c): host_reserve_none(len) reserves address space that
 * maps nothing (PROT_NONE, no commit), or NULL.  Over a reservation,
 * host_window_frames() maps [addr, addr+len) to the memory file at off,
 * host_window_zero() to private zero pages (read-only), and
 * host_window_none() back to reserved-only; 0 or -1 (the old mapping of
 * the range is then undefined: the caller recovers by host_window_none of
 * a larger range).  host_page_size() is the host's page size.
 */
#ifndef GMM_HOST_H
#define GMM_HOST_H
#include "internal.h"

GMM_HIDDEN int host_memfile_create(void);
GMM_HIDDEN int host_memfile_grow(int fd, uint64_t size);
GMM_HIDDEN void *host_map_file(int fd, uint64_t off, size_t len);
GMM_HIDDEN void host_punch(int fd, uint64_t off, uint64_t len);
GMM_HIDDEN void host_close(int fd);
GMM_HIDDEN void *host_reserve_none(size_t len);
GMM_HIDDEN int host_window_frames(uintptr_t addr, size_t len, bool writable, int fd, uint64_t off);
GMM_HIDDEN int host_window_zero(uintptr_t addr, size_t len);
GMM_HIDDEN int host_window_none(uintptr_t addr, size_t len);
GMM_HIDDEN size_t host_page_size(void);
#endif
