/*
 * room.h - how much more memory this process can get before something
 * kills it, and what a snapshot of a given heap will take: the facts the
 * shim checks before a walk so that a snapshot never OOM-kills the
 * process it was meant to diagnose (issue 14: "never OOM the host").
 */
#ifndef MUPPY_SHIM_RUNTIME_ROOM_H
#define MUPPY_SHIM_RUNTIME_ROOM_H

#include <stdint.h>

/* Extra bytes per object a snapshot takes at its peak (docs/benchmarks.md
 * "Extra peak RSS", rounded up): a streamed walk holds the seen table and
 * one chunk; a whole one also holds every object and edge, then their
 * sorted copies and the encoder's arrays. */
#define ROOM_STREAM_PER_OBJECT 40u
#define ROOM_WHOLE_PER_OBJECT 200u

/* Bytes the process can still allocate: the least of its cgroup's room
 * (v2: memory.max or memory.high minus memory.current; v1:
 * memory.limit_in_bytes minus memory.usage_in_bytes) and MemAvailable.  UINT64_MAX when neither can be read.  Reads a
 * few small files; no allocation. */
uint64_t room_available(void);

/* What a snapshot should do with objects objects (0: unknown) and avail
 * bytes of room. */
enum room_plan {
	ROOM_WHOLE,    /* the walk may hold the graph (shortest GIL hold) */
	ROOM_STREAM,   /* stream it: the whole graph would not fit */
	ROOM_NONE,     /* not even a stream fits: no snapshot */
};
enum room_plan room_plan(uint64_t objects, uint64_t avail);

#endif /* MUPPY_SHIM_RUNTIME_ROOM_H */
