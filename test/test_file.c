/*
 * test_file.c - file-backed and shared mappings: resolving fds through the
 * host, Linux's file checks and their order, the page cache shared between
 * spaces, private copy on write, writeback of dirty pages only, the end of
 * file, files changed behind the mappings, and maps lines of files.
 * Files are in memory (struct memfile).
 */
#include "testutil.h"

/* ---- an in-memory file ---- */

struct memfile {
    uint8_t data[64 * 1024];
    uint64_t size;
    int reads, writes, releases;
    uint64_t bytes_written;
    int ro_writes; /* writes tried through a read-only open file */
};

static int64_t mf_read(void *h, uint64_t off, void *buf, size_t len)
{
    struct memfile *f = h;
    f->reads++;
    if (off >= f->size)
        return 0;
    if (len > f->size - off)
        len = (size_t)(f->size - off);
    memcpy(buf, f->data + off, len);
    return (int64_t)len;
}

static int64_t mf_write(void *h, uint64_t off, const void *buf, size_t len)
{
    struct memfile *f = h;
    f->writes++;
    f->bytes_written += len;
    if (off + len > sizeof(f->data))
        return -GMM_EFBIG;
    memcpy(f->data + off, buf, len);
    if (off + len > f->size)
        f->size = off + len;
    return (int64_t)len;
}

static int64_t mf_size(void *h)
{
    return (int64_t)((struct memfile *)h)->size;
}

static void mf_release(void *h)
{
    ((struct memfile *)h)->releases++;
}

static const gmm_file_ops mf_ops = {mf_read, mf_write, mf_size, mf_release};

/* The ops of a read-only open file of the memfile: its host refuses a
 * write through it, as write(2) on an O_RDONLY fd does. */
static int64_t mf_ro_write(void *h, uint64_t off, const void *buf, size_t len)
{
    (void)off, (void)buf, (void)len;
    ((struct memfile *)h)->ro_writes++;
    return -GMM_EBADF;
}
static const gmm_file_ops mf_ro_ops = {mf_read, mf_ro_write, mf_size, mf_release};

/* Guest fds of the tests: each names a memfile and how it was opened. */
enum { FD_RW = 3, FD_RDONLY = 4, FD_WRONLY = 5, FD_DIR = 6, FD_OTHER_FILE = 7, FD_NEWLINE = 8 };
/* More open files of the same file whose get_file hands out FD_RW's own
 * handle (an emulator whose handle is the inode or the host file object):
 * one read-only, one write-only. */
enum { FD_SAME_RDONLY = 9, FD_SAME_WRONLY = 10 };

struct env {
    struct fault_log faults; /* first: the fault callback's user is the env */
    struct memfile file, other;
    uint64_t dev;            /* st_dev of file */
    gmm_system *sys;
    gmm_space *s;
    bool fail_allocs;        /* the system's allocator refuses every block */
};

static void *env_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    struct env *e = ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return e->fail_allocs ? NULL : malloc(new_size);
}

static int get_file(void *user, int fd, gmm_file *out)
{
    struct env *e = user;
    memset(out, 0, sizeof(*out));
    out->ops = &mf_ops;
    out->handle = &e->file;
    out->dev = e->dev;
    out->ino = 1234;
    out->path = "/tmp/data.bin";
    out->readable = 1;
    out->writable = 1;
    switch (fd) {
    case FD_RW:
        return 0;
    case FD_RDONLY:
        /* The same file through another open file: its own handle. */
        out->handle = (char *)&e->file + 1;
        out->writable = 0;
        return 0;
    case FD_WRONLY:
        return -GMM_EACCES;
    case FD_SAME_RDONLY:
        out->ops = &mf_ro_ops;
        out->writable = 0;
        return 0;
    case FD_SAME_WRONLY:
        out->readable = 0;
        return 0;
    case FD_DIR:
        return -GMM_ENODEV;
    case FD_OTHER_FILE:
    case FD_NEWLINE:
        out->handle = &e->other;
        out->ino = 99;
        out->path = fd == FD_NEWLINE ? "/tmp/a\nb" : "/tmp/other";
        return 0;
    default:
        return -GMM_EBADF;
    }
}

/* The read-only handle of e->file is an offset pointer: route it. */
static int64_t ro_read(void *h, uint64_t off, void *buf, size_t len)
{
    return mf_read((char *)h - 1, off, buf, len);
}
static int64_t ro_size(void *h) { return mf_size((char *)h - 1); }
static void ro_release(void *h) { mf_release((char *)h - 1); }
static const gmm_file_ops ro_ops = {ro_read, NULL, ro_size, ro_release};

static int get_file_routed(void *user, int fd, gmm_file *out)
{
    int r = get_file(user, fd, out);
    if (!r && fd == FD_RDONLY)
        out->ops = &ro_ops;
    return r;
}

static void env_open_dev(struct env *e, uint64_t file_size, uint64_t dev)
{
    memset(e, 0, sizeof(*e));
    e->dev = dev;
    for (size_t i = 0; i < sizeof(e->file.data); i++)
        e->file.data[i] = (uint8_t)(i / PG + 'A');
    e->file.size = file_size;
    e->other.size = 2 * PG;
    memset(e->other.data, 'o', 2 * PG);
    gmm_host host = {.user = e, .get_file = get_file_routed, .fault = record_fault};
    e->sys = gmm_system_create_with_allocator(&host, env_alloc, e);
    assert_non_null(e->sys);
    e->s = new_space(e->sys, GMM_ABI_X86_64);
}

static void env_open(struct env *e, uint64_t file_size)
{
    env_open_dev(e, file_size, 0x801);
}

static void env_close(struct env *e)
{
    if (e->s)
        gmm_space_destroy(e->s);
    gmm_system_destroy(e->sys);
}

#define TOP 0x7ffff7fff000ull
#define R GMM_PROT_READ
#define FSHARED GMM_MAP_SHARED
#define FPRIV GMM_MAP_PRIVATE

static int64_t fmap(gmm_space *s, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
    int64_t r = gmm_sys_mmap(s, 0, len, prot, flags, fd, off);
    CHECK(s);
    return r;
}

static uint8_t peek(gmm_space *s, gmm_addr a)
{
    uint8_t b = 0;
    assert_int_equal(gmm_read(s, a, &b, 1), 0);
    return b;
}

static void poke(gmm_space *s, gmm_addr a, uint8_t v)
{
    assert_int_equal(gmm_write(s, a, &v, 1), 0);
    CHECK(s);
}

