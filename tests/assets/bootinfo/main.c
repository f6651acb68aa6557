/* bootinfo: prints what the multiboot loader handed over (the command line, byte for byte, and
 * every module's string, size and CRC-32) and checks that nothing the loader built (the info
 * structure, strings, module list, memory map, modules, boot GDT) lies on the kernel itself.
 * Addresses are never printed, so QEMU and vmi (which place things differently) print the same
 * bytes. Exits through the isa-debug-exit port (0xF4): 0 when every check passed, 1 otherwise. */
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "crc32.h"
#include "libc.h"
#include "multiboot.h"
#include "portio.h"

#define DEBUG_EXIT_PORT 0xF4
#define PAGE 0x1000u

extern const char multiboot_header[]; /* start.S: the first byte of .text */
extern const char _end[];             /* ld's default script: the end of .bss */

static uint32_t failures;
static uint32_t kernel_start, kernel_end;

static void __attribute__((noreturn)) finish(void)
{
    kprintf("done failures=%u\n", failures);
    outb(DEBUG_EXIT_PORT, failures == 0 ? 0 : 1); /* QEMU exits with (code << 1) | 1 */
    for (;;)
        __asm__ volatile("cli\n\thlt"); /* a machine without the exit device stops here */
}

static void fail(const char *what)
{
    kprintf("FAIL %s\n", what);
    failures++;
}

/* The kernel's footprint: from the page below .text (where ld puts the ELF and program headers
 * as a segment of their own) to the end of .bss. */
static void find_kernel(void)
{
    uint32_t text = (uint32_t)multiboot_header & ~(PAGE - 1);
    kernel_start = text >= PAGE ? text - PAGE : 0;
    kernel_end = (uint32_t)_end;
}

/* Flags [start, start + length) when it overlaps the kernel. */
static void check_clear(const char *what, uint32_t start, uint32_t length)
{
    if (length != 0 && start < kernel_end && kernel_start < start + length) {
        kprintf("FAIL layout: %s overlaps the kernel\n", what);
        failures++;
    }
}

/* Prints the bytes of s that are not printable ASCII, in hex, so a test can see them even where
 * the output is read as text. */
static void print_high_bytes(const char *label, const char *s)
{
    kprintf("%s", label);
    int any = 0;
    for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7F) {
            kprintf(" %02x", *p);
            any = 1;
        }
    }
    kprintf(any ? "\n" : " none\n");
}

static void show_modules(const struct multiboot_info *info)
{
    if (!(info->flags & MULTIBOOT_INFO_MODS)) {
        kprintf("mods none\n");
        return;
    }
    kprintf("mods %u\n", info->mods_count);
    const struct multiboot_module *mods = (const struct multiboot_module *)info->mods_addr;
    check_clear("the module list", info->mods_addr, info->mods_count * sizeof(*mods));
    for (uint32_t i = 0; i < info->mods_count; i++) {
        const struct multiboot_module *m = &mods[i];
        const char *string = m->string ? (const char *)m->string : "";
        uint32_t size = m->mod_end - m->mod_start;
        kprintf("mod %u size %u crc32 %08x page-aligned %s string '%s'\n", i, size,
                crc32((const uint8_t *)m->mod_start, size), m->mod_start % PAGE == 0 ? "yes" : "no", string);
        print_high_bytes("mod string high bytes:", string);
        check_clear("a module", m->mod_start, size);
        check_clear("a module string", m->string, strlen(string) + 1);
        if (m->mod_end < m->mod_start)
            fail("module ends before it starts");
        for (uint32_t j = 0; j < i; j++) {
            if (m->mod_start < mods[j].mod_end && mods[j].mod_start < m->mod_end)
                fail("two modules overlap");
        }
    }
}

static void check_gdt(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } gdtr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    check_clear("the boot GDT", gdtr.base, (uint32_t)gdtr.limit + 1);
}

void kmain(uint32_t magic, const struct multiboot_info *info)
{
    uart_init();
    find_kernel();
    kprintf("bootinfo\n");
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
        fail("magic");
        finish();
    }
    check_gdt();
    check_clear("the multiboot info structure", (uint32_t)info, sizeof(*info));

    if (info->flags & MULTIBOOT_INFO_CMDLINE) {
        const char *cmdline = (const char *)info->cmdline;
        kprintf("cmdline '%s'\n", cmdline);
        print_high_bytes("cmdline high bytes:", cmdline);
        check_clear("the command line", info->cmdline, strlen(cmdline) + 1);
    } else {
        kprintf("cmdline none\n");
    }
    if (info->flags & MULTIBOOT_INFO_MMAP)
        check_clear("the memory map", info->mmap_addr, info->mmap_length);
    show_modules(info);
    finish();
}
