using Vmi.Machine.Boot;

namespace Vmi.Machine.Tests.Boot;

/// <summary>Where the Linux loader puts the kernel, zero page, command line, GDT and initrd.</summary>
public sealed class LinuxLoaderTests
{
    private const uint Ram = 64u << 20;

    private static LinuxBootPlan Plan(TestBzImage image, uint ram = Ram, string cmdline = "console=ttyS0", byte[]? initrd = null) =>
        LinuxLoader.Plan(image.Build(), ram, System.Text.Encoding.ASCII.GetBytes(cmdline), initrd);

    private static bool Overlaps(ulong a, ulong aEnd, ulong b, ulong bEnd) => a < bEnd && b < aEnd;

    [Fact]
    public void UncompressedPayload_LoadsVmlinuxAtPaddrAndEntersIt()
    {
        LinuxBootPlan plan = Plan(new TestBzImage());

        Assert.True(plan.HostDecompressed);
        Assert.Equal(PayloadFormat.None, plan.PayloadFormat);
        Assert.Equal(0x0100_0000u, plan.EntryPoint);
        Assert.Equal([0x0100_0000u, 0x0100_1000u], plan.Segments.Select(s => s.PhysicalAddress));
        Assert.Equal((0x0100_0000UL, 0x0110_0000UL), plan.Footprint);
    }

    [Fact]
    public void GzipPayload_IsDecompressedOnTheHost()
    {
        byte[] vmlinux = TestBzImage.Vmlinux();
        LinuxBootPlan plan = Plan(new TestBzImage { Payload = TestBzImage.GzipPayload(vmlinux) });

        Assert.Equal(PayloadFormat.Gzip, plan.PayloadFormat);
        Assert.Equal(vmlinux.Length, plan.DecompressedBytes);
        Assert.Equal(0x0100_0000u, plan.EntryPoint);
    }

    [Fact]
    public void UnhandledPayload_FallsBackToTheKernelsDecompressorAtCode32Start()
    {
        byte[] zstd = TestBzImage.WithSizeTrailer([0x28, 0xB5, 0x2F, 0xFD, 1, 2, 3], 1000);
        LinuxBootPlan plan = Plan(new TestBzImage { Payload = zstd, Code32Start = 0x10_0000 });

        Assert.False(plan.HostDecompressed);
        Assert.Equal(PayloadFormat.Zstd, plan.PayloadFormat);
        Assert.Contains("zstd", plan.FallbackReason, StringComparison.Ordinal);
        Assert.Equal(0x10_0000u, plan.EntryPoint);
        LoadSegment image = Assert.Single(plan.Segments);
        Assert.Equal(0x10_0000u, image.PhysicalAddress);
        Assert.Equal(TestBzImage.HaltStub, image.FileBytes[..4]);
    }

    [Fact]
    public void HostDecompressionOff_BootsTheImageAtCode32Start()
    {
        LinuxBootPlan plan = LinuxLoader.Plan(new TestBzImage().Build(), Ram, "x"u8, null, hostDecompression: false);

        Assert.False(plan.HostDecompressed);
        Assert.Equal(0x10_0000u, plan.EntryPoint);
    }

