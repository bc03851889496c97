/*
 * guestmm.h - libguestmm, a Linux guest address space in software.
 *
 * An x86 emulator links libguestmm, creates one gmm_space per guest process,
 * forwards the guest's memory syscalls to the gmm_sys_* entry points and
 * reads and writes guest memory through gmm_read, gmm_write and
 * gmm_translate.  Every guest-visible number (errno, PROT_*, MAP_*, signal
 * and si_code values) is the Linux x86 value, whatever the host is.
 *
 * Objects
 *   gmm_system  a "kernel": frame allocator, page cache, accounting and the
 *               host callbacks.  Create one per emulator process.
 *   gmm_space   one guest address space (an mm): regions, page table, brk,
 *               limits.  Threads of one guest process share one space.
 *
 * Errors
 *   Syscall-shaped entry points return what the Linux syscall returns to the
 *   guest: a value, or a negative Linux errno (-GMM_EINVAL == -22).  A call
 *   that fails changes nothing unless Linux itself documents a partial effect
 *   (mprotect over a hole, for example, changes the part before the hole).
 *   gmm_strerror() and gmm_errname() name every GMM_E* value.
 *
 * Threads
 *   Every entry point may be called from any thread.  Each space carries a
 *   mutex that every call taking the space holds for its duration (syscalls,
 *   gmm_write, gmm_read but on its fast path below, translation slow
 *   paths); the system's frame allocator has
 *   a lock of its own, taken inside it.  Host callbacks (get_file, fault,
 *   invalidate) may run with a space lock held, and must not call back into
 *   that space.
 *
 *   The CPU path.  A thread that runs guest code translates through a CPU
 *   object of its own (gmm_cpu_create, one per emulator thread): each has a
 *   private TLB, so no thread ever writes another's.  A change to a space's
 *   translations (munmap, mprotect, mremap, copy on write, MADV_DONTNEED,
 *   fork) is logged as a range; every TLB applies the ranges it has not seen
 *   before its next lookup (one atomic compare on the fast path), so a change
 *   in one range does not flush everything.  host->invalidate reports the
 *   same ranges for the emulator's own caches (JIT code, Unicorn regions).
 *
 *   Pointer lifetime.  A host pointer from gmm_cpu_translate stays valid
 *   memory -- never handed to another page or another space -- until that
 *   CPU's next gmm_cpu_quiesce: frames freed meanwhile wait for a grace
 *   period in which every CPU has quiesced (quiescent-state reclamation, as
 *   RCU does).  Quiesce where the thread holds no pointer, for example
 *   between translated blocks or at a syscall.
 *
 *   Shootdowns are not waited for.  A change by one thread does not stop
 *   the other CPUs: until a CPU translates again, a store through a write
 *   pointer it already held reaches the frame that backed that page when
 *   the pointer was made, and nothing else.  After munmap, mremap or
 *   MADV_DONTNEED that frame is no longer mapped and the store is lost.
 *   After mprotect without PROT_WRITE the store still lands.  After
 *   gmm_space_fork the frame is shared copy on write, so the child may see
 *   a store made after the fork.  After msync or another writeback the page
 *   may already be clean, so the store is written back only with the page's
 *   next write fault.  Linux waits for every CPU (an IPI) instead.  An
 *   emulator that needs Linux's order holds its other guest threads at a
 *   block boundary around such a call (fork from a multithreaded guest,
 *   for example).
 *
 *   gmm_translate (no CPU object) may be called from any thread too, on
 *   any space: each calling thread translates through TLBs of its own, one
 *   per space for the last four spaces it used, so threads never write
 *   each other's TLBs.  A TLB is tagged with a space id never reused, so a
 *   space created at the address of a destroyed one never sees the old
 *   one's entries.  These TLBs belong to the thread, not to a system: they
 *   come from the C library's malloc (not the system's allocator) and are
 *   freed when the thread exits.  Its pointers take no part in the grace
 *   periods: one stays valid memory only while no thread changes the
 *   translation of its page (munmap, mremap, MADV_DONTNEED, copy on
 *   write, ...), since the frame freed may be reused at once.  Threads
 *   that run guest code while others change the space use gmm_cpu objects.
 *
 *   User copies.  gmm_read and gmm_write translate through a TLB of the
 *   calling thread too, one per space next to gmm_translate's (16,384
 *   entries: every page of 64 MiB; 256 KiB of host address space,
 *   committed only as entries are used; freed at thread exit).  gmm_write holds the space's mutex throughout, so its stores
 *   never land in a frame that another thread's change frees.  gmm_read
 *   takes no lock when every page of the range is in that TLB: it copies,
 *   then checks that no translation of the space changed meanwhile (the
 *   shootdown log did not move; frames are freed only after the shootdown
 *   of their pages and stay host memory for the life of the system), and
 *   otherwise copies again under the mutex.  So a read racing another
 *   thread's munmap, mremap, mprotect, MADV_DONTNEED or copy on write
 *   returns bytes all read before the change, or the state after it, and
 *   never the bytes of a frame that the change freed and something else
 *   reused.  When the copy under the mutex then faults, the bytes of dst
 *   past the fault that the abandoned copy wrote are zeroed.  As on Linux,
 *   a read racing stores to the same bytes (gmm_write, CPU pointers) may
 *   see some of them and not others.
 *
 * This header is C11 and usable from C++ and from FFI layers: opaque
 * handles, fixed-width integers, no varargs, no macro needed to call
 * anything.
 */
#ifndef GUESTMM_H
#define GUESTMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GMM_STATIC)
#define GMM_API
#elif defined(_WIN32)
#if defined(GMM_BUILDING)
#define GMM_API __declspec(dllexport)
#else
#define GMM_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define GMM_API __attribute__((visibility("default")))
#else
#define GMM_API
#endif

#define GMM_VERSION_MAJOR 0
#define GMM_VERSION_MINOR 1
#define GMM_VERSION_PATCH 0
/* 0xMMmmpp: compare with >= in #if. */
#define GMM_VERSION_HEX                                                       \
    ((GMM_VERSION_MAJOR << 16) | (GMM_VERSION_MINOR << 8) | GMM_VERSION_PATCH)

/* ------------------------------------------------------------------------
 * Linux x86 constants.
 * ------------------------------------------------------------------------ */

/* XX(name, value, message): the Linux x86 errno values the library returns
 * or an embedder may need.  One table gives the enum, gmm_strerror and
 * gmm_errname. */
#define GMM_ERRNO_MAP(XX)                                                     \
    XX(EPERM, 1, "Operation not permitted")                                   \
    XX(ENOENT, 2, "No such file or directory")                                \
    XX(ESRCH, 3, "No such process")                                           \
    XX(EINTR, 4, "Interrupted system call")                                   \
    XX(EIO, 5, "Input/output error")                                          \
    XX(ENXIO, 6, "No such device or address")                                 \
    XX(E2BIG, 7, "Argument list too long")                                    \
    XX(ENOEXEC, 8, "Exec format error")                                       \
    XX(EBADF, 9, "Bad file descriptor")                                       \
    XX(ECHILD, 10, "No child processes")                                      \
    XX(EAGAIN, 11, "Resource temporarily unavailable")                        \
    XX(ENOMEM, 12, "Cannot allocate memory")                                  \
    XX(EACCES, 13, "Permission denied")                                       \
    XX(EFAULT, 14, "Bad address")                                             \
    XX(ENOTBLK, 15, "Block device required")                                  \
    XX(EBUSY, 16, "Device or resource busy")                                  \
    XX(EEXIST, 17, "File exists")                                             \
    XX(EXDEV, 18, "Invalid cross-device link")                                \
    XX(ENODEV, 19, "No such device")                                          \
    XX(ENOTDIR, 20, "Not a directory")                                        \
    XX(EISDIR, 21, "Is a directory")                                          \
    XX(EINVAL, 22, "Invalid argument")                                        \
    XX(ENFILE, 23, "Too many open files in system")                           \
    XX(EMFILE, 24, "Too many open files")                                     \
    XX(ENOTTY, 25, "Inappropriate ioctl for device")                          \
    XX(ETXTBSY, 26, "Text file busy")                                         \
    XX(EFBIG, 27, "File too large")                                           \
    XX(ENOSPC, 28, "No space left on device")                                 \
    XX(ESPIPE, 29, "Illegal seek")                                            \
    XX(EROFS, 30, "Read-only file system")                                    \
    XX(EMLINK, 31, "Too many links")                                          \
    XX(EPIPE, 32, "Broken pipe")                                              \
    XX(EDOM, 33, "Numerical argument out of domain")                          \
    XX(ERANGE, 34, "Numerical result out of range")                           \
    XX(EDEADLK, 35, "Resource deadlock avoided")                              \
    XX(ENAMETOOLONG, 36, "File name too long")                                \
    XX(ENOLCK, 37, "No locks available")                                      \
    XX(ENOSYS, 38, "Function not implemented")                                \
    XX(ENOTEMPTY, 39, "Directory not empty")                                  \
    XX(ELOOP, 40, "Too many levels of symbolic links")                        \
    XX(ENODATA, 61, "No data available")                                      \
    XX(EOVERFLOW, 75, "Value too large for defined data type")                \
    XX(EOPNOTSUPP, 95, "Operation not supported")                             \
    XX(ETIMEDOUT, 110, "Connection timed out")                                \
    XX(EHWPOISON, 133, "Memory page has hardware error")

