"""guestmm: Python bindings for libguestmm (ctypes, standard library only).

libguestmm gives an x86 emulator a Linux guest address space in software.
This module wraps the whole public header, include/guestmm.h:

    import guestmm as g

    with g.System() as sys, sys.space(g.ABI_X86_64) as sp:
        addr = g.check(sp.mmap(0, 4096, g.PROT_READ | g.PROT_WRITE,
                               g.MAP_PRIVATE | g.MAP_ANONYMOUS))
        sp.write(addr, b"hello")
        print(hex(addr), sp.read(addr, 5), sp.maps(), sep="\\n")

Conventions
  * Every constant is the Linux x86 value, named as in the header without
    the GMM_ prefix (PROT_READ, MAP_FIXED_NOREPLACE, EINVAL, SIGSEGV, ...).
  * Syscall methods (Space.mmap, Space.mprotect, ...) return what the Linux
    syscall returns to the guest: an int, negative errno on failure.  Wrap a
    call in check() to get the value or a GuestmmError.  Other functions
    that return 0 or -errno in C (init_brk, setrlimit, file_sync, ...) also
    return the raw int.
  * Space.read/Space.write raise GuestFault (an OSError, errno EFAULT).
  * Space.translate returns a host address (int) or None after the fault
    callback ran; the fault is also kept in Space.last_fault.  A thread
    that runs guest code translates through its own Cpu (space.cpu()).

Host callbacks are plain Python callables given to System():
  get_file(fd) -> a File object, a negative errno, or None (-EBADF)
  fault(space, fault)              fault is a Fault(addr, access, signo, code)
  invalidate(space, start, length)
A File object has read(offset, length) -> bytes, size() -> int, optionally
write(offset, data) -> int and release(), and the attributes dev, ino and
optionally path (str), readable (default True) and writable (default
False).  BytesFile (in memory) and HostFile (a host file) implement it.
A callback reports an error to the library by raising OSError with an
errno (the library sees -errno).  Any other exception is caught, so it
never unwinds through C, and raised again from the call that made the
library run the callback.  The library may call callbacks with the space
locked: calling back into that space from a callback raises RuntimeError
(in C it would deadlock).

Windows (host memory that mirrors a space; see "Host windows" in guestmm.h)
  System(mappable=True) (or System.create_mappable()) makes a system whose
  spaces can have windows; space.window(lo, hi) gives a Window: guest
  address a of the space is host address window.base + a, for Unicorn's
  mem_map_ptr or ctypes.  Pages are mapped on first touch: call
  install_window_handler() once, and the library's C handler resolves the
  host faults that are the library's own (demand zero, copy on write, file
  page-in, stack growth) and retries the access.
  Guest faults (an access the guest's mappings forbid) are the emulator's
  to catch before it touches the window: Unicorn does, when its regions
  carry the guest's permissions and holes are left unmapped.  The handler
  never calls a Python fault callback: in C, host->fault is expected to
  siglongjmp out of the signal handler, which Python cannot do, so a
  mappable System drops a fault that does not come from a call of this
  module, and the handler passes the signal on to the handler installed
  before it (by default the process dies of SIGSEGV, or SIGBUS when the
  host had no memory).  Space.translate and Window.fault still report
  faults as usual.  The other callbacks may run inside the handler, on the
  faulting thread, when a window fault needs them: a file's read() to page
  in, invalidate() for a copy on write.  They must not call into Unicorn
  or the library then.  Enable faulthandler, if at all, before
  install_window_handler() (pytest and -X faulthandler do): enabled
  after, it takes the first window fault for a crash and the process
  dies.

Finding the library (first match wins):
  1. the environment variable GUESTMM_LIBRARY: a path to libguestmm.so, or
     a directory holding it (no fallback when it is set and fails);
  2. the build tree of this source tree: ../../build/libguestmm.so
     relative to this file (the README's build directory);
  3. the system: libguestmm.so.0 through the dynamic loader's own search
     (LD_LIBRARY_PATH, ld.so.cache), then ctypes.util.find_library.
Or call load(path) before anything else.
"""

import collections
import ctypes
import ctypes.util
import itertools
import os
import sys as _sys
import threading
import traceback
import weakref
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_int64,
                    c_size_t, c_uint, c_uint64, c_void_p)

# ---------------------------------------------------------------------------
# Constants: the Linux x86 values of include/guestmm.h, without GMM_.
# test_guestmm.py checks every one against the header.
# ---------------------------------------------------------------------------

VERSION_MAJOR = 0
VERSION_MINOR = 1
VERSION_PATCH = 0
VERSION_HEX = (VERSION_MAJOR << 16) | (VERSION_MINOR << 8) | VERSION_PATCH

# errno (GMM_ERRNO_MAP)
EPERM = 1
ENOENT = 2
ESRCH = 3
EINTR = 4
EIO = 5
ENXIO = 6
E2BIG = 7
ENOEXEC = 8
EBADF = 9
ECHILD = 10
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EFAULT = 14
ENOTBLK = 15
EBUSY = 16
EEXIST = 17
EXDEV = 18
ENODEV = 19
ENOTDIR = 20
EISDIR = 21
EINVAL = 22
ENFILE = 23
EMFILE = 24
ENOTTY = 25
ETXTBSY = 26
EFBIG = 27
ENOSPC = 28
ESPIPE = 29
EROFS = 30
EMLINK = 31
EPIPE = 32
EDOM = 33
ERANGE = 34
EDEADLK = 35
ENAMETOOLONG = 36
ENOLCK = 37
ENOSYS = 38
ENOTEMPTY = 39
ELOOP = 40
ENODATA = 61
EOVERFLOW = 75
EOPNOTSUPP = 95
ETIMEDOUT = 110
EHWPOISON = 133
# Aliases (not in errorcode).
ENOTSUP = 95
EWOULDBLOCK = 11

#: errno value -> name, like the standard errno.errorcode.
errorcode = {value: name for name, value in globals().items()
             if name.startswith("E") and name not in ("ENOTSUP", "EWOULDBLOCK")}

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_SEM = 0x8
PROT_GROWSDOWN = 0x01000000
PROT_GROWSUP = 0x02000000

MAP_FILE = 0x0
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_SHARED_VALIDATE = 0x03
MAP_DROPPABLE = 0x08
MAP_TYPE = 0x0f
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_ANON = 0x20
MAP_32BIT = 0x40
MAP_GROWSDOWN = 0x0100
MAP_DENYWRITE = 0x0800
MAP_EXECUTABLE = 0x1000
MAP_LOCKED = 0x2000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_NONBLOCK = 0x10000
MAP_STACK = 0x20000
MAP_HUGETLB = 0x40000
MAP_SYNC = 0x80000
MAP_FIXED_NOREPLACE = 0x100000
MAP_UNINITIALIZED = 0x4000000
MAP_HUGE_SHIFT = 26
MAP_HUGE_MASK = 0x3f
MAP_HUGE_2MB = 21 << 26
MAP_HUGE_1GB = 30 << 26

MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MREMAP_DONTUNMAP = 4

