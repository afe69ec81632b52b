/*
 * cmd_path.c - `muppy path DUMP ADDRESS`: the shortest chain(s) of named
 * references from a root to an object, as one Python-like expression
 * (`sys.modules['app'].registry['k'][3].callback`) and one line per hop.
 *
 * Roots and the BFS are tools/graph.c's (a module, a thread's frame, or an
 * object held from outside the heap, the modules preferred).  With
 * --limit K > 1 the further chains are the shortest ones through each
 * other referrer of the target, so they differ at least in the last hop.
 */
#include <inttypes.h> /* PRIx64, PRIu64 */
#include <stdio.h>    /* printf */
#include <stdlib.h>   /* malloc, free, qsort */
#include <string.h>   /* strlen, memset */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "tools/graph.h"   /* graph_*, struct graph_paths */
#include "tools/muppy.h"   /* cmd_path, MUPPY_USAGE_PATH */
#include "tools/table.h"   /* tbl_* */
#include "tools/util.h"    /* options, messages, exit statuses */

static const char path_help[] =
	"usage: " MUPPY_USAGE_PATH "\n"
	"\n"
	"Prints the shortest chain of references from a root to the object at\n"
	"ADDRESS (0x... or a decimal id()): first as one Python-like\n"
	"expression, e.g. sys.modules['app'].registry['k'][3].callback, then\n"
	"one line per hop: the edge, the object's type, address and size.\n"
	"Roots are the modules in sys.modules, the threads' frames and, when\n"
	"no chain from those exists, objects held from outside the heap (their\n"
	"refcount is larger than the references found in it), shown as\n"
	"<held from C: 0xADDR>.\n"
	"\n"
	"  --limit K        up to K chains, through different referrers of the\n"
	"                   object, shortest first (default 1)\n"
	"  --format FMT     text (default), json, csv, dot (Graphviz)\n"
	"  -h, --help       this help\n"
	"\n"
	"Exit status: 0 (also when no root reaches the object: then it says\n"
	"so), 1 runtime failure, 2 bad input (no such object, invalid dump).\n";

#define PATH_MAX_CHAINS 1000000   /* --limit's bound */

struct path_args {
	const char *file, *target;
	uint64_t limit;
	enum util_format format;
};

/* Parses argv into *a; 0 when the command must return *status at once. */
static int
parse_args(int argc, char **argv, struct path_args *a, int *status)
{
	const char *ops[2] = { NULL, NULL };
	const struct util_option opts[] = {
		UTIL_OPT_UINT("limit", 'n', &a->limit, 1, PATH_MAX_CHAINS),
		UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT |
				UTIL_FORMAT_JSON | UTIL_FORMAT_CSV |
				UTIL_FORMAT_DOT),
		UTIL_OPTIONS_END,
	};
	const struct util_command cmd = {
		MUPPY_USAGE_PATH, path_help, opts, ops, 2, 2,
		"a dump file and an object address are needed", NULL, NULL,
	};

	*a = (struct path_args){ .limit = 1, .format = UTIL_FORMAT_TEXT };
	if (!util_parse_command(&cmd, argc, argv, status))
		return 0;
	a->file = ops[0];
	a->target = ops[1];
	return 1;
}

/* ---- choosing the chains -------------------------------------------- */

struct cand {
	uint32_t via;     /* the referrer the chain ends through */
	uint32_t depth;   /* its chain length */
};

static uint32_t
depth_of(const struct graph_paths *p, uint32_t o)
{
	uint32_t n = 1;

	for (; p->parent[o] != GRAPH_ROOTED; o = p->parent[o])
		n++;
	return n;
}

static int
cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return (a->via > b->via) - (a->via < b->via);
}

/*
 * The referrers to end further chains through: each reached referrer of
 * target other than its BFS parent, once, shortest first.  At most max.
 * Returns how many (in *out, caller frees) or -1 on out of memory.
 */
static int64_t
other_referrers(const struct graph *g, const struct graph_paths *p,
		uint32_t target, uint64_t max, struct cand **out)
{
	uint32_t *refs;
	int64_t nr = graph_referrers(g, target, &refs);
	struct cand *c = nr < 0 ? NULL : malloc(((size_t)nr + 1) * sizeof *c);
	uint64_t n = 0;

	if (!c) {
		free(refs);
		return -1;
	}
	for (int64_t k = 0; k < nr; k++) {
		uint32_t r = refs[k];
		if ((k > 0 && refs[k - 1] == r) ||
		    r == p->parent[target] || r == target ||
		    p->parent[r] == GRAPH_NONE)
			continue;
		c[n].via = r;
		c[n].depth = depth_of(p, r);
		n++;
	}
	free(refs);
	qsort(c, n, sizeof *c, cand_cmp);
	*out = c;
	return (int64_t)(n < max ? n : max);
}

