/*
 * graph.h - the object graph of a dump as the analyses need it: the
 * reverse edge index (who refers to an object), the root set, shortest
 * paths from the roots (BFS), and the Python-like text of a path
 * (`sys.modules['app'].registry['k'][3].callback`).
 *
 * Used by `muppy tree`, `path`, `leaks`, `top`, `orphans` and
 * `diff --objects` (tools/cmd_*.c) and by the dominator tree
 * (tools/dominators.[ch]).  It reads a struct fmt_dump (format/dump.h) and
 * never changes it; it knows nothing of options or output formats.
 *
 * DESIGN NOTES
 *   1. Everything here is linear in objects + edges and allocates a fixed
 *      number of flat arrays, never one block per object: the reverse index
 *      is a CSR built by counting sort (8 bytes per object + 4 per edge),
 *      shortest paths add 8 bytes per object (the edge a parent
 *      reached a child by is found again, not kept); an analysis that needs
 *      only in-degrees (`path`) leaves the 4 bytes per edge out
 *      (graph_build_with).  Object indices are uint32
 *      (graph_build refuses dumps of 2**32 - 2 objects or more).
 *   2. Referrers of an object come in ascending referrer index (= address)
 *      order, a referrer holding the object twice (a list [x, x]) twice in
 *      a row: the counting sort visits sources in order.
 *   3. Roots.  A dump root (FMT_ROOT_*: a module in sys.modules, a thread's
 *      innermost frame, anything else the walker started from), and every
 *      object "held from outside the heap": its refcount is larger than the
 *      number of edges into it that the walk found, so something the walk
 *      cannot see (C code, an extension, the interpreter's statics, the
 *      evaluation stack) holds it.  Immortal and static objects (refcount
 *      >= GRAPH_IMMORTAL_REFCNT: 3.12+ immortals read 2**32 - 1, 3.11
 *      statics about 1e9) count as held from outside as well.
 *   4. Shortest paths prefer dump roots: the BFS runs from the dump roots
 *      (modules first, then frames, then the others, each in dump order)
 *      to exhaustion, and only then from the objects held from outside for
 *      what is still unreached.  A module's name for an object is more
 *      useful than the one extra reference a C caller happens to hold.
 */
#ifndef MUPPY_TOOLS_GRAPH_H
#define MUPPY_TOOLS_GRAPH_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint32_t, uint64_t */

#include "common/text.h"   /* struct text_buf */
#include "format/dump.h"   /* struct fmt_dump */

