/*
 * analysis_bench.c - measures the analyses of issue 3 (tree, path, leaks,
 * track, top, orphans, diff --objects) on a synthetic heap of N objects:
 * wall time and peak memory of each `muppy` command, load included.
 *
 *     analysis_bench MUPPY_BINARY [N] [DIR]
 *
 * N defaults to 1,000,000.  It writes two dumps into DIR (default: a new
 * directory under /tmp, removed at the end) with fmt_write: a heap shaped
 * like a program's (10 module roots, a tree of containers with fan-out 8
 * named by keys and indices, one extra cross reference per 5 objects, 20
 * types, a few objects held from outside), and a later dump of the same
 * process with 5% more objects hanging off one list.  Then it runs each
 * command as a child process and prints `seconds  peak-RSS  bytes/object`.
 * A measurement program, never a test: it asserts nothing but exit 0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* wait4, mkdtemp */
#endif
#include <stdint.h>        /* uint32_t, uint64_t */
#include <stdio.h>         /* printf, fopen */
#include <stdlib.h>        /* malloc, calloc, free, strtoull */
#include <string.h>        /* memset */
#include <sys/resource.h>  /* struct rusage */
#include <sys/time.h>
#include <sys/wait.h>      /* wait4 */
#include <time.h>          /* clock_gettime */
#include <unistd.h>        /* fork, execv */

#include "format/dump.h"   /* fmt_write */

#define NTYPES 20

