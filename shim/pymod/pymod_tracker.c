/*
 * pymod_tracker.c - muppy.tracker.SummaryTracker: Pympler's tracker, with
 * its summaries kept as C data (pymod.h, design note 3).
 *
 * Pympler's tracker stores its summaries as Python lists and then tries
 * to subtract them from the next summary, which it cannot do exactly (its
 * first diff shows thousands of its own lists).  Here a summary is taken
 * from one heap walk, aggregated in C (pymod_summary.c) and kept in
 * malloc'd rows: nothing of the tracker's is in the heap it measures, so
 * right after creation a diff is empty, and a thousand print_diff() calls
 * leave nothing behind.  Python rows are built only for what is returned
 * to the caller, after the walk.  The tracker object itself is left out of
 * its walks (ignore_self=True, the default).
 */
#include <stdlib.h>   /* malloc, realloc, free */
#include <string.h>   /* memset */

#include "shim/pymod/pymod.h"
#include "shim/walk/walk.h"    /* walk_heap, summary mode */

struct pm_stored {
	py_object *key;                 /* owned reference */
	struct pm_summary s;
};

struct pm_tracker {
	char head[PY_HEAD_SIZE];     /* PyObject_HEAD */
	struct pm_summary s0;        /* the last summary */
	struct pm_stored *stored;    /* store_summary(key) */
	size_t nstored;
	int ignore_self;
	int ready;                   /* __init__ took the first summary */
	py_object *dict;             /* attributes (subclasses, users) */
};

/*
 * A summary of every object the walker sees except frames (like
 * summarize(get_objects())) and, if ignore_self, the tracker.  It is the
 * walker's own summary (a summary-mode walk: no edges, no object table,
 * several times cheaper than get_objects), so it is exactly what a dump
 * taken then would say.
 */
static int
tr_take(struct pm_tracker *tr, struct pm_summary *out)
{
	uintptr_t self = (uintptr_t)tr, ex[PM_MAX_EXCLUDE];
	struct walk_opts opts = { .graph = 0, .exclude = ex };
	struct walk_result res;
	struct walk_stats stats;
	int rc;

	opts.nexclude = pm_exclusions(ex, &self, tr->ignore_self ? 1 : 0);
	rc = walk_heap(&opts, NULL, &res, &stats);

	if (rc == MUPPY_EINVAL) {
		pm_err(py.PyExc_RuntimeError,
		       "muppy: the heap walker does not support this Python");
		return -1;
	}
	if (rc != 0) {
		py.PyErr_NoMemory();
		return -1;
	}
	rc = pm_summary_from_dump(&res.dump, 0, out);
	walk_result_free(&res);
	return rc;
}

static int
tr_init(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"ignore_self", NULL};
	struct pm_tracker *tr = (struct pm_tracker *)self;
	struct pm_summary s;
	int ignore = 1;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|p:SummaryTracker",
					     kwlist, &ignore))
		return -1;
	tr->ignore_self = ignore;
	if (tr_take(tr, &s) != 0)
		return -1;
	pm_summary_free(&tr->s0);
	tr->s0 = s;
	tr->ready = 1;
	return 0;
}

static void
tr_dealloc(py_object *self)
{
	struct pm_tracker *tr = (struct pm_tracker *)self;
	py_object *type = PY_TYPE(self);
	void (*tp_free)(void *) = py.PyType_GetSlot(type, PY_tp_free);

	pm_summary_free(&tr->s0);
	for (size_t i = 0; i < tr->nstored; i++) {
		pm_decref(tr->stored[i].key);
		pm_summary_free(&tr->stored[i].s);
	}
	free(tr->stored);
	pm_decref(tr->dict);
	tp_free(self);
	pm_decref(type);
}

/* Pympler's diff(summary1, summary2) into *out (C rows, swept). */
static int
tr_diff_c(struct pm_tracker *tr, py_object *s1, py_object *s2,
	  struct pm_summary *out)
{
	struct pm_summary a = {0}, b = {0};
	int rc = -1;

