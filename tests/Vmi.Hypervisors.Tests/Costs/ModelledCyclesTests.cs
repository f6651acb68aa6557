using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;

namespace Vmi.Hypervisors.Tests.Costs;

public class ModelledCyclesTests
{
    /// <summary>p4-2006's costs with CPI 1.25, so that instructions × CPI has a fraction to round.</summary>
    private static readonly CostProfile Cpi125 = ProfileText.Parse(ProfileText.P4With("\"value\": 1.0,", "\"value\": 1.25,"));

    [Fact]
    public void Instructions_times_cpi_plus_counts_times_costs_rounded_down_once()
    {
        var counts = new Dictionary<EventKind, long> { [EventKind.ExitIo] = 3, [EventKind.TlbMiss] = 7 };

        // 1003 × 1.25 = 1253.75; 3 × 15825 = 47475; 7 × 22 = 154; total 48882.75 → 48882.
        Assert.Equal(1250, Cpi125.CpiMilli);
        Assert.Equal(48_882, Cpi125.ModelledCycles(1003, counts));

        // CPI 1.0: 1003 + 47475 + 154.
        Assert.Equal(48_632, CostProfiles.Default.ModelledCycles(1003, counts));
    }

    [Fact]
    public void The_fraction_is_kept_until_the_end()
    {
        Assert.Equal(1, Cpi125.ModelledCycles(1, new Dictionary<EventKind, long>()));
        Assert.Equal(5, Cpi125.ModelledCycles(4, new Dictionary<EventKind, long>()));
        Assert.Equal(3, Cpi125.ModelledCycles(3, new Dictionary<EventKind, long>())); // 3.75 → 3
    }

    [Fact]
    public void The_array_overload_agrees_with_the_dictionary()
    {
        var byKind = new long[Enum.GetValues<EventKind>().Length];
        var counts = new Dictionary<EventKind, long>();
        foreach (EventKind kind in Enum.GetValues<EventKind>())
        {
            byKind[(int)kind] = (int)kind * 13 + 1;
            counts[kind] = (int)kind * 13 + 1;
        }

        Assert.Equal(Cpi125.ModelledCycles(123_457, counts), Cpi125.ModelledCycles(123_457, byKind));
    }

    [Fact]
    public void Large_counts_are_exact_and_a_result_beyond_long_overflows()
    {
        // Instructions × CpiMilli alone exceeds a long here; the result does not.
        long instructions = long.MaxValue / 4;
        Assert.Equal((long)((Int128)instructions * 1250 / 1000), Cpi125.ModelledCycles(instructions, new Dictionary<EventKind, long>()));

        Assert.Throws<OverflowException>(() => Cpi125.ModelledCycles(long.MaxValue, new Dictionary<EventKind, long>()));
    }

    [Fact]
    public void Negative_counts_and_unknown_kinds_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpi125.ModelledCycles(-1, new Dictionary<EventKind, long>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpi125.ModelledCycles(0, new Dictionary<EventKind, long> { [EventKind.Hypercall] = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpi125.ModelledCycles(0, new Dictionary<EventKind, long> { [(EventKind)999] = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpi125.CostOf((EventKind)(-1)));
    }

    [Fact]
    public void Ticks_are_cycles_over_cpi_rounded_down()
    {
        Assert.Equal(3_040_000_000, Cpi125.TickHz); // 3.8 GHz / 1.25
        Assert.Equal(800, Cpi125.TicksForCycles(1000));
        Assert.Equal(800, Cpi125.TicksForCycles(1001)); // 800.8
        Assert.Equal(0, Cpi125.TicksForCycles(1));

        Assert.Equal(CostProfiles.Default.ClockHz, CostProfiles.Default.TickHz);
        Assert.Equal(15_825, CostProfiles.Default.TicksForCycles(CostProfiles.Default.CostOf(EventKind.ExitIo)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpi125.TicksForCycles(-1));
    }
}
