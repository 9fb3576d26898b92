/* What a multiboot (v1) loader hands over (Multiboot Specification 0.6.96, 3.2 and 3.3). */
#ifndef BOOTGEN_MULTIBOOT_H
#define BOOTGEN_MULTIBOOT_H

#include "types.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u

/* The multiboot information structure (3.3). */
struct multiboot_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
	u32 apm_table;
	u32 vbe_control_info, vbe_mode_info;
	u16 vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
	u64 framebuffer_addr;
	u32 framebuffer_pitch, framebuffer_width, framebuffer_height;
	u8 framebuffer_bpp, framebuffer_type;
	/*
	 * color_info for framebuffer_type 1 (RGB): bit position and size of each
	 * channel. The specification's table puts it at offset 110; GRUB (and the
	 * multiboot.h in the specification) aligns it to 112, measured with GRUB 2.06.
	 */
	u16 framebuffer_color_info_padding;
	u8 framebuffer_red_field_position, framebuffer_red_mask_size;
	u8 framebuffer_green_field_position, framebuffer_green_mask_size;
	u8 framebuffer_blue_field_position, framebuffer_blue_mask_size;
} PACKED;

#define MBI_FLAG_CMDLINE BIT(2)
#define MBI_FLAG_LOADER_NAME BIT(9)
#define MBI_FLAG_FRAMEBUFFER BIT(12)
#define MB_FRAMEBUFFER_TYPE_RGB 1
#define MB_FRAMEBUFFER_TYPE_EGA_TEXT 2

#endif
