/* VMX instruction outcomes and VMCS field encodings (SDM Vol. 3C, 31.2 and appendix B). */
#ifndef BOOTGEN_VMX_H
#define BOOTGEN_VMX_H

#include "types.h"

/* VMCS field encodings (SDM Vol. 3D, appendix B). 64-bit fields: "full" encoding; +1 is the high half. */
#define VMCS_GUEST_ES_SELECTOR 0x00000800u
#define VMCS_GUEST_CS_SELECTOR 0x00000802u
#define VMCS_GUEST_SS_SELECTOR 0x00000804u
#define VMCS_GUEST_DS_SELECTOR 0x00000806u
#define VMCS_GUEST_FS_SELECTOR 0x00000808u
#define VMCS_GUEST_GS_SELECTOR 0x0000080au
#define VMCS_GUEST_LDTR_SELECTOR 0x0000080cu
#define VMCS_GUEST_TR_SELECTOR 0x0000080eu
#define VMCS_HOST_ES_SELECTOR 0x00000c00u
#define VMCS_HOST_CS_SELECTOR 0x00000c02u
#define VMCS_HOST_SS_SELECTOR 0x00000c04u
#define VMCS_HOST_DS_SELECTOR 0x00000c06u
#define VMCS_HOST_FS_SELECTOR 0x00000c08u
#define VMCS_HOST_GS_SELECTOR 0x00000c0au
#define VMCS_HOST_TR_SELECTOR 0x00000c0cu
#define VMCS_VMCS_LINK_POINTER 0x00002800u
#define VMCS_GUEST_IA32_DEBUGCTL 0x00002802u
#define VMCS_PIN_BASED_CONTROLS 0x00004000u
#define VMCS_PRIMARY_PROC_CONTROLS 0x00004002u
#define VMCS_EXCEPTION_BITMAP 0x00004004u
#define VMCS_CR3_TARGET_COUNT 0x0000400au
#define VMCS_EXIT_CONTROLS 0x0000400cu
#define VMCS_EXIT_MSR_STORE_COUNT 0x0000400eu
#define VMCS_EXIT_MSR_LOAD_COUNT 0x00004010u
#define VMCS_ENTRY_CONTROLS 0x00004012u
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x00004014u
#define VMCS_ENTRY_INTERRUPTION_INFO 0x00004016u
#define VMCS_SECONDARY_PROC_CONTROLS 0x0000401eu
#define VMCS_VM_INSTRUCTION_ERROR 0x00004400u
#define VMCS_EXIT_REASON 0x00004402u
#define VMCS_EXIT_INSTRUCTION_LENGTH 0x0000440cu
#define VMCS_GUEST_ES_LIMIT 0x00004800u
#define VMCS_GUEST_CS_LIMIT 0x00004802u
#define VMCS_GUEST_SS_LIMIT 0x00004804u
#define VMCS_GUEST_DS_LIMIT 0x00004806u
#define VMCS_GUEST_FS_LIMIT 0x00004808u
#define VMCS_GUEST_GS_LIMIT 0x0000480au
#define VMCS_GUEST_LDTR_LIMIT 0x0000480cu
#define VMCS_GUEST_TR_LIMIT 0x0000480eu
#define VMCS_GUEST_GDTR_LIMIT 0x00004810u
#define VMCS_GUEST_IDTR_LIMIT 0x00004812u
#define VMCS_GUEST_ES_ACCESS 0x00004814u
#define VMCS_GUEST_CS_ACCESS 0x00004816u
#define VMCS_GUEST_SS_ACCESS 0x00004818u
#define VMCS_GUEST_DS_ACCESS 0x0000481au
#define VMCS_GUEST_FS_ACCESS 0x0000481cu
#define VMCS_GUEST_GS_ACCESS 0x0000481eu
#define VMCS_GUEST_LDTR_ACCESS 0x00004820u
#define VMCS_GUEST_TR_ACCESS 0x00004822u
#define VMCS_GUEST_INTERRUPTIBILITY 0x00004824u
#define VMCS_GUEST_ACTIVITY_STATE 0x00004826u
#define VMCS_GUEST_SYSENTER_CS 0x0000482au
#define VMCS_HOST_SYSENTER_CS 0x00004c00u
#define VMCS_CR0_GUEST_HOST_MASK 0x00006000u
#define VMCS_CR4_GUEST_HOST_MASK 0x00006002u
#define VMCS_CR0_READ_SHADOW 0x00006004u
#define VMCS_CR4_READ_SHADOW 0x00006006u
#define VMCS_EXIT_QUALIFICATION 0x00006400u
#define VMCS_GUEST_CR0 0x00006800u
#define VMCS_GUEST_CR3 0x00006802u
#define VMCS_GUEST_CR4 0x00006804u
#define VMCS_GUEST_ES_BASE 0x00006806u
#define VMCS_GUEST_CS_BASE 0x00006808u
#define VMCS_GUEST_SS_BASE 0x0000680au
#define VMCS_GUEST_DS_BASE 0x0000680cu
#define VMCS_GUEST_FS_BASE 0x0000680eu
#define VMCS_GUEST_GS_BASE 0x00006810u
#define VMCS_GUEST_LDTR_BASE 0x00006812u
#define VMCS_GUEST_TR_BASE 0x00006814u
#define VMCS_GUEST_GDTR_BASE 0x00006816u
#define VMCS_GUEST_IDTR_BASE 0x00006818u
#define VMCS_GUEST_DR7 0x0000681au
#define VMCS_GUEST_RSP 0x0000681cu
#define VMCS_GUEST_RIP 0x0000681eu
#define VMCS_GUEST_RFLAGS 0x00006820u
#define VMCS_GUEST_PENDING_DBG 0x00006822u
#define VMCS_GUEST_SYSENTER_ESP 0x00006824u
#define VMCS_GUEST_SYSENTER_EIP 0x00006826u
#define VMCS_HOST_CR0 0x00006c00u
#define VMCS_HOST_CR3 0x00006c02u
#define VMCS_HOST_CR4 0x00006c04u
#define VMCS_HOST_FS_BASE 0x00006c06u
#define VMCS_HOST_GS_BASE 0x00006c08u
#define VMCS_HOST_TR_BASE 0x00006c0au
#define VMCS_HOST_GDTR_BASE 0x00006c0cu
#define VMCS_HOST_IDTR_BASE 0x00006c0eu
#define VMCS_HOST_SYSENTER_ESP 0x00006c10u
#define VMCS_HOST_SYSENTER_EIP 0x00006c12u
#define VMCS_HOST_RSP 0x00006c14u
#define VMCS_HOST_RIP 0x00006c16u

