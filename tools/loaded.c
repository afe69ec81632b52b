/*
 * loaded.c - loads a dump with its graph, paths, dominators, growth and
 * leaks for the whole-dump views (loaded.h).  The order matters for the
 * peak memory: leaks_mark reads the older dumps before the graph is
 * built, so at most one older dump is in memory beside the dump's own.
 */
#include <stdlib.h>   /* calloc, free, qsort, strtod */
#include <string.h>   /* strcmp */
#include <sys/stat.h> /* stat */

#include "tools/loaded.h"
#include "tools/util.h"   /* util_error, util_read_dump */

struct older {
	const char *path;
	double time;
	size_t given;
};

static int
older_cmp(const void *pa, const void *pb)
{
	const struct older *a = pa, *b = pb;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return (a->given > b->given) - (a->given < b->given);
}

static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static const struct fmt_dump *names_d;

static int
row_name_cmp(const void *pa, const void *pb)
{
	return strcmp(fmt_str(names_d, names_d->summary[*(const uint32_t *)pa]
			      .name),
		      fmt_str(names_d, names_d->summary[*(const uint32_t *)pb]
			      .name));
}

/* grow[k] for each summary row k of d: count and size minus the oldest
 * dump's row of the same name (0 there when it has none). */
static int
growth(const struct fmt_dump *d, const struct fmt_dump *old, int64_t *gc,
       int64_t *gs)
{
	uint32_t *by = malloc((old->nsummary ? old->nsummary : 1) * sizeof *by);

	if (!by)
		return -1;
	for (uint32_t k = 0; k < old->nsummary; k++)
		by[k] = k;
	names_d = old;
	if (old->nsummary)
		qsort(by, old->nsummary, sizeof *by, row_name_cmp);
	for (uint32_t k = 0; k < d->nsummary; k++) {
		const char *name = fmt_str(d, d->summary[k].name);
		uint32_t lo = 0, hi = old->nsummary;
		gc[k] = (int64_t)d->summary[k].count;
		gs[k] = (int64_t)d->summary[k].size;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			int c = strcmp(fmt_str(old, old->summary[by[mid]].name),
				       name);
			if (c == 0) {
				gc[k] -= (int64_t)old->summary[by[mid]].count;
				gs[k] -= (int64_t)old->summary[by[mid]].size;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	free(by);
	return 0;
}

/*
 * Puts the dumps into l->series, oldest first, the dump itself last: path,
 * or with path NULL the newest of older[]; copies of it are dropped.
 * Reads each other dump's summary once, for its time.  0 or an exit
 * status (message printed).
 */
static int
order_series(struct loaded *l, const char *path, const char *const *older,
	     size_t nolder)
{
	struct older *o = calloc(nolder + 1, sizeof *o);
	size_t k = 0, keep = 0;
	int rc = 0;

	if (!o)
		return util_error("out of memory");
	for (size_t i = 0; i < nolder; i++) {
		struct fmt_dump od;
		const char *t;

		if (path && same_file(older[i], path))
			continue;
		rc = util_read_dump(older[i], FMT_READ_SUMMARY, &od);
		if (rc)
			goto out;
		t = fmt_meta_get(&od, "time");
		o[k].path = older[i];
		o[k].time = t ? strtod(t, NULL) : 0;
		o[k].given = i;
		k++;
		fmt_dump_free(&od);
	}
	if (k)
		qsort(o, k, sizeof *o, older_cmp);
	if (!path && k)
		path = o[--k].path;
	for (size_t i = 0; i < k; i++)
		if (!same_file(o[i].path, path))
			l->series[keep++] = o[i].path;
	l->series[keep] = path;
	l->nseries = (int)keep + 1;
out:
	free(o);
	return rc;
}

/* l->grow_* of the dump's summary rows against the oldest dump's. */
static int
series_growth(struct loaded *l)
{
	size_t n = (size_t)l->d.nsummary + 1;
	struct fmt_dump od;
	int rc;

	if (l->nseries < 2)
		return 0;
	l->grow_count = calloc(n, sizeof *l->grow_count);
	l->grow_size = calloc(n, sizeof *l->grow_size);
	if (!l->grow_count || !l->grow_size)
		return util_error("out of memory");
	rc = util_read_dump(l->series[0], FMT_READ_SUMMARY, &od);
	if (!rc) {
		if (growth(&l->d, &od, l->grow_count, l->grow_size))
			rc = util_error("out of memory");
		fmt_dump_free(&od);
	}
	return rc;
}

int
loaded_open(struct loaded *l, const char *path, const char *const *older,
	    size_t nolder)
{
	struct util_series s = {0};
	struct leaks_marks *m = NULL;
	int rc;

	l->series = calloc(nolder + 2, sizeof *l->series);
	if (!l->series)
		return util_error("out of memory");
	if ((rc = order_series(l, path, older, nolder)))
		return rc;
	path = l->series[l->nseries - 1];
	if ((rc = graph_read_dump(path, &l->d)))
		return rc;
	l->have_d = 1;
	if ((rc = series_growth(l)))
		return rc;
	s.files = l->series;
	s.nfiles = l->nseries;
	if (s.nfiles > 1 && (rc = leaks_mark(&s, &l->d, &m)))
		return rc;
	if (graph_build(&l->g, &l->d) != 0) {
		leaks_marks_free(m);
		return util_error("%s: cannot index the object graph (out of "
				  "memory or inconsistent)", path);
	}
	l->have_g = 1;
	if (graph_paths_compute(&l->g, &l->p) != 0 ||
	    dom_compute(&l->g, &l->dom) != 0) {
		leaks_marks_free(m);
		return util_error("out of memory");
	}
	if (m) {
		rc = leaks_find(&s, m, &l->g, &l->p, &l->leaks);
		leaks_marks_free(m);
		if (rc)
			return rc;
		l->have_leaks = 1;
	}
	return 0;
}

void
loaded_close(struct loaded *l)
{
	if (l->have_leaks)
		leaks_report_free(&l->leaks);
	graph_paths_free(&l->p);
	dom_free(&l->dom);
	if (l->have_g)
		graph_free(&l->g);
	if (l->have_d)
		fmt_dump_free(&l->d);
	free(l->grow_count);
	free(l->grow_size);
	free(l->series);
	memset(l, 0, sizeof *l);
}
