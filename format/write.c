/*
 * write.c - fmt_write: checks a struct fmt_dump and streams it, as the
 * bytes specified in docs/format.md, through a caller's sink.
 *
 * It runs in the profiled process (the shim calls it after the walk), so
 * it holds only its own fixed buffers (two 64 KiB blocks plus deflate's
 * state), never the whole body or file, and never touches the dump's
 * arrays except to read them.  It does not open files: the shim's sink
 * owns the temporary file, fsync and rename.  The reader is read.c.
 *
 * DESIGN NOTES
 *   1. The input is validated completely before the first byte reaches the
 *      sink, so an inconsistent dump produces no output at all.
 *   2. A section's header carries its payload length, but the payload is
 *      produced on the fly.  Each section encoder therefore runs twice:
 *      once counting bytes (w->counting), once emitting them.  Encoding is
 *      cheap next to deflate, and no section is ever buffered whole
 *      but one: a stream's CHUNK2 sections, most of its body, are written
 *      once each into a buffer (struct raw_buf, about 20 bytes an object
 *      of the chunk), a column at a time, and their length patched in
 *      after (raw_chunk): a third less time than counting first.
 *   3. The body CRC and length are taken over exactly the bytes handed to
 *      deflate, in the one place that does so (wr_deflate).
 *   4. After the sink fails once it is never called again; the encoders
 *      keep running but every output path returns at once.
 *   5. deflate runs raw (no zlib wrapper) and the writer adds the zlib
 *      header and Adler-32 trailer itself, the bytes deflateInit would
 *      have written: so a chunk compressed elsewhere, on another thread,
 *      can be spliced into the stream (fmt_rawchunk_deflate).  Such a
 *      piece is a run of deflate blocks that ends on a byte boundary
 *      (Z_SYNC_FLUSH), and the stream is brought to one before it; its
 *      checksums are combined in (crc32_combine, adler32_combine), and
 *      the stream's deflate starts again after it with its last 32 KiB
 *      as the dictionary, which the inflater holds as its window.  The
 *      file is a plain zlib stream either way.
 */
#include <stdint.h>   /* SIZE_MAX */
#include <stdlib.h>   /* malloc, free */
#include <string.h>   /* memcpy, memset */

#include <zlib.h>     /* deflate*, crc32 */

#include "format/bytes.h"  /* put_u*, put_varint, varint_len, zigzag_enc */
#include "format/dump.h"   /* struct fmt_dump, fmt_write */

#define WR_BUF 65536

struct wr {
	z_stream zs;              /* deflate state */
	struct fmt_alloc mem;     /* where this struct and zlib's state live */
	int zinit;                /* deflateInit succeeded */
	fmt_sink_fn sink;
	void *ctx;
	int err;                  /* first failure (MUPPY_*), 0 while fine */
	int counting;             /* 1: only count bytes (design note 2) */
	uint64_t count;           /* bytes counted while counting */
	uint32_t crc;             /* CRC32 of the body so far */
	uint32_t adler;           /* its Adler-32, zlib's trailer (note 5) */
	int level;                /* deflate's, for the zlib header */
	uint64_t body_len;        /* body bytes handed to deflate so far */
	unsigned addr_shift;      /* OBJECTS address gap shift */
	uint32_t stream_flags;    /* a stream's header flags (else 0) */
	uint32_t sent_strings;    /* a stream's strings written so far */
	uint64_t sent_objects;    /* a stream's slots written so far */
	unsigned flag_bits;       /* OBJECTS flag bits next to the type */
	struct fmt_rawchunk *keep; /* encoding ahead: in[] goes here, not to
	                             deflate (fmt_rawchunk_encode) */
	size_t inlen;             /* bytes pending in in[] */
	uint8_t in[WR_BUF];       /* uncompressed body, pending */
	uint8_t out[WR_BUF];      /* compressed bytes, on their way out */
};

/* ---- output plumbing ------------------------------------------------ */

static void
wr_sink(struct wr *w, const void *buf, size_t len)
{
	if (w->err || len == 0)
		return;
	if (w->sink(w->ctx, buf, len) != 0)
		w->err = MUPPY_EIO;
}

/* in[] is kept, not deflated (an encoder of struct fmt_rawchunk). */
static void wr_keep(struct wr *w);

/* Hands len bytes at p to deflate (mode Z_NO_FLUSH or Z_FINISH) and
 * sinks all the output deflate has ready: the one place body bytes go
 * (design note 3). */
static void
wr_deflate(struct wr *w, const uint8_t *p, size_t len, int mode)
{
	int rc;

	w->crc = (uint32_t)crc32(w->crc, p, (uInt)len);
	w->adler = (uint32_t)adler32(w->adler, p, (uInt)len);
	w->body_len += len;
	w->zs.next_in = (Bytef *)(uintptr_t)p;
	w->zs.avail_in = (uInt)len;
	do {
		w->zs.next_out = w->out;
		w->zs.avail_out = WR_BUF;
		rc = deflate(&w->zs, mode);
		if (rc == Z_STREAM_ERROR) {
			w->err = MUPPY_EIO;
			return;
		}
		wr_sink(w, w->out, WR_BUF - w->zs.avail_out);
		if (w->err)
			return;
	} while (w->zs.avail_out == 0 ||
		 (mode == Z_FINISH && rc != Z_STREAM_END));
}

static void
wr_flush(struct wr *w, int mode)
{
	size_t n = w->inlen;

	if (w->keep) {
		wr_keep(w);
		return;
	}
	w->inlen = 0;
	wr_deflate(w, w->in, n, mode);
}

