/*
 * room.c - memory left to the process (room.h).  The cgroup's limit (v2,
 * or v1's memory controller) is what a container's OOM killer enforces; MemAvailable is the kernel's own
 * estimate of what can be had without swapping.  The files are read with
 * plain open/read into stack buffers: this runs in the worker before a
 * walk, where malloc is allowed but not needed.
 */
#include <fcntl.h>    /* open */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* strtoull */
#include <string.h>   /* strncmp, strstr, strchr */
#include <unistd.h>   /* read, close */

#include "shim/runtime/room.h"

/* The file's first bytes as a NUL-terminated string; length or -1. */
static ssize_t
room_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* A cgroup file holding a number or "max"; UINT64_MAX for max or
 * unreadable. */
static uint64_t
room_cg_value(const char *dir, const char *file)
{
	char path[4096 + 64], buf[64], *end;
	unsigned long long v;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (room_read(path, buf, sizeof buf) <= 0 ||
	    strncmp(buf, "max", 3) == 0)
		return UINT64_MAX;
	v = strtoull(buf, &end, 10);
	return end == buf ? UINT64_MAX : (uint64_t)v;
}

/* The directory of this process's cgroup in the hierarchy that holds the
 * memory controller, from /proc/self/cgroup: "0::/path" (v2, under
 * /sys/fs/cgroup) or "N:...memory...:/path" (v1, under
 * /sys/fs/cgroup/memory).  *v1 tells which.  0, or -1 when neither. */
static int
room_cg_dir(char *dir, size_t size, int *v1)
{
	char buf[4096], *p, *nl, *ctl, *path;
	int found = -1;

	if (room_read("/proc/self/cgroup", buf, sizeof buf) <= 0)
		return -1;
	for (p = buf; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		ctl = strchr(p, ':');
		path = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctl++;
		if (!strcmp(ctl, "memory") || strstr(ctl, "memory,") ||
		    (strlen(ctl) > 7 && !strcmp(ctl + strlen(ctl) - 7,
						",memory"))) {
			snprintf(dir, size, "/sys/fs/cgroup/memory%s", path);
			*v1 = 1;
			return 0;   /* v1 memory controller: it rules */
		}
		if (!*ctl && found < 0) {
			snprintf(dir, size, "/sys/fs/cgroup%s", path);
			*v1 = 0;
			found = 0;
		}
	}
	return found;
}

/* v1 reports no limit as a huge number near 2^63. */
#define ROOM_V1_UNLIMITED (1ull << 62)

static uint64_t
room_cgroup(void)
{
	char dir[4096];
	uint64_t limit, high, cur;
	int v1;

	if (room_cg_dir(dir, sizeof dir, &v1) != 0)
		return UINT64_MAX;
	if (v1) {
		limit = room_cg_value(dir, "memory.limit_in_bytes");
		if (limit >= ROOM_V1_UNLIMITED)
			return UINT64_MAX;
		cur = room_cg_value(dir, "memory.usage_in_bytes");
	} else {
		limit = room_cg_value(dir, "memory.max");
		high = room_cg_value(dir, "memory.high");
		if (high < limit)
			limit = high;   /* past it the kernel throttles hard */
		if (limit == UINT64_MAX)
			return UINT64_MAX;
		cur = room_cg_value(dir, "memory.current");
	}
	if (cur == UINT64_MAX)
		return UINT64_MAX;
	return cur >= limit ? 0 : limit - cur;
}

static uint64_t
room_meminfo(void)
{
	char buf[4096], *p;
	unsigned long long kb;

	if (room_read("/proc/meminfo", buf, sizeof buf) <= 0)
		return UINT64_MAX;
	p = strstr(buf, "MemAvailable:");
	if (!p || sscanf(p, "MemAvailable: %llu kB", &kb) != 1)
		return UINT64_MAX;
	return (uint64_t)kb * 1024;
}

uint64_t
room_available(void)
{
	uint64_t cg = room_cgroup(), mem = room_meminfo();

	return cg < mem ? cg : mem;
}

/* Half the room at most: the application keeps growing meanwhile, and a
 * fork child's copy-on-write copies come on top. */
enum room_plan
room_plan(uint64_t objects, uint64_t avail)
{
	uint64_t half = avail == UINT64_MAX ? UINT64_MAX : avail / 2;

	if (objects == 0)
		return ROOM_STREAM;   /* unknown: the safe way */
	if (objects <= half / ROOM_WHOLE_PER_OBJECT)
		return ROOM_WHOLE;
	if (objects <= half / ROOM_STREAM_PER_OBJECT)
		return ROOM_STREAM;
	return ROOM_NONE;
}
