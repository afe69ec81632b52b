/*
 * cmd_summary.c - `muppy summary DUMP` and `muppy diff OLD NEW`: the
 * per-type SUMMARY section of dumps as Pympler's summary.print_ table
 * (or csv/json), and the difference of two of them as tracker prints it.
 *
 * Both read dumps with FMT_READ_SUMMARY, so the object graph is verified
 * but never decoded: a summary of a 1M-object dump costs the inflate pass
 * only.  Table text, sorting and escaping are tools/table.c's; this file
 * turns dump rows into struct tbl_row and options into tbl_summary_opts.
 *
 * The diff (Pympler's summary.get_diff plus tracker's _sweep): per row
 * name, NEW minus OLD; a row only in OLD counts as negative; rows whose
 * count and size are both 0 are dropped.  Pympler builds the rows from a
 * set, so rows with equal sort keys come out in hash order; ours come in
 * a fixed order: NEW's rows in dump order, then the rows only OLD has, in
 * OLD's order, and the stable sort keeps that order among equal keys.
 */
#include <stdint.h>   /* int64_t, INT64_MAX */
#include <stdlib.h>   /* calloc, free, qsort, bsearch */
#include <string.h>   /* strcmp */

#include "format/dump.h"   /* struct fmt_dump, fmt_str */
#include "tools/muppy.h"   /* cmd_summary, cmd_diff, MUPPY_USAGE_* */
#include "tools/table.h"   /* struct tbl_row, tbl_print_summary */
#include "tools/util.h"    /* option parsing, util_read_dump */

static const char summary_help[] =
	"usage: " MUPPY_USAGE_SUMMARY "\n"
	"\n"
	"Prints the per-type summary of DUMP (objects and total size per type\n"
	"name) as Pympler's summary.print_ does.\n"
	"\n"
	SUMMARY_OPTIONS_HELP
	"  -h, --help       this help\n";

static const char diff_help[] =
	"usage: " MUPPY_USAGE_DIFF "\n"
	"\n"
	"Prints what changed per type from dump OLD to dump NEW (NEW minus OLD;\n"
	"unchanged rows left out) as Pympler's tracker.print_diff does.\n"
	"\n"
	SUMMARY_OPTIONS_HELP
	"  --objects        instead: the objects of NEW not in OLD (same\n"
	"                   address and type), by type (graph dumps)\n"
	"  -h, --help       this help\n";

int
summary_parse_args(int argc, char **argv, const char *synopsis,
		   const char *help, const char **files, size_t nfiles,
		   int objects, struct tbl_summary_opts *o, int *status)
{
	static const struct util_choice sorts[] = {
		{ "size", TBL_SORT_SIZE, 0 }, { "count", TBL_SORT_COUNT, 0 },
		{ "#", TBL_SORT_COUNT, 1 }, { "type", TBL_SORT_TYPE, 0 },
		{ NULL, 0, 0 },
	};
	static const struct util_choice orders[] = {
		{ "descending", 1, 0 }, { "ascending", 0, 0 }, { NULL, 0, 0 },
	};
	enum util_format f = UTIL_FORMAT_TEXT;
	int sort = TBL_SORT_SIZE, unused;
	uint64_t limit = SUMMARY_LIMIT;
	struct util_option opts[] = {
		UTIL_OPT_UINT("limit", 'n', &limit, 0, INT64_MAX),
		UTIL_OPT_CHOICE("sort", 's', &sort, sorts),
		UTIL_OPT_CHOICE("order", 0, &o->descending, orders),
		UTIL_OPT_FORMAT(&f, UTIL_FORMAT_TEXT | UTIL_FORMAT_JSON |
				UTIL_FORMAT_CSV),
		UTIL_OPT_SET("objects", 0, &unused, 1),
		UTIL_OPTIONS_END,
	};
	const struct util_command cmd = {
		synopsis, help, opts, files, nfiles, nfiles,
		nfiles == 1 ? "a dump file is needed" :
			      "two dump files are needed (OLD NEW)",
		NULL, NULL,
	};

	if (!objects)   /* only diff --objects takes --objects */
		opts[4] = (struct util_option)UTIL_OPTIONS_END;
	o->descending = 1;
	if (!util_parse_command(&cmd, argc, argv, status))
		return 0;
	o->limit = (size_t)limit;
	o->sort = (enum tbl_sort)sort;
	o->output = f == UTIL_FORMAT_JSON ? TBL_OUT_JSON :
		    f == UTIL_FORMAT_CSV ? TBL_OUT_CSV : TBL_OUT_TEXT;
	return 1;
}

/* The dump's counters are unsigned; a table holds int64 so that a diff
 * can be negative.  No real heap comes near 2**63 bytes. */
