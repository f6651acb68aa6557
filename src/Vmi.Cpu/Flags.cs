using System.Runtime.CompilerServices;

namespace Vmi.Cpu;

/// <summary>Which operation last wrote the arithmetic flags (QEMU's CC_OP, Bochs's lazy_flags).</summary>
internal enum FlagOp : byte
{
    /// <summary>Flags are materialized in <see cref="Cpu.eagerFlags"/>.</summary>
    Eager,
    Add,
    Adc,
    Sub,
    Sbb,
    /// <summary>AND/OR/XOR/TEST: CF = OF = 0, AF = 0 (undefined by the manuals; real CPUs clear it).</summary>
    Logic,
    /// <summary>INC/DEC keep CF; the saved CF lives in <see cref="Cpu.lazyCarry"/>.</summary>
    Inc,
    Dec,

    /// <summary>SHL/SHR/SAR by a non-zero count: A = the operand, B = the masked count. AF is cleared (undefined).</summary>
    Shl,
    Shr,
    Sar,
}

/// <summary>
/// Lazy condition codes: arithmetic instructions record (operation, operands, result) and each flag
/// is computed only when something reads it. Operands and result are stored already truncated to
/// the operand size, so only the sign position depends on the size.
/// </summary>
public sealed partial class Cpu
{
    internal FlagOp flagOp;
    internal int flagSignShift = 31;
    internal uint flagA, flagB, flagRes;
    internal uint lazyCarry;
    internal uint eagerFlags;

    /// <summary>EFLAGS bits other than the six arithmetic flags; bit 1 is always set.</summary>
    internal uint flagsRest = EFlags.Reserved1;

    private static readonly byte[] ParityTable = BuildParity();

    private static byte[] BuildParity()
    {
        var t = new byte[256];
        for (int i = 0; i < 256; i++)
        {
            t[i] = (byte)((System.Numerics.BitOperations.PopCount((uint)i) & 1) == 0 ? 1 : 0);
        }
        return t;
    }

    private static int SignExtendFromBit(uint v, int signBit) => (int)(v << (31 - signBit)) >> (31 - signBit);

