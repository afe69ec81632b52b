/*
 * readers.c - what the walker reads of each object: its size (a C
 * __sizeof__ or an estimate: design note 1) and, by kind, its referents
 * with their names (dict entries, list and tuple items, frame locals,
 * function and type slots, instance attributes, __slots__), then the
 * object's record; walk_drain runs them over the queue with prefetching
 * (design note 6).
 */
#include "shim/walk/walker.h"

#include <stdio.h>    /* snprintf */
#include <string.h>   /* memcpy, memset, strlen */

/* ---- sizes --------------------------------------------------------------- */

static int
walk_is_gc(const struct walk_type *ti, py_object *o)
{
	return ti->have_gc && (!ti->is_gc || ti->is_gc(o));
}

/* sys.getsizeof(o), without running Python code (design note 1). */
static uint64_t
walk_sizeof(struct walker *w, const struct walk_type *ti, py_object *o,
	    int isgc)
{
	py_object *t = ti->type;
	ssize_t basic = PY_FIELD(ssize_t, t, PY_OFF_TP_BASICSIZE);
	ssize_t item = PY_FIELD(ssize_t, t, PY_OFF_TP_ITEMSIZE);
	ssize_t s = -1;

	if (ti->sizing >= WS_CALL && ti->sizing <= WS_CALL_METHOD) {
		py_object *r;

		if (ti->sizing == WS_CALL)
			r = ti->sizeof_fn(o, NULL);
		else if (ti->sizing == WS_CALL_FAST)
			r = ((py_object *(*)(py_object *, py_object *const *,
					     ssize_t, py_object *))
			     (void (*)(void))ti->sizeof_fn)(o, NULL, 0, NULL);
		else
			r = ((py_object *(*)(py_object *, py_object *,
					     py_object *const *, size_t,
					     py_object *))
			     (void (*)(void))ti->sizeof_fn)(o, ti->sizeof_cls,
							    NULL, 0, NULL);

		if (r) {
			s = py.PyLong_AsSsize_t(r);
			py.Py_DecRef(r);
		}
		if (s < 0)
			py.PyErr_Clear();
	}
	/* ob_size only where the instance has room for it (note 7). */
	if (basic < PY_OFF_SIZE + 8)
		item = 0;
	if (ti->sizing == WS_OBJECT) {
		/* object.__sizeof__: ob_size as is (signed), like CPython. */
		s = basic + (item > 0 ? PY_FIELD(ssize_t, o, PY_OFF_SIZE) *
			     item : 0);
	} else if (s < 0) {
		ssize_t n = item ? PY_FIELD(ssize_t, o, PY_OFF_SIZE) : 0;

		s = basic + (n < 0 ? -n : n) * item;
		w->estimated++;
	}
	if (py.minor <= 10)
		return (uint64_t)s + (isgc ? PY_GC_HEAD_SIZE : 0);
	if (py.minor >= 13 && t == py.PyType_Type &&
	    !(PY_TP_FLAGS(o) & PY_TPFLAGS_HEAPTYPE))
		return (uint64_t)s;   /* 3.13: static types get no pre-header */
	return (uint64_t)s + ti->pre;
}

/* ---- per-kind readers ------------------------------------------------------ */

/* The edge name of a dict value under key k: its str key, or, for an
 * exact int key in 0..FMT_EDGE_VALUE_MAX, the index kind (a path then
 * reads cache[42], as Python would); else unnamed. */
static uint32_t
walk_key_name(struct walker *w, py_object *k)
{
	ssize_t v;

	if (walk_is_str(k)) {
		uint32_t id = walk_name_id(w, k);

		if (id != FMT_NO_STRING || walk_str_eq(k, ""))
			return walk_ename(FMT_EDGE_KEY, id);
		return FMT_EDGE_NONE;
	}
	if (PY_TYPE(k) != py.PyLong_Type)   /* not bool, not subclasses */
		return FMT_EDGE_NONE;
	v = py.PyLong_AsSsize_t(k);          /* C only; OverflowError: -1 */
	if (v < 0) {
		py.PyErr_Clear();
		return FMT_EDGE_NONE;
	}
	return walk_ename(FMT_EDGE_INDEX, v > FMT_EDGE_VALUE_MAX ?
				       UINT32_MAX : (uint32_t)v);
}

