// common_text_test.cc - common/text and common/pympler, the text both the
// shim's Python module and the tool print: growable strings, character
// counts, Pympler's sizes, table lines and tree drawing (over a tree of
// test nodes, with failing callbacks too).
#include <gtest/gtest.h>

#include <string.h>

#include <string>
#include <vector>

#include "common/pympler.h"
#include "common/text.h"

namespace {

TEST(Text, AppendsAndStaysTerminated) {
  text_buf b = {};
  EXPECT_STREQ(text_cstr(&b), "");
  text_add(&b, "ab", 2);
  text_str(&b, "cd");
  text_pad(&b, 3);
  text_addf(&b, "%d-%s", 42, "x");
  EXPECT_STREQ(b.s, "abcd   42-x");
  EXPECT_EQ(b.len, strlen(b.s));
  EXPECT_EQ(b.oom, 0);
  text_free(&b);
  EXPECT_EQ(b.s, nullptr);
  EXPECT_EQ(b.len, 0u);
}

TEST(Text, LongFormattedTextIsWhole) {
  // Past the 256-byte stack buffer of text_addf.
  std::string big(5000, 'q');
  text_buf b = {};
  text_addf(&b, "<%s>", big.c_str());
  ASSERT_EQ(b.len, big.size() + 2);
  EXPECT_EQ(std::string(b.s), "<" + big + ">");
  text_free(&b);
}

TEST(Text, EmbeddedNulBytesAreKept) {
  text_buf b = {};
  text_add(&b, "a\0b", 3);
  EXPECT_EQ(b.len, 3u);
  EXPECT_EQ(memcmp(b.s, "a\0b", 4), 0);
  text_free(&b);
}

TEST(Text, AfterOomNothingIsAdded) {
  text_buf b = {};
  text_str(&b, "kept");
  b.oom = 1;  // as after a failed realloc
  text_str(&b, "dropped");
  text_pad(&b, 4);
  text_addf(&b, "%s", "dropped");
  EXPECT_STREQ(b.s, "kept");
  text_free(&b);
}

TEST(Text, WidthCountsCodePoints) {
  EXPECT_EQ(text_width("", 0), 0u);
  EXPECT_EQ(text_width("dict", 4), 4u);
  EXPECT_EQ(text_width("Caf\xc3\xa9", 5), 4u);
  EXPECT_EQ(text_width("\xe2\x82\xac\xf0\x9f\x98\x80", 7), 2u);
  EXPECT_EQ(text_width("a\0b", 3), 3u);
}

std::string Size(int64_t v) {
  char buf[PYM_SIZE_LEN];
  return pym_size(v, buf);
}

std::string SizeF(double v) {
  char buf[PYM_SIZE_LEN];
  return pym_size_float(v, buf);
}

TEST(PymplerSize, IntsAndFloatsReadTheSame) {
  EXPECT_EQ(Size(1024), "1024     B");
  EXPECT_EQ(Size(1025), "   1.00 KB");
  EXPECT_EQ(Size(-5), "  -5     B");
  EXPECT_EQ(SizeF(1024.0), "1024     B");
  EXPECT_EQ(SizeF(1025.0), "   1.00 KB");
  EXPECT_EQ(SizeF(12.9), "  12     B");   // "%4d" % 12.9 truncates
  EXPECT_EQ(SizeF(-3.5), "  -3     B");
  EXPECT_EQ(SizeF(1e30), "888178419700125.25 EB");  // past EB: stays EB
}

TEST(PymplerSize, FloatEdgesAreDefined) {
  // Not Pympler's (it raises): defined text instead of undefined casts
  // (UBSan checks the conversion in the sanitizer run).
  EXPECT_EQ(SizeF(__builtin_nan("")), "   0     B");
  EXPECT_EQ(SizeF(-1e300), "-9200000000000000000     B");
}

std::string Row(std::vector<const char *> cells, const size_t *w,
                const char *align) {
  text_buf b = {};
  pym_table_row(&b, cells.size(), cells.data(), w, align);
  std::string s = text_cstr(&b);
  text_free(&b);
  return s;
}

TEST(PymplerTable, WidthsAlignAndBorder) {
  const char *header[3] = {"types", "# objects", "total size"};
  const char *row[3] = {"Caf\xc3\xa9", "7", "  12     B"};
  size_t w[3];
  pym_table_start(w, 3, header);
  pym_table_measure(w, 3, row);
  EXPECT_EQ(w[0], 7u);   // "types" + 2; the row's 4 characters are fewer
  EXPECT_EQ(w[1], 11u);
  EXPECT_EQ(w[2], 12u);
  EXPECT_EQ(Row({header[0], header[1], header[2]}, w, nullptr),
            "  types |   # objects |   total size");
  EXPECT_EQ(Row({row[0], row[1], row[2]}, w, "lrl"),
            "Caf\xc3\xa9    |           7 |   12     B");
  text_buf b = {};
  pym_table_border(&b, 3, w);
  EXPECT_STREQ(b.s, "======= | =========== | ============");
  text_free(&b);
  // An empty left-justified last cell leaves no trailing blank.
  EXPECT_EQ(Row({"a", ""}, w, "rl"), "      a |");
}

TEST(PymplerTable, CellsWithNulBytesKeepTheirLength) {
  const char *cells[2] = {"a\0b", "c"};
  const size_t lens[2] = {3, 1};
  const size_t w[2] = {5, 3};
  text_buf b = {};
  pym_table_row_n(&b, 2, cells, lens, w, nullptr);
  EXPECT_EQ(std::string(b.s, b.len), std::string("  a\0b |   c", 11));
  text_free(&b);
}

// A tree of test nodes for pym_tree_print.
struct Node {
  std::string label;
  std::vector<Node> kids;
};

struct Ctx {
  std::string out;
  int fail_label_of = -1;   // label callback fails on this node's number
  int fail_line_after = -1; // line callback fails after this many lines
  int labels = 0, lines = 0, held = 0;
};

int NChildren(void *, const void *node, size_t *n) {
  *n = static_cast<const Node *>(node)->kids.size();
  return 0;
}

int Label(void *ctx, const void *node, text_buf *b) {
  Ctx *c = static_cast<Ctx *>(ctx);
  if (c->labels++ == c->fail_label_of) return -1;
  text_str(b, static_cast<const Node *>(node)->label.c_str());
  return 0;
}

int Child(void *ctx, const void *node, size_t i, const void **child) {
  static_cast<Ctx *>(ctx)->held++;
  *child = &static_cast<const Node *>(node)->kids[i];
  return 0;
}

void Release(void *ctx, const void *) { static_cast<Ctx *>(ctx)->held--; }

int Line(void *ctx, const char *s, size_t n) {
  Ctx *c = static_cast<Ctx *>(ctx);
  if (c->lines++ == c->fail_line_after) return -1;
  c->out.append(s, n);
  c->out += "\n";
  return 0;
}

int Print(const Node &root, long maxdepth, Ctx *c) {
  pym_tree t = {};
  t.ctx = c;
  t.maxdepth = maxdepth;
  t.nchildren = NChildren;
  t.label = Label;
  t.child = Child;
  t.release = Release;
  t.line = Line;
  return pym_tree_print(&t, &root);
}

Node Seed() {
  // The tree of docs' example (pympler-formats: refbrowser tree text).
  return Node{"<class 'str'>",
              {Node{"<class 'list'>", {Node{"<class 'dict'>", {}}}},
               Node{"<class 'tuple'>", {Node{"<class 'dict'>", {}}}},
               Node{"<class 'dict'>",
                    {Node{"<class 'function'>", {}},
                     Node{"<class 'module'>", {}}}},
               Node{"<class 'list'>", {}}}};
}

TEST(PymplerTree, DrawsAsStreamBrowserDoes) {
  Ctx c;
  ASSERT_EQ(Print(Seed(), 3, &c), 0);
  EXPECT_EQ(c.out,
            "<class 'str'>-+-<class 'list'>--<class 'dict'>\n"
            "              +-<class 'tuple'>--<class 'dict'>\n"
            "              +-<class 'dict'>-+-<class 'function'>\n"
            "              |                +-<class 'module'>\n"
            "              |\n"
            "              +-<class 'list'>\n");
  EXPECT_EQ(c.held, 0);  // every child handle released
}

TEST(PymplerTree, MaxdepthCutsAndWideLabelsAlign) {
  Ctx c;
  ASSERT_EQ(Print(Seed(), 1, &c), 0);
  EXPECT_EQ(c.out,
            "<class 'str'>-+-<class 'list'>\n"
            "              +-<class 'tuple'>\n"
            "              +-<class 'dict'>\n"
            "              +-<class 'list'>\n");
  Ctx z;
  ASSERT_EQ(Print(Seed(), 0, &z), 0);
  EXPECT_EQ(z.out, "<class 'str'>\n");
  // Continuation columns count characters, not bytes.
  Node u{"\xc3\xa9t\xc3\xa9", {Node{"a", {}}, Node{"b", {}}}};
  Ctx cu;
  ASSERT_EQ(Print(u, 3, &cu), 0);
  EXPECT_EQ(cu.out, "\xc3\xa9t\xc3\xa9-+-a\n    +-b\n");
}

TEST(PymplerTree, CallbackFailuresStopAndRelease) {
  for (int k = 0; k < 9; k++) {
    Ctx c;
    c.fail_label_of = k;
    EXPECT_EQ(Print(Seed(), 3, &c), -1) << k;
    EXPECT_EQ(c.held, 0) << k;
  }
  for (int k = 0; k < 6; k++) {
    Ctx c;
    c.fail_line_after = k;
    EXPECT_EQ(Print(Seed(), 3, &c), -1) << k;
    EXPECT_EQ(c.held, 0) << k;
    EXPECT_EQ(c.lines, k + 1) << k;  // nothing printed after the failure
  }
}

}  // namespace
