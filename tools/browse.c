/*
 * browse.c - the pages of `muppy browse` and the keys that move between
 * them (tools/browse.h has the design notes).  It turns a dump's graph,
 * dominator tree and leak report into rows, and rows into screen lines;
 * it never touches the terminal.
 */
#include <inttypes.h> /* PRIx64, PRIu64, PRId64 */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* malloc, calloc, realloc, free, qsort */
#include <string.h>   /* strcmp, strlen, memset, memcpy */

#include "common/pympler.h"    /* pym_size */
#include "tools/browse.h"

static const char *const sort_names[BR_NSORTS] = {
	"retained", "size", "count", "growth", "name", "address",
};

static const char *const help_lines[] = {
	"muppy browse: the object graph of a dump, one page at a time",
	"",
	"Moving",
	"  Up, Down, k, j         the previous, next row",
	"  PgUp, PgDn, Space      a screen up, down",
	"  Home, End, g, G        the first, last row",
	"  Enter, Right, l        open the row: the instances of a type, the",
	"                         members of a group, the referrers of a",
	"                         referrer, the children of a dominator node",
	"  Left, Backspace, h     back to the page before",
	"",
	"Views of the object under the cursor",
	"  r   its referrers (who holds it)      f   its referents",
	"  d   what it dominates (retained)      p   the path from a root",
	"",
	"Pages",
	"  t   the per-type summary (with older dumps: the growth)",
	"  L   the leak suspects (with older dumps)",
	"  D   the dominator tree from the top (what keeps the most alive)",
	"  /   search: an address (0x... or id()) or a type name",
	"  s   sort the page by the next key (retained, size, count, ...)",
	"  ?   this help             q   quit",
	"",
	"Children of one kind (type and label) are one row, `KIND x N`,",
	"once there are four or more; Enter lists them.",
};
#define NHELP (sizeof help_lines / sizeof help_lines[0])

/* ---- helpers ------------------------------------------------------ */

static struct br_page *
top_page(struct br *b)
{
	return &b->pages[b->npages - 1];
}

static void
say(struct br *b, const char *fmt, const char *arg)
{
	snprintf(b->message, sizeof b->message, fmt, arg);
}

static uint64_t
retained(const struct br *b, uint32_t obj)
{
	return b->dom ? b->dom->retained[obj] : b->d->obj_size[obj];
}

/* The edge of from that leads to to (its name), 0 if none is named. */
static uint32_t
edge_between(const struct fmt_dump *d, uint32_t from, uint32_t to)
{
	for (uint64_t k = d->edge_start[from]; k < d->edge_start[from + 1];
	     k++)
		if (d->edge_dst[k] == to)
			return d->edge_name[k];
	return 0;
}

static struct br_row
object_row(const struct br *b, uint32_t obj, uint32_t edge)
{
	struct br_row r = {0};

	r.obj = obj;
	r.n = 1;
	r.edge = edge;
	r.size = b->d->obj_size[obj];
	r.retained = retained(b, obj);
	return r;
}

/* ---- sorting ------------------------------------------------------ */

static const struct br *sort_b;   /* qsort has no context argument */
static enum br_sort sort_key;

static const char *
row_name(const struct br *b, const struct br_row *r)
{
	const struct fmt_dump *d = b->d;

	if (r->obj != BR_NONE)
		return graph_type_name(d, r->obj);
	return "";
}

static int
cmp_u64_desc(uint64_t a, uint64_t b)
{
	return (a < b) - (a > b);
}

static int
row_cmp(const void *pa, const void *pb)
{
	const struct br_row *a = pa, *b = pb;
	const struct fmt_dump *d = sort_b->d;
	int c = 0;

	switch (sort_key) {
	case BR_SORT_RETAINED:
		c = cmp_u64_desc(a->retained, b->retained);
		break;
	case BR_SORT_SIZE:
		c = cmp_u64_desc(a->size, b->size);
		break;
	case BR_SORT_COUNT:
		c = cmp_u64_desc(a->n, b->n);
		break;
	case BR_SORT_GROWTH:
		c = (a->dsize < b->dsize) - (a->dsize > b->dsize);
		if (!c)
			c = (a->dcount < b->dcount) - (a->dcount > b->dcount);
		break;
	case BR_SORT_NAME:
		if (a->obj == BR_NONE && b->obj == BR_NONE && d->nsummary &&
		    a->ref < d->nsummary && b->ref < d->nsummary)
			c = strcmp(fmt_str(d, d->summary[a->ref].name),
				   fmt_str(d, d->summary[b->ref].name));
		else
			c = strcmp(row_name(sort_b, a), row_name(sort_b, b));
		break;
	case BR_SORT_ADDRESS:
	case BR_NSORTS:
		break;
	}
	if (c)
		return c;
	/* Then creation order's stand-in, the address (object index). */
	if (a->obj != b->obj)
		return a->obj < b->obj ? -1 : 1;
	return (a->ref > b->ref) - (a->ref < b->ref);
}

static void
sort_rows(const struct br *b, struct br_page *pg)
{
	if (pg->nrows < 2 || pg->view == BR_PATH || pg->view == BR_HELP)
		return;
	sort_b = b;
	sort_key = pg->sort;
	qsort(pg->rows, pg->nrows, sizeof *pg->rows, row_cmp);
}

