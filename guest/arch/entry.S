/* Interrupt and exception entry: each stub pushes a dummy error code when the CPU pushes none, then
 * its vector, so trap_dispatch sees one frame layout; the return is the IRET patch site. */
#include "arch/vmi_calls.h"
#include "arch/vmi_site.h"

	.macro TRAP_NOERR n
	.globl trap_stub_\n
trap_stub_\n:
	pushl $0
	pushl $\n
	jmp trap_common
	.endm

	.macro TRAP_ERR n
	.globl trap_stub_\n
trap_stub_\n:
	pushl $\n
	jmp trap_common
	.endm

	.text
	TRAP_NOERR 0
	TRAP_NOERR 1
	TRAP_NOERR 2
	TRAP_NOERR 3
	TRAP_NOERR 4
	TRAP_NOERR 5
	TRAP_NOERR 6
	TRAP_NOERR 7
	TRAP_ERR 8
	TRAP_NOERR 9
	TRAP_ERR 10
	TRAP_ERR 11
	TRAP_ERR 12
	TRAP_ERR 13
	TRAP_ERR 14
	TRAP_NOERR 15
	TRAP_NOERR 16
	TRAP_ERR 17
	TRAP_NOERR 18
	TRAP_NOERR 19
	.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	TRAP_NOERR \n
	.endr
	TRAP_NOERR 128 /* int 0x80: system calls */

trap_common:
	pushal
	pushl %esp /* the frame, trap_dispatch's argument */
	call trap_dispatch
	addl $4, %esp
	/* A new process starts here too, on a kernel stack that holds only its first frame. */
	.globl trap_return
trap_return:
	popal
	addl $8, %esp
	VMI_SITE VMI_CALL_IRET, VMI_CLOBBER_NONE, iret

	/* SYSENTER from user mode (when the CPU has SEP and the kernel runs in ring 0): the user stub
	 * (user_sysenter) leaves its stack pointer in EBP and returns at user_sysenter_return. Build
	 * the same frame an int 0x80 would, run the system call, and go back with SYSEXIT (EDX = EIP,
	 * ECX = ESP), interrupts enabled in the same site. A process switched away inside the call
	 * resumes here too; a new process never starts here (it starts at trap_return). */
	.globl sysenter_entry
sysenter_entry:
	pushl $0x23 /* user SS */
	pushl %ebp  /* user ESP */
	pushl $0x202
	pushl $0x1B /* user CS */
	pushl $user_sysenter_return
	pushl $0
	pushl $0x80
	pushal
	pushl %esp
	call trap_dispatch
	addl $4, %esp
	popal
	addl $8, %esp
	movl (%esp), %edx
	movl 12(%esp), %ecx
	addl $20, %esp
	VMI_SITE2 VMI_CALL_SYSEXIT, VMI_CLOBBER_NONE, sti, sysexit

	/* switch_context(&save, next): saves the callee-saved registers and ESP in *save, then
	 * continues on next (a stack switch_context saved, or one a new process was given). */
	.globl switch_context
switch_context:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, (%eax)
	movl %edx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	/* The stub addresses, for the IDT (vectors 0-19 and 32-47; 0 = no stub). */
	.section .rodata
	.align 4
	.globl trap_stubs
trap_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19
	.long trap_stub_\n
	.endr
	.rept 12
	.long 0
	.endr
	.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.long trap_stub_\n
	.endr

	.section .note.GNU-stack, "", @progbits
