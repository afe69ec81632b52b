/*
 * read.c - fmt_read_mem / fmt_read_file / fmt_dump_free: turns dump bytes
 * (docs/format.md) back into a struct fmt_dump, or rejects them whole with
 * a one-line reason naming the offset.
 *
 * Dumps come from crashed, killed or foreign processes and from disks that
 * lie, so every byte is distrusted: every length is checked against what
 * is left, every count against the bytes it needs before anything is
 * allocated, every index after decoding.  The writer is write.c; the small
 * lookups (fmt_str, fmt_find_object ...) live in dump.c.
 *
 * DESIGN NOTES
 *   1. Two passes over the zlib body.  Pass 1 (verify_body) inflates into
 *      a scratch block only to check the stream end, the body length and
 *      the body CRC; nothing is allocated from file contents.  Pass 2
 *      (decode_body) inflates again and decodes sections as the bytes come
 *      out, so the inflated body is never held whole in memory and every
 *      count is checked against a body length that is known to be true.
 *      The price is one extra inflate of the body, which is fast.
 *   2. Within pass 2, struct rd keeps a "limit" at the end of the current
 *      section payload; every read primitive refuses to cross it, so a
 *      decoder can never run into the next section or off the body.
 *   3. Section order is free apart from END being last; each known section
 *      may appear once.  References between sections (type ids, string ids,
 *      object indices) are checked after all sections are in (check_*_refs),
 *      so no decoder depends on another having run first.
 *   4. Everything allocated hangs off d->owned (struct owned), so any
 *      failure path ends in one fmt_dump_free.
 *   6. Progress (fmt_read_*_with) is counted in inflated bytes over every
 *      pass: pass 1, then one (1.0) or up to three (streamed, note 5)
 *      decoding passes, so a caller can show one steady percentage for a
 *      read whose time is almost all inflate and decode.
 *   7. A file is read block by block (pread, RD_IN bytes at a time) at
 *      each pass rather than held whole: at 5M objects the compressed body
 *      is 4 bytes per object more at the reader's peak.  The descriptor
 *      stays on one inode for the whole read; muppy replaces dumps by
 *      rename, never in place, and a body that changes anyway fails a
 *      pass (short read, zlib error, bad section) rather than crash.
 *      Files whose frame is not whole (short, no trailer at the end) and
 *      what is not a regular file are read whole, for the messages.
 */
#define _POSIX_C_SOURCE 200809L  /* O_CLOEXEC, ssize_t under -std=c11 */

#include <errno.h>     /* errno */
#include <fcntl.h>     /* open */
#include <stdarg.h>    /* va_list */
#include <stdio.h>     /* vsnprintf */
#include <stdlib.h>    /* malloc, free, realloc */
#include <string.h>    /* memcpy, memcmp, memset, strerror */
#include <sys/stat.h>  /* fstat */
#include <unistd.h>    /* read, close */

#include <zlib.h>      /* inflate*, crc32 */

#include "format/bytes.h"  /* get_u*, get_varint, zigzag_dec */
#include "format/dump.h"   /* struct fmt_dump, fmt_read_* */
#include "format/order.h"  /* fmt_radix_sort, fmt_edges_dedup */

#define RD_BUF 65536
#define RD_IN ((size_t)1 << 20)   /* compressed bytes per read(2) of a file */
#define ZCHUNK ((size_t)1 << 30)  /* avail_in is a uInt: feed <= 1 GiB */

/* Where the compressed body comes from (design note 7). */
struct rd_in {
	const uint8_t *mem;       /* the body in memory, or NULL: from fd */
	int fd;
	uint64_t off;             /* the body's file offset */
	size_t len;               /* its bytes */
	uint8_t *blk;             /* RD_IN bytes for the reads of fd */
};

/* Section bits for struct rd.seen. */
#define SEEN(id) (1u << (id))
#define SEEN_TABLES (SEEN(FMT_SEC_STRTAB) | SEEN(FMT_SEC_META) | \
		     SEEN(FMT_SEC_TYPES) | SEEN(FMT_SEC_SUMMARY))
#define SEEN_GRAPH (SEEN(FMT_SEC_OBJECTS) | SEEN(FMT_SEC_EDGES) | \
		    SEEN(FMT_SEC_ROOTS))

/* The modes that decode OBJECTS and no edges. */
static inline int
objects_only(enum fmt_read_what what)
{
	return what == FMT_READ_OBJECTS || what == FMT_READ_MATCH;
}

/* Reader allocations (design note 4). */
struct owned {
	size_t n, cap;
	void **p;
};

/* A caller's progress callback over every inflate pass of one read
 * (design note 6). */
struct prog {
	const struct fmt_progress *cb;  /* NULL: nobody is told */
	uint64_t total;           /* inflated bytes over all passes */
	uint64_t base;            /* those of the passes before this one */
};

/* Pass-2 decoding state (design notes 1, 2). */
struct rd {
	z_stream zs;
	int zinit;
	struct rd_in *in;         /* compressed body */
	size_t infed;             /* bytes of in handed to inflate so far */
	uint8_t *buf;             /* RD_BUF inflated bytes */
	const uint8_t *p, *end;   /* unread part of buf */
	uint64_t base;            /* body offset of buf[0] */
	uint64_t body_len;        /* verified in pass 1 */
	uint64_t limit;           /* body offset reads must stay below */
	int in_section;           /* messages name the section */
	uint32_t sec_id;
	uint64_t sec_off[FMT_SEC_CHUNK2 + 1]; /* where each section began */
	uint32_t seen;            /* SEEN() bits of known sections */
	uint64_t edges_nobj;      /* object count EDGES was written for */
	struct owned *own;
	int match;                /* FMT_READ_MATCH: addresses and types only */
	char *err;
	size_t errlen;
	struct prog *prog;

	/* Stream dumps (design note 5). */
	int stage;                /* 1: tables, addresses; 2: objects and
	                             out-degrees; 3: edges */
	uint64_t nslots;          /* slots of the chunks read this stage */
	uint64_t slots;           /* all slots (after stage 1) */
	struct fmt_pair *pairs;   /* stage 1: (address, slot) of each kept */
	uint64_t npairs, cappairs;
	uint32_t *rank;           /* slot -> object index, FMT_SLOT_SKIPPED */
	uint32_t chunk_id;        /* CHUNK or CHUNK2: the last chunk's id */
	uint32_t *esrc, *edst;    /* one chunk's edges */
	uint64_t capsrc, capdst;
	uint64_t kept;            /* stage 2: edges between kept objects */
};

/* ---- messages -------------------------------------------------------- */

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *
section_name(uint32_t id)
{
	static const char *const names[] = {
		"END", "META", "STRTAB", "TYPES", "SUMMARY",
		"OBJECTS", "EDGES", "ROOTS", "STRDATA", "CHUNK",
		"CHUNK2",
	};
	return id < sizeof names / sizeof names[0] ? names[id] : "unknown";
}

static uint64_t
rd_pos(const struct rd *r)
{
	return r->base + (uint64_t)(r->p - r->buf);
}

/* Records "corrupt: section N (NAME) at body offset X: <why>" (or without
 * the section outside one) and returns MUPPY_ECORRUPT. */
__attribute__((format(printf, 2, 3))) static int
rd_corrupt(struct rd *r, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (r->in_section)
		set_err(r->err, r->errlen,
			"corrupt: section %u (%s) at body offset %llu: %s",
			r->sec_id, section_name(r->sec_id),
			(unsigned long long)rd_pos(r), why);
	else
		set_err(r->err, r->errlen, "corrupt: at body offset %llu: %s",
			(unsigned long long)rd_pos(r), why);
	return MUPPY_ECORRUPT;
}

/* As rd_corrupt, for a problem found after decoding (check_refs): names
 * the section by where it began. */
__attribute__((format(printf, 3, 4))) static int
ref_corrupt(struct rd *r, uint32_t id, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	set_err(r->err, r->errlen,
		"corrupt: section %u (%s) at body offset %llu: %s", id,
		section_name(id), (unsigned long long)r->sec_off[id], why);
	return MUPPY_ECORRUPT;
}

/* ---- allocation ------------------------------------------------------ */

/* n elements of size sz, owned by r->own; *out is NULL for n == 0.  The
 * caller has already bounded n by the bytes left (rd_count), so n * sz
 * cannot overflow on a 64-bit size_t; checked anyway for 32-bit hosts.
 * Use through ALLOC, which types the result. */
