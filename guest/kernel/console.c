/* The console: COM1 (16550A) through the INB/OUTB patch sites, 115200 8N1, polled. */
#include "kernel/kernel.h"

#include "arch/cpu.h"

#define COM1 0x3F8
#define LSR_THR_EMPTY 0x20

void uart_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xC7); /* FIFOs on, cleared */
}

void uart_putc(char c)
{
    if (c == '\n')
        uart_putc('\r');
    while (!(inb(COM1 + 5) & LSR_THR_EMPTY))
        ;
    outb(COM1, (uint8_t)c);
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}