typedef enum gmm_errno {
#define GMM_ERRNO_ENUM_(name, value, msg) GMM_##name = value,
    GMM_ERRNO_MAP(GMM_ERRNO_ENUM_)
#undef GMM_ERRNO_ENUM_
    GMM_ENOTSUP = 95,
    GMM_EWOULDBLOCK = 11
} gmm_errno;

enum {
    GMM_PROT_NONE = 0x0,
    GMM_PROT_READ = 0x1,
    GMM_PROT_WRITE = 0x2,
    GMM_PROT_EXEC = 0x4,
    GMM_PROT_SEM = 0x8,
    GMM_PROT_GROWSDOWN = 0x01000000,
    GMM_PROT_GROWSUP = 0x02000000
};

enum {
    GMM_MAP_FILE = 0x0,
    GMM_MAP_SHARED = 0x01,
    GMM_MAP_PRIVATE = 0x02,
    GMM_MAP_SHARED_VALIDATE = 0x03,
    GMM_MAP_DROPPABLE = 0x08,
    GMM_MAP_TYPE = 0x0f,
    GMM_MAP_FIXED = 0x10,
    GMM_MAP_ANONYMOUS = 0x20,
    GMM_MAP_ANON = 0x20,
    GMM_MAP_32BIT = 0x40,
    GMM_MAP_GROWSDOWN = 0x0100,
    GMM_MAP_DENYWRITE = 0x0800,
    GMM_MAP_EXECUTABLE = 0x1000,
    GMM_MAP_LOCKED = 0x2000,
    GMM_MAP_NORESERVE = 0x4000,
    GMM_MAP_POPULATE = 0x8000,
    GMM_MAP_NONBLOCK = 0x10000,
    GMM_MAP_STACK = 0x20000,
    GMM_MAP_HUGETLB = 0x40000,
    GMM_MAP_SYNC = 0x80000,
    GMM_MAP_FIXED_NOREPLACE = 0x100000,
    GMM_MAP_UNINITIALIZED = 0x4000000,
    GMM_MAP_HUGE_SHIFT = 26,
    GMM_MAP_HUGE_MASK = 0x3f,
    GMM_MAP_HUGE_2MB = 21 << 26,
    GMM_MAP_HUGE_1GB = 30 << 26
};

enum {
    GMM_MREMAP_MAYMOVE = 1,
    GMM_MREMAP_FIXED = 2,
    GMM_MREMAP_DONTUNMAP = 4
};

enum {
    GMM_MADV_NORMAL = 0,
    GMM_MADV_RANDOM = 1,
    GMM_MADV_SEQUENTIAL = 2,
    GMM_MADV_WILLNEED = 3,
    GMM_MADV_DONTNEED = 4,
    GMM_MADV_FREE = 8,
    GMM_MADV_REMOVE = 9,
    GMM_MADV_DONTFORK = 10,
    GMM_MADV_DOFORK = 11,
    GMM_MADV_MERGEABLE = 12,
    GMM_MADV_UNMERGEABLE = 13,
    GMM_MADV_HUGEPAGE = 14,
    GMM_MADV_NOHUGEPAGE = 15,
    GMM_MADV_DONTDUMP = 16,
    GMM_MADV_DODUMP = 17,
    GMM_MADV_WIPEONFORK = 18,
    GMM_MADV_KEEPONFORK = 19,
    GMM_MADV_COLD = 20,
    GMM_MADV_PAGEOUT = 21,
    GMM_MADV_POPULATE_READ = 22,
    GMM_MADV_POPULATE_WRITE = 23,
    GMM_MADV_DONTNEED_LOCKED = 24,
    GMM_MADV_COLLAPSE = 25,
    GMM_MADV_HWPOISON = 100,
    GMM_MADV_SOFT_OFFLINE = 101,
    GMM_MADV_GUARD_INSTALL = 102,
    GMM_MADV_GUARD_REMOVE = 103
};

enum { GMM_MS_ASYNC = 1, GMM_MS_INVALIDATE = 2, GMM_MS_SYNC = 4 };
enum { GMM_MCL_CURRENT = 1, GMM_MCL_FUTURE = 2, GMM_MCL_ONFAULT = 4 };
enum { GMM_MLOCK_ONFAULT = 1 };

enum {
    GMM_MPOL_DEFAULT = 0,
    GMM_MPOL_PREFERRED = 1,
    GMM_MPOL_BIND = 2,
    GMM_MPOL_INTERLEAVE = 3,
    GMM_MPOL_LOCAL = 4,
    GMM_MPOL_PREFERRED_MANY = 5,
    GMM_MPOL_WEIGHTED_INTERLEAVE = 6,
    GMM_MPOL_MAX = 7,
    GMM_MPOL_F_NUMA_BALANCING = 1 << 13,
    GMM_MPOL_F_RELATIVE_NODES = 1 << 14,
    GMM_MPOL_F_STATIC_NODES = 1 << 15,
    GMM_MPOL_F_NODE = 1 << 0,
    GMM_MPOL_F_ADDR = 1 << 1,
    GMM_MPOL_F_MEMS_ALLOWED = 1 << 2,
    GMM_MPOL_MF_STRICT = 1 << 0,
    GMM_MPOL_MF_MOVE = 1 << 1,
    GMM_MPOL_MF_MOVE_ALL = 1 << 2,
    GMM_MPOL_MF_LAZY = 1 << 3
};

enum {
    GMM_SIGBUS = 7,
    GMM_SIGSEGV = 11,
    GMM_SEGV_MAPERR = 1,
    GMM_SEGV_ACCERR = 2,
    GMM_SEGV_PKUERR = 4,
    GMM_BUS_ADRALN = 1,
    GMM_BUS_ADRERR = 2,
    GMM_BUS_OBJERR = 3,
    /* Not a Linux si_code: the library's report of a CPU access that needed
     * a frame and got none (gmm_system_set_frame_limit, or the host out of
     * memory), with signo GMM_SIGBUS.  Linux would OOM-kill the process
     * instead (SIGKILL, nothing for the guest to catch). */
    GMM_BUS_OOM = 0x100
};

/* ------------------------------------------------------------------------
 * Types.
 * ------------------------------------------------------------------------ */

typedef uint64_t gmm_addr;                 /* guest virtual address */
typedef struct gmm_system gmm_system;      /* a kernel: page cache, accounting, host callbacks */
typedef struct gmm_space gmm_space;        /* one process address space (an mm) */
typedef enum gmm_abi { GMM_ABI_I386 = 1, GMM_ABI_X86_64 = 2 } gmm_abi;
enum { GMM_ACCESS_READ = 1, GMM_ACCESS_WRITE = 2, GMM_ACCESS_EXEC = 4 };

