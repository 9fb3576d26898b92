/*
 * The report on a linear RGB framebuffer (UEFI machines have no VGA text
 * mode): an 8x16 bitmap font drawn into the framebuffer the multiboot loader
 * describes (Multiboot Specification 0.6.96, 3.3, flags bit 12, type 1).
 */
#ifndef BOOTGEN_FRAMEBUFFER_H
#define BOOTGEN_FRAMEBUFFER_H

#include "boot/multiboot.h"
#include "types.h"

#define FONT_WIDTH 8
#define FONT_HEIGHT 16
#define FONT_FIRST 0x20                 /* the table holds printable ASCII only */
#define FONT_GLYPHS (0x7f - FONT_FIRST)

extern const u8 font8x16[FONT_GLYPHS][FONT_HEIGHT]; /* bit 7 = leftmost pixel */

/* 1 when the loader handed over a usable RGB framebuffer, which then mirrors the report. */
int framebuffer_init(const struct multiboot_info *mbi);
void framebuffer_putc(char c);
u64 framebuffer_phys(void);          /* 0: no framebuffer */
u32 framebuffer_size(void);          /* pitch x height bytes */
/* Draw at this linear address from now on (0: nowhere; the text is kept and drawn at the next attach). */
void framebuffer_attach(u32 linear);

#endif
