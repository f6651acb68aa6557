namespace Vmi.Cpu.Fpu;

/// <summary>
/// The elementary functions behind the transcendental instructions, in <see cref="WideFloat"/>
/// (about 120 correct bits): each argument is reduced until a short Taylor series converges, and
/// every formula is chosen so no step cancels (a tiny result keeps its relative accuracy).
/// </summary>
internal static class WideMath
{
    private static readonly WideFloat Two = WideFloat.One.Scale(1);

    /// <summary>√2 · 2^127, the mantissa above which a logarithm's argument is halved into [√2/2, √2].</summary>
    private static readonly UInt128 SqrtTwoMantissa = new(0xB504_F333_F9DE_6484, 0x597D_89B3_754A_BE9F);

    /// <summary>2^x − 1: e^t − 1 for t = x·ln 2 scaled below 2^-10, then doubled back with e(2t) = e(t)·(e(t) + 2).</summary>
    public static WideFloat Exp2Minus1(WideFloat x)
    {
        WideFloat t = x * Constants.LnTwoWide;
        if (t.IsZero) return t;
        int halvings = Math.Max(0, t.Exponent + 10);
        t = t.Scale(-halvings);
        // e^t − 1 = t(1 + t/2(1 + t/3(1 + …))): 14 terms reach 2^-140 for |t| < 2^-10.
        WideFloat sum = WideFloat.One;
        for (uint n = 14; n >= 2; n--)
        {
            sum = WideFloat.One + (t * sum).DivideBy(n);
        }
        WideFloat e = t * sum;
        for (int i = 0; i < halvings; i++)
        {
            e *= e + Two;
        }
        return e;
    }

    /// <summary>log2 x for x &gt; 0: the exponent plus ln(m)·log2 e with m in [√2/2, √2] (exact for a power of two).</summary>
    public static WideFloat Log2(WideFloat x)
    {
        int exponent = x.Exponent;
        WideFloat m = new(false, 0, x.Mantissa);
        if (x.Mantissa > SqrtTwoMantissa)
        {
            m = m.Scale(-1);
            exponent++;
        }
        WideFloat fraction = LnNearOne(m - WideFloat.One, m + WideFloat.One) * Constants.Log2EWide;
        WideFloat integer = WideFloat.FromInteger(exponent < 0, (UInt128)(uint)Math.Abs(exponent));
        if (fraction.IsZero && exponent < 0)
        {
            // A power of two below 1: the host's logarithm comes out a hair smaller in magnitude than
            // the exact negative integer (it rounds −1 for log2 0.5 "up", and to −(1 − 2^-64) rounding up).
            return integer + new WideFloat(false, integer.Exponent - 200, UInt128.One << 127);
        }
        return integer + fraction;
    }

    /// <summary>log2(1 + x) for x &gt; −1; near 0 from x itself, so a tiny x keeps its precision.</summary>
    public static WideFloat Log2OnePlus(WideFloat x)
    {
        // Within (√2/2 − 1, √2 − 1) the atanh series converges as fast as in Log2.
        bool near = x.Exponent < -2 || (x.Exponent == -2 && (x.Sign ? x.Mantissa < new UInt128(0x95F6_1998_0C43_36F7, 0) : x.Mantissa < new UInt128(0xD413_CCCF_E779_9211, 0)));
        if (!near) return Log2(WideFloat.One + x);
        return LnNearOne(x, Two + x) * Constants.Log2EWide;
    }

    /// <summary>ln(m) = 2·atanh(s) with s = numerator/denominator = (m − 1)/(m + 1), |s| ≤ 0.1716.</summary>
    private static WideFloat LnNearOne(WideFloat numerator, WideFloat denominator)
    {
        if (numerator.IsZero) return WideFloat.Zero;
        WideFloat s = numerator / denominator;
        WideFloat s2 = s * s;
        // atanh s = s(1 + s²/3 + s⁴/5 + …): 26 terms reach 2^-132.
        WideFloat tail = WideFloat.Zero;
        for (uint n = 26; n >= 1; n--)
        {
            tail = (tail + WideFloat.One.DivideBy(2 * n + 1)) * s2;
        }
        return (s * (WideFloat.One + tail)).Scale(1);
    }

    /// <summary>The angle of (x, y) in (−π, π]: atan of a ratio at most 1, then the quadrant.</summary>
    public static WideFloat Atan2(WideFloat y, WideFloat x)
    {
        WideFloat a = y.Abs(), b = x.Abs();
        bool steep = a.Exponent > b.Exponent || (a.Exponent == b.Exponent && a.Mantissa > b.Mantissa);
        WideFloat angle = steep ? Constants.PiWide.Scale(-1) - Atan(b / a) : Atan(a / b);
        if (x.Sign) angle = Constants.PiWide - angle;
        return y.Sign ? angle.Negate() : angle;
    }

    /// <summary>atan t for 0 ≤ t ≤ 1: halve the angle below tan 2^-5, then the series.</summary>
    private static WideFloat Atan(WideFloat t)
    {
        if (t.IsZero) return t;
        int halvings = 0;
        while (t.Exponent > -6)
        {
            // tan(θ/2) = t / (1 + √(1 + t²))
            t /= WideFloat.One + WideFloat.SquareRoot(WideFloat.One + t * t);
            halvings++;
        }
        WideFloat t2 = t * t;
        // atan t = t(1 − t²(1/3 − t²(1/5 − …))): 15 terms reach 2^-150 for t < 2^-5.
        WideFloat inner = WideFloat.Zero;
        for (uint n = 15; n >= 1; n--)
        {
            inner = WideFloat.One.DivideBy(2 * n + 1) - t2 * inner;
        }
        return (t * (WideFloat.One - t2 * inner)).Scale(halvings);
    }

    /// <summary>sin r and cos r for |r| ≤ π/4 (a little more with the 66-bit π): 17 terms reach 2^-130.</summary>
    public static (WideFloat Sin, WideFloat Cos) SinCos(WideFloat r)
    {
        WideFloat r2 = r * r;
        WideFloat sin = WideFloat.One, cos = WideFloat.One;
        for (uint n = 17; n >= 1; n--)
        {
            sin = WideFloat.One - (r2 * sin).DivideBy(2 * n * (2 * n + 1));
            cos = WideFloat.One - (r2 * cos).DivideBy((2 * n - 1) * 2 * n);
        }
        return (r * sin, cos);
    }
}
