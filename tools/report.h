/*
 * report.h - `muppy report`'s page: one self-contained HTML file (no
 * network, no external script, font or image) that answers the leak hunt
 * for whoever opens the ticket it is attached to.
 *
 * Design notes:
 *   1. What it holds, top to bottom: the process (command line, Python,
 *      the dumps with their times and RSS); growth charts over the dumps
 *      as inline SVG (heap bytes and RSS, objects, the summary rows that
 *      grew most); the leak suspects (tools/leaks.h) with their holder
 *      paths; the top retainers (dominator tree, as `muppy top`); and an
 *      explorer of the objects around those, in JSON read by a small
 *      inline script.  Everything but the explorer reads without script.
 *   2. Bounded whatever the heap: the explorer holds at most max_nodes
 *      objects (default 30,000, ~100 bytes each in the file).  Objects are
 *      taken breadth-first from the suspects' examples and holders and
 *      from the top retainers; each taken object lists its referrers,
 *      referents and dominated children, one entry per object or, for
 *      REPORT_GROUP_MIN and more of one kind (`function (on_done) x
 *      8000`), one group with its count, sizes and a few members.  What
 *      is left out is counted and says which `muppy browse` shows it.
 *   3. Safe to open: every text from the dump is HTML-escaped, and the
 *      JSON escapes < > & so that no label ends the script element.
 */
#ifndef MUPPY_TOOLS_REPORT_H
#define MUPPY_TOOLS_REPORT_H

#include <stdint.h>   /* uint32_t */
#include <stdio.h>    /* FILE */

#include "tools/loaded.h"   /* struct loaded */

#ifdef __cplusplus
extern "C" {
#endif

#define REPORT_GROUP_MIN 4   /* objects of one kind shown as one group */

struct report_opts {
	uint32_t suspects;    /* leak lines shown, 0: all */
	uint32_t retainers;   /* top retainers shown */
	uint32_t max_nodes;   /* objects in the explorer (note 2) */
	uint32_t root;        /* an object the explorer opens on (its
	                         referrers), or UINT32_MAX: the first suspect */
};

/* What report_write put in the page, for the command's last line. */
struct report_stats {
	uint32_t dumps, suspects, retainers, nodes, full;
};

/*
 * Writes the page for l (its dump and the older ones in l->series, whose
 * summaries it reads again for the charts) to out.  Returns 0 or an exit
 * status (one message printed); a write error is the caller's to find
 * (ferror).
 */
int report_write(FILE *out, const struct loaded *l,
		 const struct report_opts *o, struct report_stats *st);

/* The page's fixed parts (tools/report_page.c). */
extern const char report_css[];
extern const char report_js[];

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_REPORT_H */
