/*
 * cmd_tree.c - `muppy tree DUMP TARGET`: the referrer tree of Pympler's
 * refbrowser.ConsoleBrowser, offline, in exactly its text layout (or the
 * referents tree with --referents), plus json, csv and dot forms.
 *
 * Two steps, as in Pympler: build the tree (RefBrowser._get_tree), then
 * print it (StreamBrowser._print).  Both are reproduced rule for rule from
 * pympler/refbrowser.py (1.1), including the quirks:
 *   1. A node's children are its referrers, each once (gc.get_referrers
 *      lists a referrer once), here in address order; a node at depth
 *      maxdepth has none.  With --no-repeat an object already in the tree
 *      (anywhere, in building order) becomes the leaf
 *      `TEXT (already included, id DECIMAL_ADDRESS)`.
 *   2. _print stops expanding a node when the count of '+' and '|' in the
 *      line's prefix equals maxdepth (node texts included: that is how
 *      Pympler counts).
 *   3. After the last child of a node with several children comes a line
 *      holding just the carried vertical lines, unless it would be blank.
 * Node text: Pympler's default str_func, summary._repr (the summary row
 * name), or with --label name the object's label, or with --label full
 * `TYPE 0xADDR LABEL SIZE`.
 * The tree is kept in one array of nodes, a node's children contiguous;
 * it is refused past TREE_MAX_NODES (a fan-in explosion), not truncated.
 */
#include <inttypes.h> /* PRIx64, PRIu64 */
#include <stdio.h>    /* printf, putchar */
#include <stdlib.h>   /* malloc, calloc, realloc, free, qsort */
#include <string.h>   /* strcmp, memset, strlen */

#include "common/pympler.h" /* pym_tree_print */
#include "tools/graph.h"   /* struct graph, graph_* */
#include "tools/muppy.h"   /* cmd_tree, MUPPY_USAGE_TREE */
#include "tools/table.h"   /* tbl_json_string, tbl_csv_field */
#include "tools/util.h"    /* options, messages, exit statuses */

#define TREE_MAX_NODES 2000000u
#define TREE_MAX_DEPTH 1000      /* --maxdepth's bound */
#define TREE_MAX_TREES 1000000   /* --limit's bound */

static const char tree_help[] =
	"usage: " MUPPY_USAGE_TREE "\n"
	"\n"
	"Prints the tree of referrers of an object (who refers to it, who\n"
	"refers to those, ...) in the layout of Pympler's\n"
	"refbrowser.ConsoleBrowser: the object on the left, its referrers to\n"
	"the right.  TARGET is an address (0x... or a decimal id()); or give\n"
	"--type NAME for the trees of the largest objects of that type.\n"
	"\n"
	"  --maxdepth N     levels of referrers (default 3)\n"
	"  --referents      the other way: what the object refers to\n"
	"  --label L        node text: type (Pympler's, default: dict,\n"
	"                   function (f), module(m)), name (the object's\n"
	"                   label if it has one), full (type, address, label,\n"
	"                   size)\n"
	"  --no-repeat      an object already shown becomes a leaf\n"
	"                   'TEXT (already included, id N)' (Pympler's\n"
	"                   repeat=False)\n"
	"  --type NAME      trees of the largest objects of type NAME\n"
	"  --limit K        with --type: how many objects (default 1)\n"
	"  --format FMT     text (default), json, csv, dot (Graphviz)\n"
	"  -h, --help       this help\n";

enum tree_label { LABEL_TYPE, LABEL_NAME, LABEL_FULL };

struct tree_args {
	const char *file, *target, *type;
	int64_t maxdepth;
	int referents, repeat;
	int label;                /* enum tree_label */
	uint64_t limit;
	enum util_format format;
};

