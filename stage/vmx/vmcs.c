/*
 * A VMCS and a tiny guest (SDM Vol. 3C, 25 "Virtual Machine Control
 * Structures", 26 "VMX Non-Root Operation", 27 "VM Entries", 28 "VM Exits").
 * In SDM order: prepare the VMCS region, VMCLEAR, VMPTRLD; compute the
 * controls from the capability MSRs; fill host state from the running CPU and
 * guest state for a flat 32-bit protected-mode guest; VMLAUNCH; the exit
 * handler (exit.c) handles exits until HLT; VMCLEAR.
 */
#include "boot/descriptors.h"
#include "boot/fault.h"
#include "cpu.h"
#include "generated/contract.h"
#include "generated/msr.h"
#include "generated/vmx_controls.h"
#include "lib/string.h"
#include "out/report.h"
#include "probe/inject.h"
#include "probe/verdict.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_fields.h"
#include "x86.h"

/* Access rights (SDM Vol. 3C, 25.4.1, table 25-2): type, S, DPL, P, D/B, G; bit 16 = unusable. */
#define AR_CODE 0xc09bu
#define AR_DATA 0xc093u
#define AR_TSS_BUSY 0x008bu
#define AR_UNUSABLE 0x10000u

void vmcs_write(struct vmx_cpu *vmx, u32 field, u32 value)
{
	if (vmx->vmwrite_error)
		return;
	int r = vmwrite_safe(field, value);
	if (r) {
		vmx->vmwrite_error = r;
		vmx->vmwrite_failed_field = field;
	}
}

static u32 vmr(u32 field)
{
	u32 value = 0;
	vmread_safe(field, &value);
	return value;
}

/*
 * A control word from its capability MSR (SDM Vol. 3D, A.3-A.5): bits 31:0
 * are the allowed 0-settings (a 1 there must be 1), bits 63:32 the allowed
 * 1-settings (a 0 there must be 0): value = (wanted | allowed0) & allowed1.
 */
static u32 adjust_controls(struct vmx_cpu *vmx, const char *name, u32 msr, u32 plain_msr, u32 wanted,
			   u32 *allowed1_out)
{
	u64 cap = 0;
	int vector = rdmsr_safe(msr, &cap);
	int fell_back = 0;
	if (vector >= 0 && plain_msr != msr) {
		/* A TRUE_* MSR that faults (incomplete nested VMX): the plain MSR gives the same allowed-1 bits and
		 * stricter allowed-0 bits (SDM Vol. 3D, A.2). */
		fell_back = rdmsr_safe(plain_msr, &cap) < 0;
	}
	u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
	u32 value = (wanted | allowed0) & allowed1;
	rec_start(REC_CONTROLS);
	rec_str(KEY_NAME, name);
	rec_hex32(KEY_MSR, msr);
	if (vector >= 0)
		rec_dec(KEY_FAULT, (u32)vector);
	if (fell_back)
		rec_hex32(KEY_FALLBACK, plain_msr);
	if (vector >= 0 && !fell_back && !vmx->control_msr_vector) {
		vmx->control_msr = msr;  /* no control word without its capability MSR: stop */
		vmx->control_msr_vector = (u32)vector + 1;
	}
	rec_hex32(KEY_WANTED, wanted);
	rec_hex32(KEY_ALLOWED0, allowed0);
	rec_hex32(KEY_ALLOWED1, allowed1);
	rec_hex32(KEY_VALUE, value);
	rec_hex32(KEY_REFUSED, wanted & ~allowed1);
	rec_finish();
	if (allowed1_out)
		*allowed1_out = allowed1;
	return value;
}

