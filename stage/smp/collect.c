/*
 * The boot CPU, after its own verdict: it waits for the APs (each has
 * AP_FINISH_DEADLINE_MS in all) and writes every CPU's section in CPU order,
 * an AP's records from its buffer; an AP that never joined or did not finish
 * gets the verdict unresponsive from the boot CPU, with how its section ended.
 */
#include "boot/timer.h"
#include "cpu.h"
#include "generated/contract.h"
#include "out/console.h"
#include "lib/string.h"
#include "out/report.h"
#include "smp/smp.h"
#include "smp/state.h"

#define FINISHING_GRACE_MS 100 /* an AP writing its verdict into its buffer takes microseconds */

enum status { FINISHED, UNRESPONSIVE, TIMEOUT, TRUNCATED, NOT_STARTED };
static const char *const status_names[] = {
	[FINISHED] = CPU_STATUS_FINISHED, [UNRESPONSIVE] = CPU_STATUS_UNRESPONSIVE, [TIMEOUT] = CPU_STATUS_TIMEOUT,
	[TRUNCATED] = CPU_STATUS_TRUNCATED, [NOT_STARTED] = CPU_STATUS_NOT_STARTED,
};

/* ap: the AP, when it joined (its join time, and for a timeout the step it was in). */
static void section_end(u32 index, enum status status, const struct cpu *ap)
{
	rec_start(REC_CPU);
	rec_dec(KEY_INDEX, index);
	rec_str(KEY_STATE, SECTION_END);
	rec_str(KEY_STATUS, status_names[status]);
	if (ap && ap->smp.join_tsc)
		rec_dec(KEY_JOIN_US, timer_cycles_us(ap->smp.join_tsc - smp.first_sipi));
	if (ap && status == TIMEOUT && ap->report.step)
		rec_str(KEY_STEP, ap->report.step);
	rec_finish();
}

static void unresponsive_verdict(enum status status, const char *text)
{
	rec_start(REC_VERDICT);
	rec_str(KEY_NAME, VERDICT_UNRESPONSIVE);
	rec_str(KEY_STATUS, status_names[status]);
	rec_text(text);
	rec_finish();
}

/* Wait for one AP to finish, or give up on it when the deadline has passed. */
static u32 settle(struct cpu *ap, u64 deadline)
{
	while (ap->smp.state == AP_JOINED && !timer_passed(deadline))
		__asm__ volatile("pause");
	if (ap_state_move(&ap->smp.state, AP_JOINED, AP_ABANDONED))
		ap->smp.abandoned_in = AP_JOINED;
	/* Writing its last records (memory only): a moment more, so that its section ends with its verdict. */
	u64 finishing = timer_deadline_ms(FINISHING_GRACE_MS);
	while (ap->smp.state == AP_FINISHING && !timer_passed(finishing))
		__asm__ volatile("pause");
	u32 state = ap->smp.state;
	if (state == AP_FINISHING)
		ap->smp.abandoned_in = AP_FINISHING; /* reported as a timeout, whatever it writes later */
	return state;
}

static enum status status_of(const struct cpu *ap, u32 state, u32 index)
{
	if (state == AP_DONE)
		return ap->report.overflow ? TRUNCATED : FINISHED;
	if ((state == AP_ABANDONED && ap->smp.abandoned_in == AP_JOINED) || state == AP_FINISHING)
		return TIMEOUT;
	if (state == AP_ABANDONED && smp.sipi_sent[index])
		return UNRESPONSIVE;
	return NOT_STARTED;
}

static void ap_section(u32 index, u64 deadline)
{
	struct cpu *ap = index < ap_capacity ? cpu_at(index) : NULL; /* none: it was never going to be started */
	enum status status = ap ? status_of(ap, settle(ap, deadline), index) : NOT_STARTED;
	rec_start(REC_CPU);
	rec_dec(KEY_INDEX, index);
	rec_hex32(KEY_APIC, ap_apic_ids[index]);
	rec_str(KEY_STATE, SECTION_BEGIN);
	rec_finish();
	/* What was printed decides, not what the AP says it wrote: one given up on may be writing still. */
	u32 verdicts = ap && ap->report.buffer ? report_write_buffer(&ap->report, REC_VERDICT) : 0;
	if (status == UNRESPONSIVE)
		unresponsive_verdict(status, "it did not reach the stub's code after INIT-SIPI-SIPI");
	else if (status == TIMEOUT && !verdicts)
		unresponsive_verdict(status, "it joined, but did not finish its checks in time");
	section_end(index, status, status == UNRESPONSIVE || status == NOT_STARTED ? NULL : ap);
}

void smp_end(void)
{
	if (!smp.recorded)
		return; /* the boot CPU stopped before the CPUs were counted: a report of the boot CPU alone */
	section_end(0, FINISHED, NULL);
	if (!smp.broadcast)
		smp_wait_for_joins(smp.count);
	u64 deadline = timer_deadline_ms(AP_FINISH_DEADLINE_MS);
	report_on_screen(0); /* a line per CPU there instead (smp_screen_summary): thousands of lines are not read */
	for (u32 i = 1; i < smp.count; i++)
		ap_section(i, deadline);
	report_on_screen(1);
}

static void screen_puts(const char *s)
{
	while (*s)
		screen_putc(*s++);
}

static void screen_dec(u32 v)
{
	char buf[10];
	int n = 0;
	do
		buf[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		screen_putc(buf[--n]);
}

static const char *verdict_of(u32 index)
{
	if (index >= ap_capacity)
		return "not started";
	const struct cpu *c = cpu_at(index);
	if (index && (c->smp.state != AP_DONE || c->smp.abandoned_in))
		return c->smp.abandoned_in || smp.sipi_sent[index] ? VERDICT_UNRESPONSIVE : "not started";
	return c->verdict.name ? c->verdict.name : "no verdict";
}

/* "CPU 0: vmx-ready", or "CPUs 1-7: vmx-ready" for a run of CPUs with the same verdict. */
void smp_screen_summary(void)
{
	if (!smp.recorded || smp.count < 2)
		return;
	for (u32 first = 0; first < smp.count;) {
		const char *name = verdict_of(first);
		u32 last = first;
		while (last + 1 < smp.count && word_eq(verdict_of(last + 1), strlen(verdict_of(last + 1)), name))
			last++;
		screen_puts(last > first ? "CPUs " : "CPU ");
		screen_dec(first);
		if (last > first) {
			screen_putc('-');
			screen_dec(last);
		}
		screen_puts(": ");
		screen_puts(name);
		screen_putc('\n');
		first = last + 1;
	}
}
