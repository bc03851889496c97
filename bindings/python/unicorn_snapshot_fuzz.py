#!/usr/bin/env python3
"""unicorn_snapshot_fuzz.py: a fuzz-style loop under python3-unicorn, with
libguestmm snapshots putting the guest back between inputs.

A fuzzer runs one guest function on many inputs, each from the same
starting state.  Instead of re-creating the guest for every input:

  1. start up once: code, initialised data, a heap (brk), buffers, stack;
  2. snap = space.snapshot()                     (no copy: copy on write)
  3. per input: write it into guest memory, let the guest "malloc" (brk or
     mmap, as glibc would), run the function with uc.emu_start, check the
     output, then space.restore(snap): every store undone, the regions
     mapped since gone, brk back where it was.

Unicorn runs on a window (see unicorn_window_demo.py): guest address a is
host address window.base + a, and each guest region is one Unicorn region
made with uc.mem_map_ptr.  A restore needs no Unicorn call for the memory
itself: the library unmaps the window pages that the restore changed, and
the next access through them faults the restored page back in (the
library's SIGSEGV handler does it, invisibly to Unicorn).  Only Unicorn's
list of regions has to follow the space's: sync_unicorn() below unmaps the
Unicorn regions the space no longer has (a heap that grew, an mmap made
during the run) and maps the new ones, from space.regions().

After each restore the example checks that the space is exactly as at the
snapshot: the same maps text, the same bytes in every region, seen through
Space.read and through Unicorn.  It ends with a summary.

Run: GUESTMM_LIBRARY=build/libguestmm.so python3 bindings/python/unicorn_snapshot_fuzz.py [inputs]
It exits 0 when everything happened as expected, 1 otherwise, and 77 when
python3-unicorn is not installed (Debian: apt-get install python3-unicorn).
"""

import os
import random
import struct
import sys
import time

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
RW = g.PROT_READ | g.PROT_WRITE
ANON = g.MAP_PRIVATE | g.MAP_ANONYMOUS

CODE = 0x08048000            # text, as an i386 ELF program loads
DATA = 0x08049000            # initialised data: one 32-bit counter
HEAP = 0x0804a000            # start_brk, just above the data
INPUT_MAX = 2 * PAGE         # the input buffer's size
MMAP_THRESHOLD = PAGE        # "malloc" of this much or more uses mmap
COUNTER_AT_START = 1000


def guest_function():
    """i386 machine code.  In: esi = input, ecx = its length, edi = a
    buffer of that size, ebx = the output.  Copies the input into the
    buffer, stores the sum of its bytes at [ebx] and increments the
    counter at DATA: stores into old memory, new memory and the heap."""
    return (
        b"\x31\xd2"                              # xor edx, edx
        b"\xe3\x0b"                              # jecxz done
        b"\x0f\xb6\x06"                          # copy: movzx eax, byte [esi]
        b"\x88\x07"                              #   mov [edi], al
        b"\x01\xc2"                              #   add edx, eax
        b"\x46"                                  #   inc esi
        b"\x47"                                  #   inc edi
        b"\xe2\xf5"                              #   loop copy
        b"\x89\x13"                              # done: mov [ebx], edx
        b"\xff\x05" + struct.pack("<I", DATA)    # inc dword [DATA]
    )


def unicorn_regions(space):
    """{(start, end): perms} for Unicorn, one entry per guest region.
    PROT_READ/WRITE/EXEC have the values of UC_PROT_READ/WRITE/EXEC."""
    return {(r.start, r.end): r.prot & (g.PROT_READ | g.PROT_WRITE | g.PROT_EXEC)
            for r in space.regions()}


def sync_unicorn(uc, window, space, mapped):
    """Makes Unicorn's regions (mapped, updated in place) those of the space:
    unmaps what the space no longer has, maps what it has new.  Call it
    after anything that changes the regions: an mmap, brk, a restore."""
    want = unicorn_regions(space)
    for (start, end), perms in list(mapped.items()):
        if want.get((start, end)) != perms:
            uc.mem_unmap(start, end - start)
            del mapped[(start, end)]
    for (start, end), perms in want.items():
        if (start, end) not in mapped:
            uc.mem_map_ptr(start, end - start, perms, window.base + start)
            mapped[(start, end)] = perms


def guest_malloc(space, size):
    """A buffer for size bytes, as glibc's malloc gets one: small ones from
    the heap (brk), big ones from their own mmap.  Returns (address, how)."""
    size = max(size, 1)
    if size >= MMAP_THRESHOLD:
        return g.check(space.mmap(0, size, RW, ANON)), "mmap"
    old = space.brk(0)
    if space.brk(old + size) < old + size:
        raise MemoryError("brk failed")
    return old, "brk"


