/*
 * settings.c - parsers of the MUPPY_* values (settings.h), used by the
 * shim at start-up and by the tool before it starts or signals a process.
 *
 * Uses no stdio and allocates nothing: the shim calls it from its
 * constructor, inside someone else's process.
 */
#include "common/settings.h"

#include <errno.h>    /* errno */
#include <math.h>     /* isfinite */
#include <signal.h>   /* SIG*, SIGRTMIN, SIGRTMAX */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* strtod, strtoul */
#include <string.h>   /* strcmp, strlen */
#include <strings.h>  /* strcasecmp, strncasecmp */

/* The named signals a dump may take over (settings.h says which are left
 * out and why).  Real-time signals are accepted by number or RTMIN+n. */
static const struct {
	const char *name;
	int signo;
} settings_signals[] = {
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
	{ "INT", SIGINT },   { "QUIT", SIGQUIT }, { "TERM", SIGTERM },
	{ "ALRM", SIGALRM }, { "PROF", SIGPROF }, { "VTALRM", SIGVTALRM },
	{ "WINCH", SIGWINCH }, { "URG", SIGURG }, { "PWR", SIGPWR },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "IO", SIGIO },
};

#define SETTINGS_NSIGNALS (sizeof settings_signals / sizeof settings_signals[0])

static int
settings_all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int
settings_parse_uint(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	/* strtoul alone would accept " -1" and "+1". */
	if (!s || !settings_all_digits(s) || strlen(s) > 10)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
settings_signal_allowed(int signo)
{
	size_t i;

	if (signo >= SIGRTMIN && signo <= SIGRTMAX)
		return 1;
	for (i = 0; i < SETTINGS_NSIGNALS; i++)
		if (settings_signals[i].signo == signo)
			return 1;
	return 0;
}

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (after the SIG prefix). */
static int
settings_parse_rt(const char *s, int *out)
{
	uint32_t n = 0;
	int base, sign;

	if (!strncasecmp(s, "RTMIN", 5)) {
		base = SIGRTMIN;
		sign = 1;
	} else if (!strncasecmp(s, "RTMAX", 5)) {
		base = SIGRTMAX;
		sign = -1;
	} else {
		return -1;
	}
	s += 5;
	if (*s) {
		if (*s != (sign > 0 ? '+' : '-') ||
		    settings_parse_uint(s + 1, 64, &n) != 0)
			return -1;
	}
	if (!settings_signal_allowed(base + sign * (int)n))
		return -1;
	*out = base + sign * (int)n;
	return 0;
}

int
settings_parse_signal(const char *s, int *out)
{
	uint32_t n;
	size_t i;

	if (!s)
		return -1;
	if (!strcmp(s, "0") || !strcasecmp(s, "none")) {
		*out = 0;
		return 0;
	}
	if (settings_all_digits(s)) {
		if (settings_parse_uint(s, 1000, &n) != 0 ||
		    !settings_signal_allowed((int)n))
			return -1;
		*out = (int)n;
		return 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (i = 0; i < SETTINGS_NSIGNALS; i++) {
		if (!strcasecmp(s, settings_signals[i].name)) {
			*out = settings_signals[i].signo;
			return 0;
		}
	}
	return settings_parse_rt(s, out);
}

const char *
settings_signal_name(int signo, char *buf, size_t len)
{
	size_t i;

	if (signo == 0) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (i = 0; i < SETTINGS_NSIGNALS; i++) {
		if (settings_signals[i].signo == signo) {
			snprintf(buf, len, "%s", settings_signals[i].name);
			return buf;
		}
	}
	if (signo == SIGRTMIN)
		snprintf(buf, len, "RTMIN");
	else if (signo > SIGRTMIN && signo <= SIGRTMAX)
		snprintf(buf, len, "RTMIN+%d", signo - SIGRTMIN);
	else
		return NULL;
	return buf;
}

int
settings_parse_interval(const char *s, uint64_t *out_ns)
{
	double v;
	char *end;

	/* strtod would take blanks, a sign, "inf" and hex floats. */
	if (!s || !*s || *s == '-' || *s == '+' ||
	    strspn(s, "0123456789.eE+-") != strlen(s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 ||
	    v > SETTINGS_INTERVAL_MAX_S)
		return -1;
	if (v != 0 && v < SETTINGS_INTERVAL_MIN_S)
		return -1;
	*out_ns = (uint64_t)(v * 1e9 + 0.5);
	return 0;
}

int
settings_parse_bool(const char *s, int *out)
{
	if (!s || (strcmp(s, "0") && strcmp(s, "1")))
		return -1;
	*out = s[0] == '1';
	return 0;
}

int
settings_parse_mode(const char *s, int *graph)
{
	if (s && !strcmp(s, "graph"))
		*graph = 1;
	else if (s && !strcmp(s, "summary"))
		*graph = 0;
	else
		return -1;
	return 0;
}

int
settings_parse_snapshot(const char *s, int *fork)
{
	if (s && !strcmp(s, "fork"))
		*fork = 1;
	else if (s && !strcmp(s, "inline"))
		*fork = 0;
	else
		return -1;
	return 0;
}
