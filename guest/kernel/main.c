/* kmain: console, command line, descriptor tables, interrupt controller and timer, VMI
 * activation (before interrupts are first enabled), then the boot self-checks, and the exit
 * through the debug port (0 = every check passed). */
#include "kernel/kernel.h"
#include "kernel/uapi.h"

#include "arch/cpu.h"
#include "arch/descriptors.h"
#include "arch/layout.h"
#include "mm/mm.h"
#include "multiboot_info.h"

#define DEBUG_EXIT_PORT 0xF4
#define CMDLINE_MAX 512
#define BOOT_TICKS 5

extern uint32_t boot_magic, boot_info_phys;

static char cmdline[CMDLINE_MAX];
static uint32_t failures;

void kernel_exit(int code)
{
    outb(DEBUG_EXIT_PORT, (uint8_t)code); /* QEMU's isa-debug-exit: status (code << 1) | 1 */
    for (;;)
        irq_disable(), cpu_safe_halt();
}

static void check(const char *name, int ok, uint32_t value)
{
    kprintf("%s %s %u\n", ok ? "ok" : "FAIL", name, value);
    if (!ok)
        failures++;
}

/* The multiboot command line minus its first word (the kernel path QEMU and GRUB put there). */
static void save_cmdline(void)
{
    if (boot_magic != MULTIBOOT_BOOTLOADER_MAGIC)
        return;
    const struct multiboot_info *info = PHYS_TO_VIRT(boot_info_phys);
    if (!(info->flags & MULTIBOOT_INFO_CMDLINE) || info->cmdline == 0)
        return;
    multiboot_arguments(PHYS_TO_VIRT(info->cmdline), cmdline, sizeof cmdline);
}

/* The interrupt-flag operations as a spinlock uses them, and the timer through safe halt. */
static void boot_checks(void)
{
    uint32_t before = irq_save_mask();
    irq_disable();
    uint32_t inside = irq_save_mask();
    irq_restore_mask(before);
    check("irqflags", before == VMI_INTERRUPTS_ENABLED && inside == 0 && irq_save_mask() == before, inside);

    uint32_t start = timer_ticks;
    while (timer_ticks - start < BOOT_TICKS) {
        irq_disable();
        if (timer_ticks - start >= BOOT_TICKS) {
            irq_enable();
            break;
        }
        cpu_safe_halt();
    }
    check("timer", timer_ticks - start >= BOOT_TICKS, BOOT_TICKS);

    uint32_t a, b, c, d;
    cpuid(0, 0, &a, &b, &c, &d);
    check("cpuid", a >= 1 && b != 0, a >= 1);
    uint32_t cr0 = read_cr0();
    check("paging", (cr0 & 0x80000001u) == 0x80000001u, cr0 >> 31);
}

/* The workloads by name, as the bit set the init process understands (kernel/uapi.h). */
#define WORKLOAD_ENTRY(name) { #name, WORKLOAD_BIT(name) },
static const struct {
    const char *name;
    uint32_t bit;
} workloads[] = { WORKLOADS(WORKLOAD_ENTRY) };
#undef WORKLOAD_ENTRY

/* bench=NAME[,NAME...] (or all). An unknown name is reported and fails the boot. */
static uint32_t bench_selection(const char *list)
{
    uint32_t bits = 0;
    const char *p = list;
    while (*p) {
        const char *end = p;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - p);
        int all = n == 3 && strncmp(p, "all", 3) == 0, known = all;
        for (size_t w = 0; w < sizeof workloads / sizeof workloads[0]; w++) {
            if (all || (strlen(workloads[w].name) == n && strncmp(p, workloads[w].name, n) == 0)) {
                bits |= workloads[w].bit;
                known = 1;
            }
        }
        if (!known && !(n == 4 && strncmp(p, "none", 4) == 0)) {
            kprintf("FAIL bench: unknown workload '");
            for (size_t i = 0; i < n; i++)
                uart_putc(p[i]);
            kprintf("'\n");
            failures++;
        }
        p = *end ? end + 1 : end;
    }
    return bits;
}

static void run_workloads(void)
{
    uint32_t selection = bench_selection(boot_options.bench);
    if (selection == 0)
        return;
    int status = proc_run_init(selection, boot_options.iters, fast_syscalls_enabled());
    check("init-exit", status == 0, (uint32_t)status);
}

#ifdef GUEST_SELFTEST_BARE_CLI
/* Only in the build the site-table test makes to prove its check fails: a cli outside any site. */
void selftest_bare_cli(void) { __asm__ volatile("cli"); }
#endif

void kmain(void)
{
    uart_init();
    save_cmdline();
    cmdline_parse(cmdline);
    kprintf("vmi guest kernel\n");
    kprintf("cmdline: %s\n", cmdline);
    kprintf("ring %u\n", kernel_rpl);
    descriptors_install();
    int fast = fast_syscalls_init();
    if (!boot_options.quiet)
        kprintf("syscalls: %s\n", fast ? "sysenter/sysexit and int 0x80" : "int 0x80");
    pic_init();
    vmi_activate();
    if (timer_start(100) && !boot_options.quiet)
        kprintf("timer: the hypervisor's alarm\n");
    phys_init(PHYS_TO_VIRT(boot_info_phys));
    paging_init();
    irq_enable();
    boot_checks();
    paging_checks();
    run_workloads();
    kprintf("done failures=%u\n", failures);
    kernel_exit(failures == 0 ? 0 : 1);
}
