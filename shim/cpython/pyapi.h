/*
 * pyapi.h - the CPython the shim can see: entry points resolved at run time
 * with dlsym(RTLD_DEFAULT) and the object layout facts the walker reads.
 *
 * The shim includes no Python header and is not linked against libpython,
 * so one libmuppy.so serves every interpreter (shared libpython or linked
 * into the executable).  This module owns:
 *   - PY_API_FUNCTIONS: the one X-macro list of functions; add a line to
 *     make a function available as py.NAME (required ones make
 *     py_api_init fail when missing, optional ones are NULL instead);
 *   - PY_API_DATA: exported data symbols (type objects) as py.NAME;
 *   - struct py_layout: offsets that differ between 3.8 and 3.13, chosen
 *     from the running version (Py_GetVersion), measured from each
 *     version's own headers (see pyapi.c);
 *   - PY_OFF_* / PY_TPFLAGS_*: facts that are the same on 3.8-3.13 GIL
 *     builds (docs/cpython.md, "Layout").
 * It does not walk anything (walk.c does) nor manage the life cycle
 * (shim.c does).  Free-threaded (3.13t) builds are not supported.
 */
#ifndef MUPPY_SHIM_PYAPI_H
#define MUPPY_SHIM_PYAPI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>   /* ssize_t */

/* An opaque CPython object; read only through the PY_OFF_* offsets. */
typedef struct py_object py_object;
typedef int (*py_visitproc)(py_object *, void *);
typedef int (*py_traverseproc)(py_object *, py_visitproc, void *);
typedef int (*py_inquiry)(py_object *);
typedef py_object *(*py_cfunction)(py_object *, py_object *);

/* The definitions the C API takes: PyMethodDef, PyMemberDef,
 * PyGetSetDef, PyType_Slot, PyType_Spec and PyModuleDef (with its
 * PyModuleDef_Base first); the same layout on 3.8-3.13 (checked against
 * every installed header). */
struct py_methoddef {
	const char *ml_name;
	py_cfunction ml_meth;     /* PY_CFUNC() for other signatures */
	int ml_flags;             /* PY_METH_* */
	const char *ml_doc;
};
struct py_memberdef {
	const char *name;
	int type;                 /* PY_T_* */
	ssize_t offset;
	int flags;                /* 1: READONLY */
	const char *doc;
};
struct py_getsetdef {
	const char *name;
	py_object *(*get)(py_object *, void *);
	int (*set)(py_object *, py_object *, void *);
	const char *doc;
	void *closure;
};
struct py_type_slot {
	int slot;                 /* PY_tp_* */
	void *pfunc;
};
struct py_type_spec {
	const char *name;
	int basicsize;
	int itemsize;
	unsigned int flags;
	struct py_type_slot *slots;
};
struct py_moduledef {
	ssize_t ob_refcnt;        /* 1 */
	py_object *ob_type;
	py_object *(*m_init)(void);
	ssize_t m_index;
	py_object *m_copy;
	const char *m_name;
	const char *m_doc;
	ssize_t m_size;           /* -1: no per-module state */
	struct py_methoddef *m_methods;
	void *m_slots, *m_traverse, *m_clear, *m_free;
};
#define PY_API_VERSION 1013       /* PYTHON_API_VERSION, 3.8-3.13 */

/* A C function of any METH_* shape as a PyMethodDef's ml_meth. */
#define PY_CFUNC(fn) ((py_cfunction)(void (*)(void))(fn))
typedef int (*py_gcvisitobjects)(py_object *, void *);
typedef int (*py_audithook)(const char *, py_object *, void *);

/*
 * X(need, return type, name, parameters).  Keep one line per function.
 * need is PY_WALK for what the walker and the runtime cannot do without
 * (py_api_init fails when one is missing), PY_MOD for what only the
 * built-in module `muppy` uses (py_api_module_missing names a missing one;
 * the module is then not registered, the rest works), PY_OPT for what may
 * be NULL (first version in the comment).  All exist on 3.8-3.13 unless
 * PY_OPT.
 */
