/*
 * settings.h - the values of the MUPPY_* settings, parsed one way for both
 * sides: the shim reads them from its environment (shim/runtime/config.c), the
 * tool checks them before it sets that environment (`muppy run` options,
 * `muppy snap` reading /proc/PID/environ).  One parser means a value the
 * tool accepts is a value the shim uses, never a silent fallback.
 *
 * Only parsing and naming live here: no environment lookup, no message
 * printing, no defaults applied.  Each parser returns 0 and stores the
 * value, or -1 leaving *out untouched; SETTINGS_EXPECT_* say, for a
 * message, what a valid value looks like.
 */
#ifndef MUPPY_COMMON_SETTINGS_H
#define MUPPY_COMMON_SETTINGS_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint32_t, uint64_t */

/* Bounds, shared so that `muppy run --help` and the shim say the same. */
#define SETTINGS_INTERVAL_MIN_S 0.001    /* below: the shim would only dump */
#define SETTINGS_INTERVAL_MAX_S 31536000.0  /* one year */
#define SETTINGS_STRINGS_MAX (1u << 20)  /* MUPPY_STRINGS, characters */
#define SETTINGS_LEVEL_MAX 9u            /* MUPPY_LEVEL, zlib's levels */

#define SETTINGS_EXPECT_SIGNAL \
	"a signal name like USR1 (not a fault or uncatchable signal), " \
	"a number, or none"
#define SETTINGS_EXPECT_INTERVAL "0 or seconds from 0.001"
#define SETTINGS_EXPECT_BOOL "0 or 1"
#define SETTINGS_EXPECT_MODE "graph or summary"
#define SETTINGS_EXPECT_SNAPSHOT "inline or fork"
#define SETTINGS_EXPECT_STRINGS "a count from 0 to 1048576"
#define SETTINGS_EXPECT_LEVEL "0 to 9"

/*
 * A dump signal: USR1, SIGUSR1, usr1, RTMIN+2, a number, or 0/none (no
 * signal, *out = 0).  Only signals a dump may take over are accepted:
 * never the synchronous faults (SEGV, BUS, FPE, ILL, TRAP, ABRT, SYS:
 * taking them over would change how the host crashes), the uncatchable
 * KILL and STOP, CHLD and CONT (job control and child reaping depend on
 * their default actions), PIPE, STKFLT, TSTP, nor the real-time signals
 * glibc keeps for itself below SIGRTMIN.
 */
int settings_parse_signal(const char *s, int *out);

/* The name of a signal settings_parse_signal accepts ("USR1",
 * "RTMIN+3"), written into buf; "none" for 0; NULL if it is not one. */
const char *settings_signal_name(int signo, char *buf, size_t len);

/* Seconds with decimals, 0 (off) or SETTINGS_INTERVAL_MIN_S to _MAX_S;
 * no sign, no blanks, no unit.  Stored in nanoseconds. */
int settings_parse_interval(const char *s, uint64_t *out_ns);

/* Decimal digits only (no sign, no blanks), at most max. */
int settings_parse_uint(const char *s, uint32_t max, uint32_t *out);

/* "0" or "1". */
int settings_parse_bool(const char *s, int *out);

/* MUPPY_MODE: "graph" (*graph = 1) or "summary" (0). */
int settings_parse_mode(const char *s, int *graph);

/* MUPPY_SNAPSHOT: "fork" (*fork = 1) or "inline" (0). */
int settings_parse_snapshot(const char *s, int *fork);

#endif /* MUPPY_COMMON_SETTINGS_H */
