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
}
