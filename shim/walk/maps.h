/*
 * maps.h - the readable memory of this process, from /proc/self/maps:
 * where the walker may look before it reads a type object (walk.c design
 * note 8).  No Python here (tests/unit/shim_tables_test.cc).
 */
#ifndef MUPPY_SHIM_WALK_MAPS_H
#define MUPPY_SHIM_WALK_MAPS_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint64_t */

/*
 * The readable mappings of this process, from /proc/self/maps, sorted and
 * merged: where a type object may be before the walker reads it (design
 * note 8).  Read at the walk's start, again once if an address is not in
 * it (memory mapped since, as a new pymalloc arena for a frame the walk
 * made).  Nothing is unmapped during a walk: the GIL is held and no
 * Python code runs, so no object is freed.
 */
struct walk_ranges {
	uint64_t *lo, *hi;        /* [lo[i], hi[i]) */
	size_t n, cap;
	size_t last;              /* index of the last hit */
	int reread;               /* read again this walk already */
	int ok;                   /* the table could be read */
};

/* (Re)reads the table; r->ok says whether /proc/self/maps could be read
 * (if not, nothing is readable).  r starts zeroed. */
void walk_ranges_read(struct walk_ranges *r);

/* Whether [p, p + len) is readable memory of this process.  A range not in
 * the table makes one reread of it, once per walk (r->reread). */
int walk_readable(struct walk_ranges *r, const void *p, size_t len);

/* Releases the table and zeroes r. */
void walk_ranges_free(struct walk_ranges *r);

#endif
