/* Assembly sites (the VMI_SITE assembler macro), an entry stub that runs before VMI is active
 * (exempted by the scan's allow-list), and data in the text section that must not be decoded. */
#include <arch/vmi_site.h>

#define VMI_CALL_IRET 33

	.text
	.globl entry_stub
	.type entry_stub, @function
entry_stub:
	cli
	hlt
	.size entry_stub, . - entry_stub

	.globl iret_path
	.type iret_path, @function
iret_path:
	VMI_SITE VMI_CALL_IRET, VMI_CLOBBER_CALL, iret
	.size iret_path, . - iret_path

	/* cli, sti, hlt, iret as data: read as code, they would be reported. */
	.type blob, @object
blob:
	.byte 0xfa, 0xfb, 0xf4, 0xcf
	.size blob, . - blob

	.section .note.GNU-stack, "", @progbits
