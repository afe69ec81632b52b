#!/usr/bin/env python3
"""cpython_slice.py - CPython's own regression tests, with and without
libmuppy.so, compared file by file (issue 10: the shim must not change the
behaviour of the program it profiles, and CPython's suite knows a great
deal about what a program may observe).

    python3 tests/cpython_slice.py --shim bazel-bin/shim/libmuppy.so
        [--muppy bazel-bin/tools/muppy] [--python PATH ...]
        [--tests test_a,test_b|--set quick|full] [--jobs N]
        [--timeout S] [--json FILE]

For every interpreter (default: Debian's python3 and every pyenv 3.8-3.13
present that has the `test` package) and every test file, it runs
`python -m test --junit-xml X test_file` twice, in separate fresh working
directories: once plainly and once with LD_PRELOAD=libmuppy.so,
MUPPY_INTERVAL=1 (a timer dump every second, fork snapshots, exit dumps:
the defaults otherwise).  Every run is its own process group, killed whole
on time-out, so a hang fails the file and leaves nothing behind.

A file passes when, for each test case the JUnit report names, the outcome
(passed, failed, error, skipped) is the same both ways; both runs exit with
the same status and neither is killed; no line of the run under the shim
starts with "muppy:"; and the shim was really there (it wrote at least one
dump, and one of them passes `muppy info` when --muppy is given).  A file
whose outcomes differ is run again both ways once; a difference that does
not come back is reported as flaky (and passes), one that does fails.

Prints one line per (interpreter, file), then the totals, and last
`cpython-slice: N passed, N failed` for tests/tally.py.  --json writes the
figures (tests, time with and without) for docs/benchmarks.md.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

# The list issue 10 names, in the order they should start (longest first,
# so the pool finishes evenly).
FULL = ["test_concurrent_futures", "test_multiprocessing_forkserver",
        "test_signal", "test_subprocess", "test_faulthandler",
        "test_threading", "test_weakref", "test_gc", "test_os",
        "test_tracemalloc", "test_sys", "test_descr", "test_dict",
        "test_atexit", "test_generators"]
# What tests/run.sh runs: the same files but the two longest, whose time
# is mostly waiting for worker pools (they run in the full set).
QUICK = [t for t in FULL if t not in ("test_concurrent_futures",
                                      "test_multiprocessing_forkserver")]

OUTCOMES = ("passed", "failed", "error", "skipped")

# Test cases left out of both runs: test_threading's gh-102056 case spins
# a CPU for minutes on a loaded machine (a recursion that retries in every
# except handler until interrupt_main lands) and hung with and without the
# shim alike on 3.12.1 and 3.13.0 here.
IGNORED = ["test_print_exception_gh_102056"]

# How long before our own kill regrtest's --timeout fires (it applies to
# the whole file when it runs in one process).
TIMEOUT_MARGIN = 30


def interpreters(paths):
    """[(label, path)] of interpreters that have CPython's test package."""
    if not paths:
        root = os.environ.get("PYENV_ROOT", "/root/.pyenv")
        paths = ["/usr/bin/python3"] + sorted(
            glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in
                           p.split("/versions/")[1].split("/")[0].split(".")])
    found, seen = [], set()
    for p in paths:
        real = os.path.realpath(p)
        if real in seen or not os.access(p, os.X_OK):
            continue
        seen.add(real)
        try:
            out = subprocess.run(
                [p, "-c", "import sys, test.support, test.libregrtest; "
                 "print('%d.%d.%d' % sys.version_info[:3])"],
                capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        v = out.stdout.strip()
        if out.returncode != 0:
            print("skip  %s: no CPython test package (Debian: "
                  "libpython3.x-testsuite)" % p, flush=True)
            continue
        if not (3, 8) <= tuple(int(x) for x in v.split(".")[:2]) <= (3, 13):
            continue
        found.append(("%s (%s)" % (v, p), p))
    return found


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MUPPY_", "PYTHON")) and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def outcomes_of(xml_path):
    """{test id: outcome} from regrtest's JUnit report ({} if absent)."""
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return {}
    found = {}
    for case in root.iter("testcase"):
        name = "%s.%s" % (case.get("classname", ""), case.get("name", ""))
        kinds = {child.tag for child in case}
        if "error" in kinds:
            outcome = "error"
        elif "failure" in kinds:
            outcome = "failed"
        elif "skipped" in kinds:
            outcome = "skipped"
        else:
            outcome = "passed"
        # A name seen twice (subtests, reruns) keeps its worst outcome.
        prev = found.get(name)
        if prev is None or OUTCOMES.index(outcome) > OUTCOMES.index(prev):
            found[name] = outcome
    return found


class Run:
    """One `python -m test FILE` run and what it left."""

    def __init__(self, rc, outcomes, output, seconds, dumps, killed):
        self.rc, self.outcomes, self.output = rc, outcomes, output
        self.seconds, self.dumps, self.killed = seconds, dumps, killed


def run_file(python, test, shim, timeout, muppy):
    """Runs one test file; with shim (a path) under libmuppy.so."""
    work = tempfile.mkdtemp(prefix="muppy-cpy-")
    dumps_dir = os.path.join(work, "dumps")
    os.mkdir(dumps_dir)
    # Tests run children as other users (test_subprocess: user=, group=):
    # like /tmp, a directory every user may write to (sticky).
    os.chmod(dumps_dir, 0o1777)
    os.chmod(work, 0o755)
    cwd = os.path.join(work, "cwd")
    os.mkdir(cwd)
    xml = os.path.join(work, "result.xml")
    env = clean_env(TMPDIR=cwd)
    if shim:
        env.update(LD_PRELOAD=shim, MUPPY_DIR=dumps_dir, MUPPY_INTERVAL="1")
    t0 = time.monotonic()
    # --timeout, a little before our own kill: a file that hangs dumps
    # every thread's traceback (faulthandler) and ends, so the hang names
    # the test it is in.
    argv = [python, "-m", "test", "--junit-xml", xml, "--timeout",
            str(max(60, int(timeout) - TIMEOUT_MARGIN))]
    for name in IGNORED:
        argv += ["-i", name]
    p = subprocess.Popen(argv + [test], cwd=cwd, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    killed = False
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        killed = True
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
    seconds = time.monotonic() - t0
    # Whatever the tests started and left behind goes too.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    found = sorted(glob.glob(os.path.join(dumps_dir, "muppy.*.dump")))
    info_ok = None
    if shim and found and muppy:
        info_ok = subprocess.run([muppy, "info", found[-1]],
                                 capture_output=True, timeout=120).returncode == 0
    run = Run(p.returncode, outcomes_of(xml),
              out.decode("utf-8", "replace"), seconds,
              (len(found), info_ok), killed)
    shutil.rmtree(work, ignore_errors=True)
    return run


def compare(plain, shimmed):
    """[reasons] why the runs differ ([] if they do not)."""
    why = []
    if plain.killed or shimmed.killed:
        why.append("hung (killed at the time-out): %s" % (
            "both" if plain.killed and shimmed.killed else
            "with the shim" if shimmed.killed else "without the shim"))
    if plain.rc != shimmed.rc:
        why.append("exit status %s without, %s with the shim"
                   % (plain.rc, shimmed.rc))
    if not plain.outcomes:
        why.append("no JUnit report without the shim")
        hung = [l for l in plain.output.splitlines()
                if "Timeout (" in l or l.startswith("  File ")][:6]
        if hung:
            why.append("its output: " + " | ".join(l.strip() for l in hung))
    for name in sorted(set(plain.outcomes) | set(shimmed.outcomes)):
        a = plain.outcomes.get(name, "absent")
        b = shimmed.outcomes.get(name, "absent")
        if a != b:
            why.append("%s: %s without, %s with the shim" % (name, a, b))
    stray = [l for l in shimmed.output.splitlines() if l.startswith("muppy:")]
    if stray:
        why.append("output of ours: %s" % stray[:3])
    n, info_ok = shimmed.dumps
    if n == 0:
        why.append("the shim wrote no dump (was it loaded?)")
    elif info_ok is False:
        why.append("a dump the shim wrote fails `muppy info`")
    return why


def counts(outcomes):
    c = {k: 0 for k in OUTCOMES}
    for v in outcomes.values():
        c[v] += 1
    return c


DOCS_BEGIN = "<!-- cpython-suite: written by tests/cpython_slice.py --docs -->"
DOCS_END = "<!-- cpython-suite end -->"


def docs_block(results, wall, args):
    """The Markdown block: one row per interpreter, one per file."""
    by_py = {}
    for r in results:
        by_py.setdefault(r["python"], []).append(r)
    out = [DOCS_BEGIN, "", "## CPython's regression suite under the shim", "",
           "`%s` on %s: each file run with and without libmuppy.so "
           "(MUPPY_INTERVAL=1, fork snapshots, exit dumps), outcomes compared "
           "test case by test case (tests/cpython_slice.py). Files: %s." % (
               "scripts/cpython-suite.sh", time.strftime("%Y-%m-%d"),
               ", ".join(sorted({r["test"] for r in results}))),
           "", "| interpreter | files same / run | test cases | passed | "
           "skipped | failed both ways | time without | time with | dumps |",
           "|---|---|---|---|---|---|---|---|---|"]
    for py, rs in by_py.items():
        c = {k: sum(r["counts"][k] for r in rs) for k in OUTCOMES}
        out.append("| %s | %d / %d | %d | %d | %d | %d | %.0f s | %.0f s | "
                   "%d |" % (py, sum(r["ok"] for r in rs), len(rs),
                             sum(r["tests"] for r in rs), c["passed"],
                             c["skipped"], c["failed"] + c["error"],
                             sum(r["seconds_plain"] for r in rs),
                             sum(r["seconds_shim"] for r in rs),
                             sum(r["dumps"] for r in rs)))
    bad = [r for r in results if not r["ok"] or r["flaky"]]
    out.append("")
    for r in bad:
        out.append("- %s %s: %s" % (r["python"], r["test"],
                                    "; ".join(r["why"][:3]) or
                                    "flaky once, the same on the rerun"))
    out += ["Wall time of the whole run: %.0f s (2 cores, %d processes at "
            "once)." % (wall, args.jobs), "", DOCS_END]
    return "\n".join(out) + "\n"


def write_docs(path, results, wall, args):
    try:
        text = open(path).read()
    except OSError:
        text = ""
    block = docs_block(results, wall, args)
    if DOCS_BEGIN in text and DOCS_END in text:
        head, rest = text.split(DOCS_BEGIN, 1)
        text = head + block + rest.split(DOCS_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(text)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shim", required=True)
    ap.add_argument("--muppy")
    ap.add_argument("--python", action="append", default=[])
    ap.add_argument("--tests")
    ap.add_argument("--set", choices=("quick", "full"), default="quick")
    ap.add_argument("--jobs", type=int, default=max(2, (os.cpu_count() or 2)))
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json")
    ap.add_argument("--docs", help="rewrite the CPython-suite block of this "
                    "Markdown file (docs/benchmarks.md) with the results")
    args = ap.parse_args(argv)
    shim = os.path.abspath(args.shim)
    muppy = os.path.abspath(args.muppy) if args.muppy else None
    tests = args.tests.split(",") if args.tests else (
        FULL if args.set == "full" else QUICK)
    interps = interpreters(args.python)
    if not interps:
        print("cpython-slice: no interpreter with CPython's test package")
        print("cpython-slice: 0 passed, 1 failed")
        return 1
    for label, _ in interps:
        print("interpreter %s" % label, flush=True)

    lock = threading.Lock()
    results = []

    def one(job):
        label, python, test = job
        # Both ways at once: the pool's other slots keep the cores busy.
        with concurrent.futures.ThreadPoolExecutor(2) as two:
            fa = two.submit(run_file, python, test, None, args.timeout, None)
            fb = two.submit(run_file, python, test, shim, args.timeout, muppy)
            plain, shimmed = fa.result(), fb.result()
        why = compare(plain, shimmed)
        flaky = False
        if why and not (plain.killed or shimmed.killed):
            plain2 = run_file(python, test, None, args.timeout, None)
            shimmed2 = run_file(python, test, shim, args.timeout, muppy)
            if not compare(plain2, shimmed2):
                flaky, why = why, []
                plain, shimmed = plain2, shimmed2
            else:
                why = compare(plain2, shimmed2)
        c = counts(plain.outcomes)
        status = "FAIL" if why else "ok"
        with lock:
            print("%-4s %s %s: %d tests (%d passed, %d failed, %d errors, "
                  "%d skipped) %s; %.1f s without, %.1f s with the shim, "
                  "%d dumps%s" % (
                      status, label, test, len(plain.outcomes), c["passed"],
                      c["failed"], c["error"], c["skipped"],
                      "differ under the shim" if why else "the same both ways",
                      plain.seconds, shimmed.seconds, shimmed.dumps[0],
                      " (flaky once: %s)" % flaky[0] if flaky else ""),
                  flush=True)
            for w in why[:20]:
                print("       %s" % w, flush=True)
            results.append({"python": label, "test": test, "ok": not why,
                            "flaky": bool(flaky), "tests": len(plain.outcomes),
                            "counts": c, "seconds_plain": plain.seconds,
                            "seconds_shim": shimmed.seconds,
                            "dumps": shimmed.dumps[0], "why": why,
                            "failing_both": sorted(
                                n for n, o in plain.outcomes.items()
                                if o in ("failed", "error") and
                                shimmed.outcomes.get(n) == o)})

    jobs = [(label, python, test) for label, python in interps for test in tests]
    t0 = time.monotonic()
    # Each job is two processes: jobs/2 of them at once.
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs // 2)) as pool:
        list(pool.map(one, jobs))
    wall = time.monotonic() - t0
    passed = sum(r["ok"] for r in results)
    failed = len(results) - passed
    print("files: %d; test cases: %d; %.0f s without, %.0f s with the shim "
          "(summed); %.0f s wall" % (
              len(results), sum(r["tests"] for r in results),
              sum(r["seconds_plain"] for r in results),
              sum(r["seconds_shim"] for r in results), wall))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "wall": wall}, f, indent=1)
    if args.docs:
        write_docs(args.docs, results, wall, args)
    print("cpython-slice: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
