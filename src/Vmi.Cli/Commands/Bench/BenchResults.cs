using Vmi.Cli.Commands.Workloads;

namespace Vmi.Cli.Commands.Bench;

/// <summary>A cell's two runs (none when skipped) and its figures: the 2N run less the N run.</summary>
internal sealed record CellResult(BenchCell Cell, BenchRun? Single, BenchRun? Doubled)
{
    public WorkloadFigures? Figures { get; } = Single is null || Doubled is null ? null : WorkloadFigures.Between(Doubled, Single, Single.Iters);
}

/// <summary>
/// Every cell's result with what makes the numbers comparable: each cell is checked against its
/// group's native cell with vmi=off for the same workload (both runs ended with the guest reporting
/// success and printed the same RESULT lines), and its modelled cycles are taken relative to it.
/// </summary>
internal sealed class BenchResults
{
    private readonly Dictionary<(BenchGroup, string, string, VmiMode), CellResult> byKey;
    private readonly Dictionary<BenchCell, List<string>> problems;

    public BenchResults(BenchMatrix matrix, IReadOnlyList<CellResult> cells)
    {
        Matrix = matrix;
        Cells = cells;
        byKey = cells.ToDictionary(c => (c.Cell.Group, c.Cell.Workload, c.Cell.Backend, c.Cell.Mode));
        problems = cells.ToDictionary(c => c.Cell, Check);
    }

    public BenchMatrix Matrix { get; }

    /// <summary>In the matrix's cell order.</summary>
    public IReadOnlyList<CellResult> Cells { get; }

    public CellResult Of(BenchGroup group, string workload, string backend, VmiMode mode) => byKey[(group, workload, backend, mode)];

    /// <summary>The cell every ratio and check of <paramref name="cell"/> is taken against.</summary>
    public CellResult BaselineOf(BenchCell cell) => Of(cell.Group, cell.Workload, GuestWorkloads.Native, VmiMode.Off);

    /// <summary>Why the cell's numbers cannot be trusted; empty when they can (and for a skipped cell).</summary>
    public IReadOnlyList<string> ProblemsOf(BenchCell cell) => problems[cell];

    /// <summary>Every problem, in cell order.</summary>
    public IEnumerable<string> Problems => Cells.SelectMany(c => problems[c.Cell]);

    /// <summary>"ok", "failed" (see <see cref="ProblemsOf"/>) or "skipped" (the backend refused the CPU model).</summary>
    public string StatusOf(BenchCell cell) => cell.Skipped is not null ? "skipped" : problems[cell].Count > 0 ? "failed" : "ok";

    /// <summary>Modelled cycles over the baseline's; null for a skipped cell, or when the baseline's are not positive.</summary>
    public double? Ratio(CellResult r)
    {
        WorkloadFigures? baseline = BaselineOf(r.Cell).Figures;
        return r.Figures is null || baseline is null || baseline.ModelledCycles <= 0 ? null : (double)r.Figures.ModelledCycles / baseline.ModelledCycles;
    }

    private List<string> Check(CellResult r)
    {
        if (r.Cell.Skipped is not null)
        {
            return [];
        }
        CellResult baseline = BaselineOf(r.Cell);
        if (baseline.Single is null || baseline.Doubled is null)
        {
            return [$"{r.Cell.Name}: nothing to check it against ({baseline.Cell.Name} was skipped)"];
        }
        return [.. new[]
            {
                r.Single!.ProblemAgainst(baseline.Single, r.Cell.Name, baseline.Cell.Name),
                r.Doubled!.ProblemAgainst(baseline.Doubled, r.Cell.Name, baseline.Cell.Name),
            }.OfType<string>()];
    }
}
