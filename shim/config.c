/*
 * config.c - parses the MUPPY_* environment variables into a struct
 * shim_config (see config.h; the table of variables is in docs/design.md).
 *
 * Only parsing lives here: no file is opened, no signal installed.  Uses
 * no stdio (the shim writes its few lines with write(2) itself).
 */
#include "shim/config.h"

#include <errno.h>    /* errno, ERANGE */
#include <math.h>     /* isfinite */
#include <signal.h>   /* SIG*, SIGRTMIN, SIGRTMAX */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* strtod, strtoul */
#include <string.h>   /* strcmp, strlen, strncasecmp */
#include <strings.h>  /* strcasecmp */

#define CONFIG_MAX_INTERVAL 31536000.0  /* one year, in seconds */
#define CONFIG_MIN_INTERVAL 0.001       /* 1 ms: below that, the shim would
                                           do nothing but dump */

/* Signals that may trigger a dump.  Synchronous fault signals (SEGV, BUS,
 * FPE, ILL, TRAP, ABRT) and the uncatchable ones are deliberately absent:
 * taking them over would change how the host crashes. */
static const struct {
	const char *name;
	int signo;
} config_signals[] = {
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
	{ "INT", SIGINT },   { "QUIT", SIGQUIT }, { "TERM", SIGTERM },
	{ "ALRM", SIGALRM }, { "PROF", SIGPROF }, { "VTALRM", SIGVTALRM },
	{ "WINCH", SIGWINCH }, { "URG", SIGURG }, { "PWR", SIGPWR },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "IO", SIGIO },
};

static int
config_signal_allowed(int signo)
{
	size_t i;

	if (signo >= SIGRTMIN && signo <= SIGRTMAX)
		return 1;
	for (i = 0; i < sizeof config_signals / sizeof config_signals[0]; i++)
		if (config_signals[i].signo == signo)
			return 1;
	return 0;
}

/* Digits only, no sign, no blanks: strtoul alone would accept " -1". */
static int
config_all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int
shim_parse_uint(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!s || !config_all_digits(s) || strlen(s) > 10)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
shim_parse_signal(const char *s, int *out)
{
	uint32_t n;
	size_t i;

	if (!s)
		return -1;
	if (!strcmp(s, "0") || !strcasecmp(s, "none")) {
		*out = 0;
		return 0;
	}
	if (config_all_digits(s)) {
		if (shim_parse_uint(s, 1000, &n) != 0 ||
		    !config_signal_allowed((int)n))
			return -1;
		*out = (int)n;
		return 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (i = 0; i < sizeof config_signals / sizeof config_signals[0]; i++) {
		if (!strcasecmp(s, config_signals[i].name)) {
			*out = config_signals[i].signo;
			return 0;
		}
	}
	return -1;
}

int
shim_parse_interval(const char *s, uint64_t *out_ns)
{
	double v;
	char *end;

	if (!s || !*s || *s == ' ' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 ||
	    v > CONFIG_MAX_INTERVAL)
		return -1;
	if (v != 0 && v < CONFIG_MIN_INTERVAL)
		return -1;
	*out_ns = (uint64_t)(v * 1e9 + 0.5);
	return 0;
}

static void
config_warn_invalid(shim_warn_fn warn, const char *var, const char *value,
		    const char *expect, const char *dflt)
{
	char line[512];

	snprintf(line, sizeof line,
		 "invalid %s='%.100s' (expected %s); using %s",
		 var, value, expect, dflt);
	warn(line);
}

/* Joins cwd and a relative path into cfg->dir; a path too long for
 * PATH_MAX is refused (returns -1). */
static int
config_set_dir(struct shim_config *cfg, const char *cwd, const char *path)
{
	int n;
	size_t len;

	if (path[0] == '/')
		n = snprintf(cfg->dir, sizeof cfg->dir, "%s", path);
	else if (!strcmp(path, "."))
		n = snprintf(cfg->dir, sizeof cfg->dir, "%s", cwd ? cwd : ".");
	else
		n = snprintf(cfg->dir, sizeof cfg->dir, "%s/%s",
			     cwd ? cwd : ".", path);
	if (n < 0 || (size_t)n >= sizeof cfg->dir)
		return -1;
	/* Strip trailing slashes (but keep "/") so names join cleanly. */
	len = strlen(cfg->dir);
	while (len > 1 && cfg->dir[len - 1] == '/')
		cfg->dir[--len] = '\0';
	return 0;
}

static void
config_load_dir(struct shim_config *cfg, shim_getenv_fn env, const char *cwd,
		shim_warn_fn warn)
{
	const char *v = env("MUPPY_DIR");

	if (v && *v && config_set_dir(cfg, cwd, v) == 0)
		return;
	if (v && *v)
		config_warn_invalid(warn, "MUPPY_DIR", v, "a path shorter "
				    "than PATH_MAX", "the working directory");
	if (config_set_dir(cfg, cwd, ".") != 0)
		snprintf(cfg->dir, sizeof cfg->dir, ".");
}

static void
config_load_bool(int *out, shim_getenv_fn env, const char *var,
		 shim_warn_fn warn)
{
	const char *v = env(var);

	if (!v)
		return;
	if (!strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "0"))
		*out = 0;
	else
		config_warn_invalid(warn, var, v, "0 or 1", *out ? "1" : "0");
}

