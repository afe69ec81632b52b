/*
 * pyapi.c - resolves the CPython entry points of pyapi.h at run time and
 * picks the version-specific layout.
 *
 * Why dlsym(RTLD_DEFAULT): the shim is preloaded into every process (sh,
 * gcc, python) and must stay inert where there is no Python; and Debian's
 * python3 exports the API from the executable, pyenv's from libpython.so.
 *
 * The offsets in py_layouts[] were measured with offsetof() against each
 * version's own headers (Include/internal/pycore_*.h with Py_BUILD_CORE):
 * 3.8.18, 3.9.18, 3.10.13, 3.11.7 (identical for Debian's 3.11.2), 3.12.1,
 * 3.13.0 (ht_cached_keys and dv_values: pycore_dict.h, PyHeapTypeObject).
 * CPython keeps these structs stable within a minor version.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* RTLD_DEFAULT */
#endif
#include "shim/cpython/pyapi.h"

#include <dlfcn.h>    /* dlsym */
#include <stdio.h>    /* sscanf, snprintf */
#include <string.h>   /* memset */

struct py_api py;

static int py_api_ready;

/* Layouts by minor version (index minor - 8). */
static const struct py_layout py_layouts[6] = {
	[0] = { /* 3.8 */
		.gc_in_runtime = 1, .gc_state = 344, .gc_enabled = 12,
		.gc_generations = 24, .gc_permanent = 104,
		.ts_frame = 24, .ts_thread_id = 176,
		.fr_back = 24, .fr_code = 32, .fr_localsplus = 360,
		.fr_iframe = -1, .if_code = -1, .if_func = -1,
		.if_globals = -1, .if_builtins = -1, .if_locals = -1,
		.if_localsplus = -1,
		.co_nlocals = 28, .co_varnames = 72, .co_cellvars = 88,
		.co_freevars = 80, .co_nlocalsplus = -1,
		.co_localsplusnames = -1, .co_nfreevars = -1, .co_name = 112,
		.fn_code = 16, .fn_name = 64, .fn_qualname = 104,
		.fn_closure = 48, .fn_defaults = 32, .ht_qualname = 864,
		.ht_cached_keys = -1, .dv_values = -1,
		.str_ascii_size = 48, .str_compact_size = 72,
	},
	[1] = { /* 3.9 */
		.gc_in_runtime = 0, .gc_state = 616, .gc_enabled = 12,
		.gc_generations = 24, .gc_permanent = 104,
		.ts_frame = 24, .ts_thread_id = 176,
		.fr_back = 24, .fr_code = 32, .fr_localsplus = 360,
		.fr_iframe = -1, .if_code = -1, .if_func = -1,
		.if_globals = -1, .if_builtins = -1, .if_locals = -1,
		.if_localsplus = -1,
		.co_nlocals = 28, .co_varnames = 72, .co_cellvars = 88,
		.co_freevars = 80, .co_nlocalsplus = -1,
		.co_localsplusnames = -1, .co_nfreevars = -1, .co_name = 112,
		.fn_code = 16, .fn_name = 64, .fn_qualname = 104,
		.fn_closure = 48, .fn_defaults = 32, .ht_qualname = 856,
		.ht_cached_keys = -1, .dv_values = -1,
		.str_ascii_size = 48, .str_compact_size = 72,
	},
	[2] = { /* 3.10 */
		.gc_in_runtime = 0, .gc_state = 616, .gc_enabled = 12,
		.gc_generations = 24, .gc_permanent = 104,
		.ts_frame = 24, .ts_thread_id = 176,
		.fr_back = 24, .fr_code = 32, .fr_localsplus = 352,
		.fr_iframe = -1, .if_code = -1, .if_func = -1,
		.if_globals = -1, .if_builtins = -1, .if_locals = -1,
		.if_localsplus = -1,
		.co_nlocals = 28, .co_varnames = 72, .co_cellvars = 88,
		.co_freevars = 80, .co_nlocalsplus = -1,
		.co_localsplusnames = -1, .co_nfreevars = -1, .co_name = 112,
		.fn_code = 48, .fn_name = 32, .fn_qualname = 40,
		.fn_closure = 72, .fn_defaults = 56, .ht_qualname = 864,
		.ht_cached_keys = -1, .dv_values = -1,
		.str_ascii_size = 48, .str_compact_size = 72,
	},
	[3] = { /* 3.11 */
		.gc_in_runtime = 0, .gc_state = 648, .gc_enabled = 12,
		.gc_generations = 24, .gc_permanent = 104,
		.ts_frame = -1, .ts_thread_id = 152,
		.fr_back = 16, .fr_code = -1, .fr_localsplus = -1,
		.fr_iframe = 24, .if_code = 32, .if_func = 0,
		.if_globals = 8, .if_builtins = 16, .if_locals = 24,
		.if_localsplus = 72,
		.co_nlocals = -1, .co_varnames = -1, .co_cellvars = -1,
		.co_freevars = -1, .co_nlocalsplus = 76,
		.co_localsplusnames = 96, .co_nfreevars = 92, .co_name = 120,
		.fn_code = 48, .fn_name = 32, .fn_qualname = 40,
		.fn_closure = 72, .fn_defaults = 56, .ht_qualname = 864,
		.ht_cached_keys = 872, .dv_values = 0,
		.str_ascii_size = 48, .str_compact_size = 72,
	},
	[4] = { /* 3.12: the gc offsets are checked (roots.c) */
		.gc_in_runtime = 0, .gc_state = 112, .gc_enabled = 12,
		.gc_generations = 24, .gc_permanent = 104,
		.ts_frame = -1, .ts_thread_id = 136,
		.fr_back = 16, .fr_code = -1, .fr_localsplus = -1,
		.fr_iframe = 24, .if_code = 0, .if_func = 16,
		.if_globals = 24, .if_builtins = 32, .if_locals = 40,
		.if_localsplus = 72,
		.co_nlocals = -1, .co_varnames = -1, .co_cellvars = -1,
		.co_freevars = -1, .co_nlocalsplus = 72,
		.co_localsplusnames = 96, .co_nfreevars = 88, .co_name = 120,
		.fn_code = 48, .fn_name = 32, .fn_qualname = 40,
		.fn_closure = 72, .fn_defaults = 56, .ht_qualname = 872,
		.ht_cached_keys = 880, .dv_values = 0,
		.str_ascii_size = 40, .str_compact_size = 56,
	},
	[5] = { /* 3.13 */
		.gc_in_runtime = 0, .gc_state = 7400, .gc_enabled = 12,
		.gc_generations = 24, .gc_permanent = 104,
		.ts_frame = -1, .ts_thread_id = 152,
		.fr_back = 16, .fr_code = -1, .fr_localsplus = -1,
		.fr_iframe = 24, .if_code = 0, .if_func = 16,
		.if_globals = 24, .if_builtins = 32, .if_locals = 40,
		.if_localsplus = 72,
		.co_nlocals = -1, .co_varnames = -1, .co_cellvars = -1,
		.co_freevars = -1, .co_nlocalsplus = 72,
		.co_localsplusnames = 96, .co_nfreevars = 88, .co_name = 120,
		.fn_code = 48, .fn_name = 32, .fn_qualname = 40,
		.fn_closure = 72, .fn_defaults = 56, .ht_qualname = 872,
		.ht_cached_keys = 880, .dv_values = 8,
		.str_ascii_size = 40, .str_compact_size = 56,
	},
};

