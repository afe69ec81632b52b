/*
 * order.h - putting a graph found in discovery order into the dump's
 * order: objects by address, edges grouped by referrer (CSR) without
 * repeats.  Shared by the two places that do it: the shim's walk_finish
 * (a dump written whole) and the reader of a streamed dump (FMT_FLAG_STREAM,
 * whose objects are stored as the walk met them), so that both give the
 * same dump for the same walk.
 *
 * Pure C, no allocation: callers own every buffer (the shim's come from
 * its own allocator: shim/walk/mem.h).
 */
#ifndef MUPPY_FORMAT_ORDER_H
#define MUPPY_FORMAT_ORDER_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint32_t, uint64_t */

#ifdef __cplusplus
extern "C" {
#endif

/* An object's address and its slot (its place in discovery order). */
struct fmt_pair {
	uint64_t key;
	uint32_t slot;
};

#define FMT_RADIX_COUNTS 65536   /* entries of fmt_radix_sort's count */

/* Sorts a[0..n) by key (LSD radix, 16 bits a pass, passes where every key
 * has the same digit skipped); tmp has n entries, count
 * FMT_RADIX_COUNTS.  Stable. */
void fmt_radix_sort(struct fmt_pair *a, struct fmt_pair *tmp, size_t n,
		    size_t *count);

/* Scratch for fmt_edges_dedup: one entry per edge of the largest row. */
struct fmt_edgekey {
	uint32_t dst, name, pos;
};

/* The most edges any of the n rows of start (CSR, n + 1 entries) has. */
size_t fmt_edges_max_row(const uint32_t *start, uint64_t n);

/*
 * Removes repeated edges from each row of a CSR graph, in place, keeping
 * the order of what stays: of edges with the same referrer and referent,
 * an unnamed one (FMT_EDGE_NONE, seen only through tp_traverse) goes when
 * a named one exists, and of equal names one is kept.  start has n + 1
 * entries and is rewritten; key and drop have fmt_edges_max_row entries.
 * Returns the new edge count (start[n]).
 */
uint64_t fmt_edges_dedup(uint32_t *start, uint32_t *dst, uint32_t *name,
			 uint64_t n, struct fmt_edgekey *key, uint8_t *drop);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_FORMAT_ORDER_H */
