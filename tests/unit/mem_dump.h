// mem_dump.h - a dump built in memory for the analysis unit tests
// (graph_test.cc, dominators_test.cc): objects, edges and roots added by
// hand and exposed as a struct fmt_dump, without the codec.
#ifndef MUPPY_TESTS_MEM_DUMP_H
#define MUPPY_TESTS_MEM_DUMP_H

#include <stdint.h>

#include <map>
#include <string>
#include <vector>

#include "format/dump.h"

// A dump in memory.  Objects get increasing addresses; a refcount of -1
// (the default) becomes the object's in-heap referrer count, so nothing is
// "held from outside" unless a test says so.
class Mem {
 public:
  Mem() { Str(""); }
  uint32_t Str(const std::string &s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    strs_.push_back(s);
    return ids_[s] = (uint32_t)strs_.size() - 1;
  }
  uint32_t Type(const std::string &name) {
    types_.push_back({0x5000 + 0x10 * (uint64_t)types_.size(), Str(name)});
    return (uint32_t)types_.size() - 1;
  }
  uint32_t Obj(uint32_t type, uint64_t size = 16, int64_t refcnt = -1,
               const std::string &label = "") {
    addr_.push_back(0x100000 + 0x100 * (uint64_t)addr_.size());
    type_.push_back(type);
    size_.push_back(size);
    rc_.push_back(refcnt);
    label_.push_back(Str(label));
    return (uint32_t)addr_.size() - 1;
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
  void Root(uint32_t obj, uint32_t kind, const std::string &name) {
    roots_.push_back({obj, kind, Str(name)});
  }
  uint64_t Addr(uint32_t i) const { return addr_[i]; }

  const fmt_dump *View() {
    sv_.clear();
    for (auto &s : strs_) sv_.push_back({s.c_str(), (uint32_t)s.size()});
    start_.assign(addr_.size() + 1, 0);
    dst_.clear();
    name_.clear();
    std::vector<uint32_t> in(addr_.size(), 0);
    std::vector<E> sorted(edges_);  // by source, keeping the order
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const E &x, const E &y) { return x.a < y.a; });
    for (auto &e : sorted) {
      dst_.push_back(e.b);
      name_.push_back(e.name);
      in[e.b]++;
      start_[e.a + 1]++;
    }
    for (size_t i = 0; i < addr_.size(); i++) start_[i + 1] += start_[i];
    refcnt_.clear();
    for (size_t i = 0; i < addr_.size(); i++)
      refcnt_.push_back(rc_[i] < 0 ? in[i] : (uint32_t)rc_[i]);
    flags_.assign(addr_.size(), FMT_OBJ_GC_TRACKED);
    memset(&d_, 0, sizeof d_);
    d_.flags = FMT_FLAG_GRAPH;
    d_.nstrings = (uint32_t)sv_.size();
    d_.strings = sv_.data();
    d_.ntypes = (uint32_t)types_.size();
    d_.types = types_.data();
    d_.nobjects = addr_.size();
    d_.obj_addr = addr_.data();
    d_.obj_type = type_.data();
    d_.obj_size = size_.data();
    d_.obj_refcnt = refcnt_.data();
    d_.obj_label = label_.data();
    d_.obj_flags = flags_.data();
    d_.nedges = dst_.size();
    d_.edge_start = start_.data();
    d_.edge_dst = dst_.data();
    d_.edge_name = name_.data();
    d_.nroots = (uint32_t)roots_.size();
    d_.roots = roots_.data();
    return &d_;
  }

 private:
  struct E {
    uint32_t a, b, name;
  };
  std::vector<std::string> strs_;
  std::map<std::string, uint32_t> ids_;
  std::vector<fmt_type> types_;
  std::vector<uint64_t> addr_, size_;
  std::vector<uint32_t> refcnt_;
  std::vector<int64_t> rc_;
  std::vector<uint32_t> type_, label_;
  std::vector<uint8_t> flags_;
  std::vector<E> edges_;
  std::vector<fmt_root> roots_;
  std::vector<struct fmt_str> sv_;
  std::vector<uint32_t> start_;
  std::vector<uint32_t> dst_, name_;
  fmt_dump d_;
};

#endif  // MUPPY_TESTS_MEM_DUMP_H
