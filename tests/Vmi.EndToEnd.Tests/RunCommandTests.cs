using System.Text.Json;

namespace Vmi.EndToEnd.Tests;

/// <summary>`vmi run` as a user sees it: exit codes, one-line errors, the summary and --json.</summary>
public sealed class RunCommandTests
{
    [Fact]
    public void PassesTheGuestDebugExitThrough()
    {
        var r = VmiRunner.Cli("run", VmiRunner.TestKernel, "--cmdline", "k x");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("done failures=0", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("instructions on pentium4-2006", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("MIPS", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void WritesTheSummaryAsJson()
    {
        string json = Path.Combine(Path.GetTempPath(), $"vmi-{Guid.NewGuid():N}.json");
        string serial = Path.Combine(Path.GetTempPath(), $"vmi-{Guid.NewGuid():N}.txt");
        try
        {
            var r = VmiRunner.Cli("run", VmiRunner.TestKernel, "--json", json, "--serial", serial, "--cpu", "opteron-2006", "--memory", "32M");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal("", r.Stdout);
            Assert.Contains("done failures=0", File.ReadAllText(serial), StringComparison.Ordinal);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement root = doc.RootElement;
            Assert.Equal("DebugExit", root.GetProperty("exitReason").GetString());
            Assert.Equal("opteron-2006", root.GetProperty("cpu").GetString());
            Assert.Equal(1, root.GetProperty("exitCode").GetInt32());
            Assert.True(root.GetProperty("instructions").GetInt64() > 100_000);
            Assert.True(root.GetProperty("counters").GetProperty("ExternalInterrupts").GetInt64() >= 10);
        }
        finally
        {
            File.Delete(json);
            File.Delete(serial);
        }
    }

    [Fact]
    public void InstructionLimitIsAFailure()
    {
        var r = VmiRunner.Cli("run", VmiRunner.TestKernel, "--max-instructions", "5000");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("InstructionLimit", r.Stderr, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[]> BadKernels => new()
    {
        { "empty", [] },
        { "truncated-elf", [0x7F, (byte)'E', (byte)'L', (byte)'F', 1, 1, 1] },
        { "random", RandomBytes(4096) },
        { "text", "hello, this is not a kernel\n"u8.ToArray() },
    };

    [Theory]
    [MemberData(nameof(BadKernels))]
    public void RejectsBadKernelsWithOneClearLine(string name, byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"vmi-bad-{name}-{Guid.NewGuid():N}.elf");
        File.WriteAllBytes(path, content);
        try
        {
            var r = VmiRunner.Cli("run", path);
            Assert.Equal(2, r.ExitCode);
            string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("vmi: ", lines[0], StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--memory", "lots")]
    [InlineData("--memory", "1K")]
    [InlineData("--cpu", "pentium9")]
    [InlineData("--max-instructions", "-5")]
    public void RejectsBadOptionsWithUsageExitCode(string option, string value)
    {
        var r = VmiRunner.Cli("run", VmiRunner.TestKernel, option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("vmi: ", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingKernelFileIsAUsageError()
    {
        var r = VmiRunner.Cli("run", "/nonexistent/kernel.elf");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("kernel", r.Stderr, StringComparison.Ordinal);
    }

    private static byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        new Random(1234).NextBytes(b);
        return b;
    }
}
