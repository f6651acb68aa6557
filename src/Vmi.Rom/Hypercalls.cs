using Iced.Intel;
using Vmi.Abi;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Rom;

/// <summary>The instruction a ROM's hypercalls trap to the hypervisor with (Xen's hypercall page chooses it the same way).</summary>
public enum HypercallInstruction
{
    /// <summary>VMCALL (0F 01 C1): Intel VT-x.</summary>
    Vmcall,

    /// <summary>VMMCALL (0F 01 D9): AMD-V.</summary>
    Vmmcall,

    /// <summary>INT 0x82 (CD 82): a software trap, without hardware assistance (Xen's 32-bit paravirtual guests).</summary>
    SoftwareInterrupt,
}

/// <summary>
/// The ROM side of our hypercall ABI: EBX = the hypercall number (a VMI call number, or one of the
/// private numbers below), arguments as the kernel passed them to the ROM (EAX, EDX, ECX, then the
/// stack above the return address), results in EAX or EDX:EAX. EBX is restored, so a hypercall
/// stub clobbers no more than the call it implements may.
/// </summary>
public static class Hypercalls
{
    /// <summary>The vector of the software-interrupt hypercall.</summary>
    public const int SoftwareInterruptVector = 0x82;

    /// <summary>Private hypercall: the kernel took the ROM (issued by vmi_init).</summary>
    public const uint Activate = 0x100;

    /// <summary>Private hypercall: interrupts were enabled (virtual IF set) while one is pending.</summary>
    public const uint DeliverPending = 0x101;

    /// <summary>Private hypercall: apply the page-table updates queued in the shared page (lazy-MMU mode left, or the queue full).</summary>
    public const uint FlushMmuQueue = 0x102;

    /// <summary>Emits the trap instruction.</summary>
    public static void EmitTrap(Assembler a, HypercallInstruction instruction)
    {
        switch (instruction)
        {
            case HypercallInstruction.Vmcall: a.vmcall(); break;
            case HypercallInstruction.Vmmcall: a.vmmcall(); break;
            default: a.@int(SoftwareInterruptVector); break;
        }
    }

    /// <summary>push ebx; mov ebx, number; trap; pop ebx.</summary>
    public static void EmitCall(Assembler a, uint number, HypercallInstruction instruction)
    {
        a.push(ebx);
        a.mov(ebx, number);
        EmitTrap(a, instruction);
        a.pop(ebx);
    }

    /// <summary>A stub that implements <paramref name="call"/> by a hypercall and returns.</summary>
    public static CallSpec For(VmiCall call, HypercallInstruction instruction) => CallSpec.Code(a =>
    {
        EmitCall(a, (uint)call, instruction);
        a.ret();
    });

    /// <summary>The offset of the first stack argument as the hypervisor sees it at the trap: saved EBX, then the kernel's return address.</summary>
    public const uint FirstStackArgumentOffset = 8;
}
