/*
 * dump.h - the muppy dump format: the one definition shared by the shim
 * (which writes dumps inside the profiled process) and the offline tools
 * (which read them).  Nothing else in the project knows the bytes.
 *
 * This header owns: the version constants, the on-disk section ids, the
 * in-memory model of a dump (struct fmt_dump), the encoder (fmt_write) and
 * the decoder (fmt_read_*).  It deliberately does not know about Python:
 * the shim fills a struct fmt_dump from the heap, the tools analyse one.
 * The byte layout is specified in docs/format.md; keep the two in step.
 *
 * FILE LAYOUT (all integers little-endian)
 *
 *   offset  size  field
 *   0       8     magic "MUPPYDMP"
 *   8       2     major version (MUPPY_FORMAT_MAJOR)
 *   10      2     minor version (MUPPY_FORMAT_MINOR)
 *   12      4     flags (FMT_FLAG_*)
 *   16      4     CRC32 of bytes 0..15
 *   20      ...   body: one zlib stream; inflated, a sequence of sections
 *                 (u32 id, u64 length, payload) ending with FMT_SEC_END
 *   end-16  8     uncompressed body length
 *   end-8   4     CRC32 of the uncompressed body
 *   end-4   4     trailer magic "MEND"
 *
 * DESIGN NOTES
 *   1. Section ids are frozen on-disk constants; readers skip ids they do
 *      not know (a newer minor may add sections).  A newer major is refused.
 *   2. The SUMMARY section comes before any graph section, so a reader that
 *      only wants the per-type table never decodes objects or edges.
 *   3. Objects are stored sorted by address; everywhere else an object is
 *      named by its index in that order (edges, roots, string contents).
 *   4. Every string (type names, labels, edge names, summary rows) lives
 *      once in the string table and is named by its id.
 *   5. A dump either decodes completely and verifies (header CRC, stream
 *      end, body length, body CRC, END section last) or is rejected whole.
 */
#ifndef MUPPY_FORMAT_DUMP_H
#define MUPPY_FORMAT_DUMP_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint32_t, uint64_t */

#ifdef __cplusplus
extern "C" {
#endif

/* Bump the major when an old reader would misread a new file; bump the
 * minor when a new file only adds sections or meta keys old readers skip. */
#define MUPPY_FORMAT_MAJOR 1
#define MUPPY_FORMAT_MINOR 2     /* the newest this code reads and writes */
#define FMT_MINOR_WHOLE 0        /* what fmt_write writes: a 1.0 reader
                                    reads it */
#define FMT_MINOR_STREAM 2       /* what fmt_stream_* write (1.2: CHUNK2;
                                    1.1 wrote CHUNK, still read) */

#define FMT_MAGIC "MUPPYDMP"           /* 8 bytes, no NUL on disk */
#define FMT_TRAILER_MAGIC "MEND"       /* 4 bytes, no NUL on disk */
#define FMT_HEADER_SIZE 20
#define FMT_TRAILER_SIZE 16

/*
 * The most a body may inflate to: FMT_MAX_RATIO bytes per byte of zlib
 * stream, and at least FMT_MAX_SMALL_BODY.  Real dumps inflate 2-15
 * times (docs/format.md); zlib alone allows 1032, and without a bound a
 * small crafted file makes a reader work for minutes.
 */
#define FMT_MAX_RATIO 128u
#define FMT_MAX_SMALL_BODY ((uint64_t)1 << 20)

/* Header flags. */
#define FMT_FLAG_GRAPH   0x1u  /* OBJECTS, EDGES and ROOTS sections present */
#define FMT_FLAG_STRINGS 0x2u  /* STRDATA section present (string contents) */
#define FMT_FLAG_STREAM  0x4u  /* 1.1: the graph is in CHUNK(2) sections, in
                                  the walk's order (see fmt_stream_begin) */

