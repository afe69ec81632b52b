"""leak_callbacks.py - callbacks registered in a global registry and never
removed: every request registers its bound method `on_done` with the
module-global event bus, which keeps the request (and its 2 KB payload)
alive.  Culprit: sys.modules['__main__'].bus.handlers['done'][*].

    python3 leak_callbacks.py [ROUNDS]

Per round: 100 requests, some scratch garbage that dies, a snapshot.
"""
import sys

from leak_common import report, rounds, snapshot


class EventBus:
    def __init__(self):
        self.handlers = {}

    def register(self, event, callback):
        self.handlers.setdefault(event, []).append(callback)


class Request:
    def __init__(self, n):
        self.n = n
        self.payload = bytearray(2000)

    def on_done(self, *args):
        return self.n


def startup_hook(*args):
    return None


bus = EventBus()
bus.register("done", startup_hook)   # the list exists before the baseline


def serve(n):
    req = Request(n)
    bus.register("done", req.on_done)              # the leak
    scratch = [bytearray(100) for _ in range(20)]  # temporary: freed
    return req, len(scratch)


snapshot()
for r in range(rounds(sys.argv)):
    for i in range(100):
        last, _ = serve(r * 100 + i)
    report("request", last)
    del last
    snapshot()
