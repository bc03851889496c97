#!/usr/bin/env python3
"""unicorn_demo.py: python3-unicorn running i386 code with libguestmm as
its memory manager, the way a Qiling-style tool would plug it in.

Nothing here gives Unicorn memory of its own: the guest's pages are
libguestmm frames, mapped into Unicorn one 4 KiB page at a time from its
unmapped-memory hook (uc.mem_map_ptr over the host pointer gmm_translate
returns), and unmapped again when libguestmm's invalidate callback says the
page changed (munmap, mprotect, copy on write).  The guest's memory
syscalls (int 0x80) go to libguestmm unchanged; write(2) copies out of
guest memory with gmm_read.  So demand-zero pages, copy on write, stack
memory and faults are the library's.

Two tiny guests, assembled by hand below, run one after the other:
  1. mmap2 two pages, read one (the shared zero page, mapped read-only),
     store a message into it (copy on write of the zero page), touch the
     second page, push/pop on the stack, write(1, msg), munmap, exit(0);
  2. mmap2 a page, munmap it, then load from it: SIGSEGV/SEGV_MAPERR,
     reported by the library's fault callback, exit status 139.

Run: GUESTMM_LIBRARY=build/libguestmm.so python3 bindings/python/unicorn_demo.py
It exits 0 when everything happened as expected, 1 otherwise, and 77 when
python3-unicorn is not installed (Debian: apt-get install python3-unicorn).
"""

import collections
import ctypes
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestmm as g  # noqa: E402

try:
    import unicorn as U
    from unicorn import x86_const as X
except ImportError:
    print("SKIP: python3-unicorn is not importable "
          "(Debian: apt-get install python3-unicorn)")
    sys.exit(77)

PAGE = g.PAGE_SIZE
CODE = 0x08048000            # where i386 ELF programs load
TASK_SIZE = 0xffffe000       # an i386 task on an x86-64 kernel
MESSAGE = b"hello, libguestmm page!\n"

# ---- the guests, i386 machine code assembled by hand ----

MMAP2_TWO_PAGES = (
    b"\xb8\xc0\x00\x00\x00"      # mov eax, 192          ; mmap2
    b"\x31\xdb"                  # xor ebx, ebx          ; addr = NULL
    b"\xb9\x00\x20\x00\x00"      # mov ecx, 0x2000       ; 2 pages
    b"\xba\x03\x00\x00\x00"      # mov edx, 3            ; PROT_READ|PROT_WRITE
    b"\xbe\x22\x00\x00\x00"      # mov esi, 0x22         ; MAP_PRIVATE|MAP_ANONYMOUS
    b"\xbf\xff\xff\xff\xff"      # mov edi, -1           ; fd
    b"\x31\xed"                  # xor ebp, ebp          ; pgoff 0
    b"\xcd\x80"                  # int 0x80
    b"\x89\xc6"                  # mov esi, eax          ; esi = the buffer
)
MUNMAP_TWO_PAGES = (
    b"\xb8\x5b\x00\x00\x00"      # mov eax, 91           ; munmap
    b"\x89\xf3"                  # mov ebx, esi
    b"\xb9\x00\x20\x00\x00"      # mov ecx, 0x2000
    b"\xcd\x80"                  # int 0x80
)


def _store_message():
    code = b""
    for i in range(0, len(MESSAGE), 4):  # mov dword [esi+i], imm32
        code += b"\xc7\x46" + bytes([i]) + MESSAGE[i:i + 4]
    return code


