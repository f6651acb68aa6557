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
    /// <summary>The native implementation of <paramref name="call"/>; <paramref name="cyclesPerSecond"/> answers GetCycleFrequency.</summary>
    public static Action<Assembler> For(VmiCall call, ulong cyclesPerSecond) => call switch
    {
        VmiCall.Cpuid => a => { a.cpuid(); a.ret(); }
        ,                       // EAX leaf, ECX subleaf → EAX..EDX
        // WRMSR(EAX = msr, EDX = low, ECX = high) → wrmsr wants ECX = msr, EDX:EAX = value.
        VmiCall.Wrmsr => a => { a.xchg(eax, ecx); a.xchg(eax, edx); a.wrmsr(); a.ret(); }
        ,
        VmiCall.Rdmsr => a => { a.mov(ecx, eax); a.rdmsr(); a.ret(); }
        ,      // EAX = msr → EDX:EAX
        VmiCall.SetGdt => a => { a.lgdt(__[eax]); a.ret(); }
        ,                // EAX → 6-byte register image
        VmiCall.SetLdt => a => { a.lldt(ax); a.ret(); }
        ,                     // EAX = selector
        VmiCall.SetIdt => a => { a.lidt(__[eax]); a.ret(); }
        ,
        VmiCall.SetTr => a => { a.ltr(ax); a.ret(); }
        ,
        VmiCall.GetGdt => a => { a.sgdt(__[eax]); a.ret(); }
        ,                // EAX → 6-byte buffer
        VmiCall.GetLdt => a => { a.xor(eax, eax); a.sldt(ax); a.ret(); }
        ,   // → EAX = selector
        VmiCall.GetIdt => a => { a.sidt(__[eax]); a.ret(); }
        ,
        VmiCall.GetTr => a => { a.xor(eax, eax); a.str(ax); a.ret(); }
        ,
        // Write*Entry(EAX = table base, EDX = index, ECX = low dword, [ESP+4] = high dword).
        VmiCall.WriteGdtEntry or VmiCall.WriteLdtEntry or VmiCall.WriteIdtEntry => a =>
        {
            a.mov(__dword_ptr[eax + edx * 8], ecx);
            a.mov(ecx, __dword_ptr[esp + 4]);
            a.mov(__dword_ptr[eax + edx * 8 + 4], ecx);
            a.ret();
        }
        ,
        VmiCall.UpdateKernelStack => a => { a.mov(__dword_ptr[eax + 4], edx); a.ret(); }
        , // (TSS*, esp0): TSS.esp0 at +4
        VmiCall.SetCr0 => a => { a.mov(cr0, eax); a.ret(); }
        ,
        VmiCall.SetCr2 => a => { a.mov(cr2, eax); a.ret(); }
        ,
        VmiCall.SetCr3 => a => { a.mov(cr3, eax); a.ret(); }
        ,
        VmiCall.SetCr4 => a => { a.mov(cr4, eax); a.ret(); }
        ,
        VmiCall.GetCr0 => a => { a.mov(eax, cr0); a.ret(); }
        ,
        VmiCall.GetCr2 => a => { a.mov(eax, cr2); a.ret(); }
        ,
        VmiCall.GetCr3 => a => { a.mov(eax, cr3); a.ret(); }
        ,
        VmiCall.GetCr4 => a => { a.mov(eax, cr4); a.ret(); }
        ,
        VmiCall.Wbinvd => a => { a.wbinvd(); a.ret(); }
        ,
        VmiCall.SetDr => DebugRegisterSwitch(write: true),                   // (EAX = number, EDX = value)
        VmiCall.GetDr => DebugRegisterSwitch(write: false),                  // (EAX = number) → EAX
        VmiCall.Rdpmc => a => { a.mov(ecx, eax); a.rdpmc(); a.ret(); }
        ,
        VmiCall.Rdtsc or VmiCall.GetCycleCounter => a => { a.rdtsc(); a.ret(); }
        ,
        VmiCall.Clts => a => { a.clts(); a.ret(); }
        ,
        VmiCall.EnableInterrupts => a => { a.sti(); a.ret(); }
        ,              // flags only
        VmiCall.DisableInterrupts => a => { a.cli(); a.ret(); }
        ,
        VmiCall.GetInterruptMask => a => { a.pushfd(); a.pop(eax); a.and(eax, (int)CallArguments.InterruptsEnabled); a.ret(); }
        ,
        VmiCall.SetInterruptMask => a =>                                     // EAX = 0x200 to enable; only flags change
        {
            Label off = a.CreateLabel();
            a.test(eax, (int)CallArguments.InterruptsEnabled);
            a.jz(off);
            a.sti();
            a.ret();
            a.Label(ref off);
            a.cli();
            a.ret();
        }
        ,
        VmiCall.Iret => a => a.iretd(),                                      // reached by JUMP_REL, never returns
        VmiCall.Sysexit => a => a.sysexit(),
        VmiCall.Halt => a => { a.hlt(); a.ret(); }
        ,
        VmiCall.Reboot => a =>                                               // the keyboard controller's reset line, as PCs do
        {
            Label again = a.CreateLabel();
            a.mov(al, 0xFE);
            a.@out(0x64, al);
            a.cli();
            a.Label(ref again);
            a.hlt();
            a.jmp(again);
        }
        ,
        VmiCall.Shutdown => a =>
        {
            Label again = a.CreateLabel();
            a.cli();
            a.Label(ref again);
            a.hlt();
            a.jmp(again);
        }
        ,
        VmiCall.SetPxE => a => { a.mov(__dword_ptr[edx], eax); a.ret(); }
        , // (value, entry*, flags)
        // SetPxELong(EAX = low, EDX = high, ECX = entry*): high half first, so a present low half never meets a stale high half.
        VmiCall.SetPxELong => a => { a.mov(__dword_ptr[ecx + 4], edx); a.mov(__dword_ptr[ecx], eax); a.ret(); }
        ,
        VmiCall.InvalPage => a => { a.invlpg(__[eax]); a.ret(); }
        ,
        VmiCall.FlushTlb => a =>                                             // EAX = 1 (non-global) or 1|2 (global too)
        {
            Label nonGlobal = a.CreateLabel();
            a.test(eax, (int)CallArguments.FlushTlbGlobal);
            a.jz(nonGlobal);
            a.mov(ecx, cr4);                                                 // toggling CR4.PGE flushes global entries
            a.mov(edx, ecx);
            a.and(edx, ~0x80);
            a.mov(cr4, edx);
            a.mov(cr4, ecx);
            a.ret();
            a.Label(ref nonGlobal);
            a.mov(ecx, cr3);
            a.mov(cr3, ecx);
            a.ret();
        }
        ,
        VmiCall.Inl => a => { a.@in(eax, dx); a.ret(); }
        ,                    // EDX = port → EAX
        VmiCall.Inb => a => { a.@in(al, dx); a.movzx(eax, al); a.ret(); }
        ,
        VmiCall.Inw => a => { a.@in(ax, dx); a.movzx(eax, ax); a.ret(); }
        ,
        // INS*(EAX = destination, EDX = port, ECX = count), ES = the kernel's data segment.
        VmiCall.Insl => StringIo(a => a.rep.insd(), edi),
        VmiCall.Insb => StringIo(a => a.rep.insb(), edi),
        VmiCall.Insw => StringIo(a => a.rep.insw(), edi),
        VmiCall.Outl => a => { a.@out(dx, eax); a.ret(); }
        ,                  // EAX = value, EDX = port
        VmiCall.Outb => a => { a.@out(dx, al); a.ret(); }
        ,
        VmiCall.Outw => a => { a.@out(dx, ax); a.ret(); }
        ,
        // OUTS*(EAX = source, EDX = port, ECX = count).
        VmiCall.Outsl => StringIo(a => a.rep.outsd(), esi),
        VmiCall.Outsb => StringIo(a => a.rep.outsb(), esi),
        VmiCall.Outsw => StringIo(a => a.rep.outsw(), esi),
        VmiCall.SetIoplMask => a =>                                          // EAX = new IOPL bits (mask 0x3000)
        {
            a.and(eax, 0x3000);
            a.pushfd();
            a.and(__dword_ptr[esp], ~0x3000);
            a.or(__dword_ptr[esp], eax);
            a.popfd();
            a.ret();
        }
        ,
        VmiCall.ApicWrite => a => { a.mov(__dword_ptr[eax], edx); a.ret(); }
        , // (register address, value)
        VmiCall.ApicRead => a => { a.mov(eax, __dword_ptr[eax]); a.ret(); }
        ,
        VmiCall.IoDelay => a => { a.@out(0x80, al); a.ret(); }
        ,              // the classic POST-port delay
        VmiCall.GetCycleFrequency => a => { a.mov(eax, (uint)cyclesPerSecond); a.mov(edx, (uint)(cyclesPerSecond >> 32)); a.ret(); }
        ,
        VmiCall.MachineToPhysical or VmiCall.PhysicalToMachine => a => a.ret(), // identity: EAX in, EAX out
        VmiCall.GetWallclockTime => a => { a.xor(eax, eax); a.xor(edx, edx); a.ret(); }
        , // no hypervisor clock: 0
        VmiCall.WallclockUpdated => a => { a.xor(eax, eax); a.ret(); }
        ,
        // Hypervisor-only notifications and services: nothing to do on bare hardware.
        _ => a => a.ret(),
    };

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
        AssemblerRegisterDR[] drs = [dr0, dr1, dr2, dr3, dr6, dr7];
        int[] numbers = [0, 1, 2, 3, 6, 7];
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
        if (!write) a.xor(eax, eax); // DR4/DR5 and unknown numbers read as 0
        a.ret();
        a.Label(ref done);
        a.ret();
    };
}