MADV_NORMAL = 0
MADV_RANDOM = 1
MADV_SEQUENTIAL = 2
MADV_WILLNEED = 3
MADV_DONTNEED = 4
MADV_FREE = 8
MADV_REMOVE = 9
MADV_DONTFORK = 10
MADV_DOFORK = 11
MADV_MERGEABLE = 12
MADV_UNMERGEABLE = 13
MADV_HUGEPAGE = 14
MADV_NOHUGEPAGE = 15
MADV_DONTDUMP = 16
MADV_DODUMP = 17
MADV_WIPEONFORK = 18
MADV_KEEPONFORK = 19
MADV_COLD = 20
MADV_PAGEOUT = 21
MADV_POPULATE_READ = 22
MADV_POPULATE_WRITE = 23
MADV_DONTNEED_LOCKED = 24
MADV_COLLAPSE = 25
MADV_HWPOISON = 100
MADV_SOFT_OFFLINE = 101
MADV_GUARD_INSTALL = 102
MADV_GUARD_REMOVE = 103

MS_ASYNC = 1
MS_INVALIDATE = 2
MS_SYNC = 4

MCL_CURRENT = 1
MCL_FUTURE = 2
MCL_ONFAULT = 4

MLOCK_ONFAULT = 1

MPOL_DEFAULT = 0
MPOL_PREFERRED = 1
MPOL_BIND = 2
MPOL_INTERLEAVE = 3
MPOL_LOCAL = 4
MPOL_PREFERRED_MANY = 5
MPOL_WEIGHTED_INTERLEAVE = 6
MPOL_MAX = 7
MPOL_F_NUMA_BALANCING = 1 << 13
MPOL_F_RELATIVE_NODES = 1 << 14
MPOL_F_STATIC_NODES = 1 << 15
MPOL_F_NODE = 1 << 0
MPOL_F_ADDR = 1 << 1
MPOL_F_MEMS_ALLOWED = 1 << 2
MPOL_MF_STRICT = 1 << 0
MPOL_MF_MOVE = 1 << 1
MPOL_MF_MOVE_ALL = 1 << 2
MPOL_MF_LAZY = 1 << 3

SIGBUS = 7
SIGSEGV = 11
SEGV_MAPERR = 1
SEGV_ACCERR = 2
SEGV_PKUERR = 4
BUS_ADRALN = 1
BUS_ADRERR = 2
BUS_OBJERR = 3
# Not a Linux si_code: a CPU access that needed a frame and got none.
BUS_OOM = 0x100

ABI_I386 = 1
ABI_X86_64 = 2

ACCESS_READ = 1
ACCESS_WRITE = 2
ACCESS_EXEC = 4

REGION_ANON = 0
REGION_SHARED_ANON = 1
REGION_FILE = 2

FUTEX_KEY_PRIVATE = 1
FUTEX_KEY_MM = 2
FUTEX_KEY_OBJECT = 3

RLIMIT_DATA = 2
RLIMIT_STACK = 3
RLIMIT_MEMLOCK = 8
RLIMIT_AS = 9
RLIM_INFINITY = (1 << 64) - 1

PAGE_SIZE = 4096
PAGE_SHIFT = 12

# ---------------------------------------------------------------------------
# C types of the header.
# ---------------------------------------------------------------------------


class _Fault(Structure):
    _fields_ = [("addr", c_uint64), ("access", c_int), ("signo", c_int),
                ("code", c_int)]


_ReadFn = CFUNCTYPE(c_int64, c_void_p, c_uint64, c_void_p, c_size_t)
_WriteFn = CFUNCTYPE(c_int64, c_void_p, c_uint64, c_void_p, c_size_t)
_SizeFn = CFUNCTYPE(c_int64, c_void_p)
_ReleaseFn = CFUNCTYPE(None, c_void_p)


class _FileOps(Structure):
    _fields_ = [("read", _ReadFn), ("write", _WriteFn), ("size", _SizeFn),
                ("release", _ReleaseFn)]


class _File(Structure):
    _fields_ = [("ops", POINTER(_FileOps)), ("handle", c_void_p),
                ("dev", c_uint64), ("ino", c_uint64), ("readable", c_int),
                ("writable", c_int), ("path", c_char_p)]


_GetFileFn = CFUNCTYPE(c_int, c_void_p, c_int, POINTER(_File))
_FaultFn = CFUNCTYPE(None, c_void_p, c_void_p, POINTER(_Fault))
_InvalidateFn = CFUNCTYPE(None, c_void_p, c_void_p, c_uint64, c_uint64)
_CodeWrittenFn = CFUNCTYPE(None, c_void_p, c_void_p, c_uint64, c_uint64)


_AllocFn = CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t, c_size_t)


class _Host(Structure):
    # All of gmm_host: the library copies sizeof(gmm_host) bytes, so a
    # field left out here would be read from whatever follows the struct.
    # code_written is not offered in Python yet and stays NULL.
    _fields_ = [("user", c_void_p), ("get_file", _GetFileFn),
                ("fault", _FaultFn), ("invalidate", _InvalidateFn),
                ("code_written", _CodeWrittenFn)]


class _RegionInfo(Structure):
    _fields_ = [("start", c_uint64), ("end", c_uint64), ("prot", c_int),
                ("access", c_int), ("kind", c_int), ("shared", c_int),
                ("growsdown", c_int), ("offset", c_uint64), ("dev", c_uint64),
                ("ino", c_uint64)]


class _FutexKey(Structure):
    _fields_ = [("kind", c_uint64), ("dev", c_uint64), ("ino", c_uint64),
                ("offset", c_uint64)]


class _WindowStats(Structure):
    _fields_ = [("faults", c_uint64), ("flushes", c_uint64),
                ("pages_mapped", c_uint64), ("host_mappings", c_uint64),
                ("budget", c_uint64)]


_p = c_void_p      # gmm_system *, gmm_space *, buffers
_u64 = c_uint64    # uint64_t, gmm_addr
_uptr = c_size_t   # uintptr_t (the width of a pointer on every Linux ABI)

