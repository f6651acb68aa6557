/* The kernel's arguments from a multiboot command line. */
#include "multiboot_info.h"

void multiboot_arguments(const char *cmdline, char *out, size_t size)
{
    /* QEMU and GRUB pass "<kernel path> <arguments>"; the path depends on the host, so drop it. */
    const char *p = cmdline;
    while (*p && *p != ' ')
        p++;
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (p[n] && n < size - 1) {
        out[n] = p[n];
        n++;
    }
    out[n] = '\0';
}
