/*
 * files.c - the guest's open files: per-process fd tables over host fds,
 * and the calls on fds (read, write, dup, pipes, fcntl, ioctl, poll,
 * select, getdents, close_range) plus the virtual /proc/PID files.
 *
 * A guest fd names a struct file, an open file description: one host fd
 * that the runner owns (close-on-exec on the host; the guest's cloexec bit
 * is in the table), shared by dup and fork as Linux shares descriptions.
 * Guest fds are the guest's alone: the runner's own host fds (memory
 * backing, the log, Unicorn's) are never in a guest table, so a guest that
 * closes every fd it can see closes only its own.
 *
 * Locks: tables and files are under klock (every call holds it).  A call
 * that may block (a pipe, tty or socket read or write, poll, select, a
 * lock wait) holds a reference on its file and drops klock around the host
 * call; it never blocks in the host with klock held.
 *
 * Page-cache coherency: the library caches file pages for mappings.  A
 * write to a regular file is reported with gmm_file_written, a read is
 * preceded by gmm_file_sync (dirty shared pages go to the file first) and
 * a size change is reported with gmm_file_resized.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

/* Linux caps one read or write at this many bytes. */
#define MAX_RW_COUNT 0x7ffff000u
/* The host bounce buffer of one read or write step. */
#define BOUNCE (256u * 1024)
#define IOV_MAX_G 1024
/* poll/select wake up this often to look for guest signals. */
#define POLL_SLICE_MS 10

enum file_kind { FK_REGULAR, FK_DIR, FK_PIPE, FK_TTY, FK_SOCKET, FK_OTHER };

struct file {
    int refs;
    int fd;              /* host fd (O_CLOEXEC); the virtual fd directory's is the
                            host's /proc/self/fd, for fstat, poll and AT_EMPTY_PATH */
    enum file_kind kind;
    int flags;           /* O_ flags; O_NONBLOCK kept as the guest set it */
    bool host_nb;        /* host fd always O_NONBLOCK (the runner's pipes) */
    uint64_t dev, ino;   /* regular files: the library's page-cache identity */
    char *vpath;         /* virtual files: what readlink of /proc/self/fd/N shows */
    int vpid;            /* the virtual fd directory: whose fds it lists (0: not it) */
    uint64_t vpos;       /* the virtual fd directory: the next entry's cookie */
    int64_t *dcookie;    /* real directories: host offsets behind guest cookies */
    uint32_t ndcookie, capdcookie;
    uint32_t dpos;       /* real directories: the guest cookie of the position */
};

static int64_t dir_lseek(struct file *f, int64_t off, uint32_t whence);

/* ---- files ---- */

static struct file *file_new(int hostfd, int flags)
{
    struct file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->refs = 1;
    f->fd = hostfd;
    f->flags = flags;
    f->kind = FK_OTHER;
    struct stat st;
    if (hostfd >= 0 && fstat(hostfd, &st) == 0) {
        if (S_ISREG(st.st_mode))
            f->kind = FK_REGULAR;
        else if (S_ISDIR(st.st_mode))
            f->kind = FK_DIR;
        else if (S_ISFIFO(st.st_mode))
            f->kind = FK_PIPE;
        else if (S_ISSOCK(st.st_mode))
            f->kind = FK_SOCKET;
        else if (S_ISCHR(st.st_mode) && isatty(hostfd))
            f->kind = FK_TTY;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
    }
    return f;
}

static struct file *file_get(struct file *f)
{
    f->refs++;
    return f;
}

static void file_put(struct file *f)
{
    if (!f || --f->refs > 0)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->vpath);
    free(f->dcookie);
    free(f);
}

/* Reads and writes on these wait in wait_fd and run with klock dropped. */
static bool file_waits(const struct file *f)
{
    return f->kind == FK_PIPE || f->kind == FK_TTY || f->kind == FK_SOCKET;
}

static bool file_virtual(const struct file *f)
{
    return f->vpath != NULL;
}

/* The virtual /proc/PID/fd directory: getdents and lseek are ours. */
static bool file_vdir(const struct file *f)
{
    return f->vpid != 0;
}

/* ---- tables ---- */

static int table_grow(struct files *fs, int need)
{
    if (need <= fs->nfd)
        return 0;
    int n = fs->nfd ? fs->nfd : 16;
    while (n < need)
        n *= 2;
    struct fdent *e = realloc(fs->fd, (size_t)n * sizeof(*e));
    if (!e)
        return -ENOMEM;
    memset(e + fs->nfd, 0, (size_t)(n - fs->nfd) * sizeof(*e));
    fs->fd = e;
    fs->nfd = n;
    return 0;
}

/* The lowest free fd >= min below RLIMIT_NOFILE, holding f (the table
 * takes the caller's reference): fd or -EMFILE/-ENOMEM. */
static int fd_alloc(struct files *fs, int min, struct file *f, bool cloexec)
{
    int limit = (int)(rlimit_nofile() > INT_MAX ? INT_MAX : rlimit_nofile());
    int i = min < 0 ? 0 : min;
    for (; i < fs->nfd && i < limit; i++)
        if (!fs->fd[i].f)
            break;
    if (i >= limit)
        return -EMFILE;
    int e = table_grow(fs, i + 1);
    if (e)
        return e;
    fs->fd[i].f = f;
    fs->fd[i].cloexec = cloexec;
    return i;
}

/* Puts f at fd n (closing what was there): 0 or -ENOMEM. */
static int fd_install(struct files *fs, int n, struct file *f, bool cloexec)
{
    int e = table_grow(fs, n + 1);
    if (e)
        return e;
    struct file *old = fs->fd[n].f;
    fs->fd[n].f = f;
    fs->fd[n].cloexec = cloexec;
    file_put(old);
    return 0;
}

static struct file *fd_file(struct files *fs, int gfd)
{
    if (gfd < 0 || gfd >= fs->nfd)
        return NULL;
    return fs->fd[gfd].f;
}

static struct file *fget(struct thread *t, uint32_t gfd)
{
    return fd_file(t->proc->files, (int)gfd);
}

static int fd_close(struct files *fs, int gfd)
{
    struct file *f = fd_file(fs, gfd);
    if (!f)
        return -EBADF;
    fs->fd[gfd].f = NULL;
    fs->fd[gfd].cloexec = false;
    file_put(f);
    return 0;
}

struct files *files_new(void)
{
    struct files *fs = calloc(1, sizeof(*fs));
    if (!fs || table_grow(fs, 16)) {
        free(fs);
        return NULL;
    }
    fs->refs = 1;
    /* A write to a closed pipe is the guest's EPIPE and SIGPIPE, never the
     * runner's death. */
    signal(SIGPIPE, SIG_IGN);
    /* The guest's 0, 1 and 2 are copies of the runner's: closing them
     * leaves the host's own standard fds alone. */
    for (int i = 0; i < 3; i++) {
        int fl = fcntl(i, F_GETFL);
        if (fl < 0)
            continue;
        int h = fcntl(i, F_DUPFD_CLOEXEC, 3);
        if (h < 0)
            continue;
        struct file *f = file_new(h, fl);
        if (!f) {
            close(h);
            continue;
        }
        fs->fd[i].f = f;
    }
    return fs;
}

struct files *files_dup(struct files *old)
{
    struct files *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->refs = 1;
    if (table_grow(fs, old->nfd > 16 ? old->nfd : 16)) {
        free(fs);
        return NULL;
    }
    for (int i = 0; i < old->nfd; i++)
        if (old->fd[i].f) {
            fs->fd[i].f = file_get(old->fd[i].f);
            fs->fd[i].cloexec = old->fd[i].cloexec;
        }
    return fs;
}

void files_put(struct files *fs)
{
    if (!fs || --fs->refs > 0)
        return;
    for (int i = 0; i < fs->nfd; i++)
        file_put(fs->fd[i].f);
    free(fs->fd);
    free(fs);
}

void files_exec(struct files *fs)
{
    for (int i = 0; i < fs->nfd; i++)
        if (fs->fd[i].f && fs->fd[i].cloexec)
            fd_close(fs, i);
}

int files_host_dup(struct process *p, int gfd, int *flags)
{
    struct file *f = p->files ? fd_file(p->files, gfd) : NULL;
    if (!f || f->fd < 0)
        return -EBADF;
    if (file_virtual(f)) /* proc files have no mmap: Linux says ENODEV */
        return -ENODEV;
    int fl = fcntl(f->fd, F_GETFL);
    int h = fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
    if (h < 0 || fl < 0) {
        if (h >= 0)
            close(h);
        return -ENOMEM;
    }
    if (flags)
        *flags = fl;
    return h;
}

int files_hostfd(struct process *p, int gfd, const char **vpath)
{
    struct file *f = p && p->files ? fd_file(p->files, gfd) : NULL;
    if (vpath)
        *vpath = f ? f->vpath : NULL;
    if (!f || f->fd < 0)
        return -EBADF;
    return f->fd;
}

/* ---- guest buffers: segments, copied page by page ---- */

struct seg {
    uint32_t addr, len;
};

/* Copies n bytes between buf and the guest's segments starting at logical
 * offset skip, a page at a time: the bytes copied before a fault. */
static size_t seg_copy(struct thread *t, const struct seg *s, int ns, uint64_t skip, void *buf,
                       size_t n, bool to_guest)
{
    size_t done = 0;
    for (int i = 0; i < ns && done < n; i++) {
        if (skip >= s[i].len) {
            skip -= s[i].len;
            continue;
        }
        uint32_t addr = s[i].addr + (uint32_t)skip;
        uint64_t left = s[i].len - skip;
        skip = 0;
        while (left && done < n) {
            size_t c = PAGE - addr % PAGE;
            if (c > left)
                c = (size_t)left;
            if (c > n - done)
                c = n - done;
            int e = to_guest ? guest_write(t, addr, (char *)buf + done, c)
                             : guest_read(t, addr, (char *)buf + done, c);
            if (e)
                return done;
            done += c;
            addr += (uint32_t)c;
            left -= c;
        }
    }
    return done;
}

