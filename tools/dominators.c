/*
 * dominators.c - SEMI-NCA (Lengauer-Tarjan semidominators) over the object graph with a virtual
 * super-root (contracts and design notes in tools/dominators.h).
 *
 * Vertices are numbered by DFS preorder ("dfnum"); dfnum 0 is the
 * super-root S.  All working arrays are indexed by dfnum, as in the paper.
 */
#include <stdlib.h>   /* malloc, calloc, free */
#include <string.h>   /* memset */

#include "tools/dominators.h"

#define NIL UINT32_MAX

struct lt {
	const struct graph *g;
	uint32_t n;          /* vertices: objects + S */
	uint32_t next;       /* next dfnum to give */
	uint32_t *dfn;       /* object -> dfnum (NIL: unseen) */
	uint32_t *vertex;    /* dfnum -> object (g->n for S) */
	uint32_t *parent;    /* dfnum -> DFS parent's dfnum, then idom */
	uint32_t *semi, *label, *ancestor;
	uint32_t *idom;      /* = parent once computed (design note 1) */
	uint8_t *ssucc;      /* object has an edge from S */
};

static void
visit(struct lt *c, uint32_t obj, uint32_t parent)
{
	uint32_t k = c->next++;

	c->dfn[obj] = k;
	c->vertex[k] = obj;
	c->parent[k] = parent;
}

/* Iterative DFS from obj, an unseen successor of S.  The stack lives in
 * semi[] (objects) and label[] (edge cursors): both are free until the
 * numbering is done (number_all initializes them afterwards). */
static void
dfs_from(struct lt *c, uint32_t obj)
{
	const struct fmt_dump *d = c->g->d;
	uint32_t *node = c->semi, *cursor = c->label;
	uint32_t sp = 0;

	visit(c, obj, 0);
	node[sp] = obj;
	cursor[sp++] = 0;
	while (sp) {
		uint32_t v = node[sp - 1], cur = cursor[sp - 1];
		uint64_t b = d->edge_start[v];
		if (b + cur >= d->edge_start[v + 1]) {
			sp--;
			continue;
		}
		cursor[sp - 1] = cur + 1;
		uint32_t t = d->edge_dst[b + cur];
		if (c->dfn[t] != NIL)
			continue;
		visit(c, t, c->dfn[v]);
		node[sp] = t;
		cursor[sp++] = 0;
	}
}

static void
from_super(struct lt *c, uint32_t obj, int always)
{
	if (always)
		c->ssucc[obj] = 1;
	if (c->dfn[obj] != NIL)
		return;
	c->ssucc[obj] = 1;
	dfs_from(c, obj);
}

/* Numbers every vertex (design note 2). */
static void
number_all(struct lt *c)
{
	const struct graph *g = c->g;
	const struct fmt_dump *d = g->d;

	visit(c, g->n, NIL);  /* S: dfnum 0 */
	c->dfn[g->n] = 0;
	for (uint32_t r = 0; r < d->nroots; r++)
		from_super(c, d->roots[r].obj, 1);
	for (uint32_t i = 0; i < g->n; i++)
		if (g->flags[i] & GRAPH_F_EXTERN)
			from_super(c, i, 1);
	for (uint32_t i = 0; i < g->n; i++)
		if (graph_indegree(g, i) == 0)
			from_super(c, i, 0);
	for (uint32_t i = 0; i < g->n; i++)
		from_super(c, i, 0);
	for (uint32_t k = 0; k < c->n; k++)
		c->semi[k] = c->label[k] = k;
}

/*
 * The path compression of EVAL without recursion or a stack: walk up the
 * chain of ancestors that will be shortcut, reversing their ancestor
 * links, then walk back down restoring them, fixing label[] and
 * ancestor[] from the top down as the recursive version does.
 */
static void
compress(struct lt *c, uint32_t v)
{
	uint32_t prev = NIL, x = v, a;

	while (c->ancestor[c->ancestor[x]] != NIL) {
		uint32_t up = c->ancestor[x];
		c->ancestor[x] = prev;
		prev = x;
		x = up;
	}
	/* x: first node not shortcut; prev: the topmost one, below x. */
	for (a = x; prev != NIL; ) {
		uint32_t down = c->ancestor[prev];
		if (c->semi[c->label[a]] < c->semi[c->label[prev]])
			c->label[prev] = c->label[a];
		c->ancestor[prev] = c->ancestor[a];
		a = prev;
		prev = down;
	}
}

static uint32_t
eval(struct lt *c, uint32_t v)
{
	if (c->ancestor[v] == NIL)
		return v;
	compress(c, v);
	return c->label[v];
}

/* Semidominators by Lengauer-Tarjan's EVAL/LINK, then each immediate
 * dominator as the nearest ancestor in the dominator tree built so far
 * whose dfnum is at most the semidominator's (SEMI-NCA).  idom is built
 * in place of parent: idom[w] starts as parent[w] and only reads the
 * final idom of smaller dfnums. */
