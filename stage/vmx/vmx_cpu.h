/* What one CPU's VT-x test remembers between the VMCS set-up, the guest's exits and the verdict. */
#ifndef BOOTGEN_VMX_CPU_H
#define BOOTGEN_VMX_CPU_H

#include "generated/contract.h"
#include "types.h"

struct vmx_exit_record {
	u32 reason, qualification, rip, length;
};

struct vmx_cpu {
	struct vmx_exit_record exits[GUEST_MAX_EXITS];
	u32 exit_count;
	u32 vmcall_value;
	int vmcall_seen;
	int entry_failed;
	struct vmx_exit_record entry_failure; /* the failed VM entry, when there was one */
	u32 launch_insn_error;  /* read when VMLAUNCH/VMRESUME fails, while the VMCS is still current */
	int vmwrite_error;      /* the first failing VMWRITE's vmwrite_safe() result */
	u32 vmwrite_failed_field;
	u32 control_msr;        /* a capability MSR that faulted with no fallback, and its vector + 1 */
	u32 control_msr_vector;
};

#endif
