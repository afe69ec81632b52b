/*
 * fuzz_body.c - libFuzzer target: the input is an inflated dump body (its
 * sequence of sections) after one byte of header flags.  The target frames
 * it as a writer would (header with its CRC, zlib stream, trailer with
 * the body's length and CRC), so every mutation passes the checksums and
 * reaches the section decoder, the consistency checks and the analyses.
 *
 * Input layout: byte 0 = header flags (the low two bits: GRAPH, STRINGS;
 * bit 7 asks for minor version 1, which readers must accept), then the
 * body.  tests/fuzz/seeds.c writes the seeds in this layout too.
 */
#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint8_t */
#include <stdlib.h>   /* malloc, free, abort */
#include <string.h>   /* memcpy */
#include <zlib.h>     /* compress2, compressBound, crc32 */

#include "format/bytes.h"  /* put_u16, put_u32, put_u64 */
#include "format/dump.h"   /* FMT_* */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The file around body: header, stream (level 1, as the shim writes),
 * trailer.  Returns a malloc'ed buffer and its length in *len. */
static uint8_t *
frame(uint32_t flags, uint16_t minor, const uint8_t *body, size_t n,
      size_t *len)
{
	uLongf zlen = compressBound((uLong)n);
	uint8_t *f = malloc(FMT_HEADER_SIZE + zlen + FMT_TRAILER_SIZE);

	if (!f)
		abort();
	memcpy(f, FMT_MAGIC, 8);
	put_u16(f + 8, MUPPY_FORMAT_MAJOR);
	put_u16(f + 10, minor);
	put_u32(f + 12, flags);
	put_u32(f + 16, (uint32_t)crc32(0, f, 16));
	if (compress2(f + FMT_HEADER_SIZE, &zlen, body, (uLong)n, 1) != Z_OK)
		abort();
	uint8_t *t = f + FMT_HEADER_SIZE + zlen;
	put_u64(t, n);
	put_u32(t + 8, (uint32_t)crc32(0, body, (uInt)n));
	memcpy(t + 12, FMT_TRAILER_MAGIC, 4);
	*len = FMT_HEADER_SIZE + zlen + FMT_TRAILER_SIZE;
	return f;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	uint8_t *f;

	if (size < 1)
		return 0;
	f = frame(data[0] & 3u, data[0] & 0x80u ? 1 : 0, data + 1, size - 1,
		  &len);
	fuzz_run_commands(fuzz_put_file(f, len));
	free(f);
	return 0;
}
