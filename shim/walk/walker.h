/*
 * walker.h - what the files of the walk share (not an interface outside
 * shim/walk/): struct walker, the per-type cache, the edge batching that
 * every reader records through, and the functions one file calls in
 * another.  walk.c's DESIGN NOTES describe the whole; each file owns one
 * part:
 *   walk.c     objects and edges (discovery, batches), the life cycle
 *   tables.c   allocation and the hash tables (tables.h)
 *   maps.c     readable memory (maps.h)
 *   naming.c   the string table and the per-type cache (Pympler names)
 *   readers.c  sizes and the per-kind readers (dict, frame, instance ...)
 *   roots.c    where the walk starts: modules, threads, the gc lists
 *   stream.c   the stream encoder: chunks of a streamed walk
 *   finish.c   walk_finish: address order, CSR edges (a whole dump)
 */
#ifndef MUPPY_SHIM_WALK_WALKER_H
#define MUPPY_SHIM_WALK_WALKER_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint32_t, uint64_t */

#include "format/dump.h"         /* struct fmt_*, FMT_EDGE_* */
#include "format/order.h"        /* struct fmt_edgekey */
#include "shim/cpython/pyapi.h"  /* py_object, PY_* */
#include "shim/walk/maps.h"      /* struct walk_ranges */
#include "shim/walk/tables.h"    /* struct walk_seen, walk_map */
#include "shim/walk/walk.h"      /* struct walk_opts, walk_result */

#define WALK_SRC_PREV (WALK_NOSLOT - 1)  /* walk_edge src: the object of
                                            the edge recorded just before */
#define WALK_NAME_MAX 1024         /* characters kept of a name or key */
#define WALK_SKIPPED UINT32_MAX    /* otype of an object left out (note 8) */

/* ---- walker state --------------------------------------------------------- */

/* Edge names used on every walk, interned once (walk_new). */
#define WALK_FIXED_NAMES(X) \
	X(CLASS, "__class__") X(DICT, "__dict__") X(MRO, "__mro__") \
	X(BASE, "__base__") X(BASES, "__bases__") X(CODE, "__code__") \
	X(CLOSURE, "__closure__") X(F_BACK, "f_back") X(F_CODE, "f_code") \
	X(F_GLOBALS, "f_globals") X(F_BUILTINS, "f_builtins") \
	X(F_LOCALS, "f_locals") X(F_FUNC, "f_func") \
	X(M_FUNC, "__func__") X(M_SELF, "__self__") \
	X(DEFAULTS, "__defaults__") X(KWDEFAULTS, "__kwdefaults__")
#define WALK_NM_ENUM(id, text) WN_##id,
enum walk_fixed_name { WALK_FIXED_NAMES(WALK_NM_ENUM) WN_COUNT };
#undef WALK_NM_ENUM

enum walk_kind {
	WK_PLAIN, WK_DICT, WK_LIST, WK_TUPLE, WK_STR, WK_BYTES, WK_TYPE,
	WK_MODULE, WK_FUNCTION, WK_CODE, WK_FRAME, WK_CELL, WK_METHOD,
};

/* Where instances keep attribute values outside a __dict__ (3.11+). */
enum walk_values {
	WV_NONE,        /* no managed dict, or the layout looks wrong */
	WV_PREHEADER,   /* 3.11: PyDictValues * at PY_OFF_VALUES_PTR */
	WV_TAGGED,      /* 3.12: PY_OFF_MANAGED_DICT holds values - 1 */
	WV_INLINE,      /* 3.13: inline at PY_OFF_INLINE_VALUES if valid */
};

/* How instances of a type are sized (design note 1). */
enum walk_sizing {
	WS_OBJECT,      /* object.__sizeof__, computed inline */
	WS_CALL,        /* METH_NOARGS C method */
	WS_CALL_FAST,   /* METH_FASTCALL (|METH_KEYWORDS), no arguments */
	WS_CALL_METHOD, /* METH_METHOD|METH_FASTCALL|METH_KEYWORDS (3.9+) */
	WS_ESTIMATE,    /* Python-level or unknown: basicsize + items */
};

