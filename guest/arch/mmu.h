/* The MMU operations, each a VMI patch site: page-table entry writes (SetPxE), page-table page
 * announcements (AllocatePage/ReleasePage), lazy-MMU batching (SetLazyMode). Natively an entry
 * write is a store and the rest are nothing; a hypervisor's ROM uses them to keep its shadow or
 * validated tables in step without trapping every store. */
#ifndef GUEST_ARCH_MMU_H
#define GUEST_ARCH_MMU_H

#include <stdint.h>

#include "arch/vmi_calls.h"
#include "arch/vmi_site.h"

#define PTE_PRESENT 0x001
#define PTE_WRITABLE 0x002
#define PTE_USER 0x004
#define PTE_ACCESSED 0x020
#define PTE_DIRTY 0x040
#define PTE_GLOBAL 0x100

/* SetPxE(value, entry pointer, flags): writes one 32-bit entry. */
static inline void set_pxe(uint32_t *entry, uint32_t value, uint32_t flags)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_SetPxE, VMI_CLOBBER_CALL, "movl %%eax, (%%edx)")
                     : "+a"(value), "+d"(entry), "+c"(flags)
                     :
                     : "memory", "cc");
}

/* AllocatePage(pfn, level | flags, clone pfn, start, count): the page becomes a page table.
 * start and count go on the stack (the ROM calling convention's fourth and fifth arguments). */
static inline void announce_page_table(uint32_t pfn, uint32_t level_flags)
{
    uint32_t clone = 0;
    __asm__ volatile("pushl $0\n\tpushl $0\n\t" VMI_SITE(VMI_CALL_AllocatePage, VMI_CLOBBER_CALL, "") "\n\taddl $8, %%esp"
                     : "+a"(pfn), "+d"(level_flags), "+c"(clone)
                     :
                     : "memory", "cc");
}

/* ReleasePage(pfn, level): the page stops being a page table. */
static inline void release_page_table(uint32_t pfn, uint32_t level)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_ReleasePage, VMI_CLOBBER_CALL, "") : "+a"(pfn), "+d"(level) : : "ecx", "memory", "cc");
}

/* SetLazyMode(mode): batch MMU updates until lazy mode is left (which flushes them). */
static inline void set_lazy_mode(uint32_t mode)
{
    __asm__ volatile(VMI_SITE(VMI_CALL_SetLazyMode, VMI_CLOBBER_CALL, "") : "+a"(mode) : : "ecx", "edx", "memory", "cc");
}

#endif
