#!/usr/bin/env python3
"""unicorn_window_demo.py: python3-unicorn running i386 code straight on a
libguestmm window.

A window mirrors a guest space into host memory: guest address a is host
address window.base + a.  So each run of guest memory becomes one Unicorn
region with uc.mem_map_ptr(a, size, perms, window.base + a), and Unicorn's
generated code loads and stores guest memory with plain host instructions:
no hooks, no per-page work in Python.  Pages are mapped on first touch by
the library's SIGSEGV handler (g.install_window_handler(); Unicorn installs
none): demand-zero memory, copy on write and stack pages are resolved
there and the access is retried, invisibly to Unicorn.

Guest faults are Unicorn's to catch: its regions carry the guest's
permissions and the holes stay unmapped, so an access the guest may not
make stops the emulation with a UcError before it reaches host memory.
(A fault that did reach the window would not be passed to Python: see
"Windows" in guestmm.py.)

The guest, hand-assembled below, fills 64 KiB of an anonymous mapping with
0, 1, 2, ... (32-bit words), sums them, pushes and pops the sum through the
stack and stores it in a second mapping.  The demo checks the sum and the
memory through Space.read, then runs a load from a hole.

Run: GUESTMM_LIBRARY=build/libguestmm.so python3 bindings/python/unicorn_window_demo.py
It exits 0 when everything happened as expected, 1 otherwise, and 77 when
python3-unicorn is not installed (Debian: apt-get install python3-unicorn).
"""

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
WORDS = 16384                # 64 KiB of 32-bit words
RW = g.PROT_READ | g.PROT_WRITE
ANON = g.MAP_PRIVATE | g.MAP_ANONYMOUS


def guest_code(data, result):
    """i386 machine code: fill data with 0..WORDS-1, sum it into [result]."""
    return (
        b"\xbf" + struct.pack("<I", data) +      # mov edi, data
        b"\xb9" + struct.pack("<I", WORDS) +     # mov ecx, WORDS
        b"\x31\xc0"                              # xor eax, eax
        b"\x89\x07"                              # fill: mov [edi], eax
        b"\x83\xc7\x04"                          #   add edi, 4
        b"\x40"                                  #   inc eax
        b"\xe2\xf8"                              #   loop fill
        b"\xbe" + struct.pack("<I", data) +      # mov esi, data
        b"\xb9" + struct.pack("<I", WORDS) +     # mov ecx, WORDS
        b"\x31\xd2"                              # xor edx, edx
        b"\x03\x16"                              # sum: add edx, [esi]
        b"\x83\xc6\x04"                          #   add esi, 4
        b"\xe2\xf9"                              #   loop sum
        b"\x52"                                  # push edx       ; the stack
        b"\x58"                                  # pop eax
        b"\xa3" + struct.pack("<I", result)      # mov [result], eax
    )


LOAD_FROM_A_HOLE = b"\xa1\x00\x00\x01\x00"       # mov eax, [0x10000]
HOLE_CODE = CODE + 0x800                         # where it is loaded


def guest_regions(space):
    """(start, end, unicorn perms) per run of guest memory: the lines of
    /proc/self/maps, neighbours with equal permissions joined."""
    runs = []
    for line in space.maps().splitlines():
        span, perms = line.split()[:2]
        start, end = (int(x, 16) for x in span.split("-"))
        uc_perms = ((U.UC_PROT_READ if perms[0] == "r" else 0) |
                    (U.UC_PROT_WRITE if perms[1] == "w" else 0) |
                    (U.UC_PROT_EXEC if perms[2] == "x" else 0))
        if runs and runs[-1][1] == start and runs[-1][2] == uc_perms:
            runs[-1] = (runs[-1][0], end, uc_perms)
        else:
            runs.append((start, end, uc_perms))
    return runs


def main():
    ok = True

    def expect(what, got, want):
        nonlocal ok
        if got != want:
            ok = False
            print("MISMATCH: %s: got %r, want %r" % (what, got, want), flush=True)

    g.check(g.install_window_handler())          # once per process
    with g.System(mappable=True) as system, system.space(g.ABI_I386) as sp:
        # The guest's memory, as its loader and its mmap calls would make it.
        data = g.check(sp.mmap(0, WORDS * 4, RW, ANON))
        result = g.check(sp.mmap(0, PAGE, RW, ANON))
        g.check(sp.mmap(CODE, PAGE, RW, ANON | g.MAP_FIXED))
        code = guest_code(data, result)
        sp.write(CODE, code)
        sp.write(HOLE_CODE, LOAD_FROM_A_HOLE)
        g.check(sp.mprotect(CODE, PAGE, g.PROT_READ | g.PROT_EXEC))
        stack_top = g.check(sp.setup_stack(0))
        print("guest memory:\n" + sp.maps(), end="")

        # One window over the whole 4 GiB of the i386 space; keep it open
        # as long as Unicorn has regions pointing into it.
        with sp.window(0, 1 << 32) as w:
            uc = U.Uc(U.UC_ARCH_X86, U.UC_MODE_32)
            for start, end, perms in guest_regions(sp):
                uc.mem_map_ptr(start, end - start, perms, w.base + start)
                print("unicorn region %#010x-%#010x perms %d -> host %#x"
                      % (start, end, perms, w.base + start))
            uc.reg_write(X.UC_X86_REG_ESP, stack_top - 16)

            print("running: fill 64 KiB, sum it, store the sum")
            uc.emu_start(CODE, CODE + len(code))
            total = WORDS * (WORDS - 1) // 2
            expect("sum in eax", uc.reg_read(X.UC_X86_REG_EAX), total)
            expect("sum in guest memory", struct.unpack("<I", sp.read(result, 4))[0], total)
            words = struct.unpack("<%dI" % WORDS, sp.read(data, WORDS * 4))
            expect("the filled words", words, tuple(range(WORDS)))
            st = w.stats()
            print("sum %d; window: %d faults resolved by the handler, %d pages "
                  "mapped in %d host mappings" % (struct.unpack("<I", sp.read(result, 4))[0],
                                                  st.faults, st.pages_mapped,
                                                  st.host_mappings))
            expect("window faults > 0", st.faults > 0, True)
            expect("window check", w.check(), None)
            expect("space check", sp.check(), None)

            # A guest fault: Unicorn stops at the hole, the window is never
            # touched (the handler sees no fault).
            print("running: a load from the unmapped address 0x10000")
            faults = w.stats().faults
            try:
                uc.emu_start(HOLE_CODE, HOLE_CODE + len(LOAD_FROM_A_HOLE))
                expect("the load from a hole stopped Unicorn", False, True)
            except U.UcError as e:
                print("Unicorn stopped: %s" % e)
                expect("Unicorn's error", e.errno, U.UC_ERR_READ_UNMAPPED)
            expect("window faults after the hole", w.stats().faults, faults)
            # Unicorn no longer runs: its regions may go with the window.
            for start, end, _ in guest_regions(sp):
                uc.mem_unmap(start, end - start)

    print("demo: %s" % ("ok" if ok else "FAILED"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
