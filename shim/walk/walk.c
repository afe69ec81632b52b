/*
 * walk.c - the heap walk (walk.h): with the GIL held, finds the objects of
 * the running interpreter and records what the dump needs; without the
 * GIL, sorts them into the form fmt_write expects.
 *
 * What is found: every GC-tracked object (the gc generation lists on
 * 3.8-3.11, PyUnstable_GC_VisitObjects on 3.12+), every module in
 * sys.modules, the frames of every thread of this interpreter, and the
 * closure of all of those through tp_traverse and the walker's own readers
 * (dict entries, list/tuple items, frame locals, closure cells, __dict__,
 * __slots__ members, 3.11+ instance attributes kept as values without a
 * __dict__ (named from the type's shared keys), bound method __func__ and
 * __self__, type slots).  It deliberately does not see objects
 * held only by C statics or evaluation stacks.
 *
 * DESIGN NOTES
 *   1. No Python-level code runs: the walker reads memory through the
 *      pyapi.h offsets and calls only C functions that cannot run Python
 *      code (PyDict_Next, tp_traverse, the C __sizeof__ methods of the
 *      types, C getters of frames).  A type whose __sizeof__ is not a C
 *      method gets basicsize + itemsize * |ob_size| (counted in
 *      walk_stats.sizes_estimated).  The GC is disabled for the walk.
 *   2. The only Python objects the walk creates are frame objects for
 *      running frames on 3.11+ (as sys._current_frames does; the frame
 *      keeps them) and the int results of C __sizeof__ calls (freed at
 *      once).  Every pointer the walker keeps is borrowed from an object
 *      that stays alive for the whole walk, because nothing is freed while
 *      the GIL is held and no Python code runs.
 *   3. Storage is mem.h, or mmap for big arrays (never PyMem; see
 *      walk_realloc for the huge pages): an open-addressing hash table
 *      of 8-byte entries (walk_seen) gives each object a slot in
 *      discovery order, and the addr column, slots in that order, is the
 *      work queue: a breadth-first walk without recursion (object graphs
 *      are deep).
 *      Edges are (src slot, dst slot, name) triples; walk_finish turns
 *      slots into indices in address order and de-duplicates: an unnamed
 *      edge (from tp_traverse) is dropped when the same referrer names
 *      that referent (walk_visit already skips most of those).
 *   4. Per type the walker caches its Pympler name, its kind, how to size
 *      its instances, and its summary row: the per-object path does no
 *      name lookups except dict keys (cached per str object).
 *   5. On any allocation failure the whole walk is unwound: nothing is
 *      left behind and *out is empty.
 *   6. The walk is bound by memory latency (about a cache miss per object
 *      and per new referent, measured with perf), so the seen table is
 *      kept small (8 bytes an entry) and the walk fetches ahead wherever
 *      it knows what comes next: table entries a batch of edges at a time
 *      (walk_flush), objects and their parts from the queue (walk_drain),
 *      the gc lists read in chunks with nothing in between
 *      (walk_gc_discover).  Page faults, most of a first walk's time, go
 *      before it: walk_prepare sizes and faults the arrays in without the
 *      GIL, from walk_expect's estimate.
 *   7. The walker reads an object's memory only where CPython itself
 *      would.  A type's tp_members are read directly only along the part
 *      of its tp_base chain whose tp_traverse is subtype_traverse (that is
 *      the rule subtype_traverse follows: a base written in C owns its
 *      layout, and a member it declares may lie about it: mypyc's trait
 *      bases declare a __dict__ member at offset 16 that holds the vtable
 *      pointer in their native subclasses).  A member of any other base
 *      only names a referent that tp_traverse has already given (compare
 *      by value, walk_visit's cmp list).  __dict__ and __weakref__ members
 *      are never read as members.  Offsets must lie inside tp_basicsize;
 *      tp_dictoffset must be 8-aligned and inside it too; the managed dict
 *      and inline values (3.11+) are read only when tp_traverse is
 *      subtype_traverse; ob_size only for basicsize >= 24.
 *   8. A type is trusted only after it has been checked (walk_type_valid),
 *      once per type: its memory is readable (the /proc/self/maps ranges,
 *      read once a walk), Py_TPFLAGS_READY is set, its metatype chain ends
 *      at `type`, its sizes are sane, its tp_base chain ends at `object`,
 *      tp_mro is a tuple of types, tp_dict a dict and its name a str.  The
 *      objects of a type that fails are skipped: not recorded, their edges
 *      and roots dropped by walk_finish, counted in walk_stats.skipped
 *      (META `skipped`).  A skipped object can hide what only it holds;
 *      a crash would hide the whole program.
 *
 * Neighbours: pyapi.[ch] (CPython entry points and offsets), shim.c (calls
 * walk_heap with the GIL, walk_finish without it), format/ (fmt_write).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim/walk/walk.h"

#include <stdint.h>   /* uint64_t */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* size_t */
#include <string.h>   /* memcpy, memset, strlen, strcmp */
#include <sys/mman.h> /* mmap, mremap, madvise, munmap */
#include <fcntl.h>    /* open, O_RDONLY, O_CLOEXEC */
#include <unistd.h>   /* read, close */

#include "common/clock.h" /* muppy_now_ns */
#include "format/order.h"  /* fmt_radix_sort, fmt_edges_dedup */
#include "shim/walk/mem.h"     /* mem_realloc, mem_free: small blocks */
#include "shim/cpython/pyapi.h"   /* py, PY_OFF_*, py_object */

#define WALK_NOSLOT UINT32_MAX     /* excluded / not recorded */
#define WALK_SRC_PREV (WALK_NOSLOT - 1)  /* walk_edge src: the object of
                                            the edge recorded just before */
#define WALK_NAME_MAX 1024         /* characters kept of a name or key */
#define WALK_SKIPPED UINT32_MAX    /* otype of an object left out (note 8) */

/*
 * A function that only prefetches must be inlined before GCC's IPA passes
 * see it: they find it has no side effect and delete its calls (GCC 12
 * did, silently, for every one of them).
 */
#define WALK_PREFETCHER inline __attribute__((always_inline))

/* Test hook: when > 0, the n-th allocation from now fails. */
long walk_test_fail_after;

/* Sizes of the last complete walk (GIL-protected, like the walk). */
static size_t walk_hint_objects, walk_hint_edges;

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

