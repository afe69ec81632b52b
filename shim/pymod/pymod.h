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
 * Python objects are opaque (pm_obj) and the few fields read directly are
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
 * already initialized, the binding failed or an entry point is missing (the module is then simply not
 * importable; nothing is printed).
 */
int pymod_register(const struct pymod_host *host);

/* ---- private to pymod*.c ------------------------------------------------ */

typedef struct pm_obj pm_obj;   /* a PyObject, opaque */

/* Object and type fields, at the one binding's offsets (shim/cpython:
 * the same on every GIL build 3.8-3.13). */
#define PM_FIELD(T, o, off) (*(T *)((char *)(o) + (off)))
#define PM_TYPE(o) PM_FIELD(pm_obj *, o, PY_OFF_TYPE)
#define PM_SIZE(o) PM_FIELD(ssize_t, o, PY_OFF_SIZE)
#define PM_TP_NAME(t) PM_FIELD(const char *, t, PY_OFF_TP_NAME)
#define PM_TP_BASICSIZE(t) PM_FIELD(ssize_t, t, PY_OFF_TP_BASICSIZE)
#define PM_TP_ITEMSIZE(t) PM_FIELD(ssize_t, t, PY_OFF_TP_ITEMSIZE)
#define PM_TP_FLAGS(t) PM_FIELD(unsigned long, t, PY_OFF_TP_FLAGS)
#define PM_TP_TRAVERSE(t) PM_FIELD(pm_traverseproc, t, PY_OFF_TP_TRAVERSE)
#define PM_TP_DICT(t) PM_FIELD(pm_obj *, t, PY_OFF_TP_DICT)
#define PM_TP_IS_GC(t) PM_FIELD(pm_inquiry, t, PY_OFF_TP_IS_GC)
#define PM_LIST_ITEMS(l) PM_FIELD(pm_obj **, l, PY_OFF_SEQ_ITEMS)
#define PM_TUPLE_ITEMS(t) ((pm_obj **)((char *)(t) + PY_OFF_SEQ_ITEMS))

#define PM_TPFLAGS_HEAPTYPE PY_TPFLAGS_HEAPTYPE
#define PM_TPFLAGS_HAVE_GC PY_TPFLAGS_HAVE_GC
#define PM_TPFLAGS_MANAGED_DICT PY_TPFLAGS_MANAGED_DICT       /* 3.11+ */
#define PM_TPFLAGS_MANAGED_WEAKREF PY_TPFLAGS_MANAGED_WEAKREF /* 3.12+ */
#define PM_TPFLAGS_TYPE_SUBCLASS PY_TPFLAGS_TYPE_SUBCLASS

#define PM_METH_VARARGS 0x0001
#define PM_METH_KEYWORDS 0x0002
#define PM_METH_NOARGS 0x0004
#define PM_METH_O 0x0008

typedef int (*pm_visitproc)(pm_obj *, void *);
typedef int (*pm_traverseproc)(pm_obj *, pm_visitproc, void *);
typedef int (*pm_inquiry)(pm_obj *);
typedef pm_obj *(*pm_cfunc)(pm_obj *, pm_obj *);

/* PyMethodDef, PyMemberDef, PyGetSetDef, PyType_Slot, PyType_Spec: the
 * same layout on 3.8-3.13 (checked against every installed header). */
struct pm_methoddef {
	const char *name;
	void *meth;
	int flags;
	const char *doc;
};
struct pm_memberdef {
	const char *name;
	int type;          /* 16: T_OBJECT_EX, 19: T_PYSSIZET */
	ssize_t offset;
	int flags;         /* 1: READONLY */
	const char *doc;
};
struct pm_getsetdef {
	const char *name;
	pm_obj *(*get)(pm_obj *, void *);
	int (*set)(pm_obj *, pm_obj *, void *);
	const char *doc;
	void *closure;
};
struct pm_type_slot {
	int slot;
	void *pfunc;
};
struct pm_type_spec {
	const char *name;
	int basicsize;
	int itemsize;
	unsigned int flags;
	struct pm_type_slot *slots;
};
#define PM_tp_dealloc 52
#define PM_tp_doc 56
#define PM_tp_init 60
#define PM_tp_methods 64
#define PM_tp_new 65
#define PM_tp_str 70
#define PM_tp_members 72
#define PM_tp_getset 73
#define PM_tp_free 74
#define PM_T_OBJECT_EX 16
#define PM_T_PYSSIZET 19
#define PM_TPFLAGS_DEFAULT 0ul
#define PM_TPFLAGS_BASETYPE (1ul << 10)
#define PM_HEAD_SIZE 16   /* sizeof(PyObject) */