/* On-disk section ids.  Frozen: never renumber, never reuse. */
#define FMT_SEC_END     0u
#define FMT_SEC_META    1u
#define FMT_SEC_STRTAB  2u
#define FMT_SEC_TYPES   3u
#define FMT_SEC_SUMMARY 4u
#define FMT_SEC_OBJECTS 5u
#define FMT_SEC_EDGES   6u
#define FMT_SEC_ROOTS   7u
#define FMT_SEC_STRDATA 8u
#define FMT_SEC_CHUNK   9u     /* 1.1, FMT_FLAG_STREAM: objects and edges */
#define FMT_SEC_CHUNK2  10u    /* 1.2: CHUNK, targets move-to-front coded */

/* Errors: every library function returns 0 or one of these. */
enum muppy_err {
	MUPPY_OK = 0,
	MUPPY_ENOMEM = -1,   /* allocation failed */
	MUPPY_EIO = -2,      /* read/write/open failed (errno kept) */
	MUPPY_ECORRUPT = -3, /* not a dump, truncated, or checksum mismatch */
	MUPPY_EVERSION = -4, /* a major version this reader does not know */
	MUPPY_EINVAL = -5,   /* caller passed an inconsistent struct fmt_dump */
};

/* Object flags (struct fmt_dump.obj_flags). */
#define FMT_OBJ_GC_TRACKED 0x1u  /* gc.is_tracked(o) was true */
#define FMT_OBJ_TYPE       0x2u  /* the object is itself a type */
#define FMT_OBJ_STATIC     0x4u  /* kept by the interpreter for its whole
                                    life: a static type, None, True,
                                    False, Ellipsis, NotImplemented, a
                                    cached small int, an interned str */

/* Edge names: a uint32 packing (value << 3) | kind.  A value that does not
 * fit in 29 bits is stored as FMT_EDGE_NONE. */
enum fmt_edge_kind {
	FMT_EDGE_NONE = 0,   /* unnamed (seen only through tp_traverse) */
	FMT_EDGE_KEY = 1,    /* dict value under str key: value = string id */
	FMT_EDGE_INDEX = 2,  /* list/tuple item: value = index; also a dict
	                        value under an int key 0..2^29-1 (value) */
	FMT_EDGE_ATTR = 3,   /* attribute: value = string id of the name */
	FMT_EDGE_LOCAL = 4,  /* frame local variable: value = string id */
	FMT_EDGE_CELL = 5,   /* closure cell / free variable: value = string id */
	FMT_EDGE_DICTKEY = 6,/* dict -> one of its key objects: value = 0 */
	FMT_EDGE_OTHER = 7,  /* a named slot (__dict__, __class__, f_back...):
	                        value = string id */
};
#define FMT_EDGE_NAME(kind, value) (((uint32_t)(value) << 3) | (uint32_t)(kind))
#define FMT_EDGE_KIND(name) ((enum fmt_edge_kind)((name) & 7u))
#define FMT_EDGE_VALUE(name) ((name) >> 3)
#define FMT_EDGE_VALUE_MAX ((1u << 29) - 1)

/* Root kinds (struct fmt_root.kind). */
enum fmt_root_kind {
	FMT_ROOT_MODULE = 1,  /* a module in sys.modules: name = its key */
	FMT_ROOT_FRAME = 2,   /* a thread's innermost frame: name = "thread N" */
	FMT_ROOT_OTHER = 3,   /* anything else the walker started from */
};

/* The string table entry id 0 is always the empty string "", used as
 * "no label / no name". */
#define FMT_NO_STRING 0u

struct fmt_str {
	const char *ptr;  /* bytes, NUL-terminated in memory (not on disk) */
	uint32_t len;     /* length without the NUL */
};

struct fmt_meta {
	uint32_t key;     /* string id, e.g. "pid" (see docs/format.md) */
	uint32_t value;   /* string id, the value printed as text */
};

