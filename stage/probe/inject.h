/*
 * Test-only fault injection (inject=NAME; names and what each must produce:
 * bootgen/contract/injects.py). The early ones act in inject_early_fault();
 * the others are consulted with injecting() at the point the contract names.
 */
#ifndef BOOTGEN_INJECT_H
#define BOOTGEN_INJECT_H

#include "generated/contract.h"
#include "types.h"

/* The name's injection, or INJECT_COUNT when it names none. */
enum inject inject_lookup(const char *name, size_t len);
const char *inject_name(enum inject which);
void inject_select(enum inject which, u32 cpu);   /* cpu: inject_cpu=, the index of the CPU it acts on */
int injecting(enum inject which);                /* it acts here, on the running CPU */
int inject_targets(enum inject which, u32 cpu);  /* it acts on that CPU (the boot CPU asks for an AP) */
int injecting_early(void);            /* the injections that act in inject_early_fault() */
void inject_early_fault(void);
void inject_not_applicable(const char *why); /* the machine does not allow it: say so, go on */
/* The path this CPU takes ("vmx" or "svm"): an injection for the other one is said not to apply. */
void inject_on_path(const char *technology);
void inject_guest_nmi_arm(void);             /* INJECT_GUEST_NMI: have the guest send itself an NMI */

#endif
