using System.Text;
using System.Text.Json;
using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Costs;

/// <summary>
/// Reads the profile JSON format (see Profiles/*.json):
/// <code>
/// { "name": "…", "description": "…",
///   "clockHz": { "value": 3800000000, "source": "…" },
///   "cpi":     { "value": 1.0,        "source": "…" },
///   "costs":   { "TrapAndEmulate": { "cycles": 2030, "source": "…" }, … every EventKind … } }
/// </code>
/// Keys match case-insensitively; comments are allowed. Anything else (unknown, missing or
/// duplicate keys, a wrong type, a negative or fractional cycle count, an empty source, a bad clock
/// or CPI, malformed JSON) is a <see cref="CostProfileException"/> naming the key path and line.
/// </summary>
/// <remarks>
/// A hand-written pass over <see cref="Utf8JsonReader"/> rather than deserialization: only the
/// reader knows where each token is, and the message must say which line is wrong.
/// </remarks>
internal sealed class CostProfileReader
{
    /// <summary>Larger than any sensible profile: refuse it rather than read a wrong file into memory.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>1 THz. A clock above it is taken for a units mistake; it also keeps ClockHz × 1000 far from overflow.</summary>
    public const long MaxClockHz = 1_000_000_000_000;

    /// <summary>CPI 1000: beyond it a "CPI" is surely a units mistake.</summary>
    public const long MaxCpiMilli = 1_000_000;

    private static readonly string[] RootKeys = ["name", "description", "clockHz", "cpi", "costs"];
    private static readonly string[] SourcedKeys = ["value", "source"];
    private static readonly string[] CostKeys = ["cycles", "source"];
    private static readonly string[] KindNames = [.. EventKinds.All.Select(k => k.ToString())];

    private readonly byte[] _utf8;
    private readonly int _start;
    private readonly string _origin;
    private string? _path;

    private CostProfileReader(byte[] utf8, string origin)
    {
        _utf8 = utf8;
        _origin = origin;
        _start = utf8.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0; // a UTF-8 BOM, which Utf8JsonReader does not skip
    }

    /// <summary>Reads the value of one key; the reader is on the key, <paramref name="key"/> is its canonical spelling.</summary>
    private delegate void FieldReader(ref Utf8JsonReader r, string key, string path);

    private delegate long ValueReader(ref Utf8JsonReader r, string path);

    /// <summary>Parses a whole profile; <paramref name="origin"/> (a file path or "built-in profile 'x'") heads every error message.</summary>
    public static CostProfile Parse(byte[] utf8, string origin) => new CostProfileReader(utf8, origin).Parse();

    private CostProfile Parse()
    {
        var r = new Utf8JsonReader(Text, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            Next(ref r, null);
            CostProfile profile = ReadRoot(ref r);
            if (r.Read()) // the reader itself refuses a second value; this keeps that promise visible
            {
                throw Fail(ref r, null, "unexpected content after the profile object");
            }

            return profile;
        }
        catch (JsonException e)
        {
            throw new CostProfileException(_origin, _path, $"malformed JSON: {WithoutPosition(e.Message)}",
                e.LineNumber is long l ? (int)l + 1 : null, e.BytePositionInLine is long c ? (int)c + 1 : null, e);
        }
    }

    private ReadOnlySpan<byte> Text => _utf8.AsSpan(_start);

    private CostProfile ReadRoot(ref Utf8JsonReader r)
    {
        string? name = null, description = null, clockSource = null, cpiSource = null;
        long clockHz = 0, cpiMilli = 0, cpiIndex = 0;
        var costs = new EventCost[EventKinds.All.Length];
        ReadObject(ref r, null, RootKeys, (ref Utf8JsonReader rd, string key, string path) =>
        {
            switch (key)
            {
                case "name": name = ReadText(ref rd, path); break;
                case "description": description = ReadText(ref rd, path); break;
                case "clockHz": clockSource = ReadSourced(ref rd, path, ReadClock, out clockHz, out _); break;
                case "cpi": cpiSource = ReadSourced(ref rd, path, ReadCpi, out cpiMilli, out cpiIndex); break;
                case "costs": ReadObject(ref rd, path, KindNames, (ref Utf8JsonReader cost, string kind, string kindPath) => costs[(int)EventKinds.ByName[kind]] = ReadCost(ref cost, kindPath)); break;
            }
        });

        if ((Int128)clockHz * 1000 / cpiMilli < 1)
        {
            throw Fail(cpiIndex, "cpi.value", $"CPI {cpiMilli / 1000m} at {clockHz} Hz gives less than one instruction per second");
        }

        return new CostProfile(name!, description!, clockHz, clockSource!, cpiMilli, cpiSource!, costs);
    }

    /// <summary>A {"value": …, "source": "…"} object: the value through <paramref name="value"/>, the source as the result.</summary>
    private string ReadSourced(ref Utf8JsonReader r, string path, ValueReader read, out long value, out long valueIndex)
    {
        string? source = null;
        long v = 0, at = 0;
        ReadObject(ref r, path, SourcedKeys, (ref Utf8JsonReader rd, string key, string keyPath) =>
        {
            if (key == "value")
            {
                v = read(ref rd, keyPath);
                at = rd.TokenStartIndex;
            }
            else
            {
                source = ReadText(ref rd, keyPath);
            }
        });
        value = v;
        valueIndex = at;
        return source!;
    }

    private EventCost ReadCost(ref Utf8JsonReader r, string path)
    {
        long cycles = 0;
        string? source = null;
        ReadObject(ref r, path, CostKeys, (ref Utf8JsonReader rd, string key, string keyPath) =>
        {
            if (key == "cycles")
            {
                cycles = ReadCycles(ref rd, keyPath);
            }
            else
            {
                source = ReadText(ref rd, keyPath);
            }
        });
        return new EventCost(cycles, source!);
    }

