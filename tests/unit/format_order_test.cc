// format_order_test.cc - format/order.c against plain reference versions:
// the radix sort against std::stable_sort, the edge dedup against the rule
// order.h states, edge by edge, on random rows of every length its two
// sorts (insertion for short rows, heap for long) see.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "format/dump.h"
#include "format/order.h"

namespace {

// The rule of order.h: of the edges of one row with the same referent, a
// named edge goes when an earlier one has its name, an unnamed edge goes
// when a named one exists or an earlier unnamed one does.
bool RuleDrops(const std::vector<uint32_t> &dst,
	       const std::vector<uint32_t> &name, size_t s, size_t e,
	       size_t i) {
	for (size_t j = s; j < e; j++) {
		if (j == i || dst[j] != dst[i])
			continue;
		if (name[i] == FMT_EDGE_NONE ? (name[j] != FMT_EDGE_NONE || j < i)
					     : (name[j] == name[i] && j < i))
			return true;
	}
	return false;
}

struct Graph {
	std::vector<uint32_t> start, dst, name;
};

// n rows of random lengths up to maxrow, referents from a small range so
// that repeats are common, names from a few (a third unnamed).
Graph RandomRows(std::mt19937 &rng, uint32_t n, uint32_t maxrow) {
	Graph g;
	g.start.push_back(0);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = rng() % (maxrow + 1);
		uint32_t spread = 1 + rng() % (len + 2);
		for (uint32_t k = 0; k < len; k++) {
			g.dst.push_back(rng() % spread);
			uint32_t r = rng() % 6;
			g.name.push_back(r < 2 ? (uint32_t)FMT_EDGE_NONE
					       : FMT_EDGE_NAME(FMT_EDGE_KEY, r));
		}
		g.start.push_back((uint32_t)g.dst.size());
	}
	return g;
}

// Dedups g with fmt_edges_dedup and checks it against RuleDrops, edge by
// edge; what is a label for the failure message.
void ExpectDedupByTheRule(Graph g, const std::string &what) {
	uint32_t n = (uint32_t)g.start.size() - 1;
	Graph want;
	want.start.push_back(0);
	for (uint32_t i = 0; i < n; i++) {
		for (size_t e = g.start[i]; e < g.start[i + 1]; e++) {
			if (RuleDrops(g.dst, g.name, g.start[i], g.start[i + 1],
				      e))
				continue;
			want.dst.push_back(g.dst[e]);
			want.name.push_back(g.name[e]);
		}
		want.start.push_back((uint32_t)want.dst.size());
	}
	size_t m = fmt_edges_max_row(g.start.data(), n);
	std::vector<fmt_edgekey> key(m + 1);
	std::vector<uint8_t> drop(m + 1);
	uint64_t kept = fmt_edges_dedup(g.start.data(), g.dst.data(),
					g.name.data(), n, key.data(),
					drop.data());
	ASSERT_EQ(kept, want.dst.size()) << what;
	g.dst.resize(kept);
	g.name.resize(kept);
	EXPECT_EQ(g.start, want.start) << what;
	EXPECT_EQ(g.dst, want.dst) << what;
	EXPECT_EQ(g.name, want.name) << what;
}

TEST(FormatOrder, DedupKeepsExactlyWhatTheRuleKeepsInOrder) {
	std::mt19937 rng(4242);
	for (uint32_t maxrow : {0u, 1u, 8u, 9u, 31u, 32u, 33u, 200u})
		ExpectDedupByTheRule(RandomRows(rng, 500, maxrow),
				     "maxrow " + std::to_string(maxrow));
}

// Long rows of distinct referents, as a big list's are, are told apart
// from rows with one repeat anywhere in them without a sort (order.c's
// set): each row is all distinct, or has one dst again at a random
// place, named or not.  Referents collide in the set on purpose
// (multiples of a large power of two) and reach UINT32_MAX, the set's
// free mark.
TEST(FormatOrder, DedupFindsTheOneRepeatInALongRow) {
	std::mt19937 rng(77);
	for (uint32_t len : {9u, 10u, 17u, 100u, 1000u, 5000u}) {
		int rounds = len > 1000 ? 8 : 40;   // the reference is n^2

		for (int round = 0; round < rounds; round++) {
			Graph g;
			g.start.push_back(0);
			for (uint32_t i = 0; i < len; i++) {
				uint32_t v = round % 4 == 0 ? i << 20
					     : round % 4 == 1 ? UINT32_MAX - i
					     : (uint32_t)rng();
				g.dst.push_back(v);
				g.name.push_back(rng() % 3 ? (uint32_t)FMT_EDGE_NONE
						 : FMT_EDGE_NAME(FMT_EDGE_INDEX, i));
			}
			std::shuffle(g.dst.begin(), g.dst.end(), rng);
			if (round % 2) {
				// The free mark itself repeated, in one round of four.
				size_t a = round % 4 == 1
						   ? std::find(g.dst.begin(), g.dst.end(),
							       UINT32_MAX) - g.dst.begin()
						   : rng() % len;
				size_t b = rng() % len;
				g.dst[b == a ? (a + 1) % len : b] = g.dst[a];
			}
			g.start.push_back(len);
			ExpectDedupByTheRule(g, "len " + std::to_string(len) +
						    " round " +
						    std::to_string(round));
		}
	}
}

TEST(FormatOrder, MaxRowIsTheLongestRow) {
	std::vector<uint32_t> start = {0, 3, 3, 10, 11};
	EXPECT_EQ(fmt_edges_max_row(start.data(), 4), 7u);
	EXPECT_EQ(fmt_edges_max_row(start.data(), 0), 0u);
}

TEST(FormatOrder, RadixSortIsAStableSortByKey) {
	std::mt19937_64 rng(99);
	for (size_t n : {0ul, 1ul, 2ul, 1000ul, 70000ul}) {
		std::vector<fmt_pair> a(n), tmp(n);
		for (size_t i = 0; i < n; i++) {
			// Addresses: a shared high part (skipped digits), a
			// few repeats (stability shows), spread low bits.
			uint64_t k = 0x7f0000000000ull |
				     ((rng() % 4096) << 4);
			if (i % 5 == 0)
				k = rng();
			a[i] = {k, (uint32_t)i};
		}
		std::vector<fmt_pair> want(a);
		std::stable_sort(want.begin(), want.end(),
				 [](const fmt_pair &x, const fmt_pair &y) {
					 return x.key < y.key;
				 });
		std::vector<size_t> count(FMT_RADIX_COUNTS);
		fmt_radix_sort(a.data(), tmp.data(), n, count.data());
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(a[i].key, want[i].key) << i;
			ASSERT_EQ(a[i].slot, want[i].slot) << i;
		}
	}
}

}  // namespace
