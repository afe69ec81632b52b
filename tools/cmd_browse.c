/*
 * cmd_browse.c - `muppy browse DUMP [ADDRESS | --type T] [OLDER_DUMP...]`:
 * the dump, full-screen on the terminal (tools/browse_tui.c), its pages
 * made by tools/browse.c.  This file loads what the pages need (browse.h
 * design note 1) and runs either the terminal or, with --batch, a list
 * of keys without one (for scripts, tests and the benchmark: the last
 * screen on stdout, with --timings the time each key took on stderr).
 * Older dumps (of the same process) may come in any order (loaded.h).
 */
#include <inttypes.h> /* PRIu64 */
#include <stdio.h>    /* printf, fprintf */
#include <stdlib.h>   /* malloc, calloc, free */
#include <string.h>   /* memset, strncmp, strlen */
#include <sys/stat.h> /* stat */
#include <unistd.h>   /* isatty */

#include "common/clock.h"      /* muppy_now_ns */
#include "tools/browse.h"      /* struct br, br_* */
#include "tools/browse_tui.h"  /* br_tui_run */
#include "tools/graph.h"       /* graph_* */
#include "tools/loaded.h"      /* struct loaded, loaded_* */
#include "tools/muppy.h"       /* cmd_browse, MUPPY_USAGE_BROWSE */
#include "tools/util.h"        /* options, messages, exit statuses */

#define BROWSE_MAX_DUMPS 30000   /* leaks' bound */

static const char browse_help[] =
	"usage: " MUPPY_USAGE_BROWSE "\n"
	"\n"
	"Browses a dump full-screen: the per-type summary, the leak suspects,\n"
	"the dominator tree with retained sizes (opened level by level, as\n"
	"ncdu does), the referrers and referents of any object and the path\n"
	"from a root to it.  With older dumps of the same process (in any\n"
	"order) the summary shows the growth since the oldest, and the first\n"
	"page is the leak suspects (as `muppy leaks OLDEST ... DUMP`).  With an\n"
	"ADDRESS (0x... or a decimal id()) it opens on that object's\n"
	"referrers, with --type T on T's instances.  Press ? for the keys.\n"
	"\n"
	"  --type NAME      open on the instances of type NAME\n"
	"  --batch KEYS     no terminal: type KEYS, print the last screen;\n"
	"                   <Enter> <Left> <Right> <Up> <Down> <PgUp> <PgDn>\n"
	"                   <Home> <End> <Esc> <BS> name keys, <<> is '<'\n"
	"  --size RxC       --batch's screen (default 24x80)\n"
	"  --timings        --batch: the load time and each key's on stderr\n"
	"  -h, --help       this help\n";

struct browse_args {
	const char **files;   /* DUMP, then the others */
	size_t nfiles;
	const char *type;
	const char *batch;
	const char *size;
	int timings;
};

/* ---- batch keys ------------------------------------------------------- */

static const struct {
	const char *name;
	int key;
} key_names[] = {
	{"<Enter>", BR_KEY_ENTER}, {"<Left>", BR_KEY_LEFT},
	{"<Right>", BR_KEY_RIGHT}, {"<Up>", BR_KEY_UP},
	{"<Down>", BR_KEY_DOWN}, {"<PgUp>", BR_KEY_PGUP},
	{"<PgDn>", BR_KEY_PGDN}, {"<Home>", BR_KEY_HOME},
	{"<End>", BR_KEY_END}, {"<Esc>", BR_KEY_ESC},
	{"<BS>", BR_KEY_BACKSPACE}, {"<<>", '<'},
};

/* The next key of *s (advanced past it), 0 at the end. */
static int
next_batch_key(const char **s)
{
	if (!**s)
		return 0;
	for (size_t k = 0; k < sizeof key_names / sizeof key_names[0]; k++) {
		size_t n = strlen(key_names[k].name);
		if (strncmp(*s, key_names[k].name, n) == 0) {
			*s += n;
			return key_names[k].key;
		}
	}
	return (unsigned char)*(*s)++;
}

static int
print_screen(struct br *b)
{
	struct br_screen s = {0};

	if (br_render(b, &s) != 0)
		return util_error("out of memory");
	for (int y = 0; y < s.rows; y++) {
		/* Trailing blanks are the screen's, not the text's. */
		const char *l = text_cstr(&s.line[y]);
		size_t n = strlen(l);
		while (n && l[n - 1] == ' ')
			n--;
		printf("%.*s\n", (int)n, l);
	}
	br_screen_free(&s);
	return 0;
}

static int
run_batch(struct br *b, const struct browse_args *a, uint64_t t0)
{
	struct br_screen s = {0};
	const char *k = a->batch;
	uint64_t worst = 0, total = 0, first;
	int key, nkeys = 0;

	if (br_render(b, &s) != 0)   /* the first screen, as on a terminal */
		return util_error("out of memory");
	first = muppy_now_ns(CLOCK_MONOTONIC) - t0;
	while (!b->quit && (key = next_batch_key(&k)) != 0) {
		uint64_t t = muppy_now_ns(CLOCK_MONOTONIC);
		br_key(b, key);
		if (br_render(b, &s) != 0) {
			br_screen_free(&s);
			return util_error("out of memory");
		}
		t = muppy_now_ns(CLOCK_MONOTONIC) - t;
		total += t;
		if (t > worst)
			worst = t;
		nkeys++;
	}
	br_screen_free(&s);
	if (a->timings)
		fprintf(stderr, "browse: first screen %.1f ms, %d keys, mean "
			"%.2f ms, slowest %.2f ms\n", first / 1e6, nkeys,
			nkeys ? total / 1e6 / nkeys : 0.0, worst / 1e6);
	return print_screen(b);
}