#: Every function of the header: name -> (restype, argtypes).  A function
#: the loaded library lacks (an older build) raises NotImplementedError
#: when called; test_guestmm.py checks this table against the header.
PROTOTYPES = {
    "gmm_version": (c_char_p, ()),
    "gmm_strerror": (c_char_p, (c_int,)),
    "gmm_errname": (c_char_p, (c_int,)),
    "gmm_system_create": (_p, (POINTER(_Host),)),
    "gmm_system_destroy": (None, (_p,)),
    "gmm_system_create_with_allocator": (_p, (POINTER(_Host), _AllocFn, _p)),
    "gmm_system_set_frame_limit": (c_int, (_p, _u64)),
    "gmm_system_frames_used": (c_uint64, (_p,)),
    "gmm_system_check": (c_char_p, (_p,)),
    "gmm_space_create": (_p, (_p, c_int)),
    "gmm_space_fork": (_p, (_p,)),
    "gmm_space_destroy": (None, (_p,)),
    "gmm_space_set_user": (None, (_p, _p)),
    "gmm_space_user": (_p, (_p,)),
    "gmm_space_abi": (c_int, (_p,)),
    "gmm_space_set_execute_only": (c_int, (_p, c_int)),
    "gmm_space_setrlimit": (c_int, (_p, c_int, _u64, _u64)),
    "gmm_space_getrlimit": (c_int, (_p, c_int, POINTER(c_uint64), POINTER(c_uint64))),
    "gmm_space_init_brk": (c_int, (_p, _u64)),
    "gmm_space_maps": (c_size_t, (_p, _p, c_size_t)),
    "gmm_space_status": (c_size_t, (_p, _p, c_size_t)),
    "gmm_space_smaps": (c_size_t, (_p, _p, c_size_t)),
    "gmm_space_exec_reset": (c_int, (_p,)),
    "gmm_space_setup_stack": (c_int64, (_p, _u64)),
    "gmm_space_set_code": (c_int, (_p, _u64, _u64)),
    "gmm_space_check": (c_char_p, (_p,)),
    "gmm_file_written": (None, (_p, _u64, _u64, _u64, _p, c_size_t)),
    "gmm_file_resized": (None, (_p, _u64, _u64, _u64)),
    "gmm_file_sync": (c_int, (_p, _u64, _u64)),
    "gmm_sys_brk": (c_int64, (_p, _u64)),
    "gmm_sys_mmap": (c_int64, (_p, _u64, _u64, c_int, c_int, c_int, _u64)),
    "gmm_sys_mmap2": (c_int64, (_p, _u64, _u64, c_int, c_int, c_int, _u64)),
    "gmm_sys_old_mmap": (c_int64, (_p, _u64)),
    "gmm_sys_munmap": (c_int64, (_p, _u64, _u64)),
    "gmm_sys_mprotect": (c_int64, (_p, _u64, _u64, c_int)),
    "gmm_sys_mremap": (c_int64, (_p, _u64, _u64, _u64, c_int, _u64)),
    "gmm_sys_madvise": (c_int64, (_p, _u64, _u64, c_int)),
    "gmm_sys_msync": (c_int64, (_p, _u64, _u64, c_int)),
    "gmm_sys_mlock": (c_int64, (_p, _u64, _u64)),
    "gmm_sys_mlock2": (c_int64, (_p, _u64, _u64, c_int)),
    "gmm_sys_munlock": (c_int64, (_p, _u64, _u64)),
    "gmm_sys_mlockall": (c_int64, (_p, c_int)),
    "gmm_sys_munlockall": (c_int64, (_p,)),
    "gmm_sys_mincore": (c_int64, (_p, _u64, _u64, _u64)),
    "gmm_sys_mbind": (c_int64, (_p, _u64, _u64, c_int, _u64, _u64, c_uint)),
    "gmm_sys_get_mempolicy": (c_int64, (_p, _u64, _u64, _u64, _u64, c_uint)),
    "gmm_sys_set_mempolicy": (c_int64, (_p, c_int, _u64, _u64)),
    "gmm_sys_prctl_set_vma_anon_name": (c_int64, (_p, _u64, _u64, _u64)),
    "gmm_read": (c_int, (_p, _u64, _p, c_size_t)),
    "gmm_write": (c_int, (_p, _u64, _p, c_size_t)),
    "gmm_translate": (_p, (_p, _u64, c_int)),
    "gmm_translate_perms": (_p, (_p, _u64, c_int, POINTER(c_int))),
    "gmm_cpu_create": (_p, (_p,)),
    "gmm_cpu_destroy": (None, (_p,)),
    "gmm_cpu_space": (_p, (_p,)),
    "gmm_cpu_translate": (_p, (_p, _u64, c_int)),
    "gmm_cpu_quiesce": (None, (_p,)),
    "gmm_cpu_offline": (None, (_p,)),
    "gmm_cpu_online": (None, (_p,)),
    "gmm_system_create_mappable": (_p, (POINTER(_Host),)),
    "gmm_system_create_mappable_with_allocator": (_p, (POINTER(_Host), _AllocFn, _p)),
    "gmm_window_create": (_p, (_p, _u64, _u64)),
    "gmm_window_destroy": (None, (_p,)),
    "gmm_window_base": (_p, (_p,)),
    "gmm_window_space": (_p, (_p,)),
    "gmm_window_fault": (c_int, (_p, _uptr, c_int, POINTER(_Fault))),
    "gmm_window_find": (_p, (_uptr,)),
    "gmm_window_access_from_ucontext": (c_int, (_p,)),
    "gmm_window_install_handler": (c_int, ()),
    "gmm_window_set_budget": (None, (_p, _u64)),
    "gmm_window_set_fault_around": (None, (_p, c_uint)),
    "gmm_window_get_stats": (None, (_p, POINTER(_WindowStats))),
    "gmm_space_region_next": (c_int, (_p, _u64, POINTER(_RegionInfo))),
    "gmm_space_futex_key": (c_int, (_p, _u64, c_int, c_int, POINTER(_FutexKey))),
    "gmm_window_check": (c_char_p, (_p,)),
    "gmm_window_host_mappings": (c_uint64, (_p,)),
    "gmm_snapshot_take": (_p, (_p,)),
    "gmm_snapshot_restore": (c_int, (_p, _p)),
    "gmm_snapshot_discard": (None, (_p,)),
}

# ---------------------------------------------------------------------------
# Loading the library.
# ---------------------------------------------------------------------------

LIBRARY_ENV = "GUESTMM_LIBRARY"
_SONAME = "libguestmm.so.0"


class _Missing:
    """Stands for a function the loaded library does not export."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args):
        raise NotImplementedError(
            "%s is not in the loaded libguestmm (%s)" % (self.name, library_path()))


class _Lib:
    pass


_lib = None
_lib_path = None
_load_lock = threading.Lock()


def _candidates():
    """Yields (path, is_explicit) in search order; see the module docstring."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        if os.path.isdir(env):
            env = os.path.join(env, "libguestmm.so")
        yield env, True
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.normpath(os.path.join(here, os.pardir, os.pardir, "build",
                                        "libguestmm.so")), False
    yield _SONAME, False
    found = ctypes.util.find_library("guestmm")    # runs ldconfig: last
    if found:
        yield found, False


def load(path=None):
    """Loads libguestmm (from path, else by the search order) once; returns
    the path it came from.  Later calls return the loaded one's path."""
    global _lib, _lib_path
    with _load_lock:
        if _lib is not None:
            return _lib_path
        tried = []
        cands = [(path, True)] if path else _candidates()
        for cand, explicit in cands:
            if not explicit and os.sep in cand and not os.path.exists(cand):
                tried.append("%s: not found" % cand)
                continue
            try:
                dll = ctypes.CDLL(cand)
            except OSError as e:
                tried.append("%s: %s" % (cand, e))
                if explicit:
                    break
                continue
            _lib = _bind(dll)
            _lib_path = cand
            return cand
        raise OSError("libguestmm not found (set %s to its path); tried:\n  %s"
                      % (LIBRARY_ENV, "\n  ".join(tried)))


def library_path():
    """The path or name libguestmm was loaded from (None before loading)."""
    return _lib_path


