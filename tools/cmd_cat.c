/*
 * cmd_cat.c - `muppy cat DUMP`: the whole decoded dump as one JSON
 * document, for tests and debugging (what exactly did the shim record?).
 *
 * The document is written as it is walked, straight to stdout: beyond the
 * decoded dump itself nothing is held, so a dump of millions of objects
 * costs no second copy.  Addresses are strings ("0x7f..."): JSON numbers
 * lose precision above 2**53.  An object's edges name their target by
 * address too, so a reader need not resolve indices.
 *
 * Shape (one key per line at the top level, one object per line below):
 *   {"format": {"major", "minor", "flags"},
 *    "meta": {key: value, ...},                  in dump order
 *    "types": [{"address", "name"}, ...],
 *    "summary": [{"type", "count", "size"}, ...],
 *    "objects": [{"address", "type", "size", "refcnt", "gc_tracked",
 *                 "is_type", "label", "edges": [{"to", "kind", "name"}]}],
 *    "roots": [{"object", "kind", "name"}, ...],
 *    "strdata": [{"object", "value"}, ...]}
 * Edge kinds: none key index attr local cell dictkey other; an index
 * edge's name is a number, a none/dictkey edge's is null.
 */
#include <inttypes.h> /* PRIu64, PRIx64 */
#include <stdio.h>    /* printf, fputs, stdout */
#include <string.h>   /* strlen */

#include "format/dump.h"   /* struct fmt_dump, fmt_str, FMT_EDGE_* */
#include "tools/muppy.h"   /* cmd_cat, MUPPY_USAGE_CAT */
#include "tools/table.h"   /* tbl_json_string */
#include "tools/util.h"    /* option parsing, util_read_dump */

static const char cat_help[] =
	"usage: " MUPPY_USAGE_CAT "\n"
	"\n"
	"Writes everything DUMP holds as one JSON document: header, meta,\n"
	"types, summary rows, objects with their named edges, roots and\n"
	"string contents.  For tests and debugging; the layout is described\n"
	"in docs/usage.md.\n"
	"\n"
	"  -h, --help       this help\n";

static void
jstr(const struct fmt_dump *d, uint32_t id)
{
	const char *s = fmt_str(d, id);
	tbl_json_string(stdout, s, id < d->nstrings ? d->strings[id].len :
				   (uint32_t)strlen(s));
}

static void
cat_tables(const struct fmt_dump *d)
{
	printf("{\n\"format\": {\"major\": %u, \"minor\": %u, \"flags\": %u},"
	       "\n\"meta\": {", d->major, d->minor, d->flags);
	for (uint32_t i = 0; i < d->nmeta; i++) {
		fputs(i ? ",\n  " : "\n  ", stdout);
		jstr(d, d->meta[i].key);
		fputs(": ", stdout);
		jstr(d, d->meta[i].value);
	}
	fputs(d->nmeta ? "\n},\n\"types\": [" : "},\n\"types\": [", stdout);
	for (uint32_t i = 0; i < d->ntypes; i++) {
		printf("%s  {\"address\": \"0x%" PRIx64 "\", \"name\": ",
		       i ? ",\n" : "\n", d->types[i].addr);
		jstr(d, d->types[i].name);
		fputc('}', stdout);
	}
	fputs(d->ntypes ? "\n],\n\"summary\": [" : "],\n\"summary\": [",
	      stdout);
	for (uint32_t i = 0; i < d->nsummary; i++) {
		fputs(i ? ",\n  {\"type\": " : "\n  {\"type\": ", stdout);
		jstr(d, d->summary[i].name);
		printf(", \"count\": %" PRIu64 ", \"size\": %" PRIu64 "}",
		       d->summary[i].count, d->summary[i].size);
	}
	fputs(d->nsummary ? "\n]" : "]", stdout);
}