	if (!tr->ready) {
		pm_err(py.PyExc_RuntimeError,
		       "SummaryTracker.__init__ was not called");
		return -1;
	}
	if (s1 == py._Py_NoneStruct)
		s1 = NULL;
	if (s2 == py._Py_NoneStruct)
		s2 = NULL;
	if (s2 && !s1) {
		pm_err(py.PyExc_ValueError,
		       "You cannot provide summary2 without summary1.");
		return -1;
	}
	if (s1 && pm_summary_from_list(s1, &a) != 0)
		return -1;
	if (s2) {
		if (pm_summary_from_list(s2, &b) == 0)
			rc = pm_summary_diff(&a, &b, 1, out);
		goto out;
	}
	if (tr_take(tr, &b) != 0)
		goto out;
	rc = pm_summary_diff(s1 ? &a : &tr->s0, &b, 1, out);
	if (rc == 0) {
		/* The new summary becomes the last one. */
		pm_summary_free(&tr->s0);
		tr->s0 = b;
		memset(&b, 0, sizeof b);
	}
out:
	pm_summary_free(&a);
	pm_summary_free(&b);
	return rc;
}

/* Parses (summary1=None, summary2=None) and diffs into a Python list. */
static py_object *
tr_diff_list(py_object *self, py_object *args, py_object *kw, const char *fmt)
{
	static char *kwlist[] = {"summary1", "summary2", NULL};
	py_object *s1 = NULL, *s2 = NULL, *rows;
	struct pm_summary d;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, &s1, &s2))
		return NULL;
	if (tr_diff_c((struct pm_tracker *)self, s1, s2, &d) != 0)
		return NULL;
	rows = pm_summary_to_list(&d);
	pm_summary_free(&d);
	return rows;
}

static py_object *
tr_diff(py_object *self, py_object *args, py_object *kw)
{
	return tr_diff_list(self, args, kw, "|OO:diff");
}

static py_object *
tr_print_diff(py_object *self, py_object *args, py_object *kw)
{
	py_object *rows = tr_diff_list(self, args, kw, "|OO:print_diff"), *lim;
	int rc;

	if (!rows)
		return NULL;
	lim = py.PyLong_FromSsize_t(15);
	rc = lim ? pm_print_rows(rows, lim, "size", "descending", NULL) : -1;
	pm_decref(lim);
	pm_decref(rows);
	return rc ? NULL : pm_none();
}

static py_object *
tr_format_diff(py_object *self, py_object *args, py_object *kw)
{
	py_object *rows = tr_diff_list(self, args, kw, "|OO:format_diff"), *lim;
	py_object *lines;

	if (!rows)
		return NULL;
	lim = py.PyLong_FromSsize_t(15);
	lines = lim ? pm_format_rows(rows, lim, "size", "descending") : NULL;
	pm_decref(lim);
	pm_decref(rows);
	return lines;
}

static py_object *
tr_create_summary(py_object *self, py_object *unused)
{
	struct pm_summary s;
	py_object *rows;

	(void)unused;
	if (tr_take((struct pm_tracker *)self, &s) != 0)
		return NULL;
	rows = pm_summary_to_list(&s);
	pm_summary_free(&s);
	return rows;
}

static py_object *
tr_store_summary(py_object *self, py_object *key)
{
	struct pm_tracker *tr = (struct pm_tracker *)self;
	struct pm_summary s;
	struct pm_stored *p;
	size_t i;

	if (tr_take(tr, &s) != 0)
		return NULL;
	for (i = 0; i < tr->nstored; i++) {
		int eq = py.PyObject_RichCompareBool(tr->stored[i].key, key,
						      2 /* Py_EQ */);

		if (eq < 0) {
			pm_summary_free(&s);
			return NULL;
		}
		if (eq) {
			pm_summary_free(&tr->stored[i].s);
			tr->stored[i].s = s;
			return pm_none();
		}
	}
	p = realloc(tr->stored, (tr->nstored + 1) * sizeof *p);
	if (!p) {
		pm_summary_free(&s);
		return py.PyErr_NoMemory();
	}
	tr->stored = p;
	pm_incref(key);
	p[tr->nstored].key = key;
	p[tr->nstored].s = s;
	tr->nstored++;
	return pm_none();
}

/* tracker.summaries: {key: rows}, built fresh on each access. */
static py_object *
tr_get_summaries(py_object *self, void *closure)
{
	struct pm_tracker *tr = (struct pm_tracker *)self;
	py_object *d = py.PyDict_New();

	(void)closure;
	for (size_t i = 0; d && i < tr->nstored; i++) {
		py_object *rows = pm_summary_to_list(&tr->stored[i].s);

		if (!rows || py.PyDict_SetItem(d, tr->stored[i].key, rows)) {
			pm_decref(rows);
			pm_decref(d);
			return NULL;
		}
		pm_decref(rows);
	}
	return d;
}

