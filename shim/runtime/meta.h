/*
 * meta.h - the META block of a snapshot: who wrote it (pid, command line,
 * executable, Python), when and why (time, trigger), and what the walk
 * measured, added to the walk's dump without copying its arrays.
 *
 * Runs without the GIL and, in fork mode, inside the snapshot child: no
 * Python calls but Py_GetVersion, memory from mem_* (the child's arena).
 */
#ifndef MUPPY_SHIM_RUNTIME_META_H
#define MUPPY_SHIM_RUNTIME_META_H

#include <limits.h>    /* PATH_MAX */
#include <stdint.h>    /* uint32_t, uint64_t */

#include "format/dump.h"     /* struct fmt_dump */
#include "shim/walk/walk.h"  /* struct walk_stats */

enum { SHIM_META_MAX = 20, SHIM_META_TEXT = 48 };

/* The walk's dump plus our META entries (meta.c says how). */
struct shim_meta {
	const struct fmt_dump *base;   /* the walk's dump (borrowed) */
	struct fmt_dump dump;          /* what is written */
	struct fmt_str *strings;       /* owned */
	struct fmt_meta *meta;         /* owned */
	uint32_t seq_str;              /* id of the "seq" value */
	char seq_text[16];
	char text[SHIM_META_MAX][SHIM_META_TEXT];  /* short values */
	int ntext;
	char *cmdline;                 /* owned */
	char exe[PATH_MAX];
};

/* What the snapshot measured, and what the process is, for META. */
struct shim_facts {
	const char *trigger;
	int pid;
	int graph;               /* MUPPY_MODE=graph */
	int strings;             /* MUPPY_STRINGS */
	uint64_t time_ns;        /* CLOCK_REALTIME at the walk's start */
	uint64_t rss;            /* bytes, 0 if unknown */
	uint64_t gil_ns;
	struct walk_stats stats;
	const char *snapshot;     /* "inline" or "fork": what happened */
	int stream;               /* graph streamed as walked (format 1.1) */
	size_t expect_objects;    /* fork: the parent's estimate of the */
	size_t expect_edges;      /* heap, the child's storage size */
};

/* The dump to write: base plus META (base stays the caller's and must
 * outlive the result).  NULL when memory ran out. */
struct shim_meta *shim_meta_new(const struct fmt_dump *base,
				const struct shim_facts *f);
void shim_meta_free(struct shim_meta *m);

/* shim_dump_for_seq_fn (output.h): the file's META "seq" follows the
 * number in its name.  ctx is the struct shim_meta. */
const struct fmt_dump *shim_meta_for_seq(void *ctx, uint32_t seq);

/* The resident set size in bytes (/proc/self/statm), 0 if unknown. */
uint64_t shim_meta_read_rss(void);

#endif /* MUPPY_SHIM_RUNTIME_META_H */
