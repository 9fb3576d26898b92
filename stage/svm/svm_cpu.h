/* What one CPU's AMD-V test remembers between the VMCB set-up, the guest's #VMEXITs and the verdict. */
#ifndef BOOTGEN_SVM_CPU_H
#define BOOTGEN_SVM_CPU_H

#include "generated/contract.h"
#include "types.h"

struct svm_exit_record {
	u32 code, rip, next_rip;
	u64 info1, info2;
};

/* The guest's registers that VMRUN and #VMEXIT leave alone (only RAX lives in the VMCB; svm/run.S). */
struct svm_guest_regs {
	u32 ebx, ecx, edx, esi, edi, ebp;
};

struct svm_cpu {
	struct svm_exit_record exits[GUEST_MAX_EXITS];
	u32 exit_count;
	u32 vmcall_value;
	int vmcall_seen;
	int nested_paging;     /* the VMCB enables nested paging */
	int nrip_save;         /* CPUID Fn8000_000A_EDX.NRIPS: the CPU saves the next RIP */
	int vmrun_vector;      /* the exception VMRUN raised, or -1 */
	u32 vmrun_error_code;
	struct svm_guest_regs regs;
};

#endif
