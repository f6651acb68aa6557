namespace Vmi.Abi;

internal enum StringStatus
{
    Ok,
    OutOfRange,
    Unterminated,
}

/// <summary>The NUL-terminated ASCII strings the header and PnP header point at.</summary>
internal static class RomStrings
{
    /// <summary>Finds the string at <paramref name="offset"/>; <paramref name="length"/> excludes the NUL.</summary>
    public static StringStatus Locate(ReadOnlySpan<byte> image, int offset, out int length)
    {
        length = 0;
        if (offset < 0 || offset >= image.Length)
            return StringStatus.OutOfRange;
        length = image[offset..].IndexOf((byte)0);
        return length < 0 ? StringStatus.Unterminated : StringStatus.Ok;
    }

    public static bool IsPrintable(byte b) => b is >= 0x20 and <= 0x7E;

    public static bool IsPrintable(char c) => c is >= ' ' and <= '~';

    /// <summary>Index of the first byte that is not printable ASCII, or -1.</summary>
    public static int FirstNonPrintable(ReadOnlySpan<byte> s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (!IsPrintable(s[i]))
                return i;
        }
        return -1;
    }
}
