/*
 * cmd_browse.c - `muppy browse DUMP [ADDRESS | --type T] [OLDER_DUMP...]`:
 * the dump, full-screen on the terminal (tools/browse_tui.c), its pages
 * made by tools/browse.c.  This file loads what the pages need (browse.h
 * design note 1) and runs either the terminal or, with --batch, a list
 * of keys without one (for scripts, tests and the benchmark: the last
 * screen on stdout, with --timings the time each key took on stderr).
 *
 * Older dumps (of the same process) may come in any order: they are put
 * oldest first by the time in their META, the order given breaking ties,
 * and a file given twice (the browsed dump in a glob of all) counts once.
 */
#include <inttypes.h> /* PRIu64 */
#include <stdio.h>    /* printf, fprintf */
#include <stdlib.h>   /* malloc, calloc, free, qsort, strtod */
#include <string.h>   /* strcmp, strncmp, strlen */
#include <sys/stat.h> /* stat */
#include <unistd.h>   /* isatty */

#include "common/clock.h"      /* muppy_now_ns */
#include "tools/browse.h"      /* struct br, br_* */
#include "tools/browse_tui.h"  /* br_tui_run */
#include "tools/dominators.h"  /* dom_compute */
#include "tools/graph.h"       /* graph_* */
#include "tools/leaks.h"       /* leaks_mark, leaks_find */
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

/* ---- older dumps ------------------------------------------------------ */

struct older {
	const char *path;
	double time;
	size_t given;
};

static int
older_cmp(const void *pa, const void *pb)
{
	const struct older *a = pa, *b = pb;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return (a->given > b->given) - (a->given < b->given);
}

static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static const struct fmt_dump *names_d;

static int
row_name_cmp(const void *pa, const void *pb)
{
	return strcmp(fmt_str(names_d, names_d->summary[*(const uint32_t *)pa]
			      .name),
		      fmt_str(names_d, names_d->summary[*(const uint32_t *)pb]
			      .name));
}

/* grow[k] for each summary row k of d: count and size minus the oldest
 * dump's row of the same name (0 there when it has none). */