/* realloc for the walk; walk_free releases.  n == 0 is allowed. */
static void *
walk_realloc(void *p, size_t n)
{
	size_t *old = p ? (size_t *)((char *)p - WALK_HDR) : NULL;
	size_t *q, len;

	if (walk_test_fail_after > 0 && --walk_test_fail_after == 0)
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

/* Frees what walk_realloc returned; NULL is a no-op. */
static void
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

/*
 * Faults in the pages of the first len bytes of a block from walk_realloc
 * now, so that the walk that fills them later takes no page fault:
 * walk_prepare runs without the GIL, the walk with it.  Small (malloc)
 * blocks are left alone.
 */
static void
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

/* Grows *arr (element size esz) to hold at least need elements. */
static int
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


/* ---- hash map: 64-bit key (never 0) -> 32-bit value ---------------------- */

/* Key and value share a cache line: a lookup costs one miss. */
struct walk_ent {
	uint64_t key;      /* 0: empty */
	uint32_t val;
};

struct walk_map {
	struct walk_ent *ents;
	size_t cap;        /* power of two */
	size_t n;
	unsigned shift;    /* 64 - log2(cap) */
};

/* Linear probing stays short below 70% load. */
#define WALK_MAP_FULL(m, add) (((m)->n + (add)) * 10 > (m)->cap * 7)

static inline size_t
walk_map_hash(const struct walk_map *m, uint64_t key)
{
	return (size_t)(((key ^ (key >> 32)) * 0x9E3779B97F4A7C15ull) >>
			m->shift);
}

/* log2 of the power-of-two capacity (at least 1024) that holds want
 * entries below WALK_MAP_FULL's load; the seen table sizes the same way. */
static unsigned
walk_table_bits(size_t want)
{
	unsigned bits = 10;

	while (((size_t)7 << bits) < want * 10 + 10)
		bits++;
	return bits;
}

/* An empty map with room for about want keys. */
static int
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

static void
walk_map_free(struct walk_map *m)
{
	walk_free(m->ents);
	memset(m, 0, sizeof *m);
}

/* Rebuilds the table with room for want keys; the old one survives a
 * failure. */
static int
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

/* Makes room for add more keys without a rehash. */
static inline int
walk_map_reserve(struct walk_map *m, size_t add)
{
	if (!WALK_MAP_FULL(m, add))
		return 0;
	return walk_map_rehash(m, (m->n + add) * 2);
}

/* Value of key, or NULL. */
static inline uint32_t *
walk_map_get(const struct walk_map *m, uint64_t key)
{
	size_t i = walk_map_hash(m, key);

	while (m->ents[i].key) {
		if (m->ents[i].key == key)
			return &m->ents[i].val;
		i = (i + 1) & (m->cap - 1);
	}
	return NULL;
}

/* walk_map_put's probe from a precomputed hash; room must be reserved. */
static inline uint32_t *
walk_map_put_at(struct walk_map *m, size_t i, uint64_t key, uint32_t val,
		int *isnew)
{
	while (m->ents[i].key) {
		if (m->ents[i].key == key) {
			*isnew = 0;
			return &m->ents[i].val;
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->ents[i].key = key;
	m->ents[i].val = val;
	m->n++;
	*isnew = 1;
	return &m->ents[i].val;
}

/*
 * Finds key or inserts it with value val.  Returns the value slot, *isnew
 * telling which; NULL on allocation failure (the map is unchanged).
 */
static inline uint32_t *
walk_map_put(struct walk_map *m, uint64_t key, uint32_t val, int *isnew)
{
	if (walk_map_reserve(m, 1) != 0)
		return NULL;
	return walk_map_put_at(m, walk_map_hash(m, key), key, val, isnew);
}

/* ---- the seen table: object address -> slot, 8 bytes an entry ---------- */

/*
 * The walk's hottest array: a random access per object and per reference
 * followed.  An entry packs address and slot into 8 bytes, half of a
 * walk_map entry, which halves the table's cache footprint (design note
 * 6).  From the top: the address's 4 GiB window, as an index into
 * windows[] (6 bits, 1-63; 0 is an empty entry); the address's low 32 bits
 * over 8 (29 bits: a PyObject is 8-byte aligned); the slot (29 bits; all
 * ones for an excluded object).  A heap spread over more than 63 windows,
 * an odd address or a slot past 2^29 - 2 moves every entry into a
 * walk_map once (the table is then "wide"), and the walk goes on there.
 */
#define SEEN_VAL_BITS 29
#define SEEN_VAL_MASK ((UINT64_C(1) << SEEN_VAL_BITS) - 1)  /* = excluded */
#define SEEN_WINDOWS 64

/* Test hook: when > 0, the table goes wide once it holds this many. */
long walk_test_seen_widen_at;

struct walk_seen {
	uint64_t *ents;           /* packed entries; NULL once wide */
	size_t cap;               /* power of two */
	size_t n;
	unsigned shift;           /* 64 - log2(cap) */
	unsigned nwin;            /* windows[1 .. nwin-1] in use */
	unsigned lastwin;         /* the last window found (a one-entry cache) */
	uint32_t windows[SEEN_WINDOWS];  /* address bits 32-63 of each */
	struct walk_map wide;     /* the table once wide */
};

static inline size_t
walk_seen_hash(unsigned shift, uint64_t addr)
{
	return (size_t)(((addr ^ (addr >> 32)) * 0x9E3779B97F4A7C15ull) >>
			shift);
}

/* An empty narrow table with room for about want addresses. */
static int
walk_seen_init(struct walk_seen *s, size_t want)
{
	unsigned bits = walk_table_bits(want);
	size_t cap = (size_t)1 << bits;

	memset(s, 0, sizeof *s);
	if (cap > SIZE_MAX / sizeof *s->ents)
		return -1;
	s->ents = walk_realloc(NULL, cap * sizeof *s->ents);
	if (!s->ents)
		return -1;
	memset(s->ents, 0, cap * sizeof *s->ents);
	s->cap = cap;
	s->shift = 64 - bits;
	s->nwin = 1;
	return 0;
}

static void
walk_seen_free(struct walk_seen *s)
{
	walk_free(s->ents);
	walk_map_free(&s->wide);
	memset(s, 0, sizeof *s);
}

/* The address entry e stands for. */
static inline uint64_t
walk_seen_addr(const struct walk_seen *s, uint64_t e)
{
	uint64_t win = e >> (64 - 6), lo = (e >> SEEN_VAL_BITS) & 0x1FFFFFFF;

	return (uint64_t)s->windows[win] << 32 | lo << 3;
}

/* Moves every entry into the wide table (a walk_map big enough for as
 * many as the narrow one took).  Returns 0 or -1 (the table unchanged). */
static int
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

/* Rebuilds the narrow table with room for want; survives a failure. */
static int
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
		j = walk_seen_hash(t.shift, walk_seen_addr(s, e));
		while (t.ents[j])
			j = (j + 1) & (t.cap - 1);
		t.ents[j] = e;
	}
	walk_free(s->ents);
	s->ents = t.ents;
	s->cap = t.cap;
	s->shift = t.shift;
	return 0;
}

/* Room for add more addresses without a rehash. */
static inline int
walk_seen_reserve(struct walk_seen *s, size_t add)
{
	if (s->ents && walk_test_seen_widen_at > 0 &&
	    s->n >= (size_t)walk_test_seen_widen_at &&
	    walk_seen_widen(s) != 0)
		return -1;
	if (!s->ents)
		return walk_map_reserve(&s->wide, add);
	if (!WALK_MAP_FULL(s, add))
		return 0;
	return walk_seen_rehash(s, (s->n + add) * 2);
}

/* Starts fetching addr's entry (walk_flush's batches). */
static WALK_PREFETCHER void
walk_seen_prefetch(const struct walk_seen *s, uint64_t addr)
{
	if (s->ents)
		__builtin_prefetch(&s->ents[walk_seen_hash(s->shift, addr)], 1);
	else
		__builtin_prefetch(&s->wide.ents[walk_map_hash(&s->wide, addr)],
				   1);
}

/* The window index of address bits hi, entered if new; 0 if full. */
static inline __attribute__((always_inline)) unsigned
walk_seen_window(struct walk_seen *s, uint32_t hi)
{
	if (s->windows[s->lastwin] == hi && s->lastwin)
		return s->lastwin;
	for (unsigned w = 1; w < s->nwin; w++)
		if (s->windows[w] == hi)
			return s->lastwin = w;
	if (s->nwin >= SEEN_WINDOWS)
		return 0;
	s->windows[s->nwin] = hi;
	return s->lastwin = s->nwin++;
}

/*
 * Finds addr, or enters it with slot val.  Returns 1 (entered), 0 (found)
 * or -1 (no memory to go wide: the table is unchanged); *slot gets addr's
 * slot (WALK_NOSLOT: excluded), *at where it is, for walk_seen_exclude.
 * Room must be reserved (walk_seen_reserve).
 */
static inline __attribute__((always_inline)) int
walk_seen_put(struct walk_seen *s, uint64_t addr, uint32_t val,
	      uint32_t *slot, size_t *at)
{
	uint64_t key, *e;
	unsigned win;
	size_t i;

	if (s->ents) {
		win = (addr & 7) || val >= SEEN_VAL_MASK ? 0 :
		      walk_seen_window(s, (uint32_t)(addr >> 32));
		if (!win && walk_seen_widen(s) != 0)
			return -1;
	}
	if (!s->ents) {
		struct walk_map *m = &s->wide;
		struct walk_ent *we;

		for (i = walk_map_hash(m, addr); (we = &m->ents[i])->key;
		     i = (i + 1) & (m->cap - 1)) {
			if (we->key == addr) {
				*slot = we->val;
				*at = i;
				return 0;
			}
		}
		we->key = addr;
		we->val = val;
		m->n++;
		*slot = val;
		*at = i;
		return 1;
	}
	key = ((uint64_t)win << 29 | (addr & 0xFFFFFFFF) >> 3) << SEEN_VAL_BITS;
	for (i = walk_seen_hash(s->shift, addr); *(e = &s->ents[i]);
	     i = (i + 1) & (s->cap - 1)) {
		if ((*e & ~SEEN_VAL_MASK) == key) {
			uint32_t v = (uint32_t)(*e & SEEN_VAL_MASK);

			*slot = v == SEEN_VAL_MASK ? WALK_NOSLOT : v;
			*at = i;
			return 0;
		}
	}
	*e = key | val;
	s->n++;
	*slot = val;
	*at = i;
	return 1;
}

/* Marks the entry at (from walk_seen_put) as an excluded object's. */
static inline void
walk_seen_exclude(struct walk_seen *s, size_t at)
{
	if (s->ents)
		s->ents[at] |= SEEN_VAL_MASK;
	else
		s->wide.ents[at].val = WALK_NOSLOT;
}

/* ---- readable memory ------------------------------------------------------- */

/*
 * The readable mappings of this process, from /proc/self/maps, sorted and
 * merged: where a type object may be before the walker reads it (design
 * note 8).  Read at the walk's start, again once if an address is not in
 * it (memory mapped since, as a new pymalloc arena for a frame the walk
 * made).  Nothing is unmapped during a walk: the GIL is held and no
 * Python code runs, so no object is freed.
 */
struct walk_ranges {
	uint64_t *lo, *hi;        /* [lo[i], hi[i]) */
	size_t n, cap;
	size_t last;              /* index of the last hit */
	int reread;               /* read again this walk already */
	int ok;                   /* the table could be read */
};

static void walk_free(void *p);
static void *walk_realloc(void *p, size_t n);

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

static void
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

/* Whether [p, p + len) is readable memory of this process. */
static int
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

static void
walk_ranges_free(struct walk_ranges *r)
{
	walk_free(r->lo);
	walk_free(r->hi);
	memset(r, 0, sizeof *r);
}

/* ---- walker state --------------------------------------------------------- */

/* Edge names used on every walk, interned once (walk_new). */
#define WALK_FIXED_NAMES(X) \
	X(CLASS, "__class__") X(DICT, "__dict__") X(MRO, "__mro__") \
	X(BASE, "__base__") X(BASES, "__bases__") X(CODE, "__code__") \
	X(CLOSURE, "__closure__") X(F_BACK, "f_back") X(F_CODE, "f_code") \
	X(F_GLOBALS, "f_globals") X(F_BUILTINS, "f_builtins") \
	X(F_LOCALS, "f_locals") X(F_FUNC, "f_func") \
	X(M_FUNC, "__func__") X(M_SELF, "__self__") \
	X(DEFAULTS, "__defaults__") X(KWDEFAULTS, "__kwdefaults__")
#define WALK_NM_ENUM(id, text) WN_##id,
enum walk_fixed_name { WALK_FIXED_NAMES(WALK_NM_ENUM) WN_COUNT };
#undef WALK_NM_ENUM

enum walk_kind {
	WK_PLAIN, WK_DICT, WK_LIST, WK_TUPLE, WK_STR, WK_BYTES, WK_TYPE,
	WK_MODULE, WK_FUNCTION, WK_CODE, WK_FRAME, WK_CELL, WK_METHOD,
};

/* Where instances keep attribute values outside a __dict__ (3.11+). */
enum walk_values {
	WV_NONE,        /* no managed dict, or the layout looks wrong */
	WV_PREHEADER,   /* 3.11: PyDictValues * at PY_OFF_VALUES_PTR */
	WV_TAGGED,      /* 3.12: PY_OFF_MANAGED_DICT holds values - 1 */
	WV_INLINE,      /* 3.13: inline at PY_OFF_INLINE_VALUES if valid */
};

/* How instances of a type are sized (design note 1). */
enum walk_sizing {
	WS_OBJECT,      /* object.__sizeof__, computed inline */
	WS_CALL,        /* METH_NOARGS C method */
	WS_CALL_FAST,   /* METH_FASTCALL (|METH_KEYWORDS), no arguments */
	WS_CALL_METHOD, /* METH_METHOD|METH_FASTCALL|METH_KEYWORDS (3.9+) */
	WS_ESTIMATE,    /* Python-level or unknown: basicsize + items */
};

struct walk_type {
	py_object *type;
	uint32_t name;            /* string id: Pympler's type name */
	uint32_t row;             /* summary row (for WK_PLAIN-like rows) */
	uint8_t kind;             /* enum walk_kind */
	uint8_t exact;            /* exact dict/list/tuple: skip tp_traverse */
	uint8_t have_gc;          /* Py_TPFLAGS_HAVE_GC */
	uint8_t heap;             /* heap type: instances refer to it */
	uint8_t sizing;           /* enum walk_sizing */
	uint8_t pre;              /* pre-header bytes added by getsizeof */
	py_inquiry is_gc;         /* tp_is_gc or NULL */
	py_traverseproc traverse; /* tp_traverse or NULL */
	py_cfunction sizeof_fn;   /* WS_CALL*: cast by calling convention */
	py_object *sizeof_cls;    /* WS_CALL_METHOD: the defining class */
	ssize_t dictoffset;       /* > 0: __dict__ pointer at this offset */
	int managed_dict;         /* 3.11+: __dict__ at PY_OFF_MANAGED_DICT */
	uint8_t values;           /* enum walk_values */
	uint32_t nattr;           /* WV_*: names in the type's shared keys */
	const char *attr_keys;    /* their PyDictUnicodeEntry array */
	uint32_t mem_start, nmem; /* __slots__ members in walk.members read
				     directly (design note 7) */
	uint32_t nmem_cmp;        /* then: members that only name referents
				     tp_traverse reports (note 7) */
	uint8_t invalid;          /* failed walk_type_valid: instances are
				     skipped (note 8) */
	uint8_t indexed;          /* collections.deque: tp_traverse reports
				     the items in order, named [i] */
};

struct walk_member {
	ssize_t offset;
	uint32_t name;            /* string id */
};

struct walk_chunk {
	struct walk_chunk *next;
	size_t used, size;
	char data[];
};

/* An edge waiting for walk_flush. */
struct walk_pending {
	py_object *obj;
	uint32_t src;             /* WALK_NOSLOT: discover only */
	uint32_t name;
};
#define WALK_CMP_MAX 16            /* members naming traverse referents */
#define WALK_BATCH 256
#define WALK_PREFETCH 32          /* table entries in flight */
#define WALK_NAMED_MAX 16         /* named referents kept for walk_visit */
#define WALK_GC_CHUNK 2048        /* gc list nodes read at a time */
#define WALK_AHEAD 16             /* objects fetched ahead (walk_drain) */

/* One chunk of a streamed walk, on its way to fmt_stream_chunk. */
#define WALK_OUT_OBJECTS 8192
#define WALK_OUT_EDGES 32768
struct walk_out {
	uint32_t first, n, nedges;
	uint64_t addr[WALK_OUT_OBJECTS], size[WALK_OUT_OBJECTS];
	uint32_t type[WALK_OUT_OBJECTS], refcnt[WALK_OUT_OBJECTS];
	uint32_t label[WALK_OUT_OBJECTS];
	uint8_t flags[WALK_OUT_OBJECTS];
	uint32_t src[WALK_OUT_EDGES], dst[WALK_OUT_EDGES];
	uint32_t name[WALK_OUT_EDGES];
	/* walk_out_dedup's rows (runs of one referrer) and scratch. */
	uint32_t row_start[WALK_OUT_EDGES + 1], row_src[WALK_OUT_EDGES];
	struct fmt_edgekey key[WALK_OUT_EDGES];
	uint8_t drop[WALK_OUT_EDGES];
};

struct walker {
	const struct walk_opts *opts;
	int graph;
	int err;                  /* MUPPY_ENOMEM once anything failed */

	/* Objects. */
	struct walk_seen seen;    /* address -> slot (WALK_NOSLOT: excluded) */
	uint32_t nslots;
	uint32_t next;            /* next slot to process: the work queue is
	                             the addr column, in discovery order */
	uint32_t cur;             /* slot being processed (visit callback) */
	uint32_t prev;            /* slot of the last edge's target
	                             (WALK_SRC_PREV; walk_flush) */
	py_object *named[WALK_NAMED_MAX];   /* what cur's named edges reach */
	uint32_t nnamed;
	py_object *indexing;      /* an indexed object being traversed */
	uint32_t next_index;      /* its next item's index */
	struct {
		py_object *val;
		uint32_t name;
	} cmp[WALK_CMP_MAX];      /* names for cur's traverse referents */
	uint32_t ncmp;
	uint64_t skipped;         /* objects left out (design note 8) */
	struct walk_ranges ranges;  /* readable memory (note 8) */
	struct walk_pending pend[WALK_BATCH];
	size_t npend;
	py_object *gcbuf[WALK_GC_CHUNK];  /* read from the gc lists */
	size_t ngcbuf;

	/* Per-object columns by slot (graph mode only, but addr). */
	uint64_t *addr, *size;
	uint32_t *refcnt;         /* saturated (format/dump.h) */
	uint32_t *otype, *label;
	uint8_t *oflags;
	size_t capobj;            /* shared capacity of the columns */

	/* Edges as (src slot, dst slot, name). */
	uint32_t *esrc, *edst, *ename;
	size_t nedges, capedges;

	/* Streaming (opts->stream): objects and edges leave in chunks as
	 * they are found; none of the columns above but addr exist. */
	struct fmt_stream *stream;
	struct walk_out *out;

	/* Strings: ids in strs, bytes in chunks, content hash -> id. */
	struct fmt_str *strs;
	size_t nstrs, capstrs;
	struct walk_chunk *chunks;
	struct walk_map strhash;  /* (hash | 1) -> id; collisions chained */
	uint32_t *strnext;        /* next id with the same hash key */
	size_t capstrnext;
	struct walk_map strobj;   /* str object address -> id */
	char *sbuf;               /* scratch for UTF-8 encoding */
	size_t capsbuf;

	/* Types. */
	struct walk_type *types;
	size_t ntypes, captypes;
	struct walk_map typemap;  /* type address -> index */
	struct walk_type *last;   /* one-entry cache */
	struct walk_member *members;
	size_t nmembers, capmembers;
	py_cfunction object_sizeof;
	py_traverseproc subtype_traverse;  /* a class statement's, or NULL */

	/* Summary rows; special rows keyed by (kind, name id). */
	struct fmt_summary_row *rows;
	size_t nrows, caprows;
	struct walk_map rowmap;

	struct fmt_root *roots;   /* obj = slot until walk_finish */
	size_t nroots, caproots;
	struct fmt_strdata *strdata;  /* obj = slot until walk_finish */
	size_t nstrdata, capstrdata;

	int finished;             /* walk_finish succeeded */
	uint32_t names[WN_COUNT]; /* edge names of enum walk_fixed_name */
	uint64_t estimated;       /* sizes not from a C __sizeof__ */

	/* walk_finish output. */
	uint64_t *f_addr, *f_size;
	uint32_t *f_refcnt, *f_estart;
	uint32_t *f_type, *f_label, *f_edst, *f_ename;
	uint8_t *f_flags;
	struct fmt_type *f_types;
};

static void
walk_fail(struct walker *w)
{
	w->err = MUPPY_ENOMEM;
}

/*
 * Drops the chunk's repeated edges the reader would drop (format/order.h),
 * within each run of edges of one referrer: an object's edges are
 * recorded together, so this catches nearly all of them (a fifth of the
 * edges of a mypy run), which the dump then neither stores nor
 * compresses.  What the reader's merge of the whole stream gives is
 * unchanged: it keeps the first of equals, in order, as this does.
 */
static void
walk_out_dedup(struct walker *w)
{
	struct walk_out *o = w->out;
	uint32_t rows = 0, kept;

	for (uint32_t e = 0; e < o->nedges; e++) {
		if (e && o->src[e] == o->src[e - 1])
			continue;
		o->row_src[rows] = o->src[e];
		o->row_start[rows++] = e;
	}
	o->row_start[rows] = o->nedges;
	kept = (uint32_t)fmt_edges_dedup(o->row_start, o->dst, o->name, rows,
					 o->key, o->drop);
	for (uint32_t r = 0; r < rows; r++)
		for (uint32_t e = o->row_start[r]; e < o->row_start[r + 1]; e++)
			o->src[e] = o->row_src[r];
	w->nedges -= o->nedges - kept;
	o->nedges = kept;
}

/* Sends the chunk: the strings made since the last one first (its labels
 * and edge names may use them), then its objects and edges. */
static void
walk_out_flush(struct walker *w)
{
	struct walk_out *o = w->out;
	struct fmt_chunk c = {
		.first = o->first, .nobjects = o->n, .addr = o->addr,
		.type = o->type, .size = o->size, .refcnt = o->refcnt,
		.label = o->label, .flags = o->flags, .nedges = o->nedges,
		.src = o->src, .dst = o->dst, .name = o->name,
	};
	int rc;

	if (w->err || (!o->n && !o->nedges))
		return;
	walk_out_dedup(w);
	c.nedges = o->nedges;
	rc = fmt_stream_strings(w->stream, w->strs, (uint32_t)w->nstrs);
	if (rc == 0)
		rc = fmt_stream_chunk(w->stream, &c);
	if (rc != 0) {
		w->err = rc;
		return;
	}
	o->first += o->n;
	o->n = o->nedges = 0;
}

/* Streams the record of slot (type WALK_SKIPPED: left out). */
static void
walk_out_object(struct walker *w, uint32_t slot, uint32_t type,
		uint64_t size, uint32_t refcnt, uint32_t label, uint8_t flags)
{
	struct walk_out *o = w->out;
	uint32_t i = o->n;

	if (o->first + i != slot) {   /* every slot once, in order */
		w->err = MUPPY_EINVAL;
		return;
	}
	o->addr[i] = w->addr[slot];
	o->type[i] = type;
	o->size[i] = size;
	o->refcnt[i] = refcnt;
	o->label[i] = label;
	o->flags[i] = flags;
	if (++o->n == WALK_OUT_OBJECTS)
		walk_out_flush(w);
}

static inline void
walk_out_edge(struct walker *w, uint32_t src, uint32_t dst, uint32_t name)
{
	struct walk_out *o = w->out;

	o->src[o->nedges] = src;
	o->dst[o->nedges] = dst;
	o->name[o->nedges] = name;
	if (++o->nedges == WALK_OUT_EDGES)
		walk_out_flush(w);
}

/* ---- strings --------------------------------------------------------------- */

static uint64_t
walk_str_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h | 1;   /* never 0: the map's empty key */
}

