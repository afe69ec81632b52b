/*
 * shim.c - the life cycle of libmuppy.so in a profiled process: finding
 * the interpreter, reading MUPPY_*, the exit dump, fork handling, the GIL
 * borrowed from the main thread, and turning a heap walk into a file.
 * Its neighbours in shim/runtime: worker.c (the worker thread and timer),
 * hooks.c (the Python-side hooks), meta.c (META), state.h (the one state
 * block they share, defined here).
 *
 * It deliberately does not walk the heap (walk.c), own the dump signal's
 * disposition (signals.c) nor know the dump bytes
 * (format/, via fmt_write) nor touch the file system itself (output.c).
 * The few CPython calls it makes for its life cycle (GIL, atexit,
 * register_at_fork) come from pyapi.h's table, resolved with dlsym at run
 * time; no Python header is included and the library is not linked
 * against libpython, so one build serves the static Debian python3 and
 * shared-libpython builds.
 *
 * DESIGN NOTES
 *   1. Inert outside Python.  The constructor returns at once unless
 *      dlsym(RTLD_DEFAULT, "Py_IsInitialized") resolves: no handler, no
 *      thread, no file, and the interposed sigaction()/signal() forward
 *      straight to libc.  LD_PRELOAD is left in the environment on purpose
 *      so Python children are profiled too; other children stay inert.
 *   2. The signal handler (signals.c) only sets a flag and sem_post()s a
 *      semaphore (both async-signal-safe) before the application's own
 *      action runs.  All real work happens on the worker thread,
 *      which blocks every signal and waits on the semaphore.  A semaphore
 *      rather than the usual self-pipe: it holds no file descriptor, so an
 *      application that closes every descriptor (daemonizing, closerange)
 *      cannot make our handler write into a file that reused the number,
 *      and children inherit nothing of ours.
 *   3. Start-up (attach.c): the constructor installs an audit hook that
 *      calls shim_on_attach once, GIL held, when the interpreter is about
 *      to run the program.  It registers three C functions of ours with
 *      Python (an atexit callback and os.register_at_fork hooks), and
 *      only then starts the worker: no thread of ours exists before the
 *      hooks that stop it for a fork and at exit do.  Those function
 *      objects are the only Python objects the shim creates; they live
 *      for the whole process and every walk excludes them
 *      (walk_opts.exclude).
 *   4. The worker never calls PyGILState_Ensure once finalization may have
 *      begun: our atexit callback (which runs before the runtime is marked
 *      finalizing) sets the stop flag, releases the GIL, joins the worker
 *      and takes the GIL back.  Calling into a finalizing interpreter from
 *      a foreign thread kills, hangs or crashes it depending on the version
 *      (bpo-36427, gh-87135, gh-124619).
 *   5. A snapshot is: walk with the GIL held (in the main thread, note 9)
 *      -> release the GIL -> walk_finish, META, encode, write (the
 *      worker).  Only the walk holds the GIL;
 *      inline, its arrays are allocated and faulted in just before, with
 *      the GIL released (walk_prepare, sized by walk_expect).
 *      MUPPY_SNAPSHOT=fork (snapfork.c): with the GIL held, fork;
 *      the child runs all of the above and _exit()s, the parent releases
 *      the GIL at once; seq and the warned causes live in shim.shared,
 *      mapped MAP_SHARED so the child updates them; the worker reaps the
 *      child by pid (snapfork_poll), the exit path waits for it; fork
 *      failing falls back to inline.  muppy.dump() stays inline.
 *   6. fork: the pthread_atfork child handler does only async-signal-safe
 *      work (new pid, seq 1, a fresh semaphore: the inherited one may have
 *      been mid-update by a thread that does not exist in the child).  The
 *      worker does not exist in the child; it is restarted by the
 *      after_in_child hook, i.e. after
 *      PyOS_AfterFork_Child, where starting threads is safe.  The
 *      `before` hook stops the worker and after_in_parent restarts it, so
 *      that os.fork() sees a single-threaded process: Python 3.12+ warns
 *      about forking a multi-threaded process (it counts OS threads; 3.13
 *      counts after the after_in_parent hooks, so there the restart waits
 *      for a pending call, i.e. for os.fork() to return).
 *   7. The dump signal is signals.c's: the application keeps its own
 *      action for it (reported, chained, reset, ignored exactly as the
 *      kernel would: that file's contract); we only get a request on each
 *      delivery (shim_on_dump_signal).
 *   8. A child forked from a thread other than the main one ends when its
 *      last application thread exits: CPython makes the forking thread
 *      the child's main thread, and when it returns nothing finalizes (no
 *      atexit), the process just ends with its last thread.  Our worker,
 *      restarted in the child, would keep it alive for ever (CPython's
 *      test_main_thread_after_fork_from_nonmain_thread hung).  So in such
 *      a child the worker wakes every SHIM_LAST_THREAD_POLL_MS, and when
 *      it is the only thread left it waits for a snapshot child of its
 *      own and returns: the process ends as it would have, status 0.  No
 *      exit dump: the interpreter never exits there, and taking the GIL
 *      once no thread state is left is a fatal error on 3.11 (CPython
 *      reuses its initial thread state, "already initialized").
 *   9. The worker borrows the main thread for a snapshot's GIL-held part
 *      (shim_with_gil): it queues a pending call, which CPython runs in the
 *      main thread at its next bytecode boundary, after the program's own
 *      Python-level signal handlers.  A thread of ours taking the GIL
 *      would need a Python thread state of its own, and CPython lists
 *      every thread state: faulthandler's all-threads tracebacks showed
 *      ours (CPython's test_faulthandler caught it).  Only when the main
 *      thread runs no bytecode for SHIM_GIL_WAIT_MS (blocked in C, or
 *      joining us) does the worker take the GIL itself, for the fork or
 *      the walk alone; the rest (finish, encode, write) is the worker's,
 *      without the GIL, as before.  CPython finishes pending calls before
 *      the atexit functions run (ours last): a call queued after that is
 *      never run (3.9+) or refused (3.8, where py_add_pending_call checks
 *      under CPython's lock: its Py_AddPendingCall would print from our
 *      thread and crash), and the worker then takes the GIL itself.
 */