/* ---- resolving the fd and Linux's order of checks ---- */

static void file_bad_fd_is_ebadf(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, R, FPRIV, 42, 0), -GMM_EBADF);
    env_close(&e);
}

static void file_without_host_is_ebadf(void **state)
{
    (void)state;
    gmm_system *sys = new_system(NULL);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, 0, PG, R, FPRIV, 3, 0), -GMM_EBADF);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

static void file_unaligned_offset_is_einval_before_ebadf(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, R, FPRIV, 42, 100), -GMM_EINVAL);
    env_close(&e);
}

static void file_ebadf_comes_before_the_length_check(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, 0, R, FPRIV, 42, 0), -GMM_EBADF);
    env_close(&e);
}

static void file_write_only_fd_is_eacces_for_every_prot_and_type(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    int prots[] = {R, GMM_PROT_WRITE, RW};
    int types[] = {FPRIV, FSHARED};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            assert_int_equal(fmap(e.s, PG, prots[i], types[j], FD_WRONLY, 0), -GMM_EACCES);
    env_close(&e);
}

static void file_length_zero_is_einval_before_eacces(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, 0, RW, FSHARED, FD_WRONLY, 0), -GMM_EINVAL);
    env_close(&e);
}

static void file_map_type_zero_is_einval_before_eacces(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, R, GMM_MAP_FILE, FD_WRONLY, 0), -GMM_EINVAL);
    env_close(&e);
}

static void file_unmappable_is_enodev(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, R, FPRIV, FD_DIR, 0), -GMM_ENODEV);
    assert_int_equal(fmap(e.s, 0, R, FPRIV, FD_DIR, 0), -GMM_EINVAL);
    env_close(&e);
}

static void file_shared_write_on_read_only_fd_is_eacces(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, RW, FSHARED, FD_RDONLY, 0), -GMM_EACCES);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void file_shared_read_on_read_only_fd_cannot_become_writable(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    int64_t a = fmap(e.s, PG, R, FSHARED, FD_RDONLY, 0);
    assert_int_equal(a, TOP - PG);
    assert_int_equal(gmm_sys_mprotect(e.s, (gmm_addr)a, PG, RW), -GMM_EACCES);
    /* Still shown as shared ('s': VM_MAYSHARE). */
    ASSERT_MAPS(e.s, "7ffff7ffe000-7ffff7fff000 r--s 00000000 08:01 1234                       "
                     "/tmp/data.bin\n");
    env_close(&e);
}

static void file_private_write_on_read_only_fd_is_copy_on_write(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    int64_t a = fmap(e.s, 2 * PG, RW, FPRIV, FD_RDONLY, 0);
    assert_int_equal(a, TOP - 2 * PG);
    assert_int_equal(peek(e.s, (gmm_addr)a), 'A');
    poke(e.s, (gmm_addr)a, 'z');
    assert_int_equal(peek(e.s, (gmm_addr)a), 'z');
    assert_int_equal(e.file.data[0], 'A');
    assert_int_equal(gmm_sys_munmap(e.s, (gmm_addr)a, 2 * PG), 0);
    assert_int_equal(e.file.writes, 0);
    assert_int_equal(e.file.data[0], 'A');
    env_close(&e);
}

static void file_shared_validate_unknown_flag_is_eopnotsupp(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, R, GMM_MAP_SHARED_VALIDATE | 0x400, FD_RW, 0), -GMM_EOPNOTSUPP);
    assert_int_equal(fmap(e.s, PG, R, GMM_MAP_SHARED_VALIDATE | GMM_MAP_SYNC, FD_RW, 0),
                     -GMM_EOPNOTSUPP);
    /* Plain MAP_SHARED drops what it does not know. */
    assert_int_equal(fmap(e.s, PG, R, FSHARED | 0x400, FD_RW, 0), TOP - PG);
    assert_int_equal(fmap(e.s, PG, R, GMM_MAP_SHARED_VALIDATE, FD_RW, 0), TOP - 2 * PG);
    env_close(&e);
}

static void file_map_sync_is_eopnotsupp_for_every_type_after_the_file_checks(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    /* No file here is DAX: MAP_SYNC is refused, even where MAP_SHARED
     * drops unknown flags (checked natively on 6.18, ext4). */
    assert_int_equal(fmap(e.s, PG, R, FPRIV | GMM_MAP_SYNC, FD_RW, 0), -GMM_EOPNOTSUPP);
    assert_int_equal(fmap(e.s, PG, R, FSHARED | GMM_MAP_SYNC, FD_RW, 0), -GMM_EOPNOTSUPP);
    /* ...after the access and growsdown checks. */
    assert_int_equal(fmap(e.s, PG, RW, FSHARED | GMM_MAP_SYNC, FD_RDONLY, 0), -GMM_EACCES);
    assert_int_equal(fmap(e.s, PG, R, FPRIV | GMM_MAP_SYNC | GMM_MAP_GROWSDOWN, FD_RW, 0),
                     -GMM_EINVAL);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
}

static void file_offset_overflow_is_eoverflow(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    /* The last page a regular file can have, and one past it. */
    uint64_t last = (uint64_t)INT64_MAX & ~(PG - 1);
    assert_int_equal(gmm_sys_mmap(e.s, 0, PG, R, FPRIV, FD_RW, last), -GMM_EOVERFLOW);
    assert_true(gmm_sys_mmap(e.s, 0, PG, R, FPRIV, FD_RW, last - PG) > 0);
    /* Negative offsets are beyond it too. */
    assert_int_equal(gmm_sys_mmap(e.s, 0, PG, R, FPRIV, FD_RW, (uint64_t)-8192), -GMM_EOVERFLOW);
    env_close(&e);
}

static void file_growsdown_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, R, FPRIV | GMM_MAP_GROWSDOWN, FD_RW, 0), -GMM_EINVAL);
    env_close(&e);
}

static void file_hugetlb_is_einval(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    assert_int_equal(fmap(e.s, PG, R, FPRIV | GMM_MAP_HUGETLB, FD_RW, 0), -GMM_EINVAL);
    env_close(&e);
}

/* ---- one handle, open files of different modes ----
 * get_file hands out FD_RW's handle for FD_SAME_RDONLY and FD_SAME_WRONLY
 * too.  Each mapping has the rights of the fd it was made from (Linux's
 * VM_MAYREAD/VM_MAYWRITE come from the open file's f_mode), whichever fd
 * was mapped first.  Every test runs in both orders. */

