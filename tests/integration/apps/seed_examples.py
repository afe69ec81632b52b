"""seed_examples.py - the seed's intro (docs of Pympler's muppy: the seed
file 000_f0732a3d83d9bcac.txt), written in Python 3 against real objects
and run under libmuppy.so, which provides the built-in `muppy` module.

Each example runs as the seed shows it (output printed between `== name`
markers so that test_pyapi.py can check the text) and asserts what the
seed says about it.  Python 2 names are replaced by their Python 3
equivalents: types.ClassType -> type, print statements -> print().  The
seed's InteractiveBrowser (refbrowser_gui, Tk) is out of scope.

Exits 0 when every example behaved as the seed says; an AssertionError
(exit 1) names the first that did not.
"""
import gc
import sys


def section(name):
    print("== %s" % name)
    sys.stdout.flush()


# ---- The muppy module --------------------------------------------------

section("get_objects")
import muppy
all_objects = muppy.get_objects()
print(len(all_objects))
# More than the gc sees: untracked and non-gc objects are there too.
assert len(all_objects) > len(gc.get_objects()), "get_objects misses objects"
assert any(type(o) is str for o in all_objects), "no str objects found"
assert not any(type(o).__name__ == "frame" for o in all_objects), \
    "frames are included without include_frames=True"

section("filter")
import types
types = muppy.filter(all_objects, Type=type)     # seed: types.ClassType
print(len(types))
for t in types[:5]:
    print(t)
assert types and all(isinstance(t, type) for t in types)
assert dict in types and int in types, "builtin classes missing"

# ---- The summary module --------------------------------------------------

section("summarize")
from muppy import summary
sum1 = summary.summarize(all_objects)
summary.print_(sum1)
assert all(len(r) == 3 for r in sum1)
assert sum(r[1] for r in sum1) == len(all_objects)
assert sum(r[2] for r in sum1) == muppy.get_size(all_objects)

section("get_diff")
sum2 = summary.summarize(muppy.get_objects())
diff = summary.get_diff(sum1, sum2)
summary.print_(diff)
rows = {r[0]: r for r in diff}
# all_objects itself (a list) exists in the second summary only.
assert rows["list"][1] >= 1, rows.get("list")

# ---- The tracker module ----------------------------------------------------

section("tracker")
from muppy import tracker
tr = i = l = d = None          # names bound before the first summary
tr = tracker.SummaryTracker()
tr.print_diff()
sys.stdout.flush()

section("tracker nothing")
tr.print_diff()                # nothing happened: an empty table
sys.stdout.flush()

section("tracker list dict")
i = 1
l = [1, 2, 3, 4]
d = {}
tr.print_diff()
sys.stdout.flush()

# ---- The refbrowser module ---------------------------------------------------

section("refbrowser")
from muppy import refbrowser
root = "some root object"
root_ref1 = [root]
root_ref2 = (root, )


def output_function(o):
    return str(type(o))


cb = refbrowser.ConsoleBrowser(root, maxdepth=2, str_func=output_function)
cb.print_tree()
tree = cb.get_tree()
kinds = [str(c) for c in tree.children]
assert tree.o is root
assert "<class 'list'>" in kinds and "<class 'tuple'>" in kinds, kinds
assert "<class 'dict'>" in kinds, kinds      # the module's globals
assert not any("ConsoleBrowser" in k for k in kinds), \
    "the browser must not show up as a referrer"
held = [c for c in tree.children if c.o is root_ref1]
assert held and [str(g) for g in held[0].children] == ["<class 'dict'>"], \
    [str(g) for g in held[0].children] if held else "root_ref1 not found"

section("done")