/* Why the last py_api_init failed (static text or py_api_why_buf). */
static const char *py_api_why = "not initialized";
static char py_api_why_buf[96];

/* The first PY_MOD symbol missing after the last resolve, or NULL. */
static const char *py_api_module_gap;

/* Looks every symbol up; returns the first PY_WALK one missing, or NULL
 * (and keeps the first PY_MOD one missing in py_api_module_gap). */
static const char *
py_api_resolve(void)
{
	const char *missing = NULL;

	py_api_module_gap = NULL;
#define PY_API_NOTE(need, name) \
	if (!py.name && (need) == PY_WALK && !missing) \
		missing = #name; \
	if (!py.name && (need) == PY_MOD && !py_api_module_gap) \
		py_api_module_gap = #name;
#define PY_API_FN(need, ret, name, args) \
	*(void **)&py.name = dlsym(RTLD_DEFAULT, #name); \
	PY_API_NOTE(need, name)
#define PY_API_DAT(need, name) \
	py.name = (py_object *)dlsym(RTLD_DEFAULT, #name); \
	PY_API_NOTE(need, name)
#define PY_API_VAR(need, name) \
	py.name = (py_object **)dlsym(RTLD_DEFAULT, #name); \
	PY_API_NOTE(need, name)
	PY_API_FUNCTIONS(PY_API_FN)
	PY_API_DATA(PY_API_DAT)
	PY_API_VARS(PY_API_VAR)
#undef PY_API_FN
#undef PY_API_DAT
#undef PY_API_VAR
#undef PY_API_NOTE
	return missing;
}

const char *
py_api_module_missing(void)
{
	return py_api_module_gap;
}

/* The version first: 2.7 or 3.6 lack symbols we need, and "Python 3.6
 * is not supported" is the useful thing to say about them. */
static int
py_api_version(void)
{
	const char *(*version)(void) = (const char *(*)(void))
		dlsym(RTLD_DEFAULT, "Py_GetVersion");
	const char *v = version ? version() : NULL;

	if (!v || sscanf(v, "%d.%d.%d", &py.major, &py.minor,
			 &py.micro) < 2) {
		py_api_why = "Py_GetVersion not found";
		return -1;
	}
	if (py.major != 3 || py.minor < 8 || py.minor > 13) {
		snprintf(py_api_why_buf, sizeof py_api_why_buf,
			 "Python %.*s is not supported (3.8 to 3.13)",
			 (int)strcspn(v, " "), v);
		py_api_why = py_api_why_buf;
		return -1;
	}
	return 0;
}

const char *
py_api_error(void)
{
	return py_api_why;
}

/*
 * 3.8's _PyRuntime.ceval: offsets measured with offsetof() against
 * 3.8.18's internal headers (internal/pycore_pystate.h), for
 * py_add_pending_call.  The pending-calls ring has 32 entries.
 */
enum {
	PY38_EVAL_BREAKER = 592,   /* _Py_atomic_int */
	PY38_PENDING_FINISHING = 600,
	PY38_PENDING_LOCK = 608,   /* PyThread_type_lock */
	PY38_PENDING_CALLS_TO_DO = 616,
	PY38_PENDING_CALLS = 624,  /* {func, arg}[32] */
	PY38_PENDING_FIRST = 1136,
	PY38_PENDING_LAST = 1140,
	PY38_NPENDINGCALLS = 32,
};

typedef int (*py_pendingfn)(void *);

/* 3.8: _PyEval_AddPendingCall, minus its fatal error path. */
static int
py_add_pending_call_38(int (*fn)(void *), void *arg)
{
	char *rt = (char *)py._PyRuntime;
	void *lock = PY_FIELD(void *, rt, PY38_PENDING_LOCK);
	int *first = &PY_FIELD(int, rt, PY38_PENDING_FIRST);
	int *last = &PY_FIELD(int, rt, PY38_PENDING_LAST);
	int i, j, rc = -1;

	if (!lock)
		return -1;
	py.PyThread_acquire_lock(lock, 1);
	i = *last;
	j = (i + 1) % PY38_NPENDINGCALLS;
	if (!PY_FIELD(int, rt, PY38_PENDING_FINISHING) && j != *first &&
	    i >= 0 && i < PY38_NPENDINGCALLS) {
		char *slot = rt + PY38_PENDING_CALLS + 16 * i;

		PY_FIELD(py_pendingfn, slot, 0) = fn;
		PY_FIELD(void *, slot, 8) = arg;
		*last = j;
		rc = 0;
	}
	py.PyThread_release_lock(lock);
	if (rc == 0) {   /* SIGNAL_PENDING_CALLS */
		__atomic_store_n(&PY_FIELD(int, rt, PY38_PENDING_CALLS_TO_DO), 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&PY_FIELD(int, rt, PY38_EVAL_BREAKER), 1,
				 __ATOMIC_RELAXED);
	}
	return rc;
}

int
py_add_pending_call(int (*fn)(void *), void *arg)
{
	if (py.minor == 8)
		return py._PyRuntime ? py_add_pending_call_38(fn, arg) : -1;
	return py.Py_AddPendingCall(fn, arg) == 0 ? 0 : -1;
}

int
py_api_init(void)
{
	const char *missing;

	if (py_api_ready)
		return 0;
	memset(&py, 0, sizeof py);
	/* Not a Python process: stay inert without looking further. */
	if (!dlsym(RTLD_DEFAULT, "Py_IsInitialized")) {
		py_api_why = "not a Python process";
		return -1;
	}
	if (py_api_version() != 0)
		goto fail;
	missing = py_api_resolve();
	if (missing) {
		snprintf(py_api_why_buf, sizeof py_api_why_buf,
			 "%s not found", missing);
		py_api_why = py_api_why_buf;
		goto fail;
	}
	py_api_why = "incomplete CPython API for this version";
	if (py.minor < 9 && !py._PyInterpreterState_Get)
		goto fail;
	if (py.minor == 8 && !py._PyRuntime)
		goto fail;
	if (py.minor >= 12 && !py.PyUnstable_GC_VisitObjects)
		goto fail;
	py.lay = py_layouts[py.minor - 8];
	py_api_ready = 1;
	return 0;
fail:
	memset(&py, 0, sizeof py);
	return -1;
}