static void
walk_dict(struct walker *w, uint32_t src, py_object *d)
{
	ssize_t pos = 0;
	py_object *k, *v;

	while (!w->err && py.PyDict_Next(d, &pos, &k, &v)) {
		uint32_t name = w->graph ? walk_key_name(w, k) : FMT_EDGE_NONE;

		walk_edge(w, src, v, name);
		walk_edge(w, src, k, walk_ename(FMT_EDGE_DICTKEY, 0));
	}
}

static void
walk_seq(struct walker *w, uint32_t src, py_object *o, int is_list)
{
	ssize_t n = PY_FIELD(ssize_t, o, PY_OFF_SIZE);
	py_object **items = is_list ?
		PY_FIELD(py_object **, o, PY_OFF_SEQ_ITEMS) :
		(py_object **)((char *)o + PY_OFF_SEQ_ITEMS);

	for (ssize_t i = 0; i < n && items && !w->err; i++)
		walk_edge(w, src, items[i],
			  walk_ename(FMT_EDGE_INDEX, (uint32_t)i));
}

/* Item i of tuple t (no bounds check beyond NULL). */
static py_object *
walk_tuple_item(py_object *t, ssize_t i)
{
	if (!t || i < 0 || i >= PY_FIELD(ssize_t, t, PY_OFF_SIZE))
		return NULL;
	return PY_FIELD(py_object *, t, PY_OFF_SEQ_ITEMS + 8 * i);
}

/* Name of local i of code object co, the way the frame lays them out. */
static py_object *
walk_local_name(py_object *co, ssize_t i)
{
	ssize_t nl, nc;
	py_object *cells;

	if (py.minor >= 11)
		return walk_tuple_item(PY_FIELD(py_object *, co,
					py.lay.co_localsplusnames), i);
	nl = PY_FIELD(int, co, py.lay.co_nlocals);
	if (i < nl)
		return walk_tuple_item(PY_FIELD(py_object *, co,
					py.lay.co_varnames), i);
	cells = PY_FIELD(py_object *, co, py.lay.co_cellvars);
	nc = cells ? PY_FIELD(ssize_t, cells, PY_OFF_SIZE) : 0;
	if (i < nl + nc)
		return walk_tuple_item(cells, i - nl);
	return walk_tuple_item(PY_FIELD(py_object *, co, py.lay.co_freevars),
			       i - nl - nc);
}

/* Number of fast locals (locals + cells + free vars) of code co. */
static ssize_t
walk_nlocals(py_object *co)
{
	py_object *c, *f;

	if (py.minor >= 11)
		return PY_FIELD(int, co, py.lay.co_nlocalsplus);
	c = PY_FIELD(py_object *, co, py.lay.co_cellvars);
	f = PY_FIELD(py_object *, co, py.lay.co_freevars);
	return PY_FIELD(int, co, py.lay.co_nlocals) +
	       (c ? PY_FIELD(ssize_t, c, PY_OFF_SIZE) : 0) +
	       (f ? PY_FIELD(ssize_t, f, PY_OFF_SIZE) : 0);
}

/* The code object of frame f (borrowed), or NULL. */
static py_object *
walk_frame_code(py_object *f)
{
	py_object *co;

	if (py.minor <= 10)
		co = PY_FIELD(py_object *, f, py.lay.fr_code);
	else {
		char *iframe = PY_FIELD(char *, f, py.lay.fr_iframe);
		co = iframe ? PY_FIELD(py_object *, iframe, py.lay.if_code) :
			      NULL;
	}
	return co && PY_TYPE(co) == py.PyCode_Type ? co : NULL;
}

