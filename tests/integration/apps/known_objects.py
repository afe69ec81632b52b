"""known_objects.py - a Python app with known objects that dumps itself
under libmuppy.so and writes its own ground truth (tests/integration).

    python3 known_objects.py TRUTH.json [--full] [--diff]

It builds, as globals of __main__:
  known      12,345 instances of Known (row `__main__.Known`)
  registry   a dict of exactly 1,000 str keys 'key-0000'.. -> floats
  floats     a list of 777 floats
  stable     5 Stable instances, gone: 11 Gone instances
  secret     'hunter2-secret-canary', built at run time (no code constant
             holds it whole), long_secret (200 characters), secret_bytes
then sends itself the dump signal (MUPPY_SIGNAL, default SIGUSR1) and
waits until $MUPPY_DIR/muppy.<pid>.1.dump exists, prints `dump PATH`, and
exits.  The shim must run with MUPPY_AT_EXIT=0 so no exit dump follows.

--diff: after the first dump, appends 500 Known to `known`, puts 3 new
dicts in globals, creates 7 Marker instances and drops the 11 Gone ones,
then dumps again (seq 2).

TRUTH.json (written before the first dump; nothing the truth describes is
changed until that dump is on disk):
  pid, python, sizes of one Known/Marker/Gone/Stable instance, the ids of
  registry, its keys and values, floats and its items, the __main__ module
  and its dict, the secrets, and with --full "objects": {hex id: [type name,
  sys.getsizeof]} for every gc-tracked object plus everything reachable
  from the app's own globals (their dict keys included).  The type name is
  what Pympler prints: type.__repr__(type(o)) without <class '...'>.

Left out of "objects", each for a stated reason ("excluded" counts them):
  * objects whose type defines __sizeof__ in Python: sys.getsizeof runs
    Python code for them, which a heap walk must not do;
  * libmuppy.so's own function objects (named _muppy_*): the walk leaves
    them out on purpose (design: muppy's own objects are not reported);
  * the truth's own bookkeeping (built after the sample is taken).
"""
import gc
import json
import os
import signal
import sys
import time
import types


class Known:
    def __init__(self, i):
        self.i = i


class Stable:
    pass


class Gone:
    pass


class Marker:
    pass


def build_globals():
    g = globals()
    g["known"] = [Known(i) for i in range(12345)]
    g["registry"] = {"key-%04d" % i: i + 0.5 for i in range(1000)}
    g["floats"] = [i * 1.25 + 0.1 for i in range(777)]
    g["stable"] = [Stable() for _ in range(5)]
    g["gone"] = [Gone() for _ in range(11)]
    g["markers"] = []
    g["secret"] = "".join(["hunter2", "-secret", "-canary"])
    # 200 characters, none of it a run of consecutive codes (a run like
    # 'ABCDEFGH' can occur in any binary table by chance).
    g["long_secret"] = "long-canary-" + "".join(chr(97 + (i * 7919) % 26)
                                                for i in range(188))
    g["secret_bytes"] = ("bytes-" + "canary-" + "payload").encode("ascii")


def type_name(t, cache={}):
    """Pympler's name for type t: str(t) with '<class ' and '>' removed,
    using type's own repr (a metaclass __repr__ is Python code the walk
    cannot run; Pympler's own names come from type_repr too)."""
    name = cache.get(t)
    if name is None:
        name = type.__repr__(t)
        if name.startswith("<class '") and name.endswith("'>"):
            name = name[8:-2]
        cache[t] = name
    return name


def python_sizeof(t, cache={}):
    """True if type t's __sizeof__ is defined in Python."""
    r = cache.get(t)
    if r is None:
        r = False
        for k in type.__getattribute__(t, "__mro__"):
            d = type.__getattribute__(k, "__dict__")
            if "__sizeof__" in d:
                r = isinstance(d["__sizeof__"], (types.FunctionType, classmethod,
                                                 staticmethod, property))
                break
        cache[t] = r
    return r


def is_shim_function(o):
    return (type(o) is types.BuiltinFunctionType
            and getattr(o, "__name__", "").startswith("_muppy_"))


