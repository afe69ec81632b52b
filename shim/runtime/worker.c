/*
 * worker.c - the worker thread: waits for a trigger (the dump signal, the
 * timer, a request), takes the snapshot with the GIL borrowed from the
 * main thread, reaps snapshot children, and ends with the process's last
 * thread where nothing else would end it.  The why is in shim.c's design
 * notes 2 (signal to semaphore), 4 (never into a finalizing interpreter),
 * 8 (a fork from a non-main thread) and 9 (the borrowed GIL).
 */
#include <dirent.h>      /* opendir, readdir */
#include <errno.h>       /* errno, EINTR, ETIMEDOUT */
#include <fcntl.h>       /* open, O_CLOEXEC */
#include <pthread.h>     /* pthread_* */
#include <signal.h>      /* sigset_t, pthread_sigmask */
#include <stdio.h>       /* snprintf */
#include <stdlib.h>      /* strtol */
#include <string.h>      /* strcmp */
#include <semaphore.h>   /* sem_* */
#include <sys/syscall.h> /* SYS_gettid */
#include <time.h>        /* CLOCK_MONOTONIC */
#include <unistd.h>      /* syscall */

#include "common/clock.h"          /* muppy_now_ns */
#include "shim/cpython/pyapi.h"    /* py */
#include "shim/runtime/helper.h"   /* shim_thread_wait_gone */
#include "shim/runtime/signals.h"  /* sig_* */
#include "shim/runtime/snapfork.h" /* snapfork_poll, snapfork_wait_all */
#include "shim/runtime/state.h"    /* shim */

/* ---- the worker thread -------------------------------------------------- */

void
shim_wake(void)
{
	if (atomic_load(&shim.sem_ok))
		sem_post(&shim.sem);
}

/* Waits for a post on shim.sem, until the monotonic deadline if non-zero;
 * then consumes every further post (signals merge into one dump). */
static void
shim_sem_wait(uint64_t deadline)
{
	struct timespec ts;

	if (deadline) {
		ts.tv_sec = (time_t)(deadline / 1000000000ull);
		ts.tv_nsec = (long)(deadline % 1000000000ull);
		sem_clockwait(&shim.sem, CLOCK_MONOTONIC, &ts);
	} else {
		sem_wait(&shim.sem);
	}
	while (sem_trywait(&shim.sem) == 0)
		;
}

/* When the worker must wake up next: the timer's deadline, or sooner
 * while a snapshot child of ours is running, to reap it (snapfork.h);
 * 0: only a trigger. */
static uint64_t
shim_worker_deadline(uint64_t interval)
{
	uint64_t reap = snapfork_poll();   /* reaps; 0: no child pending */
	uint64_t deadline = interval ? shim.next_timer : 0;
	uint64_t soon = muppy_now_ns(CLOCK_MONOTONIC) + reap;

	if (reap && (!deadline || soon < deadline))
		deadline = soon;
	if (atomic_load(&shim.last_thread_watch)) {
		soon = muppy_now_ns(CLOCK_MONOTONIC) +
		       SHIM_LAST_THREAD_POLL_MS * 1000000ull;
		if (!deadline || soon < deadline)
			deadline = soon;
	}
	return deadline;
}

