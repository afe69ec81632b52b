"""leak_closure.py - a closure capturing a large object: each round makes
a handler function whose closure holds a 100 KB bytearray ('data') and
appends it to a module-global list that is never trimmed.  Culprit:
sys.modules['__main__'].handlers[*], the bytearray reached through the
handler's cell 'data'.

    python3 leak_closure.py [ROUNDS]
"""
import sys

from leak_common import report, rounds, snapshot

handlers = []


def make_handler(data):
    def handler():
        return len(data)
    return handler


snapshot()
for r in range(rounds(sys.argv)):
    big = bytearray(100000)
    handlers.append(make_handler(big))   # the leak
    report("data", big)
    del big
    snapshot()
