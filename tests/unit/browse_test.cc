// browse_test.cc - the model of `muppy browse` (tools/browse.h) on graphs
// built here: which page each key opens, what its rows say, groups of one
// kind, the back stack, sorting, search, and screens of every size
// (each line exactly as wide as the screen).  The terminal side is
// tested for real in tests/integration/test_browse.py (tmux).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/test_dump.h"
#include "tools/browse.h"
#include "tools/dominators.h"
#include "tools/graph.h"

namespace {

// An app module whose dict holds a registry list of N closures `on_done`
// around one Request each, a config dict, and a Request held by two
// dicts; the screen is rows x cols.
class Browse : public ::testing::Test {
 protected:
  void Build(int nclosures) {
    uint32_t tmod = m_.Type("module"), tdict = m_.Type("dict");
    uint32_t tlist = m_.Type("list"), tfn = m_.Type("function");
    uint32_t treq = m_.Type("app.Request"), tcell = m_.Type("cell");
    mod_ = m_.Obj(tmod, 72, 1, "app");
    dict_ = m_.Obj(tdict, 1000);
    list_ = m_.Obj(tlist, 800);
    m_.Edge(mod_, dict_, m_.Other("__dict__"));
    m_.Edge(dict_, list_, m_.Key("registry"));
    target_ = m_.Obj(treq, 56);
    for (int k = 0; k < nclosures; k++) {
      uint32_t f = m_.Obj(tfn, 144, -1, "on_done");
      uint32_t c = m_.Obj(tcell, 40);
      m_.Edge(list_, f, TestDump::Index(k));
      m_.Edge(f, c, m_.Other("__closure__"));
      m_.Edge(c, target_, FMT_EDGE_NAME(FMT_EDGE_CELL, m_.Str("req")));
    }
    uint32_t d1 = m_.Obj(tdict, 232), d2 = m_.Obj(tdict, 232);
    m_.Edge(dict_, d1, m_.Key("config"));
    m_.Edge(dict_, d2, m_.Key("other"));
    m_.Edge(d1, target_, m_.Key("current"));
    m_.Edge(d2, target_, m_.Key("current"));
    m_.Root(mod_, FMT_ROOT_MODULE, "app");
    m_.Row("function (on_done)", nclosures, 144 * nclosures);
    m_.Row("dict", 3, 1464);
  }

  void Open(int rows = 24, int cols = 80, uint32_t start = BR_NONE) {
    d_ = m_.View();
    ASSERT_EQ(graph_build(&g_, d_), 0);
    ASSERT_EQ(dom_compute(&g_, &dom_), 0);
    b_.d = d_;
    b_.g = &g_;
    b_.dom = &dom_;
    b_.path = "/tmp/x/app.dump";
    ASSERT_EQ(br_open(&b_, rows, cols, start), 0);
  }

  void TearDown() override {
    br_close(&b_);
    br_screen_free(&s_);
    dom_free(&dom_);
    graph_free(&g_);
  }

  // The index of the object made as number k (Mem gives ascending
  // addresses, so the View's order is the making order).
  std::vector<std::string> Screen() {
    EXPECT_EQ(br_render(&b_, &s_), 0);
    std::vector<std::string> lines;
    for (int y = 0; y < s_.rows; y++) lines.push_back(text_cstr(&s_.line[y]));
    return lines;
  }
  std::string Text() {
    std::string all;
    for (auto &l : Screen()) all += l + "\n";
    return all;
  }
  void Keys(const std::string &keys) {
    for (char c : keys) {
      int k = c == '\n' ? (int)BR_KEY_ENTER : c == '<' ? (int)BR_KEY_LEFT : (int)c;
      ASSERT_EQ(br_key(&b_, k), 0) << c;
    }
  }
  br_page *Top() { return &b_.pages[b_.npages - 1]; }