/* Parses argv into *a; 0 when the command must return *status at once. */
static int
parse_args(int argc, char **argv, struct tree_args *a, int *status)
{
	static const struct util_choice labels[] = {
		{ "type", LABEL_TYPE, 0 }, { "name", LABEL_NAME, 0 },
		{ "full", LABEL_FULL, 0 }, { NULL, 0, 0 },
	};
	const char *ops[2] = { NULL, NULL };
	const struct util_option opts[] = {
		UTIL_OPT_INT("maxdepth", 'd', &a->maxdepth, 0, TREE_MAX_DEPTH),
		UTIL_OPT_SET("referents", 0, &a->referents, 1),
		UTIL_OPT_CHOICE("label", 0, &a->label, labels),
		UTIL_OPT_SET("no-repeat", 0, &a->repeat, 0),
		UTIL_OPT_STRING("type", 't', &a->type),
		UTIL_OPT_UINT("limit", 'n', &a->limit, 1, TREE_MAX_TREES),
		UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT |
				UTIL_FORMAT_JSON | UTIL_FORMAT_CSV |
				UTIL_FORMAT_DOT),
		UTIL_OPTIONS_END,
	};
	const struct util_command cmd = {
		MUPPY_USAGE_TREE, tree_help, opts, ops, 1, 2,
		"a dump file is needed", NULL, NULL,
	};

	*a = (struct tree_args){ .maxdepth = 3, .repeat = 1, .limit = 1,
				 .label = LABEL_TYPE,
				 .format = UTIL_FORMAT_TEXT };
	if (!util_parse_command(&cmd, argc, argv, status))
		return 0;
	a->file = ops[0];
	a->target = ops[1];
	if (!a->target == !a->type) {
		*status = util_usage_error(MUPPY_USAGE_TREE, "give either an "
					   "object address or --type NAME");
		return 0;
	}
	return 1;
}

/* ---- building (RefBrowser._get_tree) -------------------------------- */

struct tnode {
	uint32_t obj;
	uint32_t first;      /* first child's node index */
	uint32_t nchild;
	uint32_t repeat;     /* 1: an "(already included ...)" leaf */
};

struct tree {
	const struct graph *g;
	const struct tree_args *a;
	struct tnode *nodes;
	uint32_t n, cap;
	uint8_t *included;   /* per object: already in the tree */
	uint32_t *stamp;     /* per object: last listing (epoch) it was in */
	uint32_t epoch;
	uint32_t *kids;      /* scratch for one node's children */
	uint32_t *refs;      /* scratch for one object's referrers */
	uint64_t nrefs;      /* its capacity */
	struct graph_near near;  /* referrers near the targets */
	int oom, too_big;
};

static int
tree_grow(struct tree *t, uint32_t more)
{
	if ((uint64_t)t->n + more > TREE_MAX_NODES) {
		t->too_big = 1;
		return -1;
	}
	if (t->n + more <= t->cap)
		return 0;
	uint32_t nc = t->cap ? t->cap : 256;
	while (nc < t->n + more)
		nc *= 2;
	struct tnode *nn = realloc(t->nodes, (size_t)nc * sizeof *nn);
	if (!nn) {
		t->oom = 1;
		return -1;
	}
	t->nodes = nn;
	t->cap = nc;
	return 0;
}

/* Room in t->refs for n referrers; -1 (t->oom set) when out of memory. */
static int
referrers_room(struct tree *t, uint64_t n)
{
	uint32_t *r;

	if (n <= t->nrefs)
		return 0;
	r = realloc(t->refs, (size_t)n * sizeof *r);
	if (!r) {
		t->oom = 1;
		return -1;
	}
	t->refs = r;
	t->nrefs = n;
	return 0;
}

/* The distinct neighbours of obj in edge order into t->kids; how many. */
static uint32_t
neighbours(struct tree *t, uint32_t obj)
{
	const struct graph *g = t->g;
	const struct fmt_dump *d = g->d;
	const uint32_t *src;
	uint64_t b, e;
	uint32_t n = 0, ep;

	if (++t->epoch == 0) {  /* wrapped: forget every old listing */
		memset(t->stamp, 0, ((size_t)g->n + 1) * sizeof *t->stamp);
		t->epoch = 1;
	}
	ep = t->epoch;
	if (t->a->referents) {
		src = d->edge_dst;
		b = d->edge_start[obj];
		e = d->edge_start[obj + 1];
	} else {
		if (referrers_room(t, graph_indegree(g, obj)) != 0)
			return 0;
		src = t->refs;
		b = 0;
		e = graph_near_referrers(&t->near, obj, t->refs);
	}
	for (uint64_t k = b; k < e; k++) {
		uint32_t o = src[k];
		if (t->stamp[o] == ep)
			continue;
		t->stamp[o] = ep;
		t->kids[n++] = o;
	}
	return n;
}

