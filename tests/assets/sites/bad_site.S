/* A kernel whose .vmi_sites is broken, chosen by a -D switch: BAD_TABLE_SIZE (the table is 7
 * bytes, not a whole record); or a good record 0 then a record 1 with BAD_ADDRESS (outside every
 * executable section), BAD_LENGTH (4 bytes, too short for E8/E9 rel32), BAD_OVERLAP (inside
 * record 0's site) or BAD_CALL (74, past the API 3.x table). */
#include <arch/vmi_site.h>

	.text
	.globl f
	.type f, @function
f:
#if defined(BAD_TABLE_SIZE)
	cli
	.skip 4, 0x90
#else
	VMI_SITE 30, VMI_CLOBBER_NONE, cli
#endif
	ret
	.size f, . - f

	.pushsection .vmi_sites, "a"
#if defined(BAD_TABLE_SIZE)
	.long f
	.word 30
	.byte 5
#elif defined(BAD_ADDRESS)
	.long 0x1000
	.word 30
	.byte 5, 0
#elif defined(BAD_LENGTH)
	.long f
	.word 30
	.byte 4, 0
#elif defined(BAD_OVERLAP)
	.long f + 1
	.word 30
	.byte 5, 0
#elif defined(BAD_CALL)
	.long f
	.word 74
	.byte 5, 0
#endif
	.popsection

	.section .note.GNU-stack, "", @progbits
