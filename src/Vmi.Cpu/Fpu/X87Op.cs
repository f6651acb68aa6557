namespace Vmi.Cpu.Fpu;

/// <summary>The x87 instruction families, as the decoder stores them in <c>Uop.Sub</c>.</summary>
public enum X87Op : byte
{
    None,

    /// <summary>ST(0) ← ST(0) op m (D8, DA, DC, DE memory forms); R = <see cref="X87Arith"/>, Size2 = <see cref="X87Format"/>.</summary>
    ArithMemory,

    /// <summary>dest ← dest op src on registers; R = <see cref="X87Arith"/>, M = i, Imm = <see cref="X87RegisterForm"/> bits.</summary>
    ArithRegister,

    /// <summary>FCOM/FUCOM ST(i) with Imm pops (0..2); R = 1 for the unordered (quiet) form.</summary>
    CompareRegister,

    /// <summary>FCOMI/FUCOMI(P): result in ZF/PF/CF; R = 1 unordered; Imm = pops.</summary>
    CompareEflags,
    Test,
    Examine,
    LoadMemory,
    LoadRegister,

    /// <summary>R = <see cref="X87Constant"/>.</summary>
    LoadConstant,

    /// <summary>FST/FSTP/FIST/FISTP/FBSTP to memory; Imm = pops.</summary>
    StoreMemory,

    /// <summary>FST/FSTP ST(i); Imm = pops.</summary>
    StoreRegister,

    /// <summary>One-operand and ST(0)/ST(1) instructions; R = <see cref="X87Unary"/>.</summary>
    Unary,
    Exchange,
    Free,

    /// <summary>FFREEP (DF C0+i): free ST(i), then pop.</summary>
    FreePop,
    IncrementTop,
    DecrementTop,
    Nop,

    /// <summary>FCMOVcc: R = the x86 condition code (only B, E, BE, U and their negations exist).</summary>
    ConditionalMove,
    Init,
    ClearExceptions,
    StoreStatus,
    StoreStatusAx,
    StoreControl,
    LoadControl,
    StoreEnvironment,
    LoadEnvironment,
    Save,
    Restore,
}

/// <summary>The /r field of the arithmetic escapes, which is also the order of these operations.</summary>
public static class X87Arith
{
    public const int Add = 0, Multiply = 1, Compare = 2, ComparePop = 3, Subtract = 4, SubtractReverse = 5, Divide = 6, DivideReverse = 7;
}

/// <summary>Bits of Imm for <see cref="X87Op.ArithRegister"/>.</summary>
public static class X87RegisterForm
{
    /// <summary>The destination is ST(i) (DC and DE escapes); otherwise ST(0).</summary>
    public const int DestinationSti = 1;
    public const int Pop = 2;
}

public enum X87Format : byte
{
    Int16,
    Int32,
    Int64,
    Single,
    Double,
    Extended,
    Bcd,
}

public static class X87Unary
{
    public const int ChangeSign = 0, Absolute = 1, SquareRoot = 2, RoundToInteger = 3, Scale = 4, Extract = 5, PartialRemainder = 6, PartialRemainderIeee = 7;
    public const int TwoToXMinusOne = 8, YLog2X = 9, YLog2XPlusOne = 10, PartialTangent = 11, PartialArctangent = 12, Sine = 13, Cosine = 14, SineCosine = 15;
}

public static class X87Constant
{
    public const int One = 0, Log2Ten = 1, Log2E = 2, Pi = 3, Log10Two = 4, LnTwo = 5, Zero = 6;
}

public static class X87FormatInfo
{
    public static int Size(X87Format f) => f switch
    {
        X87Format.Int16 => 2,
        X87Format.Int32 or X87Format.Single => 4,
        X87Format.Int64 or X87Format.Double => 8,
        _ => 10,
    };
}
