/*
 * walk.c - the heap walk (walk.h): with the GIL held, finds the objects of
 * the running interpreter and records what the dump needs; without the
 * GIL, sorts them into the form fmt_write expects.
 *
 * What is found: every GC-tracked object (the gc generation lists and
 * the permanent one, roots.c), every module in
 * sys.modules, the frames of every thread of this interpreter, and the
 * closure of all of those through tp_traverse and the walker's own readers
 * (dict entries, list/tuple items, frame locals, closure cells, __dict__,
 * __slots__ members, 3.11+ instance attributes kept as values without a
 * __dict__ (named from the type's shared keys), bound method __func__ and
 * __self__, type slots).  It deliberately does not see objects
 * held only by C statics or evaluation stacks.
 *
 * DESIGN NOTES
 *   1. No Python-level code runs: the walker reads memory through the
 *      pyapi.h offsets and calls only C functions that cannot run Python
 *      code (PyDict_Next, tp_traverse, the C __sizeof__ methods of the
 *      types, C getters of frames).  A type whose __sizeof__ is not a C
 *      method gets basicsize + itemsize * |ob_size| (counted in
 *      walk_stats.sizes_estimated).  The GC is disabled for the walk.
 *   2. The only Python objects the walk creates are frame objects for
 *      running frames on 3.11+ (as sys._current_frames does; the frame
 *      keeps them) and the int results of C __sizeof__ calls (freed at
 *      once).  Every pointer the walker keeps is borrowed from an object
 *      that stays alive for the whole walk, because nothing is freed while
 *      the GIL is held and no Python code runs.
 *   3. Storage is mem.h, or mmap for big arrays (never PyMem; see
 *      walk_realloc for the huge pages): an open-addressing hash table
 *      of 8-byte entries (walk_seen) gives each object a slot in
 *      discovery order, and the addr column, slots in that order, is the
 *      work queue: a breadth-first walk without recursion (object graphs
 *      are deep).
 *      Edges are (src slot, dst slot, name) triples; walk_finish turns
 *      slots into indices in address order and de-duplicates: an unnamed
 *      edge (from tp_traverse) is dropped when the same referrer names
 *      that referent (walk_visit already skips most of those).
 *   4. Per type the walker caches its Pympler name, its kind, how to size
 *      its instances, and its summary row: the per-object path does no
 *      name lookups except dict keys (cached per str object).
 *   5. On any allocation failure the whole walk is unwound: nothing is
 *      left behind and *out is empty.
 *   6. The walk is bound by memory latency (about a cache miss per object
 *      and per new referent, measured with perf), so the seen table is
 *      kept small (8 bytes an entry) and the walk fetches ahead wherever
 *      it knows what comes next: table entries a batch of edges at a time
 *      (walk_flush), objects and their parts from the queue (walk_drain),
 *      the gc lists read in chunks with nothing in between
 *      (walk_gc_discover).  Page faults, most of a first walk's time, go
 *      before it: walk_prepare sizes and faults the arrays in without the
 *      GIL, from walk_expect's estimate.
 *   7. The walker reads an object's memory only where CPython itself
 *      would.  A type's tp_members are read directly only along the part
 *      of its tp_base chain whose tp_traverse is subtype_traverse (that is
 *      the rule subtype_traverse follows: a base written in C owns its
 *      layout, and a member it declares may lie about it: mypyc's trait
 *      bases declare a __dict__ member at offset 16 that holds the vtable
 *      pointer in their native subclasses).  A member of any other base
 *      only names a referent that tp_traverse has already given (compare
 *      by value, walk_visit's cmp list).  __dict__ and __weakref__ members
 *      are never read as members.  Offsets must lie inside tp_basicsize;
 *      tp_dictoffset must be 8-aligned and inside it too; the managed dict
 *      and inline values (3.11+) are read only when tp_traverse is
 *      subtype_traverse; ob_size only for basicsize >= 24.
 *   8. A type is trusted only after it has been checked (walk_type_valid),
 *      once per type: its memory is readable (the /proc/self/maps ranges,
 *      read once a walk), Py_TPFLAGS_READY is set, its metatype chain ends
 *      at `type`, its sizes are sane, its tp_base chain ends at `object`,
 *      tp_mro is a tuple of types, tp_dict a dict and its name a str.  The
 *      objects of a type that fails are skipped: not recorded, their edges
 *      and roots dropped by walk_finish, counted in walk_stats.skipped
 *      (META `skipped`).  A skipped object can hide what only it holds;
 *      a crash would hide the whole program.
 *   9. (walk_hint_*) The sizes of the last walk size the next one's
 *      storage; a first walk asks walk_expect.
 *  10. A snapshot child's first read of each page is slow on some hosts:
 *      on a shadow-paging hypervisor (PVM: this project's CI machines)
 *      every page of the parent costs the child ~4.5 us the first time
 *      it reads it, in every thread of the child at once, against ~20 ns
 *      on bare metal; half a fork walk's time was that.  So the helper,
 *      while it has no chunk to encode, reads one byte of every resident
 *      page of the parent's anonymous memory (walk_opts.warm, maps.h's
 *      list) ahead of the walk, a block of pages between looks at the
 *      chunk queue, and stops when the walk ends.  Pages it reads the
 *      walk then finds ready; where the two meet, a page is read twice.
 *
 * The files: walker.h lists which part of the walk each owns (walk.c:
 * discovery, the edge batches and the life cycle).
 * Neighbours: pyapi.[ch] (CPython entry points and offsets), shim.c (calls
 * walk_heap with the GIL, walk_finish without it), format/ (fmt_write).
 */