/* Space a maps FD_RW shared read-write, space b maps FD_SAME_RDONLY shared
 * read-only, in the order asked.  Returns a's address in *aa and b's in
 * *ba. */
static void map_rw_and_ro(struct env *e, gmm_space *b, bool rw_first, gmm_addr *aa, gmm_addr *ba)
{
    int64_t x = 0, y = 0;
    if (!rw_first)
        y = fmap(b, 2 * PG, R, FSHARED, FD_SAME_RDONLY, 0);
    x = fmap(e->s, 2 * PG, RW, FSHARED, FD_RW, 0);
    if (rw_first)
        y = fmap(b, 2 * PG, R, FSHARED, FD_SAME_RDONLY, 0);
    assert_int_equal(x, TOP - 2 * PG);
    assert_int_equal(y, TOP - 2 * PG);
    *aa = (gmm_addr)x;
    *ba = (gmm_addr)y;
}

static void shared_handle_mmap_takes_the_rights_of_its_own_fd(bool rw_first)
{
    struct env e;
    env_open(&e, 4 * PG);
    gmm_space *b = new_space(e.sys, GMM_ABI_X86_64);
    gmm_addr aa, ba;
    map_rw_and_ro(&e, b, rw_first, &aa, &ba);
    /* The read-only fd cannot map shared writable, the write-only one
     * cannot map at all; private writable from the read-only fd is fine. */
    assert_int_equal(fmap(b, PG, RW, FSHARED, FD_SAME_RDONLY, 0), -GMM_EACCES);
    assert_int_equal(fmap(b, PG, RW, GMM_MAP_SHARED_VALIDATE, FD_SAME_RDONLY, 0), -GMM_EACCES);
    assert_int_equal(fmap(b, PG, R, FSHARED, FD_SAME_WRONLY, 0), -GMM_EACCES);
    assert_int_equal(fmap(b, PG, RW, FSHARED, FD_SAME_WRONLY, 0), -GMM_EACCES);
    assert_int_equal(fmap(b, PG, R, FPRIV, FD_SAME_WRONLY, 0), -GMM_EACCES);
    assert_int_equal(fmap(b, PG, RW, FPRIV, FD_SAME_RDONLY, 0), TOP - 3 * PG);
    /* The read-write fd still maps shared writable. */
    assert_int_equal(fmap(e.s, PG, RW, FSHARED, FD_RW, PG), TOP - 3 * PG);
    ASSERT_MAPS(b, "7ffff7ffc000-7ffff7ffd000 rw-p 00000000 08:01 1234                       "
                   "/tmp/data.bin\n"
                   "7ffff7ffd000-7ffff7fff000 r--s 00000000 08:01 1234                       "
                   "/tmp/data.bin\n");
    assert_int_equal(e.file.releases, 0);
    gmm_space_destroy(b);
    assert_int_equal(e.file.releases, 0);
    env_close(&e);
    /* One release for the handle, once nothing holds it under any rights. */
    assert_int_equal(e.file.releases, 1);
    assert_int_equal(e.file.writes, 0);
    assert_int_equal(e.file.ro_writes, 0);
}

static void file_shared_handle_mmap_rights_rw_first(void **state)
{
    (void)state;
    shared_handle_mmap_takes_the_rights_of_its_own_fd(true);
}

static void file_shared_handle_mmap_rights_ro_first(void **state)
{
    (void)state;
    shared_handle_mmap_takes_the_rights_of_its_own_fd(false);
}

static void shared_handle_read_only_mapping_cannot_become_writable(bool rw_first)
{
    struct env e;
    env_open(&e, 4 * PG);
    gmm_space *b = new_space(e.sys, GMM_ABI_X86_64);
    gmm_addr aa, ba;
    map_rw_and_ro(&e, b, rw_first, &aa, &ba);
    assert_int_equal(gmm_sys_mprotect(b, ba, 2 * PG, RW), -GMM_EACCES);
    assert_int_equal(gmm_sys_mprotect(b, ba, PG, GMM_PROT_WRITE), -GMM_EACCES);
    /* Read and exec stay within its rights (VM_MAYEXEC). */
    assert_int_equal(gmm_sys_mprotect(b, ba, PG, R | GMM_PROT_EXEC), 0);
    assert_int_equal(gmm_sys_mprotect(b, ba, PG, R), 0);
    uint8_t v = 'w';
    assert_int_equal(gmm_write(b, ba, &v, 1), -GMM_EFAULT);
    assert_null(gmm_translate(b, ba, GMM_ACCESS_WRITE));
    assert_int_equal(e.faults.count, 1);
    assert_int_equal(e.faults.last.code, GMM_SEGV_ACCERR);
    /* Nothing reached the page cache or the file. */
    assert_int_equal(peek(e.s, aa), 'A');
    assert_int_equal(peek(b, ba), 'A');
    assert_int_equal(gmm_sys_munmap(b, ba, 2 * PG), 0);
    assert_int_equal(gmm_sys_munmap(e.s, aa, 2 * PG), 0);
    assert_int_equal(e.file.writes, 0);
    assert_int_equal(e.file.ro_writes, 0);
    assert_int_equal(e.file.data[0], 'A');
    assert_int_equal(e.file.releases, 1);
    gmm_space_destroy(b);
    env_close(&e);
}

static void file_shared_handle_no_write_through_read_only_fd_rw_first(void **state)
{
    (void)state;
    shared_handle_read_only_mapping_cannot_become_writable(true);
}

static void file_shared_handle_no_write_through_read_only_fd_ro_first(void **state)
{
    (void)state;
    shared_handle_read_only_mapping_cannot_become_writable(false);
}

static void shared_handle_private_mapping_of_read_only_fd_becomes_writable(bool rw_first)
{
    struct env e;
    env_open(&e, 4 * PG);
    gmm_space *b = new_space(e.sys, GMM_ABI_X86_64);
    gmm_addr aa, ba;
    map_rw_and_ro(&e, b, rw_first, &aa, &ba);
    int64_t p = fmap(b, PG, R, FPRIV, FD_SAME_RDONLY, 0);
    assert_int_equal(p, TOP - 3 * PG);
    /* Private: VM_MAYWRITE whatever the fd's mode; stores are copies. */
    assert_int_equal(gmm_sys_mprotect(b, (gmm_addr)p, PG, RW), 0);
    poke(b, (gmm_addr)p, 'z');
    assert_int_equal(peek(b, (gmm_addr)p), 'z');
    assert_int_equal(peek(b, ba), 'A');
    assert_int_equal(peek(e.s, aa), 'A');
    assert_int_equal(gmm_sys_msync(b, (gmm_addr)p, PG, GMM_MS_SYNC), 0);
    gmm_space_destroy(b);
    assert_int_equal(e.file.writes, 0);
    assert_int_equal(e.file.ro_writes, 0);
    assert_int_equal(e.file.data[0], 'A');
    env_close(&e);
    assert_int_equal(e.file.releases, 1);
}

