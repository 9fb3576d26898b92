/*
 * VMRUN and the return from #VMEXIT (AMD APM Vol. 2, 15.5 "VMRUN" and 15.6
 * "#VMEXIT"). VMRUN saves the host's state to VM_HSAVE_PA and #VMEXIT reloads
 * it: ESP, EIP (the instruction after VMRUN), RAX (the VMCB address), the
 * segment registers except FS and GS (which VMRUN does not load: the guest
 * runs with the host's, so this_cpu() still works), CR0/CR3/CR4, EFER, GDTR,
 * IDTR, RFLAGS. Every other general register holds the guest's value after
 * #VMEXIT: they are loaded from and saved to struct svm_guest_regs here.
 *
 * int svm_vmrun(u32 vmcb, struct svm_guest_regs *regs, struct fault_catch *catcher)
 * Returns the vector VMRUN raised (#UD, #GP), or -1. The catcher is armed
 * here: a fault resumes at the label after VMRUN with ESP as it was.
 */
	.section .text
	.global svm_vmrun
svm_vmrun:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 28(%esp), %eax         /* catcher: arm it with the resume address */
	movl $1f, (%eax)
	movl 24(%esp), %ecx         /* regs */
	pushl %ecx                  /* kept across the guest's run, at 0(%esp) */
	movl 0(%ecx), %ebx
	movl 8(%ecx), %edx
	movl 12(%ecx), %esi
	movl 16(%ecx), %edi
	movl 20(%ecx), %ebp
	movl 4(%ecx), %ecx
	movl 24(%esp), %eax         /* the VMCB's physical address (identity-mapped) */
	vmrun
1:
	pushl %ecx                  /* the guest's ECX, while ECX points at regs */
	movl 4(%esp), %ecx
	movl %ebx, 0(%ecx)
	movl %edx, 8(%ecx)
	movl %esi, 12(%ecx)
	movl %edi, 16(%ecx)
	movl %ebp, 20(%ecx)
	popl %eax
	movl %eax, 4(%ecx)
	addl $4, %esp
	movl 28(%esp), %eax         /* catcher: disarm, return its vector */
	movl $0, (%eax)
	movl 4(%eax), %eax
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.section .note.GNU-stack, "", @progbits
