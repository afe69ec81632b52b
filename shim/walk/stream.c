/*
 * stream.c - the stream encoder of a streamed walk: objects and edges are
 * gathered into a chunk of bounded size (struct walk_out) and sent to
 * fmt_stream_chunk when it fills, the strings made since first, with each
 * referrer's repeated edges merged away before they are encoded.
 *
 * With a helper thread (walk_opts.helper) the encoding, compression and
 * writing of a chunk happen there while the walk fills the next one:
 * three chunks in turn (struct walk_pipe), handed over through a futex
 * word each, so the walk waits only when the encoder is two chunks
 * behind.
 * Compression is most of the helper's work (zlib level 1 on a streamed
 * body of about 18 bytes an object: 80 ms a dump at 1M objects on 3.11,
 * perf); so when the walk fills a chunk while the helper is still on the
 * one before, it dedups and encodes the chunk itself (fmt_rawchunk_encode)
 * instead of waiting, and if the helper is still busy then, compresses
 * it too (fmt_rawchunk_deflate: a piece of the one deflate stream made
 * apart, format/write.c note 5); the helper then only writes it.  The
 * work splits itself between the two threads, whichever is behind.
 * The walk and the helper share nothing else while it runs: the chunk
 * carries its own copy of the new strings (the walk's table may move),
 * the edges merged away are counted apart and added in at the end.
 *
 * The futex words are waited on with the raw system call, not pthread
 * primitives: in a snapshot child the helper is a bare clone() thread
 * that shares the walk's thread block (helper.c), where a pthread mutex
 * or condition variable would see one thread, not two.
 */
#include "shim/walk/walker.h"

#include <limits.h>        /* INT_MAX */
#include <linux/futex.h>   /* FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE */
#include <stdatomic.h>     /* atomic_load, atomic_store */
#include <string.h>        /* memcpy, memset */
#include <sys/mman.h>      /* mincore */
#include <sys/syscall.h>   /* SYS_futex */
#include <unistd.h>        /* syscall */

/* Pages read ahead between two looks at the chunk queue: about a
 * millisecond where a first read costs microseconds (walk.c note 10). */
#define WARM_BLOCK 256

static void
pipe_wait(_Atomic uint32_t *word, uint32_t while_is)
{
	while (atomic_load(word) == while_is)
		(void)syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, while_is,
			      NULL, NULL, 0);   /* EINTR, EAGAIN: look again */
}

static void
pipe_set(_Atomic uint32_t *word, uint32_t v)
{
	atomic_store(word, v);
	(void)syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL,
		      0);
}

/*
 * Drops the chunk's repeated edges the reader would drop (format/order.h),
 * within each run of edges of one referrer: an object's edges are
 * recorded together, so this catches nearly all of them (a fifth of the
 * edges of a mypy run), which the dump then neither stores nor
 * compresses.  What the reader's merge of the whole stream gives is
 * unchanged: it keeps the first of equals, in order, as this does.
 * Returns how many it dropped.
 */
static uint32_t
out_dedup(struct walk_out *o, struct walk_dedup *d)
{
	uint32_t rows = 0, kept, dropped;

	for (uint32_t e = 0; e < o->nedges; e++) {
		if (e && o->src[e] == o->src[e - 1])
			continue;
		d->row_src[rows] = o->src[e];
		d->row_start[rows++] = e;
	}
	d->row_start[rows] = o->nedges;
	kept = (uint32_t)fmt_edges_dedup(d->row_start, o->dst, o->name, rows,
					 d->key, d->drop);
	for (uint32_t r = 0; r < rows; r++)
		for (uint32_t e = d->row_start[r]; e < d->row_start[r + 1]; e++)
			o->src[e] = d->row_src[r];
	dropped = o->nedges - kept;
	o->nedges = kept;
	return dropped;
}

