/*
 * The stub's GDT, TSSs and IDT (SDM Vol. 3A, 3.4.5 "Segment Descriptors", 8.2.2
 * "TSS Descriptor", 6.11 "IDT Descriptors"). One GDT for every CPU: flat code
 * and data, then two entries per CPU, its TSS and its per-CPU data segment
 * (FS: this_cpu()). A valid TR is also what VM entry needs as host state.
 */
#ifndef BOOTGEN_DESCRIPTORS_H
#define BOOTGEN_DESCRIPTORS_H

#define IDT_VECTORS 256

#ifndef __ASSEMBLER__
#include "types.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define GDT_FIRST_CPU_ENTRY 3
#define SEL_TSS(cpu_index) ((GDT_FIRST_CPU_ENTRY + 2 * (cpu_index)) << 3)
#define SEL_PERCPU(cpu_index) ((GDT_FIRST_CPU_ENTRY + 2 * (cpu_index) + 1) << 3)

struct tss32 {
	u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u32 es, cs, ss, ds, fs, gs, ldt;
	u16 trap, iomap_base;
} PACKED;

struct cpu;

/* Install the GDT and IDT and load this CPU's segments, TR and FS. */
void descriptors_init(struct cpu *cpu);
void idt_break(void); /* load an empty IDT: the next exception triple-faults */

#endif
#endif
