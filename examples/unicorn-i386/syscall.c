/*
 * syscall.c - the i386 system calls behind int 0x80 (eax = number,
 * ebx ecx edx esi edi ebp = arguments, eax = result or -errno).
 *
 * Every memory syscall goes to libguestmm unchanged: the library returns
 * what Linux returns.  The rest is what static glibc and musl programs
 * need; the guest's file descriptors are the runner's own.  A syscall that
 * is not here returns -ENOSYS (logged with GUESTMM_RUN_DEBUG=1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <unicorn/x86.h>

#include "runner.h"

#define BOUNCE (64 * 1024)

static int64_t err(void)
{
    return -(int64_t)errno;
}

int guest_write(struct runner *r, uint32_t addr, const void *buf, size_t len)
{
    int rc = gmm_write(r->space, addr, buf, len);
    mem_code_written(r, addr, (uint32_t)len);
    return rc;
}

/* A NUL-terminated guest string into buf: 0, -EFAULT or -ENAMETOOLONG. */
static int get_str(struct runner *r, uint32_t addr, char *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        size_t chunk = PAGE - (addr + n) % PAGE;
        if (chunk > cap - n)
            chunk = cap - n;
        if (gmm_read(r->space, addr + (uint32_t)n, buf + n, chunk))
            return -EFAULT;
        void *z = memchr(buf + n, 0, chunk);
        if (z)
            return 0;
        n += chunk;
    }
    return -ENAMETOOLONG;
}

static int64_t sys_write(struct runner *r, int fd, uint32_t buf, uint32_t len)
{
    static char tmp[BOUNCE];
    int64_t done = 0;
    while (len) {
        uint32_t n = len < BOUNCE ? len : BOUNCE;
        if (gmm_read(r->space, buf, tmp, n))
            return done ? done : -EFAULT;
        ssize_t w = write(fd, tmp, n);
        if (w < 0)
            return done ? done : err();
        /* Keep the library's page cache coherent with the file. */
        struct stat st;
        if (w > 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            off_t end = lseek(fd, 0, SEEK_CUR);
            if (end >= w)
                gmm_file_written(r->sys, st.st_dev, st.st_ino, (uint64_t)(end - w), tmp,
                                 (size_t)w);
        }
        done += w;
        if ((uint32_t)w < n)
            break;
        buf += n;
        len -= n;
    }
    return done;
}

static int64_t sys_read(struct runner *r, int fd, uint32_t buf, uint32_t len)
{
    static char tmp[BOUNCE];
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        gmm_file_sync(r->sys, st.st_dev, st.st_ino);
    uint32_t n = len < BOUNCE ? len : BOUNCE;
    ssize_t got = read(fd, tmp, n);
    if (got < 0)
        return err();
    if (got && guest_write(r, buf, tmp, (size_t)got))
        return -EFAULT;
    return got;
}

static int64_t sys_writev(struct runner *r, int fd, uint32_t iov, uint32_t cnt)
{
    if (cnt > 1024)
        return -EINVAL;
    int64_t total = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t v[2];
        if (gmm_read(r->space, iov + 8 * i, v, 8))
            return total ? total : -EFAULT;
        if (!v[1])
            continue;
        int64_t w = sys_write(r, fd, v[0], v[1]);
        if (w < 0)
            return total ? total : w;
        total += w;
        if ((uint32_t)w < v[1])
            break;
    }
    return total;
}

static int64_t sys_readv(struct runner *r, int fd, uint32_t iov, uint32_t cnt)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < cnt && i < 1024; i++) {
        uint32_t v[2];
        if (gmm_read(r->space, iov + 8 * i, v, 8))
            return total ? total : -EFAULT;
        int64_t got = sys_read(r, fd, v[0], v[1]);
        if (got < 0)
            return total ? total : got;
        total += got;
        if ((uint32_t)got < v[1])
            break;
    }
    return total;
}