/* The state letter of task tid of this process ('?' if unknown). */
static char
shim_task_state(long tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* the command name may hold anything */
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * Design note 8: whether every thread but the calling one has exited.
 * Not /proc/self/stat's thread count: a thread-group leader that exits
 * first stays a zombie, counted, until the last thread is gone.
 */
static int
shim_only_thread_left(void)
{
	long self = (long)syscall(SYS_gettid);
	struct dirent *e;
	int alone = 1;
	DIR *dir;

	if (!atomic_load(&shim.last_thread_watch))
		return 0;
	dir = opendir("/proc/self/task");
	if (!dir)
		return 0;
	while (alone && (e = readdir(dir)) != NULL) {
		long tid = strtol(e->d_name, NULL, 10);
		char st;

		if (tid <= 0 || tid == self)
			continue;
		st = shim_task_state(tid);
		alone = st == 'Z' || st == 'X';
	}
	closedir(dir);
	return alone;
}

/* Waits for the next trigger; returns "signal", "timer", "exit" (design
 * note 8: the worker is the last thread), or NULL when the stop flag is
 * set. */
static const char *
shim_wait_trigger(void)
{
	uint64_t interval = shim.cfg.interval_ns;

	/* The flag is checked before waiting: a signal that came while the
	 * worker was busy (attaching, or taking a snapshot) already had its
	 * semaphore post drained by that wait. */
	while (!atomic_load(&shim.stop)) {
		if (shim_only_thread_left())
			return "exit";
		if (atomic_exchange(&shim.sig_pending, 0))
			return "signal";
		if (interval &&
		    muppy_now_ns(CLOCK_MONOTONIC) >= shim.next_timer) {
			shim.next_timer = muppy_now_ns(CLOCK_MONOTONIC) + interval;
			return "timer";
		}
		shim_sem_wait(shim_worker_deadline(interval));
	}
	/* Stopping (for a fork, or at exit): a pending request stays in the
	 * flag for the worker that after_in_parent starts. */
	return NULL;
}

/*
 * Says once when timer dumps come less often than MUPPY_INTERVAL asks:
 * a snapshot (with, in fork mode, the wait for the previous child) takes
 * longer than the interval.  One late period is not that (a collection or
 * a busy machine delays one walk), so the warning waits for
 * SHIM_TIMER_LATE_RUN late periods in a row.  start/took: this timer
 * snapshot's start and how long it kept the worker; *prev: the previous
 * timer snapshot's start (0 before the first); *late: the current run.
 */
#define SHIM_TIMER_LATE_RUN 3

static void
shim_timer_check(uint64_t *prev, unsigned *late, uint64_t start,
		 uint64_t took)
{
	uint64_t iv = shim.cfg.interval_ns, period = start - *prev;
	int was_first = *prev == 0;
	char msg[256];

	*prev = start;
	if (was_first)
		return;
	if (period <= iv + iv / 2 + 50000000ull) {
		*late = 0;
		return;
	}
	if (++*late < SHIM_TIMER_LATE_RUN || !shim_first_time("timer late", 0))
		return;
	snprintf(msg, sizeof msg, "timer dumps come every %.1f s, not every "
		 "%.3g s (MUPPY_INTERVAL): a snapshot takes %.1f s here",
		 (double)period / 1e9, (double)iv / 1e9, (double)took / 1e9);
	shim_say(msg);
}

static void
shim_worker_loop(void)
{
	const char *trigger;
	uint64_t prev_timer = 0;
	unsigned late = 0;

	shim.next_timer = muppy_now_ns(CLOCK_MONOTONIC) + shim.cfg.interval_ns;
	while ((trigger = shim_wait_trigger()) != NULL) {
		if (!strcmp(trigger, "exit")) {
			/* Design note 8: the program has ended around us. */
			atomic_store(&shim.exiting, 1);
			snapfork_wait_all();
			atomic_store(&shim.worker_running, 0);
			pthread_detach(pthread_self());
			return;
		}
		uint64_t start = muppy_now_ns(CLOCK_MONOTONIC);

		shim_snapshot_take(trigger, 0, &shim_default_target);
		/* The next timer dump is a full interval after this one ends,
		 * so a slow walk cannot monopolize the GIL. */
		if (shim.cfg.interval_ns && !strcmp(trigger, "timer")) {
			uint64_t end = muppy_now_ns(CLOCK_MONOTONIC);

			shim_timer_check(&prev_timer, &late, start,
					 end - start);
			shim.next_timer = end + shim.cfg.interval_ns;
		}
	}
}

static void *
shim_worker_main(void *arg)
{
	(void)arg;
	atomic_store(&shim.worker_tid, (long)syscall(SYS_gettid));
	shim_worker_loop();
	return NULL;
}

/* Starts the worker.  Caller: shim_on_attach or a fork hook, GIL held
 * (so that no fork or exit hook of ours runs meanwhile). */
void
shim_worker_start(void)
{
	sigset_t all, old;
	int rc;

	if (atomic_load(&shim.exiting) ||
	    atomic_exchange(&shim.worker_running, 1))
		return;
	atomic_store(&shim.stop, 0);
	/* Signals go to the application's threads, never to ours. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&shim.worker, NULL, shim_worker_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		atomic_store(&shim.worker_running, 0);
		shim_report("cannot start the worker thread", rc);
	}
}

/* Stops and joins the worker.  Called with the GIL held (atexit and
 * before-fork hooks): the GIL is released while joining because the worker
 * may be waiting for it to finish a dump. */
void
shim_worker_stop(void)
{
	void *ts;

	atomic_store(&shim.stop, 1);
	shim_wake();
	sem_post(&shim.gil.done);   /* a worker waiting for the main thread */
	if (!atomic_exchange(&shim.worker_running, 0))
		return;
	ts = py.PyEval_SaveThread();
	pthread_join(shim.worker, NULL);
	shim_thread_wait_gone(atomic_exchange(&shim.worker_tid, 0));
	py.PyEval_RestoreThread(ts);
}

