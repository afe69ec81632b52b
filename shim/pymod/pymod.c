/*
 * pymod.c - the built-in module `muppy` (pymod.h): registration before the
 * interpreter starts, the module and its submodules, and the functions of
 * `muppy` itself: get_objects, filter, get_referents, get_size,
 * print_summary, dump.
 *
 * Neighbours: pymod_summary.c (summary.*, names and sizes, the table text),
 * pymod_tracker.c, pymod_refbrowser.c; the CPython entry points are the one
 * binding's (shim/cpython, py.*), the walk is shim/walk, files are written
 * by the host (struct pymod_host: shim/runtime).  It never runs
 * Python-level code during a walk (pymod.h, design note 1) and creates no
 * Python object that outlives a call except the modules, their functions
 * and types.
 */
#include "shim/pymod/pymod.h"

#include <dlfcn.h>     /* dlsym, RTLD_DEFAULT */
#include <errno.h>     /* errno, ENOSYS */
#include <limits.h>    /* PATH_MAX */
#include <stdio.h>     /* snprintf, sscanf */
#include <stdlib.h>    /* malloc, realloc, free */
#include <string.h>    /* memcpy, memset, strlen */

#include "shim/cpython/pyapi.h" /* py, py_api_init */
#include "shim/walk/walk.h" /* walk_heap, walk_finish, walk_result_free */

/* The host's callbacks (pymod_register); NULL before registration. */
static const struct pymod_host *pm_host;

/* ---- small helpers ------------------------------------------------------- */

py_object *
pm_err(py_object **exc, const char *msg)
{
	py.PyErr_SetString(*exc, msg);
	return NULL;
}

py_object *
pm_fast(py_object *objects, py_object ***items, ssize_t *n)
{
	py_object *seq = py.PySequence_Fast(objects, "objects must be iterable");

	if (!seq)
		return NULL;
	*n = PY_SIZE(seq);
	/* PySequence_Fast returns an exact list or tuple (or a list). */
	*items = PY_TYPE(seq) == py.PyTuple_Type ? PY_TUPLE_ITEMS(seq) :
						     PY_LIST_ITEMS(seq);
	return seq;
}

int
pm_write(py_object *file, const char *text, size_t len)
{
	py_object *s, *name, *r;

	if (!file || file == py._Py_NoneStruct) {
		file = py.PySys_GetObject("stdout");   /* borrowed */
		if (!file || file == py._Py_NoneStruct) {
			pm_err(py.PyExc_RuntimeError, "lost sys.stdout");
			return -1;
		}
	}
	s = py.PyUnicode_FromStringAndSize(text, (ssize_t)len);
	if (!s)
		return -1;
	name = py.PyUnicode_FromString("write");
	r = name ? py.PyObject_CallMethodObjArgs(file, name, s, NULL) : NULL;
	pm_decref(name);
	pm_decref(s);
	if (!r)
		return -1;
	pm_decref(r);
	return 0;
}

/* ---- walking and holding ------------------------------------------------- */

size_t
pm_exclusions(uintptr_t *ex, const uintptr_t *extra, size_t nextra)
{
	size_t nown;
	const uintptr_t *own = pm_host ? pm_host->own_objects(&nown) : NULL;

	if (!own)   /* dumps skip these */
		nown = 0;
	if (nextra > PM_MAX_EXCLUDE)
		nextra = PM_MAX_EXCLUDE;
	if (nextra + nown > PM_MAX_EXCLUDE)
		nown = PM_MAX_EXCLUDE - nextra;
	if (nextra)
		memcpy(ex, extra, nextra * sizeof *ex);
	if (nown)
		memcpy(ex + nextra, own, nown * sizeof *ex);
	return nextra + nown;
}

void
pm_held_release(struct pm_held *h)
{
	if (!h->objs)
		return;
	for (size_t i = 0; i < h->n; i++)
		pm_decref(h->objs[i]);
	free(h->objs);
	h->objs = NULL;
	h->n = 0;
}

