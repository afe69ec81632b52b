/*
 * report.c - writes `muppy report`'s HTML page (report.h has the design):
 * the series' figures and charts, the suspects and retainers as static
 * HTML, and the explorer's objects as JSON for tools/report_page.c's
 * script.  The explorer's objects are chosen first (they are what the
 * suspects' and retainers' "explore" buttons open), then the page is
 * written top to bottom.
 */
#include <inttypes.h> /* PRIu64, PRIx64 */
#include <stdlib.h>   /* malloc, calloc, free, qsort, strtod, strtoull */
#include <string.h>   /* strcmp, strlen, strrchr, memset */
#include <time.h>     /* gmtime_r, strftime */

#include "common/pympler.h"   /* pym_size */
#include "common/text.h"      /* struct text_buf */
#include "tools/graph.h"       /* graph_pair_cmp, graph_pairs_first */
#include "tools/report.h"
#include "tools/table.h"      /* tbl_json_string_html */
#include "tools/util.h"       /* util_error, util_read_dump */

#define REP_NONE UINT32_MAX
#define REP_LIST_MAX 40   /* entries per list of an explorer object */
#define REP_SAMPLES 5     /* members listed per group */
#define REP_DEPTH 2       /* hops from a seed that still get lists */
#define REP_TOP_ROWS 6    /* summary rows drawn in the growth chart */

/* ---- text ------------------------------------------------------------- */

static void
html_n(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(s[i], out); break;
		}
	}
}

static void
html(FILE *out, const char *s)
{
	html_n(out, s, strlen(s));
}

static void
jstr(FILE *out, const char *s)
{
	tbl_json_string_html(out, s, strlen(s));
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void
size_html(FILE *out, int64_t v)
{
	char buf[PYM_SIZE_LEN];
	const char *s = pym_size(v < 0 ? -v : v, buf);

	while (*s == ' ')
		s++;
	if (v < 0)
		fputc('-', out);
	html(out, s);
}

/* A copy button: the text goes to the clipboard (report_js). */
static void
copy_button(FILE *out, const char *text, const char *title)
{
	fputs("<button class=\"copy\" type=\"button\" data-copy=\"", out);
	html(out, text);
	fputs("\" title=\"", out);
	html(out, title);
	fputs("\">copy</button>", out);
}

static void
utc_text(double t, char *buf, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm) ||
	    !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, n, "?");
}

/* ---- the series of dumps ----------------------------------------------- */

struct rep_dump {
	const char *path;
	double time;
	uint64_t rss, objects, heap;
	char trigger[24];
};

struct rep_series {
	struct rep_dump *dumps;
	int n;
	uint32_t top[REP_TOP_ROWS];   /* rows of the last dump's summary */
	int ntop;
	double *top_size;             /* ntop x n: each row's bytes per dump */
};

static uint64_t
meta_u64(const struct fmt_dump *d, const char *key)
{
	const char *v = fmt_meta_get(d, key);

	return v ? strtoull(v, NULL, 10) : 0;
}

static void
dump_figures(const struct fmt_dump *d, const char *path, struct rep_dump *r)
{
	const char *t = fmt_meta_get(d, "time"), *tr = fmt_meta_get(d,
								 "trigger");

	r->path = path;
	r->time = t ? strtod(t, NULL) : 0;
	r->rss = meta_u64(d, "rss");
	snprintf(r->trigger, sizeof r->trigger, "%s", tr ? tr : "");
	for (uint32_t k = 0; k < d->nsummary; k++) {
		r->objects += d->summary[k].count;
		r->heap += d->summary[k].size;
	}
}

static const int64_t *top_grow;

static int
grow_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	if (top_grow[a] != top_grow[b])
		return top_grow[a] > top_grow[b] ? -1 : 1;
	return (a > b) - (a < b);
}

/* The rows of l->d that grew most in bytes since the oldest dump. */
static int
pick_top_rows(const struct loaded *l, struct rep_series *s)
{
	uint32_t *idx, n = 0;

	if (!l->grow_size)
		return 0;
	idx = malloc(((size_t)l->d.nsummary + 1) * sizeof *idx);
	if (!idx)
		return -1;
	for (uint32_t k = 0; k < l->d.nsummary; k++)
		if (l->grow_size[k] > 0)
			idx[n++] = k;
	top_grow = l->grow_size;
	qsort(idx, n, sizeof *idx, grow_cmp);
	for (uint32_t k = 0; k < n && s->ntop < REP_TOP_ROWS; k++)
		s->top[s->ntop++] = idx[k];
	free(idx);
	return 0;
}

static double
row_size_named(const struct fmt_dump *d, const char *name)
{
	for (uint32_t k = 0; k < d->nsummary; k++)
		if (strcmp(fmt_str(d, d->summary[k].name), name) == 0)
			return (double)d->summary[k].size;
	return 0;
}

static void
series_free(struct rep_series *s)
{
	free(s->dumps);
	free(s->top_size);
	memset(s, 0, sizeof *s);
}

