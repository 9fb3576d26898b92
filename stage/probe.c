/*
 * The VT-x probe, in the order the SDM prescribes for entering VMX
 * operation (Vol. 3C, 24.7): discover support, check IA32_FEATURE_CONTROL,
 * make sure nobody else holds VMX, read IA32_VMX_BASIC, bring CR0/CR4 to
 * their fixed values, prepare the VMXON region, VMXON, then leave with
 * VMXOFF and clear CR4.VMXE.
 */
#include "checks.h"
#include "report.h"
#include "stub.h"
#include "vmx.h"
#include "x86.h"

/* The VMXON region (SDM Vol. 3C, 25.11.5): 4 KiB aligned, in its own section for the host's layout check. */
static u8 vmxon_region[4096] __attribute__((section(".bss.vmx"), aligned(4096)));

static void rec_outcome(const char *insn, const struct vmx_outcome *o)
{
	rec_start("vmx");
	rec_str("insn", insn);
	rec_str("outcome", vmx_outcome_name(o));
	rec_dec("cf", (u32)vmx_outcome_cf(o));
	rec_dec("zf", (u32)vmx_outcome_zf(o));
	if (o->vector >= 0) {
		rec_dec("vector", (u32)o->vector);
		rec_hex32("error_code", o->error_code);
	}
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o))
		rec_dec("insn_error", o->insn_error);
	rec_hex32("eflags", o->eflags);
	rec_finish();
}

static void verdict_vmx_failure(const char *insn, const struct vmx_outcome *o)
{
	rec_start("verdict");
	rec_str("name", VERDICT_VMXON_FAILED);
	rec_str("insn", insn);
	rec_str("outcome", vmx_outcome_name(o));
	rec_dec("cf", (u32)vmx_outcome_cf(o));
	rec_dec("zf", (u32)vmx_outcome_zf(o));
	if (o->vector >= 0)
		rec_dec("vector", (u32)o->vector);
	if (vmx_outcome_zf(o) && !vmx_outcome_cf(o))
		rec_dec("insn_error", o->insn_error);
	rec_text(o->vector >= 0 ? "the instruction raised an exception" : "the instruction reported VMfail");
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
	*(volatile u32 *)vmxon_region = revision;
	rec_start("vmxon-region");
	rec_hex32("address", (u32)vmxon_region);
	rec_hex32("revision", revision);
	rec_dec("size", sizeof(vmxon_region));
	rec_finish();
	return (u32)vmxon_region;
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
	if (check_feature_control() == CHECK_STOP)
		{ step_fail(); return; }
	step_ok();

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
	write_cr4(((read_cr4() | CR4_VMXE) | (u32)facts.cr4_fixed0) & (u32)facts.cr4_fixed1);
	rec_cr("before-vmxon");
	struct vmx_outcome on = vmxon_safe(region);
	rec_outcome("vmxon", &on);
	if (on.vector >= 0 || vmx_outcome_cf(&on) || vmx_outcome_zf(&on)) {
		write_cr4(read_cr4() & ~CR4_VMXE);
		verdict_vmx_failure("vmxon", &on);
		{ step_fail(); return; }
	}
	step_ok();

	enum guest_result guest = GUEST_OK;
	if (!vmxon_only)
		guest = vmx_guest_run((u32)facts.vmx_basic & 0x7fffffffu, facts.vmx_basic);

	step_begin("vmxoff");
	struct vmx_outcome off = vmxoff_safe();
	rec_outcome("vmxoff", &off);
	write_cr4(read_cr4() & ~CR4_VMXE);
	rec_cr("after-vmxoff");
	if (off.vector >= 0 || vmx_outcome_cf(&off) || vmx_outcome_zf(&off)) {
		verdict_vmx_failure("vmxoff", &off);
		{ step_fail(); return; }
	}
	step_ok();

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
