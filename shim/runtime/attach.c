/*
 * attach.c - calls the shim's start-up function once, GIL held, at the
 * first moment the interpreter runs code, through a PEP 578 audit hook
 * installed by the constructor and unlinked again right after.
 *
 * It does not decide what start-up means (shim.c) and never runs Python
 * code of its own beyond what that function does.
 *
 * DESIGN NOTES
 *   1. Why an audit hook.  PySys_AddAuditHook is the one callback CPython
 *      (3.8+) accepts before Py_Initialize, and hooks are called by
 *      whichever thread raises an event, GIL held.  CPython marks itself
 *      initialized just before it imports site, so the first "import"
 *      of site's own imports usually attaches; with -S it is
 *      "cpython.run_command" (or _file, _module, _stdin), raised by the
 *      python executable just before the program runs; an embedder's
 *      first PyRun_* or import raises "exec", "compile" or "import".
 *      Either way it is before the program's first line, on the main
 *      thread, outside importlib.  The earlier designs each broke: a
 *      worker thread polling Py_IsInitialized and then taking the GIL
 *      could be caught in take_gil by finalization (heap corruption at
 *      exit); a worker queueing Py_AddPendingCall raced Py_FinalizeEx
 *      (3.8 prints a SystemError once `finishing` is set, 3.9+ frees the
 *      queue's lock) and existed before our fork hooks did (3.12 warns
 *      about forking a process with threads).  With the hook there is
 *      no thread at all until the hooks are registered.
 *   2. Only after Py_IsInitialized() and before finalization: the
 *      earliest imports of Py_Initialize raise events too (sys and
 *      builtins are not ready), and so may atexit callbacks
 *      (registering then would miss our own atexit callback).
 *      Not while importlib's own frames are innermost either: running
 *      an import from inside _ModuleLock.acquire broke the outer import
 *      (a KeyError, then a Fatal Python error during 3.8's site import).
 *      Any later event retries.
 *   3. The hook unlinks itself once it has run (or finalization begins),
 *      so audit events cost nothing afterwards, and, above all, so that
 *      CPython never frees our entry: PySys_AddAuditHook allocated it in
 *      our constructor, before the interpreter picked its allocator, and
 *      freeing it at exit with the debug allocator of `-X dev` or
 *      PYTHONMALLOC=debug is a fatal error (measured on 3.8-3.13).
 *      There is no API to remove a hook, so the list head is found as the
 *      one word of _PyRuntime that adding ours changed (exactly one on
 *      3.8-3.13), and the entry {next, hook, userData} (the same on
 *      3.8-3.13) is unlinked by hand, under the GIL that every reader
 *      and writer of the list holds.  The 24-byte entry is left
 *      allocated on purpose.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* dladdr1 */
#endif
#include "shim/runtime/attach.h"

#include <dlfcn.h>       /* dladdr1, RTLD_DL_SYMENT */
#include <link.h>        /* ElfW */
#include <stdatomic.h>   /* atomic_int */
#include <stdint.h>      /* uintptr_t */
#include <stdlib.h>      /* malloc, free */
#include <string.h>      /* memcpy, strcmp, strncmp */

#include "shim/cpython/pyapi.h"  /* py */

/* CPython's _Py_AuditHookEntry (Python/sysmodule.c), 3.8-3.13. */
struct attach_entry {
	struct attach_entry *next;
	py_audithook hook;
	void *data;
};

enum attach_state {
	ATTACH_WAITING,   /* installed, waiting for a code event */
	ATTACH_RUNNING,   /* inside ready(): its own events are ignored */
	ATTACH_DONE,      /* ready() was called */
	ATTACH_GONE       /* finalizing, or never installed: never calls */
};

static struct {
	atomic_int state;             /* enum attach_state; set under the GIL */
	attach_ready_fn ready;
	struct attach_entry **head;   /* the list head in _PyRuntime */
	struct attach_entry *entry;   /* ours (CPython's allocation) */
} attach = { ATTACH_GONE, NULL, NULL, NULL };

int
attach_done(void)
{
	return atomic_load(&attach.state) == ATTACH_DONE;
}

/* Removes our entry from CPython's list, if it is still there.  GIL held. */
static void
attach_unlink(void)
{
	struct attach_entry **pp;

	if (!attach.head)
		return;
	for (pp = attach.head; *pp; pp = &(*pp)->next) {
		if (*pp == attach.entry) {
			*pp = attach.entry->next;
			break;
		}
	}
	attach.head = NULL;
}

