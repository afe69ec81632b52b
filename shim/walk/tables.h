/*
 * tables.h - the walk's storage: its allocator (walk_realloc: small blocks
 * from mem.h, big arrays in mappings of their own) and its two hash tables,
 * a general 64-bit key -> 32-bit value map (walk_map) and the seen table
 * (walk_seen: object address -> slot in 8 bytes an entry, the walk's
 * hottest array).  No Python here: tests/unit/shim_tables_test.cc drives
 * them directly.  The lookups are inline: the walk makes one per object
 * and per reference it follows.
 */
#ifndef MUPPY_SHIM_WALK_TABLES_H
#define MUPPY_SHIM_WALK_TABLES_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint32_t, uint64_t */

#define WALK_NOSLOT UINT32_MAX     /* excluded / not recorded */

/*
 * A function that only prefetches must be inlined before GCC's IPA passes
 * see it: they find it has no side effect and delete its calls (GCC 12
 * did, silently, for every one of them).
 */
#define WALK_PREFETCHER inline __attribute__((always_inline))

/* Test hooks: when > 0, the n-th allocation from now fails; the seen
 * table goes wide once it holds this many. */
extern long walk_test_fail_after;
extern long walk_test_seen_widen_at;

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

/* ---- the seen table: object address -> slot, 8 bytes an entry ---------- */

/*
 * The walk's hottest array: a random access per object and per reference
 * followed.  An entry packs address and slot into 8 bytes, half of a
 * walk_map entry, which halves the table's cache footprint (design note
 * 6).  From the top: the address's 4 GiB window, as an index into
 * windows[] (6 bits, 1-63; 0 is an empty entry); the address's low 32 bits
 * over 8 (29 bits: a PyObject is 8-byte aligned); the slot (29 bits; all
 * ones for an excluded object).  Its capacity is what the load asks for,
 * not a power of two (a hash maps to [0, cap) by a multiply, fastrange):
 * rounding up to one wasted up to half of the table, the biggest part of
 * a streamed walk's memory.  A heap spread over more than 63 windows,
 * an odd address or a slot past 2^29 - 2 moves every entry into a
 * walk_map once (the table is then "wide"), and the walk goes on there.
 */
#define SEEN_VAL_BITS 29
#define SEEN_VAL_MASK ((UINT64_C(1) << SEEN_VAL_BITS) - 1)  /* = excluded */
#define SEEN_WINDOWS 64

struct walk_seen {
	uint64_t *ents;           /* packed entries; NULL once wide */
	size_t cap;               /* entries (a multiple of 64) */
	size_t n;
	unsigned nwin;            /* windows[1 .. nwin-1] in use */
	unsigned lastwin;         /* the last window found (a one-entry cache) */
	uint32_t windows[SEEN_WINDOWS];  /* address bits 32-63 of each */
	struct walk_map wide;     /* the table once wide */
};

/* realloc for the walk; walk_free releases.  n == 0 is allowed. */
void *walk_realloc(void *p, size_t n);

/* Frees what walk_realloc returned; NULL is a no-op. */
void walk_free(void *p);

/*
 * Faults in the pages of the first len bytes of a block from walk_realloc
 * now, so that the walk that fills them later takes no page fault:
 * walk_prepare runs without the GIL, the walk with it.  Small (malloc)
 * blocks are left alone.
 */
void walk_prefault(void *p, size_t len);

/* The unit walk_release_head gives back: a huge page, so that a page the
 * kernel backed with one is freed whole, not split. */
#define WALK_HUGE ((size_t)2 << 20)

/*
 * Gives back the memory of the whole huge pages (WALK_HUGE) of block p that
 * lie below byte upto of it, but never its first page (the header): for
 * an array whose head is done with, the queue of a streamed walk.  Those
 * bytes read as zero afterwards.  Small (malloc) blocks are left alone.
 */
void walk_release_head(void *p, size_t upto);

/* Grows *arr (element size esz) to hold at least need elements. */
int walk_grow(void *arr, size_t *cap, size_t need, size_t esz);

/* An empty map with room for about want keys. */
int walk_map_init(struct walk_map *m, size_t want);

/* Releases the map's entries and zeroes it. */
void walk_map_free(struct walk_map *m);

/* Rebuilds the table with room for want keys; the old one survives a
 * failure. */
int walk_map_rehash(struct walk_map *m, size_t want);

/* An empty narrow table with room for about want addresses. */
int walk_seen_init(struct walk_seen *s, size_t want);

/* Releases the table (narrow or wide) and zeroes it. */
void walk_seen_free(struct walk_seen *s);

/* Moves every entry into the wide table (a walk_map big enough for as
 * many as the narrow one took).  Returns 0 or -1 (the table unchanged). */
int walk_seen_widen(struct walk_seen *s);

/* Rebuilds the narrow table with room for want; survives a failure. */
int walk_seen_rehash(struct walk_seen *s, size_t want);

static inline size_t
walk_map_hash(const struct walk_map *m, uint64_t key)
{
	return (size_t)(((key ^ (key >> 32)) * 0x9E3779B97F4A7C15ull) >>
			m->shift);
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

/* addr's home entry in a table of cap entries. */
static inline size_t
walk_seen_hash(size_t cap, uint64_t addr)
{
	uint64_t h = (addr ^ (addr >> 32)) * 0x9E3779B97F4A7C15ull;

	return (size_t)(((unsigned __int128)h * cap) >> 64);
}

/* The entry after i, wrapping. */
static inline size_t
walk_seen_next(size_t cap, size_t i)
{
	return i + 1 == cap ? 0 : i + 1;
}

/* The address entry e stands for. */
static inline uint64_t
walk_seen_addr(const struct walk_seen *s, uint64_t e)
{
	uint64_t win = e >> (64 - 6), lo = (e >> SEEN_VAL_BITS) & 0x1FFFFFFF;

	return (uint64_t)s->windows[win] << 32 | lo << 3;
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
		__builtin_prefetch(&s->ents[walk_seen_hash(s->cap, addr)], 1);
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
	for (i = walk_seen_hash(s->cap, addr); *(e = &s->ents[i]);
	     i = walk_seen_next(s->cap, i)) {
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

#endif