static int
rd_alloc(struct rd *r, void **out, uint64_t n, size_t sz)
{
	void *p;

	*out = NULL;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sz)
		return MUPPY_ENOMEM;
	if (r->own->n == r->own->cap) {
		size_t cap = r->own->cap ? 2 * r->own->cap : 32;
		void **g = realloc(r->own->p, cap * sizeof *g);

		if (!g)
			return MUPPY_ENOMEM;
		r->own->p = g;
		r->own->cap = cap;
	}
	p = malloc((size_t)n * sz);
	if (!p) {
		set_err(r->err, r->errlen, "out of memory (%llu bytes)",
			(unsigned long long)n * sz);
		return MUPPY_ENOMEM;
	}
	r->own->p[r->own->n++] = p;
	*out = p;
	return 0;
}

/* Where p is in r->own (it must be there). */
static size_t
rd_owned_at(const struct rd *r, const void *p)
{
	size_t i = r->own->n;

	while (i-- > 0)
		if (r->own->p[i] == p)
			return i;
	return r->own->n;
}

/* Frees p, one of r's allocations, early (NULL: no-op). */
static void
rd_release(struct rd *r, void *p)
{
	size_t i;

	if (!p || (i = rd_owned_at(r, p)) == r->own->n)
		return;
	free(p);
	r->own->p[i] = r->own->p[--r->own->n];
}

/* Grows *pp (one of r's allocations, or NULL) to hold need elements of sz
 * bytes, doubling; *cap in elements. */
static int
rd_grow(struct rd *r, void **pp, uint64_t *cap, uint64_t need, size_t sz)
{
	uint64_t c = *cap ? *cap : 1024;
	void *g;
	size_t i;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / sz)
		return MUPPY_ENOMEM;
	if (!*pp) {
		if (rd_alloc(r, &g, c, sz))
			return MUPPY_ENOMEM;
	} else {
		i = rd_owned_at(r, *pp);
		g = realloc(*pp, (size_t)c * sz);
		if (!g) {
			set_err(r->err, r->errlen, "out of memory (%llu "
				"bytes)", (unsigned long long)c * sz);
			return MUPPY_ENOMEM;
		}
		r->own->p[i] = g;
	}
	*pp = g;
	*cap = c;
	return 0;
}

/* Gives back the tail of *pp (one of r's allocations) past n elements of
 * sz bytes; *pp stays as it was if realloc will not (n > 0). */
static void
rd_shrink(struct rd *r, void **pp, uint64_t n, size_t sz)
{
	size_t i = rd_owned_at(r, *pp);
	void *g;

	if (!*pp || n == 0 || i == r->own->n)
		return;
	g = realloc(*pp, (size_t)n * sz);
	if (!g)
		return;
	r->own->p[i] = g;
	*pp = g;
}

#define ALLOC(ptr, n) do { \
	void *p_; \
	int rc_ = rd_alloc(r, &p_, (n), sizeof *(ptr)); \
	if (rc_) \
		return rc_; \
	(ptr) = p_; \
} while (0)

/* ---- pass 2 read primitives (design note 2) ------------------------- */

/* Tells the caller how far this read is, at most once an inflated block. */
static void
prog_tick(const struct prog *g, uint64_t at)
{
	uint64_t done = g->base + at;

	if (!g->cb || !g->cb->fn)
		return;
	g->cb->fn(g->cb->ctx, done < g->total ? done : g->total, g->total);
}

/* len bytes of fd at off into buf; 0, or -1 (errno; EIO if short). */
static int
pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	for (size_t got = 0; got < len;) {
		ssize_t k = pread(fd, buf + got, len - got,
				  (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

/*
 * Points *p at the compressed bytes from body offset fed on: how many
 * (0 at the end), or -1 when the file cannot be read or ends before the
 * length it had when opened (errno set; EIO for the latter).
 */
static int64_t
in_next(struct rd_in *in, size_t fed, const uint8_t **p)
{
	size_t n = in->len - fed;

	if (in->mem) {
		*p = in->mem + fed;
		return (int64_t)(n < ZCHUNK ? n : ZCHUNK);
	}
	if (n > RD_IN)
		n = RD_IN;
	if (pread_full(in->fd, in->blk, n, in->off + fed) != 0)
		return -1;
	*p = in->blk;
	return (int64_t)n;
}

/* Hands zs the next compressed bytes when it has none.  0, or -1 with
 * err set (the file could not be read). */
static int
in_feed(struct rd_in *in, z_stream *zs, size_t *fed, char *err,
	size_t errlen)
{
	const uint8_t *p;
	int64_t n;

	if (zs->avail_in != 0 || *fed >= in->len)
		return 0;
	n = in_next(in, *fed, &p);
	if (n < 0) {
		set_err(err, errlen, "cannot read at file offset %llu: %s",
			(unsigned long long)(in->off + *fed),
			errno == EIO ? "the file is shorter than it was "
			"(changed while being read?)" : strerror(errno));
		return -1;
	}
	zs->next_in = (Bytef *)p;
	zs->avail_in = (uInt)n;
	*fed += (size_t)n;
	return 0;
}

/* Inflates the next block into buf.  Precondition: p == end. */
static int
rd_fill(struct rd *r)
{
	int rc;

	r->base += (uint64_t)(r->end - r->buf);
	r->p = r->end = r->buf;
	for (;;) {
		if (in_feed(r->in, &r->zs, &r->infed, r->err, r->errlen))
			return MUPPY_EIO;
		r->zs.next_out = r->buf;
		r->zs.avail_out = RD_BUF;
		rc = inflate(&r->zs, Z_NO_FLUSH);
		r->end = r->buf + (RD_BUF - r->zs.avail_out);
		if (r->end > r->buf) {
			prog_tick(r->prog, r->base);
			return 0;
		}
		/* Pass 1 saw this stream inflate cleanly to body_len bytes,
		 * so running dry here means the body changed under us. */
		if (rc != Z_OK)
			return rd_corrupt(r, "zlib stream ended early");
	}
}

static int
rd_left(const struct rd *r, uint64_t need)
{
	return r->limit - rd_pos(r) >= need;
}

static int
rd_byte(struct rd *r, uint8_t *b)
{
	if (!rd_left(r, 1))
		return rd_corrupt(r, "payload ends in the middle of a value");
	if (r->p == r->end) {
		int rc = rd_fill(r);
		if (rc)
			return rc;
	}
	*b = *r->p++;
	return 0;
}

/* A LEB128 varint.  Fast path inside buf; the slow path handles one that
 * straddles two inflated blocks. */
static int
rd_varint(struct rd *r, uint64_t *v)
{
	uint64_t room = r->limit - rd_pos(r), x = 0;
	size_t avail = (size_t)(r->end - r->p), n;

	if (avail > room)
		avail = (size_t)room;
	n = get_varint(r->p, r->p + avail, v);
	if (n) {
		r->p += n;
		return 0;
	}
	if (avail >= VARINT_MAX_LEN)
		return rd_corrupt(r, "varint does not fit in 64 bits");
	for (int i = 0;; i++) {
		uint8_t b = 0;
		int rc = rd_byte(r, &b);
		if (rc)
			return rc;
		/* the 10th byte holds bit 63 only, and ends the varint */
		if (i == VARINT_MAX_LEN - 1 && b > 1)
			return rd_corrupt(r, "varint does not fit in 64 bits");
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
}

/* A varint that must fit a uint32 field called what. */
static int
rd_u32(struct rd *r, uint32_t *out, const char *what)
{
	uint64_t v;
	int rc = rd_varint(r, &v);

	if (rc)
		return rc;
	if (v > UINT32_MAX)
		return rd_corrupt(r, "%s %llu does not fit in 32 bits", what,
				  (unsigned long long)v);
	*out = (uint32_t)v;
	return 0;
}

/* A count of items that each take at least min_bytes of the payload:
 * refused unless the rest of the section can hold them, which bounds
 * every allocation by the (verified) body size. */
static int
rd_count(struct rd *r, uint64_t *n, uint64_t max, uint64_t min_bytes,
	 const char *what)
{
	int rc = rd_varint(r, n);
	uint64_t room;

	if (rc)
		return rc;
	room = r->limit - rd_pos(r);
	if (*n > max)
		return rd_corrupt(r, "%llu %s is more than %llu",
				  (unsigned long long)*n, what,
				  (unsigned long long)max);
	if (*n > room / min_bytes)
		return rd_corrupt(r, "%llu %s cannot fit in the %llu bytes left",
				  (unsigned long long)*n, what,
				  (unsigned long long)room);
	return 0;
}

/* Copies (dst) or skips (dst NULL) n payload bytes. */
static int
rd_bytes(struct rd *r, uint8_t *dst, uint64_t n)
{
	if (!rd_left(r, n))
		return rd_corrupt(r, "%llu bytes wanted, only %llu left",
				  (unsigned long long)n,
				  (unsigned long long)(r->limit - rd_pos(r)));
	while (n > 0) {
		size_t k;
		if (r->p == r->end) {
			int rc = rd_fill(r);
			if (rc)
				return rc;
		}
		k = (size_t)(r->end - r->p);
		if (k > n)
			k = (size_t)n;
		if (dst) {
			memcpy(dst, r->p, k);
			dst += k;
		}
		r->p += k;
		n -= k;
	}
	return 0;
}

/* ---- section decoders (payload layouts: docs/format.md) ------------- */

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int
dec_strtab(struct rd *r, struct fmt_dump *d)
{
	uint64_t n, room, off = 0;
	char *blob;

	TRY(rd_count(r, &n, UINT32_MAX, 1, "strings"));
	if (n == 0)
		return rd_corrupt(r, "no strings (string 0 must be \"\")");
	/* Each string is a length varint (>= 1 byte, room for its NUL in
	 * memory) plus its bytes, so the payload left bounds the blob. */
	room = r->limit - rd_pos(r);
	ALLOC(d->strings, n);
	ALLOC(blob, room);
	d->nstrings = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t len;
		TRY(rd_varint(r, &len));
		if (len > UINT32_MAX || len + 1 > room - off)
			return rd_corrupt(r, "string %llu length %llu runs "
					  "past the section",
					  (unsigned long long)i,
					  (unsigned long long)len);
		TRY(rd_bytes(r, (uint8_t *)blob + off, len));
		blob[off + len] = '\0';
		d->strings[i].ptr = blob + off;
		d->strings[i].len = (uint32_t)len;
		off += len + 1;
	}
	if (d->strings[0].len != 0)
		return rd_corrupt(r, "string 0 is not \"\"");
	return 0;
}

static int
dec_meta(struct rd *r, struct fmt_dump *d)
{
	uint64_t n;

	TRY(rd_count(r, &n, UINT32_MAX, 2, "meta entries"));
	ALLOC(d->meta, n);
	d->nmeta = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_u32(r, &d->meta[i].key, "meta key"));
		TRY(rd_u32(r, &d->meta[i].value, "meta value"));
	}
	return 0;
}

static int
dec_types(struct rd *r, struct fmt_dump *d)
{
	uint64_t n, v, addr = 0;

	TRY(rd_count(r, &n, UINT32_MAX, 2, "types"));
	ALLOC(d->types, n);
	d->ntypes = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_varint(r, &v));
		addr += (uint64_t)zigzag_dec(v);  /* wraps, as written */
		d->types[i].addr = addr;
	}
	for (uint64_t i = 0; i < n; i++)
		TRY(rd_u32(r, &d->types[i].name, "type name"));
	return 0;
}