static void
wr_bytes(struct wr *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (w->counting) {
		w->count += len;
		return;
	}
	while (len > 0 && !w->err) {
		size_t n = WR_BUF - w->inlen;
		if (n > len)
			n = len;
		memcpy(w->in + w->inlen, p, n);
		w->inlen += n;
		p += n;
		len -= n;
		if (w->inlen == WR_BUF)
			wr_flush(w, Z_NO_FLUSH);
	}
}

static inline void
wr_varint(struct wr *w, uint64_t v)
{
	if (w->counting) {
		w->count += varint_len(v);
		return;
	}
	if (w->err)
		return;
	if (WR_BUF - w->inlen < VARINT_MAX_LEN)
		wr_flush(w, Z_NO_FLUSH);
	w->inlen += put_varint(w->in + w->inlen, v);
}

/* ---- section encoders (payload layouts: docs/format.md) -------------- */

typedef void (*enc_fn)(struct wr *w, const void *arg);

static void
enc_strtab(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	wr_varint(w, d->nstrings);
	for (uint32_t i = 0; i < d->nstrings; i++) {
		wr_varint(w, d->strings[i].len);
		wr_bytes(w, d->strings[i].ptr, d->strings[i].len);
	}
}

static void
enc_meta(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	wr_varint(w, d->nmeta);
	for (uint32_t i = 0; i < d->nmeta; i++) {
		wr_varint(w, d->meta[i].key);
		wr_varint(w, d->meta[i].value);
	}
}

static void
enc_types(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	uint64_t prev = 0;

	wr_varint(w, d->ntypes);
	for (uint32_t i = 0; i < d->ntypes; i++) {
		wr_varint(w, zigzag_enc((int64_t)(d->types[i].addr - prev)));
		prev = d->types[i].addr;
	}
	for (uint32_t i = 0; i < d->ntypes; i++)
		wr_varint(w, d->types[i].name);
}

static void
enc_summary(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	wr_varint(w, d->nsummary);
	for (uint32_t i = 0; i < d->nsummary; i++) {
		wr_varint(w, d->summary[i].name);
		wr_varint(w, d->summary[i].count);
		wr_varint(w, d->summary[i].size);
	}
}

static void
enc_objects(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	uint64_t n = d->nobjects;

	wr_varint(w, n);
	if (n == 0)
		return;
	wr_varint(w, w->addr_shift);
	wr_varint(w, d->obj_addr[0]);
	for (uint64_t i = 1; i < n; i++)
		wr_varint(w, ((d->obj_addr[i] - d->obj_addr[i - 1]) >>
			      w->addr_shift) - 1);
	wr_varint(w, w->flag_bits);
	for (uint64_t i = 0; i < n; i++)
		wr_varint(w, ((uint64_t)d->obj_type[i] << w->flag_bits) |
			  d->obj_flags[i]);
	for (uint64_t i = 0; i < n; i++)
		wr_varint(w, d->obj_size[i]);
	for (uint64_t i = 0; i < n; i++)
		wr_varint(w, d->obj_refcnt[i]);
	for (uint64_t i = 0; i < n; i++)
		wr_varint(w, d->obj_label[i]);
}

static void
enc_edges(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	uint64_t n = d->nobjects;

	wr_varint(w, n);
	wr_varint(w, d->nedges);
	for (uint64_t i = 0; i < n; i++)
		wr_varint(w, d->edge_start[i + 1] - d->edge_start[i]);
	for (uint64_t i = 0; i < n; i++) {
		int64_t prev = (int64_t)i;
		for (uint64_t e = d->edge_start[i]; e < d->edge_start[i + 1];
		     e++) {
			wr_varint(w, zigzag_enc((int64_t)d->edge_dst[e] - prev));
			prev = d->edge_dst[e];
		}
	}
	for (uint64_t e = 0; e < d->nedges; e++)
		wr_varint(w, d->edge_name[e]);
}

static void
enc_roots(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	wr_varint(w, d->nroots);
	for (uint32_t i = 0; i < d->nroots; i++)
		wr_varint(w, d->roots[i].obj);
	for (uint32_t i = 0; i < d->nroots; i++)
		wr_varint(w, d->roots[i].kind);
	for (uint32_t i = 0; i < d->nroots; i++)
		wr_varint(w, d->roots[i].name);
}

static void
enc_strdata(struct wr *w, const void *arg)
{
	const struct fmt_dump *d = arg;
	int64_t prev = 0;

	wr_varint(w, d->nstrdata);
	for (uint32_t i = 0; i < d->nstrdata; i++) {
		wr_varint(w, zigzag_enc((int64_t)d->strdata[i].obj - prev));
		prev = d->strdata[i].obj;
	}
	for (uint32_t i = 0; i < d->nstrdata; i++)
		wr_varint(w, d->strdata[i].str);
}

static void
enc_end(struct wr *w, const void *arg)
{
	(void)w;
	(void)arg;
}

/* Writes one (u32 id, u64 length, payload) section (design note 2). */
static void
wr_section(struct wr *w, uint32_t id, enc_fn enc, const void *d)
{
	uint8_t hdr[12];
	uint64_t len, start;

	w->counting = 1;
	w->count = 0;
	enc(w, d);
	w->counting = 0;
	len = w->count;
	put_u32(hdr, id);
	put_u64(hdr + 4, len);
	wr_bytes(w, hdr, sizeof hdr);
	start = w->body_len + w->inlen;
	enc(w, d);
	/* Both runs walk the same data, so this only fires on a bug in an
	 * encoder; better no file than a file whose lengths lie. */
	if (!w->err && w->body_len + w->inlen - start != len)
		w->err = MUPPY_EINVAL;
}

