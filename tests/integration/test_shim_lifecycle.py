"""Integration tests for the life cycle half of libmuppy.so (shim/runtime/shim.c,
shim/runtime/config.c, shim/runtime/output.c): real interpreters run under LD_PRELOAD.

What is covered: inertness in non-Python processes (same output and exit
status, no thread, no handler, no file), the exported symbols,
signal-triggered dumps (names, seq, mode 0600, META), chaining to the
application's own signal handler (including SIG_IGN/SIG_DFL, getsignal(),
and EINTR for its blocking calls; test_signals.py has the rest), no descriptor of ours in the app, the
timer, the exit dump, muppy.dump() (the Python API's path into the shim),
fork and multiprocessing children, Python subprocesses, configuration
warnings, unwritable directories, a full disk (injected through the shim's
exported test hook muppy_shim_test_fail and, when we may mount, a real full
tmpfs), symlinks planted at the dump names, and a stress loop of short runs
that must never hang, crash or print.

Environment:
  MUPPY_SHIM     path of libmuppy.so (required; the tests skip without it)
  MUPPY_BIN      path of the muppy tool (optional; not needed here: dumps
                 are verified by the small reader below, which checks the
                 header CRC, the zlib body, its length and CRC, the trailer,
                 and decodes STRTAB and META)
  MUPPY_PYTHONS  interpreters to use, separated by ':' (default: Debian's
                 /usr/bin/python3 and pyenv's 3.8-3.13 where present)
  MUPPY_STRESS_RUNS  runs per interpreter in the stress loop (default 50)

Each test iterates over every interpreter present and prints one line per
interpreter saying it ran; an absent interpreter is reported and skipped,
never failed.  Run: MUPPY_SHIM=... python3 -m unittest -v test_shim_lifecycle
"""

import glob
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import zlib

