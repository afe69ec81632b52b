/*
 * muppy.h - the `muppy` command line: its entry point (muppy_main, called
 * by tools/main.c and by the unit tests in-process), every subcommand's
 * function and its synopsis.
 *
 * The command table and dispatch live in tools/muppy.c; each subcommand is
 * a tools/cmd_<name>.c; shared helpers in tools/util.[ch] (messages,
 * options, opening dumps) and tools/table.[ch] (Pympler's table text,
 * csv, json).  Exit statuses: 0 ok, 1 runtime failure, 2 bad input
 * (enum muppy_exit in tools/util.h).
 *
 * ADDING A COMMAND (git's builtin.h checklist, adapted):
 *
 *   1. Write tools/cmd_<name>.c with
 *          int cmd_<name>(int argc, char **argv);
 *      argv[0] is the command's name, argv[1..] its arguments.  Return an
 *      enum muppy_exit; never call exit() (the tests run commands
 *      in-process) and print errors with util_error()/util_read_dump()/
 *      util_usage_error() (tools/util.h).  Parse options with
 *      util_parser_init/util_next; answer UTIL_OPT_HELP with
 *      util_help(<full help text>) on stdout, exit 0.  End with
 *      `return util_finish_stdout(status);` so a failed write is exit 1.
 *   2. Declare it below and add its synopsis macro MUPPY_USAGE_<NAME>
 *      ("muppy <name> ..." on one line): the same macro is shown by
 *      `muppy --help`, by `muppy <name> --help` and in usage errors.
 *   3. Add ONE line to commands[] in tools/muppy.c:
 *          { "<name>", cmd_<name>, MUPPY_USAGE_<NAME> },
 *      (the table's order is the order of `muppy --help`).
 *   4. Document it: one "## muppy <name>" section in docs/usage.md
 *      (synopsis, options, output, exit statuses, an example).
 *   5. Test it: tests/unit/cli_test.cc style (fixtures written with fmt_write,
 *      muppy_main in-process, exact stdout/stderr and exit status), help,
 *      a usage error, and bad dumps as carefully as good ones.
 *   The build needs nothing: tools/BUILD globs every .c file in tools/.
 */
#ifndef MUPPY_TOOLS_MUPPY_H
#define MUPPY_TOOLS_MUPPY_H

#include <stddef.h>   /* size_t */

