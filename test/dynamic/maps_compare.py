#!/usr/bin/env python3
"""maps_compare.py: compares an i386 program's /proc/self/maps under the
runner with the same program's when this kernel runs it natively with ASLR
off (test/dynamic/maps.sh makes both).

    maps_compare.py [--strip PREFIX] [--program PATH] [--info] NATIVE RUNNER
    maps_compare.py --rules-only [--strip PREFIX] --program PATH RUNNER

--info: the comparison is printed but only the rules decide (for a native
run that had a vDSO the runner lacks, see below).

Lines are compared on start, end, rights, offset and name; device and inode
numbers are not compared.  --strip PREFIX removes PREFIX from the runner's
names (a -L SYSROOT runner may name files by their host path, where the
native run, in a chroot, names them by their path in the sysroot).

The vDSO.  Natively the kernel maps a block of [vvar], [vvar_vclock] and
[vdso] right below the interpreter, after loading it and before the program
runs; everything the process maps later goes below it.  A runner that has
a [vdso] is compared with all lines.  A runner without one is compared with
the native run of a task without a vDSO (maps.sh switches the 32-bit vDSO
off with abi.vsyscall32=0 for that one run): no lines to allow for.  Where
the native run had the vDSO anyway, two layouts come close:
  hole   the runner leaves the block's range unmapped: every other line
         has the native address;
  novdso the runner behaves as Linux booted without a 32-bit vDSO
         (vdso32=0): the lines mapped after the block (all of those below
         it) sit higher by the block's size, the others are where they are
         natively.  (Top-down allocation starts from the interpreter's
         bottom instead of the block's, and every later mapping and hole
         keeps its distance from it.)
but neither is exact: ld.so allocates a link map for the vDSO when there
is one, so its first anonymous mapping comes before or after its mapping
of /etc/ld.so.cache depending on the vDSO.  Such a comparison is for
information (--info); the rules decide.

The rules, checked on both outputs (a rule that the native run breaks is
reported, not failed: the native run is the specification; with
--rules-only, when this kernel cannot give the native run, they are the
test):
  1. the program's first line is at 0x56555000 for a PIE (ET_DYN), at its
     first PT_LOAD's page for ET_EXEC;
  2. [stack] ends at 0xffffe000 (TASK_SIZE of an i386 task on an x86-64
     kernel; the page above is never mapped);
  3. the interpreter (ld-linux.so.2) ends at mmap_base = 0xffffe000 minus
     the stack gap, 128 MiB with an 8 MiB stack limit: 0xf7ffe000;
  4. everything else (libraries, their bss, anonymous memory, the vDSO)
     lies below the interpreter: mmap allocates top-down from mmap_base
     (lines below 0x60000000 count as the program's: the program, its bss
     and the heap);
  5. [heap], if any, starts where the program's last line ends (brk starts
     right after the bss when ASLR is off).
"""
import difflib
import struct
import sys

VDSO_NAMES = {"[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"}
PIE_BASE = 0x56555000
STACK_TOP = 0xFFFFE000
MMAP_BASE = 0xF7FFE000


def parse(path, strip=None):
    lines = []
    with open(path) as f:
        for raw in f:
            parts = raw.split(None, 5)
            if len(parts) < 5:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5].strip() if len(parts) > 5 else ""
            if strip and name.startswith(strip + "/"):
                name = name[len(strip):]
            lines.append((lo, hi, parts[1], int(parts[2], 16), name))
    return lines


def fmt(line):
    lo, hi, perms, off, name = line
    return "%08x-%08x %s %08x %s" % (lo, hi, perms, off, name)


def elf_first_load(path):
    """(e_type, page of the first PT_LOAD) of a 32-bit ELF file."""
    with open(path, "rb") as f:
        data = f.read(4096)
    e_type = struct.unpack_from("<H", data, 16)[0]
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    for i in range(phnum):
        p_type, _, p_vaddr = struct.unpack_from("<III", data, phoff + i * phentsize)
        if p_type == 1:
            return e_type, p_vaddr & ~0xFFF
    return e_type, None


