/* A synthetic Linux kernel: the "vmlinux" of the bzImages tests build (see the Makefile). It
 * checks what the 32-bit boot protocol (Documentation/x86/boot.rst) promises a kernel entered at
 * startup_32 and prints what it received, using struct boot_params from the system's
 * <asm/bootparam.h> (linux-libc-dev), so the layout checked is the kernel's own, not vmi's:
 * the entry registers, the boot GDT, the setup header copy, the command line, the initrd (size,
 * CRC-32, placement) and the E820 map. Lines starting "e820 " and "loader " depend on the boot
 * loader (vmi or QEMU and its BIOS); the rest is the same on both. Exits through the debug-exit
 * port 0xF4: 0 when every check passed, 1 otherwise. */
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "console.h"
#include "crc32.h"
#include "libc.h"
#include "portio.h"

#define DEBUG_EXIT_PORT 0xF4
#define PAGE 0x1000u
#define BOOT_CS 0x10
#define BOOT_DS 0x18

_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "setup header at 0x1f1");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table at 0x2d0");
_Static_assert(sizeof(struct boot_params) == 4096, "the zero page is one page");

struct entry_state {
    uint32_t esi, ebx, ebp, edi, eflags;
    uint16_t cs, ds, es, ss, fs, gs;
    uint32_t cr0;
    uint16_t gdt_limit;
    uint32_t gdt_base;
} __attribute__((packed));

extern const char _start[], _end[];

static uint32_t failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        kprintf("FAIL %s\n", what);
        failures++;
    }
}

static void __attribute__((noreturn)) finish(void)
{
    kprintf("done failures=%u\n", failures);
    outb(DEBUG_EXIT_PORT, failures == 0 ? 0 : 1);
    for (;;)
        __asm__ volatile("cli\n\thlt");
}

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen != 0 && blen != 0 && a < b + blen && b < a + alen;
}

/* A flat 4 GiB descriptor: base 0, limit 0xFFFFF in 4 KiB units, present, ring 0, 32-bit. */
static int flat(uint64_t d, int code)
{
    uint32_t base = (uint32_t)((d >> 16) & 0xFFFFFF) | (uint32_t)((d >> 56) << 24);
    uint32_t limit = (uint32_t)(d & 0xFFFF) | (uint32_t)(((d >> 48) & 0xF) << 16);
    uint32_t access = (uint32_t)(d >> 40) & 0xFF, flags = (uint32_t)(d >> 52) & 0xF;
    return base == 0 && limit == 0xFFFFF && (flags & 0xC) == 0xC && (access & 0x80) && (access & 0x60) == 0 &&
           (access & 0x18) == (code ? 0x18u : 0x10u);
}

static void check_entry(const struct entry_state *s)
{
    check(s->ebx == 0 && s->ebp == 0 && s->edi == 0, "entry: EBX, EBP and EDI are zero");
    check((s->eflags & 0x200) == 0, "entry: interrupts off");
    check((s->cr0 & 1) && !(s->cr0 & 0x80000000u), "entry: protected mode, paging off");
    check(s->cs == BOOT_CS, "entry: CS is __BOOT_CS 0x10");
    check(s->ds == BOOT_DS && s->es == BOOT_DS && s->ss == BOOT_DS && s->fs == BOOT_DS && s->gs == BOOT_DS,
          "entry: DS ES SS FS GS are __BOOT_DS 0x18");
    check(s->gdt_limit >= BOOT_DS + 7, "entry: the GDT holds selector 0x18");
    if (s->gdt_limit >= BOOT_DS + 7) {
        const uint64_t *gdt = (const uint64_t *)s->gdt_base;
        check(flat(gdt[BOOT_CS / 8], 1), "gdt: 0x10 is flat 4 GiB code");
        check(flat(gdt[BOOT_DS / 8], 0), "gdt: 0x18 is flat 4 GiB data");
    }
    kprintf("entry state checked\n");
}

/* Where the kernel runs, by boot.rst's rule for init_size, given where it was loaded. */
static uint64_t runtime_start(const struct setup_header *h)
{
    if (!h->relocatable_kernel)
        return h->pref_address;
    uint64_t at = h->code32_start < h->pref_address ? h->pref_address : h->code32_start;
    return (at + h->kernel_alignment - 1) / h->kernel_alignment * h->kernel_alignment;
}