static void file_shared_handle_private_of_read_only_fd_is_writable_rw_first(void **state)
{
    (void)state;
    shared_handle_private_mapping_of_read_only_fd_becomes_writable(true);
}

static void file_shared_handle_private_of_read_only_fd_is_writable_ro_first(void **state)
{
    (void)state;
    shared_handle_private_mapping_of_read_only_fd_becomes_writable(false);
}

static void shared_handle_writeback_goes_through_the_writable_fd(bool rw_first)
{
    struct env e;
    env_open(&e, 4 * PG);
    gmm_space *b = new_space(e.sys, GMM_ABI_X86_64);
    gmm_addr aa, ba;
    map_rw_and_ro(&e, b, rw_first, &aa, &ba);
    poke(e.s, aa + 7, 'd');
    assert_int_equal(peek(b, ba + 7), 'd');
    /* msync of the read-only mapping syncs nothing (Linux: no VM_SHARED,
     * no vfs_fsync_range); the writable one's writes back through FD_RW. */
    assert_int_equal(gmm_sys_msync(b, ba, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 0);
    assert_int_equal(e.file.data[7], 'A');
    assert_int_equal(gmm_sys_msync(e.s, aa, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 1);
    assert_int_equal(e.file.ro_writes, 0);
    assert_int_equal(e.file.data[7], 'd');
    /* Dirty again, then the only writable mapping goes: its pages are
     * written back through it, and the read-only one still sees them. */
    poke(e.s, aa + PG + 9, 'e');
    assert_int_equal(gmm_sys_munmap(e.s, aa, 2 * PG), 0);
    assert_int_equal(e.file.writes, 2);
    assert_int_equal(e.file.ro_writes, 0);
    assert_int_equal(e.file.data[PG + 9], 'e');
    assert_int_equal(peek(b, ba + PG + 9), 'e');
    /* Nothing is dirty, and nothing left can dirty a page. */
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(gmm_sys_msync(b, ba, 2 * PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 2);
    assert_int_equal(e.file.ro_writes, 0);
    assert_int_equal(e.file.releases, 0);
    /* A new writable mapping brings its handle back for writeback. */
    int64_t c = fmap(e.s, PG, RW, FSHARED, FD_RW, 0);
    assert_int_equal(c, TOP - PG);
    poke(e.s, (gmm_addr)c + 1, 'f');
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(e.file.writes, 3);
    assert_int_equal(e.file.ro_writes, 0);
    assert_int_equal(e.file.data[1], 'f');
    gmm_space_destroy(b);
    env_close(&e);
    assert_int_equal(e.file.writes, 3);
    assert_int_equal(e.file.releases, 1);
}

static void file_shared_handle_writeback_through_writable_fd_rw_first(void **state)
{
    (void)state;
    shared_handle_writeback_goes_through_the_writable_fd(true);
}

static void file_shared_handle_writeback_through_writable_fd_ro_first(void **state)
{
    (void)state;
    shared_handle_writeback_goes_through_the_writable_fd(false);
}

/* No memory for the read-only fd's own reference: the mmap fails, and
 * the handle, still held for the read-write fd, is not released. */
static void file_shared_handle_out_of_memory_keeps_the_handle_held(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    int64_t a = fmap(e.s, 2 * PG, RW, FSHARED, FD_RW, 0);
    assert_int_equal(a, TOP - 2 * PG);
    e.fail_allocs = true;
    assert_int_equal(fmap(e.s, PG, R, FSHARED, FD_SAME_RDONLY, 0), -GMM_ENOMEM);
    e.fail_allocs = false;
    assert_int_equal(e.file.releases, 0);
    poke(e.s, (gmm_addr)a, 'm');
    assert_int_equal(gmm_sys_munmap(e.s, (gmm_addr)a, 2 * PG), 0);
    assert_int_equal(e.file.releases, 1);
    assert_int_equal(e.file.writes, 1);
    assert_int_equal(e.file.data[0], 'm');
    /* Nothing held: the failed reference releases the handle at once. */
    e.fail_allocs = true;
    assert_int_equal(fmap(e.s, PG, R, FSHARED, FD_SAME_RDONLY, 0), -GMM_ENOMEM);
    e.fail_allocs = false;
    assert_int_equal(e.file.releases, 2);
    ASSERT_MAPS(e.s, "");
    env_close(&e);
    assert_int_equal(e.file.releases, 2);
}

/* ---- handle references ---- */

static void file_release_runs_when_the_last_mapping_goes(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    int64_t a = fmap(e.s, 4 * PG, R, FPRIV, FD_RW, 0);
    assert_int_equal(gmm_sys_munmap(e.s, (gmm_addr)a + PG, PG), 0); /* split in two */
    assert_int_equal(e.file.releases, 0);
    assert_int_equal(gmm_sys_munmap(e.s, (gmm_addr)a, PG), 0);
    assert_int_equal(e.file.releases, 0);
    assert_int_equal(gmm_sys_munmap(e.s, (gmm_addr)a, 4 * PG), 0);
    assert_int_equal(e.file.releases, 1);
    env_close(&e);
}

static void file_release_runs_after_a_failed_mmap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    assert_int_equal(fmap(e.s, PG, R, FPRIV | GMM_MAP_GROWSDOWN, FD_RW, 0), -GMM_EINVAL);
    assert_int_equal(e.file.releases, 1);
    env_close(&e);
}

static void file_release_runs_at_space_destruction(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    fmap(e.s, PG, R, FPRIV, FD_RW, 0);
    fmap(e.s, PG, R, FPRIV, FD_RW, PG);
    gmm_space_destroy(e.s);
    e.s = NULL;
    assert_int_equal(e.file.releases, 1);
    env_close(&e);
}

/* ---- the page cache ---- */

static void file_pages_are_read_on_first_touch_not_at_mmap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 8 * PG);
    int64_t a = fmap(e.s, 8 * PG, R, FPRIV, FD_RW, 0);
    assert_int_equal(e.file.reads, 0);
    assert_int_equal(peek(e.s, (gmm_addr)a + 3 * PG), 'D');
    assert_int_equal(e.file.reads, 1);
    assert_int_equal(peek(e.s, (gmm_addr)a + 3 * PG + 7), 'D');
    assert_int_equal(e.file.reads, 1);
    env_close(&e);
}

