/* What struct cpu holds for starting an AP and collecting its report (smp/). */
#ifndef BOOTGEN_SMP_CPU_H
#define BOOTGEN_SMP_CPU_H

#include "smp/ap_state.h"
#include "types.h"

/*
 * An AP's life, moved on by compare-and-exchange so that the boot CPU and the
 * AP never both decide: the boot CPU sets STARTING before the SIPIs; the AP
 * moves STARTING to JOINED when it reaches the stub's code, and JOINED to DONE
 * after its verdict; the boot CPU moves STARTING or JOINED to ABANDONED when a
 * deadline passes (then an AP that arrives late parks at once).
 */
enum ap_state {
	AP_IDLE = AP_STATE_IDLE, AP_STARTING = AP_STATE_STARTING, AP_JOINED = AP_STATE_JOINED, AP_DONE = AP_STATE_DONE,
	AP_ABANDONED = AP_STATE_ABANDONED, AP_FINISHING = AP_STATE_FINISHING,
};

struct smp_cpu { /* first in struct cpu's small fields: CPU_OFFSET_AP_STATE (cpu.h) */
	volatile u32 state;    /* enum ap_state */
	u32 apic_id;
	u64 join_tsc;          /* the TSC when it joined */
	u32 abandoned_in;      /* the state it was given up in: STARTING (unresponsive), JOINED or FINISHING (timeout) */
};

static inline int ap_state_move(volatile u32 *state, u32 from, u32 to)
{
	u32 old;
	__asm__ volatile("lock cmpxchgl %2, %1" : "=a"(old), "+m"(*state) : "r"(to), "0"(from) : "memory");
	return old == from;
}

#endif
