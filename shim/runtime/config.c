/*
 * config.c - parses the MUPPY_* environment variables into a struct
 * shim_config (see config.h; the table of variables is in docs/design.md).
 *
 * The values are parsed by common/settings.c, the same parser `muppy run`
 * checks its options with; this file applies defaults and words the
 * warnings.  No file is opened, no signal installed, no stdio used (the
 * shim writes its few lines with write(2) itself).
 */
#include "shim/runtime/config.h"

#include <signal.h>   /* SIGUSR1 */
#include <stdio.h>    /* snprintf */
#include <string.h>   /* memset, strcmp, strlen */

#include "common/settings.h" /* settings_parse_*, SETTINGS_EXPECT_* */

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

	if (v && settings_parse_bool(v, out) != 0)
		config_warn_invalid(warn, var, v, SETTINGS_EXPECT_BOOL,
				    *out ? "1" : "0");
}

void
shim_config_load(struct shim_config *cfg, shim_getenv_fn env,
		 const char *cwd, shim_warn_fn warn)
{
	const char *v;
	int fork;

	memset(cfg, 0, sizeof *cfg);
	cfg->signo = SIGUSR1;
	cfg->at_exit = 1;
	cfg->graph = 1;
	cfg->level = 1;
	cfg->stream = 1;   /* docs/usage.md "Streamed snapshots" */
	cfg->snapshot = SHIM_SNAPSHOT_FORK;  /* docs/usage.md "Snapshot modes" */

	config_load_dir(cfg, env, cwd, warn);

	v = env("MUPPY_SIGNAL");
	if (v && settings_parse_signal(v, &cfg->signo) != 0)
		config_warn_invalid(warn, "MUPPY_SIGNAL", v,
				    SETTINGS_EXPECT_SIGNAL, "USR1");

	v = env("MUPPY_INTERVAL");
	if (v && settings_parse_interval(v, &cfg->interval_ns) != 0)
		config_warn_invalid(warn, "MUPPY_INTERVAL", v,
				    SETTINGS_EXPECT_INTERVAL, "0 (no timer)");

	config_load_bool(&cfg->at_exit, env, "MUPPY_AT_EXIT", warn);
	config_load_bool(&cfg->stream, env, "MUPPY_STREAM", warn);

	v = env("MUPPY_MODE");
	if (v && settings_parse_mode(v, &cfg->graph) != 0)
		config_warn_invalid(warn, "MUPPY_MODE", v, SETTINGS_EXPECT_MODE,
				    "graph");

	v = env("MUPPY_STRINGS");
	if (v && settings_parse_uint(v, SETTINGS_STRINGS_MAX,
				     &cfg->strings) != 0)
		config_warn_invalid(warn, "MUPPY_STRINGS", v,
				    SETTINGS_EXPECT_STRINGS, "0");

	v = env("MUPPY_LEVEL");
	if (v) {
		uint32_t level;

		if (settings_parse_uint(v, SETTINGS_LEVEL_MAX, &level) == 0)
			cfg->level = (int)level;
		else
			config_warn_invalid(warn, "MUPPY_LEVEL", v,
					    SETTINGS_EXPECT_LEVEL, "1");
	}

	v = env("MUPPY_SNAPSHOT");
	if (v && settings_parse_snapshot(v, &fork) == 0)
		cfg->snapshot = fork ? SHIM_SNAPSHOT_FORK : SHIM_SNAPSHOT_INLINE;
	else if (v)
		config_warn_invalid(warn, "MUPPY_SNAPSHOT", v,
				    SETTINGS_EXPECT_SNAPSHOT, "fork");
}
