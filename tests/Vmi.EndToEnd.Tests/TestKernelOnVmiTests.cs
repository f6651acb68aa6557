using Vmi.Machine;
using Vmi.TestSupport;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>The test kernel on our machine: every self-test passes, output matches QEMU byte for byte, runs are deterministic.</summary>
public sealed class TestKernelOnVmiTests(ITestOutputHelper output)
{
    [Fact]
    public void PassesEverySelfTest()
    {
        var r = VmiRunner.Boot(VmiRunner.TestKernel, "hello bench=none");
        output.WriteLine(r.Output);
        Assert.Equal(VmExitReason.DebugExit, r.Run.Reason);
        Assert.Equal(1, r.Run.GuestExitCode); // guest wrote 0: (0 << 1) | 1
        string[] lines = r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("vmi testkernel", lines[0]);
        Assert.Contains("cmdline: hello bench=none", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("FAIL", StringComparison.Ordinal));
        Assert.Contains("ok timer 10", lines);
        Assert.Contains("ok pagefault cr2=deadbeef err=00000002", lines);
        Assert.Equal("done failures=0", lines[^1]);
        Assert.True(r.Run.Counters.ExternalInterrupts >= 10, "the PIT must have interrupted at least 10 times");
    }

    [SkippableFact]
    public void OutputMatchesQemuByteForByte()
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string elf = VmiRunner.TestKernel;
        const string args = "hello bench=loop iters=3000";
        var qemu = QemuRunner.Run(elf, args, TimeSpan.FromSeconds(30));
        var ours = VmiRunner.Boot(elf, args);
        output.WriteLine(ours.Output);
        Assert.False(qemu.TimedOut);
        Assert.Equal(qemu.Stdout, ours.Output);
        Assert.Equal(qemu.GuestExitCode, (ours.Run.GuestExitCode!.Value - 1) >> 1);
    }

    [Fact]
    public void RunsAreDeterministic()
    {
        string elf = VmiRunner.TestKernel;
        var a = VmiRunner.Boot(elf, "bench=loop iters=2000");
        var b = VmiRunner.Boot(elf, "bench=loop iters=2000");
        Assert.Equal(a.Serial, b.Serial);
        Assert.Equal(a.Run.Instructions, b.Run.Instructions);
        Assert.Equal(a.Run.GuestSeconds, b.Run.GuestSeconds);
        Assert.Equal(a.Run.Counters.ExternalInterrupts, b.Run.Counters.ExternalInterrupts);
        Assert.Equal(a.Run.Counters.Exceptions, b.Run.Counters.Exceptions);
    }

    [Fact]
    public void InstructionLimitStopsExactly()
    {
        var r = VmiRunner.Boot(VmiRunner.TestKernel, "bench=loop iters=100000", maxInstructions: 123_457);
        Assert.Equal(VmExitReason.InstructionLimit, r.Run.Reason);
        Assert.Equal(123_457, r.Run.Instructions);
    }
}
