/*
 * Test-only fault injection, so that the host can prove that each failure the
 * stub claims to detect is detected and reported (see inject.h).
 */
#include "boot/descriptors.h"
#include "boot/paging.h"
#include "lib/string.h"
#include "out/records.h"
#include "probe/inject.h"
#include "x86.h"

static const char *const names[INJECT_COUNT] = INJECT_NAMES;
static enum inject active = INJECT_NONE;

enum inject inject_lookup(const char *name, size_t len)
{
	for (u32 i = 0; i < INJECT_COUNT; i++)
		if (word_eq(name, len, names[i]))
			return (enum inject)i;
	return INJECT_COUNT;
}

const char *inject_name(enum inject which) { return which < INJECT_COUNT ? names[which] : names[INJECT_NONE]; }
void inject_select(enum inject which) { active = which; }
int injecting(enum inject which) { return active == which && which != INJECT_NONE; }

int injecting_early(void)
{
	return active == INJECT_UD2 || active == INJECT_PAGE_FAULT || active == INJECT_HANG ||
	       active == INJECT_TRIPLE_FAULT;
}

void inject_not_applicable(const char *why) { rec_warning(WARN_INJECT_NOT_APPLICABLE, why); }

void inject_early_fault(void)
{
	switch (active) {
	case INJECT_UD2:
		__asm__ volatile("ud2");
		break;
	case INJECT_PAGE_FAULT:
		(void)*(volatile u32 *)UNMAPPED_PROBE_ADDRESS;
		break;
	case INJECT_HANG:
		halt_forever(); /* no verdict, no exit: the host must time out */
	case INJECT_TRIPLE_FAULT:
		idt_break(); /* #UD cannot be delivered -> #DF -> triple fault (SDM Vol. 3A, 6.15) */
		__asm__ volatile("ud2");
		break;
	default:
		break;
	}
}
