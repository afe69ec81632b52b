/*
 * table.h - Pympler's table text and size formatting, and the csv/json
 * spelling of the same rows: the output layer of `muppy summary`, `diff`,
 * `objects` and the analyses.
 *
 * Pure functions over rows and strings, writing to a FILE *: no dump, no
 * options, no exit statuses here (those are the commands', tools/cmd_*.c),
 * so the exact text can be unit-tested (tests/unit/table_test.cc).
 *
 * The Pympler text itself (sizes, column layout) is common/pympler's,
 * shared with the Python module in the shim; this file adds what only the
 * tool prints: sorting, the summary table on a FILE, csv and json.
 * Sorting is Pympler's: stable, and "descending" is Python's reverse=True,
 * which keeps rows with equal keys in their original order.
 */
#ifndef MUPPY_TOOLS_TABLE_H
#define MUPPY_TOOLS_TABLE_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* int64_t */
#include <stdio.h>    /* FILE */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- generic tables ------------------------------------------------- */

/*
 * One line of a table in Pympler's layout on out (common/pympler.h: widths
 * from pym_table_start and pym_table_measure; align as pym_table_row's).
 */
void tbl_print_row(FILE *out, size_t ncols, const char *const *cells,
		   const size_t *widths, const char *align);
void tbl_print_border(FILE *out, size_t ncols, const size_t *widths);

/* ---- summary tables ------------------------------------------------- */

struct tbl_row {
	const char *name;  /* row name (borrowed) */
	int64_t count;     /* objects; negative in a diff */
	int64_t size;      /* bytes; negative in a diff */
};

enum tbl_sort {
	TBL_SORT_SIZE,     /* Pympler's sort='size' */
	TBL_SORT_COUNT,    /* Pympler's sort='#' */
	TBL_SORT_TYPE,     /* by row name, bytewise (= code point order) */
};

enum tbl_output {
	TBL_OUT_TEXT,      /* Pympler's print_ */
	TBL_OUT_JSON,      /* [{"type": ..., "count": ..., "size": ...}, ...] */
	TBL_OUT_CSV,       /* type,count,size */
};

struct tbl_summary_opts {
	size_t limit;        /* rows to print after sorting; 0: all */
	enum tbl_sort sort;
	int descending;      /* 1: Pympler's order='descending' */
	enum tbl_output output;
};

/* Sorts rows in place, stably (design note 3).  Returns 0, or -1 if the
 * merge buffer cannot be allocated (rows then unchanged). */
int tbl_sort_rows(struct tbl_row *rows, size_t n, enum tbl_sort by,
		  int descending);

/*
 * Pympler's summary.print_(rows, limit, sort, order) and its csv/json
 * forms: sorts rows in place (tbl_sort_rows), keeps the first limit, and
 * writes them to out.  Returns 0 or -1 (out of memory; nothing written).
 */
int tbl_print_summary(FILE *out, struct tbl_row *rows, size_t n,
		      const struct tbl_summary_opts *o);

/* ---- csv and json --------------------------------------------------- */

/* s as one RFC 4180 field: quoted (with "" for ") only if it holds a
 * comma, a double quote, CR or LF. */
void tbl_csv_field(FILE *out, const char *s);

/*
 * s[0..len) as a JSON string literal with its quotes.  ", \ and control
 * characters are escaped; valid UTF-8 passes through; a byte that is not
 * part of valid UTF-8 (bytes contents, a cut character) is written as
 * \u00XX with the byte's value, so the output is always valid JSON.
 */
void tbl_json_string(FILE *out, const char *s, size_t len);
/* The same, safe inside an HTML <script> element: < > & as \u escapes. */
void tbl_json_string_html(FILE *out, const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_TABLE_H */
