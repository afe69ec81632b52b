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
#include "shim/walk/maps.h" /* struct walk_warm */

/*
 * A second thread for a streamed walk's encoder (walk_opts.helper): start
 * runs fn(arg) on a new thread and returns 0, or -1 if it cannot (the walk
 * then encodes on its own thread, as without a helper); join waits until
 * fn has returned.  The walk calls each at most once, start before join.
 * fn blocks no signal and calls no Python; it compresses and writes.
 */
struct walk_helper {
	int (*start)(void *ctx, void (*fn)(void *), void *arg);
	void (*join)(void *ctx);
	void *ctx;
};

struct walk_opts {
	int graph;              /* 1: objects, edges, roots; 0: summary only */
	uint32_t strings;       /* store first N chars of str/bytes (0: none) */
	/* Objects to leave out of the walk (the in-process API's own lists and
	 * the like): addresses, may be NULL/0.  Their referents are still
	 * walked if reachable some other way. */
	const uintptr_t *exclude;
	size_t nexclude;
	/* Graph mode only: stream objects and edges to this open stream as
	 * they are found (format 1.1, dump.h), keeping neither; the result's
	 * dump is then the stream's tail (fmt_stream_end: tables, roots and
	 * string contents by slot) and walk_finish has nothing to do.  Its
	 * storage is a summary walk's: walk_prepare(0, ...). */
	struct fmt_stream *stream;
	/* With stream: where chunks are encoded while the walk goes on (NULL:
	 * by the walk itself, between objects). */
	const struct walk_helper *helper;
	/* With a helper: memory it reads ahead of the walk while it has no
	 * chunk to encode (walk.c design note 10; a snapshot child's), or
	 * NULL.  Must stay mapped until walk_heap returns. */
	const struct walk_warm *warm;
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
	/* Objects left out because a fact the walker needs about them (their
	 * type, its layout) did not hold up (walk.c design note 8). */
	uint64_t skipped;
	/* A stream with a helper: chunks the walk encoded itself because the
	 * helper was still compressing the one before (stream.c). */
	uint64_t chunks_ahead;
};

/* A walk result: the dump plus the storage behind it. */
struct walk_result {
	struct fmt_dump dump;   /* arrays point into storage owned here */
	void *priv;             /* walk's private storage; see walk_result_free */
};

/* Storage for one walk, made ready ahead (walk_prepare). */
struct walk_prep;

/*
 * How big the next walk will be: objects (the return value) and edges
 * (*edges), from the last walk, else estimated from the allocator's block
 * count; 0 if unknown.  Precondition: the GIL is held.  Cheap: no heap
 * walk.
 */
size_t walk_expect(size_t *edges);

/*
 * Allocates the walk's arrays for about objects objects and edges edges
 * (0: 2.5 per object) and, if prefault, faults their pages in: about 100
 * bytes per object of page faults that walk_heap would otherwise take with
 * the GIL held (a snapshot child, which holds no GIL, leaves them to the
 * walk: they come as the tables fill).  Needs no GIL (call it with the GIL released).  Returns NULL when objects
 * is 0 or memory is short: walk_heap then allocates as it goes.  Owned by
 * the caller until passed to walk_heap; walk_prep_free(NULL) is a no-op.
 */
struct walk_prep *walk_prepare(int graph, size_t objects, size_t edges,
			       int prefault);
void walk_prep_free(struct walk_prep *prep);

/*
 * Walks the heap and fills *out.  Precondition: the calling thread holds
 * the GIL and the interpreter is initialized and not finalizing.  prep
 * (may be NULL) is storage from walk_prepare, taken over: used, or
 * released when it was made for the other mode, and in every case no
 * longer the caller's.  The GC is disabled for the duration and restored.
 * Returns 0, MUPPY_ENOMEM (no partial result is left: *out is empty), or
 * MUPPY_EINVAL if the running interpreter is not one the walker knows;
 * streaming, also the stream's error (MUPPY_EIO: the sink failed).
 * Uses only malloc/mmap, never the Python allocators.
 */
int walk_heap(const struct walk_opts *opts, struct walk_prep *prep,
	      struct walk_result *out, struct walk_stats *stats);

/*
 * The GIL-free half: sorts objects by address and remaps edges to indices
 * so that out->dump satisfies fmt_write's preconditions.  Call after the
 * GIL is released (or in the forked child).  Returns 0 or MUPPY_ENOMEM.
 */
int walk_finish(struct walk_result *out);

/* Releases everything in *r and zeroes it.  NULL is a no-op. */
void walk_result_free(struct walk_result *r);

/*
 * The walk's objects and edges as found, before walk_finish sorts and
 * de-duplicates them (graph mode), for in-process users that need no
 * dump (muppy.refbrowser): object slot i is at addr[i], in discovery
 * order; otype[i] == WALK_RAW_SKIPPED marks an object left out (design
 * note 8 of walk.c), whose edges must be ignored; edge k is esrc[k] ->
 * edst[k], as slots, repeats included.  Borrowed from r, valid until
 * walk_finish or walk_result_free.  Returns 0, or -1 if r is not an
 * unfinished graph walk.
 */
#define WALK_RAW_SKIPPED UINT32_MAX
struct walk_raw {
	uint32_t n;
	const uint64_t *addr;
	const uint32_t *otype;
	size_t nedges;
	const uint32_t *esrc, *edst;
};
int walk_raw(const struct walk_result *r, struct walk_raw *out);

/* Automatic collection off (returns the previous state) and back on:
 * between a walk and holding what it found, nothing may free objects.
 * GIL held. */
int walk_gc_off(void);
void walk_gc_on(int was);

#endif /* MUPPY_SHIM_WALK_H */