/* Reads every dump's summary again (the last is l->d). */
static int
series_read(const struct loaded *l, struct rep_series *s)
{
	const struct fmt_dump *last = &l->d;
	int rc;

	s->n = l->nseries;
	s->dumps = calloc((size_t)s->n, sizeof *s->dumps);
	if (!s->dumps || pick_top_rows(l, s) != 0)
		return util_error("out of memory");
	s->top_size = calloc((size_t)s->ntop * s->n + 1, sizeof *s->top_size);
	if (!s->top_size)
		return util_error("out of memory");
	for (int i = 0; i < s->n; i++) {
		struct fmt_dump od;
		const struct fmt_dump *d = last;

		if (i + 1 < s->n) {
			if ((rc = util_read_dump(l->series[i], FMT_READ_SUMMARY,
						 &od)))
				return rc;
			d = &od;
		}
		dump_figures(d, l->series[i], &s->dumps[i]);
		for (int k = 0; k < s->ntop; k++)
			s->top_size[k * s->n + i] = row_size_named(d,
				fmt_str(last, last->summary[s->top[k]].name));
		if (d != last)
			fmt_dump_free(&od);
	}
	return 0;
}

/* ---- the explorer's objects (note 2) ------------------------------------ */

#define REP_EDGE_LATER UINT32_MAX   /* named when written (edge_of) */
#define REP_BIG_EDGES 4096          /* out-degree that gets an index */
#define REP_BIG_CACHE 8

struct rep_item {
	uint32_t obj, edge;   /* edge: the name between it and the subject */
	uint64_t kind;        /* type << 32 | label */
	uint64_t retained;
};

struct rep_entry {
	uint32_t first, count;   /* items[first .. first + count) */
	uint64_t size, retained;
};

struct rep_nodes {
	const struct loaded *l;
	struct dom_kids kids;
	uint32_t *node_of;     /* per object: node id or REP_NONE */
	uint32_t *obj;         /* per node */
	uint8_t *depth;        /* per node: hops from a seed */
	uint32_t n, max, nfull;
	FILE *lists;           /* "id":{...} of the nodes with lists, */
	char *lists_buf;       /* in memory (open_memstream) */
	size_t lists_len;
	/* Kinds (type, label) met, interned: kind_obj is an example. */
	uint64_t *kind_key;
	uint32_t *kind_idx;    /* open addressing, REP_NONE: empty */
	uint32_t *kind_obj;
	uint32_t nkinds, kind_cap;
	struct graph_hop *hops;
	size_t hops_cap;
	struct rep_item *items;
	struct rep_entry *entries;
	size_t items_cap;
	uint32_t subject;      /* the node whose list is being written */
	int subject_is_dst;    /* referrers: the edges lead to the subject */
	/* Big containers' edges sorted by destination, for edge_of: a list
	 * of 450k records is a referrer of each of them. */
	struct rep_big {
		uint32_t src, n;
		uint64_t *by_dst;      /* dst << 32 | edge offset */
	} big[REP_BIG_CACHE];
	unsigned big_next;
};

static uint64_t
kind_key(const struct fmt_dump *d, uint32_t obj)
{
	return (uint64_t)d->obj_type[obj] << 32 | d->obj_label[obj];
}

/* The slot of key in the kinds table: its own or the empty one where it
 * goes. */
static uint32_t
kind_slot(const struct rep_nodes *r, uint64_t key)
{
	uint32_t mask = r->kind_cap - 1;
	uint32_t h = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;

	while (r->kind_idx[h] != REP_NONE && r->kind_key[h] != key)
		h = (h + 1) & mask;
	return h;
}

static uint32_t
kind_of(struct rep_nodes *r, uint32_t obj)
{
	uint64_t key = kind_key(&r->l->d, obj);
	uint32_t h = kind_slot(r, key);

	if (r->kind_idx[h] != REP_NONE)
		return r->kind_idx[h];
	if (r->nkinds >= r->max)   /* nodes_expand keeps room: never */
		return 0;
	r->kind_key[h] = key;
	r->kind_idx[h] = r->nkinds;
	r->kind_obj[r->nkinds] = obj;
	return r->nkinds++;
}

/* The node of obj, made at depth if there is room; REP_NONE if not. */
static uint32_t
node_add(struct rep_nodes *r, uint32_t obj, unsigned depth)
{
	uint32_t id = r->node_of[obj];

	if (id != REP_NONE) {
		if (depth < r->depth[id])
			r->depth[id] = (uint8_t)depth;
		return id;
	}
	if (r->n >= r->max)
		return REP_NONE;
	id = r->n++;
	r->node_of[obj] = id;
	r->obj[id] = obj;
	r->depth[id] = (uint8_t)(depth > 255 ? 255 : depth);
	kind_of(r, obj);
	return id;
}

/* A seed and the objects on its path from a root: all at depth 0, so
 * the holders get their lists too. */
static void
seed_add(struct rep_nodes *r, uint32_t obj)
{
	int64_t n = graph_chain(&r->l->g, &r->l->p, obj, &r->hops,
				&r->hops_cap);

	for (int64_t k = 0; k < n; k++)
		node_add(r, r->hops[k].obj, 0);
	node_add(r, obj, 0);
}

