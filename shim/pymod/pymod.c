/*
 * pymod.c - the built-in module `muppy` (pymod.h): registration before the
 * interpreter starts, the CPython entry points pymod uses, the module and
 * its submodules, and the functions of `muppy` itself: get_objects, filter,
 * get_referents, get_size, print_summary, dump.
 *
 * Neighbours: pymod_summary.c (summary.*, names and sizes, the table text),
 * pymod_tracker.c, pymod_refbrowser.c; the walk itself is walk.c, files are
 * written by the host (struct pymod_host: shim.c).  It never runs Python-level code
 * during a walk (pymod.h, design note 1) and creates no Python object that
 * outlives a call except the modules, their functions and types.
 */
#include "shim/pymod/pymod.h"

#include <dlfcn.h>     /* dlsym, RTLD_DEFAULT */
#include <errno.h>     /* errno, ENOSYS */
#include <limits.h>    /* PATH_MAX */
#include <stdio.h>     /* snprintf, sscanf */
#include <stdlib.h>    /* malloc, realloc, free */
#include <string.h>    /* memcpy, memset, strlen */

#include "shim/cpython/pyapi.h" /* py_api_init */
#include "shim/walk/walk.h" /* walk_heap, walk_finish, walk_result_free */

struct pm_api pm_py;

/* The host's callbacks (pymod_register); NULL before registration. */
static const struct pymod_host *pm_host;


/* ---- the CPython entry points ------------------------------------------- */

#define PM_SYM(field, name, required) \
	{ name, offsetof(struct pm_api, field), required }

