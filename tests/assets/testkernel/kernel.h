/* Shared declarations of the vmi test kernel: a freestanding multiboot v1 kernel whose serial
 * output must be byte-identical on QEMU and on vmi, so nothing here may depend on timing. */
#ifndef TESTKERNEL_KERNEL_H
#define TESTKERNEL_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Shared with the other test kernels, from ../common/include. */
#include "console.h"
#include "libc.h"
#include "multiboot.h"
#include "portio.h"

/* Register frame built by isr.S: pusha, then vector and error code, then what the CPU pushed. */
struct interrupt_frame {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    uint32_t vector, error_code;
    uint32_t eip, cs, eflags;
};

/* cmdline.c */
const char *cmdline_find(const char *cmdline, const char *key);

/* main.c */
void report(const char *name, int passed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void __attribute__((noreturn)) kernel_exit(int code);

/* descriptors.c */
void gdt_install(void);
void idt_install(void);

/* interrupts.c */
extern volatile uint32_t fault_resume;
extern volatile uint32_t irq0_ticks;
void interrupt_dispatch(struct interrupt_frame *frame);
void exception_tests(void);
void page_fault_test(void);

/* paging.c */
void paging_tests(void);

/* timer.c */
void pic_remap(void);
void pit_start(uint32_t divisor);
void timer_test(void);

/* ticks.c */
void __attribute__((noreturn)) ticks_mode(uint32_t iters, uint32_t divisor);

/* debug.c */
void debug_exception(struct interrupt_frame *frame);
void debug_tests(void);

/* selftests.c */
void run_selftests(void);
uint32_t crc32(const void *data, size_t n);

/* bench.c */
uint32_t bench_loop(uint32_t iters);

#endif