def _bind(dll):
    lib = _Lib()
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(dll, name)
        except AttributeError:
            setattr(lib, name, _Missing(name))
            continue
        fn.restype = restype
        fn.argtypes = argtypes
        setattr(lib, name, fn)
    return lib


def _L():
    if _lib is None:
        load()
    return _lib


def has(name):
    """True when the loaded library exports the function name ("gmm_...")."""
    return not isinstance(getattr(_L(), name, _Missing(name)), _Missing)

# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------


def version():
    """The linked library's "MAJOR.MINOR.PATCH"."""
    return _L().gmm_version().decode()


def strerror(err):
    """The message of a GMM_E* value, positive or negative."""
    return _L().gmm_strerror(err).decode()


def errname(err):
    """The name of a GMM_E* value ("EINVAL"), positive or negative."""
    return _L().gmm_errname(err).decode()


class GuestmmError(OSError):
    """A negative errno from libguestmm; .errno is the Linux value."""

    def __init__(self, err, message=None):
        err = abs(err)
        if message is None:
            message = "%s (%s)" % (strerror(err), errname(err))
        super().__init__(err, message)


class GuestFault(GuestmmError):
    """-EFAULT from a user copy: .addr and .length name the access."""

    def __init__(self, addr, length, message=None):
        self.addr = addr
        self.length = length
        super().__init__(EFAULT, message or
                         "Bad address: %d bytes at %#x" % (length, addr))


def check(ret):
    """ret when it is >= 0, else raises GuestmmError(-ret)."""
    if ret < 0:
        raise GuestmmError(-ret)
    return ret

# ---------------------------------------------------------------------------
# Calls into the library: exceptions from callbacks, re-entrancy.
# ---------------------------------------------------------------------------

_tls = threading.local()
_WHOLE_SYSTEM = object()


class _Frame:
    __slots__ = ("target", "error")

    def __init__(self, target):
        self.target = target
        self.error = None


def _frames():
    frames = getattr(_tls, "frames", None)
    if frames is None:
        frames = _tls.frames = []
    return frames


def _invoke(target, fn, *args):
    """Calls fn(*args) for target (a space handle, or _WHOLE_SYSTEM), then
    raises what a Python callback raised meanwhile."""
    frames = _frames()
    for f in frames:
        if f.target is target or f.target is _WHOLE_SYSTEM or target is _WHOLE_SYSTEM:
            raise RuntimeError("call into libguestmm from a host callback while "
                               "the same space (or the system) is busy: it would deadlock")
    frame = _Frame(target)
    frames.append(frame)
    try:
        ret = fn(*args)
    finally:
        frames.pop()
    if frame.error is not None:
        err, frame.error = frame.error, None
        raise err
    return ret


def _callback_failed(default):
    """In an except block of a trampoline: keeps the exception for the
    call that ran the callback and returns what C gets (default), or
    -errno for an OSError that carries one."""
    exc = _sys.exc_info()[1]
    if isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.errno > 0:
        return -exc.errno
    frames = _frames()
    if frames:
        if frames[-1].error is None:
            frames[-1].error = exc
    else:
        # Called outside any wrapped call (a thread of C code): report it.
        traceback.print_exc()
    return default

# ---------------------------------------------------------------------------
# Files.
# ---------------------------------------------------------------------------

Fault = collections.namedtuple("Fault", "addr access signo code")
Fault.__doc__ = "A fault reported by gmm_translate or gmm_window_fault (gmm_fault)."

_inos = itertools.count(1)


class BytesFile:
    """An in-memory file for get_file: .data is its bytearray.  Shared
    writable mappings write back into .data; .releases counts release()."""

    def __init__(self, data=b"", *, path="", dev=0x801, ino=None,
                 readable=True, writable=True):
        self.data = bytearray(data)
        self.path = path
        self.dev = dev
        self.ino = ino if ino is not None else 0x10000 + next(_inos)
        self.readable = readable
        self.writable = writable
        self.releases = 0

    def read(self, offset, length):
        return bytes(self.data[offset:offset + length])

    def write(self, offset, data):
        end = offset + len(data)
        if end > len(self.data):
            self.data.extend(bytes(end - len(self.data)))
        self.data[offset:end] = data
        return len(data)

    def size(self):
        return len(self.data)

    def release(self):
        self.releases += 1


class HostFile:
    """A host file for get_file (os.pread/os.pwrite); dev and ino are the
    host's.  Close it (or use it as a context manager) when the library
    has released it."""

    def __init__(self, path, writable=False):
        self.fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        st = os.fstat(self.fd)
        self.path = os.path.abspath(path)
        self.dev, self.ino = st.st_dev, st.st_ino
        self.readable = True
        self.writable = writable

    def read(self, offset, length):
        return os.pread(self.fd, length, offset)

    def write(self, offset, data):
        return os.pwrite(self.fd, data, offset)

    def size(self):
        return os.fstat(self.fd).st_size

    def release(self):
        pass

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MallocAllocator:
    """An allocator for System(allocator=...): the C library's malloc and
    free, with counts (.blocks and .bytes live, .allocations made,
    .failures refused) and fault injection: while .fail_after is an int,
    that many more allocations succeed, then every one is refused."""

    def __init__(self, fail_after=None):
        libc = ctypes.CDLL(None)
        self._malloc = libc.malloc
        self._malloc.restype = c_void_p
        self._malloc.argtypes = (c_size_t,)
        self._free = libc.free
        self._free.restype = None
        self._free.argtypes = (c_void_p,)
        self.fail_after = fail_after
        self.blocks = self.bytes = self.allocations = self.failures = 0

    def __call__(self, ptr, old_size, new_size):
        if ptr:                       # the library never resizes: a free
            self._free(ptr)
            self.blocks -= 1
            self.bytes -= old_size
            return None
        if self.fail_after is not None:
            if self.fail_after <= 0:
                self.failures += 1
                return None
            self.fail_after -= 1
        p = self._malloc(new_size)
        if p:
            self.allocations += 1
            self.blocks += 1
            self.bytes += new_size
        return p

# ---------------------------------------------------------------------------
# Systems.
# ---------------------------------------------------------------------------


