/*
 * The VT-x probe, in the order the SDM prescribes for entering VMX
 * operation (Vol. 3C, 24.7): discover support, check IA32_FEATURE_CONTROL,
 * make sure nobody else holds VMX, read IA32_VMX_BASIC, bring CR0/CR4 to
 * their fixed values, prepare the VMXON region, VMXON, then leave with
 * VMXOFF and clear CR4.VMXE.
 */
#include "checks.h"
#include "fault.h"
#include "report.h"
#include "stub.h"
#include "vmx.h"
#include "x86.h"

/* The VMXON region (SDM Vol. 3C, 25.11.5): 4 KiB aligned, in its own section for the host's layout check. */
static u8 vmxon_region[4096] __attribute__((section(".bss.vmx"), aligned(4096)));

/* "verdict name=vmxon-failed" with the failing instruction's outcome; attempt 2 = a second VMXON. */
static void verdict_vmx_failure(const char *insn, u32 attempt, const struct vmx_outcome *o)
{
	rec_start("verdict");
	rec_str("name", VERDICT_VMXON_FAILED);
	rec_str("insn", insn);
	if (attempt > 1)
		rec_dec("attempt", attempt);
	rec_str("outcome", vmx_outcome_name(o));
	rec_dec("cf", (u32)vmx_outcome_cf(o));
	rec_dec("zf", (u32)vmx_outcome_zf(o));
	if (o->vector >= 0)
		rec_dec("vector", (u32)o->vector);
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o))
		rec_dec("insn_error", o->insn_error);
	rec_text(attempt > 1 ? "a second VMXON in VMX operation failed"
	       : o->vector >= 0 ? "the instruction raised an exception" : "the instruction reported VMfail");
	rec_finish();
}

static void rec_cr(const char *phase)
{
	rec_start("cr");
	rec_str("phase", phase);
	rec_hex32("cr0", read_cr0());
	rec_hex32("cr3", read_cr3());
	rec_hex32("cr4", read_cr4());
	rec_finish();
}

/* SDM Vol. 3C, 25.11.5: zeroed, revision identifier in bits 30:0 of the first dword, bit 31 clear. */
static u32 prepare_vmxon_region(const struct vmx_facts *facts)
{
	memset(vmxon_region, 0, sizeof(vmxon_region));
	u32 revision = (u32)facts->vmx_basic & 0x7fffffffu;
	if (injecting(INJECT_BAD_REVISION))
		revision = (revision + 1) & 0x7fffffffu;
	if (injecting(INJECT_REVISION_BIT31))
		revision |= 0x80000000u;
	*(volatile u32 *)vmxon_region = revision;
	rec_start("vmxon-region");
	rec_hex32("address", (u32)vmxon_region);
	rec_hex32("revision", revision);
	rec_dec("size", sizeof(vmxon_region));
	rec_finish();
	return (u32)vmxon_region;
}

