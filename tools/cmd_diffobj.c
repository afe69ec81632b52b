/*
 * cmd_diffobj.c - `muppy diff OLD NEW --objects`: the objects of NEW that
 * were not in OLD (same address and same type: tools/graph.c's
 * graph_mark_common), grouped by type, as a Pympler table of counts and
 * sizes (or csv/json).  cmd_diff (tools/cmd_summary.c) hands its whole
 * argv here when --objects is among the options; the options are those of
 * `diff` (--limit, --sort, --order, --format) and mean the same.
 *
 * Unlike the summary diff this needs graph dumps, and it only counts
 * births: an object freed between the dumps does not appear (its address
 * may even be reused by a new object of another type, which then counts
 * as born).
 */
#include <stdint.h>   /* int64_t, INT64_MAX */
#include <stdlib.h>   /* calloc, free */
#include <string.h>   /* strcmp, memset */

#include "tools/graph.h"   /* graph_read_*, graph_mark_common */
#include "tools/muppy.h"   /* cmd_diff_objects, MUPPY_USAGE_DIFF */
#include "tools/table.h"   /* struct tbl_row, tbl_print_summary */
#include "tools/util.h"    /* options, messages, exit statuses */

static const char diffobj_help[] =
	"usage: " MUPPY_USAGE_DIFF "\n"
	"\n"
	"With --objects: the objects of NEW that were not in OLD (same address\n"
	"and type), grouped by type: how many and their total size.  Needs\n"
	"graph dumps.\n"
	"\n"
	SUMMARY_OPTIONS_HELP
	"  -h, --help       this help\n";

static int
name_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct tbl_row *)pa)->name,
		      ((const struct tbl_row *)pb)->name);
}

/*
 * The born objects of new_ per type name into *rows (caller frees).
 * Returns how many rows, or -1 (out of memory).
 */
static int64_t
born_rows(const struct fmt_dump *old, const struct fmt_dump *new_,
	  struct tbl_row **rows)
{
	uint8_t *seen = calloc(new_->nobjects + 1, 1);
	struct tbl_row *r = calloc(new_->ntypes + 1u, sizeof *r);
	size_t n = 0;

	if (!seen || !r || graph_mark_common(old, new_, seen, 1) != 0) {
		free(seen);
		free(r);
		return -1;
	}
	for (uint32_t t = 0; t < new_->ntypes; t++)
		r[t].name = fmt_str(new_, new_->types[t].name);
	for (uint64_t i = 0; i < new_->nobjects; i++) {
		uint32_t t = new_->obj_type[i];
		if (seen[i] || t >= new_->ntypes)
			continue;
		r[t].count++;
		r[t].size += (int64_t)new_->obj_size[i];
	}
	free(seen);
	/* Several types may share a name: one row per name. */
	qsort(r, new_->ntypes, sizeof *r, name_cmp);
	for (uint32_t t = 0; t < new_->ntypes; t++) {
		if (!r[t].count)
			continue;
		if (n && strcmp(r[n - 1].name, r[t].name) == 0) {
			r[n - 1].count += r[t].count;
			r[n - 1].size += r[t].size;
		} else {
			r[n++] = r[t];
		}
	}
	*rows = r;
	return (int64_t)n;
}

int
cmd_diff_objects(int argc, char **argv)
{
	struct tbl_summary_opts o;
	struct fmt_dump old, new_;
	struct tbl_row *rows = NULL;
	const char *files[2];
	int64_t n;
	int rc;

	if (!summary_parse_args(argc, argv, MUPPY_USAGE_DIFF, diffobj_help,
				files, 2, 1, &o, &rc))
		return rc;
	rc = graph_read_match(files[0], &old);   /* addresses, types */
	if (rc)
		return rc;
	rc = graph_read_objects(files[1], &new_);
	if (rc) {
		fmt_dump_free(&old);
		return rc;
	}
	n = born_rows(&old, &new_, &rows);
	if (n < 0 || tbl_print_summary(stdout, rows, (size_t)n, &o) != 0)
		rc = util_error("out of memory");
	else
		rc = util_finish_stdout(MUPPY_EXIT_OK);
	free(rows);
	fmt_dump_free(&old);
	fmt_dump_free(&new_);
	return rc;
}
