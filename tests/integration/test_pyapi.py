"""test_pyapi.py - the built-in `muppy` module (shim/pymod/pymod*.c, issue 4) on
every interpreter present: the seed's Python API inside the profiled
process, implemented in C on the dump's heap walker.

What is asserted, per interpreter (common.for_each_interpreter prints
which ran):
  * the seed's examples (apps/seed_examples.py) run and behave as the seed
    says, and their tracker/refbrowser text has the seed's shape;
  * tracker: right after creation the diff is empty; after
    `i = 1; l = [1, 2, 3, 4]; d = {}` it is exactly one list and one dict
    with sys.getsizeof's sizes;
  * tracker.print_diff() 1,000 times: the tracker then sees nothing new,
    malloc'd bytes in use grow < 256 KB and RSS < 2 MB (a leak of 256
    bytes per call would fail);
  * summary.summarize(muppy.get_objects()) taken right after muppy.dump()
    gives the dump's rows (`muppy summary --format json`) exactly, except
    what differs by construction: the path string dump() returned (one str
    of its getsizeof) and frames (get_objects leaves them out);
  * sizes: muppy.get_size([o]) == sys.getsizeof(o) for every object found,
    and summary._repr(o) is Pympler's row name (except metaclasses with a
    Python-level __repr__: no Python code runs);
  * summary.format_/print_ text against literal tables (Pympler 1.1),
    sort/order/limit semantics, get_diff, bad arguments;
  * refbrowser: print_tree's layout on a hand-built tree (literal text),
    repeat=False, FileBrowser, the browser never shown as a referrer;
  * muppy.filter, get_referents (only the requested levels), get_size,
    get_diff, sort,
    include_frames, print_summary, dump() from the main thread and from
    another thread, dump(path) refusing an existing file;
  * without the shim `import muppy` fails; with it, a package named muppy
    on sys.path is shadowed by the built-in module.
"""
import json
import os
import subprocess
import tempfile
import textwrap
import unittest

import common


def run_script(test, interp, body, tmp, env_extra=None, timeout=180):
    """Writes body (dedented) to tmp/<test>.py, runs it under the shim in
    tmp, and returns its stdout; the app's failure fails the check."""
    path = os.path.join(tmp, "app_%s.py" % interp.version.replace(".", "_"))
    with open(path, "w") as f:
        f.write(textwrap.dedent(body))
    env = common.shim_env(tmp, **(env_extra or {}))
    p = common.run_app(interp, path, muppy_dir=tmp, env=env, timeout=timeout)
    return p.stdout


def last_json(out):
    """The JSON value on the last line of out."""
    return json.loads(out.strip().splitlines()[-1])


