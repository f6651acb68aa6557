/* Multiboot entry. The loader starts us in flat 32-bit protected mode with paging off, at the
 * physical address boot_entry; everything is linked at KERNEL_VMA + 1 MiB, so until paging is on
 * every address used here is a link-time address minus KERNEL_VMA. This stub is the only code that
 * runs before the kernel can use its patch sites' native forms, so its privileged instructions are
 * not sites (the site-table test allows them by this function's name). */
#include "arch/layout.h"

#define MULTIBOOT_MAGIC 0x1BADB002
#define MULTIBOOT_FLAGS 0x00000003 /* modules page-aligned, memory information */

	.section .multiboot, "a"
	.align 4
	.long MULTIBOOT_MAGIC, MULTIBOOT_FLAGS, -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

	.section .text.boot, "ax"
	.globl _start
	.globl boot_entry
	.set boot_entry, _start - KERNEL_VMA
_start:
	cli
	movl %eax, boot_magic - KERNEL_VMA
	movl %ebx, boot_info_phys - KERNEL_VMA
	/* The privilege level we were started at (0 on a PC, 1 under a hypervisor that runs the kernel
	 * in ring 1): the kernel's own selectors and gates use it, as Linux read it from CS. */
	movl %cs, %ecx
	andl $3, %ecx
	movl %ecx, kernel_rpl - KERNEL_VMA

	/* Boot page directory: the first 16 MiB as four 4 MiB pages, at 0 (we are running there) and at
	 * KERNEL_VMA. */
	movl $(boot_page_directory - KERNEL_VMA), %edi
	movl $0x83, %eax /* present, writable, 4 MiB */
	movl $4, %ecx
1:	movl %eax, (%edi)
	movl %eax, (KERNEL_VMA >> 22) * 4(%edi)
	addl $0x400000, %eax
	addl $4, %edi
	loop 1b
	movl %cr4, %eax
	orl $0x10, %eax /* PSE */
	movl %eax, %cr4
	movl $(boot_page_directory - KERNEL_VMA), %eax
	movl %eax, %cr3
	movl %cr0, %eax
	orl $0x80010000, %eax /* PG | WP */
	movl %eax, %cr0
	movl $boot_high, %eax
	jmp *%eax

	.text
boot_high:
	movl $boot_stack_top, %esp
	xorl %ebp, %ebp
	call kmain
2:	jmp 2b

	.section .bss.page_aligned, "aw", @nobits
	.align 4096
	.globl boot_page_directory
boot_page_directory:
	.skip 4096
	.align 16
boot_stack:
	.skip 16384
	.globl boot_stack_top
boot_stack_top:

	.data
	.align 4
	.globl boot_magic, boot_info_phys, kernel_rpl
boot_magic:	.long 0
boot_info_phys:	.long 0
kernel_rpl:	.long 0

	.section .note.GNU-stack, "", @progbits
