/*
 * Time for the SIPI delays and the APs' deadlines: the TSC, its rate measured
 * once against the PIT (8254 channel 2, 1.193182 MHz, counted down in mode 0
 * with its gate held through port 0x61, the way firmware and Linux calibrate).
 */
#ifndef BOOTGEN_TIMER_H
#define BOOTGEN_TIMER_H

#include "types.h"

/* Measure the TSC's rate; 0, or -1 when the PIT did not count (then a high rate is assumed: delays only lengthen). */
int timer_init(void);
u32 timer_tsc_khz(void);
void delay_us(u32 us);
u64 timer_deadline_ms(u32 ms);   /* the TSC value ms from now */
int timer_passed(u64 deadline);
u32 timer_cycles_us(u64 cycles); /* TSC cycles in microseconds */

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#endif
