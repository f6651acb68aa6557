using System.Text;
using Vmi.Cpu.Fpu;

namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// Compares an emulated result with the host's, field by field. Compared: control word, the whole
/// status word (exception flags, SF, ES, B, C0..C3, TOP) except bits an instruction's
/// <see cref="X87Instruction.UndefinedStatus"/> names, the tag word, every non-empty register (all 80
/// bits), the 16 bytes of memory around the operand, and the arithmetic flags. Not compared: the
/// instruction/operand pointers and opcode (the host's are 64-bit addresses of its own stub), and the
/// contents of empty registers (not architectural state).
/// </summary>
public static class X87Comparer
{
    public static string? Difference(X87Instruction instruction, X87Case c, X87Result expected, X87Result actual)
    {
        var sb = new StringBuilder();
        ushort statusMask = (ushort)~instruction.UndefinedStatus;
        if (expected.Control != actual.Control) sb.Append($" CW {expected.Control:X4}≠{actual.Control:X4}");
        if ((expected.Status & statusMask) != (actual.Status & statusMask)) sb.Append($" SW {expected.Status:X4}≠{actual.Status:X4}");
        if (expected.Tags != actual.Tags) sb.Append($" TW {expected.Tags:X4}≠{actual.Tags:X4}");
        int top = (expected.Status >> 11) & 7;
        for (int i = 0; i < 8; i++)
        {
            int physical = (top + i) & 7;
            if (((expected.Tags >> (2 * physical)) & 3) == 3) continue;
            if (!expected.Register(i).AsSpan().SequenceEqual(actual.Register(i)))
            {
                sb.Append($" ST{i} {Describe(expected.Register(i))}≠{Describe(actual.Register(i))}");
            }
        }
        if (!expected.Memory.AsSpan().SequenceEqual(actual.Memory))
        {
            sb.Append($" mem {Convert.ToHexString(expected.Memory)}≠{Convert.ToHexString(actual.Memory)}");
        }
        if (expected.Eflags != actual.Eflags) sb.Append($" EFLAGS {expected.Eflags:X3}≠{actual.Eflags:X3}");
        if (sb.Length == 0) return null;
        return $"{instruction.Name}:{sb} | input {DescribeInput(c)}";
    }

    public static string Describe(ReadOnlySpan<byte> register) => Float80.ReadFrom(register).ToString();

    public static string DescribeInput(X87Case c)
    {
        var image = c.Image;
        ushort cw = BitConverter.ToUInt16(image), sw = BitConverter.ToUInt16(image.AsSpan(4)), tw = BitConverter.ToUInt16(image.AsSpan(8));
        return $"CW={cw:X4} SW={sw:X4} TW={tw:X4} ST0={Describe(image.AsSpan(28, 10))} ST1={Describe(image.AsSpan(38, 10))} " +
               $"mem={Convert.ToHexString(c.Memory)} eflags={c.Eflags:X3}";
    }
}
