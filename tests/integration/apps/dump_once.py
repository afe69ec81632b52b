"""dump_once.py - the smallest app that dumps itself under libmuppy.so:
sends itself the dump signal (MUPPY_SIGNAL, default SIGUSR1), waits until
$MUPPY_DIR/muppy.<pid>.<seq>.dump exists (seq: argv[1], default 1), prints
`dump PATH` and exits.  Run it with MUPPY_AT_EXIT=0 for exactly one dump.
Exit status 3 if the dump does not appear within 60 s."""
import os
import signal
import sys
import time


def main():
    seq = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    name = os.environ.get("MUPPY_SIGNAL", "USR1")
    sig = int(name) if name.isdigit() else getattr(
        signal, name if name.startswith("SIG") else "SIG" + name)
    path = os.path.join(os.environ["MUPPY_DIR"],
                        "muppy.%d.%d.dump" % (os.getpid(), seq))
    os.kill(os.getpid(), sig)
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.stderr.write("dump_once: no %s after 60 s\n" % path)
            return 3
        time.sleep(0.005)
    print("dump %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
