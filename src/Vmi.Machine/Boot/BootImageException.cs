namespace Vmi.Machine.Boot;

/// <summary>
/// A kernel image (or the boot parameters that go with it) cannot be booted.
/// Every problem the boot path detects in its input is reported with this one type, so a caller
/// can turn any of them into a user-facing message without catching anything broader.
/// </summary>
public sealed class BootImageException : Exception
{
    public BootImageException(string message, long? fileOffset = null)
        : base(fileOffset is { } offset ? $"{message} (file offset 0x{offset:X})" : message)
    {
        FileOffset = fileOffset;
    }

    /// <summary>Offset in the image file of the field at fault, when the problem has a location.</summary>
    public long? FileOffset { get; }
}
