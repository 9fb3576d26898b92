/*
 * Mirror of the report on the VGA text screen (80x25, light grey on black),
 * scrolling. Disabled when the loader says the display is not in text mode
 * (UEFI machines have no VGA text buffer); the report then goes to the
 * loader's RGB framebuffer when there is one (framebuffer.c).
 */
#include "out/console.h"
#include "out/framebuffer.h"

#define COLS 80
#define ROWS 25
#define KEEP_ROWS 12 /* rows kept on a jump scroll */
#define ATTR 0x0700
#define BLANK_PAIR ((u32)(ATTR | ' ') << 16 | (ATTR | ' '))

/*
 * Video memory is slow to touch under emulators (every access is a device
 * access), so a copy of the screen lives in RAM, the screen is only ever
 * written, and scrolling jumps by half a screen instead of line by line.
 */
static volatile u16 *text;
static union {
	u16 cell[ROWS][COLS];
	u32 pair[ROWS][COLS / 2]; /* the same cells two at a time */
} shadow;
static u32 row, col;

static void clear_rows(u32 from)
{
	for (u32 r = from; r < ROWS; r++)
		for (u32 c = 0; c < COLS; c++)
			shadow.cell[r][c] = ATTR | ' ';
}

static void redraw(void)
{
	volatile u32 *pairs = (volatile u32 *)text;
	for (u32 i = 0; i < ROWS * COLS / 2; i++)
		pairs[i] = shadow.pair[i / (COLS / 2)][i % (COLS / 2)];
}

void screen_init(u32 text_buffer)
{
	text = (volatile u16 *)text_buffer;
	row = col = 0;
	if (!text)
		return;
	clear_rows(0);
	redraw();
}

static void next_line(void)
{
	col = 0;
	if (++row < ROWS)
		return;
	/* Jump scroll: the last KEEP_ROWS rows move to the top, the rest is cleared.
	 * Rows are rewritten top to bottom and every source row lies below every
	 * destination row, so no source is overwritten before it is read. Only
	 * the cells that change are written to the screen.
	 * Two cells at a time: one 32-bit access to video memory instead of two. */
	volatile u32 *pairs = (volatile u32 *)text;
	for (u32 r = 0; r < ROWS; r++)
		for (u32 c = 0; c < COLS; c += 2) {
			u32 cells = r < KEEP_ROWS ? shadow.pair[ROWS - KEEP_ROWS + r][c / 2] : BLANK_PAIR;
			if (shadow.pair[r][c / 2] != cells) {
				shadow.pair[r][c / 2] = cells;
				pairs[(r * COLS + c) / 2] = cells;
			}
		}
	row = KEEP_ROWS;
}

_Static_assert(ROWS - KEEP_ROWS >= KEEP_ROWS, "jump scroll would read rows it already moved");
_Static_assert(COLS % 2 == 0, "cells are moved in pairs");

void screen_putc(char c)
{
	framebuffer_putc(c);
	if (!text)
		return;
	if (c == '\n') {
		next_line();
		return;
	}
	if (col == COLS)
		next_line();
	shadow.cell[row][col] = ATTR | (u8)c;
	text[row * COLS + col++] = ATTR | (u8)c;
}
