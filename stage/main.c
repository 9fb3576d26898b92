/*
 * stub_main: install the boot CPU's descriptors, read the configuration, open
 * the report, turn paging on, run the probe, and finish: write the verdict,
 * end the report, power off.
 */
#include "boot/descriptors.h"
#include "boot/fault.h"
#include "boot/multiboot.h"
#include "boot/paging.h"
#include "cpu.h"
#include "generated/contract.h"
#include "generated/msr.h"
#include "out/console.h"
#include "out/framebuffer.h"
#include "out/poweroff.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/config.h"
#include "probe/inject.h"
#include "probe/probe.h"
#include "probe/verdict.h"
#include "stub.h"
#include "x86.h"

#define VGA_TEXT_BUFFER 0xb8000u

struct cpu cpus[CPU_MAX] __attribute__((section(".bss.cpus")));

void stub_main(u32 magic, const struct multiboot_info *mbi);

/*
 * Where the text screen is: the loader's framebuffer info when it gives one
 * (EGA text only; a graphics framebuffer means no text mode, e.g. UEFI, and
 * framebuffer_init takes it); otherwise assume a legacy BIOS machine with VGA
 * text at 0xB8000.
 */
static u32 text_screen(u32 magic, const struct multiboot_info *mbi)
{
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !(mbi->flags & MBI_FLAG_FRAMEBUFFER))
		return VGA_TEXT_BUFFER;
	if (mbi->framebuffer_type == MB_FRAMEBUFFER_TYPE_EGA_TEXT && mbi->framebuffer_addr < 0x100000000ull)
		return (u32)mbi->framebuffer_addr;
	return 0;
}

static void rec_safe_string(const char *key, const char *s)
{
	char buf[64];
	u32 n = 0;
	for (; s[n] && n < sizeof(buf) - 1; n++)
		buf[n] = (s[n] > ' ' && s[n] < 127) ? s[n] : '_';
	buf[n] = 0;
	rec_str(key, n ? buf : "_");
}

static void rec_boot(u32 magic, const struct multiboot_info *mbi)
{
	rec_start(REC_BOOT);
	rec_hex32(KEY_MAGIC, magic);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC) {
		rec_hex32(KEY_MBI_FLAGS, mbi->flags);
		if (mbi->flags & MBI_FLAG_LOADER_NAME)
			rec_safe_string(KEY_LOADER, (const char *)mbi->boot_loader_name);
		if (mbi->flags & MBI_FLAG_FRAMEBUFFER)
			rec_dec(KEY_FRAMEBUFFER_TYPE, mbi->framebuffer_type);
	}
	rec_finish();
}

static void rec_registers(const char *phase, u32 cr0, u32 cr3, u32 cr4)
{
	rec_start(REC_CR);
	rec_str(KEY_PHASE, phase);
	rec_hex32(KEY_CR0, cr0);
	rec_hex32(KEY_CR3, cr3);
	rec_hex32(KEY_CR4, cr4);
	u64 efer;
	if (rdmsr_safe(IA32_EFER, &efer) < 0)
		rec_hex64(KEY_EFER, efer);
	rec_finish();
}

/*
 * What the stub needs, not what the loader left: CR4 holds PAE (set with paging)
 * and MCE (so that a machine check is reported, not a shutdown; SDM Vol. 3B,
 * 15.10.1), and no inherited bits such as PGE, OSXSAVE, SMEP, SMAP, PKE or CET.
 * VMXE and SMXE stay as found: another VMM's VMX operation, or SMX, forbids
 * clearing them (SDM Vol. 3C, 24.8), and the checks report them. EFER.LME is
 * cleared before CR0.PG is set: with it, setting PG would enter IA-32e mode,
 * and a 32-bit host with LME fails VM entry's host address-space checks (SDM
 * Vol. 3C, 27.2.4).
 */
static void normalize_registers(u32 loader_cr4)
{
	u32 cr4 = loader_cr4 & (CR4_VMXE | CR4_SMXE);
	if (cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID1_EDX_MCE)
		cr4 |= CR4_MCE;
	if (write_cr4_safe(cr4) >= 0)
		write_cr4_safe(loader_cr4 & (CR4_VMXE | CR4_SMXE));
	u64 efer;
	if (rdmsr_safe(IA32_EFER, &efer) < 0 && (efer & EFER_LME))
		wrmsr_safe(IA32_EFER, efer & ~EFER_LME);
	rec_registers(CR_PHASE_NORMALIZED, read_cr0(), read_cr3(), read_cr4());
}

static void rec_nmis(const struct cpu *cpu)
{
	if (!cpu->host_nmis && !cpu->guest_nmis)
		return;
	rec_start(REC_NMI);
	rec_dec(KEY_HOST, cpu->host_nmis);
	rec_dec(KEY_GUEST, cpu->guest_nmis);
	rec_finish();
}

static void enable_paging(void)
{
	step_begin(STEP_PAGING);
	int fault = paging_enable();
	if (fault >= 0) {
		rec_start(REC_CHECK);
		rec_str(KEY_NAME, CHECK_PAGING);
		rec_str(KEY_RESULT, RESULT_FAIL);
		if (fault == PAGING_NO_PAE) {
			rec_text("the CPU has no PAE; continuing without paging");
		} else {
			rec_dec(KEY_VECTOR, (u32)fault);
			rec_text("enabling paging raised an exception; continuing without it");
		}
		rec_finish();
	}
	rec_cr(CR_PHASE_PAGING);
	if (fault >= 0)
		step_fail();
	else
		step_ok();
}

void stub_main(u32 magic, const struct multiboot_info *mbi)
{
	u32 loader_cr0 = read_cr0(), loader_cr3 = read_cr3(), loader_cr4 = read_cr4();
	struct cpu *boot_cpu = &cpus[0];
	struct stub_config cfg;

	descriptors_init(boot_cpu);
	config_defaults(&cfg);
	config_parse(&cfg, embedded_cmdline);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MBI_FLAG_CMDLINE))
		config_parse(&cfg, (const char *)mbi->cmdline);
	serial_init(cfg.serial_port);
	screen_init(cfg.screen ? text_screen(magic, mbi) : 0);
	if (cfg.screen && magic == MULTIBOOT_BOOTLOADER_MAGIC)
		framebuffer_init(mbi); /* an RGB framebuffer (UEFI) instead of text mode */

	report_begin();
	rec_boot(magic, mbi);
	config_report(&cfg);
	rec_registers(CR_PHASE_LOADER, loader_cr0, loader_cr3, loader_cr4);
	step_begin(STEP_DESCRIPTORS);
	step_ok();
	normalize_registers(loader_cr4);

	enable_paging();

	inject_select(cfg.inject);
	if (injecting_early()) {
		step_begin(STEP_INJECT);
		inject_early_fault();
		step_ok();
	}

	struct probe_input in = { .loader_cr4 = loader_cr4, .vmxon_only = cfg.vmxon_only };
	probe_run(boot_cpu, &in);
	stub_finish();
}

/* Said last, next to the verdict, so that it is still on a screen that has scrolled. */
static void warn_serial_lost(void)
{
	if (serial_state() == SERIAL_ABSENT)
		rec_warning(WARN_SERIAL_ABSENT, "no UART answered at the serial port: the report is on this screen only");
	else if (serial_state() == SERIAL_STUCK)
		rec_warning(WARN_SERIAL_ABSENT, "the UART stopped taking bytes: the rest of the report is on this screen only");
}

NORETURN void stub_finish(void)
{
	rec_nmis(this_cpu());
	warn_serial_lost();
	poweroff_report();
	verdict_write();
	report_end();
	power_off();
}
