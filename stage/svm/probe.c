/*
 * The AMD-V test, in the order the APM gives for enabling SVM (Vol. 2, 15.4
 * "Enabling SVM"): discover support (CPUID Fn8000_0001_ECX.SVM, the features
 * in Fn8000_000A), check that the firmware has not disabled it (VM_CR.SVMDIS
 * with VM_CR.LOCK; 15.30.1), that nobody else holds it (EFER.SVME), set
 * EFER.SVME and VM_HSAVE_PA (15.30.4), then a guest from a VMCB
 * (guest_run.c), and clear EFER.SVME. The CPU's verdict is decided on return.
 */
#include "boot/fault.h"
#include "cpu.h"
#include "generated/contract.h"
#include "generated/msr.h"
#include "generated/svm.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/inject.h"
#include "probe/probe.h"
#include "probe/verdict.h"
#include "svm/guest_run.h"
#include "svm/svm.h"
#include "x86.h"

/* "AuthenticAMD" and "HygonGenuine" (Hygon's Dhyana is AMD's Zen, SVM included). */
int svm_vendor(void)
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_VENDOR, 0);
	return (r.ebx == 0x68747541u && r.edx == 0x69746e65u && r.ecx == 0x444d4163u) ||
	       (r.ebx == 0x6f677948u && r.edx == 0x6e65476eu && r.ecx == 0x656e6975u);
}

/* CPUID Fn8000_0001_ECX.SVM[bit 2] (15.4); CPUID.1:ECX[31] says a hypervisor runs us. */
static int check_cpuid_svm(void)
{
	probe_leaf1();
	struct cpuid_regs ext = { 0 };
	if (cpuid(CPUID_LEAF_EXTENDED_MAX, 0).eax >= CPUID_LEAF_EXTENDED_FEATURES) {
		ext = cpuid(CPUID_LEAF_EXTENDED_FEATURES, 0);
		rec_cpuid(CPUID_LEAF_EXTENDED_FEATURES, 0, ext);
	}
	if (!(ext.ecx & CPUID_EXT_ECX_SVM)) {
		rec_check(CHECK_CPUID_SVM, RESULT_FAIL, "CPUID Fn8000_0001_ECX.SVM[bit 2] is 0");
		verdict_set(VERDICT_NO_SVM, "this CPU does not offer AMD-V (CPUID Fn8000_0001_ECX.SVM = 0)");
		return 0;
	}
	rec_check(CHECK_CPUID_SVM, RESULT_PASS, "CPUID Fn8000_0001_ECX.SVM[bit 2] is 1");
	return 1;
}

/* CPUID Fn8000_000A: revision, ASIDs, features (APM Vol. 3, E.4.9); the host decodes them. */
static u32 svm_features(void)
{
	if (cpuid(CPUID_LEAF_EXTENDED_MAX, 0).eax < CPUID_LEAF_SVM)
		return 0;
	struct cpuid_regs r = cpuid(CPUID_LEAF_SVM, 0);
	rec_cpuid(CPUID_LEAF_SVM, 0, r);
	return r.edx;
}

static void rec_vm_cr_check(const char *result, const char *state, u64 value, const char *text)
{
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_VM_CR);
	rec_str(KEY_RESULT, result);
	rec_str(KEY_STATE, state);
	rec_hex64(KEY_VALUE, value);
	rec_text(text);
	rec_finish();
}

/*
 * VM_CR (15.30.1): SVMDIS set makes setting EFER.SVME #GP; LOCK makes SVMDIS
 * read-only (firmware's "SVM disabled"). Unlocked and set: the stub clears it.
 * Bochs 2.7 has no VM_CR (RDMSR #GP): no firmware lock there, said as such.
 * INJECT_SVMDIS_LOCKED: set SVMDIS and LOCK as such firmware does (only while
 * unlocked), then try EFER.SVME anyway.
 */
