// dominators_test.cc - tools/dominators.[ch]: Lengauer-Tarjan with a
// virtual super-root, on hand-built graphs with known dominator trees
// (the example graph of Lengauer and Tarjan's paper), cycles,
// self-references, objects held by two roots or from outside the heap,
// unreachable objects and cycles, a long chain (no recursion), and random
// graphs checked against dominators computed from their definition.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "format/dump.h"
#include "tools/dominators.h"
#include "tools/graph.h"
#include "tests/unit/test_dump.h"

namespace {

struct Dom {
  graph g;
  dom_tree t;
  explicit Dom(Mem &m) {
    EXPECT_EQ(graph_build(&g, m.View()), 0);
    EXPECT_EQ(dom_compute(&g, &t), 0);
  }
  ~Dom() {
    dom_free(&t);
    graph_free(&g);
  }
};

TEST(DominatorsTest, LengauerTarjanPaperExample) {
  // Fig. 1 of Lengauer & Tarjan (1979), R the start vertex.
  Mem m;
  uint32_t t = m.Type("object");
  enum { R, A, B, C, D, E, F, G, H, I, J, K, L, N };
  for (int i = 0; i < N; i++) m.Obj(t, 1);
  int edges[][2] = {{R, A}, {R, B}, {R, C}, {A, D}, {B, A}, {B, D},
                    {B, E}, {C, F}, {C, G}, {D, L}, {E, H}, {F, I},
                    {G, I}, {G, J}, {H, E}, {H, K}, {I, K}, {J, I},
                    {K, I}, {K, R}, {L, H}};
  for (auto &e : edges) m.Edge(e[0], e[1]);
  m.Root(R, FMT_ROOT_MODULE, "r");
  Dom dm(m);
  uint32_t want[N] = {DOM_SUPER, R, R, R, R, R, C, C, R, R, G, R, D};
  for (int v = 0; v < N; v++) EXPECT_EQ(dm.t.idom[v], want[v]) << "vertex " << v;
  EXPECT_EQ(dm.t.retained[R], 13u);
  EXPECT_EQ(dm.t.retained[C], 4u);  // C F G J
  EXPECT_EQ(dm.t.retained[G], 2u);  // G J
  EXPECT_EQ(dm.t.retained[D], 2u);  // D L
  EXPECT_EQ(dm.t.retained[I], 1u);
}

TEST(DominatorsTest, ChildrenListsMatchIdom) {
  // dom_kids_build: every object once, under its idom (the super-root's
  // at n), each list ascending; an empty tree has one empty list.
  Mem m;
  uint32_t t = m.Type("object");
  enum { R, A, B, C, D, U, N };
  for (int i = 0; i < N; i++) m.Obj(t, 1);
  int edges[][2] = {{R, A}, {R, B}, {A, C}, {B, C}, {C, D}};
  for (auto &e : edges) m.Edge(e[0], e[1]);
  m.Root(R, FMT_ROOT_MODULE, "r");
  Dom dm(m);
  dom_kids k = {};
  ASSERT_EQ(dom_kids_build(&dm.t, &k), 0);
  std::map<uint32_t, std::vector<uint32_t>> want;
  for (uint32_t v = 0; v < N; v++)
    want[dm.t.idom[v] == DOM_SUPER ? (uint32_t)N : dm.t.idom[v]].push_back(v);
  EXPECT_EQ(want[N], (std::vector<uint32_t>{R, U}));  // U: unreachable
  EXPECT_EQ(want[R], (std::vector<uint32_t>{A, B, C}));
  for (uint32_t p = 0; p <= N; p++) {
    std::vector<uint32_t> got(k.kid + k.start[p], k.kid + k.start[p + 1]);
    EXPECT_EQ(got, want[p]) << "children of " << p;
  }
  EXPECT_EQ(k.start[N + 1], (uint32_t)N);
  dom_kids_free(&k);
  EXPECT_EQ(k.start, nullptr);

  dom_tree empty = {};
  ASSERT_EQ(dom_kids_build(&empty, &k), 0);
  EXPECT_EQ(k.start[0], 0u);
  EXPECT_EQ(k.start[1], 0u);
  dom_kids_free(&k);
}

TEST(DominatorsTest, CyclesAndSelfReferences) {
  Mem m;
  uint32_t t = m.Type("list");
  uint32_t r = m.Obj(t, 1), a = m.Obj(t, 10), b = m.Obj(t, 20),
           c = m.Obj(t, 40), s = m.Obj(t, 80);
  m.Edge(r, a);
  m.Edge(a, b);
  m.Edge(b, c);
  m.Edge(c, a);  // a -> b -> c -> a
  m.Edge(c, s);
  m.Edge(s, s);  // self-reference
  m.Edge(a, a);
  m.Root(r, FMT_ROOT_MODULE, "m");
  Dom dm(m);
  EXPECT_EQ(dm.t.idom[a], r);
  EXPECT_EQ(dm.t.idom[b], a);
  EXPECT_EQ(dm.t.idom[c], b);
  EXPECT_EQ(dm.t.idom[s], c);
  EXPECT_EQ(dm.t.retained[a], 150u);
  EXPECT_EQ(dm.t.retained[c], 120u);
  EXPECT_EQ(dm.t.retained[s], 80u);
}

TEST(DominatorsTest, SharedByTwoRootsOrHeldFromOutside) {
  Mem m;
  uint32_t t = m.Type("dict");
  uint32_t r1 = m.Obj(t, 1), r2 = m.Obj(t, 2), shared = m.Obj(t, 100),
           own = m.Obj(t, 7), held = m.Obj(t, 50, 2), below = m.Obj(t, 5);
  m.Edge(r1, shared);
  m.Edge(r2, shared);
  m.Edge(r1, own);
  m.Edge(r1, held);   // refcount 2, one reference found
  m.Edge(held, below);
  m.Root(r1, FMT_ROOT_MODULE, "a");
  m.Root(r2, FMT_ROOT_MODULE, "b");
  Dom dm(m);
  EXPECT_EQ(dm.t.idom[shared], DOM_SUPER);
  EXPECT_EQ(dm.t.idom[own], r1);
  EXPECT_EQ(dm.t.idom[held], DOM_SUPER);
  EXPECT_EQ(dm.t.idom[below], held);
  EXPECT_EQ(dm.t.retained[r1], 8u);  // itself and own: not shared or held
  EXPECT_EQ(dm.t.retained[held], 55u);
}

TEST(DominatorsTest, UnreachableObjectsHangOffTheSuperRoot) {
  Mem m;
  uint32_t t = m.Type("object");
  uint32_t x = m.Obj(t, 1), y = m.Obj(t, 2),  // a cycle nobody refers to
           z = m.Obj(t, 4), p = m.Obj(t, 8), q = m.Obj(t, 16);
  m.Edge(x, y);
  m.Edge(y, x);
  m.Edge(z, p);  // z: no referrer at all, holds the cycle p <-> q
  m.Edge(p, q);
  m.Edge(q, p);
  Dom dm(m);
  EXPECT_EQ(dm.t.idom[z], DOM_SUPER);
  EXPECT_EQ(dm.t.idom[p], z);
  EXPECT_EQ(dm.t.idom[q], p);
  EXPECT_EQ(dm.t.retained[z], 28u);
  // The cycle's entry is its first member in address order.
  EXPECT_EQ(dm.t.idom[x], DOM_SUPER);
  EXPECT_EQ(dm.t.idom[y], x);
  EXPECT_EQ(dm.t.retained[x], 3u);
  // order: every object once, after its dominator.
  std::vector<int> pos(5, -1);
  for (uint32_t k = 0; k < 5; k++) pos[dm.t.order[k]] = (int)k;
  for (uint32_t v = 0; v < 5; v++) {
    ASSERT_GE(pos[v], 0);
    if (dm.t.idom[v] != DOM_SUPER) {
      EXPECT_LT(pos[dm.t.idom[v]], pos[v]);
    }
  }
}

TEST(DominatorsTest, LongChainNeedsNoRecursion) {
  Mem m;
  uint32_t t = m.Type("Node");
  const uint32_t n = 300000;
  for (uint32_t i = 0; i < n; i++) m.Obj(t, 2);
  for (uint32_t i = 0; i + 1 < n; i++) m.Edge(i, i + 1);
  m.Edge(n - 1, 0);  // and back: one big cycle
  m.Root(0, FMT_ROOT_MODULE, "m");
  Dom dm(m);
  EXPECT_EQ(dm.t.idom[0], DOM_SUPER);
  EXPECT_EQ(dm.t.idom[n - 1], n - 2);
  EXPECT_EQ(dm.t.retained[0], 2ull * n);
  EXPECT_EQ(dm.t.retained[n / 2], 2ull * (n - n / 2));
}

TEST(DominatorsTest, EmptyGraph) {
  Mem m;
  m.Type("object");
  Dom dm(m);
  EXPECT_EQ(dm.t.n, 0u);
  dom_free(nullptr);
}

// Dominators from the definition: d dominates v iff v is reachable from
// the roots and every path to v passes d (v unreachable with d removed).
std::vector<uint32_t> BruteIdom(const std::vector<std::vector<uint32_t>> &adj,
                                const std::vector<uint32_t> &roots) {
  size_t n = adj.size();
  auto reach = [&](int removed) {
    std::vector<char> seen(n, 0);
    std::vector<uint32_t> st;
    for (uint32_t r : roots)
      if ((int)r != removed && !seen[r]) {
        seen[r] = 1;
        st.push_back(r);
      }
    while (!st.empty()) {
      uint32_t v = st.back();
      st.pop_back();
      for (uint32_t w : adj[v])
        if ((int)w != removed && !seen[w]) {
          seen[w] = 1;
          st.push_back(w);
        }
    }
    return seen;
  };
  std::vector<std::vector<char>> dom(n, std::vector<char>(n, 0));
  for (size_t d = 0; d < n; d++) {
    auto seen = reach((int)d);
    for (size_t v = 0; v < n; v++) dom[v][d] = (v != d && !seen[v]);
  }
  std::vector<uint32_t> idom(n, DOM_SUPER);
  for (size_t v = 0; v < n; v++) {
    // The strict dominator that all other strict dominators dominate.
    for (size_t d = 0; d < n; d++) {
      if (!dom[v][d]) continue;
      bool deepest = true;
      for (size_t e = 0; e < n; e++)
        if (e != d && dom[v][e] && !dom[d][e]) deepest = false;
      if (deepest) idom[v] = (uint32_t)d;
    }
  }
  return idom;
}

TEST(DominatorsTest, RandomGraphsMatchTheDefinition) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; round++) {
    Mem m;
    uint32_t t = m.Type("object");
    uint32_t n = 2 + rng() % 25;
    for (uint32_t i = 0; i < n; i++) m.Obj(t, 1 + rng() % 100);
    std::vector<std::vector<uint32_t>> adj(n);
    uint32_t nedges = rng() % (3 * n);
    for (uint32_t e = 0; e < nedges; e++) {
      uint32_t a = rng() % n, b = rng() % n;
      adj[a].push_back(b);
    }
    std::vector<uint32_t> roots = {0};
    if (rng() % 2) roots.push_back(rng() % n);
    // Make everything reachable from the roots with extra edges.
    for (;;) {
      std::vector<char> seen(n, 0);
      std::vector<uint32_t> st(roots.begin(), roots.end());
      for (uint32_t r : roots) seen[r] = 1;
      while (!st.empty()) {
        uint32_t v = st.back();
        st.pop_back();
        for (uint32_t w : adj[v])
          if (!seen[w]) seen[w] = 1, st.push_back(w);
      }
      uint32_t un = n;
      std::vector<uint32_t> reached;
      for (uint32_t i = 0; i < n; i++) {
        if (!seen[i] && un == n) un = i;
        if (seen[i]) reached.push_back(i);
      }
      if (un == n) break;
      adj[reached[rng() % reached.size()]].push_back(un);
    }
    for (uint32_t a = 0; a < n; a++)
      for (uint32_t b : adj[a]) m.Edge(a, b);
    for (uint32_t r : roots) m.Root(r, FMT_ROOT_MODULE, "m");
    Dom dm(m);
    const uint64_t *size = dm.g.d->obj_size;
    auto want = BruteIdom(adj, roots);
    for (uint32_t v = 0; v < n; v++)
      ASSERT_EQ(dm.t.idom[v], want[v]) << "round " << round << " vertex " << v;
    // Retained = own size + children's retained.
    std::vector<uint64_t> sum(n, 0);
    for (uint32_t v = 0; v < n; v++) {
      sum[v] += size[v];
      for (uint32_t u = v; dm.t.idom[u] != DOM_SUPER; u = dm.t.idom[u])
        sum[dm.t.idom[u]] += size[v];
    }
    for (uint32_t v = 0; v < n; v++) ASSERT_EQ(dm.t.retained[v], sum[v]);
  }
}

}  // namespace
