namespace Vmi.Hypervisors.Events;

/// <summary>
/// Counts a backend's events by kind (and by kind and detail, e.g. which instruction trapped or
/// whether a page fault was hidden or the guest's own), deterministically. Tracing is opt-in: with
/// no <see cref="Trace"/> attached, recording an event allocates nothing.
/// </summary>
public sealed class EventLedger
{
    private readonly long[] counts = new long[Enum.GetValues<EventKind>().Length];
    private readonly Dictionary<(EventKind Kind, string Detail), long> byDetail = [];
    private long sequence;

    /// <summary>Receives every event as it happens (--trace-events); null: none.</summary>
    public Action<HypervisorEvent>? Trace { get; set; }

    public long this[EventKind kind] => counts[(int)kind];

    public long Total => counts.Sum();

    /// <summary>Counts by kind, kinds with no events left out, in enum order.</summary>
    public IReadOnlyDictionary<EventKind, long> Counts =>
        Enum.GetValues<EventKind>().Where(k => counts[(int)k] > 0).ToDictionary(k => k, k => counts[(int)k]);

    /// <summary>Counts by kind and detail (the detail is a constant string per cause, so this stays small).</summary>
    public IReadOnlyDictionary<(EventKind Kind, string Detail), long> CountsByDetail => byDetail;

    /// <summary>Counts one or more events; <paramref name="detail"/> must be a constant (it keys a table).</summary>
    public void Add(EventKind kind, string detail, long count, long instructions, uint eip, in Vmi.Cpu.SensitiveEvent? instruction = null)
    {
        counts[(int)kind] += count;
        var key = (kind, detail);
        byDetail[key] = byDetail.GetValueOrDefault(key) + count;
        if (Trace is { } trace)
        {
            for (long i = 0; i < count; i++)
            {
                trace(new HypervisorEvent(sequence++, instructions, kind, eip, instruction?.ToString() ?? "", detail));
            }
        }
    }
}
