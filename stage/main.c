/*
 * stub_main: install the boot CPU's descriptors, read the configuration, open
 * the report, turn paging on, run the probe, and finish: write the verdict,
 * end the report, power off.
 */
#include "boot/apic.h"
#include "boot/cpu_setup.h"
#include "boot/descriptors.h"
#include "boot/fault.h"
#include "boot/multiboot.h"
#include "boot/multiboot2.h"
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
#include "smp/smp.h"
#include "lib/string.h"
#include "stub.h"
#include "x86.h"

#define VGA_TEXT_BUFFER 0xb8000u
#define VGA_TEXT_SIZE 0x8000u /* 0xB8000-0xBFFFF: colour text memory */
#define MBI_FLAG_MEMORY BIT(0)
#define MBI_FLAG_MMAP BIT(6)

/* The framebuffer the high-framebuffer injection pretends the loader handed over: RAM above 4 GiB (-m 4608). */
#define HIGH_FRAMEBUFFER 0x100100000ull
#define HIGH_FRAMEBUFFER_WIDTH 640
#define HIGH_FRAMEBUFFER_HEIGHT 480

extern char __image_start[], __image_end[];

struct cpu boot_cpu __attribute__((section(".bss.cpus")));

/* A multiboot2 loader's information, read into the v1 structure, and what only multiboot2 carries. */
static struct multiboot_info mb2_info;
static struct boot_extra boot_extra;

void stub_main(u32 loader_magic, const struct multiboot_info *mbi);

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

static void rec_boot(u32 loader_magic, u32 magic, const struct multiboot_info *mbi)
{
	rec_start(REC_BOOT);
	rec_hex32(KEY_MAGIC, loader_magic);
	rec_str(KEY_PROTOCOL, loader_magic == MULTIBOOT2_BOOTLOADER_MAGIC ? PROTOCOL_MULTIBOOT2 :
			      loader_magic == MULTIBOOT_BOOTLOADER_MAGIC ? PROTOCOL_MULTIBOOT1 : PROTOCOL_UNKNOWN);
	if (boot_extra.rsdp) {
		rec_hex32(KEY_RSDP, boot_extra.rsdp);
		rec_dec(KEY_RSDP_REVISION, boot_extra.rsdp_revision);
	}
	if (boot_extra.efi_systab)
		rec_hex64(KEY_EFI_SYSTAB, boot_extra.efi_systab);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC) {
		rec_hex32(KEY_MBI_FLAGS, mbi->flags);
		if (mbi->flags & MBI_FLAG_LOADER_NAME)
			rec_safe_string(KEY_LOADER, (const char *)mbi->boot_loader_name);
		if (mbi->flags & MBI_FLAG_FRAMEBUFFER)
			rec_dec(KEY_FRAMEBUFFER_TYPE, mbi->framebuffer_type);
	}
	rec_finish();
}

static const char *const cache_names[] = { [MEMTYPE_WB] = CACHE_WB, [MEMTYPE_WC] = CACHE_WC, [MEMTYPE_UC] = CACHE_UC };

/* Map one range and say where it is; 0 when it could not be mapped (a warning says so). */
static u32 map(const char *what, u64 phys, u32 size, enum memtype type, int large)
{
	struct mapping m = { .phys = phys, .size = size, .type = type, .large = large };
	if (paging_map(&m) < 0) {
		rec_start(REC_WARNING);
		rec_str(KEY_WHAT, WARN_UNMAPPED);
		rec_str(KEY_NAME, what);
		rec_hex64(KEY_PHYS, phys);
		rec_hex32(KEY_SIZE, size);
		rec_text("out of the stub's reach (beyond MAXPHYADDR, or no page table or window left): not used");
		rec_finish();
		return 0;
	}
	rec_start(REC_MAP);
	rec_str(KEY_WHAT, what);
	rec_hex64(KEY_PHYS, phys);
	rec_hex32(KEY_LINEAR, m.linear);
	rec_hex32(KEY_SIZE, size);
	rec_str(KEY_CACHE, cache_names[m.type]);
	rec_dec(KEY_PAGE, m.page_kib);
	rec_finish();
	return m.linear;
}

#define LOADER_RANGES 5