/* Copies n bytes (plus a NUL) into the string arena. */
static char *
walk_str_store(struct walker *w, const char *s, size_t n)
{
	struct walk_chunk *c = w->chunks;
	char *p;

	if (!c || c->size - c->used < n + 1) {
		size_t size = n + 1 > 65536 ? n + 1 : 65536;

		c = walk_realloc(NULL, sizeof *c + size);
		if (!c)
			return NULL;
		c->next = w->chunks;
		c->used = 0;
		c->size = size;
		w->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

/* The id of string s (n bytes), added if new; WALK_NOSLOT on failure. */
static uint32_t
walk_intern(struct walker *w, const char *s, size_t n)
{
	uint64_t h;
	uint32_t *head, id;
	int isnew;
	char *p;

	if (w->err)
		return WALK_NOSLOT;
	if (n > UINT32_MAX - 1)
		n = UINT32_MAX - 1;
	h = walk_str_hash(s, n);
	head = walk_map_get(&w->strhash, h);
	for (id = head ? *head : WALK_NOSLOT; id != WALK_NOSLOT;
	     id = w->strnext[id])
		if (w->strs[id].len == n && memcmp(w->strs[id].ptr, s, n) == 0)
			return id;
	if (w->nstrs >= WALK_NOSLOT - 1 ||
	    walk_grow(&w->strs, &w->capstrs, w->nstrs + 1, sizeof *w->strs) ||
	    walk_grow(&w->strnext, &w->capstrnext, w->nstrs + 1,
		      sizeof *w->strnext))
		goto fail;
	p = walk_str_store(w, s, n);
	if (!p)
		goto fail;
	id = (uint32_t)w->nstrs;
	head = walk_map_put(&w->strhash, h, id, &isnew);
	if (!head)
		goto fail;
	w->strnext[id] = isnew ? WALK_NOSLOT : *head;
	*head = id;
	w->strs[id].ptr = p;
	w->strs[id].len = (uint32_t)n;
	w->nstrs++;
	return id;
fail:
	walk_fail(w);
	return WALK_NOSLOT;
}

static uint32_t
walk_intern_cstr(struct walker *w, const char *s)
{
	return walk_intern(w, s, strlen(s));
}

/* A view of a str object's characters (no copy, no allocation). */
struct walk_strview {
	const void *data;
	size_t len;
	int kind;          /* 1, 2 or 4 bytes per character */
};

/* Fills *v for str object o; -1 if its layout is not readable. */
static int
walk_str_view(py_object *o, struct walk_strview *v)
{
	uint32_t state = PY_FIELD(uint32_t, o, PY_OFF_STR_STATE);
	int compact = (state >> 5) & 1, ascii = (state >> 6) & 1;

	v->kind = (state >> 2) & 7;
	v->len = (size_t)PY_FIELD(ssize_t, o, PY_OFF_STR_LENGTH);
	/* 3.8-3.11: a legacy string not yet "ready" has only wstr. */
	if (py.minor <= 11 && !((state >> 7) & 1))
		return -1;
	if (v->kind != 1 && v->kind != 2 && v->kind != 4)
		return -1;
	if (compact)
		v->data = (char *)o + (ascii ? py.lay.str_ascii_size :
				       py.lay.str_compact_size);
	else
		v->data = PY_FIELD(void *, o, py.lay.str_compact_size);
	return v->data ? 0 : -1;
}

/* Appends code point c as UTF-8 (lone surrogates become U+FFFD). */
static size_t
walk_utf8_put(char *p, uint32_t c)
{
	if (c < 0x80) {
		p[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		p[0] = (char)(0xC0 | (c >> 6));
		p[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		c = 0xFFFD;
	if (c < 0x10000) {
		p[0] = (char)(0xE0 | (c >> 12));
		p[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		p[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	p[0] = (char)(0xF0 | (c >> 18));
	p[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	p[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	p[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * Encodes the first max characters of str o as UTF-8 into w->sbuf; returns
 * the byte length, or -1 (unreadable layout, or w->err set).
 */
static ssize_t
walk_str_utf8(struct walker *w, py_object *o, size_t max)
{
	struct walk_strview v;
	size_t n, out = 0;

	if (walk_str_view(o, &v) != 0)
		return -1;
	n = v.len < max ? v.len : max;
	if (walk_grow(&w->sbuf, &w->capsbuf, n * 4 + 1, 1) != 0) {
		walk_fail(w);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t c = v.kind == 1 ? ((const uint8_t *)v.data)[i] :
			     v.kind == 2 ? ((const uint16_t *)v.data)[i] :
					   ((const uint32_t *)v.data)[i];
		out += walk_utf8_put(w->sbuf + out, c);
	}
	return (ssize_t)out;
}

static int
walk_is_str(py_object *o)
{
	return (PY_TP_FLAGS(PY_TYPE(o)) & PY_TPFLAGS_UNICODE_SUBCLASS) != 0;
}

/* 1 if str o equals the ASCII string s. */
static int
walk_str_eq(py_object *o, const char *s)
{
	struct walk_strview v;
	size_t n = strlen(s);

	if (!walk_is_str(o) || walk_str_view(o, &v) != 0 || v.kind != 1 ||
	    v.len != n)
		return 0;
	return memcmp(v.data, s, n) == 0;
}

/* String id of a name held in str o (cached per object); 0 if not a str. */
static uint32_t
walk_name_id(struct walker *w, py_object *o)
{
	uint32_t *cached, id;
	ssize_t n;
	int isnew;

	if (!o || !walk_is_str(o))
		return FMT_NO_STRING;
	cached = walk_map_get(&w->strobj, (uint64_t)(uintptr_t)o);
	if (cached)
		return *cached;
	n = walk_str_utf8(w, o, WALK_NAME_MAX);
	if (n < 0)
		return FMT_NO_STRING;
	id = walk_intern(w, w->sbuf, (size_t)n);
	if (id == WALK_NOSLOT)
		return FMT_NO_STRING;
	cached = walk_map_put(&w->strobj, (uint64_t)(uintptr_t)o, id, &isnew);
	if (!cached) {
		walk_fail(w);
		return FMT_NO_STRING;
	}
	return id;
}

/* Value under the str key s in dict d, found by scanning (no hashing, so
 * no __eq__/__hash__ of foreign keys runs); NULL if absent. */
static py_object *
walk_dict_find(py_object *d, const char *s)
{
	ssize_t pos = 0;
	py_object *k, *v;

	if (!d)
		return NULL;
	while (py.PyDict_Next(d, &pos, &k, &v))
		if (walk_str_eq(k, s))
			return v;
	return NULL;
}

/* ---- objects and edges ------------------------------------------------------- */

static int
walk_is_excluded(const struct walker *w, py_object *o)
{
	for (size_t i = 0; i < w->opts->nexclude; i++)
		if (w->opts->exclude[i] == (uintptr_t)o)
			return 1;
	return 0;
}

/*
 * Second half of discovering o, just entered in w->seen (at at) with
 * slot w->nslots: gives o that slot, which queues it for processing (the
 * addr column is the queue: design note 3), or marks it excluded.
 * Returns the slot or WALK_NOSLOT.
 */
static inline uint32_t
walk_new_object(struct walker *w, py_object *o, size_t at)
{
	if (w->opts->nexclude && walk_is_excluded(w, o)) {
		walk_seen_exclude(&w->seen, at);
		return WALK_NOSLOT;
	}
	if (w->nslots == WALK_SRC_PREV - 1)
		goto fail;
	if (w->nslots >= w->capobj) {
		size_t cap = w->capobj, c;

		/* All columns share capobj: grow each to the same. */
		c = cap; if (walk_grow(&w->addr, &c, cap + 1, 8)) goto fail;
		if (w->graph && !w->stream) {
			c = cap; if (walk_grow(&w->size, &c, cap + 1, 8)) goto fail;
			c = cap; if (walk_grow(&w->refcnt, &c, cap + 1, 4)) goto fail;
			c = cap; if (walk_grow(&w->otype, &c, cap + 1, 4)) goto fail;
			c = cap; if (walk_grow(&w->label, &c, cap + 1, 4)) goto fail;
			c = cap; if (walk_grow(&w->oflags, &c, cap + 1, 1)) goto fail;
		}
		w->capobj = c;
	}
	w->addr[w->nslots] = (uint64_t)(uintptr_t)o;
	return w->nslots++;
fail:
	walk_fail(w);
	return WALK_NOSLOT;
}

/*
 * The slot of o, discovering it (slot assigned, pushed for processing) the
 * first time; WALK_NOSLOT for NULL, excluded objects and failures.  For
 * callers that need the slot now; edges go through walk_edge's batches.
 */
static uint32_t
walk_discover(struct walker *w, py_object *o)
{
	uint32_t slot;
	size_t at;
	int isnew;

	if (!o || w->err)
		return WALK_NOSLOT;
	if (walk_seen_reserve(&w->seen, 1) != 0 ||
	    (isnew = walk_seen_put(&w->seen, (uint64_t)(uintptr_t)o,
				   w->nslots, &slot, &at)) < 0) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	return isnew ? walk_new_object(w, o, at) : slot;
}

/* Room for add more edges in the three edge columns. */
static int
walk_edges_reserve(struct walker *w, size_t add)
{
	size_t cap = w->capedges, c;

	if (w->nedges + add <= cap)
		return 0;
	c = cap;
	if (walk_grow(&w->esrc, &c, w->nedges + add, 4))
		return -1;
	c = cap;
	if (walk_grow(&w->edst, &c, w->nedges + add, 4))
		return -1;
	c = cap;
	if (walk_grow(&w->ename, &c, w->nedges + add, 4))
		return -1;
	w->capedges = c;
	return 0;
}

/*
 * Resolves the pending edges (design note 3): hashes and prefetches every
 * target's table entry first, then inserts, so that the cache misses of
 * one batch overlap instead of following each other.
 */
static void
walk_flush(struct walker *w)
{
	size_t n = w->npend;

	w->npend = 0;
	if (!n || w->err)
		return;
	if (walk_seen_reserve(&w->seen, n) != 0 ||
	    (w->graph && !w->stream && walk_edges_reserve(w, n) != 0)) {
		walk_fail(w);
		return;
	}
	for (size_t i = 0; i < n && i < WALK_PREFETCH; i++)
		walk_seen_prefetch(&w->seen, (uint64_t)(uintptr_t)w->pend[i].obj);
	for (size_t i = 0; i < n && !w->err; i++) {
		const struct walk_pending *p = &w->pend[i];
		uint32_t dst, src = p->src;
		size_t at;
		int isnew;

		if (i + WALK_PREFETCH < n)
			walk_seen_prefetch(&w->seen, (uint64_t)(uintptr_t)
					   w->pend[i + WALK_PREFETCH].obj);
		if (src == WALK_SRC_PREV) {
			src = w->prev;
			if (src == WALK_NOSLOT)
				continue;   /* from an excluded object */
		}
		isnew = walk_seen_put(&w->seen, (uint64_t)(uintptr_t)p->obj,
				      w->nslots, &dst, &at);
		if (isnew < 0) {
			walk_fail(w);
			return;
		}
		if (isnew)
			dst = walk_new_object(w, p->obj, at);
		w->prev = dst;
		if (dst == WALK_NOSLOT || !w->graph || src == WALK_NOSLOT)
			continue;
		if (w->stream) {
			walk_out_edge(w, src, dst, p->name);
			w->nedges++;
			continue;
		}
		w->esrc[w->nedges] = src;
		w->edst[w->nedges] = dst;
		w->ename[w->nedges] = p->name;
		w->nedges++;
	}
}

/* Records the edge src -> o named name (graph mode) and discovers o;
 * src WALK_NOSLOT only discovers.  Resolved in batches (walk_flush). */
static inline void
walk_edge(struct walker *w, uint32_t src, py_object *o, uint32_t name)
{
	struct walk_pending *p;

	if (!o)
		return;
	if (name != FMT_EDGE_NONE && src == w->cur &&
	    w->nnamed < WALK_NAMED_MAX)
		w->named[w->nnamed++] = o;
	p = &w->pend[w->npend++];
	p->obj = o;
	p->src = src;
	p->name = name;
	if (w->npend == WALK_BATCH)
		walk_flush(w);
}

/* Packs an edge name, keeping ids that fit (FMT_EDGE_VALUE_MAX). */
static inline uint32_t
walk_ename(enum fmt_edge_kind kind, uint32_t value)
{
	if (value > FMT_EDGE_VALUE_MAX)
		return FMT_EDGE_NONE;
	return FMT_EDGE_NAME(kind, value);
}

/* Named slot edge (FMT_EDGE_OTHER), name one of enum walk_fixed_name. */
static inline void
walk_edge_other(struct walker *w, uint32_t src, py_object *o,
		enum walk_fixed_name n)
{
	if (o)
		walk_edge(w, src, o, walk_ename(FMT_EDGE_OTHER, w->names[n]));
}

/* tp_traverse callback.  A referent the walker's own readers already
 * named is not recorded again (the unnamed copy would only be dropped by
 * walk_finish: design note 3), which spares a table lookup per
 * attribute, __dict__ and __class__ of every instance. */
static int
walk_visit(py_object *o, void *arg)
{
	struct walker *w = arg;

	if (!o)
		return 0;
	for (uint32_t i = 0; i < w->nnamed; i++)
		if (w->named[i] == o)
			return 0;
	for (uint32_t i = 0; i < w->ncmp; i++) {
		if (w->cmp[i].val == o) {   /* design note 7: a member's name */
			uint32_t name = w->cmp[i].name;

			w->cmp[i] = w->cmp[--w->ncmp];
			walk_edge(w, w->cur, o, walk_ename(FMT_EDGE_ATTR, name));
			return 0;
		}
	}
	if (w->indexing && o != PY_TYPE(w->indexing)) {   /* a deque item */
		uint32_t i = w->next_index++;

		walk_edge(w, w->cur, o, walk_ename(FMT_EDGE_INDEX,
			  i > FMT_EDGE_VALUE_MAX ? UINT32_MAX : i));
		return 0;
	}
	walk_edge(w, w->cur, o, FMT_EDGE_NONE);
	return 0;
}

/* ---- types ------------------------------------------------------------------ */

static int
walk_is_subtype(py_object *t, py_object *base)
{
	for (; t; t = PY_FIELD(py_object *, t, PY_OFF_TP_BASE))
		if (t == base)
			return 1;
	return 0;
}

/* Static type: tp_name as is; heap: __module__.__qualname__ (type_repr). */
static uint32_t
walk_type_name(struct walker *w, py_object *t)
{
	const char *tp_name = PY_FIELD(const char *, t, PY_OFF_TP_NAME);
	py_object *mod, *qual;
	ssize_t n;
	size_t mlen;
	char *name;
	uint32_t id;

	if (!(PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE))
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	mod = walk_dict_find(PY_FIELD(py_object *, t, PY_OFF_TP_DICT),
			     "__module__");
	qual = PY_FIELD(py_object *, t, py.lay.ht_qualname);
	if (!mod || !walk_is_str(mod) || walk_str_eq(mod, "builtins") ||
	    !qual || !walk_is_str(qual))
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	n = walk_str_utf8(w, mod, WALK_NAME_MAX);
	if (n < 0)
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	mlen = (size_t)n;
	name = walk_realloc(NULL, mlen + 1);
	if (!name) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	memcpy(name, w->sbuf, mlen);
	name[mlen] = '.';
	n = walk_str_utf8(w, qual, WALK_NAME_MAX);
	if (n < 0 || walk_grow(&w->sbuf, &w->capsbuf, mlen + 1 + (size_t)n, 1)) {
		walk_free(name);
		if (n >= 0)
			walk_fail(w);
		return walk_intern_cstr(w, tp_name ? tp_name : "?");
	}
	memmove(w->sbuf + mlen + 1, w->sbuf, (size_t)n);
	memcpy(w->sbuf, name, mlen + 1);
	walk_free(name);
	id = walk_intern(w, w->sbuf, mlen + 1 + (size_t)n);
	return id;
}

/* The __qualname__ of type t: ht_qualname, or tp_name after its last dot. */
static uint32_t
walk_type_qualname(struct walker *w, py_object *t)
{
	const char *tp_name, *dot;

	if (PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE)
		return walk_name_id(w, PY_FIELD(py_object *, t,
						py.lay.ht_qualname));
	tp_name = PY_FIELD(const char *, t, PY_OFF_TP_NAME);
	if (!tp_name)
		return FMT_NO_STRING;
	dot = strrchr(tp_name, '.');
	return walk_intern_cstr(w, dot ? dot + 1 : tp_name);
}

/* A C method named name in a static type's tp_methods, or NULL. */
static const struct py_methoddef *
walk_find_method(py_object *t, const char *name)
{
	const struct py_methoddef *m;

	m = PY_FIELD(const struct py_methoddef *, t, PY_OFF_TP_METHODS);
	for (; m && m->ml_name; m++)
		if (strcmp(m->ml_name, name) == 0)
			return m;
	return NULL;
}

/*
 * Decides how instances of t are sized: the first __sizeof__ along the
 * MRO decides (design note 1).  Heap types keep methods in their dict
 * (a Python function there means Python code: estimate); static types in
 * tp_methods (3.12+ static types have no tp_dict).
 */
static void
walk_type_sizing(struct walker *w, struct walk_type *ti)
{
	py_object *mro = PY_FIELD(py_object *, ti->type, PY_OFF_TP_MRO);
	ssize_t n = mro ? PY_FIELD(ssize_t, mro, PY_OFF_SIZE) : 0;

	ti->sizing = WS_ESTIMATE;
	for (ssize_t i = 0; i < n; i++) {
		py_object *b = PY_FIELD(py_object *, mro,
					PY_OFF_SEQ_ITEMS + 8 * i);
		const struct py_methoddef *m = NULL;
		py_object *cls = b;
		int fl;

		if (PY_TP_FLAGS(b) & PY_TPFLAGS_HEAPTYPE) {
			py_object *d = walk_dict_find(
				PY_FIELD(py_object *, b, PY_OFF_TP_DICT),
				"__sizeof__");
			if (!d)
				continue;
			if (PY_TYPE(d) != py.PyMethodDescr_Type)
				return;   /* Python-level __sizeof__ */
			m = PY_FIELD(const struct py_methoddef *, d,
				     PY_OFF_DESCR_METHOD);
			cls = PY_FIELD(py_object *, d, PY_OFF_DESCR_TYPE);
		} else {
			m = walk_find_method(b, "__sizeof__");
			if (!m)
				continue;
		}
		if (!m)
			return;
		/* Call it the way its method descriptor would, no arguments. */
		fl = m->ml_flags & (PY_METH_VARARGS | PY_METH_KEYWORDS |
				    PY_METH_NOARGS | PY_METH_O |
				    PY_METH_FASTCALL | PY_METH_METHOD);
		ti->sizeof_fn = m->ml_meth;
		ti->sizeof_cls = cls;
		if (fl == PY_METH_NOARGS)
			ti->sizing = m->ml_meth == w->object_sizeof ?
				     WS_OBJECT : WS_CALL;
		else if (fl == PY_METH_FASTCALL ||
			 fl == (PY_METH_FASTCALL | PY_METH_KEYWORDS))
			ti->sizing = WS_CALL_FAST;
		else if (fl == (PY_METH_METHOD | PY_METH_FASTCALL |
				PY_METH_KEYWORDS))
			ti->sizing = WS_CALL_METHOD;
		return;
	}
}

/*
 * Collects the __slots__ members (object members) of the heap types of
 * ti's tp_base chain (design note 7).  Those of the chain's prefix whose
 * tp_traverse is subtype_traverse are read directly, as CPython's own
 * subtype_traverse reads them; the others only name what their types' own
 * tp_traverse reports (walk_visit compares values; nothing read through
 * them is followed), and only if they lie inside the instance.
 */
static int
walk_type_members(struct walker *w, struct walk_type *ti)
{
	struct py_memberdef {
		const char *name;
		int type;
		ssize_t offset;
		int flags;
		const char *doc;
	};
	ssize_t basic = PY_FIELD(ssize_t, ti->type, PY_OFF_TP_BASICSIZE);
	int direct = w->subtype_traverse != NULL;

	ti->mem_start = (uint32_t)w->nmembers;
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0: the members read directly; pass 1: the others. */
		int in_prefix = direct;

		for (py_object *t = ti->type; t;
		     t = PY_FIELD(py_object *, t, PY_OFF_TP_BASE)) {
			const struct py_memberdef *m;

			if (in_prefix && PY_FIELD(py_traverseproc, t,
						  PY_OFF_TP_TRAVERSE) !=
					 w->subtype_traverse)
				in_prefix = 0;
			if (!(PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE) ||
			    in_prefix != (pass == 0))
				continue;
			m = PY_FIELD(const struct py_memberdef *, t,
				     PY_OFF_TP_MEMBERS);
			for (; m && m->name; m++) {
				uint32_t id;

				if ((m->type != PY_T_OBJECT_EX &&
				     m->type != PY_T_OBJECT) ||
				    (m->flags & PY_RELATIVE_OFFSET) ||
				    m->offset < 16 || (m->offset & 7) ||
				    m->offset + 8 > basic ||
				    strcmp(m->name, "__weakref__") == 0 ||
				    strcmp(m->name, "__dict__") == 0)
					continue;
				if (pass == 1 && ti->nmem_cmp >= WALK_CMP_MAX)
					break;
				id = walk_intern_cstr(w, m->name);
				if (id == WALK_NOSLOT ||
				    walk_grow(&w->members, &w->capmembers,
					      w->nmembers + 1,
					      sizeof *w->members))
					return -1;
				w->members[w->nmembers].offset = m->offset;
				w->members[w->nmembers].name = id;
				w->nmembers++;
				if (pass == 0)
					ti->nmem++;
				else
					ti->nmem_cmp++;
			}
		}
	}
	return 0;
}

/*
 * On 3.11+ an instance of a heap type with Py_TPFLAGS_MANAGED_DICT keeps
 * its attributes as a PyDictValues array until something asks for its
 * __dict__; value i belongs to entry i of the type's shared keys
 * (ht_cached_keys, a DICT_KEYS_SPLIT keys object with str keys), as in
 * CPython's own _PyObject_VisitInstanceAttributes.  Records where the
 * names are when the keys look sane; otherwise leaves WV_NONE (the values
 * stay unnamed tp_traverse edges).  The keys cannot change during the walk:
 * no Python code runs.
 */
static void
walk_type_values(struct walk_type *ti, unsigned long fl)
{
	const char *keys;
	unsigned log2_size, log2_index, want_index;
	ssize_t nentries;
	enum walk_values how = py.minor == 11 ? WV_PREHEADER :
			       py.minor == 12 ? WV_TAGGED : WV_INLINE;

	if (py.lay.ht_cached_keys < 0 || py.lay.dv_values < 0 || py.minor > 13)
		return;
	if (how == WV_INLINE &&
	    (!(fl & PY_TPFLAGS_INLINE_VALUES) ||
	     PY_FIELD(ssize_t, ti->type, PY_OFF_TP_BASICSIZE) !=
	     PY_OFF_INLINE_VALUES))
		return;
	keys = PY_FIELD(const char *, ti->type, py.lay.ht_cached_keys);
	if (!keys || PY_FIELD(uint8_t, keys, PY_OFF_DK_KIND) != PY_DK_SPLIT)
		return;
	log2_size = PY_FIELD(uint8_t, keys, PY_OFF_DK_LOG2_SIZE);
	log2_index = PY_FIELD(uint8_t, keys, PY_OFF_DK_LOG2_INDEX_BYTES);
	/* Index bytes per slot: 1, 2, 4 or 8 by table size (dictobject.c). */
	want_index = log2_size + (log2_size < 8 ? 0 : log2_size < 16 ? 1 :
				  log2_size < 32 ? 2 : 3);
	nentries = PY_FIELD(ssize_t, keys, PY_OFF_DK_NENTRIES);
	/* Shared keys hold at most 30 entries; allow a margin, no more. */
	if (log2_size < 3 || log2_size > 16 || log2_index != want_index ||
	    nentries < 0 || nentries > ((ssize_t)2 << log2_size) / 3 ||
	    nentries > 255)
		return;
	ti->values = (uint8_t)how;
	ti->nattr = (uint32_t)nentries;
	ti->attr_keys = keys + PY_OFF_DK_INDICES + ((size_t)1 << log2_index);
}

/*
 * A class a class statement made has subtype_traverse for tp_traverse: it
 * visits the type, the __dict__ or the inline values, the __slots__
 * members, then calls the nearest base's own tp_traverse.  walk_object
 * reads all but the last itself, so when it can read all of them (graph
 * mode, a values layout it knows), the walk calls that base's traverse
 * alone, none for a class of plain objects: a tenth of the walk's
 * instructions on a heap of instances (callgrind), and tests/walk/walk_check.py
 * holds every referent of gc.get_referents() to be an edge still.
 */
static void
walk_type_base_traverse(const struct walker *w, struct walk_type *ti)
{
	py_object *b = ti->type;

	if (!w->graph ||
	    (ti->managed_dict ? ti->values == WV_NONE : ti->dictoffset < 0))
		return;
	while (b && PY_FIELD(py_traverseproc, b, PY_OFF_TP_TRAVERSE) ==
		    w->subtype_traverse)
		b = PY_FIELD(py_object *, b, PY_OFF_TP_BASE);
	if (b)
		ti->traverse = PY_FIELD(py_traverseproc, b, PY_OFF_TP_TRAVERSE);
}

/* The tp_traverse of a heap type found as name in module modname, or
 * NULL. */
static py_traverseproc
walk_class_traverse(py_object *mods, const char *modname, const char *name)
{
	py_object *m = walk_dict_find(mods, modname), *t;

	if (!m || !walk_is_subtype(PY_TYPE(m), py.PyModule_Type))
		return NULL;
	t = walk_dict_find(PY_FIELD(py_object *, m, PY_OFF_MODULE_DICT), name);
	if (!t || !(PY_TP_FLAGS(PY_TYPE(t)) & PY_TPFLAGS_TYPE_SUBCLASS) ||
	    !(PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE))
		return NULL;
	return PY_FIELD(py_traverseproc, t, PY_OFF_TP_TRAVERSE);
}

/* subtype_traverse (static in CPython), from two classes every
 * interpreter has made by class statements before running a program
 * (io.IOBase, abc.ABCMeta); NULL unless both agree. */
static py_traverseproc
walk_find_subtype_traverse(void)
{
	py_object *mods = py.PyImport_GetModuleDict();
	py_traverseproc a = walk_class_traverse(mods, "io", "IOBase");

	return a && a == walk_class_traverse(mods, "abc", "ABCMeta") ? a : NULL;
}

static enum walk_kind
walk_type_kind(py_object *t, unsigned long fl)
{
	if (fl & PY_TPFLAGS_DICT_SUBCLASS)
		return WK_DICT;
	if (fl & PY_TPFLAGS_LIST_SUBCLASS)
		return WK_LIST;
	if (fl & PY_TPFLAGS_TUPLE_SUBCLASS)
		return WK_TUPLE;
	if (fl & PY_TPFLAGS_UNICODE_SUBCLASS)
		return WK_STR;
	if (fl & PY_TPFLAGS_BYTES_SUBCLASS)
		return WK_BYTES;
	if (fl & PY_TPFLAGS_TYPE_SUBCLASS)
		return WK_TYPE;
	if (t == py.PyFunction_Type)
		return WK_FUNCTION;
	if (t == py.PyCode_Type)
		return WK_CODE;
	if (t == py.PyFrame_Type)
		return WK_FRAME;
	if (t == py.PyCell_Type)
		return WK_CELL;
	if (t == py.PyMethod_Type)
		return WK_METHOD;
	if (walk_is_subtype(t, py.PyModule_Type))
		return WK_MODULE;
	return WK_PLAIN;
}

/* Adds a summary row named id; returns its index or WALK_NOSLOT. */
static uint32_t
walk_new_row(struct walker *w, uint32_t id)
{
	if (id == WALK_NOSLOT ||
	    walk_grow(&w->rows, &w->caprows, w->nrows + 1, sizeof *w->rows)) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	w->rows[w->nrows].name = id;
	w->rows[w->nrows].count = 0;
	w->rows[w->nrows].size = 0;
	return (uint32_t)w->nrows++;
}

/* How much of a type object the walker reads: a static PyTypeObject, or a
 * PyHeapTypeObject up to the fields of it we use. */
static size_t
walk_type_span(py_object *t)
{
	size_t n = PY_OFF_TP_MRO + 8;

	if (PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE) {
		if ((size_t)py.lay.ht_qualname + 8 > n)
			n = (size_t)py.lay.ht_qualname + 8;
		if (py.lay.ht_cached_keys > 0 &&
		    (size_t)py.lay.ht_cached_keys + 8 > n)
			n = (size_t)py.lay.ht_cached_keys + 8;
	}
	return n;
}

/* p points to an object whose type has flag (a *_SUBCLASS flag): the
 * object and its type in readable memory first. */
static int
walk_is_kind(struct walker *w, py_object *p, unsigned long flag)
{
	return p && !((uintptr_t)p & 7) && walk_readable(&w->ranges, p, 24) &&
	       walk_readable(&w->ranges, PY_TYPE(p), PY_OFF_TP_FLAGS + 8) &&
	       (PY_TP_FLAGS(PY_TYPE(p)) & flag);
}

/* One type object alone (not its bases): aligned, readable as far as the
 * walker reads it, READY, a metatype chain through readable metatypes to
 * `type`, sizes that make sense, a readable name. */
static int
walk_type_shallow(struct walker *w, py_object *b)
{
	ssize_t basic, item;
	py_object *m;
	int depth = 0;

	if (!b || ((uintptr_t)b & 7) ||
	    !walk_readable(&w->ranges, b, PY_OFF_TP_FLAGS + 8) ||
	    !walk_readable(&w->ranges, b, walk_type_span(b)) ||
	    !(PY_TP_FLAGS(b) & PY_TPFLAGS_READY))
		return 0;
	for (m = PY_TYPE(b); m != py.PyType_Type; m = PY_TYPE(m))
		if (++depth > 32 || ((uintptr_t)m & 7) ||
		    !walk_readable(&w->ranges, m, PY_OFF_TP_FLAGS + 8) ||
		    !(PY_TP_FLAGS(m) & PY_TPFLAGS_TYPE_SUBCLASS))
			return 0;
	basic = PY_FIELD(ssize_t, b, PY_OFF_TP_BASICSIZE);
	item = PY_FIELD(ssize_t, b, PY_OFF_TP_ITEMSIZE);
	return basic >= 16 && basic <= (1 << 30) && item >= 0 &&
	       item <= (1 << 20) &&
	       walk_readable(&w->ranges, PY_FIELD(const char *, b,
						  PY_OFF_TP_NAME), 1);
}

/*
 * Whether t holds up as a type object before the walker relies on it
 * (design note 8): itself and every type of its tp_base chain and its MRO
 * pass walk_type_shallow, the chain ends at `object`, tp_mro is a tuple,
 * tp_dict a dict, a heap type's __qualname__ a str.  Nothing is read
 * before the memory it is in is known to be readable.
 */
static int
walk_type_valid(struct walker *w, py_object *t)
{
	py_object *b, *mro, *d;
	ssize_t n;
	int depth = 0;

	for (b = t; b; b = PY_FIELD(py_object *, b, PY_OFF_TP_BASE)) {
		if (++depth > 256 || !walk_type_shallow(w, b))
			return 0;
		if (!PY_FIELD(py_object *, b, PY_OFF_TP_BASE) &&
		    b != py.PyBaseObject_Type)
			return 0;
	}
	mro = PY_FIELD(py_object *, t, PY_OFF_TP_MRO);
	if (mro) {
		if (!walk_is_kind(w, mro, PY_TPFLAGS_TUPLE_SUBCLASS))
			return 0;
		n = PY_FIELD(ssize_t, mro, PY_OFF_SIZE);
		if (n < 1 || n > 4096 ||
		    !walk_readable(&w->ranges, mro,
				   PY_OFF_SEQ_ITEMS + 8 * (size_t)n))
			return 0;
		for (ssize_t i = 0; i < n; i++) {
			b = PY_FIELD(py_object *, mro, PY_OFF_SEQ_ITEMS + 8 * i);
			if (!walk_type_shallow(w, b))
				return 0;
			d = PY_FIELD(py_object *, b, PY_OFF_TP_DICT);
			if (d && !walk_is_kind(w, d, PY_TPFLAGS_DICT_SUBCLASS))
				return 0;
		}
	}
	d = PY_FIELD(py_object *, t, PY_OFF_TP_DICT);
	if (d && !walk_is_kind(w, d, PY_TPFLAGS_DICT_SUBCLASS))
		return 0;
	if (PY_TP_FLAGS(t) & PY_TPFLAGS_HEAPTYPE) {
		d = PY_FIELD(py_object *, t, py.lay.ht_qualname);
		if (d && !walk_is_kind(w, d, PY_TPFLAGS_UNICODE_SUBCLASS))
			return 0;
	}
	return 1;
}

/* Fills the cache entry of type t. */
static int
walk_type_init(struct walker *w, struct walk_type *ti, py_object *t)
{
	unsigned long fl;

	memset(ti, 0, sizeof *ti);
	ti->type = t;
	if (!walk_type_valid(w, t)) {
		/* Design note 8: its objects are skipped.  The TYPES entry
		 * stays (no object refers to it), with a name of ours. */
		ti->invalid = 1;
		ti->name = walk_intern_cstr(w, "<invalid type>");
		ti->row = WALK_NOSLOT;
		return ti->name == WALK_NOSLOT ? -1 : 0;
	}
	fl = PY_TP_FLAGS(t);
	ti->kind = (uint8_t)walk_type_kind(t, fl);
	/* The exact deque only: a subclass's traverse reports its __dict__
	 * and slots too, before the items. */
	ti->indexed = strcmp(PY_TP_NAME(t), "collections.deque") == 0;
	ti->exact = t == py.PyDict_Type || t == py.PyList_Type ||
		    t == py.PyTuple_Type;
	ti->have_gc = (fl & PY_TPFLAGS_HAVE_GC) != 0;
	ti->heap = (fl & PY_TPFLAGS_HEAPTYPE) != 0;
	ti->is_gc = PY_FIELD(py_inquiry, t, PY_OFF_TP_IS_GC);
	ti->traverse = PY_FIELD(py_traverseproc, t, PY_OFF_TP_TRAVERSE);
	ti->dictoffset = PY_FIELD(ssize_t, t, PY_OFF_TP_DICTOFFSET);
	/* Note 7: a __dict__ pointer inside the instance, or none read. */
	if (ti->dictoffset > 0 &&
	    ((ti->dictoffset & 7) || ti->dictoffset + 8 >
	     PY_FIELD(ssize_t, t, PY_OFF_TP_BASICSIZE)))
		ti->dictoffset = 0;
	/* Note 7: read where CPython's subtype_traverse reads it. */
	ti->managed_dict = py.minor >= 11 && (fl & PY_TPFLAGS_MANAGED_DICT) &&
			   ti->traverse && ti->traverse == w->subtype_traverse;
	ti->pre = (uint8_t)py_preheader_size(fl, py.minor);
	walk_type_sizing(w, ti);
	ti->name = walk_type_name(w, t);
	if (ti->name == WALK_NOSLOT)
		return -1;
	ti->row = walk_new_row(w, ti->name);
	if (ti->row == WALK_NOSLOT)
		return -1;
	if (ti->heap && walk_type_members(w, ti) != 0)
		return -1;
	if (ti->managed_dict && ti->heap && w->graph)
		walk_type_values(ti, fl);
	if (ti->traverse && ti->traverse == w->subtype_traverse)
		walk_type_base_traverse(w, ti);
	return w->err ? -1 : 0;
}

/* The cache entry of type t, created on first use; NULL on failure. */
static struct walk_type *
walk_type(struct walker *w, py_object *t)
{
	uint32_t *idx;
	int isnew;

	if (w->last && w->last->type == t)
		return w->last;
	idx = walk_map_put(&w->typemap, (uint64_t)(uintptr_t)t,
			   (uint32_t)w->ntypes, &isnew);
	if (!idx) {
		walk_fail(w);
		return NULL;
	}
	if (isnew) {
		if (walk_grow(&w->types, &w->captypes, w->ntypes + 1,
			      sizeof *w->types) ||
		    walk_type_init(w, &w->types[w->ntypes], t) != 0) {
			walk_fail(w);
			return NULL;
		}
		w->ntypes++;
	}
	w->last = &w->types[*idx];
	return w->last;
}

/* ---- sizes --------------------------------------------------------------- */

static int
walk_is_gc(const struct walk_type *ti, py_object *o)
{
	return ti->have_gc && (!ti->is_gc || ti->is_gc(o));
}

/* sys.getsizeof(o), without running Python code (design note 1). */
static uint64_t
walk_sizeof(struct walker *w, const struct walk_type *ti, py_object *o,
	    int isgc)
{
	py_object *t = ti->type;
	ssize_t basic = PY_FIELD(ssize_t, t, PY_OFF_TP_BASICSIZE);
	ssize_t item = PY_FIELD(ssize_t, t, PY_OFF_TP_ITEMSIZE);
	ssize_t s = -1;

	if (ti->sizing >= WS_CALL && ti->sizing <= WS_CALL_METHOD) {
		py_object *r;

		if (ti->sizing == WS_CALL)
			r = ti->sizeof_fn(o, NULL);
		else if (ti->sizing == WS_CALL_FAST)
			r = ((py_object *(*)(py_object *, py_object *const *,
					     ssize_t, py_object *))
			     (void (*)(void))ti->sizeof_fn)(o, NULL, 0, NULL);
		else
			r = ((py_object *(*)(py_object *, py_object *,
					     py_object *const *, size_t,
					     py_object *))
			     (void (*)(void))ti->sizeof_fn)(o, ti->sizeof_cls,
							    NULL, 0, NULL);

		if (r) {
			s = py.PyLong_AsSsize_t(r);
			py.Py_DecRef(r);
		}
		if (s < 0)
			py.PyErr_Clear();
	}
	/* ob_size only where the instance has room for it (note 7). */
	if (basic < PY_OFF_SIZE + 8)
		item = 0;
	if (ti->sizing == WS_OBJECT) {
		/* object.__sizeof__: ob_size as is (signed), like CPython. */
		s = basic + (item > 0 ? PY_FIELD(ssize_t, o, PY_OFF_SIZE) *
			     item : 0);
	} else if (s < 0) {
		ssize_t n = item ? PY_FIELD(ssize_t, o, PY_OFF_SIZE) : 0;

		s = basic + (n < 0 ? -n : n) * item;
		w->estimated++;
	}
	if (py.minor <= 10)
		return (uint64_t)s + (isgc ? PY_GC_HEAD_SIZE : 0);
	if (py.minor >= 13 && t == py.PyType_Type &&
	    !(PY_TP_FLAGS(o) & PY_TPFLAGS_HEAPTYPE))
		return (uint64_t)s;   /* 3.13: static types get no pre-header */
	return (uint64_t)s + ti->pre;
}

/* ---- per-kind readers ------------------------------------------------------ */

/* The edge name of a dict value under key k: its str key, or, for an
 * exact int key in 0..FMT_EDGE_VALUE_MAX, the index kind (a path then
 * reads cache[42], as Python would); else unnamed. */
static uint32_t
walk_key_name(struct walker *w, py_object *k)
{
	ssize_t v;

	if (walk_is_str(k)) {
		uint32_t id = walk_name_id(w, k);

		if (id != FMT_NO_STRING || walk_str_eq(k, ""))
			return walk_ename(FMT_EDGE_KEY, id);
		return FMT_EDGE_NONE;
	}
	if (PY_TYPE(k) != py.PyLong_Type)   /* not bool, not subclasses */
		return FMT_EDGE_NONE;
	v = py.PyLong_AsSsize_t(k);          /* C only; OverflowError: -1 */
	if (v < 0) {
		py.PyErr_Clear();
		return FMT_EDGE_NONE;
	}
	return walk_ename(FMT_EDGE_INDEX, v > FMT_EDGE_VALUE_MAX ?
				       UINT32_MAX : (uint32_t)v);
}

static void
walk_dict(struct walker *w, uint32_t src, py_object *d)
{
	ssize_t pos = 0;
	py_object *k, *v;

	while (!w->err && py.PyDict_Next(d, &pos, &k, &v)) {
		uint32_t name = w->graph ? walk_key_name(w, k) : FMT_EDGE_NONE;

		walk_edge(w, src, v, name);
		walk_edge(w, src, k, walk_ename(FMT_EDGE_DICTKEY, 0));
	}
}

static void
walk_seq(struct walker *w, uint32_t src, py_object *o, int is_list)
{
	ssize_t n = PY_FIELD(ssize_t, o, PY_OFF_SIZE);
	py_object **items = is_list ?
		PY_FIELD(py_object **, o, PY_OFF_SEQ_ITEMS) :
		(py_object **)((char *)o + PY_OFF_SEQ_ITEMS);

	for (ssize_t i = 0; i < n && items && !w->err; i++)
		walk_edge(w, src, items[i],
			  walk_ename(FMT_EDGE_INDEX, (uint32_t)i));
}

/* Item i of tuple t (no bounds check beyond NULL). */
static py_object *
walk_tuple_item(py_object *t, ssize_t i)
{
	if (!t || i < 0 || i >= PY_FIELD(ssize_t, t, PY_OFF_SIZE))
		return NULL;
	return PY_FIELD(py_object *, t, PY_OFF_SEQ_ITEMS + 8 * i);
}

/* Name of local i of code object co, the way the frame lays them out. */
static py_object *
walk_local_name(py_object *co, ssize_t i)
{
	ssize_t nl, nc;
	py_object *cells;

	if (py.minor >= 11)
		return walk_tuple_item(PY_FIELD(py_object *, co,
					py.lay.co_localsplusnames), i);
	nl = PY_FIELD(int, co, py.lay.co_nlocals);
	if (i < nl)
		return walk_tuple_item(PY_FIELD(py_object *, co,
					py.lay.co_varnames), i);
	cells = PY_FIELD(py_object *, co, py.lay.co_cellvars);
	nc = cells ? PY_FIELD(ssize_t, cells, PY_OFF_SIZE) : 0;
	if (i < nl + nc)
		return walk_tuple_item(cells, i - nl);
	return walk_tuple_item(PY_FIELD(py_object *, co, py.lay.co_freevars),
			       i - nl - nc);
}

/* Number of fast locals (locals + cells + free vars) of code co. */
static ssize_t
walk_nlocals(py_object *co)
{
	py_object *c, *f;

	if (py.minor >= 11)
		return PY_FIELD(int, co, py.lay.co_nlocalsplus);
	c = PY_FIELD(py_object *, co, py.lay.co_cellvars);
	f = PY_FIELD(py_object *, co, py.lay.co_freevars);
	return PY_FIELD(int, co, py.lay.co_nlocals) +
	       (c ? PY_FIELD(ssize_t, c, PY_OFF_SIZE) : 0) +
	       (f ? PY_FIELD(ssize_t, f, PY_OFF_SIZE) : 0);
}

/* The code object of frame f (borrowed), or NULL. */
static py_object *
walk_frame_code(py_object *f)
{
	py_object *co;

	if (py.minor <= 10)
		co = PY_FIELD(py_object *, f, py.lay.fr_code);
	else {
		char *iframe = PY_FIELD(char *, f, py.lay.fr_iframe);
		co = iframe ? PY_FIELD(py_object *, iframe, py.lay.if_code) :
			      NULL;
	}
	return co && PY_TYPE(co) == py.PyCode_Type ? co : NULL;
}

/* Frame: code, globals..., and the fast locals by name (FMT_EDGE_LOCAL). */
static void
walk_frame(struct walker *w, uint32_t src, py_object *f)
{
	py_object *co = walk_frame_code(f), **locals;
	ssize_t n;

	walk_edge_other(w, src, PY_FIELD(py_object *, f, py.lay.fr_back),
			WN_F_BACK);
	if (!co)
		return;
	walk_edge_other(w, src, co, WN_F_CODE);
	if (py.minor <= 10) {
		locals = (py_object **)((char *)f + py.lay.fr_localsplus);
	} else {
		char *iframe = PY_FIELD(char *, f, py.lay.fr_iframe);

		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_globals), WN_F_GLOBALS);
		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_builtins),
				WN_F_BUILTINS);
		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_locals), WN_F_LOCALS);
		walk_edge_other(w, src, PY_FIELD(py_object *, iframe,
						 py.lay.if_func), WN_F_FUNC);
		locals = (py_object **)(iframe + py.lay.if_localsplus);
	}
	n = walk_nlocals(co);
	for (ssize_t i = 0; i < n && !w->err; i++) {
		uint32_t id;

		if (!locals[i])
			continue;
		id = w->graph ? walk_name_id(w, walk_local_name(co, i)) : 0;
		walk_edge(w, src, locals[i], walk_ename(FMT_EDGE_LOCAL, id));
	}
}

/* Function: its code and closure; each closure cell's contents are named
 * by the free variable (the edge leaves the cell, FMT_EDGE_CELL). */
static void
walk_function(struct walker *w, uint32_t src, py_object *fn)
{
	py_object *co = PY_FIELD(py_object *, fn, py.lay.fn_code);
	py_object *cl = PY_FIELD(py_object *, fn, py.lay.fn_closure);
	ssize_t n, first;

	walk_edge_other(w, src, co, WN_CODE);
	walk_edge_other(w, src, cl, WN_CLOSURE);
	walk_edge_other(w, src, PY_FIELD(py_object *, fn, py.lay.fn_defaults),
			WN_DEFAULTS);
	walk_edge_other(w, src, PY_FIELD(py_object *, fn,
					 py.lay.fn_defaults + 8), WN_KWDEFAULTS);
	if (!cl || !co || PY_TYPE(co) != py.PyCode_Type ||
	    PY_TYPE(cl) != py.PyTuple_Type)
		return;
	n = PY_FIELD(ssize_t, cl, PY_OFF_SIZE);
	first = walk_nlocals(co) - n;   /* free vars come last */
	for (ssize_t i = 0; i < n && !w->err; i++) {
		py_object *cell = walk_tuple_item(cl, i), *v;
		uint32_t id = 0;

		if (!cell || PY_TYPE(cell) != py.PyCell_Type)
			continue;
		v = PY_FIELD(py_object *, cell, PY_OFF_CELL_REF);
		if (!v)
			continue;
		if (w->graph)
			id = walk_name_id(w, walk_local_name(co, first + i));
		/* The cell, then its contents from it: both resolved in the
		 * same batch (walk_flush), not with a lookup of its own. */
		walk_edge(w, WALK_NOSLOT, cell, 0);
		walk_edge(w, WALK_SRC_PREV, v, walk_ename(FMT_EDGE_CELL, id));
	}
}

static void
walk_type_object(struct walker *w, uint32_t src, py_object *t)
{
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_DICT),
			WN_DICT);
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_MRO),
			WN_MRO);
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_BASE),
			WN_BASE);
	walk_edge_other(w, src, PY_FIELD(py_object *, t, PY_OFF_TP_BASES),
			WN_BASES);
}

