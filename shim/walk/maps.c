/*
 * maps.c - reads /proc/self/maps into sorted, merged ranges and answers
 * "is [p, p + len) readable" (maps.h).  No stdio: the shim's rule (a walk
 * may run where stdio's locks are not ours to take).
 */
#include "shim/walk/maps.h"

#include <fcntl.h>    /* open, O_RDONLY, O_CLOEXEC */
#include <string.h>   /* memchr, memmove, memset */
#include <unistd.h>   /* read, close */

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

void
walk_ranges_read(struct walk_ranges *r)
{
	char buf[8192];
	size_t have = 0;
	ssize_t got;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	r->n = 0;
	r->last = 0;
	r->ok = 0;
	if (fd < 0)
		return;
	while ((got = read(fd, buf + have, sizeof buf - have)) > 0) {
		char *p = buf, *end = buf + have + (size_t)got, *nl;

		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (walk_ranges_line(r, p, nl) != 0) {
				close(fd);
				return;
			}
			p = nl + 1;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
		if (have == sizeof buf)
			have = 0;   /* a line longer than the buffer: drop it */
	}
	close(fd);
	r->ok = got == 0;
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
