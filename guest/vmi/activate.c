/* VMI activation: find the ROM, call vmi_init, ask get_reloc for every call the kernel's sites
 * use, check every answer before writing anything (never half-patched), then rewrite each site
 * (CALL_REL: E8 rel32, JUMP_REL: E9 rel32, NOP: all NOPs, NONE: native bytes kept) and serialize.
 * Runs before interrupts are first enabled, so no IRET site is taken while it changes. */
#include "vmi/vmi.h"

#include "arch/layout.h"
#include "arch/vmi_calls.h"
#include "arch/vmi_site.h"
#include "kernel/kernel.h"
#include "mm/mm.h"

extern const struct vmi_site __vmi_sites_start[], __vmi_sites_end[];

static const char *const type_names[] = { "native", "call", "jump", "nop" };

static int never_returns(uint32_t call) { return call == VMI_CALL_IRET || call == VMI_CALL_SYSEXIT; }

/* The ROM's answer for every call the sites use, or the reason the ROM cannot be used. */
static const char *ask(const struct vmi_rom *rom, struct vmi_reloc *answers, uint8_t *used)
{
    for (const struct vmi_site *s = __vmi_sites_start; s < __vmi_sites_end; s++) {
        if (s->call >= VMI_CALL_COUNT || s->length < VMI_SITE_MIN_LENGTH)
            return "a site record is malformed";
        used[s->call] = 1;
    }
    uint32_t start = (uint32_t)rom->virt, end = start + rom->length;
    for (uint32_t call = 0; call < VMI_CALL_COUNT; call++) {
        if (!used[call])
            continue;
        struct vmi_reloc r = vmi_rom_get_reloc(rom, call);
        if (r.type > VMI_RELOC_NOP) {
            kprintf("VMI: call %u: unknown relocation type %u\n", call, r.type);
            return "unknown relocation type";
        }
        if (r.type == VMI_RELOC_JUMP_REL && !never_returns(call)) {
            kprintf("VMI: call %u: JUMP_REL for a call that returns\n", call);
            return "JUMP_REL for a call that returns";
        }
        if ((r.type == VMI_RELOC_CALL_REL || r.type == VMI_RELOC_JUMP_REL) && (r.eip < start || r.eip >= end)) {
            kprintf("VMI: call %u: target %08x outside the ROM\n", call, r.eip);
            return "a target outside the ROM";
        }
        answers[call] = r;
    }
    return NULL;
}

static void patch(const struct vmi_site *s, struct vmi_reloc r)
{
    uint8_t *site = (uint8_t *)s->address;
    if (r.type == VMI_RELOC_NONE)
        return;
    uint32_t first = 0;
    if (r.type == VMI_RELOC_CALL_REL || r.type == VMI_RELOC_JUMP_REL) {
        int32_t rel = (int32_t)(r.eip - (s->address + 5));
        site[0] = r.type == VMI_RELOC_CALL_REL ? 0xE8 : 0xE9;
        memcpy(site + 1, &rel, 4);
        first = 5;
    }
    for (uint32_t i = first; i < s->length; i++)
        site[i] = 0x90;
}

void vmi_activate(void)
{
    if (boot_options.vmi_off) {
        kprintf("VMI: disabled by vmi=off; sites stay native\n");
        return;
    }
    struct vmi_rom rom;
    const char *why;
    uint32_t rejected_at;
    if (vmi_rom_find(&rom, &why, &rejected_at) != 0) {
        if (rejected_at)
            kprintf("VMI: ROM at 0x%x rejected: %s; sites stay native\n", rejected_at, why);
        else
            kprintf("VMI: %s; sites stay native\n", why);
        return;
    }
    /* The kernel image, the first 16 MiB it is mapped with, and a scratch window must fit below. */
    if (rom.virtual_top != 0 && rom.virtual_top < KERNEL_VMA + KERNEL_DIRECT_MAP_BYTES + SCRATCH_BYTES) {
        kprintf("VMI: ROM at 0x%x rejected: virtual_top 0x%x leaves the kernel no room; sites stay native\n", rom.phys, rom.virtual_top);
        return;
    }
    uint32_t status = vmi_rom_init(&rom);
    if (status != 0) {
        kprintf("VMI: ROM at 0x%x rejected: vmi_init returned %u; sites stay native\n", rom.phys, status);
        return;
    }
    static struct vmi_reloc answers[VMI_CALL_COUNT];
    static uint8_t used[VMI_CALL_COUNT];
    why = ask(&rom, answers, used);
    if (why) {
        kprintf("VMI: ROM at 0x%x rejected: %s; sites stay native\n", rom.phys, why);
        return;
    }

    uint32_t sites[4] = { 0 }, calls[4] = { 0 };
    for (uint32_t call = 0; call < VMI_CALL_COUNT; call++)
        if (used[call])
            calls[answers[call].type]++;
    for (const struct vmi_site *s = __vmi_sites_start; s < __vmi_sites_end; s++) {
        patch(s, answers[s->call]);
        sites[answers[s->call].type]++;
    }
    /* Serialize: a far return, so no code decoded before the rewrite runs after it. */
    __asm__ volatile("pushl %%cs\n\tpushl $1f\n\tlret\n1:" : : : "memory");

    if (rom.virtual_top) {
        kernel_virtual_top = rom.virtual_top;
        kprintf("VMI: virtual_top 0x%x: the kernel stays below it\n", rom.virtual_top);
    }
    if (!boot_options.quiet)
        for (int t = 0; t < 4; t++)
            kprintf("VMI: %s: %u calls, %u sites\n", type_names[t], calls[t], sites[t]);
    kprintf("VMI: %s %s API 3.%u at 0x%x; sites: %u call, %u jump, %u nop, %u native\n",
            rom.manufacturer ? rom.manufacturer : "(unknown)", rom.product ? rom.product : "(unknown)", rom.api_minor, rom.phys,
            sites[VMI_RELOC_CALL_REL], sites[VMI_RELOC_JUMP_REL], sites[VMI_RELOC_NOP], sites[VMI_RELOC_NONE]);
}
