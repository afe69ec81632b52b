#!/usr/bin/env bash
# run.sh - muppy's test command (README's second command; CI runs it through
# .ci/run). On a fresh Debian 12 machine it:
#
#   1. installs what is missing (scripts/install-deps.sh);
#   2. builds everything: bazel build //...
#   3. runs the GoogleTest unit tests (bazel test //tests/...), then the same
#      tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (--config=asan; their own outputs, bazel-asan-*, so bazel-bin keeps
#      the optimised build);
#   4. runs the walker's ground-truth checks (tests/walk/walk_check.py with
#      //tests/walk:walk_driver.so, under every supported interpreter present)
#      and the integration tests, real interpreters
#      under the shim (tests/integration/run.py);
#   5. runs a slice of CPython's own regression suite with and without the
#      shim, comparing each file's results (tests/cpython_slice.py);
#   6. runs the libFuzzer targets of the dump reader and every analysis
#      command for a minute (tests/fuzz/run.sh, clang);
#   7. counts test cases (tests/tally.py) and ends with the line
#      `tests: N passed, N failed`.
#
# Every step runs even when an earlier one failed, so the count shows the
# whole state; the exit status is non-zero if anything failed or did not
# build. Bazel's own per-test logs: bazel-testlogs/, bazel-asan-testlogs/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# Bazel reports on stderr and tests print on stdout: one stream keeps the
# order readable when CI captures them separately.
exec 2>&1

section() { printf '\n== %s\n' "$*"; }

section "dependencies (scripts/install-deps.sh)"
if ! ./scripts/install-deps.sh; then
    echo "run.sh: error: could not install the build dependencies"
    echo "tests: 0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/muppy-tests.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failed=()

# Progress at most every 30 s keeps CI logs short; errors are shown in full.
BAZEL_FLAGS=(--show_progress_rate_limit=30)

section "build: bazel build //..."
if ! bazel build "${BAZEL_FLAGS[@]}" //...; then
    failed+=(--failed "bazel build //... (see the errors above)")
fi

section "unit tests: bazel test //tests/..."
bazel test "${BAZEL_FLAGS[@]}" --build_event_json_file="$work/unit.json" //tests/...

section "unit tests under ASan+UBSan: bazel test --config=asan //tests/..."
bazel test --config=asan "${BAZEL_FLAGS[@]}" --build_event_json_file="$work/asan.json" //tests/...

# True if these targets are built and up to date (after a failed build an
# old binary may still sit in bazel-bin; this asks Bazel, quietly: cached).
up_to_date() { bazel build "$@" >/dev/null 2>&1; }

# "--python P --python Q": one 3.11 (Debian's, else pyenv's) and the
# newest interpreter present, for the runners too slow for all seven.
two_pythons() {
    python3 -c 'import sys; sys.path.insert(0, "tests/integration")
import common
found = common.interpreters()
py311 = [i for i in found if i.version_info == (3, 11)]
pick = py311[:1] + [i for i in found[-1:] if i not in py311[:1]]
print(" ".join("--python " + i.path for i in pick))'
}

# Runners that count their own cases: (name log status) triples for tally.py.
counted=()

