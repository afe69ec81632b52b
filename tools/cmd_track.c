/*
 * cmd_track.c - `muppy track D1 ... Dn`: Pympler's SummaryTracker over a
 * series of dumps.  For each interval the summary diff (as `muppy diff`
 * prints it: NEW minus OLD per row name, unchanged rows dropped, Pympler's
 * table), then the leak suspects: row names whose count or size grew in
 * at least half of the intervals and that grew overall (last minus
 * first > 0 in count or size), ranked by overall size growth, with the
 * count growth of every interval.
 *
 * Only the SUMMARY sections are decoded (FMT_READ_SUMMARY), so it works
 * on summary-mode dumps too and costs one inflate pass per dump.  The
 * rows of all dumps are merged by name once (one sort), into a matrix of
 * names x dumps.
 */
#include <inttypes.h> /* PRId64 */
#include <stdint.h>   /* SIZE_MAX */
#include <stdio.h>    /* printf */
#include <stdlib.h>   /* malloc, calloc, free, qsort */
#include <string.h>   /* strcmp, strlen, memset */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "format/dump.h"   /* struct fmt_dump */
#include "tools/muppy.h"   /* cmd_track, MUPPY_USAGE_TRACK */
#include "tools/table.h"   /* tbl_* */
#include "tools/util.h"    /* options, messages, exit statuses */

#define TRACK_LIMIT 15   /* rows per interval table by default */

static const char track_help[] =
	"usage: " MUPPY_USAGE_TRACK "\n"
	"\n"
	"Pympler's SummaryTracker over a series of dumps (oldest first): for\n"
	"each interval, what changed per type (as 'muppy diff' prints it),\n"
	"then the leak suspects: the types whose count or size grew in at\n"
	"least half of the intervals and grew overall, ranked by size growth,\n"
	"with their growth in objects per interval.\n"
	"\n"
	"  --limit N        rows per interval table "
	"(default " UTIL_STR(TRACK_LIMIT) "; 0: all)\n"
	"  --format FMT     text (default), json, csv\n"
	"  -h, --help       this help\n";

/* ---- the matrix -------------------------------------------------------- */

struct entry {
	const char *name;
	int dump;
	int64_t count, size;
};

struct matrix {
	int ndumps;
	size_t nnames;
	const char **names;
	int64_t *count, *size;   /* [name * ndumps + dump] */
};

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	return c ? c : a->dump - b->dump;
}

static int64_t
to_i64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int
matrix_build(const struct fmt_dump *d, int n, struct matrix *m)
{
	size_t ne = 0, k = 0, cells;
	struct entry *e;

	memset(m, 0, sizeof *m);
	m->ndumps = n;
	if (n < 1)
		return -1;
	for (int i = 0; i < n; i++)
		ne += d[i].nsummary;
	if (ne + 1 > SIZE_MAX / sizeof *e / (size_t)n)
		return -1;
	cells = (ne + 1) * (size_t)n;
	e = malloc((ne + 1) * sizeof *e);
	m->names = malloc((ne + 1) * sizeof *m->names);
	m->count = calloc(cells, sizeof *m->count);
	m->size = calloc(cells, sizeof *m->size);
	if (!e || !m->names || !m->count || !m->size) {
		free(e);
		return -1;
	}
	for (int i = 0; i < n; i++)
		for (uint32_t r = 0; r < d[i].nsummary; r++) {
			e[k].name = fmt_str(&d[i], d[i].summary[r].name);
			e[k].dump = i;
			e[k].count = to_i64(d[i].summary[r].count);
			e[k].size = to_i64(d[i].summary[r].size);
			k++;
		}
	qsort(e, ne, sizeof *e, entry_cmp);
	for (k = 0; k < ne; k++) {
		if (k == 0 || strcmp(e[k].name, e[k - 1].name) != 0)
			m->names[m->nnames++] = e[k].name;
		size_t at = (m->nnames - 1) * (size_t)n + (size_t)e[k].dump;
		m->count[at] += e[k].count;
		m->size[at] += e[k].size;
	}
	free(e);
	return 0;
}

static void
matrix_free(struct matrix *m)
{
	free(m->names);
	free(m->count);
	free(m->size);
}

/* ---- suspects ---------------------------------------------------------- */

struct suspect {
	size_t name;
	int grew;               /* intervals in which it grew */
	int64_t dcount, dsize;  /* last minus first */
};

/* What grew overall: "count", "size" or "count and size" (a type whose
 * objects keep their number but get bigger shows +0 counts). */
