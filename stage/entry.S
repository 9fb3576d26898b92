/*
 * Multiboot (v1) header and entry point.
 * Multiboot Specification 0.6.96, 3.1: the header must lie within the first
 * 8192 bytes of the image, 32-bit aligned; magic + flags + checksum == 0.
 * 3.2: on entry EAX = 0x2BADB002, EBX = physical address of the multiboot
 * information, 32-bit protected mode with paging off and interrupts off;
 * the loader's GDT and stack must not be relied on.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory info */

	.section .multiboot, "a"
	.align 4
	.global multiboot_header
multiboot_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.align 16
	.global boot_stack_bottom
boot_stack_bottom:
	.skip 16384
	.global boot_stack_top
boot_stack_top:

	.section .text
	.global _start
	.type _start, @function
_start:
	cli
	cld
	movl $boot_stack_top, %esp
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