#include "shim/runtime/shim.h"

#include <dlfcn.h>       /* dlsym, RTLD_DEFAULT, RTLD_NEXT */
#include <errno.h>       /* errno */
#include <limits.h>      /* PATH_MAX */
#include <pthread.h>     /* pthread_* */
#include <signal.h>      /* sigaction, sigset_t */
#include <stdatomic.h>   /* atomic_* */
#include <stdint.h>      /* uint32_t, uint64_t, uintptr_t */
#include <stdio.h>       /* snprintf */
#include <stdlib.h>      /* getenv, malloc, free */
#include <string.h>      /* memset, strcmp, strerror_r, strlen */
#include <semaphore.h>   /* sem_post, sem_clockwait */
#include <sys/syscall.h> /* SYS_gettid */
#include <unistd.h>      /* getpid, syscall */

#include "common/clock.h" /* muppy_now_ns */
#include "format/dump.h" /* struct fmt_dump, fmt_meta_get */
#include "shim/runtime/attach.h" /* attach_install */
#include "shim/runtime/config.h" /* struct shim_config, shim_config_load */
#include "shim/runtime/helper.h" /* struct shim_helper */
#include "shim/runtime/meta.h" /* struct shim_meta, shim_meta_new */
#include "shim/runtime/output.h" /* shim_output_write, shim_sys_inject */
#include "shim/runtime/room.h" /* room_available, room_plan */
#include "shim/cpython/pyapi.h"  /* py_api_init, py */
#include "shim/pymod/pymod.h"  /* pymod_register */
#include "shim/runtime/signals.h" /* sig_take_over, sig_sys_sigaction */
#include "shim/runtime/snapfork.h" /* snapfork_spawn, snapfork_poll, ... */
#include "shim/runtime/state.h" /* struct shim_state shim */
#include "shim/walk/walk.h"   /* walk_heap, walk_finish, walk_result_free */

/* ---- state -------------------------------------------------------------- */

struct shim_state shim = {
	.shared = &shim.shared_local,
};

static const uintptr_t *
shim_own_objects(size_t *n)
{
	*n = SHIM_NFN;
	return shim.py_fns;
}

/* ---- messages ----------------------------------------------------------- */

/* Writes `muppy: pid N: msg` to stderr in one write(2), no stdio. */
void
shim_say(const char *msg)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "muppy: pid %d: %s\n",
			 (int)atomic_load(&shim.pid), msg);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	(void)!write(STDERR_FILENO, line, (size_t)n);
}


/* Returns 1 the first time (what, err) is seen, 0 afterwards. */
int
shim_first_time(const char *what, int err)
{
	uintptr_t key = (uintptr_t)what | ((uintptr_t)(err & 0xfff) << 48);
	int i;

	for (i = 0; i < SHIM_MAX_CAUSES; i++) {
		uintptr_t cur = 0;

		if (atomic_compare_exchange_strong(&shim.shared->causes[i], &cur,
						   key))
			return 1;   /* claimed a free slot */
		if (cur == key)
			return 0;
	}
	return 0;  /* table full: stay quiet rather than flood */
}

