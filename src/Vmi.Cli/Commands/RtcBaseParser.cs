using System.Globalization;

namespace Vmi.Cli.Commands;

/// <summary>
/// Parses <c>--rtc-base</c> as QEMU's <c>-rtc base=</c>: a UTC date (2006-06-17) or date and
/// time (2006-06-17T16:01:21, a trailing Z allowed), or <c>now</c> (also QEMU's <c>utc</c>) for
/// the host's current UTC time to the second, which makes the run depend on when it starts.
/// </summary>
public static class RtcBaseParser
{
    private static readonly string[] Formats = ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ssZ"];

    public static bool TryParse(string text, out DateTime start, out string error)
    {
        error = "";
        string s = text.Trim();
        if (s.Equals("now", StringComparison.OrdinalIgnoreCase) || s.Equals("utc", StringComparison.OrdinalIgnoreCase))
        {
            DateTime now = DateTime.UtcNow;
            start = new DateTime(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, DateTimeKind.Utc);
            return true;
        }
        if (DateTime.TryParseExact(s, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out start))
        {
            return true;
        }
        error = $"--rtc-base: '{text}' is not a UTC date and time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS) or 'now'";
        return false;
    }
}
