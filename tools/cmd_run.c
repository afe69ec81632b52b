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
#include <stdint.h>   /* uint32_t, uint64_t */
#include <stdio.h>    /* fprintf, snprintf */
#include <stdlib.h>   /* getenv, setenv, realpath, malloc, free */
#include <string.h>   /* strcmp, strlen, strrchr, strerror */
#include <unistd.h>   /* execvp, readlink, access */

#include "common/settings.h" /* settings_parse_*, SETTINGS_* */
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

/* Whether a MUPPY_* value is one the shim will use (common/settings.h:
 * the shim's own parser), so that the tool never hands the shim a value
 * it would replace by its default. */
typedef int (*run_check_fn)(const char *v);

static int
check_dir(const char *v)
{
	return *v ? 0 : -1;
}

static int
check_signal(const char *v)
{
	int signo;

	return settings_parse_signal(v, &signo);
}

static int
check_interval(const char *v)
{
	uint64_t ns;

	return settings_parse_interval(v, &ns);
}

static int
check_bool(const char *v)
{
	int b;

	return settings_parse_bool(v, &b);
}

static int
check_mode(const char *v)
{
	int graph;

	return settings_parse_mode(v, &graph);
}

static int
check_strings(const char *v)
{
	uint32_t n;

	return settings_parse_uint(v, SETTINGS_STRINGS_MAX, &n);
}

static int
check_level(const char *v)
{
	uint32_t n;

	return settings_parse_uint(v, SETTINGS_LEVEL_MAX, &n);
}

static int
check_snapshot(const char *v)
{
	int fork;

	return settings_parse_snapshot(v, &fork);
}

/* The shim's variables: the option that sets each (0: none, inherited
 * only), and what a valid value is. */
static const struct run_var {
	int opt;
	const char *env, *flag, *expect;
	run_check_fn check;
} run_vars[] = {
	{ OPT_INTERVAL, "MUPPY_INTERVAL", "--interval",
	  SETTINGS_EXPECT_INTERVAL, check_interval },
	{ OPT_DIR, "MUPPY_DIR", "--dir", "a directory name", check_dir },
	{ OPT_SIGNAL, "MUPPY_SIGNAL", "--signal", SETTINGS_EXPECT_SIGNAL,
	  check_signal },
	{ OPT_MODE, "MUPPY_MODE", "--mode", SETTINGS_EXPECT_MODE, check_mode },
	{ OPT_STRINGS, "MUPPY_STRINGS", "--strings", SETTINGS_EXPECT_STRINGS,
	  check_strings },
	{ OPT_NO_EXIT, "MUPPY_AT_EXIT", "--no-exit-dump", SETTINGS_EXPECT_BOOL,
	  check_bool },
	{ OPT_SNAPSHOT, "MUPPY_SNAPSHOT", "--snapshot",
	  SETTINGS_EXPECT_SNAPSHOT, check_snapshot },
	{ 0, "MUPPY_LEVEL", NULL, SETTINGS_EXPECT_LEVEL, check_level },
};

#define RUN_NVARS (sizeof run_vars / sizeof run_vars[0])

/* The value each variable gets (NULL: keep the inherited one). */
struct run_env {
	const char *value[RUN_NVARS];
};

static const struct run_var *
var_of_opt(int opt, size_t *at)
{
	for (size_t i = 0; i < RUN_NVARS; i++) {
		if (run_vars[i].opt == opt) {
			*at = i;
			return &run_vars[i];
		}
	}
	return NULL;
}

/* Checks the values given as options and those inherited: a usage error
 * (2) names the first bad one. */
static int
check_env(const struct run_env *env)
{
	for (size_t i = 0; i < RUN_NVARS; i++) {
		const struct run_var *var = &run_vars[i];
		const char *v = env->value[i];

		if (v && var->check(v) != 0)
			return util_usage_error(MUPPY_USAGE_RUN, "%s: '%s' is "
						"not valid (expected %s)",
						var->flag, v, var->expect);
		if (!v && (v = getenv(var->env)) && var->check(v) != 0)
			return util_usage_error(MUPPY_USAGE_RUN, "%s='%s' in "
						"the environment is not valid "
						"(expected %s)", var->env, v,
						var->expect);
	}
	return 0;
}

/* Parses options into *env; *cmd_at is the index of CMD in argv.
 * Returns -1 to go on, or an exit status. */
static int
parse_args(int argc, char **argv, struct run_env *env, int *verbose,
	   int *cmd_at)
{
	const char *syn = MUPPY_USAGE_RUN, *v;
	struct util_parser p;
	size_t at = 0;
	int id, rc;

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
			rc = check_env(env);
			return rc ? rc : -1;
		case OPT_VERBOSE:
			*verbose = 1;
			break;
		case OPT_NO_EXIT:
			var_of_opt(id, &at);
			env->value[at] = "0";
			break;
		default:
			if (var_of_opt(id, &at))
				env->value[at] = v;
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
	for (size_t i = 0; i < RUN_NVARS; i++)
		if (e->value[i] && setenv(run_vars[i].env, e->value[i], 1))
			return -1;
	return 0;
}

static void
say_what(char **cmd, const char *lib)
{
	fprintf(stderr, "muppy: preloading %s\n", lib);
	for (size_t i = 0; i < RUN_NVARS; i++)
		if (getenv(run_vars[i].env))
			fprintf(stderr, "muppy: %s=%s\n", run_vars[i].env,
				getenv(run_vars[i].env));
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
