/*
 * dominators.h - the dominator tree of a dump's object graph and the
 * retained size of every object: what would be freed if that object went.
 * Used by `muppy top` (tools/cmd_top.c); the graph and its reverse index
 * come from tools/graph.h.
 *
 * DESIGN NOTES
 *   1. The algorithm is SEMI-NCA (Georgiadis, Tarjan, Werneck, "Finding
 *      dominators in practice", 2006): semidominators as in Lengauer-
 *      Tarjan (TOPLAS 1979, the simple version with path compression),
 *      then each immediate dominator as the nearest tree ancestor whose
 *      preorder number is at most its semidominator's.  No buckets and
 *      idom built in place of the DFS parent: three 4-byte arrays per
 *      object fewer than Lengauer-Tarjan, and as fast on heap graphs
 *      (shallow dominator trees; the worst case is quadratic).  No
 *      recursion (an iterative DFS and an iterative compress), so a
 *      linked list of a million nodes is fine.
 *   2. The flow graph has a virtual super-root S with an edge to every
 *      root of tools/graph.h (dump roots and objects held from outside the
 *      heap).  Objects still unreached after that (garbage awaiting the
 *      cycle collector, or held by something the walk did not see) are
 *      hung off S too, so every object has a dominator: first those that
 *      nothing in the heap refers to, then the rest in address order, each
 *      only if still unreached (so one unreachable cycle gets one entry
 *      point, its first member in address order, which then retains the
 *      cycle).
 *   3. An object whose immediate dominator is S has idom DOM_SUPER: it is
 *      kept alive by more than one root, or is a root.  Retained size of an
 *      object = the sum of sys.getsizeof over its dominator subtree (itself
 *      included); the sum over S's children is the whole heap.
 *   4. Memory: 25 bytes per object while computing, then 16 per object
 *      for the result (idom, retained, order).
 */
#ifndef MUPPY_TOOLS_DOMINATORS_H
#define MUPPY_TOOLS_DOMINATORS_H

#include <stdint.h>   /* uint32_t, uint64_t */

#include "tools/graph.h"   /* struct graph */

#ifdef __cplusplus
extern "C" {
#endif

#define DOM_SUPER UINT32_MAX   /* the virtual super-root */

struct dom_tree {
	uint32_t n;          /* objects */
	uint32_t *idom;      /* per object: immediate dominator or DOM_SUPER */
	uint64_t *retained;  /* per object: bytes its dominator subtree holds */
	uint32_t *order;     /* all objects, each after its dominators (DFS
	                        preorder from S) */
};

/* Computes the dominator tree of g into *t.  Returns 0 or MUPPY_ENOMEM
 * (t then empty).  g is only read. */
int dom_compute(const struct graph *g, struct dom_tree *t);

/* Releases t's arrays and zeroes it.  NULL is a no-op. */
void dom_free(struct dom_tree *t);

/* The tree's children lists, CSR: the children of object i are
 * kid[start[i] .. start[i + 1]), the super-root's at i = n; each list
 * ascends (object order).  8 bytes per object. */
struct dom_kids {
	uint32_t *start;   /* n + 3 (n + 2 used) */
	uint32_t *kid;     /* n */
};

/* Fills *k from t.  Returns 0 or MUPPY_ENOMEM (k then empty). */
int dom_kids_build(const struct dom_tree *t, struct dom_kids *k);

/* Releases k's arrays and zeroes it. */
void dom_kids_free(struct dom_kids *k);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_DOMINATORS_H */
