using Iced.Intel;
using Vmi.Abi;
using Vmi.Hypervisors.Paravirtual;
using Vmi.Rom;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Hypervisors.BinaryTranslation;

/// <summary>
/// bt's ROM code for the interrupt-flag calls and IRET: the kernel's interrupt flag is a byte in
/// the page it shares with the monitor, so disabling, enabling, saving and restoring it cost a few
/// instructions and no trap. The real IF stays set (the monitor's IDT has trap gates only); an
/// interrupt that arrives while the virtual flag is clear is held by the monitor, which marks it
/// pending and masks the real IF. Enabling then asks the monitor (a hypercall) only when something
/// is pending, or when the real IF was left clear (an exception taken with the virtual flag clear).
/// </summary>
internal static class VirtualInterruptFlag
{
    public static CallSpec Disable => CallSpec.Code(a =>
    {
        a.mov(__byte_ptr[SharedPage.VirtualIf], 0);
        a.ret();
    });

    public static CallSpec Enable => CallSpec.Code(a =>
    {
        a.mov(__byte_ptr[SharedPage.VirtualIf], 1);
        EmitEnableTail(a);
        a.ret();
    });

    /// <summary>GetInterruptMask → EAX = 0x200 when enabled (clobbers flags only).</summary>
    public static CallSpec Get => CallSpec.Code(a =>
    {
        a.movzx(eax, __byte_ptr[SharedPage.VirtualIf]);
        a.shl(eax, 9);
        a.ret();
    });

    /// <summary>SetInterruptMask(EAX): enabled when bit 9 is set.</summary>
    public static CallSpec Set => CallSpec.Code(a =>
    {
        Label off = a.CreateLabel();
        a.test(eax, 0x200);
        a.jz(off);
        a.mov(__byte_ptr[SharedPage.VirtualIf], 1);
        EmitEnableTail(a);
        a.ret();
        a.Label(ref off);
        a.mov(__byte_ptr[SharedPage.VirtualIf], 0);
        a.ret();
    });

    /// <summary>IRET (reached by JUMP_REL): the virtual flag from the frame's EFLAGS image, then the real IRET (which at CPL 1 leaves the real IF alone).</summary>
    public static CallSpec Iret => CallSpec.Code(a =>
    {
        Label off = a.CreateLabel();
        a.test(__dword_ptr[esp + 8], 0x200);
        a.jz(off);
        a.mov(__byte_ptr[SharedPage.VirtualIf], 1);
        EmitEnableTail(a);
        a.iretd();
        a.Label(ref off);
        a.mov(__byte_ptr[SharedPage.VirtualIf], 0);
        a.iretd();
    }, jump: true);

    /// <summary>After setting the virtual flag: ask the monitor if an interrupt is pending or the real IF is clear. Clobbers flags only.</summary>
    private static void EmitEnableTail(Assembler a)
    {
        Label ask = a.CreateLabel(), done = a.CreateLabel();
        a.pushfd();
        a.test(__dword_ptr[esp], 0x200);
        a.lea(esp, __[esp + 4]); // pop without touching the flags just tested
        a.jz(ask);
        a.test(__byte_ptr[SharedPage.Pending], 1);
        a.jz(done);
        a.Label(ref ask);
        Hypercalls.EmitCall(a, Hypercalls.DeliverPending, HypercallInstruction.SoftwareInterrupt);
        a.Label(ref done);
    }

    /// <summary>vmi_init: tell the monitor the kernel takes the ROM, then succeed.</summary>
    public static void EmitVmiInit(Assembler a)
    {
        Hypercalls.EmitCall(a, Hypercalls.Activate, HypercallInstruction.SoftwareInterrupt);
        a.xor(eax, eax);
        a.ret();
    }

    public static readonly VmiCall[] Calls = [VmiCall.DisableInterrupts, VmiCall.EnableInterrupts, VmiCall.GetInterruptMask, VmiCall.SetInterruptMask, VmiCall.Iret];
}
