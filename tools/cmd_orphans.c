/*
 * cmd_orphans.c - `muppy orphans DUMP`: objects whose refcount is larger
 * than the references the walk found in the heap (held from C code, or a
 * reference an extension leaked), and objects nothing in the heap refers
 * to that are not roots.
 *
 * "References found" = edges into the object (tools/graph.h's reverse
 * index), so a list holding x twice counts twice, as its refcount does.
 * Immortal objects (refcount >= GRAPH_IMMORTAL_REFCNT) and what the
 * interpreter keeps for its whole life (FMT_OBJ_STATIC: static types,
 * None, True, False, cached small ints, interned strings; by type name
 * for the singletons of dumps older than the flag) are left out: their
 * refcounts say nothing.  Expect some honest noise: references from C
 * statics, the evaluation stack and the interpreter state are invisible
 * to any heap walk, which is exactly what this list shows.
 *
 * By default the orphans are grouped by type and label (`function
 * (on_done)`, `list`), each line with its count, extra references, size
 * and retained size (dominator tree, tools/dominators.h), ranked by what
 * they retain; given older dumps too (D1 ... Dn, oldest first, Dn the one
 * listed), by how much the group grew from D1 to Dn first: the few
 * C-held objects that grow come before the steady many.  --objects lists
 * the objects one by one instead.
 */
#include <inttypes.h> /* PRIx64, PRIu64 */
#include <stdio.h>    /* printf, snprintf */
#include <stdlib.h>   /* malloc, free, qsort */
#include <string.h>   /* strcmp, strlen, memset */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "tools/dominators.h" /* dom_compute: retained sizes */
#include "tools/graph.h"   /* struct graph, graph_* */
#include "tools/muppy.h"   /* cmd_orphans, MUPPY_USAGE_ORPHANS */
#include "tools/table.h"   /* tbl_* */
#include "tools/util.h"    /* options, messages, exit statuses */

#define ORPHANS_LIMIT 100   /* rows by default */

#define ORPHANS_MAX_DUMPS 30000

static const char orphans_help[] =
	"usage: " MUPPY_USAGE_ORPHANS "\n"
	"\n"
	"Lists what something outside the heap holds in DUMP (the last one\n"
	"given): objects whose refcount is larger than the references to\n"
	"them found in the heap (extra = refcount - referrers: held from C\n"
	"code, or a reference leaked by an extension), and objects nothing in\n"
	"the heap refers to that are not roots.  Immortal and static objects\n"
	"(None, True, False, small ints, interned strings, static types) are\n"
	"left out.  Grouped by type and label, ranked by retained size; with\n"
	"older dumps first (D1 ... Dn, one process), by growth since D1.\n"
	"\n"
	"  --objects        one line per object instead of groups\n"
	"  --limit N        rows to print "
	"(default " UTIL_STR(ORPHANS_LIMIT) "; 0: all)\n"
	"  --sort KEY       with --objects: extra (default, largest first),\n"
	"                   size (largest first), address\n"
	"  --format FMT     text (default), json, csv\n"
	"  -h, --help       this help\n";

enum orphan_sort { SORT_EXTRA, SORT_SIZE, SORT_ADDRESS };

struct orphans_args {
	const char **files;       /* room for argc names; the last is Dn */
	size_t nfiles;
	const char *file;         /* files[nfiles - 1] */
	uint64_t limit;
	int sort;                 /* enum orphan_sort */
	int objects;              /* --objects */
	enum util_format format;
	struct ogroups *older;    /* D1's groups when nfiles > 1 */
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
		UTIL_OPT_SET("objects", 0, &a->objects, 1),
		UTIL_OPT_UINT("limit", 'n', &a->limit, 0, INT64_MAX),
		UTIL_OPT_CHOICE("sort", 's', &a->sort, sorts),
		UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT |
				UTIL_FORMAT_JSON | UTIL_FORMAT_CSV),
		UTIL_OPTIONS_END,
	};
	const char **files = a->files;
	const struct util_command cmd = {
		MUPPY_USAGE_ORPHANS, orphans_help, opts, files, 1,
		ORPHANS_MAX_DUMPS, "a dump file is needed", "too many dumps",
		&a->nfiles,
	};

	*a = (struct orphans_args){ .files = files, .limit = ORPHANS_LIMIT,
				    .sort = SORT_EXTRA,
				    .format = UTIL_FORMAT_TEXT };
	if (!util_parse_command(&cmd, argc, argv, status))
		return 0;
	a->file = a->files[a->nfiles - 1];
	return 1;
}