/* CPUID.80000008H:EAX[7:0], or 36 when the leaf is missing (SDM Vol. 3A, 4.1.4). */
static u32 physical_address_width(void)
{
	if (cpuid(0x80000000u, 0).eax >= 0x80000008u)
		return cpuid(0x80000008u, 0).eax & 0xff;
	return 36;
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

static int failed(const struct vmx_outcome *o)
{
	return o->vector >= 0 || vmx_outcome_cf(o) || vmx_outcome_zf(o);
}

/*
 * inject=lock-disabled: lock IA32_FEATURE_CONTROL with VMX disabled, as a
 * firmware that disables VT-x does, then try VMXON anyway: #GP (SDM Vol. 3C,
 * 24.7). Only possible while the MSR is still unlocked.
 */
static void vmxon_despite_disabled(struct vmx_facts *facts)
{
	if (check_vmx_basic(facts) == CHECK_STOP)
		return;
	u32 region = prepare_vmxon_region(facts);
	write_cr4(read_cr4() | CR4_VMXE);
	struct vmx_outcome on = vmxon_safe(region);
	rec_vmx_outcome("vmxon", &on);
	if (!failed(&on))
		vmxoff_safe();
	write_cr4(read_cr4() & ~CR4_VMXE);
}

static const char *const guest_failure_text[] = {
	[GUEST_ENTRY_FAILED] = "VMLAUNCH/VMRESUME failed or the VM entry failed",
	[GUEST_SETUP_FAILED] = "the VMCS could not be set up (VMCLEAR, VMPTRLD or VMWRITE failed)",
	[GUEST_BAD_TRACE] = "the guest ran, but its VM exits were not CPUID, I/O, VMCALL, HLT",
};

void vmx_probe_run(u32 loader_cr4, int vmxon_only)
{
	struct vmx_facts facts = { .loader_cr4 = loader_cr4 };

	step_begin("cpu-identity");
	check_cpu_identity();
	step_ok();

	step_begin("cpuid-vmx");
	if (check_cpuid_vmx() == CHECK_STOP)
		{ step_fail(); return; }
	step_ok();

	step_begin("vmx-capabilities");
	dump_vmx_capabilities();
	step_ok();

	step_begin("feature-control");
	if (check_feature_control() == CHECK_STOP) {
		if (injecting(INJECT_LOCK_DISABLED))
			vmxon_despite_disabled(&facts);
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
	step_begin("cr4-vmxe-free");
	if (check_vmxe_not_taken(&facts) == CHECK_STOP)
		{ step_fail(); return; }
	step_ok();

	step_begin("vmx-basic");
	if (check_vmx_basic(&facts) == CHECK_STOP)
		{ step_fail(); return; }
	step_ok();

	step_begin("cr-fixed");
	if (check_cr_fixed_bits(&facts) == CHECK_STOP)
		{ step_fail(); return; }
	step_ok();

	step_begin("vmxon-region");
	u32 region = prepare_vmxon_region(&facts);
	step_ok();

	/* CR4 to its fixed values, which include VMXE (SDM Vol. 3C, 24.7 and 24.8). */
	step_begin("vmxon");
	u32 cr4 = ((read_cr4() | CR4_VMXE) | (u32)facts.cr4_fixed0) & (u32)facts.cr4_fixed1;
	if (injecting(INJECT_VMXE_CLEAR))
		cr4 &= ~CR4_VMXE; /* VMXON with CR4.VMXE = 0: #UD */
	write_cr4(cr4);
	u32 cr0 = read_cr0();
	if (injecting(INJECT_CR0_NE_CLEAR))
		write_cr0(cr0 & ~CR0_NE); /* CR0 violating IA32_VMX_CR0_FIXED0: #GP */
	rec_cr("before-vmxon");
	struct vmx_outcome on = vmxon_safe(vmxon_pointer(region));
	write_cr0(cr0);
	rec_vmx_outcome("vmxon", &on);
	if (failed(&on)) {
		write_cr4(read_cr4() & ~CR4_VMXE);
		verdict_vmx_failure("vmxon", 1, &on);
		{ step_fail(); return; }
	}
	step_ok();

	struct vmx_outcome second = { .vector = -1 };
	int second_vmxon = 0;
	if (injecting(INJECT_DOUBLE_VMXON)) {
		/* In VMX root operation with no current VMCS: VMfailInvalid (SDM Vol. 3C, 31.3 VMXON). */
		second = vmxon_safe(region);
		rec_vmx_outcome("vmxon", &second);
		second_vmxon = 1;
	}

	enum guest_result guest = GUEST_OK;
	if (!vmxon_only && !second_vmxon)
		guest = vmx_guest_run((u32)facts.vmx_basic & 0x7fffffffu, facts.vmx_basic, region, &second);
	if (guest == GUEST_SECOND_VMXON)
		second_vmxon = 1;

	step_begin("vmxoff");
	struct vmx_outcome off = vmxoff_safe();
	rec_vmx_outcome("vmxoff", &off);
	write_cr4(read_cr4() & ~CR4_VMXE);
	rec_cr("after-vmxoff");
	if (failed(&off)) {
		verdict_vmx_failure("vmxoff", 1, &off);
		{ step_fail(); return; }
	}
	step_ok();

	if (second_vmxon) {
		verdict_vmx_failure("vmxon", 2, &second);
		return;
	}
	if (guest != GUEST_OK) {
		rec_start("verdict");
		rec_str("name", VERDICT_VMENTRY_FAILED);
		guest_verdict_detail();
		rec_text(guest_failure_text[guest]);
		rec_finish();
		return;
	}
	rec_start("verdict");
	rec_str("name", VERDICT_VMX_READY);
	rec_hex32("revision", (u32)facts.vmx_basic & 0x7fffffffu);
	rec_str("mode", vmxon_only ? "vmxon" : "full");
	rec_text(vmxon_only ? "VMXON and VMXOFF succeeded"
			    : "VMXON, VMLAUNCH of a guest (CPUID, I/O, VMCALL, HLT exits) and VMXOFF succeeded");
	rec_finish();
}
