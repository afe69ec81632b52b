/*
 * cmd_leaks.c - `muppy leaks D1 D2 ... Dn`: the objects born after D1
 * that are still alive in Dn, grouped by the path pattern that holds them,
 * so ten thousand leaked Windows in one list read as one line:
 * `sys.modules['app'].windows[*]  10000  app.Window  1.17 MB  <example>`.
 *
 * DESIGN NOTES
 *   1. Leaked: an object of Dn (address and type, tools/graph.c's
 *      graph_mark_common) that is not in D1 and is in every dump from its
 *      first appearance on.  An address that comes, goes and comes back
 *      is a reused address, not a survivor, and is left out; so are
 *      objects no root reaches (garbage awaiting the cycle collector).
 *   2. Groups.  Along the BFS tree of Dn (shortest paths from the roots),
 *      a leaked object whose parent is leaked too belongs to its parent's
 *      group: it is held through the leaked object ("nearest path").  The
 *      others are the heads; a head's group is named by the pattern of
 *      its path: list/tuple indices read [*], the dict key that leads to
 *      the head reads ['*'] (it varies with the data), attribute names,
 *      slots and the dict keys above the head stay (they are code).
 *   3. A line: pattern, heads, their type (or "(mixed)"), total size of
 *      the group (heads and what they hold), one head's full path.  Lines
 *      are sorted by total size.  Dumps are read one at a time against
 *      Dn, so only two are in memory at once.
 *   4. With three dumps or more, a group all of whose objects were born
 *      in the last interval is not reported: one dump cannot tell them
 *      from the temporaries of the moment (a global rebound each round, a
 *      request in flight).  A group with older members is reported whole,
 *      its youngest members counted.  With two dumps everything new
 *      counts: there is nothing else to go by.
 *   5. Address reuse: a freed object's address is often taken by a new
 *      object of the same type (free lists), which then looks old.  An
 *      object that looks old but is held only by leaked objects (every
 *      referrer leaked, at least one, not a root) counts as leaked: if it
 *      is not a reused address it is at least kept alive by the leak.
 *   6. Objects whose path starts at a root that is itself new (a frame
 *      of the call running at dump time, an object held from outside the
 *      heap such as an evaluation-stack temporary, a module imported
 *      since D1) are in flight, not leaked, and are left out with
 *      everything they hold; `muppy diff --objects` still counts them and
 *      `muppy orphans` lists objects held from outside.
 */
#include <inttypes.h> /* PRIx64, PRIu64 */
#include <stdio.h>    /* printf */
#include <stdlib.h>   /* malloc, calloc, realloc, free, qsort */
#include <string.h>   /* strcmp, strlen, memset */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "tools/graph.h"   /* graph_*, struct graph_paths */
#include "tools/muppy.h"   /* cmd_leaks, MUPPY_USAGE_LEAKS */
#include "tools/table.h"   /* tbl_* */
#include "tools/util.h"    /* options, messages, exit statuses */

static const char leaks_help[] =
	"usage: " MUPPY_USAGE_LEAKS "\n"
	"\n"
	"Finds the objects born after the first dump that are still alive in\n"
	"the last one (and in every dump since they appeared), and groups them\n"
	"by the path that holds them: one line per holding pattern, e.g.\n"
	"sys.modules['app'].windows[*], with the number of objects it holds,\n"
	"their type, the total size of the group (with what those objects\n"
	"alone hold) and one full example path.  Dumps are given oldest\n"
	"first, all from the same process.\n"
	"\n"
	"  --limit N        groups to print (default 0: all)\n"
	"  --format FMT     text (default), json, csv\n"
	"  -h, --help       this help\n";

#define LEAKS_MAX_DUMPS 30000  /* run_start is a uint16 */

/* leaked[i]: 0 not leaked, LEAK_YOUNG born in the last interval, LEAK_OLD
 * born earlier (design note 4). */
#define LEAK_YOUNG 1
#define LEAK_OLD 2

/* ---- which objects leaked (design note 1) --------------------------- */

/* Addresses only mean something within one process: say so when the
 * dumps' META pids differ (dumps without a pid are not questioned). */
static void
warn_other_process(const struct util_series *a, int k,
		   const struct fmt_dump *dk, const struct fmt_dump *last)
{
	const char *p1 = fmt_meta_get(dk, "pid"), *p2 = fmt_meta_get(last, "pid");

	if (p1 && p2 && strcmp(p1, p2) != 0)
		util_warning("%s is from process %s, %s from process %s: "
			     "objects are matched by address, which only "
			     "works within one process", a->files[k], p1,
			     a->files[a->nfiles - 1], p2);
}

