"""test_report.py - `muppy report`'s page, read as a file and in a real
browser: the dumps of a leaky app (apps/leak_callbacks.py: every request
registers its bound method with a global bus) on every interpreter.

As a file, per interpreter: written 0600 whole (no temporary file left,
a symlink at the target replaced, not followed), self-contained (no
script, style, font or image from anywhere but the page), the explorer's
JSON valid and bounded by --max-objects, the first suspect the culprit.
In headless Chromium (Debian's, through playwright-core, installed by
scripts/install-deps.sh; tests/browser/report_check.js), per interpreter:
no page error and no request, three charts, the first suspect
bus.handlers['done'][*] with 300 methods Request.on_done; its "explore"
opens the example's referrers, among them the holder list with its path;
the holder's referrers name the bus's dict, its referents are one group
`method x 300` whose members open; a copy button copies; a screenshot.
A page built from names that are HTML (apps/leak_hostile_names.py) runs
none of it.  Without node, playwright-core or Chromium the browser tests
are skipped, never passed.
"""
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile
import unittest

import common

ROUNDS = 3
HOLDER = "sys.modules['__main__'].bus.handlers['done']"
BROWSER_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "browser")
CHROMIUM = os.environ.get("MUPPY_CHROMIUM", "/usr/lib/chromium/chromium")


def browser_missing():
    """Why the browser tests cannot run, or None."""
    if not shutil.which("node"):
        return "no node (Debian's nodejs)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules",
                                      "playwright-core")):
        return "no playwright-core in tests/browser (npm install there)"
    if not os.access(CHROMIUM, os.X_OK):
        return "no Chromium at %s (Debian's chromium)" % CHROMIUM
    return None


def app_dumps(test, interp, app, prefix):
    tmp = tempfile.mkdtemp(prefix=prefix)
    test.addCleanup(shutil.rmtree, tmp, True)
    done = common.run_app(interp, common.app_path(app), [ROUNDS],
                          muppy_dir=tmp, cwd=common.APPS)
    dumps = common.list_dumps(tmp)
    if len(dumps) != ROUNDS + 1:
        raise AssertionError("%d dumps, expected %d; stderr: %s"
                             % (len(dumps), ROUNDS + 1,
                                common.tail(done.stderr)))
    return tmp, dumps


def page_data(html):
    m = re.search(r'<script type="application/json" id="muppy-data">'
                  r'(.*?)</script>', html, re.S)
    if not m:
        raise AssertionError("no explorer data in the page")
    return json.loads(m.group(1))


def self_contained(test, html):
    """Nothing the page would fetch: no src/href to anything but #...,
    no <link>, no @import or url() in the style, no http(s) but the SVG
    namespace."""
    fetches = re.findall(r'\b(?:src|href)\s*=\s*"(?!#)[^"]*"', html)
    test.assertEqual(fetches, [])
    test.assertNotIn("<link", html)
    test.assertNotIn("@import", html)
    test.assertNotRegex(html, r"url\(")
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    test.assertLessEqual(urls, {"http://www.w3.org/2000/svg"})


