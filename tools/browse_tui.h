/*
 * browse_tui.h - `muppy browse` on a terminal: curses draws the lines of
 * tools/browse.h's model and turns the terminal's keys into its keys.
 * The only file of the tool that knows curses.
 */
#ifndef MUPPY_TOOLS_BROWSE_TUI_H
#define MUPPY_TOOLS_BROWSE_TUI_H

#include "tools/browse.h"   /* struct br */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs b full-screen on the terminal of stdin/stdout until `q` (resizes
 * followed; colour only when the terminal has it).  b was opened with
 * any size: the terminal's is set first.  Returns 0, or -1 when the
 * terminal cannot be used (TERM unknown; message printed after the
 * screen is restored) or memory ran out.
 */
int br_tui_run(struct br *b);

#ifdef __cplusplus
}
#endif

#endif /* MUPPY_TOOLS_BROWSE_TUI_H */
