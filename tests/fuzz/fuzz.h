/*
 * fuzz.h - what the two libFuzzer targets share (tests/fuzz/run.c): a file
 * that holds the current input, and one pass of every analysis command of
 * `muppy` over it.
 *
 * fuzz_file.c hands libFuzzer's bytes to the reader as they are (the whole
 * file: header, zlib stream, trailer); fuzz_body.c takes them as an
 * inflated body and frames it with a valid header, stream and trailer, so
 * that mutations reach the section decoder and the analyses instead of
 * dying at a checksum.  Both run the same commands (fuzz_run_commands).
 */
#ifndef MUPPY_TESTS_FUZZ_FUZZ_H
#define MUPPY_TESTS_FUZZ_FUZZ_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint8_t */

/* Replaces the contents of the input file with buf (created on first use
 * in $TMPDIR, removed at exit) and returns its path. */
const char *fuzz_put_file(const void *buf, size_t len);

/* Runs every analysis command that reads dumps (info, summary, diff,
 * objects, cat, tree, path, leaks, track, top, orphans, in their formats)
 * on path, in-process through muppy_main, output discarded.  A command
 * that returns anything but 0, 1 or 2 aborts (libFuzzer reports a crash);
 * a dump the reader accepts but a command rejects with 1 (a runtime
 * failure on valid input) aborts too, unless it is out of memory. */
void fuzz_run_commands(const char *path);

#endif
