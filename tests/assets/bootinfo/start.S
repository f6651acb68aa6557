/* Entry of the bootinfo kernel. It is linked with plain `ld -Ttext ADDR -e _start` and no
 * linker script (see the Makefile), so the multiboot header cannot go in a section of its own:
 * ld would place such an orphan section after .text, past the first 8 KiB of the file where the
 * loader searches. It sits at the start of .text instead, and this object is linked first. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-align modules, want memory info; ELF gives the load addresses */

    .section .text
    .balign 4
    .globl multiboot_header
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .globl _start
    .type _start, @function
_start:
    cli
    movl $stack_top, %esp
    cld
    pushl $0                  /* reset EFLAGS: no stray flags from the loader */
    popfl
    pushl %ebx                /* kmain(magic, info) */
    pushl %eax
    call kmain
1:  cli
    hlt
    jmp 1b
    .size _start, . - _start

    .section .bss
    .balign 16
stack_bottom:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