/* ---- input validation (design note 1) ------------------------------- */

static int
str_ok(const struct fmt_dump *d, uint32_t id)
{
	return id < d->nstrings;
}

static int
check_strings(const struct fmt_dump *d)
{
	if (d->nstrings < 1 || !d->strings || d->strings[0].len != 0)
		return 0;
	for (uint32_t i = 0; i < d->nstrings; i++)
		if (d->strings[i].len > 0 && !d->strings[i].ptr)
			return 0;
	return 1;
}

static int
check_tables(const struct fmt_dump *d)
{
	if ((d->nmeta && !d->meta) || (d->ntypes && !d->types) ||
	    (d->nsummary && !d->summary))
		return 0;
	for (uint32_t i = 0; i < d->nmeta; i++)
		if (!str_ok(d, d->meta[i].key) || !str_ok(d, d->meta[i].value))
			return 0;
	for (uint32_t i = 0; i < d->ntypes; i++)
		if (!str_ok(d, d->types[i].name))
			return 0;
	for (uint32_t i = 0; i < d->nsummary; i++)
		if (!str_ok(d, d->summary[i].name))
			return 0;
	return 1;
}

/* Objects: columns present, addresses strictly ascending, types and labels
 * in range.  Sets w->addr_shift to the largest s with every address gap a
 * multiple of 2^s, and w->flag_bits to the bit length of the widest flags
 * byte: both let the OBJECTS columns drop bits that are always zero. */
static int
check_objects(const struct fmt_dump *d, struct wr *w)
{
	uint64_t n = d->nobjects, gaps = 0;
	unsigned flags = 0;
	if (n > UINT32_MAX)  /* objects are named by uint32 indices */
		return 0;
	if (n && (!d->obj_addr || !d->obj_type || !d->obj_size ||
		  !d->obj_refcnt || !d->obj_label || !d->obj_flags))
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		if (i > 0) {
			if (d->obj_addr[i] <= d->obj_addr[i - 1])
				return 0;
			gaps |= d->obj_addr[i] - d->obj_addr[i - 1];
		}
		if (d->obj_type[i] >= d->ntypes || !str_ok(d, d->obj_label[i]))
			return 0;
		flags |= d->obj_flags[i];
	}
	if (gaps)
		w->addr_shift = (unsigned)__builtin_ctzll(gaps);
	while (flags >> w->flag_bits)
		w->flag_bits++;
	return 1;
}

static int
check_edges(const struct fmt_dump *d)
{
	uint64_t n = d->nobjects;

	if (!d->edge_start)  /* tolerated only for a graph with no objects */
		return n == 0 && d->nedges == 0;
	if (d->nedges > UINT32_MAX)   /* edge_start is 32-bit */
		return 0;
	if (d->nedges && (!d->edge_dst || !d->edge_name))
		return 0;
	if (d->edge_start[0] != 0 || d->edge_start[n] != d->nedges)
		return 0;
	for (uint64_t i = 0; i < n; i++)
		if (d->edge_start[i + 1] < d->edge_start[i])
			return 0;
	for (uint64_t e = 0; e < d->nedges; e++)
		if (d->edge_dst[e] >= n || !fmt_edge_name_ok(d, d->edge_name[e]))
			return 0;
	return 1;
}

static int
check_roots(const struct fmt_dump *d)
{
	if (d->nroots && !d->roots)
		return 0;
	for (uint32_t i = 0; i < d->nroots; i++) {
		const struct fmt_root *r = &d->roots[i];
		if (r->obj >= d->nobjects || !str_ok(d, r->name) ||
		    r->kind < FMT_ROOT_MODULE || r->kind > FMT_ROOT_OTHER)
			return 0;
	}
	return 1;
}

static int
check_strdata(const struct fmt_dump *d)
{
	if (d->nstrdata && !d->strdata)
		return 0;
	for (uint32_t i = 0; i < d->nstrdata; i++)
		if (d->strdata[i].obj >= d->nobjects ||
		    !str_ok(d, d->strdata[i].str))
			return 0;
	return 1;
}

/* 1 if d satisfies everything fmt_write documents, else 0.  Notes the
 * OBJECTS column parameters in w on the way. */
static int
check_dump(const struct fmt_dump *d, struct wr *w)
{
	int graph = (d->flags & FMT_FLAG_GRAPH) != 0;
	int strings = (d->flags & FMT_FLAG_STRINGS) != 0;

	if (d->flags & ~(FMT_FLAG_GRAPH | FMT_FLAG_STRINGS))
		return 0;
	if (strings && !graph)  /* STRDATA names objects by index */
		return 0;
	if (!check_strings(d) || !check_tables(d))
		return 0;
	if (!graph && (d->nobjects || d->nedges || d->nroots))
		return 0;
	if (!strings && d->nstrdata)
		return 0;
	if (graph && (!check_objects(d, w) || !check_edges(d) ||
		      !check_roots(d)))
		return 0;
	if (strings && !check_strdata(d))
		return 0;
	return 1;
}

/* ---- fmt_write ------------------------------------------------------ */

/* The two bytes deflateInit(level) starts a stream with (RFC 1950):
 * CMF deflate with a 32 KiB window, FLEVEL as zlib sets it, FCHECK. */
