namespace Vmi.Cpu.Fpu;

/// <summary>
/// The four operations and the square root, exact before one rounding: wide integer arithmetic
/// on the significands (UInt128, <see cref="Math.BigMul(ulong, ulong, out ulong)"/>), then
/// <see cref="Rounder"/>. The special-operand order follows the SDM's exception priority:
/// unsupported and SNaN operands, then QNaNs, then other invalid operations and divide by zero,
/// then denormal operands, then overflow, underflow and precision.
/// </summary>
public static class Arithmetic
{
    public static Float80 Add(ref FpuOperation op, Float80 a, Float80 b, in RoundingFormat format) =>
        AddSigned(ref op, a, b, negateB: false, in format);

    public static Float80 Subtract(ref FpuOperation op, Float80 a, Float80 b, in RoundingFormat format) =>
        AddSigned(ref op, a, b, negateB: true, in format);

    private static Float80 AddSigned(ref FpuOperation op, Float80 a, Float80 b, bool negateB, in RoundingFormat format)
    {
        if (a.IsUnsupported || b.IsUnsupported) return op.Invalid();
        if (a.IsNaN || b.IsNaN) return NaNRules.Propagate(ref op, a, b);
        bool signB = b.Sign ^ negateB;
        if (a.IsInfinity && b.IsInfinity && a.Sign != signB) return op.Invalid();
        NaNRules.NoteDenormals(ref op, a, b);
        if (op.Suppressed) return default;
        if (a.IsInfinity) return a;
        if (b.IsInfinity) return Float80.Infinity(signB);

        Unpacked x = Unpacked.From(a), y = Unpacked.From(b) with { Sign = signB };
        if (x.IsZero && y.IsZero)
        {
            return Float80.SignedZero(x.Sign == y.Sign ? x.Sign : op.Rounding == RoundingMode.Down);
        }
        if (x.IsZero) x = x with { Exponent = y.Exponent };
        if (y.IsZero) y = y with { Exponent = x.Exponent };
        if (x.Exponent < y.Exponent)
        {
            (x, y) = (y, x);
        }
        // Integer bits at 126: one bit of headroom for the carry of an addition.
        UInt128 big = (UInt128)x.Significand << 63;
        UInt128 small = Rounder.ShiftRightJam((UInt128)y.Significand << 63, x.Exponent - y.Exponent);
        if (x.Sign == y.Sign)
        {
            return Rounder.Round(ref op, x.Sign, x.Exponent + 1, big + small, in format);
        }
        if (big == small)
        {
            // An exact zero difference is +0, or −0 when rounding down (IEEE 754 §6.3).
            return Float80.SignedZero(op.Rounding == RoundingMode.Down);
        }
        return big > small
            ? Rounder.Round(ref op, x.Sign, x.Exponent + 1, big - small, in format)
            : Rounder.Round(ref op, y.Sign, x.Exponent + 1, small - big, in format);
    }

    public static Float80 Multiply(ref FpuOperation op, Float80 a, Float80 b, in RoundingFormat format)
    {
        if (a.IsUnsupported || b.IsUnsupported) return op.Invalid();
        if (a.IsNaN || b.IsNaN) return NaNRules.Propagate(ref op, a, b);
        bool sign = a.Sign ^ b.Sign;
        if ((a.IsInfinity && b.IsZero) || (a.IsZero && b.IsInfinity)) return op.Invalid();
        NaNRules.NoteDenormals(ref op, a, b);
        if (op.Suppressed) return default;
        if (a.IsInfinity || b.IsInfinity) return Float80.Infinity(sign);
        if (a.IsZero || b.IsZero) return Float80.SignedZero(sign);

        Unpacked x = Unpacked.From(a), y = Unpacked.From(b);
        ulong high = Math.BigMul(x.Significand, y.Significand, out ulong low);
        UInt128 product = new(high, low);
        return Rounder.Round(ref op, sign, x.Exponent + y.Exponent - Float80.Bias + 1, product, in format);
    }

