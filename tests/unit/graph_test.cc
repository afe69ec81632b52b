// graph_test.cc - tools/graph.[ch]: the reverse edge index, root flags,
// BFS shortest paths (dump roots preferred over objects held from outside),
// the Python-like text of a chain and of a leak pattern, matching objects
// across dumps, and graph_build's refusal of inconsistent graphs.
//
// Graphs are built in memory (struct fmt_dump over std::vectors); no file
// is written here (tests/analysis_test.cc drives the commands on files).
#include <gtest/gtest.h>

#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "format/dump.h"
#include "tools/graph.h"
#include "tests/unit/test_dump.h"

namespace {

// The expression of the shortest chain to obj ("" if unreachable).
std::string PathText(const graph &g, const graph_paths &p, uint32_t obj,
                     int pattern = 0, const uint8_t *is_new = nullptr) {
  graph_hop *h = nullptr;
  size_t cap = 0;
  int64_t n = graph_chain(&g, &p, obj, &h, &cap);
  std::string out;
  if (n > 0) {
    text_buf b = {};
    graph_chain_text(&g, h, (size_t)n, pattern, is_new, &b);
    out = b.s ? b.s : "";
    text_free(&b);
  }
  free(h);
  return out;
}

// sys.modules['app'] -> __dict__ -> registry -> ['k'] -> [3] -> .callback
struct Registry {
  Mem m;
  uint32_t mod, dict, reg, lst, cb, fn;
  Registry() {
    uint32_t tm = m.Type("module"), td = m.Type("dict"),
             tl = m.Type("list"), tc = m.Type("app.Callback"),
             tf = m.Type("function");
    mod = m.Obj(tm, 72, -1, "app");
    dict = m.Obj(td, 1000);
    reg = m.Obj(td, 200);
    lst = m.Obj(tl, 88);
    cb = m.Obj(tc, 48);
    fn = m.Obj(tf, 136, -1, "on_event");
    m.Edge(mod, dict, m.Other("__dict__"));
    m.Edge(dict, reg, m.Key("registry"));
    m.Edge(reg, lst, m.Key("k"));
    for (int i = 0; i < 3; i++) m.Edge(lst, m.Obj(tc), FMT_EDGE_NAME(FMT_EDGE_INDEX, i));
    m.Edge(lst, cb, FMT_EDGE_NAME(FMT_EDGE_INDEX, 3));
    m.Edge(cb, fn, m.Attr("callback"));
    m.Root(mod, FMT_ROOT_MODULE, "app");
  }
};

TEST(GraphTest, ReverseIndexListsReferrersInOrderWithDuplicates) {
  Mem m;
  uint32_t t = m.Type("list");
  uint32_t a = m.Obj(t), b = m.Obj(t), c = m.Obj(t), x = m.Obj(t);
  m.Edge(c, x);
  m.Edge(a, x);
  m.Edge(a, x);  // a list [x, x]
  m.Edge(b, c);
  m.Edge(x, x);  // self-reference
  graph g;
  ASSERT_EQ(graph_build(&g, m.View()), 0);
  ASSERT_EQ(graph_indegree(&g, x), 4u);
  std::vector<uint32_t> got(g.rev_src + g.rev_start[x],
                            g.rev_src + g.rev_start[x + 1]);
  EXPECT_EQ(got, (std::vector<uint32_t>{a, a, c, x}));
  EXPECT_EQ(graph_indegree(&g, a), 0u);
  EXPECT_EQ(graph_indegree(&g, c), 1u);
  EXPECT_EQ(g.rev_src[g.rev_start[c]], b);
  EXPECT_EQ(g.rev_start[g.n], 5u);
  graph_free(&g);
  graph_free(&g);  // zeroed: a second free is harmless
  graph_free(nullptr);
}


// 40 lists, three edges out of each, a repeat (o[5] -> o[9] twice) and
// a self-reference (o[9]).
static std::vector<uint32_t> TangledGraph(Mem &m) {
  uint32_t t = m.Type("list");
  std::vector<uint32_t> o;
  for (int i = 0; i < 40; i++) o.push_back(m.Obj(t));
  for (int i = 0; i < 40; i++)
    for (int k = 1; k <= 3; k++) m.Edge(o[i], o[(i * 7 + k * k) % 40]);
  m.Edge(o[5], o[9]);
  m.Edge(o[9], o[9]);
  return o;
}

// graph_build_with(0) keeps the counts but no rev_src; graph_referrers
// then scans the edges and must give exactly what the index gives.
TEST(GraphTest, ReferrersWithoutTheIndexMatchTheIndex) {
  Mem m;
  std::vector<uint32_t> o = TangledGraph(m);
  graph full, lite;
  ASSERT_EQ(graph_build(&full, m.View()), 0);
  ASSERT_EQ(graph_build_with(&lite, m.View(), 0), 0);
  EXPECT_EQ(lite.rev_src, nullptr);
  for (uint32_t i = 0; i < full.n; i++) {
    EXPECT_EQ(graph_indegree(&lite, i), graph_indegree(&full, i)) << i;
    EXPECT_EQ(lite.flags[i], full.flags[i]) << i;
    uint32_t *a = nullptr, *b = nullptr;
    int64_t na = graph_referrers(&full, i, &a);
    int64_t nb = graph_referrers(&lite, i, &b);
    ASSERT_GE(na, 0);
    ASSERT_EQ(na, nb) << i;
    EXPECT_EQ(std::vector<uint32_t>(a, a + na),
              std::vector<uint32_t>(b, b + nb)) << i;
    EXPECT_EQ(std::vector<uint32_t>(a, a + na),
              std::vector<uint32_t>(full.rev_src + full.rev_start[i],
                                    full.rev_src + full.rev_start[i + 1]));
    free(a);
    free(b);
  }
  uint32_t *r = nullptr;
  EXPECT_EQ(graph_referrers(&lite, o[9], &r), (int64_t)graph_indegree(&full, o[9]));
  free(r);
  graph_free(&full);
  graph_free(&lite);
}
TEST(GraphTest, FlagsMarkRootsHeldFromOutsideAndImmortals) {
  Mem m;
  uint32_t t = m.Type("object");
  uint32_t r = m.Obj(t), held = m.Obj(t, 16, 3), fine = m.Obj(t, 16, 1),
           imm = m.Obj(t, 16, 4294967295LL), st = m.Obj(t, 16, 999999999);
  m.Edge(r, held);
  m.Edge(r, fine);
  m.Root(r, FMT_ROOT_MODULE, "m");
  graph g;
  ASSERT_EQ(graph_build(&g, m.View()), 0);
  EXPECT_EQ(g.flags[r], GRAPH_F_DUMPROOT);
  EXPECT_EQ(g.flags[held], GRAPH_F_EXTERN);  // 3 refs, 1 found
  EXPECT_EQ(g.flags[fine], 0u);
  EXPECT_EQ(g.flags[imm], GRAPH_F_EXTERN | GRAPH_F_IMMORTAL);
  EXPECT_EQ(g.flags[st], GRAPH_F_EXTERN | GRAPH_F_IMMORTAL);  // 3.11 static
  EXPECT_EQ(graph_root_entry(&g, r), 0);
  EXPECT_EQ(graph_root_entry(&g, held), -1);
  graph_free(&g);
}

TEST(GraphTest, BuildRefusesInconsistentGraphs) {
  Mem m;
  uint32_t t = m.Type("object");
  uint32_t a = m.Obj(t);
  m.Obj(t);
  m.Edge(a, 1);
  graph g;
  fmt_dump d = *m.View();
  std::vector<uint32_t> bad_dst = {7};
  d.edge_dst = bad_dst.data();
  EXPECT_EQ(graph_build(&g, &d), MUPPY_EINVAL);
  EXPECT_EQ(g.rev_start, nullptr);
  d = *m.View();
  d.flags = 0;  // a summary-only dump
  EXPECT_EQ(graph_build(&g, &d), MUPPY_EINVAL);
  d = *m.View();
  fmt_root r = {5, FMT_ROOT_MODULE, 0};
  d.nroots = 1;
  d.roots = &r;
  EXPECT_EQ(graph_build(&g, &d), MUPPY_EINVAL);
  d = *m.View();
  std::vector<uint32_t> bad_type = {0, 9};
  d.obj_type = bad_type.data();
  EXPECT_EQ(graph_build(&g, &d), MUPPY_EINVAL);
}

TEST(GraphTest, ChainTextReadsLikePython) {
  Registry r;
  graph g;
  graph_paths p;
  ASSERT_EQ(graph_build(&g, r.m.View()), 0);
  ASSERT_EQ(graph_paths_compute(&g, &p), 0);
  EXPECT_EQ(PathText(g, p, r.fn),
            "sys.modules['app'].registry['k'][3].callback");
  graph_paths_free(&p);
  graph_free(&g);
}

TEST(GraphTest, ShortestPathWinsAndDumpRootsBeatHeldObjects) {
  Mem m;
  uint32_t t = m.Type("dict"), tm = m.Type("module");
  uint32_t mod = m.Obj(tm, 72, -1, "m"), a = m.Obj(t), b = m.Obj(t),
           c = m.Obj(t), target = m.Obj(t), held = m.Obj(t, 16, 5);
  m.Edge(mod, a, m.Key("a"));
  m.Edge(a, b, m.Key("b"));
  m.Edge(b, c, m.Key("c"));
  m.Edge(c, target, m.Key("long"));
  m.Edge(a, target, m.Key("short"));
  m.Edge(held, target, m.Key("fromc"));  // shorter, but from C
  m.Root(mod, FMT_ROOT_MODULE, "m");
  graph g;
  graph_paths p;
  ASSERT_EQ(graph_build(&g, m.View()), 0);
  ASSERT_EQ(graph_paths_compute(&g, &p), 0);
  EXPECT_EQ(PathText(g, p, target), "sys.modules['m']['a']['short']");
  EXPECT_EQ(p.parent[mod], GRAPH_ROOTED);
  EXPECT_EQ(p.parent[held], GRAPH_ROOTED);  // a root of its own
  char want[64];
  snprintf(want, sizeof want, "<held from C: 0x%llx>",
           (unsigned long long)m.Addr(held));
  EXPECT_EQ(PathText(g, p, held), want);
  EXPECT_EQ(PathText(g, p, held, 1), "<held from C: dict>");
  // BFS order: parents before children.
  std::vector<int> pos(g.n, -1);
  for (uint32_t k = 0; k < p.nreached; k++) pos[p.order[k]] = (int)k;
  for (uint32_t i = 0; i < g.n; i++) {
    if (p.parent[i] != GRAPH_ROOTED && p.parent[i] != GRAPH_NONE) {
      EXPECT_LT(pos[p.parent[i]], pos[i]);
    }
  }
  graph_paths_free(&p);
  graph_free(&g);
}

TEST(GraphTest, HeldObjectsReachWhatNoDumpRootReaches) {
  Mem m;
  uint32_t t = m.Type("list");
  uint32_t held = m.Obj(t, 16, 2), x = m.Obj(t), cyc1 = m.Obj(t),
           cyc2 = m.Obj(t);
  m.Edge(held, x, FMT_EDGE_NAME(FMT_EDGE_INDEX, 0));
  m.Edge(cyc1, cyc2);
  m.Edge(cyc2, cyc1);  // an unreachable cycle
  graph g;
  graph_paths p;
  ASSERT_EQ(graph_build(&g, m.View()), 0);
  ASSERT_EQ(graph_paths_compute(&g, &p), 0);
  EXPECT_EQ(p.parent[x], held);
  EXPECT_EQ(p.parent[cyc1], GRAPH_NONE);
  EXPECT_EQ(p.parent[cyc2], GRAPH_NONE);
  EXPECT_EQ(p.nreached, 2u);
  EXPECT_EQ(PathText(g, p, cyc1), "");
  graph_hop *h = nullptr;
  size_t cap = 0;
  EXPECT_EQ(graph_chain(&g, &p, cyc2, &h, &cap), 0);
  EXPECT_EQ(graph_chain(&g, &p, x, &h, &cap), 2);
  EXPECT_EQ(h[0].obj, held);
  EXPECT_EQ(h[1].obj, x);
  EXPECT_EQ(h[1].name, FMT_EDGE_NAME(FMT_EDGE_INDEX, 0));
  free(h);
  graph_paths_free(&p);
  graph_free(&g);
}

TEST(GraphTest, EveryEdgeKindHasItsText) {
  Mem m;
  uint32_t t = m.Type("object"), tf = m.Type("frame");
  uint32_t fr = m.Obj(tf, 400, -1, "handler");
  std::vector<std::pair<uint32_t, std::string>> cases = {
      {FMT_EDGE_NAME(FMT_EDGE_LOCAL, m.Str("req")), ".req"},
      {FMT_EDGE_NAME(FMT_EDGE_CELL, m.Str("big")), ".<cell 'big'>"},
      {FMT_EDGE_NAME(FMT_EDGE_DICTKEY, 0), ".<key>"},
      {FMT_EDGE_NAME(FMT_EDGE_NONE, 0), ".<?>"},
      {FMT_EDGE_NAME(FMT_EDGE_OTHER, m.Str("f_back")), ".f_back"},
      {m.Key("it's"), "[\"it's\"]"},
      {m.Key("a\\b\n"), "['a\\\\b\\n']"},
      {FMT_EDGE_NAME(FMT_EDGE_INDEX, 12), "[12]"},
  };
  std::vector<uint32_t> objs;
  for (auto &c : cases) {
    objs.push_back(m.Obj(t));
    m.Edge(fr, objs.back(), c.first);
  }
  m.Root(fr, FMT_ROOT_FRAME, "thread 1");
  graph g;
  graph_paths p;
  ASSERT_EQ(graph_build(&g, m.View()), 0);
  ASSERT_EQ(graph_paths_compute(&g, &p), 0);
  for (size_t k = 0; k < cases.size(); k++)
    EXPECT_EQ(PathText(g, p, objs[k]),
              "<frame handler (thread 1)>" + cases[k].second);
  graph_paths_free(&p);
  graph_free(&g);
}

TEST(GraphTest, DictSlotCollapsesOnlyForIdentifierKeys) {
  Mem m;
  uint32_t t = m.Type("object"), tm = m.Type("module");
  uint32_t mod = m.Obj(tm, 72, -1, "app"), inst = m.Obj(t), dict = m.Obj(t),
           a = m.Obj(t), b = m.Obj(t);
  m.Edge(mod, inst, m.Attr("obj"));
  m.Edge(inst, dict, m.Other("__dict__"));
  m.Edge(dict, a, m.Key("name"));
  m.Edge(dict, b, m.Key("not an identifier"));
  m.Root(mod, FMT_ROOT_MODULE, "app");
  graph g;
  graph_paths p;
  ASSERT_EQ(graph_build(&g, m.View()), 0);
  ASSERT_EQ(graph_paths_compute(&g, &p), 0);
  EXPECT_EQ(PathText(g, p, a), "sys.modules['app'].obj.name");
  EXPECT_EQ(PathText(g, p, b),
            "sys.modules['app'].obj.__dict__['not an identifier']");
  EXPECT_EQ(PathText(g, p, dict), "sys.modules['app'].obj.__dict__");
  graph_paths_free(&p);
  graph_free(&g);
}

TEST(GraphTest, PatternsHideIndicesAndKeysOfNewObjects) {
  Mem m;
  uint32_t td = m.Type("dict"), tm = m.Type("module"), tl = m.Type("list");
  uint32_t mod = m.Obj(tm, 72, -1, "app"), g_ = m.Obj(td), cache = m.Obj(td),
           byname = m.Obj(td), lst = m.Obj(tl), v = m.Obj(td), w = m.Obj(td),
           old = m.Obj(tl);
  m.Edge(mod, g_, m.Other("__dict__"));
  m.Edge(g_, cache, m.Key("cache"));
  m.Edge(cache, v, m.Key("req-17"));
  m.Edge(g_, byname, m.Key("byname"));
  m.Edge(byname, old, m.Key("stable"));
  m.Edge(old, w, FMT_EDGE_NAME(FMT_EDGE_INDEX, 41));
  m.Edge(g_, lst, m.Key("windows"));
  m.Root(mod, FMT_ROOT_MODULE, "app");
  graph g;
  graph_paths p;
  ASSERT_EQ(graph_build(&g, m.View()), 0);
  ASSERT_EQ(graph_paths_compute(&g, &p), 0);
  std::vector<uint8_t> is_new(g.n, 0);
  is_new[v] = is_new[w] = 1;
  EXPECT_EQ(PathText(g, p, v, 1, is_new.data()),
            "sys.modules['app'].cache['*']");
  EXPECT_EQ(PathText(g, p, w, 1, is_new.data()),
            "sys.modules['app'].byname['stable'][*]");
  EXPECT_EQ(PathText(g, p, v, 0, is_new.data()),
            "sys.modules['app'].cache['req-17']");
  graph_paths_free(&p);
  graph_free(&g);
}

TEST(GraphTest, RowNamesFollowPympler) {
  Mem m;
  uint32_t tf = m.Type("function"), tfr = m.Type("frame"),
           tm = m.Type("module"), tx = m.Type("__main__.Foo");
  uint32_t f = m.Obj(tf, 1, -1, "cb"), fr = m.Obj(tfr, 1, -1, "run"),
           mo = m.Obj(tm, 1, -1, "os"), x = m.Obj(tx, 1, -1, "lbl"),
           anon = m.Obj(tf);
  const fmt_dump *d = m.View();
  std::map<uint32_t, std::string> want = {{f, "function (cb)"},
                                          {fr, "frame (codename: run)"},
                                          {mo, "module(os)"},
                                          {x, "__main__.Foo"},
                                          {anon, "function"}};
  for (auto &w : want) {
    text_buf b = {};
    graph_row_name(d, w.first, &b);
    EXPECT_EQ(std::string(b.s), w.second);
    text_free(&b);
  }
}

TEST(GraphTest, MarkCommonNeedsSameAddressAndType) {
  Mem a, b;
  uint32_t ta = a.Type("list"), tb = b.Type("list");
  b.Type("dict");  // type 1 of b: address 0x5010, named dict
  a.Type("tuple");  // type 1 of a: same address 0x5010, other name
  a.Obj(ta);        // 0x100000
  a.Obj(1);         // 0x100100 tuple
  b.Obj(tb);        // 0x100000 list: same
  b.Obj(1);         // 0x100100 dict: type differs
  b.Obj(tb);        // 0x100200: new address
  std::vector<uint8_t> seen(3, 0);
  ASSERT_EQ(graph_mark_common(a.View(), b.View(), seen.data(), 2), 0);
  EXPECT_EQ(seen, (std::vector<uint8_t>{2, 0, 0}));
}

TEST(GraphTest, ParsesAddresses) {
  uint64_t v = 0;
  EXPECT_EQ(graph_parse_address("0x7f00AB", &v), 0);
  EXPECT_EQ(v, 0x7f00abu);
  EXPECT_EQ(graph_parse_address("140000", &v), 0);
  EXPECT_EQ(v, 140000u);
  EXPECT_EQ(graph_parse_address("0x", &v), -1);
  EXPECT_EQ(graph_parse_address("", &v), -1);
  EXPECT_EQ(graph_parse_address("12ab", &v), -1);
  EXPECT_EQ(graph_parse_address("0x1ffffffffffffffff", &v), -1);
  EXPECT_EQ(graph_parse_address("-5", &v), -1);
}

}  // namespace

