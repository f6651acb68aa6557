/* 16550 UART on COM1: the only output device, so it is what the test harness compares. */
#include <stdint.h>

#include "console.h"
#include "portio.h"

#define COM1 0x3F8
#define UART_THR 0 /* transmit holding register (DLAB = 0) */
#define UART_DLL 0 /* divisor latch low (DLAB = 1) */
#define UART_IER 1 /* interrupt enable (DLAB = 0) */
#define UART_DLM 1 /* divisor latch high (DLAB = 1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THR_EMPTY 0x20

void uart_init(void)
{
    outb(COM1 + UART_IER, 0x00); /* polled output: no UART interrupts */
    outb(COM1 + UART_LCR, 0x80); /* DLAB on to reach the divisor */
    outb(COM1 + UART_DLL, 0x01); /* divisor 1 = 115200 baud */
    outb(COM1 + UART_DLM, 0x00);
    outb(COM1 + UART_LCR, 0x03); /* 8 data bits, no parity, 1 stop bit, DLAB off */
    outb(COM1 + UART_FCR, 0xC7); /* enable and clear FIFOs */
    outb(COM1 + UART_MCR, 0x03); /* DTR and RTS */
}

void uart_putc(char c)
{
    /* Wait for room before every byte, as real hardware needs; emulators answer at once. */
    while ((inb(COM1 + UART_LSR) & LSR_THR_EMPTY) == 0)
        ;
    outb(COM1 + UART_THR, (uint8_t)c);
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}
