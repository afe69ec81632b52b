// format_test.cc - unit tests for the dump codec (format/): round trips,
// the writer's input checks, and the reader against every kind of bad
// input we can build: flipped header fields, other versions, unknown
// sections, truncation at every length, a flipped bit at every offset,
// bad CRCs, trailing garbage, and CRC-valid bodies whose contents lie.
//
// Fixtures are built in code (no blobs).  Bodies that must be "wrong but
// well framed" are made by inflating a real dump, editing its sections and
// re-framing it with correct CRCs (Reframe), so the reader's semantic
// checks are reached past its checksums.  Run under ASan+UBSan too.

#include <gtest/gtest.h>
#include <zlib.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "format/bytes.h"
#include "format/dump.h"

namespace {

// ---- building dumps ----------------------------------------------------

// Owns the storage behind a struct fmt_dump, as a writer would.
struct Builder {
	uint32_t flags = FMT_FLAG_GRAPH;
	std::vector<std::string> strs{""};
	std::vector<fmt_meta> meta;
	std::vector<fmt_type> types;
	std::vector<fmt_summary_row> summary;
	std::vector<uint64_t> addr, size;
	std::vector<uint32_t> refcnt, edge_start{0};
	std::vector<uint32_t> type, label, dst, name;
	std::vector<uint8_t> oflags;
	std::vector<fmt_root> roots;
	std::vector<fmt_strdata> strdata;
	std::vector<struct fmt_str> strings;  // filled by Dump()
	fmt_dump d{};

