using static Vmi.Abi.Tests.TestRom;
using F = Vmi.Abi.RomFields;
using L = Vmi.Abi.RomLayout;

namespace Vmi.Abi.Tests;

public sealed class RomValidatorTests
{
    /// <summary>One corruption per rule: what to break, the field and offset that must be reported, and which other fields may also be (the unavoidable knock-on effects).</summary>
    private sealed record Corruption(Func<byte[], byte[]> Mutate, string Field, int Offset, Repair Repair = Repair.All, params string[] AlsoAllowed);

    private static byte[] Set(byte[] image, int at, byte value)
    {
        image[at] = value;
        return image;
    }

    private static byte[] SetU16(byte[] image, int at, int value)
    {
        PutU16(image, at, value);
        return image;
    }

    private static byte[] Do(byte[] image, Action<byte[]> action)
    {
        action(image);
        return image;
    }

    private const int PnpMfrField = Pnp + L.PnpManufacturerOffsetOffset;
    private const int PnpProductField = Pnp + L.PnpProductOffsetOffset;
    private const int Unterminated = 0x3F0;

    private static readonly Dictionary<string, Corruption> Cases = new()
    {
        ["image shorter than the header"] = new(i => i[..(L.HeaderSize - 1)], F.ImageLength, L.HeaderSize - 1),
        ["rom_signature"] = new(i => Set(i, 1, 0xAB), F.RomSignature, 0x00),
        ["vrom_signature"] = new(i => Set(i, L.VromSignatureOffset + 3, (byte)'j'), F.VromSignature, 0x08),
        ["api_version_maj 2"] = new(i => Set(i, L.ApiVersionMajorOffset, 2), F.ApiVersionMaj, 0x0D),
        ["api_version_maj 4"] = new(i => Set(i, L.ApiVersionMajorOffset, 4), F.ApiVersionMaj, 0x0D),
        ["rom_length 0"] = new(i => SetU16(Set(i, 2, 0), Pci + L.PciImageLengthOffset, 0), F.RomLength, 0x02),
        ["rom_length beyond the file"] = new(i => SetU16(Set(i, 2, 3), Pci + L.PciImageLengthOffset, 3), F.RomLength, 0x02),
        ["file beyond rom_length"] = new(i => Extend(i, Size + 512), F.RomLength, 0x02),
        ["image not whole blocks"] = new(i => Extend(i, Size + 1), F.ImageLength, Size + 1, Repair.All, F.RomLength),
        ["image over 128 KiB"] = new(i => SetU16(Set(Extend(i, L.MaxImageSize + 512), 2, 255), Pci + L.PciImageLengthOffset, 255), F.ImageLength, L.MaxImageSize, Repair.All, F.RomLength),
        ["checksum"] = new(i => Set(i, 0x200, 1), F.Checksum, Size - 1, Repair.None),
        ["rom_entry not a jump"] = new(i => Set(i, L.RomEntryOffset, 0x90), F.RomEntry, 0x03),
        ["rom_entry E9 outside"] = new(i => SetU16(i, L.RomEntryOffset + 1, Size - 6), F.RomEntry, 0x03),
        ["rom_entry EB wraps below 0"] = new(i => Set(Set(i, L.RomEntryOffset, 0xEB), L.RomEntryOffset + 1, 0x80), F.RomEntry, 0x03),
        ["vmi_init not a jump"] = new(i => Set(i, L.VmiInitOffset, 0xE8), F.VmiInit, 0x80),
        ["vmi_init outside"] = new(i => Do(i, x => PutI32(x, L.VmiInitOffset + 1, Size)), F.VmiInit, 0x80),
        ["get_reloc not a jump"] = new(i => Set(i, L.GetRelocOffset, 0xC3), F.GetReloc, 0x88),
        ["get_reloc below the image"] = new(i => Do(i, x => PutI32(x, L.GetRelocOffset + 1, -0x100)), F.GetReloc, 0x88),
        ["get_reloc one past the end"] = new(i => Do(i, x => PutI32(x, L.GetRelocOffset + 1, Size - (L.GetRelocOffset + 5))), F.GetReloc, 0x88),
        ["pci_header_offs 0"] = new(i => SetU16(i, L.PciHeaderOffsetOffset, 0), F.PciHeaderOffs, 0x18),
        ["pci_header_offs misaligned"] = new(i => Do(i, x => { x.AsSpan(Pci, L.PciDataSize).CopyTo(x.AsSpan(0x1F2)); PutU16(x, L.PciHeaderOffsetOffset, 0x1F2); }), F.PciHeaderOffs, 0x18),
        ["pci_header_offs past the end"] = new(i => SetU16(i, L.PciHeaderOffsetOffset, Size - 20), F.PciHeaderOffs, 0x18),
        ["pci_header_offs 0xFFFF"] = new(i => SetU16(i, L.PciHeaderOffsetOffset, 0xFFFF), F.PciHeaderOffs, 0x18),
        ["pci.signature"] = new(i => Set(i, Pci + 3, (byte)'X'), F.PciSignature, Pci),
        ["pci.structure_length"] = new(i => SetU16(i, Pci + L.PciStructureLengthOffset, 26), F.PciStructureLength, Pci + 10),
        ["pci.image_length"] = new(i => SetU16(i, Pci + L.PciImageLengthOffset, 1), F.PciImageLength, Pci + 16),
        ["pci.code_type"] = new(i => Set(i, Pci + L.PciCodeTypeOffset, 1), F.PciCodeType, Pci + 20),
        ["pci.indicator"] = new(i => Set(i, Pci + L.PciIndicatorOffset, 0x7F), F.PciIndicator, Pci + 21),
        ["pnp_header_offs past the end"] = new(i => SetU16(i, L.PnpHeaderOffsetOffset, Size - 17), F.PnpHeaderOffs, 0x1A),
        ["pnp.signature"] = new(i => Set(i, Pnp + 1, (byte)'p'), F.PnpSignature, Pnp),
        ["pnp.checksum"] = new(i => Set(i, Pnp + L.PnpChecksumOffset, (byte)(PnpChecksum + 1)), F.PnpChecksum, Pnp + 9, Repair.RomChecksum),
        ["pnp.checksum covers length × 16 bytes"] = new(i => Set(i, Pnp + 30, 0x55), F.PnpChecksum, Pnp + 9, Repair.RomChecksum),
        ["pnp.length 1 (16 bytes)"] = new(i => Set(i, Pnp + L.PnpLengthOffset, 1), F.PnpLength, Pnp + 5),
        ["pnp.length past the end"] = new(i => Set(i, Pnp + L.PnpLengthOffset, 255), F.PnpLength, Pnp + 5),
        ["pnp.manufacturer_offs past the end"] = new(i => SetU16(i, PnpMfrField, Size), F.PnpManufacturerOffs, PnpMfrField),
        ["pnp.manufacturer unterminated"] = new(i => Do(SetU16(i, PnpMfrField, Unterminated), x => FillUnterminated(x, Unterminated)), F.PnpManufacturer, Unterminated),
        ["pnp.manufacturer not printable"] = new(i => Set(i, ManufacturerAt + 3, 0x07), F.PnpManufacturer, ManufacturerAt + 3),
        ["pnp.product_offs past the end"] = new(i => SetU16(i, PnpProductField, 0xFFFF), F.PnpProductOffs, PnpProductField),
        ["pnp.product unterminated"] = new(i => Do(SetU16(i, PnpProductField, Unterminated), x => FillUnterminated(x, Unterminated)), F.PnpProduct, Unterminated),
        ["pnp.product not printable"] = new(i => Set(i, ProductAt, 0xC3), F.PnpProduct, ProductAt),
        ["license_offs past the end"] = new(i => SetU16(i, L.LicenseOffsetOffset, Size + 5), F.LicenseOffs, 0x16),
        ["license unterminated"] = new(i => Do(SetU16(i, L.LicenseOffsetOffset, Unterminated), x => FillUnterminated(x, Unterminated)), F.License, Unterminated),
        ["license not printable"] = new(i => Set(i, LicenseAt + 1, (byte)'\n'), F.License, LicenseAt + 1),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Fact]
    public void ValidImage_HasNoViolations() => Assert.Empty(RomValidator.Validate(Build()));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void EachRule_IsReportedWithItsFieldAndOffset(string name)
    {
        var c = Cases[name];
        var violations = RomValidator.Validate(Build(c.Mutate, c.Repair));

        Assert.Contains(violations, x => x.Field == c.Field && x.Offset == c.Offset);
        var allowed = c.AlsoAllowed.Append(c.Field).ToHashSet();
        Assert.All(violations, x => Assert.Contains(x.Field, allowed));
    }

