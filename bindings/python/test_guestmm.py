"""Tests of the Python bindings (unittest, standard library only).

    GUESTMM_LIBRARY=build/libguestmm.so python3 bindings/python/test_guestmm.py

ctest runs them with the library it built.  Addresses are those of Linux's
no-ASLR layout: x86-64 mmap_base 0x7ffff7fff000, i386 0xf7ffe000.  A test of
a syscall the loaded library does not implement yet (-ENOSYS, or the symbol
missing) is skipped with a message saying so.
"""

import ctypes
import gc
import os
import re
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestmm as g  # noqa: E402

HEADER = os.environ.get("GUESTMM_HEADER") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
    "include", "guestmm.h")

RW = g.PROT_READ | g.PROT_WRITE
ANON = g.MAP_PRIVATE | g.MAP_ANONYMOUS
X64_BASE = 0x7ffff7fff000   # x86-64 mmap_base
I386_BASE = 0xf7ffe000      # i386 mmap_base
PAGE = g.PAGE_SIZE


def maps_line(start, end, perms, offset=0, dev=0, ino=0, name=""):
    """A /proc/PID/maps line as Linux prints it (name at byte 74)."""
    line = "%08x-%08x %s %08x %02x:%02x %d " % (start, end, perms, offset,
                                                 dev >> 8, dev & 0xff, ino)
    if name:
        line = line.ljust(73) + name
    return line + "\n"


def implemented(test, ret, what):
    """Skips test when ret says the syscall is not implemented yet."""
    if ret == -g.ENOSYS:
        test.skipTest("%s returns -ENOSYS in this libguestmm" % what)
    return ret


class Base(unittest.TestCase):
    """A System with recording callbacks; self.files[fd] feeds get_file."""

    def setUp(self):
        self.faults = []
        self.invalidated = []
        self.files = {}
        self.sys = g.System(get_file=self.files.get,
                            fault=lambda sp, f: self.faults.append((sp, f)),
                            invalidate=lambda sp, s, n: self.invalidated.append((sp, s, n)))
        self.addCleanup(self.sys.close)

    def space(self, abi=g.ABI_X86_64):
        sp = self.sys.space(abi)
        self.addCleanup(sp.close)
        return sp

    def need(self, name):
        if not g.has(name):
            self.skipTest("%s is not in this libguestmm" % name)

    def assertSpaceOk(self, sp):
        self.assertIsNone(sp.check())
        self.assertIsNone(self.sys.check())


# ---------------------------------------------------------------------------
# The module against the header: every constant and every function.
# ---------------------------------------------------------------------------

def header_text():
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return text.replace("\\\n", " ")


def header_constants(text):
    """{name without GMM_: value} of the enums, #defines and errno table."""
    consts = {}
    for name, value, msg in re.findall(r'XX\((\w+),\s*(\d+),\s*"([^"]*)"\)', text):
        consts[name] = int(value)

    def evaluate(expr):
        expr = expr.strip()
        expr = re.sub(r"\bGMM_(\w+)", lambda m: "(%d)" % consts[m.group(1)], expr)
        expr = expr.replace("UINT64_MAX", str((1 << 64) - 1))
        if not re.fullmatch(r"[0-9a-fA-FxX()<>| +\-]+", expr):
            raise ValueError("cannot evaluate %r" % expr)
        return eval(expr, {"__builtins__": {}})

    for body in re.findall(r"enum\s*\w*\s*\{(.*?)\}", text, flags=re.S):
        for item in body.split(","):
            m = re.fullmatch(r"\s*GMM_(\w+)\s*=\s*(.+?)\s*", item, flags=re.S)
            if m:
                consts[m.group(1)] = evaluate(m.group(2))
    for name, value in re.findall(r"#define\s+GMM_(\w+)[ \t]+([^\n]+)", text):
        if name in ("API",) or "(" in name:
            continue
        try:
            consts[name] = evaluate(value)
        except (ValueError, KeyError):
            pass
    return consts


def header_errno_messages(text):
    return {int(v): (n, m) for n, v, m in
            re.findall(r'XX\((\w+),\s*(\d+),\s*"([^"]*)"\)', text)}


def header_functions(text):
    """{name: (return type, [parameter types])} of every GMM_API function."""
    funcs = {}
    for ret, name, params in re.findall(
            r"GMM_API\s+([\w\s\*]+?)\s*\b(gmm_\w+)\s*\(([^)]*)\)\s*;", text):
        types = []
        for p in params.split(","):
            p = " ".join(p.split())
            if p in ("void", ""):
                continue
            # Drop the parameter name: the last identifier.
            p = re.sub(r"\s*\b\w+$", "", p) if not p.endswith("*") else p
            types.append(p)
        funcs[name] = (" ".join(ret.split()), types)
    return funcs


SCALARS = {
    "int": ctypes.c_int, "unsigned": ctypes.c_uint, "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64, "gmm_addr": ctypes.c_uint64,
    "size_t": ctypes.c_size_t, "gmm_abi": ctypes.c_int, "void": None,
    # ctypes has no uintptr_t; size_t has its width on every Linux ABI.
    "uintptr_t": ctypes.c_size_t,
}


def ctypes_kind(t):
    """What a C type must be in PROTOTYPES: a ctypes class, or "pointer"."""
    t = t.replace("const ", "")
    if t == "char *":
        return "string-or-pointer"
    if t.endswith("*") or t.endswith("_fn"):
        return "pointer"
    if t not in SCALARS:
        raise KeyError("test_guestmm.py does not know the C type %r" % t)
    return SCALARS[t]


def is_pointer_type(ct):
    return ct is not None and issubclass(ct, (ctypes.c_void_p, ctypes.c_char_p,
                                              ctypes._Pointer, ctypes._CFuncPtr))


class TestHeader(unittest.TestCase):
    """Keeps the module covering the whole header as the header grows."""

    @classmethod
    def setUpClass(cls):
        cls.text = header_text()

    def test_every_constant_has_the_header_value(self):
        consts = header_constants(self.text)
        self.assertGreater(len(consts), 150)
        for name, value in consts.items():
            with self.subTest(name=name):
                self.assertTrue(hasattr(g, name), "guestmm.py lacks %s (GMM_%s = %#x)"
                                % (name, name, value))
                self.assertEqual(getattr(g, name), value, name)

    def test_errno_names_and_messages(self):
        table = header_errno_messages(self.text)
        self.assertEqual(g.errorcode, {v: n for v, (n, m) in table.items()})
        for value, (name, message) in table.items():
            with self.subTest(name=name):
                self.assertEqual(g.errname(value), name)
                self.assertEqual(g.errname(-value), name)
                self.assertEqual(g.strerror(-value), message)
        self.assertEqual(g.errname(9999), "UNKNOWN")
        self.assertEqual(g.strerror(9999), "Unknown error")

    def test_every_function_has_a_prototype_of_its_c_types(self):
        funcs = header_functions(self.text)
        self.assertGreater(len(funcs), 40)
        self.assertEqual(sorted(set(funcs) - set(g.PROTOTYPES)), [],
                         "functions of guestmm.h missing from guestmm.PROTOTYPES "
                         "(add each with its wrapper in bindings/python/guestmm.py)")
        # The module may be ahead of an older header, never of the library.
        self.assertEqual([f for f in sorted(set(g.PROTOTYPES) - set(funcs)) if g.has(f)], [],
                         "the library exports functions guestmm.h does not declare")
        for name, (ret, params) in funcs.items():
            restype, argtypes = g.PROTOTYPES[name]
            with self.subTest(name=name):
                self.assertEqual(len(argtypes), len(params), "argument count")
                for c, ct in zip([ret] + params, (restype,) + tuple(argtypes)):
                    kind = ctypes_kind(c)
                    if kind == "pointer" or kind == "string-or-pointer":
                        self.assertTrue(is_pointer_type(ct), "%s is %r" % (c, ct))
                    else:
                        self.assertIs(ct, kind, c)
                if ret.replace("const ", "") == "char *":
                    self.assertIs(restype, ctypes.c_char_p, "a string result")

    def test_every_struct_has_the_header_fields(self):
        # The library copies whole structs (gmm_host by sizeof): a member
        # missing in ctypes would be read from past the Python object.
        structs = {"gmm_fault": g._Fault, "gmm_file_ops": g._FileOps,
                   "gmm_file": g._File, "gmm_host": g._Host}
        if hasattr(g, "_WindowStats"):
            structs["gmm_window_stats"] = g._WindowStats
        structs["gmm_region_info"] = g._RegionInfo
        structs["gmm_futex_key"] = g._FutexKey
        for name, cls in structs.items():
            with self.subTest(struct=name):
                m = re.search(r"typedef\s+struct\s+%s\s*\{(.*?)\}\s*%s\s*;" % (name, name),
                              self.text, flags=re.S)
                self.assertIsNotNone(m, "struct %s not found in guestmm.h" % name)
                fields = []
                for decl in m.group(1).split(";"):
                    decl = " ".join(decl.split())
                    if not decl:
                        continue
                    fn = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
                    if fn:
                        fields.append(fn.group(1))
                        continue
                    first, *rest = decl.split(",")
                    fields.append(re.search(r"(\w+)\s*$", first).group(1))
                    fields += [r.strip().lstrip("*").strip() for r in rest]
                self.assertEqual([f for f, _ in cls._fields_], fields)
                self.assertEqual(ctypes.sizeof(cls) % 8, 0)

    def test_every_function_is_wrapped(self):
        with open(g.__file__) as f:
            source = f.read()
        body = source[source.index("# Loading the library."):]
        for name in g.PROTOTYPES:
            with self.subTest(name=name):
                self.assertTrue(re.search(r'[."]%s\b' % name, body),
                                "no wrapper calls %s" % name)


