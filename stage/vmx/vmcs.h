/*
 * A VMCS and the tiny guest it runs (SDM Vol. 3C, 25 "Virtual Machine Control
 * Structures", 26 "VMX Non-Root Operation", 27 "VM Entries", 28 "VM Exits").
 */
#ifndef BOOTGEN_VMCS_H
#define BOOTGEN_VMCS_H

#include "types.h"
#include "vmx/insn.h"

struct cpu;

enum guest_result {
	GUEST_OK,            /* the expected exit trace, VMCALL value round-tripped */
	GUEST_ENTRY_FAILED,  /* VMLAUNCH/VMRESUME fell through, or a failed VM entry */
	GUEST_SETUP_FAILED,  /* VMCLEAR / VMPTRLD / VMWRITE failed */
	GUEST_BAD_TRACE,     /* the guest ran but the exits were not the expected ones */
	GUEST_SECOND_VMXON,  /* INJECT_DOUBLE_VMXON_VMCS: a second VMXON with a current VMCS */
	GUEST_CLEAR_FAILED,  /* the guest ran, but the VMCLEAR after it failed */
	GUEST_MSR_FAULT,     /* a control word's capability MSR (and its plain fallback) raised an exception */
};

/* In VMX root operation: set up this CPU's VMCS, run the guest, VMCLEAR. Writes its own records. */
enum guest_result vmx_guest_run(struct cpu *cpu, u64 vmx_basic, struct vmx_outcome *second_vmxon);
/* Add the guest's failure detail to the verdict being decided. */
void vmx_guest_failure_detail(const struct cpu *cpu);

struct vmx_cpu;
/* VMWRITE that remembers the first failure (vmx->vmwrite_error) and skips the writes after it. */
void vmcs_write(struct vmx_cpu *vmx, u32 field, u32 value);

/* The exit handler (vmx/exit.c) and the entry/exit glue (vmx/launch.S). */
int vmx_trace_is_expected(const struct cpu *cpu);
int vmx_launch_guest(void); /* 0: the exit handler ended the guest; 1: VMLAUNCH, 2: VMRESUME fell through */
extern void vmexit_entry(void);
extern void guest_entry(void);

#endif
