using System.Buffers.Binary;
using static Vmi.Abi.RomLayout;

namespace Vmi.Abi;

// The structures the header points at: the PCI data structure, the PnP header, and the strings.
public static partial class RomValidator
{
    private static void CheckPci(ReadOnlySpan<byte> image, RomHeader header, List<RomViolation> v)
    {
        int at = header.PciHeaderOffset;
        if (at == 0)
        {
            // The kernel's last discovery check: a ROM without a PCI data structure is not taken.
            v.Add(new(PciHeaderOffsetOffset, RomFields.PciHeaderOffs, "is 0; the PCI data structure is required"));
            return;
        }
        if (at % PciDataAlignment != 0)
            v.Add(new(PciHeaderOffsetOffset, RomFields.PciHeaderOffs, $"0x{at:X4} is not DWORD aligned (PCI firmware spec)"));
        if (at + PciDataSize > image.Length)
        {
            v.Add(new(PciHeaderOffsetOffset, RomFields.PciHeaderOffs, RomReader.OutOfRange(at, PciDataSize, image.Length)));
            return;
        }

        uint signature = BinaryPrimitives.ReadUInt32LittleEndian(image[at..]);
        if (signature != PciSignature)
            v.Add(new(at + PciSignatureOffset, RomFields.PciSignature, $"is 0x{signature:X8}, must be \"PCIR\" (0x{PciSignature:X8})"));

        var pci = RomReader.DecodePci(image, at);
        if (pci.StructureLength != PciDataSize)
            v.Add(new(at + PciStructureLengthOffset, RomFields.PciStructureLength, $"is {pci.StructureLength}, must be {PciDataSize}"));
        if (pci.ImageLength != header.RomLength)
            v.Add(new(at + PciImageLengthOffset, RomFields.PciImageLength, $"is {pci.ImageLength} blocks, but rom_length is {header.RomLength}"));
        if (pci.CodeType != PciCodeTypeX86)
            v.Add(new(at + PciCodeTypeOffset, RomFields.PciCodeType, $"is {pci.CodeType}, must be {PciCodeTypeX86} (x86)"));
        if ((pci.Indicator & PciLastImageFlag) == 0)
            v.Add(new(at + PciIndicatorOffset, RomFields.PciIndicator, $"is 0x{pci.Indicator:X2}; bit 7 (last image) must be set"));
    }

    private static void CheckPnp(ReadOnlySpan<byte> image, RomHeader header, List<RomViolation> v)
    {
        int at = header.PnpHeaderOffset;
        if (at == 0)
            return; // optional in the ABI
        if (at + PnpHeaderSize > image.Length)
        {
            v.Add(new(PnpHeaderOffsetOffset, RomFields.PnpHeaderOffs, RomReader.OutOfRange(at, PnpHeaderSize, image.Length)));
            return;
        }

        uint signature = BinaryPrimitives.ReadUInt32LittleEndian(image[at..]);
        if (signature != PnpSignature)
            v.Add(new(at + PnpSignatureOffset, RomFields.PnpSignature, $"is 0x{signature:X8}, must be \"$PnP\" (0x{PnpSignature:X8})"));

        var pnp = RomReader.DecodePnp(image, at);
        int span = PnpChecksumSpan(pnp.Length);
        if (pnp.Length * PnpLengthUnit < PnpHeaderSize)
            v.Add(new(at + PnpLengthOffset, RomFields.PnpLength, $"is {pnp.Length} (× 16 bytes); the header is at least {PnpHeaderSize} bytes"));
        else if (at + span > image.Length)
            v.Add(new(at + PnpLengthOffset, RomFields.PnpLength, RomReader.OutOfRange(at, span, image.Length)));

        // The PnP spec: the header's bytes (length × 16 of them) sum to 0.
        if (at + span <= image.Length)
        {
            byte sum = RomWriter.Checksum(image.Slice(at, span));
            if (sum != 0)
                v.Add(new(at + PnpChecksumOffset, RomFields.PnpChecksum, $"the header's {span} bytes sum to 0x{sum:X2}, must be 0x00"));
        }

        CheckString(image, pnp.ManufacturerOffset, at + PnpManufacturerOffsetOffset, RomFields.PnpManufacturerOffs, RomFields.PnpManufacturer, v);
        CheckString(image, pnp.ProductOffset, at + PnpProductOffsetOffset, RomFields.PnpProductOffs, RomFields.PnpProduct, v);
    }

    // An offset field (0 = absent) must point inside the image at a NUL-terminated, printable ASCII string.
    private static void CheckString(ReadOnlySpan<byte> image, int offset, int fieldAt, string offsetField, string stringField, List<RomViolation> v)
    {
        if (offset == 0)
            return;
        switch (RomStrings.Locate(image, offset, out int length))
        {
            case StringStatus.OutOfRange:
                v.Add(new(fieldAt, offsetField, $"0x{offset:X4} lies outside the {image.Length}-byte image"));
                return;
            case StringStatus.Unterminated:
                v.Add(new(offset, stringField, "string is not NUL-terminated within the image"));
                return;
        }
        int bad = RomStrings.FirstNonPrintable(image.Slice(offset, length));
        if (bad >= 0)
            v.Add(new(offset + bad, stringField, $"byte 0x{image[offset + bad]:X2} is not printable ASCII"));
    }
}
