namespace Vmi.Abi;

/// <summary>A parsed ROM: the whole image plus its decoded structures and strings (null = absent).</summary>
/// <remarks>Equality compares <see cref="Bytes"/> by content, not by reference.</remarks>
public sealed record VmiRomImage(
    byte[] Bytes,
    RomHeader Header,
    PciDataStructure Pci,
    PnpHeader? Pnp,
    string? License,
    string? Manufacturer,
    string? Product)
{
    public bool Equals(VmiRomImage? other) =>
        other is not null
        && Bytes.AsSpan().SequenceEqual(other.Bytes)
        && Header == other.Header
        && Pci == other.Pci
        && Pnp == other.Pnp
        && License == other.License
        && Manufacturer == other.Manufacturer
        && Product == other.Product;

    public override int GetHashCode() => HashCode.Combine(Bytes.Length, Header, Pci, Pnp, License, Manufacturer, Product);
}
