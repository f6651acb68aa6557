using System.Buffers.Binary;
using static Vmi.Abi.RomLayout;

namespace Vmi.Abi;

/// <summary>Writes the ROM's structures into an image buffer. Call <see cref="FixChecksum"/> last.</summary>
public static class RomWriter
{
    /// <summary>
    /// Writes the header fields and both signatures, and zeroes the header's pad and reserved bytes (0x07, 0x0F,
    /// 0x14, 0x1C..0x7F). The entry slots at 0x80 and 0x88 are code and are left alone (see <see cref="RomJumps.WriteSlotJump"/>).
    /// </summary>
    public static void WriteHeader(Span<byte> image, RomHeader h)
    {
        Require(image, 0, HeaderSize, "ROM header");
        BinaryPrimitives.WriteUInt16LittleEndian(image[RomSignatureOffset..], RomSignature);
        image[RomLengthOffset] = h.RomLength;
        BinaryPrimitives.WriteUInt32LittleEndian(image[RomEntryOffset..], h.RomEntry);
        image[RomEntryPadOffset] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(image[VromSignatureOffset..], VromSignature);
        image[ApiVersionMinorOffset] = h.ApiVersionMinor;
        image[ApiVersionMajorOffset] = h.ApiVersionMajor;
        image[JumpSlotsOffset] = h.JumpSlots;
        image[Reserved0FOffset] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(image[VirtualTopOffset..], h.VirtualTop);
        BinaryPrimitives.WriteUInt16LittleEndian(image[Reserved14Offset..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(image[LicenseOffsetOffset..], h.LicenseOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(image[PciHeaderOffsetOffset..], h.PciHeaderOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(image[PnpHeaderOffsetOffset..], h.PnpHeaderOffset);
        image[Pad1COffset..VmiInitOffset].Clear();
    }

    /// <summary>Writes "PCIR" and the fields at <paramref name="offset"/> (the reserved u16 as 0).</summary>
    public static void WritePci(Span<byte> image, int offset, PciDataStructure p)
    {
        Require(image, offset, PciDataSize, "PCI data structure");
        var s = image.Slice(offset, PciDataSize);
        BinaryPrimitives.WriteUInt32LittleEndian(s[PciSignatureOffset..], PciSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(s[PciVendorIdOffset..], p.VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(s[PciDeviceIdOffset..], p.DeviceId);
        BinaryPrimitives.WriteUInt16LittleEndian(s[PciVitalProductDataOffset..], p.VitalProductData);
        BinaryPrimitives.WriteUInt16LittleEndian(s[PciStructureLengthOffset..], p.StructureLength);
        s[PciRevisionOffset] = p.Revision;
        s[PciClassCodeOffset] = p.ClassCode;
        s[PciSubclassOffset] = p.Subclass;
        s[PciProgrammingInterfaceOffset] = p.ProgrammingInterface;
        BinaryPrimitives.WriteUInt16LittleEndian(s[PciImageLengthOffset..], p.ImageLength);
        s[PciRevisionLevelMinorOffset] = p.RevisionLevelMinor;
        s[PciRevisionLevelMajorOffset] = p.RevisionLevelMajor;
        s[PciCodeTypeOffset] = p.CodeType;
        s[PciIndicatorOffset] = p.Indicator;
        BinaryPrimitives.WriteUInt16LittleEndian(s[PciReservedOffset..], 0);
    }

    /// <summary>
    /// Writes "$PnP" and the fields at <paramref name="offset"/>, ignoring <see cref="PnpHeader.Checksum"/>: the
    /// checksum is computed so that the header's <see cref="RomLayout.PnpChecksumSpan"/> bytes sum to 0 (PnP BIOS
    /// spec). When Length exceeds 1, the bytes past the first 18 are part of the sum: write them first.
    /// </summary>
    public static void WritePnp(Span<byte> image, int offset, PnpHeader p)
    {
        int span = PnpChecksumSpan(p.Length);
        Require(image, offset, span, $"PnP header (length {p.Length} × 16)");
        var s = image.Slice(offset, span);
        BinaryPrimitives.WriteUInt32LittleEndian(s[PnpSignatureOffset..], PnpSignature);
        s[PnpRevisionOffset] = p.Revision;
        s[PnpLengthOffset] = p.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(s[PnpNextHeaderOffset..], p.NextHeader);
        s[PnpReservedOffset] = 0;
        s[PnpChecksumOffset] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(s[PnpDeviceIdOffset..], p.DeviceId);
        BinaryPrimitives.WriteUInt16LittleEndian(s[PnpManufacturerOffsetOffset..], p.ManufacturerOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(s[PnpProductOffsetOffset..], p.ProductOffset);
        s[PnpChecksumOffset] = (byte)-Checksum(s);
    }

    /// <summary>Writes <paramref name="s"/> as NUL-terminated ASCII; returns the bytes written (length + 1).</summary>
    /// <exception cref="ArgumentException">A character is not printable ASCII (the validator's rule for ROM strings).</exception>
    public static int WriteString(Span<byte> image, int offset, string s)
    {
        Require(image, offset, s.Length + 1, $"string \"{s}\"");
        for (int i = 0; i < s.Length; i++)
        {
            if (!RomStrings.IsPrintable(s[i]))
                throw new ArgumentException($"character {i} (U+{(int)s[i]:X4}) is not printable ASCII", nameof(s));
            image[offset + i] = (byte)s[i];
        }
        image[offset + s.Length] = 0;
        return s.Length + 1;
    }

    /// <summary>The 8-bit sum of <paramref name="bytes"/>.</summary>
    public static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
            sum += b;
        return sum;
    }

    /// <summary>
    /// Sets the last byte of the first rom_length * 512 bytes so they sum to 0 (the option-ROM checksum the BIOS
    /// and our kernel verify).
    /// </summary>
    /// <exception cref="ArgumentException">rom_length is 0 or declares more bytes than the image has.</exception>
    public static void FixChecksum(Span<byte> image)
    {
        if (image.Length <= RomLengthOffset)
            throw new ArgumentException("image has no rom_length byte", nameof(image));
        int size = image[RomLengthOffset] * BlockSize;
        if (size == 0 || size > image.Length)
            throw new ArgumentException($"rom_length {image[RomLengthOffset]} declares {size} bytes; the image has {image.Length}", nameof(image));
        image[size - 1] = 0;
        image[size - 1] = (byte)-Checksum(image[..size]);
    }

    private static void Require(Span<byte> image, int offset, int size, string what)
    {
        if (offset < 0 || (long)offset + size > image.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"{what} ({size} bytes) does not fit in the {image.Length}-byte image");
    }
}
