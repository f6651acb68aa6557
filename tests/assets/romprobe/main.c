/* VMI ROM probe: finds a VMI option ROM the way a VMI kernel does, initialises it, asks it how
 * every call should be done and prints the answers on COM1, then exits through the
 * isa-debug-exit port (0xF4): 0 when a usable ROM was found, 1 otherwise.
 *
 * Addresses inside the ROM are printed as offsets from its base, so two machines that place the
 * same ROM at different slots print the same relocation lines. */
#include "probe.h"

#define DEBUG_EXIT_PORT 0xF4

/* Call numbers past the API 3.0 table that are asked too: a ROM must answer NONE (type 0, eip 0)
 * for calls it does not know, which is what lets a newer kernel run on an older ROM. */
static const uint32_t beyond_table[] = { VMI_CALL_COUNT, 255 };

static void __attribute__((noreturn)) probe_exit(int code)
{
    kprintf("probe done\n");
    outb(DEBUG_EXIT_PORT, (uint8_t)code); /* QEMU exits with (code << 1) | 1 */
    for (;;)
        __asm__ volatile("cli\n\thlt"); /* a machine without the exit device stops here */
}

static const char *or_none(const char *s) { return s ? s : "(none)"; }

static void print_rom(const struct vmi_rom *rom)
{
    kprintf("rom at 0x%x length %u api %u.%u pci %04x:%04x checksum ok\n", rom->base, rom->length,
            rom->header->api_version_maj, rom->header->api_version_min, rom->pci->vendor_id, rom->pci->device_id);
    kprintf("manufacturer %s\n", or_none(rom->manufacturer));
    kprintf("product %s\n", or_none(rom->product));
    kprintf("license %s\n", or_none(rom->license));
}

static void print_reloc(const struct vmi_rom *rom, uint32_t call)
{
    struct vmi_reloc r = vmi_rom_get_reloc(rom, call);
    if (r.eip == 0)
        kprintf("reloc %u type %u eip 0\n", call, r.type);
    else
        kprintf("reloc %u type %u eip 0x%x\n", call, r.type, r.eip - rom->base);
}

void kmain(uint32_t magic, const struct multiboot_info *info)
{
    (void)magic;
    (void)info;
    uart_init();
    kprintf("vmi romprobe\n");

    struct vmi_rom rom;
    if (!vmi_rom_find(&rom)) {
        kprintf("no vmi rom found\n");
        probe_exit(1);
    }
    print_rom(&rom);

    /* A kernel that gets a non-zero answer from vmi_init must not use the ROM at all. */
    uint32_t init = vmi_rom_init(&rom);
    kprintf("vmi_init eax %x\n", init);
    if (init != 0)
        probe_exit(1);

    for (uint32_t call = 0; call < VMI_CALL_COUNT; call++)
        print_reloc(&rom, call);
    for (size_t i = 0; i < sizeof(beyond_table) / sizeof(beyond_table[0]); i++)
        print_reloc(&rom, beyond_table[i]);
    probe_exit(0);
}
