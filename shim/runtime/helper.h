/*
 * helper.h - the second thread of a streamed snapshot (walk.h's struct
 * walk_helper): where chunks are compressed and written while the walk
 * goes on, so that a dump is complete soon after the walk ends.
 */
#ifndef MUPPY_SHIM_RUNTIME_HELPER_H
#define MUPPY_SHIM_RUNTIME_HELPER_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>   /* pid_t */

#include <pthread.h>

#include "shim/walk/walk.h"   /* struct walk_helper */

/* One helper thread, started and joined by the walk; lives on the stack of
 * whoever takes the snapshot. */
struct shim_helper {
	struct walk_helper h;        /* what walk_opts.helper points to */
	void (*fn)(void *);
	void *arg;
	int bare;                    /* a clone() thread (snapshot child) */
	int running;
	pthread_t thread;            /* !bare */
	_Atomic long tid;            /* its kernel id; bare: cleared by the
	                                kernel when it exits */
	void *stack;                 /* bare: its own mapping */
	size_t stacklen;
};

/*
 * Readies *s.  bare = 0 in the profiled process: a pthread with every
 * signal blocked, joined (and gone from the thread count os.fork()
 * checks) before the walk gives the GIL back.  bare = 1 in a snapshot
 * child: a clone() thread on a stack mapped here, with no pthread state
 * (pthread_create allocates its thread block with glibc's malloc, which
 * the child must not call: snapfork.c note 1).  A helper that fails to
 * start (SHIM_FAIL_HELPER too) leaves the walk to encode on its own.
 */
void shim_helper_init(struct shim_helper *s, int bare);

/*
 * pthread_join returns when the kernel clears the thread's tid, a moment
 * before it leaves the thread group: /proc/self/stat still counts it, and
 * os.fork() on 3.12+ would warn that the process is multi-threaded.
 * Waits (at most ~100 ms) until thread tid (0: none) is gone.  For the
 * worker too.
 */
void shim_thread_wait_gone(long tid);

#endif
