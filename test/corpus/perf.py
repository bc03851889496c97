#!/usr/bin/env python3
"""Wall time and max RSS of the heavy corpus workloads under guestmm-run-i386,
under its measurement-only flat mode (GUESTMM_RUN_FLAT=1: the whole guest
address space as one Unicorn region, no library behind it: the bound that
Unicorn 2.0.1 itself sets) and under qemu-i386; a markdown table and the
goals of issue 12, each PASS or FAIL.

    test/corpus/perf.py RUNNER SYSROOT [--qemu PATH] [--guest DIR]
                        [--runs N] [--work DIR] [--only SUBSTRING]
                        [--lines N] [--loop N] [--instructions] [--pss]

RUNNER is build/examples/unicorn-i386/guestmm-run-i386, or the word
"native" to put this kernel's own run of the i386 programs (setarch i386
-R) in the runner column, as a stand-in that checks the script; SYSROOT is
what test/corpus/fetch-sysroot.sh unpacked.  The guest programs are taken
from --guest (default: the guest/ directory beside RUNNER, or
build/examples/unicorn-i386/guest for "native").

Each workload runs N times (default 3) in each mode, the modes taking turns
run by run, under /usr/bin/time -f '%e %M' (wall seconds, max RSS in KiB;
without /usr/bin/time, the same numbers from wait4), and the table shows
the medians.  --lines and --loop scale the text workloads and the long
shell loop down (defaults 200,000 and 100,000, the corpus's sizes) for a
quick look at the ratios; the table says which sizes it ran.  The output of
every run must equal qemu-i386's, or the row is marked: a fast wrong answer
is not a result.

--instructions counts instead of timing: the runner and its flat mode each
run once under valgrind's callgrind (host instructions executed, all guest
processes and threads included: the runner is one host process), which
this machine's noise does not move, and the table shows runner/flat by
instruction count; qemu-i386 runs once for the reference output.  The
runner's window faults return from a SIGSEGV handler into the instruction
that faulted, so valgrind runs with
--vex-iropt-register-updates=allregs-at-mem-access (without it valgrind
restores stale registers there and the run dies of SIGSEGV).  70 to 120
times slower than a plain run: use small sizes (--lines 2000 --loop 1000).

--pss adds the peak, over each run, of the proportional set size (PSS,
/proc/PID/smaps_rollup) summed over all the processes of the run, read
every 50 ms: memory shared between processes, or mapped twice in one (the
runner's windows map the library's frames), counts once in that sum, so
the runner (one host process) and qemu-i386 (a host process per guest
process) are compared on the memory they hold.  The reading takes CPU
time beside the runs: take times from a run without it.

How to read the RSS columns: the runner is one host process for all the
guest processes of a workload, so its max RSS covers all of them at once;
qemu-i386 runs each guest process in a host process of its own, and wait4
reports the largest one.  The flat mode keys futexes privately, so a futex
between two processes never wakes there: futex_handoff is not run flat (its
flat column says so) and is left out of the flat goal.  And qemu-i386
follows an execve of an i386 program by running it natively (this kernel
runs i386 programs; there is no binfmt_misc entry): the workloads marked
"exec" spend part of their qemu time in native code, which flatters
qemu-i386."""

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402  (the farm and the generated data)

CORPUS = os.path.dirname(os.path.abspath(__file__))

# (name, argv, execs, flat): argv's @CORPUS@, @DATA@, @GUEST@ and @RUN@ (the
# run's own scratch directory) are filled in; "execs" marks workloads that
# execve i386 programs (native under qemu-i386, see above); "flat" is False
# for a workload the flat mode cannot run (it would wait for ever).
WORKLOADS = [
    ("sh loop @LOOP@", ["sh", "@CORPUS@/sh_loop.sh", "@LOOP@"], False, True),
    ("sh loop 1,000", ["sh", "@CORPUS@/sh_loop.sh", "1000"], False, True),
    ("sort @LINES@ lines", ["sort", "-k2,2", "-k4n", "@DATA@/lines.txt"], False, True),
    ("awk @LINES@ lines", ["awk", "-f", "@CORPUS@/lines.awk", "@DATA@/lines.txt"], False, True),
    ("sed @LINES@ lines", ["sed", r"s/\([a-z]*\) k\([0-9]*\)/\2:\1/", "@DATA@/lines.txt"], False, True),
    ("gzip | gunzip", ["sh", "-c", "gzip -c < @DATA@/lines.txt | gunzip -c | md5sum"], True, True),
    ("bash script", ["bash", "@CORPUS@/script.bash"], True, True),
    ("zsh script", ["zsh", "@CORPUS@/script.zsh"], True, True),
    ("threads4", ["@GUEST@/threads4"], False, True),
    ("futex_handoff 2,000", ["@GUEST@/futex_handoff", "2000", "@RUN@/futex.data"], False, False),
]


