using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Vmi.Cli.Commands.Workloads;
using Vmi.Cpu;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Costs;

namespace Vmi.Cli.Commands.Bench;

/// <summary>
/// `vmi bench [KERNEL]`: the whole matrix, cost profile × backend × {vmi=off, the backend's ROM} ×
/// workload, each cell measured as `vmi compare` measures (runs with N and 2N iterations, the
/// difference), checked against native with vmi=off, and written as a table, JSON, CSV, Markdown and
/// a chart. Exit 0; 1 when a check fails (the outputs are written all the same); 2 for bad input.
/// </summary>
public static class BenchCommand
{
    /// <summary>The kernel when none is named: where `make -C guest` puts it.</summary>
    public const string DefaultKernel = "guest/build/kernel.elf";

    /// <summary>--quick: few iterations of three workloads (a system call, a page-table update, user arithmetic), every backend and mode.</summary>
    private const int QuickIters = 20;

    private const string QuickWorkloads = "syscall,ptemod,compute";

    public static Command Create()
    {
        var kernel = new Argument<FileInfo?>("kernel") { Description = $"the guest kernel with the workloads (default {DefaultKernel})", Arity = ArgumentArity.ZeroOrOne };
        var quick = new Option<bool>("--quick") { Description = $"a small matrix: iters={QuickIters}, workloads {QuickWorkloads} (unless --iters or --bench say otherwise), every backend and mode" };
        var backends = new Option<string?>("--backends") { Description = $"comma-separated backends ({BackendChoice.BackendNames}; default all); native, the baseline, is always run" };
        var bench = new Option<string?>("--bench") { Description = $"'all' (default) or comma-separated workloads: {string.Join(", ", GuestWorkloads.Names)}" };
        var iters = new Option<int?>("--iters") { Description = $"iterations N of each workload (the runs use N and 2N; default {GuestWorkloads.DefaultIters})" };
        var costProfile = new Option<string?>("--cost-profile") { Description = $"comma-separated cost profiles: {string.Join(", ", CostProfiles.BuiltInNames)} or FILEs (default {BackendChoice.DefaultProfile})" };
        var cpu = new Option<string?>("--cpu") { Description = $"comma-separated CPU models every backend runs on ({BackendChoice.CpuNames}; default each backend's own); a backend that refuses one is skipped there" };
        var output = new Option<string>("--out") { Description = "directory for bench.json, bench.csv, bench.md and bench.png (created if missing)", DefaultValueFactory = _ => BenchOutputs.DefaultDirectory };
        var jobs = new Option<int>("--jobs", "-j") { Description = "runs at a time (at most the number of processors; the results do not depend on it)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("bench", "measure every workload under every backend with and without its VMI ROM: table, JSON, CSV, Markdown and chart")
        {
            kernel, quick, backends, bench, iters, costProfile, cpu, output, jobs,
        };
        command.SetAction(p => Execute(new BenchOptions(
            p.GetValue(kernel), p.GetValue(quick), p.GetValue(backends), p.GetValue(bench), p.GetValue(iters), p.GetValue(costProfile), p.GetValue(cpu), p.GetValue(output)!, p.GetValue(jobs))));
        return command;
    }

    private sealed record BenchOptions(FileInfo? Kernel, bool Quick, string? Backends, string? Bench, int? Iters, string? CostProfiles, string? Cpus, string Out, int Jobs);

    private static int Execute(BenchOptions o)
    {
        if (Plan(o, out BenchMatrix? matrix, out byte[] image) is string error)
        {
            return Fail(ExitCode.Usage, error);
        }
        using BenchOutputs? outputs = BenchOutputs.TryCreate(o.Out, out string outError);
        if (outputs is null)
        {
            return Fail(ExitCode.Usage, outError);
        }
        foreach (string note in matrix!.SkipNotes())
        {
            Console.Error.WriteLine($"vmi: bench: note: {note}");
        }

        RunSpec[] specs = matrix.Specs();
        int threads = Math.Min(o.Jobs, Environment.ProcessorCount);
        var clock = Stopwatch.StartNew();
        string description = $"bench: {matrix.Cells.Count} cells, {specs.Length} runs";
        (ExitCode, string)? runError = null;
        BenchRun[] runs = BenchProgress.Run(description, specs.Length, tick =>
        {
            runError = RunPool.RunAll(image, specs, GuestWorkloads.StuckAfter(matrix.Iters), threads, out BenchRun[] done, tick);
            return done;
        });
        if (runError is (ExitCode code, string message))
        {
            return Fail(code, code == ExitCode.Usage ? $"{Path.GetFileName(matrix.Kernel)}: {message}" : message);
        }
        BenchResults results = matrix.Complete(runs);
        Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "vmi: bench: {0} cells ({1} runs), {2} at a time, in {3:F1} s host time",
            matrix.Cells.Count, specs.Length, threads, clock.Elapsed.TotalSeconds));

