/* Output devices: the 16550 UART and the screen (VGA text or a linear framebuffer). */
#ifndef BOOTGEN_CONSOLE_H
#define BOOTGEN_CONSOLE_H

#include "types.h"

int serial_init(u16 port);           /* 0: no UART answers at that port (the output goes to the screen only) */
void serial_putc(char c);
void serial_drain(void);
void screen_init(u32 text_buffer); /* 0 disables the VGA text mirror */
void screen_putc(char c);
void console_putc(char c);          /* both, "\n" becomes "\r\n" on serial */
void console_puts(const char *s);

#endif