class PyApiTest(unittest.TestCase):

    def each(self, check, parallel=True):
        def one(interp):
            with tempfile.TemporaryDirectory(prefix="muppy-pyapi-") as tmp:
                return check(interp, tmp)
        return common.for_each_interpreter(self, one, parallel=parallel)

    # ---- the seed ---------------------------------------------------------

    def test_seed_examples(self):
        app = common.app_path("seed_examples.py")

        def check(interp, tmp):
            out = common.run_app(interp, app, muppy_dir=tmp, timeout=180).stdout
            parts = {}
            name = None
            for line in out.splitlines():
                if line.startswith("== "):
                    name = line[3:]
                    parts[name] = []
                elif name:
                    parts[name].append(line)
            self.assertIn("done", parts, out)
            empty = ["  types |   # objects |   total size",
                     "======= | =========== | ============"]
            self.assertEqual(parts["tracker nothing"], empty)
            rows = parts["tracker list dict"]
            self.assertEqual(rows[:2], empty)
            self.assertEqual(sorted(r.split("|")[0].strip() for r in rows[2:]),
                             ["dict", "list"])
            self.assertTrue(all(r.split("|")[1].strip() == "1" for r in rows[2:]))
            tree = parts["refbrowser"]
            self.assertTrue(tree[0].startswith("<class 'str'>-+-<class "), tree)
            self.assertIn("<class 'list'>--<class 'dict'>", "\n".join(tree))
            head = parts["summarize"][:2]
            self.assertRegex(head[0], r"^ +types \|   # objects \|   total size$")
            return None
        self.each(check)

    # ---- tracker ----------------------------------------------------------

    def test_tracker_exact_diff(self):
        body = """
            import json, sys
            from muppy import tracker
            tr = i = l = d = rows = first = None
            tr = tracker.SummaryTracker()
            if tr.diff():
                raise SystemExit("diff right after creation is not empty")
            i = 1
            l = [1, 2, 3, 4]
            d = {}
            rows = tr.diff()
            print(json.dumps([sorted(rows), sys.getsizeof(l), sys.getsizeof(d)]))
        """

        def check(interp, tmp):
            rows, lsize, dsize = last_json(run_script(self, interp, body, tmp))
            self.assertEqual(rows, [["dict", 1, dsize], ["list", 1, lsize]])
        self.each(check)

    def test_tracker_print_diff_1000_grows_nothing(self):
        body = """
            import ctypes, itertools, json, os, sys
            from muppy import tracker

            class MallInfo2(ctypes.Structure):
                _fields_ = [(n, ctypes.c_size_t) for n in (
                    "arena", "ordblks", "smblks", "hblks", "hblkhd",
                    "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

            libc = ctypes.CDLL(None)
            libc.mallinfo2.restype = MallInfo2

            def in_use():
                m = libc.mallinfo2()
                return m.uordblks + m.hblkhd

            def rss():
                with open("/proc/self/statm") as f:
                    return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE")

            class Sink:
                def write(self, s):
                    pass

            tr = sink = saved = warm = loop = r0 = r1 = m0 = m1 = rows = None
            sink = Sink()
            warm = itertools.repeat(None, 100)
            loop = itertools.repeat(None, 1000)
            tr = tracker.SummaryTracker()
            saved, sys.stdout = sys.stdout, sink
            for _ in warm:
                tr.print_diff()
            r0 = rss()
            m0 = in_use()
            tr.diff()
            for _ in loop:
                tr.print_diff()
            rows = tr.diff()
            r1 = rss()
            m1 = in_use()
            sys.stdout = saved
            print(json.dumps([rows, r1 - r0, m1 - m0]))
        """

        def check(interp, tmp):
            rows, rss, heap = last_json(run_script(self, interp, body, tmp,
                                                   timeout=600))
            self.assertEqual(rows, [], "the tracker saw new objects")
            self.assertLess(heap, 256 * 1024, "malloc'd bytes grew by %d" % heap)
            self.assertLess(rss, 2 * 1024 * 1024, "RSS grew by %d" % rss)
            common.say("      %s: 1000 x print_diff: malloc +%d B, RSS +%d B"
                       % (interp.version, heap, rss))
        self.each(check)

    # ---- agreement with the dumps -------------------------------------------

    def test_summarize_agrees_with_dump(self):
        body = """
            import json, sys
            import muppy
            from muppy import summary
            p = rows = None
            p = muppy.dump()
            rows = summary.summarize(muppy.get_objects())
            print(json.dumps([p, sys.getsizeof(p), rows]))
        """

        def check(interp, tmp):
            path, psize, rows = last_json(run_script(self, interp, body, tmp))
            self.assertTrue(os.path.exists(path), path)
            dump = {k: v for k, v in common.summary_rows(path).items()
                    if v != (0, 0)}
            ours = {r[0]: (r[1], r[2]) for r in rows}
            frames = {k: v for k, v in dump.items()
                      if k.startswith("frame (codename: ")}
            self.assertTrue(frames, "the dump should hold the app's frames")
            expect = {k: v for k, v in dump.items() if k not in frames}
            c, s = expect["str"]
            expect["str"] = (c + 1, s + psize)     # the path string p
            self.assertFalse(any(k.startswith("frame") for k in ours))
            diff = {k: (ours.get(k), expect.get(k))
                    for k in set(ours) | set(expect)
                    if ours.get(k) != expect.get(k)}
            self.assertEqual(diff, {}, "rows differ: (ours, dump)")
        self.each(check)

    def test_sizes_and_names_match_python(self):
        body = """
            import json, re, sys, types
            import muppy
            from muppy import summary
            type_repr = re.compile(r"^<(type|class) '(\\S+)'>$")
            address = re.compile(r' at 0x[0-9a-f]+')

            def pympler_repr(o):
                t = type(o)
                if t is types.FrameType:
                    r = "frame (codename: %s)" % o.f_code.co_name
                elif t is types.FunctionType:
                    r = "function (%s)" % o.__name__
                elif t is types.ModuleType:
                    r = "module(%s)" % o.__name__
                else:
                    r = str(t)
                return type_repr.sub(r"\\2", address.sub("", r))

            class Foo:
                pass

            class Slotted:
                __slots__ = ("a", "b")

            keep = [Foo(), Slotted(), 10 ** 40, "x" * 100, b"y" * 7, 1.5,
                    {1, 2}, frozenset([3]), bytearray(10), range(4)]
            objs = muppy.get_objects(include_frames=True)
            bad_size, bad_name, python_repr = [], [], 0
            for o in objs:
                if muppy.get_size([o]) != sys.getsizeof(o):
                    bad_size.append(repr(type(o)))
                if type(type(o)).__repr__ is not type.__repr__:
                    python_repr += 1      # e.g. <enum 'X'>: Python code
                elif summary._repr(o) != pympler_repr(o):
                    bad_name.append(pympler_repr(o))
            print(json.dumps([len(objs), bad_size[:5], bad_name[:5]]))
        """

        def check(interp, tmp):
            n, bad_size, bad_name = last_json(run_script(self, interp, body, tmp))
            self.assertGreater(n, 1000)
            self.assertEqual(bad_size, [])
            self.assertEqual(bad_name, [])
        self.each(check)

    # ---- table text -----------------------------------------------------------

    def test_table_text(self):
        body = """
            import json
            from muppy import summary
            rows = [["list", 2, 272], ["__main__.Foo", 10, 560],
                    ["type", 1, 1688]]
            out = {}
            out["default"] = summary.format_(rows)
            out["count_asc"] = summary.format_(rows, sort="#", order="ascending")
            out["limit1"] = summary.format_(rows, limit=1)
            out["limit_neg"] = summary.format_(rows, limit=-1)
            out["type"] = summary.format_(rows, sort="type")
            out["empty"] = summary.format_([])
            out["big"] = summary.format_([["x", -3, -5000], ["y", 0, 1025],
                                          ["z", 1, 3 * 1024 ** 3]])
            out["diff"] = sorted(summary.get_diff(
                [["a", 1, 10], ["b", 2, 20]], [["b", 5, 50], ["c", 1, 1]]))
            errors = []
            for kw in ({"sort": "bogus"}, {"order": "up"}):
                try:
                    summary.format_(rows, **kw)
                except ValueError as e:
                    errors.append(str(e))
            out["errors"] = errors
            import io, sys
            buf = io.StringIO()
            summary.print_(rows, file=buf)
            out["print"] = buf.getvalue()
            print(json.dumps(out))
        """
        expect_default = [
            "         types |   # objects |   total size",
            "============== | =========== | ============",
            "          type |           1 |      1.65 KB",
            "  __main__.Foo |          10 |    560     B",
            "          list |           2 |    272     B",
        ]

        def check(interp, tmp):
            out = last_json(run_script(self, interp, body, tmp))
            self.assertEqual(out["default"], expect_default)
            self.assertEqual(out["print"], "\n".join(expect_default) + "\n")
            self.assertEqual([l.split("|")[0].strip() for l in out["count_asc"][2:]],
                             ["type", "list", "__main__.Foo"])
            # Widths come from the rows kept (Pympler limits first).
            self.assertEqual(out["limit1"], [
                "  types |   # objects |   total size",
                "======= | =========== | ============",
                "   type |           1 |      1.65 KB"])
            self.assertEqual(out["limit_neg"], expect_default[:4])
            # Pympler sorts by _repr(row[0]): the same key for every str
            # name, so sort='type' keeps the order given.
            self.assertEqual([l.split("|")[0].strip() for l in out["type"][2:]],
                             ["list", "__main__.Foo", "type"])
            self.assertEqual(out["empty"], [
                "  types |   # objects |   total size",
                "======= | =========== | ============"])
            # pp(-5000) is "-5000     B": wider than the header.
            self.assertEqual(out["big"], [
                "  types |   # objects |    total size",
                "======= | =========== | =============",
                "      z |           1 |       3.00 GB",
                "      y |           0 |       1.00 KB",
                "      x |          -3 |   -5000     B"])
            self.assertEqual(out["diff"], [["a", -1, -10], ["b", 3, 30],
                                           ["c", 1, 1]])
            self.assertEqual(out["errors"], [
                "invalid sort, should be one of['type', '#', 'size']",
                "invalid order, should be one of['ascending', 'descending']"])
        self.each(check)

    # ---- refbrowser ---------------------------------------------------------------

    def test_refbrowser(self):
        body = """
            import json, os
            from muppy import refbrowser
            N = refbrowser._Node
            a, b, c, d, e = N("a"), N("b"), N("c"), N("d"), N("e")
            a.children = [b, c, d]
            b.children = [e]
            c.children = [N("f"), N("g")]
            out = {}
            import io
            buf = io.StringIO()
            refbrowser.ConsoleBrowser(None, maxdepth=3, stream=buf).print_tree(a)
            out["layout"] = buf.getvalue()
            buf = io.StringIO()
            refbrowser.ConsoleBrowser(None, maxdepth=1, stream=buf).print_tree(a)
            out["depth1"] = buf.getvalue()

            root = "a root string for the browser"
            holder = [root]
            holder2 = [root, holder]
            name = lambda o: type(o).__name__
            cb = refbrowser.ConsoleBrowser(root, maxdepth=1, str_func=name)
            tree = cb.get_tree()
            out["children"] = sorted(str(c) for c in tree.children)
            out["holders"] = sorted(
                [c.o is holder, c.o is holder2] for c in tree.children
                if c.o is holder or c.o is holder2)
            # repeat=False: every object is a node once; a repeated one is
            # a leaf string naming its id.
            cb = refbrowser.ConsoleBrowser(root, maxdepth=2, repeat=False,
                                           str_func=name)
            seen, leaves = [], []

            def visit(n):
                if isinstance(n, N):
                    seen.append(id(n.o))
                    for c in n.children:
                        visit(c)
                else:
                    leaves.append(n)
            visit(cb.get_tree())
            out["unique"] = len(seen) == len(set(seen))
            out["leaves"] = leaves
            out["ids"] = [id(holder), id(holder2)]
            fb = refbrowser.FileBrowser(root, maxdepth=1,
                                        str_func=lambda o: type(o).__name__)
            fb.print_tree("tree.txt")
            out["file"] = open("tree.txt").read()
            print(json.dumps(out))
        """

        def check(interp, tmp):
            out = last_json(run_script(self, interp, body, tmp))
            self.assertEqual(out["layout"],
                             "a-+-b--e\n"
                             "  +-c-+-f\n"
                             "  |   +-g\n"
                             "  |\n"
                             "  +-d\n")
            self.assertEqual(out["depth1"], "a-+-b\n  +-c\n  +-d\n")
            kids = out["children"]
            self.assertGreaterEqual(kids.count("list"), 2, kids)
            self.assertIn("dict", kids)
            self.assertFalse(any("Browser" in k for k in kids), kids)
            self.assertEqual(out["holders"], [[False, True], [True, False]])
            self.assertTrue(out["unique"])
            self.assertTrue(out["leaves"], "repeat=False repeated nothing")
            for leaf in out["leaves"]:
                self.assertRegex(leaf, r"^\w+ \(already included, id \d+\)$")
            self.assertTrue(any(leaf.endswith("id %d)" % i) for leaf in out["leaves"]
                                for i in out["ids"]), out["leaves"])
            lines = out["file"].splitlines()
            self.assertTrue(lines[0].startswith("str-+-"), lines)
            self.assertFalse(any("Browser" in l for l in lines), lines)
        self.each(check)

    # ---- muppy.* ------------------------------------------------------------------

    def test_muppy_functions(self):
        body = """
            import gc, io, json, os, sys, threading
            import muppy
            out = {}
            big = 10 ** 50                     # an int: not gc-tracked
            hidden = ("only-in-a-tuple-%d" % 7,)
            gc.collect()
            objs = muppy.get_objects()
            ids = set(map(id, objs))
            out["found_untracked"] = [id(big) in ids, id(hidden[0]) in ids]
            out["frames"] = any(type(o).__name__ == "frame" for o in objs)
            withf = muppy.get_objects(include_frames=True)
            out["frames_included"] = any(type(o).__name__ == "frame" for o in withf)
            del objs, withf, ids
            items = [[1], [1, 2, 3], "abc", 5, {}]
            out["filter_type"] = len(muppy.filter(items, Type=list))
            sizes = [sys.getsizeof(o) for o in items]
            lo = sorted(sizes)[1]
            out["filter_min"] = len(muppy.filter(items, min=lo)) == sum(s > lo for s in sizes)
            out["filter_max"] = len(muppy.filter(items, max=lo)) == sum(s < lo for s in sizes)
            try:
                muppy.filter(items, min=10, max=5)
                out["filter_err"] = None
            except ValueError as e:
                out["filter_err"] = str(e)
            out["size"] = muppy.get_size(items) == sum(sizes)
            leaf = ["leaf"]
            mid = [leaf]
            top = [mid]
            r1 = muppy.get_referents(top)
            r2 = muppy.get_referents(top, level=2)
            r3 = muppy.get_referents(top, level=3)
            out["ref1"] = [o is mid for o in r1]
            out["ref2"] = sorted(map(id, r2)) == sorted([id(mid), id(leaf)])
            out["ref3"] = sorted(map(id, r3)) == sorted([id(mid), id(leaf), id(leaf[0])])
            a, b, c = [1], "b", {}
            dd = muppy.get_diff([a, b], [b, c])
            out["get_diff"] = [[o is c for o in dd["+"]], [o is a for o in dd["-"]]]
            srt = muppy.sort(items)
            out["sort"] = [sys.getsizeof(o) for o in srt] == sorted(sizes)
            buf = io.StringIO()
            muppy.print_summary(file=buf)
            out["print_summary"] = buf.getvalue().splitlines()[0]
            p = muppy.dump()
            box = []
            t = threading.Thread(target=lambda: box.append(muppy.dump()))
            t.start()
            t.join()
            out["dumps"] = [p, box[0]]
            q = muppy.dump(os.path.abspath("given.dump"))
            try:
                muppy.dump(q)
                out["overwrite"] = "overwritten"
            except FileExistsError as e:
                out["overwrite"] = type(e).__name__
            out["given"] = q
            print(json.dumps(out))
        """

        def check(interp, tmp):
            out = last_json(run_script(self, interp, body, tmp))
            self.assertEqual(out["found_untracked"], [True, True])
            self.assertFalse(out["frames"])
            self.assertTrue(out["frames_included"])
            self.assertEqual(out["filter_type"], 2)
            self.assertTrue(out["filter_min"])
            self.assertTrue(out["filter_max"])
            self.assertEqual(out["filter_err"], "minimum must be smaller than maximum")
            self.assertTrue(out["size"])
            self.assertEqual(out["get_diff"], [[True], [True]])
            self.assertTrue(out["sort"])
            self.assertEqual(out["ref1"], [True])
            self.assertTrue(out["ref2"])
            self.assertTrue(out["ref3"])
            self.assertRegex(out["print_summary"], r"^ +types \|   # objects \|   total size$")
            for path in out["dumps"] + [out["given"]]:
                self.assertTrue(os.path.exists(path), path)
                info = common.info_json(path)
                self.assertEqual(info["meta"]["trigger"], "api", path)
            self.assertEqual(len(set(out["dumps"])), 2)
            self.assertEqual(out["overwrite"], "FileExistsError")
        self.each(check)

    # ---- importability ----------------------------------------------------------------

    def test_the_rest_of_pymplers_api(self):
        # What Pympler's own tests use beyond the seed: ObjectTracker,
        # RefBrowser/StreamBrowser, copy.copy of a node, _repr(verbosity),
        # get_objects(remove_dups, include_frames) in Pympler's order,
        # ignore_object, _remove_duplicates, SummaryTracker subclasses.
        body = """
            import copy, io, json, sys
            import muppy
            from muppy import refbrowser, summary, tracker
            out = {}
            class Indicator: pass
            ot = tracker.ObjectTracker()
            keep = [Indicator() for _ in range(3)]
            d = ot.get_diff()
            out["ot_new"] = [sum(isinstance(o, Indicator) for o in d[k])
                             for k in "+-"]
            d = ot.get_diff()
            out["ot_again"] = sum(isinstance(o, Indicator) for o in d["+"])
            del keep[:]
            d = ot.get_diff()
            out["ot_gone"] = sum(isinstance(o, Indicator) for o in d["-"])
            del d
            lines = ot.format_diff()
            out["ot_lines"] = [lines[0], "Removed objects:" in lines,
                               lines[1].split() == ["types", "|", "#",
                                                    "objects", "|", "total",
                                                    "size"]]
            x = Indicator()
            out["ot_ignore"] = [any(o is x for o in ot._get_objects(ignore=(x,))),
                                any(o is x for o in ot._get_objects())]
            class MyTracker(tracker.SummaryTracker):
                def __init__(self):
                    super().__init__()
                    self.label = "mine"
            t = MyTracker()
            t.extra = 5
            out["subclass"] = [t.label, t.extra, type(t.diff()).__name__]
            def func(): pass
            out["repr"] = [summary._repr({"a": 1}, verbosity=2),
                           summary._repr([1, 2], 2), summary._repr({1}, 100),
                           summary._repr({"a": 1}), summary._repr(func, 2),
                           summary._repr(func), summary._repr("", 2),
                           summary._repr({}, 0)]
            f = sys._getframe()
            out["frame_repr"] = [summary._repr(f, 2), summary._repr(f, 3),
                                 f.f_code.co_firstlineno]
            out["ignore_object"] = [muppy.ignore_object(f),
                                    muppy.ignore_object(1)]
            del f
            out["dedup"] = muppy._remove_duplicates([1, "a", 1, x, x, "a"]) \
                == [1, "a", x]
            objs = muppy.get_objects(True, False)
            out["frames"] = any(type(o).__name__ == "frame" for o in objs)
            del objs
            objs = muppy.get_objects(True, True)
            out["frames_asked"] = any(type(o).__name__ == "frame" for o in objs)
            del objs
            root = Indicator()
            holder = [root]
            tree = refbrowser.RefBrowser(root, maxdepth=1).get_tree()
            c = copy.copy(tree)
            out["copy"] = [c is not tree, c.o is root,
                           c.children is tree.children]
            s = io.StringIO()
            refbrowser.StreamBrowser(root, maxdepth=1, stream=s).print_tree()
            out["stream"] = "list" in s.getvalue()
            # Referrers in gc order, as gc.get_referrers (Pympler's) lists
            # them, whatever the generations did meanwhile.
            import gc
            r2 = Indicator()
            mine = [[r2], (r2, 1), {"k": r2}, [r2, 2]]
            gc.collect()
            mine.append([r2, 3])
            ids = {id(m): k for k, m in enumerate(mine)}
            want = [ids[id(o)] for o in gc.get_referrers(r2) if id(o) in ids]
            tree = refbrowser.RefBrowser(r2, maxdepth=1).get_tree()
            got = [ids[id(c.o)] for c in tree.children if id(c.o) in ids]
            out["gc_order"] = [want, got]
            print(json.dumps(out))
        """

        def check(interp, tmp):
            got = last_json(run_script(self, interp, body, tmp))
            self.assertEqual(got["ot_new"], [3, 0])
            self.assertEqual(got["ot_again"], 0)
            # The tracker keeps what it saw alive, as Pympler's does: the
            # Indicators dropped by the program are not gone.
            self.assertEqual(got["ot_gone"], 0)
            self.assertEqual(got["ot_lines"], ["Added objects:", True, True])
            self.assertEqual(got["ot_ignore"], [False, True])
            self.assertEqual(got["subclass"], ["mine", 5, "list"])
            self.assertEqual(got["repr"], [
                "dict, len=1", "list, len=2", "set, len=1", "dict",
                "function (__main__.func)", "function (func)", "str",
                "dict"])
            line = got["frame_repr"][2]
            self.assertEqual(got["frame_repr"][:2], [
                "frame (codename: <module>, codeline: %d)" % line,
                "frame (codename: <module>, filename: %s, codeline: %d)"
                % (os.path.join(tmp, "app_%s.py"
                                % interp.version.replace(".", "_")), line)])
            self.assertEqual(got["ignore_object"], [True, False])
            self.assertTrue(got["dedup"])
            self.assertFalse(got["frames"])
            self.assertTrue(got["frames_asked"])
            self.assertEqual(got["copy"], [True, True, True])
            self.assertTrue(got["stream"])
            want, mine = got["gc_order"]
            self.assertEqual(sorted(want), [0, 1, 2, 3, 4])
            self.assertEqual(mine, want)
        self.each(check)

    def test_import_needs_the_shim_and_shadows_packages(self):
        probe = ("import sys\n"
                 "try:\n"
                 "    import muppy\n"
                 "    print('imported', getattr(muppy, '__file__', 'built-in'))\n"
                 "except ImportError as e:\n"
                 "    print('ImportError', type(e).__name__)\n")

        def check(interp, tmp):
            pkg = os.path.join(tmp, "site", "muppy")
            os.makedirs(pkg)
            with open(os.path.join(pkg, "__init__.py"), "w") as f:
                f.write("FAKE = True\n")
            script = os.path.join(tmp, "probe.py")
            with open(script, "w") as f:
                f.write(probe)
            plain = subprocess.run([interp.path, script], capture_output=True,
                                   text=True, timeout=60, cwd=tmp,
                                   env=common.clean_env())
            self.assertEqual(plain.stdout.strip(), "ImportError ModuleNotFoundError",
                             plain.stderr)
            # With the shim: the built-in module, even with a package of
            # the same name first on sys.path (documented: docs/api.md).
            shadow = subprocess.run(
                [interp.path, "-c", "import sys; sys.path.insert(0, %r); "
                 "import muppy; print(hasattr(muppy, 'FAKE'), "
                 "hasattr(muppy, 'get_objects'), muppy.__spec__.origin)"
                 % os.path.join(tmp, "site")],
                capture_output=True, text=True, timeout=60, cwd=tmp,
                env=common.shim_env(tmp))
            self.assertEqual(shadow.stdout.split(), ["False", "True", "built-in"],
                             shadow.stderr)
            self.assertEqual(shadow.stderr, "")
        self.each(check)


if __name__ == "__main__":
    unittest.main()
