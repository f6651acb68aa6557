using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// Random x87 operands biased towards the places implementations get wrong: exponent extremes,
/// denormals and pseudo-denormals, unnormals, pseudo-NaNs and pseudo-infinities, NaN payloads,
/// infinities, zeros, short significands (exact results and exact halfway cases at every precision),
/// runs of ones and zeros (carries on rounding), and pairs with close exponents (cancellation).
/// </summary>
public sealed class X87OperandGenerator(int seed)
{
    private readonly Random rng = new(seed);

    public Random Random => rng;

    public bool Chance(int percent) => rng.Next(100) < percent;

    public ulong NextULong() => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 62);

    /// <summary>A significand with a set integer bit and one of several bit patterns below it.</summary>
    public ulong Significand()
    {
        ulong fraction = rng.Next(8) switch
        {
            0 => 0,
            1 => ~0ul,
            // Only the top few bits vary: products and sums are often exact or exactly halfway.
            2 or 3 => NextULong() << rng.Next(1, 64) >> 1 << 1,
            4 => NextULong() & ~((1ul << rng.Next(64)) - 1),
            // Just below or above a rounding boundary for 24, 53 or 64 bits.
            5 => Boundary(),
            _ => NextULong(),
        };
        if (rng.Next(4) == 0) fraction = TopBitsOnly(fraction);
        return Float80.IntegerBit | fraction;
    }

    private ulong TopBitsOnly(ulong fraction)
    {
        int keep = rng.Next(1, 64);
        return fraction & ~(ulong.MaxValue >> keep);
    }

    private ulong Boundary()
    {
        int precision = rng.Next(3) switch { 0 => 24, 1 => 53, _ => 64 };
        int lsb = 64 - precision;
        ulong value = NextULong() & ~((1ul << lsb) - 1 | 0);
        if (lsb == 0) return value ^ (ulong)rng.Next(4);
        ulong half = 1ul << (lsb - 1);
        return rng.Next(4) switch
        {
            0 => value | half,
            1 => value | (half - 1),
            2 => value | half | 1,
            _ => value | (half << 1) - 1,
        };
    }

    public int Exponent() => rng.Next(10) switch
    {
        < 5 => Float80.Bias + rng.Next(-70, 71),
        < 7 => rng.Next(1, 0x7FFF),
        < 8 => rng.Next(1, 130),
        < 9 => 0x7FFE - rng.Next(0, 130),
        _ => Float80.Bias + rng.Next(-16, 17),
    };

    /// <summary>Any extended value, every class represented.</summary>
    public Float80 Value(int exponentHint = -1)
    {
        bool sign = rng.Next(2) == 0;
        int roll = rng.Next(100);
        ushort s = (ushort)(sign ? 0x8000 : 0);
        if (roll < 55)
        {
            int e = exponentHint > 0 && rng.Next(2) == 0
                ? Math.Clamp(exponentHint + rng.Next(-66, 67), 1, 0x7FFE)
                : Exponent();
            return new Float80(Significand(), (ushort)(s | e));
        }
        return roll switch
        {
            < 62 => new Float80(NextULong() >> rng.Next(1, 64) & ~Float80.IntegerBit | 1, s),        // denormal
            < 64 => new Float80(Significand(), s),                                                    // pseudo-denormal
            < 70 => new Float80(0, s),                                                                // zero
            < 76 => new Float80(Float80.IntegerBit, (ushort)(s | 0x7FFF)),                            // infinity
            < 82 => new Float80(Float80.IntegerBit | Float80.QuietBit | (NextULong() >> rng.Next(2, 64)), (ushort)(s | 0x7FFF)),
            < 88 => new Float80(Float80.IntegerBit | ((NextULong() >> rng.Next(2, 63)) | 1), (ushort)(s | 0x7FFF)),  // SNaN
            < 91 => new Float80(Float80.QuietBit | 0x42, (ushort)(s | 0x7FFF)),                       // pseudo-NaN
            < 93 => new Float80(0, (ushort)(s | 0x7FFF)),                                             // pseudo-infinity
            < 96 => new Float80(NextULong() >> 1, (ushort)(s | rng.Next(1, 0x7FFF))),                // unnormal
            _ => new Float80(Significand(), (ushort)(s | Float80.Bias + rng.Next(0, 64))),           // integers and near-integers
        };
    }

    /// <summary>A finite normal value (no specials), for operations whose interesting part is the arithmetic.</summary>
    public Float80 Finite(int exponent) => Float80.Pack(rng.Next(2) == 0, exponent, Significand());

    public uint SingleBits() => rng.Next(10) switch
    {
        0 => (uint)rng.Next() & 0x807F_FFFF,                          // zero or denormal
        1 => 0x7F80_0000u | (uint)rng.Next() & 0x807F_FFFF,           // infinity or NaN
        2 => (uint)rng.Next(2) << 31 | 0x7F80_0000u | (uint)(1 << rng.Next(23)),
        _ => (uint)rng.Next() ^ ((uint)rng.Next(2) << 31),
    };

    public ulong DoubleBits() => rng.Next(10) switch
    {
        0 => NextULong() & 0x800F_FFFF_FFFF_FFFF,
        1 => 0x7FF0_0000_0000_0000ul | NextULong() & 0x800F_FFFF_FFFF_FFFF,
        2 => (ulong)rng.Next(2) << 63 | 0x7FF0_0000_0000_0000ul | (1ul << rng.Next(52)),
        _ => NextULong(),
    };

    public long Integer(int bits)
    {
        long v = rng.Next(6) switch
        {
            0 => rng.Next(-3, 4),
            1 => long.MinValue >> (64 - bits),
            2 => long.MaxValue >> (64 - bits),
            _ => (long)NextULong() >> (64 - bits),
        };
        return v;
    }

    /// <summary>18 packed decimal digits and a sign.</summary>
    public byte[] Bcd()
    {
        byte[] b = new byte[10];
        int digits = rng.Next(0, 19);
        for (int d = 0; d < digits; d++)
        {
            int digit = rng.Next(10);
            b[d / 2] |= (byte)(d % 2 == 0 ? digit : digit << 4);
        }
        if (rng.Next(2) == 0) b[9] = 0x80;
        return b;
    }
}
