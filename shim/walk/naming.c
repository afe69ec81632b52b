/*
 * naming.c - the names a dump carries: the string table (interned once,
 * hashed by content; str objects cached by address) and the per-type cache
 * (Pympler's type name, kind, sizing, __slots__ members, summary row), with
 * the checks a type passes before its instances are read (walk.c design
 * notes 4, 7, 8).
 */
#include "shim/walk/walker.h"

#include <string.h>   /* memcpy, memcmp, memset, strlen, strcmp */

/* ---- strings --------------------------------------------------------------- */

static uint64_t
walk_str_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h | 1;   /* never 0: the map's empty key */
}

/* Copies n bytes (plus a NUL) into the string arena. */
static char *
walk_str_store(struct walker *w, const char *s, size_t n)
{
	struct walk_chunk *c = w->chunks;
	char *p;

	if (!c || c->size - c->used < n + 1) {
		size_t size = n + 1 > 65536 ? n + 1 : 65536;

		c = walk_realloc(NULL, sizeof *c + size);
		if (!c)
			return NULL;
		c->next = w->chunks;
		c->used = 0;
		c->size = size;
		w->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

uint32_t
walk_intern(struct walker *w, const char *s, size_t n)
{
	uint64_t h;
	uint32_t *head, id;
	int isnew;
	char *p;

	if (w->err)
		return WALK_NOSLOT;
	if (n > UINT32_MAX - 1)
		n = UINT32_MAX - 1;
	h = walk_str_hash(s, n);
	head = walk_map_get(&w->strhash, h);
	for (id = head ? *head : WALK_NOSLOT; id != WALK_NOSLOT;
	     id = w->strnext[id])
		if (w->strs[id].len == n && memcmp(w->strs[id].ptr, s, n) == 0)
			return id;
	if (w->nstrs >= WALK_NOSLOT - 1 ||
	    walk_grow(&w->strs, &w->capstrs, w->nstrs + 1, sizeof *w->strs) ||
	    walk_grow(&w->strnext, &w->capstrnext, w->nstrs + 1,
		      sizeof *w->strnext))
		goto fail;
	p = walk_str_store(w, s, n);
	if (!p)
		goto fail;
	id = (uint32_t)w->nstrs;
	head = walk_map_put(&w->strhash, h, id, &isnew);
	if (!head)
		goto fail;
	w->strnext[id] = isnew ? WALK_NOSLOT : *head;
	*head = id;
	w->strs[id].ptr = p;
	w->strs[id].len = (uint32_t)n;
	w->nstrs++;
	return id;
fail:
	walk_fail(w);
	return WALK_NOSLOT;
}

uint32_t
walk_intern_cstr(struct walker *w, const char *s)
{
	return walk_intern(w, s, strlen(s));
}

/* A view of a str object's characters (no copy, no allocation). */
struct walk_strview {
	const void *data;
	size_t len;
	int kind;          /* 1, 2 or 4 bytes per character */
};

/* Fills *v for str object o; -1 if its layout is not readable. */
static int
walk_str_view(py_object *o, struct walk_strview *v)
{
	uint32_t state = PY_FIELD(uint32_t, o, PY_OFF_STR_STATE);
	int compact = (state >> 5) & 1, ascii = (state >> 6) & 1;

	v->kind = (state >> 2) & 7;
	v->len = (size_t)PY_FIELD(ssize_t, o, PY_OFF_STR_LENGTH);
	/* 3.8-3.11: a legacy string not yet "ready" has only wstr. */
	if (py.minor <= 11 && !((state >> 7) & 1))
		return -1;
	if (v->kind != 1 && v->kind != 2 && v->kind != 4)
		return -1;
	if (compact)
		v->data = (char *)o + (ascii ? py.lay.str_ascii_size :
				       py.lay.str_compact_size);
	else
		v->data = PY_FIELD(void *, o, py.lay.str_compact_size);
	return v->data ? 0 : -1;
}

/* Appends code point c as UTF-8 (lone surrogates become U+FFFD). */
static size_t
walk_utf8_put(char *p, uint32_t c)
{
	if (c < 0x80) {
		p[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		p[0] = (char)(0xC0 | (c >> 6));
		p[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		c = 0xFFFD;
	if (c < 0x10000) {
		p[0] = (char)(0xE0 | (c >> 12));
		p[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		p[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	p[0] = (char)(0xF0 | (c >> 18));
	p[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	p[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	p[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

ssize_t
walk_str_utf8(struct walker *w, py_object *o, size_t max)
{
	struct walk_strview v;
	size_t n, out = 0;

	if (walk_str_view(o, &v) != 0)
		return -1;
	n = v.len < max ? v.len : max;
	if (walk_grow(&w->sbuf, &w->capsbuf, n * 4 + 1, 1) != 0) {
		walk_fail(w);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t c = v.kind == 1 ? ((const uint8_t *)v.data)[i] :
			     v.kind == 2 ? ((const uint16_t *)v.data)[i] :
					   ((const uint32_t *)v.data)[i];
		out += walk_utf8_put(w->sbuf + out, c);
	}
	return (ssize_t)out;
}

int
walk_is_str(py_object *o)
{
	return (PY_TP_FLAGS(PY_TYPE(o)) & PY_TPFLAGS_UNICODE_SUBCLASS) != 0;
}

int
walk_str_eq(py_object *o, const char *s)
{
	struct walk_strview v;
	size_t n = strlen(s);

	if (!walk_is_str(o) || walk_str_view(o, &v) != 0 || v.kind != 1 ||
	    v.len != n)
		return 0;
	return memcmp(v.data, s, n) == 0;
}

uint32_t
walk_name_id(struct walker *w, py_object *o)
{
	uint32_t *cached, id;
	ssize_t n;
	int isnew;

	if (!o || !walk_is_str(o))
		return FMT_NO_STRING;
	cached = walk_map_get(&w->strobj, (uint64_t)(uintptr_t)o);
	if (cached)
		return *cached;
	n = walk_str_utf8(w, o, WALK_NAME_MAX);
	if (n < 0)
		return FMT_NO_STRING;
	id = walk_intern(w, w->sbuf, (size_t)n);
	if (id == WALK_NOSLOT)
		return FMT_NO_STRING;
	cached = walk_map_put(&w->strobj, (uint64_t)(uintptr_t)o, id, &isnew);
	if (!cached) {
		walk_fail(w);
		return FMT_NO_STRING;
	}
	return id;
}

py_object *
walk_dict_find(py_object *d, const char *s)
{
	ssize_t pos = 0;
	py_object *k, *v;

	if (!d)
		return NULL;
	while (py.PyDict_Next(d, &pos, &k, &v))
		if (walk_str_eq(k, s))
			return v;
	return NULL;
}

/* ---- types ------------------------------------------------------------------ */

static int
walk_is_subtype(py_object *t, py_object *base)
{
	for (; t; t = PY_FIELD(py_object *, t, PY_OFF_TP_BASE))
		if (t == base)
			return 1;
	return 0;
}

/* Static type: tp_name as is; heap: __module__.__qualname__ (type_repr). */
static uint32_t
walk_type_name(struct walker *w, py_object *t)
{
	const char *tp_name = PY_FIELD(const char *, t, PY_OFF_TP_NAME);
	py_object *mod, *qual;
	ssize_t n;
	size_t mlen;
	char *name;
	uint32_t id;

	if (!(PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE))
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	mod = walk_dict_find(PY_FIELD(py_object *, t, PY_OFF_TP_DICT),
			     "__module__");
	qual = PY_FIELD(py_object *, t, py.lay.ht_qualname);
	if (!mod || !walk_is_str(mod) || walk_str_eq(mod, "builtins") ||
	    !qual || !walk_is_str(qual))
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	n = walk_str_utf8(w, mod, WALK_NAME_MAX);
	if (n < 0)
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	mlen = (size_t)n;
	name = walk_realloc(NULL, mlen + 1);
	if (!name) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	memcpy(name, w->sbuf, mlen);
	name[mlen] = '.';
	n = walk_str_utf8(w, qual, WALK_NAME_MAX);
	if (n < 0 || walk_grow(&w->sbuf, &w->capsbuf, mlen + 1 + (size_t)n, 1)) {
		walk_free(name);
		if (n >= 0)
			walk_fail(w);
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	}
	memmove(w->sbuf + mlen + 1, w->sbuf, (size_t)n);
	memcpy(w->sbuf, name, mlen + 1);
	walk_free(name);
	id = walk_intern(w, w->sbuf, mlen + 1 + (size_t)n);
	return id;
}

uint32_t
walk_type_qualname(struct walker *w, py_object *t)
{
	const char *tp_name, *dot;

	if (PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE)
		return walk_name_id(w, PY_FIELD(py_object *, t,
						py.lay.ht_qualname));
	tp_name = PY_FIELD(const char *, t, PY_OFF_TP_NAME);
	if (!tp_name)
		return FMT_NO_STRING;
	dot = strrchr(tp_name, '.');
	return walk_intern_cstr(w, dot ? dot + 1 : tp_name);
}

const struct py_methoddef *
walk_find_method(py_object *t, const char *name)
{
	const struct py_methoddef *m;

	m = PY_FIELD(const struct py_methoddef *, t, PY_OFF_TP_METHODS);
	for (; m && m->ml_name; m++)
		if (strcmp(m->ml_name, name) == 0)
			return m;
	return NULL;
}

/*
 * Decides how instances of t are sized: the first __sizeof__ along the
 * MRO decides (design note 1).  Heap types keep methods in their dict
 * (a Python function there means Python code: estimate); static types in
 * tp_methods (3.12+ static types have no tp_dict).
 */
static void
walk_type_sizing(struct walker *w, struct walk_type *ti)
{
	py_object *mro = PY_FIELD(py_object *, ti->type, PY_OFF_TP_MRO);
	ssize_t n = mro ? PY_FIELD(ssize_t, mro, PY_OFF_SIZE) : 0;

	ti->sizing = WS_ESTIMATE;
	for (ssize_t i = 0; i < n; i++) {
		py_object *b = PY_FIELD(py_object *, mro,
					PY_OFF_SEQ_ITEMS + 8 * i);
		const struct py_methoddef *m = NULL;
		py_object *cls = b;
		int fl;

		if (PY_TP_FLAGS(b) & PY_TPFLAGS_HEAPTYPE) {
			py_object *d = walk_dict_find(
				PY_FIELD(py_object *, b, PY_OFF_TP_DICT),
				"__sizeof__");
			if (!d)
				continue;
			if (PY_TYPE(d) != py.PyMethodDescr_Type)
				return;   /* Python-level __sizeof__ */
			m = PY_FIELD(const struct py_methoddef *, d,
				     PY_OFF_DESCR_METHOD);
			cls = PY_FIELD(py_object *, d, PY_OFF_DESCR_TYPE);
		} else {
			m = walk_find_method(b, "__sizeof__");
			if (!m)
				continue;
		}
		if (!m)
			return;
		/* Call it the way its method descriptor would, no arguments. */
		fl = m->ml_flags & (PY_METH_VARARGS | PY_METH_KEYWORDS |
				    PY_METH_NOARGS | PY_METH_O |
				    PY_METH_FASTCALL | PY_METH_METHOD);
		ti->sizeof_fn = m->ml_meth;
		ti->sizeof_cls = cls;
		if (fl == PY_METH_NOARGS)
			ti->sizing = m->ml_meth == w->object_sizeof ?
				     WS_OBJECT : WS_CALL;
		else if (fl == PY_METH_FASTCALL ||
			 fl == (PY_METH_FASTCALL | PY_METH_KEYWORDS))
			ti->sizing = WS_CALL_FAST;
		else if (fl == (PY_METH_METHOD | PY_METH_FASTCALL |
				PY_METH_KEYWORDS))
			ti->sizing = WS_CALL_METHOD;
		return;
	}
}

/*
 * Collects the __slots__ members (object members) of the heap types of
 * ti's tp_base chain (design note 7).  Those of the chain's prefix whose
 * tp_traverse is subtype_traverse are read directly, as CPython's own
 * subtype_traverse reads them; the others only name what their types' own
 * tp_traverse reports (walk_visit compares values; nothing read through
 * them is followed), and only if they lie inside the instance.
 */
static int
walk_type_members(struct walker *w, struct walk_type *ti)
{
	struct py_memberdef {
		const char *name;
		int type;
		ssize_t offset;
		int flags;
		const char *doc;
	};
	ssize_t basic = PY_FIELD(ssize_t, ti->type, PY_OFF_TP_BASICSIZE);
	int direct = w->subtype_traverse != NULL;

	ti->mem_start = (uint32_t)w->nmembers;
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0: the members read directly; pass 1: the others. */
		int in_prefix = direct;

		for (py_object *t = ti->type; t;
		     t = PY_FIELD(py_object *, t, PY_OFF_TP_BASE)) {
			const struct py_memberdef *m;

			if (in_prefix && PY_FIELD(py_traverseproc, t,
						  PY_OFF_TP_TRAVERSE) !=
					 w->subtype_traverse)
				in_prefix = 0;
			if (!(PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE) ||
			    in_prefix != (pass == 0))
				continue;
			m = PY_FIELD(const struct py_memberdef *, t,
				     PY_OFF_TP_MEMBERS);
			for (; m && m->name; m++) {
				uint32_t id;

				if ((m->type != PY_T_OBJECT_EX &&
				     m->type != PY_T_OBJECT) ||
				    (m->flags & PY_RELATIVE_OFFSET) ||
				    m->offset < 16 || (m->offset & 7) ||
				    m->offset + 8 > basic ||
				    strcmp(m->name, "__weakref__") == 0 ||
				    strcmp(m->name, "__dict__") == 0)
					continue;
				if (pass == 1 && ti->nmem_cmp >= WALK_CMP_MAX)
					break;
				id = walk_intern_cstr(w, m->name);
				if (id == WALK_NOSLOT ||
				    walk_grow(&w->members, &w->capmembers,
					      w->nmembers + 1,
					      sizeof *w->members))
					return -1;
				w->members[w->nmembers].offset = m->offset;
				w->members[w->nmembers].name = id;
				w->nmembers++;
				if (pass == 0)
					ti->nmem++;
				else
					ti->nmem_cmp++;
			}
		}
	}
	return 0;
}

/*
 * On 3.11+ an instance of a heap type with Py_TPFLAGS_MANAGED_DICT keeps
 * its attributes as a PyDictValues array until something asks for its
 * __dict__; value i belongs to entry i of the type's shared keys
 * (ht_cached_keys, a DICT_KEYS_SPLIT keys object with str keys), as in
 * CPython's own _PyObject_VisitInstanceAttributes.  Records where the
 * names are when the keys look sane; otherwise leaves WV_NONE (the values
 * stay unnamed tp_traverse edges).  The keys cannot change during the walk:
 * no Python code runs.
 */
static void
walk_type_values(struct walk_type *ti, unsigned long fl)
{
	const char *keys;
	unsigned log2_size, log2_index, want_index;
	ssize_t nentries;
	enum walk_values how = py.minor == 11 ? WV_PREHEADER :
			       py.minor == 12 ? WV_TAGGED : WV_INLINE;

	if (py.lay.ht_cached_keys < 0 || py.lay.dv_values < 0 || py.minor > 13)
		return;
	if (how == WV_INLINE &&
	    (!(fl & PY_TPFLAGS_INLINE_VALUES) ||
	     PY_FIELD(ssize_t, ti->type, PY_OFF_TP_BASICSIZE) !=
	     PY_OFF_INLINE_VALUES))
		return;
	keys = PY_FIELD(const char *, ti->type, py.lay.ht_cached_keys);
	if (!keys || PY_FIELD(uint8_t, keys, PY_OFF_DK_KIND) != PY_DK_SPLIT)
		return;
	log2_size = PY_FIELD(uint8_t, keys, PY_OFF_DK_LOG2_SIZE);
	log2_index = PY_FIELD(uint8_t, keys, PY_OFF_DK_LOG2_INDEX_BYTES);
	/* Index bytes per slot: 1, 2, 4 or 8 by table size (dictobject.c). */
	want_index = log2_size + (log2_size < 8 ? 0 : log2_size < 16 ? 1 :
				  log2_size < 32 ? 2 : 3);
	nentries = PY_FIELD(ssize_t, keys, PY_OFF_DK_NENTRIES);
	/* Shared keys hold at most 30 entries; allow a margin, no more. */
	if (log2_size < 3 || log2_size > 16 || log2_index != want_index ||
	    nentries < 0 || nentries > ((ssize_t)2 << log2_size) / 3 ||
	    nentries > 255)
		return;
	ti->values = (uint8_t)how;
	ti->nattr = (uint32_t)nentries;
	ti->attr_keys = keys + PY_OFF_DK_INDICES + ((size_t)1 << log2_index);
}

/*
 * A class a class statement made has subtype_traverse for tp_traverse: it
 * visits the type, the __dict__ or the inline values, the __slots__
 * members, then calls the nearest base's own tp_traverse.  walk_object
 * reads all but the last itself, so when it can read all of them (graph
 * mode, a values layout it knows), the walk calls that base's traverse
 * alone, none for a class of plain objects: a tenth of the walk's
 * instructions on a heap of instances (callgrind), and tests/walk/walk_check.py
 * holds every referent of gc.get_referents() to be an edge still.
 */
static void
walk_type_base_traverse(const struct walker *w, struct walk_type *ti)
{
	py_object *b = ti->type;

	if (!w->graph ||
	    (ti->managed_dict ? ti->values == WV_NONE : ti->dictoffset < 0))
		return;
	while (b && PY_FIELD(py_traverseproc, b, PY_OFF_TP_TRAVERSE) ==
		    w->subtype_traverse)
		b = PY_FIELD(py_object *, b, PY_OFF_TP_BASE);
	if (b)
		ti->traverse = PY_FIELD(py_traverseproc, b, PY_OFF_TP_TRAVERSE);
}

/* The tp_traverse of a heap type found as name in module modname, or
 * NULL. */
static py_traverseproc
walk_class_traverse(py_object *mods, const char *modname, const char *name)
{
	py_object *m = walk_dict_find(mods, modname), *t;

	if (!m || !walk_is_subtype(PY_TYPE(m), py.PyModule_Type))
		return NULL;
	t = walk_dict_find(PY_FIELD(py_object *, m, PY_OFF_MODULE_DICT), name);
	if (!t || !(PY_TP_FLAGS(PY_TYPE(t)) & PY_TPFLAGS_TYPE_SUBCLASS) ||
	    !(PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE))
		return NULL;
	return PY_FIELD(py_traverseproc, t, PY_OFF_TP_TRAVERSE);
}

py_traverseproc
walk_find_subtype_traverse(void)
{
	py_object *mods = py.PyImport_GetModuleDict();
	py_traverseproc a = walk_class_traverse(mods, "io", "IOBase");

	return a && a == walk_class_traverse(mods, "abc", "ABCMeta") ? a : NULL;
}

static enum walk_kind
walk_type_kind(py_object *t, unsigned long fl)
{
	if (fl & PY_TPFLAGS_DICT_SUBCLASS)
		return WK_DICT;
	if (fl & PY_TPFLAGS_LIST_SUBCLASS)
		return WK_LIST;
	if (fl & PY_TPFLAGS_TUPLE_SUBCLASS)
		return WK_TUPLE;
	if (fl & PY_TPFLAGS_UNICODE_SUBCLASS)
		return WK_STR;
	if (fl & PY_TPFLAGS_BYTES_SUBCLASS)
		return WK_BYTES;
	if (fl & PY_TPFLAGS_TYPE_SUBCLASS)
		return WK_TYPE;
	if (t == py.PyFunction_Type)
		return WK_FUNCTION;
	if (t == py.PyCode_Type)
		return WK_CODE;
	if (t == py.PyFrame_Type)
		return WK_FRAME;
	if (t == py.PyCell_Type)
		return WK_CELL;
	if (t == py.PyMethod_Type)
		return WK_METHOD;
	if (walk_is_subtype(t, py.PyModule_Type))
		return WK_MODULE;
	return WK_PLAIN;
}

uint32_t
walk_new_row(struct walker *w, uint32_t id)
{
	if (id == WALK_NOSLOT ||
	    walk_grow(&w->rows, &w->caprows, w->nrows + 1, sizeof *w->rows)) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	w->rows[w->nrows].name = id;
	w->rows[w->nrows].count = 0;
	w->rows[w->nrows].size = 0;
	return (uint32_t)w->nrows++;
}

/* How much of a type object the walker reads: a static PyTypeObject, or a
 * PyHeapTypeObject up to the fields of it we use. */
static size_t
walk_type_span(py_object *t)
{
	size_t n = PY_OFF_TP_MRO + 8;

	if (PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE) {
		if ((size_t)py.lay.ht_qualname + 8 > n)
			n = (size_t)py.lay.ht_qualname + 8;
		if (py.lay.ht_cached_keys > 0 &&
		    (size_t)py.lay.ht_cached_keys + 8 > n)
			n = (size_t)py.lay.ht_cached_keys + 8;
	}
	return n;
}

/* p points to an object whose type has flag (a *_SUBCLASS flag): the
 * object and its type in readable memory first. */
static int
walk_is_kind(struct walker *w, py_object *p, unsigned long flag)
{
	return p && !((uintptr_t)p & 7) && walk_readable(&w->ranges, p, 24) &&
	       walk_readable(&w->ranges, PY_TYPE(p), PY_OFF_TP_FLAGS + 8) &&
	       (PY_TP_FLAGS(PY_TYPE(p)) & flag);
}

/* One type object alone (not its bases): aligned, readable as far as the
 * walker reads it, READY, a metatype chain through readable metatypes to
 * `type`, sizes that make sense, a readable name. */
static int
walk_type_shallow(struct walker *w, py_object *b)
{
	ssize_t basic, item;
	py_object *m;
	int depth = 0;

	if (!b || ((uintptr_t)b & 7) ||
	    !walk_readable(&w->ranges, b, PY_OFF_TP_FLAGS + 8) ||
	    !walk_readable(&w->ranges, b, walk_type_span(b)) ||
	    !(PY_TP_FLAGS(b) & PY_TPFLAGS_READY))
		return 0;
	for (m = PY_TYPE(b); m != py.PyType_Type; m = PY_TYPE(m))
		if (++depth > 32 || ((uintptr_t)m & 7) ||
		    !walk_readable(&w->ranges, m, PY_OFF_TP_FLAGS + 8) ||
		    !(PY_TP_FLAGS(m) & PY_TPFLAGS_TYPE_SUBCLASS))
			return 0;
	basic = PY_FIELD(ssize_t, b, PY_OFF_TP_BASICSIZE);
	item = PY_FIELD(ssize_t, b, PY_OFF_TP_ITEMSIZE);
	return basic >= 16 && basic <= (1 << 30) && item >= 0 &&
	       item <= (1 << 20) &&
	       walk_readable(&w->ranges, PY_FIELD(const char *, b,
						  PY_OFF_TP_NAME), 1);
}

/*
 * Whether t holds up as a type object before the walker relies on it
 * (design note 8): itself and every type of its tp_base chain and its MRO
 * pass walk_type_shallow, the chain ends at `object`, tp_mro is a tuple,
 * tp_dict a dict, a heap type's __qualname__ a str.  Nothing is read
 * before the memory it is in is known to be readable.
 */
static int
walk_type_valid(struct walker *w, py_object *t)
{
	py_object *b, *mro, *d;
	ssize_t n;
	int depth = 0;

	for (b = t; b; b = PY_FIELD(py_object *, b, PY_OFF_TP_BASE)) {
		if (++depth > 256 || !walk_type_shallow(w, b))
			return 0;
		if (!PY_FIELD(py_object *, b, PY_OFF_TP_BASE) &&
		    b != py.PyBaseObject_Type)
			return 0;
	}
	mro = PY_FIELD(py_object *, t, PY_OFF_TP_MRO);
	if (mro) {
		if (!walk_is_kind(w, mro, PY_TPFLAGS_TUPLE_SUBCLASS))
			return 0;
		n = PY_FIELD(ssize_t, mro, PY_OFF_SIZE);
		if (n < 1 || n > 4096 ||
		    !walk_readable(&w->ranges, mro,
				   PY_OFF_SEQ_ITEMS + 8 * (size_t)n))
			return 0;
		for (ssize_t i = 0; i < n; i++) {
			b = PY_FIELD(py_object *, mro, PY_OFF_SEQ_ITEMS + 8 * i);
			if (!walk_type_shallow(w, b))
				return 0;
			d = PY_FIELD(py_object *, b, PY_OFF_TP_DICT);
			if (d && !walk_is_kind(w, d, PY_TPFLAGS_DICT_SUBCLASS))
				return 0;
		}
	}
	d = PY_FIELD(py_object *, t, PY_OFF_TP_DICT);
	if (d && !walk_is_kind(w, d, PY_TPFLAGS_DICT_SUBCLASS))
		return 0;
	if (PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE) {
		d = PY_FIELD(py_object *, t, py.lay.ht_qualname);
		if (d && !walk_is_kind(w, d, PY_TPFLAGS_UNICODE_SUBCLASS))
			return 0;
	}
	return 1;
}

/* Fills the cache entry of type t. */
static int
walk_type_init(struct walker *w, struct walk_type *ti, py_object *t)
{
	unsigned long fl;

	memset(ti, 0, sizeof *ti);
	ti->type = t;
	if (!walk_type_valid(w, t)) {
		/* Design note 8: its objects are skipped.  The TYPES entry
		 * stays (no object refers to it), with a name of ours. */
		ti->invalid = 1;
		ti->name = walk_intern_cstr(w, "<invalid type>");
		ti->row = WALK_NOSLOT;
		return ti->name == WALK_NOSLOT ? -1 : 0;
	}
	fl = PY_TP_FLAGS(t);
	ti->kind = (uint8_t)walk_type_kind(t, fl);
	/* The exact deque only: a subclass's traverse reports its __dict__
	 * and slots too, before the items. */
	ti->indexed = strcmp(PY_TP_NAME(t), "collections.deque") == 0;
	ti->exact = t == py.PyDict_Type || t == py.PyList_Type ||
		    t == py.PyTuple_Type;
	ti->have_gc = (fl & PY_TPFLAGS_HAVE_GC) != 0;
	ti->heap = (fl & PY_TPFLAGS_HEAPTYPE) != 0;
	ti->is_gc = PY_FIELD(py_inquiry, t, PY_OFF_TP_IS_GC);
	ti->traverse = PY_FIELD(py_traverseproc, t, PY_OFF_TP_TRAVERSE);
	ti->dictoffset = PY_FIELD(ssize_t, t, PY_OFF_TP_DICTOFFSET);
	/* Note 7: a __dict__ pointer inside the instance, or none read. */
	if (ti->dictoffset > 0 &&
	    ((ti->dictoffset & 7) || ti->dictoffset + 8 >
	     PY_FIELD(ssize_t, t, PY_OFF_TP_BASICSIZE)))
		ti->dictoffset = 0;
	/* Note 7: read where CPython's subtype_traverse reads it. */
	ti->managed_dict = py.minor >= 11 && (fl & PY_TPFLAGS_MANAGED_DICT) &&
			   ti->traverse && ti->traverse == w->subtype_traverse;
	ti->pre = (uint8_t)py_preheader_size(fl, py.minor);
	walk_type_sizing(w, ti);
	ti->name = walk_type_name(w, t);
	if (ti->name == WALK_NOSLOT)
		return -1;
	ti->row = walk_new_row(w, ti->name);
	if (ti->row == WALK_NOSLOT)
		return -1;
	if (ti->heap && walk_type_members(w, ti) != 0)
		return -1;
	if (ti->managed_dict && ti->heap && w->graph)
		walk_type_values(ti, fl);
	if (ti->traverse && ti->traverse == w->subtype_traverse)
		walk_type_base_traverse(w, ti);
	return w->err ? -1 : 0;
}

struct walk_type *
walk_type_lookup(struct walker *w, py_object *t)
{
	uint32_t *idx;
	int isnew;

	idx = walk_map_put(&w->typemap, (uint64_t)(uintptr_t)t,
			   (uint32_t)w->ntypes, &isnew);
	if (!idx) {
		walk_fail(w);
		return NULL;
	}
	if (isnew) {
		if (walk_grow(&w->types, &w->captypes, w->ntypes + 1,
			      sizeof *w->types) ||
		    walk_type_init(w, &w->types[w->ntypes], t) != 0) {
			walk_fail(w);
			return NULL;
		}
		w->ntypes++;
	}
	w->last = &w->types[*idx];
	return w->last;
}
