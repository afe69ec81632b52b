/*
 * cmd_info.c - `muppy info DUMP`: what a dump is, before any analysis:
 * format version, flags and mode, every META entry (with readable forms of
 * the raw values the shim records: ISO-8601 time, milliseconds, KB/MB),
 * the size of each table, file size and bytes per object.
 *
 * It decodes the whole dump (FMT_READ_ALL) because the object, edge and
 * root counts are counts of decoded sections; META is printed in the
 * order the dump holds it, keys this tool does not know included
 * (docs/design.md: readers ignore unknown keys, but `info` shows them).
 */
#include <inttypes.h> /* PRIu64 */
#include <stdio.h>    /* printf, snprintf */
#include <stdlib.h>   /* strtod, strtoull */
#include <string.h>   /* strcmp, strchr, strlen, strspn */
#include <sys/stat.h> /* stat */
#include <time.h>     /* gmtime_r, strftime */

#include "common/pympler.h" /* pym_size, pym_table_* */
#include "format/dump.h"   /* struct fmt_dump, fmt_meta_get, fmt_str */
#include "tools/muppy.h"   /* cmd_info, MUPPY_USAGE_INFO */
#include "tools/table.h"   /* tbl_format_size, tbl_json_string */
#include "tools/util.h"    /* option parsing, util_read_dump */

static const char info_help[] =
	"usage: " MUPPY_USAGE_INFO "\n"
	"\n"
	"Describes DUMP: format version, flags and mode, the metadata the shim\n"
	"recorded (pid, command line, Python version, trigger, time, RSS, GIL\n"
	"time...), the number of types, summary rows, objects, edges and roots,\n"
	"and the file's size per object.\n"
	"\n"
	"  --format FMT     text (default) or json\n"
	"  -h, --help       this help\n";

/* What the readable forms are computed from. */
struct info {
	const char *path;
	struct fmt_dump d;
	int64_t file_size;        /* -1 if stat failed */
	uint64_t heap_objects;    /* graph objects, else summary count sum */
	char time_iso[64];        /* "" if META time is absent or odd */
};

/* "1763782000.123456" -> "2025-11-22T03:26:40.123456Z" in buf; "" if the
 * text is not a Unix time with an optional fraction. */
static void
iso_time(const char *raw, char *buf, size_t len)
{
	const char *dot;
	char *end;
	unsigned long long secs;
	time_t t;
	struct tm tm;
	size_t n;

	buf[0] = '\0';
	if (!raw || !*raw || strspn(raw, "0123456789.") != strlen(raw))
		return;
	secs = strtoull(raw, &end, 10);
	if (end == raw || (*end && *end != '.'))
		return;
	dot = *end == '.' ? end : NULL;
	if (dot && (strchr(dot + 1, '.') || strlen(dot + 1) > 9))
		return;
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm))
		return;
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n)
		return;
	snprintf(buf + n, len - n, "%s%sZ", dot && dot[1] ? "." : "",
		 dot && dot[1] ? dot + 1 : "");
}

/* A META value that is a plain unsigned integer, or -1. */
static int64_t
meta_uint(const char *v)
{
	char *end;
	unsigned long long n;

	if (!v || !*v || strspn(v, "0123456789") != strlen(v))
		return -1;
	n = strtoull(v, &end, 10);
	return n > (unsigned long long)INT64_MAX ? -1 : (int64_t)n;
}

/* pp's text with its padding squeezed out: "  14.26 KB" -> "14.26 KB". */
static void
human_size(int64_t v, char *buf)
{
	char pp[PYM_SIZE_LEN], *o = buf;
	const char *s = pp;

	pym_size(v, pp);
	while (*s == ' ')
		s++;
	for (; *s; s++)
		if (*s != ' ' || (o > buf && o[-1] != ' '))
			*o++ = *s;
	*o = '\0';
}

static const char *
mode_of(const struct fmt_dump *d)
{
	const char *m = fmt_meta_get(d, "mode");

	if (m && *m)
		return m;
	return d->flags & FMT_FLAG_GRAPH ? "graph" : "summary";
}

static void
flag_names(uint32_t flags, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", flags & FMT_FLAG_GRAPH ? "graph" : "",
		 (flags & FMT_FLAG_GRAPH) && (flags & FMT_FLAG_STRINGS) ?
		 ", " : "", flags & FMT_FLAG_STRINGS ? "strings" : "");
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* The readable form of a META value ("" when there is none to add). */
static void
meta_note(const struct info *in, const char *key, const char *value,
	  char *buf, size_t len)
{
	int64_t n = meta_uint(value);

	buf[0] = '\0';
	if (strcmp(key, "time") == 0 && in->time_iso[0])
		snprintf(buf, len, "%s", in->time_iso);
	else if ((strcmp(key, "gil_ns") == 0 || strcmp(key, "walk_ns") == 0)
		 && n >= 0)
		snprintf(buf, len, "%.3f ms", (double)n / 1e6);
	else if (strcmp(key, "rss") == 0 && n >= 0)
		human_size(n, buf);
}

