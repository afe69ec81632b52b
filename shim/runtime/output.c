/*
 * output.c - atomic dump files (see output.h for the contract) and the
 * overridable system-call table they are written through.
 *
 * DESIGN NOTES
 *   1. The directory is opened afresh for every dump (by the absolute path
 *      resolved at start-up) instead of keeping a descriptor for the life
 *      of the process: daemons close or dup2 over descriptors they do not
 *      know, and a kept fd could then name somebody else's file.
 *   2. Names are never replaced: the final name is made with linkat(),
 *      which fails with EEXIST rather than overwrite (rename() would
 *      replace).  File systems without hard links fall back to
 *      renameat2(RENAME_NOREPLACE).  The tmp file is created with
 *      O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink planted at either name is
 *      never followed: EEXIST, next sequence number.
 *   3. Order: write, fsync(file), link, unlink(tmp), fsync(dir).  A reader
 *      never sees a partial file under the final name.
 *   4. On any failure before the link, the tmp file is unlinked; nothing
 *      of ours stays behind.
 *   5. Where the file system supports O_TMPFILE (ext4, xfs, btrfs, tmpfs)
 *      the file is written as an unnamed inode in the directory and only
 *      linked in once complete, so even a process killed mid-dump
 *      (os._exit while the worker writes, SIGKILL) leaves nothing behind.
 *      Elsewhere the named `<name>.tmp.<pid>` file is used, which such a
 *      kill can leave behind.
 */
#include "shim/runtime/output.h"

#include <errno.h>       /* errno, E* */
#include <fcntl.h>       /* openat, O_*, AT_* */
#include <limits.h>      /* PATH_MAX, NAME_MAX */
#include <stdio.h>       /* snprintf, RENAME_NOREPLACE */
#include <stdlib.h>      /* strtol */
#include <string.h>      /* strcmp, strchr, strlen */
#include <sys/stat.h>    /* fstatat, struct stat */
#include <sys/syscall.h> /* SYS_renameat2 */
#include <unistd.h>      /* write, fsync, close, linkat, unlinkat, syscall */

#include "shim/walk/mem.h"      /* mem_alloc, mem_free: the encoder's memory */

#define OUTPUT_MAX_TRIES 1000

/* ---- the system-call table ------------------------------------------ */

/* Injected errno per operation (0: run the real call).  Plain ints: set
 * by tests before the calls they want to fail, read by the writer. */
static volatile int output_fail[SHIM_FAIL_NOPS];

static int
sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	if (output_fail[SHIM_FAIL_OPEN]) {
		errno = output_fail[SHIM_FAIL_OPEN];
		return -1;
	}
	return openat(dirfd, path, flags, mode);
}

static ssize_t
sys_write(int fd, const void *buf, size_t len)
{
	if (output_fail[SHIM_FAIL_WRITE]) {
		errno = output_fail[SHIM_FAIL_WRITE];
		return -1;
	}
	return write(fd, buf, len);
}

static int
sys_fsync(int fd)
{
	if (output_fail[SHIM_FAIL_FSYNC]) {
		errno = output_fail[SHIM_FAIL_FSYNC];
		return -1;
	}
	return fsync(fd);
}

static int
sys_close(int fd)
{
	/* The descriptor is released even when a failure is injected, as
	 * close() itself does on Linux. */
	int rc = close(fd);

	if (output_fail[SHIM_FAIL_CLOSE]) {
		errno = output_fail[SHIM_FAIL_CLOSE];
		return -1;
	}
	return rc;
}