static void file_offset_selects_file_pages(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 8 * PG);
    int64_t a = fmap(e.s, 2 * PG, R, FPRIV, FD_RW, 2 * PG);
    assert_int_equal(peek(e.s, (gmm_addr)a), 'C');
    assert_int_equal(peek(e.s, (gmm_addr)a + PG), 'D');
    env_close(&e);
}

static void file_shared_writes_are_seen_by_every_space_and_private_is_apart(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    gmm_space *s2 = new_space(e.sys, GMM_ABI_I386);
    gmm_space *s3 = new_space(e.sys, GMM_ABI_X86_64);
    int64_t a1 = fmap(e.s, 4 * PG, RW, FSHARED, FD_RW, 0);
    int64_t a2 = fmap(s2, 4 * PG, RW, FSHARED, FD_RW, 0);
    int64_t a3 = fmap(s3, 4 * PG, RW, FPRIV, FD_RW, 0);
    assert_int_equal(a2, 0xf7ffe000 - 4 * PG);

    /* The private space reads the file, then writes its own copy. */
    assert_int_equal(peek(s3, (gmm_addr)a3 + PG), 'B');
    poke(s3, (gmm_addr)a3 + PG, 'p');

    /* A shared store is seen at once by the other shared space... */
    poke(e.s, (gmm_addr)a1 + PG, 'x');
    assert_int_equal(peek(s2, (gmm_addr)a2 + PG), 'x');
    uint8_t *p = gmm_translate(s2, (gmm_addr)a2 + 2 * PG, GMM_ACCESS_WRITE);
    assert_non_null(p);
    *p = 'y';
    assert_int_equal(peek(e.s, (gmm_addr)a1 + 2 * PG), 'y');
    /* ...and by a private mapping that has not copied the page... */
    assert_int_equal(peek(s3, (gmm_addr)a3 + 2 * PG), 'y');
    /* ...but not where it has its own copy. */
    assert_int_equal(peek(s3, (gmm_addr)a3 + PG), 'p');
    /* Nothing reached the file yet. */
    assert_int_equal(e.file.writes, 0);
    assert_int_equal(e.file.data[PG], 'B');

    /* Unmapping one shared mapping writes nothing: another still maps it. */
    assert_int_equal(gmm_sys_munmap(s2, (gmm_addr)a2, 4 * PG), 0);
    assert_int_equal(e.file.writes, 0);
    /* The file sync writes the two dirty pages, and only them. */
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(e.file.writes, 2);
    assert_int_equal(e.file.bytes_written, 2 * PG);
    assert_int_equal(e.file.data[PG], 'x');
    assert_int_equal(e.file.data[2 * PG], 'y');
    /* Clean now: a second sync writes nothing... */
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(e.file.writes, 2);
    /* ...until the page is stored to again (through a TLB that had it). */
    p = gmm_translate(e.s, (gmm_addr)a1 + PG, GMM_ACCESS_WRITE);
    assert_non_null(p);
    *p = 'w';
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(e.file.writes, 3);
    assert_int_equal(e.file.data[PG], 'w');
    /* The private copy never reaches the file. */
    gmm_space_destroy(s3);
    assert_int_equal(e.file.data[PG], 'w');
    gmm_space_destroy(s2);
    env_close(&e);
}

static void file_shared_dirty_pages_are_written_back_at_last_munmap(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    int64_t a = fmap(e.s, 4 * PG, RW, FSHARED, FD_RW, 0);
    assert_int_equal(peek(e.s, (gmm_addr)a), 'A'); /* read: stays clean */
    poke(e.s, (gmm_addr)a + 3 * PG + 5, 'q');
    assert_int_equal(gmm_sys_munmap(e.s, (gmm_addr)a, 4 * PG), 0);
    assert_int_equal(e.file.writes, 1);
    assert_int_equal(e.file.data[3 * PG + 5], 'q');
    env_close(&e);
}

static void file_shared_dirty_pages_are_written_back_at_system_destruction(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    int64_t a = fmap(e.s, 4 * PG, RW, FSHARED, FD_RW, 0);
    poke(e.s, (gmm_addr)a + 5, 'd');
    gmm_system_destroy(e.sys);
    assert_int_equal(e.file.data[5], 'd');
    assert_int_equal(e.file.releases, 1);
}

static void file_spaces_share_one_frame_per_page(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    gmm_space *s2 = new_space(e.sys, GMM_ABI_X86_64);
    int64_t a1 = fmap(e.s, PG, R, FSHARED, FD_RW, 0);
    int64_t a2 = fmap(s2, PG, R, FPRIV, FD_RW, 0);
    void *p1 = gmm_translate(e.s, (gmm_addr)a1, GMM_ACCESS_READ);
    void *p2 = gmm_translate(s2, (gmm_addr)a2, GMM_ACCESS_READ);
    assert_ptr_equal(p1, p2);
    assert_int_equal(e.file.reads, 1);
    gmm_space_destroy(s2);
    env_close(&e);
}

/* ---- end of file ---- */

static void file_tail_of_last_page_reads_zero_and_never_reaches_the_file(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, PG + 100);
    int64_t a = fmap(e.s, 2 * PG, RW, FSHARED, FD_RW, 0);
    assert_int_equal(peek(e.s, (gmm_addr)a + PG + 99), 'B');
    assert_int_equal(peek(e.s, (gmm_addr)a + PG + 100), 0);
    assert_int_equal(peek(e.s, (gmm_addr)a + 2 * PG - 1), 0);
    poke(e.s, (gmm_addr)a + PG + 200, 't');
    assert_int_equal(peek(e.s, (gmm_addr)a + PG + 200), 't');
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(e.file.size, PG + 100);
    assert_int_equal(e.file.bytes_written, 100);
    assert_int_equal(e.file.data[PG + 200], 'B');
    env_close(&e);
}

