// cli_test.cc - the `muppy` command line, driven in-process through
// muppy_main() (tools/muppy.h): exit statuses, exact stdout and stderr of
// help, usage errors, info/summary/diff/objects/cat on dumps built here
// with fmt_write, bad dumps of every kind, and run/snap on child
// processes.
//
// Fixtures are built in code (no blobs) and written to $TEST_TMPDIR, or a
// mkdtemp directory when that is unset.  stdout/stderr are captured by
// pointing fds 1 and 2 at files for the duration of one muppy_main call.
// The expected summary/diff tables were produced by Pympler 1.1's
// summary.format_ on the same rows.
#include <gtest/gtest.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "format/dump.h"
#include "tests/unit/test_dump.h"
#include "tools/muppy.h"

namespace {

// ---- fixtures --------------------------------------------------------

// Builds a struct fmt_dump from readable pieces and encodes it.
class DumpBuilder : public TestDump {
 public:
  uint32_t Type(uint64_t addr, const std::string &name) {
    return AddType(addr, name);
  }
  uint32_t Object(uint64_t addr, uint32_t type, uint64_t size,
                  uint64_t refcnt, const std::string &label = "",
                  uint8_t flags = FMT_OBJ_GC_TRACKED) {
    return AddObj(addr, type, size, (int64_t)refcnt, label, flags);
  }
  // The encoded file; graph: FMT_FLAG_GRAPH (+ STRINGS if any strdata).
  std::string Encode(bool graph) {
    std::string out = TestDump::Encode(graph);
    EXPECT_EQ(last_write_rc(), 0) << fmt_strerror(last_write_rc());
    return out;
  }
};

// Dump A: a graph dump with strings, 8 objects of 6 types.
std::string DumpA() {
  DumpBuilder b;
  b.Meta("pid", "4242");
  b.Meta("cmdline", "python3 app.py");
  b.Meta("python", "3.11.7");
  b.Meta("trigger", "signal");
  b.Meta("time", "1763782000.123456");
  b.Meta("rss", "10485760");
  b.Meta("gil_ns", "1234567");
  b.Meta("mode", "graph");
  b.Meta("future_key", "kept");
  uint32_t dict = b.Type(0x1000, "dict");
  uint32_t foo = b.Type(0x2000, "__main__.Foo");
  uint32_t list = b.Type(0x3000, "list");
  uint32_t str = b.Type(0x4000, "str");
  uint32_t fn = b.Type(0x5000, "function");
  uint32_t type = b.Type(0x6000, "type");
  b.Row("dict", 2, 464);
  b.Row("__main__.Foo", 2, 96);
  b.Row("list", 1, 88);
  b.Row("str", 1, 60);
  b.Row("function (f)", 1, 136);
  b.Row("type", 1, 1690);
  uint32_t tfoo = b.Object(0x2000, type, 1690, 5, "__main__.Foo",
                           FMT_OBJ_GC_TRACKED | FMT_OBJ_TYPE);
  uint32_t d1 = b.Object(0x10000, dict, 232, 1);
  uint32_t d2 = b.Object(0x10100, dict, 232, 2);
  uint32_t f1 = b.Object(0x10200, foo, 48, 3);
  b.Object(0x10300, foo, 48, 1);
  uint32_t l = b.Object(0x10400, list, 88, 1);
  uint32_t s = b.Object(0x10500, str, 60, 1, "", 0);
  uint32_t f = b.Object(0x10600, fn, 136, 2, "f");
  b.Edge(f1, d1, FMT_EDGE_NAME(FMT_EDGE_OTHER, b.Str("__dict__")));
  b.Edge(f1, tfoo, FMT_EDGE_NAME(FMT_EDGE_NONE, 0));
  b.Edge(d1, l, FMT_EDGE_NAME(FMT_EDGE_KEY, b.Str("items")));
  b.Edge(l, s, FMT_EDGE_NAME(FMT_EDGE_INDEX, 0));
  b.Edge(l, f, FMT_EDGE_NAME(FMT_EDGE_INDEX, 1));
  b.Root(d2, FMT_ROOT_MODULE, "__main__");
  b.StrData(s, "hello \"w\"\n");
  return b.Encode(true);
}

// Dump B: a later, summary-only dump of the same process.
std::string DumpB() {
  DumpBuilder b;
  b.Meta("pid", "4242");
  b.Meta("mode", "summary");
  b.Type(0x1000, "dict");
  b.Row("type", 1, 1690);
  b.Row("dict", 3, 696);
  b.Row("__main__.Foo", 12, 576);
  b.Row("list", 1, 120);
  b.Row("function (f)", 1, 136);
  b.Row("frame (codename: g)", 1, 488);
  return b.Encode(false);
}

// Dump C: the smallest graph: one object, no edges, nothing else.
std::string DumpC() {
  DumpBuilder b;
  uint32_t t = b.Type(0xa0, "int");
  b.Row("int", 1, 28);
  b.Object(0xb0, t, 28, 7);
  return b.Encode(true);
}

// ---- running muppy ---------------------------------------------------

std::string ReadFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteFile(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

struct Result {
  int status;
  std::string out, err;
};

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char *t = getenv("TEST_TMPDIR");
    std::string base = t && *t ? t : "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/cli_test.XXXXXX", base.c_str());
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    dir_ = tmpl;
    WriteFile(Path("a.dump"), DumpA());
    WriteFile(Path("b.dump"), DumpB());
    WriteFile(Path("c.dump"), DumpC());
  }

  // The directory is ours (mkdtemp): remove it, so manual runs leave
  // nothing in /tmp.
  static void TearDownTestSuite() {
    nftw(dir_.c_str(),
         [](const char *p, const struct stat *, int, struct FTW *) {
           return remove(p);
         },
         16, FTW_DEPTH | FTW_PHYS);
  }

  static std::string Path(const std::string &name) { return dir_ + "/" + name; }

  // muppy_main({"muppy", args...}) with fds 1 and 2 captured.
  static Result Run(std::vector<std::string> args) {
    args.insert(args.begin(), "muppy");
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    std::string out = Path(".stdout"), err = Path(".stderr");
    fflush(stdout);
    fflush(stderr);
    int save1 = dup(1), save2 = dup(2);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    Result r;
    r.status = muppy_main((int)args.size(), argv.data());
    fflush(stdout);
    fflush(stderr);
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  // The codec's reason for rejecting path (for exact error lines).
  static std::string Reason(const std::string &path) {
    fmt_dump d;
    char err[512] = "";
    EXPECT_NE(fmt_read_file(path.c_str(), FMT_READ_ALL, &d, err, sizeof err),
              0);
    fmt_dump_free(&d);
    return err;
  }

  static std::string dir_;
};