namespace {

// Every object's referrers from near equal the whole index's.
void ExpectNearMatches(const graph &full, const graph_near &near) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < full.n; i++) {
    out.assign(graph_indegree(&full, i) + 1, 0);
    uint64_t k = graph_near_referrers(&near, i, out.data());
    EXPECT_EQ(std::vector<uint32_t>(out.begin(), out.begin() + k),
              std::vector<uint32_t>(full.rev_src + full.rev_start[i],
                                    full.rev_src + full.rev_start[i + 1]))
        << i;
  }
}

}  // namespace

// graph_near_build gathers referrers level by level (repeats, self
// references and duplicate targets included) and gives what the index
// gives, inside the levels and outside them (by a scan).
TEST(GraphTest, NearReferrersMatchTheIndex) {
  Mem m;
  std::vector<uint32_t> o = TangledGraph(m);
  graph full, lite;
  ASSERT_EQ(graph_build(&full, m.View()), 0);
  ASSERT_EQ(graph_build_with(&lite, m.View(), 0), 0);
  const uint32_t targets[] = {o[9], o[17], o[9]};
  for (uint32_t levels = 0; levels <= 4; levels++) {
    graph_near near;
    ASSERT_EQ(graph_near_build(&near, &lite, targets, 3, levels), 0);
    EXPECT_EQ(near.all, nullptr);  // small levels: pairs, no index
    if (levels == 1) {  // the two targets' referrers only
      EXPECT_EQ(near.npairs,
                graph_indegree(&full, o[9]) + graph_indegree(&full, o[17]));
    }
    if (levels > 0) {
      EXPECT_TRUE(near.covered[o[9] >> 3] >> (o[9] & 7) & 1);
    }
    ExpectNearMatches(full, near);
    graph_near_free(&near);
  }
  graph_near near;  // on a graph with rev_src: borrowed
  ASSERT_EQ(graph_near_build(&near, &full, targets, 3, 3), 0);
  EXPECT_EQ(near.pairs, nullptr);
  EXPECT_EQ(near.all, nullptr);
  ExpectNearMatches(full, near);
  graph_near_free(&near);
  graph_free(&full);
  graph_free(&lite);
}

