namespace Vmi.Abi;

/// <summary>Offsets and constants of the VMI 3.0 option ROM: the 144-byte header, the PCI data structure and the PnP header.</summary>
/// <remarks>All multi-byte fields are little-endian; the header is packed.</remarks>
public static class RomLayout
{
    // ---- Header (API 3.0, 144 bytes) ----
    public const int HeaderSize = 144;

    /// <summary>rom_signature: bytes 55 AA, the PC option-ROM mark.</summary>
    public const ushort RomSignature = 0xAA55;

    /// <summary>vrom_signature: bytes "cVmi".</summary>
    public const uint VromSignature = 0x696d5663;

    /// <summary>The kernel accepts any minor version of API 3 (minor grows when calls are appended).</summary>
    public const int ApiVersionMajor = 3;

    public const int RomSignatureOffset = 0x00;
    public const int RomLengthOffset = 0x02;
    public const int RomEntryOffset = 0x03;
    public const int RomEntrySize = 4;
    public const int RomEntryPadOffset = 0x07;
    public const int VromSignatureOffset = 0x08;
    public const int ApiVersionMinorOffset = 0x0C;
    public const int ApiVersionMajorOffset = 0x0D;
    public const int JumpSlotsOffset = 0x0E;
    public const int Reserved0FOffset = 0x0F;
    public const int VirtualTopOffset = 0x10;
    public const int Reserved14Offset = 0x14;
    public const int LicenseOffsetOffset = 0x16;
    public const int PciHeaderOffsetOffset = 0x18;
    public const int PnpHeaderOffsetOffset = 0x1A;
    public const int Pad1COffset = 0x1C;
    public const int ReservedOffset = 0x20;
    public const int ReservedSize = 96;
    public const int VmiInitOffset = 0x80;
    public const int GetRelocOffset = 0x88;
    public const int EntrySlotSize = 8;

    // ---- Image ----
    /// <summary>rom_length counts 512-byte blocks.</summary>
    public const int BlockSize = 512;

    /// <summary>The option-ROM window 0xC0000..0xDFFFF is 128 KiB; no ROM can be larger.</summary>
    public const int MaxImageSize = (int)(ScanEnd - ScanStart);

    /// <summary>The kernel scans <c>base = ScanStart; base &lt; ScanEnd; base += ScanStep</c>.</summary>
    public const uint ScanStart = 0xC0000, ScanEnd = 0xE0000, ScanStep = 2048;

    // ---- PCI data structure (24 bytes) ----
    public const int PciDataSize = 24;

    /// <summary>"PCIR" as a little-endian u32.</summary>
    public const uint PciSignature = 0x52494350;

    /// <summary>The PCI firmware spec requires the PCI data structure to be DWORD aligned.</summary>
    public const int PciDataAlignment = 4;

    public const int PciSignatureOffset = 0;
    public const int PciVendorIdOffset = 4;
    public const int PciDeviceIdOffset = 6;
    public const int PciVitalProductDataOffset = 8;
    public const int PciStructureLengthOffset = 10;
    public const int PciRevisionOffset = 12;

    // The ABI document lists class @13, subclass @14, interface @15, and we follow it. Note that the PCI
    // firmware spec stores the 3-byte class code low byte first (interface @13, base class @15).
    public const int PciClassCodeOffset = 13;
    public const int PciSubclassOffset = 14;
    public const int PciProgrammingInterfaceOffset = 15;
    public const int PciImageLengthOffset = 16;
    public const int PciRevisionLevelMinorOffset = 18;
    public const int PciRevisionLevelMajorOffset = 19;
    public const int PciCodeTypeOffset = 20;
    public const int PciIndicatorOffset = 21;
    public const int PciReservedOffset = 22;

    /// <summary>Code type 0: Intel x86 (PC-AT compatible).</summary>
    public const byte PciCodeTypeX86 = 0;

    /// <summary>Indicator bit 7: this is the last image in the ROM.</summary>
    public const byte PciLastImageFlag = 0x80;

    /// <summary>VMware's PCI vendor and device id in its VMI ROM (a mismatch was only a warning in Linux).</summary>
    public const ushort VmwareVendorId = 0x15AD, VmwareVmiDeviceId = 0x0801;

    // ---- PnP expansion header (the 18 bytes the ABI defines) ----
    public const int PnpHeaderSize = 18;

    /// <summary>"$PnP" as a little-endian u32.</summary>
    public const uint PnpSignature = 0x506E5024;

    /// <summary>The PnP header's length field counts 16-byte units (PnP BIOS spec).</summary>
    public const int PnpLengthUnit = 16;

    public const int PnpSignatureOffset = 0;
    public const int PnpRevisionOffset = 4;
    public const int PnpLengthOffset = 5;
    public const int PnpNextHeaderOffset = 6;
    public const int PnpReservedOffset = 8;
    public const int PnpChecksumOffset = 9;
    public const int PnpDeviceIdOffset = 10;
    public const int PnpManufacturerOffsetOffset = 14;
    public const int PnpProductOffsetOffset = 16;

    /// <summary>
    /// The bytes the PnP checksum covers: the PnP spec sums the whole expansion header,
    /// <c>length * 16</c> bytes, but never fewer than the 18 bytes the ABI reads.
    /// </summary>
    public static int PnpChecksumSpan(byte length) => Math.Max(length * PnpLengthUnit, PnpHeaderSize);
}