/* The sort keys that mean something on a page. */
static int
sort_applies(const struct br_page *pg, enum br_sort s)
{
	switch (pg->view) {
	case BR_SUMMARY:
		return s == BR_SORT_SIZE || s == BR_SORT_COUNT ||
		       s == BR_SORT_GROWTH || s == BR_SORT_NAME;
	case BR_SUSPECTS:
		return s == BR_SORT_SIZE || s == BR_SORT_COUNT;
	case BR_PATH:
	case BR_HELP:
		return 0;
	default:
		return s != BR_SORT_GROWTH;
	}
}

/* ---- pages -------------------------------------------------------- */

static void
page_free(struct br_page *pg)
{
	free(pg->title);
	free(pg->rows);
	free(pg->members);
	memset(pg, 0, sizeof *pg);
}

/* A new page on the stack (rows to be filled in), titled title.  NULL
 * when out of memory or the stack is full (a message says which). */
static struct br_page *
push_page(struct br *b, enum br_view view, uint32_t subject,
	  const char *title, size_t nrows)
{
	struct br_page *pg;

	if (b->npages == BR_MAX_PAGES) {
		say(b, "%s", "too deep: go back (Left) first");
		return NULL;
	}
	pg = &b->pages[b->npages];
	memset(pg, 0, sizeof *pg);
	pg->view = view;
	pg->subject = subject;
	pg->title = strdup(title);
	pg->rows = calloc(nrows ? nrows : 1, sizeof *pg->rows);
	pg->sort = view == BR_SUMMARY || view == BR_SUSPECTS ?
		   BR_SORT_SIZE : BR_SORT_RETAINED;
	if (!pg->title || !pg->rows) {
		page_free(pg);
		say(b, "%s", "out of memory");
		return NULL;
	}
	b->npages++;
	return pg;
}

/* Drops the page just pushed (its build failed). */
static int
drop_page(struct br *b)
{
	page_free(top_page(b));
	b->npages--;
	say(b, "%s", "out of memory");
	return -1;
}

/* The text of object obj for a title: `KIND 0xADDR`. */
static void
object_title(const struct br *b, uint32_t obj, struct text_buf *t)
{
	graph_row_name(b->d, obj, t);
	text_addf(t, " 0x%" PRIx64, b->d->obj_addr[obj]);
}

struct item {
	uint32_t obj, edge;
};

static const struct fmt_dump *kind_d;

static int
item_kind_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	uint32_t ta = kind_d->obj_type[a->obj], tb = kind_d->obj_type[b->obj];
	uint32_t la = kind_d->obj_label[a->obj], lb = kind_d->obj_label[b->obj];

	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	return (a->obj > b->obj) - (a->obj < b->obj);
}

/*
 * Fills page pg with items[0..n) (design note 2): kinds with at least
 * BR_GROUP_MIN members as group rows (members kept in pg->members),
 * the others as rows of their own; then sorts.  items is reordered.
 */
static int
fill_grouped(struct br *b, struct br_page *pg, struct item *items, size_t n,
	     int group)
{
	const struct fmt_dump *d = b->d;
	size_t nrows = 0, nmem = 0;

	if (group && n >= BR_GROUP_MIN) {
		kind_d = d;
		qsort(items, n, sizeof *items, item_kind_cmp);
		pg->members = malloc(n * sizeof *pg->members);
		if (!pg->members)
			return -1;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		if (pg->members)
			while (j < n && d->obj_type[items[j].obj] ==
			       d->obj_type[items[i].obj] &&
			       d->obj_label[items[j].obj] ==
			       d->obj_label[items[i].obj])
				j++;
		if (j - i < BR_GROUP_MIN) {
			for (; i < j; i++)
				pg->rows[nrows++] = object_row(b, items[i].obj,
							       items[i].edge);
			continue;
		}
		struct br_row *r = &pg->rows[nrows++];
		memset(r, 0, sizeof *r);
		r->obj = BR_NONE;
		r->n = (uint32_t)(j - i);
		r->first = (uint32_t)nmem;
		r->ref = items[i].obj;   /* a member: the group's kind */
		r->edge = items[i].edge;
		for (; i < j; i++) {
			pg->members[nmem++] = items[i].obj;
			r->size += d->obj_size[items[i].obj];
			r->retained += retained(b, items[i].obj);
			if (items[i].edge != r->edge)
				r->edge = 0;
		}
	}
	pg->nrows = nrows;
	pg->nmembers = nmem;
	sort_rows(b, pg);
	return 0;
}

/* A page of children of subject (referrers, referents, dominated) with
 * items[0..n) (owned by the caller). */
static int
push_children(struct br *b, enum br_view view, uint32_t subject,
	      const char *what, struct item *items, size_t n)
{
	struct text_buf t = {0};
	struct br_page *pg;

	text_str(&t, what);
	if (subject != BR_NONE) {
		text_str(&t, " ");
		object_title(b, subject, &t);
	}
	if (t.oom)
		return text_free(&t), say(b, "%s", "out of memory"), -1;
	pg = push_page(b, view, subject, text_cstr(&t), n);
	text_free(&t);
	if (!pg)
		return -1;
	if (fill_grouped(b, pg, items, n, 1) != 0)
		return drop_page(b);
	if (!n)
		say(b, "%s", view == BR_REFERRERS ?
		    "nothing in the heap refers to it (a root, or held "
		    "from C)" : "no children");
	return 0;
}