	uint32_t Str(const std::string &s) {
		for (size_t i = 0; i < strs.size(); i++)
			if (strs[i] == s)
				return (uint32_t)i;
		strs.push_back(s);
		return (uint32_t)(strs.size() - 1);
	}
	uint32_t Type(uint64_t a, const std::string &n) {
		types.push_back({a, Str(n)});
		return (uint32_t)(types.size() - 1);
	}
	// Appends an object; edges go to the last object added.
	uint32_t Obj(uint64_t a, uint32_t t, uint64_t sz, uint32_t rc = 1,
		     uint32_t lab = 0, uint8_t fl = 0) {
		addr.push_back(a);
		type.push_back(t);
		size.push_back(sz);
		refcnt.push_back(rc);
		label.push_back(lab);
		oflags.push_back(fl);
		edge_start.push_back(edge_start.back());
		return (uint32_t)(addr.size() - 1);
	}
	void Edge(uint32_t to, uint32_t nm) {
		dst.push_back(to);
		name.push_back(nm);
		edge_start.back()++;
	}
	fmt_dump *Dump() {
		strings.clear();
		for (auto &s : strs)
			strings.push_back({s.c_str(), (uint32_t)s.size()});
		d = fmt_dump{};
		d.flags = flags;
		d.nstrings = (uint32_t)strings.size();
		d.strings = strings.data();
		d.nmeta = (uint32_t)meta.size();
		d.meta = meta.data();
		d.ntypes = (uint32_t)types.size();
		d.types = types.data();
		d.nsummary = (uint32_t)summary.size();
		d.summary = summary.data();
		if (flags & FMT_FLAG_GRAPH) {
			d.nobjects = addr.size();
			d.obj_addr = addr.data();
			d.obj_type = type.data();
			d.obj_size = size.data();
			d.obj_refcnt = refcnt.data();
			d.obj_label = label.data();
			d.obj_flags = oflags.data();
			d.nedges = dst.size();
			d.edge_start = edge_start.data();
			d.edge_dst = dst.data();
			d.edge_name = name.data();
			d.nroots = (uint32_t)roots.size();
			d.roots = roots.data();
		}
		if (flags & FMT_FLAG_STRINGS) {
			d.nstrdata = (uint32_t)strdata.size();
			d.strdata = strdata.data();
		}
		return &d;
	}
};

// A small heap using every edge kind, root kind and object flag.
void SampleGraph(Builder &b) {
	b.meta.push_back({b.Str("pid"), b.Str("4242")});
	b.meta.push_back({b.Str("python"), b.Str("3.11.7")});
	b.meta.push_back({b.Str("mode"), b.Str("graph")});
	uint32_t tdict = b.Type(0x55d4c2a3e100, "dict");
	uint32_t tlist = b.Type(0x55d4c2a3d000, "list");  // not sorted
	uint32_t tstr = b.Type(0x55d4c2a3f300, "str");
	uint32_t ttype = b.Type(0x55d4c2a3e900, "type");
	uint32_t tfoo = b.Type(0x7f0000001000, "__main__.Foo");
	uint32_t tfun = b.Type(0x55d4c2a3aa00, "function");
	uint32_t tframe = b.Type(0x55d4c2a3ab00, "frame");
	uint32_t tmod = b.Type(0x55d4c2a3ac00, "module");
	b.summary.push_back({b.Str("dict"), 2, 464});
	b.summary.push_back({b.Str("function (f)"), 1, 152});
	b.summary.push_back({b.Str("frame (codename: g)"), 1, 432});
	b.summary.push_back({b.Str("module(m)"), 1, 72});
	const uint8_t gc = FMT_OBJ_GC_TRACKED;
	// Objects by ascending address; indices noted.
	b.Obj(0x7f0000001000, ttype, 1072, 7, 0, gc | FMT_OBJ_TYPE);  // 0
	b.Edge(4, FMT_EDGE_NAME(FMT_EDGE_OTHER, b.Str("__dict__")));
	b.Obj(0x7f0000002010, tmod, 72, 3, b.Str("m"), gc);  // 1
	b.Edge(4, FMT_EDGE_NAME(FMT_EDGE_OTHER, b.Str("__dict__")));
	b.Obj(0x7f0000002050, tstr, 51, 2);  // 2: "k"
	b.Obj(0x7f0000002090, tlist, 72, 1, 0, gc);  // 3
	b.Edge(2, FMT_EDGE_NAME(FMT_EDGE_INDEX, 0));
	b.Edge(2, FMT_EDGE_NAME(FMT_EDGE_INDEX, 1));
	b.Edge(6, FMT_EDGE_NAME(FMT_EDGE_INDEX, 2));
	b.Obj(0x7f00000020d0, tdict, 232, 1, 0, gc);  // 4
	b.Edge(2, FMT_EDGE_NAME(FMT_EDGE_DICTKEY, 0));
	b.Edge(3, FMT_EDGE_NAME(FMT_EDGE_KEY, b.Str("k")));
	b.Edge(5, FMT_EDGE_NAME(FMT_EDGE_KEY, b.Str("f")));
	b.Obj(0x7f0000003000, tfun, 152, 2, b.Str("f"), gc);  // 5
	b.Edge(4, FMT_EDGE_NAME(FMT_EDGE_OTHER, b.Str("__globals__")));
	b.Edge(8, FMT_EDGE_NAME(FMT_EDGE_CELL, b.Str("x")));
	b.Edge(0, FMT_EDGE_NAME(FMT_EDGE_NONE, 0));
	b.Obj(0x7f0000003040, tfoo, 48, 1, 0, gc);  // 6
	b.Edge(6, FMT_EDGE_NAME(FMT_EDGE_ATTR, b.Str("self")));  // self-loop
	b.Obj(0x7f0000004000, tframe, 432, 1, b.Str("g"), gc);  // 7
	b.Edge(3, FMT_EDGE_NAME(FMT_EDGE_LOCAL, b.Str("items")));
	b.Edge(7, FMT_EDGE_NAME(FMT_EDGE_NONE, 0));
	b.Obj(0x7f0000004100, tdict, 232, 1, 0, gc);  // 8
	b.roots.push_back({1, FMT_ROOT_MODULE, b.Str("m")});
	b.roots.push_back({7, FMT_ROOT_FRAME, b.Str("thread 1")});
	b.roots.push_back({0, FMT_ROOT_OTHER, 0});
}

// ---- bytes helpers -----------------------------------------------------

int StringSink(void *ctx, const void *buf, size_t len) {
	static_cast<std::string *>(ctx)->append((const char *)buf, len);
	return 0;
}

std::string Write(fmt_dump *d, int level = 1) {
	std::string out;
	int rc = fmt_write(d, level, StringSink, &out);
	EXPECT_EQ(rc, 0) << fmt_strerror(rc);
	return out;
}

std::string V(uint64_t v) {  // a varint
	uint8_t b[VARINT_MAX_LEN];
	return std::string((const char *)b, put_varint(b, v));
}

std::string U32(uint32_t v) {
	uint8_t b[4];
	put_u32(b, v);
	return std::string((const char *)b, 4);
}

std::string U64(uint64_t v) {
	uint8_t b[8];
	put_u64(b, v);
	return std::string((const char *)b, 8);
}

uint32_t Crc(const std::string &s) {
	return (uint32_t)crc32(0, (const Bytef *)s.data(), (uInt)s.size());
}

std::string Header(uint16_t major, uint16_t minor, uint32_t flags) {
	uint8_t h[FMT_HEADER_SIZE];
	memcpy(h, FMT_MAGIC, 8);
	put_u16(h + 8, major);
	put_u16(h + 10, minor);
	put_u32(h + 12, flags);
	put_u32(h + 16, (uint32_t)crc32(0, h, 16));
	return std::string((const char *)h, sizeof h);
}

std::string Inflate(const std::string &file) {
	std::string z = file.substr(FMT_HEADER_SIZE,
				    file.size() - FMT_HEADER_SIZE - FMT_TRAILER_SIZE);
	std::string body;
	z_stream zs{};
	EXPECT_EQ(inflateInit(&zs), Z_OK);
	zs.next_in = (Bytef *)z.data();
	zs.avail_in = (uInt)z.size();
	char buf[4096];
	int rc;
	do {
		zs.next_out = (Bytef *)buf;
		zs.avail_out = sizeof buf;
		rc = inflate(&zs, Z_NO_FLUSH);
		body.append(buf, sizeof buf - zs.avail_out);
	} while (rc == Z_OK);
	EXPECT_EQ(rc, Z_STREAM_END);
	inflateEnd(&zs);
	return body;
}

// A well-framed file around body: header, zlib stream, correct trailer.
std::string Reframe(const std::string &header, const std::string &body) {
	uLongf zlen = compressBound((uLong)body.size());
	std::string z(zlen, '\0');
	EXPECT_EQ(compress2((Bytef *)&z[0], &zlen, (const Bytef *)body.data(),
			    (uLong)body.size(), 6), Z_OK);
	z.resize(zlen);
	return header + z + U64(body.size()) + U32(Crc(body)) + FMT_TRAILER_MAGIC;
}

struct Sec {
	uint32_t id;
	std::string payload;
};

std::vector<Sec> Sections(const std::string &body) {
	std::vector<Sec> out;
	size_t p = 0;
	while (p + 12 <= body.size()) {
		uint32_t id = get_u32((const uint8_t *)body.data() + p);
		uint64_t len = get_u64((const uint8_t *)body.data() + p + 4);
		out.push_back({id, body.substr(p + 12, len)});
		p += 12 + len;
	}
	EXPECT_EQ(p, body.size());
	return out;
}

std::string Body(const std::vector<Sec> &secs) {
	std::string b;
	for (auto &s : secs)
		b += U32(s.id) + U64(s.payload.size()) + s.payload;
	return b;
}

Sec *Find(std::vector<Sec> &secs, uint32_t id) {
	for (auto &s : secs)
		if (s.id == id)
			return &s;
	return nullptr;
}

// Result of one read, freed on destruction.
struct Read {
	int rc;
	fmt_dump d{};
	char err[512];
	Read(const std::string &f, fmt_read_what what = FMT_READ_ALL) {
		memset(err, 'x', sizeof err);  // must be overwritten
		rc = fmt_read_mem(f.data(), f.size(), what, &d, err, sizeof err);
	}
	~Read() { fmt_dump_free(&d); }
	std::string Err() const { return err; }
};

bool Zeroed(const fmt_dump &d) {
	fmt_dump z{};
	z.major = d.major;  // kept on MUPPY_EVERSION
	z.minor = d.minor;
	return memcmp(&d, &z, sizeof d) == 0;
}

std::string S(const fmt_dump &d, uint32_t id) {
	return std::string(d.strings[id].ptr, d.strings[id].len);
}

// Field-by-field equality (strings by content).
void ExpectSame(const fmt_dump &a, const fmt_dump &b) {
	EXPECT_EQ(a.flags, b.flags);
	ASSERT_EQ(a.nstrings, b.nstrings);
	for (uint32_t i = 0; i < a.nstrings; i++) {
		EXPECT_EQ(S(a, i), S(b, i)) << "string " << i;
		EXPECT_EQ(b.strings[i].ptr[b.strings[i].len], '\0');
	}
	ASSERT_EQ(a.nmeta, b.nmeta);
	for (uint32_t i = 0; i < a.nmeta; i++) {
		EXPECT_EQ(a.meta[i].key, b.meta[i].key);
		EXPECT_EQ(a.meta[i].value, b.meta[i].value);
	}
	ASSERT_EQ(a.ntypes, b.ntypes);
	for (uint32_t i = 0; i < a.ntypes; i++) {
		EXPECT_EQ(a.types[i].addr, b.types[i].addr);
		EXPECT_EQ(a.types[i].name, b.types[i].name);
	}
	ASSERT_EQ(a.nsummary, b.nsummary);
	for (uint32_t i = 0; i < a.nsummary; i++) {
		EXPECT_EQ(a.summary[i].name, b.summary[i].name);
		EXPECT_EQ(a.summary[i].count, b.summary[i].count);
		EXPECT_EQ(a.summary[i].size, b.summary[i].size);
	}
	ASSERT_EQ(a.nobjects, b.nobjects);
	for (uint64_t i = 0; i < a.nobjects; i++) {
		EXPECT_EQ(a.obj_addr[i], b.obj_addr[i]) << i;
		EXPECT_EQ(a.obj_type[i], b.obj_type[i]) << i;
		EXPECT_EQ(a.obj_size[i], b.obj_size[i]) << i;
		EXPECT_EQ(a.obj_refcnt[i], b.obj_refcnt[i]) << i;
		EXPECT_EQ(a.obj_label[i], b.obj_label[i]) << i;
		EXPECT_EQ(a.obj_flags[i], b.obj_flags[i]) << i;
	}
	ASSERT_EQ(a.nedges, b.nedges);
	if (a.nobjects) {
		for (uint64_t i = 0; i <= a.nobjects; i++)
			EXPECT_EQ(a.edge_start[i], b.edge_start[i]) << i;
	}
	for (uint64_t e = 0; e < a.nedges; e++) {
		EXPECT_EQ(a.edge_dst[e], b.edge_dst[e]) << e;
		EXPECT_EQ(a.edge_name[e], b.edge_name[e]) << e;
	}
	ASSERT_EQ(a.nroots, b.nroots);
	for (uint32_t i = 0; i < a.nroots; i++) {
		EXPECT_EQ(a.roots[i].obj, b.roots[i].obj);
		EXPECT_EQ(a.roots[i].kind, b.roots[i].kind);
		EXPECT_EQ(a.roots[i].name, b.roots[i].name);
	}
	ASSERT_EQ(a.nstrdata, b.nstrdata);
	for (uint32_t i = 0; i < a.nstrdata; i++) {
		EXPECT_EQ(a.strdata[i].obj, b.strdata[i].obj);
		EXPECT_EQ(a.strdata[i].str, b.strdata[i].str);
	}
}

std::string SampleFile() {
	Builder b;
	SampleGraph(b);
	return Write(b.Dump());
}

// ---- round trips -------------------------------------------------------

TEST(Format, RoundTripGraph) {
	Builder b;
	SampleGraph(b);
	std::string f = Write(b.Dump());
	Read r(f);
	ASSERT_EQ(r.rc, 0) << r.Err();
	EXPECT_EQ(r.Err(), "");
	EXPECT_EQ(r.d.major, MUPPY_FORMAT_MAJOR);
	EXPECT_EQ(r.d.minor, FMT_MINOR_WHOLE);
	ExpectSame(*b.Dump(), r.d);
	EXPECT_STREQ(fmt_meta_get(&r.d, "pid"), "4242");
	EXPECT_STREQ(fmt_meta_get(&r.d, "python"), "3.11.7");
	EXPECT_EQ(fmt_meta_get(&r.d, "pi"), nullptr);
	EXPECT_EQ(fmt_meta_get(&r.d, "pidx"), nullptr);
	EXPECT_EQ(fmt_find_object(&r.d, 0x7f00000020d0), 4);
	EXPECT_EQ(fmt_find_object(&r.d, 0x7f0000001000), 0);
	EXPECT_EQ(fmt_find_object(&r.d, 0x7f0000004100), 8);
	EXPECT_EQ(fmt_find_object(&r.d, 0x7f0000004101), -1);
	EXPECT_EQ(fmt_find_object(&r.d, 0x7f0000002011), -1);
	EXPECT_EQ(fmt_find_object(&r.d, 0), -1);
	EXPECT_STREQ(fmt_str(&r.d, r.d.types[0].name), "dict");
}

TEST(Format, WriteIsDeterministicAtEveryLevel) {
	Builder b;
	SampleGraph(b);
	for (int level = -1; level <= 9; level++) {
		std::string f = Write(b.Dump(), level);
		EXPECT_EQ(f, Write(b.Dump(), level));
		Read r(f);
		ASSERT_EQ(r.rc, 0) << "level " << level << ": " << r.Err();
		ExpectSame(*b.Dump(), r.d);
	}
}

TEST(Format, RoundTripSummaryOnly) {
	Builder b;
	SampleGraph(b);
	b.flags = 0;
	std::string f = Write(b.Dump());
	std::vector<Sec> secs = Sections(Inflate(f));
	ASSERT_EQ(secs.size(), 5u);  // STRTAB META TYPES SUMMARY END
	EXPECT_EQ(secs[0].id, FMT_SEC_STRTAB);
	EXPECT_EQ(secs[3].id, FMT_SEC_SUMMARY);
	EXPECT_EQ(secs[4].id, FMT_SEC_END);
	Read r(f);
	ASSERT_EQ(r.rc, 0) << r.Err();
	ExpectSame(*b.Dump(), r.d);
	EXPECT_EQ(r.d.nobjects, 0u);
	EXPECT_EQ(r.d.obj_addr, nullptr);
	EXPECT_EQ(r.d.edge_start, nullptr);
	EXPECT_EQ(fmt_find_object(&r.d, 0x7f0000001000), -1);
}

TEST(Format, SectionOrderAsDocumented) {
	Builder b;
	SampleGraph(b);
	b.flags = FMT_FLAG_GRAPH | FMT_FLAG_STRINGS;
	std::vector<Sec> secs = Sections(Inflate(Write(b.Dump())));
	std::vector<uint32_t> ids;
	for (auto &s : secs)
		ids.push_back(s.id);
	EXPECT_EQ(ids, (std::vector<uint32_t>{
			       FMT_SEC_STRTAB, FMT_SEC_META, FMT_SEC_TYPES,
			       FMT_SEC_SUMMARY, FMT_SEC_OBJECTS, FMT_SEC_EDGES,
			       FMT_SEC_ROOTS, FMT_SEC_STRDATA, FMT_SEC_END}));
	EXPECT_EQ(secs.back().payload.size(), 0u);
}

TEST(Format, ReadSummaryModeSkipsGraph) {
	Builder b;
	SampleGraph(b);
	b.flags = FMT_FLAG_GRAPH | FMT_FLAG_STRINGS;
	b.strdata.push_back({2, b.Str("k")});
	std::string f = Write(b.Dump());
	Read r(f, FMT_READ_SUMMARY);
	ASSERT_EQ(r.rc, 0) << r.Err();
	EXPECT_EQ(r.d.flags, FMT_FLAG_GRAPH | FMT_FLAG_STRINGS);  // as on disk
	EXPECT_EQ(r.d.nsummary, 4u);
	EXPECT_EQ(r.d.ntypes, 8u);
	EXPECT_STREQ(fmt_meta_get(&r.d, "mode"), "graph");
	EXPECT_EQ(r.d.nobjects, 0u);
	EXPECT_EQ(r.d.nedges, 0u);
	EXPECT_EQ(r.d.nroots, 0u);
	EXPECT_EQ(r.d.nstrdata, 0u);
	EXPECT_EQ(r.d.obj_addr, nullptr);
	EXPECT_EQ(r.d.edge_dst, nullptr);
	EXPECT_EQ(r.d.roots, nullptr);
	// Still fully verified: a body CRC error is caught in summary mode.
	std::string bad = f;
	bad[bad.size() - 8] ^= 1;
	Read rb(bad, FMT_READ_SUMMARY);
	EXPECT_EQ(rb.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(rb.Err().rfind("corrupt: body CRC mismatch", 0), 0u) << rb.Err();
}

TEST(Format, ReadObjectsModeSkipsEdgesRootsAndStrdata) {
	Builder b;
	SampleGraph(b);
	b.flags = FMT_FLAG_GRAPH | FMT_FLAG_STRINGS;
	b.strdata.push_back({2, b.Str("k")});
	std::string f = Write(b.Dump());
	Read all(f), r(f, FMT_READ_OBJECTS);
	ASSERT_EQ(all.rc, 0) << all.Err();
	ASSERT_EQ(r.rc, 0) << r.Err();
	EXPECT_EQ(r.d.flags, FMT_FLAG_GRAPH | FMT_FLAG_STRINGS);  // as on disk
	ASSERT_EQ(r.d.nobjects, all.d.nobjects);
	ASSERT_GT(r.d.nobjects, 0u);
	for (uint64_t i = 0; i < r.d.nobjects; i++) {
		EXPECT_EQ(r.d.obj_addr[i], all.d.obj_addr[i]) << i;
		EXPECT_EQ(r.d.obj_type[i], all.d.obj_type[i]) << i;
		EXPECT_EQ(r.d.obj_size[i], all.d.obj_size[i]) << i;
		EXPECT_EQ(r.d.obj_refcnt[i], all.d.obj_refcnt[i]) << i;
		EXPECT_EQ(r.d.obj_label[i], all.d.obj_label[i]) << i;
		EXPECT_EQ(r.d.obj_flags[i], all.d.obj_flags[i]) << i;
	}
	EXPECT_EQ(r.d.nsummary, all.d.nsummary);
	EXPECT_GT(all.d.nedges, 0u);
	EXPECT_EQ(r.d.nedges, 0u);
	EXPECT_EQ(r.d.edge_start, nullptr);
	EXPECT_EQ(r.d.edge_dst, nullptr);
	EXPECT_EQ(r.d.nroots, 0u);
	EXPECT_EQ(r.d.roots, nullptr);
	EXPECT_EQ(r.d.nstrdata, 0u);
	// Skipped sections are still verified: a corrupt EDGES payload under
	// a correct CRC is not decoded, a CRC error anywhere is refused.
	std::vector<Sec> secs = Sections(Inflate(f));
	Find(secs, FMT_SEC_EDGES)->payload = "not decoded for objects";
	std::string g = Reframe(Header(1, 0, FMT_FLAG_GRAPH | FMT_FLAG_STRINGS),
				Body(secs));
	EXPECT_EQ(Read(g, FMT_READ_OBJECTS).rc, 0);
	EXPECT_EQ(Read(g).rc, MUPPY_ECORRUPT);
	std::string bad = f;
	bad[bad.size() - 8] ^= 1;
	Read rb(bad, FMT_READ_OBJECTS);
	EXPECT_EQ(rb.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(rb.Err().rfind("corrupt: body CRC mismatch", 0), 0u) << rb.Err();
	// A corrupt OBJECTS section is decoded, hence refused.
	secs = Sections(Inflate(f));
	Find(secs, FMT_SEC_OBJECTS)->payload += "x";
	EXPECT_EQ(Read(Reframe(Header(1, 0, FMT_FLAG_GRAPH | FMT_FLAG_STRINGS),
			       Body(secs)), FMT_READ_OBJECTS).rc,
		  MUPPY_ECORRUPT);
	// Not a mode: refused before anything is decoded.
	Read unknown(f, (fmt_read_what)5);
	EXPECT_EQ(unknown.rc, MUPPY_EINVAL);
	EXPECT_TRUE(Zeroed(unknown.d));
	// DEGREES: OBJECTS plus each object's out-degree, nothing else of
	// EDGES; a corrupt EDGES payload is still refused.
	Read deg(f, FMT_READ_DEGREES);
	ASSERT_EQ(deg.rc, 0) << deg.err;
	ASSERT_EQ(deg.d.nobjects, all.d.nobjects);
	EXPECT_EQ(deg.d.nedges, all.d.nedges);
	ASSERT_NE(deg.d.edge_start, nullptr);
	for (uint64_t i = 0; i <= all.d.nobjects; i++)
		EXPECT_EQ(deg.d.edge_start[i], all.d.edge_start[i]) << i;
	EXPECT_EQ(deg.d.edge_dst, nullptr);
	EXPECT_EQ(deg.d.edge_name, nullptr);
	EXPECT_EQ(deg.d.nroots, 0u);
	secs = Sections(Inflate(f));
	Find(secs, FMT_SEC_EDGES)->payload.resize(2);
	EXPECT_EQ(Read(Reframe(Header(1, 0, FMT_FLAG_GRAPH | FMT_FLAG_STRINGS),
			       Body(secs)), FMT_READ_DEGREES).rc,
		  MUPPY_ECORRUPT);
}

// MATCH: addresses and types only, from a 1.0 file and from a stream;
// the other columns are still read (a corrupt OBJECTS is refused) but not
// kept.
static void
ExpectMatchOf(const std::string &f, const fmt_dump &all)
{
	Read m(f, FMT_READ_MATCH);
	ASSERT_EQ(m.rc, 0) << m.Err();
	ASSERT_EQ(m.d.nobjects, all.nobjects);
	ASSERT_GT(m.d.nobjects, 0u);
	for (uint64_t i = 0; i < m.d.nobjects; i++) {
		ASSERT_EQ(m.d.obj_addr[i], all.obj_addr[i]) << i;
		ASSERT_EQ(m.d.obj_type[i], all.obj_type[i]) << i;
	}
	EXPECT_EQ(m.d.ntypes, all.ntypes);
	EXPECT_EQ(m.d.nmeta, all.nmeta);
	EXPECT_EQ(m.d.obj_size, nullptr);
	EXPECT_EQ(m.d.obj_refcnt, nullptr);
	EXPECT_EQ(m.d.obj_label, nullptr);
	EXPECT_EQ(m.d.obj_flags, nullptr);
	EXPECT_EQ(m.d.edge_start, nullptr);
	EXPECT_EQ(m.d.edge_dst, nullptr);
	EXPECT_EQ(m.d.nedges, 0u);
	EXPECT_EQ(m.d.nroots, 0u);
}

TEST(Format, ReadMatchModeKeepsAddressesAndTypes) {
	Builder b;
	SampleGraph(b);
	std::string f = Write(b.Dump());
	Read all(f);
	ASSERT_EQ(all.rc, 0) << all.Err();
	ExpectMatchOf(f, all.d);
	std::vector<Sec> secs = Sections(Inflate(f));
	Find(secs, FMT_SEC_OBJECTS)->payload.resize(
		Find(secs, FMT_SEC_OBJECTS)->payload.size() - 1);
	Read cut(Reframe(Header(1, 0, FMT_FLAG_GRAPH), Body(secs)),
		 FMT_READ_MATCH);
	EXPECT_EQ(cut.rc, MUPPY_ECORRUPT);
	EXPECT_TRUE(Zeroed(cut.d));
	std::string bad = f;
	bad[bad.size() - 8] ^= 1;
	EXPECT_EQ(Read(bad, FMT_READ_MATCH).rc, MUPPY_ECORRUPT);
}

// fmt_dump_release frees one of the reader's arrays, and nothing else.
TEST(Format, ReleaseFreesOneReaderArray) {
	Builder b;
	SampleGraph(b);
	Read r(Write(b.Dump()));
	ASSERT_EQ(r.rc, 0) << r.Err();
	uint32_t mine[4] = {0};
	EXPECT_EQ(fmt_dump_release(&r.d, mine), -1);
	EXPECT_EQ(fmt_dump_release(&r.d, nullptr), -1);
	EXPECT_EQ(fmt_dump_release(&r.d, r.d.obj_refcnt), 0);
	EXPECT_EQ(fmt_dump_release(&r.d, r.d.obj_refcnt), -1);  // gone now
	r.d.obj_refcnt = nullptr;
	EXPECT_EQ(fmt_dump_release(&r.d, r.d.obj_flags), 0);
	r.d.obj_flags = nullptr;
	EXPECT_GT(r.d.obj_addr[1], r.d.obj_addr[0]);   // the rest is intact
	// fmt_dump_free (in ~Read) frees the rest once: ASan checks that.
}

// FMT_READ_SUMMARY does not depend on the writer's section order: graph
// sections met before the tables are skipped, not decoded.
TEST(Format, ReadSummaryModeWithGraphSectionsFirst) {
	Builder b;
	SampleGraph(b);
	std::vector<Sec> secs = Sections(Inflate(Write(b.Dump())));
	ASSERT_EQ(secs[4].id, FMT_SEC_OBJECTS);
	std::rotate(secs.begin(), secs.begin() + 4, secs.end() - 1);
	ASSERT_EQ(secs[0].id, FMT_SEC_OBJECTS);
	secs[1].payload = "not decoded in summary mode";  // EDGES
	std::string f = Reframe(Header(1, 0, FMT_FLAG_GRAPH), Body(secs));
	Read r(f, FMT_READ_SUMMARY);
	ASSERT_EQ(r.rc, 0) << r.Err();
	EXPECT_EQ(r.d.nsummary, 4u);
	EXPECT_EQ(r.d.nobjects, 0u);
	EXPECT_EQ(r.d.edge_start, nullptr);
	Read all(f);  // but a full read decodes it and objects
	EXPECT_EQ(all.rc, MUPPY_ECORRUPT);
	EXPECT_NE(all.Err().find("section 6 (EDGES)"), std::string::npos)
		<< all.Err();
}

TEST(Format, RoundTripStrings) {
	Builder b;
	SampleGraph(b);
	b.flags = FMT_FLAG_GRAPH | FMT_FLAG_STRINGS;
	uint32_t bin = b.Str(std::string("a\0b\xff\x80 z", 7));  // NUL inside
	uint32_t big = b.Str(std::string(70000, 'q'));  // > one 64 KiB block
	b.strdata.push_back({2, b.Str("k")});
	b.strdata.push_back({8, bin});
	b.strdata.push_back({3, big});
	b.strdata.push_back({3, bin});  // unsorted, repeated: allowed
	std::string f = Write(b.Dump());
	Read r(f);
	ASSERT_EQ(r.rc, 0) << r.Err();
	ExpectSame(*b.Dump(), r.d);
	EXPECT_EQ(r.d.strings[bin].len, 7u);
	EXPECT_EQ(memcmp(r.d.strings[bin].ptr, "a\0b\xff\x80 z", 7), 0);
	EXPECT_EQ(r.d.strings[big].len, 70000u);
}

TEST(Format, EmptyDumpZeroObjects) {
	// Graph flag, nothing in it; edge_start may be NULL when there are
	// no objects, or a single 0.
	Builder b;
	for (int null_start = 0; null_start < 2; null_start++) {
		fmt_dump *d = b.Dump();
		if (null_start)
			d->edge_start = nullptr;
		std::string f = Write(d);
		Read r(f);
		ASSERT_EQ(r.rc, 0) << r.Err();
		EXPECT_EQ(r.d.flags, FMT_FLAG_GRAPH);
		EXPECT_EQ(r.d.nstrings, 1u);
		EXPECT_STREQ(fmt_str(&r.d, 0), "");
		EXPECT_EQ(r.d.nobjects, 0u);
		EXPECT_EQ(r.d.nedges, 0u);
		ASSERT_NE(r.d.edge_start, nullptr);  // always nobjects + 1
		EXPECT_EQ(r.d.edge_start[0], 0u);
		EXPECT_EQ(fmt_find_object(&r.d, 0), -1);
		EXPECT_EQ(fmt_meta_get(&r.d, "pid"), nullptr);
	}
	// And with no graph at all: the smallest valid dump.
	b.flags = 0;
	std::string f = Write(b.Dump());
	Read r(f);
	ASSERT_EQ(r.rc, 0) << r.Err();
	EXPECT_EQ(r.d.nsummary, 0u);
	EXPECT_EQ(r.d.meta, nullptr);
}

TEST(Format, BoundaryValues) {
	Builder b;
	b.flags = FMT_FLAG_GRAPH | FMT_FLAG_STRINGS;
	uint32_t t0 = b.Type(UINT64_MAX, "max");
	uint32_t t1 = b.Type(0, "zero");  // delta wraps around 2^64
	b.Type(1ull << 63, "mid");
	b.summary.push_back({b.Str("dict"), UINT64_MAX, UINT64_MAX});
	b.summary.push_back({0, 0, 0});
	uint32_t last = b.Str("last");
	// Address 0, a 2^64 - 2 gap, UINT64_MAX: no common alignment.
	b.Obj(0, t0, UINT64_MAX, UINT32_MAX, last, 0xff);
	b.Edge(2, FMT_EDGE_NAME(FMT_EDGE_INDEX, FMT_EDGE_VALUE_MAX));
	b.Edge(2, FMT_EDGE_NAME(FMT_EDGE_NONE, FMT_EDGE_VALUE_MAX));
	b.Edge(0, FMT_EDGE_NAME(FMT_EDGE_OTHER, last));
	b.Edge(1, FMT_EDGE_NAME(FMT_EDGE_DICTKEY, FMT_EDGE_VALUE_MAX));
	b.Obj(1, t1, 0, 0, 0, 0);
	b.Obj(UINT64_MAX, t1, 1, 0xffffffffull, 0, 0x80);
	b.Edge(0, 0);
	b.roots.push_back({2, FMT_ROOT_OTHER, last});
	b.strdata.push_back({2, last});
	b.strdata.push_back({0, 0});
	std::string f = Write(b.Dump());
	Read r(f);
	ASSERT_EQ(r.rc, 0) << r.Err();
	ExpectSame(*b.Dump(), r.d);
	EXPECT_EQ(fmt_find_object(&r.d, UINT64_MAX), 2);
	EXPECT_EQ(fmt_find_object(&r.d, 0), 0);
	EXPECT_EQ(fmt_find_object(&r.d, 2), -1);
}

TEST(Format, RefcountsSaturateAt32Bits) {
	// On disk a refcount is a varint of any width; the model keeps 32
	// bits, and a wider value reads as UINT32_MAX (still "immortal").
	Builder b;
	b.flags = FMT_FLAG_GRAPH;
	uint32_t t = b.Type(16, "t");
	b.Obj(0x1000, t, 48, UINT32_MAX);
	b.Obj(0x2000, t, 48, 7);
	std::vector<Sec> secs = Sections(Inflate(Write(b.Dump())));
	Sec *o = Find(secs, FMT_SEC_OBJECTS);
	ASSERT_NE(o, nullptr);
	const std::string max32("\xff\xff\xff\xff\x0f", 5);
	const std::string wide("\x85\x80\x80\x80\x80\x20", 6);  // 2^40 + 5
	size_t at = o->payload.find(max32);
	ASSERT_NE(at, std::string::npos);
	ASSERT_EQ(o->payload.find(max32, at + 1), std::string::npos);
	o->payload.replace(at, max32.size(), wide);
	Read r(Reframe(Header(1, 0, FMT_FLAG_GRAPH), Body(secs)));
	ASSERT_EQ(r.rc, 0) << r.Err();
	ASSERT_EQ(r.d.nobjects, 2u);
	EXPECT_EQ(r.d.obj_refcnt[0], UINT32_MAX);
	EXPECT_EQ(r.d.obj_refcnt[1], 7u);
	EXPECT_EQ(r.d.obj_size[0], 48u);
}

TEST(Format, AddressColumnShifts) {
	// All gaps multiples of 2^k for k = 0..63, and a common odd offset:
	// the column drops the zero bits and must restore them exactly.
	for (unsigned k = 0; k < 64; k++) {
		Builder b;
		uint32_t t = b.Type(16, "t");
		uint64_t base = k ? 8 + 1 : 3;  // offset shared by all
		b.Obj(base, t, 1);
		b.Obj(base + (1ull << k), t, 2);
		if (k < 62)
			b.Obj(base + (3ull << k), t, 3);
		Read r(Write(b.Dump()));
		ASSERT_EQ(r.rc, 0) << k << ": " << r.Err();
		ExpectSame(*b.Dump(), r.d);
	}
	// 16-byte aligned CPython-like addresses with one 8-aligned one.
	Builder b;
	uint32_t t = b.Type(16, "t");
	for (uint64_t i = 0; i < 100; i++)
		b.Obj(0x7f0000000000 + i * 48 + (i == 50 ? 8 : 0), t, 48);
	Read r(Write(b.Dump()));
	ASSERT_EQ(r.rc, 0) << r.Err();
	ExpectSame(*b.Dump(), r.d);
}

// Many objects: the body spans many 64 KiB blocks on both sides, so
// varints straddle block boundaries in the reader.
TEST(Format, RoundTripLargeRandomGraph) {
	Builder b;
	uint64_t s = 12345;
	auto rnd = [&s](uint64_t n) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		return (s >> 33) % n;
	};
	for (int i = 0; i < 40; i++)
		b.Type(0x1000 + 0x100 * (uint64_t)i, "t" + std::to_string(i));
	for (int i = 0; i < 500; i++)
		b.Str("s" + std::to_string(i));
	uint64_t a = 0x7f0000000000;
	const uint32_t n = 30000;
	for (uint32_t i = 0; i < n; i++) {
		a += 16 * (1 + rnd(rnd(10) ? 4 : 100000));
		b.Obj(a, (uint32_t)rnd(40), 16 + rnd(1000),
		      rnd(50) ? rnd(5) : UINT64_MAX - rnd(3),
		      rnd(10) ? 0 : (uint32_t)rnd(500), (uint8_t)rnd(4));
		for (uint64_t k = rnd(6); k > 0; k--)
			b.Edge((uint32_t)rnd(n),
			       FMT_EDGE_NAME(rnd(8), rnd(500)));
	}
	for (uint32_t i = 0; i < 50; i++)
		b.roots.push_back({(uint32_t)rnd(n), 1 + (uint32_t)rnd(3),
				   (uint32_t)rnd(500)});
	std::vector<std::pair<const void *, size_t>> chunks;
	std::string f;
	struct Ctx {
		std::string *f;
		size_t calls, max;
	} ctx{&f, 0, 0};
	int rc = fmt_write(b.Dump(), 1, [](void *c, const void *buf,
					      size_t len) {
		Ctx *x = static_cast<Ctx *>(c);
		x->f->append((const char *)buf, len);
		x->calls++;
		x->max = len > x->max ? len : x->max;
		return 0;
	}, &ctx);
	ASSERT_EQ(rc, 0);
	EXPECT_GT(ctx.calls, 3u);  // streamed, in bounded pieces
	EXPECT_LE(ctx.max, 65536u);
	EXPECT_GT(Inflate(f).size(), 4u * 65536);
	Read r(f);
	ASSERT_EQ(r.rc, 0) << r.Err();
	ExpectSame(*b.Dump(), r.d);
	for (uint32_t i = 0; i < n; i += 997)
		EXPECT_EQ(fmt_find_object(&r.d, b.addr[i]), (int64_t)i);
}

// ---- the writer refuses inconsistent input -----------------------------

TEST(Format, WriterRejectsInvalidInput) {
	struct Case {
		const char *what;
		std::function<void(Builder &, fmt_dump *)> mutate;
	};
	const std::vector<Case> cases = {
		{"unsorted addresses", [](Builder &, fmt_dump *d) {
			 std::swap(d->obj_addr[2], d->obj_addr[3]); }},
		{"duplicate address", [](Builder &, fmt_dump *d) {
			 d->obj_addr[3] = d->obj_addr[2]; }},
		{"type index", [](Builder &, fmt_dump *d) {
			 d->obj_type[5] = d->ntypes; }},
		{"label id", [](Builder &, fmt_dump *d) {
			 d->obj_label[0] = d->nstrings; }},
		{"edge target", [](Builder &, fmt_dump *d) {
			 d->edge_dst[3] = (uint32_t)d->nobjects; }},
		{"edge name string", [](Builder &, fmt_dump *d) {
			 d->edge_name[0] = FMT_EDGE_NAME(FMT_EDGE_KEY,
							 d->nstrings); }},
		{"edge_start not monotone", [](Builder &, fmt_dump *d) {
			 d->edge_start[4] = d->edge_start[3] - 1;
			 d->edge_start[3] = d->edge_start[4] + 2; }},
		{"edge_start[0] != 0", [](Builder &, fmt_dump *d) {
			 d->edge_start[0] = 1; }},
		{"edge_start[n] != nedges", [](Builder &, fmt_dump *d) {
			 d->nedges--; }},
		{"nedges beyond 32 bits", [](Builder &, fmt_dump *d) {
			 d->nedges += 1ull << 32; }},
		{"no strings", [](Builder &, fmt_dump *d) { d->nstrings = 0; }},
		{"string 0 not empty", [](Builder &b, fmt_dump *d) {
			 d->strings[0] = b.strings[1]; }},
		{"meta key", [](Builder &, fmt_dump *d) {
			 d->meta[1].key = d->nstrings; }},
		{"meta value", [](Builder &, fmt_dump *d) {
			 d->meta[1].value = UINT32_MAX; }},
		{"type name", [](Builder &, fmt_dump *d) {
			 d->types[2].name = d->nstrings; }},
		{"summary name", [](Builder &, fmt_dump *d) {
			 d->summary[0].name = d->nstrings; }},
		{"root object", [](Builder &, fmt_dump *d) {
			 d->roots[0].obj = (uint32_t)d->nobjects; }},
		{"root name", [](Builder &, fmt_dump *d) {
			 d->roots[0].name = d->nstrings; }},
		{"root kind 0", [](Builder &, fmt_dump *d) { d->roots[0].kind = 0; }},
		{"root kind 4", [](Builder &, fmt_dump *d) { d->roots[0].kind = 4; }},
		{"strdata object", [](Builder &b, fmt_dump *d) {
			 d->flags |= FMT_FLAG_STRINGS;
			 b.strdata.push_back({(uint32_t)d->nobjects, 0});
			 d->nstrdata = 1;
			 d->strdata = b.strdata.data(); }},
		{"strdata string", [](Builder &b, fmt_dump *d) {
			 d->flags |= FMT_FLAG_STRINGS;
			 b.strdata.push_back({0, d->nstrings});
			 d->nstrdata = 1;
			 d->strdata = b.strdata.data(); }},
		{"strdata without flag", [](Builder &b, fmt_dump *d) {
			 b.strdata.push_back({0, 0});
			 d->nstrdata = 1;
			 d->strdata = b.strdata.data(); }},
		{"STRINGS without GRAPH", [](Builder &, fmt_dump *d) {
			 d->flags = FMT_FLAG_STRINGS; d->nobjects = 0;
			 d->nedges = 0; d->nroots = 0; }},
		{"objects without GRAPH", [](Builder &, fmt_dump *d) {
			 d->flags = 0; }},
		{"unknown flag bit", [](Builder &, fmt_dump *d) {
			 d->flags |= 0x4; }},
		{"missing column", [](Builder &, fmt_dump *d) {
			 d->obj_refcnt = nullptr; }},
		{"missing edge column", [](Builder &, fmt_dump *d) {
			 d->edge_name = nullptr; }},
		{"more than 2^32 objects", [](Builder &, fmt_dump *d) {
			 d->nobjects = (1ull << 32) + 1; }},
	};
	for (const Case &c : cases) {
		Builder b;
		SampleGraph(b);
		fmt_dump *d = b.Dump();
		c.mutate(b, d);
		std::string out;
		EXPECT_EQ(fmt_write(d, 1, StringSink, &out), MUPPY_EINVAL)
			<< c.what;
		EXPECT_EQ(out, "") << c.what << ": nothing may reach the sink";
	}
	Builder b;
	SampleGraph(b);
	std::string out;
	EXPECT_EQ(fmt_write(nullptr, 1, StringSink, &out), MUPPY_EINVAL);
	EXPECT_EQ(fmt_write(b.Dump(), 1, nullptr, &out), MUPPY_EINVAL);
	EXPECT_EQ(fmt_write(b.Dump(), 10, StringSink, &out), MUPPY_EINVAL);
	EXPECT_EQ(fmt_write(b.Dump(), -2, StringSink, &out), MUPPY_EINVAL);
	EXPECT_EQ(out, "");
}

TEST(Format, SinkFailureIsEIO) {
	Builder b;
	SampleGraph(b);
	b.Str(std::string(300000, 'z'));  // several sink calls at level 0
	struct Ctx {
		int fail_at, calls, after;
	};
	for (int fail_at = 1; fail_at <= 4; fail_at++) {
		Ctx ctx{fail_at, 0, 0};
		int rc = fmt_write(b.Dump(), 0, [](void *c, const void *,
						      size_t) {
			Ctx *x = static_cast<Ctx *>(c);
			if (x->calls >= x->fail_at)
				x->after++;
			return ++x->calls == x->fail_at ? -5 : 0;
		}, &ctx);
		EXPECT_EQ(rc, MUPPY_EIO) << fail_at;
		EXPECT_EQ(ctx.calls, fail_at);
		EXPECT_EQ(ctx.after, 0) << "sink called after it failed";
	}
}

// ---- the reader: framing and header --------------------------------------

TEST(Format, RejectsEveryFlippedHeaderByte) {
	const std::string f = SampleFile();
	for (size_t i = 0; i < FMT_HEADER_SIZE; i++) {
		std::string bad = f;
		bad[i] ^= (char)0xff;
		Read r(bad);
		EXPECT_TRUE(Zeroed(r.d)) << i;
		if (i < 8) {
			EXPECT_EQ(r.rc, MUPPY_ECORRUPT) << i;
			EXPECT_EQ(r.Err(), "not a muppy dump (bad magic)") << i;
		} else if (i < 10) {
			unsigned major = get_u16((const uint8_t *)bad.data() + 8);
			EXPECT_EQ(r.rc, MUPPY_EVERSION) << i;
			EXPECT_EQ(r.Err(), "dump version " + std::to_string(major) +
					   ".0 is newer than this reader (1.2)");
			EXPECT_EQ(r.d.major, major);
		} else {
			char want[128];
			snprintf(want, sizeof want,
				 "corrupt: header CRC mismatch (stored 0x%08x, "
				 "computed 0x%08x)",
				 get_u32((const uint8_t *)bad.data() + 16),
				 Crc(bad.substr(0, 16)));
			EXPECT_EQ(r.rc, MUPPY_ECORRUPT) << i;
			EXPECT_EQ(r.Err(), want) << i;
		}
	}
}

TEST(Format, RejectsNewerMajorNamingBothVersions) {
	std::string body = Inflate(SampleFile());
	Read r(Reframe(Header(2, 0, FMT_FLAG_GRAPH), body));
	EXPECT_EQ(r.rc, MUPPY_EVERSION);
	EXPECT_EQ(r.Err(), "dump version 2.0 is newer than this reader (1.2)");
	EXPECT_EQ(r.d.major, 2);
	EXPECT_EQ(r.d.nstrings, 0u);
	// A newer major may change everything after the version fields,
	// even the header CRC: the version is what gets reported.
	std::string v2 = Header(2, 3, 0);
	v2[16] ^= 0x55;
	Read r2(v2 + "anything at all");
	EXPECT_EQ(r2.rc, MUPPY_EVERSION);
	EXPECT_EQ(r2.Err(), "dump version 2.3 is newer than this reader (1.2)");
	Read r0(Reframe(Header(0, 9, FMT_FLAG_GRAPH), body));
	EXPECT_EQ(r0.rc, MUPPY_EVERSION);
	EXPECT_EQ(r0.Err(), "dump version 0.9 is older than this reader (1.2)");
	EXPECT_STREQ(fmt_strerror(MUPPY_EVERSION),
		     "unsupported dump format version");
}

TEST(Format, AcceptsNewerMinor) {
	Builder b;
	SampleGraph(b);
	std::string body = Inflate(Write(b.Dump()));
	Read r(Reframe(Header(MUPPY_FORMAT_MAJOR, MUPPY_FORMAT_MINOR + 7,
			      FMT_FLAG_GRAPH), body));
	ASSERT_EQ(r.rc, 0) << r.Err();
	EXPECT_EQ(r.d.minor, MUPPY_FORMAT_MINOR + 7);
	ExpectSame(*b.Dump(), r.d);
}

TEST(Format, SkipsUnknownSections) {
	Builder b;
	SampleGraph(b);
	std::vector<Sec> secs = Sections(Inflate(Write(b.Dump())));
	// One before everything, one between graph sections, one empty,
	// one large enough to cross a 64 KiB block, just before END.
	secs.insert(secs.begin(), Sec{99, "future stuff"});
	secs.insert(secs.begin() + 6, Sec{FMT_SEC_STRDATA + 1, ""});
	secs.insert(secs.end() - 1, Sec{0xffffffffu, std::string(100000, 'u')});
	for (uint32_t flags_minor : {0u, 1u}) {
		Read r(Reframe(Header(1, (uint16_t)flags_minor, FMT_FLAG_GRAPH),
			       Body(secs)));
		ASSERT_EQ(r.rc, 0) << r.Err();
		ExpectSame(*b.Dump(), r.d);
	}
	// Sections in another order than the writer's are fine too.
	std::swap(secs[1], secs[4]);  // STRTAB after SUMMARY
	Read r(Reframe(Header(1, 0, FMT_FLAG_GRAPH), Body(secs)));
	ASSERT_EQ(r.rc, 0) << r.Err();
	ExpectSame(*b.Dump(), r.d);
}

TEST(Format, RejectsBodiesThatInflateTooWell) {
	Builder b;
	SampleGraph(b);
	std::vector<Sec> secs = Sections(Inflate(Write(b.Dump())));
	// A skippable section of zeros: valid framing and CRCs, but the
	// stream inflates about 1000 times, as only a crafted file does.
	secs.insert(secs.end() - 1, Sec{99, std::string(8u << 20, '\0')});
	std::string body = Body(secs);
	std::string f = Reframe(Header(1, 0, FMT_FLAG_GRAPH), body);
	size_t zlen = f.size() - FMT_HEADER_SIZE - FMT_TRAILER_SIZE;
	ASSERT_GT(body.size(), (size_t)FMT_MAX_RATIO * zlen);
	Read r(f);
	EXPECT_EQ(r.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r.Err(), "corrupt: the trailer says the body inflates to " +
				   std::to_string(body.size()) + " bytes, over " +
				   std::to_string(FMT_MAX_RATIO) + " times its " +
				   std::to_string(zlen) +
				   " compressed bytes (no dump compresses that "
				   "well)");
	EXPECT_TRUE(Zeroed(r.d));
	// Up to 1 MiB any ratio passes: a small dump of a small heap.
	secs.erase(secs.end() - 2);
	secs.insert(secs.end() - 1, Sec{99, std::string(900000, '\0')});
	Read small(Reframe(Header(1, 0, FMT_FLAG_GRAPH), Body(secs)));
	ASSERT_EQ(small.rc, 0) << small.Err();
	ExpectSame(*b.Dump(), small.d);
}

TEST(Format, RejectsTruncationAtEveryLength) {
	Builder b;
	SampleGraph(b);
	b.flags |= FMT_FLAG_STRINGS;
	b.strdata.push_back({2, b.Str("k")});
	const std::string f = Write(b.Dump());
	for (size_t len = 0; len < f.size(); len++) {
		std::string cut = f.substr(0, len);
		Read r(cut);
		EXPECT_EQ(r.rc, MUPPY_ECORRUPT) << len;
		EXPECT_TRUE(Zeroed(r.d)) << len;
		std::string e = r.Err();
		EXPECT_TRUE(e.rfind("truncated: ", 0) == 0 ||
			    e.rfind("corrupt: ", 0) == 0) << len << ": " << e;
		Read rs(cut, FMT_READ_SUMMARY);
		EXPECT_EQ(rs.rc, MUPPY_ECORRUPT) << len;
	}
	EXPECT_EQ(Read(f.substr(0, 0)).Err(),
		  "truncated: file is 0 bytes, shorter than the 20-byte header");
	EXPECT_EQ(Read(f.substr(0, 5)).Err(),
		  "truncated: file is 5 bytes, shorter than the 20-byte header");
	EXPECT_EQ(Read(f.substr(0, 19)).Err(),
		  "truncated: file is 19 bytes, shorter than the 20-byte header");
	EXPECT_EQ(Read(f.substr(0, 20)).Err(),
		  "truncated: trailer missing (file is 20 bytes)");
	EXPECT_EQ(Read(f.substr(0, f.size() - 1)).Err(),
		  "truncated: trailer missing (file is " +
			  std::to_string(f.size() - 1) + " bytes)");
	// The body cut short but the trailer kept.
	size_t zlen = f.size() - FMT_HEADER_SIZE - FMT_TRAILER_SIZE;
	std::string mid = f.substr(0, FMT_HEADER_SIZE + zlen / 2) +
			  f.substr(f.size() - FMT_TRAILER_SIZE);
	Read r(mid);
	EXPECT_EQ(r.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r.Err().rfind("truncated: zlib stream ends early", 0), 0u)
		<< r.Err();
}

TEST(Format, RejectsOrIgnoresEveryFlippedBit) {
	Builder b;
	SampleGraph(b);
	const std::string f = Write(b.Dump());
	int accepted = 0;
	for (size_t i = 0; i < f.size(); i++) {
		for (int bit = 0; bit < 8; bit++) {
			std::string bad = f;
			bad[i] ^= (char)(1 << bit);
			Read r(bad);
			if (r.rc == 0) {
				// Only bits that do not change the inflated body
				// can pass the CRCs: deflate's final padding, or
				// a Huffman table entry for a symbol never used.
				accepted++;
				ExpectSame(*b.Dump(), r.d);
			} else {
				EXPECT_TRUE(r.rc == MUPPY_ECORRUPT ||
					    r.rc == MUPPY_EVERSION) << i;
				EXPECT_TRUE(Zeroed(r.d)) << i;
			}
		}
	}
	EXPECT_LT(accepted * 100, (int)f.size() * 8);  // < 1%
}

TEST(Format, RejectsBadBodyCrc) {
	const std::string f = SampleFile();
	std::string bad = f;
	size_t at = bad.size() - 8;
	bad[at] ^= 0x10;
	Read r(bad);
	EXPECT_EQ(r.rc, MUPPY_ECORRUPT);
	char want[128];
	uint32_t body_crc = Crc(Inflate(f));
	snprintf(want, sizeof want,
		 "corrupt: body CRC mismatch (stored 0x%08x, computed 0x%08x)",
		 body_crc ^ 0x10, body_crc);
	EXPECT_EQ(r.Err(), want);
	// A valid stream of a different body under the original trailer.
	std::string body = Inflate(f);
	body[30] ^= 1;
	std::string other = Reframe(f.substr(0, FMT_HEADER_SIZE), body);
	other.replace(other.size() - 8, 4, U32(body_crc));
	Read r2(other);
	EXPECT_EQ(r2.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r2.Err().rfind("corrupt: body CRC mismatch", 0), 0u);
	// Wrong body length in the trailer.
	std::string len = f;
	len.replace(len.size() - 16, 8, U64(body.size() + 1));
	Read r3(len);
	EXPECT_EQ(r3.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r3.Err(), "corrupt: body is " + std::to_string(body.size()) +
				    " bytes, the trailer says " +
				    std::to_string(body.size() + 1));
}

TEST(Format, RejectsTrailingGarbage) {
	const std::string f = SampleFile();
	Read r(f + "xyz");
	EXPECT_EQ(r.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r.Err(), "corrupt: 3 bytes of trailing garbage after the "
			   "trailer at file offset " +
				   std::to_string(f.size() - 16));
	// Appending something that ends like a trailer moves the trailer:
	// the stream then ends before it.
	Read r2(f + f.substr(f.size() - 16));
	EXPECT_EQ(r2.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r2.Err().rfind("corrupt: ", 0), 0u);
	// Bytes between the end of the zlib stream and the trailer.
	std::string mid = f;
	mid.insert(mid.size() - 16, "pad");
	Read r3(mid);
	EXPECT_EQ(r3.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r3.Err(), "corrupt: 3 bytes between the end of the zlib "
			    "stream (file offset " +
				    std::to_string(f.size() - 16) +
				    ") and the trailer");
	Read r4(std::string("PK\x03\x04 this is a zip file, honest", 32));
	EXPECT_EQ(r4.Err(), "not a muppy dump (bad magic)");
}

// ---- the reader: well-framed bodies that lie ----------------------------

// Rebuilds the sample with its sections edited, framed with valid CRCs.
std::string Edited(uint32_t flags,
		   const std::function<void(std::vector<Sec> &)> &edit) {
	Builder b;
	SampleGraph(b);
	b.flags = flags;
	std::vector<Sec> secs = Sections(Inflate(Write(b.Dump())));
	edit(secs);
	return Reframe(Header(1, 0, flags), Body(secs));
}

void ExpectCorrupt(const std::string &f, const std::string &want_prefix) {
	Read r(f);
	EXPECT_EQ(r.rc, MUPPY_ECORRUPT) << want_prefix;
	EXPECT_EQ(r.Err().substr(0, want_prefix.size()), want_prefix)
		<< "got: " << r.Err();
	EXPECT_TRUE(Zeroed(r.d));
}

TEST(Format, RejectsBadSectionFraming) {
	const uint32_t G = FMT_FLAG_GRAPH;
	std::string body = Inflate(SampleFile());
	size_t end_at = body.size() - 12;  // offset of the END header
	ExpectCorrupt(Reframe(Header(1, 0, G), body.substr(0, end_at)),
		      "corrupt: at body offset " + std::to_string(end_at) +
			      ": END section missing");
	ExpectCorrupt(Reframe(Header(1, 0, G), body.substr(0, end_at + 5)),
		      "corrupt: at body offset " + std::to_string(end_at) +
			      ": section header cut short");
	ExpectCorrupt(Reframe(Header(1, 0, G), body + "x"),
		      "corrupt: section 0 (END) at body offset " +
			      std::to_string(body.size()) +
			      ": 1 bytes after the END section");
	ExpectCorrupt(Edited(G, [](std::vector<Sec> &s) {
			      s.back().payload = "z"; }),
		      "corrupt: section 0 (END) at body offset");
	ExpectCorrupt(Edited(G, [](std::vector<Sec> &s) {
			      s.insert(s.begin() + 2, s[0]); }),
		      "corrupt: section 2 (STRTAB) at body offset");
	ExpectCorrupt(Edited(G, [](std::vector<Sec> &s) {
			      s.erase(s.begin() + 2); }),  // TYPES
		      "corrupt: at body offset");
	{
		Read r(Edited(G, [](std::vector<Sec> &s) {
			s.erase(s.begin() + 2); }));
		EXPECT_NE(r.Err().find("section 3 (TYPES) missing"),
			  std::string::npos) << r.Err();
	}
	// A section length that runs past the body.
	std::string lying = body;
	put_u64((uint8_t *)&lying[4], body.size());
	ExpectCorrupt(Reframe(Header(1, 0, G), lying),
		      "corrupt: at body offset 12: section 2 length " +
			      std::to_string(body.size()) +
			      " is past the end of the body (" +
			      std::to_string(body.size() - 12) + " bytes left)");
	// Graph sections against the header flags.
	ExpectCorrupt(Edited(0, [](std::vector<Sec> &s) {
			      s.insert(s.end() - 1, Sec{FMT_SEC_ROOTS, V(0)}); }),
		      "corrupt: at body offset");
	{
		Read r(Edited(0, [](std::vector<Sec> &s) {
			s.insert(s.end() - 1, Sec{FMT_SEC_ROOTS, V(0)}); }));
		EXPECT_NE(r.Err().find("section 7 (ROOTS) present but the "
				       "header flags 0x0 do not announce it"),
			  std::string::npos) << r.Err();
	}
	ExpectCorrupt(Edited(G, [](std::vector<Sec> &s) {
			      s.erase(s.begin() + 5); }),  // EDGES
		      "corrupt: at body offset");
	// STRINGS without GRAPH in a CRC-valid header.
	Read r(Reframe(Header(1, 0, FMT_FLAG_STRINGS), body));
	EXPECT_EQ(r.rc, MUPPY_ECORRUPT);
	EXPECT_EQ(r.Err(), "corrupt: header flags 0x2: STRINGS without GRAPH");
}

TEST(Format, RejectsBadPayloads) {
	const uint32_t G = FMT_FLAG_GRAPH;
	auto set = [](uint32_t id, std::string payload) {
		return [id, payload](std::vector<Sec> &s) {
			Find(s, id)->payload = payload;
		};
	};
	// Unconsumed payload bytes.
	ExpectCorrupt(Edited(G, [](std::vector<Sec> &s) {
			      Find(s, FMT_SEC_META)->payload += "!"; }),
		      "corrupt: section 1 (META) at body offset");
	{
		Read r(Edited(G, [](std::vector<Sec> &s) {
			Find(s, FMT_SEC_META)->payload += "!"; }));
		EXPECT_NE(r.Err().find(": 1 unread bytes at the end of the "
				       "payload"), std::string::npos);
	}
	// Counts that cannot fit: refused before allocating anything big.
	ExpectCorrupt(Edited(G, set(FMT_SEC_OBJECTS, V(1ull << 40) + "abc")),
		      "corrupt: section 5 (OBJECTS) at body offset");
	{
		Read r(Edited(G, set(FMT_SEC_OBJECTS, V(4000000000u) + "abc")));
		EXPECT_NE(r.Err().find("4000000000 objects cannot fit in the 3 "
				       "bytes left"), std::string::npos) << r.Err();
		Read r2(Edited(G, set(FMT_SEC_OBJECTS, V(1ull << 40))));
		EXPECT_NE(r2.Err().find("1099511627776 objects is more than "
					"4294967295"), std::string::npos);
		Read r3(Edited(G, set(FMT_SEC_EDGES, V(9) + V(4000000000u) +
							 std::string(16, 0))));
		EXPECT_NE(r3.Err().find("edges cannot fit"), std::string::npos)
			<< r3.Err();
		// edge_start is 32-bit: a wider count is refused as such.
		Read r5(Edited(G, set(FMT_SEC_EDGES, V(9) + V(1ull << 32) +
							 std::string(16, 0))));
		EXPECT_NE(r5.Err().find("4294967296 edges is more than "
					"4294967295"), std::string::npos)
			<< r5.Err();
		Read r4(Edited(G, set(FMT_SEC_STRTAB, V(UINT32_MAX))));
		EXPECT_NE(r4.Err().find("strings cannot fit"), std::string::npos);
	}
	// Varints: too long, past 64 bits, cut by the section end.
	ExpectCorrupt(Edited(G, set(FMT_SEC_META,
				    std::string(10, '\x80') + "\x01")),
		      "corrupt: section 1 (META) at body offset");
	{
		Read r(Edited(G, set(FMT_SEC_META,
				     std::string(10, '\x80') + "\x01")));
		EXPECT_NE(r.Err().find("varint does not fit in 64 bits"),
			  std::string::npos) << r.Err();
		Read r2(Edited(G, set(FMT_SEC_META,
				      std::string(9, '\xff') + "\x02")));
		EXPECT_NE(r2.Err().find("varint does not fit in 64 bits"),
			  std::string::npos) << r2.Err();
		Read r3(Edited(G, set(FMT_SEC_META,
				      V(2) + V(0) + V(0) + V(0) + "\x81")));
		EXPECT_NE(r3.Err().find("payload ends in the middle of a value"),
			  std::string::npos) << r3.Err();
		Read r4(Edited(G, set(FMT_SEC_META, V(1) + V(1ull << 32) + V(0))));
		EXPECT_NE(r4.Err().find("meta key 4294967296 does not fit in 32 "
					"bits"), std::string::npos) << r4.Err();
	}
	// String table: string 0 must be "", lengths inside the section.
	ExpectCorrupt(Edited(G, set(FMT_SEC_STRTAB, V(0))),
		      "corrupt: section 2 (STRTAB) at body offset");
	{
		Read r(Edited(G, set(FMT_SEC_STRTAB, V(1) + V(1) + "a")));
		EXPECT_NE(r.Err().find("string 0 is not \"\""), std::string::npos)
			<< r.Err();
		Read r2(Edited(G, set(FMT_SEC_STRTAB, V(2) + V(0) + V(5) + "ab")));
		EXPECT_NE(r2.Err().find("string 1 length 5 runs past the section"),
			  std::string::npos) << r2.Err();
	}
}

// OBJECTS/EDGES payloads built by hand for one or two objects.
std::string Objects1(uint64_t type, uint64_t label) {
	return V(1) + V(0) + V(0x1000) + V(0) + V(type) + V(64) + V(1) +
	       V(label);
}

TEST(Format, RejectsOutOfRangeReferences) {
	const uint32_t G = FMT_FLAG_GRAPH;
	auto graph = [](std::string objects, std::string edges,
			std::string roots) {
		return [=](std::vector<Sec> &s) {
			Find(s, FMT_SEC_OBJECTS)->payload = objects;
			Find(s, FMT_SEC_EDGES)->payload = edges;
			Find(s, FMT_SEC_ROOTS)->payload = roots;
		};
	};
	const std::string no_edges = V(1) + V(0) + V(0);
	// The hand-built one-object graph is itself valid.
	{
		Read r(Edited(G, graph(Objects1(2, 1), no_edges, V(0))));
		ASSERT_EQ(r.rc, 0) << r.Err();
		EXPECT_EQ(r.d.nobjects, 1u);
		EXPECT_EQ(r.d.obj_addr[0], 0x1000u);
		EXPECT_EQ(r.d.obj_type[0], 2u);
		EXPECT_EQ(r.d.obj_label[0], 1u);
	}
	struct Case {
		std::string objects, edges, roots, want;
	};
	const std::vector<Case> cases = {
		{Objects1(8, 0), no_edges, V(0), "object 0 has type 8 of 8"},
		{Objects1(0, 999), no_edges, V(0), "object 0 label names string 999"},
		{Objects1(0, 0), V(2) + V(0) + V(0) + V(0), V(0),
		 "covers 2 objects, OBJECTS has 1"},
		{Objects1(0, 0), V(1) + V(1) + V(1) + V(zigzag_enc(1)) + V(0), V(0),
		 "edge 0 target 1 out of range (1 objects)"},
		{Objects1(0, 0), V(1) + V(1) + V(1) + V(zigzag_enc(-1)) + V(0), V(0),
		 "edge 0 target -1 out of range (1 objects)"},
		{Objects1(0, 0), V(1) + V(2) + V(1) + V(0) + V(0) + V(0) + V(0), V(0),
		 "out-degrees add up to 1, not 2 edges"},
		{Objects1(0, 0), V(1) + V(1) + V(2) + V(0) + V(0), V(0),
		 "out-degrees add up to more than 1 edges"},
		{Objects1(0, 0), V(1) + V(1) + V(1) + V(0) +
		 V(FMT_EDGE_NAME(FMT_EDGE_ATTR, 5000)), V(0),
		 "edge 0 name 0x9c43 names a string past"},
		{Objects1(0, 0), no_edges, V(1) + V(1) + V(1) + V(0),
		 "root 0: object 1 or name 0 out of range"},
		{Objects1(0, 0), no_edges, V(1) + V(0) + V(1) + V(100000),
		 "root 0: object 0 or name 100000 out of range"},
		{V(2) + V(3) + V(1) + V(UINT64_MAX >> 3) + V(0) + V(0) + V(0) +
		 V(0) + V(0) + V(0) + V(0) + V(0) + V(0), V(2) + V(0) + V(0) + V(0),
		 V(0), "address of object 1 is past 2^64"},
		{V(2) + V(0) + V(UINT64_MAX) + V(0) + V(0) + V(0) + V(0) +
		 V(0) + V(0) + V(0) + V(0) + V(0), V(2) + V(0) + V(0) + V(0),
		 V(0), "address of object 1 is past 2^64"},
		{V(1) + V(0) + V(0) + V(9) + V(0) + V(0) + V(0) + V(0),
		 no_edges, V(0), "9 flag bits > 8"},
		{V(1) + V(64) + V(0) + V(0) + V(0) + V(0) + V(0) + V(0),
		 no_edges, V(0), "address shift 64 > 63"},
		{V(1) + V(0) + V(0) + V(2) + V(1ull << 34) + V(0) + V(0) + V(0),
		 no_edges, V(0), "type index of object 0 does not fit in 32 bits"},
	};
	for (const Case &c : cases) {
		Read r(Edited(G, graph(c.objects, c.edges, c.roots)));
		EXPECT_EQ(r.rc, MUPPY_ECORRUPT) << c.want;
		EXPECT_NE(r.Err().find(c.want), std::string::npos)
			<< "want: " << c.want << "\ngot:  " << r.Err();
		EXPECT_EQ(r.Err().rfind("corrupt: section ", 0), 0u) << r.Err();
		EXPECT_TRUE(Zeroed(r.d));
	}
	// Tables naming strings that do not exist.
	Read rm(Edited(G, [](std::vector<Sec> &s) {
		Find(s, FMT_SEC_META)->payload = V(1) + V(0) + V(777);
	}));
	EXPECT_NE(rm.Err().find("section 1 (META) at body offset"),
		  std::string::npos) << rm.Err();
	Read rs(Edited(G, [](std::vector<Sec> &s) {
		Find(s, FMT_SEC_SUMMARY)->payload = V(1) + V(777) + V(1) + V(1);
	}));
	EXPECT_NE(rs.Err().find("row 0 names string 777"), std::string::npos);
	Read rt(Edited(G, [](std::vector<Sec> &s) {
		Find(s, FMT_SEC_TYPES)->payload = V(1) + V(0) + V(777);
	}));
	EXPECT_NE(rt.Err().find("section 3 (TYPES) at body offset"),
		  std::string::npos) << rt.Err();
	EXPECT_NE(rt.Err().find("type 0 names string 777"), std::string::npos);
	Read rn(Edited(G | FMT_FLAG_STRINGS, [](std::vector<Sec> &s) {
		Find(s, FMT_SEC_STRDATA)->payload = V(1) + V(zigzag_enc(-1)) +
						    V(0);
	}));
	EXPECT_NE(rn.Err().find("string contents 0: object index out of range"),
		  std::string::npos) << rn.Err();
	Read rd(Edited(G | FMT_FLAG_STRINGS, [](std::vector<Sec> &s) {
		Find(s, FMT_SEC_STRDATA)->payload = V(1) + V(zigzag_enc(9)) + V(0);
	}));
	EXPECT_NE(rd.Err().find("entry 0: object 9 or string 0 out of range"),
		  std::string::npos) << rd.Err();
}

// ---- files and small functions -------------------------------------------

TEST(Format, ReadFile) {
	const std::string f = SampleFile();
	// Bazel gives each test its own TEST_TMPDIR.
	const char *tmp = getenv("TEST_TMPDIR");
	std::string dir = tmp && *tmp ? tmp : "/tmp";
	std::string tmpl = dir + "/format_test_XXXXXX";
	std::vector<char> pathbuf(tmpl.begin(), tmpl.end());
	pathbuf.push_back('\0');
	char *path = pathbuf.data();
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, f.data(), f.size()), (ssize_t)f.size());
	close(fd);
	fmt_dump d;
	char err[256] = "";
	ASSERT_EQ(fmt_read_file(path, FMT_READ_ALL, &d, err, sizeof err), 0)
		<< err;
	EXPECT_EQ(d.nobjects, 9u);
	fmt_dump_free(&d);
	ASSERT_EQ(fmt_read_file(path, FMT_READ_SUMMARY, &d, err, sizeof err), 0);
	EXPECT_EQ(d.nsummary, 4u);
	fmt_dump_free(&d);
	unlink(path);
	EXPECT_EQ(fmt_read_file(path, FMT_READ_ALL, &d, err, sizeof err),
		  MUPPY_EIO);
	EXPECT_EQ(std::string(err), "cannot open: No such file or directory");
	EXPECT_EQ(errno, ENOENT);
	EXPECT_TRUE(Zeroed(d));
	EXPECT_EQ(fmt_read_file(dir.c_str(), FMT_READ_ALL, &d, err, sizeof err),
		  MUPPY_EIO);
	EXPECT_EQ(std::string(err), "cannot read: Is a directory");
	EXPECT_EQ(fmt_read_file("/dev/null", FMT_READ_ALL, &d, err, sizeof err),
		  MUPPY_ECORRUPT);
	EXPECT_EQ(std::string(err),
		  "truncated: file is 0 bytes, shorter than the 20-byte header");
}