static void
cat_edge(const struct fmt_dump *d, uint64_t e)
{
	static const char *const kinds[8] = {"none", "key", "index", "attr",
					     "local", "cell", "dictkey",
					     "other"};
	uint32_t name = d->edge_name[e];
	enum fmt_edge_kind kind = FMT_EDGE_KIND(name);

	printf("{\"to\": \"0x%" PRIx64 "\", \"kind\": \"%s\", \"name\": ",
	       d->obj_addr[d->edge_dst[e]], kinds[kind]);
	if (kind == FMT_EDGE_INDEX)
		printf("%" PRIu32, FMT_EDGE_VALUE(name));
	else if (kind == FMT_EDGE_NONE || kind == FMT_EDGE_DICTKEY)
		fputs("null", stdout);
	else
		jstr(d, FMT_EDGE_VALUE(name));
	fputc('}', stdout);
}

static void
cat_objects(const struct fmt_dump *d)
{
	fputs(",\n\"objects\": [", stdout);
	for (uint64_t i = 0; i < d->nobjects; i++) {
		printf("%s  {\"address\": \"0x%" PRIx64 "\", \"type\": ",
		       i ? ",\n" : "\n", d->obj_addr[i]);
		jstr(d, d->types[d->obj_type[i]].name);
		printf(", \"size\": %" PRIu64 ", \"refcnt\": %" PRIu64
		       ", \"gc_tracked\": %s, \"is_type\": %s, \"label\": ",
		       d->obj_size[i], (uint64_t)d->obj_refcnt[i],
		       d->obj_flags[i] & FMT_OBJ_GC_TRACKED ? "true" : "false",
		       d->obj_flags[i] & FMT_OBJ_TYPE ? "true" : "false");
		jstr(d, d->obj_label[i]);
		fputs(", \"edges\": [", stdout);
		for (uint64_t e = d->edge_start[i]; e < d->edge_start[i + 1];
		     e++) {
			if (e > d->edge_start[i])
				fputs(", ", stdout);
			cat_edge(d, e);
		}
		fputs("]}", stdout);
	}
	fputs(d->nobjects ? "\n]" : "]", stdout);
}

static void
cat_roots_strdata(const struct fmt_dump *d)
{
	static const char *const kinds[4] = {"unknown", "module", "frame",
					     "other"};

	fputs(",\n\"roots\": [", stdout);
	for (uint32_t i = 0; i < d->nroots; i++) {
		uint32_t k = d->roots[i].kind;
		printf("%s  {\"object\": \"0x%" PRIx64 "\", \"kind\": \"%s\", "
		       "\"name\": ", i ? ",\n" : "\n",
		       d->obj_addr[d->roots[i].obj], kinds[k < 4 ? k : 0]);
		jstr(d, d->roots[i].name);
		fputc('}', stdout);
	}
	fputs(d->nroots ? "\n],\n\"strdata\": [" : "],\n\"strdata\": [",
	      stdout);
	for (uint32_t i = 0; i < d->nstrdata; i++) {
		printf("%s  {\"object\": \"0x%" PRIx64 "\", \"value\": ",
		       i ? ",\n" : "\n", d->obj_addr[d->strdata[i].obj]);
		jstr(d, d->strdata[i].str);
		fputc('}', stdout);
	}
	fputs(d->nstrdata ? "\n]\n}\n" : "]\n}\n", stdout);
}

int
cmd_cat(int argc, char **argv)
{
	struct fmt_dump d;
	const char *path = NULL;
	const struct util_option opts[] = { UTIL_OPTIONS_END };
	const struct util_command cmd = {
		MUPPY_USAGE_CAT, cat_help, opts, &path, 1, 1,
		"a dump file is needed", NULL, NULL,
	};
	int rc;

	if (!util_parse_command(&cmd, argc, argv, &rc))
		return rc;
	rc = util_read_dump(path, FMT_READ_ALL, &d);
	if (rc)
		return rc;
	cat_tables(&d);
	cat_objects(&d);
	cat_roots_strdata(&d);
	fmt_dump_free(&d);
	return util_finish_stdout(MUPPY_EXIT_OK);
}