/* from's edges by destination (cached); NULL when out of memory. */
static const struct rep_big *
big_index(struct rep_nodes *r, uint32_t from)
{
	const struct fmt_dump *d = &r->l->d;
	uint64_t lo = d->edge_start[from], n = d->edge_start[from + 1] - lo;
	struct rep_big *b;

	for (unsigned k = 0; k < REP_BIG_CACHE; k++)
		if (r->big[k].by_dst && r->big[k].src == from)
			return &r->big[k];
	b = &r->big[r->big_next++ % REP_BIG_CACHE];
	free(b->by_dst);
	b->by_dst = malloc(n * sizeof *b->by_dst);
	if (!b->by_dst)
		return NULL;
	for (uint64_t k = 0; k < n; k++)
		b->by_dst[k] = (uint64_t)d->edge_dst[lo + k] << 32 | k;
	qsort(b->by_dst, n, sizeof *b->by_dst, graph_pair_cmp);
	b->src = from;
	b->n = (uint32_t)n;
	return b;
}

/* The name of the first edge from -> to, 0 if none is named. */
static uint32_t
edge_of(struct rep_nodes *r, uint32_t from, uint32_t to)
{
	const struct fmt_dump *d = &r->l->d;
	uint64_t lo = d->edge_start[from], hi = d->edge_start[from + 1];
	const struct rep_big *b;
	uint64_t a;

	if (hi - lo <= REP_BIG_EDGES || !(b = big_index(r, from))) {
		for (uint64_t k = lo; k < hi; k++)
			if (d->edge_dst[k] == to)
				return d->edge_name[k];
		return 0;
	}
	a = graph_pairs_first(b->by_dst, b->n, to);
	return a < b->n && b->by_dst[a] >> 32 == to ?
	       d->edge_name[lo + (uint32_t)b->by_dst[a]] : 0;
}

static int
items_room(struct rep_nodes *r, size_t n)
{
	if (n <= r->items_cap)
		return 0;
	free(r->items);
	free(r->entries);
	r->items = malloc(n * sizeof *r->items);
	r->entries = malloc(n * sizeof *r->entries);
	r->items_cap = r->items && r->entries ? n : 0;
	return r->items_cap ? 0 : -1;
}

static int
item_cmp(const void *pa, const void *pb)
{
	const struct rep_item *a = pa, *b = pb;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->retained != b->retained)
		return a->retained > b->retained ? -1 : 1;
	return (a->obj > b->obj) - (a->obj < b->obj);
}

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct rep_entry *a = pa, *b = pb;

	if (a->retained != b->retained)
		return a->retained > b->retained ? -1 : 1;
	return (a->first > b->first) - (a->first < b->first);
}

/* Groups r->items[0..n) by kind into r->entries; returns their number. */
static size_t
group_items(struct rep_nodes *r, size_t n)
{
	const struct fmt_dump *d = &r->l->d;
	size_t ne = 0;

	qsort(r->items, n, sizeof *r->items, item_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint64_t size = 0, ret = 0;

		while (j < n && r->items[j].kind == r->items[i].kind) {
			size += d->obj_size[r->items[j].obj];
			ret += r->items[j].retained;
			j++;
		}
		if (j - i >= REPORT_GROUP_MIN) {
			r->entries[ne++] = (struct rep_entry){ (uint32_t)i,
				(uint32_t)(j - i), size, ret };
		} else {
			for (size_t k = i; k < j; k++)
				r->entries[ne++] = (struct rep_entry){
					(uint32_t)k, 1,
					d->obj_size[r->items[k].obj],
					r->items[k].retained };
		}
		i = j;
	}
	qsort(r->entries, ne, sizeof *r->entries, entry_cmp);
	return ne;
}

static void
member_json(struct rep_nodes *r, const struct rep_item *it, unsigned depth,
	    struct text_buf *name)
{
	uint32_t id = node_add(r, it->obj, depth);
	uint32_t edge = it->edge;

	if (edge == REP_EDGE_LATER)
		edge = r->subject_is_dst ? edge_of(r, it->obj, r->subject) :
		       edge_of(r, r->subject, it->obj);
	name->len = 0;
	if (name->s)
		name->s[0] = '\0';
	if (edge)
		graph_edge_text(&r->l->d, edge, name);
	fprintf(r->lists, "[%" PRId64 ",", id == REP_NONE ? (int64_t)-1 :
		  (int64_t)id);
	jstr(r->lists, text_cstr(name));
	fputc(']', r->lists);
}

/* One list: {"n":objects,"e":[entries],"more":objects left out}. */
static void
list_json(struct rep_nodes *r, size_t n, unsigned depth,
	  struct text_buf *name)
{
	size_t ne = group_items(r, n), shown = 0;
	uint64_t more = 0;

	fprintf(r->lists, "{\"n\":%zu,\"e\":[", n);
	for (size_t k = 0; k < ne; k++) {
		const struct rep_entry *e = &r->entries[k];
		if (shown == REP_LIST_MAX) {
			more += e->count;
			continue;
		}
		if (shown++)
			fputc(',', r->lists);
		if (e->count == 1) {
			member_json(r, &r->items[e->first], depth, name);
			continue;
		}
		fprintf(r->lists, "{\"k\":%u,\"c\":%u,\"s\":%" PRIu64
			  ",\"r\":%" PRIu64 ",\"m\":[",
			  kind_of(r, r->items[e->first].obj), e->count,
			  e->size, e->retained);
		for (uint32_t m = 0; m < e->count && m < REP_SAMPLES; m++) {
			if (m)
				fputc(',', r->lists);
			member_json(r, &r->items[e->first + m], depth, name);
		}
		fputs("]}", r->lists);
	}
	fprintf(r->lists, "],\"more\":%" PRIu64 "}", more);
}

