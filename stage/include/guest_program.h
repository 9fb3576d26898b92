/*
 * The test guest's program (its ABI: bootgen/contract/guest.py), for assembly
 * files: CPUID (leaf 0), an 8-bit OUT to the test port, the hypercall (VMCALL
 * under VT-x, VMMCALL under AMD-V) with the value in EAX, then HLT; each
 * leaves the guest. Never resumed after HLT.
 */
#ifndef BOOTGEN_GUEST_PROGRAM_H
#define BOOTGEN_GUEST_PROGRAM_H

#include "generated/contract.h"

.macro GUEST_PROGRAM hypercall
	xorl %eax, %eax
	xorl %ecx, %ecx
	cpuid
	movb $GUEST_OUT_VALUE, %al
	outb %al, $GUEST_TEST_PORT
	movl $GUEST_VMCALL_VALUE, %eax
	\hypercall
	hlt
	ud2
.endm

#endif
