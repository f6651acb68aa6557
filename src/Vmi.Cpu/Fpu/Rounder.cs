namespace Vmi.Cpu.Fpu;

/// <summary>
/// The one rounding step every inexact x87 operation ends in. Input: an exact (or sticky-jammed)
/// value sign × significand × 2^(exponent − 16383 − 127), the significand a UInt128 of any
/// magnitude. Output: the value rounded per the control word's rounding mode to the format's
/// precision, with the overflow, underflow and inexact rules of SDM Vol. 1 §4.9.1 / §8.5.
/// </summary>
public static class Rounder
{
    /// <summary>
    /// Test seam: when set, called after every rounding decision with the rounded significand
    /// (integer bit at 127), so a test can perturb the result by an ulp and prove the
    /// differential comparison notices. Always null in the emulator.
    /// </summary>
    [ThreadStatic]
    internal static Func<UInt128, int, UInt128>? Perturb;

    /// <summary>
    /// The x87 detects tininess after rounding: a result that rounds up to the smallest normal (at
    /// the precision in force, with an unbounded exponent) is not tiny. IEEE 754 lets an
    /// implementation choose; the differential tests pinned the host's choice.
    /// </summary>
    internal static readonly bool TininessBeforeRounding = false;

    public static Float80 Round(ref FpuOperation op, bool sign, int exponent, UInt128 significand, in RoundingFormat format)
    {
        if (significand == UInt128.Zero)
        {
            return Float80.SignedZero(sign);
        }
        int shift = (int)UInt128.LeadingZeroCount(significand);
        significand <<= shift;
        exponent -= shift;
        RoundingMode mode = op.Rounding;
        int precision = format.Precision;

        if (exponent < format.MinExponent)
        {
            bool tiny = true;
            if (!TininessBeforeRounding && exponent == format.MinExponent - 1)
            {
                tiny = !RoundSignificand(significand, precision, sign, mode, out _, out _, out _).Carry;
            }
            if (tiny)
            {
                return Underflow(ref op, sign, exponent, significand, in format);
            }
        }

        var rounded = RoundSignificand(significand, precision, sign, mode, out UInt128 result, out bool inexact, out bool up);
        if (rounded.Carry)
        {
            exponent++;
        }
        if (exponent > format.MaxExponent)
        {
            return Overflow(ref op, sign, exponent, result, inexact, up, in format);
        }
        NoteInexact(ref op, inexact, up);
        return Pack(sign, exponent, result, format.MinExponent);
    }

    private static Float80 Underflow(ref FpuOperation op, bool sign, int exponent, UInt128 significand, in RoundingFormat format)
    {
        RoundingMode mode = op.Rounding;
        if (!op.IsMasked(FpuExceptions.Underflow))
        {
            // Unmasked: UE whether or not the result is exact; a register gets the result rounded
            // with an unbounded exponent and scaled up by 2^24576. A memory destination gets nothing,
            // and no PE either: the store did not happen.
            op.Raise(FpuExceptions.Underflow);
            if (!format.RegisterDestination) return default;
            var r = RoundSignificand(significand, format.Precision, sign, mode, out UInt128 scaled, out bool inexactScaled, out bool upScaled);
            if (r.Carry) exponent++;
            if (exponent + RoundingFormat.BiasAdjust < format.MinExponent)
            {
                // Below even the adjusted range (only FSCALE gets here): a zero, inexact.
                NoteInexact(ref op, true, false);
                return Float80.SignedZero(sign);
            }
            NoteInexact(ref op, inexactScaled, upScaled);
            return Pack(sign, exponent + RoundingFormat.BiasAdjust, scaled, format.MinExponent);
        }
        UInt128 denormal = ShiftRightJam(significand, format.MinExponent - exponent);
        RoundSignificand(denormal, format.Precision, sign, mode, out UInt128 result, out bool inexact, out bool up);
        if (inexact)
        {
            op.Raise(FpuExceptions.Underflow);
        }
        NoteInexact(ref op, inexact, up);
        return Pack(sign, format.MinExponent, result, format.MinExponent);
    }

