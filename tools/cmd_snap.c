/*
 * cmd_snap.c - `muppy snap PID`: asks a process started under the shim
 * for a dump now, waits for it, and prints the new file's path.
 *
 * How: check /proc/PID/maps for libmuppy.so (a signal to a process without
 * the shim would, for SIGUSR1, kill it); read the shim's MUPPY_DIR and
 * MUPPY_SIGNAL from /proc/PID/environ (the environment the process started
 * with, which is what the shim read at start-up); note the dumps of PID
 * already in the directory; send the signal; poll the directory with
 * backoff until a NEW muppy.PID.<seq>.dump appears.  The shim writes
 * `<name>.tmp.<pid>` and links it to the final name only when complete,
 * so the final name existing means the dump is whole.
 *
 * Limits, on purpose: a relative MUPPY_DIR is resolved against the
 * process's working directory NOW (the shim resolved it at start-up; if
 * the process has changed directory since, pass --dir).  If a timer dump
 * lands at the same moment, the first new file is reported.
 */
#include <dirent.h>   /* opendir, readdir */
#include <errno.h>    /* errno, ESRCH */
#include <limits.h>   /* PATH_MAX */
#include <signal.h>   /* kill */
#include <stdint.h>   /* uint64_t, INT32_MAX */
#include <stdio.h>    /* FILE, fopen, getline, snprintf */
#include <stdlib.h>   /* malloc, realloc, free, strtoull */
#include <string.h>   /* strncmp, strstr, strlen, strerror */
#include <time.h>     /* clock_gettime, nanosleep */
#include <unistd.h>   /* readlink */

#include "common/clock.h" /* muppy_now_ns */
#include "common/settings.h" /* settings_parse_signal */
#include "tools/muppy.h"   /* cmd_snap, MUPPY_USAGE_SNAP */
#include "tools/util.h"    /* option parsing, util_error */

#define SNAP_TIMEOUT 30   /* seconds, by default */

static const char snap_help[] =
	"usage: " MUPPY_USAGE_SNAP "\n"
	"\n"
	"Makes process PID (started with 'muppy run' or with libmuppy.so in\n"
	"LD_PRELOAD) write a dump now: sends it the shim's signal, waits for\n"
	"the new muppy.PID.<seq>.dump, and prints its path.\n"
	"\n"
	"  --timeout S      give up after S seconds "
	"(default " UTIL_STR(SNAP_TIMEOUT) ")\n"
	"  --dir D          where the process writes its dumps (default: its\n"
	"                   MUPPY_DIR, else its working directory)\n"
	"  -h, --help       this help\n";

struct snap {
	int pid;
	double timeout;
	const char *dir_opt;      /* --dir, or NULL */
	char dir[PATH_MAX];       /* where to look */
	int sig;
	uint64_t *seen;           /* seqs of the dumps there before */
	size_t nseen, capseen;
};

/* Parses argv into *s; 0 when the command must return *status at once. */
static int
parse_args(int argc, char **argv, struct snap *s, int *status)
{
	const char *pid = NULL;
	const struct util_option opts[] = {
		UTIL_OPT_SECONDS("timeout", 't', &s->timeout),
		UTIL_OPT_STRING("dir", 'd', &s->dir_opt),
		UTIL_OPTIONS_END,
	};
	const struct util_command cmd = {
		MUPPY_USAGE_SNAP, snap_help, opts, &pid, 1, 1,
		"a process id is needed", NULL, NULL,
	};
	int64_t n = 0;

	s->timeout = SNAP_TIMEOUT;
	if (!util_parse_command(&cmd, argc, argv, status))
		return 0;
	*status = util_parse_int("PID", pid, 1, INT32_MAX, MUPPY_USAGE_SNAP,
				 &n);
	s->pid = (int)n;
	return *status == 0;
}

/* 1 if /proc/PID/maps names libmuppy.so, 0 if not, -1 (printed) if it
 * cannot be read. */
static int
has_shim(int pid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			util_error("no process with pid %d", pid);
		else
			util_error("cannot read %s: %s", path,
				   strerror(errno));
		return -1;
	}
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, "libmuppy.so") != NULL;
	free(line);
	fclose(f);
	return found;
}

/* Value of NAME in /proc/PID/environ into buf ("" if unset).  Returns 0,
 * or -1 (errno set) if the file cannot be read. */
