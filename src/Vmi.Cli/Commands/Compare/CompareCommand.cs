using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Vmi.Hypervisors;
using Vmi.Hypervisors.Costs;
using Vmi.Cli.Commands.Workloads;

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
    public static Command Create()
    {
        var kernel = new Argument<FileInfo>("kernel") { Description = "the guest kernel (guest/build/kernel.elf) with the workloads" };
        var backends = new Option<string>("--backends") { Description = $"comma-separated backends to compare ({BackendChoice.BackendNames}); native's column comes first", DefaultValueFactory = _ => string.Join(',', HypervisorCatalog.Names) };
        var bench = new Option<string>("--bench") { Description = $"'all' or comma-separated workloads: {string.Join(", ", GuestWorkloads.Names)}", DefaultValueFactory = _ => "all" };
        var iters = new Option<int>("--iters") { Description = "iterations of each workload", DefaultValueFactory = _ => GuestWorkloads.DefaultIters };
        var costProfile = new Option<string?>("--cost-profile") { Description = $"cost profile: {string.Join(", ", CostProfiles.BuiltInNames)} or a FILE (default {BackendChoice.DefaultProfile})" };
        var append = new Option<string>("--append") { Description = "more kernel command-line arguments for every run", DefaultValueFactory = _ => "" };
        var json = new Option<string?>("--json") { Description = "write every number as JSON to FILE ('-' for stdout; the tables then go to stderr)" };
        var jobs = new Option<int>("--jobs", "-j") { Description = "runs at a time (at most the number of processors; the results do not depend on it)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var maxInstructions = new Option<long?>("--max-instructions") { Description = $"stop a run that has not ended after this many guest instructions, a failure (default {GuestWorkloads.StuckInstructions:N0} + {GuestWorkloads.StuckInstructionsPerIteration:N0} per iteration)" };
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
        if (GuestWorkloads.ParseBackends(o.Backends, out List<string> backendNames) is string backendsError)
        {
            return Fail(ExitCode.Usage, backendsError);
        }
        if (GuestWorkloads.ParseWorkloads(o.Bench, out List<string> workloads) is string benchError)
        {
            return Fail(ExitCode.Usage, benchError);
        }
        if (GuestWorkloads.CheckIters(o.Iters) is string itersError)
        {
            return Fail(ExitCode.Usage, itersError);
        }
        if (o.Jobs < 1)
        {
            return Fail(ExitCode.Usage, $"--jobs: {o.Jobs} is not a positive number of runs");
        }
        if (o.MaxInstructions < 1)
        {
            return Fail(ExitCode.Usage, "--max-instructions must be positive");
        }
        long maxInstructions = o.MaxInstructions ?? GuestWorkloads.StuckAfter(o.Iters);
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
    /// Runs every workload under every backend with N and with 2N iterations, <paramref name="threads"/>
    /// at a time (<see cref="RunPool"/>), keyed by workload, backend and whether N was doubled.
    /// </summary>
    private static (ExitCode, string)? RunAll(byte[] image, List<BackendChoice> backends, List<string> workloads, int iters, byte[] extra, long maxInstructions, int threads,
        out Dictionary<(string, string, bool), BenchRun> runs)
    {
        var jobs = (from bench in workloads from doubled in new[] { false, true } from backend in backends select (Bench: bench, Doubled: doubled, Backend: backend)).ToArray();
        RunSpec[] specs = [.. jobs.Select(j => new RunSpec(j.Backend, j.Bench, j.Doubled ? 2 * iters : iters, VmiOff: true, OptionRom: null, extra))];
        runs = [];
        if (RunPool.RunAll(image, specs, maxInstructions, threads, out BenchRun[] results) is { } error)
        {
            return error;
        }
        for (int i = 0; i < jobs.Length; i++)
        {
            runs[(jobs[i].Bench, jobs[i].Backend.Name, jobs[i].Doubled)] = results[i];
        }
        return null;
    }

    private static int Fail(ExitCode code, string message)
    {
        Console.Error.WriteLine($"vmi: {message}");
        return (int)code;
    }
}
