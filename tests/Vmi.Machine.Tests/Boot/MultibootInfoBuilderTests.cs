using System.Buffers.Binary;
using System.Text;
using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

public sealed class MultibootInfoBuilderTests
{
    private const uint Ram = 64u << 20;
    private const uint Base = 0x9000;

    private static uint U32(byte[] b, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(offset));

    private static ulong U64(byte[] b, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(offset));

    private static byte[] Build(string commandLine, params PlacedModule[] modules) =>
        MultibootInfoBuilder.Build(Ram, Encoding.UTF8.GetBytes(commandLine), modules, Base);

    private static string CString(byte[] block, uint pointer)
    {
        int start = (int)(pointer - Base);
        return Encoding.Latin1.GetString(block, start, Array.IndexOf(block, (byte)0, start) - start);
    }

    [Fact]
    public void InfoStructure_FieldByField()
    {
        var bytes = Build("hello bench=none");

        Assert.Equal(0x24Du, U32(bytes, 0));           // flags: MEM | CMDLINE | MODS | MMAP | BOOT_LOADER_NAME
        Assert.Equal(639u, U32(bytes, 4));             // mem_lower (KiB)
        Assert.Equal(64512u, U32(bytes, 8));           // mem_upper: (64 MiB - 1 MiB) / 1 KiB
        Assert.Equal(0u, U32(bytes, 12));              // boot_device: not provided
        Assert.Equal(0x9100u, U32(bytes, 16));         // cmdline
        Assert.Equal(0u, U32(bytes, 20));              // mods_count
        Assert.Equal(0x9120u, U32(bytes, 24));         // mods_addr: an empty list after the command line
        for (int o = 28; o < 44; o += 4)
            Assert.Equal(0u, U32(bytes, o));           // syms
        Assert.Equal(96u, U32(bytes, 44));             // mmap_length: 4 entries x 24 bytes
        Assert.Equal(0x9080u, U32(bytes, 48));         // mmap_addr
        for (int o = 52; o < 64; o += 4)
            Assert.Equal(0u, U32(bytes, o));           // drives, config_table
        Assert.Equal(0x90E0u, U32(bytes, 64));         // boot_loader_name
        for (int o = 68; o < 0x80; o += 4)
            Assert.Equal(0u, U32(bytes, o));           // apm, vbe, framebuffer
        Assert.Equal(0x120, bytes.Length);
    }

    [Fact]
    public void PointersAreAbsolute_WhereverTheBlockGoes()
    {
        var bytes = MultibootInfoBuilder.Build(Ram, "x"u8, [], 0x0012_3450);

        Assert.Equal(0x0012_3550u, U32(bytes, 16));
        Assert.Equal(0x0012_34D0u, U32(bytes, 48));
        Assert.Equal(0x0012_3530u, U32(bytes, 64));
    }

    [Fact]
    public void MemoryMap_EntryByEntry()
    {
        var bytes = Build("");
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
        var bytes = Build("hello bench=none");

        Assert.Equal("vmi", CString(bytes, U32(bytes, 64)));
        Assert.Equal("hello bench=none", CString(bytes, U32(bytes, 16)));
    }

    [Fact]
    public void CommandLine_IsCopiedByteForByte()
    {
        var bytes = MultibootInfoBuilder.Build(Ram, [0xFF, 0xE9, (byte)'x'], [], Base);
        Assert.Equal(new byte[] { 0xFF, 0xE9, (byte)'x', 0 }, bytes[0x100..0x104]);
    }

    [Fact]
    public void ModuleList_EntryByEntry()
    {
        var first = new PlacedModule(0x0020_0000, new MultibootModule(new byte[0x1234], "a.bin one two"u8.ToArray()));
        var second = new PlacedModule(0x0020_2000, new MultibootModule([], [0x62, 0xFF]));

        var bytes = Build("k", first, second);

        Assert.Equal(2u, U32(bytes, 20));
        uint list = U32(bytes, 24);
        Assert.Equal(0u, list % 16);
        int e = (int)(list - Base);
        Assert.Equal((0x0020_0000u, 0x0020_1234u), (U32(bytes, e), U32(bytes, e + 4)));
        Assert.Equal("a.bin one two", CString(bytes, U32(bytes, e + 8)));
        Assert.Equal(0u, U32(bytes, e + 12));
        Assert.Equal((0x0020_2000u, 0x0020_2000u), (U32(bytes, e + 16), U32(bytes, e + 20)));
        Assert.Equal("b\u00FF", CString(bytes, U32(bytes, e + 24)));
        Assert.Equal(MultibootInfoBuilder.Measure("k"u8, [first.Module, second.Module]).Size, bytes.Length);
    }

    [Fact]
    public void NulInCommandLine()
    {
        var e = Assert.Throws<BootImageException>(() => Build("a\0b"));
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NulInModuleString()
    {
        var e = Assert.Throws<BootImageException>(() =>
            MultibootInfoBuilder.Measure([], [new MultibootModule([], "ok"u8.ToArray()), new MultibootModule([], "m\0x"u8.ToArray())]));
        Assert.Contains("module 1 string 'm", e.Message, StringComparison.Ordinal);
        Assert.Contains("index 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooLittleRam() =>
        Assert.Throws<BootImageException>(() => MultibootInfoBuilder.Build(1u << 20, [], [], Base));

    [Fact]
    public void QemuStyleCommandLine_PutsTheKernelPathFirst() =>
        Assert.Equal("k.elf a=b", MultibootInfoBuilder.QemuStyleCommandLine("k.elf", "a=b"));
}