/* Chunk o as fmt_stream_chunk takes it. */
static struct fmt_chunk
out_chunk(const struct walk_out *o)
{
	struct fmt_chunk c = {
		.first = o->first, .nobjects = o->n, .addr = o->addr,
		.type = o->type, .size = o->size, .refcnt = o->refcnt,
		.label = o->label, .flags = o->flags, .nedges = o->nedges,
		.src = o->src, .dst = o->dst, .name = o->name,
	};
	return c;
}

/* Encodes chunk o into fs: its strings, then its objects and edges, or
 * the bytes the walk encoded ahead.  On the helper's thread, or the
 * walk's without one.  0 or MUPPY_*. */
static int
out_encode(struct fmt_stream *fs, struct walk_out *o, struct walk_dedup *d,
	   uint64_t *dropped)
{
	struct fmt_chunk c;
	int rc;

	if (o->encoded)
		return fmt_stream_rawchunk(fs, o->raw);
	*dropped += out_dedup(o, d);
	c = out_chunk(o);
	if (o->raw &&   /* the chunk's own buffer, not the stream's */
	    fmt_rawchunk_encode(o->raw, (uint32_t)o->strs_at, o->strs,
				(uint32_t)o->nstrs, &c) == 0)
		return fmt_stream_rawchunk(fs, o->raw);
	rc = fmt_stream_more_strings(fs, o->strs, (uint32_t)o->nstrs);
	if (rc == 0)
		rc = fmt_stream_chunk(fs, &c);
	return rc;
}

/* Whether the helper is still on the chunk the walk must fill next. */
static int
out_helper_behind(struct walk_pipe *p)
{
	return atomic_load(&p->state[(p->cur + 1) % WALK_PIPE_N]) ==
	       WALK_PIPE_FULL;
}

/* The walk's half of the split (top of file): dedups and encodes o while
 * the helper compresses the chunk before.  A chunk that cannot be
 * encoded here (out of memory) goes to the helper as it is. */
static void
out_encode_ahead(struct walk_pipe *p, struct walk_out *o)
{
	struct fmt_chunk c;

	p->dropped_ahead += out_dedup(o, p->dedup[0]);
	c = out_chunk(o);
	o->encoded = fmt_rawchunk_encode(o->raw, (uint32_t)o->strs_at,
					 o->strs, (uint32_t)o->nstrs,
					 &c) == 0;
	p->ahead += o->encoded;
	if (o->encoded && p->z && out_helper_behind(p))
		(void)fmt_rawchunk_deflate(o->raw, p->z);   /* else as is */
}

/*
 * Reads one byte of each resident page of the next WARM_BLOCK pages of
 * p->warm (walk.c design note 10).  mincore first: it says which pages
 * are there (a never-touched page would be mapped in for nothing), and
 * fails rather than faults where nothing is mapped.  Returns 0 once the
 * list is done.
 */
static int
out_warm_block(struct walk_pipe *p)
{
	const struct walk_warm *w = p->warm;
	unsigned char vec[WARM_BLOCK];
	volatile const char *q;
	uint64_t len;
	char sink = 0;

	while (p->warm_i < w->n && p->warm_at >= w->hi[p->warm_i])
		if (++p->warm_i < w->n)
			p->warm_at = w->lo[p->warm_i];
	if (p->warm_i >= w->n)
		return 0;
	len = w->hi[p->warm_i] - p->warm_at;
	if (len > (uint64_t)WARM_BLOCK * w->page)
		len = (uint64_t)WARM_BLOCK * w->page;
	q = (volatile const char *)(uintptr_t)p->warm_at;
	if (mincore((void *)(uintptr_t)p->warm_at, (size_t)len, vec) == 0)
		for (size_t k = 0; k < len / w->page; k++)
			if (vec[k] & 1)
				sink ^= q[k * w->page];
	(void)sink;
	p->warm_at += len;
	return 1;
}

/* The helper thread: encodes the chunks in the order they come, until
 * the walk says stop; reads ahead while there is none (note 10).  After a
 * failure it only hands chunks back. */
