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
#include <time.h>     /* clock_gettime */
#include <unistd.h>   /* isatty */

#include "tools/util.h"

/* "muppy: KIND: message" on stderr. */
static void
util_vmessage(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "muppy: %s: ", kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
util_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_vmessage("error", fmt, ap);
	va_end(ap);
	return MUPPY_EXIT_FAILURE;
}

void
util_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_vmessage("warning", fmt, ap);
	va_end(ap);
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

/* ---- declared options ----------------------------------------------- */

/* "--sort: 'x' is not one of a, b, c" (or "is not a or b"). */
static int
choice_error(const char *syn, const char *name, const char *v,
	     const struct util_choice *list)
{
	char words[256] = "";
	size_t n = 0, k = 0, len = 0;

	for (const struct util_choice *c = list; c->name; c++)
		n += !c->alias;
	for (const struct util_choice *c = list; c->name && len < sizeof words;
	     c++) {
		if (c->alias)
			continue;
		len += (size_t)snprintf(words + len, sizeof words - len, "%s%s",
					k == 0 ? "" : n == 2 ? " or " : ", ",
					c->name);
		k++;
	}
	return util_usage_error(syn, "--%s: '%s' is not %s%s", name, v,
				n == 2 ? "" : "one of ", words);
}

/* Stores option o's value v (NULL for SET); 0 or a usage error status. */
static int
store_option(const struct util_option *o, const char *v, const char *syn)
{
	char shown[64];
	int64_t n;
	int rc;

	snprintf(shown, sizeof shown, "--%s", o->name);
	switch (o->kind) {
	case UTIL_ARG_NONE:
		return 0;
	case UTIL_ARG_SET:
		*(int *)o->dest = (int)o->min;
		return 0;
	case UTIL_ARG_STRING:
		*(const char **)o->dest = v;
		return 0;
	case UTIL_ARG_UINT:
		if ((rc = util_parse_int(shown, v, o->min, o->max, syn, &n)))
			return rc;
		*(uint64_t *)o->dest = (uint64_t)n;
		return 0;
	case UTIL_ARG_INT:
		return util_parse_int(shown, v, o->min, o->max, syn, o->dest);
	case UTIL_ARG_SIZE:
		return util_parse_size(shown, v, syn, o->dest);
	case UTIL_ARG_SECONDS:
		return util_parse_seconds(shown, v, syn, o->dest);
	case UTIL_ARG_FORMAT:
		return util_parse_format(v, o->formats, syn, o->dest);
	case UTIL_ARG_CHOICE:
		for (const struct util_choice *c = o->choices; c->name; c++)
			if (strcmp(c->name, v) == 0) {
				*(int *)o->dest = c->value;
				return 0;
			}
		return choice_error(syn, o->name, v, o->choices);
	}
	return 0;
}

/* The most options one command declares. */
#define UTIL_MAX_OPTIONS 32

/* Fills t (UTIL_MAX_OPTIONS + 1 entries) with the parser's view of opts:
 * the ids are the positions + 1.  Returns 0, or -1 if there are too many
 * (a programming error). */
static int
parser_table(const struct util_option *opts, struct util_opt *t)
{
	size_t n = 0;

	for (; opts && opts[n].name; n++) {
		if (n == UTIL_MAX_OPTIONS)
			return -1;
		t[n].name = opts[n].name;
		t[n].short_name = opts[n].short_name;
		t[n].has_arg = opts[n].kind != UTIL_ARG_SET;
		t[n].id = (int)n + 1;
	}
	t[n] = (struct util_opt){ NULL, 0, 0, 0 };
	return 0;
}

