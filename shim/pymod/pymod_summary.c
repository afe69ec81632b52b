/*
 * pymod_summary.c - muppy.summary: Pympler 1.1's summary rows, computed in
 * C (names, sys.getsizeof), its diff, and its table text exactly
 * (summary.format_/print_, stringutils.pp); see pympler-formats.md.
 *
 * It owns: row names (Pympler's _repr at verbosity 1: `function (NAME)`,
 * `frame (codename: NAME)`, `module(NAME)`, else str(type) stripped),
 * sizes the walker's way (sys.getsizeof without running a Python-level
 * __sizeof__: pymod.h), the C aggregation shared with the tracker, and the
 * Python functions of the submodule.  It does not walk the heap (pymod.c).
 * The offline tool prints the same table from tools/table.c; the shim
 * cannot link tools/, so the text is produced here again and both are
 * tested against the same literal text.
 *
 * DESIGN NOTES
 *   1. Aggregation runs no Python-level code and caches per call only:
 *      types (kind, row, __sizeof__ entry) and function-name objects, keyed
 *      by address, valid because the objects summarized hold them alive.
 *   2. Rows keep Pympler's first-seen order; rows are merged by name, as
 *      Pympler's dict keyed by the name string does.
 */
#include <stdio.h>     /* snprintf */
#include <stdlib.h>    /* malloc, calloc, realloc, free */
#include <string.h>    /* memcmp, strcmp, strlen, strchr, strrchr */

#include "common/pympler.h" /* pym_size, pym_table_row_n */
#include "format/dump.h"  /* struct fmt_dump, fmt_str */
#include "shim/cpython/pyapi.h"     /* py.lay.ht_qualname: the walker's offsets */
#include "shim/pymod/pymod.h"

static py_object *pm_str_sizeof;   /* interned "__sizeof__" */

/* ---- sizes ----------------------------------------------------------------- */

/* The C function behind type t's __sizeof__, or NULL when the size is
 * object.__sizeof__'s formula (also used for a Python-level override, as
 * the walker does: it cannot run Python code). */
static py_cfunction
pm_sizeof_fn(py_object *t)
{
	py_object *d, *base;
	const struct py_methoddef *def;

	if (!pm_str_sizeof)
		pm_str_sizeof = py.PyUnicode_InternFromString("__sizeof__");
	if (!pm_str_sizeof) {
		py.PyErr_Clear();
		return NULL;
	}
	d = py._PyType_Lookup(t, pm_str_sizeof);
	base = py._PyType_Lookup(py.PyBaseObject_Type, pm_str_sizeof);
	if (!d || d == base || PY_TYPE(d) != py.PyMethodDescr_Type)
		return NULL;
	/* PyMethodDescrObject: PyDescrObject (head, d_type, d_name,
	 * d_qualname) then d_method, at 40 on 3.8-3.13. */
	def = PY_FIELD(const struct py_methoddef *, d, PY_OFF_DESCR_METHOD);
	if ((def->ml_flags & ~0x70) != PY_METH_NOARGS)
		return NULL;
	return def->ml_meth;
}

/* sys.getsizeof's pre-header (docs/cpython.md, "sys.getsizeof"). */
static int64_t
pm_preheader(py_object *o, py_object *t)
{
	unsigned long f = PY_TP_FLAGS(t);

	if (py.minor <= 10) {
		py_inquiry is_gc = PY_TP_IS_GC(t);

		return (f & PY_TPFLAGS_HAVE_GC) && (!is_gc || is_gc(o)) ?
		       PY_GC_HEAD_SIZE : 0;
	}
	if (py.minor >= 13 && t == py.PyType_Type &&
	    !(PY_TP_FLAGS(o) & PY_TPFLAGS_HEAPTYPE))
		return 0;   /* 3.13: static type objects get none */
	return py_preheader_size(f, py.minor);
}

static int64_t
pm_size_with(py_object *o, py_object *t, py_cfunction fn)
{
	int64_t size = -1;

	if (fn) {
		py_object *r = fn(o, NULL);

		if (r) {
			size = py.PyLong_AsLongLong(r);
			pm_decref(r);
		}
		if (size < 0) {
			py.PyErr_Clear();
			size = -1;
		}
	}
	if (size < 0) {
		/* object.__sizeof__: basicsize + ob_size * itemsize. */
		size = PY_TP_BASICSIZE(t);
		if (PY_TP_ITEMSIZE(t) > 0)
			size += PY_SIZE(o) * PY_TP_ITEMSIZE(t);
	}
	return size + pm_preheader(o, t);
}

int64_t
pm_sizeof(py_object *o)
{
	py_object *t = PY_TYPE(o);

	return pm_size_with(o, t, pm_sizeof_fn(t));
}

/* ---- names ------------------------------------------------------------------ */

/* Pympler: address.sub('', name): drops every " at 0x<hex digits>". */
static void
pm_strip_addresses(struct text_buf *b)
{
	size_t r = 0, w = 0;

	if (!b->s)
		return;
	while (r < b->len) {
		if (!strncmp(b->s + r, " at 0x", 6)) {
			size_t e = r + 6;

			while (e < b->len && ((b->s[e] >= '0' && b->s[e] <= '9') ||
					      (b->s[e] >= 'a' && b->s[e] <= 'f')))
				e++;
			if (e > r + 6) {
				r = e;
				continue;
			}
		}
		b->s[w++] = b->s[r++];
	}
	b->len = w;
	b->s[w] = '\0';
}