# ---------------------------------------------------------------------------
# Library, errors, loading.
# ---------------------------------------------------------------------------

class TestLibrary(unittest.TestCase):
    def test_version(self):
        self.assertEqual(g.version(), "%d.%d.%d" % (g.VERSION_MAJOR, g.VERSION_MINOR,
                                                    g.VERSION_PATCH))
        self.assertEqual(g.VERSION_HEX, (g.VERSION_MAJOR << 16) | (g.VERSION_MINOR << 8)
                         | g.VERSION_PATCH)

    def test_loaded_from_the_environment(self):
        env = os.environ.get(g.LIBRARY_ENV)
        if not env:
            self.skipTest("%s is not set" % g.LIBRARY_ENV)
        if os.path.isdir(env):
            env = os.path.join(env, "libguestmm.so")
        self.assertEqual(g.library_path(), env)
        self.assertEqual(g.load("/nonexistent/libguestmm.so"), env)  # loaded once
        self.assertTrue(g.has("gmm_version"))

    def test_search_order(self):
        saved = os.environ.get(g.LIBRARY_ENV)
        self.addCleanup(lambda: os.environ.__setitem__(g.LIBRARY_ENV, saved)
                        if saved is not None else os.environ.pop(g.LIBRARY_ENV, None))
        with tempfile.TemporaryDirectory() as d:
            os.environ[g.LIBRARY_ENV] = d
            self.assertEqual(list(g._candidates()),
                             [(os.path.join(d, "libguestmm.so"), True)])
        os.environ.pop(g.LIBRARY_ENV)
        cands = [c for c, _ in g._candidates()]
        self.assertLessEqual(len(cands), 3)
        root = os.path.normpath(os.path.join(os.path.dirname(g.__file__), "..", ".."))
        self.assertEqual(cands[0], os.path.join(root, "build", "libguestmm.so"))
        self.assertEqual(cands[1], "libguestmm.so.0")

    def test_missing_function_raises_not_implemented(self):
        missing = g._Missing("gmm_none")
        with self.assertRaisesRegex(NotImplementedError, "gmm_none"):
            missing()

    def test_check_and_errors(self):
        self.assertEqual(g.check(5), 5)
        self.assertEqual(g.check(0), 0)
        with self.assertRaises(g.GuestmmError) as cm:
            g.check(-g.EINVAL)
        self.assertIsInstance(cm.exception, OSError)
        self.assertEqual(cm.exception.errno, 22)
        self.assertEqual(cm.exception.strerror, "Invalid argument (EINVAL)")
        f = g.GuestFault(0x1000, 4)
        self.assertIsInstance(f, g.GuestmmError)
        self.assertEqual((f.errno, f.addr, f.length), (g.EFAULT, 0x1000, 4))


# ---------------------------------------------------------------------------
# Systems and spaces.
# ---------------------------------------------------------------------------