static void
out_helper(void *arg)
{
	struct walk_pipe *p = arg;

	for (int j = 0;; j = (j + 1) % WALK_PIPE_N) {
		uint32_t s;
		int rc;

		while (p->warm && atomic_load(&p->state[j]) == WALK_PIPE_FREE &&
		       out_warm_block(p))
			;
		pipe_wait(&p->state[j], WALK_PIPE_FREE);
		s = atomic_load(&p->state[j]);
		if (s == WALK_PIPE_STOP)
			return;
		if (atomic_load(&p->rc) == 0) {
			rc = out_encode(p->stream, p->buf[j], p->dedup[1],
					&p->dropped);
			if (rc != 0)
				atomic_store(&p->rc, rc);
		}
		pipe_set(&p->state[j], WALK_PIPE_FREE);
	}
}

static void *
out_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return walk_realloc(NULL, n);
}

static void
out_free_fn(void *ctx, void *p)
{
	(void)ctx;
	walk_free(p);
}

/* The encoder's buffers come from the walk's allocator (mem.h: private
 * in a snapshot child). */
static const struct fmt_alloc out_mem = { out_alloc, out_free_fn, NULL };

/* A chunk; with raw, one that the walk may encode ahead. */
static int
out_new(struct walk_out **o, int raw)
{
	*o = walk_realloc(NULL, sizeof **o);
	if (!*o)
		return -1;
	(*o)->first = (*o)->n = (*o)->nedges = 0;
	(*o)->strs = NULL;
	(*o)->nstrs = (*o)->capstrs = (*o)->strs_at = 0;
	(*o)->raw = NULL;
	(*o)->encoded = 0;
	if (raw && fmt_rawchunk_new(&(*o)->raw, &out_mem) != 0)
		(*o)->raw = NULL;   /* the helper encodes it all */
	return 0;
}

int
walk_out_start(struct walker *w, struct fmt_stream *fs,
	       const struct walk_helper *helper, const struct walk_warm *warm)
{
	struct walk_pipe *p = &w->pipe;

	memset(p, 0, sizeof *p);
	p->stream = fs;
	p->dedup[0] = walk_realloc(NULL, sizeof *p->dedup[0]);
	if (!p->dedup[0] || out_new(&p->buf[0], helper && helper->start) != 0)
		return -1;
	w->out = p->buf[0];
	if (!helper || !helper->start)
		return 0;   /* encoded here, between objects */
	for (int i = 1; i < WALK_PIPE_N; i++)
		if (out_new(&p->buf[i], 1) != 0)
			return 0;   /* the same, short of room */
	p->dedup[1] = walk_realloc(NULL, sizeof *p->dedup[1]);
	if (!p->dedup[1])
		return 0;
	p->helper = helper;
	if (fmt_deflater_new(&p->z, fs) != 0)
		p->z = NULL;   /* encode ahead only */
	if (warm && warm->n && warm->page) {
		p->warm = warm;
		p->warm_at = warm->lo[0];
	}
	p->running = helper->start(helper->ctx, out_helper, p) == 0;
	return 0;
}

/* Copies the walk's strings made since the last chunk into o. */
static int
out_stage_strings(struct walker *w, struct walk_out *o)
{
	size_t n = w->nstrs - w->pipe.strs_out;

	o->strs_at = w->pipe.strs_out;
	o->nstrs = 0;
	if (!n)
		return 0;
	if (walk_grow(&o->strs, &o->capstrs, n, sizeof *o->strs) != 0)
		return -1;
	memcpy(o->strs, w->strs + w->pipe.strs_out, n * sizeof *o->strs);
	o->nstrs = n;
	w->pipe.strs_out = w->nstrs;
	return 0;
}