def rules(lines, program):
    """The rules above; returns a list of broken ones (empty: all hold)."""
    broken = []
    if not lines:
        return ["no lines"]
    e_type, first = elf_first_load(program) if program else (None, None)
    if e_type == 3:
        first = PIE_BASE
    if first is not None and lines[0][0] != first:
        broken.append("1: the first line is at %08x, not %08x" % (lines[0][0], first))
    stack = [l for l in lines if l[4] == "[stack]"]
    if not stack or stack[-1][1] != STACK_TOP:
        broken.append("2: [stack] does not end at %08x" % STACK_TOP)
    interp = [l for l in lines if l[4].endswith("/ld-linux.so.2")]
    if not interp or interp[-1][1] != MMAP_BASE:
        broken.append("3: the interpreter does not end at %08x" % MMAP_BASE)
    else:
        for l in lines:
            if l[0] < 0x60000000 or l[4] == "[stack]" or l in interp:
                continue  # the program, its bss and heap; the stack
            if l[1] > interp[0][0]:
                broken.append("4: %s is not below the interpreter" % fmt(l))
    heap = [l for l in lines if l[4] == "[heap]"]
    if heap:
        below = [l for l in lines if l[1] <= heap[0][0]]
        if not below or below[-1][1] != heap[0][0]:
            broken.append("5: [heap] does not start where the program ends")
    return broken


def vdso_block(lines):
    v = [l for l in lines if l[4] in VDSO_NAMES]
    if not v:
        return None
    lo, hi = min(l[0] for l in v), max(l[1] for l in v)
    return lo, hi


def program_end(lines):
    """Where the program's part ends: its file lines, the anonymous bss
    right after them and [heap]; the mmap area begins above."""
    name = next((l[4] for l in lines if l[4]), None)
    last = max((i for i, l in enumerate(lines) if l[4] in (name, "[heap]")), default=-1)
    while last + 1 < len(lines) and lines[last + 1][4] == "" and lines[last + 1][0] == lines[last][1]:
        last += 1
    return lines[last][1] if last >= 0 else 0


def compare(native, runner):
    """(form matched or None, the best form, its diff lines)."""
    if vdso_block(runner) is not None:
        # A runner with a vDSO is held to the native one, lines and all.
        diff = list(difflib.unified_diff([fmt(l) for l in native], [fmt(l) for l in runner],
                                         "native", "runner", lineterm="", n=1))
        return ("exact" if not diff else None), "exact", diff
    block = vdso_block(native)
    base = [l for l in native if l[4] not in VDSO_NAMES]
    got = [l for l in runner if l[4] not in VDSO_NAMES]
    forms = [("exact" if block is None else "hole", base)]
    if block is not None:
        size = block[1] - block[0]
        low = program_end(base)
        shifted = [(l[0] + size, l[1] + size) + l[2:] if low <= l[0] and l[1] <= block[0] else l
                   for l in base]
        forms.append(("novdso", shifted))
    best = None
    for name, want in forms:
        if want == got:
            return name, name, []
        diff = list(difflib.unified_diff([fmt(l) for l in want], [fmt(l) for l in got],
                                         "native (%s form)" % name, "runner", lineterm="", n=1))
        if best is None or len(diff) < len(best[1]):
            best = (name, diff)
    return None, best[0], best[1]


def main(argv):
    strip = program = None
    rules_only = False
    info = False
    args = []
    i = 1
    while i < len(argv):
        if argv[i] == "--strip":
            strip = argv[i + 1].rstrip("/")
            i += 2
        elif argv[i] == "--program":
            program = argv[i + 1]
            i += 2
        elif argv[i] == "--rules-only":
            rules_only = True
            i += 1
        elif argv[i] == "--info":
            info = True
            i += 1
        else:
            args.append(argv[i])
            i += 1
    if rules_only:
        if len(args) != 1 or not program:
            print(__doc__, file=sys.stderr)
            return 2
        runner = parse(args[0], strip)
        broken = rules(runner, program)
        for b in broken:
            print("runner breaks rule " + b)
        print("runner: %d lines, %s" % (len(runner), "the rules hold" if not broken else "FAIL"))
        return 1 if broken else 0
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    native = parse(args[0])
    runner = parse(args[1], strip)
    for b in rules(native, program):
        print("note: the native run breaks rule " + b + " (the native run is what counts)")
    broken = rules(runner, program)
    for b in broken:
        print("runner breaks rule " + b)
    block = vdso_block(native)
    if block and vdso_block(runner) is None:
        print("native vDSO block %08x-%08x (%d pages), not compared" %
              (block[0], block[1], (block[1] - block[0]) // 4096))
    form, best, diff = compare(native, runner)
    if form:
        print("runner: %d lines, the native layout (%s form)" % (len(runner), form))
        return 0
    if info:
        print("for information (not failed): the runner's maps against the native ones "
              "with a vDSO (closest: the %s form)" % best)
        print("\n".join(diff))
        print("runner: %d lines, %s" % (len(runner), "the rules hold" if not broken else "FAIL"))
        return 1 if broken else 0
    print("FAIL: the runner's maps differ from the native ones (closest: the %s form)" % best)
    print("\n".join(diff))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
