/* Real-mode setup for linux-qemu.bzImage (included by bzimage.S after the header): what Linux's
 * own setup (arch/x86/boot: main.c, memory.c, pm.c, pmjump.S) does before it enters the
 * protected-mode kernel, reduced to what the synthetic kernel checks. QEMU's -kernel loads this
 * part at 0x10000 with the header fields it owns filled in (cmd_line_ptr, ramdisk_image and size,
 * type_of_loader), and its option ROM jumps to 0x1020:0000 with DS = ES = SS = 0x1000. This code:
 *   1. clears a zero page at 0x8000 and copies the setup header into it, as setup's
 *      copy_boot_params() does;
 *   2. fills its E820 map from the BIOS (INT 15h, AX = E820h), as detect_memory_e820() does;
 *   3. enters protected mode with the boot GDT (flat code 0x10, data 0x18), loads the data
 *      selectors, ESI = the zero page, EBX = EBP = EDI = 0, and jumps to code32_start. */

#define ZERO_PAGE_SEG 0x0800
#define ZERO_PAGE 0x8000
#define SMAP 0x534D4150

    /* CS is 0x1020 here; make it DS so labels (linked at offset 0 of this part) are offsets. */
    pushw %ds
    pushw $rm_start
    lret
rm_start:
    cli
    movw %ds, %ax
    movw %ax, %ss
    movw $0xF000, %sp
    cld

    movw $ZERO_PAGE_SEG, %ax
    movw %ax, %es
    xorw %di, %di
    xorw %ax, %ax
    movw $2048, %cx
    rep stosw
    movw $0x1F1, %si
    movw $0x1F1, %di
    movw $(setup_code - 0x1F1), %cx
    rep movsb

    movw $0x2D0, %di
    xorl %ebx, %ebx
    xorw %bp, %bp
e820_next:
    movl $0xE820, %eax
    movl $20, %ecx
    movl $SMAP, %edx
    int $0x15
    jc e820_done
    cmpl $SMAP, %eax
    jne e820_done
    incw %bp
    addw $20, %di
    cmpw $128, %bp
    jae e820_done
    testl %ebx, %ebx
    jnz e820_next
e820_done:
    movw %bp, %ax
    movb %al, %es:0x1E8

    /* The GDT's and the 32-bit entry's linear addresses depend on where this part was loaded. */
    xorl %eax, %eax
    movw %ds, %ax
    shll $4, %eax
    movl %eax, %edx
    addl $boot_gdt, %eax
    movl %eax, gdt_pointer + 2
    addl $pm32, %edx
    movl %edx, pm32_pointer

    lgdtl gdt_pointer
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl *pm32_pointer

    .code32
pm32:
    movl $0x18, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movl $ZERO_PAGE, %esi
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    xorl %edi, %edi
    jmp *(ZERO_PAGE + 0x214)
    .code16

    .balign 8
boot_gdt:
    .quad 0
    .quad 0
    .quad 0x00CF9B000000FFFF  /* 0x10: flat 4 GiB code */
    .quad 0x00CF93000000FFFF  /* 0x18: flat 4 GiB data */
gdt_pointer:
    .word 31
    .long 0
pm32_pointer:
    .long 0
    .word 0x10
