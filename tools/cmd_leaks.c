/*
 * cmd_leaks.c - `muppy leaks D1 D2 ... Dn`: what keeps growing while the
 * program repeats its work, grouped by the path pattern that holds it, so
 * ten thousand leaked Windows in one list read as one line:
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
 *   3. A line: pattern, heads, what they are (the majority's type, a
 *      bound method or function with its target: `method (Session.ping)`;
 *      "(mostly)" when mixed), total size of the group (heads and what
 *      they hold), one head's address and full path; under it, indented,
 *      the breakdown of the group's objects by type.  Lines are sorted by
 *      total size.  Dumps are read one at a time against Dn, so only two
 *      are in memory at once.
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
 *   6. Objects whose path starts at a root born in the last interval (a
 *      frame of the call running at dump time, an evaluation-stack
 *      temporary held from outside the heap, a module imported just now)
 *      are in flight, not leaked, and are left out with everything they
 *      hold.  A root that survived an interval is a holder like any
 *      other: objects held only from C (`<held from C: method>` for
 *      atexit callbacks, audit hooks, a C library's callbacks), a thread's
 *      frame, modules made at run time (`sys.modules['*']`).
 *   7. What keeps growing, not what merely looks new (three dumps or
 *      more).  Freed addresses are reused by new objects of the same type,
 *      so the contents of a bounded cache or a full deque, a global
 *      rebound each round or a frame's locals can look old.  So a group
 *      is a leak only when (a) its heads were born in at least two
 *      different intervals, and (b) at least one head's holder is not a
 *      steady container: it is the same object (address and type) in
 *      every dump, never smaller from D1 over D(n-1) to Dn in size or in
 *      number of referents (a module's C state shows in its referents,
 *      not its size), and bigger in both windows (a reused address whose
 *      new object happens to be bigger grows once only); an address
 *      missing from an earlier dump is reused, its contents churn.  A
 *      dict's keys fold into the line of its values; weak references
 *      (held as side effects of what they refer to) are left out when a
 *      strong holder is reported.  Known misses: a linked chain grown at a
 *      steady holder (`head = Node(head)`) reads as replaced, and so does
 *      a container made after D1 at a fresh address that then grows (one
 *      head, born once: growth of its own size between D(n-1) and Dn
 *      was tried as the sign and fell to address reuse, a frame local's
 *      list taking a bigger list's place); `muppy track` shows the type
 *      growing.
 *   8. Names.  A group is named through the module that defines its
 *      objects' class when such a path is at most two steps longer than
 *      the shortest (`logging.root.manager.loggerDict`, not the same dict
 *      through another module's LOGGER): a backward search from the
 *      example over referrers, bounded in depth and visits; else, when
 *      the shortest path has unnamed steps, the path with the fewest
 *      (named steps cost 1, unnamed 3: graph_chain_named).
 *   9. A single object that grows: an old object (same address and type
 *      in every dump) bigger in both windows by LEAKS_GROW_MIN bytes in
 *      all, that holds no leaked object (a bytearray that is extended, a
 *      list of small ints): nothing is born, so no group shows it; it is
 *      a line of its own, count 1, with how much it grew.
 *  10. Memory (issue 14: at most 64 bytes per object at 5M objects, with
 *      the dump itself taking 55).  The earlier dumps are matched against
 *      Dn's addresses and types alone (FMT_READ_MATCH), then Dn is read
 *      whole.  No referrer index is built: adoption (note 5) counts the
 *      referrers it needs over the forward edges, the names of note 8
 *      gather the referrers near the examples (graph_search_gather,
 *      within an eighth of the edges: past that a search keeps the BFS
 *      name).  What the analysis is done with goes when it is: the
 *      refcounts and object flags once the graph's flags are set, the
 *      BFS order once the leaked objects are picked out of it; arrays per
 *      leaked object (struct rank) stand in for arrays per object.
 */
#include <inttypes.h> /* PRIx64, PRIu64 */
#include <malloc.h>   /* mallopt, M_MMAP_THRESHOLD */
#include <stdio.h>    /* printf */
#include <stdlib.h>   /* malloc, calloc, realloc, free, qsort */
#include <string.h>   /* strcmp, strlen, memset */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "tools/graph.h"   /* graph_*, struct graph_paths */
#include "tools/leaks.h"   /* leaks_find, struct leaks_report */
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
#define LEAKS_HOLD_SHOWN 4     /* of which the largest are printed */

/* What an earlier dump said of the objects of Dn that were in it: their
 * size and number of referents; size[i] SHAPE_NONE for those that were
 * not (design note 7). */
struct shape {
	uint32_t *size;     /* bytes, at most GRAPH_SIZE_BIG */
	uint32_t *degree;
};
#define SHAPE_NONE UINT32_MAX   /* not in that dump */

static uint32_t
shape_size(uint64_t size)
{
	return size > GRAPH_SIZE_BIG ? GRAPH_SIZE_BIG : (uint32_t)size;
}

/* Dn's objects as D1 and as D(n-1) had them, and in how many of the
 * earlier dumps each was (same address and type). */
struct past {
	struct shape first, prev;
	uint16_t *dumps;
};

/* What leaks_mark learnt from the earlier dumps (tools/leaks.h), and
 * what leaks_prepare then picked out of the BFS order. */
struct leaks_marks {
	uint64_t nobjects;   /* of Dn */
	uint64_t print;      /* Dn's fingerprint (dump_print) */
	uint8_t *leaked;
	uint16_t *run;       /* NULL with two dumps */
	struct past past;
	int prepared;
	uint32_t *bfs;       /* the leaked objects, in BFS order */
	uint32_t nbfs;
	uint32_t *grow;      /* design note 9's objects, in BFS order */
	uint32_t ngrow;
};

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
 * design note 1 calls leaked, reading files[n-2] down to files[0], and
 * the shapes of those that were in files[0] and files[n-2] (design note
 * 7; the others keep size SHAPE_NONE), and run[i], the first dump of the
 * run of dumps ending at Dn that holds object i (its birth, for note 7;
 * run is NULL with two dumps: every birth is then D2).  Returns 0 or an
 * exit status (message printed).
 */
