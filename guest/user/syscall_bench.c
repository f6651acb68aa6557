/* bench=syscall: the null system call (getpid), the cheapest round trip through the kernel. */
#include "user/ulib.h"

uint32_t bench_syscall(uint32_t iters)
{
    uint32_t check = 2166136261u;
    for (uint32_t i = 0; i < iters; i++)
        check = hash32(check, (uint32_t)sys_getpid() + i);
    return check;
}