static int
file_sink(void *ctx, const void *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

/* Writes the synthetic heap of n objects (+ extra new ones) to path. */
static int
write_heap(const char *path, uint64_t n, uint64_t extra)
{
	static const char *names[NTYPES + 4] = {"", "module", "dict", "list",
		"tuple", "str", "int", "float", "function", "app.Window",
		"app.Node", "bytes", "set", "cell", "frame", "method", "code",
		"type", "app.Cache", "app.Request", "weakref", "k", "windows",
		"__dict__"};
	uint64_t total = n + extra, ne = 0;
	struct fmt_dump d;
	struct fmt_str strs[NTYPES + 4];
	struct fmt_type types[NTYPES];
	struct fmt_root roots[10];
	uint64_t *addr = malloc(total * 8), *size = malloc(total * 8);
	uint32_t *rc = calloc(total, 4), *start = calloc(total + 1, 4);
	uint32_t *type = malloc(total * 4), *label = calloc(total, 4),
		 *dst = malloc(total * 2 * 4), *name = malloc(total * 2 * 4);
	uint8_t *flags = calloc(total, 1);
	FILE *f = NULL;
	int err = -1;

	if (!addr || !size || !rc || !start || !type || !label || !dst ||
	    !name || !flags)
		goto out;
	for (int i = 0; i < NTYPES + 4; i++)
		strs[i] = (struct fmt_str){names[i], (uint32_t)strlen(names[i])};
	for (int i = 0; i < NTYPES; i++)
		types[i] = (struct fmt_type){0x1000 + 16u * i, (uint32_t)i + 1};
	/* Object i's children: 8i+1 .. 8i+8 (a tree), plus a cross edge. */
	for (uint64_t i = 0; i < total; i++) {
		addr[i] = 0x100000 + 64 * i;
		type[i] = i < 10 ? 0 : (uint32_t)(1 + i % (NTYPES - 1));
		size[i] = 16 + (i * 7919) % 200;
		start[i] = ne;
		for (uint64_t c = 8 * i + 1; c <= 8 * i + 8 && c < n; c++) {
			dst[ne] = (uint32_t)c;
			name[ne++] = c % 2 ? FMT_EDGE_NAME(FMT_EDGE_INDEX, c % 8)
				     : FMT_EDGE_NAME(FMT_EDGE_KEY, 21);
		}
		if (i % 5 == 0 && i > 0) {
			dst[ne] = (uint32_t)((i * 2654435761u) % n);
			name[ne++] = FMT_EDGE_NAME(FMT_EDGE_ATTR, 22);
		}
		if (i == 42)  /* the list the new objects hang off */
			for (uint64_t k = n; k < total; k++) {
				dst[ne] = (uint32_t)k;
				name[ne++] = FMT_EDGE_NAME(FMT_EDGE_INDEX,
							   k - n);
			}
	}
	start[total] = ne;
	for (uint64_t e = 0; e < ne; e++)
		rc[dst[e]]++;
	for (uint64_t i = 0; i < total; i += 1000)
		rc[i] += 2;  /* held from outside */
	for (int r = 0; r < 10; r++)
		roots[r] = (struct fmt_root){(uint32_t)r, FMT_ROOT_MODULE, 23};
	memset(&d, 0, sizeof d);
	d.flags = FMT_FLAG_GRAPH;
	d.nstrings = NTYPES + 4;
	d.strings = strs;
	d.ntypes = NTYPES;
	d.types = types;
	d.nobjects = total;
	d.obj_addr = addr;
	d.obj_type = type;
	d.obj_size = size;
	d.obj_refcnt = rc;
	d.obj_label = label;
	d.obj_flags = flags;
	d.nedges = ne;
	d.edge_start = start;
	d.edge_dst = dst;
	d.edge_name = name;
	d.nroots = 10;
	d.roots = roots;
	f = fopen(path, "wbx");
	if (f && fmt_write(&d, 1, file_sink, f) == 0)
		err = 0;
out:
	if (f && fclose(f) != 0)
		err = -1;
	free(addr); free(size); free(rc); free(start); free(type);
	free(label); free(dst); free(name); free(flags);
	return err;
}

/* Runs argv with stdout to /dev/null; prints time and peak RSS. */
static int
measure(char **argv, uint64_t n)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	fflush(stdout);  /* or the child inherits and repeats our buffer */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%6.2f s  %7.1f MB  %5.0f B/object  exit %d ",
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ru.ru_maxrss / 1024.0, ru.ru_maxrss * 1024.0 / (double)n,
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	for (int i = 1; argv[i]; i++)
		printf(" %s", argv[i]);
	putchar('\n');
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	char dir[] = "/tmp/muppy-bench.XXXXXX", d1[4200], d2[4200], tgt[32];
	const char *where = argc > 3 ? argv[3] : NULL;
	int rc = 0;

	if (argc < 2 || n < 100 || n > 100000000) {
		fprintf(stderr, "usage: analysis_bench MUPPY_BINARY [N] [DIR]\n");
		return 2;
	}
	if (!where && !(where = mkdtemp(dir)))
		return 1;
	snprintf(d1, sizeof d1, "%s/bench.1.dump", where);
	snprintf(d2, sizeof d2, "%s/bench.2.dump", where);
	if (write_heap(d1, n, 0) || write_heap(d2, n, n / 20)) {
		fprintf(stderr, "analysis_bench: cannot write the dumps in %s\n",
			where);
		return 1;
	}
	snprintf(tgt, sizeof tgt, "0x%llx",
		 (unsigned long long)(0x100000 + 64 * (n - 1)));
	printf("%llu objects (second dump +%llu)\n", (unsigned long long)n,
	       (unsigned long long)(n / 20));
	char *cmds[][8] = {
		{argv[1], "summary", d1, NULL},
		{argv[1], "tree", d1, tgt, "--maxdepth", "5", NULL},
		{argv[1], "path", d1, tgt, "--limit", "3", NULL},
		{argv[1], "top", d1, NULL},
		{argv[1], "top", d1, "--by-type", NULL},
		{argv[1], "orphans", d1, NULL},
		{argv[1], "leaks", d1, d2, NULL},
		{argv[1], "track", d1, d2, NULL},
		{argv[1], "diff", d1, d2, "--objects", NULL},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (measure(cmds[i], n) != 0)
			rc = 1;
	if (where == dir) {
		unlink(d1);
		unlink(d2);
		rmdir(dir);
	}
	return rc;
}
