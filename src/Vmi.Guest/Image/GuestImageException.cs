namespace Vmi.Guest.Image;

/// <summary>
/// A guest kernel file cannot be used: not an ELF32 i386 executable, or a <c>.vmi_sites</c> record
/// that breaks the site format. The message names where: the file offset, the field, and for a
/// site record its index.
/// </summary>
public sealed class GuestImageException : Exception
{
    public GuestImageException(long offset, string field, string message, int? record = null)
        : base(record is int r
            ? $"{SiteTable.SectionName} record {r} (offset 0x{offset:X}): {field}: {message}"
            : $"offset 0x{offset:X}: {field}: {message}")
    {
        Offset = offset;
        Field = field;
        Record = record;
    }

    /// <summary>The file offset of the problem (for a site record: of the field in the record).</summary>
    public long Offset { get; }

    /// <summary>The ELF header field, section or site-record field at fault ("e_machine", "length").</summary>
    public string Field { get; }

    /// <summary>The index of the <c>.vmi_sites</c> record at fault, when the problem is in one.</summary>
    public int? Record { get; }
}
