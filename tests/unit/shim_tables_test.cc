// shim_tables_test.cc - shim/walk/tables.[ch] and maps.[ch]: the walk's
// allocator, its two hash tables and its view of readable memory, driven
// directly (no interpreter), each against a plain reference.
#include <gtest/gtest.h>

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>
#include <unordered_map>
#include <vector>

extern "C" {
#include "shim/walk/maps.h"
#include "shim/walk/tables.h"
}

namespace {

// Resets the failure hooks whatever a test does.
struct Hooks {
	Hooks() { walk_test_fail_after = walk_test_seen_widen_at = 0; }
	~Hooks() { walk_test_fail_after = walk_test_seen_widen_at = 0; }
};

uint32_t *Put(walk_map *m, uint64_t key, uint32_t val, int *isnew) {
	return walk_map_put(m, key, val, isnew);
}

// ---- allocation --------------------------------------------------------

TEST(WalkAlloc, SmallAndBigBlocksKeepTheirBytesAcrossGrowth) {
	Hooks h;
	// small -> small -> big (own mapping) -> bigger (mremap) -> smaller
	size_t sizes[] = {1, 100, 5000, (size_t)5 << 20, (size_t)9 << 20,
			  (size_t)6 << 20};
	unsigned char *p = nullptr;
	size_t have = 0;
	for (size_t n : sizes) {
		unsigned char *q = static_cast<unsigned char *>(walk_realloc(p, n));
		ASSERT_NE(q, nullptr) << n;
		size_t keep = have < n ? have : n;
		for (size_t i = 0; i < keep; i += 4093)
			ASSERT_EQ(q[i], (unsigned char)(i * 7)) << n << " " << i;
		for (size_t i = 0; i < n; i += 4093)
			q[i] = (unsigned char)(i * 7);
		p = q;
		have = n;
	}
	walk_prefault(p, have);   // on a mapping of its own: harmless
	walk_free(p);
	walk_free(nullptr);
	void *z = walk_realloc(nullptr, 0);
	ASSERT_NE(z, nullptr);
	walk_prefault(z, 0);      // a small block: left alone
	walk_free(z);
	EXPECT_EQ(walk_realloc(nullptr, SIZE_MAX / 2 + 1), nullptr);
}

// The addr column of a streamed walk gives its head back as the walk goes
// (shim/walk/stream.c): only whole huge pages below the point, never the
// header's page, and what lies beyond is untouched.
TEST(WalkAlloc, ReleasingTheHeadFreesWholeHugePagesBelowIt) {
	Hooks h;
	const size_t len = (size_t)12 << 20, upto = ((size_t)9 << 20) + 123;
	const uintptr_t huge = (uintptr_t)2 << 20;
	unsigned char *p = static_cast<unsigned char *>(walk_realloc(nullptr, len));
	ASSERT_NE(p, nullptr);
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i % 251 + 1);
	walk_release_head(p, upto);
	size_t zero = 0, first_zero = len, last_zero = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == 0) {
			zero++;
			if (first_zero == len)
				first_zero = i;
			last_zero = i;
		} else {
			ASSERT_EQ(p[i], (unsigned char)(i % 251 + 1)) << i;
		}
	}
	// One run of whole, aligned huge pages, all below upto: at least two
	// fit in 9 MiB whatever the block's alignment.
	ASSERT_GE(zero, (size_t)huge * 2);
	EXPECT_EQ(zero % huge, 0u);
	EXPECT_EQ(last_zero - first_zero + 1, zero);
	EXPECT_EQ((uintptr_t)(p + first_zero) % huge, 0u);
	EXPECT_LT(last_zero, upto);
	// Given back: not resident until read (the loop above faulted the
	// zero pages in again, so release and look before reading).
	walk_release_head(p, upto);
	std::vector<unsigned char> vec(zero / 4096);
	ASSERT_EQ(mincore(p + first_zero, zero, vec.data()), 0);
	for (size_t k = 0; k < vec.size(); k++)
		ASSERT_EQ(vec[k] & 1, 0) << k;
	// The block is whole: it grows, keeps its tail and frees.
	unsigned char *q = static_cast<unsigned char *>(walk_realloc(p, len * 2));
	ASSERT_NE(q, nullptr);
	for (size_t i = upto; i < len; i += 4093)
		ASSERT_EQ(q[i], (unsigned char)(i % 251 + 1)) << i;
	walk_release_head(q, len * 8);   // past the end: up to it
	EXPECT_EQ(q[0], 1u);             // the first page stays
	walk_free(q);
	// A small block and NULL are left alone.
	unsigned char *s = static_cast<unsigned char *>(walk_realloc(nullptr, 1000));
	ASSERT_NE(s, nullptr);
	memset(s, 7, 1000);
	walk_release_head(s, 1000);
	for (size_t i = 0; i < 1000; i++)
		ASSERT_EQ(s[i], 7) << i;
	walk_free(s);
	walk_release_head(nullptr, 100);
}