SHIM = os.environ.get("MUPPY_SHIM", "")
PYENV_VERSIONS = ["3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
TIMEOUT = 60
DUMP_RE = re.compile(r"^muppy\.(\d+)\.(\d+)\.dump$")


def interpreters():
    """[(label, path)] of the interpreters to test, present or not."""
    env = os.environ.get("MUPPY_PYTHONS")
    if env:
        paths = [p for p in env.split(":") if p]
    else:
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        paths = ["/usr/bin/python3"] + [
            os.path.join(root, "versions", v, "bin", "python3")
            for v in PYENV_VERSIONS]
    out = []
    for p in paths:
        label = p
        m = re.search(r"versions/([^/]+)/", p)
        if m:
            label = "pyenv " + m.group(1)
        elif p == "/usr/bin/python3":
            label = "debian python3"
        out.append((label, p))
    return out


# ---- a small, strict dump reader (format/dump.h layout) ----------------

class BadDump(Exception):
    pass


def _varint(buf, pos):
    v, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise BadDump("varint runs past its section")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, pos


def read_dump(path):
    """Verifies the whole file and returns its META as a dict."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 36:
        raise BadDump("%s: too short (%d bytes)" % (path, len(data)))
    if data[:8] != b"MUPPYDMP":
        raise BadDump("%s: bad magic" % path)
    (hcrc,) = struct.unpack_from("<I", data, 16)
    if zlib.crc32(data[:16]) != hcrc:
        raise BadDump("%s: header CRC mismatch" % path)
    if data[-4:] != b"MEND":
        raise BadDump("%s: trailer magic missing" % path)
    blen, bcrc = struct.unpack_from("<QI", data, len(data) - 16)
    d = zlib.decompressobj()
    body = d.decompress(data[20:len(data) - 16]) + d.flush()
    if not d.eof or d.unused_data:
        raise BadDump("%s: zlib stream does not end at the trailer" % path)
    if len(body) != blen or zlib.crc32(body) != bcrc:
        raise BadDump("%s: body length or CRC mismatch" % path)
    pos, strings, meta, last = 0, None, None, None
    while pos < len(body):
        sid, slen = struct.unpack_from("<IQ", body, pos)
        pos += 12
        payload = body[pos:pos + slen]
        if len(payload) != slen:
            raise BadDump("%s: section %d truncated" % (path, sid))
        pos += slen
        last = sid
        if sid == 2:
            # A streamed dump (format 1.1+) appends to the table as it goes.
            n, p = _varint(payload, 0)
            strings = strings if strings is not None else []
            for _ in range(n):
                ln, p = _varint(payload, p)
                strings.append(payload[p:p + ln].decode("utf-8", "replace"))
                p += ln
        elif sid == 1:
            n, p = _varint(payload, 0)
            meta = []
            for _ in range(n):
                k, p = _varint(payload, p)
                v, p = _varint(payload, p)
                meta.append((k, v))
    if last != 0:
        raise BadDump("%s: END section is not last" % path)
    if strings is None or meta is None:
        raise BadDump("%s: STRTAB or META missing" % path)
    return {strings[k]: strings[v] for k, v in meta}


# ---- running things under the shim --------------------------------------

def shim_env(dump_dir, **extra):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("MUPPY_") and k not in ("MUPPY_SHIM", "MUPPY_BIN"):
            del env[k]
    env["LD_PRELOAD"] = SHIM
    env["MUPPY_DIR"] = dump_dir
    env["MUPPY_SHIM"] = SHIM
    # Inline unless the harness asks otherwise (test_fork_snapshot.py).
    env["MUPPY_SNAPSHOT"] = os.environ.get("MUPPY_TEST_SNAPSHOT", "inline")
    env.pop("PYTHONWARNINGS", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_py(python, code, dump_dir, args=(), **extra):
    return subprocess.run(
        [python, "-c", textwrap.dedent(code)] + list(args),
        env=shim_env(dump_dir, **extra), cwd=dump_dir,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=TIMEOUT, universal_newlines=True)


def dumps(dump_dir, pid=None):
    """{(pid, seq): path} of the finished dumps in dump_dir."""
    out = {}
    for name in os.listdir(dump_dir):
        m = DUMP_RE.match(name)
        if m and (pid is None or int(m.group(1)) == pid):
            out[(int(m.group(1)), int(m.group(2)))] = os.path.join(
                dump_dir, name)
    return out


# The one line a timer that cannot keep its interval prints (shim.c).
TIMER_LATE = re.compile(r"muppy: pid [0-9]+: timer dumps come every "
                        r"[0-9.]+ s, not every [0-9.e+-]+ s \(MUPPY_INTERVAL\): a snapshot takes "
                        r"[0-9.]+ s here\n")


def leftovers(dump_dir):
    return [n for n in os.listdir(dump_dir) if ".tmp." in n]


def muppy_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("muppy:")]


# Python snippet shared by the apps: wait until our dump number seq exists.
WAIT_FOR = """
import glob, os, time
def wait_for(pid, seq, limit=20.0):
    name = "muppy.%d.%d.dump" % (pid, seq)
    end = time.time() + limit
    while not os.path.exists(name):
        if time.time() > end:
            raise SystemExit("timed out waiting for " + name)
        time.sleep(0.005)
"""


@unittest.skipUnless(SHIM and os.path.exists(SHIM),
                     "MUPPY_SHIM does not name libmuppy.so")
class ShimLifecycleTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="muppy-shim-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fresh_dir(self, label):
        d = os.path.join(self.tmp, re.sub(r"\W", "_", label))
        os.mkdir(d)
        return d

    def each_python(self):
        """[(label, path, dir)] of the present interpreters, printing a line
        per interpreter saying whether it ran; skips if none is present.
        Callers run each in self.subTest(python=label)."""
        out = []
        name = self.id().split(".")[-1]
        for label, path in interpreters():
            if not os.access(path, os.X_OK):
                sys.stderr.write("    %s: %s absent, skipped\n"
                                 % (name, label))
                continue
            sys.stderr.write("    %s: %s ran\n" % (name, label))
            out.append((label, path, self.fresh_dir(label)))
        if not out:
            self.skipTest("no interpreter present")
        return out

    # -- non-Python processes ------------------------------------------

    def test_inert_in_non_python_processes(self):
        cmds = [["sh", "-c", "echo out; echo err >&2; kill -0 $$; exit 3"],
                ["ls", "-la", "/usr"], ["true"],   # not /: /tmp changes
                ["sh", "-c", "trap 'echo got usr1' USR1; kill -USR1 $$; "
                 "echo after"]]
        d = self.fresh_dir("inert")
        for cmd in cmds:
            plain = subprocess.run(cmd, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, cwd=d,
                                   timeout=TIMEOUT)
            env = shim_env(d, MUPPY_INTERVAL="0.001", MUPPY_SIGNAL="USR1")
            shimmed = subprocess.run(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=d, env=env,
                                     timeout=TIMEOUT)
            self.assertEqual(plain.returncode, shimmed.returncode, cmd)
            self.assertEqual(plain.stdout, shimmed.stdout, cmd)
            self.assertEqual(plain.stderr, shimmed.stderr, cmd)
        self.assertEqual(os.listdir(d), [])

    def test_no_thread_no_handler_in_non_python_process(self):
        d = self.fresh_dir("sleep")
        p = subprocess.Popen(["sleep", "30"], cwd=d,
                             env=shim_env(d, MUPPY_INTERVAL="0.001"))
        try:
            # Wait until sleep has exec'd and run its constructors.
            for _ in range(200):
                with open("/proc/%d/status" % p.pid) as f:
                    status = f.read()
                if "Name:\tsleep" in status:
                    break
                subprocess.run(["sleep", "0.01"])
            tasks = os.listdir("/proc/%d/task" % p.pid)
            self.assertEqual(len(tasks), 1, "extra thread in a non-Python "
                             "process: %s" % tasks)
            caught = int(re.search(r"SigCgt:\s*([0-9a-f]+)", status).group(1),
                         16)
            self.assertEqual(caught & (1 << (signal.SIGUSR1 - 1)), 0,
                             "a SIGUSR1 handler is installed in sleep")
            # SIGUSR1's default action still kills it: nothing of ours.
            p.send_signal(signal.SIGUSR1)
            self.assertEqual(p.wait(timeout=TIMEOUT), -signal.SIGUSR1)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(os.listdir(d), [])

    def test_exported_symbols(self):
        nm = shutil.which("nm")
        if not nm:
            self.skipTest("nm not installed")
        out = subprocess.run([nm, "-D", "--defined-only", SHIM],
                             stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
        names = sorted(l.split()[-1] for l in out.splitlines() if l.strip())
        # shim/runtime/signals.h: every libc call that sets a signal's action.
        interposed = ("sigaction", "__sigaction", "signal", "bsd_signal",
                      "ssignal", "sysv_signal", "__sysv_signal",
                      "siginterrupt", "sigset", "sigignore")
        extra = [n for n in names
                 if n not in interposed and not n.startswith("muppy_")]
        self.assertEqual(extra, [], "unexpected exports")
        self.assertEqual(sorted(set(interposed) - set(names)), [])
        self.assertIn("sigaction", names)
        self.assertIn("signal", names)

    # -- triggers ---------------------------------------------------------

    def test_signal_twice_gives_seq_1_and_2(self):
        app = WAIT_FOR + """
import signal
pid = os.getpid()
os.kill(pid, signal.SIGUSR1); wait_for(pid, 1)
os.kill(pid, signal.SIGUSR1); wait_for(pid, 2)
print("done", pid)
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                pid = int(r.stdout.split()[1])
                self.assertEqual(r.stdout, "done %d\n" % pid)
                found = dumps(d)
                self.assertEqual(sorted(found), [(pid, 1), (pid, 2)])
                for (p, seq), path in found.items():
                    self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
                    meta = read_dump(path)
                    self.assertEqual(meta["pid"], str(pid))
                    self.assertEqual(meta["seq"], str(seq))
                    self.assertEqual(meta["trigger"], "signal")
                    self.assertEqual(meta["ppid"], str(os.getpid()))
                    self.assertEqual(meta["mode"], "graph")
                    self.assertEqual(meta["snapshot"],
                                     os.environ.get("MUPPY_TEST_SNAPSHOT",
                                                    "inline"))
                    self.assertEqual(meta["strings"], "0")
                    self.assertEqual(meta["executable"],
                                     os.path.realpath(python))
                    self.assertIn("-c", meta["cmdline"].split())
                    out = subprocess.run([python, "-c", "import platform; "
                                          "print(platform.python_version())"],
                                         stdout=subprocess.PIPE,
                                         universal_newlines=True).stdout.strip()
                    self.assertEqual(meta["python"], out)
                    self.assertTrue(meta["python_full"].startswith(out + " "))
                    for key in ("rss", "objects", "edges", "gil_ns", "walk_ns"):
                        self.assertRegex(meta[key], r"^\d+$", key)
                    self.assertGreater(int(meta["rss"]), 1 << 20)
                    self.assertRegex(meta["time"], r"^\d{10}\.\d{6}$")
                self.assertEqual(leftovers(d), [])

    def test_application_handler_is_chained(self):
        app = WAIT_FOR + """
import signal
hits = []
def handler(signum, frame):
    hits.append(signum)
signal.signal(signal.SIGUSR1, handler)
assert signal.getsignal(signal.SIGUSR1) is handler
pid = os.getpid()
os.kill(pid, signal.SIGUSR1); wait_for(pid, 1)
while not hits:
    time.sleep(0.005)
# SIG_IGN from the application: ignored, as without the shim (no dump:
# the kernel holds SIG_IGN, shim/runtime/signals.c note 3).  (SIG_DFL set by the
# program is the kernel's too: test_signals.py checks that it kills.)
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN
os.kill(pid, signal.SIGUSR1)
time.sleep(0.3)
assert not os.path.exists("muppy.%d.2.dump" % pid), "dump while ignored"
print("hits", len(hits))
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "hits 1\n", ""))
                self.assertEqual(len(dumps(d)), 1)

    def test_blocking_call_still_interrupted_for_app_handler(self):
        # Python installs its handlers without SA_RESTART so that a blocking
        # read() returns EINTR and the Python handler runs at once.  Our
        # handler, installed in its place, must keep that: with SA_RESTART
        # the read below would block until the test's timeout.
        app = """
import os, signal, threading
class Boom(Exception):
    pass
def handler(signum, frame):
    raise Boom()
signal.signal(signal.SIGUSR1, handler)
r, w = os.pipe()
main = threading.get_ident()
threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGUSR1)).start()
try:
    os.read(r, 1)
