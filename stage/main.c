/*
 * stub_main: install the boot CPU's descriptors, read the configuration, open
 * the report, turn paging on, run the probe, and finish: write the verdict,
 * end the report, power off.
 */
#include "boot/apic.h"
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
#include "lib/string.h"
#include "stub.h"
#include "x86.h"

#define VGA_TEXT_BUFFER 0xb8000u
#define VGA_TEXT_SIZE 0x8000u /* 0xB8000-0xBFFFF: colour text memory */
#define MBI_FLAG_MMAP BIT(6)

/* The framebuffer the high-framebuffer injection pretends the loader handed over: RAM above 4 GiB (-m 4608). */
#define HIGH_FRAMEBUFFER 0x100100000ull
#define HIGH_FRAMEBUFFER_WIDTH 640
#define HIGH_FRAMEBUFFER_HEIGHT 480

extern char __image_start[], __image_end[];

struct cpu cpus[CPU_MAX] __attribute__((section(".bss.cpus")));

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

static void map_string(u32 address)
{
	map(MAP_MULTIBOOT, address, strlen((const char *)address) + 1, MEMTYPE_WB, 0);
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
	if (boot_extra.info) {
		map(MAP_MULTIBOOT, boot_extra.info, boot_extra.info_size, MEMTYPE_WB, 0); /* every tag, strings included */
	} else if (magic == MULTIBOOT_BOOTLOADER_MAGIC) {
		map(MAP_MULTIBOOT, (u32)mbi, sizeof(*mbi), MEMTYPE_WB, 0);
		if (mbi->flags & MBI_FLAG_CMDLINE)
			map_string(mbi->cmdline);
		if (mbi->flags & MBI_FLAG_LOADER_NAME)
			map_string(mbi->boot_loader_name);
		if ((mbi->flags & MBI_FLAG_MMAP) && mbi->mmap_length)
			map(MAP_MULTIBOOT, mbi->mmap_addr, mbi->mmap_length, MEMTYPE_WB, 0);
	}
	if (text && !map(MAP_VGA_TEXT, text, VGA_TEXT_SIZE, MEMTYPE_UC, 0))
		screen_init(0);
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

static void rec_pat(void)
{
	int fault = paging_pat_fault();
	if (fault != -2)
		rec_msr_write(IA32_PAT, PAGING_PAT_VALUE, fault);
}

/* Map what the stub uses, turn paging on, and draw a framebuffer that only paging can reach. */
static void enable_paging(u32 magic, const struct multiboot_info *mbi, u32 text)
{
	step_begin(STEP_PAGING);
	u32 fb;
	int fault = map_memory(magic, mbi, text, &fb) < 0 ? PAGING_IMAGE_UNMAPPED : paging_enable();
	if (fault >= 0) {
		rec_start(REC_CHECK);
		rec_str(KEY_NAME, CHECK_PAGING);
		rec_str(KEY_RESULT, RESULT_FAIL);
		if (fault == PAGING_NO_PAE) {
			rec_text("the CPU has no PAE; continuing without paging");
		} else if (fault == PAGING_IMAGE_UNMAPPED) {
			rec_text("the stub's own image could not be mapped; continuing without paging");
		} else {
			rec_dec(KEY_VECTOR, (u32)fault);
			rec_text("enabling paging raised an exception; continuing without it");
		}
		rec_finish();
	}
	if (fault < 0 && fb && fb != framebuffer_phys())
		framebuffer_attach(fb); /* above 4 GiB: drawn from here on, the report so far included */
	rec_pat();
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

void stub_main(u32 loader_magic, const struct multiboot_info *mbi)
{
	u32 magic = loader_magic;
	if (loader_magic == MULTIBOOT2_BOOTLOADER_MAGIC) {
		multiboot2_read((u32)mbi, &mb2_info, &boot_extra);
		mbi = &mb2_info;
		magic = MULTIBOOT_BOOTLOADER_MAGIC; /* from here on the v1 structure holds what the stub reads */
	}
	u32 loader_cr0 = read_cr0(), loader_cr3 = read_cr3(), loader_cr4 = read_cr4();
	struct cpu *boot_cpu = &cpus[0];
	struct stub_config cfg;

	descriptors_init(boot_cpu);
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

	enable_paging(magic, mbi, text);

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

NORETURN void stub_finish(void)
{
	rec_nmis(this_cpu());
	warn_serial_lost();
	poweroff_report();
	verdict_write();
	report_end();
	power_off();
}