    public static Float80 Divide(ref FpuOperation op, Float80 a, Float80 b, in RoundingFormat format)
    {
        if (a.IsUnsupported || b.IsUnsupported) return op.Invalid();
        if (a.IsNaN || b.IsNaN) return NaNRules.Propagate(ref op, a, b);
        bool sign = a.Sign ^ b.Sign;
        if ((a.IsInfinity && b.IsInfinity) || (a.IsZero && b.IsZero)) return op.Invalid();
        if (b.IsZero && !a.IsInfinity)
        {
            // Divide by zero (priority 3) ends the checks: a denormal dividend raises no DE.
            op.Raise(FpuExceptions.ZeroDivide);
            return op.Suppressed ? default : Float80.Infinity(sign);
        }
        NaNRules.NoteDenormals(ref op, a, b);
        if (op.Suppressed) return default;
        if (a.IsInfinity) return Float80.Infinity(sign);
        if (b.IsInfinity || a.IsZero) return Float80.SignedZero(sign);

        Unpacked x = Unpacked.From(a), y = Unpacked.From(b);
        // The quotient x·2^128 / y, to 129 bits plus a sticky remainder, in two long divisions.
        UInt128 divisor = y.Significand;
        UInt128 high = ((UInt128)x.Significand << 64) / divisor;
        UInt128 rest = ((UInt128)x.Significand << 64) - high * divisor;
        UInt128 low = (rest << 64) / divisor;
        bool sticky = (rest << 64) - low * divisor != UInt128.Zero;
        int exponent = x.Exponent - y.Exponent + Float80.Bias - 1;
        UInt128 quotient;
        if (high >> 64 != UInt128.Zero)
        {
            quotient = (high << 63) | (low >> 1);
            sticky |= (low & 1) != 0;
            exponent++;
        }
        else
        {
            quotient = (high << 64) | low;
        }
        if (sticky) quotient |= UInt128.One;
        return Rounder.Round(ref op, sign, exponent, quotient, in format);
    }

    public static Float80 SquareRoot(ref FpuOperation op, Float80 a, in RoundingFormat format)
    {
        if (a.IsUnsupported) return op.Invalid();
        if (a.IsNaN) return NaNRules.Propagate(ref op, a);
        if (a.IsZero) return a;
        if (a.Sign) return op.Invalid();
        NaNRules.NoteDenormals(ref op, a, a);
        if (op.Suppressed) return default;
        if (a.IsInfinity) return a;

        Unpacked x = Unpacked.From(a);
        int unbiased = x.Exponent - Float80.Bias;
        // x = sig · 2^(unbiased − 63); make the power even before taking the root.
        bool odd = ((unbiased - 63) & 1) != 0;
        UInt128 n = (UInt128)x.Significand << (odd ? 63 : 64);
        int power = unbiased - 63 - (odd ? 63 : 64);
        UInt128 root = IntegerSquareRoot(n, out UInt128 remainder);
        // No square root of an integer lies exactly halfway, so a guard bit and a sticky bit decide every rounding:
        // the guard is set when n ≥ (root + ½)², i.e. remainder > root.
        UInt128 significand = root << 64;
        if (remainder > root) significand |= (UInt128.One << 63) | UInt128.One;
        else if (remainder != UInt128.Zero) significand |= UInt128.One;
        return Rounder.Round(ref op, false, power / 2 + 63 + Float80.Bias, significand, in format);
    }

    /// <summary>floor(√n) and n − floor(√n)², digit by digit.</summary>
    internal static UInt128 IntegerSquareRoot(UInt128 n, out UInt128 remainder)
    {
        UInt128 result = UInt128.Zero;
        UInt128 bit = UInt128.One << 126;
        while (bit > n)
        {
            bit >>= 2;
        }
        while (bit != UInt128.Zero)
        {
            if (n >= result + bit)
            {
                n -= result + bit;
                result = (result >> 1) + bit;
            }
            else
            {
                result >>= 1;
            }
            bit >>= 2;
        }
        remainder = n;
        return result;
    }
}