static void
shim_warn_once(const char *what, int err, const char *msg)
{
	if (shim_first_time(what, err))
		shim_say(msg);
}

static void
shim_config_warn(const char *msg)
{
	shim_say(msg);
}

static const char *
shim_strerror(int err, char *buf, size_t len)
{
	/* GNU strerror_r: may return a static string instead of buf. */
	return strerror_r(err, buf, len);
}

/* ---- the dump signal --------------------------------------------------- */

/* signals.c's request callback, from the signal handler: both calls are
 * async-signal-safe; an EOVERFLOW from sem_post means plenty of wake-ups
 * are pending already: fine. */
static void
shim_on_dump_signal(void)
{
	if (atomic_load(&shim.sem_ok)) {
		atomic_store(&shim.sig_pending, 1);
		sem_post(&shim.sem);
	}
}

SHIM_EXPORT int
muppy_shim_test_fail(const char *spec)
{
	return shim_sys_inject(spec);
}

/* ---- snapshots ---------------------------------------------------------- */

/* Reports a failed snapshot step once per cause. */
void
shim_report(const char *what, int err)
{
	char msg[PATH_MAX + 256], ebuf[128];
	const char *reason = shim_strerror(err, ebuf, sizeof ebuf);

	if (!strcmp(what, "heap walk"))
		snprintf(msg, sizeof msg, "heap walk failed: %s", reason);
	else if (!strcmp(what, "dir"))
		snprintf(msg, sizeof msg, "cannot write dumps to %s: %s",
			 shim.cfg.dir, reason);
	else if (!strcmp(what, "walk unsupported"))
		snprintf(msg, sizeof msg, "heap walk failed: this Python "
			 "(%.40s) is not supported", py.Py_GetVersion());
	else if (err == 0)   /* set-up failures, not about one dump */
		snprintf(msg, sizeof msg, "%s", what);
	else if (!strncmp(what, "cannot ", 7))
		snprintf(msg, sizeof msg, "%s: %s", what, reason);
	else
		snprintf(msg, sizeof msg, "dump to %s not written: %s: %s",
			 shim.cfg.dir, what, reason);
	shim_warn_once(what, err, msg);
}

/* Reports a failure unless the caller will; returns -err. */
static int
shim_fail(const struct shim_target *t, const char *what, int err)
{
	if (!t->quiet)
		shim_report(what, err);
	return -(err ? err : EINVAL);
}

/* The shared number moves past seq (it only grows: another thread may
 * have used one meanwhile). */
static void
shim_seq_past(uint32_t seq)
{
	uint32_t cur = atomic_load(&shim.shared->seq);

	while (cur <= seq &&
	       !atomic_compare_exchange_weak(&shim.shared->seq, &cur, seq + 1))
		;
}

/* A dump is in place as seq: the shared number moves past it, and the
 * caller learns the path. */
static void
shim_snapshot_named(const struct shim_target *t, long pid, uint32_t seq)
{
	shim_seq_past(seq);
	if (t->out_path && t->path)
		snprintf(t->out_path, t->out_len, "%s", t->path);
	else if (t->out_path)
		snprintf(t->out_path, t->out_len, "%s/muppy.%ld.%u.dump",
			 shim.cfg.dir, pid, seq);
}

/* Writes m to t's file; returns 0 or -errno. */
static int
shim_snapshot_output(struct shim_meta *m, const struct shim_target *t)
{
	struct shim_out_err err;
	uint32_t seq = atomic_load(&shim.shared->seq);
	long pid = atomic_load(&shim.pid);
	int rc;

	if (t->path)
		rc = shim_output_write_path(t->path, pid, seq, shim.cfg.level,
					    shim_meta_for_seq, m, &err);
	else
		rc = shim_output_write(shim.cfg.dir, pid, &seq, shim.cfg.level,
				       shim_meta_for_seq, m, &err);
	if (rc == 0 || err.in_place)
		shim_snapshot_named(t, pid, seq);
	if (err.op)
		shim_fail(t, err.op, err.errnum);
	return rc == 0 || err.in_place ? 0 : -(err.errnum ? err.errnum : EIO);
}

/*
 * A graph snapshot is streamed (format 1.1): the file is opened before
 * the walk, which encodes what it finds straight into it, so no copy of
 * the graph is ever held (design note 5).
 */
struct shim_stream {
	struct shim_out_file file;
	struct fmt_stream *fs;    /* NULL: not streaming */
};

