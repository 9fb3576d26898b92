/*
 * Ending a run: close the report, then ask the emulator to stop. QEMU's
 * isa-debug-exit device (iobase 0xf4) exits with status (value << 1) | 1;
 * Bochs stops when "Shutdown" is written to port 0x8900. On a real machine
 * neither port does anything and the CPU halts with the report on screen.
 */
#include "console.h"
#include "report.h"
#include "stub.h"
#include "x86.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4
#define QEMU_DEBUG_EXIT_VALUE 0x1 /* QEMU exit status 3: never 0 or 1, which QEMU uses itself */
#define BOCHS_SHUTDOWN_PORT 0x8900

NORETURN void stub_exit(void)
{
	report_end();
	serial_drain();
	outl(QEMU_DEBUG_EXIT_PORT, QEMU_DEBUG_EXIT_VALUE);
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	halt_forever();
}