/* Resources for gmm_space_setrlimit (Linux x86 numbers). */
enum { GMM_RLIMIT_DATA = 2, GMM_RLIMIT_STACK = 3, GMM_RLIMIT_MEMLOCK = 8, GMM_RLIMIT_AS = 9 };
#define GMM_RLIM_INFINITY UINT64_MAX

/* Guest pages are 4 KiB whatever the host page size. */
enum { GMM_PAGE_SIZE = 4096, GMM_PAGE_SHIFT = 12 };

typedef struct gmm_fault {
    gmm_addr addr; /* faulting guest address */
    int access;    /* GMM_ACCESS_* that faulted */
    int signo;     /* GMM_SIGSEGV or GMM_SIGBUS */
    int code;      /* si_code: GMM_SEGV_MAPERR, GMM_SEGV_ACCERR, GMM_BUS_ADRERR
                      (or the library's GMM_BUS_OOM: no memory for the page) */
} gmm_fault;

typedef struct gmm_file_ops {
    /* Copy up to len bytes at byte offset off into buf: bytes copied (short at EOF) or -errno. */
    int64_t (*read)(void *handle, uint64_t off, void *buf, size_t len);
    /* Write back len bytes at off (MAP_SHARED writeback): bytes written or -errno. May be NULL for read-only files. */
    int64_t (*write)(void *handle, uint64_t off, const void *buf, size_t len);
    /* Current size in bytes, or -errno. */
    int64_t (*size)(void *handle);
    /* The library holds no more references to handle: once for every handle
       get_file handed out (the mmap that asked for it may have failed),
       when its last mapping goes: once per handle, however many fds of
       whatever modes handed it out. May be NULL. */
    void (*release)(void *handle);
} gmm_file_ops;

typedef struct gmm_file {
    const gmm_file_ops *ops;
    void *handle;
    uint64_t dev, ino; /* identity: equal (dev, ino) share one page cache; printed in maps.
                          dev is encoded as Linux stat(2) returns st_dev: 0x801 prints 08:01 */
    int readable;      /* opened for reading: every mmap needs it, else -GMM_EACCES */
    int writable;      /* opened for writing: MAP_SHARED + PROT_WRITE needs it, else -GMM_EACCES */
    const char *path;  /* printed in maps; copied by the library */
} gmm_file;
/* Rights are per mapping, as Linux takes VM_MAYREAD/VM_MAYWRITE from the
 * mode of the fd each mmap names: get_file may hand out one handle (the
 * inode, the host file object) for fds of different modes, and each
 * mapping keeps the readable/writable of its own fd, whichever was mapped
 * first.  A MAP_SHARED mapping of a read-only fd never becomes writable
 * (mprotect: -GMM_EACCES) and msync of it writes nothing back, while a
 * MAP_PRIVATE one may become writable (its stores are private copies).
 * Only MAP_SHARED mappings of writable fds dirty pages, and dirty pages
 * are written back only through the handle and ops of such a mapping,
 * never through a read-only fd's.  When the last of them goes, the file's
 * dirty pages are written back and the page cache holds no writable handle
 * until the next one. */

typedef struct gmm_host {
    void *user;
    /* Resolve a guest fd at mmap time: fill *out and return 0, or return
       -GMM_EBADF (no such fd) / -GMM_ENODEV (cannot be mapped) / -GMM_EACCES. */
    int (*get_file)(void *user, int fd, gmm_file *out);
    /* A CPU access made through gmm_translate faulted (after the library resolved
       what it can itself: COW, demand paging, stack growth). */
    void (*fault)(void *user, gmm_space *space, const gmm_fault *fault);
    /* Host pointers or cached translations for [start, start+len) are no longer valid. */
    void (*invalidate)(void *user, gmm_space *space, gmm_addr start, uint64_t len);
    /* Optional (may be NULL; added after the contract, at the end so that
     * older initialisers stay valid).  The library wrote guest memory of
     * [start, start+len) that is mapped executable (PROT_EXEC): a user copy
     * (gmm_write, a syscall storing into guest memory) or a file write
     * reported with gmm_file_written that shows through a mapping.  A JIT
     * drops the code it translated from those pages only; translations
     * stay valid (no invalidate).  Stores the emulator makes itself through
     * gmm_translate pointers are its own to track. */
    void (*code_written)(void *user, gmm_space *space, gmm_addr start, uint64_t len);
} gmm_host;

/* ------------------------------------------------------------------------
 * Library and errors.
 * ------------------------------------------------------------------------ */

/* "MAJOR.MINOR.PATCH" of the library actually linked. */
GMM_API const char *gmm_version(void);
/* Message for a GMM_E* value, positive or negative; "Unknown error" otherwise. */
GMM_API const char *gmm_strerror(int err);
/* Name of a GMM_E* value ("EINVAL"), positive or negative; "UNKNOWN" otherwise. */
GMM_API const char *gmm_errname(int err);

/* ------------------------------------------------------------------------
 * Systems and spaces.
 * ------------------------------------------------------------------------ */

/* A new system.  host is copied; it may be NULL (anonymous memory only: file
 * mappings then fail with -GMM_EBADF, faults are not reported).  NULL when
 * out of memory. */
GMM_API gmm_system *gmm_system_create(const gmm_host *host);
/* Destroys the system and frees all its frames.  Call after destroying all
 * of its spaces. */
GMM_API void gmm_system_destroy(gmm_system *sys);

/* The host's allocator for the library's own structures (regions,
 * page-table nodes, page-cache objects, file handles, frame reference
 * counts, the system itself), in the manner of Lua's lua_Alloc.  The
 * library makes two kinds of call:
 *   alloc(ud, NULL, 0, n)   a block of n > 0 bytes, aligned as malloc aligns
 *                           (16 bytes on x86-64), or NULL when out of memory;
 *   alloc(ud, ptr, n, 0)    frees ptr, a block it returned for size n (the
 *                           return value is ignored).
 * It never resizes a block, so a lua_Alloc-style function (realloc when
 * both are non-zero) works unchanged.  Sizes include a small header of the
 * library's.  A NULL result is always safe: the call that needed the block
 * fails as Linux fails for lack of memory and changes nothing (syscall entry
 * points: -GMM_ENOMEM, or the errno Linux turns it into, such as -GMM_EAGAIN
 * for madvise and mlock; gmm_space_create and gmm_space_fork: NULL;
 * gmm_read and gmm_write: -GMM_EFAULT, after copying the bytes before the
 * page that could not be mapped; gmm_translate: host->fault with
 * GMM_SIGBUS/GMM_BUS_OOM).  Guest memory (the 4 KiB frames) does not come
 * from it: the host layer reserves frame arenas from the OS directly
 * (gmm_system_set_frame_limit bounds them); nor do gmm_translate's
 * per-thread TLBs (about 8 KiB per thread and space, at most four per
 * thread), which belong to no system: the C library's malloc gives them
 * and their thread's exit frees them.  It is called with library
 * locks held, from whichever thread calls the library: it must not call
 * into libguestmm, and must be thread-safe when the system is used from
 * several threads. */
typedef void *(*gmm_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);
/* gmm_system_create with an allocator and its ud (alloc NULL: the C
 * library's malloc and free).  Every block of the system, its own
 * structure first, comes from alloc and goes back to it by
 * gmm_system_destroy. */
GMM_API gmm_system *gmm_system_create_with_allocator(const gmm_host *host, gmm_alloc_fn alloc,
                                                     void *ud);

/* The memory cap: at most max_frames guest frames (4 KiB pages of private,
 * shared anonymous and page-cache memory; the shared zero page is free;
 * frames freed but still waiting for a CPU grace period count, since they
 * are host memory until every CPU quiesces) in the whole system at once,
 * as a memory cgroup limits a container.  0, the default, is no limit.  A
 * cap below the frames in use frees nothing: new frames are refused until
 * use falls below it.  A page that needs a frame
 * beyond the cap:
 *   - gmm_translate: host->fault with GMM_SIGBUS and GMM_BUS_OOM (Linux
 *     would OOM-kill the task: deliver SIGKILL to match, or make room and
 *     retry the access);
 *   - gmm_read, gmm_write: -GMM_EFAULT, the bytes before the page copied
 *     (Linux's copy_to_user/copy_from_user when the fault finds no memory);
 *   - mmap with MAP_POPULATE or MAP_LOCKED, brk under mlockall(MCL_FUTURE),
 *     mprotect of locked memory: succeed, pages left to fault later (Linux
 *     ignores populate errors); mlock: -GMM_EAGAIN, MADV_POPULATE_*:
 *     -GMM_ENOMEM, as Linux turns an out-of-memory populate;
 *   - gmm_space_fork takes no frames (pages are shared copy on write) and
 *     is not refused; the first store to a shared page then needs one.
 * Returns 0. */
