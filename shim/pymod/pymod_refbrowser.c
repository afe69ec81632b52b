/*
 * pymod_refbrowser.c - muppy.refbrowser: Pympler's ConsoleBrowser and
 * FileBrowser (trees of referrers) and their _Node, on one heap walk.
 *
 * Pympler calls gc.get_referrers once per node, which only sees gc
 * objects and must skip its own frames and lists.  Here get_tree() walks
 * the heap once (walk.c, graph mode), builds the reverse edge index in C
 * and reads the referrers of every node from it: dict keys, frame locals
 * and non-gc holders are found too, and the browser's own structures are
 * invisible (C data; the browser object is excluded from the walk, and
 * _Node/browser objects have no tp_traverse, so what they hold is not seen
 * as referred to by them).  The user's str_func runs only after the walk,
 * while every object of the walk is held (pymod.h, design notes 1-2).
 * print_tree() reproduces StreamBrowser._print's text exactly.
 */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* calloc, malloc, free */
#include <string.h>   /* memset, strlen */

#include "common/pympler.h" /* pym_tree_print */
#include "shim/pymod/pymod.h"
#include "shim/walk/walk.h"

struct pm_node {
	char head[PY_HEAD_SIZE];
	py_object *o;
	py_object *children;
	py_object *str_func;
};

struct pm_browser {
	char head[PY_HEAD_SIZE];
	py_object *root;
	py_object *str_func;
	py_object *repeat;
	py_object *stream;
	ssize_t maxdepth;
};

static py_object *pm_node_type;      /* refbrowser._Node */
static py_object *pm_cb_type;        /* refbrowser.ConsoleBrowser */
static py_object *pm_fb_type;        /* refbrowser.FileBrowser */
static py_object *pm_rb_type;        /* refbrowser.RefBrowser */
static py_object *pm_sb_type;        /* refbrowser.StreamBrowser */
static py_object *pm_default_str;    /* summary._repr as a function object */

/* ---- _Node ------------------------------------------------------------------ */

static void
node_dealloc(py_object *self)
{
	struct pm_node *n = (struct pm_node *)self;

	pm_decref(n->o);
	pm_decref(n->children);
	pm_decref(n->str_func);
	pm_free_instance(self);
}

/* A new _Node(o, str_func) with an empty children list. */
static py_object *
node_new_for(py_object *o, py_object *str_func)
{
	struct pm_node *n;
	py_object *children = py.PyList_New(0);

	if (!children)
		return NULL;
	n = (struct pm_node *)py.PyType_GenericAlloc(pm_node_type, 0);
	if (!n) {
		pm_decref(children);
		return NULL;
	}
	pm_incref(o);
	n->o = o;
	n->children = children;
	if (str_func) {
		pm_incref(str_func);
		n->str_func = str_func;
	} else {
		n->str_func = pm_none();
	}
	return (py_object *)n;
}

static py_object *
node_tp_new(py_object *type, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"o", "str_func", NULL};
	py_object *o, *str_func = NULL;

	(void)type;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|O:_Node", kwlist, &o,
					     &str_func))
		return NULL;
	return node_new_for(o, str_func);
}

/* str(node): str_func(o), or str(o) without one. */
static py_object *
node_str(py_object *self)
{
	struct pm_node *n = (struct pm_node *)self;

	if (n->str_func && n->str_func != py._Py_NoneStruct)
		return py.PyObject_CallFunctionObjArgs(n->str_func, n->o, NULL);
	return py.PyObject_Str(n->o);
}

/* copy.copy(node): a new node on the same object, str_func and children
 * list (a shallow copy, as Python's for Pympler's _Node). */
static py_object *
node_copy(py_object *self, py_object *unused)
{
	struct pm_node *n = (struct pm_node *)self, *c;

	(void)unused;
	c = (struct pm_node *)node_new_for(n->o, n->str_func);
	if (!c)
		return NULL;
	pm_decref(c->children);
	pm_incref(n->children);
	c->children = n->children;
	return (py_object *)c;
}