static int
open_referrers(struct br *b, uint32_t obj)
{
	const struct graph *g = b->g;
	uint64_t n = graph_indegree(g, obj);
	struct item *items = malloc((n ? n : 1) * sizeof *items);
	size_t k = 0;
	int rc;

	if (!items)
		return say(b, "%s", "out of memory"), -1;
	for (uint64_t e = g->rev_start[obj]; e < g->rev_start[obj + 1]; e++) {
		uint32_t src = g->rev_src[e];
		if (k && items[k - 1].obj == src)
			continue;   /* [x, x]: one referrer (graph note 2) */
		items[k].obj = src;
		items[k++].edge = edge_between(b->d, src, obj);
	}
	rc = push_children(b, BR_REFERRERS, obj, "referrers of", items, k);
	free(items);
	return rc;
}

static int
open_referents(struct br *b, uint32_t obj)
{
	const struct fmt_dump *d = b->d;
	uint64_t lo = d->edge_start[obj], hi = d->edge_start[obj + 1];
	struct item *items = malloc((hi - lo ? hi - lo : 1) * sizeof *items);
	size_t k = 0;
	int rc;

	if (!items)
		return say(b, "%s", "out of memory"), -1;
	for (uint64_t e = lo; e < hi; e++) {
		items[k].obj = d->edge_dst[e];
		items[k++].edge = d->edge_name[e];
	}
	rc = push_children(b, BR_REFERENTS, obj, "referents of", items, k);
	free(items);
	return rc;
}

static int
open_dominated(struct br *b, uint32_t obj)
{
	uint32_t at = obj == BR_NONE ? b->g->n : obj;
	uint32_t lo, hi;
	struct item *items;
	int rc;

	if (!b->kids.start) {
		say(b, "%s", "no dominator tree (out of memory at the start)");
		return 0;
	}
	lo = b->kids.start[at];
	hi = b->kids.start[at + 1];
	items = malloc((hi - lo ? hi - lo : 1) * sizeof *items);
	if (!items)
		return say(b, "%s", "out of memory"), -1;
	for (uint32_t k = lo; k < hi; k++) {
		items[k - lo].obj = b->kids.kid[k];
		items[k - lo].edge = obj == BR_NONE ? 0 :
			edge_between(b->d, obj, b->kids.kid[k]);
	}
	rc = push_children(b, BR_DOMINATORS, obj, obj == BR_NONE ?
			   "dominator tree: what keeps the most alive" :
			   "dominated by", items, hi - lo);
	free(items);
	return rc;
}

/* Per type: 1 if summary row name want can be one of its objects' (the
 * row name starts with the type name: `function (f)`); caller frees. */
static uint8_t *
row_types(const struct fmt_dump *d, const char *want)
{
	uint8_t *ok = calloc(d->ntypes ? d->ntypes : 1, 1);

	for (uint32_t t = 0; ok && t < d->ntypes; t++) {
		const char *tn = fmt_str(d, d->types[t].name);
		size_t tl = strlen(tn);
		ok[t] = strncmp(want, tn, tl) == 0 && (want[tl] == '\0' ||
			want[tl] == ' ' || want[tl] == '(');
	}
	return ok;
}

/* The instances of a summary row (row < nsummary) or of the types
 * type_ok marks, as a page titled name. */
static int
open_instances(struct br *b, uint32_t row, const uint8_t *type_ok,
	       const char *name)
{
	const struct fmt_dump *d = b->d;
	const char *want = type_ok ? NULL : fmt_str(d, d->summary[row].name);
	struct text_buf t = {0}, rn = {0};
	struct br_page *pg;
	uint8_t *cand = NULL;
	size_t n = 0;

	text_addf(&t, "instances of %s", name);
	if (t.oom)
		return text_free(&t), say(b, "%s", "out of memory"), -1;
	pg = push_page(b, BR_INSTANCES, BR_NONE, text_cstr(&t),
		       (size_t)d->nobjects);
	text_free(&t);
	if (!pg)
		return -1;
	pg->ref = type_ok ? BR_REF_TYPE : row;
	if (!type_ok && !(cand = row_types(d, want)))
		return drop_page(b);
	for (uint64_t i = 0; i < d->nobjects; i++) {
		if (type_ok) {
			if (!type_ok[d->obj_type[i]])
				continue;
		} else {
			if (d->obj_type[i] < d->ntypes &&
			    !cand[d->obj_type[i]])
				continue;
			rn.len = 0;
			graph_row_name(d, (uint32_t)i, &rn);
			if (rn.oom) {
				free(cand);
				return text_free(&rn), drop_page(b);
			}
			if (strcmp(text_cstr(&rn), want) != 0)
				continue;
		}
		pg->rows[n++] = object_row(b, (uint32_t)i, 0);
	}
	text_free(&rn);
	free(cand);
	pg->nrows = n;
	sort_rows(b, pg);
	if (!n)
		say(b, "%s", "no objects of it in the graph");
	return 0;
}

