/*
 * The local APIC: where it is and which mode it is in (IA32_APIC_BASE, SDM Vol.
 * 3A, 11.4.4), and sending an interprocessor interrupt through the ICR
 * (11.6.1 "Interrupt Command Register"; x2APIC: 11.12.9 "ICR Operation in
 * x2APIC Mode"). The "self" shorthand takes fixed interrupts only, so an NMI to
 * oneself names the CPU's own APIC ID.
 */
#include "boot/apic.h"
#include "boot/fault.h"
#include "generated/msr.h"
#include "generated/registers.h"
#include "x86.h"

#define XAPIC_ID 0x020u
#define XAPIC_ICR_LOW 0x300u
#define XAPIC_ICR_HIGH 0x310u
#define XAPIC_ICR_BUSY BIT(12)
#define ICR_DELIVERY_NMI (4u << 8)
#define ICR_DELIVERY_INIT (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_TRIGGER_LEVEL BIT(15)
#define ICR_ALL_EXCLUDING_SELF (3u << 18)
#define ICR_BUSY_SPINS 1000000u

static int xapic_unreachable; /* its register page could not be mapped */

void apic_xapic_unreachable(void)
{
	xapic_unreachable = 1;
}

static int apic_base(u64 *base)
{
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID1_EDX_APIC) || rdmsr_safe(IA32_APIC_BASE, base) >= 0 ||
	    !(*base & APIC_BASE_ENABLE))
		return -1;
	return 0;
}

int apic_xapic_registers(u32 *phys)
{
	u64 base;
	if (apic_base(&base) < 0 || (base & APIC_BASE_X2APIC) || xapic_unreachable)
		return -1;
	u64 page = (base >> APIC_BASE_BASE_SHIFT) & APIC_BASE_BASE_MASK;
	if (page >> 20)
		return -1;
	*phys = (u32)(page << 12);
	return 0;
}

int apic_xapic_nmi_self(struct apic_nmi *nmi)
{
	u32 regs;
	if (apic_xapic_registers(&regs) < 0)
		return -1;
	volatile u32 *apic = (volatile u32 *)regs;
	nmi->icr_low = regs + XAPIC_ICR_LOW;
	nmi->icr_high_value = (apic[XAPIC_ID / 4] >> 24) << 24;
	nmi->icr_low_value = ICR_LEVEL_ASSERT | ICR_DELIVERY_NMI;
	return 0;
}

int apic_nmi_self(void)
{
	u64 base;
	if (apic_base(&base) < 0)
		return -1;
	if (base & APIC_BASE_X2APIC) {
		/* The x2APIC ID, as CPUID.0BH:EDX gives it (SDM Vol. 3A, 11.12.8 "CPUID Extensions and Topology"). */
		if (cpuid(CPUID_LEAF_VENDOR, 0).eax < CPUID_LEAF_TOPOLOGY)
			return -1;
		u64 id = cpuid(CPUID_LEAF_TOPOLOGY, 0).edx;
		return wrmsr_safe(IA32_X2APIC_ICR, (id << 32) | ICR_LEVEL_ASSERT | ICR_DELIVERY_NMI) >= 0 ? -1 : 0;
	}
	u32 regs;
	if (apic_xapic_registers(&regs) < 0)
		return -1; /* above 4 GiB, or not mapped: out of the stub's reach */
	volatile u32 *apic = (volatile u32 *)regs;
	u32 id = apic[XAPIC_ID / 4] >> 24;
	apic[XAPIC_ICR_HIGH / 4] = id << 24;
	apic[XAPIC_ICR_LOW / 4] = ICR_LEVEL_ASSERT | ICR_DELIVERY_NMI;
	for (u32 spins = 0; spins < 100000 && (apic[XAPIC_ICR_LOW / 4] & XAPIC_ICR_BUSY); spins++)
		__asm__ volatile("pause");
	return 0;
}

int apic_mode(void)
{
	u64 base;
	if (apic_base(&base) < 0)
		return APIC_NONE;
	return (base & APIC_BASE_X2APIC) ? APIC_X2 : APIC_X;
}

u32 apic_id(void)
{
	u64 id;
	u32 regs;
	if (apic_mode() == APIC_X2)
		return rdmsr_safe(IA32_X2APIC_APICID, &id) < 0 ? (u32)id : 0;
	if (apic_xapic_registers(&regs) < 0)
		return cpuid(CPUID_LEAF_FEATURES, 0).ebx >> 24; /* the initial APIC ID */
	return ((volatile u32 *)regs)[XAPIC_ID / 4] >> 24;
}

/* One ICR write: physical destination `dest`, or every CPU but this one. 0, or -1 (no APIC, or still busy). */
static int icr_send(u32 dest, int all_but_self, u32 low)
{
	if (all_but_self)
		low |= ICR_ALL_EXCLUDING_SELF;
	int mode = apic_mode();
	if (mode == APIC_X2) { /* one 64-bit write, destination in bits 63:32 (SDM Vol. 3A, 11.12.9) */
		/* WRMSR to an x2APIC register does not serialize: MFENCE;LFENCE first (SDM Vol. 3A, 11.12.3). */
		__asm__ volatile("mfence; lfence" ::: "memory");
		return wrmsr_safe(IA32_X2APIC_ICR, ((u64)dest << 32) | low) >= 0 ? -1 : 0;
	}
	u32 regs;
	if (mode != APIC_X || apic_xapic_registers(&regs) < 0)
		return -1;
	volatile u32 *apic = (volatile u32 *)regs;
	apic[XAPIC_ICR_HIGH / 4] = dest << 24;
	apic[XAPIC_ICR_LOW / 4] = low; /* the write to the low dword sends it */
	for (u32 spins = 0; apic[XAPIC_ICR_LOW / 4] & XAPIC_ICR_BUSY; spins++)
		if (spins >= ICR_BUSY_SPINS)
			return -1;
	return 0;
}

int apic_send_init(u32 dest, int all_but_self)
{
	if (icr_send(dest, all_but_self, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL) < 0)
		return -1;
	/* The de-assert that P6-family and Pentium processors need (SDM Vol. 3A, 11.6.1); x2APIC mode has none. */
	if (apic_mode() == APIC_X)
		icr_send(dest, all_but_self, ICR_DELIVERY_INIT | ICR_TRIGGER_LEVEL);
	return 0;
}

int apic_send_sipi(u32 dest, int all_but_self, u32 page)
{
	return icr_send(dest, all_but_self, ICR_DELIVERY_STARTUP | ((page >> 12) & 0xffu));
}

int apic_enable_x2apic(void)
{
	u64 base;
	if (apic_base(&base) < 0 || !(cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID1_ECX_X2APIC))
		return -1;
	if (base & APIC_BASE_X2APIC)
		return 0;
	return wrmsr_safe(IA32_APIC_BASE, base | APIC_BASE_X2APIC) >= 0 ? -1 : 0;
}
