/*
 * cmd_run.c - `muppy run [options] -- CMD ARGS...`: runs CMD with
 * libmuppy.so preloaded and the shim configured through MUPPY_* variables
 * (docs/design.md, "Environment of the shim").
 *
 * It execs CMD in place (execvp): no muppy process stays around, CMD gets
 * our pid, signals and terminal, and its exit status is the command's.
 * Success prints nothing (the application's output must be untouched)
 * unless -v.  Options not given leave the inherited MUPPY_* values alone,
 * so `MUPPY_LEVEL=6 muppy run -- ...` works for variables without an
 * option.  Where libmuppy.so is looked for: $MUPPY_LIB, then next to the
 * muppy executable, then ../shim/ relative to it (the Bazel layout:
 * bazel-bin/tools/muppy and bazel-bin/shim/libmuppy.so).
 */
#include <errno.h>    /* errno */
#include <limits.h>   /* PATH_MAX */
#include <stdint.h>   /* INT32_MAX */
#include <stdio.h>    /* fprintf, snprintf */
#include <stdlib.h>   /* getenv, setenv, realpath, malloc, free */
#include <string.h>   /* strcmp, strlen, strrchr, strerror */
#include <unistd.h>   /* execvp, readlink, access */

#include "tools/muppy.h"   /* cmd_run, MUPPY_USAGE_RUN */
#include "tools/util.h"    /* option parsing, util_error */

#define SHIM_NAME "libmuppy.so"

static const char run_help[] =
	"usage: " MUPPY_USAGE_RUN "\n"
	"\n"
	"Runs CMD with libmuppy.so preloaded: CMD replaces muppy (same pid), and\n"
	"its exit status is CMD's.  The shim then writes dumps\n"
	"DIR/muppy.<pid>.<seq>.dump on the signal, on the timer and at exit.\n"
	"Options not given keep the MUPPY_* values of the environment.\n"
	"\n"
	"  --interval S     also dump every S seconds (MUPPY_INTERVAL; 0: no)\n"
	"  --dir D          directory for the dumps (MUPPY_DIR; default: the\n"
	"                   working directory)\n"
	"  --signal SIG     signal that triggers a dump, e.g. USR2 (MUPPY_SIGNAL;\n"
	"                   default USR1; 0 or none: no signal)\n"
	"  --mode M         graph (objects and edges, default) or summary (the\n"
	"                   per-type table only) (MUPPY_MODE)\n"
	"  --strings N      store the first N characters of str/bytes contents\n"
	"                   (MUPPY_STRINGS; default 0: none)\n"
	"  --no-exit-dump   no dump when the interpreter exits (MUPPY_AT_EXIT=0)\n"
	"  --snapshot HOW   inline or fork (MUPPY_SNAPSHOT)\n"
	"  -v, --verbose    say what is run, on stderr\n"
	"  -h, --help       this help\n"
	"\n"
	"libmuppy.so is taken from $MUPPY_LIB, else next to the muppy\n"
	"executable, else from ../shim/ beside it.\n";

enum {
	OPT_INTERVAL = 1, OPT_DIR, OPT_SIGNAL, OPT_MODE, OPT_STRINGS,
	OPT_NO_EXIT, OPT_SNAPSHOT, OPT_VERBOSE,
};

static const struct util_opt run_opts[] = {
	{ "interval", 'i', 1, OPT_INTERVAL },
	{ "dir", 'd', 1, OPT_DIR },
	{ "signal", 0, 1, OPT_SIGNAL },
	{ "mode", 'm', 1, OPT_MODE },
	{ "strings", 0, 1, OPT_STRINGS },
	{ "no-exit-dump", 0, 0, OPT_NO_EXIT },
	{ "snapshot", 0, 1, OPT_SNAPSHOT },
	{ "verbose", 'v', 0, OPT_VERBOSE },
	{ NULL, 0, 0, 0 }  /* Sentinel */
};

/* One MUPPY_* variable to set, from an option. */
struct run_env {
	const char *interval, *dir, *signal, *mode, *strings, *at_exit,
		   *snapshot;
};

static int
one_of(const char *v, const char *a, const char *b)
{
	return strcmp(v, a) == 0 || strcmp(v, b) == 0;
}

/* Parses options into *env; *cmd_at is the index of CMD in argv.
 * Returns -1 to go on, or an exit status. */
static int
parse_args(int argc, char **argv, struct run_env *env, int *verbose,
	   int *cmd_at)
{
	const char *syn = MUPPY_USAGE_RUN, *v;
	struct util_parser p;
	int id, rc;
	int64_t n;
	double secs;

	util_parser_init(&p, argc, argv, run_opts, syn);
	p.stop_at_operand = 1;  /* options after CMD are CMD's */
	while ((id = util_next(&p, &v)) != UTIL_OPT_END) {
		switch (id) {
		case UTIL_OPT_HELP:
			return util_finish_stdout(util_help(run_help));
		case UTIL_OPT_ERROR:
			return MUPPY_EXIT_USAGE;
		case UTIL_OPT_OPERAND:
			*cmd_at = util_rest(&p) - 1;
			return -1;
		case OPT_INTERVAL:
			if ((rc = util_parse_seconds("--interval", v, syn,
						     &secs)))
				return rc;
			env->interval = v;
			break;
		case OPT_DIR:
			if (!*v)
				return util_usage_error(syn, "--dir: empty "
							"directory name");
			env->dir = v;
			break;
		case OPT_SIGNAL:
			if (util_signal_number(v) < 0)
				return util_usage_error(syn, "--signal: '%s' is"
							" not a signal name or "
							"number", v);
			env->signal = v;
			break;
		case OPT_MODE:
			if (!one_of(v, "graph", "summary"))
				return util_usage_error(syn, "--mode: '%s' is "
							"not graph or summary",
							v);
			env->mode = v;
			break;
		case OPT_STRINGS:
			if ((rc = util_parse_int("--strings", v, 0, INT32_MAX,
						 syn, &n)))
				return rc;
			env->strings = v;
			break;
		case OPT_NO_EXIT:
			env->at_exit = "0";
			break;
		case OPT_SNAPSHOT:
			if (!one_of(v, "inline", "fork"))
				return util_usage_error(syn, "--snapshot: '%s' "
							"is not inline or fork",
							v);
			env->snapshot = v;
			break;
		case OPT_VERBOSE:
			*verbose = 1;
			break;
		}
	}
	return util_usage_error(syn, "a command to run is needed (muppy run "
				"-- CMD ARGS...)");
}

