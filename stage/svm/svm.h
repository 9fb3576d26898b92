/* The AMD-V test of one CPU: readiness checks, EFER.SVME, a guest from a VMCB, EFER.SVME cleared (svm/probe.c). */
#ifndef BOOTGEN_SVM_H
#define BOOTGEN_SVM_H

struct cpu;
struct probe_input;

/* Whether this CPU takes the AMD-V path: an AMD or Hygon vendor string (APM Vol. 3, E.3.1). */
int svm_vendor(void);
/* Runs on the calling CPU; decides its verdict. */
void svm_probe(struct cpu *cpu, const struct probe_input *in);

#endif