// A chain deeper than GRAPH_NEAR_PASSES levels: the whole index is
// built instead, and still agrees.
TEST(GraphTest, NearFallsBackToTheIndexOnDeepLevels) {
  Mem m;
  uint32_t t = m.Type("node");
  std::vector<uint32_t> o;
  for (int i = 0; i < 30; i++) o.push_back(m.Obj(t));
  for (int i = 0; i + 1 < 30; i++) m.Edge(o[i + 1], o[i]);
  graph full, lite;
  ASSERT_EQ(graph_build(&full, m.View()), 0);
  ASSERT_EQ(graph_build_with(&lite, m.View(), 0), 0);
  graph_near near;
  ASSERT_EQ(graph_near_build(&near, &lite, &o[0], 1, GRAPH_NEAR_PASSES), 0);
  EXPECT_EQ(near.all, nullptr);
  EXPECT_EQ(near.npairs, (uint64_t)GRAPH_NEAR_PASSES);
  ExpectNearMatches(full, near);
  graph_near_free(&near);
  ASSERT_EQ(graph_near_build(&near, &lite, &o[0], 1, 20), 0);
  EXPECT_NE(near.all, nullptr);
  EXPECT_EQ(near.pairs, nullptr);
  ExpectNearMatches(full, near);
  graph_near_free(&near);
  // Levels that close early never fall back.
  ASSERT_EQ(graph_near_build(&near, &lite, &o[25], 1, 1000), 0);
  EXPECT_EQ(near.all, nullptr);
  EXPECT_EQ(near.npairs, 4u);
  graph_near_free(&near);
  graph_free(&full);
  graph_free(&lite);
}