static py_object *
tr_get_s0(py_object *self, void *closure)
{
	(void)closure;
	return pm_summary_to_list(&((struct pm_tracker *)self)->s0);
}

static struct py_methoddef tr_methods[] = {
	{"diff", PY_CFUNC(tr_diff), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "diff(summary1=None, summary2=None)\n--\n\n"
	 "Rows that changed since the last summary (or between the given "
	 "summaries)."},
	{"print_diff", PY_CFUNC(tr_print_diff), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "print_diff(summary1=None, summary2=None)\n--\n\nPrints diff()."},
	{"format_diff", PY_CFUNC(tr_format_diff),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "format_diff(summary1=None, summary2=None)\n--\n\n"
	 "diff() as the lines of the table."},
	{"create_summary", PY_CFUNC(tr_create_summary), PY_METH_NOARGS,
	 "create_summary()\n--\n\nA summary of the heap now."},
	{"store_summary", PY_CFUNC(tr_store_summary), PY_METH_O,
	 "store_summary(key)\n--\n\nStores a summary in self.summaries."},
	{NULL, NULL, 0, NULL}   /* Sentinel */
};

static struct py_getsetdef tr_getset[] = {
	{"summaries", tr_get_summaries, NULL,
	 "Stored summaries {key: rows} (a new dict on each access).", NULL},
	{"s0", tr_get_s0, NULL, "The last summary taken (a new list).", NULL},
	{NULL, NULL, NULL, NULL, NULL}
};

/* __dictoffset__: instances take attributes, as Pympler's do. */
static struct py_memberdef tr_members[] = {
	{"__dictoffset__", PY_T_PYSSIZET, offsetof(struct pm_tracker, dict),
	 PY_READONLY, NULL},
	{NULL, 0, 0, 0, NULL}
};

static struct py_type_slot tr_slots[] = {
	{PY_tp_members, tr_members},
	{PY_tp_new, (void *)pm_new_instance},
	{PY_tp_init, (void *)tr_init},
	{PY_tp_dealloc, (void *)tr_dealloc},
	{PY_tp_methods, tr_methods},
	{PY_tp_getset, tr_getset},
	{PY_tp_doc, "SummaryTracker(ignore_self=True)\n\n"
		    "Tracks changes between summaries of the heap; the "
		    "summaries are kept outside the heap."},
	{0, NULL}
};

static struct py_type_spec tr_spec = {
	"muppy.tracker.SummaryTracker", (int)sizeof(struct pm_tracker), 0,
	PY_TPFLAGS_DEFAULT | PY_TPFLAGS_BASETYPE, tr_slots
};

/* ---- ObjectTracker ---------------------------------------------------- */

/*
 * Pympler's ObjectTracker: the objects that exist, kept (strong
 * references, as Pympler's), and get_diff() against the last time.  The
 * objects come from one heap walk (frames left out) that skips the
 * tracker, its two lists and the ignore tuple and its members; the
 * members past the walk's exclusion slots are taken out afterwards.
 */
struct pm_otracker {
	char head[PY_HEAD_SIZE];
	py_object *o0, *o1;
	py_object *dict;
};

static py_object *
ot_objects(struct pm_otracker *t, py_object *ignore)
{
	uintptr_t ex[PM_MAX_EXCLUDE];
	size_t nex = 0;
	py_object *seq = NULL, **items = NULL, *list, *res;
	ssize_t n = 0;
	struct pm_held h;

	ex[nex++] = (uintptr_t)t;
	if (t->o0)
		ex[nex++] = (uintptr_t)t->o0;
	if (t->o1)
		ex[nex++] = (uintptr_t)t->o1;
	if (ignore) {
		ex[nex++] = (uintptr_t)ignore;
		seq = pm_fast(ignore, &items, &n);
		if (!seq)
			return NULL;
		for (ssize_t i = 0; i < n && nex < PM_MAX_EXCLUDE - 4; i++)
			ex[nex++] = (uintptr_t)items[i];
	}
	if (pm_walk_hold(&h, 0, ex, nex, NULL) != 0) {
		pm_decref(seq);
		return NULL;
	}
	list = py.PyList_New(0);
	for (size_t i = 0; list && i < h.n; i++) {
		int skip = 0;
		for (ssize_t k = 0; k < n && !skip; k++)
			skip = h.objs[i] == items[k];
		if (!skip && py.PyList_Append(list, h.objs[i]) != 0) {
			pm_decref(list);
			list = NULL;
		}
	}
	pm_held_release(&h);
	pm_decref(seq);
	res = list;
	return res;
}

