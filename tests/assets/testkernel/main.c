/* vmi test kernel: boots via multiboot v1, runs deterministic self-tests, reports over COM1 and
 * exits through the isa-debug-exit port (0xF4) with 0 when everything passed, 1 otherwise. */
#include "kernel.h"

#define DEBUG_EXIT_PORT 0xF4
#define CMDLINE_MAX 512
#define DEFAULT_BENCH_ITERS 1000u

static uint32_t failures;
static char cmdline[CMDLINE_MAX];

void report(const char *name, int passed, const char *fmt, ...)
{
    va_list ap;
    kprintf("%s %s ", passed ? "ok" : "FAIL", name);
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    if (!passed)
        failures++;
}

void kernel_exit(int code)
{
    outb(DEBUG_EXIT_PORT, (uint8_t)code); /* QEMU exits with (code << 1) | 1 */
    for (;;)
        __asm__ volatile("cli\n\thlt"); /* a machine without the exit device stops here */
}

/* Copies the command line into the kernel (the loader's copy may sit anywhere in memory), minus
 * its first word: QEMU and GRUB pass "<kernel path> <arguments>", and the path depends on the
 * host, so printing it would make the output differ between machines. */
static void save_arguments(const struct multiboot_info *info)
{
    if (!(info->flags & MULTIBOOT_INFO_CMDLINE) || info->cmdline == 0)
        return;
    multiboot_arguments((const char *)info->cmdline, cmdline, sizeof cmdline);
}

static uint32_t parse_decimal(const char *s)
{
    uint32_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (uint32_t)(*s++ - '0');
    return v;
}

static void maybe_bench(void)
{
    const char *bench = cmdline_find(cmdline, "bench");
    if (!bench || strncmp(bench, "loop", 4) != 0 || (bench[4] != ' ' && bench[4] != '\0'))
        return;
    const char *iters_arg = cmdline_find(cmdline, "iters");
    uint32_t iters = iters_arg ? parse_decimal(iters_arg) : DEFAULT_BENCH_ITERS;
    kprintf("bench loop iters=%u checksum=%08x\n", iters, bench_loop(iters));
}

void kmain(uint32_t magic, const struct multiboot_info *info)
{
    uart_init();
    kprintf("vmi testkernel\n");
    report("multiboot-magic", magic == MULTIBOOT_BOOTLOADER_MAGIC, "%08x", magic);
    if (magic == MULTIBOOT_BOOTLOADER_MAGIC)
        save_arguments(info);
    kprintf("cmdline: %s\n", cmdline);
    const char *ticks = cmdline_find(cmdline, "ticks");
    if (ticks) {
        const char *divisor = cmdline_find(cmdline, "divisor");
        ticks_mode(parse_decimal(ticks), divisor ? parse_decimal(divisor) : 1193);
    }

    run_selftests();
    gdt_install();
    idt_install();
    exception_tests();
    debug_tests();
    paging_tests();
    timer_test();
    maybe_bench();

    kprintf("done failures=%u\n", failures);
    kernel_exit(failures == 0 ? 0 : 1);
}