static int
sys_linkat(int olddirfd, const char *oldpath, int newdirfd,
	   const char *newpath, int flags)
{
	if (output_fail[SHIM_FAIL_LINK]) {
		errno = output_fail[SHIM_FAIL_LINK];
		return -1;
	}
	return linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

static int
sys_unlinkat(int dirfd, const char *path, int flags)
{
	if (output_fail[SHIM_FAIL_UNLINK]) {
		errno = output_fail[SHIM_FAIL_UNLINK];
		return -1;
	}
	return unlinkat(dirfd, path, flags);
}

struct shim_sys shim_sys = {
	.openat = sys_openat,
	.write = sys_write,
	.fsync = sys_fsync,
	.close = sys_close,
	.linkat = sys_linkat,
	.unlinkat = sys_unlinkat,
};

static const char *const output_op_names[SHIM_FAIL_NOPS] = {
	"open", "write", "fsync", "close", "link", "unlink", "walk", "tmpfile",
	"child", "helper",
};

static const struct {
	const char *name;
	int value;
} output_errnos[] = {
	{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EACCES", EACCES },
	{ "EROFS", EROFS },   { "ENOMEM", ENOMEM },
	{ "EPERM", EPERM },   { "EEXIST", EEXIST }, { "EFBIG", EFBIG },
	{ "EINTR", EINTR },   { "EBADF", EBADF }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "EDQUOT", EDQUOT }, { "EAGAIN", EAGAIN },
};

static int
output_parse_errno(const char *s, size_t len)
{
	char buf[16];
	char *end;
	long v;
	size_t i;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (i = 0; i < sizeof output_errnos / sizeof output_errnos[0]; i++)
		if (!strcmp(buf, output_errnos[i].name))
			return output_errnos[i].value;
	v = strtol(buf, &end, 10);
	if (*end || v <= 0 || v > 4095)
		return -1;
	return (int)v;
}

/* Parses one `op:ERR` item of length len into *op and *err. */
static int
output_parse_item(const char *s, size_t len, int *op, int *err)
{
	const char *colon = memchr(s, ':', len);
	size_t oplen;
	int i;

	if (!colon)
		return -1;
	oplen = (size_t)(colon - s);
	for (i = 0; i < SHIM_FAIL_NOPS; i++) {
		if (strlen(output_op_names[i]) == oplen &&
		    !memcmp(output_op_names[i], s, oplen))
			break;
	}
	if (i == SHIM_FAIL_NOPS)
		return -1;
	*op = i;
	*err = output_parse_errno(colon + 1, len - oplen - 1);
	return *err > 0 ? 0 : -1;
}

int
shim_sys_inject(const char *spec)
{
	int fail[SHIM_FAIL_NOPS] = { 0 };
	const char *p = spec;
	int i;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int op, err;

		if (output_parse_item(p, len, &op, &err) != 0 ||
		    (comma && !comma[1]))
			return -1;
		fail[op] = err;
		p = comma ? comma + 1 : NULL;
	}
	for (i = 0; i < SHIM_FAIL_NOPS; i++)
		output_fail[i] = fail[i];
	return 0;
}

int
shim_sys_injected(enum shim_fail_op op)
{
	return (unsigned)op < SHIM_FAIL_NOPS ? output_fail[op] : 0;
}

/* ---- the writer ------------------------------------------------------ */