// A pipe has no size up front: the reader grows its buffer.
TEST(Format, ReadFileFromPipe) {
	Builder b;
	SampleGraph(b);
	b.Str(std::string(200000, 'p'));
	const std::string f = Write(b.Dump(), 0);  // stored: > 200 KB
	ASSERT_GT(f.size(), 200000u);
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	std::thread writer([&] {
		size_t off = 0;
		while (off < f.size()) {
			ssize_t n = write(fds[1], f.data() + off, f.size() - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(fds[1]);
	});
	std::string path = "/dev/fd/" + std::to_string(fds[0]);
	fmt_dump d;
	char err[256] = "";
	int rc = fmt_read_file(path.c_str(), FMT_READ_ALL, &d, err, sizeof err);
	writer.join();
	close(fds[0]);
	ASSERT_EQ(rc, 0) << err;
	ExpectSame(*b.Dump(), d);
	fmt_dump_free(&d);
}

TEST(Format, ErrorBufferIsOptionalAndBounded) {
	std::string f = SampleFile();
	f[0] = 'X';
	fmt_dump d;
	EXPECT_EQ(fmt_read_mem(f.data(), f.size(), FMT_READ_ALL, &d, nullptr, 0),
		  MUPPY_ECORRUPT);
	char small[8];
	EXPECT_EQ(fmt_read_mem(f.data(), f.size(), FMT_READ_ALL, &d, small,
			       sizeof small), MUPPY_ECORRUPT);
	EXPECT_STREQ(small, "not a m");
	EXPECT_EQ(fmt_read_mem(nullptr, 0, FMT_READ_ALL, &d, small, sizeof small),
		  MUPPY_ECORRUPT);
}

TEST(Format, SmallFunctions) {
	EXPECT_STREQ(fmt_strerror(MUPPY_OK), "success");
	EXPECT_STREQ(fmt_strerror(MUPPY_ENOMEM), "out of memory");
	EXPECT_STREQ(fmt_strerror(MUPPY_EIO), "input/output error");
	EXPECT_STREQ(fmt_strerror(MUPPY_ECORRUPT),
		     "not a valid muppy dump (truncated or corrupt)");
	EXPECT_STREQ(fmt_strerror(MUPPY_EINVAL), "invalid argument");
	EXPECT_STREQ(fmt_strerror(-99), "unknown error");
	fmt_dump_free(nullptr);
	Read r(SampleFile());
	ASSERT_EQ(r.rc, 0);
	EXPECT_STREQ(fmt_str(&r.d, r.d.nstrings), "");
	EXPECT_STREQ(fmt_str(&r.d, UINT32_MAX), "");
	EXPECT_STREQ(fmt_str(nullptr, 1), "");
	EXPECT_EQ(fmt_meta_get(nullptr, "pid"), nullptr);
	EXPECT_EQ(fmt_find_object(nullptr, 0), -1);
	fmt_dump_free(&r.d);
	EXPECT_TRUE(Zeroed(r.d));
	EXPECT_EQ(r.d.major, 0);
	fmt_dump_free(&r.d);  // twice is fine: it is zeroed
	// A writer-filled struct has no reader allocations: free only zeroes.
	Builder b;
	SampleGraph(b);
	fmt_dump *d = b.Dump();
	EXPECT_STREQ(fmt_meta_get(d, "pid"), "4242");
	EXPECT_EQ(fmt_find_object(d, 0x7f0000003040), 6);
	fmt_dump_free(d);
	EXPECT_EQ(d->nobjects, 0u);
}

TEST(Format, VarintHelpers) {
	const uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX,
				 1ull << 63, UINT64_MAX - 1, UINT64_MAX};
	for (uint64_t v : vals) {
		uint8_t b[VARINT_MAX_LEN];
		size_t n = put_varint(b, v);
		EXPECT_EQ(n, varint_len(v));
		uint64_t out = 1;
		EXPECT_EQ(get_varint(b, b + n, &out), n);
		EXPECT_EQ(out, v);
		EXPECT_EQ(get_varint(b, b + n - 1, &out), 0u);  // cut short
		int64_t s = (int64_t)v;
		EXPECT_EQ(zigzag_dec(zigzag_enc(s)), s);
	}
	EXPECT_EQ(varint_len(UINT64_MAX), 10u);
	EXPECT_EQ(zigzag_enc(0), 0u);
	EXPECT_EQ(zigzag_enc(-1), 1u);
	EXPECT_EQ(zigzag_enc(1), 2u);
	EXPECT_EQ(zigzag_enc(INT64_MIN), UINT64_MAX);
	const uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0xff, 0xff, 0x02};
	uint64_t out;
	EXPECT_EQ(get_varint(over, over + 10, &out), 0u);
	const uint8_t longer[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				    0x80, 0x80, 0x80, 0x80, 0x00};
	EXPECT_EQ(get_varint(longer, longer + 11, &out), 0u);
	const uint8_t padded[3] = {0x85, 0x80, 0x00};  // non-minimal 5
	EXPECT_EQ(get_varint(padded, padded + 3, &out), 3u);
	EXPECT_EQ(out, 5u);
	uint8_t le[8];
	put_u64(le, 0x0102030405060708ull);
	EXPECT_EQ(le[0], 0x08);
	EXPECT_EQ(le[7], 0x01);
	EXPECT_EQ(get_u64(le), 0x0102030405060708ull);
	put_u16(le, 0xbeef);
	EXPECT_EQ(le[0], 0xef);
	EXPECT_EQ(get_u16(le), 0xbeef);
}

