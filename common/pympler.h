/*
 * pympler.h - Pympler's text, written once for both sides: the size text
 * (stringutils.pp), the summary table's layout (summary.format_) and the
 * referrer tree (refbrowser.StreamBrowser._print).  The built-in Python
 * module (shim/pymod) and the muppy tool (tools/) print through these, so
 * `summary.print_` in the process and `muppy summary` after the fact give
 * the same characters.
 *
 * What "exactly Pympler 1.1" means here (pympler/summary.py format_ and
 * _format_table, pympler/util/stringutils.py pp, pympler/refbrowser.py):
 *   1. Sizes: "%4d     B" while the value is <= 1024 (so every negative
 *      value, too: pp's loop only runs for value > 1024), else repeated
 *      division by 1024.0 and "%7.2f UNIT" with units KB MB GB TB EB
 *      (Pympler's list skips PB: 1024**5 bytes and up print as EB).
 *      Past 1024**6 Pympler raises IndexError; we stay at EB.
 *   2. Columns: each as wide as its longest cell (header included), in
 *      characters (Python's len: code points, not bytes), plus 2; cells
 *      right-justified; columns joined by " | "; after the header, a line
 *      of "=" per column joined the same way.
 *   3. Trees: the root on the left, children to the right, one level per
 *      "-+-" or "--"; further children on their own lines as "+-" under
 *      the "+", "|" carrying the vertical line, and after the last child
 *      of a node with several, a line with just the carried "|"s (when
 *      there are any).  A node at maxdepth is printed without children.
 * Pure C11 over strings; no I/O (lines go to a caller's callback or into a
 * struct text_buf).
 */
#ifndef MUPPY_COMMON_PYMPLER_H
#define MUPPY_COMMON_PYMPLER_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* int64_t */

#include "common/text.h"   /* struct text_buf */

#ifdef __cplusplus
extern "C" {
#endif

/* Room for any pym_size text, NUL included. */
#define PYM_SIZE_LEN 48

/* stringutils.pp(value) of an int (note 1) into buf (PYM_SIZE_LEN bytes);
 * returns buf.  Never fails. */
char *pym_size(int64_t value, char *buf);
/* The same for a float value (Python's pp accepts both): "%4d" of the
 * truncated value while it is <= 1024 (NaN too). */
char *pym_size_float(double value, char *buf);

/*
 * A table in Pympler's layout (note 2), built in two passes so that rows
 * need not be kept: pym_table_start with the header, pym_table_measure for
 * every row, then pym_table_row for the header, pym_table_border, and
 * pym_table_row for every row.  align: one char per column, 'r' (Pympler's
 * rjust) or 'l' (ljust; a left-justified LAST column is not padded, to
 * leave no trailing blanks); NULL: all 'r'.  The row functions append one
 * line without its newline.
 */
#define PYM_TABLE_MAX_COLS 16   /* pym_table_row prints at most these */
void pym_table_start(size_t *widths, size_t ncols,
		     const char *const *header);
void pym_table_measure(size_t *widths, size_t ncols,
		       const char *const *cells);
void pym_table_row(struct text_buf *line, size_t ncols,
		   const char *const *cells, const size_t *widths,
		   const char *align);
/* pym_table_row for cells of lens[c] bytes (they may hold NULs). */
void pym_table_row_n(struct text_buf *line, size_t ncols,
		     const char *const *cells, const size_t *lens,
		     const size_t *widths, const char *align);
void pym_table_border(struct text_buf *line, size_t ncols,
		      const size_t *widths);

/*
 * A tree to print (note 3) through callbacks, so that the tool's tree of
 * dump objects and the module's tree of Python _Node objects share the
 * drawing.  Nodes are opaque handles.  Every callback but release returns
 * 0 or -1; -1 stops the printing, which then returns -1 (the callback has
 * reported why: the module has set a Python exception).
 */
struct pym_tree {
	void *ctx;
	long maxdepth;      /* levels below the root; the root is level 0 */
	/* How many children node has (0: a leaf or a node not to open). */
	int (*nchildren)(void *ctx, const void *node, size_t *n);
	/* Appends node's text (UTF-8, one line) to b. */
	int (*label)(void *ctx, const void *node, struct text_buf *b);
	/* The i-th child, into *child; released with release. */
	int (*child)(void *ctx, const void *node, size_t i,
		     const void **child);
	void (*release)(void *ctx, const void *node);   /* may be NULL */
	/* Writes one line of n bytes (no newline in s). */
	int (*line)(void *ctx, const char *s, size_t n);
};
int pym_tree_print(const struct pym_tree *t, const void *root);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_COMMON_PYMPLER_H */
