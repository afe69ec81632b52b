/*
 * cmd_top.c - `muppy top DUMP`: the objects (or, with --by-type, the
 * types) that keep the most memory alive, by retained size from the
 * dominator tree (tools/dominators.[ch]), each with its shortest path
 * from a root (tools/graph.c).
 *
 * An object's retained size is what freeing it would free: the sizes of
 * the objects it dominates, itself included.  Nested objects repeat their
 * owners' bytes (a module, its dict, a list in it), as in any dominator
 * view.  A type's retained size counts each object of the type that no
 * other object of the same type dominates (Eclipse MAT's "retained heap
 * by class"), so a linked list of Nodes is not counted once per node; it
 * is computed in one DFS over the dominator tree with a counter per type.
 */
#include <inttypes.h> /* PRIx64, PRIu64 */
#include <stdio.h>    /* printf, snprintf */
#include <stdlib.h>   /* malloc, calloc, free, qsort */
#include <string.h>   /* strcmp, strlen, memset */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "tools/dominators.h"  /* dom_compute, struct dom_tree */
#include "tools/graph.h"       /* struct graph, graph_* */
#include "tools/muppy.h"       /* cmd_top, MUPPY_USAGE_TOP */
#include "tools/table.h"       /* tbl_* */
#include "tools/util.h"        /* options, messages, exit statuses */

#define TOP_LIMIT 20   /* rows by default */

static const char top_help[] =
	"usage: " MUPPY_USAGE_TOP "\n"
	"\n"
	"Lists the objects that keep the most memory alive: their retained\n"
	"size (what freeing the object would free, from the dominator tree of\n"
	"the object graph, the roots being modules, thread frames and objects\n"
	"held from outside the heap), with the shortest path to each.\n"
	"\n"
	"  --limit N        rows (default " UTIL_STR(TOP_LIMIT) "; 0: all)\n"
	"  --by-type        per type: the retained size of its objects that\n"
	"                   no other object of the same type keeps alive, with\n"
	"                   the path of the largest one\n"
	"  --format FMT     text (default), json, csv\n"
	"  -h, --help       this help\n";

struct top_args {
	const char *file;
	uint64_t limit;
	int by_type;
	enum util_format format;
};

/* Parses argv into *a; 0 when the command must return *status at once. */
static int
parse_args(int argc, char **argv, struct top_args *a, int *status)
{
	const struct util_option opts[] = {
		UTIL_OPT_UINT("limit", 'n', &a->limit, 0, INT64_MAX),
		UTIL_OPT_SET("by-type", 0, &a->by_type, 1),
		UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT |
				UTIL_FORMAT_JSON | UTIL_FORMAT_CSV),
		UTIL_OPTIONS_END,
	};
	const struct util_command c = {
		MUPPY_USAGE_TOP, top_help, opts, &a->file, 1, 1,
		"a dump file is needed", NULL, NULL,
	};

	*a = (struct top_args){ .limit = TOP_LIMIT,
				.format = UTIL_FORMAT_TEXT };
	return util_parse_command(&c, argc, argv, status);
}

/* One output row: an object, or a type with its largest object. */
struct trow {
	const char *name;   /* type name */
	uint32_t obj;       /* the object (its example, for a type) */
	uint64_t count;     /* objects (types only) */
	uint64_t size;      /* shallow bytes */
	uint64_t retained;
};

static int
trow_cmp(const void *pa, const void *pb)
{
	const struct trow *a = pa, *b = pb;

	if (a->retained != b->retained)
		return a->retained > b->retained ? -1 : 1;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	return (a->obj > b->obj) - (a->obj < b->obj);
}

/* ---- per type -------------------------------------------------------- */

/* Adds the subtree of root to rows[type] (design: file head). */
static void
count_subtree(const struct graph *g, const struct dom_tree *t,
	      const struct dom_kids *k, uint32_t root, uint32_t *active,
	      uint32_t *stack, struct trow *rows)
{
	const struct fmt_dump *d = g->d;
	uint32_t sp = 0;

	stack[sp++] = root;
	stack[sp++] = 0;
	while (sp) {
		uint32_t v = stack[sp - 2], cur = stack[sp - 1];
		uint32_t ty = d->obj_type[v];
		if (cur == 0) {  /* entering v */
			struct trow *r = &rows[ty];
			r->count++;
			r->size += d->obj_size[v];
			if (active[ty]++ == 0) {
				r->retained += t->retained[v];
				if (r->obj == GRAPH_NONE ||
				    t->retained[v] > t->retained[r->obj])
					r->obj = v;
			}
		}
		if (k->start[v] + cur < k->start[v + 1]) {
			stack[sp - 1] = cur + 1;
			stack[sp++] = k->kid[k->start[v] + cur];
			stack[sp++] = 0;
		} else {
			active[ty]--;
			sp -= 2;
		}
	}
}

