"""patterns.py - the leak zoo: programs with one known leak each, beside
churn that must not be reported.

Run as `python3 patterns.py NAME DIR` under libmuppy.so: the program does
ROUNDS rounds of its work and writes a dump after each (muppy.dump), so
DIR ends up with dump.1 .. dump.ROUNDS.  zoo.py runs `muppy leaks` on them
and checks the answer against the pattern's expectations (EXPECT).

Every round of every pattern also does the same churn (churn() below): a
full bounded deque, a cache with fixed keys whose values are replaced, a
global rebound each round, temporaries, and the frame of the code running
at dump time holding objects of this round.  None of that is a leak.

A pattern is a function taking the round number; its EXPECT entry says
what the first line of `leaks` must show: a piece of the holder's path,
the held objects' type (the end of its name) and how many are leaked per
round (the answer counts the rounds after the first dump); or, for a
pattern that is churn only, that nothing is reported at all.
"""
import atexit
import collections
import copyreg
import functools
import gc
import logging
import sys
import threading
import types
import weakref

N = 300          # objects leaked per round
ROUNDS = 4

EXPECT = {}      # name -> (holder piece, type suffix, per round, also)


def pattern(holder, type_suffix, per_round=N, also=()):
    """holder None: not a leak, nothing may be reported.  also: pieces of
    other holders that are true leaks too (a second list the same calls
    fill), whose lines are not false."""
    def deco(fn):
        EXPECT[fn.__name__] = (holder, type_suffix, per_round, also)
        PATTERNS[fn.__name__] = fn
        return fn
    return deco


PATTERNS = {}


class Item:
    def __init__(self, i):
        self.i = i
        self.payload = [i, i + 1]


class Session:
    def __init__(self, i):
        self.i = i

    def ping(self):
        return self.i


# ---- churn: never a leak -------------------------------------------------

_recent = collections.deque(maxlen=64)   # full and steady
_by_slot = {}                            # fixed keys, values replaced
_current = None                          # rebound each round


class Churn:
    def __init__(self, i):
        self.i = i
        self.data = {"k": i}


def churn(r):
    global _current
    for i in range(500):
        _recent.append(Churn(i))
    for k in range(32):
        _by_slot[k] = Churn(k)
    _current = [Churn(i) for i in range(50)]
    tmp = [Churn(i) for i in range(100)]    # freed
    del tmp
    return [Churn(i) for i in range(20)]    # alive in the caller's frame


# ---- the patterns --------------------------------------------------------

_registry = []


@pattern("_registry", "Item")
def global_list(r):
    for i in range(N):
        _registry.append(Item(i))


_by_id = {}


@pattern("_by_id", "Item")
def dict_by_id(r):
    for i in range(N):
        o = Item(i)
        _by_id[id(o)] = o


_by_tuple = {}


@pattern("_by_tuple", "Item")
def dict_by_tuple(r):
    for i in range(N):
        _by_tuple[(r, i, "x")] = Item(i)


class Bus:
    def __init__(self):
        self.listeners = {}
        self.plain = []


bus = Bus()


@pattern("bus.plain", "method")
def bound_callbacks(r):
    for i in range(N):
        bus.plain.append(Session(i).ping)


@pattern("bus.listeners", "method")
def container_born_late(r):
    # The list under 'tick' is made in the first round after dump 1.
    for i in range(N):
        bus.listeners.setdefault("tick-late", []).append(Session(i).ping)


class Registry:
    items = []


@pattern("Registry.items", "Item")
def class_attribute(r):
    for i in range(N):
        Registry.items.append(Item(i))


class Service:
    @functools.lru_cache(maxsize=None)
    def lookup(self, key):
        return Item(key)


_service = Service()


@pattern("lookup", "Item")
def lru_cache_method(r):
    for i in range(N):
        _service.lookup(r * N + i)


import concurrent.futures  # noqa: E402  (its LOGGER also reaches loggerDict)


@pattern("sys.modules['logging']", "Logger")
def loggers(r):
    for i in range(N):
        logging.getLogger("zoo.request.%d.%d" % (r, i))


_errors = []


@pattern("_errors", "ValueError")
def stored_exceptions(r):
    for i in range(N):
        try:
            raise ValueError(i)
        except ValueError as e:
            _errors.append(e)


_handlers = []


@pattern("_handlers", "function")
def closures(r):
    for i in range(N):
        obj = Item(i)
        _handlers.append(lambda obj=obj: obj.i)