static int
dec_summary(struct rd *r, struct fmt_dump *d)
{
	uint64_t n;

	TRY(rd_count(r, &n, UINT32_MAX, 3, "summary rows"));
	ALLOC(d->summary, n);
	d->nsummary = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_u32(r, &d->summary[i].name, "row name"));
		TRY(rd_varint(r, &d->summary[i].count));
		TRY(rd_varint(r, &d->summary[i].size));
	}
	return 0;
}

/* Address column: shift, first address, then (gap >> shift) - 1. */
static int
dec_addrs(struct rd *r, uint64_t *addr, uint64_t n)
{
	uint64_t shift, v;

	TRY(rd_varint(r, &shift));
	if (shift > 63)
		return rd_corrupt(r, "address shift %llu > 63",
				  (unsigned long long)shift);
	TRY(rd_varint(r, &addr[0]));
	for (uint64_t i = 1; i < n; i++) {
		uint64_t gap;
		TRY(rd_varint(r, &v));
		if (v == UINT64_MAX || v + 1 > (UINT64_MAX >> shift) ||
		    ((v + 1) << shift) > UINT64_MAX - addr[i - 1])
			return rd_corrupt(r, "address of object %llu is past "
					  "2^64", (unsigned long long)i);
		gap = (v + 1) << shift;
		addr[i] = addr[i - 1] + gap;
	}
	return 0;
}

/* Type column: flag bits, then (type << bits) | flags per object. */
static int
dec_types_flags(struct rd *r, struct fmt_dump *d, uint64_t n)
{
	uint64_t bits, v;

	TRY(rd_varint(r, &bits));
	if (bits > 8)
		return rd_corrupt(r, "%llu flag bits > 8",
				  (unsigned long long)bits);
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_varint(r, &v));
		if ((v >> bits) > UINT32_MAX)
			return rd_corrupt(r, "type index of object %llu does "
					  "not fit in 32 bits",
					  (unsigned long long)i);
		d->obj_type[i] = (uint32_t)(v >> bits);
		if (d->obj_flags)
			d->obj_flags[i] = (uint8_t)(v & ((1u << bits) - 1));
	}
	return 0;
}

static int
dec_objects(struct rd *r, struct fmt_dump *d)
{
	uint64_t n;

	/* Five columns, each at least one byte per object. */
	TRY(rd_count(r, &n, UINT32_MAX, 5, "objects"));
	ALLOC(d->obj_addr, n);
	ALLOC(d->obj_type, n);
	if (!r->match) {
		ALLOC(d->obj_size, n);
		ALLOC(d->obj_refcnt, n);
		ALLOC(d->obj_label, n);
		ALLOC(d->obj_flags, n);
	}
	d->nobjects = n;
	if (n == 0)
		return 0;
	TRY(dec_addrs(r, d->obj_addr, n));
	TRY(dec_types_flags(r, d, n));
	for (uint64_t i = 0; i < n; i++) {
		uint64_t size;

		TRY(rd_varint(r, &size));
		if (d->obj_size)
			d->obj_size[i] = size;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t rc;

		TRY(rd_varint(r, &rc));
		/* Saturated: only the immortal mark (3.12+: 2^32 - 1) and
		 * static objects (~1e9) come near it. */
		if (d->obj_refcnt)
			d->obj_refcnt[i] = rc > UINT32_MAX ? UINT32_MAX :
					   (uint32_t)rc;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint32_t label = 0;

		TRY(rd_u32(r, &label, "label"));
		if (d->obj_label)
			d->obj_label[i] = label;
	}
	return 0;
}

/* Out-degree column -> edge_start (CSR), checked against nedges. */
static int
dec_degrees(struct rd *r, struct fmt_dump *d, uint64_t n)
{
	uint64_t v, sum = 0;

	d->edge_start[0] = 0;
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_varint(r, &v));
		if (v > d->nedges - sum)
			return rd_corrupt(r, "out-degrees add up to more than "
					  "%llu edges",
					  (unsigned long long)d->nedges);
		sum += v;
		d->edge_start[i + 1] = (uint32_t)sum;
	}
	if (sum != d->nedges)
		return rd_corrupt(r, "out-degrees add up to %llu, not %llu "
				  "edges", (unsigned long long)sum,
				  (unsigned long long)d->nedges);
	return 0;
}

/* EDGES up to its out-degrees: counts, edge_start.  Into *n, *ne. */
static int
dec_edges_head(struct rd *r, struct fmt_dump *d, uint64_t *n, uint64_t *ne)
{
	TRY(rd_count(r, n, UINT32_MAX, 1, "objects"));
	/* n degrees then 2 bytes or more per edge. */
	TRY(rd_count(r, ne, UINT32_MAX, 2, "edges"));
	if (*n > (r->limit - rd_pos(r) - 2 * *ne))
		return rd_corrupt(r, "%llu out-degrees and %llu edges cannot "
				  "fit", (unsigned long long)*n,
				  (unsigned long long)*ne);
	ALLOC(d->edge_start, *n + 1);
	d->nedges = *ne;
	r->edges_nobj = *n;
	return dec_degrees(r, d, *n);
}