struct fmt_type {
	uint64_t addr;    /* address of the type object */
	uint32_t name;    /* string id: Pympler's name ("dict", "__main__.Foo") */
};

struct fmt_summary_row {
	uint32_t name;    /* string id: Pympler's row name, e.g. "dict",
	                     "function (f)", "frame (codename: g)", "module(m)" */
	uint64_t count;   /* number of objects */
	uint64_t size;    /* sum of sys.getsizeof */
};

struct fmt_root {
	uint32_t obj;     /* object index */
	uint32_t kind;    /* enum fmt_root_kind */
	uint32_t name;    /* string id */
};

struct fmt_strdata {
	uint32_t obj;     /* object index of the str/bytes object */
	uint32_t str;     /* string id of its (possibly cut) contents */
};

/*
 * A whole dump in memory.  Arrays are owned by whoever filled the struct:
 * fmt_read_* allocates them and fmt_dump_free releases them; a writer fills
 * them with its own storage and fmt_write only reads them (fmt_dump_free
 * on a writer-filled struct, whose owned is NULL, only zeroes it).
 *
 * Objects are columns indexed 0..nobjects-1, sorted by obj_addr ascending
 * (no duplicates).  Edges are in CSR form: the referents of object i are
 * edge_dst[edge_start[i] .. edge_start[i+1]-1], with names in edge_name.
 */
struct fmt_dump {
	uint16_t major, minor;       /* as read; fmt_write writes the current */
	uint32_t flags;              /* FMT_FLAG_* */

	uint32_t nstrings;           /* >= 1: strings[0] is "" */
	struct fmt_str *strings;

	uint32_t nmeta;
	struct fmt_meta *meta;

	uint32_t ntypes;
	struct fmt_type *types;

	uint32_t nsummary;
	struct fmt_summary_row *summary;

	/* Graph (present iff flags & FMT_FLAG_GRAPH). */
	uint64_t nobjects;
	uint64_t *obj_addr;          /* sorted ascending */
	uint32_t *obj_type;          /* index into types[] */
	uint64_t *obj_size;          /* sys.getsizeof */
	uint32_t *obj_refcnt;        /* ob_refcnt as read, saturated at
	                                UINT32_MAX (on disk: the full value) */
	uint32_t *obj_label;         /* string id, FMT_NO_STRING if none */
	uint8_t *obj_flags;          /* FMT_OBJ_* */

	uint64_t nedges;             /* <= UINT32_MAX */
	uint32_t *edge_start;        /* nobjects + 1 entries */
	uint32_t *edge_dst;          /* object index */
	uint32_t *edge_name;         /* FMT_EDGE_NAME(kind, value) */

	uint32_t nroots;
	struct fmt_root *roots;

	/* String contents (present iff flags & FMT_FLAG_STRINGS). */
	uint32_t nstrdata;
	struct fmt_strdata *strdata;

	void *owned;                 /* reader's private allocations */
};

/*
 * Output sink for fmt_write: called with consecutive pieces of the file.
 * Returns 0, or a negative errno-style value to abort the write (fmt_write
 * then returns MUPPY_EIO and calls the sink no more).
 */
typedef int (*fmt_sink_fn)(void *ctx, const void *buf, size_t len);

/*
 * Encodes d and passes the whole file to sink, in order.  d is only read.
 * level is a zlib compression level, -1..9 (1 is the shim's choice: fast).
 * Returns 0, MUPPY_EINVAL if d is inconsistent, MUPPY_ENOMEM, or MUPPY_EIO
 * if the sink failed.  d is checked whole before the first sink call, so
 * MUPPY_EINVAL means nothing was written.  Inconsistent means any of:
 * flags other than FMT_FLAG_*, STRINGS without GRAPH; nstrings == 0 or
 * strings[0] not ""; a string id, type index or object index out of range
 * (edge names of the string-valued kinds included); addresses not
 * strictly ascending; more than UINT32_MAX objects or edges; edge_start not
 * starting at 0, decreasing, or edge_start[nobjects] != nedges; a root
 * kind outside 1..3; graph counts (nobjects, nedges, nroots) without
 * GRAPH or nstrdata without STRINGS; a NULL array with a nonzero count
 * (edge_start may be NULL only when nobjects == 0).  Allocates only its
 * own bounded buffers (plain malloc, ~400 KiB with deflate's state),
 * freed before returning on every path.
 */
