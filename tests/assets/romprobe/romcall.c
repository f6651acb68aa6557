/* Calls into the ROM. Its entry points are 32-bit code reached with a near call (the ROM shares
 * our flat code segment; with paging off its linear address is its physical address) and follow
 * the ROM calling convention: arguments in EAX, EDX, ECX, results in EAX or EDX:EAX, and EAX,
 * ECX, EDX and the flags may be clobbered. gcc knows none of that about an indirect call from
 * inline asm, so the clobbers are spelled out; "memory" because a ROM call may read or write
 * memory the compiler cached in registers. */
#include "probe.h"

uint32_t vmi_rom_init(const struct vmi_rom *rom)
{
    uint32_t entry = rom->base + VMI_INIT_OFFSET;
    uint32_t eax;
    __asm__ volatile("call *%[entry]" : "=a"(eax) : [entry] "r"(entry) : "ecx", "edx", "cc", "memory");
    return eax;
}

struct vmi_reloc vmi_rom_get_reloc(const struct vmi_rom *rom, uint32_t call)
{
    uint32_t entry = rom->base + VMI_GET_RELOC_OFFSET;
    uint32_t eax = call, edx;
    __asm__ volatile("call *%[entry]" : "+a"(eax), "=d"(edx) : [entry] "r"(entry) : "ecx", "cc", "memory");
    /* EAX is the implementation's linear address, DL the type; EDX's upper bytes are reserved. */
    return (struct vmi_reloc){ .eip = eax, .type = (uint8_t)edx };
}