enum rep_list { REP_REFERRERS, REP_REFERENTS, REP_DOMINATED };

/* The items of one list of obj into r->items; returns their number or
 * -1 (out of memory). */
static int64_t
list_items(struct rep_nodes *r, uint32_t obj, enum rep_list which)
{
	const struct loaded *l = r->l;
	const struct fmt_dump *d = &l->d;
	uint64_t lo, hi, n;

	if (which == REP_REFERRERS) {
		lo = l->g.rev_start[obj];
		hi = l->g.rev_start[obj + 1];
	} else if (which == REP_REFERENTS) {
		lo = d->edge_start[obj];
		hi = d->edge_start[obj + 1];
	} else {
		lo = r->kids.start[obj];
		hi = r->kids.start[obj + 1];
	}
	n = hi - lo;
	if (items_room(r, n + 1) != 0)
		return -1;
	for (uint64_t k = 0; k < n; k++) {
		struct rep_item *it = &r->items[k];
		if (which == REP_REFERRERS) {
			it->obj = l->g.rev_src[lo + k];
			it->edge = REP_EDGE_LATER;
		} else if (which == REP_REFERENTS) {
			it->obj = d->edge_dst[lo + k];
			it->edge = d->edge_name[lo + k];
		} else {
			it->obj = r->kids.kid[lo + k];
			it->edge = REP_EDGE_LATER;
		}
		it->kind = kind_key(d, it->obj);
		it->retained = l->dom.retained[it->obj];
	}
	return (int64_t)n;
}

/* Gives node id its lists and its path: "id":{"p":..,"r":..,"f":..,"d":..}. */
static int
node_lists(struct rep_nodes *r, uint32_t id, struct text_buf *name)
{
	static const char *const keys[3] = {"r", "f", "d"};
	uint32_t obj = r->obj[id];
	int64_t hops = graph_chain(&r->l->g, &r->l->p, obj, &r->hops,
				   &r->hops_cap);

	fprintf(r->lists, "%s\"%u\":{\"p\":", r->nfull ? "," : "", id);
	name->len = 0;
	if (name->s)
		name->s[0] = '\0';
	if (hops > 0)
		graph_chain_text(&r->l->g, r->hops, (size_t)hops, 0, NULL,
				 name);
	jstr(r->lists, hops > 0 ? text_cstr(name) : "");
	for (int k = 0; k < 3; k++) {
		int64_t n = list_items(r, obj, (enum rep_list)k);
		if (n < 0)
			return -1;
		r->subject = obj;
		r->subject_is_dst = k == REP_REFERRERS;
		fprintf(r->lists, ",\"%s\":", keys[k]);
		list_json(r, (size_t)n, r->depth[id] + 1u, name);
	}
	fputc('}', r->lists);
	r->nfull++;
	return ferror(r->lists) || name->oom ? -1 : 0;
}

static void
nodes_free(struct rep_nodes *r)
{
	dom_kids_free(&r->kids);
	free(r->node_of);
	free(r->obj);
	free(r->depth);
	free(r->kind_key);
	free(r->kind_idx);
	free(r->kind_obj);
	free(r->hops);
	free(r->items);
	free(r->entries);
	for (unsigned k = 0; k < REP_BIG_CACHE; k++)
		free(r->big[k].by_dst);
	if (r->lists)
		fclose(r->lists);
	free(r->lists_buf);
}

static int
nodes_alloc(struct rep_nodes *r, const struct loaded *l, uint32_t max)
{
	uint32_t n = l->g.n;

	r->l = l;
	r->max = max < 1 ? 1 : max;
	r->kind_cap = 16;
	while (r->kind_cap < 2 * r->max)
		r->kind_cap *= 2;
	r->node_of = malloc(((size_t)n + 1) * sizeof *r->node_of);
	r->obj = malloc((size_t)r->max * sizeof *r->obj);
	r->depth = malloc((size_t)r->max);
	r->kind_key = malloc((size_t)r->kind_cap * sizeof *r->kind_key);
	r->kind_idx = malloc((size_t)r->kind_cap * sizeof *r->kind_idx);
	r->kind_obj = malloc((size_t)r->max * sizeof *r->kind_obj);
	r->lists = open_memstream(&r->lists_buf, &r->lists_len);
	if (!r->lists || !r->node_of || !r->obj || !r->depth || !r->kind_key ||
	    !r->kind_idx || !r->kind_obj ||
	    dom_kids_build(&l->dom, &r->kids) != 0)
		return -1;
	memset(r->node_of, 0xff, ((size_t)n + 1) * sizeof *r->node_of);
	memset(r->kind_idx, 0xff, (size_t)r->kind_cap * sizeof *r->kind_idx);
	return 0;
}

/* Lists for the nodes in id order (breadth-first from the seeds) while
 * their members surely fit. */
