/*
 * Exception entry stubs for vectors 0-31 (SDM Vol. 3A, 6.3 "Sources of
 * Interrupts" and table 6-1). Vectors 8, 10-14, 17, 21, 29 and 30 push an
 * error code; the others get a zero so that every frame has the same shape.
 */
	.section .text

.macro ISR_NOERR vec
	.global isr\vec
isr\vec:
	pushl $0
	pushl $\vec
	jmp isr_common
.endm

.macro ISR_ERR vec
	.global isr\vec
isr\vec:
	pushl $\vec
	jmp isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31

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
