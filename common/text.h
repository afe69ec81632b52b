/*
 * text.h - the growable string and the character count that the shim's
 * Python module and the muppy tool both build their text with.
 *
 * A struct text_buf starts zeroed, grows with realloc and is always
 * NUL-terminated once anything was added.  When an append cannot get
 * memory, oom is set and every later append is dropped: the text is then
 * cut, never invalid, and the caller decides whether that is an error
 * (the Python module raises MemoryError, the tool prints what it has).
 */
#ifndef MUPPY_COMMON_TEXT_H
#define MUPPY_COMMON_TEXT_H

#include <stddef.h>   /* size_t */

#ifdef __cplusplus
extern "C" {
#endif

struct text_buf {
	char *s;          /* NULL until the first append */
	size_t len, cap;
	int oom;
};

void text_add(struct text_buf *b, const char *s, size_t n);
void text_str(struct text_buf *b, const char *s);
void text_addf(struct text_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* n spaces. */
void text_pad(struct text_buf *b, size_t n);
/* b's text, "" when nothing was added. */
static inline const char *
text_cstr(const struct text_buf *b)
{
	return b->s ? b->s : "";
}
void text_free(struct text_buf *b);

/* Characters of the UTF-8 text s[0..n) as Python's len() counts them
 * (code points: the bytes that do not continue a sequence). */
size_t text_width(const char *s, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_COMMON_TEXT_H */