    [Fact]
    public void EveryField_HasACorruptionCase()
    {
        var covered = Cases.Values.Select(c => c.Field).ToHashSet();
        var all = typeof(RomFields).GetFields().Select(f => (string)f.GetValue(null)!);
        Assert.All(all, f => Assert.Contains(f, covered));
    }

    [Fact]
    public void ShortImage_IsTheOnlyViolation()
    {
        var v = Assert.Single(RomValidator.Validate(Build()[..100]));
        Assert.Equal(new RomViolation(100, RomFields.ImageLength, "image is 100 bytes; the ROM header alone is 144"), v);
    }

    [Fact]
    public void EmptyImage_IsOneViolation() => Assert.Single(RomValidator.Validate([]));

    [Fact]
    public void SeveralBrokenRules_AreAllReported()
    {
        var image = Build(i =>
        {
            i[0] = 0;                                  // rom_signature
            i[L.ApiVersionMajorOffset] = 1;            // api_version_maj
            i[Pci + L.PciCodeTypeOffset] = 3;          // pci.code_type
            i[L.GetRelocOffset] = 0x90;                // get_reloc
            return i;
        });
        var fields = RomValidator.Validate(image).Select(v => v.Field).ToArray();
        Assert.Equal([F.RomSignature, F.ApiVersionMaj, F.GetReloc, F.PciCodeType], fields);
    }

