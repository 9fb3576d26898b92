/* Ending the run: on an emulator through its exit port, on real hardware by halting with the verdict on screen. */
#ifndef BOOTGEN_POWEROFF_H
#define BOOTGEN_POWEROFF_H

#include "types.h"

/* Write the poweroff record (which way the run will end); call once, while the report is open. */
void poweroff_report(void);
NORETURN void power_off(void);

#endif