static int
nodes_expand(struct rep_nodes *r)
{
	struct text_buf name = {0};
	int rc = 0;

	for (uint32_t id = 0; id < r->n && rc == 0; id++) {
		if (r->depth[id] > REP_DEPTH)
			continue;
		/* Room for every member and group kind a node can add. */
		if ((uint64_t)r->n + 3ull * REP_LIST_MAX * REP_SAMPLES >
		    r->max || (uint64_t)r->nkinds + 3ull * REP_LIST_MAX *
		    (REP_SAMPLES + 1) > r->max)
			break;
		rc = node_lists(r, id, &name);
	}
	text_free(&name);
	return rc;
}

/* ---- the page's sections --------------------------------------------- */

struct rep {
	FILE *out;
	const struct loaded *l;
	const struct report_opts *o;
	struct rep_series s;
	struct rep_nodes nodes;
	uint32_t *top;        /* the top retainers, objects */
	uint32_t ntop;
	struct text_buf t;    /* scratch */
};

static const char *
scratch_reset(struct rep *r)
{
	r->t.len = 0;
	if (r->t.s)
		r->t.s[0] = '\0';
	return "";
}

static void
write_head(struct rep *r)
{
	const char *cmd = fmt_meta_get(&r->l->d, "cmdline");

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n"
	      "<title>muppy report: ", r->out);
	html(r->out, cmd ? cmd : base_name(r->l->series[r->s.n - 1]));
	fputs("</title>\n<style>\n", r->out);
	fputs(report_css, r->out);
	fputs("</style>\n</head>\n<body>\n", r->out);
}

static void
meta_row(struct rep *r, const char *label, const char *key)
{
	const char *v = fmt_meta_get(&r->l->d, key);

	if (!v || !*v)
		return;
	fprintf(r->out, "<tr><th>%s</th><td><code>", label);
	html(r->out, v);
	fputs("</code></td></tr>\n", r->out);
}

static void
write_process(struct rep *r)
{
	const struct rep_series *s = &r->s;
	const char *cmd = fmt_meta_get(&r->l->d, "cmdline");
	char t0[64], t1[64];

	utc_text(s->dumps[0].time, t0, sizeof t0);
	utc_text(s->dumps[s->n - 1].time, t1, sizeof t1);
	fputs("<header><h1>muppy report</h1>\n<p class=\"cmd\"><code>", r->out);
	html(r->out, cmd ? cmd : "?");
	fputs("</code> ", r->out);
	if (cmd)
		copy_button(r->out, cmd, "copy the command line");
	fprintf(r->out, "</p>\n<p class=\"sub\">%d dump%s, %s", s->n,
		s->n == 1 ? "" : "s", t0);
	if (s->n > 1)
		fprintf(r->out, " to %s (%.1f s)", t1,
			s->dumps[s->n - 1].time - s->dumps[0].time);
	fputs("</p>\n<nav><a href=\"#process\">process</a> "
	      "<a href=\"#growth\">growth</a> "
	      "<a href=\"#suspects\">leak suspects</a> "
	      "<a href=\"#retainers\">top retainers</a> "
	      "<a href=\"#explorer\">explorer</a></nav></header>\n", r->out);
	fputs("<section id=\"process\"><h2>Process</h2>\n<table class=\"kv\">\n",
	      r->out);
	meta_row(r, "pid", "pid");
	meta_row(r, "python", "python_full");
	meta_row(r, "executable", "executable");
	meta_row(r, "snapshot", "snapshot");
	fputs("</table>\n<h3>Dumps</h3>\n<table class=\"num\" id=\"dumps\">\n"
	      "<tr><th>#</th><th>file</th><th>time</th><th>since first</th>"
	      "<th>trigger</th><th>objects</th><th>heap</th><th>RSS</th>"
	      "</tr>\n", r->out);
	for (int i = 0; i < s->n; i++) {
		const struct rep_dump *d = &s->dumps[i];
		char t[64];

		utc_text(d->time, t, sizeof t);
		fprintf(r->out, "<tr><td>%d</td><td class=\"l\"><code>", i + 1);
		html(r->out, base_name(d->path));
		fprintf(r->out, "</code></td><td class=\"l\">%s</td>"
			"<td>+%.1f s</td><td class=\"l\">", t,
			d->time - s->dumps[0].time);
		html(r->out, d->trigger);
		fprintf(r->out, "</td><td>%" PRIu64 "</td><td>", d->objects);
		size_html(r->out, (int64_t)d->heap);
		fputs("</td><td>", r->out);
		if (d->rss)
			size_html(r->out, (int64_t)d->rss);
		fputs("</td></tr>\n", r->out);
	}
	fputs("</table>\n</section>\n", r->out);
}

/* ---- charts ----------------------------------------------------------- */

struct chart_line {
	const char *name;
	const double *y;   /* n values */
};

static const char *const chart_colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#17becf",
};

static void
value_text(double v, int bytes, char *buf, size_t n)
{
	char s[PYM_SIZE_LEN];
	const char *p;

	if (!bytes) {
		snprintf(buf, n, "%.0f", v);
		return;
	}
	p = pym_size((int64_t)v, s);
	while (*p == ' ')
		p++;
	snprintf(buf, n, "%s", p);
}

