/* bench=divzero: a child divides by zero; the kernel ends it as SIGFPE would and the parent reads
 * that from the wait status. The check hashes every status. */
#include "user/ulib.h"

uint32_t bench_divzero(uint32_t iters)
{
    uint32_t check = 2166136261u;
    for (uint32_t i = 0; i < iters; i++) {
        int32_t pid = sys_fork();
        if (pid == 0) {
            volatile uint32_t zero = 0;
            volatile uint32_t q = (i + 1) / zero;
            sys_exit((int)q); /* not reached */
        }
        uint32_t status = 0;
        sys_wait(&status);
        check = hash32(check, WIFEXITED(status) ? 0x100 | WEXITSTATUS(status) : WTERMSIG(status));
    }
    return check;
}
