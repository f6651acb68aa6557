using System.Text;
using Vmi.Cpu;

namespace Vmi.Machine.Debugging;

/// <summary>
/// gdb's i386 register file as the stub exposes it: the 16 registers of its 'g' packet in gdb's
/// numbering (eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs), 32 bits each in target
/// byte order. gdb's default i386 description continues with the x87 and SSE registers (numbers
/// 16 to 40); the guest has none we model, so they read as unavailable ('x') and cannot be written.
/// </summary>
public static class GdbRegisters
{
    /// <summary>Registers in the 'g' packet.</summary>
    public const int Count = 16;

    public const int Eip = 8, Eflags = 9;

    /// <summary>Highest register number of gdb's default i386 (SSE) description: mxcsr.</summary>
    public const int LastDescribed = 40;

    /// <summary>EFLAGS bits that read as 0 on every IA-32 processor whatever is written (3, 5, 15, 22-31); bit 1 reads as 1.</summary>
    private const uint EflagsAlwaysZero = (1u << 3) | (1u << 5) | (1u << 15) | 0xFFC0_0000;

    /// <summary>gdb's cs ss ds es fs gs (numbers 10 to 15) as this CPU's segment indices.</summary>
    private static readonly int[] SegmentOrder = [SegReg.Cs, SegReg.Ss, SegReg.Ds, SegReg.Es, SegReg.Fs, SegReg.Gs];

    public static uint Read(Vmi.Cpu.Cpu cpu, int number) => number switch
    {
        < 8 => cpu[number],
        Eip => cpu.Eip,
        Eflags => cpu.Eflags,
        _ => cpu.Segment(SegmentOrder[number - 10]).Selector,
    };

    /// <summary>
    /// Sets register <paramref name="number"/> (0 to 15). Segment registers cannot be loaded from
    /// here (that needs a descriptor fetch with its checks), so writing one succeeds only when the
    /// selector is unchanged, which is what a 'G' that rewrites the whole file sends for them.
    /// </summary>
    public static bool TryWrite(Vmi.Cpu.Cpu cpu, int number, uint value)
    {
        switch (number)
        {
            case < 0 or >= Count:
                return false;
            case < 8:
                cpu[number] = value;
                return true;
            case Eip:
                cpu.Eip = value;
                return true;
            case Eflags:
                // gdb sends whatever the user typed ("set $eflags = 0"); the register keeps the bits
                // no write can change on the hardware, as POPF and IRET leave them.
                cpu.Eflags = (value & ~EflagsAlwaysZero) | EFlags.Reserved1;
                return true;
            default:
                return cpu.Segment(SegmentOrder[number - 10]).Selector == value;
        }
    }

    /// <summary>The whole 'g' reply.</summary>
    public static string ReadAll(Vmi.Cpu.Cpu cpu)
    {
        var sb = new StringBuilder(Count * 8);
        for (int i = 0; i < Count; i++)
        {
            GdbPacket.AppendLittleEndian32(sb, Read(cpu, i));
        }
        return sb.ToString();
    }

    /// <summary>
    /// Applies a 'G' body. It is validated in full before anything changes, so a bad packet
    /// leaves the registers as they were. A shorter body (gdb may send fewer registers) sets those it covers.
    /// </summary>
    public static bool TryWriteAll(Vmi.Cpu.Cpu cpu, ReadOnlySpan<char> hex)
    {
        if (hex.Length < 8 || hex.Length % 2 != 0)
        {
            return false;
        }
        // Registers past our 16 (x87/SSE, if gdb sends its whole default file) are accepted and ignored.
        int count = Math.Min(hex.Length / 8, Count);
        Span<uint> values = stackalloc uint[Count];
        for (int i = 0; i < count; i++)
        {
            if (!GdbPacket.TryParseLittleEndian32(hex.Slice(i * 8, 8), out values[i]))
            {
                return false;
            }
            if (i >= 10 && cpu.Segment(SegmentOrder[i - 10]).Selector != values[i])
            {
                return false;
            }
        }
        for (int i = 0; i < count; i++)
        {
            TryWrite(cpu, i, values[i]);
        }
        return true;
    }
}