/* The CPython entry points pymod uses, resolved with dlsym at register
 * time.  Data symbols (types, exceptions) are addresses. */
struct pm_api {
	int minor;                      /* 8..13 */
	void (*IncRef)(pm_obj *);
	void (*DecRef)(pm_obj *);
	pm_obj *(*Err_Occurred)(void);
	void (*Err_Clear)(void);
	void (*Err_SetString)(pm_obj *, const char *);
	pm_obj *(*Err_NoMemory)(void);
	pm_obj *(*Err_SetFromErrnoWithFilename)(pm_obj *, const char *);
	pm_obj **Exc_TypeError, **Exc_ValueError, **Exc_RuntimeError,
		**Exc_OSError;
	pm_obj *(*Module_Create2)(void *, int);
	int (*Module_AddObject)(pm_obj *, const char *, pm_obj *);
	pm_obj *(*Module_GetDict)(pm_obj *);
	int (*Import_AppendInittab)(const char *, pm_obj *(*)(void));
	pm_obj *(*Import_GetModuleDict)(void);
	pm_obj *(*Import_ImportModule)(const char *);
	pm_obj *(*Dict_New)(void);
	int (*Dict_SetItemString)(pm_obj *, const char *, pm_obj *);
	pm_obj *(*Dict_GetItemString)(pm_obj *, const char *);
	int (*Dict_SetItem)(pm_obj *, pm_obj *, pm_obj *);
	pm_obj *(*List_New)(ssize_t);
	int (*List_Append)(pm_obj *, pm_obj *);
	pm_obj *(*Sequence_Fast)(pm_obj *, const char *);
	pm_obj *(*Sequence_GetSlice)(pm_obj *, ssize_t, ssize_t);
	pm_obj *(*Tuple_New)(ssize_t);
	pm_obj *(*Long_FromSsize_t)(ssize_t);
	pm_obj *(*Long_FromLongLong)(long long);
	long long (*Long_AsLongLong)(pm_obj *);
	ssize_t (*Long_AsSsize_t)(pm_obj *);
	double (*Float_AsDouble)(pm_obj *);
	pm_obj *(*Unicode_FromString)(const char *);
	pm_obj *(*Unicode_FromStringAndSize)(const char *, ssize_t);
	const char *(*Unicode_AsUTF8AndSize)(pm_obj *, ssize_t *);
	pm_obj *(*Unicode_InternFromString)(const char *);
	pm_obj *(*Object_Str)(pm_obj *);
	pm_obj *(*Object_GetAttrString)(pm_obj *, const char *);
	int (*Object_SetAttrString)(pm_obj *, const char *, pm_obj *);
	int (*Object_IsInstance)(pm_obj *, pm_obj *);
	int (*Object_IsTrue)(pm_obj *);
	int (*Object_RichCompareBool)(pm_obj *, pm_obj *, int);
	pm_obj *(*Object_CallFunctionObjArgs)(pm_obj *, ...);
	pm_obj *(*Object_CallMethodObjArgs)(pm_obj *, pm_obj *, ...);
	pm_obj *(*Object_Call)(pm_obj *, pm_obj *, pm_obj *);
	pm_obj *(*Type_FromSpec)(struct pm_type_spec *);
	void *(*Type_GetSlot)(pm_obj *, int);
	pm_obj *(*Type_GenericAlloc)(pm_obj *, ssize_t);
	pm_obj *(*Type_Lookup)(pm_obj *, pm_obj *);   /* _PyType_Lookup */
	pm_obj *(*Sys_GetObject)(const char *);
	pm_obj *(*Sequence_List)(pm_obj *);
	pm_obj *(*Number_Subtract)(pm_obj *, pm_obj *);
	pm_obj *(*Number_Negative)(pm_obj *);
	pm_obj *(*Dict_GetItem)(pm_obj *, pm_obj *);
	pm_obj *(*Object_GetItem)(pm_obj *, pm_obj *);
	pm_obj *(*Sequence_GetItem)(pm_obj *, ssize_t);
	ssize_t (*Object_Size)(pm_obj *);
	pm_obj *(*CFunction_NewEx)(struct pm_methoddef *, pm_obj *, pm_obj *);
	int (*Arg_ParseTupleAndKeywords)(pm_obj *, pm_obj *, const char *,
					 char **, ...);
	const char *(*GetVersion)(void);
	pm_obj *(*Frame_GetCode)(pm_obj *);           /* 3.9+, else NULL */
	pm_obj *(*Type_GetQualName)(pm_obj *);        /* 3.11+, else NULL */
	pm_obj *None, *True, *False;
	pm_obj *Type_Type, *BaseObject_Type, *Frame_Type, *Function_Type,
		*Module_Type, *List_Type, *Tuple_Type, *Dict_Type, *Set_Type,
		*Unicode_Type, *MethodDescr_Type;
};
extern struct pm_api pm_py;

