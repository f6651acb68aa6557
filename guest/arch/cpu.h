/* Every privileged or sensitive CPU operation of the kernel, each one a VMI patch site
 * (vmi_site.h): native code until VMI activation rewrites it from the ROM's answers. The native
 * code takes its operands where the ROM call takes its arguments (EAX, EDX, ECX) and leaves its
 * result where the call does, and each wrapper declares what the call may clobber. */
#ifndef GUEST_ARCH_CPU_H
#define GUEST_ARCH_CPU_H

#include <stdint.h>

#include "arch/vmi_calls.h"
#include "arch/vmi_site.h"

/* cli/sti and the flag save/restore change only EFLAGS (the ABI's interrupt-flag calls). */
static inline void irq_disable(void)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_DisableInterrupts, VMI_CLOBBER_NONE, "cli") : : : "memory", "cc");
}

static inline void irq_enable(void)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_EnableInterrupts, VMI_CLOBBER_NONE, "sti") : : : "memory", "cc");
}

/* 0x200 when interrupts are enabled, 0 otherwise. */
static inline uint32_t irq_save_mask(void)
{
    uint32_t mask;
    __asm__ volatile(VMI_SITE(VMI_CALL_GetInterruptMask, VMI_CLOBBER_NONE, "pushfl; popl %%eax; andl $0x200, %%eax")
                     : "=a"(mask)
                     :
                     : "memory", "cc");
    return mask;
}

static inline void irq_restore_mask(uint32_t mask)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_SetInterruptMask, VMI_CLOBBER_NONE,
                              "testl $0x200, %%eax; jz 3f; sti; jmp 4f; 3: cli; 4:")
                     :
                     : "a"(mask)
                     : "memory", "cc");
}

/* Linux's safe_halt: enable interrupts and halt atomically (STI's shadow), so a pending
 * interrupt wakes it. */
static inline void cpu_safe_halt(void)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_Halt, VMI_CLOBBER_CALL, "sti; hlt") : : : "eax", "ecx", "edx", "memory", "cc");
}

#define CPU_READ_CR(n, call)                                                                   \
    static inline uint32_t read_cr##n(void)                                                    \
    {                                                                                          \
        uint32_t v;                                                                            \
        __asm__ volatile(VMI_SITE(call, VMI_CLOBBER_CALL, "movl %%cr" #n ", %%eax")            \
                         : "=a"(v)                                                             \
                         :                                                                     \
                         : "ecx", "edx", "memory", "cc");                                      \
        return v;                                                                              \
    }
CPU_READ_CR(0, VMI_CALL_GetCR0)
CPU_READ_CR(2, VMI_CALL_GetCR2)
CPU_READ_CR(3, VMI_CALL_GetCR3)
CPU_READ_CR(4, VMI_CALL_GetCR4)

#define CPU_WRITE_CR(n, call)                                                                  \
    static inline void write_cr##n(uint32_t v)                                                 \
    {                                                                                          \
        __asm__ volatile(VMI_SITE(call, VMI_CLOBBER_CALL, "movl %%eax, %%cr" #n)               \
                         : "+a"(v)                                                             \
                         :                                                                     \
                         : "ecx", "edx", "memory", "cc");                                      \
    }
CPU_WRITE_CR(0, VMI_CALL_SetCR0)
CPU_WRITE_CR(3, VMI_CALL_SetCR3)
CPU_WRITE_CR(4, VMI_CALL_SetCR4)

static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_CPUID, VMI_CLOBBER_NONE, "cpuid")
                     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                     : "a"(leaf), "c"(subleaf)
                     : "memory", "cc");
}

/* The hypervisor's clock (VMI timer calls). Natively there is none: GetCycleFrequency answers 0
 * and the kernel keeps the PIT; GetCycleCounter is the TSC. */