static int
mark_leaked(const struct util_series *a, const struct fmt_dump *last,
	    uint8_t *leaked, struct past *past, uint16_t *run)
{
	uint64_t n = last->nobjects;
	uint8_t *seen = malloc(n + 1);
	int rc = 0;

	if (!seen) {
		rc = util_error("out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (run)
			run[i] = (uint16_t)(a->nfiles - 1);
		leaked[i] = 1;  /* cleared below when disproved */
	}
	for (int k = a->nfiles - 2; k >= 0; k--) {
		struct fmt_dump dk;
		struct shape *sh = a->nfiles < 3 ? NULL :
				   k == 0 ? &past->first :
				   k == a->nfiles - 2 ? &past->prev : NULL;

		/* D1 and D(n-1) with out-degrees: they tell steady holders
		 * (note 7). */
		rc = sh ? graph_read_degrees(a->files[k], &dk) :
			  graph_read_match(a->files[k], &dk);
		if (rc)
			goto out;
		warn_other_process(a, k, &dk, last);
		memset(seen, 0, n + 1);
		rc = graph_match_common(&dk, last, seen, 1,
					sh ? sh->size : NULL,
					sh ? sh->degree : NULL);
		fmt_dump_free(&dk);
		if (rc) {
			rc = util_error("out of memory");
			goto out;
		}
		for (uint64_t i = 0; i < n; i++) {
			if (!seen[i])
				continue;
			if (past->dumps)
				past->dumps[i]++;
			if (run && run[i] == k + 1 && k > 0)
				run[i] = (uint16_t)k;
			else
				leaked[i] = 0;  /* in D1, or came back */
		}
	}
	/* LEAK_OLD: born before the last interval (design note 4). */
	for (uint64_t i = 0; run && i < n; i++)
		if (leaked[i] && run[i] < a->nfiles - 1)
			leaked[i] = LEAK_OLD;
out:
	free(seen);
	return rc;
}

/* ---- groups (design note 2) ------------------------------------------ */

struct group {
	char *pattern;       /* owned */
	uint32_t example;    /* first head */
	uint32_t holder;     /* the example head's holder (BFS parent), or
				GRAPH_ROOTED when the head is a root */
	uint32_t type;       /* heads' type index, GRAPH_NONE if mixed */
	uint32_t vote;       /* the heads' majority type (Boyer-Moore) */
	uint64_t votes;
	uint64_t heads, objects, size;
	int old;             /* has a member born before the last interval */
	uint16_t born_min, born_max;  /* the heads' births (run[]) */
	uint64_t growing;    /* heads whose holder is not steady (note 7) */
	struct {                 /* what the group's objects are (note 3) */
		uint32_t type;
		uint64_t count, size;
	} holds[LEAKS_HOLD_TYPES];
	uint32_t nholds;
	uint64_t other_count, other_size;
	uint64_t grew;           /* a growing single object (note 9): bytes
				    it grew by since D1; 0 for a group */
	struct graph_hop *path;  /* the example's path when a better one than
				    the BFS tree's was found (note 8), owned */
	size_t npath;
	int dropped;         /* not a leak after all (design note 7) */
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

/* A new group at the end, without the hash index (groups_get's, which
 * refine leaves stale); takes pattern over.  NULL when out of memory (pattern freed). */
static struct group *
groups_append(struct groups *gs, char *pattern, uint32_t head, uint32_t type)
{
	if (gs->n == gs->cap) {
		uint32_t nc = gs->cap ? gs->cap * 2 : 16;
		struct group *ng = realloc(gs->g, nc * sizeof *ng);
		if (!ng) {
			free(pattern);
			return NULL;
		}
		gs->g = ng;
		gs->cap = nc;
	}
	memset(&gs->g[gs->n], 0, sizeof gs->g[gs->n]);
	gs->g[gs->n].pattern = pattern;
	gs->g[gs->n].example = head;
	gs->g[gs->n].type = type;
	return &gs->g[gs->n++];
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
	if (!groups_append(gs, pattern, head, type))
		return GRAPH_NONE;
	gs->slot[s] = gs->n;
	return gs->n - 1;
fail:
	free(pattern);
	return GRAPH_NONE;
}

static void
groups_free(struct groups *gs)
{
	for (uint32_t k = 0; k < gs->n; k++) {
		free(gs->g[k].pattern);
		free(gs->g[k].path);
	}
	free(gs->g);
	free(gs->slot);
	memset(gs, 0, sizeof *gs);
}

/* Whether par kept growing, never shrinking, from D1 over D(n-1) to Dn:
 * neither its size nor its referents went down, and one of them went up
 * in both windows (D1 to D(n-1), D(n-1) to Dn): a reused address whose
 * new object happens to be bigger grows once, a container grows again. */
static int
kept_growing(const struct fmt_dump *d, const struct past *past, uint32_t par)
{
	uint32_t s1 = past->first.size[par], s2 = past->prev.size[par];
	uint32_t s3 = shape_size(d->obj_size[par]);
	uint32_t e1 = past->first.degree[par], e2 = past->prev.degree[par];
	uint32_t e3 = d->edge_start[par + 1] - d->edge_start[par];

	return s1 <= s2 && s2 <= s3 && e1 <= e2 && e2 <= e3 &&
	       ((s1 < s2 && s2 < s3) || (e1 < e2 && e2 < e3));
}

/*
 * Whether par, the holder of a head, is a steady container (design note
 * 7): an old object (not leaked) that did not keep growing from D1 over
 * D(n-1) to Dn, in size or in referents (a module's C state does not
 * show in its size, its referents do; a reused address holding objects of
 * other sizes over time does not grow steadily), or one missing from some
 * earlier dump although it is not leaked (an address that came back:
 * reused, so what it holds is churn).  Roots are not steady holders.
 */
static int
steady_holder(const struct fmt_dump *d, const uint8_t *leaked,
	      const struct past *past, int nfiles, uint32_t par)
{
	if (nfiles < 3 || par >= d->nobjects || leaked[par])
		return 0;
	if (past->dumps[par] < nfiles - 1)
		return 1;   /* an address that came back */
	return !kept_growing(d, past, par);
}
/* Counts a member of type `type` and `size` bytes into gr's breakdown. */
static void
hold_add(struct group *gr, uint32_t type, uint64_t count, uint64_t size)
{
	for (uint32_t k = 0; k < gr->nholds; k++)
		if (gr->holds[k].type == type) {
			gr->holds[k].count += count;
			gr->holds[k].size += size;
			return;
		}
	if (gr->nholds < LEAKS_HOLD_TYPES) {
		gr->holds[gr->nholds].type = type;
		gr->holds[gr->nholds].count = count;
		gr->holds[gr->nholds++].size = size;
		return;
	}
	gr->other_count += count;
	gr->other_size += size;
}

/* Counts a head (held by par) into gr. */
static void
head_add(struct group *gr, uint32_t par, uint32_t type, uint16_t born,
	 int steady)
{
	gr->growing += !steady;
	if (gr->heads++ == 0) {
		gr->holder = par;
		gr->born_min = gr->born_max = born;
	}
	if (born < gr->born_min)
		gr->born_min = born;
	if (born > gr->born_max)
		gr->born_max = born;
	if (gr->votes == 0)
		gr->vote = type, gr->votes = 1;
	else if (gr->vote == type)
		gr->votes++;
	else
		gr->votes--;
}

#define LEAK_CANDIDATE 0x80   /* adopt_reused's mark, cleared after */

/* Dense numbers for the objects of a subset (the leaked ones, say): a
 * bitmap and the count before each word, 0.2 bytes per object, so that
 * an array per member of the subset can stand in for one per object. */
struct rank {
	uint64_t *bits;
	uint32_t *before;    /* members in the words before */
	uint32_t n;          /* members */
};

/* The objects i < n with leaked[i] == only (only 0: leaked[i] != 0). */
static int
rank_build(struct rank *r, const uint8_t *leaked, uint32_t n, uint8_t only)
{
	size_t words = (size_t)n / 64 + 1;

	r->n = 0;
	r->bits = calloc(words, sizeof *r->bits);
	r->before = malloc(words * sizeof *r->before);
	if (!r->bits || !r->before)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (only ? leaked[i] == only : leaked[i] != 0)
			r->bits[i / 64] |= 1ull << (i % 64);
	for (size_t w = 0; w < words; w++) {
		r->before[w] = r->n;
		r->n += (uint32_t)__builtin_popcountll(r->bits[w]);
	}
	return 0;
}

/* The dense number of member o. */
static inline uint32_t
rank_of(const struct rank *r, uint32_t o)
{
	uint64_t below = r->bits[o / 64] & ((1ull << (o % 64)) - 1);

	return r->before[o / 64] + (uint32_t)__builtin_popcountll(below);
}

static void
rank_free(struct rank *r)
{
	free(r->bits);
	free(r->before);
}

/* A candidate's count of referrers that are not leaked saturates here,
 * and then stays: it is never adopted (65535 referrers or more, all of
 * them adopted in turn, is no case worth 2 more bytes a candidate). */
#define LEFT_MANY UINT16_MAX

/* The referents of o that are candidates lose a referrer that is not
 * leaked (o was just adopted). */
static void
adopt_edges(const struct fmt_dump *d, const uint8_t *leaked, uint32_t o,
	    const struct rank *cand, uint16_t *left)
{
	for (uint64_t e = d->edge_start[o]; e < d->edge_start[o + 1]; e++) {
		uint16_t *c;
		if (leaked[d->edge_dst[e]] != LEAK_CANDIDATE)
			continue;
		c = &left[rank_of(cand, d->edge_dst[e])];
		if (*c != LEFT_MANY)
			(*c)--;
	}
}

/* Marks LEAK_CANDIDATE the objects below a leaked one in the BFS tree
 * through objects that are not leaked, roots left out. */
static void
mark_candidates(const struct graph *g, const struct graph_paths *p,
		uint8_t *leaked)
{
	for (uint32_t k = 0; k < p->nreached; k++) {
		uint32_t o = p->order[k], par = p->parent[o];
		if (!leaked[o] && par != GRAPH_ROOTED && leaked[par] &&
		    !(g->flags[o] & (GRAPH_F_DUMPROOT | GRAPH_F_EXTERN)))
			leaked[o] = LEAK_CANDIDATE;
	}
}

/*
 * Design note 5, in BFS order so that chains of them are found: an object
 * not leaked, not a root, whose BFS parent is leaked (or was adopted just
 * before) and whose every referrer is leaked.  Forward edges only (no
 * referrer index): each candidate counts its referrers that are not
 * leaked in one pass over the edges, and an adoption takes one off each
 * of its referents.  2 bytes per candidate.  0 or -1 (out of memory).
 */
static int
adopt_reused(const struct graph *g, const struct graph_paths *p,
	     uint8_t *leaked)
{
	const struct fmt_dump *d = g->d;
	struct rank cand = {0};
	uint16_t *left = NULL;
	int rc = -1;

	mark_candidates(g, p, leaked);
	if (rank_build(&cand, leaked, g->n, LEAK_CANDIDATE) != 0 ||
	    !(left = calloc((size_t)cand.n + 1, sizeof *left)))
		goto out;
	for (uint32_t s = 0; s < g->n && cand.n; s++) {
		if (leaked[s] && leaked[s] != LEAK_CANDIDATE)
			continue;
		for (uint64_t e = d->edge_start[s]; e < d->edge_start[s + 1];
		     e++)
			if (leaked[d->edge_dst[e]] == LEAK_CANDIDATE) {
				uint16_t *c = &left[rank_of(&cand,
							    d->edge_dst[e])];
				*c += *c != LEFT_MANY;
			}
	}
	for (uint32_t k = 0; k < p->nreached && cand.n; k++) {
		uint32_t o = p->order[k], par = p->parent[o];
		if (leaked[o] != LEAK_CANDIDATE ||
		    leaked[par] == LEAK_CANDIDATE ||
		    left[rank_of(&cand, o)] != 0)
			continue;
		leaked[o] = leaked[par];
		adopt_edges(d, leaked, o, &cand, left);
	}
	rc = 0;
out:
	for (uint32_t i = 0; i < g->n; i++)
		if (leaked[i] == LEAK_CANDIDATE)
			leaked[i] = 0;
	free(left);
	rank_free(&cand);
	return rc;
}

/* Groups the leaked objects bfs[0 .. n) (every reachable one, in BFS
 * order: parents first).  A member's group is its parent's: gid holds
 * one per leaked object, not one per object. */
static int
group_all(const struct graph *g, const struct graph_paths *p,
	  const uint8_t *leaked, const uint16_t *run, const struct past *past,
	  int nfiles, const uint32_t *bfs, uint32_t n, struct groups *gs)
{
	const struct fmt_dump *d = g->d;
	struct rank member = {0};
	uint32_t *gid = NULL;
	struct graph_hop *h = NULL;
	size_t cap = 0;
	int rc = -1;

	if (rank_build(&member, leaked, g->n, 0) != 0 ||
	    !(gid = malloc(((size_t)member.n + 1) * sizeof *gid)))
		goto out;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t o = bfs[k], par = p->parent[o], id;
		uint32_t at = rank_of(&member, o);
		if (par != GRAPH_ROOTED && leaked[par]) {
			id = gid[rank_of(&member, par)];
			if (id == GRAPH_NONE) {  /* in flight, as its holder */
				gid[at] = id;
				continue;
			}
		} else {
			struct text_buf b = {0};
			int64_t len = graph_chain(g, p, o, &h, &cap);
			if (len <= 0)
				goto out;
			if (leaked[h[0].obj] == LEAK_YOUNG) {  /* note 6 */
				gid[at] = GRAPH_NONE;
				continue;
			}
			graph_chain_text(g, h, (size_t)len, 1, leaked, &b);
			if (b.oom) {
				text_free(&b);
				goto out;
			}
			id = groups_get(gs, b.s, o, d->obj_type[o]);
			if (id == GRAPH_NONE)
				goto out;
			head_add(&gs->g[id], par, d->obj_type[o],
				 run ? run[o] : (uint16_t)(nfiles - 1),
				 steady_holder(d, leaked, past, nfiles, par));
		}
		gid[at] = id;
		if (leaked[o] == LEAK_OLD)
			gs->g[id].old = 1;
		gs->g[id].objects++;
		gs->g[id].size += d->obj_size[o];
		hold_add(&gs->g[id], d->obj_type[o], 1, d->obj_size[o]);
	}
	rc = 0;
out:
	free(h);
	free(gid);
	rank_free(&member);
	return rc;
}

/* Whether type name names a weak reference (design note 7). */
static int
is_weakref_type(const char *name)
{
	static const char *const weak[] = {
		"weakref", "weakref.ReferenceType", "weakproxy",
		"weakcallableproxy", "weakref.ProxyType",
		"weakref.CallableProxyType", "weakref.KeyedRef", "KeyedRef",
	};

	for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++)
		if (strcmp(name, weak[i]) == 0)
			return 1;
	return 0;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}