static struct py_methoddef node_methods[] = {
	{"__copy__", PY_CFUNC(node_copy), PY_METH_NOARGS,
	 "A shallow copy: the same object, str_func and children."},
	{NULL, NULL, 0, NULL}
};

static struct py_memberdef node_members[] = {
	{"o", PY_T_OBJECT_EX, offsetof(struct pm_node, o), 0, "the object"},
	{"children", PY_T_OBJECT_EX, offsetof(struct pm_node, children), 0,
	 "list of child nodes (referrers) and leaf strings"},
	{"str_func", PY_T_OBJECT_EX, offsetof(struct pm_node, str_func), 0,
	 "function used by str(node)"},
	{NULL, 0, 0, 0, NULL}
};

static struct py_type_slot node_slots[] = {
	{PY_tp_new, (void *)node_tp_new},
	{PY_tp_dealloc, (void *)node_dealloc},
	{PY_tp_str, (void *)node_str},
	{PY_tp_members, node_members},
	{PY_tp_methods, node_methods},
	{PY_tp_doc, "_Node(o, str_func=None): a node of a referrers tree."},
	{0, NULL}
};

static struct py_type_spec node_spec = {
	"muppy.refbrowser._Node", (int)sizeof(struct pm_node), 0,
	PY_TPFLAGS_DEFAULT, node_slots
};

/* ---- the tree ---------------------------------------------------------------- */

/*
 * One heap walk gives every referrer (reverse edges), not Pympler's one
 * gc scan per node.  The tree is built on the walk's own arrays, before
 * walk_finish (no sort by address, no dump), with automatic collection
 * off so that no object the arrays name can be freed: each object the
 * tree takes is held by its _Node from then on.  The only Python code, the
 * str_func of repeat=False's "already included" leaves, runs after the
 * tree is built and the collector is back (those objects are held by
 * their first node).
 */

/* Referrers of every object of the walk (reverse CSR over slots). */
struct pm_rindex {
	uint64_t *start;   /* n + 1 */
	uint32_t *src;
};

static void
pm_rindex_free(struct pm_rindex *r)
{
	free(r->start);
	free(r->src);
	r->start = NULL;
	r->src = NULL;
}

static int
pm_skipped(const struct walk_raw *w, uint32_t slot)
{
	return w->otype[slot] == WALK_RAW_SKIPPED;
}

static int
pm_rindex_build(const struct walk_raw *w, struct pm_rindex *r)
{
	uint64_t n = w->n, *fill;

	r->start = calloc(n + 1, sizeof *r->start);
	r->src = malloc((w->nedges ? w->nedges : 1) * sizeof *r->src);
	fill = malloc((n + 1) * sizeof *fill);
	if (!r->start || !r->src || !fill) {
		free(fill);
		pm_rindex_free(r);
		return -1;
	}
	for (size_t k = 0; k < w->nedges; k++)
		if (!pm_skipped(w, w->esrc[k]) && !pm_skipped(w, w->edst[k]))
			r->start[w->edst[k] + 1]++;
	for (uint64_t i = 0; i < n; i++)
		r->start[i + 1] += r->start[i];
	memcpy(fill, r->start, (n + 1) * sizeof *fill);
	for (size_t k = 0; k < w->nedges; k++)
		if (!pm_skipped(w, w->esrc[k]) && !pm_skipped(w, w->edst[k]))
			r->src[fill[w->edst[k]]++] = w->esrc[k];
	free(fill);
	return 0;
}

/*
 * Pympler lists referrers in gc order (gc.get_referrers walks the
 * generations' lists); so do we: each gc object's position in
 * gc.get_objects(), taken just before the walk (the list is left out of
 * it), in a map from address; objects the gc does not track (which
 * Pympler never shows) come after, by address.
 */
struct pm_gcorder {
	uintptr_t *key;    /* 0: empty */
	uint32_t *pos;
	size_t mask;
};

static void
pm_gcorder_free(struct pm_gcorder *g)
{
	free(g->key);
	free(g->pos);
	g->key = NULL;
	g->pos = NULL;
}

