/* GDT, IDT and TSS set-up, through the SetGDT / SetIDT / SetTR patch sites. */
#include "arch/descriptors.h"

#include "arch/cpu.h"

#define GDT_ENTRIES 8
#define IDT_ENTRIES 129
#define STUB_ENTRIES 48
#define SYSCALL_VECTOR 0x80

struct __attribute__((packed)) tss {
    uint32_t link;
    uint32_t esp0, ss0, esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
};

static uint64_t gdt[GDT_ENTRIES];
static int fast_syscalls;
static uint64_t idt[IDT_ENTRIES];
static struct tss tss;

extern const uint32_t trap_stubs[STUB_ENTRIES];
extern void trap_stub_128(void);
extern uint8_t boot_stack_top[];

uint16_t kernel_cs(void) { return (uint16_t)((kernel_rpl ? GDT_RING1_CODE : GDT_RING0_CODE) | kernel_rpl); }

uint16_t kernel_ds(void) { return (uint16_t)((kernel_rpl ? GDT_RING1_DATA : GDT_RING0_DATA) | kernel_rpl); }

/* A flat 4 GiB segment; access = P | DPL | S | type. */
static uint64_t flat_segment(uint32_t dpl, uint32_t type)
{
    uint64_t access = 0x90 | (dpl << 5) | type;
    return 0x0000FFFFull | (access << 40) | (0xCFull << 48);
}

static uint64_t system_segment(uint32_t base, uint32_t limit, uint32_t type)
{
    return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)(0x80 | type) << 40)
           | ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)(base >> 24) << 56);
}

static uint64_t interrupt_gate(uint32_t offset, uint16_t selector, uint32_t dpl)
{
    return (offset & 0xFFFF) | ((uint64_t)selector << 16) | ((uint64_t)(0x8E | (dpl << 5)) << 40)
           | ((uint64_t)(offset >> 16) << 48);
}

void set_kernel_stack(uint32_t esp0)
{
    /* An interrupt from ring 3 enters the kernel's ring on that ring's TSS stack. */
    if (kernel_rpl == 1) {
        tss.esp1 = esp0;
        tss.ss1 = kernel_ds();
    } else {
        tss.esp0 = esp0;
        tss.ss0 = kernel_ds();
    }
    update_kernel_stack(kernel_ds(), esp0);
    if (fast_syscalls)
        write_msr(MSR_SYSENTER_ESP, esp0);
}

extern void sysenter_entry(void);

int fast_syscalls_enabled(void) { return fast_syscalls; }

int fast_syscalls_init(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    /* SEP (EDX bit 11); the Pentium Pro's early steppings report it without having it. */
    int sep = (d & (1u << 11)) && !(((a >> 8) & 0xF) == 6 && ((a >> 4) & 0xF) < 3 && (a & 0xF) < 3);
    if (!sep || kernel_rpl != 0)
        return 0;
    /* SYSEXIT's targets follow SYSENTER_CS: +16 = user code, +24 = user data (this GDT's order). */
    write_msr(MSR_SYSENTER_CS, GDT_RING0_CODE);
    write_msr(MSR_SYSENTER_EIP, (uint32_t)sysenter_entry);
    write_msr(MSR_SYSENTER_ESP, tss.esp0);
    fast_syscalls = 1;
    return 1;
}

void descriptors_install(void)
{
    gdt[GDT_RING0_CODE >> 3] = flat_segment(0, 0xA);
    gdt[GDT_RING0_DATA >> 3] = flat_segment(0, 0x2);
    gdt[GDT_USER_CODE >> 3] = flat_segment(3, 0xA);
    gdt[GDT_USER_DATA >> 3] = flat_segment(3, 0x2);
    gdt[GDT_RING1_CODE >> 3] = flat_segment(1, 0xA);
    gdt[GDT_RING1_DATA >> 3] = flat_segment(1, 0x2);
    gdt[GDT_TSS >> 3] = system_segment((uint32_t)&tss, sizeof tss - 1, 0x9);
    static struct table_register gdtr;
    gdtr.limit = sizeof gdt - 1;
    gdtr.base = (uint32_t)gdt;
    load_gdt(&gdtr);

    /* Reload every segment register from the new table: CS with a far return; SS with the
     * kernel's ring; the data segments with the flat user segment, which every ring may use, so
     * they need no reload on the way to user mode and back. */
    uint32_t cs = kernel_cs(), ds = kernel_ds();
    __asm__ volatile("pushl %0\n\t"
                     "pushl $1f\n\t"
                     "lret\n"
                     "1:\tmovl %2, %%ds\n\t"
                     "movl %2, %%es\n\t"
                     "movl %2, %%fs\n\t"
                     "movl %2, %%gs\n\t"
                     "movl %1, %%ss"
                     :
                     : "r"(cs), "r"(ds), "r"((uint32_t)(GDT_USER_DATA | 3))
                     : "memory");

    tss.iomap_base = sizeof tss; /* no I/O bitmap: ring 3 has no port access */
    set_kernel_stack((uint32_t)boot_stack_top);
    load_tr(GDT_TSS);

    for (int v = 0; v < STUB_ENTRIES; v++)
        if (trap_stubs[v])
            idt[v] = interrupt_gate(trap_stubs[v], (uint16_t)cs, kernel_rpl);
    /* The system-call gate is the one user code may use (DPL 3). */
    idt[SYSCALL_VECTOR] = interrupt_gate((uint32_t)trap_stub_128, (uint16_t)cs, 3);
    static struct table_register idtr;
    idtr.limit = sizeof idt - 1;
    idtr.base = (uint32_t)idt;
    load_idt(&idtr);
}