/* The first edge name from src to dst (a referrer has one). */
static uint32_t
edge_between(const struct fmt_dump *d, uint32_t src, uint32_t dst)
{
	for (uint64_t k = d->edge_start[src]; k < d->edge_start[src + 1]; k++)
		if (d->edge_dst[k] == dst)
			return d->edge_name[k];
	return 0;
}

/* ---- output ---------------------------------------------------------- */

struct hop_text {
	char addr[24], size[PYM_SIZE_LEN];
	struct text_buf edge;
	const char *type;
};

static void
hop_fill(const struct graph *g, const struct graph_hop *h, size_t k,
	 struct hop_text *t)
{
	const struct fmt_dump *d = g->d;

	memset(&t->edge, 0, sizeof t->edge);
	if (k == 0)
		graph_root_text(g, h[0].obj, 0, &t->edge);
	else
		graph_edge_text(d, h[k].name, &t->edge);
	snprintf(t->addr, sizeof t->addr, "0x%" PRIx64, d->obj_addr[h[k].obj]);
	pym_size((int64_t)d->obj_size[h[k].obj], t->size);
	t->type = graph_type_name(d, h[k].obj);
}

/* The hop lines: columns two blanks apart, the size right-justified. */
static void
print_chain_text(const struct graph *g, const struct graph_hop *h, size_t n)
{
	size_t w[4] = {0, 0, 0, 0};
	struct text_buf expr = {0};
	struct hop_text t;

	graph_chain_text(g, h, n, 0, NULL, &expr);
	printf("%s\n", expr.s ? expr.s : "");
	text_free(&expr);
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < n; k++) {
			hop_fill(g, h, k, &t);
			const char *c[4] = {t.edge.s ? t.edge.s : "", t.type,
					    t.addr, t.size};
			if (pass == 0) {
				for (int i = 0; i < 4; i++)
					if (text_width(c[i], strlen(c[i])) > w[i])
						w[i] = text_width(c[i], strlen(c[i]));
			} else {
				printf("  %s", c[0]);
				for (int i = 0; i < 3; i++) {
					size_t pad = w[i] - text_width(c[i], strlen(c[i])) + 2;
					if (i == 2)
						pad += w[3] - text_width(c[3], strlen(c[3]));
					printf("%*s%s", (int)pad, "", c[i + 1]);
				}
				putchar('\n');
			}
			text_free(&t.edge);
		}
}

static void
print_chain_json(const struct graph *g, const struct graph_hop *h, size_t n,
		 int first)
{
	struct text_buf expr = {0};
	struct hop_text t;

	graph_chain_text(g, h, n, 0, NULL, &expr);
	printf("%s  {\"expression\": ", first ? "" : ",\n");
	tbl_json_string(stdout, expr.s ? expr.s : "", expr.len);
	fputs(", \"hops\": [", stdout);
	for (size_t k = 0; k < n; k++) {
		hop_fill(g, h, k, &t);
		printf("%s{\"edge\": ", k ? ", " : "");
		tbl_json_string(stdout, t.edge.s ? t.edge.s : "", t.edge.len);
		printf(", \"address\": \"%s\", \"type\": ", t.addr);
		tbl_json_string(stdout, t.type, strlen(t.type));
		printf(", \"size\": %" PRIu64 "}", g->d->obj_size[h[k].obj]);
		text_free(&t.edge);
	}
	fputs("]}", stdout);
	text_free(&expr);
}

static void
print_chain_csv(const struct graph *g, const struct graph_hop *h, size_t n,
		uint64_t chain)
{
	struct hop_text t;

	for (size_t k = 0; k < n; k++) {
		hop_fill(g, h, k, &t);
		printf("%" PRIu64 ",%zu,", chain, k);
		tbl_csv_field(stdout, t.edge.s ? t.edge.s : "");
		printf(",%s,", t.addr);
		tbl_csv_field(stdout, t.type);
		printf(",%" PRIu64 "\n", g->d->obj_size[h[k].obj]);
		text_free(&t.edge);
	}
}

/* A Graphviz string: JSON's escaping is a valid subset of DOT's. */
static void
dot_string(const char *s)
{
	tbl_json_string(stdout, s, strlen(s));
}

