/* Declarations shared by the kernel's subsystems. */
#ifndef GUEST_KERNEL_KERNEL_H
#define GUEST_KERNEL_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "libc.h"

/* The interrupt frame entry.S builds: pushal, then vector and error code, then what the CPU pushed. */
struct trap_frame {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    uint32_t vector, error_code;
    uint32_t eip, cs, eflags;
    uint32_t user_esp, user_ss; /* pushed by the CPU only when the trap came from another ring */
};

/* main.c */
void __attribute__((noreturn)) kernel_exit(int code);

/* cmdline.c: the boot options. */
struct boot_options {
    int vmi_off;
    int quiet;
    uint32_t iters;
    char bench[64];
};
extern struct boot_options boot_options;
void cmdline_parse(const char *cmdline);
const char *cmdline_value(const char *cmdline, const char *key);

/* timer.c */
extern volatile uint32_t timer_ticks;
void pic_init(void);
void pit_start(uint32_t hz);
int timer_start(uint32_t hz);
void pic_eoi(uint32_t irq);

/* traps.c */
void trap_dispatch(struct trap_frame *frame);

/* proc.c */
int proc_run_init(uint32_t selection, uint32_t iters, int fast_syscalls);
void syscall_dispatch(struct trap_frame *frame);
void proc_preempt(struct trap_frame *frame);
int proc_user_fault(struct trap_frame *frame);

/* vmi/activate.c */
void vmi_activate(void);

#endif
