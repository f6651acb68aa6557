namespace Vmi.Cpu.Fpu;

/// <summary>
/// The environment of one x87 arithmetic operation: the control word it runs under, and what it
/// raised (exception flags and the C1 round-up indication). Operations only add to
/// <see cref="Raised"/>; the instruction layer merges it into the status word and decides whether
/// the result is stored (an unmasked IE, DE or ZE stops the instruction before it writes anything).
/// </summary>
public struct FpuOperation
{
    public ushort Control;
    public ushort Raised;

    /// <summary>
    /// The memory operand was a single or double denormal. Widened, it is a normal extended value, but
    /// the operation still reports DE for it, at the denormal's place in the exception priority (after
    /// invalid operands and NaNs, not at all for a division by zero).
    /// </summary>
    public bool SourceDenormal;

    /// <summary>The inexact result was rounded away from zero (what C1 reports with PE).</summary>
    public bool RoundedUp;

    public FpuOperation(ushort control)
    {
        Control = control;
        Raised = 0;
        RoundedUp = false;
    }

    public readonly RoundingMode Rounding => (RoundingMode)((Control >> FpuControl.RoundingShift) & 3);

    /// <summary>Significand bits the precision-control field asks for (the reserved 01 encoding acts as 64 here).</summary>
    public readonly int PrecisionBits => ((Control >> FpuControl.PrecisionShift) & 3) switch
    {
        0 => 24,
        2 => 53,
        _ => 64,
    };

    public readonly bool IsMasked(ushort exception) => (Control & exception) != 0;

    /// <summary>An exception was raised whose mask is clear.</summary>
    public readonly bool HasUnmasked(ushort exceptions) => (Raised & exceptions & ~Control & FpuExceptions.All) != 0;

    public void Raise(ushort exceptions) => Raised |= exceptions;

    /// <summary>Raises IE and returns the masked response, the QNaN indefinite.</summary>
    public Float80 Invalid()
    {
        Raised |= FpuExceptions.Invalid;
        return Float80.Indefinite;
    }

    /// <summary>
    /// True when a pre-computation exception (invalid operand, denormal operand, divide by zero) is
    /// unmasked: the instruction then stores nothing and leaves its operands as they were.
    /// </summary>
    public readonly bool Suppressed => HasUnmasked(FpuExceptions.Invalid | FpuExceptions.Denormal | FpuExceptions.ZeroDivide);
}
