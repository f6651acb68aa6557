using Vmi.Machine;

namespace Vmi.Cli.Commands.Workloads;

/// <summary>
/// Makes independent guest runs a number at a time. Each run has its own VM and backend and its
/// result its own slot, so the outcome does not depend on the order or the number of threads.
/// </summary>
internal static class RunPool
{
    /// <summary>
    /// Runs every spec, <paramref name="threads"/> at a time, calling <paramref name="finished"/>
    /// (from any thread) after each. The results in the order of <paramref name="specs"/>, or the
    /// first error in that order: a kernel the machine cannot boot (usage), or a bug in vmi (failure).
    /// </summary>
    public static (ExitCode Code, string Message)? RunAll(byte[] kernel, IReadOnlyList<RunSpec> specs, long maxInstructions, int threads,
        out BenchRun[] runs, Action? finished = null)
    {
        var results = new BenchRun?[specs.Count];
        var errors = new (ExitCode, string)?[specs.Count];
        // One run at a time per worker, taken in order: runs differ a hundredfold in length, and a
        // chunk of long ones given to one thread would leave the others idle at the end.
        var order = System.Collections.Concurrent.Partitioner.Create(Enumerable.Range(0, specs.Count), System.Collections.Concurrent.EnumerablePartitionerOptions.NoBuffering);
        Parallel.ForEach(order, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
        {
            RunSpec spec = specs[i];
            try
            {
                results[i] = BenchRun.Run(kernel, spec, maxInstructions);
            }
            catch (VmBuildException e)
            {
                errors[i] = (ExitCode.Usage, e.Message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                errors[i] = (ExitCode.Failure, $"{spec.Bench} on {spec.Backend.Name}: internal error (a bug in vmi, not in the guest): {e.GetType().Name}: {e.Message}");
            }
            finished?.Invoke();
        });
        runs = [];
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            return error;
        }
        runs = [.. results.Select(r => r!)];
        return null;
    }
}