TEST(WalkAlloc, GrowDoublesAndRefusesOverflow) {
	Hooks h;
	uint32_t *a = nullptr;
	size_t cap = 0;
	ASSERT_EQ(walk_grow(&a, &cap, 1, sizeof *a), 0);
	EXPECT_EQ(cap, 64u);
	a[63] = 5;
	ASSERT_EQ(walk_grow(&a, &cap, 65, sizeof *a), 0);
	EXPECT_EQ(cap, 128u);
	EXPECT_EQ(a[63], 5u);
	ASSERT_EQ(walk_grow(&a, &cap, 100, sizeof *a), 0);   // has room
	EXPECT_EQ(cap, 128u);
	EXPECT_EQ(walk_grow(&a, &cap, SIZE_MAX / 2, sizeof *a), -1);
	EXPECT_EQ(cap, 128u);
	walk_test_fail_after = 1;
	EXPECT_EQ(walk_grow(&a, &cap, 1000, sizeof *a), -1);
	EXPECT_EQ(cap, 128u);
	EXPECT_EQ(a[63], 5u);   // the old block survives the failure
	walk_free(a);
}

// ---- walk_map ----------------------------------------------------------

TEST(WalkMap, AgreesWithAReferenceThroughManyRehashes) {
	Hooks h;
	walk_map m;
	ASSERT_EQ(walk_map_init(&m, 1), 0);
	EXPECT_EQ(m.cap, 1024u);
	std::unordered_map<uint64_t, uint32_t> ref;
	std::mt19937_64 rng(7);
	for (uint32_t i = 0; i < 200000; i++) {
		// Clustered keys (addresses 16 apart) and random ones.
		uint64_t k = i % 3 ? 0x7f0000000000ull + 16 * (rng() % 300000)
				   : (rng() | 1);
		int isnew = -1;
		uint32_t *v = Put(&m, k, i, &isnew);
		ASSERT_NE(v, nullptr);
		auto it = ref.find(k);
		ASSERT_EQ(isnew, it == ref.end()) << k;
		if (isnew)
			ref[k] = i;
		EXPECT_EQ(*v, ref[k]);
	}
	EXPECT_EQ(m.n, ref.size());
	EXPECT_LE(m.n * 10, m.cap * 7);   // load stays below 70%
	for (auto &kv : ref) {
		uint32_t *v = walk_map_get(&m, kv.first);
		ASSERT_NE(v, nullptr);
		EXPECT_EQ(*v, kv.second);
	}
	for (int i = 0; i < 1000; i++) {
		uint64_t k = (rng() | 1) ^ 0x5555;
		if (!ref.count(k)) {
			EXPECT_EQ(walk_map_get(&m, k), nullptr);
		}
	}
	walk_map_free(&m);
	EXPECT_EQ(m.ents, nullptr);
	EXPECT_EQ(m.n, 0u);
}

TEST(WalkMap, AFailedGrowthLeavesTheMapAsItWas) {
	Hooks h;
	walk_map m;
	ASSERT_EQ(walk_map_init(&m, 0), 0);
	uint64_t k = 1;
	int isnew;
	for (; !WALK_MAP_FULL(&m, 1); k++)
		ASSERT_NE(Put(&m, k, (uint32_t)(k + 1), &isnew), nullptr);
	size_t n = m.n, cap = m.cap;
	walk_test_fail_after = 1;
	EXPECT_EQ(Put(&m, k, 0, &isnew), nullptr);
	EXPECT_EQ(m.n, n);
	EXPECT_EQ(m.cap, cap);
	for (uint64_t j = 1; j < k; j++) {
		uint32_t *v = walk_map_get(&m, j);
		ASSERT_NE(v, nullptr);
		EXPECT_EQ(*v, (uint32_t)(j + 1));
	}
	ASSERT_NE(Put(&m, k, 9, &isnew), nullptr);   // and it goes on
	EXPECT_GT(m.cap, cap);
	walk_map_free(&m);
	walk_test_fail_after = 1;
	EXPECT_EQ(walk_map_init(&m, 10), -1);
	EXPECT_EQ(m.ents, nullptr);
}

