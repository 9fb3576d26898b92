/*
 * The VT-x test, in the order the SDM prescribes for entering VMX operation
 * (Vol. 3C, 24.7 "Enabling and Entering VMX Operation"): discover support,
 * check IA32_FEATURE_CONTROL, make sure nobody else holds VMX, read
 * IA32_VMX_BASIC, bring CR0/CR4 to their fixed values, prepare the VMXON
 * region, VMXON; then a guest from a VMCS (vmcs.c); leave with VMXOFF and
 * clear CR4.VMXE. The CPU's verdict is decided on return.
 */
#include "boot/fault.h"
#include "cpu.h"
#include "generated/contract.h"
#include "generated/msr.h"
#include "lib/string.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/inject.h"
#include "probe/probe.h"
#include "probe/verdict.h"
#include "vmx/checks.h"
#include "vmx/insn.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "x86.h"

/* VERDICT_VMXON_FAILED with the failing instruction's outcome; attempt 2 = a second VMXON. */
static void verdict_vmx_failure(const char *insn, u32 attempt, const struct vmx_outcome *o)
{
	verdict_set(VERDICT_VMXON_FAILED, attempt > 1 ? "a second VMXON in VMX operation failed"
					 : o->vector >= 0 ? "the instruction raised an exception"
							  : "the instruction reported VMfail");
	verdict_str(KEY_INSN, insn);
	if (attempt > 1)
		verdict_dec(KEY_ATTEMPT, attempt);
	verdict_str(KEY_OUTCOME, vmx_outcome_name(o));
	verdict_dec(KEY_CF, (u32)vmx_outcome_cf(o));
	verdict_dec(KEY_ZF, (u32)vmx_outcome_zf(o));
	if (o->vector >= 0)
		verdict_dec(KEY_VECTOR, (u32)o->vector);
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o))
		verdict_dec(KEY_INSN_ERROR, o->insn_error);
}

static u32 revision_of(const struct vmx_facts *facts)
{
	return (u32)(facts->vmx_basic & VMX_BASIC_REVISION_MASK);
}

/* SDM Vol. 3C, 25.11.5: zeroed, revision identifier in bits 30:0 of the first dword, bit 31 clear. */
static u32 prepare_vmxon_region(struct cpu *cpu, const struct vmx_facts *facts)
{
	memset(cpu->vmxon_region, 0, sizeof(cpu->vmxon_region));
	u32 revision = revision_of(facts);
	if (injecting(INJECT_BAD_REVISION))
		revision = (revision + 1) & (u32)VMX_BASIC_REVISION_MASK;
	if (injecting(INJECT_REVISION_BIT31))
		revision |= 0x80000000u;
	*(volatile u32 *)cpu->vmxon_region = revision;
	rec_start(REC_VMXON_REGION);
	rec_hex32(KEY_ADDRESS, (u32)cpu->vmxon_region);
	rec_hex32(KEY_REVISION, revision);
	rec_dec(KEY_SIZE, sizeof(cpu->vmxon_region));
	rec_finish();
	return (u32)cpu->vmxon_region;
}

/* CPUID.80000008H:EAX[7:0], or 36 when the leaf is missing (SDM Vol. 3A, 4.1.4). */
static u32 physical_address_width(void)
{
	if (cpuid(CPUID_LEAF_EXTENDED_MAX, 0).eax >= CPUID_LEAF_ADDRESS_SIZES)
		return cpuid(CPUID_LEAF_ADDRESS_SIZES, 0).eax & 0xff;
	return DEFAULT_PHYSICAL_ADDRESS_BITS;
}

/* The VMXON operand, possibly made invalid on purpose (SDM Vol. 3C, 31.3 VMXON: VMfailInvalid). */
static u64 vmxon_pointer(u32 region)
{
	if (injecting(INJECT_UNALIGNED_VMXON))
		return region + 0x10;
	if (injecting(INJECT_VMXON_BEYOND_MAXPHYADDR))
		return 1ull << physical_address_width();
	return region;
}

/*
 * INJECT_LOCK_DISABLED: lock IA32_FEATURE_CONTROL with VMX disabled, as a
 * firmware that disables VT-x does, then try VMXON anyway: #GP (SDM Vol. 3C,
 * 24.7). Only possible while the MSR is still unlocked. The verdict decided by
 * the feature-control check stands.
 */
static void vmxon_despite_disabled(struct cpu *cpu, struct vmx_facts *facts)
{
	struct verdict decided = cpu->verdict;
	if (check_vmx_basic(facts) == CHECK_PASS) {
		u32 region = prepare_vmxon_region(cpu, facts);
		write_cr4(read_cr4() | CR4_VMXE);
		struct vmx_outcome on = vmxon_safe(region);
		rec_vmx_outcome(INSN_VMXON, &on);
		if (!vmx_outcome_failed(&on))
			vmxoff_safe();
		write_cr4(read_cr4() & ~CR4_VMXE);
	}
	cpu->verdict = decided;
}

static const char *const guest_failure_text[] = {
	[GUEST_ENTRY_FAILED] = "VMLAUNCH/VMRESUME failed or the VM entry failed",
	[GUEST_SETUP_FAILED] = "the VMCS could not be set up (VMCLEAR, VMPTRLD or VMWRITE failed)",
	[GUEST_BAD_TRACE] = "the guest ran, but its VM exits were not CPUID, I/O, VMCALL, HLT",
	[GUEST_CLEAR_FAILED] = "the guest ran, but VMCLEAR of its VMCS failed afterwards",
};

