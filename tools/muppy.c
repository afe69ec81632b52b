/*
 * muppy.c - the command table and dispatch of the `muppy` tool.
 *
 * muppy_main() picks the command named by argv[1] from commands[] and runs
 * it with argv shifted (the command sees its own name as argv[0]).  It owns
 * the top-level help (`muppy --help`: every command's synopsis, in table
 * order) and the top-level errors (no command, unknown command).  The
 * commands themselves live in tools/cmd_<name>.c; how to add one is the
 * checklist at the head of tools/muppy.h.
 */
#include <stdio.h>    /* fputs, fprintf, stdout, stderr */
#include <string.h>   /* strcmp */

#include "format/dump.h"   /* MUPPY_FORMAT_MAJOR, MUPPY_FORMAT_MINOR */
#include "tools/muppy.h"   /* cmd_*, MUPPY_USAGE_* */
#include "tools/util.h"    /* enum muppy_exit, util_* */

#define MUPPY_VERSION "0.1"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;   /* one-line synopsis (MUPPY_USAGE_<NAME>) */
};

static const struct command commands[] = {
	{ "info", cmd_info, MUPPY_USAGE_INFO },
	{ "summary", cmd_summary, MUPPY_USAGE_SUMMARY },
	{ "diff", cmd_diff, MUPPY_USAGE_DIFF },
	{ "objects", cmd_objects, MUPPY_USAGE_OBJECTS },
	{ "cat", cmd_cat, MUPPY_USAGE_CAT },
	{ "run", cmd_run, MUPPY_USAGE_RUN },
	{ "snap", cmd_snap, MUPPY_USAGE_SNAP },
	{ "tree", cmd_tree, MUPPY_USAGE_TREE },
	{ "path", cmd_path, MUPPY_USAGE_PATH },
	{ "leaks", cmd_leaks, MUPPY_USAGE_LEAKS },
	{ "track", cmd_track, MUPPY_USAGE_TRACK },
	{ "top", cmd_top, MUPPY_USAGE_TOP },
	{ "orphans", cmd_orphans, MUPPY_USAGE_ORPHANS },
	{ "browse", cmd_browse, MUPPY_USAGE_BROWSE },
	{ "report", cmd_report, MUPPY_USAGE_REPORT },
	{ NULL, NULL, NULL }  /* Sentinel */
};

static void
print_usage(FILE *out)
{
	fputs("usage: muppy <command> [options]\n"
	      "       muppy --help | --version\n"
	      "\n"
	      "muppy reads the heap dumps that libmuppy.so writes inside a "
	      "Python process.\n"
	      "\n"
	      "commands:\n", out);
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %s\n", c->usage);
	fputs("\n"
	      "'muppy <command> --help' describes a command's options.\n"
	      "Exit status: 0 ok, 1 runtime failure, 2 bad input (a usage "
	      "error or an invalid dump).\n"
	      "A read that takes over MUPPY_PROGRESS_DELAY seconds (default "
	      "1) shows its progress when stderr is a terminal.\n", out);
}

static const struct command *
find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* `muppy help [CMD]`: the same as `muppy --help` / `muppy CMD --help`. */
static int
run_help(int argc, char **argv)
{
	const struct command *c;
	char *help_argv[3];

	if (argc < 3) {
		print_usage(stdout);
		return util_finish_stdout(MUPPY_EXIT_OK);
	}
	c = find_command(argv[2]);
	if (!c) {
		util_error("unknown command '%s'", argv[2]);
		fputs("see 'muppy --help'\n", stderr);
		return MUPPY_EXIT_USAGE;
	}
	help_argv[0] = argv[2];
	help_argv[1] = (char *)"--help";
	help_argv[2] = NULL;
	return c->fn(2, help_argv);
}

int
muppy_main(int argc, char **argv)
{
	const struct command *c;
	const char *name;

	if (argc < 2) {
		fputs("muppy: error: no command given\n", stderr);
		print_usage(stderr);
		return MUPPY_EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
		print_usage(stdout);
		return util_finish_stdout(MUPPY_EXIT_OK);
	}
	if (strcmp(name, "--version") == 0) {
		printf("muppy %s (dump format %d.%d)\n", MUPPY_VERSION,
		       MUPPY_FORMAT_MAJOR, MUPPY_FORMAT_MINOR);
		return util_finish_stdout(MUPPY_EXIT_OK);
	}
	if (strcmp(name, "help") == 0)
		return run_help(argc, argv);
	if (name[0] == '-') {
		util_error("unknown option '%s'", name);
		fputs("see 'muppy --help'\n", stderr);
		return MUPPY_EXIT_USAGE;
	}
	c = find_command(name);
	if (!c) {
		util_error("unknown command '%s'", name);
		fputs("see 'muppy --help'\n", stderr);
		return MUPPY_EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