void
shim_config_load(struct shim_config *cfg, shim_getenv_fn env,
		 const char *cwd, shim_warn_fn warn)
{
	const char *v;

	memset(cfg, 0, sizeof *cfg);
	cfg->signo = SIGUSR1;
	cfg->at_exit = 1;
	cfg->graph = 1;
	cfg->level = 1;
	cfg->snapshot = SHIM_SNAPSHOT_FORK;  /* docs/usage.md "Snapshot modes" */

	config_load_dir(cfg, env, cwd, warn);

	v = env("MUPPY_SIGNAL");
	if (v && shim_parse_signal(v, &cfg->signo) != 0)
		config_warn_invalid(warn, "MUPPY_SIGNAL", v,
				    "a signal name like USR1, a number, or "
				    "none", "USR1");

	v = env("MUPPY_INTERVAL");
	if (v && shim_parse_interval(v, &cfg->interval_ns) != 0)
		config_warn_invalid(warn, "MUPPY_INTERVAL", v,
				    "0 or seconds from 0.001", "0 (no timer)");

	config_load_bool(&cfg->at_exit, env, "MUPPY_AT_EXIT", warn);

	v = env("MUPPY_MODE");
	if (v && !strcmp(v, "graph"))
		cfg->graph = 1;
	else if (v && !strcmp(v, "summary"))
		cfg->graph = 0;
	else if (v)
		config_warn_invalid(warn, "MUPPY_MODE", v, "graph or summary",
				    "graph");

	v = env("MUPPY_STRINGS");
	if (v && shim_parse_uint(v, 1u << 20, &cfg->strings) != 0)
		config_warn_invalid(warn, "MUPPY_STRINGS", v,
				    "a count from 0 to 1048576", "0");

	v = env("MUPPY_LEVEL");
	if (v) {
		uint32_t level;

		if (shim_parse_uint(v, 9, &level) == 0)
			cfg->level = (int)level;
		else
			config_warn_invalid(warn, "MUPPY_LEVEL", v, "0 to 9",
					    "1");
	}

	v = env("MUPPY_SNAPSHOT");
	if (v && !strcmp(v, "inline"))
		cfg->snapshot = SHIM_SNAPSHOT_INLINE;
	else if (v && !strcmp(v, "fork"))
		cfg->snapshot = SHIM_SNAPSHOT_FORK;
	else if (v)
		config_warn_invalid(warn, "MUPPY_SNAPSHOT", v, "inline or fork",
				    "fork");
}