GMM_API int gmm_system_set_frame_limit(gmm_system *sys, uint64_t max_frames);
/* The frames in use in the system (each frame once, however many spaces
 * map it), not counting freed frames waiting for a grace period, which the
 * cap bounds too. */
GMM_API uint64_t gmm_system_frames_used(gmm_system *sys);

/* An empty space with Linux's no-ASLR layout for abi: top-down mmap below
 * mmap_base (i386: task size 0xFFFFE000, mmap_base 0xF7FFE000; x86-64: task
 * size 0x7FFFFFFFF000, mmap_base 0x7FFFF7FFF000), mmap_min_addr 65536.  NULL
 * for an unknown abi or when out of memory. */
GMM_API gmm_space *gmm_space_create(gmm_system *sys, gmm_abi abi);
/* A copy-on-write child of parent (fork(2)).  NULL when out of memory. */
GMM_API gmm_space *gmm_space_fork(gmm_space *parent);
/* Unmaps everything and frees the space. */
GMM_API void gmm_space_destroy(gmm_space *space);
/* The embedder's pointer for this space (NULL until set). */
GMM_API void gmm_space_set_user(gmm_space *space, void *user);
GMM_API void *gmm_space_user(const gmm_space *space);
/* The space's ABI. */
GMM_API gmm_abi gmm_space_abi(const gmm_space *space);
/* Execute-only memory, as Linux gives it on CPUs with protection keys
 * (x86 PKU): a mapping or mprotect with prot exactly GMM_PROT_EXEC gets
 * the execute-only key, so reads of it fault (gmm_translate reports
 * SIGSEGV/GMM_SEGV_PKUERR, user copies return -GMM_EFAULT).  Off by
 * default: on x86 without protection keys, PROT_EXEC implies read.
 * Affects later mmap/mprotect calls; inherited by fork.  Returns 0. */
GMM_API int gmm_space_set_execute_only(gmm_space *space, int enabled);
/* Resource limits of a space, as setrlimit/prlimit set them for the guest
 * (the embedder checks the guest's privilege to raise them).  Linux's
 * defaults: RLIMIT_AS and RLIMIT_DATA unlimited, RLIMIT_STACK 8 MiB,
 * RLIMIT_MEMLOCK 8 MiB.  setrlimit: 0, or -GMM_EINVAL for an unknown
 * resource or soft > hard.  getrlimit: 0 or -GMM_EINVAL. */
GMM_API int gmm_space_setrlimit(gmm_space *space, int resource, uint64_t soft, uint64_t hard);
GMM_API int gmm_space_getrlimit(gmm_space *space, int resource, uint64_t *soft, uint64_t *hard);
/* Sets start_brk = brk = start, as execve does after loading an ELF.  0, or
 * -GMM_EINVAL when start is beyond the task size. */
GMM_API int gmm_space_init_brk(gmm_space *space, gmm_addr start);

/* One region of a space, as an emulator mirrors it (Unicorn regions, JIT
 * page flags): gmm_space_region_next fills it. */
enum { GMM_REGION_ANON = 0, GMM_REGION_SHARED_ANON = 1, GMM_REGION_FILE = 2 };
typedef struct gmm_region_info {
    gmm_addr start, end; /* [start, end), page-aligned */
    int prot;            /* GMM_PROT_* as mmap/mprotect set them */
    int access;          /* GMM_ACCESS_* an x86 CPU may do there: any right
                            implies read, but for execute-only memory
                            (gmm_space_set_execute_only) */
    int kind;            /* GMM_REGION_* */
    int shared;          /* 1: MAP_SHARED (stores reach the object) */
    int growsdown;       /* 1: a stack that grows on faults below it */
    uint64_t offset;     /* file mappings: byte offset of start; else 0 */
    uint64_t dev, ino;   /* as the maps line shows them (0 for anonymous) */
} gmm_region_info;
/* The first region of s that ends above addr (Linux find_vma): 1 with *out
 * filled, or 0 when there is none.  To walk a range [lo, hi): start at lo,
 * go on from out->end while out->start < hi.  A snapshot under the lock:
 * another thread's call may change the regions right after. */
GMM_API int gmm_space_region_next(gmm_space *space, gmm_addr addr, gmm_region_info *out);

/* A futex's identity, as Linux's get_futex_key() makes it: two waiters
 * and wakers meet when their keys are equal (compare all four fields). */
enum {
    GMM_FUTEX_KEY_PRIVATE = 1, /* FUTEX_PRIVATE_FLAG: this space and address */
    GMM_FUTEX_KEY_MM = 2,      /* a shared futex in private anonymous memory
                                  (or a copied private file page): this space
                                  and address, but never equal to a private key */
    GMM_FUTEX_KEY_OBJECT = 3   /* shared memory or a file page: the object and
                                  the byte offset in it, whatever space and
                                  address reach it */
};
typedef struct gmm_futex_key {
    uint64_t kind;     /* GMM_FUTEX_KEY_* */
    uint64_t dev, ino; /* the object as maps shows it; private and mm keys:
                          0 and an id of the space never reused */
    uint64_t offset;   /* byte offset in the object, or the address */
} gmm_futex_key;
/* The key of the futex word at uaddr (a guest register value: an i386
 * space uses its low 32 bits).  shared 0: FUTEX_PRIVATE_FLAG, no lookup.
 * shared 1: the page is faulted in (for a store when write, as FUTEX_WAKE_OP
 * and the PI operations need) and the key is the backing object's where
 * the page is one (MAP_SHARED memory, a private file page not yet copied).
 * 0, -GMM_EINVAL (uaddr not 4-byte aligned), -GMM_EFAULT (beyond the user
 * address space; shared: not mapped or the access refused), -GMM_ENOMEM. */
GMM_API int gmm_space_futex_key(gmm_space *space, gmm_addr uaddr, int shared, int write,
                                gmm_futex_key *out);

/* Writes the /proc/self/maps text of the space into buf, byte-identical to
 * what an x86-64 Linux kernel prints for the same layout, NUL-terminated
 * when cap > 0; returns the full length (snprintf semantics). */
GMM_API size_t gmm_space_maps(gmm_space *space, char *buf, size_t cap);
/* The memory lines of /proc/PID/status (VmPeak, VmSize, VmLck, VmPin,
 * VmHWM, VmRSS, RssAnon, RssFile, RssShmem, VmData, VmStk, VmExe, VmLib,
 * VmPTE, VmSwap, HugetlbPages) as Linux prints them, same buffer semantics
 * as gmm_space_maps.  No swap, no pinning, no huge pages; VmPTE counts the
 * x86-64 page-table pages the pages in use need; VmExe needs
 * gmm_space_set_code. */
GMM_API size_t gmm_space_status(gmm_space *space, char *buf, size_t cap);
/* /proc/PID/smaps as Linux renders it: per region its maps line, sizes,
 * Rss, Pss, clean and dirty shares, Anonymous, Locked, THPeligible,
 * ProtectionKey (in execute-only mode: a CPU with protection keys) and
 * VmFlags.  Same buffer semantics as gmm_space_maps. */
GMM_API size_t gmm_space_smaps(gmm_space *space, char *buf, size_t cap);

/* execve(2) for the memory: every region goes (with its locks, names,
 * policies, MADV_WIPEONFORK and MADV_DONTFORK settings), MCL_FUTURE is
 * cancelled, brk, the stack and the text range are forgotten and the peaks
 * restart; the limits, the task's memory policy and the execute-only mode
 * stay.  Returns 0.  (Destroying the space and creating a new one is the
 * same, but for what stays.) */
