namespace Vmi.Abi;

/// <summary>
/// The field names <see cref="RomViolation"/> and <see cref="RomFormatException"/> report:
/// the ABI's header field names, and "pci."/"pnp." prefixed names for the structures they point at.
/// </summary>
public static class RomFields
{
    /// <summary>The image as a whole (its length).</summary>
    public const string ImageLength = "image_length";
    public const string RomSignature = "rom_signature";
    public const string RomLength = "rom_length";
    public const string RomEntry = "rom_entry";
    public const string VromSignature = "vrom_signature";
    public const string ApiVersionMaj = "api_version_maj";
    public const string LicenseOffs = "license_offs";
    public const string PciHeaderOffs = "pci_header_offs";
    public const string PnpHeaderOffs = "pnp_header_offs";
    public const string VmiInit = "vmi_init";
    public const string GetReloc = "get_reloc";

    /// <summary>The 8-bit sum of rom_length * 512 bytes.</summary>
    public const string Checksum = "checksum";

    /// <summary>The license string's bytes (as opposed to its offset field).</summary>
    public const string License = "license";

    public const string PciSignature = "pci.signature";
    public const string PciStructureLength = "pci.structure_length";
    public const string PciImageLength = "pci.image_length";
    public const string PciCodeType = "pci.code_type";
    public const string PciIndicator = "pci.indicator";

    public const string PnpSignature = "pnp.signature";
    public const string PnpLength = "pnp.length";
    public const string PnpChecksum = "pnp.checksum";
    public const string PnpManufacturerOffs = "pnp.manufacturer_offs";
    public const string PnpManufacturer = "pnp.manufacturer";
    public const string PnpProductOffs = "pnp.product_offs";
    public const string PnpProduct = "pnp.product";
}