// GRAPH_BUILD_NO_DEGREES frees the counts: the same flags, and in-degrees
// and referrers counted by scans.
TEST(GraphTest, NoDegreesKeepsFlagsAndCountsByScans) {
  Mem m;
  uint32_t t = m.Type("object");
  uint32_t a = m.Obj(t), b = m.Obj(t, 16, 3), c = m.Obj(t, 16, 1);
  m.Edge(a, b);
  m.Edge(a, b);
  m.Edge(c, b);
  m.Edge(b, c);
  m.Root(a, FMT_ROOT_MODULE, "m");
  graph full, lite;
  ASSERT_EQ(graph_build(&full, m.View()), 0);
  ASSERT_EQ(graph_build_with(&lite, m.View(), GRAPH_BUILD_NO_DEGREES), 0);
  EXPECT_EQ(lite.rev_start, nullptr);
  EXPECT_EQ(lite.rev_src, nullptr);
  for (uint32_t i = 0; i < full.n; i++) {
    EXPECT_EQ(lite.flags[i], full.flags[i]) << i;
    EXPECT_EQ(graph_indegree(&lite, i), graph_indegree(&full, i)) << i;
  }
  EXPECT_EQ(graph_indegree(&lite, b), 3u);
  uint32_t *r = nullptr;
  ASSERT_EQ(graph_referrers(&lite, b, &r), 3);
  EXPECT_EQ(std::vector<uint32_t>(r, r + 3),
            (std::vector<uint32_t>{a, a, c}));
  free(r);
  graph_free(&full);
  graph_free(&lite);
}

