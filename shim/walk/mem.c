/*
 * mem.c - the shim's allocator switch (mem.h): glibc, or in a snapshot
 * child a private arena that only ever calls mmap, mremap and munmap.
 *
 * DESIGN NOTES
 *   1. Every block has a 16-byte header: its capacity and where it came
 *      from (glibc, an arena chunk, a mapping of its own).  A block's
 *      origin, not the process's mode, decides how it is freed, so a block
 *      made before the clone is never handed to glibc in the child.
 *   2. The arena is a bump allocator over 1 MiB chunks; a block of
 *      MEM_OWN_MAP or more gets a mapping of its own (munmap gives it
 *      back, mremap grows it without a copy).  Freeing an arena block
 *      gives its space back only if it is the last one carved (the usual
 *      pattern of the walk's growing buffers); otherwise the space stays
 *      used until the child exits.  Growing the last block is in place.
 *   3. A snapshot child has two threads, the walk and its helper
 *      (stream.c), and both may allocate (a chunk's encoding buffer grows
 *      on whichever thread encodes it), so the arena is guarded by a spin
 *      lock: taken only in the child, where pthread locks do not work
 *      (the helper is a bare clone, helper.c), for a few instructions or
 *      an mmap, by two threads at most.  In the profiled process the
 *      functions are malloc's, thread-safe as malloc is.
 */
#include "shim/walk/mem.h"

#include <sched.h>      /* sched_yield */
#include <stdatomic.h>  /* atomic_int, atomic_flag */
#include <stdint.h>     /* uint64_t, SIZE_MAX */
#include <stdlib.h>     /* malloc, realloc, free */
#include <string.h>     /* memcpy, memset */
#include <sys/mman.h>   /* mmap, mremap, munmap */

#define MEM_HDR 16
#define MEM_CHUNK ((size_t)1 << 20)
#define MEM_OWN_MAP ((size_t)256 << 10)
#define MEM_PAGE ((size_t)4096)

enum mem_origin { MEM_GLIBC = 0x6c6962u, MEM_ARENA = 0x617265u,
		  MEM_MAPPED = 0x6d6170u };

struct mem_hdr {
	size_t cap;        /* usable bytes after the header */
	uint32_t origin;   /* enum mem_origin */
	uint32_t pad;
};

/* The arena of this process (used only in private mode, under lock). */
static struct {
	atomic_int private_mode;
	atomic_flag lock;  /* design note 3 */
	char *chunk;       /* current chunk */
	size_t used, size; /* bytes carved from it, its size */
	char *last;        /* header of the block carved last, or NULL */
} mem = { .lock = ATOMIC_FLAG_INIT };

static void
mem_lock(void)
{
	while (atomic_flag_test_and_set_explicit(&mem.lock,
						 memory_order_acquire))
		sched_yield();
}

static void
mem_unlock(void)
{
	atomic_flag_clear_explicit(&mem.lock, memory_order_release);
}

static struct mem_hdr *
mem_hdr_of(void *p)
{
	return (struct mem_hdr *)((char *)p - MEM_HDR);
}

static void *
mem_map(size_t len)
{
	void *q = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return q == MAP_FAILED ? NULL : q;
}

