/* What the user programs share: output, hashing, the RESULT line, the workloads' entry points. */
#ifndef GUEST_USER_ULIB_H
#define GUEST_USER_ULIB_H

#include <stdint.h>

#include "user/syscall.h"

void uputs(const char *s);
void uput_hex(uint32_t v);
void uput_dec(uint32_t v);
uint32_t hash32(uint32_t h, uint32_t v);
uint64_t user_cycles(void);
void report_result(const char *bench, uint32_t iters, uint32_t check, uint64_t cycles);

uint32_t bench_syscall(uint32_t iters);
uint32_t bench_compute(uint32_t iters);
uint32_t bench_forkwait(uint32_t iters);
uint32_t bench_ctxsw(uint32_t iters);
uint32_t bench_pgfault(uint32_t iters);
uint32_t bench_ptemod(uint32_t iters);
uint32_t bench_divzero(uint32_t iters);
uint32_t bench_cpuid(uint32_t iters);
uint32_t bench_irqflags(uint32_t iters);
uint32_t bench_io(uint32_t iters);
uint32_t bench_kcpuid(uint32_t iters);

#endif