/* String contents for STRDATA (design: only when opts->strings asks). */
static void
walk_strdata(struct walker *w, uint32_t src, py_object *o, int is_str)
{
	uint32_t id;
	size_t max = w->opts->strings;

	if (is_str) {
		ssize_t n = walk_str_utf8(w, o, max);
		if (n < 0)
			return;
		id = walk_intern(w, w->sbuf, (size_t)n);
	} else {
		ssize_t n = PY_FIELD(ssize_t, o, PY_OFF_SIZE);
		id = walk_intern(w, (const char *)o + PY_OFF_BYTES_SVAL,
				 (size_t)n < max ? (size_t)n : max);
	}
	if (id == WALK_NOSLOT ||
	    walk_grow(&w->strdata, &w->capstrdata, w->nstrdata + 1,
		      sizeof *w->strdata)) {
		walk_fail(w);
		return;
	}
	w->strdata[w->nstrdata].obj = src;
	w->strdata[w->nstrdata].str = id;
	w->nstrdata++;
}

/* Row of a special per-object summary name: "function (f)" etc. */
static uint32_t
walk_special_row(struct walker *w, int kind, uint32_t nameid)
{
	static const char *const fmts[] = {
		[WK_FUNCTION] = "function (%s)",
		[WK_FRAME] = "frame (codename: %s)",
		[WK_MODULE] = "module(%s)",
	};
	uint64_t key = ((uint64_t)(kind + 1) << 32) | nameid;
	uint32_t *row;
	int isnew;
	const char *name;
	char *text;
	size_t len;

	row = walk_map_put(&w->rowmap, key, 0, &isnew);
	if (!row) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	if (!isnew)
		return *row;
	name = w->strs[nameid].ptr;
	len = strlen(fmts[kind]) + w->strs[nameid].len;
	text = walk_realloc(NULL, len);
	if (!text) {
		walk_fail(w);
		return WALK_NOSLOT;
	}
	snprintf(text, len, fmts[kind], name);
	*row = walk_new_row(w, walk_intern_cstr(w, text));
	walk_free(text);
	return *row;
}