int fmt_write(const struct fmt_dump *d, int level, fmt_sink_fn sink, void *ctx);

/* Where fmt_write_with's buffers come from (a shim snapshot child must not
 * use glibc's malloc: shim/walk/mem.h).  free(NULL) need not be handled. */
struct fmt_alloc {
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p);
	void *ctx;
};

/* fmt_write, with every allocation (its buffers and zlib's state) made
 * through a; a NULL a is plain malloc. */
int fmt_write_with(const struct fmt_dump *d, int level,
		   const struct fmt_alloc *a, fmt_sink_fn sink, void *ctx);

/*
 * Streaming (format 1.1+, FMT_FLAG_STREAM): a dump written while the heap
 * is walked, in bounded pieces, so that the writer never holds the graph.
 * Objects go out in slots, the order the walk met them (0, 1, 2 ...), in
 * CHUNK2 sections (1.1: CHUNK) of consecutive slots; each chunk also
 * carries the edges recorded since the last, between slots, in any order
 * and with repeats.
 * Strings go out as they are made, in STRTAB sections (ids continue from
 * one to the next); the tables and roots (objects named by slot) come
 * last.  The reader sorts objects by address and merges the edges
 * (format/order.h), so what a reader gets is the dump fmt_write would have
 * written for the same walk.
 */
#define FMT_SLOT_SKIPPED UINT32_MAX   /* fmt_chunk.type: an object met but
                                         left out (no index; its edges go) */

struct fmt_chunk {
	uint64_t first;              /* slot of the first object */
	uint32_t nobjects;
	const uint64_t *addr;        /* by object, as in struct fmt_dump */
	const uint32_t *type;        /* type index or FMT_SLOT_SKIPPED */
	const uint64_t *size;
	const uint32_t *refcnt;
	const uint32_t *label;
	const uint8_t *flags;
	uint32_t nedges;
	const uint32_t *src, *dst;   /* slots */
	const uint32_t *name;        /* FMT_EDGE_NAME */
};

struct fmt_stream;

/*
 * Starts a stream dump: writes the header (flags | FMT_FLAG_STREAM |
 * FMT_FLAG_GRAPH) and opens the body.  Allocations through a (NULL:
 * malloc), output through sink as with fmt_write.  Returns 0 and *out, or
 * MUPPY_EINVAL / MUPPY_ENOMEM / MUPPY_EIO (nothing to free then).
 */
int fmt_stream_begin(struct fmt_stream **out, uint32_t flags, int level,
		     const struct fmt_alloc *a, fmt_sink_fn sink, void *ctx);

/* Writes strings [sent, n) of strs as a STRTAB section, sent being how
 * many went out before (the first call must start with ""). */
int fmt_stream_strings(struct fmt_stream *s, const struct fmt_str *strs,
		       uint32_t n);

/* As fmt_stream_strings, given only the n strings after those sent: they
 * get ids sent .. sent + n - 1 (for a writer that no longer holds the
 * first ones where it can reach them). */
int fmt_stream_more_strings(struct fmt_stream *s, const struct fmt_str *more,
			    uint32_t n);

/* Writes one CHUNK: its first slot must be the number of objects sent
 * before.  Labels must name strings already sent. */
int fmt_stream_chunk(struct fmt_stream *s, const struct fmt_chunk *c);