/* Reports a stream's failure rc (MUPPY_*); returns -errno. */
static int
shim_stream_fail(struct shim_stream *s, const struct shim_target *t, int rc)
{
	int e = rc == MUPPY_EIO ? (s->file.sink.errnum ? s->file.sink.errnum :
				   EIO) : ENOMEM;

	return shim_fail(t, rc == MUPPY_EIO ? "write" : "encode", e);
}

/* Drops the stream's file and, unless another snapshot took a number
 * since, gives its number back: a failed dump leaves no gap. */
static void
shim_stream_drop(struct shim_stream *s)
{
	uint32_t next = s->file.seq + 1;

	if (!s->file.path_mode)
		atomic_compare_exchange_strong(&shim.shared->seq, &next,
					       s->file.seq);
	shim_output_abort(&s->file);
}

/* Opens t's file and a stream into it.  0 or -errno (reported). */
static int
shim_stream_open(struct shim_stream *s, const struct shim_target *t)
{
	struct shim_out_err err;
	uint32_t seq;
	int rc;

	/* The number is taken now, not when the file is named: snapshots
	 * streaming at once (a fork child's and the exit dump, say) must not
	 * both write META for the same one. */
	seq = t->path ? atomic_load(&shim.shared->seq) :
			atomic_fetch_add(&shim.shared->seq, 1);
	s->fs = NULL;
	if (shim_output_open(&s->file, shim.cfg.dir, t->path,
			     atomic_load(&shim.pid), seq, &err) != 0)
		return shim_fail(t, err.op, err.errnum);
	if (!t->path)
		shim_seq_past(s->file.seq);   /* files in the way skipped */
	rc = fmt_stream_begin(&s->fs, shim.cfg.strings ? FMT_FLAG_STRINGS : 0,
			      shim.cfg.level, shim_output_alloc(),
			      shim_output_sink, &s->file.sink);
	if (rc != 0) {
		s->fs = NULL;
		rc = shim_stream_fail(s, t, rc);
		shim_stream_drop(s);
		return rc;
	}
	return 0;
}

static void
shim_stream_abort(struct shim_stream *s)
{
	if (!s || !s->fs)
		return;
	fmt_stream_abort(s->fs);
	s->fs = NULL;
	shim_stream_drop(s);
}

/* The tail (META, tables, roots), the trailer, then the name.  Consumes
 * s.  Returns 0 or -errno. */
static int
shim_stream_finish(struct shim_stream *s, const struct fmt_dump *tail,
		   const struct shim_facts *f, const struct shim_target *t)
{
	struct shim_meta *m = shim_meta_new(tail, f);
	struct shim_out_err err;
	int rc;

	if (!m) {
		shim_stream_abort(s);
		return shim_fail(t, "heap walk", ENOMEM);
	}
	rc = fmt_stream_end(s->fs, shim_meta_for_seq(m, s->file.seq));
	s->fs = NULL;
	shim_meta_free(m);
	if (rc != 0) {
		rc = shim_stream_fail(s, t, rc);
		shim_stream_drop(s);
		return rc;
	}
	rc = shim_output_commit(&s->file, &err);
	if (rc == 0 || err.in_place)
		shim_snapshot_named(t, atomic_load(&shim.pid), s->file.seq);
	if (err.op)
		shim_fail(t, err.op, err.errnum);
	return rc == 0 || err.in_place ? 0 : -(err.errnum ? err.errnum : EIO);
}

/* The GIL-free half: finish, META, encode, write (a stream: its tail).
 * Consumes *res and st.  Returns 0 or -errno. */
static int
shim_snapshot_write(struct walk_result *res, const struct shim_facts *f,
		    const struct shim_target *t, struct shim_stream *st)
{
	struct shim_meta *m = NULL;
	int rc;

	if (st && st->fs) {
		rc = shim_stream_finish(st, &res->dump, f, t);
		walk_result_free(res);
		return rc;
	}
	if (walk_finish(res) != 0) {
		rc = shim_fail(t, "heap walk", ENOMEM);
		goto out;
	}
	m = shim_meta_new(&res->dump, f);
	if (!m) {
		rc = shim_fail(t, "heap walk", ENOMEM);
		goto out;
	}
	rc = shim_snapshot_output(m, t);
out:
	if (m)
		shim_meta_free(m);
	walk_result_free(res);
	return rc;
}

/* The GIL-held half; prep (may be NULL) is taken (walk_heap).  A stream
 * is compressed and written on a helper thread as the walk goes (bare:
 * the snapshot child's kind, helper.h), which reads warm ahead (NULL:
 * nothing; walk.h).  Returns 0 with *res filled, or -errno. */