int
pm_walk_hold(struct pm_held *h, int frames, const uintptr_t *exclude,
	     size_t nexclude, struct walk_result *keep)
{
	struct walk_opts opts = { .graph = 1, .strings = 0 };
	struct walk_result local, *res = keep ? keep : &local;
	struct walk_stats stats;
	uintptr_t ex[PM_MAX_EXCLUDE];
	int rc;

	memset(h, 0, sizeof *h);
	memset(res, 0, sizeof *res);
	opts.exclude = ex;
	opts.nexclude = pm_exclusions(ex, exclude, nexclude);
	rc = walk_heap(&opts, NULL, res, &stats);
	if (rc == MUPPY_EINVAL) {
		pm_err(py.PyExc_RuntimeError,
		       "muppy: the heap walker does not support this Python");
		return -1;
	}
	/* obj_addr exists only once walk_finish has sorted the objects. */
	if (rc != 0 || walk_finish(res) != 0)
		goto oom;
	h->objs = malloc((res->dump.nobjects ? res->dump.nobjects : 1) *
			 sizeof *h->objs);
	if (!h->objs)
		goto oom;
	/* Design note 2: hold every object before anything may allocate. */
	for (uint64_t i = 0; i < res->dump.nobjects; i++) {
		py_object *o = (py_object *)(uintptr_t)res->dump.obj_addr[i];

		if (!frames && PY_TYPE(o) == py.PyFrame_Type)
			continue;
		pm_incref(o);
		h->objs[h->n++] = o;
	}
	if (!keep)
		walk_result_free(res);
	return 0;
oom:
	walk_result_free(res);
	py.PyErr_NoMemory();
	return -1;
}

/* ---- muppy.* ------------------------------------------------------------- */

static py_object *
mp_get_objects(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"remove_dups", "include_frames", NULL};
	int dups = 1, frames = 0;   /* a walk finds each object once */
	struct pm_held h;
	py_object *list;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|pp:get_objects",
					     kwlist, &dups, &frames))
		return NULL;
	if (pm_walk_hold(&h, frames, NULL, 0, NULL) != 0)
		return NULL;
	list = py.PyList_New((ssize_t)h.n);
	if (!list) {
		pm_held_release(&h);
		return NULL;
	}
	/* The list takes over the references (PyList_SET_ITEM). */
	memcpy(PY_LIST_ITEMS(list), h.objs, h.n * sizeof *h.objs);
	free(h.objs);
	return list;
}

/* ignore_object(obj): True for what get_objects leaves out, frames (and,
 * as Pympler's isframe() raising ReferenceError does, a dead proxy). */
static py_object *
mp_ignore_object(py_object *self, py_object *o)
{
	py_object *cls;

	(void)self;
	if (PY_TYPE(o) == py.PyFrame_Type)
		return pm_bool(1);
	cls = py.PyObject_GetAttrString(o, "__class__");
	if (!cls) {   /* a dead weakref.proxy: ReferenceError */
		py.PyErr_Clear();
		return pm_bool(1);
	}
	pm_decref(cls);
	return pm_bool(0);
}

static py_object *
mp_filter(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"objects", "Type", "min", "max", NULL};
	py_object *objects, *type = NULL, *seq, **items, *res;
	ssize_t min = -1, max = -1, n;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|Onn:filter", kwlist,
					     &objects, &type, &min, &max))
		return NULL;
	if (min > max && max > -1)
		return pm_err(py.PyExc_ValueError,
			      "minimum must be smaller than maximum");
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	res = py.PyList_New(0);
	for (ssize_t i = 0; res && i < PY_SIZE(seq); i++) {
		py_object *o = items[i];
		int keep = 1;

		pm_incref(o);   /* isinstance may run code that shrinks seq */
		if (type && type != py._Py_NoneStruct) {
			keep = py.PyObject_IsInstance(o, type);
			if (keep < 0) {
				pm_decref(o);
				pm_decref(res);
				res = NULL;
				break;
			}
		}
		if (keep && min > -1 && !(pm_sizeof(o) > min))
			keep = 0;
		if (keep && max > -1 && !(pm_sizeof(o) < max))
			keep = 0;
		if (keep && py.PyList_Append(res, o) != 0) {
			pm_decref(res);
			res = NULL;
		}
		pm_decref(o);
		items = PY_TYPE(seq) == py.PyTuple_Type ? PY_TUPLE_ITEMS(seq) :
							    PY_LIST_ITEMS(seq);
	}
	pm_decref(seq);
	return res;
}