// The move-to-front list the writer and reader use (SSE2 here) against
// the plain one of the format's definition, step by step: the place
// found and every entry, on streams of mostly hits, mostly misses (the
// list full, its oldest dropped) and targets 0 and UINT32_MAX, which the
// vector one's zeroed lanes and masks must not confuse.
TEST(Format, MoveToFrontListIsThePlainOne) {
	std::mt19937 rng(16);
	for (uint32_t range : {3u, 17u, 40u, 1000u, 0u}) {
		struct mtf fast;
		struct mtf_plain plain;
		mtf_init(&fast);
		mtf_plain_init(&plain);
		for (int step = 0; step < 5000; step++) {
			uint32_t t = range ? (uint32_t)(rng() % range)
					   : (rng() % 2 ? 0u : UINT32_MAX);
			if (range == 40u && rng() % 2)
				t = UINT32_MAX - t;
			unsigned at = mtf_find(&fast, t);
			ASSERT_EQ(at, mtf_plain_find(&plain, t)) << step;
			mtf_front(&fast, at, t);
			mtf_plain_front(&plain, at, t);
			ASSERT_EQ(mtf_len(&fast), plain.n);
			for (unsigned i = 0; i < plain.n; i++)
				ASSERT_EQ(mtf_at(&fast, i), mtf_plain_at(&plain, i))
					<< "range " << range << " step " << step
					<< " place " << i;
		}
		EXPECT_EQ(plain.n, range == 0u ? 2u : range == 3u ? 3u : 16u);
	}
}

}  // namespace

