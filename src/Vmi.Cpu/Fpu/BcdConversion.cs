namespace Vmi.Cpu.Fpu;

/// <summary>FBLD and FBSTP: 18 packed decimal digits and a sign byte (10 bytes, least significant digits first).</summary>
public static class BcdConversion
{
    private const ulong Largest = 999_999_999_999_999_999;

    /// <summary>Exact: 18 digits are below 2^63. Digits above 9 are undefined by the SDM; they are weighed as they are.</summary>
    public static Float80 FromBcd(ReadOnlySpan<byte> bcd)
    {
        ulong value = 0;
        for (int i = 8; i >= 0; i--)
        {
            value = value * 10 + (ulong)(bcd[i] >> 4);
            value = value * 10 + (ulong)(bcd[i] & 0xF);
        }
        return IntegerConversion.FromMagnitude((bcd[9] & 0x80) != 0, value);
    }

    /// <summary>
    /// Rounds per the rounding control and encodes; returns false (IE raised) when the value has no
    /// 18-digit form. The masked response is the BCD indefinite, written by <see cref="WriteIndefinite"/>.
    /// </summary>
    public static bool ToBcd(ref FpuOperation op, Float80 x, Span<byte> bcd)
    {
        if (x.IsUnsupported || x.IsNaN || x.IsInfinity)
        {
            op.Raise(FpuExceptions.Invalid);
            return false;
        }
        FpuOperation trial = op;
        bool fits = IntegerConversion.ToInteger(ref trial, x, 64, out long integer);
        ulong magnitude = integer < 0 ? (ulong)(-(integer + 1)) + 1 : (ulong)integer;
        if (!fits || magnitude > Largest)
        {
            op.Raise(FpuExceptions.Invalid);
            return false;
        }
        op = trial;
        for (int i = 0; i < 9; i++)
        {
            int low = (int)(magnitude % 10);
            magnitude /= 10;
            int high = (int)(magnitude % 10);
            magnitude /= 10;
            bcd[i] = (byte)((high << 4) | low);
        }
        bcd[9] = (byte)(x.Sign ? 0x80 : 0);
        return true;
    }

    public static void WriteIndefinite(Span<byte> bcd)
    {
        bcd[..7].Clear();
        bcd[7] = 0xC0;
        bcd[8] = 0xFF;
        bcd[9] = 0xFF;
    }
}
