/*
 * host.h - the host layer contract.  host.c is the only file that calls the
 * host operating system.
 *
 * host_reserve(len): len bytes of readable, writable host memory, aligned to
 * at least 4 KiB, reading as zero until written, or NULL.  Committed lazily
 * where the host allows it (untouched pages cost no host memory).
 * host_release(p, len): gives back a block from host_reserve.
 */
#ifndef GMM_HOST_H
#define GMM_HOST_H
#include "internal.h"
#endif
