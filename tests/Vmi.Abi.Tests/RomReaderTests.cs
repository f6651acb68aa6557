using static Vmi.Abi.Tests.TestRom;
using L = Vmi.Abi.RomLayout;

namespace Vmi.Abi.Tests;

public sealed class RomReaderTests
{
    [Fact]
    public void Read_DecodesEveryStructure()
    {
        var image = Build();
        var rom = RomReader.Read(image);

        Assert.Equal(image, rom.Bytes);
        Assert.Equal(Header, rom.Header);
        Assert.Equal(PciData, rom.Pci);
        Assert.Equal(PnpData with { Checksum = rom.Pnp!.Checksum }, rom.Pnp);
        Assert.Equal(License, rom.License);
        Assert.Equal(Manufacturer, rom.Manufacturer);
        Assert.Equal(Product, rom.Product);
    }

    [Fact]
    public void Read_CopiesTheImage()
    {
        var image = Build();
        var rom = RomReader.Read(image);
        image[0x200] = 0xFF;
        Assert.Equal(0, rom.Bytes[0x200]);
    }

    [Fact]
    public void Read_IsLittleEndian()
    {
        var rom = RomReader.Read(Build());
        Assert.Equal(0xFC00_0000u, rom.Header.VirtualTop);
        Assert.Equal(0x15ADu, rom.Pci.VendorId);
        Assert.Equal(0x0801u, rom.Pci.DeviceId);
    }

    [Fact]
    public void AbsentParts_AreNull()
    {
        var rom = RomReader.Read(Build(i =>
        {
            PutU16(i, L.PnpHeaderOffsetOffset, 0);
            PutU16(i, L.LicenseOffsetOffset, 0);
            return i;
        }));
        Assert.Null(rom.Pnp);
        Assert.Null(rom.License);
        Assert.Null(rom.Manufacturer);
        Assert.Null(rom.Product);
    }

    [Fact]
    public void AbsentPnpStrings_AreNull()
    {
        var rom = RomReader.Read(Build(i =>
        {
            PutU16(i, Pnp + L.PnpManufacturerOffsetOffset, 0);
            PutU16(i, Pnp + L.PnpProductOffsetOffset, 0);
            return i;
        }));
        Assert.NotNull(rom.Pnp);
        Assert.Null(rom.Manufacturer);
        Assert.Null(rom.Product);
    }

    [Fact]
    public void Read_DoesNotJudge_BadSignaturesAndChecksumStillParse()
    {
        var rom = RomReader.Read(Build(i =>
        {
            i[0] = 0;
            i[L.VromSignatureOffset] = 0;
            i[L.ApiVersionMajorOffset] = 9;
            i[Pci] = 0;
            return i;
        }, Repair.None));
        Assert.Equal(9, rom.Header.ApiVersionMajor);
    }

    [Fact]
    public void NonAsciiStrings_AreReadLosslessly()
    {
        var rom = RomReader.Read(Build(i => { i[LicenseAt] = 0xE9; return i; }));
        Assert.Equal("\u00E9PL", rom.License);
    }

    public static TheoryData<string, int, string> Unreadable => new()
    {
        { "short", 143, RomFields.ImageLength },
        { "pci 0", L.PciHeaderOffsetOffset, RomFields.PciHeaderOffs },
        { "pci past the end", L.PciHeaderOffsetOffset, RomFields.PciHeaderOffs },
        { "pnp past the end", L.PnpHeaderOffsetOffset, RomFields.PnpHeaderOffs },
        { "manufacturer past the end", Pnp + L.PnpManufacturerOffsetOffset, RomFields.PnpManufacturerOffs },
        { "product past the end", Pnp + L.PnpProductOffsetOffset, RomFields.PnpProductOffs },
        { "license past the end", L.LicenseOffsetOffset, RomFields.LicenseOffs },
        { "license unterminated", 0x3F0, RomFields.License },
        { "product unterminated", 0x3F0, RomFields.PnpProduct },
    };

    private static byte[] Unreadable_Image(string name) => name switch
    {
        "short" => Build()[..143],
        "pci 0" => Build(i => { PutU16(i, L.PciHeaderOffsetOffset, 0); return i; }),
        "pci past the end" => Build(i => { PutU16(i, L.PciHeaderOffsetOffset, Size - 23); return i; }),
        "pnp past the end" => Build(i => { PutU16(i, L.PnpHeaderOffsetOffset, Size - 17); return i; }),
        "manufacturer past the end" => Build(i => { PutU16(i, Pnp + L.PnpManufacturerOffsetOffset, Size); return i; }),
        "product past the end" => Build(i => { PutU16(i, Pnp + L.PnpProductOffsetOffset, 0xFFFF); return i; }),
        "license past the end" => Build(i => { PutU16(i, L.LicenseOffsetOffset, Size); return i; }),
        "license unterminated" => Build(i => { PutU16(i, L.LicenseOffsetOffset, 0x3F0); FillUnterminated(i, 0x3F0); return i; }),
        "product unterminated" => Build(i => { PutU16(i, Pnp + L.PnpProductOffsetOffset, 0x3F0); FillUnterminated(i, 0x3F0); return i; }),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Unreadable))]
    public void Unreadable_ThrowsRomFormatExceptionNamingTheField(string name, int offset, string field)
    {
        var image = Unreadable_Image(name);
        var e = Assert.Throws<RomFormatException>(() => RomReader.Read(image));
        Assert.Equal(offset, e.Offset);
        Assert.Equal(field, e.Field);
        Assert.StartsWith($"offset 0x{offset:X4}: {field}: ", e.Message, StringComparison.Ordinal);

        Assert.False(RomReader.TryRead(image, out var rom, out var error));
        Assert.Null(rom);
        Assert.Equal(e.Message, error!.Message);
    }

    [Fact]
    public void TryRead_SucceedsOnAValidImage()
    {
        Assert.True(RomReader.TryRead(Build(), out var rom, out var error));
        Assert.NotNull(rom);
        Assert.Null(error);
    }

    [Fact]
    public void Images_AreEqualByContent()
    {
        var a = RomReader.Read(Build());
        var b = RomReader.Read(Build());
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, a with { Bytes = Build(i => { i[0x300] = 1; return i; }) });
    }

    [Fact]
    public void ExceptionMessage_HasOffsetFieldAndMessage() =>
        Assert.Equal("offset 0x001A: pnp_header_offs: oops", new RomFormatException(0x1A, "pnp_header_offs", "oops").Message);
}
