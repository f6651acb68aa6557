using System.Runtime.InteropServices;

namespace Vmi.Cpu.Fpu;

/// <summary>What an 80-bit register holds, by the SDM's classification of the extended format.</summary>
public enum Float80Class : byte
{
    Zero,
    Denormal,

    /// <summary>Exponent 0 with the integer bit set: read as exponent 1 (and a denormal operand).</summary>
    PseudoDenormal,
    Normal,
    Infinity,
    QuietNaN,
    SignalingNaN,

    /// <summary>Unnormals, pseudo-NaNs and pseudo-infinities: every use is an invalid operation.</summary>
    Unsupported,
}

/// <summary>
/// The x87 double extended-precision value: a sign, a 15-bit biased exponent and a 64-bit
/// significand whose integer bit is explicit (bit 63). Plain bits: arithmetic lives in the
/// other Fpu files and never goes through <see cref="double"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 2)]
public readonly record struct Float80(ulong Significand, ushort SignExponent)
{
    public const int Bias = 16383;
    public const int MaxExponent = 0x7FFF;
    public const ulong IntegerBit = 1ul << 63;
    public const ulong QuietBit = 1ul << 62;

    public static Float80 Zero => default;
    public static Float80 NegativeZero => new(0, 0x8000);
    public static Float80 One => new(IntegerBit, Bias);

    /// <summary>The QNaN floating-point indefinite, the masked response to an invalid operation.</summary>
    public static Float80 Indefinite => new(0xC000_0000_0000_0000, 0xFFFF);

    public static Float80 Infinity(bool negative) => new(IntegerBit, (ushort)(negative ? 0xFFFF : 0x7FFF));

    public static Float80 SignedZero(bool negative) => new(0, (ushort)(negative ? 0x8000 : 0));

    public static Float80 Pack(bool negative, int biasedExponent, ulong significand) =>
        new(significand, (ushort)((negative ? 0x8000 : 0) | (biasedExponent & 0x7FFF)));

    public bool Sign => (SignExponent & 0x8000) != 0;

    public int Exponent => SignExponent & 0x7FFF;

    public Float80 Negate() => new(Significand, (ushort)(SignExponent ^ 0x8000));

    public Float80 Abs() => new(Significand, (ushort)(SignExponent & 0x7FFF));

    public Float80 WithSign(bool negative) => new(Significand, (ushort)((SignExponent & 0x7FFF) | (negative ? 0x8000 : 0)));

    public Float80Class Class
    {
        get
        {
            int e = Exponent;
            bool integer = (Significand & IntegerBit) != 0;
            if (e == 0)
            {
                if (Significand == 0) return Float80Class.Zero;
                return integer ? Float80Class.PseudoDenormal : Float80Class.Denormal;
            }
            if (!integer) return Float80Class.Unsupported;
            if (e == MaxExponent)
            {
                ulong fraction = Significand & ~IntegerBit;
                if (fraction == 0) return Float80Class.Infinity;
                return (fraction & QuietBit) != 0 ? Float80Class.QuietNaN : Float80Class.SignalingNaN;
            }
            return Float80Class.Normal;
        }
    }

    public bool IsNaN => Class is Float80Class.QuietNaN or Float80Class.SignalingNaN;

    public bool IsSignalingNaN => Class == Float80Class.SignalingNaN;

    public bool IsUnsupported => Class == Float80Class.Unsupported;

    public bool IsZero => Class == Float80Class.Zero;

    public bool IsInfinity => Class == Float80Class.Infinity;

    /// <summary>Denormal or pseudo-denormal: using it as an operand raises DE.</summary>
    public bool IsDenormalOperand => Exponent == 0 && Significand != 0;

    /// <summary>A NaN with the quiet bit set (what an SNaN becomes when it passes through an operation).</summary>
    public Float80 Quieted() => new(Significand | QuietBit, SignExponent);

    /// <summary>
    /// The exponent as arithmetic sees it: a denormal or pseudo-denormal has the weight of exponent 1
    /// (its significand is simply not normalized).
    /// </summary>
    public int EffectiveExponent => Exponent == 0 ? 1 : Exponent;

    public void WriteTo(Span<byte> destination)
    {
        BitConverter.TryWriteBytes(destination, Significand);
        BitConverter.TryWriteBytes(destination[8..], SignExponent);
    }

    public static Float80 ReadFrom(ReadOnlySpan<byte> source) =>
        new(BitConverter.ToUInt64(source), BitConverter.ToUInt16(source[8..]));

    public override string ToString() => $"{SignExponent:X4}:{Significand:X16}";
}
