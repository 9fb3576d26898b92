/* An AP's states as numbers, for C (smp_cpu.h's enum ap_state) and for the AP's entry (trampoline.S), which
 * claims its structure by moving STARTING to JOINED before it touches it. */
#ifndef BOOTGEN_AP_STATE_H
#define BOOTGEN_AP_STATE_H

#define AP_STATE_IDLE 0
#define AP_STATE_STARTING 1
#define AP_STATE_JOINED 2
#define AP_STATE_DONE 3
#define AP_STATE_ABANDONED 4
#define AP_STATE_FINISHING 5 /* writing its last records: the boot CPU waits for those instead of abandoning it */

#endif