def check_browser(html_path, shot):
    r = subprocess.run(["node", os.path.join(BROWSER_DIR, "report_check.js"),
                        html_path, shot], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise AssertionError("report_check.js failed: %s" %
                             common.tail(r.stderr))
    return json.loads(r.stdout)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


class ReportFileTest(unittest.TestCase):

    def test_the_page_as_a_file(self):
        def check(interp):
            tmp, dumps = app_dumps(self, interp, "leak_callbacks.py",
                                   "muppy-report-")
            out = os.path.join(tmp, "r.html")
            # A symlink at the target is replaced, never followed.
            victim = os.path.join(tmp, "victim")
            with open(victim, "w") as f:
                f.write("keep")
            os.symlink(victim, out)
            # Dumps in any order: the newest is explored.
            r = common.muppy("report", *(dumps[::-1] + ["-o", out,
                             "--max-objects", "5000"]))
            self.assertRegex(r.stdout, r"^wrote .*r\.html \([0-9.]+ KB\): "
                             r"4 dumps, [1-9][0-9]* suspects, 20 "
                             r"retainers, [0-9]+ objects to explore\n$")
            self.assertEqual(open(victim).read(), "keep")
            st = os.lstat(out)
            self.assertTrue(stat.S_ISREG(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            self.assertEqual(sorted(os.listdir(tmp)), sorted(
                [os.path.basename(d) for d in dumps] + ["r.html",
                                                        "victim"]))
            html = open(out, encoding="utf-8").read()
            self_contained(self, html)
            self.assertTrue(html.rstrip().endswith("</html>"))
            data = page_data(html)
            self.assertLessEqual(len(data["nodes"]), 5000)
            self.assertEqual(data["dump"], dumps[-1])
            first = re.search(r'<div class="suspect" id="suspect-1">(.*?)'
                              r'</div></div>', html, re.S).group(1)
            self.assertIn('<span class="count">300</span>', first)
            self.assertIn("method (Request.on_done)", first)
            self.assertIn(HOLDER.replace("'", "&#39;") + "[*]", first)
            # The rows say which dumps: 4, with times and RSS.
            self.assertEqual(html.count("<td class=\"l\"><code>muppy."), 4)
            # An unwritable place: one line, exit 1, nothing written.
            r = common.muppy("report", dumps[-1], "-o",
                             os.path.join(tmp, "no", "r.html"), check=False)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"^muppy: error: cannot write .*: "
                             r"No such file or directory\n$")
            # One dump: the page says there is nothing to compare.
            r = common.muppy("report", dumps[-1], "-o", "-")
            self.assertIn("One dump: suspects need two or more", r.stdout)
            page_data(r.stdout)
        common.for_each_interpreter(self, check)

    def test_bad_input(self):
        tmp = tempfile.mkdtemp(prefix="muppy-report-bad-")
        self.addCleanup(shutil.rmtree, tmp, True)
        bad = os.path.join(tmp, "bad.dump")
        with open(bad, "wb") as f:
            f.write(b"MUPPYDMP" + b"\0" * 40)
        out = os.path.join(tmp, "r.html")
        r = common.muppy("report", bad, "-o", out, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"^muppy: error: .*bad\.dump: [^\n]*\n$")
        self.assertFalse(os.path.exists(out))
        self.assertEqual(os.listdir(tmp), ["bad.dump"])
        r = common.muppy("report", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("a dump file is needed", r.stderr)
        r = common.muppy("report", bad, "--max-objects", "10", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--max-objects", r.stderr)


class InteractiveBrowserTest(unittest.TestCase):
    """refbrowser_gui.InteractiveBrowser(root).main() without a terminal:
    a report opened on root; the terminal case is test_browse.py's."""

    def test_main_without_a_terminal_writes_a_report_on_root(self):
        def check(interp):
            tmp = tempfile.mkdtemp(prefix="muppy-gui-")
            self.addCleanup(shutil.rmtree, tmp, True)
            env = common.shim_env(tmp, MUPPY_AT_EXIT="0")
            env.pop("MUPPY_TOOL", None)   # found beside libmuppy.so
            r = common.run_app(interp, common.app_path("gui_root.py"),
                               muppy_dir=tmp, env=env, cwd=tmp)
            lines = r.stdout.splitlines()
            self.assertEqual(len(lines), 3, r.stdout + r.stderr)
            root = lines[0].split()[1]
            m = re.match(r"^muppy: no terminal: the browser is the report "
                         r"(/.*\.html)$", lines[1])
            self.assertTrue(m, lines)
            self.assertEqual(lines[2], "returned " + m.group(1))
            self.assertEqual(r.stderr, "")
            html = open(m.group(1), encoding="utf-8").read()
            self.assertEqual(stat.S_IMODE(os.stat(m.group(1)).st_mode), 0o600)
            data = page_data(html)
            node = data["nodes"][data["root"]]
            self.assertEqual("0x" + node[0], root)
            self.assertEqual(data["kinds"][node[1]], "__main__.Leaky")
            full = data["full"][str(data["root"])]
            self.assertEqual(full["p"], "sys.modules['__main__'].root")
            # Its holders: the module's dict and the list, never the
            # browser (note 1 of shim/pymod/pymod_gui.c).
            holders = sorted(data["kinds"][data["nodes"][e[0]][1]]
                             for e in full["r"]["e"])
            self.assertEqual(holders, ["dict", "list"])
            # No tool: a RuntimeError that says where it looked.
            env["MUPPY_TOOL"] = os.path.join(tmp, "no-such-muppy")
            r = common.run_app(interp, common.app_path("gui_root.py"),
                               muppy_dir=tmp, env=env, cwd=tmp)
            self.assertIn("RuntimeError muppy.refbrowser_gui: the muppy tool "
                          "was not found", r.stdout)
        common.for_each_interpreter(self, check)


class ReportBrowserTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        why = browser_missing()
        if why:
            raise unittest.SkipTest(why + ": not tested")

    def test_suspect_to_holder_in_chromium(self):
        def check(interp):
            tmp, dumps = app_dumps(self, interp, "leak_callbacks.py",
                                   "muppy-report-")
            out = os.path.join(tmp, "r.html")
            common.muppy("report", *(dumps + ["-o", out]))
            shot = os.path.join(tempfile.gettempdir(), "muppy-report-%s.png"
                                % interp.version)
            got = check_browser(out, shot)
            self.assertEqual(got["errors"], [])
            self.assertEqual(got["requests"], [])
            self.assertEqual(got["h1"], "muppy report")
            self.assertEqual(got["charts"], 3)
            self.assertEqual(got["holder"], HOLDER + "[*]")
            self.assertEqual(got["what"], "method (Request.on_done)")
            self.assertEqual(got["count"], "300")
            self.assertEqual(got["root_kind"], "method")
            self.assertIn(HOLDER, got["referrer_paths"])
            self.assertTrue(got["holder_found"], got["referrer_paths"])
            self.assertTrue(any(r.startswith("via ['done'] dict")
                                for r in got["holder_referrers"]),
                            got["holder_referrers"])
            self.assertTrue(any(r.startswith("method x 300")
                                for r in got["holder_referents"]),
                            got["holder_referents"])
            members = got.get("group_members", [])
            self.assertTrue(members and members[0].startswith("[") and
                            " method 0x" in members[0], members)
            self.assertRegex(members[-1], r"^295 more of this kind")
            self.assertRegex(got["copy_text"], r"^0x[0-9a-f]+$")
            self.assertTrue(got["copied"])
            w, h = png_size(shot)
            self.assertGreaterEqual(w, 1000)
            self.assertGreater(h, 900)
            common.say("      screenshot: %s" % shot)
        common.for_each_interpreter(self, check)

    def test_names_that_are_html_run_nothing(self):
        interp = common.interpreters()[0]
        tmp, dumps = app_dumps(self, interp, "leak_hostile_names.py",
                               "muppy-report-evil-")
        out = os.path.join(tmp, "r.html")
        common.muppy("report", *(dumps + ["-o", out]))
        html = open(out, encoding="utf-8").read()
        # Two script elements, each ended once: the names did not end one.
        self.assertEqual(html.count("</script>"), 2)
        self.assertNotIn('<b id="evil">', html)
        self.assertNotIn("<img", html)
        got = check_browser(out, os.path.join(tmp, "evil.png"))
        self.assertEqual(got["errors"], [])
        self.assertEqual(got["requests"], [])
        self.assertIn('</script><b id="evil">x</b>', got["what"])
        self.assertIn("<img src=x onerror=alert(1)>", got["holder"])


if __name__ == "__main__":
    unittest.main()