/* The name of module m (its __name__), or FMT_NO_STRING. */
static uint32_t
walk_module_name(struct walker *w, py_object *m)
{
	py_object *name = walk_dict_find(PY_FIELD(py_object *, m,
						  PY_OFF_MODULE_DICT),
					 "__name__");
	return walk_name_id(w, name);
}

/* The PyDictValues array (its values[]) holding o's attributes, or NULL
 * when o has a materialized __dict__ instead (or no attributes). */
static py_object **
walk_attr_values(const struct walk_type *ti, py_object *o, uint32_t *n)
{
	char *v;
	uintptr_t d;

	switch (ti->values) {
	case WV_PREHEADER:
		v = PY_FIELD(char *, o, PY_OFF_VALUES_PTR);
		break;
	case WV_TAGGED:
		d = PY_FIELD(uintptr_t, o, PY_OFF_MANAGED_DICT);
		v = (d & 1) ? (char *)(d + 1) : NULL;
		break;
	case WV_INLINE:
		v = (char *)o + PY_OFF_INLINE_VALUES;
		if (!PY_FIELD(uint8_t, v, PY_OFF_DV_VALID))
			return NULL;
		if (*n > PY_FIELD(uint8_t, v, PY_OFF_DV_CAPACITY))
			*n = PY_FIELD(uint8_t, v, PY_OFF_DV_CAPACITY);
		break;
	default:
		return NULL;
	}
	return v ? (py_object **)(v + py.lay.dv_values) : NULL;
}

