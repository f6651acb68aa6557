/* Shared declarations of the VMI ROM probe: a freestanding multiboot v1 kernel whose serial
 * output must not depend on where the firmware placed the ROM, so only offsets from the ROM
 * base (and the base itself, which tests check separately) are printed. */
#ifndef ROMPROBE_PROBE_H
#define ROMPROBE_PROBE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "vmi.h"

static inline void outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* A ROM that passed every discovery check; the pointers point into the ROM itself. */
struct vmi_rom {
    uint32_t base;
    uint32_t length; /* bytes: rom_length * 512 */
    const struct vmi_rom_header *header;
    const struct pci_data *pci;
    const char *manufacturer; /* NULL when the ROM has no usable PnP header or string */
    const char *product;
    const char *license;      /* NULL when license_offs is 0 or out of range */
};

/* uart.c */
void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);

/* printf.c */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* libc.c: gcc may emit calls to these even with -ffreestanding. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* romscan.c */
int vmi_rom_find(struct vmi_rom *rom);

/* romcall.c */
uint32_t vmi_rom_init(const struct vmi_rom *rom);
struct vmi_reloc vmi_rom_get_reloc(const struct vmi_rom *rom, uint32_t call);

#endif
