namespace Vmi.Cpu.Fpu;

/// <summary>
/// FLD and FST with single (m32fp) and double (m64fp) operands. Loads are exact; stores round to
/// the narrow format with its own exponent range, so they can overflow and underflow (SDM Vol. 1
/// §8.5.4, §8.5.5: with the exception unmasked a memory destination is left unwritten).
/// </summary>
public static class BinaryConversion
{
    private readonly record struct Layout(int FractionBits, int ExponentBits, RoundingFormat Format)
    {
        public int ExponentBias => (1 << (ExponentBits - 1)) - 1;
        public int MaxField => (1 << ExponentBits) - 1;
        public int Shift => 63 - FractionBits;
    }

    private static readonly Layout SingleLayout = new(23, 8, RoundingFormat.Single);
    private static readonly Layout DoubleLayout = new(52, 11, RoundingFormat.Double);

    public static Float80 FromSingle(ref FpuOperation op, uint bits) => Load(ref op, bits, in SingleLayout);

    public static Float80 FromDouble(ref FpuOperation op, ulong bits) => Load(ref op, bits, in DoubleLayout);

    /// <summary>Rounds to single; the caller stores the bits unless <see cref="Stores"/> says no.</summary>
    public static uint ToSingle(ref FpuOperation op, Float80 x) => (uint)Store(ref op, x, in SingleLayout);

    public static ulong ToDouble(ref FpuOperation op, Float80 x) => Store(ref op, x, in DoubleLayout);

    /// <summary>Whether a store to memory happens after the operation: not when IE, DE, OE or UE is unmasked.</summary>
    public static bool Stores(in FpuOperation op) =>
        !op.HasUnmasked(FpuExceptions.Invalid | FpuExceptions.Denormal | FpuExceptions.Overflow | FpuExceptions.Underflow);

    private static Float80 Load(ref FpuOperation op, ulong bits, in Layout l)
    {
        int total = l.FractionBits + l.ExponentBits;
        bool sign = ((bits >> total) & 1) != 0;
        int field = (int)((bits >> l.FractionBits) & (ulong)l.MaxField);
        ulong fraction = bits & ((1ul << l.FractionBits) - 1);
        if (field == l.MaxField)
        {
            if (fraction == 0) return Float80.Infinity(sign);
            Float80 nan = Float80.Pack(sign, Float80.MaxExponent, Float80.IntegerBit | (fraction << l.Shift));
            return NaNRules.Propagate(ref op, nan);
        }
        if (field == 0)
        {
            if (fraction == 0) return Float80.SignedZero(sign);
            op.Raise(FpuExceptions.Denormal);
            int lz = System.Numerics.BitOperations.LeadingZeroCount(fraction);
            // fraction · 2^(1 − bias − fractionBits) with the leading one moved to bit 63.
            return Float80.Pack(sign, Float80.Bias + 1 - l.ExponentBias - l.FractionBits + 63 - lz, fraction << lz);
        }
        return Float80.Pack(sign, field - l.ExponentBias + Float80.Bias, Float80.IntegerBit | (fraction << l.Shift));
    }

    private static ulong Store(ref FpuOperation op, Float80 x, in Layout l)
    {
        int total = l.FractionBits + l.ExponentBits;
        ulong sign = (x.Sign ? 1ul : 0ul) << total;
        ulong infinity = (ulong)l.MaxField << l.FractionBits;
        ulong quiet = 1ul << (l.FractionBits - 1);
        switch (x.Class)
        {
            case Float80Class.Unsupported:
                op.Raise(FpuExceptions.Invalid);
                return (1ul << total) | infinity | quiet;
            case Float80Class.QuietNaN or Float80Class.SignalingNaN:
                {
                    Float80 q = NaNRules.Propagate(ref op, x);
                    return sign | infinity | ((q.Significand & ~Float80.IntegerBit) >> l.Shift) | quiet;
                }
            case Float80Class.Infinity:
                return sign | infinity;
            case Float80Class.Zero:
                return sign;
        }
        // A denormal source raises no DE on a store (it just underflows the narrow format).
        RoundingFormat format = l.Format;
        Float80 r = Rounder.Round(ref op, x.Sign, x.EffectiveExponent, (UInt128)x.Significand << 64, in format);
        if (r.IsZero) return sign;
        if (r.IsInfinity) return sign | infinity;
        ulong significand = r.Significand;
        ulong field = (significand & Float80.IntegerBit) == 0 ? 0ul : (ulong)(r.Exponent - Float80.Bias + l.ExponentBias);
        return sign | (field << l.FractionBits) | ((significand & ~Float80.IntegerBit) >> l.Shift);
    }
}