class _HostState:
    """What the C callbacks reach: the user's callables, open file
    handles, the live spaces.  Holds no reference to its System, so a
    System is freed as soon as it is unused."""

    def __init__(self, get_file, fault, invalidate, allocator, mappable=False):
        self.get_file = get_file
        self.fault = fault
        self.invalidate = invalidate
        self.allocator = allocator
        self.mappable = mappable
        self.files = {}                         # handle id -> (file, path bytes)
        self.ids = itertools.count(1)
        self.spaces = weakref.WeakValueDictionary()   # C handle -> Space
        # The C spaces not destroyed yet, and the C system when close()
        # found some: when a System and its Spaces are collected in one
        # garbage collection, their weak entries above are cleared before
        # any finalizer runs, in no set order; the last space destroys the
        # system then (gmm_system_destroy must come after every space).
        self.live_spaces = set()
        self.orphan = None
        # The ctypes function objects C calls: they live as long as this
        # state, which lives as long as its System.
        self.fns = (_ReadFn(self._read), _WriteFn(self._write),
                    _SizeFn(self._size), _ReleaseFn(self._release),
                    _GetFileFn(self._get_file), _FaultFn(self._fault),
                    _InvalidateFn(self._invalidate) if invalidate else _InvalidateFn())
        read, write, size, release, get_file, fault, inval = self.fns
        self.alloc_fn = _AllocFn(self._alloc) if allocator else None
        self.ops_rw = _FileOps(read, write, size, release)
        self.ops_ro = _FileOps(read=read, size=size, release=release)  # write NULL
        self.host = _Host(None, get_file, fault, inval)

    def space(self, handle):
        sp = self.spaces.get(handle)
        return sp if sp is not None else handle

    def _get_file(self, user, fd, out):
        try:
            f = self.get_file(fd) if self.get_file else None
            if f is None:
                return -EBADF
            if isinstance(f, int):
                return f if f < 0 else -EBADF
            path = os.fsencode(getattr(f, "path", "") or "")
            hid = next(self.ids)
            o = out.contents
            has_write = callable(getattr(f, "write", None))
            o.ops = ctypes.pointer(self.ops_rw if has_write else self.ops_ro)
            o.handle = hid
            o.dev = f.dev
            o.ino = f.ino
            o.readable = 1 if getattr(f, "readable", True) else 0
            o.writable = 1 if getattr(f, "writable", False) else 0
            o.path = path               # the library copies it during mmap
            self.files[hid] = (f, path)  # until release(hid)
            return 0
        except BaseException:
            return _callback_failed(-EIO)

    def _read(self, handle, offset, buf, length):
        try:
            data = self.files[handle][0].read(offset, length)
            n = min(len(data), length)
            ctypes.memmove(buf, bytes(data[:n]), n)
            return n
        except BaseException:
            return _callback_failed(-EIO)

    def _write(self, handle, offset, buf, length):
        try:
            n = self.files[handle][0].write(offset, ctypes.string_at(buf, length))
            return length if n is None else n
        except BaseException:
            return _callback_failed(-EIO)

    def _size(self, handle):
        try:
            return self.files[handle][0].size()
        except BaseException:
            return _callback_failed(-EIO)

    def _release(self, handle):
        try:
            f = self.files.pop(handle)[0]
            if callable(getattr(f, "release", None)):
                f.release()
        except BaseException:
            _callback_failed(None)

    def _fault(self, user, space, fault):
        # gmm_window_install_handler's handler calls host->fault from a
        # SIGSEGV handler, on a thread that is not in a call of this module
        # (it was running Unicorn, or ctypes.memmove), and expects it not
        # to return, which Python cannot do.  So a fault from outside this
        # module's calls on a mappable system is not passed on: the handler
        # hands the signal to the previous handler (the default kills the
        # process).  See "Windows" in the module docstring.
        if self.mappable and not getattr(_tls, "frames", None):
            return
        try:
            f = fault.contents
            info = Fault(f.addr, f.access, f.signo, f.code)
            sp = self.space(space)
            if isinstance(sp, Space):
                sp.last_fault = info
            if self.fault:
                self.fault(sp, info)
        except BaseException:
            _callback_failed(None)

    def _invalidate(self, user, space, start, length):
        try:
            self.invalidate(self.space(space), start, length)
        except BaseException:
            _callback_failed(None)

    def _alloc(self, ud, ptr, old_size, new_size):
        try:
            return self.allocator(ptr, old_size, new_size) or None
        except BaseException:
            return _callback_failed(None) if new_size else None


class _Closable:
    """A C object in ._handle: a context manager and a finalizer around
    close()."""

    _handle = None

    @property
    def handle(self):
        """The C pointer (gmm_system *, gmm_space *) as an int."""
        return self._live()

    def _live(self):
        if not self._handle:
            raise ValueError("the %s is closed" % type(self).__name__)
        return self._handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class System(_Closable):
    """A gmm_system: the "kernel" (frames, page cache, host callbacks).

    System(get_file=None, fault=None, invalidate=None, allocator=None,
    mappable=False): see the module docstring for the callbacks.
    allocator, when given, is the gmm_alloc_fn for the library's own
    structures, as a callable allocator(ptr, old_size, new_size) -> address
    or None (see MallocAllocator).  mappable=True makes a system whose
    spaces can have host windows (gmm_system_create_mappable, or
    gmm_system_create_mappable_with_allocator with an allocator; OSError
    where the host cannot).  Use it as a context
    manager, or call close(), which closes its remaining spaces first."""

    def __init__(self, get_file=None, fault=None, invalidate=None, allocator=None,
                 mappable=False):
        lib = _L()
        self._handle = None
        self.mappable = bool(mappable)
        self._state = st = _HostState(get_file, fault, invalidate, allocator,
                                      self.mappable)
        if mappable:
            if allocator:
                self._handle = _invoke(_WHOLE_SYSTEM,
                                       lib.gmm_system_create_mappable_with_allocator,
                                       ctypes.byref(st.host), st.alloc_fn, None)
            else:
                self._handle = _invoke(_WHOLE_SYSTEM, lib.gmm_system_create_mappable,
                                       ctypes.byref(st.host))
            if not self._handle:
                raise OSError("gmm_system_create_mappable failed: this host cannot "
                              "map frames (it needs Linux, memfd) or is out of memory")
            return
        if allocator:
            self._handle = _invoke(_WHOLE_SYSTEM, lib.gmm_system_create_with_allocator,
                                   ctypes.byref(st.host), st.alloc_fn, None)
        else:
            self._handle = _invoke(_WHOLE_SYSTEM, lib.gmm_system_create,
                                   ctypes.byref(st.host))
        if not self._handle:
            raise MemoryError("gmm_system_create failed")

    @classmethod
    def create_mappable(cls, get_file=None, fault=None, invalidate=None):
        """System(..., mappable=True): a system whose spaces can have
        windows."""
        return cls(get_file, fault, invalidate, mappable=True)

    def space(self, abi=ABI_X86_64):
        """A new empty Space of this system."""
        return Space(self, abi)

    def spaces(self):
        """The Spaces of this system that are still open."""
        return list(self._state.spaces.values())

    def file_written(self, dev, ino, offset, data):
        """The emulator wrote data at offset of the file (write/pwrite)."""
        data = bytes(data)
        _invoke(_WHOLE_SYSTEM, _L().gmm_file_written, self._live(), dev, ino,
                offset, data, len(data))

    def file_resized(self, dev, ino, new_size):
        """The file's size changed (ftruncate)."""
        _invoke(_WHOLE_SYSTEM, _L().gmm_file_resized, self._live(), dev, ino,
                new_size)

    def file_sync(self, dev, ino):
        """Writes back the file's dirty shared pages: 0 or -errno."""
        return _invoke(_WHOLE_SYSTEM, _L().gmm_file_sync, self._live(), dev, ino)

    def set_frame_limit(self, max_frames):
        """At most max_frames guest frames in the system (0: no limit): 0."""
        return _invoke(_WHOLE_SYSTEM, _L().gmm_system_set_frame_limit, self._live(),
                       max_frames)

    def frames_used(self):
        """The guest frames in use in the system."""
        return _invoke(_WHOLE_SYSTEM, _L().gmm_system_frames_used, self._live())

    def check(self):
        """None when the invariants of every space hold, else a description."""
        r = _invoke(_WHOLE_SYSTEM, _L().gmm_system_check, self._live())
        return None if r is None else r.decode()

    @property
    def open_files(self):
        """The File objects the library holds handles to now (one entry per
        handle)."""
        return [f for f, _ in self._state.files.values()]

    def close(self):
        """Closes the remaining spaces, then destroys the system (dirty
        shared file pages are written back, handles released)."""
        if not self._handle:
            return
        for sp in list(self._state.spaces.values()):
            sp.close()
        handle, self._handle = self._handle, None
        if self._state.live_spaces:
            self._state.orphan = handle      # see _HostState.live_spaces
            return
        _invoke(_WHOLE_SYSTEM, _L().gmm_system_destroy, handle)

