/* Shared declarations of the vmi test kernel: a freestanding multiboot v1 kernel whose serial
 * output must be byte-identical on QEMU and on vmi, so nothing here may depend on timing. */
#ifndef TESTKERNEL_KERNEL_H
#define TESTKERNEL_KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_INFO_CMDLINE (1u << 2)

/* The fields of multiboot_info we read; the rest is not needed. */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;
    uint32_t mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
};

/* Register frame built by isr.S: pusha, then vector and error code, then what the CPU pushed. */
struct interrupt_frame {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    uint32_t vector, error_code;
    uint32_t eip, cs, eflags;
};

static inline void outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* uart.c */
void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);

/* printf.c */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* libc.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
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
void timer_test(void);

/* selftests.c */
void run_selftests(void);
uint32_t crc32(const void *data, size_t n);

/* bench.c */
uint32_t bench_loop(uint32_t iters);

#endif