static int check_vm_cr(void)
{
	u64 value;
	int vector = rdmsr_safe(VM_CR, &value);
	if (vector >= 0) {
		rec_msr_fault(VM_CR, vector, MSR_PHASE_LOADER);
		if (injecting(INJECT_SVMDIS_LOCKED))
			inject_not_applicable("this CPU has no VM_CR MSR to lock");
		rec_vm_cr_check(RESULT_INFO, VM_CR_STATE_ABSENT, 0, "VM_CR does not exist (RDMSR raised #GP): no firmware lock");
		return 1;
	}
	rec_msr(VM_CR, value, MSR_PHASE_LOADER);
	if (injecting(INJECT_SVMDIS_LOCKED)) {
		if (value & VM_CR_LOCK) {
			inject_not_applicable("VM_CR is already locked");
		} else {
			u64 locked = value | VM_CR_SVMDIS | VM_CR_LOCK;
			rec_msr_write(VM_CR, locked, wrmsr_safe(VM_CR, locked));
			if (rdmsr_safe(VM_CR, &value) >= 0 || !(value & VM_CR_LOCK))
				inject_not_applicable("this CPU ignores writes to VM_CR.LOCK");
			rec_msr(VM_CR, value, MSR_PHASE_AFTER_WRITE);
			if (value & VM_CR_SVMDIS) {
				u64 efer;
				if (rdmsr_safe(IA32_EFER, &efer) < 0) {
					int fault = wrmsr_safe(IA32_EFER, efer | EFER_SVME); /* #GP: SVMDIS */
					rec_msr_write(IA32_EFER, efer | EFER_SVME, fault);
					if (fault < 0)
						wrmsr_safe(IA32_EFER, efer);
				}
			}
		}
	}
	if (!(value & VM_CR_SVMDIS)) {
		rec_vm_cr_check(RESULT_PASS, VM_CR_STATE_ENABLED, value, "VM_CR.SVMDIS is 0");
		return 1;
	}
	if (value & VM_CR_LOCK) {
		rec_vm_cr_check(RESULT_FAIL, VM_CR_STATE_DISABLED_BY_FIRMWARE, value, "VM_CR.SVMDIS and LOCK are set");
		verdict_set(VERDICT_SVM_DISABLED_BY_FIRMWARE,
			    "AMD-V is disabled by the firmware (VM_CR.SVMDIS = 1, locked)");
		verdict_hex32(KEY_MSR, VM_CR);
		return 0;
	}
	u64 cleared = value & ~VM_CR_SVMDIS;
	rec_msr_write(VM_CR, cleared, wrmsr_safe(VM_CR, cleared));
	u64 after = value;
	rdmsr_safe(VM_CR, &after);
	rec_msr(VM_CR, after, MSR_PHASE_AFTER_WRITE);
	if (after & VM_CR_SVMDIS) {
		rec_vm_cr_check(RESULT_FAIL, VM_CR_STATE_WRITE_IGNORED, after, "clearing the unlocked VM_CR.SVMDIS did not stick");
		verdict_set(VERDICT_SVM_DISABLED_BY_FIRMWARE, "VM_CR.SVMDIS is set and could not be cleared");
		verdict_hex32(KEY_MSR, VM_CR);
		return 0;
	}
	rec_vm_cr_check(RESULT_ADJUST, VM_CR_STATE_ENABLED_BY_STUB, after, "VM_CR.SVMDIS was set, unlocked: cleared");
	return 1;
}

/* EFER.SVME already set: another hypervisor holds SVM (15.4). INJECT_SVME_PRESET plays that hypervisor. */
static int check_efer_svme_free(u64 *efer)
{
	int vector = rdmsr_safe(IA32_EFER, efer);
	if (vector >= 0) {
		rec_msr_fault(IA32_EFER, vector, MSR_PHASE_LOADER);
		verdict_msr_fault(IA32_EFER, vector);
		return 0;
	}
	if (injecting(INJECT_SVME_PRESET) && !(*efer & EFER_SVME)) {
		int fault = wrmsr_safe(IA32_EFER, *efer | EFER_SVME);
		rec_msr_write(IA32_EFER, *efer | EFER_SVME, fault);
		rdmsr_safe(IA32_EFER, efer);
	}
	rec_msr(IA32_EFER, *efer, MSR_PHASE_LOADER);
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_EFER_SVME_FREE);
	if (*efer & EFER_SVME) {
		rec_str(KEY_RESULT, RESULT_FAIL);
		rec_hex64(KEY_EFER, *efer);
		rec_text("EFER.SVME is already set");
		rec_finish();
		verdict_set(VERDICT_SVM_IN_USE, "AMD-V is already in use (EFER.SVME was set)");
		return 0;
	}
	rec_str(KEY_RESULT, RESULT_PASS);
	rec_hex64(KEY_EFER, *efer);
	rec_finish();
	return 1;
}

