using Vmi.Hypervisors;

namespace Vmi.Cli.Commands.Workloads;

/// <summary>
/// What `vmi compare` and `vmi bench` share about the guest kernel's workloads: their names, how
/// many iterations to run, when a run is stuck, and the options that choose workloads and backends.
/// </summary>
internal static class GuestWorkloads
{
    /// <summary>The baseline every ratio is taken to: no hypervisor.</summary>
    public const string Native = "native";

    /// <summary>The guest's workloads, in its order (guest/kernel/uapi.h, WORKLOADS).</summary>
    public static IReadOnlyList<string> Names { get; } = ["syscall", "forkwait", "ctxsw", "pgfault", "ptemod", "divzero", "cpuid", "kcpuid", "irqflags", "io", "compute"];

    /// <summary>
    /// Iterations per workload unless --iters says otherwise (the runs use N and 2N). The fixed
    /// costs cancel, so N need only be large enough that timer ticks average out over the iterations.
    /// </summary>
    public const int DefaultIters = 200;

    public const int MaxIters = 10_000_000;

    /// <summary>
    /// A run that has not ended after this many instructions, plus <see cref="StuckInstructionsPerIteration"/>
    /// per iteration, is stuck: the longest run of the default comparison (forkwait) retires about
    /// 1 million plus 107 thousand per iteration.
    /// </summary>
    public const long StuckInstructions = 100_000_000;

    public const long StuckInstructionsPerIteration = 1_000_000;

    /// <summary>The instruction limit of a run with 2N iterations, the longer of a pair.</summary>
    public static long StuckAfter(int iters) => StuckInstructions + (2L * iters * StuckInstructionsPerIteration);

    /// <summary>--iters: between 1 and <see cref="MaxIters"/>, or the message naming the option.</summary>
    public static string? CheckIters(int iters) =>
        iters is < 1 or > MaxIters ? $"--iters: {iters} is not between 1 and {MaxIters:N0}" : null;

    /// <summary>--backends: known names, each once; native moved first so the ratios' base leads.</summary>
    public static string? ParseBackends(string text, out List<string> names)
    {
        names = [];
        foreach (string raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string? name = HypervisorCatalog.Names.FirstOrDefault(n => string.Equals(n, raw, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                return $"--backends: unknown backend '{raw}' (known: {BackendChoice.BackendNames})";
            }
            if (names.Contains(name))
            {
                return $"--backends: '{name}' is named twice";
            }
            names.Add(name);
        }
        names = [.. names.Where(n => n == Native), .. names.Where(n => n != Native)];
        return null;
    }

    /// <summary>--bench: 'all' (the guest's order) or known workloads, each once, in the order given.</summary>
    public static string? ParseWorkloads(string text, out List<string> workloads)
    {
        workloads = [];
        if (string.Equals(text.Trim(), "all", StringComparison.OrdinalIgnoreCase))
        {
            workloads = [.. Names];
            return null;
        }
        foreach (string raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string? name = Names.FirstOrDefault(w => string.Equals(w, raw, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                return $"--bench: unknown workload '{raw}' (known: all, {string.Join(", ", Names)})";
            }
            if (workloads.Contains(name))
            {
                return $"--bench: '{name}' is named twice";
            }
            workloads.Add(name);
        }
        return null;
    }
}