/* /proc/self/maps and /proc/<own pid>/maps come from the library. */
static bool is_own_maps(const char *path)
{
    char own[64];
    snprintf(own, sizeof(own), "/proc/%d/maps", (int)getpid());
    return !strcmp(path, "/proc/self/maps") || !strcmp(path, "/proc/thread-self/maps") ||
           !strcmp(path, own);
}

static int64_t open_maps(struct runner *r)
{
    size_t len = gmm_space_maps(r->space, NULL, 0);
    char *text = malloc(len + 1);
    if (!text)
        return -ENOMEM;
    gmm_space_maps(r->space, text, len + 1);
    int fd = memfd_create("maps", MFD_CLOEXEC);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        free(text);
        if (fd >= 0)
            close(fd);
        return -EIO;
    }
    free(text);
    lseek(fd, 0, SEEK_SET);
    fcntl(fd, F_SETFD, 0);
    return fd;
}

static int64_t sys_openat(struct runner *r, int dirfd, uint32_t upath, int flags, int mode)
{
    char path[4096];
    int e = get_str(r, upath, path, sizeof(path));
    if (e)
        return e;
    if (is_own_maps(path))
        return open_maps(r);
    int fd = openat(dirfd, path, flags, mode);
    return fd < 0 ? err() : fd;
}

static int64_t sys_readlinkat(struct runner *r, int dirfd, uint32_t upath, uint32_t buf,
                              uint32_t size)
{
    char path[4096], out[4096];
    int e = get_str(r, upath, path, sizeof(path));
    if (e)
        return e;
    ssize_t n;
    if (!strcmp(path, "/proc/self/exe")) {
        n = (ssize_t)strlen(r->exe_path);
        memcpy(out, r->exe_path, (size_t)n);
    } else {
        n = readlinkat(dirfd, path, out, sizeof(out));
        if (n < 0)
            return err();
    }
    if ((uint32_t)n > size)
        n = size;
    return guest_write(r, buf, out, (size_t)n) ? -EFAULT : n;
}

/* struct stat64 of i386 (96 bytes, 4-byte aligned 64-bit fields). */
static int put_stat64(struct runner *r, uint32_t addr, const struct stat *st)
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
#undef P64
#undef P32
    return guest_write(r, addr, b, sizeof(b)) ? -EFAULT : 0;
}

static int64_t sys_fstatat64(struct runner *r, int dirfd, uint32_t upath, uint32_t buf, int flags)
{
    char path[4096];
    struct stat st;
    if (upath) {
        int e = get_str(r, upath, path, sizeof(path));
        if (e)
            return e;
    } else {
        path[0] = 0;
    }
    if (fstatat(dirfd, path, &st, flags) < 0)
        return err();
    return put_stat64(r, buf, &st);
}

static int64_t sys_statx(struct runner *r, int dirfd, uint32_t upath, int flags, unsigned mask,
                         uint32_t buf)
{
    char path[4096];
    int e = get_str(r, upath, path, sizeof(path));
    if (e)
        return e;
    struct statx stx; /* the same layout on every architecture */
    if (statx(dirfd, path, flags, mask, &stx) < 0)
        return err();
    return guest_write(r, buf, &stx, sizeof(stx)) ? -EFAULT : 0;
}

static int64_t sys_uname(struct runner *r, uint32_t buf)
{
    struct utsname u;
    uname(&u);
    char b[6 * 65];
    memset(b, 0, sizeof(b));
    const char *f[6] = {"Linux", u.nodename, u.release, u.version, "i686", "(none)"};
    for (int i = 0; i < 6; i++)
        strncpy(b + 65 * i, f[i], 64);
    return guest_write(r, buf, b, sizeof(b)) ? -EFAULT : 0;
}

static int64_t sys_clock_gettime(struct runner *r, int clk, uint32_t buf, bool wide)
{
    struct timespec ts;
    if (clock_gettime(clk, &ts) < 0)
        return err();
    if (wide) {
        int64_t v[2] = {ts.tv_sec, ts.tv_nsec};
        return guest_write(r, buf, v, 16) ? -EFAULT : 0;
    }
    int32_t v[2] = {(int32_t)ts.tv_sec, (int32_t)ts.tv_nsec};
    return guest_write(r, buf, v, 8) ? -EFAULT : 0;
}

