/* The kernel's page tables: RAM mapped at KERNEL_VMA with 4 KiB pages (replacing the boot
 * mapping's 4 MiB pages and its identity map), every entry written through SetPxE, every table
 * announced with AllocatePage, the bulk work inside a lazy-MMU section. */
#include "mm/mm.h"

#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/mmu.h"
#include "kernel/kernel.h"

static uint32_t kernel_pd_phys;

static uint32_t *table(uint32_t phys) { return (uint32_t *)PHYS_TO_VIRT(phys); }

/* A new, zeroed page table for the 4 MiB at `linear`, hooked into the kernel's directory. */
static uint32_t *new_page_table(uint32_t linear, uint32_t as_flags)
{
    uint32_t pt = phys_alloc();
    announce_page_table(pt / PAGE_SIZE, VMI_PAGE_PT | VMI_PAGE_ZEROED);
    set_pxe(&table(kernel_pd_phys)[linear >> 22], pt | PTE_PRESENT | PTE_WRITABLE, VMI_PAGE_PD | as_flags);
    return table(pt);
}

void paging_init(void)
{
    kernel_pd_phys = phys_alloc();
    announce_page_table(kernel_pd_phys / PAGE_SIZE, VMI_PAGE_PD | VMI_PAGE_ZEROED);
    uint32_t top = phys_ram_top();
    set_lazy_mode(VMI_LAZY_MMU);
    for (uint32_t phys = 0; phys < top; phys += 1024 * PAGE_SIZE) {
        uint32_t *pt = new_page_table(KERNEL_VMA + phys, 0);
        for (uint32_t i = 0; i < 1024 && phys + i * PAGE_SIZE < top; i++)
            set_pxe(&pt[i], (phys + i * PAGE_SIZE) | PTE_PRESENT | PTE_WRITABLE, VMI_PAGE_PT);
    }
    set_lazy_mode(VMI_LAZY_OFF);
    write_cr3(kernel_pd_phys);
}

uint32_t paging_kernel_directory(void) { return kernel_pd_phys; }

/* A new page directory: private (empty) below KERNEL_VMA, the kernel's tables shared above,
 * copied in one lazy-MMU batch (bulk mapping of a directory nothing runs on yet). */
uint32_t paging_new_address_space(void)
{
    uint32_t pd = phys_alloc();
    announce_page_table(pd / PAGE_SIZE, VMI_PAGE_PD | VMI_PAGE_ZEROED);
    set_lazy_mode(VMI_LAZY_MMU);
    for (uint32_t i = KERNEL_VMA >> 22; i < 1024; i++)
        if (table(kernel_pd_phys)[i])
            set_pxe(&table(pd)[i], table(kernel_pd_phys)[i], VMI_PAGE_PD);
    set_lazy_mode(VMI_LAZY_OFF);
    return pd;
}

/* Maps one user page in `directory` (not necessarily the running one), adding its page table. */
void paging_map_user(uint32_t directory, uint32_t linear, uint32_t frame, uint32_t flags)
{
    uint32_t *pde = &table(directory)[linear >> 22];
    if (!(*pde & PTE_PRESENT)) {
        uint32_t pt = phys_alloc();
        announce_page_table(pt / PAGE_SIZE, VMI_PAGE_PT | VMI_PAGE_ZEROED);
        set_pxe(pde, pt | PTE_PRESENT | PTE_WRITABLE | PTE_USER, VMI_PAGE_PD);
    }
    set_pxe(&table(*pde & ~0xFFFu)[(linear >> 12) & 1023], frame | flags, VMI_PAGE_PT);
}

/* The entry mapping `linear` in `directory`, or NULL when the page is not mapped. */
static uint32_t *mapped_pte(uint32_t directory, uint32_t linear)
{
    uint32_t pde = table(directory)[linear >> 22];
    if (!(pde & PTE_PRESENT))
        return NULL;
    uint32_t *pte = &table(pde & ~0xFFFu)[(linear >> 12) & 1023];
    return *pte & PTE_PRESENT ? pte : NULL;
}

/* Write permission of one mapped user page of the running address space (mprotect). */
void paging_protect_user(uint32_t directory, uint32_t linear, int writable)
{
    uint32_t *pte = mapped_pte(directory, linear);
    if (!pte)
        return;
    uint32_t value = writable ? *pte | PTE_WRITABLE : *pte & ~(uint32_t)PTE_WRITABLE;
    set_pxe(pte, value, VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | (linear & ~0xFFFu));
    invlpg(linear);
}

/* fork: a new address space whose user part is a copy of `directory`'s, page by page, with the
 * entry writes batched in a lazy-MMU section. Inside it an entry just written may not be in memory
 * yet (the hypervisor may queue it), so each new table is kept by its pointer, never re-read. */
