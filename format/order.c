/*
 * order.c - discovery order to dump order (order.h): the radix sort of
 * objects by address and the removal of repeated edges, for walk_finish
 * and for the reader of streamed dumps.
 *
 * No allocation here: a shim snapshot child must not call glibc's malloc
 * (shim/walk/mem.h), and glibc's qsort mallocs for large arrays, hence the
 * heap sort below.
 */
#include "format/order.h"

#include <string.h>   /* memcpy, memset */

#include "format/dump.h"   /* FMT_EDGE_NONE */

void
fmt_radix_sort(struct fmt_pair *a, struct fmt_pair *tmp, size_t n,
	       size_t *count)
{
	for (int shift = 0; shift < 64; shift += 16) {
		size_t sum = 0;
		int skip = 0;

		memset(count, 0, FMT_RADIX_COUNTS * sizeof *count);
		for (size_t i = 0; i < n; i++)
			count[(a[i].key >> shift) & 0xFFFF]++;
		for (size_t d = 0; d < FMT_RADIX_COUNTS; d++) {
			size_t c = count[d];

			if (c == n)
				skip = 1;
			count[d] = sum;
			sum += c;
		}
		if (skip)
			continue;
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i].key >> shift) & 0xFFFF]++] = a[i];
		memcpy(a, tmp, n * sizeof *a);
	}
}

/* Named first, then by name, then by position: the first of a run of
 * equal dst is the one to keep when it is named. */
static int
edgekey_cmp(const struct fmt_edgekey *a, const struct fmt_edgekey *b)
{
	if (a->dst != b->dst)
		return a->dst < b->dst ? -1 : 1;
	if ((a->name == FMT_EDGE_NONE) != (b->name == FMT_EDGE_NONE))
		return a->name == FMT_EDGE_NONE ? 1 : -1;
	if (a->name != b->name)
		return a->name < b->name ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static void
sift_down(struct fmt_edgekey *key, size_t at, size_t n)
{
	for (;;) {
		size_t big = at, l = 2 * at + 1, r = l + 1;
		struct fmt_edgekey t;

		if (l < n && edgekey_cmp(&key[l], &key[big]) > 0)
			big = l;
		if (r < n && edgekey_cmp(&key[r], &key[big]) > 0)
			big = r;
		if (big == at)
			return;
		t = key[at];
		key[at] = key[big];
		key[big] = t;
		at = big;
	}
}

/* Rows up to this long are sorted by insertion: most rows that need a
 * sort (an instance dict's dozen edges) are short, where a heap sort's
 * sifting costs more than the moves it saves. */
#define SORT_SMALL 32

static void
sort_keys(struct fmt_edgekey *key, size_t n)
{
	if (n <= SORT_SMALL) {
		for (size_t i = 1; i < n; i++) {
			struct fmt_edgekey t = key[i];
			size_t j = i;

			for (; j > 0 && edgekey_cmp(&key[j - 1], &t) > 0; j--)
				key[j] = key[j - 1];
			key[j] = t;
		}
		return;
	}
	for (size_t i = n / 2; i-- > 0;)
		sift_down(key, i, n);
	for (size_t end = n; end-- > 1;) {
		struct fmt_edgekey t = key[0];

		key[0] = key[end];
		key[end] = t;
		sift_down(key, 0, end);
	}
}

/* De-duplicates the edges [s, e) of one referrer in place, keeping their
 * order; returns the new end. */
static size_t
dedup_row(uint32_t *dst, uint32_t *name, size_t s, size_t e,
	  struct fmt_edgekey *key, uint8_t *drop)
{
	size_t n = e - s, out = s;

	for (size_t i = 0; i < n; i++) {
		key[i].dst = dst[s + i];
		key[i].name = name[s + i];
		key[i].pos = (uint32_t)i;
		drop[i] = 0;
	}
	sort_keys(key, n);
	for (size_t i = 1; i < n; i++)
		if (key[i].dst == key[i - 1].dst &&
		    (key[i].name == key[i - 1].name ||
		     key[i].name == FMT_EDGE_NONE))
			drop[key[i].pos] = 1;
	for (size_t i = 0; i < n; i++) {
		if (drop[i])
			continue;
		dst[out] = dst[s + i];
		name[out] = name[s + i];
		out++;
	}
	return out;
}

/* True if [s, e) holds no repeated dst (the common, cheap case). */
static int
row_unique(const uint32_t *dst, size_t s, size_t e)
{
	for (size_t i = s; i < e; i++)
		for (size_t j = s; j < i; j++)
			if (dst[i] == dst[j])
				return 0;
	return 1;
}

/*
 * True if [s, e) holds no repeated dst, for a row too long to compare
 * pair by pair: a list of a hundred thousand records would otherwise be
 * heap sorted only to find nothing to drop, most of the dedup's time in
 * a snapshot.  The table is an open-addressed set over key's memory (n
 * entries of 12 bytes hold a power of two of u32 slots above 1.5 n, so
 * it is at most two thirds full); UINT32_MAX marks a free slot, so a dst
 * of that value answers "maybe repeated" and the row is sorted.
 */
static int
row_unique_hashed(const uint32_t *dst, size_t s, size_t e,
		  struct fmt_edgekey *key)
{
	uint32_t *set = (uint32_t *)(void *)key;
	size_t cap = 1, n = e - s;
	unsigned bits = 0;

	if (n > UINT32_MAX / 3)   /* a hash of 32 bits indexes the set */
		return 0;
	while (cap * 2 <= 3 * n) {
		cap *= 2;
		bits++;
	}
	memset(set, 0xFF, cap * sizeof *set);
	for (size_t i = s; i < e; i++) {
		uint32_t v = dst[i];
		size_t h = (uint32_t)(v * 0x9E3779B1u) >> (32 - bits);

		if (v == UINT32_MAX)
			return 0;
		for (; set[h] != UINT32_MAX; h = (h + 1) & (cap - 1))
			if (set[h] == v)
				return 0;
		set[h] = v;
	}
	return 1;
}

size_t
fmt_edges_max_row(const uint32_t *start, uint64_t n)
{
	size_t m = 0;

	for (uint64_t i = 0; i < n; i++)
		if (start[i + 1] - start[i] > m)
			m = start[i + 1] - start[i];
	return m;
}

uint64_t
fmt_edges_dedup(uint32_t *start, uint32_t *dst, uint32_t *name, uint64_t n,
		struct fmt_edgekey *key, uint8_t *drop)
{
	size_t out = 0;

	for (uint64_t i = 0; i < n; i++) {
		size_t s = start[i], e = start[i + 1];

		start[i] = (uint32_t)out;
		if (e - s > 1 &&
		    !(e - s > 8 ? row_unique_hashed(dst, s, e, key)
				: row_unique(dst, s, e)))
			e = dedup_row(dst, name, s, e, key, drop);
		if (out != s) {
			for (size_t j = s; j < e; j++) {
				dst[out + j - s] = dst[j];
				name[out + j - s] = name[j];
			}
		}
		out += e - s;
	}
	start[n] = (uint32_t)out;
	return out;
}
