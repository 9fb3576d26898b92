/*
 * Where an AP starts (SDM Vol. 3A, 9.4.4 "MP Initialization Example"): the
 * start-up IPI's vector VV puts it in real mode at VV000h (CS = VV00h, IP = 0).
 * ap_trampoline is copied to that page below 1 MiB; it loads its own flat GDT,
 * sets CR0.PE and jumps to ap_entry32 in the image (paging off: the image is at
 * its physical address). ap_entry32 finds the AP's index by its APIC ID (in a
 * broadcast start, takes the next one), claims that CPU's structure, takes its
 * stack and calls ap_main (smp/ap.c).
 */
#include "cpu.h"
#include "smp/ap_state.h"

#define TRAMPOLINE_CODE 0x08
#define TRAMPOLINE_DATA 0x10
#define LEAF_FEATURES 1    /* CPUID_LEAF_FEATURES and CPUID_LEAF_TOPOLOGY, which carry a C suffix */
#define LEAF_TOPOLOGY 0xb

	.section .rodata.trampoline, "a"
	.code16
	.balign 16
	.global ap_trampoline, ap_trampoline_end, ap_trampoline_gdt_base, trampoline_gdt
ap_trampoline:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl trampoline_gdtr - ap_trampoline
	movl %cr0, %eax
	orl $1, %eax            /* CR0.PE: protected mode */
	movl %eax, %cr0
	ljmpl $TRAMPOLINE_CODE, $ap_entry32

	.balign 8
trampoline_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* ring-0 code, 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff /* ring-0 data, 4 GiB, 32-bit */
trampoline_gdtr:
	.word 3 * 8 - 1
ap_trampoline_gdt_base:
	.long 0                  /* the copy's trampoline_gdt: written by smp_prepare_trampoline() */
ap_trampoline_end:

	.text
	.code32
	.global ap_entry32
	.type ap_entry32, @function
ap_entry32:
	movw $TRAMPOLINE_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	/* Its APIC ID as CPUID gives it (SDM Vol. 3A, 11.4.6 and 11.12.8): the x2APIC ID from leaf 0BH where
	 * that leaf exists, else the initial APIC ID in CPUID.1:EBX[31:24]. */
	xorl %eax, %eax
	cpuid
	cmpl $LEAF_TOPOLOGY, %eax
	jb 1f
	movl $LEAF_TOPOLOGY, %eax
	xorl %ecx, %ecx
	cpuid
	testl %ebx, %ebx        /* EBX = 0: leaf 0BH is not implemented */
	jz 1f
	movl %edx, %ebx
	jmp 2f
1:	movl $LEAF_FEATURES, %eax
	cpuid
	shrl $24, %ebx
2:	/* Its index: where the boot CPU listed its APIC ID. */
	movl $1, %ecx
3:	cmpl ap_listed, %ecx
	jae 4f
	cmpl %ebx, ap_apic_ids(, %ecx, 4)
	je 5f
	incl %ecx
	jmp 3b
4:	/* Not listed: in a broadcast start, the next free index; else park. */
	cmpl $0, ap_broadcast
	je park
	movl $1, %ecx
	lock xaddl %ecx, ap_next_index
	cmpl ap_capacity, %ecx
	jae park
	movl %ebx, ap_apic_ids(, %ecx, 4)
5:	leal -1(%ecx), %edx     /* its struct cpu: ap_cpus[index - 1] */
	imull $CPU_SIZE, %edx, %edx
	addl ap_cpus, %edx
	/* Claimed before anything of it is used: STARTING to JOINED. A structure already taken (two CPUs with
	 * one APIC ID) or abandoned (it came too late) is left alone: this CPU parks. */
	movl $AP_STATE_STARTING, %eax
	movl $AP_STATE_JOINED, %esi
	lock cmpxchgl %esi, CPU_OFFSET_AP_STATE(%edx)
	jne park
	leal CPU_OFFSET_STACK_TOP(%edx), %esp
	xorl %ebp, %ebp
	pushl %ebx              /* its APIC ID */
	pushl %ecx              /* its index */
	call ap_main
park:
	cli
	hlt
	jmp park
	.size ap_entry32, . - ap_entry32

	.section .note.GNU-stack, "", @progbits
