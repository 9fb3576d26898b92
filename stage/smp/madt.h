/*
 * Finding the logical CPUs in ACPI (ACPI 6.5, 5.2.5 "Root System Description
 * Pointer", 5.2.7/5.2.8 RSDT/XSDT, 5.2.12 "Multiple APIC Description Table"):
 * the RSDP from the loader (multiboot2) or the BIOS areas, the RSDT or XSDT, the
 * MADT, and its Processor Local APIC (type 0) and Local x2APIC (type 9)
 * entries. Read with paging off (every table is at its physical address).
 */
#ifndef BOOTGEN_MADT_H
#define BOOTGEN_MADT_H

#include "types.h"

#define MADT_FLAG_ENABLED BIT(0)
#define MADT_FLAG_ONLINE_CAPABLE BIT(1)

struct madt_processor {
	u32 apic_id;
	u32 uid;
	u32 flags;
	int x2apic;   /* a type 9 entry */
};

/* Calls found() for every processor entry, in table order; the MADT's address, or 0 (why says why not). */
u32 madt_processors(u32 rsdp_hint, void (*found)(const struct madt_processor *p, void *ctx), void *ctx,
		    const char **why);

#endif