GMM_API int gmm_space_exec_reset(gmm_space *space);
/* The initial stack of a new program, as execve sets it up with ASLR off:
 * a private anonymous grows-down read-write region of size bytes (rounded
 * up; 0: Linux's usual 132 KiB) ending at the top of the task (i386:
 * 0xFFFFE000, x86-64: 0x7FFFFFFFF000), named "[stack]" in maps.  It grows
 * on faults below it up to RLIMIT_STACK.  Returns the top address (where
 * the emulator builds argv, envp and auxv downwards), -GMM_EEXIST when the
 * range is mapped, -GMM_ENOMEM when size exceeds RLIMIT_STACK or a limit
 * refuses it. */
GMM_API int64_t gmm_space_setup_stack(gmm_space *space, uint64_t size);
/* Records the loaded program's text range (Linux mm->start_code,
 * end_code) for VmExe and VmLib.  0, or -GMM_EINVAL when start > end or
 * end is beyond the task size. */
GMM_API int gmm_space_set_code(gmm_space *space, gmm_addr start_code, gmm_addr end_code);

/* Consistency check of the space and of the frames it shares with other
 * spaces of its system: region tree order, balance and gap augmentation,
 * no overlap, neighbours merged where Linux merges them, page-table entries
 * inside regions, frame reference counts.  NULL when all holds, else a
 * static description of the first violation.  Costs O(regions + pages):
 * for tests and fuzzers.  Call it when no other thread uses the system
 * (reference counts change without the lock it takes). */
GMM_API const char *gmm_space_check(gmm_space *space);
/* The same check for every space of the system at once: what
 * gmm_space_check verifies on each space, with the shared part (page
 * tables, frames) done once.  NULL when all holds.  Like gmm_space_check,
 * call it when no other thread uses the system. */
GMM_API const char *gmm_system_check(gmm_system *sys);

/* ------------------------------------------------------------------------
 * Snapshots: a space saved and put back, many times over (fuzzers, record
 * and replay).
 *
 * gmm_snapshot_take freezes the whole state of a space: its regions (rights,
 * flags, names, memory policies, locks, MADV_* settings, anon identities),
 * the contents of every private page (shared copy on write with the live
 * space: taking costs O(regions + pages present) and no copy), brk and
 * start_brk, the stack and how far it may still grow, the text range, the
 * resource limits, MCL_FUTURE, the task's memory policy, the execute-only
 * mode, the counters and peaks that gmm_space_status prints, and the
 * layout that decides where the next mmap goes (the regions' gaps and the
 * mmap bases), so that after a restore the same calls return the same
 * addresses.
 *
 * gmm_snapshot_restore puts the space back as it was at the snapshot,
 * whatever happened since: stores (through translations, CPUs, windows or
 * user copies), mmap, munmap (of older memory too), mprotect, mremap,
 * madvise, brk up and down, mlock, stack growth, exec reset, forks of the
 * space (the children live on, untouched).  Every page changed since is
 * known without any hook on guest stores: the library's own faults, copy
 * on write and zaps record it, and every change of a region records its
 * range.  Cost: O(entries present, in the live space and in the snapshot,
 * in the page ranges changed since the snapshot or the last restore) for
 * the pages, and for the regions O(regions around the ranges where regions
 * changed) compares and replacements, each O(log regions); neither grows
 * with the size of the space nor its number of regions.  A fork of the
 * space counts its writable private regions as changed pages once (fork
 * shoots them down); a recorded range that the log had to widen (past
 * 16,384 ranges since the snapshot, or no memory to grow it) costs what
 * the widened range holds.  After a restore the space shares
 * its private frames with the snapshot again: the first store to each page
 * takes a copy-on-write fault.  TLBs, CPU objects, windows and
 * host->invalidate see a restore as any other change of the ranges it
 * touches.  Memory stays flat over any number of restores: frames copied
 * since are freed, the change log is cut back.
 *
 * Not restored, and why:
 *   - the contents of MAP_SHARED memory and file pages (MAP_SHARED file
 *     mappings, shared anonymous memory, and the file pages a private file
 *     mapping still reads through the page cache before its first store):
 *     they belong to the file or object, which other mappings and other
 *     spaces share.  Their mappings come back; a page the object no longer
 *     holds at that offset (a file truncated, MADV_REMOVE) comes back
 *     unmapped and faults in what the object holds now;
 *   - the files themselves (sizes, writeback done since), and the inode
 *     numbers given to new MAP_SHARED|MAP_ANONYMOUS memory (counted per
 *     system, as Linux counts them);
 *   - the user pointer (gmm_space_set_user), windows (they stay, and
 *     fault the restored pages back in), CPU objects, and spaces forked
 *     since.
 * While a snapshot shares a page it counts as one more user of it: smaps
 * shows the page in Shared_* with a smaller Pss, and MADV_PAGEOUT keeps
 * the MAP_DROPPABLE pages a snapshot shares.
 * A snapshot keeps alive what it refers to: frames, page-cache objects,
 * file handles (the host's release callback waits for the snapshot's
 * discard).  Frames count against gmm_system_set_frame_limit.
 *
 * Threads: take and restore as fork is done (see "Threads" at the top):
 * a store through a write pointer a CPU obtained before the call, landing
 * after it, may reach a frame the snapshot now shares (take) or one the
 * restore let go (lost); hold the space's other guest threads at a block
 * boundary around these calls.
 *
 * Nesting: any number of snapshots of one space may be live.  Restoring one
 * discards every snapshot of that space taken after it (their handles
 * become stale) and keeps it and the older ones: snapshots form a stack.
 *
 * Handles are opaque tokens, never reused in a process: restoring with a
 * discarded or stale handle, or a snapshot of another space, returns
 * -GMM_EINVAL and changes nothing; discarding one twice, or after its space
 * was destroyed (which discards its snapshots), does nothing.  Do not
 * discard concurrently with the destruction of its space or system.
 * ------------------------------------------------------------------------ */

typedef struct gmm_snapshot gmm_snapshot;
/* A snapshot of s, or NULL when out of memory (the space is unchanged). */
GMM_API gmm_snapshot *gmm_snapshot_take(gmm_space *s);
/* s as it was at snap.  0; -GMM_EINVAL for a snapshot that is not one of
 * s's live snapshots; -GMM_ENOMEM when out of memory (nothing changed). */
GMM_API int gmm_snapshot_restore(gmm_space *s, gmm_snapshot *snap);
/* Frees a snapshot (NULL or a stale handle: nothing). */
GMM_API void gmm_snapshot_discard(gmm_snapshot *snap);

/* ------------------------------------------------------------------------
 * Files changed behind the mappings.  Linux's read, write and truncate go
 * through the page cache that mappings share; an emulator's go to the host
 * file.  Report them so that the library's cache stays coherent.  A file is
 * named by the (dev, ino) its get_file gave.  Files the library does not
 * have mapped are ignored.
 * ------------------------------------------------------------------------ */

/* The emulator's write(2)/pwrite(2) wrote len bytes of buf at off to the
 * file: the cached pages take the bytes, so shared mappings see them at once
 * (and a write past the end grows the file's size). */
GMM_API void gmm_file_written(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t off,
                              const void *buf, size_t len);
/* The file's size changed (ftruncate).  Smaller: pages wholly beyond the new
 * end leave every mapping, private copies included, and touching them
 * faults with SIGBUS/BUS_ADRERR (guard pages of MADV_GUARD_INSTALL stay
 * guards: SIGSEGV/SEGV_MAPERR); the rest of the new last page reads zero.
 * Larger: the new part reads zero. */
GMM_API void gmm_file_resized(gmm_system *sys, uint64_t dev, uint64_t ino, uint64_t new_size);
/* Writes back the file's dirty shared pages through its write callback,
 * for the emulator to call before it reads the file itself.  0, or the
 * first negative errno the callback returned. */
GMM_API int gmm_file_sync(gmm_system *sys, uint64_t dev, uint64_t ino);

