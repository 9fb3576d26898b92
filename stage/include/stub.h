/* Cross-file entry points of the stub: configuration, steps and exit. */
#ifndef BOOTGEN_STUB_H
#define BOOTGEN_STUB_H

#include "types.h"

#define STUB_VERSION "0.1.0"
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u

/* Multiboot v1 information structure (Multiboot Specification 0.6.96, 3.3). */
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

/* Test-only fault injection (inject=NAME); the names are stable, see docs/failure-modes.md. */
enum inject {
	INJECT_NONE,
	INJECT_UD2,
	INJECT_PAGE_FAULT,
	INJECT_HANG,
	INJECT_TRIPLE_FAULT,
	INJECT_BAD_REVISION,
	INJECT_REVISION_BIT31,
	INJECT_UNALIGNED_VMXON,
	INJECT_VMXON_BEYOND_MAXPHYADDR,
	INJECT_VMXE_CLEAR,
	INJECT_CR0_NE_CLEAR,
	INJECT_LOCK_DISABLED,
	INJECT_VMXE_PRESET,
	INJECT_DOUBLE_VMXON,
	INJECT_DOUBLE_VMXON_VMCS,
	INJECT_BAD_CONTROL,
	INJECT_BAD_HOST_STATE,
	INJECT_BAD_GUEST_STATE,
};

struct stub_config {
	u16 serial_port;      /* 0: serial off */
	int screen;           /* mirror to the VGA text screen */
	enum inject inject;
	const char *inject_name;
	int vmxon_only;       /* mode=vmxon: stop after VMXON/VMXOFF (part 1 only) */
};

void config_parse(struct stub_config *cfg, const char *cmdline); /* later calls override earlier ones */
extern char embedded_cmdline[]; /* .bootgen.cmdline, patched by the host */

int paging_enable(void); /* the exception vector, PAGING_NO_PAE, or -1 when paging is on */
#define PAGING_NO_PAE 256
#define UNMAPPED_PROBE_ADDRESS 0xfffff000u /* inside the one 2 MiB page left unmapped */

/* Verdict names are part of the protocol: the host relies on them. */
#define VERDICT_VMX_READY "vmx-ready"
#define VERDICT_NO_VMX "no-vmx"
#define VERDICT_DISABLED "vmx-disabled-by-firmware"
#define VERDICT_IN_USE "vmx-in-use"
#define VERDICT_VMXON_FAILED "vmxon-failed"
#define VERDICT_FAULT "fault"
#define VERDICT_VMENTRY_FAILED "vmentry-failed"

/* Runs the checks and VMX operations; returns after writing the verdict record. */
void vmx_probe_run(u32 loader_cr4, int vmxon_only);

NORETURN void stub_exit(void);
void inject_early_fault(enum inject which); /* ud2, page-fault, hang, triple-fault */
void inject_select(enum inject which);
int injecting(enum inject which);
void inject_not_applicable(const char *why);
enum inject inject_lookup(const char *name, size_t len, const char **canonical);

/* Freestanding helpers. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
size_t strlen(const char *s);
int str_eq(const char *a, const char *b);
int str_starts(const char *s, const char *prefix);
int parse_u32(const char *s, size_t len, u32 *out);

#endif