class TestSpace(Base):
    def test_x86_64_layout_and_maps(self):
        sp = self.space()
        self.assertEqual(sp.abi, g.ABI_X86_64)
        self.assertEqual(sp.maps(), "")
        self.assertEqual(sp.mmap(0, PAGE, RW, ANON), X64_BASE - PAGE)
        self.assertEqual(sp.mmap(0, 2 * PAGE, g.PROT_READ, ANON), X64_BASE - 3 * PAGE)
        self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_SHARED | g.MAP_ANONYMOUS),
                         X64_BASE - 4 * PAGE)
        self.assertEqual(sp.maps(),
                         maps_line(0x7ffff7ffb000, 0x7ffff7ffc000, "rw-s", 0, 0x1, 1024,
                                   "/dev/zero (deleted)") +
                         maps_line(0x7ffff7ffc000, 0x7ffff7ffe000, "r--p") +
                         maps_line(0x7ffff7ffe000, 0x7ffff7fff000, "rw-p"))
        self.assertEqual(len(sp.maps().splitlines()[0]), 73 + len("/dev/zero (deleted)"))
        self.assertSpaceOk(sp)

    def test_regions_walk_with_rights_and_kind(self):
        sp = self.space()
        self.assertEqual(sp.regions(), [])
        self.assertIsNone(sp.region_next(0))
        a = sp.mmap(0, PAGE, RW, ANON)
        b = sp.mmap(0, 2 * PAGE, g.PROT_WRITE, ANON)
        c = sp.mmap(0, PAGE, g.PROT_READ, g.MAP_SHARED | g.MAP_ANONYMOUS)
        rs = sp.regions()
        self.assertEqual([(r.start, r.end) for r in rs],
                         [(c, c + PAGE), (b, b + 2 * PAGE), (a, a + PAGE)])
        self.assertEqual(rs[0].kind, g.REGION_SHARED_ANON)
        self.assertEqual((rs[0].shared, rs[0].dev, rs[0].access), (1, 1, g.ACCESS_READ))
        self.assertEqual((rs[1].kind, rs[1].prot, rs[1].access),
                         (g.REGION_ANON, g.PROT_WRITE, g.ACCESS_READ | g.ACCESS_WRITE))
        self.assertEqual(sp.regions(b + PAGE, a), [rs[1]])
        self.assertEqual(sp.region_next(b + PAGE), rs[1])
        self.assertIsNone(sp.region_next(a + PAGE))

    def test_futex_keys(self):
        sp = self.space()
        a = sp.mmap(0, PAGE, RW, g.MAP_SHARED | g.MAP_ANONYMOUS)
        self.assertEqual(sp.futex_key(a + 2), -g.EINVAL)
        self.assertEqual(sp.futex_key(0x10000), -g.EFAULT)
        self.assertEqual(sp.futex_key(0x10000, shared=False)[0], g.FUTEX_KEY_PRIVATE)
        k = sp.futex_key(a + 8)
        self.assertEqual((k[0], k[1], k[3]), (g.FUTEX_KEY_OBJECT, 1, 8))
        child = sp.fork()
        try:
            self.assertEqual(child.futex_key(a + 8, write=True), k)
        finally:
            child.close()

    def test_i386_layout(self):
        sp = self.space(g.ABI_I386)
        self.assertEqual(sp.abi, g.ABI_I386)
        self.assertEqual(sp.mmap(0, PAGE, RW, ANON), I386_BASE - PAGE)
        self.assertEqual(sp.mmap2(0, 3 * PAGE, RW, ANON), I386_BASE - 4 * PAGE)
        self.assertEqual(sp.maps(), maps_line(0xf7ffa000, 0xf7ffe000, "rw-p"))

    def test_unknown_abi(self):
        with self.assertRaises(ValueError):
            self.sys.space(3)

    def test_long_maps_text_grows_its_buffer(self):
        sp = self.space()
        for i in range(200):     # alternating protections: 200 lines
            sp.mmap(0, PAGE, g.PROT_READ if i % 2 else RW, ANON)
        text = sp.maps()
        self.assertEqual(len(text.splitlines()), 200)
        self.assertGreater(len(text), 4096)
        self.assertTrue(text.endswith(maps_line(0x7ffff7ffe000, 0x7ffff7fff000, "rw-p")))

    def test_user_pointer_and_python_user(self):
        sp = self.space()
        self.assertIsNone(sp.user_pointer())
        sp.set_user_pointer(0x1234)
        self.assertEqual(sp.user_pointer(), 0x1234)
        sp.set_user_pointer(None)
        self.assertIsNone(sp.user_pointer())
        sp.user = {"pid": 1}
        self.assertEqual(sp.user["pid"], 1)
        self.assertIs(self.sys.spaces()[0], sp)
        self.assertIsInstance(sp.handle, int)
        self.assertIsInstance(self.sys.handle, int)

    def test_rlimits(self):
        sp = self.space()
        inf = g.RLIM_INFINITY
        self.assertEqual(inf, 0xffffffffffffffff)
        self.assertEqual(sp.getrlimit(g.RLIMIT_STACK), (8 << 20, inf))
        self.assertEqual(sp.getrlimit(g.RLIMIT_MEMLOCK), (8 << 20, 8 << 20))
        self.assertEqual(sp.getrlimit(g.RLIMIT_AS), (inf, inf))
        self.assertEqual(sp.getrlimit(g.RLIMIT_DATA), (inf, inf))
        self.assertEqual(sp.setrlimit(g.RLIMIT_AS, 1 << 20, 1 << 20), 0)
        self.assertEqual(sp.getrlimit(g.RLIMIT_AS), (1 << 20, 1 << 20))
        self.assertEqual(sp.mmap(0, 2 << 20, RW, ANON), -g.ENOMEM)
        self.assertEqual(sp.mmap(0, 1 << 20, RW, ANON), X64_BASE - (1 << 20))
        self.assertEqual(sp.setrlimit(g.RLIMIT_AS, 2, 1), -g.EINVAL)
        self.assertEqual(sp.setrlimit(99, 1, 1), -g.EINVAL)
        with self.assertRaises(g.GuestmmError) as cm:
            sp.getrlimit(99)
        self.assertEqual(cm.exception.errno, g.EINVAL)

    def test_brk(self):
        sp = self.space()
        self.assertEqual(sp.init_brk(0x555555559000), 0)
        self.assertEqual(sp.brk(0), 0x555555559000)
        self.assertEqual(sp.brk(0x55555555a100), 0x55555555a100)
        self.assertEqual(sp.brk(0x1000), 0x55555555a100)       # below start: current
        sp.write(0x55555555a0ff, b"x")
        self.assertEqual(sp.maps(), maps_line(0x555555559000, 0x55555555b000, "rw-p",
                                              name="[heap]"))
        self.assertEqual(sp.init_brk(1 << 48), -g.EINVAL)

    def test_execute_only(self):
        sp = self.space()
        self.assertEqual(sp.set_execute_only(True), 0)
        a = sp.mmap(0, PAGE, g.PROT_EXEC, ANON)
        self.assertEqual(a, X64_BASE - PAGE)
        self.assertIsNotNone(sp.translate(a, g.ACCESS_EXEC))
        self.assertIsNone(sp.translate(a, g.ACCESS_READ))
        self.assertEqual(sp.last_fault, g.Fault(a, g.ACCESS_READ, g.SIGSEGV, g.SEGV_PKUERR))
        with self.assertRaises(g.GuestFault):
            sp.read(a, 1)

    def test_setup_stack_code_status_exec_reset(self):
        for name in ("gmm_space_setup_stack", "gmm_space_set_code",
                     "gmm_space_status", "gmm_space_exec_reset"):
            self.need(name)
        sp = self.space()
        self.assertEqual(sp.setup_stack(0), 0x7ffffffff000)
        self.assertEqual(sp.setup_stack(0), -g.EEXIST)
        self.assertEqual(sp.maps(), maps_line(0x7ffffffde000, 0x7ffffffff000, "rw-p",
                                              name="[stack]"))
        self.assertEqual(sp.mmap(0x400000, 3 * PAGE, g.PROT_READ | g.PROT_EXEC,
                                 ANON | g.MAP_FIXED), 0x400000)
        self.assertEqual(sp.set_code(0x400000, 0x403000), 0)
        self.assertEqual(sp.set_code(0x403000, 0x400000), -g.EINVAL)
        status = dict(line.split(":\t") for line in sp.status().splitlines())
        self.assertEqual(status["VmExe"].strip(), "12 kB")
        self.assertEqual(status["VmStk"].strip(), "132 kB")
        self.assertEqual(status["VmSize"].strip(), "144 kB")
        self.assertEqual(sp.exec_reset(), 0)
        self.assertEqual(sp.maps(), "")
        i386 = self.space(g.ABI_I386)
        self.assertEqual(i386.setup_stack(PAGE), 0xfffff000 - PAGE)

    def test_smaps(self):
        self.need("gmm_space_smaps")
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        sp.write(a, b"x")
        text = sp.smaps()
        self.assertTrue(text.startswith(maps_line(a, a + 2 * PAGE, "rw-p")))
        self.assertIn("\nSize:                  8 kB\n", text)
        self.assertIn("\nRss:                   4 kB\n", text)
        self.assertIn("\nAnonymous:             4 kB\n", text)

    def test_closed_space_and_system(self):
        sp = self.sys.space()
        self.sys.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            sp.maps()
        with self.assertRaisesRegex(ValueError, "closed"):
            self.sys.space()
        sp.close()
        self.sys.close()      # idempotent

    def test_fork_copy_on_write(self):
        parent = self.space()
        a = parent.mmap(0, 2 * PAGE, RW, ANON)
        s = parent.mmap(0, PAGE, RW, g.MAP_SHARED | g.MAP_ANONYMOUS)
        parent.write(a, b"parent")
        parent.write(s, b"shared")
        host_before = parent.translate(a, g.ACCESS_WRITE)
        child = parent.fork()
        self.addCleanup(child.close)
        self.assertIsInstance(child, g.Space)
        self.assertEqual(child.abi, g.ABI_X86_64)
        self.assertEqual(child.maps(), parent.maps())
        self.assertEqual(child.read(a, 6), b"parent")
        # A read translation of the child may share the parent's frame ...
        self.assertEqual(child.translate(a, g.ACCESS_READ), host_before)
        # ... a store copies it.
        child.write(a, b"child!")
        self.assertNotEqual(child.translate(a, g.ACCESS_WRITE), host_before)
        self.assertEqual(parent.read(a, 6), b"parent")
        self.assertEqual(child.read(a, 6), b"child!")
        # The parent's own store after the fork breaks COW too (its old
        # translation was invalidated).
        self.invalidated.clear()
        parent.write(a + PAGE, b"p2")
        self.assertEqual(child.read(a + PAGE, 2), b"\0\0")
        # Shared memory stays shared.
        child.write(s, b"SHARED")
        self.assertEqual(parent.read(s, 6), b"SHARED")
        self.assertSpaceOk(parent)
        self.assertSpaceOk(child)

    def test_frame_limit(self):
        self.need("gmm_system_set_frame_limit")
        sp = self.space()
        a = sp.mmap(0, 4 * PAGE, RW, ANON)
        self.assertEqual(self.sys.frames_used(), 0)
        sp.write(a, b"1")
        self.assertEqual(self.sys.frames_used(), 1)
        self.assertEqual(self.sys.set_frame_limit(1), 0)
        self.assertIsNone(sp.translate(a + PAGE, g.ACCESS_WRITE))
        self.assertEqual(sp.last_fault, g.Fault(a + PAGE, g.ACCESS_WRITE, g.SIGBUS, g.BUS_OOM))
        with self.assertRaises(g.GuestFault):
            sp.write(a + PAGE, b"2")
        self.assertEqual(self.sys.set_frame_limit(0), 0)
        sp.write(a + PAGE, b"2")
        self.assertEqual(self.sys.frames_used(), 2)


class TestAllocator(unittest.TestCase):
    def setUp(self):
        if not g.has("gmm_system_create_with_allocator"):
            self.skipTest("gmm_system_create_with_allocator is not in this libguestmm")

    def test_every_block_goes_back(self):
        alloc = g.MallocAllocator()
        with g.System(allocator=alloc) as s, s.space() as sp:
            a = sp.mmap(0, 16 * PAGE, RW, ANON)
            for i in range(0, 16, 2):
                sp.mprotect(a + i * PAGE, PAGE, g.PROT_READ)   # splits
            self.assertGreater(alloc.blocks, 8)
        self.assertEqual((alloc.blocks, alloc.bytes), (0, 0))
        self.assertGreater(alloc.allocations, 8)

    def test_refused_allocation(self):
        alloc = g.MallocAllocator(fail_after=0)
        with self.assertRaises(MemoryError):
            g.System(allocator=alloc)
        self.assertEqual(alloc.failures, 1)
        alloc = g.MallocAllocator()
        with g.System(allocator=alloc) as s, s.space() as sp:
            a = sp.mmap(0, 4 * PAGE, RW, ANON)
            before = sp.maps()
            alloc.fail_after = 0
            self.assertEqual(sp.mprotect(a + PAGE, PAGE, g.PROT_READ), -g.ENOMEM)
            self.assertEqual(sp.maps(), before)      # nothing changed
            alloc.fail_after = None
            self.assertEqual(sp.mprotect(a + PAGE, PAGE, g.PROT_READ), 0)
        self.assertEqual(alloc.blocks, 0)

    def test_allocator_exception_is_raised_after_the_call(self):
        calls = []

        def alloc(ptr, old, new):
            if new and len(calls) >= 1:
                raise ZeroDivisionError("allocator")
            calls.append(new)
            return g.MallocAllocator.__call__(inner, ptr, old, new)
        inner = g.MallocAllocator()
        with self.assertRaises(ZeroDivisionError):
            g.System(allocator=alloc)   # the system wants a second block
        self.assertEqual(inner.blocks, 0)   # the first block went back


# ---------------------------------------------------------------------------
# Syscalls.
# ---------------------------------------------------------------------------

