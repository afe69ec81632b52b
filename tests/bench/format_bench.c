/*
 * format_bench.c - how big and how fast the dump codec is on a synthetic
 * heap that looks like a real one: objects clustered in pymalloc-style
 * arenas and pools, a few dozen types, sizes from a small set, ~2.5
 * named edges per object (near neighbours, popular objects, random).
 *
 * Usage: format_bench [nobjects] [level]   (defaults 1000000, 1)
 * Prints bytes per object of the file, encode and decode times, and the
 * memory the decoded struct holds.  It asserts nothing about speed (the
 * unit tests are tests/unit/format_test.cc); it is a measurement, kept so the
 * numbers in docs/format.md can be reproduced.
 */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime */

#include <stdio.h>    /* printf, fprintf */
#include <stdlib.h>   /* malloc, realloc, free, atoll */
#include <string.h>   /* memcpy */
#include <time.h>     /* clock_gettime */

#include "common/clock.h"  /* muppy_now_ns */
#include "format/dump.h"   /* struct fmt_dump, fmt_write, fmt_read_mem */

#define NTYPES 40
#define NSTRINGS 20000
#define NPOPULAR 3000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	/* xorshift64*: reproducible, good enough for test data */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t
rnd(uint64_t n)
{
	return rng() % n;
}

static double
now_s(void)
{
	return (double)muppy_now_ns(CLOCK_MONOTONIC) / 1e9;
}

/* Growing memory sink. */
struct membuf {
	unsigned char *p;
	size_t len, cap;
};