static int
open_group(struct br *b, const struct br_page *from, const struct br_row *r)
{
	struct text_buf t = {0};
	struct br_page *pg;
	uint32_t subject = from->subject;

	graph_row_name(b->d, r->ref, &t);
	text_addf(&t, " x %" PRIu32 " (%s)", r->n, from->title);
	if (t.oom)
		return text_free(&t), say(b, "%s", "out of memory"), -1;
	pg = push_page(b, BR_GROUP, subject, text_cstr(&t), r->n);
	text_free(&t);
	if (!pg)
		return -1;
	pg->ref = (uint32_t)from->view;
	pg->sort = from->sort;
	for (uint32_t k = 0; k < r->n; k++) {
		uint32_t obj = from->members[r->first + k];
		uint32_t edge = 0;
		if (subject != BR_NONE)
			edge = from->view == BR_REFERRERS ?
			       edge_between(b->d, obj, subject) :
			       edge_between(b->d, subject, obj);
		pg->rows[k] = object_row(b, obj, edge);
	}
	pg->nrows = r->n;
	sort_rows(b, pg);
	return 0;
}

static int
open_path(struct br *b, uint32_t obj)
{
	struct graph_hop *h = NULL;
	size_t cap = 0;
	struct text_buf t = {0};
	struct br_page *pg;
	int64_t n;

	if (!b->have_paths) {
		if (graph_paths_compute(b->g, &b->paths) != 0)
			return say(b, "%s", "out of memory"), -1;
		b->have_paths = 1;
	}
	n = graph_chain(b->g, &b->paths, obj, &h, &cap);
	if (n <= 0) {
		free(h);
		if (n < 0)
			return say(b, "%s", "out of memory"), -1;
		say(b, "%s", "no root reaches it (garbage for the cycle "
		    "collector, or held by what the walk cannot see)");
		return 0;
	}
	graph_chain_text(b->g, h, (size_t)n, 0, NULL, &t);
	if (t.oom || !(pg = push_page(b, BR_PATH, obj, text_cstr(&t),
				      (size_t)n))) {
		text_free(&t);
		free(h);
		return t.oom ? say(b, "%s", "out of memory"), -1 : -1;
	}
	text_free(&t);
	for (int64_t k = 0; k < n; k++) {
		pg->rows[k] = object_row(b, h[k].obj, k ? h[k].name : 0);
		pg->rows[k].ref = (uint32_t)k;
	}
	pg->nrows = (size_t)n;
	pg->cursor = (size_t)n - 1;
	free(h);
	return 0;
}

static int
open_summary(struct br *b)
{
	const struct fmt_dump *d = b->d;
	struct br_page *pg = push_page(b, BR_SUMMARY, BR_NONE,
				       b->grow_count ? "summary (growth since "
				       "the oldest dump)" : "summary",
				       d->nsummary);
	if (!pg)
		return -1;
	for (uint32_t k = 0; k < d->nsummary; k++) {
		struct br_row *r = &pg->rows[k];
		r->obj = BR_NONE;
		r->ref = k;
		r->n = d->summary[k].count > UINT32_MAX ? UINT32_MAX :
		       (uint32_t)d->summary[k].count;
		r->size = r->retained = d->summary[k].size;
		r->dcount = b->grow_count ? b->grow_count[k] : 0;
		r->dsize = b->grow_size ? b->grow_size[k] : 0;
	}
	pg->nrows = d->nsummary;
	if (b->grow_count)
		pg->sort = BR_SORT_GROWTH;
	sort_rows(b, pg);
	return 0;
}

static int
open_suspects(struct br *b)
{
	const struct leaks_report *l = b->leaks;
	struct br_page *pg;

	if (!l) {
		say(b, "%s", "no leak suspects: give older dumps of the same "
		    "process after the dump (muppy browse NEW OLD...)");
		return 0;
	}
	pg = push_page(b, BR_SUSPECTS, BR_NONE, "leak suspects: what keeps "
		       "growing, and what holds it", l->n);
	if (!pg)
		return -1;
	for (uint64_t k = 0; k < l->n; k++) {
		struct br_row *r = &pg->rows[k];
		r->obj = BR_NONE;
		r->ref = (uint32_t)k;
		r->n = l->lines[k].count > UINT32_MAX ? UINT32_MAX :
		       (uint32_t)l->lines[k].count;
		r->size = r->retained = l->lines[k].size;
	}
	pg->nrows = (size_t)l->n;
	if (!l->n)
		say(b, "%s", "nothing kept growing across the dumps");
	return 0;
}

static int
open_help(struct br *b)
{
	struct br_page *pg = push_page(b, BR_HELP, BR_NONE, "help", NHELP);

	if (!pg)
		return -1;
	for (size_t k = 0; k < NHELP; k++) {
		pg->rows[k].obj = BR_NONE;
		pg->rows[k].ref = (uint32_t)k;
	}
	pg->nrows = NHELP;
	return 0;
}

/* ---- the object under the cursor ------------------------------------ */

/* The object a row stands for: itself, a group's first member, a
 * suspect's example head. */
static uint32_t
row_object(const struct br *b, const struct br_page *pg,
	   const struct br_row *r)
{
	if (r->obj != BR_NONE)
		return r->obj;
	if (pg->view == BR_SUSPECTS)
		return b->leaks->lines[r->ref].example_obj;
	if (r->n > 1 && pg->members)
		return pg->members[r->first];
	return BR_NONE;
}

static uint32_t
cursor_object(const struct br *b)
{
	const struct br_page *pg = &b->pages[b->npages - 1];

	if (!pg->nrows)
		return BR_NONE;
	return row_object(b, pg, &pg->rows[pg->cursor]);
}

