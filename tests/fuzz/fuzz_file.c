/*
 * fuzz_file.c - libFuzzer target: the input is a whole dump file, as it
 * would be found on disk (truncated, corrupt, a zlib bomb, or fine).
 * The reader must reject bad files with status 2 and one line, and every
 * analysis command must cope with whatever it accepts (fuzz.h).
 */
#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint8_t */

#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_commands(fuzz_put_file(data, size));
	return 0;
}