/* A singleton of a dump written before FMT_OBJ_STATIC existed. */
static int
is_singleton_type(const char *type)
{
	return strcmp(type, "NoneType") == 0 || strcmp(type, "bool") == 0 ||
	       strcmp(type, "ellipsis") == 0 ||
	       strcmp(type, "NotImplementedType") == 0;
}

/* The rule (file head), one object. */
static int
is_orphan(const struct graph *g, uint32_t i)
{
	if ((g->flags[i] & GRAPH_F_IMMORTAL) ||
	    (g->d->obj_flags[i] & FMT_OBJ_STATIC) ||
	    is_singleton_type(graph_type_name(g->d, i)))
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

/* ---- groups: type and label ------------------------------------------ */

struct ogroup {
	char *key;           /* "type\tlabel", owned */
	uint32_t example;    /* its largest object */
	uint64_t count, extra, size, retained;
	int64_t growth;      /* count minus D1's (older dumps given) */
};

struct ogroups {
	struct ogroup *g;
	size_t n;
};

static void
ogroups_free(struct ogroups *gs)
{
	for (size_t k = 0; gs && k < gs->n; k++)
		free(gs->g[k].key);
	if (gs)
		free(gs->g);
}

/* Orders orphans by type name, then label (sort_graph). */
static int
by_type_label(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	const struct fmt_dump *d = sort_graph->d;
	int c = strcmp(graph_type_name(d, a), graph_type_name(d, b));

	if (!c)
		c = strcmp(fmt_str(d, d->obj_label[a]), fmt_str(d, d->obj_label[b]));
	return c ? c : (a > b) - (a < b);
}

static int
key_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct ogroup *)pa)->key,
		      ((const struct ogroup *)pb)->key);
}

/* The groups of g's orphans sel[0..n) (reordered), sorted by key;
 * retained may be NULL.  0 or -1 (out of memory). */
static int
ogroups_build(const struct graph *g, uint32_t *sel, uint64_t n,
	      const uint64_t *retained, struct ogroups *out)
{
	const struct fmt_dump *d = g->d;

	out->g = calloc(n ? n : 1, sizeof *out->g);
	out->n = 0;
	if (!out->g)
		return -1;
	sort_graph = g;
	qsort(sel, n, sizeof *sel, by_type_label);
	for (uint64_t k = 0; k < n; k++) {
		uint32_t i = sel[k];
		struct ogroup *gr = out->n ? &out->g[out->n - 1] : NULL;
		if (!gr || strcmp(graph_type_name(d, sel[k - 1]),
				  graph_type_name(d, i)) != 0 ||
		    strcmp(fmt_str(d, d->obj_label[sel[k - 1]]),
			   fmt_str(d, d->obj_label[i])) != 0) {
			struct text_buf b = {0};
			text_addf(&b, "%s\t%s", graph_type_name(d, i),
				  fmt_str(d, d->obj_label[i]));
			if (b.oom)
				return -1;
			gr = &out->g[out->n++];
			gr->key = b.s;
			gr->example = i;
		}
		gr->count++;
		gr->extra += extra_of(g, i);
		gr->size += d->obj_size[i];
		gr->retained += retained ? retained[i] : d->obj_size[i];
		if (d->obj_size[i] > d->obj_size[gr->example])
			gr->example = i;
	}
	return 0;
}

