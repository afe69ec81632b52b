/*
 * walk_driver.c - a test-only entry into the walker, for tests/walk/walk_check.py.
 *
 * Built as its own shared object together with shim/walk/walk.c, shim/cpython/pyapi.c
 * and the format/ sources (see walk_check.py for the command), loaded with
 * ctypes.PyDLL so the GIL stays held during the call.  It walks, finishes,
 * checks that fmt_write accepts the result and that fmt_read_mem gives it
 * back, and writes the dump as text lines the checker parses:
 *
 *   S <count> <size> <name>            summary row
 *   T <index> <addr> <name>            type
 *   O <index> <addr> <type> <size> <refcnt> <flags> <label>
 *   E <src> <dst> <kind> <value>       (value: text for string kinds)
 *   R <obj> <kind> <name>
 *   D <obj> <hex bytes>                string contents
 *   I <key> <value>                    walk facts (rc, stats, times)
 *
 * Fields are tab-separated; names have \, tab and newline escaped.  It is
 * not part of libmuppy.so and exports walk_test_* only.
 */
#include <pthread.h>  /* pthread_create, pthread_join */
#include <stdio.h>    /* fopen, fprintf */
#include <stdlib.h>   /* malloc, free */
#include <string.h>   /* memcpy */
#include <time.h>     /* clock_gettime */

#include "common/clock.h"  /* muppy_now_ns */
#include "format/dump.h"
#include "format/order.h"  /* fmt_edges_max_row */
#include "shim/cpython/pyapi.h"  /* py.lay */
#include "shim/walk/walk.h"

extern long walk_test_fail_after;
extern long walk_test_seen_widen_at;

#define EXPORT __attribute__((visibility("default")))

static void
put_esc(FILE *f, const char *s, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == 0)
			fputs("\\0", f);
		else
			fputc(c, f);
	}
}

static void
put_str(FILE *f, const struct fmt_dump *d, uint32_t id)
{
	if (id >= d->nstrings) {
		fputs("<bad id>", f);
		return;
	}
	put_esc(f, d->strings[id].ptr, d->strings[id].len);
}

struct membuf {
	char *p;
	size_t n, cap;
};

static int
mem_sink(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;

	if (m->n + len > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1 << 20;
		char *p;

		while (cap < m->n + len)
			cap *= 2;
		p = realloc(m->p, cap);
		if (!p)
			return -1;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->n, buf, len);
	m->n += len;
	return 0;
}

static void
write_text(FILE *f, const struct fmt_dump *d)
{
	for (uint32_t i = 0; i < d->nsummary; i++) {
		fprintf(f, "S\t%llu\t%llu\t",
			(unsigned long long)d->summary[i].count,
			(unsigned long long)d->summary[i].size);
		put_str(f, d, d->summary[i].name);
		fputc('\n', f);
	}
	for (uint32_t i = 0; i < d->ntypes; i++) {
		fprintf(f, "T\t%u\t%llu\t", i,
			(unsigned long long)d->types[i].addr);
		put_str(f, d, d->types[i].name);
		fputc('\n', f);
	}
	for (uint64_t i = 0; i < d->nobjects; i++) {
		fprintf(f, "O\t%llu\t%llu\t%u\t%llu\t%llu\t%u\t",
			(unsigned long long)i,
			(unsigned long long)d->obj_addr[i], d->obj_type[i],
			(unsigned long long)d->obj_size[i],
			(unsigned long long)d->obj_refcnt[i], d->obj_flags[i]);
		put_str(f, d, d->obj_label[i]);
		fputc('\n', f);
	}
	for (uint64_t i = 0; i < d->nobjects; i++) {
		for (uint64_t e = d->edge_start[i]; e < d->edge_start[i + 1];
		     e++) {
			uint32_t name = d->edge_name[e];
			enum fmt_edge_kind k = FMT_EDGE_KIND(name);

			fprintf(f, "E\t%llu\t%u\t%d\t", (unsigned long long)i,
				d->edge_dst[e], (int)k);
			if (k == FMT_EDGE_INDEX || k == FMT_EDGE_DICTKEY ||
			    k == FMT_EDGE_NONE)
				fprintf(f, "%u", FMT_EDGE_VALUE(name));
			else
				put_str(f, d, FMT_EDGE_VALUE(name));
			fputc('\n', f);
		}
	}
	for (uint32_t i = 0; i < d->nroots; i++) {
		fprintf(f, "R\t%u\t%u\t", d->roots[i].obj, d->roots[i].kind);
		put_str(f, d, d->roots[i].name);
		fputc('\n', f);
	}
	for (uint32_t i = 0; i < d->nstrdata; i++) {
		const struct fmt_str *s = &d->strings[d->strdata[i].str];

		fprintf(f, "D\t%u\t", d->strdata[i].obj);
		for (uint32_t j = 0; j < s->len; j++)
			fprintf(f, "%02x", (unsigned char)s->ptr[j]);
		fputc('\n', f);
	}
}