/* ------------------------------------------------------------------------
 * Syscall-shaped entry points: arguments as the guest passed them (for an
 * i386 space, address, length and offset arguments are taken modulo 2^32, as
 * a compat syscall sees its registers).  They return what Linux returns.
 * ------------------------------------------------------------------------ */

/* brk(2), raw syscall: the new break on success, the old break on failure
 * (never an errno). */
GMM_API int64_t gmm_sys_brk(gmm_space *s, gmm_addr brk);
/* mmap(2) with a byte offset (must be page-aligned: -GMM_EINVAL). */
GMM_API int64_t gmm_sys_mmap(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd, uint64_t off);
/* mmap2(2): the offset in 4 KiB pages. */
GMM_API int64_t gmm_sys_mmap2(gmm_space *s, gmm_addr addr, uint64_t len, int prot, int flags, int fd, uint64_t pgoff);
/* i386 syscall 90: args is the guest address of six 32-bit words (addr, len,
 * prot, flags, fd, offset); unreadable: -GMM_EFAULT. */
GMM_API int64_t gmm_sys_old_mmap(gmm_space *s, gmm_addr args);
/* munmap(2): -GMM_EINVAL for an unaligned address, a zero or too long
 * length; 0 for a range with nothing mapped; -GMM_ENOMEM when punching a
 * hole would exceed the map count limit (65530). */
GMM_API int64_t gmm_sys_munmap(gmm_space *s, gmm_addr addr, uint64_t len);
/* mprotect(2): Linux's check order (GROWSDOWN|GROWSUP, alignment, length 0
 * returns 0, wrap -GMM_ENOMEM, unknown prot bits -GMM_EINVAL); a hole is
 * -GMM_ENOMEM after the part before it changed, as on Linux; adding a
 * permission the mapping may not have (a shared read-only file) is
 * -GMM_EACCES. */
GMM_API int64_t gmm_sys_mprotect(gmm_space *s, gmm_addr addr, uint64_t len, int prot);
/* mremap(2) as Linux 6.17+ does it: shrink / same / grow with no flag,
 * MAYMOVE, FIXED and DONTUNMAP; the new address or a negative errno
 * (-GMM_EINVAL for bad flags or sizes, -GMM_EFAULT for an unmapped or
 * over-long old range, -GMM_ENOMEM when it cannot grow in place, -GMM_EAGAIN
 * over RLIMIT_MEMLOCK).  A move keeps the frames, copy-on-write state and
 * file offsets. */
GMM_API int64_t gmm_sys_mremap(gmm_space *s, gmm_addr old_addr, uint64_t old_len, uint64_t new_len, int flags, gmm_addr new_addr);
/* madvise(2).  Every advice Linux x86 knows (GMM_MADV_*), validated before
 * the range (unknown: -GMM_EINVAL even with len 0); addr must be page
 * aligned, len is rounded up (a wrap: -GMM_EINVAL); len 0 returns 0.  The
 * advice is applied to the mapped parts of the range, then a hole gives
 * -GMM_ENOMEM; an error of one region (-GMM_EINVAL: DONTNEED, FREE, COLD,
 * PAGEOUT, REMOVE or GUARD_INSTALL on locked memory, FREE or WIPEONFORK
 * on shared memory; -GMM_EACCES: REMOVE of memory not shared writable)
 * stops it.  Flag advice splits regions (a split out of memory:
 * -GMM_EAGAIN).  DONTNEED: private anonymous pages read zero afterwards,
 * private file pages read the file, shared pages keep their data.
 * REMOVE: shared memory pages read zero, in every mapping.  GUARD_INSTALL:
 * the pages go and any access faults (SIGSEGV/SEGV_MAPERR, user copies
 * -GMM_EFAULT) until GUARD_REMOVE or munmap.  POPULATE_READ/WRITE fault the
 * range in (-GMM_ENOMEM at a hole, -GMM_EINVAL without the permission,
 * -GMM_EFAULT when a page faults).  HWPOISON and SOFT_OFFLINE: -GMM_EPERM
 * (an unprivileged process).  FREE, COLD, PAGEOUT and WILLNEED keep the
 * pages (no memory pressure, no swap), but PAGEOUT drops the pages of
 * MAP_DROPPABLE memory. */
GMM_API int64_t gmm_sys_madvise(gmm_space *s, gmm_addr addr, uint64_t len, int advice);
/* msync(2): flags other than GMM_MS_ASYNC, GMM_MS_SYNC, GMM_MS_INVALIDATE,
 * or ASYNC with SYNC: -GMM_EINVAL; addr unaligned: -GMM_EINVAL; len is
 * rounded up, 0 returns 0.  A hole in the range: -GMM_ENOMEM (after the
 * mapped parts, but at once for MS_SYNC alone); MS_INVALIDATE on locked
 * memory: -GMM_EBUSY.  Dirty pages of shared file mappings are written
 * back through the file's write callback (its error is returned for
 * MS_SYNC). */
GMM_API int64_t gmm_sys_msync(gmm_space *s, gmm_addr addr, uint64_t len, int flags);
/* mlock(2): the pages of [addr & ~4095, addr + len rounded up) are locked
 * and populated.  The space is an unprivileged process: RLIMIT_MEMLOCK 0
 * gives -GMM_EPERM, a limit the locked pages would exceed -GMM_ENOMEM
 * (pages locked already count once).  A range not wholly mapped:
 * -GMM_ENOMEM (the part before the hole locked).  A page that cannot be
 * populated (PROT_NONE, guard page): -GMM_ENOMEM, the range stays locked.
 * Locks do not nest, are not inherited by gmm_space_fork and go with
 * munmap. */
GMM_API int64_t gmm_sys_mlock(gmm_space *s, gmm_addr addr, uint64_t len);
/* mlock2(2): as mlock; flags 0 or GMM_MLOCK_ONFAULT (the range is locked,
 * counts in VmLck, but pages come in only when touched); other flags:
 * -GMM_EINVAL. */
GMM_API int64_t gmm_sys_mlock2(gmm_space *s, gmm_addr addr, uint64_t len, int flags);
/* munlock(2): unlocks; a range not wholly mapped: -GMM_ENOMEM. */
GMM_API int64_t gmm_sys_munlock(gmm_space *s, gmm_addr addr, uint64_t len);
/* mlockall(2): GMM_MCL_CURRENT locks (and populates) every region;
 * GMM_MCL_FUTURE makes later mmap and brk memory locked (mmap beyond the
 * limit: -GMM_EAGAIN, brk growth fails); GMM_MCL_ONFAULT with either locks
 * on fault.  A call without MCL_FUTURE cancels an earlier one.  Flags 0,
 * unknown, or MCL_ONFAULT alone: -GMM_EINVAL; RLIMIT_MEMLOCK 0:
 * -GMM_EPERM; MCL_CURRENT with more mapped than the limit: -GMM_ENOMEM. */
GMM_API int64_t gmm_sys_mlockall(gmm_space *s, int flags);
/* munlockall(2): unlocks everything and cancels MCL_FUTURE.  Returns 0. */
GMM_API int64_t gmm_sys_munlockall(gmm_space *s);
/* mincore(2): one byte per page of [addr, addr + len rounded up) written
 * at guest address vec (copy_to_user semantics), 1 for a resident page
 * (any page a frame backs, the zero page of read anonymous memory
 * included; for shared memory and files, a page the object holds).
 * addr unaligned: -GMM_EINVAL; a range beyond the user address space or
 * with a hole: -GMM_ENOMEM (the entries before the hole's region written);
 * vec not writable: -GMM_EFAULT. */