// ---- walk_seen ---------------------------------------------------------

// Puts addr with slot val (reserving first, as the walker does).
int SeenPut(walk_seen *s, uint64_t addr, uint32_t val, uint32_t *slot) {
	size_t at;
	if (walk_seen_reserve(s, 1) != 0)
		return -1;
	return walk_seen_put(s, addr, val, slot, &at);
}

// Fills s with n addresses over `windows` 4 GiB windows, checks every one
// is found with its slot, then excludes every 7th and checks again.
void FillAndCheck(walk_seen *s, uint32_t n, unsigned windows, bool odd) {
	std::vector<uint64_t> addrs;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = ((uint64_t)(0x7f00 + i % windows) << 32) |
			     (uint64_t)(i / windows) * 48;
		if (odd && i == n / 2)
			a |= 3;   // not 8-aligned: cannot be packed
		addrs.push_back(a);
		uint32_t slot = 0;
		ASSERT_EQ(SeenPut(s, a, i, &slot), 1) << i;
		EXPECT_EQ(slot, i);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = 0;
		size_t at;
		ASSERT_EQ(walk_seen_put(s, addrs[i], 12345, &slot, &at), 0) << i;
		ASSERT_EQ(slot, i);
		if (i % 7 == 0)
			walk_seen_exclude(s, at);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = 0;
		ASSERT_EQ(SeenPut(s, addrs[i], 1, &slot), 0);
		EXPECT_EQ(slot, i % 7 ? i : WALK_NOSLOT) << i;
	}
	EXPECT_EQ(s->ents ? s->n : s->wide.n, (size_t)n);   // one entry each
}

TEST(WalkSeen, NarrowTableKeepsEverySlotThroughRehashes) {
	Hooks h;
	walk_seen s;
	ASSERT_EQ(walk_seen_init(&s, 10), 0);
	size_t cap0 = s.cap;
	FillAndCheck(&s, 100000, 5, false);
	EXPECT_NE(s.ents, nullptr);   // still narrow: 8 bytes an entry
	EXPECT_GT(s.cap, cap0);
	EXPECT_EQ(s.nwin, 6u);        // windows 1..5 in use
	walk_seen_free(&s);
	EXPECT_EQ(s.ents, nullptr);
}

// The table is as big as the load asks, not a power of two: a table
// sized for n holds n without a rehash, below 70% load, at about 11.4
// bytes an address; a probe that runs past the last entry wraps to the
// first.
TEST(WalkSeen, SizedForTheLoadNotAPowerOfTwo) {
	Hooks h;
	for (size_t want : {(size_t)1500, (size_t)100000, (size_t)3000000}) {
		walk_seen s;
		ASSERT_EQ(walk_seen_init(&s, want), 0);
		size_t cap = s.cap;
		EXPECT_EQ(cap % 64, 0u);
		EXPECT_GE(cap * 7, want * 10);
		EXPECT_LE(cap * 7, want * 10 + 7 * 128);   // no rounding up to 2^k
		if (want == 3000000) {
			EXPECT_NE(cap & (cap - 1), 0u);
		}
		FillAndCheck(&s, (uint32_t)want, 3, false);
		EXPECT_EQ(s.cap, cap) << want;   // no rehash on the way
		EXPECT_NE(s.ents, nullptr);
		walk_seen_free(&s);
	}
	// Three addresses whose home is the last entry: two wrap to 0, 1.
	walk_seen s;
	ASSERT_EQ(walk_seen_init(&s, 5000), 0);
	std::vector<uint64_t> last;
	for (uint64_t a = 0x7f0000000000; last.size() < 3; a += 8)
		if (walk_seen_hash(s.cap, a) == s.cap - 1)
			last.push_back(a);
	uint32_t slot;
	for (uint32_t i = 0; i < 3; i++)
		ASSERT_EQ(SeenPut(&s, last[i], i, &slot), 1);
	EXPECT_NE(s.ents[s.cap - 1], 0u);
	EXPECT_NE(s.ents[0], 0u);
	EXPECT_NE(s.ents[1], 0u);
	for (uint32_t i = 0; i < 3; i++) {
		ASSERT_EQ(SeenPut(&s, last[i], 9, &slot), 0);
		EXPECT_EQ(slot, i);
	}
	walk_seen_free(&s);
}

