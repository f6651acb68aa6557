/* x86 port I/O: the only way these kernels reach devices (the UART, the debug-exit port, the PIT
 * and PIC). */
#ifndef COMMON_PORTIO_H
#define COMMON_PORTIO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

#endif