/* An address set (open addressing) for get_referents' de-duplication. */
struct pm_addrset {
	uintptr_t *slot;
	size_t cap, n;
};

static int
pm_addrset_add(struct pm_addrset *s, uintptr_t a)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct pm_addrset g = { NULL, s->cap ? 2 * s->cap : 256, 0 };

		g.slot = calloc(g.cap, sizeof *g.slot);
		if (!g.slot)
			return -1;
		for (i = 0; i < s->cap; i++)
			if (s->slot[i])
				pm_addrset_add(&g, s->slot[i]);
		free(s->slot);
		*s = g;
	}
	for (i = (a >> 4) * 0x9e3779b97f4a7c15ull % s->cap; s->slot[i];
	     i = (i + 1) % s->cap)
		if (s->slot[i] == a)
			return 0;
	s->slot[i] = a;
	s->n++;
	return 1;
}

static int
pm_addrset_has(const struct pm_addrset *s, uintptr_t a)
{
	if (!s->cap)
		return 0;
	for (size_t i = (a >> 4) * 0x9e3779b97f4a7c15ull % s->cap; s->slot[i];
	     i = (i + 1) % s->cap)
		if (s->slot[i] == a)
			return 1;
	return 0;
}

/* _remove_duplicates(objects): a new list, each object once (by id), in
 * the order of first appearance; runs no Python code. */
static py_object *
mp_remove_duplicates(py_object *self, py_object *objects)
{
	struct pm_addrset seen = {0};
	py_object *seq, **items, *res;
	ssize_t n;

	(void)self;
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	res = py.PyList_New(0);
	for (ssize_t i = 0; res && i < n; i++) {
		int fresh = pm_addrset_add(&seen, (uintptr_t)items[i]);

		if (fresh < 0)
			py.PyErr_NoMemory();
		if (fresh < 0 || (fresh && py.PyList_Append(res, items[i]))) {
			pm_decref(res);
			res = NULL;
		}
	}
	free(seen.slot);
	pm_decref(seq);
	return res;
}

struct pm_ptrvec {
	py_object **p;
	size_t n, cap;
	struct pm_addrset seen;
	int oom;
};

static int
pm_visit_collect(py_object *o, void *arg)
{
	struct pm_ptrvec *v = arg;
	int fresh;

	if (!o || v->oom)
		return 0;
	fresh = pm_addrset_add(&v->seen, (uintptr_t)o);
	if (fresh < 0)
		v->oom = 1;
	if (fresh <= 0)
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		py_object **p = realloc(v->p, cap * sizeof *p);

		if (!p) {
			v->oom = 1;
			return 0;
		}
		v->p = p;
		v->cap = cap;
	}
	v->p[v->n++] = o;
	return 0;
}

/* gc.get_referents(o)'s test: a GC type, and tp_is_gc agrees. */
static int
pm_is_gc(py_object *o)
{
	py_object *t = PY_TYPE(o);
	int (*is_gc)(py_object *) = PY_TP_IS_GC(t);

	return (PY_TP_FLAGS(t) & PY_TPFLAGS_HAVE_GC) &&
	       PY_TP_TRAVERSE(t) && (!is_gc || is_gc(o));
}

