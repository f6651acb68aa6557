using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Costs;
using Vmi.Machine;

namespace Vmi.Cli.Commands.Compare;

/// <summary>
/// `vmi compare KERNEL`: the guest's workloads under every backend, priced with one cost profile.
/// Each workload W runs alone twice, "vmi=off quiet bench=W iters=N" and with 2N iterations; W's
/// figures are the second run less the first (so boot, printing and exit cancel), divided by N.
/// The numbers count only if every run's guest reported success and every backend printed the same
/// RESULT lines for W. Exit 0; 1 when a check fails; 2 for bad input.
/// </summary>
public static class CompareCommand
{
    /// <summary>The guest's workloads, in its order (guest/kernel/uapi.h, WORKLOADS).</summary>
    public static IReadOnlyList<string> Workloads { get; } = ["syscall", "forkwait", "ctxsw", "pgfault", "ptemod", "divzero", "cpuid", "irqflags", "io", "compute"];

    /// <summary>
    /// Iterations per workload unless --iters says otherwise (the runs use N and 2N). The fixed
    /// costs cancel, so N need only be large enough that timer ticks average out over the iterations.
    /// </summary>
    public const int DefaultIters = 200;

    private const int MaxIters = 10_000_000;

    /// <summary>
    /// A run that has not ended after this many instructions, plus <see cref="StuckInstructionsPerIteration"/>
    /// per iteration, is stuck: the longest run of the default comparison (forkwait) retires about
    /// 1 million plus 107 thousand per iteration.
    /// </summary>
    private const long StuckInstructions = 100_000_000;

    private const long StuckInstructionsPerIteration = 1_000_000;