/* Loads a guest struct iovec array: the segments and their total (capped
 * at MAX_RW_COUNT as Linux caps it).  0, -EINVAL, -EFAULT, -ENOMEM. */
static int iov_load(struct thread *t, uint32_t iov, uint32_t cnt, struct seg **out,
                    uint64_t *total)
{
    *out = NULL;
    *total = 0;
    if (cnt > IOV_MAX_G)
        return -EINVAL;
    if (!cnt)
        return 0;
    struct seg *s = malloc(cnt * sizeof(*s));
    if (!s)
        return -ENOMEM;
    if (guest_read(t, iov, s, cnt * sizeof(*s))) {
        free(s);
        return -EFAULT;
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        if (s[i].len > INT32_MAX) {
            free(s);
            return -EINVAL;
        }
        if (sum + s[i].len > MAX_RW_COUNT)
            s[i].len = (uint32_t)(MAX_RW_COUNT - sum);
        sum += s[i].len;
    }
    *out = s;
    *total = sum;
    return 0;
}

/* ---- read and write ---- */

static bool guest_nonblock(const struct file *f)
{
    return (f->flags & O_NONBLOCK) != 0;
}

static void send_sigpipe(struct thread *t)
{
    struct siginfo_g si;
    memset(&si, 0, sizeof(si));
    si.signo = SIGPIPE;
    si.code = 0; /* SI_USER, as Linux sends it */
    si.pid = t->proc->pid;
    si.uid = (int)getuid();
    signal_thread(t, &si);
}

/* One host read or write of f (pos < 0: at the file position): bytes or
 * -errno.  A blocking guest call on a pipe, tty or socket waits in wait_fd
 * first and runs the host call with klock dropped; the caller holds a
 * reference on f. */
static int64_t host_io(struct thread *t, struct file *f, bool wr, void *buf, size_t n,
                       int64_t pos)
{
    for (;;) {
        bool waits = file_waits(f);
        if (waits && !guest_nonblock(f) && n) {
            int e = wait_fd(t, f->fd, wr ? POLLOUT : POLLIN);
            if (e < 0)
                return e;
        }
        ssize_t r;
        if (waits)
            kunlock();
        if (pos < 0)
            r = wr ? write(f->fd, buf, n) : read(f->fd, buf, n);
        else
            r = wr ? pwrite(f->fd, buf, n, (off_t)pos) : pread(f->fd, buf, n, (off_t)pos);
        int err = errno;
        if (waits)
            krelock();
        if (r >= 0)
            return r;
        if (err == EINTR)
            continue;
        if (err == EAGAIN && waits && !guest_nonblock(f))
            continue;
        return -err;
    }
}

static int64_t do_write(struct thread *t, struct file *f, const struct seg *s, int ns,
                        uint64_t total, int64_t pos)
{
    if (f->fd < 0)
        return f->kind == FK_DIR ? -EISDIR : -EBADF;
    if (total > MAX_RW_COUNT)
        total = MAX_RW_COUNT;
    size_t cap = total < BOUNCE ? (size_t)total : BOUNCE;
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    file_get(f);
    uint64_t done = 0;
    int64_t ret = 0;
    do {
        size_t n = total - done < cap ? (size_t)(total - done) : cap;
        size_t got = seg_copy(t, s, ns, done, buf, n, false);
        bool fault = got < n;
        if (fault && !got) {
            ret = -EFAULT;
            break;
        }
        n = got;
        size_t off = 0;
        while (off < n || (n == 0 && off == 0)) {
            int64_t w = host_io(t, f, true, buf + off, n - off,
                                pos < 0 ? -1 : pos + (int64_t)(done + off));
            if (w < 0) {
                if (w == -EPIPE)
                    send_sigpipe(t);
                ret = w;
                break;
            }
            if (w > 0 && f->kind == FK_REGULAR) {
                /* Where the bytes went: pwrite's offset, the file position
                 * after a write, the end for pwrite on O_APPEND (Linux
                 * appends there, as the host did). */
                struct stat st;
                int64_t at = pos < 0 ? (int64_t)lseek(f->fd, 0, SEEK_CUR) - w
                             : !(f->flags & O_APPEND) ? pos + (int64_t)(done + off)
                             : fstat(f->fd, &st) == 0 ? (int64_t)st.st_size - w
                                                      : -1;
                if (at >= 0)
                    gmm_file_written(K.sys, f->dev, f->ino, (uint64_t)at, buf + off, (size_t)w);
            }
            off += (size_t)w;
            if (n == 0)
                break;
            /* A regular file's short write (a full disk, RLIMIT_FSIZE) ends
             * the call; a pipe's goes on until all is written. */
            if (!file_waits(f) && off < n)
                break;
            if (file_waits(f) && guest_nonblock(f) && off < n)
                break;
        }
        done += off;
        if (ret < 0 || off < n || fault)
            break;
    } while (done < total);
    file_put(f);
    free(buf);
    if (done)
        return (int64_t)done;
    return ret;
}

static int64_t do_read(struct thread *t, struct file *f, const struct seg *s, int ns,
                       uint64_t total, int64_t pos)
{
    if (f->fd < 0)
        return f->kind == FK_DIR ? -EISDIR : -EBADF;
    if (total > MAX_RW_COUNT)
        total = MAX_RW_COUNT;
    if (f->kind == FK_REGULAR)
        gmm_file_sync(K.sys, f->dev, f->ino);
    size_t cap = total < BOUNCE ? (size_t)total : BOUNCE;
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    file_get(f);
    uint64_t done = 0;
    int64_t ret = 0;
    do {
        size_t n = total - done < cap ? (size_t)(total - done) : cap;
        int64_t r = host_io(t, f, false, buf, n, pos < 0 ? -1 : pos + (int64_t)done);
        if (r < 0) {
            ret = r;
            break;
        }
        size_t got = seg_copy(t, s, ns, done, buf, (size_t)r, true);
        if (got < (size_t)r) {
            /* The guest's buffer ended in a hole: what was not copied
             * stays in a seekable file. */
            if (pos < 0 && f->kind == FK_REGULAR)
                lseek(f->fd, -(off_t)((size_t)r - got), SEEK_CUR);
            done += got;
            ret = -EFAULT;
            break;
        }
        done += got;
        /* Pipes, ttys and sockets return what one read gave; files go on. */
        if ((size_t)r < n || f->kind != FK_REGULAR)
            break;
    } while (done < total);
    file_put(f);
    free(buf);
    if (done)
        return (int64_t)done;
    return ret;
}

static int64_t sys_read(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    struct seg s = {a[1], a[2] > MAX_RW_COUNT ? MAX_RW_COUNT : a[2]};
    return do_read(t, f, &s, 1, s.len, -1);
}

static int64_t sys_write(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    struct seg s = {a[1], a[2] > MAX_RW_COUNT ? MAX_RW_COUNT : a[2]};
    return do_write(t, f, &s, 1, s.len, -1);
}

static int64_t rw_vec(struct thread *t, const uint32_t a[6], bool wr, int64_t pos)
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    struct seg *s;
    uint64_t total;
    int e = iov_load(t, a[1], a[2], &s, &total);
    if (e)
        return e;
    if (pos > INT64_MAX - (int64_t)total) {
        free(s);
        return -EINVAL;
    }
    int64_t r = wr ? do_write(t, f, s, (int)a[2], total, pos)
                   : do_read(t, f, s, (int)a[2], total, pos);
    free(s);
    return r;
}

static int64_t sys_readv(struct thread *t, const uint32_t a[6])
{
    return rw_vec(t, a, false, -1);
}

static int64_t sys_writev(struct thread *t, const uint32_t a[6])
{
    return rw_vec(t, a, true, -1);
}

static int64_t pos64(uint32_t lo, uint32_t hi)
{
    return (int64_t)((uint64_t)hi << 32 | lo);
}

/* pread64(fd, buf, count, lo, hi) and pwrite64. */
static int64_t prw(struct thread *t, const uint32_t a[6], bool wr)
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    int64_t pos = pos64(a[3], a[4]);
    struct seg s = {a[1], a[2] > MAX_RW_COUNT ? MAX_RW_COUNT : a[2]};
    /* Linux's rw_verify_area: the range must not pass the largest offset. */
    if (pos < 0 || pos > INT64_MAX - s.len)
        return -EINVAL;
    if (file_waits(f))
        return -ESPIPE;
    return wr ? do_write(t, f, &s, 1, s.len, pos) : do_read(t, f, &s, 1, s.len, pos);
}

static int64_t sys_pread64(struct thread *t, const uint32_t a[6])
{
    return prw(t, a, false);
}

static int64_t sys_pwrite64(struct thread *t, const uint32_t a[6])
{
    return prw(t, a, true);
}

/* preadv(fd, iov, cnt, lo, hi) and pwritev. */
static int64_t prwv(struct thread *t, const uint32_t a[6], bool wr)
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    int64_t pos = pos64(a[3], a[4]);
    if (pos < 0)
        return -EINVAL;
    if (file_waits(f))
        return -ESPIPE;
    return rw_vec(t, a, wr, pos);
}

static int64_t sys_preadv(struct thread *t, const uint32_t a[6])
{
    return prwv(t, a, false);
}