/* Key group o goes into gr (design note 7: a dict's keys fold into the
 * line of its values). */
static void
merge_group(struct group *gr, struct group *o)
{
	gr->objects += o->objects;
	gr->size += o->size;
	gr->old |= o->old;
	gr->growing += o->growing;
	for (uint32_t h = 0; h < o->nholds; h++)
		hold_add(gr, o->holds[h].type, o->holds[h].count,
			 o->holds[h].size);
	gr->other_count += o->other_count;
	gr->other_size += o->other_size;
	if (o->born_min < gr->born_min)
		gr->born_min = o->born_min;
	if (o->born_max > gr->born_max)
		gr->born_max = o->born_max;
	o->dropped = 1;
}

/*
 * Every group of values (in index order) takes the key groups of its
 * holder that are left, in index order; found through the key groups
 * sorted by holder, not by a pass over all groups for each.  0 or -1.
 */
static int
merge_keys(const struct fmt_dump *d, struct groups *gs)
{
	uint64_t *keys = malloc(((size_t)gs->n + 1) * sizeof *keys);
	uint32_t nkeys = 0;

	if (!keys)
		return -1;
	for (uint32_t j = 0; j < gs->n; j++)
		if (!gs->g[j].dropped && ends_with(gs->g[j].pattern, ".<key>"))
			keys[nkeys++] = (uint64_t)gs->g[j].holder << 32 | j;
	if (nkeys)   /* by holder, then by index */
		qsort(keys, nkeys, sizeof *keys, graph_pair_cmp);
	for (uint32_t k = 0; k < gs->n && nkeys; k++) {
		struct group *gr = &gs->g[k];
		uint64_t lo;
		if (gr->dropped || gr->holder >= d->nobjects ||
		    ends_with(gr->pattern, ".<key>"))
			continue;
		lo = graph_pairs_first(keys, nkeys, gr->holder);
		for (; lo < nkeys && keys[lo] >> 32 == gr->holder; lo++) {
			struct group *o = &gs->g[(uint32_t)keys[lo]];
			if (!o->dropped)
				merge_group(gr, o);
		}
	}
	free(keys);
	return 0;
}

