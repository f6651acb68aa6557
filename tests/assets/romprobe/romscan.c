/* VMI ROM discovery, as a VMI kernel does it at boot: look at every 2 KiB boundary of the
 * option-ROM window and take the first image that passes the ABI's checks, in the ABI's order.
 * Ordinary option ROMs (the VGA BIOS, QEMU's own loader ROMs) fail the first two checks and are
 * skipped silently; an image that claims to be a VMI ROM ("cVmi") but fails a later check is
 * reported, because that is a broken ROM rather than somebody else's. */
#include "probe.h"

static const uint8_t *at(uint32_t address) { return (const uint8_t *)address; }

/* A NUL-terminated string at offs, or NULL when offs is 0 or the string does not end inside the
 * ROM (reading past the image could run into another ROM or unbacked memory). */
static const char *rom_string(const struct vmi_rom *rom, uint16_t offs)
{
    if (offs == 0 || offs >= rom->length)
        return NULL;
    for (uint32_t i = offs; i < rom->length; i++) {
        if (at(rom->base)[i] == 0)
            return (const char *)at(rom->base + offs);
    }
    return NULL;
}

/* The 8-bit sum of every byte of the image; a valid option ROM sums to zero. */
static uint8_t rom_checksum(uint32_t base, uint32_t length)
{
    uint8_t sum = 0;
    for (uint32_t i = 0; i < length; i++)
        sum += at(base)[i];
    return sum;
}

/* Fills in the manufacturer and product strings from the optional PnP header. */
static void read_pnp_strings(struct vmi_rom *rom)
{
    uint16_t offs = rom->header->pnp_header_offs;
    rom->manufacturer = NULL;
    rom->product = NULL;
    if (offs == 0 || (uint32_t)offs + sizeof(struct pnp_header) > rom->length)
        return;
    const struct pnp_header *pnp = (const struct pnp_header *)at(rom->base + offs);
    if (pnp->signature != VMI_PNP_SIGNATURE)
        return;
    rom->manufacturer = rom_string(rom, pnp->manufacturer_offs);
    rom->product = rom_string(rom, pnp->product_offs);
}

/* Returns NULL if the image at base is an acceptable VMI ROM (and fills in rom), "" if it is
 * not a VMI ROM at all, or why a VMI ROM was rejected. */
static const char *check_rom(uint32_t base, struct vmi_rom *rom)
{
    const struct vmi_rom_header *h = (const struct vmi_rom_header *)at(base);
    if (h->rom_signature != VMI_ROM_SIGNATURE || h->vrom_signature != VMI_VROM_SIGNATURE)
        return "";

    uint32_t length = h->rom_length * VMI_ROM_BLOCK;
    if (length < sizeof(struct vmi_rom_header) || base + length > VMI_SCAN_END)
        return "rom_length";
    if (h->api_version_maj != VMI_API_MAJOR)
        return "api_version_maj";
    if (h->pci_header_offs == 0)
        return "pci_header_offs";
    if ((uint32_t)h->pci_header_offs + sizeof(struct pci_data) > length)
        return "pci header outside the rom";
    const struct pci_data *pci = (const struct pci_data *)at(base + h->pci_header_offs);
    if (pci->signature != VMI_PCI_SIGNATURE)
        return "pci signature";
    if (rom_checksum(base, length) != 0)
        return "checksum";

    rom->base = base;
    rom->length = length;
    rom->header = h;
    rom->pci = pci;
    read_pnp_strings(rom);
    rom->license = rom_string(rom, h->license_offs);
    return NULL;
}

int vmi_rom_find(struct vmi_rom *rom)
{
    for (uint32_t base = VMI_SCAN_START; base < VMI_SCAN_END; base += VMI_SCAN_STEP) {
        const char *reason = check_rom(base, rom);
        if (reason == NULL)
            return 1;
        if (*reason != '\0')
            kprintf("rejected rom at 0x%x: %s\n", base, reason);
    }
    return 0;
}
