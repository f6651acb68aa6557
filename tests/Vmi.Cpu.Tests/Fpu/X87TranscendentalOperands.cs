using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// Operands for the transcendental instructions, biased to each one's domain and its edges: values
/// near 0, ±1 and the ends of the defined ranges, powers of two, near multiples of π/4 and π/2, huge
/// arguments up to and past 2^63, denormals.
/// </summary>
public static class X87TranscendentalOperands
{
    /// <summary>1 − √2/2 (FYL2XP1's bound) as an extended value.</summary>
    private static readonly Float80 LogPlusOneBound = new(0x95F6_1998_0C43_36F7, Float80.Bias - 2);

    public static (Float80 St0, Float80 St1) Draw(X87Profile profile, X87OperandGenerator g) => profile switch
    {
        X87Profile.Exp2 => (Exp2Argument(g), g.Value()),
        X87Profile.Log => (LogArgument(g), Multiplier(g)),
        X87Profile.LogPlusOne => (LogPlusOneArgument(g), Multiplier(g)),
        X87Profile.Trig => (TrigArgument(g), g.Value()),
        _ => AnglePair(g),
    };

    private static bool Sign(X87OperandGenerator g) => g.Random.Next(2) == 0;

    /// <summary>Mostly in [−1, 1]: exponents from 2^-1 down to tiny, sometimes ±1 or just inside.</summary>
    private static Float80 Exp2Argument(X87OperandGenerator g) => g.Random.Next(10) switch
    {
        0 => Float80.Pack(Sign(g), Float80.Bias, Float80.IntegerBit),
        1 => Float80.Pack(Sign(g), Float80.Bias - 1, ulong.MaxValue - (ulong)g.Random.Next(4)),
        2 => Float80.Pack(Sign(g), g.Random.Next(1, Float80.Bias - 70), g.Significand()),
        3 => new Float80(g.NextULong() >> g.Random.Next(1, 64), (ushort)(Sign(g) ? 0x8000 : 0)),
        _ => Float80.Pack(Sign(g), Float80.Bias - 1 - g.Random.Next(0, 70), g.Significand()),
    };

    /// <summary>Positive, often near 1 (both sides), powers of two, extremes and denormals.</summary>
    private static Float80 LogArgument(X87OperandGenerator g) => g.Random.Next(10) switch
    {
        0 => Float80.Pack(false, Float80.Bias, Float80.IntegerBit | (g.NextULong() >> g.Random.Next(1, 64))),
        1 => Float80.Pack(false, Float80.Bias - 1, ulong.MaxValue - (g.NextULong() >> g.Random.Next(1, 64))),
        2 => Float80.Pack(false, g.Exponent(), Float80.IntegerBit),
        3 => new Float80(g.NextULong() >> g.Random.Next(1, 64), 0),
        _ => Float80.Pack(false, g.Exponent(), g.Significand()),
    };

    /// <summary>Mostly within ±(1 − √2/2): tiny, ordinary, and just inside or outside the bound.</summary>
    private static Float80 LogPlusOneArgument(X87OperandGenerator g)
    {
        bool sign = Sign(g);
        return g.Random.Next(10) switch
        {
            0 => LogPlusOneBound.WithSign(sign) is var b ? new Float80(b.Significand + (ulong)g.Random.Next(-3, 4), b.SignExponent) : b,
            1 => Float80.Pack(sign, g.Random.Next(1, Float80.Bias - 70), g.Significand()),
            2 => new Float80(g.NextULong() >> g.Random.Next(1, 64), (ushort)(sign ? 0x8000 : 0)),
            3 => Float80.Pack(sign, Float80.Bias - 2, Float80.IntegerBit | (g.NextULong() >> 4)),
            _ => Float80.Pack(sign, Float80.Bias - 3 - g.Random.Next(0, 70), g.Significand()),
        };
    }

    /// <summary>y: ordinary finite values, sometimes 1, huge or tiny (overflow and underflow of y·log).</summary>
    private static Float80 Multiplier(X87OperandGenerator g) => g.Random.Next(10) switch
    {
        0 => Float80.One.WithSign(Sign(g)),
        1 => g.Value(),
        2 => Float80.Pack(Sign(g), g.Exponent(), g.Significand()),
        _ => Float80.Pack(Sign(g), Float80.Bias + g.Random.Next(-8, 9), g.Significand()),
    };

    /// <summary>Near 0, near k·π/4 (a few ulps either side), large, and at the 2^63 limit.</summary>
    private static Float80 TrigArgument(X87OperandGenerator g)
    {
        bool sign = Sign(g);
        switch (g.Random.Next(10))
        {
            case 0:
                return Float80.Pack(sign, Float80.Bias - g.Random.Next(1, 80), g.Significand());
            case 1:
                return new Float80(g.NextULong() >> g.Random.Next(1, 64), (ushort)(sign ? 0x8000 : 0));
            case 2 or 3:
                {
                    long k = g.Chance(70) ? g.Random.Next(1, 64) : g.Random.NextInt64(1, long.MaxValue >> g.Random.Next(0, 60));
                    var op = new FpuOperation(FpuControl.Initial);
                    Float80 quarterPi = Float80.Pack(false, Float80.Bias - 1, 0xC90F_DAA2_2168_C235);
                    Float80 near = Arithmetic.Multiply(ref op, IntegerConversion.FromInt64(k), quarterPi, RoundingFormat.Extended);
                    ulong nudged = near.Significand + (ulong)g.Random.Next(-4, 5);
                    if ((nudged & Float80.IntegerBit) == 0) nudged = near.Significand;
                    return Float80.Pack(sign, near.Exponent, nudged);
                }
            case 4:
                return Float80.Pack(sign, Float80.Bias + 63 - g.Random.Next(0, 2), g.Chance(50) ? ulong.MaxValue : g.Significand());
            case 5:
                return Float80.Pack(sign, Float80.Bias + g.Random.Next(20, 63), g.Significand());
            default:
                return Float80.Pack(sign, Float80.Bias + g.Random.Next(-3, 8), g.Significand());
        }
    }

    /// <summary>Finite x and y with exponents equal, close, or far apart (tiny and huge ratios), sometimes |x| = |y|.</summary>
    private static (Float80, Float80) AnglePair(X87OperandGenerator g)
    {
        int e = g.Exponent();
        int delta = g.Random.Next(4) switch { 0 => 0, 1 => g.Random.Next(-3, 4), 2 => g.Random.Next(-80, 81), _ => g.Random.Next(-20000, 20000) };
        Float80 x = Float80.Pack(Sign(g), e, g.Significand());
        if (g.Chance(10)) return (x, x.WithSign(Sign(g)));
        return (x, Float80.Pack(Sign(g), Math.Clamp(e + delta, 1, 0x7FFE), g.Significand()));
    }
}