struct walk_type {
	py_object *type;
	uint32_t name;            /* string id: Pympler's type name */
	uint32_t row;             /* summary row (for WK_PLAIN-like rows) */
	uint8_t kind;             /* enum walk_kind */
	uint8_t exact;            /* exact dict/list/tuple: skip tp_traverse */
	uint8_t have_gc;          /* Py_TPFLAGS_HAVE_GC */
	uint8_t heap;             /* heap type: instances refer to it */
	uint8_t sizing;           /* enum walk_sizing */
	uint8_t pre;              /* pre-header bytes added by getsizeof */
	py_inquiry is_gc;         /* tp_is_gc or NULL */
	py_traverseproc traverse; /* tp_traverse or NULL */
	py_cfunction sizeof_fn;   /* WS_CALL*: cast by calling convention */
	py_object *sizeof_cls;    /* WS_CALL_METHOD: the defining class */
	ssize_t dictoffset;       /* > 0: __dict__ pointer at this offset */
	int managed_dict;         /* 3.11+: __dict__ at PY_OFF_MANAGED_DICT */
	uint8_t values;           /* enum walk_values */
	uint32_t nattr;           /* WV_*: names in the type's shared keys */
	const char *attr_keys;    /* their PyDictUnicodeEntry array */
	uint32_t mem_start, nmem; /* __slots__ members in walk.members read
				     directly (design note 7) */
	uint32_t nmem_cmp;        /* then: members that only name referents
				     tp_traverse reports (note 7) */
	uint8_t invalid;          /* failed walk_type_valid: instances are
				     skipped (note 8) */
	uint8_t indexed;          /* collections.deque: tp_traverse reports
				     the items in order, named [i] */
};

struct walk_member {
	ssize_t offset;
	uint32_t name;            /* string id */
};

struct walk_chunk {
	struct walk_chunk *next;
	size_t used, size;
	char data[];
};

/* An edge waiting for walk_flush. */
struct walk_pending {
	py_object *obj;
	uint32_t src;             /* WALK_NOSLOT: discover only */
	uint32_t name;
};
#define WALK_CMP_MAX 16            /* members naming traverse referents */
#define WALK_BATCH 256
#define WALK_PREFETCH 32          /* table entries in flight */
#define WALK_NAMED_MAX 16         /* named referents kept for walk_visit */
#define WALK_GC_CHUNK 2048        /* gc list nodes read at a time */
#define WALK_AHEAD 16             /* objects fetched ahead (walk_drain) */

/*
 * One chunk of a streamed walk, on its way to fmt_stream_chunk.  Its size
 * is a trade of memory for dump size: three chunks in flight and two
 * dedup scratches are a fixed cost of every snapshot (about 3 bytes an
 * object at 1M objects with 6144 a chunk; 8192 took 2 more, over the 32
 * of the target on 3.11), while shorter columns compress worse (4096:
 * dumps 13% bigger, 6144: 5%).  Measured A/B with bench/heap_app.py at
 * 1M objects; the end to end time did not move.
 */
#define WALK_OUT_OBJECTS 6144
#define WALK_OUT_EDGES 24576
struct walk_out {
	uint32_t first, n, nedges;
	uint64_t addr[WALK_OUT_OBJECTS], size[WALK_OUT_OBJECTS];
	uint32_t type[WALK_OUT_OBJECTS], refcnt[WALK_OUT_OBJECTS];
	uint32_t label[WALK_OUT_OBJECTS];
	uint8_t flags[WALK_OUT_OBJECTS];
	uint32_t src[WALK_OUT_EDGES], dst[WALK_OUT_EDGES];
	uint32_t name[WALK_OUT_EDGES];
	/* The strings made since the chunk before: sent ahead of this one
	 * (its labels and edge names may use them).  A copy, because the
	 * walk's own table may move while a helper encodes. */
	struct fmt_str *strs;
	size_t nstrs, capstrs;
	size_t strs_at;           /* the walk's strings before these */
	/* Encoded ahead by the walk while the helper was busy (stream.c):
	 * the helper then only compresses it.  NULL without a helper. */
	struct fmt_rawchunk *raw;
	int encoded;              /* raw holds this chunk */
};

/* The scratch of a chunk's dedup (stream.c out_dedup): its rows (runs of
 * one referrer) and fmt_edges_dedup's keys.  One for each thread that
 * encodes, not one for each chunk: about a chunk's size. */
