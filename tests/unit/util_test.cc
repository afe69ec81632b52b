// util_test.cc - the declared options of tools/util.h (util_parse_command,
// util_parse_series): every kind stores what it should, defaults stay
// when an option is absent, and every error is one usage message with
// exit status 2 (the commands' own tests check their exact lines too).
#include <gtest/gtest.h>

#include <stdio.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "tools/util.h"

namespace {

// Runs util_parse_command on {"cmd", args...} with stdout and stderr
// captured.
struct Parsed {
  int go = 0, status = -1;
  std::string out, err;
};

std::string Slurp(FILE *f) {
  std::string s;
  rewind(f);
  int c;
  while ((c = fgetc(f)) != EOF) s += (char)c;
  return s;
}

// Parsed values are borrowed from argv, so the arguments live as long as
// the test program.
std::deque<std::string> &Kept() {
  static std::deque<std::string> kept;
  return kept;
}

template <typename F>
Parsed Capture(std::vector<std::string> args, F parse) {
  args.insert(args.begin(), "cmd");
  std::vector<char *> argv;
  for (auto &a : args) {
    Kept().push_back(a);
    argv.push_back(&Kept().back()[0]);
  }
  argv.push_back(nullptr);
  FILE *o = tmpfile(), *e = tmpfile();
  fflush(stdout);
  fflush(stderr);
  int save1 = dup(1), save2 = dup(2);
  dup2(fileno(o), 1);
  dup2(fileno(e), 2);
  Parsed p;
  p.go = parse((int)args.size(), argv.data(), &p.status);
  fflush(stdout);
  fflush(stderr);
  dup2(save1, 1);
  dup2(save2, 2);
  close(save1);
  close(save2);
  p.out = Slurp(o);
  p.err = Slurp(e);
  fclose(o);
  fclose(e);
  return p;
}

const char kSyn[] = "cmd DUMP [options]";
const char kHelp[] = "usage: cmd DUMP [options]\n";

enum { RED = 10, GREEN = 20, BLUE = 30 };

struct Args {
  const char *file = nullptr, *name = nullptr;
  int flag = 0, off = 1, colour = RED, pair = 1;
  uint64_t limit = 7;
  int64_t depth = -1, size = -1;
  double secs = 2.5;
  enum util_format format = UTIL_FORMAT_TEXT;
};

Parsed ParseArgs(std::vector<std::string> args, Args *a) {
  return Capture(args, [a](int argc, char **argv, int *status) {
    static const struct util_choice colours[] = {
        {"red", RED, 0}, {"green", GREEN, 0}, {"g", GREEN, 1},
        {"blue", BLUE, 0}, {nullptr, 0, 0}};
    static const struct util_choice pairs[] = {
        {"on", 1, 0}, {"off", 0, 0}, {nullptr, 0, 0}};
    const struct util_option opts[] = {
        UTIL_OPT_SET("flag", 'v', &a->flag, 1),
        UTIL_OPT_SET("no-off", 0, &a->off, 0),
        UTIL_OPT_STRING("name", 't', &a->name),
        UTIL_OPT_UINT("limit", 'n', &a->limit, 1, 100),
        UTIL_OPT_INT("depth", 0, &a->depth, -5, 5),
        UTIL_OPT_SIZE("size", 0, &a->size),
        UTIL_OPT_SECONDS("timeout", 0, &a->secs),
        UTIL_OPT_CHOICE("colour", 'c', &a->colour, colours),
        UTIL_OPT_CHOICE("pair", 0, &a->pair, pairs),
        UTIL_OPT_FORMAT(&a->format, UTIL_FORMAT_TEXT | UTIL_FORMAT_CSV),
        UTIL_OPTIONS_END,
    };
    const struct util_command c = {kSyn, kHelp, opts, &a->file, 1, 1,
                                   "a dump file is needed", nullptr, nullptr};
    return util_parse_command(&c, argc, argv, status);
  });
}

std::string Usage(const std::string &msg) {
  return "muppy: error: " + msg + "\nusage: " + kSyn +
         "\nsee 'muppy --help'\n";
}

TEST(UtilOptions, DefaultsStayWhenNothingIsGiven) {
  Args a;
  Parsed p = ParseArgs({"d.dump"}, &a);
  ASSERT_EQ(p.go, 1) << p.err;
  EXPECT_EQ(p.status, 0);
  EXPECT_STREQ(a.file, "d.dump");
  EXPECT_EQ(a.name, nullptr);
  EXPECT_EQ(a.flag, 0);
  EXPECT_EQ(a.off, 1);
  EXPECT_EQ(a.limit, 7u);
  EXPECT_EQ(a.depth, -1);
  EXPECT_EQ(a.colour, RED);
  EXPECT_EQ(a.secs, 2.5);
  EXPECT_EQ(a.format, UTIL_FORMAT_TEXT);
  EXPECT_EQ(p.out + p.err, "");
}

TEST(UtilOptions, EveryKindStoresItsValue) {
  Args a;
  Parsed p = ParseArgs({"--flag", "--no-off", "-t", "Foo", "--limit=100",
                        "--depth", "-5", "--size", "64K", "--timeout", "0.5",
                        "-c", "g", "--pair", "off", "d.dump", "--format",
                        "csv"},
                       &a);
  ASSERT_EQ(p.go, 1) << p.err;
  EXPECT_STREQ(a.file, "d.dump");
  EXPECT_EQ(a.flag, 1);
  EXPECT_EQ(a.off, 0);
  EXPECT_STREQ(a.name, "Foo");
  EXPECT_EQ(a.limit, 100u);
  EXPECT_EQ(a.depth, -5);
  EXPECT_EQ(a.size, 65536);
  EXPECT_EQ(a.secs, 0.5);
  EXPECT_EQ(a.colour, GREEN);  // through its alias
  EXPECT_EQ(a.pair, 0);
  EXPECT_EQ(a.format, UTIL_FORMAT_CSV);
}

TEST(UtilOptions, HelpGoesToStdoutAndStops) {
  Args a;
  Parsed p = ParseArgs({"--limit", "3", "-h", "d.dump"}, &a);
  EXPECT_EQ(p.go, 0);
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.out, kHelp);
  EXPECT_EQ(p.err, "");
}

