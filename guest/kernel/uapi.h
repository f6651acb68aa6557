/* The interface between the kernel and its user programs, in one place for both sides: the
 * system-call numbers (Linux i386's, plus two private ones), mprotect's bits, the wait-status
 * encoding, and the workloads init runs (the kernel turns bench= names into this bit set). */
#ifndef GUEST_KERNEL_UAPI_H
#define GUEST_KERNEL_UAPI_H

#define SYS_exit 1
#define SYS_fork 2
#define SYS_write 4
#define SYS_waitpid 7
#define SYS_getpid 20
#define SYS_brk 45
#define SYS_mprotect 125
#define SYS_sched_yield 158
/* Private calls that run a kernel-side loop for the workloads that measure kernel operations. */
#define SYS_bench_irqflags 400
#define SYS_bench_io 401
#define SYS_bench_kcpuid 402

#define PROT_READ 1
#define PROT_WRITE 2

/* Wait statuses, as Linux encodes them: exit code << 8, or the number of the signal that ended it. */
#define SIGFPE 8
#define SIGSEGV 11
#define WIFEXITED(s) (((s) & 0x7F) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xFF)
#define WTERMSIG(s) ((s) & 0x7F)

/* The workloads, in the order init runs them; X(name) for each. */
#define WORKLOADS(X) X(syscall) X(forkwait) X(ctxsw) X(pgfault) X(ptemod) X(divzero) X(cpuid) X(kcpuid) X(irqflags) X(io) X(compute)

#define WORKLOAD_INDEX(name) WORKLOAD_INDEX_##name,
enum { WORKLOADS(WORKLOAD_INDEX) WORKLOAD_COUNT };
#undef WORKLOAD_INDEX

/* Bit n of init's selection: workload n of WORKLOADS. */
#define WORKLOAD_BIT(name) (1u << WORKLOAD_INDEX_##name)

#endif