static int
shim_snapshot_walk(struct walk_result *res, struct shim_facts *f,
		   const struct shim_target *t, struct walk_prep *prep,
		   struct shim_stream *st, int bare,
		   const struct walk_warm *warm)
{
	struct shim_helper helper;
	struct walk_opts opts = {
		.graph = shim.cfg.graph,
		.strings = shim.cfg.strings,
		.exclude = shim.py_fns,
		.nexclude = SHIM_NFN,
		.helper = &helper.h,
		.warm = warm,
	};
	int rc;

	shim_helper_init(&helper, bare);

	memset(res, 0, sizeof *res);
	st->fs = NULL;
	if (shim_sys_injected(SHIM_FAIL_WALK)) {
		walk_prep_free(prep);
		return shim_fail(t, "heap walk",
				 shim_sys_injected(SHIM_FAIL_WALK));
	}
	if (f->stream && (rc = shim_stream_open(st, t)) != 0) {
		walk_prep_free(prep);
		return rc;
	}
	opts.stream = st->fs;
	f->time_ns = muppy_now_ns(CLOCK_REALTIME);
	rc = walk_heap(&opts, prep, res, &f->stats);
	if (rc != 0 && st->fs) {
		if (rc == MUPPY_EIO)
			rc = shim_stream_fail(st, t, rc);
		shim_stream_abort(st);
		if (rc < 0)
			return rc;
	}
	if (rc == MUPPY_EINVAL) {
		if (!t->quiet)
			shim_report("walk unsupported", 0);
		return -ENOSYS;
	}
	if (rc != 0)
		return shim_fail(t, "heap walk", ENOMEM);
	return 0;
}

/* snapfork_child_fn: the whole snapshot, in the forked child. */
/* A child whose parent could not estimate the heap starts from this many
 * objects (its tables grow as they must). */
#define SHIM_CHILD_OBJECTS ((size_t)1 << 16)

static int
shim_fork_child(void *ctx)
{
	struct shim_facts *f = ctx;
	struct shim_target t = { NULL, NULL, 0, 0 };
	struct walk_result res;
	struct shim_stream st;
	struct walk_warm warm;
	struct walk_prep *prep;
	int rc, die = shim_sys_injected(SHIM_FAIL_CHILD);

	if (die > 0 && die < 65) {   /* test hook: a crashing child */
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		sig_sys_sigaction(die, &dfl, NULL);
		raise(die);
	}
	/* Listed first, before the child maps anything of its own (maps.h):
	 * what the helper reads ahead of the walk (walk.c design note 10). */
	(void)walk_warm_read(&warm);
	/* Sized by the parent's estimate: the child asks nothing of Python
	 * (walk_expect would call sys.getallocatedblocks). */
	prep = walk_prepare(f->graph && !f->stream, f->expect_objects
			    ? f->expect_objects : SHIM_CHILD_OBJECTS,
			    f->expect_edges, 0);
	rc = shim_snapshot_walk(&res, f, &t, prep, &st, 1, &warm);
	walk_warm_free(&warm);
	if (rc != 0)
		return 1;
	f->gil_ns = snapfork_parent_pause_ns();
	return shim_snapshot_write(&res, f, &t, &st) != 0;
}

/* ---- the GIL, borrowed from the main thread ------------------------------ */

/*
 * Runs fn(arg) with the GIL held, on behalf of the worker (design note 9):
 * in the main thread, through a pending call, if the main thread gets
 * to it within SHIM_GIL_WAIT_MS; else here, taking the GIL with
 * PyGILState_Ensure.  Returns once fn has returned.  Worker only (one call
 * at a time); the interpreter is not finalizing (design note 4).
 */
enum { SHIM_GIL_IDLE, SHIM_GIL_PENDING, SHIM_GIL_RUNNING, SHIM_GIL_DONE,
       SHIM_GIL_CLAIMED };

static int
shim_gil_pending(void *unused)
{
	int expect = SHIM_GIL_PENDING;

	(void)unused;
	atomic_store(&shim.gil.queued, 0);
	/* A call the worker has already served itself, or left for a
	 * stop (or one inherited by a fork child): nothing to do. */
	if (!atomic_compare_exchange_strong(&shim.gil.state, &expect,
					    SHIM_GIL_RUNNING))
		return 0;
	shim.gil.fn(shim.gil.arg);
	atomic_store(&shim.gil.state, SHIM_GIL_DONE);
	sem_post(&shim.gil.done);
	return 0;
}