// ---- streamed dumps (format 1.1, 1.2) ----------------------------------

namespace {

// A graph written as the shim streams it: objects in a shuffled "walk"
// order, some slots left out, edges in chunks after their objects, every
// named edge repeated unnamed (what tp_traverse adds), roots by slot.
struct Streamed {
	Builder want;              // the dump a reader must give back
	std::string file;
	std::vector<uint32_t> slot_of;   // object index -> slot
	uint32_t nslots = 0;
};

// ahead: every other chunk goes through fmt_rawchunk_encode (the first of
// them with a quarter of the strings) and fmt_stream_rawchunk; deflate:
// of those, the first and every other one after is compressed ahead too
// (fmt_rawchunk_deflate), at level `level`.
void StreamRandom(Streamed &s, uint32_t n, uint32_t per_chunk, int flags,
		  bool skip = true, bool ahead = false, bool deflate = false,
		  int level = 1) {
	Builder &b = s.want;
	uint64_t seed = 777;
	auto rnd = [&seed](uint64_t m) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		return (seed >> 33) % m;
	};
	b.flags = FMT_FLAG_GRAPH | (uint32_t)flags;
	for (int i = 0; i < 20; i++)
		b.Type(0x1000 + 0x100 * (uint64_t)i, "t" + std::to_string(i));
	for (int i = 0; i < 300; i++)
		b.Str("s" + std::to_string(i));
	uint64_t a = 0x7f0000000000;
	for (uint32_t i = 0; i < n; i++) {
		a += 16 * (1 + rnd(rnd(10) ? 4 : 100000));
		b.Obj(a, (uint32_t)rnd(20), 16 + rnd(1000), (uint32_t)rnd(9),
		      rnd(10) ? 0 : (uint32_t)rnd(300), (uint8_t)rnd(8));
		std::vector<uint32_t> to;
		for (uint64_t k = rnd(6); k > 0; k--) {
			// A third to a few popular objects (types, shared
			// defaults): CHUNK2's move-to-front list finds them,
			// more of them than it holds.
			uint32_t t = (uint32_t)(rnd(3) ? rnd(n) : rnd(24) % n);
			if (std::find(to.begin(), to.end(), t) != to.end())
				continue;
			to.push_back(t);
			b.Edge(t, rnd(3) ? FMT_EDGE_NAME(FMT_EDGE_ATTR, rnd(300))
					 : (uint32_t)FMT_EDGE_NONE);
		}
	}
	// Slots: a permutation, with a left-out object every 50 slots.
	std::vector<uint32_t> order(n);
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	for (uint32_t i = n; i > 1; i--)
		std::swap(order[i - 1], order[rnd(i)]);
	std::vector<int64_t> at_slot;   // slot -> index, -1 left out
	s.slot_of.assign(n, 0);
	for (uint32_t i = 0; i < n; i++) {
		if (skip && i % 50 == 7)
			at_slot.push_back(-1);
		s.slot_of[order[i]] = (uint32_t)at_slot.size();
		at_slot.push_back(order[i]);
	}
	s.nslots = (uint32_t)at_slot.size();
	for (uint32_t i = 0; i < 40; i++)
		b.roots.push_back({(uint32_t)rnd(n), 1 + (uint32_t)rnd(3),
				   (uint32_t)rnd(300)});
	if (flags & FMT_FLAG_STRINGS)
		for (uint32_t i = 0; i < n; i += 37)
			b.strdata.push_back({i, (uint32_t)rnd(300)});
	fmt_dump *d = b.Dump();

