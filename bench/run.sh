#!/bin/sh
# bench/run.sh - muppy's benchmark in one command (issue 5; see README,
# "Benchmarks").  Every figure is printed beside a baseline measured in the
# same run; the report goes to docs/benchmarks.md (or --out FILE).
#
#   bench/run.sh [--quick] [--pythons P1,P2] [--sizes 100k,1M,5M,20M,100M]
#                [--big-pythons P1,P2] [--out FILE] [bench.py options]
#
# --quick: 100k objects on one interpreter and a short idle check (about
# 20 s; a smoke test).  Default: every Python 3.8+ present at 100k and 1M,
# 5M on one 3.11 and one 3.12+, idle overhead and the offline commands
# (about 15 minutes on 2 cores).  20M and 100M (issue 14: a ~10 GB heap)
# are not in the default run: `--sizes 100M --big-pythons P` builds and
# dumps a heap of 100M objects and runs every offline command on it.
#
# The pieces under test: $MUPPY_SHIM and $MUPPY_BIN if set, else Bazel's
# bazel-bin/shim/libmuppy.so and bazel-bin/tools/muppy, else a gcc build
# into a temporary directory.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out="$root/docs/benchmarks.md"
quick=0
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	--out|--out=*) out="" ;;
	esac
done
shim=${MUPPY_SHIM:-}
tool=${MUPPY_BIN:-}
if [ -z "$shim" ] || [ -z "$tool" ]; then
	if [ -f "$root/bazel-bin/shim/libmuppy.so" ] &&
	   [ -x "$root/bazel-bin/tools/muppy" ]; then
		shim=$root/bazel-bin/shim/libmuppy.so
		tool=$root/bazel-bin/tools/muppy
	else
		build=$(mktemp -d "${TMPDIR:-/tmp}/muppy-bench-build.XXXXXX")
		trap 'rm -rf "$build"' EXIT
		echo "bench: building with gcc into $build"
		gcc -std=c11 -O2 -fPIC -shared -fvisibility=hidden -D_GNU_SOURCE \
			-I"$root" "$root"/shim/*/*.c "$root"/format/*.c \
			"$root"/common/*.c -Wl,--version-script="$root"/shim/linker.map \
			-o "$build/libmuppy.so" -ldl -lpthread -lz -lm
		gcc -std=c11 -O2 -D_GNU_SOURCE -I"$root" "$root"/tools/*.c \
			"$root"/format/*.c "$root"/common/*.c -lz -lm -lncursesw -ltinfo \
			-o "$build/muppy"
		shim=$build/libmuppy.so
		tool=$build/muppy
	fi
fi
[ -x /usr/bin/time ] || echo "bench: /usr/bin/time missing (apt-get install time): no offline peak RSS" >&2
set -- --shim "$shim" --muppy "$tool" "$@"
if [ "$quick" = 0 ] && [ -n "$out" ]; then
	set -- "$@" --out "$out"
fi
exec python3 "$here/bench.py" "$@"
