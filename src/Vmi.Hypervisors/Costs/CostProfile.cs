using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Costs;

/// <summary>
/// Turns a run's exact event counts into modelled cycles: instructions × CPI + Σ count × cost,
/// with every number carrying its source. Immutable; built only by <see cref="CostProfileReader"/>,
/// which has validated everything the constructor assumes.
/// </summary>
/// <remarks>
/// CPI is kept exactly as milli-cycles per instruction (<see cref="CpiMilli"/>) so that modelled
/// cycles and guest ticks are integer arithmetic: the same counts give the same result on every
/// host. Intermediate products are <see cref="Int128"/>, so only a result that does not fit a long
/// overflows.
/// </remarks>
public sealed class CostProfile
{
    private readonly EventCost[] _costs;

    internal CostProfile(string name, string description, long clockHz, string clockSource, long cpiMilli, string cpiSource, EventCost[] costsByKind)
    {
        Name = name;
        Description = description;
        ClockHz = clockHz;
        ClockSource = clockSource;
        CpiMilli = cpiMilli;
        CpiSource = cpiSource;
        _costs = costsByKind;
        TickHz = (long)((Int128)clockHz * 1000 / cpiMilli);
    }

    public string Name { get; }

    public string Description { get; }

    /// <summary>Nominal clock of the modelled processor, in Hz: converts modelled cycles to seconds.</summary>
    public long ClockHz { get; }

    public string ClockSource { get; }

    /// <summary>Cycles per ordinary guest instruction, in thousandths: the exact value.</summary>
    public long CpiMilli { get; }

    /// <summary>Cycles per ordinary guest instruction, for display (<see cref="CpiMilli"/> is the exact value).</summary>
    public double Cpi => CpiMilli / 1000.0;

    public string CpiSource { get; }

    /// <summary>
    /// Guest clock in ticks per second, one tick per ordinary instruction: ClockHz × 1000 / CpiMilli,
    /// rounded down.
    /// </summary>
    public long TickHz { get; }

    public EventCost CostFor(EventKind kind) => _costs[Index(kind)];

    public long CostOf(EventKind kind) => CostFor(kind).Cycles;

    public string SourceOf(EventKind kind) => CostFor(kind).Source;

    /// <summary>
    /// instructions × CPI + Σ count × cost, exactly: the CPI product is kept in milli-cycles and
    /// rounded down once, at the end. Kinds absent from <paramref name="counts"/> count zero.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative count, or a kind that is not an <see cref="EventKind"/>.</exception>
    /// <exception cref="OverflowException">The result does not fit a long.</exception>
    public long ModelledCycles(long instructions, IReadOnlyDictionary<EventKind, long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentOutOfRangeException.ThrowIfNegative(instructions);
        Int128 milli = (Int128)instructions * CpiMilli;
        foreach ((EventKind kind, long count) in counts)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count, $"{nameof(counts)}[{kind}]");
            milli += (Int128)count * CostFor(kind).Cycles * 1000;
        }

        return checked((long)(milli / 1000));
    }

    /// <summary>The same as the dictionary overload, for counters kept in an array indexed by <see cref="EventKind"/>.</summary>
    public long ModelledCycles(long instructions, ReadOnlySpan<long> countsByKind)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(instructions);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(countsByKind.Length, _costs.Length, nameof(countsByKind));
        Int128 milli = (Int128)instructions * CpiMilli;
        for (int i = 0; i < countsByKind.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(countsByKind[i], $"{nameof(countsByKind)}[{(EventKind)i}]");
            milli += (Int128)countsByKind[i] * _costs[i].Cycles * 1000;
        }

        return checked((long)(milli / 1000));
    }

    /// <summary>
    /// Guest ticks (ordinary-instruction times) that <paramref name="cycles"/> of event cost take:
    /// cycles × 1000 / CpiMilli, rounded down. Rounding each event separately would lose up to a
    /// tick per event, so sum cycles first and convert once where that matters.
    /// </summary>
    public long TicksForCycles(long cycles)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cycles);
        return checked((long)((Int128)cycles * 1000 / CpiMilli));
    }

    /// <summary>Every kind with its cost and source, in <see cref="EventKind"/> order, for display.</summary>
    public IReadOnlyList<CostRow> Table() =>
        [.. EventKinds.All.Select(k => new CostRow(k, _costs[(int)k].Cycles, _costs[(int)k].Source))];

    private static int Index(EventKind kind) =>
        EventKinds.IsDefined(kind) ? (int)kind : throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an event kind");
}
