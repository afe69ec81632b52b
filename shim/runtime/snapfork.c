/*
 * snapfork.c - fork-based snapshots: fork with the GIL held, let the child
 * walk and write, reap it later without ever blocking the application.
 *
 * It owns the fork itself, the child's hygiene (signals, descriptors,
 * leaving with _exit) and our table of pending children.  What the child
 * does (walk, META, output) is shim.c's function, handed in, so forked and
 * inline dumps come from the same code.  Not here: deciding when to take a
 * snapshot (shim.c), the walk (walk.c), the file (output.c).
 *
 * DESIGN NOTES
 *   1. Why it is safe (docs/cpython.md, "Snapshots in a forked
 *      child"): the forking thread holds the GIL, so pymalloc and every
 *      object are consistent in the copy.  The child is a raw clone (note
 *      10), which skips glibc's fork bookkeeping, so it uses nothing of
 *      glibc that another thread could have left locked: not malloc (all
 *      it allocates comes from mem.h's private arena or its own
 *      mappings), not stdio, not dlsym.  The child runs no Python code, triggers no GC,
 *      drops no refcount to zero, does not call PyOS_AfterFork_Child, and
 *      leaves with _exit() (no atexit, no stdio flush, no finalization).
 *      It only ever writes with write(2) (shim.c's messages) and the
 *      output code's raw system calls: stdio locks could be held by a
 *      thread that does not exist in the child.
 *   2. A snapshot child is not a new profiled process.  No
 *      pthread_atfork handler runs in it (a raw clone runs none: neither
 *      ours nor the application's, nor those of its libraries), and
 *      snapfork_in_child() tells code that asks.  The flag is
 *      thread-local: the child's only thread is the one that cloned.
 *   3. Reaping: only our own pids, never waitpid(-1), never blocking the
 *      application: the worker thread polls with WNOHANG (snapfork_poll);
 *      only the exit path, which is ending anyway and must not leave a
 *      half-written dump behind, waits.  An application that reaps with
 *      waitpid(-1) may take our child first: our waitpid then fails with
 *      ECHILD and the entry is dropped quietly.
 *   4. No PR_SET_PDEATHSIG.  Linux sends it when the *thread* that forked
 *      exits, not the process; the forking thread is normally the shim's
 *      worker, which is stopped around every os.fork() of the application,
 *      so the signal would kill snapshots for no reason.  Without it, a
 *      child whose parent dies finishes its bounded job (the dump of the
 *      dead process's heap, often the interesting one) and exits; the
 *      init process or a subreaper reaps it.
 *   5. The child holds copies of every descriptor of the parent.  It
 *      closes all of them but stderr (our one warning line goes there) and
 *      points stdin/stdout at /dev/null: otherwise a socket the parent
 *      closes would stay open in the child, and a reader waiting for EOF on
 *      the parent's stdout would wait for the child too.
 *   6. Signals: the child takes the default action for the terminating
 *      signals a user or a supervisor sends to a process group (INT, TERM,
 *      HUP, QUIT) and for crashes (SEGV, BUS, ...: not Python's handlers,
 *      which would print a traceback of the parent); everything else stays
 *      blocked.  A child killed by a signal is reported by the parent (11).
 *   7. Sequence numbers and "warned once" causes are updated by the
 *      child that writes the dump, so they live in a MAP_SHARED mapping
 *      (snapfork_shared_new): a failed child does not use up a number, and
 *      a full disk is reported once, as in inline mode.
 *   8. A watchdog: the child arms alarm() with SIGALRM at its default
 *      action (terminate), 60 s plus 10 s per 100 MB of RSS, about ten
 *      times what a walk and write take.  A child that cannot finish (a
 *      malloc replacement whose locks fork() does not reset, e.g. ASan's,
 *      blocks forever on a lock held by a thread that does not exist in
 *      the child) must not hold the next snapshot, and the application's
 *      exit, hostage: it dies and is reported as killed by signal 14.
 *   9. The parent's pause is measured in the parent, after fork() returns,
 *      and sent to the child through a pipe so that its META gil_ns is the
 *      figure users care about: how long the application was stopped.
 *  10. Invisible to the application.  A fork() child would send SIGCHLD
 *      when it ends and could be reaped by the application's own
 *      waitpid(-1) or os.wait(): multiprocessing's forkserver then warned
 *      "waitpid returned unexpected pid" on stderr (CPython's
 *      test_concurrent_futures caught it), and any server with a SIGCHLD
 *      handler woke up for children that are not its own.  The child is a
 *      clone with no exit signal, a "clone child": the kernel sends no
 *      signal when it ends, and only a wait with __WCLONE (ours, by pid)
 *      or __WALL sees it.
 *  11. A crashing child is a fact about this heap, not bad luck: after
 *      SNAPFORK_GIVE_UP children in a row killed by the same signal the
 *      process stops taking snapshots (snapfork_gave_up), and says so.
 */
