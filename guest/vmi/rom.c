/* ROM discovery and validation, in the ABI's order: rom_signature, vrom_signature, API major 3,
 * a PCI header, then (stricter than Linux, as the old spec and every BIOS) a zero checksum over
 * rom_length * 512 bytes that fit in the window. */
#include "vmi/vmi.h"

#include "arch/layout.h"
#include "kernel/kernel.h"

static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* A NUL-terminated string inside the ROM at `offset`, or NULL. */
static const char *rom_string(const uint8_t *rom, uint32_t length, uint32_t offset)
{
    if (offset == 0 || offset >= length)
        return NULL;
    for (uint32_t i = offset; i < length; i++)
        if (rom[i] == 0)
            return (const char *)rom + offset;
    return NULL;
}

static const char *check(const uint8_t *p, uint32_t phys, struct vmi_rom *rom)
{
    if (p[0x0D] != VMI_API_MAJOR)
        return "API major version is not 3";
    uint32_t length = (uint32_t)p[2] * 512;
    if (length < 0x90 || phys + length > VMI_ROM_SCAN_END)
        return "rom_length does not fit the option-ROM window";
    uint16_t pci = u16(p + 0x18);
    if (pci == 0 || pci + 24u > length || u32(p + pci) != 0x52494350 /* "PCIR" */)
        return "no PCI data structure";
    uint8_t sum = 0;
    for (uint32_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + p[i]);
    if (sum != 0)
        return "bad checksum";
    rom->phys = phys;
    rom->virt = p;
    rom->length = length;
    rom->api_minor = p[0x0C];
    rom->virtual_top = u32(p + 0x10);
    rom->manufacturer = NULL;
    rom->product = NULL;
    uint16_t pnp = u16(p + 0x1A);
    if (pnp != 0 && pnp + 18u <= length && u32(p + pnp) == 0x506E5024 /* "$PnP" */) {
        rom->manufacturer = rom_string(p, length, u16(p + pnp + 14));
        rom->product = rom_string(p, length, u16(p + pnp + 16));
    }
    return NULL;
}

int vmi_rom_find(struct vmi_rom *rom, const char **why, uint32_t *rejected_at)
{
    *why = "no VMI ROM in 0xC0000-0xDFFFF";
    *rejected_at = 0;
    for (uint32_t phys = VMI_ROM_SCAN_START; phys < VMI_ROM_SCAN_END; phys += VMI_ROM_SCAN_STEP) {
        const uint8_t *p = PHYS_TO_VIRT(phys);
        if (u16(p) != VMI_ROM_SIGNATURE || u32(p + 8) != VMI_VROM_SIGNATURE)
            continue;
        const char *problem = check(p, phys, rom);
        if (!problem)
            return 0;
        *why = problem;
        *rejected_at = phys;
    }
    return -1;
}

/* The ROM's entry points are 32-bit code reached by a near call through the direct map, with the
 * ROM calling convention: arguments in EAX, EDX, ECX; EAX, ECX, EDX and the flags clobbered. */
uint32_t vmi_rom_init(const struct vmi_rom *rom)
{
    uint32_t entry = (uint32_t)rom->virt + VMI_INIT_OFFSET, eax;
    __asm__ volatile("call *%[entry]" : "=a"(eax) : [entry] "r"(entry) : "ecx", "edx", "cc", "memory");
    return eax;
}

struct vmi_reloc vmi_rom_get_reloc(const struct vmi_rom *rom, uint32_t call)
{
    uint32_t entry = (uint32_t)rom->virt + VMI_GET_RELOC_OFFSET, eax = call, edx;
    __asm__ volatile("call *%[entry]" : "+a"(eax), "=d"(edx) : [entry] "r"(entry) : "ecx", "cc", "memory");
    return (struct vmi_reloc){ .eip = eax, .type = (uint8_t)edx };
}