/* A line chart of nl lines over the dumps' times, y from 0. */
static void
svg_chart(struct rep *r, const char *title, const struct chart_line *lines,
	  int nl, int bytes)
{
	const int w = 720, h = 240, ml = 84, mr = 16, mt = 16, mb = 34;
	const struct rep_series *s = &r->s;
	double x0 = s->dumps[0].time, x1 = s->dumps[s->n - 1].time, ymax = 0;
	char buf[64];

	for (int k = 0; k < nl; k++)
		for (int i = 0; i < s->n; i++)
			if (lines[k].y[i] > ymax)
				ymax = lines[k].y[i];
	ymax = ymax > 0 ? ymax * 1.08 : 1;
	fprintf(r->out, "<figure><svg class=\"chart\" viewBox=\"0 0 %d %d\" "
		"width=\"%d\" height=\"%d\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\"><title>", w, h, w, h);
	html(r->out, title);
	fputs("</title>\n", r->out);
	for (int g = 0; g <= 4; g++) {
		double v = ymax * g / 4;
		double y = mt + (h - mt - mb) * (1 - (double)g / 4);
		value_text(v, bytes, buf, sizeof buf);
		fprintf(r->out, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" "
			"y1=\"%.1f\" y2=\"%.1f\"/><text class=\"ax\" x=\"%d\" "
			"y=\"%.1f\" text-anchor=\"end\">%s</text>\n", ml,
			w - mr, y, y, ml - 6, y + 4, buf);
	}
	fprintf(r->out, "<text class=\"ax\" x=\"%d\" y=\"%d\">+0 s</text>"
		"<text class=\"ax\" x=\"%d\" y=\"%d\" text-anchor=\"end\">"
		"+%.1f s</text>\n", ml, h - 12, w - mr, h - 12, x1 - x0);
	for (int k = 0; k < nl; k++) {
		const char *c = chart_colors[k % 8];
		fprintf(r->out, "<polyline fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"2\" points=\"", c);
		for (int i = 0; i < s->n; i++) {
			double fx = x1 > x0 ? (s->dumps[i].time - x0) / (x1 - x0)
				  : 0.5;
			fprintf(r->out, "%s%.1f,%.1f", i ? " " : "",
				ml + fx * (w - ml - mr),
				mt + (h - mt - mb) * (1 - lines[k].y[i] / ymax));
		}
		fputs("\"/>\n", r->out);
		for (int i = 0; i < s->n && s->n <= 200; i++) {
			double fx = x1 > x0 ? (s->dumps[i].time - x0) / (x1 - x0)
				  : 0.5;
			value_text(lines[k].y[i], bytes, buf, sizeof buf);
			fprintf(r->out, "<circle r=\"3\" fill=\"%s\" cx=\"%.1f\" "
				"cy=\"%.1f\"><title>", c,
				ml + fx * (w - ml - mr),
				mt + (h - mt - mb) * (1 - lines[k].y[i] / ymax));
			html(r->out, lines[k].name);
			fprintf(r->out, ": %s at +%.1f s</title></circle>\n",
				buf, s->dumps[i].time - x0);
		}
	}
	fputs("</svg><figcaption>", r->out);
	html(r->out, title);
	fputs("<ul class=\"legend\">", r->out);
	for (int k = 0; k < nl; k++) {
		fprintf(r->out, "<li><span class=\"sw\" style=\"background:%s\">"
			"</span>", chart_colors[k % 8]);
		html(r->out, lines[k].name);
		fputs("</li>", r->out);
	}
	fputs("</ul></figcaption></figure>\n", r->out);
}

static int
write_growth(struct rep *r)
{
	const struct rep_series *s = &r->s;
	size_t n = (size_t)s->n;
	double *v = calloc(3 * n + 1, sizeof *v);
	struct chart_line lines[REP_TOP_ROWS];
	int have_rss = 0;

	if (!v)
		return util_error("out of memory");
	for (size_t i = 0; i < n; i++) {
		v[i] = (double)s->dumps[i].heap;
		v[n + i] = (double)s->dumps[i].rss;
		v[2 * n + i] = (double)s->dumps[i].objects;
		have_rss |= s->dumps[i].rss != 0;
	}
	fputs("<section id=\"growth\"><h2>Growth</h2>\n", r->out);
	if (n < 2)
		fputs("<p class=\"note\">One dump: no growth to show.  Give "
		      "the older dumps of the same process too "
		      "(<code>muppy report OLDER... LAST</code>).</p>\n",
		      r->out);
	lines[0] = (struct chart_line){ "heap (objects' sys.getsizeof)", v };
	lines[1] = (struct chart_line){ "RSS", v + n };
	svg_chart(r, "Heap and RSS", lines, have_rss ? 2 : 1, 1);
	lines[0] = (struct chart_line){ "objects", v + 2 * n };
	svg_chart(r, "Objects", lines, 1, 0);
	for (int k = 0; k < s->ntop; k++)
		lines[k] = (struct chart_line){ fmt_str(&r->l->d,
			r->l->d.summary[s->top[k]].name),
			s->top_size + (size_t)k * n };
	if (s->ntop)
		svg_chart(r, "The summary rows that grew most (bytes)", lines,
			  s->ntop, 1);
	else if (n > 1)
		fputs("<p class=\"note\">No summary row grew in bytes between "
		      "the first and the last dump.</p>\n", r->out);
	fputs("</section>\n", r->out);
	free(v);
	return 0;
}