/* growth of each group of now against older (both sorted by key). */
static void
ogroups_growth(struct ogroups *now, const struct ogroups *older)
{
	for (size_t k = 0; k < now->n; k++) {
		const struct ogroup *o = older->n ?
			bsearch(&now->g[k], older->g, older->n,
				sizeof *older->g, key_cmp) : NULL;
		now->g[k].growth = (int64_t)now->g[k].count -
				   (o ? (int64_t)o->count : 0);
	}
}

static int growth_known;   /* older dumps given: rank by growth */

static int
ogroup_rank(const void *pa, const void *pb)
{
	const struct ogroup *a = pa, *b = pb;

	if (growth_known && a->growth != b->growth)
		return a->growth > b->growth ? -1 : 1;
	if (a->retained != b->retained)
		return a->retained > b->retained ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->key, b->key);
}

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

/* The type and label halves of a group's key, into type and label. */
static void
key_split(const struct ogroup *gr, struct text_buf *type, const char **label)
{
	const char *tab = strchr(gr->key, '\t');

	text_add(type, gr->key, (size_t)(tab - gr->key));
	*label = tab + 1;
}

static void
print_groups(const struct graph *g, const struct ogroups *gs, uint64_t n,
	     uint64_t total, enum util_format f)
{
	static const char *const header[8] = {"type", "label", "# objects",
		"growth", "extra", "total size", "retained", "example"};
	static const char align[] = "lrrrrrrl";
	const struct fmt_dump *d = g->d;
	size_t widths[8], nc = growth_known ? 8 : 7;
	const char *const *hdr = header;
	const char *h7[7] = {header[0], header[1], header[2], header[4],
			     header[5], header[6], header[7]};
	char count[24], growth[24], extra[24], size[PYM_SIZE_LEN],
	     ret[PYM_SIZE_LEN], addr[24];

	if (!growth_known)
		hdr = h7;
	if (f == UTIL_FORMAT_JSON)
		fputs(n ? "[\n" : "[]\n", stdout);
	else if (f == UTIL_FORMAT_CSV)
		fputs("type,label,count,growth,extra,size,retained,example\n",
		      stdout);
	pym_table_start(widths, nc, hdr);
	for (int pass = f == UTIL_FORMAT_TEXT ? 0 : 1; pass < 2; pass++) {
		if (pass == 1 && f == UTIL_FORMAT_TEXT) {
			tbl_print_row(stdout, nc, hdr, widths,
				      growth_known ? align : "lrrrrrl");
			tbl_print_border(stdout, nc, widths);
		}
		for (uint64_t k = 0; k < n; k++) {
			const struct ogroup *gr = &gs->g[k];
			struct text_buf type = {0};
			const char *label;
			key_split(gr, &type, &label);
			snprintf(count, sizeof count, "%" PRIu64, gr->count);
			snprintf(growth, sizeof growth, "%+" PRId64, gr->growth);
			snprintf(extra, sizeof extra, "%" PRIu64, gr->extra);
			snprintf(addr, sizeof addr, "0x%" PRIx64,
				 d->obj_addr[gr->example]);
			pym_size((int64_t)gr->size, size);
			pym_size((int64_t)gr->retained, ret);
			const char *c8[8] = {text_cstr(&type), label, count,
				growth, extra, size, ret, addr};
			const char *c7[7] = {c8[0], c8[1], c8[2], c8[4], c8[5],
				c8[6], c8[7]};
			const char *const *cells = growth_known ? c8 : c7;
			if (f == UTIL_FORMAT_TEXT && pass == 0) {
				pym_table_measure(widths, nc, cells);
			} else if (f == UTIL_FORMAT_TEXT) {
				tbl_print_row(stdout, nc, cells, widths,
					      growth_known ? align : "lrrrrrl");
			} else if (f == UTIL_FORMAT_CSV) {
				tbl_csv_field(stdout, text_cstr(&type));
				putchar(',');
				tbl_csv_field(stdout, label);
				printf(",%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%"
				       PRIu64 ",%" PRIu64 ",%s\n", gr->count,
				       gr->growth, gr->extra, gr->size,
				       gr->retained, addr);
			} else {
				fputs("  {\"type\": ", stdout);
				tbl_json_string(stdout, text_cstr(&type),
						type.len);
				fputs(", \"label\": ", stdout);
				tbl_json_string(stdout, label, strlen(label));
				printf(", \"count\": %" PRIu64 ", \"growth\": %"
				       PRId64 ", \"extra\": %" PRIu64
				       ", \"size\": %" PRIu64 ", \"retained\": %"
				       PRIu64 ", \"example_address\": \"%s\"}%s\n",
				       gr->count, gr->growth, gr->extra,
				       gr->size, gr->retained, addr,
				       k + 1 < n ? "," : "");
			}
			text_free(&type);
		}
	}
	if (f == UTIL_FORMAT_JSON && n)
		fputs("]\n", stdout);
	if (f == UTIL_FORMAT_TEXT && total > n)
		printf("... %" PRIu64 " more groups (--limit 0 shows all)\n",
		       total - n);
}

