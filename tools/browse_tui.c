/*
 * browse_tui.c - the terminal side of `muppy browse` (browse_tui.h):
 * newterm on stdin/stdout, one redraw per key from br_render's lines,
 * and the key map.  Everything else is the model's (tools/browse.c).
 */
#include <curses.h>   /* newterm, getch, mvaddstr, ... (ncursesw) */
#include <locale.h>   /* setlocale */
#include <stdio.h>    /* stdin, stdout */
#include <stdlib.h>   /* getenv */

#include "tools/browse_tui.h"
#include "tools/util.h"       /* util_error */

/* Colour pairs, when the terminal has colours. */
enum { PAIR_TITLE = 1, PAIR_GROUP, PAIR_MESSAGE };

static chtype
attr_of(enum br_attr a, int colour)
{
	switch (a) {
	case BR_ATTR_TITLE:
		return colour ? COLOR_PAIR(PAIR_TITLE) | A_BOLD : A_REVERSE;
	case BR_ATTR_HEADER:
		return A_BOLD | A_UNDERLINE;
	case BR_ATTR_CURSOR:
		return A_REVERSE;
	case BR_ATTR_GROUP:
		return colour ? COLOR_PAIR(PAIR_GROUP) | A_BOLD : A_BOLD;
	case BR_ATTR_STATUS:
		return A_REVERSE;
	case BR_ATTR_MESSAGE:
		return colour ? COLOR_PAIR(PAIR_MESSAGE) | A_BOLD : A_BOLD;
	default:
		return A_NORMAL;
	}
}

static int
draw(struct br *b, struct br_screen *s, int colour)
{
	if (br_render(b, s) != 0)
		return -1;
	erase();
	for (int y = 0; y < s->rows; y++) {
		chtype a = attr_of(s->attr[y], colour);
		attrset(a);
		/* Without scrollok, the last cell of the screen is written
		 * without scrolling (addstr then returns ERR: no matter). */
		mvaddstr(y, 0, text_cstr(&s->line[y]));
	}
	attrset(A_NORMAL);
	refresh();
	return 0;
}

/* The terminal's key as the model's (0: none). */
static int
key_of(int c)
{
	switch (c) {
	case KEY_UP: return BR_KEY_UP;
	case KEY_DOWN: return BR_KEY_DOWN;
	case KEY_PPAGE: return BR_KEY_PGUP;
	case KEY_NPAGE: return BR_KEY_PGDN;
	case KEY_HOME: return BR_KEY_HOME;
	case KEY_END: return BR_KEY_END;
	case KEY_LEFT: return BR_KEY_LEFT;
	case KEY_RIGHT: return BR_KEY_RIGHT;
	case KEY_ENTER: case '\n': case '\r': return BR_KEY_ENTER;
	case KEY_BACKSPACE: case 127: case 8: return BR_KEY_BACKSPACE;
	case 27: return BR_KEY_ESC;
	default:
		return c >= 0x20 && c < 0x7f ? c : 0;
	}
}

int
br_tui_run(struct br *b)
{
	struct br_screen s = {0};
	SCREEN *scr;
	int colour, rc = 0;

	setlocale(LC_ALL, "");
	if (!getenv("ESCDELAY"))
		set_escdelay(25);   /* Esc alone, not the start of a key */
	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		util_error("cannot use the terminal (TERM=%s)",
			   getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	colour = has_colors();
	if (colour) {
		start_color();
		use_default_colors();
		init_pair(PAIR_TITLE, COLOR_WHITE, COLOR_BLUE);
		init_pair(PAIR_GROUP, COLOR_CYAN, -1);
		init_pair(PAIR_MESSAGE, COLOR_YELLOW, -1);
	}
	br_resize(b, LINES, COLS);
	while (!b->quit) {
		if (draw(b, &s, colour) != 0) {
			rc = -1;
			break;
		}
		int c = getch();
		if (c == KEY_RESIZE) {
			br_resize(b, LINES, COLS);
			continue;
		}
		if (c == ERR)
			continue;
		int k = key_of(c);
		if (k)
			br_key(b, k);   /* out of memory: its message shows */
	}
	endwin();
	delscreen(scr);
	br_screen_free(&s);
	if (rc)
		util_error("out of memory");
	return rc;
}
