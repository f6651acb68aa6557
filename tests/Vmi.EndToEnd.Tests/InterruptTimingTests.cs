using System.Text.RegularExpressions;
using Vmi.Cpu;
using Vmi.Machine;
using Vmi.Machine.Boot;
using Vmi.TestSupport;
using Xunit.Abstractions;

namespace Vmi.EndToEnd.Tests;

/// <summary>
/// The test kernel's ticks probe ("ticks=ITERS divisor=D": a fixed busy loop while the PIT
/// interrupts at 1193182/D Hz) counts the same ticks on vmi and on QEMU with -icount shift=0. The
/// clocks correspond exactly: QEMU's icount shift=0 makes each instruction 2^0 ns of virtual time,
/// and vmi's guest clock runs at 1 GHz with one tick per instruction, so both see the PIT at the
/// same instruction counts; what QEMU's BIOS runs before the kernel does not matter, because the
/// kernel starts the PIT itself and only counts ticks from there.
/// </summary>
public sealed partial class InterruptTimingTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"^ticks (\d+)$", RegexOptions.Multiline)]
    private static partial Regex TicksLine();

    private static int Ticks(string serial)
    {
        Match m = TicksLine().Match(serial.Replace("\r", ""));
        Assert.True(m.Success, $"no 'ticks N' line in:\n{serial}");
        return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [SkippableTheory]
    [InlineData("ticks=10000000 divisor=100")]
    [InlineData("ticks=1000000 divisor=7")]
    [InlineData("ticks=3000000 divisor=1193")]
    public void TickCountsMatchQemuWithIcount(string args)
    {
        Skip.If(QemuRunner.FindQemu() is null, $"{QemuRunner.QemuBinary} is not installed");
        string elf = VmiRunner.TestKernel;
        QemuResult qemu = QemuRunner.Run(elf, args, TimeSpan.FromSeconds(120), extraArguments: ["-icount", "shift=0"]);
        var ours = VmiRunner.Boot(elf, args);
        output.WriteLine($"qemu: {qemu.Stdout.Trim().Split('\n')[^1]}, vmi: {ours.Output.Trim().Split('\n')[^1]} ({ours.Run.Instructions:N0} instructions)");

        Assert.False(qemu.TimedOut);
        int ticks = Ticks(ours.Output);
        Assert.True(ticks > 5, $"the probe should see several ticks, saw {ticks}");
        Assert.Equal(Ticks(qemu.Stdout), ticks);
    }

    [Fact]
    public void TheProbeCountsTheSameTicksEveryRun()
    {
        var a = VmiRunner.Boot(VmiRunner.TestKernel, "ticks=1000000 divisor=7");
        var b = VmiRunner.Boot(VmiRunner.TestKernel, "ticks=1000000 divisor=7");
        Assert.Equal(Ticks(a.Output), Ticks(b.Output));
        Assert.Equal(a.Run.Instructions, b.Run.Instructions);
    }
}