/* An "explore" button for obj, opening the given list (r, f or d). */
static void
explore_button(struct rep *r, uint32_t obj, const char *list)
{
	uint32_t id = r->nodes.node_of[obj];

	if (id == REP_NONE)
		return;
	fprintf(r->out, "<button class=\"explore\" type=\"button\" "
		"data-node=\"%u\" data-open=\"%s\">explore</button>", id, list);
}

static void
address_cell(struct rep *r, uint32_t obj)
{
	char addr[32], cmd[4200];
	const char *dump = r->l->series[r->s.n - 1];

	snprintf(addr, sizeof addr, "0x%" PRIx64, r->l->d.obj_addr[obj]);
	snprintf(cmd, sizeof cmd, "muppy browse %s %s", dump, addr);
	fprintf(r->out, "<code class=\"addr\">%s</code> ", addr);
	copy_button(r->out, addr, "copy the address");
	fputs(" ", r->out);
	fputs("<button class=\"copy\" type=\"button\" data-copy=\"", r->out);
	html(r->out, cmd);
	fputs("\" title=\"copy a command that browses it\">copy "
	      "<code>muppy browse</code></button>", r->out);
}

static void
write_suspects(struct rep *r)
{
	const struct leaks_report *lr = &r->l->leaks;
	uint64_t n = r->l->have_leaks ? lr->n : 0;

	if (r->o->suspects && n > r->o->suspects)
		n = r->o->suspects;
	fputs("<section id=\"suspects\"><h2>Leak suspects</h2>\n", r->out);
	if (!r->l->have_leaks)
		fputs("<p class=\"note\">One dump: suspects need two or more "
		      "dumps of the same process.</p>\n", r->out);
	else if (!lr->n)
		fputs("<p class=\"note\">Nothing kept growing across the dumps."
		      "</p>\n", r->out);
	else
		fprintf(r->out, "<p class=\"note\">What kept growing across "
			"the %d dumps, and what holds it (as <code>muppy "
			"leaks</code>), largest first%s.</p>\n", r->s.n,
			n < lr->n ? "; the rest: muppy leaks" : "");
	for (uint64_t k = 0; k < n; k++) {
		const struct leaks_line *ln = &lr->lines[k];
		fprintf(r->out, "<div class=\"suspect\" id=\"suspect-%" PRIu64
			"\"><div class=\"sline\"><span class=\"count\">%" PRIu64
			"</span> <span class=\"what\">", k + 1, ln->count);
		html(r->out, ln->what);
		fputs("</span> <span class=\"size\">", r->out);
		size_html(r->out, (int64_t)ln->size);
		fputs("</span>", r->out);
		if (ln->grew) {
			fputs(" <span class=\"grew\">grew by ", r->out);
			size_html(r->out, (int64_t)ln->grew);
			fputs("</span>", r->out);
		}
		fputs("</div>\n<div class=\"held\">held by <code class=\"holder\">",
		      r->out);
		html(r->out, ln->pattern);
		fputs("</code></div>\n", r->out);
		if (ln->breakdown && *ln->breakdown) {
			fputs("<div class=\"holds\">holds ", r->out);
			html(r->out, ln->breakdown);
			fputs("</div>\n", r->out);
		}
		fputs("<div class=\"eg\">e.g. <code class=\"path\">", r->out);
		html(r->out, ln->example);
		fputs("</code> ", r->out);
		address_cell(r, ln->example_obj);
		fputs(" ", r->out);
		explore_button(r, ln->example_obj, "r");
		fputs("</div></div>\n", r->out);
	}
	fputs("</section>\n", r->out);
}

static void
write_retainers(struct rep *r)
{
	const struct loaded *l = r->l;
	struct graph_hop *h = NULL;
	size_t cap = 0;

	fputs("<section id=\"retainers\"><h2>Top retainers</h2>\n<p class="
	      "\"note\">The objects whose freeing would free the most (their "
	      "retained size, from the dominator tree, as <code>muppy top"
	      "</code>); nested ones repeat their owners' bytes.</p>\n"
	      "<table class=\"num\"><tr><th>retained</th><th>size</th>"
	      "<th>kind</th><th>path</th><th>address</th><th></th></tr>\n",
	      r->out);
	for (uint32_t k = 0; k < r->ntop; k++) {
		uint32_t obj = r->top[k];
		int64_t n = graph_chain(&l->g, &l->p, obj, &h, &cap);

		fputs("<tr><td>", r->out);
		size_html(r->out, (int64_t)l->dom.retained[obj]);
		fputs("</td><td>", r->out);
		size_html(r->out, (int64_t)l->d.obj_size[obj]);
		fputs("</td><td class=\"l\">", r->out);
		scratch_reset(r);
		graph_row_name(&l->d, obj, &r->t);
		html(r->out, text_cstr(&r->t));
		fputs("</td><td class=\"l\"><code class=\"path\">", r->out);
		scratch_reset(r);
		if (n > 0)
			graph_chain_text(&l->g, h, (size_t)n, 0, NULL, &r->t);
		html(r->out, n > 0 ? text_cstr(&r->t) : "<unreachable>");
		fputs("</code></td><td class=\"l\">", r->out);
		address_cell(r, obj);
		fputs("</td><td>", r->out);
		explore_button(r, obj, "d");
		fputs("</td></tr>\n", r->out);
	}
	fputs("</table>\n</section>\n", r->out);
	free(h);
}

