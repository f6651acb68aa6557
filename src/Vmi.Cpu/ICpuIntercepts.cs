namespace Vmi.Cpu;

/// <summary>What the owner of the machine decides about an intercepted event.</summary>
public enum InterceptAction : byte
{
    /// <summary>Do what the hardware does (for an exception: deliver it, as possibly edited, through the IDT).</summary>
    Default,

    /// <summary>
    /// The owner emulated the event; execution continues after the instruction that caused it (for
    /// a fault: EIP + its length; for INT n or a trap: the return EIP; for an external interrupt:
    /// the current EIP). The instruction retires.
    /// </summary>
    Skip,

    /// <summary>The owner emulated the event and set EIP (and any other state) itself.</summary>
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

    /// <summary>
    /// INS/OUTS: only ever seen as the instruction behind a #GP of the I/O permission check (never
    /// through <see cref="ICpuIntercepts.OnInstruction"/>); a backend that cannot emulate them stops.
    /// </summary>
    StringPortIn,
    StringPortOut,
}

/// <summary>
/// An intercepted instruction with everything needed to emulate it without decoding it again.
/// Which fields mean something depends on <see cref="Op"/>:
/// <list type="bullet">
/// <item>MOV to CR/DR: <see cref="Operand"/> = register number, <see cref="Value"/> = the value written, <see cref="Register"/> = the source GPR.</item>
/// <item>MOV from CR/DR, SMSW/SLDT/STR/MOV from Sreg/LAR/LSL to a register: <see cref="Register"/> = the destination GPR (or <see cref="IsMemoryOperand"/> and <see cref="Address"/>).</item>
/// <item>IN/OUT, INS/OUTS: <see cref="Operand"/> = port, <see cref="Size"/> = access size, <see cref="Value"/> = the value written (OUT).</item>
/// <item>RDMSR/WRMSR: <see cref="Operand"/> = MSR index, <see cref="ValueHigh"/>:<see cref="Value"/> = EDX:EAX.</item>
/// <item>CPUID: <see cref="Value"/> = EAX (leaf), <see cref="ValueHigh"/> = ECX (subleaf).</item>
/// <item>LGDT/LIDT: <see cref="Address"/> = linear address of the operand, <see cref="TableLimit"/>/<see cref="TableBase"/> = the image read from it.</item>
/// <item>SGDT/SIDT: <see cref="Address"/> = linear address of the destination.</item>
/// <item>INVLPG: <see cref="Address"/> = the linear address to invalidate.</item>
/// <item>LLDT/LTR/MOV to Sreg/VERR/VERW/LAR/LSL: <see cref="Value"/> = the selector; MOV to/from Sreg: <see cref="Operand"/> = the segment register.</item>
/// <item>LMSW: <see cref="Value"/>. POPF/IRET: <see cref="Value"/> = the EFLAGS image it would pop. VMCALL/VMMCALL/INT hypercall: <see cref="Value"/> = EAX.</item>
/// </list>
/// </summary>
public readonly struct SensitiveEvent
{
    public SensitiveEvent(SensitiveOp op, uint eip, int cpl, Iced.Intel.Code code, int length)
    {
        Op = op;
        Eip = eip;
        Cpl = cpl;
        Code = code;
        Length = length;
    }

    public SensitiveOp Op { get; }

    public uint Eip { get; }

    public int Cpl { get; }

    public Iced.Intel.Code Code { get; }

    /// <summary>Length of the instruction in bytes (EIP + Length is the next instruction).</summary>
    public int Length { get; }

    public uint Operand { get; init; }

    public uint Value { get; init; }

    public uint ValueHigh { get; init; }

    /// <summary>Operand size in bytes (port access, PUSHF/POPF/IRET operand size).</summary>
    public int Size { get; init; }

    public uint Address { get; init; }

    public bool IsMemoryOperand { get; init; }

    /// <summary>A general register index (0 = EAX … 7 = EDI), or -1.</summary>
    public int Register { get; init; }

    public uint TableBase { get; init; }

    public ushort TableLimit { get; init; }

    public override string ToString() => $"{Op} at 0x{Eip:X8} (CPL {Cpl}, {Code}, {Length} bytes)";
}

/// <summary>An exception or interrupt about to be delivered through the IDT.</summary>
public struct ExceptionEvent
{
    public int Vector;
    public bool HasErrorCode;
    public uint ErrorCode;

    /// <summary>EIP of the faulting instruction (faults) or of the next one (traps, INT n).</summary>
    public uint Eip;

    /// <summary>
    /// For #PF: the faulting linear address. CR2 is not written yet: the CPU writes it only when the
    /// fault is delivered to the guest, so a fault the hypervisor absorbs leaves CR2 untouched.
    /// </summary>
    public uint FaultAddress;

    /// <summary>Length of the faulting instruction, or 0 when none was decoded (a fault on fetch, an interrupt).</summary>
    public int InstructionLength;

    /// <summary>
    /// Set when the fault is a privileged instruction's own privilege check (#GP at CPL &gt; 0, or
    /// CPL &gt; IOPL for CLI/STI/IN/OUT): <see cref="Instruction"/> then describes it, so a
    /// trap-and-emulate hypervisor emulates it without decoding.
    /// </summary>
    public bool HasInstruction;

    public SensitiveEvent Instruction;

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
/// path never consults it (only instructions that are slow anyway do), and the masks
/// (<see cref="Cpu.InstructionIntercepts"/>, <see cref="Cpu.ExceptionIntercepts"/>, ...) make an
/// attached hypervisor pay nothing for what it does not ask for.
///
/// <para>Order, the same for every instruction: the instruction's own checks come first (privilege:
/// CPL 0 or CPL &lt;= IOPL; operand and memory faults), then the intercept, then execution. So a
/// privileged instruction at CPL &gt; 0 never reaches <see cref="OnInstruction"/>: it raises #GP,
/// which <see cref="OnException"/> sees with the instruction attached (VT-x's rule that such
/// exceptions take priority over the exit, and what a trap-and-emulate monitor relies on).</para>
/// </summary>
public interface ICpuIntercepts
{
    /// <summary>A sensitive or privileged instruction passed its checks and is about to execute.</summary>
    InterceptAction OnInstruction(Cpu cpu, in SensitiveEvent e);

    /// <summary>An exception or software interrupt is about to be delivered.</summary>
    InterceptAction OnException(Cpu cpu, ref ExceptionEvent e);

    /// <summary>
    /// The INTR line is up and the guest can take an interrupt (IF = 1, no shadow). Nothing has been
    /// acknowledged at the interrupt controller yet. Default: the CPU acknowledges and delivers it.
    /// Otherwise the hypervisor decides: acknowledge it itself (<see cref="ICpuPlatform.AcknowledgeInterrupt"/>)
    /// and queue it (<see cref="Cpu.InjectInterrupt"/>), or leave it pending.
    /// </summary>
    InterceptAction OnExternalInterrupt(Cpu cpu);
}

/// <summary>
/// Called each time a block of guest code is decoded (before it first runs): the place where a
/// binary-translation backend finds the non-trapping sensitive instructions (POPF, PUSHF, SGDT,
/// SIDT, SMSW, MOV from segment registers, LAR/LSL/VERR/VERW) in kernel code and accounts for
/// translating them. Blocks are keyed by privilege (CPL 3 or not), so the same bytes run by the
/// kernel and by a user program are two blocks. The span is only valid during the call.
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
