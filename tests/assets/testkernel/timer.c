/* PIC remap and PIT channel 0 at 100 Hz; the test counts ticks with HLT until 10 arrived.
 * Only the count is printed, never a time, so the output does not depend on host speed. */
#include "kernel.h"

#define PIC1_COMMAND 0x20
#define PIC1_DATA 0x21
#define PIC2_COMMAND 0xA0
#define PIC2_DATA 0xA1
#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
#define PIT_HZ 1193182u
#define TIMER_HZ 100u
#define TICKS_TO_WAIT 10u

void pic_remap(void)
{
    outb(PIC1_COMMAND, 0x11); /* ICW1: edge triggered, cascade, ICW4 follows */
    outb(PIC2_COMMAND, 0x11);
    outb(PIC1_DATA, 0x20);    /* ICW2: master vectors 0x20-0x27 */
    outb(PIC2_DATA, 0x28);    /* ICW2: slave vectors 0x28-0x2F */
    outb(PIC1_DATA, 0x04);    /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 0x02);    /* ICW3: slave identity 2 */
    outb(PIC1_DATA, 0x01);    /* ICW4: 8086 mode */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xFE);    /* only IRQ0 (the PIT) unmasked */
    outb(PIC2_DATA, 0xFF);
}

void pit_start(uint32_t divisor)
{
    outb(PIT_COMMAND, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
    outb(PIT_CHANNEL0, (uint8_t)divisor);
    outb(PIT_CHANNEL0, (uint8_t)(divisor >> 8));
}

void timer_test(void)
{
    pic_remap();
    uint8_t mask = inb(PIC1_DATA);
    irq0_ticks = 0;
    pit_start((PIT_HZ + TIMER_HZ / 2) / TIMER_HZ); /* 11932 */

    /* cli/check/sti;hlt: STI's one-instruction shadow means no tick can slip in between the
     * check and the HLT, so each tick wakes exactly one HLT. */
    uint32_t ticks;
    for (;;) {
        __asm__ volatile("cli");
        ticks = irq0_ticks;
        if (ticks >= TICKS_TO_WAIT)
            break;
        __asm__ volatile("sti\n\thlt" : : : "memory");
    }
    outb(PIC1_DATA, 0xFF); /* mask the PIT again: later output must not race with ticks */
    report("timer", ticks == TICKS_TO_WAIT && mask == 0xFE, "%u", ticks);
}
