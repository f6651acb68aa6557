/* Entry of the synthetic Linux kernel: startup_32 as a 32-bit boot loader (or, in the QEMU
 * variant, this image's own real-mode setup) enters it. Before touching anything it records the
 * state the 32-bit boot protocol promises (boot.rst): ESI = boot_params, EBX = EBP = EDI = 0,
 * CS = 0x10, DS = ES = SS = FS = GS = 0x18, interrupts and paging off. kmain checks them. */

    .section .text.entry, "ax"
    .globl _start
    .type _start, @function
_start:
    movl %esi, entry_state + 0
    movl %ebx, entry_state + 4
    movl %ebp, entry_state + 8
    movl %edi, entry_state + 12
    movl $stack_top, %esp         /* the protocol gives no stack; ESP is not part of the state checked */
    pushfl
    popl entry_state + 16
    movw %cs, entry_state + 20
    movw %ds, entry_state + 22
    movw %es, entry_state + 24
    movw %ss, entry_state + 26
    movw %fs, entry_state + 28
    movw %gs, entry_state + 30
    movl %cr0, %eax
    movl %eax, entry_state + 32
    sgdt entry_state + 36
    cld
    pushl $entry_state
    call kmain
1:  cli
    hlt
    jmp 1b
    .size _start, . - _start

    .section .bss
    .balign 16
    .globl entry_state
entry_state:
    .skip 48
stack_bottom:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
