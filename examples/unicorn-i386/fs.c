/*
 * fs.c - path calls: the stat family, access, readlink, the working
 * directory, umask, mkdir, rename, link, unlink, chmod, chown, truncate,
 * utimes, statfs; and fs_resolve, the one place where a guest path
 * becomes a host one.
 *
 * Every guest process has a filesystem context (struct fsctx, shared by
 * CLONE_FS): an O_PATH host fd of its working directory and its umask.
 * Relative paths go to the host's *at calls with that fd, so guest
 * processes in one host process each have their own cwd.  The host umask
 * is process-wide, so it is 0 for the whole runner (set by the first
 * fs_new) and each call that creates applies the guest's umask itself.
 *
 * All calls run with klock held; none of these host calls waits for
 * another guest (opening a FIFO does, and that is files.c's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "files.h"

/* ---- contexts ---- */

struct fsctx *fs_new(void)
{
    /* The host umask is the runner's: 0 once and for all, the guest's own
     * is applied at each creation. */
    static bool host_umask_taken;
    static unsigned host_umask = 022;
    if (!host_umask_taken) {
        host_umask = (unsigned)umask(0);
        host_umask_taken = true;
    }
    struct fsctx *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->refs = 1;
    f->umask = host_umask;
    f->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (f->cwd_fd < 0)
        f->cwd_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (f->cwd_fd < 0) {
        free(f);
        return NULL;
    }
    return f;
}

struct fsctx *fs_dup(struct fsctx *old)
{
    struct fsctx *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->refs = 1;
    f->umask = old->umask;
    f->cwd_fd = fcntl(old->cwd_fd, F_DUPFD_CLOEXEC, 3);
    if (f->cwd_fd < 0) {
        free(f);
        return NULL;
    }
    return f;
}

void fs_put(struct fsctx *f)
{
    if (!f || --f->refs > 0)
        return;
    close(f->cwd_fd);
    free(f);
}

unsigned fs_umask(struct thread *t)
{
    return t->proc->fs ? t->proc->fs->umask : 022;
}

/* ---- paths ---- */