/* Frame: code, globals..., and the fast locals by name (FMT_EDGE_LOCAL). */
static void
walk_frame(struct walker *w, uint32_t src, py_object *f)
{
	py_object *co = walk_frame_code(f), **locals;
	ssize_t n;

	walk_edge_other(w, src, PY_FIELD(py_object *, f, py.lay.fr_back),
			WN_F_BACK);
	if (!co)
		return;
	walk_edge_other(w, src, co, WN_F_CODE);
	if (py.minor <= 10) {
		locals = (py_object **)((char *)f + py.lay.fr_localsplus);
	} else {
		char *iframe = PY_FIELD(char *, f, py.lay.fr_iframe);

		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_globals), WN_F_GLOBALS);
		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_builtins),
				WN_F_BUILTINS);
		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_locals), WN_F_LOCALS);
		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_func), WN_F_FUNC);
		locals = (py_object **)(iframe + py.lay.if_localsplus);
	}
	n = walk_nlocals(co);
	for (ssize_t i = 0; i < n && !w->err; i++) {
		uint32_t id;

		if (!locals[i])
			continue;
		id = w->graph ? walk_name_id(w, walk_local_name(co, i)) : 0;
		walk_edge(w, src, locals[i], walk_ename(FMT_EDGE_LOCAL, id));
	}
}

/* Function: its code and closure; each closure cell's contents are named
 * by the free variable (the edge leaves the cell, FMT_EDGE_CELL). */
static void
walk_function(struct walker *w, uint32_t src, py_object *fn)
{
	py_object *co = PY_FIELD(py_object *, fn, py.lay.fn_code);
	py_object *cl = PY_FIELD(py_object *, fn, py.lay.fn_closure);
	ssize_t n, first;

	walk_edge_other(w, src, co, WN_CODE);
	walk_edge_other(w, src, cl, WN_CLOSURE);
	walk_edge_other(w, src, PY_FIELD(py_object *, fn, py.lay.fn_defaults),
			WN_DEFAULTS);
	walk_edge_other(w, src, PY_FIELD(py_object *, fn,
					 py.lay.fn_defaults + 8), WN_KWDEFAULTS);
	if (!cl || !co || PY_TYPE(co) != py.PyCode_Type ||
	    PY_TYPE(cl) != py.PyTuple_Type)
		return;
	n = PY_FIELD(ssize_t, cl, PY_OFF_SIZE);
	first = walk_nlocals(co) - n;   /* free vars come last */
	for (ssize_t i = 0; i < n && !w->err; i++) {
		py_object *cell = walk_tuple_item(cl, i), *v;
		uint32_t id = 0;

		if (!cell || PY_TYPE(cell) != py.PyCell_Type)
			continue;
		v = PY_FIELD(py_object *, cell, PY_OFF_CELL_REF);
		if (!v)
			continue;
		if (w->graph)
			id = walk_name_id(w, walk_local_name(co, first + i));
		/* The cell, then its contents from it: both resolved in the
		 * same batch (walk_flush), not with a lookup of its own. */
		walk_edge(w, WALK_NOSLOT, cell, 0);
		walk_edge(w, WALK_SRC_PREV, v, walk_ename(FMT_EDGE_CELL, id));
	}
}

static void
walk_type_object(struct walker *w, uint32_t src, py_object *t)
{
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_DICT),
			WN_DICT);
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_MRO),
			WN_MRO);
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_BASE),
			WN_BASE);
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_BASES),
			WN_BASES);
}

/* String contents for STRDATA (design: only when opts->strings asks). */
static void
walk_strdata(struct walker *w, uint32_t src, py_object *o, int is_str)
{
	uint32_t id;
	size_t max = w->opts->strings;

	if (is_str) {
		ssize_t n = walk_str_utf8(w, o, max);
		if (n < 0)
			return;
		id = walk_intern(w, w->sbuf, (size_t)n);
	} else {
		ssize_t n = PY_FIELD(ssize_t, o, PY_OFF_SIZE);
		id = walk_intern(w, (const char *)o + PY_OFF_BYTES_SVAL,
				 (size_t)n < max ? (size_t)n : max);
	}
	if (id == WALK_NOSLOT ||
	    walk_grow(&w->strdata, &w->capstrdata, w->nstrdata + 1,
		      sizeof *w->strdata)) {
		walk_fail(w);
		return;
	}
	w->strdata[w->nstrdata].obj = src;
	w->strdata[w->nstrdata].str = id;
	w->nstrdata++;
}

