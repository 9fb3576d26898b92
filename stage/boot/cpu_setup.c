/*
 * What every CPU does to its own registers before the probe, the boot CPU in
 * main.c and each AP in smp/ap.c, and the records that say so.
 */
#include "boot/cpu_setup.h"
#include "boot/fault.h"
#include "boot/paging.h"
#include "generated/contract.h"
#include "generated/msr.h"
#include "out/records.h"
#include "out/report.h"
#include "x86.h"

void rec_registers(const char *phase, u32 cr0, u32 cr3, u32 cr4)
{
	rec_start(REC_CR);
	rec_str(KEY_PHASE, phase);
	rec_hex32(KEY_CR0, cr0);
	rec_hex32(KEY_CR3, cr3);
	rec_hex32(KEY_CR4, cr4);
	u64 efer;
	if (rdmsr_safe(IA32_EFER, &efer) < 0)
		rec_hex64(KEY_EFER, efer);
	rec_finish();
}

/*
 * What the stub needs, not what the loader left: CR4 holds PAE (set with paging)
 * and MCE (so that a machine check is reported, not a shutdown; SDM Vol. 3B,
 * 15.10.1), and no inherited bits such as PGE, OSXSAVE, SMEP, SMAP, PKE or CET.
 * VMXE and SMXE stay as found: another VMM's VMX operation, or SMX, forbids
 * clearing them (SDM Vol. 3C, 24.8), and the checks report them. EFER.LME is
 * cleared before CR0.PG is set: with it, setting PG would enter IA-32e mode,
 * and a 32-bit host with LME fails VM entry's host address-space checks (SDM
 * Vol. 3C, 27.2.4).
 */
void normalize_registers(u32 loader_cr4)
{
	u32 cr4 = loader_cr4 & (CR4_VMXE | CR4_SMXE);
	if (cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID1_EDX_MCE)
		cr4 |= CR4_MCE;
	if (write_cr4_safe(cr4) >= 0)
		write_cr4_safe(loader_cr4 & (CR4_VMXE | CR4_SMXE));
	u64 efer;
	if (rdmsr_safe(IA32_EFER, &efer) < 0 && (efer & EFER_LME))
		wrmsr_safe(IA32_EFER, efer & ~EFER_LME);
	rec_registers(CR_PHASE_NORMALIZED, read_cr0(), read_cr3(), read_cr4());
}


void rec_paging_failed(int fault)
{
	rec_start(REC_CHECK);
	rec_str(KEY_NAME, CHECK_PAGING);
	rec_str(KEY_RESULT, RESULT_FAIL);
	if (fault == PAGING_NO_PAE) {
		rec_text("the CPU has no PAE; continuing without paging");
	} else if (fault == PAGING_IMAGE_UNMAPPED) {
		rec_text("the stub's own image could not be mapped; continuing without paging");
	} else if (fault == PAGING_OFF_ON_BOOT_CPU) {
		rec_text("the boot CPU runs without paging; so does this CPU");
	} else {
		rec_dec(KEY_VECTOR, (u32)fault);
		rec_text("enabling paging raised an exception; continuing without it");
	}
	rec_finish();
}

void rec_pat_write(int fault)
{
	if (fault != -2)
		rec_msr_write(IA32_PAT, PAGING_PAT_VALUE, fault);
}