#include "shim/walk/walker.h"

#include <string.h>   /* memset */

#include "common/clock.h"  /* muppy_now_ns */

/* Sizes of the last complete walk (GIL-protected, like the walk). */
static size_t walk_hint_objects, walk_hint_edges;

/* ---- objects and edges ------------------------------------------------------- */

static int
walk_is_excluded(const struct walker *w, py_object *o)
{
	for (size_t i = 0; i < w->opts->nexclude; i++)
		if (w->opts->exclude[i] == (uintptr_t)o)
			return 1;
	return 0;
}

/*
 * Second half of discovering o, just entered in w->seen (at at) with
 * slot w->nslots: gives o that slot, which queues it for processing (the
 * addr column is the queue: design note 3), or marks it excluded.
 * Returns the slot or WALK_NOSLOT.
 */
static inline uint32_t
walk_new_object(struct walker *w, py_object *o, size_t at)
{
	if (w->opts->nexclude && walk_is_excluded(w, o)) {
		walk_seen_exclude(&w->seen, at);
		return WALK_NOSLOT;
	}
	if (w->nslots == WALK_SRC_PREV - 1)
		goto fail;
	if (w->nslots >= w->capobj) {
		size_t cap = w->capobj, c;

		/* All columns share capobj: grow each to the same. */
		c = cap; if (walk_grow(&w->addr, &c, cap + 1, 8)) goto fail;
		if (w->graph && !w->stream) {
			c = cap; if (walk_grow(&w->size, &c, cap + 1, 8)) goto fail;
			c = cap; if (walk_grow(&w->refcnt, &c, cap + 1, 4)) goto fail;
			c = cap; if (walk_grow(&w->otype, &c, cap + 1, 4)) goto fail;
			c = cap; if (walk_grow(&w->label, &c, cap + 1, 4)) goto fail;
			c = cap; if (walk_grow(&w->oflags, &c, cap + 1, 1)) goto fail;
		}
		w->capobj = c;
	}
	w->addr[w->nslots] = (uint64_t)(uintptr_t)o;
	return w->nslots++;
fail:
	walk_fail(w);
	return WALK_NOSLOT;
}