class Node:
    def __init__(self, parent):
        self.parent = parent
        self.children = []
        if parent is not None:
            parent.children.append(self)


_trees = []


@pattern("_trees", "Node", N // 3)
def cycles(r):
    for i in range(N // 3):
        root = Node(None)
        Node(root)
        Node(root)
        _trees.append(root)


_worker_go = threading.Event()
_worker_done = threading.Event()
_worker_rounds = []


def _worker():
    mine = []                      # a thread frame's local
    while True:
        _worker_go.wait()
        _worker_go.clear()
        for i in range(N):
            mine.append(Item(i))
        _worker_done.set()


@pattern("thread", "Item")
def thread_frame(r):
    if not _worker_rounds:
        threading.Thread(target=_worker, daemon=True).start()
    _worker_rounds.append(r)
    _worker_go.set()
    _worker_done.wait()
    _worker_done.clear()


_local = threading.local()


@pattern("", "Item")
def thread_local(r):
    if not hasattr(_local, "items"):
        _local.items = []
    for i in range(N):
        _local.items.append(Item(i))


class Blob:
    pass


def _noop(*args):
    pass


@pattern("sys.modules['weakref'].finalize._registry", "_Info")
def weakref_finalize(r):
    for i in range(N):
        weakref.finalize(Blob, _noop, Item(i))


_queue = collections.deque()


@pattern("_queue", "Item")
def unbounded_deque(r):
    for i in range(N):
        _queue.append(Item(i))


_gens = []


def _counter(i):
    yield i
    yield i + 1


@pattern("_gens", "generator")
def generator_frames(r):
    for i in range(N):
        g = _counter(i)
        next(g)
        _gens.append(g)


def _reduce(o):
    return (object, ())


@pattern("dispatch_table", "type", N // 10)
def copyreg_classes(r):
    for i in range(N // 10):
        cls = type("Dyn%d_%d" % (r, i), (), {})
        copyreg.pickle(cls, _reduce)


@pattern("sys.modules", "module", N // 10)
def dynamic_modules(r):
    for i in range(N // 10):
        name = "zoo_dyn_%d_%d" % (r, i)
        sys.modules[name] = types.ModuleType(name)


@pattern("", "method")
def atexit_callbacks(r):
    for i in range(N):
        atexit.register(Session(i).ping)


class Hook:
    def __init__(self, i):
        self.i = i

    def __call__(self, event, args):
        pass


@pattern("", "Hook", N // 10)
def audit_hooks(r):
    for i in range(N // 10):
        sys.addaudithook(Hook(i))


_partials = []


@pattern("_partials", "partial")
def partials(r):
    for i in range(N):
        _partials.append(functools.partial(_noop, Item(i)))


class Key:
    def __init__(self, i):
        self.i = i


_by_object = {}


@pattern("_by_object", "Item")
def dict_object_keys(r):
    for i in range(N):
        _by_object[Key(i)] = Item(i)


_seen = set()


@pattern("_seen", "Key")
def set_members(r):
    for i in range(N):
        _seen.add(Key(i))


_events = collections.defaultdict(list)
_events["tick"]


@pattern("_events", "Item")
def defaultdict_lists(r):
    for i in range(N):
        _events["tick"].append(Item(i))


class History:
    def __init__(self):
        self.events = []


class App:
    def __init__(self):
        self.sessions = {"alice": History()}


app = App()


@pattern("app.sessions", "Item")
def nested_attributes(r):
    for i in range(N):
        app.sessions["alice"].events.append(Item(i))


class Slotted:
    __slots__ = ("log",)

    def __init__(self):
        self.log = []


_slotted = Slotted()


@pattern("_slotted", "Item")
def slots(r):
    for i in range(N):
        _slotted.log.append(Item(i))


def _memo(x, _cache={}):
    _cache[x] = Item(x)


@pattern("_memo", "Item")
def default_argument_cache(r):
    for i in range(N):
        _memo(r * N + i)


class Plugin:
    registry = []

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        Plugin.registry.append(cls)


@pattern("Plugin.registry", "type", N // 10)
def dynamic_subclasses(r):
    for i in range(N // 10):
        type("P%d_%d" % (r, i), (Plugin,), {})


_threads = []


@pattern("_threads", "Thread", N // 10)
def unstarted_threads(r):
    for i in range(N // 10):
        _threads.append(threading.Thread(target=_noop))


_frames = []


def _finished():
    return sys._getframe()      # the frame of a call that has returned


@pattern("_frames", "frame", N // 10)
def stored_frames(r):
    for i in range(N // 10):
        _frames.append(_finished())


_bytes = []


@pattern("_bytes", "bytes")
def byte_strings(r):
    for i in range(N):
        _bytes.append(b"x" * (100 + i))


import asyncio           # noqa: E402
import ctypes            # noqa: E402
import logging.handlers  # noqa: E402
import queue             # noqa: E402
import unittest.mock     # noqa: E402

_loop = asyncio.new_event_loop()
_tasks = set()


async def _spawn():
    for i in range(N // 10):
        _tasks.add(asyncio.ensure_future(asyncio.sleep(3600, Item(i))))
    await asyncio.sleep(0)


@pattern("_tasks", "Task", N // 10, also=("_scheduled",))
def asyncio_tasks(r):
    _loop.run_until_complete(_spawn())


_buffer_log = logging.getLogger("zoo.buffered")
_buffer_log.propagate = False
_buffer_log.addHandler(logging.handlers.MemoryHandler(capacity=10 ** 9))


@pattern("buffer", "LogRecord", N // 10)
def log_records_buffered(r):
    for i in range(N // 10):
        try:
            raise KeyError(i)
        except KeyError:
            _buffer_log.exception("failed %d", i)


_mock = unittest.mock.Mock()


@pattern("_mock", "_Call", N // 10, also=("_mock",))
def mock_call_history(r):
    for i in range(N // 10):
        _mock(Item(i))


class _Owner:
    def __init__(self, i):
        self.i = i


_wkd = weakref.WeakKeyDictionary()


@pattern("_wkd", "Item", N // 10)
def weak_keys_held_by_values(r):
    for i in range(N // 10):
        k = _Owner(i)
        v = Item(i)
        v.owner = k            # the value keeps its weak key alive
        _wkd[k] = v


_od = collections.OrderedDict()


@pattern("_od", "Item")
def ordered_dict_lru_without_eviction(r):
    for i in range(N):
        _od[(r, i)] = Item(i)
        _od.move_to_end((r, i))


_q = queue.Queue()


@pattern("_q", "Item")
def queue_never_consumed(r):
    for i in range(N):
        _q.put(Item(i))


@pattern("_pointer_type_cache", "", N // 10)
def ctypes_pointer_types(r):
    for i in range(N // 10):
        cls = type("S%d_%d" % (r, i), (ctypes.Structure,),
                   {"_fields_": [("x", ctypes.c_int)]})
        ctypes.POINTER(cls)


_seen_weak = weakref.WeakSet()


@pattern(None, None, 0)
def weakset_of_dead_objects(r):
    # Not a leak: the WeakSet forgets what dies.
    for i in range(N):
        _seen_weak.add(Item(i))


_bounded = functools.lru_cache(maxsize=128)(lambda k: Item(k))


@pattern(None, None, 0)
def bounded_lru_cache_full(r):
    for i in range(N):
        _bounded(r * N + i)


_buffer = bytearray()


@pattern("_buffer", "bytearray", 0.5)
def one_buffer_growing(r):
    # Nothing new is born: one object grows (design note 9 of cmd_leaks.c).
    _buffer.extend(b"x" * 20000)


_samples = []


@pattern("_samples", "list", 0.5)
def list_of_small_ints(r):
    for i in range(N):
        _samples.append(i % 7)    # cached small ints: nothing is born


class _Late:
    fixed = None


class Bag(list):
    """A list of a type no earlier dump has: its address cannot pass for
    an old object's (a plain list may reuse one from the free list, and
    then its items read as the heads)."""


_late = _Late()


@pattern(None, None)
def container_born_late_then_fixed(r):
    # A container made after dump 1, filled once and left alone: not a
    # leak (one head born once: cmd_leaks.c design note 7).
    if r == 2:
        _late.fixed = Bag(Item(i) for i in range(N))


# ---- running one ---------------------------------------------------------

def main(argv):
    import muppy  # the shim's built-in module
    name, out = argv[1], argv[2]
    fn = PATTERNS[name]
    keep = None
    for r in range(1, ROUNDS + 1):
        fn(r)
        keep = churn(r)          # this round's objects, alive at dump time
        gc.collect()
        muppy.dump("%s/dump.%d" % (out, r))
    del keep
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