/* Enter (design note 3). */
static int
open_row(struct br *b)
{
	struct br_page *pg = top_page(b);
	const struct br_row *r;
	enum br_view dir;

	if (!pg->nrows)
		return 0;
	r = &pg->rows[pg->cursor];
	if (pg->view == BR_SUMMARY)
		return open_instances(b, r->ref, NULL,
				      fmt_str(b->d, b->d->summary[r->ref].name));
	if (pg->view == BR_SUSPECTS)
		return open_referrers(b, row_object(b, pg, r));
	if (pg->view == BR_HELP)
		return 0;
	if (r->obj == BR_NONE)
		return open_group(b, pg, r);
	dir = pg->view == BR_GROUP ? (enum br_view)pg->ref : pg->view;
	if (dir == BR_REFERENTS)
		return open_referents(b, r->obj);
	if (dir == BR_DOMINATORS)
		return open_dominated(b, r->obj);
	return open_referrers(b, r->obj);
}

/* `/`: an address, else a type name. */
static int
search(struct br *b, const char *q)
{
	const struct fmt_dump *d = b->d;
	uint64_t addr;
	uint8_t *ok;
	int64_t n;
	int rc;

	while (*q == ' ')
		q++;
	if (!*q)
		return 0;
	if (graph_parse_address(q, &addr) == 0) {
		int64_t i = fmt_find_object(d, addr);
		if (i < 0) {
			say(b, "no object at %s", q);
			return 0;
		}
		return open_referrers(b, (uint32_t)i);
	}
	for (uint32_t k = 0; k < d->nsummary; k++)
		if (strcmp(fmt_str(d, d->summary[k].name), q) == 0)
			return open_instances(b, k, NULL, q);
	ok = calloc(d->ntypes ? d->ntypes : 1, 1);
	if (!ok)
		return say(b, "%s", "out of memory"), -1;
	n = graph_types_named(d, NULL, q, ok);
	if (n > 0)
		rc = open_instances(b, 0, ok, q);
	else {
		say(b, n < 0 ? "'%s' names several types: spell it in full" :
		    "no type or object '%s'", q);
		rc = 0;
	}
	free(ok);
	return rc;
}

/* ---- keys --------------------------------------------------------- */

static int
list_rows(const struct br *b)
{
	int n = b->rows - 4;   /* title, header, status, message */

	if (b->npages && b->pages[b->npages - 1].view == BR_PATH)
		n -= 2;        /* the expression */
	return n > 1 ? n : 1;
}

static void
move_cursor(struct br *b, int64_t delta, int absolute)
{
	struct br_page *pg = top_page(b);
	int64_t c, last = (int64_t)pg->nrows - 1;

	if (pg->nrows == 0)
		return;
	c = absolute ? delta : (int64_t)pg->cursor + delta;
	if (c < 0)
		c = 0;
	if (c > last)
		c = last;
	pg->cursor = (size_t)c;
}

static void
next_sort(struct br *b)
{
	struct br_page *pg = top_page(b);
	uint32_t keep = BR_NONE, keep_ref = 0;

	if (!sort_applies(pg, BR_SORT_SIZE) && !sort_applies(pg, pg->sort)) {
		say(b, "%s", "this page has one order");
		return;
	}
	if (pg->nrows) {
		keep = pg->rows[pg->cursor].obj;
		keep_ref = pg->rows[pg->cursor].ref;
	}
	do
		pg->sort = (enum br_sort)((pg->sort + 1) % BR_NSORTS);
	while (!sort_applies(pg, pg->sort));
	sort_rows(b, pg);
	for (size_t k = 0; k < pg->nrows; k++)   /* the cursor stays put */
		if (pg->rows[k].obj == keep && pg->rows[k].ref == keep_ref) {
			pg->cursor = k;
			break;
		}
	say(b, "sorted by %s", sort_names[pg->sort]);
}

static int
prompt_key(struct br *b, int key)
{
	if (key == BR_KEY_ESC) {
		b->prompting = 0;
		return 0;
	}
	if (key == BR_KEY_ENTER) {
		char *q = strdup(text_cstr(&b->input));
		int rc;
		b->prompting = 0;
		if (!q)
			return say(b, "%s", "out of memory"), -1;
		rc = search(b, q);
		free(q);
		return rc;
	}
	if (key == BR_KEY_BACKSPACE) {
		while (b->input.len && ((unsigned char)
		       b->input.s[b->input.len - 1] & 0xc0) == 0x80)
			b->input.len--;
		if (b->input.len)
			b->input.s[--b->input.len] = '\0';
		return 0;
	}
	if (key >= 0x20 && key < 0x7f && b->input.len < 200) {
		char c = (char)key;
		text_add(&b->input, &c, 1);
	}
	return 0;
}

static int
object_key(struct br *b, int key)
{
	uint32_t obj = cursor_object(b);

	if (obj == BR_NONE) {
		say(b, "%s", "no object under the cursor");
		return 0;
	}
	switch (key) {
	case 'r':
		return open_referrers(b, obj);
	case 'f':
		return open_referents(b, obj);
	case 'd':
		return open_dominated(b, obj);
	default:
		return open_path(b, obj);
	}
}