static py_object *
mp_get_referents(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"object", "level", NULL};
	struct pm_ptrvec v = {0};
	py_object *o, *res = NULL;
	ssize_t level = 1;
	size_t from = 0;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|n:get_referents",
					     kwlist, &o, &level))
		return NULL;
	/* Level by level (breadth first): level 1 is gc.get_referents(o);
	 * each further level adds the referents of the previous one that
	 * were not seen yet.  Only tp_traverse runs: no Python code. */
	if (pm_is_gc(o))
		PY_TP_TRAVERSE(PY_TYPE(o))(o, pm_visit_collect, &v);
	for (ssize_t l = 2; l <= level && !v.oom; l++) {
		size_t to = v.n;

		for (size_t i = from; i < to; i++)
			if (pm_is_gc(v.p[i]))
				PY_TP_TRAVERSE(PY_TYPE(v.p[i]))(
					v.p[i], pm_visit_collect, &v);
		if (to == v.n)
			break;
		from = to;
	}
	if (v.oom) {
		py.PyErr_NoMemory();
		goto out;
	}
	res = py.PyList_New((ssize_t)v.n);
	if (!res)
		goto out;
	for (size_t i = 0; i < v.n; i++) {
		pm_incref(v.p[i]);
		PY_LIST_ITEMS(res)[i] = v.p[i];
	}
out:
	free(v.p);
	free(v.seen.slot);
	return res;
}

static py_object *
mp_get_size(py_object *self, py_object *objects)
{
	py_object *seq, **items;
	ssize_t n;
	int64_t total = 0;

	(void)self;
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	for (ssize_t i = 0; i < n; i++)
		total += pm_sizeof(items[i]);
	pm_decref(seq);
	return py.PyLong_FromLongLong(total);
}

/* muppy.get_diff(left, right): {'+': objects only in right, '-': only in
 * left}, by identity, each side in its own order (Pympler's result). */
py_object *
pm_get_diff(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"left", "right", NULL};
	py_object *side[2], *seq[2] = {NULL, NULL}, **items[2], *res, *l;
	struct pm_addrset set[2] = {{0}, {0}};
	ssize_t n[2];
	int ok = 0;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "OO:get_diff", kwlist,
					     &side[0], &side[1]))
		return NULL;
	res = py.PyDict_New();
	for (int s = 0; res && s < 2; s++) {
		seq[s] = pm_fast(side[s], &items[s], &n[s]);
		if (!seq[s])
			goto out;
		for (ssize_t i = 0; i < n[s]; i++)
			if (pm_addrset_add(&set[s], (uintptr_t)items[s][i]) < 0) {
				py.PyErr_NoMemory();
				goto out;
			}
	}
	for (int s = 0; res && s < 2; s++) {
		/* s = 0: '+' (right's objects not in left); 1: '-'. */
		int from = 1 - s, other = s;

		l = py.PyList_New(0);
		for (ssize_t i = 0; l && i < n[from]; i++)
			if (!pm_addrset_has(&set[other], (uintptr_t)items[from][i]) &&
			    py.PyList_Append(l, items[from][i]) != 0) {
				pm_decref(l);
				l = NULL;
			}
		if (!l || py.PyDict_SetItemString(res, s ? "-" : "+", l) != 0) {
			pm_decref(l);
			goto out;
		}
		pm_decref(l);
	}
	ok = res != NULL;
out:
	pm_decref(seq[0]);
	pm_decref(seq[1]);
	free(set[0].slot);
	free(set[1].slot);
	if (!ok) {
		pm_decref(res);
		return NULL;
	}
	return res;
}

struct pm_sized {
	int64_t size;
	size_t index;
};

static int
pm_sized_cmp(const void *pa, const void *pb)
{
	const struct pm_sized *a = pa, *b = pb;

	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;   /* stable */
}