const char *
pm_text(py_object *o, py_object **tmp, ssize_t *len)
{
	const char *s;

	*tmp = NULL;
	if (PY_TYPE(o) != py.PyUnicode_Type) {
		*tmp = py.PyObject_Str(o);
		if (!*tmp)
			return NULL;
		o = *tmp;
	}
	s = py.PyUnicode_AsUTF8AndSize(o, len);
	if (!s)
		pm_decref(*tmp);
	return s;
}

/* str(t) the way type.__repr__ spells it, then Pympler's type_repr
 * substitution: "<class 'X'>" -> "X" if X has no white space. */
static int
pm_type_name(py_object *t, struct text_buf *b)
{
	const char *tp_name = PY_TP_NAME(t), *mod = NULL, *qual = NULL;
	py_object *modo = NULL, *qualo = NULL;
	ssize_t n;
	size_t start = b->len, i;

	if (PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE) {
		if (PY_TP_DICT(t))
			modo = py.PyDict_GetItemString(PY_TP_DICT(t),
							"__module__");
		if (modo && PY_TYPE(modo) == py.PyUnicode_Type &&
		    py.lay.ht_qualname) {
			/* ht_qualname, read as the walker does: asking for
			 * __qualname__ could run a metaclass's Python code. */
			mod = py.PyUnicode_AsUTF8AndSize(modo, &n);
			qualo = PY_FIELD(py_object *, t, py.lay.ht_qualname);
			if (qualo && PY_TYPE(qualo) == py.PyUnicode_Type)
				qual = py.PyUnicode_AsUTF8AndSize(qualo, &n);
			if (!mod || !qual) {
				py.PyErr_Clear();
				mod = qual = NULL;
			}
		}
	}
	text_str(b, "<class '");
	if (mod && strcmp(mod, "builtins")) {
		text_str(b, mod);
		text_str(b, ".");
		text_str(b, qual);
	} else {
		text_str(b, tp_name);
	}
	text_str(b, "'>");
	if (b->oom)
		return -1;
	/* type_repr regex: ^<(type|class) '(\S+)'>$ */
	for (i = start + 8; i < b->len - 2; i++)
		if (strchr(" \t\n\r\f\v", b->s[i]))
			return 0;
	if (b->len - start <= 10)
		return 0;
	memmove(b->s + start, b->s + start + 8, b->len - start - 10);
	b->len -= 10;
	b->s[b->len] = '\0';
	return 0;
}

/* A frame's code name (new reference) or NULL. */
static py_object *
pm_frame_codename(py_object *f)
{
	py_object *code, *name;

	if (py.PyFrame_GetCode) {
		code = py.PyFrame_GetCode(f);   /* new reference, 3.9+ */
	} else {
		code = PY_FIELD(py_object *, f, py.lay.fr_code);   /* 3.8 */
		pm_incref(code);
	}
	if (!code)
		return NULL;
	name = py.PyObject_GetAttrString(code, "co_name");
	pm_decref(code);
	return name;
}

/* A module's name as Pympler gets it: __name__, else __file__, else
 * "nameless, id: N", read from the module dict so that no __getattr__
 * runs; a value that is not a str counts as missing (Pympler would call
 * its __str__: Python code). */
static int
pm_module_name(py_object *m, struct text_buf *b)
{
	py_object *d = py.PyModule_GetDict(m), *v = NULL;
	const char *s;
	ssize_t n;

	if (d)
		v = py.PyDict_GetItemString(d, "__name__");
	if ((!v || PY_TYPE(v) != py.PyUnicode_Type) && d)
		v = py.PyDict_GetItemString(d, "__file__");
	if (!v || PY_TYPE(v) != py.PyUnicode_Type) {
		char id[48];

		py.PyErr_Clear();
		snprintf(id, sizeof id, "nameless, id: %llu",
			 (unsigned long long)(uintptr_t)m);
		text_str(b, id);
		return 0;
	}
	s = py.PyUnicode_AsUTF8AndSize(v, &n);
	if (!s)
		return -1;
	text_add(b, s, (size_t)n);
	return 0;
}

enum pm_kind { PM_KIND_TYPE, PM_KIND_FUNCTION, PM_KIND_FRAME, PM_KIND_MODULE };

static enum pm_kind
pm_kind_of(py_object *t)
{
	if (t == py.PyFunction_Type)
		return PM_KIND_FUNCTION;
	if (t == py.PyFrame_Type)
		return PM_KIND_FRAME;
	if (t == py.PyModule_Type)
		return PM_KIND_MODULE;
	return PM_KIND_TYPE;
}

/* func.__name__ (borrowed): PyFunctionObject.func_name. */
static py_object *
pm_func_name(py_object *f)
{
	return PY_FIELD(py_object *, f, py.lay.fn_name);
}

