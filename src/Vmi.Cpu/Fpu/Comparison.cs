namespace Vmi.Cpu.Fpu;

public enum CompareResult : byte
{
    Greater,
    Less,
    Equal,
    Unordered,
}

/// <summary>FCOM/FUCOM/FCOMI/FTST/FICOM ordering, and the C3/C2/C0 and ZF/PF/CF encodings of it.</summary>
public static class Comparison
{
    /// <summary>
    /// Orders a against b. Unsupported operands and SNaNs always raise IE; a QNaN raises IE only for
    /// the ordered comparisons (<paramref name="quiet"/> false: FCOM, FCOMI, FTST, FICOM). Denormal
    /// operands raise DE. Zeros compare equal whatever their signs.
    /// </summary>
    public static CompareResult Compare(ref FpuOperation op, Float80 a, Float80 b, bool quiet)
    {
        if (a.IsUnsupported || b.IsUnsupported)
        {
            op.Raise(FpuExceptions.Invalid);
            return CompareResult.Unordered;
        }
        if (a.IsNaN || b.IsNaN)
        {
            if (!quiet || a.IsSignalingNaN || b.IsSignalingNaN)
            {
                op.Raise(FpuExceptions.Invalid);
            }
            return CompareResult.Unordered;
        }
        NaNRules.NoteDenormals(ref op, a, b);
        return Order(a, b);
    }

    /// <summary>The order of two non-NaN supported values.</summary>
    internal static CompareResult Order(Float80 a, Float80 b)
    {
        if (a.IsZero && b.IsZero) return CompareResult.Equal;
        if (a.Sign != b.Sign) return a.Sign ? CompareResult.Less : CompareResult.Greater;
        int magnitude = CompareMagnitude(a, b);
        if (magnitude == 0) return CompareResult.Equal;
        return (magnitude > 0) ^ a.Sign ? CompareResult.Greater : CompareResult.Less;
    }

    private static int CompareMagnitude(Float80 a, Float80 b)
    {
        if (a.IsInfinity || b.IsInfinity)
        {
            return a.IsInfinity == b.IsInfinity ? 0 : a.IsInfinity ? 1 : -1;
        }
        Unpacked x = Unpacked.From(a), y = Unpacked.From(b);
        if (x.IsZero || y.IsZero) return x.IsZero == y.IsZero ? 0 : x.IsZero ? -1 : 1;
        if (x.Exponent != y.Exponent) return x.Exponent > y.Exponent ? 1 : -1;
        return x.Significand.CompareTo(y.Significand);
    }

    /// <summary>C3, C2, C0 of the status word for a comparison (C1 is the caller's).</summary>
    public static ushort ConditionCodes(CompareResult r) => r switch
    {
        CompareResult.Greater => 0,
        CompareResult.Less => FpuStatus.C0,
        CompareResult.Equal => FpuStatus.C3,
        _ => FpuStatus.C3 | FpuStatus.C2 | FpuStatus.C0,
    };

    /// <summary>ZF, PF, CF of EFLAGS for FCOMI/FUCOMI (OF, SF, AF cleared by the caller).</summary>
    public static uint Eflags(CompareResult r) => r switch
    {
        CompareResult.Greater => 0,
        CompareResult.Less => EFlags.CF,
        CompareResult.Equal => EFlags.ZF,
        _ => EFlags.ZF | EFlags.PF | EFlags.CF,
    };
}
