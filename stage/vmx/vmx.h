/* The VT-x test of one CPU: readiness checks, VMXON, a guest from a VMCS, VMXOFF (vmx/probe.c). */
#ifndef BOOTGEN_VMX_H
#define BOOTGEN_VMX_H

struct cpu;
struct probe_input;

/* Runs on the calling CPU; decides its verdict. */
void vmx_probe(struct cpu *cpu, const struct probe_input *in);

#endif
