/* Shared declarations of the VMI ROM probe: a freestanding multiboot v1 kernel whose serial
 * output must not depend on where the firmware placed the ROM, so only offsets from the ROM
 * base (and the base itself, which tests check separately) are printed. */
#ifndef ROMPROBE_PROBE_H
#define ROMPROBE_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* Shared with the other test kernels, from ../common/include. */
#include "console.h"
#include "libc.h"
#include "multiboot.h"
#include "portio.h"

#include "vmi.h"

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

/* romscan.c */
int vmi_rom_find(struct vmi_rom *rom);

/* romcall.c */
uint32_t vmi_rom_init(const struct vmi_rom *rom);
struct vmi_reloc vmi_rom_get_reloc(const struct vmi_rom *rom, uint32_t call);

#endif