static int
growth(const struct fmt_dump *d, const struct fmt_dump *old, int64_t *gc,
       int64_t *gs)
{
	uint32_t *by = malloc((old->nsummary ? old->nsummary : 1) * sizeof *by);

	if (!by)
		return -1;
	for (uint32_t k = 0; k < old->nsummary; k++)
		by[k] = k;
	names_d = old;
	if (old->nsummary)
		qsort(by, old->nsummary, sizeof *by, row_name_cmp);
	for (uint32_t k = 0; k < d->nsummary; k++) {
		const char *name = fmt_str(d, d->summary[k].name);
		uint32_t lo = 0, hi = old->nsummary;
		gc[k] = (int64_t)d->summary[k].count;
		gs[k] = (int64_t)d->summary[k].size;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			int c = strcmp(fmt_str(old, old->summary[by[mid]].name),
				       name);
			if (c == 0) {
				gc[k] -= (int64_t)old->summary[by[mid]].count;
				gs[k] -= (int64_t)old->summary[by[mid]].size;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	free(by);
	return 0;
}

/*
 * Orders the older dumps a->files[1..] oldest first into series[0..*n)
 * (the browsed dump last), dropping copies of the browsed dump, and
 * fills the growth of d's summary rows against the oldest.  0 or an exit
 * status (message printed).
 */
static int
order_older(const struct browse_args *a, const struct fmt_dump *d,
	    const char **series, int *n, int64_t *gc, int64_t *gs)
{
	struct older *o = calloc(a->nfiles, sizeof *o);
	size_t k = 0;
	int rc = 0;

	if (!o)
		return util_error("out of memory");
	for (size_t i = 1; i < a->nfiles; i++) {
		struct fmt_dump od;
		const char *t;

		if (same_file(a->files[i], a->files[0]))
			continue;
		rc = util_read_dump(a->files[i], FMT_READ_SUMMARY, &od);
		if (rc)
			goto out;
		t = fmt_meta_get(&od, "time");
		o[k].path = a->files[i];
		o[k].time = t ? strtod(t, NULL) : 0;
		o[k].given = i;
		k++;
		fmt_dump_free(&od);
	}
	if (k)
		qsort(o, k, sizeof *o, older_cmp);
	for (size_t i = 0; i < k; i++)
		series[i] = o[i].path;
	series[k] = a->files[0];
	*n = (int)k + 1;
	if (k) {
		struct fmt_dump od;
		rc = util_read_dump(o[0].path, FMT_READ_SUMMARY, &od);
		if (!rc) {
			if (growth(d, &od, gc, gs) != 0)
				rc = util_error("out of memory");
			fmt_dump_free(&od);
		}
	}
out:
	free(o);
	return rc;
}

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

/* The start object: a second operand that is an address, not a file. */
static uint32_t
start_object(struct browse_args *a, const struct fmt_dump *d, int *rc)
{
	uint64_t addr;
	struct stat st;
	int64_t i;

	*rc = 0;
	if (a->nfiles < 2 || graph_parse_address(a->files[1], &addr) != 0 ||
	    stat(a->files[1], &st) == 0)
		return BR_NONE;
	i = fmt_find_object(d, addr);
	if (i < 0) {
		*rc = util_usage_error(MUPPY_USAGE_BROWSE, "%s has no object "
				       "at %s", a->files[0], a->files[1]);
		return BR_NONE;
	}
	a->files[1] = a->files[0];   /* the operand is no older dump */
	a->files++;
	a->nfiles--;
	return (uint32_t)i;
}

struct loaded {
	struct fmt_dump d;
	struct graph g;
	struct graph_paths p;
	struct dom_tree dom;
	struct leaks_report leaks;
	int64_t *gc, *gs;
	const char **series;
	int have_d, have_g, have_leaks;
};

static void
unload(struct loaded *l)
{
	if (l->have_leaks)
		leaks_report_free(&l->leaks);
	dom_free(&l->dom);
	if (l->have_g)
		graph_free(&l->g);
	if (l->have_d)
		fmt_dump_free(&l->d);
	free(l->gc);
	free(l->gs);
	free(l->series);
}

/* Everything browse.h note 1 wants before the first screen. */
static int
load(struct browse_args *a, struct loaded *l, uint32_t *start)
{
	struct util_series s = {0};
	struct leaks_marks *m = NULL;
	int rc;

	if ((rc = graph_read_dump(a->files[0], &l->d)))
		return rc;
	l->have_d = 1;
	*start = start_object(a, &l->d, &rc);
	if (rc)
		return rc;
	l->series = calloc(a->nfiles + 1, sizeof *l->series);
	l->gc = calloc(l->d.nsummary + 1, sizeof *l->gc);
	l->gs = calloc(l->d.nsummary + 1, sizeof *l->gs);
	if (!l->series || !l->gc || !l->gs)
		return util_error("out of memory");
	s.files = l->series;
	if ((rc = order_older(a, &l->d, l->series, &s.nfiles, l->gc, l->gs)))
		return rc;
	if (s.nfiles > 1 && (rc = leaks_mark(&s, &l->d, &m)))
		return rc;
	if (graph_build(&l->g, &l->d) != 0) {
		leaks_marks_free(m);
		return util_error("%s: cannot index the object graph (out of "
				  "memory or inconsistent)", a->files[0]);
	}
	l->have_g = 1;
	if (graph_paths_compute(&l->g, &l->p) != 0 ||
	    dom_compute(&l->g, &l->dom) != 0) {
		leaks_marks_free(m);
		return util_error("out of memory");
	}
	if (m) {
		rc = leaks_find(&s, m, &l->g, &l->p, &l->leaks);
		leaks_marks_free(m);
		if (rc)
			return rc;
		l->have_leaks = 1;
	}
	return 0;
}

static int
browse(struct browse_args *a, int rows, int cols)
{
	uint64_t t0 = muppy_now_ns(CLOCK_MONOTONIC);
	struct loaded l = {0};
	struct br b = {0};
	uint32_t start = BR_NONE;
	uint8_t *ok = NULL;
	int rc = load(a, &l, &start);

	if (rc)
		goto out;
	b.d = &l.d;
	b.g = &l.g;
	b.dom = &l.dom;
	b.leaks = l.have_leaks ? &l.leaks : NULL;
	b.grow_count = a->nfiles > 1 && l.series[0] != a->files[0] ? l.gc :
		       NULL;
	b.grow_size = b.grow_count ? l.gs : NULL;
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
	unload(&l);
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
