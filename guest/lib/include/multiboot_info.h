/* Multiboot v1 as seen from C: the magic, and the fields of the information structure a kernel
 * reads (spec 0.6.96 §3.3). */
#ifndef GUEST_LIB_MULTIBOOT_INFO_H
#define GUEST_LIB_MULTIBOOT_INFO_H

#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MODS (1u << 3)
#define MULTIBOOT_INFO_MMAP (1u << 6)

/* The fields of multiboot_info we read (spec 0.6.96 §3.3); the rest is not needed. */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;
    uint32_t mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
};

/* One entry of the module list at mods_addr: the module occupies [mod_start, mod_end) and
 * string is the physical address of its NUL-terminated string. */
struct multiboot_module {
    uint32_t mod_start;
    uint32_t mod_end;
    uint32_t string;
    uint32_t reserved;
};

/* Copies the command line minus its first word (the kernel path the loader puts first) into out,
 * NUL-terminated, at most size - 1 characters (lib/arguments.c). */
void multiboot_arguments(const char *cmdline, char *out, size_t size);

#endif