        BenchTable.Write(TableConsole.Create(toStderr: false), results);
        List<string> lost = outputs.WriteAll(BenchJson.Write(results), BenchCsv.Write(results), BenchTable.Markdown(results), BenchChart.Png(results));
        Console.Error.WriteLine($"vmi: bench: wrote bench.json, bench.csv, bench.md and bench.png in {o.Out}");
        List<string> problems = [.. results.Problems];
        foreach (string problem in problems)
        {
            Console.Error.WriteLine($"vmi: bench: {problem}");
        }
        foreach (string problem in lost)
        {
            Console.Error.WriteLine($"vmi: {problem}");
        }
        return (int)(problems.Count > 0 || lost.Count > 0 ? ExitCode.Failure : ExitCode.Success);
    }

    /// <summary>The options checked and the matrix planned (backends resolved, ROMs built), or the first problem, naming its option.</summary>
    private static string? Plan(BenchOptions o, out BenchMatrix? matrix, out byte[] image)
    {
        matrix = null;
        image = [];
        if (GuestWorkloads.ParseBackends(o.Backends ?? string.Join(',', HypervisorCatalog.Names), out List<string> backends) is string backendsError)
        {
            return backendsError;
        }
        if (!backends.Contains(GuestWorkloads.Native))
        {
            backends.Insert(0, GuestWorkloads.Native);
        }
        if (GuestWorkloads.ParseWorkloads(o.Bench ?? (o.Quick ? QuickWorkloads : "all"), out List<string> workloads) is string benchError)
        {
            return benchError;
        }
        int iters = o.Iters ?? (o.Quick ? QuickIters : GuestWorkloads.DefaultIters);
        if (GuestWorkloads.CheckIters(iters) is string itersError)
        {
            return itersError;
        }
        if (o.Jobs < 1)
        {
            return $"--jobs: {o.Jobs} is not a positive number of runs";
        }
        if (ParseProfiles(o.CostProfiles ?? BackendChoice.DefaultProfile, out List<CostProfile> profiles) is string profileError)
        {
            return profileError;
        }
        List<CpuModel>? cpus = null;
        if (o.Cpus is not null && ParseCpus(o.Cpus, out cpus) is string cpuError)
        {
            return cpuError;
        }
        FileInfo kernel = o.Kernel ?? new FileInfo(DefaultKernel);
        if (o.Kernel is null && !kernel.Exists)
        {
            return $"kernel {kernel.FullName}: not found (build it with 'make -C guest', or name a kernel)";
        }
        if (!InputFile.TryRead(kernel, InputLimit.Kernel, out image, out string readError))
        {
            return $"kernel {readError}";
        }
        matrix = BenchMatrix.Plan(kernel.FullName, iters, profiles, cpus, backends, workloads);
        return null;
    }

    /// <summary>--cost-profile: built-in names or files, each once.</summary>
    private static string? ParseProfiles(string text, out List<CostProfile> profiles)
    {
        profiles = [];
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (BackendChoice.LoadProfile(item, out CostProfile? profile) is string error)
            {
                return error;
            }
            if (profiles.Any(p => p.Name == profile!.Name))
            {
                return $"--cost-profile: '{profile!.Name}' is named twice";
            }
            profiles.Add(profile!);
        }
        return null;
    }

    /// <summary>--cpu: known models, each once.</summary>
    private static string? ParseCpus(string text, out List<CpuModel> cpus)
    {
        cpus = [];
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (CpuModel.Find(item) is not CpuModel model)
            {
                return $"--cpu: unknown model '{item}' (known: {BackendChoice.CpuNames})";
            }
            if (cpus.Contains(model))
            {
                return $"--cpu: '{model.Name}' is named twice";
            }
            cpus.Add(model);
        }
        return null;
    }

    private static int Fail(ExitCode code, string message)
    {
        Console.Error.WriteLine($"vmi: {message}");
        return (int)code;
    }
}