except Boom:
    print("interrupted")
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "interrupted\n", ""))

    def test_python_api_dump(self):
        # muppy.dump() (pymod.c) goes through shim_dump_now: same naming,
        # META trigger "api", an explicit path is never replaced.
        app = """
import os, muppy
first = muppy.dump()
second = muppy.dump(os.path.abspath("mine.dump"))
try:
    muppy.dump("mine.dump")
except OSError as e:
    print("refused", "File exists" in str(e))
print(first)
print(second)
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                refused, first, second = r.stdout.splitlines()
                self.assertEqual(refused, "refused True")
                self.assertRegex(first, r"^%s/muppy\.\d+\.1\.dump$"
                                 % re.escape(d))
                self.assertEqual(second, os.path.join(d, "mine.dump"))
                meta = read_dump(first)
                self.assertEqual((meta["trigger"], meta["seq"]),
                                 ("api", "1"))
                self.assertEqual(read_dump(second)["seq"], "2")
                self.assertEqual(os.stat(second).st_mode & 0o777, 0o600)

    def test_no_descriptor_of_ours_in_the_app(self):
        # The shim keeps no descriptor open in the profiled process, so an
        # application that closes them all (daemonizing) and reuses the
        # numbers cannot get our bytes written into its files.
        app = WAIT_FOR + """
