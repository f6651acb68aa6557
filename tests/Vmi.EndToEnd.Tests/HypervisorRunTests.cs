using System.Globalization;
using System.Text;
using System.Text.Json;
using Vmi.Hypervisors.Costs;
using Vmi.TestSupport;

namespace Vmi.EndToEnd.Tests;

/// <summary>`vmi run --hypervisor`: the guest kernel under a backend, its events as a table, a trace and JSON, and the options' errors.</summary>
public sealed class HypervisorRunTests
{
    private static readonly Lazy<string> GuestKernel = new(QemuRunner.BuildGuestKernel);

    /// <summary>The guest wrote 0 (every self-check passed) to the debug-exit port, which reports (0 &lt;&lt; 1) | 1.</summary>
    private const int GuestPassed = 1;

    [Fact]
    public void VtEventTableCountsACpuidExitPerIteration()
    {
        var r = VmiRunner.Cli("run", GuestKernel.Value, "--cmdline", "kernel vmi=off bench=cpuid iters=10", "--hypervisor", "vt", "--events");
        Assert.Equal(GuestPassed, r.ExitCode);
        Assert.Contains("RESULT bench=cpuid iters=10 check=", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("under vt (cost profile p4-2006)", r.Stderr, StringComparison.Ordinal);
        Assert.True(TableCount(r.Stderr, "ExitCpuid") >= 10, r.Stderr);
        Assert.Contains("modelled cycles", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vt", "plain", "hardware virtualization")]
    [InlineData("vt-npt", "pentium4-2006", "nested paging")]
    public void ACpuModelWithoutTheFeatureIsRefused(string backend, string cpu, string feature)
    {
        var r = VmiRunner.Cli("run", GuestKernel.Value, "--hypervisor", backend, "--cpu", cpu);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(feature, r.Stderr, StringComparison.Ordinal);
        Assert.Contains(cpu, r.Stderr, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void AMalformedCostProfileIsRefusedNamingTheKey()
    {
        string json = Encoding.UTF8.GetString(CostProfiles.BuiltInJson("p4-2006"));
        string path = Path.Combine(Path.GetTempPath(), $"vmi-profile-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json.Replace("\"cycles\": 15825", "\"cycles\": \"lots\"", StringComparison.Ordinal));
        try
        {
            Assert.NotEqual(json, File.ReadAllText(path));
            var r = VmiRunner.Cli("run", GuestKernel.Value, "--hypervisor", "vt", "--cost-profile", path);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("costs.ExitIo.cycles", r.Stderr, StringComparison.Ordinal);
            Assert.Contains(path, r.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--cost-profile", "p4-2006")]
    [InlineData("--events")]
    [InlineData("--hypervisor", "kvm")]
    public void BackendOptionsWithoutAUsableBackendAreUsageErrors(params string[] options)
    {
        var r = VmiRunner.Cli(["run", GuestKernel.Value, .. options]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(options[0], r.Stderr, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void TheEventTraceHasOneJsonLinePerCountedEvent()
    {
        string trace = Path.Combine(Path.GetTempPath(), $"vmi-events-{Guid.NewGuid():N}.jsonl");
        string json = Path.Combine(Path.GetTempPath(), $"vmi-summary-{Guid.NewGuid():N}.json");
        try
        {
            // bt: several kinds, and translated instructions counted several at a time.
            var r = VmiRunner.Cli("run", GuestKernel.Value, "--cmdline", "kernel vmi=off quiet bench=syscall iters=5", "--hypervisor", "bt",
                "--trace-events", trace, "--json", json, "--quiet");
            Assert.Equal(GuestPassed, r.ExitCode);
            using var summary = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement root = summary.RootElement;
            Assert.Equal("bt", root.GetProperty("hypervisor").GetString());
            Assert.Equal("p4-2006", root.GetProperty("costProfile").GetString());
            long total = root.GetProperty("events").EnumerateObject().Sum(e => e.Value.GetProperty("count").GetInt64());
            Assert.True(root.GetProperty("events").GetProperty("TranslatedInstruction").GetProperty("count").GetInt64() > 0);

            string[] lines = File.ReadAllLines(trace);
            Assert.Equal(total, lines.Length);
            var kinds = new Dictionary<string, long>();
            for (int i = 0; i < lines.Length; i++)
            {
                using var line = JsonDocument.Parse(lines[i]);
                JsonElement e = line.RootElement;
                Assert.Equal(i, e.GetProperty("seq").GetInt64());
                Assert.True(e.GetProperty("instructions").GetInt64() >= 0);
                Assert.StartsWith("0x", e.GetProperty("eip").GetString(), StringComparison.Ordinal);
                Assert.Equal(JsonValueKind.String, e.GetProperty("instruction").ValueKind);
                Assert.Equal(JsonValueKind.String, e.GetProperty("detail").ValueKind);
                string kind = e.GetProperty("kind").GetString()!;
                kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            }
            foreach (JsonProperty kind in root.GetProperty("events").EnumerateObject())
            {
                Assert.Equal(kind.Value.GetProperty("count").GetInt64(), kinds.GetValueOrDefault(kind.Name));
            }
        }
        finally
        {
            File.Delete(trace);
            File.Delete(json);
        }
    }

    [Fact]
    public void NativeCountsNoEvents()
    {
        var r = VmiRunner.Cli("run", GuestKernel.Value, "--cmdline", "kernel vmi=off quiet bench=cpuid iters=5", "--hypervisor", "native", "--json", "-", "--events");
        Assert.Equal(GuestPassed, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal("native", root.GetProperty("hypervisor").GetString());
        Assert.Empty(root.GetProperty("events").EnumerateObject());
        Assert.Equal(0, root.GetProperty("eventCycles").GetInt64());
        // p4-2006 prices an ordinary instruction at one cycle.
        Assert.Equal(root.GetProperty("instructions").GetInt64(), root.GetProperty("modelledCycles").GetInt64());
        Assert.Contains("(no events)", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("vt")]
    public void TheGuestExitStatusPassesThrough(string backend)
    {
        // An unknown workload fails a self-check: the guest writes 1, which the port reports as 3.
        var bare = VmiRunner.Cli("run", GuestKernel.Value, "--cmdline", "kernel vmi=off quiet bench=nosuch", "-q");
        var under = VmiRunner.Cli("run", GuestKernel.Value, "--cmdline", "kernel vmi=off quiet bench=nosuch", "-q", "--hypervisor", backend);
        Assert.Equal(3, bare.ExitCode);
        Assert.Equal(bare.ExitCode, under.ExitCode);
        Assert.Contains("FAIL bench: unknown workload 'nosuch'", under.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void TheInstructionTraceWorksUnderABackend()
    {
        string trace = Path.Combine(Path.GetTempPath(), $"vmi-trace-{Guid.NewGuid():N}.txt");
        try
        {
            // bt runs the kernel in ring 1 from its entry point, where the trace starts (the trapped and
            // emulated cli there, instruction 0, never completes in guest mode, so it is not listed).
            var r = VmiRunner.Cli("run", GuestKernel.Value, "--cmdline", "kernel vmi=off quiet bench=none", "-q", "--hypervisor", "bt", "--trace", trace, "--trace-limit", "500");
            Assert.Equal(GuestPassed, r.ExitCode);
            string[] lines = File.ReadAllLines(trace);
            Assert.Equal(501, lines.Length);
            Assert.StartsWith("           1 00100011: ", lines[0], StringComparison.Ordinal);
            Assert.Equal("... trace limit of 500 instructions reached", lines[^1]);
        }
        finally
        {
            File.Delete(trace);
        }
    }

    /// <summary>The count in the event table's row for <paramref name="kind"/> ("│ ExitCpuid │ 12 │ …").</summary>
    private static long TableCount(string table, string kind)
    {
        string row = table.Split('\n').Single(l => l.Split('│', StringSplitOptions.TrimEntries).ElementAtOrDefault(1) == kind);
        return long.Parse(row.Split('│', StringSplitOptions.TrimEntries)[2], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }
}
