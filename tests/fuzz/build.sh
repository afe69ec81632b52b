#!/usr/bin/env bash
# build.sh - builds the libFuzzer targets with clang (Debian's clang and
# libclang-rt-14-dev), with AddressSanitizer and UndefinedBehaviorSanitizer:
#
#   tests/fuzz/build.sh OUT_DIR
#
# writes OUT_DIR/fuzz_file, OUT_DIR/fuzz_body (tests/fuzz/fuzz.h) and
# OUT_DIR/fuzz_seeds (tests/fuzz/seeds.c, not instrumented).
#
# Not a Bazel target: Bazel 4's autoconfigured C toolchain is the system
# gcc, and switching it to clang for one configuration (--repo_env=CC)
# re-runs the toolchain setup and invalidates the whole build each time
# the configuration changes.  The targets link the same sources as
# //tools:muppy_lib (format/, common/, tools/ but main.c) with the house
# warnings (copts.bzl), so anything clang warns about fails here too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

out=${1:?usage: tests/fuzz/build.sh OUT_DIR}
mkdir -p "$out"
CC=${CC:-clang}
WARN=(-std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE= -I.)
SAN=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
     -fno-sanitize-recover=all)

lib_srcs=(format/*.c common/*.c)
for f in tools/*.c; do
    [ "$f" = tools/main.c ] || lib_srcs+=("$f")
done

for target in fuzz_file fuzz_body; do
    "$CC" "${WARN[@]}" "${SAN[@]}" -o "$out/$target" \
        "tests/fuzz/$target.c" tests/fuzz/run.c "${lib_srcs[@]}" -lz -lm -lncursesw -ltinfo
done
"$CC" "${WARN[@]}" -O1 -o "$out/fuzz_seeds" tests/fuzz/seeds.c \
    format/*.c -lz