static int64_t sys_pwritev(struct thread *t, const uint32_t a[6])
{
    return prwv(t, a, true);
}

/* ---- the virtual /proc files ---- */

static const char *skip_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) ? NULL : s + n;
}

/* A decimal fd or pid of at most 9 digits: its value, else -1. */
static int parse_num(const char *s, const char **end)
{
    int v = 0, n = 0;
    while (*s >= '0' && *s <= '9' && n < 9) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (!n || (*s >= '0' && *s <= '9'))
        return -1;
    *end = s;
    return v;
}

void proc_match(struct thread *t, const char *path, struct proc_ref *r)
{
    memset(r, 0, sizeof(*r));
    r->kind = PROC_NONE;
    const char *rest;
    struct process *p = t->proc;
    if ((rest = skip_prefix(path, "/dev/fd/"))) {
        int fd = parse_num(rest, &rest);
        if (fd < 0 || (*rest && strcmp(rest, "/")))
            return;
        r->p = p;
        r->fd = fd;
        r->kind = fd_file(p->files, fd) ? PROC_FD : PROC_NOENT;
        return;
    }
    static const char *const stdnames[3] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(path, stdnames[i])) {
            r->p = p;
            r->fd = i;
            r->kind = fd_file(p->files, i) ? PROC_FD : PROC_NOENT;
            return;
        }
    if (!(rest = skip_prefix(path, "/proc/")))
        return;
    const char *after;
    if ((after = skip_prefix(rest, "self")) && (*after == '/' || !*after)) {
        rest = after;
    } else if ((after = skip_prefix(rest, "thread-self")) && (*after == '/' || !*after)) {
        rest = after;
    } else {
        int pid = parse_num(rest, &after);
        if (pid < 0 || (*after != '/' && *after))
            return;
        /* A number that is no guest pid stays the host's. */
        p = process_find(pid);
        if (!p)
            return;
        rest = after;
    }
    if (*rest == '/')
        rest++;
    r->p = p;
    r->rest = rest;
    if (!strcmp(rest, "maps"))
        r->kind = PROC_MAPS;
    else if (!strcmp(rest, "smaps"))
        r->kind = PROC_SMAPS;
    else if (!strcmp(rest, "status"))
        r->kind = PROC_STATUS;
    else if (!strcmp(rest, "fd") || !strcmp(rest, "fd/"))
        r->kind = PROC_FDDIR;
    else if (!strcmp(rest, "exe"))
        r->kind = p->exe_path ? PROC_EXE : PROC_NOENT;
    else if (!strcmp(rest, "cwd"))
        r->kind = p->fs ? PROC_CWD : PROC_NOENT;
    else if ((after = skip_prefix(rest, "fd/"))) {
        int fd = parse_num(after, &after);
        if (fd < 0 || (*after && strcmp(after, "/"))) {
            r->kind = PROC_NOENT;
            return;
        }
        r->fd = fd;
        r->kind = p->files && fd_file(p->files, fd) ? PROC_FD : PROC_NOENT;
    }
}

/* The text of a virtual file, malloc'd (*len its length): NULL when out of memory. */
static char *proc_text(struct proc_ref *r, size_t *len)
{
    struct process *p = r->p;
    gmm_space *sp = p->mm && !p->zombie ? p->mm->space : NULL;
    size_t (*gen)(gmm_space *, char *, size_t) =
        r->kind == PROC_MAPS ? gmm_space_maps
        : r->kind == PROC_SMAPS ? gmm_space_smaps
                                : gmm_space_status;
    size_t mlen = sp ? gen(sp, NULL, 0) : 0;
    char head[512] = "";
    size_t hlen = 0;
    char tail[64] = "";
    if (r->kind == PROC_STATUS) {
        unsigned um = p->fs ? p->fs->umask : 022;
        int nfd = p->files ? p->files->nfd : 0;
        int n = snprintf(head, sizeof(head),
                         "Name:\t%.16s\nUmask:\t%04o\nState:\t%s\nTgid:\t%d\nNgid:\t0\n"
                         "Pid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\n"
                         "Gid:\t%u\t%u\t%u\t%u\nFDSize:\t%d\n",
                         p->comm, um, p->zombie ? "Z (zombie)" : "R (running)", p->pid,
                         p->pid, p->parent ? p->parent->pid : 0, getuid(), geteuid(),
                         geteuid(), geteuid(), getgid(), getegid(), getegid(), getegid(),
                         nfd < 64 ? 64 : nfd);
        hlen = n > 0 ? (size_t)n : 0;
        n = snprintf(tail, sizeof(tail), "Threads:\t%d\n", p->nthreads);
        (void)n;
    }
    size_t tlen = strlen(tail);
    char *text = malloc(hlen + mlen + tlen + 1);
    if (!text)
        return NULL;
    memcpy(text, head, hlen);
    if (sp)
        gen(sp, text + hlen, mlen + 1);
    memcpy(text + hlen + mlen, tail, tlen + 1);
    *len = hlen + mlen + tlen;
    return text;
}

static const char *proc_name(enum proc_kind k)
{
    return k == PROC_MAPS ? "maps" : k == PROC_SMAPS ? "smaps" : k == PROC_STATUS ? "status" : "fd";
}

/* Opens a virtual /proc file: a read-only memfd holding its text now, or
 * the fd directory.  A struct file or -errno in *err. */
static struct file *proc_open(struct proc_ref *r, int flags, int *err)
{
    char vpath[64];
    snprintf(vpath, sizeof(vpath), "/proc/%d/%s", r->p->pid, proc_name(r->kind));
    char *vp = strdup(vpath);
    if (!vp) {
        *err = -ENOMEM;
        return NULL;
    }
    if (r->kind == PROC_FDDIR) {
        if ((flags & O_ACCMODE) != O_RDONLY) {
            free(vp);
            *err = -EISDIR;
            return NULL;
        }
        int h = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct file *f = h >= 0 ? file_new(h, flags & ~O_CLOEXEC) : NULL;
        if (!f) {
            if (h >= 0)
                close(h);
            free(vp);
            *err = -ENOMEM;
            return NULL;
        }
        f->kind = FK_DIR;
        f->vpath = vp;
        f->vpid = r->p->pid;
        return f;
    }
    /* Mode 0444: root may open them for writing (and writes fail). */
    if (((flags & O_ACCMODE) != O_RDONLY && geteuid() != 0) || (flags & O_DIRECTORY)) {
        free(vp);
        *err = (flags & O_DIRECTORY) ? -ENOTDIR : -EACCES;
        return NULL;
    }
    size_t len;
    char *text = proc_text(r, &len);
    int m = text ? memfd_create(proc_name(r->kind), MFD_CLOEXEC) : -1;
    bool ok = m >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t w = write(m, text + off, len - off);
        if (w <= 0)
            ok = false;
        else
            off += (size_t)w;
    }
    free(text);
    int ro = -1;
    if (ok) {
        /* A read-only description of the memfd: the guest cannot write it. */
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", m);
        ro = open(link, O_RDONLY | O_CLOEXEC | (flags & O_NONBLOCK));
    }
    if (m >= 0)
        close(m);
    struct file *f = ro >= 0 ? file_new(ro, O_RDONLY | (flags & O_NONBLOCK)) : NULL;
    if (!f) {
        if (ro >= 0)
            close(ro);
        free(vp);
        *err = text ? -EIO : -ENOMEM;
        return NULL;
    }
    f->vpath = vp;
    return f;
}

/* ---- open, close, dup ---- */

static int64_t do_open(struct thread *t, uint32_t dirfd, uint32_t upath, uint32_t flags,
                       uint32_t mode)
{
    struct fs_target *tg = malloc(sizeof(*tg));
    if (!tg)
        return -ENOMEM;
    int64_t ret = fs_resolve_user(t, (int)dirfd, upath, tg);
    if (ret) {
        free(tg);
        return ret;
    }
    int fl = (int)flags;
    bool cloexec = fl & O_CLOEXEC;
    struct file *f = NULL;
    int err = 0;
    enum proc_kind k = tg->proc.kind;
    if (k == PROC_MAPS || k == PROC_SMAPS || k == PROC_STATUS || k == PROC_FDDIR) {
        f = proc_open(&tg->proc, fl, &err);
    } else {
        if (fl & (O_CREAT | __O_TMPFILE))
            mode &= ~fs_umask(t);
        mode &= 07777;
        /* Opening a FIFO or a device may block for its peer: klock is
         * dropped around those (the path is looked at first). */
        struct stat st;
        bool may_block = fstatat(tg->dirfd, tg->path, &st, 0) == 0 &&
                         (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode));
        if (may_block)
            kunlock();
        int h = openat(tg->dirfd, tg->path, fl | O_CLOEXEC, (mode_t)mode);
        int e = errno;
        if (may_block)
            krelock();
        if (h < 0) {
            err = -e;
        } else {
            f = file_new(h, fl & ~O_CLOEXEC);
            if (!f) {
                close(h);
                err = -ENOMEM;
            } else if ((fl & O_TRUNC) && f->kind == FK_REGULAR &&
                       (fl & O_ACCMODE) != O_RDONLY) {
                /* Mappings of the file see it empty. */
                gmm_file_resized(K.sys, f->dev, f->ino, 0);
            }
        }
    }
    free(tg);
    if (!f)
        return err;
    int fd = fd_alloc(t->proc->files, 0, f, cloexec);
    if (fd < 0)
        file_put(f);
    return fd;
}

static int64_t sys_open(struct thread *t, const uint32_t a[6])
{
    return do_open(t, (uint32_t)AT_FDCWD, a[0], a[1], a[2]);
}

