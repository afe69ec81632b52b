/*
 * tables.c - the walk's allocator and the parts of its hash tables that
 * are off the hot path: creating, growing, rehashing, widening, freeing
 * (tables.h has the contracts and the inline lookups).
 *
 * Why an allocator of our own: a snapshot child must not touch glibc's
 * malloc (mem.h gives it a private arena), and the big arrays of a walk
 * (the seen table, the columns: about 100 MB at 1M objects) are cheaper
 * in mappings of their own, advised for huge pages and returned at once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* mremap */
#endif
#include "shim/walk/tables.h"

#include <string.h>   /* memcpy, memset */
#include <sys/mman.h> /* mmap, mremap, madvise, munmap */

#include "shim/walk/mem.h"  /* mem_realloc, mem_free: small blocks */

long walk_test_fail_after;
long walk_test_seen_widen_at;

/* ---- allocation --------------------------------------------------------- */

/*
 * Every walk allocation carries a 16-byte header: the length of its own
 * mapping (0: a small block from mem.h, which in a snapshot child is not
 * glibc's malloc) and the bytes asked for.  Arrays of 4 MiB
 * and more (the seen table, the object and edge columns: about 100 MB
 * for 1M objects) get their own anonymous mappings advised
 * MADV_HUGEPAGE.  Faulting them in 4 KiB at a time was about a quarter
 * of the GIL-held walk (memcg-charged page faults, measured with perf);
 * a mapping of our own keeps the advice off the application's heap, and
 * munmap gives the memory back at once.  Growth uses mremap: no copy.
 */
#define WALK_HDR 16
#define WALK_BIG ((size_t)4 << 20)
#define WALK_PAGE ((size_t)4096)

static void *
walk_map_new(size_t len)
{
	void *q = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (q == MAP_FAILED)
		return NULL;
	(void)madvise(q, len, MADV_HUGEPAGE);   /* EINVAL without THP: fine */
	return q;
}

/* The walk_test_fail_after hook.  Atomic: a streamed walk's helper thread
 * allocates too (its chunk buffers). */
static int
walk_test_fails(void)
{
	if (__atomic_load_n(&walk_test_fail_after, __ATOMIC_RELAXED) <= 0)
		return 0;
	return __atomic_sub_fetch(&walk_test_fail_after, 1,
				  __ATOMIC_RELAXED) == 0;
}

void *
walk_realloc(void *p, size_t n)
{
	size_t *old = p ? (size_t *)((char *)p - WALK_HDR) : NULL;
	size_t *q, len;

	if (walk_test_fails())
		return NULL;
	if (n > SIZE_MAX / 2)
		return NULL;
	len = n + WALK_HDR;
	if (len < WALK_BIG && !(old && old[0])) {
		q = mem_realloc(old, len);
		if (!q)
			return NULL;
		q[0] = 0;
	} else if (old && old[0]) {
		len = (len + WALK_PAGE - 1) & ~(WALK_PAGE - 1);
		q = mremap(old, old[0], len, MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			return NULL;
		q[0] = len;
	} else {
		len = (len + WALK_PAGE - 1) & ~(WALK_PAGE - 1);
		q = walk_map_new(len);
		if (!q)
			return NULL;
		if (old) {
			memcpy(q + 2, old + 2, old[1] < n ? old[1] : n);
			mem_free(old);
		}
		q[0] = len;
	}
	q[1] = n;
	return (char *)q + WALK_HDR;
}

void
walk_free(void *p)
{
	size_t *h;

	if (!p)
		return;
	h = (size_t *)((char *)p - WALK_HDR);
	if (h[0])
		munmap(h, h[0]);
	else
		mem_free(h);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14; older kernels: EINVAL */
#endif

void
walk_prefault(void *p, size_t len)
{
	size_t *h, end;

	if (!p)
		return;
	h = (size_t *)((char *)p - WALK_HDR);
	if (!h[0])
		return;
	end = (WALK_HDR + len + WALK_PAGE - 1) & ~(WALK_PAGE - 1);
	if (end > h[0])
		end = h[0];
	if (madvise(h, end, MADV_POPULATE_WRITE) == 0)
		return;
	/* No MADV_POPULATE_WRITE: a write per page (contents are
	 * undefined until the walk writes them; page 0 holds the header). */
	for (size_t off = WALK_PAGE; off < end; off += WALK_PAGE)
		((volatile char *)h)[off] = 0;
}

void
walk_release_head(void *p, size_t upto)
{
	size_t *h;
	uintptr_t lo, hi;

	if (!p)
		return;
	h = (size_t *)((char *)p - WALK_HDR);
	if (!h[0])
		return;
	if (upto > h[0] - WALK_HDR)
		upto = h[0] - WALK_HDR;
	lo = ((uintptr_t)h + WALK_PAGE + WALK_HUGE - 1) &
	     ~(uintptr_t)(WALK_HUGE - 1);
	hi = ((uintptr_t)p + upto) & ~(uintptr_t)(WALK_HUGE - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int
walk_grow(void *arr, size_t *cap, size_t need, size_t esz)
{
	void *p;
	size_t ncap = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / esz)
			return -1;
		ncap *= 2;
	}
	p = walk_realloc(*(void **)arr, ncap * esz);
	if (!p)
		return -1;
	*(void **)arr = p;
	*cap = ncap;
	return 0;
}

/* log2 of the power-of-two capacity (at least 1024) that holds want
 * entries below WALK_MAP_FULL's load (walk_seen_cap sizes the seen table). */
static unsigned
walk_table_bits(size_t want)
{
	unsigned bits = 10;

	while (((size_t)7 << bits) < want * 10 + 10)
		bits++;
	return bits;
}

int
walk_map_init(struct walk_map *m, size_t want)
{
	unsigned bits = walk_table_bits(want);
	size_t cap = (size_t)1 << bits;

	if (cap > SIZE_MAX / sizeof *m->ents)
		return -1;
	m->ents = walk_realloc(NULL, cap * sizeof *m->ents);
	if (!m->ents) {
		memset(m, 0, sizeof *m);
		return -1;
	}
	memset(m->ents, 0, cap * sizeof *m->ents);
	m->cap = cap;
	m->n = 0;
	m->shift = 64 - bits;
	return 0;
}

void
walk_map_free(struct walk_map *m)
{
	walk_free(m->ents);
	memset(m, 0, sizeof *m);
}

int
walk_map_rehash(struct walk_map *m, size_t want)
{
	struct walk_map nm;

	if (walk_map_init(&nm, want) != 0)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->ents[i].key)
			continue;
		j = walk_map_hash(&nm, m->ents[i].key);
		while (nm.ents[j].key)
			j = (j + 1) & (nm.cap - 1);
		nm.ents[j] = m->ents[i];
	}
	nm.n = m->n;
	walk_map_free(m);
	*m = nm;
	return 0;
}

