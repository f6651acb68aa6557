namespace Vmi.Cpu.Fpu;

/// <summary>FSCALE and FXTRACT.</summary>
public static class Scaling
{
    /// <summary>ST(0) · 2^trunc(ST(1)), rounded to 64 bits whatever the precision control.</summary>
    public static Float80 Scale(ref FpuOperation op, Float80 a, Float80 b)
    {
        if (a.IsUnsupported || b.IsUnsupported) return op.Invalid();
        if (a.IsNaN || b.IsNaN) return NaNRules.Propagate(ref op, a, b);
        if (b.IsInfinity)
        {
            if (!b.Sign && a.IsZero) return op.Invalid();
            if (b.Sign && a.IsInfinity) return op.Invalid();
        }
        NaNRules.NoteDenormals(ref op, a, b);
        if (op.Suppressed) return default;
        if (b.IsInfinity)
        {
            if (a.IsZero || a.IsInfinity) return a;
            return b.Sign ? Float80.SignedZero(a.Sign) : Float80.Infinity(a.Sign);
        }
        if (a.IsZero || a.IsInfinity) return a;
        if (b.IsZero)
        {
            // A zero scale hands the operand back as it is: a denormal raises no underflow. (A
            // denormal scale, also 0 once truncated, goes the whole way and can underflow.)
            return a.Class == Float80Class.PseudoDenormal ? Float80.Pack(a.Sign, 1, a.Significand) : a;
        }
        int n = TruncatedScale(b);
        Unpacked x = Unpacked.From(a);
        return Rounder.Round(ref op, x.Sign, x.Exponent + n, (UInt128)x.Significand << 64, RoundingFormat.Extended);
    }

    /// <summary>trunc(b) clamped to a range beyond which every finite operand over- or underflows anyway.</summary>
    private static int TruncatedScale(Float80 b)
    {
        Unpacked y = Unpacked.From(b);
        if (y.IsZero) return 0;
        int unbiased = y.Exponent - Float80.Bias;
        if (unbiased < 0) return 0;
        if (unbiased >= 20) return y.Sign ? -(1 << 20) : 1 << 20;
        int magnitude = (int)(y.Significand >> (63 - unbiased));
        return y.Sign ? -magnitude : magnitude;
    }

    /// <summary>
    /// FXTRACT: the unbiased exponent (for ST(1) after the push) and the significand scaled to
    /// [1, 2) (for ST(0)). A zero raises ZE and gives −∞ for the exponent.
    /// </summary>
    public static (Float80 Exponent, Float80 Significand) Extract(ref FpuOperation op, Float80 a)
    {
        if (a.IsUnsupported)
        {
            Float80 nan = op.Invalid();
            return (nan, nan);
        }
        if (a.IsNaN)
        {
            Float80 q = NaNRules.Propagate(ref op, a);
            return (q, q);
        }
        if (a.IsInfinity) return (Float80.Infinity(false), a);
        if (a.IsZero)
        {
            op.Raise(FpuExceptions.ZeroDivide);
            return (Float80.Infinity(true), a);
        }
        NaNRules.NoteDenormals(ref op, a, a);
        Unpacked x = Unpacked.From(a);
        return (IntegerConversion.FromInt64(x.Exponent - Float80.Bias), Float80.Pack(x.Sign, Float80.Bias, x.Significand));
    }
}