int
br_key(struct br *b, int key)
{
	int page = list_rows(b);

	b->message[0] = '\0';
	if (b->prompting)
		return prompt_key(b, key);
	switch (key) {
	case BR_KEY_UP: case 'k':
		move_cursor(b, -1, 0);
		break;
	case BR_KEY_DOWN: case 'j':
		move_cursor(b, 1, 0);
		break;
	case BR_KEY_PGUP:
		move_cursor(b, -page, 0);
		break;
	case BR_KEY_PGDN: case ' ':
		move_cursor(b, page, 0);
		break;
	case BR_KEY_HOME: case 'g':
		move_cursor(b, 0, 1);
		break;
	case BR_KEY_END: case 'G':
		move_cursor(b, INT64_MAX / 2, 1);
		break;
	case BR_KEY_ENTER: case BR_KEY_RIGHT: case 'l':
		return open_row(b);
	case BR_KEY_LEFT: case BR_KEY_BACKSPACE: case 'h':
		if (b->npages > 1) {
			page_free(top_page(b));
			b->npages--;
		} else {
			say(b, "%s", "this is the first page (q quits)");
		}
		break;
	case 'r': case 'f': case 'd': case 'p':
		return object_key(b, key);
	case 't':
		return open_summary(b);
	case 'L':
		return open_suspects(b);
	case 'D':
		return open_dominated(b, BR_NONE);
	case '/':
		b->prompting = 1;
		b->input.len = 0;
		if (b->input.s)
			b->input.s[0] = '\0';
		break;
	case 's':
		next_sort(b);
		break;
	case '?':
		return open_help(b);
	case 'q':
		b->quit = 1;
		break;
	case BR_KEY_ESC:
		break;
	default:
		say(b, "%s", "unknown key (? for help)");
		break;
	}
	return 0;
}

/* ---- open, close, resize -------------------------------------------- */

int
br_open(struct br *b, int rows, int cols, uint32_t start)
{
	b->pages = calloc(BR_MAX_PAGES, sizeof *b->pages);
	b->npages = 0;
	b->rows = rows;
	b->cols = cols;
	if (!b->pages || (b->dom && dom_kids_build(b->dom, &b->kids) != 0))
		return -1;
	if ((b->leaks ? open_suspects(b) : open_summary(b)) != 0)
		return -1;
	if (start != BR_NONE && open_referrers(b, start) != 0)
		return -1;
	return 0;
}

int
br_open_types(struct br *b, const uint8_t *type_ok, const char *name)
{
	return open_instances(b, 0, type_ok, name);
}

void
br_close(struct br *b)
{
	if (b->pages)
		for (size_t k = 0; k < b->npages; k++)
			page_free(&b->pages[k]);
	free(b->pages);
	dom_kids_free(&b->kids);
	if (b->have_paths)
		graph_paths_free(&b->paths);
	text_free(&b->input);
	b->pages = NULL;
	b->npages = 0;
	b->have_paths = 0;
}

void
br_resize(struct br *b, int rows, int cols)
{
	b->rows = rows;
	b->cols = cols;
}

/* ---- the screen ----------------------------------------------------- */

/* Appends s to line, made safe to draw (controls as '?'). */
static void
add_clean(struct text_buf *line, const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char c = s[k];
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		text_add(line, &c, 1);
	}
}

/* Cuts or pads line to exactly w characters (a cut ends in "~"). */
static void
fit(struct text_buf *line, size_t w)
{
	size_t have = text_width(text_cstr(line), line->len);

	if (have <= w) {
		text_pad(line, w - have);
		return;
	}
	/* Cut at the w-1'th character, then the mark. */
	size_t chars = 0, k = 0;
	for (; k < line->len; k++) {
		if (((unsigned char)line->s[k] & 0xc0) != 0x80) {
			if (chars == w - (w ? 1 : 0))
				break;
			chars++;
		}
	}
	line->len = k;
	line->s[k] = '\0';
	if (w)
		text_str(line, "~");
}

/* "1.25 MB" without Pympler's padding. */
static const char *
size_text(int64_t v, char *buf)
{
	char raw[PYM_SIZE_LEN];
	size_t w = 0;

	pym_size(v, raw);
	for (const char *s = raw; *s; s++)
		if (*s != ' ' || (w && buf[w - 1] != ' '))
			buf[w++] = *s;
	buf[w] = '\0';
	return buf;
}

/* Right-aligned cells after a left one that takes what is left. */
static void
columns(struct text_buf *line, size_t cols, const char *left,
	const char *const *cells, const size_t *widths, size_t n)
{
	size_t right = 0;
	struct text_buf l = {0};

	for (size_t k = 0; k < n; k++)
		right += widths[k] + 1;
	if (right + 8 > cols)   /* a narrow screen: the cells go first */
		n = 0, right = 0;
	add_clean(&l, left, strlen(left));
	fit(&l, cols - right);
	text_str(line, text_cstr(&l));
	text_free(&l);
	for (size_t k = 0; k < n; k++) {
		size_t w = text_width(cells[k], strlen(cells[k]));
		text_pad(line, 1 + (w < widths[k] ? widths[k] - w : 0));
		text_str(line, cells[k]);
	}
	fit(line, cols);
}

static const size_t obj_widths[3] = {9, 10, 14};

/* The left cell of an object row: the edge, the kind, the label. */
static void
object_left(const struct br *b, const struct br_row *r, uint32_t obj,
	    int group, struct text_buf *t)
{
	const struct fmt_dump *d = b->d;
	size_t kind_at;

	if (r->edge) {
		graph_edge_text(d, r->edge, t);
		text_str(t, "  ");
	}
	kind_at = t->len;
	graph_row_name(d, obj, t);
	if (group) {
		text_addf(t, " x %" PRIu32, r->n);
		return;
	}
	const char *label = fmt_str(d, d->obj_label[obj]);
	if (*label && !strstr(text_cstr(t) + kind_at, label))
		text_addf(t, " '%s'", label);
}

