/* A CPU's own register set-up before the probe, and its records (cpu_setup.c). */
#ifndef BOOTGEN_CPU_SETUP_H
#define BOOTGEN_CPU_SETUP_H

#include "types.h"

void rec_registers(const char *phase, u32 cr0, u32 cr3, u32 cr4); /* a cr record, EFER read now */
void normalize_registers(u32 loader_cr4);  /* CR4 and EFER as the stub needs them; records phase=normalized */
void rec_paging_failed(int fault);         /* check name=paging result=fail: paging_enable's result */
void rec_pat_write(int fault);             /* the IA32_PAT write, when there was one (fault -2: none) */

#endif
