/*
 * walk.h - the heap walk: everything the shim learns about the Python heap
 * is gathered here, with the GIL held, into a struct fmt_dump.
 *
 * The walk reads; it never runs Python-level code, never triggers a GC
 * pass, and leaves no object of its own in the heap.  Encoding, compression
 * and writing happen later, in shim.c, after the GIL is released.
 * The CPython entry points it uses come from pyapi.h (resolved at run time).
 */
#ifndef MUPPY_SHIM_WALK_H
#define MUPPY_SHIM_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "format/dump.h"   /* struct fmt_dump */

struct walk_opts {
	int graph;              /* 1: objects, edges, roots; 0: summary only */
	uint32_t strings;       /* store first N chars of str/bytes (0: none) */
	/* Objects to leave out of the walk (the in-process API's own lists and
	 * the like): addresses, may be NULL/0.  Their referents are still
	 * walked if reachable some other way. */
	const uintptr_t *exclude;
	size_t nexclude;
};

struct walk_stats {
	uint64_t objects;       /* objects recorded */
	uint64_t edges;         /* edges recorded before walk_finish drops the
	                           duplicates: the dump's count is
	                           dump.nedges after walk_finish */
	uint64_t walk_ns;       /* time inside walk_heap (GIL held) */
	/* Objects whose size is basicsize + itemsize * |ob_size| (+ pre-header)
	 * because their type's __sizeof__ is Python code we must not run. */
	uint64_t sizes_estimated;
};

/* A walk result: the dump plus the storage behind it. */
struct walk_result {
	struct fmt_dump dump;   /* arrays point into storage owned here */
	void *priv;             /* walk's private storage; see walk_result_free */
};

/*
 * Walks the heap and fills *out.  Precondition: the calling thread holds
 * the GIL and the interpreter is initialized and not finalizing.  The GC is
 * disabled for the duration and restored.  Returns 0, MUPPY_ENOMEM (no
 * partial result is left: *out is empty), or MUPPY_EINVAL if the running
 * interpreter is not one the walker knows.  Uses only malloc/mmap, never
 * the Python allocators.
 */
int walk_heap(const struct walk_opts *opts, struct walk_result *out,
	      struct walk_stats *stats);

/*
 * The GIL-free half: sorts objects by address and remaps edges to indices
 * so that out->dump satisfies fmt_write's preconditions.  Call after the
 * GIL is released (or in the forked child).  Returns 0 or MUPPY_ENOMEM.
 */
int walk_finish(struct walk_result *out);

/* Releases everything in *r and zeroes it.  NULL is a no-op. */
void walk_result_free(struct walk_result *r);

#endif /* MUPPY_SHIM_WALK_H */
