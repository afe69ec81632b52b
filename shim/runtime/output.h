/*
 * output.h - writes one dump file atomically: `<dir>/muppy.<pid>.<seq>.dump`
 * appears complete, fsynced, mode 0600, never replacing anything, or not
 * at all.
 *
 * It owns the file-system side of a dump and the table of system calls it
 * goes through (struct shim_sys), which tests override to inject faults
 * (the sqlite aSyscall[] idea): a full disk or a failing fsync is tested by
 * making the call fail, not by hoping.  It does not know how a dump is made
 * (shim.c and walk.c) nor what the bytes are (format/, through fmt_write).
 * It prints nothing: failures come back in a struct shim_out_err and the
 * caller decides whether to warn.
 */
#ifndef MUPPY_SHIM_OUTPUT_H
#define MUPPY_SHIM_OUTPUT_H

#include <stddef.h>      /* size_t */
#include <stdint.h>      /* uint32_t */
#include <sys/types.h>   /* mode_t, ssize_t */

#include "format/dump.h" /* struct fmt_dump */

/* The system calls the writer makes.  Every entry is set (never NULL);
 * tests may replace entries or use shim_sys_inject(). */
struct shim_sys {
	int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fsync)(int fd);
	int (*close)(int fd);
	int (*linkat)(int olddirfd, const char *oldpath, int newdirfd,
		      const char *newpath, int flags);
	int (*unlinkat)(int dirfd, const char *path, int flags);
};
extern struct shim_sys shim_sys;

/* Operations that can be made to fail (SHIM_FAIL_WALK is consulted by
 * shim.c before a heap walk, to test the ENOMEM path). */
enum shim_fail_op {
	SHIM_FAIL_OPEN, SHIM_FAIL_WRITE, SHIM_FAIL_FSYNC, SHIM_FAIL_CLOSE,
	SHIM_FAIL_LINK, SHIM_FAIL_UNLINK, SHIM_FAIL_WALK,
	SHIM_FAIL_TMPFILE,   /* O_TMPFILE "unsupported": use the named tmp file */
	SHIM_FAIL_CHILD,     /* a snapshot child dies of this signal number */
	SHIM_FAIL_HELPER,    /* a streamed walk's helper thread cannot start */
	SHIM_FAIL_NOPS
};

/*
 * Fault injection for tests: spec is a comma-separated list of `op:ERR`
 * (op one of open, write, fsync, close, link, unlink, walk, tmpfile,
 * helper; ERR
 * an errno name such as ENOSPC or a number; child:N makes every snapshot
 * child die of signal N as it starts), e.g. "write:ENOSPC,fsync:EIO".  Each listed operation then fails every time
 * with that errno; "" or NULL clears all.  Returns 0, or -1 if spec does not parse (nothing changed).
 */
int shim_sys_inject(const char *spec);

/* The errno injected for op, or 0 if it is not to fail. */
int shim_sys_injected(enum shim_fail_op op);

/* What failed (for the caller's one warning line per cause). */
struct shim_out_err {
	const char *op;   /* static string: "dir", "write", "fsync", "close",
	                     "link", "unlink", "fsync dir", "encode", "path" */
	int errnum;       /* errno value (ENOMEM for an encoder failure,
	                     EINVAL for an inconsistent dump) */
	int in_place;     /* 1: the dump is in place despite the failure
	                     (only a late directory fsync failed) */
};

/* Produces the dump to write under sequence number seq (its META "seq"
 * must say seq).  The returned dump is borrowed until the next call. */
typedef const struct fmt_dump *(*shim_dump_for_seq_fn)(void *ctx,
						      uint32_t seq);

/*
 * Writes a dump into directory dir (absolute path) as
 * `muppy.<pid>.<seq>.dump`: creates an unnamed O_TMPFILE file in dir or,
 * where unsupported, `<name>.tmp.<pid>` with O_EXCL and O_NOFOLLOW (mode
 * 0600 either way), streams fmt_write(dump_for(ctx, seq), level) into it,
 * fsyncs, links it to the final name (removing the tmp name), then fsyncs
 * the directory.  A name (final or tmp) that already exists,
 * symlinks included, is never followed or replaced: seq is bumped and the
 * whole attempt repeated, up to 1000 times.
 *
 * *seq is the first number to try; on return it is the number used.
 * Returns 0 on success; -1 with *err filled on failure, in which case no
 * file of ours is left behind (the tmp file is removed), except when
 * err->in_place is 1 (complete dump, directory fsync failed).
 */
int shim_output_write(const char *dir, long pid, uint32_t *seq, int level,
		      shim_dump_for_seq_fn dump_for, void *ctx,
		      struct shim_out_err *err);

/*
 * As shim_output_write, to the one file path (relative to the working
 * directory or absolute; muppy.dump(path) in the Python API): the dump
 * gets META seq as given, and a path that exists is an error (err->op
 * "path", EEXIST), never replaced nor followed.
 */
int shim_output_write_path(const char *path, long pid, uint32_t seq,
			   int level, shim_dump_for_seq_fn dump_for, void *ctx,
			   struct shim_out_err *err);

/*
 * A dump file opened before its dump exists, for snapshots streamed while
 * the heap is walked (format 1.1): the same file rules as above (tmp file,
 * 0600, never following or replacing a name), but the number is chosen
 * when the file is opened, since META, written last, names it.
 */
struct output_sink {
	int fd;
	int errnum;   /* errno of the failed write, 0 while fine */
};

struct shim_out_file {
	struct output_sink sink;   /* ctx of shim_output_sink */
	int dfd, named, path_mode;
	uint32_t seq;              /* the number in the name (dir mode) */
	char dir[4096];
	char name[256];
	char tmp[300];
};

/* Opens the temporary file for `<dir>/muppy.<pid>.<seq>.dump`, seq the
 * first free number from seq on, or for path (dir NULL then ignored:
 * path != NULL selects it; a path that exists is err->op "path",
 * EEXIST).  0, or -1 with *err filled and nothing left open. */
int shim_output_open(struct shim_out_file *f, const char *dir,
		     const char *path, long pid, uint32_t seq,
		     struct shim_out_err *err);

/* fmt_sink_fn over the open file (ctx: &f->sink). */
int shim_output_sink(void *ctx, const void *buf, size_t len);

/* The allocator the encoder must use (mem.h: fork children). */
const struct fmt_alloc *shim_output_alloc(void);

/* Makes the written file the dump: fsync, link to its name (a name taken
 * meanwhile fails, op "link" EEXIST), fsync the directory.  0, or -1
 * with *err filled (err->in_place as for shim_output_write).  Closes f
 * either way. */
int shim_output_commit(struct shim_out_file *f, struct shim_out_err *err);

/* Drops the file (nothing of it stays) and closes f. */
void shim_output_abort(struct shim_out_file *f);

#endif /* MUPPY_SHIM_OUTPUT_H */
