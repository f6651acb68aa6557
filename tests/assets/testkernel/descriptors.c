/* Our own GDT and IDT: the multiboot spec leaves GDTR undefined on entry, so a kernel must load
 * a GDT before it can reload a segment register or take an interrupt. */
#include "kernel.h"

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define IDT_VECTORS 48 /* exceptions 0-31 and the remapped PIC IRQs 0x20-0x2F */

struct __attribute__((packed)) descriptor_pointer {
    uint16_t limit;
    uint32_t base;
};

struct __attribute__((packed)) idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_high;
};

/* null, flat ring-0 code (base 0, limit 4 GiB, 32-bit, execute/read), flat ring-0 data (read/write) */
static const uint64_t gdt[3] __attribute__((aligned(8))) = {
    0,
    0x00CF9A000000FFFFull,
    0x00CF92000000FFFFull,
};

static struct idt_gate idt[256] __attribute__((aligned(8)));

extern const uint32_t isr_stub_table[IDT_VECTORS];

void gdt_install(void)
{
    struct descriptor_pointer p = {sizeof(gdt) - 1, (uint32_t)gdt};
    __asm__ volatile("lgdt %0" : : "m"(p));
    /* A far jump reloads CS; the data segment registers are reloaded explicitly. */
    __asm__ volatile("ljmp %0, $1f\n"
                     "1:\n\t"
                     "movw %w1, %%ds\n\t"
                     "movw %w1, %%es\n\t"
                     "movw %w1, %%fs\n\t"
                     "movw %w1, %%gs\n\t"
                     "movw %w1, %%ss"
                     :
                     : "i"(KERNEL_CS), "r"(KERNEL_DS)
                     : "memory");
    uint16_t cs, ds, ss;
    __asm__ volatile("movw %%cs, %0\n\tmovw %%ds, %1\n\tmovw %%ss, %2" : "=r"(cs), "=r"(ds), "=r"(ss));
    report("gdt", cs == KERNEL_CS && ds == KERNEL_DS && ss == KERNEL_DS, "cs=%04x ds=%04x ss=%04x", cs, ds, ss);
}

void idt_install(void)
{
    for (int v = 0; v < IDT_VECTORS; v++) {
        uint32_t handler = isr_stub_table[v];
        idt[v].offset_low = (uint16_t)handler;
        idt[v].selector = KERNEL_CS;
        idt[v].zero = 0;
        idt[v].type_attr = 0x8E; /* present, ring 0, 32-bit interrupt gate (clears IF) */
        idt[v].offset_high = (uint16_t)(handler >> 16);
    }
    struct descriptor_pointer p = {sizeof(idt) - 1, (uint32_t)idt};
    __asm__ volatile("lidt %0" : : "m"(p));

    struct descriptor_pointer back;
    __asm__ volatile("sidt %0" : "=m"(back));
    report("idt", back.limit == sizeof(idt) - 1 && back.base == (uint32_t)idt, "vectors=%d limit=%04x", IDT_VECTORS, back.limit);
}
