/* Interrupt dispatch and the deliberate-exception tests. A test that expects a fault stores the
 * address to resume at in fault_resume (the instruction after the faulting one); the handler
 * records what happened and resumes there, which is how the faulting instruction gets skipped. */
#include "kernel.h"

#define PIC1_COMMAND 0x20
#define PIC_EOI 0x20
#define VECTOR_DEBUG 1
#define VECTOR_IRQ0 0x20
#define VECTOR_IRQ7 0x27

volatile uint32_t fault_resume;
volatile uint32_t irq0_ticks;

static volatile uint32_t fault_vector;
static volatile uint32_t fault_error;
static volatile uint32_t fault_cr2;
static volatile uint32_t fault_count;

static uint32_t read_cr2(void)
{
    uint32_t v;
    __asm__ volatile("movl %%cr2, %0" : "=r"(v));
    return v;
}

void interrupt_dispatch(struct interrupt_frame *frame)
{
    if (frame->vector == VECTOR_IRQ0) {
        irq0_ticks++;
        outb(PIC1_COMMAND, PIC_EOI);
        return;
    }
    if (frame->vector == VECTOR_DEBUG && fault_resume == 0) {
        debug_exception(frame);
        return;
    }
    if (frame->vector == VECTOR_IRQ7)
        return; /* spurious IRQ from the master PIC: no EOI, per the 8259 datasheet */
    if (frame->vector < 32 && fault_resume != 0) {
        fault_vector = frame->vector;
        fault_error = frame->error_code;
        fault_cr2 = frame->vector == 14 ? read_cr2() : 0;
        fault_count++;
        frame->eip = fault_resume;
        fault_resume = 0;
        return;
    }
    kprintf("FAIL unexpected-interrupt vector=%u err=%08x eip=%08x\n", frame->vector, frame->error_code, frame->eip);
    kernel_exit(1);
}

static void expect_fault(void)
{
    fault_vector = 0xFFFFFFFFu;
    fault_error = 0;
    fault_cr2 = 0;
    fault_count = 0;
}

static void divide_error_test(void)
{
    expect_fault();
    __asm__ volatile("movl $1f, fault_resume\n\t"
                     "movl $1, %%eax\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "xorl %%ecx, %%ecx\n\t"
                     "divl %%ecx\n" /* #DE: divide by zero */
                     "1:"
                     :
                     :
                     : "eax", "ecx", "edx", "memory", "cc");
    report("exception-de", fault_count == 1 && fault_vector == 0, "vector=%u", fault_vector);
}

static void invalid_opcode_test(void)
{
    expect_fault();
    __asm__ volatile("movl $1f, fault_resume\n\t"
                     "ud2\n"
                     "1:"
                     :
                     :
                     : "memory");
    report("exception-ud", fault_count == 1 && fault_vector == 6, "vector=%u", fault_vector);
}

static void idiv_overflow_test(void)
{
    /* INT_MIN / -1 overflows the quotient: also #DE, a case emulators often get wrong. */
    expect_fault();
    __asm__ volatile("movl $1f, fault_resume\n\t"
                     "movl $0x80000000, %%eax\n\t"
                     "cltd\n\t"
                     "movl $-1, %%ecx\n\t"
                     "idivl %%ecx\n"
                     "1:"
                     :
                     :
                     : "eax", "ecx", "edx", "memory", "cc");
    report("exception-de-overflow", fault_count == 1 && fault_vector == 0, "vector=%u", fault_vector);
}

void exception_tests(void)
{
    divide_error_test();
    idiv_overflow_test();
    invalid_opcode_test();
}

/* Used by paging.c once paging is on: write to an unmapped address, report CR2 and the error code. */
void page_fault_test(void)
{
    expect_fault();
    __asm__ volatile("movl $1f, fault_resume\n\t"
                     "movl $0xDEADBEEF, %%eax\n\t"
                     "movl $0x12345678, (%%eax)\n" /* #PF: no page directory entry maps it */
                     "1:"
                     :
                     :
                     : "eax", "memory");
    /* Error code 2: write access (bit 1), page not present (bit 0 clear), supervisor (bit 2 clear). */
    report("pagefault", fault_count == 1 && fault_vector == 14 && fault_cr2 == 0xDEADBEEFu && fault_error == 2,
           "cr2=%08x err=%08x", fault_cr2, fault_error);
}
