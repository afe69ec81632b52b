/*
 * helper.c - the two kinds of helper thread a streamed snapshot's encoder
 * runs on (helper.h): a pthread in the profiled process, a bare clone()
 * thread in a snapshot child.
 *
 * The bare thread shares the child's thread block (no CLONE_SETTLS: it is
 * no pthread), so it must do only what needs none of its own: the
 * encoder's deflate and write(2), and futex waits.  errno is the one
 * piece of thread state the two threads then share; the sink reads it at
 * once after a failed write, and a clash costs at most the wrong reason
 * in a failure's message.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* clone, CLONE_*, gettid */
#endif
#include "shim/runtime/helper.h"

#include <errno.h>         /* errno, ESRCH */
#include <linux/futex.h>   /* FUTEX_WAIT */
#include <sched.h>         /* clone, CLONE_* */
#include <signal.h>        /* sigset_t, sigfillset, pthread_sigmask */
#include <string.h>        /* memset */
#include <sys/mman.h>      /* mmap, munmap, mprotect */
#include <sys/syscall.h>   /* SYS_futex, SYS_gettid, SYS_tgkill */
#include <time.h>          /* nanosleep */
#include <unistd.h>        /* syscall, getpid */

#include "shim/runtime/output.h"   /* shim_sys_injected, SHIM_FAIL_HELPER */

#define HELPER_STACK ((size_t)512 << 10)   /* deflate needs a few KiB */
#define HELPER_GUARD ((size_t)4096)

static void *
helper_pthread_main(void *arg)
{
	struct shim_helper *s = arg;

	atomic_store(&s->tid, (long)syscall(SYS_gettid));
	s->fn(s->arg);
	return NULL;
}

static int
helper_bare_main(void *arg)
{
	struct shim_helper *s = arg;

	s->fn(s->arg);
	return 0;   /* glibc's clone() then ends the thread (SYS_exit) */
}

/* A mapping for the bare thread's stack, its lowest page a guard. */
static int
helper_stack(struct shim_helper *s)
{
	void *p = mmap(NULL, HELPER_STACK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	if (mprotect(p, HELPER_GUARD, PROT_NONE) != 0) {
		munmap(p, HELPER_STACK);
		return -1;
	}
	s->stack = p;
	s->stacklen = HELPER_STACK;
	return 0;
}

static int
helper_start(void *ctx, void (*fn)(void *), void *arg)
{
	struct shim_helper *s = ctx;
	sigset_t all, old;
	int rc;

	if (shim_sys_injected(SHIM_FAIL_HELPER))
		return -1;
	s->fn = fn;
	s->arg = arg;
	atomic_store(&s->tid, 0);
	if (s->bare && helper_stack(s) != 0)
		return -1;
	/* The helper takes none of the program's signals: it starts with
	 * every one blocked and never unblocks them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (s->bare) {
		pid_t tid;

		tid = clone(helper_bare_main, (char *)s->stack + s->stacklen,
			    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			    CLONE_THREAD | CLONE_SYSVSEM |
			    CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
			    s, (pid_t *)&s->tid, NULL, (pid_t *)&s->tid);
		rc = tid > 0 ? 0 : -1;
	} else {
		rc = pthread_create(&s->thread, NULL, helper_pthread_main, s)
		     ? -1 : 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0 && s->stack) {
		munmap(s->stack, s->stacklen);
		s->stack = NULL;
	}
	s->running = rc == 0;
	return rc;
}

void
shim_thread_wait_gone(long tid)
{
	struct timespec nap = { 0, 20000 };
	pid_t pid = getpid();

	for (int i = 0; tid > 0 && i < 5000; i++) {
		if (syscall(SYS_tgkill, pid, tid, 0) != 0 && errno == ESRCH)
			return;
		nanosleep(&nap, NULL);
	}
}

static void
helper_join(void *ctx)
{
	struct shim_helper *s = ctx;
	long tid;

	if (!s->running)
		return;
	s->running = 0;
	if (!s->bare) {
		pthread_join(s->thread, NULL);
		shim_thread_wait_gone(atomic_load(&s->tid));
		return;
	}
	/* CLONE_CHILD_CLEARTID: the kernel zeroes the word and wakes us once
	 * the thread has left its stack for good. */
	while ((tid = atomic_load(&s->tid)) != 0)
		(void)syscall(SYS_futex, &s->tid, FUTEX_WAIT, (int)tid, NULL,
			      NULL, 0);
	munmap(s->stack, s->stacklen);
	s->stack = NULL;
}

void
shim_helper_init(struct shim_helper *s, int bare)
{
	memset(s, 0, sizeof *s);
	s->bare = bare;
	s->h.start = helper_start;
	s->h.join = helper_join;
	s->h.ctx = s;
}