/* EFER.SVME, then VM_HSAVE_PA: the 4 KiB-aligned host save area VMRUN uses (15.30.4). */
static int enable_svm(struct cpu *cpu, u64 efer)
{
	int fault = wrmsr_safe(IA32_EFER, efer | EFER_SVME);
	rec_msr_write(IA32_EFER, efer | EFER_SVME, fault);
	if (fault >= 0) {
		/* #GP setting EFER.SVME: VM_CR.SVMDIS (15.30.1), however VM_CR read. */
		verdict_set(VERDICT_SVM_DISABLED_BY_FIRMWARE, "setting EFER.SVME raised an exception");
		verdict_dec(KEY_VECTOR, (u32)fault);
		return 0;
	}
	fault = wrmsr_safe(VM_HSAVE_PA, (u32)cpu->hsave);
	rec_msr_write(VM_HSAVE_PA, (u32)cpu->hsave, fault);
	if (fault >= 0) {
		wrmsr_safe(IA32_EFER, efer);
		verdict_msr_fault(VM_HSAVE_PA, fault);
		return 0;
	}
	return 1;
}

static const char *const guest_failure_text[] = {
	[SVM_GUEST_VMRUN_FAULT] = "VMRUN raised an exception",
	[SVM_GUEST_INVALID] = "VMRUN refused the VMCB (VMEXIT_INVALID: it failed the consistency checks)",
	[SVM_GUEST_BAD_TRACE] = "the guest ran, but its #VMEXITs were not CPUID, IOIO, VMMCALL, HLT",
};

void svm_probe(struct cpu *cpu, const struct probe_input *in)
{
	step_begin(STEP_CPUID_SVM);
	STOP_IF(!check_cpuid_svm());

	step_begin(STEP_SVM_FEATURES);
	u32 features = svm_features();
	cpu->svm.nrip_save = (features & SVM_FEATURE_NRIP_SAVE) != 0;
	step_ok();

	step_begin(STEP_VM_CR);
	STOP_IF(!check_vm_cr());

	step_begin(STEP_EFER_SVME_FREE);
	u64 efer;
	STOP_IF(!check_efer_svme_free(&efer));

	step_begin(STEP_SVM_ENABLE);
	STOP_IF(!enable_svm(cpu, efer));

	enum svm_guest_result guest = SVM_GUEST_OK;
	if (in->vmxon_only) {
		/* No guest: the SVM instructions that need no VMCB, CLGI and STGI (#UD without EFER.SVME; 15.17). */
		__asm__ volatile("clgi; stgi" ::: "memory");
	} else {
		step_begin(STEP_VMCB);
		/* The nested table is in PAE format, the host's paging mode, which nested walks use (15.25.3). */
		int pae_paging = (read_cr0() & CR0_PG) && (read_cr4() & CR4_PAE);
		svm_vmcb_prepare(cpu, (features & SVM_FEATURE_NP) && pae_paging);
		step_ok();
		step_begin(STEP_VMRUN);
		guest = svm_guest_run(cpu);
		if (guest == SVM_GUEST_OK)
			step_ok();
		else
			step_fail();
	}

	step_begin(STEP_SVM_DISABLE);
	int fault = wrmsr_safe(IA32_EFER, efer & ~EFER_SVME);
	rec_msr_write(IA32_EFER, efer & ~EFER_SVME, fault);
	if (fault >= 0)
		verdict_msr_fault(IA32_EFER, fault);
	STOP_IF(fault >= 0);

	if (guest != SVM_GUEST_OK) {
		verdict_set(VERDICT_VMRUN_FAILED, guest_failure_text[guest]);
		if (guest == SVM_GUEST_VMRUN_FAULT) {
			verdict_dec(KEY_VECTOR, (u32)cpu->svm.vmrun_vector);
		} else if (cpu->svm.exit_count) {
			verdict_hex32(KEY_CODE, svm_unexpected_code(cpu));
		}
		return;
	}
	verdict_set(VERDICT_SVM_READY, in->vmxon_only
					      ? "EFER.SVME set, CLGI and STGI, EFER.SVME cleared"
					      : "EFER.SVME, VMRUN of a guest (CPUID, IOIO, VMMCALL, HLT exits) and its #VMEXITs succeeded");
	verdict_str(KEY_MODE, in->vmxon_only ? MODE_VMXON : MODE_FULL);
}