static void
shim_with_gil(void (*fn)(void *), void *arg)
{
	uint64_t deadline = muppy_now_ns(CLOCK_MONOTONIC) +
			    SHIM_GIL_WAIT_MS * 1000000ull;
	int expect = SHIM_GIL_PENDING, gstate;
	struct timespec ts;

	shim.gil.fn = fn;
	shim.gil.arg = arg;
	while (sem_trywait(&shim.gil.done) == 0)
		;   /* posts left by a stop */
	atomic_store(&shim.gil.state, SHIM_GIL_PENDING);
	if (!atomic_exchange(&shim.gil.queued, 1) &&
	    py_add_pending_call(shim_gil_pending, NULL) != 0) {
		atomic_store(&shim.gil.queued, 0);
		deadline = 0;   /* not queued (full, finalizing): take it here */
	}
	ts.tv_sec = (time_t)(deadline / 1000000000ull);
	ts.tv_nsec = (long)(deadline % 1000000000ull);
	while (deadline && atomic_load(&shim.gil.state) == SHIM_GIL_PENDING &&
	       !atomic_load(&shim.stop) &&
	       muppy_now_ns(CLOCK_MONOTONIC) < deadline)
		sem_clockwait(&shim.gil.done, CLOCK_MONOTONIC, &ts);
	if (atomic_compare_exchange_strong(&shim.gil.state, &expect,
					   SHIM_GIL_CLAIMED)) {
		/* The main thread runs no bytecode now (blocked in C, or
		 * joining us): the worker takes the GIL itself. */
		gstate = py.PyGILState_Ensure();
		fn(arg);
		py.PyGILState_Release(gstate);
	} else {
		while (atomic_load(&shim.gil.state) != SHIM_GIL_DONE)
			sem_wait(&shim.gil.done);
	}
	atomic_store(&shim.gil.state, SHIM_GIL_IDLE);
}

/* ---- taking a snapshot ------------------------------------------------------ */

/* One snapshot's GIL-held part and what it gives back (design note 5). */
struct shim_gil_job {
	struct shim_facts *f;
	const struct shim_target *t;
	int fork_mode;           /* try a snapshot child first */
	int forked;              /* out: a child took the snapshot */
	struct walk_prep *prep;  /* in: taken by the walk (may be NULL) */
	struct walk_result res;  /* out: the walk, for the GIL-free half */
	struct shim_stream st;   /* out: its file, when streamed */
	int rc;                  /* out: the walk's result, 0 or -errno */
	size_t objects, edges;   /* out of shim_job_expect: the estimate */
};

/*
 * Whether the walk may hold the graph or must stream it (room.h), from
 * the estimate j->objects: a fork child always streams (its memory is
 * the host's too, and holding the graph gains it nothing), and so does
 * an inline walk (its helper thread compresses as it goes: a fifth of
 * the memory, the dump done soon after the walk), unless MUPPY_STREAM=0
 * asks to hold the graph when there is room for it, for the shortest GIL
 * hold.  When not even a stream fits, the snapshot is skipped: 0 to go
 * on, -1 then.
 */
static int
shim_snapshot_plan(struct shim_gil_job *j, const struct shim_target *t)
{
	uint64_t room = room_available();
	enum room_plan plan = room_plan(j->objects, room);
	char msg[256];

	if (plan == ROOM_NONE) {
		snprintf(msg, sizeof msg, "snapshot skipped: a heap of about "
			 "%zu objects needs about %llu MB to be dumped, and "
			 "the process can get %llu MB more (its cgroup's "
			 "memory limit, or MemAvailable)", j->objects,
			 (unsigned long long)(j->objects *
					      ROOM_STREAM_PER_OBJECT >> 20),
			 (unsigned long long)(room >> 20));
		if (!t->quiet)
			shim_warn_once("no room", ENOMEM, msg);
		return -1;
	}
	j->f->stream = j->f->graph && (j->fork_mode || shim.cfg.stream ||
				      plan == ROOM_STREAM);
	return 0;
}

/* GIL held: fork a snapshot child, or walk inline. */
static void
shim_job_run(void *arg)
{
	struct shim_gil_job *j = arg;
	uint64_t t0;

	if (j->fork_mode) {
		/* Sized here, in the GIL hold the fork needs anyway. */
		j->objects = walk_expect(&j->edges);
		j->f->expect_objects = j->objects;
		j->f->expect_edges = j->edges;
		if (shim_snapshot_plan(j, j->t) != 0) {
			j->rc = -ENOMEM;   /* no room for it: said */
			return;
		}
		j->f->snapshot = "fork";
		if (snapfork_spawn(shim_fork_child, j->f, &j->f->gil_ns) >= 0) {
			j->forked = 1;
			return;
		}
		j->f->snapshot = "inline";   /* fork failed (reported) */
	}
	t0 = muppy_now_ns(CLOCK_MONOTONIC);
	j->rc = shim_snapshot_walk(&j->res, j->f, j->t, j->prep, &j->st, 0,
				   NULL);
	j->prep = NULL;
	j->f->gil_ns = muppy_now_ns(CLOCK_MONOTONIC) - t0;
}

