/* Paging: identity-map the first 8 MiB with 4 KiB pages, alias the kernel image at
 * ALIAS_BASE + physical address, then check that data and code are reachable through the alias,
 * that INVLPG drops a stale translation, and that an unmapped access faults. */
#include "kernel.h"

#define PAGE_SIZE 4096u
#define PTE_PRESENT 0x001u
#define PTE_WRITE 0x002u
#define IDENTITY_TABLES 2 /* 2 x 4 MiB */
#define ALIAS_BASE 0xC0000000u
#define CR0_PG 0x80000000u
#define CR0_WP 0x00010000u

extern char _kernel_start[], _kernel_end[];

static uint32_t page_directory[1024] __attribute__((aligned(4096)));
static uint32_t identity_tables[IDENTITY_TABLES][1024] __attribute__((aligned(4096)));
static uint32_t alias_table[1024] __attribute__((aligned(4096)));

/* Two page-sized buffers for the INVLPG test: one alias page is switched between them. */
static uint8_t invlpg_pages[2][PAGE_SIZE] __attribute__((aligned(4096)));

static volatile uint32_t alias_probe = 0x5EED1234u;

static __attribute__((noinline)) uint32_t alias_call_target(uint32_t x)
{
    return x * 3u + 0x11u;
}

static inline void *alias_of(const void *p)
{
    return (void *)((uint32_t)p + ALIAS_BASE);
}

static inline void invlpg(const void *va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static void build_tables(void)
{
    for (uint32_t t = 0; t < IDENTITY_TABLES; t++) {
        for (uint32_t i = 0; i < 1024; i++)
            identity_tables[t][i] = ((t * 1024 + i) * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
        page_directory[t] = (uint32_t)identity_tables[t] | PTE_PRESENT | PTE_WRITE;
    }
    /* The alias covers only the kernel image (which lies inside the first 4 MiB). */
    uint32_t first = (uint32_t)_kernel_start / PAGE_SIZE;
    uint32_t last = ((uint32_t)_kernel_end + PAGE_SIZE - 1) / PAGE_SIZE;
    for (uint32_t page = first; page < last; page++)
        alias_table[page] = (page * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
    page_directory[ALIAS_BASE >> 22] = (uint32_t)alias_table | PTE_PRESENT | PTE_WRITE;
}

static void enable_paging(void)
{
    __asm__ volatile("movl %0, %%cr3" : : "r"(page_directory) : "memory");
    uint32_t cr0;
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
    cr0 |= CR0_PG | CR0_WP;
    __asm__ volatile("movl %0, %%cr0\n\tjmp 1f\n1:" : : "r"(cr0) : "memory");
}

static void alias_test(void)
{
    volatile uint32_t *alias = alias_of((const void *)&alias_probe);
    uint32_t before = *alias;    /* read through the alias */
    *alias = 0xA11A5000u;        /* write through the alias ... */
    uint32_t after = alias_probe; /* ... and see it through the identity map */

    /* Execute through the alias: fetches go through the high mapping. */
    uint32_t (*fn)(uint32_t) = (uint32_t (*)(uint32_t))alias_of((const void *)alias_call_target);
    uint32_t called = fn(0x1000);

    report("paging-alias", before == 0x5EED1234u && after == 0xA11A5000u && called == 0x3011u,
           "read=%08x write=%08x call=%08x", before, after, called);
}

static void invlpg_test(void)
{
    invlpg_pages[0][0] = 0xAA;
    invlpg_pages[1][0] = 0xBB;
    uint32_t slot = (uint32_t)invlpg_pages[0] / PAGE_SIZE;
    volatile uint8_t *va = alias_of(invlpg_pages[0]);

    uint8_t first = *va; /* caches the translation to page 0 */
    alias_table[slot] = (uint32_t)invlpg_pages[1] | PTE_PRESENT | PTE_WRITE;
    invlpg((const void *)va);
    uint8_t second = *va;
    alias_table[slot] = (uint32_t)invlpg_pages[0] | PTE_PRESENT | PTE_WRITE;
    invlpg((const void *)va);
    uint8_t third = *va;

    report("invlpg", first == 0xAA && second == 0xBB && third == 0xAA, "%02x-%02x-%02x", first, second, third);
}

void paging_tests(void)
{
    build_tables();
    enable_paging();
    uint32_t cr0;
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
    report("paging", (cr0 & CR0_PG) != 0, "identity=%uMiB alias=%08x", IDENTITY_TABLES * 4, ALIAS_BASE + (uint32_t)_kernel_start);
    alias_test();
    invlpg_test();
    page_fault_test();
}
