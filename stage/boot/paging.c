/*
 * PAE paging (SDM Vol. 3A, 4.4 "PAE Paging": a 4-entry PDPT and four page
 * directories) that maps only the memory the stub touches: its image, the
 * loader's information, the screen and the local APIC, each at its own
 * physical address, and a framebuffer above 4 GiB through a free linear window
 * (PAE entries hold 52-bit physical addresses, 4.4.2). Nothing else is
 * mapped: address 0 and the top 2 MiB fault (UNMAPPED_PROBE_ADDRESS).
 *
 * Memory types: a large page that spans MTRR ranges of different types is
 * undefined (SDM Vol. 3A, 12.11.9 "Large Page Size Considerations"), so RAM is
 * mapped with 4 KiB pages; only a framebuffer, one PCI BAR of one type, takes
 * 2 MiB pages, and only where it covers them whole (its head and tail get 4 KiB
 * pages), so that nothing beyond it is mapped write-combining. RAM is write-back through the PAT, so the MTRRs decide; the
 * APIC and VGA text are uncacheable and a framebuffer write-combining
 * (12.12.3 "Selecting a Memory Type from the PAT"; 12.5.2.2 for the
 * combinations). PAE rather than 32-bit paging because every VMX-capable CPU
 * has it and some hypervisors offer guests no other 32-bit paging mode; VMX
 * operation requires CR0.PG = 1 (IA32_VMX_CR0_FIXED0, SDM Vol. 3D A.7).
 */
#include "boot/fault.h"
#include "boot/paging.h"
#include "generated/msr.h"
#include "generated/registers.h"
#include "x86.h"

#define PTE_PRESENT BIT64(0)
#define PTE_WRITABLE BIT64(1)
#define PTE_PWT BIT64(3)
#define PTE_PCD BIT64(4)
#define PDE_PAGE_SIZE BIT64(7)
#define PTE_ADDRESS 0x000ffffffffff000ull /* bits 51:12 */
#define PAGE_4K 4096u
#define PAGE_2M_SHIFT 21
#define PAGE_2M (1u << PAGE_2M_SHIFT)
#define PDES 2048u             /* 4 directories of 512: 4 GiB of linear addresses */
#define LAST_PDE (PDES - 1)    /* the top 2 MiB: never mapped */
#define POOL_TABLES 16         /* page tables for 4 KiB pages: 32 MiB of scattered ranges */

/*
 * IA32_PAT (SDM Vol. 3A, 12.12.2): PA0 WB, PA1 WC, PA2 UC-, PA3 UC, PA4-7 as
 * at power-on. A PTE selects entry PAT:PCD:PWT, so WB is no bit, WC is PWT
 * and UC is PCD+PWT, the same in 4 KiB and 2 MiB entries (PAT bit clear).
 * Without a PAT, PCD+PWT is UC too, and the framebuffer gets UC.
 */


static u64 page_directory[PDES] __attribute__((section(".bss.pagetables"), aligned(4096)));
static u64 page_tables[POOL_TABLES][512] __attribute__((section(".bss.pagetables"), aligned(4096)));
static u64 pdpt[4] __attribute__((aligned(32))); /* CR3 bits 31:5 (SDM Vol. 3A, 4.4.1) */
static u32 tables_used;
static int pat_fault = -2; /* -2: not written yet (or no PAT) */
static int pat_programmed;
static int paging_on; /* the boot CPU turned paging on: the APs use its tables */

/*
 * Program IA32_PAT once, before the first entry is built (paging_map calls it
 * first), so that every entry means what this file says, whatever the loader
 * left. Paging is off: no translation uses the PAT yet, so it can change
 * without a flush (SDM Vol. 3A, 12.12.4). Where there is no PAT, or the write
 * faults, WC is not available.
 */
static void program_pat(void)
{
	if (pat_programmed)
		return;
	pat_programmed = 1;
	if (cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID1_EDX_PAT)
		pat_fault = wrmsr_safe(IA32_PAT, PAGING_PAT_VALUE);
}

static int wc_available(void)
{
	return pat_fault == -1;
}

static u64 type_bits(enum memtype type)
{
	if (type == MEMTYPE_WB)
		return 0;
	if (type == MEMTYPE_WC)
		return PTE_PWT; /* only asked for when wc_available() */
	return PTE_PCD | PTE_PWT;
}

/*
 * CPUID.80000008H:EAX[7:0], or 36 when the leaf is missing (SDM Vol. 3A,
 * 4.1.4); kept within 32..52, the widths PAE can hold, against a hypervisor's
 * nonsense.
 */
int paging_address_bits(void)
{
	u32 bits = DEFAULT_PHYSICAL_ADDRESS_BITS;
	if (cpuid(CPUID_LEAF_EXTENDED_MAX, 0).eax >= CPUID_LEAF_ADDRESS_SIZES)
		bits = cpuid(CPUID_LEAF_ADDRESS_SIZES, 0).eax & 0xff;
	return bits < 32 ? 32 : bits > 52 ? 52 : (int)bits;
}