def image(space):
    """Every region's bytes, through the library: {(start, end): bytes}."""
    return {(r.start, r.end): space.read(r.start, r.end - r.start)
            for r in space.regions()}


def main():
    inputs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rng = random.Random(14)
    failures = []

    def expect(what, got, want):
        if got != want and len(failures) < 10:
            failures.append(what)
            print("MISMATCH: %s: got %r, want %r" % (what, got, want), flush=True)

    g.check(g.install_window_handler())          # once per process
    with g.System(mappable=True) as system, system.space(g.ABI_I386) as sp, \
            sp.window(0, 1 << 32) as w:
        # ---- start-up: what a loader and the program's first steps do ----
        code = guest_function()
        g.check(sp.mmap(CODE, PAGE, RW, ANON | g.MAP_FIXED))
        sp.write(CODE, code)
        g.check(sp.mprotect(CODE, PAGE, g.PROT_READ | g.PROT_EXEC))
        g.check(sp.mmap(DATA, PAGE, RW, ANON | g.MAP_FIXED))
        sp.write(DATA, struct.pack("<I", COUNTER_AT_START))
        g.check(sp.init_brk(HEAP))
        heap_top = sp.brk(HEAP + 256)            # the allocator's first arena
        input_buf = g.check(sp.mmap(0, INPUT_MAX, RW, ANON))
        output = g.check(sp.mmap(0, PAGE, RW, ANON))
        stack_top = g.check(sp.setup_stack(0))

        uc = U.Uc(U.UC_ARCH_X86, U.UC_MODE_32)
        mapped = {}                              # Unicorn's regions
        sync_unicorn(uc, w, sp, mapped)
        print("guest memory at the snapshot:\n" + sp.maps(), end="")

        # ---- the snapshot, and what it must bring back every time ----
        snap = sp.snapshot()
        maps_at_snap = sp.maps()
        image_at_snap = image(sp)

        run_time = restore_time = 0.0
        restores = 0
        allocs = {"brk": 0, "mmap": 0}
        for i in range(inputs):
            data = rng.randbytes(rng.choice((0, 1, 16, 200, 3000, 4096, INPUT_MAX)))
            t0 = time.perf_counter()

            # One run: the input in, a buffer allocated, the function run.
            sp.write(input_buf, data)
            buf, how = guest_malloc(sp, len(data))
            allocs[how] += 1
            sync_unicorn(uc, w, sp, mapped)      # Unicorn sees the new buffer
            uc.reg_write(X.UC_X86_REG_ESI, input_buf)
            uc.reg_write(X.UC_X86_REG_ECX, len(data))
            uc.reg_write(X.UC_X86_REG_EDI, buf)
            uc.reg_write(X.UC_X86_REG_EBX, output)
            uc.reg_write(X.UC_X86_REG_ESP, stack_top - 16)
            uc.emu_start(CODE, CODE + len(code))

            # What the function did.  A fuzzer would look for a crash here
            # (emu_start raising UcError); this function has none.
            expect("input %d: sum" % i, sp.read(output, 4), struct.pack("<I", sum(data)))
            expect("input %d: copy" % i, sp.read(buf, len(data)), data)
            expect("input %d: counter" % i, sp.read(DATA, 4),
                   struct.pack("<I", COUNTER_AT_START + 1))

            # Back to the snapshot; Unicorn drops the regions that went.
            t1 = time.perf_counter()
            g.check(sp.restore(snap))
            sync_unicorn(uc, w, sp, mapped)
            t2 = time.perf_counter()
            restores += 1
            run_time += t1 - t0
            restore_time += t2 - t1

            # The space is exactly as at the snapshot, as the library and
            # as Unicorn see it.
            expect("input %d: maps after restore" % i, sp.maps(), maps_at_snap)
            expect("input %d: brk after restore" % i, sp.brk(0), heap_top)
            now = image(sp)
            expect("input %d: memory after restore" % i, now == image_at_snap, True)
            for (start, end), perms in mapped.items():
                expect("input %d: Unicorn's view of %#x" % (i, start),
                       bytes(uc.mem_read(start, end - start)) == now[(start, end)], True)

        expect("window check", w.check(), None)
        expect("space check", sp.check(), None)
        snap.discard()
        # Unicorn no longer runs: its regions may go with the window.
        for start, end in list(mapped):
            uc.mem_unmap(start, end - start)

    print("%d inputs run (%d buffers from brk, %d from mmap), %d restores" %
          (inputs, allocs["brk"], allocs["mmap"], restores))
    if inputs:
        print("per iteration: %.0f us run (write, malloc, emu_start, checks), "
              "%.0f us restore (with Unicorn's regions)"
              % (run_time / inputs * 1e6, restore_time / inputs * 1e6))
    print("fuzz loop: %s" % ("ok" if not failures else "FAILED"), flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
