/*
 * dump.c - small lookups on a struct fmt_dump that both sides use:
 * META values, string ids, edge names, objects by address, error names.
 *
 * None of these allocate or fail loudly: they work on a dump from
 * fmt_read_* as well as on one a writer filled, and treat an id out of
 * range as "absent".  Encoding is in write.c, decoding in read.c.
 */
#include <string.h>   /* strlen, memcmp */

#include "format/dump.h"   /* struct fmt_dump */

const char *
fmt_str(const struct fmt_dump *d, uint32_t id)
{
	if (!d || !d->strings || id >= d->nstrings || !d->strings[id].ptr)
		return "";
	return d->strings[id].ptr;
}

const char *
fmt_meta_get(const struct fmt_dump *d, const char *key)
{
	size_t klen;

	if (!d || !key)
		return NULL;
	klen = strlen(key);
	for (uint32_t i = 0; i < d->nmeta; i++) {
		uint32_t k = d->meta[i].key;
		if (k < d->nstrings && d->strings[k].len == klen &&
		    memcmp(fmt_str(d, k), key, klen) == 0)
			return d->meta[i].value < d->nstrings ?
			       fmt_str(d, d->meta[i].value) : NULL;
	}
	return NULL;
}

int64_t
fmt_find_object(const struct fmt_dump *d, uint64_t addr)
{
	uint64_t lo = 0, hi;

	if (!d || !d->obj_addr)
		return -1;
	hi = d->nobjects;
	while (lo < hi) {  /* invariant: the answer, if any, is in [lo, hi) */
		uint64_t mid = lo + (hi - lo) / 2;
		if (d->obj_addr[mid] < addr)
			lo = mid + 1;
		else if (d->obj_addr[mid] > addr)
			hi = mid;
		else
			return (int64_t)mid;
	}
	return -1;
}

const char *
fmt_strerror(int err)
{
	switch (err) {
	case MUPPY_OK:
		return "success";
	case MUPPY_ENOMEM:
		return "out of memory";
	case MUPPY_EIO:
		return "input/output error";
	case MUPPY_ECORRUPT:
		return "not a valid muppy dump (truncated or corrupt)";
	case MUPPY_EVERSION:
		return "unsupported dump format version";
	case MUPPY_EINVAL:
		return "invalid argument";
	default:
		return "unknown error";
	}
}

int
fmt_edge_name_ok(const struct fmt_dump *d, uint32_t name)
{
	switch (FMT_EDGE_KIND(name)) {
	case FMT_EDGE_KEY:
	case FMT_EDGE_ATTR:
	case FMT_EDGE_LOCAL:
	case FMT_EDGE_CELL:
	case FMT_EDGE_OTHER:
		return FMT_EDGE_VALUE(name) < d->nstrings;
	default:
		return 1;
	}
}