/* Row of a special per-object summary name: "function (f)" etc. */
static uint32_t
walk_special_row(struct walker *w, int kind, uint32_t nameid)
{
	static const char *const fmts[] = {
		[WK_FUNCTION] = "function (%s)",
		[WK_FRAME] = "frame (codename: %s)",
		[WK_MODULE] = "module(%s)",
	};
	uint64_t key = ((uint64_t)(kind + 1) << 32) | nameid;
	uint32_t *row;
	int isnew;
	const char *name;
	char *text;
	size_t len;

	row = walk_map_put(&w->rowmap, key, 0, &isnew);
	if (!row) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	if (!isnew)
		return *row;
	name = w->strs[nameid].ptr;
	len = strlen(fmts[kind]) + w->strs[nameid].len;
	text = walk_realloc(NULL, len);
	if (!text) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	snprintf(text, len, fmts[kind], name);
	*row = walk_new_row(w, walk_intern_cstr(w, text));
	walk_free(text);
	return *row;
}

/* The name of module m (its __name__), or FMT_NO_STRING. */
static uint32_t
walk_module_name(struct walker *w, py_object *m)
{
	py_object *name = walk_dict_find(PY_FIELD(py_object *, m,
						  PY_OFF_MODULE_DICT),
					 "__name__");
	return walk_name_id(w, name);
}

/* The PyDictValues array (its values[]) holding o's attributes, or NULL
 * when o has a materialized __dict__ instead (or no attributes). */
static py_object **
walk_attr_values(const struct walk_type *ti, py_object *o, uint32_t *n)
{
	char *v;
	uintptr_t d;

	switch (ti->values) {
	case WV_PREHEADER:
		v = PY_FIELD(char *, o, PY_OFF_VALUES_PTR);
		break;
	case WV_TAGGED:
		d = PY_FIELD(uintptr_t, o, PY_OFF_MANAGED_DICT);
		v = (d & 1) ? (char *)(d + 1) : NULL;
		break;
	case WV_INLINE:
		v = (char *)o + PY_OFF_INLINE_VALUES;
		if (!PY_FIELD(uint8_t, v, PY_OFF_DV_VALID))
			return NULL;
		if (*n > PY_FIELD(uint8_t, v, PY_OFF_DV_CAPACITY))
			*n = PY_FIELD(uint8_t, v, PY_OFF_DV_CAPACITY);
		break;
	default:
		return NULL;
	}
	return v ? (py_object **)(v + py.lay.dv_values) : NULL;
}

/* Instance attributes kept as values: value i named by shared key i
 * (FMT_EDGE_ATTR).  The same referents come unnamed from tp_traverse;
 * fmt_edges_dedup keeps the named edge. */
static void
walk_instance_values(struct walker *w, uint32_t src,
		     const struct walk_type *ti, py_object *o)
{
	uint32_t n = ti->nattr;
	py_object **vals = walk_attr_values(ti, o, &n);

	for (uint32_t i = 0; vals && i < n && !w->err; i++) {
		py_object *key = PY_FIELD(py_object *, ti->attr_keys,
					  (size_t)i * PY_DK_UNICODE_ENTRY);
		uint32_t id;

		if (!vals[i] || !key)
			continue;
		id = walk_name_id(w, key);
		/* As walk_dict: "" is a name too (setattr(o, "", v)). */
		walk_edge(w, src, vals[i],
			  id != FMT_NO_STRING || walk_str_eq(key, "") ?
			  walk_ename(FMT_EDGE_ATTR, id) : FMT_EDGE_NONE);
	}
}

/*
 * FMT_OBJ_STATIC: o lives as long as the interpreter whatever holds it
 * (a static type, a singleton, a cached small int, an interned str), so
 * its refcount tells nothing about a leak (tools: orphans).  Reads only
 * fields the walk reads anyway, plus PyLong_AsSsize_t for an exact int.
 */
static int
walk_is_static(const struct walk_type *ti, py_object *o)
{
	ssize_t v;

	switch (ti->kind) {
	case WK_TYPE:
		return !(PY_TP_FLAGS(o) & PY_TPFLAGS_HEAPTYPE);
	case WK_STR:   /* PyASCIIObject.state.interned: its 2 low bits */
		return (PY_FIELD(uint32_t, o, PY_OFF_STR_STATE) & 3) != 0;
	default:
		break;
	}
	if (ti->type == py.PyLong_Type) {
		/* One digit at most (3.12+: lv_tag >> 3 digits, else
		 * |ob_size|), so the conversion cannot overflow. */
		size_t digits = py.minor >= 12 ?
			PY_FIELD(uintptr_t, o, PY_OFF_SIZE) >> 3 :
			(size_t)(PY_SIZE(o) < 0 ? -PY_SIZE(o) : PY_SIZE(o));

		if (digits > 1)
			return 0;
		v = py.PyLong_AsSsize_t(o);
		return v >= -5 && v <= 256;
	}
	return o == py._Py_NoneStruct || o == py._Py_TrueStruct ||
	       o == py._Py_FalseStruct || o == py._Py_EllipsisObject ||
	       o == py._Py_NotImplementedStruct;
}