TEST(WalkSeen, GoesWideForManyWindowsOddAddressesAndHugeSlots) {
	Hooks h;
	{
		walk_seen s;
		ASSERT_EQ(walk_seen_init(&s, 10), 0);
		FillAndCheck(&s, 20000, SEEN_WINDOWS + 10, false);
		EXPECT_EQ(s.ents, nullptr);   // 74 windows do not fit
		walk_seen_free(&s);
	}
	{
		walk_seen s;
		ASSERT_EQ(walk_seen_init(&s, 10), 0);
		FillAndCheck(&s, 5000, 2, true);
		EXPECT_EQ(s.ents, nullptr);   // one odd address
		walk_seen_free(&s);
	}
	{
		walk_seen s;
		ASSERT_EQ(walk_seen_init(&s, 10), 0);
		uint32_t slot;
		ASSERT_EQ(SeenPut(&s, 0x1000, 1, &slot), 1);
		ASSERT_EQ(SeenPut(&s, 0x2000, (uint32_t)SEEN_VAL_MASK + 5, &slot), 1);
		EXPECT_EQ(s.ents, nullptr);   // a slot past 29 bits
		EXPECT_EQ(slot, (uint32_t)SEEN_VAL_MASK + 5);
		ASSERT_EQ(SeenPut(&s, 0x1000, 9, &slot), 0);
		EXPECT_EQ(slot, 1u);
		walk_seen_free(&s);
	}
	{
		walk_seen s;   // the test hook the walker checks use
		walk_test_seen_widen_at = 1000;
		ASSERT_EQ(walk_seen_init(&s, 10), 0);
		FillAndCheck(&s, 3000, 1, false);
		EXPECT_EQ(s.ents, nullptr);
		walk_seen_free(&s);
	}
}

TEST(WalkSeen, FailuresLeaveTheTableUsable) {
	Hooks h;
	walk_seen s;
	ASSERT_EQ(walk_seen_init(&s, 0), 0);
	uint32_t slot;
	uint32_t i = 0;
	for (; !WALK_MAP_FULL(&s, 1); i++)
		ASSERT_EQ(SeenPut(&s, 0x10000 + 8 * (uint64_t)i, i, &slot), 1);
	walk_test_fail_after = 1;   // the rehash's allocation
	EXPECT_EQ(walk_seen_reserve(&s, 1), -1);
	walk_test_fail_after = 1;   // going wide
	EXPECT_EQ(walk_seen_widen(&s), -1);
	ASSERT_NE(s.ents, nullptr);
	for (uint32_t j = 0; j < i; j++) {
		ASSERT_EQ(SeenPut(&s, 0x10000 + 8 * (uint64_t)j, 0, &slot), 0);
		EXPECT_EQ(slot, j);
	}
	walk_seen_free(&s);
	walk_test_fail_after = 1;
	EXPECT_EQ(walk_seen_init(&s, 10), -1);
}

// ---- readable memory ---------------------------------------------------