static void
wr_zlib_header(struct wr *w)
{
	int level = w->level == Z_DEFAULT_COMPRESSION ? 6 : w->level;
	unsigned flevel = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
	unsigned h = (0x78u << 8) | (flevel << 6);
	uint8_t b[2];

	h += 31 - h % 31;
	b[0] = (uint8_t)(h >> 8);
	b[1] = (uint8_t)h;
	wr_sink(w, b, sizeof b);
}

static void
wr_header(struct wr *w, uint32_t flags, uint16_t minor)
{
	uint8_t h[FMT_HEADER_SIZE];

	memcpy(h, FMT_MAGIC, 8);
	put_u16(h + 8, MUPPY_FORMAT_MAJOR);
	put_u16(h + 10, minor);
	put_u32(h + 12, flags);
	put_u32(h + 16, (uint32_t)crc32(0, h, 16));
	wr_sink(w, h, sizeof h);
	wr_zlib_header(w);
}

/* The end of the zlib stream: deflate's last block, then the Adler-32
 * of the body, big-endian (RFC 1950; design note 5). */
static void
wr_finish(struct wr *w)
{
	uint8_t a[4];

	wr_flush(w, Z_FINISH);
	a[0] = (uint8_t)(w->adler >> 24);
	a[1] = (uint8_t)(w->adler >> 16);
	a[2] = (uint8_t)(w->adler >> 8);
	a[3] = (uint8_t)w->adler;
	wr_sink(w, a, sizeof a);
}

static void
wr_trailer(struct wr *w)
{
	uint8_t t[FMT_TRAILER_SIZE];

	put_u64(t, w->body_len);
	put_u32(t + 8, w->crc);
	memcpy(t + 12, FMT_TRAILER_MAGIC, 4);
	wr_sink(w, t, sizeof t);
}

static void
wr_body(struct wr *w, const struct fmt_dump *d)
{
	/* STRTAB first: every other section names strings by id. */
	wr_section(w, FMT_SEC_STRTAB, enc_strtab, d);
	wr_section(w, FMT_SEC_META, enc_meta, d);
	wr_section(w, FMT_SEC_TYPES, enc_types, d);
	wr_section(w, FMT_SEC_SUMMARY, enc_summary, d);
	if (d->flags & FMT_FLAG_GRAPH) {
		wr_section(w, FMT_SEC_OBJECTS, enc_objects, d);
		wr_section(w, FMT_SEC_EDGES, enc_edges, d);
		wr_section(w, FMT_SEC_ROOTS, enc_roots, d);
	}
	if (d->flags & FMT_FLAG_STRINGS)
		wr_section(w, FMT_SEC_STRDATA, enc_strdata, d);
	wr_section(w, FMT_SEC_END, enc_end, d);
	if (!w->err)
		wr_finish(w);
}

static void *
wr_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void
wr_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* zlib's allocator, over a struct fmt_alloc (opaque). */
static voidpf
wr_zalloc(voidpf opaque, uInt items, uInt size)
{
	const struct fmt_alloc *a = opaque;

	if (size && items > SIZE_MAX / size)
		return Z_NULL;
	return a->alloc(a->ctx, (size_t)items * size);
}

static void
wr_zfree(voidpf opaque, voidpf p)
{
	const struct fmt_alloc *a = opaque;

	if (p)
		a->free(a->ctx, p);
}

/* Opens zs as every deflate here is: raw (design note 5), at level,
 * allocating through *a (which must outlive zs).  0 or MUPPY_*. */
static int
wr_deflate_init(z_stream *zs, int level, const struct fmt_alloc *a)
{
	int zrc;

	zs->zalloc = wr_zalloc;
	zs->zfree = wr_zfree;
	zs->opaque = (voidpf)(uintptr_t)a;
	zrc = deflateInit2(zs, level, Z_DEFLATED, -MAX_WBITS, 8,
			   Z_DEFAULT_STRATEGY);
	if (zrc == Z_OK)
		return 0;
	return zrc == Z_MEM_ERROR ? MUPPY_ENOMEM : MUPPY_EINVAL;
}

int
fmt_write(const struct fmt_dump *d, int level, fmt_sink_fn sink, void *ctx)
{
	return fmt_write_with(d, level, NULL, sink, ctx);
}

/* A writer over a (already checked) with deflate open, or NULL with *rc
 * set. */
static struct wr *
wr_open(int level, const struct fmt_alloc *a, size_t size, fmt_sink_fn sink,
	void *ctx, int *rc)
{
	struct wr *w;

	w = a->alloc(a->ctx, size);
	if (!w) {
		*rc = MUPPY_ENOMEM;
		return NULL;
	}
	memset(w, 0, offsetof(struct wr, in));
	w->mem = *a;
	w->sink = sink;
	w->ctx = ctx;
	w->crc = (uint32_t)crc32(0, Z_NULL, 0);
	w->adler = (uint32_t)adler32(0, Z_NULL, 0);
	w->level = level;
	*rc = wr_deflate_init(&w->zs, level, &w->mem);
	if (*rc != 0) {
		a->free(a->ctx, w);
		return NULL;
	}
	w->zinit = 1;
	return w;
}

/* Releases w; returns its first error. */
static int
wr_close(struct wr *w)
{
	struct fmt_alloc a = w->mem;
	int rc = w->err;

	deflateEnd(&w->zs);
	a.free(a.ctx, w);
	return rc;
}

