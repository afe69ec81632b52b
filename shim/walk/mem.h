/*
 * mem.h - where the shim's own small allocations come from: glibc's malloc
 * in the profiled process, a private arena of anonymous mappings in a
 * snapshot child.
 *
 * A snapshot child is a raw clone of the profiled process (snapfork.c
 * design note 10: no exit signal, so the application can neither see nor
 * reap it), and a raw clone skips glibc's fork bookkeeping: a malloc lock
 * another thread held at that instant stays held for ever in the child.
 * So everything the child allocates for itself (the walk's tables, META,
 * the encoder's state, zlib's) goes through these functions, which in the
 * child never touch glibc's allocator.  Not here: the walk's big arrays
 * (walk.c maps those itself), CPython's own allocations (pymalloc, GIL
 * held: consistent in the copy).
 */
#ifndef MUPPY_SHIM_MEM_H
#define MUPPY_SHIM_MEM_H

#include <stddef.h>   /* size_t */

/* malloc, calloc, realloc and free with the usual contracts: NULL on
 * failure (the block survives a failed mem_realloc), mem_free(NULL) is a
 * no-op.  A block may be freed or grown only by the side that made it;
 * in the child a block from before the clone is never given to glibc:
 * freeing it does nothing (the child is short-lived). */
void *mem_alloc(size_t n);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t n);
void mem_free(void *p);

/* From now on this process allocates from its private arena (the first
 * call of a snapshot child, before any allocation).  Async-signal-safe. */
void mem_use_private(void);

/* 1 once mem_use_private() has been called in this process. */
int mem_is_private(void);

#endif /* MUPPY_SHIM_MEM_H */