TEST(UtilOptions, EachErrorIsOneUsageMessage) {
  const struct {
    std::vector<std::string> args;
    std::string msg;
  } cases[] = {
      {{}, "a dump file is needed"},
      {{"a", "b"}, "unexpected argument 'b'"},
      {{"a", "--limit", "0"}, "--limit: '0' is not an integer from 1 to 100"},
      {{"a", "--limit", "x"}, "--limit: 'x' is not an integer from 1 to 100"},
      {{"a", "--depth", "6"}, "--depth: '6' is not an integer from -5 to 5"},
      {{"a", "--colour", "pink"},
       "--colour: 'pink' is not one of red, green, blue"},
      {{"a", "--pair", "maybe"}, "--pair: 'maybe' is not on or off"},
      {{"a", "--format", "json"},
       "--format: 'json' is not one of the formats this command writes"},
      {{"a", "--flag=1"}, "option '--flag=1' takes no value"},
      {{"a", "--limit"}, "option '--limit' needs a value"},
      {{"a", "--nope"}, "unknown option '--nope'"},
      {{"a", "-x"}, "unknown option '-x'"},
  };
  for (const auto &c : cases) {
    Args a;
    Parsed p = ParseArgs(c.args, &a);
    EXPECT_EQ(p.go, 0) << c.msg;
    EXPECT_EQ(p.status, MUPPY_EXIT_USAGE) << c.msg;
    EXPECT_EQ(p.out, "") << c.msg;
    EXPECT_EQ(p.err, Usage(c.msg));
  }
}

TEST(UtilOptions, OperandsAfterDoubleDashAndNegativeNumbers) {
  Args a;
  Parsed p = ParseArgs({"--", "--limit"}, &a);
  ASSERT_EQ(p.go, 1) << p.err;
  EXPECT_STREQ(a.file, "--limit");
  Args b;
  p = ParseArgs({"-5"}, &b);  // a negative number is an operand
  ASSERT_EQ(p.go, 1) << p.err;
  EXPECT_STREQ(b.file, "-5");
}

Parsed ParseSeries(std::vector<std::string> args, struct util_series *s,
                   std::vector<const char *> *room, size_t max,
                   const char *too_many) {
  room->assign(args.size() + 1, nullptr);
  s->files = room->data();
  return Capture(args, [&](int argc, char **argv, int *status) {
    return util_parse_series(argc, argv, kSyn, kHelp, max, too_many, s,
                             status);
  });
}

TEST(UtilOptions, SeriesOfDumps) {
  std::vector<const char *> room;
  struct util_series s = {};
  s.limit = 15;
  Parsed p = ParseSeries({"a", "b", "c", "-n", "4"}, &s, &room, 10, nullptr);
  ASSERT_EQ(p.go, 1) << p.err;
  EXPECT_EQ(s.nfiles, 3);
  EXPECT_STREQ(s.files[2], "c");
  EXPECT_EQ(s.limit, 4u);
  EXPECT_EQ(s.format, UTIL_FORMAT_TEXT);
  struct util_series one = {};
  p = ParseSeries({"a"}, &one, &room, 10, nullptr);
  EXPECT_EQ(p.go, 0);
  EXPECT_EQ(p.err, Usage("at least two dumps are needed (oldest first)"));
  struct util_series many = {};
  p = ParseSeries({"a", "b", "c"}, &many, &room, 2, "too many dumps");
  EXPECT_EQ(p.status, MUPPY_EXIT_USAGE);
  EXPECT_EQ(p.err, Usage("too many dumps"));
}

}  // namespace
