/*
 * roots.c - where the walk starts: the modules of sys.modules, the frames
 * of every thread, and every object on the gc lists (read directly on
 * every version: walk_gc_objects says why), plus turning the collector off
 * and on around a walk.
 */
#include "shim/walk/walker.h"

#include <stdio.h>    /* snprintf */
#include <string.h>   /* memset */

/* ---- where the walk starts ------------------------------------------------ */

static void
walk_add_root(struct walker *w, uint32_t slot, uint32_t kind, uint32_t name)
{
	if (slot == WALK_NOSLOT || !w->graph || w->err)
		return;
	if (walk_grow(&w->roots, &w->caproots, w->nroots + 1,
		      sizeof *w->roots)) {
		walk_fail(w);
		return;
	}
	w->roots[w->nroots].obj = slot;
	w->roots[w->nroots].kind = kind;
	w->roots[w->nroots].name = name;
	w->nroots++;
}

void
walk_modules(struct walker *w)
{
	py_object *mods = py.PyImport_GetModuleDict(), *k, *v;
	ssize_t pos = 0;

	walk_discover(w, mods);
	while (mods && !w->err && py.PyDict_Next(mods, &pos, &k, &v))
		walk_add_root(w, walk_discover(w, v), FMT_ROOT_MODULE,
			      w->graph ? walk_name_id(w, k) : 0);
}

/* The innermost frame of thread state ts (new reference), or NULL. */
static py_object *
walk_thread_frame(void *ts)
{
	py_object *f;

	if (py.minor == 8) {
		f = PY_FIELD(py_object *, ts, py.lay.ts_frame);
		if (f)
			py.Py_IncRef(f);
		return f;
	}
	return py.PyThreadState_GetFrame(ts);
}

/* The caller of frame f (new reference), or NULL. */
static py_object *
walk_frame_back(py_object *f)
{
	py_object *b;

	if (py.minor == 8) {
		b = PY_FIELD(py_object *, f, py.lay.fr_back);
		if (b)
			py.Py_IncRef(b);
		return b;
	}
	return py.PyFrame_GetBack(f);
}

void
walk_threads(struct walker *w)
{
	void *interp = py.minor == 8 ? py._PyInterpreterState_Get() :
				       py.PyInterpreterState_Get();

	for (void *ts = py.PyInterpreterState_ThreadHead(interp);
	     ts && !w->err; ts = py.PyThreadState_Next(ts)) {
		py_object *f = walk_thread_frame(ts);
		char name[48];
		uint32_t id = 0;

		if (!f)
			continue;
		if (w->graph) {
			snprintf(name, sizeof name, "thread %lu",
				 PY_FIELD(unsigned long, ts,
					  py.lay.ts_thread_id));
			id = walk_intern_cstr(w, name);
		}
		walk_add_root(w, walk_discover(w, f), FMT_ROOT_FRAME, id);
		while (f && !w->err) {
			py_object *back = walk_frame_back(f);
			uint32_t fs = walk_discover(w, f);

			if (back)
				walk_edge_other(w, fs, back, WN_F_BACK);
			py.Py_DecRef(f);
			f = back;
		}
		if (f)
			py.Py_DecRef(f);
	}
}

/*
 * Discovers the gc objects collected in gcbuf.  The collector's lists are
 * read WALK_GC_CHUNK nodes at a time, with nothing in between: a chain of
 * dependent loads runs fastest alone, and the table lookups then go in
 * batches (walk_flush).
 */
static void
walk_gc_discover(struct walker *w)
{
	for (size_t i = 0; i < w->ngcbuf; i++)
		walk_edge(w, WALK_NOSLOT, w->gcbuf[i], 0);
	w->ngcbuf = 0;
}

/* PyUnstable_GC_VisitObjects callback (3.12+): discovers o only (it is
 * processed later, when the collector no longer holds a reference). */
static int
walk_gc_visit(py_object *o, void *arg)
{
	struct walker *w = arg;

	w->gcbuf[w->ngcbuf++] = o;
	if (w->ngcbuf == WALK_GC_CHUNK)
		walk_gc_discover(w);
	return w->err ? 0 : 1;
}

