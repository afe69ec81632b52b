/*
 * stream.c - the stream encoder of a streamed walk: objects and edges are
 * gathered into a chunk of bounded size (struct walk_out) and sent to
 * fmt_stream_chunk when it fills, the strings made since first, with each
 * referrer's repeated edges merged away before they are encoded.
 */
#include "shim/walk/walker.h"

/*
 * Drops the chunk's repeated edges the reader would drop (format/order.h),
 * within each run of edges of one referrer: an object's edges are
 * recorded together, so this catches nearly all of them (a fifth of the
 * edges of a mypy run), which the dump then neither stores nor
 * compresses.  What the reader's merge of the whole stream gives is
 * unchanged: it keeps the first of equals, in order, as this does.
 */
static void
walk_out_dedup(struct walker *w)
{
	struct walk_out *o = w->out;
	uint32_t rows = 0, kept;

	for (uint32_t e = 0; e < o->nedges; e++) {
		if (e && o->src[e] == o->src[e - 1])
			continue;
		o->row_src[rows] = o->src[e];
		o->row_start[rows++] = e;
	}
	o->row_start[rows] = o->nedges;
	kept = (uint32_t)fmt_edges_dedup(o->row_start, o->dst, o->name, rows,
					 o->key, o->drop);
	for (uint32_t r = 0; r < rows; r++)
		for (uint32_t e = o->row_start[r]; e < o->row_start[r + 1]; e++)
			o->src[e] = o->row_src[r];
	w->nedges -= o->nedges - kept;
	o->nedges = kept;
}
void
walk_out_flush(struct walker *w)
{
	struct walk_out *o = w->out;
	struct fmt_chunk c = {
		.first = o->first, .nobjects = o->n, .addr = o->addr,
		.type = o->type, .size = o->size, .refcnt = o->refcnt,
		.label = o->label, .flags = o->flags, .nedges = o->nedges,
		.src = o->src, .dst = o->dst, .name = o->name,
	};
	int rc;

	if (w->err || (!o->n && !o->nedges))
		return;
	walk_out_dedup(w);
	c.nedges = o->nedges;
	rc = fmt_stream_strings(w->stream, w->strs, (uint32_t)w->nstrs);
	if (rc == 0)
		rc = fmt_stream_chunk(w->stream, &c);
	if (rc != 0) {
		w->err = rc;
		return;
	}
	o->first += o->n;
	o->n = o->nedges = 0;
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
