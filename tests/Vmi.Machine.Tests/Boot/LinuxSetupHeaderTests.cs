using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>Every check of the setup header: each bad field is refused by name, offset and value.</summary>
public sealed class LinuxSetupHeaderTests
{
    private static BootImageException Refused(TestBzImage image) => Assert.Throws<BootImageException>(() => LinuxSetupHeader.Parse(image.Build()));

    private static void AssertNames(BootImageException e, string field, int offset, string value)
    {
        Assert.Contains($"field {field} (offset 0x{offset:X})", e.Message, StringComparison.Ordinal);
        Assert.Contains(value, e.Message, StringComparison.Ordinal);
        Assert.Equal(offset, e.FileOffset);
    }

    [Fact]
    public void ValidHeader_IsReadField_ByField()
    {
        var image = new TestBzImage { InitSize = 0x12_3000, CmdlineSize = 2047, InitrdAddrMax = 0x1FFF_FFFF };
        LinuxSetupHeader h = LinuxSetupHeader.Parse(image.Build());

        Assert.Equal(0x020F, h.Version);
        Assert.Equal("2.15", h.VersionText);
        Assert.Equal(1, h.SetupSectors);
        Assert.Equal(1024, h.SetupBytes);
        Assert.Equal(0x26C, h.HeaderEnd);
        Assert.Equal(0x12_3000u, h.InitSize);
        Assert.Equal(2047u, h.CmdlineSize);
        Assert.Equal(0x1FFF_FFFFu, h.InitrdAddrMax);
        Assert.Equal((uint)TestBzImage.HaltStub.Length, h.PayloadOffset);
        Assert.Equal(0x0100_0000UL, h.RuntimeStart(0x10_0000));
    }

    [Fact]
    public void SetupSectsZero_MeansFour()
    {
        LinuxSetupHeader h = LinuxSetupHeader.Parse(new TestBzImage { SetupSects = 0 }.Build());

        Assert.Equal(4, h.SetupSectors);
        Assert.Equal(2560, h.SetupBytes);
    }

    [Theory]
    [InlineData(0x0100_0000UL, 0x20_0000u, 1, 0x0100_0000UL)] // loaded below pref_address: runs at pref_address
    [InlineData(0x0010_0000UL, 0x20_0000u, 1, 0x0020_0000UL)] // pref_address below the load address: the load address, aligned up
    [InlineData(0x0100_0000UL, 0x20_0000u, 0, 0x0100_0000UL)] // not relocatable: always pref_address
    public void RuntimeStart_FollowsBootRst(ulong pref, uint alignment, byte relocatable, ulong expected)
    {
        LinuxSetupHeader h = LinuxSetupHeader.Parse(new TestBzImage { PrefAddress = pref, KernelAlignment = alignment, Relocatable = relocatable }.Build());

        Assert.Equal(expected, h.RuntimeStart(0x10_0000));
    }

    [Fact]
    public void TruncatedImage_IsRefused()
    {
        byte[] image = new TestBzImage().Build()[..0x250];

        var e = Assert.Throws<BootImageException>(() => LinuxSetupHeader.Parse(image));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains("init_size", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadBootFlag_IsNamed() => AssertNames(Refused(new TestBzImage { BootFlag = 0x1234 }), "boot_flag", 0x1FE, "0x1234");

    [Fact]
    public void MissingHdrS_IsNamedAsTooOld() => AssertNames(Refused(new TestBzImage { HeaderMagic = 0x12345678 }), "header", 0x202, "older than boot protocol 2.00");

    [Theory]
    [InlineData(0x0200)]
    [InlineData(0x0208)] // payload_offset, but no init_size yet
    [InlineData(0x0209)]
    public void VersionBelow210_IsNamed(int version) =>
        AssertNames(Refused(new TestBzImage { Version = (ushort)version }), "version", 0x206, $"0x{version:X4}");

    [Fact]
    public void Version210_IsTheOldestAccepted() => Assert.Equal(0x020A, LinuxSetupHeader.Parse(new TestBzImage { Version = 0x020A }.Build()).Version);

    [Fact]
    public void ZImage_IsRefusedByLoadflags()
    {
        var e = Refused(new TestBzImage { Loadflags = 0 });
        AssertNames(e, "loadflags", 0x211, "0x00");
        Assert.Contains("zImage", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeaderShorterThanInitSize_IsNamedByTheJump() => AssertNames(Refused(new TestBzImage { JumpDisplacement = 0x40 }), "jump", 0x200, "0x40EB");

    [Fact]
    public void SetupSectsPastTheFile_IsNamed()
    {
        byte[] image = new TestBzImage().Build();
        image[0x1F1] = 200;

        AssertNames(Assert.Throws<BootImageException>(() => LinuxSetupHeader.Parse(image)), "setup_sects", 0x1F1, "200");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(0x10_0000u)]
    public void SyssizeNotMatchingTheFile_IsNamed(uint syssize) =>
        AssertNames(Refused(new TestBzImage { Syssize = syssize }), "syssize", 0x1F4, $"0x{syssize:X}");

    [Fact]
    public void TruncatedProtectedModePart_IsNamedBySyssize()
    {
        byte[] image = new TestBzImage().Build();

        var e = Assert.Throws<BootImageException>(() => LinuxSetupHeader.Parse(image[..^32]));
        AssertNames(e, "syssize", 0x1F4, "truncated");
    }

    [Fact]
    public void RelocatableWithoutPowerOfTwoAlignment_IsNamed() =>
        AssertNames(Refused(new TestBzImage { KernelAlignment = 0x30_0000 }), "kernel_alignment", 0x230, "0x300000");

    [Fact]
    public void ZeroCmdlineSize_IsNamed() => AssertNames(Refused(new TestBzImage { CmdlineSize = 0 }), "cmdline_size", 0x238, "0");

    [Theory]
    [InlineData(3u)]
    [InlineData(0x10_0000u)]
    public void PayloadOutsideTheProtectedModePart_IsNamed(uint length) =>
        AssertNames(Refused(new TestBzImage { PayloadLength = length }), "payload_length", 0x24C, $"0x{length:X}");

    [Fact]
    public void KernelRunningBelow1MiB_IsNamedByPrefAddress() =>
        AssertNames(Refused(new TestBzImage { PrefAddress = 0x8000, Relocatable = 0 }), "pref_address", 0x258, "0x8000");

    [Theory]
    [InlineData(0u)]
    [InlineData(0xFF80_0000u)] // from 16 MiB that passes 4 GiB
    public void InitSizeEmptyOrPast4GiB_IsNamed(uint initSize) =>
        AssertNames(Refused(new TestBzImage { InitSize = initSize }), "init_size", 0x260, $"0x{initSize:X}");

    [Fact]
    public void Detector_TellsLinuxFromMultiboot()
    {
        Assert.Equal(KernelImageKind.Linux, KernelImageDetector.Detect(new TestBzImage().Build()));
        Assert.Equal(KernelImageKind.Multiboot, KernelImageDetector.Detect(TestElfBuilder.Valid().Build()));
        // A boot sector with 55 AA and no HdrS and no multiboot magic: a pre-2.00 kernel, refused as Linux by name.
        byte[] noMultibootMagic = TestBzImage.WithSizeTrailer([0x28, 0xB5, 0x2F, 0xFD], 100);
        Assert.Equal(KernelImageKind.Linux, KernelImageDetector.Detect(new TestBzImage { HeaderMagic = 0, Payload = noMultibootMagic }.Build()));
    }
}