static int
dec_edges(struct rd *r, struct fmt_dump *d)
{
	uint64_t n, ne, v;

	TRY(dec_edges_head(r, d, &n, &ne));
	ALLOC(d->edge_dst, ne);
	ALLOC(d->edge_name, ne);
	for (uint64_t i = 0; i < n; i++) {
		int64_t prev = (int64_t)i;
		for (uint64_t e = d->edge_start[i]; e < d->edge_start[i + 1];
		     e++) {
			TRY(rd_varint(r, &v));
			/* prev < 2^32, so a wrapped sum is also out of range */
			prev = (int64_t)((uint64_t)prev +
					 (uint64_t)zigzag_dec(v));
			if (prev < 0 || (uint64_t)prev >= n)
				return rd_corrupt(r, "edge %llu target %lld "
						  "out of range (%llu objects)",
						  (unsigned long long)e,
						  (long long)prev,
						  (unsigned long long)n);
			d->edge_dst[e] = (uint32_t)prev;
		}
	}
	for (uint64_t e = 0; e < ne; e++)
		TRY(rd_u32(r, &d->edge_name[e], "edge name"));
	return 0;
}

/* FMT_READ_DEGREES: the out-degrees of EDGES, the rest verified (CRC)
 * and skipped. */
static int
dec_edge_degrees(struct rd *r, struct fmt_dump *d)
{
	uint64_t n, ne;

	TRY(dec_edges_head(r, d, &n, &ne));
	return rd_bytes(r, NULL, r->limit - rd_pos(r));
}

static int
dec_roots(struct rd *r, struct fmt_dump *d)
{
	uint64_t n;

	TRY(rd_count(r, &n, UINT32_MAX, 3, "roots"));
	ALLOC(d->roots, n);
	d->nroots = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++)
		TRY(rd_u32(r, &d->roots[i].obj, "root object"));
	for (uint64_t i = 0; i < n; i++)
		TRY(rd_u32(r, &d->roots[i].kind, "root kind"));
	for (uint64_t i = 0; i < n; i++)
		TRY(rd_u32(r, &d->roots[i].name, "root name"));
	return 0;
}

static int
dec_strdata(struct rd *r, struct fmt_dump *d)
{
	uint64_t n, v, obj = 0;

	TRY(rd_count(r, &n, UINT32_MAX, 2, "string contents"));
	ALLOC(d->strdata, n);
	d->nstrdata = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_varint(r, &v));
		obj += (uint64_t)zigzag_dec(v);
		if (obj > UINT32_MAX)
			return rd_corrupt(r, "string contents %llu: object "
					  "index out of range",
					  (unsigned long long)i);
		d->strdata[i].obj = (uint32_t)obj;
	}
	for (uint64_t i = 0; i < n; i++)
		TRY(rd_u32(r, &d->strdata[i].str, "string id"));
	return 0;
}

/* ---- stream dumps (design note 5) ------------------------------------ */

/* A STRTAB of a stream: more strings, appended. */
static int
dec_more_strings(struct rd *r, struct fmt_dump *d)
{
	uint64_t n, room, off = 0, cap = d->nstrings;
	char *blob;

	TRY(rd_count(r, &n, UINT32_MAX - d->nstrings, 1, "strings"));
	room = r->limit - rd_pos(r);
	TRY(rd_grow(r, (void **)&d->strings, &cap, (uint64_t)d->nstrings + n,
		    sizeof *d->strings));
	ALLOC(blob, room);
	for (uint64_t i = 0; i < n; i++) {
		struct fmt_str *s = &d->strings[d->nstrings];
		uint64_t len;

		TRY(rd_varint(r, &len));
		if (len > UINT32_MAX || len + 1 > room - off)
			return rd_corrupt(r, "string %u length %llu runs past "
					  "the section", d->nstrings,
					  (unsigned long long)len);
		TRY(rd_bytes(r, (uint8_t *)blob + off, len));
		blob[off + len] = '\0';
		s->ptr = blob + off;
		s->len = (uint32_t)len;
		off += len + 1;
		if (d->nstrings == 0 && len != 0)
			return rd_corrupt(r, "string 0 is not \"\"");
		d->nstrings++;
	}
	return 0;
}

/* A chunk's first slot and object count, checked against the chunks
 * before it; the address shift when it has objects. */
static int
dec_chunk_head(struct rd *r, uint64_t *n, uint64_t *shift)
{
	uint64_t first;

	TRY(rd_varint(r, &first));
	if (first != r->nslots)
		return rd_corrupt(r, "chunk starts at slot %llu, not %llu",
				  (unsigned long long)first,
				  (unsigned long long)r->nslots);
	/* Five columns, at least one byte each per object. */
	TRY(rd_count(r, n, UINT32_MAX - first, 5, "objects"));
	*shift = 0;
	if (*n) {
		TRY(rd_varint(r, shift));
		if (*shift > 63)
			return rd_corrupt(r, "address shift %llu > 63",
					  (unsigned long long)*shift);
	}
	return 0;
}

/* Stage 1: the (address, slot) of every object kept. */
static int
dec_chunk_addrs(struct rd *r, struct fmt_dump *d)
{
	uint64_t n, shift, v, a = 0, base = r->npairs;

	(void)d;
	TRY(dec_chunk_head(r, &n, &shift));
	TRY(rd_grow(r, (void **)&r->pairs, &r->cappairs, r->npairs + n,
		    sizeof *r->pairs));
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_varint(r, &v));
		a += (uint64_t)zigzag_dec(v);
		if (shift && (a >> (64 - shift)))
			return rd_corrupt(r, "address of slot %llu is past "
					  "2^64", (unsigned long long)
					  (r->nslots + i));
		r->pairs[base + i].key = a << shift;
		r->pairs[base + i].slot = (uint32_t)(r->nslots + i);
	}
	for (uint64_t i = 0; i < n; i++) {
		TRY(rd_varint(r, &v));
		if (v)   /* 0: left out by the walk */
			r->pairs[r->npairs++] = r->pairs[base + i];
	}
	r->nslots += n;
	return rd_bytes(r, NULL, r->limit - rd_pos(r));
}

/* One edge column of a chunk: slots, as deltas from the last; with
 * list (a CHUNK2's targets), move-to-front coded (format/bytes.h). */
static int
dec_slot_column(struct rd *r, uint32_t *out, uint64_t m, uint64_t first,
		int list)
{
	struct mtf mtf;
	int64_t prev = (int64_t)first;
	uint64_t v;

	mtf_init(&mtf);
	for (uint64_t e = 0; e < m; e++) {
		unsigned at = MTF_N;

		TRY(rd_varint(r, &v));
		if (list && v < MTF_N) {
			if (v >= mtf_len(&mtf))
				return rd_corrupt(r, "edge %llu of the chunk "
						  "names place %llu of a "
						  "move-to-front list of %u",
						  (unsigned long long)e,
						  (unsigned long long)v,
						  mtf_len(&mtf));
			at = (unsigned)v;
			prev = mtf_at(&mtf, at);
		} else {
			v -= list ? MTF_N : 0;
			prev = (int64_t)((uint64_t)prev +
					 (uint64_t)zigzag_dec(v));
			if (prev < 0 || (uint64_t)prev >= r->slots)
				return rd_corrupt(r, "edge %llu of the chunk "
						  "names slot %lld of %llu",
						  (unsigned long long)e,
						  (long long)prev,
						  (unsigned long long)r->slots);
		}
		out[e] = (uint32_t)prev;
		if (list)
			mtf_front(&mtf, at, (uint32_t)prev);
	}
	return 0;
}

/* Stage 2: object columns into their places; out-degrees counted.
 * Stage 3: edges into their places (edge_start walks forward). */
