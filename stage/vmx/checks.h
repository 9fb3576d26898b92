/*
 * VT-x readiness checks, one function per requirement (SDM Vol. 3C, 24.6
 * "Discovering Support for VMX", 24.7 "Enabling and Entering VMX
 * Operation", 24.8 "Restrictions on VMX Operation"). Each writes its raw
 * facts and one "check" record, and returns what the probe should do next;
 * a check that stops the probe has decided the verdict.
 */
#ifndef BOOTGEN_CHECKS_H
#define BOOTGEN_CHECKS_H

#include "types.h"

enum check_result {
	CHECK_PASS,   /* go on */
	CHECK_STOP,   /* a definite "no": the verdict is decided */
};

struct vmx_facts {
	u32 loader_cr4;    /* CR4 as the loader handed it over */
	u64 vmx_basic;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

enum check_result check_cpuid_vmx(void);
void dump_vmx_capabilities(void);
enum check_result check_feature_control(void);
enum check_result check_vmxe_not_taken(struct vmx_facts *facts);
enum check_result check_vmx_basic(struct vmx_facts *facts);
enum check_result check_cr_fixed_bits(struct vmx_facts *facts);

#endif