/* The text form of d and the walk's facts to path; 0 or 103. */
static int
write_file(const char *path, const struct fmt_dump *d,
	   const struct walk_stats *st, uint64_t walk_ns, uint64_t finish_ns,
	   size_t bytes)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return 103;
	fprintf(f, "I\twalk_ns\t%llu\n", (unsigned long long)walk_ns);
	fprintf(f, "I\tfinish_ns\t%llu\n", (unsigned long long)finish_ns);
	fprintf(f, "I\tobjects\t%llu\n", (unsigned long long)st->objects);
	fprintf(f, "I\tedges_raw\t%llu\n", (unsigned long long)st->edges);
	fprintf(f, "I\tchunks_ahead\t%llu\n",
		(unsigned long long)st->chunks_ahead);
	fprintf(f, "I\tsizes_estimated\t%llu\n",
		(unsigned long long)st->sizes_estimated);
	fprintf(f, "I\tdump_bytes\t%zu\n", bytes);
	write_text(f, d);
	return fclose(f) == 0 ? 0 : 103;
}

/* A plain pthread as the stream's helper (the shim's own is helper.c). */
struct driver_helper {
	pthread_t t;
	void (*fn)(void *);
	void *arg;
};

static void *
driver_helper_main(void *arg)
{
	struct driver_helper *h = arg;

	h->fn(h->arg);
	return NULL;
}

static int
driver_helper_start(void *ctx, void (*fn)(void *), void *arg)
{
	struct driver_helper *h = ctx;

	h->fn = fn;
	h->arg = arg;
	return pthread_create(&h->t, NULL, driver_helper_main, h) ? -1 : 0;
}

static void
driver_helper_join(void *ctx)
{
	pthread_join(((struct driver_helper *)ctx)->t, NULL);
}

/*
 * The shim's way (format 1.1+): a graph walk streamed into mb as it goes,
 * then read back, which orders it.  Returns walk_heap's code, or 100 +
 * fmt error if the stream does not read back.
 */
static int
walk_streamed(struct walk_opts *opts, int level, struct membuf *mb,
	      struct fmt_dump *d, struct walk_stats *st)
{
	struct walk_result res;
	struct fmt_stream *fs;
	char err[256];
	int rc;

	rc = fmt_stream_begin(&fs, opts->strings ? FMT_FLAG_STRINGS : 0,
			      level, NULL, mem_sink, mb);
	if (rc != 0)
		return 100;
	opts->stream = fs;
	rc = walk_heap(opts, NULL, &res, st);
	if (rc != 0) {
		fmt_stream_abort(fs);
		return rc;
	}
	rc = fmt_stream_end(fs, &res.dump);
	walk_result_free(&res);
	if (rc != 0)
		return 100;
	if (fmt_read_mem(mb->p, mb->n, FMT_READ_ALL, d, err,
			 sizeof err) != 0) {
		fprintf(stderr, "walk_driver: %s\n", err);
		return 101;
	}
	return 0;
}

