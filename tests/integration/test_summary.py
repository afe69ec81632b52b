"""test_summary.py - the first slice end to end on every interpreter: an
app with known objects (apps/known_objects.py) dumps itself under
libmuppy.so, and `muppy summary/cat/info/diff` must show exactly those
objects.

What is asserted, per interpreter:
  * the summary row `__main__.Known`: count 12345, size 12345 * getsizeof;
  * every object of the app's ground truth (all gc-tracked objects plus
    the closure of its own globals) is in the graph at its address with
    the same type name and exactly sys.getsizeof's size: 0 mismatches;
  * the registry dict's 1,000 str keys are objects with dictkey edges, each
    value is reached by a ['key'] edge, the module dict has ['registry'],
    the floats list has [i] edges, __main__ is a module root;
  * the summary-only mode (MUPPY_MODE=summary): same Known row, no graph,
    a much smaller file;
  * string contents: absent from the file (raw and inflated) by default,
    present, cut to N characters, with MUPPY_STRINGS=N;
  * `muppy info`: pid, Python version, trigger, mode, counts; file mode 0600;
  * `muppy diff OLD NEW`: exact rows for types that changed, none for
    types that did not, no 0/0 rows.
Each app run happens once per interpreter and class (cached in Runs).
"""
import json
import os
import re
import stat
import tempfile
import threading
import unittest
import zlib

import common

APP = common.app_path("known_objects.py")
KNOWN = "__main__.Known"
CANARY = b"hunter2-secret-canary"


class Runs:
    """App runs per (interpreter, variant), made on first use and kept for
    the test class.  A variant is a name -> (app args, extra shim env)."""

    VARIANTS = {
        "graph": (["--full"], {}),
        "summary": ([], {"MUPPY_MODE": "summary"}),
        "strings": ([], {"MUPPY_STRINGS": "64"}),
        "diff": (["--diff"], {}),
    }

    def __init__(self, root):
        self.root = root
        self.cache = {}
        self.graphs = {}
        self.lock = threading.Lock()
        self.key_locks = {}

    def _key_lock(self, key):
        with self.lock:
            return self.key_locks.setdefault(key, threading.Lock())

    def get(self, interp, variant):
        """{'dir', 'dumps', 'truth', 'stdout'} of variant on interp."""
        key = (interp.path, variant)
        with self._key_lock(key):
            if key not in self.cache:
                self.cache[key] = self._run(interp, variant)
            return self.cache[key]

    def _run(self, interp, variant):
        args, env = self.VARIANTS[variant]
        d = tempfile.mkdtemp(prefix="%s-%s-" % (variant, interp.version),
                             dir=self.root)
        truth_path = os.path.join(d, "truth.json")
        out = common.run_app(interp, APP, [truth_path] + args, muppy_dir=d,
                             env=common.shim_env(d, **env), cwd=d)
        with open(truth_path) as f:
            truth = json.load(f)
        dumps = common.list_dumps(d)
        want = 2 if variant == "diff" else 1
        if len(dumps) != want:
            raise AssertionError("%s: expected %d dump(s) of the %s run, found %s"
                                 % (interp.label, want, variant, os.listdir(d)))
        if interp.version != truth["python"]:
            raise AssertionError("%s: the app reports Python %s"
                                 % (interp.label, truth["python"]))
        return {"dir": d, "dumps": dumps, "truth": truth, "stdout": out.stdout,
                "stderr": out.stderr}

    def graph(self, interp):
        """common.Graph of the graph run's dump (parsed once)."""
        run = self.get(interp, "graph")
        with self._key_lock((interp.path, "graph-cat")):
            if interp.path not in self.graphs:
                self.graphs[interp.path] = common.Graph(common.cat_dump(run["dumps"][0]))
            return self.graphs[interp.path]


def pympler_size(i):
    """Pympler's stringutils.pp, transcribed: a negative value never
    enters the loop, so it prints as plain bytes."""
    degree, pattern = 0, "%4d     %s"
    while i > 1024:
        pattern = "%7.2f %s"
        i = i / 1024.0
        degree += 1
    return pattern % (i, ["B", "KB", "MB", "GB", "TB", "EB"][degree])