static int64_t sys_openat(struct thread *t, const uint32_t a[6])
{
    return do_open(t, a[0], a[1], a[2], a[3]);
}

static int64_t sys_creat(struct thread *t, const uint32_t a[6])
{
    return do_open(t, (uint32_t)AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1]);
}

static int64_t sys_close(struct thread *t, const uint32_t a[6])
{
    return fd_close(t->proc->files, (int)a[0]);
}

static int64_t sys_dup(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    int fd = fd_alloc(t->proc->files, 0, file_get(f), false);
    if (fd < 0)
        file_put(f);
    return fd;
}

static int64_t do_dup3(struct thread *t, uint32_t oldfd, uint32_t newfd, int flags)
{
    struct files *fs = t->proc->files;
    struct file *f = fd_file(fs, (int)oldfd);
    if (!f)
        return -EBADF;
    if ((int)newfd < 0 || newfd >= rlimit_nofile())
        return -EBADF;
    int e = fd_install(fs, (int)newfd, file_get(f), flags & O_CLOEXEC);
    if (e) {
        file_put(f);
        return e;
    }
    return newfd;
}

static int64_t sys_dup2(struct thread *t, const uint32_t a[6])
{
    if (a[0] == a[1])
        return fget(t, a[0]) ? (int64_t)a[1] : -EBADF;
    return do_dup3(t, a[0], a[1], 0);
}

static int64_t sys_dup3(struct thread *t, const uint32_t a[6])
{
    if (a[2] & ~(uint32_t)O_CLOEXEC)
        return -EINVAL;
    if (a[0] == a[1])
        return -EINVAL;
    return do_dup3(t, a[0], a[1], (int)a[2]);
}

static int64_t do_pipe(struct thread *t, uint32_t ufds, uint32_t flags)
{
    if (flags & ~(uint32_t)(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
        return -EINVAL;
    int h[2];
    /* Non-blocking on the host: a blocking guest waits in wait_fd, so no
     * host read or write ever blocks a thread that a signal must reach. */
    if (pipe2(h, O_CLOEXEC | O_NONBLOCK | (int)(flags & O_DIRECT)) < 0)
        return -errno;
    struct file *rf = file_new(h[0], O_RDONLY | (int)(flags & (O_NONBLOCK | O_DIRECT)));
    struct file *wf = file_new(h[1], O_WRONLY | (int)(flags & (O_NONBLOCK | O_DIRECT)));
    if (!rf || !wf) {
        if (rf)
            file_put(rf);
        else
            close(h[0]);
        if (wf)
            file_put(wf);
        else
            close(h[1]);
        return -ENOMEM;
    }
    rf->host_nb = wf->host_nb = true;
    struct files *fs = t->proc->files;
    bool cloexec = flags & O_CLOEXEC;
    int g0 = fd_alloc(fs, 0, rf, cloexec);
    if (g0 < 0) {
        file_put(rf);
        file_put(wf);
        return g0;
    }
    int g1 = fd_alloc(fs, 0, wf, cloexec);
    if (g1 < 0) {
        fd_close(fs, g0);
        file_put(wf);
        return g1;
    }
    int32_t v[2] = {g0, g1};
    if (guest_write(t, ufds, v, sizeof(v))) {
        fd_close(fs, g0);
        fd_close(fs, g1);
        return -EFAULT;
    }
    return 0;
}

static int64_t sys_pipe(struct thread *t, const uint32_t a[6])
{
    return do_pipe(t, a[0], 0);
}

static int64_t sys_pipe2(struct thread *t, const uint32_t a[6])
{
    return do_pipe(t, a[0], a[1]);
}

#define CLOSE_RANGE_UNSHARE_G (1u << 1)
#define CLOSE_RANGE_CLOEXEC_G (1u << 2)

static int64_t sys_close_range(struct thread *t, const uint32_t a[6])
{
    uint32_t first = a[0], last = a[1], flags = a[2];
    if (flags & ~(CLOSE_RANGE_UNSHARE_G | CLOSE_RANGE_CLOEXEC_G))
        return -EINVAL;
    if (first > last)
        return -EINVAL;
    struct process *p = t->proc;
    if ((flags & CLOSE_RANGE_UNSHARE_G) && p->files->refs > 1) {
        struct files *copy = files_dup(p->files);
        if (!copy)
            return -ENOMEM;
        files_put(p->files);
        p->files = copy;
    }
    struct files *fs = p->files;
    for (int64_t i = first; i <= (int64_t)last && i < fs->nfd; i++) {
        if (!fs->fd[i].f)
            continue;
        if (flags & CLOSE_RANGE_CLOEXEC_G)
            fs->fd[i].cloexec = true;
        else
            fd_close(fs, (int)i);
    }
    return 0;
}

/* ---- seeking ---- */

static int64_t do_lseek(struct thread *t, uint32_t gfd, int64_t off, uint32_t whence)
{
    struct file *f = fget(t, gfd);
    if (!f)
        return -EBADF;
    if (file_vdir(f)) { /* cookies: 0 ".", 1 "..", 2 + fd */
        if (whence == SEEK_SET && off >= 0)
            f->vpos = (uint64_t)off;
        else if (whence == SEEK_CUR && off >= -(int64_t)f->vpos && off <= INT32_MAX)
            f->vpos = (uint64_t)((int64_t)f->vpos + off);
        else
            return -EINVAL;
        return (int64_t)f->vpos;
    }
    if (f->kind == FK_DIR)
        return dir_lseek(f, off, whence);
    if (whence > SEEK_HOLE)
        return -EINVAL;
    off_t r = lseek(f->fd, (off_t)off, (int)whence);
    return r < 0 ? -errno : (int64_t)r;
}

static int64_t sys_lseek(struct thread *t, const uint32_t a[6])
{
    int64_t r = do_lseek(t, a[0], (int32_t)a[1], a[2]);
    if (r > INT32_MAX)
        return -EOVERFLOW;
    return r;
}

/* _llseek(fd, hi, lo, loff_t *result, whence) */
static int64_t sys_llseek(struct thread *t, const uint32_t a[6])
{
    int64_t r = do_lseek(t, a[0], pos64(a[2], a[1]), a[4]);
    if (r < 0)
        return r;
    uint64_t v = (uint64_t)r;
    return guest_write(t, a[3], &v, 8) ? -EFAULT : 0;
}

/* ---- fcntl ---- */

/* struct flock of i386 (16 bytes) and flock64 (24 bytes, packed). */
static int flock_load(struct thread *t, uint32_t addr, bool wide, struct flock *fl)
{
    uint8_t b[24];
    if (guest_read(t, addr, b, wide ? 24 : 16))
        return -EFAULT;
    int16_t type, whence;
    memcpy(&type, b, 2);
    memcpy(&whence, b + 2, 2);
    memset(fl, 0, sizeof(*fl));
    fl->l_type = type;
    fl->l_whence = whence;
    if (wide) {
        int64_t st, ln;
        memcpy(&st, b + 4, 8);
        memcpy(&ln, b + 12, 8);
        fl->l_start = st;
        fl->l_len = ln;
    } else {
        int32_t st, ln;
        memcpy(&st, b + 4, 4);
        memcpy(&ln, b + 8, 4);
        fl->l_start = st;
        fl->l_len = ln;
    }
    return 0;
}

static int flock_store(struct thread *t, uint32_t addr, bool wide, const struct flock *fl)
{
    uint8_t b[24];
    memset(b, 0, sizeof(b));
    int16_t type = (int16_t)fl->l_type, whence = (int16_t)fl->l_whence;
    memcpy(b, &type, 2);
    memcpy(b + 2, &whence, 2);
    int32_t pid = fl->l_pid;
    if (wide) {
        int64_t st = fl->l_start, ln = fl->l_len;
        memcpy(b + 4, &st, 8);
        memcpy(b + 12, &ln, 8);
        memcpy(b + 20, &pid, 4);
    } else {
        if (fl->l_start > INT32_MAX || fl->l_len > INT32_MAX)
            return -EOVERFLOW;
        int32_t st = (int32_t)fl->l_start, ln = (int32_t)fl->l_len;
        memcpy(b + 4, &st, 4);
        memcpy(b + 8, &ln, 4);
        memcpy(b + 12, &pid, 4);
    }
    return guest_write(t, addr, b, wide ? 24 : 16) ? -EFAULT : 0;
}

#define F_GETLK64_G 12
#define F_SETLK64_G 13
#define F_SETLKW64_G 14

static int64_t do_lock(struct thread *t, struct file *f, int cmd, uint32_t addr, bool wide)
{
    struct flock fl;
    int e = flock_load(t, addr, wide, &fl);
    if (e)
        return e;
    /* The host's 64-bit commands; the OFD ones keep their numbers. */
    int hcmd = cmd == F_GETLK64_G ? F_GETLK : cmd == F_SETLK64_G ? F_SETLK
                                          : cmd == F_SETLKW64_G ? F_SETLKW
                                                                : cmd;
    if (hcmd == F_GETLK || hcmd == F_OFD_GETLK) {
        if (fcntl(f->fd, hcmd, &fl) < 0)
            return -errno;
        return flock_store(t, addr, wide, &fl);
    }
    if (hcmd == F_SETLK || hcmd == F_OFD_SETLK)
        return fcntl(f->fd, hcmd, &fl) < 0 ? -errno : 0;
    /* SETLKW: try, and wait in slices so that a signal interrupts it. */
    int trycmd = hcmd == F_SETLKW ? F_SETLK : F_OFD_SETLK;
    file_get(f);
    int64_t ret;
    for (;;) {
        if (fcntl(f->fd, trycmd, &fl) == 0) {
            ret = 0;
            break;
        }
        if (errno != EAGAIN && errno != EACCES) {
            ret = -errno;
            break;
        }
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_nsec += POLL_SLICE_MS * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        int w = kernel_wait(t, &dl);
        if (w == -ERESTARTSYS) {
            ret = w;
            break;
        }
    }
    file_put(f);
    return ret;
}

static int64_t do_fcntl(struct thread *t, const uint32_t a[6], bool is64)
{
    struct files *fs = t->proc->files;
    int gfd = (int)a[0];
    struct file *f = fd_file(fs, gfd);
    if (!f)
        return -EBADF;
    int cmd = (int)a[1];
    uint32_t arg = a[2];
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        if (arg >= rlimit_nofile())
            return -EINVAL;
        int fd = fd_alloc(fs, (int)arg, file_get(f), cmd == F_DUPFD_CLOEXEC);
        if (fd < 0)
            file_put(f);
        return fd;
    }
    case F_GETFD:
        return fs->fd[gfd].cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        fs->fd[gfd].cloexec = arg & FD_CLOEXEC;
        return 0;
    case F_GETFL: {
        if (f->fd < 0)
            return f->flags;
        int fl = fcntl(f->fd, F_GETFL);
        if (fl < 0)
            return -errno;
        if (f->host_nb)
            fl = (fl & ~O_NONBLOCK) | (f->flags & O_NONBLOCK);
        return fl;
    }
    case F_SETFL: {
        int fl = (int)arg;
        if (f->fd >= 0) {
            int hfl = f->host_nb ? fl | O_NONBLOCK : fl;
            if (fcntl(f->fd, F_SETFL, hfl) < 0)
                return -errno;
        }
        int changeable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
        f->flags = (f->flags & ~changeable) | (fl & changeable);
        return 0;
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
        if (f->fd < 0)
            return -EBADF;
        return do_lock(t, f, cmd, a[2], false);
    case F_GETLK64_G:
    case F_SETLK64_G:
    case F_SETLKW64_G:
        if (!is64)
            return -EINVAL;
        if (f->fd < 0)
            return -EBADF;
        return do_lock(t, f, cmd, a[2], true);
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
        if (f->fd < 0)
            return -EBADF;
        return do_lock(t, f, cmd, a[2], is64);
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
    case F_GET_SEALS:
    case F_ADD_SEALS: {
        int r = fcntl(f->fd, cmd, (int)arg);
        return r < 0 ? -errno : r;
    }
    default:
        return -EINVAL;
    }
}

static int64_t sys_fcntl(struct thread *t, const uint32_t a[6])
{
    return do_fcntl(t, a, false);
}

static int64_t sys_fcntl64(struct thread *t, const uint32_t a[6])
{
    return do_fcntl(t, a, true);
}

/* ---- ioctl ---- */

/* The foreground process group of the terminal, in guest pids: the host's
 * is the runner's own. */
static int tty_pgrp;

static int64_t sys_ioctl(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    uint32_t req = a[1], arg = a[2];
    /* Linux answers these four for every fd. */
    switch (req) {
    case FIOCLEX:
    case FIONCLEX:
        t->proc->files->fd[a[0]].cloexec = req == FIOCLEX;
        return 0;
    case FIONBIO: {
        int32_t on;
        if (guest_read(t, arg, &on, 4))
            return -EFAULT;
        if (f->fd >= 0 && !f->host_nb) {
            int hon = on != 0;
            if (ioctl(f->fd, FIONBIO, &hon) < 0)
                return -errno;
        }
        f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
        return 0;
    }
    case FIONREAD: {
        if (f->kind == FK_DIR)
            return -ENOTTY;
        int n = 0;
        if (ioctl(f->fd, FIONREAD, &n) < 0)
            return -errno;
        int32_t v = n;
        return guest_write(t, arg, &v, 4) ? -EFAULT : 0;
    }
    }
    if (f->kind != FK_TTY)
        return -ENOTTY;
    switch (req) {
    case TCGETS: { /* the kernel's struct termios: 36 bytes on i386 and x86-64 */
        uint8_t b[64];
        if (ioctl(f->fd, TCGETS, b) < 0)
            return -errno;
        return guest_write(t, arg, b, 36) ? -EFAULT : 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
        uint8_t b[64];
        memset(b, 0, sizeof(b));
        if (guest_read(t, arg, b, 36))
            return -EFAULT;
        /* TCSETSW/F wait for the output to drain: klock dropped. */
        file_get(f);
        kunlock();
        int r = ioctl(f->fd, req, b);
        int e = errno;
        krelock();
        file_put(f);
        return r < 0 ? -e : 0;
    }
    case TCSBRK:
    case TCSBRKP:
    case TCFLSH:
    case TCXONC: {
        /* An int argument; TCSBRK(1) is tcdrain, which waits: klock
         * dropped. */
        file_get(f);
        kunlock();
        int r = ioctl(f->fd, req, (int)arg);
        int e = errno;
        krelock();
        file_put(f);
        return r < 0 ? -e : 0;
    }
    case TIOCOUTQ: {
        int n = 0;
        if (ioctl(f->fd, TIOCOUTQ, &n) < 0)
            return -errno;
        int32_t v = n;
        return guest_write(t, arg, &v, 4) ? -EFAULT : 0;
    }
    case TIOCGWINSZ: {
        struct winsize ws;
        if (ioctl(f->fd, TIOCGWINSZ, &ws) < 0)
            return -errno;
        return guest_write(t, arg, &ws, 8) ? -EFAULT : 0;
    }
    case TIOCSWINSZ: {
        struct winsize ws;
        if (guest_read(t, arg, &ws, 8))
            return -EFAULT;
        return ioctl(f->fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
    }
    case TIOCGPGRP: {
        int32_t v = tty_pgrp ? tty_pgrp : (K.init ? K.init->pgid : t->proc->pgid);
        return guest_write(t, arg, &v, 4) ? -EFAULT : 0;
    }
    case TIOCSPGRP: {
        int32_t v;
        if (guest_read(t, arg, &v, 4))
            return -EFAULT;
        if (v < 0)
            return -EINVAL;
        tty_pgrp = v;
        return 0;
    }
    default:
        return -ENOTTY;
    }
}

/* ---- poll and select ---- */

static int64_t ts_to_ms_left(const struct timespec *dl)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(dl->tv_sec - now.tv_sec) * 1000 + (dl->tv_nsec - now.tv_nsec) / 1000000;
    if (ms < 0)
        return 0;
    /* Round up so that the wait does not end early. */
    if ((dl->tv_nsec - now.tv_nsec) % 1000000)
        ms++;
    return ms;
}

static void deadline_after(struct timespec *dl, int64_t sec, int64_t nsec)
{
    clock_gettime(CLOCK_MONOTONIC, dl);
    dl->tv_sec += (time_t)sec;
    dl->tv_nsec += (long)nsec;
    while (dl->tv_nsec >= 1000000000L) {
        dl->tv_sec++;
        dl->tv_nsec -= 1000000000L;
    }
}

static void deadline_left(const struct timespec *dl, int64_t *sec, int64_t *nsec)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t s = dl->tv_sec - now.tv_sec, ns = dl->tv_nsec - now.tv_nsec;
    if (ns < 0) {
        s--;
        ns += 1000000000L;
    }
    if (s < 0)
        s = ns = 0;
    *sec = s;
    *nsec = ns;
}

