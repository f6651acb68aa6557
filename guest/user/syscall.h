/* The system-call interface as user programs see it: int 0x80, number in EAX, arguments in EBX,
 * ECX, EDX, result in EAX (Linux i386's convention and numbers). */
#ifndef GUEST_USER_SYSCALL_H
#define GUEST_USER_SYSCALL_H

#include <stdint.h>

#include "kernel/uapi.h"

/* Set at start when the kernel enabled SYSENTER: system calls then go through user_sysenter
 * (user/init.c), which the kernel returns from with SYSEXIT (ECX and EDX are lost). */
extern uint32_t user_fast_syscalls;

static inline int32_t syscall3(uint32_t n, uint32_t a, uint32_t b, uint32_t c)
{
    if (user_fast_syscalls) {
        __asm__ volatile("call user_sysenter" : "+a"(n), "+c"(b), "+d"(c) : "b"(a) : "memory", "cc");
        return (int32_t)n;
    }
    int32_t r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory", "cc");
    return r;
}

static inline void __attribute__((noreturn)) sys_exit(int code)
{
    syscall3(SYS_exit, (uint32_t)code, 0, 0);
    for (;;)
        ;
}

static inline int32_t sys_write(const char *s, uint32_t n) { return syscall3(SYS_write, 1, (uint32_t)s, n); }

static inline int32_t sys_getpid(void) { return syscall3(SYS_getpid, 0, 0, 0); }

static inline int32_t sys_fork(void) { return syscall3(SYS_fork, 0, 0, 0); }

/* waitpid(-1, &status, 0): any child. */
static inline int32_t sys_wait(uint32_t *status) { return syscall3(SYS_waitpid, (uint32_t)-1, (uint32_t)status, 0); }

static inline int32_t sys_yield(void) { return syscall3(SYS_sched_yield, 0, 0, 0); }

static inline uint32_t sys_brk(uint32_t end) { return (uint32_t)syscall3(SYS_brk, end, 0, 0); }

static inline int32_t sys_mprotect(uint32_t addr, uint32_t length, uint32_t prot) { return syscall3(SYS_mprotect, addr, length, prot); }

static inline uint32_t sys_bench_irqflags(uint32_t n) { return (uint32_t)syscall3(SYS_bench_irqflags, n, 0, 0); }

static inline uint32_t sys_bench_io(uint32_t n) { return (uint32_t)syscall3(SYS_bench_io, n, 0, 0); }

static inline uint32_t sys_bench_kcpuid(uint32_t n) { return (uint32_t)syscall3(SYS_bench_kcpuid, n, 0, 0); }

#endif