static void file_pages_wholly_beyond_eof_fault_sigbus(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, PG + 100);
    int64_t a = fmap(e.s, 3 * PG, RW, FPRIV, FD_RW, 0);
    uint8_t b;
    /* User copies: -EFAULT and no signal. */
    assert_int_equal(gmm_read(e.s, (gmm_addr)a + 2 * PG, &b, 1), -GMM_EFAULT);
    assert_int_equal(gmm_write(e.s, (gmm_addr)a + 2 * PG, &b, 1), -GMM_EFAULT);
    assert_int_equal(e.faults.count, 0);
    /* The CPU path: SIGBUS/BUS_ADRERR, for reads and writes. */
    assert_null(gmm_translate(e.s, (gmm_addr)a + 2 * PG + 8, GMM_ACCESS_READ));
    assert_int_equal(e.faults.count, 1);
    assert_int_equal(e.faults.last.signo, GMM_SIGBUS);
    assert_int_equal(e.faults.last.code, GMM_BUS_ADRERR);
    assert_int_equal(e.faults.last.addr, (gmm_addr)a + 2 * PG + 8);
    assert_null(gmm_translate(e.s, (gmm_addr)a + 2 * PG, GMM_ACCESS_WRITE));
    assert_int_equal(e.faults.last.signo, GMM_SIGBUS);
    /* Pages before the end do not fault. */
    assert_non_null(gmm_translate(e.s, (gmm_addr)a + PG + 4000, GMM_ACCESS_WRITE));
    env_close(&e);
}

static void file_mapping_that_starts_beyond_the_end_maps_and_faults(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, PG);
    int64_t b = fmap(e.s, PG, R, FPRIV, FD_RW, 10 * PG);
    assert_int_equal(b, TOP - PG);
    assert_null(gmm_translate(e.s, (gmm_addr)b, GMM_ACCESS_READ));
    assert_int_equal(e.faults.last.signo, GMM_SIGBUS);
    env_close(&e);
}

/* ---- files changed behind the mappings ---- */

static void file_outside_write_is_seen_by_shared_mappings(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    int64_t a = fmap(e.s, 4 * PG, R, FSHARED, FD_RW, 0);
    assert_int_equal(peek(e.s, (gmm_addr)a + PG), 'B');
    /* The emulator's write(2) path: write the file, then tell. */
    memcpy(e.file.data + PG, "hello", 5);
    gmm_file_written(e.sys, 0x801, 1234, PG, "hello", 5);
    assert_int_equal(peek(e.s, (gmm_addr)a + PG + 1), 'e');
    /* Pages not cached yet are read from the file when touched. */
    memcpy(e.file.data + 2 * PG, "zz", 2);
    gmm_file_written(e.sys, 0x801, 1234, 2 * PG, "zz", 2);
    assert_int_equal(peek(e.s, (gmm_addr)a + 2 * PG), 'z');
    env_close(&e);
}

static void file_truncation_makes_pages_beyond_the_end_sigbus_even_private_copies(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    int64_t sh = fmap(e.s, 4 * PG, RW, FSHARED, FD_RW, 0);
    int64_t pv = fmap(e.s, 4 * PG, RW, FPRIV, FD_RW, 0);
    poke(e.s, (gmm_addr)pv + 3 * PG, 'c'); /* a private copy */
    poke(e.s, (gmm_addr)sh + PG + 3000, 'k');
    assert_int_equal(peek(e.s, (gmm_addr)sh + 3 * PG), 'D');

    e.file.size = PG + 2000;
    gmm_file_resized(e.sys, 0x801, 1234, PG + 2000);
    CHECK(e.s);
    uint8_t b;
    assert_int_equal(gmm_read(e.s, (gmm_addr)sh + 3 * PG, &b, 1), -GMM_EFAULT);
    assert_int_equal(gmm_read(e.s, (gmm_addr)pv + 3 * PG, &b, 1), -GMM_EFAULT);
    assert_null(gmm_translate(e.s, (gmm_addr)pv + 3 * PG, GMM_ACCESS_READ));
    assert_int_equal(e.faults.last.signo, GMM_SIGBUS);
    /* The new last page: the part beyond the end reads zero. */
    assert_int_equal(peek(e.s, (gmm_addr)sh + PG + 1999), 'B');
    assert_int_equal(peek(e.s, (gmm_addr)sh + PG + 3000), 0);

    /* Growing again: the new part reads zero. */
    e.file.size = 4 * PG;
    memset(e.file.data + PG + 2000, 0, 3 * PG - 2000);
    gmm_file_resized(e.sys, 0x801, 1234, 4 * PG);
    assert_int_equal(peek(e.s, (gmm_addr)sh + 3 * PG), 0);
    assert_int_equal(peek(e.s, (gmm_addr)pv + 3 * PG), 0);
    env_close(&e);
}

/* ---- maps ---- */

static void file_maps_line_shows_offset_dev_inode_and_path(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 8 * PG);
    fmap(e.s, PG, R | GMM_PROT_EXEC, FPRIV, FD_RW, 3 * PG);
    fmap(e.s, PG, RW, FSHARED, FD_OTHER_FILE, 0);
    ASSERT_MAPS(e.s, "7ffff7ffd000-7ffff7ffe000 rw-s 00000000 08:01 99                         "
                     "/tmp/other\n"
                     "7ffff7ffe000-7ffff7fff000 r-xp 00003000 08:01 1234                       "
                     "/tmp/data.bin\n");
    env_close(&e);
}

static void file_adjacent_mappings_merge_only_with_contiguous_offsets(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 8 * PG);
    /* Top-down: the second mapping lands below the first. */
    fmap(e.s, PG, R, FPRIV, FD_RW, PG);
    fmap(e.s, PG, R, FPRIV, FD_RW, 0); /* offset 0 right below offset 1: merges */
    fmap(e.s, PG, R, FPRIV, FD_RW, 0); /* offset 0 below offset 0: does not */
    ASSERT_MAPS(e.s, "7ffff7ffc000-7ffff7ffd000 r--p 00000000 08:01 1234                       "
                     "/tmp/data.bin\n"
                     "7ffff7ffd000-7ffff7fff000 r--p 00000000 08:01 1234                       "
                     "/tmp/data.bin\n");
    /* The same file through another handle (another open file) does not
     * merge either. */
    fmap(e.s, PG, R, FPRIV, FD_RDONLY, 0);
    fmap(e.s, PG, R, FPRIV, FD_RW, 0);
    int lines = 0;
    for (const char *p = maps_of(e.s); *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4);
    env_close(&e);
}