/* ---- the command ------------------------------------------------------- */

static int
parse_size(const char *s, int *rows, int *cols)
{
	char tail;

	return s && (sscanf(s, "%dx%d%c", rows, cols, &tail) != 2 ||
		     *rows < 3 || *cols < 20 || *rows > 1000 ||
		     *cols > 1000) ? -1 : 0;
}

/* The start object: a second operand that is an address, not a file
 * (taken out of the older dumps; found once the dump is loaded). */
static const char *
start_operand(struct browse_args *a)
{
	uint64_t addr;
	struct stat st;
	const char *op;

	if (a->nfiles < 2 || graph_parse_address(a->files[1], &addr) != 0 ||
	    stat(a->files[1], &st) == 0)
		return NULL;
	op = a->files[1];
	a->files[1] = a->files[0];   /* the operand is no older dump */
	a->files++;
	a->nfiles--;
	return op;
}

static uint32_t
start_object(const struct browse_args *a, const struct fmt_dump *d,
	     const char *op, int *rc)
{
	uint64_t addr;
	int64_t i;

	*rc = 0;
	if (!op)
		return BR_NONE;
	graph_parse_address(op, &addr);
	i = fmt_find_object(d, addr);
	if (i < 0) {
		*rc = util_usage_error(MUPPY_USAGE_BROWSE, "%s has no object "
				       "at %s", a->files[0], op);
		return BR_NONE;
	}
	return (uint32_t)i;
}

static int
browse(struct browse_args *a, int rows, int cols)
{
	uint64_t t0 = muppy_now_ns(CLOCK_MONOTONIC);
	struct loaded l = {0};
	struct br b = {0};
	const char *op = start_operand(a);
	uint32_t start = BR_NONE;
	uint8_t *ok = NULL;
	int rc = loaded_open(&l, a->files[0], a->files + 1, a->nfiles - 1);

	if (!rc)
		start = start_object(a, &l.d, op, &rc);
	if (rc)
		goto out;
	b.d = &l.d;
	b.g = &l.g;
	b.dom = &l.dom;
	b.leaks = l.have_leaks ? &l.leaks : NULL;
	b.grow_count = l.grow_count;
	b.grow_size = l.grow_size;
	b.path = a->files[0];
	b.paths = l.p;          /* the browser owns the paths from here */
	b.have_paths = 1;
	memset(&l.p, 0, sizeof l.p);
	if (br_open(&b, rows, cols, start) != 0) {
		rc = util_error("out of memory");
		goto out;
	}
	if (a->type) {
		ok = calloc(l.d.ntypes ? l.d.ntypes : 1, 1);
		if (!ok) {
			rc = util_error("out of memory");
			goto out;
		}
		int64_t n = graph_types_named(&l.d, a->files[0], a->type, ok);
		if (n == 0)
			util_error("%s has no type named '%s'", a->files[0],
				   a->type);
		if (n <= 0) {
			rc = MUPPY_EXIT_USAGE;
			goto out;
		}
		if (br_open_types(&b, ok, a->type) != 0) {
			rc = util_error("out of memory");
			goto out;
		}
	}
	if (a->batch)
		rc = run_batch(&b, a, t0);
	else
		rc = br_tui_run(&b) ? MUPPY_EXIT_FAILURE : 0;
out:
	free(ok);
	br_close(&b);
	loaded_close(&l);
	return rc;
}

int
cmd_browse(int argc, char **argv)
{
	struct browse_args a = {0};
	int rows = 24, cols = 80, rc;
	const struct util_option opts[] = {
		UTIL_OPT_STRING("type", 0, &a.type),
		UTIL_OPT_STRING("batch", 0, &a.batch),
		UTIL_OPT_STRING("size", 0, &a.size),
		UTIL_OPT_SET("timings", 0, &a.timings, 1),
		UTIL_OPTIONS_END,
	};
	const char **files = malloc(((size_t)argc + 1) * sizeof *files);
	const struct util_command c = { MUPPY_USAGE_BROWSE, browse_help, opts,
		files, 1, BROWSE_MAX_DUMPS, "a dump file is needed",
		"too many dumps", &a.nfiles };

	if (!files)
		return util_error("out of memory");
	a.files = files;
	if (!util_parse_command(&c, argc, argv, &rc))
		goto out;
	if (parse_size(a.size, &rows, &cols) != 0) {
		rc = util_usage_error(MUPPY_USAGE_BROWSE, "--size wants ROWSxCOLS"
				      " (at least 3x20), not '%s'", a.size);
		goto out;
	}
	if ((a.size || a.timings) && !a.batch) {
		rc = util_usage_error(MUPPY_USAGE_BROWSE, "--size and --timings"
				      " are for --batch");
		goto out;
	}
	if (!a.batch && (!isatty(0) || !isatty(1))) {
		rc = util_usage_error(MUPPY_USAGE_BROWSE, "browse needs a "
				      "terminal (or --batch KEYS; `muppy "
				      "report` writes a file)");
		goto out;
	}
	rc = util_finish_stdout(browse(&a, rows, cols));
out:
	free(files);
	return rc;
}
