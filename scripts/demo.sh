#!/usr/bin/env bash
# demo.sh - README's first command: a leak hunt with muppy, end to end.
#
#   1. installs what is missing (scripts/install-deps.sh) and builds
#      (bazel build //tools:muppy //shim:libmuppy.so);
#   2. runs demo/leaky_app.py (a toy service that leaks each request twice)
#      under `muppy run`, and after each of its 3 rounds sends it SIGUSR1,
#      the way you would by hand (kill -USR1 PID), and waits for the dump;
#   3. shows what the dumps say: `muppy summary` of the last dump, `muppy
#      diff` of the first and the last (the leaked types grow by 2000 a
#      round), `muppy leaks` over all, and the first screen of `muppy
#      browse` (the terminal browser) on them.
#
# The dumps go to a temporary directory, removed at the end (set
# MUPPY_DEMO_KEEP=1 to keep it and print its name). Takes well under a
# minute once built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=3
TIMEOUT=30   # seconds for any one step (a round, a dump)

say() { printf '\n== %s\n' "$*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

say "installing what is missing"
./scripts/install-deps.sh

say "building: bazel build //tools:muppy //shim:libmuppy.so"
bazel build --show_progress_rate_limit=30 //tools:muppy //shim:libmuppy.so
MUPPY=bazel-bin/tools/muppy

dir=$(mktemp -d "${TMPDIR:-/tmp}/muppy-demo.XXXXXX")
app=""
cleanup() {
    if [ -n "$app" ] && kill -0 "$app" 2>/dev/null; then
        kill "$app" 2>/dev/null || true
    fi
    if [ "${MUPPY_DEMO_KEEP:-0}" = 1 ]; then
        echo "demo: dumps kept in $dir"
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT
mkdir "$dir/dumps" "$dir/control"

# Waits up to TIMEOUT seconds for a shell test to pass; dies with $2 if not.
wait_until() {
    local deadline=$((SECONDS + TIMEOUT))
    until eval "$1"; do
        if [ -n "$app" ] && ! kill -0 "$app" 2>/dev/null; then
            die "$2 (the app has exited)"
        fi
        [ "$SECONDS" -lt "$deadline" ] || die "$2 (after ${TIMEOUT}s)"
        sleep 0.05
    done
}

# The dumps in the order written (muppy.<pid>.<seq>.dump, seq from 1).
dumps() { ls "$dir"/dumps/muppy.*.dump 2>/dev/null | sort -V || true; }
ndumps() { dumps | wc -l; }

say "running: muppy run --dir DIR --no-exit-dump -- python3 demo/leaky_app.py"
"$MUPPY" run --dir "$dir/dumps" --no-exit-dump -- \
    python3 demo/leaky_app.py --rounds "$ROUNDS" --control "$dir/control" \
    --timeout "$TIMEOUT" &
runner=$!
app=$runner
wait_until '[ -s "$dir/control/pid" ]' "leaky_app.py did not start"
# `muppy run` replaces itself with the interpreter (the same pid), but the
# app's own word is what counts.
pid=$(cat "$dir/control/pid")
app=$pid

for round in $(seq 1 "$ROUNDS"); do
    wait_until '[ -e "$dir/control/ready.$round" ]' "round $round did not finish"
    echo "demo: kill -USR1 $pid   (dump $round)"
    kill -USR1 "$pid"
    wait_until '[ "$(ndumps)" -ge "$round" ]' "no dump appeared after SIGUSR1"
    touch "$dir/control/go.$round"
done
wait "$runner" || die "leaky_app.py failed"
app=""

mapfile -t files < <(dumps)
[ "${#files[@]}" -eq "$ROUNDS" ] || die "expected $ROUNDS dumps, found ${#files[@]}"
first=${files[0]}
last=${files[${#files[@]}-1]}
echo "demo: dumps:"
ls -l "${files[@]}" | sed 's/^/  /'

say "muppy summary LAST --limit 12   (what the heap holds after round $ROUNDS)"
"$MUPPY" summary "$last" --limit 12

say "muppy diff FIRST LAST --limit 12   (what grew between round 1 and round $ROUNDS)"
"$MUPPY" diff "$first" "$last" --limit 12

if "$MUPPY" leaks --help >/dev/null 2>&1; then
    say "muppy leaks DUMPS...   (types that grow in every dump, and what holds them)"
    "$MUPPY" leaks "${files[@]}"
fi

say "muppy browse LAST OLDER...   (the terminal browser's first screen; --batch prints it)"
"$MUPPY" browse "$last" "${files[@]}" --batch "" --size 8x100

report=${TMPDIR:-/tmp}/muppy-demo-report.html
say "muppy report DUMPS... -o $report   (the hunt as one HTML file, for a ticket)"
"$MUPPY" report "${files[@]}" -o "$report"

say "done"
echo "The leaked Request objects (and their on_done closures) grow by 2000 a round;"
echo "docs/usage.md shows the commands that find who holds them (tree, path, leaks)."
echo "To look around yourself: MUPPY_DEMO_KEEP=1 ./scripts/demo.sh, then"
echo "  bazel-bin/tools/muppy browse LAST_DUMP OLDER_DUMPS...   (? lists the keys)"
echo "The report opens from disk in any browser: $report"