static int64_t sys_gettimeofday(struct runner *r, uint32_t tv)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int32_t v[2] = {(int32_t)ts.tv_sec, (int32_t)(ts.tv_nsec / 1000)};
    if (tv && guest_write(r, tv, v, 8))
        return -EFAULT;
    return 0;
}

static int64_t sys_nanosleep(struct runner *r, uint32_t req, bool wide)
{
    struct timespec ts;
    if (wide) {
        int64_t v[2];
        if (gmm_read(r->space, req, v, 16))
            return -EFAULT;
        ts.tv_sec = v[0], ts.tv_nsec = v[1];
    } else {
        int32_t v[2];
        if (gmm_read(r->space, req, v, 8))
            return -EFAULT;
        ts.tv_sec = v[0], ts.tv_nsec = v[1];
    }
    return nanosleep(&ts, NULL) < 0 ? err() : 0;
}

/* set_thread_area(struct user_desc *): a TLS descriptor in GDT 6..8. */
static int64_t sys_set_thread_area(struct runner *r, uint32_t udesc)
{
    uint32_t d[4];
    if (gmm_read(r->space, udesc, d, 16))
        return -EFAULT;
    uint32_t entry = d[0], base = d[1], limit = d[2], fl = d[3];
    if (entry == 0xFFFFFFFFu) {
        for (entry = 6; entry <= 8; entry++)
            if (!r->gdt[entry])
                break;
        if (entry > 8)
            return -ESRCH;
        if (guest_write(r, udesc, &entry, 4))
            return -EFAULT;
    }
    if (entry < 6 || entry > 8)
        return -EINVAL;
    unsigned seg32 = fl & 1, contents = (fl >> 1) & 3, ro = (fl >> 3) & 1, pages = (fl >> 4) & 1,
             notpresent = (fl >> 5) & 1, useable = (fl >> 6) & 1;
    uint64_t desc = 0;
    if (!(base == 0 && limit == 0 && ro && notpresent)) {
        unsigned type = (contents << 2) | (ro ? 0 : 2) | 1; /* accessed preset */
        desc = (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) | ((uint64_t)type << 40) |
               (1ull << 44) | (3ull << 45) | ((uint64_t)!notpresent << 47) |
               ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)useable << 52) |
               ((uint64_t)seg32 << 54) | ((uint64_t)pages << 55) |
               ((uint64_t)(base >> 24) << 56);
    }
    set_tls_entry(r, entry, desc);
    return 0;
}

static int64_t sys_rt_sigaction(struct runner *r, int sig, uint32_t act, uint32_t oact,
                                uint32_t size)
{
    if (size != 8)
        return -EINVAL;
    if (sig < 1 || sig > NSIG_G || ((sig == SIGKILL || sig == SIGSTOP) && act))
        return -EINVAL;
    struct guest_sigaction *a = &r->act[sig];
    if (oact) {
        uint32_t o[5] = {a->handler, a->flags, a->restorer, (uint32_t)a->mask,
                         (uint32_t)(a->mask >> 32)};
        if (guest_write(r, oact, o, 20))
            return -EFAULT;
    }
    if (act) {
        uint32_t n[5];
        if (gmm_read(r->space, act, n, 20))
            return -EFAULT;
        a->handler = n[0];
        a->flags = n[1];
        a->restorer = n[2];
        a->mask = (n[3] | (uint64_t)n[4] << 32) &
                  ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
        /* A handler for a fault signal needs EIP-exact faults (mem.c). */
        if (a->handler > 1 && (sig == SIGSEGV || sig == SIGBUS) && !r->precise)
            r->want_precise = true;
    }
    return 0;
}

static int64_t sys_rt_sigprocmask(struct runner *r, int how, uint32_t set, uint32_t oset,
                                  uint32_t size)
{
    if (size != 8)
        return -EINVAL;
    uint64_t old = r->blocked;
    if (set) {
        uint64_t s;
        if (gmm_read(r->space, set, &s, 8))
            return -EFAULT;
        s &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
        if (how == SIG_BLOCK)
            r->blocked |= s;
        else if (how == SIG_UNBLOCK)
            r->blocked &= ~s;
        else if (how == SIG_SETMASK)
            r->blocked = s;
        else
            return -EINVAL;
    }
    if (oset && guest_write(r, oset, &old, 8))
        return -EFAULT;
    return 0;
}

