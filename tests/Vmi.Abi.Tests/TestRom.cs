using System.Buffers.Binary;

namespace Vmi.Abi.Tests;

/// <summary>
/// A valid minimal 1 KiB VMI ROM with every optional part present, each at a known offset, so a test can corrupt
/// exactly one field.
/// </summary>
/// <remarks>
/// Layout: header 0x00..0x8F (rom_entry → <see cref="EntryCode"/>, vmi_init → <see cref="InitCode"/>,
/// get_reloc → <see cref="RelocCode"/>), PCIR at <see cref="Pci"/>, a 32-byte $PnP header at <see cref="Pnp"/>,
/// strings from 0x100, zeros after, checksum in the last byte.
/// </remarks>
internal static class TestRom
{
    public const int Size = 1024;
    public const byte Blocks = 2;
    public const int EntryCode = 0x90;
    public const int InitCode = 0x98;
    public const int RelocCode = 0xA0;
    public const int Pci = 0xB0;
    public const int Pnp = 0xD0;
    public const byte PnpLength = 2;
    public const int ManufacturerAt = 0x100;
    public const int ProductAt = 0x110;
    public const int LicenseAt = 0x120;
    public const string Manufacturer = "vmi project";
    public const string Product = "VMI 3.0 ROM";
    public const string License = "GPL";

    public static readonly RomHeader Header = new(
        RomLength: Blocks,
        RomEntry: RomJumps.EntryJump(EntryCode),
        ApiVersionMinor: 0,
        ApiVersionMajor: 3,
        JumpSlots: 0,
        VirtualTop: 0xFC00_0000,
        LicenseOffset: LicenseAt,
        PciHeaderOffset: Pci,
        PnpHeaderOffset: Pnp);

    public static readonly PciDataStructure PciData = new(
        VendorId: RomLayout.VmwareVendorId,
        DeviceId: RomLayout.VmwareVmiDeviceId,
        VitalProductData: 0,
        StructureLength: RomLayout.PciDataSize,
        Revision: 0,
        ClassCode: 0x08,
        Subclass: 0x80,
        ProgrammingInterface: 0,
        ImageLength: Blocks,
        RevisionLevelMinor: 0,
        RevisionLevelMajor: 1,
        CodeType: RomLayout.PciCodeTypeX86,
        Indicator: RomLayout.PciLastImageFlag);

    // Checksum 0 here: WritePnp computes it.
    public static readonly PnpHeader PnpData = new(
        Revision: 1,
        Length: PnpLength,
        NextHeader: 0,
        Checksum: 0,
        DeviceId: 0,
        ManufacturerOffset: ManufacturerAt,
        ProductOffset: ProductAt);

    /// <summary>The checksum byte WritePnp computes for <see cref="PnpData"/>.</summary>
    public static byte PnpChecksum => RomReader.Read(Build()).Pnp!.Checksum;

    /// <summary>
    /// Builds the valid image, applies <paramref name="mutate"/>, then repairs the checksums <paramref name="repair"/>
    /// names (each only where it can be computed), so only the rule under test stays broken.
    /// </summary>
    public static byte[] Build(Func<byte[], byte[]>? mutate = null, Repair repair = Repair.All)
    {
        var image = new byte[Size];
        RomWriter.WriteHeader(image, Header);
        image[EntryCode] = 0xCB;                                  // retf: the BIOS init entry has nothing to do
        RomJumps.WriteSlotJump(image, RomLayout.VmiInitOffset, InitCode);
        RomJumps.WriteSlotJump(image, RomLayout.GetRelocOffset, RelocCode);
        new byte[] { 0x31, 0xC0, 0xC3 }.CopyTo(image, InitCode);                // xor eax,eax; ret
        new byte[] { 0x31, 0xC0, 0x31, 0xD2, 0xC3 }.CopyTo(image, RelocCode);   // EDX:EAX = 0 (NONE); ret
        RomWriter.WritePci(image, Pci, PciData);
        RomWriter.WritePnp(image, Pnp, PnpData);
        RomWriter.WriteString(image, ManufacturerAt, Manufacturer);
        RomWriter.WriteString(image, ProductAt, Product);
        RomWriter.WriteString(image, LicenseAt, License);
        RomWriter.FixChecksum(image);
        if (mutate is null)
            return image;

        image = mutate(image);
        Refix(image, repair);
        return image;
    }

    /// <summary>Repairs the PnP checksum (when its span fits) and the ROM checksum (when rom_length fits the image).</summary>
    public static void Refix(byte[] image, Repair repair = Repair.All)
    {
        if (image.Length < RomLayout.HeaderSize || repair == Repair.None)
            return;
        int pnp = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(RomLayout.PnpHeaderOffsetOffset));
        if (repair == Repair.All && pnp != 0 && pnp + RomLayout.PnpHeaderSize <= image.Length)
        {
            int span = RomLayout.PnpChecksumSpan(image[pnp + RomLayout.PnpLengthOffset]);
            if (pnp + span <= image.Length)
            {
                image[pnp + RomLayout.PnpChecksumOffset] = 0;
                image[pnp + RomLayout.PnpChecksumOffset] = (byte)-RomWriter.Checksum(image.AsSpan(pnp, span));
            }
        }
        int size = image[RomLayout.RomLengthOffset] * RomLayout.BlockSize;
        if (size != 0 && size <= image.Length)
            RomWriter.FixChecksum(image);
    }

    public static void PutU16(byte[] image, int at, int value) => BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(at), (ushort)value);

    public static void PutI32(byte[] image, int at, int value) => BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan(at), value);

    /// <summary>
    /// Fills from <paramref name="start"/> to the end with 'A's and repairs the checksum so the image's last byte
    /// (the checksum byte) is non-zero: a string starting at <paramref name="start"/> then has no NUL.
    /// </summary>
    public static void FillUnterminated(byte[] image, int start)
    {
        image.AsSpan(start).Fill((byte)'A');
        Refix(image);
        if (image[^1] == 0)
        {
            image[start] = (byte)'B';
            Refix(image);
        }
    }

    public static byte[] Extend(byte[] image, int newLength)
    {
        var bigger = new byte[newLength];
        image.AsSpan(0, Math.Min(image.Length, newLength)).CopyTo(bigger);
        return bigger;
    }
}

/// <summary>Which checksums <see cref="TestRom.Build"/> repairs after a mutation.</summary>
internal enum Repair
{
    None,
    RomChecksum,
    All,
}