static size_t
pm_gcorder_slot(const struct pm_gcorder *g, uintptr_t a)
{
	size_t i = (size_t)((a >> 4) * 0x9e3779b97f4a7c15ull >> 17) & g->mask;

	while (g->key[i] && g->key[i] != a)
		i = (i + 1) & g->mask;
	return i;
}

/* From list (gc.get_objects()); -1 when out of memory (then no order). */
static int
pm_gcorder_build(struct pm_gcorder *g, py_object *list)
{
	size_t n = (size_t)PY_SIZE(list), cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	g->key = calloc(cap, sizeof *g->key);
	g->pos = malloc(cap * sizeof *g->pos);
	if (!g->key || !g->pos) {
		pm_gcorder_free(g);
		return -1;
	}
	g->mask = cap - 1;
	for (size_t k = 0; k < n; k++) {
		uintptr_t a = (uintptr_t)PY_LIST_ITEMS(list)[k];
		size_t i = pm_gcorder_slot(g, a);

		if (!g->key[i]) {
			g->key[i] = a;
			g->pos[i] = (uint32_t)k;
		}
	}
	return 0;
}

static uint32_t
pm_gcorder_of(const struct pm_gcorder *g, uint64_t a)
{
	size_t i;

	if (!g->key)
		return UINT32_MAX;
	i = pm_gcorder_slot(g, (uintptr_t)a);
	return g->key[i] ? g->pos[i] : UINT32_MAX;
}

/* gc.get_objects(), new reference, or NULL (no exception left). */
static py_object *
pm_gc_objects(void)
{
	py_object *gc = py.PyImport_ImportModule("gc"), *f, *l = NULL;

	f = gc ? py.PyObject_GetAttrString(gc, "get_objects") : NULL;
	if (f)
		l = py.PyObject_CallObject(f, NULL);
	pm_decref(f);
	pm_decref(gc);
	if (!l || PY_TYPE(l) != py.PyList_Type) {
		pm_decref(l);
		py.PyErr_Clear();
		return NULL;
	}
	return l;
}

struct pm_later {
	py_object *children;   /* borrowed: the list of a node of the tree */
	ssize_t at;
	py_object *o;          /* held by its first node */
};

struct pm_treectx {
	struct pm_browser *b;
	const struct walk_raw *w;
	const struct pm_rindex *ri;
	uint8_t *included;            /* already_included, by slot */
	int repeat;
	struct pm_later *later;       /* "already included" leaves to name */
	size_t nlater, caplater;
	const struct pm_gcorder *order;
	uint64_t *keys;               /* scratch: gc position << 32 | k */
	uint32_t *refs;               /* scratch: one node's referrers */
	size_t caprefs;
};

static const uint64_t *pm_sort_addr;

static int
pm_slot_addr_cmp(const void *pa, const void *pb)
{
	uint64_t a = pm_sort_addr[*(const uint32_t *)pa];
	uint64_t b = pm_sort_addr[*(const uint32_t *)pb];

	return (a > b) - (a < b);
}

static int
pm_u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return (a > b) - (a < b);
}

/* The referrers of slot i, each once, in gc order (note above), into
 * c->refs; their number, or -1 (out of memory). */
static int64_t
pm_referrers(struct pm_treectx *c, uint32_t i)
{
	uint64_t lo = c->ri->start[i], n = c->ri->start[i + 1] - lo, k, out;

	if (n > c->caprefs) {
		uint32_t *p = realloc(c->refs, n * sizeof *p);
		uint64_t *q = realloc(c->keys, n * sizeof *q);
		if (p)
			c->refs = p;
		if (q)
			c->keys = q;
		if (!p || !q)
			return -1;
		c->caprefs = n;
	}
	/* Address order first: the de-duplication, and the tie order. */
	memcpy(c->refs, c->ri->src + lo, n * sizeof *c->refs);
	pm_sort_addr = c->w->addr;
	qsort(c->refs, n, sizeof *c->refs, pm_slot_addr_cmp);
	for (k = 0, out = 0; k < n; k++)
		if (!out || c->refs[out - 1] != c->refs[k])
			c->refs[out++] = c->refs[k];
	for (k = 0; k < out; k++)
		c->keys[k] = (uint64_t)pm_gcorder_of(c->order,
			c->w->addr[c->refs[k]]) << 32 | k;
	qsort(c->keys, out, sizeof *c->keys, pm_u64_cmp);
	for (k = 0; k < out; k++)   /* keys keep the old index: no clash */
		c->keys[k] = c->refs[(uint32_t)c->keys[k]];
	for (k = 0; k < out; k++)
		c->refs[k] = (uint32_t)c->keys[k];
	return (int64_t)out;
}