static void write_controls(struct vmx_cpu *vmx, u64 vmx_basic)
{
	int use_true = (vmx_basic & VMX_BASIC_TRUE_CONTROLS) != 0; /* SDM Vol. 3D, A.2 */
	u32 primary_allowed1;
#define CAPABILITY(true_msr, plain_msr) (use_true ? (true_msr) : (plain_msr)), (plain_msr)
	/* NMIs and every exception in the guest exit to us: the guest shares our IDT, whose
	 * handlers must never run in VMX non-root operation. */
	u32 pin = adjust_controls(vmx, CONTROLS_PIN_BASED, CAPABILITY(IA32_VMX_TRUE_PINBASED_CTLS, IA32_VMX_PINBASED_CTLS),
				  PIN_NMI_EXITING, NULL);
	u32 primary = adjust_controls(vmx, CONTROLS_PRIMARY_PROCESSOR_BASED,
				      CAPABILITY(IA32_VMX_TRUE_PROCBASED_CTLS, IA32_VMX_PROCBASED_CTLS),
				      PRIMARY_HLT_EXITING | PRIMARY_UNCONDITIONAL_IO_EXITING, &primary_allowed1);
	if (primary_allowed1 & PRIMARY_ACTIVATE_SECONDARY_CONTROLS) {
		primary |= PRIMARY_ACTIVATE_SECONDARY_CONTROLS;
		u32 secondary = adjust_controls(vmx, CONTROLS_SECONDARY_PROCESSOR_BASED, IA32_VMX_PROCBASED_CTLS2,
						IA32_VMX_PROCBASED_CTLS2, 0, NULL);
		vmcs_write(vmx, VMCS_SECONDARY_PROC_CONTROLS, secondary);
	}
	/* A 32-bit host: "host address-space size" (exit control 9) stays 0; no IA-32e guest (entry control 9). */
	u32 exit = adjust_controls(vmx, CONTROLS_VM_EXIT, CAPABILITY(IA32_VMX_TRUE_EXIT_CTLS, IA32_VMX_EXIT_CTLS), 0,
				   NULL);
	u32 entry = adjust_controls(vmx, CONTROLS_VM_ENTRY, CAPABILITY(IA32_VMX_TRUE_ENTRY_CTLS, IA32_VMX_ENTRY_CTLS), 0,
				    NULL);
#undef CAPABILITY
	vmcs_write(vmx, VMCS_PIN_BASED_CONTROLS, pin);
	vmcs_write(vmx, VMCS_PRIMARY_PROC_CONTROLS, primary);
	vmcs_write(vmx, VMCS_EXIT_CONTROLS, exit);
	vmcs_write(vmx, VMCS_ENTRY_CONTROLS, entry);
	vmcs_write(vmx, VMCS_EXCEPTION_BITMAP, 0xffffffffu);
	/* The VMCS region's format is the processor's own: zeroed memory is not an initialised field, so
	 * every field the processor uses is written, zeros included (SDM Vol. 3C, 25.11.3). */
	vmcs_write(vmx, VMCS_PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(vmx, VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(vmx, VMCS_ENTRY_EXCEPTION_ERROR_CODE, 0);
	vmcs_write(vmx, VMCS_ENTRY_INSTRUCTION_LENGTH, 0);
	vmcs_write(vmx, VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(vmx, VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(vmx, VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(vmx, VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(vmx, VMCS_ENTRY_INTERRUPTION_INFO, 0);
	vmcs_write(vmx, VMCS_CR0_GUEST_HOST_MASK, 0);
	vmcs_write(vmx, VMCS_CR4_GUEST_HOST_MASK, 0);
	vmcs_write(vmx, VMCS_CR0_READ_SHADOW, read_cr0());
	vmcs_write(vmx, VMCS_CR4_READ_SHADOW, read_cr4());
}

/* Host-state area (SDM Vol. 3C, 25.5; checks in 27.2.2-27.2.4): the running CPU, RPL/TI clear. */
static void write_host_state(struct cpu *cpu, const struct table_register *gdtr, const struct table_register *idtr)
{
	struct vmx_cpu *vmx = &cpu->vmx;
	vmcs_write(vmx, VMCS_HOST_CR0, read_cr0());
	vmcs_write(vmx, VMCS_HOST_CR3, read_cr3());
	vmcs_write(vmx, VMCS_HOST_CR4, read_cr4());
	vmcs_write(vmx, VMCS_HOST_CS_SELECTOR, SEL_CODE);
	vmcs_write(vmx, VMCS_HOST_SS_SELECTOR, SEL_DATA);
	vmcs_write(vmx, VMCS_HOST_DS_SELECTOR, SEL_DATA);
	vmcs_write(vmx, VMCS_HOST_ES_SELECTOR, SEL_DATA);
	vmcs_write(vmx, VMCS_HOST_FS_SELECTOR, SEL_PERCPU(cpu->index));
	vmcs_write(vmx, VMCS_HOST_GS_SELECTOR, SEL_DATA);
	vmcs_write(vmx, VMCS_HOST_TR_SELECTOR, SEL_TSS(cpu->index));
	vmcs_write(vmx, VMCS_HOST_FS_BASE, (u32)cpu); /* this_cpu() after every VM exit (28.5.2) */
	vmcs_write(vmx, VMCS_HOST_GS_BASE, 0);
	vmcs_write(vmx, VMCS_HOST_TR_BASE, (u32)&cpu->tss);
	vmcs_write(vmx, VMCS_HOST_GDTR_BASE, gdtr->base);
	vmcs_write(vmx, VMCS_HOST_IDTR_BASE, idtr->base);
	vmcs_write(vmx, VMCS_HOST_SYSENTER_CS, 0);
	vmcs_write(vmx, VMCS_HOST_SYSENTER_ESP, 0);
	vmcs_write(vmx, VMCS_HOST_SYSENTER_EIP, 0);
	vmcs_write(vmx, VMCS_HOST_RSP, (u32)(cpu->exit_stack + sizeof(cpu->exit_stack)));
	vmcs_write(vmx, VMCS_HOST_RIP, (u32)vmexit_entry);
}

static void write_guest_segment(struct vmx_cpu *vmx, u32 selector_field, u16 selector, u32 access)
{
	/* Selector, base, limit and access-rights fields are laid out in parallel (appendix B). */
	u32 index = (selector_field - VMCS_GUEST_ES_SELECTOR) / 2;
	vmcs_write(vmx, selector_field, selector);
	vmcs_write(vmx, VMCS_GUEST_ES_BASE + index * 2, 0);
	vmcs_write(vmx, VMCS_GUEST_ES_LIMIT + index * 2, 0xffffffffu);
	vmcs_write(vmx, VMCS_GUEST_ES_ACCESS + index * 2, access);
}

/* Guest-state area (SDM Vol. 3C, 25.4; checks in 27.3.1): flat protected mode, paging as the host. */
static void write_guest_state(struct cpu *cpu, const struct table_register *gdtr, const struct table_register *idtr)
{
	struct vmx_cpu *vmx = &cpu->vmx;
	vmcs_write(vmx, VMCS_GUEST_CR0, read_cr0());
	vmcs_write(vmx, VMCS_GUEST_CR3, read_cr3());
	vmcs_write(vmx, VMCS_GUEST_CR4, read_cr4());
	vmcs_write(vmx, VMCS_GUEST_DR7, 0x400);
	write_guest_segment(vmx, VMCS_GUEST_ES_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(vmx, VMCS_GUEST_CS_SELECTOR, SEL_CODE, AR_CODE);
	write_guest_segment(vmx, VMCS_GUEST_SS_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(vmx, VMCS_GUEST_DS_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(vmx, VMCS_GUEST_FS_SELECTOR, SEL_DATA, AR_DATA);
	write_guest_segment(vmx, VMCS_GUEST_GS_SELECTOR, SEL_DATA, AR_DATA);
	vmcs_write(vmx, VMCS_GUEST_LDTR_SELECTOR, 0);
	vmcs_write(vmx, VMCS_GUEST_LDTR_BASE, 0);
	vmcs_write(vmx, VMCS_GUEST_LDTR_LIMIT, 0);
	vmcs_write(vmx, VMCS_GUEST_LDTR_ACCESS, AR_UNUSABLE);
	vmcs_write(vmx, VMCS_GUEST_TR_SELECTOR, SEL_TSS(cpu->index));
	vmcs_write(vmx, VMCS_GUEST_TR_BASE, (u32)&cpu->tss);
	vmcs_write(vmx, VMCS_GUEST_TR_LIMIT, sizeof(cpu->tss) - 1);
	vmcs_write(vmx, VMCS_GUEST_TR_ACCESS, AR_TSS_BUSY);
	vmcs_write(vmx, VMCS_GUEST_GDTR_BASE, gdtr->base);
	vmcs_write(vmx, VMCS_GUEST_GDTR_LIMIT, gdtr->limit);
	vmcs_write(vmx, VMCS_GUEST_IDTR_BASE, idtr->base);
	vmcs_write(vmx, VMCS_GUEST_IDTR_LIMIT, idtr->limit);
	vmcs_write(vmx, VMCS_GUEST_RSP, (u32)(cpu->guest_stack + sizeof(cpu->guest_stack)));
	vmcs_write(vmx, VMCS_GUEST_RIP, (u32)guest_entry);
	vmcs_write(vmx, VMCS_GUEST_RFLAGS, EFLAGS_RESERVED1);
	vmcs_write(vmx, VMCS_GUEST_PENDING_DBG, 0);
	vmcs_write(vmx, VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(vmx, VMCS_GUEST_ACTIVITY_STATE, 0); /* active */
	vmcs_write(vmx, VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(vmx, VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(vmx, VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write(vmx, VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(vmx, VMCS_GUEST_IA32_DEBUGCTL + 1, 0);
	vmcs_write(vmx, VMCS_VMCS_LINK_POINTER, 0xffffffffu); /* no shadow VMCS: all ones (27.3.1.5) */
	vmcs_write(vmx, VMCS_VMCS_LINK_POINTER + 1, 0xffffffffu);
}

static void rec_launch_failure(struct cpu *cpu, const char *insn)
{
	struct vmx_outcome o = vmx_outcome_of_eflags(cpu->launch_fail_eflags);
	cpu->vmx.launch_insn_error = o.insn_error;
	rec_vmx_outcome(insn, &o);
}

void vmx_guest_failure_detail(const struct cpu *cpu)
{
	const struct vmx_cpu *vmx = &cpu->vmx;
	if (vmx->entry_failed) {
		verdict_dec(KEY_ENTRY_FAILURE_REASON, vmx->entry_failure.reason & EXIT_REASON_BASIC_MASK);
		verdict_hex32(KEY_QUALIFICATION, vmx->entry_failure.qualification);
	} else if (cpu->launch_fail_eflags) {
		struct vmx_outcome o = { .vector = -1, .eflags = cpu->launch_fail_eflags };
		verdict_dec(KEY_CF, (u32)vmx_outcome_cf(&o));
		verdict_dec(KEY_ZF, (u32)vmx_outcome_zf(&o));
		if (vmx_outcome_zf(&o) && !vmx_outcome_cf(&o))
			verdict_dec(KEY_INSN_ERROR, vmx->launch_insn_error);
	} else if (vmx->vmwrite_error) {
		verdict_hex32(KEY_FIELD, vmx->vmwrite_failed_field);
	}
	verdict_dec(KEY_EXITS, vmx->exit_count);
}

/*
 * Test-only: make the VMCS invalid in one documented way just before
 * VMLAUNCH (SDM Vol. 3C, 27.2.1 controls -> VMfailValid 7, 27.2.3 host state
 * -> VMfailValid 8, 27.3.1 guest state -> VM-entry failure, exit reason 33).
 */
static void inject_vmcs_error(struct cpu *cpu, u64 vmx_basic)
{
	struct vmx_cpu *vmx = &cpu->vmx;
	if (injecting(INJECT_BAD_CONTROL)) {
		int use_true = (vmx_basic & VMX_BASIC_TRUE_CONTROLS) != 0;
		u64 cap = 0;
		rdmsr_safe(use_true ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS, &cap);
		u32 allowed0 = (u32)cap, allowed1 = (u32)(cap >> 32);
		u32 pin = vmr(VMCS_PIN_BASED_CONTROLS);
		if (allowed0)
			vmcs_write(vmx, VMCS_PIN_BASED_CONTROLS, pin & ~allowed0); /* a must-be-1 bit cleared */
		else if (~allowed1)
			vmcs_write(vmx, VMCS_PIN_BASED_CONTROLS, pin | (~allowed1 & -~allowed1)); /* a must-be-0 bit set */
		else
			inject_not_applicable("the pin-based controls have no fixed bit to violate");
	}
	if (injecting(INJECT_BAD_HOST_STATE))
		vmcs_write(vmx, VMCS_HOST_TR_SELECTOR, 0); /* "the selector fields for CS and TR cannot be 0000H" */
	if (injecting(INJECT_BAD_GUEST_STATE))
		vmcs_write(vmx, VMCS_GUEST_RFLAGS, 0); /* RFLAGS bit 1 is reserved and must be 1 */
}

static void rec_region(const char *type, const u8 *region, u32 revision)
{
	rec_start(type);
	rec_hex32(KEY_ADDRESS, (u32)region);
	rec_hex32(KEY_REVISION, revision);
	rec_finish();
}

static int outcome_ok(const struct vmx_outcome *o) { return !vmx_outcome_failed(o); }

/* A failure path leaves no current VMCS behind before VMXOFF (SDM Vol. 3C, 25.11.3 "VMCS Life Cycle"). */
static void vmx_clear_current(struct cpu *cpu, u32 vmcs)
{
	(void)cpu;
	struct vmx_outcome clear = vmclear_safe(vmcs);
	rec_vmx_outcome(INSN_VMCLEAR, &clear);
}

enum guest_result vmx_guest_run(struct cpu *cpu, u64 vmx_basic, struct vmx_outcome *second_vmxon)
{
	struct vmx_cpu *vmx = &cpu->vmx;
	u32 revision = (u32)(vmx_basic & VMX_BASIC_REVISION_MASK);
	u32 vmcs = (u32)cpu->vmcs_region;
	enum guest_result result;
	struct table_register gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));

	step_begin(STEP_VMCS);
	memset(cpu->vmcs_region, 0, sizeof(cpu->vmcs_region));
	*(volatile u32 *)cpu->vmcs_region = revision; /* SDM Vol. 3C, 25.2: revision in bits 30:0, bit 31 clear */
	rec_region(REC_VMCS_REGION, cpu->vmcs_region, revision);
	struct vmx_outcome clear = vmclear_safe(vmcs);
	rec_vmx_outcome(INSN_VMCLEAR, &clear);
	struct vmx_outcome load = outcome_ok(&clear) ? vmptrld_safe(vmcs) : clear;
	if (outcome_ok(&clear))
		rec_vmx_outcome(INSN_VMPTRLD, &load);
	if (!outcome_ok(&load)) {
		step_fail();
		return GUEST_SETUP_FAILED;
	}
	if (injecting(INJECT_DOUBLE_VMXON_VMCS)) {
		/* In VMX root operation with a current VMCS: VMfailValid, error 15 (SDM Vol. 3C, 31.3 VMXON). */
		*second_vmxon = vmxon_safe((u32)cpu->vmxon_region);
		rec_vmx_outcome(INSN_VMXON, second_vmxon);
		struct vmx_outcome undo = vmclear_safe(vmcs);
		rec_vmx_outcome(INSN_VMCLEAR, &undo);
		step_fail();
		return GUEST_SECOND_VMXON;
	}

	write_controls(vmx, vmx_basic);
	if (vmx->control_msr_vector) {
		step_fail();
		vmx_clear_current(cpu, vmcs);
		return GUEST_MSR_FAULT;
	}
	write_host_state(cpu, &gdtr, &idtr);
	write_guest_state(cpu, &gdtr, &idtr);
	inject_vmcs_error(cpu, vmx_basic);
	if (vmx->vmwrite_error) {
		u32 err = 0;
		if (vmx->vmwrite_error == 1)
			vmread_safe(VMCS_VM_INSTRUCTION_ERROR, &err);
		rec_start(REC_VMX);
		rec_str(KEY_INSN, INSN_VMWRITE);
		rec_str(KEY_OUTCOME, vmx->vmwrite_error == 1 ? OUTCOME_FAIL_VALID : OUTCOME_FAULT);
		rec_hex32(KEY_FIELD, vmx->vmwrite_failed_field);
		rec_dec(KEY_INSN_ERROR, err);
		rec_finish();
		step_fail();
		vmx_clear_current(cpu, vmcs);
		return GUEST_SETUP_FAILED;
	}
	step_ok();

	step_begin(STEP_VMLAUNCH);
	rec_start(REC_GUEST);
	rec_hex32(KEY_ENTRY, (u32)guest_entry);
	rec_hex32(KEY_STACK, (u32)(cpu->guest_stack + sizeof(cpu->guest_stack)));
	rec_hex32(KEY_HOST_RIP, (u32)vmexit_entry);
	rec_finish();
	inject_guest_nmi_arm();
	int launched = vmx_launch_guest();
	if (launched == 1) {
		rec_launch_failure(cpu, INSN_VMLAUNCH);
		result = GUEST_ENTRY_FAILED;
	} else if (launched == 2) {
		rec_launch_failure(cpu, INSN_VMRESUME);
		result = GUEST_ENTRY_FAILED;
	} else if (vmx->entry_failed) {
		result = GUEST_ENTRY_FAILED;
	} else {
		result = vmx_trace_is_expected(cpu) ? GUEST_OK : GUEST_BAD_TRACE;
	}
	rec_start(REC_GUEST_TRACE);
	rec_dec(KEY_EXITS, vmx->exit_count);
	rec_str(KEY_EXPECTED, result == GUEST_OK ? ANSWER_YES : ANSWER_NO);
	if (vmx->vmcall_seen)
		rec_hex32(KEY_VMCALL_VALUE, vmx->vmcall_value);
	rec_finish();
	if (result == GUEST_OK)
		step_ok();
	else
		step_fail();

	step_begin(STEP_VMCLEAR);
	struct vmx_outcome final_clear = vmclear_safe(vmcs);
	rec_vmx_outcome(INSN_VMCLEAR, &final_clear);
	if (vmx_outcome_failed(&final_clear)) {
		step_fail();
		return result == GUEST_OK ? GUEST_CLEAR_FAILED : result;
	}
	step_ok();
	return result;
}
