namespace Vmi.Abi;

/// <summary>The 24-byte PCI data structure ("PCIR" and a reserved u16 are implied).</summary>
/// <param name="StructureLength">The structure's own length in bytes (24).</param>
/// <param name="ImageLength">Image length in 512-byte blocks (must equal rom_length).</param>
/// <param name="CodeType">0 = x86.</param>
/// <param name="Indicator">Bit 7 set = last image.</param>
public sealed record PciDataStructure(
    ushort VendorId,
    ushort DeviceId,
    ushort VitalProductData,
    ushort StructureLength,
    byte Revision,
    byte ClassCode,
    byte Subclass,
    byte ProgrammingInterface,
    ushort ImageLength,
    byte RevisionLevelMinor,
    byte RevisionLevelMajor,
    byte CodeType,
    byte Indicator);
