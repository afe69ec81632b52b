/*
 * cmd_orphans.c - `muppy orphans DUMP`: objects whose refcount is larger
 * than the references the walk found in the heap (held from C code, or a
 * reference an extension leaked), and objects nothing in the heap refers
 * to that are not roots.
 *
 * "References found" = edges into the object (tools/graph.h's reverse
 * index), so a list holding x twice counts twice, as its refcount does.
 * Immortal and static objects (refcount >= GRAPH_IMMORTAL_REFCNT) are left
 * out: their refcounts say nothing.  Expect some honest noise: references
 * from C statics, the evaluation stack and the interpreter state are
 * invisible to any heap walk, which is exactly what this list shows.
 */
#include <inttypes.h> /* PRIx64, PRIu64 */
#include <stdio.h>    /* printf, snprintf */
#include <stdlib.h>   /* malloc, free, qsort */
#include <string.h>   /* strcmp, strlen, memset */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "tools/graph.h"   /* struct graph, graph_* */
#include "tools/muppy.h"   /* cmd_orphans, MUPPY_USAGE_ORPHANS */
#include "tools/table.h"   /* tbl_* */
#include "tools/util.h"    /* options, messages, exit statuses */

#define ORPHANS_LIMIT 100   /* rows by default */

static const char orphans_help[] =
	"usage: " MUPPY_USAGE_ORPHANS "\n"
	"\n"
	"Lists the objects of DUMP that something outside the heap holds:\n"
	"those whose refcount is larger than the references to them found in\n"
	"the heap (extra = refcount - referrers: held from C code, or a\n"
	"reference leaked by an extension), and those nothing in the heap\n"
	"refers to that are not roots.  Immortal and static objects are left\n"
	"out.\n"
	"\n"
	"  --limit N        rows to print "
	"(default " UTIL_STR(ORPHANS_LIMIT) "; 0: all)\n"
	"  --sort KEY       extra (default, largest first), size (largest\n"
	"                   first), address\n"
	"  --format FMT     text (default), json, csv\n"
	"  -h, --help       this help\n";

enum orphan_sort { SORT_EXTRA, SORT_SIZE, SORT_ADDRESS };

struct orphans_args {
	const char *file;
	uint64_t limit;
	int sort;                 /* enum orphan_sort */
	enum util_format format;
};

/* Parses argv into *a; 0 when the command must return *status at once. */
static int
parse_args(int argc, char **argv, struct orphans_args *a, int *status)
{
	static const struct util_choice sorts[] = {
		{ "extra", SORT_EXTRA, 0 }, { "size", SORT_SIZE, 0 },
		{ "address", SORT_ADDRESS, 0 }, { NULL, 0, 0 },
	};
	const struct util_option opts[] = {
		UTIL_OPT_UINT("limit", 'n', &a->limit, 0, INT64_MAX),
		UTIL_OPT_CHOICE("sort", 's', &a->sort, sorts),
		UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT |
				UTIL_FORMAT_JSON | UTIL_FORMAT_CSV),
		UTIL_OPTIONS_END,
	};
	const struct util_command cmd = {
		MUPPY_USAGE_ORPHANS, orphans_help, opts, &a->file, 1, 1,
		"a dump file is needed", NULL, NULL,
	};

	*a = (struct orphans_args){ .limit = ORPHANS_LIMIT,
				    .sort = SORT_EXTRA,
				    .format = UTIL_FORMAT_TEXT };
	return util_parse_command(&cmd, argc, argv, status);
}

/* The rule (file head), one object. */
static int
is_orphan(const struct graph *g, uint32_t i)
{
	if (g->flags[i] & GRAPH_F_IMMORTAL)
		return 0;
	if (g->flags[i] & GRAPH_F_EXTERN)
		return 1;
	return graph_indegree(g, i) == 0 && !(g->flags[i] & GRAPH_F_DUMPROOT);
}

static uint64_t
extra_of(const struct graph *g, uint32_t i)
{
	uint64_t rc = g->d->obj_refcnt[i], in = graph_indegree(g, i);

	return rc > in ? rc - in : 0;
}

static const struct graph *sort_graph;
static enum orphan_sort sort_key;

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int
orphan_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	const struct fmt_dump *d = sort_graph->d;
	int c = 0;

	if (sort_key == SORT_EXTRA)
		c = cmp_u64(extra_of(sort_graph, b), extra_of(sort_graph, a));
	if (!c && sort_key != SORT_ADDRESS)
		c = cmp_u64(d->obj_size[b], d->obj_size[a]);
	return c ? c : cmp_u64(a, b);
}

struct orow {
	char addr[24], size[PYM_SIZE_LEN], refcnt[24], in[24], extra[24];
	const char *type, *label;
};

