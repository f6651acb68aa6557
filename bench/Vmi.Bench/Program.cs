using System.Diagnostics;
using System.Globalization;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.TestSupport;

namespace Vmi.Bench;

/// <summary>
/// Guest MIPS of a compute-bound loop (the test kernel's bench=loop) on our interpreter, and the
/// same loop's time on QEMU (TCG) when it is installed. Instruction counts come from our run;
/// QEMU runs the identical guest code, so the same count divides its loop time.
/// Usage: dotnet run -c Release --project bench/Vmi.Bench [-- iters [runs]]
///        dotnet run -c Release --project bench/Vmi.Bench -- micro   (BenchmarkDotNet, with allocations)
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "micro")
        {
            BenchmarkDotNet.Running.BenchmarkRunner.Run<Micro.InterpreterBenchmarks>(args: args[1..]);
            return 0;
        }
        var inv = CultureInfo.InvariantCulture;
        int iters = args.Length > 0 ? int.Parse(args[0], inv) : 1_000_000;
        int runs = args.Length > 1 ? int.Parse(args[1], inv) : 5;
        string elf = QemuRunner.BuildTestKernel();
        byte[] image = File.ReadAllBytes(elf);

        Console.WriteLine($"kernel: {elf}");
        Console.WriteLine($"workload: bench=loop iters={iters}, {runs} timed runs after one warm-up");

        // Baseline: the same boot with a zero-length loop, so the loop's own count and time can be isolated.
        VmRunResult baseline = RunVmi(image, elf, 0, out _);
        RunVmi(image, elf, iters, out _); // warm-up: lets tiered JIT and PGO settle
        var seconds = new List<double>();
        long loopInstructions = 0;
        string output = "";
        for (int i = 0; i < runs; i++)
        {
            VmRunResult r = RunVmi(image, elf, iters, out output);
            loopInstructions = r.Instructions - baseline.Instructions;
            seconds.Add(r.HostSeconds - baseline.HostSeconds);
        }
        seconds.Sort();
        double best = seconds[0], median = seconds[runs / 2];
        Console.WriteLine(string.Format(inv, "vmi:  {0:N0} loop instructions; best {1:F3} s = {2:F1} MIPS, median {3:F3} s = {4:F1} MIPS",
            loopInstructions, best, loopInstructions / best / 1e6, median, loopInstructions / median / 1e6));
        Console.WriteLine($"      {output.Split('\n').FirstOrDefault(l => l.StartsWith("bench loop", StringComparison.Ordinal))}");

        if (QemuRunner.FindQemu() is null)
        {
            Console.WriteLine("qemu: qemu-system-i386 not installed, comparison skipped");
            return 0;
        }
        double qemuBase = TimeQemu(elf, 0, out _);
        var qemuSeconds = new List<double>();
        string qemuOut = "";
        for (int i = 0; i < runs; i++)
        {
            qemuSeconds.Add(TimeQemu(elf, iters, out qemuOut) - qemuBase);
        }
        qemuSeconds.Sort();
        double qBest = qemuSeconds[0], qMedian = qemuSeconds[runs / 2];
        Console.WriteLine(string.Format(inv, "qemu: best {0:F3} s = {1:F1} MIPS, median {2:F3} s = {3:F1} MIPS (TCG, wall time minus a zero-iteration boot)",
            qBest, loopInstructions / qBest / 1e6, qMedian, loopInstructions / qMedian / 1e6));
        bool same = qemuOut.Contains(output.Split('\n').First(l => l.StartsWith("bench loop", StringComparison.Ordinal)), StringComparison.Ordinal);
        Console.WriteLine($"      same checksum as vmi: {(same ? "yes" : "NO")}");
        Console.WriteLine(string.Format(inv, "ratio: vmi takes {0:F1}x QEMU's time on this loop", median / qMedian));
        return same ? 0 : 1;
    }

    private static VmRunResult RunVmi(byte[] image, string elf, int iters, out string output)
    {
        var serial = new MemoryStream();
        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(elf, $"bench=loop iters={iters}"),
            SerialOutput = serial,
        }, image);
        VmRunResult r = vm.Run();
        output = System.Text.Encoding.ASCII.GetString(serial.ToArray());
        if (r.Reason != VmExitReason.DebugExit || r.GuestExitCode != 1)
        {
            throw new InvalidOperationException($"benchmark guest failed: {r.Reason} {r.Detail}\n{output}");
        }
        return r;
    }

    private static double TimeQemu(string elf, int iters, out string output)
    {
        var sw = Stopwatch.StartNew();
        QemuResult q = QemuRunner.Run(elf, $"bench=loop iters={iters}", TimeSpan.FromMinutes(5));
        double s = sw.Elapsed.TotalSeconds;
        output = q.Stdout;
        return s;
    }
}
