/*
 * Test-only fault injection (inject=NAME on the command line), so that the
 * host can prove that each failure the stub claims to detect is detected and
 * reported. Names are stable (docs/failure-modes.md). The early ones act here;
 * the others are hooks that probe.c and vmcs.c consult with injecting().
 */
#include "fault.h"
#include "report.h"
#include "stub.h"
#include "x86.h"

static const struct {
	const char *name;
	enum inject value;
} injections[] = {
	{ "none", INJECT_NONE },
	{ "ud2", INJECT_UD2 },
	{ "page-fault", INJECT_PAGE_FAULT },
	{ "hang", INJECT_HANG },
	{ "triple-fault", INJECT_TRIPLE_FAULT },
	{ "bad-revision", INJECT_BAD_REVISION },
	{ "revision-bit31", INJECT_REVISION_BIT31 },
	{ "unaligned-vmxon", INJECT_UNALIGNED_VMXON },
	{ "vmxon-beyond-maxphyaddr", INJECT_VMXON_BEYOND_MAXPHYADDR },
	{ "vmxe-clear", INJECT_VMXE_CLEAR },
	{ "cr0-ne-clear", INJECT_CR0_NE_CLEAR },
	{ "lock-disabled", INJECT_LOCK_DISABLED },
	{ "vmxe-preset", INJECT_VMXE_PRESET },
	{ "double-vmxon", INJECT_DOUBLE_VMXON },
	{ "double-vmxon-vmcs", INJECT_DOUBLE_VMXON_VMCS },
	{ "bad-control", INJECT_BAD_CONTROL },
	{ "bad-host-state", INJECT_BAD_HOST_STATE },
	{ "bad-guest-state", INJECT_BAD_GUEST_STATE },
};

static enum inject active = INJECT_NONE;

enum inject inject_lookup(const char *name, size_t len, const char **canonical)
{
	for (u32 i = 0; i < sizeof(injections) / sizeof(injections[0]); i++) {
		const char *n = injections[i].name;
		if (strlen(n) == len && str_starts(name, n)) {
			*canonical = n;
			return injections[i].value;
		}
	}
	*canonical = NULL;
	return INJECT_NONE;
}

void inject_select(enum inject which) { active = which; }
int injecting(enum inject which) { return active == which && which != INJECT_NONE; }

/* The machine does not allow this injection (e.g. the firmware locked the MSR): say so, go on. */
void inject_not_applicable(const char *why)
{
	rec_start("warning");
	rec_str("what", "inject-not-applicable");
	rec_text(why);
	rec_finish();
}

void inject_early_fault(enum inject which)
{
	switch (which) {
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
