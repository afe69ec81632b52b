/*
 * table.c - Pympler's table text, size formatting and sorting, plus csv
 * and json escaping (contracts and the Pympler facts in tools/table.h).
 *
 * Everything writes through stdio to a caller's FILE *; nothing here keeps
 * state or knows about dumps.  Output errors are left in the FILE's error
 * flag for the command to report (util_finish_stdout).
 */
#include <inttypes.h> /* PRId64 */
#include <stdlib.h>   /* malloc, free */
#include <string.h>   /* strcmp, strlen, memcpy, strpbrk */

#include "tools/table.h"

#include "common/pympler.h"   /* pym_size, pym_table_* */

/* Length of the valid UTF-8 sequence at p (at most left bytes), or 0 if
 * the bytes there are not one (overlong, surrogate, > U+10FFFF, cut). */
static size_t
utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* ---- tables on a FILE (the layout is common/pympler's) ---------------- */

void
tbl_print_row(FILE *out, size_t ncols, const char *const *cells,
	      const size_t *widths, const char *align)
{
	struct text_buf line = {0};

	pym_table_row(&line, ncols, cells, widths, align);
	fputs(text_cstr(&line), out);
	fputc('\n', out);
	text_free(&line);
}

void
tbl_print_border(FILE *out, size_t ncols, const size_t *widths)
{
	struct text_buf line = {0};

	pym_table_border(&line, ncols, widths);
	fputs(text_cstr(&line), out);
	fputc('\n', out);
	text_free(&line);
}

/* ---- sorting -------------------------------------------------------- */

/* <0, 0, >0 as a's key is below, equal to, above b's. */
static int
row_cmp(const struct tbl_row *a, const struct tbl_row *b, enum tbl_sort by)
{
	switch (by) {
	case TBL_SORT_COUNT:
		return (a->count > b->count) - (a->count < b->count);
	case TBL_SORT_TYPE:
		/* strcmp compares as unsigned char: UTF-8 byte order is code
		 * point order, which is how Python compares str. */
		return strcmp(a->name, b->name);
	case TBL_SORT_SIZE:
	default:
		return (a->size > b->size) - (a->size < b->size);
	}
}

/* Whether b must come before a: strictly "better" key only, so equal keys
 * keep their order (stability, also for descending = reverse=True). */
static int
goes_first(const struct tbl_row *b, const struct tbl_row *a,
	   enum tbl_sort by, int descending)
{
	int c = row_cmp(b, a, by);
	return descending ? c > 0 : c < 0;
}

int
tbl_sort_rows(struct tbl_row *rows, size_t n, enum tbl_sort by,
	      int descending)
{
	struct tbl_row *tmp, *src = rows, *dst;

	if (n < 2)
		return 0;
	if (n > SIZE_MAX / sizeof *tmp)
		return -1;
	tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return -1;
	dst = tmp;
	/* Bottom-up merge sort: stable, O(n log n), one buffer. */
	for (size_t run = 1; run < n; run *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * run) {
			size_t mid = lo + run < n ? lo + run : n;
			size_t hi = lo + 2 * run < n ? lo + 2 * run : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = goes_first(&src[j], &src[i], by,
						      descending) ?
					   src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		struct tbl_row *t = src;
		src = dst;
		dst = t;
	}
	if (src != rows)
		memcpy(rows, src, n * sizeof *rows);
	free(tmp);
	return 0;
}

/* ---- summary tables ------------------------------------------------- */

static void
print_summary_text(FILE *out, const struct tbl_row *rows, size_t n)
{
	static const char *const header[3] = {"types", "# objects",
					      "total size"};
	size_t widths[3];
	char count[32], size[PYM_SIZE_LEN];

	pym_table_start(widths, 3, header);
	for (size_t i = 0; i < n; i++) {
		const char *cells[3] = {rows[i].name, count,
					pym_size(rows[i].size, size)};
		snprintf(count, sizeof count, "%" PRId64, rows[i].count);
		pym_table_measure(widths, 3, cells);
	}
	tbl_print_row(out, 3, header, widths, "rrr");
	tbl_print_border(out, 3, widths);
	for (size_t i = 0; i < n; i++) {
		const char *cells[3] = {rows[i].name, count,
					pym_size(rows[i].size, size)};
		snprintf(count, sizeof count, "%" PRId64, rows[i].count);
		tbl_print_row(out, 3, cells, widths, "rrr");
	}
}

static void
print_summary_json(FILE *out, const struct tbl_row *rows, size_t n)
{
	if (n == 0) {
		fputs("[]\n", out);
		return;
	}
	fputs("[\n", out);
	for (size_t i = 0; i < n; i++) {
		fputs("  {\"type\": ", out);
		tbl_json_string(out, rows[i].name, strlen(rows[i].name));
		fprintf(out, ", \"count\": %" PRId64 ", \"size\": %" PRId64
			"}%s\n", rows[i].count, rows[i].size,
			i + 1 < n ? "," : "");
	}
	fputs("]\n", out);
}

static void
print_summary_csv(FILE *out, const struct tbl_row *rows, size_t n)
{
	fputs("type,count,size\n", out);
	for (size_t i = 0; i < n; i++) {
		tbl_csv_field(out, rows[i].name);
		fprintf(out, ",%" PRId64 ",%" PRId64 "\n", rows[i].count,
			rows[i].size);
	}
}

int
tbl_print_summary(FILE *out, struct tbl_row *rows, size_t n,
		  const struct tbl_summary_opts *o)
{
	if (tbl_sort_rows(rows, n, o->sort, o->descending) != 0)
		return -1;
	/* Pympler: localrows[0:limit]; our 0 means "all" (docs/usage.md). */
	if (o->limit && o->limit < n)
		n = o->limit;
	switch (o->output) {
	case TBL_OUT_JSON:
		print_summary_json(out, rows, n);
		break;
	case TBL_OUT_CSV:
		print_summary_csv(out, rows, n);
		break;
	case TBL_OUT_TEXT:
	default:
		print_summary_text(out, rows, n);
		break;
	}
	return 0;
}

/* ---- csv and json --------------------------------------------------- */

void
tbl_csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* html: also < > & as \u escapes, so that the JSON can sit inside an
 * HTML <script> element ("</script>" in a label cannot end it). */
static void
json_string(FILE *out, const char *s, size_t len, int html)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	fputc('"', out);
	while (i < len) {
		unsigned c = p[i];
		size_t n;

		switch (c) {
		case '"':  fputs("\\\"", out); i++; continue;
		case '\\': fputs("\\\\", out); i++; continue;
		case '\n': fputs("\\n", out); i++; continue;
		case '\r': fputs("\\r", out); i++; continue;
		case '\t': fputs("\\t", out); i++; continue;
		case '\b': fputs("\\b", out); i++; continue;
		case '\f': fputs("\\f", out); i++; continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f ||
		    (html && (c == '<' || c == '>' || c == '&'))) {
			fprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		n = utf8_seq_len(p + i, len - i);
		if (n == 0) {
			fprintf(out, "\\u%04x", c);  /* not UTF-8: the byte */
			i++;
			continue;
		}
		fwrite(p + i, 1, n, out);
		i += n;
	}
	fputc('"', out);
}

void
tbl_json_string(FILE *out, const char *s, size_t len)
{
	json_string(out, s, len, 0);
}

void
tbl_json_string_html(FILE *out, const char *s, size_t len)
{
	json_string(out, s, len, 1);
}