uint32_t paging_copy_address_space(uint32_t directory)
{
    uint32_t copy = paging_new_address_space();
    set_lazy_mode(VMI_LAZY_MMU);
    for (uint32_t i = 0; i < KERNEL_VMA >> 22; i++) {
        uint32_t pde = table(directory)[i];
        if (!(pde & PTE_PRESENT))
            continue;
        const uint32_t *pt = table(pde & ~0xFFFu);
        uint32_t new_pt = phys_alloc();
        announce_page_table(new_pt / PAGE_SIZE, VMI_PAGE_PT | VMI_PAGE_ZEROED);
        set_pxe(&table(copy)[i], new_pt | PTE_PRESENT | PTE_WRITABLE | PTE_USER, VMI_PAGE_PD);
        for (uint32_t j = 0; j < 1024; j++) {
            if (!(pt[j] & PTE_PRESENT))
                continue;
            uint32_t frame = phys_alloc();
            memcpy(PHYS_TO_VIRT(frame), PHYS_TO_VIRT(pt[j] & ~0xFFFu), PAGE_SIZE);
            set_pxe(&table(new_pt)[j], frame | (pt[j] & 0xFFFu & ~(PTE_ACCESSED | PTE_DIRTY)), VMI_PAGE_PT);
        }
    }
    set_lazy_mode(VMI_LAZY_OFF);
    return copy;
}

/* munmap's batch: the mapped user pages in [start, end) of the running address space go, their
 * entries cleared in one lazy-MMU section and the TLB flushed once after it (page by page for a
 * few, whole for more: Linux's tlb_single_page_flush_ceiling). The frames are free to reuse only
 * after the flush, and nothing allocates before it. */
void paging_unmap_user_range(uint32_t directory, uint32_t start, uint32_t end)
{
    enum { SINGLE_PAGE_FLUSH_CEILING = 33 };
    uint32_t unmapped = 0;
    set_lazy_mode(VMI_LAZY_MMU);
    for (uint32_t a = start; a < end; a += PAGE_SIZE) {
        uint32_t *pte = mapped_pte(directory, a);
        if (!pte)
            continue;
        phys_free(*pte & ~0xFFFu);
        set_pxe(pte, 0, VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | a);
        unmapped++;
    }
    set_lazy_mode(VMI_LAZY_OFF);
    if (!unmapped)
        return;
    if ((end - start + PAGE_SIZE - 1) / PAGE_SIZE > SINGLE_PAGE_FLUSH_CEILING) {
        flush_tlb(VMI_FLUSH_TLB);
        return;
    }
    for (uint32_t a = start; a < end; a += PAGE_SIZE)
        invlpg(a);
}

/* exit: the user part's frames and tables go back to the allocator, each table released with
 * ReleasePage before it is reused. The directory must not be the running one. */
void paging_free_address_space(uint32_t directory)
{
    for (uint32_t i = 0; i < KERNEL_VMA >> 22; i++) {
        uint32_t pde = table(directory)[i];
        if (!(pde & PTE_PRESENT))
            continue;
        const uint32_t *pt = table(pde & ~0xFFFu);
        for (uint32_t j = 0; j < 1024; j++)
            if (pt[j] & PTE_PRESENT)
                phys_free(pt[j] & ~0xFFFu);
        release_page_table((pde & ~0xFFFu) / PAGE_SIZE, VMI_PAGE_PT);
        phys_free(pde & ~0xFFFu);
    }
    release_page_table(directory / PAGE_SIZE, VMI_PAGE_PD);
    phys_free(directory);
}

/* Two virtual pages onto one frame: a store through one is seen through the other; after the
 * second is unmapped (and invalidated) the frame is still reached through the first. */
void paging_checks(void)
{
    const uint32_t KERNEL_SCRATCH_BASE = kernel_scratch_base();
    uint32_t frame = phys_alloc();
    uint32_t *pt = new_page_table(KERNEL_SCRATCH_BASE, VMI_PAGE_CURRENT_AS);
    volatile uint32_t *a = (volatile uint32_t *)KERNEL_SCRATCH_BASE;
    volatile uint32_t *b = (volatile uint32_t *)(KERNEL_SCRATCH_BASE + PAGE_SIZE);
    set_pxe(&pt[0], frame | PTE_PRESENT | PTE_WRITABLE, VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | KERNEL_SCRATCH_BASE);
    set_pxe(&pt[1], frame | PTE_PRESENT | PTE_WRITABLE, VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | (KERNEL_SCRATCH_BASE + PAGE_SIZE));
    *a = 0x5EED1234;
    uint32_t seen = *b;
    set_pxe(&pt[1], 0, VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | (KERNEL_SCRATCH_BASE + PAGE_SIZE));
    invlpg((uint32_t)b);
    *a = 0xA11A5000;
    uint32_t direct = *(volatile uint32_t *)PHYS_TO_VIRT(frame);
    set_pxe(&pt[0], 0, VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | KERNEL_SCRATCH_BASE);
    flush_tlb(VMI_FLUSH_TLB);
    int ok = seen == 0x5EED1234 && direct == 0xA11A5000 && read_cr3() == kernel_pd_phys;
    kprintf("%s paging-alias %08x %08x\n", ok ? "ok" : "FAIL", seen, direct);
    if (!ok)
        kernel_exit(1);
}
