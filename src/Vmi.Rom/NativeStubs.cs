using Iced.Intel;
using Vmi.Abi;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Rom;

/// <summary>
/// The implementation of every VMI call on bare hardware: the native instruction(s), adapted
/// from the ROM calling convention (arguments in EAX, EDX, ECX, then the stack; results in EAX
/// or EDX:EAX) and followed by RET (or nothing, for IRET and SYSEXIT, reached by a jump).
/// This is what the VMI spec called transparent paravirtualization: the ROM that is correct on
/// a machine without a hypervisor. Calls that only make sense to a hypervisor (page-table page
/// announcements, lazy mode, alarms) return without doing anything, as the kernel's native
/// code path would. Argument conventions follow vmi-abi.md; where it is silent they are written
/// on each entry.
/// </summary>
public static class NativeStubs
{
    /// <summary>The local APIC's physical base after RESET (IA32_APIC_BASE), where APICRead/APICWrite reach it.</summary>
    public const uint DefaultApicBase = 0xFEE0_0000;

    /// <summary>
    /// The native implementation of <paramref name="call"/>; <paramref name="cyclesPerSecond"/> answers
    /// GetCycleFrequency; APICRead/APICWrite address the local APIC at <paramref name="apicBase"/> + the
    /// register offset the kernel passes.
    /// </summary>
    public static Action<Assembler> For(VmiCall call, ulong cyclesPerSecond, uint apicBase = DefaultApicBase)
    {
        switch (call)
        {
            // EAX leaf, ECX subleaf → EAX..EDX
            case VmiCall.Cpuid: return a => { a.cpuid(); a.ret(); };
            // WRMSR(EAX = msr, EDX = low, ECX = high) → wrmsr wants ECX = msr, EDX:EAX = value.
            case VmiCall.Wrmsr: return a => { a.xchg(eax, ecx); a.xchg(eax, edx); a.wrmsr(); a.ret(); };
            // EAX = msr → EDX:EAX
            case VmiCall.Rdmsr: return a => { a.mov(ecx, eax); a.rdmsr(); a.ret(); };
            // EAX → 6-byte register image
            case VmiCall.SetGdt: return a => { a.lgdt(__[eax]); a.ret(); };
            // EAX = selector
            case VmiCall.SetLdt: return a => { a.lldt(ax); a.ret(); };
            case VmiCall.SetIdt: return a => { a.lidt(__[eax]); a.ret(); };
            case VmiCall.SetTr: return a => { a.ltr(ax); a.ret(); };
            // EAX → 6-byte buffer
            case VmiCall.GetGdt: return a => { a.sgdt(__[eax]); a.ret(); };
            // → EAX = selector
            case VmiCall.GetLdt: return a => { a.xor(eax, eax); a.sldt(ax); a.ret(); };
            case VmiCall.GetIdt: return a => { a.sidt(__[eax]); a.ret(); };
            case VmiCall.GetTr: return a => { a.xor(eax, eax); a.str(ax); a.ret(); };
            // Write*Entry(EAX = table base, EDX = index, ECX = low dword, [ESP+4] = high dword).
            case VmiCall.WriteGdtEntry or VmiCall.WriteLdtEntry or VmiCall.WriteIdtEntry:
                return a =>
            {
                a.mov(__dword_ptr[eax + edx * 8], ecx);
                a.mov(ecx, __dword_ptr[esp + 4]);
                a.mov(__dword_ptr[eax + edx * 8 + 4], ecx);
                a.ret();
            };
            // (SS0 selector, esp0), called after the kernel stored esp0 in its own TSS (Linux's
            // set_kernel_stack(__KERNEL_DS, tss->sp0)): on bare hardware there is nothing left to do;
            // a hypervisor learns from it the stack its own ring transitions need.
            case VmiCall.UpdateKernelStack: return a => a.ret();
            case VmiCall.SetCr0: return a => { a.mov(cr0, eax); a.ret(); };
            case VmiCall.SetCr2: return a => { a.mov(cr2, eax); a.ret(); };
            case VmiCall.SetCr3: return a => { a.mov(cr3, eax); a.ret(); };
            case VmiCall.SetCr4: return a => { a.mov(cr4, eax); a.ret(); };
            case VmiCall.GetCr0: return a => { a.mov(eax, cr0); a.ret(); };
            case VmiCall.GetCr2: return a => { a.mov(eax, cr2); a.ret(); };
            case VmiCall.GetCr3: return a => { a.mov(eax, cr3); a.ret(); };
            case VmiCall.GetCr4: return a => { a.mov(eax, cr4); a.ret(); };
            case VmiCall.Wbinvd: return a => { a.wbinvd(); a.ret(); };
            // (EAX = number, EDX = value)
            case VmiCall.SetDr: return DebugRegisterSwitch(write: true);
            // (EAX = number) → EAX
            case VmiCall.GetDr: return DebugRegisterSwitch(write: false);
            case VmiCall.Rdpmc: return a => { a.mov(ecx, eax); a.rdpmc(); a.ret(); };
            case VmiCall.Rdtsc or VmiCall.GetCycleCounter: return a => { a.rdtsc(); a.ret(); };
            case VmiCall.Clts: return a => { a.clts(); a.ret(); };
            // flags only
            case VmiCall.EnableInterrupts: return a => { a.sti(); a.ret(); };
            case VmiCall.DisableInterrupts: return a => { a.cli(); a.ret(); };
            case VmiCall.GetInterruptMask: return a => { a.pushfd(); a.pop(eax); a.and(eax, (int)CallArguments.InterruptsEnabled); a.ret(); };
            // EAX = 0x200 to enable; only flags change
            case VmiCall.SetInterruptMask:
                return a =>
            {
                Label off = a.CreateLabel();
                a.test(eax, (int)CallArguments.InterruptsEnabled);
                a.jz(off);
                a.sti();
                a.ret();
                a.Label(ref off);
                a.cli();
                a.ret();
            };
            // reached by JUMP_REL, never returns
            case VmiCall.Iret: return a => a.iretd();
            // SYSEXIT stands for the kernel's "sti; sysexit" (Linux patched its irq_enable_sysexit
            // site, STI_SYSEXIT, with this call): the kernel arrives with interrupts disabled and user
            // mode must run with them enabled. STI's one-instruction shadow keeps the pair atomic.
            case VmiCall.Sysexit: return a => { a.sti(); a.sysexit(); };
            // Halt is the safe halt ("all VMI halts are safe": Linux fills safe_halt with it): the
            // kernel checks for work with interrupts disabled, then calls Halt, which must enable
            // them atomically with HLT (STI's shadow) or the wakeup interrupt could never arrive.
            case VmiCall.Halt: return a => { a.sti(); a.hlt(); a.ret(); };
            // the keyboard controller's reset line, as PCs do
            case VmiCall.Reboot:
                return a =>
            {
                Label again = a.CreateLabel();
                a.mov(al, 0xFE);
                a.@out(0x64, al);
                a.cli();
                a.Label(ref again);
                a.hlt();
                a.jmp(again);
            };
            case VmiCall.Shutdown:
                return a =>
            {
                Label again = a.CreateLabel();
                a.cli();
                a.Label(ref again);
                a.hlt();
                a.jmp(again);
            };
            // (value, entry*, flags)
            case VmiCall.SetPxE: return a => { a.mov(__dword_ptr[edx], eax); a.ret(); };
            // SetPxELong(EAX = low, EDX = high, ECX = entry*): high half first, so a present low half never meets a stale high half.
            case VmiCall.SetPxELong: return a => { a.mov(__dword_ptr[ecx + 4], edx); a.mov(__dword_ptr[ecx], eax); a.ret(); };
            case VmiCall.InvalPage: return a => { a.invlpg(__[eax]); a.ret(); };
            // EAX = 1 (non-global) or 1|2 (global too)
            case VmiCall.FlushTlb:
                return a =>
            {
                Label nonGlobal = a.CreateLabel();
                a.test(eax, (int)CallArguments.FlushTlbGlobal);
                a.jz(nonGlobal);
                a.mov(ecx, cr4);                                                 // toggling CR4.PGE flushes global entries
                a.mov(edx, ecx);
                a.and(edx, ~0x80);
                a.mov(cr4, edx);
                // With PGE already clear the CR4 writes change nothing and flush nothing, so reload
                // CR3 as well (as Linux's __flush_tlb_global does): non-global entries must go too.
                a.mov(eax, cr3);
                a.mov(cr3, eax);
                a.mov(cr4, ecx);
                a.ret();
                a.Label(ref nonGlobal);
                a.mov(ecx, cr3);
                a.mov(cr3, ecx);
                a.ret();
            };
            // EDX = port → EAX
            case VmiCall.Inl: return a => { a.@in(eax, dx); a.ret(); };
            case VmiCall.Inb: return a => { a.@in(al, dx); a.movzx(eax, al); a.ret(); };
            case VmiCall.Inw: return a => { a.@in(ax, dx); a.movzx(eax, ax); a.ret(); };
            // INS*(EAX = destination, EDX = port, ECX = count), ES = the kernel's data segment.
            case VmiCall.Insl: return StringIo(a => a.rep.insd(), edi);
            case VmiCall.Insb: return StringIo(a => a.rep.insb(), edi);
            case VmiCall.Insw: return StringIo(a => a.rep.insw(), edi);
            // EAX = value, EDX = port
            case VmiCall.Outl: return a => { a.@out(dx, eax); a.ret(); };
            case VmiCall.Outb: return a => { a.@out(dx, al); a.ret(); };
            case VmiCall.Outw: return a => { a.@out(dx, ax); a.ret(); };
            // OUTS*(EAX = source, EDX = port, ECX = count).
            case VmiCall.Outsl: return StringIo(a => a.rep.outsd(), esi);
            case VmiCall.Outsb: return StringIo(a => a.rep.outsb(), esi);
            case VmiCall.Outsw: return StringIo(a => a.rep.outsw(), esi);
            // EAX = new IOPL bits (mask 0x3000)
            case VmiCall.SetIoplMask:
                return a =>
            {
                a.and(eax, 0x3000);
                a.pushfd();
                a.and(__dword_ptr[esp], ~0x3000);
                a.or(__dword_ptr[esp], eax);
                a.popfd();
                a.ret();
            };
            // (register offset, value): 0x20 ID, 0x80 TPR, 0x300 ICR low...
            case VmiCall.ApicWrite: return a => { a.mov(__dword_ptr[eax + apicBase], edx); a.ret(); };
            // register offset → value
            case VmiCall.ApicRead: return a => { a.mov(eax, __dword_ptr[eax + apicBase]); a.ret(); };
            // the classic POST-port delay
            case VmiCall.IoDelay: return a => { a.@out(0x80, al); a.ret(); };
            case VmiCall.GetCycleFrequency: return a => { a.mov(eax, (uint)cyclesPerSecond); a.mov(edx, (uint)(cyclesPerSecond >> 32)); a.ret(); };
            // identity: EAX in, EAX out
            case VmiCall.MachineToPhysical or VmiCall.PhysicalToMachine: return a => a.ret();
            // no hypervisor clock: 0
            case VmiCall.GetWallclockTime: return a => { a.xor(eax, eax); a.xor(edx, edx); a.ret(); };
            case VmiCall.WallclockUpdated: return a => { a.xor(eax, eax); a.ret(); };
            // Hypervisor-only notifications and services: nothing to do on bare hardware.
            default: return a => a.ret();
        }
    }

    private static Action<Assembler> StringIo(Action<Assembler> rep, AssemblerRegister32 index) => a =>
    {
        a.push(index);
        a.mov(index, eax);
        rep(a);
        a.pop(index);
        a.ret();
    };

    private static Action<Assembler> DebugRegisterSwitch(bool write) => a =>
    {
        Label done = a.CreateLabel();
        // DR4/DR5 are real encodings: they alias DR6/DR7 while CR4.DE is clear and raise #UD
        // when it is set, so the native instruction, not a guess, decides what they do.
        AssemblerRegisterDR[] drs = [dr0, dr1, dr2, dr3, dr4, dr5, dr6, dr7];
        int[] numbers = [0, 1, 2, 3, 4, 5, 6, 7];
        for (int i = 0; i < drs.Length; i++)
        {
            Label next = a.CreateLabel();
            a.cmp(eax, numbers[i]);
            a.jne(next);
            if (write) a.mov(drs[i], edx);
            else a.mov(eax, drs[i]);
            a.jmp(done);
            a.Label(ref next);
        }
        if (!write) a.xor(eax, eax); // numbers beyond 7 read as 0
        a.ret();
        a.Label(ref done);
        a.ret();
    };
}
