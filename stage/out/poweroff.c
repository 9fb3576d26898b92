/*
 * Ending a run. QEMU's isa-debug-exit device exits with status (value << 1) | 1;
 * Bochs stops when "Shutdown" is written to its shutdown port (ports:
 * bootgen/contract/ports.py). On a real machine those ports may belong to a PCI
 * device or the ACPI PM block, so they are written only on an emulator found
 * first: QEMU by its fw_cfg signature ("QEMU" at selector 0, docs/specs/fw_cfg
 * in QEMU's sources), probed only when CPUID says a hypervisor is present;
 * Bochs by its port 0xE9 hack (a read returns 0xE9, which bootgen's bochsrc
 * enables). Anywhere else the CPU halts with the verdict on screen.
 */
#include "generated/contract.h"
#include "generated/registers.h"
#include "out/console.h"
#include "out/poweroff.h"
#include "out/report.h"
#include "x86.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define BOCHS_E9_PORT 0xe9

static enum { END_HALT, END_QEMU, END_BOCHS } ending = END_HALT;

static void outw(u16 port, u16 value) { __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port)); }

static int qemu_present(void)
{
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID1_ECX_HYPERVISOR))
		return 0;
	outw(FW_CFG_SELECTOR, FW_CFG_SIGNATURE);
	static const char signature[] = "QEMU";
	for (int i = 0; i < 4; i++)
		if (inb(FW_CFG_DATA) != (u8)signature[i])
			return 0;
	return 1;
}

static int bochs_present(void) { return inb(BOCHS_E9_PORT) == BOCHS_E9_PORT; }

void poweroff_report(void)
{
	const char *method = POWEROFF_HALT, *emulator = EMULATOR_NONE;
	if (qemu_present()) {
		ending = END_QEMU;
		method = POWEROFF_QEMU_DEBUG_EXIT;
		emulator = EMULATOR_QEMU;
	} else if (bochs_present()) {
		ending = END_BOCHS;
		method = POWEROFF_BOCHS_SHUTDOWN;
		emulator = EMULATOR_BOCHS;
	}
	rec_start(REC_POWEROFF);
	rec_str(KEY_METHOD, method);
	rec_str(KEY_EMULATOR, emulator);
	rec_finish();
}

NORETURN void power_off(void)
{
	serial_drain();
	if (ending == END_QEMU) {
		outl(QEMU_DEBUG_EXIT_PORT, QEMU_DEBUG_EXIT_VALUE);
	} else if (ending == END_BOCHS) {
		for (const char *s = BOCHS_SHUTDOWN_STRING; *s; s++)
			outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	}
	halt_forever();
}