static void
write_explorer(struct rep *r)
{
	const struct rep_nodes *nd = &r->nodes;
	const struct fmt_dump *d = &r->l->d;
	const char *dump = r->l->series[r->s.n - 1];

	fprintf(r->out, "<section id=\"explorer\"><h2>Explorer</h2>\n"
		"<p class=\"note\">%u objects around the suspects and the top "
		"retainers, %u of them with their referrers, referents and "
		"dominated objects.  Click a button to open a list; the rest "
		"of the heap is one <code>muppy browse</code> away.</p>\n"
		"<div id=\"tree\"><p class=\"note\">This part needs JavaScript."
		"</p></div>\n</section>\n", nd->n, nd->nfull);
	fputs("<script type=\"application/json\" id=\"muppy-data\">{\"dump\":",
	      r->out);
	jstr(r->out, dump);
	if (r->o->root < r->l->g.n)
		fprintf(r->out, ",\"root\":%u", nd->node_of[r->o->root]);
	fputs(",\n\"kinds\":[", r->out);
	for (uint32_t k = 0; k < nd->nkinds; k++) {
		scratch_reset(r);
		graph_row_name(d, nd->kind_obj[k], &r->t);
		if (k)
			fputs(",", r->out);
		jstr(r->out, text_cstr(&r->t));
	}
	fputs("],\n\"nodes\":[", r->out);
	for (uint32_t id = 0; id < nd->n; id++) {
		uint32_t obj = nd->obj[id];
		uint32_t kind = nd->kind_idx[kind_slot(nd, kind_key(d, obj))];

		fprintf(r->out, "%s[\"%" PRIx64 "\",%u,%" PRIu64 ",%" PRIu64
			",%u]", id ? (id % 8 ? "," : ",\n") : "",
			d->obj_addr[obj], kind, d->obj_size[obj],
			r->l->dom.retained[obj], d->obj_refcnt[obj]);
	}
	fputs("],\n\"full\":{", r->out);
	if (nd->lists && fflush(nd->lists) == 0)
		fwrite(nd->lists_buf, 1, nd->lists_len, r->out);
	fputs("}}</script>\n", r->out);
}

/* ---- choosing, then writing -------------------------------------------- */

static const uint64_t *sort_ret;

static int
ret_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	if (sort_ret[a] != sort_ret[b])
		return sort_ret[a] > sort_ret[b] ? -1 : 1;
	return (a > b) - (a < b);
}

/* The k objects retaining most, without sorting all n: one pass keeps the
 * best k in a sorted array (k is small). */
static int
pick_retainers(struct rep *r)
{
	const struct dom_tree *t = &r->l->dom;
	uint32_t k = r->o->retainers;

	r->top = malloc(((size_t)k + 1) * sizeof *r->top);
	if (!r->top)
		return -1;
	sort_ret = t->retained;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t at;
		if (r->ntop == k && (k == 0 || ret_cmp(&i, &r->top[k - 1]) > 0))
			continue;
		at = r->ntop < k ? r->ntop++ : k - 1;
		while (at > 0 && ret_cmp(&i, &r->top[at - 1]) < 0) {
			r->top[at] = r->top[at - 1];
			at--;
		}
		r->top[at] = i;
	}
	return 0;
}

static int
choose_nodes(struct rep *r)
{
	const struct loaded *l = r->l;
	uint64_t ns = l->have_leaks ? l->leaks.n : 0;

	if (r->o->suspects && ns > r->o->suspects)
		ns = r->o->suspects;
	if (nodes_alloc(&r->nodes, l, r->o->max_nodes) != 0 ||
	    pick_retainers(r) != 0)
		return -1;
	if (r->o->root < l->g.n)
		seed_add(&r->nodes, r->o->root);
	for (uint64_t k = 0; k < ns; k++)
		seed_add(&r->nodes, l->leaks.lines[k].example_obj);
	for (uint32_t k = 0; k < r->ntop; k++)
		seed_add(&r->nodes, r->top[k]);
	return nodes_expand(&r->nodes);
}

int
report_write(FILE *out, const struct loaded *l, const struct report_opts *o,
	     struct report_stats *st)
{
	struct rep r = {0};
	int rc;

	r.out = out;
	r.l = l;
	r.o = o;
	if ((rc = series_read(l, &r.s)))
		goto out;
	if (l->g.n && choose_nodes(&r) != 0) {
		rc = util_error("out of memory");
		goto out;
	}
	write_head(&r);
	write_process(&r);
	if ((rc = write_growth(&r)))
		goto out;
	write_suspects(&r);
	write_retainers(&r);
	write_explorer(&r);
	fputs("<script>\n", out);
	fputs(report_js, out);
	fputs("</script>\n</body>\n</html>\n", out);
	if (st) {
		st->dumps = (uint32_t)r.s.n;
		st->suspects = (uint32_t)(l->have_leaks ? l->leaks.n : 0);
		if (o->suspects && st->suspects > o->suspects)
			st->suspects = o->suspects;
		st->retainers = r.ntop;
		st->nodes = r.nodes.n;
		st->full = r.nodes.nfull;
	}
out:
	series_free(&r.s);
	nodes_free(&r.nodes);
	free(r.top);
	text_free(&r.t);
	return rc;
}