#ifdef __cplusplus
extern "C" {
#endif

/* Runs `muppy argv[1] ...` and returns the exit status (0, 1 or 2); does not
 * call exit(), except that `muppy run` on success replaces the process
 * (execvp: argv[argc] must be NULL, as main's is).  argv is only read. */
int muppy_main(int argc, char **argv);

/* ---- synopses: one line each, shared by --help and usage errors ------ */

#define MUPPY_USAGE_INFO "muppy info DUMP [--format text|json]"
#define MUPPY_USAGE_SUMMARY \
	"muppy summary DUMP [--limit N] [--sort size|count|type] " \
	"[--order descending|ascending] [--format text|json|csv]"
#define MUPPY_USAGE_DIFF \
	"muppy diff OLD NEW [--limit N] [--sort size|count|type] " \
	"[--order descending|ascending] [--format text|json|csv] " \
	"[--objects]"
#define MUPPY_USAGE_OBJECTS \
	"muppy objects DUMP [--type T] [--min BYTES] [--max BYTES] " \
	"[--sort size|type|address|refcnt] [--limit N] " \
	"[--format text|json|csv]"
#define MUPPY_USAGE_CAT "muppy cat DUMP"
#define MUPPY_USAGE_RUN \
	"muppy run [-v] [--interval S] [--dir D] [--signal SIG] " \
	"[--mode graph|summary] [--strings N] [--no-exit-dump] " \
	"[--snapshot inline|fork] -- CMD [ARGS...]"
#define MUPPY_USAGE_SNAP "muppy snap PID [--timeout S] [--dir D]"

/* The analyses (tools/cmd_tree.c ... cmd_orphans.c, tools/graph.h). */
#define MUPPY_USAGE_TREE \
	"muppy tree DUMP (ADDRESS | --type NAME) [--maxdepth N] " \
	"[--referents] [--label type|name|full] [--no-repeat] [--limit K] " \
	"[--format text|json|csv|dot]"
#define MUPPY_USAGE_PATH \
	"muppy path DUMP ADDRESS [--limit K] [--format text|json|csv|dot]"
#define MUPPY_USAGE_LEAKS \
	"muppy leaks D1 D2 [... Dn] [--limit N] [--format text|json|csv]"
#define MUPPY_USAGE_TRACK \
	"muppy track D1 D2 [... Dn] [--limit N] [--format text|json|csv]"
#define MUPPY_USAGE_TOP \
	"muppy top DUMP [--limit N] [--by-type] [--format text|json|csv]"
#define MUPPY_USAGE_BROWSE \
	"muppy browse DUMP [ADDRESS | --type T] [OLDER_DUMP...] " \
	"[--batch KEYS [--size RxC] [--timings]]"
#define MUPPY_USAGE_REPORT \
	"muppy report D1 [D2 ... Dn] [-o FILE] [--root ADDRESS] " \
	"[--suspects N] [--retainers N] [--max-objects N]"
#define MUPPY_USAGE_ORPHANS \
	"muppy orphans [OLDER_DUMP...] DUMP [--objects] [--limit N] " \
	"[--sort extra|size|address] [--format text|json|csv]"

/* ---- the commands (tools/cmd_<name>.c) ------------------------------- */

int cmd_info(int argc, char **argv);      /* cmd_info.c */
int cmd_summary(int argc, char **argv);   /* cmd_summary.c */
int cmd_diff(int argc, char **argv);      /* cmd_summary.c */
int cmd_objects(int argc, char **argv);   /* cmd_objects.c */
int cmd_cat(int argc, char **argv);       /* cmd_cat.c */
int cmd_run(int argc, char **argv);       /* cmd_run.c */
int cmd_snap(int argc, char **argv);      /* cmd_snap.c */
int cmd_tree(int argc, char **argv);      /* cmd_tree.c */
int cmd_path(int argc, char **argv);      /* cmd_path.c */
int cmd_leaks(int argc, char **argv);     /* cmd_leaks.c */
int cmd_track(int argc, char **argv);     /* cmd_track.c */
int cmd_top(int argc, char **argv);       /* cmd_top.c */
int cmd_orphans(int argc, char **argv);   /* cmd_orphans.c */
int cmd_browse(int argc, char **argv);    /* cmd_browse.c */
int cmd_report(int argc, char **argv);    /* cmd_report.c */
/* `muppy diff OLD NEW --objects` (cmd_diffobj.c): called by cmd_diff with
 * the same argv when --objects is among the options. */
int cmd_diff_objects(int argc, char **argv);

/* The options of summary, diff and diff --objects (cmd_summary.c), into
 * *o and nfiles operands into files[]; objects: accept --objects.
 * Returns 1 to go on, 0 when the command must return *status at once
 * (util_parse_command). */
#define SUMMARY_LIMIT 15   /* rows by default: Pympler's */
/* The help lines of summary_parse_args's options. */
#define SUMMARY_OPTIONS_HELP \
	"  --limit N        rows to print after sorting " \
	"(default " UTIL_STR(SUMMARY_LIMIT) "; 0: all)\n" \
	"  --sort KEY       size (default), count, or type (the row name)\n" \
	"  --order ORDER    descending (default) or ascending\n" \
	"  --format FMT     text (Pympler's table, default), json, csv\n"
struct tbl_summary_opts;
int summary_parse_args(int argc, char **argv, const char *synopsis,
		       const char *help, const char **files, size_t nfiles,
		       int objects, struct tbl_summary_opts *o, int *status);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_MUPPY_H */
