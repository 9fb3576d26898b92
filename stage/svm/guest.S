/*
 * The tiny guest under AMD-V (its ABI: bootgen/contract/guest.py): the VT-x
 * guest's program with VMMCALL in VMCALL's place. It runs in 32-bit protected
 * mode with paging off (guest-physical = linear; with nested paging, the
 * stub's nested table maps that to the same host-physical address) and does,
 * in order: CPUID (#VMEXIT 0x72), an OUT to the test port (IOIO, 0x7B),
 * VMMCALL with a value (0x81), HLT (0x78): each intercepted by the VMCB
 * (APM Vol. 2, 15.9-15.13).
 *
 * svm_guest_ud_entry is the same program behind a UD2, for the
 * unexpected-vmexit injection (#UD intercepted: #VMEXIT 0x46).
 */
#include "guest_program.h"

	.section .text
	.global svm_guest_ud_entry
svm_guest_ud_entry:
	ud2
	.global svm_guest_entry
svm_guest_entry:
	GUEST_PROGRAM vmmcall

	.section .note.GNU-stack, "", @progbits
