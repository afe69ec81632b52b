"""test_browse.py - `muppy browse` on a real terminal: tmux runs the
browser on the dumps of a leaky app (apps/leak_callbacks.py: every request
registers its bound method with a global bus and is never removed), keys
go in with send-keys and the screen comes back with capture-pane.

What is asserted, per interpreter:
  * the start page (older dumps given) is the leak suspects, the culprit
    first: bus.handlers['done'][*], 300 bound methods Request.on_done;
  * Enter shows who holds the example (the handlers list, by index);
    `f` on it lists its 300 methods as one row `method x 300`, and Enter
    on that row pages through them;
  * `p` shows the path sys.modules['__main__'].bus.handlers['done'];
  * Left goes back; t, D and ? open the summary (with growth), the
    dominator tree and the help; `/` finds a type by its short name;
  * a resize to 60x20 redraws every line within 60 columns;
  * colour only when the terminal has it (TERM=vt100: none);
  * q ends the program with status 0.
Without tmux (Debian's tmux, installed by scripts/install-deps.sh) the
test is skipped, not passed.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import common

ROUNDS = 3
HOLDER = "sys.modules['__main__'].bus.handlers['done']"


class Tmux:
    """One tmux server of our own (-L) running one command in a window of
    cols x rows; the screen read back as text lines."""

    def __init__(self, name, cmd, cols, rows, term):
        self.sock = "muppy-test-%d-%s" % (os.getpid(), name)
        self.target = "b"
        status = os.path.join(tempfile.gettempdir(), self.sock + ".rc")
        self.status_file = status
        shell = "%s; echo $? > %s" % (cmd, status)
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", self.target,
                  "-x", str(cols), "-y", str(rows),
                  "env TERM=%s sh -c '%s'" % (term, shell.replace("'", "'\\''")))

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock] + list(args),
                              capture_output=True, text=True, check=check,
                              timeout=20)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.target, *keys)

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", self.target]
        if escapes:
            args.append("-e")
        return self.tmux(*args).stdout

    def wait_for(self, text, timeout=20.0):
        """The screen once it shows text; AssertionError with the last
        screen when it does not within timeout."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError("the screen never showed %r; it shows:\n%s"
                             % (text, screen))

    def alive(self):
        return self.tmux("has-session", "-t", self.target,
                         check=False).returncode == 0

    def close(self):
        self.tmux("kill-server", check=False)
        try:
            os.unlink(self.status_file)
        except FileNotFoundError:
            pass


def leaky_dumps(test, interp):
    tmp = tempfile.mkdtemp(prefix="muppy-browse-")
    test.addCleanup(shutil.rmtree, tmp, True)
    done = common.run_app(interp, common.app_path("leak_callbacks.py"),
                          [ROUNDS], muppy_dir=tmp, cwd=common.APPS)
    dumps = common.list_dumps(tmp)
    if len(dumps) != ROUNDS + 1:
        raise AssertionError("%d dumps, expected %d; stderr: %s"
                             % (len(dumps), ROUNDS + 1,
                                common.tail(done.stderr)))
    return dumps


def colours(escaped):
    """The colour parameters of the SGR sequences in a capture-pane -e
    screen (30-37, 40-47, 90-97, 100-107, 38, 48; not 39/49, tmux's
    default-colour resets)."""
    found = set()
    for params in re.findall(r"\x1b\[([0-9;]*)m", escaped):
        for p in params.split(";"):
            if p and (30 <= int(p) <= 38 or 40 <= int(p) <= 48 or
                      90 <= int(p) <= 107):
                found.add(int(p))
    return found


def rows_of(screen):
    return screen.rstrip("\n").split("\n")


def suspect_walk(t):
    """From the start page to the holder and back (the first bullets)."""
    s = t.wait_for("leak suspects")
    first = rows_of(s)[2]
    for piece in (HOLDER + "[*]", "method (Request.on_done)", " 300 "):
        if piece not in first:
            raise AssertionError("first suspect %r lacks %r:\n%s"
                                 % (first, piece, s))
    t.keys("Enter")
    s = t.wait_for("referrers of method")
    if "list" not in rows_of(s)[2] or not rows_of(s)[2].startswith("["):
        raise AssertionError("the holder is not the list, by index:\n" + s)
    t.keys("f")
    s = t.wait_for("method x 300")
    t.keys("Down")
    s = t.wait_for("2/2")
    t.keys("Up", "Enter")
    s = t.wait_for("1/300")
    t.keys("Left", "Left", "Up")
    s = t.wait_for("referrers of method")
    t.keys("p")
    s = t.wait_for("path to the object")
    if HOLDER not in s:
        raise AssertionError("the path is not %s:\n%s" % (HOLDER, s))
    t.keys("Left", "Left")
    t.wait_for("leak suspects")


