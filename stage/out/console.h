/* Output devices: the 16550 UART and the screen (VGA text or a linear framebuffer). */
#ifndef BOOTGEN_CONSOLE_H
#define BOOTGEN_CONSOLE_H

#include "types.h"

enum serial_state { SERIAL_OFF, SERIAL_WORKING, SERIAL_ABSENT, SERIAL_STUCK };
void serial_init(u16 port);
enum serial_state serial_state(void); /* ABSENT: no UART answered at start; STUCK: it stopped taking bytes */
void serial_putc(char c);
void serial_drain(void);
void screen_init(u32 text_buffer); /* 0 disables the VGA text mirror */
void screen_putc(char c);
void console_putc(char c);          /* both, "\n" becomes "\r\n" on serial */
void console_puts(const char *s);

#endif
