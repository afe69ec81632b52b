"""common.py - shared helpers of muppy's integration tests: real interpreters
run with libmuppy.so preloaded, and their dumps read back through `muppy`.

What lives here:
  * the tool and the shim under test (MUPPY_BIN, MUPPY_SHIM, set by run.py);
  * interpreter discovery: /usr/bin/python3 and pyenv's 3.8-3.13, or the
    colon-separated MUPPY_TEST_PYTHONS list, each probed once for its
    version and whether libpython is linked statically or shared;
  * running an app under the shim with a clean MUPPY_* environment
    (start_app/run_app), waiting for dumps by polling the directory
    (wait_for_dumps), reading them through the tool (muppy, muppy_json,
    summary_rows, cat_dump);
  * for_each_interpreter: runs one check per interpreter in parallel
    threads, prints one line per interpreter, and fails the test once with
    every failing interpreter named.

What does not: test policy.  Each test_*.py decides what it asserts.
Only the standard library is used (the harness runs on Debian's python3).
Every subprocess has a timeout: a hang is a failure, never a stuck suite.
"""
import concurrent.futures
import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(HERE, "apps")

# Interpreter versions the shim supports (2.7/3.6/3.7 are present on the
# machine but out of scope).
MIN_VERSION = (3, 8)
MAX_VERSION = (3, 13)

DEFAULT_TIMEOUT = 60.0       # one app run, generous for a loaded 2-core box
TOOL_TIMEOUT = 60.0          # one `muppy` run on a dump of ~100k objects

DUMP_NAME = re.compile(r"^muppy\.(\d+)\.(\d+)\.dump$")


# ---- the pieces under test ------------------------------------------------

def muppy_bin():
    """Absolute path of the `muppy` tool under test (MUPPY_BIN)."""
    path = os.environ.get("MUPPY_BIN")
    if not path:
        raise RuntimeError("MUPPY_BIN is not set (run the tests through "
                           "tests/integration/run.py --muppy PATH)")
    return os.path.abspath(path)


def shim_path():
    """Absolute path of libmuppy.so under test (MUPPY_SHIM)."""
    path = os.environ.get("MUPPY_SHIM")
    if not path:
        raise RuntimeError("MUPPY_SHIM is not set (run the tests through "
                           "tests/integration/run.py --shim PATH)")
    return os.path.abspath(path)


def app_path(name):
    """Path of a test app in tests/integration/apps/."""
    return os.path.join(APPS, name)


# ---- interpreters ---------------------------------------------------------

class Interpreter:
    """One Python executable: path, version and how libpython is linked."""

    def __init__(self, path, version, linkage):
        self.path = path
        self.version = version                          # "3.11.2"
        self.version_info = tuple(int(x) for x in version.split(".")[:2])
        self.linkage = linkage                          # "static libpython"/"shared"

    @property
    def label(self):
        """Short name for messages: '3.11.2 (/usr/bin/python3)'."""
        return "%s (%s)" % (self.version, self.path)

    def describe(self):
        """'/usr/bin/python3 (3.11.2, static libpython)'."""
        return "%s (%s, %s)" % (self.path, self.version, self.linkage)

    def __repr__(self):
        return "Interpreter(%r)" % self.describe()


# Probing: the version, and libpython linkage as the process really maps it
# (Debian's sysconfig says Py_ENABLE_SHARED=1 though its python3 is static).
_PROBE = ("import sys\n"
          "shared = any('libpython' in l for l in open('/proc/self/maps'))\n"
          "print('%d.%d.%d' % sys.version_info[:3], int(shared))\n")


def probe(path):
    """Interpreter for path, or (None, reason) if it cannot be used."""
    try:
        out = subprocess.run([path, "-S", "-c", _PROBE], capture_output=True,
                             text=True, timeout=30, env=clean_env())
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "cannot run: %s" % e
    if out.returncode != 0:
        return None, "exit status %d: %s" % (out.returncode, out.stderr.strip()[-200:])
    try:
        version, shared = out.stdout.split()
        interp = Interpreter(path, version,
                             "shared" if shared == "1" else "static libpython")
    except ValueError:
        return None, "unexpected probe output %r" % out.stdout
    if not MIN_VERSION <= interp.version_info <= MAX_VERSION:
        return None, "version %s not supported (3.8-3.13)" % version
    return interp, None