/* GIL held: the size of the heap, for the inline walk's storage. */
static void
shim_job_expect(void *arg)
{
	struct shim_gil_job *j = arg;

	j->objects = walk_expect(&j->edges);
}

/*
 * The inline walk's storage, allocated and faulted in without the GIL
 * (design note 5): page faults are a third of a first walk's time and
 * need no GIL.  A streamed walk's queue is not faulted in: it gives its
 * head back as it goes (stream.c out_release_queue), and faulting it all
 * first would make every slot's page resident at once; its faults come
 * a huge page at a time.  have_gil: the caller holds it (released
 * meanwhile).  NULL if the size is unknown or memory short (the walk
 * then allocates as it goes).
 */
static struct walk_prep *
shim_snapshot_prepare(struct shim_gil_job *j, int have_gil)
{
	struct walk_prep *prep;
	void *ts = NULL;

	if (!j->objects)
		return NULL;
	if (have_gil)
		ts = py.PyEval_SaveThread();
	/* A streamed walk keeps no columns: a summary walk's storage. */
	prep = walk_prepare(j->f->graph && !j->f->stream, j->objects,
			    j->edges, !j->f->stream);
	if (have_gil)
		py.PyEval_RestoreThread(ts);
	return prep;
}

/*
 * Takes one snapshot (design note 5).  have_gil: the caller holds the GIL
 * (atexit callback, Python API); it is released while encoding and held
 * again on return.  Otherwise the caller is the worker (stop flag not
 * set) and the GIL-held part runs through shim_with_gil.  Returns 0 or
 * -errno.
 */
int
shim_snapshot_take(const char *trigger, int have_gil,
		   const struct shim_target *t)
{
	struct shim_facts f = {
		.trigger = trigger,
		.pid = atomic_load(&shim.pid),
		.graph = shim.cfg.graph,
		.strings = shim.cfg.strings,
	};
	struct shim_gil_job j = { .f = &f, .t = t };
	void *ts = NULL;
	int rc;

	if (snapfork_gave_up())
		return -EIO;   /* snapshot children kept crashing: said */
	/* Fork mode serves the triggers; the Python API, which wants the
	 * file or the error back at once, stays inline. */
	j.fork_mode = shim.cfg.snapshot == SHIM_SNAPSHOT_FORK &&
		      !t->path && !t->quiet;
	f.rss = shim_meta_read_rss();
	if (j.fork_mode && !have_gil)
		snapfork_wait_all();   /* one snapshot child at a time */
	if (!j.fork_mode) {
		if (have_gil)
			shim_job_expect(&j);
		else
			shim_with_gil(shim_job_expect, &j);
		if (shim_snapshot_plan(&j, t) != 0)
			return -ENOMEM;   /* no room for it: said */
		j.prep = shim_snapshot_prepare(&j, have_gil);
	}
	if (have_gil)
		shim_job_run(&j);
	else
		shim_with_gil(shim_job_run, &j);
	walk_prep_free(j.prep);   /* unused if a child took it */
	if (have_gil)
		ts = py.PyEval_SaveThread();
	if (j.forked) {
		if (have_gil)
			snapfork_wait_all();   /* exit: the dump must be whole */
		rc = 0;
	} else {
		rc = j.rc == 0 ? shim_snapshot_write(&j.res, &f, t, &j.st) :
				 j.rc;
	}
	if (have_gil)
		py.PyEval_RestoreThread(ts);
	return rc;
}

/* For the built-in `muppy` module (pymod.c: muppy.dump()).  Called from
 * Python with the GIL held; writes to path (NULL: the dump directory with
 * the next seq), stores the file written in out_path.  Returns 0 or a
 * negative errno value; prints nothing (the caller raises). */
static int
shim_dump_now(const char *trigger, const char *path, char *out_path,
	      size_t n)
{
	struct shim_target t = { path, out_path, n, 1 };

	if (!atomic_load(&shim.ready))
		return -ENOSYS;
	return shim_snapshot_take(trigger, 1, &t);
}

const struct shim_target shim_default_target = { NULL, NULL, 0, 0 };

/* ---- fork --------------------------------------------------------------- */

