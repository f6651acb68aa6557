/* The first user process: runs the workloads chosen on the command line (the kernel passes the
 * selection and the iteration count in registers at entry) and exits. */
#include "user/ulib.h"

#define BENCH_SYSCALL 0x1
#define BENCH_COMPUTE 0x2
#define BENCH_FORKWAIT 0x4
#define BENCH_CTXSW 0x8
#define BENCH_PGFAULT 0x10
#define BENCH_PTEMOD 0x20
#define BENCH_DIVZERO 0x40
#define BENCH_CPUID 0x80
#define BENCH_IRQFLAGS 0x100
#define BENCH_IO 0x200

static void run(const char *name, uint32_t (*bench)(uint32_t), uint32_t iters)
{
    uint64_t start = user_cycles();
    uint32_t check = bench(iters);
    report_result(name, iters, check, user_cycles() - start);
}

uint32_t user_fast_syscalls;

void __attribute__((noreturn, used)) user_main(uint32_t selection, uint32_t iters, uint32_t fast_syscalls)
{
    user_fast_syscalls = fast_syscalls;
    if (selection & BENCH_SYSCALL)
        run("syscall", bench_syscall, iters);
    if (selection & BENCH_FORKWAIT)
        run("forkwait", bench_forkwait, iters);
    if (selection & BENCH_CTXSW)
        run("ctxsw", bench_ctxsw, iters);
    if (selection & BENCH_PGFAULT)
        run("pgfault", bench_pgfault, iters);
    if (selection & BENCH_PTEMOD)
        run("ptemod", bench_ptemod, iters);
    if (selection & BENCH_DIVZERO)
        run("divzero", bench_divzero, iters);
    if (selection & BENCH_CPUID)
        run("cpuid", bench_cpuid, iters);
    if (selection & BENCH_IRQFLAGS)
        run("irqflags", bench_irqflags, iters);
    if (selection & BENCH_IO)
        run("io", bench_io, iters);
    if (selection & BENCH_COMPUTE)
        run("compute", bench_compute, iters);
    sys_exit(0);
}

/* Entry: the kernel starts the process here with EAX = selection, EDX = iterations, ECX = whether
 * SYSENTER is on, and ESP at the top of the user stack. */
__asm__(".globl user_start\n"
        "user_start:\n\t"
        "pushl %ecx\n\t"
        "pushl %edx\n\t"
        "pushl %eax\n\t"
        "call user_main\n");

/* The SYSENTER stub (the role of Linux's vDSO __kernel_vsyscall): EAX = number, EBX, ECX, EDX =
 * arguments. The kernel finds the user stack in EBP and returns to user_sysenter_return. */
__asm__(".globl user_sysenter, user_sysenter_return\n"
        "user_sysenter:\n\t"
        "pushl %ebp\n\t"
        "movl %esp, %ebp\n\t"
        "sysenter\n"
        "user_sysenter_return:\n\t"
        "popl %ebp\n\t"
        "ret\n");
