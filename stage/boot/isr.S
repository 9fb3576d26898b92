/*
 * Exception entry stubs for vectors 0-31 (SDM Vol. 3A, 6.3 "Sources of
 * Interrupts" and table 6-1). The vectors whose exceptions push an error code
 * (VECTORS_WITH_ERROR_CODE, generated from bootgen/arch/exceptions.py) keep it;
 * the others get a zero so that every frame has the same shape.
 */
#include "generated/vectors.h"

	.section .text

.macro ISR vec
	.global isr\vec
isr\vec:
	.if ((VECTORS_WITH_ERROR_CODE >> \vec) & 1) == 0
	pushl $0
	.endif
	pushl $\vec
	jmp isr_common
.endm

	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ISR \n
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
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long isr\n
	.endr

	.section .note.GNU-stack, "", @progbits
