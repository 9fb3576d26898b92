/*
 * Exception capture (kvm-unit-tests style): every vector 0-31 lands in
 * exception_dispatch(). An instruction run through a *_safe() helper arms a
 * resume address first; a fault there is recorded and execution resumes
 * after the instruction. Any other exception is reported and ends the run.
 */
#ifndef BOOTGEN_FAULT_H
#define BOOTGEN_FAULT_H

#include "types.h"

struct exception_frame {
	u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* pushal */
	u32 vector, error_code;
	u32 eip, cs, eflags; /* pushed by the CPU (same privilege level) */
};

struct fault_catch {
	volatile u32 resume_eip; /* 0 when nothing is armed */
	volatile int vector;     /* -1 when no fault was caught */
	volatile u32 error_code;
};

extern struct fault_catch fault_catch;

void descriptors_init(void);
void exception_dispatch(struct exception_frame *frame);
void idt_break(void); /* load an empty IDT: the next exception triple-faults */

/* Arm the catcher; the inline asm that follows must store the resume label. */
static inline void fault_catch_reset(void)
{
	fault_catch.vector = -1;
	fault_catch.error_code = 0;
}

int rdmsr_safe(u32 index, u64 *value); /* returns the vector, or -1 */
int wrmsr_safe(u32 index, u64 value);
int write_cr0_safe(u32 value);
int write_cr4_safe(u32 value); /* MOV to CR0 can #GP (SDM Vol. 2B, MOV-Control Registers) */

#endif
