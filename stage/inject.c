/*
 * Test-only fault injection (inject=NAME on the command line), so that the
 * host can prove each failure is detected and reported. Names are stable.
 */
#include "fault.h"
#include "report.h"
#include "stub.h"
#include "x86.h"

void inject_fault(enum inject which)
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
	case INJECT_NONE:
		break;
	}
}
