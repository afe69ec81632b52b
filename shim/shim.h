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

/*
 * For the built-in `muppy` module (pymod.c, muppy.dump()): takes a
 * snapshot now, from Python, with the GIL held (released while encoding).
 * path NULL: `<MUPPY_DIR>/muppy.<pid>.<seq>.dump`; else exactly path,
 * which must not exist.  The file written goes to out_path (n bytes).
 * Returns 0 or a negative errno value (-ENOSYS if the shim is not set
 * up); prints nothing.  Internal (hidden), not exported.
 */
#include <stddef.h>   /* size_t */
int shim_dump_now(const char *trigger, const char *path, char *out_path,
		  size_t n);

/*
 * The Python objects the shim itself created (its atexit and fork hook
 * functions), for walk_opts.exclude: no walk, dump or muppy.get_objects()
 * reports them.  Returns a borrowed array of *n addresses (entries are 0
 * before the hooks exist).
 */
#include <stdint.h>   /* uintptr_t */
const uintptr_t *shim_own_objects(size_t *n);

#endif /* MUPPY_SHIM_SHIM_H */