/* The orphans of g into sel (g->n + 1 entries); how many. */
static uint64_t
select_orphans(const struct graph *g, uint32_t *sel)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < g->n; i++)
		if (is_orphan(g, i))
			sel[n++] = i;
	return n;
}

/* --objects: one line per object, as --sort says. */
static int
run_objects(const struct graph *g, const struct orphans_args *a)
{
	uint32_t *sel = malloc(((size_t)g->n + 1) * sizeof *sel);
	uint64_t n, shown;

	if (!sel)
		return util_error("out of memory");
	n = select_orphans(g, sel);
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

/* The analysis proper, on the opened graph of Dn (graph_run). */
static int
run(const struct graph *g, const void *args)
{
	const struct orphans_args *a = args;
	struct dom_tree dt = {0};
	struct ogroups gs = {0};
	uint32_t *sel;
	uint64_t n, shown;
	int rc = MUPPY_EXIT_FAILURE;

	if (a->objects)
		return run_objects(g, a);
	sel = malloc(((size_t)g->n + 1) * sizeof *sel);
	if (!sel || dom_compute(g, &dt) != 0)
		goto oom;
	n = select_orphans(g, sel);
	if (ogroups_build(g, sel, n, dt.retained, &gs) != 0)
		goto oom;
	growth_known = a->older != NULL;
	if (a->older)
		ogroups_growth(&gs, a->older);
	if (gs.n)
		qsort(gs.g, gs.n, sizeof *gs.g, ogroup_rank);
	shown = a->limit && a->limit < gs.n ? a->limit : gs.n;
	print_groups(g, &gs, shown, gs.n, a->format);
	rc = MUPPY_EXIT_OK;
	goto out;
oom:
	rc = util_error("out of memory");
out:
	ogroups_free(&gs);
	dom_free(&dt);
	free(sel);
	return rc;
}

/* D1's groups, for the growth column. */
static int
older_groups(const char *path, struct ogroups *out)
{
	struct fmt_dump d;
	struct graph g;
	uint32_t *sel;
	uint64_t n;
	int rc = graph_open(path, &d, &g);

	if (rc)
		return rc;
	sel = malloc(((size_t)g.n + 1) * sizeof *sel);
	rc = MUPPY_EXIT_OK;
	if (!sel) {
		rc = util_error("out of memory");
	} else {
		n = select_orphans(&g, sel);
		if (ogroups_build(&g, sel, n, NULL, out) != 0)
			rc = util_error("out of memory");
	}
	free(sel);
	graph_free(&g);
	fmt_dump_free(&d);
	return rc;
}

int
cmd_orphans(int argc, char **argv)
{
	struct orphans_args a;
	struct ogroups older = {0};
	const char **files = malloc(((size_t)argc + 1) * sizeof *files);
	int rc;

	if (!files)
		return util_error("out of memory");
	a.files = files;
	if (!parse_args(argc, argv, &a, &rc))
		goto out;
	if (a.nfiles > 1 && !a.objects) {
		rc = older_groups(a.files[0], &older);
		if (rc)
			goto out;
		a.older = &older;
	}
	rc = graph_run(a.file, run, &a);
out:
	ogroups_free(&older);
	free(files);
	return rc;
}