std::string Cli::dir_;

const char kSummaryUsage[] =
    "usage: muppy summary DUMP [--limit N] [--sort size|count|type] "
    "[--order descending|ascending] [--format text|json|csv]\n"
    "see 'muppy --help'\n";

// ---- dispatch and help -----------------------------------------------

TEST_F(Cli, HelpListsEveryCommand) {
  Result r = Run({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("usage: muppy <command> [options]\n", 0), 0u);
  for (const char *c : {"info", "summary", "diff", "objects", "cat", "run",
                        "snap", "browse", "report"})
    EXPECT_NE(r.out.find(std::string("\n  muppy ") + c + " "), std::string::npos)
        << c;
  EXPECT_EQ(Run({"-h"}).out, r.out);
  EXPECT_EQ(Run({"help"}).out, r.out);
}

TEST_F(Cli, EveryCommandHasHelpOnStdout) {
  for (const char *c : {"info", "summary", "diff", "objects", "cat", "run",
                        "snap", "browse", "report"}) {
    for (const char *h : {"--help", "-h"}) {
      Result r = Run({c, h});
      EXPECT_EQ(r.status, 0) << c;
      EXPECT_EQ(r.err, "") << c;
      EXPECT_EQ(r.out.rfind(std::string("usage: muppy ") + c + " ", 0), 0u)
          << c << ": " << r.out;
    }
    // Help wins over other arguments, even a missing file (not for run:
    // what follows CMD is CMD's).
    if (std::string(c) != "run") {
      EXPECT_EQ(Run({c, "/nonexistent", "--help"}).status, 0) << c;
    }
    EXPECT_EQ(Run({"help", c}).out, Run({c, "--help"}).out) << c;
  }
}

TEST_F(Cli, NoCommandIsAUsageError) {
  Result r = Run({});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("muppy: error: no command given\nusage: muppy ", 0),
            0u);
}

