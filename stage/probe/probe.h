/*
 * The probe: identify the CPU, then run the readiness checks and the
 * virtualization test of its technology. Today that is VT-x (stage/vmx/);
 * AMD-V (SVM) will sit beside it in stage/svm/ with the same entry point,
 * chosen here by vendor and CPUID, as Bareflank keeps x64/intel and x64/amd.
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

#endif