/* Appends o's row name (type t, kind k) to b.  0 or -1. */
static int
pm_row_name(py_object *o, py_object *t, enum pm_kind k, struct text_buf *b)
{
	py_object *name = NULL, *tmp = NULL;
	const char *s;
	ssize_t n;
	size_t start = b->len;

	switch (k) {
	case PM_KIND_FUNCTION:
		text_str(b, "function (");
		s = pm_text(pm_func_name(o), &tmp, &n);
		if (!s)
			return -1;
		text_add(b, s, (size_t)n);
		text_str(b, ")");
		break;
	case PM_KIND_FRAME:
		name = pm_frame_codename(o);
		s = name ? pm_text(name, &tmp, &n) : NULL;
		if (!s) {
			pm_decref(name);
			return -1;
		}
		text_str(b, "frame (codename: ");
		text_add(b, s, (size_t)n);
		text_str(b, ")");
		break;
	case PM_KIND_MODULE:
		text_str(b, "module(");
		if (pm_module_name(o, b) != 0)
			return -1;
		text_str(b, ")");
		break;
	default:
		if (pm_type_name(t, b) != 0)
			return -1;
		break;
	}
	pm_decref(tmp);
	pm_decref(name);
	if (b->oom) {
		py.PyErr_NoMemory();
		return -1;
	}
	if (start == 0)
		pm_strip_addresses(b);
	return 0;
}

py_object *
pm_repr_name(py_object *o)
{
	struct text_buf b = {0};
	py_object *t = PY_TYPE(o), *r = NULL;

	if (pm_row_name(o, t, pm_kind_of(t), &b) == 0)
		r = py.PyUnicode_FromStringAndSize(b.s ? b.s : "",
						    (ssize_t)b.len);
	text_free(&b);
	return r;
}

/* ---- aggregation ------------------------------------------------------------- */

/* Address-keyed cache entry (design note 1). */
struct pm_tent {
	uintptr_t key;         /* type or function-name object; 0: free */
	int64_t row;           /* row index, -1 if not a fixed row */
	py_cfunction fn;           /* __sizeof__ (types) */
	enum pm_kind kind;
};
struct pm_ptab {
	struct pm_tent *e;
	size_t cap, n;
};

static size_t
pm_hash_ptr(uintptr_t k, size_t cap)
{
	return (size_t)(((uint64_t)k >> 4) * 0x9e3779b97f4a7c15ull >> 20) &
	       (cap - 1);
}

/* The entry for k, inserted (key set, rest zero) if absent; NULL: OOM. */
static struct pm_tent *
pm_ptab_get(struct pm_ptab *t, uintptr_t k, int *fresh)
{
	size_t i;

	if (2 * (t->n + 1) > t->cap) {
		struct pm_ptab g = { NULL, t->cap ? 2 * t->cap : 1024, 0 };

		g.e = calloc(g.cap, sizeof *g.e);
		if (!g.e)
			return NULL;
		for (i = 0; i < t->cap; i++) {
			if (t->e[i].key) {
				size_t j = pm_hash_ptr(t->e[i].key, g.cap);

				while (g.e[j].key)
					j = (j + 1) & (g.cap - 1);
				g.e[j] = t->e[i];
				g.n++;
			}
		}
		free(t->e);
		*t = g;
	}
	for (i = pm_hash_ptr(k, t->cap); t->e[i].key; i = (i + 1) & (t->cap - 1))
		if (t->e[i].key == k) {
			*fresh = 0;
			return &t->e[i];
		}
	t->e[i].key = k;
	t->n++;
	*fresh = 1;
	return &t->e[i];
}

/* Row names -> row index (string keyed, open addressing). */
struct pm_names {
	uint32_t *slot;       /* row index + 1; 0: free */
	uint64_t *hash;
	size_t cap, n;
};

static uint64_t
pm_hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int
pm_names_grow(struct pm_names *m)
{
	struct pm_names g = { NULL, NULL, m->cap ? 2 * m->cap : 256, m->n };

	g.slot = calloc(g.cap, sizeof *g.slot);
	g.hash = calloc(g.cap, sizeof *g.hash);
	if (!g.slot || !g.hash) {
		free(g.slot);
		free(g.hash);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slot[i]) {
			size_t j = m->hash[i] & (g.cap - 1);

			while (g.slot[j])
				j = (j + 1) & (g.cap - 1);
			g.slot[j] = m->slot[i];
			g.hash[j] = m->hash[i];
		}
	}
	free(m->slot);
	free(m->hash);
	*m = g;
	return 0;
}

static void
pm_names_free(struct pm_names *m)
{
	free(m->slot);
	free(m->hash);
	memset(m, 0, sizeof *m);
}

/* Index of the row named name[0..len) in s, appended (count 0) if new.
 * -1 on OOM. */
static int64_t
pm_row_for(struct pm_summary *s, struct pm_names *m, const char *name,
	   size_t len)
{
	uint64_t h = pm_hash_str(name, len);
	size_t i;
	struct pm_row *r;

	if (2 * (m->n + 1) > m->cap && pm_names_grow(m) != 0)
		return -1;
	for (i = h & (m->cap - 1); m->slot[i]; i = (i + 1) & (m->cap - 1)) {
		const char *have = s->rows[m->slot[i] - 1].name;

		if (m->hash[i] == h && !strncmp(have, name, len) &&
		    have[len] == '\0')
			return m->slot[i] - 1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct pm_row *p = realloc(s->rows, cap * sizeof *p);

		if (!p)
			return -1;
		s->rows = p;
		s->cap = cap;
	}
	r = &s->rows[s->n];
	r->name = malloc(len + 1);
	if (!r->name)
		return -1;
	memcpy(r->name, name, len);
	r->name[len] = '\0';
	r->count = r->size = 0;
	m->slot[i] = (uint32_t)++s->n;
	m->hash[i] = h;
	m->n++;
	return (int64_t)s->n - 1;
}

void
pm_summary_free(struct pm_summary *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rows[i].name);
	free(s->rows);
	memset(s, 0, sizeof *s);
}

