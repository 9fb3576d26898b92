/*
 * Multiboot (v1) header and entry point.
 * Multiboot Specification 0.6.96, 3.1: the header must lie within the first
 * 8192 bytes of the image, 32-bit aligned; magic + flags + checksum == 0.
 * 3.2: on entry EAX = 0x2BADB002, EBX = physical address of the multiboot
 * information, 32-bit protected mode with paging off and interrupts off;
 * the loader's GDT and stack must not be relied on.
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

	.section .text
	.global _start
	.type _start, @function
_start:
	cli
	cld
	movl $(cpus + CPU_OFFSET_STACK_TOP), %esp /* the boot CPU's stack: cpus[0] */
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