/*
 * A chunk encoded ahead: the bytes fmt_stream_more_strings(more, nmore)
 * and fmt_stream_chunk(c) would hand to deflate, made on any thread and
 * given to the stream later, in order, by fmt_stream_rawchunk.  A
 * streamed walk encodes here while a helper thread compresses the chunk
 * before (shim/walk/stream.c); deflate stays one stream, so the file is
 * what the two calls would have written.
 */
struct fmt_rawchunk;

/* A reusable buffer for encoded chunks, allocating through a (NULL:
 * malloc).  0, MUPPY_EINVAL or MUPPY_ENOMEM. */
int fmt_rawchunk_new(struct fmt_rawchunk **out, const struct fmt_alloc *a);

/* Encodes nmore strings (they follow the first `strings` ones) and chunk
 * c into r, replacing what it held, with the checks of the two calls it
 * stands for.  0, MUPPY_EINVAL (r then holds nothing) or MUPPY_ENOMEM. */
int fmt_rawchunk_encode(struct fmt_rawchunk *r, uint32_t strings,
			const struct fmt_str *more, uint32_t nmore,
			const struct fmt_chunk *c);

/* Writes what r holds; it must have been encoded for exactly where the
 * stream is (its strings sent and its first slot), else MUPPY_EINVAL. */
int fmt_stream_rawchunk(struct fmt_stream *s, const struct fmt_rawchunk *r);

/* Releases r.  NULL is a no-op. */
void fmt_rawchunk_free(struct fmt_rawchunk *r);

/*
 * A chunk compressed ahead (write.c design note 5): after
 * fmt_rawchunk_encode, the thread that encoded r may also compress it, with
 * a deflater of its own; fmt_stream_rawchunk then only copies the
 * compressed bytes into the stream, which stays one plain zlib stream.  A
 * deflater is deflate's state (about 270 KB) at stream s's level, through
 * s's allocator; it may outlive s.
 */
struct fmt_deflater;

/* 0, MUPPY_ENOMEM or MUPPY_EINVAL. */
int fmt_deflater_new(struct fmt_deflater **out, const struct fmt_stream *s);

/* Releases z.  NULL is a no-op. */
void fmt_deflater_free(struct fmt_deflater *z);

/* Compresses what r holds with z.  0, MUPPY_EINVAL (r holds nothing
 * encoded) or MUPPY_ENOMEM; on failure r is left uncompressed, still
 * good for fmt_stream_rawchunk. */
int fmt_rawchunk_deflate(struct fmt_rawchunk *r, struct fmt_deflater *z);

/*
 * Ends the dump: the strings of tail not sent yet, then META, TYPES,
 * SUMMARY, ROOTS and (with FMT_FLAG_STRINGS) STRDATA from tail, whose
 * roots and strdata name objects by slot; its object and edge arrays are
 * not read.  Then END and the trailer.  Returns 0 or the first error of
 * the stream; either way s is freed.
 */
int fmt_stream_end(struct fmt_stream *s, const struct fmt_dump *tail);

/* Abandons a stream (no trailer: the output is not a dump) and frees s.
 * NULL is a no-op. */
void fmt_stream_abort(struct fmt_stream *s);

/* What fmt_read_* should decode. */
enum fmt_read_what {
	FMT_READ_ALL = 0,        /* everything */
	FMT_READ_SUMMARY = 1,    /* header, META, STRTAB, TYPES, SUMMARY only:
	                            graph sections are verified (CRC) but not
	                            decoded; the graph fields stay 0/NULL even
	                            if flags has FMT_FLAG_GRAPH */
	FMT_READ_OBJECTS = 2,    /* as ALL but only the OBJECTS graph section:
	                            EDGES, ROOTS and STRDATA are verified (CRC)
	                            but not decoded, so nedges, nroots and
	                            nstrdata are 0 and their arrays NULL (for
	                            matching objects across dumps: 29 bytes
	                            per object instead of 33 + 8 per edge) */
	FMT_READ_DEGREES = 3,    /* as OBJECTS plus each object's number of
	                            referents: edge_start decoded (nedges set),
	                            edge_dst and edge_name NULL; ROOTS and
	                            STRDATA as with OBJECTS (33 bytes per
	                            object, for muppy leaks) */
	FMT_READ_MATCH = 4,      /* as OBJECTS but only addresses and types:
	                            obj_size, obj_refcnt, obj_label and
	                            obj_flags NULL (12 bytes per object: which
	                            objects two dumps share, for muppy leaks) */
};