    private static Float80 Overflow(ref FpuOperation op, bool sign, int exponent, UInt128 result, bool inexact, bool up, in RoundingFormat format)
    {
        if (!op.IsMasked(FpuExceptions.Overflow))
        {
            op.Raise(FpuExceptions.Overflow);
            if (!format.RegisterDestination) return default;
            NoteInexact(ref op, inexact, up);
            int adjusted = exponent - RoundingFormat.BiasAdjust;
            if (adjusted > format.MaxExponent)
            {
                // Beyond even the adjusted range (only FSCALE gets here): infinity, as the SDM says for
                // FSCALE, reported as inexact and rounded up.
                NoteInexact(ref op, true, true);
                return Float80.Infinity(sign);
            }
            return Pack(sign, adjusted, result, format.MinExponent);
        }
        // Masked: infinity or the largest finite number, whichever the rounding direction reaches.
        op.Raise(FpuExceptions.Overflow);
        bool toInfinity = op.Rounding switch
        {
            RoundingMode.NearestEven => true,
            RoundingMode.TowardZero => false,
            RoundingMode.Down => sign,
            _ => !sign,
        };
        NoteInexact(ref op, true, toInfinity);
        if (toInfinity)
        {
            return Float80.Infinity(sign);
        }
        ulong largest = ulong.MaxValue << (64 - format.Precision);
        return Float80.Pack(sign, format.MaxExponent, largest);
    }

    private static void NoteInexact(ref FpuOperation op, bool inexact, bool up)
    {
        if (inexact)
        {
            op.Raise(FpuExceptions.Precision);
            op.RoundedUp = up;
        }
    }

    internal readonly record struct RoundOutcome(bool Carry);

    /// <summary>
    /// Rounds a significand whose integer bit is bit 127 (or lower, for a denormal) to the top
    /// <paramref name="precision"/> bit positions. On a carry out of bit 127 the result is
    /// 2^127 and the caller adds one to the exponent.
    /// </summary>
    internal static RoundOutcome RoundSignificand(UInt128 significand, int precision, bool sign, RoundingMode mode, out UInt128 result, out bool inexact, out bool up)
    {
        int lsb = 128 - precision;
        UInt128 unit = UInt128.One << lsb;
        UInt128 mask = unit - 1;
        UInt128 remainder = significand & mask;
        UInt128 kept = significand & ~mask;
        inexact = remainder != UInt128.Zero;
        bool increment = mode switch
        {
            RoundingMode.NearestEven => remainder > (unit >> 1) || (remainder == (unit >> 1) && (kept & unit) != UInt128.Zero),
            RoundingMode.Down => sign && inexact,
            RoundingMode.Up => !sign && inexact,
            _ => false,
        };
        up = increment;
        bool carry = false;
        if (increment)
        {
            UInt128 sum = kept + unit;
            carry = sum < kept;
            kept = carry ? UInt128.One << 127 : sum;
        }
        if (Perturb is { } perturb)
        {
            kept = perturb(kept, lsb);
        }
        result = kept;
        return new RoundOutcome(carry);
    }

    /// <summary>Shifts right, OR-ing every bit shifted out into bit 0 (so "inexact" survives).</summary>
    internal static UInt128 ShiftRightJam(UInt128 value, int count)
    {
        if (count <= 0) return value;
        if (count >= 128) return value != UInt128.Zero ? UInt128.One : UInt128.Zero;
        UInt128 lost = value & ((UInt128.One << count) - 1);
        return (value >> count) | (lost != UInt128.Zero ? UInt128.One : UInt128.Zero);
    }

    /// <summary>
    /// Packs a rounded significand (integer bit at 127) into the extended encoding. A result
    /// without its integer bit at the minimum exponent is a denormal of the target format: in a
    /// register that is exponent field 0; for a narrower format the exponent is left at its
    /// minimum and the narrow encoder reads the missing integer bit.
    /// </summary>
    private static Float80 Pack(bool sign, int exponent, UInt128 significand, int minExponent)
    {
        ulong bits = (ulong)(significand >> 64);
        if (bits == 0)
        {
            return Float80.SignedZero(sign);
        }
        if ((bits & Float80.IntegerBit) == 0 && exponent == minExponent && minExponent == 1)
        {
            exponent = 0;
        }
        return Float80.Pack(sign, exponent, bits);
    }
}
