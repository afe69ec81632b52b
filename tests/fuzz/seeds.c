/*
 * seeds.c - writes the fuzz targets' starting corpora.
 *
 *   fuzz_seeds FILE_DIR BODY_DIR [DUMP...]
 *
 * FILE_DIR gets whole dump files (fuzz_file's input), BODY_DIR the same
 * dumps as fuzz_body's input (a flags byte, then the inflated body).  The
 * seeds are small synthetic dumps written with fmt_write that use every
 * section, edge kind and root kind (a graph with strings, a graph, a
 * summary-only dump, an empty heap), plus any real DUMP files given (the
 * test run passes dumps the shim made of a real interpreter).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>    /* errno */
#include <stdio.h>    /* fopen, fwrite, fprintf, open_memstream */
#include <stdlib.h>   /* malloc, free */
#include <string.h>   /* strerror, strrchr, memcpy */
#include <zlib.h>     /* uncompress */

#include "format/bytes.h"  /* get_u64 */
#include "format/dump.h"   /* fmt_write, fmt_read_mem, FMT_* */

/* fmt_write's sink into an open_memstream FILE. */
static int
stream_sink(void *ctx, const void *data, size_t len)
{
	return fwrite(data, 1, len, ctx) == len ? 0 : -EIO;
}

static int
put(const char *dir, const char *name, const void *a, size_t alen,
    const void *b, size_t blen)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "fuzz_seeds: %s: %s\n", path, strerror(errno));
		return 1;
	}
	ok = fwrite(a, 1, alen, f) == alen && fwrite(b, 1, blen, f) == blen;
	return (fclose(f) != 0 || !ok) ? 1 : 0;
}

/* Writes file (a whole dump) into both corpora under name. */
static int
put_both(const char *fdir, const char *bdir, const char *name,
	 const unsigned char *file, size_t len)
{
	uint64_t n;
	unsigned char *body, flags;
	uLongf got;
	int rc;

	if (len < FMT_HEADER_SIZE + FMT_TRAILER_SIZE)
		return 1;
	n = get_u64(file + len - FMT_TRAILER_SIZE);
	body = malloc(n ? n : 1);
	got = (uLongf)n;
	if (!body || uncompress(body, &got, file + FMT_HEADER_SIZE,
				len - FMT_HEADER_SIZE - FMT_TRAILER_SIZE) != Z_OK) {
		free(body);
		fprintf(stderr, "fuzz_seeds: %s: not a dump\n", name);
		return 1;
	}
	flags = file[12] & 3u;
	rc = put(fdir, name, file, len, "", 0) |
	     put(bdir, name, &flags, 1, body, got);
	free(body);
	return rc;
}

/* ---- the synthetic heap ------------------------------------------------ */

static struct fmt_str strs[] = {
	{ "", 0 }, { "pid", 3 }, { "4242", 4 }, { "python", 6 },
	{ "3.11.2", 6 }, { "dict", 4 }, { "list", 4 }, { "str", 3 },
	{ "__main__.Session", 16 }, { "module", 6 }, { "frame", 5 },
	{ "registry", 8 }, { "ping", 4 }, { "app", 3 }, { "thread 1", 8 },
	{ "hello world", 11 }, { "self", 4 }, { "__dict__", 8 },
	{ "module(app)", 11 }, { "function", 8 }, { "function (ping)", 15 },
};

enum {
	S_PID = 1, S_PIDV, S_PY, S_PYV, S_DICT, S_LIST, S_STR, S_SESSION,
	S_MODULE, S_FRAME, S_REGISTRY, S_PING, S_APP, S_THREAD, S_HELLO,
	S_SELF, S_DUNDER_DICT, S_MODAPP, S_FUNCTION, S_FUNCPING,
};

static struct fmt_meta meta[] = { { S_PID, S_PIDV }, { S_PY, S_PYV } };
static struct fmt_type types[] = {
	{ 0x9000, S_DICT }, { 0x9010, S_LIST }, { 0x9020, S_STR },
	{ 0x9030, S_SESSION }, { 0x9040, S_MODULE }, { 0x9050, S_FRAME },
	{ 0x9060, S_FUNCTION },
};
static struct fmt_summary_row rows[] = {
	{ S_DICT, 2, 464 }, { S_LIST, 1, 72 }, { S_STR, 1, 60 },
	{ S_SESSION, 3, 144 }, { S_MODAPP, 1, 72 }, { S_FRAME, 1, 400 },
	{ S_FUNCPING, 1, 136 },
};

/* Objects in address order: 0 module, 1 its dict, 2 registry list,
 * 3-5 sessions, 6 a str, 7 a frame, 8 a function, 9 an unreferenced dict. */
static uint64_t addr[] = { 0x1000, 0x1100, 0x1200, 0x1300, 0x1340, 0x1380,
			   0x1400, 0x1500, 0x1600, 0x1700 };