  Mem m_;
  const fmt_dump *d_ = nullptr;
  graph g_{};
  dom_tree dom_{};
  br b_{};
  br_screen s_{};
  uint32_t mod_ = 0, dict_ = 0, list_ = 0, target_ = 0;
};

TEST_F(Browse, ClosuresOfOneKindAreOneRowThatOpens) {
  Build(8000);
  Open(24, 80, 3);  // the Request: object 3 in making order
  ASSERT_EQ(Top()->view, BR_REFERRERS);
  std::string t = Text();
  // 8000 cells hold it: one row; the two dicts are rows of their own.
  EXPECT_NE(t.find(".<cell 'req'>  cell x 8000"), std::string::npos) << t;
  EXPECT_NE(t.find("['current']  dict "), std::string::npos) << t;
  EXPECT_EQ(Top()->nrows, 3u);
  // The group row is first (retained), Enter lists its members.
  Keys("g\n");
  ASSERT_EQ(Top()->view, BR_GROUP);
  EXPECT_EQ(Top()->nrows, 8000u);
  t = Text();
  EXPECT_NE(t.find("cell x 8000"), std::string::npos) << t;
  EXPECT_NE(t.find(" 1/8000"), std::string::npos) << t;
  // Enter on a member: its referrers (the way up): one closure.
  Keys("\n");
  ASSERT_EQ(Top()->view, BR_REFERRERS);
  t = Text();
  EXPECT_NE(t.find(".__closure__  function (on_done)"), std::string::npos)
      << t;
  // Back twice: the group page, then the first page at its row.
  Keys("<<");
  EXPECT_EQ(Top()->view, BR_REFERRERS);
  EXPECT_EQ(Top()->cursor, 0u);
  EXPECT_EQ(b_.npages, 2u);
}

TEST_F(Browse, FewChildrenOfOneKindAreListedOneByOne) {
  Build(BR_GROUP_MIN - 1);
  Open(24, 80, 3);
  std::string t = Text();
  EXPECT_EQ(t.find(" x "), std::string::npos) << t;
  EXPECT_EQ(Top()->nrows, (size_t)BR_GROUP_MIN - 1 + 2);
}

TEST_F(Browse, PathIsOnePythonExpression) {
  Build(5);
  Open(24, 80, 3);
  // Down to the first dict row, then p.
  size_t k = 0;
  while (k < Top()->nrows && Top()->rows[k].obj == BR_NONE) k++;
  ASSERT_LT(k, Top()->nrows);
  for (size_t i = 0; i < k; i++) Keys("j");
  Keys("p");
  ASSERT_EQ(Top()->view, BR_PATH);
  std::string t = Text();
  EXPECT_NE(t.find("\nsys.modules['app'].config "), std::string::npos) << t;
  EXPECT_NE(t.find("module(app)"), std::string::npos) << t;
  // The cursor is on the object itself, the last step.
  EXPECT_EQ(Top()->cursor, Top()->nrows - 1);
}

TEST_F(Browse, DominatorTreeOpensLevelByLevel) {
  Build(10);
  Open();
  Keys("D");
  ASSERT_EQ(Top()->view, BR_DOMINATORS);
  // The module is the only root: it alone is at the top.
  ASSERT_EQ(Top()->nrows, 1u);
  EXPECT_EQ(Top()->rows[0].obj, mod_);
  uint64_t all = 0;
  for (uint64_t i = 0; i < d_->nobjects; i++) all += d_->obj_size[i];
  EXPECT_EQ(Top()->rows[0].retained, all);
  Keys("\n");  // what the module dominates: its dict
  ASSERT_EQ(Top()->view, BR_DOMINATORS);
  ASSERT_EQ(Top()->nrows, 1u);
  EXPECT_EQ(Top()->rows[0].obj, dict_);
  Keys("\n");  // the dict: the list, two dicts, and the shared Request
  EXPECT_EQ(Top()->nrows, 4u);
  EXPECT_EQ(Top()->rows[0].obj, list_);  // largest retained first
  std::string t = Text();
  EXPECT_NE(t.find("['registry']  list"), std::string::npos) << t;
  Keys("\n");  // the list: ten closures, one row
  ASSERT_EQ(Top()->nrows, 1u);
  EXPECT_EQ(Top()->rows[0].n, 10u);
  EXPECT_NE(Text().find("function (on_done) x 10"), std::string::npos);
}

TEST_F(Browse, SortCyclesAndKeepsTheCursorOnItsObject) {
  Build(10);
  Open(24, 80, 3);
  Keys("j");
  uint32_t at = Top()->rows[Top()->cursor].obj;
  enum br_sort before = Top()->sort;
  Keys("s");
  EXPECT_NE(Top()->sort, before);
  EXPECT_EQ(Top()->rows[Top()->cursor].obj, at);
  EXPECT_NE(std::string(b_.message).find("sorted by"), std::string::npos);
  for (int k = 0; k < BR_NSORTS; k++) Keys("s");
  EXPECT_EQ(Top()->rows[Top()->cursor].obj, at);
}

TEST_F(Browse, SearchByAddressShortTypeNameAndRowName) {
  Build(6);
  Open();
  char q[64];
  snprintf(q, sizeof q, "/0x%llx\n",
           (unsigned long long)d_->obj_addr[target_]);
  Keys(q);
  ASSERT_EQ(Top()->view, BR_REFERRERS);
  EXPECT_EQ(Top()->subject, target_);
  Keys("/Request\n");  // short for app.Request
  ASSERT_EQ(Top()->view, BR_INSTANCES);
  EXPECT_EQ(Top()->nrows, 1u);
  Keys("/function (on_done)\n");  // a summary row's name
  ASSERT_EQ(Top()->view, BR_INSTANCES);
  EXPECT_EQ(Top()->nrows, 6u);
  size_t pages = b_.npages;
  Keys("/nothing\n");
  EXPECT_EQ(b_.npages, pages);
  EXPECT_NE(std::string(b_.message).find("no type or object 'nothing'"),
            std::string::npos);
  Keys("/0x1\n");
  EXPECT_NE(std::string(b_.message).find("no object at 0x1"),
            std::string::npos);
  // Esc leaves a search without doing it.
  Keys("/dict");
  ASSERT_EQ(br_key(&b_, BR_KEY_ESC), 0);
  EXPECT_EQ(b_.npages, pages);
  EXPECT_FALSE(b_.prompting);
}

TEST_F(Browse, SummaryOpensInstancesOfItsRow) {
  Build(7);
  Open();
  ASSERT_EQ(Top()->view, BR_SUMMARY);
  std::string t = Text();
  EXPECT_NE(t.find("function (on_done)"), std::string::npos) << t;
  // Sorted by size: the dicts (1464 B) before the closures (1008 B).
  EXPECT_EQ(Top()->rows[0].ref, 1u);
  EXPECT_EQ(Top()->rows[1].ref, 0u);
  Keys("j\n");
  ASSERT_EQ(Top()->view, BR_INSTANCES);
  EXPECT_EQ(Top()->nrows, 7u);
  // The status line: type, address, size, retained, refcount, label.
  auto lines = Screen();
  const std::string &status = lines[lines.size() - 2];
  EXPECT_EQ(status.rfind("function 0x", 0), 0u) << status;
  EXPECT_NE(status.find("size 144 B retained 184 B refcnt 1 label "
                        "'on_done'"), std::string::npos) << status;
}

TEST_F(Browse, EveryLineIsAsWideAsTheScreenAtAnySize) {
  Build(20);
  for (int cols : {20, 37, 80, 200}) {
    for (int rows : {3, 5, 24, 60}) {
      br_close(&b_);
      b_ = br{};
      b_.d = d_;
      Open(rows, cols, 3);
      for (const char *keys : {"", "D", "p", "?", "t", "f", "/0x"}) {
        Keys(keys);
        auto lines = Screen();
        ASSERT_EQ((int)lines.size(), rows);
        for (auto &l : lines)
          EXPECT_EQ(text_width(l.data(), l.size()), (size_t)cols)
              << rows << "x" << cols << " after '" << keys << "': " << l;
      }
      dom_free(&dom_);
      graph_free(&g_);
    }
  }
}

TEST_F(Browse, ResizeFollowsAndTheCursorStaysVisible) {
  Build(100);
  Open(24, 80);
  Keys("/function\n");
  for (int k = 0; k < 50; k++) Keys("j");
  br_resize(&b_, 10, 60);
  auto lines = Screen();
  ASSERT_EQ(lines.size(), 10u);
  bool cursor_shown = false;
  for (int y = 0; y < s_.rows; y++)
    cursor_shown |= s_.attr[y] == BR_ATTR_CURSOR;
  EXPECT_TRUE(cursor_shown);
  EXPECT_NE(lines[0].find(" 51/100"), std::string::npos) << lines[0];
}

TEST_F(Browse, BackOnTheFirstPageAndQuit) {
  Build(3);
  Open();
  Keys("<");
  EXPECT_EQ(b_.npages, 1u);
  EXPECT_NE(std::string(b_.message).find("first page"), std::string::npos);
  Keys("Z");
  EXPECT_NE(std::string(b_.message).find("unknown key"), std::string::npos);
  EXPECT_FALSE(b_.quit);
  Keys("q");
  EXPECT_TRUE(b_.quit);
}

TEST_F(Browse, NoLeaksWithoutOlderDumpsSaysSo) {
  Build(3);
  Open();
  Keys("L");
  EXPECT_EQ(b_.npages, 1u);
  EXPECT_NE(std::string(b_.message).find("give older dumps"),
            std::string::npos);
}

}  // namespace
