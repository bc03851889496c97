#!/usr/bin/env python3
"""Runs one corpus command under guestmm-run-i386, qemu-i386 and natively,
and compares what each did: stdout, the exit status, and the files the
command left in its working directory.

    corpus.py --commands FILE --sysroot DIR --work DIR
              [--runner PATH] [--qemu PATH] NAME

FILE (test/corpus/commands.txt) holds one command a line:

    NAME  TIMEOUT  STATUS  PROGRAM ARGS...

TIMEOUT is the limit in seconds for one run, STATUS the exit status every
run must end with (so that a broken script cannot pass by failing the same
way everywhere); the words after it are split
like sh words (shlex).  In them, @CORPUS@ is the directory of FILE (the
scripts) and @DATA@ the generated data directory.  PROGRAM is looked up in
the symlink farm (every busybox applet the scripts use, bash, zsh, sash),
which is also the guest's whole PATH: a guest never runs a host program.

Each run gets the same fresh working directory, a clean environment
(PATH, HOME, TMPDIR, LC_ALL=C, TZ=UTC), stdin from /dev/null and umask
022, so that the three runs see the same world.  The native run is the
reference (`setarch i386 -R`, no address randomisation); where this
kernel cannot run i386 programs it is left out, with a message, and
qemu-i386 is the reference.  The environment variable GMM_CORPUS_RUNNERS
(a comma list of runner, qemu, native) restricts the runs, e.g. to check
the corpus itself without the runner, and GMM_CORPUS_TIMEOUT_SCALE (a
number) multiplies every TIMEOUT, for slow builds run outside ctest (the
sanitizer campaign in the README).  A command written "[no-qemu] PROGRAM
ARGS..." is one that qemu-i386 gets wrong: the runner is compared with the
native run only.

Exit status: 0 all runs agree, 1 they differ (both sides are printed),
77 the sysroot is missing (ctest reports the test as skipped).
"""

import argparse
import hashlib
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time

SKIP = 77

# The busybox applets the scripts call by name.  The farm links each to the
# sysroot's busybox; a script that needs another applet adds it here.
APPLETS = """
    awk basename cat chmod cmp cp cut date dd diff dirname echo env expr
    false find grep gunzip gzip head ln ls md5sum mkdir mv od printf rm
    rmdir sed seq sh sha256sum sleep sort tail tar tee test touch tr true
    uniq wc xargs yes zcat
""".split()
OTHERS = {"bash": "bash-static", "zsh": "zsh-static", "sash": "sash"}

DATA_LINES = 200000
WORDS = """alpha bravo charlie delta echo foxtrot golf hotel india juliet
kilo lima mike november oscar papa quebec romeo sierra tango uniform
victor whiskey xray yankee zulu""".split()


def read_commands(path):
    cmds = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 3)
            if len(parts) < 4 or not parts[1].isdigit() or not parts[2].isdigit():
                sys.exit(f"{path}:{n}: expected NAME TIMEOUT STATUS PROGRAM ARGS...")
            cmds[parts[0]] = (int(parts[1]), int(parts[2]), parts[3])
    return cmds


def write_atomically(path, text):
    # ctest -j runs several tests at once: each writes its own temporary
    # file and renames it into place, so a reader sees all or nothing.
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def make_data(data, lines=DATA_LINES):
    """The generated inputs, the same bytes on every machine (the first N
    lines of a smaller file are those of the full one)."""
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, "lines.txt")
    if os.path.exists(path):
        return
    out = []
    x = 12345
    for i in range(1, lines + 1):
        # A 32-bit linear congruential generator (Numerical Recipes').
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        word = WORDS[(x >> 8) % len(WORDS)]
        key = (x >> 4) % 5000
        cents = (x >> 12) % 1000000
        out.append(f"{i:06d} {word} k{key:04d} {cents // 100}.{cents % 100:02d}\n")
    write_atomically(path, "".join(out))


def make_farm(farm, sysroot):
    os.makedirs(farm, exist_ok=True)
    links = {a: os.path.join(sysroot, "bin", "busybox") for a in APPLETS}
    links["busybox"] = links["sh"]
    for name, prog in OTHERS.items():
        links[name] = os.path.join(sysroot, "bin", prog)
    for name, target in links.items():
        path = os.path.join(farm, name)
        if os.path.islink(path) and os.readlink(path) == target:
            continue
        tmp = f"{path}.{os.getpid()}.tmp"
        os.symlink(target, tmp)
        os.replace(tmp, path)