#include "shim/runtime/snapfork.h"

#include <errno.h>       /* errno, ECHILD, EINTR */
#include <fcntl.h>       /* open, O_* */
#include <poll.h>        /* poll */
#include <pthread.h>     /* pthread_atfork, pthread_once, pthread_sigmask */
#include <signal.h>      /* sigaction, sigset_t */
#include <stdatomic.h>   /* atomic_* */
#include <stdio.h>       /* snprintf, sscanf */
#include <string.h>      /* strerror_r, memset */
#include <sys/mman.h>    /* mmap */
#include <sys/syscall.h> /* SYS_clone */
#include <sys/wait.h>    /* waitpid, W*, __WCLONE */
#include <time.h>        /* clock_gettime */
#include <unistd.h>      /* syscall, pipe2, read, write, close, _exit, dup2 */

#include "common/clock.h" /* muppy_now_ns */
#include "shim/walk/mem.h"     /* mem_use_private: the child allocates alone */
#include "shim/runtime/signals.h" /* sig_sys_sigaction: the child's real dispositions */

#define SNAPFORK_MAX_PENDING 4
#define SNAPFORK_POLL_NS 10000000ull     /* 10 ms between reaping polls */
#define SNAPFORK_PAUSE_WAIT_MS 1000      /* child waits this long for it */
#define SNAPFORK_GIVE_UP 3               /* crashes in a row (note 11) */

/* How the last children ended (design note 11). */
static atomic_int snapfork_crash_sig, snapfork_crashes, snapfork_given_up;

/* Pending children of ours (0: free slot).  Filled by the forking thread,
 * emptied by whichever thread reaps (worker, exit path). */
static atomic_int snapfork_pending[SNAPFORK_MAX_PENDING];

/* Design note 2: 1 in the thread that is forking, hence in the child. */
static _Thread_local int snapfork_forking;

/* Inherited by the child: read end of the pause pipe, our parent's pid. */
static int snapfork_pause_rd = -1;
static pid_t snapfork_ppid;

static pthread_once_t snapfork_once = PTHREAD_ONCE_INIT;

/* ---- messages --------------------------------------------------------- */

