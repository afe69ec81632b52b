"""test_analyses.py - the analyses of issue 3 on real interpreters: leaky
apps whose culprit is known (apps/leak_*.py) dump themselves under
libmuppy.so after a baseline and after each of 3 rounds, and `muppy leaks`,
`path`, `tree` and `top` must point at the culprit.

What is asserted, per interpreter and app:
  * `leaks D1..D4`: the group held by the culprit container is there with
    the exact number of leaked objects and their type, and every group
    reported is held by the culprit (nothing that did not leak: the apps'
    scratch objects, the running frame, evaluation-stack temporaries);
  * `path D4 ADDR` of an object the app reported leaking: the expression
    names the holding container and its key, index, attribute or closure
    variable;
  * `tree D4 ADDR --format json`: the referrer tree reaches the holder
    through the same named edges;
  * `top D4`: the culprit container is among the objects retaining most;
  * `orphans D4` runs and prints valid JSON.
The interpreters come from common.py (/usr/bin/python3 and pyenv's
3.8-3.13 that are present); one line per interpreter says which ran.
"""
import shutil
import tempfile
import unittest

import common

ROUNDS = 3
MAIN = "sys.modules['__main__']"


def run_leaky(test, interp, app):
    """Runs apps/APP under the shim in a directory removed after the test;
    returns (dumps, {name: [addresses the app reported]})."""
    tmp = tempfile.mkdtemp(prefix="muppy-leak-")
    test.addCleanup(shutil.rmtree, tmp, True)
    done = common.run_app(interp, common.app_path(app), [ROUNDS],
                          muppy_dir=tmp, cwd=common.APPS)
    leaks = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "LEAK":
            leaks.setdefault(parts[1], []).append(parts[2])
    dumps = common.list_dumps(tmp)
    if len(dumps) != ROUNDS + 1:
        raise AssertionError("%s: %d dumps, expected %d: %s\nstderr: %s"
                             % (app, len(dumps), ROUNDS + 1, dumps,
                                common.tail(done.stderr)))
    return dumps, leaks


def leak_groups(dumps):
    return common.muppy_json("leaks", *dumps, "--format", "json")


def path_expr(dump, address):
    out = common.muppy("path", dump, address).stdout
    return out.splitlines()[0] if out else ""


def tree_edges(dump, address, depth=6):
    """Every edge text in the referrer tree of address."""
    trees = common.muppy_json("tree", dump, address, "--maxdepth", str(depth),
                              "--format", "json")
    edges, todo = [], list(trees)
    while todo:
        node = todo.pop()
        if "edge" in node:
            edges.append(node["edge"])
        todo.extend(node.get("children", []))
    return edges


def check_groups(groups, holder, pattern, count, type_name):
    """The group `pattern` holds count objects of type_name, and every
    group reported is held by holder."""
    where = "\n".join("  %s  %d %s %d B" % (g["pattern"], g["count"],
                                           g["type"], g["size"])
                      for g in groups)
    stray = [g["pattern"] for g in groups if not g["pattern"].startswith(holder)]
    if stray:
        raise AssertionError("leaks reported groups not held by %s: %s\n%s"
                             % (holder, stray, where))
    mine = [g for g in groups if g["pattern"] == pattern]
    if not mine:
        raise AssertionError("no leak group %s in:\n%s" % (pattern, where))
    if (mine[0]["count"], mine[0]["type"]) != (count, type_name):
        raise AssertionError("group %s: %d %s, expected %d %s"
                             % (pattern, mine[0]["count"], mine[0]["type"],
                                count, type_name))


def expect_in(text, pieces, what):
    for p in pieces:
        if p not in text:
            raise AssertionError("%s %r does not contain %r" % (what, text, p))


class LeakAppsTest(unittest.TestCase):

    def test_callbacks_in_a_global_registry(self):
        def check(interp):
            dumps, leaks = run_leaky(self, interp, "leak_callbacks.py")
            holder = MAIN + ".bus.handlers['done']"
            check_groups(leak_groups(dumps), holder, holder + "[*]",
                         100 * ROUNDS, "method")
            addr = leaks["request"][-1]
            expect_in(path_expr(dumps[-1], addr), [holder + "["],
                      "path of the last request")
            # One edge per hop: module dict keys read ['bus'], an
            # attribute .handlers or (through __dict__) ['handlers'].
            expect_in(" ".join(tree_edges(dumps[-1], addr)),
                      ["['done']", "handlers", "bus"], "tree edges")
        common.for_each_interpreter(self, check)

    def test_cache_keyed_by_request(self):
        def check(interp):
            dumps, leaks = run_leaky(self, interp, "leak_cache.py")
            holder = MAIN + "._page_cache"
            check_groups(leak_groups(dumps), holder, holder + "['*']",
                         50 * ROUNDS, "list")
            want = holder + "['req-%d']" % (1000 * (ROUNDS - 1) + 49)
            got = path_expr(dumps[-1], leaks["page"][-1])
            if got != want:
                raise AssertionError("path %r, expected %r" % (got, want))
            expect_in(" ".join(tree_edges(dumps[-1], leaks["page"][-1], 3)),
                      ["['req-%d']" % (1000 * (ROUNDS - 1) + 49),
                       "['_page_cache']"], "tree edges")
        common.for_each_interpreter(self, check)

    def test_closure_capturing_a_large_object(self):
        def check(interp):
            dumps, leaks = run_leaky(self, interp, "leak_closure.py")
            holder = MAIN + ".handlers"
            check_groups(leak_groups(dumps), holder, holder + "[*]", ROUNDS,
                         "function")
            expect_in(path_expr(dumps[-1], leaks["data"][-1]),
                      [holder + "[%d]" % (ROUNDS - 1), "<cell 'data'>"],
                      "path of the captured bytearray")
            top = common.muppy_json("top", dumps[-1], "--limit", "30",
                                    "--format", "json")
            mine = [r for r in top if r["path"] == holder]
            if not mine or mine[0]["retained"] < 100000 * ROUNDS:
                raise AssertionError("top does not show %s retaining the "
                                     "%d bytearrays: %s"
                                     % (holder, ROUNDS,
                                        [(r["path"], r["retained"]) for r in top]))
        common.for_each_interpreter(self, check)

    def test_cycles_held_by_a_module_global(self):
        def check(interp):
            dumps, leaks = run_leaky(self, interp, "leak_cycle.py")
            holder = MAIN + ".sessions"
            check_groups(leak_groups(dumps), holder, holder + "[*]",
                         20 * ROUNDS, "__main__.Session")
            got = path_expr(dumps[-1], leaks["session"][-1])
            want = holder + "[%d]" % (20 * ROUNDS - 1)
            if got != want:
                raise AssertionError("path %r, expected %r" % (got, want))
            orphans = common.muppy_json("orphans", dumps[-1], "--format", "json")
            if not isinstance(orphans, list):
                raise AssertionError("orphans: not a JSON list")
        common.for_each_interpreter(self, check)


if __name__ == "__main__":
    unittest.main()