uint32_t
walk_discover(struct walker *w, py_object *o)
{
	uint32_t slot;
	size_t at;
	int isnew;

	if (!o || w->err)
		return WALK_NOSLOT;
	if (walk_seen_reserve(&w->seen, 1) != 0 ||
	    (isnew = walk_seen_put(&w->seen, (uint64_t)(uintptr_t)o,
				   w->nslots, &slot, &at)) < 0) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	return isnew ? walk_new_object(w, o, at) : slot;
}

/* Room for add more edges in the three edge columns. */
static int
walk_edges_reserve(struct walker *w, size_t add)
{
	size_t cap = w->capedges, c;

	if (w->nedges + add <= cap)
		return 0;
	c = cap;
	if (walk_grow(&w->esrc, &c, w->nedges + add, 4))
		return -1;
	c = cap;
	if (walk_grow(&w->edst, &c, w->nedges + add, 4))
		return -1;
	c = cap;
	if (walk_grow(&w->ename, &c, w->nedges + add, 4))
		return -1;
	w->capedges = c;
	return 0;
}

void
walk_flush(struct walker *w)
{
	size_t n = w->npend;

	w->npend = 0;
	if (!n || w->err)
		return;
	if (walk_seen_reserve(&w->seen, n) != 0 ||
	    (w->graph && !w->stream && walk_edges_reserve(w, n) != 0)) {
		walk_fail(w);
		return;
	}
	for (size_t i = 0; i < n && i < WALK_PREFETCH; i++)
		walk_seen_prefetch(&w->seen, (uint64_t)(uintptr_t)w->pend[i].obj);
	for (size_t i = 0; i < n && !w->err; i++) {
		const struct walk_pending *p = &w->pend[i];
		uint32_t dst, src = p->src;
		size_t at;
		int isnew;

		if (i + WALK_PREFETCH < n)
			walk_seen_prefetch(&w->seen, (uint64_t)(uintptr_t)
					   w->pend[i + WALK_PREFETCH].obj);
		if (src == WALK_SRC_PREV) {
			src = w->prev;
			if (src == WALK_NOSLOT)
				continue;   /* from an excluded object */
		}
		isnew = walk_seen_put(&w->seen, (uint64_t)(uintptr_t)p->obj,
				      w->nslots, &dst, &at);
		if (isnew < 0) {
			walk_fail(w);
			return;
		}
		if (isnew)
			dst = walk_new_object(w, p->obj, at);
		w->prev = dst;
		if (dst == WALK_NOSLOT || !w->graph || src == WALK_NOSLOT)
			continue;
		if (w->stream) {
			walk_out_edge(w, src, dst, p->name);
			w->nedges++;
			continue;
		}
		w->esrc[w->nedges] = src;
		w->edst[w->nedges] = dst;
		w->ename[w->nedges] = p->name;
		w->nedges++;
	}
}

int
walk_visit(py_object *o, void *arg)
{
	struct walker *w = arg;

	if (!o)
		return 0;
	for (uint32_t i = 0; i < w->nnamed; i++)
		if (w->named[i] == o)
			return 0;
	for (uint32_t i = 0; i < w->ncmp; i++) {
		if (w->cmp[i].val == o) {   /* design note 7: a member's name */
			uint32_t name = w->cmp[i].name;

			w->cmp[i] = w->cmp[--w->ncmp];
			walk_edge(w, w->cur, o, walk_ename(FMT_EDGE_ATTR, name));
			return 0;
		}
	}
	if (w->indexing && o != PY_TYPE(w->indexing)) {   /* a deque item */
		uint32_t i = w->next_index++;

		walk_edge(w, w->cur, o, walk_ename(FMT_EDGE_INDEX,
			  i > FMT_EDGE_VALUE_MAX ? UINT32_MAX : i));
		return 0;
	}
	walk_edge(w, w->cur, o, FMT_EDGE_NONE);
	return 0;
}

/* ---- life cycle -------------------------------------------------------------- */

