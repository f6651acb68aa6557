namespace Vmi.Cpu.Fpu;

/// <summary>A finite operand taken apart for arithmetic: sign, exponent with denormals normalized (it may go below 1), significand with bit 63 set (or zero).</summary>
internal readonly record struct Unpacked(bool Sign, int Exponent, ulong Significand)
{
    public static Unpacked From(Float80 x)
    {
        ulong sig = x.Significand;
        int exp = x.EffectiveExponent;
        if (sig != 0 && (sig & Float80.IntegerBit) == 0)
        {
            int shift = System.Numerics.BitOperations.LeadingZeroCount(sig);
            sig <<= shift;
            exp -= shift;
        }
        return new Unpacked(x.Sign, exp, sig);
    }

    public bool IsZero => Significand == 0;
}