static int
attach_finalizing(void)
{
	if (py.Py_IsFinalizing)
		return py.Py_IsFinalizing();
	return py._Py_IsFinalizing ? py._Py_IsFinalizing() : 0;
}

/* Events raised when code is about to run (design note 1). */
static int
attach_is_code_event(const char *event)
{
	return !strncmp(event, "cpython.run_", 12) || !strcmp(event, "exec") ||
	       !strcmp(event, "compile") || !strcmp(event, "import");
}

/* True when the innermost frame is importlib's own code (design note 2). */
static int
attach_in_importlib(void)
{
	static const char *const names[] = {
		"_frozen_importlib", "_frozen_importlib_external",
		"importlib._bootstrap", "importlib._bootstrap_external",
	};
	py_object *g = py.PyEval_GetGlobals(), *name;   /* borrowed */
	size_t i;

	if (!g)
		return 0;
	name = py.PyDict_GetItemString(g, "__name__");   /* borrowed */
	if (!name)
		return 0;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (py.PyUnicode_CompareWithASCIIString(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Runs ready() with any exception of the event's raiser set aside. */
static void
attach_run_ready(void)
{
	py_object *type, *value, *tb;

	py.PyErr_Fetch(&type, &value, &tb);
	attach.ready();
	py.PyErr_Clear();
	py.PyErr_Restore(type, value, tb);
}

/* The audit hook.  Always returns 0: it never vetoes an event. */
static int
attach_hook(const char *event, py_object *args, void *data)
{
	(void)args;
	(void)data;
	if (atomic_load_explicit(&attach.state, memory_order_relaxed) !=
	    ATTACH_WAITING)
		return 0;
	if (attach_finalizing() ||
	    !strcmp(event, "cpython._PySys_ClearAuditHooks")) {
		atomic_store(&attach.state, ATTACH_GONE);
		attach_unlink();
		return 0;
	}
	if (!attach_is_code_event(event) || !py.Py_IsInitialized() ||
	    attach_in_importlib())
		return 0;
	atomic_store(&attach.state, ATTACH_RUNNING);
	attach_run_ready();
	attach_unlink();
	atomic_store(&attach.state, ATTACH_DONE);
	return 0;
}

/* Number of pointer-sized words in _PyRuntime, 0 if unknown. */
static size_t
attach_runtime_words(void *runtime)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	if (!dladdr1(runtime, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
		return 0;
	return (size_t)sym->st_size / sizeof(uintptr_t);
}

/* Finds the list head as the one word that adding our hook changed
 * (design note 3); NULL if that is not what happened. */
static struct attach_entry **
attach_find_head(const uintptr_t *before, uintptr_t *runtime, size_t words)
{
	struct attach_entry **head = NULL, *e;
	size_t i, changed = 0;

	for (i = 0; i < words; i++) {
		if (runtime[i] == before[i])
			continue;
		changed++;
		if (before[i] == 0)
			head = (struct attach_entry **)&runtime[i];
	}
	if (changed != 1 || !head)
		return NULL;
	e = *head;
	if (e->hook != attach_hook || e->data != &attach || e->next)
		return NULL;
	return head;
}

int
attach_install(attach_ready_fn ready, const char **why)
{
	uintptr_t *runtime = (uintptr_t *)py._PyRuntime, *before;
	size_t words = runtime ? attach_runtime_words(runtime) : 0;

	*why = NULL;
	if (words == 0) {
		*why = "_PyRuntime not found";
		return -1;
	}
	before = malloc(words * sizeof *before);
	if (!before) {
		*why = "out of memory";
		return -1;
	}
	memcpy(before, runtime, words * sizeof *before);
	attach.ready = ready;
	if (py.PySys_AddAuditHook(attach_hook, &attach) != 0) {
		free(before);
		*why = "PySys_AddAuditHook failed";
		return -1;
	}
	attach.head = attach_find_head(before, runtime, words);
	free(before);
	if (!attach.head) {
		/* Registered but not removable: it stays inert (GONE). */
		*why = "cannot locate our audit hook in CPython's list";
		return -1;
	}
	attach.entry = *attach.head;
	atomic_store(&attach.state, ATTACH_WAITING);
	return 0;
}
