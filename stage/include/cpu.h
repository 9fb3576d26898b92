/*
 * The per-CPU structure: everything that belongs to one logical processor
 * (SimpleVisor keeps one such structure per processor too). IA32_FEATURE_CONTROL,
 * CR4.VMXE and VMX operation are per logical processor (SDM Vol. 3C, 24.7), so
 * each CPU gets its own stacks, TSS, fault catcher, VMXON and VMCS regions,
 * exit records, report cursor and buffer, and verdict. The boot CPU's is
 * static (boot_cpu, index 0); the APs' lie in free memory above the image, in
 * the order the MADT lists them (smp/), as many as there are APs.
 *
 * this_cpu() reads the structure's self pointer through FS: each CPU's FS
 * selects a GDT data segment whose base is its own structure (descriptors.c),
 * and every VM exit restores FS from the VMCS host-state area (vmcs.c).
 */
#ifndef BOOTGEN_CPU_H
#define BOOTGEN_CPU_H

#include "generated/contract.h" /* CPU_MAX, AP_REPORT_BUFFER */

#define CPU_STACK_SIZE 16384
#define CPU_EXIT_STACK_SIZE 8192
#define CPU_GUEST_STACK_SIZE 4096
#define CPU_REGION_SIZE 4096

/* Offsets the assembly files use (checked below). */
#define CPU_OFFSET_STACK (2 * CPU_REGION_SIZE)
#define CPU_OFFSET_STACK_TOP (CPU_OFFSET_STACK + CPU_STACK_SIZE)
#define CPU_OFFSET_SELF (CPU_OFFSET_STACK_TOP + CPU_EXIT_STACK_SIZE + CPU_GUEST_STACK_SIZE)
#define CPU_OFFSET_HOST_ESP (CPU_OFFSET_SELF + 4)
#define CPU_OFFSET_LAUNCH_EFLAGS (CPU_OFFSET_SELF + 8)
#define CPU_OFFSET_AP_STATE (CPU_OFFSET_SELF + 12) /* smp.state: what an AP claims its structure with */
#define CPU_SIZE (13 * CPU_REGION_SIZE) /* sizeof(struct cpu), for the AP entry's stack (smp/trampoline.S) */

#ifndef __ASSEMBLER__
#include "boot/descriptors.h"
#include "boot/fault.h"
#include "out/report.h"
#include "probe/verdict.h"
#include "smp/smp_cpu.h"
#include "types.h"
#include "svm/svm_cpu.h"
#include "vmx/vmx_cpu.h"

struct cpu {
	/* 4 KiB-aligned regions first (SDM Vol. 3C, 25.11.5 "VMXON Region"; 25.2 "Format of the VMCS Region";
	 * AMD APM Vol. 2, 15.30.4 "VM_HSAVE_PA" and appendix B "VMCB"): one technology uses them per CPU. */
	union {
		u8 vmxon_region[CPU_REGION_SIZE];
		u8 hsave[CPU_REGION_SIZE];      /* AMD-V: the host save area */
	};
	union {
		u8 vmcs_region[CPU_REGION_SIZE];
		u8 vmcb[CPU_REGION_SIZE];       /* AMD-V: the guest's VMCB */
	};
	u8 stack[CPU_STACK_SIZE];
	u8 exit_stack[CPU_EXIT_STACK_SIZE];    /* HOST_RSP: VM exits land here */
	u8 guest_stack[CPU_GUEST_STACK_SIZE];
	struct cpu *self;                      /* CPU_OFFSET_SELF: what this_cpu() reads */
	u32 host_saved_esp;                    /* the host stack across a guest's run (vmx/launch.S) */
	u32 launch_fail_eflags;                /* RFLAGS after a VMLAUNCH/VMRESUME that fell through */
	struct smp_cpu smp;                    /* CPU_OFFSET_AP_STATE: its state first */
	u32 index;                             /* 0: the boot CPU; the APs from 1, in MADT order */
	volatile u32 host_nmis;                /* NMIs taken in the host and gone on from */
	u32 guest_nmis;                        /* NMIs that arrived as VM exits of the guest */
	struct tss32 tss;
	struct fault_catch fault_catch;
	struct report_cursor report;
	struct verdict verdict;
	struct vmx_cpu vmx;
	struct svm_cpu svm;
	char report_buffer[AP_REPORT_BUFFER]; /* an AP's records, until the boot CPU writes them out */
} ALIGNED(CPU_REGION_SIZE);

_Static_assert(OFFSET_OF(struct cpu, vmcs_region) == CPU_REGION_SIZE, "VMCS region must be 4 KiB aligned");
_Static_assert(OFFSET_OF(struct cpu, stack) == CPU_OFFSET_STACK, "CPU_OFFSET_STACK");
_Static_assert(OFFSET_OF(struct cpu, self) == CPU_OFFSET_SELF, "CPU_OFFSET_SELF");
_Static_assert(OFFSET_OF(struct cpu, host_saved_esp) == CPU_OFFSET_HOST_ESP, "CPU_OFFSET_HOST_ESP");
_Static_assert(OFFSET_OF(struct cpu, launch_fail_eflags) == CPU_OFFSET_LAUNCH_EFLAGS, "CPU_OFFSET_LAUNCH_EFLAGS");
_Static_assert(OFFSET_OF(struct cpu, smp.state) == CPU_OFFSET_AP_STATE, "CPU_OFFSET_AP_STATE");
_Static_assert(sizeof(struct cpu) == CPU_SIZE, "CPU_SIZE");
_Static_assert(sizeof(struct cpu) % CPU_REGION_SIZE == 0, "every CPU's regions must be 4 KiB aligned");
/* The per-CPU data segment is byte-granular (descriptors.c): its limit field holds 20 bits. */
_Static_assert(sizeof(struct cpu) <= (1u << 20), "struct cpu must fit a byte-granular segment");

extern struct cpu boot_cpu;
extern struct cpu *ap_cpus; /* the APs' structures: index 1 is ap_cpus[0] (smp/start.c) */

static inline struct cpu *cpu_at(u32 index)
{
	return index ? &ap_cpus[index - 1] : &boot_cpu;
}

/* The structure of the CPU running this code (valid once descriptors_init() has loaded FS). */
static inline struct cpu *this_cpu(void)
{
	struct cpu *cpu;
	__asm__ volatile("movl %%fs:%c1, %0" : "=r"(cpu) : "i"(CPU_OFFSET_SELF));
	return cpu;
}
#endif

#endif
