namespace Vmi.Abi;

/// <summary>The 18 bytes of the PnP expansion header the ABI reads ("$PnP" and a reserved byte are implied).</summary>
/// <param name="Length">Header length in 16-byte units (PnP BIOS spec); the checksum covers that many bytes.</param>
/// <param name="Checksum">Makes the header's bytes sum to 0; <see cref="RomWriter.WritePnp"/> computes it.</param>
/// <param name="ManufacturerOffset">Offset of a NUL-terminated manufacturer string; 0 = absent.</param>
/// <param name="ProductOffset">Offset of a NUL-terminated product string; 0 = absent.</param>
public sealed record PnpHeader(
    byte Revision,
    byte Length,
    ushort NextHeader,
    byte Checksum,
    uint DeviceId,
    ushort ManufacturerOffset,
    ushort ProductOffset);
