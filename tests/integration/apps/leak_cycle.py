"""leak_cycle.py - reference cycles of __del__-free objects held by a
module global: each round a parent Session and its children point at each
other (parent.children[i] and child.parent) and the parent is appended to
the module-global list `sessions`.  gc.collect() runs every round: the
cycles are held, not garbage.  Culprit: sys.modules['__main__'].sessions[*].

    python3 leak_cycle.py [ROUNDS]
"""
import gc
import sys

from leak_common import report, rounds, snapshot


class Session:
    def __init__(self, parent=None):
        self.parent = parent
        self.children = []
        self.buffer = bytearray(512)


sessions = []


def open_session():
    s = Session()
    for _ in range(3):
        s.children.append(Session(parent=s))   # the cycle
    sessions.append(s)                          # the leak
    return s


snapshot()
for r in range(rounds(sys.argv)):
    for i in range(20):
        last = open_session()
    report("session", last)
    del last
    gc.collect()
    snapshot()
