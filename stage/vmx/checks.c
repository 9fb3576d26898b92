/* VT-x readiness checks; see checks.h. */
#include "boot/fault.h"
#include "cpu.h"
#include "generated/contract.h"
#include "generated/memory_types.h"
#include "generated/msr.h"
#include "generated/vmx_controls.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/inject.h"
#include "probe/probe.h"
#include "probe/verdict.h"
#include "vmx/checks.h"
#include "x86.h"

static int read_msr_or_verdict(u32 index, u64 *value, const char *phase)
{
	int vector = rdmsr_safe(index, value);
	/* Injected: the CPU reads as one whose firmware locked VT-x off (Bochs locks it on at reset). */
	if (vector < 0 && index == IA32_FEATURE_CONTROL && injecting(INJECT_FEATURE_CONTROL_DISABLED))
		*value = (*value | FEATURE_CONTROL_LOCK) & ~(FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_VMX_INSIDE_SMX);
	if (vector >= 0) {
		rec_msr_fault(index, vector, phase);
		verdict_msr_fault(index, vector);
		return 0;
	}
	rec_msr(index, *value, phase);
	return 1;
}

/* CPUID.1:ECX.VMX[bit 5] (SDM Vol. 3C, 24.6); ECX[31] is set by hypervisors. */
enum check_result check_cpuid_vmx(void)
{
	if (!(probe_leaf1() & CPUID1_ECX_VMX)) {
		rec_check(CHECK_CPUID_VMX, RESULT_FAIL, "CPUID.1:ECX.VMX[bit 5] is 0");
		verdict_set(VERDICT_NO_VMX, "this CPU does not offer VT-x (CPUID.1:ECX.VMX = 0)");
		return CHECK_STOP;
	}
	rec_check(CHECK_CPUID_VMX, RESULT_PASS, "CPUID.1:ECX.VMX[bit 5] is 1");
	return CHECK_PASS;
}

static void dump_msr(u32 index, u64 *value)
{
	int vector = rdmsr_safe(index, value);
	if (vector >= 0) {
		*value = 0;
		rec_msr_fault(index, vector, MSR_PHASE_CAPABILITY);
		return;
	}
	rec_msr(index, *value, MSR_PHASE_CAPABILITY);
}

/*
 * Every VMX capability MSR that exists on this CPU, and only those (reading
 * an absent one is #GP). Which exist follows SDM Vol. 3D, appendix A: the
 * TRUE_* controls when IA32_VMX_BASIC[55] (A.2); PROCBASED_CTLS2 when the
 * primary controls allow bit 31 (A.3.3); EPT_VPID_CAP when the secondary
 * controls allow EPT (bit 1) or VPID (bit 5) (A.10); VMFUNC when they allow
 * bit 13 (A.11); PROCBASED_CTLS3 when the primary controls allow bit 17 (A.3.4).
 * The host decodes them all.
 */
void dump_vmx_capabilities(void)
{
	u64 basic, v, primary, secondary = 0;
	dump_msr(IA32_VMX_BASIC, &basic);
	dump_msr(IA32_VMX_PINBASED_CTLS, &v);
	dump_msr(IA32_VMX_PROCBASED_CTLS, &primary);
	dump_msr(IA32_VMX_EXIT_CTLS, &v);
	dump_msr(IA32_VMX_ENTRY_CTLS, &v);
	dump_msr(IA32_VMX_MISC, &v);
	dump_msr(IA32_VMX_VMCS_ENUM, &v);
	if (basic & VMX_BASIC_TRUE_CONTROLS) {
		for (u32 index = IA32_VMX_TRUE_PINBASED_CTLS; index <= IA32_VMX_TRUE_ENTRY_CTLS; index++)
			dump_msr(index, &v);
	}
	u32 primary_allowed1 = (u32)(primary >> 32);
	if (primary_allowed1 & PRIMARY_ACTIVATE_SECONDARY_CONTROLS)
		dump_msr(IA32_VMX_PROCBASED_CTLS2, &secondary);
	u32 secondary_allowed1 = (u32)(secondary >> 32);
	if (secondary_allowed1 & (SECONDARY_ENABLE_EPT | SECONDARY_ENABLE_VPID))
		dump_msr(IA32_VMX_EPT_VPID_CAP, &v);
	if (secondary_allowed1 & SECONDARY_ENABLE_VM_FUNCTIONS)
		dump_msr(IA32_VMX_VMFUNC, &v);
	if (primary_allowed1 & PRIMARY_ACTIVATE_TERTIARY_CONTROLS)
		dump_msr(IA32_VMX_PROCBASED_CTLS3, &v);
}

static void rec_feature_control(const char *result, const char *state, u64 value, const char *text)
{
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_FEATURE_CONTROL);
	rec_str(KEY_RESULT, result);
	rec_str(KEY_STATE, state);
	rec_hex64(KEY_VALUE, value);
	if (text)
		rec_text(text);
	rec_finish();
}

