/* Command-line arguments: the kernel reads its options as "key=value" words from the multiboot
 * command line (main.c keeps a copy without the kernel path). */
#include "kernel.h"

/* Returns the value of "key=value" in a space-separated command line, or NULL. The value ends
 * at the next space or NUL. */
const char *cmdline_find(const char *cmdline, const char *key)
{
    size_t keylen = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        if (strncmp(p, key, keylen) == 0 && p[keylen] == '=')
            return p + keylen + 1;
        while (*p && *p != ' ')
            p++;
    }
    return NULL;
}