class TestSyscalls(Base):
    def test_mmap_errors_are_negative_errno(self):
        sp = self.space()
        self.assertEqual(sp.mmap(0, 0, RW, ANON), -g.EINVAL)
        self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_ANONYMOUS), -g.EINVAL)
        self.assertEqual(sp.mmap(0, PAGE, RW, ANON, -1, 1), -g.EINVAL)
        self.assertEqual(sp.mmap(0x1000, PAGE, RW, ANON | g.MAP_FIXED), -g.EPERM)
        self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_PRIVATE, 5), -g.EBADF)
        a = sp.mmap(0x10000000, PAGE, RW, ANON | g.MAP_FIXED_NOREPLACE)
        self.assertEqual(a, 0x10000000)
        self.assertEqual(sp.mmap(a, PAGE, RW, ANON | g.MAP_FIXED_NOREPLACE), -g.EEXIST)

    def test_old_mmap_reads_its_arguments_from_guest_memory(self):
        sp = self.space(g.ABI_I386)
        block = sp.mmap(0, PAGE, RW, ANON)
        self.assertEqual(block, 0xf7ffd000)
        sp.write(block, struct.pack("<6I", 0, 2 * PAGE, RW, ANON, 0xffffffff, 0))
        self.assertEqual(sp.old_mmap(block), 0xf7ffb000)
        self.assertEqual(sp.old_mmap(0x1000), -g.EFAULT)

    def test_munmap_and_invalidate(self):
        sp = self.space()
        a = sp.mmap(0, 3 * PAGE, RW, ANON)
        self.assertIsNotNone(sp.translate(a + PAGE, g.ACCESS_WRITE))
        self.invalidated.clear()
        self.assertEqual(sp.munmap(a, 3 * PAGE), 0)
        self.assertEqual(self.invalidated, [(sp, a, 3 * PAGE)])
        self.assertEqual(sp.munmap(a, 3 * PAGE), 0)          # unmapped: fine
        self.assertEqual(sp.munmap(a + 1, PAGE), -g.EINVAL)
        self.assertEqual(sp.maps(), "")

    def test_mprotect(self):
        sp = self.space()
        a = sp.mmap(0, 3 * PAGE, RW, ANON)
        self.assertEqual(sp.mprotect(a + PAGE, PAGE, g.PROT_READ), 0)
        self.assertEqual(sp.maps(), maps_line(a, a + PAGE, "rw-p") +
                         maps_line(a + PAGE, a + 2 * PAGE, "r--p") +
                         maps_line(a + 2 * PAGE, a + 3 * PAGE, "rw-p"))
        with self.assertRaises(g.GuestFault) as cm:
            sp.write(a + PAGE, b"x")
        self.assertEqual(cm.exception.errno, g.EFAULT)
        self.assertEqual(sp.mprotect(a, 3 * PAGE, RW), 0)
        self.assertEqual(sp.maps(), maps_line(a, a + 3 * PAGE, "rw-p"))
        self.assertEqual(sp.mprotect(a + 3 * PAGE, PAGE, RW), -g.ENOMEM)

    def test_mremap(self):
        sp = self.space()
        a = implemented(self, sp.mmap(0, 2 * PAGE, RW, ANON), "mmap")
        b = sp.mmap(0, PAGE, RW, ANON)
        self.assertEqual((a, b), (0x7ffff7ffd000, 0x7ffff7ffc000))
        sp.write(b, b"moved")
        # b cannot grow in place (a is above it): it moves, with its data.
        ret = implemented(self, sp.mremap(b, PAGE, 2 * PAGE, g.MREMAP_MAYMOVE), "mremap")
        self.assertEqual(ret, 0x7ffff7ffa000)
        self.assertEqual(sp.read(ret, 5), b"moved")
        self.assertEqual(sp.mremap(a, 2 * PAGE, PAGE), a)                 # shrink
        self.assertEqual(sp.mremap(ret, 2 * PAGE, 4 * PAGE, 0), -g.ENOMEM)  # no room
        self.assertEqual(sp.maps(), maps_line(0x7ffff7ffa000, 0x7ffff7ffc000, "rw-p") +
                         maps_line(0x7ffff7ffd000, 0x7ffff7ffe000, "rw-p"))

    def test_madvise(self):
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        sp.write(a, b"data")
        implemented(self, sp.madvise(a, 2 * PAGE, g.MADV_DONTNEED), "madvise")
        self.assertEqual(sp.read(a, 4), b"\0\0\0\0")
        self.assertEqual(sp.madvise(a, PAGE, 999), -g.EINVAL)
        self.assertEqual(sp.madvise(a + 1, PAGE, g.MADV_NORMAL), -g.EINVAL)
        self.assertEqual(sp.madvise(a, 3 * PAGE, g.MADV_NORMAL), -g.ENOMEM)
        self.assertEqual(sp.madvise(a, PAGE, g.MADV_GUARD_INSTALL), 0)
        self.assertIsNone(sp.translate(a, g.ACCESS_READ))
        self.assertEqual(sp.last_fault, g.Fault(a, g.ACCESS_READ, g.SIGSEGV, g.SEGV_MAPERR))

    def test_mlock_family(self):
        sp = self.space()
        a = sp.mmap(0, 4 * PAGE, RW, ANON)
        implemented(self, sp.mlock(a, 2 * PAGE), "mlock")
        self.assertEqual(sp.mlock2(a + 2 * PAGE, PAGE, g.MLOCK_ONFAULT), 0)
        self.assertEqual(sp.mlock2(a, PAGE, 8), -g.EINVAL)
        if g.has("gmm_space_status"):
            self.assertIn("VmLck:\t      12 kB\n", sp.status())
        self.assertEqual(sp.munlock(a, 4 * PAGE), 0)
        self.assertEqual(sp.munlock(a, 5 * PAGE), -g.ENOMEM)
        self.assertEqual(sp.mlockall(g.MCL_CURRENT), 0)
        self.assertEqual(sp.mlockall(g.MCL_ONFAULT), -g.EINVAL)
        self.assertEqual(sp.munlockall(), 0)
        self.assertEqual(sp.setrlimit(g.RLIMIT_MEMLOCK, 0, 0), 0)
        self.assertEqual(sp.mlock(a, PAGE), -g.EPERM)

    def test_mincore(self):
        sp = self.space()
        a = sp.mmap(0, 3 * PAGE, RW, ANON)
        vec = sp.mmap(0, PAGE, RW, ANON)
        sp.write(a + PAGE, b"x")
        sp.write(vec, b"\xff\xff\xff")
        implemented(self, sp.mincore(a, 3 * PAGE, vec), "mincore")
        self.assertEqual(sp.read(vec, 3), b"\0\1\0")
        self.assertEqual(sp.mincore(a + 1, PAGE, vec), -g.EINVAL)
        self.assertEqual(sp.mincore(a, PAGE, 0x1000), -g.EFAULT)

    def test_msync(self):
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        implemented(self, sp.msync(a, 2 * PAGE, g.MS_SYNC), "msync")
        self.assertEqual(sp.msync(a, PAGE, g.MS_SYNC | g.MS_ASYNC), -g.EINVAL)
        self.assertEqual(sp.msync(a + 1, PAGE, g.MS_ASYNC), -g.EINVAL)
        self.assertEqual(sp.msync(a, 3 * PAGE, g.MS_ASYNC), -g.ENOMEM)

    def test_mempolicy(self):
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        scratch = sp.mmap(0, PAGE, RW, ANON)
        mask, mode = scratch, scratch + 64
        sp.write(mask, struct.pack("<Q", 1))     # node 0
        implemented(self, sp.mbind(a, PAGE, g.MPOL_BIND, mask, 2, 0), "mbind")
        self.assertEqual(sp.get_mempolicy(mode, 0, 0, a, g.MPOL_F_ADDR), 0)
        self.assertEqual(struct.unpack("<i", sp.read(mode, 4))[0], g.MPOL_BIND)
        self.assertEqual(sp.get_mempolicy(mode, 0, 0, a + PAGE, g.MPOL_F_ADDR), 0)
        self.assertEqual(struct.unpack("<i", sp.read(mode, 4))[0], g.MPOL_DEFAULT)
        self.assertEqual(sp.set_mempolicy(g.MPOL_PREFERRED, mask, 2), 0)
        self.assertEqual(sp.get_mempolicy(mode, 0, 0, 0, 0), 0)
        self.assertEqual(struct.unpack("<i", sp.read(mode, 4))[0], g.MPOL_PREFERRED)
        self.assertEqual(sp.set_mempolicy(99, 0, 0), -g.EINVAL)
        self.assertEqual(sp.mbind(a, PAGE, g.MPOL_BIND, 0x1000, 2, 0), -g.EFAULT)
        self.assertEqual(sp.maps(), maps_line(scratch, scratch + PAGE, "rw-p") +
                         maps_line(a, a + PAGE, "rw-p") +
                         maps_line(a + PAGE, a + 2 * PAGE, "rw-p"))

    def test_anon_name(self):
        self.need("gmm_sys_prctl_set_vma_anon_name")
        sp = self.space()
        a = sp.mmap(0, PAGE, RW, ANON)
        name = sp.mmap(0, PAGE, RW, ANON)
        sp.write(name, b"py heap\0")
        self.assertEqual(sp.prctl_set_vma_anon_name(a, PAGE, name), 0)
        self.assertEqual(sp.maps(), maps_line(name, name + PAGE, "rw-p") +
                         maps_line(a, a + PAGE, "rw-p", name="[anon:py heap]"))
        sp.write(name, b"bad$\0")
        self.assertEqual(sp.prctl_set_vma_anon_name(a, PAGE, name), -g.EINVAL)