CALLGRIND = ["--tool=callgrind", "--callgrind-out-file=/dev/null",
             "--vex-iropt-register-updates=allregs-at-mem-access"]


def under_callgrind(prefix):
    """Whether prefix runs the program under callgrind: valgrind, then CALLGRIND."""
    return prefix[1:1 + len(CALLGRIND)] == CALLGRIND


def tree_pss(leader):
    """The PSS in KiB summed over the processes of the session that leader
    (/usr/bin/time, started in a session of its own) leads, leader left out:
    a process whose parent ended still counts; processes that end meanwhile
    count as nothing."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == leader:
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                # after "(comm)": state, ppid, pgrp, session
                if int(f.read().rpartition(")")[2].split()[3]) != leader:
                    continue
        except (OSError, ValueError, IndexError):
            continue
        try:
            with open(f"/proc/{d}/smaps_rollup") as f:
                total += sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, ValueError, IndexError):
            pass
    return total


def wait_sampling(p, timeout, sample):
    """p.wait(timeout); with sample, reads tree_pss(p.pid) every 50 ms
    meanwhile and returns its peak (None without sample, or for a run that
    ended before a reading found a process: a run of under about 100 ms
    gets one reading, not a peak)."""
    if not sample:
        p.wait(timeout=timeout)
        return None
    deadline, peak = time.monotonic() + timeout, None
    while True:
        try:
            p.wait(timeout=0.05)
            return peak
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
            pss = tree_pss(p.pid)
            if pss:
                peak = max(peak or 0, pss)


def measure(prefix, argv, env, run_dir, timeout, sample=False):
    """One run: (wall seconds, max RSS KiB, exit status, stdout digest, peak
    PSS KiB of all its processes or None); the status is "timeout" when the
    run is stopped after timeout seconds.  A callgrind run
    (under_callgrind(prefix)) gives the instructions it counted in place of
    the wall seconds; sample reads the PSS (wait_sampling), which needs
    /usr/bin/time."""
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    out_path = os.path.join(run_dir, ".stdout")
    time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    counting = under_callgrind(prefix)
    if counting:
        log = os.path.join(os.path.dirname(run_dir), "callgrind.log")
        if os.path.exists(log):
            os.remove(log)  # (shared by the modes: no count of another run)
        prefix = prefix[:1] + [f"--log-file={log}"] + prefix[1:]
    with open(out_path, "wb") as out:
        if time_bin:
            tfile = os.path.join(os.path.dirname(run_dir), "time.out")
            # A session of its own, so that a timeout stops time and what it runs.
            p = subprocess.Popen([time_bin, "-f", "%e %M", "-o", tfile] + prefix + argv,
                                 cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                pss = wait_sampling(p, timeout, sample)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait()
                return timeout, 0, "timeout", "", None
            r = p
            with open(tfile) as f:
                # time prints "Command exited with non-zero status N" first
                # when the status is not 0: the numbers are on the last line.
                wall, rss = f.read().split("\n")[-2].split()
            wall, rss, status = float(wall), int(rss), r.returncode
        else:
            pss = None
            start = time.monotonic()
            p = subprocess.Popen(prefix + argv, cwd=run_dir, env=env,
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.DEVNULL)
            # (no timeout on this path: wait4 is what gives the RSS)
            _, st, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(st)
            wall, rss, status = time.monotonic() - start, ru.ru_maxrss, p.returncode
    with open(out_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if counting:
        with open(log) as f:
            counted = [int(line.split(":")[1].replace(",", ""))
                       for line in f if line.split("== ")[-1].startswith("Collected :")]
        if len(counted) != 1:
            sys.exit(f"no instruction count in {log}")
        wall = counted[0]
    return wall, rss, status, digest, pss


def judge(name, execs, res, flat_left_out):
    """A row's results: (runner, flat or None, qemu, the name as shown with
    its marks, whether the runner's output and status equal qemu-i386's)."""
    r, f, q = res["runner"], res["flat"], res["qemu"]
    marks = []
    if execs:
        marks.append("exec")
    if flat_left_out:
        marks.append("not run flat: futexes between processes")
    # The flat mode is a bound, not a runner: where its output is wrong or
    # it timed out, its column is marked and left out of the goals.
    if f and (f["digest"] != q["digest"] or f["status"] != q["status"]):
        marks.append("flat: " + ("timeout" if "timeout" in f["status"] else "wrong output"))
        f = None
    right = r["digest"] == q["digest"] and r["status"] == q["status"]
    if not right:
        marks.append("runner: " + ("timeout" if "timeout" in r["status"] else "wrong output"))
    shown = name.replace("|", "\\|") + (f" ({', '.join(marks)})" if marks else "")
    return r, f, q, shown, right


def fmt_s(x):
    return "-" if x is None else f"{x:.2f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_r(x):
    return "-" if x is None else f"{x:.2f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runner")
    ap.add_argument("sysroot")
    ap.add_argument("--qemu", default=shutil.which("qemu-i386") or "")
    ap.add_argument("--guest", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "guestmm-perf"))
    ap.add_argument("--only", default="", help="run only the workloads whose name has this")
    ap.add_argument("--lines", type=int, default=corpus.DATA_LINES, help="lines of the text workloads")
    ap.add_argument("--loop", type=int, default=100000, help="iterations of the long shell loop")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds before a run is stopped")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions under callgrind (runner and flat, one run each)")
    ap.add_argument("--pss", action="store_true",
                    help="add the peak PSS summed over all processes of a run")
    a = ap.parse_args()
    if a.instructions:
        if a.runner == "native":
            sys.exit("--instructions compares the runner with its flat mode: give the runner")
        if not shutil.which("valgrind"):
            sys.exit("valgrind not found (install valgrind)")
        a.runs = 1
        if a.pss:
            sys.exit("--pss reads memory beside timed runs: not with --instructions")
    if a.pss and not os.access("/usr/bin/time", os.X_OK):
        sys.exit("--pss reads the processes of a run under /usr/bin/time: install time")

    native = a.runner == "native"
    sysroot = os.path.abspath(a.sysroot)
    if not os.path.exists(os.path.join(sysroot, "bin", "busybox")):
        sys.exit(f"no busybox in {sysroot}/bin: run test/corpus/fetch-sysroot.sh {sysroot}")
    if not a.qemu:
        sys.exit("qemu-i386 not found (install qemu-user, or pass --qemu)")
    guest = a.guest or (os.path.join(os.path.dirname(os.path.abspath(a.runner)), "guest")
                        if not native else "build/examples/unicorn-i386/guest")
    guest = os.path.abspath(guest)

    work = os.path.abspath(a.work)
    farm = os.path.join(work, "bin")
    data = os.path.join(work, f"data-{a.lines}")
    corpus.make_data(data, a.lines)
    corpus.make_farm(farm, sysroot)

    setarch = shutil.which("setarch")
    native_prefix = [setarch, "i386", "-R"] if setarch else []
    if native:
        runner_prefix, flat_prefix = native_prefix, None
    else:
        runner_prefix = [os.path.abspath(a.runner)]
        with open(a.runner, "rb") as f:
            has_flat = b"GUESTMM_RUN_FLAT" in f.read()
        flat_prefix = runner_prefix if has_flat else None
    if a.instructions:
        if flat_prefix is None:
            sys.exit("this runner has no GUESTMM_RUN_FLAT mode: nothing to count against")
        runner_prefix = flat_prefix = [shutil.which("valgrind")] + CALLGRIND + runner_prefix
    modes = [("runner", runner_prefix, {}), ("flat", flat_prefix, {"GUESTMM_RUN_FLAT": "1"}),
             ("qemu", [a.qemu], {})]

    base_env = {"PATH": farm, "LC_ALL": "C", "TZ": "UTC", "HOME": work,
                "TMPDIR": os.path.join(work, "tmp")}
    os.makedirs(base_env["TMPDIR"], exist_ok=True)

    rows = []
    for name, argv, execs, can_flat in WORKLOADS:
        name = name.replace("@LOOP@", f"{a.loop:,}").replace("@LINES@", f"{a.lines:,}")
        argv = [w.replace("@LOOP@", str(a.loop)) for w in argv]
        if (a.only and a.only not in name) or name in (row[0] for row in rows):
            continue  # (--loop 1000 makes the long loop the short one)
        argv = [w.replace("@CORPUS@", CORPUS).replace("@DATA@", data).replace("@GUEST@", guest)
                for w in argv]
        if not os.path.isabs(argv[0]):
            argv[0] = os.path.join(farm, argv[0])
        if not os.path.exists(argv[0]):
            print(f"{name}: {argv[0]} missing (build the guest programs): left out", file=sys.stderr)
            continue
        # The modes take turns, run by run, so that the machine's slow
        # spells fall on all of them alike.
        active = [(mode, prefix, extra) for mode, prefix, extra in modes
                  if prefix is not None and (mode != "flat" or can_flat)]
        runs = {mode: [] for mode, _, _ in active}
        for _ in range(a.runs):
            for mode, prefix, extra in active:
                env = dict(base_env, **extra)
                run_dir = os.path.join(work, "run", mode)
                args = [w.replace("@RUN@", run_dir) for w in argv]
                # callgrind runs up to 120 times slower than a plain run
                timeout = a.timeout * (150 if under_callgrind(prefix) else 1)
                runs[mode].append(measure(prefix, args, env, run_dir, timeout, a.pss))
        res = {mode: None for mode, _, _ in modes}
        for mode, _, _ in active:
            res[mode] = {
                "s": statistics.median(r[0] for r in runs[mode]),
                "rss": statistics.median(r[1] for r in runs[mode]),
                "status": {r[2] for r in runs[mode]},
                "digest": {r[3] for r in runs[mode]},
                "pss": None if not a.pss or None in (r[4] for r in runs[mode])
                else statistics.median(r[4] for r in runs[mode]),
            }
            counted = a.instructions and mode != "qemu"
            amount = f"{res[mode]['s']:,} instructions" if counted else f"{fmt_s(res[mode]['s'])} s"
            if "timeout" in res[mode]["status"]:
                amount = "timeout"
            print(f"  {name} / {mode}: {amount}, {res[mode]['rss']} KiB, "
                  f"status {sorted(res[mode]['status'])}", file=sys.stderr)
        rows.append((name, execs, res, can_flat))

    if a.instructions:
        return print_counted(rows, a)
    label = "native (stand-in)" if native else "runner"
    pss_head = f" {label} PSS KiB | qemu PSS KiB | PSS ratio |" if a.pss else ""
    print(f"| workload | {label} s | flat s | qemu s | {label}/flat | {label}/qemu "
          f"| {label} RSS KiB | qemu RSS KiB | RSS ratio |{pss_head}")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" * 3 if a.pss else ""))
    flat_ratios, qemu_ratios, rss_ratios, wrong = [], [], [], []
    for name, execs, res, can_flat in rows:
        r, f, q, shown, right = judge(name, execs, res, not can_flat and flat_prefix is not None)
        if not right:
            wrong.append(name)
        rf = ratio(r["s"], f["s"] if f else None)
        rq = ratio(r["s"], q["s"])
        rr = ratio(r["rss"], q["rss"])
        if rf is not None:
            flat_ratios.append(rf)
        qemu_ratios.append(rq)
        rss_ratios.append(rr)
        pss = ""
        if a.pss:
            pss = " " + " | ".join(["-" if x["pss"] is None else f"{x['pss']:.0f}" for x in (r, q)]
                                   + [fmt_r(ratio(r["pss"], q["pss"]))]) + " |"
        print(f"| {shown} | {fmt_s(r['s'])} | {fmt_s(f['s'] if f else None)} | {fmt_s(q['s'])} "
              f"| {fmt_r(rf)} | {fmt_r(rq)} | {r['rss']:.0f} | {q['rss']:.0f} | {fmt_r(rr)} |{pss}")

    def verdict(ok):
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    print()
    print(f"Medians of {a.runs} run(s); wall seconds and max RSS by /usr/bin/time -f '%e %M'.")
    if a.pss:
        print("PSS: the peak, over a run, of the PSS summed over all its processes, read every "
              "50 ms (the goals below stay on max RSS).")
    if native:
        print("The runner column is this kernel's native run (a stand-in): the goals below "
              "check the script, not the runner.")
    if flat_prefix is None and not native:
        print("This runner has no GUESTMM_RUN_FLAT mode: the flat column is empty.")
    print()
    print("| goal | measured | result |")
    print("|---|---|---|")
    ok = None if not flat_ratios else max(flat_ratios) <= 1.25
    print(f"| within 1.25x of flat on every workload | worst {fmt_r(max(flat_ratios) if flat_ratios else None)} "
          f"| {verdict(ok)} |")
    med, worst = statistics.median(qemu_ratios), max(qemu_ratios)
    print(f"| median within 4x of qemu-i386 | median {fmt_r(med)} | {verdict(med <= 4)} |")
    print(f"| none worse than 12x of qemu-i386 | worst {fmt_r(worst)} | {verdict(worst <= 12)} |")
    print(f"| max RSS within 2x of qemu-i386 | worst {fmt_r(max(rss_ratios))} "
          f"| {verdict(max(rss_ratios) <= 2)} |")
    loops = {name: res for name, _, res, _ in rows}
    big, small = loops.get(f"sh loop {a.loop:,}"), loops.get("sh loop 1,000")
    if big and small and a.loop != 1000:
        growth = big["runner"]["rss"] / small["runner"]["rss"]
        print(f"| {a.loop:,}-iteration loop within 10% of the 1,000-iteration RSS "
              f"| {big['runner']['rss']:.0f} / {small['runner']['rss']:.0f} KiB = {growth:.3f} "
              f"| {verdict(growth <= 1.10)} |")
    if wrong:
        differ = ", ".join(wrong).replace("|", "\\|")
        print(f"| the runner's output equals qemu-i386's | differs: {differ} | FAIL |")
    else:
        print("| the runner's output equals qemu-i386's | all equal | PASS |")
    return 0


def print_counted(rows, a):
    """The table of --instructions: instructions of the runner and of the
    flat mode, the ratio, and the two goals that counting can check."""
    print("| workload | runner G instructions | flat G instructions | runner/flat |")
    print("|---|---:|---:|---:|")
    ratios, wrong = [], []
    for name, execs, res, can_flat in rows:
        r, f, q, shown, right = judge(name, execs, res, not can_flat)
        rf = None if "timeout" in r["status"] else ratio(r["s"], f["s"] if f else None)
        if not right:
            wrong.append(name)
        elif rf is not None:
            ratios.append((rf, name))
        runner_g = "-" if "timeout" in r["status"] else f"{r['s'] / 1e9:.2f}"
        flat_g = "-" if not f else f"{f['s'] / 1e9:.2f}"
        print(f"| {shown} | {runner_g} | {flat_g} | {fmt_r(rf)} |")
    print()
    print("Host instructions counted by valgrind --tool=callgrind, one run of each mode;")
    print(f"--lines {a.lines} --loop {a.loop}.")
    print()
    print("| goal | measured | result |")
    print("|---|---|---|")
    if ratios:
        worst, where = max(ratios)
        where = where.replace("|", "\\|")
        print(f"| within 1.25x of flat on every workload (instructions) "
              f"| worst {worst:.2f}x ({where}) | {'PASS' if worst <= 1.25 else 'FAIL'} |")
    else:
        print("| within 1.25x of flat on every workload (instructions) | - | n/a |")
    if wrong:
        differ = ", ".join(wrong).replace("|", "\\|")
        print(f"| the runner's output equals qemu-i386's | differs: {differ} | FAIL |")
    else:
        print("| the runner's output equals qemu-i386's | all equal | PASS |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