	std::string &f = s.file;
	fmt_stream *st;
	ASSERT_EQ(fmt_stream_begin(&st, (uint32_t)flags, level, NULL,
				   [](void *c, const void *p, size_t len) {
		static_cast<std::string *>(c)->append((const char *)p, len);
		return 0;
	}, &f), 0);
	// Half the strings first, the rest with the tail.
	uint32_t sent = d->nstrings / 4;
	ASSERT_EQ(fmt_stream_strings(st, d->strings, sent), 0);
	fmt_rawchunk *raw = nullptr;
	fmt_deflater *z = nullptr;
	if (ahead) {
		ASSERT_EQ(fmt_rawchunk_new(&raw, nullptr), 0);
	}
	if (deflate) {
		ASSERT_EQ(fmt_deflater_new(&z, st), 0);
	}
	std::vector<uint32_t> es, ed, en;
	for (uint32_t first = 0; first < s.nslots; first += per_chunk) {
		uint32_t k = std::min(per_chunk, s.nslots - first);
		std::vector<uint64_t> ca, cs;
		std::vector<uint32_t> ct, cr, cl;
		std::vector<uint8_t> cf;
		for (uint32_t j = first; j < first + k; j++) {
			int64_t i = at_slot[j];
			if (i < 0) {   // left out: an address between two others
				ca.push_back(d->obj_addr[0] + 8);
				ct.push_back(FMT_SLOT_SKIPPED);
				cs.push_back(0); cr.push_back(0);
				cl.push_back(0); cf.push_back(0);
				// and edges to it, which must go
				es.push_back(s.slot_of[0]);
				ed.push_back(j);
				en.push_back(0);
				continue;
			}
			ca.push_back(d->obj_addr[i]);
			ct.push_back(d->obj_type[i]);
			cs.push_back(d->obj_size[i]);
			cr.push_back(d->obj_refcnt[i]);
			cl.push_back(d->obj_label[i] < (first ? d->nstrings / 2 :
							 d->nstrings / 4) ?
				     d->obj_label[i] : 0);
			b.label[i] = cl.back();
			cf.push_back(d->obj_flags[i]);
			for (uint32_t e = d->edge_start[i];
			     e < d->edge_start[i + 1]; e++) {
				es.push_back(j);
				ed.push_back(s.slot_of[d->edge_dst[e]]);
				en.push_back(d->edge_name[e]);
				if (d->edge_name[e]) {   // the unnamed repeat
					es.push_back(j);
					ed.push_back(ed.back());
					en.push_back(0);
				}
			}
		}
		fmt_chunk c{};
		c.first = first;
		c.nobjects = k;
		c.addr = ca.data(); c.type = ct.data(); c.size = cs.data();
		c.refcnt = cr.data(); c.label = cl.data(); c.flags = cf.data();
		// Edges lag a chunk behind their objects, as in a walk.
		c.nedges = (uint32_t)es.size() / 2;
		c.src = es.data(); c.dst = ed.data(); c.name = en.data();
		// The second quarter of the strings goes with chunk 1.
		uint32_t more = first == per_chunk ? d->nstrings / 2 - sent : 0;
		if (ahead && (first / per_chunk) % 2 == 1) {
			ASSERT_EQ(fmt_rawchunk_encode(raw, sent,
						      d->strings + sent,
						      more, &c), 0);
			if (z && (first / per_chunk) % 4 == 1) {
				ASSERT_EQ(fmt_rawchunk_deflate(raw, z), 0);
			}
			ASSERT_EQ(fmt_stream_rawchunk(st, raw), 0);
		} else {
			ASSERT_EQ(fmt_stream_more_strings(st, d->strings + sent,
							  more), 0);
			ASSERT_EQ(fmt_stream_chunk(st, &c), 0);
		}
		sent += more;
		es.erase(es.begin(), es.begin() + c.nedges);
		ed.erase(ed.begin(), ed.begin() + c.nedges);
		en.erase(en.begin(), en.begin() + c.nedges);
	}
	fmt_chunk last{};
	last.first = s.nslots;
	last.nedges = (uint32_t)es.size();
	last.src = es.data(); last.dst = ed.data(); last.name = en.data();
	ASSERT_EQ(fmt_stream_chunk(st, &last), 0);
	fmt_dump tail = *b.Dump();
	std::vector<fmt_root> roots(b.roots);
	for (auto &r : roots)
		r.obj = s.slot_of[r.obj];
	std::vector<fmt_strdata> sd(b.strdata);
	for (auto &x : sd)
		x.obj = s.slot_of[x.obj];
	tail.roots = roots.data();
	tail.strdata = sd.data();
	ASSERT_EQ(fmt_stream_end(st, &tail), 0);
	fmt_rawchunk_free(raw);
	fmt_deflater_free(z);
}

fmt_dump Unstreamed(const fmt_dump &d) {
	fmt_dump c = d;
	c.flags &= ~FMT_FLAG_STREAM;
	return c;
}

}  // namespace

TEST(FormatStream, ReadsBackAsTheWholeDump) {
	for (int flags : {0, (int)FMT_FLAG_STRINGS}) {
		Streamed s;
		StreamRandom(s, 20000, 777, flags);
		Read r(s.file);
		ASSERT_EQ(r.rc, 0) << r.Err();
		EXPECT_EQ(r.d.major, 1);
		EXPECT_EQ(r.d.minor, FMT_MINOR_STREAM);
		EXPECT_TRUE(r.d.flags & FMT_FLAG_STREAM);
		ExpectSame(*s.want.Dump(), Unstreamed(r.d));
	}
}

