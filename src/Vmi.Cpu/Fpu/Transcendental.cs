namespace Vmi.Cpu.Fpu;

/// <summary>
/// F2XM1, FYL2X, FYL2XP1, FPATAN and the trigonometric functions: the special operands of each
/// instruction's table in the SDM (Vol. 2), then the function in <see cref="WideMath"/> and one
/// rounding. Precision control does not apply (SDM Vol. 1 §8.1.5.2 lists the instructions it
/// affects; these are not among them): results are rounded to 64 bits under RC. A computed result
/// always reports PE, even where the true value happens to be representable (the host does the
/// same: F2XM1(1) = 1 with PE).
/// </summary>
public static class Transcendental
{
    /// <summary>Significant bits FYL2X keeps of log2 x before multiplying by y (truncated): the host's choice, pinned by the differential tests.</summary>
    internal const int YLog2XLogarithmBits = 67;

    private static readonly Float80 MinusOne = Float80.One.Negate();

    /// <summary>|x| below which FSIN, FCOS and FSINCOS return x and 1 without computing (the host's threshold).</summary>
    internal const int SineShortcutExponent = Float80.Bias - 68;

    /// <summary>|x| below which FPTAN returns x (the host's threshold; tan x − x is then below its internal precision).</summary>
    internal const int TangentShortcutExponent = Float80.Bias - 32;

    /// <summary>
    /// Rounds a computed value. One whose low 64 bits are all zero came out as an exact extended
    /// value (F2XM1(1), log2 of a power of two): the host delivers it unrounded, still with PE.
    /// </summary>
    private static Float80 RoundInexact(ref FpuOperation op, WideFloat v)
    {
        if ((ulong)v.Mantissa == 0) return ExactButInexact(ref op, v.Sign, v.Exponent + Float80.Bias, v.Mantissa);
        return Rounder.Round(ref op, v.Sign, v.Exponent + Float80.Bias, v.Mantissa, RoundingFormat.Extended);
    }

    /// <summary>
    /// A result taken as exact but reported inexact (PE, C1 clear), as the host does for its shortcuts
    /// and exact cases; a tiny one also reports underflow.
    /// </summary>
    private static Float80 ExactButInexact(ref FpuOperation op, bool sign, int exponent, UInt128 significand)
    {
        Float80 r = Rounder.Round(ref op, sign, exponent, significand, RoundingFormat.Extended);
        int normalizedExponent = exponent - (int)UInt128.LeadingZeroCount(significand);
        if (normalizedExponent < 1) op.Raise(FpuExceptions.Underflow);
        op.Raise(FpuExceptions.Precision);
        return r;
    }

    private static Float80 ExactButInexact(ref FpuOperation op, Float80 x)
    {
        Unpacked u = Unpacked.From(x);
        return ExactButInexact(ref op, u.Sign, u.Exponent, (UInt128)u.Significand << 64);
    }

    /// <summary>The operand checks every one of these shares: unsupported encodings and SNaNs (IE), QNaNs.</summary>
    private static bool Invalid(ref FpuOperation op, Float80 a, out Float80 result)
    {
        if (a.IsUnsupported)
        {
            result = op.Invalid();
            return true;
        }
        if (a.IsNaN)
        {
            result = NaNRules.Propagate(ref op, a);
            return true;
        }
        result = default;
        return false;
    }

    private static bool Invalid(ref FpuOperation op, Float80 a, Float80 b, out Float80 result)
    {
        if (a.IsUnsupported || b.IsUnsupported)
        {
            result = op.Invalid();
            return true;
        }
        if (a.IsNaN || b.IsNaN)
        {
            result = NaNRules.Propagate(ref op, a, b);
            return true;
        }
        result = default;
        return false;
    }

    /// <summary>F2XM1: 2^x − 1, defined for −1 ≤ x ≤ 1.</summary>
    public static Float80 TwoToXMinusOne(ref FpuOperation op, Float80 x)
    {
        if (Invalid(ref op, x, out Float80 special)) return special;
        if (x.IsInfinity) return x.Sign ? MinusOne : x;
        if (x.IsZero) return x;
        NaNRules.NoteDenormals(ref op, x, x);
        if (op.Suppressed) return default;
        Unpacked u = Unpacked.From(x);
        if (u.Exponent > Float80.Bias || (u.Exponent == Float80.Bias && u.Significand != Float80.IntegerBit))
        {
            // Outside [−1, 1] the SDM leaves the result undefined; the host returns the operand, inexact.
            op.Raise(FpuExceptions.Precision);
            return x;
        }
        if (u.Exponent == Float80.Bias)
        {
            // ±1: 1 and −0.5 exactly, still reported inexact.
            return ExactButInexact(ref op, x.Sign, x.Sign ? Float80.Bias - 1 : Float80.Bias, (UInt128)Float80.IntegerBit << 64);
        }
        return RoundInexact(ref op, WideMath.Exp2Minus1(WideFloat.From(x)));
    }

