#!/usr/bin/env bash
# cpython-suite.sh - CPython's own regression tests (the files issue 10
# names, tests/cpython_slice.py's full set) on every supported interpreter
# present, with and without libmuppy.so, compared file by file; writes the
# figures into docs/benchmarks.md (a block bench/run.sh keeps).  About 25
# minutes on 2 cores.  tests/run.sh runs a shorter slice on two of them.
#
#   scripts/cpython-suite.sh [cpython_slice.py options, e.g. --python P]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/install-deps.sh
bazel build --show_progress_rate_limit=30 //tools:muppy //shim:libmuppy.so
exec python3 tests/cpython_slice.py --shim bazel-bin/shim/libmuppy.so \
    --muppy bazel-bin/tools/muppy --set full --docs docs/benchmarks.md "$@"
