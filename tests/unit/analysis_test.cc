// analysis_test.cc - the analysis commands (tools/cmd_tree.c, cmd_path.c,
// cmd_leaks.c, cmd_track.c, cmd_top.c, cmd_orphans.c, cmd_diffobj.c) run
// in-process through muppy_main() on dumps built here and written with
// fmt_write: exact text where a layout is promised (the ConsoleBrowser
// tree, computed by hand from pympler/refbrowser.py's _print rules), the
// facts elsewhere, and exit statuses and messages for bad input.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "format/dump.h"
#include "tests/unit/test_dump.h"
#include "tools/graph.h"
#include "tools/leaks.h"
#include "tools/muppy.h"
#include "tools/util.h"

namespace {

std::string TmpDir() {
  static std::string dir;
  if (dir.empty()) {
    const char *t = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(t ? t : "/tmp") + "/analysis.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    EXPECT_NE(mkdtemp(buf.data()), nullptr);
    dir = buf.data();
  }
  return dir;
}

// A dump with explicit object addresses (sorted when written), so several
// dumps of "the same process" can share objects.
class Dump : public TestDump {
 public:
  uint32_t Type(const std::string &name, uint64_t addr = 0) {
    return AddType(addr ? addr : 0x9000 + 0x10 * (uint64_t)ntypes(), name);
  }
  uint32_t Obj(uint64_t addr, uint32_t type, uint64_t size = 16,
               const std::string &label = "", int64_t refcnt = -1) {
    return AddObj(addr, type, size, refcnt, label);
  }
  // Writes the dump (graph unless summary_only) and returns its path.
  std::string Write(const std::string &name, bool summary_only = false) {
    std::string bytes = Encode(!summary_only);
    EXPECT_EQ(last_write_rc(), 0) << fmt_strerror(last_write_rc());
    std::string path = TmpDir() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

struct Result {
  int status;
  std::string out, err;
};

std::string Slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// muppy_main(args) with stdout and stderr captured.
Result Muppy(std::vector<std::string> args) {
  args.insert(args.begin(), "muppy");
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  std::string o = TmpDir() + "/stdout", e = TmpDir() + "/stderr";
  fflush(stdout);
  fflush(stderr);
  int so = dup(1), se = dup(2);
  int fo = open(o.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int fe = open(e.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fo, 1);
  dup2(fe, 2);
  Result r;
  r.status = muppy_main((int)args.size(), argv.data());
  fflush(stdout);
  fflush(stderr);
  dup2(so, 1);
  dup2(se, 2);
  close(so);
  close(se);
  close(fo);
  close(fe);
  r.out = Slurp(o);
  r.err = Slurp(e);
  return r;
}

std::vector<std::string> Lines(const std::string &s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  std::string line;
  while (std::getline(in, line)) v.push_back(line);
  return v;
}

// ---- tree ---------------------------------------------------------------

// The refbrowser example of pympler-formats.md: a str held by two lists,
// a tuple and a dict; the dict held by a function and a module.
std::string TreeDump() {
  Dump d;
  uint32_t ts = d.Type("str"), tl = d.Type("list"), tt = d.Type("tuple"),
           td = d.Type("dict"), tf = d.Type("function"), tm = d.Type("module");
  uint32_t s = d.Obj(0x1000, ts, 50, "", 10);
  uint32_t l1 = d.Obj(0x2000, tl), t = d.Obj(0x3000, tt),
           dd = d.Obj(0x4000, td), l2 = d.Obj(0x5000, tl);
  uint32_t d2 = d.Obj(0x6000, td), d3 = d.Obj(0x7000, td);
  uint32_t f = d.Obj(0x8000, tf, 136, "f"), m = d.Obj(0x9000, tm, 72, "m");
  d.Edge(l2, s, Dump::Index(0));
  d.Edge(l1, s, Dump::Index(0));
  d.Edge(t, s, Dump::Index(1));
  d.Edge(dd, s, d.Key("name"));
  d.Edge(d2, l1, d.Key("l1"));
  d.Edge(d3, t, d.Key("t"));
  d.Edge(m, dd, d.Other("__dict__"));
  d.Edge(f, dd, d.Other("__globals__"));
  d.Root(m, FMT_ROOT_MODULE, "m");
  return d.Write("tree.dump");
}

TEST(TreeTest, TextIsConsoleBrowsersLayout) {
  Result r = Muppy({"tree", TreeDump(), "0x1000"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "str-+-list--dict\n"
            "    +-tuple--dict\n"
            "    +-dict-+-function (f)\n"
            "    |      +-module(m)\n"
            "    |\n"
            "    +-list\n");
  EXPECT_EQ(r.err, "");
}

TEST(TreeTest, MaxdepthCutsLevels) {
  Result r = Muppy({"tree", TreeDump(), "0x1000", "--maxdepth", "1"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "str-+-list\n"
            "    +-tuple\n"
            "    +-dict\n"
            "    +-list\n");
  r = Muppy({"tree", TreeDump(), "0x1000", "--maxdepth", "0"});
  EXPECT_EQ(r.out, "str\n");
}

TEST(TreeTest, NestedFansCarryTheirVerticalLines) {
  // a <- b, g;  b <- c, f;  c <- d, e  (referrers in address order)
  Dump d;
  uint32_t t = d.Type("x");
  const char *names = "abcdefg";
  std::map<char, uint32_t> o;
  for (int i = 0; i < 7; i++)
    o[names[i]] = d.Obj(0x100 * (i + 1), t, 1, std::string(1, names[i]));
  d.Edge(o['b'], o['a']);
  d.Edge(o['g'], o['a']);
  d.Edge(o['c'], o['b']);
  d.Edge(o['f'], o['b']);
  d.Edge(o['d'], o['c']);
  d.Edge(o['e'], o['c']);
  Result r = Muppy({"tree", d.Write("fan.dump"), "0x100", "--label", "name"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "a-+-b-+-c-+-d\n"
            "  |   |   +-e\n"
            "  |   |\n"
            "  |   +-f\n"
            "  |\n"
            "  +-g\n");
}

TEST(TreeTest, NoRepeatMarksObjectsAlreadyIncluded) {
  Dump d;
  uint32_t tl = d.Type("list");
  uint32_t a = d.Obj(0x100000, tl), b = d.Obj(0x200000, tl);
  d.Edge(a, b);
  d.Edge(b, a);
  std::string f = d.Write("cycle.dump");
  Result r = Muppy({"tree", f, "0x100000", "--no-repeat"});
  EXPECT_EQ(r.out, "list--list--list (already included, id 1048576)\n");
  r = Muppy({"tree", f, "0x100000"});  // repeat: down to maxdepth
  EXPECT_EQ(r.out, "list--list--list--list\n");
}

TEST(TreeTest, ReferentsFullLabelsAndTypeSelection) {
  std::string f = TreeDump();
  Result r = Muppy({"tree", f, "0x9000", "--referents", "--label", "full"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "module 0x9000 m 72 B--dict 0x4000 16 B--str 0x1000 50 B\n");
  r = Muppy({"tree", f, "--type", "dict", "--limit", "2", "--maxdepth", "1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "dict-+-function (f)\n     +-module(m)\n\ndict\n");
  r = Muppy({"tree", f, "--type", "set"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "muppy: error: " + f + " has no objects of type 'set'\n");
}

TEST(TreeTest, JsonCsvAndDot) {
  std::string f = TreeDump();
  Result r = Muppy({"tree", f, "0x4000", "--format", "json"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "[\n  {\"address\": \"0x4000\", \"type\": \"dict\", \"label\": \"\", "
            "\"size\": 16, \"children\": [{\"address\": \"0x8000\", \"type\": "
            "\"function\", \"label\": \"f\", \"size\": 136, \"edge\": "
            "\".__globals__\", \"children\": []}, {\"address\": \"0x9000\", "
            "\"type\": \"module\", \"label\": \"m\", \"size\": 72, \"edge\": "
            "\".__dict__\", \"children\": []}]}\n]\n");
  r = Muppy({"tree", f, "0x4000", "--format", "csv"});
  EXPECT_EQ(r.out,
            "tree,depth,address,type,size,label,repeat,edge\n"
            "0,0,0x4000,dict,16,,0,\n"
            "0,1,0x8000,function,136,f,0,.__globals__\n"
            "0,1,0x9000,module,72,m,0,.__dict__\n");
  r = Muppy({"tree", f, "0x4000", "--format", "dot"});
  EXPECT_NE(r.out.find("t0n1 -> t0n0 [label=\".__globals__\"];"),
            std::string::npos) << r.out;
  EXPECT_EQ(r.out.rfind("digraph tree {", 0), 0u);
}

TEST(TreeTest, BadTargetsAndUsage) {
  std::string f = TreeDump();
  Result r = Muppy({"tree", f, "0xdead"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "muppy: error: " + f + " has no object at 0xdead\n");
  r = Muppy({"tree", f, "zzz"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("'zzz' is not an object address"), std::string::npos);
  r = Muppy({"tree", f});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("give either an object address or --type NAME"),
            std::string::npos);
  r = Muppy({"tree", f, "0x1000", "--label", "weird"});
  EXPECT_EQ(r.status, 2);
  r = Muppy({"tree", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("usage: muppy tree DUMP", 0), 0u);
  Dump s;
  s.Type("dict");
  s.Row("dict", 1, 100);
  std::string sf = s.Write("summary.dump", true);
  r = Muppy({"tree", sf, "0x1000"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("summary-only dump"), std::string::npos);
  r = Muppy({"tree", TmpDir() + "/missing.dump", "0x1"});
  EXPECT_EQ(r.status, 2);
}

// A referrer tree that would have millions of nodes is refused, and the
// input (dump and depth) is the cause: exit 2, one line, nothing printed.
TEST(TreeTest, DenseCliqueIsRefusedAsBadInput) {
  Dump d;
  uint32_t t = d.Type("dict");
  std::vector<uint32_t> o;
  for (uint32_t i = 0; i < 16; i++) o.push_back(d.Obj(0x1000 + 0x100 * i, t));
  for (uint32_t a : o)
    for (uint32_t b : o)
      if (a != b) d.Edge(a, b, d.Key("k" + std::to_string(b)));
  d.Row("dict", 16, 16 * 16);
  std::string f = d.Write("clique.dump");
  Result r = Muppy({"tree", f, "0x1000", "--maxdepth", "7"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "muppy: error: the tree has more than 2000000 nodes; "
                   "lower --maxdepth or use --no-repeat\n");
  r = Muppy({"tree", f, "0x1000", "--maxdepth", "7", "--no-repeat"});
  EXPECT_EQ(r.status, 0) << r.err;
  r = Muppy({"tree", f, "0x1000", "--maxdepth", "3"});
  EXPECT_EQ(r.status, 0) << r.err;
}

// ---- path -----------------------------------------------------------------

// sys.modules['app'].registry['k'][3].callback, plus a second way in.
std::string RegistryDump() {
  Dump d;
  uint32_t tm = d.Type("module"), td = d.Type("dict"), tl = d.Type("list"),
           tc = d.Type("app.Callback"), tf = d.Type("function");
  uint32_t mod = d.Obj(0x1000, tm, 72, "app"), g = d.Obj(0x2000, td, 1200),
           reg = d.Obj(0x3000, td, 232), lst = d.Obj(0x4000, tl, 120),
           fn = d.Obj(0x9000, tf, 136, "on_event");
  for (uint32_t i = 0; i < 4; i++) {
    uint32_t cb = d.Obj(0x5000 + 0x100 * i, tc, 48);
    d.Edge(lst, cb, Dump::Index(i));
    if (i == 3) d.Edge(cb, fn, d.Attr("callback"));
  }
  uint32_t other = d.Obj(0xa000, td, 64);
  d.Edge(mod, g, d.Other("__dict__"));
  d.Edge(g, reg, d.Key("registry"));
  d.Edge(g, other, d.Key("aliases"));
  d.Edge(reg, lst, d.Key("k"));
  d.Edge(other, fn, d.Key("x"));
  d.Root(mod, FMT_ROOT_MODULE, "app");
  d.Obj(0xb000, td, 64);  // unreachable: nothing refers to it, refcount 0
  return d.Write("registry.dump");
}

TEST(PathTest, ExpressionThenOneLinePerHop) {
  Result r = Muppy({"path", RegistryDump(), "0x5300"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "sys.modules['app'].registry['k'][3]\n"
            "  sys.modules['app']  module        0x1000    72     B\n"
            "  .__dict__           dict          0x2000     1.17 KB\n"
            "  ['registry']        dict          0x3000   232     B\n"
            "  ['k']               list          0x4000   120     B\n"
            "  [3]                 app.Callback  0x5300    48     B\n");
}

TEST(PathTest, LimitGivesChainsThroughOtherReferrers) {
  Result r = Muppy({"path", RegistryDump(), "0x9000", "--limit", "3"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> exprs;
  for (auto &l : Lines(r.out))
    if (!l.empty() && l[0] != ' ') exprs.push_back(l);
  EXPECT_EQ(exprs, (std::vector<std::string>{
                       "sys.modules['app'].aliases['x']",
                       "sys.modules['app'].registry['k'][3].callback"}));
}

TEST(PathTest, UnreachableAndHeldFromOutside) {
  std::string f = RegistryDump();
  Result r = Muppy({"path", f, "0xb000"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("0xb000: no chain from any root", 0), 0u) << r.out;
  Dump d;
  uint32_t tl = d.Type("list"), ts = d.Type("str");
  uint32_t held = d.Obj(0x100, tl, 64, "", 2), s = d.Obj(0x200, ts, 60);
  d.Edge(held, s, Dump::Index(0));
  r = Muppy({"path", d.Write("held.dump"), "0x200", "--format", "csv"});
  EXPECT_EQ(r.out,
            "chain,hop,edge,address,type,size\n"
            "0,0,<held from C: 0x100>,0x100,list,64\n"
            "0,1,[0],0x200,str,60\n");
  r = Muppy({"path", f, "0x5300", "--format", "json"});
  EXPECT_NE(r.out.find("\"expression\": \"sys.modules['app'].registry['k'][3]\""),
            std::string::npos) << r.out;
  r = Muppy({"path", f});
  EXPECT_EQ(r.status, 2);
  r = Muppy({"path", f, "0x5301"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "muppy: error: " + f + " has no object at 0x5301\n");
}

// ---- leaks ----------------------------------------------------------------

// Four dumps of one process: app.windows gains Windows (each with its own
// __dict__), app.cache gains entries; a temporary list lives from D2 to
// D3; an address comes and goes; old objects stay.
std::vector<std::string> LeakDumps() {
  std::vector<std::string> files;
  for (int k = 1; k <= 4; k++) {
    Dump d;
    uint32_t tm = d.Type("module", 0x100), td = d.Type("dict", 0x200),
             tl = d.Type("list", 0x300), tw = d.Type("app.Window", 0x400),
             ts = d.Type("str", 0x500), tb = d.Type("bytes", 0x600);
    // The containers that gain entries grow as CPython's do (leaks
    // reads a holder of D1's size as a steady container, not a leak).
    uint32_t mod = d.Obj(0x1000, tm, 72, "app"), g = d.Obj(0x2000, td, 1000),
             wins = d.Obj(0x3000, tl, 56 + 8 * (uint64_t)k),
             cache = d.Obj(0x4000, td, 300 + 100 * (uint64_t)k),
             old = d.Obj(0x5000, ts, 50);
    d.Edge(mod, g, d.Other("__dict__"));
    d.Edge(g, wins, d.Key("windows"));
    d.Edge(g, cache, d.Key("cache"));
    d.Edge(g, old, d.Key("title"));
    // Window i is born in dump i (i = 1: existed from the start).
    for (int i = 1; i <= k; i++) {
      uint32_t w = d.Obj(0x10000 + 0x100 * i, tw, 56);
      uint32_t wd = d.Obj(0x20000 + 0x100 * i, td, 104);
      d.Edge(wins, w, Dump::Index(i - 1));
      d.Edge(w, wd, d.Other("__dict__"));
      d.Edge(wd, old, d.Key("title"));
    }
    for (int i = 2; i <= k; i++) {  // cache entries from dump 2 on
      uint32_t v = d.Obj(0x30000 + 0x100 * i, tb, 1000);
      d.Edge(cache, v, d.Key("req-" + std::to_string(i)));
    }
    if (k == 2 || k == 3) {  // a temporary, gone by the last dump
      uint32_t tmp = d.Obj(0x40000, tl, 5000);
      d.Edge(g, tmp, d.Key("tmp"));
    }
    if (k == 2 || k == 4) {  // an address that comes, goes, comes back
      uint32_t x = d.Obj(0x50000, tl, 7000);
      d.Edge(g, x, d.Key("flicker"));
    }
    if (k >= 2) d.Obj(0x60000, tl, 9000);  // garbage: unreachable
    if (k == 1) {  // window 2's __dict__ will reuse this dict's address
      uint32_t gone = d.Obj(0x20200, td, 104);
      d.Edge(g, gone, d.Key("old_tmp"));
    }
    if (k >= 2) {  // the frame of the call running at dump time
      uint32_t tf = d.Type("frame", 0x700);
      uint32_t fr = d.Obj(0x80000, tf, 400, "snapshot");
      uint32_t loc = d.Obj(0x81000, tl, 200);
      d.Edge(fr, loc, FMT_EDGE_NAME(FMT_EDGE_LOCAL, d.Str("args")));
      d.Root(fr, FMT_ROOT_FRAME, "thread 1");
    }
    if (k >= 3) {  // an evaluation-stack temporary: held from C
      uint32_t t = d.Obj(0x90000, tl, 300, "", 5);
      d.Edge(t, d.Obj(0x91000, tb, 33), Dump::Index(0));
    }
    if (k == 4) {  // a global rebound in the last round: too young to tell
      uint32_t last = d.Obj(0x70000, td, 640);
      d.Edge(g, last, d.Key("last_request"));
    }
    d.Root(mod, FMT_ROOT_MODULE, "app");
    d.Meta("time", std::to_string(1763782000 + 60 * k));
    files.push_back(d.Write("leak" + std::to_string(k) + ".dump"));
  }
  return files;
}

TEST(TypeNames, ShortNamesAndAmbiguity) {
  Dump d;
  uint32_t tl = d.Type("list", 0x300), ta = d.Type("a.Session", 0x400),
           tb = d.Type("b.Session", 0x500), tc = d.Type("a.Cart", 0x600);
  uint32_t root = d.Obj(0x1000, tl, 64);
  for (uint32_t t : {ta, tb, tc}) d.Edge(root, d.Obj(0x2000 + 0x100 * t, t, 48));
  d.Root(root, FMT_ROOT_MODULE, "app");
  std::string f = d.Write("types.dump");
  Result r = Muppy({"objects", f, "--type", "Session"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("the type name 'Session' is ambiguous"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\n  a.Session\n  b.Session\n"), std::string::npos)
      << r.err;
  r = Muppy({"tree", f, "--type", "Session"});
  EXPECT_EQ(r.status, 2);
  r = Muppy({"objects", f, "--type", "a.Session", "-f", "csv"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(",a.Session,"), std::string::npos);
  EXPECT_EQ(r.out.find("b.Session"), std::string::npos);
  r = Muppy({"tree", f, "--type", "Cart"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "a.Cart--list\n");
}

TEST(LeaksTest, GroupsLeakedObjectsByHoldingPattern) {
  auto f = LeakDumps();
  Result r = Muppy({"leaks", f[0], f[1], f[2], f[3]});
  EXPECT_EQ(r.status, 0) << r.err;
  // Windows 2-4 with their __dict__s (56 + 104 B each; window 2's dict
  // reuses an address of D1), cache entries 2-4; not: window 1 (in D1),
  // the temporary, the flickering address, garbage, what the running
  // frame or a C caller holds.
  EXPECT_EQ(r.out,
            "held by                         |   # objects |         type |"
            "   total size | address   | example\n"
            "=============================== | =========== | ============ |"
            " ============ | ========= | ===================================\n"
            "sys.modules['app'].cache['*']   |           3 |        bytes |"
            "      2.93 KB | 0x30200   | sys.modules['app'].cache['req-2']\n"
            "    holds 3 bytes (2.93 KB)\n"
            "sys.modules['app'].windows[*]   |           3 |   app.Window |"
            "    480     B | 0x10200   | sys.modules['app'].windows[1]\n"
            "    holds 3 dict (312 B), 3 app.Window (168 B)\n");
}

TEST(LeaksTest, TwoDumpsAndJson) {
  auto f = LeakDumps();
  Result r = Muppy({"leaks", f[2], f[3], "--format", "json"});
  EXPECT_EQ(r.status, 0) << r.err;
  // Born between D3 and D4: window 4 (+ its dict), cache entry 4, the
  // flicker list (absent from D3) and last_request: with two dumps all
  // count.  The temporary died; garbage is left out.
  EXPECT_NE(r.out.find("\"pattern\": \"sys.modules['app'].windows[*]\", "
                       "\"count\": 1, \"type\": \"app.Window\", \"size\": 160, "
                       "\"objects\": 2"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"pattern\": \"sys.modules['app'].flicker\""),
            std::string::npos);
  EXPECT_NE(r.out.find("\"pattern\": \"sys.modules['app'].last_request\""),
            std::string::npos);
  EXPECT_EQ(r.out.find("tmp"), std::string::npos);
  Result same = Muppy({"leaks", f[3], f[3]});
  EXPECT_EQ(Lines(same.out).size(), 2u) << same.out;  // header only
}

TEST(LeaksTest, WarnsAboutDumpsOfDifferentProcesses) {
  std::vector<std::string> f;
  for (const char *pid : {"100", "200"}) {
    Dump d;
    d.Meta("pid", pid);
    uint32_t tl = d.Type("list");
    d.Root(d.Obj(0x1000, tl), FMT_ROOT_MODULE, "m");
    f.push_back(d.Write(std::string("pid") + pid + ".dump"));
  }
  Result r = Muppy({"leaks", f[0], f[1]});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "muppy: warning: " + f[0] + " is from process 100, " +
                       f[1] + " from process 200: objects are matched by "
                       "address, which only works within one process\n");
}

// `muppy leaks` runs without the referrer index (it reads Dn twice,
// frees what it is done with, gathers referrers for the names); browse
// and report find the leaks on the whole graph (tools/loaded.c).  Both
// must say the same, line for line.
std::string LinesOfReport(const leaks_report &r, const fmt_dump &d) {
  std::string out;
  for (uint64_t k = 0; k < r.n; k++) {
    const leaks_line &l = r.lines[k];
    char addr[32];
    snprintf(addr, sizeof addr, "0x%llx",
             (unsigned long long)d.obj_addr[l.example_obj]);
    out += l.pattern + std::string(" ") + std::to_string(l.count) + " " +
           l.type + " " + std::to_string(l.size) + " " +
           std::to_string(l.objects) + " " + l.example + " " + addr + "\n";
  }
  return out;
}

std::string JsonField(const std::string &line, const std::string &key) {
  size_t at = line.find("\"" + key + "\": ");
  if (at == std::string::npos) return "?";
  at += key.size() + 4;
  if (line[at] == '"') {
    std::string v;
    for (size_t i = at + 1; i < line.size() && line[i] != '"'; i++) {
      if (line[i] == '\\') i++;
      v += line[i];
    }
    return v;
  }
  return line.substr(at, line.find_first_of(",}", at) - at);
}

std::string LinesOfJson(const std::string &json) {
  std::string out;
  for (const std::string &l : Lines(json)) {
    if (l.find("\"pattern\"") == std::string::npos) continue;
    out += JsonField(l, "pattern") + " " + JsonField(l, "count") + " " +
           JsonField(l, "type") + " " + JsonField(l, "size") + " " +
           JsonField(l, "objects") + " " + JsonField(l, "example") + " " +
           JsonField(l, "example_address") + "\n";
  }
  return out;
}

TEST(LeaksTest, WithoutTheReferrerIndexAsWithIt) {
  auto f = LeakDumps();
  std::vector<std::vector<std::string>> series = {
      {f[0], f[1], f[2], f[3]}, {f[2], f[3]}, {f[0], f[3]},
      {f[1], f[2], f[3]}, {f[0], f[1]}};
  int nonempty = 0;
  for (const auto &s : series) {
    std::vector<const char *> files;
    for (const auto &x : s) files.push_back(x.c_str());
    util_series a = {};
    a.files = files.data();
    a.nfiles = (int)files.size();
    fmt_dump d;
    ASSERT_EQ(graph_read_dump(files.back(), &d), 0);
    leaks_marks *m = nullptr;
    ASSERT_EQ(leaks_mark(&a, &d, &m), 0);
    graph g;
    graph_paths p;
    ASSERT_EQ(graph_build(&g, &d), 0);
    ASSERT_EQ(graph_paths_compute(&g, &p), 0);
    leaks_report r = {};
    ASSERT_EQ(leaks_find(&a, m, &g, &p, &r), 0);
    std::string whole = LinesOfReport(r, d);
    std::vector<std::string> args = {"leaks"};
    args.insert(args.end(), s.begin(), s.end());
    args.push_back("--format");
    args.push_back("json");
    Result lean = Muppy(args);
    EXPECT_EQ(lean.status, 0) << lean.err;
    EXPECT_EQ(LinesOfJson(lean.out), whole) << s.size();
    nonempty += r.n > 0;
    leaks_report_free(&r);
    leaks_marks_free(m);
    graph_paths_free(&p);
    graph_free(&g);
    fmt_dump_free(&d);
  }
  EXPECT_GE(nonempty, 4);
}

// Design note 5 counts, for an old object below a leaked one, its
// referrers that are not leaked, in 16 bits that saturate: an object
// with 65536 old referrers must not read as held by the leak alone.
TEST(LeaksTest, ManyOldReferrersKeepAnObjectOld) {
  std::vector<std::string> f;
  for (int k = 1; k <= 2; k++) {
    Dump d;
    uint32_t tm = d.Type("module", 0x100), tl = d.Type("list", 0x300),
             tn = d.Type("app.Node", 0x400), ts = d.Type("str", 0x500);
    uint32_t mod = d.Obj(0x1000, tm, 72, "app");
    uint32_t shared = d.Obj(0x2000, ts, 64);
    uint32_t all = d.Obj(0x3000, tl, 8 * 65536);
    if (k == 2) {  // the leak, seen first by the BFS (module roots first)
      uint32_t leak = d.Obj(0x4000, tn, 48);
      d.Edge(mod, leak, d.Attr("leak"));
      d.Edge(leak, shared, d.Attr("name"));
    }
    d.Edge(mod, all, d.Attr("nodes"));
    for (uint32_t i = 0; i < 65536; i++) {
      uint32_t n = d.Obj(0x100000 + 0x40 * (uint64_t)i, tn, 48);
      d.Edge(all, n, Dump::Index(i));
      d.Edge(n, shared, d.Attr("name"));
    }
    d.Root(mod, FMT_ROOT_MODULE, "app");
    f.push_back(d.Write("many" + std::to_string(k) + ".dump"));
  }
  Result r = Muppy({"leaks", f[0], f[1], "--format", "json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"pattern\": \"sys.modules['app'].leak\", "
                       "\"count\": 1, \"type\": \"app.Node\", "
                       "\"size\": 48, \"objects\": 1"),
            std::string::npos) << r.out;
}

// leaks reads Dn twice (addresses and types to mark, then whole): the
// second read must be the dump the marks were made for.
TEST(LeaksTest, MarksFitOnlyTheDumpTheyWereMadeFor) {
  auto f = LeakDumps();
  std::vector<const char *> files = {f[2].c_str(), f[3].c_str()};
  util_series a = {};
  a.files = files.data();
  a.nfiles = 2;
  fmt_dump match, whole, other, moved;
  ASSERT_EQ(graph_read_match(f[3].c_str(), &match), 0);
  leaks_marks *m = nullptr;
  ASSERT_EQ(leaks_mark(&a, &match, &m), 0);
  ASSERT_EQ(graph_read_dump(f[3].c_str(), &whole), 0);
  ASSERT_EQ(graph_read_dump(f[2].c_str(), &other), 0);
  EXPECT_TRUE(leaks_marks_fit(m, &match));
  EXPECT_TRUE(leaks_marks_fit(m, &whole));
  EXPECT_FALSE(leaks_marks_fit(m, &other));
  // Same count, one address moved: not the same dump.
  ASSERT_EQ(graph_read_dump(f[3].c_str(), &moved), 0);
  moved.obj_addr[moved.nobjects - 1] += 0x10;
  EXPECT_FALSE(leaks_marks_fit(m, &moved));
  leaks_marks_free(m);
  fmt_dump_free(&match);
  fmt_dump_free(&whole);
  fmt_dump_free(&other);
  fmt_dump_free(&moved);
}

TEST(LeaksTest, Usage) {
  auto f = LeakDumps();
  Result r = Muppy({"leaks", f[0]});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("at least two dumps"), std::string::npos);
  r = Muppy({"leaks", f[0], TmpDir() + "/nope.dump"});
  EXPECT_EQ(r.status, 2);
}

// ---- browse (the model itself: browse_test.cc) ----------------------------

TEST(BrowseTest, OlderDumpsInAnyOrderStartOnTheSuspects) {
  auto f = LeakDumps();
  // The browsed dump first, the older ones shuffled, the newest again (a
  // glob of all): ordered by META time, the copy dropped.
  Result r = Muppy({"browse", f[3], f[1], f[0], f[3], f[2], "--batch", "",
                    "--size", "12x100"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 12u) << r.out;
  EXPECT_EQ(lines[0].rfind("leak suspects", 0), 0u) << r.out;
  EXPECT_NE(lines[0].find("1/2 by size | leak4.dump"), std::string::npos)
      << lines[0];
  // What `muppy leaks D1..D4` says, line for line.
  EXPECT_EQ(lines[2].rfind("sys.modules['app'].cache['*']  bytes", 0), 0u)
      << r.out;
  EXPECT_EQ(lines[3].rfind("sys.modules['app'].windows[*]  app.Window", 0),
            0u) << r.out;
  EXPECT_NE(lines[10].find("e.g. sys.modules['app'].cache['req-2'] "
                           "0x30200  holds 3 bytes"), std::string::npos)
      << lines[10];
  // Enter: who holds the example; then its path.
  r = Muppy({"browse", f[3], f[0], f[1], f[2], "--batch", "<Enter>p",
             "--size", "12x100"});
  ASSERT_EQ(r.status, 0) << r.err;
  lines = Lines(r.out);
  EXPECT_EQ(lines[1], "sys.modules['app'].cache") << r.out;
  EXPECT_NE(r.out.find("\n['cache']  dict "), std::string::npos) << r.out;
  // The summary's growth since the oldest: 3 more Windows.
  r = Muppy({"browse", f[3], f[0], "--batch", "/app.Window<Enter><Left>t"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("summary (growth since the oldest dump)"),
            std::string::npos) << r.out;
}

TEST(BrowseTest, StartAtAnAddressOrAType) {
  auto f = LeakDumps();
  Result r = Muppy({"browse", f[3], "0x10200", "--batch", "", "--timings"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("referrers of app.Window 0x10200", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\n[1]  list "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("browse: first screen "), std::string::npos) << r.err;
  r = Muppy({"browse", f[3], "--type", "Window", "--batch", "G"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("instances of Window", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(" 4/4 "), std::string::npos) << r.out;
  // A decimal id() names the object as well.
  r = Muppy({"browse", f[3], std::to_string(0x10200), "--batch", ""});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("referrers of app.Window 0x10200", 0), 0u) << r.out;
}

TEST(BrowseTest, BadInputIsAUsageError) {
  auto f = LeakDumps();
  struct {
    std::vector<std::string> args;
    const char *err;
  } cases[] = {
      {{"browse", f[3]}, "browse needs a terminal"},
      {{"browse"}, "a dump file is needed"},
      {{"browse", f[3], "0xdead", "--batch", ""}, "has no object at 0xdead"},
      {{"browse", f[3], "--type", "Nope", "--batch", ""},
       "has no type named 'Nope'"},
      {{"browse", f[3], "--batch", "", "--size", "2x80"}, "--size wants"},
      {{"browse", f[3], "--batch", "", "--size", "24x80x"}, "--size wants"},
      {{"browse", f[3], "--size", "24x80"}, "are for --batch"},
      {{"browse", f[3], TmpDir() + "/nope.dump", "--batch", ""},
       "nope.dump"},
      {{"browse", TmpDir() + "/nope.dump", "--batch", ""}, "nope.dump"},
  };
  for (auto &c : cases) {
    Result r = Muppy(c.args);
    EXPECT_EQ(r.status, 2) << c.err << ": " << r.err;
    EXPECT_NE(r.err.find(c.err), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << c.err;
  }
  Result r = Muppy({"browse", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("usage: muppy browse DUMP", 0), 0u);
}

// ---- report ----------------------------------------------------------------

// The explorer's JSON, from the page.
std::string PageData(const std::string &html) {
  std::string open = "<script type=\"application/json\" id=\"muppy-data\">";
  size_t a = html.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  return html.substr(a, html.find("</script>", a) - a);
}

TEST(ReportTest, SuspectsRetainersAndExplorerInOneFile) {
  auto f = LeakDumps();
  std::string out = TmpDir() + "/report.html";
  unlink(out.c_str());
  // Dumps in any order: the newest (leak4) is explored.
  Result r = Muppy({"report", f[2], f[3], f[0], f[1], "-o", out});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("wrote " + out + " (", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("): 4 dumps, 2 suspects, "), std::string::npos)
      << r.out;
  struct stat st;
  ASSERT_EQ(stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string html = Slurp(out);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
  // The suspects as `muppy leaks` ranks them, the culprit first.
  size_t s1 = html.find("id=\"suspect-1\""), s2 = html.find("id=\"suspect-2\"");
  ASSERT_NE(s1, std::string::npos);
  ASSERT_NE(s2, std::string::npos);
  std::string first = html.substr(s1, s2 - s1);
  EXPECT_NE(first.find("sys.modules[&#39;app&#39;].cache[&#39;*&#39;]"),
            std::string::npos) << first;
  EXPECT_NE(first.find("<span class=\"count\">3</span> <span class=\"what\">"
                       "bytes</span>"), std::string::npos) << first;
  EXPECT_NE(first.find("data-copy=\"0x30200\""), std::string::npos) << first;
  EXPECT_NE(first.find("data-copy=\"muppy browse " + f[3] + " 0x30200\""),
            std::string::npos) << first;
  EXPECT_NE(html.find("id=\"suspect-2\"><div class=\"sline\"><span class="
                      "\"count\">3</span> <span class=\"what\">app.Window"),
            std::string::npos);
  // Four dumps in the table; two charts, as these dumps have no summary
  // rows (the shim's always do: the third chart is test_report.py's).
  EXPECT_NE(html.find("<td class=\"l\"><code>leak4.dump</code>"),
            std::string::npos);
  size_t charts = 0;
  for (size_t at = 0; (at = html.find("<svg class=\"chart\"", at)) !=
                      std::string::npos; at++)
    charts++;
  EXPECT_EQ(charts, 2u);
  EXPECT_NE(html.find("No summary row grew in bytes"), std::string::npos);
  // The top retainer is the module; the explorer holds the objects around.
  EXPECT_NE(html.find("<td class=\"l\">module(app)</td>"), std::string::npos);
  std::string data = PageData(html);
  EXPECT_NE(data.find("\"dump\":\"" + f[3] + "\""), std::string::npos);
  EXPECT_NE(data.find("[\"30200\","), std::string::npos) << data;
  EXPECT_NE(data.find("\"p\":\"sys.modules['app'].cache\""),
            std::string::npos) << data;
  // No temporary file is left beside it.
  r = Muppy({"report", f[3], "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(r.out.find("One dump: suspects need two or more dumps"),
            std::string::npos);
}

TEST(ReportTest, GroupsOfOneKindAndTheBound) {
  // 2,000 objects of one kind under one list: one group entry with its
  // count and a few members, and the explorer stays within --max-objects.
  Dump d;
  uint32_t tm = d.Type("module", 0x100), tl = d.Type("list", 0x200),
           tf = d.Type("function", 0x300);
  uint32_t mod = d.Obj(0x1000, tm, 72, "app"), l = d.Obj(0x2000, tl, 16056);
  d.Edge(mod, l, d.Other("handlers"));
  for (int i = 0; i < 2000; i++)
    d.Edge(l, d.Obj(0x10000 + 0x80 * (uint64_t)i, tf, 120, "on_done"),
           Dump::Index((uint32_t)i));
  d.Root(mod, FMT_ROOT_MODULE, "app");
  std::string f = d.Write("group.dump");
  Result r = Muppy({"report", f, "-o", "-", "--max-objects", "1000"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string data = PageData(r.out);
  EXPECT_NE(data.find("\"c\":2000,\"s\":240000,\"r\":240000,\"m\":[["),
            std::string::npos) << data.substr(0, 2000);
  EXPECT_NE(data.find("\"function (on_done)\""), std::string::npos);
  size_t nodes = 0, a = data.find("\"nodes\":["), b = data.find("\"full\":");
  for (size_t at = a; at < b; at++)
    if (data.compare(at, 2, "[\"") == 0) nodes++;
  EXPECT_GT(nodes, 2u);
  EXPECT_LE(nodes, 1000u);
}

TEST(ReportTest, NamesThatAreHtmlAreEscaped) {
  Dump d;
  uint32_t tm = d.Type("module", 0x100), td = d.Type("dict", 0x200),
           te = d.Type("</script><b id=\"evil\">&x</b>", 0x300);
  uint32_t mod = d.Obj(0x1000, tm, 72, "<img src=x onerror=alert(1)>"),
           g = d.Obj(0x2000, td, 1000);
  d.Edge(mod, g, d.Other("__dict__"));
  d.Edge(g, d.Obj(0x3000, te, 56), d.Key("</script>"));
  d.Root(mod, FMT_ROOT_MODULE, "<img src=x onerror=alert(1)>");
  d.Meta("cmdline", "python3 -c '</script><script>alert(1)</script>'");
  std::string f = d.Write("evil.dump");
  Result r = Muppy({"report", f, "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  size_t ends = 0;
  for (size_t at = 0; (at = r.out.find("</script>", at)) != std::string::npos;
       at++)
    ends++;
  EXPECT_EQ(ends, 2u);  // the data's and the code's, nothing else
  EXPECT_EQ(r.out.find("<b id="), std::string::npos);
  EXPECT_EQ(r.out.find("<img"), std::string::npos);
  EXPECT_NE(r.out.find("&lt;/script&gt;&lt;b id=&quot;evil&quot;&gt;&amp;x"),
            std::string::npos);
  EXPECT_NE(PageData(r.out).find("\\u003c/script\\u003e\\u003cb id=\\\"evil"
                                 "\\\"\\u003e\\u0026x"), std::string::npos);
}

TEST(ReportTest, BadInputAndUnwritableOutput) {
  auto f = LeakDumps();
  std::string bad = TmpDir() + "/trunc.dump";
  std::string whole = Slurp(f[0]);
  std::ofstream(bad, std::ios::binary) << whole.substr(0, whole.size() / 2);
  std::string out = TmpDir() + "/bad-report.html";
  unlink(out.c_str());
  struct {
    std::vector<std::string> args;
    int status;
    const char *err;
  } cases[] = {
      {{"report"}, 2, "a dump file is needed"},
      {{"report", bad, "-o", out}, 2, "trunc.dump: "},
      {{"report", f[3], bad, "-o", out}, 2, "trunc.dump: "},
      {{"report", f[3], "--max-objects", "5", "-o", out}, 2,
       "--max-objects"},
      {{"report", f[3], "--retainers", "x", "-o", out}, 2, "--retainers"},
      {{"report", f[3], "-o", TmpDir() + "/no/such/dir/r.html"}, 1,
       "cannot write "},
  };
  for (auto &c : cases) {
    Result r = Muppy(c.args);
    EXPECT_EQ(r.status, c.status) << c.err << ": " << r.err;
    EXPECT_NE(r.err.find(c.err), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << c.err;
    EXPECT_NE(access(out.c_str(), F_OK), 0) << c.err;
  }
  Result r = Muppy({"report", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("usage: muppy report D1", 0), 0u);
}

// ---- diff --objects -------------------------------------------------------

TEST(DiffObjectsTest, CountsBirthsByType) {
  auto f = LeakDumps();
  Result r = Muppy({"diff", f[0], f[3], "--objects"});
  EXPECT_EQ(r.status, 0) << r.err;
  // By address and type only: window 2's dict reuses an address of D1 and
  // does not count; the frame, the C-held temporaries and garbage do.
  EXPECT_EQ(r.out,
            "       types |   # objects |   total size\n"
            "============ | =========== | ============\n"
            "        list |           4 |     16.11 KB\n"
            "       bytes |           4 |      2.96 KB\n"
            "        dict |           3 |    848     B\n"
            "       frame |           1 |    400     B\n"
            "  app.Window |           3 |    168     B\n");
  r = Muppy({"diff", f[0], f[3], "--objects", "--format", "csv",
             "--sort", "type"});
  EXPECT_EQ(r.out,
            "type,count,size\nlist,4,16500\nframe,1,400\ndict,3,848\n"
            "bytes,4,3033\napp.Window,3,168\n");
  r = Muppy({"diff", f[0], f[0], "--objects"});
  EXPECT_EQ(Lines(r.out).size(), 2u);
}

// ---- orphans --------------------------------------------------------------

TEST(OrphansTest, HeldFromOutsideAndUnreferenced) {
  Dump d;
  uint32_t tm = d.Type("module"), tl = d.Type("list"), ts = d.Type("str");
  uint32_t mod = d.Obj(0x1000, tm, 72, "m"), fine = d.Obj(0x2000, tl, 64);
  uint32_t held = d.Obj(0x3000, tl, 80, "", 3);
  d.Obj(0x4000, tl, 90);                            // no referrer, refcnt 0
  d.Obj(0x5000, ts, 50, "", 4294967295LL);          // immortal: left out
  d.Edge(mod, fine);
  d.Edge(mod, held);
  d.Root(mod, FMT_ROOT_MODULE, "m");
  Result r = Muppy({"orphans", d.Write("orphans.dump"), "--objects"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "address   |   type |         size |   refcnt |   referrers |"
            "   extra | label\n"
            "========= | ====== | ============ | ======== | =========== |"
            " ======= | =======\n"
            "0x3000    |   list |     80     B |        3 |           1 |"
            "       2 |\n"
            "0x4000    |   list |     90     B |        0 |           0 |"
            "       0 |\n");
}

// Grouped by type and label, static objects left out, and with an older
// dump the group that grew first.
std::string OrphanDump(const std::string &name, int callbacks) {
  Dump d;
  uint32_t tm = d.Type("module"), tl = d.Type("list"), tf = d.Type("method"),
           tn = d.Type("NoneType"), ti = d.Type("int"), ts = d.Type("str");
  uint32_t mod = d.Obj(0x1000, tm, 72, "m");
  d.Root(mod, FMT_ROOT_MODULE, "m");
  for (int i = 0; i < 5; i++)      // five lists held from C, steady
    d.Obj(0x2000 + 0x100 * (uint64_t)i, tl, 200, "", 2);
  for (int i = 0; i < callbacks; i++)  // callbacks held from C, growing
    d.Obj(0x8000 + 0x100 * (uint64_t)i, tf, 64, "", 1);
  // None (by type name, as in old dumps), a flagged small int and an
  // interned str: held from everywhere, never orphans.
  d.Obj(0x100, tn, 16, "", 5000);
  d.AddObj(0x180, ti, 28, 900, "", FMT_OBJ_STATIC);
  d.AddObj(0x1f0, ts, 60, 40, "", FMT_OBJ_STATIC);
  return d.Write(name);
}

TEST(OrphansTest, GroupsByTypeAndRanksGrowthFirst) {
  std::string d1 = OrphanDump("orph1.dump", 2), d2 = OrphanDump("orph2.dump", 9);
  Result r = Muppy({"orphans", d2, "--format", "csv"});
  EXPECT_EQ(r.status, 0) << r.err;
  // One dump: by retained size (5 lists, 1000 B, before 9 methods, 576 B).
  EXPECT_EQ(r.out,
            "type,label,count,growth,extra,size,retained,example\n"
            "list,,5,0,10,1000,1000,0x2000\n"
            "method,,9,0,9,576,576,0x8000\n");
  r = Muppy({"orphans", d1, d2, "--format", "csv"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "type,label,count,growth,extra,size,retained,example\n"
            "method,,9,7,9,576,576,0x8000\n"
            "list,,5,0,10,1000,1000,0x2000\n");
  r = Muppy({"orphans", d1, d2});
  EXPECT_NE(r.out.find("growth"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("NoneType"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("int"), std::string::npos) << r.out;
}

// ---- top ------------------------------------------------------------------

TEST(TopTest, RetainedSizesWithPaths) {
  Dump d;
  uint32_t tm = d.Type("module"), td = d.Type("dict"), tn = d.Type("app.Node");
  uint32_t mod = d.Obj(0x1000, tm, 100, "app"), g = d.Obj(0x2000, td, 1000);
  d.Edge(mod, g, d.Other("__dict__"));
  uint32_t prev = g;
  for (int i = 0; i < 5; i++) {  // app.head -> Node -> Node ... (linked)
    uint32_t n = d.Obj(0x3000 + 0x100 * i, tn, 200);
    d.Edge(prev, n, i == 0 ? d.Key("head") : d.Attr("next"));
    prev = n;
  }
  d.Root(mod, FMT_ROOT_MODULE, "app");
  std::string f = d.Write("top.dump");
  Result r = Muppy({"top", f, "--limit", "3", "--format", "csv"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "rank,retained,size,type,address,path\n"
            "1,2100,100,module,0x1000,sys.modules['app']\n"
            "2,2000,1000,dict,0x2000,sys.modules['app'].__dict__\n"
            "3,1000,200,app.Node,0x3000,sys.modules['app'].head\n");
  r = Muppy({"top", f, "--by-type", "--format", "csv"});
  EXPECT_EQ(r.out,
            "count,retained,size,type,address,path\n"
            "1,2100,100,module,0x1000,sys.modules['app']\n"
            "1,2000,1000,dict,0x2000,sys.modules['app'].__dict__\n"
            "5,1000,1000,app.Node,0x3000,sys.modules['app'].head\n");
}

// ---- track ----------------------------------------------------------------

TEST(TrackTest, IntervalDiffsAndSuspects) {
  std::vector<std::string> f;
  // Foo grows every interval; Bar only once then shrinks; baz is stable.
  int foo[] = {10, 20, 30, 40}, bar[] = {5, 50, 5, 5};
  for (int k = 0; k < 4; k++) {
    Dump d;
    d.Type("x");
    d.Row("__main__.Foo", foo[k], foo[k] * 56);
    d.Row("__main__.Bar", bar[k], bar[k] * 100);
    d.Row("baz", 1, 1000);
    f.push_back(d.Write("track" + std::to_string(k) + ".dump", true));
  }
  Result r = Muppy({"track", f[0], f[1], f[2], f[3]});
  EXPECT_EQ(r.status, 0) << r.err;
  std::string want =
      f[0] + " -> " + f[1] + "\n"
      "         types |   # objects |   total size\n"
      "============== | =========== | ============\n"
      "  __main__.Bar |          45 |      4.39 KB\n"
      "  __main__.Foo |          10 |    560     B\n"
      "\n" +
      f[1] + " -> " + f[2] + "\n"
      "         types |   # objects |    total size\n"
      "============== | =========== | =============\n"
      "  __main__.Foo |          10 |     560     B\n"
      "  __main__.Bar |         -45 |   -4500     B\n"
      "\n" +
      f[2] + " -> " + f[3] + "\n"
      "         types |   # objects |   total size\n"
      "============== | =========== | ============\n"
      "  __main__.Foo |          10 |    560     B\n"
      "\n"
      "leak suspects (grew in at least half of the 3 intervals, and "
      "overall):\n"
      "         types |              grew in |   # objects |   total size |"
      " # objects per interval\n"
      "============== | ==================== | =========== | ============ |"
      " ========================\n"
      "  __main__.Foo |   3/3 count and size |         +30 |      1.64 KB |"
      " +10 +10 +10\n";
  EXPECT_EQ(r.out, want);
  r = Muppy({"track", f[0]});
  EXPECT_EQ(r.status, 2);
}

TEST(AnalysisTest, EveryCommandHasHelpAndIsListed) {
  Result all = Muppy({"--help"});
  for (const char *c : {"tree", "path", "leaks", "track", "top", "orphans",
                        "browse", "report"}) {
    Result r = Muppy({c, "--help"});
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_EQ(r.out.rfind(std::string("usage: muppy ") + c, 0), 0u) << c;
    EXPECT_NE(all.out.find(std::string("  muppy ") + c + " "),
              std::string::npos) << c;
  }
  Result r = Muppy({"diff", "--objects", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--objects"), std::string::npos);
}

}  // namespace