/* The row of object o: per type, or per name object for functions. */
static int64_t
pm_row_of(py_object *o, struct pm_tent *te, struct pm_ptab *fnames,
	  struct pm_summary *s, struct pm_names *m, struct text_buf *b)
{
	struct pm_tent *ne = NULL;
	int fresh;
	int64_t row;

	if (te->kind == PM_KIND_TYPE && te->row >= 0)
		return te->row;
	if (te->kind == PM_KIND_FUNCTION) {
		ne = pm_ptab_get(fnames, (uintptr_t)pm_func_name(o), &fresh);
		if (!ne)
			return -1;
		if (!fresh)
			return ne->row;
	}
	b->len = 0;
	if (pm_row_name(o, PY_TYPE(o), te->kind, b) != 0)
		return -2;
	row = pm_row_for(s, m, b->s ? b->s : "", b->len);
	if (ne)
		ne->row = row;
	if (te->kind == PM_KIND_TYPE)
		te->row = row;
	return row;
}

int
pm_summarize_c(py_object *const *objs, size_t n, struct pm_summary *out)
{
	struct pm_ptab types = {0}, fnames = {0};
	struct pm_names names = {0};
	struct text_buf b = {0};
	struct pm_tent *last = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		py_object *o = objs[i], *t = PY_TYPE(o);
		struct pm_tent *te;
		int fresh = 0;
		int64_t row;

		/* Heaps come in runs of one type: skip the hash then. */
		if (last && last->key == (uintptr_t)t)
			te = last;
		else
			te = pm_ptab_get(&types, (uintptr_t)t, &fresh);
		if (!te)
			goto oom;
		last = te;
		if (fresh) {
			te->kind = pm_kind_of(t);
			te->row = -1;
			te->fn = pm_sizeof_fn(t);
		}
		row = pm_row_of(o, te, &fnames, out, &names, &b);
		if (row == -2)
			goto fail;
		if (row < 0)
			goto oom;
		out->rows[row].count++;
		out->rows[row].size += pm_size_with(o, t, te->fn);
	}
	rc = 0;
	goto done;
oom:
	py.PyErr_NoMemory();
fail:
	pm_summary_free(out);
done:
	free(types.e);
	free(fnames.e);
	pm_names_free(&names);
	text_free(&b);
	return rc;
}

int
pm_summary_from_dump(const struct fmt_dump *d, int frames,
		     struct pm_summary *out)
{
	static const char frame[] = "frame (codename: ";
	struct pm_names names = {0};

	memset(out, 0, sizeof *out);
	for (uint32_t i = 0; i < d->nsummary; i++) {
		const struct fmt_summary_row *w = &d->summary[i];
		const char *name = fmt_str(d, w->name);
		int64_t r;

		if (!w->count ||
		    (!frames && !strncmp(name, frame, sizeof frame - 1)))
			continue;
		/* The walker keeps a row per type; Pympler merges by name. */
		r = pm_row_for(out, &names, name, strlen(name));
		if (r < 0) {
			pm_names_free(&names);
			pm_summary_free(out);
			py.PyErr_NoMemory();
			return -1;
		}
		out->rows[r].count += (int64_t)w->count;
		out->rows[r].size += (int64_t)w->size;
	}
	pm_names_free(&names);
	return 0;
}

/* ---- C summaries <-> Python rows ------------------------------------------- */

py_object *
pm_summary_to_list(const struct pm_summary *s)
{
	py_object *list = py.PyList_New((ssize_t)s->n);

	for (size_t i = 0; list && i < s->n; i++) {
		py_object *row = py.PyList_New(3), *a, *c, *z;

		a = py.PyUnicode_FromString(s->rows[i].name);
		c = py.PyLong_FromLongLong(s->rows[i].count);
		z = py.PyLong_FromLongLong(s->rows[i].size);
		if (!row || !a || !c || !z) {
			pm_decref(row);
			pm_decref(a);
			pm_decref(c);
			pm_decref(z);
			pm_decref(list);
			return NULL;
		}
		PY_LIST_ITEMS(row)[0] = a;
		PY_LIST_ITEMS(row)[1] = c;
		PY_LIST_ITEMS(row)[2] = z;
		PY_LIST_ITEMS(list)[i] = row;
	}
	return list;
}

/* Item i of a row as long long (0 or -1 with an exception set). */
static int
pm_row_int(py_object *row, ssize_t i, int64_t *v)
{
	py_object *x = py.PySequence_GetItem(row, i);

	if (!x)
		return -1;
	*v = py.PyLong_AsLongLong(x);
	pm_decref(x);
	return *v == -1 && py.PyErr_Occurred() ? -1 : 0;
}

int
pm_summary_from_list(py_object *rows, struct pm_summary *out)
{
	struct pm_names names = {0};
	py_object *seq, **items;
	ssize_t n;
	int rc = -1;

	memset(out, 0, sizeof *out);
	seq = pm_fast(rows, &items, &n);
	if (!seq)
		return -1;
	for (ssize_t i = 0; i < n; i++) {
		py_object *row = items[i], *name, *tmp;
		const char *s;
		ssize_t len;
		int64_t r, count, size;

		name = py.PySequence_GetItem(row, 0);
		if (!name)
			goto out;
		s = pm_text(name, &tmp, &len);
		if (!s || pm_row_int(row, 1, &count) != 0 ||
		    pm_row_int(row, 2, &size) != 0) {
			pm_decref(tmp);
			pm_decref(name);
			goto out;
		}
		r = pm_row_for(out, &names, s, (size_t)len);
		pm_decref(tmp);
		pm_decref(name);
		if (r < 0) {
			py.PyErr_NoMemory();
			goto out;
		}
		/* dict((r[0], r) for r in rows): a later row replaces. */
		out->rows[r].count = count;
		out->rows[r].size = size;
	}
	rc = 0;
out:
	pm_decref(seq);
	pm_names_free(&names);
	if (rc)
		pm_summary_free(out);
	return rc;
}

