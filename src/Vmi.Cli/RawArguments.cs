using System.Text;

namespace Vmi.Cli;

/// <summary>
/// The command-line arguments as the bytes the process received.
/// </summary>
/// <remarks>
/// .NET decodes argv as UTF-8 and turns bytes that are not UTF-8 into U+FFFD, but a kernel command
/// line (and a module's string) is bytes, and QEMU passes them through unchanged. On Linux,
/// /proc/self/cmdline still holds argv exactly as execve(2) delivered it: the arguments Main
/// received are its last entries (before them come the host, e.g. "dotnet vmi.dll"). When that
/// file is missing or its entries do not decode to the parsed arguments (so the match would be a
/// guess), the UTF-8 encoding of the parsed text is used, which is exact for valid UTF-8.
/// </remarks>
public static class RawArguments
{
    private static IReadOnlyList<byte[]>? s_raw;

    /// <summary>Records the raw bytes of <paramref name="args"/> (Main's arguments) for <see cref="OptionValue"/>.</summary>
    public static void Capture(string[] args)
    {
        byte[]? cmdline = null;
        try
        {
            cmdline = OperatingSystem.IsLinux() ? File.ReadAllBytes("/proc/self/cmdline") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc (a restricted container): fall back to the parsed text.
        }
        s_raw = Match(args, cmdline);
    }

    /// <summary>
    /// The raw entries of <paramref name="procCmdline"/> (NUL-terminated argv) that are
    /// <paramref name="args"/>, or null when they cannot be matched one to one.
    /// </summary>
    public static IReadOnlyList<byte[]>? Match(IReadOnlyList<string> args, byte[]? procCmdline)
    {
        if (procCmdline is null)
            return null;
        var entries = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < procCmdline.Length; i++)
        {
            if (procCmdline[i] == 0)
            {
                entries.Add(procCmdline[start..i]);
                start = i + 1;
            }
        }
        if (entries.Count < args.Count)
            return null;
        var tail = entries.GetRange(entries.Count - args.Count, args.Count);
        for (int i = 0; i < args.Count; i++)
        {
            if (!SameText(tail[i], args[i]))
                return null;
        }
        return tail;
    }

    /// <summary>
    /// The bytes of the value <paramref name="parsed"/> that the parser gave option
    /// <paramref name="name"/>: the argument after the last "NAME" that decodes to it, or the
    /// rest of "NAME=VALUE" / "NAME:VALUE"; otherwise the UTF-8 encoding of <paramref name="parsed"/>.
    /// </summary>
    public static byte[] OptionValue(string name, string parsed) => OptionValue(s_raw, name, parsed);

    public static byte[] OptionValue(IReadOnlyList<byte[]>? raw, string name, string parsed) => OptionValue(raw, [name], parsed);

    /// <summary>As <see cref="OptionValue(string, string)"/> for an option with several names (aliases): the last one given wins.</summary>
    public static byte[] OptionValue(IReadOnlyList<string> names, string parsed) => OptionValue(s_raw, names, parsed);

    public static byte[] OptionValue(IReadOnlyList<byte[]>? raw, IReadOnlyList<string> names, string parsed)
    {
        if (raw is not null)
        {
            var options = names.Select(Encoding.UTF8.GetBytes).ToList();
            for (int i = raw.Count - 1; i >= 0; i--)
            {
                foreach (byte[] option in options)
                {
                    if (i + 1 < raw.Count && raw[i].AsSpan().SequenceEqual(option) && SameText(raw[i + 1], parsed))
                        return raw[i + 1];
                    if (raw[i].Length > option.Length && raw[i].AsSpan().StartsWith(option) && raw[i][option.Length] is (byte)'=' or (byte)':')
                    {
                        byte[] value = raw[i][(option.Length + 1)..];
                        if (SameText(value, parsed))
                            return value;
                    }
                }
            }
        }
        return Encoding.UTF8.GetBytes(parsed);
    }

    /// <summary>
    /// Whether <paramref name="raw"/> is what .NET would have parsed as <paramref name="parsed"/>.
    /// Runs of U+FFFD are compared as one, because the runtime's argv decoder and
    /// <see cref="Encoding.UTF8"/> may replace an invalid sequence by different numbers of them.
    /// </summary>
    private static bool SameText(byte[] raw, string parsed) =>
        CollapseReplacements(Encoding.UTF8.GetString(raw)) == CollapseReplacements(parsed);

    private static string CollapseReplacements(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (c != '\uFFFD' || b.Length == 0 || b[^1] != '\uFFFD')
                b.Append(c);
        }
        return b.ToString();
    }
}
