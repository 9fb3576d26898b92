/* The local APIC (SDM Vol. 3A, 11 "Advanced Programmable Interrupt Controller"), xAPIC and x2APIC modes. */
#ifndef BOOTGEN_APIC_H
#define BOOTGEN_APIC_H

#include "types.h"

/* The physical address of the xAPIC's register page; 0, or -1 when absent, in x2APIC mode or above 4 GiB. */
int apic_xapic_registers(u32 *phys);

/* Its register page could not be mapped: from now on the xAPIC is treated as absent. */
void apic_xapic_unreachable(void);

/* Send an NMI to the running CPU (ICR, physical destination = its own APIC ID); 0, or -1 without an APIC. */
int apic_nmi_self(void);

/* The xAPIC ICR write that sends the running CPU an NMI, for code that must do it itself (the test guest). */
struct apic_nmi {
	u32 icr_low;        /* address of the ICR's low dword; the high dword is 0x10 above it */
	u32 icr_high_value; /* destination: this CPU's APIC ID */
	u32 icr_low_value;  /* delivery mode NMI, level assert */
};
int apic_xapic_nmi_self(struct apic_nmi *nmi); /* 0, or -1 when the APIC is absent, in x2APIC mode or above 4 GiB */

#endif
