using Vmi.Hypervisors.Events;

namespace Vmi.Cli.Commands.Workloads;

/// <summary>A workload's figures on one backend: its run with 2N iterations less its run with N, whole and per iteration.</summary>
internal sealed record WorkloadFigures(long Instructions, IReadOnlyDictionary<EventKind, long> Events, long ModelledCycles, long EventCycles, int Iters)
{
    public double PerIteration(long value) => (double)value / Iters;

    public long EventCount(EventKind kind) => Events.GetValueOrDefault(kind);

    /// <summary>
    /// N iterations' worth: <paramref name="run"/> (2N iterations) less <paramref name="baseline"/>
    /// (N), field by field. Everything a run does once (boot, starting init, printing the RESULT
    /// line, exit) cancels, so the figures are the workload's own however small N is. Event kinds
    /// in enum order, kinds whose difference is zero left out.
    /// </summary>
    public static WorkloadFigures Between(BenchRun run, BenchRun baseline, int iters) => new(
        run.Instructions - baseline.Instructions,
        Enum.GetValues<EventKind>()
            .Select(k => (Kind: k, Count: run.Events.GetValueOrDefault(k) - baseline.Events.GetValueOrDefault(k)))
            .Where(e => e.Count != 0)
            .ToDictionary(e => e.Kind, e => e.Count),
        run.ModelledCycles - baseline.ModelledCycles,
        run.EventCycles - baseline.EventCycles,
        iters);
}
