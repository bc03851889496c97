#!/usr/bin/env python3
"""make_corpus.py - writes the seed corpus of fuzz_ops into test/fuzz/corpus.

Each seed is a short scripted sequence of calls in the harness's input
format (see the decoder in fuzz_ops.c: the opcode list, addr_arg, len_arg,
flags_arg ...), so that fuzzing starts from inputs that already reach deep
paths: file mappings, forks, copy on write, mremap, locking, the texts.
Run it again after changing the decoder; the files are small.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
PG = 4096

SPECIAL = [
    0, 1, 0xfff, 0x1000, 0x1001, 0x2000, 0xf000, 0xffff, 0x10000, 0x10001, 0x11000,
    0x200000, 0x400000, 0x8048000, 0x40000000, 0x7fffffff, 0x80000000, 0xbffff000,
    0xf7ffd000, 0xf7ffe000, 0xf7fff000, 0xfffdd000, 0xfffde000, 0xfffff000 - 0x1000,
    0xffffe000, 0xffffefff, 0xfffff000, 0xffffffff, 0x100000000, 0x100001000, 0xfffff000 << 4,
    0x555555554000, 0x7ffff7ff6000, 0x7ffff7ffe000, 0x7ffff7fff000, 0x7ffff8000000,
    0x7fffffffe000, 0x7ffffffff000, 0x7ffffffff001, 0x7fffffffffff, 0x800000000000,
    0x800000001000, 0xffff800000000000, 0x7ffffffffffff000, 0x7fffffffffffffff,
    0x8000000000000000, 0x8000000000001000, 0xfffffffffffff000, 0xffffffffffffe000,
    0xfffffffffffff001, 0xffffffffffffffff,
]

OPS = """MMAP MUNMAP MPROTECT BRK MREMAP MADVISE MSYNC MLOCK MLOCK2 MUNLOCK MLOCKALL
MUNLOCKALL MINCORE MBIND GET_MEMPOLICY SET_MEMPOLICY ANON_NAME READ_WRITE TRANSLATE
FORK DESTROY MAPS STATUS SMAPS RLIMIT INIT_BRK EXEC_ONLY EXEC_RESET SETUP_STACK SET_CODE
FILE_WRITTEN FILE_RESIZED FILE_SYNC FILE_FAIL FRAME_CAP ALLOC_FAIL USER ERRORS CREATE
CACHED CPU WINDOW WINDOW_TOUCH SNAPSHOT""".split()
OP = {name: i for i, name in enumerate(OPS)}

PROT_R, PROT_W, PROT_X = 1, 2, 4
T_PRIV_ANON, T_SHARED_ANON, T_PRIV, T_SHARED, T_VALIDATE, T_DROPPABLE = range(6)
F_FIXED, F_NOREPLACE, F_POPULATE, F_LOCKED, F_NORESERVE, F_GROWSDOWN, F_32BIT, F_STACK = (
    1 << i for i in range(8))
F_HUGETLB, F_SYNC = 1 << 8, 1 << 9


def u8(v):
    return bytes([v & 0xff])


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


def special(v, pages=0):
    return u8(1 if pages else 0) + u8(pages) + u8(SPECIAL.index(v))


def raw(v):
    return u8(5) + u8(0) + u64(v)


def recent(i=0, pages=0):
    """The i-th address the library returned (mmap, mremap, brk, stack)."""
    return u8(2) + u8(pages) + u8(i)


def edge(pick, pages=0):
    """A region boundary from the maps text."""
    return u8(4) + u8(pages) + u8(pick)


def low(page):
    return u8(8) + u8(0) + u8(page)


def npages(n):
    return u8(1) + u8(n - 1)


def lspecial(v):
    return u8(0) + u8(SPECIAL.index(v))


def lraw(v):
    return u8(4) + u64(v)


def flags(t, extra=0):
    return u8(t | 8) + u16(extra) if extra else u8(t)


def fd(n):
    return u8(n + 1)


def op(name, slot=0, i386=False):
    return u8(OP[name]) + u8(slot | (0x80 if i386 else 0))


def mmap(addr, length, prot, fl, f=-1, off_pages=0, slot=0, i386=False, kind=0, args_at=b''):
    b = op('MMAP', slot, i386) + u8(kind) + addr + length + u8(prot) + fl + fd(f)
    b += u8(0) + u8(off_pages)
    if kind == 1:
        b += u8(1)
    if kind == 2:  # old_mmap: the six words written at this guest address
        b += args_at + u8(1)
    return b


def write(addr, nbytes=512, slot=0, i386=False):
    return op('READ_WRITE', slot, i386) + addr + u8(nbytes // 512) + u8(1) + u8(7)


def read(addr, nbytes=512, slot=0, i386=False):
    return op('READ_WRITE', slot, i386) + addr + u8(nbytes // 512) + u8(0)


def translate(addr, access, slot=0, i386=False):
    return op('TRANSLATE', slot, i386) + addr + u8(access)


def text(name, cap=20, slot=0):
    return op(name, slot) + u8(cap)


HEAD = u16(3 * PG + 100) + u16(PG)  # file sizes
ANON = flags(T_PRIV_ANON)
SEEDS = {}


def seed(name, body, head=HEAD):
    SEEDS[name] = head + body


# Anonymous memory, x86-64 and i386.
for i386 in (False, True):
    tag = 'i386' if i386 else 'x64'
    seed(f'anon_map_touch_unmap_{tag}',
         mmap(special(0), npages(4), PROT_R | PROT_W, ANON, i386=i386) +
         write(recent(0), 1024, i386=i386) + translate(recent(0, 1), 2, i386=i386) +
         read(recent(0), 1536, i386=i386) + text('MAPS') +
         op('MUNMAP', 0, i386) + recent(0, 1) + npages(1) + text('MAPS'))
    seed(f'anon_mprotect_split_{tag}',
         mmap(special(0), npages(8), PROT_R | PROT_W, ANON, i386=i386) +
         op('MPROTECT', 0, i386) + recent(0, 2) + npages(3) + u8(PROT_R) +
         write(recent(0, 2), i386=i386) + translate(recent(0, 2), 2, i386=i386) +
         op('MPROTECT', 0, i386) + recent(0, 2) + npages(3) + u8(PROT_R | PROT_W) +
         text('SMAPS', 60))
    seed(f'fork_cow_{tag}',
         mmap(special(0), npages(4), PROT_R | PROT_W, ANON, i386=i386) +
         write(recent(0), 2048, i386=i386) +
         op('FORK', 0, i386) + u8(1) + write(recent(0), 512, slot=1) +
         translate(recent(0), 2, slot=0) + read(recent(0), 2048, slot=1) +
         op('DESTROY', 0) + read(recent(0), 1024, slot=1) + text('STATUS', 30, slot=1))
    seed(f'shared_anon_fork_{tag}',
         mmap(special(0), npages(2), PROT_R | PROT_W, flags(T_SHARED_ANON), i386=i386) +
         write(recent(0), i386=i386) + op('FORK', 0, i386) + u8(2) +
         write(recent(0), 1024, slot=2) + read(recent(0), 1024) + text('MAPS', 0, slot=2))
    seed(f'brk_grow_shrink_{tag}',
         op('INIT_BRK', 0, i386) + low(200) +
         op('BRK', 0, i386) + u8(2) + u16(5) + write(recent(0, -3), i386=i386) +
         op('BRK', 0, i386) + u8(2) + u16(-2) + text('MAPS'))
    seed(f'file_private_shared_{tag}',
         mmap(special(0), npages(3), PROT_R | PROT_W, flags(T_PRIV), 3, i386=i386) +
         mmap(special(0), npages(2), PROT_R | PROT_W, flags(T_SHARED), 3, i386=i386) +
         write(recent(0), i386=i386) + write(recent(1), i386=i386) +
         translate(recent(1, 1), 1, i386=i386) + read(recent(1, 2), i386=i386) +
         op('MSYNC', 0, i386) + recent(1) + npages(2) + u8(4) + text('MAPS'))
    seed(f'hostile_addresses_{tag}',
         mmap(special(0xffffffffffffffff), lspecial(0x1000), 7, flags(T_PRIV_ANON, F_FIXED),
              i386=i386) +
         mmap(special(0x100000000), lspecial(0x100000000), 3, ANON, i386=i386) +
         mmap(special(0x7ffffffff000), lspecial(0x1000), 3, flags(T_PRIV_ANON, F_FIXED),
              i386=i386) +
         mmap(special(0xfffff000), lspecial(0x1001), 3, flags(T_PRIV_ANON, F_FIXED), i386=i386) +
         mmap(special(0x10000, -1), npages(1), 3, flags(T_PRIV_ANON, F_FIXED), i386=i386) +
         op('MUNMAP', 0, i386) + special(0x8000000000000000) + lspecial(0xffffffffffffffff) +
         op('MPROTECT', 0, i386) + special(0xfffffffffffff000) + lspecial(0x2000) + u8(7) +
         read(special(0x7fffffffffff), 512, i386=i386) + translate(raw(0x800000000000), 1) +
         write(special(0xffffe000), 1024, i386=i386))

seed('file_fds_all',
     b''.join(mmap(special(0), npages(2), PROT_R | (PROT_W if f % 2 else 0),
                   flags(T_SHARED if f % 3 else T_PRIV), f) for f in range(-1, 11)) +
     text('MAPS', 63))
seed('file_eof_sigbus',
     mmap(special(0), npages(8), PROT_R, flags(T_PRIV), 5) +
     translate(recent(0, 1), 1) + translate(recent(0, 6), 1) + read(recent(0, 5), 512) +
     op('FILE_RESIZED') + u8(1) + u16(100) + translate(recent(0), 1) + text('SMAPS'))
seed('file_written_resized_sync',
     mmap(special(0), npages(4), PROT_R | PROT_W, flags(T_SHARED), 3) +
     mmap(special(0), npages(4), PROT_R, flags(T_PRIV), 4) + write(recent(0), 1024) +
     op('FILE_WRITTEN') + u8(0) + u16(10) + u16(300) + u8(9) +
     op('FILE_RESIZED') + u8(0) + u16(2000) + op('FILE_SYNC') + u8(0) +
     read(recent(1), 1536) + op('FILE_RESIZED') + u8(0) + u16(5000) + read(recent(0), 512))
seed('file_io_errors',
     op('FILE_FAIL') + u8(3) + mmap(special(0), npages(4), PROT_R | PROT_W, flags(T_SHARED), 5) +
     translate(recent(0), 1) + op('FILE_FAIL') + u8(1) + write(recent(0), 512) +
     op('FILE_FAIL') + u8(3) + op('MSYNC') + recent(0) + npages(4) + u8(4) +
     op('MUNMAP') + recent(0) + npages(4))
seed('file_fork_shared_cache',
     mmap(special(0), npages(3), PROT_R | PROT_W, flags(T_SHARED), 3) + write(recent(0)) +
     op('FORK') + u8(1) + mmap(special(0), npages(3), PROT_R, flags(T_PRIV), 4, slot=1) +
     read(recent(1), 512, slot=1) + op('DESTROY') + op('MUNMAP', 1) + recent(0) + npages(3))
seed('mremap_grow_move',
     mmap(special(0), npages(2), 3, ANON) + write(recent(0)) +
     op('MREMAP') + recent(0) + npages(2) + npages(6) + u8(1) + special(0) +
     mmap(special(0), npages(2), 3, ANON) +
     op('MREMAP') + recent(2) + npages(2) + npages(2) + u8(3) + special(0x40000000) +
     op('MREMAP') + recent(1) + npages(6) + npages(1) + u8(0) + special(0) + text('MAPS'))
seed('mremap_dontunmap_shared_dup',
     mmap(special(0), npages(2), 3, ANON) + write(recent(0)) +
     op('MREMAP') + recent(0) + npages(2) + npages(2) + u8(5) + special(0) +
     mmap(special(0), npages(2), 3, flags(T_SHARED_ANON)) +
     op('MREMAP') + recent(2) + lspecial(0) + npages(2) + u8(1) + special(0) +
     read(recent(3)) + text('SMAPS', 40))
for adv in (4, 8, 9, 10, 18, 22, 23, 102, 103):
    seed(f'madvise_{adv}',
         mmap(special(0), npages(6), 3, ANON) + write(recent(0), 1536) +
         op('FORK') + u8(1) +
         op('MADVISE') + recent(0, 1) + npages(3) + u8(adv if adv < 100 else 200 + adv - 100) +
         read(recent(0), 1536) + translate(recent(0, 2), 2) + op('FORK') + u8(2) +
         text('MAPS', 10))
seed('mlock_family',
     mmap(special(0), npages(4), 3, ANON) +
     op('MLOCK') + recent(0, 1) + npages(2) + op('MLOCK2') + recent(0) + npages(4) + u8(1) +
     op('MUNLOCK') + recent(0) + npages(1) + op('MLOCKALL') + u8(3) +
     mmap(special(0), npages(2), 3, ANON) + op('BRK') + u8(2) + u16(3) +
     op('MUNLOCKALL') + text('STATUS', 50))
seed('mincore_vector',
     mmap(special(0), npages(8), 3, ANON) + write(recent(0, 2)) +
     op('MINCORE') + recent(0) + npages(8) + recent(0, 4) +
     op('MINCORE') + recent(0) + npages(8) + special(0xfffffffffffff000))
seed('mempolicy',
     mmap(special(0), npages(4), 3, ANON) +
     op('MBIND') + recent(0, 1) + npages(2) + u8(1) + u8(2) + u8(1) + u16(64) + recent(0) + u8(1) +
     u8(0) + u8(0) +
     op('GET_MEMPOLICY') + recent(0, 3) + recent(0, 3) + u8(1) + u16(64) +
     recent(0, 1) + u8(0) + u8(2) +
     op('SET_MEMPOLICY') + u8(1) + u8(3) + u8(1) + u16(64) + recent(0) + u8(1) + text('SMAPS'))
seed('anon_names',
     mmap(special(0), npages(4), 3, ANON) +
     op('ANON_NAME') + recent(0, 1) + npages(2) + u8(4) + b'\x00h\x00e\x00a\x00p' +
     u8(1) + recent(0) + u8(1) + text('MAPS', 63) +
     op('ANON_NAME') + recent(0) + npages(4) + u8(0) + u8(0))
seed('stack_exec_reset',
     op('SETUP_STACK') + u8(0) + op('SET_CODE') + low(8) + npages(4) +
     translate(recent(0, -40), 2) + text('STATUS') + op('EXEC_RESET') +
     op('SETUP_STACK') + u8(1) + npages(64) + text('MAPS'))
seed('rlimits',
     op('RLIMIT') + u8(0) + u8(1) + npages(8) + u8(1) +
     mmap(special(0), npages(16), 3, ANON) + op('RLIMIT') + u8(3) + u8(1) + lspecial(0) + u8(1) +
     op('MLOCK') + recent(0) + npages(1) + op('RLIMIT') + u8(6) + u8(1) + npages(1) + u8(0) +
     npages(1))
seed('memory_cap',
     op('FRAME_CAP') + u8(0) + u16(3) +
     mmap(special(0), npages(8), 3, flags(T_PRIV_ANON, F_POPULATE)) +
     write(recent(0), 1536) + translate(recent(0, 5), 2) + op('FORK') + u8(1) +
     translate(recent(0), 2, slot=1) + op('FRAME_CAP') + u8(1) + text('STATUS'))
seed('alloc_failures',
     op('ALLOC_FAIL') + u8(0) + mmap(special(0), npages(4), 3, ANON) +
     op('ALLOC_FAIL') + u8(1) + write(recent(0), 512) +
     op('ALLOC_FAIL') + u8(2) + op('FORK') + u8(1) +
     op('ALLOC_FAIL') + u8(0) + mmap(special(0), npages(2), 3, flags(T_SHARED), 3) +
     op('ALLOC_FAIL') + u8(255) + op('MPROTECT') + recent(0, 1) + npages(1) + u8(1))
seed('execute_only',
     op('EXEC_ONLY') + u8(1) + mmap(special(0), npages(2), PROT_X, ANON) +
     translate(recent(0), 4) + translate(recent(0), 1) + read(recent(0)) +
     op('MPROTECT') + recent(0) + npages(1) + u8(PROT_X) + text('SMAPS', 63))
seed('growsdown_fault',
     mmap(low(100), npages(2), 3, flags(T_PRIV_ANON, F_GROWSDOWN | F_FIXED)) +
     translate(recent(0, -1), 2) + op('MPROTECT') + recent(0) + npages(1) +
     u8(224 | 8 | 3) + text('MAPS'))
seed('hugetlb_sync_droppable',
     mmap(special(0), u8(5) + u8(0), 3, flags(T_PRIV_ANON, F_HUGETLB)) +
     mmap(special(0), npages(2), 3, flags(T_SHARED, F_SYNC), 3) +
     mmap(special(0), npages(2), 3, flags(T_DROPPABLE)) + op('FORK') + u8(1) +
     mmap(special(0), npages(1), 3, flags(T_VALIDATE, F_32BIT), 3))
seed('map_32bit_old_mmap',
     mmap(special(0), npages(2), 3, flags(T_PRIV_ANON, F_32BIT)) +
     mmap(special(0), npages(2), 3, ANON) +
     mmap(special(0), npages(2), 3, ANON, kind=2, args_at=recent(0)) +
     mmap(special(0), npages(2), 3, ANON, kind=1) + text('MAPS'))
seed('spaces_and_misc',
     op('CREATE', 1) + op('USER', 2) + u8(1) + op('ERRORS') + u16(-12) +
     op('FORK', 2) + u8(3) + op('DESTROY', 3) + op('CREATE', 2, True) +
     text('MAPS', 0, slot=1), head=u16(0) + u16(0))
def cached(slot, off=0, val=1):
    return op('CACHED') + u8(slot) + u16(off) + u8(val)


seed('kept_translations',
     mmap(special(0), npages(4), 3, ANON) + write(recent(0), 512) +
     translate(recent(0), 2 | 8 | 0x10) + translate(recent(0, 1), 1 | 0x20) +
     mmap(special(0), npages(2), 3, flags(T_SHARED), 3) + translate(recent(1), 1 | 8 | 0x30) +
     cached(1) + cached(2, 100) + op('FORK') + u8(1) + cached(1) + write(recent(0, 1), 512) +
     cached(2) + op('MADVISE') + recent(0) + npages(4) + u8(4) + cached(1) +
     op('FILE_RESIZED') + u8(0) + u16(0) + cached(3) + op('MUNMAP') + recent(0) + npages(4) +
     cached(1) + cached(2))
def cpu(sub, i=0, slot=0):
    return op('CPU', slot) + u8((sub << 1) | i)


seed('cpu_objects',
     mmap(special(0), npages(4), 3, ANON) + cpu(0) + cpu(0, 1) +
     cpu(1) + recent(0) + u8(2 | 0x10) + cpu(1, 1) + recent(0, 1) + u8(1 | 0x20) +
     cached(1) + cached(2) + op('MUNMAP') + recent(0) + npages(1) + cached(1) +
     cpu(2) + cached(1) + op('FORK') + u8(1) + cpu(1, 1) + recent(0, 2) + u8(2 | 0x30) +
     cached(3) + cpu(3, 1) + op('DESTROY'))
def window(slot=0, i386=False, b=0):
    return op('WINDOW', slot, i386) + u8(b)


def wtouch(idx, page, write=False, off=0, slot=0):
    """A guest access through the window of slot at recent(idx) + page."""
    return op('WINDOW_TOUCH', slot) + u8(2 | (1 if write else 0)) + u8(idx) + u8(page) + u8(off)


MAPPABLE = u8(2)  # a last byte with bit 1: the input runs on a mappable system
for i386 in (False, True):
    tag = 'i386' if i386 else 'x64'
    seed(f'window_anon_fork_{tag}',
         window(0, i386) + mmap(special(0), npages(8), 3, ANON, i386=i386) +
         wtouch(0, 0) + wtouch(0, 1, True) + write(recent(0), 1024, i386=i386) + wtouch(0, 0) +
         op('FORK', 0, i386) + u8(1) + window(1) + wtouch(0, 1, True, slot=1) +
         wtouch(0, 1, True) + op('MPROTECT', 0, i386) + recent(0) + npages(2) + u8(PROT_R) +
         wtouch(0, 1, True) + wtouch(0, 1) + op('MUNMAP', 0, i386) + recent(0) + npages(4) +
         wtouch(0, 2) + wtouch(0, 5, True) + op('DESTROY', 1) + u8(0) + MAPPABLE)
seed('window_file_shared',
     window(0) + mmap(special(0), npages(3), 3, flags(T_SHARED), 3) + op('FORK') + u8(1) +
     window(1) + wtouch(0, 0, True) + wtouch(0, 0, slot=1) + op('MSYNC') + recent(0) +
     npages(3) + u8(4) + wtouch(0, 0, True, 9) + op('FILE_RESIZED') + u8(0) + u16(100) +
     wtouch(0, 1) + wtouch(0, 2, True) + op('DESTROY') + u8(1) + MAPPABLE)
seed('window_madvise_mremap_budget',
     window(0, b=0x80) + op('WINDOW') + u8(2) + u8(0) + u8(0) +
     mmap(special(0), npages(16), 3, ANON) +
     b''.join(wtouch(0, p, p % 2 == 0) for p in (3, 9, 1, 14, 6, 11, 0, 7)) +
     op('MADVISE') + recent(0, 2) + npages(4) + u8(4) + wtouch(0, 3) +
     op('MREMAP') + recent(0) + npages(16) + npages(32) + u8(1) + special(0) +
     wtouch(1, 9) + wtouch(1, 20, True) + op('BRK') + u8(2) + u16(3) + MAPPABLE)
seed('window_stack_growth',
     window(0, True) +
     mmap(low(100), npages(2), 3, flags(T_PRIV_ANON, F_GROWSDOWN | F_FIXED), i386=True) +
     op('WINDOW_TOUCH') + u8(3) + u8(0) + u8(255) + u8(0) + op('EXEC_RESET') +
     op('WINDOW_TOUCH') + u8(2) + u8(0) + u8(0) + u8(0) + MAPPABLE)

def snap(sub, idx=0, slot=0, i386=False):
    """sub: 0 take into handle idx, 1 restore with it, 2 discard it, 3 a stale one."""
    return op('SNAPSHOT', slot, i386) + u8(sub | idx << 2)


S_TAKE, S_RESTORE, S_DISCARD, S_STALE = range(4)
seed('snapshot_restore_changes',
     mmap(special(0), npages(8), 3, ANON) + write(recent(0), 2048) + op('BRK') + u8(2) + u16(2) +
     snap(S_TAKE) + write(recent(0, 1), 1024) + op('MUNMAP') + recent(0, 2) + npages(1) +
     op('MPROTECT') + recent(0, 4) + npages(2) + u8(PROT_R) +
     mmap(special(0), npages(3), 3, ANON) + write(recent(1)) + op('BRK') + u8(2) + u16(5) +
     snap(S_RESTORE) + read(recent(0), 2048) + text('MAPS') + write(recent(0, 5)) +
     snap(S_RESTORE) + snap(S_DISCARD) + snap(S_RESTORE) + snap(S_STALE) + snap(S_DISCARD))
seed('snapshot_nested_foreign',
     mmap(special(0), npages(4), 3, ANON, i386=True) + write(recent(0), i386=True) +
     snap(S_TAKE, 0) + op('MREMAP') + recent(0) + npages(4) + npages(8) + u8(1) + special(0) +
     snap(S_TAKE, 1) + op('FORK') + u8(1) + snap(S_TAKE, 2, slot=1) + write(recent(0), slot=1) +
     snap(S_RESTORE, 2) + snap(S_RESTORE, 0) + snap(S_RESTORE, 1) + snap(S_STALE) +
     snap(S_RESTORE, 2, slot=1) + op('DESTROY', 1) + u8(0) + snap(S_RESTORE, 2) +
     snap(S_DISCARD, 2) + snap(S_TAKE, 1) + snap(S_RESTORE, 1))
def wstore(idx, page, off=0, slot=0):
    """A store through the window (the harness reads the stored value last)."""
    return wtouch(idx, page, True, off, slot) + u8(5)


seed('snapshot_window_cpu',
     window(0) + mmap(special(0), npages(8), 3, ANON) + wstore(0, 1) + cpu(0) +
     snap(S_TAKE, 3) + wstore(0, 1) + wstore(0, 2) + cpu(1) + recent(0, 3) +
     u8(2 | 0x10) + cached(0) + op('MUNMAP') + recent(0) + npages(8) + snap(S_RESTORE, 3) +
     cached(0) + wtouch(0, 1) + wtouch(0, 2) + cpu(2) + snap(S_RESTORE, 3) +
     op('EXEC_RESET') + snap(S_RESTORE, 3) + wtouch(0, 3) + MAPPABLE)
seed('empty', b'')


def main():
    out = os.path.join(HERE, 'corpus')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print(f'{len(SEEDS)} seeds in {out}')


if __name__ == '__main__':
    main()
