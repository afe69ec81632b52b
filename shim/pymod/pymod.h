/*
 * pymod.h - the built-in `muppy` module that libmuppy.so registers in the
 * profiled interpreter: the seed's (Pympler's) Python API, implemented in C
 * on the same heap walker as the dumps (walk.h).
 *
 * Public to the rest of the shim: pymod_register() only.  shim.c calls it
 * from the constructor while !Py_IsInitialized(): it appends "muppy" to the
 * interpreter's table of built-in modules (PyImport_AppendInittab), which
 * CPython 3.12+ refuses fatally after initialization.  What the module needs
 * of the shim's runtime (writing a dump, the shim's own objects) comes in
 * as callbacks (struct pymod_host), so nothing here depends on shim/runtime
 * (the Bazel targets forbid it).
 *
 * The rest of this header is the private contract between the pymod_*.c
 * files: pymod.c (module set-up, the CPython entry points, `muppy.*`),
 * pymod_summary.c (names, sizes, summaries and the table text),
 * pymod_tracker.c (tracker.SummaryTracker) and pymod_refbrowser.c
 * (refbrowser.ConsoleBrowser/FileBrowser).  No Python header is included:
 * Python objects are opaque (py_object) and the few fields read directly are
 * at shim/cpython's offsets (docs/cpython.md, "Layout").
 *
 * DESIGN NOTES
 *   1. No Python-level code runs during a walk: user code (str_func, a
 *      file's write, isinstance hooks) runs only after walk_heap returned.
 *   2. Objects found by a walk are increfed (pm_hold) before anything can
 *      allocate a Python object: an allocation may trigger a GC pass that
 *      would free objects whose addresses the walk holds.
 *   3. The tracker keeps its summaries as C data, so its bookkeeping is not
 *      in the heap it measures.
 */
#ifndef MUPPY_SHIM_PYMOD_H
#define MUPPY_SHIM_PYMOD_H

#include <stddef.h>    /* size_t */
#include <stdint.h>    /* int64_t, uintptr_t */
#include <sys/types.h> /* ssize_t */

#include "common/text.h"         /* struct text_buf */
#include "shim/cpython/pyapi.h" /* PY_OFF_*, PY_TPFLAGS_*: the one layout */

/* What the module asks of its host, the shim's runtime. */
struct pymod_host {
	/* muppy.dump(): a snapshot now, GIL held; path NULL for the usual
	 * name.  The file's name into out_path (n bytes).  0 or a negative
	 * errno value (-ENOSYS: no snapshots in this process). */
	int (*dump_now)(const char *trigger, const char *path, char *out_path,
			size_t n);
	/* The Python objects the host made itself, which no walk reports:
	 * a borrowed array of *n addresses. */
	const uintptr_t *(*own_objects)(size_t *n);
};

/*
 * Registers the built-in module "muppy" with the interpreter.  Call once,
 * before Py_Initialize (from the shim's constructor); host is kept (it
 * must stay valid).  Brings up the CPython binding (py_api_init) that the
 * module's code then relies on.  Returns 0, or -1 if the interpreter is
 * already initialized, the binding failed or an entry point the module
 * needs (PY_MOD in pyapi.h) is missing: the module is then simply not
 * importable; nothing is printed.
 */
int pymod_register(const struct pymod_host *host);

/* ---- private to pymod*.c ------------------------------------------------ */

/* The CPython entry points are the one binding's (py.*, shim/cpython);
 * these are the few idioms built on them. */
static inline void pm_incref(py_object *o) { py.Py_IncRef(o); }
static inline void pm_decref(py_object *o) { if (o) py.Py_DecRef(o); }
static inline py_object *
pm_none(void)
{
	pm_incref(py._Py_NoneStruct);
	return py._Py_NoneStruct;
}
static inline py_object *
pm_bool(int v)
{
	py_object *b = v ? py._Py_TrueStruct : py._Py_FalseStruct;

	pm_incref(b);
	return b;
}

/* ---- pymod.c helpers ---------------------------------------------------- */

/* PyModule_Create2 on def (static storage). */
py_object *pm_module_new(struct py_moduledef *def);

/* Adds a new type from spec as m.name; when keep is not NULL the type
 * stays referenced from *keep too.  0 or -1 (exception set). */
int pm_add_type(py_object *m, const char *name, struct py_type_spec *spec,
		py_object **keep);

/* walk_opts.exclude for pymod's walks: extra[0..nextra) plus the shim's
 * own objects (which its dumps leave out too), into ex (PM_MAX_EXCLUDE
 * entries).  Returns the count. */
#define PM_MAX_EXCLUDE 16
size_t pm_exclusions(uintptr_t *ex, const uintptr_t *extra, size_t nextra);

