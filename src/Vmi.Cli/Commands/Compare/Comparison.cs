using Vmi.Hypervisors.Costs;
using Vmi.Hypervisors.Events;

namespace Vmi.Cli.Commands.Compare;

/// <summary>A workload's figures on one backend: its run with 2N iterations less its run with N, whole and per iteration.</summary>
internal sealed record WorkloadFigures(long Instructions, IReadOnlyDictionary<EventKind, long> Events, long ModelledCycles, long EventCycles, int Iters)
{
    public double PerIteration(long value) => (double)value / Iters;

    public long EventCount(EventKind kind) => Events.GetValueOrDefault(kind);

    /// <summary>run − baseline, field by field; event kinds in enum order, kinds whose difference is zero left out.</summary>
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

/// <summary>
/// Every run of a `vmi compare`, keyed by workload and backend, with the checks that make its
/// numbers comparable: every run ended with the guest reporting success, and every backend
/// printed the same RESULT lines for a workload (the same work was done).
/// </summary>
internal sealed class Comparison(string kernel, IReadOnlyList<string> backends, IReadOnlyList<string> workloads, int iters, CostProfile profile, string append,
    IReadOnlyDictionary<(string Bench, string Backend, bool Doubled), BenchRun> runs)
{
    public const string Native = "native";

    public string Kernel => kernel;

    /// <summary>In column order: native first when it is one of them.</summary>
    public IReadOnlyList<string> Backends => backends;

    public IReadOnlyList<string> Workloads => workloads;

    public int Iters => iters;

    public CostProfile Profile => profile;

    public string Append => append;

    public bool HasNative => backends.Contains(Native);

    /// <summary>The workload's run with N iterations (<paramref name="doubled"/>: with 2N).</summary>
    public BenchRun Run(string bench, string backend, bool doubled = false) => runs[(bench, backend, doubled)];

    /// <summary>
    /// N iterations' worth: the run with 2N iterations less the run with N. Everything a run does
    /// once (boot, starting init, printing the RESULT line, exit) cancels, so the figures are the
    /// workload's own however small N is.
    /// </summary>
    public WorkloadFigures Figures(string workload, string backend) => WorkloadFigures.Between(Run(workload, backend, doubled: true), Run(workload, backend), iters);

    /// <summary>Modelled cycles of <paramref name="backend"/> over native's for the workload; null without native or when native's figure is not positive.</summary>
    public double? RatioToNative(string workload, string backend)
    {
        if (!HasNative)
        {
            return null;
        }
        long native = Figures(workload, Native).ModelledCycles;
        return native > 0 ? (double)Figures(workload, backend).ModelledCycles / native : null;
    }

    /// <summary>Why the numbers cannot be trusted, one line each, naming the workload and the backend; empty when they can.</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        foreach (string bench in workloads)
        {
            foreach (string backend in backends)
            {
                foreach (bool doubled in new[] { false, true })
                {
                    BenchRun run = Run(bench, backend, doubled);
                    if (!run.Passed)
                    {
                        problems.Add($"{bench} (iters={run.Iters}) on {backend}: {RunCommand.Describe(run.Result)}");
                    }
                }
            }
        }
        foreach (string workload in workloads)
            foreach (bool doubled in new[] { false, true })
            {
                string first = backends[0];
                IReadOnlyList<string> expected = Run(workload, first, doubled).Results;
                foreach (string backend in backends)
                {
                    IReadOnlyList<string> got = Run(workload, backend, doubled).Results;
                    if (!got.Any(l => l.StartsWith($"RESULT bench={workload} ", StringComparison.Ordinal)))
                    {
                        problems.Add($"{workload} on {backend}: the guest printed no RESULT line for bench={workload}");
                    }
                    else if (!got.SequenceEqual(expected))
                    {
                        problems.Add($"{workload}: {backend} printed '{string.Join(" / ", got)}' but {first} printed '{string.Join(" / ", expected)}'");
                    }
                }
            }
        return problems;
    }
}
