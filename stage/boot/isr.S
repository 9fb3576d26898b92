/*
 * Interrupt entry stubs for all 256 vectors (SDM Vol. 3A, 6.3 "Sources of
 * Interrupts" and table 6-1). After every VM exit the host's IDTR limit is
 * 0xFFFF (SDM Vol. 3C, 28.5.2 "Loading Host Segment and Descriptor-Table
 * Registers"), so the table has all 256 gates: no vector can read past it.
 * The exceptions that push an error code (VECTORS_WITH_ERROR_CODE, generated
 * from bootgen/arch/exceptions.py) keep it; every other vector gets a zero so
 * that every frame has the same shape.
 */
#include "boot/descriptors.h"
#include "generated/vectors.h"

	.altmacro
	.section .text

.macro ISR vec
	.global isr\vec
isr\vec:
	.if \vec >= VECTOR_COUNT || ((VECTORS_WITH_ERROR_CODE >> \vec) & 1) == 0
	pushl $0
	.endif
	pushl $\vec
	jmp isr_common
.endm

.macro ISR_ADDRESS vec
	.long isr\vec
.endm

	.set vector, 0
	.rept IDT_VECTORS
	ISR %vector
	.set vector, vector + 1
	.endr

isr_common:
	pushal
	cld
	pushl %esp              /* struct exception_frame * */
	call exception_dispatch
	addl $4, %esp
	popal
	addl $8, %esp           /* vector and error code */
	iretl

	.section .rodata
	.align 4
	.global isr_table
isr_table:
	.set vector, 0
	.rept IDT_VECTORS
	ISR_ADDRESS %vector
	.set vector, vector + 1
	.endr

	.section .note.GNU-stack, "", @progbits