GMM_API int64_t gmm_sys_mincore(gmm_space *s, gmm_addr addr, uint64_t len, gmm_addr vec);
/* mbind(2), set_mempolicy(2), get_mempolicy(2) on a machine with one NUMA
 * node, node 0 (1024 node ids).  Modes GMM_MPOL_*, with the mode flags
 * GMM_MPOL_F_STATIC_NODES, GMM_MPOL_F_RELATIVE_NODES,
 * GMM_MPOL_F_NUMA_BALANCING; nodemask is a guest address of maxnode - 1
 * bits (unreadable: -GMM_EFAULT).  Validation and errors as Linux's: an
 * unknown mode or flag, a mask a mode refuses (DEFAULT or LOCAL with nodes,
 * BIND or INTERLEAVE without, no node 0 in it), maxnode beyond a page of
 * bits: -GMM_EINVAL.  mbind: addr unaligned: -GMM_EINVAL; a hole:
 * -GMM_EFAULT (the default policy only when nothing is mapped);
 * GMM_MPOL_MF_MOVE_ALL: -GMM_EPERM.  Policies are kept per region (split
 * and merged like the other attributes, inherited by fork) and per space
 * (the task's, inherited by fork, kept by gmm_space_exec_reset), and
 * read back by get_mempolicy: GMM_MPOL_F_ADDR asks for the region's
 * (no region: -GMM_EFAULT), GMM_MPOL_F_NODE for a node (0),
 * GMM_MPOL_F_MEMS_ALLOWED for the nodes allowed ({0}). */
GMM_API int64_t gmm_sys_mbind(gmm_space *s, gmm_addr addr, uint64_t len, int mode, gmm_addr nodemask, uint64_t maxnode, unsigned flags);
GMM_API int64_t gmm_sys_get_mempolicy(gmm_space *s, gmm_addr mode, gmm_addr nodemask, uint64_t maxnode, gmm_addr addr, unsigned flags);
GMM_API int64_t gmm_sys_set_mempolicy(gmm_space *s, int mode, gmm_addr nodemask, uint64_t maxnode);
/* prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name): names the
 * anonymous memory of the range; maps then shows "[anon:name]" (shared
 * memory: "[anon_shmem:name]").  name is the guest address of a
 * NUL-terminated string of at most 79 printable ASCII characters other than
 * \ ` $ [ ] (else -GMM_EINVAL; unreadable: -GMM_EFAULT), or 0 to remove the
 * name.  The range is checked as madvise checks it; a hole: -GMM_ENOMEM
 * after the mapped parts; a file mapping: -GMM_EBADF.  Returns 0. */
GMM_API int64_t gmm_sys_prctl_set_vma_anon_name(gmm_space *s, gmm_addr addr, uint64_t len, gmm_addr name);

/* ------------------------------------------------------------------------
 * Guest memory access.
 * ------------------------------------------------------------------------ */

/* copy_from_user: copies len bytes at guest src into dst.  0, or
 * -GMM_EFAULT when part of the range is unmapped or not readable (x86: any
 * of PROT_READ, PROT_WRITE, PROT_EXEC makes a page readable); the bytes
 * before the first bad page are copied.  A range that wraps or runs past
 * the x86-64 user limit (0x7FFFFFFFF000) copies nothing, as access_ok()
 * refuses it; an i386 space is checked against that same limit, as a
 * compat task is, so a range running past its top (0xFFFFE000) copies the
 * bytes below the top first.  Never calls host->fault. */
GMM_API int gmm_read(gmm_space *s, gmm_addr src, void *dst, size_t len);
/* copy_to_user: copies len bytes from src to guest dst.  0, or -GMM_EFAULT
 * when part of the range is unmapped or lacks PROT_WRITE; breaks
 * copy-on-write and allocates demand-zero pages.  Never calls host->fault. */
GMM_API int gmm_write(gmm_space *s, gmm_addr dst, const void *src, size_t len);
/* CPU access: a host pointer to the byte at addr, valid to the end of its
 * 4 KiB page for the access asked (a combination of GMM_ACCESS_*), or NULL
 * after host->fault was called with the Linux signal and si_code
 * (SIGSEGV/SEGV_MAPERR: no mapping; SIGSEGV/SEGV_ACCERR: the mapping forbids
 * the access).  Resolves demand-zero pages and copy-on-write itself.  A
 * read translation of a page may point at a shared frame; ask for
 * GMM_ACCESS_WRITE before storing.  Any thread may call it, through a TLB
 * of its own (see "Threads" at the top for how long the pointer lasts). */
GMM_API void *gmm_translate(gmm_space *s, gmm_addr addr, int access);
/* gmm_translate for an emulator that caches translations per page (its own
 * TLB, or Unicorn memory regions): also stores in *allowed the GMM_ACCESS_*
 * set the returned page may be used for without asking again, 0 on a
 * fault.  READ and EXEC follow the mapping's protection; WRITE is only
 * granted when a store needs no more work from the library (the frame is
 * private to this space, or a shared page already dirty), so a read of a
 * copy-on-write, demand-zero or clean shared file page comes back without
 * WRITE and the first store must come back with GMM_ACCESS_WRITE.  Each
 * grant lasts until host->invalidate covers the page (unmap, mprotect,
 * copy on write, fork). */
GMM_API void *gmm_translate_perms(gmm_space *s, gmm_addr addr, int access, int *allowed);

/* ------------------------------------------------------------------------
 * CPUs: the CPU path for emulators that run guest threads on host threads
 * (see "Threads" at the top).
 * ------------------------------------------------------------------------ */

typedef struct gmm_cpu gmm_cpu;

/* A CPU object of space s for the calling emulator thread: its own TLB,
 * and a part in the grace periods of the space's system.  NULL when out of
 * memory.  Destroy every CPU of a space before the space. */
GMM_API gmm_cpu *gmm_cpu_create(gmm_space *s);
GMM_API void gmm_cpu_destroy(gmm_cpu *cpu);
GMM_API gmm_space *gmm_cpu_space(const gmm_cpu *cpu);
/* gmm_translate through the CPU's own TLB: the same result, faults and
 * callbacks.  The pointer stays valid memory until gmm_cpu_quiesce. */
GMM_API void *gmm_cpu_translate(gmm_cpu *cpu, gmm_addr addr, int access);
/* The thread holds no pointer from gmm_cpu_translate any more: frames
 * freed before now may be reused once every CPU has said so.  Cheap (two
 * atomic accesses); call it often.  A CPU that never quiesces keeps freed
 * frames from being reused: memory grows, and under a memory cap
 * (gmm_system_set_frame_limit) new frames are refused once they fill it. */
GMM_API void gmm_cpu_quiesce(gmm_cpu *cpu);
/* The thread stops running guest code for a while (a blocking syscall, an
 * idle vCPU): it holds no pointer until gmm_cpu_online, and the grace
 * periods go on without it.  A CPU that neither quiesces nor goes offline
 * keeps every frame freed meanwhile from being reused. */
GMM_API void gmm_cpu_offline(gmm_cpu *cpu);
GMM_API void gmm_cpu_online(gmm_cpu *cpu);

