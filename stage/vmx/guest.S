/*
 * The tiny guest (its ABI: bootgen/contract/guest.py). It runs in 32-bit
 * protected mode with the host's flat segments and page tables, and does, in
 * order: CPUID (exit reason 10), an OUT to a test port (30), VMCALL with a
 * value (18), HLT (12) (SDM Vol. 3C, 26.1.2 and 26.1.3: these cause VM exits
 * unconditionally or with the controls vmcs.c sets).
 */
#include "generated/contract.h"

	.section .text
	.global guest_entry
guest_entry:
	xorl %eax, %eax
	xorl %ecx, %ecx
	cpuid
	movb $GUEST_OUT_VALUE, %al
	outb %al, $GUEST_TEST_PORT
	movl $GUEST_VMCALL_VALUE, %eax
	vmcall
	hlt
	ud2                        /* never resumed after HLT */

	.section .note.GNU-stack, "", @progbits
