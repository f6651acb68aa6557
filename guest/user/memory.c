/* bench=pgfault: grow the heap by `iters` pages and touch each one (a demand-zero fault apiece).
 * bench=ptemod: flip one heap page read-only and back `iters` times (two entry rewrites and TLB
 * invalidations each), writing through it between the flips. */
#include "user/ulib.h"

#define PAGE 4096

uint32_t bench_pgfault(uint32_t iters)
{
    uint32_t base = sys_brk(0);
    uint32_t end = sys_brk(base + iters * PAGE);
    uint32_t check = 2166136261u;
    for (uint32_t i = 0; i < iters && base + i * PAGE < end; i++) {
        volatile uint32_t *p = (volatile uint32_t *)(base + i * PAGE + (i * 64) % PAGE);
        check = hash32(check, *p); /* a fresh page reads zero */
        *p = i * 2654435761u;
        check = hash32(check, *p);
    }
    sys_brk(base); /* give the pages back: later forks copy the whole user part */
    return hash32(check, (end - base) / PAGE);
}

uint32_t bench_ptemod(uint32_t iters)
{
    uint32_t base = (sys_brk(0) + PAGE - 1) & ~(uint32_t)(PAGE - 1);
    sys_brk(base + PAGE);
    volatile uint32_t *p = (volatile uint32_t *)base;
    *p = 1;
    uint32_t check = 2166136261u;
    for (uint32_t i = 0; i < iters; i++) {
        int32_t a = sys_mprotect(base, PAGE, PROT_READ);
        check = hash32(check, *p);
        int32_t b = sys_mprotect(base, PAGE, PROT_READ | PROT_WRITE);
        *p += i;
        check = hash32(check, (uint32_t)(a | b));
    }
    check = hash32(check, *p);
    sys_brk(base);
    return check;
}
