using Vmi.Machine.Boot;
using static Vmi.Machine.Tests.Boot.TestElfBuilder;

namespace Vmi.Machine.Tests.Boot;

/// <summary>Flag bit 16: the header's address fields say where the image goes (QEMU's rules).</summary>
public sealed class AoutKludgeTests
{
    private const uint Flags = 0x0001_0003;

    /// <summary>A flat binary: header at file offset 0x10, loaded so file offset 0 lands at 1 MiB.</summary>
    private static byte[] Flat(uint headerAddr = 0x0010_0010, uint loadAddr = 0x0010_0000, uint loadEnd = 0x0010_0100,
        uint bssEnd = 0x0010_0400, uint entry = 0x0010_0040, int fileLength = 0x180)
    {
        var file = Pattern(fileLength, 0x31);
        WriteMultibootHeader(file, 0x10, Flags, [headerAddr, loadAddr, loadEnd, bssEnd, entry]);
        return file;
    }

    private static void AssertError(byte[] file, string fragment, long offset)
    {
        var e = Assert.Throws<BootImageException>(() => MultibootImage.Parse(file));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.Equal(offset, e.FileOffset);
    }

    [Fact]
    public void FlatImage_LoadsByHeaderAddresses()
    {
        var file = Flat();
        var image = MultibootImage.Parse(file);

        Assert.True(image.UsesAoutKludge);
        Assert.Equal(0x0010_0040u, image.EntryPoint);
        var segment = Assert.Single(image.Segments);
        Assert.Equal(0x0010_0000u, segment.PhysicalAddress);
        Assert.Equal(file[..0x100], segment.FileBytes);
        Assert.Equal(0x400u, segment.MemorySize);
    }

    [Fact]
    public void ZeroLoadEnd_LoadsToEndOfFile_AndZeroBssEnd_MeansNoBss()
    {
        var segment = Assert.Single(MultibootImage.Parse(Flat(loadEnd: 0, bssEnd: 0)).Segments);
        Assert.Equal(0x180, segment.FileBytes.Length);
        Assert.Equal(0x180u, segment.MemorySize);
    }

    [Fact]
    public void ElfWithBit16_UsesTheHeaderAddressesLikeQemu()
    {
        var b = Valid();
        b.HeaderFlags = Flags;
        // Header at file offset 0x200 claims address 0x200200: the file is loaded from offset 0 at 0x200000.
        b.HeaderAddressFields = [0x0020_0200, 0x0020_0000, 0x0020_0300, 0, 0x0020_0200];
        var image = MultibootImage.Parse(b.Build());

        Assert.Equal(0x0020_0200u, image.EntryPoint);
        Assert.Equal(0x0020_0000u, Assert.Single(image.Segments).PhysicalAddress);
    }

    [Fact]
    public void HeaderAddrBelowLoadAddr() => AssertError(Flat(headerAddr: 0x000F_0000), "below load_addr", 0x10 + 12);

    [Fact]
    public void ImageStartingBeforeTheFile() => AssertError(Flat(headerAddr: 0x0010_0100), "before the beginning of the file", 0x10 + 12);

    [Fact]
    public void LoadEndBelowLoadAddr() => AssertError(Flat(loadEnd: 0x0000_1000), "load_end_addr 0x00001000 is below", 0x10 + 20);

    [Fact]
    public void LoadEndPastEndOfFile() => AssertError(Flat(loadEnd: 0x0010_1000), "the file is 384 bytes", 0x10 + 20);

    [Fact]
    public void BssEndBelowLoadEnd() => AssertError(Flat(bssEnd: 0x0010_0080), "bss_end_addr", 0x10 + 24);

    [Fact]
    public void EntryOutsideImage() => AssertError(Flat(entry: 0x0030_0000), "entry_addr 0x00300000", 0x10 + 28);

    [Fact]
    public void HeaderTruncatedByEndOfFile()
    {
        var file = new byte[0x20];
        WriteMultibootHeader(file, 0x10, Flags, []);
        AssertError(file, "32 bytes long", 0x10);
    }
}
