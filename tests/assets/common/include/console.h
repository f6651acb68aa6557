/* Console output on COM1, the only output device of the test kernels: what they print there is
 * what the tests compare, byte for byte, between QEMU and vmi. */
#ifndef COMMON_CONSOLE_H
#define COMMON_CONSOLE_H

#include <stdarg.h>

/* uart.c */
void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);

/* printf.c */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

#endif
