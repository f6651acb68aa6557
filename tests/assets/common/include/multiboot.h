/* Multiboot v1 as seen from C: what multiboot.S hands to kmain, and the fields of the info
 * structure the kernels read. */
#ifndef COMMON_MULTIBOOT_H
#define COMMON_MULTIBOOT_H

#include <stdint.h>

#include "multiboot_info.h"

/* Each kernel's C entry point, called by multiboot.S with EAX and EBX as the loader left them:
 * magic is MULTIBOOT_BOOTLOADER_MAGIC when a multiboot loader started us. It should not return
 * (multiboot.S halts if it does). */
void kmain(uint32_t magic, const struct multiboot_info *info);

#endif
