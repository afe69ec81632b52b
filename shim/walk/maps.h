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

/*
 * The memory a snapshot child reads ahead of its walk (walk.c design note
 * 10): the private anonymous readable mappings of the process (pymalloc's
 * arenas, the malloc heap, anonymous mmaps; never a file, a device or
 * shared memory, whose reads can fault or have side effects), listed when
 * the child starts, before it maps anything of its own, so every range is
 * the parent's and stays mapped for the child's life.  At most
 * WALK_WARM_MAX ranges (the rest is left out); the storage is one mapping
 * of its own, cut out of the list.
 */
#define WALK_WARM_MAX 4096

struct walk_warm {
	uint64_t *lo, *hi;        /* [lo[i], hi[i]), ascending */
	size_t n;
	size_t page;              /* the page size */
};

/* Lists the ranges into *w (zeroed first).  Returns 0, or -1 (nothing
 * listed: /proc/self/maps unreadable or no memory). */
int walk_warm_read(struct walk_warm *w);

/* Releases w's storage and zeroes it.  NULL is a no-op. */
void walk_warm_free(struct walk_warm *w);

#endif