static inline uint64_t hypervisor_cycle_frequency(void)
{
    uint32_t lo, hi;
    __asm__ volatile(VMI_SITE(VMI_CALL_GetCycleFrequency, VMI_CLOBBER_CALL, "xorl %%eax, %%eax; xorl %%edx, %%edx")
                     : "=a"(lo), "=d"(hi) : : "ecx", "memory", "cc");
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t hypervisor_cycle_counter(void)
{
    uint32_t lo = 0, hi;
    __asm__ volatile(VMI_SITE(VMI_CALL_GetCycleCounter, VMI_CLOBBER_CALL, "rdtsc") : "+a"(lo), "=d"(hi) : : "ecx", "memory", "cc");
    return ((uint64_t)hi << 32) | lo;
}

/* SetAlarm(flags, expiry, period): the period is the call's stack argument (8 bytes, low word first).
 * Natively nothing happens (only called when the hypervisor has a clock). */
static inline void hypervisor_set_alarm(uint32_t flags, uint64_t expiry, uint64_t period)
{
    uint32_t lo = (uint32_t)expiry, hi = (uint32_t)(expiry >> 32);
    __asm__ volatile("pushl %[ph]\n\tpushl %[pl]\n\t" VMI_SITE(VMI_CALL_SetAlarm, VMI_CLOBBER_CALL, "") "\n\taddl $8, %%esp"
                     : "+a"(flags), "+d"(lo), "+c"(hi)
                     : [pl] "r"((uint32_t)period), [ph] "r"((uint32_t)(period >> 32))
                     : "memory", "cc");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile(VMI_SITE(VMI_CALL_RDTSC, VMI_CLOBBER_CALL, "rdtsc") : "=a"(lo), "=d"(hi) : : "ecx", "memory", "cc");
    return ((uint64_t)hi << 32) | lo;
}

/* Port I/O: INB(port in EDX) -> EAX; OUTB(value in EAX, port in EDX). */
static inline uint8_t inb(uint16_t port)
{
    uint32_t v, p = port;
    __asm__ volatile(VMI_SITE(VMI_CALL_INB, VMI_CLOBBER_CALL, "inb %%dx, %%al; movzbl %%al, %%eax")
                     : "=a"(v), "+d"(p)
                     :
                     : "ecx", "memory", "cc");
    return (uint8_t)v;
}

static inline void outb(uint16_t port, uint8_t value)
{
    uint32_t v = value, p = port;
    __asm__ volatile(VMI_SITE(VMI_CALL_OUTB, VMI_CLOBBER_CALL, "outb %%al, %%dx") : "+a"(v), "+d"(p) : : "ecx", "memory", "cc");
}

static inline void io_delay(void)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_IODelay, VMI_CLOBBER_CALL, "outb %%al, $0x80") : : : "eax", "ecx", "edx", "memory", "cc");
}

/* MSRs stay native, as in Linux: the hypervisor traps and emulates them. */
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

static inline void write_msr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
}

/* Descriptor-table registers: SetGDT/SetIDT take a pointer to the 6-byte image, SetTR/SetLDT a selector. */
struct __attribute__((packed)) table_register {
    uint16_t limit;
    uint32_t base;
};

static inline void load_gdt(const struct table_register *r)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_SetGDT, VMI_CLOBBER_CALL, "lgdt (%%eax)") : "+a"(r) : : "ecx", "edx", "memory", "cc");
}

static inline void load_idt(const struct table_register *r)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_SetIDT, VMI_CLOBBER_CALL, "lidt (%%eax)") : "+a"(r) : : "ecx", "edx", "memory", "cc");
}

static inline void load_tr(uint32_t selector)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_SetTR, VMI_CLOBBER_CALL, "ltr %%ax") : "+a"(selector) : : "ecx", "edx", "memory", "cc");
}

static inline void load_ldt(uint32_t selector)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_SetLDT, VMI_CLOBBER_CALL, "lldt %%ax") : "+a"(selector) : : "ecx", "edx", "memory", "cc");
}

/* UpdateKernelStack(SS0 selector, esp0), after the kernel stored esp0 in its own TSS, as Linux
 * calls it: natively there is nothing left to do. */
static inline void update_kernel_stack(uint32_t ss0, uint32_t esp0)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_UpdateKernelStack, VMI_CLOBBER_CALL, "")
                     : "+a"(ss0), "+d"(esp0)
                     :
                     : "ecx", "memory", "cc");
}

static inline void invlpg(uint32_t linear)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_InvalPage, VMI_CLOBBER_CALL, "invlpg (%%eax)") : "+a"(linear) : : "ecx", "edx", "memory", "cc");
}

#define VMI_FLUSH_TLB 1
#define VMI_FLUSH_GLOBAL 2

/* FlushTLB(1) or (1|2): the global flush toggles CR4.PGE around a CR3 reload, as Linux does. */
static inline void flush_tlb(uint32_t how)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_FlushTLB, VMI_CLOBBER_CALL,
                              "movl %%cr4, %%ecx; testl $2, %%eax; jz 3f; movl %%ecx, %%edx; andl $~0x80, %%edx; movl %%edx, %%cr4; "
                              "3: movl %%cr3, %%edx; movl %%edx, %%cr3; movl %%ecx, %%cr4")
                     : "+a"(how)
                     :
                     : "ecx", "edx", "memory", "cc");
}

#endif
