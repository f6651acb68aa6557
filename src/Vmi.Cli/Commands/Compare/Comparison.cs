using Vmi.Cli.Commands.Workloads;
using Vmi.Hypervisors.Costs;

namespace Vmi.Cli.Commands.Compare;

/// <summary>
/// Every run of a `vmi compare`, keyed by workload and backend, with the checks that make its
/// numbers comparable: every run ended with the guest reporting success, and every backend
/// printed the same RESULT lines for a workload (the same work was done).
/// </summary>
internal sealed class Comparison(string kernel, IReadOnlyList<string> backends, IReadOnlyList<string> workloads, int iters, CostProfile profile, string append,
    IReadOnlyDictionary<(string Bench, string Backend, bool Doubled), BenchRun> runs)
{
    public const string Native = GuestWorkloads.Native;

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

    /// <summary>N iterations' worth: the run with 2N iterations less the run with N (<see cref="WorkloadFigures.Between"/>).</summary>
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

    /// <summary>
    /// Why the numbers cannot be trusted, one line for each run that failed or printed other RESULT
    /// lines than the first backend's, naming the workload and the backend; empty when they can.
    /// </summary>
    public List<string> Problems() =>
        [.. from workload in workloads
            from doubled in new[] { false, true }
            from backend in backends
            let expected = Run(workload, backends[0], doubled)
            select Run(workload, backend, doubled).ProblemAgainst(expected, $"{workload} on {backend}", $"{workload} on {backends[0]}") into problem
            where problem is not null
            select problem];
}