/* Pympler's "%s (already included, id %s)". */
static py_object *
pm_already_included(struct pm_browser *b, py_object *o)
{
	py_object *s = py.PyObject_CallFunctionObjArgs(b->str_func, o, NULL);
	py_object *text = NULL, *tmp = NULL;
	const char *t;
	ssize_t n;
	struct text_buf buf = {0};
	char id[64];

	if (!s)
		return NULL;
	tmp = py.PyObject_Str(s);
	t = tmp ? py.PyUnicode_AsUTF8AndSize(tmp, &n) : NULL;
	if (t) {
		snprintf(id, sizeof id, " (already included, id %llu)",
			 (unsigned long long)(uintptr_t)o);
		text_add(&buf, t, (size_t)n);
		text_str(&buf, id);
		text = buf.oom ? py.PyErr_NoMemory() :
			       py.PyUnicode_FromStringAndSize(buf.s,
							       (ssize_t)buf.len);
	}
	text_free(&buf);
	pm_decref(tmp);
	pm_decref(s);
	return text;
}

/* A None placeholder in children, named after the tree is built. */
static int
pm_defer(struct pm_treectx *c, py_object *children, py_object *o)
{
	if (c->nlater == c->caplater) {
		size_t cap = c->caplater ? 2 * c->caplater : 64;
		struct pm_later *p = realloc(c->later, cap * sizeof *p);
		if (!p)
			return -1;
		c->later = p;
		c->caplater = cap;
	}
	if (py.PyList_Append(children, py._Py_NoneStruct) != 0)
		return -1;
	c->later[c->nlater++] = (struct pm_later){ children,
		PY_SIZE(children) - 1, o };
	return 0;
}

static int
pm_is_ours(py_object *o)
{
	/* Nodes of other trees and browsers hold objects in members the
	 * walker sees: their own structures, never referrers. */
	py_object *t = PY_TYPE(o);

	return t == pm_node_type || t == pm_cb_type || t == pm_fb_type ||
	       t == pm_rb_type || t == pm_sb_type;
}

/* Pympler's _get_tree(root, maxdepth) for slot i. */
static py_object *
pm_subtree(struct pm_treectx *c, uint32_t i, ssize_t depth)
{
	py_object *o = (py_object *)(uintptr_t)c->w->addr[i];
	py_object *node = node_new_for(o, c->b->str_func), *children;
	uint32_t *refs;
	int64_t n;

	if (!node)
		return NULL;
	c->included[i] = 1;
	if (depth == 0)
		return node;
	children = ((struct pm_node *)node)->children;
	n = pm_referrers(c, i);
	/* The recursion reuses c->refs: this level keeps its own copy. */
	refs = n > 0 ? malloc((size_t)n * sizeof *refs) : NULL;
	if (n < 0 || (n > 0 && !refs)) {
		pm_decref(node);
		return py.PyErr_NoMemory();
	}
	if (n > 0)
		memcpy(refs, c->refs, (size_t)n * sizeof *refs);
	for (int64_t k = 0; k < n; k++) {
		uint32_t s = refs[k];
		py_object *r = (py_object *)(uintptr_t)c->w->addr[s], *child;
		int rc;

		if (pm_is_ours(r))
			continue;
		if (!c->repeat && c->included[s]) {
			if (pm_defer(c, children, r) == 0)
				continue;
			py.PyErr_NoMemory();
			goto fail;
		}
		child = pm_subtree(c, s, depth - 1);
		rc = child ? py.PyList_Append(children, child) : -1;
		pm_decref(child);
		if (rc != 0)
			goto fail;
	}
	free(refs);
	return node;
fail:
	free(refs);
	pm_decref(node);
	return NULL;
}

