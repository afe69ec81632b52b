"""leak_cache.py - a cache keyed by request that nothing ever evicts: each
request id gets a rendered page (a list of strings) stored under a new key
'req-N' of a module-global dict.  Culprit:
sys.modules['__main__']._page_cache['*'] (values) and its keys.

    python3 leak_cache.py [ROUNDS]
"""
import sys

from leak_common import report, rounds, snapshot

_page_cache = {"req-warmup": ["warm"]}


def render(req_id):
    return ["<p>row %d of request %d</p>" % (i, req_id) for i in range(10)]


def handle(req_id):
    key = "req-%d" % req_id
    page = _page_cache.get(key)
    if page is None:
        page = _page_cache[key] = render(req_id)   # the leak
    tmp = {"id": req_id, "body": "".join(page)}    # temporary: freed
    return page, len(tmp)


snapshot()
for r in range(rounds(sys.argv)):
    for i in range(50):
        last, _ = handle(1000 * r + i)
    report("page", last)
    del last
    snapshot()