/* One 4 KiB page. A page already mapped to the same frame stays as it is (the first type wins). */
static int map_4k(u32 linear, u64 phys, u64 bits)
{
	u64 *pde = &page_directory[linear >> PAGE_2M_SHIFT];
	if (*pde & PDE_PAGE_SIZE)
		return (*pde & PTE_ADDRESS) + (linear & (PAGE_2M - 1)) == phys ? 0 : -1;
	if (!(*pde & PTE_PRESENT)) {
		if (tables_used == POOL_TABLES)
			return -1;
		*pde = (u32)page_tables[tables_used++] | PTE_PRESENT | PTE_WRITABLE;
	}
	u64 *pte = (u64 *)(u32)(*pde & PTE_ADDRESS) + ((linear >> 12) & 511);
	if (*pte & PTE_PRESENT)
		return (*pte & PTE_ADDRESS) == phys ? 0 : -1;
	*pte = phys | PTE_PRESENT | PTE_WRITABLE | bits;
	return 0;
}

/* The highest run of n free directory entries below the top 2 MiB, never the first (address 0). */
static int free_window(u32 n)
{
	if (n >= LAST_PDE)
		return -1;
	for (u32 start = LAST_PDE - n; start >= 1; start--) {
		u32 i = 0;
		while (i < n && !page_directory[start + i])
			i++;
		if (i == n)
			return (int)start;
	}
	return -1;
}

/*
 * [phys, phys + size) at linear (both at the same offset within 2 MiB): a 2 MiB
 * page for each chunk the range covers whole, where allowed and the directory
 * entry is free; 4 KiB pages for the rest.
 */
static int large_fits(const struct mapping *m, u32 at, u32 end)
{
	return m->large && !(at & (PAGE_2M - 1)) && end - at >= PAGE_2M && !page_directory[at >> PAGE_2M_SHIFT];
}

/* The page tables the range still needs: checked first, so that a range is mapped whole or not at all. */
static u32 tables_needed(const struct mapping *m, u32 at, u32 end)
{
	u32 needed = 0;
	for (; at < end; at = ((at >> PAGE_2M_SHIFT) + 1) << PAGE_2M_SHIFT) {
		if (large_fits(m, at, end))
			continue;
		if (!(page_directory[at >> PAGE_2M_SHIFT] & PTE_PRESENT))
			needed++;
		if (at >> PAGE_2M_SHIFT == LAST_PDE)
			break;
	}
	return needed;
}

static int map_pages(struct mapping *m, u32 linear, u64 bits)
{
	u64 phys = m->phys & ~(u64)(PAGE_4K - 1);
	u32 at = linear & ~(PAGE_4K - 1), end = linear + m->size; /* end <= UNMAPPED_REGION_START */
	if (tables_needed(m, at, end) > POOL_TABLES - tables_used)
		return -1;
	m->page_kib = 4;
	while (at < end) {
		u32 chunk = at >> PAGE_2M_SHIFT;
		if (large_fits(m, at, end)) {
			page_directory[chunk] = phys | PTE_PRESENT | PTE_WRITABLE | PDE_PAGE_SIZE | bits;
			m->page_kib = PAGE_2M / 1024;
			at += PAGE_2M;
			phys += PAGE_2M;
			continue;
		}
		if (map_4k(at, phys, bits) < 0)
			return -1;
		at += PAGE_4K;
		phys += PAGE_4K;
	}
	m->linear = linear;
	return 0;
}

/* Above 4 GiB: a free linear window at the same offset within 2 MiB. */
static int map_window(struct mapping *m, u64 bits)
{
	u64 base = m->phys & ~(u64)(PAGE_2M - 1);
	u32 n = (u32)((m->phys + m->size - base + PAGE_2M - 1) >> PAGE_2M_SHIFT);
	int at = free_window(n);
	if (at < 0)
		return -1;
	return map_pages(m, ((u32)at << PAGE_2M_SHIFT) + (u32)(m->phys - base), bits);
}

int paging_map(struct mapping *m)
{
	program_pat();
	m->linear = 0;
	m->page_kib = 0;
	u64 end = m->phys + m->size;
	if (!m->size || end < m->phys || end > (1ull << paging_address_bits()))
		return -1; /* beyond MAXPHYADDR, a PAE entry's reserved bits would be set (#PF, SDM Vol. 3A, 4.4.2) */
	if (m->type == MEMTYPE_WC && !wc_available())
		m->type = MEMTYPE_UC;
	u64 bits = type_bits(m->type);
	if (end <= UNMAPPED_REGION_START)
		return map_pages(m, (u32)m->phys, bits);
	return m->large ? map_window(m, bits) : -1;
}

int paging_pat_fault(void)
{
	return pat_fault;
}

/* PAE, CR3, then CR0.PG; the vector a refused write raised, or -1. */
static int turn_on(void)
{
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

int paging_enable(void)
{
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID1_EDX_PAE))
		return PAGING_NO_PAE; /* CPUID.1:EDX.PAE: pre-P6 CPUs (none of which has VMX) */
	for (u32 dir = 0; dir < 4; dir++)
		pdpt[dir] = (u32)&page_directory[dir * 512] | PTE_PRESENT; /* PDPTEs have no R/W bit */
	int vector = turn_on();
	paging_on = vector < 0;
	return vector;
}

/*
 * An AP: the boot CPU's tables, and its PAT, which every processor must share
 * (SDM Vol. 3A, 12.12.4 "Programming the PAT"; IA32_PAT is per processor).
 */
int paging_enable_ap(int *pat_vector)
{
	*pat_vector = -2;
	if (!paging_on)
		return PAGING_OFF_ON_BOOT_CPU;
	if (pat_fault == -1)
		*pat_vector = wrmsr_safe(IA32_PAT, PAGING_PAT_VALUE);
	return turn_on();
}
