namespace Vmi.Cpu.Fpu;

/// <summary>The x87's rules for NaN operands (SDM Vol. 1 Table 4-7, x87 column) and unsupported encodings.</summary>
internal static class NaNRules
{
    /// <summary>
    /// The result of an operation with at least one NaN operand: an SNaN raises IE and is quieted;
    /// a QNaN wins over an SNaN; of two NaNs of the same kind the larger significand wins.
    /// </summary>
    public static Float80 Propagate(ref FpuOperation op, Float80 a, Float80 b)
    {
        bool aNaN = a.IsNaN, bNaN = b.IsNaN;
        if (a.IsSignalingNaN || b.IsSignalingNaN)
        {
            op.Raise(FpuExceptions.Invalid);
        }
        if (aNaN && bNaN)
        {
            bool aQuiet = a.Class == Float80Class.QuietNaN, bQuiet = b.Class == Float80Class.QuietNaN;
            if (aQuiet != bQuiet)
            {
                return (aQuiet ? a : b).Quieted();
            }
            ulong sa = a.Significand & ~Float80.QuietBit, sb = b.Significand & ~Float80.QuietBit;
            if (sa != sb)
            {
                return (sa > sb ? a : b).Quieted();
            }
            return (a.Sign && !b.Sign ? b : a).Quieted();
        }
        return (aNaN ? a : b).Quieted();
    }

    public static Float80 Propagate(ref FpuOperation op, Float80 a)
    {
        if (a.IsSignalingNaN)
        {
            op.Raise(FpuExceptions.Invalid);
        }
        return a.Quieted();
    }

    /// <summary>Raises DE if either operand is a denormal or pseudo-denormal.</summary>
    public static void NoteDenormals(ref FpuOperation op, Float80 a, Float80 b)
    {
        if (a.IsDenormalOperand || b.IsDenormalOperand || op.SourceDenormal)
        {
            op.Raise(FpuExceptions.Denormal);
        }
    }
}