/* Slot of object a in the walk, or -1. */
static int64_t
pm_slot_of(const struct walk_raw *w, py_object *a)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (w->addr[i] == (uint64_t)(uintptr_t)a && !pm_skipped(w, i))
			return i;
	return -1;
}

/* The deferred leaves' names; 0 or -1 (exception set). */
static int
pm_name_later(struct pm_treectx *c)
{
	for (size_t k = 0; k < c->nlater; k++) {
		py_object *s = pm_already_included(c->b, c->later[k].o), *old;
		py_object *l = c->later[k].children;

		if (!s)
			return -1;
		if (c->later[k].at >= PY_SIZE(l)) {   /* str_func changed it */
			pm_decref(s);
			continue;
		}
		old = PY_LIST_ITEMS(l)[c->later[k].at];
		PY_LIST_ITEMS(l)[c->later[k].at] = s;
		pm_decref(old);
	}
	return 0;
}

static py_object *
br_get_tree(py_object *self, py_object *unused)
{
	struct pm_browser *b = (struct pm_browser *)self;
	uintptr_t extra[2] = {(uintptr_t)self, 0}, ex[PM_MAX_EXCLUDE];
	struct walk_opts opts = { .graph = 1, .strings = 0 };
	struct walk_result wr = {0};
	struct walk_stats stats;
	struct walk_raw w;
	struct pm_rindex ri = {0};
	struct pm_treectx c = {0};
	struct pm_gcorder order = {0};
	py_object *tree = NULL, *gcl;
	int64_t root;
	int rc, gc;

	(void)unused;
	if (!b->root)
		return pm_err(py.PyExc_RuntimeError, "browser has no root");
	c.repeat = b->repeat ? py.PyObject_IsTrue(b->repeat) : 1;
	if (c.repeat < 0)
		return NULL;
	gcl = pm_gc_objects();   /* before the walk, which leaves it out */
	if (gcl && pm_gcorder_build(&order, gcl) != 0)
		pm_gcorder_free(&order);   /* address order, then */
	extra[1] = (uintptr_t)gcl;
	opts.exclude = ex;
	opts.nexclude = pm_exclusions(ex, extra, gcl ? 2 : 1);
	gc = walk_gc_off();   /* until every object taken is held */
	rc = walk_heap(&opts, NULL, &wr, &stats);
	if (rc == MUPPY_EINVAL) {
		pm_err(py.PyExc_RuntimeError,
		       "muppy: the heap walker does not support this Python");
		goto out;
	}
	if (rc != 0 || walk_raw(&wr, &w) != 0) {
		py.PyErr_NoMemory();
		goto out;
	}
	root = pm_slot_of(&w, b->root);
	if (root < 0) {
		/* Not seen by the walk (held only from C): no referrers. */
		tree = node_new_for(b->root, b->str_func);
		goto out;
	}
	c.included = calloc((size_t)w.n + 1, 1);
	if (!c.included || pm_rindex_build(&w, &ri) != 0) {
		py.PyErr_NoMemory();
		goto out;
	}
	c.b = b;
	c.w = &w;
	c.ri = &ri;
	c.order = &order;
	tree = pm_subtree(&c, (uint32_t)root, b->maxdepth);
out:
	free(c.included);
	free(c.refs);
	free(c.keys);
	pm_rindex_free(&ri);
	pm_gcorder_free(&order);
	walk_result_free(&wr);
	walk_gc_on(gc);
	pm_decref(gcl);
	if (tree && pm_name_later(&c) != 0) {
		pm_decref(tree);
		tree = NULL;
	}
	free(c.later);
	return tree;
}

/* ---- printing (StreamBrowser._print, common/pympler) ------------------------ */

