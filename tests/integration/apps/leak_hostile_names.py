"""leak_hostile_names.py - a leak whose names are HTML: the leaked class
is named `</script><b id="evil">x</b>` and its registry lives in a module
named `<img src=x onerror=alert(1)>`.  A report that pastes dump text into
its page unescaped runs that script or ends its own script element early.

    python3 leak_hostile_names.py [ROUNDS]
"""
import sys
import types

from leak_common import rounds, snapshot

Evil = type('</script><b id="evil">x</b>', (), {})
NAME = "<img src=x onerror=alert(1)>"
sys.modules[NAME] = types.ModuleType(NAME)
sys.modules[NAME].registry = {}


def serve(n):
    sys.modules[NAME].registry["<k%d>" % n] = Evil()


snapshot()
for r in range(rounds(sys.argv)):
    for i in range(200):
        serve(r * 200 + i)
    snapshot()
print("done", flush=True)