/*
 * Decodes a dump held in memory (buf, len; buf may be NULL if len is 0,
 * else NULL is MUPPY_EINVAL; so is an unknown what).
 * On success fills *d (which the caller then releases with fmt_dump_free)
 * and returns 0.  On failure returns MUPPY_ECORRUPT / MUPPY_EVERSION /
 * MUPPY_ENOMEM, leaves *d empty (safe to pass to fmt_dump_free; on
 * MUPPY_EVERSION d->major and d->minor say what the file had), and writes
 * a one-line reason without a trailing newline into err (errlen bytes, may
 * be NULL/0), naming the byte offset where it applies, e.g.
 * "truncated: trailer missing (file is 30 bytes)",
 * "corrupt: section 5 (OBJECTS) at body offset 1234: ..." or
 * "dump version 2.0 is newer than this reader (1.0)".
 * buf is not referenced after the call returns.
 */
int fmt_read_mem(const void *buf, size_t len, enum fmt_read_what what,
		 struct fmt_dump *d, char *err, size_t errlen);

/* As fmt_read_mem, reading the whole file at path (read(2), not mmap: a
 * file truncated under us is an error, not a SIGBUS).  MUPPY_EIO if it
 * cannot be opened or read (err then says why, with strerror; errno is
 * kept). */
int fmt_read_file(const char *path, enum fmt_read_what what,
		  struct fmt_dump *d, char *err, size_t errlen);

/*
 * How far a read is, for a caller that shows progress: fn is called about
 * every 64 KiB of inflated body with done out of total (bytes inflated over
 * every pass the read makes; total is fixed for one read, done only grows
 * and is total once, on success).  fn must not call back into the reader.
 */
struct fmt_progress {
	void (*fn)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
};

/* As fmt_read_mem and fmt_read_file, telling progress (may be NULL). */
int fmt_read_mem_with(const void *buf, size_t len, enum fmt_read_what what,
		      const struct fmt_progress *progress, struct fmt_dump *d,
		      char *err, size_t errlen);
int fmt_read_file_with(const char *path, enum fmt_read_what what,
		       const struct fmt_progress *progress,
		       struct fmt_dump *d, char *err, size_t errlen);

/* Releases what fmt_read_* allocated and zeroes *d.  NULL is a no-op. */
void fmt_dump_free(struct fmt_dump *d);

/*
 * Frees one array fmt_read_* allocated for d (d->obj_refcnt, say) before
 * the rest, for an analysis that is done with it; the caller then sets
 * the field to NULL.  Returns 0, or -1 (nothing freed) when array is NULL
 * or not the reader's.
 */
int fmt_dump_release(struct fmt_dump *d, const void *array);

/* Value of META key (NUL-terminated) or NULL if absent.  Borrowed from d. */
const char *fmt_meta_get(const struct fmt_dump *d, const char *key);

/* String id's bytes; "" for an out-of-range id.  Borrowed from d. */
const char *fmt_str(const struct fmt_dump *d, uint32_t id);

/* Whether an edge name is valid in d: one whose value is a string id
 * (KEY, ATTR, LOCAL, CELL, OTHER) names an existing string. */
int fmt_edge_name_ok(const struct fmt_dump *d, uint32_t name);

/* Index of the object at addr, or -1 if none (binary search). */
int64_t fmt_find_object(const struct fmt_dump *d, uint64_t addr);

/* A short English message for an enum muppy_err value. */
const char *fmt_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_FORMAT_DUMP_H */