if [ -f tests/walk/walk_check.py ]; then
    section "walker checks: tests/walk/walk_check.py (the heap walk against Python's own view)"
    if up_to_date //tests/walk:walk_driver.so; then
        # Every supported interpreter present (the integration tests'
        # discovery); only failures and the count: the passing checks
        # are many.
        pythons=$(python3 -c 'import sys; sys.path.insert(0, "tests/integration")
import common
for i in common.interpreters(): print(i.path)')
        [ -n "$pythons" ] || pythons=python3
        for py in $pythons; do
            log="$work/walk.$(echo "$py" | tr / _).log"
            "$py" tests/walk/walk_check.py bazel-bin/tests/walk/walk_driver.so 2>&1 \
                | tee "$log" | grep -v '^ok '
            counted+=(--counted "walk_check ($py)" "$log" "${PIPESTATUS[0]}")
        done
    else
        echo "not run: bazel-bin/tests/walk/walk_driver.so did not build"
        failed+=(--failed "walker checks (walk_driver.so did not build)")
    fi
fi

if [ -f tests/integration/run.py ]; then
    section "integration tests: tests/integration/run.py"
    if up_to_date //tools:muppy //shim:libmuppy.so; then
        python3 tests/integration/run.py \
            --muppy bazel-bin/tools/muppy --shim bazel-bin/shim/libmuppy.so \
            2>&1 | tee "$work/integration.log"
        counted+=(--counted integration "$work/integration.log" "${PIPESTATUS[0]}")
    else
        echo "not run: bazel-bin/tools/muppy or bazel-bin/shim/libmuppy.so did not build"
        failed+=(--failed "integration tests (muppy or libmuppy.so did not build)")
    fi
fi

if [ -f tests/leakzoo/zoo.py ]; then
    section "the leak zoo: tests/leakzoo/zoo.py (muppy leaks on known leaks and churn)"
    if up_to_date //tools:muppy //shim:libmuppy.so; then
        # One 3.11 and the newest interpreter here (about 1.5 minutes);
        # scripts/leakzoo.sh runs every interpreter.
        zoo_pythons=$(two_pythons)
        # shellcheck disable=SC2086  # word splitting is the point
        python3 tests/leakzoo/zoo.py --muppy bazel-bin/tools/muppy \
            --shim bazel-bin/shim/libmuppy.so $zoo_pythons \
            2>&1 | tee "$work/leakzoo.log"
        counted+=(--counted leakzoo "$work/leakzoo.log" "${PIPESTATUS[0]}")
    else
        echo "not run: bazel-bin/tools/muppy or bazel-bin/shim/libmuppy.so did not build"
        failed+=(--failed "the leak zoo (muppy or libmuppy.so did not build)")
    fi
fi

if [ -f tests/cpython_slice.py ]; then
    section "CPython's own tests with and without the shim: tests/cpython_slice.py"
    if up_to_date //tools:muppy //shim:libmuppy.so; then
        # One 3.11 (Debian's, else pyenv's) and the newest present; the
        # full list on every interpreter: scripts/cpython-suite.sh.  The
        # quick files take under a minute each: a hang (retried once, as
        # any difference is) must not eat CI's time.
        slice_pythons=$(two_pythons)
        # shellcheck disable=SC2086  # word splitting is the point
        python3 tests/cpython_slice.py --shim bazel-bin/shim/libmuppy.so \
            --muppy bazel-bin/tools/muppy --set quick --timeout 240 $slice_pythons \
            2>&1 | tee "$work/cpython.log"
        counted+=(--counted cpython-slice "$work/cpython.log" "${PIPESTATUS[0]}")
    else
        echo "not run: bazel-bin/tools/muppy or bazel-bin/shim/libmuppy.so did not build"
        failed+=(--failed "CPython's tests (muppy or libmuppy.so did not build)")
    fi
fi

if [ -x scripts/design-layout.py ]; then
    section "docs/design.md's layout table against the tree: scripts/design-layout.py --check"
    python3 scripts/design-layout.py --check 2>&1 | tee "$work/layout.log"
    counted+=(--counted layout "$work/layout.log" "${PIPESTATUS[0]}")
fi

if [ -x tests/fuzz/run.sh ]; then
    section "fuzz targets, a short run: tests/fuzz/run.sh --time 60"
    if up_to_date //shim:libmuppy.so; then
        tests/fuzz/run.sh --time 60 --shim bazel-bin/shim/libmuppy.so \
            2>&1 | tee "$work/fuzz.log"
        counted+=(--counted fuzz "$work/fuzz.log" "${PIPESTATUS[0]}")
    else
        echo "not run: bazel-bin/shim/libmuppy.so did not build (the seeds)"
        failed+=(--failed "fuzz targets (libmuppy.so did not build)")
    fi
fi

section "results"
python3 tests/tally.py \
    --bazel "unit" "$work/unit.json" \
    --bazel-rerun "unit (asan)" "$work/asan.json" \
    "${counted[@]}" "${failed[@]}"