static void
orow_fill(const struct graph *g, uint32_t i, struct orow *r)
{
	const struct fmt_dump *d = g->d;

	snprintf(r->addr, sizeof r->addr, "0x%" PRIx64, d->obj_addr[i]);
	pym_size((int64_t)d->obj_size[i], r->size);
	snprintf(r->refcnt, sizeof r->refcnt, "%" PRIu32, d->obj_refcnt[i]);
	snprintf(r->in, sizeof r->in, "%" PRIu64, graph_indegree(g, i));
	snprintf(r->extra, sizeof r->extra, "%" PRIu64, extra_of(g, i));
	r->type = graph_type_name(d, i);
	r->label = fmt_str(d, d->obj_label[i]);
}

static void
print_text(const struct graph *g, const uint32_t *sel, uint64_t n,
	   uint64_t total)
{
	static const char *const header[7] = {"address", "type", "size",
		"refcnt", "referrers", "extra", "label"};
	static const char align[] = "lrrrrrl";
	size_t widths[7];
	struct orow r;

	pym_table_start(widths, 7, header);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			tbl_print_row(stdout, 7, header, widths, align);
			tbl_print_border(stdout, 7, widths);
		}
		for (uint64_t k = 0; k < n; k++) {
			orow_fill(g, sel[k], &r);
			const char *cells[7] = {r.addr, r.type, r.size,
				r.refcnt, r.in, r.extra, r.label};
			if (pass == 0)
				pym_table_measure(widths, 7, cells);
			else
				tbl_print_row(stdout, 7, cells, widths, align);
		}
	}
	if (total > n)
		printf("... %" PRIu64 " more (--limit 0 shows all)\n",
		       total - n);
}

static void
print_json(const struct graph *g, const uint32_t *sel, uint64_t n)
{
	const struct fmt_dump *d = g->d;

	fputs(n ? "[\n" : "[]\n", stdout);
	for (uint64_t k = 0; k < n; k++) {
		uint32_t i = sel[k];
		const char *type = graph_type_name(d, i);
		const char *label = fmt_str(d, d->obj_label[i]);
		printf("  {\"address\": \"0x%" PRIx64 "\", \"type\": ",
		       d->obj_addr[i]);
		tbl_json_string(stdout, type, strlen(type));
		printf(", \"size\": %" PRIu64 ", \"refcnt\": %" PRIu64
		       ", \"referrers\": %" PRIu64 ", \"extra\": %" PRIu64
		       ", \"label\": ", d->obj_size[i], (uint64_t)d->obj_refcnt[i],
		       graph_indegree(g, i), extra_of(g, i));
		tbl_json_string(stdout, label, strlen(label));
		printf("}%s\n", k + 1 < n ? "," : "");
	}
	if (n)
		fputs("]\n", stdout);
}

static void
print_csv(const struct graph *g, const uint32_t *sel, uint64_t n)
{
	const struct fmt_dump *d = g->d;

	fputs("address,type,size,refcnt,referrers,extra,label\n", stdout);
	for (uint64_t k = 0; k < n; k++) {
		uint32_t i = sel[k];
		printf("0x%" PRIx64 ",", d->obj_addr[i]);
		tbl_csv_field(stdout, graph_type_name(d, i));
		printf(",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
		       d->obj_size[i], (uint64_t)d->obj_refcnt[i], graph_indegree(g, i),
		       extra_of(g, i));
		tbl_csv_field(stdout, fmt_str(d, d->obj_label[i]));
		putchar('\n');
	}
}

/* The analysis proper, on the opened graph (graph_run). */
static int
run(const struct graph *g, const void *args)
{
	const struct orphans_args *a = args;
	uint32_t *sel = malloc(((size_t)g->n + 1) * sizeof *sel);
	uint64_t n = 0, shown;

	if (!sel)
		return util_error("out of memory");
	for (uint32_t i = 0; i < g->n; i++)
		if (is_orphan(g, i))
			sel[n++] = i;
	sort_graph = g;
	sort_key = a->sort;
	qsort(sel, n, sizeof *sel, orphan_cmp);
	shown = a->limit && a->limit < n ? a->limit : n;
	if (a->format == UTIL_FORMAT_JSON)
		print_json(g, sel, shown);
	else if (a->format == UTIL_FORMAT_CSV)
		print_csv(g, sel, shown);
	else
		print_text(g, sel, shown, n);
	free(sel);
	return MUPPY_EXIT_OK;
}

int
cmd_orphans(int argc, char **argv)
{
	struct orphans_args a;
	int rc;

	if (!parse_args(argc, argv, &a, &rc))
		return rc;
	return graph_run(a.file, run, &a);
}
