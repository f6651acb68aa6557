namespace Vmi.Cpu.Fpu;

/// <summary>
/// FPREM and FPREM1: exact partial remainders. When the exponents differ by 64 or more only a
/// partial reduction is done (C2 = 1) and the program loops; the SDM leaves the reduction step N
/// "implementation dependent, between 32 and 63"; this one uses N = 32 + (D mod 32), which the
/// differential tests check against the host.
/// </summary>
public static class Remainder
{
    /// <summary>The result and the condition codes it sets: C2 for "incomplete", C0/C3/C1 for the quotient's low bits.</summary>
    public static Float80 Compute(ref FpuOperation op, Float80 a, Float80 b, bool nearest, out ushort conditionCodes)
    {
        conditionCodes = 0;
        if (a.IsUnsupported || b.IsUnsupported) return op.Invalid();
        if (a.IsNaN || b.IsNaN) return NaNRules.Propagate(ref op, a, b);
        if (a.IsInfinity || b.IsZero) return op.Invalid();
        NaNRules.NoteDenormals(ref op, a, b);
        if (op.Suppressed) return default;
        if (a.IsZero) return a;
        if (b.IsInfinity)
        {
            // a comes back as it is (no underflow for a denormal), a pseudo-denormal re-encoded with exponent 1.
            return a.Class == Float80Class.PseudoDenormal ? Float80.Pack(a.Sign, 1, a.Significand) : a;
        }

        Unpacked x = Unpacked.From(a), y = Unpacked.From(b);
        int d = x.Exponent - y.Exponent;
        bool sign = x.Sign;
        if (d < 0)
        {
            // |a| < |b|: quotient 0 — except FPREM1 rounds a quotient of 1 up when |a| > |b|/2.
            if (nearest && d == -1 && x.Significand > y.Significand)
            {
                UInt128 diff = ((UInt128)y.Significand << 1) - x.Significand;
                conditionCodes = FpuStatus.C1;
                return Rounder.Round(ref op, !sign, y.Exponent - 1, diff << 64, RoundingFormat.Extended);
            }
            return Rounder.Round(ref op, sign, x.Exponent, (UInt128)x.Significand << 64, RoundingFormat.Extended);
        }
        bool complete = d < 64;
        int step = complete ? d : 32 + (d % 32);
        UInt128 dividend = (UInt128)x.Significand << step;
        UInt128 quotient = dividend / y.Significand;
        UInt128 rest = dividend - quotient * y.Significand;
        if (complete && nearest)
        {
            UInt128 twice = rest << 1;
            if (twice > y.Significand || (twice == y.Significand && (quotient & 1) != UInt128.Zero))
            {
                quotient++;
                rest = y.Significand - rest;
                sign = !sign;
            }
        }
        if (complete)
        {
            ulong q = (ulong)(quotient & 7);
            if ((q & 4) != 0) conditionCodes |= FpuStatus.C0;
            if ((q & 2) != 0) conditionCodes |= FpuStatus.C3;
            if ((q & 1) != 0) conditionCodes |= FpuStatus.C1;
        }
        else
        {
            conditionCodes = FpuStatus.C2;
        }
        if (rest == UInt128.Zero)
        {
            return Float80.SignedZero(x.Sign);
        }
        // rest is in units of b's last significand bit, shifted up by the part of d not reduced.
        int exponent = y.Exponent + (d - step);
        return Rounder.Round(ref op, sign, exponent, rest << 64, RoundingFormat.Extended);
    }
}
