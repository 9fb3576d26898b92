/*
 * Multiboot2 boot information (Multiboot2 Specification 1.6, 3.6): a u32
 * total size and a reserved u32, then tags of { u32 type, u32 size, ... },
 * each starting 8-byte aligned, ended by a tag of type 0. Only the tags the
 * stub uses are read; the block itself stays mapped (paging.c) so that the
 * ACPI tables it points to can be found later.
 */
#include "boot/multiboot2.h"
#include "lib/string.h"

#define TAG_END 0
#define TAG_CMDLINE 1
#define TAG_LOADER_NAME 2
#define TAG_MMAP 6
#define TAG_FRAMEBUFFER 8
#define TAG_EFI32 11
#define TAG_EFI64 12
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15
#define MAX_INFO_SIZE (1u << 20) /* far more than any loader hands over: a bound for a corrupt block */

#define MMAP_HEADER 8 /* u32 entry_size, u32 entry_version (3.6.8) */
#define RSDP_V1_SIZE 20
#define RSDP_V2_SIZE 36

struct tag {
	u32 type, size;
};

static int terminated(const u8 *s, u32 size)
{
	for (u32 i = 0; i < size; i++)
		if (!s[i])
			return 1;
	return 0;
}

/*
 * The framebuffer tag (3.6.12). GRUB's multiboot2.h declares the byte after
 * framebuffer_type as u16 reserved, so color_info begins at offset 32 of the
 * tag (the specification's table shows a u8; GRUB is what writes it).
 */
struct tag_framebuffer {
	struct tag tag;
	u64 addr;
	u32 pitch, width, height;
	u8 bpp, type;
	u16 reserved;
	u8 red_position, red_size, green_position, green_size, blue_position, blue_size;
} PACKED;

void multiboot2_read(u32 info, struct multiboot_info *mbi, struct boot_extra *extra)
{
	memset(mbi, 0, sizeof(*mbi));
	memset(extra, 0, sizeof(*extra));
	u32 total = *(const u32 *)info;
	if (total < 16 || total > MAX_INFO_SIZE)
		return;
	extra->info = info;
	extra->info_size = total;
	for (u32 at = info + 8; at + sizeof(struct tag) <= info + total;) {
		const struct tag *tag = (const struct tag *)at;
		if (tag->type == TAG_END || tag->size < sizeof(struct tag) || tag->size > info + total - at)
			break;
		const u8 *body = (const u8 *)(tag + 1);
		u32 body_size = tag->size - sizeof(struct tag);
		switch (tag->type) {
		case TAG_CMDLINE:
			if (terminated(body, body_size)) {
				mbi->flags |= MBI_FLAG_CMDLINE;
				mbi->cmdline = (u32)body;
			}
			break;
		case TAG_LOADER_NAME:
			if (terminated(body, body_size)) {
				mbi->flags |= MBI_FLAG_LOADER_NAME;
				mbi->boot_loader_name = (u32)body;
			}
			break;
		case TAG_MMAP:
			if (body_size >= MMAP_HEADER) { /* entry_size, entry_version, then the entries */
				extra->mmap = (u32)body + MMAP_HEADER;
				extra->mmap_size = body_size - MMAP_HEADER;
			}
			break;
		case TAG_FRAMEBUFFER:
			if (tag->size >= sizeof(struct tag_framebuffer)) {
				const struct tag_framebuffer *fb = (const struct tag_framebuffer *)tag;
				mbi->flags |= MBI_FLAG_FRAMEBUFFER;
				mbi->framebuffer_addr = fb->addr;
				mbi->framebuffer_pitch = fb->pitch;
				mbi->framebuffer_width = fb->width;
				mbi->framebuffer_height = fb->height;
				mbi->framebuffer_bpp = fb->bpp;
				mbi->framebuffer_type = fb->type;
				mbi->framebuffer_red_field_position = fb->red_position;
				mbi->framebuffer_red_mask_size = fb->red_size;
				mbi->framebuffer_green_field_position = fb->green_position;
				mbi->framebuffer_green_mask_size = fb->green_size;
				mbi->framebuffer_blue_field_position = fb->blue_position;
				mbi->framebuffer_blue_mask_size = fb->blue_size;
			}
			break;
		case TAG_EFI32:
			if (body_size >= 4)
				extra->efi_systab = *(const u32 *)body;
			break;
		case TAG_EFI64:
			if (body_size >= 8)
				extra->efi_systab = *(const u64 *)body;
			break;
		case TAG_ACPI_OLD:
		case TAG_ACPI_NEW:
			/* A whole RSDP: 20 bytes for ACPI 1.0, 36 for 2.0+ (ACPI 6.5, 5.2.5.3). */
			if (body_size < (tag->type == TAG_ACPI_NEW ? RSDP_V2_SIZE : RSDP_V1_SIZE))
				break;
			if (!extra->rsdp || tag->type == TAG_ACPI_NEW) { /* the ACPI 2.0+ copy when there are both */
				extra->rsdp = (u32)body;
				extra->rsdp_revision = tag->type == TAG_ACPI_NEW ? 2 : 0;
			}
			break;
		default:
			break;
		}
		at += (tag->size + 7) & ~7u;
	}
}