/* Fills node (already holding obj) with its subtree of depth levels. */
static void
build(struct tree *t, uint32_t node, int64_t depth)
{
	uint32_t obj = t->nodes[node].obj, n, first;

	t->included[obj] = 1;
	t->nodes[node].first = t->nodes[node].nchild = 0;
	if (depth == 0 || t->oom || t->too_big)
		return;
	n = neighbours(t, obj);
	if (n == 0 || tree_grow(t, n) != 0)
		return;
	first = t->n;
	t->n += n;
	/* kids is scratch: copy the block before recursing reuses it. */
	for (uint32_t k = 0; k < n; k++) {
		t->nodes[first + k].obj = t->kids[k];
		t->nodes[first + k].repeat = 0;
		t->nodes[first + k].first = t->nodes[first + k].nchild = 0;
	}
	t->nodes[node].first = first;
	t->nodes[node].nchild = n;
	for (uint32_t k = 0; k < n; k++) {
		struct tnode *c = &t->nodes[first + k];
		if (!t->a->repeat && t->included[c->obj]) {
			c->repeat = 1;
			continue;
		}
		build(t, first + k, depth - 1);
	}
}

/* ---- node text ------------------------------------------------------- */

static void
node_text(const struct tree *t, const struct tnode *nd, struct text_buf *b)
{
	const struct fmt_dump *d = t->g->d;
	const char *label = fmt_str(d, d->obj_label[nd->obj]);

	switch (t->a->label) {
	case LABEL_NAME:
		if (*label)
			text_add(b, label, strlen(label));
		else
			graph_row_name(d, nd->obj, b);
		break;
	case LABEL_FULL:
		text_addf(b, "%s 0x%" PRIx64 "%s%s %" PRIu64 " B",
			       graph_type_name(d, nd->obj), d->obj_addr[nd->obj],
			       *label ? " " : "", label, d->obj_size[nd->obj]);
		break;
	case LABEL_TYPE:
	default:
		graph_row_name(d, nd->obj, b);
		break;
	}
	if (nd->repeat)
		text_addf(b, " (already included, id %" PRIu64 ")",
			       d->obj_addr[nd->obj]);
}

/* ---- text (StreamBrowser._print, common/pympler) ---------------------- */

static int
text_nchildren(void *ctx, const void *node, size_t *n)
{
	const struct tnode *nd = node;

	(void)ctx;
	*n = nd->repeat ? 0 : nd->nchild;
	return 0;
}

static int
text_label(void *ctx, const void *node, struct text_buf *b)
{
	node_text(ctx, node, b);
	return 0;
}

static int
text_child(void *ctx, const void *node, size_t i, const void **child)
{
	const struct tree *t = ctx;
	const struct tnode *nd = node;

	*child = &t->nodes[nd->first + i];
	return 0;
}

static int
text_line(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	fwrite(s, 1, n, stdout);
	putchar('\n');
	return 0;
}

/* 0, or -1 when memory ran out. */
static int
print_text(struct tree *t)
{
	const struct pym_tree ops = {
		.ctx = t, .maxdepth = t->a->maxdepth,
		.nchildren = text_nchildren, .label = text_label,
		.child = text_child, .line = text_line,
	};

	return pym_tree_print(&ops, &t->nodes[0]);
}

/* ---- json, csv, dot -------------------------------------------------- */

/* The name of the reference between a node and its parent, in the
 * direction it points (referrer -> referent). */
static void
link_text(const struct tree *t, uint32_t parent_obj, uint32_t obj,
	  struct text_buf *b)
{
	const struct fmt_dump *d = t->g->d;
	uint32_t src = t->a->referents ? parent_obj : obj;
	uint32_t dst = t->a->referents ? obj : parent_obj;

	for (uint64_t k = d->edge_start[src]; k < d->edge_start[src + 1]; k++)
		if (d->edge_dst[k] == dst) {
			graph_edge_text(d, d->edge_name[k], b);
			return;
		}
}

