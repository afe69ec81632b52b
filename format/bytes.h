/*
 * bytes.h - fixed-width little-endian integers and LEB128 varints: the
 * only way the format code turns numbers into bytes and back.
 *
 * Private to format/ (the rest of the project sees struct fmt_dump, never
 * bytes).  Everything here is static inline and allocation-free; bounds
 * are the caller's job, except get_varint which refuses to read past end
 * and refuses encodings longer than 10 bytes or wider than 64 bits.
 * The definitions are in docs/format.md ("Integers").
 */
#ifndef MUPPY_FORMAT_BYTES_H
#define MUPPY_FORMAT_BYTES_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint8_t .. uint64_t */

#define VARINT_MAX_LEN 10   /* ceil(64 / 7) */

static inline void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

/* Zigzag maps signed to unsigned so small magnitudes stay small:
 * 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3 ... (as in protobuf). */
static inline uint64_t
zigzag_enc(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
zigzag_dec(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Number of bytes put_varint writes for v (1..10). */
static inline size_t
varint_len(uint64_t v)
{
	/* 7 bits a byte: 1 + (index of the highest set bit) / 7. */
	return 1 + (size_t)(63 - __builtin_clzll(v | 1)) / 7;
}

/* Writes v as unsigned LEB128 at p (room for VARINT_MAX_LEN bytes);
 * returns the number of bytes written. */
static inline size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * Reads one unsigned LEB128 from [p, end).  Returns the number of bytes
 * consumed, or 0 if the encoding runs past end, is longer than 10 bytes,
 * or does not fit in 64 bits (10th byte > 1).  Non-minimal encodings
 * (trailing 0x80 bytes) are accepted: they decode to the same value.
 */
static inline size_t
get_varint(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < VARINT_MAX_LEN && p + i < end; i++) {
		uint8_t b = p[i];
		if (i == VARINT_MAX_LEN - 1 && b > 1)
			return 0;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

#endif /* MUPPY_FORMAT_BYTES_H */
