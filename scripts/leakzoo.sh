#!/bin/sh
# scripts/leakzoo.sh - the leak zoo (tests/leakzoo) on every interpreter
# present, for docs/benchmarks.md's "Leak zoo" table: one line per pattern
# and interpreter, the score, `leakzoo: N passed, N failed`.  About six
# minutes on 2 cores; tests/run.sh runs two interpreters of it.
set -e
cd "$(dirname "$0")/.."
bazel build //tools:muppy //shim:libmuppy.so
exec python3 tests/leakzoo/zoo.py --muppy bazel-bin/tools/muppy \
    --shim bazel-bin/shim/libmuppy.so "$@"