static int
pr_nchildren(void *ctx, const void *node, size_t *n)
{
	py_object *o = (py_object *)node;
	ssize_t k = 0;

	(void)ctx;
	if (PY_TYPE(o) == pm_node_type)
		k = py.PyObject_Size(((struct pm_node *)o)->children);
	*n = k > 0 ? (size_t)k : 0;
	return k < 0 ? -1 : 0;
}

static int
pr_label(void *ctx, const void *node, struct text_buf *b)
{
	py_object *text = py.PyObject_Str((py_object *)node);
	const char *s;
	ssize_t n;

	(void)ctx;
	s = text ? py.PyUnicode_AsUTF8AndSize(text, &n) : NULL;
	if (s)
		text_add(b, s, (size_t)n);
	pm_decref(text);
	return s ? 0 : -1;
}

static int
pr_child(void *ctx, const void *node, size_t i, const void **child)
{
	(void)ctx;
	*child = py.PySequence_GetItem(((struct pm_node *)node)->children,
				       (ssize_t)i);
	return *child ? 0 : -1;
}

static void
pr_release(void *ctx, const void *node)
{
	(void)ctx;
	pm_decref((py_object *)node);
}

static int
pr_line(void *ctx, const char *s, size_t n)
{
	struct pm_browser *b = ctx;
	struct text_buf line = {0};
	int rc;

	text_add(&line, s, n);
	text_add(&line, "\n", 1);
	rc = line.oom ? (py.PyErr_NoMemory(), -1) :
			pm_write(b->stream, line.s, line.len);
	text_free(&line);
	return rc;
}

/* print_tree's body: tree (or a new get_tree()) to b->stream. */
static int
pm_print_tree(struct pm_browser *b, py_object *tree)
{
	const struct pym_tree ops = {
		.ctx = b, .maxdepth = b->maxdepth,
		.nchildren = pr_nchildren, .label = pr_label,
		.child = pr_child, .release = pr_release, .line = pr_line,
	};
	py_object *own = NULL;
	int rc;

	if (!tree || tree == py._Py_NoneStruct) {
		own = tree = br_get_tree((py_object *)b, NULL);
		if (!tree)
			return -1;
	}
	rc = pym_tree_print(&ops, tree);
	if (rc != 0 && !py.PyErr_Occurred())
		py.PyErr_NoMemory();   /* the drawing's own text */
	pm_decref(own);
	return rc;
}

static py_object *
br_print_tree(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"tree", NULL};
	py_object *tree = NULL;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|O:print_tree", kwlist,
					     &tree))
		return NULL;
	return pm_print_tree((struct pm_browser *)self, tree) ? NULL :
								pm_none();
}

/* FileBrowser.print_tree(filename, tree=None): the tree into a new text
 * file (Python's open(filename, 'w')). */
static py_object *
fb_print_tree(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"filename", "tree", NULL};
	struct pm_browser *b = (struct pm_browser *)self;
	py_object *filename, *tree = NULL, *io, *open, *mode, *f, *old, *r, *close;
	int rc;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|O:print_tree", kwlist,
					     &filename, &tree))
		return NULL;
	io = py.PyImport_ImportModule("io");
	open = io ? py.PyObject_GetAttrString(io, "open") : NULL;
	pm_decref(io);
	mode = py.PyUnicode_FromString("w");
	f = open && mode ? py.PyObject_CallFunctionObjArgs(open, filename,
							     mode, NULL) : NULL;
	pm_decref(open);
	pm_decref(mode);
	if (!f)
		return NULL;
	old = b->stream;
	b->stream = f;
	rc = pm_print_tree(b, tree);
	b->stream = old;
	close = py.PyUnicode_InternFromString("close");
	r = close ? py.PyObject_CallMethodObjArgs(f, close, NULL) : NULL;
	pm_decref(close);
	pm_decref(f);
	if (!r)
		return NULL;
	pm_decref(r);
	return rc ? NULL : pm_none();
}

/* ---- the browser types -------------------------------------------------------- */

