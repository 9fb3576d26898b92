/* Identity-mapped PAE paging; see paging.c. */
#ifndef BOOTGEN_PAGING_H
#define BOOTGEN_PAGING_H

#define PAGING_NO_PAE 256
#define UNMAPPED_PROBE_ADDRESS 0xfffff000u /* inside the one 2 MiB page left unmapped */
#define UNMAPPED_REGION_START 0xffe00000ull

int paging_enable(void); /* the exception vector, PAGING_NO_PAE, or -1 when paging is on */

#endif
