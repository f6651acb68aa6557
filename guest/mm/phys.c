/* The physical page allocator: one bit per 4 KiB frame below DIRECT_MAP_LIMIT, free where the
 * multiboot memory map says RAM, minus the first MiB (BIOS, option ROMs, the loader's tables) and
 * the kernel image. Allocation takes the lowest free frame, so early page tables land in the part
 * of RAM the boot mapping already covers. */
#include "mm/mm.h"

#include "arch/layout.h"
#include "kernel/kernel.h"

#define FRAMES (DIRECT_MAP_LIMIT / PAGE_SIZE)
#define LOW_MEMORY_END 0x100000

extern uint8_t _kernel_end[];

uint32_t kernel_virtual_top = 0xFFC00000; /* the last 4 MiB stay unused, as an unmapped guard */

static uint32_t free_bitmap[FRAMES / 32];
static uint32_t free_frames;
static uint32_t ram_top;
static uint32_t search_hint;

static void mark_free(uint32_t frame)
{
    if (!(free_bitmap[frame / 32] & (1u << (frame % 32)))) {
        free_bitmap[frame / 32] |= 1u << (frame % 32);
        free_frames++;
    }
}

/* Where the scratch window starts: the first 4 MiB boundary above the RAM the direct map holds. */
uint32_t kernel_scratch_base(void) { return KERNEL_VMA + ((ram_top + SCRATCH_BYTES - 1) & ~(uint32_t)(SCRATCH_BYTES - 1)); }

void phys_init(const struct multiboot_info *info)
{
    /* RAM the direct map can hold below kernel_virtual_top, with room for the scratch window. */
    uint32_t limit = kernel_virtual_top - KERNEL_VMA - SCRATCH_BYTES;
    if (limit > DIRECT_MAP_LIMIT)
        limit = DIRECT_MAP_LIMIT;
    limit &= ~(uint32_t)(SCRATCH_BYTES - 1);
    uint32_t first = (VIRT_TO_PHYS(_kernel_end) + PAGE_SIZE - 1) / PAGE_SIZE;
    if (!(info->flags & MULTIBOOT_INFO_MMAP)) {
        kprintf("PANIC: no multiboot memory map\n");
        kernel_exit(3);
    }
    const uint8_t *p = PHYS_TO_VIRT(info->mmap_addr);
    const uint8_t *end = p + info->mmap_length;
    while (p < end) {
        uint32_t size = *(const uint32_t *)p;
        uint64_t base = *(const uint64_t *)(p + 4);
        uint64_t length = *(const uint64_t *)(p + 12);
        uint32_t type = *(const uint32_t *)(p + 20);
        if (type == 1 && base < limit) {
            uint64_t stop = base + length > limit ? limit : base + length;
            if (stop > ram_top)
                ram_top = (uint32_t)stop;
            for (uint64_t a = (base + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1); a + PAGE_SIZE <= stop; a += PAGE_SIZE)
                if (a >= LOW_MEMORY_END && a / PAGE_SIZE >= first)
                    mark_free((uint32_t)(a / PAGE_SIZE));
        }
        p += size + 4;
    }
}

uint32_t phys_alloc(void)
{
    for (uint32_t w = search_hint; w < FRAMES / 32; w++) {
        if (free_bitmap[w] == 0)
            continue;
        uint32_t bit = (uint32_t)__builtin_ctz(free_bitmap[w]);
        free_bitmap[w] &= ~(1u << bit);
        free_frames--;
        search_hint = w;
        uint32_t phys = (w * 32 + bit) * PAGE_SIZE;
        memset(PHYS_TO_VIRT(phys), 0, PAGE_SIZE);
        return phys;
    }
    kprintf("PANIC: out of physical memory\n");
    kernel_exit(3);
}

void phys_free(uint32_t phys)
{
    uint32_t frame = phys / PAGE_SIZE;
    mark_free(frame);
    if (frame / 32 < search_hint)
        search_hint = frame / 32;
}

uint32_t phys_free_count(void) { return free_frames; }

uint32_t phys_ram_top(void) { return ram_top; }
