/*
 * attach.h - the shim's way into a running interpreter: one call of the
 * shim's start-up function on a Python thread, GIL held, at the first
 * moment the interpreter runs code (a script, -c, -m, the REPL, an
 * embedder's first exec, compile or import), before that code runs.
 *
 * It owns the PEP 578 audit hook that provides that moment, and its
 * removal from CPython's list once done.  It does not know what the
 * start-up function does (shim.c: register the atexit and fork hooks,
 * start the worker).  See attach.c for why an audit hook, and why it
 * must be unlinked by hand.
 */
#ifndef MUPPY_SHIM_ATTACH_H
#define MUPPY_SHIM_ATTACH_H

/* Called once, GIL held, on the thread that raised the audit event. */
typedef void (*attach_ready_fn)(void);

/*
 * Installs the hook that will call ready().  Constructor only: before
 * Py_Initialize, on the main thread, after py_api_init() succeeded.
 * Returns 0, or -1 with *why set to a static message (nothing installed,
 * or, if the hook's list entry could not be found, an entry that stays
 * inert); ready() is then never called.
 */
int attach_install(attach_ready_fn ready, const char **why);

/* 1 once ready() has been called (in this process or the parent it was
 * forked from). */
int attach_done(void);

#endif /* MUPPY_SHIM_ATTACH_H */
