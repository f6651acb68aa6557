/* The parts of the VMI API 3.0 option-ROM layout the probe reads (see docs/vmi-abi.md). All
 * structures are packed and little-endian, as the ROM stores them. */
#ifndef ROMPROBE_VMI_H
#define ROMPROBE_VMI_H

#include <stdint.h>

/* Where a VMI kernel looks: every 2 KiB boundary of the option-ROM window. */
#define VMI_SCAN_START 0xC0000u
#define VMI_SCAN_END 0xE0000u
#define VMI_SCAN_STEP 2048u

#define VMI_ROM_BLOCK 512u
#define VMI_ROM_SIGNATURE 0xAA55u
#define VMI_VROM_SIGNATURE 0x696d5663u /* "cVmi" */
#define VMI_API_MAJOR 3u
#define VMI_PCI_SIGNATURE 0x52494350u /* "PCIR" */
#define VMI_PNP_SIGNATURE 0x506e5024u /* "$PnP" */

/* Entry points: 8-byte slots the kernel calls with a 32-bit near call. */
#define VMI_INIT_OFFSET 0x80u
#define VMI_GET_RELOC_OFFSET 0x88u

/* Calls 0..73 exist in API 3.0; a later minor version may append more. */
#define VMI_CALL_COUNT 74u

struct vmi_rom_header {
    uint16_t rom_signature;
    uint8_t rom_length; /* in 512-byte blocks */
    uint8_t rom_entry[4];
    uint8_t pad0;
    uint32_t vrom_signature;
    uint8_t api_version_min;
    uint8_t api_version_maj;
    uint8_t jump_slots;
    uint8_t reserved0;
    uint32_t virtual_top;
    uint16_t reserved1;
    uint16_t license_offs;
    uint16_t pci_header_offs;
    uint16_t pnp_header_offs;
    uint32_t pad1;
    uint8_t reserved2[96];
    uint8_t vmi_init[8];
    uint8_t get_reloc[8];
} __attribute__((packed));

struct pci_data {
    uint32_t signature;
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t vpd;
    uint16_t length;
    uint8_t revision;
    uint8_t class_code[3];
    uint16_t image_length;
    uint16_t code_revision;
    uint8_t code_type;
    uint8_t last_image;
    uint16_t reserved;
} __attribute__((packed));

struct pnp_header {
    uint32_t signature;
    uint8_t revision;
    uint8_t length; /* in 16-byte units */
    uint16_t next;
    uint8_t reserved;
    uint8_t checksum;
    uint32_t device_id;
    uint16_t manufacturer_offs;
    uint16_t product_offs;
} __attribute__((packed));

_Static_assert(sizeof(struct vmi_rom_header) == 144, "VMI ROM header is 144 bytes");
_Static_assert(sizeof(struct pci_data) == 24, "PCI data structure is 24 bytes");
_Static_assert(sizeof(struct pnp_header) == 18, "PnP header is 18 bytes");

/* get_reloc's answer, decoded from EDX:EAX. */
struct vmi_reloc {
    uint32_t eip;
    uint8_t type;
};

#endif
