/*
 * Mirror of the report on the VGA text screen (80x25, light grey on black),
 * scrolling. Disabled when the loader says the display is not in text mode
 * (UEFI machines have no VGA text buffer); the report then goes to the
 * loader's RGB framebuffer when there is one (framebuffer.c).
 */
#include "console.h"
#include "framebuffer.h"

#define COLS 80
#define ROWS 25
#define ATTR 0x0700

static volatile u16 *text;
static u32 row, col;

void screen_init(u32 text_buffer)
{
	text = (volatile u16 *)text_buffer;
	row = col = 0;
	if (!text)
		return;
	for (u32 i = 0; i < COLS * ROWS; i++)
		text[i] = ATTR | ' ';
}

static void scroll(void)
{
	for (u32 i = 0; i < COLS * (ROWS - 1); i++)
		text[i] = text[i + COLS];
	for (u32 i = COLS * (ROWS - 1); i < COLS * ROWS; i++)
		text[i] = ATTR | ' ';
	row = ROWS - 1;
}

void screen_putc(char c)
{
	framebuffer_putc(c);
	if (!text)
		return;
	if (c == '\n') {
		col = 0;
		if (++row == ROWS)
			scroll();
		return;
	}
	if (col == COLS) {
		col = 0;
		if (++row == ROWS)
			scroll();
	}
	text[row * COLS + col++] = ATTR | (u8)c;
}
