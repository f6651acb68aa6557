using System.Runtime.CompilerServices;

namespace Vmi.Cpu.Fpu;

[InlineArray(8)]
public struct X87Registers
{
    private Float80 _element0;
}

/// <summary>
/// The x87 register file and its instruction semantics, apart from the CPU: the eight physical
/// registers, TOP (kept inside <see cref="Status"/>), the control word, which registers are empty,
/// and the last instruction/operand pointers. The CPU does the checks that belong to it (CR0,
/// pending #MF), fetches memory operands into a span and stores what comes back.
/// </summary>
public sealed partial class X87Fpu
{
    public X87Registers Physical;
    public ushort Control;

    /// <summary>The status word including TOP (bits 11..13).</summary>
    public ushort Status;

    /// <summary>Bit p set: physical register p is empty (tag 11).</summary>
    public byte EmptyMask;

    public uint InstructionPointer, OperandPointer;
    public ushort InstructionSelector, OperandSelector;

    /// <summary>The last non-control instruction's opcode: the low 3 bits of its first byte and its ModRM byte (11 bits).</summary>
    public ushort Opcode;

    /// <summary>EFLAGS ZF/PF/CF after FCOMI/FUCOMI (<see cref="X87Outcome.WritesEflags"/>).</summary>
    public uint ComparisonEflags;

    public X87Fpu() => Reset();

    /// <summary>The state after RESET (SDM Vol. 3 Table 9-1: control 0x0040, tags 0x5555, registers +0).</summary>
    public void Reset()
    {
        Control = 0x0040;
        Status = 0;
        EmptyMask = 0;
        for (int p = 0; p < 8; p++) Physical[p] = Float80.Zero;
        ClearPointers();
    }

    /// <summary>FNINIT: control 0x037F, status 0, every register empty; contents untouched.</summary>
    public void Initialize()
    {
        Control = FpuControl.Initial;
        Status = 0;
        EmptyMask = 0xFF;
        ClearPointers();
    }

    private void ClearPointers()
    {
        InstructionPointer = OperandPointer = 0;
        InstructionSelector = OperandSelector = 0;
        Opcode = 0;
    }

    public int Top
    {
        get => (Status >> FpuStatus.TopShift) & 7;
        set => Status = (ushort)((Status & ~FpuStatus.TopMask) | ((value & 7) << FpuStatus.TopShift));
    }

    public int PhysicalIndex(int i) => (Top + i) & 7;

    public ref Float80 St(int i) => ref Physical[PhysicalIndex(i)];

    public bool IsEmpty(int i) => ((EmptyMask >> PhysicalIndex(i)) & 1) != 0;

    public void SetEmpty(int i, bool empty)
    {
        int bit = 1 << PhysicalIndex(i);
        EmptyMask = (byte)(empty ? EmptyMask | bit : EmptyMask & ~bit);
    }

    /// <summary>Error summary (and B, which mirrors it since the 387): some unmasked exception flag is set.</summary>
    public bool ErrorPending => (Status & FpuStatus.ErrorSummary) != 0;

    internal void UpdateErrorSummary()
    {
        bool pending = (Status & ~Control & FpuExceptions.All) != 0;
        Status = pending
            ? (ushort)(Status | FpuStatus.ErrorSummary | FpuStatus.Busy)
            : (ushort)(Status & ~(FpuStatus.ErrorSummary | FpuStatus.Busy));
    }

    /// <summary>The full tag word: 00 valid, 01 zero, 10 special (NaN, infinity, denormal, unsupported), 11 empty; physical order.</summary>
    public ushort TagWord
    {
        get
        {
            int tags = 0;
            for (int p = 0; p < 8; p++)
            {
                int tag = ((EmptyMask >> p) & 1) != 0 ? 3 : TagOf(Physical[p]);
                tags |= tag << (2 * p);
            }
            return (ushort)tags;
        }
    }

    /// <summary>Loading a tag word keeps only "empty or not": the other tags are recomputed from the contents.</summary>
    public void LoadTagWord(ushort tags)
    {
        int empty = 0;
        for (int p = 0; p < 8; p++)
        {
            if (((tags >> (2 * p)) & 3) == 3) empty |= 1 << p;
        }
        EmptyMask = (byte)empty;
    }

    private static int TagOf(Float80 x) => x.Class switch
    {
        Float80Class.Zero => 1,
        Float80Class.Normal => 0,
        _ => 2,
    };

    /// <summary>Merges one operation's exceptions into the status word; C1 reports the rounding direction.</summary>
    private void Complete(in FpuOperation op)
    {
        ushort s = (ushort)(Status | (op.Raised & FpuExceptions.All));
        s &= unchecked((ushort)~FpuStatus.C1);
        if ((op.Raised & FpuExceptions.Precision) != 0 && op.RoundedUp) s |= FpuStatus.C1;
        Status = s;
        UpdateErrorSummary();
    }

    /// <summary>
    /// Stack underflow (an empty source register) or overflow (a push onto a full stack): IE with SF,
    /// C1 = 1 for overflow, 0 for underflow. Returns true when IE is masked and the instruction goes on
    /// with the QNaN indefinite as its result.
    /// </summary>
    private bool StackFault(bool overflow)
    {
        ushort s = (ushort)(Status | FpuExceptions.Invalid | FpuExceptions.StackFault);
        s = overflow ? (ushort)(s | FpuStatus.C1) : (ushort)(s & ~FpuStatus.C1);
        Status = s;
        UpdateErrorSummary();
        return (Control & FpuExceptions.Invalid) != 0;
    }

    private void SetC1(bool value) => Status = value ? (ushort)(Status | FpuStatus.C1) : (ushort)(Status & ~FpuStatus.C1);

    private void SetConditionCodes(ushort mask, ushort values) => Status = (ushort)((Status & ~mask) | (values & mask));

    /// <summary>Writes ST(i) and marks it in use.</summary>
    private void Write(int i, Float80 value)
    {
        St(i) = value;
        SetEmpty(i, false);
    }

    private void Pop()
    {
        SetEmpty(0, true);
        Top = Top + 1;
    }

    /// <summary>Pushes a value; on a full stack raises the overflow fault and, masked, pushes the indefinite.</summary>
    private void Push(Float80 value)
    {
        int newTop = (Top - 1) & 7;
        if (((EmptyMask >> newTop) & 1) == 0)
        {
            if (!StackFault(overflow: true)) return;
            value = Float80.Indefinite;
        }
        Top = newTop;
        Write(0, value);
    }

    /// <summary>A push would overflow: fault raised; true when the caller must stop (IE unmasked).</summary>
    private bool PushOverflows(out bool masked)
    {
        masked = false;
        if (((EmptyMask >> ((Top - 1) & 7)) & 1) != 0) return false;
        masked = StackFault(overflow: true);
        return true;
    }
}

/// <summary>What the CPU must do after <see cref="X87Fpu.Execute"/>.</summary>
[Flags]
public enum X87Outcome
{
    None = 0,
    WritesMemory = 1,
    WritesEflags = 2,
    WritesAx = 4,
}
