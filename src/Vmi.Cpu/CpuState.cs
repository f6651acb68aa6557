using System.Runtime.CompilerServices;

namespace Vmi.Cpu;

/// <summary>
/// Eight general registers plus a ninth slot that is always zero: the decoder points an absent
/// base or index register at slot 8, so effective-address arithmetic needs no branch.
/// </summary>
[InlineArray(9)]
public struct RegisterArray
{
    private uint _element0;
}

/// <summary>General register numbers in the order the x86 ModRM encoding uses.</summary>
public static class Reg
{
    public const int Eax = 0, Ecx = 1, Edx = 2, Ebx = 3, Esp = 4, Ebp = 5, Esi = 6, Edi = 7;

    /// <summary>The always-zero slot used for "no register" in effective addresses.</summary>
    public const int None = 8;
}

/// <summary>Segment register numbers in encoding order (ES, CS, SS, DS, FS, GS).</summary>
public static class SegReg
{
    public const int Es = 0, Cs = 1, Ss = 2, Ds = 3, Fs = 4, Gs = 5;
    public static readonly string[] Names = ["es", "cs", "ss", "ds", "fs", "gs"];
}

/// <summary>EFLAGS bit masks.</summary>
public static class EFlags
{
    public const uint CF = 1u << 0, Reserved1 = 1u << 1, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7;
    public const uint TF = 1u << 8, IF = 1u << 9, DF = 1u << 10, OF = 1u << 11, IoplMask = 3u << 12, NT = 1u << 14;
    public const uint RF = 1u << 16, VM = 1u << 17, AC = 1u << 18, VIF = 1u << 19, VIP = 1u << 20, ID = 1u << 21;

    /// <summary>The six arithmetic flags that the lazy-flag machinery owns.</summary>
    public const uint Arith = CF | PF | AF | ZF | SF | OF;

    /// <summary>Bits software can change on an i486+ class CPU (AC and ID exist since we report CPUID).</summary>
    public const uint Writable = Arith | TF | IF | DF | IoplMask | NT | RF | VM | AC | ID;
}

/// <summary>Control-register bits the CPU acts on.</summary>
public static class Cr0Bits
{
    public const uint PE = 1u << 0, MP = 1u << 1, EM = 1u << 2, TS = 1u << 3, ET = 1u << 4, NE = 1u << 5;
    public const uint WP = 1u << 16, AM = 1u << 18, NW = 1u << 29, CD = 1u << 30, PG = 1u << 31;
}

public static class Cr4Bits
{
    public const uint VME = 1u << 0, PVI = 1u << 1, TSD = 1u << 2, DE = 1u << 3, PSE = 1u << 4;
    public const uint PAE = 1u << 5, MCE = 1u << 6, PGE = 1u << 7, PCE = 1u << 8, OSFXSR = 1u << 9;
}