import signal, sys
print(sorted(os.listdir("/proc/self/fd")))
os.closerange(3, 4096)
with open("app.log", "w") as log:
    pid = os.getpid()
    os.kill(pid, signal.SIGUSR1); wait_for(pid, 1)
    os.kill(pid, signal.SIGUSR1); wait_for(pid, 2)
print(open("app.log").read() == "")
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                plain = subprocess.run(
                    [python, "-c", "import os; print(sorted(os.listdir("
                     "'/proc/self/fd')))"], stdout=subprocess.PIPE,
                    universal_newlines=True, timeout=TIMEOUT, cwd=d)
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertEqual(r.stdout, plain.stdout + "True\n")
                self.assertEqual(len(dumps(d)), 2)

    def test_default_handler_reported_at_start(self):
        # Python reads the handler in place at start-up: it must see the
        # application's (SIG_DFL), not ours, or getsignal() returns None.
        app = """
import signal
print(signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL,
      signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL)
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "True True\n", ""))

    def test_other_signal_and_invalid_config(self):
        app = WAIT_FOR + """
import signal
pid = os.getpid()
os.kill(pid, signal.SIGUSR2); wait_for(pid, 1)
print("ok")
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_SIGNAL="SIGUSR2",
                           MUPPY_AT_EXIT=0, MUPPY_INTERVAL="soon",
                           MUPPY_MODE="summary")
                self.assertEqual((r.returncode, r.stdout), (0, "ok\n"))
                lines = muppy_lines(r.stderr)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertRegex(lines[0], r"^muppy: pid \d+: invalid "
                                 r"MUPPY_INTERVAL='soon'")
                self.assertEqual(r.stderr, lines[0] + "\n")
                (path,) = dumps(d).values()
                self.assertEqual(read_dump(path)["mode"], "summary")

    def test_timer(self):
        app = WAIT_FOR + """
pid = os.getpid()
wait_for(pid, 3)
print("ok")
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_INTERVAL="0.05",
                           MUPPY_AT_EXIT=0, MUPPY_SIGNAL="none")
                err = TIMER_LATE.sub("", r.stderr, count=1)  # loaded machine
                self.assertEqual((r.returncode, r.stdout, err),
                                 (0, "ok\n", ""))
                found = dumps(d)
                seqs = sorted(s for _, s in found)
                self.assertGreaterEqual(len(seqs), 3)
                self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
                for path in found.values():
                    self.assertEqual(read_dump(path)["trigger"], "timer")

    def test_exit_dump(self):
        cases = [
            # (code, expected exit status, expected exit dumps)
            ("import time; time.sleep(0.2); print('bye')", 0, 1),
            ("import sys, time; time.sleep(0.2); print('bye'); sys.exit(3)",
             3, 1),
            ("import os, sys, time; time.sleep(0.2); print('bye'); "
             "sys.stdout.flush(); os._exit(4)", 4, 0),
        ]
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                for i, (code, status, ndumps) in enumerate(cases):
                    sub = os.path.join(d, str(i))
                    os.mkdir(sub)
                    r = run_py(python, code, sub)
                    self.assertEqual((r.returncode, r.stdout, r.stderr),
                                     (status, "bye\n", ""), code)
                    found = dumps(sub)
                    self.assertEqual(len(found), ndumps, code)
                    for path in found.values():
                        self.assertEqual(read_dump(path)["trigger"], "exit")
                off = os.path.join(d, "off")
                os.mkdir(off)
                r = run_py(python, cases[0][0], off, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertEqual(dumps(off), {})

    # -- start-up (shim/runtime/attach.c) --------------------------------------------

    def test_debug_allocators_at_exit(self):
        # Our audit hook's list entry is allocated before the interpreter
        # picks its allocator; if CPython still held it at exit, the debug
        # allocator of -X dev / PYTHONMALLOC=debug would abort ("bad ID").
        app = WAIT_FOR + """
import signal
pid = os.getpid()
os.kill(pid, signal.SIGUSR1); wait_for(pid, 1)
print("done")
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                for i, (flags, extra) in enumerate([
                        (["-X", "dev"], {}),
                        ([], {"PYTHONMALLOC": "debug"})]):
                    sub = os.path.join(d, str(i))
                    os.mkdir(sub)
                    r = subprocess.run(
                        [python] + flags + ["-c", app],
                        env=shim_env(sub, **extra), cwd=sub,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=TIMEOUT, universal_newlines=True)
                    self.assertEqual((r.returncode, r.stdout, r.stderr),
                                     (0, "done\n", ""), flags or extra)
                    triggers = sorted(read_dump(p)["trigger"]
                                      for p in dumps(sub).values())
                    self.assertEqual(triggers, ["exit", "signal"])

    def test_fork_as_the_first_statement(self):
        # No thread of ours may exist before our fork hooks do: 3.12+ warns
        # (DeprecationWarning on stderr) when os.fork() sees another thread.
        app = """
import os
child = os.fork()
if child == 0:
    os._exit(0)
os.waitpid(child, 0)
print("ok")
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                for _ in range(5):
                    r = run_py(python, app, d, MUPPY_AT_EXIT=0,
                               MUPPY_INTERVAL="0.001")
                    # A 1 ms interval cannot be kept on a loaded machine and
                    # the shim may say so, once; a warning is anything else.
                    err = TIMER_LATE.sub("", r.stderr, count=1)
                    self.assertEqual((r.returncode, r.stdout, err),
                                     (0, "ok\n", ""))

    def test_many_forks_never_see_our_thread(self):
        # The before-fork hook joins our worker; pthread_join returns a
        # moment before the kernel drops the thread from /proc/self/stat's
        # count, which 3.12+'s os.fork() reads for its warning.  Seen as
        # ~1 fork in 100 warning (test_threading's
        # test_main_thread_after_fork on 3.13); 400 forks make it certain.
        app = """
