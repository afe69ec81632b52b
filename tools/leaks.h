/*
 * leaks.h - the answer of `muppy leaks` as data: one line per holding
 * pattern, the culprit first, for the commands that show it in their
 * own way (`muppy leaks` prints it, `muppy browse` makes it its start
 * page).  The analysis itself and its design notes are tools/cmd_leaks.c.
 */
#ifndef MUPPY_TOOLS_LEAKS_H
#define MUPPY_TOOLS_LEAKS_H

#include <stdint.h>   /* uint32_t, uint64_t */

#include "tools/graph.h"   /* struct graph, struct graph_paths */
#include "tools/util.h"    /* struct util_series */

#ifdef __cplusplus
extern "C" {
#endif

#define LEAKS_HOLD_TYPES 8     /* types kept for a line's breakdown */

/* One holder: the objects one path pattern holds (cmd_leaks.c note 3). */
struct leaks_line {
	char *pattern;        /* `sys.modules['app']._cache[*]`, owned */
	char *what;           /* `method (Session.ping)`, owned */
	char *breakdown;      /* `4000 dict (718.75 KB), ...`, owned */
	char *example;        /* the example's full path, owned */
	const char *type;     /* the heads' majority type (the dump's) */
	uint32_t example_obj; /* the example head, an object of the dump */
	int mixed;            /* heads of several types */
	uint64_t count;       /* heads */
	uint64_t objects;     /* heads and what they alone hold */
	uint64_t size;        /* bytes of those objects */
	uint64_t grew;        /* a single growing object: bytes it grew by
	                         since the first dump; 0 for a group */
	struct {
		const char *type;
		uint64_t count, size;
	} holds[LEAKS_HOLD_TYPES];
	uint32_t nholds;
};

struct leaks_report {
	struct leaks_line *lines;   /* largest first */
	uint64_t n;
};

/* What the earlier dumps say of the last one's objects (which were born
 * when, and the shapes of their holders); opaque. */
struct leaks_marks;

/*
 * Step 1, before the last dump's graph is built (so that only two dumps
 * and no index are in memory at once): reads a->files[0 .. nfiles-1)
 * (oldest first; the last one, already read, is last: its addresses and
 * types are all step 1 needs, FMT_READ_MATCH) one at a time into *m.  Returns 0, or an exit status with its message printed (*m NULL).
 */
int leaks_mark(const struct util_series *a, const struct fmt_dump *last,
	       struct leaks_marks **m);
void leaks_marks_free(struct leaks_marks *m);
/* Whether d (read again) is the last dump m was made for: the same
 * objects, addresses and types. */
int leaks_marks_fit(const struct leaks_marks *m, const struct fmt_dump *d);

/*
 * Step 2 (leaks_find does it when the caller has not): picks out of p's
 * BFS order what step 3 needs, so that the caller may free p->order
 * (4 bytes per object) before it.  g is the graph of the last dump and p
 * its shortest paths.  Returns 0, or an exit status (message printed).
 */
int leaks_prepare(const struct util_series *a, struct leaks_marks *m,
		  const struct graph *g, const struct graph_paths *p);

/*
 * Step 3: the leaks (a->limit lines at most, 0 all) into *r.  g is the
 * graph of the last dump (graph_build, or graph_build_with without the
 * referrer index: the better names of design note 8 then gather the
 * referrers they need) and p its shortest paths; both are only read and
 * must outlive *r (its type names are the dump's).  Returns 0, or an
 * exit status with its message printed (r then empty).
 */
int leaks_find(const struct util_series *a, struct leaks_marks *m,
	       const struct graph *g, const struct graph_paths *p,
	       struct leaks_report *r);

/* Releases r's lines and zeroes it.  NULL is a no-op. */
void leaks_report_free(struct leaks_report *r);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_LEAKS_H */