    [Fact]
    public void ShortJumps_AreAccepted()
    {
        var image = Build(i =>
        {
            i[L.RomEntryOffset] = 0xEB;                // jmp $ (a real-mode EB rel8 cannot reach past 0x84)
            i[L.RomEntryOffset + 1] = 0xFE;
            i[L.VmiInitOffset] = 0xEB;
            i[L.VmiInitOffset + 1] = InitCode - (L.VmiInitOffset + 2);
            i[L.GetRelocOffset] = 0xEB;
            i[L.GetRelocOffset + 1] = RelocCode - (L.GetRelocOffset + 2);
            return i;
        });
        Assert.Empty(RomValidator.Validate(image));
    }

    [Fact]
    public void AbsentOptionalParts_AreAccepted()
    {
        var image = Build(i =>
        {
            PutU16(i, L.PnpHeaderOffsetOffset, 0);
            PutU16(i, L.LicenseOffsetOffset, 0);
            return i;
        });
        Assert.Empty(RomValidator.Validate(image));
    }

    [Fact]
    public void AbsentPnpStrings_AreAccepted() =>
        Assert.Empty(RomValidator.Validate(Build(i => SetU16(SetU16(i, PnpMfrField, 0), PnpProductField, 0))));

    [Fact]
    public void LargestRom_IsAccepted()
    {
        var image = Build(i => SetU16(Set(Extend(i, 255 * 512), 2, 255), Pci + L.PciImageLengthOffset, 255));
        Assert.Empty(RomValidator.Validate(image));
    }

    [Fact]
    public void Violation_FormatsOffsetFieldMessage() =>
        Assert.Equal("offset 0x0018: pci_header_offs: is 0; the PCI data structure is required",
            RomValidator.Validate(Build(i => SetU16(i, L.PciHeaderOffsetOffset, 0))).Single().ToString());
}
