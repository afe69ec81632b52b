"""heap_app.py - the benchmark's profiled program: builds a synthetic heap
of about N objects and measures one thing on it, printing one JSON line.
Run by bench/bench.py under each interpreter (Python 3.8+, stdlib only).

    python3 heap_app.py --objects N --measure baselines|shim|tracemalloc|idle

The heap is N/10 "records", each about ten objects of a realistic mix: a
class instance with four attributes (and its __dict__ where the
interpreter materializes one), a large int, a str, a float, a list, a
small dict, and a closure (function, its cell, the closure tuple).

  baselines    gc.get_objects() alone (median of 3: the floor), and the
               seed's algorithm in pure Python (Pympler's muppy.get_objects
               + summary.summarize: gc.get_objects, referents of each,
               type name, sys.getsizeof, summarized by type; no
               gc.collect, which the shim does not do either)
  shim         under libmuppy.so (MUPPY_* set by the caller): two dumps
               triggered by the dump signal, 1% of new records leaked in
               between; per dump the wall time from the signal to the file,
               META read back by the caller; peak RSS during the dump
               (VmHWM after resetting it) and the reaped children's peak
  tracemalloc  tracemalloc started before the heap is built, then the time
               of tracemalloc.take_snapshot()
  idle         no heap: a CPU-bound loop for --seconds, reporting its wall
               and CPU time (for the idle-overhead comparison)
"""
import argparse
import gc
import json
import os
import resource
import signal
import sys
import time


class Record:
    """An instance with attributes (the most common leak)."""

    def __init__(self, i, name, score, tags):
        self.ident = i
        self.name = name
        self.score = score
        self.tags = tags


def make_closure(value):
    def get():
        return value
    return get


def build(n_objects):
    records = []
    for i in range(max(1, n_objects // 10)):
        big = 10 ** 6 + i                     # int, not a cached small one
        name = "record-%d" % i                # str
        rec = Record(big, name, i * 0.25,     # float
                     [big, name])             # list
        rec.meta = {"k": i & 7, "n": name}    # dict
        rec.cb = make_closure(big)            # function + cell + tuple
        records.append(rec)
    return records


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def pympler_name(o):
    """Pympler's row name: str(type) without <class '...'>, functions by
    name (summary._repr's special cases, minus frames and modules)."""
    t = type(o)
    r = type.__repr__(t)
    name = r[8:-2] if r.startswith("<class '") else r
    if name == "function":
        return "function (%s)" % o.__name__
    return name


def seed_summary():
    """Pympler's muppy.get_objects() + summary.summarize(), in Python."""
    objs = gc.get_objects()
    seen = set(map(id, objs))
    extra = []
    for o in objs:
        for r in gc.get_referents(o):
            if not gc.is_tracked(r) and id(r) not in seen:
                seen.add(id(r))
                extra.append(r)
    rows = {}
    for o in objs + extra:
        k = pympler_name(o)
        row = rows.get(k)
        size = sys.getsizeof(o)
        if row is None:
            rows[k] = [1, size]
        else:
            row[0] += 1
            row[1] += size
    return len(objs) + len(extra), len(rows)


def timed(fn, repeat=1):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], r


def measure_baselines(n, heap):
    t_floor, objs = timed(lambda: len(gc.get_objects()), 3)
    t_seed, (seen, rows) = timed(seed_summary, 1)
    return {"gc_get_objects_s": t_floor, "gc_objects": objs,
            "seed_s": t_seed, "seed_objects": seen, "seed_rows": rows}


def wait_dump(path, limit=600):
    end = time.time() + limit
    while not os.path.exists(path):
        if time.time() > end:
            raise SystemExit("no dump %s after %d s" % (path, limit))
        time.sleep(0.0005)


def no_children(limit=600):
    """Waits until this process has no child left (the shim reaped its
    snapshot child); so RUSAGE_CHILDREN covers it."""
    me = str(os.getpid())
    end = time.time() + limit
    while time.time() < end:
        busy = False
        for tid in os.listdir("/proc/self/task"):
            try:
                with open("/proc/self/task/%s/children" % tid) as f:
                    busy |= bool(f.read().split())
            except OSError:
                pass
        if not busy:
            return
        time.sleep(0.005)


def measure_shim(n, heap):
    pid = os.getpid()
    d = os.environ.get("MUPPY_DIR", ".")
    out = {"dumps": [], "rss_kb": status_kb("VmRSS")}
    for seq in (1, 2):
        if seq == 2:   # a 1% leak between the dumps, for diff and leaks
            heap.extend(build(max(10, n // 100)))
        hwm_ok = reset_hwm()
        rss0 = status_kb("VmRSS")
        t0 = time.perf_counter()
        os.kill(pid, signal.SIGUSR1)
        path = os.path.join(d, "muppy.%d.%d.dump" % (pid, seq))
        wait_dump(path)
        e2e = time.perf_counter() - t0
        no_children()
        out["dumps"].append({
            "path": path, "e2e_s": e2e, "rss_before_kb": rss0,
            "hwm_kb": status_kb("VmHWM") if hwm_ok else None,
            "children_maxrss_kb":
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss})
    out["target_old"] = id(heap[len(heap) // 3])
    out["target_new"] = id(heap[-1])
    return out


def measure_tracemalloc(n):
    import tracemalloc
    tracemalloc.start()
    heap = build(n)
    t, snap = timed(tracemalloc.take_snapshot, 1)
    return {"take_snapshot_s": t, "traces": len(snap.traces),
            "heap": len(heap)}


def measure_idle(seconds, iterations):
    """A CPU-bound pure-Python loop of fixed work; returns its times."""
    def work(k):
        acc = 0
        d = {}
        for i in range(k):
            acc += i * i % 7
            d[i & 1023] = acc
        return acc
    k = iterations
    if not k:   # calibrate to about `seconds` (the caller then fixes k)
        t0 = time.perf_counter()
        work(200000)
        k = int(seconds / ((time.perf_counter() - t0) / 200000))
    c0, w0 = time.process_time(), time.perf_counter()
    work(k)
    return {"wall_s": time.perf_counter() - w0,
            "cpu_s": time.process_time() - c0, "iterations": k}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--objects", type=int, default=100000)
    p.add_argument("--measure", required=True,
                   choices=("baselines", "shim", "tracemalloc", "idle"))
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--iterations", type=int, default=0)
    a = p.parse_args()
    res = {"python": sys.version.split()[0], "pid": os.getpid()}
    if a.measure == "idle":
        res.update(measure_idle(a.seconds, a.iterations))
    elif a.measure == "tracemalloc":
        res.update(measure_tracemalloc(a.objects))
    else:
        t, heap = timed(lambda: build(a.objects), 1)
        res["build_s"] = t
        res["gc_tracked"] = len(gc.get_objects())
        if a.measure == "baselines":
            res.update(measure_baselines(a.objects, heap))
        else:
            res.update(measure_shim(a.objects, heap))
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
