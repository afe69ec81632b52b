/*
 * hooks.c - the Python side of the life cycle: the three C functions the
 * shim registers with the interpreter (an atexit callback and the
 * os.register_at_fork hooks) and shim_on_attach, which registers them and
 * only then starts the worker (shim.c design notes 3, 4 and 6).  Their
 * function objects are the only Python objects the shim makes; every walk
 * leaves them out (shim.py_fns).
 */
#include <stdatomic.h>   /* atomic_* */
#include <stddef.h>      /* NULL */
#include <sys/syscall.h> /* SYS_gettid */
#include <unistd.h>      /* getpid, syscall */

#include "shim/cpython/pyapi.h"    /* py, struct py_methoddef */
#include "shim/runtime/signals.h"  /* sig_* */
#include "shim/runtime/snapfork.h" /* snapfork_wait_all */
#include "shim/runtime/state.h"    /* shim */

/* ---- Python-side hooks -------------------------------------------------- */

static py_object *
shim_py_none(void)
{
	py.Py_IncRef(py._Py_NoneStruct);
	return py._Py_NoneStruct;
}

/* atexit callback: exit dump, then stop the worker (design note 4). */
static py_object *
shim_py_at_exit(py_object *self, py_object *unused)
{
	(void)self;
	(void)unused;
	atomic_store(&shim.exiting, 1);
	atomic_store(&shim.stop, 1);
	shim_wake();
	/* A signal that came too late for the worker still gets its dump
	 * (the exit dump serves it when there is one). */
	if (atomic_exchange(&shim.sig_pending, 0) && !shim.cfg.at_exit)
		shim_snapshot_take("signal", 1, &shim_default_target);
	if (shim.cfg.at_exit)
		shim_snapshot_take("exit", 1, &shim_default_target);
	shim_worker_stop();
	if (shim.cfg.snapshot == SHIM_SNAPSHOT_FORK) {
		void *ts = py.PyEval_SaveThread();

		snapfork_wait_all();   /* no dump left half-written */
		py.PyEval_RestoreThread(ts);
	}
	return shim_py_none();
}

static py_object *
shim_py_before_fork(py_object *self, py_object *unused)
{
	(void)self;
	(void)unused;
	/* Which thread forks decides how the child will end (note 8). */
	atomic_store(&shim.forking_from_main,
		     (pid_t)syscall(SYS_gettid) == getpid());
	atomic_store(&shim.forking, 1);
	shim_worker_stop();
	return shim_py_none();
}

/* Py_AddPendingCall callback: runs in the main thread, GIL held. */
static int
shim_pending_start(void *arg)
{
	(void)arg;
	shim_worker_start();
	return 0;
}

/* after_in_parent: restart the worker stopped by the before hook.  From
 * 3.13 on, os.fork() counts threads for its warning after running these
 * hooks, so the restart is left to a pending call, which the main thread
 * runs once os.fork() has returned (a Python-level point: safe). */
static py_object *
shim_py_after_parent(py_object *self, py_object *unused)
{
	(void)self;
	(void)unused;
	atomic_store(&shim.forking, 0);
	if (py.minor < 13 ||
	    py.Py_AddPendingCall(shim_pending_start, NULL) != 0)
		shim_worker_start();
	return shim_py_none();
}

/* after_in_child: the child's state was reset by shim_atfork_child;
 * PyOS_AfterFork_Child has run, so starting a thread is safe here. */
static py_object *
shim_py_after_child(py_object *self, py_object *unused)
{
	(void)self;
	(void)unused;
	shim_worker_start();
	return shim_py_none();
}

static struct py_methoddef shim_py_defs[SHIM_NFN] = {
	[SHIM_FN_EXIT] = { "_muppy_at_exit", shim_py_at_exit,
			   PY_METH_NOARGS, NULL },
	[SHIM_FN_BEFORE] = { "_muppy_before_fork", shim_py_before_fork,
			     PY_METH_NOARGS, NULL },
	[SHIM_FN_PARENT] = { "_muppy_after_fork_parent", shim_py_after_parent,
			     PY_METH_NOARGS, NULL },
	[SHIM_FN_CHILD] = { "_muppy_after_fork_child", shim_py_after_child,
			    PY_METH_NOARGS, NULL },
};

/* module.name(*args, **kwargs) ignoring the result; 0 or -1.  Steals
 * nothing; clears any Python error. */
static int
shim_py_call(const char *module, const char *name, py_object *args,
	     py_object *kwargs)
{
	py_object *mod, *fn = NULL, *r = NULL;

	mod = py.PyImport_ImportModule(module);
	if (mod)
		fn = py.PyObject_GetAttrString(mod, name);
	if (fn && args)
		r = py.PyObject_Call(fn, args, kwargs);
	if (r)
		py.Py_DecRef(r);
	else
		py.PyErr_Clear();
	if (fn)
		py.Py_DecRef(fn);
	if (mod)
		py.Py_DecRef(mod);
	return r ? 0 : -1;
}

/* Registers the atexit callback and the fork hooks (GIL held).  Returns
 * -1 if the atexit registration failed: without it the worker could not
 * be stopped before finalization, so it must not run. */
static int
shim_register_hooks(void)
{
	static const char *const fork_kw[SHIM_NFN] = {
		NULL, "before", "after_in_parent", "after_in_child",
	};
	py_object *fns[SHIM_NFN], *args, *kw;
	int i, rc = -1;

	for (i = 0; i < SHIM_NFN; i++) {
		/* Kept for the life of the process (never released). */
		fns[i] = py.PyCFunction_NewEx(&shim_py_defs[i], NULL, NULL);
		if (!fns[i]) {
			py.PyErr_Clear();
			goto fail;
		}
		shim.py_fns[i] = (uintptr_t)fns[i];
	}
	args = py.PyTuple_Pack(1, fns[SHIM_FN_EXIT]);
	rc = shim_py_call("atexit", "register", args, NULL);
	if (args)
		py.Py_DecRef(args);
	if (rc != 0)
		goto fail;
	kw = py.PyDict_New();
	args = py.PyTuple_Pack(0);
	for (i = SHIM_FN_BEFORE; kw && i < SHIM_NFN; i++)
		if (py.PyDict_SetItemString(kw, fork_kw[i], fns[i]) != 0)
			break;
	if (!kw || !args || i < SHIM_NFN ||
	    shim_py_call("posix", "register_at_fork", args, kw) != 0) {
		py.PyErr_Clear();
		shim_report("os.register_at_fork failed; fork children will "
			    "not be profiled", 0);
	}
	if (kw)
		py.Py_DecRef(kw);
	if (args)
		py.Py_DecRef(args);
	return 0;
fail:
	shim_report("atexit.register failed; not profiling", 0);
	return -1;
}

/* attach.c's start-up call (design note 3): GIL held, the program about
 * to run.  The worker starts only once our exit hook exists. */
void
shim_on_attach(void)
{
	if (shim_register_hooks() == 0)
		shim_worker_start();
}