/* Basic exit reasons (SDM Vol. 3D, appendix C). Bit 31 of the exit reason: VM-entry failure. */
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_HLT 12
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_IO 30
#define EXIT_REASON_ENTRY_FAILURE BIT(31)

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
void rec_vmx_outcome(const char *insn, const struct vmx_outcome *o);

struct vmx_outcome vmxon_safe(u64 region_pa);
struct vmx_outcome vmxoff_safe(void);
struct vmx_outcome vmclear_safe(u64 region_pa);
struct vmx_outcome vmptrld_safe(u64 region_pa);
int vmread_safe(u32 field, u32 *value);
int vmwrite_safe(u32 field, u32 value); /* same return convention as vmread_safe */

/* Part 2: a VMCS, VMLAUNCH of a tiny guest and the exit trace. Writes its own records. */
enum guest_result {
	GUEST_OK,            /* the expected exit trace, VMCALL value round-tripped */
	GUEST_ENTRY_FAILED,  /* VMLAUNCH/VMRESUME fell through, or a failed VM entry */
	GUEST_SETUP_FAILED,  /* VMCLEAR / VMPTRLD / VMWRITE failed */
	GUEST_BAD_TRACE,     /* the guest ran but the exits were not the expected ones */
	GUEST_SECOND_VMXON,  /* inject=double-vmxon-vmcs: a second VMXON with a current VMCS */
};
enum guest_result vmx_guest_run(u32 revision, u64 vmx_basic, u32 vmxon_region, struct vmx_outcome *second_vmxon);
void guest_verdict_detail(void);

#endif
