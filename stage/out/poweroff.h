/* Stopping the machine once the report is written. */
#ifndef BOOTGEN_POWEROFF_H
#define BOOTGEN_POWEROFF_H

#include "types.h"

NORETURN void power_off(void);

#endif