/*
 * IA32_FEATURE_CONTROL (SDM Vol. 3C, 24.7): VMXON outside SMX needs bit 2
 * set and the lock bit (bit 0) set; once locked, the MSR cannot change
 * until reset. Locked with bit 2 clear means firmware disabled VT-x.
 * Unlocked: we enable it ourselves and lock it, as firmware should have.
 */
enum check_result check_feature_control(void)
{
	u64 value;
	if (!read_msr_or_verdict(IA32_FEATURE_CONTROL, &value, MSR_PHASE_LOADER))
		return CHECK_STOP;

	if ((value & FEATURE_CONTROL_LOCK) && injecting(INJECT_LOCK_DISABLED))
		inject_not_applicable("IA32_FEATURE_CONTROL is already locked: it cannot be locked disabled");

	if (value & FEATURE_CONTROL_LOCK) {
		if (value & FEATURE_CONTROL_VMX_OUTSIDE_SMX) {
			rec_feature_control(RESULT_PASS, FC_STATE_ENABLED_BY_FIRMWARE, value, NULL);
			return CHECK_PASS;
		}
		rec_feature_control(RESULT_FAIL, FC_STATE_DISABLED_BY_FIRMWARE, value,
				    "locked with VMXON-outside-SMX (bit 2) clear");
		verdict_set(VERDICT_VMX_DISABLED_BY_FIRMWARE, "IA32_FEATURE_CONTROL is locked with VMX disabled");
		return CHECK_STOP;
	}

	u64 wanted = value | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
	if (injecting(INJECT_LOCK_DISABLED)) /* lock it the way a firmware that disables VT-x does */
		wanted = (value | FEATURE_CONTROL_LOCK) & ~(FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_VMX_INSIDE_SMX);
	int vector = wrmsr_safe(IA32_FEATURE_CONTROL, wanted);
	rec_msr_write(IA32_FEATURE_CONTROL, wanted, vector);
	if (vector >= 0) {
		/* Unlocked, yet the firmware (or SMM, or a hypervisor) refuses the write: VT-x is off all the same. */
		rec_feature_control(RESULT_FAIL, FC_STATE_WRITE_FAULTED, value,
				    "was unlocked, but writing it raised an exception (see the msr-write record)");
		verdict_set(VERDICT_VMX_DISABLED_BY_FIRMWARE, "IA32_FEATURE_CONTROL is unlocked but cannot be written");
		verdict_dec(KEY_VECTOR, (u32)vector);
		return CHECK_STOP;
	}
	u64 after;
	if (!read_msr_or_verdict(IA32_FEATURE_CONTROL, &after, MSR_PHASE_AFTER_WRITE))
		return CHECK_STOP;
	int ok = (after & (FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX)) ==
		 (FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_FEATURE_CONTROL);
	rec_str(KEY_RESULT, ok ? RESULT_PASS : RESULT_FAIL);
	rec_str(KEY_STATE, ok ? FC_STATE_ENABLED_BY_STUB : FC_STATE_WRITE_IGNORED);
	rec_hex64(KEY_VALUE, value);
	rec_hex64(KEY_AFTER, after);
	rec_text(ok ? "was unlocked: the stub set VMXON-outside-SMX and locked it"
		    : "was unlocked, but the write did not stick");
	rec_finish();
	if (!ok) {
		verdict_set(VERDICT_VMX_DISABLED_BY_FIRMWARE, "IA32_FEATURE_CONTROL could not be set to enable VMX");
		return CHECK_STOP;
	}
	return CHECK_PASS;
}

/*
 * CR4.VMXE already set when we arrive: some other software (a VMM, or the
 * firmware) is, or was, in VMX operation on this CPU. We do not touch it.
 */
enum check_result check_vmxe_not_taken(struct vmx_facts *facts)
{
	int taken = (facts->loader_cr4 & CR4_VMXE) != 0;
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_CR4_VMXE_FREE);
	rec_str(KEY_RESULT, taken ? RESULT_FAIL : RESULT_PASS);
	rec_hex32(KEY_CR4, facts->loader_cr4);
	if (taken)
		rec_text("CR4.VMXE was already set by the loader");
	rec_finish();
	if (taken) {
		verdict_set(VERDICT_VMX_IN_USE, "CR4.VMXE is already set: another VMM holds VMX");
		return CHECK_STOP;
	}
	return CHECK_PASS;
}

#define BASIC_FIELD(value, name) ((u32)(((value) >> VMX_BASIC_##name##_SHIFT) & VMX_BASIC_##name##_MASK))