/*
 * Walks (GIL held by the ctypes.PyDLL caller) and writes the text form to
 * path (NULL: no output).  graph: 0 summary, 1 graph, 2 graph streamed as
 * the shim streams it (the text is then the dump read back), 3 the same
 * with the chunks encoded on a helper thread, 4 as 3 with a helper slowed
 * by zlib level 9, so that the walk encodes chunks ahead.  exclude: n
 * addresses.  fail_after > 0 makes the fail_after-th allocation fail.
 * Returns walk_heap's/walk_finish's code, or 100 + fmt error if the dump
 * does not round-trip.
 */
EXPORT int
walk_test_dump(const char *path, int graph, unsigned strings,
	       const uintptr_t *exclude, size_t n, long fail_after)
{
	struct walk_opts opts = { .graph = graph, .strings = strings,
				  .exclude = exclude, .nexclude = n };
	struct walk_result res;
	struct walk_stats st;
	struct membuf mb = { 0 };
	struct fmt_dump back;
	char err[256];
	uint64_t t0, t1, t2;
	int rc;

	walk_test_fail_after = fail_after;
	t0 = muppy_now_ns(CLOCK_MONOTONIC);
	if (graph >= 2 && graph <= 4) {
		struct driver_helper dh;
		struct walk_helper h = { driver_helper_start,
					 driver_helper_join, &dh };

		opts.graph = 1;
		opts.helper = graph >= 3 ? &h : NULL;
		rc = walk_streamed(&opts, graph == 4 ? 9 : 1, &mb, &back, &st);
		walk_test_fail_after = 0;
		t1 = t2 = muppy_now_ns(CLOCK_MONOTONIC);
		if (rc == 0 && path)
			rc = write_file(path, &back, &st, t1 - t0, 0, mb.n);
		if (rc == 0)
			fmt_dump_free(&back);
		free(mb.p);
		return rc;
	}
	rc = walk_heap(&opts, NULL, &res, &st);
	t1 = muppy_now_ns(CLOCK_MONOTONIC);
	if (rc == 0)
		rc = walk_finish(&res);
	t2 = muppy_now_ns(CLOCK_MONOTONIC);
	walk_test_fail_after = 0;
	if (rc != 0) {
		walk_result_free(&res);
		return rc;
	}
	if (fmt_write(&res.dump, 1, mem_sink, &mb) != 0) {
		rc = 100;
		goto out;
	}
	if (fmt_read_mem(mb.p, mb.n, FMT_READ_ALL, &back, err,
			 sizeof err) != 0) {
		fprintf(stderr, "walk_driver: %s\n", err);
		rc = 101;
		goto out;
	}
	if (back.nobjects != res.dump.nobjects ||
	    back.nedges != res.dump.nedges)
		rc = 102;
	fmt_dump_free(&back);
	if (path && rc == 0)
		rc = write_file(path, &res.dump, &st, t1 - t0, t2 - t1, mb.n);
out:
	free(mb.p);
	walk_result_free(&res);
	return rc;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* 0 if a and b hold the same objects (address, type address, size,
 * flags) and, per object, the same referents (as a multiset: a streamed
 * dump keeps an object's edges in recording order); else which differs. */
static int
same_graph(const struct fmt_dump *a, const struct fmt_dump *b)
{
	size_t most;
	uint32_t *ra, *rb;
	int rc = 0;

	if (a->nobjects != b->nobjects)
		return 1;
	if (a->nedges != b->nedges)
		return 2;
	most = fmt_edges_max_row(a->edge_start, a->nobjects) + 1;
	ra = malloc(most * sizeof *ra);
	rb = malloc(most * sizeof *rb);
	if (!ra || !rb) {
		free(ra);
		free(rb);
		return 7;
	}
	for (uint64_t i = 0; i < a->nobjects && !rc; i++) {
		uint32_t s = a->edge_start[i], n = a->edge_start[i + 1] - s;

		if (a->obj_addr[i] != b->obj_addr[i])
			rc = 3;
		else if (a->types[a->obj_type[i]].addr !=
			 b->types[b->obj_type[i]].addr ||
			 a->obj_size[i] != b->obj_size[i] ||
			 a->obj_flags[i] != b->obj_flags[i])
			rc = 4;
		else if (b->edge_start[i] != s || b->edge_start[i + 1] - s != n)
			rc = 5;
		else if (n) {
			memcpy(ra, a->edge_dst + s, n * sizeof *ra);
			memcpy(rb, b->edge_dst + s, n * sizeof *rb);
			qsort(ra, n, sizeof *ra, cmp_u32);
			qsort(rb, n, sizeof *rb, cmp_u32);
			if (memcmp(ra, rb, n * sizeof *ra) != 0)
				rc = 6;
		}
	}
	free(ra);
	free(rb);
	return rc;
}

/*
 * Walks the heap twice under the one GIL hold of the caller, whole and
 * streamed with a helper thread, and compares the two: 0 when the same,
 * 1-7 (same_graph) when not, 100+ when a walk failed.  The heap of a
 * caller that makes it large (a million objects) covers what only a big
 * walk does: the streamed walk's queue giving its head back (stream.c).
 */
EXPORT int
walk_test_stream_same(void)
{
	struct walk_opts opts = { .graph = 1 };
	struct driver_helper dh;
	struct walk_helper h = { driver_helper_start, driver_helper_join, &dh };
	struct walk_result res;
	struct walk_stats st;
	struct membuf mb = { 0 };
	struct fmt_dump back;
	int rc;

	rc = walk_heap(&opts, NULL, &res, &st);
	if (rc == 0)
		rc = walk_finish(&res);
	if (rc != 0) {
		walk_result_free(&res);
		return 100;
	}
	opts.helper = &h;
	rc = walk_streamed(&opts, 1, &mb, &back, &st);
	free(mb.p);
	if (rc != 0) {
		walk_result_free(&res);
		return 100 + rc;
	}
	rc = same_graph(&res.dump, &back);
	fmt_dump_free(&back);
	walk_result_free(&res);
	return rc;
}

/* Makes the walks' seen table go wide once it holds n addresses (0: only
 * when it must), so that the checks cover both forms and the move. */
EXPORT void
walk_test_seen_widen(long n)
{
	walk_test_seen_widen_at = n;
}

/* Moves the gc state's `enabled` field delta bytes from where the layout
 * table has it (0: back), so that the checks see a layout that does not
 * check out (roots.c).  0, or -1 before the API is up. */
EXPORT int
walk_test_gc_enabled_shift(long delta)
{
	static ssize_t table = -1;

	if (py_api_init() != 0)
		return -1;
	if (table < 0)
		table = py.lay.gc_enabled;
	py.lay.gc_enabled = table + delta;
	return 0;
}

/*
 * Only the GIL-held half, for timing: returns the walk's wall ns (or a
 * negative MUPPY_* code); *cpu_ns gets the thread's CPU ns for it (the
 * figure to trust on a loaded machine) and *finish_ns walk_finish's.
 * flags: 1 graph mode, 2 storage from walk_prepare first (untimed, as the
 * shim does with the GIL released).
 */
EXPORT long long
walk_test_time(int flags, long long *cpu_ns, long long *finish_ns)
{
	struct walk_opts opts = { .graph = flags & 1 };
	struct walk_prep *prep = NULL;
	struct walk_result res;
	struct walk_stats st;
	struct timespec a, b;
	uint64_t t0;
	long long ns;
	int rc;

	if (flags & 2) {
		size_t edges, objects = walk_expect(&edges);

		prep = walk_prepare(opts.graph, objects, edges, 1);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	rc = walk_heap(&opts, prep, &res, &st);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	if (rc != 0)
		return rc;
	*cpu_ns = (b.tv_sec - a.tv_sec) * 1000000000ll +
		  (b.tv_nsec - a.tv_nsec);
	ns = (long long)st.walk_ns;
	t0 = muppy_now_ns(CLOCK_MONOTONIC);
	rc = walk_finish(&res);
	*finish_ns = (long long)(muppy_now_ns(CLOCK_MONOTONIC) - t0);
	walk_result_free(&res);
	return rc ? rc : ns;
}
