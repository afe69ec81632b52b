/*
 * finish.c - walk_finish: turns a whole walk's slots (discovery order)
 * into a struct fmt_dump, objects in address order and edges as CSR rows
 * with repeats dropped (format/order.h, shared with the reader of streamed
 * dumps), skipped objects' edges and roots left out.  Runs without the GIL.
 */
#include "shim/walk/walker.h"

#include <string.h>   /* memcpy, memset */

/* ---- walk_finish: address order, CSR edges ------------------------------- */

/* Removes, in place, the edges from or to an object left out (rank
 * WALK_SKIPPED, design note 8). */
static void
walk_drop_skipped_edges(struct walker *w, const uint32_t *rank)
{
	size_t out = 0;

	if (!w->skipped)
		return;
	for (size_t i = 0; i < w->nedges; i++) {
		if (rank[w->esrc[i]] == WALK_SKIPPED ||
		    rank[w->edst[i]] == WALK_SKIPPED)
			continue;
		w->esrc[out] = w->esrc[i];
		w->edst[out] = w->edst[i];
		w->ename[out] = w->ename[i];
		out++;
	}
	w->nedges = out;
}

/* Roots and strdata to object indices; those of objects left out go. */
static void
walk_remap_refs(struct walker *w, const uint32_t *rank)
{
	size_t k = 0;

	for (size_t i = 0; i < w->nroots; i++) {
		uint32_t r = rank[w->roots[i].obj];

		if (r == WALK_SKIPPED)
			continue;
		w->roots[k] = w->roots[i];
		w->roots[k++].obj = r;
	}
	w->nroots = k;
	k = 0;
	for (size_t i = 0; i < w->nstrdata; i++) {
		uint32_t r = rank[w->strdata[i].obj];

		if (r == WALK_SKIPPED)
			continue;
		w->strdata[k] = w->strdata[i];
		w->strdata[k++].obj = r;
	}
	w->nstrdata = k;
}