# ---------------------------------------------------------------------------
# Spaces.
# ---------------------------------------------------------------------------


class Space(_Closable):
    """A gmm_space: one guest address space.  Space(system, abi) or
    system.space(abi); a context manager; close() destroys it.

    .last_fault is the Fault of the last failed translate (None before).
    .user is free for the embedder (any Python object)."""

    def __init__(self, system, abi=ABI_X86_64, _handle=None):
        if _handle is None:
            _handle = _invoke(_WHOLE_SYSTEM, _L().gmm_space_create,
                              system._live(), abi)
            if not _handle:
                if abi not in (ABI_I386, ABI_X86_64):
                    raise ValueError("unknown abi %r" % (abi,))
                raise MemoryError("gmm_space_create failed")
        self.system = system
        self._handle = _handle
        self.last_fault = None
        self.user = None
        self._cpus = weakref.WeakSet()
        self._cpu_handles = set()      # C CPUs not destroyed yet
        self._orphan = None            # this C space, once only CPUs hold it
        self._windows = weakref.WeakSet()
        system._state.spaces[_handle] = self
        system._state.live_spaces.add(_handle)

    def _call(self, name, *args):
        h = self._live()
        return _invoke(h, getattr(_L(), name), h, *args)

    def close(self):
        """Closes the space's CPUs, unmaps everything and frees the space."""
        if not self._handle:
            return
        for cpu in list(self._cpus):
            cpu.close()
        h, self._handle = self._handle, None
        self.system._state.spaces.pop(h, None)
        if self._cpu_handles:
            # CPUs collected in the same garbage collection as this space
            # (see _HostState.live_spaces): the last one destroys it.
            self._orphan = h
            return
        self._destroy(h)

    def _destroy(self, h):
        st = self.system._state
        try:
            _invoke(h, _L().gmm_space_destroy, h)
        finally:
            st.live_spaces.discard(h)
            if st.orphan is not None and not st.live_spaces:
                sysh, st.orphan = st.orphan, None
                _invoke(_WHOLE_SYSTEM, _L().gmm_system_destroy, sysh)

    def _cpu_destroyed(self, cpu_handle):
        self._cpu_handles.discard(cpu_handle)
        if self._orphan is not None and not self._cpu_handles:
            h, self._orphan = self._orphan, None
            self._destroy(h)

    # ---- the space ----

    def cpu(self):
        """A Cpu of this space for the calling thread (gmm_cpu_create)."""
        return Cpu(self)

    def window(self, lo, hi):
        """A Window mirroring guest [lo, hi) of this space into host memory
        (gmm_window_create).  Needs System(mappable=True): ValueError
        otherwise, or for a range the library refuses."""
        return Window(self, lo, hi)

    def windows(self):
        """The open Windows of this space."""
        return list(self._windows)

    def fork(self):
        """A copy-on-write child (fork(2)), a new Space."""
        h = self._call("gmm_space_fork")
        if not h:
            raise MemoryError("gmm_space_fork failed")
        return Space(self.system, _handle=h)

    @property
    def abi(self):
        """ABI_I386 or ABI_X86_64."""
        return self._call("gmm_space_abi")

    def set_user_pointer(self, pointer):
        """gmm_space_set_user: the C user pointer (an int or None)."""
        self._call("gmm_space_set_user", pointer)

    def user_pointer(self):
        """gmm_space_user: the C user pointer (an int, or None for NULL)."""
        return self._call("gmm_space_user")

    def set_execute_only(self, enabled):
        """PROT_EXEC-only memory becomes execute-only (x86 PKU): 0."""
        return self._call("gmm_space_set_execute_only", 1 if enabled else 0)

    def setrlimit(self, resource, soft, hard):
        """0 or -EINVAL."""
        return self._call("gmm_space_setrlimit", resource, soft, hard)

    def getrlimit(self, resource):
        """(soft, hard); raises GuestmmError for an unknown resource."""
        soft, hard = c_uint64(), c_uint64()
        check(self._call("gmm_space_getrlimit", resource, ctypes.byref(soft),
                         ctypes.byref(hard)))
        return soft.value, hard.value

    def init_brk(self, start):
        """start_brk = brk = start (after loading an ELF): 0 or -EINVAL."""
        return self._call("gmm_space_init_brk", start)

    def setup_stack(self, size=0):
        """The initial [stack] region: its top address, or -errno."""
        return self._call("gmm_space_setup_stack", size)

    def set_code(self, start_code, end_code):
        """The program's text range (VmExe): 0 or -EINVAL."""
        return self._call("gmm_space_set_code", start_code, end_code)

    def exec_reset(self):
        """execve(2) for the memory: every region goes.  Returns 0."""
        return self._call("gmm_space_exec_reset")

    def snapshot(self):
        """A frozen copy of the whole space (gmm_snapshot_take), a
        Snapshot."""
        h = self._call("gmm_snapshot_take")
        if not h:
            raise MemoryError("gmm_snapshot_take failed")
        return Snapshot(self, h)

    def restore(self, snapshot):
        """The space as it was at snapshot (gmm_snapshot_restore): 0, or
        -EINVAL (not a live snapshot of this space; newer snapshots are
        discarded by restoring an older one), -ENOMEM."""
        if not isinstance(snapshot, Snapshot):
            raise TypeError("restore takes a Snapshot")
        return self._call("gmm_snapshot_restore", snapshot._token)

    def check(self):
        """None when the space's invariants hold, else a description."""
        r = self._call("gmm_space_check")
        return None if r is None else r.decode()

    def _text(self, name):
        cap = 4096
        while True:
            buf = ctypes.create_string_buffer(cap)
            n = self._call(name, buf, cap)
            if n < cap:
                return buf.raw[:n].decode("utf-8", "surrogateescape")
            cap = n + 1

    def maps(self):
        """/proc/self/maps text (str)."""
        return self._text("gmm_space_maps")

    def region_next(self, addr):
        """The first region ending above addr as a RegionInfo, or None
        (gmm_space_region_next)."""
        info = _RegionInfo()
        if not self._call("gmm_space_region_next", addr, ctypes.byref(info)):
            return None
        return RegionInfo(*(getattr(info, f) for f, _ in _RegionInfo._fields_))

    def futex_key(self, uaddr, shared=True, write=False):
        """gmm_space_futex_key: the identity of the futex word at uaddr as a
        (kind, dev, ino, offset) tuple -- equal tuples are one futex -- or
        the negative errno (-EINVAL unaligned, -EFAULT, -ENOMEM)."""
        k = _FutexKey()
        r = self._call("gmm_space_futex_key", uaddr, 1 if shared else 0,
                       1 if write else 0, ctypes.byref(k))
        return r if r < 0 else (k.kind, k.dev, k.ino, k.offset)

    def regions(self, lo=0, hi=None):
        """The regions that overlap [lo, hi) (all from lo when hi is None),
        in address order: a list of RegionInfo."""
        out = []
        addr = lo
        while True:
            r = self.region_next(addr)
            if r is None or (hi is not None and r.start >= hi):
                return out
            out.append(r)
            addr = r.end

    def status(self):
        """The memory lines of /proc/self/status (str)."""
        return self._text("gmm_space_status")

    def smaps(self):
        """/proc/self/smaps text (str)."""
        return self._text("gmm_space_smaps")

    # ---- syscalls: the raw Linux result, negative errno on failure ----

    def brk(self, addr):
        """brk(2): the new break, or the old one on failure."""
        return self._call("gmm_sys_brk", addr)

    def mmap(self, addr, length, prot, flags, fd=-1, offset=0):
        """mmap(2), offset in bytes."""
        return self._call("gmm_sys_mmap", addr, length, prot, flags, fd, offset)

    def mmap2(self, addr, length, prot, flags, fd=-1, pgoff=0):
        """mmap2(2), offset in 4 KiB pages."""
        return self._call("gmm_sys_mmap2", addr, length, prot, flags, fd, pgoff)

    def old_mmap(self, args):
        """i386 syscall 90: args is the guest address of six 32-bit words."""
        return self._call("gmm_sys_old_mmap", args)

    def munmap(self, addr, length):
        return self._call("gmm_sys_munmap", addr, length)

    def mprotect(self, addr, length, prot):
        return self._call("gmm_sys_mprotect", addr, length, prot)

    def mremap(self, old_addr, old_len, new_len, flags=0, new_addr=0):
        return self._call("gmm_sys_mremap", old_addr, old_len, new_len, flags,
                          new_addr)

    def madvise(self, addr, length, advice):
        return self._call("gmm_sys_madvise", addr, length, advice)

    def msync(self, addr, length, flags):
        return self._call("gmm_sys_msync", addr, length, flags)

    def mlock(self, addr, length):
        return self._call("gmm_sys_mlock", addr, length)

    def mlock2(self, addr, length, flags=0):
        return self._call("gmm_sys_mlock2", addr, length, flags)

    def munlock(self, addr, length):
        return self._call("gmm_sys_munlock", addr, length)

    def mlockall(self, flags):
        return self._call("gmm_sys_mlockall", flags)

    def munlockall(self):
        return self._call("gmm_sys_munlockall")

    def mincore(self, addr, length, vec):
        """mincore(2): vec is a guest address."""
        return self._call("gmm_sys_mincore", addr, length, vec)

    def mbind(self, addr, length, mode, nodemask, maxnode, flags=0):
        """mbind(2): nodemask is a guest address."""
        return self._call("gmm_sys_mbind", addr, length, mode, nodemask,
                          maxnode, flags)

    def get_mempolicy(self, mode, nodemask, maxnode, addr, flags):
        """get_mempolicy(2): mode and nodemask are guest addresses (or 0)."""
        return self._call("gmm_sys_get_mempolicy", mode, nodemask, maxnode,
                          addr, flags)

    def set_mempolicy(self, mode, nodemask, maxnode):
        """set_mempolicy(2): nodemask is a guest address (or 0)."""
        return self._call("gmm_sys_set_mempolicy", mode, nodemask, maxnode)

    def prctl_set_vma_anon_name(self, addr, length, name):
        """prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME): name is a guest
        address of a C string, or 0."""
        return self._call("gmm_sys_prctl_set_vma_anon_name", addr, length, name)

    # ---- guest memory ----

    def read(self, addr, length):
        """copy_from_user: bytes, or raises GuestFault."""
        buf = ctypes.create_string_buffer(length)
        if self._call("gmm_read", addr, buf, length) < 0:
            raise GuestFault(addr, length)
        return buf.raw

    def write(self, addr, data):
        """copy_to_user (honours PROT_WRITE, breaks COW); raises GuestFault."""
        data = bytes(data)
        if self._call("gmm_write", addr, data, len(data)) < 0:
            raise GuestFault(addr, len(data))

    def translate(self, addr, access=ACCESS_READ):
        """CPU access: the host address (int) of the byte at addr, valid to
        the end of its 4 KiB page, or None after the fault callback ran
        (the fault is in .last_fault)."""
        return self._call("gmm_translate", addr, access)

    def translate_perms(self, addr, access=ACCESS_READ):
        """translate for an emulator that caches pages: (host address or
        None, the ACCESS_* set the page may be used for until invalidate
        covers it).  WRITE is granted only when a store needs no more work
        from the library (no copy-on-write, no clean shared page)."""
        allowed = c_int()
        host = self._call("gmm_translate_perms", addr, access, ctypes.byref(allowed))
        return host, allowed.value


