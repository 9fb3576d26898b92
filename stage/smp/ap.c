/*
 * An AP's run, from ap_entry32 (trampoline.S) to its verdict: the same path
 * the boot CPU takes (its own descriptors, CR4 and EFER, the boot CPU's page
 * tables and PAT, an injection that targets it, the probe), on its own struct
 * cpu, its records in its own buffer (smp.h). Then it parks; the boot CPU
 * writes its records out.
 */
#include "boot/apic.h"
#include "boot/cpu_setup.h"
#include "boot/descriptors.h"
#include "boot/paging.h"
#include "boot/timer.h"
#include "cpu.h"
#include "generated/contract.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/inject.h"
#include "probe/probe.h"
#include "probe/verdict.h"
#include "smp/smp.h"
#include "smp/state.h"
#include "x86.h"

NORETURN void ap_main(u32 index, u32 apic_id);

NORETURN void ap_main(u32 index, u32 apic_id)
{
	struct cpu *cpu = cpu_at(index);
	/* It joined in ap_entry32 (trampoline.S), which claimed this structure; the boot CPU reads the join
	 * time only once the AP is done or given up on, long after this. */
	cpu->smp.join_tsc = rdtsc();
	u32 entry_cr0 = read_cr0(), entry_cr3 = read_cr3(), entry_cr4 = read_cr4();
	cpu->index = index;
	descriptors_init(cpu);
	report_to_buffer(cpu->report_buffer, sizeof(cpu->report_buffer)); /* before anything could report */
	if (smp.apic_mode == APIC_X2)
		apic_enable_x2apic(); /* every CPU in the boot CPU's mode (INIT keeps x2APIC mode: SDM Vol. 3A, 11.12.5) */
	cpu->smp.apic_id = apic_id;

	rec_registers(CR_PHASE_LOADER, entry_cr0, entry_cr3, entry_cr4);
	step_begin(STEP_DESCRIPTORS);
	step_ok();
	normalize_registers(entry_cr4);

	step_begin(STEP_PAGING);
	int pat_vector;
	int fault = paging_enable_ap(&pat_vector);
	if (fault >= 0)
		rec_paging_failed(fault);
	rec_pat_write(pat_vector);
	rec_cr(CR_PHASE_PAGING);
	if (fault >= 0)
		step_fail();
	else
		step_ok();

	if (injecting_early()) {
		step_begin(STEP_INJECT);
		inject_early_fault();
		step_ok();
	}
	struct probe_input in = ap_input;
	in.loader_cr4 = entry_cr4;
	probe_run(cpu, &in);
	ap_finish();
}

NORETURN void ap_finish(void)
{
	struct cpu *cpu = this_cpu();
	/* Its last records are written whole or not at all: given up on already, it writes nothing more. */
	if (!ap_state_move(&cpu->smp.state, AP_JOINED, AP_FINISHING))
		halt_forever();
	rec_nmis(cpu->host_nmis, cpu->guest_nmis);
	verdict_write();
	__asm__ volatile("" ::: "memory");
	ap_state_move(&cpu->smp.state, AP_FINISHING, AP_DONE);
	halt_forever();
}
