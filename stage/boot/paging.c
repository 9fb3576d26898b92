/*
 * Identity-mapped PAE paging with 2 MiB pages (SDM Vol. 3A, 4.4 "PAE
 * Paging": a 4-entry PDPT, page directories whose PDEs map 2-MByte pages
 * with PS = 1). PAE rather than 32-bit paging because every VMX-capable CPU
 * has it and some hypervisors offer guests no other 32-bit paging mode.
 * Every physical address below 4 GiB maps to itself except the top 2 MiB,
 * left unmapped on purpose so that a deliberate page fault can be provoked.
 * VMX operation requires CR0.PG = 1 (IA32_VMX_CR0_FIXED0, SDM Vol. 3D A.7).
 */
#include "boot/fault.h"
#include "boot/paging.h"
#include "x86.h"

#define PTE_PRESENT BIT64(0)
#define PTE_WRITABLE BIT64(1)
#define PDE_PAGE_SIZE BIT64(7)
#define PAGE_2M (2ull << 20)

static u64 page_directory[4][512] __attribute__((section(".bss.pagetables"), aligned(4096)));
static u64 pdpt[4] __attribute__((aligned(32))); /* CR3 bits 31:5 (SDM Vol. 3A, 4.4.1) */

int paging_enable(void)
{
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID1_EDX_PAE))
		return PAGING_NO_PAE; /* CPUID.1:EDX.PAE: pre-P6 CPUs (none of which has VMX) */
	for (u32 dir = 0; dir < 4; dir++) {
		for (u32 i = 0; i < 512; i++)
			page_directory[dir][i] = ((u64)(dir * 512 + i) * PAGE_2M) | PTE_PRESENT | PTE_WRITABLE | PDE_PAGE_SIZE;
		pdpt[dir] = (u32)page_directory[dir] | PTE_PRESENT; /* PDPTEs have no R/W bit */
	}
	page_directory[3][511] = 0; /* UNMAPPED_PROBE_ADDRESS */

	write_cr4(read_cr4() | CR4_PAE);
	write_cr3((u32)pdpt);
	/* Some hypervisors refuse 32-bit paging modes (#GP): report it, do not die. */
	/* Caches on: some loaders leave CR0.CD/NW set, which makes every access uncached (SDM Vol. 3A, 12.5.1). */
	int vector = write_cr0_safe((read_cr0() | CR0_NE) & ~(CR0_CD | CR0_NW));
	if (vector < 0)
		vector = write_cr0_safe(read_cr0() | CR0_PG | CR0_WP);
	if (vector >= 0)
		write_cr4(read_cr4() & ~CR4_PAE);
	return vector;
}