/* fmt_sink_fn: writes all of buf, retrying short writes and EINTR. */
static int
output_sink_write(void *ctx, const void *buf, size_t len)
{
	struct output_sink *s = ctx;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = shim_sys.write(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->errnum = n < 0 ? errno : EIO;
			return -s->errnum;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
output_fail_with(struct shim_out_err *err, const char *op, int errnum)
{
	err->op = op;
	err->errnum = errnum;
	return -1;
}

/* Moves tmp to name without ever replacing name (design note 2).
 * Returns 0, 1 (linked but the tmp name could not be removed), or -1
 * with errno set (EEXIST: name is taken). */
static int
output_link_named(int dfd, const char *tmp, const char *name)
{
	if (shim_sys.linkat(dfd, tmp, dfd, name, 0) == 0)
		return shim_sys.unlinkat(dfd, tmp, 0) == 0 ? 0 : 1;
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
#ifdef SYS_renameat2
	/* No hard links here (vfat, some FUSE): rename without replacing. */
	if (syscall(SYS_renameat2, dfd, tmp, dfd, name, 1 /* NOREPLACE */) == 0)
		return 0;
#endif
	return -1;
}

/* Gives the unnamed O_TMPFILE file fd the name; never replaces.  Linking
 * by descriptor needs CAP_DAC_READ_SEARCH; /proc/self/fd works for
 * everybody.  Returns 0 or -1 with errno set (EEXIST: name is taken). */
static int
output_link_unnamed(int fd, int dfd, const char *name)
{
	char proc[64];

	if (shim_sys.linkat(fd, "", dfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno == EEXIST)
		return -1;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return shim_sys.linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW);
}

/* The encoder's memory, through mem.h: a snapshot child must not use
 * glibc's malloc. */
static void *
output_mem_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return mem_alloc(n);
}

static void
output_mem_free(void *ctx, void *p)
{
	(void)ctx;
	mem_free(p);
}

static const struct fmt_alloc output_alloc = {
	output_mem_alloc, output_mem_free, NULL,
};

/* Encodes dump into fd and fsyncs it; fd stays open.  Returns 0 or -1
 * with *err filled. */
static int
output_fill(int fd, const struct fmt_dump *dump, int level,
	    struct shim_out_err *err)
{
	struct output_sink sink = { fd, 0 };
	int rc = fmt_write_with(dump, level, &output_alloc, output_sink_write,
				&sink);

	if (rc == MUPPY_EIO)
		return output_fail_with(err, "write",
					sink.errnum ? sink.errnum : EIO);
	if (rc != 0)
		return output_fail_with(err, "encode",
					rc == MUPPY_ENOMEM ? ENOMEM : EINVAL);
	if (shim_sys.fsync(fd) != 0)
		return output_fail_with(err, "fsync", errno);
	return 0;
}

/* 1: name exists (as anything, symlinks not followed), 0: it does not,
 * -1: cannot tell (errno set). */
static int
output_exists(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* Opens the file the dump is written to: an unnamed O_TMPFILE inode in
 * the directory when the file system supports it (design note 5), else
 * the named tmp file.  *named says which.  Returns the fd or -1 (errno). */
static int
output_open_tmp(int dfd, const char *tmp, int *named)
{
	int fd;

	*named = 0;
	if (!output_fail[SHIM_FAIL_TMPFILE]) {
		fd = shim_sys.openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
				     0600);
		if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
				errno != EINVAL))
			return fd;
	}
	*named = 1;
	return shim_sys.openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
			       O_NOFOLLOW | O_CLOEXEC, 0600);
}

/*
 * Gives the written and fsynced file fd (O_TMPFILE when !named, else the
 * file tmp) its name, and closes fd: 0 done, 1 the name was taken since
 * we looked (nothing of ours left), -1 failed (*err filled; nothing left
 * behind unless err->in_place, when the dump is complete under name).
 */
static int
output_place(int fd, int named, int dfd, const char *tmp, const char *name,
	     struct shim_out_err *err)
{
	int rc;

	if (!named) {
		rc = output_link_unnamed(fd, dfd, name);
		if (rc != 0) {
			int e = errno;

			shim_sys.close(fd);
			return e == EEXIST ? 1 : output_fail_with(err, "link", e);
		}
		if (shim_sys.close(fd) != 0) {
			/* Linked and fsynced already: the dump is complete. */
			err->in_place = 1;
			return output_fail_with(err, "close", errno);
		}
		return 0;
	}
	if (shim_sys.close(fd) != 0) {
		output_fail_with(err, "close", errno);
		shim_sys.unlinkat(dfd, tmp, 0);
		return -1;
	}
	rc = output_link_named(dfd, tmp, name);
	if (rc < 0 && errno == EEXIST) {
		shim_sys.unlinkat(dfd, tmp, 0);
		return 1;
	}
	if (rc < 0) {
		output_fail_with(err, "link", errno);
		shim_sys.unlinkat(dfd, tmp, 0);
		return -1;
	}
	if (rc > 0) {
		err->in_place = 1;
		return output_fail_with(err, "unlink", errno);
	}
	return 0;
}

/* One attempt at seq: 0 done, 1 name taken (try the next seq), -1 failed
 * (*err filled; nothing of ours left behind unless err->in_place). */
