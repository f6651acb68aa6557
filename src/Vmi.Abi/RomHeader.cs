namespace Vmi.Abi;

/// <summary>The fields of the 144-byte ROM header (the signatures are implied; reserved and pad bytes are not kept).</summary>
/// <param name="RomLength">Image length in 512-byte blocks.</param>
/// <param name="RomEntry">The 4 bytes at 0x03, little-endian: the real-mode option-ROM init entry (code, normally a jump).</param>
/// <param name="VirtualTop">The kernel must not use virtual addresses at or above this; the hypervisor owns them.</param>
/// <param name="LicenseOffset">Offset of a NUL-terminated license string; 0 = unspecified.</param>
/// <param name="PciHeaderOffset">Offset of the "PCIR" structure; must be non-zero.</param>
/// <param name="PnpHeaderOffset">Offset of the "$PnP" header; 0 = absent.</param>
public sealed record RomHeader(
    byte RomLength,
    uint RomEntry,
    byte ApiVersionMinor,
    byte ApiVersionMajor,
    byte JumpSlots,
    uint VirtualTop,
    ushort LicenseOffset,
    ushort PciHeaderOffset,
    ushort PnpHeaderOffset)
{
    /// <summary>The image size rom_length declares, in bytes.</summary>
    public int ImageSize => RomLength * RomLayout.BlockSize;
}