/* Counting sort of the edges by referrer index, then de-duplication. */
static int
walk_finish_edges(struct walker *w, const uint32_t *rank, size_t n)
{
	uint32_t *start, *dst, *name;
	struct fmt_edgekey *key = NULL;
	uint8_t *drop = NULL;
	size_t maxg;

	if (w->nedges > UINT32_MAX)   /* edge_start is 32-bit (dump.h) */
		return MUPPY_EINVAL;
	start = walk_realloc(NULL, (n + 1) * sizeof *start);
	dst = walk_realloc(NULL, (w->nedges + 1) * sizeof *dst);
	name = walk_realloc(NULL, (w->nedges + 1) * sizeof *name);
	if (!start || !dst || !name)
		goto fail;
	memset(start, 0, (n + 1) * sizeof *start);
	walk_drop_skipped_edges(w, rank);
	for (size_t i = 0; i < w->nedges; i++)
		start[rank[w->esrc[i]] + 1]++;
	for (size_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	/* Stable placement: start[r] walks forward, then is restored. */
	for (size_t i = 0; i < w->nedges; i++) {
		uint32_t at = start[rank[w->esrc[i]]]++;
		dst[at] = rank[w->edst[i]];
		name[at] = w->ename[i];
	}
	for (size_t i = n; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	maxg = fmt_edges_max_row(start, n);
	key = walk_realloc(NULL, (maxg + 1) * sizeof *key);
	drop = walk_realloc(NULL, maxg + 1);
	if (!key || !drop)
		goto fail;
	fmt_edges_dedup(start, dst, name, n, key, drop);
	walk_free(key);
	walk_free(drop);
	w->f_estart = start;
	w->f_edst = dst;
	w->f_ename = name;
	return 0;
fail:
	walk_free(start);
	walk_free(dst);
	walk_free(name);
	walk_free(key);
	walk_free(drop);
	return MUPPY_ENOMEM;
}

/* Column src (elements of esz bytes, by slot) in address order: a new
 * array, or NULL. */
static void *
walk_permute(const void *src, size_t esz, const struct fmt_pair *order,
	     size_t n)
{
	char *p = walk_realloc(NULL, (n + 1) * esz);

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *from = (const char *)src + order[i].slot * esz;

		switch (esz) {
		case 8: memcpy(p + i * 8, from, 8); break;
		case 4: memcpy(p + i * 4, from, 4); break;
		default: memcpy(p + i * esz, from, esz); break;
		}
	}
	return p;
}

_Static_assert(WALK_RAW_SKIPPED == WALK_SKIPPED, "walk.h's skip mark");

int
walk_raw(const struct walk_result *r, struct walk_raw *out)
{
	const struct walker *w = r ? r->priv : NULL;

	if (!w || !w->graph || w->stream || w->finished)
		return -1;
	out->n = w->nslots;
	out->addr = w->addr;
	out->otype = w->otype;
	out->nedges = w->nedges;
	out->esrc = w->esrc;
	out->edst = w->edst;
	return 0;
}

int
walk_finish(struct walk_result *out)
{
	struct walker *w;
	struct fmt_pair *pairs = NULL, *tmp = NULL;
	size_t *count = NULL, n;
	uint32_t *rank = NULL;
	struct fmt_dump *d;
	int rc = MUPPY_ENOMEM;

	if (!out || !out->priv)
		return MUPPY_EINVAL;
	w = out->priv;
	d = &out->dump;
	n = w->nslots;
	if (!w->graph || w->stream || w->finished)
		return 0;   /* a stream's reader orders it (format/order.h) */

	pairs = walk_realloc(NULL, (n + 1) * sizeof *pairs);
	tmp = walk_realloc(NULL, (n + 1) * sizeof *tmp);
	count = walk_realloc(NULL, FMT_RADIX_COUNTS * sizeof *count);
	rank = walk_realloc(NULL, (n + 1) * sizeof *rank);
	if (!pairs || !tmp || !count || !rank)
		goto out;
	/* Objects left out (design note 8) get no index; their edges and
	 * roots go too. */
	for (size_t i = 0, k = 0; i < n; i++) {
		rank[i] = WALK_SKIPPED;
		if (w->otype[i] == WALK_SKIPPED)
			continue;
		pairs[k].key = w->addr[i];
		pairs[k].slot = (uint32_t)i;
		k++;
	}
	n -= w->skipped;
	fmt_radix_sort(pairs, tmp, n, count);
	for (size_t i = 0; i < n; i++)
		rank[pairs[i].slot] = (uint32_t)i;

	walk_free(w->f_addr); walk_free(w->f_size); walk_free(w->f_refcnt);
	walk_free(w->f_type); walk_free(w->f_label); walk_free(w->f_flags);
	w->f_addr = walk_permute(w->addr, sizeof(uint64_t), pairs, n);
	w->f_size = walk_permute(w->size, sizeof(uint64_t), pairs, n);
	w->f_refcnt = walk_permute(w->refcnt, sizeof(uint32_t), pairs, n);
	w->f_type = walk_permute(w->otype, sizeof(uint32_t), pairs, n);
	w->f_label = walk_permute(w->label, sizeof(uint32_t), pairs, n);
	w->f_flags = walk_permute(w->oflags, sizeof(uint8_t), pairs, n);
	if (!w->f_addr || !w->f_size || !w->f_refcnt || !w->f_type ||
	    !w->f_label || !w->f_flags)
		goto out;
	walk_free(w->f_estart); walk_free(w->f_edst); walk_free(w->f_ename);
	w->f_estart = NULL; w->f_edst = NULL; w->f_ename = NULL;
	if ((rc = walk_finish_edges(w, rank, n)) != 0)
		goto out;
	walk_remap_refs(w, rank);

	d->nobjects = n;
	d->obj_addr = w->f_addr;
	d->obj_type = w->f_type;
	d->obj_size = w->f_size;
	d->obj_refcnt = w->f_refcnt;
	d->obj_label = w->f_label;
	d->obj_flags = w->f_flags;
	d->nedges = w->f_estart[n];
	d->edge_start = w->f_estart;
	d->edge_dst = w->f_edst;
	d->edge_name = w->f_ename;
	d->nroots = (uint32_t)w->nroots;
	d->roots = w->roots;
	d->nstrdata = (uint32_t)w->nstrdata;
	d->strdata = w->strdata;
	/* The slot-ordered columns are no longer needed. */
	walk_free(w->addr); walk_free(w->size); walk_free(w->refcnt);
	walk_free(w->otype); walk_free(w->label); walk_free(w->oflags);
	walk_free(w->esrc); walk_free(w->edst); walk_free(w->ename);
	w->addr = w->size = NULL;
	w->otype = w->label = w->refcnt = NULL;
	w->oflags = NULL;
	w->esrc = w->edst = w->ename = NULL;
	w->nedges = 0;
	w->finished = 1;   /* roots/strdata are remapped: never twice */
	rc = 0;
out:
	walk_free(pairs);
	walk_free(tmp);
	walk_free(count);
	walk_free(rank);
	return rc;
}

void
walk_result_free(struct walk_result *r)
{
	if (!r)
		return;
	walk_free_walker(r->priv);
	memset(r, 0, sizeof *r);
}
