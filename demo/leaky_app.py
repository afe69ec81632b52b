#!/usr/bin/env python3
"""leaky_app.py - a small "web service" with two classic leaks, for the demo.

scripts/demo.sh runs it under `muppy run` and takes a heap dump after each
round of requests. Each round serves REQUESTS requests; handling one:

  * builds a Request (headers dict, body bytes, a Response) and a few
    temporary objects that are freed again (no leak: they must NOT grow);
  * LEAK 1: stores the Request in the module-level _cache, keyed by its id,
    "to answer retries" -- nothing ever evicts it;
  * LEAK 2: registers an on_done callback (a closure holding the Request)
    in the module-level _listeners list and never unregisters it.

So between two dumps `Request`, `Response`, `dict`, `bytes` and `function
(on_done)` grow by REQUESTS each round, and the referrers of a leaked Request
lead back to the module globals _cache and _listeners.

Control (so the demo's dumps land at known points, without timing races):
after round N the app writes the file <control>/ready.N, then waits until
<control>/go.N exists (the demo signals it with SIGUSR1 in between, waits for
the dump, then creates go.N). It writes its pid to <control>/pid first.
Without --control it just runs the rounds.
"""
import argparse
import os
import sys
import time

REQUESTS = 2000

_cache = {}       # LEAK 1: request id -> Request, never evicted
_listeners = []   # LEAK 2: callbacks registered per request, never removed


class Response:
    def __init__(self, status, body):
        self.status = status
        self.body = body


class Request:
    def __init__(self, rid, path, body):
        self.rid = rid
        self.path = path
        self.headers = {"host": "example.org", "x-request-id": str(rid)}
        self.body = body
        self.response = None


def handle(rid):
    """Serves one request; leaks it twice over (see the module doc)."""
    req = Request(rid, "/items/%d" % (rid % 97), b"x" * 64 + str(rid).encode())
    words = req.path.split("/")            # temporary: freed on return
    req.response = Response(200, b"ok:" + words[-1].encode())
    _cache[rid] = req                      # LEAK 1

    def on_done():
        return req.response.status

    _listeners.append(on_done)             # LEAK 2
    return req.response.status


def serve_round(number):
    first = (number - 1) * REQUESTS
    for rid in range(first, first + REQUESTS):
        handle(rid)


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def wait_for(path, timeout):
    """True once path exists; False after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--control", help="directory for the pid/ready/go files")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds to wait for go.N before giving up")
    args = ap.parse_args()

    if args.control:
        write_atomically(os.path.join(args.control, "pid"), "%d\n" % os.getpid())
    for number in range(1, args.rounds + 1):
        serve_round(number)
        print("leaky_app: round %d: %d requests cached, %d listeners"
              % (number, len(_cache), len(_listeners)), flush=True)
        if args.control:
            write_atomically(os.path.join(args.control, "ready.%d" % number), "")
            if not wait_for(os.path.join(args.control, "go.%d" % number), args.timeout):
                print("leaky_app: no go.%d after %gs, stopping" % (number, args.timeout),
                      file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