static int64_t
to_i64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Prints rows and finishes stdout; frees rows. */
static int
print_rows(struct tbl_row *rows, size_t n, const struct tbl_summary_opts *o)
{
	int rc = tbl_print_summary(stdout, rows, n, o);

	free(rows);
	if (rc != 0)
		return util_error("out of memory");
	return util_finish_stdout(MUPPY_EXIT_OK);
}

int
cmd_summary(int argc, char **argv)
{
	struct tbl_summary_opts o;
	struct fmt_dump d;
	struct tbl_row *rows;
	const char *file;
	int rc;

	if (!summary_parse_args(argc, argv, MUPPY_USAGE_SUMMARY, summary_help,
				&file, 1, 0, &o, &rc))
		return rc;
	rc = util_read_dump(file, FMT_READ_SUMMARY, &d);
	if (rc)
		return rc;
	rows = calloc(d.nsummary ? d.nsummary : 1, sizeof *rows);
	if (!rows) {
		fmt_dump_free(&d);
		return util_error("out of memory");
	}
	for (uint32_t i = 0; i < d.nsummary; i++) {
		rows[i].name = fmt_str(&d, d.summary[i].name);
		rows[i].count = to_i64(d.summary[i].count);
		rows[i].size = to_i64(d.summary[i].size);
	}
	rc = print_rows(rows, d.nsummary, &o);
	fmt_dump_free(&d);
	return rc;
}

/* ---- diff ----------------------------------------------------------- */

struct named {
	const char *name;
	uint32_t row;     /* index in the dump's summary */
};

static int
named_cmp(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
		      ((const struct named *)b)->name);
}

/*
 * NEW minus OLD per row name into a new array (*out, *nout; caller frees).
 * Returns 0 or -1 (out of memory).
 */
static int
diff_rows(const struct fmt_dump *old, const struct fmt_dump *new_,
	  struct tbl_row **out, size_t *nout)
{
	size_t cap = (size_t)old->nsummary + new_->nsummary + 1, n = 0;
	struct named *idx = calloc(old->nsummary + 1u, sizeof *idx);
	uint8_t *used = calloc(old->nsummary + 1u, 1);
	struct tbl_row *rows = calloc(cap, sizeof *rows);

	if (!idx || !used || !rows)
		goto fail;
	for (uint32_t i = 0; i < old->nsummary; i++) {
		idx[i].name = fmt_str(old, old->summary[i].name);
		idx[i].row = i;
	}
	qsort(idx, old->nsummary, sizeof *idx, named_cmp);
	for (uint32_t i = 0; i < new_->nsummary; i++) {
		struct named key = { fmt_str(new_, new_->summary[i].name), 0 };
		struct named *hit = old->nsummary ?
			bsearch(&key, idx, old->nsummary, sizeof *idx,
				named_cmp) : NULL;
		struct tbl_row r = { key.name,
				     to_i64(new_->summary[i].count),
				     to_i64(new_->summary[i].size) };
		if (hit) {
			used[hit->row] = 1;
			r.count -= to_i64(old->summary[hit->row].count);
			r.size -= to_i64(old->summary[hit->row].size);
		}
		if (r.count || r.size)  /* tracker's _sweep */
			rows[n++] = r;
	}
	for (uint32_t i = 0; i < old->nsummary; i++) {
		struct tbl_row r = { fmt_str(old, old->summary[i].name),
				     -to_i64(old->summary[i].count),
				     -to_i64(old->summary[i].size) };
		if (!used[i] && (r.count || r.size))
			rows[n++] = r;
	}
	free(idx);
	free(used);
	*out = rows;
	*nout = n;
	return 0;
fail:
	free(idx);
	free(used);
	free(rows);
	return -1;
}

int
cmd_diff(int argc, char **argv)
{
	struct tbl_summary_opts o;
	struct fmt_dump old, new_;
	struct tbl_row *rows = NULL;
	const char *files[2];
	size_t n = 0;
	int rc;

	/* --objects: the object-level diff of tools/cmd_diffobj.c. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--objects") == 0)
			return cmd_diff_objects(argc, argv);
	if (!summary_parse_args(argc, argv, MUPPY_USAGE_DIFF, diff_help, files,
				2, 0, &o, &rc))
		return rc;
	rc = util_read_dump(files[0], FMT_READ_SUMMARY, &old);
	if (rc)
		return rc;
	rc = util_read_dump(files[1], FMT_READ_SUMMARY, &new_);
	if (rc) {
		fmt_dump_free(&old);
		return rc;
	}
	if (diff_rows(&old, &new_, &rows, &n) != 0)
		rc = util_error("out of memory");
	else
		rc = print_rows(rows, n, &o);
	fmt_dump_free(&old);
	fmt_dump_free(&new_);
	return rc;
}
