/*
 * browse.h - the model of `muppy browse`: pages of rows over one dump
 * (the per-type summary, the leak suspects, the dominator tree, the
 * referrers and referents of an object, the path to it, the instances of
 * a type), a stack of them to go back through, and the screen they make,
 * as plain text lines.  No curses here: tools/browse_tui.c draws the
 * lines and reads the keys, `muppy browse --batch` (tools/cmd_browse.c)
 * and the unit tests feed keys and read the lines.
 *
 * DESIGN NOTES
 *   1. Everything a key needs is ready before the first screen: the
 *      graph's reverse index, the dominator tree (retained sizes, and its
 *      children as a CSR), and with older dumps the growth of every
 *      summary row and the leak suspects (tools/leaks.h).  A key then
 *      costs what its page costs: the referrers or referents of one
 *      object, one dominator subtree's children, one type's instances
 *      (a scan of the objects), sorted.  Shortest paths are computed on
 *      the first `p`.
 *   2. Children of one kind (same type and label, e.g. 8,000 closures
 *      `function (on_done)`) are one row `function (on_done) x 8000`
 *      once there are BR_GROUP_MIN of them; Enter opens the group as a
 *      page of its own, scrolled like any other.  Fewer are listed one
 *      by one.
 *   3. Enter goes on in the page's direction (referrers of a referrer,
 *      dominated children of a dominated child); r, f, d and p change it
 *      for the object under the cursor; Left goes back to the page, row
 *      and sort it came from.
 *   4. Only the rows on screen are turned into text, so a page of a
 *      million rows draws as fast as one of ten.
 */
#ifndef MUPPY_TOOLS_BROWSE_H
#define MUPPY_TOOLS_BROWSE_H

#include <stddef.h>   /* size_t */
#include <stdint.h>   /* uint32_t, uint64_t, int64_t */

#include "common/text.h"       /* struct text_buf */
#include "tools/dominators.h"  /* struct dom_tree */
#include "tools/graph.h"       /* struct graph, struct graph_paths */
#include "tools/leaks.h"       /* struct leaks_report */

#ifdef __cplusplus
extern "C" {
#endif

#define BR_GROUP_MIN 4      /* children of one kind from here on: a group */
#define BR_MAX_PAGES 4096   /* the back stack's depth */
#define BR_NONE UINT32_MAX

enum br_view {
	BR_SUMMARY,      /* the dump's per-type summary, with growth */
	BR_SUSPECTS,     /* the leak suspects (`muppy leaks`) */
	BR_DOMINATORS,   /* children of an object (or of all roots) in the
	                    dominator tree */
	BR_REFERRERS,    /* who refers to an object */
	BR_REFERENTS,    /* what an object refers to */
	BR_INSTANCES,    /* the objects of a summary row or a type */
	BR_GROUP,        /* the members of a group row */
	BR_PATH,         /* a root ... the object */
	BR_HELP,
};

/* The keys the model understands (printable characters are themselves). */
enum br_key {
	BR_KEY_UP = 0x110000, BR_KEY_DOWN, BR_KEY_PGUP, BR_KEY_PGDN,
	BR_KEY_HOME, BR_KEY_END, BR_KEY_LEFT, BR_KEY_RIGHT, BR_KEY_ENTER,
	BR_KEY_BACKSPACE, BR_KEY_ESC,
};

/* One row of a page. */
struct br_row {
	uint32_t obj;        /* the object; BR_NONE for other rows */
	uint32_t n;          /* a group: its members; else 1 */
	uint32_t first;      /* a group: its first member in page->members */
	uint32_t edge;       /* FMT_EDGE_NAME between the row and the page's
	                        subject, 0 if none or unknown */
	uint32_t ref;        /* summary row or suspect line; path: the step */
	uint64_t size, retained;
	int64_t dcount, dsize;   /* summary: growth since the oldest dump */
};

/* Page sort keys, cycled by `s` (br_sort_names). */
enum br_sort {
	BR_SORT_RETAINED, BR_SORT_SIZE, BR_SORT_COUNT, BR_SORT_GROWTH,
	BR_SORT_NAME, BR_SORT_ADDRESS, BR_NSORTS
};

struct br_page {
	enum br_view view;
	uint32_t subject;        /* the object the page is about, or BR_NONE */
	uint32_t ref;            /* BR_INSTANCES: summary row, or type + 1
	                            ORed with BR_REF_TYPE; BR_GROUP: parent */
	char *title;             /* owned */
	struct br_row *rows;     /* owned */
	size_t nrows;
	uint32_t *members;       /* group members, in rows' order; owned */
	size_t nmembers;
	size_t cursor, top;
	enum br_sort sort;
};
#define BR_REF_TYPE 0x80000000u

struct br {
	const struct fmt_dump *d;           /* borrowed */
	const struct graph *g;              /* borrowed */
	const struct dom_tree *dom;         /* borrowed, NULL: no retained */
	const struct leaks_report *leaks;   /* borrowed, NULL: no older dumps */
	const int64_t *grow_count, *grow_size;  /* per summary row, or NULL */
	const char *path;                   /* the dump's file name */
	struct dom_kids kids;               /* dominator children */
	struct graph_paths paths;           /* on the first `p` */
	int have_paths;
	struct br_page *pages;              /* the back stack, pages[0] first */
	size_t npages;
	int rows, cols;                     /* the screen */
	int prompting;                      /* reading a `/` search */
	struct text_buf input;              /* its text */
	char message[256];                  /* one line of news, or "" */
	int quit;
};

/* The attributes of a screen line (tools/browse_tui.c's colours). */
enum br_attr {
	BR_ATTR_NORMAL, BR_ATTR_TITLE, BR_ATTR_HEADER, BR_ATTR_CURSOR,
	BR_ATTR_GROUP, BR_ATTR_STATUS, BR_ATTR_MESSAGE,
};

struct br_screen {
	int rows, cols;
	struct text_buf *line;   /* rows lines, each cols characters */
	enum br_attr *attr;
};

/*
 * Starts a browser over b->d, b->g (and b->dom, b->leaks, b->grow_*,
 * set by the caller before) with a screen of rows x cols: the first page
 * is the suspects when there are leaks, else the summary; with start not
 * BR_NONE, the referrers of that object on top of it.  Returns 0 or -1
 * (out of memory).
 */
int br_open(struct br *b, int rows, int cols, uint32_t start);

/* The instances of the types type_ok[] marks, as a page on top. */
int br_open_types(struct br *b, const uint8_t *type_ok, const char *name);

void br_close(struct br *b);

/* One key.  Returns 0, or -1 when memory ran out (b still usable; a
 * message says so).  b->quit is set by `q`. */
int br_key(struct br *b, int key);

/* The screen changed size. */
void br_resize(struct br *b, int rows, int cols);

/* The screen as lines (s->line[k] holds exactly s->cols characters).
 * Returns 0 or -1 (out of memory). */
int br_render(struct br *b, struct br_screen *s);
void br_screen_free(struct br_screen *s);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_BROWSE_H */
