/*
 * Powering off at the end of a run: QEMU's isa-debug-exit device exits with
 * status (value << 1) | 1; Bochs stops when "Shutdown" is written to its
 * shutdown port (ports: bootgen/contract/ports.py). On a real machine neither
 * port does anything and the CPU halts with the report on screen.
 */
#include "generated/contract.h"
#include "out/console.h"
#include "out/poweroff.h"
#include "x86.h"

NORETURN void power_off(void)
{
	serial_drain();
	outl(QEMU_DEBUG_EXIT_PORT, QEMU_DEBUG_EXIT_VALUE);
	for (const char *s = BOCHS_SHUTDOWN_STRING; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	halt_forever();
}