static const struct {
	const char *name;
	size_t off;
	int required;
} pm_syms[] = {
	PM_SYM(IncRef, "Py_IncRef", 1),
	PM_SYM(DecRef, "Py_DecRef", 1),
	PM_SYM(Err_Occurred, "PyErr_Occurred", 1),
	PM_SYM(Err_Clear, "PyErr_Clear", 1),
	PM_SYM(Err_SetString, "PyErr_SetString", 1),
	PM_SYM(Err_NoMemory, "PyErr_NoMemory", 1),
	PM_SYM(Err_SetFromErrnoWithFilename,
	       "PyErr_SetFromErrnoWithFilename", 1),
	PM_SYM(Exc_TypeError, "PyExc_TypeError", 1),
	PM_SYM(Exc_ValueError, "PyExc_ValueError", 1),
	PM_SYM(Exc_RuntimeError, "PyExc_RuntimeError", 1),
	PM_SYM(Exc_OSError, "PyExc_OSError", 1),
	PM_SYM(Module_Create2, "PyModule_Create2", 1),
	PM_SYM(Module_AddObject, "PyModule_AddObject", 1),
	PM_SYM(Module_GetDict, "PyModule_GetDict", 1),
	PM_SYM(Import_AppendInittab, "PyImport_AppendInittab", 1),
	PM_SYM(Import_GetModuleDict, "PyImport_GetModuleDict", 1),
	PM_SYM(Import_ImportModule, "PyImport_ImportModule", 1),
	PM_SYM(Dict_New, "PyDict_New", 1),
	PM_SYM(Dict_SetItemString, "PyDict_SetItemString", 1),
	PM_SYM(Dict_GetItemString, "PyDict_GetItemString", 1),
	PM_SYM(Dict_SetItem, "PyDict_SetItem", 1),
	PM_SYM(List_New, "PyList_New", 1),
	PM_SYM(List_Append, "PyList_Append", 1),
	PM_SYM(Sequence_Fast, "PySequence_Fast", 1),
	PM_SYM(Sequence_GetSlice, "PySequence_GetSlice", 1),
	PM_SYM(Tuple_New, "PyTuple_New", 1),
	PM_SYM(Long_FromSsize_t, "PyLong_FromSsize_t", 1),
	PM_SYM(Long_FromLongLong, "PyLong_FromLongLong", 1),
	PM_SYM(Long_AsLongLong, "PyLong_AsLongLong", 1),
	PM_SYM(Long_AsSsize_t, "PyLong_AsSsize_t", 1),
	PM_SYM(Float_AsDouble, "PyFloat_AsDouble", 1),
	PM_SYM(Unicode_FromString, "PyUnicode_FromString", 1),
	PM_SYM(Unicode_FromStringAndSize, "PyUnicode_FromStringAndSize", 1),
	PM_SYM(Unicode_AsUTF8AndSize, "PyUnicode_AsUTF8AndSize", 1),
	PM_SYM(Unicode_InternFromString, "PyUnicode_InternFromString", 1),
	PM_SYM(Object_Str, "PyObject_Str", 1),
	PM_SYM(Object_GetAttrString, "PyObject_GetAttrString", 1),
	PM_SYM(Object_SetAttrString, "PyObject_SetAttrString", 1),
	PM_SYM(Object_IsInstance, "PyObject_IsInstance", 1),
	PM_SYM(Object_IsTrue, "PyObject_IsTrue", 1),
	PM_SYM(Object_RichCompareBool, "PyObject_RichCompareBool", 1),
	PM_SYM(Object_CallFunctionObjArgs, "PyObject_CallFunctionObjArgs", 1),
	PM_SYM(Object_CallMethodObjArgs, "PyObject_CallMethodObjArgs", 1),
	PM_SYM(Object_Call, "PyObject_Call", 1),
	PM_SYM(Type_FromSpec, "PyType_FromSpec", 1),
	PM_SYM(Type_GetSlot, "PyType_GetSlot", 1),
	PM_SYM(Type_GenericAlloc, "PyType_GenericAlloc", 1),
	PM_SYM(Type_Lookup, "_PyType_Lookup", 1),
	PM_SYM(Sys_GetObject, "PySys_GetObject", 1),
	PM_SYM(Sequence_List, "PySequence_List", 1),
	PM_SYM(Number_Subtract, "PyNumber_Subtract", 1),
	PM_SYM(Number_Negative, "PyNumber_Negative", 1),
	PM_SYM(Dict_GetItem, "PyDict_GetItem", 1),
	PM_SYM(Object_GetItem, "PyObject_GetItem", 1),
	PM_SYM(Sequence_GetItem, "PySequence_GetItem", 1),
	PM_SYM(Object_Size, "PyObject_Size", 1),
	PM_SYM(CFunction_NewEx, "PyCFunction_NewEx", 1),
	PM_SYM(Arg_ParseTupleAndKeywords, "PyArg_ParseTupleAndKeywords", 1),
	PM_SYM(GetVersion, "Py_GetVersion", 1),
	PM_SYM(Frame_GetCode, "PyFrame_GetCode", 0),
	PM_SYM(Type_GetQualName, "PyType_GetQualName", 0),
	PM_SYM(None, "_Py_NoneStruct", 1),
	PM_SYM(True, "_Py_TrueStruct", 1),
	PM_SYM(False, "_Py_FalseStruct", 1),
	PM_SYM(Type_Type, "PyType_Type", 1),
	PM_SYM(BaseObject_Type, "PyBaseObject_Type", 1),
	PM_SYM(Frame_Type, "PyFrame_Type", 1),
	PM_SYM(Function_Type, "PyFunction_Type", 1),
	PM_SYM(Module_Type, "PyModule_Type", 1),
	PM_SYM(List_Type, "PyList_Type", 1),
	PM_SYM(Tuple_Type, "PyTuple_Type", 1),
	PM_SYM(Dict_Type, "PyDict_Type", 1),
	PM_SYM(Set_Type, "PySet_Type", 1),
	PM_SYM(Unicode_Type, "PyUnicode_Type", 1),
	PM_SYM(MethodDescr_Type, "PyMethodDescr_Type", 1),
};

/* Fills pm_py; returns 0, or -1 if a required symbol is missing or the
 * version is not 3.8-3.13. */