void vmx_probe(struct cpu *cpu, const struct probe_input *in)
{
	struct vmx_facts facts = { .loader_cr4 = in->loader_cr4 };

	step_begin(STEP_CPUID_VMX);
	STOP_IF(check_cpuid_vmx() == CHECK_STOP);

	step_begin(STEP_VMX_CAPABILITIES);
	dump_vmx_capabilities();
	step_ok();

	step_begin(STEP_FEATURE_CONTROL);
	if (check_feature_control() == CHECK_STOP) {
		if (injecting(INJECT_LOCK_DISABLED))
			vmxon_despite_disabled(cpu, &facts);
		step_fail();
		return;
	}
	step_ok();

	if (injecting(INJECT_VMXE_PRESET)) {
		/* Pretend another VMM left CR4.VMXE set (SDM Vol. 3C, 24.7: VMXE may be set without VMXON). */
		if (write_cr4_safe(read_cr4() | CR4_VMXE) < 0)
			facts.loader_cr4 = read_cr4();
		else
			inject_not_applicable("CR4.VMXE cannot be set on this CPU");
	}
	step_begin(STEP_CR4_VMXE_FREE);
	STOP_IF(check_vmxe_not_taken(&facts) == CHECK_STOP);

	step_begin(STEP_VMX_BASIC);
	STOP_IF(check_vmx_basic(&facts) == CHECK_STOP);

	step_begin(STEP_CR_FIXED);
	STOP_IF(check_cr_fixed_bits(&facts) == CHECK_STOP);

	step_begin(STEP_VMXON_REGION);
	u32 region = prepare_vmxon_region(cpu, &facts);
	step_ok();

	/* CR4 to its fixed values, which include VMXE (SDM Vol. 3C, 24.7 and 24.8). */
	step_begin(STEP_VMXON);
	u32 cr4 = ((read_cr4() | CR4_VMXE) | (u32)facts.cr4_fixed0) & (u32)facts.cr4_fixed1;
	if (injecting(INJECT_VMXE_CLEAR))
		cr4 &= ~CR4_VMXE; /* VMXON with CR4.VMXE = 0: #UD */
	write_cr4(cr4);
	u32 cr0 = read_cr0();
	if (injecting(INJECT_CR0_NE_CLEAR))
		write_cr0(cr0 & ~CR0_NE); /* CR0 violating IA32_VMX_CR0_FIXED0: #GP */
	rec_cr(CR_PHASE_BEFORE_VMXON);
	struct vmx_outcome on = vmxon_safe(vmxon_pointer(region));
	write_cr0(cr0);
	rec_vmx_outcome(INSN_VMXON, &on);
	if (vmx_outcome_failed(&on)) {
		write_cr4_safe(read_cr4() & ~CR4_VMXE); /* not in VMX operation: VMXON failed */
		verdict_vmx_failure(INSN_VMXON, 1, &on);
	}
	STOP_IF(vmx_outcome_failed(&on));

	struct vmx_outcome second = { .vector = -1 };
	int second_vmxon = 0;
	if (injecting(INJECT_DOUBLE_VMXON)) {
		/* In VMX root operation with no current VMCS: VMfailInvalid (SDM Vol. 3C, 31.3 VMXON). */
		second = vmxon_safe(region);
		rec_vmx_outcome(INSN_VMXON, &second);
		second_vmxon = 1;
	}

	enum guest_result guest = GUEST_OK;
	if (!in->vmxon_only && !second_vmxon)
		guest = vmx_guest_run(cpu, facts.vmx_basic, &second);
	if (guest == GUEST_SECOND_VMXON)
		second_vmxon = 1;

	/* CR4.VMXE cannot be cleared in VMX operation (#GP; SDM Vol. 3C, 24.8), so only after VMXOFF succeeded:
	 * a failed VMXOFF (error 23, dual-monitor SMM active) is reported as such, not as a stray #GP. */
	step_begin(STEP_VMXOFF);
	struct vmx_outcome off = vmxoff_safe();
	rec_vmx_outcome(INSN_VMXOFF, &off);
	if (!vmx_outcome_failed(&off) && write_cr4_safe(read_cr4() & ~CR4_VMXE) >= 0)
		rec_warning(WARN_VMXE_STUCK, "CR4.VMXE could not be cleared after VMXOFF");
	rec_cr(CR_PHASE_AFTER_VMXOFF);
	if (vmx_outcome_failed(&off))
		verdict_vmx_failure(INSN_VMXOFF, 1, &off);
	STOP_IF(vmx_outcome_failed(&off));

	if (second_vmxon) {
		verdict_vmx_failure(INSN_VMXON, 2, &second);
		return;
	}
	if (guest == GUEST_MSR_FAULT) {
		verdict_msr_fault(cpu->vmx.control_msr, (int)cpu->vmx.control_msr_vector - 1);
		return;
	}
	if (guest != GUEST_OK) {
		verdict_set(VERDICT_VMENTRY_FAILED, guest_failure_text[guest]);
		vmx_guest_failure_detail(cpu);
		return;
	}
	verdict_set(VERDICT_VMX_READY, in->vmxon_only
					      ? "VMXON and VMXOFF succeeded"
					      : "VMXON, VMLAUNCH of a guest (CPUID, I/O, VMCALL, HLT exits) and VMXOFF succeeded");
	verdict_hex32(KEY_REVISION, revision_of(&facts));
	verdict_str(KEY_MODE, in->vmxon_only ? MODE_VMXON : MODE_FULL);
}
