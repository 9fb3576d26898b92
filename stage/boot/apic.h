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

/* The running CPU's APIC mode and ID (the x2APIC ID in x2APIC mode). */
enum { APIC_NONE, APIC_X, APIC_X2 };
int apic_mode(void);
u32 apic_id(void);

/* xAPIC to x2APIC mode (EN = 1, EXTD 0 -> 1: SDM Vol. 3A, 11.12.5); 0, or -1 without an x2APIC. */
int apic_enable_x2apic(void);

/*
 * Interprocessor interrupts that start a CPU (SDM Vol. 3A, 9.4.4 "MP
 * Initialization Example"): INIT (assert, and the de-assert older CPUs need),
 * then a start-up IPI whose vector is the 4 KiB page below 1 MiB where the CPU
 * starts in real mode. To APIC ID `dest`, or with all_but_self to every CPU but
 * the running one. 0, or -1 when there is no APIC to send them with.
 */
int apic_send_init(u32 dest, int all_but_self);
int apic_send_sipi(u32 dest, int all_but_self, u32 page);

#endif