/* The poll of the guest's fds gfds into revents (both n long): ready
 * count, 0 at the deadline (NULL: none), -EINTR when a signal arrives
 * (never restarted, as Linux's poll after a handler), -ENOMEM.  klock
 * dropped while waiting, in slices of POLL_SLICE_MS. */
static int64_t do_poll(struct thread *t, const int32_t *gfds, const short *events, short *revents,
                       uint32_t n, const struct timespec *dl)
{
    struct pollfd *pf = calloc(n ? n : 1, sizeof(*pf));
    struct file **held = calloc(n ? n : 1, sizeof(*held));
    if (!pf || !held) {
        free(pf);
        free(held);
        return -ENOMEM;
    }
    int64_t ret = 0;
    bool first = true;
    for (;;) {
        int fixed = 0; /* ready without the host: bad fds, the fd directory */
        for (uint32_t i = 0; i < n; i++) {
            pf[i].fd = -1;
            pf[i].events = events[i];
            pf[i].revents = 0;
            revents[i] = 0;
            if (gfds[i] < 0)
                continue;
            struct file *f = fget(t, (uint32_t)gfds[i]);
            if (!f) {
                revents[i] = POLLNVAL;
                fixed++;
            } else if (f->fd < 0) {
                revents[i] = events[i] & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
                fixed += revents[i] != 0;
            } else {
                pf[i].fd = f->fd;
                held[i] = file_get(f);
            }
        }
        int64_t ms = 0;
        if (!fixed && !first) {
            ms = dl ? ts_to_ms_left(dl) : POLL_SLICE_MS;
            if (ms > POLL_SLICE_MS)
                ms = POLL_SLICE_MS;
        }
        kunlock();
        int r = poll(pf, n, (int)ms);
        int e = errno;
        krelock();
        for (uint32_t i = 0; i < n; i++) {
            if (held[i]) {
                file_put(held[i]);
                held[i] = NULL;
            }
            if (pf[i].fd >= 0)
                revents[i] = pf[i].revents;
        }
        if (r < 0 && e != EINTR) {
            ret = -e;
            break;
        }
        if (r < 0)
            r = 0;
        if (r + fixed > 0) {
            ret = r + fixed;
            break;
        }
        if (dl && ts_to_ms_left(dl) == 0 && !first) {
            ret = 0;
            break;
        }
        if (dl && dl->tv_sec == 0 && dl->tv_nsec == 0) {
            ret = 0;
            break;
        }
        if (signal_pending(t)) {
            ret = -EINTR;
            break;
        }
        first = false;
    }
    free(pf);
    free(held);
    return ret;
}