int
pm_summary_diff(const struct pm_summary *left, const struct pm_summary *right,
		int sweep, struct pm_summary *out)
{
	struct pm_names names = {0};
	size_t nright;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < right->n; i++) {
		int64_t r = pm_row_for(out, &names, right->rows[i].name,
				       strlen(right->rows[i].name));

		if (r < 0)
			goto oom;
		out->rows[r].count = right->rows[i].count;
		out->rows[r].size = right->rows[i].size;
	}
	nright = out->n;
	for (size_t i = 0; i < left->n; i++) {
		int64_t r = pm_row_for(out, &names, left->rows[i].name,
				       strlen(left->rows[i].name));

		if (r < 0)
			goto oom;
		if ((size_t)r >= nright) {
			out->rows[r].count = 0;
			out->rows[r].size = 0;
		}
		out->rows[r].count -= left->rows[i].count;
		out->rows[r].size -= left->rows[i].size;
	}
	pm_names_free(&names);
	if (sweep) {
		size_t w = 0;

		for (size_t i = 0; i < out->n; i++) {
			if (out->rows[i].count || out->rows[i].size)
				out->rows[w++] = out->rows[i];
			else
				free(out->rows[i].name);
		}
		out->n = w;
	}
	return 0;
oom:
	pm_names_free(&names);
	pm_summary_free(out);
	py.PyErr_NoMemory();
	return -1;
}

/* ---- the table text ------------------------------------------------------------ */

/* stringutils.pp(value) of an int or a float into buf (PYM_SIZE_LEN). */
static int
pm_pp(py_object *v, char *buf)
{
	long long i = py.PyLong_AsLongLong(v);
	double x;

	if (i == -1 && py.PyErr_Occurred()) {
		py.PyErr_Clear();
		x = py.PyFloat_AsDouble(v);
		if (x == -1.0 && py.PyErr_Occurred())
			return -1;
		pym_size_float(x, buf);
	} else {
		pym_size(i, buf);
	}
	return 0;
}

/* One table cell: UTF-8 text (owned). */
struct pm_cell {
	char *s;
	size_t len, width;
};

static int
pm_cell_set(struct pm_cell *c, const char *s, size_t n)
{
	c->s = malloc(n + 1);
	if (!c->s) {
		py.PyErr_NoMemory();
		return -1;
	}
	memcpy(c->s, s, n);
	c->s[n] = '\0';
	c->len = n;
	c->width = text_width(s, n);
	return 0;
}

static int
pm_cell_str(struct pm_cell *c, py_object *o)
{
	py_object *tmp;
	ssize_t n;
	const char *s = pm_text(o, &tmp, &n);
	int rc;

	if (!s)
		return -1;
	rc = pm_cell_set(c, s, (size_t)n);
	pm_decref(tmp);
	return rc;
}

/* Key functions for list.sort: self is the column index (a PyLong) or
 * None for Pympler's _repr(x[0]). */
static py_object *
pm_sort_key(py_object *self, py_object *row)
{
	py_object *item;
	ssize_t col;

	if (self == py._Py_NoneStruct) {
		py_object *first = py.PySequence_GetItem(row, 0), *r;

		if (!first)
			return NULL;
		r = pm_repr_name(first);
		pm_decref(first);
		return r;
	}
	col = py.PyLong_AsSsize_t(self);
	item = py.PySequence_GetItem(row, col);
	return item;
}

static struct py_methoddef pm_sort_key_def = {"_muppy_sort_key", PY_CFUNC(pm_sort_key), PY_METH_O, NULL
};

/* localrows.sort(key=..., reverse=descending).  0 or -1. */
static int
pm_sort_rows(py_object *rows, int col, int descending)
{
	py_object *self, *key = NULL, *kw = NULL, *args = NULL, *sort = NULL,
	       *r = NULL;

	self = col < 0 ? pm_none() : py.PyLong_FromSsize_t(col);
	if (self)
		key = py.PyCFunction_NewEx(&pm_sort_key_def, self, NULL);
	kw = py.PyDict_New();
	args = py.PyTuple_New(0);
	sort = py.PyObject_GetAttrString(rows, "sort");
	if (key && kw && args && sort &&
	    py.PyDict_SetItemString(kw, "key", key) == 0 &&
	    py.PyDict_SetItemString(kw, "reverse",
				     descending ? py._Py_TrueStruct : py._Py_FalseStruct) == 0)
		r = py.PyObject_Call(sort, args, kw);
	pm_decref(self);
	pm_decref(key);
	pm_decref(kw);
	pm_decref(args);
	pm_decref(sort);
	pm_decref(r);
	return r ? 0 : -1;
}

/* Pympler's format_ up to the cells: copies, checks, sorts and limits the
 * rows.  Returns the new list of row copies or NULL. */
