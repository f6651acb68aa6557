namespace Vmi.Cpu.Fpu;

/// <summary>
/// A 128-bit-significand binary float for the transcendental functions' intermediate values:
/// value = (−1)^Sign × Mantissa × 2^(Exponent − 127), Mantissa normalized (bit 127 set) or zero,
/// Exponent an unbounded int. Every operation truncates to 128 bits, so a result carries a relative
/// error of a few 2^-127 — far below the 2^-64 the final rounding needs — and ORs what it dropped into
/// bit 0 (a sticky bit): a correction too small to show, like sin x = x − x³/6 for a tiny x, still
/// moves the value off a representable number in the right direction, so directed rounding and C1 come
/// out right. A value type with no allocation: the execution engine runs it per guest instruction.
/// </summary>
internal readonly record struct WideFloat(bool Sign, int Exponent, UInt128 Mantissa)
{
    private static readonly UInt128 TopBit = UInt128.One << 127;

    public static WideFloat Zero => default;

    public static WideFloat One => new(false, 0, TopBit);

    public bool IsZero => Mantissa == UInt128.Zero;

    /// <summary>An integer or fixed-point value: <paramref name="magnitude"/> × 2^<paramref name="power"/>.</summary>
    public static WideFloat FromInteger(bool sign, UInt128 magnitude, int power = 0)
    {
        if (magnitude == UInt128.Zero) return Zero;
        int shift = (int)UInt128.LeadingZeroCount(magnitude);
        return new WideFloat(sign, power + 127 - shift, magnitude << shift);
    }

    /// <summary>A finite Float80 exactly (a denormal normalized).</summary>
    public static WideFloat From(Float80 x)
    {
        Unpacked u = Unpacked.From(x);
        if (u.IsZero) return Zero;
        return new WideFloat(u.Sign, u.Exponent - Float80.Bias, (UInt128)u.Significand << 64);
    }

    public WideFloat Negate() => this with { Sign = !Sign };

    public WideFloat Abs() => this with { Sign = false };

    /// <summary>Multiplies by 2^n exactly.</summary>
    public WideFloat Scale(int n) => IsZero ? this : this with { Exponent = Exponent + n };

    public static WideFloat operator *(WideFloat a, WideFloat b)
    {
        if (a.IsZero || b.IsZero) return Zero;
        UInt128 high = MultiplyHigh(a.Mantissa, b.Mantissa, out UInt128 low);
        int exponent = a.Exponent + b.Exponent + 1;
        if ((high & TopBit) == UInt128.Zero)
        {
            high = (high << 1) | (low >> 127);
            low <<= 1;
            exponent--;
        }
        if (low != UInt128.Zero) high |= UInt128.One;
        return new WideFloat(a.Sign ^ b.Sign, exponent, high);
    }

    public static WideFloat operator +(WideFloat a, WideFloat b)
    {
        if (a.IsZero) return b;
        if (b.IsZero) return a;
        if (a.Exponent < b.Exponent || (a.Exponent == b.Exponent && a.Mantissa < b.Mantissa))
        {
            (a, b) = (b, a);
        }
        int distance = a.Exponent - b.Exponent;
        UInt128 small = Rounder.ShiftRightJam(b.Mantissa, distance);
        if (a.Sign == b.Sign)
        {
            UInt128 sum = a.Mantissa + small;
            if (sum < a.Mantissa)
            {
                return new WideFloat(a.Sign, a.Exponent + 1, (sum >> 1) | TopBit | (sum & UInt128.One));
            }
            return new WideFloat(a.Sign, a.Exponent, sum);
        }
        UInt128 difference = a.Mantissa - small;
        if (difference == UInt128.Zero) return Zero;
        int shift = (int)UInt128.LeadingZeroCount(difference);
        return new WideFloat(a.Sign, a.Exponent - shift, difference << shift);
    }

    public static WideFloat operator -(WideFloat a, WideFloat b) => a + b.Negate();

    /// <summary>Long division, one quotient bit per step: 128 correct bits, truncated.</summary>
    public static WideFloat operator /(WideFloat a, WideFloat b)
    {
        if (a.IsZero) return Zero;
        if (b.IsZero) throw new DivideByZeroException();
        UInt128 n = a.Mantissa, d = b.Mantissa;
        int exponent = a.Exponent - b.Exponent;
        // carry is bit 128 of the partial remainder, which is always below 2d < 2^129.
        bool carry = false;
        if (n < d)
        {
            carry = (n & TopBit) != UInt128.Zero;
            n <<= 1;
            exponent--;
        }
        UInt128 q = UInt128.Zero;
        for (int i = 0; i < 128; i++)
        {
            q <<= 1;
            if (carry || n >= d)
            {
                n -= d;
                q |= UInt128.One;
            }
            carry = (n & TopBit) != UInt128.Zero;
            n <<= 1;
        }
        if (carry || n != UInt128.Zero) q |= UInt128.One;
        return new WideFloat(a.Sign ^ b.Sign, exponent, q);
    }

    /// <summary>Divides by a small positive integer (series coefficients) with 128 correct bits.</summary>
    public WideFloat DivideBy(uint divisor)
    {
        if (IsZero) return this;
        UInt128 high = Mantissa / divisor;
        UInt128 rest = Mantissa % divisor;
        ulong low = (ulong)((rest << 64) / divisor);
        bool inexact = (rest << 64) % divisor != UInt128.Zero;
        int shift = (int)UInt128.LeadingZeroCount(high);
        UInt128 normalized = (high << shift) | (shift == 0 ? UInt128.Zero : (UInt128)(low >> (64 - shift)));
        if (inexact || (shift < 64 && low << shift != 0)) normalized |= UInt128.One;
        return new WideFloat(Sign, Exponent - shift, normalized);
    }

    /// <summary>√a for a ≥ 0: a 64-bit integer root, then one Newton step (error squared: ~2^-126).</summary>
    public static WideFloat SquareRoot(WideFloat a)
    {
        if (a.IsZero) return Zero;
        // a = Mantissa·2^p; an odd p borrows one bit of the mantissa so the power halves exactly.
        int p = a.Exponent - 127;
        bool odd = (p & 1) != 0;
        UInt128 radicand = odd ? a.Mantissa >> 1 : a.Mantissa;
        UInt128 root = Arithmetic.IntegerSquareRoot(radicand, out _);
        WideFloat guess = FromInteger(false, root, (odd ? p + 1 : p) / 2);
        return (guess + a / guess).Scale(-1);
    }

    /// <summary>The high 128 bits of a 256-bit product (and the low 128 in <paramref name="low"/>).</summary>
    internal static UInt128 MultiplyHigh(UInt128 a, UInt128 b, out UInt128 low)
    {
        ulong ah = (ulong)(a >> 64), al = (ulong)a, bh = (ulong)(b >> 64), bl = (ulong)b;
        UInt128 hh = (UInt128)ah * bh, hl = (UInt128)ah * bl, lh = (UInt128)al * bh, ll = (UInt128)al * bl;
        UInt128 middle = (UInt128)(ulong)hl + (ulong)lh + (ll >> 64);
        low = (middle << 64) | (ulong)ll;
        return hh + (hl >> 64) + (lh >> 64) + (middle >> 64);
    }
}