static void
row_line(const struct br *b, const struct br_page *pg, const struct br_row *r,
	 struct text_buf *line)
{
	const struct fmt_dump *d = b->d;
	char c1[PYM_SIZE_LEN], c2[PYM_SIZE_LEN], c3[32], c4[32];
	struct text_buf left = {0};

	switch (pg->view) {
	case BR_HELP:
		text_str(line, help_lines[r->ref]);
		fit(line, (size_t)b->cols);
		return;
	case BR_SUMMARY: {
		static const size_t w[4] = {10, 10, 9, 10};
		snprintf(c3, sizeof c3, "%" PRIu64, d->summary[r->ref].count);
		const char *cells[4] = {c3, size_text((int64_t)r->size, c1),
					"", ""};
		char g1[32], g2[PYM_SIZE_LEN + 1];
		if (b->grow_count) {
			snprintf(g1, sizeof g1, "%+" PRId64, r->dcount);
			g2[0] = r->dsize > 0 ? '+' : r->dsize < 0 ? '-' : ' ';
			size_text(r->dsize < 0 ? -r->dsize : r->dsize, g2 + 1);
			cells[2] = g1;
			cells[3] = r->dsize ? g2 : "0 B";
		}
		columns(line, (size_t)b->cols,
			fmt_str(d, d->summary[r->ref].name), cells, w,
			b->grow_count ? 4 : 2);
		return;
	}
	case BR_SUSPECTS: {
		static const size_t w[2] = {9, 10};
		const struct leaks_line *l = &b->leaks->lines[r->ref];
		text_addf(&left, "%s  %s", l->pattern, l->what);
		snprintf(c3, sizeof c3, "%" PRIu64, l->count);
		const char *cells[2] = {c3, size_text((int64_t)l->size, c1)};
		columns(line, (size_t)b->cols, text_cstr(&left), cells, w, 2);
		text_free(&left);
		return;
	}
	default:
		break;
	}
	if (r->obj == BR_NONE) {
		object_left(b, r, r->ref, 1, &left);
		c4[0] = '\0';
	} else {
		object_left(b, r, r->obj, 0, &left);
		snprintf(c4, sizeof c4, "0x%" PRIx64, d->obj_addr[r->obj]);
	}
	const char *cells[3] = {size_text((int64_t)r->size, c1),
		size_text((int64_t)r->retained, c2), c4};
	columns(line, (size_t)b->cols, text_cstr(&left), cells, obj_widths,
		3);
	text_free(&left);
}

static void
header_line(const struct br *b, const struct br_page *pg,
	    struct text_buf *line)
{
	static const size_t w4[4] = {10, 10, 9, 10}, w2[2] = {9, 10};
	static const char *const sum[4] = {"# objects", "total size",
					   "+objects", "+size"};
	static const char *const sus[2] = {"# objects", "total size"};
	static const char *const obj[3] = {"size", "retained", "address"};

	switch (pg->view) {
	case BR_HELP:
		fit(line, (size_t)b->cols);
		return;
	case BR_SUMMARY:
		columns(line, (size_t)b->cols, "types", sum, w4,
			b->grow_count ? 4 : 2);
		return;
	case BR_SUSPECTS:
		columns(line, (size_t)b->cols, "held by  what", sus, w2, 2);
		return;
	default:
		columns(line, (size_t)b->cols, pg->view == BR_PATH ?
			"step" : "object", obj, obj_widths, 3);
	}
}

static void
title_line(const struct br *b, const struct br_page *pg,
	   struct text_buf *line)
{
	const char *base = b->path ? strrchr(b->path, '/') : NULL;
	struct text_buf right = {0};
	size_t w, cols = (size_t)b->cols;

	base = base ? base + 1 : b->path ? b->path : "";
	if (pg->nrows && pg->view != BR_HELP)
		text_addf(&right, " %zu/%zu", pg->cursor + 1, pg->nrows);
	if (sort_applies(pg, pg->sort))
		text_addf(&right, " by %s", sort_names[pg->sort]);
	text_addf(&right, " | %s", base);
	w = text_width(text_cstr(&right), right.len);
	if (pg->view == BR_PATH)
		text_str(line, "path to the object");
	else
		add_clean(line, pg->title, strlen(pg->title));
	fit(line, w + 10 < cols ? cols - w : cols);
	if (w + 10 < cols)
		add_clean(line, text_cstr(&right), right.len);
	text_free(&right);
	fit(line, cols);
}

/* What the row under the cursor is, in full. */
static void
status_line(const struct br *b, const struct br_page *pg,
	    struct text_buf *line)
{
	const struct fmt_dump *d = b->d;
	char s1[PYM_SIZE_LEN], s2[PYM_SIZE_LEN];