static const struct timespec zero_ts;

static int64_t poll_common(struct thread *t, uint32_t ufds, uint32_t n,
                           const struct timespec *dl)
{
    if (n > rlimit_nofile())
        return -EINVAL;
    struct pollfd *g = calloc(n ? n : 1, sizeof(*g));
    int32_t *fds = calloc(n ? n : 1, sizeof(*fds));
    short *ev = calloc(n ? n : 1, sizeof(*ev)), *rev = calloc(n ? n : 1, sizeof(*rev));
    int64_t ret = -ENOMEM;
    if (!g || !fds || !ev || !rev)
        goto out;
    ret = -EFAULT;
    if (n && guest_read(t, ufds, g, n * sizeof(*g)))
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        fds[i] = g[i].fd;
        /* POLLERR, POLLHUP and POLLNVAL are always reported. */
        ev[i] = g[i].events;
    }
    ret = do_poll(t, fds, ev, rev, n, dl);
    if (ret >= 0) {
        for (uint32_t i = 0; i < n; i++)
            g[i].revents = rev[i];
        if (n && guest_write(t, ufds, g, n * sizeof(*g)))
            ret = -EFAULT;
    }
out:
    free(g);
    free(fds);
    free(ev);
    free(rev);
    return ret;
}

static int64_t sys_poll(struct thread *t, const uint32_t a[6])
{
    int32_t ms = (int32_t)a[2];
    struct timespec dl;
    if (ms >= 0) {
        if (ms == 0)
            dl = zero_ts;
        else
            deadline_after(&dl, ms / 1000, (int64_t)(ms % 1000) * 1000000);
    }
    return poll_common(t, a[0], a[1], ms >= 0 ? &dl : NULL);
}

/* A guest timespec (wide: two 64-bit fields) as a deadline: 0, -EFAULT,
 * -EINVAL; *none when addr is 0. */
static int load_timeout(struct thread *t, uint32_t addr, bool wide, bool usec,
                        struct timespec *dl, bool *none)
{
    *none = addr == 0;
    if (!addr)
        return 0;
    int64_t sec, frac;
    if (wide) {
        int64_t v[2];
        if (guest_read(t, addr, v, 16))
            return -EFAULT;
        sec = v[0];
        frac = v[1];
    } else {
        int32_t v[2];
        if (guest_read(t, addr, v, 8))
            return -EFAULT;
        sec = v[0];
        frac = v[1];
    }
    int64_t nsec = usec ? frac * 1000 : frac;
    if (sec < 0 || frac < 0 || nsec >= 1000000000L)
        return -EINVAL;
    if (sec == 0 && nsec == 0) {
        *dl = zero_ts;
        return 0;
    }
    if (sec > 100000000)
        sec = 100000000; /* about 3 years: "forever" */
    deadline_after(dl, sec, nsec);
    return 0;
}

/* Writes the time left to a guest timespec/timeval (Linux updates it). */
static void store_left(struct thread *t, uint32_t addr, bool wide, bool usec,
                       const struct timespec *dl)
{
    int64_t s = 0, ns = 0;
    if (dl->tv_sec || dl->tv_nsec)
        deadline_left(dl, &s, &ns);
    int64_t frac = usec ? ns / 1000 : ns;
    if (wide) {
        int64_t v[2] = {s, frac};
        guest_write(t, addr, v, 16);
    } else {
        int32_t v[2] = {(int32_t)s, (int32_t)frac};
        guest_write(t, addr, v, 8);
    }
}

/* ppoll's and pselect6's temporary signal mask: the old one comes back at
 * return, or after the handler when a signal interrupted the call. */
static int mask_push(struct thread *t, uint32_t umask, uint32_t size, bool *pushed)
{
    *pushed = false;
    if (!umask)
        return 0;
    if (size != 8)
        return -EINVAL;
    uint64_t m;
    if (guest_read(t, umask, &m, 8))
        return -EFAULT;
    t->saved_mask = t->blocked;
    t->blocked = m & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
    *pushed = true;
    return 0;
}

static void mask_pop(struct thread *t, bool pushed, int64_t ret)
{
    if (!pushed)
        return;
    if (ret == -EINTR)
        t->restore_mask = true; /* signal_deliver restores it after the frame */
    else
        t->blocked = t->saved_mask;
}

/* ppoll(fds, n, tsp, sigmask, sigsetsize) */
static int64_t do_ppoll(struct thread *t, const uint32_t a[6], bool wide)
{
    struct timespec dl;
    bool none;
    int e = load_timeout(t, a[2], wide, false, &dl, &none);
    if (e)
        return e;
    bool pushed;
    e = mask_push(t, a[3], a[4], &pushed);
    if (e)
        return e;
    int64_t r = poll_common(t, a[0], a[1], none ? NULL : &dl);
    mask_pop(t, pushed, r);
    if (!none)
        store_left(t, a[2], wide, false, &dl);
    return r;
}

static int64_t sys_ppoll(struct thread *t, const uint32_t a[6])
{
    return do_ppoll(t, a, false);
}

static int64_t sys_ppoll_time64(struct thread *t, const uint32_t a[6])
{
    return do_ppoll(t, a, true);
}

/* select over fd_sets of i386 (arrays of 32-bit words). */
static int64_t do_select(struct thread *t, int32_t nfds, const uint32_t sets[3],
                         const struct timespec *dl)
{
    if (nfds < 0)
        return -EINVAL;
    /* Linux clamps n to its table size, at least 64 fds. */
    int maxfd = (t->proc->files->nfd + 63) / 64 * 64;
    if (nfds > maxfd)
        nfds = maxfd;
    size_t words = ((size_t)nfds + 31) / 32;
    uint32_t *in[3] = {NULL, NULL, NULL}, *out[3] = {NULL, NULL, NULL};
    int32_t *fds = NULL;
    short *ev = NULL, *rev = NULL;
    int64_t ret = -ENOMEM;
    for (int k = 0; k < 3; k++) {
        in[k] = calloc(words ? words : 1, 4);
        out[k] = calloc(words ? words : 1, 4);
        if (!in[k] || !out[k])
            goto out;
        if (sets[k] && words && guest_read(t, sets[k], in[k], words * 4)) {
            ret = -EFAULT;
            goto out;
        }
    }
    fds = calloc((size_t)nfds + 1, sizeof(*fds));
    ev = calloc((size_t)nfds + 1, sizeof(*ev));
    rev = calloc((size_t)nfds + 1, sizeof(*rev));
    if (!fds || !ev || !rev)
        goto out;
    uint32_t n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        uint32_t bit = 1u << (fd % 32);
        short e = 0;
        if (in[0][fd / 32] & bit)
            e |= POLLIN;
        if (in[1][fd / 32] & bit)
            e |= POLLOUT;
        if (in[2][fd / 32] & bit)
            e |= POLLPRI;
        if (!e)
            continue;
        if (!fget(t, (uint32_t)fd)) {
            ret = -EBADF;
            goto out;
        }
        fds[n] = fd;
        ev[n] = e;
        n++;
    }
    ret = do_poll(t, fds, ev, rev, n, dl);
    if (ret < 0)
        goto out;
    int count = 0;
    for (uint32_t i = 0; i < n; i++) {
        int fd = fds[i];
        uint32_t bit = 1u << (fd % 32);
        short r = rev[i];
        if ((ev[i] & POLLIN) && (r & (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR))) {
            out[0][fd / 32] |= bit;
            count++;
        }
        if ((ev[i] & POLLOUT) && (r & (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR))) {
            out[1][fd / 32] |= bit;
            count++;
        }
        if ((ev[i] & POLLPRI) && (r & POLLPRI)) {
            out[2][fd / 32] |= bit;
            count++;
        }
        if (r & POLLNVAL) {
            ret = -EBADF;
            goto out;
        }
    }
    ret = count;
    for (int k = 0; k < 3; k++)
        if (sets[k] && words && guest_write(t, sets[k], out[k], words * 4))
            ret = -EFAULT;
out:
    for (int k = 0; k < 3; k++) {
        free(in[k]);
        free(out[k]);
    }
    free(fds);
    free(ev);
    free(rev);
    return ret;
}

/* _newselect(n, in, out, ex, struct timeval *) */
static int64_t sys_select(struct thread *t, const uint32_t a[6])
{
    struct timespec dl;
    bool none;
    int e = load_timeout(t, a[4], false, true, &dl, &none);
    if (e)
        return e;
    uint32_t sets[3] = {a[1], a[2], a[3]};
    int64_t r = do_select(t, (int32_t)a[0], sets, none ? NULL : &dl);
    if (!none)
        store_left(t, a[4], false, true, &dl);
    return r;
}

/* pselect6(n, in, out, ex, timespec *, {sigset *, size} *) */
static int64_t do_pselect(struct thread *t, const uint32_t a[6], bool wide)
{
    struct timespec dl;
    bool none;
    int e = load_timeout(t, a[4], wide, false, &dl, &none);
    if (e)
        return e;
    uint32_t sig[2] = {0, 0};
    if (a[5] && guest_read(t, a[5], sig, 8))
        return -EFAULT;
    bool pushed;
    e = mask_push(t, sig[0], sig[1], &pushed);
    if (e)
        return e;
    uint32_t sets[3] = {a[1], a[2], a[3]};
    int64_t r = do_select(t, (int32_t)a[0], sets, none ? NULL : &dl);
    mask_pop(t, pushed, r);
    if (!none)
        store_left(t, a[4], wide, false, &dl);
    return r;
}