def other_pages(t):
    t.keys("t")
    s = t.wait_for("+objects")
    if "method" not in s:
        raise AssertionError("summary without the methods' row:\n" + s)
    t.keys("D")
    t.wait_for("dominator tree")
    t.keys("?")
    t.wait_for("Views of the object under the cursor")
    t.keys("/", "Request", "Enter")
    t.wait_for("instances of Request")
    s = t.wait_for("/300")
    return s


class BrowseTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not shutil.which("tmux"):
            raise unittest.SkipTest("no tmux (Debian's tmux): not tested")

    def test_leak_found_from_the_start_page(self):
        def check(interp):
            dumps = leaky_dumps(self, interp)
            # Older dumps in any order after the browsed one.
            cmd = " ".join([common.muppy_bin(), "browse", dumps[-1]] +
                           dumps[:-1][::-1])
            t = Tmux(interp.version.replace(".", ""), cmd, 100, 30,
                     "screen-256color")
            try:
                suspect_walk(t)
                other_pages(t)
                # Colour: this terminal has it (the title's blue).
                if 44 not in colours(t.screen(escapes=True)):
                    raise AssertionError("no colour on screen-256color")
                t.tmux("resize-window", "-t", t.target, "-x", "60", "-y",
                       "20")
                deadline = time.monotonic() + 10
                while True:
                    lines = rows_of(t.screen())
                    if len(lines) == 20 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                wide = [l for l in lines if len(l.rstrip()) > 60]
                if len(lines) != 20 or wide:
                    raise AssertionError("after the resize, %d lines, too "
                                         "wide: %s" % (len(lines), wide))
                t.keys("q")
                deadline = time.monotonic() + 10
                while t.alive() and time.monotonic() < deadline:
                    time.sleep(0.05)
                with open(t.status_file) as f:
                    rc = f.read().strip()
                if rc != "0":
                    raise AssertionError("exit status %s after q" % rc)
            finally:
                t.close()
        common.for_each_interpreter(self, check)

    def test_interactive_browser_in_process(self):
        # refbrowser_gui.InteractiveBrowser(root).main() on a terminal: the
        # browser opens on root's referrers in the foreground and main()
        # returns None after q.
        def check(interp):
            tmp = tempfile.mkdtemp(prefix="muppy-gui-")
            self.addCleanup(shutil.rmtree, tmp, True)
            env = " ".join("%s=%s" % kv for kv in sorted(
                common.shim_env(tmp, MUPPY_AT_EXIT="0").items())
                if kv[0].startswith(("MUPPY_", "LD_PRELOAD")))
            out = os.path.join(tmp, "out")
            cmd = "env %s %s %s %s" % (env, interp.path,
                                       common.app_path("gui_root.py"), out)
            t = Tmux("gui" + interp.version.replace(".", ""), cmd, 100, 24,
                     "screen-256color")
            try:
                s = t.wait_for("referrers of __main__.Leaky 0x")
                with open(out) as f:
                    root = f.readline().split()[1]
                if root not in s:
                    raise AssertionError("not rooted at %s:\n%s" % (root, s))
                if "['root']  dict" not in s or "[3]  list" not in s:
                    raise AssertionError("holders missing:\n" + s)
                if "InteractiveBrowser" in s:
                    raise AssertionError("the browser holds root:\n" + s)
                t.keys("q")
                deadline = time.monotonic() + 10
                while t.alive() and time.monotonic() < deadline:
                    time.sleep(0.05)
                with open(out) as f:
                    text = f.read()
                if "returned None" not in text:
                    raise AssertionError("main() did not return: %r" % text)
            finally:
                t.close()
        common.for_each_interpreter(self, check)

    def test_no_colour_without_it_and_no_terminal_refused(self):
        dumps = leaky_dumps(self, common.interpreters()[0])
        cmd = " ".join([common.muppy_bin(), "browse", dumps[-1]])
        t = Tmux("vt100", cmd, 80, 24, "vt100")
        try:
            s = t.wait_for("summary")
            if "leak suspects" in s:
                raise AssertionError("suspects without older dumps:\n" + s)
            esc = t.screen(escapes=True)
            if colours(esc):
                raise AssertionError("colour on a vt100: %r" % esc[:400])
            if "\x1b[7m" not in esc:
                raise AssertionError("no reverse video on a vt100")
            t.keys("q")
        finally:
            t.close()
        # Without a terminal: a usage error, not a garbled pipe.
        r = common.muppy("browse", dumps[-1], check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs a terminal", r.stderr)


if __name__ == "__main__":
    unittest.main()