# ---------------------------------------------------------------------------
# Guest memory access and faults.
# ---------------------------------------------------------------------------

class TestAccess(Base):
    def test_read_write_roundtrip(self):
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        self.assertEqual(sp.read(a, 8), bytes(8))
        data = bytes(range(256)) * 20          # crosses the page boundary
        sp.write(a + 100, data)
        self.assertEqual(sp.read(a + 100, len(data)), data)
        sp.write(a, bytearray(b"ba"))
        sp.write(a + 2, memoryview(b"mv"))
        self.assertEqual(sp.read(a, 4), b"bamv")
        self.assertEqual(sp.read(a, 0), b"")

    def test_user_copy_faults(self):
        sp = self.space()
        a = sp.mmap(0, PAGE, g.PROT_READ, ANON)
        with self.assertRaises(g.GuestFault) as cm:
            sp.read(0x1000, 4)
        self.assertEqual((cm.exception.errno, cm.exception.addr, cm.exception.length),
                         (g.EFAULT, 0x1000, 4))
        self.assertIsInstance(cm.exception, OSError)
        with self.assertRaises(g.GuestFault):
            sp.write(a, b"ro")
        with self.assertRaises(g.GuestFault):
            sp.read(a + PAGE - 2, 4)          # runs off the mapping
        self.assertEqual(self.faults, [])     # user copies never call fault

    def test_translate_gives_host_memory(self):
        sp = self.space()
        a = sp.mmap(0, PAGE, RW, ANON)
        host = sp.translate(a + 8, g.ACCESS_WRITE)
        self.assertIsInstance(host, int)
        ctypes.memmove(host, b"from host", 9)
        self.assertEqual(sp.read(a + 8, 9), b"from host")
        sp.write(a + 20, b"!")
        self.assertEqual(ctypes.string_at(host + 12, 1), b"!")
        self.assertEqual(sp.translate(a, g.ACCESS_READ) + 8, host)

    def test_translate_perms(self):
        self.need("gmm_translate_perms")
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        ro = sp.mmap(0, PAGE, g.PROT_READ | g.PROT_EXEC, ANON)
        # A read of an untouched page: the shared zero page, no WRITE yet.
        host, allowed = sp.translate_perms(a, g.ACCESS_READ)
        self.assertIsNotNone(host)
        self.assertEqual(allowed, g.ACCESS_READ)
        host, allowed = sp.translate_perms(a, g.ACCESS_WRITE)
        self.assertEqual(allowed, g.ACCESS_READ | g.ACCESS_WRITE)
        self.assertEqual(sp.translate_perms(ro, g.ACCESS_READ)[1],
                         g.ACCESS_READ | g.ACCESS_EXEC)
        self.assertEqual(sp.translate_perms(ro, g.ACCESS_WRITE), (None, 0))
        self.assertEqual(sp.last_fault, g.Fault(ro, g.ACCESS_WRITE, g.SIGSEGV, g.SEGV_ACCERR))

    def test_snapshots(self):
        self.need("gmm_snapshot_take")
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        sp.write(a, b"before")
        maps = sp.maps()
        snap = sp.snapshot()
        self.assertIsInstance(snap, g.Snapshot)
        sp.write(a, b"after!")
        b = sp.mmap(0, 4 * PAGE, RW, ANON)
        self.assertEqual(sp.munmap(a, PAGE), 0)
        for _ in range(3):
            self.assertEqual(sp.restore(snap), 0)
            self.assertEqual(sp.maps(), maps)
            self.assertEqual(sp.read(a, 6), b"before")
            self.assertEqual(sp.mmap(0, 4 * PAGE, RW, ANON), b)
        self.assertIsNone(sp.check())
        inner = sp.snapshot()
        self.assertEqual(sp.restore(snap), 0)
        # Restoring the older snapshot discarded the newer one.
        self.assertEqual(sp.restore(inner), -g.EINVAL)
        other = self.space()
        self.assertEqual(other.restore(snap), -g.EINVAL)
        snap.discard()
        snap.discard()
        self.assertEqual(sp.restore(snap), -g.EINVAL)
        with self.assertRaises(TypeError):
            sp.restore(None)
        with sp.snapshot() as last:
            sp.close()
        last.discard()

    def test_cpu_objects(self):
        self.need("gmm_cpu_create")
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, ANON)
        with sp.cpu() as cpu:
            self.assertIs(cpu.space, sp)
            self.assertEqual(cpu.space_handle(), sp.handle)
            host = cpu.translate(a + 4, g.ACCESS_WRITE)
            self.assertEqual(host, sp.translate(a + 4, g.ACCESS_WRITE))
            ctypes.memmove(host, b"cpu", 3)
            self.assertEqual(sp.read(a + 4, 3), b"cpu")
            self.assertIsNone(cpu.translate(0x2000, g.ACCESS_READ))
            self.assertEqual(self.faults, [(sp, g.Fault(0x2000, g.ACCESS_READ, g.SIGSEGV,
                                                        g.SEGV_MAPERR))])
            cpu.quiesce()
            cpu.offline()
            cpu.online()
            # A change made through the space reaches the CPU's TLB.
            self.assertEqual(sp.mprotect(a, PAGE, g.PROT_READ), 0)
            self.assertIsNone(cpu.translate(a, g.ACCESS_WRITE))
            self.assertEqual(sp.last_fault.code, g.SEGV_ACCERR)
        with self.assertRaisesRegex(ValueError, "Cpu is closed"):
            cpu.quiesce()
        cpu = sp.cpu()
        sp.close()                       # closes its CPUs first
        with self.assertRaises(ValueError):
            cpu.translate(a)

    def test_cpu_threads(self):
        self.need("gmm_cpu_create")
        import threading
        sp = self.space()
        pages = [sp.mmap(0, PAGE, RW, ANON) for _ in range(3)]
        errors = []

        def run(page, tag):
            try:
                with sp.cpu() as cpu:
                    for i in range(500):
                        host = cpu.translate(page, g.ACCESS_WRITE)
                        ctypes.memmove(host, tag, 1)
                        cpu.quiesce()
            except BaseException as e:      # reported below
                errors.append(e)
        threads = [threading.Thread(target=run, args=(p, bytes([65 + i])))
                   for i, p in enumerate(pages[:2])]
        for t in threads:
            t.start()
        for i in range(200):                # the main thread changes the space
            sp.mprotect(pages[2], PAGE, g.PROT_READ if i % 2 else RW)
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual((sp.read(pages[0], 1), sp.read(pages[1], 1)), (b"A", b"B"))
        self.assertSpaceOk(sp)

    def test_fault_callback_signo_and_code(self):
        sp = self.space()
        ro = sp.mmap(0, PAGE, g.PROT_READ, ANON)
        self.assertIsNone(sp.translate(0x12345, g.ACCESS_READ))
        self.assertIsNone(sp.translate(ro + 5, g.ACCESS_WRITE))
        self.assertIsNone(sp.translate(ro, g.ACCESS_EXEC))
        self.assertEqual(self.faults, [
            (sp, g.Fault(0x12345, g.ACCESS_READ, g.SIGSEGV, g.SEGV_MAPERR)),
            (sp, g.Fault(ro + 5, g.ACCESS_WRITE, g.SIGSEGV, g.SEGV_ACCERR)),
            (sp, g.Fault(ro, g.ACCESS_EXEC, g.SIGSEGV, g.SEGV_ACCERR)),
        ])
        self.assertEqual(sp.last_fault, self.faults[-1][1])

    def test_exception_in_fault_callback_is_raised_after_the_call(self):
        def fault(space, f):
            raise KeyError("guest fault at %#x" % f.addr)
        with g.System(fault=fault) as s, s.space() as sp:
            with self.assertRaisesRegex(KeyError, "0x1000"):
                sp.translate(0x1000, g.ACCESS_READ)
            self.assertEqual(sp.last_fault.addr, 0x1000)
            a = sp.mmap(0, PAGE, RW, ANON)      # the space still works
            self.assertIsNotNone(sp.translate(a, g.ACCESS_WRITE))

    def test_exception_in_invalidate_callback(self):
        def invalidate(space, start, length):
            raise RuntimeError("invalidate %#x+%#x" % (start, length))
        with g.System(invalidate=invalidate) as s, s.space() as sp:
            a = sp.mmap(0, PAGE, RW, ANON)
            with self.assertRaisesRegex(RuntimeError, "invalidate 0x7ffff7ffe000\\+0x1000"):
                sp.munmap(a, PAGE)
            self.assertEqual(sp.maps(), "")      # the munmap itself happened

    def test_calling_back_into_the_space_from_a_callback(self):
        def fault(space, f):
            space.read(f.addr, 1)
        with g.System(fault=fault) as s, s.space() as sp:
            with self.assertRaisesRegex(RuntimeError, "deadlock"):
                sp.translate(0x1000, g.ACCESS_READ)

    def test_callbacks_stay_alive(self):
        seen = []

        def make():
            return g.System(fault=lambda sp, f: seen.append(f.signo),
                            invalidate=lambda sp, s, n: seen.append(n))
        s = make()
        self.addCleanup(s.close)
        gc.collect()
        sp = s.space()
        a = sp.mmap(0, PAGE, RW, ANON)
        sp.translate(a, g.ACCESS_WRITE)
        sp.translate(0x1000, g.ACCESS_READ)
        sp.munmap(a, PAGE)
        self.assertEqual(seen, [g.SIGSEGV, PAGE])

    def test_unreferenced_system_and_space_are_freed(self):
        s = g.System(fault=lambda sp, f: None)
        sp = s.space()
        sp.write(sp.mmap(0, PAGE, RW, ANON), b"x")
        del s, sp
        gc.collect()

    def test_system_space_and_cpu_collected_together(self):
        # One cycle holds them all: the collector clears the weak entries
        # the System and Space keep of their children before any finalizer
        # runs, and finalizes in creation order, the System first.  The C
        # objects must still go children first.
        for mappable in (False, True):
            if mappable and not g.has("gmm_window_create"):
                continue
            with self.subTest(mappable=mappable):
                s = g.System(mappable=mappable, invalidate=lambda sp, a, n: None)
                sp = s.space(g.ABI_I386)
                child = sp.fork()
                cpu = sp.cpu()
                cpu.translate(g.check(sp.mmap(0, PAGE, RW, ANON)), g.ACCESS_WRITE)
                cycle = [s, sp, child, cpu]
                if mappable:
                    cycle.append(sp.window(0, 1 << 32))
                cycle.append(cycle)
                del s, sp, child, cpu, cycle
                gc.collect()


