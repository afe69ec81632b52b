/*
 * signals.h - the dump signal, kept ours without changing what the
 * application sees of it: the interposed libc calls that set signal
 * actions, and the handler that asks for a dump and then does exactly what
 * the application's own action says.
 *
 * signals.c's design notes hold the contract: for each action an
 * application can set (handler, SIG_DFL, SIG_IGN, with any flags and mask),
 * what the kernel would have done without the shim and what happens with
 * it.  Not here: what a dump request does (shim.c's callback), the
 * configuration (config.c).
 *
 * Exported (default visibility, interposed over libc): sigaction,
 * __sigaction, signal, bsd_signal, ssignal, sysv_signal, __sysv_signal,
 * siginterrupt, sigset, sigignore.  For every signal but the dump signal
 * they forward to libc untouched.
 */
#ifndef MUPPY_SHIM_SIGNALS_H
#define MUPPY_SHIM_SIGNALS_H

#include <signal.h>   /* struct sigaction */

/* Called from the signal handler for each delivery of the dump signal:
 * must be async-signal-safe. */
typedef void (*sig_request_fn)(void);

/*
 * Takes over signo (once per process; the constructor calls it): its
 * current action becomes the application's, the kernel gets ours (or keeps
 * SIG_IGN, design note 3), and request runs on every delivery.  Returns 0,
 * or -1 with errno set (nothing changed then).
 */
int sig_take_over(int signo, sig_request_fn request);

/*
 * libc's own sigaction, bypassing the virtual action: for code of ours
 * that sets a real disposition in a process of its own (a snapshot child
 * taking the default action for SIGTERM, say).
 */
int sig_sys_sigaction(int sig, const struct sigaction *act,
		      struct sigaction *old);

#endif /* MUPPY_SHIM_SIGNALS_H */
