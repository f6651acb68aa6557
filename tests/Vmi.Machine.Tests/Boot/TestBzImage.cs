using System.Buffers.Binary;
using System.IO.Compression;

namespace Vmi.Machine.Tests.Boot;

/// <summary>
/// Builds synthetic bzImages field by field (Documentation/x86/boot.rst offsets, written here
/// independently of the loader's constants), so a test can corrupt any one field.
/// </summary>
internal sealed class TestBzImage
{
    /// <summary>cli; hlt; jmp back: what runs if a loader enters the protected-mode part instead of vmlinux.</summary>
    public static readonly byte[] HaltStub = [0xFA, 0xF4, 0xEB, 0xFD];

    public byte SetupSects { get; set; } = 1;
    public ushort BootFlag { get; set; } = 0xAA55;
    public uint HeaderMagic { get; set; } = 0x53726448;
    public ushort Version { get; set; } = 0x020F;
    public byte Loadflags { get; set; } = 0x01;
    public byte JumpDisplacement { get; set; } = 0x6A; // header ends at 0x26C, as in 2.15 kernels
    public uint Code32Start { get; set; } = 0x0010_0000;
    public uint InitrdAddrMax { get; set; } = 0x37FF_FFFF;
    public uint KernelAlignment { get; set; } = 0x20_0000;
    public byte Relocatable { get; set; } = 1;
    public uint CmdlineSize { get; set; } = 255;
    public ulong PrefAddress { get; set; } = 0x0100_0000;
    public uint InitSize { get; set; } = 0x10_0000;
    public byte[] Prefix { get; set; } = HaltStub;
    public byte[] Payload { get; set; } = WithSizeTrailer(Vmlinux(), Vmlinux().Length);

    /// <summary>Overrides syssize (default: the protected-mode part's length in 16-byte units).</summary>
    public uint? Syssize { get; set; }

    /// <summary>Overrides payload_length (default: the payload's length).</summary>
    public uint? PayloadLength { get; set; }

    public int SetupBytes => ((SetupSects == 0 ? 4 : SetupSects) + 1) * 512;

    public int PayloadFileOffset => SetupBytes + Prefix.Length;

    public byte[] Build()
    {
        int pm = (Prefix.Length + Payload.Length + 15) & ~15;
        var f = new byte[SetupBytes + pm];
        f[0x1F1] = SetupSects;
        U32(f, 0x1F4, Syssize ?? (uint)(pm / 16));
        U16(f, 0x1FA, 0xFFFF);
        U16(f, 0x1FE, BootFlag);
        f[0x200] = 0xEB;
        f[0x201] = JumpDisplacement;
        U32(f, 0x202, HeaderMagic);
        U16(f, 0x206, Version);
        f[0x211] = Loadflags;
        U32(f, 0x214, Code32Start);
        U32(f, 0x22C, InitrdAddrMax);
        U32(f, 0x230, KernelAlignment);
        f[0x234] = Relocatable;
        U32(f, 0x238, CmdlineSize);
        U32(f, 0x248, (uint)Prefix.Length);
        U32(f, 0x24C, PayloadLength ?? (uint)Payload.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(0x258), PrefAddress);
        U32(f, 0x260, InitSize);
        Prefix.CopyTo(f, SetupBytes);
        Payload.CopyTo(f, SetupBytes + Prefix.Length);
        return f;
    }

    /// <summary>A vmlinux ELF: code at <paramref name="at"/> (the entry), data with bss after it.</summary>
    public static byte[] Vmlinux(uint at = 0x0100_0000)
    {
        var b = new TestElfBuilder { Entry = at };
        b.Segments.Add(new TestElfBuilder.Segment(at, TestElfBuilder.Pattern(0x100, 0x11), 0x100, at, Flags: 5));
        b.Segments.Add(new TestElfBuilder.Segment(at + 0x1000, TestElfBuilder.Pattern(0x40, 0x77), 0x2000, at + 0x1000, Flags: 6));
        return b.Build();
    }

    /// <summary>The kernel build's size_append: the decompressed size, 4 bytes little-endian, after the stream.</summary>
    public static byte[] WithSizeTrailer(byte[] stream, int size)
    {
        var r = new byte[stream.Length + 4];
        stream.CopyTo(r, 0);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(stream.Length), size);
        return r;
    }

    public static byte[] GzipPayload(byte[] vmlinux)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(vmlinux);
        }
        return WithSizeTrailer(ms.ToArray(), vmlinux.Length);
    }

    private static void U16(byte[] f, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(at), v);

    private static void U32(byte[] f, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(at), v);
}