#define PY_OPT 0
#define PY_WALK 1
#define PY_MOD 2
#define PY_API_FUNCTIONS(X) \
	X(PY_WALK, int, Py_IsInitialized, (void)) \
	X(PY_WALK, const char *, Py_GetVersion, (void)) \
	X(PY_WALK, int, PyGILState_Check, (void)) \
	X(PY_WALK, py_object *, PyImport_GetModuleDict, (void)) \
	X(PY_WALK, int, PyDict_Next, (py_object *, ssize_t *, py_object **, \
				py_object **)) \
	X(PY_WALK, ssize_t, PyLong_AsSsize_t, (py_object *)) \
	X(PY_WALK, void, PyErr_Fetch, (py_object **, py_object **, py_object **)) \
	X(PY_WALK, void, PyErr_Restore, (py_object *, py_object *, py_object *)) \
	X(PY_WALK, void, PyErr_Clear, (void)) \
	X(PY_WALK, void, Py_DecRef, (py_object *)) \
	X(PY_WALK, void, Py_IncRef, (py_object *)) \
	X(PY_WALK, void *, PyInterpreterState_Head, (void)) \
	X(PY_WALK, void *, PyInterpreterState_Next, (void *)) \
	X(PY_WALK, void *, PyInterpreterState_ThreadHead, (void *)) \
	X(PY_WALK, void *, PyThreadState_Next, (void *)) \
	X(PY_WALK, void *, PyThreadState_Get, (void)) \
	X(PY_WALK, int, PySys_AddAuditHook, (py_audithook, void *)) \
	X(PY_WALK, py_object *, PyEval_GetGlobals, (void)) \
	X(PY_WALK, int, PyGILState_Ensure, (void))   /* PyGILState_STATE */ \
	X(PY_WALK, void, PyGILState_Release, (int)) \
	X(PY_WALK, void *, PyEval_SaveThread, (void)) \
	X(PY_WALK, void, PyEval_RestoreThread, (void *)) \
	X(PY_WALK, int, Py_AddPendingCall, (int (*)(void *), void *)) \
	X(PY_WALK, int, PyThread_acquire_lock, (void *, int)) \
	X(PY_WALK, void, PyThread_release_lock, (void *)) \
	X(PY_WALK, py_object *, PyImport_ImportModule, (const char *)) \
	X(PY_WALK, py_object *, PyObject_GetAttrString, (py_object *, const char *)) \
	X(PY_WALK, py_object *, PyObject_Call, (py_object *, py_object *, \
					  py_object *)) \
	X(PY_WALK, py_object *, PyCFunction_NewEx, (struct py_methoddef *, \
					      py_object *, py_object *)) \
	X(PY_WALK, py_object *, PyTuple_Pack, (ssize_t, ...)) \
	X(PY_WALK, py_object *, PyDict_New, (void)) \
	X(PY_WALK, int, PyDict_SetItemString, (py_object *, const char *, \
					 py_object *)) \
	X(PY_WALK, py_object *, PySys_GetObject, (const char *)) \
	X(PY_WALK, py_object *, PyObject_CallObject, (py_object *, py_object *)) \
	X(PY_WALK, py_object *, PyDict_GetItemString, (py_object *, const char *)) \
	X(PY_WALK, int, PyUnicode_CompareWithASCIIString, (py_object *, \
						     const char *)) \
	X(PY_MOD, py_object *, PyErr_Occurred, (void)) \
	X(PY_MOD, void, PyErr_SetString, (py_object *, const char *)) \
	X(PY_MOD, py_object *, PyErr_NoMemory, (void)) \
	X(PY_MOD, py_object *, PyErr_SetFromErrnoWithFilename, (py_object *, \
						    const char *)) \
	X(PY_MOD, py_object *, PyModule_Create2, (struct py_moduledef *, int)) \
	X(PY_MOD, int, PyModule_AddObject, (py_object *, const char *, \
					   py_object *)) \
	X(PY_MOD, py_object *, PyModule_GetDict, (py_object *)) \
	X(PY_MOD, int, PyImport_AppendInittab, (const char *, \
					       py_object *(*)(void))) \
	X(PY_MOD, int, PyDict_SetItem, (py_object *, py_object *, py_object *)) \
	X(PY_MOD, py_object *, PyDict_GetItem, (py_object *, py_object *)) \
	X(PY_MOD, py_object *, PyList_New, (ssize_t)) \
	X(PY_MOD, int, PyList_Append, (py_object *, py_object *)) \
	X(PY_MOD, py_object *, PyTuple_New, (ssize_t)) \
	X(PY_MOD, py_object *, PySequence_Fast, (py_object *, const char *)) \
	X(PY_MOD, py_object *, PySequence_GetSlice, (py_object *, ssize_t, \
						     ssize_t)) \
	X(PY_MOD, py_object *, PySequence_GetItem, (py_object *, ssize_t)) \
	X(PY_MOD, py_object *, PySequence_List, (py_object *)) \
	X(PY_MOD, py_object *, PyLong_FromSsize_t, (ssize_t)) \
	X(PY_MOD, py_object *, PyLong_FromLongLong, (long long)) \
	X(PY_MOD, long long, PyLong_AsLongLong, (py_object *)) \
	X(PY_MOD, double, PyFloat_AsDouble, (py_object *)) \
	X(PY_MOD, py_object *, PyUnicode_FromString, (const char *)) \
	X(PY_MOD, py_object *, PyUnicode_FromStringAndSize, (const char *, \
							     ssize_t)) \
	X(PY_MOD, const char *, PyUnicode_AsUTF8AndSize, (py_object *, \
							  ssize_t *)) \
	X(PY_MOD, py_object *, PyUnicode_InternFromString, (const char *)) \
	X(PY_MOD, py_object *, PyObject_Str, (py_object *)) \
	X(PY_MOD, int, PyObject_SetAttrString, (py_object *, const char *, \
					       py_object *)) \
	X(PY_MOD, int, PyObject_IsInstance, (py_object *, py_object *)) \
	X(PY_MOD, int, PyObject_IsTrue, (py_object *)) \
	X(PY_MOD, int, PyObject_RichCompareBool, (py_object *, py_object *, \
						 int)) \
	X(PY_MOD, py_object *, PyObject_CallFunctionObjArgs, (py_object *, \
							      ...)) \
	X(PY_MOD, py_object *, PyObject_CallMethodObjArgs, (py_object *, \
							    py_object *, \
							    ...)) \
	X(PY_MOD, py_object *, PyObject_GetItem, (py_object *, py_object *)) \
	X(PY_MOD, ssize_t, PyObject_Size, (py_object *)) \
	X(PY_MOD, py_object *, PyNumber_Subtract, (py_object *, py_object *)) \
	X(PY_MOD, py_object *, PyNumber_Negative, (py_object *)) \
	X(PY_MOD, py_object *, PyType_FromSpec, (struct py_type_spec *)) \
	X(PY_MOD, void *, PyType_GetSlot, (py_object *, int)) \
	X(PY_MOD, py_object *, PyType_GenericAlloc, (py_object *, ssize_t)) \
	X(PY_MOD, void, PyObject_GC_UnTrack, (void *)) \
	X(PY_MOD, py_object *, _PyType_Lookup, (py_object *, py_object *)) \
	X(PY_MOD, int, PyArg_ParseTupleAndKeywords, (py_object *, \
						     py_object *, \
						     const char *, char **, \
						     ...)) \
	X(PY_OPT, py_object *, PyType_GetQualName, (py_object *)) /* 3.11 */ \
	X(PY_OPT, int, _Py_IsFinalizing, (void))                    /* 3.8 */ \
	X(PY_OPT, int, Py_IsFinalizing, (void))                     /* 3.13 */ \
	X(PY_OPT, void *, _PyInterpreterState_Get, (void))          /* 3.8 */ \
	X(PY_OPT, void *, PyInterpreterState_Get, (void))           /* 3.9 */ \
	X(PY_OPT, py_object *, PyThreadState_GetFrame, (void *))    /* 3.9 */ \
	X(PY_OPT, py_object *, PyFrame_GetBack, (py_object *))      /* 3.9 */ \
	X(PY_OPT, py_object *, PyFrame_GetCode, (py_object *))      /* 3.9 */ \
	X(PY_OPT, int, PyGC_Enable, (void))                         /* 3.10 */ \
	X(PY_OPT, int, PyGC_Disable, (void))                        /* 3.10 */ \
	X(PY_OPT, void, PyUnstable_GC_VisitObjects, (py_gcvisitobjects, \
						void *))       /* 3.12 */

