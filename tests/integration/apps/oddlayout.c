/*
 * oddlayout.c - a C extension whose types have the layouts that broke the
 * walker or could (tests/integration/test_extensions.py builds it for each
 * interpreter with headers and profiles a program that uses it).  Every
 * type is valid for CPython: the interpreter never reads what they lie
 * about, so a profiler must not either (shim/walk/walk.c design note 7).
 *
 *   Liar   a heap type (PyType_FromSpec) with its own tp_traverse whose
 *          tp_members lie: "__dict__" at offset 16 holds a C pointer (a
 *          vtable, as in mypyc's trait bases), "junk" holds the address
 *          0x10, and only "held" is an object (the one tp_traverse visits).
 *          Python subclasses of it get subtype_traverse and a __dict__.
 *   Var    a variable-size type whose items are objects (tp_itemsize 8).
 *   Far    a static type whose tp_dictoffset lies past the object's end,
 *          with a getattro that never uses it.
 *   Odd    the same with a misaligned tp_dictoffset (12).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>   /* PyMemberDef, T_OBJECT, T_OBJECT_EX */

static void *fake_vtable[4] = { NULL, NULL, NULL, NULL };

/* ---- Liar ---------------------------------------------------------------- */

typedef struct {
	PyObject_HEAD
	void *vtable;      /* offset 16: declared as the "__dict__" member */
	PyObject *held;
	void *junk;        /* declared as an object member, holds 0x10 */
} LiarObject;

static int
liar_traverse(PyObject *self, visitproc visit, void *arg)
{
	Py_VISIT(((LiarObject *)self)->held);
#if PY_VERSION_HEX >= 0x03090000
	Py_VISIT(Py_TYPE(self));   /* heap types since 3.9 */
#endif
	return 0;
}

static int
liar_clear(PyObject *self)
{
	Py_CLEAR(((LiarObject *)self)->held);
	return 0;
}

static void
liar_dealloc(PyObject *self)
{
	PyTypeObject *tp = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	liar_clear(self);
	tp->tp_free(self);
	Py_DECREF(tp);
}

static int
liar_init(PyObject *self, PyObject *args, PyObject *kw)
{
	LiarObject *o = (LiarObject *)self;
	PyObject *held = Py_None;

	(void)kw;
	if (!PyArg_ParseTuple(args, "|O", &held))
		return -1;
	Py_INCREF(held);
	Py_XSETREF(o->held, held);
	o->vtable = fake_vtable;
	o->junk = (void *)0x10;
	return 0;
}

static PyMemberDef liar_members[] = {
	{ "__dict__", T_OBJECT, offsetof(LiarObject, vtable), READONLY, NULL },
	{ "held", T_OBJECT_EX, offsetof(LiarObject, held), READONLY, NULL },
	{ "junk", T_OBJECT, offsetof(LiarObject, junk), READONLY, NULL },
	{ NULL, 0, 0, 0, NULL },
};

static PyType_Slot liar_slots[] = {
	{ Py_tp_traverse, (void *)liar_traverse },
	{ Py_tp_clear, (void *)liar_clear },
	{ Py_tp_dealloc, (void *)liar_dealloc },
	{ Py_tp_init, (void *)liar_init },
	{ Py_tp_members, liar_members },
	{ 0, NULL },
};

static PyType_Spec liar_spec = {
	"oddlayout.Liar", sizeof(LiarObject), 0,
	Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
	liar_slots,
};

/* ---- Var ----------------------------------------------------------------- */

typedef struct {
	PyObject_VAR_HEAD
	PyObject *items[1];
} VarObject;

static int
var_traverse(PyObject *self, visitproc visit, void *arg)
{
	VarObject *v = (VarObject *)self;

	for (Py_ssize_t i = 0; i < Py_SIZE(v); i++)
		Py_VISIT(v->items[i]);
	return 0;
}

static int
var_clear(PyObject *self)
{
	VarObject *v = (VarObject *)self;

	for (Py_ssize_t i = 0; i < Py_SIZE(v); i++)
		Py_CLEAR(v->items[i]);
	return 0;
}

static void
var_dealloc(PyObject *self)
{
	PyObject_GC_UnTrack(self);
	var_clear(self);
	PyObject_GC_Del(self);
}

static PyTypeObject Var_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "oddlayout.Var",
	.tp_basicsize = offsetof(VarObject, items),
	.tp_itemsize = sizeof(PyObject *),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_traverse = var_traverse,
	.tp_clear = var_clear,
	.tp_dealloc = var_dealloc,
};

/* var(a, b, ...): a Var holding its arguments. */
static PyObject *
make_var(PyObject *mod, PyObject *args)
{
	Py_ssize_t n = PyTuple_GET_SIZE(args);
	VarObject *v = PyObject_GC_NewVar(VarObject, &Var_Type, n);

	(void)mod;
	if (!v)
		return NULL;
	for (Py_ssize_t i = 0; i < n; i++) {
		v->items[i] = PyTuple_GET_ITEM(args, i);
		Py_INCREF(v->items[i]);
	}
	PyObject_GC_Track(v);
	return (PyObject *)v;
}

/* ---- Far and Odd: a tp_dictoffset nobody may use ------------------------- */

typedef struct {
	PyObject_HEAD
	PyObject *value;
} FarObject;

static void
far_dealloc(PyObject *self)
{
	Py_XDECREF(((FarObject *)self)->value);
	PyObject_Free(self);
}

/* Attributes without the instance dict: only "value". */
static PyObject *
far_getattro(PyObject *self, PyObject *name)
{
	if (PyUnicode_Check(name) &&
	    PyUnicode_CompareWithASCIIString(name, "value") == 0) {
		PyObject *v = ((FarObject *)self)->value;
		Py_INCREF(v);
		return v;
	}
	PyErr_SetObject(PyExc_AttributeError, name);
	return NULL;
}

static PyTypeObject Far_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "oddlayout.Far",
	.tp_basicsize = sizeof(FarObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = far_dealloc,
	.tp_getattro = far_getattro,
	.tp_dictoffset = sizeof(FarObject) + 64,
};

static PyTypeObject Odd_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "oddlayout.Odd",
	.tp_basicsize = sizeof(FarObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = far_dealloc,
	.tp_getattro = far_getattro,
	.tp_dictoffset = 12,
};

/* far(value) / odd(value) */
static PyObject *
make_far(PyTypeObject *tp, PyObject *value)
{
	FarObject *o = PyObject_New(FarObject, tp);

	if (!o)
		return NULL;
	Py_INCREF(value);
	o->value = value;
	return (PyObject *)o;
}

static PyObject *
far(PyObject *mod, PyObject *value)
{
	(void)mod;
	return make_far(&Far_Type, value);
}

static PyObject *
odd(PyObject *mod, PyObject *value)
{
	(void)mod;
	return make_far(&Odd_Type, value);
}

/* ---- the module ---------------------------------------------------------- */

static PyMethodDef methods[] = {
	{ "var", make_var, METH_VARARGS, NULL },
	{ "far", far, METH_O, NULL },
	{ "odd", odd, METH_O, NULL },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "oddlayout", NULL, -1, methods,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_oddlayout(void)
{
	PyObject *m, *liar;

	if (PyType_Ready(&Var_Type) < 0 || PyType_Ready(&Far_Type) < 0 ||
	    PyType_Ready(&Odd_Type) < 0)
		return NULL;
	m = PyModule_Create(&module);
	if (!m)
		return NULL;
	liar = PyType_FromSpec(&liar_spec);
	if (!liar || PyModule_AddObject(m, "Liar", liar) < 0) {
		Py_XDECREF(liar);
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
