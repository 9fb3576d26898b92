/* The console: every report byte goes to the serial port and the screen. */
#include "out/console.h"

void console_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	serial_putc(c);
	screen_putc(c);
}

void console_puts(const char *s)
{
	while (*s)
		console_putc(*s++);
}