static int
dec_chunk_rest(struct rd *r, struct fmt_dump *d, enum fmt_read_what what)
{
	uint64_t n, shift, v, m, first = r->nslots;

	TRY(dec_chunk_head(r, &n, &shift));
	for (uint64_t i = 0; i < n; i++)
		TRY(rd_varint(r, &v));
	for (uint64_t i = 0; i < n; i++) {
		uint32_t at = r->rank[first + i];

		TRY(rd_varint(r, &v));
		if ((v == 0) != (at == FMT_SLOT_SKIPPED))
			return rd_corrupt(r, "slot %llu changed between "
					  "passes", (unsigned long long)
					  (first + i));
		if (r->stage != 2 || !v)
			continue;
		if ((v >> 3) - 1 > UINT32_MAX)
			return rd_corrupt(r, "type index of slot %llu does not "
					  "fit in 32 bits",
					  (unsigned long long)(first + i));
		d->obj_type[at] = (uint32_t)((v >> 3) - 1);
		if (d->obj_flags)
			d->obj_flags[at] = (uint8_t)(v & 7);
	}
	for (int col = 0; col < 3; col++) {
		for (uint64_t i = 0; i < n; i++) {
			uint32_t at = r->rank[first + i];

			TRY(rd_varint(r, &v));
			if (r->stage != 2 || at == FMT_SLOT_SKIPPED)
				continue;
			if (col == 2 && v > UINT32_MAX)
				return rd_corrupt(r, "label %llu does not fit "
						  "in 32 bits",
						  (unsigned long long)v);
			if (r->match)
				continue;
			if (col == 0)
				d->obj_size[at] = v;
			else if (col == 1)
				d->obj_refcnt[at] = v > UINT32_MAX ?
						    UINT32_MAX : (uint32_t)v;
			else
				d->obj_label[at] = (uint32_t)v;
		}
	}
	r->nslots += n;
	if (objects_only(what))
		return rd_bytes(r, NULL, r->limit - rd_pos(r));
	/* Two slot columns and a name, at least a byte each per edge. */
	TRY(rd_count(r, &m, UINT32_MAX, 3, "edges"));
	TRY(rd_grow(r, (void **)&r->esrc, &r->capsrc, m, sizeof *r->esrc));
	TRY(rd_grow(r, (void **)&r->edst, &r->capdst, m, sizeof *r->edst));
	TRY(dec_slot_column(r, r->esrc, m, first, 0));
	TRY(dec_slot_column(r, r->edst, m, first,
			    r->sec_id == FMT_SEC_CHUNK2));
	for (uint64_t e = 0; e < m; e++) {
		uint32_t s = r->rank[r->esrc[e]], t = r->rank[r->edst[e]];
		uint32_t name = 0;

		TRY(rd_u32(r, &name, "edge name"));
		if (s == FMT_SLOT_SKIPPED || t == FMT_SLOT_SKIPPED)
			continue;   /* the walk left an end out */
		if (r->stage == 2) {
			if (r->kept == UINT32_MAX)
				return rd_corrupt(r, "more than 2^32 - 1 edges");
			r->kept++;
			d->edge_start[s + 1]++;
		} else {
			uint32_t at = d->edge_start[s]++;

			d->edge_dst[at] = t;
			d->edge_name[at] = name;
		}
	}
	return 0;
}

/* A known section's decoder must consume its payload exactly. */
static int
rd_payload_done(struct rd *r)
{
	if (rd_pos(r) != r->limit)
		return rd_corrupt(r, "%llu unread bytes at the end of the "
				  "payload",
				  (unsigned long long)(r->limit - rd_pos(r)));
	return 0;
}
/* A section of a stream dump, at r->stage. */
static int
dec_stream_payload(struct rd *r, struct fmt_dump *d, enum fmt_read_what what)
{
	static int (*const dec[])(struct rd *, struct fmt_dump *) = {
		[FMT_SEC_META] = dec_meta,       [FMT_SEC_TYPES] = dec_types,
		[FMT_SEC_SUMMARY] = dec_summary, [FMT_SEC_ROOTS] = dec_roots,
		[FMT_SEC_STRDATA] = dec_strdata,
	};
	uint32_t id = r->sec_id;
	int is_chunk = id == FMT_SEC_CHUNK || id == FMT_SEC_CHUNK2;
	int rc;

	if (id == FMT_SEC_OBJECTS || id == FMT_SEC_EDGES)
		return rd_corrupt(r, "a stream dump has CHUNK sections, not "
				  "this one");
	if (id == FMT_SEC_END || id > FMT_SEC_CHUNK2 ||
	    (r->stage > 1 && !is_chunk))
		return rd_bytes(r, NULL, r->limit - rd_pos(r));
	if (is_chunk) {
		r->chunk_id = id;
		if (r->stage == 1 && what == FMT_READ_SUMMARY)
			rc = rd_bytes(r, NULL, r->limit - rd_pos(r));
		else if (r->stage == 1)
			rc = dec_chunk_addrs(r, d);
		else
			rc = dec_chunk_rest(r, d, what);
	} else if (id == FMT_SEC_STRTAB) {
		rc = dec_more_strings(r, d);
	} else {
		if (r->seen & SEEN(id))
			return rd_corrupt(r, "section appears twice");
		if ((id == FMT_SEC_ROOTS || id == FMT_SEC_STRDATA) &&
		    what != FMT_READ_ALL) {
			r->seen |= SEEN(id);
			return rd_bytes(r, NULL, r->limit - rd_pos(r));
		}
		rc = dec[id](r, d);
	}
	if (rc)
		return rc;
	if (!is_chunk || r->stage == 1)
		r->seen |= SEEN(id);
	r->sec_off[id] = rd_pos(r);
	return rd_payload_done(r);
}

/* After stage 1: objects in address order, and each slot's index. */
static int
stream_order(struct rd *r, struct fmt_dump *d)
{
	struct fmt_pair *tmp;
	size_t *count;
	uint64_t n = r->npairs;

	r->slots = r->nslots;
	ALLOC(tmp, n);
	ALLOC(count, FMT_RADIX_COUNTS);
	fmt_radix_sort(r->pairs, tmp, (size_t)n, count);
	rd_release(r, count);
	rd_release(r, tmp);
	for (uint64_t i = 1; i < n; i++)
		if (r->pairs[i].key == r->pairs[i - 1].key)
			return ref_corrupt(r, r->chunk_id, "slots %u and %u "
					   "are at one address",
					   r->pairs[i - 1].slot,
					   r->pairs[i].slot);
	ALLOC(d->obj_addr, n);
	ALLOC(r->rank, r->slots + 1);
	for (uint64_t i = 0; i < r->slots; i++)
		r->rank[i] = FMT_SLOT_SKIPPED;
	for (uint64_t i = 0; i < n; i++) {
		d->obj_addr[i] = r->pairs[i].key;
		r->rank[r->pairs[i].slot] = (uint32_t)i;
	}
	rd_release(r, r->pairs);
	r->pairs = NULL;
	d->nobjects = n;
	r->edges_nobj = n;
	ALLOC(d->obj_type, n);
	if (r->match)
		return 0;
	ALLOC(d->obj_size, n);
	ALLOC(d->obj_refcnt, n);
	ALLOC(d->obj_label, n);
	ALLOC(d->obj_flags, n);
	return 0;
}

/* After stage 2: out-degrees to edge_start, room for the edges. */
static int
stream_edge_room(struct rd *r, struct fmt_dump *d)
{
	uint64_t n = d->nobjects;

	for (uint64_t i = 0; i < n; i++)
		d->edge_start[i + 1] += d->edge_start[i];
	ALLOC(d->edge_dst, r->kept);
	ALLOC(d->edge_name, r->kept);
	return 0;
}

/* After stage 3: edge_start restored (stage 3 moved each entry to the next
 * row's start), repeats merged as walk_finish merges them. */
static int
stream_edges_done(struct rd *r, struct fmt_dump *d, enum fmt_read_what what)
{
	uint64_t n = d->nobjects;
	struct fmt_edgekey *key;
	uint8_t *drop;
	size_t maxg;

	for (uint64_t i = n; i > 0; i--)
		d->edge_start[i] = d->edge_start[i - 1];
	d->edge_start[0] = 0;
	maxg = fmt_edges_max_row(d->edge_start, n);
	ALLOC(key, maxg + 1);
	ALLOC(drop, maxg + 1);
	d->nedges = fmt_edges_dedup(d->edge_start, d->edge_dst, d->edge_name,
				    n, key, drop);
	rd_release(r, key);
	rd_release(r, drop);
	/* Repeats merged: their room goes back before an analysis runs. */
	rd_shrink(r, (void **)&d->edge_dst, d->nedges, sizeof *d->edge_dst);
	rd_shrink(r, (void **)&d->edge_name, d->nedges, sizeof *d->edge_name);
	if (what == FMT_READ_DEGREES) {
		rd_release(r, d->edge_dst);
		rd_release(r, d->edge_name);
		d->edge_dst = d->edge_name = NULL;
	}
	return 0;
}

/* Roots and string contents name slots in a stream: to indices; those of
 * objects left out go. */
