/*
 * shim.h - the life cycle of libmuppy.so inside a profiled process:
 * interpreter detection, triggers (signal, timer, exit), the worker
 * thread, fork handling, and the symbols the library exports.
 *
 * Everything else in the library is hidden (-fvisibility=hidden).  The
 * exported symbols are exactly:
 *   sigaction, __sigaction, signal, bsd_signal, ssignal, sysv_signal,
 *   __sysv_signal, siginterrupt, sigset, sigignore
 *                          interposed libc calls (signals.c): the
 *                          application's action for the dump signal is
 *                          kept as the kernel would keep it, ours stays
 *                          installed; other signals pass straight
 *                          through to libc.
 *   muppy_shim_test_fail   the fault-injection hook below.
 * Check with `nm -D --defined-only libmuppy.so`.
 */
#ifndef MUPPY_SHIM_SHIM_H
#define MUPPY_SHIM_SHIM_H

#define SHIM_EXPORT __attribute__((visibility("default")))

/*
 * Test hook, not an API: makes the shim's own file operations fail, as
 * shim_sys_inject() in output.h (spec like "write:ENOSPC", "" clears).
 * Exported so that integration tests can reach the failure paths of the
 * shipped library honestly, e.g. from the profiled Python program:
 *   ctypes.CDLL(os.environ["MUPPY_SHIM"]).muppy_shim_test_fail(b"write:ENOSPC")
 * It only ever makes dumps fail; it cannot make the shim do anything else.
 * Returns 0, or -1 if spec does not parse.
 */
SHIM_EXPORT int muppy_shim_test_fail(const char *spec);

#endif /* MUPPY_SHIM_SHIM_H */
