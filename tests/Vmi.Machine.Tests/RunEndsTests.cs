using Iced.Intel;
using Vmi.Machine.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests;

/// <summary>
/// A run always ends: a CPU halted with interrupts enabled while nothing can interrupt it stops with
/// the reason (it once skipped guest time forever), and guest time can be bounded
/// (<see cref="Vm.GuestTickLimit"/>, vmi run --max-guest-time), busy or idle.
/// </summary>
public sealed class RunEndsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>PIC initialised with <paramref name="masterMask"/>, PIT channel 0 counting (mode 2), then sti; hlt; jmp hlt.</summary>
    private static byte[] IdleKernel(byte masterMask, bool pit = true)
    {
        var a = new Assembler(32);
        Label idle = a.CreateLabel(), handler = a.CreateLabel();
        a.mov(esp, TinyKernel.StackTop);
        a.lidt(__[TinyKernel.IdtrImage]);
        var writes = new List<(byte, byte)> { (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), (0x21, masterMask) };
        if (pit)
        {
            writes.AddRange([(0x43, 0x34), (0x40, 0x9C), (0x40, 0x2E)]); // ~100 Hz
        }
        foreach ((byte port, byte value) in writes)
        {
            a.mov(al, value);
            a.@out(port, al);
        }
        a.sti();
        a.Label(ref idle);
        a.hlt();
        a.jmp(idle);
        a.Label(ref handler);
        a.push(eax);
        a.mov(al, 0x20);
        a.@out(0x20, al);
        a.pop(eax);
        a.iretd();
        return TinyKernel.Build(a, (0x20, handler));
    }

    private static VmRunResult RunBounded(Vm vm, long maxInstructions)
    {
        var run = Task.Run(() => vm.Run(maxInstructions));
        Assert.True(run.Wait(Bound), "the run did not end");
        return run.Result;
    }

    [Fact]
    public void HaltWithTheTimerMaskedAtThePicStopsWithTheReason()
    {
        var vm = Vm.BootMultiboot(new VmConfig(), IdleKernel(masterMask: 0xFF));

        VmRunResult r = RunBounded(vm, 1000);

        Assert.Equal(VmExitReason.Halted, r.Reason);
        Assert.Contains("nothing can wake it", r.Detail, StringComparison.Ordinal);
        Assert.Contains("IRQ0 (PIT) is masked at the PIC", r.Detail, StringComparison.Ordinal);
        Assert.True(r.Instructions < 1000);
    }

    [Fact]
    public void HaltWithTheTimerIdleStopsWithTheReason()
    {
        var vm = Vm.BootMultiboot(new VmConfig(), IdleKernel(masterMask: 0xFE, pit: false));

        VmRunResult r = RunBounded(vm, 1000);

        Assert.Equal(VmExitReason.Halted, r.Reason);
        Assert.Contains("the PIT (IRQ0) is not counting", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AnIdleGuestWithATimerRunsUntilTheGuestTimeLimit()
    {
        var vm = Vm.BootMultiboot(new VmConfig(), IdleKernel(masterMask: 0xFE));
        vm.GuestTickLimit = 250_000_000; // 0.25 s: about 25 ticks, almost all of it idle

        VmRunResult r = RunBounded(vm, long.MaxValue);

        Assert.Equal(VmExitReason.GuestTimeLimit, r.Reason);
        Assert.Equal(250_000_000, vm.Clock.Ticks);
        Assert.Equal(0.25, r.GuestSeconds);
        Assert.InRange(r.Counters.ExternalInterrupts, 24, 26);
        Assert.Contains("guest time limit of 0.250000 s", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ABusyGuestStopsExactlyAtTheGuestTimeLimit()
    {
        var a = new Assembler(32);
        Label top = a.CreateLabel();
        a.Label(ref top);
        a.inc(eax);
        a.jmp(top);
        var vm = Vm.BootMultiboot(new VmConfig(), TinyKernel.Build(a));
        vm.GuestTickLimit = 1_234_567;

        VmRunResult r = RunBounded(vm, long.MaxValue);

        Assert.Equal(VmExitReason.GuestTimeLimit, r.Reason);
        Assert.Equal(1_234_567, r.Instructions);
    }
}
