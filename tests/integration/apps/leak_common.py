"""leak_common.py - what the leak_*.py apps share (tests/integration).

Each app builds its leak in rounds.  `snapshot()` asks libmuppy.so for a
dump (the shim dumps on SIGUSR1 from its own thread) and gives it time to
land; `report(name, obj)` prints `LEAK name 0xADDR` so the test knows one
leaked object's address.  The first snapshot is taken before any round:
the baseline the leak is measured against.
"""
import os
import signal
import time


def snapshot():
    os.kill(os.getpid(), signal.SIGUSR1)
    time.sleep(0.3)


def report(name, obj):
    print("LEAK %s 0x%x" % (name, id(obj)), flush=True)


def rounds(argv, default=3):
    return int(argv[1]) if len(argv) > 1 else default
