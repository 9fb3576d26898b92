/*
 * stub_main: install our descriptors, read the configuration, open the
 * report, turn paging on, run the VT-x probe, end the report and exit.
 */
#include "console.h"
#include "fault.h"
#include "framebuffer.h"
#include "report.h"
#include "stub.h"
#include "msr.h"
#include "x86.h"

void config_report_unknown(void);
void stub_main(u32 magic, const struct multiboot_info *mbi);

#define VGA_TEXT_BUFFER 0xb8000u

/*
 * Where the text screen is: the loader's framebuffer info when it gives one
 * (EGA text only; a graphics framebuffer means no text mode, e.g. UEFI, and
 * framebuffer_init takes it);
 * otherwise assume a legacy BIOS machine with VGA text at 0xB8000.
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

static void rec_boot(u32 magic, const struct multiboot_info *mbi, const struct stub_config *cfg)
{
	int multiboot = magic == MULTIBOOT_BOOTLOADER_MAGIC;
	rec_start("boot");
	rec_hex32("magic", magic);
	if (multiboot) {
		rec_hex32("mbi_flags", mbi->flags);
		if (mbi->flags & MBI_FLAG_LOADER_NAME)
			rec_safe_string("loader", (const char *)mbi->boot_loader_name);
		if (mbi->flags & MBI_FLAG_FRAMEBUFFER)
			rec_dec("framebuffer_type", mbi->framebuffer_type);
	}
	rec_finish();

	rec_start("config");
	rec_hex32("serial", cfg->serial_port);
	rec_str("screen", cfg->screen ? "on" : "off");
	rec_str("inject", cfg->inject_name);
	rec_str("mode", cfg->vmxon_only ? "vmxon" : "full");
	rec_finish();
	config_report_unknown();
}

void stub_main(u32 magic, const struct multiboot_info *mbi)
{
	u32 loader_cr0 = read_cr0(), loader_cr3 = read_cr3(), loader_cr4 = read_cr4();
	struct stub_config cfg = { .serial_port = 0x3f8, .screen = 1, .inject = INJECT_NONE, .inject_name = "none" };

	descriptors_init();
	config_parse(&cfg, embedded_cmdline);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MBI_FLAG_CMDLINE))
		config_parse(&cfg, (const char *)mbi->cmdline);
	serial_init(cfg.serial_port);
	screen_init(cfg.screen ? text_screen(magic, mbi) : 0);
	if (cfg.screen && magic == MULTIBOOT_BOOTLOADER_MAGIC)
		framebuffer_init(mbi); /* an RGB framebuffer (UEFI) instead of text mode */

	report_begin();
	rec_boot(magic, mbi, &cfg);
	rec_start("cr");
	rec_str("phase", "loader");
	rec_hex32("cr0", loader_cr0);
	rec_hex32("cr3", loader_cr3);
	rec_hex32("cr4", loader_cr4);
	u64 efer;
	if (rdmsr_safe(IA32_EFER, &efer) < 0)
		rec_hex64("efer", efer);
	rec_finish();
	step_begin("descriptors");
	step_ok();

	step_begin("paging");
	int paging_fault = paging_enable();
	if (paging_fault >= 0) {
		rec_start("check");
		rec_str("name", "paging");
		rec_str("result", "fail");
		if (paging_fault == PAGING_NO_PAE) {
			rec_text("the CPU has no PAE; continuing without paging");
		} else {
			rec_dec("vector", (u32)paging_fault);
			rec_text("enabling paging raised an exception; continuing without it");
		}
		rec_finish();
	}
	rec_start("cr");
	rec_str("phase", "paging");
	rec_hex32("cr0", read_cr0());
	rec_hex32("cr3", read_cr3());
	rec_hex32("cr4", read_cr4());
	rec_finish();
	if (paging_fault >= 0)
		step_fail();
	else
		step_ok();

	inject_select(cfg.inject);
	if (cfg.inject == INJECT_UD2 || cfg.inject == INJECT_PAGE_FAULT || cfg.inject == INJECT_HANG ||
	    cfg.inject == INJECT_TRIPLE_FAULT) {
		step_begin("inject");
		inject_early_fault(cfg.inject);
		step_ok();
	}

	vmx_probe_run(loader_cr4, cfg.vmxon_only);
	stub_exit();
}
