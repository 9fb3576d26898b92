/* VT-x readiness checks; see include/checks.h. */
#include "checks.h"
#include "fault.h"
#include "msr.h"
#include "report.h"
#include "stub.h"
#include "x86.h"

static void rec_cpuid(u32 leaf, u32 subleaf, struct cpuid_regs r)
{
	rec_start("cpuid");
	rec_hex32("leaf", leaf);
	rec_hex32("subleaf", subleaf);
	rec_hex32("eax", r.eax);
	rec_hex32("ebx", r.ebx);
	rec_hex32("ecx", r.ecx);
	rec_hex32("edx", r.edx);
	rec_finish();
}

static void rec_msr(u32 index, u64 value, const char *phase)
{
	rec_start("msr");
	rec_hex32("index", index);
	rec_hex64("value", value);
	rec_str("phase", phase);
	rec_finish();
}

static void rec_check(const char *name, const char *result, const char *text)
{
	rec_start("check");
	rec_str("name", name);
	rec_str("result", result);
	if (text)
		rec_text(text);
	rec_finish();
}

static void verdict(const char *name, const char *text)
{
	rec_start("verdict");
	rec_str("name", name);
	rec_text(text);
	rec_finish();
}

void verdict_msr_fault(u32 index, int vector)
{
	rec_start("verdict");
	rec_str("name", VERDICT_FAULT);
	rec_dec("vector", (u32)vector);
	rec_hex32("msr", index);
	rec_text("reading or writing a VMX MSR raised an exception");
	rec_finish();
}

static int read_msr_or_verdict(u32 index, u64 *value, const char *phase)
{
	int vector = rdmsr_safe(index, value);
	if (vector >= 0) {
		rec_start("msr");
		rec_hex32("index", index);
		rec_dec("fault", (u32)vector);
		rec_str("phase", phase);
		rec_finish();
		verdict_msr_fault(index, vector);
		return 0;
	}
	rec_msr(index, *value, phase);
	return 1;
}