static int
pm_resolve(void)
{
	const char *v;
	int major = 0, minor = 0;

	for (size_t i = 0; i < sizeof pm_syms / sizeof pm_syms[0]; i++) {
		void *p = dlsym(RTLD_DEFAULT, pm_syms[i].name);

		if (!p && pm_syms[i].required)
			return -1;
		memcpy((char *)&pm_py + pm_syms[i].off, &p, sizeof p);
	}
	v = pm_py.GetVersion();
	if (sscanf(v, "%d.%d", &major, &minor) != 2 || major != 3 ||
	    minor < 8 || minor > 13)
		return -1;
	pm_py.minor = minor;
	return 0;
}

/* ---- small helpers ------------------------------------------------------- */

pm_obj *
pm_err(pm_obj **exc, const char *msg)
{
	pm_py.Err_SetString(*exc, msg);
	return NULL;
}

void
pm_buf_add(struct pm_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
pm_buf_str(struct pm_buf *b, const char *s)
{
	pm_buf_add(b, s, strlen(s));
}

void
pm_buf_free(struct pm_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

pm_obj *
pm_fast(pm_obj *objects, pm_obj ***items, ssize_t *n)
{
	pm_obj *seq = pm_py.Sequence_Fast(objects, "objects must be iterable");

	if (!seq)
		return NULL;
	*n = PM_SIZE(seq);
	/* PySequence_Fast returns an exact list or tuple (or a list). */
	*items = PM_TYPE(seq) == pm_py.Tuple_Type ? PM_TUPLE_ITEMS(seq) :
						     PM_LIST_ITEMS(seq);
	return seq;
}

int
pm_write(pm_obj *file, const char *text, size_t len)
{
	pm_obj *s, *name, *r;

	if (!file || file == pm_py.None) {
		file = pm_py.Sys_GetObject("stdout");   /* borrowed */
		if (!file || file == pm_py.None) {
			pm_err(pm_py.Exc_RuntimeError, "lost sys.stdout");
			return -1;
		}
	}
	s = pm_py.Unicode_FromStringAndSize(text, (ssize_t)len);
	if (!s)
		return -1;
	name = pm_py.Unicode_FromString("write");
	r = name ? pm_py.Object_CallMethodObjArgs(file, name, s, NULL) : NULL;
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
		pm_err(pm_py.Exc_RuntimeError,
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
		pm_obj *o = (pm_obj *)(uintptr_t)res->dump.obj_addr[i];

		if (!frames && PM_TYPE(o) == pm_py.Frame_Type)
			continue;
		pm_incref(o);
		h->objs[h->n++] = o;
	}
	if (!keep)
		walk_result_free(res);
	return 0;
oom:
	walk_result_free(res);
	pm_py.Err_NoMemory();
	return -1;
}

/* ---- muppy.* ------------------------------------------------------------- */

static pm_obj *
mp_get_objects(pm_obj *self, pm_obj *args, pm_obj *kw)
{
	static char *kwlist[] = {"include_frames", NULL};
	int frames = 0;
	struct pm_held h;
	pm_obj *list;

	(void)self;
	if (!pm_py.Arg_ParseTupleAndKeywords(args, kw, "|p:get_objects",
					     kwlist, &frames))
		return NULL;
	if (pm_walk_hold(&h, frames, NULL, 0, NULL) != 0)
		return NULL;
	list = pm_py.List_New((ssize_t)h.n);
	if (!list) {
		pm_held_release(&h);
		return NULL;
	}
	/* The list takes over the references (PyList_SET_ITEM). */
	memcpy(PM_LIST_ITEMS(list), h.objs, h.n * sizeof *h.objs);
	free(h.objs);
	return list;
}

static pm_obj *
mp_filter(pm_obj *self, pm_obj *args, pm_obj *kw)
{
	static char *kwlist[] = {"objects", "Type", "min", "max", NULL};
	pm_obj *objects, *type = NULL, *seq, **items, *res;
	ssize_t min = -1, max = -1, n;

	(void)self;
	if (!pm_py.Arg_ParseTupleAndKeywords(args, kw, "O|Onn:filter", kwlist,
					     &objects, &type, &min, &max))
		return NULL;
	if (min > max && max > -1)
		return pm_err(pm_py.Exc_ValueError,
			      "minimum must be smaller than maximum");
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	res = pm_py.List_New(0);
	for (ssize_t i = 0; res && i < PM_SIZE(seq); i++) {
		pm_obj *o = items[i];
		int keep = 1;

		pm_incref(o);   /* isinstance may run code that shrinks seq */
		if (type && type != pm_py.None) {
			keep = pm_py.Object_IsInstance(o, type);
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
		if (keep && pm_py.List_Append(res, o) != 0) {
			pm_decref(res);
			res = NULL;
		}
		pm_decref(o);
		items = PM_TYPE(seq) == pm_py.Tuple_Type ? PM_TUPLE_ITEMS(seq) :
							    PM_LIST_ITEMS(seq);
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

struct pm_ptrvec {
	pm_obj **p;
	size_t n, cap;
	struct pm_addrset seen;
	int oom;
};

static int
pm_visit_collect(pm_obj *o, void *arg)
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
		pm_obj **p = realloc(v->p, cap * sizeof *p);

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
pm_is_gc(pm_obj *o)
{
	pm_obj *t = PM_TYPE(o);
	int (*is_gc)(pm_obj *) = PM_TP_IS_GC(t);

	return (PM_TP_FLAGS(t) & PM_TPFLAGS_HAVE_GC) &&
	       PM_TP_TRAVERSE(t) && (!is_gc || is_gc(o));
}

static pm_obj *
mp_get_referents(pm_obj *self, pm_obj *args, pm_obj *kw)
{
	static char *kwlist[] = {"object", "level", NULL};
	struct pm_ptrvec v = {0};
	pm_obj *o, *res = NULL;
	ssize_t level = 1;
	size_t from = 0;

	(void)self;
	if (!pm_py.Arg_ParseTupleAndKeywords(args, kw, "O|n:get_referents",
					     kwlist, &o, &level))
		return NULL;
	/* Level by level (breadth first): level 1 is gc.get_referents(o);
	 * each further level adds the referents of the previous one that
	 * were not seen yet.  Only tp_traverse runs: no Python code. */
	if (pm_is_gc(o))
		PM_TP_TRAVERSE(PM_TYPE(o))(o, pm_visit_collect, &v);
	for (ssize_t l = 2; l <= level && !v.oom; l++) {
		size_t to = v.n;

		for (size_t i = from; i < to; i++)
			if (pm_is_gc(v.p[i]))
				PM_TP_TRAVERSE(PM_TYPE(v.p[i]))(
					v.p[i], pm_visit_collect, &v);
		if (to == v.n)
			break;
		from = to;
	}
	if (v.oom) {
		pm_py.Err_NoMemory();
		goto out;
	}
	res = pm_py.List_New((ssize_t)v.n);
	if (!res)
		goto out;
	for (size_t i = 0; i < v.n; i++) {
		pm_incref(v.p[i]);
		PM_LIST_ITEMS(res)[i] = v.p[i];
	}
out:
	free(v.p);
	free(v.seen.slot);
	return res;
}

static pm_obj *
mp_get_size(pm_obj *self, pm_obj *objects)
{
	pm_obj *seq, **items;
	ssize_t n;
	int64_t total = 0;

	(void)self;
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	for (ssize_t i = 0; i < n; i++)
		total += pm_sizeof(items[i]);
	pm_decref(seq);
	return pm_py.Long_FromLongLong(total);
}

/* muppy.get_diff(left, right): {'+': objects only in right, '-': only in
 * left}, by identity, each side in its own order (Pympler's result). */
static pm_obj *
mp_get_diff(pm_obj *self, pm_obj *args, pm_obj *kw)
{
	static char *kwlist[] = {"left", "right", NULL};
	pm_obj *side[2], *seq[2] = {NULL, NULL}, **items[2], *res, *l;
	struct pm_addrset set[2] = {{0}, {0}};
	ssize_t n[2];
	int ok = 0;

	(void)self;
	if (!pm_py.Arg_ParseTupleAndKeywords(args, kw, "OO:get_diff", kwlist,
					     &side[0], &side[1]))
		return NULL;
	res = pm_py.Dict_New();
	for (int s = 0; res && s < 2; s++) {
		seq[s] = pm_fast(side[s], &items[s], &n[s]);
		if (!seq[s])
			goto out;
		for (ssize_t i = 0; i < n[s]; i++)
			if (pm_addrset_add(&set[s], (uintptr_t)items[s][i]) < 0) {
				pm_py.Err_NoMemory();
				goto out;
			}
	}
	for (int s = 0; res && s < 2; s++) {
		/* s = 0: '+' (right's objects not in left); 1: '-'. */
		int from = 1 - s, other = s;

		l = pm_py.List_New(0);
		for (ssize_t i = 0; l && i < n[from]; i++)
			if (!pm_addrset_has(&set[other], (uintptr_t)items[from][i]) &&
			    pm_py.List_Append(l, items[from][i]) != 0) {
				pm_decref(l);
				l = NULL;
			}
		if (!l || pm_py.Dict_SetItemString(res, s ? "-" : "+", l) != 0) {
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
static pm_obj *
mp_sort(pm_obj *self, pm_obj *objects)
{
	pm_obj *seq, **items, *res = NULL;
	struct pm_sized *v;
	ssize_t n;

	(void)self;
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	v = malloc((n ? (size_t)n : 1) * sizeof *v);
	if (!v) {
		pm_decref(seq);
		return pm_py.Err_NoMemory();
	}
	for (ssize_t i = 0; i < n; i++) {
		v[i].size = pm_sizeof(items[i]);
		v[i].index = (size_t)i;
	}
	qsort(v, (size_t)n, sizeof *v, pm_sized_cmp);
	res = pm_py.List_New(n);
	for (ssize_t i = 0; res && i < n; i++) {
		pm_incref(items[v[i].index]);
		PM_LIST_ITEMS(res)[i] = items[v[i].index];
	}
	free(v);
	pm_decref(seq);
	return res;
}

static pm_obj *
mp_print_summary(pm_obj *self, pm_obj *args, pm_obj *kw)
{
	static char *kwlist[] = {"file", NULL};
	pm_obj *file = NULL, *rows;
	struct pm_held h;
	struct pm_summary s = {0};
	int rc;

	(void)self;
	if (!pm_py.Arg_ParseTupleAndKeywords(args, kw, "|O:print_summary",
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

static pm_obj *
mp_dump(pm_obj *self, pm_obj *args, pm_obj *kw)
{
	static char *kwlist[] = {"path", NULL};
	const char *path = NULL;
	char out[PATH_MAX + 1];
	int rc;

	(void)self;
	if (!pm_py.Arg_ParseTupleAndKeywords(args, kw, "|z:dump", kwlist,
					     &path))
		return NULL;
	out[0] = '\0';
	rc = pm_host ? pm_host->dump_now("api", path, out, sizeof out) :
		       -ENOSYS;
	if (rc == -ENOSYS)
		return pm_err(pm_py.Exc_RuntimeError, "muppy.dump: the shim "
			      "cannot take snapshots in this process");
	if (rc != 0) {
		/* OSError(errno, strerror, path): FileExistsError etc. */
		errno = -rc;
		return path ? pm_py.Err_SetFromErrnoWithFilename(
				      *pm_py.Exc_OSError, path) :
			      pm_py.Err_SetFromErrnoWithFilename(
				      *pm_py.Exc_OSError, NULL);
	}
	return pm_py.Unicode_FromString(out);
}

static struct pm_methoddef pm_muppy_methods[] = {
	{"get_objects", (void *)mp_get_objects,
	 PM_METH_VARARGS | PM_METH_KEYWORDS,
	 "get_objects(include_frames=False)\n--\n\n"
	 "Every object the heap walker sees (frames only if asked)."},
	{"filter", (void *)mp_filter, PM_METH_VARARGS | PM_METH_KEYWORDS,
	 "filter(objects, Type=None, min=-1, max=-1)\n--\n\n"
	 "Objects that are instances of Type, larger than min and smaller "
	 "than max bytes."},
	{"get_referents", (void *)mp_get_referents,
	 PM_METH_VARARGS | PM_METH_KEYWORDS,
	 "get_referents(object, level=1)\n--\n\n"
	 "Referents of object up to level levels deep, without duplicates."},
	{"get_size", (void *)mp_get_size, PM_METH_O,
	 "get_size(objects)\n--\n\nTotal sys.getsizeof of objects."},
	{"get_diff", (void *)mp_get_diff, PM_METH_VARARGS | PM_METH_KEYWORDS,
	 "get_diff(left, right)\n--\n\n"
	 "{'+': objects only in right, '-': objects only in left}."},
	{"sort", (void *)mp_sort, PM_METH_O,
	 "sort(objects)\n--\n\nA new list of objects sorted by size."},
	{"print_summary", (void *)mp_print_summary,
	 PM_METH_VARARGS | PM_METH_KEYWORDS,
	 "print_summary(file=None)\n--\n\nPrints a summary of all objects."},
	{"dump", (void *)mp_dump, PM_METH_VARARGS | PM_METH_KEYWORDS,
	 "dump(path=None)\n--\n\n"
	 "Writes a heap snapshot now and returns its path."},
	{NULL, NULL, 0, NULL}   /* Sentinel */
};

/* ---- the module ------------------------------------------------------------ */

/* PyModuleDef (with PyModuleDef_Base first): same layout on 3.8-3.13. */
struct pm_moduledef {
	ssize_t ob_refcnt;
	pm_obj *ob_type;
	pm_obj *(*m_init)(void);
	ssize_t m_index;
	pm_obj *m_copy;
	const char *m_name;
	const char *m_doc;
	ssize_t m_size;
	struct pm_methoddef *m_methods;
	void *m_slots, *m_traverse, *m_clear, *m_free;
};
#define PM_API_VERSION 1013   /* PYTHON_API_VERSION, 3.8-3.13 */

static struct pm_moduledef pm_muppy_def = {
	.ob_refcnt = 1,
	.m_name = "muppy",
	.m_doc = "muppy: the seed's (Pympler's) memory profiling API, built "
		 "into the interpreter by libmuppy.so and implemented in C "
		 "on the heap walker of its dumps.  Submodules: summary, "
		 "tracker, refbrowser.",
	.m_size = -1,
	.m_methods = pm_muppy_methods,
};

pm_obj *
pm_module_new(void *def)
{
	return pm_py.Module_Create2(def, PM_API_VERSION);
}

/* Adds sub as muppy.<name> and sys.modules["muppy.<name>"]; steals sub. */
static int
pm_add_submodule(pm_obj *muppy, const char *name, pm_obj *sub)
{
	char full[64];
	pm_obj *modules = pm_py.Import_GetModuleDict();   /* borrowed */

	if (!sub)
		return -1;
	snprintf(full, sizeof full, "muppy.%s", name);
	if (!modules || pm_py.Dict_SetItemString(modules, full, sub) != 0 ||
	    pm_py.Module_AddObject(muppy, name, sub) != 0) {
		pm_decref(sub);
		return -1;
	}
	return 0;
}

static pm_obj *
pymod_init(void)
{
	pm_obj *m = pm_module_new(&pm_muppy_def);

	if (!m)
		return NULL;
	if (pm_add_submodule(m, "summary", pm_summary_module()) != 0 ||
	    pm_add_submodule(m, "tracker", pm_tracker_module()) != 0 ||
	    pm_add_submodule(m, "refbrowser", pm_refbrowser_module()) != 0) {
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
	/* The layout (py.lay) comes from the one binding: pymod_summary.c
	 * reads it without checking again. */
	if (!initialized || initialized() || py_api_init() != 0 ||
	    pm_resolve() != 0)
		return -1;
	/* Fatal after initialization on 3.12+ (checked just above). */
	return pm_py.Import_AppendInittab("muppy", pymod_init) == 0 ? 0 : -1;
}