/*
 * Marks leaked[i] for the objects of last (the dump files[n-1]) that
 * design note 1 calls leaked, reading files[n-2] down to files[0].
 * Returns 0 or an exit status (message printed).
 */
static int
mark_leaked(const struct util_series *a, const struct fmt_dump *last,
	    uint8_t *leaked)
{
	uint64_t n = last->nobjects;
	uint16_t *run = malloc((n + 1) * sizeof *run);  /* first dump of the
	                                                   run ending at Dn */
	uint8_t *seen = malloc(n + 1);
	int rc = 0;

	if (!run || !seen) {
		rc = util_error("out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		run[i] = (uint16_t)(a->nfiles - 1);
		leaked[i] = 1;  /* cleared below when disproved */
	}
	for (int k = a->nfiles - 2; k >= 0; k--) {
		struct fmt_dump dk;
		if ((rc = graph_read_objects(a->files[k], &dk)))
			goto out;
		warn_other_process(a, k, &dk, last);
		memset(seen, 0, n + 1);
		rc = graph_mark_common(&dk, last, seen, 1);
		fmt_dump_free(&dk);
		if (rc) {
			rc = util_error("out of memory");
			goto out;
		}
		for (uint64_t i = 0; i < n; i++) {
			if (!seen[i])
				continue;
			if (run[i] == k + 1 && k > 0)
				run[i] = (uint16_t)k;
			else
				leaked[i] = 0;  /* in D1, or came back */
		}
	}
	/* LEAK_OLD: born before the last interval (design note 4). */
	for (uint64_t i = 0; i < n; i++)
		if (leaked[i] && run[i] < a->nfiles - 1)
			leaked[i] = LEAK_OLD;
out:
	free(run);
	free(seen);
	return rc;
}

/* ---- groups (design note 2) ------------------------------------------ */

struct group {
	char *pattern;       /* owned */
	uint32_t example;    /* first head */
	uint32_t type;       /* heads' type index, GRAPH_NONE if mixed */
	uint64_t heads, objects, size;
	int old;             /* has a member born before the last interval */
};

struct groups {
	struct group *g;
	uint32_t n, cap;
	uint32_t *slot;      /* open addressing: group index + 1, 0 empty */
	uint32_t nslots;     /* power of two */
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;  /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int
groups_rehash(struct groups *gs)
{
	uint32_t ns = gs->nslots ? gs->nslots * 2 : 64;
	uint32_t *slot = calloc(ns, sizeof *slot);

	if (!slot)
		return -1;
	for (uint32_t k = 0; k < gs->n; k++) {
		uint32_t s = (uint32_t)hash_str(gs->g[k].pattern) & (ns - 1);
		while (slot[s])
			s = (s + 1) & (ns - 1);
		slot[s] = k + 1;
	}
	free(gs->slot);
	gs->slot = slot;
	gs->nslots = ns;
	return 0;
}

/* The group named pattern (taking pattern over if new).  Returns its
 * index or GRAPH_NONE (out of memory; pattern then freed). */
static uint32_t
groups_get(struct groups *gs, char *pattern, uint32_t head, uint32_t type)
{
	uint32_t s;

	if ((gs->n + 1) * 2 > gs->nslots && groups_rehash(gs) != 0)
		goto fail;
	s = (uint32_t)hash_str(pattern) & (gs->nslots - 1);
	for (; gs->slot[s]; s = (s + 1) & (gs->nslots - 1)) {
		struct group *g = &gs->g[gs->slot[s] - 1];
		if (strcmp(g->pattern, pattern) == 0) {
			free(pattern);
			if (g->type != type)
				g->type = GRAPH_NONE;
			return gs->slot[s] - 1;
		}
	}
	if (gs->n == gs->cap) {
		uint32_t nc = gs->cap ? gs->cap * 2 : 16;
		struct group *ng = realloc(gs->g, nc * sizeof *ng);
		if (!ng)
			goto fail;
		gs->g = ng;
		gs->cap = nc;
	}
	memset(&gs->g[gs->n], 0, sizeof gs->g[gs->n]);
	gs->g[gs->n].pattern = pattern;
	gs->g[gs->n].example = head;
	gs->g[gs->n].type = type;
	gs->slot[s] = gs->n + 1;
	return gs->n++;
fail:
	free(pattern);
	return GRAPH_NONE;
}

static void
groups_free(struct groups *gs)
{
	for (uint32_t k = 0; k < gs->n; k++)
		free(gs->g[k].pattern);
	free(gs->g);
	free(gs->slot);
	memset(gs, 0, sizeof *gs);
}

/* Design note 5, in BFS order so that chains of them are found. */
static void
adopt_reused(const struct graph *g, const struct graph_paths *p,
	     uint8_t *leaked)
{
	for (uint32_t k = 0; k < p->nreached; k++) {
		uint32_t o = p->order[k], par = p->parent[o], all = 1;
		if (leaked[o] || par == GRAPH_ROOTED || !leaked[par] ||
		    (g->flags[o] & (GRAPH_F_DUMPROOT | GRAPH_F_EXTERN)))
			continue;
		for (uint64_t e = g->rev_start[o]; e < g->rev_start[o + 1]; e++)
			if (!leaked[g->rev_src[e]])
				all = 0;
		if (all)
			leaked[o] = leaked[par];
	}
}

/* Groups every reachable leaked object, in BFS order (parents first). */
static int
group_all(const struct graph *g, const struct graph_paths *p,
	  uint8_t *leaked, struct groups *gs)
{
	const struct fmt_dump *d = g->d;
	uint32_t *gid = malloc(((size_t)g->n + 1) * sizeof *gid);
	struct graph_hop *h = NULL;
	size_t cap = 0;
	int rc = -1;

	if (!gid)
		return -1;
	adopt_reused(g, p, leaked);
	for (uint32_t k = 0; k < p->nreached; k++) {
		uint32_t o = p->order[k], par = p->parent[o], id;
		if (!leaked[o])
			continue;
		if (par != GRAPH_ROOTED && leaked[par]) {
			id = gid[par];
			if (id == GRAPH_NONE) {  /* in flight, as its holder */
				gid[o] = id;
				continue;
			}
		} else {
			struct text_buf b = {0};
			int64_t n = graph_chain(g, p, o, &h, &cap);
			if (n <= 0)
				goto out;
			if (leaked[h[0].obj]) {  /* a new root: design note 6 */
				gid[o] = GRAPH_NONE;
				continue;
			}
			graph_chain_text(g, h, (size_t)n, 1, leaked, &b);
			if (b.oom) {
				text_free(&b);
				goto out;
			}
			id = groups_get(gs, b.s, o, d->obj_type[o]);
			if (id == GRAPH_NONE)
				goto out;
			gs->g[id].heads++;
		}
		gid[o] = id;
		if (leaked[o] == LEAK_OLD)
			gs->g[id].old = 1;
		gs->g[id].objects++;
		gs->g[id].size += d->obj_size[o];
	}
	rc = 0;
out:
	free(h);
	free(gid);
	return rc;
}

/* Drops the groups without an old member; the hash index is not needed
 * after grouping and goes stale. */
static void
drop_young(struct groups *gs)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < gs->n; k++) {
		if (gs->g[k].old)
			gs->g[n++] = gs->g[k];
		else
			free(gs->g[k].pattern);
	}
	gs->n = n;
}

