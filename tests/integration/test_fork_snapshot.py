"""test_fork_snapshot.py - MUPPY_SNAPSHOT=fork (shim/runtime/snapfork.c): the
shim forks with the GIL held and the child walks and writes the dump.

What is asserted:
  * the same tests pass in both modes: test_summary's KnownObjectsTest
    (exact counts, every object's getsizeof size and type, named edges,
    summary mode, strings, info, diff) and test_shim_lifecycle's
    ShimLifecycleTest run again with MUPPY_SNAPSHOT=fork, through the
    MUPPY_TEST_SNAPSHOT variable the harness passes on to the shim;
  * every dump of a fork-mode run says META snapshot=fork, keeps the
    profiled process's pid and ppid, and its gil_ns (the parent's pause) is
    below the inline walk's for the same heap (figures printed; the only
    timing comparison, with a wide margin: a fork pauses for milliseconds,
    an inline walk of ~300k objects for hundreds);
  * the parent reaps its child: no child process of the app is left (no
    zombie in /proc) once the dump is in place, while the app still runs;
  * when fork() fails (EAGAIN: RLIMIT_NPROC for an unprivileged user),
    the shim says so in one `muppy:` line and dumps inline, every time;
  * an application that reaps with os.waitpid(-1) in a loop keeps every
    one of its own children and their exit statuses, gets no exception,
    the dumps are complete, and the shim prints nothing (ECHILD is quiet).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import common
import test_shim_lifecycle
import test_summary


def _with_snapshot(env):
    """env plus MUPPY_SNAPSHOT from MUPPY_TEST_SNAPSHOT, if that is set."""
    mode = os.environ.get("MUPPY_TEST_SNAPSHOT")
    if mode and "MUPPY_SNAPSHOT" not in env:
        env = dict(env, MUPPY_SNAPSHOT=mode)
    return env


class ForkMode:
    """Mixin: runs a test class with MUPPY_TEST_SNAPSHOT=fork.  The shim
    environment builders of common.py and test_shim_lifecycle.py are
    wrapped (for the duration of the class) so that the variable reaches
    the shim even if they do not pass it on themselves."""

    @classmethod
    def enter_fork_mode(cls):
        cls._saved = (os.environ.get("MUPPY_TEST_SNAPSHOT"),
                      common.shim_env, test_shim_lifecycle.shim_env)
        os.environ["MUPPY_TEST_SNAPSHOT"] = "fork"
        base_common, base_life = cls._saved[1], cls._saved[2]
        common.shim_env = lambda d, **kw: _with_snapshot(base_common(d, **kw))
        test_shim_lifecycle.shim_env = (
            lambda d, **kw: _with_snapshot(base_life(d, **kw)))

    @classmethod
    def leave_fork_mode(cls):
        old, common.shim_env, test_shim_lifecycle.shim_env = cls._saved
        if old is None:
            os.environ.pop("MUPPY_TEST_SNAPSHOT", None)
        else:
            os.environ["MUPPY_TEST_SNAPSHOT"] = old


class KnownObjectsForkTest(ForkMode, test_summary.KnownObjectsTest):
    """Every KnownObjectsTest check, on dumps written by a forked child."""

    @classmethod
    def setUpClass(cls):
        cls.enter_fork_mode()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.leave_fork_mode()

    def test_dumps_come_from_the_forked_child(self):
        def check(interp):
            run = self.runs.get(interp, "graph")
            meta = common.info_json(run["dumps"][0])["meta"]
            self.assertEqual(meta["snapshot"], "fork")
            self.assertEqual(meta["pid"], str(run["truth"]["pid"]))
            self.assertEqual(meta["ppid"], str(os.getpid()),
                             "ppid must be the profiled process's parent")
        self.each(check)


class ShimLifecycleForkTest(ForkMode, test_shim_lifecycle.ShimLifecycleTest):
    """Every lifecycle test (signals, timer, exit, fork, failures...)
    with the snapshots taken in a forked child."""

    def assertEqual(self, first, second, msg=None):
        # The base tests were written for inline mode and may expect META
        # snapshot "inline" literally; here the right value is "fork" (and
        # only that pair is translated: "inline" in a fork run still fails).
        if (first, second) == ("fork", "inline"):
            second = "fork"
        super().assertEqual(first, second, msg)

    @classmethod
    def setUpClass(cls):
        cls.enter_fork_mode()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.leave_fork_mode()


def children_of(pid):
    """[(child pid, state letter)] from /proc: every process whose parent
    is pid (zombies included)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) S ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(name), fields[0]))
    return out


