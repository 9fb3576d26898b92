/*
 * The boot CPU finds the logical CPUs and starts the APs (smp.h). Discovery
 * runs with paging off (the ACPI tables are read at their physical addresses,
 * and the start-up code is copied below 1 MiB); the start runs with paging on.
 * INIT-SIPI-SIPI follows SDM Vol. 3A, 9.4.4.1 "Typical BSP Initialization
 * Sequence": INIT to every AP, 10 ms, a SIPI to each, 200 us, a second SIPI
 * (ignored by a CPU that already started), 200 us; the delays are TSC waits
 * calibrated against the PIT (boot/timer.c).
 */
#include "boot/apic.h"
#include "boot/timer.h"
#include "cpu.h"
#include "generated/contract.h"
#include "lib/string.h"
#include "out/records.h"
#include "out/report.h"
#include "probe/inject.h"
#include "smp/memory.h"
#include "smp/madt.h"
#include "smp/smp.h"
#include "smp/state.h"
#include "boot/paging.h"
#include "x86.h"

extern char ap_trampoline[], ap_trampoline_end[], ap_trampoline_gdt_base[], trampoline_gdt[];
extern char __image_end[];

struct smp_state smp;
struct probe_input ap_input;
struct cpu *ap_cpus;
u32 ap_capacity = 1; /* indices below this have a struct cpu */
u32 ap_apic_ids[CPU_MAX];
u32 ap_listed;
u32 ap_broadcast;
volatile u32 ap_next_index = 1;

static void rec_processor(u32 apic, const char *kind, u32 uid, u32 flags, int usable, u32 index)
{
	rec_start(REC_PROCESSOR);
	rec_hex32(KEY_APIC, apic);
	rec_str(KEY_KIND, kind);
	rec_dec(KEY_UID, uid);
	rec_hex32(KEY_FLAGS, flags);
	rec_str(KEY_USABLE, usable ? ANSWER_YES : ANSWER_NO);
	if (usable)
		rec_dec(KEY_INDEX, index);
	rec_finish();
}

static int listed_already(u32 apic)
{
	for (u32 i = 0; i < smp.count; i++)
		if (ap_apic_ids[i] == apic)
			return 1;
	return 0;
}

/* One MADT processor entry: the boot CPU keeps index 0; every other enabled one gets the next index. */
static void found(const struct madt_processor *p, void *ctx)
{
	(void)ctx;
	static int boot_cpu_listed;
	smp.listed++;
	int usable = (p->flags & MADT_FLAG_ENABLED) != 0;
	u32 index = 0;
	if (usable && p->apic_id == smp.boot_apic_id) {
		/* Firmware may list a CPU twice (a local APIC and a local x2APIC entry): its first entry counts. */
		usable = !boot_cpu_listed;
		boot_cpu_listed = 1;
	} else if (usable) {
		if (listed_already(p->apic_id)) {
			usable = 0;
		} else if (smp.count >= CPU_MAX || (smp.apic_mode == APIC_X && p->apic_id > 254)) {
			/* Past the stub's limit, or an ID an 8-bit xAPIC destination cannot name (SDM Vol. 3A,
			 * 11.6.2.1): listed, not checked, and a warning says so. */
			usable = 0;
			smp.beyond_limit++;
		} else {
			index = smp.count++;
			ap_apic_ids[index] = p->apic_id;
		}
	}
	rec_processor(p->apic_id, p->x2apic ? PROCESSOR_X2APIC : PROCESSOR_LAPIC, p->uid, p->flags, usable, index);
}

static void copy_trampoline(u32 page)
{
	u32 size = (u32)(ap_trampoline_end - ap_trampoline);
	memcpy((void *)page, ap_trampoline, size);
	u32 *gdt_base = (u32 *)(page + (u32)(ap_trampoline_gdt_base - ap_trampoline));
	*gdt_base = page + (u32)(trampoline_gdt - ap_trampoline);
}

/*
 * The APs' structures in free RAM above the image, zeroed (paging is off: at
 * their physical addresses): one per listed AP, or, for a broadcast, as many of
 * CPU_MAX - 1 as fit. 0 when there is no room (then no AP is started).
 */