static int64_t sys_kill(struct runner *r, int pid, int sig)
{
    if (sig < 0 || sig > NSIG_G)
        return -EINVAL;
    if (pid == getpid() || pid == 0) {
        if (sig)
            queue_signal(r, sig, 0 /* SI_USER */, 0, false);
        return 0;
    }
    return kill(pid, sig) < 0 ? err() : 0;
}

/* fork, vfork, clone without CLONE_VM: a host fork on a gmm_space_fork
 * child (so MADV_DONTFORK, MADV_WIPEONFORK and mlock behave as on Linux). */
static int64_t sys_fork(struct runner *r, uint32_t flags, uint32_t ptid, uint32_t ctid)
{
    gmm_space *child = gmm_space_fork(r->space);
    if (!child)
        return -ENOMEM;
    pid_t pid = fork();
    if (pid < 0) {
        gmm_space_destroy(child);
        return err();
    }
    if (pid == 0) {
        gmm_space *parent = r->space;
        mem_drop_all(r); /* Unicorn's pages are the parent space's */
        r->space = child;
        gmm_space_destroy(parent);
        r->is_child = true;
        memset(&r->pending, 0, sizeof(r->pending));
        uint32_t me = (uint32_t)getpid();
        if (flags & CLONE_CHILD_SETTID)
            guest_write(r, ctid, &me, 4);
        if (flags & CLONE_PARENT_SETTID)
            guest_write(r, ptid, &me, 4);
        return 0;
    }
    gmm_space_destroy(child);
    uint32_t p32 = (uint32_t)pid;
    if (flags & CLONE_PARENT_SETTID)
        guest_write(r, ptid, &p32, 4);
    return pid;
}

static int64_t sys_wait4(struct runner *r, int pid, uint32_t status, int options, uint32_t ru)
{
    int st = 0;
    pid_t got = waitpid(pid, &st, options);
    if (got < 0)
        return err();
    if (got > 0 && status && guest_write(r, status, &st, 4))
        return -EFAULT;
    if (got > 0 && ru) {
        static const uint8_t zeros[72]; /* struct rusage of i386 */
        if (guest_write(r, ru, zeros, sizeof(zeros)))
            return -EFAULT;
    }
    return got;
}

static int64_t get_rlimit(struct runner *r, int res, uint64_t *cur, uint64_t *max)
{
    if (gmm_space_getrlimit(r->space, res, cur, max) == 0)
        return 0;
    struct rlimit rl;
    if (getrlimit(res, &rl) < 0)
        return err();
    *cur = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
    *max = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : rl.rlim_max;
    return 0;
}

static int64_t sys_ugetrlimit(struct runner *r, int res, uint32_t buf)
{
    uint64_t cur, max;
    int64_t e = get_rlimit(r, res, &cur, &max);
    if (e)
        return e;
    uint32_t v[2] = {cur > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)cur,
                     max > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)max};
    return guest_write(r, buf, v, 8) ? -EFAULT : 0;
}

static int64_t sys_prlimit64(struct runner *r, int pid, int res, uint32_t nbuf, uint32_t obuf)
{
    if (pid && pid != getpid())
        return -ESRCH;
    uint64_t cur, max;
    int64_t e = get_rlimit(r, res, &cur, &max);
    if (e)
        return e;
    if (obuf) {
        uint64_t v[2] = {cur, max};
        if (guest_write(r, obuf, v, 16))
            return -EFAULT;
    }
    if (nbuf) {
        uint64_t v[2];
        if (gmm_read(r->space, nbuf, v, 16))
            return -EFAULT;
        if (gmm_space_setrlimit(r->space, res, v[0], v[1]) == 0)
            return 0;
        struct rlimit rl = {v[0], v[1]};
        return setrlimit(res, &rl) < 0 ? err() : 0;
    }
    return 0;
}