TEST(WalkMaps, KnowsWhatIsReadable) {
	walk_ranges r{};
	walk_ranges_read(&r);
	ASSERT_EQ(r.ok, 1);
	ASSERT_GT(r.n, 3u);
	for (size_t i = 1; i < r.n; i++)
		EXPECT_GT(r.lo[i], r.hi[i - 1]);   // sorted, merged
	int local = 0;
	static const char text[] = "in .rodata";
	EXPECT_EQ(walk_readable(&r, &local, sizeof local), 1);
	EXPECT_EQ(walk_readable(&r, text, sizeof text), 1);
	EXPECT_EQ(walk_readable(&r, (void *)&walk_readable, 16), 1);
	EXPECT_EQ(walk_readable(&r, nullptr, 8), 0);
	EXPECT_EQ(walk_readable(&r, (void *)(UINTPTR_MAX - 4), 16), 0);
	EXPECT_EQ(r.reread, 0);   // all of that was in the table

	long pg = sysconf(_SC_PAGESIZE);
	char *none = static_cast<char *>(mmap(nullptr, 3 * pg, PROT_NONE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(none, MAP_FAILED);
	ASSERT_EQ(mprotect(none + pg, pg, PROT_READ), 0);
	// Mapped after the read: found by the one reread.
	EXPECT_EQ(walk_readable(&r, none + pg, 8), 1);
	EXPECT_EQ(r.reread, 1);
	EXPECT_EQ(walk_readable(&r, none, 8), 0);            // PROT_NONE
	EXPECT_EQ(walk_readable(&r, none + pg - 4, 8), 0);   // straddles
	EXPECT_EQ(walk_readable(&r, none + pg, pg + 1), 0);
	ASSERT_EQ(munmap(none, 3 * pg), 0);
	char *late = static_cast<char *>(mmap(nullptr, pg, PROT_READ,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(late, MAP_FAILED);
	EXPECT_EQ(walk_readable(&r, late, 8), late == none + pg);  // no 2nd reread
	munmap(late, pg);
	walk_ranges_free(&r);
	EXPECT_EQ(r.lo, nullptr);
	EXPECT_EQ(r.n, 0u);
}

}  // namespace

// ---- the warm list (walk.c design note 10) ------------------------------

namespace {

// The warm range holding p, or -1.
long WarmHolding(const walk_warm &w, const void *p) {
	uint64_t a = (uint64_t)(uintptr_t)p;
	for (size_t i = 0; i < w.n; i++)
		if (w.lo[i] <= a && a < w.hi[i]) return (long)i;
	return -1;
}

}  // namespace

TEST(WalkWarm, ListsPrivateAnonymousMemoryOnly) {
	long pg = sysconf(_SC_PAGESIZE);
	char *anon = static_cast<char *>(mmap(nullptr, 8 * pg, PROT_READ | PROT_WRITE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	char *shared = static_cast<char *>(mmap(nullptr, 4 * pg, PROT_READ | PROT_WRITE,
						MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	char *none = static_cast<char *>(mmap(nullptr, 4 * pg, PROT_NONE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(anon, MAP_FAILED);
	ASSERT_NE(shared, MAP_FAILED);
	ASSERT_NE(none, MAP_FAILED);
	memset(anon, 1, 8 * pg);
	memset(shared, 1, 4 * pg);
	static const char text[] = "in .rodata";
	void *heap = malloc(100);   // the [heap] (brk) for a small block
	ASSERT_NE(heap, nullptr);

	walk_warm w;
	ASSERT_EQ(walk_warm_read(&w), 0);
	EXPECT_EQ(w.page, (size_t)pg);
	ASSERT_GT(w.n, 0u);
	for (size_t i = 0; i < w.n; i++) {
		EXPECT_LT(w.lo[i], w.hi[i]);
		if (i) {
			EXPECT_GE(w.lo[i], w.hi[i - 1]);   // ascending, apart
		}
	}
	EXPECT_GE(WarmHolding(w, anon), 0);
	EXPECT_GE(WarmHolding(w, anon + 8 * pg - 1), 0);
	EXPECT_GE(WarmHolding(w, heap), 0);
	EXPECT_EQ(WarmHolding(w, shared), -1);              // shared memory
	EXPECT_EQ(WarmHolding(w, none), -1);                // unreadable
	EXPECT_EQ(WarmHolding(w, text), -1);                // a file's
	EXPECT_EQ(WarmHolding(w, (void *)&walk_warm_read), -1);
	int local = 0;
	EXPECT_EQ(WarmHolding(w, &local), -1);              // [stack]
	// The list's own storage is cut out of it.
	EXPECT_EQ(WarmHolding(w, w.lo), -1);
	EXPECT_EQ(WarmHolding(w, w.hi + WALK_WARM_MAX - 1), -1);
	walk_warm_free(&w);
	EXPECT_EQ(w.lo, nullptr);
	EXPECT_EQ(w.n, 0u);
	walk_warm_free(&w);       // zeroed: harmless
	walk_warm_free(nullptr);
	free(heap);
	munmap(anon, 8 * pg);
	munmap(shared, 4 * pg);
	munmap(none, 4 * pg);
}
