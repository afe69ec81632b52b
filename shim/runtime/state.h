/*
 * state.h - the runtime's one state block and what its files call of each
 * other.  Private to shim/runtime: shim.c (messages, the snapshot pipeline,
 * the GIL borrowed from the main thread, fork, the constructor; it owns
 * the block and its design notes), worker.c (the worker thread, its
 * triggers and the timer) and hooks.c (the Python-side hooks: atexit and
 * os.register_at_fork).
 */
#ifndef MUPPY_SHIM_RUNTIME_STATE_H
#define MUPPY_SHIM_RUNTIME_STATE_H

#include <pthread.h>     /* pthread_t */
#include <semaphore.h>   /* sem_t */
#include <stdatomic.h>   /* atomic_* */
#include <stddef.h>      /* size_t */
#include <stdint.h>      /* uintptr_t, uint64_t */

#include "shim/runtime/config.h"   /* struct shim_config */

/* Causes already reported, so that a full disk produces one line, not
 * one per timer tick.  A cause is (what, errno) packed into one word:
 * what is a string literal (compared by address; user-space addresses
 * fit in 48 bits), errno goes above it. */
#define SHIM_MAX_CAUSES 64

/* How long the worker waits for the main thread to run a snapshot's
 * GIL-held part before it takes the GIL itself (design note 9). */
#define SHIM_GIL_WAIT_MS 20

/* How often the worker looks for being the last thread (note 8). */
#define SHIM_LAST_THREAD_POLL_MS 20

/* State a process's dumps share: the next sequence number and the causes
 * already reported.  Reached through shim.shared so that a fork snapshot
 * mode can move it into memory its snapshot children update too. */
struct shim_shared {
	atomic_uint seq;                          /* next number to try */
	atomic_uintptr_t causes[SHIM_MAX_CAUSES]; /* (what, errno) keys */
};

/* Our Python function objects (design note 3), for walk_opts.exclude. */
enum { SHIM_FN_EXIT, SHIM_FN_BEFORE, SHIM_FN_PARENT, SHIM_FN_CHILD,
       SHIM_NFN };

/* Everything the shim changes at run time, in one place.  Fields set by
 * the constructor only are plain; those other threads or the signal
 * handler touch are atomic. */
struct shim_state {
	struct shim_config cfg;      /* read-only after the constructor */
	atomic_int pid;              /* getpid(), reset in a fork child */
	atomic_int ready;            /* 1: config and CPython resolved */

	/* The worker thread and how it is woken (design note 2). */
	sem_t sem;                   /* posted by triggers, worker waits */
	atomic_int sem_ok;           /* 1: sem initialized */
	atomic_int sig_pending;      /* 1: the dump signal arrived */
	atomic_int stop;             /* 1: the worker must return */
	atomic_int exiting;          /* 1: atexit ran, never restart */
	atomic_int worker_running;   /* 1: worker must be joined */
	pthread_t worker;
	atomic_long worker_tid;      /* its kernel tid, 0 before it runs */
	uint64_t next_timer;         /* worker-only: timer deadline */
	/* The GIL, borrowed from the main thread (design note 9). */
	struct {
		atomic_int state;    /* SHIM_GIL_* */
		atomic_int queued;   /* our call is in CPython's queue */
		void (*fn)(void *);
		void *arg;
		sem_t done;          /* posted when fn has run (or a stop) */
	} gil;
	/* A fork from a thread other than the main one (design note 8). */
	atomic_int forking;          /* 1: between our before/after hooks */
	atomic_int forking_from_main;
	atomic_int last_thread_watch; /* 1: this process ends with its
					 last thread, not Py_Finalize */

	uintptr_t py_fns[SHIM_NFN];  /* our function objects (addresses) */
	struct shim_shared shared_local;
	struct shim_shared *shared;  /* shared_local, or a MAP_SHARED copy */
};
extern struct shim_state shim;

/* Where a snapshot goes and who hears about failures. */
struct shim_target {
	const char *path;     /* NULL: <dir>/muppy.<pid>.<seq>.dump */
	char *out_path;       /* receives the file written (may be NULL) */
	size_t out_len;
	int quiet;            /* 1: the caller reports (the Python API) */
};

/* The usual target: <dir>/muppy.<pid>.<seq>.dump, failures reported. */
extern const struct shim_target shim_default_target;

/* ---- shim.c ------------------------------------------------------------- */

/* One "muppy: ..." line on stderr. */
void shim_say(const char *msg);
/* 1 the first time the cause (what, err) is seen in this process tree. */
int shim_first_time(const char *what, int err);
/* Reports a failure to take a snapshot, once per cause. */
void shim_report(const char *what, int err);
/* A snapshot now (the GIL held by the caller, or borrowed: shim.c design
 * notes 5 and 9).  0 or -errno. */
int shim_snapshot_take(const char *trigger, int have_gil,
		   const struct shim_target *t);
/* pthread_atfork child handler (design note 6). */
void shim_atfork_child(void);

/* ---- worker.c ----------------------------------------------------------- */

void shim_wake(void);
void shim_worker_start(void);
void shim_worker_stop(void);

/* ---- hooks.c ------------------------------------------------------------ */

/* attach_install's callback: registers the hooks, starts the worker
 * (design note 3).  GIL held. */
void shim_on_attach(void);

#endif /* MUPPY_SHIM_RUNTIME_STATE_H */