static int64_t sys_getrandom(struct runner *r, uint32_t buf, uint32_t len, unsigned flags)
{
    char tmp[256];
    uint32_t done = 0;
    while (done < len) {
        uint32_t n = len - done < sizeof(tmp) ? len - done : (uint32_t)sizeof(tmp);
        ssize_t got = getrandom(tmp, n, flags);
        if (got < 0)
            return done ? done : err();
        if (guest_write(r, buf + done, tmp, (size_t)got))
            return -EFAULT;
        done += (uint32_t)got;
    }
    return done;
}

static int64_t sys_llseek(struct runner *r, int fd, uint32_t hi, uint32_t lo, uint32_t res,
                          int whence)
{
    off_t o = lseek(fd, (off_t)(((uint64_t)hi << 32) | lo), whence);
    if (o < 0)
        return err();
    uint64_t v = (uint64_t)o;
    return guest_write(r, res, &v, 8) ? -EFAULT : 0;
}

static int64_t sys_pipe(struct runner *r, uint32_t buf, int flags)
{
    int fds[2];
    if (pipe2(fds, flags) < 0)
        return err();
    return guest_write(r, buf, fds, 8) ? -EFAULT : 0;
}

static int64_t sys_getdents64(struct runner *r, int fd, uint32_t buf, uint32_t len)
{
    static char tmp[BOUNCE];
    long n = syscall(SYS_getdents64, fd, tmp, len < BOUNCE ? len : BOUNCE);
    if (n < 0)
        return err();
    return guest_write(r, buf, tmp, (size_t)n) ? -EFAULT : n;
}

static int64_t sys_ftruncate(struct runner *r, int fd, uint64_t len)
{
    if (ftruncate(fd, (off_t)len) < 0)
        return err();
    struct stat st;
    if (fstat(fd, &st) == 0)
        gmm_file_resized(r->sys, st.st_dev, st.st_ino, len);
    return 0;
}

static int64_t path_call(struct runner *r, uint32_t upath, int nr, long a1, long a2)
{
    char path[4096];
    int e = get_str(r, upath, path, sizeof(path));
    if (e)
        return e;
    long v = syscall(nr, AT_FDCWD, path, a1, a2);
    return v < 0 ? err() : v;
}