static int
name_cmp(const void *pa, const void *pb)
{
	int c = strcmp(((const struct trow *)pa)->name,
		       ((const struct trow *)pb)->name);

	return c ? c : trow_cmp(pa, pb);
}

/* Rows per type name into *out (caller frees); returns how many or -1. */
static int64_t
type_rows(const struct graph *g, const struct dom_tree *t, struct trow **out)
{
	const struct fmt_dump *d = g->d;
	struct dom_kids k = {0};
	uint32_t *active = calloc(d->ntypes + 1u, sizeof *active);
	uint32_t *stack = malloc(2 * ((size_t)g->n + 1) * sizeof *stack);
	struct trow *rows = calloc(d->ntypes + 1u, sizeof *rows);
	int64_t n = -1;

	if (dom_kids_build(t, &k) != 0 || !active || !stack || !rows)
		goto out;
	for (uint32_t ty = 0; ty < d->ntypes; ty++) {
		rows[ty].name = fmt_str(d, d->types[ty].name);
		rows[ty].obj = GRAPH_NONE;
	}
	for (uint32_t r = k.start[t->n]; r < k.start[t->n + 1]; r++)
		count_subtree(g, t, &k, k.kid[r], active, stack, rows);
	/* One row per name; the example is the larger one. */
	qsort(rows, d->ntypes, sizeof *rows, name_cmp);
	n = 0;
	for (uint32_t ty = 0; ty < d->ntypes; ty++) {
		if (!rows[ty].count)
			continue;
		if (n && strcmp(rows[n - 1].name, rows[ty].name) == 0) {
			rows[n - 1].count += rows[ty].count;
			rows[n - 1].size += rows[ty].size;
			rows[n - 1].retained += rows[ty].retained;
		} else {
			rows[n++] = rows[ty];
		}
	}
	*out = rows;
	rows = NULL;
out:
	dom_kids_free(&k);
	free(active);
	free(stack);
	free(rows);
	return n;
}

static const uint64_t *sort_retained;

static int
by_retained(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	uint64_t ra = sort_retained[a], rb = sort_retained[b];

	if (ra != rb)
		return ra > rb ? -1 : 1;
	return (a > b) - (a < b);
}

/* The limit objects retaining most (all if limit is 0), sorted, into *out
 * (caller frees): sorts 4-byte indices, builds rows for those shown only.
 * Returns how many or -1. */
static int64_t
object_rows(const struct graph *g, const struct dom_tree *t, uint64_t limit,
	    struct trow **out)
{
	uint32_t *idx = malloc(((size_t)g->n + 1) * sizeof *idx);
	uint64_t n = g->n;
	struct trow *rows;

	if (!idx)
		return -1;
	for (uint32_t i = 0; i < g->n; i++)
		idx[i] = i;
	sort_retained = t->retained;
	qsort(idx, g->n, sizeof *idx, by_retained);
	if (limit && limit < n)
		n = limit;
	rows = malloc((n + 1) * sizeof *rows);
	if (!rows) {
		free(idx);
		return -1;
	}
	for (uint64_t k = 0; k < n; k++) {
		uint32_t i = idx[k];
		rows[k].name = graph_type_name(g->d, i);
		rows[k].obj = i;
		rows[k].count = 1;
		rows[k].size = g->d->obj_size[i];
		rows[k].retained = t->retained[i];
	}
	free(idx);
	*out = rows;
	return (int64_t)n;
}

/* ---- output ---------------------------------------------------------- */

static void
path_of(const struct graph *g, const struct graph_paths *p, uint32_t obj,
	struct graph_hop **h, size_t *cap, struct text_buf *b)
{
	int64_t n = obj == GRAPH_NONE ? 0 : graph_chain(g, p, obj, h, cap);

	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
	if (n > 0)
		graph_chain_text(g, *h, (size_t)n, 0, NULL, b);
	else
		text_add(b, "<unreachable>", 13);
}