static inline void pm_incref(pm_obj *o) { pm_py.IncRef(o); }
static inline void pm_decref(pm_obj *o) { if (o) pm_py.DecRef(o); }
static inline pm_obj *pm_none(void) { pm_incref(pm_py.None); return pm_py.None; }
static inline pm_obj *pm_bool(int v)
{
	pm_obj *b = v ? pm_py.True : pm_py.False;
	pm_incref(b);
	return b;
}

/* ---- pymod.c helpers ---------------------------------------------------- */

/* PyModule_Create2 on a struct pm_moduledef-shaped definition (static
 * storage; pymod.c defines the layout). */
pm_obj *pm_module_new(void *def);

/* walk_opts.exclude for pymod's walks: extra[0..nextra) plus the shim's
 * own objects (which its dumps leave out too), into ex (PM_MAX_EXCLUDE
 * entries).  Returns the count. */
#define PM_MAX_EXCLUDE 16
size_t pm_exclusions(uintptr_t *ex, const uintptr_t *extra, size_t nextra);

/* Objects found by one walk, increfed (design note 2).  Owns the refs. */
struct pm_held {
	pm_obj **objs;
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
pm_obj *pm_fast(pm_obj *objects, pm_obj ***items, ssize_t *n);

/* Writes text (UTF-8) to file.write, file NULL or None: sys.stdout.
 * Returns 0 or -1 with an exception set. */
int pm_write(pm_obj *file, const char *text, size_t len);

/* PyErr_SetString(PyExc_<which>, msg); returns NULL for `return pm_err`. */
pm_obj *pm_err(pm_obj **exc, const char *msg);

/* Growable byte buffer (malloc), for building text.  */
struct pm_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void pm_buf_add(struct pm_buf *b, const char *s, size_t n);
void pm_buf_str(struct pm_buf *b, const char *s);
void pm_buf_free(struct pm_buf *b);

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
int pm_summarize_c(pm_obj *const *objs, size_t n, struct pm_summary *out);

/* The walker's own summary rows (a summary-mode walk), merged by name,
 * frame rows left out unless frames.  0 or -1 (exception set). */
struct fmt_dump;
int pm_summary_from_dump(const struct fmt_dump *d, int frames,
			 struct pm_summary *out);

/* sys.getsizeof(o) the walker's way (no Python-level __sizeof__). */
int64_t pm_sizeof(pm_obj *o);

/* Python list of [name, count, size] rows (new reference). */
pm_obj *pm_summary_to_list(const struct pm_summary *s);

/* Parses a Python summary (list of rows) into C rows.  0 or -1. */
int pm_summary_from_list(pm_obj *rows, struct pm_summary *out);

/* right - left per name (Pympler's get_diff order not kept: left's names
 * first, then right's new ones); sweep drops rows with 0 count and size. */
int pm_summary_diff(const struct pm_summary *left,
		    const struct pm_summary *right, int sweep,
		    struct pm_summary *out);

/* summary._repr(o) as a new str. */
pm_obj *pm_repr_name(pm_obj *o);

/* format_(rows, limit, sort, order) as a list of str lines (new ref). */
pm_obj *pm_format_rows(pm_obj *rows, pm_obj *limit, const char *sort,
		       const char *order);
/* print_: writes pm_format_rows's lines to file.  0 or -1. */
int pm_print_rows(pm_obj *rows, pm_obj *limit, const char *sort,
		  const char *order, pm_obj *file);

pm_obj *pm_summary_module(void);      /* muppy.summary, new ref */
pm_obj *pm_tracker_module(void);      /* muppy.tracker, new ref */
pm_obj *pm_refbrowser_module(void);   /* muppy.refbrowser, new ref */

/* The C functions summary.* (for reuse by the tracker and muppy.*). */
pm_obj *pm_summary_summarize(pm_obj *self, pm_obj *args, pm_obj *kw);

#endif /* MUPPY_SHIM_PYMOD_H */
