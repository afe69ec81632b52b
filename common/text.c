/*
 * text.c - growable strings and character counts (text.h).
 */
#include "common/text.h"

#include <stdarg.h>   /* va_list */
#include <stdio.h>    /* vsnprintf */
#include <stdlib.h>   /* realloc, free */
#include <string.h>   /* memcpy, memset, strlen */

/* Room for more bytes and the NUL; 0, or -1 with oom set. */
static int
text_reserve(struct text_buf *b, size_t more)
{
	size_t need, cap;
	char *s;

	if (b->oom)
		return -1;
	if (more > (size_t)-1 / 2 - b->len) {
		b->oom = 1;
		return -1;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

void
text_add(struct text_buf *b, const char *s, size_t n)
{
	if (text_reserve(b, n) != 0)
		return;
	if (n)
		memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
text_str(struct text_buf *b, const char *s)
{
	text_add(b, s, strlen(s));
}

void
text_addf(struct text_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		text_add(b, small, (size_t)n);
		return;
	}
	if (text_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
text_pad(struct text_buf *b, size_t n)
{
	if (text_reserve(b, n) != 0)
		return;
	memset(b->s + b->len, ' ', n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
text_free(struct text_buf *b)
{
	if (!b)
		return;
	free(b->s);
	memset(b, 0, sizeof *b);
}

size_t
text_width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}