static int
br_setup(py_object *self, py_object *args, py_object *kw, int console)
{
	static char *kwlist[] = {"rootobject", "maxdepth", "str_func", "repeat",
				 "stream", NULL};
	struct pm_browser *b = (struct pm_browser *)self;
	py_object *root, *str_func = NULL, *repeat = NULL, *stream = NULL;
	ssize_t maxdepth = 3;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|nOOO:RefBrowser",
					     kwlist, &root, &maxdepth,
					     &str_func, &repeat, &stream))
		return -1;
	if (!str_func)
		str_func = pm_default_str;
	if (!repeat)
		repeat = py._Py_TrueStruct;
	if ((!stream || stream == py._Py_NoneStruct) && console) {
		stream = py.PySys_GetObject("stdout");   /* borrowed */
		if (!stream)
			stream = py._Py_NoneStruct;
	}
	if (!stream)
		stream = py._Py_NoneStruct;
	pm_incref(root);
	pm_incref(str_func);
	pm_incref(repeat);
	pm_incref(stream);
	pm_decref(b->root);
	pm_decref(b->str_func);
	pm_decref(b->repeat);
	pm_decref(b->stream);
	b->root = root;
	b->str_func = str_func;
	b->repeat = repeat;
	b->stream = stream;
	b->maxdepth = maxdepth;
	return 0;
}

static int
cb_init(py_object *self, py_object *args, py_object *kw)
{
	return br_setup(self, args, kw, 1);
}

static int
fb_init(py_object *self, py_object *args, py_object *kw)
{
	return br_setup(self, args, kw, 0);
}

static void
br_dealloc(py_object *self)
{
	struct pm_browser *b = (struct pm_browser *)self;

	pm_decref(b->root);
	pm_decref(b->str_func);
	pm_decref(b->repeat);
	pm_decref(b->stream);
	pm_free_instance(self);
}

static struct py_memberdef br_members[] = {
	{"root", PY_T_OBJECT_EX, offsetof(struct pm_browser, root), 0, NULL},
	{"str_func", PY_T_OBJECT_EX, offsetof(struct pm_browser, str_func), 0,
	 NULL},
	{"repeat", PY_T_OBJECT_EX, offsetof(struct pm_browser, repeat), 0, NULL},
	{"stream", PY_T_OBJECT_EX, offsetof(struct pm_browser, stream), 0, NULL},
	{"maxdepth", PY_T_PYSSIZET, offsetof(struct pm_browser, maxdepth), 0,
	 NULL},
	{NULL, 0, 0, 0, NULL}
};

static struct py_methoddef cb_methods[] = {
	{"get_tree", PY_CFUNC(br_get_tree), PY_METH_NOARGS,
	 "get_tree()\n--\n\nA tree of _Node: the root and its referrers, "
	 "maxdepth levels deep."},
	{"print_tree", PY_CFUNC(br_print_tree), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "print_tree(tree=None)\n--\n\nPrints the referrers tree."},
	{NULL, NULL, 0, NULL}   /* Sentinel */
};

static struct py_methoddef rb_methods[] = {
	{"get_tree", PY_CFUNC(br_get_tree), PY_METH_NOARGS,
	 "get_tree()\n--\n\nA tree of _Node: the root and its referrers, "
	 "maxdepth levels deep."},
	{NULL, NULL, 0, NULL}   /* Sentinel */
};

static struct py_methoddef fb_methods[] = {
	{"get_tree", PY_CFUNC(br_get_tree), PY_METH_NOARGS,
	 "get_tree()\n--\n\nA tree of _Node: the root and its referrers, "
	 "maxdepth levels deep."},
	{"print_tree", PY_CFUNC(fb_print_tree), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "print_tree(filename, tree=None)\n--\n\n"
	 "Writes the referrers tree to a new text file."},
	{NULL, NULL, 0, NULL}   /* Sentinel */
};

#define PM_BROWSER_DOC(cls) \
	cls "(rootobject, maxdepth=3, str_func=summary._repr, repeat=True, " \
	"stream=None)\n\nReferrers of rootobject as a tree, from one heap walk."

static struct py_type_slot cb_slots[] = {
	{PY_tp_new, (void *)pm_new_instance},
	{PY_tp_init, (void *)cb_init},
	{PY_tp_dealloc, (void *)br_dealloc},
	{PY_tp_methods, cb_methods},
	{PY_tp_members, br_members},
	{PY_tp_doc, PM_BROWSER_DOC("ConsoleBrowser")},
	{0, NULL}
};

