/*
 * 16550 UART at 115200 8N1, polled. The line-status register is polled
 * before each byte (Bochs drops characters otherwise), or, where the FIFOs
 * are on (IIR bits 7:6 read 11b after FCR enabled them: a 16550A), before each
 * 16 bytes: THRE then means the whole transmit FIFO is empty (PC16550D data
 * sheet, "FIFO Interrupt Mode Operation"). A port without a UART
 * is found at start (the scratch register does not keep a value, and a
 * loopback byte does not come back); a UART that stops becoming ready (a stuck
 * LSR) is given up on after one bounded wait, and never waited for again, so
 * that the screen shows the report in seconds, not hours.
 */
#include "out/console.h"
#include "x86.h"

#define UART_DATA 0
#define UART_IER 1
#define UART_FCR 2
#define UART_IIR 2 /* read */
#define IIR_FIFOS_ENABLED 0xc0
#define TX_FIFO_BYTES 16
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define LSR_DATA_READY 0x01
#define MCR_LOOPBACK 0x10
#define READY_SPINS 1000000
#define LSR_THR_EMPTY 0x20
#define LSR_TRANSMITTER_EMPTY 0x40
#define LCR_DLAB 0x80
#define LCR_8N1 0x03

static u16 serial_port;
static u32 burst = 1;  /* bytes that may be written after one THRE: 16 with the FIFOs on */
static u32 room;       /* of those, still free */
static enum serial_state state = SERIAL_OFF;

static int scratch_keeps(u16 port)
{
	for (u8 value = 0x5a;; value = 0xa5) {
		outb(port + UART_SCR, value);
		if (inb(port + UART_SCR) != value)
			return 0;
		if (value == 0xa5)
			return 1;
	}
}

/* An 8250 has no scratch register: a byte sent in loopback mode must come back. */
static int loopback_works(u16 port)
{
	outb(port + UART_MCR, MCR_LOOPBACK);
	(void)inb(port + UART_DATA);
	outb(port + UART_DATA, 0xae);
	int ok = 0;
	for (u32 spins = 0; spins < READY_SPINS && !ok; spins++) {
		u8 lsr = inb(port + UART_LSR);
		if (lsr == 0xff)
			break; /* nothing decodes the port: the bus reads all ones */
		ok = (lsr & LSR_DATA_READY) && inb(port + UART_DATA) == 0xae;
	}
	outb(port + UART_MCR, 0x03);
	return ok;
}

void serial_init(u16 port)
{
	serial_port = 0;
	state = SERIAL_OFF;
	if (!port)
		return;
	outb(port + UART_IER, 0x00);       /* no interrupts */
	outb(port + UART_LCR, LCR_DLAB);   /* divisor latch */
	outb(port + UART_DATA, 0x01);      /* 115200 / 1 */
	outb(port + UART_IER, 0x00);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, 0xc7);       /* FIFO on, cleared, 14-byte threshold */
	outb(port + UART_MCR, 0x03);       /* DTR, RTS */
	if (!scratch_keeps(port) && !loopback_works(port)) {
		state = SERIAL_ABSENT;
		return;
	}
	serial_port = port;
	state = SERIAL_WORKING;
	burst = (inb(port + UART_IIR) & IIR_FIFOS_ENABLED) == IIR_FIFOS_ENABLED ? TX_FIFO_BYTES : 1;
	room = 0;
}

enum serial_state serial_state(void)
{
	return state;
}

void serial_putc(char c)
{
	if (!serial_port)
		return;
	u32 spins = 0;
	while (!room && !(inb(serial_port + UART_LSR) & LSR_THR_EMPTY))
		if (++spins == READY_SPINS) {
			serial_port = 0; /* stuck: stop waiting on it for the rest of the run */
			state = SERIAL_STUCK;
			return;
		}
	if (!room)
		room = burst;
	room--;
	outb(serial_port + UART_DATA, (u8)c);
}

/* Wait until the last byte has left the shift register (Bochs writes a byte out only then). */
void serial_drain(void)
{
	if (!serial_port)
		return;
	for (u32 spins = 0; spins < READY_SPINS; spins++)
		if (inb(serial_port + UART_LSR) & LSR_TRANSMITTER_EMPTY)
			return;
}
