namespace Vmi.Hypervisors.Costs;

/// <summary>
/// A cost profile cannot be used: unreadable, malformed JSON, or a value that breaks the profile
/// format. The message names where: the file (or built-in profile), the JSON key path
/// (<c>costs.ExitIo.cycles</c>) and, when known, the line and column. It is the only exception a
/// bad profile or a bad profile name produces.
/// </summary>
public sealed class CostProfileException : Exception
{
    public CostProfileException(string origin, string? keyPath, string message, int? line = null, int? column = null, Exception? inner = null)
        : base(Format(origin, keyPath, message, line, column), inner)
    {
        Origin = origin;
        KeyPath = keyPath;
        Line = line;
        Column = column;
    }

    /// <summary>The file path, or "built-in profile 'name'", or the name that was asked for.</summary>
    public string Origin { get; }

    /// <summary>The dotted JSON path of the offending value ("costs.ExitIo.cycles"), or null for a whole-file problem.</summary>
    public string? KeyPath { get; }

    /// <summary>1-based line of the offending token, when the problem is at a place in the text.</summary>
    public int? Line { get; }

    /// <summary>1-based column (in bytes, as the JSON reader counts) of the offending token.</summary>
    public int? Column { get; }

    private static string Format(string origin, string? keyPath, string message, int? line, int? column)
    {
        string where = keyPath is null ? origin : $"{origin}: {keyPath}";
        string at = line is int l ? column is int c ? $" (line {l}, column {c})" : $" (line {l})" : "";
        return $"{where}: {message}{at}";
    }
}