static void
print_json(const struct tree *t, uint32_t node, uint32_t parent_obj,
	   int depth)
{
	const struct fmt_dump *d = t->g->d;
	const struct tnode *nd = &t->nodes[node];
	const char *type = graph_type_name(d, nd->obj);
	const char *label = fmt_str(d, d->obj_label[nd->obj]);
	struct text_buf e = {0};

	printf("{\"address\": \"0x%" PRIx64 "\", \"type\": ", d->obj_addr[nd->obj]);
	tbl_json_string(stdout, type, strlen(type));
	fputs(", \"label\": ", stdout);
	tbl_json_string(stdout, label, strlen(label));
	printf(", \"size\": %" PRIu64, d->obj_size[nd->obj]);
	if (depth > 0) {
		link_text(t, parent_obj, nd->obj, &e);
		fputs(", \"edge\": ", stdout);
		tbl_json_string(stdout, e.s ? e.s : "", e.len);
		text_free(&e);
	}
	if (nd->repeat)
		fputs(", \"repeat\": true", stdout);
	fputs(", \"children\": [", stdout);
	for (uint32_t k = 0; k < nd->nchild; k++) {
		if (k)
			fputs(", ", stdout);
		print_json(t, nd->first + k, nd->obj, depth + 1);
	}
	fputs("]}", stdout);
}

static void
print_csv(const struct tree *t, uint32_t node, uint32_t parent_obj,
	  int depth, uint64_t tree_no)
{
	const struct fmt_dump *d = t->g->d;
	const struct tnode *nd = &t->nodes[node];
	struct text_buf e = {0};

	if (depth > 0)
		link_text(t, parent_obj, nd->obj, &e);
	printf("%" PRIu64 ",%d,0x%" PRIx64 ",", tree_no, depth,
	       d->obj_addr[nd->obj]);
	tbl_csv_field(stdout, graph_type_name(d, nd->obj));
	printf(",%" PRIu64 ",", d->obj_size[nd->obj]);
	tbl_csv_field(stdout, fmt_str(d, d->obj_label[nd->obj]));
	printf(",%d,", nd->repeat ? 1 : 0);
	tbl_csv_field(stdout, e.s ? e.s : "");
	putchar('\n');
	text_free(&e);
	for (uint32_t k = 0; k < nd->nchild; k++)
		print_csv(t, nd->first + k, nd->obj, depth + 1, tree_no);
}

static void
print_dot(const struct tree *t, uint64_t tree_no)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct tnode *nd = &t->nodes[i];
		struct text_buf s = {0};
		node_text(t, nd, &s);
		printf("  t%" PRIu64 "n%u [label=", tree_no, i);
		tbl_json_string(stdout, s.s ? s.s : "", s.len);
		fputs("];\n", stdout);
		text_free(&s);
		for (uint32_t k = 0; k < nd->nchild; k++) {
			uint32_t c = nd->first + k;
			link_text(t, nd->obj, t->nodes[c].obj, &s);
			/* Arrows point the way references do. */
			if (t->a->referents)
				printf("  t%" PRIu64 "n%u -> t%" PRIu64 "n%u",
				       tree_no, i, tree_no, c);
			else
				printf("  t%" PRIu64 "n%u -> t%" PRIu64 "n%u",
				       tree_no, c, tree_no, i);
			fputs(" [label=", stdout);
			tbl_json_string(stdout, s.s ? s.s : "", s.len);
			fputs("];\n", stdout);
			text_free(&s);
		}
	}
}

/* ---- driver ---------------------------------------------------------- */

/* Builds and prints the tree of obj (the tree_no-th one printed). */
static int
one_tree(struct tree *t, uint32_t obj, uint64_t tree_no)
{
	t->n = 0;
	if (tree_grow(t, 1) != 0)
		goto fail;
	t->n = 1;
	t->nodes[0].obj = obj;
	t->nodes[0].repeat = 0;
	build(t, 0, t->a->maxdepth);
	if (t->oom || t->too_big)
		goto fail;
	switch (t->a->format) {
	case UTIL_FORMAT_JSON:
		fputs(tree_no ? ",\n  " : "  ", stdout);
		print_json(t, 0, 0, 0);
		break;
	case UTIL_FORMAT_CSV:
		print_csv(t, 0, 0, 0, tree_no);
		break;
	case UTIL_FORMAT_DOT:
		print_dot(t, tree_no);
		break;
	default:
		if (tree_no)
			putchar('\n');
		if (print_text(t) != 0) {
			t->oom = 1;
			goto fail;
		}
		break;
	}
	return 0;
fail:
	if (!t->too_big)
		return util_error("out of memory");
	/* The input asks for it (a dense graph at this depth): status 2. */
	util_error("the tree has more than %u nodes; lower --maxdepth "
		   "or use --no-repeat", TREE_MAX_NODES);
	return MUPPY_EXIT_USAGE;
}

