/*
 * What a Multiboot2 loader hands over (Multiboot2 Specification 1.6, 3.6
 * "Boot information format"), read into the multiboot (v1) structure the rest
 * of the stub uses, plus what only multiboot2 carries.
 */
#ifndef BOOTGEN_MULTIBOOT2_H
#define BOOTGEN_MULTIBOOT2_H

#include "boot/multiboot.h"
#include "types.h"

#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289u

/* What the every-CPU work will need and the v1 structure cannot hold. */
struct boot_extra {
	u32 info, info_size;  /* the whole multiboot2 information block */
	u32 rsdp;             /* the loader's copy of the ACPI RSDP, 0 if none */
	u32 rsdp_revision;    /* 0: ACPI 1.0 (tag 14), 2: ACPI 2.0+ (tag 15) */
	u64 efi_systab;       /* the EFI system table, 0 if none */
	u32 mmap, mmap_size;  /* the memory map's entries (after the tag's entry_size and entry_version) */
};

/* Fill mbi (flags, command line, loader name, framebuffer) and extra from the information at info. */
void multiboot2_read(u32 info, struct multiboot_info *mbi, struct boot_extra *extra);

#endif