/* Vendor, signature, brand string, physical-address width (SDM Vol. 2A, CPUID). */
enum check_result check_cpu_identity(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	rec_cpuid(0, 0, r);
	char vendor[13];
	memcpy(vendor + 0, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	for (int i = 0; i < 12; i++)
		if (vendor[i] <= ' ' || vendor[i] >= 127)
			vendor[i] = '?';
	rec_start("check");
	rec_str("name", "cpu-vendor");
	rec_str("result", "info");
	rec_str("vendor", vendor);
	rec_finish();

	struct cpuid_regs ext = cpuid(0x80000000u, 0);
	rec_cpuid(0x80000000u, 0, ext);
	for (u32 leaf = 0x80000002u; leaf <= 0x80000004u && ext.eax >= leaf; leaf++)
		rec_cpuid(leaf, 0, cpuid(leaf, 0));
	if (ext.eax >= 0x80000008u)
		rec_cpuid(0x80000008u, 0, cpuid(0x80000008u, 0));
	return CHECK_PASS;
}

/* CPUID.1:ECX.VMX[bit 5] (SDM Vol. 3C, 24.6); ECX[31] is set by hypervisors. */
enum check_result check_cpuid_vmx(void)
{
	struct cpuid_regs r = cpuid(1, 0);
	rec_cpuid(1, 0, r);
	int hypervisor = (r.ecx >> 31) & 1;
	rec_start("check");
	rec_str("name", "hypervisor-present");
	rec_str("result", "info");
	rec_dec("value", (u32)hypervisor);
	rec_finish();
	if (hypervisor) {
		struct cpuid_regs h = cpuid(0x40000000u, 0);
		rec_cpuid(0x40000000u, 0, h);
	}
	if (!(r.ecx & BIT(5))) {
		rec_check("cpuid-vmx", "fail", "CPUID.1:ECX.VMX[bit 5] is 0");
		verdict(VERDICT_NO_VMX, "this CPU does not offer VT-x (CPUID.1:ECX.VMX = 0)");
		return CHECK_STOP;
	}
	rec_check("cpuid-vmx", "pass", "CPUID.1:ECX.VMX[bit 5] is 1");
	return CHECK_PASS;
}

static void dump_msr(u32 index, u64 *value)
{
	int vector = rdmsr_safe(index, value);
	if (vector >= 0) {
		*value = 0;
		rec_start("msr");
		rec_hex32("index", index);
		rec_dec("fault", (u32)vector);
		rec_str("phase", "capability");
		rec_finish();
		return;
	}
	rec_msr(index, *value, "capability");
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
	if (basic & VMX_BASIC_TRUE_CTLS) {
		for (u32 index = IA32_VMX_TRUE_PINBASED_CTLS; index <= IA32_VMX_TRUE_ENTRY_CTLS; index++)
			dump_msr(index, &v);
	}
	u32 primary_allowed1 = (u32)(primary >> 32);
	if (primary_allowed1 & BIT(31))
		dump_msr(IA32_VMX_PROCBASED_CTLS2, &secondary);
	u32 secondary_allowed1 = (u32)(secondary >> 32);
	if (secondary_allowed1 & (BIT(1) | BIT(5)))
		dump_msr(IA32_VMX_EPT_VPID_CAP, &v);
	if (secondary_allowed1 & BIT(13))
		dump_msr(IA32_VMX_VMFUNC, &v);
	if (primary_allowed1 & BIT(17))
		dump_msr(IA32_VMX_PROCBASED_CTLS3, &v);
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
	if (!read_msr_or_verdict(IA32_FEATURE_CONTROL, &value, "loader"))
		return CHECK_STOP;

	if ((value & FEATURE_CONTROL_LOCK) && injecting(INJECT_LOCK_DISABLED))
		inject_not_applicable("IA32_FEATURE_CONTROL is already locked: it cannot be locked disabled");

	if (value & FEATURE_CONTROL_LOCK) {
		if (value & FEATURE_CONTROL_VMX_OUTSIDE_SMX) {
			rec_start("check");
			rec_str("name", "feature-control");
			rec_str("result", "pass");
			rec_str("state", "enabled-by-firmware");
			rec_hex64("value", value);
			rec_finish();
			return CHECK_PASS;
		}
		rec_start("check");
		rec_str("name", "feature-control");
		rec_str("result", "fail");
		rec_str("state", "disabled-by-firmware");
		rec_hex64("value", value);
		rec_text("locked with VMXON-outside-SMX (bit 2) clear");
		rec_finish();
		verdict(VERDICT_DISABLED, "IA32_FEATURE_CONTROL is locked with VMX disabled");
		return CHECK_STOP;
	}

	u64 wanted = value | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
	if (injecting(INJECT_LOCK_DISABLED)) /* lock it the way a firmware that disables VT-x does */
		wanted = (value | FEATURE_CONTROL_LOCK) & ~(FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_VMX_INSIDE_SMX);
	int vector = wrmsr_safe(IA32_FEATURE_CONTROL, wanted);
	rec_start("msr-write");
	rec_hex32("index", IA32_FEATURE_CONTROL);
	rec_hex64("value", wanted);
	if (vector >= 0)
		rec_dec("fault", (u32)vector);
	rec_finish();
	if (vector >= 0) {
		verdict_msr_fault(IA32_FEATURE_CONTROL, vector);
		return CHECK_STOP;
	}
	u64 after;
	if (!read_msr_or_verdict(IA32_FEATURE_CONTROL, &after, "after-write"))
		return CHECK_STOP;
	int ok = (after & (FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX)) ==
		 (FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	rec_start("check");
	rec_str("name", "feature-control");
	rec_str("result", ok ? "pass" : "fail");
	rec_str("state", ok ? "enabled-by-stub" : "write-ignored");
	rec_hex64("value", value);
	rec_hex64("after", after);
	rec_text(ok ? "was unlocked: the stub set VMXON-outside-SMX and locked it"
		    : "was unlocked, but the write did not stick");
	rec_finish();
	if (!ok) {
		verdict(VERDICT_DISABLED, "IA32_FEATURE_CONTROL could not be set to enable VMX");
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
	if (facts->loader_cr4 & CR4_VMXE) {
		rec_start("check");
		rec_str("name", "cr4-vmxe-free");
		rec_str("result", "fail");
		rec_hex32("cr4", facts->loader_cr4);
		rec_text("CR4.VMXE was already set by the loader");
		rec_finish();
		verdict(VERDICT_IN_USE, "CR4.VMXE is already set: another VMM holds VMX");
		return CHECK_STOP;
	}
	rec_start("check");
	rec_str("name", "cr4-vmxe-free");
	rec_str("result", "pass");
	rec_hex32("cr4", facts->loader_cr4);
	rec_finish();
	return CHECK_PASS;
}

/* IA32_VMX_BASIC (SDM Vol. 3D, A.1). The host decodes every field too. */
enum check_result check_vmx_basic(struct vmx_facts *facts)
{
	if (!read_msr_or_verdict(IA32_VMX_BASIC, &facts->vmx_basic, "loader"))
		return CHECK_STOP;
	u64 b = facts->vmx_basic;
	u32 size = VMX_BASIC_REGION_SIZE(b);
	int usable = size > 0 && size <= 4096;
	rec_start("check");
	rec_str("name", "vmx-basic");
	rec_str("result", usable ? "pass" : "fail");
	rec_hex32("revision", VMX_BASIC_REVISION(b));
	rec_dec("region_size", size);
	rec_dec("addr32", (b & VMX_BASIC_ADDR32) ? 1 : 0);
	rec_dec("memtype", VMX_BASIC_MEMTYPE(b));
	rec_dec("true_ctls", (b & VMX_BASIC_TRUE_CTLS) ? 1 : 0);
	rec_finish();
	if (!usable) {
		rec_start("verdict");
		rec_str("name", VERDICT_VMXON_FAILED);
		rec_dec("region_size", size);
		rec_text("IA32_VMX_BASIC reports a VMXON region size the stub cannot provide");
		rec_finish();
		return CHECK_STOP;
	}
	return CHECK_PASS;
}

static void rec_fixed_check(const char *name, u32 value, u64 fixed0, u64 fixed1)
{
	u32 must_be_1 = (u32)fixed0, may_be_1 = (u32)fixed1;
	u32 missing = must_be_1 & ~value;
	u32 forbidden = value & ~may_be_1;
	rec_start("check");
	rec_str("name", name);
	rec_str("result", (missing | forbidden) ? "adjust" : "pass");
	rec_hex32("value", value);
	rec_hex32("fixed0", must_be_1);
	rec_hex32("fixed1", may_be_1);
	rec_hex32("missing", missing);
	rec_hex32("forbidden", forbidden);
	rec_finish();
}

/*
 * CR0 and CR4 in VMX operation (SDM Vol. 3C, 24.8; Vol. 3D, A.7 and A.8):
 * a bit set in FIXED0 must be 1, a bit clear in FIXED1 must be 0. CR0 is
 * adjusted here; CR4 (which includes VMXE) is adjusted just before VMXON.
 */
enum check_result check_cr_fixed_bits(struct vmx_facts *facts)
{
	if (!read_msr_or_verdict(IA32_VMX_CR0_FIXED0, &facts->cr0_fixed0, "loader") ||
	    !read_msr_or_verdict(IA32_VMX_CR0_FIXED1, &facts->cr0_fixed1, "loader") ||
	    !read_msr_or_verdict(IA32_VMX_CR4_FIXED0, &facts->cr4_fixed0, "loader") ||
	    !read_msr_or_verdict(IA32_VMX_CR4_FIXED1, &facts->cr4_fixed1, "loader"))
		return CHECK_STOP;

	u32 cr0 = read_cr0();
	u32 cr0_bits = cr0 & (CR0_PE | CR0_NE | CR0_PG);
	rec_start("check");
	rec_str("name", "cr0-pe-ne-pg");
	rec_str("result", cr0_bits == (CR0_PE | CR0_NE | CR0_PG) ? "pass" : "adjust");
	rec_hex32("cr0", cr0);
	rec_finish();

	rec_fixed_check("cr0-fixed", cr0, facts->cr0_fixed0, facts->cr0_fixed1);
	rec_fixed_check("cr4-fixed", read_cr4() | CR4_VMXE, facts->cr4_fixed0, facts->cr4_fixed1);

	u32 wanted = (cr0 | (u32)facts->cr0_fixed0) & (u32)facts->cr0_fixed1;
	if ((wanted & CR0_PG) && !(cr0 & CR0_PG)) {
		/* Paging was refused earlier (check "paging"); CR3 holds PAE tables we cannot use now. */
		rec_start("verdict");
		rec_str("name", VERDICT_VMXON_FAILED);
		rec_hex32("cr0", cr0);
		rec_text("VMX operation needs paging (IA32_VMX_CR0_FIXED0.PG), which this machine refused");
		rec_finish();
		return CHECK_STOP;
	}
	int vector = wanted != cr0 ? write_cr0_safe(wanted) : -1;
	if (vector >= 0) {
		rec_start("verdict");
		rec_str("name", VERDICT_FAULT);
		rec_dec("vector", (u32)vector);
		rec_hex32("cr0", wanted);
		rec_text("CR0 could not be set to the value VMX operation requires");
		rec_finish();
		return CHECK_STOP;
	}
	return CHECK_PASS;
}