static void
print_chain_dot(const struct graph *g, const struct graph_hop *h, size_t n)
{
	const struct fmt_dump *d = g->d;
	struct hop_text t;

	for (size_t k = 0; k < n; k++) {
		hop_fill(g, h, k, &t);
		struct text_buf lab = {0};
		text_addf(&lab, "%s\n%s %s", t.type, t.addr, t.size);
		printf("  n%" PRIx64 " [label=", d->obj_addr[h[k].obj]);
		dot_string(lab.s ? lab.s : "");
		printf("];\n");
		if (k > 0) {
			printf("  n%" PRIx64 " -> n%" PRIx64 " [label=",
			       d->obj_addr[h[k - 1].obj], d->obj_addr[h[k].obj]);
			dot_string(t.edge.s ? t.edge.s : "");
			printf("];\n");
		} else {
			printf("  root%zu [shape=plaintext, label=", k);
			dot_string(t.edge.s ? t.edge.s : "");
			printf("];\n  root%zu -> n%" PRIx64 ";\n", k,
			       d->obj_addr[h[0].obj]);
		}
		text_free(&lab);
		text_free(&t.edge);
	}
}

static void
print_chain(const struct graph *g, const struct graph_hop *h, size_t n,
	    enum util_format f, uint64_t chain)
{
	switch (f) {
	case UTIL_FORMAT_JSON:
		print_chain_json(g, h, n, chain == 0);
		break;
	case UTIL_FORMAT_CSV:
		print_chain_csv(g, h, n, chain);
		break;
	case UTIL_FORMAT_DOT:
		print_chain_dot(g, h, n);
		break;
	default:
		if (chain)
			putchar('\n');
		print_chain_text(g, h, n);
		break;
	}
}

static void
print_head(enum util_format f)
{
	if (f == UTIL_FORMAT_JSON)
		fputs("[\n", stdout);
	else if (f == UTIL_FORMAT_CSV)
		fputs("chain,hop,edge,address,type,size\n", stdout);
	else if (f == UTIL_FORMAT_DOT)
		fputs("digraph path {\n  rankdir=LR;\n  node [shape=box];\n",
		      stdout);
}

static void
print_tail(enum util_format f, uint64_t chains)
{
	if (f == UTIL_FORMAT_JSON)
		fputs(chains ? "\n]\n" : "]\n", stdout);
	else if (f == UTIL_FORMAT_DOT)
		fputs("}\n", stdout);
}

/* Prints the chains to target; returns 0 or -1 (out of memory). */
static int
print_paths(const struct graph *g, const struct graph_paths *p,
	    uint32_t target, const struct path_args *a)
{
	struct graph_hop *h = NULL;
	struct cand *c = NULL;
	size_t cap = 0;
	int64_t n, nc = 0;
	int rc = -1;

	print_head(a->format);
	n = graph_chain(g, p, target, &h, &cap);
	if (n < 0)
		goto out;
	if (n == 0) {
		if (a->format == UTIL_FORMAT_TEXT)
			printf("0x%" PRIx64 ": no chain from any root (nothing"
			       " reachable refers to it: garbage awaiting the "
			       "cycle collector, or held only by what the walk "
			       "did not see)\n", g->d->obj_addr[target]);
		print_tail(a->format, 0);
		rc = 0;
		goto out;
	}
	print_chain(g, h, (size_t)n, a->format, 0);
	if (a->limit > 1 && (nc = other_referrers(g, p, target, a->limit - 1,
						  &c)) < 0)
		goto out;
	for (int64_t k = 0; k < nc; k++) {
		n = graph_chain(g, p, c[k].via, &h, &cap);
		if (n <= 0)  /* only reached referrers are candidates */
			goto out;
		if ((size_t)n + 1 > cap) {
			struct graph_hop *nh = realloc(h, (cap + 1) * sizeof *h);
			if (!nh)
				goto out;
			h = nh;
			cap++;
		}
		h[n].obj = target;
		h[n].name = edge_between(g->d, c[k].via, target);
		print_chain(g, h, (size_t)n + 1, a->format, (uint64_t)k + 1);
	}
	print_tail(a->format, 1 + (uint64_t)nc);
	rc = 0;
out:
	free(h);
	free(c);
	return rc;
}

/* The analysis proper, on the opened graph (graph_run). */
static int
run(const struct graph *g, const void *args)
{
	const struct path_args *a = args;
	struct graph_paths p;
	uint32_t target;
	int rc = graph_find_target(g->d, a->file, a->target, &target);

	if (rc)
		return rc;
	if (graph_paths_compute(g, &p) != 0)
		return util_error("out of memory");
	rc = print_paths(g, &p, target, a) ? util_error("out of memory")
					   : MUPPY_EXIT_OK;
	graph_paths_free(&p);
	return rc;
}

int
cmd_path(int argc, char **argv)
{
	struct path_args a;
	int rc;

	if (!parse_args(argc, argv, &a, &rc))
		return rc;
	/* Paths need the referrers of the target only: no reverse index,
	 * and its in-degree is counted when asked for. */
	return graph_run_with(a.file, GRAPH_BUILD_NO_DEGREES |
			      GRAPH_BUILD_DROP_COUNTS, run, &a);
}
