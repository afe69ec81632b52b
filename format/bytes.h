/*
 * bytes.h - fixed-width little-endian integers and LEB128 varints: the
 * only way the format code turns numbers into bytes and back; and the
 * move-to-front list that codes a CHUNK2's targets.
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

/*
 * The move-to-front list of a CHUNK2 section's target column (1.2,
 * docs/format.md): the last MTF_N distinct targets of the chunk, most
 * recent first.  A target found at place i is written as i, any other
 * as MTF_N + its zigzag delta from the target before; either way it then
 * moves to the front.  Referrers of one kind point at the same few
 * objects (their type, a shared key or default), which a delta from the
 * target before turns into two large jumps and this into a small code
 * that repeats.  Writer and reader keep the same list, reset at each
 * chunk, so chunks stay independent.
 */
#define MTF_N 16

/* The list as the format defines it, a step at a time: what struct mtf
 * does where SSE2 is missing, and the unit tests' reference for it. */
struct mtf_plain {
	uint32_t v[MTF_N];
	unsigned n;               /* entries in use */
};

static inline void
mtf_plain_init(struct mtf_plain *m)
{
	m->n = 0;
}

/* Place of t in m, or MTF_N. */
static inline unsigned
mtf_plain_find(const struct mtf_plain *m, uint32_t t)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->v[i] == t)
			return i;
	return MTF_N;
}

/* The entry at place i < m->n. */
static inline uint32_t
mtf_plain_at(const struct mtf_plain *m, unsigned i)
{
	return m->v[i];
}

/* Moves t, found at place i (or MTF_N: new), to the front. */
static inline void
mtf_plain_front(struct mtf_plain *m, unsigned i, uint32_t t)
{
	if (i == MTF_N)   /* new: the oldest falls off a full list */
		i = m->n < MTF_N ? m->n++ : MTF_N - 1;
	for (; i > 0; i--)
		m->v[i] = m->v[i - 1];
	m->v[0] = t;
}

/*
 * Both steps run once an edge on the stream's hot path, where a scan
 * that stops at the first match and a loop of moves cost as much as the
 * deflate work the list saves (perf at 1M objects: 30 ms a dump against
 * 25 saved).  With SSE2 (every x86-64) the list is four vectors a
 * compiler keeps in registers, and each step is a few vector operations
 * without a branch on the data: the find compares all sixteen entries at
 * once, the move shifts every place up to the found one by one lane and
 * keeps the rest.
 */
#if defined(__SSE2__)
#include <emmintrin.h>   /* _mm_* (SSE2) */

struct mtf {
	__m128i q0, q1, q2, q3;   /* places 0-3, 4-7 ...; zero past n */
	unsigned n;               /* entries in use */
};

static inline void
mtf_init(struct mtf *m)
{
	m->q0 = m->q1 = m->q2 = m->q3 = _mm_setzero_si128();
	m->n = 0;
}

static inline unsigned
mtf_mask(__m128i q, __m128i k)
{
	return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(
		_mm_cmpeq_epi32(q, k)));
}

/* Entries in use. */
static inline unsigned
mtf_len(const struct mtf *m)
{
	return m->n;
}

/* Place of t in m, or MTF_N. */
static inline unsigned
mtf_find(const struct mtf *m, uint32_t t)
{
	__m128i k = _mm_set1_epi32((int)t);
	unsigned hit = mtf_mask(m->q0, k) | mtf_mask(m->q1, k) << 4 |
		       mtf_mask(m->q2, k) << 8 | mtf_mask(m->q3, k) << 12;

	hit &= (1u << m->n) - 1;
	return hit ? (unsigned)__builtin_ctz(hit) : MTF_N;
}

/* The entry at place i < m->n. */
static inline uint32_t
mtf_at(const struct mtf *m, unsigned i)
{
	uint32_t v[MTF_N];

	_mm_storeu_si128((__m128i *)(void *)v, m->q0);
	_mm_storeu_si128((__m128i *)(void *)(v + 4), m->q1);
	_mm_storeu_si128((__m128i *)(void *)(v + 8), m->q2);
	_mm_storeu_si128((__m128i *)(void *)(v + 12), m->q3);
	return v[i];
}

/* q with places up to `upto` (exclusive) taken from q shifted up one
 * lane, in from `in`; lane0 is q's first place. */
static inline __m128i
mtf_shift(__m128i q, __m128i in, __m128i upto, int lane0)
{
	__m128i moved = _mm_or_si128(_mm_slli_si128(q, 4),
				     _mm_srli_si128(in, 12));
	__m128i take = _mm_cmplt_epi32(_mm_setr_epi32(lane0, lane0 + 1,
						      lane0 + 2, lane0 + 3),
				       upto);

	return _mm_or_si128(_mm_and_si128(take, moved),
			    _mm_andnot_si128(take, q));
}

/* Moves t, found at place i (or MTF_N: new), to the front. */
static inline void
mtf_front(struct mtf *m, unsigned i, uint32_t t)
{
	__m128i upto, q0 = m->q0, q1 = m->q1, q2 = m->q2;
	unsigned miss = i == MTF_N, grow = miss & (m->n < MTF_N);

	/* New: put at the end, or over the oldest of a full list, then
	 * moved; no branch, as hits and misses come mixed. */
	i = miss ? m->n - 1 + grow : i;
	m->n += grow;
	upto = _mm_set1_epi32((int)i + 1);
	m->q0 = mtf_shift(q0, _mm_slli_si128(_mm_cvtsi32_si128((int)t), 12),
			  upto, 0);
	m->q1 = mtf_shift(q1, q0, upto, 4);
	m->q2 = mtf_shift(q2, q1, upto, 8);
	m->q3 = mtf_shift(m->q3, q2, upto, 12);
}
#else
struct mtf {
	struct mtf_plain p;
};

static inline void
mtf_init(struct mtf *m)
{
	mtf_plain_init(&m->p);
}

static inline unsigned
mtf_len(const struct mtf *m)
{
	return m->p.n;
}

static inline unsigned
mtf_find(const struct mtf *m, uint32_t t)
{
	return mtf_plain_find(&m->p, t);
}

static inline uint32_t
mtf_at(const struct mtf *m, unsigned i)
{
	return mtf_plain_at(&m->p, i);
}

static inline void
mtf_front(struct mtf *m, unsigned i, uint32_t t)
{
	mtf_plain_front(&m->p, i, t);
}
#endif

#endif /* MUPPY_FORMAT_BYTES_H */