static int64_t sys_pselect6(struct thread *t, const uint32_t a[6])
{
    return do_pselect(t, a, false);
}

static int64_t sys_pselect6_time64(struct thread *t, const uint32_t a[6])
{
    return do_pselect(t, a, true);
}

/* ---- calls on one fd ---- */

static int64_t sys_fsync(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    if (f->fd < 0)
        return -EINVAL;
    if (f->kind == FK_REGULAR)
        gmm_file_sync(K.sys, f->dev, f->ino);
    return fsync(f->fd) < 0 ? -errno : 0;
}

static int64_t sys_fdatasync(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    if (f->fd < 0)
        return -EINVAL;
    if (f->kind == FK_REGULAR)
        gmm_file_sync(K.sys, f->dev, f->ino);
    return fdatasync(f->fd) < 0 ? -errno : 0;
}

static int64_t do_ftruncate(struct thread *t, uint32_t gfd, int64_t len)
{
    struct file *f = fget(t, gfd);
    if (!f)
        return -EBADF;
    if (len < 0)
        return -EINVAL;
    if (f->fd < 0)
        return -EINVAL;
    if (ftruncate(f->fd, (off_t)len) < 0)
        return -errno;
    if (f->kind == FK_REGULAR)
        gmm_file_resized(K.sys, f->dev, f->ino, (uint64_t)len);
    return 0;
}

static int64_t sys_ftruncate(struct thread *t, const uint32_t a[6])
{
    return do_ftruncate(t, a[0], (int32_t)a[1]);
}

static int64_t sys_ftruncate64(struct thread *t, const uint32_t a[6])
{
    return do_ftruncate(t, a[0], pos64(a[1], a[2]));
}

static int64_t sys_fchmod(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    return fchmod(f->fd, (mode_t)(a[1] & 07777)) < 0 ? -errno : 0;
}

static int64_t sys_fchown32(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    return fchown(f->fd, (uid_t)a[1], (gid_t)a[2]) < 0 ? -errno : 0;
}

/* fchown with 16-bit ids: 0xffff is "unchanged". */
static int64_t sys_fchown16(struct thread *t, const uint32_t a[6])
{
    uint32_t b[6] = {a[0], (a[1] & 0xffff) == 0xffff ? UINT32_MAX : a[1] & 0xffff,
                     (a[2] & 0xffff) == 0xffff ? UINT32_MAX : a[2] & 0xffff, 0, 0, 0};
    return sys_fchown32(t, b);
}

static int fstat_file(struct file *f, struct stat *st)
{
    return fstat(f->fd, st) < 0 ? -errno : 0;
}

static int64_t sys_fstat64(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    struct stat st;
    int e = fstat_file(f, &st);
    return e ? e : put_stat64(t, a[1], &st);
}

static int64_t sys_fstat(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    struct stat st;
    int e = fstat_file(f, &st);
    return e ? e : put_stat(t, a[1], &st);
}

static int64_t sys_fstatfs(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    return put_fstatfs(t, f->fd, a[1], 0, 0);
}

/* fstatfs64(fd, size, buf) */
static int64_t sys_fstatfs64(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    return put_fstatfs(t, f->fd, a[2], a[1], 1);
}

/* flock(fd, op): the host's, waiting in slices so that a signal
 * interrupts it and klock is never held while it blocks (the holder may
 * be another guest process of this host process). */
static int64_t sys_flock(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    int op = (int)a[1];
    if (flock(f->fd, op | LOCK_NB) == 0)
        return 0;
    if (errno != EWOULDBLOCK || (op & LOCK_NB))
        return -errno;
    file_get(f);
    int64_t ret;
    for (;;) {
        struct timespec dl;
        deadline_after(&dl, 0, POLL_SLICE_MS * 1000000L);
        if (kernel_wait(t, &dl) == -ERESTARTSYS) {
            ret = -ERESTARTSYS;
            break;
        }
        if (flock(f->fd, op | LOCK_NB) == 0) {
            ret = 0;
            break;
        }
        if (errno != EWOULDBLOCK) {
            ret = -errno;
            break;
        }
    }
    file_put(f);
    return ret;
}

/* fadvise64_64(fd, off lo, hi, len lo, hi, advice) and fadvise64(fd, off
 * lo, hi, len, advice): advice only, but its errors are Linux's. */
static int64_t do_fadvise(struct thread *t, uint32_t gfd, int64_t off, int64_t len, int advice)
{
    struct file *f = fget(t, gfd);
    if (!f)
        return -EBADF;
    return -posix_fadvise(f->fd, (off_t)off, (off_t)len, advice);
}

static int64_t sys_fadvise64_64(struct thread *t, const uint32_t a[6])
{
    return do_fadvise(t, a[0], pos64(a[1], a[2]), pos64(a[3], a[4]), (int)a[5]);
}

static int64_t sys_fadvise64(struct thread *t, const uint32_t a[6])
{
    return do_fadvise(t, a[0], pos64(a[1], a[2]), a[3], (int)a[4]);
}

/* fallocate(fd, mode, off lo, hi, len lo, hi): a size change reaches the
 * library's page cache. */
static int64_t sys_fallocate(struct thread *t, const uint32_t a[6])
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    int64_t off = pos64(a[2], a[3]), len = pos64(a[4], a[5]);
    if (off < 0 || len <= 0 || off > INT64_MAX - len)
        return -EINVAL;
    if (fallocate(f->fd, (int)a[1], (off_t)off, (off_t)len) < 0)
        return -errno;
    struct stat st;
    if (f->kind != FK_REGULAR || fstat(f->fd, &st) < 0)
        return 0;
    gmm_file_resized(K.sys, f->dev, f->ino, (uint64_t)st.st_size);
    /* Punched or zeroed ranges read zero from the file now: so do the
     * cached pages. */
    if (a[1] & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
        static const char zeros[65536];
        int64_t end = off + len < st.st_size ? off + len : (int64_t)st.st_size;
        for (int64_t at = off; at < end; at += (int64_t)sizeof(zeros)) {
            size_t n = end - at < (int64_t)sizeof(zeros) ? (size_t)(end - at) : sizeof(zeros);
            gmm_file_written(K.sys, f->dev, f->ino, (uint64_t)at, zeros, n);
        }
    }
    return 0;
}

/* ---- directories ---- */

/* struct linux_dirent64 as the host fills it; i386 has the same layout. */
struct dirent64_h {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
};

/* The virtual fd directory: ".", ".." and the guest's fds, as
 * linux_dirent64 (wide) or the old linux_dirent. */
static int64_t vdir_read(struct thread *t, struct file *f, uint32_t buf, uint32_t len, bool wide)
{
    struct process *p = process_find(f->vpid);
    struct files *fs = p && !p->zombie ? p->files : NULL;
    size_t cap = len < 65536 ? len : 65536;
    uint8_t *out = calloc(1, cap ? cap : 1);
    if (!out)
        return -ENOMEM;
    size_t used = 0;
    for (;;) {
        /* cookie 0 ".", 1 "..", 2 + fd the fd */
        uint64_t pos = f->vpos;
        char name[16];
        uint8_t type;
        uint64_t ino;
        if (pos == 0 || pos == 1) {
            strcpy(name, pos ? ".." : ".");
            type = 4; /* DT_DIR */
            ino = 1000 + pos;
        } else {
            int fd = (int)(pos - 2 > INT32_MAX ? INT32_MAX : pos - 2);
            while (fs && fd < fs->nfd && !fs->fd[fd].f)
                fd++;
            if (!fs || fd >= fs->nfd)
                break;
            pos = (uint64_t)fd + 2;
            snprintf(name, sizeof(name), "%d", fd);
            type = 10; /* DT_LNK */
            ino = 2000 + (uint64_t)fd;
        }
        size_t nl = strlen(name);
        size_t rec = wide ? (19 + nl + 1 + 7) & ~(size_t)7 : (10 + nl + 2 + 3) & ~(size_t)3;
        if (used + rec > cap) {
            if (!used) {
                free(out);
                return -EINVAL;
            }
            break;
        }
        uint8_t *r = out + used;
        memset(r, 0, rec);
        uint16_t rl = (uint16_t)rec;
        if (wide) {
            int64_t off = (int64_t)pos + 1;
            memcpy(r, &ino, 8);
            memcpy(r + 8, &off, 8);
            memcpy(r + 16, &rl, 2);
            r[18] = type;
            memcpy(r + 19, name, nl);
        } else {
            uint32_t ino32 = (uint32_t)ino, off = (uint32_t)pos + 1;
            memcpy(r, &ino32, 4);
            memcpy(r + 4, &off, 4);
            memcpy(r + 8, &rl, 2);
            memcpy(r + 10, name, nl);
            r[rec - 1] = type;
        }
        used += rec;
        f->vpos = pos + 1;
    }
    int64_t ret = used && guest_write(t, buf, out, used) ? -EFAULT : (int64_t)used;
    free(out);
    return ret;
}

/* A host directory offset as a guest one.  A 64-bit host process gets
 * 64-bit hash cookies from ext4 where an i386 process gets 32-bit ones,
 * and i386 glibc's readdir fails with EOVERFLOW on the wide ones: the
 * guest sees small cookies, indexes into the file's table of host
 * offsets (1-based; 0 is the start), which lseek takes back.  0 when out
 * of memory. */
static uint32_t dir_cookie(struct file *f, int64_t host_off)
{
    if (f->ndcookie == f->capdcookie) {
        uint32_t cap = f->capdcookie ? f->capdcookie * 2 : 64;
        if (cap > (1u << 26))
            return 0;
        int64_t *c = realloc(f->dcookie, cap * sizeof(*c));
        if (!c)
            return 0;
        f->dcookie = c;
        f->capdcookie = cap;
    }
    f->dcookie[f->ndcookie++] = host_off;
    return f->ndcookie;
}