/* muppy.sort(objects): a new list sorted by size, ascending, stable. */
static py_object *
mp_sort(py_object *self, py_object *objects)
{
	py_object *seq, **items, *res = NULL;
	struct pm_sized *v;
	ssize_t n;

	(void)self;
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	v = malloc((n ? (size_t)n : 1) * sizeof *v);
	if (!v) {
		pm_decref(seq);
		return py.PyErr_NoMemory();
	}
	for (ssize_t i = 0; i < n; i++) {
		v[i].size = pm_sizeof(items[i]);
		v[i].index = (size_t)i;
	}
	qsort(v, (size_t)n, sizeof *v, pm_sized_cmp);
	res = py.PyList_New(n);
	for (ssize_t i = 0; res && i < n; i++) {
		pm_incref(items[v[i].index]);
		PY_LIST_ITEMS(res)[i] = items[v[i].index];
	}
	free(v);
	pm_decref(seq);
	return res;
}

static py_object *
mp_print_summary(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"file", NULL};
	py_object *file = NULL, *rows;
	struct pm_held h;
	struct pm_summary s = {0};
	int rc;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|O:print_summary",
					     kwlist, &file))
		return NULL;
	if (pm_walk_hold(&h, 0, NULL, 0, NULL) != 0)
		return NULL;
	rc = pm_summarize_c(h.objs, h.n, &s);
	pm_held_release(&h);
	if (rc != 0)
		return NULL;
	rows = pm_summary_to_list(&s);
	pm_summary_free(&s);
	if (!rows)
		return NULL;
	rc = pm_print_rows(rows, NULL, "size", "descending", file);
	pm_decref(rows);
	return rc ? NULL : pm_none();
}

int
pm_dump_now(const char *trigger, const char *path, char *out, size_t n)
{
	return pm_host ? pm_host->dump_now(trigger, path, out, n) : -ENOSYS;
}

py_object *
pm_new_instance(py_object *type, py_object *args, py_object *kw)
{
	(void)args;
	(void)kw;
	/* Zeroed, and holds a reference to its heap type. */
	return py.PyType_GenericAlloc(type, 0);
}

void
pm_free_instance(py_object *self)
{
	py_object *type = PY_TYPE(self);
	void (*tp_free)(void *) = py.PyType_GetSlot(type, PY_tp_free);

	tp_free(self);
	pm_decref(type);
}

static py_object *
mp_dump(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"path", NULL};
	const char *path = NULL;
	char out[PATH_MAX + 1];
	int rc;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|z:dump", kwlist,
					     &path))
		return NULL;
	out[0] = '\0';
	rc = pm_dump_now("api", path, out, sizeof out);
	if (rc == -ENOSYS)
		return pm_err(py.PyExc_RuntimeError, "muppy.dump: the shim "
			      "cannot take snapshots in this process");
	if (rc != 0) {
		/* OSError(errno, strerror, path): FileExistsError etc. */
		errno = -rc;
		return path ? py.PyErr_SetFromErrnoWithFilename(
				      *py.PyExc_OSError, path) :
			      py.PyErr_SetFromErrnoWithFilename(
				      *py.PyExc_OSError, NULL);
	}
	return py.PyUnicode_FromString(out);
}