static int
stream_remap_refs(struct rd *r, struct fmt_dump *d)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < d->nroots; i++) {
		uint32_t at = d->roots[i].obj < r->slots ?
			      r->rank[d->roots[i].obj] : 0;

		if (d->roots[i].obj >= r->slots)
			return ref_corrupt(r, FMT_SEC_ROOTS, "root %u names "
					   "slot %u of %llu", i,
					   d->roots[i].obj,
					   (unsigned long long)r->slots);
		if (at == FMT_SLOT_SKIPPED)
			continue;
		d->roots[k] = d->roots[i];
		d->roots[k++].obj = at;
	}
	d->nroots = k;
	k = 0;
	for (uint32_t i = 0; i < d->nstrdata; i++) {
		uint32_t slot = d->strdata[i].obj;

		if (slot >= r->slots)
			return ref_corrupt(r, FMT_SEC_STRDATA, "entry %u names "
					   "slot %u of %llu", i, slot,
					   (unsigned long long)r->slots);
		if (r->rank[slot] == FMT_SLOT_SKIPPED)
			continue;
		d->strdata[k] = d->strdata[i];
		d->strdata[k++].obj = r->rank[slot];
	}
	d->nstrdata = k;
	return 0;
}

/* Back to the start of the body for the next stage. */
static int
rd_rewind(struct rd *r)
{
	if (inflateReset(&r->zs) != Z_OK)
		return MUPPY_ENOMEM;
	r->prog->base += r->body_len;
	r->zs.avail_in = 0;
	r->infed = 0;
	r->base = 0;
	r->p = r->end = r->buf;
	r->nslots = 0;
	return 0;
}

static int dec_sections(struct rd *r, struct fmt_dump *d,
			enum fmt_read_what what);

/* The stages of a stream dump (design note 5). */
static int
decode_stream(struct rd *r, struct fmt_dump *d, enum fmt_read_what what)
{
	r->stage = 1;
	TRY(dec_sections(r, d, what));
	if (d->nstrings == 0)
		return rd_corrupt(r, "section 2 (STRTAB) missing");
	if (what == FMT_READ_SUMMARY)
		return 0;
	TRY(stream_order(r, d));
	if (!objects_only(what))
		ALLOC(d->edge_start, d->nobjects + 1);
	if (d->edge_start)
		memset(d->edge_start, 0, (d->nobjects + 1) * sizeof
		       *d->edge_start);
	r->stage = 2;
	TRY(rd_rewind(r));
	TRY(dec_sections(r, d, what));
	if (!objects_only(what)) {
		TRY(stream_edge_room(r, d));
		r->stage = 3;
		TRY(rd_rewind(r));
		TRY(dec_sections(r, d, what));
		TRY(stream_edges_done(r, d, what));
	}
	TRY(stream_remap_refs(r, d));
	rd_release(r, r->rank);
	rd_release(r, r->esrc);
	rd_release(r, r->edst);
	r->rank = r->esrc = r->edst = NULL;
	return 0;
}

/* ---- cross-section checks (design note 3) --------------------------- */

static int
check_table_refs(struct rd *r, const struct fmt_dump *d)
{
	uint32_t ns = d->nstrings;

	for (uint32_t i = 0; i < d->nmeta; i++)
		if (d->meta[i].key >= ns || d->meta[i].value >= ns)
			return ref_corrupt(r, FMT_SEC_META, "entry %u names a "
					   "string past %u", i, ns);
	for (uint32_t i = 0; i < d->ntypes; i++)
		if (d->types[i].name >= ns)
			return ref_corrupt(r, FMT_SEC_TYPES, "type %u names "
					   "string %u of %u", i,
					   d->types[i].name, ns);
	for (uint32_t i = 0; i < d->nsummary; i++)
		if (d->summary[i].name >= ns)
			return ref_corrupt(r, FMT_SEC_SUMMARY, "row %u names "
					   "string %u of %u", i,
					   d->summary[i].name, ns);
	return 0;
}

static int
check_graph_refs(struct rd *r, const struct fmt_dump *d,
		 enum fmt_read_what what)
{
	uint64_t n = d->nobjects;

	if ((what == FMT_READ_ALL || what == FMT_READ_DEGREES) &&
	    r->edges_nobj != n)
		return ref_corrupt(r, FMT_SEC_EDGES, "covers %llu objects, "
				   "OBJECTS has %llu",
				   (unsigned long long)r->edges_nobj,
				   (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		if (d->obj_type[i] >= d->ntypes)
			return ref_corrupt(r, FMT_SEC_OBJECTS, "object %llu has "
					   "type %u of %u",
					   (unsigned long long)i,
					   d->obj_type[i], d->ntypes);
		if (d->obj_label && d->obj_label[i] >= d->nstrings)
			return ref_corrupt(r, FMT_SEC_OBJECTS, "object %llu "
					   "label names string %u of %u",
					   (unsigned long long)i,
					   d->obj_label[i], d->nstrings);
	}
	for (uint64_t e = 0; d->edge_name && e < d->nedges; e++)
		if (!fmt_edge_name_ok(d, d->edge_name[e]))
			return ref_corrupt(r, FMT_SEC_EDGES, "edge %llu name "
					   "0x%x names a string past %u",
					   (unsigned long long)e,
					   d->edge_name[e], d->nstrings);
	for (uint32_t i = 0; i < d->nroots; i++)
		if (d->roots[i].obj >= n || d->roots[i].name >= d->nstrings)
			return ref_corrupt(r, FMT_SEC_ROOTS, "root %u: object "
					   "%u or name %u out of range", i,
					   d->roots[i].obj, d->roots[i].name);
	for (uint32_t i = 0; i < d->nstrdata; i++)
		if (d->strdata[i].obj >= n ||
		    d->strdata[i].str >= d->nstrings)
			return ref_corrupt(r, FMT_SEC_STRDATA, "entry %u: "
					   "object %u or string %u out of "
					   "range", i, d->strdata[i].obj,
					   d->strdata[i].str);
	return 0;
}

/* Which sections the header flags promise, against those found. */
static int
check_presence(struct rd *r, const struct fmt_dump *d)
{
	const uint32_t mask = SEEN_TABLES | SEEN_GRAPH | SEEN(FMT_SEC_STRDATA);
	uint32_t want = SEEN_TABLES, missing;

	if (d->flags & FMT_FLAG_STREAM)
		want |= SEEN(FMT_SEC_ROOTS);
	else if (d->flags & FMT_FLAG_GRAPH)
		want |= SEEN_GRAPH;
	if (d->flags & FMT_FLAG_STRINGS)
		want |= SEEN(FMT_SEC_STRDATA);
	r->in_section = 0;
	missing = want & ~r->seen;
	for (uint32_t id = 1; id <= FMT_SEC_STRDATA; id++) {
		if (missing & SEEN(id))
			return rd_corrupt(r, "section %u (%s) missing", id,
					  section_name(id));
		if ((mask & ~want & r->seen) & SEEN(id))
			return rd_corrupt(r, "section %u (%s) present but the "
					  "header flags 0x%x do not announce "
					  "it", id, section_name(id),
					  d->flags);
	}
	return 0;
}

/* ---- pass 2: sections ----------------------------------------------- */

static int
is_graph_section(uint32_t id)
{
	return id == FMT_SEC_OBJECTS || id == FMT_SEC_EDGES ||
	       id == FMT_SEC_ROOTS || id == FMT_SEC_STRDATA;
}

/* Decodes (or skips) the payload of the current section. */
static int
dec_payload(struct rd *r, struct fmt_dump *d, enum fmt_read_what what)
{
	static int (*const dec[])(struct rd *, struct fmt_dump *) = {
		[FMT_SEC_META] = dec_meta,       [FMT_SEC_STRTAB] = dec_strtab,
		[FMT_SEC_TYPES] = dec_types,     [FMT_SEC_SUMMARY] = dec_summary,
		[FMT_SEC_OBJECTS] = dec_objects, [FMT_SEC_EDGES] = dec_edges,
		[FMT_SEC_ROOTS] = dec_roots,     [FMT_SEC_STRDATA] = dec_strdata,
	};
	uint32_t id = r->sec_id;

	if (d->flags & FMT_FLAG_STREAM)
		return dec_stream_payload(r, d, what);
	if (id == FMT_SEC_END || id > FMT_SEC_STRDATA)  /* unknown: skip */
		return rd_bytes(r, NULL, r->limit - rd_pos(r));
	if (r->seen & SEEN(id))
		return rd_corrupt(r, "section appears twice");
	r->seen |= SEEN(id);
	r->sec_off[id] = rd_pos(r) - 12;
	if (what == FMT_READ_DEGREES && id == FMT_SEC_EDGES)
		return dec_edge_degrees(r, d);
	if (is_graph_section(id) &&   /* not wanted: verified in pass 1 */
	    (what == FMT_READ_SUMMARY ||
	     ((objects_only(what) || what == FMT_READ_DEGREES) &&
	      id != FMT_SEC_OBJECTS)))
		return rd_bytes(r, NULL, r->limit - rd_pos(r));
	TRY(dec[id](r, d));
	return rd_payload_done(r);
}

/* Reads section headers until END.  For FMT_READ_SUMMARY the graph
 * payloads are skipped, not decoded, but their framing is still walked:
 * a dump is accepted whole or not at all (DESIGN NOTES 5 in dump.h). */
static int
dec_sections(struct rd *r, struct fmt_dump *d, enum fmt_read_what what)
{
	for (;;) {
		uint8_t h[12];
		uint64_t len;

		r->in_section = 0;
		r->limit = r->body_len;
		if (rd_pos(r) == r->body_len)
			return rd_corrupt(r, "END section missing");
		if (!rd_left(r, sizeof h))
			return rd_corrupt(r, "section header cut short");
		TRY(rd_bytes(r, h, sizeof h));
		r->sec_id = get_u32(h);
		len = get_u64(h + 4);
		if (len > r->body_len - rd_pos(r))
			return rd_corrupt(r, "section %u length %llu is past "
					  "the end of the body (%llu bytes "
					  "left)", r->sec_id,
					  (unsigned long long)len,
					  (unsigned long long)(r->body_len -
							       rd_pos(r)));
		r->in_section = 1;
		r->limit = rd_pos(r) + len;
		if (r->sec_id == FMT_SEC_END) {
			if (len != 0)
				return rd_corrupt(r, "END section has length "
						  "%llu, not 0",
						  (unsigned long long)len);
			if (rd_pos(r) != r->body_len)
				return rd_corrupt(r, "%llu bytes after the END "
						  "section",
						  (unsigned long long)
						  (r->body_len - rd_pos(r)));
			return 0;
		}
		TRY(dec_payload(r, d, what));
	}
}

static int
decode_body(struct rd *r, struct fmt_dump *d, enum fmt_read_what what)
{
	int rc;

	r->p = r->end = r->buf;  /* r->buf: pass 1's scratch, reused */
	if (inflateInit(&r->zs) != Z_OK)
		return MUPPY_ENOMEM;
	r->zinit = 1;
	rc = d->flags & FMT_FLAG_STREAM ? decode_stream(r, d, what) :
	     dec_sections(r, d, what);
	if (!rc)
		rc = check_presence(r, d);
	if (!rc)
		rc = check_table_refs(r, d);
	if (!rc && what != FMT_READ_SUMMARY && (d->flags & FMT_FLAG_GRAPH))
		rc = check_graph_refs(r, d, what);
	return rc;
}

/* ---- pass 1: framing and checksums ---------------------------------- */

/* Inflates the body of buf (header and trailer already located) into
 * scratch, checking stream end, length and CRC against the trailer. */
static int
verify_body(struct rd_in *in, const uint8_t *t, uint8_t *scratch,
	    struct prog *g, uint64_t *body_len, char *err, size_t errlen)
{
	size_t inlen = in->len, fed = 0;
	uint64_t want = get_u64(t), got = 0;
	uint32_t want_crc = get_u32(t + 8), crc = (uint32_t)crc32(0, NULL, 0);
	z_stream zs;
	int rc;

