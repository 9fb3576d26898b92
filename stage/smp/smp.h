/*
 * Every logical CPU (bootgen/contract/smp.py): the boot CPU finds the CPUs in
 * the ACPI MADT (else a broadcast INIT-SIPI-SIPI counts who answers), starts
 * the APs, runs its own probe while they run theirs, and writes each CPU's
 * section of the report in CPU order. Each AP runs the same probe on its own
 * struct cpu, its records in its own buffer.
 */
#ifndef BOOTGEN_SMP_H
#define BOOTGEN_SMP_H

#include "types.h"

struct range {
	u32 start, size;
};

struct smp_setup {
	int boot_cpu_only;          /* cpus=bsp */
	int vmxon_only;             /* mode=vmxon, for the APs' probes */
	u32 rsdp;                   /* the loader's copy of the RSDP; 0: search the BIOS areas */
	const struct range *avoid;  /* the loader's information: never the APs' start-up page */
	u32 avoid_count;
	u32 mmap, mmap_size;        /* the memory map's entries */
	int mmap_v1;                /* v1 entries (size-prefixed) rather than multiboot2 ones */
	u32 mem_lower_kib;          /* conventional memory, when there is no map (0: unknown) */
	u32 mem_upper_kib;          /* memory above 1 MiB, when there is no map (0: unknown) */
};

void smp_discover(const struct smp_setup *setup); /* paging off: the MADT, the timer, the start-up page */
int smp_ap_area(u32 *at, u32 *size);  /* where the APs' structures are (for paging); 0 when there are none */
void smp_ap_area_unreachable(void);     /* they could not be mapped: no AP is started */
void smp_start(void);              /* INIT-SIPI-SIPI, the joins, the cpus record; the boot CPU's section begins */
void smp_end(void);                /* the boot CPU's section ends; each AP's follows, in order */
void smp_screen_summary(void);     /* one line per CPU (grouped) on the screen only */

/* On an AP: its end (its nmi and verdict records, then parked); stub_finish comes here on an AP. */
NORETURN void ap_finish(void);

#endif