static int place_ap_cpus(const struct smp_setup *setup)
{
	u32 want = smp.broadcast ? CPU_MAX - 1 : smp.count - 1;
	for (u32 n = want; n; n = smp.broadcast ? n / 2 : 0) {
		u32 at = free_memory_above(setup, (u32)__image_end, n * CPU_SIZE, UNMAPPED_REGION_START);
		if (at) {
			memset((void *)at, 0, n * CPU_SIZE);
			ap_cpus = (struct cpu *)at;
			ap_capacity = n + 1;
			return 1;
		}
	}
	smp.why = "no free memory above the image for the APs' structures: the APs are not started";
	return 0;
}

int smp_ap_area(u32 *at, u32 *size)
{
	*at = (u32)ap_cpus;
	*size = (ap_capacity - 1) * CPU_SIZE;
	return ap_cpus != NULL;
}

void smp_ap_area_unreachable(void)
{
	smp.page = 0;
	ap_cpus = NULL; /* no AP has a structure the boot CPU may look at */
	ap_capacity = 1;
	smp.why = "the APs' structures could not be mapped: the APs are not started";
}

void smp_discover(const struct smp_setup *setup)
{
	step_begin(STEP_CPU_DISCOVERY);
	if (injecting(INJECT_X2APIC) && apic_enable_x2apic() < 0)
		inject_not_applicable("this CPU has no x2APIC to switch to");
	smp.apic_mode = apic_mode();
	smp.boot_apic_id = apic_id();
	ap_apic_ids[0] = smp.boot_apic_id;
	smp.count = 1;
	smp.source = CPU_SOURCE_BOOT_ONLY;
	ap_input.vmxon_only = setup->vmxon_only;
	if (setup->boot_cpu_only) {
		smp.why = "cpus=bsp: the boot CPU only";
	} else if (smp.apic_mode == APIC_NONE) {
		smp.why = "no local APIC (or it is disabled): no other CPU can be started";
	} else {
		smp.madt = madt_processors(setup->rsdp, found, NULL, &smp.why);
		smp.source = smp.madt ? CPU_SOURCE_MADT : CPU_SOURCE_BROADCAST;
		smp.broadcast = !smp.madt;
		if (smp.beyond_limit)
			rec_warning(WARN_CPU_LIMIT, "the MADT lists CPUs the stub cannot check (beyond its limit, or x2APIC "
						    "IDs that xAPIC mode cannot address): they are listed only");
		if ((smp.count > 1 || smp.broadcast) && place_ap_cpus(setup)) {
			smp.page = low_memory_page(setup, (u32)(ap_trampoline_end - ap_trampoline));
			if (smp.page) {
				copy_trampoline(smp.page);
				smp.timed = 1; /* the SIPI delays and the deadlines need the TSC's rate */
				if (timer_init() < 0)
					rec_warning(WARN_NO_TIMER, "the PIT did not count (or there is no TSC): the SIPI "
								   "delays assume a 5 GHz TSC");
			} else
				smp.why = "no free page below 1 MiB for the APs' start-up code: the APs are not started";
		}
	}
	ap_listed = smp.count;
	ap_broadcast = smp.broadcast && smp.page;
	step_ok();
}

static void rec_cpus(void)
{
	rec_start(REC_CPUS);
	rec_str(KEY_SOURCE, smp.source);
	rec_dec(KEY_COUNT, smp.count);
	rec_dec(KEY_LISTED, smp.listed);
	rec_str(KEY_APIC_MODE, smp.apic_mode == APIC_X2 ? APIC_MODE_X2APIC : smp.apic_mode == APIC_X ? APIC_MODE_XAPIC
												     : APIC_MODE_NONE);
	rec_hex32(KEY_APIC, smp.boot_apic_id);
	if (smp.madt)
		rec_hex32(KEY_MADT, smp.madt);
	if (smp.page)
		rec_hex32(KEY_ADDRESS, smp.page);
	rec_str(KEY_RUN, smp.count > 1 ? CPU_RUN_CONCURRENT : CPU_RUN_BOOT_ONLY);
	if (smp.timed)
		rec_dec(KEY_TSC_KHZ, timer_tsc_khz());
	if (smp.why && (!smp.madt || !smp.page))
		rec_text(smp.why);
	rec_finish();
	smp.recorded = 1;
}