	if (want > FMT_MAX_SMALL_BODY && want / FMT_MAX_RATIO > inlen) {
		set_err(err, errlen, "corrupt: the trailer says the body "
			"inflates to %llu bytes, over %u times its %llu "
			"compressed bytes (no dump compresses that well)",
			(unsigned long long)want, FMT_MAX_RATIO,
			(unsigned long long)inlen);
		return MUPPY_ECORRUPT;
	}
	memset(&zs, 0, sizeof zs);
	if (inflateInit(&zs) != Z_OK)
		return MUPPY_ENOMEM;
	for (;;) {
		size_t produced;
		if (in_feed(in, &zs, &fed, err, errlen)) {
			inflateEnd(&zs);
			return MUPPY_EIO;
		}
		zs.next_out = scratch;
		zs.avail_out = RD_BUF;
		rc = inflate(&zs, Z_NO_FLUSH);
		produced = RD_BUF - zs.avail_out;
		crc = (uint32_t)crc32(crc, scratch, (uInt)produced);
		got += produced;
		if (got > want)  /* also stops a zlib bomb early */
			break;
		prog_tick(g, got);
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_OK)
			continue;
		if (rc == Z_BUF_ERROR && zs.avail_in == 0 && fed == inlen) {
			set_err(err, errlen, "truncated: zlib stream ends "
				"early (at file offset %llu, before the "
				"trailer)", (unsigned long long)
				(FMT_HEADER_SIZE + zs.total_in));
			goto fail;
		}
		set_err(err, errlen, "corrupt: zlib stream at file offset "
			"%llu: %s", (unsigned long long)
			(FMT_HEADER_SIZE + zs.total_in),
			zs.msg ? zs.msg : "inflate failed");
		goto fail;
	}
	if (got != want) {
		set_err(err, errlen, "corrupt: body is %s%llu bytes, the "
			"trailer says %llu", got > want ? "over " : "",
			(unsigned long long)got, (unsigned long long)want);
		goto fail;
	}
	if (zs.total_in != inlen) {
		set_err(err, errlen, "corrupt: %llu bytes between the end of "
			"the zlib stream (file offset %llu) and the trailer",
			(unsigned long long)(inlen - zs.total_in),
			(unsigned long long)(FMT_HEADER_SIZE + zs.total_in));
		goto fail;
	}
	if (crc != want_crc) {
		set_err(err, errlen, "corrupt: body CRC mismatch (stored "
			"0x%08x, computed 0x%08x)", want_crc, crc);
		goto fail;
	}
	inflateEnd(&zs);
	*body_len = got;
	g->base += got;
	return 0;
fail:
	inflateEnd(&zs);
	return MUPPY_ECORRUPT;
}

/* A trailing "MEND" that is not at the end: bytes were appended. */
static size_t
find_trailer_magic(const uint8_t *buf, size_t len)
{
	for (size_t i = len - 4; i-- > FMT_HEADER_SIZE + FMT_TRAILER_SIZE - 4;)
		if (memcmp(buf + i, FMT_TRAILER_MAGIC, 4) == 0)
			return i;
	return 0;
}

/* Header: magic, version (before the CRC: a newer major may lay out the
 * rest differently), CRC; then the trailer's presence.  buf may also be
 * the header followed by the trailer alone (fmt_read_file_with). */
static int
check_frame(const uint8_t *buf, size_t len, struct fmt_dump *d, char *err,
	    size_t errlen)
{
	size_t m = len < 8 ? len : 8, at;
	uint32_t crc;

	if (memcmp(buf, FMT_MAGIC, m) != 0) {
		set_err(err, errlen, "not a muppy dump (bad magic)");
		return MUPPY_ECORRUPT;
	}
	if (len < FMT_HEADER_SIZE) {
		set_err(err, errlen, "truncated: file is %zu bytes, shorter "
			"than the %d-byte header", len, FMT_HEADER_SIZE);
		return MUPPY_ECORRUPT;
	}
	d->major = get_u16(buf + 8);
	d->minor = get_u16(buf + 10);
	d->flags = get_u32(buf + 12);
	if (d->major != MUPPY_FORMAT_MAJOR) {
		set_err(err, errlen, "dump version %u.%u is %s than this "
			"reader (%d.%d)", d->major, d->minor,
			d->major > MUPPY_FORMAT_MAJOR ? "newer" : "older",
			MUPPY_FORMAT_MAJOR, MUPPY_FORMAT_MINOR);
		return MUPPY_EVERSION;
	}
	crc = (uint32_t)crc32(0, buf, 16);
	if (crc != get_u32(buf + 16)) {
		set_err(err, errlen, "corrupt: header CRC mismatch (stored "
			"0x%08x, computed 0x%08x)", get_u32(buf + 16), crc);
		return MUPPY_ECORRUPT;
	}
	if ((d->flags & FMT_FLAG_STRINGS) && !(d->flags & FMT_FLAG_GRAPH)) {
		set_err(err, errlen, "corrupt: header flags 0x%x: STRINGS "
			"without GRAPH", d->flags);
		return MUPPY_ECORRUPT;
	}
	if (len >= FMT_HEADER_SIZE + FMT_TRAILER_SIZE &&
	    memcmp(buf + len - 4, FMT_TRAILER_MAGIC, 4) == 0)
		return 0;
	at = len >= FMT_HEADER_SIZE + FMT_TRAILER_SIZE ?
	     find_trailer_magic(buf, len) : 0;
	if (at)
		set_err(err, errlen, "corrupt: %zu bytes of trailing garbage "
			"after the trailer at file offset %zu", len - at - 4,
			at - FMT_TRAILER_SIZE + 4);
	else
		set_err(err, errlen, "truncated: trailer missing (file is %zu "
			"bytes)", len);
	return MUPPY_ECORRUPT;
}

