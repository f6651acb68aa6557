/* bench=cpuid: CPUID from user mode (a trap under full virtualization); the check uses only what
 * every x86 answers alike (leaf 0 reports a maximum leaf of at least 1), since vendors differ.
 * bench=kcpuid / bench=irqflags / bench=io: the kernel's CPUID, interrupt-flag operations and port
 * reads (each a VMI patch site), driven by a system call that loops in the kernel. */
#include "user/ulib.h"

uint32_t bench_cpuid(uint32_t iters)
{
    uint32_t check = 2166136261u;
    for (uint32_t i = 0; i < iters; i++) {
        uint32_t a, b, c, d;
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
        check = hash32(check, ((uint32_t)(a >= 1) << 16) + i);
    }
    return check;
}

uint32_t bench_irqflags(uint32_t iters) { return hash32(2166136261u, sys_bench_irqflags(iters)); }

uint32_t bench_io(uint32_t iters) { return hash32(2166136261u, sys_bench_io(iters)); }

uint32_t bench_kcpuid(uint32_t iters) { return hash32(2166136261u, sys_bench_kcpuid(iters)); }