void
walk_free_walker(struct walker *w)
{
	struct walk_chunk *c, *next;

	if (!w)
		return;
	walk_ranges_free(&w->ranges);
	walk_seen_free(&w->seen);
	walk_map_free(&w->strhash);
	walk_map_free(&w->strobj);
	walk_map_free(&w->typemap);
	walk_map_free(&w->rowmap);
	for (c = w->chunks; c; c = next) {
		next = c->next;
		walk_free(c);
	}
	walk_free(w->addr); walk_free(w->size); walk_free(w->refcnt);
	walk_free(w->otype); walk_free(w->label); walk_free(w->oflags);
	walk_free(w->esrc); walk_free(w->edst); walk_free(w->ename);
	walk_free(w->strs); walk_free(w->strnext); walk_free(w->sbuf);
	walk_free(w->types); walk_free(w->members); walk_free(w->rows);
	walk_free(w->roots); walk_free(w->strdata);
	walk_free(w->f_addr); walk_free(w->f_size); walk_free(w->f_refcnt);
	walk_free(w->f_estart); walk_free(w->f_type); walk_free(w->f_label);
	walk_free(w->f_edst); walk_free(w->f_ename); walk_free(w->f_flags);
	walk_free(w->f_types);
	walk_out_free(w);
	walk_free(w);
}

/*
 * Objects to expect when no walk ran before: sys.getallocatedblocks(), a
 * C function (O(arenas) on 3.12+, a counter before), called only if it
 * still is the builtin.  It counts every pymalloc block, so small objects
 * and their small buffers: within about 2x above the object count for a
 * heap of small objects (1.33x for bench/heap_app.py).  Without it the
 * first walk grew its table by rehashing from empty, 70-120 ms more per
 * 1M objects; a table too big costs its pages, the walk's memory.  0 if
 * unknown.
 */
static size_t
walk_guess_objects(void)
{
	py_object *f = py.PySys_GetObject("getallocatedblocks");  /* borrowed */
	py_object *r;
	ssize_t n;

	if (!f || PY_TYPE(f) != py.PyCFunction_Type)
		return 0;
	r = py.PyObject_CallObject(f, NULL);
	if (!r) {
		py.PyErr_Clear();
		return 0;
	}
	n = py.PyLong_AsSsize_t(r);
	py.Py_DecRef(r);
	if (n < 0) {
		py.PyErr_Clear();
		return 0;
	}
	/* walk_new adds 1/8 for a heap that grew since the hint; a count of
	 * blocks is above the object count already. */
	return (size_t)n - (size_t)n / 9;
}

/*
 * A walker sized for about hint objects and hint_edges edges (0: unknown),
 * every page of it faulted in if prefault.  Needs no GIL: it reads no
 * Python state.
 */