TEST(FormatStream, EveryReadModeAgreesWithTheWholeDump) {
	Streamed s;
	StreamRandom(s, 5000, 1000, 0);
	std::string whole = Write(s.want.Dump());
	{
		Read all(whole);
		ASSERT_EQ(all.rc, 0) << all.Err();
		ExpectMatchOf(s.file, all.d);
	}
	for (fmt_read_what w : {FMT_READ_SUMMARY, FMT_READ_OBJECTS,
				FMT_READ_DEGREES}) {
		Read a(whole, w), b(s.file, w);
		ASSERT_EQ(a.rc, 0) << a.Err();
		ASSERT_EQ(b.rc, 0) << b.Err();
		EXPECT_EQ(b.d.edge_dst, nullptr);
		a.d.flags = b.d.flags = 0;
		EXPECT_EQ(a.d.nedges, b.d.nedges);
		fmt_dump x = a.d, y = b.d;
		x.nedges = y.nedges = 0;   // no edge arrays to compare
		std::vector<uint32_t> none(x.nobjects + 1, 0);
		EXPECT_EQ(x.edge_start == nullptr, y.edge_start == nullptr);
		if (!x.edge_start)
			x.edge_start = y.edge_start = none.data();
		ExpectSame(x, y);
	}
}

// Chunks encoded ahead make the same file, byte for byte, as chunks
// given to the stream: deflate sees the same bytes in the same order.
TEST(FormatStream, ChunksEncodedAheadMakeTheSameFile) {
	for (int flags : {0, (int)FMT_FLAG_STRINGS}) {
		Streamed plain, ahead;
		StreamRandom(plain, 20000, 777, flags, true, false);
		StreamRandom(ahead, 20000, 777, flags, true, true);
		ASSERT_FALSE(plain.file.empty());
		EXPECT_TRUE(plain.file == ahead.file);
		Read r(ahead.file);
		ASSERT_EQ(r.rc, 0) << r.Err();
		ExpectSame(*ahead.want.Dump(), Unstreamed(r.d));
	}
}

// Chunks compressed ahead are spliced into the one zlib stream (write.c
// note 5): the body is byte for byte the one written without them, the
// file reads back as the same dump (the reader checks zlib's Adler-32 and
// the trailer's CRC, both combined from the pieces), at every level.
TEST(FormatStream, ChunksCompressedAheadReadBackTheSame) {
	for (int level : {0, 1, 6, 9}) {
		Streamed plain, ahead;
		StreamRandom(plain, 20000, 777, FMT_FLAG_STRINGS, true, true,
			     false, level);
		StreamRandom(ahead, 20000, 777, FMT_FLAG_STRINGS, true, true,
			     true, level);
		ASSERT_FALSE(ahead.file.empty());
		// The same bytes before deflate: the trailers (body length
		// and CRC) agree.
		EXPECT_EQ(plain.file.substr(plain.file.size() - 16),
			  ahead.file.substr(ahead.file.size() - 16));
		EXPECT_FALSE(plain.file == ahead.file);   // it was spliced
		Read r(ahead.file);
		ASSERT_EQ(r.rc, 0) << "level " << level << ": " << r.Err();
		ExpectSame(*ahead.want.Dump(), Unstreamed(r.d));
	}
	// A bit flipped in the compressed pieces is caught: the file is
	// refused.
	Streamed s;
	StreamRandom(s, 20000, 777, 0, true, true, true);
	for (size_t at : {s.file.size() / 3, s.file.size() / 2}) {
		std::string bad = s.file;
		bad[at] ^= 0x10;
		Read r(bad);
		EXPECT_NE(r.rc, 0) << at;
	}
}

// A deflater outlives its stream, and refuses a chunk with nothing encoded.
TEST(FormatStream, ChunksCompressedAheadAreChecked) {
	std::string f;
	auto sink = [](void *c, const void *p, size_t len) {
		static_cast<std::string *>(c)->append((const char *)p, len);
		return 0;
	};
	fmt_stream *st;
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	fmt_deflater *z;
	ASSERT_EQ(fmt_deflater_new(&z, st), 0);
	fmt_stream_abort(st);   // a deflater outlives its stream
	fmt_rawchunk *raw;
	ASSERT_EQ(fmt_rawchunk_new(&raw, nullptr), 0);
	EXPECT_EQ(fmt_rawchunk_deflate(raw, z), MUPPY_EINVAL);  // nothing yet
	fmt_rawchunk_free(raw);
	fmt_deflater_free(z);
	fmt_deflater_free(nullptr);
}

// A chunk encoded ahead goes only where it was encoded for, and is
// checked as the calls it stands for are.
TEST(FormatStream, ChunksEncodedAheadAreChecked) {
	std::string f;
	auto sink = [](void *c, const void *p, size_t len) {
		static_cast<std::string *>(c)->append((const char *)p, len);
		return 0;
	};
	struct fmt_str strs[] = {{"", 0}, {"x", 1}, {"y", 1}};
	uint64_t addr = 0x1000, size = 16;
	uint32_t type = 0, rc = 1, label = 2;
	uint8_t fl = 0;
	fmt_chunk c{};
	c.nobjects = 1;
	c.addr = &addr; c.type = &type; c.size = &size;
	c.refcnt = &rc; c.label = &label; c.flags = &fl;
	fmt_rawchunk *raw;
	ASSERT_EQ(fmt_rawchunk_new(&raw, nullptr), 0);
	fmt_stream *st;
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	// Nothing encoded yet; a label past the strings; "" not first.
	EXPECT_EQ(fmt_stream_rawchunk(st, raw), MUPPY_EINVAL);
	fmt_stream_abort(st);
	EXPECT_EQ(fmt_rawchunk_encode(raw, 0, strs, 2, &c), MUPPY_EINVAL);
	EXPECT_EQ(fmt_rawchunk_encode(raw, 0, strs + 1, 2, &c), MUPPY_EINVAL);
	fl = 8;
	EXPECT_EQ(fmt_rawchunk_encode(raw, 0, strs, 3, &c), MUPPY_EINVAL);
	fl = 0;
	// Encoded for slot 0 after no strings: refused anywhere else.
	ASSERT_EQ(fmt_rawchunk_encode(raw, 0, strs, 3, &c), 0);
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	ASSERT_EQ(fmt_stream_strings(st, strs, 1), 0);
	EXPECT_EQ(fmt_stream_rawchunk(st, raw), MUPPY_EINVAL);
	fmt_stream_abort(st);
	// A failed encode leaves nothing to write.
	EXPECT_EQ(fmt_rawchunk_encode(raw, 0, strs, 1, &c), MUPPY_EINVAL);
	f.clear();
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	EXPECT_EQ(fmt_stream_rawchunk(st, raw), MUPPY_EINVAL);
	fmt_stream_abort(st);
	// Where it belongs it is the dump the two calls would write.
	ASSERT_EQ(fmt_rawchunk_encode(raw, 0, strs, 3, &c), 0);
	f.clear();
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	ASSERT_EQ(fmt_stream_rawchunk(st, raw), 0);
	fmt_type t = {0x500, 1};
	fmt_dump tail{};
	tail.nstrings = 3;
	tail.strings = strs;
	tail.ntypes = 1;
	tail.types = &t;
	ASSERT_EQ(fmt_stream_end(st, &tail), 0);
	fmt_rawchunk_free(raw);
	fmt_rawchunk_free(nullptr);
	Read r(f);
	ASSERT_EQ(r.rc, 0) << r.Err();
	ASSERT_EQ(r.d.nobjects, 1u);
	EXPECT_EQ(r.d.obj_addr[0], 0x1000u);
	EXPECT_EQ(S(r.d, r.d.obj_label[0]), "y");
}

// The chunk encoders' buffers grow as a chunk needs (write.c struct
// raw_buf): every allocation that fails, at any point, ends in
// MUPPY_ENOMEM and no dump, never a short or wrong one; with room the same
// calls write a dump that reads back whole.
TEST(FormatStream, ChunkBuffersThatCannotGrowFailCleanly) {
	struct Budget {
		int left;
		static void *Alloc(void *ctx, size_t n) {
			Budget *b = static_cast<Budget *>(ctx);
			return b->left-- > 0 ? malloc(n) : nullptr;
		}
		static void Free(void *, void *p) { free(p); }
	};
	auto sink = [](void *c, const void *p, size_t len) {
		static_cast<std::string *>(c)->append((const char *)p, len);
		return 0;
	};
	const uint32_t n = 20000;   // a chunk of about 200 KB encoded
	std::vector<uint64_t> addr(n), size(n);
	std::vector<uint32_t> type(n, 0), rc(n, 1), label(n, 0);
	std::vector<uint8_t> fl(n, 0);
	std::vector<uint32_t> src(3 * n), dst(3 * n), name(3 * n);
	for (uint32_t i = 0; i < n; i++) {
		addr[i] = 0x7f0000000000ull + 48ull * i + (i % 7) * 0x10000000ull;
		size[i] = (uint64_t)i * 977;
	}
	std::sort(addr.begin(), addr.end());
	for (uint32_t e = 0; e < 3 * n; e++) {
		src[e] = e / 3;
		dst[e] = (e * 7919u) % n;
		name[e] = FMT_EDGE_NAME(FMT_EDGE_INDEX, e % 3);
	}
	struct fmt_str strs[] = {{"", 0}};
	fmt_type t = {0x500, 0};
	fmt_dump tail{};
	tail.nstrings = 1;
	tail.strings = strs;
	tail.ntypes = 1;
	tail.types = &t;
	int failed = 0, wrote = 0;
	for (int budget = 0; budget < 64 && !wrote; budget++) {
		for (int ahead = 0; ahead < 2; ahead++) {
			Budget b{budget};
			fmt_alloc a = {Budget::Alloc, Budget::Free, &b};
			std::string f;
			fmt_stream *st;
			int r = fmt_stream_begin(&st, 0, 1, &a, sink, &f);
			if (r != 0) {
				EXPECT_EQ(r, MUPPY_ENOMEM);
				failed++;
				continue;
			}
			fmt_rawchunk *raw = nullptr;
			if (ahead && (r = fmt_rawchunk_new(&raw, &a)) != 0) {
				EXPECT_EQ(r, MUPPY_ENOMEM);
				fmt_stream_abort(st);
				failed++;
				continue;
			}
			r = fmt_stream_strings(st, strs, 1);
			for (uint32_t first = 0; r == 0 && first < n;
			     first += n / 2) {
				fmt_chunk c{};
				c.first = first;
				c.nobjects = n / 2;
				c.addr = &addr[first]; c.type = &type[first];
				c.size = &size[first]; c.refcnt = &rc[first];
				c.label = &label[first]; c.flags = &fl[first];
				c.nedges = 3 * n / 2;
				c.src = &src[3 * first]; c.dst = &dst[3 * first];
				c.name = &name[3 * first];
				if (raw) {
					r = fmt_rawchunk_encode(raw, 1, nullptr, 0,
								&c);
					if (r == 0)
						r = fmt_stream_rawchunk(st, raw);
				} else {
					r = fmt_stream_chunk(st, &c);
				}
			}
			fmt_rawchunk_free(raw);
			if (r != 0) {
				EXPECT_EQ(r, MUPPY_ENOMEM) << budget;
				fmt_stream_abort(st);
				failed++;
				continue;
			}
			ASSERT_EQ(fmt_stream_end(st, &tail), 0) << budget;
			Read rd(f);
			ASSERT_EQ(rd.rc, 0) << rd.Err();
			ASSERT_EQ(rd.d.nobjects, n);
			EXPECT_EQ(rd.d.obj_size[n - 1], (uint64_t)(n - 1) * 977);
			wrote++;
		}
	}
	EXPECT_GT(failed, 4);   // the chunk buffers' growth was reached
	EXPECT_GT(wrote, 0);
}

TEST(FormatStream, OneChunkAndNoSkips) {
	Streamed s;
	StreamRandom(s, 300, 100000, 0, false);
	Read r(s.file);
	ASSERT_EQ(r.rc, 0) << r.Err();
	ExpectSame(*s.want.Dump(), Unstreamed(r.d));
}

// Progress: over every pass, steady, ending at total exactly once.
TEST(FormatStream, ProgressCountsEveryPass) {
	Streamed s;
	StreamRandom(s, 20000, 777, 0);
	std::string whole = Write(s.want.Dump());
	struct Tick {
		std::vector<std::pair<uint64_t, uint64_t>> seen;
		static void Fn(void *c, uint64_t done, uint64_t total) {
			static_cast<Tick *>(c)->seen.push_back({done, total});
		}
	};
	struct Case {
		const std::string *file;
		fmt_read_what what;
		uint64_t passes;  // pass 1 and the decoding passes
	} cases[] = {
		{&whole, FMT_READ_ALL, 2},         {&whole, FMT_READ_SUMMARY, 2},
		{&s.file, FMT_READ_ALL, 4},        {&s.file, FMT_READ_DEGREES, 4},
		{&s.file, FMT_READ_OBJECTS, 3},    {&s.file, FMT_READ_SUMMARY, 2},
	};
	for (const Case &c : cases) {
		Tick t;
		fmt_progress p{Tick::Fn, &t};
		fmt_dump d{};
		char err[256];
		ASSERT_EQ(fmt_read_mem_with(c.file->data(), c.file->size(), c.what,
					    &p, &d, err, sizeof err), 0) << err;
		fmt_dump_free(&d);
		uint64_t total = Inflate(*c.file).size() * c.passes;
		ASSERT_GT(t.seen.size(), 2 * c.passes) << c.what;
		uint64_t last = 0, ends = 0;
		for (auto &x : t.seen) {
			EXPECT_EQ(x.second, total) << c.what;
			EXPECT_GE(x.first, last) << c.what;
			last = x.first;
			ends += x.first == total;
		}
		EXPECT_EQ(last, total) << c.what;
		EXPECT_LE(ends, 2u) << c.what;   // the last block, the final call
	}
	// A failed read is not reported as finished; NULL progress is fine.
	std::string bad = s.file;
	bad[bad.size() / 2] ^= 0x40;
	Tick t;
	fmt_progress p{Tick::Fn, &t};
	fmt_dump d{};
	EXPECT_NE(fmt_read_mem_with(bad.data(), bad.size(), FMT_READ_ALL, &p, &d,
				    nullptr, 0), 0);
	for (auto &x : t.seen)
		EXPECT_LT(x.first, x.second);
	EXPECT_EQ(fmt_read_mem_with(s.file.data(), s.file.size(), FMT_READ_ALL,
				    nullptr, &d, nullptr, 0), 0);
	fmt_dump_free(&d);
}

