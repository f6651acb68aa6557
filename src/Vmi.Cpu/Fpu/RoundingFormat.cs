namespace Vmi.Cpu.Fpu;

/// <summary>
/// Where a result is rounded to: significand bits, the exponent range (as biased extended
/// exponents) and whether an unmasked overflow or underflow delivers a bias-adjusted result (a
/// register destination) or nothing at all (a memory destination).
/// </summary>
public readonly record struct RoundingFormat(int Precision, int MinExponent, int MaxExponent, bool RegisterDestination)
{
    /// <summary>
    /// An x87 register at the given precision control. The exponent range stays the extended one
    /// whatever the precision: a 24-bit result can still be as small as 2^-16382 (the SDM's note
    /// on precision control, and why x87 "float" arithmetic never overflows like SSE does).
    /// </summary>
    public static RoundingFormat Register(int precision) => new(precision, 1, 0x7FFE, true);

    public static readonly RoundingFormat Extended = Register(64);

    public static readonly RoundingFormat Single = new(24, Float80.Bias - 126, Float80.Bias + 127, false);

    public static readonly RoundingFormat Double = new(53, Float80.Bias - 1022, Float80.Bias + 1023, false);

    /// <summary>
    /// The exponent adjustment for an unmasked overflow or underflow with a register destination
    /// (3 × 2^13 for the extended format): the result is delivered scaled back into range.
    /// </summary>
    public const int BiasAdjust = 0x6000;
}