/* X(need, name): exported data (type objects, the runtime) as their
 * addresses. */
#define PY_API_DATA(X) \
	X(PY_WALK, PyType_Type) \
	X(PY_WALK, _Py_NoneStruct) \
	X(PY_WALK, PyBaseObject_Type) \
	X(PY_WALK, PyDict_Type) \
	X(PY_WALK, PyList_Type) \
	X(PY_WALK, PyTuple_Type) \
	X(PY_WALK, PyUnicode_Type) \
	X(PY_WALK, PyBytes_Type) \
	X(PY_WALK, PyModule_Type) \
	X(PY_WALK, PyFunction_Type) \
	X(PY_WALK, PyCode_Type) \
	X(PY_WALK, PyFrame_Type) \
	X(PY_WALK, PyCell_Type) \
	X(PY_WALK, PyLong_Type) \
	X(PY_WALK, PyCFunction_Type) \
	X(PY_WALK, PyMethodDescr_Type) \
	X(PY_MOD, _Py_TrueStruct) \
	X(PY_MOD, _Py_FalseStruct) \
	X(PY_MOD, PySet_Type) \
	X(PY_OPT, _Py_EllipsisObject) \
	X(PY_OPT, _Py_NotImplementedStruct) \
	X(PY_OPT, PyMethod_Type) \
	X(PY_OPT, _PyRuntime)