static const char *
what_grew(const struct suspect *s)
{
	if (s->dcount > 0 && s->dsize > 0)
		return "count and size";
	return s->dcount > 0 ? "count" : "size";
}

static int
suspect_cmp(const void *pa, const void *pb)
{
	const struct suspect *a = pa, *b = pb;

	if (a->dsize != b->dsize)
		return a->dsize > b->dsize ? -1 : 1;
	if (a->dcount != b->dcount)
		return a->dcount > b->dcount ? -1 : 1;
	return (a->name > b->name) - (a->name < b->name);
}

static size_t
find_suspects(const struct matrix *m, struct suspect *s)
{
	int n = m->ndumps;
	size_t ns = 0;

	for (size_t i = 0; i < m->nnames; i++) {
		const int64_t *c = &m->count[i * (size_t)n];
		const int64_t *z = &m->size[i * (size_t)n];
		struct suspect x = {i, 0, c[n - 1] - c[0], z[n - 1] - z[0]};
		for (int k = 1; k < n; k++)
			x.grew += c[k] > c[k - 1] || z[k] > z[k - 1];
		if (2 * x.grew >= n - 1 && (x.dcount > 0 || x.dsize > 0))
			s[ns++] = x;
	}
	qsort(s, ns, sizeof *s, suspect_cmp);
	return ns;
}

/* "+10 +10 -3": the count change of every interval. */
static void
per_interval(const struct matrix *m, size_t name, char *buf, size_t len)
{
	const int64_t *c = &m->count[name * (size_t)m->ndumps];
	size_t at = 0;

	buf[0] = '\0';
	for (int k = 1; k < m->ndumps && at < len; k++)
		at += (size_t)snprintf(buf + at, len - at, "%s%+" PRId64,
				       k > 1 ? " " : "", c[k] - c[k - 1]);
}

/* ---- output ------------------------------------------------------------ */

/* The diff rows of interval k (dump k-1 -> k) into rows; how many. */
static size_t
interval_rows(const struct matrix *m, int k, struct tbl_row *rows)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nnames; i++) {
		size_t at = i * (size_t)m->ndumps + (size_t)k;
		struct tbl_row r = {m->names[i],
				    m->count[at] - m->count[at - 1],
				    m->size[at] - m->size[at - 1]};
		if (r.count || r.size)
			rows[n++] = r;
	}
	return n;
}

static void
print_suspects_text(const struct matrix *m, const struct suspect *s,
		    size_t ns)
{
	static const char *const header[5] = {"types", "grew in",
		"# objects", "total size", "# objects per interval"};
	size_t widths[5];
	char grew[48], count[32], size[PYM_SIZE_LEN], per[512];

	printf("leak suspects (grew in at least half of the %d intervals, "
	       "and overall):\n", m->ndumps - 1);
	pym_table_start(widths, 5, header);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			tbl_print_row(stdout, 5, header, widths, "rrrrl");
			tbl_print_border(stdout, 5, widths);
		}
		for (size_t k = 0; k < ns; k++) {
			snprintf(grew, sizeof grew, "%d/%d %s", s[k].grew,
				 m->ndumps - 1, what_grew(&s[k]));
			snprintf(count, sizeof count, "%+" PRId64, s[k].dcount);
			pym_size(s[k].dsize, size);
			per_interval(m, s[k].name, per, sizeof per);
			const char *cells[5] = {m->names[s[k].name], grew,
						count, size, per};
			if (pass == 0)
				pym_table_measure(widths, 5, cells);
			else
				tbl_print_row(stdout, 5, cells, widths, "rrrrl");
		}
	}
}

static int
print_text(const struct util_series *a, const struct matrix *m,
	   struct tbl_row *rows, const struct suspect *s, size_t ns)
{
	struct tbl_summary_opts o = {a->limit, TBL_SORT_SIZE, 1, TBL_OUT_TEXT};

	for (int k = 1; k < m->ndumps; k++) {
		size_t n = interval_rows(m, k, rows);
		printf("%s -> %s\n", a->files[k - 1], a->files[k]);
		if (tbl_print_summary(stdout, rows, n, &o) != 0)
			return -1;
		putchar('\n');
	}
	print_suspects_text(m, s, ns);
	return 0;
}

static int
print_json(const struct util_series *a, const struct matrix *m,
	   struct tbl_row *rows, const struct suspect *s, size_t ns)
{
	struct tbl_summary_opts o = {a->limit, TBL_SORT_SIZE, 1, TBL_OUT_JSON};