#ifdef __cplusplus
extern "C" {
#endif

#define GRAPH_NONE UINT32_MAX          /* no object / unreachable */
#define GRAPH_ROOTED (UINT32_MAX - 1)  /* parent of a path's first object */

/* Refcounts from here up are immortal or static objects (design note 3). */
#define GRAPH_IMMORTAL_REFCNT (1ull << 29)

/* Per-object flags (struct graph.flags). */
#define GRAPH_F_DUMPROOT 0x1u  /* listed in the dump's ROOTS */
#define GRAPH_F_EXTERN   0x2u  /* refcount > in-heap referrer edges */
#define GRAPH_F_IMMORTAL 0x4u  /* refcount >= GRAPH_IMMORTAL_REFCNT */

struct graph {
	const struct fmt_dump *d;  /* borrowed; must outlive the graph */
	uint32_t n;                /* objects */
	uint32_t *rev_start;       /* n + 1: referrers of i are */
	uint32_t *rev_src;         /* rev_src[rev_start[i] .. rev_start[i+1]) */
	uint8_t *flags;            /* GRAPH_F_* per object */
	uint32_t nroots;           /* dump roots sorted by (obj, entry): */
	uint32_t *root_by_obj;     /* indices into d->roots */
};

/* What graph_build_with builds beyond in-degrees, flags and roots. */
#define GRAPH_BUILD_REFERRERS 0x1u  /* rev_src: who refers to each object */
#define GRAPH_BUILD_NO_DEGREES 0x2u /* rev_start freed once the flags are
                                       set (without REFERRERS only):
                                       graph_indegree then scans the edges */
#define GRAPH_BUILD_DROP_COUNTS 0x4u /* graph_open_with: the dump's
                                        refcounts and object flags freed
                                        once the graph's flags are set,
                                        for an analysis that shows
                                        neither (graph_drop_counts) */

/*
 * Builds the indexes of d into *g (zeroed first).  Returns 0; MUPPY_EINVAL
 * if d has no graph, too many objects, or an edge or root naming an object
 * out of range (g then empty); MUPPY_ENOMEM.  d is only read.
 * graph_build builds everything; graph_build_with(g, d, 0) leaves rev_src
 * NULL (rev_start still counts each object's referrers), 4 bytes per edge
 * less for an analysis that asks for the referrers of a few objects only
 * (graph_referrers scans the edges for them).
 */
int graph_build(struct graph *g, const struct fmt_dump *d);
/* Frees d's obj_refcnt and obj_flags (NULL after): graph_build_with has
 * read what it needs of them. */
void graph_drop_counts(struct fmt_dump *d);
int graph_build_with(struct graph *g, const struct fmt_dump *d,
		     unsigned what);

/* Releases g's arrays and zeroes it.  NULL is a no-op. */
void graph_free(struct graph *g);

uint64_t graph_scan_indegree(const struct graph *g, uint32_t i);

/* Edges into object i found in the heap (one pass over the edges when
 * built with GRAPH_BUILD_NO_DEGREES). */
static inline uint64_t
graph_indegree(const struct graph *g, uint32_t i)
{
	if (!g->rev_start)
		return graph_scan_indegree(g, i);
	return g->rev_start[i + 1] - g->rev_start[i];
}

/*
 * The referrers of object i, in ascending index order with repeats (as in
 * rev_src, design note 2), into *out (malloc'd, the caller frees; at least
 * one element allocated).  From rev_src when it was built, else by one
 * pass over every edge.  Returns how many, or -1 when out of memory.
 */
int64_t graph_referrers(const struct graph *g, uint32_t i, uint32_t **out);

/*
 * The referrers of every object within a few referrer steps of some
 * targets, for an analysis that walks referrers outward from them
 * (`tree`) on a graph built without rev_src: each level costs one pass
 * over the edges and 8 bytes per referrer found, where the whole index
 * costs 4 bytes per edge.  When the levels do not close within
 * GRAPH_NEAR_PASSES passes, or the referrers found pass a quarter of the
 * edges, it builds the whole index instead (its own copy).  On a graph
 * built with rev_src it only borrows that.
 */
#define GRAPH_NEAR_PASSES 8

struct graph_near {
	const struct graph *g;
	uint64_t *pairs;       /* dst << 32 | src, ascending */
	uint64_t npairs;
	uint8_t *covered;      /* bitmap: objects whose referrers pairs holds */
	uint32_t *all;         /* the whole index (rev_src's layout) instead */
};

/*
 * Gathers the referrers of the objects at most levels - 1 referrer steps
 * from targets[0 .. ntargets) into *r.  Returns 0 or MUPPY_ENOMEM (r then
 * empty).
 */
int graph_near_build(struct graph_near *r, const struct graph *g,
		     const uint32_t *targets, size_t ntargets,
		     uint32_t levels);

/*
 * The referrers of obj as graph_referrers orders them, into out (room for
 * graph_indegree(g, obj)); how many.  An object outside the levels
 * gathered costs a pass over the edges.
 */
uint64_t graph_near_referrers(const struct graph_near *r, uint32_t obj,
			      uint32_t *out);

void graph_near_free(struct graph_near *r);

/* The d->roots entry for object i, or -1 if i is no dump root (the first
 * entry if it is listed twice).  O(log roots). */
int64_t graph_root_entry(const struct graph *g, uint32_t i);

/* Pympler's type name of object i ("dict", "__main__.Foo"). */
const char *graph_type_name(const struct fmt_dump *d, uint32_t i);

/* ---- shortest paths ------------------------------------------------- */

struct graph_paths {
	uint32_t *parent;    /* per object: the object it was reached from,
	                        GRAPH_ROOTED for roots, GRAPH_NONE if not
	                        reachable from any root */
	uint32_t *order;     /* reached objects in BFS order (parents first) */
	uint32_t nreached;
};

/* BFS from the roots (design note 4) into *p.  Returns 0 or MUPPY_ENOMEM
 * (p then empty).  Linear time. */
int graph_paths_compute(const struct graph *g, struct graph_paths *p);
void graph_paths_free(struct graph_paths *p);

/* One step of a chain: the object, and the name of the edge it was reached
 * by from the previous step (meaningless in step 0, the root). */
struct graph_hop {
	uint32_t obj;
	uint32_t name;       /* FMT_EDGE_NAME */
};

/*
 * The chain root -> ... -> target from p into *hops (grown with realloc;
 * *cap its capacity; the caller frees *hops).  Returns the number of
 * steps (>= 1), 0 if target is unreachable, or -1 (out of memory; *hops
 * still owned by the caller).
 */
int64_t graph_chain(const struct graph *g, const struct graph_paths *p,
		    uint32_t target, struct graph_hop **hops, size_t *cap);

/* Scratch space for graph_chain_from, reused across searches.  The
 * backward searches follow rev_src (GRAPH_BUILD_REFERRERS), or the
 * referrers graph_search_gather collected. */
struct graph_search {
	uint32_t *toward;    /* per object: the referent it was reached from */
	uint32_t *stamp;     /* per object: the search that visited it */
	uint32_t *queue;
	uint32_t gen;
	struct graph_pending *pend;   /* graph_chain_named's queue */
	uint32_t npend;      /* its capacity */
	uint64_t *near;      /* without rev_src: dst << 32 | src, ascending */
	uint64_t nnear;
	uint8_t *covered;    /* bitmap: objects whose referrers near holds */
};
int graph_search_init(struct graph_search *s, const struct graph *g);
void graph_search_free(struct graph_search *s);
/*
 * For a graph built without rev_src: gathers the referrers the searches
 * below will follow, level by level outward from targets[0 .. n): one
 * pass over the edges per level, at most levels of them, and at most
 * maxpairs referrers (8 bytes each; a level that would pass that is left
 * out).  A search that reaches an object whose referrers were not
 * gathered goes no further from it, so it may find no chain where the
 * whole index would: the caller keeps what it had.  Returns 0 or
 * MUPPY_ENOMEM.  A no-op on a graph with rev_src.
 */
int graph_search_gather(struct graph_search *s, const struct graph *g,
			const uint32_t *targets, size_t n, uint32_t levels,
			uint64_t maxpairs);

/*
 * A shortest chain from object `from` to target, as graph_chain's (hops[0]
 * is from, with name 0), found backwards from target over referrers: at
 * most maxdepth edges and budget objects visited, so that asking for a
 * path through a given module costs little.  Returns the number of steps,
 * 0 when there is none within the bounds, -1 when out of memory.
 */
int64_t graph_chain_from(const struct graph *g, struct graph_search *s,
			 uint32_t from, uint32_t target, uint32_t maxdepth,
			 uint32_t budget, struct graph_hop **hops, size_t *cap);

/*
 * The chain from a dump root to target that reads best: each named edge
 * costs 1, an unnamed one (`<?>`) 3, so `copyreg.dispatch_table` wins over
 * the same dict reached through another module's C state.  Searched
 * backwards from target over referrers, up to maxcost and budget queue
 * entries.  Returns as graph_chain_from (0: none within the bounds).
 */
int64_t graph_chain_named(const struct graph *g, struct graph_search *s,
			  uint32_t target, uint32_t maxcost, uint32_t budget,
			  struct graph_hop **hops, size_t *cap);

/* ---- text ------------------------------------------------------------ */

/* Python's repr() of the str s (quotes chosen as Python does). */
void graph_repr(struct text_buf *b, const char *s);

/* How the first step of a chain reads: `sys.modules['app']`,
 * `<frame f (thread 1)>`, `<held from C: 0x1000>` (pattern: the holder's
 * type instead of its address), `<root NAME>`. */
void graph_root_text(const struct graph *g, uint32_t obj, int pattern,
		     struct text_buf *b);

/* How one edge reads on its own: `['k']`, `[3]`, `.name`, `.<cell 'x'>`,
 * `.<key>`, `.__dict__`, `.<?>`. */
void graph_edge_text(const struct fmt_dump *d, uint32_t name,
		     struct text_buf *b);

/*
 * The whole chain as one expression.  A `.__dict__` step followed by a
 * str key that is an identifier reads as an attribute (`.x`).  With
 * pattern set: list/tuple indices read `[*]`, and a dict key whose value
 * is_new[] marks (a key that varies with the data, not the code) reads
 * `['*']`; is_new may be NULL.
 */
void graph_chain_text(const struct graph *g, const struct graph_hop *hops,
		      size_t n, int pattern, const uint8_t *is_new,
		      struct text_buf *b);

/* Pympler's summary._repr of object i: its summary row name
 * (`function (f)`, `frame (codename: g)`, `module(m)`, else the type). */
void graph_row_name(const struct fmt_dump *d, uint32_t i,
		    struct text_buf *b);

/* ---- across dumps ----------------------------------------------------- */

/*
 * Which objects of dump b were already in dump a: same address and same
 * type (the type object's address and name).  Sets seen[i] |= bit for
 * every such object i of b (seen has b->nobjects entries).  Linear (a
 * merge of the two address-sorted object arrays) plus a sort of a's
 * types.  Returns 0 or MUPPY_ENOMEM.
 */
int graph_mark_common(const struct fmt_dump *a, const struct fmt_dump *b,
		      uint8_t *seen, uint8_t bit);
/* As graph_mark_common; also, for every such object i of b (others
 * left), size_in_a[i] = its size in a (at most GRAPH_SIZE_BIG: larger
 * sizes compare as equal) and, when a holds its out-degrees,
 * degree_in_a[i] = how many referents it had there (either may be NULL). */
#define GRAPH_SIZE_BIG (UINT32_MAX - 1)
int graph_match_common(const struct fmt_dump *a, const struct fmt_dump *b,
		       uint8_t *seen, uint8_t bit, uint32_t *size_in_a,
		       uint32_t *degree_in_a);

/* Pairs key << 32 | value (a referrer index's dst << 32 | src): qsort's
 * comparator, and where the pairs of key begin in ascending pairs[0 .. n)
 * (n when none is at or past key). */
int graph_pair_cmp(const void *pa, const void *pb);
uint64_t graph_pairs_first(const uint64_t *pairs, uint64_t n, uint32_t key);

/* ---- command helpers ------------------------------------------------ */

/*
 * Parses an object address: `0x` hex, or decimal (Python's id()).  Returns
 * 0 and *addr, or -1 if s is neither.
 */
int graph_parse_address(const char *s, uint64_t *addr);

/*
 * Reads a graph dump for an analysis: util_read_dump, then refuses a
 * summary-only dump.  Prints the error; returns 0 or the exit status.
 */
int graph_read_dump(const char *path, struct fmt_dump *d);

/*
 * As graph_read_dump, decoding the objects only (FMT_READ_OBJECTS: no
 * edges, roots or string contents), for matching objects across dumps
 * (graph_mark_common): a quarter of the memory of a whole graph.
 */
int graph_read_objects(const char *path, struct fmt_dump *d);
/* As graph_read_objects, addresses and types only (FMT_READ_MATCH). */
int graph_read_match(const char *path, struct fmt_dump *d);

/* As graph_read_objects, with each object's number of referents too
 * (FMT_READ_DEGREES: edge_start only). */
int graph_read_degrees(const char *path, struct fmt_dump *d);

/*
 * graph_read_dump, then graph_build: the first step of every analysis.
 * Prints the error; returns 0 (caller frees both: graph_free first) or
 * the exit status (nothing left to free).
 */
int graph_open(const char *path, struct fmt_dump *d, struct graph *g);
int graph_open_with(const char *path, unsigned what, struct fmt_dump *d,
		    struct graph *g);

/*
 * The analyses' one prologue and epilogue: graph_open(path), fn on the
 * graph with args, stdout finished (a failed write is exit 1), everything
 * freed.  fn returns an exit status and prints its own errors.
 */
typedef int (*graph_analysis_fn)(const struct graph *g, const void *args);
int graph_run(const char *path, graph_analysis_fn fn, const void *args);
/* As graph_run, the graph built with graph_build_with(what). */
int graph_run_with(const char *path, unsigned what, graph_analysis_fn fn,
		   const void *args);

/*
 * Resolves a TARGET operand of `tree`/`path` in d: an address that must
 * be an object of the dump.  Prints the error (exit 2) naming it.
 * Returns 0 and *obj, or the exit status.
 */
int graph_find_target(const struct fmt_dump *d, const char *path,
		      const char *target, uint32_t *obj);

/*
 * The types --type NAME means: those named exactly name (several types
 * may share a name), else, when there are none, those whose name ends in
 * ".name" (`Session` for `__main__.Session`, `models.Session` for
 * `app.models.Session`) if that suffix names one type name only.
 * type_ok[t] is set for every such type; returns how many types matched
 * (0: none, type_ok all clear), or -1 when the short name fits several
 * type names (each listed on stderr, for an exit status 2; nothing is
 * printed when path is NULL).
 */
int64_t graph_types_named(const struct fmt_dump *d, const char *path,
			  const char *name, uint8_t *type_ok);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_GRAPH_H */