static int
mem_sink(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1 << 20;
		while (cap < m->len + len)
			cap *= 2;
		unsigned char *np = realloc(m->p, cap);
		if (!np)
			return -1;
		m->p = np;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

/* Per-type shape: how many referents and what their names look like. */
enum shape { LEAF, SEQ, MAP, INST, FUNC };

static const struct {
	const char *name;
	enum shape shape;
	int weight;             /* relative frequency */
	uint64_t sizes[3];      /* getsizeof values it takes */
} kinds[NTYPES] = {
	{"str", LEAF, 30, {49, 56, 73}},   {"int", LEAF, 10, {28, 28, 32}},
	{"tuple", SEQ, 14, {48, 56, 64}},  {"dict", MAP, 8, {232, 360, 640}},
	{"list", SEQ, 5, {56, 88, 120}},   {"function", FUNC, 6, {152, 152, 160}},
	{"code", INST, 4, {184, 224, 296}},{"cell", INST, 2, {40, 40, 40}},
	{"__main__.Node", INST, 6, {48, 48, 56}},
	{"bytes", LEAF, 2, {33, 40, 65}},  {"float", LEAF, 2, {24, 24, 24}},
	{"method", INST, 1, {64, 64, 64}}, {"set", SEQ, 1, {216, 216, 728}},
};

static void
make_strings(struct fmt_dump *d)
{
	static char blob[NSTRINGS * 16];
	size_t off = 0;

	d->nstrings = NSTRINGS;
	d->strings = calloc(NSTRINGS, sizeof *d->strings);
	if (!d->strings)
		return;
	d->strings[0].ptr = "";
	for (uint32_t i = 1; i < NSTRINGS; i++) {
		int n = snprintf(blob + off, 16, "name_%u", i);
		d->strings[i].ptr = blob + off;
		d->strings[i].len = (uint32_t)n;
		off += (size_t)n + 1;
	}
}

static void
make_types(struct fmt_dump *d)
{
	d->ntypes = NTYPES;
	d->types = calloc(NTYPES, sizeof *d->types);
	if (!d->types)
		return;
	for (uint32_t i = 0; i < NTYPES; i++) {
		d->types[i].addr = 0x55d4c2a3e000ull + i * 0x1a0;
		d->types[i].name = 1 + i;  /* stand-in names */
	}
}

static uint32_t
pick_type(void)
{
	static int total;
	int r;

	if (!total)
		for (int i = 0; i < NTYPES; i++)
			total += kinds[i].name ? kinds[i].weight : 0;
	r = (int)rnd((uint64_t)total);
	for (uint32_t i = 0; i < NTYPES; i++) {
		if (!kinds[i].name)
			continue;
		if (r < kinds[i].weight)
			return i;
		r -= kinds[i].weight;
	}
	return 0;
}

/* Addresses: 1 MiB arenas of 16 KiB pools, one size class per pool, 80%
 * of slots live; a few large objects in a malloc heap below. */
static void
make_objects(struct fmt_dump *d, uint64_t n)
{
	uint64_t i = 0, arena = 0x7f3a10000000ull, pool = 0, cls = 0, slot = 0;
	uint64_t big = 0x55d4c4000000ull;
	uint64_t nbig = n / 40;

	d->nobjects = n;
	d->obj_addr = malloc(n * 8);
	d->obj_type = malloc(n * 4);
	d->obj_size = malloc(n * 8);
	d->obj_refcnt = malloc(n * 4);
	d->obj_label = malloc(n * 4);
	d->obj_flags = malloc(n);
	if (!d->obj_addr || !d->obj_type || !d->obj_size || !d->obj_refcnt ||
	    !d->obj_label || !d->obj_flags)
		return;
	for (; i < nbig; i++) {
		big += 1024 + 16 * rnd(4096);
		d->obj_addr[i] = big;
	}
	while (i < n) {
		if (slot == 0 || slot + cls > 16384) {
			pool++;
			if (pool == 64) {
				pool = 0;
				arena += (1 << 20) * (1 + rnd(3));
			}
			cls = 16 * (2 + rnd(20));
			slot = 48;  /* pool header */
		}
		if (rnd(10) < 8)
			d->obj_addr[i++] = arena + pool * 16384 + slot;
		slot += cls;
	}
	for (i = 0; i < n; i++) {
		uint32_t t = pick_type();
		uint64_t r = rnd(100);
		d->obj_type[i] = t;
		d->obj_size[i] = kinds[t].sizes[rnd(3)];
		d->obj_refcnt[i] = r < 60 ? 1 : r < 80 ? 2 : r < 99 ? 3 + rnd(20)
			: (r == 99 && rnd(2)) ? 0xffffffffull : 100 + rnd(5000);
		d->obj_label[i] = kinds[t].shape == FUNC ? 1 + (uint32_t)rnd(
			NSTRINGS - 1) : 0;
		d->obj_flags[i] = (uint8_t)(kinds[t].shape == LEAF ? 0
						    : FMT_OBJ_GC_TRACKED);
	}
}

static uint32_t
edge_target(uint64_t src, uint64_t n)
{
	uint64_t r = rnd(100);

	if (r < 35) {
		int64_t t = (int64_t)src + (int64_t)rnd(129) - 64;
		return (uint32_t)(t < 0 ? 0 : (uint64_t)t >= n ? n - 1 : (uint64_t)t);
	}
	if (r < 70)
		return (uint32_t)(n / 40 + rnd(NPOPULAR));
	return (uint32_t)rnd(n);
}

/* Names: list items by index; half the dicts are instance __dict__s
 * (the same keys in the same order), half have arbitrary keys; instance
 * slots follow their class's layout. */
static uint32_t
edge_name(enum shape s, uint32_t type, uint64_t k, int inst_dict)
{
	switch (s) {
	case SEQ:
		return FMT_EDGE_NAME(FMT_EDGE_INDEX, k);
	case MAP:
		if (!(k & 1))
			return FMT_EDGE_NAME(FMT_EDGE_DICTKEY, 0);
		return FMT_EDGE_NAME(FMT_EDGE_KEY, inst_dict ? 500 + k / 2
					       : 1 + rnd(5000));
	case INST:
		return FMT_EDGE_NAME(FMT_EDGE_ATTR, 100 + type * 8 + k);
	case FUNC:
		return FMT_EDGE_NAME(FMT_EDGE_OTHER, 1 + k);
	default:
		return FMT_EDGE_NAME(FMT_EDGE_NONE, 0);
	}
}

/* Out-degrees by shape, tuned so the mean is about 2.5. */
static uint64_t
degree(enum shape s)
{
	switch (s) {
	case SEQ:
		return 1 + rnd(8);
	case MAP:
		return 2 * (1 + rnd(8));
	case INST:
		return 1 + rnd(4);
	case FUNC:
		return 4 + rnd(3);
	default:
		return 0;
	}
}

static void
make_edges(struct fmt_dump *d)
{
	uint64_t n = d->nobjects, cap = n * 3, ne = 0;

	d->edge_start = malloc((n + 1) * 4);
	d->edge_dst = malloc(cap * 4);
	d->edge_name = malloc(cap * 4);
	if (!d->edge_start || !d->edge_dst || !d->edge_name)
		return;
	for (uint64_t i = 0; i < n; i++) {
		enum shape s = kinds[d->obj_type[i]].shape;
		uint64_t k = degree(s);
		int inst_dict = rnd(2) == 0;
		d->edge_start[i] = ne;
		for (uint64_t j = 0; j < k && ne < cap; j++, ne++) {
			d->edge_dst[ne] = edge_target(i, n);
			d->edge_name[ne] = edge_name(s, d->obj_type[i], j,
						     inst_dict);
		}
	}
	d->edge_start[n] = ne;
	d->nedges = ne;
}

static void
make_rest(struct fmt_dump *d)
{
	static struct fmt_meta meta[3] = {{1, 2}, {3, 4}, {5, 6}};
	static struct fmt_root roots[100];
	static struct fmt_summary_row rows[NTYPES];

	d->nmeta = 3;
	d->meta = meta;
	for (uint32_t i = 0; i < 100; i++)
		roots[i] = (struct fmt_root){(uint32_t)rnd(d->nobjects),
					     FMT_ROOT_MODULE, 7 + i};
	d->nroots = 100;
	d->roots = roots;
	for (uint64_t i = 0; i < d->nobjects; i++) {
		rows[d->obj_type[i]].count++;
		rows[d->obj_type[i]].size += d->obj_size[i];
	}
	for (uint32_t i = 0; i < NTYPES; i++)
		rows[i].name = 1 + i;
	d->nsummary = NTYPES;
	d->summary = rows;
}

static void
free_fixture(struct fmt_dump *d)
{
	free(d->strings);
	free(d->types);
	free(d->obj_addr);
	free(d->obj_type);
	free(d->obj_size);
	free(d->obj_refcnt);
	free(d->obj_label);
	free(d->obj_flags);
	free(d->edge_start);
	free(d->edge_dst);
	free(d->edge_name);
}

/* Every column allocated, or give up: a benchmark need not degrade. */
static int
fixture_ok(const struct fmt_dump *d)
{
	return d->strings && d->types && d->obj_addr && d->obj_type &&
	       d->obj_size && d->obj_refcnt && d->obj_label && d->obj_flags &&
	       d->edge_start && d->edge_dst && d->edge_name;
}

static double
struct_bytes(const struct fmt_dump *d)
{
	return (double)d->nobjects * (8 + 4 + 8 + 8 + 4 + 1 + 8) +
	       (double)d->nedges * 8;
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? (uint64_t)atoll(argv[1]) : 1000000;
	int level = argc > 2 ? atoi(argv[2]) : 1;
	struct fmt_dump d = {0}, in = {0};
	struct membuf m = {0};
	char err[256];
	double t0, t1, t2, t3;
	int rc;

	d.flags = FMT_FLAG_GRAPH;
	if (n == 0) {
		fprintf(stderr, "usage: format_bench [nobjects > 0] [level]\n");
		return 2;
	}
	make_strings(&d);
	make_types(&d);
	make_objects(&d, n);
	if (d.obj_type)
		make_edges(&d);
	if (!fixture_ok(&d)) {
		fprintf(stderr, "format_bench: out of memory\n");
		free_fixture(&d);
		return 1;
	}
	make_rest(&d);

	t0 = now_s();
	rc = fmt_write(&d, level, mem_sink, &m);
	t1 = now_s();
	if (rc) {
		fprintf(stderr, "format_bench: write: %s\n", fmt_strerror(rc));
		goto out;
	}
	rc = fmt_read_mem(m.p, m.len, FMT_READ_ALL, &in, err, sizeof err);
	t2 = now_s();
	if (rc) {
		fprintf(stderr, "format_bench: read: %s\n", err);
		goto out;
	}
	fmt_dump_free(&in);
	rc = fmt_read_mem(m.p, m.len, FMT_READ_SUMMARY, &in, err, sizeof err);
	t3 = now_s();
	fmt_dump_free(&in);
	printf("objects %llu, edges %llu (%.2f/object), level %d\n",
	       (unsigned long long)n, (unsigned long long)d.nedges,
	       (double)d.nedges / (double)n, level);
	printf("file %zu bytes: %.2f bytes/object\n", m.len,
	       (double)m.len / (double)n);
	printf("encode %.3f s, decode all %.3f s, decode summary %.3f s\n",
	       t1 - t0, t2 - t1, t3 - t2);
	printf("decoded struct %.1f bytes/object\n",
	       struct_bytes(&d) / (double)n);
out:
	free(m.p);
	free_fixture(&d);
	return rc ? 1 : 0;
}