static const struct fmt_alloc wr_plain = { wr_malloc, wr_free, NULL };

static int
wr_args_ok(int level, const struct fmt_alloc *a, fmt_sink_fn sink)
{
	return sink && level >= Z_DEFAULT_COMPRESSION && level <= 9 &&
	       a->alloc && a->free;
}

int
fmt_write_with(const struct fmt_dump *d, int level,
	       const struct fmt_alloc *a, fmt_sink_fn sink, void *ctx)
{
	struct wr *w;
	int rc;

	if (!a)
		a = &wr_plain;
	if (!d || !wr_args_ok(level, a, sink))
		return MUPPY_EINVAL;
	w = wr_open(level, a, sizeof *w, sink, ctx, &rc);
	if (!w)
		return rc;
	if (!check_dump(d, w)) {
		wr_close(w);
		return MUPPY_EINVAL;
	}
	wr_header(w, d->flags, FMT_MINOR_WHOLE);
	wr_body(w, d);
	wr_trailer(w);
	return wr_close(w);
}

/* ---- streaming (format 1.1+, dump.h) ------------------------------------ */

/* The strings of a STRTAB section of a stream: [from, to) of strs. */
struct wr_strings {
	const struct fmt_str *strs;
	uint32_t from, to;
};

static void
enc_more_strings(struct wr *w, const void *arg)
{
	const struct wr_strings *s = arg;

	wr_varint(w, s->to - s->from);
	for (uint32_t i = s->from; i < s->to; i++) {
		wr_varint(w, s->strs[i].len);
		wr_bytes(w, s->strs[i].ptr, s->strs[i].len);
	}
}

/* A growing buffer of body bytes made ahead of deflate: a chunk's
 * encoding (struct fmt_rawchunk, a stream's scratch). */
struct raw_buf {
	struct fmt_alloc mem;
	uint8_t *bytes;
	size_t len, cap;
};

/* Room for need more bytes after b->len, doubling; 0 or MUPPY_ENOMEM. */
static int
raw_room(struct raw_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : WR_BUF;
	uint8_t *g;

	if (b->cap - b->len >= need)
		return 0;
	while (cap - b->len < need)
		cap *= 2;
	g = b->mem.alloc(b->mem.ctx, cap);
	if (!g)
		return MUPPY_ENOMEM;
	if (b->len)
		memcpy(g, b->bytes, b->len);
	if (b->bytes)
		b->mem.free(b->mem.ctx, b->bytes);
	b->bytes = g;
	b->cap = cap;
	return 0;
}

static void
raw_release(struct raw_buf *b)
{
	if (b->bytes)
		b->mem.free(b->mem.ctx, b->bytes);
	b->bytes = NULL;
	b->len = b->cap = 0;
}

struct fmt_stream {
	struct wr w;              /* first: a stream is freed as its wr */
	struct raw_buf scratch;   /* fmt_stream_chunk's encoding */
};

/*
 * CHUNK2 payload (docs/format.md): the object columns, then the edges.
 * Chunks are most of a streamed body and encoding them is a fifth of a
 * snapshot's time, so they skip wr_section's two runs through wr_varint
 * (a test of counting, err and room per value): a chunk is written once
 * into a raw_buf, a column at a time in tight loops, room made once per
 * block of values, and its length patched into the header after.
 */
enum chunk_col { COL_ADDR, COL_TYPE, COL_SIZE, COL_REFCNT, COL_LABEL,
		 COL_SRC, COL_DST, COL_NAME };

/* Always inlined, as is the loop over it: each column's loop is then its
 * own, without the switch. */
#define COL_INLINE static inline __attribute__((always_inline))

/* Value i of column col; COL_DST codes the target against, and moves
 * it to the front of, the chunk's list m (bytes.h). */
COL_INLINE uint64_t
col_value(const struct fmt_chunk *c, enum chunk_col col, uint32_t i,
	  unsigned shift, struct mtf *m)
{
	uint32_t t;
	unsigned at;

	switch (col) {
	case COL_ADDR:
		return zigzag_enc((int64_t)((c->addr[i] >> shift) -
					    (i ? c->addr[i - 1] >> shift : 0)));
	case COL_TYPE:
		return c->type[i] == FMT_SLOT_SKIPPED ? 0 :
		       (((uint64_t)c->type[i] + 1) << 3) | (c->flags[i] & 7);
	case COL_SIZE:
		return c->size[i];
	case COL_REFCNT:
		return c->refcnt[i];
	case COL_LABEL:
		return c->label[i];
	case COL_SRC:
		return zigzag_enc((int64_t)c->src[i] -
				  (int64_t)(i ? c->src[i - 1] : c->first));
	case COL_DST:
		t = c->dst[i];
		at = mtf_find(m, t);
		mtf_front(m, at, t);
		return at < MTF_N ? at : MTF_N + zigzag_enc(
			(int64_t)t - (int64_t)(i ? c->dst[i - 1] : c->first));
	case COL_NAME:
		return c->name[i];
	}
	return 0;
}

/* Values written between two looks at the buffer's room. */
#define COL_BLOCK 4096