namespace {

// A random graph of n objects: a few module roots, named and unnamed
// edges, repeats and self references.
void RandomGraph(Mem &m, uint32_t n, uint32_t seed) {
  uint32_t t = m.Type("node");
  for (uint32_t i = 0; i < n; i++) m.Obj(t);
  uint64_t x = seed * 2654435761u + 1;
  auto next = [&x](uint32_t mod) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(x >> 33) % mod;
  };
  for (uint32_t i = 0; i < 3 * n; i++) {
    uint32_t a = next(n), b = next(n);
    m.Edge(a, b, next(3) ? m.Attr("a" + std::to_string(next(5))) : 0);
  }
  for (uint32_t r = 0; r < 4; r++)
    m.Root(next(n), FMT_ROOT_MODULE, "m" + std::to_string(r));
}

// The hops of a search, as (obj, name) pairs; empty when none was found.
std::vector<std::pair<uint32_t, uint32_t>> Hops(int64_t n, const graph_hop *h) {
  std::vector<std::pair<uint32_t, uint32_t>> v;
  for (int64_t k = 0; k < n; k++) v.push_back({h[k].obj, h[k].name});
  return v;
}

// Every hop of a chain is an edge of the dump.
bool IsChain(const fmt_dump *d, const std::vector<std::pair<uint32_t, uint32_t>> &v) {
  for (size_t k = 1; k < v.size(); k++) {
    bool found = false;
    for (uint64_t e = d->edge_start[v[k - 1].first];
         e < d->edge_start[v[k - 1].first + 1]; e++)
      found |= d->edge_dst[e] == v[k].first;
    if (!found) return false;
  }
  return true;
}

}  // namespace

