/*
 * meta.c - META entries for a snapshot (meta.h).
 *
 * The walker owns its strings array; rather than reach into its storage we
 * build a second array (walk's strings, then ours) and a second meta array,
 * and hand fmt_write a shallow copy of the dump pointing at them.  Keys the
 * walker already set are left as the walker set them.
 */
#include "shim/runtime/meta.h"

#include <fcntl.h>     /* open, O_CLOEXEC */
#include <stdio.h>     /* snprintf, sscanf */
#include <string.h>    /* memcpy, strcspn, strlen */
#include <unistd.h>    /* read, readlink, close, sysconf */

#include "shim/cpython/pyapi.h"     /* py.Py_GetVersion */
#include "shim/runtime/snapfork.h"  /* snapfork_getppid */
#include "shim/walk/mem.h"          /* mem_alloc, mem_calloc, mem_free */

static uint32_t
shim_meta_str(struct shim_meta *m, const char *s)
{
	uint32_t id = m->dump.nstrings++;

	m->strings[id].ptr = s;
	m->strings[id].len = (uint32_t)strlen(s);
	return id;
}

static void
shim_meta_add(struct shim_meta *m, const char *key, const char *value)
{
	struct fmt_meta *e;

	if (fmt_meta_get(m->base, key))
		return;
	e = &m->meta[m->dump.nmeta++];
	e->key = shim_meta_str(m, key);
	e->value = shim_meta_str(m, value);
}

/* Formats a number into one of m's text slots and adds it. */
static void
shim_meta_u64(struct shim_meta *m, const char *key, uint64_t v)
{
	char *t = m->text[m->ntext++];

	snprintf(t, SHIM_META_TEXT, "%llu", (unsigned long long)v);
	shim_meta_add(m, key, t);
}

/* argv joined by spaces (NULs of /proc/self/cmdline), malloc'd or NULL. */
static char *
shim_meta_cmdline(void)
{
	size_t cap = 65536, len = 0;
	char *buf = mem_alloc(cap + 1);
	int fd;
	ssize_t n;

	if (!buf)
		return NULL;
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return buf;
fail:
	mem_free(buf);
	return NULL;
}

uint64_t
shim_meta_read_rss(void)
{
	char buf[128];
	unsigned long long size, resident;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void
shim_meta_free(struct shim_meta *m)
{
	mem_free(m->strings);
	mem_free(m->meta);
	mem_free(m->cmdline);
	mem_free(m);
}

struct shim_meta *
shim_meta_new(const struct fmt_dump *base, const struct shim_facts *f)
{
	struct shim_meta *m = mem_calloc(1, sizeof *m);
	const char *version = py.Py_GetVersion();
	char *t;
	ssize_t n;
	int whole;

	if (!m)
		return NULL;
	m->base = base;
	m->dump = *base;
	m->strings = mem_alloc(((size_t)base->nstrings + 2 * SHIM_META_MAX) *
			    sizeof *m->strings);
	m->meta = mem_alloc(((size_t)base->nmeta + SHIM_META_MAX) *
			 sizeof *m->meta);
	m->cmdline = shim_meta_cmdline();
	if (!m->strings || !m->meta)
		goto fail;
	memcpy(m->strings, base->strings, base->nstrings * sizeof *m->strings);
	if (base->nmeta)
		memcpy(m->meta, base->meta, base->nmeta * sizeof *m->meta);
	m->dump.strings = m->strings;
	m->dump.meta = m->meta;

	shim_meta_u64(m, "pid", (uint64_t)f->pid);
	shim_meta_u64(m, "ppid", (uint64_t)snapfork_getppid());
	snprintf(m->seq_text, sizeof m->seq_text, "0");
	shim_meta_add(m, "seq", m->seq_text);
	m->seq_str = m->dump.nstrings - 1;
	if (m->seq_text != m->strings[m->seq_str].ptr)
		m->seq_str = UINT32_MAX;   /* the walker set "seq": leave it */
	shim_meta_add(m, "cmdline", m->cmdline ? m->cmdline : "");
	n = readlink("/proc/self/exe", m->exe, sizeof m->exe - 1);
	m->exe[n > 0 ? n : 0] = '\0';
	shim_meta_add(m, "executable", m->exe);
	t = m->text[m->ntext++];
	snprintf(t, SHIM_META_TEXT, "%.*s", (int)strcspn(version, " "),
		 version);
	shim_meta_add(m, "python", t);
	shim_meta_add(m, "python_full", version);
	shim_meta_add(m, "trigger", f->trigger);
	t = m->text[m->ntext++];
	snprintf(t, SHIM_META_TEXT, "%llu.%06llu",
		 (unsigned long long)(f->time_ns / 1000000000ull),
		 (unsigned long long)(f->time_ns % 1000000000ull / 1000));
	shim_meta_add(m, "time", t);
	shim_meta_u64(m, "rss", f->rss);
	/* What the file holds, after walk_finish merged duplicate edges; a
	 * summary-only dump holds no graph, and a streamed one is merged by
	 * its reader, so there the walk's counts stand. */
	whole = (base->flags & FMT_FLAG_GRAPH) &&
		!(base->flags & FMT_FLAG_STREAM);
	shim_meta_u64(m, "objects", whole ? base->nobjects : f->stats.objects);
	shim_meta_u64(m, "edges", whole ? base->nedges : f->stats.edges);
	shim_meta_u64(m, "gil_ns", f->gil_ns);
	/* Objects the walk left out (walk.c design note 8). */
	shim_meta_u64(m, "skipped", f->stats.skipped);
	shim_meta_u64(m, "walk_ns", f->stats.walk_ns);
	shim_meta_add(m, "mode", f->graph ? "graph" : "summary");
	shim_meta_add(m, "snapshot", f->snapshot ? f->snapshot : "inline");
	shim_meta_u64(m, "strings", (uint64_t)f->strings);
	return m;
fail:
	shim_meta_free(m);
	return NULL;
}

const struct fmt_dump *
shim_meta_for_seq(void *ctx, uint32_t seq)
{
	struct shim_meta *m = ctx;

	if (m->seq_str != UINT32_MAX) {
		snprintf(m->seq_text, sizeof m->seq_text, "%u", seq);
		m->strings[m->seq_str].len = (uint32_t)strlen(m->seq_text);
	}
	return &m->dump;
}