static struct py_methoddef pm_muppy_methods[] = {
	{"get_objects", PY_CFUNC(mp_get_objects),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "get_objects(remove_dups=True, include_frames=False)\n--\n\n"
	 "Every object the heap walker sees, each once (frames only if "
	 "asked)."},
	{"_remove_duplicates", PY_CFUNC(mp_remove_duplicates), PY_METH_O,
	 "_remove_duplicates(objects)\n--\n\n"
	 "objects without repeats (by id), in their first order."},
	{"ignore_object", PY_CFUNC(mp_ignore_object), PY_METH_O,
	 "ignore_object(obj)\n--\n\n"
	 "True for objects get_objects leaves out (frames)."},
	{"filter", PY_CFUNC(mp_filter), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "filter(objects, Type=None, min=-1, max=-1)\n--\n\n"
	 "Objects that are instances of Type, larger than min and smaller "
	 "than max bytes."},
	{"get_referents", PY_CFUNC(mp_get_referents),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "get_referents(object, level=1)\n--\n\n"
	 "Referents of object up to level levels deep, without duplicates."},
	{"get_size", PY_CFUNC(mp_get_size), PY_METH_O,
	 "get_size(objects)\n--\n\nTotal sys.getsizeof of objects."},
	{"get_diff", PY_CFUNC(pm_get_diff), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "get_diff(left, right)\n--\n\n"
	 "{'+': objects only in right, '-': objects only in left}."},
	{"sort", PY_CFUNC(mp_sort), PY_METH_O,
	 "sort(objects)\n--\n\nA new list of objects sorted by size."},
	{"print_summary", PY_CFUNC(mp_print_summary),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "print_summary(file=None)\n--\n\nPrints a summary of all objects."},
	{"dump", PY_CFUNC(mp_dump), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "dump(path=None)\n--\n\n"
	 "Writes a heap snapshot now and returns its path."},
	{NULL, NULL, 0, NULL}   /* Sentinel */
};

/* ---- the module ------------------------------------------------------------ */

static struct py_moduledef pm_muppy_def = {
	.ob_refcnt = 1,
	.m_name = "muppy",
	.m_doc = "muppy: the seed's (Pympler's) memory profiling API, built "
		 "into the interpreter by libmuppy.so and implemented in C "
		 "on the heap walker of its dumps.  Submodules: summary, "
		 "tracker, refbrowser.",
	.m_size = -1,
	.m_methods = pm_muppy_methods,
};

py_object *
pm_module_new(struct py_moduledef *def)
{
	return py.PyModule_Create2(def, PY_API_VERSION);
}

int
pm_add_type(py_object *m, const char *name, struct py_type_spec *spec,
	    py_object **keep)
{
	py_object *t = py.PyType_FromSpec(spec);

	if (!t)
		return -1;
	if (keep) {
		pm_incref(t);
		pm_decref(*keep);
		*keep = t;
	}
	if (py.PyModule_AddObject(m, name, t) != 0) {
		pm_decref(t);
		return -1;
	}
	return 0;
}

/* Adds sub as muppy.<name> and sys.modules["muppy.<name>"]; steals sub. */
static int
pm_add_submodule(py_object *muppy, const char *name, py_object *sub)
{
	char full[64];
	py_object *modules = py.PyImport_GetModuleDict();   /* borrowed */

	if (!sub)
		return -1;
	snprintf(full, sizeof full, "muppy.%s", name);
	if (!modules || py.PyDict_SetItemString(modules, full, sub) != 0 ||
	    py.PyModule_AddObject(muppy, name, sub) != 0) {
		pm_decref(sub);
		return -1;
	}
	return 0;
}

static py_object *
pymod_init(void)
{
	py_object *m = pm_module_new(&pm_muppy_def);

	if (!m)
		return NULL;
	if (pm_add_submodule(m, "summary", pm_summary_module()) != 0 ||
	    pm_add_submodule(m, "tracker", pm_tracker_module()) != 0 ||
	    pm_add_submodule(m, "refbrowser", pm_refbrowser_module()) != 0 ||
	    pm_add_submodule(m, "refbrowser_gui",
			     pm_refbrowser_gui_module()) != 0) {
		pm_decref(m);
		return NULL;
	}
	return m;
}

int
pymod_register(const struct pymod_host *host)
{
	int (*initialized)(void);

	pm_host = host;
	*(void **)&initialized = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
	/* Everything after this relies on the one binding (py.*, py.lay)
	 * without checking again. */
	if (!initialized || initialized() || py_api_init() != 0 ||
	    py_api_module_missing())
		return -1;
	/* Fatal after initialization on 3.12+ (checked just above). */
	return py.PyImport_AppendInittab("muppy", pymod_init) == 0 ? 0 : -1;
}