def native_works(prog):
    """Whether this kernel runs i386 programs (a kernel without
    CONFIG_IA32_EMULATION refuses them with ENOEXEC)."""
    try:
        r = subprocess.run([prog, "true"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        return r.returncode == 0
    except OSError:
        return False


def snapshot(top):
    """What the command left behind: type, mode, size and content hash of
    everything under top (times and owners left out)."""
    entries = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, top)
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                entries.append(f"{rel} -> {os.readlink(path)}")
            elif stat.S_ISDIR(st.st_mode):
                entries.append(f"{rel}/ {mode:o}")
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()[:16]
                entries.append(f"{rel} {mode:o} {st.st_size} {digest}")
            else:
                entries.append(f"{rel} type {stat.S_IFMT(st.st_mode):o}")
    return entries


def run_one(label, prefix, argv, timeout, case_dir, farm):
    run_dir = os.path.join(case_dir, "run")
    tmp_dir = os.path.join(case_dir, "tmp")
    for d in (run_dir, tmp_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    env = {
        "PATH": farm,
        "HOME": run_dir,
        "TMPDIR": tmp_dir,
        "LC_ALL": "C",
        "TZ": "UTC",
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "detect_leaks=0"),
    }
    for k in ("UBSAN_OPTIONS", "GUESTMM_RUN_DEBUG", "GUESTMM_RUN_TRACE"):
        if k in os.environ:
            env[k] = os.environ[k]
    old = os.umask(0o022)
    start = time.monotonic()
    try:
        r = subprocess.run(prefix + argv, cwd=run_dir, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        status = r.returncode if r.returncode >= 0 else 128 - r.returncode
        out, err = r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        status = f"timeout after {timeout} s"
        out, err = e.stdout or b"", e.stderr or b""
    except OSError as e:
        status = f"cannot run: {e}"
        out, err = b"", b""
    finally:
        os.umask(old)
    elapsed = time.monotonic() - start
    files = snapshot(run_dir)
    return {"label": label, "status": status, "stdout": out, "stderr": err,
            "files": files, "seconds": elapsed}


def show(res, what):
    print(f"--- {res['label']} {what}:")
    if what == "stdout":
        text = res["stdout"].decode(errors="replace")
        lines = text.splitlines()
        if len(lines) > 60:
            text = "\n".join(lines[:60]) + f"\n[... {len(lines) - 60} more lines]"
        print(text)
    elif what == "files":
        print("\n".join(res["files"]) or "(none)")
    else:
        print(res["status"])
    err = res["stderr"].decode(errors="replace").strip()
    if err and what == "stdout":
        print(f"--- {res['label']} stderr (last lines):")
        print("\n".join(err.splitlines()[-15:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commands", required=True)
    ap.add_argument("--sysroot", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runner", default="")
    ap.add_argument("--qemu", default="")
    ap.add_argument("name")
    a = ap.parse_args()

    busybox = os.path.join(a.sysroot, "bin", "busybox")
    if not os.path.exists(busybox):
        print(f"SKIP: no corpus sysroot at {a.sysroot}: run "
              f"test/corpus/fetch-sysroot.sh {a.sysroot} as root "
              "(Debian's i386 busybox-static, bash-static, zsh-static, sash)")
        return SKIP

    cmds = read_commands(a.commands)
    if a.name not in cmds:
        sys.exit(f"no command {a.name!r} in {a.commands}")
    timeout, want_status, words = cmds[a.name]
    timeout *= float(os.environ.get("GMM_CORPUS_TIMEOUT_SCALE", "1"))
    corpus = os.path.dirname(os.path.abspath(a.commands))
    data = os.path.join(os.path.abspath(a.work), "data")
    # "[no-qemu]" before the program: a command qemu-i386 is known to get
    # wrong (commands.txt says why); the runner is compared with native only.
    no_qemu = words.startswith("[no-qemu] ")
    if no_qemu:
        words = words[len("[no-qemu] "):]
    words = words.replace("@CORPUS@", corpus).replace("@DATA@", data)
    argv = shlex.split(words)

    work = os.path.abspath(a.work)
    farm = os.path.join(work, "bin")
    make_data(data)
    make_farm(farm, os.path.abspath(a.sysroot))
    argv[0] = os.path.join(farm, argv[0])

    wanted = os.environ.get("GMM_CORPUS_RUNNERS", "runner,qemu,native").split(",")
    runs = []
    if "native" in wanted:
        if native_works(busybox):
            setarch = shutil.which("setarch")
            runs.append(("native", [setarch, "i386", "-R"] if setarch else []))
        else:
            print("native: this kernel does not run i386 programs: left out")
    if "qemu" in wanted:
        if no_qemu:
            print("qemu-i386: left out for this command (see commands.txt)")
        elif a.qemu:
            runs.append(("qemu-i386", [shutil.which(a.qemu) or os.path.abspath(a.qemu)]))
        else:
            print("qemu-i386: not installed: left out")
    if "runner" in wanted and a.runner:
        runs.append(("guestmm-run-i386", [os.path.abspath(a.runner)]))
    if len(runs) < 2:
        print(f"SKIP: {len(runs)} way(s) to run {a.name}: nothing to compare")
        return SKIP

    case_dir = os.path.join(work, "cases", a.name)
    print("command: " + " ".join(shlex.quote(w) for w in argv))
    results = [run_one(label, prefix, argv, timeout, case_dir, farm)
               for label, prefix in runs]
    ref = results[0]
    failed = False
    for res in results:
        print(f"{res['label']}: exit {res['status']}, "
              f"{len(res['stdout'].splitlines())} lines of stdout, "
              f"{len(res['files'])} files, {res['seconds']:.2f} s")
    for res in results:
        if res["status"] != want_status:
            print(f"STATUS: {res['label']} exited {res['status']}, "
                  f"commands.txt says {want_status}")
            show(res, "stdout")
            failed = True
    for res in results[1:]:
        for what in ("status", "stdout", "files"):
            if res[what] != ref[what]:
                print(f"DIFFER: {res['label']} and {ref['label']} differ in {what}")
                show(ref, what)
                show(res, what)
                failed = True
    if failed:
        return 1
    print(f"{a.name}: " + ", ".join(r["label"] for r in results) + " agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