# ---------------------------------------------------------------------------
# File mappings through Python file objects.
# ---------------------------------------------------------------------------

class TestFiles(Base):
    def test_shared_writes_go_back_private_copies_do_not(self):
        f = g.BytesFile(b"A" * PAGE + b"B" * 100, path="/data/file", dev=0x801, ino=77)
        self.files[3] = f
        sp = self.space()
        shared = sp.mmap(0, 2 * PAGE, RW, g.MAP_SHARED, 3, 0)
        private = sp.mmap(0, 2 * PAGE, RW, g.MAP_PRIVATE, 3, 0)
        self.assertEqual((shared, private), (0x7ffff7ffd000, 0x7ffff7ffb000))
        self.assertEqual(sp.maps(),
                         maps_line(private, private + 2 * PAGE, "rw-p", 0, 0x801, 77,
                                   "/data/file") +
                         maps_line(shared, shared + 2 * PAGE, "rw-s", 0, 0x801, 77,
                                   "/data/file"))
        self.assertEqual(sp.read(private + PAGE, 101), b"B" * 100 + b"\0")  # EOF tail
        sp.write(private, b"private")
        sp.write(shared + PAGE, b"shared")
        self.assertEqual(sp.read(shared, 7), b"AAAAAAA")   # the private copy is apart
        self.assertEqual(sp.read(private + PAGE, 6), b"shared")  # clean page: the cache
        self.assertEqual(bytes(f.data[PAGE:PAGE + 6]), b"BBBBBB")  # not yet written back
        self.assertEqual(implemented(self, sp.msync(shared, 2 * PAGE, g.MS_SYNC), "msync"), 0)
        self.assertEqual(bytes(f.data), b"A" * PAGE + b"shared" + b"B" * 94)
        self.assertEqual(len(f.data), PAGE + 100)          # the file does not grow
        self.assertEqual(sp.munmap(shared, 2 * PAGE), 0)
        self.assertEqual(sp.munmap(private, 2 * PAGE), 0)
        self.assertEqual(f.releases, 2)
        self.assertEqual(self.sys.open_files, [])
        self.assertNotIn(b"private", bytes(f.data))

    def test_writeback_at_munmap_and_close(self):
        f = g.BytesFile(bytes(PAGE), ino=78)
        self.files[4] = f
        sp = self.space()
        a = sp.mmap(0, PAGE, RW, g.MAP_SHARED, 4, 0)
        sp.write(a, b"at munmap")
        sp.munmap(a, PAGE)
        self.assertEqual(bytes(f.data[:9]), b"at munmap")
        a = sp.mmap(0, PAGE, RW, g.MAP_SHARED, 4, 0)
        sp.write(a, b"at close!")
        sp.close()
        self.sys.close()
        self.assertEqual(bytes(f.data[:9]), b"at close!")
        self.assertEqual(f.releases, 2)

    def test_mmap2_offset_and_sigbus_beyond_eof(self):
        f = g.BytesFile(b"0" * PAGE + b"1" * PAGE, path="/lib/x.so", ino=79)
        self.files[5] = f
        sp = self.space(g.ABI_I386)
        a = sp.mmap2(0, 3 * PAGE, g.PROT_READ, g.MAP_PRIVATE, 5, 1)
        self.assertEqual(a, 0xf7ffb000)
        self.assertEqual(sp.maps(), maps_line(a, a + 3 * PAGE, "r--p", PAGE, 0x801, 79,
                                              "/lib/x.so"))
        self.assertEqual(sp.read(a, 2), b"11")
        self.assertIsNone(sp.translate(a + PAGE, g.ACCESS_READ))
        self.assertEqual(self.faults, [(sp, g.Fault(a + PAGE, g.ACCESS_READ, g.SIGBUS,
                                                    g.BUS_ADRERR))])
        with self.assertRaises(g.GuestFault):
            sp.read(a + PAGE, 1)
        self.assertEqual(sp.mmap(0, PAGE, g.PROT_READ, g.MAP_PRIVATE, 5, 1), -g.EINVAL)

    def test_file_checks(self):
        sp = self.space()
        self.files[6] = g.BytesFile(b"ro", writable=False, ino=80)
        self.files[7] = -g.ENODEV
        self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_SHARED, 6, 0), -g.EACCES)
        self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_PRIVATE, 6, 0), X64_BASE - PAGE)
        self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_PRIVATE, 7, 0), -g.ENODEV)
        self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_PRIVATE, 8, 0), -g.EBADF)

    def test_read_only_file_object(self):
        class ReadOnly:
            dev, ino, path = 0x802, 5, "/ro"

            def read(self, off, n):
                return b"r" * n

            def size(self):
                return PAGE
        self.files[3] = ReadOnly()
        sp = self.space()
        a = sp.mmap(0, PAGE, g.PROT_READ, g.MAP_SHARED, 3, 0)
        self.assertEqual(sp.read(a, 3), b"rrr")
        self.assertEqual(sp.maps(), maps_line(a, a + PAGE, "r--s", 0, 0x802, 5, "/ro"))
        self.assertEqual(sp.munmap(a, PAGE), 0)

    def test_callback_errors(self):
        class Failing(g.BytesFile):
            def read(self, off, n):
                if off == 0:
                    raise OSError(g.EIO, "disk")
                raise ValueError("bug in read")

        def get_file(fd):
            if fd == 1:
                raise PermissionError(g.EACCES, "no")
            if fd == 2:
                raise LookupError("bug in get_file")
            return Failing(bytes(2 * PAGE), ino=81)
        with g.System(get_file=get_file) as s, s.space() as sp:
            self.assertEqual(sp.mmap(0, PAGE, RW, g.MAP_PRIVATE, 1, 0), -g.EACCES)
            with self.assertRaisesRegex(LookupError, "bug in get_file"):
                sp.mmap(0, PAGE, RW, g.MAP_PRIVATE, 2, 0)
            a = sp.mmap(0, 2 * PAGE, RW, g.MAP_PRIVATE, 3, 0)
            with self.assertRaises(g.GuestFault):      # -EIO to the library
                sp.read(a, 1)
            with self.assertRaisesRegex(ValueError, "bug in read"):
                sp.read(a + PAGE, 1)
            self.assertEqual(s.open_files[0].ino, 81)

    def test_notifications_written_resized_sync(self):
        f = g.BytesFile(b"x" * (2 * PAGE), ino=82)
        self.files[3] = f
        sp = self.space()
        a = sp.mmap(0, 2 * PAGE, RW, g.MAP_SHARED, 3, 0)
        self.assertEqual(sp.read(a, 2), b"xx")
        f.data[0:5] = b"hello"
        self.sys.file_written(f.dev, f.ino, 0, b"hello")
        self.assertEqual(sp.read(a, 5), b"hello")
        del f.data[PAGE:]
        self.sys.file_resized(f.dev, f.ino, PAGE)
        self.assertIsNone(sp.translate(a + PAGE, g.ACCESS_READ))
        self.assertEqual(sp.last_fault.signo, g.SIGBUS)
        sp.write(a + 10, b"dirty")
        self.assertEqual(self.sys.file_sync(f.dev, f.ino), 0)
        self.assertEqual(bytes(f.data[10:15]), b"dirty")
        self.assertEqual(self.sys.file_sync(1, 2), 0)        # not mapped: ignored

    def test_host_file(self):
        with tempfile.NamedTemporaryFile() as t:
            t.write(b"host file contents".ljust(PAGE, b"."))
            t.flush()
            with g.HostFile(t.name, writable=True) as hf:
                self.files[3] = hf
                sp = self.space()
                a = sp.mmap(0, PAGE, RW, g.MAP_SHARED, 3, 0)
                st = os.stat(t.name)
                self.assertEqual(sp.maps(), maps_line(a, a + PAGE, "rw-s", 0, st.st_dev,
                                                      st.st_ino, os.path.abspath(t.name)))
                self.assertEqual(sp.read(a, 17), b"host file content")
                sp.write(a, b"HOST")
                sp.munmap(a, PAGE)
            with open(t.name, "rb") as r:
                self.assertEqual(r.read(9), b"HOST file")

    def test_fork_shares_file_pages(self):
        f = g.BytesFile(bytes(PAGE), ino=83)
        self.files[3] = f
        parent = self.space()
        a = parent.mmap(0, PAGE, RW, g.MAP_SHARED, 3, 0)
        p = parent.mmap(0, PAGE, RW, g.MAP_PRIVATE, 3, 0)
        child = parent.fork()
        self.addCleanup(child.close)
        child.write(a, b"from child")
        child.write(p, b"private")
        self.assertEqual(parent.read(a, 10), b"from child")
        # The parent's private page was never stored to: it shows the page
        # cache, which the shared store changed, not the child's copy.
        self.assertEqual(parent.read(p, 10), b"from child")
        self.assertEqual(child.read(p, 10), b"privateild")
        child.close()
        parent.close()
        self.assertEqual(bytes(f.data[:10]), b"from child")
        self.assertEqual(f.releases, 2)    # one per get_file (mmap); fork adds none


