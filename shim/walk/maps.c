/*
 * maps.c - reads /proc/self/maps into sorted, merged ranges and answers
 * "is [p, p + len) readable" (maps.h).  No stdio: the shim's rule (a walk
 * may run where stdio's locks are not ours to take).
 */
#include "shim/walk/maps.h"

#include <fcntl.h>    /* open, O_RDONLY, O_CLOEXEC */
#include <string.h>   /* memchr, memmove, memset, memcmp */
#include <sys/mman.h> /* mmap, munmap */
#include <unistd.h>   /* read, close, sysconf */

#include "shim/walk/tables.h"  /* walk_realloc, walk_free */

static int
walk_ranges_add(struct walk_ranges *r, uint64_t lo, uint64_t hi)
{
	if (r->n && lo <= r->hi[r->n - 1]) {   /* maps is sorted: merge */
		if (hi > r->hi[r->n - 1])
			r->hi[r->n - 1] = hi;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		uint64_t *lo2 = walk_realloc(r->lo, cap * sizeof *lo2);
		uint64_t *hi2;

		if (!lo2)
			return -1;
		r->lo = lo2;
		hi2 = walk_realloc(r->hi, cap * sizeof *hi2);
		if (!hi2)
			return -1;
		r->hi = hi2;
		r->cap = cap;
	}
	r->lo[r->n] = lo;
	r->hi[r->n] = hi;
	r->n++;
	return 0;
}
/* Parses one maps line "lo-hi perms ..." (no stdio: the shim's rule). */
static int
walk_ranges_line(struct walk_ranges *r, const char *l, const char *end)
{
	uint64_t v[2] = { 0, 0 };
	int k = 0;

	for (; l < end && k < 2; l++) {
		char c = *l;

		if (c >= '0' && c <= '9')
			v[k] = v[k] << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v[k] = v[k] << 4 | (uint64_t)(c - 'a' + 10);
		else if (c == '-' || c == ' ')
			k++;
		else
			return 0;
	}
	if (k < 2 || l >= end || *l != 'r')   /* not readable */
		return 0;
	return walk_ranges_add(r, v[0], v[1]);
}

/* Feeds every line of /proc/self/maps to fn (which stops the read by
 * returning nonzero).  1 if the whole file was read. */
static int
walk_maps_each(int (*fn)(void *ctx, const char *l, const char *end),
	       void *ctx)
{
	char buf[8192];
	size_t have = 0;
	ssize_t got;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((got = read(fd, buf + have, sizeof buf - have)) > 0) {
		char *p = buf, *end = buf + have + (size_t)got, *nl;

		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (fn(ctx, p, nl) != 0) {
				close(fd);
				return 0;
			}
			p = nl + 1;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
		if (have == sizeof buf)
			have = 0;   /* a line longer than the buffer: drop it */
	}
	close(fd);
	return got == 0;
}

static int
walk_ranges_each(void *ctx, const char *l, const char *end)
{
	return walk_ranges_line(ctx, l, end);
}

void
walk_ranges_read(struct walk_ranges *r)
{
	r->n = 0;
	r->last = 0;
	r->ok = walk_maps_each(walk_ranges_each, r);
}

static int
walk_ranges_has(struct walk_ranges *r, uint64_t lo, uint64_t hi)
{
	size_t a = 0, b = r->n;

	if (r->last < r->n && r->lo[r->last] <= lo && hi <= r->hi[r->last])
		return 1;
	while (a < b) {   /* the first range with hi > lo */
		size_t m = a + (b - a) / 2;

		if (r->hi[m] <= lo)
			a = m + 1;
		else
			b = m;
	}
	if (a < r->n && r->lo[a] <= lo && hi <= r->hi[a]) {
		r->last = a;
		return 1;
	}
	return 0;
}

int
walk_readable(struct walk_ranges *r, const void *p, size_t len)
{
	uint64_t lo = (uint64_t)(uintptr_t)p, hi = lo + len;

	if (!p || hi < lo)
		return 0;
	if (walk_ranges_has(r, lo, hi))
		return 1;
	if (r->reread)
		return 0;
	r->reread = 1;
	walk_ranges_read(r);
	return walk_ranges_has(r, lo, hi);
}

void
walk_ranges_free(struct walk_ranges *r)
{
	walk_free(r->lo);
	walk_free(r->hi);
	memset(r, 0, sizeof *r);
}

/* ---- the warm list (maps.h) ------------------------------------------ */

