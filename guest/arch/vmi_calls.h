/* VMI 3.0 call numbers (the ABI's table; vmi-abi.md), for the calls this kernel performs. */
#ifndef GUEST_ARCH_VMI_CALLS_H
#define GUEST_ARCH_VMI_CALLS_H

#define VMI_CALL_CPUID 0
#define VMI_CALL_SetGDT 3
#define VMI_CALL_SetLDT 4
#define VMI_CALL_SetIDT 5
#define VMI_CALL_SetTR 6
#define VMI_CALL_UpdateKernelStack 14
#define VMI_CALL_SetCR0 15
#define VMI_CALL_SetCR3 17
#define VMI_CALL_SetCR4 18
#define VMI_CALL_GetCR0 19
#define VMI_CALL_GetCR2 20
#define VMI_CALL_GetCR3 21
#define VMI_CALL_GetCR4 22
#define VMI_CALL_RDTSC 27
#define VMI_CALL_EnableInterrupts 29
#define VMI_CALL_DisableInterrupts 30
#define VMI_CALL_GetInterruptMask 31
#define VMI_CALL_SetInterruptMask 32
#define VMI_CALL_IRET 33
#define VMI_CALL_SYSEXIT 34
#define VMI_CALL_Halt 35
#define VMI_CALL_SetPxE 38
#define VMI_CALL_AllocatePage 44
#define VMI_CALL_ReleasePage 45
#define VMI_CALL_InvalPage 46
#define VMI_CALL_FlushTLB 47
#define VMI_CALL_INB 50
#define VMI_CALL_OUTB 56
#define VMI_CALL_IODelay 65
#define VMI_CALL_GetCycleFrequency 66
#define VMI_CALL_GetCycleCounter 67
#define VMI_CALL_SetAlarm 68
#define VMI_CALL_SetLazyMode 73

#define VMI_CALL_COUNT 74

/* SetPxE / UpdatePxE flags: the level of the entry, and what the hypervisor may assume. */
#define VMI_PAGE_PT 0x01
#define VMI_PAGE_PD 0x02
#define VMI_PAGE_CURRENT_AS 0x10
#define VMI_PAGE_DEFER 0x20
/* AllocatePage flags besides the level. */
#define VMI_PAGE_CLONE 0x20
#define VMI_PAGE_ZEROED 0x40

/* SetLazyMode modes. */
#define VMI_LAZY_OFF 0
#define VMI_LAZY_MMU 1

/* SetAlarm flags: counter 0 (real cycles), periodic, wired to IRQ0 through the PIC. */
#define VMI_ALARM_PERIODIC 0x100

/* The interrupt mask value meaning "enabled" (EFLAGS.IF). */
#define VMI_INTERRUPTS_ENABLED 0x200

#endif
