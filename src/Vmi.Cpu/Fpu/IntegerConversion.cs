namespace Vmi.Cpu.Fpu;

/// <summary>FILD, FIST/FISTP, FRNDINT, and the integer operand of FIADD and friends.</summary>
public static class IntegerConversion
{
    /// <summary>Every int16/int32/int64 is exact in 64 significand bits.</summary>
    public static Float80 FromInt64(long value) =>
        value < 0 ? FromMagnitude(true, (ulong)-value) : FromMagnitude(false, (ulong)value);

    public static Float80 FromMagnitude(bool negative, ulong magnitude)
    {
        if (magnitude == 0) return Float80.SignedZero(negative);
        int shift = System.Numerics.BitOperations.LeadingZeroCount(magnitude);
        return Float80.Pack(negative, Float80.Bias + 63 - shift, magnitude << shift);
    }

    /// <summary>
    /// Rounds x to an integer per the rounding control, keeping it in the extended format (FRNDINT).
    /// </summary>
    public static Float80 RoundToIntegral(ref FpuOperation op, Float80 x)
    {
        if (x.IsUnsupported) return op.Invalid();
        if (x.IsNaN) return NaNRules.Propagate(ref op, x);
        NaNRules.NoteDenormals(ref op, x, x);
        if (op.Suppressed) return default;
        if (x.IsInfinity || x.IsZero) return x;
        Unpacked u = Unpacked.From(x);
        int fractionBits = Float80.Bias + 63 - u.Exponent;
        if (fractionBits <= 0)
        {
            return x;
        }
        ulong magnitude = RoundMagnitude(ref op, u, fractionBits, out _);
        // The integer is at most 2^63 here, so it converts back exactly.
        return FromMagnitude(u.Sign, magnitude);
    }

    /// <summary>
    /// Converts to a signed integer of <paramref name="bits"/> bits (16, 32, 64) per the rounding
    /// control. Returns false with IE raised when the value is a NaN, infinite, unsupported or out of
    /// range (the masked response stores the integer indefinite, the most negative value).
    /// </summary>
    public static bool ToInteger(ref FpuOperation op, Float80 x, int bits, out long value)
    {
        value = long.MinValue >> (64 - bits);
        if (x.IsUnsupported || x.IsNaN || x.IsInfinity)
        {
            op.Raise(FpuExceptions.Invalid);
            return false;
        }
        if (x.IsZero)
        {
            value = 0;
            return true;
        }
        // A denormal source raises no DE here (it rounds to 0 or ±1 and is inexact).
        FpuOperation trial = op;
        Unpacked u = Unpacked.From(x);
        int fractionBits = Float80.Bias + 63 - u.Exponent;
        ulong magnitude;
        bool carry = false;
        if (fractionBits <= 0)
        {
            if (fractionBits < 0)
            {
                op.Raise(FpuExceptions.Invalid);
                return false;
            }
            magnitude = u.Significand;
        }
        else
        {
            magnitude = RoundMagnitude(ref trial, u, fractionBits, out carry);
        }
        ulong limit = 1ul << (bits - 1);
        if (carry || magnitude > limit || (magnitude == limit && !u.Sign))
        {
            // Out of range: IE only; the inexact and round-up of the attempt are not reported.
            op.Raise(FpuExceptions.Invalid);
            return false;
        }
        op = trial;
        value = u.Sign ? -(long)magnitude : (long)magnitude;
        return true;
    }

    /// <summary>The magnitude of u rounded to an integer; <paramref name="carry"/> means it reached 2^64.</summary>
    private static ulong RoundMagnitude(ref FpuOperation op, Unpacked u, int fractionBits, out bool carry)
    {
        UInt128 fixedPoint = Rounder.ShiftRightJam((UInt128)u.Significand << 64, fractionBits);
        // The integer part now sits in the high 64 bits: round at bit 64.
        Rounder.RoundOutcome r = Rounder.RoundSignificand(fixedPoint, 64, u.Sign, op.Rounding, out UInt128 rounded, out bool inexact, out bool up);
        carry = r.Carry;
        if (inexact)
        {
            op.Raise(FpuExceptions.Precision);
            op.RoundedUp = up;
        }
        return carry ? 0 : (ulong)(rounded >> 64);
    }
}