/* The absolute path of an existing, readable candidate, into out
 * (PATH_MAX bytes); 0 if found. */
static int
try_lib(const char *candidate, char *out)
{
	return access(candidate, R_OK) == 0 && realpath(candidate, out) ? 0
									: -1;
}

/* Finds libmuppy.so (file head); prints the error and returns -1 if it
 * is nowhere. */
static int
find_shim(char *out)
{
	char exe[PATH_MAX], cand[PATH_MAX + 32], *slash;
	const char *env = getenv("MUPPY_LIB");
	ssize_t n;

	if (env && *env) {
		if (try_lib(env, out) == 0)
			return 0;
		util_error("MUPPY_LIB=%s: %s", env, strerror(errno));
		return -1;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		util_error("cannot find libmuppy.so: /proc/self/exe: %s "
			   "(set MUPPY_LIB)", strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(cand, sizeof cand, "%s/" SHIM_NAME, exe);
	if (try_lib(cand, out) == 0)
		return 0;
	snprintf(cand, sizeof cand, "%s/../shim/" SHIM_NAME, exe);
	if (try_lib(cand, out) == 0)
		return 0;
	util_error("cannot find libmuppy.so: not in %s/ nor %s/../shim/ "
		   "(set MUPPY_LIB to its path)", exe, exe);
	return -1;
}

/* Whether the whitespace/colon separated list has the entry item. */
static int
list_has(const char *list, const char *item)
{
	size_t len = strlen(item);

	for (const char *p = list; (p = strstr(p, item)); p += len)
		if ((p == list || p[-1] == ':' || p[-1] == ' ') &&
		    (p[len] == '\0' || p[len] == ':' || p[len] == ' '))
			return 1;
	return 0;
}

/* LD_PRELOAD = lib, before what was there (ld.so takes ':' or ' '). */
static int
set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	size_t len;
	int rc;

	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	if (list_has(old, lib))
		return 0;
	len = strlen(lib) + strlen(old) + 2;
	val = malloc(len);
	if (!val)
		return -1;
	snprintf(val, len, "%s:%s", lib, old);
	rc = setenv("LD_PRELOAD", val, 1);
	free(val);
	return rc;
}

static int
set_env(const struct run_env *e)
{
	const struct {
		const char *name, *value;
	} vars[] = {
		{"MUPPY_INTERVAL", e->interval}, {"MUPPY_DIR", e->dir},
		{"MUPPY_SIGNAL", e->signal}, {"MUPPY_MODE", e->mode},
		{"MUPPY_STRINGS", e->strings}, {"MUPPY_AT_EXIT", e->at_exit},
		{"MUPPY_SNAPSHOT", e->snapshot},
	};

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (vars[i].value && setenv(vars[i].name, vars[i].value, 1))
			return -1;
	return 0;
}

static void
say_what(char **cmd, const char *lib)
{
	static const char *const names[] = {
		"MUPPY_INTERVAL", "MUPPY_DIR", "MUPPY_SIGNAL", "MUPPY_MODE",
		"MUPPY_STRINGS", "MUPPY_AT_EXIT", "MUPPY_SNAPSHOT",
		"MUPPY_LEVEL",
	};

	fprintf(stderr, "muppy: preloading %s\n", lib);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (getenv(names[i]))
			fprintf(stderr, "muppy: %s=%s\n", names[i],
				getenv(names[i]));
	fputs("muppy: running", stderr);
	for (; *cmd; cmd++)
		fprintf(stderr, " %s", *cmd);
	fputc('\n', stderr);
}

int
cmd_run(int argc, char **argv)
{
	struct run_env env = {0};
	char lib[PATH_MAX];
	int verbose = 0, cmd_at = 0, rc, e;

	rc = parse_args(argc, argv, &env, &verbose, &cmd_at);
	if (rc >= 0)
		return rc;
	if (find_shim(lib) != 0)
		return MUPPY_EXIT_FAILURE;
	if (set_env(&env) != 0 || set_preload(lib) != 0)
		return util_error("cannot set the environment: %s",
				  strerror(errno));
	if (verbose)
		say_what(argv + cmd_at, lib);
	/* Nothing of ours may sit in a stdio buffer across exec. */
	fflush(stdout);
	fflush(stderr);
	execvp(argv[cmd_at], argv + cmd_at);
	e = errno;
	return util_error("cannot run '%s': %s", argv[cmd_at], strerror(e));
}