/* ---- output ----------------------------------------------------------- */

static int
group_cmp(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	if (a->heads != b->heads)
		return a->heads > b->heads ? -1 : 1;
	return strcmp(a->pattern, b->pattern);
}

static const char *
group_type(const struct fmt_dump *d, const struct group *gr)
{
	return gr->type == GRAPH_NONE ? "(mixed)" :
	       fmt_str(d, d->types[gr->type].name);
}

static void
example_text(const struct graph *g, const struct graph_paths *p,
	     uint32_t obj, struct text_buf *b)
{
	struct graph_hop *h = NULL;
	size_t cap = 0;
	int64_t n = graph_chain(g, p, obj, &h, &cap);

	if (n > 0)
		graph_chain_text(g, h, (size_t)n, 0, NULL, b);
	free(h);
}

static int
print_groups(const struct graph *g, const struct graph_paths *p,
	     const struct groups *gs, uint64_t n, enum util_format f)
{
	static const char *const header[5] = {"held by", "# objects", "type",
					      "total size", "example"};
	const struct fmt_dump *d = g->d;
	size_t widths[5];
	char count[24], size[PYM_SIZE_LEN];

	if (f == UTIL_FORMAT_JSON)
		fputs(n ? "[\n" : "[]\n", stdout);
	else if (f == UTIL_FORMAT_CSV)
		fputs("pattern,count,type,size,objects,example\n", stdout);
	pym_table_start(widths, 5, header);
	for (int pass = f == UTIL_FORMAT_TEXT ? 0 : 1; pass < 2; pass++) {
		if (pass == 1 && f == UTIL_FORMAT_TEXT) {
			tbl_print_row(stdout, 5, header, widths, "lrrrl");
			tbl_print_border(stdout, 5, widths);
		}
		for (uint64_t k = 0; k < n; k++) {
			const struct group *gr = &gs->g[k];
			struct text_buf ex = {0};
			example_text(g, p, gr->example, &ex);
			if (ex.oom) {
				text_free(&ex);
				return -1;
			}
			const char *exs = ex.s ? ex.s : "";
			const char *type = group_type(d, gr);
			snprintf(count, sizeof count, "%" PRIu64, gr->heads);
			pym_size((int64_t)gr->size, size);
			const char *cells[5] = {gr->pattern, count, type, size,
						exs};
			if (f == UTIL_FORMAT_TEXT && pass == 0) {
				pym_table_measure(widths, 5, cells);
			} else if (f == UTIL_FORMAT_TEXT) {
				tbl_print_row(stdout, 5, cells, widths, "lrrrl");
			} else if (f == UTIL_FORMAT_CSV) {
				tbl_csv_field(stdout, gr->pattern);
				printf(",%" PRIu64 ",", gr->heads);
				tbl_csv_field(stdout, type);
				printf(",%" PRIu64 ",%" PRIu64 ",", gr->size,
				       gr->objects);
				tbl_csv_field(stdout, exs);
				putchar('\n');
			} else {
				fputs("  {\"pattern\": ", stdout);
				tbl_json_string(stdout, gr->pattern,
						strlen(gr->pattern));
				printf(", \"count\": %" PRIu64 ", \"type\": ",
				       gr->heads);
				tbl_json_string(stdout, type, strlen(type));
				printf(", \"size\": %" PRIu64 ", \"objects\": %"
				       PRIu64 ", \"example\": ", gr->size,
				       gr->objects);
				tbl_json_string(stdout, exs, strlen(exs));
				printf(", \"example_address\": \"0x%" PRIx64
				       "\"}%s\n", d->obj_addr[gr->example],
				       k + 1 < n ? "," : "");
			}
			text_free(&ex);
		}
	}
	if (f == UTIL_FORMAT_JSON && n)
		fputs("]\n", stdout);
	return 0;
}

