/*
 * graph.c - reverse edge index, roots, BFS shortest paths and path text
 * for the analyses (contracts and design notes in tools/graph.h).
 *
 * Not here: dominators (tools/dominators.c), options and output formats
 * (the tools/cmd_*.c files), the dump bytes (format/).
 */
#include <inttypes.h> /* PRIx64 */
#include <stdarg.h>   /* va_list */
#include <stdio.h>    /* vsnprintf, fprintf */
#include <stdlib.h>   /* malloc, calloc, realloc, free, qsort */
#include <string.h>   /* memcpy, strlen, strcmp */

#include "tools/graph.h"
#include "tools/util.h"    /* util_read_dump, MUPPY_EXIT_USAGE */

/* ---- building ------------------------------------------------------- */

static int
check_dump(const struct fmt_dump *d)
{
	if (!(d->flags & FMT_FLAG_GRAPH) || d->nobjects >= GRAPH_ROOTED)
		return MUPPY_EINVAL;
	if (d->nobjects && (!d->edge_start ||
			    d->edge_start[d->nobjects] != d->nedges))
		return MUPPY_EINVAL;
	for (uint64_t e = 0; e < d->nedges; e++)
		if (d->edge_dst[e] >= d->nobjects)
			return MUPPY_EINVAL;
	for (uint32_t r = 0; r < d->nroots; r++)
		if (d->roots[r].obj >= d->nobjects)
			return MUPPY_EINVAL;
	for (uint64_t i = 0; i < d->nobjects; i++)
		if (d->obj_type[i] >= d->ntypes)
			return MUPPY_EINVAL;
	return 0;
}

/* rev_start[i]: where i's referrers start, as if rev_src were built. */
static void
count_referrers(struct graph *g)
{
	const struct fmt_dump *d = g->d;
	uint32_t *pos = g->rev_start;

	for (uint64_t e = 0; e < d->nedges; e++)
		pos[d->edge_dst[e] + 1]++;
	for (uint32_t i = 0; i < g->n; i++)
		pos[i + 1] += pos[i];
}

/* Counting sort of the edges by destination into out (design note 2):
 * pos[i] is where i's referrers start; filled with pos[dst]++, which
 * leaves pos[i] at the start of i + 1. */
static void
sort_referrers(const struct graph *g, uint32_t *pos, uint32_t *out)
{
	const struct fmt_dump *d = g->d;

	for (uint32_t s = 0; s < g->n; s++)
		for (uint64_t e = d->edge_start[s]; e < d->edge_start[s + 1]; e++)
			out[pos[d->edge_dst[e]]++] = s;
}

/* rev_src, after count_referrers. */
static void
fill_reverse(struct graph *g)
{
	uint32_t *pos = g->rev_start;

	sort_referrers(g, pos, g->rev_src);
	/* Each pos[i] moved to the old pos[i + 1]: shift back. */
	for (uint32_t i = g->n; i > 0; i--)
		pos[i] = pos[i - 1];
	pos[0] = 0;
}

uint64_t
graph_scan_indegree(const struct graph *g, uint32_t i)
{
	const struct fmt_dump *d = g->d;
	uint64_t n = 0;

	for (uint64_t e = 0; e < d->nedges; e++)
		n += d->edge_dst[e] == i;
	return n;
}

/* The referrers of i into out (room for its in-degree) by one pass over
 * the edges, in source order; how many. */
static uint64_t
scan_referrers(const struct graph *g, uint32_t i, uint32_t *out)
{
	const struct fmt_dump *d = g->d;
	uint64_t n = graph_indegree(g, i), k = 0;

	for (uint32_t s = 0; s < g->n && k < n; s++)
		for (uint64_t e = d->edge_start[s]; e < d->edge_start[s + 1]; e++)
			if (d->edge_dst[e] == i)
				out[k++] = s;
	return k;
}

int64_t
graph_referrers(const struct graph *g, uint32_t i, uint32_t **out)
{
	uint64_t n = graph_indegree(g, i);
	uint32_t *r = malloc((n + 1) * sizeof *r);

	*out = r;
	if (!r)
		return -1;
	if (g->rev_src) {
		memcpy(r, g->rev_src + g->rev_start[i], n * sizeof *r);
		return (int64_t)n;
	}
	return (int64_t)scan_referrers(g, i, r);
}

/* ---- referrers near some targets ------------------------------------ */

static inline int
bit_get(const uint8_t *m, uint32_t i)
{
	return m[i >> 3] >> (i & 7) & 1;
}