static size_t
mem_round(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

/* A block of its own mapping (design note 2). */
static void *
mem_private_mapped(size_t n)
{
	size_t len = mem_round(n + MEM_HDR, MEM_PAGE);
	struct mem_hdr *h = mem_map(len);

	if (!h)
		return NULL;
	h->cap = len - MEM_HDR;
	h->origin = MEM_MAPPED;
	return (char *)h + MEM_HDR;
}

static void *
mem_private_alloc(size_t n)
{
	size_t need;
	struct mem_hdr *h;

	if (n > SIZE_MAX / 2)
		return NULL;
	if (n >= MEM_OWN_MAP)
		return mem_private_mapped(n);
	need = mem_round(n + MEM_HDR, 16);
	if (!mem.chunk || mem.size - mem.used < need) {
		char *c = mem_map(MEM_CHUNK);

		if (!c)
			return NULL;
		mem.chunk = c;   /* the old chunk's tail is left unused */
		mem.used = 0;
		mem.size = MEM_CHUNK;
		mem.last = NULL;
	}
	h = (struct mem_hdr *)(mem.chunk + mem.used);
	h->cap = need - MEM_HDR;
	h->origin = MEM_ARENA;
	mem.last = (char *)h;
	mem.used += need;
	return (char *)h + MEM_HDR;
}

/* Frees arena block h: its space comes back if it was carved last. */
static void
mem_arena_free(struct mem_hdr *h)
{
	if ((char *)h == mem.last) {
		mem.used = (size_t)((char *)h - mem.chunk);
		mem.last = NULL;
	}
}

static void *
mem_private_realloc(void *p, size_t n)
{
	struct mem_hdr *h = mem_hdr_of(p);
	void *q;

	if (n <= h->cap)
		return p;
	if (h->origin == MEM_MAPPED) {
		size_t len = mem_round(n + MEM_HDR, MEM_PAGE);
		struct mem_hdr *m = mremap(h, h->cap + MEM_HDR, len,
					   MREMAP_MAYMOVE);

		if (m == MAP_FAILED)
			return NULL;
		m->cap = len - MEM_HDR;
		return (char *)m + MEM_HDR;
	}
	if (h->origin == MEM_ARENA && (char *)h == mem.last && n < MEM_OWN_MAP) {
		size_t need = mem_round(n + MEM_HDR, 16);
		size_t at = (size_t)((char *)h - mem.chunk);

		if (mem.size - at >= need) {   /* grow in place */
			mem.used = at + need;
			h->cap = need - MEM_HDR;
			return p;
		}
	}
	q = mem_private_alloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, h->cap);
	mem_arena_free(h);   /* MEM_MAPPED grew above */
	return q;
}

void
mem_use_private(void)
{
	atomic_flag_clear(&mem.lock);
	atomic_store(&mem.private_mode, 1);
	mem.chunk = NULL;   /* the parent's chunk, if any, is not ours */
	mem.last = NULL;
}

int
mem_is_private(void)
{
	return atomic_load(&mem.private_mode);
}

void *
mem_alloc(size_t n)
{
	struct mem_hdr *h;
	void *p;

	if (mem_is_private()) {
		mem_lock();
		p = mem_private_alloc(n);
		mem_unlock();
		return p;
	}
	if (n > SIZE_MAX - MEM_HDR)
		return NULL;
	h = malloc(n + MEM_HDR);
	if (!h)
		return NULL;
	h->cap = n;
	h->origin = MEM_GLIBC;
	return (char *)h + MEM_HDR;
}

void *
mem_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = mem_alloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *
mem_realloc(void *p, size_t n)
{
	struct mem_hdr *h;

	if (!p)
		return mem_alloc(n);
	h = mem_hdr_of(p);
	if (mem_is_private() || h->origin != MEM_GLIBC) {
		void *q;

		mem_lock();
		if (h->origin != MEM_GLIBC) {
			q = mem_private_realloc(p, n);
		} else {   /* a glibc block in the child: never freed */
			q = mem_private_alloc(n);
			if (q)
				memcpy(q, p, h->cap < n ? h->cap : n);
		}
		mem_unlock();
		return q;
	}
	if (n > SIZE_MAX - MEM_HDR)
		return NULL;
	h = realloc(h, n + MEM_HDR);
	if (!h)
		return NULL;
	h->cap = n;
	return (char *)h + MEM_HDR;
}

void
mem_free(void *p)
{
	struct mem_hdr *h;

	if (!p)
		return;
	h = mem_hdr_of(p);
	switch (h->origin) {
	case MEM_GLIBC:
		if (!mem_is_private())
			free(h);
		return;   /* in the child: never glibc's free (mem.h) */
	case MEM_MAPPED:
		munmap(h, h->cap + MEM_HDR);
		return;
	case MEM_ARENA:
		mem_lock();
		mem_arena_free(h);
		mem_unlock();
		return;
	}
}
