/*
 * util.c - messages, the option parser, value parsers and dump opening
 * shared by the muppy subcommands (contracts in tools/util.h).
 *
 * Why our own option parser rather than getopt_long: getopt keeps global
 * state (optind) and permutes argv, and prints its own messages; commands
 * here run in-process many times in the unit tests and must print exactly
 * the project's "muppy: error: ..." lines.  The grammar is small: long
 * options with or without "=", a few one-letter forms, "--".
 */
#include <ctype.h>    /* isdigit, toupper */
#include <errno.h>    /* errno, ENOENT... */
#include <stdarg.h>   /* va_list */
#include <stdio.h>    /* fprintf, vfprintf, stdout, stderr */
#include <stdlib.h>   /* strtoll, strtod */
#include <string.h>   /* strcmp, strncmp, strchr, strlen, strerror */
#include <strings.h>  /* strcasecmp */

#include "tools/util.h"

int
util_error(const char *fmt, ...)
{
	va_list ap;

	fputs("muppy: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return MUPPY_EXIT_FAILURE;
}

void
util_warning(const char *fmt, ...)
{
	va_list ap;

	fputs("muppy: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
util_usage_error(const char *synopsis, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("muppy: error: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (synopsis)
		fprintf(stderr, "usage: %s\n", synopsis);
	fputs("see 'muppy --help'\n", stderr);
	return MUPPY_EXIT_USAGE;
}

int
util_help(const char *text)
{
	fputs(text, stdout);
	return MUPPY_EXIT_OK;
}

/* ---- the option parser ---------------------------------------------- */

void
util_parser_init(struct util_parser *p, int argc, char **argv,
		 const struct util_opt *opts, const char *synopsis)
{
	memset(p, 0, sizeof *p);
	p->argc = argc;
	p->argv = argv;
	p->i = 1;
	p->opts = opts;
	p->synopsis = synopsis;
}

static const struct util_opt *
find_long(const struct util_opt *opts, const char *name, size_t len)
{
	for (; opts && opts->name; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

static const struct util_opt *
find_short(const struct util_opt *opts, char c)
{
	for (; opts && opts->name; opts++)
		if (opts->short_name && opts->short_name == c)
			return opts;
	return NULL;
}

/* Takes an option's value: the text after "=" or the next argument. */
static int
take_value(struct util_parser *p, const struct util_opt *o, const char *eq,
	   const char *shown, const char **value)
{
	if (!o->has_arg) {
		if (eq)
			return util_usage_error(p->synopsis, "option '%s' "
						"takes no value", shown),
			       UTIL_OPT_ERROR;
		*value = NULL;
		return o->id;
	}
	if (eq) {
		*value = eq + 1;
		return o->id;
	}
	if (p->i >= p->argc)
		return util_usage_error(p->synopsis, "option '%s' needs a "
					"value", shown), UTIL_OPT_ERROR;
	*value = p->argv[p->i++];
	return o->id;
}

static int
parse_long(struct util_parser *p, const char *arg, const char **value)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct util_opt *o;

	if (len == 4 && strncmp(name, "help", 4) == 0 && !eq)
		return UTIL_OPT_HELP;
	o = find_long(p->opts, name, len);
	if (!o)
		return util_usage_error(p->synopsis, "unknown option '--%.*s'",
					(int)len, name), UTIL_OPT_ERROR;
	return take_value(p, o, eq, arg, value);
}

static int
parse_short(struct util_parser *p, const char *arg, const char **value)
{
	const struct util_opt *o;

	if (strcmp(arg, "-h") == 0)
		return UTIL_OPT_HELP;
	o = arg[2] == '\0' ? find_short(p->opts, arg[1]) : NULL;
	if (!o)
		return util_usage_error(p->synopsis, "unknown option '%s'",
					arg), UTIL_OPT_ERROR;
	return take_value(p, o, NULL, arg, value);
}

int
util_next(struct util_parser *p, const char **value)
{
	const char *arg;

	*value = NULL;
	if (p->i >= p->argc)
		return UTIL_OPT_END;
	arg = p->argv[p->i++];
	if (!p->operands_only && strcmp(arg, "--") == 0) {
		p->operands_only = 1;
		return util_next(p, value);
	}
	/* "-" alone (stdin, by convention) and "-5" are operands. */
	if (p->operands_only || arg[0] != '-' || arg[1] == '\0' ||
	    isdigit((unsigned char)arg[1])) {
		if (p->stop_at_operand)
			p->operands_only = 1;
		*value = arg;
		return UTIL_OPT_OPERAND;
	}
	if (arg[1] == '-')
		return parse_long(p, arg, value);
	return parse_short(p, arg, value);
}

int
util_rest(const struct util_parser *p)
{
	return p->i;
}

/* ---- value parsers -------------------------------------------------- */

/* Parses a plain decimal integer; 0 on success. */
static int
parse_decimal(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_int(const char *opt, const char *s, int64_t min, int64_t max,
	       const char *synopsis, int64_t *out)
{
	int64_t v;

	if (parse_decimal(s, &v) != 0 || v < min || v > max)
		return util_usage_error(synopsis, "%s: '%s' is not an integer "
					"from %lld to %lld", opt, s,
					(long long)min, (long long)max);
	*out = v;
	return 0;
}

/* Multiplier of a size suffix ("" -> 1), 0 if unknown. */
static int64_t
size_suffix(const char *suf)
{
	static const struct {
		const char *names[3];
		int64_t mult;
	} units[] = {
		{{"k", "KB", "KiB"}, 1024LL},
		{{"M", "MB", "MiB"}, 1024LL * 1024},
		{{"G", "GB", "GiB"}, 1024LL * 1024 * 1024},
		{{"T", "TB", "TiB"}, 1024LL * 1024 * 1024 * 1024},
	};

	if (!*suf || strcmp(suf, "B") == 0)
		return 1;
	if (strcmp(suf, "K") == 0)
		return 1024;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		for (int j = 0; j < 3; j++)
			if (strcmp(suf, units[i].names[j]) == 0)
				return units[i].mult;
	return 0;
}

int
util_parse_size(const char *opt, const char *s, const char *synopsis,
		int64_t *out)
{
	char *end;
	long long v;
	int64_t mult;

	if (!isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		goto bad;
	mult = size_suffix(end);
	if (!mult || v > INT64_MAX / mult)
		goto bad;
	*out = (int64_t)v * mult;
	return 0;
bad:
	return util_usage_error(synopsis, "%s: '%s' is not a size in bytes "
				"(e.g. 4096, 64K, 2MiB)", opt, s);
}

int
util_parse_seconds(const char *opt, const char *s, const char *synopsis,
		   double *out)
{
	const char *c = s;
	char *end;
	int digits = 0, dots = 0;
	double v;

	for (; *c; c++) {
		if (isdigit((unsigned char)*c))
			digits++;
		else if (*c == '.' && !dots)
			dots++;
		else
			goto bad;
	}
	if (!digits)
		goto bad;
	v = strtod(s, &end);
	if (*end || v > 1e9)
		goto bad;
	*out = v;
	return 0;
bad:
	return util_usage_error(synopsis, "%s: '%s' is not a number of "
				"seconds (e.g. 30, 0.5)", opt, s);
}

int
util_parse_format(const char *s, unsigned allowed, const char *synopsis,
		  enum util_format *out)
{
	static const struct {
		const char *name;
		enum util_format f;
	} names[] = {
		{"text", UTIL_FORMAT_TEXT}, {"json", UTIL_FORMAT_JSON},
		{"csv", UTIL_FORMAT_CSV}, {"dot", UTIL_FORMAT_DOT},
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if ((allowed & names[i].f) && strcmp(s, names[i].name) == 0) {
			*out = names[i].f;
			return 0;
		}
	return util_usage_error(synopsis, "--format: '%s' is not one of the "
				"formats this command writes", s);
}

/* ---- dumps and stdout ----------------------------------------------- */

/* Whether an open/read errno means "this path is not a readable dump"
 * (bad input, exit 2) rather than the machine failing us (exit 1). */
static int
errno_is_bad_input(int e)
{
	return e == ENOENT || e == ENOTDIR || e == EISDIR || e == EACCES ||
	       e == EPERM || e == ELOOP || e == ENAMETOOLONG || e == ENXIO ||
	       e == EINVAL;
}

int
util_read_dump(const char *path, enum fmt_read_what what,
	       struct fmt_dump *d)
{
	char err[512];
	int rc;

	errno = 0;
	rc = fmt_read_file(path, what, d, err, sizeof err);
	if (rc == 0)
		return MUPPY_EXIT_OK;
	if (!err[0])
		snprintf(err, sizeof err, "%s", fmt_strerror(rc));
	fprintf(stderr, "muppy: error: %s: %s\n", path, err);
	if (rc == MUPPY_ENOMEM)
		return MUPPY_EXIT_FAILURE;
	if (rc == MUPPY_EIO && !errno_is_bad_input(errno))
		return MUPPY_EXIT_FAILURE;
	return MUPPY_EXIT_USAGE;
}

int
util_finish_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = errno;
		clearerr(stdout);
		util_error("cannot write the output: %s", strerror(e));
		return MUPPY_EXIT_FAILURE;
	}
	return status;
}
