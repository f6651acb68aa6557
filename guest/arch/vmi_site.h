/* The VMI patch-site macros: the only place that knows how a site is emitted and recorded.
 *
 * A site is the native instruction(s) of one VMI operation, padded with NOPs to at least 5 bytes
 * (room for E8/E9 rel32), plus an 8-byte record in section .vmi_sites:
 *
 *     u32 address    linear address of the site's first byte
 *     u16 call       VMI call number (vmi_calls.h)
 *     u8  length     bytes in the site (>= 5)
 *     u8  clobbers   VMI_CLOBBER_* bits the ROM's implementation may change besides the results
 *
 * (GAS's comparison yields -1 for true, hence the negation; .fill, unlike .skip, takes a repeat
 * count of 0 silently.) The padding makes a site at least 5 bytes by construction; the site-table test (tests/) and
 * `vmi sites` still check every record, so a hand-made record cannot slip through.
 *
 * At activation the kernel asks get_reloc for each call and rewrites every site: CALL_REL -> E8 rel32
 * to the ROM's stub + NOPs, JUMP_REL -> E9 rel32 (IRET, SYSEXIT only), NOP -> all NOPs, NONE -> the
 * native bytes stay. The native code must therefore take its operands where the ROM call takes its
 * arguments (EAX, EDX, ECX, then the stack) and leave results where the call does (EAX, EDX:EAX),
 * and the C wrapper must declare every register the call may clobber. */
#ifndef GUEST_ARCH_VMI_SITE_H
#define GUEST_ARCH_VMI_SITE_H

#define VMI_CLOBBER_EAX 0x01
#define VMI_CLOBBER_ECX 0x02
#define VMI_CLOBBER_EDX 0x04
/* What an ordinary ROM call may clobber (the ABI's calling convention). */
#define VMI_CLOBBER_CALL (VMI_CLOBBER_EAX | VMI_CLOBBER_ECX | VMI_CLOBBER_EDX)
/* The interrupt-flag calls change only EFLAGS (and EAX for GetInterruptMask's result). */
#define VMI_CLOBBER_NONE 0x00

#define VMI_SITE_MIN_LENGTH 5
#define VMI_SITE_RECORD_SIZE 8

#define VMI_STR_(x) #x
#define VMI_STR(x) VMI_STR_(x)

#ifdef __ASSEMBLER__

/* In assembly: VMI_SITE call, clobbers, native instruction. One instruction only: GAS ends the
 * macro's line at ';'; VMI_SITE2 takes two, and longer sites are written in C (the form below). */
.macro VMI_SITE call, clobbers, native:vararg
661:
	\native
	VMI_SITE_END \call, \clobbers
.endm

/* A site of two instructions (the SYSEXIT site is "sti; sysexit"). */
.macro VMI_SITE2 call, clobbers, first, second
661:
	\first
	\second
	VMI_SITE_END \call, \clobbers
.endm

/* The end of a site that began at label 661: the NOP padding and the record. */
.macro VMI_SITE_END call, clobbers
662:
	.fill -((662b - 661b) < VMI_SITE_MIN_LENGTH) * (VMI_SITE_MIN_LENGTH - (662b - 661b)), 1, 0x90
663:
	.pushsection .vmi_sites, "a"
	.long 661b
	.word \call
	.byte 663b - 661b
	.byte \clobbers
	.popsection
.endm

#else

/* In C: the text of an asm statement for one site. `native` is a string of instructions;
 * `call` and `clobbers` must be integer constants the assembler can evaluate. */
#define VMI_SITE(call, clobbers, native)                                                         \
	"661:\n\t" native "\n"                                                                   \
	"662:\n\t"                                                                               \
	".fill -((662b - 661b) < " VMI_STR(VMI_SITE_MIN_LENGTH) ") * ("                          \
	VMI_STR(VMI_SITE_MIN_LENGTH) " - (662b - 661b)), 1, 0x90\n"                              \
	"663:\n\t"                                                                               \
	".pushsection .vmi_sites, \"a\"\n\t"                                                     \
	".long 661b\n\t"                                                                         \
	".word " VMI_STR(call) "\n\t"                                                            \
	".byte 663b - 661b\n\t"                                                                  \
	".byte " VMI_STR(clobbers) "\n\t"                                                        \
	".popsection\n"

#endif

#endif