/* Appends column col of c's n values to b.  0 or MUPPY_ENOMEM. */
COL_INLINE int
col_put(struct raw_buf *b, const struct fmt_chunk *c, enum chunk_col col,
	uint32_t n, unsigned shift)
{
	struct mtf m;

	mtf_init(&m);
	for (uint32_t i = 0; i < n; ) {
		uint32_t end = n - i > COL_BLOCK ? i + COL_BLOCK : n;
		uint8_t *p;

		if (raw_room(b, (size_t)(end - i) * VARINT_MAX_LEN) != 0)
			return MUPPY_ENOMEM;
		p = b->bytes + b->len;
		for (; i < end; i++)
			p += put_varint(p, col_value(c, col, i, shift, &m));
		b->len = (size_t)(p - b->bytes);
	}
	return 0;
}

/* Appends one varint to b.  0 or MUPPY_ENOMEM. */
static int
raw_varint(struct raw_buf *b, uint64_t v)
{
	if (raw_room(b, VARINT_MAX_LEN) != 0)
		return MUPPY_ENOMEM;
	b->len += put_varint(b->bytes + b->len, v);
	return 0;
}

/* The address gap shift of a chunk: the low zero bits all share (<= 7). */
static unsigned
chunk_shift(const struct fmt_chunk *c)
{
	uint64_t any = 0;
	unsigned shift = 0;

	for (uint32_t i = 0; i < c->nobjects; i++)
		any |= c->addr[i];
	while (shift < 8 && any && !(any & (1ull << shift)))
		shift++;
	return shift;
}

/* Appends the CHUNK2 section of c to b: its header, then its payload.
 * 0 or MUPPY_ENOMEM (b then holds part of it). */
static int
raw_chunk(struct raw_buf *b, const struct fmt_chunk *c)
{
	unsigned shift = chunk_shift(c);
	uint32_t n = c->nobjects, m = c->nedges;
	size_t start = b->len;
	int rc;

	if (raw_room(b, 12) != 0)
		return MUPPY_ENOMEM;
	b->len += 12;   /* the header, written once the length is known */
	rc = raw_varint(b, c->first);
	if (!rc) rc = raw_varint(b, n);
	if (!rc && n) rc = raw_varint(b, shift);
	if (!rc) rc = col_put(b, c, COL_ADDR, n, shift);
	if (!rc) rc = col_put(b, c, COL_TYPE, n, shift);
	if (!rc) rc = col_put(b, c, COL_SIZE, n, shift);
	if (!rc) rc = col_put(b, c, COL_REFCNT, n, shift);
	if (!rc) rc = col_put(b, c, COL_LABEL, n, shift);
	if (!rc) rc = raw_varint(b, m);
	if (!rc) rc = col_put(b, c, COL_SRC, m, shift);
	if (!rc) rc = col_put(b, c, COL_DST, m, shift);
	if (!rc) rc = col_put(b, c, COL_NAME, m, shift);
	if (rc)
		return rc;
	put_u32(b->bytes + start, FMT_SEC_CHUNK2);
	put_u64(b->bytes + start + 4, b->len - start - 12);
	return 0;
}

int
fmt_stream_begin(struct fmt_stream **out, uint32_t flags, int level,
		 const struct fmt_alloc *a, fmt_sink_fn sink, void *ctx)
{
	struct wr *w;
	int rc;

	*out = NULL;
	if (!a)
		a = &wr_plain;
	if (!wr_args_ok(level, a, sink) ||
	    (flags & ~(FMT_FLAG_GRAPH | FMT_FLAG_STRINGS | FMT_FLAG_STREAM)))
		return MUPPY_EINVAL;
	w = wr_open(level, a, sizeof(struct fmt_stream), sink, ctx, &rc);
	if (!w)
		return rc;
	w->stream_flags = flags | FMT_FLAG_GRAPH | FMT_FLAG_STREAM;
	((struct fmt_stream *)w)->scratch = (struct raw_buf){ .mem = *a };
	wr_header(w, w->stream_flags, FMT_MINOR_STREAM);
	if (w->err)
		return wr_close(w);
	*out = (struct fmt_stream *)w;
	return 0;
}

/* Deflates b's bytes after what in[] holds. */
static void
wr_raw(struct wr *w, const struct raw_buf *b)
{
	if (w->inlen)
		wr_flush(w, Z_NO_FLUSH);
	if (!w->err)
		wr_deflate(w, b->bytes, b->len, Z_NO_FLUSH);
}

/* Frees s, returning its first error. */
static int
stream_close(struct fmt_stream *s)
{
	raw_release(&s->scratch);
	return wr_close(&s->w);
}

/* Whether n more strings may follow the sent ones: only the first
 * STRTAB holds entry 0, the empty string. */
static int
more_strings_ok(uint32_t sent, const struct fmt_str *more, uint32_t n)
{
	return !(n && !more) && n <= UINT32_MAX - sent &&
	       !(sent == 0 && n && more[0].len != 0);
}

/* Whether chunk c may follow sent_objects slots, its labels naming the
 * strings sent so far. */
static int
chunk_ok(uint64_t sent_objects, uint32_t strings, const struct fmt_chunk *c)
{
	if (c->first != sent_objects || c->first + c->nobjects > UINT32_MAX)
		return 0;
	for (uint32_t i = 0; i < c->nobjects; i++)
		if (c->label[i] >= strings ||
		    (c->type[i] != FMT_SLOT_SKIPPED && c->flags[i] > 7))
			return 0;
	return 1;
}

int
fmt_stream_more_strings(struct fmt_stream *s, const struct fmt_str *more,
			uint32_t n)
{
	struct wr *w = &s->w;
	struct wr_strings range = { more, 0, n };

	if (!more_strings_ok(w->sent_strings, more, n)) {
		w->err = w->err ? w->err : MUPPY_EINVAL;
		return w->err;
	}
	if (n && !w->err) {
		wr_section(w, FMT_SEC_STRTAB, enc_more_strings, &range);
		w->sent_strings += n;
	}
	return w->err;
}

