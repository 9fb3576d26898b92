/*
 * VMX instructions with their outcome captured (SDM Vol. 3C, 31.2
 * "Conventions" and 31.3 "VMX Instructions"): VMsucceed clears CF and ZF;
 * VMfailInvalid sets CF; VMfailValid sets ZF and stores an error number in the
 * current VMCS. A fault means the instruction raised an exception (#UD, #GP)
 * instead of completing.
 */
#ifndef BOOTGEN_VMX_INSN_H
#define BOOTGEN_VMX_INSN_H

#include "types.h"

struct vmx_outcome {
	int vector;     /* exception vector, or -1 when the instruction completed */
	u32 error_code;
	u32 eflags;     /* RFLAGS after the instruction (CF and ZF were preset to 1) */
	u32 insn_error; /* VM-instruction error when ZF was set (0 if unreadable) */
};

int vmx_outcome_cf(const struct vmx_outcome *o);
int vmx_outcome_zf(const struct vmx_outcome *o);
int vmx_outcome_failed(const struct vmx_outcome *o);
const char *vmx_outcome_name(const struct vmx_outcome *o);
struct vmx_outcome vmx_outcome_of_eflags(u32 eflags); /* a VMLAUNCH/VMRESUME that fell through */
void rec_vmx_outcome(const char *insn, const struct vmx_outcome *o);

struct vmx_outcome vmxon_safe(u64 region_pa);
struct vmx_outcome vmxoff_safe(void);
struct vmx_outcome vmclear_safe(u64 region_pa);
struct vmx_outcome vmptrld_safe(u64 region_pa);
/* VMREAD/VMWRITE of the current VMCS: 0 on success, 1 on VMfail, or the exception vector + 2. */
int vmread_safe(u32 field, u32 *value);
int vmwrite_safe(u32 field, u32 value);

#endif
