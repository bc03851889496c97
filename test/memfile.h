/*
 * memfile.h - an in-memory file behind gmm_file_ops, and a system whose
 * get_file hands it out, for the tests of calls that touch file mappings
 * (madvise, msync, mincore).  Guest fd 3 opens it read-write, fd 4
 * read-only.
 */
#ifndef GMM_MEMFILE_H
#define GMM_MEMFILE_H

#include "testutil.h"

struct memfile {
    uint8_t data[64 * 1024];
    uint64_t size;
    int writes;
};

static inline int64_t memfile_read(void *h, uint64_t off, void *buf, size_t len)
{
    struct memfile *f = *(struct memfile **)h;
    if (off >= f->size)
        return 0;
    if (len > f->size - off)
        len = (size_t)(f->size - off);
    memcpy(buf, f->data + off, len);
    return (int64_t)len;
}

static inline int64_t memfile_write(void *h, uint64_t off, const void *buf, size_t len)
{
    struct memfile *f = *(struct memfile **)h;
    if (off + len > sizeof(f->data))
        return -GMM_EFBIG;
    f->writes++;
    memcpy(f->data + off, buf, len);
    if (off + len > f->size)
        f->size = off + len;
    return (int64_t)len;
}

static inline int64_t memfile_size(void *h)
{
    return (int64_t)(*(struct memfile **)h)->size;
}

static const gmm_file_ops memfile_ops = {memfile_read, memfile_write, memfile_size, NULL};

enum { MEMFILE_FD_RW = 3, MEMFILE_FD_RDONLY = 4 };

/* The two open files of the memfile: distinct handles, one file. */
struct memfile_env {
    struct memfile file;
    struct memfile *rw, *ro;
};

static inline int memfile_get(void *user, int fd, gmm_file *out)
{
    struct memfile_env *e = user;
    memset(out, 0, sizeof(*out));
    if (fd != MEMFILE_FD_RW && fd != MEMFILE_FD_RDONLY)
        return -GMM_EBADF;
    out->ops = &memfile_ops;
    out->handle = fd == MEMFILE_FD_RW ? (void *)&e->rw : (void *)&e->ro;
    out->dev = 0x801;
    out->ino = 77;
    out->path = "/tmp/memfile";
    out->readable = 1;
    out->writable = fd == MEMFILE_FD_RW;
    return 0;
}

/* A system whose files are e's memfile, filled with size bytes of 'a' + page
 * number; host->fault is fault (may be NULL), called with e as its user. */
static inline gmm_system *memfile_system_faults(struct memfile_env *e, uint64_t size,
                                                void (*fault)(void *, gmm_space *,
                                                              const gmm_fault *))
{
    memset(e, 0, sizeof(*e));
    e->rw = e->ro = &e->file;
    e->file.size = size;
    for (uint64_t i = 0; i < size; i++)
        e->file.data[i] = (uint8_t)('a' + i / PG);
    gmm_host host = {.user = e, .get_file = memfile_get, .fault = fault};
    gmm_system *sys = gmm_system_create(&host);
    assert_non_null(sys);
    return sys;
}

static inline gmm_system *memfile_system(struct memfile_env *e, uint64_t size)
{
    return memfile_system_faults(e, size, NULL);
}

#endif
