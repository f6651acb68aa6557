/* The 8259A pair (remapped to vectors 32-47) and the tick: the hypervisor's periodic alarm on IRQ0
 * when its VMI ROM offers a clock, the 8254 PIT's channel 0 otherwise. */
#include "kernel/kernel.h"

#include "arch/cpu.h"

#define PIC1_COMMAND 0x20
#define PIC1_DATA 0x21
#define PIC2_COMMAND 0xA0
#define PIC2_DATA 0xA1
#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
#define PIT_HZ 1193182u

volatile uint32_t timer_ticks;

void pic_init(void)
{
    outb(PIC1_COMMAND, 0x11);
    io_delay();
    outb(PIC2_COMMAND, 0x11);
    io_delay();
    outb(PIC1_DATA, 32);
    outb(PIC2_DATA, 40);
    outb(PIC1_DATA, 0x04);
    outb(PIC2_DATA, 0x02);
    outb(PIC1_DATA, 0x01);
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xFE); /* only IRQ0 */
    outb(PIC2_DATA, 0xFF);
}

void pit_start(uint32_t hz)
{
    uint32_t divisor = (PIT_HZ + hz / 2) / hz;
    outb(PIT_COMMAND, 0x34); /* channel 0, lobyte/hibyte, rate generator */
    outb(PIT_CHANNEL0, (uint8_t)divisor);
    outb(PIT_CHANNEL0, (uint8_t)(divisor >> 8));
}

/* The tick at `hz`: a VMI ROM that offers the hypervisor's clock (GetCycleFrequency non-zero) gets
 * a periodic alarm, and the PIT is left alone; otherwise the PIT. Returns whether the alarm is used. */
int timer_start(uint32_t hz)
{
    uint64_t frequency = hypervisor_cycle_frequency();
    if (frequency == 0) {
        pit_start(hz);
        return 0;
    }
    uint64_t period = frequency / hz;
    hypervisor_set_alarm(VMI_ALARM_PERIODIC, hypervisor_cycle_counter() + period, period);
    return 1;
}

void pic_eoi(uint32_t irq)
{
    if (irq >= 8)
        outb(PIC2_COMMAND, 0x20);
    outb(PIC1_COMMAND, 0x20);
}
