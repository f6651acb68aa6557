using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.Machine.Diagnostics;

namespace Vmi.EndToEnd.Tests;

/// <summary>`vmi run --trace`: every executed instruction, in order, without changing what the guest does.</summary>
public sealed class TraceTests
{
    private static (VmRunResult Run, string Serial, string Trace) Boot(bool trace, long limit = 50_000)
    {
        string elf = VmiRunner.TestKernel;
        var serial = new MemoryStream();
        var vm = Vm.BootMultiboot(new VmConfig
        {
            CommandLine = MultibootInfoBuilder.QemuStyleCommandLine(elf, "bench=loop iters=500"),
            SerialOutput = serial,
        }, File.ReadAllBytes(elf));
        var writer = new StringWriter();
        if (trace)
        {
            _ = new InstructionTracer(vm.Cpu, writer, limit);
        }
        VmRunResult r = vm.Run();
        return (r, System.Text.Encoding.ASCII.GetString(serial.ToArray()), writer.ToString());
    }

    [Fact]
    public void TracingDoesNotChangeTheRun()
    {
        var plain = Boot(trace: false);
        var traced = Boot(trace: true);
        Assert.Equal(plain.Serial, traced.Serial);
        Assert.Equal(plain.Run.Instructions, traced.Run.Instructions);
        Assert.Equal(plain.Run.Counters.ExternalInterrupts, traced.Run.Counters.ExternalInterrupts);
    }

    [Fact]
    public void TraceStartsAtTheEntryPointAndCountsEveryInstruction()
    {
        uint entry = MultibootImage.Parse(File.ReadAllBytes(VmiRunner.TestKernel)).EntryPoint;
        var (_, _, trace) = Boot(trace: true, limit: 1000);
        string[] lines = trace.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1001, lines.Length);
        Assert.Matches($@"^\s+0 {entry:x8}: fa\s+cli", lines[0]);
        for (int i = 0; i < 1000; i++)
        {
            Assert.StartsWith($"{i,12} ", lines[i], StringComparison.Ordinal);
        }
        Assert.Equal("... trace limit of 1000 instructions reached", lines[^1].TrimEnd('\r'));
    }
}
