/* PAE paging that maps only what the stub touches; see paging.c. */
#ifndef BOOTGEN_PAGING_H
#define BOOTGEN_PAGING_H

#include "types.h"

#define PAGING_NO_PAE 256
#define PAGING_IMAGE_UNMAPPED 257 /* not from paging_enable: the caller's reason not to call it */
#define PAGING_OFF_ON_BOOT_CPU 258 /* paging_enable_ap: the boot CPU runs without paging */
#define UNMAPPED_PROBE_ADDRESS 0xfffff000u /* inside the top 2 MiB, which nothing is ever mapped into */
#define UNMAPPED_REGION_START 0xffe00000ull

/* IA32_PAT as the stub programs it: PA0 WB, PA1 WC, PA2 UC-, PA3 UC, PA4-7 as at power-on (paging.c). */
#define PAGING_PAT_VALUE 0x0007040600070106ull

enum memtype { MEMTYPE_WB, MEMTYPE_WC, MEMTYPE_UC };

/* One range to map: filled in by the caller, linear and page_kib by paging_map. */
struct mapping {
	u64 phys;
	u32 size;
	enum memtype type; /* what is asked; paging_map lowers WC to UC where the PAT cannot give WC */
	int large;    /* 2 MiB pages allowed where a range covers them whole, and a window above 4 GiB (a framebuffer) */
	u32 linear;   /* where it is reached once paging is on; 0 when it could not be mapped */
	u32 page_kib; /* 2048 when any 2 MiB page is used, else 4 */
};

int paging_map(struct mapping *m); /* before paging_enable: 0, or -1 when it cannot be mapped */
int paging_enable(void);           /* the exception vector, PAGING_NO_PAE, or -1 when paging is on */
int paging_enable_ap(int *pat_vector); /* an AP, after the boot CPU: as paging_enable; pat_vector as below */
int paging_pat_fault(void);        /* the vector IA32_PAT's write raised, -1 if none, -2 when not written */
int paging_address_bits(void);     /* MAXPHYADDR as the stub uses it (CPUID.80000008H, within 32..52) */

#endif
