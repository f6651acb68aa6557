/* The boot command line: "key=value" and bare words. vmi=off keeps every site native; quiet
 * drops the per-decision VMI lines; bench=NAME[,NAME...] and iters=N choose the workloads. */
#include "kernel/kernel.h"

struct boot_options boot_options = { .iters = 1000 };

const char *cmdline_value(const char *cmdline, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = cmdline; *p;) {
        while (*p == ' ')
            p++;
        if (strncmp(p, key, n) == 0 && (p[n] == '=' || p[n] == ' ' || p[n] == '\0'))
            return p[n] == '=' ? p + n + 1 : p + n;
        while (*p && *p != ' ')
            p++;
    }
    return NULL;
}

static uint32_t parse_decimal(const char *s)
{
    uint32_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint32_t)(*s++ - '0');
    return v;
}

static int word_is(const char *value, const char *word)
{
    size_t n = strlen(word);
    return value && strncmp(value, word, n) == 0 && (value[n] == ' ' || value[n] == '\0');
}

void cmdline_parse(const char *cmdline)
{
    const char *v;
    boot_options.vmi_off = word_is(cmdline_value(cmdline, "vmi"), "off");
    boot_options.quiet = cmdline_value(cmdline, "quiet") != NULL;
    if ((v = cmdline_value(cmdline, "iters")) && *v)
        boot_options.iters = parse_decimal(v);
    if ((v = cmdline_value(cmdline, "bench"))) {
        size_t i = 0;
        while (v[i] && v[i] != ' ' && i < sizeof boot_options.bench - 1) {
            boot_options.bench[i] = v[i];
            i++;
        }
        boot_options.bench[i] = '\0';
    }
}
