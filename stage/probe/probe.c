/* The probe's vendor-neutral part and the dispatch by technology; see probe.h. */
#include "boot/fault.h"
#include "cpu.h"
#include "generated/msr.h"
#include "generated/contract.h"
#include "lib/string.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/inject.h"
#include "probe/probe.h"
#include "svm/svm.h"
#include "vmx/vmx.h"
#include "x86.h"

/*
 * The microcode revision: write 0 to IA32_BIOS_SIGN_ID, run CPUID leaf 1, read
 * it back; the revision is bits 63:32 (SDM Vol. 3A, 10.11.7.1). AMD keeps its
 * patch level in the same MSR, read-only (the write may fault: it is guarded).
 */
static void rec_microcode(void)
{
	u64 value;
	wrmsr_safe(IA32_BIOS_SIGN_ID, 0);
	(void)cpuid(CPUID_LEAF_FEATURES, 0);
	int vector = rdmsr_safe(IA32_BIOS_SIGN_ID, &value);
	if (vector >= 0)
		rec_msr_fault(IA32_BIOS_SIGN_ID, vector, MSR_PHASE_LOADER);
	else
		rec_msr(IA32_BIOS_SIGN_ID, value, MSR_PHASE_LOADER);
}

/* Vendor, signature, brand string, physical-address width (SDM Vol. 2A, CPUID). */
static void identify_cpu(void)
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_VENDOR, 0);
	rec_cpuid(CPUID_LEAF_VENDOR, 0, r);
	char vendor[13];
	memcpy(vendor + 0, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	for (int i = 0; i < 12; i++)
		if (vendor[i] <= ' ' || vendor[i] >= 127)
			vendor[i] = '?';
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_CPU_VENDOR);
	rec_str(KEY_RESULT, RESULT_INFO);
	rec_str(KEY_VENDOR, vendor);
	rec_finish();

	if (r.eax >= CPUID_LEAF_TOPOLOGY) /* this CPU's x2APIC ID in EDX (SDM Vol. 3A, 11.12.8) */
		rec_cpuid(CPUID_LEAF_TOPOLOGY, 0, cpuid(CPUID_LEAF_TOPOLOGY, 0));
	rec_microcode();

	struct cpuid_regs ext = cpuid(CPUID_LEAF_EXTENDED_MAX, 0);
	rec_cpuid(CPUID_LEAF_EXTENDED_MAX, 0, ext);
	for (u32 leaf = CPUID_LEAF_BRAND_FIRST; leaf <= CPUID_LEAF_BRAND_LAST && ext.eax >= leaf; leaf++)
		rec_cpuid(leaf, 0, cpuid(leaf, 0));
	if (ext.eax >= CPUID_LEAF_ADDRESS_SIZES)
		rec_cpuid(CPUID_LEAF_ADDRESS_SIZES, 0, cpuid(CPUID_LEAF_ADDRESS_SIZES, 0));
}

u32 probe_leaf1(void)
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_FEATURES, 0);
	rec_cpuid(CPUID_LEAF_FEATURES, 0, r);
	int hypervisor = (r.ecx & CPUID1_ECX_HYPERVISOR) != 0;
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_HYPERVISOR_PRESENT);
	rec_str(KEY_RESULT, RESULT_INFO);
	rec_dec(KEY_VALUE, (u32)hypervisor);
	rec_finish();
	if (hypervisor)
		rec_cpuid(CPUID_LEAF_HYPERVISOR, 0, cpuid(CPUID_LEAF_HYPERVISOR, 0));
	return r.ecx;
}

void probe_run(struct cpu *cpu, const struct probe_input *in)
{
	step_begin(STEP_CPU_IDENTITY);
	identify_cpu();
	step_ok();

	/* VT-x where CPUID.1:ECX.VMX says so (Bochs's generic CPU is AMD-vendor with VMX); else AMD-V on AMD and
	 * Hygon CPUs; else VT-x, which says VERDICT_NO_VMX. */
	int vmx = (cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID1_ECX_VMX) != 0;
	if (!vmx && svm_vendor()) {
		inject_on_path(TECH_SVM);
		svm_probe(cpu, in);
	} else {
		inject_on_path(TECH_VMX);
		vmx_probe(cpu, in);
	}
}