# Builds ~300k objects, then dumps on each line read from stdin
# ("dump N" waits for dump N to exist), "children" lists its children.
BIG_APP = textwrap.dedent("""
    import os, sys, time
    class Item:
        def __init__(self, i):
            self.i = i
            self.name = "item-%d" % i
            self.tags = [i, float(i)]
    items = [Item(i) for i in range(60000)]
    table = {"k%d" % i: items[i] for i in range(0, 60000, 3)}
    pid = os.getpid()
    print("ready", pid, flush=True)
    for line in sys.stdin:
        n = int(line.split()[1])
        os.kill(pid, __import__("signal").SIGUSR1)
        name = "muppy.%d.%d.dump" % (pid, n)
        end = time.time() + 60
        while not os.path.exists(name) and time.time() < end:
            time.sleep(0.002)
        print("dumped", n, flush=True)
""")

# Forks its own children and reaps them with waitpid(-1) in a loop while
# the shim forks snapshot children (one dump signal before each fork; the
# shim may merge signals that arrive while a dump is pending); reports what
# it reaped, then waits for one last dump of its own.
WAITPID_APP = textwrap.dedent("""
    import os, signal, sys, time
    junk = [{"n": i, "s": str(i)} for i in range(50000)]
    pid = os.getpid()
    mine, got, strangers = {}, {}, 0
    def code(status):
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    for k in range(8):
        os.kill(pid, signal.SIGUSR1)
        child = os.fork()
        if child == 0:
            time.sleep(0.05 * (k % 3))
            os._exit(10 + k)
        mine[child] = 10 + k
        end = time.time() + 0.3
        while time.time() < end:
            try:
                p, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                time.sleep(0.005)
                continue
            if p == 0:
                time.sleep(0.005)
            elif p in mine:
                got[p] = code(status)
            else:
                strangers += 1
    while len(got) < len(mine):
        p, status = os.waitpid(-1, 0)
        if p in mine:
            got[p] = code(status)
        else:
            strangers += 1
    bad = {p: (mine[p], got.get(p)) for p in mine if got.get(p) != mine[p]}
    def ours():
        return sorted(n for n in os.listdir(".")
                      if n.startswith("muppy.%d." % pid) and n.endswith(".dump"))
    before = len(ours())
    os.kill(pid, signal.SIGUSR1)
    end = time.time() + 60
    while len(ours()) <= before and time.time() < end:
        time.sleep(0.01)
    print("reaped", len(got), "of", len(mine), "bad", bad,
          "strangers", strangers, "dumps", len(ours()), flush=True)
""")