static void send_sipis(u32 last)
{
	for (u32 i = 1; i < last; i++)
		if (smp.sipi_sent[i] && !inject_targets(INJECT_AP_NO_SIPI, i)) /* injected: an AP that never answers */
			smp.sipi_sent[i] = apic_send_sipi(ap_apic_ids[i], 0, smp.page) == 0;
	delay_us(SIPI_DELAY_US);
}

/*
 * Wait until every started AP joined or the join deadline (from the last SIPI)
 * passed; then give up on the rest (they park if they come). A broadcast cannot
 * know how many will come: it waits the whole deadline. Listed APs are waited
 * for by smp_end, after the boot CPU's own checks, which run meanwhile.
 */
void smp_wait_for_joins(u32 last)
{
	if (last > ap_capacity)
		last = ap_capacity; /* CPUs without a structure were never started */
	for (u32 i = 1; i < last; i++)
		while (!smp.broadcast && cpu_at(i)->smp.state == AP_STARTING && !timer_passed(smp.join_deadline))
			__asm__ volatile("pause");
	while (smp.broadcast && !timer_passed(smp.join_deadline))
		__asm__ volatile("pause");
	for (u32 i = 1; i < ap_capacity; i++)
		if (ap_state_move(&cpu_at(i)->smp.state, AP_STARTING, AP_ABANDONED))
			cpu_at(i)->smp.abandoned_in = AP_STARTING;
}

static void start_broadcast(void)
{
	for (u32 i = 1; i < ap_capacity; i++)
		cpu_at(i)->smp.state = AP_STARTING;
	__asm__ volatile("" ::: "memory");
	if (apic_send_init(0, 1) == 0) {
		delay_us(INIT_DELAY_US);
		smp.first_sipi = rdtsc();
		for (int n = 0; n < 2; n++) {
			apic_send_sipi(0, 1, smp.page);
			delay_us(SIPI_DELAY_US);
		}
	}
	smp.join_deadline = timer_deadline_ms(AP_JOIN_DEADLINE_MS);
	smp_wait_for_joins(ap_capacity);
	u32 came = ap_next_index;
	u32 answered = came < ap_capacity ? came : ap_capacity;
	smp.count = answered;
	if (came > ap_capacity) { /* they parked in the start-up code: counted, not checked */
		smp.beyond_limit = came - ap_capacity;
		rec_warning(WARN_CPU_LIMIT, "more CPUs answered the broadcast than the stub had room to check: "
					    "the rest were parked unchecked");
	}
	for (u32 i = 1; i < answered; i++) {
		smp.sipi_sent[i] = 1;
		rec_processor(ap_apic_ids[i], PROCESSOR_ANSWERED, 0, 0, 1, i);
	}
}

static void start_listed(void)
{
	for (u32 i = 1; i < smp.count; i++) {
		cpu_at(i)->smp.state = AP_STARTING;
		cpu_at(i)->smp.apic_id = ap_apic_ids[i];
	}
	__asm__ volatile("" ::: "memory");
	for (u32 i = 1; i < smp.count; i++)
		smp.sipi_sent[i] = apic_send_init(ap_apic_ids[i], 0) == 0;
	delay_us(INIT_DELAY_US);
	smp.first_sipi = rdtsc();
	send_sipis(smp.count);
	send_sipis(smp.count);
	smp.join_deadline = timer_deadline_ms(AP_JOIN_DEADLINE_MS);
}

void smp_start(void)
{
	if (smp.page) {
		step_begin(STEP_AP_START);
		if (smp.broadcast)
			start_broadcast();
		else
			start_listed();
		step_ok();
	}
	rec_cpus();
	rec_start(REC_CPU);
	rec_dec(KEY_INDEX, 0);
	rec_hex32(KEY_APIC, smp.boot_apic_id);
	rec_str(KEY_STATE, SECTION_BEGIN);
	rec_finish();
}
