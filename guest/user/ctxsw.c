/* bench=ctxsw: two processes hand the CPU to each other with sched_yield; the check hashes what
 * each side counted (the child reports its count through its exit status). */
#include "user/ulib.h"

uint32_t bench_ctxsw(uint32_t iters)
{
    int32_t pid = sys_fork();
    uint32_t count = 0;
    for (uint32_t i = 0; i < iters; i++) {
        sys_yield();
        count += (uint32_t)sys_getpid() & 1;
    }
    if (pid == 0)
        sys_exit((int)(count & 0x7F));
    uint32_t status = 0;
    sys_wait(&status);
    return hash32(hash32(2166136261u, count), status >> 8);
}