/* X(need, name): exported variables that hold an object (PyExc_*), as the
 * variable's address (py_object **). */
#define PY_API_VARS(X) \
	X(PY_MOD, PyExc_TypeError) \
	X(PY_MOD, PyExc_ValueError) \
	X(PY_MOD, PyExc_RuntimeError) \
	X(PY_MOD, PyExc_OSError)

/* Offsets that differ by version (bytes; -1: not on this version). */
struct py_layout {
	int gc_in_runtime;        /* 1: gc state in _PyRuntime (3.8) */
	ssize_t gc_state;         /* gc state in _PyRuntime / interp */
	ssize_t gc_enabled;       /* int, inside the gc state */
	ssize_t gc_generations;   /* 3 x {PyGC_Head head; int; int} */
	ssize_t gc_permanent;     /* the permanent generation (gc.freeze) */
	ssize_t ts_frame;         /* PyThreadState.frame (3.8-3.10) */
	ssize_t ts_thread_id;     /* PyThreadState.thread_id */
	ssize_t fr_back;          /* PyFrameObject.f_back */
	ssize_t fr_code;          /* PyFrameObject.f_code (3.8-3.10) */
	ssize_t fr_localsplus;    /* PyFrameObject.f_localsplus (3.8-3.10) */
	ssize_t fr_iframe;        /* PyFrameObject.f_frame (3.11+) */
	ssize_t if_code;          /* _PyInterpreterFrame.f_code/f_executable */
	ssize_t if_func;          /* .f_func / .f_funcobj */
	ssize_t if_globals, if_builtins, if_locals;
	ssize_t if_localsplus;
	ssize_t co_nlocals;       /* int (3.8-3.10) */
	ssize_t co_varnames, co_cellvars, co_freevars;   /* 3.8-3.10 */
	ssize_t co_nlocalsplus;   /* int (3.11+) */
	ssize_t co_localsplusnames;                      /* 3.11+ */
	ssize_t co_nfreevars;     /* int (3.11+) */
	ssize_t co_name;
	ssize_t fn_code, fn_name, fn_qualname, fn_closure;
	ssize_t fn_defaults;      /* func_defaults; func_kwdefaults next */
	ssize_t ht_qualname;      /* PyHeapTypeObject.ht_qualname */
	ssize_t ht_cached_keys;   /* .ht_cached_keys: shared keys (3.11+) */
	ssize_t dv_values;        /* PyDictValues.values[] (3.11+) */
	size_t str_ascii_size;    /* sizeof(PyASCIIObject) */
	size_t str_compact_size;  /* sizeof(PyCompactUnicodeObject) */
};

#define PY_API_FN(req, ret, name, args) ret (*name) args;
#define PY_API_DAT(req, name) py_object *name;
#define PY_API_VAR(req, name) py_object **name;
struct py_api {
	int major, minor, micro;  /* from Py_GetVersion() */
	PY_API_FUNCTIONS(PY_API_FN)
	PY_API_DATA(PY_API_DAT)
	PY_API_VARS(PY_API_VAR)
	struct py_layout lay;
};
#undef PY_API_FN
#undef PY_API_DAT
#undef PY_API_VAR

/* The table; valid after py_api_init() returned 0. */
extern struct py_api py;

/*
 * Resolves the table.  Returns 0 if this process is a Python interpreter
 * (Py_IsInitialized resolves), every required symbol exists and the
 * version is one whose layout we know (3.8-3.13); -1 otherwise (the table
 * is then unusable; safe to call again).  Cheap after the first success.
 * Does not need the GIL and never calls into Python beyond Py_GetVersion.
 */