int
fmt_stream_strings(struct fmt_stream *s, const struct fmt_str *strs,
		   uint32_t n)
{
	struct wr *w = &s->w;

	if (n < w->sent_strings) {
		w->err = w->err ? w->err : MUPPY_EINVAL;
		return w->err;
	}
	return fmt_stream_more_strings(s, strs ? strs + w->sent_strings : NULL,
				       n - w->sent_strings);
}

int
fmt_stream_chunk(struct fmt_stream *s, const struct fmt_chunk *c)
{
	struct wr *w = &s->w;

	if (w->err)
		return w->err;
	if (!chunk_ok(w->sent_objects, w->sent_strings, c)) {
		w->err = MUPPY_EINVAL;
		return w->err;
	}
	s->scratch.len = 0;
	w->err = raw_chunk(&s->scratch, c);
	if (!w->err)
		wr_raw(w, &s->scratch);
	w->sent_objects += c->nobjects;
	return w->err;
}

/* ---- chunks encoded ahead (dump.h) --------------------------------- */

struct fmt_rawchunk {
	struct fmt_alloc mem;
	struct wr *w;             /* an encoder without deflate (w->keep) */
	int err;                  /* the last encode's outcome */
	uint32_t strings;         /* strings sent before it */
	uint32_t nstrings;        /* strings it adds */
	uint64_t first;           /* its first slot */
	uint32_t nobjects;
	struct raw_buf buf;       /* the body bytes: STRTAB (if any), CHUNK2 */
	int deflated;             /* zbuf holds buf compressed (note 5) */
	struct raw_buf zbuf;
	uint32_t crc, adler;      /* of buf's bytes, once deflated */
};

/* wr_flush for an encoder that keeps its bytes: in[] is appended to
 * w->keep's buffer. */
static void
wr_keep(struct wr *w)
{
	struct raw_buf *b = &w->keep->buf;

	w->body_len += w->inlen;
	if (!w->err && raw_room(b, w->inlen) != 0)
		w->err = MUPPY_ENOMEM;
	if (!w->err && w->inlen) {
		memcpy(b->bytes + b->len, w->in, w->inlen);
		b->len += w->inlen;
	}
	w->inlen = 0;
}

int
fmt_rawchunk_new(struct fmt_rawchunk **out, const struct fmt_alloc *a)
{
	struct fmt_rawchunk *r;

	*out = NULL;
	if (!a)
		a = &wr_plain;
	if (!a->alloc || !a->free)
		return MUPPY_EINVAL;
	r = a->alloc(a->ctx, sizeof *r);
	if (!r)
		return MUPPY_ENOMEM;
	memset(r, 0, sizeof *r);
	r->mem = *a;
	r->buf.mem = *a;
	r->zbuf.mem = *a;
	r->err = MUPPY_EINVAL;   /* nothing encoded yet */
	r->w = a->alloc(a->ctx, sizeof *r->w);
	if (!r->w) {
		a->free(a->ctx, r);
		return MUPPY_ENOMEM;
	}
	memset(r->w, 0, offsetof(struct wr, in));
	r->w->keep = r;
	*out = r;
	return 0;
}

int
fmt_rawchunk_encode(struct fmt_rawchunk *r, uint32_t strings,
		    const struct fmt_str *more, uint32_t nmore,
		    const struct fmt_chunk *c)
{
	struct wr *w = r->w;
	struct wr_strings range = { more, 0, nmore };

	r->buf.len = 0;
	r->deflated = 0;
	w->err = 0;
	w->body_len = w->inlen = 0;
	r->err = MUPPY_EINVAL;
	if (!more_strings_ok(strings, more, nmore) ||
	    !chunk_ok(c->first, strings + nmore, c))
		return r->err;
	if (nmore)
		wr_section(w, FMT_SEC_STRTAB, enc_more_strings, &range);
	wr_keep(w);
	if (!w->err)
		w->err = raw_chunk(&r->buf, c);
	r->err = w->err;
	if (r->err == 0) {
		r->strings = strings;
		r->nstrings = nmore;
		r->first = c->first;
		r->nobjects = c->nobjects;
	}
	return r->err;
}

/* Brings the stream's deflate to a byte boundary, every byte of it
 * sunk; 0 if it could not. */
static int
wr_sync(struct wr *w)
{
	int rc;

	if (w->inlen)
		wr_flush(w, Z_NO_FLUSH);
	do {
		if (w->err)
			return 0;
		w->zs.next_in = Z_NULL;
		w->zs.avail_in = 0;
		w->zs.next_out = w->out;
		w->zs.avail_out = WR_BUF;
		rc = deflate(&w->zs, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR) {   /* BUF: nothing new */
			w->err = MUPPY_EIO;
			return 0;
		}
		wr_sink(w, w->out, WR_BUF - w->zs.avail_out);
	} while (w->zs.avail_out == 0);
	return !w->err;
}