HELLO = (
    MMAP2_TWO_PAGES +
    b"\x8b\x0e" +                # mov ecx, [esi]        ; read: the zero page
    _store_message() +           # store: copy on write of the zero page
    b"\xc6\x86\x00\x10\x00\x00\x41"  # mov byte [esi+0x1000], 'A' ; 2nd page
    b"\x56"                      # push esi              ; the stack
    b"\x5f"                      # pop edi
    b"\xb8\x04\x00\x00\x00"      # mov eax, 4            ; write
    b"\xbb\x01\x00\x00\x00"      # mov ebx, 1            ; stdout
    b"\x89\xf9"                  # mov ecx, edi          ; the buffer
    b"\xba" + struct.pack("<I", len(MESSAGE)) +  # mov edx, len
    b"\xcd\x80" +                # int 0x80
    MUNMAP_TWO_PAGES +
    b"\x89\xc3"                  # mov ebx, eax          ; status = munmap's 0
    b"\xb8\x01\x00\x00\x00"      # mov eax, 1            ; exit
    b"\xcd\x80"                  # int 0x80
)

USE_AFTER_MUNMAP = (
    MMAP2_TWO_PAGES +
    MUNMAP_TWO_PAGES +
    b"\x8b\x06"                  # mov eax, [esi]        ; SIGSEGV
    b"\xb8\x01\x00\x00\x00"      # mov eax, 1            ; exit (not reached)
    b"\xcd\x80"                  # int 0x80
)

# ---- Unicorn <-> libguestmm ----

UC_PERMS = ((g.ACCESS_READ, U.UC_PROT_READ), (g.ACCESS_WRITE, U.UC_PROT_WRITE),
            (g.ACCESS_EXEC, U.UC_PROT_EXEC))
ACCESS_OF = {
    U.UC_MEM_READ_UNMAPPED: g.ACCESS_READ, U.UC_MEM_READ_PROT: g.ACCESS_READ,
    U.UC_MEM_WRITE_UNMAPPED: g.ACCESS_WRITE, U.UC_MEM_WRITE_PROT: g.ACCESS_WRITE,
    U.UC_MEM_FETCH_UNMAPPED: g.ACCESS_EXEC, U.UC_MEM_FETCH_PROT: g.ACCESS_EXEC,
}


def perm_string(allowed):
    return "".join(c if allowed & a else "-" for a, c in
                   ((g.ACCESS_READ, "r"), (g.ACCESS_WRITE, "w"), (g.ACCESS_EXEC, "x")))


def log(msg):
    print("  [demo] " + msg, flush=True)