def app_closure():
    """Everything reachable from the app's own globals, without expanding
    types, modules, functions and code (those lead to the whole heap)."""
    g = globals()
    todo = [g[k] for k in ("known", "registry", "floats", "stable", "gone",
                           "secret", "long_secret", "secret_bytes")]
    seen, out = set(), []
    stop = (type, types.ModuleType, types.FunctionType, types.CodeType,
            types.BuiltinFunctionType)
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        out.append(o)
        if isinstance(o, stop):
            continue
        if type(o) is dict:
            todo.extend(o.keys())
        todo.extend(gc.get_referents(o))
    return out


def sample_objects():
    """(objects, excluded counts): gc-tracked objects plus app_closure()."""
    objs = gc.get_objects()
    objs.extend(app_closure())
    keep, excluded, seen = [], {}, set()
    for o in objs:
        if id(o) in seen:
            continue
        seen.add(id(o))
        t = type(o)
        if python_sizeof(t):
            why = "__sizeof__ defined in Python"
        elif is_shim_function(o):
            why = "libmuppy.so's own function"
        else:
            keep.append(o)
            continue
        excluded[why] = excluded.get(why, 0) + 1
    return keep, excluded


def describe(full):
    """The truth as a dict, and the objects it names (kept alive)."""
    g = globals()
    mod = sys.modules["__main__"]
    # The sample first: what is built below (the truth itself) is not in it.
    held, excluded = sample_objects() if full else (None, None)
    truth = {
        "pid": os.getpid(),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "known_count": len(g["known"]),
        "known_size": sys.getsizeof(g["known"][0]),
        "known_sizes_equal": len({sys.getsizeof(k) for k in g["known"]}) == 1,
        "stable_size": sys.getsizeof(g["stable"][0]),
        "gone_size": sys.getsizeof(g["gone"][0]),
        "marker_size": sys.getsizeof(Marker()),
        "registry": id(g["registry"]),
        "registry_keys": {k: id(k) for k in g["registry"]},
        "registry_values": {k: id(v) for k, v in g["registry"].items()},
        "floats": id(g["floats"]),
        "float_ids": [id(f) for f in g["floats"]],
        "main_module": id(mod),
        "main_dict": id(mod.__dict__),
        "secret": id(g["secret"]),
        "secret_value": g["secret"],
        "long_secret": id(g["long_secret"]),
        "long_secret_value": g["long_secret"],
        "secret_bytes": id(g["secret_bytes"]),
        "secret_bytes_value": g["secret_bytes"].decode("ascii"),
    }
    if full:
        truth["objects"] = {"%x" % id(o): [type_name(type(o)), sys.getsizeof(o)]
                            for o in held}
        truth["excluded"] = excluded
    return truth, held


def write_truth(path, truth):
    # Binary write: no text codec lookup (which could grow the codec cache
    # between the truth and the dump).
    data = json.dumps(truth).encode("ascii")
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


def dump_signal():
    name = os.environ.get("MUPPY_SIGNAL", "USR1")
    if name.isdigit():
        return int(name)
    if not name.startswith("SIG"):
        name = "SIG" + name
    return getattr(signal, name)


def dump_and_wait(seq, timeout=60.0):
    """Signals ourselves and waits for muppy.<pid>.<seq>.dump."""
    path = os.path.join(os.environ["MUPPY_DIR"], "muppy.%d.%d.dump" % (os.getpid(), seq))
    os.kill(os.getpid(), dump_signal())
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.stderr.write("known_objects: no dump %s after %.0f s\n" % (path, timeout))
            sys.exit(3)
        time.sleep(0.005)
    sys.stdout.write("dump %s\n" % path)
    sys.stdout.flush()
    return path


def change_for_diff():
    g = globals()
    g["known"].extend(Known(i) for i in range(12345, 12845))
    for i in range(3):
        g["new_dict_%d" % i] = {"n": i}
    g["markers"].extend(Marker() for _ in range(7))
    del g["gone"][:]


def main(argv):
    truth_path = argv[1]
    full = "--full" in argv
    build_globals()
    truth, held = describe(full)
    write_truth(truth_path, truth)
    dump_and_wait(1)
    del held
    if "--diff" in argv:
        change_for_diff()
        dump_and_wait(2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
