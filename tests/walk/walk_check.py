"""walk_check.py - ground-truth checks of the heap walker (shim/walk/walk.c).

Runs inside the interpreter under test: builds a heap with known facts,
walks it through tests/walk/walk_driver.c (loaded with ctypes.PyDLL, so the GIL
is held), and compares the dump with what Python itself says: id, type
name and sys.getsizeof of every gc object and its referents, instance
counts, named dict/list/local/cell/slot edges, roots, string contents,
exclusions, GC state, and that nothing is left behind.

Usage: python3 tests/walk/walk_check.py DRIVER.so [--bench N]
Build the driver (from the repository root):
  gcc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -fPIC \
      -fvisibility=hidden -I. -shared -o /tmp/walkdrv.so \
      tests/walk/walk_driver.c shim/walk/*.c shim/cpython/pyapi.c format/dump.c \
      format/read.c format/write.c -ldl -lz
Prints one line per check and ends with "walk_check: N passed, M failed"
(exit status 1 if any failed).
"""
import ctypes
import gc
import os
import sys
import tempfile
import threading
import time
import warnings

# Heap objects made before any walk, for the FMT_OBJ_STATIC checks.
STATIC_PROBES = (int("1" * 30), "".join(["not", "interned", "probe"]))

# A deque's items are named by index; a function's defaults by name.
import collections  # noqa: E402
DEQUE_PROBE = collections.deque([[1], [2], [3]])


def DEFAULTS_PROBE(x, _cache={"k": [4]}, *, flag=[5]):
    return x

DRIVER = None
FAILED = []
PASSED = []

KIND_NONE, KIND_KEY, KIND_INDEX, KIND_ATTR, KIND_LOCAL, KIND_CELL, \
    KIND_DICTKEY, KIND_OTHER = range(8)


T0 = time.time()


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name,
                       (": " + detail) if detail and not ok else ""))