    public static Command Create()
    {
        var kernel = new Argument<FileInfo>("kernel") { Description = "the guest kernel (guest/build/kernel.elf) with the workloads" };
        var backends = new Option<string>("--backends") { Description = $"comma-separated backends to compare ({BackendChoice.BackendNames}); native's column comes first", DefaultValueFactory = _ => string.Join(',', HypervisorCatalog.Names) };
        var bench = new Option<string>("--bench") { Description = $"'all' or comma-separated workloads: {string.Join(", ", Workloads)}", DefaultValueFactory = _ => "all" };
        var iters = new Option<int>("--iters") { Description = "iterations of each workload", DefaultValueFactory = _ => DefaultIters };
        var costProfile = new Option<string?>("--cost-profile") { Description = $"cost profile: {string.Join(", ", CostProfiles.BuiltInNames)} or a FILE (default {BackendChoice.DefaultProfile})" };
        var append = new Option<string>("--append") { Description = "more kernel command-line arguments for every run", DefaultValueFactory = _ => "" };
        var json = new Option<string?>("--json") { Description = "write every number as JSON to FILE ('-' for stdout; the tables then go to stderr)" };
        var jobs = new Option<int>("--jobs", "-j") { Description = "runs at a time (at most the number of processors; the results do not depend on it)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var maxInstructions = new Option<long?>("--max-instructions") { Description = $"stop a run that has not ended after this many guest instructions, a failure (default {StuckInstructions:N0} + {StuckInstructionsPerIteration:N0} per iteration)" };
        var command = new Command("compare", "run the guest's workloads under each hypervisor backend and compare their modelled cycles")
        {
            kernel, backends, bench, iters, costProfile, append, json, jobs, maxInstructions,
        };
        command.SetAction(p => Execute(new CompareOptions(
            p.GetValue(kernel)!, p.GetValue(backends)!, p.GetValue(bench)!, p.GetValue(iters), p.GetValue(costProfile), p.GetValue(append) ?? "",
            p.GetValue(json), p.GetValue(jobs), p.GetValue(maxInstructions))));
        return command;
    }

    private sealed record CompareOptions(FileInfo Kernel, string Backends, string Bench, int Iters, string? CostProfile, string Append, string? Json, int Jobs, long? MaxInstructions);

    private static int Execute(CompareOptions o)
    {
        if (ParseBackends(o.Backends, out List<string> backendNames) is string backendsError)
        {
            return Fail(ExitCode.Usage, backendsError);
        }
        if (ParseWorkloads(o.Bench, out List<string> workloads) is string benchError)
        {
            return Fail(ExitCode.Usage, benchError);
        }
        if (o.Iters is < 1 or > MaxIters)
        {
            return Fail(ExitCode.Usage, $"--iters: {o.Iters} is not between 1 and {MaxIters:N0}");
        }
        if (o.Jobs < 1)
        {
            return Fail(ExitCode.Usage, $"--jobs: {o.Jobs} is not a positive number of runs");
        }
        if (o.MaxInstructions < 1)
        {
            return Fail(ExitCode.Usage, "--max-instructions must be positive");
        }
        long maxInstructions = o.MaxInstructions ?? StuckInstructions + (2L * o.Iters * StuckInstructionsPerIteration);
        if (BackendChoice.LoadProfile(o.CostProfile, out CostProfile? profile) is string profileError)
        {
            return Fail(ExitCode.Usage, profileError);
        }
        var backends = new List<BackendChoice>();
        foreach (string name in backendNames)
        {
            if (BackendChoice.ResolveBackend(name, profile!, cpu: null, out BackendChoice? backend) is string error)
            {
                return Fail(ExitCode.Usage, error);
            }
            backends.Add(backend!);
        }
        if (!InputFile.TryRead(o.Kernel, InputLimit.Kernel, out byte[] image, out string readError))
        {
            return Fail(ExitCode.Usage, $"kernel {readError}");
        }
        OutputFile? jsonFile = null;
        if (o.Json is not null && o.Json != "-" && (jsonFile = OutputFile.TryCreate("--json", o.Json, out string jsonError)) is null)
        {
            return Fail(ExitCode.Usage, jsonError);
        }

        using (jsonFile)
        {
            byte[] extra = o.Append.Length == 0 ? [] : RawArguments.OptionValue("--append", o.Append);
            var clock = Stopwatch.StartNew();
            int threads = Math.Min(o.Jobs, Environment.ProcessorCount);
            if (RunAll(image, backends, workloads, o.Iters, extra, maxInstructions, threads, out Dictionary<(string, string, bool), BenchRun> runs) is (ExitCode code, string runError))
            {
                return Fail(code, code == ExitCode.Usage ? $"{o.Kernel.Name}: {runError}" : runError);
            }
            var comparison = new Comparison(o.Kernel.FullName, [.. backends.Select(b => b.Name)], workloads, o.Iters, profile!, o.Append, runs);
            Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "vmi: compare: {0} runs, {1} at a time, in {2:F1} s host time", runs.Count, threads, clock.Elapsed.TotalSeconds));
            List<string> problems = comparison.Problems();
            if (problems.Count > 0)
            {
                foreach (string problem in problems)
                {
                    Console.Error.WriteLine($"vmi: compare: {problem}");
                }
                return (int)ExitCode.Failure;
            }
            CompareReport.WriteTables(TableConsole.Create(toStderr: o.Json == "-"), comparison);
            string text = CompareReport.Json(comparison) + Environment.NewLine;
            if (o.Json == "-")
            {
                Console.Out.Write(text);
            }
            else if (jsonFile is not null)
            {
                jsonFile.Write(System.Text.Encoding.UTF8.GetBytes(text));
                jsonFile.Dispose();
                if (jsonFile.Problem is string problem)
                {
                    return Fail(ExitCode.Failure, problem);
                }
            }
        }
        return (int)ExitCode.Success;
    }

    /// <summary>
    /// Runs every workload and the baseline under every backend, <paramref name="threads"/> at a
    /// time. Each run has its own VM and backend and its result its own slot, so the outcome does
    /// not depend on the order or the number of threads. An error: a kernel the machine cannot boot
    /// (usage), or a bug in vmi (failure).
    /// </summary>
    private static (ExitCode, string)? RunAll(byte[] image, List<BackendChoice> backends, List<string> workloads, int iters, byte[] extra, long maxInstructions, int threads,
        out Dictionary<(string, string, bool), BenchRun> runs)
    {
        var jobs = (from bench in workloads from doubled in new[] { false, true } from backend in backends select (Bench: bench, Doubled: doubled, Backend: backend)).ToArray();
        var results = new BenchRun?[jobs.Length];
        var errors = new (ExitCode, string)?[jobs.Length];
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
        {
            try
            {
                results[i] = BenchRun.Run(image, jobs[i].Backend, jobs[i].Bench, jobs[i].Doubled ? 2 * iters : iters, extra, maxInstructions);
            }
            catch (VmBuildException e)
            {
                errors[i] = (ExitCode.Usage, e.Message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                errors[i] = (ExitCode.Failure, $"{jobs[i].Bench} on {jobs[i].Backend.Name}: internal error (a bug in vmi, not in the guest): {e.GetType().Name}: {e.Message}");
            }
        });
        runs = [];
        for (int i = 0; i < jobs.Length; i++)
        {
            if (errors[i] is { } error)
            {
                return error;
            }
            runs[(jobs[i].Bench, jobs[i].Backend.Name, jobs[i].Doubled)] = results[i]!;
        }
        return null;
    }

    /// <summary>--backends: known names, each once; native moved first so the ratio column's base leads.</summary>
    private static string? ParseBackends(string text, out List<string> names)
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
        names = [.. names.Where(n => n == Comparison.Native), .. names.Where(n => n != Comparison.Native)];
        return null;
    }

    /// <summary>--bench: 'all' (the guest's order) or known workloads, each once, in the order given.</summary>
    private static string? ParseWorkloads(string text, out List<string> workloads)
    {
        workloads = [];
        if (string.Equals(text.Trim(), "all", StringComparison.OrdinalIgnoreCase))
        {
            workloads = [.. Workloads];
            return null;
        }
        foreach (string raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string? name = Workloads.FirstOrDefault(w => string.Equals(w, raw, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                return $"--bench: unknown workload '{raw}' (known: all, {string.Join(", ", Workloads)})";
            }
            if (workloads.Contains(name))
            {
                return $"--bench: '{name}' is named twice";
            }
            workloads.Add(name);
        }
        return null;
    }

    private static int Fail(ExitCode code, string message)
    {
        Console.Error.WriteLine($"vmi: {message}");
        return (int)code;
    }
}