class KnownObjectsTest(unittest.TestCase):
    """A dump of apps/known_objects.py, read back by the tool."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="muppy-it-summary-")
        cls.runs = Runs(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.runs = None
        cls.tmp.cleanup()

    def each(self, check):
        return common.for_each_interpreter(self, check)

    # ---- summary -----------------------------------------------------

    def test_summary_counts_known_instances_exactly(self):
        def check(interp):
            run = self.runs.get(interp, "graph")
            t = run["truth"]
            self.assertTrue(t["known_sizes_equal"],
                            "Known instances differ in getsizeof (app problem)")
            rows = common.summary_rows(run["dumps"][0])
            self.assertIn(KNOWN, rows, "no %s row in the summary" % KNOWN)
            want = (12345, 12345 * t["known_size"])
            self.assertEqual(rows[KNOWN], want,
                             "%s row (count, size) is %s, expected %s"
                             % (KNOWN, rows[KNOWN], want))
            self.assertEqual(rows.get("__main__.Stable"), (5, 5 * t["stable_size"]))
            self.assertEqual(rows.get("__main__.Gone"), (11, 11 * t["gone_size"]))
            self.assertNotIn("__main__.Marker", rows)
            # The text table carries the same row, Pympler-formatted.
            text = common.muppy("summary", run["dumps"][0], "--limit", "0").stdout
            line = re.compile(r"^\s*%s \|\s+12345 \|\s+%s$"
                              % (re.escape(KNOWN), re.escape(pympler_size(want[1]))),
                              re.M)
            self.assertRegex(text, line, "text table lacks the Known row")
            self.assertRegex(text.splitlines()[0], r"^\s+types \|\s+# objects \|\s+total size$")
        self.each(check)

    def test_summary_rows_agree_with_graph(self):
        """The SUMMARY section's rows are the per-type totals of the graph
        (checked for plain type rows; the special function/frame/module
        rows are split per name, so they are compared as totals)."""
        def check(interp):
            run = self.runs.get(interp, "graph")
            g = self.runs.graph(interp)
            by_type = {}
            for o in g.objects.values():
                c, s = by_type.get(o["type"], (0, 0))
                by_type[o["type"]] = (c + 1, s + o["size"])
            rows = {r["type"]: (r["count"], r["size"]) for r in g.cat["summary"]}
            special = {"function": r"^function \(", "frame": r"^frame \(codename: ",
                       "module": r"^module\("}
            bad = []
            for name, want in sorted(by_type.items()):
                if name in special:
                    pat = re.compile(special[name])
                    got = [0, 0]
                    for rname, (c, s) in rows.items():
                        if pat.match(rname):
                            got[0] += c
                            got[1] += s
                    got = tuple(got)
                else:
                    got = rows.get(name)
                if got != want:
                    bad.append("%s: summary %s, graph %s" % (name, got, want))
            self.assertEqual(bad, [], "%d summary rows differ from the graph:\n%s"
                             % (len(bad), "\n".join(bad[:20])))
            self.assertEqual(sum(c for c, _ in rows.values()), len(g.objects))
        self.each(check)

    # ---- the graph against the ground truth --------------------------

    def test_every_object_has_getsizeof_size_and_pympler_type(self):
        def check(interp):
            run = self.runs.get(interp, "graph")
            truth = run["truth"]["objects"]
            g = self.runs.graph(interp)
            self.assertGreater(len(truth), 10000, "ground truth too small")
            missing, wrong = [], []
            per_type = {}
            for hexid, (tname, size) in truth.items():
                o = g.objects.get(int(hexid, 16))
                if o is None:
                    missing.append("0x%s %s (%d B)" % (hexid, tname, size))
                    per_type[tname] = per_type.get(tname, 0) + 1
                elif o["type"] != tname or o["size"] != size:
                    wrong.append("0x%s: dump says %s %d B, getsizeof says %s %d B"
                                 % (hexid, o["type"], o["size"], tname, size))
                    per_type[tname] = per_type.get(tname, 0) + 1
            n = len(missing) + len(wrong)
            common.say("      %s: %d objects checked, %d in the dump, %d mismatches"
                       " (excluded: %s)" % (interp.version, len(truth),
                                            len(g.objects), n,
                                            run["truth"].get("excluded")))
            if n:
                worst = sorted(per_type.items(), key=lambda kv: -kv[1])[:15]
                self.fail("%d of %d ground-truth objects mismatch (%d missing, "
                          "%d wrong); by type: %s\nmissing e.g.: %s\nwrong e.g.: %s"
                          % (n, len(truth), len(missing), len(wrong), worst,
                             missing[:10], wrong[:10]))
        self.each(check)

    def test_dict_keys_and_named_edges(self):
        def check(interp):
            t = self.runs.get(interp, "graph")["truth"]
            g = self.runs.graph(interp)
            reg = t["registry"]
            self.assertIn(reg, g.objects, "the registry dict is not in the dump")
            self.assertEqual(g.objects[reg]["type"], "dict")
            edges = g.edges(reg)
            # 1,000 str keys, reached by dictkey edges.
            key_ids = set(t["registry_keys"].values())
            dictkeys = {to for to, kind, _ in edges if kind == "dictkey"}
            self.assertEqual(len(key_ids), 1000)
            self.assertEqual(dictkeys, key_ids,
                             "dictkey edges of the registry: %d, %d of them keys;"
                             " expected the 1000 keys" % (len(dictkeys),
                                                          len(dictkeys & key_ids)))
            not_str = [k for k, i in t["registry_keys"].items()
                       if g.objects.get(i, {}).get("type") != "str"]
            self.assertEqual(not_str, [], "keys missing or not str objects")
            # Every value under its ['key'] name.
            named = {name: to for to, kind, name in edges if kind == "key"}
            wrong = [k for k, v in t["registry_values"].items() if named.get(k) != v]
            self.assertEqual(wrong, [], "%d of 1000 registry['key'] edges missing "
                             "or pointing elsewhere, e.g. %s" % (len(wrong), wrong[:5]))
            # The module dict names the registry; the list names its items.
            md = t["main_dict"]
            self.assertIn(("key", "registry"),
                          {(kind, name) for to, kind, name in g.edges(md) if to == reg},
                          "no edge __main__.__dict__['registry'] -> registry")
            fl = t["floats"]
            idx = {name: to for to, kind, name in g.edges(fl) if kind == "index"}
            wrong = [i for i, f in enumerate(t["float_ids"]) if idx.get(i) != f]
            self.assertEqual(wrong, [], "floats[i] edges missing or wrong for %d "
                             "of 777 items, e.g. %s" % (len(wrong), wrong[:5]))
            self.assertEqual(g.objects[fl]["type"], "list")
            # __main__ is a module root and reaches its dict.
            roots = [(common.addr(r["object"]), r["kind"], r["name"])
                     for r in g.cat["roots"]]
            self.assertIn((t["main_module"], "module", "__main__"), roots,
                          "__main__ is not a module root")
            self.assertIn(md, {to for to, _, _ in g.edges(t["main_module"])},
                          "no edge from the __main__ module to its dict")
        self.each(check)

    # ---- summary-only mode -------------------------------------------

    def test_summary_mode_same_counts_much_smaller(self):
        def check(interp):
            run = self.runs.get(interp, "summary")
            graph_run = self.runs.get(interp, "graph")
            dump, t = run["dumps"][0], run["truth"]
            rows = common.summary_rows(dump)
            self.assertEqual(rows.get(KNOWN), (12345, 12345 * t["known_size"]))
            info = common.info_json(dump)
            self.assertEqual(info["meta"].get("mode"), "summary")
            self.assertFalse(info["graph"], "a summary-mode dump has graph sections")
            self.assertEqual(info["counts"]["objects"], 0)
            cat = common.cat_dump(dump)
            self.assertEqual(cat["objects"], [])
            small = os.path.getsize(dump)
            big = os.path.getsize(graph_run["dumps"][0])
            common.say("      %s: summary dump %d bytes, graph dump %d bytes"
                       % (interp.version, small, big))
            self.assertLess(small * 10, big, "summary dump (%d B) is not much "
                            "smaller than the graph dump (%d B)" % (small, big))
        self.each(check)

    # ---- string contents ---------------------------------------------

    def test_string_contents_absent_by_default(self):
        def check(interp):
            run = self.runs.get(interp, "graph")
            t = run["truth"]
            raw = open(run["dumps"][0], "rb").read()
            body = zlib.decompress(raw[20:-16])
            secrets = [CANARY, t["long_secret_value"][:24].encode(),
                       t["secret_bytes_value"].encode()]
            for s in secrets:
                self.assertNotIn(s, raw, "%r in the raw dump" % s)
                self.assertNotIn(s, body, "%r in the inflated dump body" % s)
            g = self.runs.graph(interp)
            self.assertEqual(g.strdata, {}, "string contents stored without "
                             "MUPPY_STRINGS")
            self.assertEqual(g.cat["format"]["flags"] & 2, 0, "STRINGS flag set")
            self.assertEqual(g.objects.get(t["secret"], {}).get("type"), "str",
                             "the secret str object itself is not in the dump")
        self.each(check)

    def test_string_contents_with_muppy_strings(self):
        def check(interp):
            run = self.runs.get(interp, "strings")
            t = run["truth"]
            g = common.Graph(common.cat_dump(run["dumps"][0]))
            self.assertEqual(g.meta.get("strings"), "64")
            self.assertEqual(g.strdata.get(t["secret"]), t["secret_value"],
                             "secret's contents not stored (MUPPY_STRINGS=64)")
            self.assertEqual(g.strdata.get(t["long_secret"]),
                             t["long_secret_value"][:64],
                             "a 200-character str is not cut to its first 64")
            b = g.strdata.get(t["secret_bytes"])
            self.assertIsNotNone(b, "bytes contents not stored")
            self.assertIn(t["secret_bytes_value"], b)
        self.each(check)

    # ---- info ----------------------------------------------------------

    def test_info_header(self):
        def check(interp):
            run = self.runs.get(interp, "graph")
            dump, t = run["dumps"][0], run["truth"]
            self.assertEqual(common.dump_name_pid_seq(dump), (t["pid"], 1))
            mode = stat.S_IMODE(os.stat(dump).st_mode)
            self.assertEqual(mode, 0o600, "dump mode is %o" % mode)
            info = common.info_json(dump)
            meta = info["meta"]
            for key, want in (("pid", str(t["pid"])), ("python", interp.version),
                              ("trigger", "signal"), ("mode", "graph"), ("seq", "1")):
                self.assertEqual(meta.get(key), want, "META %s" % key)
            self.assertIn(os.path.basename(APP), meta.get("cmdline", ""))
            self.assertTrue(info["graph"], "info says the dump has no graph")
            counts = info["counts"]
            self.assertGreater(counts["objects"], 12345)
            self.assertGreater(counts["edges"], counts["objects"] // 2)
            self.assertGreater(counts["roots"], 0)
            self.assertEqual(meta.get("objects"), str(counts["objects"]),
                             "META objects vs the objects in the dump")
            # A streamed dump's META counts the edges as the walk recorded
            # them; its reader merges the few repeats (format 1.1+).
            walked = int(meta.get("edges", "0"))
            self.assertTrue(counts["edges"] <= walked <=
                            counts["edges"] + counts["edges"] // 50,
                            "META edges %d vs the %d edges in the dump"
                            % (walked, counts["edges"]))
            for key in ("gil_ns", "rss", "time"):
                self.assertRegex(meta.get(key, ""), r"^\d+(\.\d+)?$", "META %s" % key)
            self.assertGreater(float(meta["rss"]), 1 << 20)
            text = common.muppy("info", dump).stdout
            self.assertRegex(text, r"(?m)^\s*pid:\s+%d\b" % t["pid"])
            self.assertRegex(text, r"(?m)^\s*python:\s+%s\b" % re.escape(interp.version))
            self.assertRegex(text, r"(?m)^\s*trigger:\s+signal\b")
        self.each(check)

    # ---- diff ----------------------------------------------------------

    def test_diff_shows_exactly_what_changed(self):
        def check(interp):
            run = self.runs.get(interp, "diff")
            old, new = run["dumps"]
            t = run["truth"]
            self.assertEqual([common.dump_name_pid_seq(p)[1] for p in (old, new)], [1, 2])
            rows = common.diff_rows(old, new)
            self.assertEqual(rows.get(KNOWN), (500, 500 * t["known_size"]),
                             "Known row of the diff")
            self.assertEqual(rows.get("__main__.Marker"), (7, 7 * t["marker_size"]),
                             "a row only the new dump has")
            self.assertEqual(rows.get("__main__.Gone"), (-11, -11 * t["gone_size"]),
                             "a row only the old dump has")
            self.assertNotIn("__main__.Stable", rows, "an unchanged row is shown")
            zero = [k for k, v in rows.items() if v == (0, 0)]
            self.assertEqual(zero, [], "rows with no change")
            self.assertGreaterEqual(rows.get("dict", (0, 0))[0], 3,
                                    "3 new dicts are not in the diff")
            # The same dumps the other way round: every row negated.
            back = common.diff_rows(new, old)
            self.assertEqual(back, {k: (-c, -s) for k, (c, s) in rows.items()})
            # A dump against itself: empty.
            self.assertEqual(common.diff_rows(old, old), {})
            text = common.muppy("diff", old, new, "--limit", "0").stdout
            self.assertRegex(text, re.compile(r"^\s*%s \|\s+500 \|\s+%s$" % (
                re.escape(KNOWN), re.escape(pympler_size(500 * t["known_size"]))), re.M))
        self.each(check)


if __name__ == "__main__":
    unittest.main()
