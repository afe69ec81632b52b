"""test_progress.py - progress of a long read on stderr (issue 14).

A read that takes over MUPPY_PROGRESS_DELAY seconds (default 1) shows
"muppy: reading PATH: N%" redrawn in place and then ", done." when stderr
is a terminal, like git; never when stderr is a pipe or a file, and never
on stdout.  The delay is set to 0 here so that a small real dump (written by
libmuppy.so, whole and streamed) shows it; the default delay must keep a
fast read silent.  The terminal is a real pty.
"""
import os
import pty
import re
import select
import subprocess
import tempfile
import unittest

import common


def on_pty(args, env):
    """Runs the tool with stderr on a fresh pty, stdout a pipe: (rc, out, err)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([common.muppy_bin()] + list(args), env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=slave)
    finally:
        os.close(slave)
    err = b""
    while True:
        r, _, _ = select.select([master], [], [], common.TOOL_TIMEOUT)
        if not r:
            p.kill()
            raise AssertionError("%s: no end on the terminal" % (args,))
        try:
            chunk = os.read(master, 65536)
        except OSError:   # EIO: every writer has closed the pty
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = p.stdout.read()
    p.stdout.close()
    rc = p.wait(timeout=common.TOOL_TIMEOUT)
    return rc, out.decode(), err.decode().replace("\r\n", "\n")


def env_with(**extra):
    env = dict(os.environ)
    env.pop("MUPPY_PROGRESS_DELAY", None)
    env.update(extra)
    return env


class LoadProgressTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="muppy-it-progress-")
        interp = common.interpreters()[0]
        cls.dumps = {}
        for label, extra in (("whole", {}), ("streamed", {"MUPPY_STREAM": "1"})):
            d = os.path.join(cls.tmp.name, label)
            os.mkdir(d)
            common.run_app(interp, common.app_path("dump_once.py"), muppy_dir=d,
                           env=common.shim_env(d, MUPPY_MODE="graph", **extra))
            got = common.list_dumps(d)
            assert len(got) == 1, os.listdir(d)
            cls.dumps[label] = got[0]
        common.say("    dumps of %s: %s" % (interp.label, ", ".join(
            "%s %d bytes" % (k, os.path.getsize(v))
            for k, v in sorted(cls.dumps.items()))))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def progress_lines(self, err, path):
        """The percentages drawn, checked for shape; the rest of err."""
        pat = re.compile(r"muppy: reading %s: +([0-9]+)%%\r" % re.escape(path))
        pcts, pos = [], 0
        for m in pat.finditer(err):
            self.assertEqual(m.start(), pos, repr(err[:400]))
            pcts.append(int(m.group(1)))
            pos = m.end()
        return pcts, err[pos:]

    def test_shown_on_a_terminal_with_no_delay(self):
        for label, path in sorted(self.dumps.items()):
            for cmd in (("info",), ("summary",), ("top",)):
                with self.subTest(dump=label, cmd=cmd[0]):
                    args = [cmd[0], path]
                    plain = subprocess.run([common.muppy_bin()] + args,
                                           capture_output=True, text=True,
                                           env=env_with(MUPPY_PROGRESS_DELAY="0"),
                                           timeout=common.TOOL_TIMEOUT)
                    rc, out, err = on_pty(args, env_with(MUPPY_PROGRESS_DELAY="0"))
                    self.assertEqual((rc, out), (plain.returncode, plain.stdout))
                    self.assertEqual(plain.stderr, "")   # a pipe: nothing
                    pcts, rest = self.progress_lines(err, path)
                    self.assertEqual(rest, "muppy: reading %s: 100%%, done.\n"
                                     % path, repr(err[-300:]))
                    self.assertTrue(pcts, repr(err[:300]))
                    self.assertEqual(pcts, sorted(set(pcts)))   # rising, each once
                    self.assertLessEqual(pcts[-1], 100)

    def test_two_dumps_two_lines(self):
        path = self.dumps["streamed"]
        rc, out, err = on_pty(["diff", self.dumps["whole"], path],
                              env_with(MUPPY_PROGRESS_DELAY="0"))
        self.assertEqual(rc, 0, err)
        done = re.findall(r"muppy: reading (\S+): 100%, done\.\n", err)
        self.assertEqual(done, [self.dumps["whole"], path])

    def test_silent_when_fast_or_not_asked(self):
        path = self.dumps["streamed"]
        for env in (env_with(), env_with(MUPPY_PROGRESS_DELAY="5"),
                    env_with(MUPPY_PROGRESS_DELAY="junk")):
            rc, out, err = on_pty(["summary", path], env)
            self.assertEqual((rc, err), (0, ""))
            self.assertTrue(out)

    def test_a_failed_read_ends_the_line_before_its_error(self):
        data = open(self.dumps["streamed"], "rb").read()
        bad = os.path.join(self.tmp.name, "flipped.dump")
        with open(bad, "wb") as f:   # a body byte late in the file
            f.write(data[:len(data) - 40] + bytes([data[-40] ^ 0x10]) +
                    data[len(data) - 39:])
        rc, out, err = on_pty(["summary", bad], env_with(MUPPY_PROGRESS_DELAY="0"))
        self.assertEqual((rc, out), (2, ""))
        pcts, rest = self.progress_lines(err, bad)
        self.assertTrue(pcts)   # the read was under way when it failed
        self.assertRegex(rest, r"^\nmuppy: error: %s: [^\n]+\n$" % re.escape(bad))


if __name__ == "__main__":
    unittest.main()