def candidate_paths():
    """Executables to try: MUPPY_TEST_PYTHONS (colon-separated) if set,
    else /usr/bin/python3 and every pyenv 3.x python3."""
    listed = os.environ.get("MUPPY_TEST_PYTHONS", "").strip()
    if listed:
        return [p for p in listed.split(":") if p]
    paths = ["/usr/bin/python3"]
    root = os.environ.get("PYENV_ROOT", "/root/.pyenv")
    found = glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3"))

    def key(p):
        v = os.path.basename(os.path.dirname(os.path.dirname(p)))
        return tuple(int(x) if x.isdigit() else 0 for x in v.split("."))
    paths += sorted(found, key=key)
    return paths


_interpreters = None
_skipped = []
_lock = threading.Lock()


def interpreters():
    """The interpreters under test (probed once, then cached)."""
    global _interpreters
    with _lock:
        if _interpreters is None:
            found, seen = [], set()
            for path in candidate_paths():
                real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
                if not os.path.exists(path):
                    _skipped.append((path, "not found"))
                    continue
                interp, reason = probe(path)
                if interp:
                    found.append(interp)
                else:
                    _skipped.append((path, reason))
            _interpreters = found
        return list(_interpreters)


def skipped_interpreters():
    """[(path, reason)] of candidates left out (after interpreters())."""
    interpreters()
    return list(_skipped)


# ---- running things -------------------------------------------------------

def clean_env(**extra):
    """os.environ without LD_PRELOAD and MUPPY_* (the harness's own
    settings must not leak into an app), plus extra (None removes)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MUPPY_") and k != "LD_PRELOAD"
           and not k.startswith("PYTHON")}
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def shim_env(muppy_dir, **extra):
    """Environment for an app under the shim writing into muppy_dir.
    Defaults: no exit dump and no timer, so a test sees exactly the dumps it
    asks for; pass MUPPY_AT_EXIT=1 etc. to change them.  MUPPY_SNAPSHOT
    comes from MUPPY_TEST_SNAPSHOT when that is set, else it is inline:
    the suites run inline and test_fork_snapshot runs them again forked."""
    base = {"LD_PRELOAD": shim_path(), "MUPPY_DIR": muppy_dir,
            "MUPPY_AT_EXIT": "0", "MUPPY_INTERVAL": "0"}
    # MUPPY_TEST_SNAPSHOT (the harness's, not the app's) picks the
    # snapshot mode of every run that does not choose one itself.
    base["MUPPY_SNAPSHOT"] = os.environ.get("MUPPY_TEST_SNAPSHOT", "inline")
    base.update({k: v for k, v in extra.items()})
    return clean_env(**base)


def start_app(interp, script, args=(), muppy_dir=None, env=None, cwd=None,
              **popen):
    """Starts interp running script (a path) under the shim; returns the
    Popen (stdout/stderr piped, text).  env: a full environment, default
    shim_env(muppy_dir)."""
    if env is None:
        env = shim_env(muppy_dir)
    return subprocess.Popen([interp.path, script] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=cwd or muppy_dir, **popen)


def run_app(interp, script, args=(), muppy_dir=None, env=None, cwd=None,
            timeout=DEFAULT_TIMEOUT, check=True):
    """Runs an app to completion (see start_app); returns CompletedProcess.
    check: raise AssertionError naming the interpreter if it exits non-zero
    or is killed by the timeout."""
    p = start_app(interp, script, args, muppy_dir, env, cwd)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("%s: %s %s hung (killed after %.0f s)\nstdout: %s\n"
                             "stderr: %s" % (interp.label, os.path.basename(script),
                                             " ".join(map(str, args)), timeout,
                                             tail(out), tail(err)))
    done = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    if check and p.returncode != 0:
        raise AssertionError("%s: %s %s exited with status %d\nstdout: %s\n"
                             "stderr: %s" % (interp.label, os.path.basename(script),
                                             " ".join(map(str, args)), p.returncode,
                                             tail(out), tail(err)))
    return done


def tail(text, n=2000):
    """The last n characters of text, for messages."""
    text = text or ""
    return text if len(text) <= n else "..." + text[-n:]


def list_dumps(muppy_dir, pid=None):
    """Complete dumps in muppy_dir (no temporaries), sorted by (pid, seq)."""
    found = []
    for name in os.listdir(muppy_dir):
        m = DUMP_NAME.match(name)
        if m and (pid is None or int(m.group(1)) == pid):
            found.append((int(m.group(1)), int(m.group(2)),
                          os.path.join(muppy_dir, name)))
    return [path for _, _, path in sorted(found)]


def wait_for_dumps(muppy_dir, count=1, pid=None, timeout=DEFAULT_TIMEOUT,
                   proc=None):
    """Polls muppy_dir until at least count complete dumps (of pid, if
    given) exist; returns their paths sorted by (pid, seq).  Raises
    AssertionError on timeout, or when proc (a Popen) exits first and the
    dumps still are not there."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        dumps = list_dumps(muppy_dir, pid)
        if len(dumps) >= count:
            return dumps
        if proc is not None and proc.poll() is not None:
            dumps = list_dumps(muppy_dir, pid)
            if len(dumps) >= count:
                return dumps
            raise AssertionError("process %d exited (status %s) with %d of %d "
                                 "dumps in %s" % (proc.pid, proc.returncode,
                                                  len(dumps), count, muppy_dir))
        if time.monotonic() > deadline:
            raise AssertionError("timeout: %d of %d dumps after %.0f s in %s: %s"
                                 % (len(dumps), count, timeout, muppy_dir,
                                    os.listdir(muppy_dir)))
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def dump_name_pid_seq(path):
    """(pid, seq) from a dump file name."""
    m = DUMP_NAME.match(os.path.basename(path))
    if not m:
        raise ValueError("not a dump name: %s" % path)
    return int(m.group(1)), int(m.group(2))