static int
ot_init(py_object *self, py_object *args, py_object *kw)
{
	struct pm_otracker *t = (struct pm_otracker *)self;
	py_object *o0;

	if (PY_SIZE(args) || (kw && py.PyObject_Size(kw) > 0)) {
		pm_err(py.PyExc_TypeError, "ObjectTracker() takes no arguments");
		return -1;
	}
	o0 = ot_objects(t, NULL);
	if (!o0)
		return -1;
	pm_decref(t->o0);
	t->o0 = o0;
	return 0;
}

static py_object *
ot_get_objects(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"ignore", NULL};
	py_object *ignore = NULL;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|O:_get_objects",
					     kwlist, &ignore))
		return NULL;
	return ot_objects((struct pm_otracker *)self, ignore);
}

static py_object *
ot_diff(struct pm_otracker *t, py_object *ignore)
{
	py_object *o1 = ot_objects(t, ignore), *args, *d;

	if (!o1)
		return NULL;
	pm_decref(t->o1);
	t->o1 = o1;
	args = py.PyTuple_New(2);
	if (!args)
		return NULL;
	pm_incref(t->o0);
	pm_incref(t->o1);
	PY_TUPLE_ITEMS(args)[0] = t->o0;
	PY_TUPLE_ITEMS(args)[1] = t->o1;
	d = pm_get_diff(NULL, args, NULL);
	pm_decref(args);
	if (d) {
		pm_incref(t->o1);
		pm_decref(t->o0);
		t->o0 = t->o1;
	}
	return d;
}

static py_object *
ot_get_diff(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"ignore", NULL};
	py_object *ignore = NULL;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|O:get_diff", kwlist,
					     &ignore))
		return NULL;
	return ot_diff((struct pm_otracker *)self, ignore);
}

/* The lines of summary.format_(summary.summarize(objs)) onto lines. */
static int
ot_format_side(py_object *objs, const char *title, py_object *lines)
{
	py_object *args = py.PyTuple_New(1), *rows = NULL, *fl = NULL, *t;
	int rc = -1;

	if (!args)
		return -1;
	pm_incref(objs);
	PY_TUPLE_ITEMS(args)[0] = objs;
	t = py.PyUnicode_FromString(title);
	if (t && py.PyList_Append(lines, t) == 0 &&
	    (rows = pm_summary_summarize(NULL, args, NULL)) != NULL &&
	    (fl = pm_format_rows(rows, NULL, "size", "descending")) != NULL) {
		rc = 0;
		for (ssize_t i = 0; rc == 0 && i < PY_SIZE(fl); i++)
			rc = py.PyList_Append(lines, PY_LIST_ITEMS(fl)[i]);
	}
	pm_decref(t);
	pm_decref(fl);
	pm_decref(rows);
	pm_decref(args);
	return rc;
}

static py_object *
ot_format(struct pm_otracker *t, py_object *ignore)
{
	py_object *d = ot_diff(t, ignore), *lines = NULL;

	if (d)
		lines = py.PyList_New(0);
	if (lines && (ot_format_side(py.PyDict_GetItemString(d, "+"),
				     "Added objects:", lines) != 0 ||
		      ot_format_side(py.PyDict_GetItemString(d, "-"),
				     "Removed objects:", lines) != 0)) {
		pm_decref(lines);
		lines = NULL;
	}
	pm_decref(d);
	return lines;
}

static py_object *
ot_format_diff(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"ignore", NULL};
	py_object *ignore = NULL;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|O:format_diff", kwlist,
					     &ignore))
		return NULL;
	return ot_format((struct pm_otracker *)self, ignore);
}

