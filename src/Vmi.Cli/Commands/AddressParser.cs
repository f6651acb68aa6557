using System.Globalization;

namespace Vmi.Cli.Commands;

/// <summary>Parses addresses written as 0xC8000, C8000h or decimal.</summary>
public static class AddressParser
{
    public static bool TryParse(string text, out uint value)
    {
        string s = text.Trim();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return uint.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        }
        if (s.EndsWith('h') || s.EndsWith('H'))
        {
            return uint.TryParse(s.AsSpan(0, s.Length - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        }
        return uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Checks an option-ROM base: 2 KiB aligned inside 0xC0000–0xDFFFF, where VMI kernels scan.</summary>
    public static string? CheckRomBase(uint romBase, int romLength)
    {
        if (romBase % 2048 != 0 || romBase < 0xC0000 || romBase >= 0xE0000)
        {
            return $"ROM base 0x{romBase:X} must be 2 KiB aligned inside 0xC0000-0xDFFFF";
        }
        if ((ulong)romBase + (ulong)romLength > 0xE0000)
        {
            return $"a {romLength}-byte ROM at 0x{romBase:X} runs past 0xDFFFF";
        }
        return null;
    }
}