/* `muppy: pid N: msg` on stderr in one write(2) (design note 1). */
static void
snapfork_say(pid_t pid, const char *msg)
{
	char line[512];
	int n = snprintf(line, sizeof line, "muppy: pid %d: %s\n", (int)pid,
			 msg);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Causes already reported (key: kind << 16 | number): one line each. */
static atomic_int snapfork_said[32];

static int
snapfork_first_time(int kind, int num)
{
	int key = (kind << 16) | (num & 0xffff);
	size_t i;

	for (i = 0; i < sizeof snapfork_said / sizeof snapfork_said[0]; i++) {
		int cur = 0;

		if (atomic_compare_exchange_strong(&snapfork_said[i], &cur, key))
			return 1;
		if (cur == key)
			return 0;
	}
	return 0;
}


/* ---- the child ---------------------------------------------------------- */

/* Design note 6. */
static void
snapfork_child_signals(void)
{
	static const int dfl[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV,
				   SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM };
	struct sigaction sa;
	sigset_t mask;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigfillset(&mask);
	for (i = 0; i < sizeof dfl / sizeof dfl[0]; i++) {
		sig_sys_sigaction(dfl[i], &sa, NULL);
		sigdelset(&mask, dfl[i]);
	}
	sa.sa_handler = SIG_IGN;   /* a closed stderr pipe: EPIPE, not death */
	sig_sys_sigaction(SIGPIPE, &sa, NULL);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

/* Closes [lo, hi] (close_range where the kernel has it, Linux 5.9+). */
static void
snapfork_close_from(unsigned lo, unsigned hi)
{
	long max;

	if (lo > hi)
		return;
	if (close_range(lo, hi, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (long fd = lo; fd <= (long)hi && fd < max; fd++)
		close((int)fd);
}

/* Design note 5: keeps stderr and the pause pipe, nothing else. */
static void
snapfork_child_fds(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsigned keep = snapfork_pause_rd >= 0 ? (unsigned)snapfork_pause_rd
					       : ~0u;

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (keep == ~0u) {
		snapfork_close_from(3, ~0u);
	} else {
		snapfork_close_from(3, keep - 1);
		snapfork_close_from(keep + 1, ~0u);
	}
}

/* Design note 8: seconds the child may take, from its RSS (inherited). */
static unsigned
snapfork_watchdog_s(void)
{
	char buf[128];
	unsigned long long size = 0, resident = 0;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	unsigned long long mb;

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
			resident = 0;
	}
	mb = resident * (unsigned long long)sysconf(_SC_PAGESIZE) >> 20;
	return mb > 34000 ? 3600u : 60u + (unsigned)(mb / 10);
}

__attribute__((noreturn)) static void
snapfork_child_main(snapfork_child_fn child, void *ctx)
{
	mem_use_private();   /* design note 1: before anything allocates */
	snapfork_child_signals();
	alarm(snapfork_watchdog_s());
	snapfork_child_fds();
	_exit(child(ctx) == 0 ? 0 : 1);
}

uint64_t
snapfork_parent_pause_ns(void)
{
	static uint64_t pause;
	static int done;
	struct pollfd p = { snapfork_pause_rd, POLLIN, 0 };

	if (done || snapfork_pause_rd < 0 || !snapfork_forking)
		return pause;
	done = 1;
	if (poll(&p, 1, SNAPFORK_PAUSE_WAIT_MS) == 1 &&
	    read(snapfork_pause_rd, &pause, sizeof pause) != sizeof pause)
		pause = 0;
	close(snapfork_pause_rd);
	snapfork_pause_rd = -1;
	return pause;
}

int
snapfork_in_child(void)
{
	return snapfork_forking;
}

pid_t
snapfork_getppid(void)
{
	return snapfork_forking ? snapfork_ppid : getppid();
}

/* ---- the parent ----------------------------------------------------------- */

/* In any fork child, the pending children are the parent's, not ours. */
static void
snapfork_atfork_child(void)
{
	for (int i = 0; i < SNAPFORK_MAX_PENDING; i++)
		atomic_store(&snapfork_pending[i], 0);
	/* A new process: its own heap, its own count (note 11). */
	atomic_store(&snapfork_crashes, 0);
	atomic_store(&snapfork_given_up, 0);
}

static void
snapfork_register(void)
{
	pthread_atfork(NULL, NULL, snapfork_atfork_child);
}

/* Claims a free slot for pid; -1 if the table is full. */
static int
snapfork_claim_slot(void)
{
	for (int i = 0; i < SNAPFORK_MAX_PENDING; i++)
		if (atomic_load(&snapfork_pending[i]) == 0)
			return i;
	return -1;
}

/* One line per cause, then the caller goes inline (issue 5). */
static void
snapfork_report_fork_failure(int err)
{
	char msg[256], ebuf[96];

	if (!snapfork_first_time(1, err))
		return;
	snprintf(msg, sizeof msg, "fork for a snapshot failed (%s); taking "
		 "snapshots in the process instead",
		 strerror_r(err, ebuf, sizeof ebuf));
	snapfork_say(getpid(), msg);
}

/* fork() without an exit signal and without glibc's bookkeeping (design
 * notes 1 and 10): the child continues on a copy of this stack.  The
 * argument order of the raw call differs between architectures, but every
 * argument but the flags is 0 here. */
static pid_t
snapfork_clone(void)
{
	return (pid_t)syscall(SYS_clone, 0ul /* no CLONE_*, exit signal 0 */,
			      0ul, 0ul, 0ul, 0ul);
}

pid_t
snapfork_spawn(snapfork_child_fn child, void *ctx, uint64_t *pause_ns)
{
	uint64_t t0 = muppy_now_ns(CLOCK_MONOTONIC), pause;
	int pp[2] = { -1, -1 }, slot, err;
	pid_t pid;

	pthread_once(&snapfork_once, snapfork_register);
	slot = snapfork_claim_slot();
	if (slot < 0) {
		snapfork_poll();
		slot = snapfork_claim_slot();
	}
	if (slot < 0) {
		snapfork_report_fork_failure(EAGAIN);
		errno = EAGAIN;
		return -1;
	}
	if (pipe2(pp, O_CLOEXEC) != 0)
		pp[0] = pp[1] = -1;   /* the child will report gil_ns 0 */
	snapfork_pause_rd = pp[0];
	snapfork_ppid = getppid();
	snapfork_forking = 1;
	pid = snapfork_clone();
	if (pid == 0) {
		if (pp[1] >= 0)
			close(pp[1]);
		snapfork_child_main(child, ctx);
	}
	err = errno;
	snapfork_forking = 0;
	snapfork_pause_rd = -1;
	if (pid < 0) {
		if (pp[0] >= 0) {
			close(pp[0]);
			close(pp[1]);
		}
		snapfork_report_fork_failure(err);
		errno = err;
		return -1;
	}
	atomic_store(&snapfork_pending[slot], (int)pid);
	pause = muppy_now_ns(CLOCK_MONOTONIC) - t0;
	if (pp[0] >= 0) {
		/* 8 bytes into an empty pipe: never blocks. */
		(void)!write(pp[1], &pause, sizeof pause);
		close(pp[0]);
		close(pp[1]);
	}
	if (pause_ns)
		*pause_ns = pause;
	return pid;
}

/*
 * Design note 11: how the children end.  A child killed by a signal is
 * reported every time, with its signal; SNAPFORK_GIVE_UP of them in a
 * row with the same signal and the process takes no more snapshots (an
 * inline walk would meet the same fault in the application itself).  A
 * child that exits, by either status, resets the count: it has said what
 * went wrong itself.
 */
static void
snapfork_report_status(pid_t pid, int status)
{
	char msg[256], name[32];
	int sig, n;

	if (!WIFSIGNALED(status)) {
		atomic_store(&snapfork_crashes, 0);
		return;
	}
	sig = WTERMSIG(status);
	if (atomic_exchange(&snapfork_crash_sig, sig) != sig)
		atomic_store(&snapfork_crashes, 0);
	n = atomic_fetch_add(&snapfork_crashes, 1) + 1;
	snprintf(name, sizeof name, "%s", sigabbrev_np(sig) ? sigabbrev_np(sig)
							     : "?");
	snprintf(msg, sizeof msg, "snapshot child %d killed by signal %d "
		 "(SIG%s)%s; no dump from it", (int)pid, sig, name,
		 sig == SIGALRM ? ", it took too long" : "");
	snapfork_say(getpid(), msg);
	if (n >= SNAPFORK_GIVE_UP && !atomic_exchange(&snapfork_given_up, 1)) {
		snprintf(msg, sizeof msg, "%d snapshot children in a row were "
			 "killed by SIG%s; this process takes no more "
			 "snapshots", n, name);
		snapfork_say(getpid(), msg);
	}
}

int
snapfork_gave_up(void)
{
	return atomic_load(&snapfork_given_up);
}

/* waitpid on slot i's pid; returns 1 if the slot is now free. */
static int
snapfork_reap_slot(int i, int options)
{
	pid_t pid = atomic_load(&snapfork_pending[i]), r;
	int status = 0, expected = pid;

	if (pid == 0)
		return 1;
	do   /* __WCLONE: our children have no exit signal (note 10) */
		r = waitpid(pid, &status, options | __WCLONE);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;   /* still running */
	/* r == pid: ours, reaped.  r < 0 (ECHILD): the other reaping thread
	 * took it (or an application waiting with __WALL); nothing to say. */
	if (atomic_compare_exchange_strong(&snapfork_pending[i], &expected, 0) &&
	    r == pid)
		snapfork_report_status(pid, status);
	return 1;
}

uint64_t
snapfork_poll(void)
{
	int busy = 0;

	for (int i = 0; i < SNAPFORK_MAX_PENDING; i++)
		busy |= !snapfork_reap_slot(i, WNOHANG);
	return busy ? SNAPFORK_POLL_NS : 0;
}

void
snapfork_wait_all(void)
{
	for (int i = 0; i < SNAPFORK_MAX_PENDING; i++)
		snapfork_reap_slot(i, 0);
}

void *
snapfork_shared_new(const void *init, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, init, len);
	return p;
}
