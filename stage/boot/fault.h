/*
 * Exception capture (kvm-unit-tests style): every vector 0-31 lands in
 * exception_dispatch(). An instruction run through a *_safe() helper arms its
 * CPU's fault catcher with a resume address first; a fault there is recorded
 * and execution resumes after the instruction; the helper returns the vector
 * (-1 when there was none). Any other exception is reported and ends the run.
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
	int reporting;           /* an unexpected exception is being reported */
};

void exception_dispatch(struct exception_frame *frame);

/* Clear the catcher before a guarded instruction; its inline asm then stores the resume label. */
struct fault_catch *fault_catch_arm(void);

int rdmsr_safe(u32 index, u64 *value); /* returns the vector, or -1 */
int wrmsr_safe(u32 index, u64 value);
int write_cr0_safe(u32 value); /* MOV to CR0/CR4 can #GP (SDM Vol. 2B, MOV-Control Registers) */
int write_cr4_safe(u32 value);

#endif
