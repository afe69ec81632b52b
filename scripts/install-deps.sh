#!/usr/bin/env bash
# install-deps.sh - installs the Debian packages muppy builds and tests with,
# and nothing that is already there (silent no-op then).
#
#   bazel-bootstrap  Bazel 4.2.3 as /usr/bin/bazel (pulls in a JDK)
#   g++              the C/C++ toolchain (gcc, binutils, libc headers)
#   libgtest-dev     GoogleTest, for tests/unit/*_test.cc
#   zlib1g-dev       zlib, the dump's compression
#   libncurses-dev   ncurses (wide), `muppy browse`'s terminal
#   tmux             the terminal tests/integration/test_browse.py drives
#   python3          the demo, the integration tests, tests/tally.py
#   libpython3.11-testsuite
#                    CPython's own regression tests for Debian's python3,
#                    run with and without the shim (tests/cpython_slice.py)
#   clang libclang-rt-14-dev
#                    libFuzzer and the sanitizers for tests/fuzz/
#   mypy python3-numpy python3-lxml python3-msgpack python3-yaml
#   python3-regex    programs built from compiled extensions (mypyc, C,
#                    Cython) that tests/integration/test_extensions.py
#                    profiles
#   chromium nodejs (npm when no npm command comes with nodejs)
#                    the headless browser tests/integration/test_report.py
#                    opens `muppy report`'s page in, driven by playwright-core
#                    from the npm registry (tests/browser/package.json,
#                    installed into tests/browser/node_modules: no browser
#                    download); when npm cannot fetch it the browser tests
#                    are skipped, and this script says so
#
# Runs apt-get as root, or through sudo when not root. `apt-get update` runs
# once, only when something has to be installed. Used by scripts/demo.sh and
# tests/run.sh; safe to run by hand.
set -euo pipefail

PACKAGES=(bazel-bootstrap g++ libgtest-dev zlib1g-dev libncurses-dev tmux python3
          libpython3.11-testsuite clang libclang-rt-14-dev
          mypy python3-numpy python3-lxml python3-msgpack python3-yaml
          python3-regex chromium nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
browser_tests() {
    local dir
    dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser
    [ -d "$dir/node_modules/playwright-core" ] && return 0
    if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error) \
           >"${TMPDIR:-/tmp}/install-deps.npm.log" 2>&1; then
        echo "install-deps: warning: npm could not install playwright-core" \
             "(${TMPDIR:-/tmp}/install-deps.npm.log): the browser tests" \
             "will be skipped" >&2
    fi
}

if [ ${#missing[@]} -eq 0 ]; then
    browser_tests
    exit 0
fi

# sudo resets the environment, so the setting travels on the command line.
if [ "$(id -u)" -eq 0 ]; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
    echo "install-deps: error: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi

# apt's and dpkg's chatter (hundreds of lines for the JDK) goes to a log
# that is shown only if something fails.
log=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
echo "install-deps: installing ${missing[*]} (apt-get update + install)" >&2
if ! { "${as_root[@]}" apt-get update -qq &&
       "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
       >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "install-deps: error: apt-get failed (its output is above)" >&2
    exit 1
fi
browser_tests
echo "install-deps: done" >&2
