namespace Vmi.Cpu.Fpu;

/// <summary>
/// The argument reduction of FSIN, FCOS, FSINCOS and FPTAN as the x87 does it: modulo π/2 with π
/// held to 66 bits (SDM Vol. 1 §8.3.10, "Transcendental Instruction Accuracy"), not the true π. The
/// reduction itself is exact, so the result is the correctly rounded function of x − k·π₆₆/2 + k·π/2;
/// near multiples of π that differs from sin x by up to ~2^-66 absolute, as on the host (FSIN of
/// FLDPI's π is −2^-64 on both, where sin of that 64-bit value is −5.0e-20).
/// </summary>
internal static class TrigReduction
{
    /// <summary>π₆₆ · 2^64: π truncated (and rounded) to 66 bits.</summary>
    private static readonly UInt128 Pi66 = new(0x3, 0x243F_6A88_85A3_08D3);

    /// <summary>
    /// For a finite |x| &lt; 2^63: r with |r| ≤ π₆₆/4 and the quadrant k mod 4 so that x = k·π₆₆/2 + r
    /// exactly (x taken as its magnitude; the caller applies the odd/even symmetry).
    /// </summary>
    public static (WideFloat Reduced, int Quadrant) Reduce(Float80 magnitude)
    {
        Unpacked x = Unpacked.From(magnitude);
        // x = Significand · 2^power; in units of 2^-65 (π₆₆/2 = Pi66 · 2^-65) it is an integer below 2^128.
        int power = x.Exponent - Float80.Bias - 63;
        if (power + 65 < 0)
        {
            // |x| < 1/4 < π/4: nothing to reduce.
            return (WideFloat.From(magnitude.Abs()), 0);
        }
        UInt128 n = (UInt128)x.Significand << (power + 65);
        UInt128 k = n / Pi66;
        UInt128 rest = n - k * Pi66;
        bool negative = false;
        if (rest << 1 > Pi66)
        {
            rest = Pi66 - rest;
            negative = true;
            k++;
        }
        return (WideFloat.FromInteger(negative, rest, -65), (int)(k & 3));
    }
}
