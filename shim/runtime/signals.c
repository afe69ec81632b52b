/*
 * signals.c - the dump signal: a virtual disposition that the application
 * owns and sees, and a real one in the kernel that is ours.
 *
 * It owns the libc entry points that set a signal's action (interposed,
 * signals.h lists them), the application's recorded action, and the
 * handler.  It does not decide what a dump request does (shim.c hands in
 * a callback), nor parse MUPPY_SIGNAL (config.c, common/settings.c).
 *
 * THE CONTRACT
 * The application's action for the dump signal is recorded as the action
 * the kernel would hold without us ("app"), exactly as libc would report it
 * (sigaction's old action: handler, flags, mask, restorer).  The kernel
 * holds an action derived from it ("kernel").  For each app action:
 *
 *   app action         without us               with us
 *   handler H,         H runs with sa_mask |    a dump is requested, then H
 *   flags F, mask M    {sig unless NODEFER}     runs with the same mask
 *                      blocked; RESETHAND:      (the kernel applies M and
 *                      disposition reset to     NODEFER to our handler), with
 *                      SIG_DFL before H runs;   (sig) or (sig, info, uctx)
 *                      RESTART: syscalls        per SA_SIGINFO, on the stack
 *                      restarted; ONSTACK.      F asks for; RESETHAND resets
 *                                               app to SIG_DFL before H runs;
 *                                               RESTART as F says.
 *   SIG_IGN            the signal is discarded  the same: the kernel holds
 *                      (pending ones too), and  SIG_IGN itself, so no dump
 *                      exec'd children inherit  is taken (note 3).
 *                      SIG_IGN.
 *   SIG_DFL set by     the process dies         the same: the kernel holds
 *   the program        (SIGUSR1; WINCH, URG:    SIG_DFL itself, no dump
 *                      ignored).                (note 4).
 *   SIG_DFL as the     the same                 a dump is requested; nothing
 *   process started                             else (note 4): the one
 *   (never set)                                 difference, and the point.
 *
 * In every case sigaction()'s old action, signal()'s return value and
 * siginterrupt()'s effect are those the application would see without us.
 *
 * DESIGN NOTES
 *   1. One record, read in the handler without a lock.  Writers (the
 *      interposed calls, and the handler itself for SA_RESETHAND) serialize
 *      on a spin lock taken with every signal blocked in the writing
 *      thread, so a handler can never interrupt its own thread's writer
 *      and spin forever (a chained handler that calls sigaction, as
 *      faulthandler's does, used to be able to).  Readers use the
 *      generation counter as a seqlock: copy, and retry if a write ran.
 *   2. Derived, not chained blindly.  The kernel's action for our handler
 *      carries the application's sa_mask, SA_NODEFER, SA_RESTART and
 *      SA_ONSTACK, so the kernel blocks, restarts and nests exactly as it
 *      would for the application's handler.  (Issue 10: without NODEFER,
 *      faulthandler's chained handler, which raises the signal again inside
 *      itself for the previous handler, got that second signal after
 *      returning instead of at once, dumped its traceback again, raised
 *      again: for ever.)  SA_RESETHAND is carried out by us, before the
 *      handler runs, as the kernel does: a handler that reinstalls itself
 *      (the System V idiom) stays installed.
 *   3. SIG_IGN is the kernel's, not ours.  An ignored signal is discarded
 *      by the kernel, pending instances too, and the disposition survives
 *      exec: a child started by posix_spawn or vfork+exec (which set
 *      dispositions without calling us) must inherit SIG_IGN, not a
 *      handler that exec turns into SIG_DFL.  So while the application
 *      ignores the dump signal, the kernel ignores it and no dump is taken;
 *      `muppy snap` reads SigIgn from /proc and says so.
 *   4. SIG_DFL: the one place we differ, and only while the program has
 *      never set an action for the dump signal.  The default action of
 *      SIGUSR1 is to terminate, and asking a process that never asked for
 *      anything for a dump without killing it is what the dump signal is
 *      for; our handler then restarts system calls, so no blocking call of
 *      the program sees EINTR from it.  Once the program sets an action
 *      (any sigaction, signal, ... with a new action), the record says so
 *      ("set") and SIG_DFL from then on is the kernel's: a program that
 *      restores the default (faulthandler.unregister, a context manager
 *      putting back what it found) dies of the signal as it would without
 *      us (CPython's test_faulthandler.test_unregister checks exactly
 *      this), and `muppy snap` reads SigCgt from /proc and refuses to send
 *      a signal that would kill.  Fork children inherit "set" with the
 *      disposition; exec'd programs start afresh, never set.
 *   5. Whose memory.  A vfork child (CPython's _posixsubprocess from 3.10,
 *      glibc's posix_spawn) shares our memory with its parent until it
 *      execs, and resets every handled signal to SIG_DFL.  Through us that
 *      reset used to overwrite the parent's record: after the first
 *      subprocess the application's handler was gone (issue 10, and why
 *      CPython's test_interprocess_signal hung).  The record is owned by
 *      one pid (reset by our pthread_atfork child handler in real fork
 *      children); in any other process (a vfork or raw clone child) the
 *      calls go straight to the kernel and only read the record, to report
 *      the application's action while the kernel still holds ours.
 *   6. Across fork() the record is consistent: the prepare handler takes
 *      the lock (no other thread can be mid-write when the child's copy
 *      is made) and both sides release it.
 *   7. Not seen: dispositions set with the raw rt_sigaction system call,
 *      or through glibc-internal calls we cannot interpose (posix_spawn's
 *      child, which only ever sets SIG_DFL before exec: harmless, exec
 *      would do it anyway).  sigvec() exists only as a compatibility
 *      symbol that no new program can link; it is not interposed.
 *   8. Also visible, and not a disposition: a thread of ours taking the
 *      GIL has a Python thread state, which faulthandler's all-threads
 *      tracebacks list.  shim.c (design note 9) takes a snapshot's GIL on
 *      the main thread, after the program's Python-level handlers, so this
 *      is left to the cases it lists (3.8, a main thread blocked in C).
 */
