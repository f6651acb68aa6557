using System.Buffers.Binary;
using System.Text;
using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

public sealed class MultibootInfoBuilderTests
{
    private const uint Ram = 64u << 20;

    private static uint U32(byte[] b, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(offset));

    private static ulong U64(byte[] b, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(offset));

    [Fact]
    public void InfoStructure_FieldByField()
    {
        var bytes = MultibootInfoBuilder.Build(Ram, "hello bench=none", out uint info);

        Assert.Equal(0x9000u, info);
        Assert.Equal(0x245u, U32(bytes, 0));           // flags: MEM | CMDLINE | MMAP | BOOT_LOADER_NAME
        Assert.Equal(639u, U32(bytes, 4));             // mem_lower (KiB)
        Assert.Equal(64512u, U32(bytes, 8));           // mem_upper: (64 MiB - 1 MiB) / 1 KiB
        Assert.Equal(0u, U32(bytes, 12));              // boot_device: not provided
        Assert.Equal(0x9100u, U32(bytes, 16));         // cmdline
        Assert.Equal(0u, U32(bytes, 20));              // mods_count
        Assert.Equal(0u, U32(bytes, 24));              // mods_addr
        for (int o = 28; o < 44; o += 4)
            Assert.Equal(0u, U32(bytes, o));           // syms
        Assert.Equal(96u, U32(bytes, 44));             // mmap_length: 4 entries x 24 bytes
        Assert.Equal(0x9080u, U32(bytes, 48));         // mmap_addr
        for (int o = 52; o < 64; o += 4)
            Assert.Equal(0u, U32(bytes, o));           // drives, config_table
        Assert.Equal(0x90E0u, U32(bytes, 64));         // boot_loader_name
        for (int o = 68; o < 0x80; o += 4)
            Assert.Equal(0u, U32(bytes, o));           // apm, vbe, framebuffer
    }

    [Fact]
    public void MemoryMap_EntryByEntry()
    {
        var bytes = MultibootInfoBuilder.Build(Ram, "", out _);
        (ulong Base, ulong Length, uint Type)[] expected =
        [
            (0x0, 0x9FC00, 1),
            (0x9FC00, 0x400, 2),
            (0xF0000, 0x10000, 2),
            (0x100000, Ram - 0x100000, 1),
        ];
        for (int i = 0; i < expected.Length; i++)
        {
            int e = 0x80 + i * 24;
            Assert.Equal(20u, U32(bytes, e));
            Assert.Equal(expected[i].Base, U64(bytes, e + 4));
            Assert.Equal(expected[i].Length, U64(bytes, e + 12));
            Assert.Equal(expected[i].Type, U32(bytes, e + 20));
        }
    }

    [Fact]
    public void Strings_AreNulTerminatedAtTheirPointers()
    {
        var bytes = MultibootInfoBuilder.Build(Ram, "hello bench=none", out uint info);

        Assert.Equal("vmi\0"u8.ToArray(), bytes[(int)(U32(bytes, 64) - info)..][..4]);
        int cmdline = (int)(U32(bytes, 16) - info);
        Assert.Equal("hello bench=none\0"u8.ToArray(), bytes[cmdline..]);
        Assert.True(info + bytes.Length <= GuestLayout.MultibootInfoEnd);
    }

    [Fact]
    public void CommandLine_IsUtf8()
    {
        var bytes = MultibootInfoBuilder.Build(Ram, "é", out _);
        Assert.Equal(new byte[] { 0xC3, 0xA9, 0 }, bytes[0x100..]);
    }

    [Fact]
    public void LongestCommandLine_FillsTheAreaExactly()
    {
        var bytes = MultibootInfoBuilder.Build(Ram, new string('x', MultibootInfoBuilder.MaxCommandLineBytes), out uint info);
        Assert.Equal(GuestLayout.MultibootInfoEnd, info + (uint)bytes.Length);
    }

    [Fact]
    public void TooLongCommandLine()
    {
        var e = Assert.Throws<BootImageException>(() =>
            MultibootInfoBuilder.Build(Ram, new string('x', MultibootInfoBuilder.MaxCommandLineBytes + 1), out _));
        Assert.Contains("command line is", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NulInCommandLine()
    {
        var e = Assert.Throws<BootImageException>(() => MultibootInfoBuilder.Build(Ram, "a\0b", out _));
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooLittleRam() =>
        Assert.Throws<BootImageException>(() => MultibootInfoBuilder.Build(1u << 20, "", out _));

    [Fact]
    public void QemuStyleCommandLine_PutsTheKernelPathFirst() =>
        Assert.Equal("k.elf a=b", Encoding.ASCII.GetString(
            MultibootInfoBuilder.Build(Ram, MultibootInfoBuilder.QemuStyleCommandLine("k.elf", "a=b"), out _)[0x100..^1]));
}