int py_api_init(void);

/*
 * Queues fn(arg) for the main thread, as Py_AddPendingCall does, from any
 * thread, without the GIL.  Returns 0, or -1 when it was not queued
 * (CPython's queue is full, or the interpreter has begun to finalize).
 * On 3.8 the call is queued under CPython's own pending-calls lock after
 * checking its `finishing` flag: 3.8's Py_AddPendingCall answers a call
 * queued during finalization with a SystemError printed from the calling
 * thread (without a thread state: a crash).
 */
int py_add_pending_call(int (*fn)(void *), void *arg);

/* After py_api_init() returned 0: the first PY_MOD symbol missing (the
 * module `muppy` cannot be built), or NULL when there is none. */
const char *py_api_module_missing(void);

/* Why the last py_api_init() failed, for a `muppy:` line: "Python 3.6.15
 * is not supported (3.8 to 3.13)", "PyFoo not found", ...  Static. */
const char *py_api_error(void);

/* Same-on-every-version layout (GIL builds 3.8-3.13). */
#define PY_OFF_REFCNT 0
#define PY_OFF_TYPE 8
#define PY_OFF_SIZE 16
#define PY_OFF_TP_NAME 24
#define PY_OFF_TP_BASICSIZE 32
#define PY_OFF_TP_ITEMSIZE 40
#define PY_OFF_TP_FLAGS 168
#define PY_OFF_TP_TRAVERSE 184
#define PY_OFF_TP_METHODS 232
#define PY_OFF_TP_MEMBERS 240
#define PY_OFF_TP_BASE 256
#define PY_OFF_TP_DICT 264
#define PY_OFF_TP_DICTOFFSET 288
#define PY_OFF_TP_IS_GC 328
#define PY_OFF_TP_BASES 336
#define PY_OFF_TP_MRO 344
#define PY_OFF_SEQ_ITEMS 24       /* list ob_item (pointer), tuple inline */
#define PY_OFF_BYTES_SVAL 32
#define PY_OFF_MODULE_DICT 16     /* PyModuleObject.md_dict */
#define PY_OFF_CELL_REF 16        /* PyCellObject.ob_ref */
#define PY_OFF_DESCR_TYPE 16      /* PyDescrObject.d_type */
#define PY_OFF_DESCR_METHOD 40    /* PyMethodDescrObject.d_method */
#define PY_OFF_STR_LENGTH 16      /* PyASCIIObject.length */
#define PY_OFF_STR_STATE 32       /* PyASCIIObject.state bit field */
#define PY_OFF_MANAGED_DICT (-24) /* 3.11+ managed __dict__ slot */
#define PY_OFF_VALUES_PTR (-32)   /* 3.11: PyDictValues * (pre-header) */
#define PY_OFF_INLINE_VALUES 16   /* 3.13: PyDictValues after the head */
#define PY_OFF_DV_CAPACITY 0      /* 3.13 PyDictValues.capacity (uint8) */
#define PY_OFF_DV_VALID 3         /* 3.13 PyDictValues.valid (uint8) */
#define PY_OFF_DICT_KEYS 32       /* PyDictObject.ma_keys */
#define PY_OFF_DK_LOG2_SIZE 8     /* PyDictKeysObject (3.11+), uint8 */
#define PY_OFF_DK_LOG2_INDEX_BYTES 9
#define PY_OFF_DK_KIND 10         /* uint8: DictKeysKind */
#define PY_OFF_DK_NENTRIES 24     /* Py_ssize_t */
#define PY_OFF_DK_INDICES 32      /* then the entries */
#define PY_DK_SPLIT 2             /* DICT_KEYS_SPLIT: a type's cached keys */
#define PY_DK_UNICODE_ENTRY 16    /* {me_key, me_value} */
#define PY_OFF_METHOD_FUNC 16     /* PyMethodObject.im_func */
#define PY_OFF_METHOD_SELF 24     /* PyMethodObject.im_self */
#define PY_GC_HEAD_SIZE 16

