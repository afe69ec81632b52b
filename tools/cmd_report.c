/*
 * cmd_report.c - `muppy report D1 [D2 ... Dn] [-o FILE]`: the leak hunt as
 * one self-contained HTML file to attach to a ticket (tools/report.h).
 * The newest dump (by META time) is the one explored; all of them give
 * the growth and the suspects, as in `muppy browse` (tools/loaded.h
 * orders them).
 *
 * The file appears whole or not at all: it is written to a temporary file
 * beside it, created 0600 (a report holds what the dumps hold: paths,
 * names, the command line), then renamed over FILE; a symlink at FILE is
 * replaced, never followed.  -o - writes to stdout.
 */
#include <errno.h>    /* errno */
#include <fcntl.h>    /* open, O_* */
#include <inttypes.h> /* PRIu64 */
#include <stdio.h>    /* FILE, fdopen, printf */
#include <stdlib.h>   /* malloc, free */
#include <string.h>   /* strerror, strlen */
#include <sys/stat.h> /* fstat */
#include <unistd.h>   /* close, unlink, getpid, fsync */

#include "tools/graph.h"   /* graph_parse_address */
#include "tools/loaded.h"  /* struct loaded, loaded_* */
#include "tools/muppy.h"   /* cmd_report, MUPPY_USAGE_REPORT */
#include "tools/report.h"  /* report_write */
#include "tools/util.h"    /* options, messages, exit statuses */

#define REPORT_MAX_DUMPS 30000   /* leaks' bound */

#define REPORT_DEFAULT_SUSPECTS 20
#define REPORT_DEFAULT_RETAINERS 20
#define REPORT_DEFAULT_OBJECTS 30000
#define REPORT_MIN_OBJECTS 1000

static const char report_help[] =
	"usage: " MUPPY_USAGE_REPORT "\n"
	"\n"
	"Writes the leak hunt as one HTML file that opens from disk in any\n"
	"browser, with nothing to fetch: the process and its dumps, growth\n"
	"charts, the leak suspects with their holders, the top retainers,\n"
	"and an explorer of the objects around them (referrers, referents,\n"
	"dominated objects).  Dumps of one process, in any order: the newest\n"
	"is explored, all of them give the growth.\n"
	"\n"
	"  -o, --output FILE    where to write it (default report.html;\n"
	"                       - for stdout); replaced whole, mode 0600\n"
	"  --suspects N         leak suspects shown (default "
	UTIL_STR(REPORT_DEFAULT_SUSPECTS) ", 0: all)\n"
	"  --retainers N        top retainers shown (default "
	UTIL_STR(REPORT_DEFAULT_RETAINERS) ")\n"
	"  --root ADDRESS       the explorer opens on this object's referrers\n"
	"  --max-objects N      objects in the explorer (default "
	UTIL_STR(REPORT_DEFAULT_OBJECTS) ",\n"
	"                       at least " UTIL_STR(REPORT_MIN_OBJECTS) ")\n"
	"  -h, --help           this help\n";

struct report_args {
	const char **files;
	size_t nfiles;
	const char *output;
	const char *root;
	uint64_t suspects, retainers, objects;
};

/* A temporary file beside path, 0600, never an existing one. */
static FILE *
open_beside(const char *path, char **tmp)
{
	size_t n = strlen(path) + 32;
	FILE *f;
	int fd = -1;

	*tmp = malloc(n);
	if (!*tmp)
		return NULL;
	for (int k = 0; k < 100 && fd < 0; k++) {
		snprintf(*tmp, n, "%s.%ld.%d.tmp", path, (long)getpid(), k);
		fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(*tmp);
	}
	return f;
}

static int
write_report(const struct report_args *a, const struct loaded *l,
	     uint32_t root)
{
	struct report_opts o = { (uint32_t)a->suspects,
				 (uint32_t)a->retainers, (uint32_t)a->objects,
				 root };
	struct report_stats st = {0};
	const char *out = a->output ? a->output : "report.html";
	int to_stdout = strcmp(out, "-") == 0;
	char *tmp = NULL;
	FILE *f = to_stdout ? stdout : open_beside(out, &tmp);
	int rc, bad;
	struct stat sb;

	if (!f) {
		rc = util_error("cannot write %s: %s", out, strerror(errno));
		free(tmp);
		return rc;
	}
	rc = report_write(f, l, &o, &st);
	if (to_stdout)
		return rc;
	bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (!rc && bad)
		rc = util_error("cannot write %s: %s", out, strerror(errno));
	if (!rc && rename(tmp, out) != 0)
		rc = util_error("cannot write %s: %s", out, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	if (!rc && stat(out, &sb) == 0)
		printf("wrote %s (%.1f KB): %u dumps, %u suspects, %u "
		       "retainers, %u objects to explore\n", out,
		       sb.st_size / 1024.0, st.dumps, st.suspects,
		       st.retainers, st.nodes);
	return rc;
}

/* --root's object of d into *obj (UINT32_MAX without --root). */
static int
root_object(const struct report_args *a, const struct loaded *l,
	    uint32_t *obj)
{
	const struct fmt_dump *d = &l->d;
	uint64_t addr;
	int64_t i;

	if (!a->root)
		return 0;
	if (graph_parse_address(a->root, &addr) != 0)
		return util_usage_error(MUPPY_USAGE_REPORT, "--root wants an "
					"address (0x... or a decimal id()), not "
					"'%s'", a->root);
	i = fmt_find_object(d, addr);
	if (i < 0)
		return util_usage_error(MUPPY_USAGE_REPORT, "%s has no object "
					"at %s", l->series[l->nseries - 1],
					a->root);
	*obj = (uint32_t)i;
	return 0;
}

int
cmd_report(int argc, char **argv)
{
	struct report_args a = { .suspects = REPORT_DEFAULT_SUSPECTS,
		.retainers = REPORT_DEFAULT_RETAINERS,
		.objects = REPORT_DEFAULT_OBJECTS };
	const struct util_option opts[] = {
		UTIL_OPT_STRING("output", 'o', &a.output),
		UTIL_OPT_STRING("root", 0, &a.root),
		UTIL_OPT_UINT("suspects", 0, &a.suspects, 0, UINT32_MAX),
		UTIL_OPT_UINT("retainers", 0, &a.retainers, 0, 10000),
		UTIL_OPT_UINT("max-objects", 0, &a.objects,
			      REPORT_MIN_OBJECTS, 100000000),
		UTIL_OPTIONS_END,
	};
	const char **files = malloc(((size_t)argc + 1) * sizeof *files);
	const struct util_command c = { MUPPY_USAGE_REPORT, report_help, opts,
		files, 1, REPORT_MAX_DUMPS, "a dump file is needed",
		"too many dumps", &a.nfiles };
	struct loaded l = {0};
	uint32_t root = UINT32_MAX;
	int rc;

	if (!files)
		return util_error("out of memory");
	a.files = files;
	if (!util_parse_command(&c, argc, argv, &rc))
		goto out;
	rc = loaded_open(&l, NULL, a.files, a.nfiles);
	if (!rc)
		rc = root_object(&a, &l, &root);
	if (!rc)
		rc = write_report(&a, &l, root);
	loaded_close(&l);
	rc = util_finish_stdout(rc);
out:
	free(files);
	return rc;
}
