namespace Vmi.Cpu;

/// <summary>What the owner of the machine decides about an intercepted event.</summary>
public enum InterceptAction : byte
{
    /// <summary>Do what the hardware does.</summary>
    Default,

    /// <summary>The owner emulated the event; for an instruction, the CPU advances past it.</summary>
    Handled,

    /// <summary>The owner emulated the event and already set EIP (and any other state) itself.</summary>
    Resume,

    /// <summary>Stop the VM (the owner records why).</summary>
    Stop,
}

/// <summary>Sensitive or privileged operations a hypervisor may want to see before the guest does.</summary>
public enum SensitiveOp : byte
{
    Cpuid,
    Hlt,
    PortIn,
    PortOut,
    Rdmsr,
    Wrmsr,
    Rdtsc,
    MovToCr,
    MovFromCr,
    MovToDr,
    MovFromDr,
    Invlpg,
    Clts,
    Lmsw,
    Smsw,
    Lgdt,
    Lidt,
    Lldt,
    Ltr,
    Sgdt,
    Sidt,
    Sldt,
    Str,
    Cli,
    Sti,
    Pushf,
    Popf,
    Iret,
    MovFromSeg,
    MovToSeg,
    Lar,
    Lsl,
    Verr,
    Verw,
    Wbinvd,
    Invd,
    Sysenter,
    Sysexit,
    Vmcall,
    Vmmcall,

    /// <summary>INT n with the vector chosen by <see cref="Cpu.HypercallVector"/>.</summary>
    SoftwareInterruptHypercall,
}

/// <summary>An intercepted instruction: which operation, where, and its decoded form.</summary>
public readonly struct SensitiveEvent
{
    public readonly SensitiveOp Op;
    public readonly uint Eip;
    public readonly int Cpl;
    public readonly Iced.Intel.Code Code;

    /// <summary>Operation detail: the port, CR/DR number, MSR index, or linear address (INVLPG).</summary>
    public readonly uint Operand;

    public SensitiveEvent(SensitiveOp op, uint eip, int cpl, Iced.Intel.Code code, uint operand)
    {
        Op = op;
        Eip = eip;
        Cpl = cpl;
        Code = code;
        Operand = operand;
    }
}

/// <summary>An exception or interrupt about to be delivered through the IDT.</summary>
public struct ExceptionEvent
{
    public int Vector;
    public bool HasErrorCode;
    public uint ErrorCode;

    /// <summary>EIP of the faulting instruction (faults) or of the next one (traps, INT n).</summary>
    public uint Eip;

    /// <summary>For #PF: the faulting linear address.</summary>
    public uint Cr2;

    public InterruptSource Source;
}

public enum InterruptSource : byte
{
    Exception,
    SoftwareInterrupt,
    External,
}

/// <summary>
/// The one seam through which a hypervisor sees every event that would leave guest mode on real
/// virtualization hardware. A null <see cref="Cpu.Intercepts"/> means the bare processor; the hot
/// path never consults it (only instructions that are slow anyway do).
/// </summary>
public interface ICpuIntercepts
{
    /// <summary>A sensitive or privileged instruction is about to execute at the current CPL.</summary>
    InterceptAction OnInstruction(Cpu cpu, in SensitiveEvent e);

    /// <summary>An exception, software interrupt or external interrupt is about to be delivered.</summary>
    InterceptAction OnException(Cpu cpu, ref ExceptionEvent e);
}

/// <summary>
/// Called each time a block of guest code is decoded (before it first runs): the place where a
/// binary-translation backend finds the non-trapping sensitive instructions (POPF, PUSHF, SGDT,
/// SIDT, SMSW, MOV from segment registers, LAR/LSL/VERR/VERW) in kernel code and accounts for
/// translating them. The span is only valid during the call.
/// </summary>
public delegate void BlockDecodedHandler(in DecodedBlock block);

/// <summary>A freshly decoded block: where it is, at which privilege, and its instructions as Iced decoded them.</summary>
public readonly ref struct DecodedBlock
{
    public DecodedBlock(uint linearEip, uint physicalEip, int cpl, ReadOnlySpan<Iced.Intel.Instruction> instructions)
    {
        LinearEip = linearEip;
        PhysicalEip = physicalEip;
        Cpl = cpl;
        Instructions = instructions;
    }

    public uint LinearEip { get; }

    public uint PhysicalEip { get; }

    public int Cpl { get; }

    public ReadOnlySpan<Iced.Intel.Instruction> Instructions { get; }
}