/*
 * The addr column is the walk's queue (walk.c design note 3), and in a
 * streamed walk a slot's address is read only until the slot has gone
 * out in a chunk: the pages of the slots before next go back to the
 * system, a huge page at a time, once the walk is a huge page past the
 * last release.  Its peak is then the queue's longest stretch (the gc
 * objects, found first, waiting to be processed) instead of every slot:
 * about 1.5 of the 8 bytes an object at 1M objects of bench/heap_app.py,
 * more where fewer of the objects are gc objects.  Not faulted in ahead
 * (shim.c shim_snapshot_prepare).  The slot before next stays: it may
 * be the one being processed.
 */
static void
out_release_queue(struct walker *w, uint32_t next)
{
	size_t upto = (size_t)(next ? next - 1 : 0) * sizeof *w->addr;

	if (upto < w->pipe.queue_freed + WALK_HUGE)
		return;
	walk_release_head(w->addr, upto);
	w->pipe.queue_freed = upto;
}

void
walk_out_flush(struct walker *w)
{
	struct walk_pipe *p = &w->pipe;
	struct walk_out *o = w->out;
	uint32_t next = o->first + o->n;
	int rc;

	if (w->err || (!o->n && !o->nedges))
		return;
	if (out_stage_strings(w, o) != 0) {
		walk_fail(w);
		return;
	}
	if (!p->running) {
		rc = out_encode(p->stream, o, p->dedup[0], &p->dropped);
		if (rc != 0) {
			w->err = rc;
			return;
		}
	} else {
		/* The helper is a chunk behind: work instead of waiting. */
		if (o->raw && out_helper_behind(p))
			out_encode_ahead(p, o);
		pipe_set(&p->state[p->cur], WALK_PIPE_FULL);
		p->cur = (p->cur + 1) % WALK_PIPE_N;
		pipe_wait(&p->state[p->cur], WALK_PIPE_FULL);
		o = w->out = p->buf[p->cur];
		rc = atomic_load(&p->rc);
		if (rc != 0) {
			w->err = rc;
			return;
		}
	}
	o->first = next;
	o->n = o->nedges = 0;
	o->encoded = 0;
	out_release_queue(w, next);
}

void
walk_out_end(struct walker *w)
{
	struct walk_pipe *p = &w->pipe;
	int rc;

	if (p->running) {
		/* The chunk being filled is free: the helper finds the stop
		 * there once it is through the one before. */
		pipe_set(&p->state[p->cur], WALK_PIPE_STOP);
		p->helper->join(p->helper->ctx);
		p->running = 0;
		rc = atomic_load(&p->rc);
		if (rc != 0 && !w->err)
			w->err = rc;
	}
	w->nedges -= p->dropped + p->dropped_ahead;
	p->dropped = p->dropped_ahead = 0;
}

void
walk_out_free(struct walker *w)
{
	struct walk_pipe *p = &w->pipe;

	if (p->running)
		walk_out_end(w);
	for (int i = 0; i < WALK_PIPE_N; i++) {
		if (p->buf[i]) {
			walk_free(p->buf[i]->strs);
			fmt_rawchunk_free(p->buf[i]->raw);
		}
		walk_free(p->buf[i]);
		p->buf[i] = NULL;
	}
	fmt_deflater_free(p->z);
	p->z = NULL;
	walk_free(p->dedup[0]);
	walk_free(p->dedup[1]);
	p->dedup[0] = p->dedup[1] = NULL;
	w->out = NULL;
}

void
walk_out_object(struct walker *w, uint32_t slot, uint32_t type,
		uint64_t size, uint32_t refcnt, uint32_t label, uint8_t flags)
{
	struct walk_out *o = w->out;
	uint32_t i = o->n;

	if (o->first + i != slot) {   /* every slot once, in order */
		w->err = MUPPY_EINVAL;
		return;
	}
	o->addr[i] = w->addr[slot];
	o->type[i] = type;
	o->size[i] = size;
	o->refcnt[i] = refcnt;
	o->label[i] = label;
	o->flags[i] = flags;
	if (++o->n == WALK_OUT_OBJECTS)
		walk_out_flush(w);
}