struct walk_dedup {
	uint32_t row_start[WALK_OUT_EDGES + 1], row_src[WALK_OUT_EDGES];
	struct fmt_edgekey key[WALK_OUT_EDGES];
	uint8_t drop[WALK_OUT_EDGES];
};

/* A ring of chunks: one filled by the walk while a helper thread
 * encodes the others in turn (stream.c).  Three, so that the helper has
 * one queued while it encodes another: with two, a chunk the walk
 * compressed ahead left the helper idle until the next one filled.
 * Without a helper only buf[0] is used, over and over. */
#define WALK_PIPE_N 3
enum { WALK_PIPE_FREE, WALK_PIPE_FULL, WALK_PIPE_STOP };
struct walk_pipe {
	struct walk_out *buf[WALK_PIPE_N];
	_Atomic uint32_t state[WALK_PIPE_N];   /* WALK_PIPE_*; futex words */
	_Atomic int rc;              /* the encoder's first failure */
	uint64_t dropped;            /* repeated edges merged away, by the
	                                helper (or the walk without one) */
	uint64_t dropped_ahead;      /* ... by the walk, encoding ahead */
	uint64_t ahead;              /* chunks the walk encoded ahead */
	struct fmt_deflater *z;      /* the walk's deflate, to compress
	                                ahead (NULL: only encode ahead) */
	struct walk_dedup *dedup[2]; /* the walk's, the helper's */
	size_t strs_out;             /* walk strings staged so far */
	size_t queue_freed;          /* bytes of the addr column given back
	                                (stream.c out_release_queue) */
	int cur;                     /* the chunk the walk fills */
	int running;                 /* a helper is encoding */
	struct fmt_stream *stream;
	const struct walk_helper *helper;
	const struct walk_warm *warm;   /* helper's read-ahead (note 10) */
	size_t warm_i;               /* range being read ahead */
	uint64_t warm_at;            /* next address in it */
};

struct walker {
	const struct walk_opts *opts;
	int graph;
	int err;                  /* MUPPY_ENOMEM once anything failed */

	/* Objects. */
	struct walk_seen seen;    /* address -> slot (WALK_NOSLOT: excluded) */
	uint32_t nslots;
	uint32_t next;            /* next slot to process: the work queue is
	                             the addr column, in discovery order */
	uint32_t cur;             /* slot being processed (visit callback) */
	uint32_t prev;            /* slot of the last edge's target
	                             (WALK_SRC_PREV; walk_flush) */
	py_object *named[WALK_NAMED_MAX];   /* what cur's named edges reach */
	uint32_t nnamed;
	py_object *indexing;      /* an indexed object being traversed */
	uint32_t next_index;      /* its next item's index */
	struct {
		py_object *val;
		uint32_t name;
	} cmp[WALK_CMP_MAX];      /* names for cur's traverse referents */
	uint32_t ncmp;
	uint64_t skipped;         /* objects left out (design note 8) */
	struct walk_ranges ranges;  /* readable memory (note 8) */
	struct walk_pending pend[WALK_BATCH];
	size_t npend;
	py_object *gcbuf[WALK_GC_CHUNK];  /* read from the gc lists */
	size_t ngcbuf;

	/* Per-object columns by slot (graph mode only, but addr). */
	uint64_t *addr, *size;
	uint32_t *refcnt;         /* saturated (format/dump.h) */
	uint32_t *otype, *label;
	uint8_t *oflags;
	size_t capobj;            /* shared capacity of the columns */

	/* Edges as (src slot, dst slot, name). */
	uint32_t *esrc, *edst, *ename;
	size_t nedges, capedges;

	/* Streaming (opts->stream): objects and edges leave in chunks as
	 * they are found; none of the columns above but addr exist. */
	struct fmt_stream *stream;
	struct walk_out *out;     /* pipe.buf[pipe.cur] */
	struct walk_pipe pipe;

	/* Strings: ids in strs, bytes in chunks, content hash -> id. */
	struct fmt_str *strs;
	size_t nstrs, capstrs;
	struct walk_chunk *chunks;
	struct walk_map strhash;  /* (hash | 1) -> id; collisions chained */
	uint32_t *strnext;        /* next id with the same hash key */
	size_t capstrnext;
	struct walk_map strobj;   /* str object address -> id */
	char *sbuf;               /* scratch for UTF-8 encoding */
	size_t capsbuf;