/* Instance attributes kept as values: value i named by shared key i
 * (FMT_EDGE_ATTR).  The same referents come unnamed from tp_traverse;
 * fmt_edges_dedup keeps the named edge. */
static void
walk_instance_values(struct walker *w, uint32_t src,
		     const struct walk_type *ti, py_object *o)
{
	uint32_t n = ti->nattr;
	py_object **vals = walk_attr_values(ti, o, &n);

	for (uint32_t i = 0; vals && i < n && !w->err; i++) {
		py_object *key = PY_FIELD(py_object *, ti->attr_keys,
					  (size_t)i * PY_DK_UNICODE_ENTRY);
		uint32_t id;

		if (!vals[i] || !key)
			continue;
		id = walk_name_id(w, key);
		/* As walk_dict: "" is a name too (setattr(o, "", v)). */
		walk_edge(w, src, vals[i],
			  id != FMT_NO_STRING || walk_str_eq(key, "") ?
			  walk_ename(FMT_EDGE_ATTR, id) : FMT_EDGE_NONE);
	}
}

/*
 * FMT_OBJ_STATIC: o lives as long as the interpreter whatever holds it
 * (a static type, a singleton, a cached small int, an interned str), so
 * its refcount tells nothing about a leak (tools: orphans).  Reads only
 * fields the walk reads anyway, plus PyLong_AsSsize_t for an exact int.
 */
static int
walk_is_static(const struct walk_type *ti, py_object *o)
{
	ssize_t v;

	switch (ti->kind) {
	case WK_TYPE:
		return !(PY_TP_FLAGS(o) & PY_TPFLAGS_HEAPTYPE);
	case WK_STR:   /* PyASCIIObject.state.interned: its 2 low bits */
		return (PY_FIELD(uint32_t, o, PY_OFF_STR_STATE) & 3) != 0;
	default:
		break;
	}
	if (ti->type == py.PyLong_Type) {
		/* One digit at most (3.12+: lv_tag >> 3 digits, else
		 * |ob_size|), so the conversion cannot overflow. */
		size_t digits = py.minor >= 12 ?
			PY_FIELD(uintptr_t, o, PY_OFF_SIZE) >> 3 :
			(size_t)(PY_SIZE(o) < 0 ? -PY_SIZE(o) : PY_SIZE(o));

		if (digits > 1)
			return 0;
		v = py.PyLong_AsSsize_t(o);
		return v >= -5 && v <= 256;
	}
	return o == py._Py_NoneStruct || o == py._Py_TrueStruct ||
	       o == py._Py_FalseStruct || o == py._Py_EllipsisObject ||
	       o == py._Py_NotImplementedStruct;
}

/* Records object o (slot) and discovers what it refers to. */
static void
walk_object(struct walker *w, py_object *o, uint32_t slot)
{
	struct walk_type *ti = walk_type(w, PY_TYPE(o));
	uint32_t label = FMT_NO_STRING, row, tidx;
	uint8_t flags = 0;
	int isgc;
	uint64_t size;

	if (!ti)
		return;
	if (ti->invalid) {   /* design note 8: left out, and counted */
		w->skipped++;
		if (w->stream)
			walk_out_object(w, slot, WALK_SKIPPED, 0, 0, 0, 0);
		else if (w->graph)
			w->otype[slot] = WALK_SKIPPED;
		return;
	}
	tidx = (uint32_t)(ti - w->types);
	row = ti->row;
	isgc = walk_is_gc(ti, o);
	size = walk_sizeof(w, ti, o, isgc);
	w->cur = slot;
	w->nnamed = 0;

	switch (ti->kind) {
	case WK_DICT:
		walk_dict(w, slot, o);
		break;
	case WK_LIST:
	case WK_TUPLE:
		walk_seq(w, slot, o, ti->kind == WK_LIST);
		break;
	case WK_STR:
	case WK_BYTES:
		if (w->graph && w->opts->strings)
			walk_strdata(w, slot, o, ti->kind == WK_STR);
		break;
	case WK_TYPE:
		flags |= FMT_OBJ_TYPE;
		if (w->graph)
			label = walk_type_qualname(w, o);
		walk_type_object(w, slot, o);
		break;
	case WK_MODULE: {
		uint32_t name = walk_module_name(w, o);

		label = name;
		row = walk_special_row(w, WK_MODULE, name);
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  PY_OFF_MODULE_DICT),
				WN_DICT);
		break;
	}
	case WK_FUNCTION:
		if (w->graph)
			label = walk_name_id(w, PY_FIELD(py_object *, o,
						py.lay.fn_qualname));
		row = walk_special_row(w, WK_FUNCTION, walk_name_id(w,
				PY_FIELD(py_object *, o, py.lay.fn_name)));
		walk_function(w, slot, o);
		break;
	case WK_CODE:
		label = walk_name_id(w, PY_FIELD(py_object *, o,
						 py.lay.co_name));
		break;
	case WK_METHOD:
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  PY_OFF_METHOD_FUNC), WN_M_FUNC);
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  PY_OFF_METHOD_SELF), WN_M_SELF);
		break;
	case WK_FRAME: {
		py_object *co = walk_frame_code(o);

		label = co ? walk_name_id(w, PY_FIELD(py_object *, co,
						      py.lay.co_name)) : 0;
		row = walk_special_row(w, WK_FRAME, label);
		walk_frame(w, slot, o);
		break;
	}
	default:
		break;
	}
	if (row == WALK_NOSLOT || w->err)
		return;
	w->rows[row].count++;
	w->rows[row].size += size;

	/* Generic references: type, __dict__, __slots__, tp_traverse. */
	if (ti->heap)
		walk_edge_other(w, slot, ti->type, WN_CLASS);
	if (ti->dictoffset > 0)
		walk_edge_other(w, slot, PY_FIELD(py_object *, o,
						  ti->dictoffset), WN_DICT);
	else if (ti->managed_dict) {
		uintptr_t d = PY_FIELD(uintptr_t, o, PY_OFF_MANAGED_DICT);
		/* 3.12 tags an inline-values pointer with bit 0. */
		if (d && !(py.minor == 12 && (d & 1)))
			walk_edge_other(w, slot, (py_object *)d, WN_DICT);
		if (ti->nattr)
			walk_instance_values(w, slot, ti, o);
	}
	for (uint32_t i = 0; i < ti->nmem && !w->err; i++) {
		const struct walk_member *m = &w->members[ti->mem_start + i];

		walk_edge(w, slot, PY_FIELD(py_object *, o, m->offset),
			  walk_ename(FMT_EDGE_ATTR, m->name));
	}
	w->ncmp = 0;
	for (uint32_t i = 0; w->graph && i < ti->nmem_cmp; i++) {
		const struct walk_member *m =
			&w->members[ti->mem_start + ti->nmem + i];
		py_object *v = PY_FIELD(py_object *, o, m->offset);

		if (v) {   /* compared in walk_visit, never followed */
			w->cmp[w->ncmp].val = v;
			w->cmp[w->ncmp].name = m->name;
			w->ncmp++;
		}
	}
	if (isgc && ti->traverse && !ti->exact && !w->err) {
		w->cur = slot;
		if (ti->indexed && w->graph) {
			w->indexing = o;
			w->next_index = 0;
		}
		ti->traverse(o, walk_visit, w);
		w->indexing = NULL;
	}
	w->ncmp = 0;
	if (w->graph && !w->err) {
		uint64_t rc = PY_FIELD(uint64_t, o, PY_OFF_REFCNT);
		uint32_t rc32 = rc > UINT32_MAX ? UINT32_MAX : (uint32_t)rc;

		/* PyGC_Head._gc_next is non-zero while tracked (3.8+). */
		if (isgc && PY_FIELD(uintptr_t, o, -PY_GC_HEAD_SIZE) != 0)
			flags |= FMT_OBJ_GC_TRACKED;
		else if (walk_is_static(ti, o))
			flags |= FMT_OBJ_STATIC;
		if (w->stream) {
			walk_out_object(w, slot, tidx, size, rc32, label, flags);
			return;
		}
		w->otype[slot] = tidx;
		w->size[slot] = size;
		w->refcnt[slot] = rc32;
		w->label[slot] = label;
		w->oflags[slot] = flags;
	}
}

