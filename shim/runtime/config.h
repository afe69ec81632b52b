/*
 * config.h - the shim's configuration: the MUPPY_* environment variables
 * (docs/design.md, "Environment of the shim"), parsed once at start-up.
 *
 * It owns parsing and defaults only.  It opens no file and starts
 * nothing; shim.c decides what to do with the values.  An invalid value is
 * never fatal: it produces one `muppy:` warning line through the caller's
 * warn function and the default is used, so a typo cannot break the host
 * application.
 */
#ifndef MUPPY_SHIM_CONFIG_H
#define MUPPY_SHIM_CONFIG_H

#include <limits.h>   /* PATH_MAX */
#include <stdint.h>   /* uint32_t, uint64_t */

enum shim_snapshot {
	SHIM_SNAPSHOT_INLINE = 0,  /* walk in the process, GIL held */
	SHIM_SNAPSHOT_FORK = 1,    /* walk in a forked child (not yet: inline) */
};

struct shim_config {
	char dir[PATH_MAX];        /* absolute dump directory, no trailing '/' */
	int signo;                 /* trigger signal, 0: none */
	uint64_t interval_ns;      /* timer period, 0: no timer */
	int at_exit;               /* 1: dump when the interpreter exits */
	int graph;                 /* 1: MUPPY_MODE=graph, 0: summary */
	uint32_t strings;          /* MUPPY_STRINGS: chars of str/bytes kept */
	int level;                 /* zlib level 0-9 */
	enum shim_snapshot snapshot;
	int stream;                /* MUPPY_STREAM, default 1: inline graph
	                              walks streamed; 0: held whole when
	                              there is room (the shortest GIL hold) */
};

/* Receives one warning message, without the `muppy: pid N: ` prefix the
 * caller adds and without a trailing newline. */
typedef void (*shim_warn_fn)(const char *line);
/* getenv-like lookup, so tests can feed a fake environment. */
typedef const char *(*shim_getenv_fn)(const char *name);

/*
 * Fills *cfg from the environment (through env) and the working directory
 * cwd (used for MUPPY_DIR's default and to make a relative MUPPY_DIR
 * absolute; may be NULL if unknown, then "." is used).  Every invalid value
 * is reported through warn, once, and replaced by its default.  Cannot
 * fail.
 */
void shim_config_load(struct shim_config *cfg, shim_getenv_fn env,
		      const char *cwd, shim_warn_fn warn);

#endif /* MUPPY_SHIM_CONFIG_H */