static struct walker *
walk_new(int graph, size_t hint, size_t hint_edges, int prefault)
{
	struct walker *w = walk_realloc(NULL, sizeof *w);
	size_t n = hint + hint / 8;

	if (!w)
		return NULL;
	memset(w, 0, sizeof *w);
	w->graph = graph != 0;
	if (walk_seen_init(&w->seen, n) ||
	    walk_map_init(&w->strhash, 1024) ||
	    walk_map_init(&w->strobj, 1024) ||
	    walk_map_init(&w->typemap, 256) ||
	    walk_map_init(&w->rowmap, 256) ||
	    walk_intern(w, "", 0) != 0)
		goto fail;
#define WALK_NM_INTERN(id, text) \
	if ((w->names[WN_##id] = walk_intern_cstr(w, text)) == WALK_NOSLOT) \
		goto fail;
	WALK_FIXED_NAMES(WALK_NM_INTERN)
#undef WALK_NM_INTERN
	/* Sized from the last walk: growth copies and rehashes cost GIL
	 * time (the next heap is usually about the same). */
	if (hint) {
		size_t c = 0;

		if (walk_grow(&w->addr, &c, n, 8))
			goto fail;
		w->capobj = c;
		if (prefault)
			walk_prefault(w->addr, hint * 8);
	}
	if (w->graph && hint) {
		/* Edges: as many as last time, else 2.5 per object (hint
		 * is then the allocator's block count, above the object
		 * count).  Room for 1/8 more; only the expected part is
		 * faulted in (what is never used is never touched). */
		size_t he = hint_edges ? hint_edges : hint * 5 / 2, c;
		size_t ne = he + he / 8;

		c = 0; if (walk_grow(&w->size, &c, n, 8)) goto fail;
		c = 0; if (walk_grow(&w->refcnt, &c, n, 4)) goto fail;
		c = 0; if (walk_grow(&w->otype, &c, n, 4)) goto fail;
		c = 0; if (walk_grow(&w->label, &c, n, 4)) goto fail;
		c = 0; if (walk_grow(&w->oflags, &c, n, 1)) goto fail;
		w->capobj = c;
		if (walk_edges_reserve(w, ne))
			goto fail;
		if (prefault) {
			walk_prefault(w->size, hint * 8);
			walk_prefault(w->refcnt, hint * 4);
			walk_prefault(w->otype, hint * 4);
			walk_prefault(w->label, hint * 4);
			walk_prefault(w->oflags, hint);
			walk_prefault(w->esrc, he * 4);
			walk_prefault(w->edst, he * 4);
			walk_prefault(w->ename, he * 4);
		}
	}
	return w;
fail:
	walk_free_walker(w);
	return NULL;
}

size_t
walk_expect(size_t *edges)
{
	py_object *et, *ev, *etb;
	size_t n;

	*edges = walk_hint_edges;
	if (walk_hint_objects)
		return walk_hint_objects;
	if (py_api_init() != 0)
		return 0;
	py.PyErr_Fetch(&et, &ev, &etb);   /* the caller's error survives */
	n = walk_guess_objects();
	py.PyErr_Restore(et, ev, etb);
	return n;
}

struct walk_prep *
walk_prepare(int graph, size_t objects, size_t edges, int prefault)
{
	if (!objects)
		return NULL;
	return (struct walk_prep *)walk_new(graph, objects, edges, prefault);
}

void
walk_prep_free(struct walk_prep *prep)
{
	walk_free_walker((struct walker *)prep);
}

/* A type's own row is made when the type is first met, but functions,
 * frames and modules are counted under per-object rows ("function (f)"),
 * so their type rows can stay empty: Pympler has no such rows. */
static void
walk_drop_empty_rows(struct walker *w)
{
	size_t i, n = 0;

	for (i = 0; i < w->nrows; i++)
		if (w->rows[i].count)
			w->rows[n++] = w->rows[i];
	w->nrows = n;
}

static void
walk_fill_summary(struct walker *w, struct walk_result *out)
{
	struct fmt_dump *d = &out->dump;

	d->major = MUPPY_FORMAT_MAJOR;
	d->minor = FMT_MINOR_WHOLE;
	d->flags = w->graph ? FMT_FLAG_GRAPH : 0;
	if (w->graph && w->opts->strings)
		d->flags |= FMT_FLAG_STRINGS;
	if (w->stream)
		d->flags |= FMT_FLAG_STREAM;
	d->nstrings = (uint32_t)w->nstrs;
	d->strings = w->strs;
	walk_drop_empty_rows(w);
	d->nsummary = (uint32_t)w->nrows;
	d->summary = w->rows;
	if (w->stream) {   /* the tail names objects by slot */
		d->nroots = (uint32_t)w->nroots;
		d->roots = w->roots;
		d->nstrdata = (uint32_t)w->nstrdata;
		d->strdata = w->strdata;
	}
}

int
walk_heap(const struct walk_opts *opts, struct walk_prep *prep,
	  struct walk_result *out, struct walk_stats *stats)
{
	uint64_t t0 = muppy_now_ns(CLOCK_MONOTONIC);
	struct walker *w = (struct walker *)prep;
	const struct py_methoddef *m;
	py_object *et, *ev, *etb;
	int gc_was, rc, columns;
	uint64_t ahead = 0;

	if (out)
		memset(out, 0, sizeof *out);
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (!opts || !out || py_api_init() != 0) {
		walk_free_walker(w);
		return MUPPY_EINVAL;
	}
	/* A streamed walk keeps no columns: its storage is a summary
	 * walk's (walk_prepare(0, ...)). */
	columns = opts->graph && !opts->stream;
	if (w && w->graph != columns) {
		walk_free_walker(w);
		w = NULL;
	}
	py.PyErr_Fetch(&et, &ev, &etb);   /* C __sizeof__ needs a clean slate */
	if (!w) {
		size_t edges, objects = walk_expect(&edges);

		w = walk_new(columns, objects, edges, 0);
	}
	if (w && opts->stream) {
		w->graph = 1;
		w->stream = opts->stream;
		if (walk_out_start(w, opts->stream, opts->helper,
				   opts->warm) != 0) {
			walk_free_walker(w);
			w = NULL;
		}
	}
	if (!w) {
		py.PyErr_Restore(et, ev, etb);
		return MUPPY_ENOMEM;
	}
	w->opts = opts;
	m = walk_find_method(py.PyBaseObject_Type, "__sizeof__");
	w->object_sizeof = m ? m->ml_meth : NULL;
	w->subtype_traverse = walk_find_subtype_traverse();
	w->skipped = 0;
	walk_ranges_read(&w->ranges);   /* design note 8 */
	w->ranges.reread = !w->ranges.ok;   /* unreadable maps: trust none */
	gc_was = walk_gc_off();
	walk_modules(w);
	walk_threads(w);
	rc = walk_gc_objects(w);
	if (rc == 0)
		walk_drain(w);
	if (rc == 0 && w->stream)
		walk_out_flush(w);   /* the last chunk */
	if (w->stream) {
		walk_out_end(w);
		ahead = w->pipe.ahead;
	}

	walk_gc_on(gc_was);
	py.PyErr_Restore(et, ev, etb);
	if (rc == 0 && w->err)
		rc = w->err;
	if (rc != 0) {
		walk_free_walker(w);
		return rc;
	}
	walk_hint_objects = w->nslots;
	walk_hint_edges = w->nedges;
	/* Only the walk looks addresses up: the seen table (the largest
	 * array, 8 bytes an entry at 45-70% load) goes before walk_finish
	 * and the encoder allocate theirs, lowering the snapshot's peak; so
	 * does the queue of a summary walk. */
	walk_seen_free(&w->seen);
	if (!w->graph || w->stream) {
		walk_free(w->addr);
		w->addr = NULL;
	}
	walk_fill_summary(w, out);
	w->f_types = walk_realloc(NULL, (w->ntypes + 1) * sizeof *w->f_types);
	if (!w->f_types) {
		walk_free_walker(w);
		memset(out, 0, sizeof *out);
		return MUPPY_ENOMEM;
	}
	for (size_t i = 0; i < w->ntypes; i++) {
		w->f_types[i].addr = (uint64_t)(uintptr_t)w->types[i].type;
		w->f_types[i].name = w->types[i].name;
	}
	out->dump.ntypes = (uint32_t)w->ntypes;
	out->dump.types = w->f_types;
	out->priv = w;
	out->dump.nobjects = w->graph ? w->nslots : 0;
	if (stats) {
		stats->objects = w->nslots - w->skipped;
		stats->edges = w->nedges;
		stats->sizes_estimated = w->estimated;
		stats->skipped = w->skipped;
		stats->chunks_ahead = ahead;
		stats->walk_ns = muppy_now_ns(CLOCK_MONOTONIC) - t0;
	}
	return 0;
}