/*
 * Prefetches what walk_object reads past o's head: the rest of a big
 * object, a list's items, a dict's keys, a 3.11/3.12 instance's values.
 * o's head is in cache by now (walk_drain fetched it earlier).
 */
static WALK_PREFETCHER void
walk_prefetch_parts(py_object *o)
{
	py_object *t = PY_TYPE(o);
	unsigned long fl;

	if (t == py.PyDict_Type) {
		char *keys = PY_FIELD(char *, o, PY_OFF_DICT_KEYS);

		__builtin_prefetch(keys);
		__builtin_prefetch(keys + 64);
		return;
	}
	if (t == py.PyList_Type) {
		__builtin_prefetch(PY_FIELD(char *, o, PY_OFF_SEQ_ITEMS));
		return;
	}
	if (PY_FIELD(ssize_t, t, PY_OFF_TP_BASICSIZE) > 64)
		__builtin_prefetch((char *)o + 64);
	fl = PY_TP_FLAGS(t);
	if (!(fl & PY_TPFLAGS_MANAGED_DICT) || py.minor >= 13)
		return;
	if (py.minor == 11)
		__builtin_prefetch(PY_FIELD(char *, o, PY_OFF_VALUES_PTR));
	else if (py.minor == 12)
		__builtin_prefetch(PY_FIELD(char *, o, PY_OFF_MANAGED_DICT) + 1);
}

/*
 * Processes the queue (design note 3) until it is empty: slots in
 * discovery order, a breadth-first walk.  Unlike a stack, the queue shows
 * what comes next, so objects are fetched ahead of use in two steps:
 * their heads WALK_AHEAD slots ahead, then what the heads point to.
 */
static void
walk_drain(struct walker *w)
{
	while (!w->err) {
		uint32_t i;

		if (w->next == w->nslots) {
			walk_flush(w);   /* the pending edges queue more */
			if (w->next == w->nslots)
				break;
		}
		i = w->next++;
		if (i + WALK_AHEAD < w->nslots) {
			char *a = (char *)(uintptr_t)w->addr[i + WALK_AHEAD];

			__builtin_prefetch(a - 32);   /* gc and pre-header */
			__builtin_prefetch(a);
		}
		if (i + WALK_AHEAD / 2 < w->nslots)
			walk_prefetch_parts((py_object *)(uintptr_t)
					    w->addr[i + WALK_AHEAD / 2]);
		walk_object(w, (py_object *)(uintptr_t)w->addr[i], i);
		if (w->stream && !w->err && w->out->first + w->out->n == i) {
			w->skipped++;   /* no record: its type did not read */
			walk_out_object(w, i, WALK_SKIPPED, 0, 0, 0, 0);
		}
	}
}

/* ---- where the walk starts ------------------------------------------------ */

static void
walk_add_root(struct walker *w, uint32_t slot, uint32_t kind, uint32_t name)
{
	if (slot == WALK_NOSLOT || !w->graph || w->err)
		return;
	if (walk_grow(&w->roots, &w->caproots, w->nroots + 1,
		      sizeof *w->roots)) {
		walk_fail(w);
		return;
	}
	w->roots[w->nroots].obj = slot;
	w->roots[w->nroots].kind = kind;
	w->roots[w->nroots].name = name;
	w->nroots++;
}

static void
walk_modules(struct walker *w)
{
	py_object *mods = py.PyImport_GetModuleDict(), *k, *v;
	ssize_t pos = 0;

	walk_discover(w, mods);
	while (mods && !w->err && py.PyDict_Next(mods, &pos, &k, &v))
		walk_add_root(w, walk_discover(w, v), FMT_ROOT_MODULE,
			      w->graph ? walk_name_id(w, k) : 0);
}

/* The innermost frame of thread state ts (new reference), or NULL. */
static py_object *
walk_thread_frame(void *ts)
{
	py_object *f;

	if (py.minor == 8) {
		f = PY_FIELD(py_object *, ts, py.lay.ts_frame);
		if (f)
			py.Py_IncRef(f);
		return f;
	}
	return py.PyThreadState_GetFrame(ts);
}

/* The caller of frame f (new reference), or NULL. */
static py_object *
walk_frame_back(py_object *f)
{
	py_object *b;

	if (py.minor == 8) {
		b = PY_FIELD(py_object *, f, py.lay.fr_back);
		if (b)
			py.Py_IncRef(b);
		return b;
	}
	return py.PyFrame_GetBack(f);
}

/*
 * Every thread's frames.  On 3.11+ this materializes frame objects for
 * running frames, as sys._current_frames() does; each one is owned by
 * its interpreter frame, so dropping our reference frees nothing.
 */
static void
walk_threads(struct walker *w)
{
	void *interp = py.minor == 8 ? py._PyInterpreterState_Get() :
				       py.PyInterpreterState_Get();

	for (void *ts = py.PyInterpreterState_ThreadHead(interp);
	     ts && !w->err; ts = py.PyThreadState_Next(ts)) {
		py_object *f = walk_thread_frame(ts);
		char name[48];
		uint32_t id = 0;

		if (!f)
			continue;
		if (w->graph) {
			snprintf(name, sizeof name, "thread %lu",
				 PY_FIELD(unsigned long, ts,
					  py.lay.ts_thread_id));
			id = walk_intern_cstr(w, name);
		}
		walk_add_root(w, walk_discover(w, f), FMT_ROOT_FRAME, id);
		while (f && !w->err) {
			py_object *back = walk_frame_back(f);
			uint32_t fs = walk_discover(w, f);

			if (back)
				walk_edge_other(w, fs, back, WN_F_BACK);
			py.Py_DecRef(f);
			f = back;
		}
		if (f)
			py.Py_DecRef(f);
	}
}

/*
 * Discovers the gc objects collected in gcbuf.  The collector's lists are
 * read WALK_GC_CHUNK nodes at a time, with nothing in between: a chain of
 * dependent loads runs fastest alone, and the table lookups then go in
 * batches (walk_flush).
 */
static void
walk_gc_discover(struct walker *w)
{
	for (size_t i = 0; i < w->ngcbuf; i++)
		walk_edge(w, WALK_NOSLOT, w->gcbuf[i], 0);
	w->ngcbuf = 0;
}

/* PyUnstable_GC_VisitObjects callback (3.12+): discovers o only (it is
 * processed later, when the collector no longer holds a reference). */
static int
walk_gc_visit(py_object *o, void *arg)
{
	struct walker *w = arg;

	w->gcbuf[w->ngcbuf++] = o;
	if (w->ngcbuf == WALK_GC_CHUNK)
		walk_gc_discover(w);
	return w->err ? 0 : 1;
}

/* The gc state (3.8-3.11): in _PyRuntime (3.8) or the interpreter. */
static char *
walk_gc_state(void)
{
	char *base = py.lay.gc_in_runtime ? (char *)py._PyRuntime :
		     (char *)(py.minor == 8 ? py._PyInterpreterState_Get() :
			      py.PyInterpreterState_Get());
	return base ? base + py.lay.gc_state : NULL;
}

/* One gc list (a circular PyGC_Head list); -1 if it does not look like
 * one (the layout table would be wrong for this build). */
static int
walk_gc_list(struct walker *w, uintptr_t *head)
{
	uintptr_t *g = (uintptr_t *)head[0];

	if (!g || (g[1] & ~(uintptr_t)3) != (uintptr_t)head)
		return -1;
	while (g != head && !w->err) {
		while (g != head && w->ngcbuf < WALK_GC_CHUNK) {
			w->gcbuf[w->ngcbuf++] = (py_object *)(g + 2);
			g = (uintptr_t *)g[0];
		}
		walk_gc_discover(w);
	}
	return 0;
}

/* Discovers every gc-tracked object.  Returns 0 or MUPPY_EINVAL. */
static int
walk_gc_objects(struct walker *w)
{
	char *gc;

	if (py.minor >= 12) {
		py.PyUnstable_GC_VisitObjects(walk_gc_visit, w);
		walk_gc_discover(w);
		return 0;
	}
	gc = walk_gc_state();
	if (!gc)
		return MUPPY_EINVAL;
	for (int i = 0; i < 3; i++)
		if (walk_gc_list(w, (uintptr_t *)(gc + py.lay.gc_generations +
						  24 * i)) != 0)
			return MUPPY_EINVAL;
	if (walk_gc_list(w, (uintptr_t *)(gc + py.lay.gc_permanent)) != 0)
		return MUPPY_EINVAL;
	return 0;
}

/* Disables automatic collection; returns the previous state (walk.h). */
int
walk_gc_off(void)
{
	int *enabled;
	int was;

	if (py.PyGC_Disable)
		return py.PyGC_Disable();
	enabled = (int *)(walk_gc_state() + py.lay.gc_enabled);
	was = *enabled;
	*enabled = 0;
	return was;
}

void
walk_gc_on(int was)
{
	if (!was)
		return;
	if (py.PyGC_Enable)
		py.PyGC_Enable();
	else
		*(int *)(walk_gc_state() + py.lay.gc_enabled) = was;
}

/* ---- life cycle -------------------------------------------------------------- */

static void
walk_free_walker(struct walker *w)
{
	struct walk_chunk *c, *next;

	if (!w)
		return;
	walk_ranges_free(&w->ranges);
	walk_seen_free(&w->seen);
	walk_map_free(&w->strhash);
	walk_map_free(&w->strobj);
	walk_map_free(&w->typemap);
	walk_map_free(&w->rowmap);
	for (c = w->chunks; c; c = next) {
		next = c->next;
		walk_free(c);
	}
	walk_free(w->addr); walk_free(w->size); walk_free(w->refcnt);
	walk_free(w->otype); walk_free(w->label); walk_free(w->oflags);
	walk_free(w->esrc); walk_free(w->edst); walk_free(w->ename);
	walk_free(w->strs); walk_free(w->strnext); walk_free(w->sbuf);
	walk_free(w->types); walk_free(w->members); walk_free(w->rows);
	walk_free(w->roots); walk_free(w->strdata);
	walk_free(w->f_addr); walk_free(w->f_size); walk_free(w->f_refcnt);
	walk_free(w->f_estart); walk_free(w->f_type); walk_free(w->f_label);
	walk_free(w->f_edst); walk_free(w->f_ename); walk_free(w->f_flags);
	walk_free(w->f_types);
	walk_free(w->out);
	walk_free(w);
}

/*
 * Objects to expect when no walk ran before: sys.getallocatedblocks(), a
 * C function (O(arenas) on 3.12+, a counter before), called only if it
 * still is the builtin.  It counts every pymalloc block, so small objects
 * and their small buffers: within about 2x above the object count for a
 * heap of small objects.  Without it the first walk grew its table by
 * rehashing from empty, 70-120 ms more per 1M objects; a table twice too
 * big costs only its pages.  0 if unknown.
 */
static size_t
walk_guess_objects(void)
{
	py_object *f = py.PySys_GetObject("getallocatedblocks");  /* borrowed */
	py_object *r;
	ssize_t n;

	if (!f || PY_TYPE(f) != py.PyCFunction_Type)
		return 0;
	r = py.PyObject_CallObject(f, NULL);
	if (!r) {
		py.PyErr_Clear();
		return 0;
	}
	n = py.PyLong_AsSsize_t(r);
	py.Py_DecRef(r);
	if (n < 0) {
		py.PyErr_Clear();
		return 0;
	}
	return (size_t)n;
}

/*
 * A walker sized for about hint objects and hint_edges edges (0: unknown),
 * every page of it faulted in if prefault.  Needs no GIL: it reads no
 * Python state.
 */
