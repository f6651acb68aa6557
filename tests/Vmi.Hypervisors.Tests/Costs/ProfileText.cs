using System.Text;
using System.Text.RegularExpressions;
using Vmi.Hypervisors.Costs;

namespace Vmi.Hypervisors.Tests.Costs;

/// <summary>
/// Profile JSON for tests: the shipped p4-2006 text with one edit, so that every error test starts
/// from a profile known to be valid and the edit is the only thing wrong.
/// </summary>
internal static class ProfileText
{
    public const string Origin = "test-profile.json";

    public static string P4 => Encoding.UTF8.GetString(CostProfiles.BuiltInJson("p4-2006"));

    /// <summary>P4's text with <paramref name="old"/> (which must occur exactly once) replaced.</summary>
    public static string P4With(string old, string replacement)
    {
        string text = P4;
        int at = text.IndexOf(old, StringComparison.Ordinal);
        Assert.True(at >= 0 && text.IndexOf(old, at + 1, StringComparison.Ordinal) < 0, $"'{old}' must occur exactly once in p4-2006.json");
        return string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + old.Length));
    }

    /// <summary>P4's text with the whole <c>"Kind": { … }</c> entry replaced.</summary>
    public static string P4WithCost(string kind, string replacement)
    {
        string text = P4;
        string with = Regex.Replace(text, $"\"{kind}\": \\{{[^}}]*\\}}", replacement.Replace("$", "$$"));
        Assert.NotEqual(text, with);
        return with;
    }

    /// <summary>P4's text without the whole <c>"Kind": { … },</c> entry.</summary>
    public static string P4Without(string kind)
    {
        string text = P4;
        string without = Regex.Replace(text, $"\\s*\"{kind}\": \\{{[^}}]*\\}},", "");
        Assert.NotEqual(text, without);
        return without;
    }

    public static CostProfile Parse(string text) => CostProfiles.Parse(Encoding.UTF8.GetBytes(text), Origin);

    /// <summary>The 1-based line on which <paramref name="snippet"/> first occurs.</summary>
    public static int LineOf(string text, string snippet)
    {
        int at = text.IndexOf(snippet, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{snippet}' not in the text");
        return text.AsSpan(0, at).Count('\n') + 1;
    }

    /// <summary>Parses text that must be refused, and checks the message names the file, the key path and the line.</summary>
    public static CostProfileException Refused(string text, string keyPath, string messagePart, int? line)
    {
        var e = Assert.Throws<CostProfileException>(() => Parse(text));
        Assert.StartsWith($"{Origin}: {keyPath}: ", e.Message);
        Assert.Contains(messagePart, e.Message);
        Assert.Equal(keyPath, e.KeyPath);
        if (line is int l)
        {
            Assert.Contains($"(line {l}, column ", e.Message);
            Assert.Equal(l, e.Line);
        }

        return e;
    }
}