static py_object *
pm_prepare_rows(py_object *rows, py_object *limit, const char *sort,
		const char *order)
{
	py_object *seq, **items, *local, *cut;
	ssize_t n, lim;
	int col;

	if (!strcmp(sort, "type"))
		col = -1;
	else if (!strcmp(sort, "#"))
		col = 1;
	else if (!strcmp(sort, "size"))
		col = 2;
	else
		return pm_err(py.PyExc_ValueError, "invalid sort, should be "
			      "one of['type', '#', 'size']");
	if (strcmp(order, "ascending") && strcmp(order, "descending"))
		return pm_err(py.PyExc_ValueError, "invalid order, should be "
			      "one of['ascending', 'descending']");
	seq = pm_fast(rows, &items, &n);
	if (!seq)
		return NULL;
	local = py.PyList_New(n);
	for (ssize_t i = 0; local && i < n; i++) {
		py_object *copy = py.PySequence_List(items[i]);

		if (!copy) {
			pm_decref(local);
			local = NULL;
			break;
		}
		PY_LIST_ITEMS(local)[i] = copy;
	}
	pm_decref(seq);
	if (!local || pm_sort_rows(local, col, !strcmp(order, "descending"))) {
		pm_decref(local);
		return NULL;
	}
	if (!limit || limit == py._Py_NoneStruct)
		return local;
	lim = py.PyLong_AsSsize_t(limit);
	if (lim == -1 && py.PyErr_Occurred()) {
		pm_decref(local);
		return NULL;
	}
	/* localrows[0:limit], Python's slice semantics (negatives too). */
	cut = py.PySequence_GetSlice(local, 0, lim);
	pm_decref(local);
	return cut;
}

static void
pm_cells_free(struct pm_cell *cells, size_t n)
{
	if (!cells)
		return;
	for (size_t i = 0; i < n; i++)
		free(cells[i].s);
	free(cells);
}

/* Appends one table line (the cells of row, or the border) to lines.
 * 0 or -1. */
static int
pm_emit(py_object *lines, const struct pm_cell *row, const size_t *w)
{
	struct text_buf b = {0};
	py_object *s;
	int rc = -1;

	if (row) {
		const char *cells[3] = {row[0].s, row[1].s, row[2].s};
		const size_t lens[3] = {row[0].len, row[1].len, row[2].len};

		pym_table_row_n(&b, 3, cells, lens, w, NULL);
	} else {
		pym_table_border(&b, 3, w);
	}
	if (b.oom) {
		py.PyErr_NoMemory();
		goto out;
	}
	s = py.PyUnicode_FromStringAndSize(b.s, (ssize_t)b.len);
	if (s && py.PyList_Append(lines, s) == 0)
		rc = 0;
	pm_decref(s);
out:
	text_free(&b);
	return rc;
}

py_object *
pm_format_rows(py_object *rows, py_object *limit, const char *sort,
	       const char *order)
{
	static const char *const header[3] = {"types", "# objects",
					      "total size"};
	py_object *local, *lines = NULL;
	struct pm_cell *cells = NULL;
	size_t n, w[3] = {0, 0, 0}, ncells = 0;

	local = pm_prepare_rows(rows, limit, sort, order);
	if (!local)
		return NULL;
	n = (size_t)PY_SIZE(local) + 1;
	cells = calloc(3 * n, sizeof *cells);
	if (!cells) {
		py.PyErr_NoMemory();
		goto out;
	}
	for (int c = 0; c < 3; c++)
		if (pm_cell_set(&cells[c], header[c], strlen(header[c])))
			goto out;
	ncells = 3 * n;
	for (size_t r = 1; r < n; r++) {
		py_object *row = PY_LIST_ITEMS(local)[r - 1], *x;
		char size[PYM_SIZE_LEN];
		int rc = -1;

		if (py.PyObject_Size(row) < 3) {
			pm_err(py.PyExc_ValueError,
			       "summary rows need 3 items: [type, count, size]");
			goto out;
		}
		for (int c = 0; c < 2; c++) {
			x = py.PySequence_GetItem(row, c);
			rc = x ? pm_cell_str(&cells[3 * r + c], x) : -1;
			pm_decref(x);
			if (rc)
				goto out;
		}
		x = py.PySequence_GetItem(row, 2);
		rc = x ? pm_pp(x, size) : -1;
		pm_decref(x);
		if (rc || pm_cell_set(&cells[3 * r + 2], size, strlen(size)))
			goto out;
	}
	/* Widths: longest cell (header included) + 2 * padding. */
	for (size_t i = 0; i < 3 * n; i++)
		if (cells[i].width + 2 > w[i % 3])
			w[i % 3] = cells[i].width + 2;
	lines = py.PyList_New(0);
	if (!lines || pm_emit(lines, cells, w) || pm_emit(lines, NULL, w))
		goto fail;
	for (size_t r = 1; r < n; r++)
		if (pm_emit(lines, &cells[3 * r], w))
			goto fail;
	goto out;
fail:
	pm_decref(lines);
	lines = NULL;
out:
	pm_cells_free(cells, ncells);
	pm_decref(local);
	return lines;
}

int
pm_print_rows(py_object *rows, py_object *limit, const char *sort,
	      const char *order, py_object *file)
{
	py_object *lines = pm_format_rows(rows, limit, sort, order);
	int rc = 0;

	if (!lines)
		return -1;
	for (ssize_t i = 0; rc == 0 && i < PY_SIZE(lines); i++) {
		ssize_t n;
		const char *s = py.PyUnicode_AsUTF8AndSize(
			PY_LIST_ITEMS(lines)[i], &n);
		struct text_buf b = {0};

		if (!s) {
			rc = -1;
			break;
		}
		text_add(&b, s, (size_t)n);
		text_add(&b, "\n", 1);
		rc = b.oom ? (py.PyErr_NoMemory(), -1) :
			     pm_write(file, b.s, b.len);
		text_free(&b);
	}
	pm_decref(lines);
	return rc;
}