# ---------------------------------------------------------------------------
# Windows: a space mirrored into host memory.
# ---------------------------------------------------------------------------

GUEST_FAULT_CHILD = r"""
import ctypes, os, sys
sys.path.insert(0, %r)
import guestmm as g
def fault(space, f):
    os.write(1, b"python fault callback\n")
with g.System(mappable=True, fault=fault) as s:
    sp = s.space(g.ABI_I386)
    w = sp.window(0, 1 << 32)
    assert g.install_window_handler() == 0
    a = g.check(sp.mmap(0, 4096, g.PROT_READ, g.MAP_PRIVATE | g.MAP_ANONYMOUS))
    print("readable:", ctypes.string_at(w.base + a, 2), flush=True)
    if sys.argv[1:] == ["--no-store"]:
        sys.exit(0)
    print("storing to a read-only page", flush=True)
    ctypes.memmove(w.base + a, b"x", 1)
    print("not reached", flush=True)
"""


class TestWindow(unittest.TestCase):
    """A mappable system, an i386 space and a window over its 4 GiB, with
    the ready-made handler installed for the whole test process."""

    def setUp(self):
        if not g.has("gmm_window_create"):
            self.skipTest("gmm_window_create is not in this libguestmm")
        self.faults = []
        self.invalidated = []
        self.files = {}
        self.sys = g.System(get_file=self.files.get, mappable=True,
                            fault=lambda sp, f: self.faults.append(f),
                            invalidate=lambda sp, s, n: self.invalidated.append((s, n)))
        self.addCleanup(self.sys.close)
        self.assertEqual(g.install_window_handler(), 0)
        self.sp = self.sys.space(g.ABI_I386)
        self.addCleanup(self.sp.close)
        self.w = self.sp.window(0, 1 << 32)
        self.addCleanup(self.w.close)

    def assertMirrorOk(self):
        self.assertIsNone(self.w.check())
        self.assertIsNone(self.sp.check())     # runs the window checker too

    def host(self, addr):
        return self.w.base + addr

    def test_space_write_shows_through_the_window(self):
        a = g.check(self.sp.mmap(0, 16 * PAGE, RW, ANON))
        self.assertEqual(a, I386_BASE - 16 * PAGE)
        self.assertMirrorOk()
        self.sp.write(a + 100, b"through gmm_write")
        self.assertMirrorOk()
        self.assertEqual(ctypes.string_at(self.host(a + 100), 17), b"through gmm_write")
        self.assertMirrorOk()
        st = self.w.stats()
        self.assertGreater(st.faults, 0)
        self.assertGreater(st.pages_mapped, 0)
        self.assertEqual(st.host_mappings, self.w.host_mappings())
        self.assertEqual(self.faults, [])

    def test_first_store_through_the_window_faults_and_is_resolved(self):
        a = g.check(self.sp.mmap(0, 64 * 1024, RW, ANON))
        before = self.w.stats().faults
        ctypes.memmove(self.host(a + 5 * PAGE + 8), b"through the window", 18)
        self.assertGreater(self.w.stats().faults, before)
        self.assertMirrorOk()
        self.assertEqual(self.sp.read(a + 5 * PAGE + 8, 18), b"through the window")
        # A store to every page, in order, then the space reads them all.
        for i in range(16):
            ctypes.memmove(self.host(a + i * PAGE), bytes([i + 1]) * 4, 4)
        self.assertMirrorOk()
        self.assertEqual([self.sp.read(a + i * PAGE, 4) for i in range(16)],
                         [bytes([i + 1]) * 4 for i in range(16)])
        self.assertEqual(self.faults, [])

    def test_munmap_unmaps_the_window_pages(self):
        a = g.check(self.sp.mmap(0, 4 * PAGE, RW, ANON))
        ctypes.memmove(self.host(a), b"gone soon", 9)
        self.assertGreater(self.w.stats().pages_mapped, 0)
        self.assertEqual(g.check(self.sp.munmap(a, 4 * PAGE)), 0)
        self.assertMirrorOk()
        st = self.w.stats()
        self.assertEqual(st.pages_mapped, 0)
        self.assertEqual(st.host_mappings, 1)    # the reservation, PROT_NONE
        self.assertEqual(self.w.host_mappings(), 1)
        self.assertEqual(self.w.fault(self.host(a), g.ACCESS_READ),
                         g.Fault(a, g.ACCESS_READ, g.SIGSEGV, g.SEGV_MAPERR))

    def test_read_then_store_copies_the_zero_page(self):
        a = g.check(self.sp.mmap(0, PAGE, RW, ANON))
        self.assertEqual(ctypes.string_at(self.host(a), 8), bytes(8))  # the zero page
        self.assertMirrorOk()
        ctypes.memmove(self.host(a), b"copied", 6)      # copy on write
        self.assertMirrorOk()
        self.assertEqual(self.sp.read(a, 6), b"copied")

    def test_fork_makes_the_parent_window_copy_on_write(self):
        a = g.check(self.sp.mmap(0, PAGE, RW, ANON))
        ctypes.memmove(self.host(a), b"before fork", 11)
        child = self.sp.fork()
        self.addCleanup(child.close)
        self.assertMirrorOk()
        ctypes.memmove(self.host(a), b"parent", 6)      # breaks copy on write
        self.assertMirrorOk()
        self.assertEqual(self.sp.read(a, 11), b"parent fork")
        self.assertEqual(child.read(a, 11), b"before fork")
        self.assertIsNone(child.check())

    def test_file_page_in_through_the_window(self):
        f = g.BytesFile(b"file bytes" + bytes(PAGE), ino=90)
        self.files[3] = f
        a = g.check(self.sp.mmap(0, PAGE, g.PROT_READ, g.MAP_PRIVATE, 3, 0))
        # The handler runs File.read (in Python) to bring the page in.
        self.assertEqual(ctypes.string_at(self.host(a), 10), b"file bytes")
        self.assertMirrorOk()

    def test_fault_reports_what_the_guest_gets(self):
        ro = g.check(self.sp.mmap(0, PAGE, g.PROT_READ, ANON))
        rw = g.check(self.sp.mmap(0, PAGE, RW, ANON))
        self.assertIsNone(self.w.fault(self.host(rw), g.ACCESS_WRITE))    # resolved
        self.assertIsNone(self.w.fault(self.host(ro), g.ACCESS_READ))
        self.assertEqual(self.w.fault(self.host(ro + 4), g.ACCESS_WRITE),
                         g.Fault(ro + 4, g.ACCESS_WRITE, g.SIGSEGV, g.SEGV_ACCERR))
        # The host never executes guest memory.
        self.assertEqual(self.w.fault(self.host(rw), g.ACCESS_EXEC),
                         g.Fault(rw, g.ACCESS_EXEC, g.SIGSEGV, g.SEGV_ACCERR))
        self.assertEqual(self.w.fault(self.host(0x1000), g.ACCESS_READ),
                         g.Fault(0x1000, g.ACCESS_READ, g.SIGSEGV, g.SEGV_MAPERR))
        with self.assertRaises(g.GuestmmError) as cm:
            self.w.fault(self.w.base - PAGE, g.ACCESS_READ)
        self.assertEqual(cm.exception.errno, g.EFAULT)
        self.assertMirrorOk()
        self.assertEqual(self.faults, [])    # fault() returns; no callback

    def test_translate_still_calls_the_fault_callback(self):
        self.assertIsNone(self.sp.translate(0x1000, g.ACCESS_READ))
        self.assertEqual(self.faults, [g.Fault(0x1000, g.ACCESS_READ, g.SIGSEGV,
                                               g.SEGV_MAPERR)])
        self.assertEqual(self.sp.last_fault, self.faults[0])

    def test_find_window(self):
        a = g.check(self.sp.mmap(0, PAGE, RW, ANON))
        self.assertIs(g.find_window(self.host(a)), self.w)
        self.assertIs(g.find_window(self.w.address(0)), self.w)
        self.assertIsNone(g.find_window(self.w.base - 1))
        self.assertIsNone(g.find_window(ctypes.addressof(ctypes.c_int())))
        self.assertEqual(self.sp.windows(), [self.w])

    def test_budget_and_fault_around(self):
        a = g.check(self.sp.mmap(0, 64 * PAGE, RW, ANON))
        self.w.set_fault_around(1)
        ctypes.memmove(self.host(a), b"1", 1)
        self.assertEqual(self.w.stats().pages_mapped, 1)
        self.w.set_fault_around(16)
        ctypes.memmove(self.host(a + 32 * PAGE), b"2", 1)
        self.assertEqual(self.w.stats().pages_mapped, 17)
        self.assertEqual(self.w.stats().budget, 8192)
        self.w.set_budget(3)
        self.assertEqual(self.w.stats().budget, 16)     # at least 16
        self.assertMirrorOk()
        # Every other page read-only: each store is a mapping of its own,
        # so the budget is passed and the window flushed, never wrong.
        self.w.set_fault_around(1)
        for i in range(0, 64, 2):
            g.check(self.sp.mprotect(a + i * PAGE, PAGE, g.PROT_READ))
        for i in range(64):
            ctypes.string_at(self.host(a + i * PAGE), 1)
        st = self.w.stats()
        self.assertGreater(st.flushes, 0)
        self.assertLessEqual(st.host_mappings, 16)
        self.assertMirrorOk()

    def test_two_windows_of_one_space_show_the_same_memory(self):
        w2 = self.sp.window(0, 1 << 32)
        self.addCleanup(w2.close)
        a = g.check(self.sp.mmap(0, 4 * PAGE, RW, ANON))
        ctypes.memmove(self.host(a), b"one", 3)
        self.assertEqual(ctypes.string_at(w2.base + a, 3), b"one")
        ctypes.memmove(w2.base + a + PAGE, b"two", 3)
        self.assertEqual(ctypes.string_at(self.host(a + PAGE), 3), b"two")
        g.check(self.sp.munmap(a, 4 * PAGE))
        self.assertEqual(self.w.stats().pages_mapped, 0)
        self.assertEqual(w2.stats().pages_mapped, 0)

    def test_two_adjacent_windows_pass_the_mirror_checker(self):
        # The kernel merges a window's PROT_NONE MAP_NORESERVE reservation
        # with an adjacent one of the same kind (another window's, as here;
        # glibc reserves malloc heaps that way too): the checker counts the
        # part inside each reservation.
        w2 = self.sp.window(0, 1 << 32)
        self.addCleanup(w2.close)
        if abs(w2.base - self.w.base) != 1 << 32:
            self.skipTest("the two reservations are not adjacent this time")
        self.assertIsNone(self.w.check())
        self.assertIsNone(w2.check())

    def test_window_of_an_x86_64_space(self):
        self.w.close()    # no reservation for the new one to merge with
        sp = self.sys.space(g.ABI_X86_64)
        self.addCleanup(sp.close)
        a = g.check(sp.mmap(0, 4 * PAGE, RW, ANON))
        with sp.window(a, a + 4 * PAGE) as w:
            # base (guest 0) lies far below the reservation: base + a is
            # still the exact host address.
            self.assertTrue(0 < w.base + a < 1 << 64)
            self.assertIs(g.find_window(w.base + a), w)
            self.assertIsNone(g.find_window(w.base + a - 1))
            ctypes.memmove(w.base + a + PAGE, b"x86-64", 6)
            self.assertEqual(sp.read(a + PAGE, 6), b"x86-64")
            self.assertIsNone(w.check())
            with self.assertRaises(g.GuestmmError):
                w.fault(w.base + a + 4 * PAGE)           # beyond hi
        with self.assertRaises(ValueError):
            w.base

    def test_bad_ranges_and_non_mappable_systems(self):
        for lo, hi in ((1, PAGE), (0, 0), (2 * PAGE, PAGE), (0, (1 << 32) + PAGE)):
            with self.subTest(lo=lo, hi=hi), self.assertRaises(ValueError):
                self.sp.window(lo, hi)
        with g.System() as s, s.space(g.ABI_I386) as sp:
            self.assertFalse(s.mappable)
            with self.assertRaisesRegex(ValueError, "mappable"):
                sp.window(0, 1 << 32)
        with g.System(mappable=True, allocator=g.MallocAllocator()) as s, \
                s.space(g.ABI_I386) as sp, sp.window(0, 1 << 32) as w:
            a = g.check(sp.mmap(0, PAGE, RW, ANON))
            sp.write(a, b"alloc")
            self.assertEqual(ctypes.string_at(w.base + a, 5), b"alloc")
            self.assertIsNone(w.check())
        with g.System.create_mappable() as s:
            self.assertTrue(s.mappable)

    def test_window_outlives_its_space(self):
        a = g.check(self.sp.mmap(0, PAGE, RW, ANON))
        ctypes.memmove(self.host(a), b"x", 1)
        self.assertTrue(self.w.attached)
        self.sp.close()
        self.assertFalse(self.w.attached)
        self.assertIsNone(self.w.space_handle())
        self.assertEqual(self.w.fault(self.host(a), g.ACCESS_WRITE),
                         g.Fault(a, g.ACCESS_WRITE, g.SIGSEGV, g.SEGV_MAPERR))
        self.assertEqual(self.w.stats().pages_mapped, 0)
        self.assertIsNone(self.w.check())
        self.assertEqual(self.w.host_mappings(), 1)
        self.sys.close()                 # the system too, window still open
        self.assertEqual(self.w.fault(self.host(a))[2:], (g.SIGSEGV, g.SEGV_MAPERR))
        host = self.host(a)
        self.w.close()
        self.assertIsNone(g.find_window(host))

    def test_window_keeps_its_space_and_system_alive(self):
        def make():
            s = g.System(mappable=True)
            sp = s.space(g.ABI_I386)
            return sp.window(0, 1 << 32)
        w = make()
        gc.collect()
        sp = w.space
        self.assertTrue(w.attached)
        a = g.check(sp.mmap(0, PAGE, RW, ANON))
        ctypes.memmove(w.base + a, b"alive", 5)
        self.assertEqual(sp.read(a, 5), b"alive")
        del sp
        w.close()
        del w
        gc.collect()

    def test_access_from_ucontext(self):
        if os.uname().machine != "x86_64":
            self.skipTest("the page-fault error code is read on x86-64 only")
        # ucontext_t on x86-64 Linux: uc_flags, uc_link, uc_stack (24
        # bytes), then gregs[23]; REG_ERR is gregs[19].
        uc = ctypes.create_string_buffer(1024)
        err = 8 + 8 + 24 + 19 * 8
        for code, access in ((0, g.ACCESS_READ), (2, g.ACCESS_WRITE),
                             (0x10, g.ACCESS_EXEC), (0x7, g.ACCESS_WRITE)):
            struct.pack_into("<Q", uc, err, code)
            with self.subTest(code=code):
                self.assertEqual(g.window_access_from_ucontext(ctypes.addressof(uc)),
                                 access)

    def test_faulthandler_enabled_first_is_chained(self):
        # pytest enables faulthandler before any test: the window handler,
        # installed after it, resolves first touches and leaves it the rest.
        import subprocess
        script = GUEST_FAULT_CHILD % os.path.dirname(g.__file__)
        child = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script,
                                "--no-store"], capture_output=True, text=True, timeout=120)
        self.assertEqual((child.returncode, child.stdout), (0, "readable: b'\\x00\\x00'\n"),
                         child.stderr)
        child = subprocess.run([sys.executable, "-X", "faulthandler", "-c", script],
                               capture_output=True, text=True, timeout=120)
        self.assertNotEqual(child.returncode, 0)
        self.assertNotIn("python fault callback", child.stdout)
        if "asan" not in os.environ.get("LD_PRELOAD", ""):
            self.assertIn("Fatal Python error: Segmentation fault", child.stderr)

    def test_guest_fault_goes_to_the_previous_handler_not_to_python(self):
        import subprocess
        child = subprocess.run(
            [sys.executable, "-c", GUEST_FAULT_CHILD % os.path.dirname(g.__file__)],
            capture_output=True, text=True, timeout=120)
        self.assertIn("readable: b'\\x00\\x00'", child.stdout)
        self.assertIn("storing to a read-only page", child.stdout)
        self.assertNotIn("not reached", child.stdout)
        self.assertNotIn("python fault callback", child.stdout)
        if "asan" in os.environ.get("LD_PRELOAD", ""):
            self.assertNotEqual(child.returncode, 0)     # ASan's handler was first
        else:
            self.assertEqual(child.returncode, -11, child.stderr)


if __name__ == "__main__":
    unittest.main()
