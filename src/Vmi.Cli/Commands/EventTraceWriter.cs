using System.Buffers;
using System.Text.Json;
using Vmi.Hypervisors.Events;

namespace Vmi.Cli.Commands;

/// <summary>
/// `--trace-events FILE`: every hypervisor event as one JSON object per line (JSON Lines), in the
/// order the backend counted them: {"seq","instructions","kind","eip","instruction","detail"}, eip
/// as "0x" and eight hex digits. A line is built in a reused buffer, so a run with millions of
/// events costs no allocation per event beyond the instruction's text.
/// </summary>
internal sealed class EventTraceWriter
{
    private static readonly byte[] Newline = "\n"u8.ToArray();

    private readonly Stream output;
    private readonly ArrayBufferWriter<byte> buffer = new(256);
    private readonly Utf8JsonWriter json;

    public EventTraceWriter(Stream output)
    {
        this.output = output;
        json = new Utf8JsonWriter(buffer);
    }

    /// <summary>Lines written so far.</summary>
    public long Written { get; private set; }

    public void Write(HypervisorEvent e)
    {
        buffer.ResetWrittenCount();
        json.Reset(buffer);
        json.WriteStartObject();
        json.WriteNumber("seq", e.Sequence);
        json.WriteNumber("instructions", e.Instructions);
        json.WriteString("kind", e.Kind.ToString());
        Span<char> eip = stackalloc char[10];
        "0x".CopyTo(eip);
        e.Eip.TryFormat(eip[2..], out _, "x8", System.Globalization.CultureInfo.InvariantCulture);
        json.WriteString("eip", eip);
        json.WriteString("instruction", e.Instruction);
        json.WriteString("detail", e.Detail);
        json.WriteEndObject();
        json.Flush();
        output.Write(buffer.WrittenSpan);
        output.Write(Newline);
        Written++;
    }
}