def muppy(*args, timeout=TOOL_TIMEOUT, check=True, input=None):
    """Runs the muppy tool; returns CompletedProcess (text).  check: raise
    AssertionError with the command line and stderr on a non-zero exit."""
    cmd = [muppy_bin()] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=clean_env(), input=input)
    except subprocess.TimeoutExpired:
        raise AssertionError("timeout: %s ran longer than %.0f s"
                             % (" ".join(cmd), timeout))
    if check and p.returncode != 0:
        raise AssertionError("%s exited with status %d: %s"
                             % (" ".join(cmd), p.returncode, tail(p.stderr)))
    return p


def muppy_json(*args, timeout=TOOL_TIMEOUT):
    """Runs the tool and parses its stdout as JSON."""
    p = muppy(*args, timeout=timeout)
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise AssertionError("muppy %s: output is not JSON (%s): %s"
                             % (" ".join(map(str, args)), e, tail(p.stdout, 500)))


def summary_rows(dump, *extra):
    """{row name: (count, size)} from `muppy summary DUMP --limit 0
    --format json` (every row)."""
    rows = muppy_json("summary", dump, "--limit", "0", "--format", "json", *extra)
    return {r["type"]: (r["count"], r["size"]) for r in rows}


def diff_rows(old, new, *extra):
    """{row name: (count, size)} from `muppy diff OLD NEW --limit 0
    --format json`."""
    rows = muppy_json("diff", old, new, "--limit", "0", "--format", "json", *extra)
    return {r["type"]: (r["count"], r["size"]) for r in rows}


def info_json(dump):
    """`muppy info DUMP --format json` parsed."""
    return muppy_json("info", dump, "--format", "json")


def cat_dump(dump):
    """`muppy cat DUMP` parsed: the whole dump as a dict (see tools/cmd_cat.c)."""
    return muppy_json("cat", dump, timeout=TOOL_TIMEOUT * 2)


def addr(x):
    """Normalises an address (int or '0x..' string) to an int."""
    return int(x, 16) if isinstance(x, str) else int(x)


class Graph:
    """Index over `muppy cat` output: objects by address, edges by source."""

    def __init__(self, cat):
        self.cat = cat
        self.meta = cat.get("meta", {})
        self.objects = {addr(o["address"]): o for o in cat.get("objects", [])}
        self.strdata = {addr(s["object"]): s["value"] for s in cat.get("strdata", [])}

    def edges(self, src):
        """[(to, kind, name)] of the object at address src ([] if absent)."""
        o = self.objects.get(src)
        if o is None:
            return []
        return [(addr(e["to"]), e["kind"], e["name"]) for e in o["edges"]]


