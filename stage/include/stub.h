/* The run from beginning to end (main.c). */
#ifndef BOOTGEN_STUB_H
#define BOOTGEN_STUB_H

#include "types.h"

/* Write the verdict, end the report and power off: every run ends here, errors included. */
NORETURN void stub_finish(void);

#endif
