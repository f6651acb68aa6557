using System.Globalization;

namespace Vmi.Cli.Commands;

/// <summary>Parses sizes such as 64M, 128MiB, 1G, 65536 (bytes) or 0x4000000.</summary>
public static class SizeParser
{
    public static bool TryParse(string text, out ulong bytes, out string error)
    {
        bytes = 0;
        error = "";
        string s = text.Trim();
        ulong multiplier = 1;
        string lower = s.ToLowerInvariant();
        foreach ((string suffix, ulong m) in new[] { ("kib", 1UL << 10), ("mib", 1UL << 20), ("gib", 1UL << 30), ("k", 1UL << 10), ("m", 1UL << 20), ("g", 1UL << 30) })
        {
            if (lower.EndsWith(suffix, StringComparison.Ordinal) && !lower.StartsWith("0x", StringComparison.Ordinal))
            {
                multiplier = m;
                s = s[..^suffix.Length];
                break;
            }
        }
        bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out bytes)
            : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out bytes);
        if (!ok || bytes > ulong.MaxValue / multiplier)
        {
            error = $"'{text}' is not a size (examples: 64M, 128MiB, 1G, 67108864)";
            return false;
        }
        bytes *= multiplier;
        return true;
    }
}
