using Iced.Intel;
using Vmi.Machine.Diagnostics;
using Vmi.Machine.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests;

/// <summary>
/// Interrupts land at exact, reproducible instructions: a timer armed in the middle of a CPU slice
/// fires at its own deadline, and the (instruction count, vector) of every delivered interrupt is
/// the same whatever the slice size, with tracing on, or one instruction per turn as a debugger
/// steps. Guest time is one tick per retired instruction (a REP iteration counts as one), so a
/// budget bounds the work really done.
/// </summary>
public sealed class InterruptTimingTests
{
    private const uint Counter = TinyKernel.Data;
    private const ushort Divisor = 100; // 83.8 µs: 83,810 instructions at vmi's 1 GHz guest clock
    private const int Ticks = 12;

    /// <summary>
    /// Unmasks IRQ0, busy-loops ~40,000 instructions (so the PIT is programmed mid-slice), starts
    /// the PIT (mode 2), then copies with REP LODSB in a loop until <see cref="Ticks"/> ticks came.
    /// </summary>
    private static byte[] BuildKernel()
    {
        var a = new Assembler(32);
        Label warm = a.CreateLabel(), work = a.CreateLabel(), handler = a.CreateLabel();
        a.mov(esp, TinyKernel.StackTop);
        a.lidt(__[TinyKernel.IdtrImage]);
        foreach ((byte port, byte value) in new (byte, byte)[] { (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFE) })
        {
            a.mov(al, value);
            a.@out(port, al);
        }
        a.sti();
        a.mov(ecx, 20_000);
        a.Label(ref warm);
        a.dec(ecx);
        a.jnz(warm);
        foreach ((byte port, byte value) in new (byte, byte)[] { (0x43, 0x34), (0x40, Divisor & 0xFF), (0x40, Divisor >> 8) })
        {
            a.mov(al, value);
            a.@out(port, al);
        }
        a.Label(ref work);
        a.mov(esi, TinyKernel.Data + 0x100);
        a.mov(ecx, 37);
        a.rep.lodsb();
        a.cmp(__dword_ptr[Counter], Ticks);
        a.jb(work);
        a.cli();
        a.mov(eax, __dword_ptr[Counter]);
        a.@out(0xF4, al);
        a.Label(ref handler);
        a.inc(__dword_ptr[Counter]);
        a.mov(al, 0x20);
        a.@out(0x20, al);
        a.iretd();
        return TinyKernel.Build(a, (0x20, handler));
    }

    private static (VmRunResult Result, List<(long, int)> Interrupts) Run(Func<Vm, VmRunResult> drive, bool trace = false)
    {
        var vm = Vm.BootMultiboot(new VmConfig(), BuildKernel());
        var recorder = InterruptLog.Attach(vm.Cpu);
        if (trace)
        {
            _ = new InstructionTracer(vm.Cpu, TextWriter.Null, long.MaxValue);
        }
        VmRunResult r = drive(vm);
        Assert.True(r.Reason == VmExitReason.DebugExit, r.Detail);
        return (r, recorder.Delivered);
    }

    private static VmRunResult RunInSlices(Vm vm, long slice)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (vm.RunSlice(slice) is { } stop)
            {
                return vm.Finish(stop.Reason, stop.Detail, sw, 0);
            }
        }
    }

    [Fact]
    public void ATimerArmedMidSliceFiresAtItsDeadline()
    {
        (_, List<(long Instructions, int Vector)> irqs) = Run(vm => vm.Run(50_000_000));

        Assert.Equal(Ticks, irqs.Count);
        Assert.All(irqs, i => Assert.Equal(0x20, i.Vector));
        double period = Divisor * 1e9 / 1_193_182;
        // The PIT is programmed ~40,000 instructions in; its first edge is one period later, not at
        // the end of the 1,000,000-instruction slice it was armed in.
        Assert.InRange(irqs[0].Instructions, 40_000 + period - 2_000, 40_000 + period + 4_000);
        for (int i = 1; i < irqs.Count; i++)
        {
            Assert.InRange(irqs[i].Instructions - irqs[i - 1].Instructions, period - 900, period + 900);
        }
    }

    [Fact]
    public void InterruptsLandAtTheSameInstructionWhateverTheSliceSizeTracingOrStepping()
    {
        (VmRunResult reference, List<(long, int)> expected) = Run(vm => vm.Run(50_000_000));

        foreach (long slice in new long[] { 1, 7, 997, 65_536 })
        {
            (VmRunResult r, List<(long, int)> got) = Run(vm => RunInSlices(vm, slice));
            Assert.Equal(expected, got);
            Assert.Equal(reference.Instructions, r.Instructions);
        }
        (VmRunResult traced, List<(long, int)> tracedIrqs) = Run(vm => vm.Run(50_000_000), trace: true);
        Assert.Equal(expected, tracedIrqs);
        Assert.Equal(reference.GuestSeconds, traced.GuestSeconds);
    }

    [Fact]
    public void RepIterationsCountAsGuestTime()
    {
        // REP LODSB over 4 GiB: each iteration is an instruction, so a 100,000-instruction budget is
        // 100 µs of guest time and stops in a moment (it once ran 2.7 s and reported 0.0001 s).
        var a = new Assembler(32);
        Label top = a.CreateLabel();
        a.Label(ref top);
        a.mov(ecx, uint.MaxValue);
        a.rep.lodsb();
        a.jmp(top);
        var vm = Vm.BootMultiboot(new VmConfig(), TinyKernel.Build(a));

        VmRunResult r = vm.Run(100_000);

        Assert.Equal(VmExitReason.InstructionLimit, r.Reason);
        Assert.Equal(100_000, r.Instructions);
        Assert.Equal(100_000, vm.Clock.Ticks);
        Assert.Equal(uint.MaxValue - 99_999, vm.Cpu.Ecx);
    }
}
