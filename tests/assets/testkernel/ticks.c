/* "ticks=ITERS [divisor=D]": a timing probe instead of the self-tests. The PIT interrupts at
 * 1193182/D Hz (mode 2) while the CPU runs a fixed busy loop of ITERS iterations; the number of
 * ticks counted is then a function of the instructions executed only, on any machine whose clock
 * counts instructions (vmi; QEMU with -icount shift=0: 1 instruction = 1 ns, vmi's 1 GHz). */
#include "kernel.h"

void ticks_mode(uint32_t iters, uint32_t divisor)
{
    gdt_install();
    idt_install();
    pic_remap();
    irq0_ticks = 0;
    pit_start(divisor);
    __asm__ volatile("sti");
    for (uint32_t i = 0; i < iters; i++)
        __asm__ volatile("" : : : "memory");
    __asm__ volatile("cli");
    outb(0x21, 0xFF);
    kprintf("ticks %u\n", irq0_ticks);
    kernel_exit(0);
}