/* The gc state: in _PyRuntime (3.8) or the interpreter. */
static char *
walk_gc_state(void)
{
	char *base = py.lay.gc_in_runtime ? (char *)py._PyRuntime :
		     (char *)(py.minor == 8 ? py._PyInterpreterState_Get() :
			      py.PyInterpreterState_Get());
	return base ? base + py.lay.gc_state : NULL;
}

/* 1 if head looks like a gc list's head: a circular PyGC_Head list whose
 * first node points back at it (the layout table could be wrong for this
 * build). */
static int
walk_gc_head_ok(const uintptr_t *head)
{
	const uintptr_t *g = (const uintptr_t *)head[0];

	return g && (g[1] & ~(uintptr_t)3) == (uintptr_t)head;
}

/* One gc list, a circular PyGC_Head list checked by walk_gc_head_ok. */
static void
walk_gc_list(struct walker *w, uintptr_t *head)
{
	uintptr_t *g = (uintptr_t *)head[0];

	while (g != head && !w->err) {
		while (g != head && w->ngcbuf < WALK_GC_CHUNK) {
			w->gcbuf[w->ngcbuf++] = (py_object *)(g + 2);
			g = (uintptr_t *)g[0];
		}
		walk_gc_discover(w);
	}
}

/* The three generations' heads, then the permanent one's (gc.freeze). */
static uintptr_t *
walk_gc_head(char *gc, int i)
{
	return (uintptr_t *)(gc + (i < 3 ? py.lay.gc_generations + 24 * i :
				   py.lay.gc_permanent));
}

/*
 * The gc state, trusted only once it has shown itself where it can (3.10+,
 * whose PyGC_Enable and PyGC_Disable do not go through the layout): the
 * structures are internal, so the table's offset is checked by watching
 * the `enabled` flag follow those two calls (the collector is off for the
 * walk, and nothing can allocate in between).  NULL if it does not, or if
 * a list head does not look like one.
 */
static char *
walk_gc_state_checked(void)
{
	char *gc = walk_gc_state();
	volatile int *enabled;
	int seen_on;

	if (!gc)
		return NULL;
	if (py.PyGC_Enable && py.PyGC_Disable) {
		enabled = (volatile int *)(gc + py.lay.gc_enabled);
		if (*enabled != 0)
			return NULL;
		py.PyGC_Enable();
		seen_on = *enabled == 1;
		py.PyGC_Disable();
		if (!seen_on || *enabled != 0)
			return NULL;
	}
	for (int i = 0; i < 4; i++)
		if (!walk_gc_head_ok(walk_gc_head(gc, i)))
			return NULL;
	return gc;
}

/*
 * Every object on the gc lists, read directly.  3.12+ has an API for
 * it, but PyUnstable_GC_VisitObjects increfs and decrefs each object it
 * visits, and in a snapshot child that write copies every page that
 * holds a gc object, most of the heap (perf at 1M objects on 3.12: more
 * than half the child's walk was copy-on-write faults).  It also leaves
 * out the permanent generation (gc.freeze), which the lists give, as on
 * 3.8-3.11.  The API is the fallback where the layout does not check out.
 */
int
walk_gc_objects(struct walker *w)
{
	char *gc = walk_gc_state_checked();

	if (!gc && py.minor >= 12) {
		py.PyUnstable_GC_VisitObjects(walk_gc_visit, w);
		walk_gc_discover(w);
		return 0;
	}
	if (!gc)
		return MUPPY_EINVAL;
	for (int i = 0; i < 4; i++)
		walk_gc_list(w, walk_gc_head(gc, i));
	return 0;
}

int
walk_gc_off(void)
{
	int *enabled;
	int was;

	if (py.PyGC_Disable)
		return py.PyGC_Disable();
	enabled = (int *)(walk_gc_state() + py.lay.gc_enabled);
	was = *enabled;
	*enabled = 0;
	return was;
}

void
walk_gc_on(int was)
{
	if (!was)
		return;
	if (py.PyGC_Enable)
		py.PyGC_Enable();
	else
		*(int *)(walk_gc_state() + py.lay.gc_enabled) = was;
}