static int
proc_getenv(int pid, const char *name, char *buf, size_t len)
{
	char path[64], *entry = NULL;
	size_t cap = 0, nlen = strlen(name);
	ssize_t n;
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof path, "/proc/%d/environ", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while ((n = getdelim(&entry, &cap, '\0', f)) > 0)
		if ((size_t)n > nlen && strncmp(entry, name, nlen) == 0 &&
		    entry[nlen] == '=') {
			snprintf(buf, len, "%s", entry + nlen + 1);
			break;
		}
	free(entry);
	fclose(f);
	return 0;
}

/* The process's working directory into buf. */
static int
proc_cwd(int pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/cwd", pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return util_error("cannot read %s: %s", path, strerror(errno));
	buf[n] = '\0';
	return 0;
}

/* How process pid disposes of sig, from the SigIgn and SigCgt masks of
 * /proc/PID/status (hex, signals 1..64). */
enum disposition { DISP_UNKNOWN, DISP_CAUGHT, DISP_IGNORED, DISP_DEFAULT };

static enum disposition
signal_disposition(int pid, int sig)
{
	char path[64], line[256];
	unsigned long long ign = 0, cgt = 0;
	int found = 0;
	FILE *f;

	if (sig < 1 || sig > 64)
		return DISP_UNKNOWN;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return DISP_UNKNOWN;
	while (found < 2 && fgets(line, sizeof line, f))
		found += sscanf(line, "SigIgn: %llx", &ign) == 1 ||
			 sscanf(line, "SigCgt: %llx", &cgt) == 1;
	fclose(f);
	if (found < 2)
		return DISP_UNKNOWN;
	if ((cgt >> (sig - 1)) & 1)
		return DISP_CAUGHT;
	return (ign >> (sig - 1)) & 1 ? DISP_IGNORED : DISP_DEFAULT;
}

/*
 * The shim keeps the dump signal caught unless the program itself set
 * SIG_IGN or SIG_DFL for it (shim/runtime/signals.c, notes 3 and 4): then the
 * signal would be ignored, or would kill the process.  Returns 0 if it is
 * safe and useful to send, else prints why and returns the exit status.
 */
static int
check_disposition(const struct snap *s)
{
	char name[32];
	const char *n = settings_signal_name(s->sig, name, sizeof name);

	switch (signal_disposition(s->pid, s->sig)) {
	case DISP_IGNORED:
		return util_error("process %d ignores SIG%s (SIG_IGN, its own "
				  "setting), so it cannot be asked for a dump "
				  "by that signal; use MUPPY_INTERVAL or "
				  "muppy.dump()", s->pid, n);
	case DISP_DEFAULT:
		return util_error("process %d has set SIG%s back to its default "
				  "action itself, so the signal would terminate "
				  "it; not sent", s->pid, n);
	default:
		return 0;
	}
}

/* Where the dumps go and which signal asks for one (file head). */
static int
find_dir_and_signal(struct snap *s)
{
	char dir[PATH_MAX], sig[64], cwd[PATH_MAX];

	if (proc_getenv(s->pid, "MUPPY_DIR", dir, sizeof dir) != 0 ||
	    proc_getenv(s->pid, "MUPPY_SIGNAL", sig, sizeof sig) != 0)
		return util_error("cannot read /proc/%d/environ: %s", s->pid,
				  strerror(errno));
	s->sig = SIGUSR1;
	if (sig[0] && settings_parse_signal(sig, &s->sig) != 0)
		return util_error("process %d has MUPPY_SIGNAL=%s, which the "
				  "shim does not use (expected %s)", s->pid,
				  sig, SETTINGS_EXPECT_SIGNAL);
	if (s->sig == 0)
		return util_error("process %d has dump signals disabled "
				  "(MUPPY_SIGNAL=%s)", s->pid, sig);
	if (s->dir_opt) {
		snprintf(s->dir, sizeof s->dir, "%s", s->dir_opt);
		return 0;
	}
	if (dir[0] == '/') {
		snprintf(s->dir, sizeof s->dir, "%s", dir);
		return 0;
	}
	if (proc_cwd(s->pid, cwd, sizeof cwd) != 0)
		return MUPPY_EXIT_FAILURE;
	if (!dir[0])
		snprintf(s->dir, sizeof s->dir, "%s", cwd);
	else if ((size_t)snprintf(s->dir, sizeof s->dir, "%s/%s", cwd, dir)
		 >= sizeof s->dir)
		return util_error("dump directory path too long");
	return 0;
}

/* The seq of "muppy.PID.<seq>.dump", or 0 if name is not a dump of pid
 * (temporary names "*.tmp.*" are not). */