/* Where the loader's information lies (the multiboot2 block holds every tag, strings included); how many. */
static u32 loader_ranges(u32 magic, const struct multiboot_info *mbi, struct range out[LOADER_RANGES])
{
	u32 n = 0;
	if (boot_extra.info) {
		out[n++] = (struct range){ boot_extra.info, boot_extra.info_size };
	} else if (magic == MULTIBOOT_BOOTLOADER_MAGIC) {
		out[n++] = (struct range){ (u32)mbi, sizeof(*mbi) };
		if (mbi->flags & MBI_FLAG_CMDLINE)
			out[n++] = (struct range){ mbi->cmdline, strlen((const char *)mbi->cmdline) + 1 };
		if (mbi->flags & MBI_FLAG_LOADER_NAME)
			out[n++] = (struct range){ mbi->boot_loader_name, strlen((const char *)mbi->boot_loader_name) + 1 };
		if ((mbi->flags & MBI_FLAG_MMAP) && mbi->mmap_length)
			out[n++] = (struct range){ mbi->mmap_addr, mbi->mmap_length };
	}
	return n;
}

/*
 * Everything the stub touches once paging is on, and nothing else; what could
 * not be mapped is not used. Sets the framebuffer's linear address (0: none, or
 * not mapped); -1 when the image itself could not be mapped (then no paging).
 */
static int map_memory(u32 magic, const struct multiboot_info *mbi, u32 text, u32 *fb)
{
	*fb = 0;
	if (!map(MAP_IMAGE, (u32)__image_start, (u32)(__image_end - __image_start), MEMTYPE_WB, 0))
		return -1;
	struct range loader[LOADER_RANGES];
	for (u32 i = 0, n = loader_ranges(magic, mbi, loader); i < n; i++)
		map(MAP_MULTIBOOT, loader[i].start, loader[i].size, MEMTYPE_WB, 0);
	if (text && !map(MAP_VGA_TEXT, text, VGA_TEXT_SIZE, MEMTYPE_UC, 0))
		screen_init(0);
	u32 cpus_at, cpus_size;
	if (smp_ap_area(&cpus_at, &cpus_size) && !map(MAP_CPUS, cpus_at, cpus_size, MEMTYPE_WB, 0))
		smp_ap_area_unreachable();
	u32 apic;
	if (apic_xapic_registers(&apic) == 0 && !map(MAP_APIC, apic, 4096, MEMTYPE_UC, 0))
		apic_xapic_unreachable();
	if (framebuffer_phys()) {
		*fb = map(MAP_FRAMEBUFFER, framebuffer_phys(), framebuffer_size(), MEMTYPE_WC, 1);
		if (*fb != framebuffer_phys())
			framebuffer_attach(0); /* not at its own address: nothing may be drawn until paging is on */
	}
	return 0;
}

/* Map what the stub uses, turn paging on, and draw a framebuffer that only paging can reach. */
static void enable_paging(u32 magic, const struct multiboot_info *mbi, u32 text)
{
	step_begin(STEP_PAGING);
	u32 fb;
	int fault = map_memory(magic, mbi, text, &fb) < 0 ? PAGING_IMAGE_UNMAPPED : paging_enable();
	if (fault >= 0)
		rec_paging_failed(fault);
	if (fault < 0 && fb && fb != framebuffer_phys())
		framebuffer_attach(fb); /* above 4 GiB: drawn from here on, the report so far included */
	rec_pat_write(paging_pat_fault());
	rec_cr(CR_PHASE_PAGING);
	if (fault >= 0)
		step_fail();
	else
		step_ok();
}

/* A loader's framebuffer replaced by one above 4 GiB (INJECT_HIGH_FRAMEBUFFER). */
static const struct multiboot_info *with_high_framebuffer(const struct multiboot_info *mbi, u32 magic,
							     struct multiboot_info *fake)
{
	memset(fake, 0, sizeof(*fake));
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC)
		*fake = *mbi;
	fake->flags |= MBI_FLAG_FRAMEBUFFER;
	fake->framebuffer_addr = HIGH_FRAMEBUFFER;
	fake->framebuffer_width = HIGH_FRAMEBUFFER_WIDTH;
	fake->framebuffer_height = HIGH_FRAMEBUFFER_HEIGHT;
	fake->framebuffer_pitch = HIGH_FRAMEBUFFER_WIDTH * 4;
	fake->framebuffer_bpp = 32;
	fake->framebuffer_type = MB_FRAMEBUFFER_TYPE_RGB;
	fake->framebuffer_red_field_position = 16;
	fake->framebuffer_green_field_position = 8;
	fake->framebuffer_red_mask_size = fake->framebuffer_green_mask_size = fake->framebuffer_blue_mask_size = 8;
	return fake;
}

