/* The guest under AMD-V: its VMCB, its runs and #VMEXITs (svm/guest_run.c). */
#ifndef BOOTGEN_SVM_GUEST_RUN_H
#define BOOTGEN_SVM_GUEST_RUN_H

#include "types.h"

struct cpu;

enum svm_guest_result {
	SVM_GUEST_OK,
	SVM_GUEST_VMRUN_FAULT, /* VMRUN raised an exception */
	SVM_GUEST_INVALID,     /* VMEXIT_INVALID: the VMCB failed the consistency checks (15.5.1) */
	SVM_GUEST_BAD_TRACE,   /* the guest ran, but its #VMEXITs were not CPUID, IOIO, VMMCALL, HLT */
};

void svm_vmcb_prepare(struct cpu *cpu, int nested_paging);
enum svm_guest_result svm_guest_run(struct cpu *cpu);
/* The #VMEXIT code the verdict names: the first one the guest's ABI did not expect (else the last). */
u32 svm_unexpected_code(const struct cpu *cpu);

#endif