/* Records object o (slot) and discovers what it refers to. */
static void
walk_object(struct walker *w, py_object *o, uint32_t slot)
{
	struct walk_type *ti = walk_type(w, PY_TYPE(o));
	uint32_t label = FMT_NO_STRING, row, tidx;
	uint8_t flags = 0;
	int isgc;
	uint64_t size;

	if (!ti)
		return;
	if (ti->invalid) {   /* design note 8: left out, and counted */
		w->skipped++;
		if (w->stream)
			walk_out_object(w, slot, WALK_SKIPPED, 0, 0, 0, 0);
		else if (w->graph)
			w->otype[slot] = WALK_SKIPPED;
		return;
	}
	tidx = (uint32_t)(ti - w->types);
	row = ti->row;
	isgc = walk_is_gc(ti, o);
	size = walk_sizeof(w, ti, o, isgc);
	w->cur = slot;
	w->nnamed = 0;

	switch (ti->kind) {
	case WK_DICT:
		walk_dict(w, slot, o);
		break;
	case WK_LIST:
	case WK_TUPLE:
		walk_seq(w, slot, o, ti->kind == WK_LIST);
		break;
	case WK_STR:
	case WK_BYTES:
		if (w->graph && w->opts->strings)
			walk_strdata(w, slot, o, ti->kind == WK_STR);
		break;
	case WK_TYPE:
		flags |= FMT_OBJ_TYPE;
		if (w->graph)
			label = walk_type_qualname(w, o);
		walk_type_object(w, slot, o);
		break;
	case WK_MODULE: {
		uint32_t name = walk_module_name(w, o);

		label = name;
		row = walk_special_row(w, WK_MODULE, name);
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  PY_OFF_MODULE_DICT),
				WN_DICT);
		break;
	}
	case WK_FUNCTION:
		if (w->graph)
			label = walk_name_id(w, PY_FIELD(py_object *, o,
						py.lay.fn_qualname));
		row = walk_special_row(w, WK_FUNCTION, walk_name_id(w,
				PY_FIELD(py_object *, o, py.lay.fn_name)));
		walk_function(w, slot, o);
		break;
	case WK_CODE:
		label = walk_name_id(w, PY_FIELD(py_object *, o,
						 py.lay.co_name));
		break;
	case WK_METHOD:
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  PY_OFF_METHOD_FUNC), WN_M_FUNC);
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  PY_OFF_METHOD_SELF), WN_M_SELF);
		break;
	case WK_FRAME: {
		py_object *co = walk_frame_code(o);

		label = co ? walk_name_id(w, PY_FIELD(py_object *, co,
						      py.lay.co_name)) : 0;
		row = walk_special_row(w, WK_FRAME, label);
		walk_frame(w, slot, o);
		break;
	}
	default:
		break;
	}
	if (row == WALK_NOSLOT || w->err)
		return;
	w->rows[row].count++;
	w->rows[row].size += size;

	/* Generic references: type, __dict__, __slots__, tp_traverse. */
	if (ti->heap)
		walk_edge_other(w, slot, ti->type, WN_CLASS);
	if (ti->dictoffset > 0)
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  ti->dictoffset), WN_DICT);
	else if (ti->managed_dict) {
		uintptr_t d = PY_FIELD(uintptr_t, o, PY_OFF_MANAGED_DICT);
		/* 3.12 tags an inline-values pointer with bit 0. */
		if (d && !(py.minor == 12 && (d & 1)))
			walk_edge_other(w, slot, (py_object *)d, WN_DICT);
		if (ti->nattr)
			walk_instance_values(w, slot, ti, o);
	}
	for (uint32_t i = 0; i < ti->nmem && !w->err; i++) {
		const struct walk_member *m = &w->members[ti->mem_start + i];

		walk_edge(w, slot, PY_FIELD(py_object *, o, m->offset),
			  walk_ename(FMT_EDGE_ATTR, m->name));
	}
	w->ncmp = 0;
	for (uint32_t i = 0; w->graph && i < ti->nmem_cmp; i++) {
		const struct walk_member *m =
			&w->members[ti->mem_start + ti->nmem + i];
		py_object *v = PY_FIELD(py_object *, o, m->offset);

		if (v) {   /* compared in walk_visit, never followed */
			w->cmp[w->ncmp].val = v;
			w->cmp[w->ncmp].name = m->name;
			w->ncmp++;
		}
	}
	if (isgc && ti->traverse && !ti->exact && !w->err) {
		w->cur = slot;
		if (ti->indexed && w->graph) {
			w->indexing = o;
			w->next_index = 0;
		}
		ti->traverse(o, walk_visit, w);
		w->indexing = NULL;
	}
	w->ncmp = 0;
	if (w->graph && !w->err) {
		uint64_t rc = PY_FIELD(uint64_t, o, PY_OFF_REFCNT);
		uint32_t rc32 = rc > UINT32_MAX ? UINT32_MAX : (uint32_t)rc;

		/* PyGC_Head._gc_next is non-zero while tracked (3.8+). */
		if (isgc && PY_FIELD(uintptr_t, o, -PY_GC_HEAD_SIZE) != 0)
			flags |= FMT_OBJ_GC_TRACKED;
		else if (walk_is_static(ti, o))
			flags |= FMT_OBJ_STATIC;
		if (w->stream) {
			walk_out_object(w, slot, tidx, size, rc32, label, flags);
			return;
		}
		w->otype[slot] = tidx;
		w->size[slot] = size;
		w->refcnt[slot] = rc32;
		w->label[slot] = label;
		w->oflags[slot] = flags;
	}
}

