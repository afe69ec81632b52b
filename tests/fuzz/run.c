/*
 * run.c - the commands both fuzz targets run on each input (fuzz.h).
 *
 * The input is written to one file and every reader of dumps in `muppy`
 * is run on it, as a user would: `info`, `summary`, `diff` of the file
 * with itself (plain and --objects), `objects`, `cat`, `tree`, `path`,
 * `leaks`, `track`, `top`, `orphans`, in text and in json or csv.
 * Object addresses and a type name for `tree` and `path` come from the
 * dump itself (its first, middle and last objects), so those commands see
 * more than "no object at 0x..." errors.
 *
 * Output goes to /dev/null (stdout at startup; run with -close_fd_mask=3
 * so the commands' error lines do not flood the log: libFuzzer and the
 * sanitizers keep their own descriptor).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/fuzz/fuzz.h"

#include <fcntl.h>    /* open */
#include <inttypes.h> /* PRIx64 */
#include <stdio.h>    /* snprintf, fflush */
#include <stdlib.h>   /* abort, getenv, atexit */
#include <string.h>   /* strlen */
#include <unistd.h>   /* ftruncate, pwrite, unlink */

#include "format/dump.h"   /* fmt_read_file, fmt_dump */
#include "tools/muppy.h"   /* muppy_main */

static struct {
	int fd;              /* the input file, -1 before the first input */
	char path[4096];
} fuzz = { -1, "" };

static void
fuzz_cleanup(void)
{
	if (fuzz.path[0])
		unlink(fuzz.path);
}

static void
fuzz_open(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(fuzz.path, sizeof fuzz.path, "%s/muppy-fuzz.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	fuzz.fd = mkstemp(fuzz.path);
	if (fuzz.fd < 0)
		abort();
	atexit(fuzz_cleanup);
}

const char *
fuzz_put_file(const void *buf, size_t len)
{
	if (fuzz.fd < 0)
		fuzz_open();
	if (ftruncate(fuzz.fd, 0) != 0 ||
	    (len && pwrite(fuzz.fd, buf, len, 0) != (ssize_t)len))
		abort();
	return fuzz.path;
}

/* Runs `muppy args...` (NULL-terminated) and returns its status. */
static int
fuzz_muppy(const char *const *args)
{
	char *argv[16];
	int argc = 0, status;

	argv[argc++] = "muppy";
	while (*args && argc < 15)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	status = muppy_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	if (status < 0 || status > 2)
		abort();
	return status;
}

/* One command on a dump the reader accepted: only 0 or 2 (the command's
 * own check of its input) is right; 1 is a runtime failure, and the only
 * one valid input may cause here is running out of memory, which the
 * libFuzzer -rss_limit_mb and -malloc_limit_mb options report anyway. */
static void
fuzz_valid(const char *const *args)
{
	int status = fuzz_muppy(args);

	if (status == 1 && !getenv("MUPPY_FUZZ_ALLOW_FAILURE"))
		abort();
}

#define RUN(...) fuzz_muppy((const char *const[]){ __VA_ARGS__, NULL })
#define VALID(...) fuzz_valid((const char *const[]){ __VA_ARGS__, NULL })

static void
fuzz_graph_commands(const char *p, const struct fmt_dump *d)
{
	char addr[3][32];
	uint64_t pick[3] = { 0, d->nobjects / 2, d->nobjects - 1 };
	const char *type;

	for (int i = 0; i < 3; i++)
		snprintf(addr[i], sizeof addr[i], "0x%" PRIx64,
			 d->obj_addr[pick[i]]);
	type = fmt_str(d, d->types[d->obj_type[0]].name);
	VALID("objects", p, "--sort", "refcnt", "--limit", "50");
	VALID("objects", p, "--type", type, "--format", "json");
	VALID("cat", p);
	for (int i = 0; i < 3; i++) {
		VALID("tree", p, addr[i], "--maxdepth", "4");
		VALID("tree", p, addr[i], "--referents", "--no-repeat",
		      "--label", "full", "--format", "json");
		VALID("path", p, addr[i], "--limit", "3");
	}
	VALID("tree", p, "--type", type, "--limit", "2", "--format", "dot");
	VALID("path", p, addr[1], "--format", "csv");
	VALID("leaks", p, p, "--format", "json");
	VALID("leaks", p, p, p);
	VALID("top", p, "--limit", "20");
	VALID("top", p, "--by-type", "--format", "csv");
	VALID("orphans", p);
	VALID("orphans", p, "--objects", "--sort", "size", "--format", "json");
	VALID("orphans", p, p, "--format", "csv");
	VALID("leaks", p, p, p, p, "--format", "json");
	VALID("diff", p, p, "--objects");
	/* Every page of the browser, with a group opened where there is one. */
	VALID("browse", p, p, "--batch",
	      "t<Enter>G<Enter>r<Enter>f<Enter>d<Enter>p<Left>D<End><Enter>"
	      "s<Enter>ss?<PgDn>L/" , "--size", "10x40");
	for (int i = 0; i < 3; i++)
		VALID("browse", p, addr[i], "--batch", "<Enter>fjj<Enter>kpq");
	/* The report, to stdout (which the fuzzers send to /dev/null). */
	VALID("report", p, p, "-o", "-", "--max-objects", "1000");
}

void
fuzz_run_commands(const char *p)
{
	struct fmt_dump d;
	int rc = fmt_read_file(p, FMT_READ_ALL, &d, NULL, 0);

	if (rc != 0) {
		/* The commands that decode everything must reject it
		 * (status 2, or 1 when the reader ran out of memory).
		 * summary and diff decode only the summary sections
		 * (FMT_READ_SUMMARY) and may accept it. */
		if (RUN("info", p) == 0 || RUN("tree", p, "0x1") == 0 ||
		    RUN("leaks", p, p) == 0 ||
		    RUN("browse", p, "--batch", "q") == 0 ||
		    RUN("report", p, "-o", "-") == 0)
			abort();
		RUN("summary", p);
		RUN("diff", p, p, "--format", "json");
		return;
	}
	VALID("info", p);
	VALID("info", p, "--format", "json");
	VALID("summary", p, "--sort", "count");
	VALID("summary", p, "--format", "csv", "--limit", "5");
	VALID("diff", p, p);
	VALID("track", p, p, "--format", "json");
	if ((d.flags & FMT_FLAG_GRAPH) && d.nobjects > 0)
		fuzz_graph_commands(p, &d);
	else
		RUN("tree", p, "0x10");   /* a summary dump: refused */
	fmt_dump_free(&d);
}