/* Whether i holds a leaked object (its growth is then the group's). */
static int
holds_leaked(const struct fmt_dump *d, const uint8_t *leaked, uint32_t i)
{
	for (uint64_t k = d->edge_start[i]; k < d->edge_start[i + 1]; k++)
		if (leaked[d->edge_dst[k]])
			return 1;
	return 0;
}

/*
 * Design note 9: an old object that grew in every interval by at least
 * LEAKS_GROW_MIN bytes overall and holds no leaked object (a buffer that
 * is extended, a list of small ints appended to) is a line of its own:
 * nothing new is born, so no group shows it.  0 or -1 (out of memory).
 */
#define LEAKS_GROW_MIN 1024

static int
grows_alone(const struct fmt_dump *d, const uint8_t *leaked,
	    const struct past *past, int nfiles, uint32_t i)
{
	uint32_t s1, s2, s3;

	if (leaked[i] || past->dumps[i] < nfiles - 1)
		return 0;
	s1 = past->first.size[i];
	s2 = past->prev.size[i];
	s3 = shape_size(d->obj_size[i]);
	return s1 < s2 && s2 < s3 && s3 - s1 >= LEAKS_GROW_MIN &&
	       !holds_leaked(d, leaked, i);
}

/* The objects grows_alone picks, grow[0 .. n) in BFS order, as lines. */
static int
add_growing_objects(const struct graph *g, const struct graph_paths *p,
		    const struct past *past, const uint32_t *grow,
		    uint32_t ngrow, struct groups *gs)
{
	const struct fmt_dump *d = g->d;
	struct graph_hop *h = NULL;
	size_t cap = 0;
	int rc = -1;

	for (uint32_t k = 0; k < ngrow; k++) {
		uint32_t i = grow[k];
		struct text_buf b = {0};
		int64_t n;

		n = graph_chain(g, p, i, &h, &cap);
		if (n < 0)
			goto out;
		if (n == 0)
			continue;
		graph_chain_text(g, h, (size_t)n, 0, NULL, &b);
		if (b.oom) {
			text_free(&b);
			goto out;
		}
		struct group *gr = groups_append(gs, b.s, i, d->obj_type[i]);
		if (!gr)
			goto out;
		head_add(gr, p->parent[i], d->obj_type[i], 0, 0);
		gr->objects = 1;
		gr->size = d->obj_size[i];
		gr->grew = shape_size(d->obj_size[i]) - past->first.size[i];
		hold_add(gr, d->obj_type[i], 1, d->obj_size[i]);
	}
	rc = 0;
out:
	free(h);
	return rc;
}

