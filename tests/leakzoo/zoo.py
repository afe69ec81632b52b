#!/usr/bin/env python3
"""zoo.py - runs the leak zoo (patterns.py) and scores `muppy leaks` on it.

    zoo.py --muppy M --shim S [--python P]... [-k NAME]... [--show]

For every pattern and interpreter: the pattern runs under the shim and
writes one dump per round; `muppy leaks --format json` reads them.  A
pattern passes when the first group names the holder (its pattern holds
the expected piece), holds objects of the expected type, counts the
objects leaked since the first dump (at least two rounds' worth, at most
all three), and no other group is reported (a false line).  Prints one
line per pattern and interpreter, the score, and last
`leakzoo: N passed, N failed`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import common    # noqa: E402  (tests/integration/common.py)
import patterns  # noqa: E402


def run_pattern(py, shim, muppy, name, work):
    out = os.path.join(work, name)
    os.makedirs(out)
    env = dict(os.environ, LD_PRELOAD=shim, MUPPY_DIR=out,
               MUPPY_AT_EXIT="0")
    p = subprocess.run([py, os.path.join(HERE, "patterns.py"), name, out],
                       env=env, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None, "pattern failed (%d): %s" % (p.returncode,
                                                  p.stderr.strip()[-300:])
    dumps = [os.path.join(out, "dump.%d" % r)
             for r in range(1, patterns.ROUNDS + 1)]
    q = subprocess.run([muppy, "leaks", "--format", "json"] + dumps,
                       capture_output=True, text=True, timeout=300)
    if q.returncode != 0:
        return None, "muppy leaks failed (%d): %s" % (q.returncode,
                                                      q.stderr.strip())
    return json.loads(q.stdout), None


def judge(name, groups):
    holder, type_suffix, per_round, also = patterns.EXPECT[name]
    rounds = patterns.ROUNDS - 1
    if holder is None:
        if not groups:
            return True, "nothing reported (churn only)"
        return False, "%d false line(s), first: %s %d %s" % (
            len(groups), groups[0]["pattern"], groups[0]["count"],
            groups[0]["type"])
    if not groups:
        return False, "nothing reported"
    g = groups[0]
    why = []
    if holder not in g["pattern"]:
        why.append("first line held by %r, not %r" % (g["pattern"], holder))
    if not g["type"].split(".")[-1].startswith(type_suffix):
        why.append("type %r, not %r" % (g["type"], type_suffix))
    lo, hi = per_round * (rounds - 1), per_round * rounds * 1.05
    if not lo <= g["count"] <= hi:
        why.append("count %d, not %g..%g" % (g["count"], lo, hi))
    false = [x for x in groups[1:]
             if not any(a in x["pattern"] for a in also)]
    if false:
        why.append("%d false line(s), first: %s %d %s" % (
            len(false), false[0]["pattern"], false[0]["count"],
            false[0]["type"]))
    return not why, "; ".join(why) or "%s %d %s" % (g["pattern"],
                                                    g["count"], g["type"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--muppy", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--python", action="append", default=[])
    ap.add_argument("-k", dest="only", action="append", default=[])
    ap.add_argument("--keep", metavar="DIR",
                    help="write the dumps under DIR and keep them")
    ap.add_argument("--show", action="store_true",
                    help="print every group of a failing pattern")
    a = ap.parse_args()
    pythons = a.python or [i.path for i in common.interpreters()]
    names = [n for n in patterns.PATTERNS
             if not a.only or any(k in n for k in a.only)]
    passed = failed = first_ok = false_lines = 0
    with tempfile.TemporaryDirectory(prefix="leakzoo.") as tmp:
        work = a.keep or tmp
        for py in pythons:
            for name in names:
                sub = os.path.join(work, str(abs(hash(py))))
                os.makedirs(sub, exist_ok=True)
                groups, err = run_pattern(py, a.shim, a.muppy, name, sub)
                if err:
                    ok, text = False, err
                else:
                    ok, text = judge(name, groups)
                    holder, _, _, also = patterns.EXPECT[name]
                    if holder is None:
                        first_ok += not groups
                        false_lines += len(groups)
                    else:
                        first_ok += bool(groups) and \
                            holder in groups[0]["pattern"]
                        false_lines += len([
                            x for x in groups[1:]
                            if not any(a in x["pattern"] for a in also)])
                passed += ok
                failed += not ok
                print("%-4s %-26s %s: %s" % ("ok" if ok else "FAIL", name,
                                             py, text), flush=True)
                if not ok and a.show and groups:
                    for g in groups[:8]:
                        print("       %s  %d  %s  %s" % (
                            g["pattern"], g["count"], g["type"],
                            g["example"]))
    total = passed + failed
    print("leakzoo score: holder first (or, for churn, nothing) in %d/%d, "
          "%d false line(s)"
          % (first_ok, total, false_lines))
    print("leakzoo: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
