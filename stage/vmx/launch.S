/*
 * The host side of VM entry and VM exit. The host stack and the RFLAGS of a
 * VMLAUNCH/VMRESUME that fell through live in the running CPU's struct cpu,
 * reached through FS (which every VM exit restores from the host-state area).
 */
#include "cpu.h"

#define PRESET_CF_ZF 0x41

	.section .text
/*
 * int vmx_launch_guest(void)
 * Returns 0 when the exit handler ended the guest, 1 when VMLAUNCH fell
 * through and 2 when VMRESUME fell through (VMfail: launch_fail_eflags holds
 * RFLAGS, CF and ZF having been preset to 1). Callee-saved registers and the
 * stack pointer are kept across the guest's run.
 */
	.global vmx_launch_guest
vmx_launch_guest:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, %fs:CPU_OFFSET_HOST_ESP
	pushfl
	orl $PRESET_CF_ZF, (%esp)
	popfl
	vmlaunch
	pushfl
	popl %fs:CPU_OFFSET_LAUNCH_EFLAGS
	movl $1, %eax
	jmp return_to_caller

/* HOST_RIP: every VM exit lands here, on the CPU's exit stack (HOST_RSP). */
	.global vmexit_entry
vmexit_entry:
	pushal                      /* the guest's registers: struct guest_regs */
	pushl %esp
	call vmexit_handler         /* nonzero: resume the guest */
	addl $4, %esp
	testl %eax, %eax
	jz 1f
	popal
	pushfl
	orl $PRESET_CF_ZF, (%esp)
	popfl
	vmresume
	pushfl
	popl %fs:CPU_OFFSET_LAUNCH_EFLAGS
	movl $2, %eax
	jmp return_to_caller
1:	xorl %eax, %eax

return_to_caller:
	movl %fs:CPU_OFFSET_HOST_ESP, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.section .note.GNU-stack, "", @progbits