# ---- per-interpreter checks -------------------------------------------------

_print_lock = threading.Lock()


def say(line):
    """Prints a line at once (the harness output is often piped to tee)."""
    with _print_lock:
        print(line, flush=True)


def jobs():
    """How many interpreters a test runs at once (MUPPY_TEST_JOBS, default:
    the number of CPUs, at least 2: the apps mostly wait)."""
    try:
        return max(1, int(os.environ["MUPPY_TEST_JOBS"]))
    except (KeyError, ValueError):
        return max(2, os.cpu_count() or 2)


def for_each_interpreter(test, check, parallel=True):
    """Runs check(interp) for every interpreter under test, in parallel
    threads unless parallel is False.  Prints one line per interpreter
    ('    ok   3.11.2 (/usr/bin/python3) 1.2 s' or FAIL with the first
    line of the reason) and then fails test once, naming each interpreter
    that failed with its full message.  No interpreter at all is a failure.
    Returns {interp.path: check's return value} of those that passed."""
    interps = interpreters()
    if not interps:
        test.fail("no supported Python interpreter found (3.8-3.13; "
                  "skipped: %s)" % skipped_interpreters())
    results, failures = {}, []

    def one(interp):
        t0 = time.monotonic()
        try:
            value = check(interp)
        except Exception as e:  # noqa: BLE001 - reported per interpreter
            took = time.monotonic() - t0
            if isinstance(e, AssertionError):
                msg = str(e)
            else:
                msg = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            first = msg.strip().splitlines()[0] if msg.strip() else type(e).__name__
            say("    FAIL %s %.1f s: %s" % (interp.label, took, first[:200]))
            return interp, False, msg
        say("    ok   %s %.1f s" % (interp.label, time.monotonic() - t0))
        return interp, True, value

    if parallel and len(interps) > 1:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs()) as pool:
            outcomes = list(pool.map(one, interps))
    else:
        outcomes = [one(i) for i in interps]
    for interp, ok, value in outcomes:
        if ok:
            results[interp.path] = value
        else:
            failures.append("[%s] %s" % (interp.label, value))
    if failures:
        test.fail("failed on %d of %d interpreters:\n%s"
                  % (len(failures), len(interps), "\n".join(failures)))
    return results


def signal_and_wait(proc, muppy_dir, count, sig=signal.SIGUSR1,
                    timeout=DEFAULT_TIMEOUT):
    """Sends sig to proc and waits until it has count dumps; returns them."""
    os.kill(proc.pid, sig)
    return wait_for_dumps(muppy_dir, count, pid=proc.pid, timeout=timeout,
                          proc=proc)


def read_line(proc, timeout=DEFAULT_TIMEOUT):
    """One line from proc.stdout within timeout (a thread does the
    blocking read); raises AssertionError on timeout or EOF."""
    box = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()),
                         daemon=True)
    t.start()
    t.join(timeout)
    if not box:
        raise AssertionError("no output from pid %d within %.0f s"
                             % (proc.pid, timeout))
    if not box[0]:
        raise AssertionError("pid %d closed its output (exit status %s); "
                             "stderr: %s" % (proc.pid, proc.poll(),
                                             tail(proc.stderr.read() if proc.poll()
                                                  is not None else "")))
    return box[0].rstrip("\n")


def finish(proc, interp, timeout=DEFAULT_TIMEOUT):
    """Waits for proc to exit (closing its stdin if piped); returns
    (stdout, stderr); AssertionError if it hangs or exits non-zero."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("%s: pid %d hung (killed after %.0f s); stderr: %s"
                             % (interp.label, proc.pid, timeout, tail(err)))
    if proc.returncode != 0:
        raise AssertionError("%s: pid %d exited with status %d; stderr: %s"
                             % (interp.label, proc.pid, proc.returncode, tail(err)))
    return out, err


if __name__ == "__main__":
    for i in interpreters():
        print(i.describe())
    for path, why in skipped_interpreters():
        print("skipped %s: %s" % (path, why))
    sys.exit(0)
