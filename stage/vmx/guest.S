/*
 * The tiny guest (its ABI: bootgen/contract/guest.py). It runs in 32-bit
 * protected mode with the host's flat segments and page tables, and does, in
 * order: CPUID (exit reason 10), an OUT to a test port (30), VMCALL with a
 * value (18), HLT (12) (SDM Vol. 3C, 26.1.2 and 26.1.3: these cause VM exits
 * unconditionally or with the controls vmcs.c sets).
 *
 * Before that, only when the host armed it (INJECT_GUEST_NMI, guest_nmi in
 * probe/inject.c), the guest sends its CPU an NMI through the xAPIC ICR: with
 * NMI exiting on, that NMI is a VM exit of its own (reason 0, interruption
 * type NMI; SDM Vol. 3C, 26.2 and 28.2.2), which the exit handler counts and
 * resumes from, so the trace above stays the same.
 */
#include "guest_program.h"

	.section .text
	.global guest_entry
guest_entry:
	movl guest_nmi, %ebx       /* struct apic_nmi: ICR address, high value, low value */
	testl %ebx, %ebx
	jz 1f
	movl guest_nmi + 4, %eax
	movl %eax, 0x10(%ebx)      /* ICR high: the destination */
	movl guest_nmi + 8, %eax
	movl %eax, (%ebx)          /* ICR low: sends */
1:
	GUEST_PROGRAM vmcall

	.section .note.GNU-stack, "", @progbits
