using Vmi.Abi;

namespace Vmi.Rom.Tests;

public sealed class RomBuilderTests
{
    public static TheoryData<string> Profiles() => new(RomProfiles.Names);

    [Theory]
    [MemberData(nameof(Profiles))]
    public void BuiltRomsAreValid(string profile)
    {
        VmiRom rom = RomProfiles.Build(profile)!;
        IReadOnlyList<RomViolation> violations = RomValidator.Validate(rom.Image);
        Assert.True(violations.Count == 0, string.Join("\n", violations));
        Assert.Equal(0, rom.Image.Length % 512);
        Assert.Equal(0, RomWriter.Checksum(rom.Image));
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void BuildingIsDeterministic(string profile) =>
        Assert.Equal(RomProfiles.Build(profile)!.Image, RomProfiles.Build(profile)!.Image);

    [Theory]
    [MemberData(nameof(Profiles))]
    public void RoundTripsThroughTheReader(string profile)
    {
        VmiRom rom = RomProfiles.Build(profile)!;
        string path = Path.Combine(Path.GetTempPath(), $"vmi-{Guid.NewGuid():N}.rom");
        try
        {
            File.WriteAllBytes(path, rom.Image);
            VmiRomImage read = RomReader.Read(File.ReadAllBytes(path));
            Assert.Equal(rom.Image, read.Bytes);
            Assert.Equal(RomLayout.ApiVersionMajor, read.Header.ApiVersionMajor);
            Assert.Equal((byte)(rom.Image.Length / 512), read.Header.RomLength);
            Assert.Equal("vmi project", read.Manufacturer);
            Assert.StartsWith("VMI ", read.Product, StringComparison.Ordinal);
            Assert.Equal("GPL v2", read.License);
            Assert.Equal(0x15AD, read.Pci.VendorId);
            Assert.Equal(0x0801, read.Pci.DeviceId);

            // Writing the parsed model back gives the same header bytes.
            byte[] copy = (byte[])read.Bytes.Clone();
            RomWriter.WriteHeader(copy, read.Header);
            RomWriter.WritePci(copy, read.Header.PciHeaderOffset, read.Pci);
            RomWriter.WritePnp(copy, read.Header.PnpHeaderOffset, read.Pnp!);
            Assert.Equal(rom.Image, copy);
            Assert.Empty(RomValidator.Validate(copy));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void JumpRelIsRefusedForCallsThatReturn()
    {
        var b = new RomBuilder("bad");
        var e = Assert.Throws<ArgumentException>(() => b.Declare(VmiCall.DisableInterrupts, CallSpec.Code(a => a.cli(), jump: true)));
        Assert.Contains("DisableInterrupts returns to its caller", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VirtualTopAndMinorVersionAreWrittenToTheHeader()
    {
        VmiRom rom = new RomBuilder("x") { VirtualTop = 0xFC00_0000, ApiVersionMinor = 2 }.Build();
        VmiRomImage read = RomReader.Read(rom.Image);
        Assert.Equal(0xFC00_0000u, read.Header.VirtualTop);
        Assert.Equal(2, read.Header.ApiVersionMinor);
        Assert.Empty(RomValidator.Validate(rom.Image));
    }
}
