// test_dump.h - the one dump fixture of the unit tests: strings, types,
// summary rows, META, objects, edges, roots and string data added by hand,
// seen as a struct fmt_dump (View) or encoded by the codec (Encode).
// Every test's builder is a thin face on it (Mem in graph_test and
// dominators_test, Dump in analysis_test, DumpBuilder in cli_test).
#ifndef MUPPY_TESTS_TEST_DUMP_H
#define MUPPY_TESTS_TEST_DUMP_H

#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "format/dump.h"

// Objects may be added in any address order: View and Encode sort them by
// address (the format's order) and map edges, roots and string data to the
// sorted indices.  A refcount of -1 becomes the object's in-heap referrer
// count, so nothing is "held from outside" unless a test says so.
class TestDump {
 public:
  TestDump() { Str(""); }

  uint32_t Str(const std::string &s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    strs_.push_back(s);
    return ids_[s] = (uint32_t)strs_.size() - 1;
  }
  void Meta(const std::string &k, const std::string &v) {
    meta_.push_back({Str(k), Str(v)});
  }
  uint32_t AddType(uint64_t addr, const std::string &name) {
    types_.push_back({addr, Str(name)});
    return (uint32_t)types_.size() - 1;
  }
  void Row(const std::string &name, uint64_t count, uint64_t size) {
    rows_.push_back({Str(name), count, size});
  }
  uint32_t AddObj(uint64_t addr, uint32_t type, uint64_t size,
                  int64_t refcnt, const std::string &label,
                  uint8_t flags = FMT_OBJ_GC_TRACKED) {
    objs_.push_back({addr, type, size, refcnt, Str(label), flags});
    return (uint32_t)objs_.size() - 1;
  }
  void Edge(uint32_t a, uint32_t b, uint32_t name = 0) {
    edges_.push_back({a, b, name});
  }
  uint32_t Key(const std::string &k) {
    return FMT_EDGE_NAME(FMT_EDGE_KEY, Str(k));
  }
  uint32_t Attr(const std::string &k) {
    return FMT_EDGE_NAME(FMT_EDGE_ATTR, Str(k));
  }
  uint32_t Other(const std::string &k) {
    return FMT_EDGE_NAME(FMT_EDGE_OTHER, Str(k));
  }
  static uint32_t Index(uint32_t i) { return FMT_EDGE_NAME(FMT_EDGE_INDEX, i); }
  void Root(uint32_t obj, uint32_t kind, const std::string &name) {
    roots_.push_back({obj, kind, Str(name)});
  }
  void StrData(uint32_t obj, const std::string &value) {
    strdata_.push_back({obj, Str(value)});
  }
  uint64_t Addr(uint32_t i) const { return objs_[i].addr; }
  size_t ntypes() const { return types_.size(); }
  size_t nobjects() const { return objs_.size(); }

  // The dump (graph: with its objects, edges, roots and string data; the
  // STRINGS flag when there is string data).  Valid until the next call.
  const fmt_dump *View(bool graph = true) {
    Build(graph);
    return &d_;
  }
  // The encoded file of View(graph).
  std::string Encode(bool graph = true) {
    std::string out;
    int rc = fmt_write(View(graph), 1, Sink, &out);
    if (rc != 0) out.clear();
    last_rc_ = rc;
    return out;
  }
  int last_write_rc() const { return last_rc_; }

 private:
  struct O {
    uint64_t addr;
    uint32_t type;
    uint64_t size;
    int64_t refcnt;
    uint32_t label;
    uint8_t flags;
  };
  struct E {
    uint32_t a, b, name;
  };

  static int Sink(void *ctx, const void *buf, size_t len) {
    static_cast<std::string *>(ctx)->append((const char *)buf, len);
    return 0;
  }

