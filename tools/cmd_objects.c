/*
 * cmd_objects.c - `muppy objects DUMP`: Pympler's muppy.filter(objects,
 * Type, min, max) offline, one row per object of a graph dump: address,
 * type name, size, refcount, label (and the string's contents where the
 * dump stored them, MUPPY_STRINGS).
 *
 * Differences from muppy.filter, on purpose: --type names a type exactly
 * as the dump's type table spells it (`__main__.Foo`, `dict`), so
 * subclasses are not included (isinstance would); and the rows are sorted
 * and can be limited.  Like filter: size > --min and size < --max when
 * given, and --min larger than --max is an error.
 *
 * Rows are never copied: an array of object indices is filtered, sorted
 * and printed; text output takes two passes over it (widths, then lines).
 */
#include <inttypes.h> /* PRIu64, PRIx64 */
#include <stdio.h>    /* printf, open_memstream */
#include <stdlib.h>   /* malloc, calloc, free, qsort_r */
#include <string.h>   /* strcmp, strlen */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "format/dump.h"   /* struct fmt_dump, fmt_str */
#include "tools/graph.h"   /* graph_types_named */
#include "tools/muppy.h"   /* cmd_objects, MUPPY_USAGE_OBJECTS */
#include "tools/table.h"   /* tbl_print_row, tbl_json_string, tbl_csv_field */
#include "tools/util.h"    /* option parsing, util_read_dump */

static const char objects_help[] =
	"usage: " MUPPY_USAGE_OBJECTS "\n"
	"\n"
	"Lists the objects of a graph dump, one per line, like Pympler's\n"
	"muppy.filter(objects, Type, min, max).\n"
	"\n"
	"  --type T         only objects whose type is named T exactly, as the\n"
	"                   summary names it (dict, __main__.Foo)\n"
	"  --min BYTES      only objects larger than BYTES (4096, 64K, 1MiB)\n"
	"  --max BYTES      only objects smaller than BYTES\n"
	"  --sort KEY       size (default, largest first), refcnt (highest\n"
	"                   first), type (by name), address (ascending)\n"
	"  --limit N        print the first N rows only (default 0: all)\n"
	"  --format FMT     text (default), json, csv\n"
	"  -h, --help       this help\n";

enum obj_sort { SORT_SIZE, SORT_TYPE, SORT_ADDRESS, SORT_REFCNT };

struct objects_args {
	const char *path;
	const char *type;          /* NULL: any */
	int64_t min, max;          /* -1: not given (Pympler's default) */
	int sort;                  /* enum obj_sort */
	uint64_t limit;            /* 0: all */
	enum util_format format;
};

/* What obj_cmp compares by (qsort_r's context). */
struct sort_ctx {
	const struct fmt_dump *d;
	enum obj_sort key;
};

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/* Sort keys, then the address (= index order) so the output is stable. */
static int
obj_cmp(const void *pa, const void *pb, void *ctx)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
	const struct sort_ctx *sc = ctx;
	const struct fmt_dump *d = sc->d;
	int c = 0;

	switch (sc->key) {
	case SORT_SIZE:
		c = cmp_u64(d->obj_size[b], d->obj_size[a]);
		break;
	case SORT_REFCNT:
		c = cmp_u64(d->obj_refcnt[b], d->obj_refcnt[a]);
		break;
	case SORT_TYPE:
		c = strcmp(fmt_str(d, d->types[d->obj_type[a]].name),
			   fmt_str(d, d->types[d->obj_type[b]].name));
		break;
	case SORT_ADDRESS:
		break;
	}
	return c ? c : cmp_u64(a, b);
}

/* Parses argv into *a; 0 when the command must return *status at once. */
static int
parse_args(int argc, char **argv, struct objects_args *a, int *status)
{
	static const struct util_choice sorts[] = {
		{ "size", SORT_SIZE, 0 }, { "type", SORT_TYPE, 0 },
		{ "address", SORT_ADDRESS, 0 }, { "refcnt", SORT_REFCNT, 0 },
		{ NULL, 0, 0 },
	};
	const struct util_option opts[] = {
		UTIL_OPT_STRING("type", 't', &a->type),
		UTIL_OPT_SIZE("min", 0, &a->min),
		UTIL_OPT_SIZE("max", 0, &a->max),
		UTIL_OPT_CHOICE("sort", 's', &a->sort, sorts),
		UTIL_OPT_UINT("limit", 'n', &a->limit, 0, INT64_MAX),
		UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT |
				UTIL_FORMAT_JSON | UTIL_FORMAT_CSV),
		UTIL_OPTIONS_END,
	};
	const struct util_command cmd = {
		MUPPY_USAGE_OBJECTS, objects_help, opts, &a->path, 1, 1,
		"a dump file is needed", NULL, NULL,
	};

	*a = (struct objects_args){ .min = -1, .max = -1, .sort = SORT_SIZE,
				    .format = UTIL_FORMAT_TEXT };
	if (!util_parse_command(&cmd, argc, argv, status))
		return 0;
	if (a->min > -1 && a->max > -1 && a->min > a->max) {
		*status = util_usage_error(MUPPY_USAGE_OBJECTS, "--min (%lld) "
					   "is larger than --max (%lld)",
					   (long long)a->min,
					   (long long)a->max);
		return 0;
	}
	return 1;
}