static uint32_t otype[] = { 4, 0, 1, 3, 3, 3, 2, 5, 6, 0 };
static uint64_t osize[] = { 72, 232, 72, 48, 48, 48, 60, 400, 136, 232 };
static uint32_t refcnt[] = { 3, 1, 1, 2, 1, 1, 2, 1, 2, 0 };
static uint32_t label[] = { S_APP, 0, 0, 0, 0, 0, 0, 0, S_PING, 0 };
static uint8_t oflags[] = { 1, 1, 1, 1, 1, 1, 0, 1, 1, 1 };
static uint32_t estart[] = { 0, 1, 3, 6, 7, 7, 7, 7, 10, 10, 10 };
static uint32_t edst[] = { 1, 2, 8, 3, 4, 5, 6, 6, 3, 8, };
static uint32_t ename[10];
static struct fmt_root roots[] = { { 0, FMT_ROOT_MODULE, S_APP },
				   { 7, FMT_ROOT_FRAME, S_THREAD },
				   { 4, FMT_ROOT_OTHER, 0 } };
static struct fmt_strdata strdata[] = { { 6, S_HELLO } };

static void
synthetic(struct fmt_dump *d, uint32_t flags)
{
	uint32_t names[] = {
		FMT_EDGE_NAME(FMT_EDGE_OTHER, S_DUNDER_DICT),
		FMT_EDGE_NAME(FMT_EDGE_KEY, S_REGISTRY),
		FMT_EDGE_NAME(FMT_EDGE_KEY, S_PING),
		FMT_EDGE_NAME(FMT_EDGE_INDEX, 0),
		FMT_EDGE_NAME(FMT_EDGE_INDEX, 1),
		FMT_EDGE_NAME(FMT_EDGE_INDEX, 2),
		FMT_EDGE_NAME(FMT_EDGE_ATTR, S_SELF),
		FMT_EDGE_NAME(FMT_EDGE_LOCAL, S_SELF),
		FMT_EDGE_NAME(FMT_EDGE_CELL, S_SELF),
		FMT_EDGE_NAME(FMT_EDGE_NONE, 0),
	};

	memcpy(ename, names, sizeof ename);
	memset(d, 0, sizeof *d);
	d->flags = flags;
	d->nstrings = sizeof strs / sizeof strs[0];
	d->strings = strs;
	d->nmeta = 2;
	d->meta = meta;
	d->ntypes = sizeof types / sizeof types[0];
	d->types = types;
	d->nsummary = sizeof rows / sizeof rows[0];
	d->summary = rows;
	if (!(flags & FMT_FLAG_GRAPH))
		return;
	d->nobjects = sizeof addr / sizeof addr[0];
	d->obj_addr = addr;
	d->obj_type = otype;
	d->obj_size = osize;
	d->obj_refcnt = refcnt;
	d->obj_label = label;
	d->obj_flags = oflags;
	d->nedges = sizeof edst / sizeof edst[0];
	d->edge_start = estart;
	d->edge_dst = edst;
	d->edge_name = ename;
	d->nroots = sizeof roots / sizeof roots[0];
	d->roots = roots;
	if (flags & FMT_FLAG_STRINGS) {
		d->nstrdata = 1;
		d->strdata = strdata;
	}
}

static int
write_synthetic(const char *fdir, const char *bdir)
{
	static const struct { const char *name; uint32_t flags; int empty; }
	seeds[] = {
		{ "synthetic-strings", FMT_FLAG_GRAPH | FMT_FLAG_STRINGS, 0 },
		{ "synthetic-graph", FMT_FLAG_GRAPH, 0 },
		{ "synthetic-summary", 0, 0 },
		{ "synthetic-empty", FMT_FLAG_GRAPH, 1 },
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		struct fmt_dump d;
		static uint32_t zero_start[1];
		char *file = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&file, &len);
		int wrc;

		synthetic(&d, seeds[i].flags);
		if (seeds[i].empty) {
			d.nobjects = d.nedges = 0;
			d.nroots = 0;
			d.edge_start = zero_start;
		}
		wrc = f ? fmt_write(&d, 6, stream_sink, f) : MUPPY_ENOMEM;
		if (!f || fclose(f) != 0 || wrc != 0) {
			fprintf(stderr, "fuzz_seeds: %s: fmt_write failed\n",
				seeds[i].name);
			rc = 1;
		} else {
			rc |= put_both(fdir, bdir, seeds[i].name,
				       (unsigned char *)file, len);
		}
		free(file);
	}
	return rc;
}

/* The whole file at path in a malloc'ed buffer (*len bytes), or NULL. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long n;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc(n ? n : 1)) != NULL &&
	    fread(p, 1, n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	*len = p ? (size_t)n : 0;
	if (f)
		fclose(f);
	return p;
}

static int
copy_dump(const char *fdir, const char *bdir, const char *path)
{
	struct fmt_dump d;
	char err[256];
	const char *base = strrchr(path, '/');
	unsigned char *file;
	size_t len;
	int rc;

	/* A seed that is not a valid dump teaches the fuzzer nothing. */
	if (fmt_read_file(path, FMT_READ_ALL, &d, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_seeds: %s: %s\n", path, err);
		return 1;
	}
	fmt_dump_free(&d);
	file = slurp(path, &len);
	if (!file) {
		fprintf(stderr, "fuzz_seeds: %s: %s\n", path, strerror(errno));
		return 1;
	}
	rc = put_both(fdir, bdir, base ? base + 1 : path, file, len);
	free(file);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: fuzz_seeds FILE_DIR BODY_DIR [DUMP...]\n");
		return 2;
	}
	rc = write_synthetic(argv[1], argv[2]);
	for (int i = 3; i < argc; i++)
		rc |= copy_dump(argv[1], argv[2], argv[i]);
	return rc ? 1 : 0;
}
