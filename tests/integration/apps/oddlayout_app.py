"""oddlayout_app.py - keeps objects of tests/integration/apps/oddlayout.c's
types (whose layouts lie to anyone who reads them as CPython's own
classes are read), writes what a walker should find into expect.json, and
with --dump asks the shim for one (SIGUSR1), waiting until it is there.

Run from the directory that holds the built oddlayout module.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.getcwd())
import oddlayout  # noqa: E402


class Sub(oddlayout.Liar):
    def __init__(self, held, tag):
        super().__init__(held)
        self.tag = tag


keep = []
expect = {"held": [], "attr": [], "items": [], "sizes": {}}
for i in range(200):
    payload = [i]
    liar = oddlayout.Liar(payload)
    sub = Sub([i, i], "t%d" % i)
    var = oddlayout.var(payload, liar, str(i))
    keep += [liar, sub, var, oddlayout.far([i]), oddlayout.odd((i, i))]
    if i % 20 == 0:
        expect["held"].append([hex(id(liar)), hex(id(payload))])
        expect["held"].append([hex(id(sub)), hex(id(sub.held))])
        expect["attr"].append([hex(id(sub)), hex(id(sub.tag))])
        expect["items"].append([hex(id(var)), hex(id(liar))])
        for o in keep[-5:]:
            expect["sizes"][hex(id(o))] = [type(o).__name__, sys.getsizeof(o)]
with open("expect.json", "w") as f:
    json.dump(expect, f)
# CPython itself copes with every one of them (the lie is never read).
print(len(keep), sum(len(o.held) for o in keep[::5]), keep[3].value,
      keep[4].value)
sys.stdout.flush()
if "--dump" not in sys.argv:
    sys.exit(0)
pid = os.getpid()
os.kill(pid, signal.SIGUSR1)
end = time.time() + 60
while not any(n.startswith("muppy.%d." % pid) and n.endswith(".dump")
              for n in os.listdir(".")) and time.time() < end:
    time.sleep(0.01)
