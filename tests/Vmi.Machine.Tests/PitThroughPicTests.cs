using Iced.Intel;
using Vmi.Machine.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Vmi.Machine.Tests;

/// <summary>
/// A hand-assembled multiboot kernel that programs the real PIC and PIT of the board, enables
/// interrupts and counts timer ticks with HLT in between: interrupt delivery from the PIT
/// through the PIC into the CPU's IDT, and idle time skipped deterministically.
/// </summary>
public sealed class PitThroughPicTests
{
    private const uint Counter = TinyKernel.Data;
    private const ushort Divisor = 11932; // ~100 Hz from the 1.193182 MHz PIT input

    private static byte[] BuildKernel(int ticks)
    {
        var a = new Assembler(32);
        Label loop = a.CreateLabel(), handler = a.CreateLabel();
        a.mov(esp, TinyKernel.StackTop); // multiboot leaves ESP undefined: the kernel brings its own stack
        a.lidt(__[TinyKernel.IdtrImage]);
        foreach ((byte port, byte value) in new (byte, byte)[]
        {
            (0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x01), // ICW1..4: vectors 0x20.., cascade on IRQ2, 8086 mode
            (0x21, 0xFE),                                           // OCW1: only IRQ0 unmasked
            (0x43, 0x34), (0x40, Divisor & 0xFF), (0x40, Divisor >> 8), // PIT channel 0, mode 2, lobyte/hibyte
        })
        {
            a.mov(al, value);
            a.@out(port, al);
        }
        a.sti();
        a.Label(ref loop);
        a.hlt();
        a.cmp(__dword_ptr[Counter], ticks);
        a.jb(loop);
        a.cli();
        a.mov(eax, __dword_ptr[Counter]);
        a.@out(0xF4, al);
        a.Label(ref handler);
        a.inc(__dword_ptr[Counter]);
        a.mov(al, 0x20);
        a.@out(0x20, al); // non-specific EOI
        a.iretd();
        return TinyKernel.Build(a, (0x20, handler));
    }

    private static VmRunResult Run(int ticks)
    {
        var vm = Vm.BootMultiboot(new VmConfig(), BuildKernel(ticks));
        return vm.Run(10_000_000);
    }

    [Fact]
    public void TimerInterruptsArriveThroughThePicAndWakeHlt()
    {
        VmRunResult r = Run(5);

        Assert.True(r.Reason == VmExitReason.DebugExit, r.Detail);
        Assert.Equal((5 << 1) | 1, r.GuestExitCode);
        Assert.Equal(5, r.Counters.ExternalInterrupts);
        // Five periods of 11932 PIT cycles: the guest slept ~50 ms without running 50 M instructions.
        double expected = 5.0 * Divisor / 1_193_182;
        Assert.InRange(r.GuestSeconds, expected - 0.0005, expected + 0.0005);
        Assert.True(r.Instructions < 1000, $"HLT must skip idle time, but {r.Instructions} instructions ran");
    }

    [Fact]
    public void TimerRunsAreDeterministic()
    {
        VmRunResult a = Run(20), b = Run(20);
        Assert.Equal(a.Instructions, b.Instructions);
        Assert.Equal(a.GuestSeconds, b.GuestSeconds);
        Assert.Equal(41, a.GuestExitCode);
    }
}