void do_syscall(struct runner *r)
{
    uint32_t nr = reg_get(r, UC_X86_REG_EAX);
    uint32_t a = reg_get(r, UC_X86_REG_EBX), b = reg_get(r, UC_X86_REG_ECX),
             c = reg_get(r, UC_X86_REG_EDX), d = reg_get(r, UC_X86_REG_ESI),
             e = reg_get(r, UC_X86_REG_EDI), f = reg_get(r, UC_X86_REG_EBP);
    gmm_space *s = r->space;
    int64_t ret;
    switch (nr) {
    /* ---- memory: libguestmm ---- */
    case 45: ret = gmm_sys_brk(s, a); break;
    case 90: ret = gmm_sys_old_mmap(s, a); break;
    case 91: ret = gmm_sys_munmap(s, a, b); break;
    case 125: ret = gmm_sys_mprotect(s, a, b, (int)c); break;
    case 144: ret = gmm_sys_msync(s, a, b, (int)c); break;
    case 150: ret = gmm_sys_mlock(s, a, b); break;
    case 151: ret = gmm_sys_munlock(s, a, b); break;
    case 152: ret = gmm_sys_mlockall(s, (int)a); break;
    case 153: ret = gmm_sys_munlockall(s); break;
    case 163: ret = gmm_sys_mremap(s, a, b, c, (int)d, e); break;
    case 192: ret = gmm_sys_mmap2(s, a, b, (int)c, (int)d, (int)e, f); break;
    case 218: ret = gmm_sys_mincore(s, a, b, c); break;
    case 219: ret = gmm_sys_madvise(s, a, b, (int)c); break;
    case 274: ret = gmm_sys_mbind(s, a, b, (int)c, d, e, f); break;
    case 275: ret = gmm_sys_get_mempolicy(s, a, b, c, d, e); break;
    case 276: ret = gmm_sys_set_mempolicy(s, (int)a, b, c); break;
    case 376: ret = gmm_sys_mlock2(s, a, b, (int)c); break;

    /* ---- process ---- */
    case 1:
    case 252:
        r->exited = true;
        r->exit_status = (int)(a & 0xff);
        uc_emu_stop(r->uc);
        return;
    case 2: ret = sys_fork(r, SIGCHLD, 0, 0); break;
    case 190: ret = sys_fork(r, SIGCHLD, 0, 0); break;
    case 120:
        ret = (a & CLONE_VM) ? -ENOSYS : sys_fork(r, a, c, e);
        break;
    case 7: ret = sys_wait4(r, (int)a, b, (int)c, 0); break;
    case 114: ret = sys_wait4(r, (int)a, b, (int)c, d); break;
    case 20: /* getpid */
    case 224: /* gettid */
    case 258: /* set_tid_address */
        ret = getpid();
        break;
    case 64: ret = getppid(); break;
    case 65: ret = getpgrp(); break;
    case 24: case 199: ret = getuid(); break;
    case 47: case 200: ret = getgid(); break;
    case 49: case 201: ret = geteuid(); break;
    case 50: case 202: ret = getegid(); break;
    case 243: ret = sys_set_thread_area(r, a); break;
    case 311: ret = 0; break; /* set_robust_list */
    case 240:                 /* futex: one thread, nothing to wait for */
    case 422: {
        int op = (int)b & 0x7f;
        ret = op == 1 /* WAKE */ ? 0 : -EAGAIN;
        break;
    }
    case 158: ret = 0; break; /* sched_yield */
    case 191: ret = sys_ugetrlimit(r, (int)a, b); break;
    case 76: ret = sys_ugetrlimit(r, (int)a, b); break;
    case 340: ret = sys_prlimit64(r, (int)a, (int)b, c, d); break;
    case 122: ret = sys_uname(r, a); break;

    /* ---- signals ---- */
    case 174: ret = sys_rt_sigaction(r, (int)a, b, c, d); break;
    case 175: ret = sys_rt_sigprocmask(r, (int)a, b, c, d); break;
    case 119: sys_sigreturn(r, false); return;
    case 173: sys_sigreturn(r, true); return;
    case 37: ret = sys_kill(r, (int)a, (int)b); break;
    case 238: ret = sys_kill(r, (int)a == getpid() ? 0 : (int)a, (int)b); break;
    case 270: ret = sys_kill(r, (int)b == getpid() ? 0 : (int)b, (int)c); break;
    case 186: ret = 0; break; /* sigaltstack: accepted, not used */

    /* ---- files ---- */
    case 3: ret = sys_read(r, (int)a, b, c); break;
    case 4: ret = sys_write(r, (int)a, b, c); break;
    case 145: ret = sys_readv(r, (int)a, b, c); break;
    case 146: ret = sys_writev(r, (int)a, b, c); break;
    case 5: ret = sys_openat(r, AT_FDCWD, a, (int)b, (int)c); break;
    case 295: ret = sys_openat(r, (int)a, b, (int)c, (int)d); break;
    case 6: ret = close((int)a) < 0 ? err() : 0; break;
    case 41: {
        int v = dup((int)a);
        ret = v < 0 ? err() : v;
        break;
    }
    case 63: ret = dup2((int)a, (int)b) < 0 ? err() : (int64_t)b; break;
    case 330: ret = dup3((int)a, (int)b, (int)c) < 0 ? err() : (int64_t)b; break;
    case 42: ret = sys_pipe(r, a, 0); break;
    case 331: ret = sys_pipe(r, a, (int)b); break;
    case 19: {
        off_t o = lseek((int)a, (off_t)(int32_t)b, (int)c);
        ret = o < 0 ? err() : o;
        break;
    }
    case 140: ret = sys_llseek(r, (int)a, b, c, d, (int)e); break;
    case 180: { /* pread64 */
        static char tmp[BOUNCE];
        ssize_t n = pread((int)a, tmp, c < BOUNCE ? c : BOUNCE, (off_t)(d | (uint64_t)e << 32));
        ret = n < 0 ? err() : guest_write(r, b, tmp, (size_t)n) ? -EFAULT : n;
        break;
    }
    case 55:
    case 221: {
        int cmd = (int)b;
        if (cmd == F_GETFD || cmd == F_SETFD || cmd == F_GETFL || cmd == F_SETFL ||
            cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
            int v = fcntl((int)a, cmd, (int)c);
            ret = v < 0 ? err() : v;
        } else {
            ret = -EINVAL;
        }
        break;
    }
    case 54: ret = -ENOTTY; break; /* ioctl */
    case 33: ret = path_call(r, a, SYS_faccessat, (long)b, 0); break;
    case 307: {
        char path[4096];
        ret = get_str(r, b, path, sizeof(path));
        if (!ret)
            ret = faccessat((int)a, path, (int)c, 0) < 0 ? err() : 0;
        break;
    }
    case 85: ret = sys_readlinkat(r, AT_FDCWD, a, b, c); break;
    case 305: ret = sys_readlinkat(r, (int)a, b, c, d); break;
    case 195: ret = sys_fstatat64(r, AT_FDCWD, a, b, 0); break;
    case 196: ret = sys_fstatat64(r, AT_FDCWD, a, b, AT_SYMLINK_NOFOLLOW); break;
    case 197: {
        struct stat st;
        ret = fstat((int)a, &st) < 0 ? err() : put_stat64(r, b, &st);
        break;
    }
    case 300: ret = sys_fstatat64(r, (int)a, b, c, (int)d); break;
    case 383: ret = sys_statx(r, (int)a, b, (int)c, d, e); break;
    case 220: ret = sys_getdents64(r, (int)a, b, c); break;
    case 10: ret = path_call(r, a, SYS_unlinkat, 0, 0); break;
    case 301: {
        char path[4096];
        ret = get_str(r, b, path, sizeof(path));
        if (!ret)
            ret = unlinkat((int)a, path, (int)c) < 0 ? err() : 0;
        break;
    }
    case 93: ret = sys_ftruncate(r, (int)a, b); break;
    case 194: ret = sys_ftruncate(r, (int)a, b | (uint64_t)c << 32); break;
    case 118: ret = fsync((int)a) < 0 ? err() : 0; break;
    case 183: {
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd)))
            ret = err();
        else if (strlen(cwd) + 1 > b)
            ret = -ERANGE;
        else
            ret = guest_write(r, a, cwd, strlen(cwd) + 1) ? -EFAULT : (int64_t)strlen(cwd) + 1;
        break;
    }

    /* ---- time and randomness ---- */
    case 13: {
        time_t t = time(NULL);
        uint32_t t32 = (uint32_t)t;
        ret = a && guest_write(r, a, &t32, 4) ? -EFAULT : (int64_t)t32;
        break;
    }
    case 78: ret = sys_gettimeofday(r, a); break;
    case 265: ret = sys_clock_gettime(r, (int)a, b, false); break;
    case 403: ret = sys_clock_gettime(r, (int)a, b, true); break;
    case 162: ret = sys_nanosleep(r, a, false); break;
    case 267: ret = (b & 1) ? -EINVAL : sys_nanosleep(r, c, false); break;
    case 407: ret = (b & 1) ? -EINVAL : sys_nanosleep(r, c, true); break;
    case 355: ret = sys_getrandom(r, a, b, c); break;

    default:
        if (r->debug)
            fprintf(stderr, "guestmm-run-i386: unknown syscall %u\n", nr);
        ret = -ENOSYS;
        break;
    }
    if (r->debug && getenv("GUESTMM_RUN_TRACE"))
        fprintf(stderr, "guestmm-run-i386: syscall %u(%#x, %#x, %#x) = %lld\n", nr, a, b, c,
                (long long)ret);
    reg_set(r, UC_X86_REG_EAX, (uint32_t)ret);
}