  void Build(bool graph) {
    size_t n = objs_.size();
    std::vector<uint32_t> perm(n), pos(n);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    std::stable_sort(perm.begin(), perm.end(), [&](uint32_t a, uint32_t b) {
      return objs_[a].addr < objs_[b].addr;
    });
    for (uint32_t k = 0; k < n; k++) pos[perm[k]] = k;
    std::vector<E> es(edges_);
    for (auto &e : es) e.a = pos[e.a], e.b = pos[e.b];
    std::stable_sort(es.begin(), es.end(),
                     [](const E &x, const E &y) { return x.a < y.a; });
    std::vector<uint64_t> in(n, 0);
    start_.assign(n + 1, 0);
    dst_.clear();
    ename_.clear();
    for (auto &e : es) {
      dst_.push_back(e.b);
      ename_.push_back(e.name);
      in[e.b]++;
      start_[e.a + 1]++;
    }
    for (size_t i = 0; i < n; i++) start_[i + 1] += start_[i];
    addr_.clear(), type_.clear(), size_.clear(), refcnt_.clear();
    label_.clear(), flags_.clear();
    for (uint32_t k = 0; k < n; k++) {
      const O &o = objs_[perm[k]];
      addr_.push_back(o.addr);
      type_.push_back(o.type);
      size_.push_back(o.size);
      refcnt_.push_back(o.refcnt < 0 ? (uint32_t)in[k] : (uint32_t)o.refcnt);
      label_.push_back(o.label);
      flags_.push_back(o.flags);
    }
    roots_sorted_ = roots_;
    for (auto &r : roots_sorted_) r.obj = pos[r.obj];
    strdata_sorted_ = strdata_;
    for (auto &s : strdata_sorted_) s.obj = pos[s.obj];
    sv_.clear();
    for (auto &s : strs_) sv_.push_back({s.c_str(), (uint32_t)s.size()});
    memset(&d_, 0, sizeof d_);
    d_.flags = graph ? FMT_FLAG_GRAPH : 0;
    if (graph && !strdata_.empty()) d_.flags |= FMT_FLAG_STRINGS;
    d_.nstrings = (uint32_t)sv_.size();
    d_.strings = sv_.data();
    d_.nmeta = (uint32_t)meta_.size();
    d_.meta = meta_.data();
    d_.ntypes = (uint32_t)types_.size();
    d_.types = types_.data();
    d_.nsummary = (uint32_t)rows_.size();
    d_.summary = rows_.data();
    if (!graph) return;
    d_.nobjects = n;
    d_.obj_addr = addr_.data();
    d_.obj_type = type_.data();
    d_.obj_size = size_.data();
    d_.obj_refcnt = refcnt_.data();
    d_.obj_label = label_.data();
    d_.obj_flags = flags_.data();
    d_.nedges = dst_.size();
    d_.edge_start = start_.data();
    d_.edge_dst = dst_.data();
    d_.edge_name = ename_.data();
    d_.nroots = (uint32_t)roots_sorted_.size();
    d_.roots = roots_sorted_.data();
    d_.nstrdata = (uint32_t)strdata_sorted_.size();
    d_.strdata = strdata_sorted_.data();
  }

  std::vector<std::string> strs_;
  std::map<std::string, uint32_t> ids_;
  std::vector<fmt_meta> meta_;
  std::vector<fmt_type> types_;
  std::vector<fmt_summary_row> rows_;
  std::vector<O> objs_;
  std::vector<E> edges_;
  std::vector<fmt_root> roots_, roots_sorted_;
  std::vector<fmt_strdata> strdata_, strdata_sorted_;
  // What View points into.
  std::vector<struct fmt_str> sv_;
  std::vector<uint64_t> addr_, size_;
  std::vector<uint32_t> type_, label_, refcnt_, start_, dst_, ename_;
  std::vector<uint8_t> flags_;
  fmt_dump d_;
  int last_rc_ = 0;
};

// The graph tests' face: addresses given in the order objects are made.
class Mem : public TestDump {
 public:
  uint32_t Type(const std::string &name) {
    return AddType(0x5000 + 0x10 * (uint64_t)ntypes(), name);
  }
  uint32_t Obj(uint32_t type, uint64_t size = 16, int64_t refcnt = -1,
               const std::string &label = "") {
    return AddObj(0x100000 + 0x100 * (uint64_t)nobjects(), type, size,
                  refcnt, label);
  }
  const fmt_dump *View() { return TestDump::View(true); }
};

#endif  // MUPPY_TESTS_TEST_DUMP_H
