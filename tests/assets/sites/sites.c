/* Patch sites written the way the guest kernel writes them (guest/arch/vmi_site.h), plus
 * sensitive instructions outside every site, for the site-table reader, the patch plan and the
 * sensitive-instruction scan (tests/Vmi.Guest.Tests, `vmi sites`). Linked at 0xC0100000, entry f. */
#include <arch/vmi_site.h>

#define VMI_CALL_SET_CR3 17
#define VMI_CALL_ENABLE_INTERRUPTS 29
#define VMI_CALL_DISABLE_INTERRUPTS 30
#define VMI_CALL_INVAL_PAGE 46

static inline void vmi_cli(void)
{
	asm volatile(VMI_SITE(VMI_CALL_DISABLE_INTERRUPTS, VMI_CLOBBER_NONE, "cli") ::: "memory");
}

static inline void vmi_sti(void)
{
	asm volatile(VMI_SITE(VMI_CALL_ENABLE_INTERRUPTS, VMI_CLOBBER_NONE, "sti") ::: "memory");
}

static inline void vmi_write_cr3(unsigned long value)
{
	asm volatile(VMI_SITE(VMI_CALL_SET_CR3, VMI_CLOBBER_CALL, "mov %0, %%cr3") : : "a"(value) : "memory", "ecx", "edx");
}

/* 7 bytes of native code (0F 01 3D disp32): a site longer than the minimum. */
static inline void vmi_invlpg_fixed(void)
{
	asm volatile(VMI_SITE(VMI_CALL_INVAL_PAGE, VMI_CLOBBER_CALL, "invlpg 0x12345678") ::: "memory", "eax", "ecx", "edx");
}

void f(void)
{
	vmi_cli();
	vmi_write_cr3(0x1000);
	vmi_invlpg_fixed();
	/* MSRs stay native (as in Linux): never reported. */
	asm volatile("wrmsr" : : "a"(0), "d"(0), "c"(0x10) : "memory");
	vmi_sti();
}

/* The one sensitive instruction of this file that no site covers. */
void bare(void)
{
	asm volatile("cli" ::: "memory");
}
