/*
 * files.h - what files.c, fs.c and misc.c share among themselves (the rest
 * of the runner sees only runner.h).
 *
 * A guest path reaches the host through fs_resolve (fs.c), the one place
 * that knows the working directory, guest dirfds, the virtual /proc files
 * and the -L sysroot.  Open files are files.c's; the i386 stat and statfs
 * layouts are fs.c's; the guest's RLIMIT_NOFILE is misc.c's.
 */
#ifndef FILES_H
#define FILES_H

#include <stdint.h>
#include <sys/stat.h>

#include "runner.h"

#define GPATH_MAX 4096 /* Linux's PATH_MAX, the NUL included */

/* ---- the virtual /proc files (files.c) ---- */

enum proc_kind {
    PROC_NONE,   /* not a virtual path: the host's */
    PROC_MAPS,   /* /proc/PID/maps: text */
    PROC_SMAPS,  /* /proc/PID/smaps: text */
    PROC_STATUS, /* /proc/PID/status: text */
    PROC_FDDIR,  /* /proc/PID/fd: the guest's fds */
    PROC_FD,     /* /proc/PID/fd/N, /dev/fd/N, /dev/stdin...: a link to guest fd N */
    PROC_EXE,    /* /proc/PID/exe: a link to proc->exe_path */
    PROC_CWD,    /* /proc/PID/cwd: a link to the working directory */
    PROC_NOENT   /* /proc/PID/fd/N of a free fd, or of a gone process */
};

struct proc_ref {
    enum proc_kind kind;
    struct process *p; /* whose (current's for self) */
    int fd;            /* PROC_FD: the guest fd */
    const char *rest;  /* /proc/PID/REST of a guest PID, in the matched path */
};

/* Recognises an absolute guest path naming a virtual /proc file; kind
 * PROC_NONE for every other path.  klock held. */
void proc_match(struct thread *t, const char *path, struct proc_ref *r);

/* ---- paths (fs.c) ---- */

struct fs_target {
    int dirfd;                        /* host dirfd for *at calls (borrowed) */
    char path[GPATH_MAX + 512];       /* host path, relative to dirfd unless absolute */
    struct proc_ref proc;             /* what a virtual path named (kind PROC_NONE: none) */
};

/* Guest (dirfd, path) as the host sees it.  Relative paths go against the
 * process's working directory (AT_FDCWD) or the guest dirfd's host fd,
 * absolute ones are looked up in the sysroot first.  Virtual /proc paths
 * are substituted where the host can serve them (/proc/PID/fd/N becomes
 * the host's /proc/self/fd/HOSTFD) and named in out->proc.  An empty path
 * stays empty (AT_EMPTY_PATH is the caller's flag).  0 or -errno (-EBADF
 * for a bad dirfd, -ENOENT for a virtual path that names nothing).
 * klock held. */
int fs_resolve(struct thread *t, int dirfd, const char *path, struct fs_target *out);
/* fs_resolve on a guest string: 0, -EFAULT, -ENAMETOOLONG, -ENOENT... */
int fs_resolve_user(struct thread *t, int dirfd, uint32_t upath, struct fs_target *out);

/* The i386 stat layouts: 0 or -EFAULT (-EOVERFLOW for the old struct stat). */
int put_stat64(struct thread *t, uint32_t addr, const struct stat *st);
int put_stat(struct thread *t, uint32_t addr, const struct stat *st);
/* statfs of a host fd into the i386 struct statfs (wide 0) or statfs64. */
int64_t put_fstatfs(struct thread *t, int hostfd, uint32_t addr, uint32_t size, int wide);

/* ---- open files (files.c) ---- */

/* The host fd of guest fd gfd of process p (borrowed, valid under
 * klock): -EBADF when gfd is free.  *vpath (may be NULL) gets the path a
 * virtual file shows ("/proc/7/maps", "/proc/7/fd"), NULL for the others. */
int files_hostfd(struct process *p, int gfd, const char **vpath);
/* The process's umask, applied by open's O_CREAT (fs.c keeps it). */
unsigned fs_umask(struct thread *t);

/* ---- limits (misc.c) ---- */

/* The guests' RLIMIT_NOFILE soft limit: guest fds are below it. */
unsigned rlimit_nofile(void);

#endif