class Snapshot(_Closable):
    """A gmm_snapshot of a Space: space.snapshot(); restore it with
    space.restore(snapshot) as often as needed; discard() (or close(), or
    the context manager) frees it.  Discarding twice, or after the space
    was closed (which discards its snapshots), does nothing."""

    def __init__(self, space, handle):
        self.space = space
        self._handle = handle
        self._token = handle  # kept after discard: the library refuses it

    def discard(self):
        """Frees the snapshot (gmm_snapshot_discard)."""
        if not self._handle:
            return
        h, self._handle = self._handle, None
        target = self.space._handle or _WHOLE_SYSTEM
        _invoke(target, _L().gmm_snapshot_discard, h)

    def close(self):
        self.discard()


class Cpu(_Closable):
    """A gmm_cpu: the CPU path of one emulator thread, with its own TLB.
    space.cpu(); a context manager; closed before its space.  Host
    pointers from translate stay valid memory until this Cpu's next
    quiesce()."""

    def __init__(self, space):
        h = space._call("gmm_cpu_create")
        if not h:
            raise MemoryError("gmm_cpu_create failed")
        self.space = space
        self._handle = h
        self._space_handle = space._handle
        space._cpus.add(self)
        space._cpu_handles.add(h)

    def _call(self, name, *args):
        h = self._live()
        return _invoke(self.space._live(), getattr(_L(), name), h, *args)

    def close(self):
        if not self._handle:
            return
        h, self._handle = self._handle, None
        try:
            _invoke(self._space_handle, _L().gmm_cpu_destroy, h)
        finally:
            self.space._cpus.discard(self)
            self.space._cpu_destroyed(h)

    def translate(self, addr, access=ACCESS_READ):
        """Space.translate through this CPU's TLB: a host address or None
        (after the fault callback; the fault is in space.last_fault)."""
        return self._call("gmm_cpu_translate", addr, access)

    def quiesce(self):
        """This thread holds no pointer from translate any more."""
        self._call("gmm_cpu_quiesce")

    def offline(self):
        """gmm_cpu_offline: this thread holds no pointer until online()."""
        self._call("gmm_cpu_offline")

    def online(self):
        """gmm_cpu_online: the thread runs guest code again."""
        self._call("gmm_cpu_online")

    def space_handle(self):
        """gmm_cpu_space: the gmm_space * as an int (== space.handle)."""
        return self._call("gmm_cpu_space")

