namespace Vmi.Cpu.Fpu;

/// <summary>Exception flags as they sit in the status word (bits 0..6) and, for the first six, as masks in the control word.</summary>
public static class FpuExceptions
{
    public const ushort Invalid = 1 << 0, Denormal = 1 << 1, ZeroDivide = 1 << 2, Overflow = 1 << 3, Underflow = 1 << 4, Precision = 1 << 5;

    /// <summary>Stack fault: IE caused by a stack overflow or underflow (C1 then tells which).</summary>
    public const ushort StackFault = 1 << 6;

    public const ushort All = Invalid | Denormal | ZeroDivide | Overflow | Underflow | Precision;
}

/// <summary>Status-word fields beside the exception flags.</summary>
public static class FpuStatus
{
    public const ushort ErrorSummary = 1 << 7;
    public const ushort C0 = 1 << 8, C1 = 1 << 9, C2 = 1 << 10, C3 = 1 << 14, Busy = 1 << 15;
    public const ushort ConditionCodes = C0 | C1 | C2 | C3;
    public const int TopShift = 11;
    public const ushort TopMask = 7 << TopShift;
}

/// <summary>Control-word fields.</summary>
public static class FpuControl
{
    public const int PrecisionShift = 8, RoundingShift = 10;

    /// <summary>Precision control: 00 = 24 bits, 10 = 53 bits, 11 = 64 bits (01 is reserved).</summary>
    public const ushort PrecisionMask = 3 << PrecisionShift;
    public const ushort RoundingMask = 3 << RoundingShift;

    /// <summary>Bit 12, the 287's infinity control: kept in the word, no effect since the 387.</summary>
    public const ushort InfinityControl = 1 << 12;

    /// <summary>What FNINIT loads: everything masked, 64-bit precision, round to nearest.</summary>
    public const ushort Initial = 0x037F;

    /// <summary>The bits that exist (the others read as written on some parts; FLDCW keeps only these).</summary>
    public const ushort Defined = 0x1F3F;
}

public enum RoundingMode : byte
{
    NearestEven = 0,
    Down = 1,
    Up = 2,
    TowardZero = 3,
}
