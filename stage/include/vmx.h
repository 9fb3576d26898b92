/* VMX instruction outcomes and VMCS field encodings (SDM Vol. 3C, 31.2 and appendix B). */
#ifndef BOOTGEN_VMX_H
#define BOOTGEN_VMX_H

#include "types.h"

/* VMCS field: VM-instruction error (read-only data field, SDM Vol. 3C, B.3.2). */
#define VMCS_VM_INSTRUCTION_ERROR 0x00004400u

/*
 * The outcome of one VMX instruction (SDM Vol. 3C, 31.2 "Conventions"):
 * VMsucceed clears CF and ZF; VMfailInvalid sets CF; VMfailValid sets ZF and
 * stores an error number in the current VMCS. A fault means the instruction
 * raised an exception (#UD, #GP) instead of completing.
 */
struct vmx_outcome {
	int vector;   /* exception vector, or -1 when the instruction completed */
	u32 error_code;
	u32 eflags;   /* RFLAGS after the instruction (CF and ZF were preset to 1) */
	u32 insn_error; /* VM-instruction error when ZF was set (0 if unreadable) */
};

int vmx_outcome_cf(const struct vmx_outcome *o);
int vmx_outcome_zf(const struct vmx_outcome *o);
const char *vmx_outcome_name(const struct vmx_outcome *o);

struct vmx_outcome vmxon_safe(u64 region_pa);
struct vmx_outcome vmxoff_safe(void);
int vmread_safe(u32 field, u32 *value);

#endif
