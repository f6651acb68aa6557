using System.Text;
using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>How an emulated result compares with the host's.</summary>
public enum X87Match
{
    /// <summary>Every compared bit is equal.</summary>
    Exact,

    /// <summary>
    /// A transcendental instruction (<see cref="X87Instruction.OneUlpTolerance"/>): every bit equal but C1
    /// after a rounded result (PE set, no stack fault). C1 then says which side of the result the
    /// instruction's internal value lay on, and the host's internal value is not the exact one.
    /// </summary>
    RoundingDirection,

    /// <summary>
    /// A transcendental instruction whose results are each equal or one ulp apart, with C1 free and
    /// every other bit equal.
    /// </summary>
    WithinOneUlp,
    Different,
}

/// <summary>
/// Compares an emulated result with the host's, field by field. Compared: control word, the whole
/// status word (exception flags, SF, ES, B, C0..C3, TOP) except bits an instruction's
/// <see cref="X87Instruction.UndefinedStatus"/> names, the tag word, every non-empty register (all 80
/// bits), the 16 bytes of memory around the operand, and the arithmetic flags. Not compared: the
/// instruction/operand pointers and opcode (the host's are 64-bit addresses of its own stub), and the
/// contents of empty registers (not architectural state). The transcendental instructions' values may
/// be one ulp apart (the host's are within 1 ulp, not always correctly rounded): see
/// <see cref="X87Match.WithinOneUlp"/>.
/// </summary>
public static class X87Comparer
{
    public static string? Difference(X87Instruction instruction, X87Case c, X87Result expected, X87Result actual) =>
        Compare(instruction, c, expected, actual, out string? d) == X87Match.Different ? d : null;

    public static X87Match Compare(X87Instruction instruction, X87Case c, X87Result expected, X87Result actual, out string? difference)
    {
        var sb = new StringBuilder();
        ushort statusMask = (ushort)~instruction.UndefinedStatus;
        bool oneUlp = false;
        int top = (expected.Status >> 11) & 7;
        for (int i = 0; i < 8; i++)
        {
            int physical = (top + i) & 7;
            if (((expected.Tags >> (2 * physical)) & 3) == 3) continue;
            if (expected.Register(i).AsSpan().SequenceEqual(actual.Register(i))) continue;
            if (instruction.OneUlpTolerance && OneUlpApart(Float80.ReadFrom(expected.Register(i)), Float80.ReadFrom(actual.Register(i))))
            {
                oneUlp = true;
                continue;
            }
            sb.Append($" ST{i} {Describe(expected.Register(i))}≠{Describe(actual.Register(i))}");
        }
        bool c1Differs = ((expected.Status ^ actual.Status) & FpuStatus.C1) != 0;
        bool c1Free = instruction.OneUlpTolerance && !StackFaults(instruction, c);
        if (c1Free) statusMask &= unchecked((ushort)~FpuStatus.C1);
        if (expected.Control != actual.Control) sb.Append($" CW {expected.Control:X4}≠{actual.Control:X4}");
        if ((expected.Status & statusMask) != (actual.Status & statusMask)) sb.Append($" SW {expected.Status:X4}≠{actual.Status:X4}");
        if (expected.Tags != actual.Tags) sb.Append($" TW {expected.Tags:X4}≠{actual.Tags:X4}");
        if (!expected.Memory.AsSpan().SequenceEqual(actual.Memory))
        {
            sb.Append($" mem {Convert.ToHexString(expected.Memory)}≠{Convert.ToHexString(actual.Memory)}");
        }
        if (expected.Eflags != actual.Eflags) sb.Append($" EFLAGS {expected.Eflags:X3}≠{actual.Eflags:X3}");
        if (sb.Length == 0)
        {
            difference = null;
            return oneUlp ? X87Match.WithinOneUlp : c1Differs ? X87Match.RoundingDirection : X87Match.Exact;
        }
        difference = $"{instruction.Name}:{sb} | input {DescribeInput(c)}";
        return X87Match.Different;
    }

    /// <summary>
    /// The case meets a stack fault (an empty operand, or a full stack for FPTAN/FSINCOS's push): C1 then
    /// reports the fault and is compared.
    /// </summary>
    private static bool StackFaults(X87Instruction instruction, X87Case c)
    {
        int top = (BitConverter.ToUInt16(c.Image.AsSpan(4)) >> 11) & 7;
        ushort tags = BitConverter.ToUInt16(c.Image.AsSpan(8));
        bool Empty(int i) => ((tags >> (2 * ((top + i) & 7))) & 3) == 3;
        return instruction.Name switch
        {
            "fyl2x" or "fyl2xp1" or "fpatan" => Empty(0) || Empty(1),
            "fptan" or "fsincos" => Empty(0) || !Empty(7),
            _ => Empty(0),
        };
    }

    /// <summary>Neighbours in the extended format: same sign, finite, magnitudes one unit in the last place apart.</summary>
    public static bool OneUlpApart(Float80 a, Float80 b)
    {
        if (a.Sign != b.Sign || a.Exponent == Float80.MaxExponent || b.Exponent == Float80.MaxExponent) return false;
        UInt128 ordinalA = Ordinal(a), ordinalB = Ordinal(b);
        return ordinalA - ordinalB == UInt128.One || ordinalB - ordinalA == UInt128.One;
    }

    /// <summary>Finite magnitudes in order: the exponent above the 63 fraction bits (a denormal's exponent field is 0).</summary>
    private static UInt128 Ordinal(Float80 x) => ((UInt128)(uint)x.Exponent << 63) | (x.Significand & ~Float80.IntegerBit) | (x.Exponent == 0 ? (UInt128)(x.Significand & Float80.IntegerBit) : UInt128.Zero);

    public static string Describe(ReadOnlySpan<byte> register) => Float80.ReadFrom(register).ToString();

    public static string DescribeInput(X87Case c)
    {
        var image = c.Image;
        ushort cw = BitConverter.ToUInt16(image), sw = BitConverter.ToUInt16(image.AsSpan(4)), tw = BitConverter.ToUInt16(image.AsSpan(8));
        return $"CW={cw:X4} SW={sw:X4} TW={tw:X4} ST0={Describe(image.AsSpan(28, 10))} ST1={Describe(image.AsSpan(38, 10))} " +
               $"mem={Convert.ToHexString(c.Memory)} eflags={c.Eflags:X3}";
    }
}
