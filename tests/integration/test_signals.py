"""test_signals.py - the dump signal never changes what the application
sees of its own signals (shim/runtime/signals.c, its contract; issue 10).

Each scenario is a small program run twice on every interpreter: once
without the shim and once under it (fork snapshots, the default).  The
harness drives both the same way, sending signals from outside (the
harness is another process, as `kill -USR1 PID` from a shell is), and the
program's output must be identical; under the shim the dumps must also
be there.  Cases:

  * an application handler reached by an external sender: with nothing
    else, after subprocess.run (vfork on 3.10+), os.fork, os.posix_spawn,
    os.system, a shell pipeline and a multiprocessing child;
  * faulthandler.register on the dump signal, chained and not, the signal
    sent from outside and from the program itself (it used to loop for
    ever when chained), and unregister giving the old handler back;
  * a handler that raises, interrupting a sleep;
  * SA_RESETHAND (set through ctypes on Python's own C handler): reset to
    SIG_DFL before the handler runs, as the kernel does;
  * a handler that installs another one from inside;
  * the signal delivered to a thread other than the main one (main blocks
    it): Python's handler still runs in the main thread;
  * SIG_IGN: ignored as without us, inherited by exec'd children, no
    dump, and `muppy snap` says why; a handler set later gets dumps again;
  * a pre-fork server: master and three workers each keep their own
    handler and each writes its own dump;
  * signals arriving while the worker takes snapshots (timer at 50 ms,
    inline and fork): no crash, the handler keeps running;
  * `muppy run --signal` refuses what the shim would refuse (SEGV, BUS,
    KILL, STOP, CHLD), as given or inherited from the environment.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import common

TIMEOUT = 30.0


def write_app(tmp, name, code):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(code))
    return path


def plain_env():
    return common.clean_env()


def shim_env(d, **extra):
    # Fork snapshots (the product's default) unless a test asks otherwise.
    extra.setdefault("MUPPY_SNAPSHOT", "fork")
    return common.shim_env(d, **extra)


class Run:
    """One run of a program: its Popen, and the lines read so far."""

    def __init__(self, interp, script, args, env, cwd):
        self.p = subprocess.Popen(
            [interp.path, script] + [str(a) for a in args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
            start_new_session=True)
        self.lines = []

    def expect(self, prefix):
        """Reads lines until one starts with prefix; returns it."""
        while True:
            line = common.read_line(self.p, timeout=TIMEOUT)
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def send(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def finish(self):
        try:
            out, err = self.p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            out, err = self.p.communicate()
            raise AssertionError("pid %d hung; output so far: %s; stderr: %s"
                                 % (self.p.pid, self.lines, common.tail(err)))
        self.lines += out.splitlines()
        return self.p.returncode, self.lines, err


def both_ways(interp, tmp, script, drive, args=(), normalize=None,
              **shim_extra):
    """Runs script without and with the shim, drive(run, with_shim, dir)
    steering each (dir: the run's dump directory and working directory);
    asserts equal exit status, output and stderr.  Returns (run with the
    shim, its output lines, its stderr, its dump directory)."""
    results = []
    for with_shim in (False, True):
        d = tempfile.mkdtemp(dir=tmp)
        env = shim_env(d, **shim_extra) if with_shim else plain_env()
        run = Run(interp, script, args, env, d)
        try:
            drive(run, with_shim, d)
        except Exception as e:
            try:
                os.killpg(run.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise AssertionError("%s %s the shim: %s; output so far: %s"
                                 % (os.path.basename(script),
                                    "with" if with_shim else "without",
                                    e, run.lines)) from e
        rc, lines, err = run.finish()
        results.append((run, rc, lines, err, d))
    (_, rc0, out0, err0, _), (run1, rc1, out1, err1, d1) = results
    if normalize:
        out0, out1 = [normalize(l) for l in out0], [normalize(l) for l in out1]
    if (rc0, out0, err0) != (rc1, out1, err1):
        raise AssertionError(
            "%s: differs under the shim\nwithout: status %s, output %s, "
            "stderr %r\nwith:    status %s, output %s, stderr %r"
            % (os.path.basename(script), rc0, out0, common.tail(err0, 600),
               rc1, out1, common.tail(err1, 600)))
    return run1, out1, err1, d1


def wait_tracebacks(log, count):
    """Waits until faulthandler has written count tracebacks to log."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            with open(log) as f:
                if f.read().count("most recent call first") >= count:
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise AssertionError("%s: no traceback %d" % (log, count))


def wait_dumps(d, pid, count=1):
    return common.wait_for_dumps(d, count, pid=pid, timeout=TIMEOUT)


EXTERNAL = """
import multiprocessing, os, signal, subprocess, sys, time
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
mode = sys.argv[1]
if mode == "subprocess":
    subprocess.run(["true"], check=True)
elif mode == "fork":
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
elif mode == "posix_spawn":
    pid = os.posix_spawn("/bin/true", ["true"], os.environ)
    os.waitpid(pid, 0)
elif mode == "system":
    os.system("true")
elif mode == "shell":
    subprocess.run("true | cat", shell=True, check=True)
elif mode == "multiprocessing":
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=int)
    p.start()
    p.join()
print("ready", flush=True)
end = time.monotonic() + 10
while not got and time.monotonic() < end:
    time.sleep(0.01)
# The harness sends the second signal only now: two pending signals are
# one call of Python's handler, with or without the shim.  The app polls
# (sleep) rather than block in a read: a signal landing between a handler's
# end and the next read() is only seen when the read returns.
print("got", len(got), flush=True)
while len(got) < 2 and time.monotonic() < end:
    time.sleep(0.01)
print("handler ran", len(got), flush=True)
"""


class SignalContractTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="muppy-signals-")

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def app(self, name, code):
        return write_app(self.tmp, name, code)

    def test_external_sender_reaches_the_app_handler(self):
        script = self.app("external.py", EXTERNAL)
        modes = ["none", "subprocess", "fork", "posix_spawn", "system",
                 "shell", "multiprocessing"]

        def check(interp):
            for mode in modes:
                def drive(run, with_shim, d):
                    run.expect("ready")
                    os.kill(run.p.pid, signal.SIGUSR1)
                    run.expect("got 1")
                    os.kill(run.p.pid, signal.SIGUSR1)
                run, out, err, d = both_ways(interp, self.tmp, script, drive,
                                             [mode])
                if out[-1] != "handler ran 2":
                    raise AssertionError("%s: %s" % (mode, out))
                wait_dumps(d, run.p.pid)
        common.for_each_interpreter(self, check)

    def test_faulthandler_chained_and_not(self):
        script = self.app("fh.py", """
            import faulthandler, os, signal, sys, time
            chain, sender, log = sys.argv[1] == "chain", sys.argv[2], sys.argv[3]
            calls = []
            def on_usr1(s, f):
                calls.append(1)
                # os.write: print() here may re-enter stdout's buffer.
                os.write(1, b"handled %d\\n" % len(calls))
            signal.signal(signal.SIGUSR1, on_usr1)
            with open(log, "w") as f:
                # all_threads=False: with all threads, a signal that lands
                # while the shim's worker holds a thread state (taking a
                # snapshot) lists that thread too (signals.c note 8).
                faulthandler.register(signal.SIGUSR1, file=f, chain=chain,
                                      all_threads=False)
                def tracebacks():
                    return open(log).read().count("most recent call first")
                def until(done):
                    end = time.monotonic() + 10
                    while not done() and time.monotonic() < end:
                        time.sleep(0.01)   # Python's handler runs here
                def seen(n):
                    return tracebacks() >= n and (not chain or len(calls) >= n)
                # Each signal only once the last was seen: two pending
                # signals are one call of Python's handler.  The app polls
                # (sleep) rather than block in a read, where a signal that
                # lands between a handler's end and the read() waits for
                # the read to return.
                if sender == "self":
                    for n in (1, 2):
                        os.kill(os.getpid(), signal.SIGUSR1)
                        until(lambda: seen(n))
                else:
                    print("ready", flush=True)
                    until(lambda: seen(2))   # the harness sends two
                time.sleep(0.1)            # a third call would show now
                faulthandler.unregister(signal.SIGUSR1)
            print("tracebacks", tracebacks())
            print("python handler", len(calls))
            before = len(calls)
            os.kill(os.getpid(), signal.SIGUSR1)
            until(lambda: len(calls) > before)
            print("after unregister", len(calls), flush=True)
            """)

        def check(interp):
            for chain in ("chain", "nochain"):
                for sender in ("self", "external"):
                    log = os.path.join(self.tmp, "fh-%s-%s-%s.log" % (
                        interp.version, chain, sender))

                    def drive(run, with_shim, d):
                        if sender != "external":
                            return
                        run.expect("ready")
                        for n in (1, 2):
                            # Each signal only once the app has seen the
                            # last: two pending signals are one call of
                            # Python's handler, with or without the shim.
                            os.kill(run.p.pid, signal.SIGUSR1)
                            wait_tracebacks(log, n)
                            if chain == "chain":
                                run.expect("handled %d" % n)
                    run, out, err, d = both_ways(
                        interp, self.tmp, script, drive, [chain, sender, log])
                    want = ["tracebacks 2",
                            "python handler %d" % (2 if chain == "chain" else 0)]
                    told = [l for l in out
                            if l != "ready" and not l.startswith("handled")]
                    if told[:2] != want:
                        raise AssertionError("%s %s: %s" % (chain, sender, out))
                    wait_dumps(d, run.p.pid)
        common.for_each_interpreter(self, check)

    def test_handler_raising_interrupts_sleep(self):
        script = self.app("raises.py", """
            import signal, time
            class Stop(Exception):
                pass
            def handler(s, f):
                raise Stop()
            signal.signal(signal.SIGUSR1, handler)
            print("ready", flush=True)
            t0 = time.monotonic()
            try:
                time.sleep(20)
            except Stop:
                print("interrupted", time.monotonic() - t0 < 10, flush=True)
            """)

        def check(interp):
            def drive(run, with_shim, d):
                run.expect("ready")
                time.sleep(0.1)
                os.kill(run.p.pid, signal.SIGUSR1)
            run, out, err, d = both_ways(interp, self.tmp, script, drive)
            self.assertEqual(out, ["ready", "interrupted True"])
            wait_dumps(d, run.p.pid)
        common.for_each_interpreter(self, check)

    def test_resethand_resets_before_the_handler(self):
        # Python cannot ask for SA_RESETHAND; ctypes sets it on Python's own
        # C handler, through libc's sigaction (the shim's, when preloaded).
        script = self.app("resethand.py", """
            import ctypes, os, signal, sys, time
            class Sigaction(ctypes.Structure):
                _fields_ = [("handler", ctypes.c_void_p),
                            ("mask", ctypes.c_ulong * 16),
                            ("flags", ctypes.c_int),
                            ("restorer", ctypes.c_void_p)]
            SA_RESETHAND = -0x80000000
            libc = ctypes.CDLL(None, use_errno=True)
            got = []
            signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
            act = Sigaction()
            assert libc.sigaction(signal.SIGUSR1, None, ctypes.byref(act)) == 0
            act.flags |= SA_RESETHAND
            assert libc.sigaction(signal.SIGUSR1, ctypes.byref(act), None) == 0
            print("ready", flush=True)
            while not got:
                time.sleep(0.01)
            now = Sigaction()
            libc.sigaction(signal.SIGUSR1, None, ctypes.byref(now))
            print("handler ran; now", "SIG_DFL" if not now.handler else "handler",
                  "flags kept", now.flags == act.flags | 0x04000000 or
                  now.flags == act.flags, flush=True)
            if sys.argv[1] == "again":
                print("ready again", flush=True)
                sys.stdin.readline()
                print("survived", flush=True)
            """)

        def check(interp):
            def drive(run, with_shim, d):
                run.expect("ready")
                os.kill(run.p.pid, signal.SIGUSR1)
            run, out, err, d = both_ways(interp, self.tmp, script, drive,
                                         ["once"])
            self.assertEqual(out[-1], "handler ran; now SIG_DFL flags kept True")
            wait_dumps(d, run.p.pid)

            # The second signal meets the SIG_DFL the reset left: the
            # program set that itself, so it dies of it under the shim too.
            def again(run, with_shim, d):
                run.expect("ready")
                os.kill(run.p.pid, signal.SIGUSR1)
                run.expect("ready again")
                os.kill(run.p.pid, signal.SIGUSR1)
            run, out, err, d = both_ways(interp, self.tmp, script, again,
                                         ["again"])
            self.assertEqual(run.p.returncode, -signal.SIGUSR1)
            self.assertNotIn("survived", out)
        common.for_each_interpreter(self, check)

    def test_default_set_by_the_program_kills(self):
        # CPython's test_faulthandler.test_unregister: faulthandler puts
        # SIG_DFL back and the signal must kill.  `muppy snap` refuses.
        script = self.app("unregister.py", """
            import faulthandler, signal, sys, time
            faulthandler.register(signal.SIGUSR1)
            faulthandler.unregister(signal.SIGUSR1)
            print("ready", flush=True)
            sys.stdin.readline()
            time.sleep(10)
            print("survived", flush=True)
            """)

        def check(interp):
            def drive(run, with_shim, d):
                run.expect("ready")
                if with_shim:
                    snap = common.muppy("snap", run.p.pid, "--timeout", "2",
                                        check=False)
                    if (snap.returncode != 1 or "would terminate"
                            not in snap.stderr):
                        raise AssertionError("muppy snap: status %d, %r"
                                             % (snap.returncode, snap.stderr))
                run.send("")   # first: the signal ends it
                time.sleep(0.1)
                os.kill(run.p.pid, signal.SIGUSR1)
            run, out, err, d = both_ways(interp, self.tmp, script, drive)
            self.assertEqual((run.p.returncode, out),
                             (-signal.SIGUSR1, ["ready"]))
            self.assertEqual(common.list_dumps(d), [])
        common.for_each_interpreter(self, check)

    def test_child_forked_from_a_thread_ends_with_it(self):
        # CPython makes the forking thread the child's main thread; when it
        # returns, the child ends (no finalization).  Our worker must not
        # keep it alive (test_main_thread_after_fork_from_nonmain_thread).
        script = self.app("forkthread.py", """
            import os, threading, time, warnings
            # 3.12+ warns about forking with threads, naming the pid.
            warnings.simplefilter("ignore", DeprecationWarning)
            def work():
                pid = os.fork()
                if pid == 0:
                    print("child", threading.main_thread().name,
                          threading.main_thread() is threading.current_thread(),
                          flush=True)
                    return           # the child ends with this thread
                _, status = os.waitpid(pid, 0)
                print("child status", status, flush=True)
            t = threading.Thread(target=work, name="forker")
            t.start()
            t.join()
            """)

        def check(interp):
            run, out, err, d = both_ways(interp, self.tmp, script,
                                         lambda run, with_shim, d: None,
                                         MUPPY_INTERVAL="0.2")
            self.assertEqual(out, ["child forker True", "child status 0"])
        common.for_each_interpreter(self, check)

    def test_handler_installed_from_a_handler_and_any_thread(self):
        script = self.app("inside.py", """
            import signal, sys, threading, time
            seen = []
            def second(s, f):
                seen.append("second")
            def first(s, f):
                seen.append("first")
                signal.signal(signal.SIGUSR1, second)
            signal.signal(signal.SIGUSR1, first)
            if sys.argv[1] == "thread":
                # Only another thread can take the signal: main blocks it
                # (after starting the thread, which inherits the mask).
                t = threading.Thread(target=time.sleep, args=(5,), daemon=True)
                t.start()
                signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
            print("ready", flush=True)
            for want in (1, 2):
                end = time.monotonic() + 10
                while len(seen) < want and time.monotonic() < end:
                    time.sleep(0.01)
                print(seen, flush=True)
            """)

        def check(interp):
            for where in ("main", "thread"):
                def drive(run, with_shim, d):
                    run.expect("ready")
                    os.kill(run.p.pid, signal.SIGUSR1)
                    run.expect("[")
                    os.kill(run.p.pid, signal.SIGUSR1)
                run, out, err, d = both_ways(interp, self.tmp, script, drive,
                                             [where])
                self.assertEqual(out[-1], "['first', 'second']", where)
                wait_dumps(d, run.p.pid, 1)
        common.for_each_interpreter(self, check)

    def test_ignored_signal_stays_ignored(self):
        script = self.app("ignored.py", """
            import signal, subprocess, sys, time
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            print("ready", flush=True)
            sys.stdin.readline()
            out = subprocess.run(["grep", "SigIgn", "/proc/self/status"],
                                 capture_output=True, text=True).stdout
            print("child ignores USR1", bool(int(out.split()[1], 16) & (1 << 9)))
            got = []
            signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
            print("handler set", flush=True)
            while not got:
                time.sleep(0.01)
            print("handler ran", flush=True)
            """)

        def check(interp):
            def drive(run, with_shim, d):
                run.expect("ready")
                os.kill(run.p.pid, signal.SIGUSR1)
                time.sleep(0.3)
                if with_shim:
                    snap = common.muppy("snap", run.p.pid, "--timeout", "2",
                                        check=False)
                    if snap.returncode != 1 or "ignores SIGUSR1" not in snap.stderr:
                        raise AssertionError("muppy snap on an ignoring process: "
                                             "status %d, %r" % (snap.returncode,
                                                                snap.stderr))
                    if common.list_dumps(d):
                        raise AssertionError("a dump while SIGUSR1 is ignored")
                run.send("")
                run.expect("handler set")
                os.kill(run.p.pid, signal.SIGUSR1)
            run, out, err, d = both_ways(interp, self.tmp, script, drive)
            self.assertEqual(out, ["ready", "child ignores USR1 True",
                                   "handler set", "handler ran"])
            self.assertEqual(len(wait_dumps(d, run.p.pid)), 1)
        common.for_each_interpreter(self, check)

    def test_prefork_server_workers_keep_their_handlers(self):
        script = self.app("prefork.py", """
            import os, signal, sys, time
            def serve(role):
                got = []
                signal.signal(signal.SIGUSR1, lambda s, f: got.append(role))
                return got
            got = serve("master")
            workers = []
            for i in range(3):
                up_r, up_w = os.pipe()
                go_r, go_w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(up_r)
                    os.close(go_w)
                    mine = serve("worker%d" % i)
                    os.write(up_w, b"up\\n")
                    end = time.monotonic() + 10
                    while not mine and time.monotonic() < end:
                        time.sleep(0.01)
                    os.read(go_r, 1)   # the master says when to leave
                    os._exit(0 if mine == ["worker%d" % i] else 1)
                os.close(up_w)
                os.close(go_r)
                assert os.read(up_r, 3) == b"up\\n"
                os.close(up_r)
                workers.append((pid, go_w))
            print("pids", os.getpid(), *[p for p, _ in workers], flush=True)
            sys.stdin.readline()
            for _, go in workers:
                os.write(go, b"x")
            statuses = [os.waitpid(p, 0)[1] for p, _ in workers]
            end = time.monotonic() + 10
            while not got and time.monotonic() < end:
                time.sleep(0.01)
            print("workers", statuses, "master", got, flush=True)
            """)

        def check(interp):
            pids = []

            def drive(run, with_shim, d):
                line = run.expect("pids")
                pids[:] = [int(x) for x in line.split()[1:]]
                for pid in reversed(pids):
                    os.kill(pid, signal.SIGUSR1)
                if with_shim:   # each process, its own dump
                    for pid in pids:
                        wait_dumps(d, pid)
                else:
                    time.sleep(0.3)
                run.send("")
            run, out, err, d = both_ways(
                interp, self.tmp, script, drive,
                normalize=lambda l: "pids" if l.startswith("pids") else l)
            self.assertEqual(out[-1], "workers [0, 0, 0] master ['master']")
            self.assertEqual(sorted({common.dump_name_pid_seq(p)[0]
                                     for p in common.list_dumps(d)}),
                             sorted(pids))
        common.for_each_interpreter(self, check)

    def test_signals_during_snapshots(self):
        script = self.app("storm.py", """
            import signal, sys, time
            got = []
            signal.signal(signal.SIGUSR1, lambda s, f: got.append(1))
            heap = [dict(a=i) for i in range(100000)]   # walks take a while
            print("ready", flush=True)
            sys.stdin.readline()
            n = len(got)
            print("quiet", flush=True)
            end = time.monotonic() + 10
            while len(got) == n and time.monotonic() < end:
                time.sleep(0.01)
            print("storm seen", n > 0, "last seen", len(got) > n, flush=True)
            """)

        def check(interp):
            for mode in ("inline", "fork"):
                d = tempfile.mkdtemp(dir=self.tmp)
                run = Run(interp, script, [], shim_env(
                    d, MUPPY_INTERVAL="0.05", MUPPY_SNAPSHOT=mode), d)
                run.expect("ready")
                for _ in range(40):
                    os.kill(run.p.pid, signal.SIGUSR1)
                    time.sleep(0.02)
                run.send("")
                run.expect("quiet")
                os.kill(run.p.pid, signal.SIGUSR1)
                rc, lines, err = run.finish()
                # The one line a 50 ms interval may earn on a loaded machine.
                err = re.sub(r"^muppy: pid \d+: timer dumps come every "
                             r"[^\n]*\(MUPPY_INTERVAL\)[^\n]*\n", "", err,
                             count=1)
                self.assertEqual((rc, lines[-1], err),
                                 (0, "storm seen True last seen True", ""),
                                 mode)
                self.assertGreater(len(common.list_dumps(d)), 1, mode)
        common.for_each_interpreter(self, check)