TEST_F(Cli, UnknownCommand) {
  Result r = Run({"frobnicate", "x"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "muppy: error: unknown command 'frobnicate'\n"
            "see 'muppy --help'\n");
  EXPECT_EQ(Run({"--frobnicate"}).status, 2);
}

TEST_F(Cli, Version) {
  Result r = Run({"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("muppy ", 0), 0u);
  EXPECT_NE(r.out.find("(dump format 1.2)\n"), std::string::npos);
}

TEST_F(Cli, MissingAndExtraArguments) {
  Result r = Run({"summary"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, std::string("muppy: error: a dump file is needed\n") +
                       kSummaryUsage);
  r = Run({"summary", Path("a.dump"), Path("b.dump")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "muppy: error: unexpected argument '" + Path("b.dump") +
                       "'\n" + kSummaryUsage);
  r = Run({"diff", Path("a.dump")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("muppy: error: two dump files are needed (OLD NEW)\n"
                        "usage: muppy diff OLD NEW ",
                        0),
            0u);
  for (const char *c : {"info", "objects", "cat", "snap"})
    EXPECT_EQ(Run({c}).status, 2) << c;
}

TEST_F(Cli, BadOptions) {
  struct {
    std::vector<std::string> args;
    std::string first_line;
  } cases[] = {
      {{"summary", "--bogus"}, "muppy: error: unknown option '--bogus'"},
      {{"summary", "-q"}, "muppy: error: unknown option '-q'"},
      {{"summary", Path("a.dump"), "--limit"},
       "muppy: error: option '--limit' needs a value"},
      {{"summary", Path("a.dump"), "--limit", "x"},
       "muppy: error: --limit: 'x' is not an integer from 0 to "
       "9223372036854775807"},
      {{"summary", Path("a.dump"), "--limit", "-1"},
       "muppy: error: --limit: '-1' is not an integer from 0 to "
       "9223372036854775807"},
      {{"summary", Path("a.dump"), "--sort", "name"},
       "muppy: error: --sort: 'name' is not one of size, count, type"},
      {{"summary", Path("a.dump"), "--order", "up"},
       "muppy: error: --order: 'up' is not descending or ascending"},
      {{"summary", Path("a.dump"), "--format", "xml"},
       "muppy: error: --format: 'xml' is not one of the formats this "
       "command writes"},
      {{"info", Path("a.dump"), "--format", "csv"},
       "muppy: error: --format: 'csv' is not one of the formats this "
       "command writes"},
      {{"objects", Path("a.dump"), "--min", "10Q"},
       "muppy: error: --min: '10Q' is not a size in bytes (e.g. 4096, 64K, "
       "2MiB)"},
      {{"objects", Path("a.dump"), "--min", "100", "--max", "50"},
       "muppy: error: --min (100) is larger than --max (50)"},
      {{"objects", Path("a.dump"), "--sort", "name"},
       "muppy: error: --sort: 'name' is not one of size, type, address, "
       "refcnt"},
      {{"cat", Path("a.dump"), "--format=json"},
       "muppy: error: unknown option '--format'"},
      {{"run", "--mode", "full", "--", "true"},
       "muppy: error: --mode: 'full' is not valid (expected graph or "
       "summary)"},
      {{"run", "--signal", "USR9", "--", "true"},
       "muppy: error: --signal: 'USR9' is not valid (expected a signal name "
       "like USR1 (not a fault or uncatchable signal), a number, or none)"},
      {{"run", "--signal", "SEGV", "--", "true"},
       "muppy: error: --signal: 'SEGV' is not valid (expected a signal name "
       "like USR1 (not a fault or uncatchable signal), a number, or none)"},
      {{"run", "--interval", "-1", "--", "true"},
       "muppy: error: --interval: '-1' is not valid (expected 0 or seconds "
       "from 0.001)"},
      {{"run", "--strings", "2000000", "--", "true"},
       "muppy: error: --strings: '2000000' is not valid (expected a count "
       "from 0 to 1048576)"},
      {{"run", "--no-exit-dump=1", "--", "true"},
       "muppy: error: option '--no-exit-dump=1' takes no value"},
      {{"run", "-v"},
       "muppy: error: a command to run is needed (muppy run -- CMD "
       "ARGS...)"},
      {{"snap", "abc"},
       "muppy: error: PID: 'abc' is not an integer from 1 to 2147483647"},
      {{"snap", "1", "--timeout", "soon"},
       "muppy: error: --timeout: 'soon' is not a number of seconds (e.g. "
       "30, 0.5)"},
  };
  for (auto &c : cases) {
    Result r = Run(c.args);
    EXPECT_EQ(r.status, 2) << c.first_line;
    EXPECT_EQ(r.out, "") << c.first_line;
    EXPECT_EQ(r.err.substr(0, r.err.find('\n')), c.first_line);
    EXPECT_NE(r.err.find("\nusage: muppy "), std::string::npos) << r.err;
    EXPECT_EQ(r.err.substr(r.err.size() - 19), "see 'muppy --help'\n");
  }
}

// ---- summary and diff ------------------------------------------------

TEST_F(Cli, SummaryText) {
  Result r = Run({"summary", Path("a.dump")});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "         types |   # objects |   total size\n"
            "============== | =========== | ============\n"
            "          type |           1 |      1.65 KB\n"
            "          dict |           2 |    464     B\n"
            "  function (f) |           1 |    136     B\n"
            "  __main__.Foo |           2 |     96     B\n"
            "          list |           1 |     88     B\n"
            "           str |           1 |     60     B\n");
}

TEST_F(Cli, SummarySortOrderLimit) {
  // Options after the operand, "=" forms and short forms all work.
  Result r = Run({"summary", "--sort=count", Path("a.dump"), "--order",
                  "ascending"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "         types |   # objects |   total size\n"
            "============== | =========== | ============\n"
            "          list |           1 |     88     B\n"
            "           str |           1 |     60     B\n"
            "  function (f) |           1 |    136     B\n"
            "          type |           1 |      1.65 KB\n"
            "          dict |           2 |    464     B\n"
            "  __main__.Foo |           2 |     96     B\n");
  r = Run({"summary", Path("a.dump"), "-n", "2"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n"
            "   type |           1 |      1.65 KB\n"
            "   dict |           2 |    464     B\n");
  r = Run({"summary", Path("a.dump"), "--sort", "type", "--order",
           "ascending", "--limit", "0", "--format", "csv"});
  EXPECT_EQ(r.out,
            "type,count,size\n"
            "__main__.Foo,2,96\n"
            "dict,2,464\n"
            "function (f),1,136\n"
            "list,1,88\n"
            "str,1,60\n"
            "type,1,1690\n");
}

TEST_F(Cli, SummaryJsonAndCsv) {
  Result r = Run({"summary", Path("a.dump"), "--format", "json", "--limit",
                  "3"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "[\n"
            "  {\"type\": \"type\", \"count\": 1, \"size\": 1690},\n"
            "  {\"type\": \"dict\", \"count\": 2, \"size\": 464},\n"
            "  {\"type\": \"function (f)\", \"count\": 1, \"size\": 136}\n"
            "]\n");
  r = Run({"summary", Path("b.dump"), "-f", "csv"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "type,count,size\n"
            "type,1,1690\n"
            "dict,3,696\n"
            "__main__.Foo,12,576\n"
            "frame (codename: g),1,488\n"
            "function (f),1,136\n"
            "list,1,120\n");
}

TEST_F(Cli, DiffText) {
  Result r = Run({"diff", Path("a.dump"), Path("b.dump")});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  // type and function (f) are unchanged and left out; list changed size
  // only (count 0) and stays; str is gone: negative.
  EXPECT_EQ(r.out,
            "                types |   # objects |   total size\n"
            "===================== | =========== | ============\n"
            "  frame (codename: g) |           1 |    488     B\n"
            "         __main__.Foo |          10 |    480     B\n"
            "                 dict |           1 |    232     B\n"
            "                 list |           0 |     32     B\n"
            "                  str |          -1 |    -60     B\n");
  r = Run({"diff", Path("a.dump"), Path("b.dump"), "--sort", "count"});
  EXPECT_EQ(r.out,
            "                types |   # objects |   total size\n"
            "===================== | =========== | ============\n"
            "         __main__.Foo |          10 |    480     B\n"
            "                 dict |           1 |    232     B\n"
            "  frame (codename: g) |           1 |    488     B\n"
            "                 list |           0 |     32     B\n"
            "                  str |          -1 |    -60     B\n");
}

TEST_F(Cli, DiffReversedAndFormats) {
  Result r = Run({"diff", Path("b.dump"), Path("a.dump"), "--format", "csv"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "type,count,size\n"
            "str,1,60\n"
            "list,0,-32\n"
            "dict,-1,-232\n"
            "__main__.Foo,-10,-480\n"
            "frame (codename: g),-1,-488\n");
  r = Run({"diff", Path("a.dump"), Path("b.dump"), "--format", "json",
           "--limit", "1"});
  EXPECT_EQ(r.out,
            "[\n"
            "  {\"type\": \"frame (codename: g)\", \"count\": 1, \"size\": "
            "488}\n"
            "]\n");
}

TEST_F(Cli, DiffOfADumpWithItselfIsEmpty) {
  Result r = Run({"diff", Path("a.dump"), Path("a.dump")});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "  types |   # objects |   total size\n"
            "======= | =========== | ============\n");
  EXPECT_EQ(Run({"diff", Path("a.dump"), Path("a.dump"), "--format", "json"})
                .out,
            "[]\n");
}

TEST_F(Cli, DiffObjectsGoesToTheObjectDiff) {
  // --objects hands the whole argv to cmd_diff_objects (cmd_diffobj.c):
  // a different table from the summary diff of the same dumps.
  Result plain = Run({"diff", Path("c.dump"), Path("a.dump")});
  Result objs = Run({"diff", Path("c.dump"), Path("a.dump"), "--objects"});
  EXPECT_EQ(plain.status, 0);
  EXPECT_EQ(objs.status, 0) << objs.err;
  EXPECT_NE(objs.out, plain.out);
  EXPECT_EQ(Run({"diff", "--objects", Path("c.dump"), Path("a.dump")}).out,
            objs.out);
}

// ---- info ------------------------------------------------------------

TEST_F(Cli, InfoText) {
  struct stat st;
  ASSERT_EQ(stat(Path("a.dump").c_str(), &st), 0);
  char size_line[128], per_obj[128];
  snprintf(size_line, sizeof size_line, "file size:        %lld bytes (%lld B)\n",
           (long long)st.st_size, (long long)st.st_size);
  snprintf(per_obj, sizeof per_obj,
           "bytes per object: %.2f (8 objects)\n", st.st_size / 8.0);
  ASSERT_LE(st.st_size, 1024);  // else the "(N B)" form above is wrong
  Result r = Run({"info", Path("a.dump")});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "file:             " + Path("a.dump") + "\n" + size_line +
                "format version:   1.0\n"
                "flags:            0x3 (graph, strings)\n"
                "mode:             graph\n"
                "meta:\n"
                "  pid:            4242\n"
                "  cmdline:        python3 app.py\n"
                "  python:         3.11.7\n"
                "  trigger:        signal\n"
                "  time:           1763782000.123456 "
                "(2025-11-22T03:26:40.123456Z)\n"
                "  rss:            10485760 (10.00 MB)\n"
                "  gil_ns:         1234567 (1.235 ms)\n"
                "  mode:           graph\n"
                "  future_key:     kept\n"
                "counts:\n"
                "  strings:        31\n"
                "  types:          6\n"
                "  summary rows:   6\n"
                "  objects:        8\n"
                "  edges:          5\n"
                "  roots:          1\n"
                "  string values:  1\n" +
                per_obj);
}

TEST_F(Cli, InfoSummaryOnlyAndJson) {
  Result r = Run({"info", Path("b.dump"), "--format", "json"});
  EXPECT_EQ(r.status, 0);
  struct stat st;
  ASSERT_EQ(stat(Path("b.dump").c_str(), &st), 0);
  char head[256], tail[256];
  snprintf(head, sizeof head,
           "{\n  \"file\": \"%s\",\n  \"file_size\": %lld,\n",
           Path("b.dump").c_str(), (long long)st.st_size);
  // Summary-only: objects per file byte come from the summary counts (19).
  snprintf(tail, sizeof tail, "  \"bytes_per_object\": %.2f\n}\n",
           st.st_size / 19.0);
  EXPECT_EQ(r.out, std::string(head) +
                       "  \"major\": 1,\n  \"minor\": 0,\n"
                       "  \"flags\": 0,\n  \"graph\": false,\n"
                       "  \"strings\": false,\n"
                       "  \"mode\": \"summary\",\n"
                       "  \"meta\": {\n    \"pid\": \"4242\",\n"
                       "    \"mode\": \"summary\"\n  },\n"
                       "  \"time_iso\": null,\n"
                       "  \"gil_ms\": null,\n"
                       "  \"counts\": {\"strings\": 11, \"types\": 1, "
                       "\"summary_rows\": 6, \"objects\": 0, \"edges\": 0, "
                       "\"roots\": 0, \"string_values\": 0},\n" +
                       tail);
}

// ---- objects ---------------------------------------------------------

TEST_F(Cli, ObjectsText) {
  Result r = Run({"objects", Path("a.dump")});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  // Largest first, equal sizes by address; string contents as a JSON
  // literal in the label column.
  EXPECT_EQ(r.out,
            "address   |           type |   size |   refcnt | label\n"
            "========= | ============== | ====== | ======== | "
            "=================\n"
            "0x2000    |           type |   1690 |        5 | __main__.Foo\n"
            "0x10000   |           dict |    232 |        1 |\n"
            "0x10100   |           dict |    232 |        2 |\n"
            "0x10600   |       function |    136 |        2 | f\n"
            "0x10400   |           list |     88 |        1 |\n"
            "0x10500   |            str |     60 |        1 | "
            "\"hello \\\"w\\\"\\n\"\n"
            "0x10200   |   __main__.Foo |     48 |        3 |\n"
            "0x10300   |   __main__.Foo |     48 |        1 |\n");
}

TEST_F(Cli, ObjectsFilterLikeMuppyFilter) {
  // size > min and size < max: 48 and 232 themselves are out.
  Result r = Run({"objects", Path("a.dump"), "--min", "48", "--max", "232",
                  "--format", "csv", "--sort", "address"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "address,type,size,refcnt,label,contents\n"
            "0x10400,list,88,1,,\n"
            "0x10500,str,60,1,,\"hello \"\"w\"\"\n\"\n"
            "0x10600,function,136,2,f,\n");
  r = Run({"objects", Path("a.dump"), "--type", "__main__.Foo", "--sort",
           "refcnt", "--format", "json"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "[\n"
            "  {\"address\": \"0x10200\", \"type\": \"__main__.Foo\", "
            "\"size\": 48, \"refcnt\": 3, \"label\": \"\"},\n"
            "  {\"address\": \"0x10300\", \"type\": \"__main__.Foo\", "
            "\"size\": 48, \"refcnt\": 1, \"label\": \"\"}\n"
            "]\n");
  // The type object Foo is of type "type", not "__main__.Foo".
  r = Run({"objects", Path("a.dump"), "--type", "type", "-f", "csv"});
  EXPECT_EQ(r.out,
            "address,type,size,refcnt,label,contents\n"
            "0x2000,type,1690,5,__main__.Foo,\n");
  r = Run({"objects", Path("a.dump"), "--sort", "type", "--limit", "2",
           "--format", "csv"});
  EXPECT_EQ(r.out,
            "address,type,size,refcnt,label,contents\n"
            "0x10200,__main__.Foo,48,3,,\n"
            "0x10300,__main__.Foo,48,1,,\n");
  r = Run({"objects", Path("a.dump"), "--min", "1K", "-f", "csv"});
  EXPECT_EQ(r.out,
            "address,type,size,refcnt,label,contents\n"
            "0x2000,type,1690,5,__main__.Foo,\n");
}

TEST_F(Cli, ObjectsNoMatch) {
  Result r = Run({"objects", Path("a.dump"), "--type", "Nope"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "address   |   type |   size |   refcnt | label\n"
            "========= | ====== | ====== | ======== | =======\n");
  EXPECT_EQ(r.err, "muppy: warning: " + Path("a.dump") +
                       " has no type named 'Nope'\n");
  // A short name that one type name ends in selects that type.
  r = Run({"objects", Path("a.dump"), "--type", "Foo", "-f", "csv"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "address,type,size,refcnt,label,contents\n"
            "0x10200,__main__.Foo,48,3,,\n"
            "0x10300,__main__.Foo,48,1,,\n");
  EXPECT_EQ(r.err, "");
  // Only whole dotted parts: "oo" is not a name of __main__.Foo.
  r = Run({"objects", Path("a.dump"), "--type", "oo"});
  EXPECT_NE(r.err.find("has no type named 'oo'"), std::string::npos);
  r = Run({"objects", Path("a.dump"), "--min", "5000", "--format", "json"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "[]\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, ObjectsNeedAGraphDump) {
  Result r = Run({"objects", Path("b.dump")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "muppy: error: " + Path("b.dump") +
                       " is a summary-only dump (MUPPY_MODE=summary); "
                       "objects need a graph dump\n");
}

// ---- cat -------------------------------------------------------------

TEST_F(Cli, CatSmallDump) {
  Result r = Run({"cat", Path("c.dump")});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "{\n"
            "\"format\": {\"major\": 1, \"minor\": 0, \"flags\": 1},\n"
            "\"meta\": {},\n"
            "\"types\": [\n"
            "  {\"address\": \"0xa0\", \"name\": \"int\"}\n"
            "],\n"
            "\"summary\": [\n"
            "  {\"type\": \"int\", \"count\": 1, \"size\": 28}\n"
            "],\n"
            "\"objects\": [\n"
            "  {\"address\": \"0xb0\", \"type\": \"int\", \"size\": 28, "
            "\"refcnt\": 7, \"gc_tracked\": true, \"is_type\": false, "
            "\"label\": \"\", \"edges\": []}\n"
            "],\n"
            "\"roots\": [],\n"
            "\"strdata\": []\n"
            "}\n");
}

TEST_F(Cli, CatEdgesRootsStrings) {
  Result r = Run({"cat", Path("a.dump")});
  EXPECT_EQ(r.status, 0);
  auto has = [&](const std::string &s) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  };
  has("\"meta\": {\n  \"pid\": \"4242\",\n  \"cmdline\": \"python3 "
      "app.py\",");
  has("  {\"address\": \"0x10200\", \"type\": \"__main__.Foo\", \"size\": "
      "48, \"refcnt\": 3, \"gc_tracked\": true, \"is_type\": false, "
      "\"label\": \"\", \"edges\": [{\"to\": \"0x10000\", \"kind\": "
      "\"other\", \"name\": \"__dict__\"}, {\"to\": \"0x2000\", \"kind\": "
      "\"none\", \"name\": null}]},\n");
  has("\"edges\": [{\"to\": \"0x10400\", \"kind\": \"key\", \"name\": "
      "\"items\"}]}");
  has("\"edges\": [{\"to\": \"0x10500\", \"kind\": \"index\", \"name\": 0}, "
      "{\"to\": \"0x10600\", \"kind\": \"index\", \"name\": 1}]}");
  has("\"roots\": [\n  {\"object\": \"0x10100\", \"kind\": \"module\", "
      "\"name\": \"__main__\"}\n],\n");
  has("\"strdata\": [\n  {\"object\": \"0x10500\", \"value\": \"hello "
      "\\\"w\\\"\\n\"}\n]\n}\n");
}

// ---- bad input -------------------------------------------------------

// Every rejected file: exit 2, nothing on stdout, exactly one line.
void ExpectRejected(const Result &r, const std::string &line) {
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, line + "\n");
}

TEST_F(Cli, TruncatedNonDumpEmptyDirectoryMissing) {
  std::string a = ReadFile(Path("a.dump"));
  WriteFile(Path("trunc.dump"), a.substr(0, a.size() - 5));
  WriteFile(Path("text.dump"), "hello, I am not a dump\n");
  WriteFile(Path("empty.dump"), "");
  mkdir(Path("dir.dump").c_str(), 0700);
  for (const char *name : {"trunc.dump", "text.dump", "empty.dump",
                           "dir.dump", "missing.dump"}) {
    std::string p = Path(name);
    std::string line = "muppy: error: " + p + ": " + Reason(p);
    for (auto args : std::vector<std::vector<std::string>>{
             {"info", p}, {"summary", p}, {"objects", p}, {"cat", p},
             {"diff", p, Path("a.dump")}, {"diff", Path("a.dump"), p}})
      ExpectRejected(Run(args), line);
  }
  EXPECT_EQ(Reason(Path("missing.dump")),
            "cannot open: No such file or directory");
  EXPECT_EQ(Reason(Path("empty.dump")),
            "truncated: file is 0 bytes, shorter than the 20-byte header");
}

TEST_F(Cli, NewerMajorVersionIsRejected) {
  std::string a = ReadFile(Path("c.dump"));
  a[8] = 2;  // major, little-endian u16 at offset 8
  WriteFile(Path("v2.dump"), a);
  ExpectRejected(Run({"summary", Path("v2.dump")}),
                 "muppy: error: " + Path("v2.dump") +
                     ": dump version 2.0 is newer than this reader (1.2)");
}

TEST_F(Cli, EveryTruncationAndBitFlipIsOneLineExit2) {
  // Not the codec's tests (format_*_test.cc): this checks that every
  // rejection reaches the user as one line and status 2, never a crash.
  std::string a = ReadFile(Path("a.dump"));
  std::string p = Path("bad.dump");
  for (size_t n = 0; n < a.size(); n += 7) {
    WriteFile(p, a.substr(0, n));
    for (const char *cmd : {"summary", "objects"}) {
      Result r = Run({cmd, p});
      ASSERT_EQ(r.status, 2) << cmd << " cut at " << n;
      ASSERT_EQ(r.out, "");
      ASSERT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    }
  }
  for (size_t i = 0; i < a.size(); i += 3) {
    std::string b = a;
    b[i] ^= 0x10;
    WriteFile(p, b);
    Result r = Run({"cat", p});
    ASSERT_EQ(r.status, 2) << "flip at " << i;
    ASSERT_EQ(r.out, "");
    ASSERT_EQ(r.err.rfind("muppy: error: " + p + ": ", 0), 0u) << r.err;
    ASSERT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

// ---- run -------------------------------------------------------------

// Runs muppy_main(args) in a child with stdout/stderr into files and
// env set; returns the child's wait status.
int RunInChild(const std::vector<std::string> &args,
               const std::map<std::string, std::string> &env,
               const std::string &out, const std::string &err) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    for (auto &kv : env) {
      if (kv.second.empty())
        unsetenv(kv.first.c_str());
      else
        setenv(kv.first.c_str(), kv.second.c_str(), 1);
    }
    std::vector<std::string> a = args;
    a.insert(a.begin(), "muppy");
    std::vector<char *> argv;
    for (auto &s : a) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    int rc = muppy_main((int)a.size(), argv.data());
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// A real shared library under the name libmuppy.so: preloading it is
// harmless, and /proc/PID/maps then names libmuppy.so as with the shim.
std::string FakeShim(const std::string &dir) {
  std::string path = dir + "/libmuppy.so";
  for (const char *lib : {"/lib/x86_64-linux-gnu/libz.so.1",
                          "/usr/lib/x86_64-linux-gnu/libz.so.1",
                          "/lib/aarch64-linux-gnu/libz.so.1"}) {
    std::string bytes = ReadFile(lib);
    if (!bytes.empty()) {
      WriteFile(path, bytes);
      return path;
    }
  }
  return "";
}

TEST_F(Cli, RunSetsTheEnvironmentAndExecs) {
  std::string lib = FakeShim(dir_);
  ASSERT_NE(lib, "");
  std::string out = Path("run.out"), err = Path("run.err");
  int st = RunInChild(
      {"run", "--interval", "0.5", "--dir", "/some/dir", "--signal", "USR2",
       "--mode", "summary", "--strings", "40", "--no-exit-dump",
       "--snapshot", "fork", "--", "/bin/sh", "-c",
       "printf '%s|%s|%s|%s|%s|%s|%s|%s|%s' \"$LD_PRELOAD\" "
       "\"$MUPPY_INTERVAL\" \"$MUPPY_DIR\" \"$MUPPY_SIGNAL\" \"$MUPPY_MODE\" "
       "\"$MUPPY_STRINGS\" \"$MUPPY_AT_EXIT\" \"$MUPPY_SNAPSHOT\" \"$1\"; "
       "exit 7",
       "sh", "-v"},
      {{"MUPPY_LIB", lib}, {"LD_PRELOAD", "libc.so.6"}}, out, err);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 7);  // the command's status
  EXPECT_EQ(ReadFile(out), lib + ":libc.so.6|0.5|/some/dir|USR2|summary|40|"
                                 "0|fork|-v");
  EXPECT_EQ(ReadFile(err), "");  // nothing of ours on success
}

TEST_F(Cli, RunWithoutOptionsKeepsTheEnvironment) {
  std::string lib = FakeShim(dir_);
  ASSERT_NE(lib, "");
  std::string out = Path("run2.out"), err = Path("run2.err");
  int st = RunInChild({"run", "-v", "/bin/sh", "-c",
                       "printf '%s|%s' \"$LD_PRELOAD\" \"$MUPPY_MODE\""},
                      {{"MUPPY_LIB", lib}, {"LD_PRELOAD", ""},
                       {"MUPPY_MODE", "graph"}},
                      out, err);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(ReadFile(out), lib + "|graph");
  EXPECT_EQ(ReadFile(err), "muppy: preloading " + lib +
                               "\nmuppy: MUPPY_MODE=graph\n"
                               "muppy: running /bin/sh -c printf '%s|%s' "
                               "\"$LD_PRELOAD\" \"$MUPPY_MODE\"\n");
}

TEST_F(Cli, RunFailures) {
  std::string out = Path("run3.out"), err = Path("run3.err");
  int st = RunInChild({"run", "--", "true"},
                      {{"MUPPY_LIB", "/nonexistent/libmuppy.so"}}, out, err);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_EQ(ReadFile(err),
            "muppy: error: MUPPY_LIB=/nonexistent/libmuppy.so: No such file "
            "or directory\n");
  std::string lib = FakeShim(dir_);
  ASSERT_NE(lib, "");
  st = RunInChild({"run", "--", "/nonexistent/cmd"}, {{"MUPPY_LIB", lib}},
                  out, err);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_EQ(ReadFile(err),
            "muppy: error: cannot run '/nonexistent/cmd': No such file or "
            "directory\n");
  EXPECT_EQ(ReadFile(out), "");
}

// ---- snap ------------------------------------------------------------

// Starts `muppy run -- /bin/sh -c SCRIPT` (fake shim preloaded, MUPPY_DIR
// = dir) and waits until the script has created dir/ready.
pid_t StartUnderShim(const std::string &dir, const std::string &script,
                     const std::string &lib) {
  fflush(stdout);
  fflush(stderr);
  unlink((dir + "/ready").c_str());
  pid_t pid = fork();
  if (pid == 0) {
    setenv("MUPPY_LIB", lib.c_str(), 1);
    std::vector<std::string> a = {"muppy", "run", "--dir", dir, "--",
                                  "/bin/sh", "-c", script};
    std::vector<char *> argv;
    for (auto &s : a) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    _exit(muppy_main((int)a.size(), argv.data()));
  }
  for (int i = 0; i < 2000 && access((dir + "/ready").c_str(), F_OK); i++)
    usleep(5000);
  return pid;
}

void Stop(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST_F(Cli, SnapWaitsForTheNewDump) {
  std::string lib = FakeShim(dir_);
  ASSERT_NE(lib, "");
  std::string d = Path("snapdir");
  mkdir(d.c_str(), 0700);
  // On USR1 the "process" writes dump seq 5, as the shim would: under a
  // temporary name first, then the final name.
  pid_t pid = StartUnderShim(
      d,
      "trap 'echo x > muppy.$$.5.dump.tmp.$$; "
      "mv muppy.$$.5.dump.tmp.$$ muppy.$$.5.dump' USR1; "
      "cd \"$MUPPY_DIR\" && touch ready; while :; do sleep 0.02; done",
      lib);
  ASSERT_GT(pid, 0);
  // Dumps that were there before do not count.
  WriteFile(d + "/muppy." + std::to_string(pid) + ".1.dump", "old");
  WriteFile(d + "/muppy." + std::to_string(pid + 1) + ".9.dump", "other");
  Result r = Run({"snap", std::to_string(pid), "--timeout", "20"});
  Stop(pid);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, d + "/muppy." + std::to_string(pid) + ".5.dump\n");
}

TEST_F(Cli, SnapRefusesAProcessWithoutTheShim) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sleep", "sleep", "30", (char *)nullptr);
    _exit(127);
  }
  // Until exec is done, maps are the test binary's: wait for sleep's.
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  char buf[256];
  for (int i = 0; i < 2000; i++) {
    ssize_t n = readlink(exe.c_str(), buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, n).find("sleep") != std::string::npos)
      break;
    usleep(5000);
  }
  Result r = Run({"snap", std::to_string(pid)});
  Stop(pid);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "muppy: error: process " + std::to_string(pid) +
                       " does not have libmuppy.so loaded (start it with "
                       "'muppy run')\n");
}

TEST_F(Cli, SnapTimeoutAndProcessGone) {
  std::string lib = FakeShim(dir_);
  ASSERT_NE(lib, "");
  std::string d = Path("snapdir2");
  mkdir(d.c_str(), 0700);
  // The fake shim writes nothing: a handler that does nothing times out.
  pid_t pid = StartUnderShim(
      d, "trap ':' USR1; cd \"$MUPPY_DIR\" && touch ready; "
         "while :; do sleep 0.02; done", lib);
  Result r = Run({"snap", std::to_string(pid), "--timeout", "0.2"});
  Stop(pid);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "muppy: error: no new dump from process " +
                       std::to_string(pid) + " in " + d +
                       " after 0.2 seconds\n");

  // A process that ignores the signal, or has it at its default action
  // (it would die): not sent at all (shim/runtime/signals.c notes 3 and 4).
  pid = StartUnderShim(
      d, "trap '' USR1; cd \"$MUPPY_DIR\" && touch ready; "
         "while :; do sleep 0.02; done", lib);
  r = Run({"snap", std::to_string(pid), "--timeout", "5"});
  EXPECT_EQ(kill(pid, 0), 0);
  Stop(pid);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "muppy: error: process " + std::to_string(pid) +
                       " ignores SIGUSR1 (SIG_IGN, its own setting), so it "
                       "cannot be asked for a dump by that signal; use "
                       "MUPPY_INTERVAL or muppy.dump()\n");
  pid = StartUnderShim(
      d, "cd \"$MUPPY_DIR\" && touch ready; while :; do sleep 0.02; done",
      lib);
  r = Run({"snap", std::to_string(pid), "--timeout", "5"});
  EXPECT_EQ(kill(pid, 0), 0) << "snap must not have killed it";
  Stop(pid);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "muppy: error: process " + std::to_string(pid) +
                       " has set SIGUSR1 back to its default action itself, "
                       "so the signal would terminate it; not sent\n");

  pid = StartUnderShim(
      d, "trap 'exit 0' USR1; cd \"$MUPPY_DIR\" && touch ready; "
         "while :; do sleep 0.02; done", lib);
  r = Run({"snap", std::to_string(pid), "--timeout", "20"});
  Stop(pid);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "muppy: error: process " + std::to_string(pid) +
                       " exited before writing a dump\n");
}

TEST_F(Cli, SnapNoSuchProcess) {
  Result r = Run({"snap", "2147483647"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "muppy: error: no process with pid 2147483647\n");
}

}  // namespace