    [Fact]
    public void FallbackWithCode32StartOutsideTheImage_IsNamed()
    {
        var image = new TestBzImage { Code32Start = 0x20_0000 };

        var e = Assert.Throws<BootImageException>(() => LinuxLoader.Plan(image.Build(), Ram, ""u8, null, hostDecompression: false));
        Assert.Contains("code32_start (offset 0x214) is 0x00200000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoaderStructures_GoLowAtQemusAddresses_AndOutsideTheKernel()
    {
        LinuxBootPlan plan = Plan(new TestBzImage(), cmdline: "root=/dev/ram0");

        Assert.Equal(GuestLayout.PreferredBootGdt, plan.Gdt.Address);
        Assert.Equal(LinuxLoader.PreferredZeroPage, plan.ZeroPage.Address);
        Assert.Equal(LinuxLoader.PreferredCommandLine, plan.CommandLine.Address);
        Assert.Equal("root=/dev/ram0\0"u8.ToArray(), plan.CommandLine.Bytes);
        Assert.Equal(0x00CF_9300_0000_FFFFUL, BitConverter.ToUInt64(plan.Gdt.Bytes, 0x18));
        Assert.Equal(0x00CF_9B00_0000_FFFFUL, BitConverter.ToUInt64(plan.Gdt.Bytes, 0x10));
    }

    [Theory]
    [InlineData(64u << 20, 0x37FF_FFFFu)]  // RAM is the limit
    [InlineData(64u << 20, 0x01FF_FFFFu)]  // initrd_addr_max (32 MiB - 1) is the limit
    [InlineData(512u << 20, 0x0FFF_FFFFu)] // initrd_addr_max below RAM's end
    public void Initrd_GoesPageAlignedAsHighAsAllowed(uint ram, uint initrdAddrMax)
    {
        var initrd = new byte[10_000];
        LinuxBootPlan plan = Plan(new TestBzImage { InitrdAddrMax = initrdAddrMax }, ram, initrd: initrd);

        PlacedBlock placed = plan.Initrd!;
        ulong limit = Math.Min((ulong)initrdAddrMax + 1, ram);
        Assert.Equal(0u, placed.Address % 4096);
        Assert.True(placed.End <= limit, $"initrd ends at 0x{placed.End:X}, past 0x{limit:X}");
        Assert.True(placed.End + 4096 > limit, $"initrd at 0x{placed.Address:X} is not as high as it could be below 0x{limit:X}");
        Assert.False(Overlaps(placed.Address, placed.End, plan.Footprint.Start, plan.Footprint.End));
    }

    [Fact]
    public void Initrd_SkipsTheKernelsFootprintWhenItReachesTheLimit()
    {
        // The footprint [16 MiB, 48 MiB) ends right at initrd_addr_max + 1: the initrd goes below 16 MiB.
        var image = new TestBzImage { InitSize = 0x200_0000, InitrdAddrMax = 0x02FF_FFFF };
        LinuxBootPlan plan = Plan(image, initrd: new byte[0x1000]);

        Assert.Equal(0x00FF_F000u, plan.Initrd!.Address);
        Assert.False(Overlaps(plan.Initrd.Address, plan.Initrd.End, plan.Footprint.Start, plan.Footprint.End));
    }

    [Fact]
    public void InitrdThatFitsNowhere_IsRefusedNamingWhatTookTheRam()
    {
        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { InitrdAddrMax = 0x0001_FFFF }, initrd: new byte[0x10000]));

        Assert.Contains("no room in RAM below 0x00020000 for the initrd", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyInitrd_IsNone() => Assert.Null(Plan(new TestBzImage(), initrd: []).Initrd);

    [Fact]
    public void CommandLineLongerThanCmdlineSize_IsNamed()
    {
        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { CmdlineSize = 8 }, cmdline: "123456789"));

        Assert.Contains("9 bytes, longer than the kernel's cmdline_size (offset 0x238) of 8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommandLineOfExactlyCmdlineSize_IsTaken() => Assert.Equal(9, Plan(new TestBzImage { CmdlineSize = 8 }, cmdline: "12345678").CommandLine.Bytes.Length);

    [Fact]
    public void CommandLineWithNul_IsRefused() =>
        Assert.Throws<BootImageException>(() => LinuxLoader.Plan(new TestBzImage().Build(), Ram, "a\0b"u8, null));

    [Fact]
    public void InitSizeBeyondRam_IsNamed()
    {
        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { InitSize = 0x400_0000 }));

        Assert.Contains("init_size (offset 0x260) is 0x4000000", e.Message, StringComparison.Ordinal);
        Assert.Contains("--memory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VmlinuxBelow1MiB_IsRefused()
    {
        byte[] low = TestBzImage.Vmlinux(at: 0x8000);
        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { Payload = TestBzImage.WithSizeTrailer(low, low.Length) }));

        Assert.Contains("vmlinux segment 0 [0x00008000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VmlinuxBeyondRam_IsRefused()
    {
        // init_size (4 KiB) fits below the end of RAM, but vmlinux's data segment ends at 16 MiB + 12 KiB.
        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { InitSize = 0x1000 }, ram: 16u << 20 | 0x2000));

        Assert.Contains("vmlinux segment 1 [0x01001000, 0x01003000)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PayloadThatIsNotAnElf_IsNamed()
    {
        var bogus = TestBzImage.GzipPayload("not an elf"u8.ToArray());
        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { Payload = bogus }));

        Assert.Contains("the decompressed payload (gzip) is not a loadable vmlinux", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PayloadWhoseTrailerLies_IsNamed()
    {
        byte[] vmlinux = TestBzImage.Vmlinux();
        byte[] payload = TestBzImage.GzipPayload(vmlinux);
        BitConverter.GetBytes(vmlinux.Length + 1).CopyTo(payload, payload.Length - 4);

        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { Payload = payload }));
        Assert.Contains("size trailer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptGzipPayload_IsNamed()
    {
        byte[] payload = TestBzImage.GzipPayload(TestBzImage.Vmlinux());
        payload[20] ^= 0xFF;
        payload[21] ^= 0xFF;

        var e = Assert.Throws<BootImageException>(() => Plan(new TestBzImage { Payload = payload }));
        Assert.Contains("gzip", e.Message, StringComparison.Ordinal);
    }
}