static int
analyse(const struct util_series *a, const struct fmt_dump *last,
	uint8_t *leaked)
{
	struct graph g;
	struct graph_paths p = {0};
	struct groups gs = {0};
	uint64_t shown;
	int rc = MUPPY_EXIT_FAILURE;

	if (graph_build(&g, last) != 0) {
		util_error("%s: cannot index the object graph (out of memory "
			   "or inconsistent)", a->files[a->nfiles - 1]);
		return MUPPY_EXIT_FAILURE;
	}
	if (graph_paths_compute(&g, &p) != 0 ||
	    group_all(&g, &p, leaked, &gs) != 0)
		goto oom;
	if (a->nfiles >= 3)  /* design note 4 */
		drop_young(&gs);
	if (gs.n)  /* qsort(NULL, 0, ...) is undefined behaviour */
		qsort(gs.g, gs.n, sizeof *gs.g, group_cmp);
	shown = a->limit && a->limit < gs.n ? a->limit : gs.n;
	if (print_groups(&g, &p, &gs, shown, a->format) != 0)
		goto oom;
	rc = MUPPY_EXIT_OK;
	goto out;
oom:
	util_error("out of memory");
out:
	groups_free(&gs);
	graph_paths_free(&p);
	graph_free(&g);
	return rc;
}

int
cmd_leaks(int argc, char **argv)
{
	struct util_series a;
	struct fmt_dump last;
	uint8_t *leaked = NULL;
	int rc;

	a.files = malloc(((size_t)argc + 1) * sizeof *a.files);
	if (!a.files)
		return util_error("out of memory");
	a.limit = 0;
	if (!util_parse_series(argc, argv, MUPPY_USAGE_LEAKS, leaks_help,
			       LEAKS_MAX_DUMPS, "too many dumps", &a, &rc))
		goto out_files;
	rc = graph_read_dump(a.files[a.nfiles - 1], &last);
	if (rc)
		goto out_files;
	leaked = malloc(last.nobjects + 1);
	if (!leaked)
		rc = util_error("out of memory");
	else if (!(rc = mark_leaked(&a, &last, leaked)))
		rc = analyse(&a, &last, leaked);
	free(leaked);
	fmt_dump_free(&last);
	rc = util_finish_stdout(rc);
out_files:
	free(a.files);
	return rc;
}