	/* Types. */
	struct walk_type *types;
	size_t ntypes, captypes;
	struct walk_map typemap;  /* type address -> index */
	struct walk_type *last;   /* one-entry cache */
	struct walk_member *members;
	size_t nmembers, capmembers;
	py_cfunction object_sizeof;
	py_traverseproc subtype_traverse;  /* a class statement's, or NULL */

	/* Summary rows; special rows keyed by (kind, name id). */
	struct fmt_summary_row *rows;
	size_t nrows, caprows;
	struct walk_map rowmap;

	struct fmt_root *roots;   /* obj = slot until walk_finish */
	size_t nroots, caproots;
	struct fmt_strdata *strdata;  /* obj = slot until walk_finish */
	size_t nstrdata, capstrdata;

	int finished;             /* walk_finish succeeded */
	uint32_t names[WN_COUNT]; /* edge names of enum walk_fixed_name */
	uint64_t estimated;       /* sizes not from a C __sizeof__ */

	/* walk_finish output. */
	uint64_t *f_addr, *f_size;
	uint32_t *f_refcnt, *f_estart;
	uint32_t *f_type, *f_label, *f_edst, *f_ename;
	uint8_t *f_flags;
	struct fmt_type *f_types;
};

/* ---- walk.c: discovery and the edge batches ------------------------ */

/*
 * The slot of o, discovering it (slot assigned, pushed for processing) the
 * first time; WALK_NOSLOT for NULL, excluded objects and failures.  For
 * callers that need the slot now; edges go through walk_edge's batches.
 */
uint32_t walk_discover(struct walker *w, py_object *o);

/*
 * Resolves the pending edges (design note 3): hashes and prefetches every
 * target's table entry first, then inserts, so that the cache misses of
 * one batch overlap instead of following each other.
 */
void walk_flush(struct walker *w);

/* tp_traverse callback.  A referent the walker's own readers already
 * named is not recorded again (the unnamed copy would only be dropped by
 * walk_finish: design note 3), which spares a table lookup per
 * attribute, __dict__ and __class__ of every instance. */
int walk_visit(py_object *o, void *arg);

/* Releases everything the walker holds, the walker too; NULL is a no-op. */
void walk_free_walker(struct walker *w);

/* ---- naming.c: strings and types ----------------------------------- */

/* The id of string s (n bytes), added if new; WALK_NOSLOT on failure. */
uint32_t walk_intern(struct walker *w, const char *s, size_t n);

/* walk_intern of a NUL-terminated s. */
uint32_t walk_intern_cstr(struct walker *w, const char *s);

/*
 * Encodes the first max characters of str o as UTF-8 into w->sbuf; returns
 * the byte length, or -1 (unreadable layout, or w->err set).
 */
ssize_t walk_str_utf8(struct walker *w, py_object *o, size_t max);

/* Whether o is a str (exact or subclass). */
int walk_is_str(py_object *o);

/* 1 if str o equals the ASCII string s. */
int walk_str_eq(py_object *o, const char *s);

/* String id of a name held in str o (cached per object); 0 if not a str. */
uint32_t walk_name_id(struct walker *w, py_object *o);

/* Value under the str key s in dict d, found by scanning (no hashing, so
 * no __eq__/__hash__ of foreign keys runs); NULL if absent. */
py_object *walk_dict_find(py_object *d, const char *s);

/* The __qualname__ of type t: ht_qualname, or tp_name after its last dot. */
uint32_t walk_type_qualname(struct walker *w, py_object *t);

/* A C method named name in a static type's tp_methods, or NULL. */
const struct py_methoddef *walk_find_method(py_object *t, const char *name);

/* subtype_traverse (static in CPython), from two classes every
 * interpreter has made by class statements before running a program
 * (io.IOBase, abc.ABCMeta); NULL unless both agree. */
py_traverseproc walk_find_subtype_traverse(void);

/* Adds a summary row named id; returns its index or WALK_NOSLOT. */
uint32_t walk_new_row(struct walker *w, uint32_t id);

/* walk_type past its one-entry cache. */
struct walk_type *walk_type_lookup(struct walker *w, py_object *t);

/* ---- readers.c: the per-kind readers ------------------------------- */