static int
output_try(int dfd, const char *name, const char *tmp,
	   const struct fmt_dump *dump, int level, struct shim_out_err *err)
{
	int fd, named;

	fd = output_open_tmp(dfd, tmp, &named);
	if (fd < 0 && errno == EEXIST)
		return 1;
	if (fd < 0)
		return output_fail_with(err, "dir", errno);
	if (output_fill(fd, dump, level, err) != 0) {
		shim_sys.close(fd);
		if (named)
			shim_sys.unlinkat(dfd, tmp, 0);
		return -1;
	}
	return output_place(fd, named, dfd, tmp, name, err);
}

/* Opens dir for openat/linkat/fsync; -1 with *err filled on failure. */
static int
output_open_dir(const char *dir, struct shim_out_err *err)
{
	int dfd;

	err->op = NULL;
	err->errnum = 0;
	err->in_place = 0;
	dfd = shim_sys.openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY |
			      O_CLOEXEC, 0);
	if (dfd < 0)
		output_fail_with(err, "dir", errno);
	return dfd;
}

/* Splits path into its directory (into dir, size bytes; "." when it has
 * none) and its last component (*name, within path).  0, or -1 with *err
 * filled (op "path"). */
static int
output_split_path(const char *path, char *dir, size_t size,
		  const char **name, struct shim_out_err *err)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;

	*name = slash ? slash + 1 : path;
	if (!**name || strlen(*name) > NAME_MAX || dlen >= size)
		return output_fail_with(err, "path", !**name ? EISDIR :
					ENAMETOOLONG);
	if (slash && dlen == 0)
		dlen = 1;   /* "/name": the root directory */
	memcpy(dir, slash ? path : ".", slash ? dlen : 1);
	dir[slash ? dlen : 1] = '\0';
	return 0;
}

/* After a successful output_try: makes the new name durable. */
static int
output_sync_dir(int dfd, struct shim_out_err *err)
{
	if (shim_sys.fsync(dfd) == 0)
		return 0;
	err->in_place = 1;
	return output_fail_with(err, "fsync dir", errno);
}

int
shim_output_write(const char *dir, long pid, uint32_t *seq, int level,
		  shim_dump_for_seq_fn dump_for, void *ctx,
		  struct shim_out_err *err)
{
	char name[64], tmp[96];
	int dfd, tries, rc = -1;

	dfd = output_open_dir(dir, err);
	if (dfd < 0)
		return -1;
	for (tries = 0; tries < OUTPUT_MAX_TRIES; tries++, (*seq)++) {
		int ex, r;

		snprintf(name, sizeof name, "muppy.%ld.%u.dump", pid, *seq);
		snprintf(tmp, sizeof tmp, "%s.tmp.%ld", name, pid);
		ex = output_exists(dfd, name);
		if (ex < 0) {
			output_fail_with(err, "dir", errno);
			goto out;
		}
		if (ex)
			continue;
		r = output_try(dfd, name, tmp, dump_for(ctx, *seq), level, err);
		if (r > 0)
			continue;
		if (r == 0)
			rc = output_sync_dir(dfd, err);
		goto out;
	}
	output_fail_with(err, "dir", EEXIST);
out:
	close(dfd);
	return rc;
}

int
shim_output_write_path(const char *path, long pid, uint32_t seq, int level,
		       shim_dump_for_seq_fn dump_for, void *ctx,
		       struct shim_out_err *err)
{
	char dir[PATH_MAX], tmp[NAME_MAX + 32];
	const char *name;
	int dfd, r, rc = -1;

	err->op = NULL;
	err->in_place = 0;
	if (output_split_path(path, dir, sizeof dir, &name, err) != 0)
		return -1;
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", name, pid);
	dfd = output_open_dir(dir, err);
	if (dfd < 0)
		return -1;
	r = output_exists(dfd, name);
	if (r != 0) {
		output_fail_with(err, "path", r > 0 ? EEXIST : errno);
		goto out;
	}
	r = output_try(dfd, name, tmp, dump_for(ctx, seq), level, err);
	if (r > 0)
		output_fail_with(err, "path", EEXIST);
	else if (r == 0)
		rc = output_sync_dir(dfd, err);
out:
	close(dfd);
	return rc;
}

