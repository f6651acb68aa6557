using System.Collections.Frozen;

namespace Vmi.Hypervisors.Costs;

/// <summary>The built-in cost profiles (embedded Profiles/*.json) and loading a profile by name or file.</summary>
public static class CostProfiles
{
    /// <summary>The names <see cref="Load"/> resolves without a file, oldest processor first.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["p4-2006", "core2-2008", "modern"];

    private const string ResourcePrefix = "Vmi.Hypervisors.Costs.Profiles.";

    // Parsed once: profiles are immutable, and a broken built-in should fail the same way every time.
    private static readonly FrozenDictionary<string, Lazy<CostProfile>> BuiltIns = BuiltInNames.ToFrozenDictionary(
        n => n, n => new Lazy<CostProfile>(() => LoadBuiltIn(n)), StringComparer.OrdinalIgnoreCase);

    /// <summary>Adams &amp; Agesen's Pentium 4: the processor the backends' shape is calibrated on.</summary>
    public static CostProfile Default => BuiltIns["p4-2006"].Value;

    /// <summary>
    /// A built-in profile by name (case-insensitive, and it wins over a file of the same name), or
    /// else a profile file at that path.
    /// </summary>
    /// <exception cref="CostProfileException">Neither a built-in name nor a readable file, or the file is not a valid profile.</exception>
    public static CostProfile Load(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        if (BuiltIns.TryGetValue(nameOrPath, out Lazy<CostProfile>? builtIn))
        {
            return builtIn.Value;
        }

        return LoadFile(nameOrPath);
    }

    /// <summary>Parses profile JSON held in memory; <paramref name="origin"/> names it in error messages.</summary>
    /// <exception cref="CostProfileException">Not a valid profile.</exception>
    public static CostProfile Parse(byte[] utf8Json, string origin)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        ArgumentNullException.ThrowIfNull(origin);
        return CostProfileReader.Parse(utf8Json, origin);
    }

    /// <summary>The embedded JSON of a built-in profile, byte for byte (for export and for tests).</summary>
    public static byte[] BuiltInJson(string name)
    {
        if (!BuiltIns.ContainsKey(name))
        {
            throw NotFound(name, "not a built-in profile");
        }

        string canonical = BuiltIns.Keys.First(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
        using Stream stream = typeof(CostProfiles).Assembly.GetManifestResourceStream(ResourcePrefix + canonical + ".json")
            ?? throw new InvalidOperationException($"built-in profile '{canonical}' is not embedded in {typeof(CostProfiles).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static CostProfile LoadBuiltIn(string name) => CostProfileReader.Parse(BuiltInJson(name), $"built-in profile '{name}'");

    private static CostProfile LoadFile(string path)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException or System.Security.SecurityException)
        {
            throw NotFound(path, $"not a built-in profile, nor a usable file path ({e.Message})", e);
        }

        if (!File.Exists(full))
        {
            throw NotFound(path, $"not a built-in profile, and no file {full} exists");
        }

        byte[] bytes;
        try
        {
            using FileStream stream = File.OpenRead(full);
            if (stream.Length > CostProfileReader.MaxBytes)
            {
                throw new CostProfileException(path, null, $"{stream.Length} bytes is too large for a cost profile (at most {CostProfileReader.MaxBytes})");
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            throw new CostProfileException(path, null, $"cannot read the file: {e.Message}", inner: e);
        }

        return CostProfileReader.Parse(bytes, path);
    }

    private static CostProfileException NotFound(string tried, string message, Exception? inner = null) =>
        new(tried, null, $"{message}; the built-in profiles are {string.Join(", ", BuiltInNames)}", inner: inner);
}