class UnicornMemory:
    """Serves a Space's pages to a Unicorn engine, a page at a time.

    Unicorn 2.0.1's region operations cost O(regions) each and it aborts
    past 4,095 regions, so at most `limit` pages are mapped at once (the
    oldest goes first); a page that went comes back on its next access."""

    def __init__(self, uc, space, limit=64):
        self.uc = uc
        self.space = space
        self.limit = limit
        self.pages = collections.OrderedDict()   # guest page -> ACCESS_* granted
        self.faults = 0
        uc.hook_add(U.UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        uc.hook_add(U.UC_HOOK_MEM_PROT, self._on_protection)

    def translate(self, page, access):
        """(host address or None, ACCESS_* the page may be mapped with)."""
        if g.has("gmm_translate_perms"):
            return self.space.translate_perms(page, access)
        # An older library: grant what was asked (on x86 any access implies
        # read); a wider access comes back through the protection hook.
        return self.space.translate(page, access), access | g.ACCESS_READ

    def map_page(self, page, access):
        host, allowed = self.translate(page, access)
        if host is None:
            return False                        # the fault callback reported it
        assert host % PAGE == 0, "frames are 4 KiB aligned"
        self.unmap_page(page)
        perms = sum(p for a, p in UC_PERMS if allowed & a)
        self.uc.mem_map_ptr(page, PAGE, perms, host)
        # map_ptr alone does not make a read-only page read-only for
        # stores Unicorn has cached; protect sets it (Unicorn 2.0.1).
        self.uc.mem_protect(page, PAGE, perms)
        self.pages[page] = allowed
        self.faults += 1
        log("page %#010x -> host %#x %s" % (page, host, perm_string(allowed)))
        while len(self.pages) > self.limit:
            self.unmap_page(next(iter(self.pages)))
        return True

    def unmap_page(self, page):
        if self.pages.pop(page, None) is not None:
            self.uc.mem_unmap(page, PAGE)
            self.uc.ctl_remove_cache(page, page + PAGE)   # translated code too

    def invalidate(self, space, start, length):
        """libguestmm's invalidate callback: drop the pages it names."""
        gone = [p for p in self.pages if start <= p < start + length]
        for page in gone:
            self.unmap_page(page)
        if gone:
            log("invalidate %#x+%#x: unmapped %d page(s) from Unicorn"
                % (start, length, len(gone)))

    def _on_unmapped(self, uc, kind, address, size, value, _):
        access = ACCESS_OF[kind]
        first, last = address & ~(PAGE - 1), (address + max(size, 1) - 1) & ~(PAGE - 1)
        return all(self.map_page(p, access) for p in range(first, last + PAGE, PAGE)
                   if p not in self.pages or not self.pages[p] & access)

    def _on_protection(self, uc, kind, address, size, value, _):
        access = ACCESS_OF[kind]
        page = address & ~(PAGE - 1)
        if not self.map_page(page, access | self.pages.get(page, 0)):
            return False
        if access == g.ACCESS_WRITE:
            # Unicorn 2.0.1 may finish this store with the stale read-only
            # entry it had, dropping it: make the store ourselves (through
            # the library, which also handles a store across pages).
            self.space.write(address, (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"))
        return True


class Guest:
    """One i386 process: a Space, a Unicorn engine, int 0x80 syscalls."""

    SYSCALLS = {      # i386 number -> (name, Space method, argument count)
        45: ("brk", "brk", 1), 90: ("mmap", "old_mmap", 1),
        91: ("munmap", "munmap", 2), 125: ("mprotect", "mprotect", 3),
        144: ("msync", "msync", 3), 163: ("mremap", "mremap", 5),
        192: ("mmap2", "mmap2", 6), 219: ("madvise", "madvise", 3),
    }

    def __init__(self, system, code):
        self.space = system.space(g.ABI_I386)
        self.uc = U.Uc(U.UC_ARCH_X86, U.UC_MODE_32)
        self.memory = UnicornMemory(self.uc, self.space)
        self.space.user = self           # the callbacks find us through it
        self.status = None
        self.output = b""
        self.uc.hook_add(U.UC_HOOK_INTR, self._on_interrupt)
        self._load(code)

    def _load(self, code):
        """As an ELF loader would: text at CODE, then the [stack]."""
        sp = self.space
        g.check(sp.mmap(CODE, PAGE, g.PROT_READ | g.PROT_WRITE,
                        g.MAP_PRIVATE | g.MAP_ANONYMOUS | g.MAP_FIXED))
        sp.write(CODE, code)
        g.check(sp.mprotect(CODE, PAGE, g.PROT_READ | g.PROT_EXEC))
        if g.has("gmm_space_setup_stack"):
            top = g.check(sp.setup_stack(0))
        else:   # an older library: the same 132 KiB, without growing
            top = TASK_SIZE
            g.check(sp.mmap(top - 33 * PAGE, 33 * PAGE, g.PROT_READ | g.PROT_WRITE,
                            g.MAP_PRIVATE | g.MAP_ANONYMOUS | g.MAP_FIXED))
        self.stack_top = top
        self.uc.reg_write(X.UC_X86_REG_ESP, top - 16)
        self.end = CODE + len(code)

    def _on_interrupt(self, uc, intno, _):
        if intno != 0x80:
            raise RuntimeError("interrupt %#x" % intno)
        regs = [uc.reg_read(r) for r in (X.UC_X86_REG_EAX, X.UC_X86_REG_EBX,
                                         X.UC_X86_REG_ECX, X.UC_X86_REG_EDX,
                                         X.UC_X86_REG_ESI, X.UC_X86_REG_EDI,
                                         X.UC_X86_REG_EBP)]
        nr, args = regs[0], regs[1:]
        if nr in (1, 252):                                   # exit, exit_group
            self.status = args[0] & 0xff
            log("exit(%d)" % args[0])
            uc.emu_stop()
            return
        if nr == 4:                                          # write(fd, buf, n)
            name, shown, ret = "write", args[:3], self._write(*args[:3])
        elif nr in self.SYSCALLS:
            name, method, n = self.SYSCALLS[nr]
            shown = args[:n]
            if name.startswith("mmap") and n == 6:           # fd is an int
                shown[4] = shown[4] - (1 << 32) if shown[4] >> 31 else shown[4]
            ret = getattr(self.space, method)(*shown)
        else:
            name, shown, ret = "syscall %d" % nr, args[:3], -g.ENOSYS
        log("%s(%s) = %s" % (name, ", ".join(hex(a) if a > 9 else str(a) for a in shown),
                             hex(ret) if ret > 9 else ret))
        uc.reg_write(X.UC_X86_REG_EAX, ret & 0xffffffff)

    def _write(self, fd, buf, n):
        if fd not in (1, 2):
            return -g.EBADF
        try:
            data = self.space.read(buf, n)                   # copy_from_user
        except g.GuestFault:
            return -g.EFAULT
        self.output += data
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return n

    def run(self):
        """Runs to exit; returns the exit status (128 + signal if killed)."""
        try:
            self.uc.emu_start(CODE, self.end)
        except U.UcError as e:
            fault = self.space.last_fault
            if fault is None:
                raise
            names = {g.SEGV_MAPERR: "SEGV_MAPERR", g.SEGV_ACCERR: "SEGV_ACCERR",
                     g.BUS_ADRERR: "BUS_ADRERR"}
            log("Unicorn stopped (%s): %s, %s at %#x" % (
                e, "SIGSEGV" if fault.signo == g.SIGSEGV else "SIGBUS",
                names.get(fault.code, fault.code), fault.addr))
            self.status = 128 + fault.signo
        return self.status


def main():
    def on_fault(space, fault):
        log("libguestmm fault: signo %d si_code %d addr %#x access %s" % (
            fault.signo, fault.code, fault.addr, perm_string(fault.access)))

    def on_invalidate(space, start, length):
        space.user.memory.invalidate(space, start, length)

    ok = True

    def expect(what, got, want):
        nonlocal ok
        if got != want:
            ok = False
            print("MISMATCH: %s: got %r, want %r" % (what, got, want), flush=True)

    with g.System(fault=on_fault, invalidate=on_invalidate) as system:
        print("guest 1: mmap2, copy on write of the zero page, write(2), munmap", flush=True)
        guest = Guest(system, HELLO)
        status = guest.run()
        expect("guest 1 exit status", status, 0)
        expect("guest 1 output", guest.output, MESSAGE)
        expect("Unicorn regions left", sorted(r[0] for r in guest.uc.mem_regions()),
               sorted(guest.memory.pages))
        # The text page and the stack page of the push: the munmapped ones
        # went with the invalidate callback.
        expect("pages mapped in Unicorn at exit", sorted(guest.memory.pages),
               [CODE, (guest.stack_top - 16 - 4) & ~(PAGE - 1)])
        expect("stack top", guest.stack_top, TASK_SIZE)
        print("guest 1 maps at exit:\n" + guest.space.maps(), end="", flush=True)
        guest.space.close()

        print("guest 2: load from memory after munmap", flush=True)
        guest = Guest(system, USE_AFTER_MUNMAP)
        status = guest.run()
        expect("guest 2 exit status", status, 128 + g.SIGSEGV)
        expect("guest 2 fault", guest.space.last_fault,
               g.Fault(0xf7ffc000, g.ACCESS_READ, g.SIGSEGV, g.SEGV_MAPERR))
        guest.space.close()

    print("demo: %s" % ("ok" if ok else "FAILED"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