// Without rev_src the searches follow the referrers graph_search_gather
// collected: with levels enough they find exactly the chains the index
// finds; with a cap on the referrers they find the same chain or none,
// never a wrong one.
TEST(GraphTest, SearchesOnGatheredReferrersMatchTheIndex) {
  for (uint32_t seed = 1; seed <= 6; seed++) {
    Mem m;
    RandomGraph(m, 300, seed);
    graph full, lite;
    ASSERT_EQ(graph_build(&full, m.View()), 0);
    ASSERT_EQ(graph_build_with(&lite, m.View(), GRAPH_BUILD_NO_DEGREES), 0);
    const fmt_dump *d = m.View();
    for (uint64_t cap : {(uint64_t)1 << 30, (uint64_t)40}) {
      graph_search sf, sl;
      ASSERT_EQ(graph_search_init(&sf, &full), 0);
      ASSERT_EQ(graph_search_init(&sl, &lite), 0);
      std::vector<uint32_t> targets;
      for (uint32_t t = 0; t < 300; t += 7) targets.push_back(t);
      ASSERT_EQ(graph_search_gather(&sl, &lite, targets.data(), targets.size(),
                                    12, cap), 0);
      ASSERT_EQ(graph_search_gather(&sf, &full, targets.data(), targets.size(),
                                    12, cap), 0);
      EXPECT_EQ(sf.near, nullptr);   // the index is there: nothing gathered
      if (cap < 100) {
        EXPECT_LE(sl.nnear, cap);
      }
      int same = 0, none = 0;
      graph_hop *a = nullptr, *b = nullptr;
      size_t ca = 0, cb = 0;
      for (uint32_t t : targets) {
        for (uint32_t r = 0; r < d->nroots; r++) {
          uint32_t from = d->roots[r].obj;
          int64_t na = graph_chain_from(&full, &sf, from, t, 4, 1u << 20, &a, &ca);
          int64_t nb = graph_chain_from(&lite, &sl, from, t, 4, 1u << 20, &b, &cb);
          ASSERT_GE(na, 0);
          ASSERT_GE(nb, 0);
          if (cap > 1000) {
            EXPECT_EQ(Hops(na, a), Hops(nb, b)) << seed << " " << t;
          } else if (nb) {
            EXPECT_EQ(Hops(na, a), Hops(nb, b)) << seed << " " << t;
          }
          same += na > 0 && na == nb;
          none += na > 0 && nb == 0;
        }
        int64_t na = graph_chain_named(&full, &sf, t, 12, 1u << 16, &a, &ca);
        int64_t nb = graph_chain_named(&lite, &sl, t, 12, 1u << 16, &b, &cb);
        ASSERT_GE(na, 0);
        ASSERT_GE(nb, 0);
        EXPECT_TRUE(IsChain(d, Hops(na, a)));
        if (cap > 1000 || nb) {
          EXPECT_EQ(Hops(na, a), Hops(nb, b)) << seed << " " << t;
        }
        if (nb) {
          EXPECT_TRUE(d->roots && IsChain(d, Hops(nb, b)));
        }
      }
      if (cap > 1000) {
        EXPECT_GT(same, 0);         // the searches do find chains
        EXPECT_EQ(none, 0);
      } else {
        EXPECT_GT(none, 0);         // and the cap does bite
      }
      free(a);
      free(b);
      graph_search_free(&sf);
      graph_search_free(&sl);
    }
    graph_free(&full);
    graph_free(&lite);
  }
}