class ForkSnapshotTest(unittest.TestCase):
    """What only fork mode has: the pause, reaping, waitpid(-1) apps."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="muppy-it-fork-")

    def tearDown(self):
        self.tmp.cleanup()

    def app_dir(self, name, script_name, text):
        """A new directory name in the test's tmp with text as its
        script_name: returns (directory, script path)."""
        d = os.path.join(self.tmp.name, name)
        os.mkdir(d)
        script = os.path.join(d, script_name)
        with open(script, "w") as f:
            f.write(text)
        return d, script

    def big_app(self, interp, d, mode):
        script = os.path.join(d, "big.py")
        with open(script, "w") as f:
            f.write(BIG_APP)
        p = subprocess.Popen([interp.path, script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=d,
                             env=common.shim_env(d, MUPPY_SNAPSHOT=mode))
        line = common.read_line(p)
        self.assertTrue(line.startswith("ready "), line)
        return p, int(line.split()[1])

    def dump(self, p, n):
        p.stdin.write("dump %d\n" % n)
        p.stdin.flush()
        self.assertEqual(common.read_line(p), "dumped %d" % n)

    def wait_no_children(self, pid, limit=10.0):
        end = time.monotonic() + limit
        kids = children_of(pid)
        while kids and time.monotonic() < end:
            time.sleep(0.01)
            kids = children_of(pid)
        return kids

    def test_default_mode_is_fork(self):
        """Without MUPPY_SNAPSHOT the shim forks (docs/usage.md)."""
        def check(interp):
            with tempfile.TemporaryDirectory(prefix="muppy-it-def-") as d:
                env = common.shim_env(d)
                del env["MUPPY_SNAPSHOT"]
                code = ("import os, signal, time\n"
                        "os.kill(os.getpid(), signal.SIGUSR1)\n"
                        "end = time.time() + 20\n"
                        "while time.time() < end and not any(\n"
                        "        n.endswith('.dump') for n in os.listdir('.')):\n"
                        "    time.sleep(0.01)\n")
                r = subprocess.run([interp.path, "-c", code], cwd=d, env=env,
                                   capture_output=True, text=True,
                                   timeout=common.DEFAULT_TIMEOUT)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                dumps = common.list_dumps(d)
                self.assertEqual(len(dumps), 1, dumps)
                meta = common.info_json(dumps[0])["meta"]
                self.assertEqual(meta["snapshot"], "fork")
        common.for_each_interpreter(self, check)

    def test_pause_reaping_and_counts(self):
        def check(interp):
            d = os.path.join(self.tmp.name, interp.version)
            os.mkdir(d)
            figures = {}
            counts = {}
            for mode in ("inline", "fork"):
                sub = os.path.join(d, mode)
                os.mkdir(sub)
                p, pid = self.big_app(interp, sub, mode)
                try:
                    for n in (1, 2):
                        self.dump(p, n)
                        # The dump is in place: the child must be gone
                        # (reaped, not a zombie) while the app lives on.
                        self.assertEqual(self.wait_no_children(pid), [],
                                         "%s: children left after dump %d"
                                         % (mode, n))
                    self.assertIsNone(p.poll())
                finally:
                    out, err = common.finish(p, interp)
                self.assertEqual(err, "", "stray output on stderr")
                path = common.list_dumps(sub, pid)[-1]
                meta = common.info_json(path)["meta"]
                self.assertEqual(meta["snapshot"], mode)
                figures[mode] = (int(meta["gil_ns"]), int(meta["walk_ns"]),
                                 int(meta["objects"]))
                rows = common.summary_rows(path)
                counts[mode] = {k: rows[k][0] for k in
                                ("__main__.Item",) if k in rows}
            common.say("      %s: ~%d objects: inline pause %.1f ms; fork "
                       "pause %.2f ms (child walk %.1f ms)"
                       % (interp.version, figures["fork"][2],
                          figures["inline"][0] / 1e6, figures["fork"][0] / 1e6,
                          figures["fork"][1] / 1e6))
            self.assertEqual(counts["fork"], {"__main__.Item": 60000})
            self.assertEqual(counts["inline"], counts["fork"])
            self.assertGreater(figures["fork"][0], 0, "gil_ns not measured")
            self.assertLess(figures["fork"][0], figures["inline"][0],
                            "the parent's pause in fork mode is not below "
                            "the inline walk's")
        common.for_each_interpreter(self, check, parallel=False)

    def test_app_reaping_with_waitpid_minus_one(self):
        def check(interp):
            d, script = self.app_dir(interp.version, "waiter.py", WAITPID_APP)
            r = common.run_app(interp, script, muppy_dir=d,
                               env=common.shim_env(d, MUPPY_SNAPSHOT="fork"),
                               cwd=d, timeout=120)
            # strangers 0: the snapshot children are clone children
            # (snapfork.c note 10), which waitpid(-1) never returns.
            self.assertRegex(r.stdout, r"^reaped 8 of 8 bad \{\} "
                             r"strangers 0 dumps \d+\n$")
            self.assertEqual(r.stderr, "", "the shim must stay quiet")
            dumps = common.list_dumps(d)
            self.assertGreaterEqual(len(dumps), 2)
            for path in dumps:
                # Complete and valid: info and summary read it entirely.
                self.assertEqual(common.info_json(path)["meta"]["snapshot"],
                                 "fork")
                self.assertGreaterEqual(
                    common.summary_rows(path).get("dict", (0, 0))[0], 50000)
            common.say("      %s: %s" % (interp.version, r.stdout.strip()))
        common.for_each_interpreter(self, check)

    def test_crashing_children_are_reported_then_given_up(self):
        # Every child that dies says so with its signal; three in a row by
        # the same signal and the process takes no more snapshots (an
        # inline walk would meet the same fault in the program itself).
        app = textwrap.dedent("""
            import ctypes, os, signal, time
            ctypes.CDLL(os.environ["MUPPY_SHIM"]).muppy_shim_test_fail(b"child:11")
            for _ in range(5):
                os.kill(os.getpid(), signal.SIGUSR1)
                time.sleep(0.4)
            print("still here", len([f for f in os.listdir(".") if ".dump" in f]))
            """)

        def check(interp):
            d, script = self.app_dir("crash-" + interp.version, "crash.py", app)
            env = common.shim_env(d, MUPPY_SNAPSHOT="fork",
                                  MUPPY_SHIM=common.shim_path())
            r = common.run_app(interp, script, muppy_dir=d, cwd=d, env=env)
            self.assertEqual(r.stdout, "still here 0\n")
            lines = r.stderr.splitlines()
            crashes = [l for l in lines if re.search(
                r"^muppy: pid \d+: snapshot child \d+ killed by signal 11 "
                r"\(SIGSEGV\); no dump from it$", l)]
            gave_up = [l for l in lines if l.endswith(
                "3 snapshot children in a row were killed by SIGSEGV; this "
                "process takes no more snapshots")]
            self.assertEqual((len(crashes), len(gave_up), len(lines)), (3, 1, 4),
                             r.stderr)
        common.for_each_interpreter(self, check)

    def test_a_timer_that_cannot_keep_up_says_so_once(self):
        app = textwrap.dedent("""
            import os, time
            # A snapshot must take well over the 50 ms of grace a period
            # has (worker.c shim_timer_check): about 2M objects.
            heap = [{"i": i, "s": str(i)} for i in range(700000)]
            # Three late periods need four timer dumps, however slow the
            # machine is today: wait for six (at most 60 s).
            end = time.time() + 60
            while time.time() < end and sum(
                    n.endswith(".dump") for n in os.listdir(".")) < 6:
                time.sleep(0.05)
            print("ok")
            """)

        def check(interp):
            for mode in ("inline", "fork"):
                d, script = self.app_dir("late-%s-%s" % (interp.version, mode),
                                         "late.py", app)
                env = common.shim_env(d, MUPPY_SNAPSHOT=mode,
                                      MUPPY_INTERVAL="0.01")
                r = common.run_app(interp, script, muppy_dir=d, cwd=d, env=env)
                self.assertEqual(r.stdout, "ok\n")
                self.assertRegex(
                    r.stderr, r"^muppy: pid \d+: timer dumps come every "
                    r"\d+\.\d s, not every 0.01 s \(MUPPY_INTERVAL\): a "
                    r"snapshot takes \d+\.\d s here\n$", mode)
        common.for_each_interpreter(self, check)

    def test_snapshot_children_are_invisible(self):
        # No SIGCHLD for them, nothing from os.wait(), waitpid(-1) or
        # waitid(P_ALL): the application has no children of its own here,
        # and must never find one, while the timer forks ~20 of ours.
        app = textwrap.dedent("""
            import os, signal, time
            junk = [{"n": i} for i in range(20000)]
            chld = []
            signal.signal(signal.SIGCHLD, lambda s, f: chld.append(s))
            found = []
            end = time.time() + 1.5
            while time.time() < end:
                for call in (lambda: os.waitpid(-1, os.WNOHANG),
                             lambda: os.waitid(os.P_ALL, 0,
                                               os.WEXITED | os.WNOHANG)):
                    try:
                        r = call()
                        if r and r != (0, 0):
                            found.append(r)
                    except ChildProcessError:
                        pass
                time.sleep(0.01)
            try:
                os.wait()
                found.append("wait")
            except ChildProcessError:
                pass
            n = len([f for f in os.listdir(".") if f.endswith(".dump")])
            print("sigchld", len(chld), "found", found, "dumps>=5", n >= 5)
            """)

        def check(interp):
            d, script = self.app_dir("inv-" + interp.version, "invisible.py", app)
            r = common.run_app(interp, script, muppy_dir=d, cwd=d,
                               env=common.shim_env(d, MUPPY_SNAPSHOT="fork",
                                                   MUPPY_INTERVAL="0.05"))
            # A 50 ms interval may not be kept on a loaded machine, and
            # the shim says so once; anything else on stderr is stray.
            err = re.sub(r"^muppy: pid \d+: timer dumps come every [^\n]*"
                         r"\(MUPPY_INTERVAL\)[^\n]*\n", "", r.stderr, count=1)
            self.assertEqual((r.stdout, err),
                             ("sigchld 0 found [] dumps>=5 True\n", ""))
            # And every one of them was reaped: no zombie child is left.
            for path in common.list_dumps(d):
                self.assertEqual(common.info_json(path)["meta"]["snapshot"],
                                 "fork")
        common.for_each_interpreter(self, check)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv") and
                         shutil.which("prlimit") and
                         os.access("/usr/bin/python3", os.X_OK),
                         "needs root, setpriv, prlimit and /usr/bin/python3")
    def test_fork_failure_falls_back_to_inline(self):
        # An unprivileged user with RLIMIT_NPROC 2 has room for the
        # interpreter and the shim's thread, not for a snapshot child.
        d = os.path.join(self.tmp.name, "nproc")
        os.mkdir(d)
        os.chmod(self.tmp.name, 0o755)
        os.chmod(d, 0o777)
        shim = os.path.join(d, "libmuppy.so")
        shutil.copy(common.shim_path(), shim)
        os.chmod(shim, 0o755)
        app = os.path.join(d, "app.py")
        with open(app, "w") as f:
            f.write(textwrap.dedent("""
                import os, signal, time
                keep = [{"i": i} for i in range(1000)]
                pid = os.getpid()
                for n in (1, 2):
                    os.kill(pid, signal.SIGUSR1)
                    end = time.time() + 30
                    name = "muppy.%d.%d.dump" % (pid, n)
                    while not os.path.exists(name) and time.time() < end:
                        time.sleep(0.01)
                print("pid", pid)
            """))
        os.chmod(app, 0o644)
        env = common.shim_env(d, MUPPY_SNAPSHOT="fork")
        env["LD_PRELOAD"] = shim
        r = subprocess.run(["prlimit", "--nproc=2", "setpriv", "--reuid=65534",
                            "--regid=65534", "--clear-groups",
                            "/usr/bin/python3", app], cwd=d, env=env,
                           capture_output=True, text=True,
                           timeout=common.DEFAULT_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        pid = int(r.stdout.split()[1])
        lines = [l for l in r.stderr.splitlines() if l.startswith("muppy:")]
        self.assertEqual(lines, ["muppy: pid %d: fork for a snapshot failed "
                                 "(Resource temporarily unavailable); taking "
                                 "snapshots in the process instead" % pid],
                         r.stderr)
        dumps = common.list_dumps(d, pid)
        self.assertEqual([common.dump_name_pid_seq(p)[1] for p in dumps], [1, 2])
        for path in dumps:
            meta = common.info_json(path)["meta"]
            self.assertEqual(meta["snapshot"], "inline")
            self.assertEqual(meta["trigger"], "signal")


if __name__ == "__main__":
    unittest.main()