class RunSignalOptionTest(unittest.TestCase):
    """`muppy run` checks MUPPY_* values with the shim's own parser."""

    def test_refused_signals(self):
        for sig in ("SEGV", "BUS", "KILL", "STOP", "CHLD", "11", "SIGFPE",
                    "RTMIN-1"):
            p = common.muppy("run", "--signal", sig, "--", "true", check=False)
            self.assertEqual(p.returncode, 2, sig)
            self.assertIn("--signal: '%s' is not valid" % sig, p.stderr)
            self.assertEqual(p.stdout, "")

    def test_refused_inherited_values(self):
        for var, value in (("MUPPY_SIGNAL", "SEGV"), ("MUPPY_INTERVAL", "-1"),
                           ("MUPPY_LEVEL", "10"), ("MUPPY_MODE", "full")):
            env = common.clean_env(**{var: value})
            p = subprocess.run([common.muppy_bin(), "run", "--", "true"],
                               capture_output=True, text=True, env=env,
                               timeout=TIMEOUT)
            self.assertEqual(p.returncode, 2, var)
            self.assertIn("%s='%s' in the environment is not valid"
                          % (var, value), p.stderr)

    def test_accepted_signals_run(self):
        for sig in ("USR2", "SIGHUP", "RTMIN+2", "none"):
            p = common.muppy("run", "--signal", sig, "--no-exit-dump", "--",
                             "true", check=False)
            self.assertEqual((p.returncode, p.stderr), (0, ""), sig)


if __name__ == "__main__":
    unittest.main()
