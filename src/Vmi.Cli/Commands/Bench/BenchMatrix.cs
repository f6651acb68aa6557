using Vmi.Cli.Commands.Workloads;
using Vmi.Cpu;
using Vmi.Hypervisors.Costs;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// The cells of a `vmi bench`: for each group (cost profile × CPU choice), workload, backend and
/// mode, in that order, which is the order of every output. Each cell's backend is resolved and its
/// ROM built before anything runs; a backend that refuses the group's CPU model leaves its cells
/// skipped, with the reason.
/// </summary>
internal sealed class BenchMatrix
{
    private BenchMatrix(string kernel, int iters, IReadOnlyList<BenchGroup> groups, IReadOnlyList<string> backends, IReadOnlyList<string> workloads, IReadOnlyList<BenchCell> cells)
    {
        Kernel = kernel;
        Iters = iters;
        Groups = groups;
        Backends = backends;
        Workloads = workloads;
        Cells = cells;
    }

    public string Kernel { get; }

    /// <summary>N: each cell runs its workload with N and with 2N iterations.</summary>
    public int Iters { get; }

    public IReadOnlyList<BenchGroup> Groups { get; }

    /// <summary>Native first: its vmi=off cells are every ratio's base and every check's reference.</summary>
    public IReadOnlyList<string> Backends { get; }

    public IReadOnlyList<string> Workloads { get; }

    public IReadOnlyList<BenchCell> Cells { get; }

    /// <summary>The table columns: every backend in both modes.</summary>
    public IEnumerable<(string Backend, VmiMode Mode)> Columns => from b in Backends from m in VmiModes.All select (b, m);

    /// <summary>The distinct ROMs the cells map, in the order they are first used.</summary>
    public IEnumerable<PublishedRom> Roms => Cells.Where(c => c.Rom is not null).Select(c => c.Rom!).DistinctBy(r => r.Sha256);

    /// <summary>
    /// The matrix for <paramref name="backends"/> (native first), each profile and each CPU model
    /// of <paramref name="cpus"/> (null: each backend's default model).
    /// </summary>
    public static BenchMatrix Plan(string kernel, int iters, IReadOnlyList<CostProfile> profiles, IReadOnlyList<CpuModel>? cpus, IReadOnlyList<string> backends, IReadOnlyList<string> workloads)
    {
        List<CpuModel?> choices = cpus is null ? [null] : [.. cpus];
        List<BenchGroup> groups = [.. from p in profiles from c in choices select new BenchGroup(p, c)];
        var cells = new List<BenchCell>();
        foreach (BenchGroup g in groups)
        {
            // One backend and one ROM per backend in a group: every workload and mode shares them.
            var resolved = backends.ToDictionary(b => b, b => Resolve(g, b));
            cells.AddRange(from w in workloads
                           from b in backends
                           from m in VmiModes.All
                           select new BenchCell(g, b, m, w, resolved[b].Choice, resolved[b].Rom, resolved[b].Skipped));
        }
        return new BenchMatrix(kernel, iters, groups, backends, workloads, cells);
    }

    private static (BackendChoice? Choice, PublishedRom? Rom, string? Skipped) Resolve(BenchGroup group, string backend)
    {
        if (BackendChoice.ResolveBackend(backend, group.Profile, group.Cpu, out BackendChoice? choice) is string refusal)
        {
            return (null, null, refusal.StartsWith("--cpu: ", StringComparison.Ordinal) ? refusal["--cpu: ".Length..] : refusal);
        }
        return (choice, PublishedRom.Of(choice!.Create().BuildRom(choice.Model)), null);
    }

    /// <summary>One line per backend a group's CPU model refused (its cells are skipped).</summary>
    public IEnumerable<string> SkipNotes() =>
        Cells.Where(c => c.Skipped is not null)
            .DistinctBy(c => (c.Group, c.Backend))
            .Select(c => $"{c.Backend} skipped ({c.Group.Title}): {c.Skipped}");

    /// <summary>The runs to make: for each cell that is not skipped, in cell order, N then 2N iterations.</summary>
    public RunSpec[] Specs() =>
        [.. from c in Cells
            where c.Skipped is null
            from iters in new[] { Iters, 2 * Iters }
            select new RunSpec(c.Choice!, c.Workload, iters, VmiOff: c.Mode == VmiMode.Off, OptionRom: c.Rom!.Image, Extra: [])];

    /// <summary>The cells' results from the runs of <see cref="Specs"/>, in the same order.</summary>
    public BenchResults Complete(IReadOnlyList<BenchRun> runs)
    {
        var results = new List<CellResult>();
        int next = 0;
        foreach (BenchCell cell in Cells)
        {
            if (cell.Skipped is not null)
            {
                results.Add(new CellResult(cell, null, null));
                continue;
            }
            results.Add(new CellResult(cell, runs[next], runs[next + 1]));
            next += 2;
        }
        return new BenchResults(this, results);
    }
}
