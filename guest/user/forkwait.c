/* bench=forkwait: fork, the child exits with a status of its own, the parent waits for it. The
 * check hashes every child's pid and the status the parent got back. */
#include "user/ulib.h"

uint32_t bench_forkwait(uint32_t iters)
{
    uint32_t check = 2166136261u;
    for (uint32_t i = 0; i < iters; i++) {
        int32_t pid = sys_fork();
        if (pid == 0)
            sys_exit((int)((i * 7 + 3) & 0xFF));
        uint32_t status = 0;
        int32_t reaped = sys_wait(&status);
        check = hash32(hash32(check, (uint32_t)pid), (uint32_t)reaped ^ (status >> 8));
    }
    return check;
}