import os, warnings
n = 0
for i in range(400):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        child = os.fork()
        if child == 0:
            os._exit(0)
        os.waitpid(child, 0)
    n += len(w)
print("warnings", n)
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assertEqual((r.returncode, r.stdout, r.stderr),
                                 (0, "warnings 0\n", ""))

    def test_main_thread_blocked_in_c_from_the_start(self):
        # The program's first statement blocks in C for good: the shim must
        # be up already (it attaches before the program's first bytecode),
        # and a signal from outside still gets its dump.
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                p = subprocess.Popen(
                    [python, "-c", "import time; time.sleep(60)"],
                    env=shim_env(d, MUPPY_AT_EXIT=0), cwd=d,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                try:
                    deadline = time.time() + 20
                    while not dumps(d) and time.time() < deadline:
                        # Repeated: a signal before the handler exists
                        # would be lost, not queued.
                        time.sleep(0.2)
                        os.kill(p.pid, signal.SIGUSR1)
                    found = dumps(d)
                    self.assertIsNone(p.poll())
                finally:
                    p.kill()
                    out, err = p.communicate()
                self.assertEqual(err, b"")
                self.assertTrue(found, "no dump while the main thread slept")
                self.assertEqual(set(k[0] for k in found), {p.pid})

    def test_unsupported_interpreters_are_left_alone(self):
        # Pythons outside 3.8-3.13 (pyenv's 2.7, 3.6, 3.7 where present):
        # one line naming the version, the program's own output and exit
        # status, no file (2.7 and 3.6 once crashed at start-up).
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        name = self.id().split(".")[-1]
        ran = 0
        for v in sorted(glob.glob(os.path.join(root, "versions", "*"))):
            version = os.path.basename(v)
            m = re.match(r"(\d+)\.(\d+)\.", version + ".")
            python = os.path.join(v, "bin", "python")
            if not m or not os.access(python, os.X_OK) or \
                    (3, 8) <= (int(m.group(1)), int(m.group(2))) <= (3, 13):
                continue
            ran += 1
            sys.stderr.write("    %s: pyenv %s ran\n" % (name, version))
            with self.subTest(python=version):
                d = self.fresh_dir(version)
                r = subprocess.run(
                    [python, "-c", "import sys; print('hi'); sys.exit(3)"],
                    env=shim_env(d, MUPPY_INTERVAL="0.01"), cwd=d,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    timeout=TIMEOUT, universal_newlines=True)
                self.assertEqual((r.returncode, r.stdout), (3, "hi\n"))
                self.assertRegex(r.stderr, r"^muppy: pid \d+: Python %s is "
                                 r"not supported \(3\.8 to 3\.13\); not "
                                 r"profiling\n$" % re.escape(version))
                self.assertEqual(os.listdir(d), [])
        if not ran:
            self.skipTest("no interpreter outside 3.8-3.13 present")

    def test_loaded_late_says_so_and_does_nothing(self):
        # dlopen'ed into a running interpreter instead of preloaded: one
        # line, no handler, no thread, no dump at exit.
        app = """
import ctypes, os, signal, threading
ctypes.CDLL(os.environ["MUPPY_SHIM"])
assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
print(threading.active_count(), len(os.listdir("/proc/self/task")))
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                env = shim_env(d)
                del env["LD_PRELOAD"]
                r = subprocess.run([python, "-c", app], env=env, cwd=d,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=TIMEOUT,
                                   universal_newlines=True)
                self.assertEqual((r.returncode, r.stdout), (0, "1 1\n"))
                self.assertRegex(r.stderr, r"^muppy: pid \d+: loaded after "
                                 r"the interpreter started; not profiling "
                                 r"\(preload it with LD_PRELOAD\)\n$")
                self.assertEqual(dumps(d), {})

    EMBEDDER = r"""
#include <Python.h>
/* A program embedding CPython: no python executable, no cpython.run_*
 * audit event; the shim must attach at the first code it runs. */
int main(int argc, char **argv) {
    int rc;
    if (argc != 2) return 2;
    Py_Initialize();
    rc = PyRun_SimpleString(argv[1]);
    if (Py_FinalizeEx() < 0) return 120;
    return rc ? 1 : 0;
}
"""

    def build_embedder(self, python, d):
        """Compiles EMBEDDER against python's libpython; None if that
        interpreter has no python3-config or no compiler is present."""
        config = os.path.join(os.path.dirname(python), "python3-config")
        if not os.access(config, os.X_OK) or not shutil.which("gcc"):
            return None
        flags = subprocess.run(
            [config, "--embed", "--cflags", "--ldflags"],
            stdout=subprocess.PIPE, universal_newlines=True)
        if flags.returncode != 0:
            return None
        libdir = re.findall(r"-L(\S+)", flags.stdout)
        src, exe = os.path.join(d, "embed.c"), os.path.join(d, "embed")
        with open(src, "w") as f:
            f.write(self.EMBEDDER)
        cc = subprocess.run(
            ["gcc", "-o", exe, src] + flags.stdout.split() +
            ["-Wl,-rpath," + p for p in libdir],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        return exe

    def test_embedded_interpreter(self):
        app = WAIT_FOR + """
import signal
pid = os.getpid()
os.kill(pid, signal.SIGUSR1); wait_for(pid, 1)
print("done", pid)
"""
        name = self.id().split(".")[-1]
        built = 0
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                exe = self.build_embedder(python, d)
                if exe is None:
                    sys.stderr.write("    %s: %s has no python3-config, "
                                     "skipped\n" % (name, label))
                    continue
                built += 1
                r = subprocess.run([exe, textwrap.dedent(app)],
                                   env=shim_env(d), cwd=d,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=TIMEOUT,
                                   universal_newlines=True)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                pid = int(r.stdout.split()[1])
                found = dumps(d)
                self.assertEqual(sorted(found), [(pid, 1), (pid, 2)])
                self.assertEqual(
                    [read_dump(found[(pid, s)])["trigger"] for s in (1, 2)],
                    ["signal", "exit"])
        if not built:
            self.skipTest("no interpreter with python3-config")

    # -- processes ----------------------------------------------------------

    def test_fork_child_dumps_under_its_own_pid(self):
        app = WAIT_FOR + """
import signal, sys
parent = os.getpid()
child = os.fork()
if child == 0:
    me = os.getpid()
    os.kill(me, signal.SIGUSR1); wait_for(me, 1)
    os._exit(0)
_, status = os.waitpid(child, 0)
assert status == 0, status
os.kill(parent, signal.SIGUSR1); wait_for(parent, 1)
print(parent, child)
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                # No stray output: in particular no DeprecationWarning about
                # forking a multi-threaded process (3.12+).
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                parent, child = map(int, r.stdout.split())
                self.assertEqual(sorted(dumps(d)), sorted([(parent, 1),
                                                           (child, 1)]))
                meta = read_dump(dumps(d)[(child, 1)])
                self.assertEqual((meta["pid"], meta["ppid"], meta["seq"]),
                                 (str(child), str(parent), "1"))

    def test_multiprocessing_fork_child(self):
        app = WAIT_FOR + """
import multiprocessing, signal
def work():
    me = os.getpid()
    os.kill(me, signal.SIGUSR1); wait_for(me, 1)
if __name__ == "__main__":
    p = multiprocessing.get_context("fork").Process(target=work)
    p.start(); p.join()
    print(p.exitcode, p.pid)
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                script = os.path.join(d, "app.py")
                with open(script, "w") as f:
                    f.write(app)
                r = subprocess.run([python, script], env=shim_env(
                    d, MUPPY_AT_EXIT=0), cwd=d, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, timeout=TIMEOUT,
                    universal_newlines=True)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                code, pid = map(int, r.stdout.split())
                self.assertEqual(code, 0)
                self.assertEqual(list(dumps(d)), [(pid, 1)])

    def test_python_subprocess_is_profiled(self):
        app = """
import os, subprocess, sys
# The child dumps on a signal and waits for its file: an exit dump alone
# would race a run this short (the worker may not have seen the
# interpreter initialized yet; docs/usage.md).
child = '''
import os, signal, time
os.kill(os.getpid(), signal.SIGUSR1)
end = time.time() + 20
mine = "muppy.%d." % os.getpid()
while time.time() < end and not any(n.startswith(mine) and n.endswith(".dump")
                                    for n in os.listdir(".")):
    time.sleep(0.01)
print(os.getpid())
'''
r = subprocess.run([sys.executable, "-c", child],
                   stdout=subprocess.PIPE, universal_newlines=True)
print(r.stdout.strip())
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                child = int(r.stdout.split()[-1])
                self.assertIn(child, [p for p, _ in dumps(d)])

    # -- failures ----------------------------------------------------------

    def assert_one_warning(self, r, pattern, out="done\n"):
        self.assertEqual((r.returncode, r.stdout), (0, out))
        lines = muppy_lines(r.stderr)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], pattern)
        self.assertEqual(r.stderr, lines[0] + "\n", "other output")

    SIGNAL_TWICE = """
import os, signal, time
for _ in range(2):
    os.kill(os.getpid(), signal.SIGUSR1)
    time.sleep(0.3)
print("done")
"""

    def test_missing_or_bad_directory(self):
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                missing = os.path.join(d, "no", "such")
                r = run_py(python, self.SIGNAL_TWICE, d, MUPPY_DIR=missing)
                self.assert_one_warning(
                    r, r"^muppy: pid \d+: cannot write dumps to %s: No such file"
                    % re.escape(missing))
                afile = os.path.join(d, "file")
                open(afile, "w").close()
                r = run_py(python, self.SIGNAL_TWICE, d, MUPPY_DIR=afile)
                self.assert_one_warning(
                    r, r"^muppy: pid \d+: cannot write dumps to %s: Not a "
                    r"directory" % re.escape(afile))
                self.assertEqual(sorted(os.listdir(d)), ["file"])

    def test_read_only_directory(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a read-only tmpfs")
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                ro = os.path.join(d, "ro")
                os.mkdir(ro)
                if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k",
                                   "tmpfs", ro], stderr=subprocess.DEVNULL
                                  ).returncode != 0:
                    self.skipTest("cannot mount tmpfs here")
                try:
                    r = run_py(python, self.SIGNAL_TWICE, d, MUPPY_DIR=ro)
                    self.assert_one_warning(
                        r, r"^muppy: pid \d+: cannot write dumps to %s: "
                        r"Read-only file system" % re.escape(ro))
                finally:
                    subprocess.run(["umount", ro])

    INJECT = """
import ctypes, os, signal, sys, time
shim = ctypes.CDLL(os.environ["MUPPY_SHIM"])
assert shim.muppy_shim_test_fail(sys.argv[1].encode()) == 0
for _ in range(2):
    os.kill(os.getpid(), signal.SIGUSR1)
    time.sleep(0.3)
print("done")
"""

    def test_injected_failures(self):
        cases = [
            ("write:ENOSPC", r"dump to .* not written: write: No space left"),
            ("fsync:EIO", r"dump to .* not written: fsync: Input/output"),
            ("link:EDQUOT", r"dump to .* not written: link: Disk quota"),
            ("open:EACCES", r"cannot write dumps to .*: Permission denied"),
            ("walk:ENOMEM", r"heap walk failed: Cannot allocate memory"),
            # The named tmp file (no O_TMPFILE) is removed on failure too.
            ("tmpfile:EOPNOTSUPP,write:ENOSPC",
             r"dump to .* not written: write: No space left"),
            ("tmpfile:EOPNOTSUPP,fsync:EIO",
             r"dump to .* not written: fsync: Input/output"),
        ]
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                for spec, pattern in cases:
                    sub = os.path.join(d, re.sub(r"\W", "_", spec))
                    os.mkdir(sub)
                    r = run_py(python, self.INJECT, sub, args=[spec])
                    self.assert_one_warning(r, r"^muppy: pid \d+: " + pattern)
                    self.assertEqual(os.listdir(sub), [], spec)
                bad = run_py(python, "import ctypes, os; print(ctypes.CDLL("
                             "os.environ['MUPPY_SHIM']).muppy_shim_test_fail("
                             "b'write:ENOPE'))", d, MUPPY_AT_EXIT=0)
                self.assertEqual(bad.stdout, "-1\n")

    def test_streamed_with_and_without_a_helper(self):
        # A streamed dump is compressed and written on a helper thread
        # while the walk goes on; when none can start (helper:EAGAIN) the
        # walk encodes on its own.  Either way: complete, valid dumps, the
        # app's output untouched, and a write that fails on the helper is
        # reported, and cleaned up, as any other.
        tool = os.environ.get("MUPPY_BIN")
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                for spec in ("", "helper:EAGAIN"):
                    sub = os.path.join(d, "ok" + re.sub(r"\W", "_", spec))
                    os.mkdir(sub)
                    r = run_py(python, self.INJECT, sub, args=[spec],
                               MUPPY_STREAM="1", MUPPY_AT_EXIT=0)
                    self.assertEqual((r.returncode, r.stdout, r.stderr),
                                     (0, "done\n", ""), spec)
                    found = dumps(sub)
                    self.assertEqual(len(found), 2, (spec, os.listdir(sub)))
                    for path in found.values():
                        read_dump(path)   # raises if it is not whole
                        if tool:   # the reader's every cross-check too
                            subprocess.run([tool, "info", path], check=True,
                                           stdout=subprocess.DEVNULL)
                for spec in ("write:ENOSPC", "helper:EAGAIN,write:ENOSPC"):
                    sub = os.path.join(d, re.sub(r"\W", "_", spec))
                    os.mkdir(sub)
                    r = run_py(python, self.INJECT, sub, args=[spec],
                               MUPPY_STREAM="1", MUPPY_AT_EXIT=0)
                    self.assert_one_warning(
                        r, r"^muppy: pid \d+: dump to .* not written: "
                        r"write: No space left")
                    self.assertEqual(os.listdir(sub), [], spec)

    def test_recovers_after_failure(self):
        app = WAIT_FOR + """
import ctypes, signal
shim = ctypes.CDLL(os.environ["MUPPY_SHIM"])
pid = os.getpid()
shim.muppy_shim_test_fail(b"write:ENOSPC")
os.kill(pid, signal.SIGUSR1)
time.sleep(0.3)
shim.muppy_shim_test_fail(b"")
os.kill(pid, signal.SIGUSR1); wait_for(pid, 1)
print("done")
"""
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                r = run_py(python, app, d, MUPPY_AT_EXIT=0)
                self.assert_one_warning(r, r"write: No space left on device")
                self.assertEqual([seq for _, seq in dumps(d)], [1])
                self.assertEqual(leftovers(d), [])

    def test_real_full_disk(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs")
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                full = os.path.join(d, "full")
                os.mkdir(full)
                if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k",
                                   "tmpfs", full], stderr=subprocess.DEVNULL
                                  ).returncode != 0:
                    self.skipTest("cannot mount tmpfs here")
                try:
                    # Fill it up, leaving no block free.
                    filler = os.path.join(full, "filler")
                    with open(filler, "wb", buffering=0) as f:
                        try:
                            while True:
                                f.write(b"x" * 4096)
                        except OSError:
                            pass
                    r = run_py(python, self.SIGNAL_TWICE, d, MUPPY_DIR=full)
                    self.assert_one_warning(
                        r, r"^muppy: pid \d+: dump to %s not written: write: "
                        r"No space left on device" % re.escape(full))
                    self.assertEqual(os.listdir(full), ["filler"])
                finally:
                    subprocess.run(["umount", full])

    def test_symlinks_are_not_followed(self):
        # Symlinks planted at the final name of seq 1 and at the tmp name of
        # seq 2 (used when O_TMPFILE is unavailable, forced here through the
        # test hook): neither is followed or replaced, the dump lands at
        # seq 2 (O_TMPFILE) or 3 (named tmp file).
        app = WAIT_FOR + """
import ctypes, signal, sys
assert ctypes.CDLL(os.environ["MUPPY_SHIM"]).muppy_shim_test_fail(
    sys.argv[2].encode()) == 0
pid = os.getpid()
target = sys.argv[1]
os.symlink(target, "muppy.%d.1.dump" % pid)
os.symlink(target, "muppy.%d.2.dump.tmp.%d" % (pid, pid))
os.kill(pid, signal.SIGUSR1); wait_for(pid, int(sys.argv[3]))
print(pid)
"""
        for label, python, d in self.each_python():
            for spec, seq in (("", 2), ("tmpfile:EOPNOTSUPP", 3)):
                with self.subTest(python=label, inject=spec):
                    sub = os.path.join(d, str(seq))
                    os.mkdir(sub)
                    target = os.path.join(sub + ".target")
                    with open(target, "w") as f:
                        f.write("precious\n")
                    r = run_py(python, app, sub, MUPPY_AT_EXIT=0,
                               args=[target, spec, str(seq)])
                    self.assertEqual((r.returncode, r.stderr), (0, ""))
                    pid = int(r.stdout)
                    with open(target) as f:
                        self.assertEqual(f.read(), "precious\n")
                    self.assertTrue(os.path.islink(os.path.join(
                        sub, "muppy.%d.1.dump" % pid)))
                    self.assertTrue(os.path.islink(os.path.join(
                        sub, "muppy.%d.2.dump.tmp.%d" % (pid, pid))))
                    path = os.path.join(sub, "muppy.%d.%d.dump" % (pid, seq))
                    self.assertFalse(os.path.islink(path))
                    self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
                    self.assertEqual(read_dump(path)["seq"], str(seq))
                    names = sorted(os.listdir(sub))
                    self.assertEqual(len(names), 3, names)

    # -- exit stress ----------------------------------------------------------

    STRESS = [
        # (argv after the interpreter, exit status, stdout)
        (["-S", "-c", "pass"], 0, ""),
        (["-c", "pass"], 0, ""),
        (["-c", "import threading, time\n"
          "def spin():\n"
          "    while True: time.sleep(0.0005)\n"
          "threading.Thread(target=spin, daemon=True).start()\n"
          "threading.Thread(target=time.sleep, args=(0.02,)).start()\n"
          "print('x')"], 0, "x\n"),
        (["-c", "import os, threading, time\n"
          "threading.Thread(target=time.sleep, args=(1,), daemon=True)"
          ".start()\nos._exit(5)"], 5, ""),
        (["-c", "import sys; sys.exit(7)"], 7, ""),
    ]

    def test_exit_stress(self):
        runs = int(os.environ.get("MUPPY_STRESS_RUNS", "50"))
        for label, python, d in self.each_python():
            with self.subTest(python=label):
                env = shim_env(d, MUPPY_INTERVAL="0.001", MUPPY_AT_EXIT="1")
                for i in range(runs):
                    argv, status, out = self.STRESS[i % len(self.STRESS)]
                    try:
                        r = subprocess.run([python] + argv, env=env, cwd=d,
                                           stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, timeout=30,
                                           universal_newlines=True)
                    except subprocess.TimeoutExpired:
                        self.fail("run %d hung: %s" % (i, argv))
                    # A 1 ms interval cannot be kept, and the shim may say
                    # so (once); anything else on stderr is stray output.
                    err = TIMER_LATE.sub("", r.stderr, count=1)
                    self.assertEqual((r.returncode, r.stdout, err),
                                     (status, out, ""), "run %d: %s" % (i, argv))
                self.assertEqual(leftovers(d), [])
                for path in dumps(d).values():
                    read_dump(path)   # raises if any is not a valid dump


if __name__ == "__main__":
    unittest.main()