/* The next space-separated field of [*l, end), *l moved past it. */
static size_t
walk_field(const char **l, const char *end, const char **f)
{
	const char *p = *l;

	while (p < end && *p == ' ')
		p++;
	*f = p;
	while (p < end && *p != ' ')
		p++;
	*l = p;
	return (size_t)(p - *f);
}

static uint64_t
walk_hex(const char *p, const char *end, const char **stop)
{
	uint64_t v = 0;

	for (; p < end; p++) {
		if (*p >= '0' && *p <= '9')
			v = v << 4 | (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			v = v << 4 | (uint64_t)(*p - 'a' + 10);
		else
			break;
	}
	*stop = p;
	return v;
}

/*
 * "lo-hi perms offset dev inode [path]": kept when readable and private
 * ("r??p"), inode 0, and no path, "[heap]" or "[anon:NAME]" (a named
 * anonymous mapping); not [stack] (the threads' stacks are unnamed),
 * [vvar] and the like, files, or shared memory.
 */
static int
walk_warm_line(void *ctx, const char *l, const char *end)
{
	struct walk_warm *w = ctx;
	const char *f, *stop;
	uint64_t lo, hi;
	size_t len;

	if (w->n == WALK_WARM_MAX)
		return 0;
	lo = walk_hex(l, end, &stop);
	if (stop >= end || *stop != '-')
		return 0;
	hi = walk_hex(stop + 1, end, &stop);
	l = stop;
	if (walk_field(&l, end, &f) != 4 || f[0] != 'r' || f[3] != 'p')
		return 0;
	walk_field(&l, end, &f);                  /* offset */
	walk_field(&l, end, &f);                  /* device */
	if (walk_field(&l, end, &f) != 1 || f[0] != '0')   /* inode */
		return 0;
	while (l < end && *l == ' ')
		l++;
	len = (size_t)(end - l);
	if (len && !(len == 6 && memcmp(l, "[heap]", 6) == 0) &&
	    !(len > 6 && memcmp(l, "[anon:", 6) == 0))
		return 0;
	if (hi <= lo)
		return 0;
	w->lo[w->n] = lo;
	w->hi[w->n] = hi;
	w->n++;
	return 0;
}

/* Cuts [a, b) (the list's own storage) out of w's ranges (disjoint, as
 * maps lists them). */
static void
walk_warm_cut(struct walk_warm *w, uint64_t a, uint64_t b)
{
	size_t i, n = 0;

	for (i = 0; i < w->n; i++) {
		uint64_t lo = w->lo[i], hi = w->hi[i];

		if (hi <= a || lo >= b) {        /* apart */
			w->lo[n] = lo;
			w->hi[n++] = hi;
			continue;
		}
		if (lo < a && hi > b && w->n < WALK_WARM_MAX) {
			/* both sides: the range above goes in after this
			 * one (one range at most holds the storage) */
			memmove(w->lo + i + 2, w->lo + i + 1,
				(w->n - i - 1) * sizeof *w->lo);
			memmove(w->hi + i + 2, w->hi + i + 1,
				(w->n - i - 1) * sizeof *w->hi);
			w->lo[i + 1] = b;
			w->hi[i + 1] = hi;
			w->n++;
		}
		if (lo < a) {                    /* the part below */
			w->lo[n] = lo;
			w->hi[n++] = a;
		} else if (hi > b) {             /* the part above */
			w->lo[n] = b;
			w->hi[n++] = hi;
		}
	}
	w->n = n;
}

int
walk_warm_read(struct walk_warm *w)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = 2 * WALK_WARM_MAX * sizeof *w->lo;
	void *q;

	memset(w, 0, sizeof *w);
	if (pg <= 0)
		return -1;
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (q == MAP_FAILED)
		return -1;
	w->lo = q;
	w->hi = w->lo + WALK_WARM_MAX;
	w->page = (size_t)pg;
	if (!walk_maps_each(walk_warm_line, w)) {
		munmap(q, len);
		memset(w, 0, sizeof *w);
		return -1;
	}
	walk_warm_cut(w, (uint64_t)(uintptr_t)q, (uint64_t)(uintptr_t)q + len);
	return 0;
}

void
walk_warm_free(struct walk_warm *w)
{
	if (!w)
		return;
	if (w->lo)
		munmap(w->lo, 2 * WALK_WARM_MAX * sizeof *w->lo);
	memset(w, 0, sizeof *w);
}