/* Whether any type in d->types is named name.  Several type objects may
 * share a name (two classes Foo in different scopes): the filter compares
 * names, so it takes them all. */
/* Fills sel[] with the indices of the objects that pass the filter;
 * returns how many. */
static uint64_t
select_objects(const struct fmt_dump *d, const struct objects_args *a,
	       const uint8_t *type_ok, uint64_t *sel)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < d->nobjects; i++) {
		uint64_t size = d->obj_size[i];
		if (type_ok && !type_ok[d->obj_type[i]])
			continue;
		if (a->min > -1 && !(size > (uint64_t)a->min))
			continue;
		if (a->max > -1 && !(size < (uint64_t)a->max))
			continue;
		sel[n++] = i;
	}
	return n;
}

/* ---- output --------------------------------------------------------- */

struct row_text {
	char addr[24], size[24], refcnt[24];
	const char *type;
	char *label;       /* malloc'd (label and/or contents) */
};

/* The label cell: the label, then the contents as a JSON string literal
 * (quotes and escapes keep one object on one line). */
static char *
label_cell(const struct fmt_dump *d, uint64_t i, const uint32_t *contents)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	const char *label = fmt_str(d, d->obj_label[i]);

	if (!m)
		return NULL;
	fputs(label, m);
	if (contents && contents[i]) {
		uint32_t s = d->strdata[contents[i] - 1].str;
		if (*label)
			fputc(' ', m);
		tbl_json_string(m, fmt_str(d, s), d->strings[s].len);
	}
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
row_fill(const struct fmt_dump *d, uint64_t i, const uint32_t *contents,
	 struct row_text *r)
{
	snprintf(r->addr, sizeof r->addr, "0x%" PRIx64, d->obj_addr[i]);
	snprintf(r->size, sizeof r->size, "%" PRIu64, d->obj_size[i]);
	snprintf(r->refcnt, sizeof r->refcnt, "%" PRIu32, d->obj_refcnt[i]);
	r->type = fmt_str(d, d->types[d->obj_type[i]].name);
	r->label = label_cell(d, i, contents);
	return r->label ? 0 : -1;
}

static int
print_text(const struct fmt_dump *d, const uint64_t *sel, uint64_t n,
	   const uint32_t *contents)
{
	static const char *const header[5] = {"address", "type", "size",
					      "refcnt", "label"};
	static const char align[] = "lrrrl";
	size_t widths[5];
	struct row_text r;

	pym_table_start(widths, 5, header);
	for (uint64_t k = 0; k < n; k++) {
		if (row_fill(d, sel[k], contents, &r) != 0)
			return -1;
		const char *cells[5] = {r.addr, r.type, r.size, r.refcnt,
					r.label};
		pym_table_measure(widths, 5, cells);
		free(r.label);
	}
	tbl_print_row(stdout, 5, header, widths, align);
	tbl_print_border(stdout, 5, widths);
	for (uint64_t k = 0; k < n; k++) {
		if (row_fill(d, sel[k], contents, &r) != 0)
			return -1;
		const char *cells[5] = {r.addr, r.type, r.size, r.refcnt,
					r.label};
		tbl_print_row(stdout, 5, cells, widths, align);
		free(r.label);
	}
	return 0;
}