/* ---- a file opened before its dump is made (streamed snapshots) ------- */

/* Picks the first free name from f->seq on (dir mode) or the one path,
 * and opens the temporary file.  0 or -1 with *err filled. */
static int
output_open_free(struct shim_out_file *f, long pid, struct shim_out_err *err)
{
	for (int tries = 0; tries < OUTPUT_MAX_TRIES; tries++, f->seq++) {
		int ex;

		if (!f->path_mode)
			snprintf(f->name, sizeof f->name, "muppy.%ld.%u.dump",
				 pid, f->seq);
		snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld", f->name, pid);
		ex = output_exists(f->dfd, f->name);
		if (ex < 0)
			return output_fail_with(err, "dir", errno);
		if (ex && f->path_mode)
			return output_fail_with(err, "path", EEXIST);
		if (ex)
			continue;
		f->sink.fd = output_open_tmp(f->dfd, f->tmp, &f->named);
		if (f->sink.fd >= 0)
			return 0;
		if (errno != EEXIST)
			return output_fail_with(err, "dir", errno);
		if (f->path_mode)
			return output_fail_with(err, "path", EEXIST);
	}
	return output_fail_with(err, "dir", EEXIST);
}

int
shim_output_open(struct shim_out_file *f, const char *dir, const char *path,
		 long pid, uint32_t seq, struct shim_out_err *err)
{
	memset(f, 0, sizeof *f);
	f->dfd = f->sink.fd = -1;
	f->seq = seq;
	if (path) {
		const char *name;

		err->op = NULL;
		err->in_place = 0;
		if (output_split_path(path, f->dir, sizeof f->dir, &name,
				      err) != 0)
			return -1;
		snprintf(f->name, sizeof f->name, "%s", name);
		f->path_mode = 1;
	} else {
		snprintf(f->dir, sizeof f->dir, "%s", dir);
	}
	f->dfd = output_open_dir(f->dir, err);
	if (f->dfd < 0)
		return -1;
	if (output_open_free(f, pid, err) == 0)
		return 0;
	close(f->dfd);
	f->dfd = -1;
	return -1;
}

int
shim_output_sink(void *ctx, const void *buf, size_t len)
{
	return output_sink_write(ctx, buf, len);
}

const struct fmt_alloc *
shim_output_alloc(void)
{
	return &output_alloc;
}

void
shim_output_abort(struct shim_out_file *f)
{
	if (f->sink.fd >= 0)
		shim_sys.close(f->sink.fd);
	if (f->named && f->dfd >= 0)
		shim_sys.unlinkat(f->dfd, f->tmp, 0);
	if (f->dfd >= 0)
		close(f->dfd);
	f->sink.fd = f->dfd = -1;
}

/* fsync, then the name: the same steps as output_try's, except that a
 * name taken meanwhile is an error (the file's META already says seq). */
int
shim_output_commit(struct shim_out_file *f, struct shim_out_err *err)
{
	int fd = f->sink.fd, rc;

	err->op = NULL;
	err->errnum = 0;
	err->in_place = 0;
	if (f->sink.errnum || shim_sys.fsync(fd) != 0) {
		output_fail_with(err, f->sink.errnum ? "write" : "fsync",
				 f->sink.errnum ? f->sink.errnum : errno);
		shim_output_abort(f);
		return -1;
	}
	f->sink.fd = -1;
	rc = output_place(fd, f->named, f->dfd, f->tmp, f->name, err);
	if (rc > 0)   /* the number was ours: someone else took the name */
		output_fail_with(err, f->path_mode ? "path" : "link", EEXIST);
	else if (rc == 0)
		rc = output_sync_dir(f->dfd, err);
	close(f->dfd);
	f->dfd = -1;
	return rc ? -1 : 0;
}