static int
parse_declared(const struct util_command *c, struct util_parser *p,
	       int *status)
{
	const char *syn = c->synopsis, *v;
	size_t got = 0;
	int id;

	while ((id = util_next(p, &v)) != UTIL_OPT_END) {
		if (id == UTIL_OPT_HELP) {
			*status = util_finish_stdout(util_help(c->help));
			return 0;
		}
		if (id == UTIL_OPT_ERROR) {
			*status = MUPPY_EXIT_USAGE;
			return 0;
		}
		if (id != UTIL_OPT_OPERAND) {
			*status = store_option(&c->opts[id - 1], v, syn);
			if (*status)
				return 0;
			continue;
		}
		if (got == c->max_operands) {
			*status = c->too_many ?
				util_usage_error(syn, "%s", c->too_many) :
				util_usage_error(syn, "unexpected argument "
						 "'%s'", v);
			return 0;
		}
		c->operands[got++] = v;
	}
	if (c->noperands)
		*c->noperands = got;
	if (got < c->min_operands) {
		*status = util_usage_error(syn, "%s", c->missing);
		return 0;
	}
	return 1;
}

int
util_parse_command(const struct util_command *c, int argc, char **argv,
		   int *status)
{
	struct util_opt table[UTIL_MAX_OPTIONS + 1];
	struct util_parser p;

	*status = 0;
	if (parser_table(c->opts, table) != 0) {
		*status = util_error("%s: more than %d options", c->synopsis,
				     UTIL_MAX_OPTIONS);
		return 0;
	}
	util_parser_init(&p, argc, argv, table, c->synopsis);
	return parse_declared(c, &p, status);
}

int
util_parse_series(int argc, char **argv, const char *synopsis,
		  const char *help, size_t max, const char *too_many,
		  struct util_series *a, int *status)
{
	const struct util_option opts[] = {
		UTIL_OPT_UINT("limit", 'n', &a->limit, 0, INT64_MAX),
		UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT |
				UTIL_FORMAT_JSON | UTIL_FORMAT_CSV),
		UTIL_OPTIONS_END,
	};
	size_t n = 0;
	const struct util_command cmd = {
		synopsis, help, opts, a->files, 2, max,
		"at least two dumps are needed (oldest first)", too_many, &n,
	};
	int go;

	a->format = UTIL_FORMAT_TEXT;
	go = util_parse_command(&cmd, argc, argv, status);
	a->nfiles = (int)n;
	return go;
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

/*
 * Progress of a read, git's way: nothing unless stderr is a terminal and
 * the read has taken longer than MUPPY_PROGRESS_DELAY seconds (default 1),
 * then "muppy: reading PATH: N%" redrawn in place as N changes, ended by
 * ", done." and a newline.
 */
struct load_progress {
	const char *path;
	double start, delay;
	int shown;        /* a line is on the terminal */
	int pct;          /* last percentage drawn */
};

static double
now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
progress_delay(void)
{
	const char *v = getenv("MUPPY_PROGRESS_DELAY");
	char *end;
	double x;

	if (!v || !*v)
		return 1.0;
	x = strtod(v, &end);
	return *end || x != x || x < 0 ? 1.0 : x;
}

static void
load_progress_tick(void *ctx, uint64_t done, uint64_t total)
{
	struct load_progress *lp = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (pct == lp->pct)
		return;
	if (!lp->shown && now_seconds() - lp->start < lp->delay)
		return;
	lp->shown = 1;
	lp->pct = pct;
	fprintf(stderr, "muppy: reading %s: %3d%%\r", lp->path, pct);
	fflush(stderr);
}

/* Ends the progress line: ", done." on success, else a bare newline so
 * the error that follows starts a line of its own. */
static void
load_progress_end(const struct load_progress *lp, int ok)
{
	if (!lp->shown)
		return;
	if (ok)
		fprintf(stderr, "muppy: reading %s: 100%%, done.\n", lp->path);
	else
		fputc('\n', stderr);
}

int
util_read_dump(const char *path, enum fmt_read_what what,
	       struct fmt_dump *d)
{
	struct load_progress lp = { path, 0, 0, 0, -1 };
	struct fmt_progress prog = { load_progress_tick, &lp };
	char err[512];
	int rc, tty = isatty(STDERR_FILENO);

	if (tty) {
		lp.start = now_seconds();
		lp.delay = progress_delay();
	}
	errno = 0;
	rc = fmt_read_file_with(path, what, tty ? &prog : NULL, d, err,
				sizeof err);
	load_progress_end(&lp, rc == 0);
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
