#!/usr/bin/env bash
# run.sh - builds the fuzz targets (tests/fuzz/build.sh), writes their
# seeds and runs both at once, one core each:
#
#   tests/fuzz/run.sh [--time SECONDS] [--shim LIBMUPPY.SO] [--keep DIR]
#
#   --time S   how long each target runs (default 60: the short run of
#              tests/run.sh; docs/benchmarks.md has 1800-second runs)
#   --shim P   also seed from dumps the shim P makes of python3 (a real
#              heap: graph, graph with strings, summary); without it only
#              the synthetic seeds of tests/fuzz/seeds.c
#   --keep D   keep the build, the corpora and any crash input in D
#              (default: a temporary directory, removed at the end)
#
# Prints one line per target (executions, speed, coverage, corpus) or,
# when a target crashed, leaked, timed out or ran out of memory, its
# report and the input (base64, when small) to reproduce it with
# `fuzz_file INPUT`; then `fuzz: N passed, N failed` (for tests/tally.py).
# Exit status 0 when both ran clean.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

time_s=60 shim="" keep=""
while [ $# -gt 0 ]; do
    case "$1" in
    --time) time_s=$2; shift 2 ;;
    --shim) shim=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: error: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

if [ -n "$keep" ]; then
    mkdir -p "$keep" && work=$(cd "$keep" && pwd) || exit 2
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/muppy-fuzz.XXXXXX") || exit 1
    trap 'rm -rf "$work"' EXIT
fi

fail() { echo "FAIL $*"; echo "fuzz: 0 passed, 2 failed"; exit 1; }

command -v clang >/dev/null || fail "fuzz targets: clang is not installed"
tests/fuzz/build.sh "$work/bin" || fail "fuzz targets: build failed"

# Seeds: synthetic, plus real dumps of a small interpreter heap.
mkdir -p "$work/seeds/file" "$work/seeds/body" "$work/real"
real=()
if [ -n "$shim" ]; then
    # An absolute path and a real interpreter (pyenv's python3 is a shell
    # script that would load the shim into a dozen other processes).
    shim=$(realpath "$shim") || fail "fuzz targets: no shim at $shim"
    python=/usr/bin/python3
    [ -x "$python" ] || python=$(command -v python3)
    for mode in graph:0 graph:16 summary:0; do
        d="$work/real/${mode%%:*}-${mode##*:}"
        mkdir -p "$d"
        MUPPY_DIR=$d MUPPY_MODE=${mode%%:*} MUPPY_STRINGS=${mode##*:} \
            MUPPY_AT_EXIT=1 LD_PRELOAD=$shim "$python" -S -I -c \
            'class Session: pass
s = [Session() for _ in range(20)]; t = {"k": s, 3: "v"}'
        real+=("$d"/*.dump)
        [ -f "${real[-1]}" ] || fail "fuzz targets: $python made no dump in $d"
    done
fi
"$work/bin/fuzz_seeds" "$work/seeds/file" "$work/seeds/body" "${real[@]}" ||
    fail "fuzz targets: could not write the seeds"

# One target: corpus of its own (new units), seeds read only.  The limits
# are the point: a small input must not make a command run for seconds
# (-timeout) or take gigabytes (-rss_limit_mb, -malloc_limit_mb).
run_target() {
    local target=$1 max_len=$2 seeds=$3
    mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
    "$work/bin/$target" -max_total_time="$time_s" -max_len="$max_len" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -close_fd_mask=3 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$target/" \
        "$work/corpus/$target" "$seeds" >"$work/$target.log" 2>&1
}

# The real dumps are up to ~100 KB as files and ~250 KB as bodies: the
# file target keeps them whole (a cut file fails its CRC and teaches
# nothing), the body target takes their first 32 KB (a cut body is still
# a run of valid sections, and short inputs run 50 times faster).
run_target fuzz_file 131072 "$work/seeds/file" & pid_file=$!
run_target fuzz_body 32768 "$work/seeds/body" & pid_body=$!
wait "$pid_file"; rc_file=$?
wait "$pid_body"; rc_body=$?

passed=0 failed=0
report() {
    local target=$1 rc=$2 log="$work/$1.log" done_line execs speed
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
        echo "ok   $target: ${time_s} s, $execs executions ($speed/s)," \
             "$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9A-Za-z]+')"
        passed=$((passed + 1))
        return
    fi
    failed=$((failed + 1))
    echo "FAIL $target (exit $rc): its log ends:"
    grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)|Uses: ' "$log" | tail -60
    for a in "$work/artifacts/$target"/*; do
        [ -f "$a" ] || continue
        echo "input $(basename "$a") ($(stat -c %s "$a") bytes):"
        [ "$(stat -c %s "$a")" -le 8192 ] && base64 -w 76 "$a"
    done
}
report fuzz_file "$rc_file"
report fuzz_body "$rc_body"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
