/* The GDT (ring 0, ring 1 and ring 3 segments, the TSS), the IDT and the TSS. The kernel runs at
 * the privilege level it was started at (kernel_rpl: 0, or 1 under a hypervisor) and uses that
 * ring's selectors and gates. */
#ifndef GUEST_ARCH_DESCRIPTORS_H
#define GUEST_ARCH_DESCRIPTORS_H

#include <stdint.h>

#define GDT_RING0_CODE 0x08
#define GDT_RING0_DATA 0x10
#define GDT_USER_CODE 0x18
#define GDT_USER_DATA 0x20
#define GDT_RING1_CODE 0x28
#define GDT_RING1_DATA 0x30
#define GDT_TSS 0x38

extern uint32_t kernel_rpl;

uint16_t kernel_cs(void);
uint16_t kernel_ds(void);

void descriptors_install(void);

/* Points the TSS's stack for the kernel's ring at esp0 and tells the hypervisor (UpdateKernelStack);
 * with fast system calls on, SYSENTER's stack too. */
void set_kernel_stack(uint32_t esp0);

/* SYSENTER/SYSEXIT for system calls, when CPUID reports SEP and the kernel runs in ring 0 (SYSENTER
 * always enters ring 0). Returns whether they are on. */
int fast_syscalls_init(void);
int fast_syscalls_enabled(void);

#endif
