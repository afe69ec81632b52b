/*
 * pympler.c - Pympler's size text, table layout and tree drawing
 * (pympler.h, whose notes say what exactly is reproduced).
 */
#include "common/pympler.h"

#include <inttypes.h> /* PRId64 */
#include <stdio.h>    /* snprintf */
#include <string.h>   /* strlen */

/* The scaled part of pp: x > 1024. */
static char *
pym_scaled(double x, char *buf)
{
	/* Pympler's list of units: note the missing PB (note 1). */
	static const char *const scales[] = {"B", "KB", "MB", "GB", "TB", "EB"};
	int degree = 0;

	while (x > 1024.0 && degree < 5) {
		x = x / 1024.0;
		degree++;
	}
	snprintf(buf, PYM_SIZE_LEN, "%7.2f %s", x, scales[degree]);
	return buf;
}

char *
pym_size(int64_t value, char *buf)
{
	if (value <= 1024) {
		snprintf(buf, PYM_SIZE_LEN, "%4" PRId64 "     B", value);
		return buf;
	}
	/* Python: `i / float(base)` converts the int to the nearest double
	 * first, then divides in doubles, exactly as here. */
	return pym_scaled((double)value, buf);
}

char *
pym_size_float(double value, char *buf)
{
	if (value > 1024.0)
		return pym_scaled(value, buf);
	/* "%4d" % x truncates; keep the conversion defined for NaN and
	 * values below the range of long long. */
	if (!(value > -9.2e18))
		value = value != value ? 0.0 : -9.2e18;
	snprintf(buf, PYM_SIZE_LEN, "%4lld     B", (long long)value);
	return buf;
}

/* ---- tables ------------------------------------------------------------- */

void
pym_table_start(size_t *widths, size_t ncols, const char *const *header)
{
	for (size_t c = 0; c < ncols; c++)
		widths[c] = 0;
	pym_table_measure(widths, ncols, header);
}

void
pym_table_measure(size_t *widths, size_t ncols, const char *const *cells)
{
	/* Pympler: len(str(item)) + 2 * padding, padding = 1. */
	for (size_t c = 0; c < ncols; c++) {
		size_t w = text_width(cells[c], strlen(cells[c])) + 2;

		if (w > widths[c])
			widths[c] = w;
	}
}

void
pym_table_row_n(struct text_buf *line, size_t ncols, const char *const *cells,
		const size_t *lens, const size_t *widths, const char *align)
{
	for (size_t c = 0; c < ncols; c++) {
		size_t w = text_width(cells[c], lens[c]);
		size_t fill = widths[c] > w ? widths[c] - w : 0;
		int left = align && align[c] == 'l';

		if (c)  /* an empty last cell would leave " | " blank */
			text_str(line, left && c + 1 == ncols && !lens[c] ?
				 " |" : " | ");
		if (!left)
			text_pad(line, fill);
		text_add(line, cells[c], lens[c]);
		if (left && c + 1 < ncols)
			text_pad(line, fill);
	}
	if (!line->s)
		text_add(line, "", 0);
}

void
pym_table_row(struct text_buf *line, size_t ncols, const char *const *cells,
	      const size_t *widths, const char *align)
{
	size_t lens[PYM_TABLE_MAX_COLS];

	for (size_t c = 0; c < ncols && c < PYM_TABLE_MAX_COLS; c++)
		lens[c] = strlen(cells[c]);
	pym_table_row_n(line, ncols < PYM_TABLE_MAX_COLS ? ncols :
			PYM_TABLE_MAX_COLS, cells, lens, widths, align);
}

void
pym_table_border(struct text_buf *line, size_t ncols, const size_t *widths)
{
	for (size_t c = 0; c < ncols; c++) {
		if (c)
			text_str(line, " | ");
		for (size_t i = 0; i < widths[c]; i++)
			text_add(line, "=", 1);
	}
	if (!line->s)
		text_add(line, "", 0);
}

/* ---- trees -------------------------------------------------------------- */

/* The level of a node: the '+' and '|' in its prefix. */
static size_t
pym_level(const struct text_buf *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < prefix->len; i++)
		n += prefix->s[i] == '+' || prefix->s[i] == '|';
	return n;
}

/* dst = src[:-2] (src holds only ASCII: spaces and '|'). */
static void
pym_cut2(struct text_buf *dst, const struct text_buf *src)
{
	dst->len = 0;
	text_add(dst, text_cstr(src), src->len >= 2 ? src->len - 2 : 0);
}

static int
pym_only_spaces(const struct text_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->s[i] != ' ')
			return 0;
	return 1;
}

/* The line after a node's last child: carry[:-2].rstrip(). */
static int
pym_tree_tail(const struct pym_tree *t, const struct text_buf *carry)
{
	size_t end = carry->len >= 2 ? carry->len - 2 : 0;

	if (pym_only_spaces(carry))
		return 0;
	while (end > 0 && carry->s[end - 1] == ' ')
		end--;
	return t->line(t->ctx, carry->s, end);
}

/* Prints the children of a node whose prefix and carry are built. */
static int pym_tree_at(const struct pym_tree *t, const void *node,
		       const struct text_buf *prefix0,
		       const struct text_buf *carry0);

static int
pym_tree_children(const struct pym_tree *t, const void *node, size_t n,
		  struct text_buf *prefix, struct text_buf *carry)
{
	for (size_t i = 0; i < n; i++) {
		const void *child;
		int rc;

		if (i > 0) {
			/* prefix = carryon[:-2] + cross + hline */
			pym_cut2(prefix, carry);
			text_str(prefix, "+-");
			if (i == n - 1) {
				carry->len -= 2;
				text_str(carry, "  ");
			}
		}
		if (prefix->oom || carry->oom ||
		    t->child(t->ctx, node, i, &child) != 0)
			return -1;
		rc = pym_tree_at(t, child, prefix, carry);
		if (t->release)
			t->release(t->ctx, child);
		if (rc != 0)
			return -1;
		if (i > 0 && i == n - 1 && pym_tree_tail(t, carry) != 0)
			return -1;
	}
	return 0;
}

static int
pym_tree_at(const struct pym_tree *t, const void *node,
	    const struct text_buf *prefix0, const struct text_buf *carry0)
{
	struct text_buf text = {0}, prefix = {0}, carry = {0};
	size_t level = pym_level(prefix0), n = 0;
	int rc = -1;

	if (t->nchildren(t->ctx, node, &n) != 0 ||
	    t->label(t->ctx, node, &text) != 0)
		goto out;
	text_add(&prefix, text_cstr(prefix0), prefix0->len);
	text_add(&prefix, text_cstr(&text), text.len);
	text_add(&carry, text_cstr(carry0), carry0->len);
	text_pad(&carry, text_width(text_cstr(&text), text.len));
	if (text.oom || prefix.oom || carry.oom)
		goto out;
	if ((long)level == t->maxdepth || n == 0) {
		rc = t->line(t->ctx, text_cstr(&prefix), prefix.len);
		goto out;
	}
	text_str(&prefix, n > 1 ? "-+-" : "--");
	text_str(&carry, n > 1 ? " | " : "  ");
	rc = pym_tree_children(t, node, n, &prefix, &carry);
out:
	text_free(&text);
	text_free(&prefix);
	text_free(&carry);
	return rc;
}

int
pym_tree_print(const struct pym_tree *t, const void *root)
{
	struct text_buf empty = {0};

	return pym_tree_at(t, root, &empty, &empty);
}
