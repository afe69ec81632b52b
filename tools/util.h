/*
 * util.h - the small pieces every muppy subcommand shares: exit statuses,
 * error and usage messages, the option parser, number/size/signal/format
 * parsing, and opening a dump with the one error line the contract asks for.
 *
 * Deliberately not here: table text, csv and json (tools/table.[ch]), and
 * anything that knows the dump bytes (format/).  Nothing in this module
 * calls exit(): commands return a status and muppy_main() hands it to
 * main(), so the unit tests can run every command in-process.
 */
#ifndef MUPPY_TOOLS_UTIL_H
#define MUPPY_TOOLS_UTIL_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* int64_t, uint64_t */

#include "format/dump.h"   /* struct fmt_dump, enum fmt_read_what */

#ifdef __cplusplus
extern "C" {
#endif

/* The exit statuses of every command (docs/usage.md, "Exit status"). */
enum muppy_exit {
	MUPPY_EXIT_OK = 0,       /* done */
	MUPPY_EXIT_FAILURE = 1,  /* runtime failure: I/O, memory, a process */
	MUPPY_EXIT_USAGE = 2,    /* bad input: usage error or invalid dump */
};

/* Output formats; commands say which they accept as a mask of these. */
enum util_format {
	UTIL_FORMAT_TEXT = 1,
	UTIL_FORMAT_JSON = 2,
	UTIL_FORMAT_CSV = 4,
	UTIL_FORMAT_DOT = 8,     /* for the graph analyses (tree, path) */
};

/* Prints "muppy: error: <fmt>\n" to stderr; returns MUPPY_EXIT_FAILURE so a
 * command can `return util_error(...)` for runtime failures. */
int util_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "muppy: warning: <fmt>\n" to stderr. */
void util_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: "muppy: error: <fmt>" (if fmt is not NULL), then
 * "usage: <synopsis>" and "see 'muppy --help'" on stderr.  Returns
 * MUPPY_EXIT_USAGE. */
int util_usage_error(const char *synopsis, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints text (a command's full help) to stdout; returns MUPPY_EXIT_OK. */
int util_help(const char *text);

/*
 * THE OPTION PARSER
 *
 * Long options (`--name VALUE`, `--name=VALUE`, flags `--name`), their
 * optional one-letter forms (`-n VALUE`, flags `-v`), `-h`/`--help`
 * everywhere, `--` ending the options; options and operands may be mixed
 * (`muppy summary DUMP --limit 5`).  Errors (unknown option, missing or
 * stray value) are reported here as usage errors.
 */
struct util_opt {
	const char *name;     /* long name without "--"; NULL ends the table */
	char short_name;      /* 0: none */
	int has_arg;          /* 1: takes a value */
	int id;               /* > 0, returned by util_next */
};

#define UTIL_OPT_HELP (-1)   /* -h / --help */
#define UTIL_OPT_END (-2)    /* no arguments left */
#define UTIL_OPT_ERROR (-3)  /* usage error, already printed */
#define UTIL_OPT_OPERAND 0   /* a non-option argument, in *value */

struct util_parser {
	int argc;
	char **argv;          /* argv[0] is the command name; only read */
	int i;                /* next argument to look at */
	const struct util_opt *opts;
	const char *synopsis; /* for usage errors */
	int operands_only;    /* after "--", or after the first operand when
	                         stop_at_operand is set */
	int stop_at_operand;  /* `muppy run CMD -v`: -v belongs to CMD */
};

/* Starts parsing argv[1..argc-1] (argv[0] is the command's name). */
void util_parser_init(struct util_parser *p, int argc, char **argv,
		      const struct util_opt *opts, const char *synopsis);

/* The next option or operand: returns an option's id (its value, if any,
 * in *value), UTIL_OPT_OPERAND (the operand in *value), UTIL_OPT_HELP,
 * UTIL_OPT_END, or UTIL_OPT_ERROR (message printed: exit with
 * MUPPY_EXIT_USAGE).  *value is borrowed from argv. */
int util_next(struct util_parser *p, const char **value);

/* Index of the first argument not yet consumed (for `run`'s CMD). */
int util_rest(const struct util_parser *p);

/*
 * Value parsers.  Each returns 0 and stores the value, or prints a usage
 * error naming the option and returns MUPPY_EXIT_USAGE.
 */

/* A decimal integer in [min, max]. */
int util_parse_int(const char *opt, const char *s, int64_t min, int64_t max,
		   const char *synopsis, int64_t *out);

/* A size in bytes: a decimal integer with an optional binary suffix
 * k/K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB (powers of 1024). >= 0. */
int util_parse_size(const char *opt, const char *s, const char *synopsis,
		    int64_t *out);

/* Seconds: a non-negative decimal number ("2", "0.5", "1e-1" is refused). */
int util_parse_seconds(const char *opt, const char *s, const char *synopsis,
		       double *out);

/* One of the formats in allowed (a mask of enum util_format). */
int util_parse_format(const char *s, unsigned allowed, const char *synopsis,
		      enum util_format *out);

/*
 * DECLARED OPTIONS (git's parse-options, in small)
 *
 * A command declares what it accepts, each option with its kind and
 * where its value goes, and util_parse_command does the rest: values
 * checked and stored, operands collected and counted, -h/--help answered,
 * every error one usage message.  Defaults are whatever the destinations
 * hold before the call.
 *
 *	struct top_args a = { .limit = TOP_LIMIT, .format = UTIL_FORMAT_TEXT };
 *	const struct util_option opts[] = {
 *		UTIL_OPT_UINT("limit", 'n', &a.limit, 0, INT64_MAX),
 *		UTIL_OPT_SET("by-type", 0, &a.by_type, 1),
 *		UTIL_OPT_FORMAT(&a.format, UTIL_FORMAT_TEXT | UTIL_FORMAT_JSON),
 *		UTIL_OPTIONS_END,
 *	};
 *	const struct util_command c = { MUPPY_USAGE_TOP, top_help, opts,
 *		&a.file, 1, 1, "a dump file is needed", NULL, NULL };
 *	if (!util_parse_command(&c, argc, argv, &status))
 *		return status;
 *
 * The macros check the destination's type (a wrong one does not build).
 */
enum util_arg_kind {
	UTIL_ARG_NONE = 0,   /* the end of a table */
	UTIL_ARG_SET,    /* no value: stores the option's number (int) */
	UTIL_ARG_STRING,     /* const char *, borrowed from argv */
	UTIL_ARG_UINT,       /* uint64_t, a decimal integer in [min, max] */
	UTIL_ARG_INT,        /* int64_t, a decimal integer in [min, max] */
	UTIL_ARG_SIZE,       /* int64_t, bytes with an optional suffix */
	UTIL_ARG_SECONDS,    /* double, seconds */
	UTIL_ARG_FORMAT,     /* enum util_format, one of the mask */
	UTIL_ARG_CHOICE,     /* int, the value of one of the choices */
};

/* One accepted word of a UTIL_ARG_CHOICE option.  Aliases are accepted
 * but not listed in the error message. */
struct util_choice {
	const char *name;    /* NULL ends the list */
	int value;
	int alias;
};

struct util_option {
	const char *name;    /* long name without "--"; NULL ends the table */
	char short_name;     /* 0: none */
	enum util_arg_kind kind;
	void *dest;
	int64_t min, max;    /* INT/UINT bounds; SET: min is what is stored */
	unsigned formats;    /* FORMAT: mask of enum util_format */
	const struct util_choice *choices;  /* CHOICE */
};

/* A number's text, for defaults in help texts: UTIL_STR(TOP_LIMIT). */
#define UTIL_STR(x) UTIL_STR_(x)
#define UTIL_STR_(x) #x

/* (d) when it has type T *, a build error otherwise. */
#define UTIL_TYPED(T, d) (1 ? (d) : (T *)0)

#define UTIL_OPT_SET(name, s, d, v) \
	{ (name), (s), UTIL_ARG_SET, UTIL_TYPED(int, d), (v), 0, 0, NULL }
#define UTIL_OPT_STRING(name, s, d) \
	{ (name), (s), UTIL_ARG_STRING, UTIL_TYPED(const char *, d), 0, 0, 0, \
	  NULL }
#define UTIL_OPT_UINT(name, s, d, lo, hi) \
	{ (name), (s), UTIL_ARG_UINT, UTIL_TYPED(uint64_t, d), (lo), (hi), 0, \
	  NULL }
#define UTIL_OPT_INT(name, s, d, lo, hi) \
	{ (name), (s), UTIL_ARG_INT, UTIL_TYPED(int64_t, d), (lo), (hi), 0, \
	  NULL }
#define UTIL_OPT_SIZE(name, s, d) \
	{ (name), (s), UTIL_ARG_SIZE, UTIL_TYPED(int64_t, d), 0, 0, 0, NULL }
#define UTIL_OPT_SECONDS(name, s, d) \
	{ (name), (s), UTIL_ARG_SECONDS, UTIL_TYPED(double, d), 0, 0, 0, NULL }
#define UTIL_OPT_FORMAT(d, mask) \
	{ "format", 'f', UTIL_ARG_FORMAT, UTIL_TYPED(enum util_format, d), 0, \
	  0, (mask), NULL }
#define UTIL_OPT_CHOICE(name, s, d, list) \
	{ (name), (s), UTIL_ARG_CHOICE, UTIL_TYPED(int, d), 0, 0, 0, (list) }
#define UTIL_OPTIONS_END { NULL, 0, UTIL_ARG_NONE, NULL, 0, 0, 0, NULL }

/* What a command accepts: its options and its operands. */
struct util_command {
	const char *synopsis;        /* MUPPY_USAGE_<NAME> */
	const char *help;            /* the full --help text */
	const struct util_option *opts;
	const char **operands;       /* room for max_operands */
	size_t min_operands, max_operands;
	const char *missing;         /* the error when fewer than min */
	const char *too_many;        /* the error when more than max; NULL:
	                                "unexpected argument 'X'" */
	size_t *noperands;           /* how many there were; may be NULL */
};

/* Parses argv[1..argc-1] as c declares.  Returns 1 when the command goes
 * on; 0 when it must return *status at once: 0 after printing the help
 * on stdout, MUPPY_EXIT_USAGE after a usage error on stderr (or
 * MUPPY_EXIT_FAILURE if the help could not be written). */
int util_parse_command(const struct util_command *c, int argc, char **argv,
		       int *status);

/* The arguments of the commands over a series of dumps (leaks, track):
 * D1 D2 [... Dn] [--limit N] [--format text|json|csv]. */
struct util_series {
	const char **files;   /* room for argc names; borrowed from argv */
	int nfiles;           /* >= 2 after a successful parse */
	uint64_t limit;       /* the caller's default before the call */
	enum util_format format;
};

/* Parses argv into *a (files allocated by the caller, limit preset) as
 * util_parse_command does; at most max dumps (too_many: the error past
 * it, NULL for "unexpected argument"). */
int util_parse_series(int argc, char **argv, const char *synopsis,
		      const char *help, size_t max, const char *too_many,
		      struct util_series *a, int *status);

/*
 * Reads the dump at path (what: FMT_READ_ALL or FMT_READ_SUMMARY) into *d.
 * On failure prints exactly one line, "muppy: error: PATH: <reason>", and
 * returns the exit status: MUPPY_EXIT_USAGE for input that is not a valid
 * dump or cannot be opened as one (missing, a directory, no permission),
 * MUPPY_EXIT_FAILURE for out-of-memory and other I/O errors.  Returns 0 on
 * success; the caller then owns *d (fmt_dump_free).  A read that takes over
 * MUPPY_PROGRESS_DELAY seconds (default 1) shows its progress on stderr
 * when stderr is a terminal: "muppy: reading PATH: N%", then ", done.".
 */
int util_read_dump(const char *path, enum fmt_read_what what,
		   struct fmt_dump *d);

/* fflush(stdout) and report a write error (a full disk, a closed pipe) as
 * a runtime failure.  Returns status unchanged when all went out, else
 * MUPPY_EXIT_FAILURE (message printed). */
int util_finish_stdout(int status);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_UTIL_H */
