/* Multiboot v1 entry shared by the kernels: the header, a 16 KiB stack and the call to kmain
 * (multiboot.h). The loader leaves us in 32-bit protected mode with flat segments, paging off,
 * EAX = 0x2BADB002 and EBX = physical address of the multiboot info structure; the romprobe relies
 * on the flat segments and no paging to call a ROM at its physical address. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-align modules, want memory info; ELF gives the load addresses */

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .bss
    .balign 16
stack_bottom:
    .skip 16384
stack_top:

    .section .text
    .globl _start
    .type _start, @function
_start:
    cli
    movl $stack_top, %esp     /* also the stack ROM calls push onto and may use */
    cld                       /* gcc's ABI and ROM calls assume DF clear; the loader does not promise it */
    pushl $0                  /* reset EFLAGS: no stray AC/NT/IF from the loader */
    popfl
    pushl %ebx                /* kmain(magic, info) */
    pushl %eax
    call kmain
1:  cli
    hlt
    jmp 1b
    .size _start, . - _start

    .section .note.GNU-stack, "", @progbits
