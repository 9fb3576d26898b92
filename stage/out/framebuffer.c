/*
 * The report on a linear RGB framebuffer, for machines without VGA text mode
 * (UEFI: GRUB hands over the GOP framebuffer, multiboot info flags bit 12 with
 * framebuffer_type 1). Light grey 8x16 glyphs on black, 15/16, 24 or 32 bits
 * per pixel, any pitch; glyphs are doubled on screens of 2560x1440 and more.
 *
 * Speed matters under TCG and Bochs and on real framebuffers, where reads are
 * uncached and slow: the framebuffer is only ever written. A shadow copy of
 * the text lets the screen "jump scroll": when the cursor passes the last row,
 * the older half of the lines is dropped and only the cells that change are
 * redrawn. A report of about 100 lines costs a few full-screen writes at most.
 *
 * A framebuffer below 4 GiB is drawn into at once, at its physical address,
 * which paging maps to itself. One above 4 GiB (a GPU with above-4G decoding or
 * a resizable BAR) is out of reach until paging maps it at a linear window
 * (paging.c); until then the text goes to the shadow copy only, and the whole
 * screen is drawn when it is attached.
 */
#include "boot/paging.h"
#include "out/framebuffer.h"

#define MAX_COLS 256
#define MAX_ROWS 100
#define GREY 0xcc

static u8 *base;               /* NULL: nothing to draw into (yet) */
static u64 phys_base;          /* 0: no framebuffer console */
static u32 width, height;
static u32 pitch, bytes_per_pixel, scale;
static u32 cols, rows, row, col;
static u32 fg;                 /* the background is black: pixel value 0 */
static char shadow[MAX_ROWS][MAX_COLS];
static u16 line_len[MAX_ROWS];  /* cells drawn on each row since it was last cleared */

/* An 8-bit intensity placed in a channel of size bits at bit position pos. */
static u32 channel(u32 intensity, u32 pos, u32 size)
{
	return (intensity >> (8 - size)) << pos;
}

static int channel_ok(u32 pos, u32 size, u32 bpp)
{
	return size >= 1 && size <= 8 && pos + size <= bpp;
}

static u32 grey_pixel(const struct multiboot_info *mbi)
{
	u32 bpp = mbi->framebuffer_bpp;
	if (channel_ok(mbi->framebuffer_red_field_position, mbi->framebuffer_red_mask_size, bpp) &&
	    channel_ok(mbi->framebuffer_green_field_position, mbi->framebuffer_green_mask_size, bpp) &&
	    channel_ok(mbi->framebuffer_blue_field_position, mbi->framebuffer_blue_mask_size, bpp))
		return channel(GREY, mbi->framebuffer_red_field_position, mbi->framebuffer_red_mask_size) |
		       channel(GREY, mbi->framebuffer_green_field_position, mbi->framebuffer_green_mask_size) |
		       channel(GREY, mbi->framebuffer_blue_field_position, mbi->framebuffer_blue_mask_size);
	/* No usable colour layout: grey is the same in any 8:8:8 order; for 16 bits assume 5:6:5. */
	return bpp >= 24 ? GREY * 0x010101u : channel(GREY, 11, 5) | channel(GREY, 5, 6) | channel(GREY, 0, 5);
}

/* One row of a glyph: 8 pixels (each scale wide) from bits, bit 7 leftmost. */
static void draw_bits(u8 *p, u32 bits)
{
	switch (bytes_per_pixel) {
	case 4: {
		volatile u32 *px = (volatile u32 *)p;
		for (u32 mask = 0x80; mask; mask >>= 1) {
			u32 v = (bits & mask) ? fg : 0;
			for (u32 s = 0; s < scale; s++)
				*px++ = v;
		}
		break;
	}
	case 3: {
		volatile u8 *px = p;
		for (u32 mask = 0x80; mask; mask >>= 1) {
			u32 v = (bits & mask) ? fg : 0;
			for (u32 s = 0; s < scale; s++) {
				px[0] = (u8)v;
				px[1] = (u8)(v >> 8);
				px[2] = (u8)(v >> 16);
				px += 3;
			}
		}
		break;
	}
	default: {
		volatile u16 *px = (volatile u16 *)p;
		for (u32 mask = 0x80; mask; mask >>= 1) {
			u16 v = (bits & mask) ? (u16)fg : 0;
			for (u32 s = 0; s < scale; s++)
				*px++ = v;
		}
		break;
	}
	}
}