/* ---- summary.* --------------------------------------------------------------- */

py_object *
pm_summary_summarize(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"objects", NULL};
	py_object *objects, *seq, **items, *res = NULL;
	struct pm_summary s;
	ssize_t n;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O:summarize", kwlist,
					     &objects))
		return NULL;
	seq = pm_fast(objects, &items, &n);
	if (!seq)
		return NULL;
	/* pm_summarize_c runs no Python code and allocates no GC object:
	 * the list cannot change under it, so its items are used in place. */
	if (pm_summarize_c(items, (size_t)n, &s) == 0) {
		res = pm_summary_to_list(&s);
		pm_summary_free(&s);
	}
	pm_decref(seq);
	return res;
}

/* get_diff(left, right): right minus left per row name; rows only in
 * right are passed through, rows only in left are negated (Python number
 * arithmetic, like Pympler). */
static py_object *
sm_get_diff(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"left", "right", NULL};
	py_object *left, *right, *lk = NULL, *rk = NULL, *res = NULL, *seq;
	py_object **items;
	ssize_t n;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "OO:get_diff", kwlist,
					     &left, &right))
		return NULL;
	lk = py.PyDict_New();
	rk = py.PyDict_New();
	res = py.PyList_New(0);
	if (!lk || !rk || !res)
		goto fail;
	for (int side = 0; side < 2; side++) {
		py_object *d = side ? rk : lk;

		seq = pm_fast(side ? right : left, &items, &n);
		if (!seq)
			goto fail;
		for (ssize_t i = 0; i < n; i++) {
			py_object *key = py.PySequence_GetItem(items[i], 0);
			int rc = key ? py.PyDict_SetItem(d, key, items[i]) : -1;

			pm_decref(key);
			if (rc) {
				pm_decref(seq);
				goto fail;
			}
		}
		pm_decref(seq);
	}
	/* Right's rows (in their order), then the rows only in left. */
	for (int side = 1; side >= 0; side--) {
		seq = pm_fast(side ? right : left, &items, &n);
		if (!seq)
			goto fail;
		for (ssize_t i = 0; i < n; i++) {
			py_object *key = py.PySequence_GetItem(items[i], 0);
			py_object *r, *l, *row = NULL;
			int done = 0;

			if (!key)
				goto fail_seq;
			r = py.PyDict_GetItem(rk, key);    /* borrowed */
			l = py.PyDict_GetItem(lk, key);
			if ((side && r != items[i]) || (!side && r))
				done = 1;   /* a duplicate key, or handled */
			if (!done && side && l) {
				int64_t z = 0;

				(void)z;
				row = py.PyList_New(3);
				for (int c = 1; row && c < 3; c++) {
					py_object *a = py.PySequence_GetItem(r, c);
					py_object *b = py.PySequence_GetItem(l, c);
					py_object *d = a && b ?
						py.PyNumber_Subtract(a, b) : NULL;

					pm_decref(a);
					pm_decref(b);
					if (!d) {
						pm_decref(row);
						row = NULL;
						break;
					}
					PY_LIST_ITEMS(row)[c] = d;
				}
			} else if (!done && side) {
				row = r;
				pm_incref(row);
			} else if (!done && l == items[i]) {
				row = py.PyList_New(3);
				for (int c = 1; row && c < 3; c++) {
					py_object *a = py.PySequence_GetItem(l, c);
					py_object *d = a ? py.PyNumber_Negative(a) :
							NULL;

					pm_decref(a);
					if (!d) {
						pm_decref(row);
						row = NULL;
						break;
					}
					PY_LIST_ITEMS(row)[c] = d;
				}
			} else {
				done = 1;
			}
			if (done) {
				pm_decref(key);
				continue;
			}
			if (!row) {
				pm_decref(key);
				goto fail_seq;
			}
			if (row != r) {
				PY_LIST_ITEMS(row)[0] = key;
				key = NULL;
			}
			pm_decref(key);
			if (py.PyList_Append(res, row) != 0) {
				pm_decref(row);
				goto fail_seq;
			}
			pm_decref(row);
		}
		pm_decref(seq);
	}
	pm_decref(lk);
	pm_decref(rk);
	return res;
fail_seq:
	pm_decref(seq);
fail:
	pm_decref(lk);
	pm_decref(rk);
	pm_decref(res);
	return NULL;
}

static py_object *
sm_format(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"rows", "limit", "sort", "order", NULL};
	py_object *rows, *limit = NULL;
	const char *sort = "size", *order = "descending";

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|Oss:format_", kwlist,
					     &rows, &limit, &sort, &order))
		return NULL;
	if (!limit) {
		py_object *r, *l15 = py.PyLong_FromSsize_t(15);

		if (!l15)
			return NULL;
		r = pm_format_rows(rows, l15, sort, order);
		pm_decref(l15);
		return r;
	}
	return pm_format_rows(rows, limit, sort, order);
}