/* Writes r's compressed bytes into the stream (design note 5). */
static void
wr_splice(struct wr *w, const struct fmt_rawchunk *r)
{
	const struct raw_buf *b = &r->buf;
	size_t dict = b->len < 32768 ? b->len : 32768;

	if (!wr_sync(w))
		return;
	wr_sink(w, r->zbuf.bytes, r->zbuf.len);
	w->crc = (uint32_t)crc32_combine(w->crc, r->crc, (z_off_t)b->len);
	w->adler = (uint32_t)adler32_combine(w->adler, r->adler,
					     (z_off_t)b->len);
	w->body_len += b->len;
	if (deflateReset(&w->zs) != Z_OK ||
	    deflateSetDictionary(&w->zs, b->bytes + b->len - dict,
				 (uInt)dict) != Z_OK)
		w->err = w->err ? w->err : MUPPY_EIO;
}

struct fmt_deflater {
	struct fmt_alloc mem;
	z_stream zs;              /* raw, at the stream's level */
};

int
fmt_deflater_new(struct fmt_deflater **out, const struct fmt_stream *s)
{
	const struct fmt_alloc *a = &s->w.mem;
	struct fmt_deflater *z;
	int rc;

	*out = NULL;
	z = a->alloc(a->ctx, sizeof *z);
	if (!z)
		return MUPPY_ENOMEM;
	memset(z, 0, sizeof *z);
	z->mem = *a;
	rc = wr_deflate_init(&z->zs, s->w.level, &z->mem);
	if (rc != 0) {
		a->free(a->ctx, z);
		return rc;
	}
	*out = z;
	return 0;
}

void
fmt_deflater_free(struct fmt_deflater *z)
{
	struct fmt_alloc a;

	if (!z)
		return;
	a = z->mem;
	deflateEnd(&z->zs);
	a.free(a.ctx, z);
}

int
fmt_rawchunk_deflate(struct fmt_rawchunk *r, struct fmt_deflater *z)
{
	struct raw_buf *o = &r->zbuf;
	int rc;

	if (r->err != 0)
		return MUPPY_EINVAL;
	r->deflated = 0;
	if (deflateReset(&z->zs) != Z_OK)
		return MUPPY_EINVAL;
	o->len = 0;
	z->zs.next_in = r->buf.bytes;
	z->zs.avail_in = (uInt)r->buf.len;
	do {   /* Z_SYNC_FLUSH: ends on a byte boundary, not the stream */
		if (raw_room(o, r->buf.len / 2 + 64) != 0)
			return MUPPY_ENOMEM;
		z->zs.next_out = o->bytes + o->len;
		z->zs.avail_out = (uInt)(o->cap - o->len);
		rc = deflate(&z->zs, Z_SYNC_FLUSH);
		o->len = o->cap - z->zs.avail_out;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return MUPPY_EINVAL;
	} while (z->zs.avail_out == 0);
	r->crc = (uint32_t)crc32(0, r->buf.bytes, (uInt)r->buf.len);
	r->adler = (uint32_t)adler32(1, r->buf.bytes, (uInt)r->buf.len);
	r->deflated = 1;
	return 0;
}

int
fmt_stream_rawchunk(struct fmt_stream *s, const struct fmt_rawchunk *r)
{
	struct wr *w = &s->w;

	if (w->err)
		return w->err;
	if (r->err != 0 || r->strings != w->sent_strings ||
	    r->first != w->sent_objects) {
		w->err = MUPPY_EINVAL;
		return w->err;
	}
	if (r->deflated)
		wr_splice(w, r);
	else
		wr_raw(w, &r->buf);
	w->sent_strings += r->nstrings;
	w->sent_objects += r->nobjects;
	return w->err;
}

void
fmt_rawchunk_free(struct fmt_rawchunk *r)
{
	struct fmt_alloc a;

	if (!r)
		return;
	a = r->mem;
	raw_release(&r->buf);
	raw_release(&r->zbuf);
	a.free(a.ctx, r->w);
	a.free(a.ctx, r);
}

/* The tail's own checks: what it names must exist. */
static int
stream_tail_ok(const struct wr *w, const struct fmt_dump *t)
{
	uint64_t n = w->sent_objects;

	if (!check_tables(t))
		return 0;
	for (uint32_t i = 0; i < t->nroots; i++)
		if (t->roots[i].obj >= n || t->roots[i].kind < 1 ||
		    t->roots[i].kind > 3 || t->roots[i].name >= t->nstrings)
			return 0;
	if (!(w->stream_flags & FMT_FLAG_STRINGS) && t->nstrdata)
		return 0;
	for (uint32_t i = 0; i < t->nstrdata; i++)
		if (t->strdata[i].obj >= n || t->strdata[i].str >= t->nstrings)
			return 0;
	return 1;
}

int
fmt_stream_end(struct fmt_stream *s, const struct fmt_dump *tail)
{
	struct wr *w = &s->w;

	if (!w->err && !stream_tail_ok(w, tail))
		w->err = MUPPY_EINVAL;
	if (!w->err)
		fmt_stream_strings(s, tail->strings, tail->nstrings);
	if (!w->err) {
		wr_section(w, FMT_SEC_META, enc_meta, tail);
		wr_section(w, FMT_SEC_TYPES, enc_types, tail);
		wr_section(w, FMT_SEC_SUMMARY, enc_summary, tail);
		wr_section(w, FMT_SEC_ROOTS, enc_roots, tail);
		if (w->stream_flags & FMT_FLAG_STRINGS)
			wr_section(w, FMT_SEC_STRDATA, enc_strdata, tail);
		wr_section(w, FMT_SEC_END, enc_end, tail);
	}
	if (!w->err)
		wr_finish(w);
	if (!w->err)
		wr_trailer(w);
	return stream_close(s);
}

void
fmt_stream_abort(struct fmt_stream *s)
{
	if (s)
		stream_close(s);
}