	if (!pg->nrows || pg->view == BR_HELP) {
		fit(line, (size_t)b->cols);
		return;
	}
	const struct br_row *r = &pg->rows[pg->cursor];
	if (pg->view == BR_SUSPECTS) {
		const struct leaks_line *l = &b->leaks->lines[r->ref];
		text_addf(line, "e.g. %s 0x%" PRIx64 "  holds %s",
			  l->example, d->obj_addr[l->example_obj],
			  l->breakdown);
	} else if (pg->view == BR_SUMMARY) {
		text_addf(line, "%s: %" PRIu64 " objects, %s",
			  fmt_str(d, d->summary[r->ref].name),
			  d->summary[r->ref].count,
			  size_text((int64_t)d->summary[r->ref].size, s1));
	} else if (r->obj == BR_NONE) {
		text_addf(line, "%" PRIu32 " objects of one kind: size %s, "
			  "retained %s (Enter lists them)", r->n,
			  size_text((int64_t)r->size, s1),
			  size_text((int64_t)r->retained, s2));
	} else {
		uint32_t o = r->obj;
		const char *label = fmt_str(d, d->obj_label[o]);
		text_addf(line, "%s 0x%" PRIx64 " size %s retained %s "
			  "refcnt %" PRIu32, graph_type_name(d, o),
			  d->obj_addr[o], size_text((int64_t)d->obj_size[o], s1),
			  size_text((int64_t)retained(b, o), s2),
			  d->obj_refcnt[o]);
		if (*label)
			text_addf(line, " label '%s'", label);
	}
	struct text_buf clean = {0};
	add_clean(&clean, text_cstr(line), line->len);
	line->len = 0;
	text_str(line, text_cstr(&clean));
	text_free(&clean);
	fit(line, (size_t)b->cols);
}

static void
message_line(const struct br *b, struct text_buf *line)
{
	if (b->prompting) {
		text_str(line, "search (address or type): ");
		text_str(line, text_cstr(&b->input));
	} else if (b->message[0]) {
		text_str(line, b->message);
	} else {
		text_str(line, "?:help Enter:open Left:back r:referrers "
			 "f:referents p:path /:search q:quit");
	}
	fit(line, (size_t)b->cols);
}

/* Keeps the cursor's row on screen. */
static void
scroll(struct br_page *pg, int n)
{
	if (pg->cursor < pg->top)
		pg->top = pg->cursor;
	if (pg->cursor >= pg->top + (size_t)n)
		pg->top = pg->cursor - (size_t)n + 1;
	if (pg->top + (size_t)n > pg->nrows)
		pg->top = pg->nrows > (size_t)n ? pg->nrows - (size_t)n : 0;
}

int
br_render(struct br *b, struct br_screen *s)
{
	struct br_page *pg = top_page(b);
	int n = list_rows(b), y = 0, oom = 0;

	if (s->rows != b->rows || s->cols != b->cols) {
		br_screen_free(s);
		s->line = calloc((size_t)(b->rows > 0 ? b->rows : 1),
				 sizeof *s->line);
		s->attr = calloc((size_t)(b->rows > 0 ? b->rows : 1),
				 sizeof *s->attr);
		if (!s->line || !s->attr)
			return br_screen_free(s), -1;
		s->rows = b->rows;
		s->cols = b->cols;
	}
	for (int k = 0; k < s->rows; k++) {
		s->line[k].len = 0;
		if (s->line[k].s)
			s->line[k].s[0] = '\0';
		s->attr[k] = BR_ATTR_NORMAL;
	}
	if (s->rows < 1)
		return 0;
	scroll(pg, n);
	title_line(b, pg, &s->line[y]);
	s->attr[y++] = BR_ATTR_TITLE;
	if (pg->view == BR_PATH) {   /* the expression, on two lines */
		const char *e = pg->title;
		size_t len = strlen(e), w = (size_t)b->cols;
		for (int k = 0; k < 2 && y < s->rows; k++, y++) {
			size_t at = (size_t)k * w;
			size_t take = at < len ? len - at : 0;
			if (k == 0 && take > w)
				take = w;
			add_clean(&s->line[y], e + (at < len ? at : len), take);
			fit(&s->line[y], w);
		}
	}
	if (y < s->rows) {
		header_line(b, pg, &s->line[y]);
		s->attr[y++] = BR_ATTR_HEADER;
	}
	for (int k = 0; k < n && y < s->rows - 2; k++, y++) {
		size_t i = pg->top + (size_t)k;
		if (i < pg->nrows) {
			row_line(b, pg, &pg->rows[i], &s->line[y]);
			s->attr[y] = i == pg->cursor && pg->view != BR_HELP ?
				     BR_ATTR_CURSOR :
				     pg->rows[i].obj == BR_NONE &&
				     pg->rows[i].n > 1 && pg->view != BR_SUMMARY
				     && pg->view != BR_SUSPECTS ?
				     BR_ATTR_GROUP : BR_ATTR_NORMAL;
		} else {
			fit(&s->line[y], (size_t)b->cols);
		}
	}
	for (; y < s->rows - 2; y++)
		fit(&s->line[y], (size_t)b->cols);
	if (y < s->rows) {
		status_line(b, pg, &s->line[y]);
		s->attr[y++] = BR_ATTR_STATUS;
	}
	if (y < s->rows) {
		message_line(b, &s->line[y]);
		s->attr[y++] = b->message[0] ? BR_ATTR_MESSAGE :
			       BR_ATTR_NORMAL;
	}
	for (int k = 0; k < s->rows; k++)
		oom |= s->line[k].oom;
	return oom ? -1 : 0;
}

void
br_screen_free(struct br_screen *s)
{
	if (s->line)
		for (int k = 0; k < s->rows; k++)
			text_free(&s->line[k]);
	free(s->line);
	free(s->attr);
	s->line = NULL;
	s->attr = NULL;
	s->rows = s->cols = 0;
}
