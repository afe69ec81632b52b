// table_test.cc - unit tests of tools/table.[ch]: Pympler's size text
// (stringutils.pp), its summary table (summary.format_/_format_table),
// stable sorting, and csv/json escaping, against literal expected text.
//
// The expected tables were produced by Pympler 1.1's own format_/pp code
// (pympler/summary.py, pympler/util/stringutils.py) on the same rows, so
// a difference of one space here is a difference from Pympler.
#include <gtest/gtest.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "common/pympler.h"
#include "common/text.h"
#include "tools/table.h"

namespace {

std::string Size(int64_t v) {
  char buf[PYM_SIZE_LEN];
  return pym_size(v, buf);
}

// Runs f(FILE *) on an in-memory stream and returns what it wrote.
template <typename F>
std::string Capture(F f) {
  char *buf = nullptr;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  EXPECT_NE(m, nullptr);
  f(m);
  fclose(m);
  std::string s(buf, len);
  free(buf);
  return s;
}

std::string Summary(std::vector<tbl_row> rows, size_t limit = 15,
                    tbl_sort sort = TBL_SORT_SIZE, int descending = 1,
                    tbl_output out = TBL_OUT_TEXT) {
  tbl_summary_opts o = {limit, sort, descending, out};
  return Capture([&](FILE *m) {
    EXPECT_EQ(tbl_print_summary(m, rows.data(), rows.size(), &o), 0);
  });
}

TEST(TableSize, SmallValuesInBytes) {
  EXPECT_EQ(Size(0), "   0     B");
  EXPECT_EQ(Size(1), "   1     B");
  EXPECT_EQ(Size(280), " 280     B");
  EXPECT_EQ(Size(1024), "1024     B");  // pp: `while i > base`, not >=
}

TEST(TableSize, KilobytesAndUp) {
  EXPECT_EQ(Size(1025), "   1.00 KB");
  EXPECT_EQ(Size(14600), "  14.26 KB");
  EXPECT_EQ(Size(999999), " 976.56 KB");
  EXPECT_EQ(Size(1048575), "1024.00 KB");  // rounds up, stays in KB
  EXPECT_EQ(Size(1048576), "1024.00 KB");  // 1 MiB is not > 1024 KiB
  EXPECT_EQ(Size(1048577), "   1.00 MB");
  EXPECT_EQ(Size(1610612736), "   1.50 GB");
  EXPECT_EQ(Size(5497558138880LL), "   5.00 TB");
}

TEST(TableSize, PetabytesPrintAsEBLikePympler) {
  // Pympler's unit list is B KB MB GB TB EB: no PB.
  EXPECT_EQ(Size(1125899906842624LL), "1024.00 TB");
  EXPECT_EQ(Size(3377699720527879LL), "   3.00 EB");
  // Past 1024**6 Pympler raises IndexError; we stay at EB.
  EXPECT_EQ(Size(INT64_MAX), "8192.00 EB");
}

TEST(TableSize, NegativeValuesStayInBytes) {
  EXPECT_EQ(Size(-1), "  -1     B");
  EXPECT_EQ(Size(-560), "-560     B");
  EXPECT_EQ(Size(-14600), "-14600     B");
  EXPECT_EQ(Size(-1099511627776LL), "-1099511627776     B");
}

TEST(TableWidth, CountsCharactersNotBytes) {
  EXPECT_EQ(text_width("", strlen("")), 0u);
  EXPECT_EQ(text_width("dict", strlen("dict")), 4u);
  EXPECT_EQ(text_width("Caf\xc3\xa9", strlen("Caf\xc3\xa9")), 4u);
  EXPECT_EQ(text_width("\xe2\x82\xac\xf0\x9f\x98\x80", strlen("\xe2\x82\xac\xf0\x9f\x98\x80")), 2u);
}

TEST(TableSummary, PymplerFormatsExample) {
  // pympler-formats.md's example is cut from a longer table: its columns
  // are 23 wide, so a 21-character name follows below the three rows it
  // shows.  With such a row added, its lines come out byte for byte.
  std::string out = Summary({{"list", 2, 272},
                             {"type", 1, 1690},
                             {"__main__.Foo", 10, 560},
                             {"abcdefghijklmnopqrstu", 1, 16}});
  EXPECT_EQ(out,
            "                  types |   # objects |   total size\n"
            "======================= | =========== | ============\n"
            "                   type |           1 |      1.65 KB\n"
            "           __main__.Foo |          10 |    560     B\n"
            "                   list |           2 |    272     B\n"
            "  abcdefghijklmnopqrstu |           1 |     16     B\n");
}

TEST(TableSummary, ExampleExactly) {
  EXPECT_EQ(Summary({{"list", 2, 272}, {"type", 1, 1690},
                     {"__main__.Foo", 10, 560}}),
            "         types |   # objects |   total size\n"
            "============== | =========== | ============\n"
            "          type |           1 |      1.65 KB\n"
            "  __main__.Foo |          10 |    560     B\n"
            "          list |           2 |    272     B\n");
}

TEST(TableSummary, EmptyTableIsHeaderAndBorder) {
  EXPECT_EQ(Summary({}),
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n");
}

TEST(TableSummary, DescendingKeepsTiesInInputOrder) {
  // Python's sort(reverse=True) is stable: a, b, c keep their order.
  EXPECT_EQ(Summary({{"a", 1, 100}, {"b", 2, 100}, {"c", 3, 100},
                     {"d", 4, 200}}),
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n"
            "      d |           4 |    200     B\n"
            "      a |           1 |    100     B\n"
            "      b |           2 |    100     B\n"
            "      c |           3 |    100     B\n");
}

TEST(TableSummary, AscendingBySize) {
  EXPECT_EQ(Summary({{"a", 1, 100}, {"b", 2, 100}, {"c", 3, 100},
                     {"d", 4, 200}}, 15, TBL_SORT_SIZE, 0),
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n"
            "      a |           1 |    100     B\n"
            "      b |           2 |    100     B\n"
            "      c |           3 |    100     B\n"
            "      d |           4 |    200     B\n");
}

TEST(TableSummary, ByCountStable) {
  EXPECT_EQ(Summary({{"a", 3, 100}, {"b", 2, 100}, {"c", 3, 100},
                     {"d", 4, 200}}, 15, TBL_SORT_COUNT),
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n"
            "      d |           4 |    200     B\n"
            "      a |           3 |    100     B\n"
            "      c |           3 |    100     B\n"
            "      b |           2 |    100     B\n");
}

TEST(TableSummary, LongAndNonAsciiNamesWidenTheColumn) {
  EXPECT_EQ(
      Summary({{"frame (codename: a_rather_long_function_name_for_width)", 1,
                488},
               {"int", -3, -84},
               {"list", 0, 384},
               {"Caf\xc3\xa9", 1, 1048575}}),
      "                                                    types |   # "
      "objects |   total size\n"
      "========================================================= | "
      "=========== | ============\n"
      "                                                     Caf\xc3\xa9 |    "
      "       1 |   1024.00 KB\n"
      "  frame (codename: a_rather_long_function_name_for_width) |           "
      "1 |    488     B\n"
      "                                                     list |           "
      "0 |    384     B\n"
      "                                                      int |          "
      "-3 |    -84     B\n");
}

std::vector<tbl_row> TwentyRows(std::vector<std::string> *names) {
  std::vector<tbl_row> rows;
  names->clear();
  for (int i = 0; i < 20; i++) names->push_back("r" + std::to_string(i));
  for (int i = 0; i < 20; i++)
    rows.push_back({(*names)[i].c_str(), i, i * 1000});
  return rows;
}

TEST(TableSummary, DefaultLimitIsFifteen) {
  std::vector<std::string> names;
  std::string out = Summary(TwentyRows(&names));
  EXPECT_EQ(out,
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n"
            "    r19 |          19 |     18.55 KB\n"
            "    r18 |          18 |     17.58 KB\n"
            "    r17 |          17 |     16.60 KB\n"
            "    r16 |          16 |     15.62 KB\n"
            "    r15 |          15 |     14.65 KB\n"
            "    r14 |          14 |     13.67 KB\n"
            "    r13 |          13 |     12.70 KB\n"
            "    r12 |          12 |     11.72 KB\n"
            "    r11 |          11 |     10.74 KB\n"
            "    r10 |          10 |      9.77 KB\n"
            "     r9 |           9 |      8.79 KB\n"
            "     r8 |           8 |      7.81 KB\n"
            "     r7 |           7 |      6.84 KB\n"
            "     r6 |           6 |      5.86 KB\n"
            "     r5 |           5 |      4.88 KB\n");
}

TEST(TableSummary, LimitZeroMeansAll) {
  std::vector<std::string> names;
  std::string out = Summary(TwentyRows(&names), 0);
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 22u);  // header, border, 20 rows
}

TEST(TableSummary, ByTypeAscendingWithLimit) {
  // Widths come from the printed rows only (Pympler limits, then formats).
  std::vector<std::string> names;
  EXPECT_EQ(Summary(TwentyRows(&names), 3, TBL_SORT_TYPE, 0),
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n"
            "     r0 |           0 |      0     B\n"
            "     r1 |           1 |   1000     B\n"
            "    r10 |          10 |      9.77 KB\n");
}

TEST(TableSummary, Json) {
  EXPECT_EQ(Summary({{"list", 2, 272}, {"a\"b", -1, -56}}, 15, TBL_SORT_SIZE,
                    1, TBL_OUT_JSON),
            "[\n"
            "  {\"type\": \"list\", \"count\": 2, \"size\": 272},\n"
            "  {\"type\": \"a\\\"b\", \"count\": -1, \"size\": -56}\n"
            "]\n");
  EXPECT_EQ(Summary({}, 15, TBL_SORT_SIZE, 1, TBL_OUT_JSON), "[]\n");
}

TEST(TableSummary, Csv) {
  EXPECT_EQ(Summary({{"function (f)", 3, 408}, {"a,b", 1, 10},
                     {"q\"x", 1, 5}}, 15, TBL_SORT_SIZE, 1, TBL_OUT_CSV),
            "type,count,size\n"
            "function (f),3,408\n"
            "\"a,b\",1,10\n"
            "\"q\"\"x\",1,5\n");
  EXPECT_EQ(Summary({}, 15, TBL_SORT_SIZE, 1, TBL_OUT_CSV),
            "type,count,size\n");
}

TEST(TableSort, StableOnManyEqualKeys) {
  // Enough rows for several merge passes; equal sizes keep input order.
  std::vector<std::string> names;
  std::vector<tbl_row> rows;
  for (int i = 0; i < 100; i++) names.push_back(std::to_string(i));
  for (int i = 0; i < 100; i++)
    rows.push_back({names[i].c_str(), i, (i % 3) * 10});
  ASSERT_EQ(tbl_sort_rows(rows.data(), rows.size(), TBL_SORT_SIZE, 1), 0);
  for (size_t i = 1; i < rows.size(); i++) {
    ASSERT_GE(rows[i - 1].size, rows[i].size);
    if (rows[i - 1].size == rows[i].size) {
      ASSERT_LT(rows[i - 1].count, rows[i].count) << "at " << i;
    }
  }
}

TEST(TableCsv, QuotesOnlyWhenNeeded) {
  auto f = [](const char *s) {
    return Capture([&](FILE *m) { tbl_csv_field(m, s); });
  };
  EXPECT_EQ(f("plain text"), "plain text");
  EXPECT_EQ(f(""), "");
  EXPECT_EQ(f("a,b"), "\"a,b\"");
  EXPECT_EQ(f("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(f("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(f("cr\r"), "\"cr\r\"");
}

TEST(TableJson, EscapesAndKeepsUtf8) {
  auto f = [](const std::string &s) {
    return Capture([&](FILE *m) { tbl_json_string(m, s.data(), s.size()); });
  };
  EXPECT_EQ(f("dict"), "\"dict\"");
  EXPECT_EQ(f("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(f("\n\t\r\b\f"), "\"\\n\\t\\r\\b\\f\"");
  EXPECT_EQ(f(std::string("\x01\x7f", 2)), "\"\\u0001\\u007f\"");
  EXPECT_EQ(f(std::string("a\0b", 3)), "\"a\\u0000b\"");
  EXPECT_EQ(f("Caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"Caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

TEST(TableJson, InvalidUtf8BecomesByteEscapes) {
  auto f = [](const std::string &s) {
    return Capture([&](FILE *m) { tbl_json_string(m, s.data(), s.size()); });
  };
  EXPECT_EQ(f("\xff"), "\"\\u00ff\"");
  EXPECT_EQ(f("ab\xc3"), "\"ab\\u00c3\"");              // cut sequence
  EXPECT_EQ(f("\xc0\xaf"), "\"\\u00c0\\u00af\"");       // overlong '/'
  EXPECT_EQ(f("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");  // surrogate
  EXPECT_EQ(f("\xf4\x90\x80\x80"),
            "\"\\u00f4\\u0090\\u0080\\u0080\"");  // > U+10FFFF
}

TEST(TableGeneric, LeftAlignedLastColumnHasNoTrailingBlanks) {
  const char *header[3] = {"address", "size", "label"};
  const char *row[3] = {"0x10", "56", "f"};
  size_t w[3];
  pym_table_start(w, 3, header);
  pym_table_measure(w, 3, row);
  std::string out = Capture([&](FILE *m) {
    tbl_print_row(m, 3, header, w, "lrl");
    tbl_print_border(m, 3, w);
    tbl_print_row(m, 3, row, w, "lrl");
  });
  EXPECT_EQ(out,
            "address   |   size | label\n"
            "========= | ====== | =======\n"
            "0x10      |     56 | f\n");
}

}  // namespace