static void file_device_numbers_print_as_linux_encodes_them(void **state)
{
    (void)state;
    struct env e;
    /* st_dev of major 0x103, minor 0x12345 in Linux's new_encode_dev
     * layout: minor low byte, 12 bits of major, then the minor's rest. */
    uint64_t dev = (0x12345 & 0xff) | (0x103 << 8) | ((uint64_t)(0x12345 & ~0xff) << 12);
    env_open_dev(&e, PG, dev);
    fmap(e.s, PG, R, FPRIV, FD_RW, 0);
    ASSERT_MAPS(e.s, "7ffff7ffe000-7ffff7fff000 r--p 00000000 103:12345 1234                   "
                     "/tmp/data.bin\n");
    env_close(&e);
}

static void file_newline_in_path_is_escaped(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, PG);
    fmap(e.s, PG, R, FPRIV, FD_NEWLINE, 0);
    ASSERT_MAPS(e.s, "7ffff7ffe000-7ffff7fff000 r--p 00000000 08:01 99                         "
                     "/tmp/a\\012b\n");
    env_close(&e);
}

/* Issue 3's scenario in one: the file MAP_SHARED in two spaces, MAP_PRIVATE
 * in a third; stores through each; what each space and the file see before
 * and after msync, munmap and a reported truncation. */
static void file_two_shared_spaces_and_a_private_one_through_msync_munmap_truncation(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 3 * PG);
    gmm_space *a = e.s;
    gmm_space *b = new_space(e.sys, GMM_ABI_I386);
    gmm_space *c = new_space(e.sys, GMM_ABI_X86_64);
    gmm_addr pa = (gmm_addr)fmap(a, 3 * PG, RW, FSHARED, FD_RW, 0);
    gmm_addr pb = (gmm_addr)fmap(b, 3 * PG, RW, FSHARED, FD_RW, 0);
    gmm_addr pc = (gmm_addr)fmap(c, 3 * PG, RW, FPRIV, FD_RW, 0);

    poke(a, pa + 10, 'a');          /* shared store in space a */
    poke(b, pb + PG + 10, 'b');     /* shared store in space b */
    poke(c, pc + 2 * PG + 10, 'c'); /* private store in space c */
    /* Before msync: the shared stores are seen by both shared spaces and
     * by the private one where it has no copy; the file has none yet. */
    assert_int_equal(peek(b, pb + 10), 'a');
    assert_int_equal(peek(a, pa + PG + 10), 'b');
    assert_int_equal(peek(c, pc + 10), 'a');
    assert_int_equal(peek(a, pa + 2 * PG + 10), 'C');
    assert_int_equal(e.file.data[10], 'A');
    assert_int_equal(e.file.writes, 0);

    /* msync of one page of space a writes that dirty page only... */
    assert_int_equal(gmm_sys_msync(a, pa, PG, GMM_MS_SYNC), 0);
    assert_int_equal(e.file.writes, 1);
    assert_int_equal(e.file.data[10], 'a');
    assert_int_equal(e.file.data[PG + 10], 'B');
    /* ...and msync in space b (MS_ASYNC) the other one. */
    assert_int_equal(gmm_sys_msync(b, pb, 3 * PG, GMM_MS_ASYNC), 0);
    assert_int_equal(e.file.writes, 2);
    assert_int_equal(e.file.data[PG + 10], 'b');
    /* The private store never reaches the file. */
    assert_int_equal(e.file.data[2 * PG + 10], 'C');

    /* A store after msync dirties the page again; munmap in b writes
     * nothing (a still maps the file), munmap in a writes it back. */
    poke(b, pb + 20, 'B');
    assert_int_equal(gmm_sys_munmap(b, pb, 3 * PG), 0);
    assert_int_equal(e.file.writes, 2);
    assert_int_equal(peek(a, pa + 20), 'B');
    assert_int_equal(gmm_sys_munmap(a, pa, 3 * PG), 0);
    assert_int_equal(e.file.writes, 3);
    assert_int_equal(e.file.data[20], 'B');

    /* The emulator truncates the file to one page and reports it: the
     * private space keeps page 0, SIGBUSes beyond, its copy included. */
    e.file.size = PG;
    gmm_file_resized(e.sys, 0x801, 1234, PG);
    CHECK(c);
    assert_int_equal(peek(c, pc + 20), 'B');
    uint8_t byte;
    assert_int_equal(gmm_read(c, pc + PG, &byte, 1), -GMM_EFAULT);
    assert_int_equal(gmm_read(c, pc + 2 * PG + 10, &byte, 1), -GMM_EFAULT);
    assert_null(gmm_translate(c, pc + 2 * PG, GMM_ACCESS_READ));
    assert_int_equal(e.faults.last.signo, GMM_SIGBUS);
    assert_int_equal(e.faults.last.code, GMM_BUS_ADRERR);
    assert_int_equal(e.file.size, PG);
    gmm_space_destroy(b);
    gmm_space_destroy(c);
    env_close(&e);
}

/* mremap of file mappings (CONFORMANCE 5.2). */
static void file_mremap_grow_keeps_cow_page_and_exposes_new_file_pages(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    gmm_addr a = (gmm_addr)fmap(e.s, 2 * PG, RW, FPRIV, FD_RW, 0);
    poke(e.s, a + PG, 'p'); /* page 1 dirtied: a private copy */
    int64_t n = gmm_sys_mremap(e.s, a, 2 * PG, 3 * PG, GMM_MREMAP_MAYMOVE, 0);
    CHECK(e.s);
    assert_true(n > 0);
    assert_int_equal(peek(e.s, (gmm_addr)n), 'A');          /* the file */
    assert_int_equal(peek(e.s, (gmm_addr)n + PG), 'p');     /* the copy */
    assert_int_equal(peek(e.s, (gmm_addr)n + 2 * PG), 'C'); /* file page 2 */
    assert_int_equal(e.file.data[PG], 'B');
    env_close(&e);
}

