/*
 * loaded.h - one dump with everything the whole-dump views need, loaded
 * at once: the dump itself, its object graph, the shortest paths from the
 * roots, the dominator tree, and, given older dumps of the same process,
 * the growth of each summary row and the leak suspects (tools/leaks.h).
 *
 * `muppy browse` pages through it and `muppy report` writes it out; both
 * want all of it before their first screen or byte, and both accept the
 * older dumps in any order: they are put oldest first by the time in
 * their META, the order given breaking ties, and a file given twice (the
 * dump itself in a glob of all of them) counts once.
 */
#ifndef MUPPY_TOOLS_LOADED_H
#define MUPPY_TOOLS_LOADED_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* int64_t */

#include "format/dump.h"       /* struct fmt_dump */
#include "tools/dominators.h"  /* struct dom_tree */
#include "tools/graph.h"       /* struct graph, struct graph_paths */
#include "tools/leaks.h"       /* struct leaks_report */

#ifdef __cplusplus
extern "C" {
#endif

struct loaded {
	struct fmt_dump d;
	struct graph g;
	struct graph_paths p;
	struct dom_tree dom;
	struct leaks_report leaks;   /* valid with have_leaks */
	int64_t *grow_count;         /* per summary row of d: minus the */
	int64_t *grow_size;          /* oldest dump's row; NULL with none */
	const char **series;         /* oldest first, d's file last */
	int nseries;                 /* 1 without older dumps */
	int have_d, have_g, have_leaks;
};

/*
 * Loads the dump at path and the nolder dumps in older[] (any order) into
 * *l, which must be zeroed; with path NULL the dump is the newest of
 * older[] (by META time).  0 or an exit status (one message printed);
 * either way the caller ends with loaded_close(l).
 */
int loaded_open(struct loaded *l, const char *path, const char *const *older,
		size_t nolder);

void loaded_close(struct loaded *l);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_LOADED_H */