	fputs("{\"intervals\": [\n", stdout);
	for (int k = 1; k < m->ndumps; k++) {
		size_t n = interval_rows(m, k, rows);
		fputs("{\"from\": ", stdout);
		tbl_json_string(stdout, a->files[k - 1], strlen(a->files[k - 1]));
		fputs(", \"to\": ", stdout);
		tbl_json_string(stdout, a->files[k], strlen(a->files[k]));
		fputs(", \"diff\": ", stdout);
		if (tbl_print_summary(stdout, rows, n, &o) != 0)
			return -1;
		printf("}%s\n", k + 1 < m->ndumps ? "," : "");
	}
	fputs("],\n\"suspects\": [", stdout);
	for (size_t k = 0; k < ns; k++) {
		const int64_t *c = &m->count[s[k].name * (size_t)m->ndumps];
		fputs(k ? ",\n  {\"type\": " : "\n  {\"type\": ", stdout);
		tbl_json_string(stdout, m->names[s[k].name],
				strlen(m->names[s[k].name]));
		printf(", \"grew\": %d, \"what\": \"%s\", \"count\": %" PRId64
		       ", \"size\": %" PRId64 ", \"per_interval\": [",
		       s[k].grew, what_grew(&s[k]), s[k].dcount, s[k].dsize);
		for (int i = 1; i < m->ndumps; i++)
			printf("%s%" PRId64, i > 1 ? ", " : "", c[i] - c[i - 1]);
		fputs("]}", stdout);
	}
	fputs(ns ? "\n]}\n" : "]}\n", stdout);
	return 0;
}

static int
print_csv(const struct util_series *a, const struct matrix *m,
	  struct tbl_row *rows, const struct suspect *s, size_t ns)
{
	char per[512];

	fputs("section,interval,type,count,size,grew,per_interval\n", stdout);
	for (int k = 1; k < m->ndumps; k++) {
		size_t n = interval_rows(m, k, rows);
		if (tbl_sort_rows(rows, n, TBL_SORT_SIZE, 1) != 0)
			return -1;
		if (a->limit && a->limit < n)
			n = a->limit;
		for (size_t i = 0; i < n; i++) {
			printf("diff,%d,", k);
			tbl_csv_field(stdout, rows[i].name);
			printf(",%" PRId64 ",%" PRId64 ",,\n", rows[i].count,
			       rows[i].size);
		}
	}
	for (size_t k = 0; k < ns; k++) {
		fputs("suspect,,", stdout);
		tbl_csv_field(stdout, m->names[s[k].name]);
		per_interval(m, s[k].name, per, sizeof per);
		printf(",%" PRId64 ",%" PRId64 ",%d,%s\n", s[k].dcount,
		       s[k].dsize, s[k].grew, per);
	}
	return 0;
}

static int
report(const struct util_series *a, const struct fmt_dump *d)
{
	struct matrix m;
	struct tbl_row *rows = NULL;
	struct suspect *s = NULL;
	size_t ns;
	int rc = -1;

	if (matrix_build(d, a->nfiles, &m) != 0)
		goto out;
	rows = malloc((m.nnames + 1) * sizeof *rows);
	s = malloc((m.nnames + 1) * sizeof *s);
	if (!rows || !s)
		goto out;
	ns = find_suspects(&m, s);
	if (a->format == UTIL_FORMAT_JSON)
		rc = print_json(a, &m, rows, s, ns);
	else if (a->format == UTIL_FORMAT_CSV)
		rc = print_csv(a, &m, rows, s, ns);
	else
		rc = print_text(a, &m, rows, s, ns);
out:
	matrix_free(&m);
	free(rows);
	free(s);
	return rc;
}

int
cmd_track(int argc, char **argv)
{
	struct util_series a;
	struct fmt_dump *d = NULL;
	int rc, loaded = 0;

	a.files = malloc(((size_t)argc + 1) * sizeof *a.files);
	if (!a.files)
		return util_error("out of memory");
	a.limit = TRACK_LIMIT;
	if (!util_parse_series(argc, argv, MUPPY_USAGE_TRACK, track_help,
			       (size_t)argc, NULL, &a, &rc))
		goto out;
	d = calloc((size_t)a.nfiles, sizeof *d);
	if (!d) {
		rc = util_error("out of memory");
		goto out;
	}
	for (; loaded < a.nfiles; loaded++)
		if ((rc = util_read_dump(a.files[loaded], FMT_READ_SUMMARY,
					 &d[loaded])))
			goto out;
	rc = report(&a, d) ? util_error("out of memory") : MUPPY_EXIT_OK;
	rc = util_finish_stdout(rc);
out:
	for (int i = 0; i < loaded; i++)
		fmt_dump_free(&d[i]);
	free(d);
	free(a.files);
	return rc;
}
