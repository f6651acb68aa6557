using System.Buffers.Binary;

namespace Vmi.Machine.Tests.Boot;

/// <summary>
/// Builds small synthetic multiboot ELF32 images so every field a test corrupts is at a known offset.
/// </summary>
/// <remarks>
/// File layout: ELF header at 0, program headers at 52, multiboot header at
/// <see cref="MultibootHeaderOffset"/>, segment data from <see cref="FirstSegmentFileOffset"/> on,
/// each segment 16-byte aligned.
/// </remarks>
internal sealed class TestElfBuilder
{
    public const int EhdrSize = 52;
    public const int PhdrSize = 32;
    public const int FirstSegmentFileOffset = 0x1000;
    public const uint MultibootMagic = 0x1BADB002;

    public sealed record Segment(uint PhysicalAddress, byte[] Data, uint MemorySize, uint VirtualAddress, uint Flags = 5, uint Type = 1);

    public List<Segment> Segments { get; } = [];
    public uint Entry { get; set; } = 0x0010_0000;
    public int MultibootHeaderOffset { get; set; } = 0x200;

    /// <summary>Multiboot header flags; bit 1 (memory info) by default like most kernels.</summary>
    public uint HeaderFlags { get; set; } = 0x0000_0003;

    /// <summary>Extra header words written after flags/checksum (the a.out-kludge address fields).</summary>
    public uint[] HeaderAddressFields { get; set; } = [];

    /// <summary>The standard valid image: code at 1 MiB, data plus bss at 1 MiB + 4 KiB.</summary>
    public static TestElfBuilder Valid()
    {
        var b = new TestElfBuilder();
        b.Segments.Add(new Segment(0x0010_0000, Pattern(0x100, 0x11), 0x100, 0x0010_0000, Flags: 5));
        b.Segments.Add(new Segment(0x0010_1000, Pattern(0x40, 0x77), 0x2000, 0x0010_1000, Flags: 6));
        return b;
    }

    public static byte[] Pattern(int length, byte seed)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
            data[i] = unchecked((byte)(seed + i * 7));
        return data;
    }

    public static int PhdrOffset(int index) => EhdrSize + index * PhdrSize;

    public int SegmentFileOffset(int index)
    {
        int offset = FirstSegmentFileOffset;
        for (int i = 0; i < index; i++)
            offset = Align16(offset + Segments[i].Data.Length);
        return offset;
    }

    public byte[] Build()
    {
        int dataEnd = Segments.Count == 0 ? FirstSegmentFileOffset : SegmentFileOffset(Segments.Count - 1) + Segments[^1].Data.Length;
        int headerEnd = MultibootHeaderOffset + 12 + 4 * HeaderAddressFields.Length;
        var file = new byte[Math.Max(dataEnd, headerEnd)];

        file[0] = 0x7F; file[1] = (byte)'E'; file[2] = (byte)'L'; file[3] = (byte)'F';
        file[4] = 1; // ELFCLASS32
        file[5] = 1; // little-endian
        file[6] = 1; // EV_CURRENT
        PutU16(file, 16, 2); // ET_EXEC
        PutU16(file, 18, 3); // EM_386
        PutU32(file, 20, 1);
        PutU32(file, 24, Entry);
        PutU32(file, 28, EhdrSize);
        PutU16(file, 40, EhdrSize);
        PutU16(file, 42, PhdrSize);
        PutU16(file, 44, (ushort)Segments.Count);

        for (int i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            int ph = PhdrOffset(i);
            int fileOffset = SegmentFileOffset(i);
            PutU32(file, ph, s.Type);
            PutU32(file, ph + 4, (uint)fileOffset);
            PutU32(file, ph + 8, s.VirtualAddress);
            PutU32(file, ph + 12, s.PhysicalAddress);
            PutU32(file, ph + 16, (uint)s.Data.Length);
            PutU32(file, ph + 20, s.MemorySize);
            PutU32(file, ph + 24, s.Flags);
            PutU32(file, ph + 28, 0x1000);
            s.Data.CopyTo(file, fileOffset);
        }

        WriteMultibootHeader(file, MultibootHeaderOffset, HeaderFlags, HeaderAddressFields);
        return file;
    }

    public static void WriteMultibootHeader(byte[] file, int offset, uint flags, uint[] addressFields)
    {
        PutU32(file, offset, MultibootMagic);
        PutU32(file, offset + 4, flags);
        PutU32(file, offset + 8, unchecked(0u - MultibootMagic - flags));
        for (int i = 0; i < addressFields.Length; i++)
            PutU32(file, offset + 12 + 4 * i, addressFields[i]);
    }

    public static void PutU16(byte[] file, int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(offset), value);

    public static void PutU32(byte[] file, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(offset), value);

    private static int Align16(int value) => (value + 15) & ~15;
}