#define PY_TPFLAGS_INLINE_VALUES (1UL << 2)    /* 3.13+ */
#define PY_TPFLAGS_MANAGED_WEAKREF (1UL << 3)   /* 3.12+ */
#define PY_TPFLAGS_MANAGED_DICT (1UL << 4)      /* 3.11+ */
#define PY_TPFLAGS_HEAPTYPE (1UL << 9)
#define PY_TPFLAGS_READY (1UL << 12)
#define PY_TPFLAGS_HAVE_GC (1UL << 14)
#define PY_TPFLAGS_LONG_SUBCLASS (1UL << 24)
#define PY_TPFLAGS_LIST_SUBCLASS (1UL << 25)
#define PY_TPFLAGS_TUPLE_SUBCLASS (1UL << 26)
#define PY_TPFLAGS_BYTES_SUBCLASS (1UL << 27)
#define PY_TPFLAGS_UNICODE_SUBCLASS (1UL << 28)
#define PY_TPFLAGS_DICT_SUBCLASS (1UL << 29)
#define PY_TPFLAGS_TYPE_SUBCLASS (1UL << 31)

#define PY_METH_VARARGS 0x0001     /* PyMethodDef.ml_flags */
#define PY_METH_KEYWORDS 0x0002
#define PY_METH_NOARGS 0x0004
#define PY_METH_O 0x0008
#define PY_METH_FASTCALL 0x0080
#define PY_METH_METHOD 0x0200
#define PY_T_OBJECT 6             /* PyMemberDef types holding objects */
#define PY_T_OBJECT_EX 16
#define PY_T_PYSSIZET 19
#define PY_RELATIVE_OFFSET 8      /* PyMemberDef flag (3.12+) */
#define PY_READONLY 1             /* PyMemberDef flag */

#define PY_TPFLAGS_DEFAULT 0UL
#define PY_TPFLAGS_BASETYPE (1UL << 10)
#define PY_HEAD_SIZE 16           /* sizeof(PyObject) */

/* PyType_Slot ids (Include/typeslots.h, stable ABI). */
#define PY_tp_clear 51
#define PY_tp_dealloc 52
#define PY_tp_doc 56
#define PY_tp_init 60
#define PY_tp_methods 64
#define PY_tp_new 65
#define PY_tp_str 70
#define PY_tp_traverse 71
#define PY_tp_members 72
#define PY_tp_getset 73
#define PY_tp_free 74

/* Reads a field of type T at byte offset off of p. */
#define PY_FIELD(T, p, off) (*(T *)((char *)(p) + (off)))
#define PY_TYPE(o) PY_FIELD(py_object *, (o), PY_OFF_TYPE)
#define PY_SIZE(o) PY_FIELD(ssize_t, (o), PY_OFF_SIZE)
#define PY_TP_NAME(t) PY_FIELD(const char *, (t), PY_OFF_TP_NAME)
#define PY_TP_BASICSIZE(t) PY_FIELD(ssize_t, (t), PY_OFF_TP_BASICSIZE)
#define PY_TP_ITEMSIZE(t) PY_FIELD(ssize_t, (t), PY_OFF_TP_ITEMSIZE)
#define PY_TP_FLAGS(t) PY_FIELD(unsigned long, (t), PY_OFF_TP_FLAGS)
#define PY_TP_TRAVERSE(t) PY_FIELD(py_traverseproc, (t), PY_OFF_TP_TRAVERSE)
#define PY_TP_DICT(t) PY_FIELD(py_object *, (t), PY_OFF_TP_DICT)
#define PY_TP_IS_GC(t) PY_FIELD(py_inquiry, (t), PY_OFF_TP_IS_GC)
#define PY_LIST_ITEMS(l) PY_FIELD(py_object **, (l), PY_OFF_SEQ_ITEMS)
#define PY_TUPLE_ITEMS(t) ((py_object **)((char *)(t) + PY_OFF_SEQ_ITEMS))

/*
 * The bytes sys.getsizeof adds to __sizeof__ for an object of a type with
 * flags fl on 3.11+ (the GC head and the managed dict/weakref pre-header;
 * docs/cpython.md, "sys.getsizeof").  On 3.8-3.10 it is the GC head alone,
 * and only when the object is tracked by the collector (tp_is_gc), which
 * the caller checks.
 */
static inline unsigned
py_preheader_size(unsigned long fl, int minor)
{
	unsigned long managed = minor == 11 ? PY_TPFLAGS_MANAGED_DICT :
				PY_TPFLAGS_MANAGED_DICT |
				PY_TPFLAGS_MANAGED_WEAKREF;

	return ((fl & PY_TPFLAGS_HAVE_GC) ? PY_GC_HEAD_SIZE : 0) +
	       ((minor >= 11 && (fl & managed)) ? 16 : 0);
}

#endif /* MUPPY_SHIM_PYAPI_H */