/* lseek on a real directory, in guest cookies. */
static int64_t dir_lseek(struct file *f, int64_t off, uint32_t whence)
{
    if (whence == SEEK_CUR && off == 0)
        return f->dpos;
    if (whence != SEEK_SET || off < 0 || off > f->ndcookie)
        return -EINVAL;
    int64_t host = off ? f->dcookie[off - 1] : 0;
    if (lseek(f->fd, (off_t)host, SEEK_SET) < 0)
        return -errno;
    f->dpos = (uint32_t)off;
    return off;
}

static int64_t do_getdents(struct thread *t, const uint32_t a[6], bool wide)
{
    struct file *f = fget(t, a[0]);
    if (!f)
        return -EBADF;
    uint32_t len = a[2];
    if (file_vdir(f))
        return vdir_read(t, f, a[1], len, wide);
    if (f->kind != FK_DIR)
        return -ENOTDIR;
    size_t cap = len < BOUNCE ? len : BOUNCE;
    uint8_t *hb = malloc(cap ? cap : 1), *ob = malloc(cap ? cap : 1);
    if (!hb || !ob) {
        free(hb);
        free(ob);
        return -ENOMEM;
    }
    long n = syscall(SYS_getdents64, f->fd, hb, cap);
    if (n < 0) {
        int e = errno;
        free(hb);
        free(ob);
        return -e;
    }
    /* linux_dirent64 keeps its layout; the old linux_dirent has 32-bit
     * ino and off and the type in its last byte.  An old record is never
     * longer than its 64-bit one, so the output fits the guest's buffer. */
    size_t used = 0;
    int64_t ret = 0;
    int64_t resume = -1; /* host offset to go back to when a record is left out */
    uint32_t pos = f->dpos;
    for (long off = 0; off < n;) {
        struct dirent64_h d;
        memcpy(&d, hb + off, sizeof(d));
        const char *name = (const char *)hb + off + offsetof(struct dirent64_h, d_name);
        size_t nl = strnlen(name, d.d_reclen - offsetof(struct dirent64_h, d_name));
        size_t rec = wide ? d.d_reclen : (10 + nl + 2 + 3) & ~(size_t)3;
        if ((!wide && d.d_ino > UINT32_MAX) || used + rec > cap) {
            ret = used ? 0 : (!wide && d.d_ino > UINT32_MAX) ? -EOVERFLOW : -EINVAL;
            resume = pos ? f->dcookie[pos - 1] : 0;
            break;
        }
        uint32_t cookie = dir_cookie(f, d.d_off);
        if (!cookie) {
            ret = used ? 0 : -ENOMEM;
            resume = pos ? f->dcookie[pos - 1] : 0;
            break;
        }
        uint8_t *r = ob + used;
        if (wide) {
            memcpy(r, hb + off, rec);
            int64_t c64 = cookie;
            memcpy(r + 8, &c64, 8);
        } else {
            memset(r, 0, rec);
            uint32_t ino32 = (uint32_t)d.d_ino;
            uint16_t rl = (uint16_t)rec;
            memcpy(r, &ino32, 4);
            memcpy(r + 4, &cookie, 4);
            memcpy(r + 8, &rl, 2);
            memcpy(r + 10, name, nl);
            r[rec - 1] = d.d_type;
        }
        pos = cookie;
        used += rec;
        off += d.d_reclen;
    }
    if (resume >= 0)
        lseek(f->fd, (off_t)resume, SEEK_SET);
    if (used) {
        if (guest_write(t, a[1], ob, used)) {
            /* Nothing delivered: the directory stays where it was. */
            dir_lseek(f, f->dpos, SEEK_SET);
            ret = -EFAULT;
        } else {
            f->dpos = pos;
            ret = (int64_t)used;
        }
    }
    free(hb);
    free(ob);
    return ret;
}

static int64_t sys_getdents64(struct thread *t, const uint32_t a[6])
{
    return do_getdents(t, a, true);
}

static int64_t sys_getdents(struct thread *t, const uint32_t a[6])
{
    return do_getdents(t, a, false);
}

/* ---- sendfile ---- */

/* sendfile(out, in, off_t *offset, count) and sendfile64 (loff_t *). */
static int64_t do_sendfile(struct thread *t, const uint32_t a[6], bool wide)
{
    struct file *out = fget(t, a[0]), *in = fget(t, a[1]);
    if (!out || !in)
        return -EBADF;
    int64_t pos = -1;
    if (a[2]) {
        if (wide) {
            if (guest_read(t, a[2], &pos, 8))
                return -EFAULT;
        } else {
            int32_t p32;
            if (guest_read(t, a[2], &p32, 4))
                return -EFAULT;
            pos = p32;
        }
        if (pos < 0)
            return -EINVAL;
    }
    uint32_t count = a[3] > MAX_RW_COUNT ? MAX_RW_COUNT : a[3];
    if (pos > INT64_MAX - count)
        return -EINVAL;
    if (in->kind == FK_REGULAR)
        gmm_file_sync(K.sys, in->dev, in->ino);
    size_t cap = count < BOUNCE ? count : BOUNCE;
    char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return -ENOMEM;
    file_get(in);
    file_get(out);
    uint64_t done = 0;
    int64_t ret = 0;
    while (done < count) {
        size_t n = count - done < cap ? (size_t)(count - done) : cap;
        int64_t r = host_io(t, in, false, buf, n, pos < 0 ? -1 : pos + (int64_t)done);
        if (r <= 0) {
            ret = r;
            break;
        }
        /* Write it all out (the out fd's blocking rules), as a guest write
         * from a host buffer. */
        size_t off = 0;
        while (off < (size_t)r) {
            int64_t w = host_io(t, out, true, buf + off, (size_t)r - off, -1);
            if (w < 0) {
                if (w == -EPIPE)
                    send_sigpipe(t);
                ret = w;
                break;
            }
            if (w > 0 && out->kind == FK_REGULAR) {
                int64_t at = (int64_t)lseek(out->fd, 0, SEEK_CUR) - w;
                if (at >= 0)
                    gmm_file_written(K.sys, out->dev, out->ino, (uint64_t)at, buf + off,
                                     (size_t)w);
            }
            off += (size_t)w;
        }
        if (off < (size_t)r) {
            /* Put back what was read but not written. */
            if (pos < 0 && in->kind == FK_REGULAR)
                lseek(in->fd, -(off_t)((size_t)r - off), SEEK_CUR);
            done += off;
            break;
        }
        done += (uint64_t)r;
        if ((size_t)r < n)
            break;
    }
    file_put(in);
    file_put(out);
    free(buf);
    if (a[2]) {
        int64_t np = pos + (int64_t)done;
        int e = wide ? guest_write(t, a[2], &np, 8)
                     : guest_write(t, a[2], &(int32_t){(int32_t)np}, 4);
        if (e && !done)
            return -EFAULT;
    }
    return done ? (int64_t)done : ret;
}

static int64_t sys_sendfile(struct thread *t, const uint32_t a[6])
{
    return do_sendfile(t, a, false);
}

static int64_t sys_sendfile64(struct thread *t, const uint32_t a[6])
{
    return do_sendfile(t, a, true);
}

const struct syscall_def files_syscalls[] = {
    {3, "read", sys_read},
    {4, "write", sys_write},
    {5, "open", sys_open},
    {6, "close", sys_close},
    {8, "creat", sys_creat},
    {19, "lseek", sys_lseek},
    {41, "dup", sys_dup},
    {42, "pipe", sys_pipe},
    {54, "ioctl", sys_ioctl},
    {55, "fcntl", sys_fcntl},
    {63, "dup2", sys_dup2},
    {93, "ftruncate", sys_ftruncate},
    {94, "fchmod", sys_fchmod},
    {95, "fchown", sys_fchown16},
    {100, "fstatfs", sys_fstatfs},
    {108, "fstat", sys_fstat},
    {118, "fsync", sys_fsync},
    {140, "_llseek", sys_llseek},
    {141, "getdents", sys_getdents},
    {143, "flock", sys_flock},
    {142, "_newselect", sys_select},
    {145, "readv", sys_readv},
    {146, "writev", sys_writev},
    {148, "fdatasync", sys_fdatasync},
    {168, "poll", sys_poll},
    {180, "pread64", sys_pread64},
    {181, "pwrite64", sys_pwrite64},
    {187, "sendfile", sys_sendfile},
    {194, "ftruncate64", sys_ftruncate64},
    {197, "fstat64", sys_fstat64},
    {207, "fchown32", sys_fchown32},
    {220, "getdents64", sys_getdents64},
    {221, "fcntl64", sys_fcntl64},
    {239, "sendfile64", sys_sendfile64},
    {250, "fadvise64", sys_fadvise64},
    {272, "fadvise64_64", sys_fadvise64_64},
    {324, "fallocate", sys_fallocate},
    {269, "fstatfs64", sys_fstatfs64},
    {295, "openat", sys_openat},
    {308, "pselect6", sys_pselect6},
    {309, "ppoll", sys_ppoll},
    {330, "dup3", sys_dup3},
    {331, "pipe2", sys_pipe2},
    {333, "preadv", sys_preadv},
    {334, "pwritev", sys_pwritev},
    {413, "pselect6_time64", sys_pselect6_time64},
    {414, "ppoll_time64", sys_ppoll_time64},
    {436, "close_range", sys_close_range},
    {0, NULL, NULL},
};