/* pthread_atfork child handler: async-signal-safe work only (design
 * note 6).  The worker thread does not exist here. */
void
shim_atfork_child(void)
{
	if (snapfork_in_child())
		return;   /* a snapshot child: the parent's pid, no threads */
	if (shim.shared != &shim.shared_local) {
		/* A new process: its own table, not the parent's. */
		void *sh = snapfork_shared_new(shim.shared, sizeof *shim.shared);

		if (!sh) {
			memcpy(&shim.shared_local, shim.shared,
			       sizeof shim.shared_local);
			sh = &shim.shared_local;
		}
		shim.shared = sh;
	}
	atomic_store(&shim.pid, (int)getpid());
	atomic_store(&shim.shared->seq, 1);
	atomic_store(&shim.worker_running, 0);
	atomic_store(&shim.worker_tid, 0);
	/* os.fork() from a thread (our hooks ran): note 8.  A fork without
	 * our hooks (a C fork) keeps what the parent had. */
	if (atomic_exchange(&shim.forking, 0) &&
	    !atomic_load(&shim.forking_from_main))
		atomic_store(&shim.last_thread_watch, 1);
	atomic_store(&shim.stop, 0);
	/* A fresh semaphore: plain stores in glibc (no lock, no allocation).
	 * A signal that arrived in the parent is the parent's. */
	atomic_store(&shim.sig_pending, 0);
	sem_init(&shim.sem, 0, 0);
	/* A pending call the parent queued is the parent's (note 9). */
	atomic_store(&shim.gil.state, SHIM_GIL_IDLE);
	sem_init(&shim.gil.done, 0, 0);
}

/* ---- the constructor ---------------------------------------------------- */

/* What the built-in module asks of us (pymod.h). */
static const struct pymod_host shim_pymod_host = {
	shim_dump_now, shim_own_objects,
};

static const char *
shim_getenv(const char *name)
{
	return getenv(name);
}

__attribute__((constructor)) static void
shim_init(void)
{
	char cwd[PATH_MAX], msg[128];
	const char *why;
	struct sigaction unused;

	/* Resolves libc's sigaction now, outside any signal handler. */
	sig_sys_sigaction(SIGUSR1, NULL, &unused);
	if (!dlsym(RTLD_DEFAULT, "Py_IsInitialized"))
		return;   /* design note 1: not Python, do nothing at all */
	atomic_store(&shim.pid, (int)getpid());
	atomic_store(&shim.shared->seq, 1);
	/* Layouts and hooks are known for 3.8-3.13 only; anything else
	 * (2.7, 3.6, a future 3.14) is left alone rather than guessed at. */
	if (py_api_init() != 0) {
		snprintf(msg, sizeof msg, "%s; not profiling", py_api_error());
		shim_say(msg);
		return;
	}
	shim_config_load(&shim.cfg, shim_getenv,
			 getcwd(cwd, sizeof cwd) ? cwd : NULL,
			 shim_config_warn);
	if (shim.cfg.snapshot == SHIM_SNAPSHOT_FORK) {
		/* Snapshot children update seq and the causes for us. */
		void *sh = snapfork_shared_new(&shim.shared_local,
					       sizeof shim.shared_local);

		if (sh)
			shim.shared = sh;
	}
	if (py.Py_IsInitialized()) {
		/* dlopen'ed into a running interpreter: too late for the
		 * built-in module and the start-up hook (attach.c). */
		shim_say("loaded after the interpreter started; not profiling "
			 "(preload it with LD_PRELOAD)");
		return;
	}
	atomic_store(&shim.ready, 1);
	/* `import muppy` works whatever the triggers; must happen before
	 * the interpreter initializes (pymod.h). */
	pymod_register(&shim_pymod_host);
	if (!shim.cfg.signo && !shim.cfg.interval_ns && !shim.cfg.at_exit)
		return;   /* nothing could ever trigger a dump */
	if (sem_init(&shim.sem, 0, 0) != 0 ||
	    sem_init(&shim.gil.done, 0, 0) != 0) {
		shim_report("cannot create a semaphore; not profiling", errno);
		return;
	}
	atomic_store(&shim.sem_ok, 1);
	if (attach_install(shim_on_attach, &why) != 0) {
		snprintf(msg, sizeof msg, "%s; not profiling", why);
		shim_report(msg, 0);
		return;
	}
	pthread_atfork(NULL, NULL, shim_atfork_child);
	if (shim.cfg.signo &&
	    sig_take_over(shim.cfg.signo, shim_on_dump_signal) != 0)
		shim_report("cannot install the signal handler", errno);
}
