/*
 * clock.h - the one clock reading both sides use: nanoseconds of a POSIX
 * clock as a plain integer (durations, deadlines, META times).
 * Async-signal-safe and malloc-free: the snapshot child may call it.
 */
#ifndef MUPPY_COMMON_CLOCK_H
#define MUPPY_COMMON_CLOCK_H

#include <stdint.h>   /* uint64_t */
#include <time.h>     /* clockid_t, CLOCK_MONOTONIC, CLOCK_REALTIME */

#ifdef __cplusplus
extern "C" {
#endif

/* clock's time in ns (CLOCK_MONOTONIC for durations, CLOCK_REALTIME for
 * wall-clock stamps). */
uint64_t muppy_now_ns(clockid_t clock);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_COMMON_CLOCK_H */
