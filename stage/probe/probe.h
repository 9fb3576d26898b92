/*
 * The probe: identify the CPU, then run the readiness checks and the
 * virtualization test of its technology: VT-x (stage/vmx/) or AMD-V
 * (stage/svm/), with the same entry point, chosen by vendor and CPUID, as
 * Bareflank keeps x64/intel and x64/amd.
 */
#ifndef BOOTGEN_PROBE_H
#define BOOTGEN_PROBE_H

#include "types.h"

struct cpu;

struct probe_input {
	u32 loader_cr4;   /* CR4 as the loader handed it over */
	int vmxon_only;   /* mode=vmxon */
};

/* Runs the checks and the virtualization test on this CPU; its verdict is decided on return. */
void probe_run(struct cpu *cpu, const struct probe_input *in);

/* CPUID leaf 1 (recorded) and the hypervisor-present check (ECX[31]; leaf 0x40000000 when set); returns ECX. */
u32 probe_leaf1(void);

/* In a technology's test sequence: a step that stopped the probe, whose verdict is decided. */
#define STOP_IF(step_failed)         \
	do {                         \
		if (step_failed) {   \
			step_fail(); \
			return;      \
		}                    \
		step_ok();           \
	} while (0)

#endif
