/*
 * The tiny guest, and the host side of VM entry and VM exit.
 *
 * The guest runs in 32-bit protected mode with the host's flat segments and
 * page tables, and does, in order: CPUID (exit reason 10), an OUT to a test
 * port (30), VMCALL with a value (18), HLT (12) (SDM Vol. 3C, 26.1.2 and
 * 26.1.3: these cause VM exits unconditionally or with the controls we set).
 */
#include "guest_abi.h"

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

/*
 * int vmx_launch_guest(void)
 * Returns 0 when the exit handler ended the guest, 1 when VMLAUNCH fell
 * through and 2 when VMRESUME fell through (VMfail: guest_fail_eflags holds
 * RFLAGS, CF and ZF having been preset to 1). Callee-saved registers and the
 * stack pointer are kept in host_saved_esp across the guest's run.
 */
	.global vmx_launch_guest
vmx_launch_guest:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, host_saved_esp
	pushfl
	orl $0x41, (%esp)
	popfl
	vmlaunch
	pushfl
	popl guest_fail_eflags
	movl $1, %eax
	jmp return_to_caller

/* HOST_RIP: every VM exit lands here, on the dedicated exit stack (HOST_RSP). */
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
	orl $0x41, (%esp)
	popfl
	vmresume
	pushfl
	popl guest_fail_eflags
	movl $2, %eax
	jmp return_to_caller
1:	xorl %eax, %eax

return_to_caller:
	movl host_saved_esp, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.section .bss
	.align 4
	.global host_saved_esp, guest_fail_eflags
host_saved_esp:
	.long 0
guest_fail_eflags:
	.long 0

	.section .note.GNU-stack, "", @progbits