    /// <summary>FYL2X: y · log2 x (x = ST(0), y = ST(1)).</summary>
    public static Float80 YLog2X(ref FpuOperation op, Float80 x, Float80 y)
    {
        if (Invalid(ref op, x, y, out Float80 special)) return special;
        if (x.Sign && !x.IsZero) return op.Invalid();
        if (x.IsZero)
        {
            // log2 0 = −∞: 0 · −∞ is invalid, a finite y divides by zero, ∞ · −∞ is simply ∞.
            if (y.IsZero) return op.Invalid();
            if (!y.IsInfinity)
            {
                op.Raise(FpuExceptions.ZeroDivide);
                if (op.Suppressed) return default;
            }
            return Float80.Infinity(!y.Sign);
        }
        bool one = x == Float80.One;
        if (x.IsInfinity)
        {
            if (y.IsZero) return op.Invalid();
            NaNRules.NoteDenormals(ref op, x, y);
            return op.Suppressed ? default : Float80.Infinity(y.Sign);
        }
        if (y.IsInfinity && one) return op.Invalid();
        NaNRules.NoteDenormals(ref op, x, y);
        if (op.Suppressed) return default;
        bool below = IsBelowOne(x);
        if (y.IsInfinity) return Float80.Infinity(y.Sign ^ below);
        if (y.IsZero || one) return Float80.SignedZero(y.Sign ^ below);

        WideFloat log = WideMath.Log2(WideFloat.From(x));
        // The host multiplies y by log2 x truncated to 67 bits: keep exactly that, then the exact product.
        UInt128 kept = log.Mantissa & ~(UInt128.MaxValue >> YLog2XLogarithmBits);
        Unpacked b = Unpacked.From(y);
        UInt128 high = WideFloat.MultiplyHigh((UInt128)b.Significand << 64, kept, out UInt128 low);
        if (low != UInt128.Zero) high |= UInt128.One;
        // (y·2^64)·L ≈ product·2^256 with value y·log = product · 2^(ey + el − 127 − 127 + 1 − 127 ...).
        int exponent = b.Exponent + log.Exponent + 1;
        return Rounder.Round(ref op, y.Sign ^ log.Sign, exponent, high | UInt128.One, RoundingFormat.Extended);
    }

    /// <summary>FYL2XP1: y · log2(x + 1) (x = ST(0), y = ST(1)), defined for |x| &lt; 1 − √2/2.</summary>
    public static Float80 YLog2XPlusOne(ref FpuOperation op, Float80 x, Float80 y)
    {
        if (Invalid(ref op, x, y, out Float80 special)) return special;
        if ((x.IsZero && y.IsInfinity) || (x.IsInfinity && (x.Sign || y.IsZero))) return op.Invalid();
        NaNRules.NoteDenormals(ref op, x, y);
        if (op.Suppressed) return default;
        if (x.IsZero || y.IsZero) return Float80.SignedZero(x.Sign ^ y.Sign);
        if (y.IsInfinity || x.IsInfinity) return Float80.Infinity(x.Sign ^ y.Sign);
        if (x.Sign && Unpacked.From(x).Exponent >= Float80.Bias)
        {
            // x ≤ −1 is far outside the SDM's range (log2 of zero or less); the host returns x itself, inexact.
            return ExactButInexact(ref op, x);
        }
        return RoundInexact(ref op, WideMath.Log2OnePlus(WideFloat.From(x)) * WideFloat.From(y));
    }