#include "shim/runtime/signals.h"

#include <dlfcn.h>       /* dlsym, RTLD_NEXT */
#include <errno.h>       /* errno, EINVAL, ENOSYS */
#include <pthread.h>     /* pthread_atfork, pthread_sigmask */
#include <sched.h>       /* sched_yield */
#include <stdatomic.h>   /* atomic_* */
#include <string.h>      /* memcpy, memset */
#include <unistd.h>      /* getpid */

#include "shim/runtime/shim.h"   /* SHIM_EXPORT */

typedef int (*sig_sigaction_fn)(int, const struct sigaction *,
				struct sigaction *);
typedef void (*sig_handler_fn)(int);
typedef sig_handler_fn (*sig_signal_fn)(int, sig_handler_fn);
typedef int (*sig_interrupt_fn)(int, int);
typedef int (*sig_ignore_fn)(int);

/* libc's functions, resolved with RTLD_NEXT, for every signal but ours. */
#define SIG_REAL_FUNCS(X)                                                  \
	X(sigaction, sig_sigaction_fn)                                     \
	X(signal, sig_signal_fn)                                           \
	X(sysv_signal, sig_signal_fn)                                      \
	X(siginterrupt, sig_interrupt_fn)                                  \
	X(sigset, sig_signal_fn)                                           \
	X(sigignore, sig_ignore_fn)

/* The kernel copies only its own sigset (64 signals) in and out. */
#define SIG_KERNEL_MASK_BYTES 8

static struct {
#define SIG_REAL_FIELD(name, type) _Atomic(type) real_##name;
	SIG_REAL_FUNCS(SIG_REAL_FIELD)
#undef SIG_REAL_FIELD
	atomic_int signo;            /* the dump signal, 0 before take-over */
	sig_request_fn request;      /* set before signo, then read-only */
	atomic_int owner;            /* pid whose record this is (note 5) */
	atomic_flag lock;            /* writers (note 1) */
	atomic_uint gen;             /* seqlock: odd while app is written */
	struct sigaction app;        /* the application's action, as
					reported (the contract above) */
	atomic_int intr;             /* siginterrupt(signo, 1) in effect */
	atomic_int set;              /* the program has set an action
					(note 4); written under the lock */
} sigs = {
	.lock = ATOMIC_FLAG_INIT,
};

/* Blocks every signal in this thread across a fork (note 6). */
static _Thread_local sigset_t sig_fork_mask;

/* ---- libc's functions ---------------------------------------------------- */

