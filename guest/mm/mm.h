/* Memory management: the physical page allocator (phys.c) and the kernel's page tables
 * (paging.c). RAM is mapped at KERNEL_VMA (the direct map), up to DIRECT_MAP_LIMIT. */
#ifndef GUEST_MM_MM_H
#define GUEST_MM_MM_H

#include <stdint.h>

#include "multiboot_info.h"

#define PAGE_SIZE 4096
#define DIRECT_MAP_LIMIT 0x10000000 /* at most 256 MiB of RAM at 0xC0000000..0xCFFFFFFF */
#define SCRATCH_BYTES 0x400000      /* one page table of kernel addresses for temporary mappings, above the direct map */

/* The first kernel virtual address the kernel must not use: the ROM's virtual_top (the hypervisor
 * owns what lies above it), or the top of the address space. Set by VMI activation, before
 * phys_init sizes the direct map to fit below it with the scratch window. */
extern uint32_t kernel_virtual_top;

/* phys.c */
void phys_init(const struct multiboot_info *info);
uint32_t kernel_scratch_base(void);
uint32_t phys_alloc(void); /* a zeroed frame's physical address; panics when RAM is exhausted */
void phys_free(uint32_t phys);
uint32_t phys_free_count(void);
uint32_t phys_ram_top(void);

/* paging.c */
void paging_init(void);
uint32_t paging_kernel_directory(void);
uint32_t paging_new_address_space(void);
void paging_map_user(uint32_t directory, uint32_t linear, uint32_t frame, uint32_t flags);
uint32_t paging_copy_address_space(uint32_t directory);
void paging_protect_user(uint32_t directory, uint32_t linear, int writable);
void paging_unmap_user_range(uint32_t directory, uint32_t start, uint32_t end);
void paging_free_address_space(uint32_t directory);
void paging_checks(void);

#endif