static inline void
bit_put(uint8_t *m, uint32_t i, int on)
{
	if (on)
		m[i >> 3] |= (uint8_t)(1u << (i & 7));
	else
		m[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

int
graph_pair_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return (a > b) - (a < b);
}

uint64_t
graph_pairs_first(const uint64_t *pairs, uint64_t n, uint32_t key)
{
	uint64_t lo = 0, hi = n;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (pairs[mid] >> 32 < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The whole index into r->all, for levels that would cost more. */
static int
near_all(struct graph_near *r)
{
	const struct graph *g = r->g;
	const struct fmt_dump *d = g->d;
	uint32_t *pos;

	free(r->pairs);
	free(r->covered);
	r->pairs = NULL;
	r->covered = NULL;
	r->npairs = 0;
	r->all = malloc((d->nedges ? d->nedges : 1) * sizeof *r->all);
	pos = malloc(((size_t)g->n + 1) * sizeof *pos);
	if (!r->all || !pos) {
		free(pos);
		return MUPPY_ENOMEM;
	}
	memcpy(pos, g->rev_start, ((size_t)g->n + 1) * sizeof *pos);
	sort_referrers(g, pos, r->all);
	free(pos);
	return 0;
}

/* One pass: the referrers of want's objects appended to r->pairs (room
 * made by the caller), in source order. */
static void
near_scan(struct graph_near *r, const uint8_t *want)
{
	const struct fmt_dump *d = r->g->d;

	for (uint32_t s = 0; s < r->g->n; s++)
		for (uint64_t e = d->edge_start[s]; e < d->edge_start[s + 1]; e++)
			if (bit_get(want, d->edge_dst[e]))
				r->pairs[r->npairs++] =
					(uint64_t)d->edge_dst[e] << 32 | s;
}

/*
 * Level by level: front holds the objects of this level (none seen
 * before), whose referrers one pass gathers; those not seen yet are the
 * next level.  Returns 0, 1 when the whole index is the cheaper way, or
 * MUPPY_ENOMEM.
 */
static int
near_levels(struct graph_near *r, uint32_t *front, uint32_t nfront,
	    uint8_t *want, uint8_t *seen, uint32_t levels)
{
	const struct graph *g = r->g;
	uint64_t budget = g->d->nedges / 4 > (1u << 16) ?
			  g->d->nedges / 4 : (1u << 16);

	for (uint32_t pass = 0; pass < levels && nfront; pass++) {
		uint64_t need = r->npairs, first = r->npairs;
		if (pass == GRAPH_NEAR_PASSES)
			return 1;
		for (uint32_t k = 0; k < nfront; k++)
			need += graph_indegree(g, front[k]);
		if (need > budget)
			return 1;
		uint64_t *np = realloc(r->pairs, (need ? need : 1) *
				       sizeof *np);
		if (!np)
			return MUPPY_ENOMEM;
		r->pairs = np;
		for (uint32_t k = 0; k < nfront; k++) {
			bit_put(want, front[k], 1);
			bit_put(r->covered, front[k], 1);
		}
		near_scan(r, want);
		for (uint32_t k = 0; k < nfront; k++)
			bit_put(want, front[k], 0);
		nfront = 0;
		for (uint64_t k = first; k < r->npairs; k++) {
			uint32_t s = (uint32_t)r->pairs[k];
			if (bit_get(seen, s))
				continue;
			bit_put(seen, s, 1);
			front[nfront++] = s;
		}
	}
	return 0;
}

int
graph_near_build(struct graph_near *r, const struct graph *g,
		 const uint32_t *targets, size_t ntargets, uint32_t levels)
{
	size_t bytes = ((size_t)g->n + 8) / 8;
	uint32_t *front = NULL, nfront = 0;
	uint8_t *want = NULL, *seen = NULL;
	int rc = MUPPY_ENOMEM;

	memset(r, 0, sizeof *r);
	r->g = g;
	if (g->rev_src || levels == 0)
		return 0;
	/* A level is at most every object: front never needs more room. */
	front = malloc(((size_t)g->n + 1) * sizeof *front);
	want = calloc(bytes, 1);
	seen = calloc(bytes, 1);
	r->covered = calloc(bytes, 1);
	if (!front || !want || !seen || !r->covered)
		goto out;
	for (size_t k = 0; k < ntargets; k++) {
		if (targets[k] >= g->n || bit_get(seen, targets[k]))
			continue;
		bit_put(seen, targets[k], 1);
		front[nfront++] = targets[k];
	}
	rc = near_levels(r, front, nfront, want, seen, levels);
	if (rc == 1)
		rc = near_all(r);
	else if (rc == 0)
		qsort(r->pairs, r->npairs, sizeof *r->pairs, graph_pair_cmp);
out:
	free(front);
	free(want);
	free(seen);
	if (rc)
		graph_near_free(r);
	return rc;
}

uint64_t
graph_near_referrers(const struct graph_near *r, uint32_t obj,
		     uint32_t *out)
{
	const struct graph *g = r->g;
	const uint32_t *from = g->rev_src ? g->rev_src : r->all;
	uint64_t n = graph_indegree(g, obj), lo;

	if (from) {
		memcpy(out, from + g->rev_start[obj], n * sizeof *out);
		return n;
	}
	if (!r->covered || !bit_get(r->covered, obj))
		return scan_referrers(g, obj, out);
	lo = graph_pairs_first(r->pairs, r->npairs, obj);
	for (uint64_t k = 0; k < n; k++)
		out[k] = (uint32_t)r->pairs[lo + k];
	return n;
}

void
graph_near_free(struct graph_near *r)
{
	if (!r)
		return;
	free(r->pairs);
	free(r->covered);
	free(r->all);
	memset(r, 0, sizeof *r);
}

static const struct fmt_dump *sort_roots_dump;

static int
root_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	uint32_t oa = sort_roots_dump->roots[a].obj;
	uint32_t ob = sort_roots_dump->roots[b].obj;

	if (oa != ob)
		return oa < ob ? -1 : 1;
	return (a > b) - (a < b);
}

static void
fill_flags(struct graph *g)
{
	const struct fmt_dump *d = g->d;

	for (uint32_t r = 0; r < d->nroots; r++)
		g->flags[d->roots[r].obj] |= GRAPH_F_DUMPROOT;
	for (uint32_t i = 0; i < g->n; i++) {
		uint64_t rc = d->obj_refcnt[i];
		if (rc >= GRAPH_IMMORTAL_REFCNT)
			g->flags[i] |= GRAPH_F_IMMORTAL | GRAPH_F_EXTERN;
		else if (rc > graph_indegree(g, i))
			g->flags[i] |= GRAPH_F_EXTERN;
	}
}

int
graph_build(struct graph *g, const struct fmt_dump *d)
{
	return graph_build_with(g, d, GRAPH_BUILD_REFERRERS);
}

int
graph_build_with(struct graph *g, const struct fmt_dump *d, unsigned what)
{
	int rc;

	memset(g, 0, sizeof *g);
	rc = check_dump(d);
	if (rc)
		return rc;
	g->d = d;
	g->n = (uint32_t)d->nobjects;
	g->rev_start = calloc((size_t)g->n + 1, sizeof *g->rev_start);
	if (what & GRAPH_BUILD_REFERRERS) {
		g->rev_src = malloc((d->nedges ? d->nedges : 1) *
				    sizeof *g->rev_src);
		if (!g->rev_src)
			goto fail;
	}
	g->flags = calloc((size_t)g->n + 1, 1);
	g->root_by_obj = malloc((d->nroots + 1u) * sizeof *g->root_by_obj);
	if (!g->rev_start || !g->flags || !g->root_by_obj)
		goto fail;
	count_referrers(g);
	if (g->rev_src)
		fill_reverse(g);
	fill_flags(g);
	if ((what & GRAPH_BUILD_NO_DEGREES) && !g->rev_src) {
		free(g->rev_start);
		g->rev_start = NULL;
	}
	g->nroots = d->nroots;
	for (uint32_t r = 0; r < d->nroots; r++)
		g->root_by_obj[r] = r;
	sort_roots_dump = d;
	qsort(g->root_by_obj, d->nroots, sizeof *g->root_by_obj, root_cmp);
	return 0;
fail:
	graph_free(g);
	return MUPPY_ENOMEM;
}

void
graph_drop_counts(struct fmt_dump *d)
{
	fmt_dump_release(d, d->obj_refcnt);
	fmt_dump_release(d, d->obj_flags);
	d->obj_refcnt = NULL;
	d->obj_flags = NULL;
}

void
graph_free(struct graph *g)
{
	if (!g)
		return;
	free(g->rev_start);
	free(g->rev_src);
	free(g->flags);
	free(g->root_by_obj);
	memset(g, 0, sizeof *g);
}

int64_t
graph_root_entry(const struct graph *g, uint32_t i)
{
	uint32_t lo = 0, hi = g->nroots;

	while (lo < hi) {  /* first entry whose object is >= i */
		uint32_t mid = lo + (hi - lo) / 2;
		if (g->d->roots[g->root_by_obj[mid]].obj < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->nroots && g->d->roots[g->root_by_obj[lo]].obj == i)
		return g->root_by_obj[lo];
	return -1;
}

const char *
graph_type_name(const struct fmt_dump *d, uint32_t i)
{
	uint32_t t = d->obj_type[i];

	return t < d->ntypes ? fmt_str(d, d->types[t].name) : "?";
}

/* ---- shortest paths ------------------------------------------------- */

/* Runs the BFS from the queued objects [head, tail) to exhaustion. */
static uint32_t
bfs_run(const struct graph *g, struct graph_paths *p, uint32_t head,
	uint32_t tail)
{
	const struct fmt_dump *d = g->d;

	while (head < tail) {
		uint32_t s = p->order[head++];
		uint64_t b = d->edge_start[s], e = d->edge_start[s + 1];
		for (uint64_t k = b; k < e; k++) {
			uint32_t t = d->edge_dst[k];
			if (p->parent[t] != GRAPH_NONE)
				continue;
			p->parent[t] = s;
			p->order[tail++] = t;
		}
	}
	return tail;
}

static uint32_t
seed(struct graph_paths *p, uint32_t obj, uint32_t tail)
{
	if (p->parent[obj] != GRAPH_NONE)
		return tail;
	p->parent[obj] = GRAPH_ROOTED;
	p->order[tail] = obj;
	return tail + 1;
}

int
graph_paths_compute(const struct graph *g, struct graph_paths *p)
{
	/* Modules, then frames, then every other kind (design note 4). */
	static const uint32_t kinds[] = {FMT_ROOT_MODULE, FMT_ROOT_FRAME};
	const struct fmt_dump *d = g->d;
	size_t n = (size_t)g->n + 1;
	uint32_t tail = 0;

	memset(p, 0, sizeof *p);
	p->parent = malloc(n * sizeof *p->parent);
	p->order = malloc(n * sizeof *p->order);
	if (!p->parent || !p->order) {
		graph_paths_free(p);
		return MUPPY_ENOMEM;
	}
	memset(p->parent, 0xff, n * sizeof *p->parent);  /* GRAPH_NONE */
	for (size_t k = 0; k < 3; k++)
		for (uint32_t r = 0; r < d->nroots; r++)
			if (k < 2 ? d->roots[r].kind == kinds[k] :
			    d->roots[r].kind != kinds[0] &&
			    d->roots[r].kind != kinds[1])
				tail = seed(p, d->roots[r].obj, tail);
	tail = bfs_run(g, p, 0, tail);
	for (uint32_t i = 0; i < g->n; i++) {
		if (!(g->flags[i] & GRAPH_F_EXTERN) ||
		    p->parent[i] != GRAPH_NONE)
			continue;
		uint32_t head = tail;
		tail = bfs_run(g, p, head, seed(p, i, tail));
	}
	p->nreached = tail;
	return 0;
}

void
graph_paths_free(struct graph_paths *p)
{
	if (!p)
		return;
	free(p->parent);
	free(p->order);
	memset(p, 0, sizeof *p);
}

/*
 * The edge the BFS reached child by from parent: the first of parent's
 * edges to child, as bfs_run takes them in order and keeps the first.
 * Found again rather than stored, 4 bytes per object less.
 */
static uint64_t
parent_edge(const struct fmt_dump *d, uint32_t parent, uint32_t child)
{
	uint64_t k = d->edge_start[parent], e = d->edge_start[parent + 1];

	while (k + 1 < e && d->edge_dst[k] != child)
		k++;
	return k;
}

/* Room in *hops for hop n (grown by doubling).  0 or -1. */
static int
hops_room(struct graph_hop **hops, size_t *cap, size_t n)
{
	size_t nc;
	struct graph_hop *h;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	h = realloc(*hops, nc * sizeof *h);
	if (!h)
		return -1;
	*hops = h;
	*cap = nc;
	return 0;
}

int64_t
graph_chain(const struct graph *g, const struct graph_paths *p,
	    uint32_t target, struct graph_hop **hops, size_t *cap)
{
	const struct fmt_dump *d = g->d;
	size_t n = 0;

	if (target >= g->n || p->parent[target] == GRAPH_NONE)
		return 0;
	for (uint32_t o = target; ; o = p->parent[o]) {
		if (hops_room(hops, cap, n) != 0)
			return -1;
		(*hops)[n].obj = o;
		(*hops)[n].name = 0;
		if (p->parent[o] != GRAPH_ROOTED)
			(*hops)[n].name = d->edge_name[parent_edge(d,
							p->parent[o], o)];
		n++;
		if (p->parent[o] == GRAPH_ROOTED)
			break;
	}
	for (size_t a = 0, b = n - 1; a < b; a++, b--) {
		struct graph_hop t = (*hops)[a];
		(*hops)[a] = (*hops)[b];
		(*hops)[b] = t;
	}
	return (int64_t)n;
}

int
graph_search_init(struct graph_search *s, const struct graph *g)
{
	size_t n = (size_t)g->n + 1;

	memset(s, 0, sizeof *s);
	s->toward = malloc(n * sizeof *s->toward);
	s->stamp = calloc(n, sizeof *s->stamp);
	s->queue = malloc(n * sizeof *s->queue);
	if (s->toward && s->stamp && s->queue)
		return 0;
	graph_search_free(s);
	return MUPPY_ENOMEM;
}

void
graph_search_free(struct graph_search *s)
{
	free(s->toward);
	free(s->stamp);
	free(s->queue);
	free(s->pend);
	free(s->near);
	free(s->covered);
	memset(s, 0, sizeof *s);
}

/* One level: the referrers of want's objects appended to s->near.  0, or
 * 1 when they would pass maxpairs (none appended), or MUPPY_ENOMEM. */
static int
gather_level(struct graph_search *s, const struct graph *g,
	     const uint8_t *want, uint64_t *cap, uint64_t maxpairs)
{
	const struct fmt_dump *d = g->d;
	uint64_t first = s->nnear;

	for (uint32_t src = 0; src < g->n; src++)
		for (uint64_t e = d->edge_start[src];
		     e < d->edge_start[src + 1]; e++) {
			if (!bit_get(want, d->edge_dst[e]))
				continue;
			if (s->nnear == maxpairs) {
				s->nnear = first;
				return 1;
			}
			if (s->nnear == *cap) {
				uint64_t c = *cap ? 2 * *cap : 4096;
				uint64_t *np = realloc(s->near, c * sizeof *np);
				if (!np)
					return MUPPY_ENOMEM;
				s->near = np;
				*cap = c;
			}
			s->near[s->nnear++] = (uint64_t)d->edge_dst[e] << 32 |
					      src;
		}
	return 0;
}

int
graph_search_gather(struct graph_search *s, const struct graph *g,
		    const uint32_t *targets, size_t n, uint32_t levels,
		    uint64_t maxpairs)
{
	size_t bytes = ((size_t)g->n + 8) / 8;
	uint64_t cap = 0;
	uint8_t *want;
	int rc = 0, any = n > 0;

	if (g->rev_src)
		return 0;
	want = calloc(bytes, 1);
	if (!s->covered)
		s->covered = calloc(bytes, 1);
	if (!want || !s->covered) {
		free(want);
		return MUPPY_ENOMEM;
	}
	for (size_t k = 0; k < n; k++)
		if (targets[k] < g->n && !bit_get(s->covered, targets[k]))
			bit_put(want, targets[k], 1);
	for (uint32_t level = 0; level < levels && any; level++) {
		uint64_t first = s->nnear;
		rc = gather_level(s, g, want, &cap, maxpairs);
		if (rc)
			break;
		for (size_t b = 0; b < bytes; b++) {
			s->covered[b] |= want[b];
			want[b] = 0;
		}
		any = 0;
		for (uint64_t k = first; k < s->nnear; k++) {
			uint32_t src = (uint32_t)s->near[k];
			if (!bit_get(s->covered, src)) {
				bit_put(want, src, 1);
				any = 1;
			}
		}
	}
	free(want);
	if (rc == MUPPY_ENOMEM)
		return rc;
	if (s->nnear)   /* qsort(NULL, 0, ...) is undefined behaviour */
		qsort(s->near, s->nnear, sizeof *s->near, graph_pair_cmp);
	return 0;
}

/* Where a search finds the referrers of one object. */
struct refs {
	const uint32_t *r32;    /* in rev_src */
	const uint64_t *r64;    /* in s->near (the low half) */
	uint64_t n;
};

static struct refs
search_refs(const struct graph *g, const struct graph_search *s, uint32_t o)
{
	struct refs r = {0};
	uint64_t lo;

	if (g->rev_src) {
		r.r32 = g->rev_src + g->rev_start[o];
		r.n = g->rev_start[o + 1] - g->rev_start[o];
		return r;
	}
	if (!s->covered || !bit_get(s->covered, o))
		return r;      /* not gathered: a dead end */
	lo = graph_pairs_first(s->near, s->nnear, o);
	r.r64 = s->near + lo;
	while (lo + r.n < s->nnear && s->near[lo + r.n] >> 32 == o)
		r.n++;
	return r;
}

static inline uint32_t
refs_at(const struct refs *r, uint64_t k)
{
	return r->r32 ? r->r32[k] : (uint32_t)r->r64[k];
}

/* An entry of graph_chain_named's queue: obj, reached from toward, due
 * after `wait` more rounds (an unnamed edge costs two extra). */
struct graph_pending {
	uint32_t obj, toward;
	uint32_t wait;
};

static uint32_t edge_name_between(const struct fmt_dump *d, uint32_t src,
				  uint32_t dst);

/* Appends a hop for o, named by the edge from the previous hop. */
static int
hop_push(const struct fmt_dump *d, struct graph_hop **hops, size_t *cap,
	 size_t n, uint32_t o);

int64_t
graph_chain_named(const struct graph *g, struct graph_search *s,
		  uint32_t target, uint32_t maxcost, uint32_t budget,
		  struct graph_hop **hops, size_t *cap)
{
	uint32_t head = 0, tail = 0, level_end, cost = 0, root = GRAPH_NONE;
	size_t n = 0;

	if (target >= g->n || ++s->gen == 0)
		return 0;
	if (s->npend < budget) {
		struct graph_pending *np = realloc(s->pend,
						   budget * sizeof *np);
		if (!np)
			return -1;
		s->pend = np;
		s->npend = budget;
	}
	s->pend[tail++] = (struct graph_pending){target, GRAPH_NONE, 0};
	level_end = tail;
	while (head < tail && root == GRAPH_NONE) {
		struct graph_pending e;

		if (head == level_end) {   /* one round further */
			if (++cost > maxcost)
				return 0;
			level_end = tail;
		}
		e = s->pend[head++];
		if (e.wait) {              /* not due yet: to the next round */
			if (tail >= budget)
				return 0;
			e.wait--;
			s->pend[tail++] = e;
			continue;
		}
		if (s->stamp[e.obj] == s->gen)
			continue;          /* reached earlier, cheaper */
		s->stamp[e.obj] = s->gen;
		s->toward[e.obj] = e.toward;
		if (g->flags[e.obj] & GRAPH_F_DUMPROOT) {
			root = e.obj;
			break;
		}
		struct refs rs = search_refs(g, s, e.obj);
		for (uint64_t k = 0; k < rs.n; k++) {
			uint32_t r = refs_at(&rs, k);
			if (s->stamp[r] == s->gen)
				continue;
			if (tail >= budget)
				return 0;
			s->pend[tail++] = (struct graph_pending){r, e.obj,
				edge_name_between(g->d, r, e.obj) ? 0 : 2};
		}
	}
	if (root == GRAPH_NONE)
		return 0;
	for (uint32_t o = root; o != GRAPH_NONE; o = s->toward[o]) {
		if (hop_push(g->d, hops, cap, n, o) != 0)
			return -1;
		n++;
	}
	return (int64_t)n;
}

static int
hop_push(const struct fmt_dump *d, struct graph_hop **hops, size_t *cap,
	 size_t n, uint32_t o)
{
	if (hops_room(hops, cap, n) != 0)
		return -1;
	(*hops)[n].obj = o;
	(*hops)[n].name = n ? edge_name_between(d, (*hops)[n - 1].obj, o) : 0;
	return 0;
}

/* The name of the first edge src -> dst (0 if there is none). */
static uint32_t
edge_name_between(const struct fmt_dump *d, uint32_t src, uint32_t dst)
{
	for (uint64_t k = d->edge_start[src]; k < d->edge_start[src + 1]; k++)
		if (d->edge_dst[k] == dst)
			return d->edge_name[k];
	return 0;
}

static int hop_push(const struct fmt_dump *d, struct graph_hop **hops,
		    size_t *cap, size_t n, uint32_t o);

int64_t
graph_chain_from(const struct graph *g, struct graph_search *s,
		 uint32_t from, uint32_t target, uint32_t maxdepth,
		 uint32_t budget, struct graph_hop **hops, size_t *cap)
{
	uint32_t head = 0, tail = 0, level_end, depth = 0, o;
	size_t n = 0;

	if (from >= g->n || target >= g->n || ++s->gen == 0)
		return 0;   /* (a wrapped stamp would need a clear: give up) */
	s->stamp[target] = s->gen;
	s->queue[tail++] = target;
	level_end = tail;
	while (head < tail && s->stamp[from] != s->gen) {
		if (head == level_end) {
			if (++depth >= maxdepth)
				return 0;   /* the next level is too far */
			level_end = tail;
		}
		o = s->queue[head++];
		struct refs rs = search_refs(g, s, o);
		for (uint64_t e = 0; e < rs.n; e++) {
			uint32_t r = refs_at(&rs, e);
			if (s->stamp[r] == s->gen)
				continue;
			if (tail >= budget)
				return 0;
			s->stamp[r] = s->gen;
			s->toward[r] = o;
			s->queue[tail++] = r;
		}
	}
	if (s->stamp[from] != s->gen)
		return 0;
	for (o = from; ; o = s->toward[o]) {
		if (hop_push(g->d, hops, cap, n, o) != 0)
			return -1;
		n++;
		if (o == target)
			break;
	}
	return (int64_t)n;
}

/* ---- text ------------------------------------------------------------ */

void
graph_repr(struct text_buf *b, const char *s)
{
	/* Python: single quotes unless the text holds ' and no ". */
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

	text_add(b, &q, 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\' || *p == (unsigned char)q)
			text_addf(b, "\\%c", *p);
		else if (*p == '\n')
			text_add(b, "\\n", 2);
		else if (*p == '\r')
			text_add(b, "\\r", 2);
		else if (*p == '\t')
			text_add(b, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f)
			text_addf(b, "\\x%02x", *p);
		else
			text_add(b, (const char *)p, 1);
	}
	text_add(b, &q, 1);
}

/* The kind of obj's root entry, or -1 when it is held from C. */
static int64_t
graph_root_kind(const struct graph *g, uint32_t obj)
{
	int64_t r = graph_root_entry(g, obj);

	return r < 0 ? -1 : (int64_t)g->d->roots[r].kind;
}

void
graph_root_text(const struct graph *g, uint32_t obj, int pattern,
		struct text_buf *b)
{
	const struct fmt_dump *d = g->d;
	int64_t r = graph_root_entry(g, obj);
	const char *label = fmt_str(d, d->obj_label[obj]);

	if (r < 0) {
		if (pattern)
			text_addf(b, "<held from C: %s>",
				       graph_type_name(d, obj));
		else
			text_addf(b, "<held from C: 0x%" PRIx64 ">",
				       d->obj_addr[obj]);
		return;
	}
	const char *name = fmt_str(d, d->roots[r].name);
	switch (d->roots[r].kind) {
	case FMT_ROOT_MODULE:
		text_add(b, "sys.modules[", 12);
		graph_repr(b, *name ? name : label);
		text_add(b, "]", 1);
		break;
	case FMT_ROOT_FRAME:
		text_addf(b, "<frame %s%s(%s)>", label, *label ? " " : "",
			       name);
		break;
	default:
		if (*name)
			text_addf(b, "<root %s>", name);
		else
			text_addf(b, "<root %s>", graph_type_name(d, obj));
		break;
	}
}

void
graph_edge_text(const struct fmt_dump *d, uint32_t name, struct text_buf *b)
{
	uint32_t v = FMT_EDGE_VALUE(name);

	switch (FMT_EDGE_KIND(name)) {
	case FMT_EDGE_KEY:
		text_add(b, "[", 1);
		graph_repr(b, fmt_str(d, v));
		text_add(b, "]", 1);
		break;
	case FMT_EDGE_INDEX:
		text_addf(b, "[%u]", v);
		break;
	case FMT_EDGE_ATTR:
	case FMT_EDGE_LOCAL:
	case FMT_EDGE_OTHER:
		text_addf(b, ".%s", fmt_str(d, v));
		break;
	case FMT_EDGE_CELL:
		text_add(b, ".<cell ", 7);
		graph_repr(b, fmt_str(d, v));
		text_add(b, ">", 1);
		break;
	case FMT_EDGE_DICTKEY:
		text_add(b, ".<key>", 6);
		break;
	case FMT_EDGE_NONE:
	default:
		text_add(b, ".<?>", 4);
		break;
	}
}

static int
is_identifier(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!(c == '_' || c >= 0x80 || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static int
is_dict_slot(const struct fmt_dump *d, uint32_t name)
{
	return FMT_EDGE_KIND(name) == FMT_EDGE_OTHER &&
	       strcmp(fmt_str(d, FMT_EDGE_VALUE(name)), "__dict__") == 0;
}

void
graph_chain_text(const struct graph *g, const struct graph_hop *hops,
		 size_t n, int pattern, const uint8_t *is_new,
		 struct text_buf *b)
{
	const struct fmt_dump *d = g->d;

	if (n == 0)
		return;
	if (pattern && is_new && is_new[hops[0].obj] &&
	    graph_root_kind(g, hops[0].obj) == FMT_ROOT_MODULE)
		text_add(b, "sys.modules['*']", 16);  /* modules made at run time */
	else
		graph_root_text(g, hops[0].obj, pattern, b);
	for (size_t k = 1; k < n; k++) {
		uint32_t name = hops[k].name;
		enum fmt_edge_kind kind = FMT_EDGE_KIND(name);
		const char *key = fmt_str(d, FMT_EDGE_VALUE(name));
		int attr = kind == FMT_EDGE_KEY && is_identifier(key);

		if (is_dict_slot(d, name) && k + 1 < n &&
		    FMT_EDGE_KIND(hops[k + 1].name) == FMT_EDGE_KEY &&
		    is_identifier(fmt_str(d, FMT_EDGE_VALUE(hops[k + 1].name))))
			continue;  /* `.__dict__['x']` reads `.x` */
		if (attr && k > 1 && is_dict_slot(d, hops[k - 1].name)) {
			text_addf(b, ".%s", key);
			continue;
		}
		if (pattern && kind == FMT_EDGE_INDEX) {
			text_add(b, "[*]", 3);
			continue;
		}
		if (pattern && kind == FMT_EDGE_KEY && is_new &&
		    is_new[hops[k].obj]) {
			text_add(b, "['*']", 5);
			continue;
		}
		graph_edge_text(d, name, b);
	}
}

void
graph_row_name(const struct fmt_dump *d, uint32_t i, struct text_buf *b)
{
	const char *type = graph_type_name(d, i);
	const char *label = fmt_str(d, d->obj_label[i]);

	if (*label && strcmp(type, "function") == 0)
		text_addf(b, "function (%s)", label);
	else if (*label && strcmp(type, "frame") == 0)
		text_addf(b, "frame (codename: %s)", label);
	else if (*label && strcmp(type, "module") == 0)
		text_addf(b, "module(%s)", label);
	else
		text_add(b, type, strlen(type));
}

/* ---- across dumps ----------------------------------------------------- */

static const struct fmt_dump *types_dump;

static int
type_addr_cmp(const void *pa, const void *pb)
{
	uint64_t a = types_dump->types[*(const uint32_t *)pa].addr;
	uint64_t b = types_dump->types[*(const uint32_t *)pb].addr;

	return (a > b) - (a < b);
}

/* map[t] for each type t of b: the type of a with the same address and
 * name, or GRAPH_NONE. */
static int
map_types(const struct fmt_dump *a, const struct fmt_dump *b, uint32_t *map)
{
	uint32_t *idx = malloc((a->ntypes + 1u) * sizeof *idx);

	if (!idx)
		return MUPPY_ENOMEM;
	for (uint32_t t = 0; t < a->ntypes; t++)
		idx[t] = t;
	types_dump = a;
	qsort(idx, a->ntypes, sizeof *idx, type_addr_cmp);
	for (uint32_t t = 0; t < b->ntypes; t++) {
		uint32_t lo = 0, hi = a->ntypes;
		uint64_t addr = b->types[t].addr;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (a->types[idx[mid]].addr < addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		map[t] = GRAPH_NONE;
		for (; lo < a->ntypes && a->types[idx[lo]].addr == addr; lo++)
			if (strcmp(fmt_str(a, a->types[idx[lo]].name),
				   fmt_str(b, b->types[t].name)) == 0) {
				map[t] = idx[lo];
				break;
			}
	}
	free(idx);
	return 0;
}

int
graph_mark_common(const struct fmt_dump *a, const struct fmt_dump *b,
		  uint8_t *seen, uint8_t bit)
{
	return graph_match_common(a, b, seen, bit, NULL, NULL);
}

int
graph_match_common(const struct fmt_dump *a, const struct fmt_dump *b,
		   uint8_t *seen, uint8_t bit, uint32_t *size_in_a,
		   uint32_t *degree_in_a)
{
	uint32_t *map = malloc((b->ntypes + 1u) * sizeof *map);
	uint64_t i = 0, j = 0;

	if (!map || map_types(a, b, map) != 0) {
		free(map);
		return MUPPY_ENOMEM;
	}
	while (i < a->nobjects && j < b->nobjects) {
		if (a->obj_addr[i] < b->obj_addr[j]) {
			i++;
		} else if (a->obj_addr[i] > b->obj_addr[j]) {
			j++;
		} else {
			uint32_t tb = b->obj_type[j];
			if (tb < b->ntypes && map[tb] != GRAPH_NONE &&
			    map[tb] == a->obj_type[i]) {
				seen[j] |= bit;
				if (size_in_a)
					size_in_a[j] = a->obj_size[i] >
						GRAPH_SIZE_BIG ? GRAPH_SIZE_BIG :
						(uint32_t)a->obj_size[i];
				if (degree_in_a && a->edge_start)
					degree_in_a[j] = (uint32_t)
						(a->edge_start[i + 1] -
						 a->edge_start[i]);
			}
			i++;
			j++;
		}
	}
	free(map);
	return 0;
}

/* ---- command helpers ------------------------------------------------ */

int
graph_parse_address(const char *s, uint64_t *addr)
{
	uint64_t v = 0;
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *p = hex ? s + 2 : s;

	if (!*p)
		return -1;
	for (; *p; p++) {
		unsigned c = (unsigned char)*p, dgt;
		if (c >= '0' && c <= '9')
			dgt = c - '0';
		else if (hex && c >= 'a' && c <= 'f')
			dgt = c - 'a' + 10;
		else if (hex && c >= 'A' && c <= 'F')
			dgt = c - 'A' + 10;
		else
			return -1;
		if (v > (UINT64_MAX - dgt) / (hex ? 16 : 10))
			return -1;
		v = v * (hex ? 16 : 10) + dgt;
	}
	*addr = v;
	return 0;
}

static int
graph_read(const char *path, enum fmt_read_what what, struct fmt_dump *d)
{
	int rc = util_read_dump(path, what, d);

	if (rc)
		return rc;
	if (!(d->flags & FMT_FLAG_GRAPH)) {
		fmt_dump_free(d);
		util_error("%s is a summary-only dump (MUPPY_MODE=summary); "
			   "this analysis needs a graph dump", path);
		return MUPPY_EXIT_USAGE;
	}
	return 0;
}

int
graph_read_dump(const char *path, struct fmt_dump *d)
{
	return graph_read(path, FMT_READ_ALL, d);
}

int
graph_read_objects(const char *path, struct fmt_dump *d)
{
	return graph_read(path, FMT_READ_OBJECTS, d);
}

int
graph_read_match(const char *path, struct fmt_dump *d)
{
	return graph_read(path, FMT_READ_MATCH, d);
}

int
graph_read_degrees(const char *path, struct fmt_dump *d)
{
	return graph_read(path, FMT_READ_DEGREES, d);
}

int
graph_open(const char *path, struct fmt_dump *d, struct graph *g)
{
	return graph_open_with(path, GRAPH_BUILD_REFERRERS, d, g);
}

int
graph_open_with(const char *path, unsigned what, struct fmt_dump *d,
		struct graph *g)
{
	int rc = graph_read_dump(path, d);

	if (rc)
		return rc;
	rc = graph_build_with(g, d, what);
	if (rc == 0 && (what & GRAPH_BUILD_DROP_COUNTS))
		graph_drop_counts(d);
	if (rc == 0)
		return 0;
	fmt_dump_free(d);
	if (rc == MUPPY_ENOMEM)
		return util_error("out of memory indexing %s", path);
	util_error("%s: the object graph is inconsistent (an edge or root "
		   "names no object)", path);
	return MUPPY_EXIT_USAGE;
}

int
graph_run(const char *path, graph_analysis_fn fn, const void *args)
{
	return graph_run_with(path, GRAPH_BUILD_REFERRERS, fn, args);
}

int
graph_run_with(const char *path, unsigned what, graph_analysis_fn fn,
	       const void *args)
{
	struct fmt_dump d;
	struct graph g;
	int rc = graph_open_with(path, what, &d, &g);

	if (rc)
		return rc;
	rc = util_finish_stdout(fn(&g, args));
	graph_free(&g);
	fmt_dump_free(&d);
	return rc;
}

int
graph_find_target(const struct fmt_dump *d, const char *path,
		  const char *target, uint32_t *obj)
{
	uint64_t addr;
	int64_t i;

	if (graph_parse_address(target, &addr) != 0) {
		util_error("'%s' is not an object address (0x... or a "
			   "decimal id())", target);
		return MUPPY_EXIT_USAGE;
	}
	i = fmt_find_object(d, addr);
	if (i < 0) {
		util_error("%s has no object at 0x%" PRIx64, path, addr);
		return MUPPY_EXIT_USAGE;
	}
	*obj = (uint32_t)i;
	return 0;
}

/* Whether full ends in "." + name. */
static int
type_suffix_of(const char *full, const char *name)
{
	size_t fl = strlen(full), nl = strlen(name);

	return nl && fl > nl && full[fl - nl - 1] == '.' &&
	       strcmp(full + fl - nl, name) == 0;
}

int64_t
graph_types_named(const struct fmt_dump *d, const char *path,
		  const char *name, uint8_t *type_ok)
{
	const char *first = NULL;
	int64_t n = 0;
	int several = 0;

	for (uint32_t t = 0; t < d->ntypes; t++) {
		type_ok[t] = strcmp(fmt_str(d, d->types[t].name), name) == 0;
		n += type_ok[t];
	}
	if (n)
		return n;
	for (uint32_t t = 0; t < d->ntypes; t++) {
		const char *full = fmt_str(d, d->types[t].name);

		if (!type_suffix_of(full, name))
			continue;
		if (first && strcmp(first, full) != 0)
			several = 1;
		if (!first)
			first = full;
		type_ok[t] = 1;
		n++;
	}
	if (!several)
		return n;
	if (path)
		util_error("%s: the type name '%s' is ambiguous; it may be:",
			   path, name);
	for (uint32_t t = 0; t < d->ntypes; t++) {
		const char *full = fmt_str(d, d->types[t].name);
		int listed = 0;

		if (!type_ok[t])
			continue;
		for (uint32_t u = 0; u < t && !listed; u++)
			listed = type_ok[u] &&
				 strcmp(fmt_str(d, d->types[u].name), full) == 0;
		if (!listed && path)
			fprintf(stderr, "  %s\n", full);
		type_ok[t] = 0;
	}
	return -1;
}
