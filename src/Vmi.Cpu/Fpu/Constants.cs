namespace Vmi.Cpu.Fpu;

/// <summary>
/// FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ. The irrational ones are held to 128 bits and
/// rounded per the rounding control (SDM Vol. 1 §8.3.8: since the 387 the constants follow RC);
/// that rounding raises no precision exception and does not touch C1.
/// </summary>
internal static class Constants
{
    private readonly record struct Wide(int Exponent, ulong High, ulong Low);

    private static readonly Wide Log2Ten = new(Float80.Bias + 1, 0xD49A_784B_CD1B_8AFE, 0x492B_F6FF_4DAF_DB4C);
    private static readonly Wide Log2E = new(Float80.Bias, 0xB8AA_3B29_5C17_F0BB, 0xBE87_FED0_691D_3E88);
    private static readonly Wide Pi = new(Float80.Bias + 1, 0xC90F_DAA2_2168_C234, 0xC4C6_628B_80DC_1CD1);
    private static readonly Wide Log10Two = new(Float80.Bias - 2, 0x9A20_9A84_FBCF_F798, 0x8F89_59AC_0B7C_9178);
    private static readonly Wide LnTwo = new(Float80.Bias - 1, 0xB172_17F7_D1CF_79AB, 0xC9E3_B398_03F2_F6AF);

    public static Float80 Get(int which, RoundingMode mode) => which switch
    {
        X87Constant.One => Float80.One,
        X87Constant.Log2Ten => Round(Log2Ten, mode),
        X87Constant.Log2E => Round(Log2E, mode),
        X87Constant.Pi => Round(Pi, mode),
        X87Constant.Log10Two => Round(Log10Two, mode),
        X87Constant.LnTwo => Round(LnTwo, mode),
        _ => Float80.Zero,
    };

    /// <summary>π, ln 2 and log2 e to 128 bits (truncated), for the transcendental instructions.</summary>
    internal static WideFloat PiWide => ToWide(Pi);

    internal static WideFloat LnTwoWide => ToWide(LnTwo);

    internal static WideFloat Log2EWide => ToWide(Log2E);

    private static WideFloat ToWide(Wide c) => new(false, c.Exponent - Float80.Bias, new UInt128(c.High, c.Low));

    private static Float80 Round(Wide c, RoundingMode mode)
    {
        var op = new FpuOperation((ushort)(FpuControl.Initial & ~FpuControl.RoundingMask | ((int)mode << FpuControl.RoundingShift)));
        return Rounder.Round(ref op, false, c.Exponent, new UInt128(c.High, c.Low), RoundingFormat.Extended);
    }
}
