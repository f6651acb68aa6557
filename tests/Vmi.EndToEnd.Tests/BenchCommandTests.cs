using System.Text.Json;
using Vmi.TestSupport;

namespace Vmi.EndToEnd.Tests;

/// <summary>One `vmi bench --quick` for the whole class (it takes seconds), in a directory removed afterwards.</summary>
public sealed class QuickBench : IDisposable
{
    public QuickBench()
    {
        Kernel = QemuRunner.BuildGuestKernel();
        Directory = BenchCommandTests.NewDirectory();
        Result = VmiRunner.Cli("bench", Kernel, "--quick", "--out", Directory);
    }

    public string Kernel { get; }

    public string Directory { get; }

    internal VmiRunner.CliResult Result { get; }

    public string File(string name) => Path.Combine(Directory, name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>`vmi bench`: the matrix of backends × {vmi=off, ROM} × workloads, checked against native and written four ways, the same every time.</summary>
public sealed class BenchCommandTests(QuickBench quick) : IClassFixture<QuickBench>
{
    private static readonly string[] QuickWorkloads = ["syscall", "ptemod", "compute"];
    private static readonly string[] Backends = ["native", "bt", "vt", "vt-npt"];
    private static readonly string[] Modes = ["off", "rom"];

    public static string NewDirectory() => Path.Combine(Path.GetTempPath(), $"vmi-bench-{Guid.NewGuid():N}");

    [Fact]
    public void EveryCellRanAndPrintedWhatNativeWithVmiOffPrinted()
    {
        Assert.True(quick.Result.ExitCode == 0, quick.Result.Stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(quick.File("bench.json")));
        JsonElement root = doc.RootElement;
        Assert.Equal(20, root.GetProperty("iters").GetInt32());
        Assert.True(root.GetProperty("ok").GetBoolean());
        JsonElement[] cells = [.. root.GetProperty("cells").EnumerateArray()];
        Assert.Equal(QuickWorkloads.Length * Backends.Length * Modes.Length, cells.Length);
        foreach (string workload in QuickWorkloads)
        {
            JsonElement native = Cell(cells, workload, "native", "off");
            Assert.Equal(1.0, native.GetProperty("ratioToNativeOff").GetDouble());
            foreach (string backend in Backends)
            {
                foreach (string mode in Modes)
                {
                    JsonElement cell = Cell(cells, workload, backend, mode);
                    Assert.Equal("ok", cell.GetProperty("status").GetString());
                    JsonElement[] runs = [.. cell.GetProperty("runs").EnumerateArray()];
                    Assert.Equal([20, 40], runs.Select(r => r.GetProperty("iters").GetInt32()));
                    for (int i = 0; i < runs.Length; i++)
                    {
                        Assert.True(runs[i].GetProperty("passed").GetBoolean());
                        Assert.StartsWith($"RESULT bench={workload} iters={runs[i].GetProperty("iters").GetInt32()} check=", Results(runs[i])[0], StringComparison.Ordinal);
                        Assert.Equal(Results(native.GetProperty("runs")[i]), Results(runs[i]));
                        // The modes differ only in the kernel's choice: vmi=off on the command line or not.
                        Assert.Equal(mode == "off", runs[i].GetProperty("commandLine").GetString()!.StartsWith("kernel vmi=off ", StringComparison.Ordinal));
                    }
                    Assert.True(cell.GetProperty("ratioToNativeOff").GetDouble() > 0);
                    // Every cell names the ROM it mapped; the ROM's entry lists every call's relocation type.
                    string rom = cell.GetProperty("rom").GetProperty("id").GetString()!;
                    JsonElement calls = root.GetProperty("roms").GetProperty(rom).GetProperty("calls");
                    Assert.Contains(calls.GetProperty("IRET").GetString(), new[] { "CALL_REL", "JUMP_REL" });
                    Assert.Equal(backend == "vt-npt" ? "barcelona-2007" : "pentium4-2006", cell.GetProperty("cpuModel").GetString());
                }
            }
        }
        // What the table says, the JSON says: unmodified, bt pays for every system call and vt for every
        // page-table write; with their ROMs, bt's system calls go straight in and vt's page-table
        // writes are hypercalls, with no page-fault exit.
        Assert.True(Cell(cells, "syscall", "bt", "off").GetProperty("ratioToNativeOff").GetDouble() > 5);
        Assert.True(Cell(cells, "syscall", "bt", "rom").GetProperty("ratioToNativeOff").GetDouble() < 2);
        Assert.True(Cell(cells, "ptemod", "vt", "off").GetProperty("perIteration").GetProperty("events").GetProperty("ExitPageFault").GetDouble() >= 1);
        JsonElement vtRom = Cell(cells, "ptemod", "vt", "rom").GetProperty("perIteration").GetProperty("events");
        Assert.False(vtRom.TryGetProperty("ExitPageFault", out JsonElement pf) && pf.GetDouble() > 0.1);
        Assert.True(vtRom.GetProperty("ExitHypercall").GetDouble() >= 1);
    }

    [Fact]
    public void TheTableHasARowPerWorkloadAndAColumnPerBackendAndMode()
    {
        Assert.True(quick.Result.ExitCode == 0, quick.Result.Stderr);
        string[] header = ["workload", "native off (cycles)", "native rom", "bt off", "bt rom", "vt off", "vt rom", "vt-npt off", "vt-npt rom"];
        Assert.Equal(header, Cells(quick.Result.Stdout, "workload"));
        foreach (string workload in QuickWorkloads)
        {
            string[] row = Cells(quick.Result.Stdout, workload);
            Assert.Equal(header.Length, row.Length);
            Assert.All(row[2..], c => Assert.EndsWith("×", c, StringComparison.Ordinal));
        }

        string markdown = File.ReadAllText(quick.File("bench.md"));
        Assert.Contains($"| {string.Join(" | ", header)} |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n| syscall | ", markdown, StringComparison.Ordinal);

        string[] csv = File.ReadAllLines(quick.File("bench.csv"));
        Assert.Equal(1 + (QuickWorkloads.Length * Backends.Length * Modes.Length), csv.Length);
        Assert.StartsWith("cost_profile,cpu_model,backend,mode,workload,status,", csv[0], StringComparison.Ordinal);
        Assert.Contains(csv, l => l.StartsWith("p4-2006,pentium4-2006,bt,rom,ptemod,ok,20,", StringComparison.Ordinal));

        byte[] png = File.ReadAllBytes(quick.File("bench.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        Assert.True(png.Length > 8 * 1024, $"bench.png is only {png.Length} bytes");
    }

    [Fact]
    public void TheSameBenchWritesTheSameJsonHoweverManyRunsAtATime()
    {
        Assert.True(quick.Result.ExitCode == 0, quick.Result.Stderr);
        string again = NewDirectory();
        try
        {
            var r = VmiRunner.Cli("bench", quick.Kernel, "--quick", "--out", again, "--jobs", "1");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(File.ReadAllBytes(quick.File("bench.json")), File.ReadAllBytes(Path.Combine(again, "bench.json")));
            Assert.Equal(File.ReadAllBytes(quick.File("bench.csv")), File.ReadAllBytes(Path.Combine(again, "bench.csv")));
            Assert.Equal(quick.Result.Stdout, r.Stdout);
        }
        finally
        {
            Directory.Delete(again, recursive: true);
        }
    }

    [Fact]
    public void ACpuModelABackendRefusesSkipsItsCellsWithANote()
    {
        string dir = NewDirectory();
        try
        {
            var r = VmiRunner.Cli("bench", quick.Kernel, "--quick", "--bench", "syscall", "--cpu", "plain", "--out", dir);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("vmi: bench: note: vt skipped (p4-2006, CPU plain): vt needs a CPU model with hardware virtualization", r.Stderr, StringComparison.Ordinal);
            string[] row = Cells(r.Stdout, "syscall");
            Assert.All(row[2..5], c => Assert.EndsWith("×", c, StringComparison.Ordinal)); // native rom, bt off, bt rom
            Assert.Equal(["skipped", "skipped", "skipped", "skipped"], row[5..]); // vt and vt-npt need virtualization the model lacks
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
            JsonElement[] cells = [.. doc.RootElement.GetProperty("cells").EnumerateArray()];
            Assert.Equal("skipped", Cell(cells, "syscall", "vt-npt", "rom").GetProperty("status").GetString());
            Assert.Equal("ok", Cell(cells, "syscall", "bt", "rom").GetProperty("status").GetString());
            Assert.Equal("plain", Cell(cells, "syscall", "bt", "rom").GetProperty("cpuModel").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ACellThatFailsItsCheckIsNamedAndTheOutputsAreWrittenAllTheSame()
    {
        // The test kernel exits cleanly but runs no workload: no cell prints a RESULT line.
        string dir = NewDirectory();
        try
        {
            var r = VmiRunner.Cli("bench", VmiRunner.TestKernel, "--quick", "--bench", "syscall", "--backends", "native,vt", "--out", dir);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("vmi: bench: syscall on vt rom (p4-2006, pentium4-2006): the guest printed no RESULT line for bench=syscall", r.Stderr, StringComparison.Ordinal);
            Assert.Equal(["syscall", "failed", "failed", "failed", "failed"], Cells(r.Stdout, "syscall"));
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
            Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
            Assert.All(doc.RootElement.GetProperty("cells").EnumerateArray(), c => Assert.Equal("failed", c.GetProperty("status").GetString()));
            Assert.Contains("## Failed checks", File.ReadAllText(Path.Combine(dir, "bench.md")), StringComparison.Ordinal);
            Assert.True(new FileInfo(Path.Combine(dir, "bench.png")).Length > 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AnOutThatIsAFileIsAUsageError()
    {
        string file = Path.GetTempFileName();
        try
        {
            var r = VmiRunner.Cli("bench", quick.Kernel, "--quick", "--out", file);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal($"vmi: --out {file}: not a directory\n", r.Stderr);
            Assert.Equal("", r.Stdout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--cost-profile", "p4-2006,no-such-profile")]
    [InlineData("--cpu", "pentium5")]
    [InlineData("--backends", "native,kvm")]
    [InlineData("--bench", "syscall,nosuch")]
    [InlineData("--iters", "0")]
    public void BadOptionsAreUsageErrorsWrittenNowhere(string option, string value)
    {
        string dir = NewDirectory();
        var r = VmiRunner.Cli("bench", quick.Kernel, "--quick", option, value, "--out", dir);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"vmi: {option}: ", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout);
        Assert.False(Directory.Exists(dir));
    }

    private static JsonElement Cell(JsonElement[] cells, string workload, string backend, string mode) =>
        cells.Single(c => c.GetProperty("workload").GetString() == workload && c.GetProperty("backend").GetString() == backend && c.GetProperty("mode").GetString() == mode);

    private static string[] Results(JsonElement run) => [.. run.GetProperty("results").EnumerateArray().Select(r => r.GetString()!)];

    /// <summary>The cells of the first table row whose first cell is <paramref name="first"/>.</summary>
    private static string[] Cells(string tables, string first) =>
        tables.Split('\n')
            .Select(l => l.Split('│', StringSplitOptions.TrimEntries))
            .First(c => c.Length > 2 && c[1] == first)[1..^1];
}
