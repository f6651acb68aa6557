using System.Text.Encodings.Web;
using System.Text.Json;

namespace Vmi.Hypervisors.Costs;

/// <summary>Writes a profile in the format <see cref="CostProfileReader"/> reads: a starting point for a user's own profile.</summary>
public static class CostProfileWriter
{
    // Sources quote papers ("Adams & Agesen"): keep them readable instead of \u0026-escaped.
    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] ToJson(CostProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            w.WriteString("name", profile.Name);
            w.WriteString("description", profile.Description);
            w.WriteStartObject("clockHz");
            w.WriteNumber("value", profile.ClockHz);
            w.WriteString("source", profile.ClockSource);
            w.WriteEndObject();
            w.WriteStartObject("cpi");
            w.WriteNumber("value", new decimal((int)profile.CpiMilli, 0, 0, false, 3)); // "1.250": exactly the milli-cycles stored
            w.WriteString("source", profile.CpiSource);
            w.WriteEndObject();
            w.WriteStartObject("costs");
            foreach (CostRow row in profile.Table())
            {
                w.WriteStartObject(row.Kind.ToString());
                w.WriteNumber("cycles", row.Cycles);
                w.WriteString("source", row.Source);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