static struct walker *
walk_new(int graph, size_t hint, size_t hint_edges, int prefault)
{
	struct walker *w = walk_realloc(NULL, sizeof *w);
	size_t n = hint + hint / 8;

	if (!w)
		return NULL;
	memset(w, 0, sizeof *w);
	w->graph = graph != 0;
	if (walk_seen_init(&w->seen, n) ||
	    walk_map_init(&w->strhash, 1024) ||
	    walk_map_init(&w->strobj, 1024) ||
	    walk_map_init(&w->typemap, 256) ||
	    walk_map_init(&w->rowmap, 256) ||
	    walk_intern(w, "", 0) != 0)
		goto fail;
#define WALK_NM_INTERN(id, text) \
	if ((w->names[WN_##id] = walk_intern_cstr(w, text)) == WALK_NOSLOT) \
		goto fail;
	WALK_FIXED_NAMES(WALK_NM_INTERN)
#undef WALK_NM_INTERN
	/* Sized from the last walk: growth copies and rehashes cost GIL
	 * time (the next heap is usually about the same). */
	if (hint) {
		size_t c = 0;

		if (walk_grow(&w->addr, &c, n, 8))
			goto fail;
		w->capobj = c;
		if (prefault)
			walk_prefault(w->addr, hint * 8);
	}
	if (w->graph && hint) {
		/* Edges: as many as last time, else 2.5 per object (hint
		 * is then the allocator's block count, above the object
		 * count).  Room for 1/8 more; only the expected part is
		 * faulted in (what is never used is never touched). */
		size_t he = hint_edges ? hint_edges : hint * 5 / 2, c;
		size_t ne = he + he / 8;

		c = 0; if (walk_grow(&w->size, &c, n, 8)) goto fail;
		c = 0; if (walk_grow(&w->refcnt, &c, n, 4)) goto fail;
		c = 0; if (walk_grow(&w->otype, &c, n, 4)) goto fail;
		c = 0; if (walk_grow(&w->label, &c, n, 4)) goto fail;
		c = 0; if (walk_grow(&w->oflags, &c, n, 1)) goto fail;
		w->capobj = c;
		if (walk_edges_reserve(w, ne))
			goto fail;
		if (prefault) {
			walk_prefault(w->size, hint * 8);
			walk_prefault(w->refcnt, hint * 4);
			walk_prefault(w->otype, hint * 4);
			walk_prefault(w->label, hint * 4);
			walk_prefault(w->oflags, hint);
			walk_prefault(w->esrc, he * 4);
			walk_prefault(w->edst, he * 4);
			walk_prefault(w->ename, he * 4);
		}
	}
	return w;
fail:
	walk_free_walker(w);
	return NULL;
}

size_t
walk_expect(size_t *edges)
{
	py_object *et, *ev, *etb;
	size_t n;

	*edges = walk_hint_edges;
	if (walk_hint_objects)
		return walk_hint_objects;
	if (py_api_init() != 0)
		return 0;
	py.PyErr_Fetch(&et, &ev, &etb);   /* the caller's error survives */
	n = walk_guess_objects();
	py.PyErr_Restore(et, ev, etb);
	return n;
}

struct walk_prep *
walk_prepare(int graph, size_t objects, size_t edges)
{
	if (!objects)
		return NULL;
	return (struct walk_prep *)walk_new(graph, objects, edges, 1);
}

void
walk_prep_free(struct walk_prep *prep)
{
	walk_free_walker((struct walker *)prep);
}

/* A type's own row is made when the type is first met, but functions,
 * frames and modules are counted under per-object rows ("function (f)"),
 * so their type rows can stay empty: Pympler has no such rows. */
static void
walk_drop_empty_rows(struct walker *w)
{
	size_t i, n = 0;

	for (i = 0; i < w->nrows; i++)
		if (w->rows[i].count)
			w->rows[n++] = w->rows[i];
	w->nrows = n;
}

static void
walk_fill_summary(struct walker *w, struct walk_result *out)
{
	struct fmt_dump *d = &out->dump;

	d->major = MUPPY_FORMAT_MAJOR;
	d->minor = FMT_MINOR_WHOLE;
	d->flags = w->graph ? FMT_FLAG_GRAPH : 0;
	if (w->graph && w->opts->strings)
		d->flags |= FMT_FLAG_STRINGS;
	if (w->stream)
		d->flags |= FMT_FLAG_STREAM;
	d->nstrings = (uint32_t)w->nstrs;
	d->strings = w->strs;
	walk_drop_empty_rows(w);
	d->nsummary = (uint32_t)w->nrows;
	d->summary = w->rows;
	if (w->stream) {   /* the tail names objects by slot */
		d->nroots = (uint32_t)w->nroots;
		d->roots = w->roots;
		d->nstrdata = (uint32_t)w->nstrdata;
		d->strdata = w->strdata;
	}
}

int
walk_heap(const struct walk_opts *opts, struct walk_prep *prep,
	  struct walk_result *out, struct walk_stats *stats)
{
	uint64_t t0 = muppy_now_ns(CLOCK_MONOTONIC);
	struct walker *w = (struct walker *)prep;
	const struct py_methoddef *m;
	py_object *et, *ev, *etb;
	int gc_was, rc, columns;

	if (out)
		memset(out, 0, sizeof *out);
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (!opts || !out || py_api_init() != 0) {
		walk_free_walker(w);
		return MUPPY_EINVAL;
	}
	/* A streamed walk keeps no columns: its storage is a summary
	 * walk's (walk_prepare(0, ...)). */
	columns = opts->graph && !opts->stream;
	if (w && w->graph != columns) {
		walk_free_walker(w);
		w = NULL;
	}
	py.PyErr_Fetch(&et, &ev, &etb);   /* C __sizeof__ needs a clean slate */
	if (!w) {
		size_t edges, objects = walk_expect(&edges);

		w = walk_new(columns, objects, edges, 0);
	}
	if (w && opts->stream) {
		w->graph = 1;
		w->stream = opts->stream;
		w->out = walk_realloc(NULL, sizeof *w->out);
		if (!w->out) {
			walk_free_walker(w);
			w = NULL;
		} else {
			w->out->first = w->out->n = w->out->nedges = 0;
		}
	}
	if (!w) {
		py.PyErr_Restore(et, ev, etb);
		return MUPPY_ENOMEM;
	}
	w->opts = opts;
	m = walk_find_method(py.PyBaseObject_Type, "__sizeof__");
	w->object_sizeof = m ? m->ml_meth : NULL;
	w->subtype_traverse = walk_find_subtype_traverse();
	w->skipped = 0;
	walk_ranges_read(&w->ranges);   /* design note 8 */
	w->ranges.reread = !w->ranges.ok;   /* unreadable maps: trust none */
	gc_was = walk_gc_off();
	walk_modules(w);
	walk_threads(w);
	rc = walk_gc_objects(w);
	if (rc == 0)
		walk_drain(w);
	if (rc == 0 && w->stream)
		walk_out_flush(w);   /* the last chunk */

	walk_gc_on(gc_was);
	py.PyErr_Restore(et, ev, etb);
	if (rc == 0 && w->err)
		rc = w->err;
	if (rc != 0) {
		walk_free_walker(w);
		return rc;
	}
	walk_hint_objects = w->nslots;
	walk_hint_edges = w->nedges;
	/* Only the walk looks addresses up: the seen table (the largest
	 * array, 8 bytes an entry at 45-70% load) goes before walk_finish
	 * and the encoder allocate theirs, lowering the snapshot's peak; so
	 * does the queue of a summary walk. */
	walk_seen_free(&w->seen);
	if (!w->graph || w->stream) {
		walk_free(w->addr);
		w->addr = NULL;
	}
	walk_fill_summary(w, out);
	w->f_types = walk_realloc(NULL, (w->ntypes + 1) * sizeof *w->f_types);
	if (!w->f_types) {
		walk_free_walker(w);
		memset(out, 0, sizeof *out);
		return MUPPY_ENOMEM;
	}
	for (size_t i = 0; i < w->ntypes; i++) {
		w->f_types[i].addr = (uint64_t)(uintptr_t)w->types[i].type;
		w->f_types[i].name = w->types[i].name;
	}
	out->dump.ntypes = (uint32_t)w->ntypes;
	out->dump.types = w->f_types;
	out->priv = w;
	out->dump.nobjects = w->graph ? w->nslots : 0;
	if (stats) {
		stats->objects = w->nslots - w->skipped;
		stats->edges = w->nedges;
		stats->sizes_estimated = w->estimated;
		stats->skipped = w->skipped;
		stats->walk_ns = muppy_now_ns(CLOCK_MONOTONIC) - t0;
	}
	return 0;
}

/* ---- walk_finish: address order, CSR edges ------------------------------- */

/* Removes, in place, the edges from or to an object left out (rank
 * WALK_SKIPPED, design note 8). */
static void
walk_drop_skipped_edges(struct walker *w, const uint32_t *rank)
{
	size_t out = 0;

	if (!w->skipped)
		return;
	for (size_t i = 0; i < w->nedges; i++) {
		if (rank[w->esrc[i]] == WALK_SKIPPED ||
		    rank[w->edst[i]] == WALK_SKIPPED)
			continue;
		w->esrc[out] = w->esrc[i];
		w->edst[out] = w->edst[i];
		w->ename[out] = w->ename[i];
		out++;
	}
	w->nedges = out;
}

/* Roots and strdata to object indices; those of objects left out go. */
static void
walk_remap_refs(struct walker *w, const uint32_t *rank)
{
	size_t k = 0;

	for (size_t i = 0; i < w->nroots; i++) {
		uint32_t r = rank[w->roots[i].obj];

		if (r == WALK_SKIPPED)
			continue;
		w->roots[k] = w->roots[i];
		w->roots[k++].obj = r;
	}
	w->nroots = k;
	k = 0;
	for (size_t i = 0; i < w->nstrdata; i++) {
		uint32_t r = rank[w->strdata[i].obj];

		if (r == WALK_SKIPPED)
			continue;
		w->strdata[k] = w->strdata[i];
		w->strdata[k++].obj = r;
	}
	w->nstrdata = k;
}

/* Counting sort of the edges by referrer index, then de-duplication. */
static int
walk_finish_edges(struct walker *w, const uint32_t *rank, size_t n)
{
	uint32_t *start, *dst, *name;
	struct fmt_edgekey *key = NULL;
	uint8_t *drop = NULL;
	size_t maxg;

	if (w->nedges > UINT32_MAX)   /* edge_start is 32-bit (dump.h) */
		return MUPPY_EINVAL;
	start = walk_realloc(NULL, (n + 1) * sizeof *start);
	dst = walk_realloc(NULL, (w->nedges + 1) * sizeof *dst);
	name = walk_realloc(NULL, (w->nedges + 1) * sizeof *name);
	if (!start || !dst || !name)
		goto fail;
	memset(start, 0, (n + 1) * sizeof *start);
	walk_drop_skipped_edges(w, rank);
	for (size_t i = 0; i < w->nedges; i++)
		start[rank[w->esrc[i]] + 1]++;
	for (size_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	/* Stable placement: start[r] walks forward, then is restored. */
	for (size_t i = 0; i < w->nedges; i++) {
		uint32_t at = start[rank[w->esrc[i]]]++;
		dst[at] = rank[w->edst[i]];
		name[at] = w->ename[i];
	}
	for (size_t i = n; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	maxg = fmt_edges_max_row(start, n);
	key = walk_realloc(NULL, (maxg + 1) * sizeof *key);
	drop = walk_realloc(NULL, maxg + 1);
	if (!key || !drop)
		goto fail;
	fmt_edges_dedup(start, dst, name, n, key, drop);
	walk_free(key);
	walk_free(drop);
	w->f_estart = start;
	w->f_edst = dst;
	w->f_ename = name;
	return 0;
fail:
	walk_free(start);
	walk_free(dst);
	walk_free(name);
	walk_free(key);
	walk_free(drop);
	return MUPPY_ENOMEM;
}

/* Column src (elements of esz bytes, by slot) in address order: a new
 * array, or NULL. */
static void *
walk_permute(const void *src, size_t esz, const struct fmt_pair *order,
	     size_t n)
{
	char *p = walk_realloc(NULL, (n + 1) * esz);

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *from = (const char *)src + order[i].slot * esz;

		switch (esz) {
		case 8: memcpy(p + i * 8, from, 8); break;
		case 4: memcpy(p + i * 4, from, 4); break;
		default: memcpy(p + i * esz, from, esz); break;
		}
	}
	return p;
}

_Static_assert(WALK_RAW_SKIPPED == WALK_SKIPPED, "walk.h's skip mark");

int
walk_raw(const struct walk_result *r, struct walk_raw *out)
{
	const struct walker *w = r ? r->priv : NULL;

	if (!w || !w->graph || w->stream || w->finished)
		return -1;
	out->n = w->nslots;
	out->addr = w->addr;
	out->otype = w->otype;
	out->nedges = w->nedges;
	out->esrc = w->esrc;
	out->edst = w->edst;
	return 0;
}

int
walk_finish(struct walk_result *out)
{
	struct walker *w;
	struct fmt_pair *pairs = NULL, *tmp = NULL;
	size_t *count = NULL, n;
	uint32_t *rank = NULL;
	struct fmt_dump *d;
	int rc = MUPPY_ENOMEM;

	if (!out || !out->priv)
		return MUPPY_EINVAL;
	w = out->priv;
	d = &out->dump;
	n = w->nslots;
	if (!w->graph || w->stream || w->finished)
		return 0;   /* a stream's reader orders it (format/order.h) */

	pairs = walk_realloc(NULL, (n + 1) * sizeof *pairs);
	tmp = walk_realloc(NULL, (n + 1) * sizeof *tmp);
	count = walk_realloc(NULL, FMT_RADIX_COUNTS * sizeof *count);
	rank = walk_realloc(NULL, (n + 1) * sizeof *rank);
	if (!pairs || !tmp || !count || !rank)
		goto out;
	/* Objects left out (design note 8) get no index; their edges and
	 * roots go too. */
	for (size_t i = 0, k = 0; i < n; i++) {
		rank[i] = WALK_SKIPPED;
		if (w->otype[i] == WALK_SKIPPED)
			continue;
		pairs[k].key = w->addr[i];
		pairs[k].slot = (uint32_t)i;
		k++;
	}
	n -= w->skipped;
	fmt_radix_sort(pairs, tmp, n, count);
	for (size_t i = 0; i < n; i++)
		rank[pairs[i].slot] = (uint32_t)i;

	walk_free(w->f_addr); walk_free(w->f_size); walk_free(w->f_refcnt);
	walk_free(w->f_type); walk_free(w->f_label); walk_free(w->f_flags);
	w->f_addr = walk_permute(w->addr, sizeof(uint64_t), pairs, n);
	w->f_size = walk_permute(w->size, sizeof(uint64_t), pairs, n);
	w->f_refcnt = walk_permute(w->refcnt, sizeof(uint32_t), pairs, n);
	w->f_type = walk_permute(w->otype, sizeof(uint32_t), pairs, n);
	w->f_label = walk_permute(w->label, sizeof(uint32_t), pairs, n);
	w->f_flags = walk_permute(w->oflags, sizeof(uint8_t), pairs, n);
	if (!w->f_addr || !w->f_size || !w->f_refcnt || !w->f_type ||
	    !w->f_label || !w->f_flags)
		goto out;
	walk_free(w->f_estart); walk_free(w->f_edst); walk_free(w->f_ename);
	w->f_estart = NULL; w->f_edst = NULL; w->f_ename = NULL;
	if ((rc = walk_finish_edges(w, rank, n)) != 0)
		goto out;
	walk_remap_refs(w, rank);

	d->nobjects = n;
	d->obj_addr = w->f_addr;
	d->obj_type = w->f_type;
	d->obj_size = w->f_size;
	d->obj_refcnt = w->f_refcnt;
	d->obj_label = w->f_label;
	d->obj_flags = w->f_flags;
	d->nedges = w->f_estart[n];
	d->edge_start = w->f_estart;
	d->edge_dst = w->f_edst;
	d->edge_name = w->f_ename;
	d->nroots = (uint32_t)w->nroots;
	d->roots = w->roots;
	d->nstrdata = (uint32_t)w->nstrdata;
	d->strdata = w->strdata;
	/* The slot-ordered columns are no longer needed. */
	walk_free(w->addr); walk_free(w->size); walk_free(w->refcnt);
	walk_free(w->otype); walk_free(w->label); walk_free(w->oflags);
	walk_free(w->esrc); walk_free(w->edst); walk_free(w->ename);
	w->addr = w->size = NULL;
	w->otype = w->label = w->refcnt = NULL;
	w->oflags = NULL;
	w->esrc = w->edst = w->ename = NULL;
	w->nedges = 0;
	w->finished = 1;   /* roots/strdata are remapped: never twice */
	rc = 0;
out:
	walk_free(pairs);
	walk_free(tmp);
	walk_free(count);
	walk_free(rank);
	return rc;
}

void
walk_result_free(struct walk_result *r)
{
	if (!r)
		return;
	walk_free_walker(r->priv);
	memset(r, 0, sizeof *r);
}
