using Vmi.Machine.Boot;
using static Vmi.Machine.Tests.Boot.TestElfBuilder;

namespace Vmi.Machine.Tests.Boot;

public sealed class MultibootImageTests
{
    private static BootImageException Fails(byte[] file) =>
        Assert.Throws<BootImageException>(() => MultibootImage.Parse(file));

    private static void AssertError(BootImageException e, string fragment, long? offset)
    {
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.Equal(offset, e.FileOffset);
        if (offset is { } o)
            Assert.Contains($"file offset 0x{o:X}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidImage_HasSegmentsEntryAndHeader()
    {
        var image = MultibootImage.Parse(Valid().Build());

        Assert.Equal(0x0010_0000u, image.EntryPoint);
        Assert.Equal(0x200u, image.HeaderOffset);
        Assert.Equal(0x3u, image.HeaderFlags);
        Assert.False(image.UsesAoutKludge);
        Assert.Equal(2, image.Segments.Count);
        Assert.Equal(0x0010_0000u, image.Segments[0].PhysicalAddress);
        Assert.Equal(Pattern(0x100, 0x11), image.Segments[0].FileBytes);
        Assert.Equal(0x100u, image.Segments[0].MemorySize);
        Assert.Equal(0x0010_1000u, image.Segments[1].PhysicalAddress);
        Assert.Equal(Pattern(0x40, 0x77), image.Segments[1].FileBytes);
        Assert.Equal(0x2000u, image.Segments[1].MemorySize);
        image.ValidateFor(64u << 20);
    }

    [Fact]
    public void HigherHalfKernel_LoadsAtPaddrAndTranslatesEntry()
    {
        var b = new TestElfBuilder { Entry = 0xC010_0010 };
        b.Segments.Add(new Segment(0x0010_0000, Pattern(0x80, 1), 0x80, 0xC010_0000, Flags: 5));

        var image = MultibootImage.Parse(b.Build());

        Assert.Equal(0x0010_0000u, image.Segments[0].PhysicalAddress);
        Assert.Equal(0x0010_0010u, image.EntryPoint);
    }

    [Fact]
    public void NonLoadAndEmptySegments_AreSkipped()
    {
        var b = Valid();
        b.Segments.Add(new Segment(0, [], 0, 0, Flags: 6, Type: 0x6474E551)); // PT_GNU_STACK
        b.Segments.Add(new Segment(0x0020_0000, [], 0, 0x0020_0000, Flags: 6));

        Assert.Equal(2, MultibootImage.Parse(b.Build()).Segments.Count);
    }

    [Fact]
    public void NoHeader() => AssertError(Fails(new byte[10000]), "no multiboot header", null);

    [Fact]
    public void HeaderAt8192() =>
        AssertError(Fails(new TestElfBuilder { MultibootHeaderOffset = 8192 }.Build()), "within the first 8192 bytes", 8192);

    [Fact]
    public void HeaderStraddlingTheSearchWindow() =>
        AssertError(Fails(new TestElfBuilder { MultibootHeaderOffset = 8184 }.Build()), "within the first 8192 bytes", 8184);

    [Fact]
    public void UnalignedHeader_IsNotAHeader() =>
        AssertError(Fails(new TestElfBuilder { MultibootHeaderOffset = 0x202 }.Build()), "no multiboot header", null);

    [Fact]
    public void BadChecksum()
    {
        var file = Valid().Build();
        PutU32(file, 0x208, 0x1234);
        AssertError(Fails(file), "bad checksum", 0x208);
    }

    [Fact]
    public void UnknownRequiredFlag_IsRefused() =>
        AssertError(Fails(new TestElfBuilder { HeaderFlags = 0x0000_0008 }.Build()), "bits 0x0008", 0x204);

    [Fact]
    public void VideoFlag_IsIgnoredLikeQemu()
    {
        var b = Valid();
        b.HeaderFlags = 0x7;
        b.HeaderAddressFields = new uint[9]; // the header is 48 bytes with bit 2
        var image = MultibootImage.Parse(b.Build());
        Assert.True(image.RequestsVideoMode);
    }

    [Fact]
    public void OptionalHighFlags_AreAccepted()
    {
        var b = Valid();
        b.HeaderFlags = 0x0010_0003;
        Assert.Equal(0x0010_0003u, MultibootImage.Parse(b.Build()).HeaderFlags);
    }

    [Fact]
    public void BadElfMagic()
    {
        var file = Valid().Build();
        file[1] = (byte)'X';
        AssertError(Fails(file), "not an ELF file", 0);
    }

    [Fact]
    public void Elf64_IsRejectedClearly()
    {
        var file = Valid().Build();
        file[4] = 2;
        AssertError(Fails(file), "ELF64", 4);
    }

    [Fact]
    public void BigEndian()
    {
        var file = Valid().Build();
        file[5] = 2;
        AssertError(Fails(file), "EI_DATA", 5);
    }

    [Fact]
    public void WrongMachine()
    {
        var file = Valid().Build();
        PutU16(file, 18, 62);
        AssertError(Fails(file), "e_machine is 62 (x86-64)", 18);
    }

    [Fact]
    public void NotAnExecutable()
    {
        var file = Valid().Build();
        PutU16(file, 16, 3);
        AssertError(Fails(file), "e_type is 3", 16);
    }

    [Fact]
    public void ProgramHeaderTablePastEndOfFile()
    {
        var file = Valid().Build();
        PutU32(file, 28, (uint)file.Length - 40);
        AssertError(Fails(file), "program header table", 28);
    }

    [Fact]
    public void TooManyProgramHeaders()
    {
        var file = Valid().Build();
        PutU16(file, 44, 1000);
        AssertError(Fails(file), "e_phnum 1000", 28);
    }

    [Fact]
    public void ProgramHeaderEntryTooSmall()
    {
        var file = Valid().Build();
        PutU16(file, 42, 16);
        AssertError(Fails(file), "e_phentsize is 16", 42);
    }

    [Fact]
    public void NoProgramHeaders()
    {
        var file = Valid().Build();
        PutU16(file, 44, 0);
        AssertError(Fails(file), "e_phnum is 0", 44);
    }

    [Fact]
    public void FileSizeLargerThanMemorySize()
    {
        var file = Valid().Build();
        PutU32(file, PhdrOffset(1) + 20, 0x20);
        AssertError(Fails(file), "p_filesz 0x40 is larger than p_memsz 0x20", PhdrOffset(1) + 16);
    }

    [Fact]
    public void SegmentPastEndOfFile()
    {
        var file = Valid().Build();
        PutU32(file, PhdrOffset(1) + 4, (uint)file.Length - 0x10);
        AssertError(Fails(file), "extends past the end", PhdrOffset(1) + 4);
    }

    [Fact]
    public void SegmentWrappingPast4GiB()
    {
        var file = Valid().Build();
        PutU32(file, PhdrOffset(1) + 12, 0xFFFF_F000);
        AssertError(Fails(file), "wraps past 4 GiB", PhdrOffset(1) + 12);
    }

    [Fact]
    public void OverlappingSegments()
    {
        var file = Valid().Build();
        PutU32(file, PhdrOffset(1) + 12, 0x0010_0080);
        AssertError(Fails(file), "overlaps loadable segment 0", PhdrOffset(1) + 12);
    }

    [Fact]
    public void NoLoadableSegment()
    {
        var file = Valid().Build();
        PutU32(file, PhdrOffset(0), 4);
        PutU32(file, PhdrOffset(1), 4);
        AssertError(Fails(file), "no non-empty PT_LOAD", 28);
    }

    [Fact]
    public void EntryOutsideSegments()
    {
        var file = Valid().Build();
        PutU32(file, 24, 0x0050_0000);
        AssertError(Fails(file), "e_entry 0x00500000", 24);
    }

    [Fact]
    public void NotElfWithoutAoutKludge()
    {
        var file = new byte[0x400];
        WriteMultibootHeader(file, 0, 0x3, []);
        AssertError(Fails(file), "flag bit 16", 0);
    }
}