static const struct fmt_dump *size_dump;

static int
by_size_desc(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	uint64_t sa = size_dump->obj_size[a], sb = size_dump->obj_size[b];

	if (sa != sb)
		return sa > sb ? -1 : 1;
	return (a > b) - (a < b);
}

/* The objects to draw: the target, or the largest --limit of --type. */
static int
pick_objects(const struct fmt_dump *d, const struct tree_args *a,
	     uint32_t *sel, uint64_t *nsel)
{
	uint8_t *type_ok;
	uint64_t n = 0;

	if (a->target) {
		*nsel = 1;
		return graph_find_target(d, a->file, a->target, sel);
	}
	type_ok = calloc(d->ntypes + 1u, 1);
	if (!type_ok)
		return util_error("out of memory");
	if (graph_types_named(d, a->file, a->type, type_ok) < 0) {
		free(type_ok);
		return MUPPY_EXIT_USAGE;
	}
	for (uint64_t i = 0; i < d->nobjects; i++)
		if (d->obj_type[i] < d->ntypes && type_ok[d->obj_type[i]])
			sel[n++] = (uint32_t)i;
	free(type_ok);
	if (n == 0) {
		util_error("%s has no objects of type '%s'", a->file, a->type);
		return MUPPY_EXIT_USAGE;
	}
	size_dump = d;
	qsort(sel, n, sizeof *sel, by_size_desc);
	*nsel = n < a->limit ? n : a->limit;
	return 0;
}

static int
run(const struct graph *g, const void *args)
{
	const struct tree_args *a = args;
	struct tree t = {0};
	uint32_t *sel;
	uint64_t nsel = 0;
	int rc = MUPPY_EXIT_FAILURE;

	t.g = g;
	t.a = a;
	sel = malloc(((size_t)g->n + 1) * sizeof *sel);
	t.included = calloc((size_t)g->n + 1, 1);
	t.stamp = calloc((size_t)g->n + 1, sizeof *t.stamp);
	t.kids = malloc(((size_t)g->n + 1) * sizeof *t.kids);
	if (!sel || !t.included || !t.stamp || !t.kids) {
		rc = util_error("out of memory");
		goto out;
	}
	if ((rc = pick_objects(g->d, a, sel, &nsel)))
		goto out;
	/* Nodes at depth maxdepth have no children: their referrers are
	 * never asked for. */
	if (!a->referents && graph_near_build(&t.near, g, sel, nsel,
					      (uint32_t)a->maxdepth) != 0) {
		rc = util_error("out of memory");
		goto out;
	}
	if (a->format == UTIL_FORMAT_JSON)
		fputs("[\n", stdout);
	else if (a->format == UTIL_FORMAT_CSV)
		fputs("tree,depth,address,type,size,label,repeat,edge\n", stdout);
	else if (a->format == UTIL_FORMAT_DOT)
		fputs("digraph tree {\n  rankdir=RL;\n  node [shape=box];\n",
		      stdout);
	for (uint64_t k = 0; k < nsel; k++) {
		/* Each tree on its own, as each ConsoleBrowser would be. */
		if (k)
			memset(t.included, 0, (size_t)g->n + 1);
		if ((rc = one_tree(&t, sel[k], k)))
			goto out;
	}
	if (a->format == UTIL_FORMAT_JSON)
		fputs("\n]\n", stdout);
	else if (a->format == UTIL_FORMAT_DOT)
		fputs("}\n", stdout);
	rc = MUPPY_EXIT_OK;
out:
	free(sel);
	free(t.included);
	free(t.stamp);
	free(t.kids);
	free(t.refs);
	free(t.nodes);
	graph_near_free(&t.near);
	return rc;
}

int
cmd_tree(int argc, char **argv)
{
	struct tree_args a;
	int rc;

	if (!parse_args(argc, argv, &a, &rc))
		return rc;
	/* Referrers are gathered near the targets (graph_near_build). */
	return graph_run_with(a.file, GRAPH_BUILD_DROP_COUNTS, run, &a);
}