# ---------------------------------------------------------------------------
# Windows: a space mirrored into host memory.
# ---------------------------------------------------------------------------

RegionInfo = collections.namedtuple(
    "RegionInfo", "start end prot access kind shared growsdown offset dev ino")
RegionInfo.__doc__ = """gmm_region_info: [start, end), prot (PROT_*), access (the ACCESS_*
an x86 CPU may do there), kind (REGION_*), shared, growsdown, offset (file
mappings), dev and ino (as maps shows them)."""

WindowStats = collections.namedtuple(
    "WindowStats", "faults flushes pages_mapped host_mappings budget")
WindowStats.__doc__ = """gmm_window_stats: gmm_window_fault calls, whole-window
unmaps, guest pages mapped now, host mappings in the reservation now, and
the budget of host mappings."""

_I386_SPAN = 1 << 32
_X86_64_TASK_SIZE = 0x7FFFFFFFF000

# Every open Window of this module by its C handle, for find_window.
_windows = weakref.WeakValueDictionary()


class Window(_Closable):
    """A gmm_window: guest [lo, hi) of a space at host address base + addr.

    space.window(lo, hi); a context manager; close() destroys it (unmaps
    the reservation).  The Window keeps its Space (and so its System)
    alive; the Space may be closed first, after which the window maps
    nothing and fault() reports SIGSEGV/SEGV_MAPERR.  Keep the Window open
    as long as anything (Unicorn regions, pointers) refers to its memory:
    after close() the host range may be reused for anything.  An i386
    window reserves the whole 4 GiB."""

    def __init__(self, space, lo, hi):
        system = space.system
        if not system.mappable:
            raise ValueError("windows need a mappable system: System(mappable=True)")
        span = _I386_SPAN if space.abi == ABI_I386 else _X86_64_TASK_SIZE
        if lo % PAGE_SIZE or hi % PAGE_SIZE or not 0 <= lo < hi <= span:
            raise ValueError("window [%#x, %#x): lo and hi must be page-aligned, "
                             "lo < hi <= %#x" % (lo, hi, span))
        h = space._call("gmm_window_create", lo, hi)
        if not h:
            raise MemoryError("gmm_window_create failed: the host could not reserve "
                              "%#x bytes (or its page size is not 4 KiB)"
                              % (_I386_SPAN if space.abi == ABI_I386 else hi - lo))
        self.space = space
        self.lo = lo
        self.hi = hi
        self._handle = h
        base = _L().gmm_window_base(h) or 0
        # Host address of guest 0 as C computes it, modulo 2**64; an
        # x86-64 window's may lie below 0 (resv - lo): kept signed, so that
        # base + addr is the exact host address in Python's ints.
        self._base = base - (1 << 64) if base >= 1 << 63 else base
        space._windows.add(self)
        _windows[h] = self

    def _target(self):
        # The space's lock is what window calls take, while it is open.
        return self.space._handle or self

    def _call(self, name, *args):
        h = self._live()
        return _invoke(self._target(), getattr(_L(), name), h, *args)

    def close(self):
        """gmm_window_destroy: unmaps the reservation.  No thread may be
        accessing the window (nor Unicorn running over it)."""
        if not self._handle:
            return
        h, self._handle = self._handle, None
        _windows.pop(h, None)
        self.space._windows.discard(self)
        _invoke(self._target(), _L().gmm_window_destroy, h)

    @property
    def base(self):
        """Host address (int) of guest address 0: guest addr is at
        base + addr.  Only base + addr for addr in [lo, hi) is the
        window's (for an i386 window, any 32-bit addr).  base itself may
        be negative (an x86-64 window far above its host reservation)."""
        self._live()
        return self._base

    def address(self, addr):
        """The host address of guest address addr (base + addr)."""
        return self.base + addr

    @property
    def attached(self):
        """False once the space was closed (the window maps nothing)."""
        return self.space_handle() is not None

    def space_handle(self):
        """gmm_window_space: the gmm_space * as an int, None once the space
        was destroyed."""
        return self._call("gmm_window_space")

    def fault(self, host_addr, access=ACCESS_READ):
        """gmm_window_fault for a host fault at host_addr: None when the
        library resolved it and mapped the page (retry the access), else
        the Fault the guest gets.  Raises GuestmmError (EFAULT) when
        host_addr is not in the window."""
        out = _Fault()
        r = self._call("gmm_window_fault", host_addr, access, ctypes.byref(out))
        if r < 0:
            raise GuestmmError(r, "host address %#x is not in the window" % host_addr)
        if r == 0:
            return None
        return Fault(out.addr, out.access, out.signo, out.code)

    def stats(self):
        """A WindowStats."""
        st = _WindowStats()
        self._call("gmm_window_get_stats", ctypes.byref(st))
        return WindowStats(st.faults, st.flushes, st.pages_mapped, st.host_mappings,
                           st.budget)

    def check(self):
        """The mirror checker: None when every mapped page of the window is
        the frame the page table holds with no wider rights, else a
        description.  Reads /proc/self/maps; call it when no other thread
        uses the system."""
        r = self._call("gmm_window_check")
        return None if r is None else r.decode()

    def host_mappings(self):
        """Host mappings inside the reservation, from /proc/self/maps."""
        return self._call("gmm_window_host_mappings")

    def set_budget(self, max_host_mappings):
        """Host mappings the window may use (at least 16)."""
        self._call("gmm_window_set_budget", max_host_mappings)

    def set_fault_around(self, pages):
        """Pages mapped per fault (a power of two up to 512); 1: only the
        faulting page."""
        self._call("gmm_window_set_fault_around", pages)


def install_window_handler():
    """gmm_window_install_handler: a process-wide SIGSEGV and SIGBUS
    handler (in C) for every window; 0, or -EINVAL when sigaction failed.
    It resolves the library's own faults (demand zero, copy on write, file
    page-in, stack growth) and retries the access; any other fault goes to
    the handler installed before it (the default kills the process).  The
    fault callback of a Python System is not called from it: see "Windows"
    in the module docstring."""
    return _L().gmm_window_install_handler()


def find_window(host_addr):
    """gmm_window_find: the Window of this module whose reservation holds
    host_addr, or None (also for a window C code made without it)."""
    h = _L().gmm_window_find(host_addr)
    return _windows.get(h) if h else None


def window_access_from_ucontext(ucontext):
    """gmm_window_access_from_ucontext: ACCESS_READ, _WRITE or _EXEC from
    the ucontext_t at host address ucontext (a SIGSEGV handler's third
    argument), from the x86-64 page-fault error code.  For C handlers;
    here for completeness and tests."""
    return _L().gmm_window_access_from_ucontext(ucontext)