    private long ReadCycles(ref Utf8JsonReader r, string path)
    {
        long cycles = ReadWholeNumber(ref r, path, "cycles");
        return cycles >= 0 ? cycles : throw Fail(ref r, path, $"cycles must not be negative, got {cycles}");
    }

    private long ReadClock(ref Utf8JsonReader r, string path)
    {
        long hz = ReadWholeNumber(ref r, path, "Hz");
        return hz is >= 1 and <= MaxClockHz ? hz : throw Fail(ref r, path, $"the clock must be 1 to {MaxClockHz} Hz, got {hz}");
    }

    /// <summary>CPI is read as a decimal so that "1.25" is exactly 1250 milli-cycles (a double would not be).</summary>
    private long ReadCpi(ref Utf8JsonReader r, string path)
    {
        Next(ref r, path);
        if (r.TokenType != JsonTokenType.Number)
        {
            throw Fail(ref r, path, $"CPI must be a number, got {Describe(ref r)}");
        }

        // Range first: a huge decimal times 1000 would overflow.
        if (!r.TryGetDecimal(out decimal cpi) || cpi is < 0.001m or > MaxCpiMilli / 1000)
        {
            throw Fail(ref r, path, $"CPI must be 0.001 to {MaxCpiMilli / 1000}, got {Raw(ref r)}");
        }

        decimal milli = cpi * 1000;
        return milli == decimal.Truncate(milli) ? (long)milli : throw Fail(ref r, path, $"CPI must have at most three decimal places, got {Raw(ref r)}");
    }

    private long ReadWholeNumber(ref Utf8JsonReader r, string path, string unit)
    {
        Next(ref r, path);
        if (r.TokenType != JsonTokenType.Number)
        {
            throw Fail(ref r, path, $"expected a whole number of {unit}, got {Describe(ref r)}");
        }

        return r.TryGetInt64(out long value) ? value : throw Fail(ref r, path, $"expected a whole number of {unit}, got {Raw(ref r)}");
    }

    /// <summary>A non-empty string: names, descriptions and sources must all say something.</summary>
    private string ReadText(ref Utf8JsonReader r, string path)
    {
        Next(ref r, path);
        if (r.TokenType != JsonTokenType.String)
        {
            throw Fail(ref r, path, $"expected a string, got {Describe(ref r)}");
        }

        string text = GetString(ref r, path);
        return !string.IsNullOrWhiteSpace(text) ? text : throw Fail(ref r, path, "must not be empty");
    }

    /// <summary>
    /// Reads an object whose keys are exactly <paramref name="keys"/> (case-insensitively, each once);
    /// <paramref name="field"/> reads each value, given the canonical key spelling.
    /// </summary>
    private void ReadObject(ref Utf8JsonReader r, string? path, string[] keys, FieldReader field)
    {
        if (path is not null)
        {
            Next(ref r, path);
        }

        if (r.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(ref r, path, $"expected an object, got {Describe(ref r)}");
        }

        long objectStart = r.TokenStartIndex;
        var seen = new bool[keys.Length];
        while (true)
        {
            Next(ref r, path);
            if (r.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            string written = GetString(ref r, path);
            int i = Array.FindIndex(keys, k => string.Equals(k, written, StringComparison.OrdinalIgnoreCase));
            if (i < 0)
            {
                throw Fail(ref r, Join(path, written), $"unknown key; expected {string.Join(", ", keys)}");
            }

            if (seen[i])
            {
                throw Fail(ref r, Join(path, keys[i]), "duplicate key");
            }

            seen[i] = true;
            field(ref r, keys[i], Join(path, keys[i]));
        }

        int missing = Array.IndexOf(seen, false);
        if (missing >= 0)
        {
            string what = path == "costs" ? "missing: every event kind needs a cost" : "missing";
            throw Fail(objectStart, Join(path, keys[missing]), what);
        }
    }

    /// <summary>Advances to the next token; <paramref name="path"/> is where a malformed-JSON error is reported.</summary>
    private void Next(ref Utf8JsonReader r, string? path)
    {
        _path = path;
        if (!r.Read())
        {
            throw new CostProfileException(_origin, path, "unexpected end of the file");
        }
    }

    private string GetString(ref Utf8JsonReader r, string? path)
    {
        try
        {
            return r.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw Fail(ref r, path, $"unreadable string: {e.Message}");
        }
    }

    private static string Join(string? path, string key) => path is null ? key : $"{path}.{key}";

    private static string Raw(ref Utf8JsonReader r) => Encoding.UTF8.GetString(r.ValueSpan);

    private static string Describe(ref Utf8JsonReader r) => r.TokenType switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => $"the number {Raw(ref r)}",
        JsonTokenType.True or JsonTokenType.False => $"{(r.TokenType == JsonTokenType.True ? "true" : "false")}",
        JsonTokenType.Null => "null",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        _ => r.TokenType.ToString(),
    };

    private CostProfileException Fail(ref Utf8JsonReader r, string? path, string message) => Fail(r.TokenStartIndex, path, message);

    private CostProfileException Fail(long index, string? path, string message)
    {
        ReadOnlySpan<byte> before = Text[..(int)index];
        int line = before.Count((byte)'\n') + 1;
        int column = (int)index - (before.LastIndexOf((byte)'\n') + 1) + 1;
        return new CostProfileException(_origin, path, message, line, column);
    }

    /// <summary>The reader's messages end in "LineNumber: 2 | BytePositionInLine: 14."; ours says "(line 3, column 15)" instead.</summary>
    private static string WithoutPosition(string message)
    {
        int at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return at >= 0 ? message[..at] : message;
    }
}