static py_object *
sm_print(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"rows", "limit", "sort", "order", "file",
				 NULL};
	py_object *rows, *limit = NULL, *file = NULL, *l15 = NULL;
	const char *sort = "size", *order = "descending";
	int rc;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|OssO:print_", kwlist,
					     &rows, &limit, &sort, &order,
					     &file))
		return NULL;
	if (!limit) {
		l15 = limit = py.PyLong_FromSsize_t(15);
		if (!l15)
			return NULL;
	}
	rc = pm_print_rows(rows, limit, sort, order, file);
	pm_decref(l15);
	return rc ? NULL : pm_none();
}

/* str(getattr(o, name)) appended to b.  0 or -1 (exception set). */
static int
pm_add_attr(py_object *o, const char *name, struct text_buf *b)
{
	py_object *v = py.PyObject_GetAttrString(o, name), *s, *tmp = NULL;
	const char *t;
	ssize_t n;

	if (!v)
		return -1;
	s = py.PyObject_Str(v);
	pm_decref(v);
	t = s ? pm_text(s, &tmp, &n) : NULL;
	if (t)
		text_add(b, t, (size_t)n);
	pm_decref(tmp);
	pm_decref(s);
	return t ? 0 : -1;
}

/*
 * Pympler's _repr(o, verbosity) past 1: `dict, len=1` (dict, list, set),
 * `function (module.name)`, a frame's codeline (2) and filename (3+);
 * as verbosity 1 for every other type.  Calls getattr and len: Python
 * code may run, as it does in Pympler (this is not a walk).
 */
static int
pm_repr_verbose(py_object *o, ssize_t verbosity, struct text_buf *b)
{
	py_object *t = PY_TYPE(o), *code;
	int rc = 0;

	if (t == py.PyDict_Type || t == py.PyList_Type || t == py.PySet_Type) {
		ssize_t n = py.PyObject_Size(o);
		if (n < 0)
			return -1;
		text_addf(b, "%s, len=%zd", t == py.PyDict_Type ? "dict" :
			  t == py.PyList_Type ? "list" : "set", n);
	} else if (t == py.PyFunction_Type) {
		text_str(b, "function (");
		rc = pm_add_attr(o, "__module__", b);
		text_str(b, ".");
		rc = rc ? rc : pm_add_attr(o, "__name__", b);
		text_str(b, ")");
	} else if (t == py.PyFrame_Type) {
		code = py.PyObject_GetAttrString(o, "f_code");
		if (!code)
			return -1;
		text_str(b, "frame (codename: ");
		rc = pm_add_attr(code, "co_name", b);
		if (verbosity >= 3) {
			text_str(b, ", filename: ");
			rc = rc ? rc : pm_add_attr(code, "co_filename", b);
		}
		text_str(b, ", codeline: ");
		rc = rc ? rc : pm_add_attr(code, "co_firstlineno", b);
		text_str(b, ")");
		pm_decref(code);
	} else {
		return 1;
	}
	return rc;
}

static py_object *
sm_repr(py_object *self, py_object *args, py_object *kw)
{
	static char *kwlist[] = {"o", "verbosity", NULL};
	py_object *o;
	ssize_t verbosity = 1;

	(void)self;
	if (!py.PyArg_ParseTupleAndKeywords(args, kw, "O|n:_repr", kwlist, &o,
					     &verbosity))
		return NULL;
	if (verbosity == 0) {
		/* str(type(o)) stripped: the type's own name. */
		struct text_buf b = {0};
		py_object *r = NULL;

		if (pm_type_name(PY_TYPE(o), &b) == 0 && !b.oom) {
			pm_strip_addresses(&b);
			r = py.PyUnicode_FromStringAndSize(b.s, (ssize_t)b.len);
		} else if (!py.PyErr_Occurred()) {
			py.PyErr_NoMemory();
		}
		text_free(&b);
		return r;
	}
	if (verbosity >= 2) {
		struct text_buf b = {0};
		py_object *r = NULL;
		int rc = pm_repr_verbose(o, verbosity, &b);

		if (rc == 0 && b.oom)
			py.PyErr_NoMemory();
		else if (rc == 0)
			r = py.PyUnicode_FromStringAndSize(b.s ? b.s : "",
							    (ssize_t)b.len);
		text_free(&b);
		if (rc <= 0)
			return r;
	}
	return pm_repr_name(o);
}

static struct py_methoddef pm_summary_methods[] = {
	{"summarize", PY_CFUNC(pm_summary_summarize),
	 PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "summarize(objects)\n--\n\n"
	 "Rows [type, number of objects, total size] of objects."},
	{"get_diff", PY_CFUNC(sm_get_diff), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "get_diff(left, right)\n--\n\nright minus left, per row."},
	{"format_", PY_CFUNC(sm_format), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "format_(rows, limit=15, sort='size', order='descending')\n--\n\n"
	 "The summary table as a list of lines."},
	{"print_", PY_CFUNC(sm_print), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "print_(rows, limit=15, sort='size', order='descending', "
	 "file=None)\n--\n\nPrints the summary table."},
	{"_repr", PY_CFUNC(sm_repr), PY_METH_VARARGS | PY_METH_KEYWORDS,
	 "_repr(o, verbosity=1)\n--\n\nThe row name of o."},
	{NULL, NULL, 0, NULL}   /* Sentinel */
};

static struct py_moduledef pm_summary_def = {
	.ob_refcnt = 1,
	.m_name = "muppy.summary",
	.m_doc = "Summaries of objects: rows [type, count, total size], "
		 "their diff, and Pympler's table text.",
	.m_size = -1,
	.m_methods = pm_summary_methods,
};

py_object *
pm_summary_module(void)
{
	return pm_module_new(&pm_summary_def);
}