/* IA32_VMX_BASIC (SDM Vol. 3D, A.1). The host decodes every field too. */
enum check_result check_vmx_basic(struct vmx_facts *facts)
{
	if (!read_msr_or_verdict(IA32_VMX_BASIC, &facts->vmx_basic, MSR_PHASE_LOADER))
		return CHECK_STOP;
	u64 b = facts->vmx_basic;
	u32 size = BASIC_FIELD(b, REGION_SIZE);
	int usable = size > 0 && size <= CPU_REGION_SIZE; /* the regions in struct cpu */
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_VMX_BASIC);
	rec_str(KEY_RESULT, usable ? RESULT_PASS : RESULT_FAIL);
	rec_hex32(KEY_REVISION, BASIC_FIELD(b, REVISION));
	rec_dec(KEY_REGION_SIZE, size);
	rec_dec(KEY_ADDR32, (b & VMX_BASIC_ADDR32) ? 1 : 0);
	rec_dec(KEY_MEMTYPE, BASIC_FIELD(b, MEMORY_TYPE));
	rec_dec(KEY_TRUE_CTLS, (b & VMX_BASIC_TRUE_CONTROLS) ? 1 : 0);
	rec_finish();
	if (!usable) {
		verdict_set(VERDICT_VMXON_FAILED, "IA32_VMX_BASIC reports a VMXON region size the stub cannot provide");
		verdict_dec(KEY_REGION_SIZE, size);
		return CHECK_STOP;
	}
	/* The stub's VMXON and VMCS regions live in write-back memory, as every processor to date asks (SDM
	 * Vol. 3D, A.1); another type is worth knowing before a hypervisor trusts them. */
	if (BASIC_FIELD(b, MEMORY_TYPE) != MEMTYPE_WB)
		rec_warning(WARN_VMCS_MEMORY_TYPE, "IA32_VMX_BASIC asks for a VMCS memory type other than write-back");
	return CHECK_PASS;
}

static void rec_fixed_check(const char *name, u32 value, u64 fixed0, u64 fixed1)
{
	u32 must_be_1 = (u32)fixed0, may_be_1 = (u32)fixed1;
	u32 missing = must_be_1 & ~value;
	u32 forbidden = value & ~may_be_1;
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, name);
	rec_str(KEY_RESULT, (missing | forbidden) ? RESULT_ADJUST : RESULT_PASS);
	rec_hex32(KEY_VALUE, value);
	rec_hex32(KEY_FIXED0, must_be_1);
	rec_hex32(KEY_FIXED1, may_be_1);
	rec_hex32(KEY_MISSING, missing);
	rec_hex32(KEY_FORBIDDEN, forbidden);
	rec_finish();
}

/*
 * CR0 and CR4 in VMX operation (SDM Vol. 3C, 24.8; Vol. 3D, A.7 and A.8):
 * a bit set in FIXED0 must be 1, a bit clear in FIXED1 must be 0. CR0 is
 * adjusted here; CR4 (which includes VMXE) is adjusted just before VMXON.
 */
enum check_result check_cr_fixed_bits(struct vmx_facts *facts)
{
	if (!read_msr_or_verdict(IA32_VMX_CR0_FIXED0, &facts->cr0_fixed0, MSR_PHASE_LOADER) ||
	    !read_msr_or_verdict(IA32_VMX_CR0_FIXED1, &facts->cr0_fixed1, MSR_PHASE_LOADER) ||
	    !read_msr_or_verdict(IA32_VMX_CR4_FIXED0, &facts->cr4_fixed0, MSR_PHASE_LOADER) ||
	    !read_msr_or_verdict(IA32_VMX_CR4_FIXED1, &facts->cr4_fixed1, MSR_PHASE_LOADER))
		return CHECK_STOP;

	u32 cr0 = read_cr0();
	u32 cr0_bits = cr0 & (CR0_PE | CR0_NE | CR0_PG);
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_CR0_PE_NE_PG);
	rec_str(KEY_RESULT, cr0_bits == (CR0_PE | CR0_NE | CR0_PG) ? RESULT_PASS : RESULT_ADJUST);
	rec_hex32(KEY_CR0, cr0);
	rec_finish();

	rec_fixed_check(CHECK_CR0_FIXED, cr0, facts->cr0_fixed0, facts->cr0_fixed1);
	rec_fixed_check(CHECK_CR4_FIXED, read_cr4() | CR4_VMXE, facts->cr4_fixed0, facts->cr4_fixed1);

	u32 wanted = (cr0 | (u32)facts->cr0_fixed0) & (u32)facts->cr0_fixed1;
	if ((wanted & CR0_PG) && !(cr0 & CR0_PG)) {
		/* Paging was refused earlier (check "paging"); CR3 holds PAE tables we cannot use now. */
		verdict_set(VERDICT_VMXON_FAILED,
			    "VMX operation needs paging (IA32_VMX_CR0_FIXED0.PG), which this machine refused");
		verdict_hex32(KEY_CR0, cr0);
		return CHECK_STOP;
	}
	int vector = wanted != cr0 ? write_cr0_safe(wanted) : -1;
	if (vector >= 0) {
		verdict_set(VERDICT_FAULT, "CR0 could not be set to the value VMX operation requires");
		verdict_dec(KEY_VECTOR, (u32)vector);
		verdict_hex32(KEY_CR0, wanted);
		return CHECK_STOP;
	}
	return CHECK_PASS;
}