static int usable(const struct boot_params *bp, uint64_t start, uint64_t length)
{
    for (unsigned i = 0; i < bp->e820_entries; i++) {
        const struct boot_e820_entry *e = &bp->e820_table[i];
        if (e->type == 1 && start >= e->addr && start + length <= e->addr + e->size)
            return 1;
    }
    return 0;
}

void kmain(const struct entry_state *state)
{
    uart_init();
    kprintf("linuxboot\n");
    const struct boot_params *bp = (const struct boot_params *)state->esi;
    const struct setup_header *h = &bp->hdr;
    if (bp == NULL || h->header != 0x53726448u || h->boot_flag != 0xAA55) {
        check(0, "ESI points to a zero page with the setup header");
        finish();
    }
    kprintf("entry %s\n", (uint32_t)_start >= 0x1000000u ? "vmlinux at 16 MiB" : "protected-mode part at 1 MiB");
    check_entry(state);
    kprintf("protocol %u.%02u\n", h->version >> 8, h->version & 0xFF);
    kprintf("loader 0x%02x\n", h->type_of_loader);
    check(bp->sentinel == 0, "zero page: sentinel is 0 (only the setup header was copied)");
    check(h->hardware_subarch == 0, "zero page: hardware_subarch is 0 (PC)");
    check(h->loadflags & LOADED_HIGH, "zero page: loadflags LOADED_HIGH");

    uint64_t run = runtime_start(h);
    kprintf("init_size 0x%x from 0x%x\n", h->init_size, (uint32_t)run);
    check(!overlaps(state->esi, 4096, run, h->init_size), "layout: the zero page lies outside init_size");
    check(!overlaps(state->esi, 4096, (uint32_t)_start, (uint32_t)(_end - _start)), "layout: the zero page lies outside the kernel");

    const char *cmdline = (const char *)h->cmd_line_ptr;
    if (cmdline == NULL) {
        check(0, "cmd_line_ptr is set");
    } else {
        uint32_t n = (uint32_t)strlen(cmdline);
        kprintf("cmdline '%s'\n", cmdline);
        check(n <= h->cmdline_size, "cmdline: no longer than cmdline_size");
        check(!overlaps(h->cmd_line_ptr, n + 1, run, h->init_size), "layout: the command line lies outside init_size");
        check(!overlaps(h->cmd_line_ptr, n + 1, state->esi, 4096), "layout: the command line lies outside the zero page");
    }

    uint32_t rd = h->ramdisk_image, rdsize = h->ramdisk_size;
    if (rdsize == 0) {
        kprintf("initrd none\n");
    } else {
        kprintf("initrd size %u crc32 %08x page-aligned %s\n", rdsize, crc32((const uint8_t *)rd, rdsize), rd % PAGE == 0 ? "yes" : "no");
        check((uint64_t)rd + rdsize - 1 <= h->initrd_addr_max, "initrd: ends at or below initrd_addr_max");
        check(!overlaps(rd, rdsize, run, h->init_size), "layout: the initrd lies outside init_size");
        check(!overlaps(rd, rdsize, (uint32_t)_start, (uint32_t)(_end - _start)), "layout: the initrd lies outside the kernel");
        check(!overlaps(rd, rdsize, state->esi, 4096), "layout: the initrd lies outside the zero page");
        check(usable(bp, rd, rdsize), "e820: the initrd lies in usable RAM");
    }

    kprintf("e820 entries %u\n", bp->e820_entries);
    for (unsigned i = 0; i < bp->e820_entries && i < 128; i++) {
        const struct boot_e820_entry *e = &bp->e820_table[i];
        kprintf("e820 %08x%08x %08x%08x type %u\n", (uint32_t)(e->addr >> 32), (uint32_t)e->addr, (uint32_t)(e->size >> 32), (uint32_t)e->size, e->type);
    }
    check(bp->e820_entries > 0, "e820: the map is not empty");
    check(usable(bp, (uint32_t)_start, (uint32_t)(_end - _start)), "e820: the kernel lies in usable RAM");
    check(usable(bp, run, h->init_size), "e820: init_size lies in usable RAM");
    check(!usable(bp, 0xA0000, 0x100), "e820: the VGA window is not usable RAM");
    check(!usable(bp, 0xF0000, 0x100), "e820: the BIOS area is not usable RAM");
    finish();
}
