"""Compiler flags shared by every BUILD file in muppy (the house rules).

C: C11 with GNU extensions of libc visible, every warning an error.
C++ (GoogleTest unit tests only): C++17, same warnings, not optimised.
Optimisation and sanitizers are chosen in .bazelrc, not here.
"""

C_COPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    # Defined empty, exactly as a bare `#define _GNU_SOURCE` in a file does,
    # so a file that also defines it (for hand builds) is not a
    # "redefined" error.
    "-D_GNU_SOURCE=",
]

CXX_COPTS = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    # The test files themselves are not worth optimising: GoogleTest bodies
    # at -O2 -g compile ~3x slower (format_test.cc: 53 s against 18 s at
    # -O0 -g0 on the 2-core build machine). The code under test keeps -O2.
    "-O0",
]
