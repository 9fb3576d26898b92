/* Memory the APs need, found in the loader's memory map (memory.c). */
#ifndef BOOTGEN_SMP_MEMORY_H
#define BOOTGEN_SMP_MEMORY_H

#include "smp/smp.h"

/* A free page below 1 MiB for the APs' real-mode start; its address, or 0 when there is none. */
u32 low_memory_page(const struct smp_setup *setup, u32 size);

/* Free RAM above the image for `size` bytes, 4 KiB aligned, below `limit`; its address, or 0. */
u32 free_memory_above(const struct smp_setup *setup, u32 image_end, u32 size, u32 limit);

#endif
