/* Where the kernel lives: linked at 0xC0000000 + 1 MiB (as Linux), loaded at physical 1 MiB. The
 * first 16 MiB of physical memory are mapped at KERNEL_VMA; a physical address below that is
 * reached at phys + KERNEL_VMA. */
#ifndef GUEST_ARCH_LAYOUT_H
#define GUEST_ARCH_LAYOUT_H

#define KERNEL_VMA 0xC0000000
#define KERNEL_DIRECT_MAP_BYTES 0x01000000

#ifndef __ASSEMBLER__
#include <stdint.h>
#define PHYS_TO_VIRT(p) ((void *)((uint32_t)(p) + KERNEL_VMA))
#define VIRT_TO_PHYS(v) ((uint32_t)(v) - KERNEL_VMA)
#endif

#endif