/* Said first, and again last, next to the verdict, so that it is still on a screen that has scrolled or hung. */
static void warn_serial_lost(void)
{
	if (serial_state() == SERIAL_ABSENT)
		rec_warning(WARN_SERIAL_ABSENT, "no UART answered at the serial port: the report is on this screen only");
	else if (serial_state() == SERIAL_STUCK)
		rec_warning(WARN_SERIAL_STUCK, "the UART stopped taking bytes: the rest of the report is on this screen only");
}

/* With paging off: the CPUs from the MADT, and the APs' start-up page clear of the loader's information. */
static void discover_cpus(const struct stub_config *cfg, u32 magic, const struct multiboot_info *mbi)
{
	struct range loader[LOADER_RANGES];
	struct smp_setup setup = {
		.boot_cpu_only = cfg->boot_cpu_only, .vmxon_only = cfg->vmxon_only, .rsdp = boot_extra.rsdp,
		.avoid = loader, .avoid_count = loader_ranges(magic, mbi, loader),
	};
	if (boot_extra.mmap) {
		setup.mmap = boot_extra.mmap;
		setup.mmap_size = boot_extra.mmap_size;
	} else if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MBI_FLAG_MMAP)) {
		setup.mmap = mbi->mmap_addr;
		setup.mmap_size = mbi->mmap_length;
		setup.mmap_v1 = 1;
	}
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MBI_FLAG_MEMORY))
		setup.mem_lower_kib = mbi->mem_lower, setup.mem_upper_kib = mbi->mem_upper;
	smp_discover(&setup);
}

void stub_main(u32 loader_magic, const struct multiboot_info *mbi)
{
	u32 magic = loader_magic;
	if (loader_magic == MULTIBOOT2_BOOTLOADER_MAGIC) {
		multiboot2_read((u32)mbi, &mb2_info, &boot_extra);
		mbi = &mb2_info;
		magic = MULTIBOOT_BOOTLOADER_MAGIC; /* from here on the v1 structure holds what the stub reads */
	}
	u32 loader_cr0 = read_cr0(), loader_cr3 = read_cr3(), loader_cr4 = read_cr4();
	struct cpu *cpu = &boot_cpu;
	struct stub_config cfg;

	descriptors_init(cpu);
	config_defaults(&cfg);
	config_parse(&cfg, embedded_cmdline);
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MBI_FLAG_CMDLINE))
		config_parse(&cfg, (const char *)mbi->cmdline);
	serial_init(cfg.serial_port);
	struct multiboot_info fake;
	const struct multiboot_info *screen_info = mbi;
	u32 screen_magic = magic;
	if (cfg.inject == INJECT_HIGH_FRAMEBUFFER) {
		screen_info = with_high_framebuffer(mbi, magic, &fake);
		screen_magic = MULTIBOOT_BOOTLOADER_MAGIC;
	}
	u32 text = cfg.screen ? text_screen(screen_magic, screen_info) : 0;
	screen_init(text);
	if (cfg.screen && screen_magic == MULTIBOOT_BOOTLOADER_MAGIC)
		framebuffer_init(screen_info); /* an RGB framebuffer (UEFI) instead of text mode */

	report_begin();
	rec_boot(loader_magic, magic, mbi);
	config_report(&cfg);
	warn_serial_lost();
	rec_registers(CR_PHASE_LOADER, loader_cr0, loader_cr3, loader_cr4);
	step_begin(STEP_DESCRIPTORS);
	step_ok();
	normalize_registers(loader_cr4);

	inject_select(cfg.inject, cfg.inject_cpu);
	discover_cpus(&cfg, magic, mbi);
	enable_paging(magic, mbi, text);

	if (injecting_early()) {
		step_begin(STEP_INJECT);
		inject_early_fault();
		step_ok();
	}

	smp_start();
	struct probe_input in = { .loader_cr4 = loader_cr4, .vmxon_only = cfg.vmxon_only };
	probe_run(cpu, &in);
	stub_finish();
}

NORETURN void stub_finish(void)
{
	struct cpu *cpu = this_cpu();
	if (cpu->index != 0)
		ap_finish();
	rec_nmis(cpu->host_nmis, cpu->guest_nmis);
	verdict_write();
	smp_end();
	warn_serial_lost();
	poweroff_report();
	smp_screen_summary();
	report_end();
	power_off();
}
