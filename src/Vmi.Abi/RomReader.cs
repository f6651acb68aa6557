using System.Buffers.Binary;
using System.Text;
using static Vmi.Abi.RomLayout;

namespace Vmi.Abi;

/// <summary>
/// Parses a ROM image into its structures. It only refuses what it cannot read (too short, offsets out of range,
/// unterminated strings); whether the ROM is acceptable is <see cref="RomValidator"/>'s question.
/// </summary>
public static class RomReader
{
    /// <summary>Parses <paramref name="image"/>; throws only <see cref="RomFormatException"/>.</summary>
    public static VmiRomImage Read(ReadOnlySpan<byte> image)
    {
        if (image.Length < HeaderSize)
            throw new RomFormatException(image.Length, RomFields.ImageLength, $"image is {image.Length} bytes; the ROM header alone is {HeaderSize}");

        var header = DecodeHeader(image);

        // The ABI requires a PCI data structure (pci_header_offs != 0), so an image without one has no Pci to return.
        if (header.PciHeaderOffset == 0)
            throw new RomFormatException(PciHeaderOffsetOffset, RomFields.PciHeaderOffs, "is 0; the PCI data structure is required");
        if (header.PciHeaderOffset + PciDataSize > image.Length)
            throw new RomFormatException(PciHeaderOffsetOffset, RomFields.PciHeaderOffs, OutOfRange(header.PciHeaderOffset, PciDataSize, image.Length));
        var pci = DecodePci(image, header.PciHeaderOffset);

        PnpHeader? pnp = null;
        string? manufacturer = null, product = null;
        if (header.PnpHeaderOffset != 0)
        {
            int at = header.PnpHeaderOffset;
            if (at + PnpHeaderSize > image.Length)
                throw new RomFormatException(PnpHeaderOffsetOffset, RomFields.PnpHeaderOffs, OutOfRange(at, PnpHeaderSize, image.Length));
            pnp = DecodePnp(image, at);
            manufacturer = ReadOptionalString(image, pnp.ManufacturerOffset, at + PnpManufacturerOffsetOffset, RomFields.PnpManufacturerOffs, RomFields.PnpManufacturer);
            product = ReadOptionalString(image, pnp.ProductOffset, at + PnpProductOffsetOffset, RomFields.PnpProductOffs, RomFields.PnpProduct);
        }

        var license = ReadOptionalString(image, header.LicenseOffset, LicenseOffsetOffset, RomFields.LicenseOffs, RomFields.License);
        return new VmiRomImage(image.ToArray(), header, pci, pnp, license, manufacturer, product);
    }

    /// <summary>Like <see cref="Read"/>, returning the <see cref="RomFormatException"/> instead of throwing it.</summary>
    public static bool TryRead(ReadOnlySpan<byte> image, out VmiRomImage? rom, out RomFormatException? error)
    {
        try
        {
            rom = Read(image);
            error = null;
            return true;
        }
        catch (RomFormatException e)
        {
            rom = null;
            error = e;
            return false;
        }
    }

    /// <summary>Decodes the header fields; <paramref name="image"/> holds at least <see cref="RomLayout.HeaderSize"/> bytes.</summary>
    internal static RomHeader DecodeHeader(ReadOnlySpan<byte> image) => new(
        RomLength: image[RomLengthOffset],
        RomEntry: U32(image, RomEntryOffset),
        ApiVersionMinor: image[ApiVersionMinorOffset],
        ApiVersionMajor: image[ApiVersionMajorOffset],
        JumpSlots: image[JumpSlotsOffset],
        VirtualTop: U32(image, VirtualTopOffset),
        LicenseOffset: U16(image, LicenseOffsetOffset),
        PciHeaderOffset: U16(image, PciHeaderOffsetOffset),
        PnpHeaderOffset: U16(image, PnpHeaderOffsetOffset));

    /// <summary>Decodes the PCI data structure at <paramref name="at"/>; all 24 bytes are in range.</summary>
    internal static PciDataStructure DecodePci(ReadOnlySpan<byte> image, int at)
    {
        var p = image.Slice(at, PciDataSize);
        return new PciDataStructure(
            VendorId: U16(p, PciVendorIdOffset),
            DeviceId: U16(p, PciDeviceIdOffset),
            VitalProductData: U16(p, PciVitalProductDataOffset),
            StructureLength: U16(p, PciStructureLengthOffset),
            Revision: p[PciRevisionOffset],
            ClassCode: p[PciClassCodeOffset],
            Subclass: p[PciSubclassOffset],
            ProgrammingInterface: p[PciProgrammingInterfaceOffset],
            ImageLength: U16(p, PciImageLengthOffset),
            RevisionLevelMinor: p[PciRevisionLevelMinorOffset],
            RevisionLevelMajor: p[PciRevisionLevelMajorOffset],
            CodeType: p[PciCodeTypeOffset],
            Indicator: p[PciIndicatorOffset]);
    }

    /// <summary>Decodes the PnP header at <paramref name="at"/>; all 18 bytes are in range.</summary>
    internal static PnpHeader DecodePnp(ReadOnlySpan<byte> image, int at)
    {
        var p = image.Slice(at, PnpHeaderSize);
        return new PnpHeader(
            Revision: p[PnpRevisionOffset],
            Length: p[PnpLengthOffset],
            NextHeader: U16(p, PnpNextHeaderOffset),
            Checksum: p[PnpChecksumOffset],
            DeviceId: U32(p, PnpDeviceIdOffset),
            ManufacturerOffset: U16(p, PnpManufacturerOffsetOffset),
            ProductOffset: U16(p, PnpProductOffsetOffset));
    }

    internal static string OutOfRange(int offset, int size, int imageLength) =>
        $"0x{offset:X4} + {size} bytes runs past the end of the {imageLength}-byte image";

    /// <summary>
    /// Reads the string an offset field points at (0 = absent). Decoded as Latin-1 so no byte is lost;
    /// the validator, not the reader, insists on printable ASCII.
    /// </summary>
    private static string? ReadOptionalString(ReadOnlySpan<byte> image, int offset, int fieldAt, string offsetField, string stringField)
    {
        if (offset == 0)
            return null;
        switch (RomStrings.Locate(image, offset, out int length))
        {
            case StringStatus.OutOfRange:
                throw new RomFormatException(fieldAt, offsetField, $"0x{offset:X4} lies outside the {image.Length}-byte image");
            case StringStatus.Unterminated:
                throw new RomFormatException(offset, stringField, "string is not NUL-terminated within the image");
            default:
                return Encoding.Latin1.GetString(image.Slice(offset, length));
        }
    }

    private static ushort U16(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt16LittleEndian(s[at..]);

    private static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);
}
