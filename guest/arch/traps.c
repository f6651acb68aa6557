/* Exceptions and interrupts after entry.S: timer ticks, and a report for anything unexpected. */
#include "kernel/kernel.h"

#include "arch/cpu.h"

#define VECTOR_IRQ_BASE 32
#define VECTOR_SYSCALL 0x80

void trap_dispatch(struct trap_frame *frame)
{
    if (frame->vector == VECTOR_SYSCALL) {
        syscall_dispatch(frame);
        return;
    }
    if (frame->vector >= VECTOR_IRQ_BASE) {
        uint32_t irq = frame->vector - VECTOR_IRQ_BASE;
        if (irq == 0)
            timer_ticks++;
        if (irq != 7) /* a spurious IRQ7 gets no EOI (8259A datasheet) */
            pic_eoi(irq);
        if (irq == 0)
            proc_preempt(frame);
        return;
    }
    if (proc_user_fault(frame))
        return;
    kprintf("PANIC: exception %u error %08x at eip %08x cr2 %08x\n", frame->vector, frame->error_code, frame->eip,
            frame->vector == 14 ? read_cr2() : 0);
    kernel_exit(3);
}