/*
 * Processes the queue (design note 3) until it is empty: slots in
 * discovery order, a breadth-first walk.  Unlike a stack, the queue shows
 * what comes next, so objects are fetched ahead of use in two steps:
 * their heads WALK_AHEAD slots ahead, then what the heads point to.
 */
void walk_drain(struct walker *w);

/* ---- roots.c: where the walk starts -------------------------------- */

/* Every module in sys.modules: a root each, named by its key. */
void walk_modules(struct walker *w);

/*
 * Every thread's frames.  On 3.11+ this materializes frame objects for
 * running frames, as sys._current_frames() does; each one is owned by
 * its interpreter frame, so dropping our reference frees nothing.
 */
void walk_threads(struct walker *w);

/* Discovers every gc-tracked object.  Returns 0 or MUPPY_EINVAL. */
int walk_gc_objects(struct walker *w);

/* ---- stream.c: the stream encoder ---------------------------------- */

/* Sends the chunk: the strings made since the last one first (its labels
 * and edge names may use them), then its objects and edges. */
void walk_out_flush(struct walker *w);

/* Sets up the chunks of a streamed walk into fs, and starts the helper if
 * there is one (if it cannot start, chunks are encoded by the walk), with
 * warm (may be NULL) to read ahead while idle (walk.c design note 10).
 * 0, or -1 out of memory. */
int walk_out_start(struct walker *w, struct fmt_stream *fs,
		   const struct walk_helper *helper,
		   const struct walk_warm *warm);

/* After the last walk_out_flush: waits for the helper to encode what it
 * was given and joins it; w->err gets its failure, w->nedges the edges
 * merged away. */
void walk_out_end(struct walker *w);

/* Releases the chunks (joining a helper still running). */
void walk_out_free(struct walker *w);

/* Streams the record of slot (type WALK_SKIPPED: left out). */
void walk_out_object(struct walker *w, uint32_t slot, uint32_t type,
		uint64_t size, uint32_t refcnt, uint32_t label, uint8_t flags);

/* ---- inline: the per-object and per-edge path ------------------------- */

static inline void
walk_fail(struct walker *w)
{
	w->err = MUPPY_ENOMEM;
}

static inline void
walk_out_edge(struct walker *w, uint32_t src, uint32_t dst, uint32_t name)
{
	struct walk_out *o = w->out;

	o->src[o->nedges] = src;
	o->dst[o->nedges] = dst;
	o->name[o->nedges] = name;
	if (++o->nedges == WALK_OUT_EDGES)
		walk_out_flush(w);
}

/* Records the edge src -> o named name (graph mode) and discovers o;
 * src WALK_NOSLOT only discovers.  Resolved in batches (walk_flush). */
static inline void
walk_edge(struct walker *w, uint32_t src, py_object *o, uint32_t name)
{
	struct walk_pending *p;

	if (!o)
		return;
	if (name != FMT_EDGE_NONE && src == w->cur &&
	    w->nnamed < WALK_NAMED_MAX)
		w->named[w->nnamed++] = o;
	p = &w->pend[w->npend++];
	p->obj = o;
	p->src = src;
	p->name = name;
	if (w->npend == WALK_BATCH)
		walk_flush(w);
}

/* Packs an edge name, keeping ids that fit (FMT_EDGE_VALUE_MAX). */
static inline uint32_t
walk_ename(enum fmt_edge_kind kind, uint32_t value)
{
	if (value > FMT_EDGE_VALUE_MAX)
		return FMT_EDGE_NONE;
	return FMT_EDGE_NAME(kind, value);
}

/* Named slot edge (FMT_EDGE_OTHER), name one of enum walk_fixed_name. */
static inline void
walk_edge_other(struct walker *w, uint32_t src, py_object *o,
		enum walk_fixed_name n)
{
	if (o)
		walk_edge(w, src, o, walk_ename(FMT_EDGE_OTHER, w->names[n]));
}

/* The cache entry of type t, created on first use; NULL on failure.  Most
 * objects have the type of the one before (a list of ints, a dict's
 * values), so the check of the last one stays inline. */
static inline struct walk_type *
walk_type(struct walker *w, py_object *t)
{
	if (w->last && w->last->type == t)
		return w->last;
	return walk_type_lookup(w, t);
}

#endif