/* Objects found by one walk, increfed (design note 2).  Owns the refs. */
struct pm_held {
	py_object **objs;
	size_t n;
};
/* Walks the heap (graph mode), leaving out exclude[0..nexclude) and, unless
 * frames, frame objects; holds a reference to every object found.  GIL
 * held.  Returns 0, or -1 with a Python exception set.  If res is not NULL
 * the walk's result is kept there (walk_finish applied) for graph use. */
struct walk_result;
int pm_walk_hold(struct pm_held *h, int frames, const uintptr_t *exclude,
		 size_t nexclude, struct walk_result *res);
void pm_held_release(struct pm_held *h);

/* objects as a list or tuple (new reference) and its items; NULL with a
 * TypeError set if it is not iterable. */
py_object *pm_fast(py_object *objects, py_object ***items, ssize_t *n);

/* Writes text (UTF-8) to file.write, file NULL or None: sys.stdout.
 * Returns 0 or -1 with an exception set. */
int pm_write(py_object *file, const char *text, size_t len);

/* The host's dump_now (struct pymod_host): a snapshot now, its path into
 * out; 0 or a negative errno (-ENOSYS: no host in this process). */
int pm_dump_now(const char *trigger, const char *path, char *out, size_t n);

/* UTF-8 of a str (borrowed from o), or of str(o) kept in *tmp (which the
 * caller releases); NULL with an exception set. */
const char *pm_text(py_object *o, py_object **tmp, ssize_t *len);

/* muppy.get_diff(left, right) (for tracker.ObjectTracker). */
py_object *pm_get_diff(py_object *self, py_object *args, py_object *kw);

/* tp_new of our heap types: a zeroed instance (__init__ fills it). */
py_object *pm_new_instance(py_object *type, py_object *args, py_object *kw);

/* tp_dealloc's end for our heap types: tp_free, then the type's ref. */
void pm_free_instance(py_object *self);

/* PyErr_SetString(PyExc_<which>, msg); returns NULL for `return pm_err`. */
py_object *pm_err(py_object **exc, const char *msg);

/* ---- pymod_summary.c ---------------------------------------------------- */

/* One summary row as C data (tracker, summarize). */
struct pm_row {
	char *name;        /* owned, UTF-8 */
	int64_t count;
	int64_t size;
};
struct pm_summary {
	struct pm_row *rows;
	size_t n, cap;
};
void pm_summary_free(struct pm_summary *s);

/* Aggregates objs into rows in Pympler's first-seen order.  GIL held; runs
 * no Python-level code.  Returns 0 or -1 (Python exception set). */
int pm_summarize_c(py_object *const *objs, size_t n, struct pm_summary *out);

/* The walker's own summary rows (a summary-mode walk), merged by name,
 * frame rows left out unless frames.  0 or -1 (exception set). */
struct fmt_dump;
int pm_summary_from_dump(const struct fmt_dump *d, int frames,
			 struct pm_summary *out);

/* sys.getsizeof(o) the walker's way (no Python-level __sizeof__). */
int64_t pm_sizeof(py_object *o);

/* Python list of [name, count, size] rows (new reference). */
py_object *pm_summary_to_list(const struct pm_summary *s);

/* Parses a Python summary (list of rows) into C rows.  0 or -1. */
int pm_summary_from_list(py_object *rows, struct pm_summary *out);

/* right - left per name (Pympler's get_diff order not kept: left's names
 * first, then right's new ones); sweep drops rows with 0 count and size. */
int pm_summary_diff(const struct pm_summary *left,
		    const struct pm_summary *right, int sweep,
		    struct pm_summary *out);

/* summary._repr(o) as a new str. */
py_object *pm_repr_name(py_object *o);

/* format_(rows, limit, sort, order) as a list of str lines (new ref). */
py_object *pm_format_rows(py_object *rows, py_object *limit, const char *sort,
		       const char *order);
/* print_: writes pm_format_rows's lines to file.  0 or -1. */
int pm_print_rows(py_object *rows, py_object *limit, const char *sort,
		  const char *order, py_object *file);

py_object *pm_summary_module(void);      /* muppy.summary, new ref */
py_object *pm_tracker_module(void);      /* muppy.tracker, new ref */
py_object *pm_refbrowser_module(void);   /* muppy.refbrowser, new ref */

/* pymod_gui.c: muppy.refbrowser_gui (new ref), and its InteractiveBrowser
 * type added to another module m (refbrowser).  0 or -1. */
py_object *pm_refbrowser_gui_module(void);
int pm_add_interactive_browser(py_object *m);

/* The C functions summary.* (for reuse by the tracker and muppy.*). */
py_object *pm_summary_summarize(py_object *self, py_object *args, py_object *kw);

#endif /* MUPPY_SHIM_PYMOD_H */