/* Entries for want addresses below WALK_MAP_FULL's load: at least 1024,
 * a multiple of 64 (whole pages of entries). */
static size_t
walk_seen_cap(size_t want)
{
	size_t cap;

	if (want > SIZE_MAX / 16)
		return 0;
	cap = (want * 10 + 10) / 7 + 1;
	cap = (cap + 63) & ~(size_t)63;
	return cap < 1024 ? 1024 : cap;
}

int
walk_seen_init(struct walk_seen *s, size_t want)
{
	size_t cap = walk_seen_cap(want);

	memset(s, 0, sizeof *s);
	if (cap == 0 || cap > SIZE_MAX / sizeof *s->ents)
		return -1;
	s->ents = walk_realloc(NULL, cap * sizeof *s->ents);
	if (!s->ents)
		return -1;
	memset(s->ents, 0, cap * sizeof *s->ents);
	s->cap = cap;
	s->nwin = 1;
	return 0;
}

void
walk_seen_free(struct walk_seen *s)
{
	walk_free(s->ents);
	walk_map_free(&s->wide);
	memset(s, 0, sizeof *s);
}

int
walk_seen_widen(struct walk_seen *s)
{
	struct walk_map m;

	if (walk_map_init(&m, s->cap * 7 / 10 + 1) != 0)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		uint64_t e = s->ents[i], a;
		uint32_t v;
		int isnew;

		if (!e)
			continue;
		v = (uint32_t)(e & SEEN_VAL_MASK);
		a = walk_seen_addr(s, e);
		/* m is sized for every entry: no rehash, nothing to fail. */
		walk_map_put_at(&m, walk_map_hash(&m, a), a,
				v == SEEN_VAL_MASK ? WALK_NOSLOT : v, &isnew);
	}
	walk_free(s->ents);
	s->ents = NULL;
	s->wide = m;
	return 0;
}

int
walk_seen_rehash(struct walk_seen *s, size_t want)
{
	struct walk_seen t;

	if (walk_seen_init(&t, want) != 0)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		uint64_t e = s->ents[i];
		size_t j;

		if (!e)
			continue;
		j = walk_seen_hash(t.cap, walk_seen_addr(s, e));
		while (t.ents[j])
			j = walk_seen_next(t.cap, j);
		t.ents[j] = e;
	}
	walk_free(s->ents);
	s->ents = t.ents;
	s->cap = t.cap;
	return 0;
}
