using Iced.Intel;
using Vmi.Cpu.Tests.Support;
using H = Vmi.Cpu.Tests.Support.GuestHarness;

namespace Vmi.Cpu.Tests.SystemLevel;

/// <summary>
/// A guest can loop forever without retiring an instruction: a fault whose handler is the faulting
/// instruction itself (each delivery succeeds, so there is no double fault). Run must still give
/// control back to its caller, or nothing above the CPU (the VM's stop requests, a debugger's
/// Ctrl-C, a ROM executor's budget) could ever act.
/// </summary>
public sealed class NoProgressTests
{
    [Fact]
    public void AFaultLoopThatRetiresNothingStillReturnsFromRun()
    {
        var h = new H();
        var a = new Assembler(32);
        Label ud2 = a.CreateLabel();
        a.Label(ref ud2);
        a.ud2();
        GuestProgram p = h.Load(a);
        h.SetGate(Vectors.UD, p[ud2]);
        // Frames then go below 4 GiB, outside RAM, where stores are dropped: a stack in RAM would
        // reach the tables and end the loop in a triple fault after some 50,000 deliveries.
        h.Cpu.Esp = 0;

        CpuExit? exit = null;
        // A background thread: before the fix Run spins forever, and the test must still end.
        var run = new Thread(() => exit = h.Cpu.Run(1_000_000)) { IsBackground = true };
        run.Start();

        Assert.True(run.Join(TimeSpan.FromSeconds(20)), "Cpu.Run never returned from a fault loop");
        Assert.Equal(CpuExitReason.InstructionLimit, exit!.Value.Reason);
        Assert.Equal(0L, h.Cpu.InstructionsRetired);
        Assert.True(h.Cpu.Counters.Exceptions > 1);
        Assert.Equal(p[ud2], h.Cpu.Eip);
    }
}