static int
print_rows(const struct graph *g, const struct graph_paths *p,
	   const struct trow *rows, uint64_t n, const struct top_args *a)
{
	static const char *const oh[5] = {"retained", "size", "type",
					  "address", "path"};
	static const char *const th[5] = {"retained", "total size", "type",
					  "# objects", "largest"};
	const char *const *header = a->by_type ? th : oh;
	const char *align = a->by_type ? "rrrrl" : "rrrll";
	const struct fmt_dump *d = g->d;
	struct graph_hop *h = NULL;
	struct text_buf path = {0};
	size_t cap = 0, widths[5];
	char ret[PYM_SIZE_LEN], size[PYM_SIZE_LEN], addr[24];

	if (a->format == UTIL_FORMAT_JSON)
		fputs(n ? "[\n" : "[]\n", stdout);
	else if (a->format == UTIL_FORMAT_CSV)
		printf("%s,retained,size,type,address,path\n",
		       a->by_type ? "count" : "rank");
	pym_table_start(widths, 5, header);
	for (int pass = a->format == UTIL_FORMAT_TEXT ? 0 : 1; pass < 2;
	     pass++) {
		if (pass == 1 && a->format == UTIL_FORMAT_TEXT) {
			tbl_print_row(stdout, 5, header, widths, align);
			tbl_print_border(stdout, 5, widths);
		}
		for (uint64_t k = 0; k < n; k++) {
			const struct trow *r = &rows[k];
			path_of(g, p, r->obj, &h, &cap, &path);
			if (path.oom)
				goto oom;
			if (a->by_type)
				snprintf(addr, sizeof addr, "%" PRIu64, r->count);
			else
				snprintf(addr, sizeof addr, "0x%" PRIx64,
					 d->obj_addr[r->obj]);
			pym_size((int64_t)r->retained, ret);
			pym_size((int64_t)r->size, size);
			const char *cells[5] = {ret, size, r->name, addr,
						path.s};
			if (a->format == UTIL_FORMAT_TEXT) {
				if (pass == 0)
					pym_table_measure(widths, 5, cells);
				else
					tbl_print_row(stdout, 5, cells, widths,
						      align);
			} else if (a->format == UTIL_FORMAT_CSV) {
				printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
				       a->by_type ? r->count : k + 1,
				       r->retained, r->size);
				tbl_csv_field(stdout, r->name);
				printf(",0x%" PRIx64 ",", d->obj_addr[r->obj]);
				tbl_csv_field(stdout, path.s);
				putchar('\n');
			} else {
				fputs("  {\"type\": ", stdout);
				tbl_json_string(stdout, r->name, strlen(r->name));
				printf(", \"%s\": %" PRIu64 ", \"retained\": %"
				       PRIu64 ", \"size\": %" PRIu64
				       ", \"address\": \"0x%" PRIx64
				       "\", \"path\": ",
				       a->by_type ? "count" : "rank",
				       a->by_type ? r->count : k + 1,
				       r->retained, r->size,
				       d->obj_addr[r->obj]);
				tbl_json_string(stdout, path.s, path.len);
				printf("}%s\n", k + 1 < n ? "," : "");
			}
		}
	}
	if (a->format == UTIL_FORMAT_JSON && n)
		fputs("]\n", stdout);
	free(h);
	text_free(&path);
	return 0;
oom:
	free(h);
	text_free(&path);
	return -1;
}

static int
run(const struct graph *g, const void *args)
{
	const struct top_args *a = args;
	struct dom_tree t;
	struct graph_paths p = {0};
	struct trow *rows = NULL;
	int64_t n;
	uint64_t shown;
	int rc = MUPPY_EXIT_FAILURE;

	if (dom_compute(g, &t) != 0)
		return util_error("out of memory");
	n = a->by_type ? type_rows(g, &t, &rows) :
			 object_rows(g, &t, a->limit, &rows);
	/* The rows hold what they show: the tree goes before the paths are
	 * computed, so the two never share the peak. */
	dom_free(&t);
	if (n < 0 || graph_paths_compute(g, &p) != 0)
		goto oom;
	qsort(rows, (size_t)n, sizeof *rows, trow_cmp);
	shown = a->limit && a->limit < (uint64_t)n ? a->limit : (uint64_t)n;
	if (print_rows(g, &p, rows, shown, a) != 0)
		goto oom;
	rc = MUPPY_EXIT_OK;
	goto out;
oom:
	util_error("out of memory");
out:
	free(rows);
	graph_paths_free(&p);
	dom_free(&t);
	return rc;
}

int
cmd_top(int argc, char **argv)
{
	struct top_args a;
	int rc;

	if (!parse_args(argc, argv, &a, &rc))
		return rc;
	return graph_run(a.file, run, &a);
}