    /// <summary>FPATAN: the angle of (x, y) = (ST(0), ST(1)), the table of SDM Vol. 2 for zeros and infinities.</summary>
    public static Float80 PartialArctangent(ref FpuOperation op, Float80 x, Float80 y)
    {
        if (Invalid(ref op, x, y, out Float80 special)) return special;
        NaNRules.NoteDenormals(ref op, x, y);
        if (op.Suppressed) return default;
        WideFloat angle;
        if (y.IsZero || y.IsInfinity || x.IsZero || x.IsInfinity)
        {
            if (y.IsZero && !x.Sign) return y;
            angle = (y.IsInfinity, x.IsInfinity) switch
            {
                (true, true) => Constants.PiWide.Scale(-2) * WideFloat.FromInteger(false, x.Sign ? 3u : 1u),
                (true, false) => Constants.PiWide.Scale(-1),
                _ when y.IsZero => Constants.PiWide,
                _ when x.IsZero => Constants.PiWide.Scale(-1),
                _ => x.Sign ? Constants.PiWide : WideFloat.Zero,
            };
            if (angle.IsZero) return Float80.SignedZero(y.Sign);
            return RoundInexact(ref op, y.Sign ? angle.Negate() : angle);
        }
        if (!x.Sign && RatioExponent(y, x) < AngleShortcutExponent)
        {
            // atan(y/x) for a tiny ratio: the host returns the quotient, rounded, always with PE (and UE
            // when it is tiny, even exact).
            Float80 quotient = Arithmetic.Divide(ref op, y, x, RoundingFormat.Extended);
            if (quotient.Exponent == 0) op.Raise(FpuExceptions.Underflow);
            op.Raise(FpuExceptions.Precision);
            return quotient;
        }
        return RoundInexact(ref op, WideMath.Atan2(WideFloat.From(y), WideFloat.From(x)));
    }

    /// <summary>Which trigonometric result: sine, cosine or tangent.</summary>
    public enum Trig { Sine, Cosine, Tangent }

    /// <summary>
    /// FSIN, FCOS, FPTAN: the function of ST(0). <paramref name="outOfRange"/> is set for |x| ≥ 2^63,
    /// where the instruction sets C2 and leaves its operand alone.
    /// </summary>
    public static Float80 Trigonometric(ref FpuOperation op, Float80 x, Trig function, out bool outOfRange)
    {
        outOfRange = false;
        if (Invalid(ref op, x, out Float80 special)) return special;
        if (x.IsInfinity) return op.Invalid();
        NaNRules.NoteDenormals(ref op, x, x);
        if (op.Suppressed) return default;
        if (x.IsZero) return function == Trig.Cosine ? Float80.One : x;
        if (x.Exponent >= Float80.Bias + 63)
        {
            outOfRange = true;
            return x;
        }
        int magnitude = Unpacked.From(x).Exponent;
        if (magnitude < (function == Trig.Tangent ? TangentShortcutExponent : SineShortcutExponent))
        {
            return function == Trig.Cosine ? ExactButInexact(ref op, Float80.One) : ExactButInexact(ref op, x);
        }
        (WideFloat r, int quadrant) = TrigReduction.Reduce(x.Abs());
        (WideFloat sin, WideFloat cos) = WideMath.SinCos(r);
        WideFloat value = function switch
        {
            Trig.Sine => (quadrant & 1) == 0 ? sin : cos,
            Trig.Cosine => (quadrant & 1) == 0 ? cos : sin.Negate(),
            _ => (quadrant & 1) == 0 ? sin / cos : (cos / sin).Negate(),
        };
        if (function == Trig.Sine || function == Trig.Tangent)
        {
            if (function == Trig.Sine && (quadrant & 2) != 0) value = value.Negate();
            if (x.Sign) value = value.Negate();
        }
        else if ((quadrant & 2) != 0)
        {
            value = value.Negate();
        }
        return RoundInexact(ref op, value);
    }

    /// <summary>|y/x| below which FPATAN returns y/x (the host's threshold; atan t − t is then below 2^-80·t).</summary>
    internal const int AngleShortcutExponent = -40;

    /// <summary>floor(log2 |y/x|) for finite nonzero operands.</summary>
    private static int RatioExponent(Float80 y, Float80 x)
    {
        Unpacked a = Unpacked.From(y), b = Unpacked.From(x);
        return a.Exponent - b.Exponent - (a.Significand < b.Significand ? 1 : 0);
    }

    /// <summary>x &lt; 1 for a finite positive x.</summary>
    private static bool IsBelowOne(Float80 x) => Unpacked.From(x).Exponent < Float80.Bias;
}
