/* The VMI 3.0 ROM as the kernel sees it: discovery and validation (rom.c), activation and
 * patching (activate.c). Facts from the ABI (vmi-abi.md); nothing here knows any hypervisor. */
#ifndef GUEST_VMI_VMI_H
#define GUEST_VMI_VMI_H

#include <stdint.h>

#define VMI_ROM_SCAN_START 0xC0000
#define VMI_ROM_SCAN_END 0xE0000
#define VMI_ROM_SCAN_STEP 2048
#define VMI_ROM_SIGNATURE 0xAA55
#define VMI_VROM_SIGNATURE 0x696D5663 /* "cVmi" */
#define VMI_API_MAJOR 3
#define VMI_INIT_OFFSET 0x80
#define VMI_GET_RELOC_OFFSET 0x88

enum vmi_reloc_type { VMI_RELOC_NONE = 0, VMI_RELOC_CALL_REL = 1, VMI_RELOC_JUMP_REL = 2, VMI_RELOC_NOP = 3 };

struct vmi_reloc {
    uint32_t eip;
    uint8_t type;
};

/* One site record (vmi_site.h). */
struct __attribute__((packed)) vmi_site {
    uint32_t address;
    uint16_t call;
    uint8_t length;
    uint8_t clobbers;
};

struct vmi_rom {
    uint32_t phys;      /* where the BIOS (or the machine) put it */
    const uint8_t *virt; /* the same bytes in the kernel's direct map; the ROM is called there */
    uint32_t length;
    uint8_t api_minor;
    uint32_t virtual_top;
    const char *manufacturer;
    const char *product;
};

/* Finds the first acceptable ROM in the option-ROM window. 0 and *rom filled on success; otherwise
 * -1 with *why saying what the last candidate lacked (or that there was none). */
int vmi_rom_find(struct vmi_rom *rom, const char **why, uint32_t *rejected_at);

uint32_t vmi_rom_init(const struct vmi_rom *rom);
struct vmi_reloc vmi_rom_get_reloc(const struct vmi_rom *rom, uint32_t call);

#endif
