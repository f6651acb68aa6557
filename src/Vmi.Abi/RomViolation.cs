namespace Vmi.Abi;

/// <summary>One broken rule of a ROM image, at an offset, naming the field (one of <see cref="RomFields"/>).</summary>
public sealed record RomViolation(int Offset, string Field, string Message)
{
    public override string ToString() => $"offset 0x{Offset:X4}: {Field}: {Message}";
}
