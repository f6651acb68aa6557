using System.Globalization;
using System.Text.Json;
using Vmi.TestSupport;

namespace Vmi.EndToEnd.Tests;

/// <summary>`vmi compare`: the workloads under every backend, checked, tabled and written as JSON, the same every time.</summary>
public sealed class CompareCommandTests
{
    private static readonly Lazy<string> GuestKernel = new(QemuRunner.BuildGuestKernel);

    private static string[] TwoWorkloads => ["compare", GuestKernel.Value, "--bench", "syscall,cpuid", "--iters", "20"];

    [Fact]
    public void CpuidCostsFarMoreUnderVtThanNative()
    {
        string json = Path.Combine(Path.GetTempPath(), $"vmi-compare-{Guid.NewGuid():N}.json");
        try
        {
            var r = VmiRunner.Cli([.. TwoWorkloads, "--json", json]);
            Assert.True(r.ExitCode == 0, r.Stderr);

            // The table: native's column first, then each backend with its ratio to native.
            string[] header = Cells(r.Stdout, "workload");
            Assert.Equal(["workload", "native", "bt", "x native", "vt", "x native", "vt-npt", "x native"], header);
            string[] cpuid = Cells(r.Stdout, "cpuid");
            double native = Number(cpuid[1]), vt = Number(cpuid[4]);
            Assert.True(vt > 10 * native, $"vt {vt} vs native {native}");
            Assert.True(Number(cpuid[5]) > 10);
            Assert.Contains("cpuid: dominant events per iteration", r.Stdout, StringComparison.Ordinal);

            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement root = doc.RootElement;
            Assert.Equal(20, root.GetProperty("iters").GetInt32());
            Assert.Equal(["native", "bt", "vt", "vt-npt"], root.GetProperty("backends").EnumerateArray().Select(b => b.GetString()));
            JsonElement workload = root.GetProperty("workloads").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "cpuid");
            Assert.StartsWith("RESULT bench=cpuid iters=20 check=", workload.GetProperty("results")[0].GetString(), StringComparison.Ordinal);
            JsonElement onVt = workload.GetProperty("backends").GetProperty("vt");
            JsonElement onNative = workload.GetProperty("backends").GetProperty("native");
            Assert.True(onVt.GetProperty("perIteration").GetProperty("events").GetProperty("ExitCpuid").GetDouble() >= 1);
            Assert.Empty(onNative.GetProperty("events").EnumerateObject());
            Assert.Equal(0.0, onNative.GetProperty("perIteration").GetProperty("events").EnumerateObject().Sum(e => e.Value.GetDouble()));
            Assert.InRange(onVt.GetProperty("perIteration").GetProperty("modelledCycles").GetDouble(), vt - 0.5, vt + 0.5);
            Assert.True(onVt.GetProperty("ratioToNative").GetDouble() > 10);
            Assert.True(onVt.GetProperty("modelledCycles").GetInt64() > onNative.GetProperty("modelledCycles").GetInt64());
            // Per iteration, one CPUID exit and the user loop's own instructions: the fixed costs cancelled.
            long exit = Vmi.Hypervisors.Costs.CostProfiles.Load("p4-2006").CostOf(Vmi.Hypervisors.Events.EventKind.ExitCpuid);
            Assert.Equal(1.0, onVt.GetProperty("perIteration").GetProperty("events").GetProperty("ExitCpuid").GetDouble());
            Assert.InRange(onVt.GetProperty("perIteration").GetProperty("modelledCycles").GetDouble(), exit, exit + 200);
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public void TheSameComparisonGivesTheSameNumbersHoweverManyRunsAtATime()
    {
        var parallel = VmiRunner.Cli([.. TwoWorkloads, "--json", "-", "--jobs", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)]);
        var serial = VmiRunner.Cli([.. TwoWorkloads, "--json", "-", "--jobs", "1"]);
        Assert.True(parallel.ExitCode == 0, parallel.Stderr);
        Assert.True(serial.ExitCode == 0, serial.Stderr);
        using var doc = JsonDocument.Parse(parallel.Stdout);
        Assert.True(doc.RootElement.GetProperty("workloads").GetArrayLength() == 2);
        Assert.Equal(parallel.Stdout, serial.Stdout);
        // '-' gives stdout to the JSON alone: the tables went to stderr.
        Assert.Contains("dominant events per iteration", parallel.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AWorkloadWithoutAResultLineFailsNamingItAndTheBackend()
    {
        // The test kernel exits cleanly but runs no workload.
        var r = VmiRunner.Cli("compare", VmiRunner.TestKernel, "--backends", "native", "--bench", "syscall", "--iters", "1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("syscall on native: the guest printed no RESULT line for bench=syscall", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("--bench", "syscall,nosuch")]
    [InlineData("--backends", "native,kvm")]
    [InlineData("--iters", "0")]
    [InlineData("--cost-profile", "no-such-profile")]
    public void BadOptionsAreUsageErrors(string option, string value)
    {
        var r = VmiRunner.Cli("compare", GuestKernel.Value, option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(option, r.Stderr, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    /// <summary>The cells of the first table row whose first cell is <paramref name="first"/>.</summary>
    private static string[] Cells(string tables, string first) =>
        tables.Split('\n')
            .Select(l => l.Split('│', StringSplitOptions.TrimEntries))
            .First(c => c.Length > 2 && c[1] == first)[1..^1];

    private static double Number(string cell) => double.Parse(cell, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
}
