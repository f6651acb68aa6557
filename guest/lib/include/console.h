/* Console output: the kernel's only output device (COM1). printf.c formats onto uart_putc, which
 * each kernel provides (the guest kernel through VMI port-I/O sites, the test kernels natively).
 * What a kernel prints there is what the tests compare, byte for byte, between QEMU and vmi. */
#ifndef GUEST_LIB_CONSOLE_H
#define GUEST_LIB_CONSOLE_H

#include <stdarg.h>

/* uart.c */
void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);

/* printf.c */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

#endif
