/*
 * Multiboot (v1) and Multiboot2 headers, and the entry point.
 * Multiboot Specification 0.6.96, 3.1: the header must lie within the first
 * 8192 bytes of the image, 32-bit aligned; magic + flags + checksum == 0.
 * 3.2: on entry EAX = 0x2BADB002, EBX = physical address of the multiboot
 * information, 32-bit protected mode with paging off and interrupts off;
 * the loader's GDT and stack must not be relied on. Multiboot2 (3.3) is the
 * same with EAX = 0x36D76289 and EBX pointing at its tags; stub_main tells them apart.
 */
#include "cpu.h"

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000007 /* bit 0: page-align modules, bit 1: memory info, bit 2: video mode */

/*
 * Flags bit 2 (3.1.4): the loader must describe the display (information
 * flags bit 12) and may set the mode the header asks for. mode_type 1 asks
 * for EGA text and accepts a linear framebuffer where there is no text mode:
 * GRUB then sets gfxpayload=text on BIOS and "auto" on UEFI. Measured with
 * GRUB 2.06 and QEMU 7.2: GRUB BIOS hands over EGA text (framebuffer_type 2),
 * GRUB EFI the GOP framebuffer in its current mode (type 1, 1280x800x32 with
 * OVMF), QEMU -kernel no display information (it warns "multiboot knows VBE.
 * we don't" and leaves VGA text mode).
 * mode_type 0 would make GRUB BIOS switch to a VBE graphics mode: the report
 * would still show, but text mode is the more robust screen on BIOS.
 * The address fields (3.1.3) must be present for the video fields to be at
 * their offsets; they are unused because bit 16 is clear (the loader reads
 * the ELF program headers).
 */
#define MB_MODE_TYPE_EGA_TEXT 1

	.section .multiboot, "a"
	.align 4
	.global multiboot_header
multiboot_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long 0, 0, 0, 0, 0 /* header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr */
	.long MB_MODE_TYPE_EGA_TEXT
	.long 0             /* width: no preference */
	.long 0             /* height: no preference */
	.long 0             /* depth: no preference (0 in text mode) */

/*
 * Multiboot2 header (Multiboot2 Specification 1.6, 3.1): 8-byte aligned within
 * the first 32768 bytes; magic + architecture + length + checksum == 0 (mod 2^32);
 * tags 8-byte aligned, ended by an end tag. GRUB's `multiboot2` command (the
 * UEFI core uses it) loads the ELF by its program headers, like `multiboot`.
 * Both tags are optional (flags bit 0), so a loader that lacks them still boots it.
 */
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define MB2_TAG_OPTIONAL 1
#define MB2_TAG_CONSOLE_FLAGS 4 /* 3.1.7: console_flags bit 1, EGA text supported */
#define MB2_TAG_FRAMEBUFFER 5   /* 3.1.8: width, height, depth; 0 = no preference */
#define MB2_CONSOLE_EGA_TEXT 2

	.align 8
	.global multiboot2_header
multiboot2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long multiboot2_header_end - multiboot2_header
	.long 0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))
	.align 8
	.short MB2_TAG_CONSOLE_FLAGS, MB2_TAG_OPTIONAL
	.long 12
	.long MB2_CONSOLE_EGA_TEXT
	.align 8
	.short MB2_TAG_FRAMEBUFFER, MB2_TAG_OPTIONAL
	.long 20
	.long 0, 0, 0
	.align 8
	.short 0, 0         /* end tag */
	.long 8
multiboot2_header_end:

	.section .text
	.global _start
	.type _start, @function
_start:
	cli
	cld
	movl $(boot_cpu + CPU_OFFSET_STACK_TOP), %esp /* the boot CPU's stack */
	xorl %ebp, %ebp
	pushl $0        /* keep EFLAGS clean: no AC, no IF */
	popfl
	pushl %ebx      /* multiboot information */
	pushl %eax      /* loader magic */
	call stub_main
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