static void
semi_and_idom(struct lt *c)
{
	const struct graph *g = c->g;
	uint32_t *idom = c->parent;

	for (uint32_t w = c->n - 1; w >= 1; w--) {
		uint32_t obj = c->vertex[w];
		for (uint64_t k = g->rev_start[obj]; k < g->rev_start[obj + 1];
		     k++) {
			uint32_t u = eval(c, c->dfn[g->rev_src[k]]);
			if (c->semi[u] < c->semi[w])
				c->semi[w] = c->semi[u];
		}
		if (c->ssucc[obj])
			c->semi[w] = 0;
		c->ancestor[w] = c->parent[w];   /* LINK(parent, w) */
	}
	for (uint32_t w = 1; w < c->n; w++)
		while (idom[w] > c->semi[w])
			idom[w] = idom[idom[w]];
	c->idom = idom;
	c->parent = NULL;
}

static void
lt_free(struct lt *c)
{
	free(c->dfn);
	free(c->parent);
	free(c->semi);
	free(c->label);
	free(c->ancestor);
	free(c->ssucc);
	c->dfn = c->parent = c->semi = c->label = c->ancestor = NULL;
	c->ssucc = NULL;
}

static int
lt_alloc(struct lt *c)
{
	size_t n = c->n;

	c->dfn = malloc(n * sizeof *c->dfn);
	c->vertex = malloc(n * sizeof *c->vertex);
	c->parent = malloc(n * sizeof *c->parent);
	c->semi = malloc(n * sizeof *c->semi);
	c->label = malloc(n * sizeof *c->label);
	c->ancestor = malloc(n * sizeof *c->ancestor);
	c->ssucc = calloc(n, 1);
	if (!c->dfn || !c->vertex || !c->parent || !c->semi || !c->label ||
	    !c->ancestor || !c->ssucc)
		return -1;
	memset(c->dfn, 0xff, n * sizeof *c->dfn);
	memset(c->ancestor, 0xff, n * sizeof *c->ancestor);
	return 0;
}

/* Converts to object space and sums the retained sizes. */
static int
fill_result(struct lt *c, struct dom_tree *t)
{
	const struct fmt_dump *d = c->g->d;
	uint32_t n = c->g->n;

	t->n = n;
	t->idom = malloc(((size_t)n + 1) * sizeof *t->idom);
	t->retained = malloc(((size_t)n + 1) * sizeof *t->retained);
	if (!t->idom || !t->retained)
		return -1;
	for (uint32_t k = 1; k < c->n; k++) {
		uint32_t obj = c->vertex[k], i = c->idom[k];
		t->idom[obj] = i == 0 ? DOM_SUPER : c->vertex[i];
		t->retained[obj] = d->obj_size[obj];
	}
	for (uint32_t k = c->n - 1; k >= 1; k--) {
		uint32_t obj = c->vertex[k];
		if (t->idom[obj] != DOM_SUPER)
			t->retained[t->idom[obj]] += t->retained[obj];
	}
	/* order: the preorder without S, reusing vertex[] in place. */
	memmove(c->vertex, c->vertex + 1, (size_t)n * sizeof *c->vertex);
	t->order = c->vertex;
	c->vertex = NULL;
	return 0;
}

int
dom_compute(const struct graph *g, struct dom_tree *t)
{
	struct lt c;

	memset(t, 0, sizeof *t);
	memset(&c, 0, sizeof c);
	c.g = g;
	c.n = g->n + 1;
	if (lt_alloc(&c) != 0)
		goto fail;
	number_all(&c);
	semi_and_idom(&c);
	lt_free(&c);
	if (fill_result(&c, t) != 0)
		goto fail;
	free(c.idom);
	return 0;
fail:
	lt_free(&c);
	free(c.vertex);
	free(c.idom);
	dom_free(t);
	return MUPPY_ENOMEM;
}

void
dom_free(struct dom_tree *t)
{
	if (!t)
		return;
	free(t->idom);
	free(t->retained);
	free(t->order);
	memset(t, 0, sizeof *t);
}

/* ---- children lists ---------------------------------------------------- */

int
dom_kids_build(const struct dom_tree *t, struct dom_kids *k)
{
	uint32_t n = t->n;

	k->start = calloc((size_t)n + 3, sizeof *k->start);
	k->kid = malloc((n ? n : 1) * sizeof *k->kid);
	if (!k->start || !k->kid) {
		dom_kids_free(k);
		return MUPPY_ENOMEM;
	}
	/* Counted one slot ahead, summed, then filled: start[p + 1] ends as
	 * the end of p's list, which is start[p + 2]'s begin. */
	for (uint32_t i = 0; i < n; i++)
		k->start[(t->idom[i] == DOM_SUPER ? n : t->idom[i]) + 2]++;
	for (uint32_t i = 0; i <= n; i++)
		k->start[i + 2] += k->start[i + 1];
	for (uint32_t i = 0; i < n; i++)
		k->kid[k->start[(t->idom[i] == DOM_SUPER ? n : t->idom[i]) +
				1]++] = i;
	return 0;
}

void
dom_kids_free(struct dom_kids *k)
{
	free(k->start);
	free(k->kid);
	k->start = k->kid = NULL;
}