static void
print_json(const struct fmt_dump *d, const uint64_t *sel, uint64_t n,
	   const uint32_t *contents)
{
	fputs(n ? "[\n" : "[]\n", stdout);
	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = sel[k];
		const char *label = fmt_str(d, d->obj_label[i]);
		const char *type = fmt_str(d, d->types[d->obj_type[i]].name);

		printf("  {\"address\": \"0x%" PRIx64 "\", \"type\": ",
		       d->obj_addr[i]);
		tbl_json_string(stdout, type, strlen(type));
		printf(", \"size\": %" PRIu64 ", \"refcnt\": %" PRIu64
		       ", \"label\": ", d->obj_size[i], (uint64_t)d->obj_refcnt[i]);
		tbl_json_string(stdout, label, strlen(label));
		if (contents && contents[i]) {
			uint32_t s = d->strdata[contents[i] - 1].str;
			fputs(", \"contents\": ", stdout);
			tbl_json_string(stdout, fmt_str(d, s),
					d->strings[s].len);
		}
		printf("}%s\n", k + 1 < n ? "," : "");
	}
	if (n)
		fputs("]\n", stdout);
}

static void
print_csv(const struct fmt_dump *d, const uint64_t *sel, uint64_t n,
	  const uint32_t *contents)
{
	fputs("address,type,size,refcnt,label,contents\n", stdout);
	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = sel[k];
		printf("0x%" PRIx64 ",", d->obj_addr[i]);
		tbl_csv_field(stdout, fmt_str(d, d->types[d->obj_type[i]].name));
		printf(",%" PRIu64 ",%" PRIu64 ",", d->obj_size[i],
		       (uint64_t)d->obj_refcnt[i]);
		tbl_csv_field(stdout, fmt_str(d, d->obj_label[i]));
		fputc(',', stdout);
		if (contents && contents[i])
			tbl_csv_field(stdout, fmt_str(d, d->strdata[
				contents[i] - 1].str));
		fputc('\n', stdout);
	}
}

/* contents[i] = 1 + the STRDATA entry of object i, 0 if none; NULL when
 * the dump has no string contents.  Returns -1 on allocation failure. */
static int
index_contents(const struct fmt_dump *d, uint32_t **out)
{
	uint32_t *c;

	*out = NULL;
	if (!d->nstrdata)
		return 0;
	c = calloc(d->nobjects, sizeof *c);
	if (!c)
		return -1;
	for (uint32_t k = 0; k < d->nstrdata; k++)
		c[d->strdata[k].obj] = k + 1;
	*out = c;
	return 0;
}

int
cmd_objects(int argc, char **argv)
{
	struct objects_args a;
	struct fmt_dump d;
	uint64_t *sel = NULL, n;
	uint32_t *contents = NULL;
	uint8_t *type_ok = NULL;
	struct sort_ctx sc;
	int rc;

	if (!parse_args(argc, argv, &a, &rc))
		return rc;
	rc = util_read_dump(a.path, FMT_READ_ALL, &d);
	if (rc)
		return rc;
	if (!(d.flags & FMT_FLAG_GRAPH)) {
		fmt_dump_free(&d);
		fprintf(stderr, "muppy: error: %s is a summary-only dump "
			"(MUPPY_MODE=summary); objects need a graph dump\n",
			a.path);
		return MUPPY_EXIT_USAGE;
	}
	rc = MUPPY_EXIT_FAILURE;
	if (a.type) {
		int64_t nt;

		type_ok = calloc(d.ntypes + 1u, 1);
		if (!type_ok)
			goto oom;
		nt = graph_types_named(&d, a.path, a.type, type_ok);
		if (nt < 0) {
			rc = MUPPY_EXIT_USAGE;
			goto done;
		}
		if (nt == 0)
			util_warning("%s has no type named '%s'", a.path,
				     a.type);
	}
	if (d.nobjects < SIZE_MAX / sizeof *sel)
		sel = malloc((d.nobjects ? d.nobjects : 1) * sizeof *sel);
	if (!sel || index_contents(&d, &contents) != 0)
		goto oom;
	n = select_objects(&d, &a, type_ok, sel);
	sc.d = &d;
	sc.key = a.sort;
	qsort_r(sel, n, sizeof *sel, obj_cmp, &sc);  /* GNU: context arg */
	if (a.limit && a.limit < n)
		n = a.limit;
	if (a.format == UTIL_FORMAT_JSON)
		print_json(&d, sel, n, contents);
	else if (a.format == UTIL_FORMAT_CSV)
		print_csv(&d, sel, n, contents);
	else if (print_text(&d, sel, n, contents) != 0)
		goto oom;
	rc = util_finish_stdout(MUPPY_EXIT_OK);
	goto done;
oom:
	util_error("out of memory");
done:
	free(type_ok);
	free(sel);
	free(contents);
	fmt_dump_free(&d);
	return rc;
}