/* RefBrowser and StreamBrowser keep the stream they are given (None by
 * default), as Pympler's do; ConsoleBrowser's default is sys.stdout. */
static struct py_type_slot rb_slots[] = {
	{PY_tp_new, (void *)pm_new_instance},
	{PY_tp_init, (void *)fb_init},
	{PY_tp_dealloc, (void *)br_dealloc},
	{PY_tp_methods, rb_methods},
	{PY_tp_members, br_members},
	{PY_tp_doc, PM_BROWSER_DOC("RefBrowser")},
	{0, NULL}
};

static struct py_type_slot sb_slots[] = {
	{PY_tp_new, (void *)pm_new_instance},
	{PY_tp_init, (void *)fb_init},
	{PY_tp_dealloc, (void *)br_dealloc},
	{PY_tp_methods, cb_methods},
	{PY_tp_members, br_members},
	{PY_tp_doc, PM_BROWSER_DOC("StreamBrowser")},
	{0, NULL}
};

static struct py_type_slot fb_slots[] = {
	{PY_tp_new, (void *)pm_new_instance},
	{PY_tp_init, (void *)fb_init},
	{PY_tp_dealloc, (void *)br_dealloc},
	{PY_tp_methods, fb_methods},
	{PY_tp_members, br_members},
	{PY_tp_doc, PM_BROWSER_DOC("FileBrowser")},
	{0, NULL}
};

static struct py_type_spec cb_spec = {
	"muppy.refbrowser.ConsoleBrowser", (int)sizeof(struct pm_browser), 0,
	PY_TPFLAGS_DEFAULT, cb_slots
};
static struct py_type_spec rb_spec = {
	"muppy.refbrowser.RefBrowser", (int)sizeof(struct pm_browser), 0,
	PY_TPFLAGS_DEFAULT, rb_slots
};
static struct py_type_spec sb_spec = {
	"muppy.refbrowser.StreamBrowser", (int)sizeof(struct pm_browser), 0,
	PY_TPFLAGS_DEFAULT, sb_slots
};
static struct py_type_spec fb_spec = {
	"muppy.refbrowser.FileBrowser", (int)sizeof(struct pm_browser), 0,
	PY_TPFLAGS_DEFAULT, fb_slots
};

static py_object *
pm_default_repr(py_object *self, py_object *o)
{
	(void)self;
	return pm_repr_name(o);
}

static struct py_methoddef pm_default_str_def = {"_repr", PY_CFUNC(pm_default_repr), PY_METH_O,
	"The default str_func: summary._repr(o)."
};

static struct py_moduledef pm_refbrowser_def = {
	.ob_refcnt = 1,
	.m_name = "muppy.refbrowser",
	.m_doc = "Trees of referrers: RefBrowser, StreamBrowser, "
		 "ConsoleBrowser, FileBrowser, InteractiveBrowser.",
	.m_size = -1,
};

py_object *
pm_refbrowser_module(void)
{
	py_object *m = pm_module_new(&pm_refbrowser_def);

	if (!m)
		return NULL;
	if (!pm_default_str)
		pm_default_str = py.PyCFunction_NewEx(&pm_default_str_def, NULL,
						       NULL);
	if (!pm_default_str ||
	    pm_add_type(m, "_Node", &node_spec, &pm_node_type) != 0 ||
	    pm_add_type(m, "ConsoleBrowser", &cb_spec, &pm_cb_type) != 0 ||
	    pm_add_type(m, "FileBrowser", &fb_spec, &pm_fb_type) != 0 ||
	    pm_add_type(m, "RefBrowser", &rb_spec, &pm_rb_type) != 0 ||
	    pm_add_type(m, "StreamBrowser", &sb_spec, &pm_sb_type) != 0 ||
	    pm_add_interactive_browser(m) != 0) {
		pm_decref(m);
		return NULL;
	}
	return m;
}
