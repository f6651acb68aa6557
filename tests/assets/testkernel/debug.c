/* Debug exceptions (#DB, vector 1) as the SDM defines them: EFLAGS.TF single-step and DR0-DR3
 * instruction, data and I/O breakpoints enabled by DR7. (ICEBP is tested in the CPU's own tests:
 * QEMU 7.2's TCG answers it with #UD, not the #DB the SDM and silicon give.) Each test counts the #DB it
 * took and where; the same binary gives the same lines on QEMU and on vmi. */
#include "kernel.h"

#define EFLAGS_TF 0x100u
#define EFLAGS_RF 0x10000u
#define DR6_BS (1u << 14)
#define CR4_DE (1u << 3)

static volatile uint32_t db_count;
static volatile uint32_t db_eip;
static volatile uint32_t db_dr6;
static volatile uint32_t expected_eip;
static volatile uint32_t watched_word;

static uint32_t read_dr6(void)
{
    uint32_t v;
    __asm__ volatile("movl %%dr6, %0" : "=r"(v));
    return v;
}

static void write_dr(int n, uint32_t v)
{
    switch (n) {
    case 0: __asm__ volatile("movl %0, %%dr0" : : "r"(v)); break;
    case 1: __asm__ volatile("movl %0, %%dr1" : : "r"(v)); break;
    case 2: __asm__ volatile("movl %0, %%dr2" : : "r"(v)); break;
    case 6: __asm__ volatile("movl %0, %%dr6" : : "r"(v)); break;
    default: __asm__ volatile("movl %0, %%dr7" : : "r"(v)); break;
    }
}

static void reset_debug(void)
{
    write_dr(7, 0);
    write_dr(6, 0);
    db_count = 0;
    db_eip = 0;
    db_dr6 = 0;
}

/* Called from interrupt_dispatch for vector 1. The breakpoint-hit bits (B0-B3, BS) are recorded
 * and cleared (the CPU never clears DR6). A code breakpoint is a fault at the instruction: setting
 * RF in the return EFLAGS lets it run once without hitting the breakpoint again. */
void debug_exception(struct interrupt_frame *frame)
{
    uint32_t dr6 = read_dr6();
    db_count++;
    db_eip = frame->eip;
    db_dr6 |= dr6 & 0xE00Fu;
    write_dr(6, 0);
    if (dr6 & 1u) /* B0: the code breakpoint of code_breakpoint_test */
        frame->eflags |= EFLAGS_RF;
}

/* TF set by POPF traps after each following instruction, not after the POPF itself; the POPF
 * that clears it traps too (TF was set when it began): 4 NOPs + PUSHF + ANDL + POPF = 7. */
static void single_step_test(void)
{
    reset_debug();
    __asm__ volatile("pushfl\n\t"
                     "orl $0x100, (%%esp)\n\t"
                     "popfl\n\t"
                     "nop\n\tnop\n\tnop\n\tnop\n\t"
                     "pushfl\n\t"
                     "andl $0xFFFFFEFF, (%%esp)\n\t"
                     "popfl"
                     :
                     :
                     : "memory", "cc");
    report("singlestep", db_count == 7 && (db_dr6 & DR6_BS), "%u", db_count);
}

/* DR0 on an instruction (R/W = 00, LEN = 00, L0): a fault before it runs, once thanks to RF. */
static void code_breakpoint_test(void)
{
    reset_debug();
    __asm__ volatile("movl $1f, %%eax\n\t"
                     "movl %%eax, expected_eip\n\t"
                     "movl %%eax, %%dr0\n\t"
                     "movl $0x1, %%eax\n\t"
                     "movl %%eax, %%dr7\n\t"
                     "nop\n"
                     "1:\tnop\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "movl %%eax, %%dr7"
                     :
                     :
                     : "eax", "memory");
    report("code-breakpoint", db_count == 1 && db_eip == expected_eip && (db_dr6 & 0xF) == 1, "%u", db_count);
}

/* DR1 on a dword for writes (R/W = 01, LEN = 11, L1): a read passes, a write traps after the store. */
static void data_breakpoint_test(void)
{
    reset_debug();
    write_dr(1, (uint32_t)&watched_word);
    write_dr(7, (1u << 2) | (1u << 20) | (3u << 22));
    uint32_t seen;
    __asm__ volatile("movl watched_word, %0\n\t"
                     "movl $1f, expected_eip\n\t"
                     "movl $5, watched_word\n"
                     "1:"
                     : "=r"(seen)
                     :
                     : "memory");
    write_dr(7, 0);
    report("data-breakpoint", db_count == 1 && db_eip == expected_eip && (db_dr6 & 0xF) == 2 && watched_word == 5,
           "%u", db_count);
    (void)seen;
}

/* With CR4.DE, R/W = 10 is an I/O breakpoint: DR2 on port 0x80 (L2) traps after the OUT. */
static void io_breakpoint_test(void)
{
    uint32_t cr4;
    __asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("movl %0, %%cr4" : : "r"(cr4 | CR4_DE));
    reset_debug();
    write_dr(2, 0x80);
    write_dr(7, (1u << 4) | (2u << 24));
    __asm__ volatile("movl $1f, expected_eip\n\t"
                     "outb %%al, $0x80\n"
                     "1:"
                     :
                     :
                     : "memory");
    write_dr(7, 0);
    __asm__ volatile("movl %0, %%cr4" : : "r"(cr4));
    report("io-breakpoint", db_count == 1 && db_eip == expected_eip && (db_dr6 & 0xF) == 4, "%u", db_count);
}

void debug_tests(void)
{
    single_step_test();
    code_breakpoint_test();
    data_breakpoint_test();
    io_breakpoint_test();
    reset_debug();
}