/* Design note 7 on the groups, then note 4 (nfiles >= 3: groups without
 * an old member go).  The hash index is not needed after grouping and
 * goes stale.  0 or -1 (out of memory). */
static int
refine(const struct fmt_dump *d, int nfiles, struct groups *gs)
{
	uint32_t n = 0, strong = 0;

	for (uint32_t k = 0; k < gs->n && nfiles >= 3; k++)
		if (gs->g[k].growing == 0)
			gs->g[k].dropped = 1;
	if (merge_keys(d, gs) != 0)
		return -1;
	for (uint32_t k = 0; k < gs->n; k++) {
		struct group *gr = &gs->g[k];
		if (nfiles >= 3 && (!gr->old || gr->born_min == gr->born_max))
			gr->dropped = 1;
		strong += !gr->dropped && !is_weakref_type(
			fmt_str(d, d->types[gr->vote].name));
	}
	for (uint32_t k = 0; k < gs->n; k++) {
		struct group *gr = &gs->g[k];
		if (strong && is_weakref_type(fmt_str(d,
						     d->types[gr->vote].name)))
			gr->dropped = 1;
		if (gr->dropped)
			free(gr->pattern);
		else
			gs->g[n++] = *gr;
	}
	gs->n = n;
	return 0;
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

/* The label of the first referent of obj that is a function (a bound
 * method's __func__), or "". */
static const char *
func_label(const struct fmt_dump *d, uint32_t obj)
{
	for (uint64_t k = d->edge_start[obj]; k < d->edge_start[obj + 1];
	     k++) {
		uint32_t to = d->edge_dst[k];
		if (strcmp(graph_type_name(d, to), "function") == 0)
			return fmt_str(d, d->obj_label[to]);
	}
	return "";
}

/* What the heads are, for a reader: the majority's type name, a bound
 * method or function with its target (`method (Session.ping)`), and
 * "(mostly)" when the heads' types are mixed. */
static void
held_text(const struct fmt_dump *d, const struct group *gr,
	  struct text_buf *b)
{
	const char *type = fmt_str(d, d->types[gr->vote].name);
	const char *target = "";
	uint32_t ex = gr->example;

	if (d->obj_type[ex] == gr->vote && strcmp(type, "method") == 0)
		target = func_label(d, ex);
	else if (d->obj_type[ex] == gr->vote && strcmp(type, "function") == 0)
		target = fmt_str(d, d->obj_label[ex]);
	text_str(b, type);
	if (*target)
		text_addf(b, " (%s)", target);
	if (gr->type == GRAPH_NONE)
		text_str(b, " (mostly)");
}

/* The breakdown line of a group (design note 3): its objects by type,
 * the largest first. */
static void
holds_text(const struct fmt_dump *d, const struct group *gr,
	   struct text_buf *b)
{
	uint32_t order[LEAKS_HOLD_TYPES], n = gr->nholds;
	uint64_t more = gr->other_count;
	char size[PYM_SIZE_LEN];

	for (uint32_t k = 0; k < n; k++)
		order[k] = k;
	for (uint32_t k = 1; k < n; k++)   /* insertion sort by size */
		for (uint32_t j = k; j > 0 && gr->holds[order[j]].size >
		     gr->holds[order[j - 1]].size; j--) {
			uint32_t x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (uint32_t k = LEAKS_HOLD_SHOWN; k < n; k++)
		more += gr->holds[order[k]].count;
	if (n > LEAKS_HOLD_SHOWN)
		n = LEAKS_HOLD_SHOWN;
	for (uint32_t k = 0; k < n; k++) {
		const char *sz = pym_size((int64_t)gr->holds[order[k]].size,
					  size);
		char compact[PYM_SIZE_LEN];
		size_t w = 0;

		for (; *sz; sz++)   /* "  312     B" reads "312 B" here */
			if (*sz != ' ' || (w && compact[w - 1] != ' '))
				compact[w++] = *sz;
		compact[w] = '\0';
		text_addf(b, "%s%" PRIu64 " %s (%s)", k ? ", " : "",
			  gr->holds[order[k]].count,
			  fmt_str(d, d->types[gr->holds[order[k]].type].name),
			  compact);
	}
	if (more)
		text_addf(b, ", %" PRIu64 " of other types", more);
	if (gr->grew)
		text_addf(b, "; it grew by %" PRIu64 " B since the first dump, "
			  "in every interval", gr->grew);
}

static void
example_text(const struct graph *g, const struct graph_paths *p,
	     const struct group *gr, struct text_buf *b)
{
	struct graph_hop *h = NULL;
	size_t cap = 0;
	int64_t n;

	if (gr->path) {
		graph_chain_text(g, gr->path, gr->npath, 0, NULL, b);
		return;
	}
	n = graph_chain(g, p, gr->example, &h, &cap);
	if (n > 0)
		graph_chain_text(g, h, (size_t)n, 0, NULL, b);
	free(h);
}

/* The module root named by the longest dotted prefix of type name tn
 * (`weakref` for `weakref.finalize._Info`), or GRAPH_NONE. */
static uint32_t
defining_module(const struct fmt_dump *d, const char *tn)
{
	size_t best = 0;
	uint32_t obj = GRAPH_NONE;

	for (uint32_t r = 0; r < d->nroots; r++) {
		const char *name = fmt_str(d, d->roots[r].name);
		size_t n = strlen(name);
		if (d->roots[r].kind != FMT_ROOT_MODULE || n <= best ||
		    strncmp(tn, name, n) != 0 || tn[n] != '.')
			continue;
		best = n;
		obj = d->roots[r].obj;
	}
	return obj;
}

/* Unnamed hops (`<?>`) of a chain, its root not counted. */
static size_t
unnamed_hops(const struct graph_hop *h, size_t n)
{
	size_t u = 0;

	for (size_t k = 1; k < n; k++)
		u += h[k].name == 0;
	return u;
}

/* Makes h[0..n) the group's path and its pattern.  0 or -1 (OOM). */
static int
set_path(const struct graph *g, const uint8_t *leaked, struct group *gr,
	 const struct graph_hop *h, size_t n)
{
	struct text_buf b = {0};
	struct graph_hop *copy = malloc(n * sizeof *copy);

	graph_chain_text(g, h, n, 1, leaked, &b);
	if (b.oom || !copy) {
		text_free(&b);
		free(copy);
		return -1;
	}
	memcpy(copy, h, n * sizeof *h);
	free(gr->path);
	gr->path = copy;
	gr->npath = n;
	free(gr->pattern);
	gr->pattern = b.s;
	return 0;
}

/* Without the referrer index: the referrers better_names' searches may
 * follow from the examples (as far as the deepest one goes: 3 per step of
 * the longest BFS path, LEAKS_NAME_LEVELS at most: each level is a pass
 * over the edges, and an example at the end of a long chain would ask
 * for thousands), within an eighth of the edges. */
#define LEAKS_NAME_LEVELS 32
static int
gather_referrers(const struct graph *g, struct graph_search *s,
		 const struct graph_paths *p, const struct groups *gs,
		 uint64_t shown)
{
	uint32_t *ex = malloc((shown + 1) * sizeof *ex), n = 0, levels = 0;
	uint64_t maxpairs = g->d->nedges / 8 > (1u << 16) ?
			    g->d->nedges / 8 : (1u << 16);
	int rc;

	if (g->rev_src)
		return free(ex), 0;
	if (!ex)
		return -1;
	for (uint64_t k = 0; k < shown; k++) {
		uint32_t depth = 0;
		if (gs->g[k].grew)
			continue;
		ex[n++] = gs->g[k].example;
		for (uint32_t o = gs->g[k].example; o < g->n &&
		     depth < UINT32_MAX / 4; o = p->parent[o])
			depth++;
		if (3 * depth > levels)
			levels = 3 * depth;
	}
	if (levels > LEAKS_NAME_LEVELS)
		levels = LEAKS_NAME_LEVELS;
	rc = graph_search_gather(s, g, ex, n, levels, maxpairs);
	free(ex);
	return rc ? -1 : 0;
}

/*
 * Design note 8: names each group through the module that defines its
 * objects' class when such a path is at most two steps longer than the
 * shortest one (`logging.root.manager.loggerDict`, not the same dict
 * through another module's LOGGER); else, when the shortest path has
 * unnamed hops, through the path with the fewest (`copyreg.dispatch_table`
 * rather than `_pickle`'s C state).  0 or -1 (out of memory).
 */
static int
better_names(const struct graph *g, const struct graph_paths *p,
	     const uint8_t *leaked, struct groups *gs, uint64_t shown)
{
	const struct fmt_dump *d = g->d;
	struct graph_search s;
	struct graph_hop *h = NULL, *alt = NULL;
	size_t cap = 0, acap = 0;
	int rc = -1;

	if (graph_search_init(&s, g) != 0 ||
	    gather_referrers(g, &s, p, gs, shown) != 0)
		goto out;
	for (uint64_t k = 0; k < shown; k++) {
		struct group *gr = &gs->g[k];
		uint32_t m = defining_module(d, fmt_str(d,
					     d->types[gr->vote].name));
		int64_t n, na = 0;

		if (gr->grew)
			continue;   /* a single object: its own full path */
		n = graph_chain(g, p, gr->example, &h, &cap);
		if (n <= 0) {
			if (n < 0)
				goto out;
			continue;
		}
		if (m != GRAPH_NONE && h[0].obj != m)
			na = graph_chain_from(g, &s, m, gr->example,
					      (uint32_t)n + 2, 1u << 20, &alt,
					      &acap);
		if (na == 0 && unnamed_hops(h, (size_t)n)) {
			na = graph_chain_named(g, &s, gr->example,
					       3 * (uint32_t)n, 1u << 22,
					       &alt, &acap);
			if (na > 0 && unnamed_hops(alt, (size_t)na) >=
			    unnamed_hops(h, (size_t)n))
				na = 0;
		}
		if (na < 0 || (na > 0 && set_path(g, leaked, gr, alt,
						  (size_t)na) != 0))
			goto out;
	}
	rc = 0;
out:
	free(h);
	free(alt);
	graph_search_free(&s);
	return rc;
}

/* ---- the report (tools/leaks.h) ----------------------------------- */

void
leaks_report_free(struct leaks_report *r)
{
	if (!r)
		return;
	for (uint64_t k = 0; k < r->n; k++) {
		free(r->lines[k].pattern);
		free(r->lines[k].what);
		free(r->lines[k].breakdown);
		free(r->lines[k].example);
	}
	free(r->lines);
	r->lines = NULL;
	r->n = 0;
}

/* Group gr as a report line into *l (its pattern moved, texts made).
 * 0 or -1 (out of memory; l's texts freed by leaks_report_free). */
static int
line_of(const struct graph *g, const struct graph_paths *p,
	struct group *gr, struct leaks_line *l)
{
	const struct fmt_dump *d = g->d;
	struct text_buf ex = {0}, what = {0}, holds = {0};

	example_text(g, p, gr, &ex);
	held_text(d, gr, &what);
	holds_text(d, gr, &holds);
	l->pattern = gr->pattern;
	gr->pattern = NULL;
	l->example = ex.s;
	l->what = what.s;
	l->breakdown = holds.s;
	l->type = fmt_str(d, d->types[gr->vote].name);
	l->example_obj = gr->example;
	l->mixed = gr->type == GRAPH_NONE;
	l->count = gr->heads;
	l->objects = gr->objects;
	l->size = gr->size;
	l->grew = gr->grew;
	l->nholds = gr->nholds;
	for (uint32_t k = 0; k < gr->nholds; k++) {
		l->holds[k].type = fmt_str(d, d->types[gr->holds[k].type].name);
		l->holds[k].count = gr->holds[k].count;
		l->holds[k].size = gr->holds[k].size;
	}
	return ex.oom || what.oom || holds.oom || !ex.s || !what.s ||
	       !holds.s ? -1 : 0;
}

/* One line as a json object (no trailing newline). */
static void
print_line_json(const struct leaks_line *l, uint64_t addr)
{
	fputs("  {\"pattern\": ", stdout);
	tbl_json_string(stdout, l->pattern, strlen(l->pattern));
	printf(", \"count\": %" PRIu64 ", \"type\": ", l->count);
	tbl_json_string(stdout, l->type, strlen(l->type));
	printf(", \"size\": %" PRIu64 ", \"objects\": %" PRIu64
	       ", \"example\": ", l->size, l->objects);
	tbl_json_string(stdout, l->example, strlen(l->example));
	printf(", \"example_address\": \"0x%" PRIx64 "\", \"mixed\": %s"
	       ", \"what\": ", addr, l->mixed ? "true" : "false");
	tbl_json_string(stdout, l->what, strlen(l->what));
	fputs(", \"holds\": [", stdout);
	for (uint32_t k = 0; k < l->nholds; k++) {
		fputs(k ? ", {\"type\": " : "{\"type\": ", stdout);
		tbl_json_string(stdout, l->holds[k].type,
				strlen(l->holds[k].type));
		printf(", \"count\": %" PRIu64 ", \"size\": %" PRIu64 "}",
		       l->holds[k].count, l->holds[k].size);
	}
	printf("], \"breakdown\": ");
	tbl_json_string(stdout, l->breakdown, strlen(l->breakdown));
	fputs("}", stdout);
}

static void
print_report(const struct fmt_dump *d, const struct leaks_report *r,
	     enum util_format f)
{
	static const char *const header[6] = {"held by", "# objects", "type",
		"total size", "address", "example"};
	size_t widths[6];
	char count[24], size[PYM_SIZE_LEN], addr[24];

	if (f == UTIL_FORMAT_JSON)
		fputs(r->n ? "[\n" : "[]\n", stdout);
	else if (f == UTIL_FORMAT_CSV)
		fputs("pattern,count,type,size,objects,example,address,what\n",
		      stdout);
	pym_table_start(widths, 6, header);
	for (int pass = f == UTIL_FORMAT_TEXT ? 0 : 1; pass < 2; pass++) {
		if (pass == 1 && f == UTIL_FORMAT_TEXT) {
			tbl_print_row(stdout, 6, header, widths, "lrrrll");
			tbl_print_border(stdout, 6, widths);
		}
		for (uint64_t k = 0; k < r->n; k++) {
			const struct leaks_line *l = &r->lines[k];
			uint64_t a = d->obj_addr[l->example_obj];
			snprintf(count, sizeof count, "%" PRIu64, l->count);
			snprintf(addr, sizeof addr, "0x%" PRIx64, a);
			pym_size((int64_t)l->size, size);
			const char *cells[6] = {l->pattern, count, l->what,
						size, addr, l->example};
			if (f == UTIL_FORMAT_TEXT && pass == 0) {
				pym_table_measure(widths, 6, cells);
			} else if (f == UTIL_FORMAT_TEXT) {
				tbl_print_row(stdout, 6, cells, widths,
					      "lrrrll");
				printf("    holds %s\n", l->breakdown);
			} else if (f == UTIL_FORMAT_CSV) {
				tbl_csv_field(stdout, l->pattern);
				printf(",%" PRIu64 ",", l->count);
				tbl_csv_field(stdout, l->type);
				printf(",%" PRIu64 ",%" PRIu64 ",", l->size,
				       l->objects);
				tbl_csv_field(stdout, l->example);
				printf(",%s,", addr);
				tbl_csv_field(stdout, l->what);
				putchar('\n');
			} else {
				print_line_json(l, a);
				fputs(k + 1 < r->n ? ",\n" : "\n", stdout);
			}
		}
	}
	if (f == UTIL_FORMAT_JSON && r->n)
		fputs("]\n", stdout);
}

/* Groups, refines, sorts and names the leaked objects of g into *r. */
static int
analyse(const struct util_series *a, const struct graph *g,
	const struct graph_paths *p, const struct leaks_marks *m,
	struct leaks_report *r)
{
	const uint8_t *leaked = m->leaked;
	struct groups gs = {0};
	uint64_t shown;
	int rc = -1;

	if (group_all(g, p, leaked, m->run, &m->past, a->nfiles, m->bfs,
		      m->nbfs, &gs) != 0)
		goto out;
	if (refine(g->d, a->nfiles, &gs) != 0)
		goto out;
	if (add_growing_objects(g, p, &m->past, m->grow, m->ngrow, &gs) != 0)
		goto out;
	if (gs.n)  /* qsort(NULL, 0, ...) is undefined behaviour */
		qsort(gs.g, gs.n, sizeof *gs.g, group_cmp);
	shown = a->limit && a->limit < gs.n ? a->limit : gs.n;
	/* Names only for the lines shown: each may search the graph. */
	if (better_names(g, p, leaked, &gs, shown) != 0)
		goto out;
	if (shown)   /* a new name may break a tie of size and count */
		qsort(gs.g, shown, sizeof *gs.g, group_cmp);
	r->lines = calloc(shown ? shown : 1, sizeof *r->lines);
	if (!r->lines)
		goto out;
	for (r->n = 0; r->n < shown; r->n++)
		if (line_of(g, p, &gs.g[r->n], &r->lines[r->n]) != 0) {
			r->n++;
			goto out;
		}
	rc = 0;
out:
	groups_free(&gs);
	return rc;
}

/* The shapes of design note 7, needed with three dumps or more only. */
static int
shapes_alloc(struct past *p, uint64_t n, int nfiles)
{
	struct shape *s[2] = {&p->first, &p->prev};

	if (nfiles < 3)
		return 0;
	p->dumps = calloc(n + 1, sizeof *p->dumps);
	if (!p->dumps)
		return -1;
	for (int k = 0; k < 2; k++) {
		s[k]->size = malloc((n + 1) * sizeof *s[k]->size);
		s[k]->degree = calloc(n + 1, sizeof *s[k]->degree);
		if (!s[k]->size || !s[k]->degree)
			return -1;
		for (uint64_t i = 0; i < n; i++)
			s[k]->size[i] = SHAPE_NONE;
	}
	return 0;
}

static void
shapes_free(struct past *p)
{
	free(p->prev.size);
	free(p->prev.degree);
	free(p->first.size);
	free(p->first.degree);
	free(p->dumps);
}

void
leaks_marks_free(struct leaks_marks *m)
{
	if (!m)
		return;
	free(m->run);
	shapes_free(&m->past);
	free(m->leaked);
	free(m->bfs);
	free(m->grow);
	free(m);
}

/* The objects' addresses and types, mixed: what tells that a dump read
 * again is the one the marks were made for. */
static uint64_t
dump_print(const struct fmt_dump *d)
{
	uint64_t h = d->nobjects;

	for (uint64_t i = 0; i < d->nobjects; i++)
		h = (h ^ d->obj_addr[i] ^ d->obj_type[i]) * 0x100000001b3ull;
	return h;
}

int
leaks_mark(const struct util_series *a, const struct fmt_dump *last,
	   struct leaks_marks **out)
{
	struct leaks_marks *m = calloc(1, sizeof *m);
	int rc;

	*out = NULL;
	if (!m)
		return util_error("out of memory");
	m->leaked = malloc(last->nobjects + 1);
	if (a->nfiles > 2)
		m->run = malloc((last->nobjects + 1) * sizeof *m->run);
	if (!m->leaked || (a->nfiles > 2 && !m->run) ||
	    shapes_alloc(&m->past, last->nobjects, a->nfiles) != 0)
		rc = util_error("out of memory");
	else
		rc = mark_leaked(a, last, m->leaked, &m->past, m->run);
	m->nobjects = last->nobjects;
	m->print = dump_print(last);
	if (rc)
		leaks_marks_free(m);
	else
		*out = m;
	return rc;
}

int
leaks_marks_fit(const struct leaks_marks *m, const struct fmt_dump *d)
{
	return d->nobjects == m->nobjects && dump_print(d) == m->print;
}

/* Appends o to *list (room doubling).  0 or -1. */
static int
list_push(uint32_t **list, uint32_t *n, uint32_t *cap, uint32_t o)
{
	if (*n == *cap) {
		uint32_t c = *cap ? 2 * *cap : 1024;
		uint32_t *nw = realloc(*list, (size_t)c * sizeof *nw);
		if (!nw)
			return -1;
		*list = nw;
		*cap = c;
	}
	(*list)[(*n)++] = o;
	return 0;
}

int
leaks_prepare(const struct util_series *a, struct leaks_marks *m,
	      const struct graph *g, const struct graph_paths *p)
{
	uint32_t nbfs = 0, capg = 0;

	if (m->prepared)
		return 0;
	if (adopt_reused(g, p, m->leaked) != 0)
		return util_error("out of memory");
	for (uint32_t k = 0; k < p->nreached; k++)  /* room, exactly */
		nbfs += m->leaked[p->order[k]] != 0;
	m->bfs = malloc(((size_t)nbfs + 1) * sizeof *m->bfs);
	if (!m->bfs)
		return util_error("out of memory");
	for (uint32_t k = 0; k < p->nreached; k++) {
		uint32_t o = p->order[k];
		if (m->leaked[o])
			m->bfs[m->nbfs++] = o;
		else if (a->nfiles >= 3 &&
			 grows_alone(g->d, m->leaked, &m->past, a->nfiles, o) &&
			 list_push(&m->grow, &m->ngrow, &capg, o) != 0)
			return util_error("out of memory");
	}
	m->prepared = 1;
	return 0;
}

int
leaks_find(const struct util_series *a, struct leaks_marks *m,
	   const struct graph *g, const struct graph_paths *p,
	   struct leaks_report *r)
{
	int rc;

	r->lines = NULL;
	r->n = 0;
	if ((rc = leaks_prepare(a, m, g, p)))
		return rc;
	if (analyse(a, g, p, m, r) != 0) {
		leaks_report_free(r);
		return util_error("out of memory");
	}
	return 0;
}

/*
 * Design note 3, in memory: the earlier dumps are matched against Dn's
 * addresses and types alone (12 bytes per object), then Dn is read whole;
 * its graph has no referrer index (better_names gathers what it needs)
 * and what the analysis is done with goes as soon as it is: the
 * refcounts once the flags are set, the BFS order once leaks_prepare has
 * picked the leaked objects out of it.
 */
static int
leaks_print(const struct util_series *a, struct leaks_marks *m)
{
	const char *path = a->files[a->nfiles - 1];
	struct fmt_dump last;
	struct graph g;
	struct graph_paths p = {0};
	struct leaks_report r = {0};
	int rc = graph_read_dump(path, &last);

	if (rc)
		return rc;
	if (!leaks_marks_fit(m, &last)) {
		fmt_dump_free(&last);
		return util_error("%s changed while it was read", path);
	}
	if (graph_build_with(&g, &last, GRAPH_BUILD_NO_DEGREES) != 0) {
		fmt_dump_free(&last);
		return util_error("%s: cannot index the object graph (out of "
				  "memory or inconsistent)", path);
	}
	graph_drop_counts(&last);
	if (graph_paths_compute(&g, &p) != 0) {
		rc = util_error("out of memory");
	} else if (!(rc = leaks_prepare(a, m, &g, &p))) {
			free(p.order);
		p.order = NULL;
		if (!(rc = leaks_find(a, m, &g, &p, &r)))
			print_report(&last, &r, a->format);
	}
	leaks_report_free(&r);
	graph_paths_free(&p);
	graph_free(&g);
	fmt_dump_free(&last);
	return rc;
}

int
cmd_leaks(int argc, char **argv)
{
	struct util_series a;
	struct fmt_dump match;
	struct leaks_marks *m = NULL;
	int rc;

	/* Large blocks from their own mappings, always: glibc otherwise
	 * raises its mmap threshold to each large block freed (up to 32
	 * MB), so the arrays of the dumps read and dropped before Dn is
	 * read whole come back from the heap, and their pages stay
	 * resident after free (30 MB of peak at 5M objects).  It costs a
	 * page fault per page of each new array (~10% of a read). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	a.files = malloc(((size_t)argc + 1) * sizeof *a.files);
	if (!a.files)
		return util_error("out of memory");
	a.limit = 0;
	if (!util_parse_series(argc, argv, MUPPY_USAGE_LEAKS, leaks_help,
			       LEAKS_MAX_DUMPS, "too many dumps", &a, &rc))
		goto out_files;
	rc = graph_read_match(a.files[a.nfiles - 1], &match);
	if (rc)
		goto out_files;
	rc = leaks_mark(&a, &match, &m);
	fmt_dump_free(&match);
	if (!rc)
		rc = util_finish_stdout(leaks_print(&a, m));
	leaks_marks_free(m);
out_files:
	free(a.files);
	return rc;
}
