/*
 * table.h - Pympler's table text and size formatting, and the csv/json
 * spelling of the same rows: the output layer of `muppy summary`, `diff`,
 * `objects` and the analyses.
 *
 * Pure functions over rows and strings, writing to a FILE *: no dump, no
 * options, no exit statuses here (those are the commands', tools/cmd_*.c),
 * so the exact text can be unit-tested (tests/unit/table_test.cc).
 *
 * What "exactly Pympler 1.1" means here (pympler/summary.py format_ and
 * _format_table, pympler/util/stringutils.py pp):
 *   1. Sizes: "%4d     B" while the value is <= 1024 (so every negative
 *      value, too: pp's loop only runs for value > 1024), else repeated
 *      division by 1024.0 and "%7.2f UNIT" with units KB MB GB TB EB
 *      (Pympler's list skips PB: 1024**5 bytes and up print as EB).
 *      Past 1024**6 Pympler raises IndexError; we stay at EB.
 *   2. Columns: each as wide as its longest cell (header included), in
 *      characters (Python's len: code points, not bytes), plus 2; cells
 *      right-justified; columns joined by " | "; after the header, a line
 *      of "=" per column joined the same way.
 *   3. Sorting is stable; "descending" is Python's reverse=True, which
 *      keeps rows with equal keys in their original order.
 */
#ifndef MUPPY_TOOLS_TABLE_H
#define MUPPY_TOOLS_TABLE_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* int64_t */
#include <stdio.h>    /* FILE */

#ifdef __cplusplus
extern "C" {
#endif

/* Room for any tbl_format_size result, NUL included. */
#define TBL_SIZE_LEN 48

/* stringutils.pp(value): writes the text into buf (TBL_SIZE_LEN bytes)
 * and returns buf.  Never fails. */
char *tbl_format_size(int64_t value, char *buf);

/* Characters in a UTF-8 string as Python's len() counts them (bytes that
 * are not continuation bytes; an invalid byte counts as one). */
size_t tbl_text_width(const char *s);

/* ---- generic tables ------------------------------------------------- */

/*
 * A text table in Pympler's layout (design note 2) built in two passes so
 * that rows need not be kept: tbl_widths_init with the header, then
 * tbl_widths_add for every row, then tbl_print_row for the header,
 * tbl_print_border, and tbl_print_row for every row.
 * align: one char per column, 'r' (Pympler's rjust) or 'l' (ljust; a
 * left-justified LAST column is not padded, to leave no trailing blanks).
 */
void tbl_widths_init(size_t *widths, size_t ncols, const char *const *cells);
void tbl_widths_add(size_t *widths, size_t ncols, const char *const *cells);
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

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_TABLE_H */