static void
print_text(const struct info *in)
{
	const struct fmt_dump *d = &in->d;
	char note[128], flags[32];

	flag_names(d->flags, flags, sizeof flags);
	printf("file:             %s\n", in->path);
	if (in->file_size >= 0) {
		human_size(in->file_size, note);
		printf("file size:        %" PRId64 " bytes (%s)\n",
		       in->file_size, note);
	}
	printf("format version:   %u.%u\n", d->major, d->minor);
	printf("flags:            0x%x (%s)\n", d->flags, flags);
	printf("mode:             %s\n", mode_of(d));
	printf("meta:\n");
	for (uint32_t i = 0; i < d->nmeta; i++) {
		const char *k = fmt_str(d, d->meta[i].key);
		const char *v = fmt_str(d, d->meta[i].value);
		int pad = 14 - (int)strlen(k);

		meta_note(in, k, v, note, sizeof note);
		printf("  %s:%*s %s%s%s%s\n", k, pad > 0 ? pad : 0, "", v,
		       note[0] ? " (" : "", note, note[0] ? ")" : "");
	}
	printf("counts:\n");
	printf("  strings:        %" PRIu32 "\n", d->nstrings);
	printf("  types:          %" PRIu32 "\n", d->ntypes);
	printf("  summary rows:   %" PRIu32 "\n", d->nsummary);
	printf("  objects:        %" PRIu64 "\n", d->nobjects);
	printf("  edges:          %" PRIu64 "\n", d->nedges);
	printf("  roots:          %" PRIu32 "\n", d->nroots);
	printf("  string values:  %" PRIu32 "\n", d->nstrdata);
	if (in->file_size >= 0 && in->heap_objects)
		printf("bytes per object: %.2f (%" PRIu64 " object%s)\n",
		       (double)in->file_size / (double)in->heap_objects,
		       in->heap_objects, in->heap_objects == 1 ? "" : "s");
	else
		printf("bytes per object: n/a (no objects)\n");
}

static void
json_str(const char *s)
{
	tbl_json_string(stdout, s, strlen(s));
}

static void
print_json(const struct info *in)
{
	const struct fmt_dump *d = &in->d;
	const char *gil = fmt_meta_get(d, "gil_ns");

	printf("{\n  \"file\": ");
	json_str(in->path);
	if (in->file_size >= 0)
		printf(",\n  \"file_size\": %" PRId64, in->file_size);
	else
		printf(",\n  \"file_size\": null");
	printf(",\n  \"major\": %u,\n  \"minor\": %u", d->major, d->minor);
	printf(",\n  \"flags\": %u,\n  \"graph\": %s,\n  \"strings\": %s",
	       d->flags, d->flags & FMT_FLAG_GRAPH ? "true" : "false",
	       d->flags & FMT_FLAG_STRINGS ? "true" : "false");
	printf(",\n  \"mode\": ");
	json_str(mode_of(d));
	printf(",\n  \"meta\": {");
	for (uint32_t i = 0; i < d->nmeta; i++) {
		printf("%s\n    ", i ? "," : "");
		json_str(fmt_str(d, d->meta[i].key));
		printf(": ");
		json_str(fmt_str(d, d->meta[i].value));
	}
	printf("%s}", d->nmeta ? "\n  " : "");
	printf(",\n  \"time_iso\": ");
	if (in->time_iso[0])
		json_str(in->time_iso);
	else
		printf("null");
	if (meta_uint(gil) >= 0)
		printf(",\n  \"gil_ms\": %.3f", (double)meta_uint(gil) / 1e6);
	else
		printf(",\n  \"gil_ms\": null");
	printf(",\n  \"counts\": {\"strings\": %" PRIu32 ", \"types\": %"
	       PRIu32 ", \"summary_rows\": %" PRIu32 ", \"objects\": %"
	       PRIu64 ", \"edges\": %" PRIu64 ", \"roots\": %" PRIu32
	       ", \"string_values\": %" PRIu32 "}", d->nstrings, d->ntypes,
	       d->nsummary, d->nobjects, d->nedges, d->nroots, d->nstrdata);
	if (in->file_size >= 0 && in->heap_objects)
		printf(",\n  \"bytes_per_object\": %.2f",
		       (double)in->file_size / (double)in->heap_objects);
	else
		printf(",\n  \"bytes_per_object\": null");
	printf("\n}\n");
}

int
cmd_info(int argc, char **argv)
{
	struct info in;
	struct stat st;
	enum util_format f = UTIL_FORMAT_TEXT;
	const struct util_option opts[] = {
		UTIL_OPT_FORMAT(&f, UTIL_FORMAT_TEXT | UTIL_FORMAT_JSON),
		UTIL_OPTIONS_END,
	};
	const struct util_command cmd = {
		MUPPY_USAGE_INFO, info_help, opts, &in.path, 1, 1,
		"a dump file is needed", NULL, NULL,
	};
	int rc;

	memset(&in, 0, sizeof in);
	if (!util_parse_command(&cmd, argc, argv, &rc))
		return rc;
	rc = util_read_dump(in.path, FMT_READ_ALL, &in.d);
	if (rc)
		return rc;
	in.file_size = stat(in.path, &st) == 0 ? (int64_t)st.st_size : -1;
	in.heap_objects = in.d.nobjects;
	if (!(in.d.flags & FMT_FLAG_GRAPH))
		for (uint32_t i = 0; i < in.d.nsummary; i++)
			in.heap_objects += in.d.summary[i].count;
	iso_time(fmt_meta_get(&in.d, "time"), in.time_iso,
		 sizeof in.time_iso);
	if (f == UTIL_FORMAT_JSON)
		print_json(&in);
	else
		print_text(&in);
	fmt_dump_free(&in.d);
	return util_finish_stdout(MUPPY_EXIT_OK);
}