#define SIG_REAL_GETTER(name, type)                                        \
	static type sig_real_##name(void)                                  \
	{                                                                  \
		type f = atomic_load(&sigs.real_##name);                   \
		if (!f) {                                                  \
			*(void **)&f = dlsym(RTLD_NEXT, #name);            \
			atomic_store(&sigs.real_##name, f);                \
		}                                                          \
		return f;                                                  \
	}
SIG_REAL_FUNCS(SIG_REAL_GETTER)
#undef SIG_REAL_GETTER

int
sig_sys_sigaction(int sig, const struct sigaction *act,
		  struct sigaction *old)
{
	sig_sigaction_fn real = sig_real_sigaction();

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(sig, act, old);
}

/* ---- the record ------------------------------------------------------------ */

/* Takes the writers' lock with every signal blocked (note 1). */
static void
sig_lock(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	while (atomic_flag_test_and_set_explicit(&sigs.lock,
						 memory_order_acquire))
		sched_yield();
}

static void
sig_unlock(const sigset_t *old)
{
	atomic_flag_clear_explicit(&sigs.lock, memory_order_release);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Lock held. */
static void
sig_app_store(const struct sigaction *act)
{
	atomic_fetch_add_explicit(&sigs.gen, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	sigs.app = *act;
	atomic_fetch_add_explicit(&sigs.gen, 1, memory_order_release);
}

/* A consistent copy of the record, from any context (a handler too). */
static void
sig_app_load(struct sigaction *out)
{
	unsigned g;

	for (;;) {
		g = atomic_load_explicit(&sigs.gen, memory_order_acquire);
		if (g & 1) {
			sched_yield();   /* a writer on another thread */
			continue;
		}
		memcpy(out, &sigs.app, sizeof *out);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&sigs.gen, memory_order_relaxed) == g)
			return;
	}
}

static int
sig_is_handler(const struct sigaction *a)
{
	/* sa_handler and sa_sigaction share storage: SIG_DFL and SIG_IGN
	 * read the same through either, SA_SIGINFO or not. */
	return a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN;
}

/* Writes a recorded action as libc's sigaction would report it: the
 * kernel's 64 signals of the mask, the rest of the mask cleared. */
static void
sig_report(struct sigaction *out, const struct sigaction *rec)
{
	out->sa_handler = rec->sa_handler;   /* or sa_sigaction: one union */
	/* Not sigemptyset: glibc's clears only the kernel's part. */
	memset(&out->sa_mask, 0, sizeof out->sa_mask);
	memcpy(&out->sa_mask, &rec->sa_mask, SIG_KERNEL_MASK_BYTES);
	out->sa_flags = rec->sa_flags;
	out->sa_restorer = rec->sa_restorer;
}

/* ---- the handler ----------------------------------------------------------- */

static void sig_on_signal(int sig, siginfo_t *info, void *uctx);

/* The kernel's action for an application action (the contract, notes 2
 * to 4). */
static void
sig_kernel_action(const struct sigaction *app, struct sigaction *k)
{
	if (app->sa_handler == SIG_IGN ||
	    (app->sa_handler == SIG_DFL && atomic_load(&sigs.set))) {
		*k = *app;
		return;
	}
	memset(k, 0, sizeof *k);
	k->sa_sigaction = sig_on_signal;
	if (app->sa_handler == SIG_DFL) {
		sigemptyset(&k->sa_mask);
		k->sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
		return;
	}
	k->sa_mask = app->sa_mask;
	k->sa_flags = (app->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
}

/*
 * Installs the kernel action for app, and writes to *rec (may be NULL)
 * app as libc would report it had the application installed it itself.
 * The report is learnt from the kernel: what it adds to our action's
 * flags (glibc's SA_RESTORER) and clears from them (bits it does not
 * know), its restorer, the mask without SIGKILL and SIGSTOP.  Returns
 * libc's result (errno set on -1).
 */
static int
sig_kernel_install(int sig, const struct sigaction *app,
		   struct sigaction *rec)
{
	sig_sigaction_fn real = sig_real_sigaction();
	struct sigaction k, back;
	int added, cleared;

	sig_kernel_action(app, &k);
	if (real(sig, &k, NULL) != 0)
		return -1;
	if (!rec)
		return 0;
	*rec = *app;
	if (real(sig, NULL, &back) == 0) {
		added = back.sa_flags & ~k.sa_flags;
		cleared = k.sa_flags & ~back.sa_flags;
		rec->sa_flags = (app->sa_flags & ~cleared) | added;
		rec->sa_restorer = back.sa_restorer;
		sigdelset(&rec->sa_mask, SIGKILL);
		sigdelset(&rec->sa_mask, SIGSTOP);
	}
	return 0;
}

/* The application sets app: kernel action and record.  Lock held. */
static int
sig_install(int sig, const struct sigaction *app)
{
	struct sigaction rec;

	if (sig_kernel_install(sig, app, &rec) != 0)
		return -1;
	sig_app_store(&rec);
	return 0;
}

static int
sig_owned_here(void)
{
	return atomic_load(&sigs.owner) == (int)getpid();
}

/*
 * SA_RESETHAND, as the kernel does it on delivery: the disposition
 * becomes SIG_DFL (flags and mask stay, as Linux leaves them) before the
 * handler runs.  Only if app still is the action delivered: a concurrent
 * sigaction() wins, as it would against the kernel.
 */
static void
sig_reset_on_delivery(int sig, const struct sigaction *app)
{
	struct sigaction dfl;
	sigset_t old;

	if (!sig_owned_here())
		return;   /* not our record to write (note 5) */
	sig_lock(&old);
	if (sigs.app.sa_handler == app->sa_handler &&
	    (sigs.app.sa_flags & SA_RESETHAND)) {
		dfl = sigs.app;
		dfl.sa_handler = SIG_DFL;
		sig_install(sig, &dfl);
	}
	sig_unlock(&old);
}

/* Requests a dump, then does what the application's action says (the
 * contract).  errno is the interrupted code's when the application's
 * handler starts, and whatever that handler leaves when it returns. */
static void
sig_on_signal(int sig, siginfo_t *info, void *uctx)
{
	int saved = errno;
	struct sigaction app;

	sigs.request();
	sig_app_load(&app);
	if (sig_is_handler(&app) && (app.sa_flags & SA_RESETHAND))
		sig_reset_on_delivery(sig, &app);
	errno = saved;
	if (!sig_is_handler(&app))
		return;   /* SIG_DFL: only the dump (note 4) */
	if (app.sa_flags & SA_SIGINFO)
		app.sa_sigaction(sig, info, uctx);
	else
		app.sa_handler(sig);
}

static int
sig_is_ours(int sig)
{
	int signo = atomic_load_explicit(&sigs.signo, memory_order_acquire);

	return signo && sig == signo;
}

/* ---- fork --------------------------------------------------------------- */

static void
sig_fork_prepare(void)
{
	sig_lock(&sig_fork_mask);
}

static void
sig_fork_parent(void)
{
	sig_unlock(&sig_fork_mask);
}

static void
sig_fork_child(void)
{
	atomic_store(&sigs.owner, (int)getpid());
	sig_unlock(&sig_fork_mask);
}

int
sig_take_over(int signo, sig_request_fn request)
{
	sig_sigaction_fn real = sig_real_sigaction();
	struct sigaction cur;
	sigset_t old;
	int rc = -1;

	if (!real || atomic_load(&sigs.signo)) {
		errno = real ? EBUSY : ENOSYS;
		return -1;
	}
	sig_lock(&old);
	if (real(signo, NULL, &cur) == 0) {
		sigs.request = request;
		atomic_store(&sigs.owner, (int)getpid());
		/* The inherited action, exactly as libc reported it. */
		sig_app_store(&cur);
		rc = cur.sa_handler == SIG_IGN ? 0   /* note 3 */
		     : sig_kernel_install(signo, &cur, NULL);
	}
	if (rc == 0)
		atomic_store_explicit(&sigs.signo, signo, memory_order_release);
	sig_unlock(&old);
	/* Should this fail, a fork child is "not the owner" and goes
	 * straight to the kernel (note 5): still correct, so not fatal. */
	if (rc == 0)
		(void)pthread_atfork(sig_fork_prepare, sig_fork_parent,
				     sig_fork_child);
	return rc;
}

/* ---- the interposed calls ---------------------------------------------- */

/* A process that does not own the record (note 5): the kernel decides;
 * the record is only read, to report the application's action while the
 * kernel still holds our handler. */
static int
sig_sigaction_foreign(int sig, const struct sigaction *act,
		      struct sigaction *old)
{
	struct sigaction copy, rec;

	if (act)
		copy = *act;   /* act and old may be the same struct */
	if (sig_real_sigaction()(sig, act ? &copy : NULL, old) != 0)
		return -1;
	if (old && old->sa_sigaction == sig_on_signal) {
		sig_app_load(&rec);
		sig_report(old, &rec);
	}
	return 0;
}

static int
sig_sigaction_ours(int sig, const struct sigaction *act,
		   struct sigaction *old)
{
	struct sigaction copy, cur;
	sigset_t mask;
	int rc = 0, err = 0;

	if (!sig_owned_here())
		return sig_sigaction_foreign(sig, act, old);
	if (act)
		copy = *act;
	sig_lock(&mask);
	cur = sigs.app;
	if (act) {
		int was_set = atomic_exchange(&sigs.set, 1);

		if (sig_install(sig, &copy) != 0) {
			rc = -1;
			err = errno;
			atomic_store(&sigs.set, was_set);
		}
	}
	sig_unlock(&mask);
	if (rc != 0) {
		errno = err;
		return -1;
	}
	if (old)
		sig_report(old, &cur);
	return 0;
}

SHIM_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig_is_ours(sig))
		return sig_sigaction_ours(sig, act, old);
	return sig_sys_sigaction(sig, act, old);
}

/* glibc's other name for it, which some programs call. */
SHIM_EXPORT int
__sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* signal(), BSD semantics as glibc gives them: sig blocked in its own
 * handler, SA_RESTART unless siginterrupt(sig, 1) was called. */
static sig_handler_fn
sig_bsd_signal(int sig, sig_handler_fn handler)
{
	struct sigaction act, old;

	if (handler == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	act.sa_flags = atomic_load(&sigs.intr) ? 0 : SA_RESTART;
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

SHIM_EXPORT sig_handler_fn
signal(int sig, sig_handler_fn handler)
{
	sig_signal_fn real;

	if (sig_is_ours(sig))
		return sig_bsd_signal(sig, handler);
	if (!(real = sig_real_signal())) {
		errno = ENOSYS;
		return SIG_ERR;
	}
	return real(sig, handler);
}

/* glibc aliases of signal() (the same function there). */
SHIM_EXPORT sig_handler_fn
bsd_signal(int sig, sig_handler_fn handler)
{
	return signal(sig, handler);
}

SHIM_EXPORT sig_handler_fn
ssignal(int sig, sig_handler_fn handler)
{
	return signal(sig, handler);
}

/* System V signal(): one shot, not blocked in its handler, no restart
 * (what strict ISO C programs get from signal(), as __sysv_signal). */
SHIM_EXPORT sig_handler_fn
sysv_signal(int sig, sig_handler_fn handler)
{
	struct sigaction act, old;
	sig_signal_fn real;

	if (!sig_is_ours(sig)) {
		if (!(real = sig_real_sysv_signal())) {
			errno = ENOSYS;
			return SIG_ERR;
		}
		return real(sig, handler);
	}
	if (handler == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	act.sa_flags = SA_RESETHAND | SA_NODEFER;
#ifdef SA_INTERRUPT
	act.sa_flags |= SA_INTERRUPT;   /* glibc sets this no-op bit too */
#endif
	if (sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

SHIM_EXPORT sig_handler_fn
__sysv_signal(int sig, sig_handler_fn handler)
{
	return sysv_signal(sig, handler);
}

SHIM_EXPORT int
siginterrupt(int sig, int flag)
{
	struct sigaction act;
	sig_interrupt_fn real;

	if (!sig_is_ours(sig)) {
		if (!(real = sig_real_siginterrupt())) {
			errno = ENOSYS;
			return -1;
		}
		return real(sig, flag);
	}
	if (sigaction(sig, NULL, &act) != 0)
		return -1;
	if (flag)
		act.sa_flags &= ~SA_RESTART;
	else
		act.sa_flags |= SA_RESTART;
	/* Remembered for later signal() calls, as glibc's _sigintr is. */
	atomic_store(&sigs.intr, flag != 0);
	return sigaction(sig, &act, NULL);
}

/* System V sigset(): SIG_HOLD blocks; anything else installs with no
 * flags and unblocks; SIG_HOLD is returned if sig was blocked. */
SHIM_EXPORT sig_handler_fn
sigset(int sig, sig_handler_fn disp)
{
	struct sigaction act, old;
	sigset_t set, oset;
	sig_signal_fn real;

	if (!sig_is_ours(sig)) {
		if (!(real = sig_real_sigset())) {
			errno = ENOSYS;
			return SIG_ERR;
		}
		return real(sig, disp);
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &oset) < 0)
			return SIG_ERR;
		if (sigismember(&oset, sig))
			return SIG_HOLD;
		if (sigaction(sig, NULL, &old) < 0)
			return SIG_ERR;
		return old.sa_handler;
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (sigaction(sig, &act, &old) < 0 ||
	    sigprocmask(SIG_UNBLOCK, &set, &oset) < 0)
		return SIG_ERR;
	return sigismember(&oset, sig) ? SIG_HOLD : old.sa_handler;
}

SHIM_EXPORT int
sigignore(int sig)
{
	struct sigaction act;
	sig_ignore_fn real;

	if (!sig_is_ours(sig)) {
		if (!(real = sig_real_sigignore())) {
			errno = ENOSYS;
			return -1;
		}
		return real(sig);
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = SIG_IGN;
	sigemptyset(&act.sa_mask);
	return sigaction(sig, &act, NULL);
}
