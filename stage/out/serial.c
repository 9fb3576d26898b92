/*
 * 16550 UART at 115200 8N1, polled. The line-status register is polled
 * before each byte (Bochs drops characters otherwise); a UART that never
 * becomes ready (absent port) is given up on after a bounded wait.
 */
#include "out/console.h"
#include "x86.h"

#define UART_DATA 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THR_EMPTY 0x20
#define LSR_TRANSMITTER_EMPTY 0x40
#define LCR_DLAB 0x80
#define LCR_8N1 0x03

static u16 serial_port;

void serial_init(u16 port)
{
	serial_port = port;
	if (!port)
		return;
	outb(port + UART_IER, 0x00);       /* no interrupts */
	outb(port + UART_LCR, LCR_DLAB);   /* divisor latch */
	outb(port + UART_DATA, 0x01);      /* 115200 / 1 */
	outb(port + UART_IER, 0x00);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, 0xc7);       /* FIFO on, cleared, 14-byte threshold */
	outb(port + UART_MCR, 0x03);       /* DTR, RTS */
}

void serial_putc(char c)
{
	if (!serial_port)
		return;
	for (u32 spins = 0; spins < 1000000; spins++)
		if (inb(serial_port + UART_LSR) & LSR_THR_EMPTY)
			break;
	outb(serial_port + UART_DATA, (u8)c);
}

/* Wait until the last byte has left the shift register (Bochs writes a byte out only then). */
void serial_drain(void)
{
	if (!serial_port)
		return;
	for (u32 spins = 0; spins < 1000000; spins++)
		if (inb(serial_port + UART_LSR) & LSR_TRANSMITTER_EMPTY)
			return;
}