static uint64_t
dump_seq(const char *name, int pid)
{
	char prefix[40];
	size_t plen = (size_t)snprintf(prefix, sizeof prefix, "muppy.%d.",
				       pid);
	const char *p = name + plen;
	char *end;
	uint64_t seq;

	if (strncmp(name, prefix, plen) != 0 || *p < '0' || *p > '9')
		return 0;
	seq = strtoull(p, &end, 10);
	return strcmp(end, ".dump") == 0 ? seq : 0;
}

static int
seen_add(struct snap *s, uint64_t seq)
{
	if (s->nseen == s->capseen) {
		size_t cap = s->capseen ? 2 * s->capseen : 16;
		uint64_t *n = realloc(s->seen, cap * sizeof *n);
		if (!n)
			return -1;
		s->seen = n;
		s->capseen = cap;
	}
	s->seen[s->nseen++] = seq;
	return 0;
}

static int
seen_has(const struct snap *s, uint64_t seq)
{
	for (size_t i = 0; i < s->nseen; i++)
		if (s->seen[i] == seq)
			return 1;
	return 0;
}

/*
 * Scans the directory.  record: add every dump of pid to s->seen.
 * Otherwise: *found = the smallest seq not seen before (0: none).
 * Returns 0, or an exit status (printed).
 */
static int
scan_dir(struct snap *s, int record, uint64_t *found)
{
	DIR *dir = opendir(s->dir);
	struct dirent *e;

	*found = 0;
	if (!dir)
		return util_error("cannot read the dump directory %s: %s",
				  s->dir, strerror(errno));
	while ((e = readdir(dir))) {
		uint64_t seq = dump_seq(e->d_name, s->pid);
		if (!seq)
			continue;
		if (record) {
			if (seen_add(s, seq) != 0) {
				closedir(dir);
				return util_error("out of memory");
			}
		} else if (!seen_has(s, seq) && (!*found || seq < *found)) {
			*found = seq;
		}
	}
	closedir(dir);
	return 0;
}

/* Whether the process still runs (a zombie does not). */
static int
alive(int pid)
{
	char path[64], buf[512], *paren;
	FILE *f;
	size_t n;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');  /* the command name may hold ')' */
	return !(paren && paren[1] == ' ' && (paren[2] == 'Z' ||
					      paren[2] == 'X'));
}

static double
now(void)
{
	return (double)muppy_now_ns(CLOCK_MONOTONIC) / 1e9;
}

static void
sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) *
						 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Polls until a new dump appears (printed: 0), the process is gone or
 * the time is up (1). */
static int
wait_for_dump(struct snap *s)
{
	double deadline = now() + s->timeout, delay = 0.01;
	uint64_t seq;
	int rc;

	for (;;) {
		int was_alive = alive(s->pid);
		if ((rc = scan_dir(s, 0, &seq)))
			return rc;
		if (seq) {
			printf("%s/muppy.%d.%llu.dump\n", s->dir, s->pid,
			       (unsigned long long)seq);
			return util_finish_stdout(MUPPY_EXIT_OK);
		}
		if (!was_alive)
			return util_error("process %d exited before writing "
					  "a dump", s->pid);
		if (now() >= deadline)
			return util_error("no new dump from process %d in %s "
					  "after %g seconds", s->pid, s->dir,
					  s->timeout);
		sleep_s(delay < deadline - now() ? delay : deadline - now());
		delay = delay * 2 < 0.25 ? delay * 2 : 0.25;
	}
}

int
cmd_snap(int argc, char **argv)
{
	struct snap s = {0};
	uint64_t unused;
	int rc;

	if (!parse_args(argc, argv, &s, &rc))
		return rc;
	rc = has_shim(s.pid);
	if (rc < 0)
		return MUPPY_EXIT_FAILURE;
	if (rc == 0)
		return util_error("process %d does not have libmuppy.so loaded"
				  " (start it with 'muppy run')", s.pid);
	if ((rc = find_dir_and_signal(&s)) ||
	    (rc = scan_dir(&s, 1, &unused)))
		goto done;
	if ((rc = check_disposition(&s)))
		goto done;
	if (kill(s.pid, s.sig) != 0) {
		rc = errno == ESRCH ?
		     util_error("process %d is gone", s.pid) :
		     util_error("cannot signal process %d: %s", s.pid,
				strerror(errno));
		goto done;
	}
	rc = wait_for_dump(&s);
done:
	free(s.seen);
	return rc;
}