/* ---- public entry points -------------------------------------------- */

/* Decoding passes after pass 1 (design notes 5, 6). */
static unsigned
decode_passes(uint32_t flags, enum fmt_read_what what)
{
	if (!(flags & FMT_FLAG_STREAM) || what == FMT_READ_SUMMARY)
		return 1;
	return objects_only(what) ? 2 : 3;
}

/* A check_frame failure: d emptied, its version kept for MUPPY_EVERSION
 * (callers may want to show it). */
static int
frame_failed(struct fmt_dump *d, int rc)
{
	uint16_t major = d->major, minor = d->minor;

	memset(d, 0, sizeof *d);
	if (rc == MUPPY_EVERSION) {
		d->major = major;
		d->minor = minor;
	}
	return rc;
}

/* Both passes over the body of in, whose header check_frame has read
 * into d and whose trailer is t. */
static int
read_body(struct rd_in *in, const uint8_t *t, enum fmt_read_what what,
	  const struct fmt_progress *progress, struct fmt_dump *d,
	  char *err, size_t errlen)
{
	struct prog g = { progress, 0, 0 };
	struct rd r;
	int rc;

	memset(&r, 0, sizeof r);
	d->owned = r.own = calloc(1, sizeof *r.own);
	r.buf = malloc(RD_BUF);
	if (!r.own || !r.buf) {
		rc = MUPPY_ENOMEM;
		goto fail;
	}
	g.total = get_u64(t) * (1 + decode_passes(d->flags, what));
	rc = verify_body(in, t, r.buf, &g, &r.body_len, err, errlen);
	if (rc)
		goto fail;
	r.in = in;
	r.err = err;
	r.errlen = errlen;
	r.prog = &g;
	if (what != FMT_READ_ALL && what != FMT_READ_SUMMARY &&
	    what != FMT_READ_OBJECTS && what != FMT_READ_DEGREES &&
	    what != FMT_READ_MATCH) {
		rc = MUPPY_EINVAL;
		goto fail;
	}
	r.match = what == FMT_READ_MATCH;
	rc = decode_body(&r, d, what);
	if (rc)
		goto fail;
	if (what == FMT_READ_SUMMARY) {
		/* Skipped graph sections leave these zero; make it so even
		 * if a section was decoded anyway (never, today). */
		d->nobjects = d->nedges = 0;
		d->nroots = d->nstrdata = 0;
	}
	inflateEnd(&r.zs);
	free(r.buf);
	prog_tick(&g, g.total);
	return 0;
fail:
	if (rc == MUPPY_ENOMEM && err && errlen && !err[0])
		set_err(err, errlen, "out of memory");
	if (r.zinit)
		inflateEnd(&r.zs);
	free(r.buf);
	{
		uint16_t major = d->major, minor = d->minor;
		fmt_dump_free(d);
		if (rc == MUPPY_EVERSION) {  /* callers may want to show it */
			d->major = major;
			d->minor = minor;
		}
	}
	return rc;
}

int
fmt_read_mem_with(const void *buf, size_t len, enum fmt_read_what what,
		  const struct fmt_progress *progress, struct fmt_dump *d,
		  char *err, size_t errlen)
{
	struct rd_in in = { 0 };
	int rc;

	memset(d, 0, sizeof *d);
	if (err && errlen)
		err[0] = '\0';
	if (!buf && len)
		return MUPPY_EINVAL;
	rc = check_frame(buf ? buf : "", len, d, err, errlen);
	if (rc)
		return frame_failed(d, rc);
	in.mem = (const uint8_t *)buf + FMT_HEADER_SIZE;
	in.len = len - FMT_HEADER_SIZE - FMT_TRAILER_SIZE;
	return read_body(&in, (const uint8_t *)buf + len - FMT_TRAILER_SIZE,
			 what, progress, d, err, errlen);
}

int
fmt_read_mem(const void *buf, size_t len, enum fmt_read_what what,
	     struct fmt_dump *d, char *err, size_t errlen)
{
	return fmt_read_mem_with(buf, len, what, NULL, d, err, errlen);
}

/* Reads the whole of fd into a malloc'd buffer.  read(2) rather than
 * mmap: a file truncated under us must be an error, not a SIGBUS. */
static int
slurp(int fd, uint8_t **out, size_t *outlen)
{
	struct stat st;
	size_t cap, len = 0;
	uint8_t *b = NULL;

	if (fstat(fd, &st) != 0)
		return -1;
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1
						     : 65536;
	for (;;) {
		ssize_t n;
		if (len == cap || !b) {
			uint8_t *nb;
			if (b)
				cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				errno = ENOMEM;
				return -1;
			}
			b = nb;
		}
		n = read(fd, b + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(b);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = b;
	*outlen = len;
	return 0;
}

/*
 * A regular file whose frame looks whole is read block by block (design
 * note 7): 1 when *d holds the result in *rc, 0 when the caller must read
 * it whole (not a regular file, too short, no trailer at the end: the
 * whole-buffer path words those errors).
 */
static int
read_fd_blocks(int fd, enum fmt_read_what what,
	       const struct fmt_progress *progress, struct fmt_dump *d,
	       char *err, size_t errlen, int *rc)
{
	uint8_t frame[FMT_HEADER_SIZE + FMT_TRAILER_SIZE];
	struct rd_in in = { 0 };
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	size = (uint64_t)st.st_size;
	if (size < sizeof frame || size - sizeof frame > SIZE_MAX ||
	    pread_full(fd, frame, FMT_HEADER_SIZE, 0) != 0 ||
	    pread_full(fd, frame + FMT_HEADER_SIZE, FMT_TRAILER_SIZE,
		       size - FMT_TRAILER_SIZE) != 0 ||
	    memcmp(frame + sizeof frame - 4, FMT_TRAILER_MAGIC, 4) != 0)
		return 0;
	*rc = check_frame(frame, sizeof frame, d, err, errlen);
	if (*rc) {
		*rc = frame_failed(d, *rc);
		return 1;
	}
	in.fd = fd;
	in.off = FMT_HEADER_SIZE;
	in.len = (size_t)(size - sizeof frame);
	in.blk = malloc(RD_IN);
	if (!in.blk) {
		set_err(err, errlen, "out of memory");
		*rc = frame_failed(d, MUPPY_ENOMEM);
		return 1;
	}
	*rc = read_body(&in, frame + FMT_HEADER_SIZE, what, progress, d, err,
			errlen);
	free(in.blk);
	return 1;
}

int
fmt_read_file(const char *path, enum fmt_read_what what, struct fmt_dump *d,
	      char *err, size_t errlen)
{
	return fmt_read_file_with(path, what, NULL, d, err, errlen);
}

int
fmt_read_file_with(const char *path, enum fmt_read_what what,
		   const struct fmt_progress *progress, struct fmt_dump *d,
		   char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc, e;

	memset(d, 0, sizeof *d);
	if (err && errlen)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		set_err(err, errlen, "cannot open: %s", strerror(e));
		errno = e;
		return MUPPY_EIO;
	}
	if (read_fd_blocks(fd, what, progress, d, err, errlen, &rc)) {
		e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	rc = slurp(fd, &buf, &len);
	e = errno;
	close(fd);
	if (rc != 0) {
		set_err(err, errlen, "cannot read: %s", strerror(e));
		errno = e;
		return e == ENOMEM ? MUPPY_ENOMEM : MUPPY_EIO;
	}
	rc = fmt_read_mem_with(buf, len, what, progress, d, err, errlen);
	free(buf);
	return rc;
}

int
fmt_dump_release(struct fmt_dump *d, const void *array)
{
	struct owned *o = d->owned;

	for (size_t i = 0; array && o && i < o->n; i++)
		if (o->p[i] == array) {
			free(o->p[i]);
			o->p[i] = o->p[--o->n];
			return 0;
		}
	return -1;
}

void
fmt_dump_free(struct fmt_dump *d)
{
	struct owned *o;

	if (!d)
		return;
	o = d->owned;
	if (o) {
		for (size_t i = 0; i < o->n; i++)
			free(o->p[i]);
		free(o->p);
		free(o);
	}
	memset(d, 0, sizeof *d);
}
