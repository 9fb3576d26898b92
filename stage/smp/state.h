/* What the boot CPU's discovery, start and collection share (smp/ internal). */
#ifndef BOOTGEN_SMP_STATE_H
#define BOOTGEN_SMP_STATE_H

#include "probe/probe.h"
#include "types.h"

struct smp_state {
	const char *source;     /* CPU_SOURCE_* */
	const char *why;        /* why the MADT was not used, or why no AP is started */
	u32 madt;
	u32 listed;             /* processor entries in the MADT */
	u32 beyond_limit;       /* enabled ones not checked: past CPU_MAX or the room, or xAPIC-unaddressable */
	u32 count;              /* CPUs with a section, the boot CPU included */
	int broadcast;
	u32 page;               /* the APs' start-up page; 0: none */
	int apic_mode;
	u32 boot_apic_id;
	int recorded;           /* the cpus record is written: sections follow */
	int timed;              /* the TSC was calibrated (only when APs are to be started: it takes 10 ms) */
	u64 first_sipi;         /* the TSC at the first SIPI */
	u64 join_deadline;      /* the TSC by which every AP must have joined */
	u8 sipi_sent[CPU_MAX];  /* the IPIs to that CPU went out */
};

extern struct smp_state smp;

void smp_wait_for_joins(u32 last);
extern struct probe_input ap_input;

/* Read by ap_entry32 (trampoline.S): the APIC ID of each index, how many are listed, broadcast mode. */
extern u32 ap_apic_ids[CPU_MAX];
extern u32 ap_listed;
extern u32 ap_broadcast;
extern u32 ap_capacity;
extern volatile u32 ap_next_index;

#endif
