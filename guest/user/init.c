/* The first user process: runs the workloads chosen on the command line (the kernel passes the
 * selection and the iteration count in registers at entry) and exits. */
#include "user/ulib.h"

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
#define RUN_IF_SELECTED(name)                                                                      \
    if (selection & WORKLOAD_BIT(name))                                                            \
        run(#name, bench_##name, iters);
    WORKLOADS(RUN_IF_SELECTED)
#undef RUN_IF_SELECTED
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
