namespace Vmi.Abi;

/// <summary>A ROM image is structurally unreadable: too short, an offset out of range, an unterminated string.</summary>
public sealed class RomFormatException : Exception
{
    public RomFormatException(int offset, string field, string message)
        : base($"offset 0x{offset:X4}: {field}: {message}")
    {
        Offset = offset;
        Field = field;
    }

    /// <summary>The image offset the problem is at (for a bad offset field: where that field lives).</summary>
    public int Offset { get; }

    /// <summary>One of <see cref="RomFields"/>.</summary>
    public string Field { get; }
}