static py_object *
ot_print_diff(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"ignore", NULL};
	py_object *ignore = NULL, *lines;
	int rc = 0;

	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "|O:print_diff", kwlist,
					     &ignore))
		return NULL;
	lines = ot_format((struct pm_otracker *)self, ignore);
	if (!lines)
		return NULL;
	for (ssize_t i = 0; rc == 0 && i < PY_SIZE(lines); i++) {
		py_object *tmp = NULL;
		ssize_t n;
		const char *s = pm_text(PY_LIST_ITEMS(lines)[i], &tmp, &n);

		rc = !s || pm_write(NULL, s, (size_t)n) != 0 ||
		     pm_write(NULL, "\n", 1) != 0;
		pm_decref(tmp);
	}
	pm_decref(lines);
	return rc ? NULL : pm_none();
}

/* The tracker holds every object it saw, so it is part of cycles (a
 * saved locals dict that refers to it): the gc must see through it. */
static int
ot_traverse(py_object *self, py_visitproc visit, void *arg)
{
	struct pm_otracker *t = (struct pm_otracker *)self;
	py_object *m[3] = {t->o0, t->o1, t->dict};

	for (int k = 0; k < 3; k++)
		if (m[k]) {
			int rc = visit(m[k], arg);
			if (rc)
				return rc;
		}
	return 0;
}

static int
ot_clear(py_object *self)
{
	struct pm_otracker *t = (struct pm_otracker *)self;
	py_object *m[3] = {t->o0, t->o1, t->dict};

	/* NULL first: a decref may run a collection that traverses us. */
	t->o0 = t->o1 = t->dict = NULL;
	for (int k = 0; k < 3; k++)
		pm_decref(m[k]);
	return 0;
}

static void
ot_dealloc(py_object *self)
{
	py.PyObject_GC_UnTrack(self);   /* no collection may see it dying */
	ot_clear(self);
	pm_free_instance(self);   /* PyObject_GC_Del unlinks it */
}

static struct py_methoddef ot_methods[] = {
	{"get_diff", PY_CFUNC(ot_get_diff), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "get_diff(ignore=())\n--\n\n{'+': objects new since the last "
	 "time, '-': objects gone}."},
	{"format_diff", PY_CFUNC(ot_format_diff),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "format_diff(ignore=())\n--\n\nget_diff() as summary tables."},
	{"print_diff", PY_CFUNC(ot_print_diff),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "print_diff(ignore=())\n--\n\nPrints format_diff()."},
	{"_get_objects", PY_CFUNC(ot_get_objects),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "_get_objects(ignore=())\n--\n\nThe objects that exist now."},
	{NULL, NULL, 0, NULL}
};

static struct py_memberdef ot_members[] = {
	{"o0", PY_T_OBJECT, offsetof(struct pm_otracker, o0), PY_READONLY,
	 "the objects of the last time"},
	{"o1", PY_T_OBJECT, offsetof(struct pm_otracker, o1), PY_READONLY,
	 "the objects of the last get_diff()"},
	{"__dictoffset__", PY_T_PYSSIZET, offsetof(struct pm_otracker, dict),
	 PY_READONLY, NULL},
	{NULL, 0, 0, 0, NULL}
};

static struct py_type_slot ot_slots[] = {
	{PY_tp_new, (void *)pm_new_instance},
	{PY_tp_init, (void *)ot_init},
	{PY_tp_dealloc, (void *)ot_dealloc},
	{PY_tp_traverse, (void *)ot_traverse},
	{PY_tp_clear, (void *)ot_clear},
	{PY_tp_methods, ot_methods},
	{PY_tp_members, ot_members},
	{PY_tp_doc, "ObjectTracker()\n\nThe objects that exist, kept, and "
		    "what changed since the last get_diff()."},
	{0, NULL}
};

static struct py_type_spec ot_spec = {
	"muppy.tracker.ObjectTracker", (int)sizeof(struct pm_otracker), 0,
	PY_TPFLAGS_DEFAULT | PY_TPFLAGS_BASETYPE | PY_TPFLAGS_HAVE_GC, ot_slots
};

static struct py_moduledef pm_tracker_def = {
	.ob_refcnt = 1,
	.m_name = "muppy.tracker",
	.m_doc = "SummaryTracker and ObjectTracker: changes in the heap.",
	.m_size = -1,
};

py_object *
pm_tracker_module(void)
{
	py_object *m = pm_module_new(&pm_tracker_def);

	if (m && (pm_add_type(m, "SummaryTracker", &tr_spec, NULL) != 0 ||
		  pm_add_type(m, "ObjectTracker", &ot_spec, NULL) != 0)) {
		pm_decref(m);
		return NULL;
	}
	return m;
}