    public static uint SizeMask(int size) => size == 4 ? 0xFFFF_FFFFu : size == 2 ? 0xFFFFu : 0xFFu;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetFlagsArith(FlagOp op, int size, uint a, uint b, uint res)
    {
        flagOp = op;
        flagSignShift = size * 8 - 1;
        flagA = a;
        flagB = b;
        flagRes = res;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetFlagsLogic(int size, uint res)
    {
        flagOp = FlagOp.Logic;
        flagSignShift = size * 8 - 1;
        flagRes = res;
    }

    /// <summary>Records flags computed eagerly (shifts, multiplies, bit scans...).</summary>
    internal void SetFlagsEager(uint arithFlags)
    {
        flagOp = FlagOp.Eager;
        eagerFlags = arithFlags & EFlags.Arith;
    }

    internal bool CF
    {
        get
        {
            switch (flagOp)
            {
                case FlagOp.Add: return flagRes < flagA;
                case FlagOp.Adc: return lazyCarry != 0 ? flagRes <= flagA : flagRes < flagA;
                case FlagOp.Sub: return flagA < flagB;
                case FlagOp.Sbb: return lazyCarry != 0 ? flagA <= flagB : flagA < flagB;
                case FlagOp.Logic: return false;
                case FlagOp.Inc:
                case FlagOp.Dec: return lazyCarry != 0;
                case FlagOp.Shl: return flagB <= 32 && ((((ulong)flagA << (int)flagB) >> (flagSignShift + 1)) & 1) != 0;
                case FlagOp.Shr: return flagB <= 32 && ((flagA >> (int)(flagB - 1)) & 1) != 0;
                case FlagOp.Sar: return ((SignExtendFromBit(flagA, flagSignShift) >> (int)Math.Min(flagB - 1, 31)) & 1) != 0;
                default: return (eagerFlags & EFlags.CF) != 0;
            }
        }
    }

    internal bool ZF => flagOp == FlagOp.Eager ? (eagerFlags & EFlags.ZF) != 0 : flagRes == 0;

    internal bool SF => flagOp == FlagOp.Eager ? (eagerFlags & EFlags.SF) != 0 : ((flagRes >> flagSignShift) & 1) != 0;

    internal bool PF => flagOp == FlagOp.Eager ? (eagerFlags & EFlags.PF) != 0 : ParityTable[flagRes & 0xFF] != 0;

    internal bool AF => flagOp switch
    {
        FlagOp.Eager => (eagerFlags & EFlags.AF) != 0,
        FlagOp.Logic or FlagOp.Shl or FlagOp.Shr or FlagOp.Sar => false,
        _ => ((flagA ^ flagB ^ flagRes) & 0x10) != 0,
    };

    internal bool OF => flagOp switch
    {
        FlagOp.Eager => (eagerFlags & EFlags.OF) != 0,
        FlagOp.Logic => false,
        FlagOp.Add or FlagOp.Adc or FlagOp.Inc => ((((flagA ^ flagRes) & (flagB ^ flagRes)) >> flagSignShift) & 1) != 0,
        // SHL: the result's sign differs from CF; SHR: the original sign; SAR: never (count-1 rules, used for all counts).
        FlagOp.Shl => (((flagRes >> flagSignShift) & 1) != 0) ^ CF,
        FlagOp.Shr => ((flagA >> flagSignShift) & 1) != 0,
        FlagOp.Sar => false,
        _ => ((((flagA ^ flagB) & (flagA ^ flagRes)) >> flagSignShift) & 1) != 0,
    };

    /// <summary>The six arithmetic flags as EFLAGS bits.</summary>
    internal uint ArithFlags
    {
        get
        {
            if (flagOp == FlagOp.Eager)
            {
                return eagerFlags;
            }
            uint f = 0;
            if (CF) f |= EFlags.CF;
            if (PF) f |= EFlags.PF;
            if (AF) f |= EFlags.AF;
            if (ZF) f |= EFlags.ZF;
            if (SF) f |= EFlags.SF;
            if (OF) f |= EFlags.OF;
            return f;
        }
    }

    /// <summary>
    /// The architectural EFLAGS value. Every write goes through here and keeps the reserved bits as
    /// the hardware does: bit 1 reads 1; bits 3, 5, 15 and 22–31 read 0; VIF/VIP stay 0 (no VME/PVI).
    /// </summary>
    public uint Eflags
    {
        get => flagsRest | ArithFlags;
        set
        {
            flagsRest = (value & EFlags.Writable & ~EFlags.Arith) | EFlags.Reserved1;
            SetFlagsEager(value);
        }
    }

    /// <summary>Replaces only the arithmetic flags selected by <paramref name="mask"/>.</summary>
    internal void MergeArithFlags(uint mask, uint value)
    {
        uint f = ArithFlags;
        SetFlagsEager((f & ~mask) | (value & mask));
    }

    public bool IF => (flagsRest & EFlags.IF) != 0;

    internal bool DF => (flagsRest & EFlags.DF) != 0;

    internal int Iopl => (int)((flagsRest >> 12) & 3);

    /// <summary>Evaluates condition code <paramref name="cc"/> (the low nibble of Jcc/SETcc/CMOVcc).</summary>
    internal bool Condition(int cc)
    {
        if (flagOp == FlagOp.Sub)
        {
            // CMP/SUB: answer from the operands directly, the common case after a compare.
            uint a = flagA, b = flagB;
            int sh = 31 - flagSignShift;
            switch (cc)
            {
                case 0x2: return a < b;
                case 0x3: return a >= b;
                case 0x4: return a == b;
                case 0x5: return a != b;
                case 0x6: return a <= b;
                case 0x7: return a > b;
                case 0xC: return ((int)(a << sh)) < ((int)(b << sh));
                case 0xD: return ((int)(a << sh)) >= ((int)(b << sh));
                case 0xE: return ((int)(a << sh)) <= ((int)(b << sh));
                case 0xF: return ((int)(a << sh)) > ((int)(b << sh));
            }
        }
        bool r = (cc >> 1) switch
        {
            0 => OF,
            1 => CF,
            2 => ZF,
            3 => CF || ZF,
            4 => SF,
            5 => PF,
            6 => SF != OF,
            _ => ZF || (SF != OF),
        };
        return (cc & 1) != 0 ? !r : r;
    }
}