// fmt_stream_more_strings: the same bytes as fmt_stream_strings, given
// only the strings not yet sent (the shim's helper thread has no more).
TEST(FormatStream, MoreStringsContinuesWhereStringsLeftOff) {
	auto sink = [](void *c, const void *p, size_t len) {
		static_cast<std::string *>(c)->append((const char *)p, len);
		return 0;
	};
	struct fmt_str strs[] = {{"", 0}, {"a", 1}, {"bc", 2}, {"d", 1}};
	fmt_dump tail{};
	tail.nstrings = 4;
	tail.strings = strs;
	std::string a, b;
	fmt_stream *st;
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &a), 0);
	ASSERT_EQ(fmt_stream_strings(st, strs, 2), 0);
	ASSERT_EQ(fmt_stream_strings(st, strs, 4), 0);
	ASSERT_EQ(fmt_stream_end(st, &tail), 0);
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &b), 0);
	ASSERT_EQ(fmt_stream_more_strings(st, strs, 2), 0);
	ASSERT_EQ(fmt_stream_more_strings(st, nullptr, 0), 0);   // nothing
	ASSERT_EQ(fmt_stream_more_strings(st, strs + 2, 2), 0);
	ASSERT_EQ(fmt_stream_end(st, &tail), 0);
	EXPECT_EQ(a, b);
	Read r(b);
	ASSERT_EQ(r.rc, 0) << r.Err();
	EXPECT_EQ(r.d.nstrings, 4u);
	EXPECT_EQ(S(r.d, 2), "bc");
	// The first string must be "", and n strings need somewhere to be.
	std::string c;
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &c), 0);
	EXPECT_EQ(fmt_stream_more_strings(st, strs + 1, 1), MUPPY_EINVAL);
	fmt_stream_abort(st);
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &c), 0);
	EXPECT_EQ(fmt_stream_more_strings(st, nullptr, 3), MUPPY_EINVAL);
	fmt_stream_abort(st);
}

TEST(FormatStream, WriterRefusesOutOfOrderChunksAndBadTails) {
	std::string f;
	auto sink = [](void *c, const void *p, size_t len) {
		static_cast<std::string *>(c)->append((const char *)p, len);
		return 0;
	};
	fmt_stream *st;
	struct fmt_str strs[] = {{"", 0}, {"x", 1}};
	uint64_t addr = 0x1000, size = 16;
	uint32_t type = 0, rc = 1, label = 1;
	uint8_t fl = 0;
	fmt_chunk c{};
	c.nobjects = 1;
	c.addr = &addr; c.type = &type; c.size = &size;
	c.refcnt = &rc; c.label = &label; c.flags = &fl;
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	EXPECT_EQ(fmt_stream_chunk(st, &c), MUPPY_EINVAL);   // label unsent
	fmt_stream_abort(st);
	f.clear();
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	ASSERT_EQ(fmt_stream_strings(st, strs, 2), 0);
	c.first = 1;
	EXPECT_EQ(fmt_stream_chunk(st, &c), MUPPY_EINVAL);   // not slot 0
	fmt_stream_abort(st);
	f.clear();
	ASSERT_EQ(fmt_stream_begin(&st, 0, 1, NULL, sink, &f), 0);
	ASSERT_EQ(fmt_stream_strings(st, strs, 2), 0);
	c.first = 0;
	ASSERT_EQ(fmt_stream_chunk(st, &c), 0);
	fmt_root root = {1, FMT_ROOT_MODULE, 0};   // slot 1 does not exist
	fmt_dump tail{};
	tail.nstrings = 2;
	tail.strings = strs;
	tail.nroots = 1;
	tail.roots = &root;
	EXPECT_EQ(fmt_stream_end(st, &tail), MUPPY_EINVAL);
	Read r(f);
	EXPECT_EQ(r.rc, MUPPY_ECORRUPT);   // no trailer: not a dump
	EXPECT_EQ(fmt_stream_begin(&st, 0x80, 1, NULL, sink, &f),
		  MUPPY_EINVAL);
}

TEST(FormatStream, RejectsTruncationAndFlippedBits) {
	Streamed s;
	StreamRandom(s, 400, 64, 0);
	const std::string &f = s.file;
	for (size_t len = 0; len < f.size(); len += 1 + len / 7) {
		Read r(f.substr(0, len));
		EXPECT_EQ(r.rc, MUPPY_ECORRUPT) << len;
		EXPECT_TRUE(Zeroed(r.d));
	}
	int accepted = 0, tried = 0;
	for (size_t i = 0; i < f.size(); i += 3, tried++) {
		std::string g = f;
		g[i] ^= (char)(1 << (i % 8));
		Read r(g);
		if (r.rc == 0) {   // a bit deflate never reads: same body
			accepted++;
			ExpectSame(*s.want.Dump(), Unstreamed(r.d));
		} else {
			EXPECT_TRUE(Zeroed(r.d)) << i;
		}
	}
	EXPECT_LT(accepted * 100, tried);
}

// Chunks whose inside lies, re-framed with good checksums: the reader
// must refuse each with a reason, never crash (ASan runs this too).
TEST(FormatStream, RejectsLyingChunks) {
	Streamed s;
	StreamRandom(s, 200, 1000, 0, false);
	std::string body = Inflate(s.file);
	std::vector<Sec> secs = Sections(body);
	size_t chunk = 0;
	for (size_t i = 0; i < secs.size(); i++)
		if (secs[i].id == FMT_SEC_CHUNK2) {
			chunk = i;
			break;
		}
	ASSERT_NE(chunk, 0u);
	const std::string orig = secs[chunk].payload;
	uint64_t seed = 5;
	int refused = 0;
	for (int t = 0; t < 300; t++) {
		seed = seed * 6364136223846793005ull + 1;
		std::string p = orig;
		size_t at = (seed >> 20) % p.size();
		p[at] = (char)(seed >> 40);
		secs[chunk].payload = p;
		Read r(Reframe(Header(1, FMT_MINOR_STREAM,
				      FMT_FLAG_GRAPH | FMT_FLAG_STREAM),
			       Body(secs)));
		if (r.rc != 0) {
			refused++;
			EXPECT_EQ(r.rc, MUPPY_ECORRUPT);
			EXPECT_NE(r.Err().find("corrupt"), std::string::npos)
				<< r.Err();
			EXPECT_TRUE(Zeroed(r.d));
		}
	}
	EXPECT_GT(refused, 100);
	secs[chunk].payload = orig;
	Read ok(Reframe(Header(1, FMT_MINOR_STREAM,
			       FMT_FLAG_GRAPH | FMT_FLAG_STREAM), Body(secs)));
	EXPECT_EQ(ok.rc, 0) << ok.Err();
}

namespace {

// A CHUNK or CHUNK2 payload taken apart: the object part as it is, the
// edge columns as their varints.  An encoder of each layout of its own,
// independent of write.c, so the tests below can tell the two apart.
struct ChunkCols {
	std::string head;                  // first .. the label column
	std::vector<uint64_t> src, dst, name;
};

uint64_t GetV(const std::string &p, size_t &at) {
	uint64_t v = 0;
	size_t n = get_varint((const uint8_t *)p.data() + at,
			      (const uint8_t *)p.data() + p.size(), &v);
	EXPECT_GT(n, 0u);
	at += n ? n : p.size();
	return v;
}

ChunkCols TakeApart(const std::string &p) {
	ChunkCols c;
	size_t at = 0;
	GetV(p, at);   // first
	uint64_t n = GetV(p, at);
	if (n)
		GetV(p, at);   // shift
	for (uint64_t i = 0; i < 5 * n; i++)
		GetV(p, at);
	c.head = p.substr(0, at);
	uint64_t m = GetV(p, at);
	for (auto *col : {&c.src, &c.dst, &c.name})
		for (uint64_t e = 0; e < m; e++)
			col->push_back(GetV(p, at));
	EXPECT_EQ(at, p.size());
	return c;
}

std::string PutTogether(const ChunkCols &c) {
	std::string p = c.head + V(c.src.size());
	for (auto *col : {&c.src, &c.dst, &c.name})
		for (uint64_t v : *col)
			p += V(v);
	return p;
}

// CHUNK2 target codes (docs/format.md) to targets, first the chunk's
// first slot; hits counts the codes that named a place in the list.
std::vector<int64_t> MtfTargets(const std::vector<uint64_t> &codes,
				int64_t first, size_t *hits) {
	std::vector<int64_t> list, out;
	int64_t prev = first;
	for (uint64_t v : codes) {
		if (v < 16) {
			prev = list.at(v);
			list.erase(list.begin() + (long)v);
			++*hits;
		} else {
			prev += zigzag_dec(v - 16);
			if (list.size() == 16)
				list.pop_back();
		}
		list.insert(list.begin(), prev);
		out.push_back(prev);
	}
	return out;
}

}  // namespace

// The reader still reads 1.1's CHUNK: a 1.2 dump turned into 1.1 (each
// CHUNK2's targets written again as deltas, minor 1) reads back as the
// same dump, and the list was used (most unnamed repeats are hits).
TEST(FormatStream, ReadsTheChunksOf11AsThoseOf12) {
	Streamed s;
	StreamRandom(s, 3000, 400, FMT_FLAG_STRINGS);
	std::vector<Sec> secs = Sections(Inflate(s.file));
	size_t hits = 0, edges = 0, chunks = 0;
	for (Sec &sec : secs) {
		if (sec.id != FMT_SEC_CHUNK2)
			continue;
		ChunkCols c = TakeApart(sec.payload);
		size_t at = 0;
		int64_t first = (int64_t)GetV(sec.payload, at), prev = first;
		std::vector<int64_t> t = MtfTargets(c.dst, first, &hits);
		for (size_t e = 0; e < t.size(); e++) {
			c.dst[e] = zigzag_enc(t[e] - prev);
			prev = t[e];
		}
		edges += t.size();
		chunks++;
		sec.id = FMT_SEC_CHUNK;
		sec.payload = PutTogether(c);
	}
	ASSERT_GT(chunks, 5u);
	EXPECT_GT(hits * 3, edges);
	std::string old = Reframe(Header(1, 1, FMT_FLAG_GRAPH | FMT_FLAG_STREAM |
					       FMT_FLAG_STRINGS), Body(secs));
	Read r11(old), r12(s.file);
	ASSERT_EQ(r11.rc, 0) << r11.Err();
	ASSERT_EQ(r12.rc, 0) << r12.Err();
	EXPECT_EQ(r11.d.minor, 1);
	ExpectSame(*s.want.Dump(), Unstreamed(r11.d));
	ExpectSame(*s.want.Dump(), Unstreamed(r12.d));
}

// A target code naming a place the list does not have yet, or a delta
// past the last slot: refused, with the edge named.
TEST(FormatStream, RejectsTargetCodesOutsideTheList) {
	Streamed s;
	StreamRandom(s, 2000, 500, 0);
	std::vector<Sec> secs = Sections(Inflate(s.file));
	Sec *chunk = nullptr;
	for (Sec &sec : secs)
		if (sec.id == FMT_SEC_CHUNK2 && TakeApart(sec.payload).dst.size())
			chunk = &sec;
	ASSERT_NE(chunk, nullptr);
	const std::string orig = chunk->payload;
	ChunkCols c = TakeApart(orig);
	struct {
		size_t edge;
		uint64_t code;
		const char *want;
	} cases[] = {
		{0, 0, "edge 0 of the chunk names place 0 of a move-to-front "
		       "list of 0"},
		{0, 15, "names place 15 of a move-to-front list of 0"},
		{1, 1, "edge 1 of the chunk names place 1 of a move-to-front "
		       "list of 1"},
		{0, 16 + zigzag_enc(1ll << 40), "edge 0 of the chunk names slot"},
	};
	for (auto &k : cases) {
		ChunkCols bad = c;
		bad.dst[k.edge] = k.code;
		chunk->payload = PutTogether(bad);
		Read r(Reframe(Header(1, FMT_MINOR_STREAM,
				      FMT_FLAG_GRAPH | FMT_FLAG_STREAM),
			       Body(secs)));
		EXPECT_EQ(r.rc, MUPPY_ECORRUPT) << k.want;
		EXPECT_NE(r.Err().find(k.want), std::string::npos) << r.Err();
		EXPECT_TRUE(Zeroed(r.d));
	}
	chunk->payload = orig;
	Read ok(Reframe(Header(1, FMT_MINOR_STREAM,
			       FMT_FLAG_GRAPH | FMT_FLAG_STREAM), Body(secs)));
	EXPECT_EQ(ok.rc, 0) << ok.Err();
}

namespace {

// f written to a fresh file under TEST_TMPDIR; its path.
std::string TempFile(const std::string &f) {
	const char *tmp = getenv("TEST_TMPDIR");
	std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") +
			   "/format_blocks_XXXXXX";
	std::vector<char> path(tmpl.begin(), tmpl.end());
	path.push_back('\0');
	int fd = mkstemp(path.data());
	EXPECT_GE(fd, 0);
	EXPECT_EQ(write(fd, f.data(), f.size()), (ssize_t)f.size());
	close(fd);
	return path.data();
}

struct ReadPath {
	int rc;
	fmt_dump d{};
	char err[512] = "";
	ReadPath(const std::string &path, fmt_read_what what = FMT_READ_ALL) {
		rc = fmt_read_file(path.c_str(), what, &d, err, sizeof err);
	}
	~ReadPath() { fmt_dump_free(&d); }
};

}  // namespace

// A file is read block by block at every pass (read.c design note 7): a
// stream dump of several blocks reads back from the file as from memory,
// in every mode, and bad files are worded as from memory.
TEST(FormatStream, FilesAreReadInBlocksAsFromMemory) {
	Streamed s;
	StreamRandom(s, 180000, 4242, FMT_FLAG_STRINGS);
	ASSERT_GT(s.file.size(), (size_t)3 << 20);  // several 1 MiB blocks
	std::string path = TempFile(s.file);
	for (fmt_read_what w : {FMT_READ_ALL, FMT_READ_SUMMARY,
				FMT_READ_OBJECTS, FMT_READ_DEGREES}) {
		Read m(s.file, w);
		ReadPath f(path, w);
		ASSERT_EQ(m.rc, 0) << m.Err();
		ASSERT_EQ(f.rc, 0) << f.err;
		EXPECT_EQ(f.d.nedges, m.d.nedges);
		if (w == FMT_READ_ALL)
			ExpectSame(m.d, f.d);
	}
	unlink(path.c_str());
	// Bytes gone from the middle with the trailer kept, a flipped byte
	// late in the body, a cut: the same errors either way.
	std::string cut = s.file.substr(0, s.file.size() / 2) +
			  s.file.substr(s.file.size() / 2 + 1000);
	std::string flip = s.file;
	flip[flip.size() - 5000] ^= 0x40;
	std::string trunc = s.file.substr(0, s.file.size() - 7);
	for (const std::string *bad : {&cut, &flip, &trunc}) {
		std::string p = TempFile(*bad);
		Read m(*bad);
		ReadPath f(p);
		EXPECT_NE(m.rc, 0);
		EXPECT_EQ(f.rc, m.rc);
		EXPECT_EQ(std::string(f.err), m.Err());
		EXPECT_TRUE(Zeroed(f.d));
		unlink(p.c_str());
	}
}