static void file_mremap_shared_moves_keep_data_across_mprotect(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 4 * PG);
    gmm_addr a = (gmm_addr)fmap(e.s, 4 * PG, RW, FSHARED, FD_RW, 0);
    poke(e.s, a + 2 * PG, 's');
    gmm_addr d1 = 0x40000000, d2 = 0x50000000;
    assert_int_equal(gmm_sys_mremap(e.s, a + PG, 2 * PG, 2 * PG,
                                    GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED, d1), (int64_t)d1);
    assert_int_equal(gmm_sys_mprotect(e.s, d1, PG, GMM_PROT_READ), 0);
    assert_int_equal(gmm_sys_mremap(e.s, d1, 2 * PG, 2 * PG,
                                    GMM_MREMAP_MAYMOVE | GMM_MREMAP_FIXED, d2), (int64_t)d2);
    CHECK(e.s);
    assert_int_equal(peek(e.s, d2), 'B');
    assert_int_equal(peek(e.s, d2 + PG), 's');
    /* The maps lines keep the file offsets. */
    assert_non_null(strstr(maps_of(e.s), "50000000-50001000 r--s 00001000 08:01 1234"));
    assert_non_null(strstr(maps_of(e.s), "50001000-50002000 rw-s 00002000 08:01 1234"));
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(e.file.data[2 * PG], 's');
    env_close(&e);
}

/* Review finding: page offsets of 2^36 pages and more (file offsets of
 * 256 TiB and more) must not alias low pages of the cache. */
static void file_offsets_beyond_the_radix_do_not_alias_low_pages(void **state)
{
    (void)state;
    struct env e;
    env_open(&e, 2 * PG);
    gmm_addr low = (gmm_addr)fmap(e.s, PG, RW, FSHARED, FD_RW, 0);
    gmm_addr high = (gmm_addr)fmap(e.s, PG, RW, FSHARED, FD_RW, 1ull << 48);
    assert_true(high > 0);
    uint8_t b = 'Z';
    /* Far beyond the end of the file: SIGBUS territory, not page 0. */
    assert_int_equal(gmm_write(e.s, high, &b, 1), -GMM_EFAULT);
    assert_int_equal(gmm_read(e.s, high, &b, 1), -GMM_EFAULT);
    assert_int_equal(peek(e.s, low), 'A');
    /* Outside changes reported up there leave page 0 alone too. */
    gmm_file_written(e.sys, 0x801, 1234, (1ull << 48) + 3, "EVIL", 4);
    gmm_file_resized(e.sys, 0x801, 1234, 2 * PG);
    assert_int_equal(peek(e.s, low + 3), 'A');
    assert_int_equal(gmm_file_sync(e.sys, 0x801, 1234), 0);
    assert_int_equal(e.file.data[0], 'A');
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_bad_fd_is_ebadf),
        cmocka_unit_test(file_without_host_is_ebadf),
        cmocka_unit_test(file_unaligned_offset_is_einval_before_ebadf),
        cmocka_unit_test(file_ebadf_comes_before_the_length_check),
        cmocka_unit_test(file_write_only_fd_is_eacces_for_every_prot_and_type),
        cmocka_unit_test(file_length_zero_is_einval_before_eacces),
        cmocka_unit_test(file_map_type_zero_is_einval_before_eacces),
        cmocka_unit_test(file_unmappable_is_enodev),
        cmocka_unit_test(file_shared_write_on_read_only_fd_is_eacces),
        cmocka_unit_test(file_shared_read_on_read_only_fd_cannot_become_writable),
        cmocka_unit_test(file_private_write_on_read_only_fd_is_copy_on_write),
        cmocka_unit_test(file_shared_validate_unknown_flag_is_eopnotsupp),
        cmocka_unit_test(file_map_sync_is_eopnotsupp_for_every_type_after_the_file_checks),
        cmocka_unit_test(file_offset_overflow_is_eoverflow),
        cmocka_unit_test(file_growsdown_is_einval),
        cmocka_unit_test(file_hugetlb_is_einval),
        cmocka_unit_test(file_shared_handle_mmap_rights_rw_first),
        cmocka_unit_test(file_shared_handle_mmap_rights_ro_first),
        cmocka_unit_test(file_shared_handle_no_write_through_read_only_fd_rw_first),
        cmocka_unit_test(file_shared_handle_no_write_through_read_only_fd_ro_first),
        cmocka_unit_test(file_shared_handle_private_of_read_only_fd_is_writable_rw_first),
        cmocka_unit_test(file_shared_handle_private_of_read_only_fd_is_writable_ro_first),
        cmocka_unit_test(file_shared_handle_writeback_through_writable_fd_rw_first),
        cmocka_unit_test(file_shared_handle_writeback_through_writable_fd_ro_first),
        cmocka_unit_test(file_shared_handle_out_of_memory_keeps_the_handle_held),
        cmocka_unit_test(file_release_runs_when_the_last_mapping_goes),
        cmocka_unit_test(file_release_runs_after_a_failed_mmap),
        cmocka_unit_test(file_release_runs_at_space_destruction),
        cmocka_unit_test(file_pages_are_read_on_first_touch_not_at_mmap),
        cmocka_unit_test(file_offset_selects_file_pages),
        cmocka_unit_test(file_shared_writes_are_seen_by_every_space_and_private_is_apart),
        cmocka_unit_test(file_shared_dirty_pages_are_written_back_at_last_munmap),
        cmocka_unit_test(file_shared_dirty_pages_are_written_back_at_system_destruction),
        cmocka_unit_test(file_spaces_share_one_frame_per_page),
        cmocka_unit_test(file_tail_of_last_page_reads_zero_and_never_reaches_the_file),
        cmocka_unit_test(file_pages_wholly_beyond_eof_fault_sigbus),
        cmocka_unit_test(file_mapping_that_starts_beyond_the_end_maps_and_faults),
        cmocka_unit_test(file_outside_write_is_seen_by_shared_mappings),
        cmocka_unit_test(file_truncation_makes_pages_beyond_the_end_sigbus_even_private_copies),
        cmocka_unit_test(file_maps_line_shows_offset_dev_inode_and_path),
        cmocka_unit_test(file_adjacent_mappings_merge_only_with_contiguous_offsets),
        cmocka_unit_test(file_device_numbers_print_as_linux_encodes_them),
        cmocka_unit_test(file_newline_in_path_is_escaped),
        cmocka_unit_test(file_two_shared_spaces_and_a_private_one_through_msync_munmap_truncation),
        cmocka_unit_test(file_mremap_grow_keeps_cow_page_and_exposes_new_file_pages),
        cmocka_unit_test(file_mremap_shared_moves_keep_data_across_mprotect),
        cmocka_unit_test(file_offsets_beyond_the_radix_do_not_alias_low_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