static void draw_cell(u32 x, u32 y, char c)
{
	if (!base)
		return;
	const u8 *glyph = font8x16[(u8)c - FONT_FIRST];
	u8 *line = base + y * FONT_HEIGHT * scale * pitch + x * FONT_WIDTH * scale * bytes_per_pixel;
	for (u32 r = 0; r < FONT_HEIGHT; r++) {
		for (u32 s = 0; s < scale; s++) {
			draw_bits(line, glyph[r]);
			line += pitch;
		}
	}
}

/* Redraw row y from the shadow: the cells in use now and those in use before. */
static void redraw_row(u32 y, u32 new_len)
{
	u32 n = new_len > line_len[y] ? new_len : line_len[y];
	for (u32 x = 0; x < n; x++)
		draw_cell(x, y, shadow[y][x]);
	line_len[y] = (u16)new_len;
}

static void newline(void)
{
	col = 0;
	if (++row < rows)
		return;
	/* Jump scroll: keep the newer half of the lines, move it to the top. */
	u32 keep = rows / 2, drop = rows - keep;
	for (u32 y = 0; y < rows; y++) {
		u32 len = 0;
		for (u32 x = 0; x < cols; x++)
			shadow[y][x] = y < keep ? shadow[y + drop][x] : ' ';
		if (y < keep)
			len = line_len[y + drop];
		redraw_row(y, len);
	}
	row = keep;
}

void framebuffer_putc(char c)
{
	if (!phys_base)
		return;
	if (c == '\n') {
		newline();
		return;
	}
	if (col == cols)
		newline();
	if ((u8)c < FONT_FIRST || (u8)c >= FONT_FIRST + FONT_GLYPHS)
		c = '?';
	shadow[row][col] = c;
	draw_cell(col, row, c);
	col++;
	if (col > line_len[row])
		line_len[row] = (u16)col;
}

/* Clear the whole visible area (GRUB's and the firmware's text may be there). */
static void clear_screen(void)
{
	u32 words = width * bytes_per_pixel / 4, rest = width * bytes_per_pixel % 4;
	for (u32 y = 0; y < height; y++) {
		volatile u32 *w = (volatile u32 *)(base + y * pitch);
		for (u32 i = 0; i < words; i++)
			w[i] = 0;
		for (volatile u8 *b = (volatile u8 *)(w + words), *end = b + rest; b < end; b++)
			*b = 0;
	}
}

int framebuffer_init(const struct multiboot_info *mbi)
{
	base = NULL;
	phys_base = 0;
	if (!(mbi->flags & MBI_FLAG_FRAMEBUFFER) || mbi->framebuffer_type != MB_FRAMEBUFFER_TYPE_RGB ||
	    !mbi->framebuffer_addr)
		return 0;
	switch (mbi->framebuffer_bpp) {
	case 32: bytes_per_pixel = 4; break;
	case 24: bytes_per_pixel = 3; break;
	case 16: case 15: bytes_per_pixel = 2; break;
	default: return 0;
	}
	width = mbi->framebuffer_width;
	height = mbi->framebuffer_height;
	pitch = mbi->framebuffer_pitch;
	if (width < FONT_WIDTH || height < FONT_HEIGHT || pitch < width * bytes_per_pixel ||
	    (u64)pitch * height >= 1ull << 30)
		return 0;

	scale = width >= 2560 && height >= 1440 ? 2 : 1;
	cols = width / (FONT_WIDTH * scale);
	rows = height / (FONT_HEIGHT * scale);
	if (cols > MAX_COLS)
		cols = MAX_COLS;
	if (rows > MAX_ROWS)
		rows = MAX_ROWS;
	fg = grey_pixel(mbi);
	phys_base = mbi->framebuffer_addr;
	row = col = 0;
	for (u32 y = 0; y < rows; y++) {
		line_len[y] = 0;
		for (u32 x = 0; x < cols; x++)
			shadow[y][x] = ' ';
	}
	if (phys_base + framebuffer_size() <= UNMAPPED_REGION_START) {
		base = (u8 *)(u32)phys_base;
		clear_screen();
	}
	return 1;
}

u64 framebuffer_phys(void)
{
	return phys_base;
}

u32 framebuffer_size(void)
{
	return pitch * height;
}

void framebuffer_attach(u32 linear)
{
	if (!phys_base)
		return;
	base = (u8 *)linear;
	if (!base)
		return;
	clear_screen();
	for (u32 y = 0; y < rows; y++) {
		u32 len = line_len[y];
		line_len[y] = 0;
		redraw_row(y, len);
	}
}
