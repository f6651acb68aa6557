namespace Vmi.Cpu.Tests.Fpu;

/// <summary>
/// One differential case: an x87 instruction (its memory operand at [edx]), the FPU state before it
/// as an FRSTOR image (32-bit protected-mode layout), 16 bytes of memory and the arithmetic flags.
/// </summary>
public sealed class X87Case
{
    public const int RecordSize = 148;
    public const int ImageSize = 108;

    public required byte[] Code { get; init; }
    public required byte[] Image { get; init; }
    public required byte[] Memory { get; init; }
    public uint Eflags { get; init; }

    public void WriteRecord(Span<byte> record)
    {
        record.Clear();
        Code.CopyTo(record);
        record[16] = (byte)Code.Length;
        BitConverter.TryWriteBytes(record[20..], Eflags);
        Image.CopyTo(record[24..]);
        Memory.CopyTo(record[132..]);
    }
}

/// <summary>The FPU after the instruction (an FNSAVE image), the memory and the arithmetic flags.</summary>
public sealed class X87Result
{
    public const int RecordSize = 128;

    public required byte[] Image { get; init; }
    public required byte[] Memory { get; init; }
    public uint Eflags { get; init; }

    public static X87Result FromRecord(ReadOnlySpan<byte> record) => new()
    {
        Image = record[..108].ToArray(),
        Memory = record[108..124].ToArray(),
        Eflags = BitConverter.ToUInt32(record[124..]),
    };

    public ushort Control => BitConverter.ToUInt16(Image);
    public ushort Status => BitConverter.ToUInt16(Image.AsSpan(4));
    public ushort Tags => BitConverter.ToUInt16(Image.AsSpan(8));

    public byte[] Register(int i) => Image.AsSpan(28 + 10 * i, 10).ToArray();
}
