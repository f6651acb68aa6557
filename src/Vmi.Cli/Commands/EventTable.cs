using System.Globalization;
using Spectre.Console;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Events;
using Vmi.Hypervisors.NestedPaging;

namespace Vmi.Cli.Commands;

/// <summary>
/// `vmi run --events`: what a backend counted during the run, priced with its cost profile. One row
/// per event kind (most expensive first) with a sub-row per detail, then how the modelled cycles
/// add up, and for vt-npt the two-dimensional walks' references by level.
/// </summary>
internal static class EventTable
{
    private static readonly string[] WalkLevels = ["nested directory", "nested table", "guest directory", "guest table"];

    public static void Write(IAnsiConsole console, Hypervisor hypervisor, long instructions)
    {
        var inv = CultureInfo.InvariantCulture;
        long modelled = hypervisor.ModelledCycles(instructions);
        long eventCycles = hypervisor.EventCycles;
        long instructionCycles = modelled - eventCycles;
        string Share(long cycles) => modelled == 0 ? "-" : (100.0 * cycles / modelled).ToString("F2", inv) + " %";

        var events = new Table { Title = new TableTitle($"{hypervisor.Name} events (cost profile {hypervisor.Profile.Name})") };
        events.AddColumns(TableConsole.Label("event"), TableConsole.Number("count"), TableConsole.Number("cycles"), TableConsole.Number("share"));
        IReadOnlyDictionary<EventKind, long> counts = hypervisor.Events.Counts;
        foreach ((EventKind kind, long count) in counts.OrderByDescending(c => c.Value * hypervisor.Profile.CostOf(c.Key)).ThenBy(c => c.Key))
        {
            long cost = hypervisor.Profile.CostOf(kind);
            events.AddTextRow(kind.ToString(), count.ToString("N0", inv), (count * cost).ToString("N0", inv), Share(count * cost));
            foreach (((EventKind _, string detail), long n) in hypervisor.Events.CountsByDetail
                .Where(d => d.Key.Kind == kind).OrderByDescending(d => d.Value).ThenBy(d => d.Key.Detail, StringComparer.Ordinal))
            {
                events.AddTextRow("  " + detail, n.ToString("N0", inv), (n * cost).ToString("N0", inv), Share(n * cost));
            }
        }
        if (counts.Count == 0)
        {
            events.AddTextRow("(no events)", "0", "0", Share(0));
        }
        console.Write(events);

        var totals = new Table { Title = new TableTitle("modelled cycles"), ShowHeaders = false };
        totals.AddColumns(TableConsole.Label(""), TableConsole.Number(""));
        totals.AddTextRow("guest instructions", instructions.ToString("N0", inv));
        totals.AddTextRow($"instruction cycles (x CPI {hypervisor.Profile.Cpi.ToString("0.###", inv)})", instructionCycles.ToString("N0", inv));
        totals.AddTextRow("event cycles", eventCycles.ToString("N0", inv));
        totals.AddTextRow("modelled cycles", modelled.ToString("N0", inv));
        totals.AddTextRow($"modelled guest seconds (at {hypervisor.Profile.ClockHz / 1e6:0.###} MHz)", ((double)modelled / hypervisor.Profile.ClockHz).ToString("F6", inv));
        console.Write(totals);

        if (hypervisor is VtNptHypervisor npt && npt.WalkReferencesByLevel.Count > 0)
        {
            var walk = new Table { Title = new TableTitle("2-D walk references by level") };
            walk.AddColumns(TableConsole.Label("level"), TableConsole.Number("references"));
            for (int level = 0; level < npt.WalkReferencesByLevel.Count; level++)
            {
                string name = level < WalkLevels.Length ? WalkLevels[level] : $"level {level}";
                walk.AddTextRow(name, npt.WalkReferencesByLevel[level].ToString("N0", inv));
            }
            console.Write(walk);
        }
    }
}