/* ------------------------------------------------------------------------
 * Host windows: a space mirrored into host memory.
 *
 * A window makes guest address a of space s host address
 * gmm_window_base(w) + a, so that generated code (a JIT, Unicorn through
 * uc_mem_map_ptr, a KVM-less "linear" emulator) loads and stores guest
 * memory with plain host instructions, and the host MMU enforces the
 * guest's rights.  It needs a mappable system (gmm_system_create_mappable),
 * Linux on x86-64 and 4 KiB host pages.
 *
 * The mirror rule, true whenever no library call is running: a host page of
 * a window either maps nothing (PROT_NONE), or maps exactly the frame the
 * space's page table holds for that guest page, with host rights no wider
 * than a store or load through gmm_translate would be allowed without a
 * fault at that moment: read-only where a store needs work first (copy on
 * write, the zero page, both sides after a fork, a clean shared page whose
 * first store must be recorded), writable only where a store would hit.
 * The host never gets execute rights through a window.  Every call that
 * changes a translation (munmap, mprotect, mremap, madvise, fork, copy on
 * write, truncation, writeback, exec reset, brk) unmaps the pages concerned
 * from every window of every space it touches before it returns; a host
 * access there then faults and comes back through gmm_window_fault.
 *
 * Pages are mapped only by gmm_window_fault.  A host SIGSEGV at a window
 * address goes to it, from the handler on the faulting thread:
 *   0  resolved (demand zero, copy on write, file page-in, stack growth,
 *      a first store to a clean shared page) and mapped: return from the
 *      handler and the access is retried;
 *   1  the guest gets a signal: *out is filled as for host->fault
 *      (signo, si_code decided from the regions, guest address);
 *   -GMM_EFAULT: host_addr is not in w.
 * In a handler: gmm_window_fault takes the system's mm lock and may
 * allocate through the system's allocator.  That is safe because a window
 * fault is synchronous: it happens at a guest load or store, never inside
 * the library or the allocator, so the faulting thread holds neither.  Do
 * not touch window memory from a host callback of the library (those run
 * with the lock held) nor while another handler of yours holds a lock the
 * library's callbacks take.  The callbacks a window fault can make --
 * get_file's read (file page-in), invalidate and code_written (copy on
 * write) -- then run inside the signal handler too.  The access type comes from the fault's
 * ucontext (gmm_window_access_from_ucontext: the x86-64 page-fault error
 * code).  Install the handler with SA_SIGINFO | SA_ONSTACK and give each
 * thread a sigaltstack if guest stacks may overflow host ones; pass faults
 * outside every window (gmm_window_find returns NULL) to the handler that
 * was there before.  gmm_window_install_handler does all of this.
 *
 * Fault-around: a fault maps the present pages of the aligned block around
 * it (16 pages by default) at once, and in private anonymous memory makes
 * the block's empty pages present as the faulting access would (zero pages
 * for a read, fresh zeroed frames for a store -- zero pages too), as
 * Linux's large folios do: rss and mincore then count them.  While faults
 * follow each other in address order (each on the page right after the
 * previous block), the block doubles, up to 512 pages, as readahead grows;
 * any other fault starts again at the set size.
 * gmm_window_set_fault_around(w, 1) turns all of it off.
 *
 * Host mappings.  The kernel allows about 65,530 mappings per process
 * (vm.max_map_count).  Frames mapped at consecutive memory-file offsets
 * with equal rights share one host mapping, and first-touch frames of a
 * run come from consecutive offsets, so memory touched in order costs a
 * handful of mappings.  Each window keeps an exact count of its host
 * mappings under a budget (8,192 by default, gmm_window_set_budget): a
 * fault that would pass it first unmaps the whole window (one mapping),
 * and the pages in use fault back in.  Past the budget a window gets
 * slower, never wrong, and never runs the process out of mappings; several
 * windows in one process share the kernel's limit, so keep the sum of
 * their budgets below it.  If the host refuses a mapping anyway, the
 * window unmaps everything and the faulting access gets SIGBUS/GMM_BUS_OOM.
 *
 * Several windows may mirror one space (each its own reservation).  Destroy
 * in either order: gmm_space_destroy (or gmm_system_destroy) leaves its
 * windows mapping nothing, their faults report SIGSEGV/SEGV_MAPERR, and
 * gmm_window_destroy still frees them; gmm_window_destroy before the space
 * unmaps the reservation.  Destroy a window only when no thread accesses
 * it.  gmm_space_fork does not copy windows: make one for the child.
 *
 * Host fork().  A mappable system's frames are one shared memory file: a
 * host fork() child shares every frame with its parent (stores and freed
 * frames cross between them).  A child may exec or exit; it must not use
 * the system.  Fork servers (AFL, unicornafl) want gmm_system_create,
 * whose frames are private anonymous memory the child gets a copy of.
 * ---------------------------------------------------------------------- */

/* A system whose frames can be mapped into host memory (on Linux: a memfd,
 * close-on-exec, grown in 64 MiB sparse chunks; freed frames give their
 * memory back).  Otherwise as gmm_system_create; NULL where the host
 * cannot. */
GMM_API gmm_system *gmm_system_create_mappable(const gmm_host *host);
/* The same with an allocator (see gmm_system_create_with_allocator) for
 * the library's own structures; frames still come from the memory file. */
GMM_API gmm_system *gmm_system_create_mappable_with_allocator(const gmm_host *host,
                                                              gmm_alloc_fn alloc, void *ud);

typedef struct gmm_window gmm_window;

/* Mirrors guest [lo, hi) of s at gmm_window_base(w) + a.  An i386 space's
 * window reserves the whole 4 GiB (hi may be 4 GiB: the task's end is
 * used), so that any 32-bit address plus the base stays inside it; an
 * x86-64 window reserves [lo, hi) only.  NULL when the system is not
 * mappable, the host page size is not 4 KiB, lo and hi are not
 * page-aligned, lo >= hi, hi is beyond the ABI's task size, or the host
 * cannot reserve the range. */
GMM_API gmm_window *gmm_window_create(gmm_space *s, gmm_addr lo, gmm_addr hi);
GMM_API void gmm_window_destroy(gmm_window *w);
/* Host address of guest address 0.  It may lie outside the reservation
 * (only base + a for a in the window is inside), so compute base + a in
 * uintptr_t arithmetic: as pointer arithmetic it can overflow. */
GMM_API uint8_t *gmm_window_base(const gmm_window *w);
/* The space mirrored, or NULL once it was destroyed. */
GMM_API gmm_space *gmm_window_space(const gmm_window *w);
/* See above.  access is GMM_ACCESS_*; an instruction fetch reports
 * SIGSEGV/SEGV_ACCERR (the host never executes guest memory). */
GMM_API int gmm_window_fault(gmm_window *w, uintptr_t host_addr, int access, gmm_fault *out);
/* The window whose reservation holds host_addr, or NULL.  Lock-free and
 * async-signal-safe.  At most 1,024 windows exist at once in a process:
 * gmm_window_create returns NULL beyond, so that every window can be found
 * by the handler. */
GMM_API gmm_window *gmm_window_find(uintptr_t host_addr);
/* GMM_ACCESS_READ, _WRITE or _EXEC for a SIGSEGV's ucontext_t (the third
 * argument of an SA_SIGINFO handler), from the x86-64 page-fault error
 * code; other hosts: READ|WRITE. */
GMM_API int gmm_window_access_from_ucontext(const void *ucontext);
/* Installs a SIGSEGV and SIGBUS handler for every window of the process
 * (again where another was installed since; a no-op where it is there).
 * A fault gmm_window_fault resolves is retried; one that is the guest's
 * goes to the system's host->fault (which should not return: it unwinds
 * to the emulator's loop, for example with siglongjmp), and if it returns,
 * or the fault is outside every window, to the handler installed before
 * (the default action kills the process).  SIGBUS in a window means
 * the host could not give memory for a mapped frame (GMM_BUS_OOM).
 * 0, or -GMM_EINVAL when sigaction failed. */
GMM_API int gmm_window_install_handler(void);
/* Host mappings a window may use (at least 16); default 8,192. */
GMM_API void gmm_window_set_budget(gmm_window *w, uint64_t max_host_mappings);
/* Pages mapped per fault at first (rounded up to a power of two, at most
 * 512; growing for faults in address order, see above); 1: only the
 * faulting page, and nothing made present beyond it. */
GMM_API void gmm_window_set_fault_around(gmm_window *w, unsigned pages);

typedef struct gmm_window_stats {
    uint64_t faults;        /* gmm_window_fault calls */
    uint64_t flushes;       /* whole-window unmaps (budget, host refusal) */
    uint64_t pages_mapped;  /* guest pages mapped now */
    uint64_t host_mappings; /* host mappings in the reservation now */
    uint64_t budget;
} gmm_window_stats;
GMM_API void gmm_window_get_stats(gmm_window *w, gmm_window_stats *out);
/* The mirror checker: reads the host's mappings (/proc/self/maps) and
 * compares every mapped page of w with the page table: the same frame
 * (memory-file offset), rights no wider than the rule, and the count of
 * host mappings.  NULL when all holds, else the first violation.  For
 * tests and fuzzers; gmm_space_check and gmm_system_check run it on every
 * window of the spaces they check.  Call it when no other thread uses the
 * system. */
GMM_API const char *gmm_window_check(gmm_window *w);
/* Host mappings inside w's reservation, counted from /proc/self/maps. */
GMM_API uint64_t gmm_window_host_mappings(const gmm_window *w);

#ifdef __cplusplus
}
#endif

#endif /* GUESTMM_H */