def unesc(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"\\": "\\", "t": "\t", "n": "\n", "r": "\r",
                        "0": "\0"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Dump:
    """The driver's text form, parsed."""

    def __init__(self, path):
        self.info, self.summary, self.types = {}, {}, {}
        self.objs = {}          # index -> (addr, type, size, refcnt, flags, label)
        self.by_addr = {}       # addr -> index
        self.edges = {}         # src index -> [(dst, kind, value)]
        self.roots, self.strdata = [], {}
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                t = p[0]
                if t == "I":
                    self.info[p[1]] = int(p[2])
                elif t == "S":
                    self.summary[unesc(p[3])] = (int(p[1]), int(p[2]))
                elif t == "T":
                    self.types[int(p[1])] = (int(p[2]), unesc(p[3]))
                elif t == "O":
                    i = int(p[1])
                    self.objs[i] = (int(p[2]), int(p[3]), int(p[4]),
                                    int(p[5]), int(p[6]), unesc(p[7]))
                    self.by_addr[int(p[2])] = i
                elif t == "E":
                    k = int(p[3])
                    v = int(p[4]) if k in (KIND_NONE, KIND_INDEX,
                                           KIND_DICTKEY) else unesc(p[4])
                    self.edges.setdefault(int(p[1]), []).append(
                        (int(p[2]), k, v))
                elif t == "R":
                    self.roots.append((int(p[1]), int(p[2]), unesc(p[3])))
                elif t == "D":
                    self.strdata[int(p[1])] = bytes.fromhex(p[2])

    def obj(self, o):
        return self.objs.get(self.by_addr.get(id(o)))

    def out(self, o):
        return [(self.objs[d][0], k, v)
                for d, k, v in self.edges.get(self.by_addr.get(id(o)), [])]

    def typename(self, rec):
        return self.types[rec[1]][1]


def walk(graph=1, strings=0, exclude=(), fail_after=0, parse=True):
    """Walks; returns (rc, Dump or None).  parse=False writes nothing and
    creates no Python objects (for the side-effect checks)."""
    arr = (ctypes.c_size_t * max(1, len(exclude)))(*exclude)
    if not parse:
        return DRIVER.walk_test_dump(None, graph, strings, arr, len(exclude),
                                     fail_after), None
    fd, path = tempfile.mkstemp(prefix="walk_check.")
    os.close(fd)
    rc = DRIVER.walk_test_dump(path.encode(), graph, strings, arr,
                               len(exclude), fail_after)
    d = Dump(path) if rc == 0 else None
    os.unlink(path)
    return rc, d


def pympler_name(t):
    # type.__repr__, not repr(): a metaclass __repr__ (enum's) is Python
    # code the walker must not run; Pympler's str(type(o)) would use it.
    r = type.__repr__(t)
    return r[len("<class '"):-2] if r.startswith("<class '") else r


# ---- the heap under test ---------------------------------------------------

class Foo:
    def __init__(self, i):
        self.i = i
        self.tag = "foo"


class Slotted:
    __slots__ = ("alpha", "beta")

    def __init__(self):
        self.alpha = Marker()
        self.beta = [1, 2]


class Marker:
    pass


class Bus:
    """Plain class: on 3.11+ its attributes stay inline values (nobody
    touches bus_obj.__dict__) and are named from the type's shared keys."""

    def __init__(self):
        self.handlers = {"done": [Marker()]}
        self.name = "bus-" + str(len(sys.argv) + 12345)
        self.spare = None   # a value that is the shared None

    def on_done(self):
        return self.name


class PySized:
    def __sizeof__(self):
        return 12345


def make_closure():
    captured = Marker()

    def inner():
        return captured
    return inner, captured


registry = {"key%04d" % i: [i] for i in range(1000)}
foos = [Foo(i) for i in range(12345)]
slotted = Slotted()
closure_fn, closure_val = make_closure()
seq = [Marker(), Marker(), Marker()]
tuple_obj = (Marker(), "x", 42)
nonstr_dict = {1: Marker(), (2, 3): Marker(), False: Marker(), -4: Marker(),
               2 ** 40: Marker(), 2 ** 100: Marker(), 2.5: Marker()}
unicode_str = "h\u00e9llo w\u00f6rld \u2713 \U0001d11e " + "z" * 50
bytes_obj = b"\x00abc\xffdef" * 4
pysized = PySized()
bus_obj = Bus()
bus_dicted = Bus()
bus_dicted.__dict__["extra"] = Marker()   # materialized __dict__
bound = bus_obj.on_done


class Narrow:
    def __init__(self):
        self.first = Marker()


class Wide:
    def __init__(self):
        self.w0, self.w1, self.w2, self.w3 = 0, 1, 2, 3
        self.w4, self.w5, self.w6, self.w7 = 4, 5, 6, 7


wide_proto = Wide()          # Wide's shared keys now hold 8 names
reclassed = Narrow()
reclassed.__class__ = Wide   # values laid out for Narrow's keys
excluded = Marker()
excluded_child = Marker()
excluded.child = excluded_child
also_ref = [excluded_child]

# Objects whose tp_traverse visits more than the walker's own readers
# name: a dict and a list subclass with attributes, an exception, a
# partial, a function with defaults, annotations and a doc.
class DictSub(dict):
    pass


class ListSub(list):
    __slots__ = ("tail",)


class AppError(Exception):
    pass


def rich_fn(a=Marker(), *, b=Marker()) -> "ann":
    "doc"
    return a, b


dict_sub = DictSub(k=Marker())
dict_sub.attr = Marker()
list_sub = ListSub([Marker()])
list_sub.tail = Marker()
app_error = AppError(Marker())
app_error.note = Marker()
partial_obj = __import__("functools").partial(rich_fn, Marker())


class Both:
    __slots__ = ("s", "__dict__", "__weakref__")


class BothChild(Both):
    __slots__ = ("t",)


both = BothChild()
both.s, both.t, both.d = Marker(), Marker(), Marker()
both_ref = __import__("weakref").ref(both)
foo_ref = __import__("weakref").ref(foos[0])

# Held by these lists (and the checker's own list of every object): the
# walk must read each one's true count, however it reached them (from
# the gc lists or through an edge).
held_gc = [[i] for i in range(1000)]
held_plain = [float(i) + 0.5 for i in range(1000)]

thread_ready = threading.Event()
thread_stop = threading.Event()
thread_locals = {}


def worker(alpha):
    beta = [alpha, "beta"]
    gamma = Marker()
    thread_locals.update(alpha=alpha, beta=beta, gamma=gamma)
    thread_ready.set()
    thread_stop.wait()


# ---- checks ------------------------------------------------------------------

def sizes_of(objs):
    return [sys.getsizeof(o) for o in objs]


def check_sizes_types(d, objs, before, after):
    """before/after: sys.getsizeof of objs just before and after the walk;
    an object whose size changed in between (a class's cached keys, 3.8's
    code opcache) is not compared, only counted."""
    missing, badsize, badtype, n, unstable = [], [], [], 0, 0
    # Python-level __sizeof__ (not run by design) and the checker's own
    # lists, which grow after the walk.
    skip = {id(pysized), id(PASSED), id(FAILED)}
    for o, b, a in zip(objs, before, after):
        if id(o) in skip:
            continue
        rec = d.obj(o)
        if rec is None:
            missing.append(type(o).__name__)
            continue
        n += 1
        if b != a:
            unstable += 1
        elif rec[2] != a:
            badsize.append((pympler_name(type(o)), rec[2], a))
        if d.typename(rec) != pympler_name(type(o)):
            badtype.append((d.typename(rec), pympler_name(type(o))))
    check("gc objects and referents found (%d)" % n, not missing,
          "%d missing, e.g. %s" % (len(missing), missing[:10]))
    check("sizes equal sys.getsizeof (%d objects, %d changed during the "
          "walk and skipped)" % (n, unstable), not badsize and unstable < 20,
          "%d mismatches, e.g. %s" % (len(badsize), badsize[:10]))
    check("type names equal str(type(o))", not badtype,
          "%d mismatches, e.g. %s" % (len(badtype), badtype[:10]))


def check_graph(d, t, probe):
    foo_name = pympler_name(Foo)
    cnt = d.summary.get(foo_name, (0, 0))[0]
    check("12345 instances of Foo counted", cnt == 12345, str(cnt))
    check("Foo in the type table",
          any(n == foo_name and a == id(Foo) for a, n in d.types.values()))

    main = sys.modules[__name__]
    mdict = vars(main)
    named = [(a, k, v) for a, k, v in d.out(mdict) if a == id(registry)]
    check("module dict ['registry'] -> dict",
          (id(registry), KIND_KEY, "registry") in named, str(named))
    out = d.out(registry)
    keys = {v for a, k, v in out if k == KIND_KEY}
    check("registry: 1000 named values",
          keys == set(registry), "%d names" % len(keys))
    keyobjs = {a for a, k, v in out if k == KIND_DICTKEY}
    check("registry: 1000 str key objects",
          keyobjs == {id(k) for k in registry}, "%d keys" % len(keyobjs))
    okvals = all((id(v), KIND_KEY, k) in out for k, v in registry.items())
    check("registry: values under their keys", okvals)
    dup = [e for e in out if e[1] == KIND_NONE]
    check("registry: no unnamed duplicates", not dup, str(dup[:5]))

    out = d.out(nonstr_dict)
    check("int key 0..2^29-1: value named by index, key DICTKEY",
          (id(nonstr_dict[1]), KIND_INDEX, 1) in out and
          (id(1), KIND_DICTKEY, 0) in out, str(out))
    check("other keys (tuple, bool, negative, wide, huge, float): "
          "value unnamed, key DICTKEY",
          all((id(nonstr_dict[k]), KIND_NONE, 0) in out and
              (id(k), KIND_DICTKEY, 0) in out
              for k in nonstr_dict if k != 1), str(out))

    out = d.out(seq)
    check("list items by index",
          all((id(x), KIND_INDEX, i) in out for i, x in enumerate(seq)) and
          len(out) == 3, str(out))
    out = d.out(tuple_obj)
    check("tuple items by index",
          all((id(x), KIND_INDEX, i) in out
              for i, x in enumerate(tuple_obj)), str(out))

    foo = foos[7]
    out = d.out(foo)
    check("instance -> __class__", (id(Foo), KIND_OTHER, "__class__") in out,
          str(out))
    if sys.version_info < (3, 11):
        check("instance -> __dict__",
              (id(foo.__dict__), KIND_OTHER, "__dict__") in out, str(out))
    else:
        check("instance -> attribute values named",
              (id(foo.tag), KIND_ATTR, "tag") in out and
              (id(foo.i), KIND_ATTR, "i") in out, str(out))

    check_instance_attrs(d)

    out = d.out(slotted)
    check("__slots__ named as attributes",
          (id(slotted.alpha), KIND_ATTR, "alpha") in out and
          (id(slotted.beta), KIND_ATTR, "beta") in out, str(out))

    cell = closure_fn.__closure__[0]
    out = d.out(cell)
    check("closure cell -> value named by the free variable",
          (id(closure_val), KIND_CELL, "captured") in out, str(out))
    fnrec = d.obj(closure_fn)
    check("function label is its qualname",
          fnrec and fnrec[5] == closure_fn.__qualname__,
          str(fnrec))
    check("summary row 'function (inner)'", "function (inner)" in d.summary)
    check("summary row 'module(%s)'" % __name__,
          "module(%s)" % __name__ in d.summary)
    check("module label", d.obj(main) and d.obj(main)[5] == __name__)
    check("module -> __dict__",
          (id(mdict), KIND_OTHER, "__dict__") in d.out(main))
    check("type label is qualname", d.obj(Foo) and d.obj(Foo)[5] == "Foo"
          and d.obj(Foo)[4] & 2)

    # Roots.
    roots = {name: d.objs[o][0] for o, k, name in d.roots if k == 1}
    check("every sys.modules entry is a root",
          all(roots.get(k) == id(v) for k, v in sys.modules.items()),
          str(set(sys.modules) - set(roots))[:200])
    frames = {name: d.objs[o] for o, k, name in d.roots if k == 2}
    fr = frames.get("thread %d" % t.ident)
    check("worker thread's innermost frame is a root", fr is not None,
          str(list(frames)))
    # The worker's frame: find the frame labelled 'worker'.
    wf = [i for i, r in d.objs.items() if r[5] == "worker" and
          d.typename(r) == "frame"]
    check("worker frame found", len(wf) == 1, str(wf))
    if wf:
        out = [(d.objs[a][0], k, v) for a, k, v in d.edges.get(wf[0], [])]
        ok = all((id(thread_locals[n]), KIND_LOCAL, n) in out
                 for n in ("alpha", "beta", "gamma"))
        check("worker frame locals alpha/beta/gamma by name", ok, str(out))
        check("summary row 'frame (codename: worker)'",
              "frame (codename: worker)" in d.summary)

    # GC flags and refcounts of a few stable objects.
    bad = [o for o in (registry, seq, foos[3], slotted, closure_fn)
           if bool(d.obj(o)[4] & 1) != gc.is_tracked(o)]
    check("GC_TRACKED flag equals gc.is_tracked", not bad, str(bad))
    check("untracked tuple flagged untracked",
          d.obj(("a", 1))[4] & 1 == gc.is_tracked(("a", 1)) if d.obj(("a", 1))
          else True)
    # FMT_OBJ_STATIC (0x4): what the interpreter keeps for its whole life.
    big, heap_str = STATIC_PROBES
    static = [None, True, False, Ellipsis, NotImplemented, 7, -5, 256,
              int, dict, sys.intern("muppy_static_probe"), "__name__"]
    heap = [big, 257, heap_str, foos[3], registry, type(foos[3])]
    missing = [o for o in static + heap if not d.obj(o)]
    check("the STATIC probes are in the walk", not missing, repr(missing))
    bad = [o for o in static if d.obj(o) and not d.obj(o)[4] & 4]
    check("STATIC flag on singletons, static types, small ints, interned "
          "str", not bad, repr(bad))
    bad = [o for o in heap if d.obj(o) and d.obj(o)[4] & 4]
    check("no STATIC flag on heap objects (big int, 257, a str, an "
          "instance, a list, a heap type)", not bad, repr(bad))
    out = d.out(DEQUE_PROBE)
    check("deque items named [0] [1] [2]",
          all((id(x), KIND_INDEX, i) in out
              for i, x in enumerate(DEQUE_PROBE)), str(out))
    out = d.out(DEFAULTS_PROBE)
    check("function -> __defaults__ and __kwdefaults__",
          (id(DEFAULTS_PROBE.__defaults__), KIND_OTHER, "__defaults__") in out
          and (id(DEFAULTS_PROBE.__kwdefaults__), KIND_OTHER,
               "__kwdefaults__") in out, str(out))
    rec = d.obj(probe[0])
    check("refcount as read", rec[3] == probe[1],
          "%d vs %d" % (rec[3], probe[1]))
    for label, objs, want in (("gc-tracked lists", held_gc, probe[2]),
                              ("floats", held_plain, probe[3])):
        got = [(d.obj(o) or (0, 0, 0, None))[3] for o in objs]
        bad = [(g, e) for g, e in zip(got, want) if g != e]
        check("1000 %s held by this file only: refcounts as read" % label,
              not bad, "%d wrong, (read, true): %s" % (len(bad), bad[:5]))
    check("PySized (Python __sizeof__) estimated, not called",
          d.obj(pysized)[2] != 12345 and d.info["sizes_estimated"] >= 1)


def check_instance_attrs(d):
    """Attributes of a plain instance: named ATTR edges on 3.11+ (values
    without a __dict__), ['name'] KEY edges through __dict__ before; never
    an unnamed duplicate; a bound method names __self__ and __func__."""
    out = d.out(bus_obj)
    want = [(id(bus_obj.handlers), "handlers"), (id(bus_obj.name), "name")]
    if sys.version_info >= (3, 11):
        check("inline attributes: ATTR edges 'handlers', 'name'",
              all((a, KIND_ATTR, n) in out for a, n in want), str(out))
        check("inline attributes: shared None named too",
              (id(None), KIND_ATTR, "spare") in out, str(out))
        dup = [e for e in out if e[1] == KIND_NONE and
               e[0] in (id(bus_obj.handlers), id(bus_obj.name))]
        check("inline attributes: no unnamed duplicates", not dup, str(dup))
        check("inline attributes: no __dict__ edge (none materialized)",
              not any(v == "__dict__" for a, k, v in out), str(out))
        # With a materialized __dict__ the walker goes through it (values
        # may additionally be named, but must be reachable by key).
        dout = d.out(bus_dicted)
        dct = [a for a, k, v in dout if (k, v) == (KIND_OTHER, "__dict__")]
        kout = d.out(bus_dicted.__dict__)
        check("materialized __dict__: ['handlers'] and ['extra'] keys",
              len(dct) == 1 and dct[0] == id(bus_dicted.__dict__) and
              (id(bus_dicted.handlers), KIND_KEY, "handlers") in kout and
              (id(bus_dicted.extra), KIND_KEY, "extra") in kout,
              str(dout) + str(kout))
    else:
        dct = bus_obj.__dict__
        kout = d.out(dct)
        check("attributes through __dict__ with KEY edges",
              (id(dct), KIND_OTHER, "__dict__") in out and
              all((a, KIND_KEY, n) in kout for a, n in want), str(kout))
    # After __class__ assignment the value must not be named from the new
    # class's keys (CPython materializes the __dict__ first): reached as
    # .first or as __dict__['first'], never under a Wide name.
    out = d.out(reclassed)
    named = [(k, v) for a, k, v in out if a == id(reclassed.first)]
    for a, k, v in out:
        if (k, v) == (KIND_OTHER, "__dict__"):
            named += [(k2, v2) for a2, k2, v2 in
                      d.edges.get(d.by_addr.get(a), [])
                      if d.objs[a2][0] == id(reclassed.first)]
    check("__class__ assigned: attribute named 'first' only",
          all(v == "first" for k, v in named if k != KIND_NONE) and
          ((KIND_ATTR, "first") in named or (KIND_KEY, "first") in named),
          str(named))
    out = d.out(bound)
    check("bound method -> __self__ and __func__",
          (id(bus_obj), KIND_OTHER, "__self__") in out and
          (id(Bus.on_done), KIND_OTHER, "__func__") in out, str(out))


def check_strings(t):
    rc, d = walk(strings=5)
    check("strings=5 walk", rc == 0, str(rc))
    if rc:
        return
    got = d.strdata.get(d.by_addr.get(id(unicode_str)))
    check("str contents: first 5 chars as UTF-8",
          got == unicode_str[:5].encode(), repr(got))
    got = d.strdata.get(d.by_addr.get(id(bytes_obj)))
    check("bytes contents: first 5 bytes", got == bytes_obj[:5], repr(got))
    rc, d = walk(strings=0)
    check("no string contents unless asked", rc == 0 and not d.strdata)


def check_summary_mode():
    rc, d = walk(graph=0)
    check("summary-only walk", rc == 0, str(rc))
    if rc:
        return
    check("summary-only: no objects", not d.objs)
    check("summary-only: Foo count",
          d.summary.get(pympler_name(Foo), (0,))[0] == 12345)
    check("summary-only: types present", len(d.types) > 10)


def check_exclude():
    rc, d = walk(exclude=(id(excluded),))
    check("exclude walk", rc == 0, str(rc))
    if rc:
        return
    check("excluded object absent", d.obj(excluded) is None)
    check("its referent still found via another path",
          d.obj(excluded_child) is not None)


def check_side_effects():
    enabled = gc.isenabled()
    n0 = len(gc.get_objects())
    rc, _ = walk(parse=False)
    n1 = len(gc.get_objects())
    check("no gc objects left behind", rc == 0 and abs(n1 - n0) <= 2,
          "%d -> %d" % (n0, n1))
    check("gc state restored (enabled)", gc.isenabled() == enabled)
    gc.disable()
    rc, _ = walk(parse=False)
    check("gc state restored (disabled)", rc == 0 and not gc.isenabled())
    gc.enable()


def check_frozen():
    """Objects in the permanent generation (gc.freeze) are walked: a
    garbage cycle frozen before the walk is only on that list."""
    gc.disable()
    cycle = [Marker()]
    cycle.append(cycle)
    addr = id(cycle)
    del cycle
    gc.freeze()
    try:
        rc, d = walk()
    finally:
        gc.unfreeze()
        gc.enable()
        gc.collect()
    check("frozen walk", rc == 0, str(rc))
    if rc == 0:
        check("a frozen garbage cycle is in the dump", addr in d.by_addr)


def check_layout_fallback():
    """A gc layout that does not check out is not trusted: 3.12+ walks
    through PyUnstable_GC_VisitObjects instead, 3.10-3.11 fail cleanly."""
    if sys.version_info < (3, 10):
        return
    DRIVER.walk_test_gc_enabled_shift(4)   # onto the `debug` field
    try:
        rc, d = walk()
    finally:
        DRIVER.walk_test_gc_enabled_shift(0)
    if sys.version_info >= (3, 12):
        check("a wrong gc layout: the API's walk", rc == 0, str(rc))
        check("a wrong gc layout: gc objects still found",
              d is not None and d.obj(foos[0]) is not None)
    else:
        check("a wrong gc layout: the walk fails", rc != 0, str(rc))
    check("a wrong gc layout: gc state restored", gc.isenabled())
    rc, d = walk()
    check("the layout back: walks again", rc == 0 and d.obj(foos[0]), str(rc))


def exclusive_pages(pages):
    """How many of these pages (numbers) are mapped by this process
    alone: /proc/self/pagemap bit 56, no privilege needed."""
    fd = os.open("/proc/self/pagemap", os.O_RDONLY)
    try:
        return sum(int.from_bytes(os.pread(fd, 8, p * 8), "little") >> 56 & 1
                   for p in pages)
    finally:
        os.close(fd)


def check_copy_on_write():
    """A walk in a forked child writes (copies) almost none of the heap's
    pages: the snapshot child's private memory is its own tables, not a
    second heap (PyUnstable_GC_VisitObjects increfs every object, and
    copied every page of gc objects on 3.12+)."""
    objs = [[i] for i in range(200000)]
    pages = sorted({id(o) >> 12 for o in objs})
    rd, wr = os.pipe()
    with warnings.catch_warnings():   # 3.12+: "multi-threaded" (the worker)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(rd)
        before = exclusive_pages(pages)
        rc, _ = walk(parse=False)
        after = exclusive_pages(pages)
        os.write(wr, ("%d %d %d" % (rc, before, after)).encode())
        os._exit(0)
    os.close(wr)
    with os.fdopen(rd) as f:
        got = f.read().split()
    os.waitpid(pid, 0)
    if len(got) != 3:
        check("walk in a forked child", False, "no answer from the child")
        return
    rc, before, after = map(int, got)
    check("walk in a forked child", rc == 0, str(rc))
    check("a forked walk copies few of the heap's pages",
          after - before <= len(pages) // 20,
          "%d of %d pages copied" % (after - before, len(pages)))


def check_referents(d):
    """Every referent tp_traverse reports (gc.get_referents) is an edge of
    the dump, whatever the walker read itself instead of calling it."""
    sample = (foos[:50] + held_gc[:50] + [
        slotted, closure_fn, closure_fn.__closure__[0], seq, tuple_obj,
        nonstr_dict, registry, pysized, bus_obj, bus_dicted, bound,
        wide_proto, reclassed, dict_sub, list_sub, app_error, partial_obj,
        rich_fn, make_closure, Foo, Slotted, Bus, DictSub, ListSub,
        AppError, both, both_ref, foo_ref, BothChild])
    missing = []
    for o in sample:
        want = {id(r) for r in gc.get_referents(o)}
        got = {a for a, k, v in d.out(o)}
        if not d.obj(o) or want - got:
            missing.append((type(o).__name__, len(want - got)))
    check("%d objects: every gc.get_referents() referent is an edge" %
          len(sample), not missing, str(missing[:8]))


def check_wide_table(d_narrow):
    """The seen table in its wide form (a heap over more than 63 4 GiB
    windows, or past 2^29 objects), moved to it mid-walk: the same walk."""
    DRIVER.walk_test_seen_widen(1000)
    try:
        rc, d = walk()
    finally:
        DRIVER.walk_test_seen_widen(0)
    check("walk with the table going wide at 1000 entries", rc == 0, str(rc))
    if rc != 0:
        return
    check("wide table: every address once",
          len(d.by_addr) == len(d.objs), "%d addresses, %d objects" % (
              len(d.by_addr), len(d.objs)))
    foo = d.summary.get(pympler_name(Foo), (0, 0))[0]
    check("wide table: 12345 instances of Foo", foo == 12345, str(foo))
    keys = {v for a, k, v in d.out(registry) if k == KIND_KEY}
    check("wide table: registry's 1000 named values", keys == set(registry),
          "%d names" % len(keys))
    def facts(dump, o):   # type, size, flags, label, edges (not refcnt)
        r = dump.obj(o)
        return r and (dump.typename(r), r[2], r[4], r[5],
                      sorted(dump.out(o)))
    differ = [o for o in foos[:200] + held_gc[:200]
              if not facts(d, o) or facts(d, o) != facts(d_narrow, o)]
    check("wide table: 400 objects and their edges as in the narrow walk",
          not differ, "%d differ" % len(differ))


def check_stream(d_whole, graph=2, label="streamed"):
    """The shim's walk (format 1.1+): objects and edges streamed in chunks
    as they are found, ordered by the reader: the same dump as the walk
    that holds everything, down to roots and string contents.  graph=3:
    chunks encoded on a helper thread while the walk goes on; 4: the
    helper slowed down (zlib level 9), so that the walk encodes ahead."""
    rc, d = walk(graph=graph, strings=5)
    check("%s walk" % label, rc == 0, str(rc))
    if rc != 0:
        return
    check(label + ": every address once",
          len(d.by_addr) == len(d.objs), "%d addresses, %d objects" % (
              len(d.by_addr), len(d.objs)))
    foo = d.summary.get(pympler_name(Foo), (0, 0))[0]
    check(label + ": 12345 instances of Foo", foo == 12345, str(foo))
    keys = {v for a, k, v in d.out(registry) if k == KIND_KEY}
    check(label + ": registry's 1000 named values", keys == set(registry),
          "%d names" % len(keys))
    def roots(dump):   # a thread's frame object may be made anew per
        return {(dump.objs[o][0] if k != 2 else 0, k, n)   # walk (3.13)
                for o, k, n in dump.roots}
    want, got = roots(d_whole), roots(d)
    check(label + ": the roots of the whole walk (%d)" % len(want),
          want and want == got, "%d missing, %d extra: %r / %r" % (
              len(want - got), len(got - want), sorted(want - got)[:3],
              sorted(got - want)[:3]))
    def facts(dump, o):   # type, size, flags, label, edges (not refcnt)
        r = dump.obj(o)
        return r and (dump.typename(r), r[2], r[4], r[5],
                      sorted(dump.out(o)))
    sample = foos[:200] + held_gc[:200] + [registry, bus_obj, closure_fn]
    differ = [o for o in sample
              if not facts(d, o) or facts(d, o) != facts(d_whole, o)]
    check(label + ": %d objects and their edges as in the whole walk" %
          len(sample), not differ, "%d differ" % len(differ))
    if graph == 4:
        check(label + ": the walk encoded chunks ahead",
              d.info.get("chunks_ahead", 0) > 0, str(d.info))
    elif graph == 2:
        check(label + ": no chunk encoded ahead without a helper",
              d.info.get("chunks_ahead") == 0, str(d.info))
    got = d.strdata.get(d.by_addr.get(id(unicode_str)))
    check(label + ": str contents by object",
          got == unicode_str[:5].encode(), repr(got))
    failures = [walk(graph=graph, fail_after=k, parse=False)[0]
                for k in (1, 5, 20, 100)]
    check(label + ": allocation failures return MUPPY_ENOMEM",
          set(failures) <= {-1, 0} and -1 in failures, str(failures))


def check_stream_big():
    """A streamed walk of a million objects gives the pages of its queue
    back as it goes (shim/walk/stream.c out_release_queue): it must still
    find every object and edge of the whole walk of the same heap, taken
    under the same GIL hold."""
    heap = [(i, "s%d" % i) for i in range(350000)]
    rc = DRIVER.walk_test_stream_same()
    check("streamed walk of %d+ objects: the whole walk's graph" %
          (3 * len(heap)), rc == 0, "walk_test_stream_same: %d" % rc)
    del heap


def check_enomem():
    bad = []
    for k in list(range(1, 40, 3)) + [60, 100, 200]:
        rc, _ = walk(fail_after=k, parse=False)
        if rc not in (-1, 0):
            bad.append((k, rc))
    failures = sum(1 for k in range(1, 30, 4)
                   if walk(fail_after=k, parse=False)[0] == -1)
    check("allocation failures return MUPPY_ENOMEM", not bad and
          failures > 0, str(bad))
    rc, _ = walk()
    check("walk works after failures", rc == 0)


def bench(n):
    """Times walk_heap on a heap of n instances, each with a dict and a
    list (about 4n objects).  Reports wall and CPU time (the latter is the
    one to trust on a loaded machine)."""
    class Item:
        def __init__(self, i):
            self.i = i
            self.d = {"k": i}
            self.l = [i]
    heap = [Item(i) for i in range(n)]
    DRIVER.walk_test_time.restype = ctypes.c_longlong
    DRIVER.walk_test_time.argtypes = [ctypes.c_int, ctypes.c_void_p,
                                      ctypes.c_void_p]
    rc, d = walk(parse=False)
    for graph in (1, 0):
        runs = []
        for _ in range(3):
            cpu, fin = ctypes.c_longlong(), ctypes.c_longlong()
            wall = DRIVER.walk_test_time(graph, ctypes.byref(cpu),
                                         ctypes.byref(fin))
            runs.append((cpu.value, wall, fin.value))
        cpu, wall, fin = min(runs)
        print("bench %s: %d instances: walk_heap cpu %.1f ms, wall %.1f ms;"
              " walk_finish %.1f ms" % ("graph" if graph else "summary", n,
                                        cpu / 1e6, wall / 1e6, fin / 1e6))
    del heap


def main():
    global DRIVER
    DRIVER = ctypes.PyDLL(sys.argv[1])
    DRIVER.walk_test_dump.argtypes = [
        ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p,
        ctypes.c_size_t, ctypes.c_long]
    DRIVER.walk_test_seen_widen.argtypes = [ctypes.c_long]
    DRIVER.walk_test_seen_widen.restype = None
    if "--bench" in sys.argv:
        bench(int(sys.argv[sys.argv.index("--bench") + 1]))
        return 0
    print("python", sys.version.split()[0])
    t = threading.Thread(target=worker, args=(Marker(),), daemon=True)
    t.start()
    thread_ready.wait()
    try:
        objs = gc.get_objects()
        objs += [r for o in list(objs) for r in gc.get_referents(o)]
        objs = list({id(o): o for o in objs}.values())
        probe = [Marker()]   # referenced by this frame only
        before = sizes_of(objs)
        rc, d = walk()
        after = sizes_of(objs)
        expect = sys.getrefcount(probe) - 1
        # True counts at the walk (the argument adds one); objs holds
        # each of these once more.
        expect_gc = [sys.getrefcount(held_gc[i]) - 1 for i in range(1000)]
        expect_plain = [sys.getrefcount(held_plain[i]) - 1
                        for i in range(1000)]
        check("graph walk", rc == 0, str(rc))
        if rc == 0:
            check_sizes_types(d, objs, before, after)
            del objs
            check_graph(d, t, (probe, expect, expect_gc, expect_plain))
            check_referents(d)
            check_wide_table(d)
            check_stream(d)
            check_stream(d, 3, "streamed, helper thread")
            check_stream(d, 4, "streamed, helper slower than the walk")
        del d   # the parsed dump is large: keep it out of later walks
        check_stream_big()
        check_strings(t)
        check_summary_mode()
        check_exclude()
        check_side_effects()
        check_frozen()
        check_layout_fallback()
        check_copy_on_write()
        check_enomem()
    finally:
        thread_stop.set()
        t.join()
    print("walk_check: %d passed, %d failed (%.1f s)" % (
        len(PASSED), len(FAILED), time.time() - T0))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