static int copy_path(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s%s", a, b);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

int fs_resolve(struct thread *t, int dirfd, const char *path, struct fs_target *out)
{
    struct process *p = t->proc;
    char composed[GPATH_MAX + 64];
    memset(&out->proc, 0, sizeof(out->proc));
    out->proc.kind = PROC_NONE;
    out->dirfd = p->fs ? p->fs->cwd_fd : AT_FDCWD;
    if (path[0] != '/') {
        if (dirfd != AT_FDCWD) {
            const char *vp;
            int h = files_hostfd(p, dirfd, &vp);
            if (vp && (path[0] || h < 0)) {
                /* Relative to a virtual directory (/proc/PID/fd), or the
                 * directory itself (AT_EMPTY_PATH): as the absolute path
                 * it names. */
                int e = copy_path(composed, sizeof(composed), vp, path[0] ? "/" : "");
                if (e || strlen(composed) + strlen(path) >= sizeof(composed))
                    return -ENAMETOOLONG;
                strcat(composed, path);
                path = composed;
                goto absolute;
            }
            if (h < 0)
                return -EBADF;
            out->dirfd = h;
        }
        return copy_path(out->path, sizeof(out->path), "", path);
    }
absolute:
    proc_match(t, path, &out->proc);
    struct proc_ref *r = &out->proc;
    switch (r->kind) {
    case PROC_NONE:
        /* Another file of a guest's /proc/PID: the runner's own (a guest
         * pid is no host pid). */
        if (r->rest)
            return copy_path(out->path, sizeof(out->path), "/proc/self/", r->rest);
        break;
    case PROC_NOENT:
        return -ENOENT;
    case PROC_FD: {
        int h = files_hostfd(r->p, r->fd, NULL);
        if (h < 0)
            return copy_path(out->path, sizeof(out->path), "/proc/self/fd", "");
        snprintf(out->path, sizeof(out->path), "/proc/self/fd/%d", h);
        return 0;
    }
    case PROC_CWD:
        snprintf(out->path, sizeof(out->path), "/proc/self/fd/%d", r->p->fs->cwd_fd);
        return 0;
    case PROC_EXE:
        /* exe_path is a guest path: resolved as one (no /proc in it). */
        path = r->p->exe_path;
        if (path[0] != '/')
            return copy_path(out->path, sizeof(out->path), "", path);
        break;
    case PROC_MAPS:
    case PROC_SMAPS:
    case PROC_STATUS:
    case PROC_FDDIR: {
        /* Served by files.c at open; stat and access see the host's. */
        static const char *const names[] = {[PROC_MAPS] = "maps", [PROC_SMAPS] = "smaps",
                                            [PROC_STATUS] = "status", [PROC_FDDIR] = "fd"};
        snprintf(out->path, sizeof(out->path), "/proc/self/%s", names[r->kind]);
        return 0;
    }
    }
    /* The sysroot, the one place to change for -L: a path that exists
     * there is the sysroot's, others are the host's (as qemu-user's -L);
     * /proc, /dev and /sys are always the host's. */
    if (guest_sysroot && *guest_sysroot && !under(path, "/proc") && !under(path, "/dev") &&
        !under(path, "/sys")) {
        char cand[sizeof(out->path)];
        if (copy_path(cand, sizeof(cand), guest_sysroot, path) == 0 &&
            faccessat(AT_FDCWD, cand, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            return copy_path(out->path, sizeof(out->path), cand, "");
    }
    return copy_path(out->path, sizeof(out->path), "", path);
}

int fs_resolve_user(struct thread *t, int dirfd, uint32_t upath, struct fs_target *out)
{
    char path[GPATH_MAX];
    int e = guest_str(t, upath, path, sizeof(path));
    if (e)
        return e;
    return fs_resolve(t, dirfd, path, out);
}

/* A resolved target, heap-allocated (the struct is large for a thread's
 * stack in deep call chains): NULL with *err set. */
static struct fs_target *resolve(struct thread *t, uint32_t dirfd, uint32_t upath, int *err)
{
    struct fs_target *tg = malloc(sizeof(*tg));
    if (!tg) {
        *err = -ENOMEM;
        return NULL;
    }
    *err = fs_resolve_user(t, (int)dirfd, upath, tg);
    if (*err) {
        free(tg);
        return NULL;
    }
    return tg;
}

int fs_open_exec(struct thread *t, const char *path)
{
    struct fs_target *tg = malloc(sizeof(*tg));
    if (!tg)
        return -ENOMEM;
    int e = fs_resolve(t, AT_FDCWD, path, tg);
    if (e) {
        free(tg);
        return e;
    }
    if (!tg->path[0]) {
        free(tg);
        return -ENOENT;
    }
    int fd = -1;
    if (faccessat(tg->dirfd, tg->path, X_OK, 0) < 0) {
        e = -errno;
    } else if ((fd = openat(tg->dirfd, tg->path, O_RDONLY | O_CLOEXEC)) < 0) {
        e = -errno;
    } else {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            fd = -1;
            e = -EACCES;
        }
    }
    free(tg);
    return fd >= 0 ? fd : e;
}

/* ---- i386 layouts ---- */

/* struct stat64 of i386 (96 bytes, 64-bit fields 4-byte aligned). */
int put_stat64(struct thread *t, uint32_t addr, const struct stat *st)
{
    uint8_t b[96];
    memset(b, 0, sizeof(b));
    uint64_t v64;
    uint32_t v32;
#define P64(off, v) (v64 = (uint64_t)(v), memcpy(b + (off), &v64, 8))
#define P32(off, v) (v32 = (uint32_t)(v), memcpy(b + (off), &v32, 4))
    P64(0, st->st_dev);
    P32(12, st->st_ino);
    P32(16, st->st_mode);
    P32(20, st->st_nlink);
    P32(24, st->st_uid);
    P32(28, st->st_gid);
    P64(32, st->st_rdev);
    P64(44, st->st_size);
    P32(52, st->st_blksize);
    P64(56, st->st_blocks);
    P32(64, st->st_atim.tv_sec);
    P32(68, st->st_atim.tv_nsec);
    P32(72, st->st_mtim.tv_sec);
    P32(76, st->st_mtim.tv_nsec);
    P32(80, st->st_ctim.tv_sec);
    P32(84, st->st_ctim.tv_nsec);
    P64(88, st->st_ino);
    return guest_write(t, addr, b, sizeof(b)) ? -EFAULT : 0;
}

static uint16_t low16_id(uint32_t id)
{
    return id > 0xffff ? 65534 : (uint16_t)id; /* the overflow id, as Linux */
}

/* The old struct stat of i386 (64 bytes): -EOVERFLOW when the inode, size
 * or link count does not fit, as Linux's cp_new_stat. */
int put_stat(struct thread *t, uint32_t addr, const struct stat *st)
{
    if (st->st_ino > UINT32_MAX || st->st_size > INT32_MAX || st->st_nlink > 0xffff)
        return -EOVERFLOW;
    uint8_t b[64];
    memset(b, 0, sizeof(b));
    uint32_t v32;
    uint16_t v16;
#define P16(off, v) (v16 = (uint16_t)(v), memcpy(b + (off), &v16, 2))
    P32(0, st->st_dev);
    P32(4, st->st_ino);
    P16(8, st->st_mode);
    P16(10, st->st_nlink);
    P16(12, low16_id(st->st_uid));
    P16(14, low16_id(st->st_gid));
    P32(16, st->st_rdev);
    P32(20, st->st_size);
    P32(24, st->st_blksize);
    P32(28, st->st_blocks);
    P32(32, st->st_atim.tv_sec);
    P32(36, st->st_atim.tv_nsec);
    P32(40, st->st_mtim.tv_sec);
    P32(44, st->st_mtim.tv_nsec);
    P32(48, st->st_ctim.tv_sec);
    P32(52, st->st_ctim.tv_nsec);
    return guest_write(t, addr, b, sizeof(b)) ? -EFAULT : 0;
}

/* struct statfs (64 bytes) and statfs64 (84 bytes, packed) of i386. */
static int64_t put_statfs(struct thread *t, const struct statfs *s, uint32_t addr, bool wide)
{
    uint8_t b[84];
    memset(b, 0, sizeof(b));
    uint64_t v64;
    uint32_t v32;
    int32_t fsid[2];
    memcpy(fsid, &s->f_fsid, 8);
    P32(0, s->f_type);
    P32(4, s->f_bsize);
    if (wide) {
        P64(8, s->f_blocks);
        P64(16, s->f_bfree);
        P64(24, s->f_bavail);
        P64(32, s->f_files);
        P64(40, s->f_ffree);
        memcpy(b + 48, fsid, 8);
        P32(56, s->f_namelen);
        P32(60, s->f_frsize);
        P32(64, s->f_flags);
        return guest_write(t, addr, b, 84) ? -EFAULT : 0;
    }
    uint64_t big = s->f_blocks | s->f_bfree | s->f_bavail;
    if (big >> 32)
        return -EOVERFLOW;
    if ((s->f_files != UINT64_MAX && s->f_files >> 32) ||
        (s->f_ffree != UINT64_MAX && s->f_ffree >> 32))
        return -EOVERFLOW;
    P32(8, s->f_blocks);
    P32(12, s->f_bfree);
    P32(16, s->f_bavail);
    P32(20, s->f_files);
    P32(24, s->f_ffree);
    memcpy(b + 28, fsid, 8);
    P32(36, s->f_namelen);
    P32(40, s->f_frsize);
    P32(44, s->f_flags);
    return guest_write(t, addr, b, 64) ? -EFAULT : 0;
#undef P16
#undef P32
#undef P64
}

int64_t put_fstatfs(struct thread *t, int hostfd, uint32_t addr, uint32_t size, int wide)
{
    if (wide && size != 84)
        return -EINVAL;
    struct statfs s;
    if (fstatfs(hostfd, &s) < 0)
        return -errno;
    return put_statfs(t, &s, addr, wide);
}

/* ---- the stat family ---- */

/* fs_resolve gives /proc/PID/exe as the file it names; not following it,
 * the guest sees a link (the host's own /proc/self/exe, as procfs shows
 * every such link: size 0, mode 0777). */
static void nofollow_exe(struct fs_target *tg, int flags)
{
    if (tg->proc.kind == PROC_EXE && (flags & AT_SYMLINK_NOFOLLOW))
        snprintf(tg->path, sizeof(tg->path), "/proc/self/exe");
}

static int64_t do_stat(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t buf, int flags,
                       bool wide)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return -EINVAL;
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    nofollow_exe(tg, flags);
    struct stat st;
    int64_t r = fstatat(tg->dirfd, tg->path, &st, flags) < 0 ? -errno : 0;
    free(tg);
    if (r)
        return r;
    return wide ? put_stat64(t, buf, &st) : put_stat(t, buf, &st);
}

static int64_t sys_stat64(struct thread *t, const uint32_t a[6])
{
    return do_stat(t, (uint32_t)AT_FDCWD, a[0], a[1], 0, true);
}

static int64_t sys_lstat64(struct thread *t, const uint32_t a[6])
{
    return do_stat(t, (uint32_t)AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW, true);
}

static int64_t sys_fstatat64(struct thread *t, const uint32_t a[6])
{
    return do_stat(t, a[0], a[1], a[2], (int)a[3], true);
}

static int64_t sys_stat(struct thread *t, const uint32_t a[6])
{
    return do_stat(t, (uint32_t)AT_FDCWD, a[0], a[1], 0, false);
}

static int64_t sys_lstat(struct thread *t, const uint32_t a[6])
{
    return do_stat(t, (uint32_t)AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW, false);
}

/* statx(dirfd, path, flags, mask, buf): the same struct on every arch. */
static int64_t sys_statx(struct thread *t, const uint32_t a[6])
{
    int e;
    struct fs_target *tg = resolve(t, a[0], a[1], &e);
    if (!tg)
        return e;
    nofollow_exe(tg, (int)a[2]);
    struct statx stx;
    int64_t r = statx(tg->dirfd, tg->path, (int)a[2], a[3], &stx) < 0 ? -errno : 0;
    free(tg);
    if (r)
        return r;
    return guest_write(t, a[4], &stx, sizeof(stx)) ? -EFAULT : 0;
}

static int64_t do_statfs(struct thread *t, uint32_t upath, uint32_t size, uint32_t buf, bool wide)
{
    if (wide && size != 84)
        return -EINVAL;
    int e;
    struct fs_target *tg = resolve(t, (uint32_t)AT_FDCWD, upath, &e);
    if (!tg)
        return e;
    /* statfs has no *at form: an O_PATH open of the target. */
    int fd = openat(tg->dirfd, tg->path, O_PATH | O_CLOEXEC);
    free(tg);
    if (fd < 0)
        return -errno;
    struct statfs s;
    int64_t r = fstatfs(fd, &s) < 0 ? -errno : put_statfs(t, &s, buf, wide);
    close(fd);
    return r;
}

static int64_t sys_statfs(struct thread *t, const uint32_t a[6])
{
    return do_statfs(t, a[0], 0, a[1], false);
}

static int64_t sys_statfs64(struct thread *t, const uint32_t a[6])
{
    return do_statfs(t, a[0], a[1], a[2], true);
}

/* ---- access, readlink ---- */

static int64_t do_access(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t mode,
                         uint32_t flags)
{
    if (mode & ~7u)
        return -EINVAL;
    if (flags & ~(uint32_t)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    int64_t r = faccessat(tg->dirfd, tg->path, (int)mode, (int)flags) < 0 ? -errno : 0;
    free(tg);
    return r;
}

static int64_t sys_access(struct thread *t, const uint32_t a[6])
{
    return do_access(t, (uint32_t)AT_FDCWD, a[0], a[1], 0);
}

static int64_t sys_faccessat(struct thread *t, const uint32_t a[6])
{
    return do_access(t, a[0], a[1], a[2], 0);
}

static int64_t sys_faccessat2(struct thread *t, const uint32_t a[6])
{
    return do_access(t, a[0], a[1], a[2], a[3]);
}

/* A host path without the sysroot in front (getcwd, readlink of cwd). */
static const char *strip_sysroot(const char *p)
{
    if (guest_sysroot && *guest_sysroot && under(p, guest_sysroot)) {
        p += strlen(guest_sysroot);
        return *p ? p : "/";
    }
    return p;
}

static int64_t do_readlink(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t buf,
                           uint32_t size)
{
    if ((int32_t)size <= 0)
        return -EINVAL;
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    char *out = malloc(GPATH_MAX + 512);
    if (!out) {
        free(tg);
        return -ENOMEM;
    }
    ssize_t n;
    const char *vp = NULL;
    if (tg->proc.kind == PROC_FD)
        files_hostfd(tg->proc.p, tg->proc.fd, &vp);
    if (vp) {
        n = (ssize_t)strlen(vp);
        memcpy(out, vp, (size_t)n);
    } else if (tg->proc.kind == PROC_EXE) {
        n = (ssize_t)strnlen(tg->proc.p->exe_path, GPATH_MAX);
        memcpy(out, tg->proc.p->exe_path, (size_t)n);
    } else {
        n = readlinkat(tg->dirfd, tg->path, out, GPATH_MAX + 511);
        if (n < 0) {
            n = -errno;
        } else if (tg->proc.kind == PROC_CWD) {
            out[n] = 0;
            const char *s = strip_sysroot(out);
            n = (ssize_t)strlen(s);
            memmove(out, s, (size_t)n);
        }
    }
    free(tg);
    int64_t r = n;
    if (n >= 0) {
        if ((uint32_t)n > size)
            n = (ssize_t)size;
        r = n && guest_write(t, buf, out, (size_t)n) ? -EFAULT : n;
    }
    free(out);
    return r;
}

static int64_t sys_readlink(struct thread *t, const uint32_t a[6])
{
    return do_readlink(t, (uint32_t)AT_FDCWD, a[0], a[1], a[2]);
}

static int64_t sys_readlinkat(struct thread *t, const uint32_t a[6])
{
    return do_readlink(t, a[0], a[1], a[2], a[3]);
}

/* ---- the working directory, umask ---- */

static int64_t sys_getcwd(struct thread *t, const uint32_t a[6])
{
    struct fsctx *fs = t->proc->fs;
    char link[64], *path = malloc(GPATH_MAX + 512);
    if (!path)
        return -ENOMEM;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fs->cwd_fd);
    ssize_t n = readlink(link, path, GPATH_MAX + 511);
    if (n < 0) {
        free(path);
        return -ENOENT;
    }
    path[n] = 0;
    /* A removed working directory: Linux's getcwd says ENOENT. */
    static const char del[] = " (deleted)";
    struct stat st;
    if ((size_t)n > sizeof(del) - 1 && !strcmp(path + n - (sizeof(del) - 1), del) &&
        fstat(fs->cwd_fd, &st) == 0 && st.st_nlink == 0) {
        free(path);
        return -ENOENT;
    }
    const char *s = strip_sysroot(path);
    size_t len = strlen(s) + 1;
    int64_t r;
    if (len > GPATH_MAX)
        r = -ENAMETOOLONG;
    else if (len > a[1])
        r = -ERANGE;
    else
        r = guest_write(t, a[0], s, len) ? -EFAULT : (int64_t)len;
    free(path);
    return r;
}

static int set_cwd(struct thread *t, int newfd)
{
    struct fsctx *fs = t->proc->fs;
    close(fs->cwd_fd);
    fs->cwd_fd = newfd;
    return 0;
}

static int64_t sys_chdir(struct thread *t, const uint32_t a[6])
{
    int e;
    struct fs_target *tg = resolve(t, (uint32_t)AT_FDCWD, a[0], &e);
    if (!tg)
        return e;
    int fd = openat(tg->dirfd, tg->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int64_t r = 0;
    if (fd < 0)
        r = -errno;
    else if (faccessat(fd, ".", X_OK, 0) < 0) /* search permission, as chdir needs */
        r = -errno;
    free(tg);
    if (r) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    return set_cwd(t, fd);
}

static int64_t sys_fchdir(struct thread *t, const uint32_t a[6])
{
    int h = files_hostfd(t->proc, (int)a[0], NULL);
    if (h < 0)
        return -EBADF;
    struct stat st;
    if (fstat(h, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (faccessat(h, ".", X_OK, 0) < 0)
        return -errno;
    int fd = fcntl(h, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    return set_cwd(t, fd);
}

static int64_t sys_umask(struct thread *t, const uint32_t a[6])
{
    struct fsctx *fs = t->proc->fs;
    unsigned old = fs->umask;
    fs->umask = a[0] & 0777;
    return old;
}

static int64_t sys_chroot(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    return -EPERM;
}

/* ---- creating and removing ---- */

static int64_t do_mkdir(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t mode)
{
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    mode_t m = (mode_t)(mode & 07777 & ~fs_umask(t));
    int64_t r = mkdirat(tg->dirfd, tg->path, m) < 0 ? -errno : 0;
    free(tg);
    return r;
}

static int64_t sys_mkdir(struct thread *t, const uint32_t a[6])
{
    return do_mkdir(t, (uint32_t)AT_FDCWD, a[0], a[1]);
}

static int64_t sys_mkdirat(struct thread *t, const uint32_t a[6])
{
    return do_mkdir(t, a[0], a[1], a[2]);
}

/* mknod's dev_t is the kernel's 32-bit encoding. */
static int64_t do_mknod(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t mode,
                        uint32_t dev)
{
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    unsigned maj = (dev & 0xfff00) >> 8, min = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    mode_t m = (mode_t)((mode & S_IFMT) | (mode & 07777 & ~fs_umask(t)));
    if (!(mode & S_IFMT))
        m |= S_IFREG;
    int64_t r = mknodat(tg->dirfd, tg->path, m, makedev(maj, min)) < 0 ? -errno : 0;
    free(tg);
    return r;
}

static int64_t sys_mknod(struct thread *t, const uint32_t a[6])
{
    return do_mknod(t, (uint32_t)AT_FDCWD, a[0], a[1], a[2]);
}

static int64_t sys_mknodat(struct thread *t, const uint32_t a[6])
{
    return do_mknod(t, a[0], a[1], a[2], a[3]);
}

static int64_t do_unlink(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t flags)
{
    if (flags & ~(uint32_t)AT_REMOVEDIR)
        return -EINVAL;
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    int64_t r = unlinkat(tg->dirfd, tg->path, (int)flags) < 0 ? -errno : 0;
    free(tg);
    return r;
}

static int64_t sys_unlink(struct thread *t, const uint32_t a[6])
{
    return do_unlink(t, (uint32_t)AT_FDCWD, a[0], 0);
}

static int64_t sys_unlinkat(struct thread *t, const uint32_t a[6])
{
    return do_unlink(t, a[0], a[1], a[2]);
}

static int64_t sys_rmdir(struct thread *t, const uint32_t a[6])
{
    return do_unlink(t, (uint32_t)AT_FDCWD, a[0], AT_REMOVEDIR);
}

/* Two paths: (olddirfd, old) and (newdirfd, new). */
static int resolve2(struct thread *t, const uint32_t d[4], struct fs_target **o,
                    struct fs_target **n)
{
    int e;
    *n = NULL;
    *o = resolve(t, d[0], d[1], &e);
    if (!*o)
        return e;
    *n = resolve(t, d[2], d[3], &e);
    if (!*n) {
        free(*o);
        *o = NULL;
        return e;
    }
    return 0;
}

static int64_t do_rename(struct thread *t, const uint32_t d[4], uint32_t flags)
{
    struct fs_target *o, *n;
    int e = resolve2(t, d, &o, &n);
    if (e)
        return e;
    int64_t r = renameat2(o->dirfd, o->path, n->dirfd, n->path, flags) < 0 ? -errno : 0;
    free(o);
    free(n);
    return r;
}

static int64_t sys_rename(struct thread *t, const uint32_t a[6])
{
    uint32_t d[4] = {(uint32_t)AT_FDCWD, a[0], (uint32_t)AT_FDCWD, a[1]};
    return do_rename(t, d, 0);
}

static int64_t sys_renameat(struct thread *t, const uint32_t a[6])
{
    return do_rename(t, a, 0);
}

static int64_t sys_renameat2(struct thread *t, const uint32_t a[6])
{
    return do_rename(t, a, a[4]);
}

static int64_t do_link(struct thread *t, const uint32_t d[4], uint32_t flags)
{
    if (flags & ~(uint32_t)(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct fs_target *o, *n;
    int e = resolve2(t, d, &o, &n);
    if (e)
        return e;
    int64_t r = linkat(o->dirfd, o->path, n->dirfd, n->path, (int)flags) < 0 ? -errno : 0;
    free(o);
    free(n);
    return r;
}

static int64_t sys_link(struct thread *t, const uint32_t a[6])
{
    uint32_t d[4] = {(uint32_t)AT_FDCWD, a[0], (uint32_t)AT_FDCWD, a[1]};
    return do_link(t, d, 0);
}

static int64_t sys_linkat(struct thread *t, const uint32_t a[6])
{
    return do_link(t, a, a[4]);
}

/* symlinkat(target, newdirfd, linkpath): the target is stored as given. */
static int64_t do_symlink(struct thread *t, uint32_t utarget, uint32_t dirfd, uint32_t upath)
{
    char *target = malloc(GPATH_MAX);
    if (!target)
        return -ENOMEM;
    int e = guest_str(t, utarget, target, GPATH_MAX);
    struct fs_target *tg = e ? NULL : resolve(t, dirfd, upath, &e);
    int64_t r = e;
    if (tg)
        r = symlinkat(target, tg->dirfd, tg->path) < 0 ? -errno : 0;
    free(tg);
    free(target);
    return r;
}

static int64_t sys_symlink(struct thread *t, const uint32_t a[6])
{
    return do_symlink(t, a[0], (uint32_t)AT_FDCWD, a[1]);
}

static int64_t sys_symlinkat(struct thread *t, const uint32_t a[6])
{
    return do_symlink(t, a[0], a[1], a[2]);
}

/* ---- attributes ---- */

static int64_t do_chmod(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t mode)
{
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    int64_t r = fchmodat(tg->dirfd, tg->path, (mode_t)(mode & 07777), 0) < 0 ? -errno : 0;
    free(tg);
    return r;
}

static int64_t sys_chmod(struct thread *t, const uint32_t a[6])
{
    return do_chmod(t, (uint32_t)AT_FDCWD, a[0], a[1]);
}

static int64_t sys_fchmodat(struct thread *t, const uint32_t a[6])
{
    return do_chmod(t, a[0], a[1], a[2]);
}

static int64_t do_chown(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t uid,
                        uint32_t gid, uint32_t flags)
{
    if (flags & ~(uint32_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    int64_t r = fchownat(tg->dirfd, tg->path, (uid_t)uid, (gid_t)gid, (int)flags) < 0 ? -errno : 0;
    free(tg);
    return r;
}

static uint32_t id16(uint32_t v)
{
    return (v & 0xffff) == 0xffff ? UINT32_MAX : v & 0xffff;
}

static int64_t sys_chown32(struct thread *t, const uint32_t a[6])
{
    return do_chown(t, (uint32_t)AT_FDCWD, a[0], a[1], a[2], 0);
}

static int64_t sys_lchown32(struct thread *t, const uint32_t a[6])
{
    return do_chown(t, (uint32_t)AT_FDCWD, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW);
}

static int64_t sys_chown16(struct thread *t, const uint32_t a[6])
{
    return do_chown(t, (uint32_t)AT_FDCWD, a[0], id16(a[1]), id16(a[2]), 0);
}

static int64_t sys_lchown16(struct thread *t, const uint32_t a[6])
{
    return do_chown(t, (uint32_t)AT_FDCWD, a[0], id16(a[1]), id16(a[2]), AT_SYMLINK_NOFOLLOW);
}

static int64_t sys_fchownat(struct thread *t, const uint32_t a[6])
{
    return do_chown(t, a[0], a[1], a[2], a[3], a[4]);
}

static int64_t do_truncate(struct thread *t, uint32_t upath, int64_t len)
{
    if (len < 0)
        return -EINVAL;
    int e;
    struct fs_target *tg = resolve(t, (uint32_t)AT_FDCWD, upath, &e);
    if (!tg)
        return e;
    /* truncate has no *at form: open the file for writing, as truncate
     * needs write permission anyway. */
    int fd = openat(tg->dirfd, tg->path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    free(tg);
    if (fd < 0)
        return errno == ENXIO ? -EINVAL : -errno;
    struct stat st;
    int64_t r = 0;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (S_ISDIR(st.st_mode))
        r = -EISDIR;
    else if (!S_ISREG(st.st_mode))
        r = -EINVAL;
    else if (ftruncate(fd, (off_t)len) < 0)
        r = -errno;
    else
        gmm_file_resized(K.sys, st.st_dev, st.st_ino, (uint64_t)len);
    close(fd);
    return r;
}

static int64_t sys_truncate(struct thread *t, const uint32_t a[6])
{
    return do_truncate(t, a[0], (int32_t)a[1]);
}

static int64_t sys_truncate64(struct thread *t, const uint32_t a[6])
{
    return do_truncate(t, a[0], (int64_t)((uint64_t)a[2] << 32 | a[1]));
}

/* utimensat on resolved paths or, path NULL, on dirfd itself. */
static int64_t do_utimens(struct thread *t, uint32_t dirfd, uint32_t upath,
                          const struct timespec *ts, uint32_t flags)
{
    if (flags & ~(uint32_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    if (!upath) {
        if ((int)dirfd == AT_FDCWD)
            return -EFAULT;
        if (flags & AT_SYMLINK_NOFOLLOW)
            return -EINVAL;
        int h = files_hostfd(t->proc, (int)dirfd, NULL);
        if (h < 0)
            return -EBADF;
        return futimens(h, ts) < 0 ? -errno : 0;
    }
    int e;
    struct fs_target *tg = resolve(t, dirfd, upath, &e);
    if (!tg)
        return e;
    int64_t r = utimensat(tg->dirfd, tg->path, ts, (int)flags) < 0 ? -errno : 0;
    free(tg);
    return r;
}

static int load_timespecs(struct thread *t, uint32_t addr, bool wide, struct timespec ts[2])
{
    if (wide) {
        int64_t v[4];
        if (guest_read(t, addr, v, sizeof(v)))
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            ts[i].tv_sec = (time_t)v[2 * i];
            ts[i].tv_nsec = (long)v[2 * i + 1];
        }
    } else {
        int32_t v[4];
        if (guest_read(t, addr, v, sizeof(v)))
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            ts[i].tv_sec = v[2 * i];
            ts[i].tv_nsec = v[2 * i + 1];
        }
    }
    return 0;
}

/* utimensat(dirfd, path, times, flags), 32-bit and 64-bit timespecs. */
static int64_t do_utimensat(struct thread *t, const uint32_t a[6], bool wide)
{
    struct timespec ts[2];
    if (a[2]) {
        int e = load_timespecs(t, a[2], wide, ts);
        if (e)
            return e;
    }
    return do_utimens(t, a[0], a[1], a[2] ? ts : NULL, a[3]);
}

static int64_t sys_utimensat(struct thread *t, const uint32_t a[6])
{
    return do_utimensat(t, a, false);
}

static int64_t sys_utimensat_time64(struct thread *t, const uint32_t a[6])
{
    return do_utimensat(t, a, true);
}

/* futimesat(dirfd, path, struct timeval[2]) and utimes(path, tv). */
static int64_t do_utimes(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t utv)
{
    struct timespec ts[2];
    if (utv) {
        int32_t v[4];
        if (guest_read(t, utv, v, sizeof(v)))
            return -EFAULT;
        for (int i = 0; i < 2; i++) {
            if (v[2 * i + 1] < 0 || v[2 * i + 1] >= 1000000)
                return -EINVAL;
            ts[i].tv_sec = v[2 * i];
            ts[i].tv_nsec = (long)v[2 * i + 1] * 1000;
        }
    }
    if (!upath)
        return -EFAULT;
    return do_utimens(t, dirfd, upath, utv ? ts : NULL, 0);
}

static int64_t sys_utimes(struct thread *t, const uint32_t a[6])
{
    return do_utimes(t, (uint32_t)AT_FDCWD, a[0], a[1]);
}

static int64_t sys_futimesat(struct thread *t, const uint32_t a[6])
{
    return do_utimes(t, a[0], a[1], a[2]);
}

/* utime(path, struct utimbuf { actime, modtime }) */
static int64_t sys_utime(struct thread *t, const uint32_t a[6])
{
    struct timespec ts[2];
    if (a[1]) {
        int32_t v[2];
        if (guest_read(t, a[1], v, sizeof(v)))
            return -EFAULT;
        ts[0].tv_sec = v[0];
        ts[1].tv_sec = v[1];
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
    }
    if (!a[0])
        return -EFAULT;
    return do_utimens(t, (uint32_t)AT_FDCWD, a[0], a[1] ? ts : NULL, 0);
}

static int64_t sys_sync(struct thread *t, const uint32_t a[6])
{
    (void)t;
    (void)a;
    sync();
    return 0;
}

static int64_t sys_syncfs(struct thread *t, const uint32_t a[6])
{
    int h = files_hostfd(t->proc, (int)a[0], NULL);
    if (h < 0)
        return -EBADF;
    return syncfs(h) < 0 ? -errno : 0;
}

const struct syscall_def fs_syscalls[] = {
    {9, "link", sys_link},
    {10, "unlink", sys_unlink},
    {12, "chdir", sys_chdir},
    {14, "mknod", sys_mknod},
    {15, "chmod", sys_chmod},
    {16, "lchown", sys_lchown16},
    {30, "utime", sys_utime},
    {33, "access", sys_access},
    {36, "sync", sys_sync},
    {38, "rename", sys_rename},
    {39, "mkdir", sys_mkdir},
    {40, "rmdir", sys_rmdir},
    {60, "umask", sys_umask},
    {61, "chroot", sys_chroot},
    {83, "symlink", sys_symlink},
    {85, "readlink", sys_readlink},
    {92, "truncate", sys_truncate},
    {99, "statfs", sys_statfs},
    {106, "stat", sys_stat},
    {107, "lstat", sys_lstat},
    {133, "fchdir", sys_fchdir},
    {182, "chown", sys_chown16},
    {183, "getcwd", sys_getcwd},
    {193, "truncate64", sys_truncate64},
    {195, "stat64", sys_stat64},
    {196, "lstat64", sys_lstat64},
    {198, "lchown32", sys_lchown32},
    {212, "chown32", sys_chown32},
    {268, "statfs64", sys_statfs64},
    {271, "utimes", sys_utimes},
    {296, "mkdirat", sys_mkdirat},
    {297, "mknodat", sys_mknodat},
    {298, "fchownat", sys_fchownat},
    {299, "futimesat", sys_futimesat},
    {300, "fstatat64", sys_fstatat64},
    {301, "unlinkat", sys_unlinkat},
    {302, "renameat", sys_renameat},
    {303, "linkat", sys_linkat},
    {304, "symlinkat", sys_symlinkat},
    {305, "readlinkat", sys_readlinkat},
    {306, "fchmodat", sys_fchmodat},
    {307, "faccessat", sys_faccessat},
    {320, "utimensat", sys_utimensat},
    {344, "syncfs", sys_syncfs},
    {353, "renameat2", sys_renameat2},
    {383, "statx", sys_statx},
    {412, "utimensat_time64", sys_utimensat_time64},
    {439, "faccessat2", sys_faccessat2},
    {0, NULL, NULL},
};
