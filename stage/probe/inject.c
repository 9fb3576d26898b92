/*
 * Test-only fault injection, so that the host can prove that each failure the
 * stub claims to detect is detected and reported (see inject.h).
 */
#include "boot/apic.h"
#include "boot/descriptors.h"
#include "cpu.h"
#include "boot/paging.h"
#include "lib/string.h"
#include "out/records.h"
#include "probe/inject.h"
#include "x86.h"

static const char *const names[INJECT_COUNT] = INJECT_NAMES;
static enum inject active = INJECT_NONE;
static u32 target_cpu; /* inject_cpu=N: the index of the CPU it acts on */

enum inject inject_lookup(const char *name, size_t len)
{
	for (u32 i = 0; i < INJECT_COUNT; i++)
		if (word_eq(name, len, names[i]))
			return (enum inject)i;
	return INJECT_COUNT;
}

const char *inject_name(enum inject which) { return which < INJECT_COUNT ? names[which] : names[INJECT_NONE]; }
void inject_select(enum inject which, u32 cpu)
{
	active = which;
	target_cpu = cpu;
}

int inject_targets(enum inject which, u32 cpu) { return active == which && which != INJECT_NONE && cpu == target_cpu; }
int injecting(enum inject which) { return inject_targets(which, this_cpu()->index); }

int injecting_early(void)
{
	if (this_cpu()->index != target_cpu)
		return 0;
	return active == INJECT_UD2 || active == INJECT_PAGE_FAULT || active == INJECT_NULL_READ || active == INJECT_HANG ||
	       active == INJECT_TRIPLE_FAULT || active == INJECT_HOST_NMI || active == INJECT_NMI_WAIT;
}

/* Port 0x80 (POST codes): a read takes about a microsecond on a PC (a wait of half a minute at most), far
 * less under TCG; the wait ends at the first NMI. */
#define NMI_WAIT_READS 30000000u

static void wait_for_nmi(void)
{
	struct cpu *cpu = this_cpu();
	u32 before = cpu->host_nmis;
	for (u32 i = 0; i < NMI_WAIT_READS && cpu->host_nmis == before; i++)
		(void)inb(GUEST_TEST_PORT);
	if (cpu->host_nmis == before)
		inject_not_applicable("no NMI arrived while the stub waited for one");
}

void inject_not_applicable(const char *why) { rec_warning(WARN_INJECT_NOT_APPLICABLE, why); }

void inject_on_path(const char *technology)
{
	static const char *const technologies[INJECT_COUNT] = INJECT_TECHNOLOGIES;
	const char *wanted = technologies[active];
	if (active == INJECT_NONE || this_cpu()->index != target_cpu || word_eq(wanted, strlen(wanted), "any") ||
	    word_eq(wanted, strlen(wanted), technology))
		return;
	inject_not_applicable(word_eq(wanted, strlen(wanted), TECH_SVM) ? "it acts on the AMD-V path; this CPU takes the VT-x path"
						     : "it acts on the VT-x path; this CPU takes the AMD-V path");
}

/* Read by the guest (vmx/guest.S): a zero ICR address means "send nothing". */
struct apic_nmi guest_nmi;

void inject_guest_nmi_arm(void)
{
	if (!injecting(INJECT_GUEST_NMI))
		return;
	if (apic_xapic_nmi_self(&guest_nmi) < 0) {
		guest_nmi.icr_low = 0;
		inject_not_applicable("the guest can send an NMI through an xAPIC only, and this CPU has none in that mode");
	}
}

void inject_early_fault(void)
{
	switch (active) {
	case INJECT_UD2:
		__asm__ volatile("ud2");
		break;
	case INJECT_PAGE_FAULT:
		(void)*(volatile u32 *)UNMAPPED_PROBE_ADDRESS;
		break;
	case INJECT_NULL_READ:
		(void)*(volatile u32 *)0;
		break;
	case INJECT_HANG:
		halt_forever(); /* no verdict, no exit: the host must time out */
	case INJECT_TRIPLE_FAULT:
		idt_break(); /* #UD cannot be delivered -> #DF -> triple fault (SDM Vol. 3A, 6.15) */
		__asm__ volatile("ud2");
		break;
	case INJECT_HOST_NMI:
		if (apic_nmi_self() < 0)
			inject_not_applicable("this CPU has no usable local APIC to send itself an NMI");
		break;
	case INJECT_NMI_WAIT:
		wait_for_nmi();
		break;
	default:
		break;
	}
}
