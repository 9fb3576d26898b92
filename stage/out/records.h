/* Writers for the records several parts of the stub write (fields: docs/protocol.md). */
#ifndef BOOTGEN_RECORDS_H
#define BOOTGEN_RECORDS_H

#include "types.h"
#include "x86.h"

void rec_cpuid(u32 leaf, u32 subleaf, struct cpuid_regs r);
void rec_msr(u32 index, u64 value, const char *phase);
void rec_msr_fault(u32 index, int vector, const char *phase);
void rec_msr_write(u32 index, u64 value, int vector); /* vector < 0: the WRMSR did not fault */
void rec_cr(const char *phase);  /* CR0, CR3, CR4 as they are now */
void rec_check(const char *name, const char *result, const char *text); /* text may be NULL */
void rec_warning(const char *what, const char *text);
void rec_nmis(u32 host, u32 guest); /* the nmi record, when there were any */

#endif