/*
 * Prefetches what walk_object reads past o's head: the rest of a big
 * object, a list's items, a dict's keys, a 3.11/3.12 instance's values.
 * o's head is in cache by now (walk_drain fetched it earlier).
 */
static WALK_PREFETCHER void
walk_prefetch_parts(py_object *o)
{
	py_object *t = PY_TYPE(o);
	unsigned long fl;

	if (t == py.PyDict_Type) {
		char *keys = PY_FIELD(char *, o, PY_OFF_DICT_KEYS);

		__builtin_prefetch(keys);
		__builtin_prefetch(keys + 64);
		return;
	}
	if (t == py.PyList_Type) {
		__builtin_prefetch(PY_FIELD(char *, o, PY_OFF_SEQ_ITEMS));
		return;
	}
	if (PY_FIELD(ssize_t, t, PY_OFF_TP_BASICSIZE) > 64)
		__builtin_prefetch((char *)o + 64);
	fl = PY_TP_FLAGS(t);
	if (!(fl & PY_TPFLAGS_MANAGED_DICT) || py.minor >= 13)
		return;
	if (py.minor == 11)
		__builtin_prefetch(PY_FIELD(char *, o, PY_OFF_VALUES_PTR));
	else if (py.minor == 12)
		__builtin_prefetch(PY_FIELD(char *, o, PY_OFF_MANAGED_DICT) + 1);
}

void
walk_drain(struct walker *w)
{
	while (!w->err) {
		uint32_t i;

		if (w->next == w->nslots) {
			walk_flush(w);   /* the pending edges queue more */
			if (w->next == w->nslots)
				break;
		}
		i = w->next++;
		if (i + WALK_AHEAD < w->nslots) {
			char *a = (char *)(uintptr_t)w->addr[i + WALK_AHEAD];

			__builtin_prefetch(a - 32);   /* gc and pre-header */
			__builtin_prefetch(a);
		}
		if (i + WALK_AHEAD / 2 < w->nslots)
			walk_prefetch_parts((py_object *)(uintptr_t)
					    w->addr[i + WALK_AHEAD / 2]);
		walk_object(w, (py_object *)(uintptr_t)w->addr[i], i);
		if (w->stream && !w->err && w->out->first + w->out->n == i) {
			w->skipped++;   /* no record: its type did not read */
			walk_out_object(w, i, WALK_SKIPPED, 0, 0, 0, 0);
		}
	}
}
