/* The TSC calibrated against the PIT; see timer.h. */
#include "boot/timer.h"
#include "x86.h"

#define PIT_HZ 1193182u
#define PIT_CHANNEL2 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_LOHI_MODE0 0xb0 /* channel 2, low then high byte, mode 0 (interrupt on terminal count), binary */
#define PORT_B 0x61             /* bit 0: channel 2 gate, bit 1: speaker data, bit 5: channel 2 output */
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
#define CALIBRATION_MS 10
/* Reads of port 0x61 before the PIT counts as broken: about a microsecond each on a PC, far more than 10 ms. */
#define CALIBRATION_READS 4000000u
/* Fewer reads than this in 10 ms is an edge that was not the count's end (Linux's pit_calibrate_tsc asks
 * 1000; a read under nested virtualization can take tens of microseconds, so fewer are asked here). */
#define MIN_CALIBRATION_READS 100u
#define MIN_TSC_KHZ 100u /* slower than this is no TSC worth timing with (Bochs's counts 1 MHz) */
#define ASSUMED_TSC_KHZ 5000000u /* no PIT: 5 GHz, faster than any TSC, so every delay is at least as long */

static u32 tsc_khz = ASSUMED_TSC_KHZ;

int timer_init(void)
{
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID1_EDX_TSC))
		return -1;
	u8 b = inb(PORT_B);
	outb(PORT_B, (u8)((b & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	u32 count = PIT_HZ / (1000 / CALIBRATION_MS);
	outb(PIT_COMMAND, PIT_CH2_LOHI_MODE0);
	outb(PIT_CHANNEL2, (u8)count);
	outb(PIT_CHANNEL2, (u8)(count >> 8));
	u64 start = rdtsc();
	u32 reads = 0;
	/* Mode 0 drives OUT2 low until the count runs out (8254 data sheet): high at once is no PIT at all. */
	if (inb(PORT_B) & PORT_B_OUT2)
		reads = CALIBRATION_READS;
	while (reads < CALIBRATION_READS && !(inb(PORT_B) & PORT_B_OUT2))
		reads++;
	u64 cycles = rdtsc() - start;
	outb(PORT_B, b);
	if (reads >= CALIBRATION_READS || reads < MIN_CALIBRATION_READS || (cycles >> 32) ||
	    cycles < CALIBRATION_MS * MIN_TSC_KHZ)
		return -1;
	tsc_khz = (u32)cycles / CALIBRATION_MS;
	return 0;
}

u32 timer_tsc_khz(void) { return tsc_khz; }

u64 timer_deadline_ms(u32 ms) { return rdtsc() + (u64)ms * tsc_khz; }

int timer_passed(u64 deadline) { return (s64)(rdtsc() - deadline) >= 0; }

/* us * tsc_khz / 1000 without a 64-bit division (us below 4 million). */
static u64 us_cycles(u32 us)
{
	return (u64)us * (tsc_khz / 1000) + us * (tsc_khz % 1000) / 1000 + 1;
}

void delay_us(u32 us)
{
	u64 end = rdtsc() + us_cycles(us);
	while (!timer_passed(end))
		__asm__ volatile("pause");
}

u32 timer_cycles_us(u64 cycles)
{
	if (cycles >> 32)
		return ~0u; /* over a second at 4 GHz: past any deadline the stub keeps */
	u32 c = (u32)cycles;
	return c < ~0u / 1000 ? c * 1000 / tsc_khz : c / tsc_khz * 1000;
}
